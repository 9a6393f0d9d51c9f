package shellquote

import (
	"os/exec"
	"testing"
)

func TestQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"pg", "pg"},
		{"/run/haup/check-last.json", "/run/haup/check-last.json"},
		{"host=db port=5432", "'host=db port=5432'"},
		{"", "''"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"a;b", "'a;b'"},
		{"*", "'*'"},
		{"~", "'~'"},
	} {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestQuoteRoundTrip: sh reads every quoted value back as one argument,
// unchanged.
func TestQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"", "plain", "two words", "it's", `'\''`, "$(id) `id` ${x} $1", "a\nb\tc", "*?[a]", "-n", "é ü", `\`, `"`, "!x", "#x", "a=b c"} {
		script := `set -- ` + Quote(s) + `; printf '%s|%s' "$#" "$1"`
		out, err := exec.Command(sh, "-c", script).Output()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got, want := string(out), "1|"+s; got != want {
			t.Errorf("sh read %s as %q, want %q", Quote(s), got, want)
		}
	}
}
