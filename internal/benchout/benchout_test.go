package benchout

import (
	"os"
	"path/filepath"
	"testing"
)

// Numbers and text merge into one flat object; each call keeps the others'.
func TestRecordMergesNumbersAndText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "figures.json")
	if err := Record(path, map[string]float64{"lab_up_warm_s": 15.8}); err != nil {
		t.Fatal(err)
	}
	if err := RecordStrings(path, map[string]string{"lab_keepalived_version": "2.2.4"}); err != nil {
		t.Fatal(err)
	}
	if err := Record(path, map[string]float64{"promotion_s": 12.25}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "lab_keepalived_version": "2.2.4",
  "lab_up_warm_s": 15.8,
  "promotion_s": 12.25
}
`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
