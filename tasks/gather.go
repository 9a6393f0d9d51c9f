package tasks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/haup-project/haup/healthcheck"
	"github.com/haup-project/haup/inventory"
	"github.com/haup-project/haup/remote"
)

// Facts is the actual state of one node, gathered in one round trip.
type Facts struct {
	UID        int
	OSID       string
	OSVersion  string
	Arch       string // GOARCH name, e.g. amd64
	HasApt     bool
	HasSystemd bool
	// Docker is the engine's server version, empty when it does not answer.
	Docker    string
	DockerErr string
	// IfaceAddrs are the IPv4 prefixes on the node's interface; nil when the
	// interface does not exist.
	IfaceAddrs []string
	IfaceFound bool
	// Keepalived is the installed package version, empty when absent.
	Keepalived        string
	KeepalivedActive  bool
	KeepalivedEnabled bool
	KeepalivedPID     int
	Files             map[string]FileFact
	Dirs              map[string]FileFact
	ImageID           string
	Container         *ContainerFact
	// Role is the database role the installed health check reports:
	// primary, standby, down, or empty when it could not be asked.
	Role string
}

// FileFact is what a node has at a path.
type FileFact struct {
	Exists   bool
	Mode     fs.FileMode
	UID, GID int
	SHA256   string
	// Content is read for text files haup may show in a diff.
	Content []byte
}

// ContainerFact is the database container as docker inspect shows it.
type ContainerFact struct {
	ImageID   string
	Status    string
	StartedAt string
	Spec      string
}

// Running reports whether the container is up.
func (c *ContainerFact) Running() bool { return c != nil && c.Status == "running" }

// gatherScript reads everything plan needs. Sections start with "@@haup "
// lines, so one parse handles every node.
func gatherScript(inv *inventory.Inventory, node inventory.Node, files []string, textFiles map[string]bool, dirs []string) string {
	var b strings.Builder
	b.WriteString(`exec 2>/dev/null
echo "@@haup id"; id -u
echo "@@haup os"; . /etc/os-release; echo "$ID $VERSION_ID"
echo "@@haup arch"; uname -m
echo "@@haup tools"; command -v apt-get; command -v systemctl
echo "@@haup docker"; docker info --format '{{.ServerVersion}}' 2>&1 | head -3
`)
	fmt.Fprintf(&b, "echo \"@@haup iface\"; ip -o -4 addr show dev %s && echo found\n", shq(node.Interface))
	b.WriteString(`echo "@@haup keepalived"; dpkg-query -W -f='${Status} ${Version}\n' keepalived
echo "@@haup service"; systemctl is-active keepalived; systemctl is-enabled keepalived; systemctl show -p MainPID --value keepalived
`)
	for _, f := range files {
		q := shq(f)
		fmt.Fprintf(&b, "echo \"@@haup file %s\"; if [ -f %s ]; then stat -c '%%a %%u %%g' %s; sha256sum < %s | cut -d' ' -f1;", f, q, q, q)
		if textFiles[f] {
			fmt.Fprintf(&b, " base64 -w0 < %s; echo;", q)
		}
		b.WriteString(" fi\n")
	}
	for _, d := range dirs {
		q := shq(d)
		fmt.Fprintf(&b, "echo \"@@haup dir %s\"; [ -d %s ] && stat -c '%%a %%u %%g' %s\n", d, q, q)
	}
	fmt.Fprintf(&b, "echo \"@@haup image\"; docker image inspect --format '{{.Id}}' %s\n", shq(inv.Database.Image))
	fmt.Fprintf(&b, "echo \"@@haup container\"; docker container inspect --format '%s' %s\n",
		`{{.Image}}{{"\n"}}{{.State.Status}}{{"\n"}}{{.State.StartedAt}}{{"\n"}}{{index .Config.Labels "`+specLabel+`"}}`,
		shq(inv.Database.ContainerName))
	fmt.Fprintf(&b, "echo \"@@haup role\"; [ -x %s ] && [ -f %s ] && %s -json\n",
		shq(healthcheck.BinaryPath), shq(healthcheck.ConfigPath), shq(healthcheck.BinaryPath))
	b.WriteString("exit 0\n")
	return b.String()
}

// Gather reads the actual state of node through h.
func Gather(ctx context.Context, h remote.Host, inv *inventory.Inventory, node inventory.Node) (*Facts, error) {
	var files, dirs []string
	text := map[string]bool{}
	for _, f := range fileSpecs() {
		files = append(files, f.Path)
		text[f.Path] = !f.Binary && !f.Sensitive
	}
	for _, d := range dirSpecs(inv) {
		dirs = append(dirs, d.Path)
	}
	res, err := h.Exec(ctx, gatherScript(inv, node, files, text, dirs))
	if err != nil {
		return nil, fmt.Errorf("gather facts: %w", err)
	}
	return parseFacts(res.Stdout)
}

var unameToGOARCH = map[string]string{
	"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
	"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}

func parseFacts(out []byte) (*Facts, error) {
	f := &Facts{Files: map[string]FileFact{}, Dirs: map[string]FileFact{}}
	sections := map[string][]string{}
	var order []string
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "@@haup "); ok {
			cur = name
			order = append(order, name)
			sections[cur] = nil
			continue
		}
		if cur != "" {
			sections[cur] = append(sections[cur], line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read facts: %w", err)
	}
	if _, ok := sections["role"]; !ok {
		return nil, fmt.Errorf("facts are incomplete (got sections %v)", order)
	}
	first := func(name string) string {
		if s := sections[name]; len(s) > 0 {
			return strings.TrimSpace(s[0])
		}
		return ""
	}
	uid, err := strconv.Atoi(first("id"))
	if err != nil {
		return nil, fmt.Errorf("facts: bad uid %q", first("id"))
	}
	f.UID = uid
	f.OSID, f.OSVersion, _ = strings.Cut(first("os"), " ")
	f.Arch = unameToGOARCH[first("arch")]
	if f.Arch == "" {
		f.Arch = first("arch")
	}
	for _, l := range sections["tools"] {
		switch {
		case strings.HasSuffix(l, "/apt-get"):
			f.HasApt = true
		case strings.HasSuffix(l, "/systemctl"):
			f.HasSystemd = true
		}
	}
	if d := sections["docker"]; len(d) == 1 && !strings.Contains(d[0], " ") && d[0] != "" {
		f.Docker = d[0]
	} else {
		f.DockerErr = strings.TrimSpace(strings.Join(d, " "))
	}
	for _, l := range sections["iface"] {
		if l == "found" {
			f.IfaceFound = true
			continue
		}
		fields := strings.Fields(l)
		for i, w := range fields {
			if w == "inet" && i+1 < len(fields) {
				f.IfaceAddrs = append(f.IfaceAddrs, fields[i+1])
			}
		}
	}
	if k := first("keepalived"); strings.HasPrefix(k, "install ok installed ") {
		f.Keepalived = strings.TrimPrefix(k, "install ok installed ")
	}
	if s := sections["service"]; len(s) >= 3 {
		f.KeepalivedActive = s[0] == "active" || s[0] == "reloading"
		f.KeepalivedEnabled = s[1] == "enabled"
		f.KeepalivedPID, _ = strconv.Atoi(s[2])
	}
	for _, name := range order {
		lines := sections[name]
		switch {
		case strings.HasPrefix(name, "file "):
			ff := FileFact{}
			if len(lines) >= 2 {
				if err := parseStat(lines[0], &ff); err != nil {
					return nil, fmt.Errorf("facts: %s: %w", name, err)
				}
				ff.SHA256 = strings.TrimSpace(lines[1])
				if len(lines) >= 3 {
					c, err := base64.StdEncoding.DecodeString(lines[2])
					if err != nil {
						return nil, fmt.Errorf("facts: %s: %w", name, err)
					}
					ff.Content = c
				}
			}
			f.Files[strings.TrimPrefix(name, "file ")] = ff
		case strings.HasPrefix(name, "dir "):
			ff := FileFact{}
			if len(lines) >= 1 {
				if err := parseStat(lines[0], &ff); err != nil {
					return nil, fmt.Errorf("facts: %s: %w", name, err)
				}
			}
			f.Dirs[strings.TrimPrefix(name, "dir ")] = ff
		}
	}
	f.ImageID = first("image")
	if c := sections["container"]; len(c) >= 3 {
		f.Container = &ContainerFact{ImageID: c[0], Status: c[1], StartedAt: c[2]}
		if len(c) >= 4 {
			f.Container.Spec = c[3]
		}
	}
	if r := strings.TrimSpace(strings.Join(sections["role"], "\n")); r != "" {
		var rep struct {
			Role string `json:"role"`
		}
		if json.Unmarshal([]byte(r), &rep) == nil {
			f.Role = rep.Role
		}
	}
	return f, nil
}

func parseStat(line string, ff *FileFact) error {
	var mode, uid, gid int
	if _, err := fmt.Sscanf(line, "%o %d %d", &mode, &uid, &gid); err != nil {
		return fmt.Errorf("bad stat line %q", line)
	}
	ff.Exists, ff.Mode, ff.UID, ff.GID = true, fs.FileMode(mode), uid, gid
	return nil
}
