package tasks

import (
	"fmt"
)

// serviceChanges keeps systemd's view of haup's units current and keepalived
// enabled, running and running the configuration on disk. A changed
// configuration is reloaded, never restarted: a restart drops the VIP for a
// moment. What keepalived runs is read from the hash its unit's hooks record
// at each start and reload, so an apply interrupted between writing the file
// and reloading is finished by the next one.
func serviceChanges(f *Facts, confSHA, changedConf string, unitsChanged bool, vip, iface string) []Change {
	var out []Change
	if !f.Keepalived.Running() && f.Iface.HoldsVIP {
		// keepalived died without removing it (SIGKILL, the OOM killer, a
		// unit without haup's restart): while it stays, this node answers
		// for the VIP beside the node that holds it rightly.
		out = append(out, Change{
			Op: OpDelete, Kind: KindVIP, Name: vip,
			Summary: fmt.Sprintf("remove it from %s: keepalived is not running (%s) and left it behind, so this node may answer for the VIP beside its rightful holder", iface, f.Keepalived.Active),
			stage:   StageHost,
			task:    ExecStep{"remove the stale VIP", fmt.Sprintf("ip -4 addr del %s dev %s\n", shq(vip), shq(iface))},
		})
	}
	if unitsChanged {
		out = append(out, Change{
			Op: OpUpdate, Kind: KindService, Name: "systemd", Summary: "daemon-reload (haup's unit files changed)",
			stage: StageHost, task: ExecStep{"systemd daemon-reload", "systemctl daemon-reload\n"},
		})
	}
	k := f.Keepalived
	var summary, script string
	op := OpUpdate
	reload := ""
	switch {
	case changedConf != "":
		reload = changedConf + " changed"
	case k.Running() && k.LoadedSHA256 == "":
		reload = "the configuration it runs is not known"
	case k.Running() && k.LoadedSHA256 != confSHA:
		reload = fmt.Sprintf("it runs another configuration (sha256 %s) than the file (%s): an interrupted apply?",
			shortHash(k.LoadedSHA256), shortHash(confSHA))
	}
	switch {
	case !k.Running():
		op, summary, script = OpCreate, "enable and start (it is "+k.Active+")", "systemctl enable --now keepalived"
	case reload != "":
		summary, script = "reload ("+reload+"); the VIP stays where it is", "systemctl reload keepalived"
		if !k.Enabled {
			summary, script = "enable and "+summary, "systemctl enable keepalived && systemctl reload keepalived"
		}
	case !k.Enabled:
		summary, script = "enable at boot", "systemctl enable keepalived"
	default:
		return out
	}
	return append(out, Change{
		Op: op, Kind: KindService, Name: "keepalived", Summary: summary,
		stage: StageService, task: ExecStep{"keepalived", script + "\n"},
	})
}
