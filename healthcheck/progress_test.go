package healthcheck

import (
	"encoding/json"
	"testing"

	"github.com/haup-project/haup/nodeapi"
)

func TestParseBaseBackups(t *testing.T) {
	got, err := parseBaseBackups([][]string{
		{"4242", "10.0.0.12", "streaming database files", "1073741824", "536870912"},
		{"4243", "", "waiting for checkpoint to finish", "", "0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(nodeapi.CloneProgress{Primary: "pg-1", Backups: got})
	want := `{"primary":"pg-1","backups":[{"pid":4242,"client":"10.0.0.12","phase":"streaming database files","total":1073741824,"streamed":536870912},` +
		`{"pid":4243,"client":"","phase":"waiting for checkpoint to finish","streamed":0}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if got, err := parseBaseBackups(nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("no rows: %v, %v; want an empty list", got, err)
	}
	for _, bad := range [][]string{{"x", "", "p", "", "0"}, {"1", "", "p", "big", "0"}, {"1", "", "p", "", "x"}, {"1"}} {
		if _, err := parseBaseBackups([][]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
