package lab

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/haup-project/haup/apply"
	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/internal/testenv"
	"github.com/haup-project/haup/inventory"
)

// The package the lab's mirror serves by default.
const (
	vendoredKeepalived        = "2.2.4"
	vendoredKeepalivedPackage = "1:2.2.4-0haup1"
)

// testRootPackages make the throwaway node of TestKeepalivedPackage: a
// minimal bookworm with systemd, as the lab's nodes (without their sshd and
// Docker, which keepalived does not need).
const testRootPackages = "systemd,systemd-sysv,iproute2"

var keepalivedVersion = regexp.MustCompile(`Keepalived v(\S+)`)

// labCache is where the lab keeps its caches (lab.sh's CACHE).
func labCache() string {
	if c := os.Getenv("HAUP_LAB_CACHE"); c != "" {
		return c
	}
	return "/var/cache/haup-lab"
}

// sh runs a bash script with arguments and returns its combined output.
func sh(t *testing.T, script string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"-euo", "pipefail", "-c", script, "bash"}, args...)...)
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustSh(t *testing.T, script string, args ...string) string {
	t.Helper()
	out, err := sh(t, script, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// throwawayRoot copies a cached minimal bookworm root (made once with
// debootstrap from this machine's apt mirror, main suite, as the lab's nodes)
// into a temporary directory.
func throwawayRoot(t *testing.T) string {
	t.Helper()
	cached := filepath.Join(labCache(), "ka-testroot")
	if b, err := os.ReadFile(filepath.Join(cached, ".haup-packages")); err != nil || strings.TrimSpace(string(b)) != testRootPackages {
		t.Logf("debootstrap bookworm (%s) into %s, once", testRootPackages, cached)
		mustSh(t, `
m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$m" ] || { echo "no Debian mirror in the apt configuration" >&2; exit 1; }
rm -rf "$1.tmp"
mkdir -p "$(dirname "$1")"
debootstrap --variant=minbase --include="$2" bookworm "$1.tmp" "$m" >"$1.log" 2>&1 || { tail -20 "$1.log"; exit 1; }
rm -rf "$1"
mv "$1.tmp" "$1"
echo "$2" > "$1/.haup-packages"`, cached, testRootPackages)
	}
	root := filepath.Join(t.TempDir(), "root")
	mustSh(t, `cp -a "$1" "$2"`, cached, root)
	return root
}

// TestKeepalivedPackage builds the lab's keepalived package (cached), makes
// the lab's package mirror with it from a throwaway copy of a bookworm root,
// installs keepalived from that mirror in a chroot with haup's own install
// command, and checks what haup relies on: the version, the unit (its name,
// condition, type, reload and no restart), the unit enabled but nothing to
// start it with, the mirror kept or remade as the choice of keepalived stands
// or changes, and keepalived's config test accepting haup's rendered
// configurations (the example inventory's and the templates' golden files) in
// a network namespace of its own, and rejecting them where the interface is
// missing.
func TestKeepalivedPackage(t *testing.T) {
	testenv.Need(t, true, "debootstrap", "chroot", "unshare", "ip", "dpkg-deb", "dpkg-scanpackages")
	start := time.Now()
	build := exec.Command(filepath.Join(repo, "lab/keepalived/build.sh"))
	var stderr bytes.Buffer
	build.Stderr = &stderr
	stdout, err := build.Output()
	if err != nil {
		t.Fatalf("lab/keepalived/build.sh: %v\n%s", err, stderr.Bytes())
	}
	deb := strings.TrimSpace(string(stdout))
	t.Logf("package %s (%.1f s, cached after the first build)", deb, time.Since(start).Seconds())
	if v := strings.TrimSpace(mustSh(t, `dpkg-deb -f "$1" Version`, deb)); v != vendoredKeepalivedPackage {
		t.Fatalf("package version %s, want %s", v, vendoredKeepalivedPackage)
	}

	root := throwawayRoot(t)
	// The mirror as lab.sh makes it, from this root, in a mount namespace of
	// its own (the script's /proc mount goes with it).
	mirror := func(choice string) string {
		return mustSh(t, `unshare --mount --propagation private lab/mirror.sh "$1" "$1/srv/mirror" "$2"`, root, choice)
	}
	start = time.Now()
	mirror("vendored")
	pkgs := mustSh(t, `cd "$1/srv/mirror" && ls *.deb`, root)
	t.Logf("mirror made in %.1f s:\n%s", time.Since(start).Seconds(), pkgs)
	if n := strings.Count(pkgs, "keepalived_"); n != 1 {
		t.Fatalf("the mirror holds %d keepalived packages, want 1:\n%s", n, pkgs)
	}
	for _, dep := range []string{"libnl-3-200_", "libnl-genl-3-200_"} {
		if !strings.Contains(pkgs, dep) {
			t.Errorf("the mirror lacks %s*.deb, a dependency the root does not have:\n%s", dep, pkgs)
		}
	}

	// The node's apt points at the mirror only, as a lab node's does; then
	// haup's install command.
	mustSh(t, `
rm -f "$1"/etc/apt/sources.list.d/* "$1"/var/lib/apt/lists/*_* 2>/dev/null || true
echo 'deb [trusted=yes] file:/srv/mirror ./' > "$1/etc/apt/sources.list"
unshare --mount --propagation private sh -ec 'mount -t proc proc "$1/proc"; chroot "$1" /bin/sh -c "$2"' sh "$1" "$2"`,
		root, apply.InstallKeepalivedScript)

	inRoot := func(script string) string {
		return mustSh(t, `unshare --mount --propagation private sh -ec 'mount -t proc proc "$1/proc"; chroot "$1" /bin/sh -c "$2"' sh "$1" "$2"`, root, script)
	}
	if v := strings.TrimSpace(inRoot(`dpkg-query -W -f '${Version}' keepalived`)); v != vendoredKeepalivedPackage {
		t.Errorf("installed keepalived %s, want %s", v, vendoredKeepalivedPackage)
	}
	out := inRoot(`keepalived --version 2>&1`)
	if m := keepalivedVersion.FindStringSubmatch(out); m == nil || m[1] != vendoredKeepalived {
		t.Errorf("keepalived --version:\n%s\nwant Keepalived v%s", out, vendoredKeepalived)
	}

	// The unit is the one in lab/keepalived, and has what haup relies on.
	unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/keepalived.service"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(repo, "lab/keepalived/keepalived.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unit, src) {
		t.Errorf("the installed unit differs from lab/keepalived/keepalived.service:\n%s", unit)
	}
	u := unitSettings(unit)
	for key, want := range map[string]string{
		// Installed, keepalived does not start until haup writes its
		// configuration.
		"ConditionFileNotEmpty": "/etc/keepalived/keepalived.conf",
		// The main PID is keepalived's parent: haup's drop-in reloads it
		// with SIGHUP and the probe reads it.
		"Type":            "notify",
		"ExecStart":       "/usr/sbin/keepalived --dont-fork $DAEMON_ARGS",
		"ExecReload":      "/bin/kill -HUP $MAINPID",
		"EnvironmentFile": "-/etc/default/keepalived",
		// Debian's: keepalived killed stays dead; haup must see it.
		"Restart": "",
	} {
		if got := u[key]; got != want {
			t.Errorf("keepalived.service: %s=%q, want %q", key, got, want)
		}
	}
	if l, err := os.Readlink(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/keepalived.service")); err != nil || l != "/lib/systemd/system/keepalived.service" {
		t.Errorf("keepalived.service is not enabled as Debian's postinst enables it: %q %v", l, err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/default/keepalived")); err != nil {
		t.Error(err)
	}
	if ents, err := os.ReadDir(filepath.Join(root, "etc/keepalived")); err != nil || len(ents) != 0 {
		t.Errorf("/etc/keepalived must exist and be empty (a keepalived.conf would start keepalived): %v %v", ents, err)
	}

	// The mirror is kept while the choice stands, and remade when it changes:
	// with Debian's keepalived instead, and only that.
	if out := mirror("vendored"); strings.Contains(out, "building") {
		t.Errorf("the mirror was rebuilt with nothing changed:\n%s", out)
	}
	if out := mirror("debian"); !strings.Contains(out, "building") {
		t.Errorf("the mirror was not rebuilt for Debian's keepalived:\n%s", out)
	}
	debs := strings.Fields(mustSh(t, `cd "$1/srv/mirror" && for f in keepalived_*.deb; do dpkg-deb -f "$f" Version; done`, root))
	if len(debs) != 1 || debs[0] == vendoredKeepalivedPackage {
		t.Errorf("with debian, the mirror's keepalived packages are %v, want Debian's alone", debs)
	} else {
		t.Logf("with debian, the mirror serves keepalived %s", debs[0])
	}

	// keepalived's own config test on haup's rendered configurations, on a
	// node that has haup's check and notify programs at their secure paths.
	inRoot(`mkdir -p /usr/local/libexec/haup /var/lib/haup
for p in haup-check vrrp-notify; do printf '#!/bin/sh\nexit 0\n' > /usr/local/libexec/haup/$p; chmod 0755 /usr/local/libexec/haup/$p; done`)
	for _, c := range renderedConfigs(t) {
		if err := os.WriteFile(filepath.Join(root, "tmp/keepalived.conf"), c.conf, 0o600); err != nil {
			t.Fatal(err)
		}
		ifname, src := c.ifname, c.src
		for _, withIf := range []bool{true, false} {
			out, code := configTest(t, root, ifname, src, withIf)
			switch {
			case withIf && (code != 0 || out != ""):
				t.Errorf("%s: keepalived %s -t exit %d (want 0, silent):\n%s", c.name, vendoredKeepalived, code, out)
			case !withIf && code == 0:
				t.Errorf("%s: keepalived %s -t accepts the configuration without interface %s", c.name, vendoredKeepalived, ifname)
			case !withIf:
				t.Logf("%s without %s: keepalived -t exit %d: %s", c.name, ifname, code, out)
			}
		}
	}
}

// renderedConf is a keepalived.conf haup renders, with the interface and
// address its node has.
type renderedConf struct {
	name, ifname, src string
	conf              []byte
}

// renderedConfigs are the configurations haup renders: the example
// inventory's for each node (haup's defaults: VRRP version 3, advert_int 0.1)
// and the templates' golden files (version 3 with advert_int 0.2; version 2
// with PASS authentication and three peers).
func renderedConfigs(t *testing.T) []renderedConf {
	t.Helper()
	var out []renderedConf
	inv, err := inventory.Load(filepath.Join(repo, "examples/two-node.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	anyCheck := func(string, string) ([]byte, error) { return []byte("haup-check"), nil }
	for _, n := range inv.Nodes {
		d, err := desired.DesiredState(inv, n, "amd64", anyCheck)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range d.Files {
			if f.Path == desired.KeepalivedConfPath {
				out = append(out, renderedConf{name: "examples/two-node.yaml " + n.Name, ifname: n.Interface, src: n.UnicastSrcIP, conf: f.Content})
			}
		}
	}
	goldens, err := filepath.Glob(filepath.Join(repo, "templates/testdata/keepalived-*.conf"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no rendered keepalived.conf in templates/testdata: %v", err)
	}
	for _, g := range goldens {
		conf, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		s := confSettings(conf)
		if s["interface"] == "" || s["unicast_src_ip"] == "" {
			t.Fatalf("%s: no interface or unicast_src_ip", g)
		}
		out = append(out, renderedConf{name: "templates/testdata/" + filepath.Base(g), ifname: s["interface"], src: s["unicast_src_ip"], conf: conf})
	}
	return out
}

// configTest runs `keepalived -t` on /tmp/keepalived.conf in root, in a new
// network namespace that has, when withIf, interface ifname with address src
// (a veth: the kernel here has no dummy links); the namespace goes with the
// command.
func configTest(t *testing.T, root, ifname, src string, withIf bool) (string, int) {
	t.Helper()
	link := ""
	if withIf {
		link = fmt.Sprintf("ip link add %s type veth peer name peer0\nip addr add %s/24 dev %s\nip link set %s up\n", ifname, src, ifname, ifname)
	}
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "sh", "-ec", "ip link set lo up\n"+link+
		`mount -t proc proc "$1/proc"
mount -t sysfs sysfs "$1/sys"
rc=0; chroot "$1" keepalived -t -f /tmp/keepalived.conf 2>&1 || rc=$?
exit $rc`, "sh", root)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return strings.TrimSpace(string(out)), 0
	case errors.As(err, &ee):
		return strings.TrimSpace(string(out)), ee.ExitCode()
	}
	t.Fatalf("config test: %v\n%s", err, out)
	return "", 0
}

// unitSettings reads a unit file's Key=Value lines (the last one of a key
// wins, as in systemd for the keys read here).
func unitSettings(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			m[k] = v
		}
	}
	return m
}

// confSettings reads the first value of each keyword of a keepalived.conf.
func confSettings(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			if _, ok := m[f[0]]; !ok {
				m[f[0]] = f[1]
			}
		}
	}
	return m
}
