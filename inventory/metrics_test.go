package inventory

import "testing"

// TestMetricsSection: absent or null is off; given, the directory must be
// absolute and clean, and an empty one is told apart from a missing one.
func TestMetricsSection(t *testing.T) {
	const ssh = "ssh: {agent: true}\n"
	runProblemCases(t, []problemCase{
		{"debian's directory", ssh, ssh + "metrics: {textfile_dir: /var/lib/prometheus/node-exporter}\n", ""},
		{"null is off", ssh, ssh + "metrics:\n", ""},
		{"missing", ssh, ssh + "metrics: {}\n", "inv.yaml:11: metrics.textfile_dir: missing: the directory node_exporter's textfile collector reads"},
		{"empty", ssh, ssh + "metrics: {textfile_dir: ''}\n", "inv.yaml:11: metrics.textfile_dir: is empty: "},
		{"relative", ssh, ssh + "metrics:\n  textfile_dir: var/lib/node-exporter\n", `inv.yaml:12: metrics.textfile_dir: "var/lib/node-exporter" is relative`},
		{"dot dot", ssh, ssh + "metrics: {textfile_dir: /var/lib/../tmp}\n", `metrics.textfile_dir: "/var/lib/../tmp" is not a clean path (a '.' or '..' part, a doubled or trailing '/'): write "/var/tmp"`},
		{"relative dot dot", ssh, ssh + "metrics: {textfile_dir: ../x}\n", `metrics.textfile_dir: "../x" is relative`},
		{"trailing slash", ssh, ssh + "metrics: {textfile_dir: /srv/prom/}\n", `write "/srv/prom"`},
		{"root", ssh, ssh + "metrics: {textfile_dir: /}\n", "metrics.textfile_dir: is /"},
		{"space", ssh, ssh + "metrics: {textfile_dir: /srv/my dir}\n", "holds a space or a control character"},
		{"unknown field", ssh, ssh + "metrics: {textfile_dir: /srv/prom, port: 9100}\n", `inv.yaml:11: unknown field "port" in metrics`},
		{"not a string", ssh, ssh + "metrics: {textfile_dir: [a]}\n", "metrics.textfile_dir:"},
	})
	inv, err := loadText(t, edit(t, ssh, ssh+"metrics: {textfile_dir: /srv/prom}\n"))
	if err != nil || !inv.Metrics.Enabled || inv.Metrics.TextfileDir != "/srv/prom" {
		t.Errorf("metrics given: %+v, %v", inv.Metrics, err)
	}
	inv, err = loadText(t, goodInventory)
	if err != nil || inv.Metrics.Enabled {
		t.Errorf("metrics absent: %+v, %v", inv.Metrics, err)
	}
}
