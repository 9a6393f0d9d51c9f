package cmd

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/tasks"
)

func newRenderCmd() *cobra.Command {
	var outDir string
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "render [INVENTORY] -o DIR",
		Short: "Write the files haup would place on each node, connecting nowhere",
		Long: `render writes every configuration file haup would place on every node to
DIR/<node>/<absolute path on the node>, for review (for example in a pull
request). It connects nowhere. Secrets are masked unless --show-secrets is
given; secret files are then written mode 0600. The health-check program itself
is not written.

Exit status: 0 written, 1 error.`,
		Example: "  haup render examples/two-node.yaml -o rendered/",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return fmt.Errorf("render needs an output directory: -o DIR")
			}
			inv, err := loadInventory(cmd, inventoryArg(args))
			if err != nil {
				return err
			}
			noBinary := func(string, string) ([]byte, error) { return nil, nil }
			for _, n := range inv.Nodes {
				d, err := desired.DesiredState(inv, n, "amd64", noBinary)
				if err != nil {
					return fmt.Errorf("%s: %w", n.Name, err)
				}
				files := d.Files
				if d.HBA != nil {
					files = append(files, desired.File{Path: desired.HBAPath, Mode: 0o644, Content: d.HBA})
				}
				for _, f := range files {
					if f.Binary {
						continue
					}
					content := f.Content
					if !showSecrets {
						if f.Sensitive {
							content = []byte("(sensitive: written by haup apply, shown with --show-secrets)\n")
						} else {
							content = []byte(tasks.Mask(string(content), inv.SecretValues()))
						}
					}
					dst := filepath.Join(outDir, n.Name, filepath.FromSlash(f.Path))
					if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
						return err
					}
					mode := os.FileMode(0o644)
					if f.Sensitive || f.Mode&0o077 == 0 {
						mode = 0o600
					}
					if err := os.WriteFile(dst, content, mode); err != nil {
						return err
					}
					fmt.Fprintln(cmd.OutOrStdout(), dst)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "directory to write into")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "write secret values instead of masking them")
	return cmd
}
