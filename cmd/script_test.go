package cmd

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run haup in-process as the `haup` command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"haup": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI's behaviour as written in testdata/script/*.txtar:
// each file holds the commands, the inputs and the golden output.
// HAUP_UPDATE_SCRIPTS=1 rewrites the golden files that `cmp` compares.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script", UpdateScripts: os.Getenv("HAUP_UPDATE_SCRIPTS") != ""})
}
