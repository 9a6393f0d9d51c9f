package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// textfileDir is node_exporter's textfile directory on Debian, where the
// lab's agents write their metrics in this step.
const textfileDir = "/var/lib/prometheus/node-exporter"

// metricsStep turns metrics on (refusing a relative directory with its
// line first), has a real Prometheus on the lab host scrape both nodes
// every second with examples/alerts.yaml loaded, kills the primary's
// container and sees haup_role and haup_holds_vip move to the standby,
// then stops the standby's database and sees HaupStandbyDegraded fire with
// its runbook line. The lab's nodes have no node_exporter (their package
// mirror holds keepalived alone): this test serves each node's haup.prom
// as the textfile collector does, read whole at each scrape. Bounded to
// about 3 minutes; the alert's 30 s and the old primary's rejoin are most
// of it.
func metricsStep(ctx context.Context, t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not found: scripts/deps.sh installs Debian's prometheus package")
	}
	waitHealthy(t, 2*time.Minute)
	lab, err := os.ReadFile(filepath.Join(repoRoot, labInventory))
	if err != nil {
		t.Fatal(err)
	}

	// Bad input: refused with the inventory's line, nothing touched.
	bad := filepath.Join(repoRoot, ".lab", "metrics-bad.yaml")
	writeFile(t, bad, string(lab)+"\nmetrics:\n  textfile_dir: var/lib/prometheus/node-exporter\n")
	r := haup(t, "apply", bad)
	os.Remove(bad)
	if line := strings.Count(string(lab), "\n") + 3; r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("metrics-bad.yaml:%d: metrics.textfile_dir: ", line)) || !strings.Contains(r.stderr, "is relative") {
		t.Errorf("a relative textfile_dir: exit %d, want 1 with metrics-bad.yaml:%d:\n%s", r.code, line, r.stderr)
	}

	inv := filepath.Join(repoRoot, ".lab", "metrics.yaml")
	writeFile(t, inv, string(lab)+"\nmetrics:\n  textfile_dir: "+textfileDir+"\n")
	r = mustHaup(t, 0, "apply", inv)
	if !strings.Contains(r.stdout, "metrics on: from the next check the agent writes "+textfileDir+"/haup.prom") {
		t.Errorf("the apply does not say metrics go on:\n%s", r.stdout)
	}
	t.Cleanup(func() {
		// Back to the lab inventory for the steps after this one: metrics
		// off, the files removed.
		r := haup(t, "apply", labInventory)
		if r.code != 0 || !strings.Contains(r.stdout, "metrics off") {
			t.Errorf("back to the lab inventory: exit %d, and metrics should go off:\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, n := range []string{"pg-0", "pg-1"} {
			onNode(t, n, "rm -f "+textfileDir+"/haup.prom")
		}
		os.Remove(inv)
	})

	// The textfile collector's stand-in: each scrape reads the node's file.
	bin := build(t)
	targets := map[string]string{}
	for _, n := range []string{"pg-0", "pg-1"} {
		node := n
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			out, err := exec.Command(bin, "lab", "exec", node, "--", "cat", textfileDir+"/haup.prom").Output()
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Write(out)
		}))
		defer srv.Close()
		targets[node] = strings.TrimPrefix(srv.URL, "http://")
	}
	prom := startPrometheus(t, promBin, targets)

	old, next := primaryAndStandby(t)
	prom.wait(t, "both nodes scraped, "+old+" primary with the VIP", 30*time.Second,
		fmt.Sprintf(`haup_role{node=%q,role="primary"} == 1 and on(node) haup_holds_vip == 1`, old),
		fmt.Sprintf(`haup_role{node=%q,role="standby"} == 1`, next))

	// The kill drill: the role and then the VIP follow the promotion.
	killed := time.Now()
	mustOnNode(t, old, "docker kill pg >/dev/null")
	prom.wait(t, next+" primary with the VIP, "+old+" neither", 90*time.Second,
		fmt.Sprintf(`haup_role{node=%q,role="primary"} == 1 and on(node) haup_holds_vip == 1`, next),
		fmt.Sprintf(`haup_role{node=%q,role="primary"} == 0 and on(node) haup_holds_vip == 0`, old))
	t.Logf("Prometheus saw %s primary with the VIP %.1f s after the kill", next, time.Since(killed).Seconds())
	mustOnNode(t, old, "docker start pg >/dev/null")
	waitRole(t, old, "standby", 150*time.Second)
	prom.wait(t, old+" a streaming standby, no alert on it", 60*time.Second,
		fmt.Sprintf(`haup_replication_streaming{node=%q} == 1`, old),
		fmt.Sprintf(`absent(ALERTS{alertname="HaupStandbyDegraded",node=%q})`, old))

	// The standby's database stopped: HaupStandbyDegraded fires (30 s).
	stopped := time.Now()
	mustOnNode(t, old, "docker stop pg >/dev/null")
	a := prom.waitAlert(t, "HaupStandbyDegraded", old, 75*time.Second)
	t.Logf("HaupStandbyDegraded fired for %s %.1f s after its database stopped", old, time.Since(stopped).Seconds())
	if want := "docs/operations/metrics.md#haupstandbydegraded: "; !strings.HasPrefix(a.Annotations["runbook"], want) {
		t.Errorf("runbook %q, want it to begin with %q", a.Annotations["runbook"], want)
	}
	mustOnNode(t, old, "docker start pg >/dev/null")
	waitHealthy(t, 2*time.Minute)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// prometheus is a Prometheus server run for the test.
type prometheus struct{ base string }

// startPrometheus runs Prometheus on loopback, scraping targets (node to
// host:port; the metrics carry the node) every second as job "haup", evaluating examples/alerts.yaml
// every second; it is stopped when the test ends.
func startPrometheus(t *testing.T, bin string, targets map[string]string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	var static strings.Builder
	for _, hp := range targets {
		fmt.Fprintf(&static, "      - targets: [%q]\n", hp)
	}
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: haup
    static_configs:
%s`, filepath.Join(repoRoot, "examples", "alerts.yaml"), static.String()))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus's log:\n%s", logs.String())
		}
	})
	p := &prometheus{base: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(p.base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30 s:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// get decodes the data of a Prometheus API answer into out.
func (p *prometheus) get(path string, q url.Values, out any) error {
	resp, err := http.Get(p.base + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, out)
}

// holds tells whether the instant query expr returns anything now.
func (p *prometheus) holds(expr string) (bool, error) {
	var data struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return false, err
	}
	return len(data.Result) > 0, nil
}

// wait polls until every expression holds at once.
func (p *prometheus) wait(t *testing.T, what string, timeout time.Duration, exprs ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		failing := ""
		for _, e := range exprs {
			ok, err := p.holds(e)
			if err != nil {
				t.Fatalf("%s: %v", e, err)
			}
			if !ok {
				failing = e
				break
			}
		}
		if failing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus does not see %s after %s: %s is empty", what, timeout, failing)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

// waitAlert polls until alert name fires for node, and returns it.
func (p *prometheus) waitAlert(t *testing.T, name, node string, timeout time.Duration) promAlert {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var data struct {
			Alerts []promAlert `json:"alerts"`
		}
		if err := p.get("/api/v1/alerts", nil, &data); err != nil {
			t.Fatal(err)
		}
		for _, a := range data.Alerts {
			if a.Labels["alertname"] == name && a.Labels["node"] == node && a.State == "firing" {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not fire for %s after %s; alerts: %+v", name, node, timeout, data.Alerts)
		}
		time.Sleep(time.Second)
	}
}
