// Package templates renders the configuration files haup places on nodes.
// Each template is embedded, parsed once with missingkey=error and fed one
// typed struct, so a template cannot silently reference a missing value.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// parsed holds every template; parsing happens once, at package init, so a
// broken template fails every test rather than a user's apply.
var parsed = template.Must(template.New("").Option("missingkey=error").ParseFS(files, "*.tmpl"))

// Keepalived is the data of keepalived.conf for one node.
type Keepalived struct {
	NodeName        string
	CheckCommand    string
	NotifyCommand   string
	Interval        int
	Timeout         int
	Fall            int
	Rise            int
	Interface       string
	VirtualRouterID int
	Priority        int
	// VRRPVersion is 2 or 3; AdvertInt is in seconds as keepalived.conf
	// writes it (0.2 with version 3).
	VRRPVersion  int
	AdvertInt    string
	UnicastSrcIP string
	UnicastPeers []string
	// AuthPass is empty for no authentication (always with version 3).
	AuthPass         string
	VirtualIPAddress string
	// PrecedenceFile is the file the check writes this node's precedence
	// to (0 or 1), tracked with weight 253.
	PrecedenceFile string
}

// RenderKeepalived renders keepalived.conf.
func RenderKeepalived(k Keepalived) ([]byte, error) {
	if len(k.UnicastPeers) == 0 {
		return nil, fmt.Errorf("keepalived.conf for %s: no unicast peers", k.NodeName)
	}
	if k.PrecedenceFile == "" {
		return nil, fmt.Errorf("keepalived.conf for %s: no precedence file", k.NodeName)
	}
	return render("keepalived.conf.tmpl", k)
}

func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := parsed.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// Notify is the data of the VRRP notify script.
type Notify struct {
	StateDir  string
	StateFile string
}

// RenderNotify renders the script keepalived runs on VRRP state changes.
func RenderNotify(n Notify) ([]byte, error) {
	return render("vrrp-notify.sh.tmpl", n)
}

// Unit is the data of the systemd files haup places: the keepalived drop-in
// and the rejoin unit.
type Unit struct {
	// Agent is the path of haup-check on the node.
	Agent string
	// Config is keepalived's configuration file.
	Config string
	// VIP (with its prefix length) and Interface are where keepalived puts
	// the virtual address on this node.
	VIP, Interface string
}

// RenderKeepalivedDropIn renders keepalived.service.d/haup.conf.
func RenderKeepalivedDropIn(u Unit) ([]byte, error) { return render("keepalived-dropin.conf.tmpl", u) }

// RenderRejoinUnit renders haup-rejoin.service.
func RenderRejoinUnit(u Unit) ([]byte, error) { return render("haup-rejoin.service.tmpl", u) }

// HBA is the data of haup's pg_hba.conf, the same on every host: the
// cluster's own addresses, then the allowed clients' networks.
type HBA struct {
	// Members are the nodes', the witness's and the VIP's addresses, each
	// once, as /32 networks.
	Members []HBAMember
	// Clients are database.allowed_clients, as given (validated CIDRs).
	Clients []string
	// AnyClient: database.allowed_clients is absent, every address may
	// try a password (over TLS: the file exists for TLS alone).
	AnyClient bool
	// TLS: database.tls.require; every address but the node's own must
	// use TLS (hostssl rules).
	TLS bool
}

// Type is the rules' connection type for the nodes and the clients.
func (h HBA) Type() string {
	if h.TLS {
		return "hostssl"
	}
	return "host"
}

// HBAMember is one address of the cluster's own, with what it is.
type HBAMember struct {
	// Name says whose address it is ("pg-0 (address, database_address)").
	Name string
	CIDR string
}

// RenderHBA renders pg_hba.conf.
func RenderHBA(h HBA) ([]byte, error) {
	if len(h.Members) == 0 {
		return nil, fmt.Errorf("pg_hba.conf: no member addresses")
	}
	return render("pg_hba.conf.tmpl", h)
}
