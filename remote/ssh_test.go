package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/haup-project/haup/internal/testenv"
)

// sshd is a real OpenSSH server started by a test on loopback.
type sshd struct {
	dir      string
	port     int
	hostKey  ssh.PublicKey
	userKey  string // private key file
	userPub  ssh.PublicKey
	userPriv ed25519.PrivateKey
}

func needSSHD(t *testing.T) { testenv.Need(t, true, "/usr/sbin/sshd") }

func writeKey(t *testing.T, path string, priv ed25519.PrivateKey) {
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startSSHD(t *testing.T) *sshd {
	needSSHD(t)
	// The directory must be root-only: sshd refuses keys in a writable place.
	dir, err := os.MkdirTemp("", "haup-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &sshd{dir: dir}
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	writeKey(t, filepath.Join(dir, "host_key"), hostPriv)
	hs, _ := ssh.NewSignerFromKey(hostPriv)
	s.hostKey = hs.PublicKey()
	_, s.userPriv, _ = ed25519.GenerateKey(rand.Reader)
	s.userKey = filepath.Join(dir, "user_key")
	writeKey(t, s.userKey, s.userPriv)
	us, _ := ssh.NewSignerFromKey(s.userPriv)
	s.userPub = us.PublicKey()
	keys := filepath.Join(dir, "authorized_keys")
	os.WriteFile(keys, ssh.MarshalAuthorizedKey(s.userPub), 0o644)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host_key
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
PidFile %s/sshd.pid
`, s.port, dir, keys, dir)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o644)
	os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port)); err == nil {
			c.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log"))
	t.Fatalf("sshd did not start:\n%s", b)
	return nil
}

// knownHosts writes a known_hosts file holding key for the server.
func (s *sshd) knownHosts(t *testing.T, key ssh.PublicKey) string {
	p := filepath.Join(t.TempDir(), "known_hosts")
	content := ""
	if key != nil {
		content = knownhosts.Line([]string{knownhosts.Normalize(fmt.Sprintf("127.0.0.1:%d", s.port))}, key) + "\n"
	}
	os.WriteFile(p, []byte(content), 0o600)
	return p
}

func (s *sshd) config(t *testing.T, user string) SSHConfig {
	return SSHConfig{Name: "test", Address: "127.0.0.1", Port: s.port, User: user,
		IdentityFiles: []string{s.userKey}, KnownHostsFile: s.knownHosts(t, s.hostKey), ConnectTimeout: 5 * time.Second}
}

func dial(t *testing.T, cfg SSHConfig) *SSHHost {
	t.Helper()
	h, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestExecOutputAndExitCode(t *testing.T) {
	s := startSSHD(t)
	h := dial(t, s.config(t, "root"))
	ctx := context.Background()
	res, err := h.Exec(ctx, "echo out; echo err >&2; id -u")
	if err != nil || string(res.Stdout) != "out\n0\n" || string(res.Stderr) != "err\n" {
		t.Fatalf("Exec = %q %q %v", res.Stdout, res.Stderr, err)
	}
	_, err = h.Exec(ctx, "echo broken >&2; exit 3")
	ee, ok := err.(*ExitError)
	if !ok || ee.Code != 3 || ee.Stderr != "broken" {
		t.Fatalf("err = %#v", err)
	}
	res, err = h.Exec(ctx, "head -c 5000000 /dev/zero | tr '\\0' a")
	if err != nil || len(res.Stdout) != 5000000 {
		t.Fatalf("large output: %d bytes, %v", len(res.Stdout), err)
	}
	if st := h.Stats(); st.Connections != 1 || st.Sessions != 3 {
		t.Errorf("stats = %+v, want 1 connection and 3 sessions", st)
	}
}

func TestUnknownHostRefused(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config(t, "root")
	cfg.KnownHostsFile = s.knownHosts(t, nil)
	_, err := Dial(context.Background(), cfg)
	if err == nil {
		t.Fatal("connected to an unknown host")
	}
	fp := ssh.FingerprintSHA256(s.hostKey)
	if !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), AcceptNewHostKeysFlag) {
		t.Errorf("error lacks fingerprint %s or the flag: %v", fp, err)
	}
}

func TestAcceptNewHostKeyThenStrict(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config(t, "root")
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts") // does not exist yet
	cfg.AcceptNewHostKeys = true
	h := dial(t, cfg)
	h.Close()
	st, err := os.Stat(cfg.KnownHostsFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("known_hosts not created 0600: %v %v", st, err)
	}
	cfg.AcceptNewHostKeys = false
	dial(t, cfg) // now known: strict checking passes
}

func TestChangedHostKeyRefused(t *testing.T) {
	s := startSSHD(t)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := ssh.NewPublicKey(other)
	for _, accept := range []bool{false, true} {
		cfg := s.config(t, "root")
		cfg.KnownHostsFile = s.knownHosts(t, otherKey)
		cfg.AcceptNewHostKeys = accept // never overrides a changed key
		_, err := Dial(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "HOST KEY CHANGED") || !strings.Contains(err.Error(), cfg.KnownHostsFile+":1") {
			t.Errorf("accept=%v: err = %v", accept, err)
		}
	}
}

func TestPutStagesPrivately(t *testing.T) {
	s := startSSHD(t)
	h := dial(t, s.config(t, "root"))
	ctx := context.Background()
	p, err := h.Put(ctx, []byte("secret bytes"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Exec(ctx, fmt.Sprintf("stat -c '%%a %%U' %s %s; cat %s", p, filepath.Dir(p), p))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); got != "600 root\n700 root\nsecret bytes" {
		t.Errorf("staged file: %q", got)
	}
	h.Close()
	if _, err := os.Stat(filepath.Dir(p)); !os.IsNotExist(err) {
		t.Errorf("staging dir %s left behind: %v", filepath.Dir(p), err)
	}
}

func TestExecHonoursContext(t *testing.T) {
	s := startSSHD(t)
	h := dial(t, s.config(t, "root"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Exec(ctx, "sleep 10")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("sleep not interrupted: %v after %s", err, time.Since(start))
	}
}

// ensureUser creates a system user for the test if it does not exist.
func ensureUser(t *testing.T, name string) {
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "--system", "--shell", "/bin/sh", "--no-create-home", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v\n%s", err, out)
		}
	}
	// sshd without PAM refuses locked accounts ("!" password): "*" means no
	// password login, yet the account is not locked, so key login works.
	if out, err := exec.Command("usermod", "-p", "*", name).CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v\n%s", err, out)
	}
}

func TestSudoUser(t *testing.T) {
	s := startSSHD(t)
	testenv.Need(t, true, "sudo", "useradd")
	ensureUser(t, "haup-ssh-sudo")
	ensureUser(t, "haup-ssh-nosudo")
	dropIn := "/etc/sudoers.d/haup-ssh-test"
	if err := os.WriteFile(dropIn, []byte("haup-ssh-sudo ALL=(ALL) NOPASSWD: ALL\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dropIn) })
	h := dial(t, s.config(t, "haup-ssh-sudo"))
	ctx := context.Background()
	res, err := h.Exec(ctx, "id -u")
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Fatalf("sudo user does not run as root: %q %v", res.Stdout, err)
	}
	p, err := h.Put(ctx, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := h.Exec(ctx, "cat "+p); err != nil || string(res.Stdout) != "x" {
		t.Errorf("root cannot read the staged file: %v", err)
	}
	n := dial(t, s.config(t, "haup-ssh-nosudo"))
	_, err = n.Exec(ctx, "id -u")
	if err == nil || !strings.Contains(err.Error(), "cannot run sudo without a password") {
		t.Errorf("user without sudo: %v", err)
	}
}

func TestAgentAuth(t *testing.T) {
	s := startSSHD(t)
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: s.userPriv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, c)
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	cfg := s.config(t, "root")
	cfg.IdentityFiles = nil
	cfg.Agent = true
	h := dial(t, cfg)
	if _, err := h.Exec(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}
}

func TestEncryptedKeyWithoutAgent(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key")
	os.WriteFile(p, pem.EncodeToMemory(block), 0o600)
	_, err = Dial(context.Background(), SSHConfig{Address: "127.0.0.1", IdentityFiles: []string{p}})
	if err == nil || !strings.Contains(err.Error(), "ssh-agent") {
		t.Errorf("err = %v", err)
	}
}

// TestProxyJump reaches an sshd through another one (the bastion), both host
// keys checked strictly; a changed bastion key is refused.
func TestProxyJump(t *testing.T) {
	bastion := startSSHD(t)
	target := startSSHD(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := func(s *sshd, key ssh.PublicKey) string {
		return knownhosts.Line([]string{knownhosts.Normalize(fmt.Sprintf("127.0.0.1:%d", s.port))}, key) + "\n"
	}
	os.WriteFile(kh, []byte(line(bastion, bastion.hostKey)+line(target, target.hostKey)), 0o600)
	cfg := SSHConfig{Name: "test", Address: "127.0.0.1", Port: target.port, User: "root",
		IdentityFiles:  []string{bastion.userKey, target.userKey},
		KnownHostsFile: kh, ConnectTimeout: 5 * time.Second,
		Jumps: []Jump{{Address: "127.0.0.1", Port: bastion.port}}}
	h := dial(t, cfg)
	res, err := h.Exec(context.Background(), "echo through")
	if err != nil || string(res.Stdout) != "through\n" {
		t.Fatalf("exec through the bastion: %q %v", res.Stdout, err)
	}
	if st := h.Stats(); st.Connections != 2 {
		t.Errorf("connections %d, want 2 (bastion and node)", st.Connections)
	}
	if b, _ := os.ReadFile(filepath.Join(bastion.dir, "log")); !strings.Contains(string(b), "Accepted publickey for root") {
		t.Errorf("the bastion saw no login:\n%s", b)
	}
	// The bastion's key changed: refused, naming the bastion.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	os2, _ := ssh.NewSignerFromKey(other)
	os.WriteFile(kh, []byte(line(bastion, os2.PublicKey())+line(target, target.hostKey)), 0o600)
	if _, err := Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "bastion") {
		t.Fatalf("changed bastion key: %v", err)
	}
}
