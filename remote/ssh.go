package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/haup-project/haup/internal/shellquote"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHConfig says how to reach one node.
type SSHConfig struct {
	// Name is the node's inventory name, for messages.
	Name    string
	Address string
	Port    int
	User    string
	// IdentityFiles are private keys (unencrypted; use the agent for
	// encrypted ones).
	IdentityFiles []string
	// Agent also offers the keys of the agent at SSH_AUTH_SOCK.
	Agent bool
	// KnownHostsFile is checked strictly: an unknown host is refused unless
	// AcceptNewHostKeys, and a changed key is always refused.
	KnownHostsFile    string
	AcceptNewHostKeys bool
	ConnectTimeout    time.Duration
	// Jumps are bastions crossed in order (ProxyJump). Each one's host key
	// is checked against KnownHostsFile like the node's; they log in with
	// the same keys, as their own user (the node's when empty).
	Jumps []Jump
}

// Jump is one bastion.
type Jump struct {
	User    string
	Address string
	Port    int
}

// AcceptNewHostKeysFlag is the command-line flag that trusts unknown hosts on
// first use; errors name it.
const AcceptNewHostKeysFlag = "--accept-new-host-keys"

// SSHHost is a Host reached over one SSH connection.
type SSHHost struct {
	cfg    SSHConfig
	client *ssh.Client
	sudo   bool

	mu      sync.Mutex
	sftp    *sftp.Client
	staging string
	seq     int
	stageMu sync.Mutex
	stats   Stats
	// hops are the bastion connections, closed after the node's.
	hops []*ssh.Client
}

// Dial connects to the node and verifies its host key.
func Dial(ctx context.Context, cfg SSHConfig) (*SSHHost, error) {
	if cfg.Port == 0 {
		cfg.Port = 22
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	addr := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	auths, closeAgent, err := authMethods(cfg)
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	hostKeyCallback, algos, err := hostKeyChecker(cfg, addr)
	if err != nil {
		return nil, err
	}
	conf := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auths,
		HostKeyCallback:   hostKeyCallback,
		HostKeyAlgorithms: algos,
		Timeout:           cfg.ConnectTimeout,
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	// Through the bastions, each reached through the one before it.
	var via *ssh.Client
	var hops []*ssh.Client
	closeHops := func() {
		for i := len(hops) - 1; i >= 0; i-- {
			hops[i].Close()
		}
	}
	dialVia := func(target string) (net.Conn, error) {
		if via == nil {
			return (&net.Dialer{}).DialContext(dctx, "tcp", target)
		}
		return via.DialContext(dctx, "tcp", target)
	}
	for _, j := range cfg.Jumps {
		if j.Port == 0 {
			j.Port = 22
		}
		if j.User == "" {
			j.User = cfg.User
		}
		jaddr := net.JoinHostPort(j.Address, strconv.Itoa(j.Port))
		jcb, jalgos, err := hostKeyChecker(cfg, jaddr)
		if err != nil {
			closeHops()
			return nil, fmt.Errorf("bastion %s: %w", jaddr, err)
		}
		jconn, err := dialVia(jaddr)
		if err != nil {
			closeHops()
			return nil, fmt.Errorf("ssh bastion %s: %w", jaddr, err)
		}
		jconn.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
		jc, jchans, jreqs, err := ssh.NewClientConn(jconn, jaddr, &ssh.ClientConfig{User: j.User, Auth: auths,
			HostKeyCallback: jcb, HostKeyAlgorithms: jalgos, Timeout: cfg.ConnectTimeout})
		if err != nil {
			jconn.Close()
			closeHops()
			return nil, fmt.Errorf("ssh bastion %s@%s: %w", j.User, jaddr, err)
		}
		jconn.SetDeadline(time.Time{})
		via = ssh.NewClient(jc, jchans, jreqs)
		hops = append(hops, via)
	}
	conn, err := dialVia(addr)
	if err != nil {
		closeHops()
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	// The handshake has no context: bound it with a deadline on the socket.
	conn.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, conf)
	if err != nil {
		conn.Close()
		closeHops()
		return nil, fmt.Errorf("ssh %s@%s: %w", cfg.User, addr, err)
	}
	conn.SetDeadline(time.Time{})
	h := &SSHHost{cfg: cfg, client: ssh.NewClient(c, chans, reqs), sudo: cfg.User != "root", hops: hops}
	h.stats.Connections = 1 + len(hops)
	return h, nil
}

func authMethods(cfg SSHConfig) ([]ssh.AuthMethod, func(), error) {
	var signers []ssh.Signer
	closeAgent := func() {}
	for _, f := range cfg.IdentityFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("identity file: %w", err)
		}
		s, err := ssh.ParsePrivateKey(b)
		var pp *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pp) && cfg.Agent:
			continue // the agent may hold it
		case errors.As(err, &pp):
			return nil, nil, fmt.Errorf("identity file %s is encrypted: add it to ssh-agent and set ssh.agent: true", f)
		case err != nil:
			return nil, nil, fmt.Errorf("identity file %s: %w", f, err)
		}
		signers = append(signers, s)
	}
	if cfg.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			if len(signers) == 0 {
				return nil, nil, errors.New("ssh.agent is true but SSH_AUTH_SOCK is not set")
			}
		} else {
			conn, err := net.Dial("unix", sock)
			if err != nil {
				return nil, nil, fmt.Errorf("ssh agent: %w", err)
			}
			closeAgent = func() { conn.Close() }
			agentSigners, err := agent.NewClient(conn).Signers()
			if err != nil {
				conn.Close()
				return nil, nil, fmt.Errorf("ssh agent: %w", err)
			}
			signers = append(signers, agentSigners...)
		}
	}
	if len(signers) == 0 {
		return nil, nil, errors.New("no SSH key to log in with: set ssh.identity_files or ssh.agent")
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signers...)}, closeAgent, nil
}

// hostKeyChecker verifies host keys against the known_hosts file. It also
// returns the key algorithms known for the host, so the server offers the
// key type on record rather than another one that would look unknown.
func hostKeyChecker(cfg SSHConfig, addr string) (ssh.HostKeyCallback, []string, error) {
	file := cfg.KnownHostsFile
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if !cfg.AcceptNewHostKeys {
			return nil, nil, fmt.Errorf("known_hosts file %s does not exist; pass %s to create it and trust the hosts' keys on first use", file, AcceptNewHostKeysFlag)
		}
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	kh, err := knownhosts.New(file)
	if err != nil {
		return nil, nil, fmt.Errorf("known_hosts %s: %w", file, err)
	}
	algos := knownAlgorithms(kh, addr)
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := kh(hostname, remote, key)
		var ke *knownhosts.KeyError
		if err == nil || !errors.As(err, &ke) {
			return err
		}
		fp := ssh.FingerprintSHA256(key)
		if len(ke.Want) > 0 {
			var at []string
			for _, w := range ke.Want {
				at = append(at, fmt.Sprintf("%s:%d", w.Filename, w.Line))
			}
			return fmt.Errorf("HOST KEY CHANGED for %s (now %s %s): possible man-in-the-middle attack; the old key is at %s; if the change is expected, remove that line",
				hostname, key.Type(), fp, strings.Join(at, ", "))
		}
		if !cfg.AcceptNewHostKeys {
			return fmt.Errorf("unknown host key for %s: %s %s is not in %s; verify the fingerprint, then pass %s to trust it",
				hostname, key.Type(), fp, file, AcceptNewHostKeysFlag)
		}
		line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key)
		f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("known_hosts: %w", err)
		}
		defer f.Close()
		if _, err := f.WriteString(line + "\n"); err != nil {
			return fmt.Errorf("known_hosts: %w", err)
		}
		return nil
	}
	return cb, algos, nil
}

// knownAlgorithms asks the known_hosts callback which key types it holds
// for addr, by offering a key it cannot match.
func knownAlgorithms(kh ssh.HostKeyCallback, addr string) []string {
	probe := probeKey{}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil
	}
	err = kh(addr, tcp, probe)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		for _, a := range algorithmsFor(w.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// probeKey is a public key no known_hosts entry matches.
type probeKey struct{}

func (probeKey) Type() string                        { return "haup-probe" }
func (probeKey) Marshal() []byte                     { return []byte("haup-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }

// Name implements Host.
func (h *SSHHost) Name() string { return h.cfg.Name }

// Stats returns how many connections and sessions this host used.
func (h *SSHHost) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// session opens a session that runs script as root and returns the command
// to run it with. The script travels on stdin, in the C locale (so callers can
// read messages); no login shell and no rc files: `sh -s` reads it.
func (h *SSHHost) session(script string, stdout, stderr io.Writer) (*ssh.Session, string, error) {
	s, err := h.client.NewSession()
	if err != nil {
		return nil, "", fmt.Errorf("ssh session: %w", err)
	}
	h.mu.Lock()
	h.stats.Sessions++
	h.mu.Unlock()
	s.Stdout, s.Stderr = stdout, stderr
	s.Stdin = strings.NewReader("LC_ALL=C; export LC_ALL\n" + script)
	if h.sudo {
		return s, "sudo -n -- sh -s", nil
	}
	return s, "sh -s", nil
}

// Exec implements Host.
func (h *SSHHost) Exec(ctx context.Context, script string) (Result, error) {
	var stdout, stderr bytes.Buffer
	s, command, err := h.session(script, &stdout, &stderr)
	if err != nil {
		return Result{}, err
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run(command) }()
	select {
	case <-ctx.Done():
		s.Signal(ssh.SIGKILL)
		s.Close()
		return Result{}, fmt.Errorf("remote command: %w", ctx.Err())
	case err = <-done:
	}
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &ee):
		msg := strings.TrimSpace(stderr.String())
		if h.sudo && ee.ExitStatus() == 1 && strings.Contains(msg, "sudo:") && strings.Contains(msg, "password") {
			return res, fmt.Errorf("user %s cannot run sudo without a password on %s: %s", h.cfg.User, h.cfg.Address, msg)
		}
		return res, &ExitError{Code: ee.ExitStatus(), Stderr: msg}
	case errors.As(err, &missing):
		return res, fmt.Errorf("remote command ended without an exit status (connection lost or killed)")
	default:
		return res, fmt.Errorf("remote command: %w", err)
	}
}

// Stream runs script like Exec but copies its stdout to w as it comes, for
// long-running commands (haup drill's watchers). It returns when the command
// ends or ctx is cancelled; cancelling closes the session, and the remote
// command ends at its next write.
func (h *SSHHost) Stream(ctx context.Context, script string, w io.Writer) error {
	var stderr bytes.Buffer
	s, command, err := h.session(script, w, &stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run(command) }()
	select {
	case <-ctx.Done():
		s.Signal(ssh.SIGTERM)
		s.Close()
		return nil
	case err = <-done:
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Code: ee.ExitStatus(), Stderr: strings.TrimSpace(stderr.String())}
	}
	return err
}

// Put implements Host.
func (h *SSHHost) Put(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	h.stageMu.Lock()
	if h.staging == "" {
		b := make([]byte, 8)
		rand.Read(b)
		dir := path.Join(StagingRoot, hex.EncodeToString(b))
		// Created by root under a root-owned directory that others can pass
		// through but not list, then handed to the login user for SFTP.
		// mkdir fails if the name exists, so nobody can prepare it for us.
		script := fmt.Sprintf("mkdir -p -m 0711 %s && chmod 0711 %s %s && mkdir -m 0700 %s && chown %s %s\n",
			StagingRoot, path.Dir(StagingRoot), StagingRoot, dir, shellquote.Quote(h.cfg.User), dir)
		if _, err := h.Exec(ctx, script); err != nil {
			h.stageMu.Unlock()
			return "", fmt.Errorf("staging dir: %w", err)
		}
		h.staging = dir
	}
	h.stageMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sftp == nil {
		c, err := sftp.NewClient(h.client)
		if err != nil {
			return "", fmt.Errorf("sftp: %w", err)
		}
		h.stats.Sessions++
		h.sftp = c
	}
	h.seq++
	p := path.Join(h.staging, strconv.Itoa(h.seq))
	f, err := h.sftp.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return "", fmt.Errorf("sftp create %s: %w", p, err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return "", fmt.Errorf("sftp chmod %s: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("sftp write %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("sftp close %s: %w", p, err)
	}
	return p, nil
}

// Close implements Host.
func (h *SSHHost) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	if h.sftp != nil {
		if h.staging != "" {
			errs = append(errs, h.sftp.RemoveAll(h.staging))
		}
		errs = append(errs, h.sftp.Close())
	}
	errs = append(errs, h.client.Close())
	for i := len(h.hops) - 1; i >= 0; i-- {
		h.hops[i].Close()
	}
	return errors.Join(errs...)
}
