package cmd

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haup-project/haup/internal/testenv"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// cliDocPath is rewritten from the commands by
//
//	go test ./cmd -run TestCLIReference -update
const cliDocPath = "../docs/reference/cli.md"

// cliReference is the whole command tree as one Markdown page, made by
// cobra's own generator: every command's usage, description, examples and
// flags (hidden ones left out), in help order.
func cliReference(t *testing.T) []byte {
	t.Helper()
	root := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	// The completion command cobra adds when haup runs is part of the CLI.
	root.InitDefaultCompletionCmd()
	var b bytes.Buffer
	b.WriteString("<!-- Generated from the commands by `go test ./cmd -run TestCLIReference -update`; do not edit. -->\n\n")
	b.WriteString("# Command reference\n\n")
	b.WriteString("Every command of `haup`, as `haup COMMAND --help` prints it. `INVENTORY` defaults to `./inventory.yaml`.\n\n")
	// In-page links: "haup_lab_up.md" becomes "#haup-lab-up".
	link := func(name string) string {
		return "#" + strings.ReplaceAll(strings.TrimSuffix(name, filepath.Ext(name)), "_", "-")
	}
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
			return nil
		}
		c.DisableAutoGenTag = true
		var one bytes.Buffer
		if err := doc.GenMarkdownCustom(c, &one, link); err != nil {
			return err
		}
		b.Write(one.Bytes())
		b.WriteString("\n")
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// TestCLIReference fails when docs/reference/cli.md is not what the
// commands generate: a flag, a command or a help text changed without the
// reference.
func TestCLIReference(t *testing.T) {
	testenv.Golden(t, cliDocPath, append(cliReference(t), '\n'))
}
