package tasks

import (
	"strings"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/inventory"
)

// Who may connect (database.allowed_clients). The image writes its own
// pg_hba.conf at every start of the container (md5 from any address,
// librepmgr.sh:426-445 then libpostgresql.sh:307-311) unless a pg_hba.conf
// is in REPMGR_MOUNTED_CONF_DIR, which haup mounts from desired.HBAPath's
// directory: then it copies that one in place of its own and leaves it as
// it is (librepmgr.sh:488-492, :865-867). It does so only when the
// container starts, so haup also installs the file in the running
// container and reloads PostgreSQL: a change costs a reload, never a
// restart.
//
// The file is written after the containers (StageService), never before a
// container's first start: at a first start on an empty data directory the
// image sets the postgres password over 127.0.0.1 without one
// (libpostgresql.sh:484), which haup's rules, md5 for everyone, refuse.
// For the same reason a primary or witness whose data directory is emptied
// by hand, with the file in place, cannot initialise again until the file
// is removed (docs/operations/allowed-clients.md). Package apply installs
// it (ReplaceHBA).

// imageHBA is the image's own pg_hba.conf as it runs (librepmgr.sh:433-444
// with haup's settings: repmgr's user and database, no TLS, a password set,
// so every trust made md5 by libpostgresql.sh:307-311). haup reloads
// PostgreSQL with it when allowed_clients is removed, so the database takes
// again what the image gives it at its next start.
const imageHBA = `host     all            repmgr    0.0.0.0/0    md5
host     repmgr         repmgr    0.0.0.0/0    md5
host     repmgr         repmgr    ::/0    md5
host     replication      repmgr    0.0.0.0/0    md5
host     replication      repmgr    ::/0    md5
#hostssl     all             all             0.0.0.0/0               cert
#hostssl     all             all             ::/0                    cert
host     all              all       0.0.0.0/0    md5
host     all              all       ::/0         md5
local    all              all                    md5
`

// hbaCost is what every change of the rules costs, as the plan says it.
const hbaCost = "installed in the running container and PostgreSQL reloaded (no restart, the VIP stays; connections already open stay until they close)"

// hbaChanges plans haup's pg_hba.conf: written, changed or removed, each
// with the running database's rules replaced by a reload; with first (TLS
// turned off), before anything else, so that clients may connect in clear
// text again before they do.
func hbaChanges(inv *inventory.Inventory, want []byte, container string, actual FileFact, secrets []string, first bool) []Change {
	cs := hbaChangesAt(inv, want, container, actual, secrets)
	for i := range cs {
		if first {
			cs[i].stage = StageHost
			cs[i].file.tls = tlsRelaxFirst
		}
		cs[i].compose()
	}
	return cs
}

// hbaChangesAt is hbaChanges after the containers.
func hbaChangesAt(inv *inventory.Inventory, want []byte, container string, actual FileFact, secrets []string) []Change {
	if want == nil {
		if !actual.Exists {
			return nil
		}
		return []Change{{
			Op: OpDelete, Kind: KindFile, Name: desired.HBAPath,
			file: &fileRule{what: "database.allowed_clients removed: every address may try a password again (the image's own rules); " +
				strings.Replace(hbaCost, "installed in", "the image's rules installed in", 1) +
				"; the image writes the same rules itself at the container's next start"},
			Diff:  maskedDiff(desired.HBAPath, actual.Content, nil, secrets),
			stage: StageService,
			task:  ReplaceHBA{Container: container, Content: []byte(imageHBA)},
		}}
	}
	f := desired.File{Path: desired.HBAPath, Mode: 0o644, Content: want}
	cs := fileChanges(f, actual, secrets)
	for i := range cs {
		cs[i].stage = StageService
		if actual.Exists && actual.SHA256 == sha256hex(want) {
			continue // owner or mode only: a ChmodFile task, nothing reloads
		}
		if actual.Exists {
			cs[i].file.hba = "who may connect changes: " + hbaCost
		} else {
			cs[i].file.hba = hbaWhat(inv) + ": " + hbaCost
		}
		cs[i].task = ReplaceHBA{Container: container, Content: want, HostPath: desired.HBAPath}
	}
	return cs
}

// hbaWhat says what haup's rules let in.
func hbaWhat(inv *inventory.Inventory) string {
	tls := inv.Database.TLS.Enabled && inv.Database.TLS.Require
	switch {
	case inv.Database.AllowedClientsGiven && tls:
		return "only the nodes and database.allowed_clients may connect, over TLS; PostgreSQL refuses every other address and every connection in clear text"
	case tls:
		return "every address but the node's own must use TLS (database.tls.require); PostgreSQL refuses connections in clear text"
	}
	return "only the nodes and database.allowed_clients may connect, PostgreSQL refuses every other address"
}
