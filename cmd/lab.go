package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/haup-project/haup/lab"
)

func newLabCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "lab",
		Short: "Run a local cluster of real nodes to try haup on (Linux, root)",
		Long: `lab creates, on this Linux machine, nodes that behave like the target servers:
Debian with systemd as PID 1, sshd with a lab key, the Docker engine, each in its
own network namespace on the private bridge haup-lab0 (10.77.0.0/24), without
keepalived. The host side of the bridge serves a package mirror (keepalived:
2.2.4, the production version, built from the vendored source, or with
--keepalived debian Debian's 2.2.7) and a container registry holding the lab
database image. "up" writes the inventory
.lab/inventory.yaml with the nodes' host keys in .lab/known_hosts.

No lab traffic leaves the machine: no NAT, no route out. Root filesystems, the
mirror and the image are cached under /var/cache/haup-lab, so a second "up"
takes seconds. Run it from the haup checkout, as root.`,
		Example: "  sudo haup lab up\n  haup apply .lab/inventory.yaml\n  sudo haup lab power-off pg-0\n  sudo haup lab down",
	}
	run := func(name, use, short string, args cobra.PositionalArgs) *cobra.Command {
		sc := &cobra.Command{
			Use: use, Short: short, Args: args, DisableFlagParsing: name == "exec",
			RunE: func(cmd *cobra.Command, a []string) error {
				if name == "exec" {
					if len(a) > 0 && (a[0] == "--help" || a[0] == "-h") {
						return cmd.Help()
					}
					if len(a) < 2 {
						return fmt.Errorf("lab exec: want NODE -- COMMAND")
					}
				}
				return lab.Run(cmd.Context(), append([]string{name}, a...), cmd.OutOrStdout(), cmd.ErrOrStderr())
			},
		}
		return sc
	}
	var nodes int
	var noCache, witness bool
	var keepalived string
	up := &cobra.Command{
		Use:   "up",
		Short: "Create the lab (2 nodes unless --nodes); harmless when it runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a := []string{"up", "--nodes", fmt.Sprint(nodes)}
			if noCache {
				a = append(a, "--no-cache")
			}
			if witness {
				a = append(a, "--witness")
			}
			if keepalived != "" {
				if keepalived != "vendored" && keepalived != "debian" {
					return fmt.Errorf("--keepalived: want vendored or debian, not %q", keepalived)
				}
				a = append(a, "--keepalived", keepalived)
			}
			return lab.Run(cmd.Context(), a, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	up.Flags().IntVar(&nodes, "nodes", 2, "how many nodes, 1..9")
	up.Flags().BoolVar(&witness, "witness", false,
		"also boot the witness host "+"witness-9 and write .lab/inventory-witness.yaml (the same cluster with a witness); adds it to a running lab")
	up.Flags().StringVar(&keepalived, "keepalived", "",
		"the keepalived the nodes install from the lab mirror: vendored (2.2.4, the production version, built from lab/vendor) "+
			"or debian (Debian 12's 2.2.7); default $HAUP_LAB_KEEPALIVED, else vendored. The mirror is rebuilt when it changes")
	up.Flags().BoolVar(&noCache, "no-cache", false,
		"delete the caches first and rebuild them (node and database root filesystems, the TimescaleDB and keepalived build roots and builds, package mirror, registry: several minutes)")
	c.AddCommand(
		up,
		run("down", "down", "Remove everything up created except the caches", cobra.NoArgs),
		run("status", "status", "List the nodes, their addresses and state", cobra.NoArgs),
		run("power-off", "power-off NODE", "Cut a node's power: every process dies at once", cobra.ExactArgs(1)),
		run("power-on", "power-on NODE", "Boot a powered-off node", cobra.ExactArgs(1)),
		newLabCutCmd(),
		run("restore", "restore NODE NODE", "Restore the network between two nodes", cobra.ExactArgs(2)),
		run("freeze", "freeze NODE PATTERN", "Stop (SIGSTOP) the processes matching PATTERN on a node", cobra.ExactArgs(2)),
		run("thaw", "thaw NODE PATTERN", "Continue (SIGCONT) processes frozen on a node", cobra.ExactArgs(2)),
		run("exec", "exec NODE -- COMMAND...", "Run a command inside a node, without SSH", cobra.ArbitraryArgs),
		newServeMirrorCmd(),
	)
	return c
}

func newServeMirrorCmd() *cobra.Command {
	var dir, listen string
	c := &cobra.Command{
		Use:    "serve-mirror",
		Short:  "Serve the lab's package mirror (started by lab up)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lab.ServeMirror(cmd.Context(), dir, listen)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "mirror directory")
	c.Flags().StringVar(&listen, "listen", "", "address to listen on")
	return c
}

func newLabCutCmd() *cobra.Command {
	var dbOnly, all, oneWay bool
	c := &cobra.Command{
		Use:   "cut NODE NODE",
		Short: "Cut the network between two nodes (--all: every packet, VRRP too; --db-only: PostgreSQL only)",
		Long: `cut adds blackhole routes between the two nodes' addresses: every connection
between them fails, but keepalived's VRRP adverts still pass (keepalived sends
them on its interface, past the routes).

With --all, every packet between the two nodes is dropped in both
namespaces, VRRP adverts and traffic to the VIP too: a real partition, as
keepalived sees it. With --all --one-way, only packets from the first node to
the second are dropped.

With --db-only, only PostgreSQL between the nodes' own addresses is dropped:
the VIP, VRRP and SSH still pass, as when the database has a network of its
own.

restore undoes all of them.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, a []string) error {
			if oneWay && !all {
				return fmt.Errorf("--one-way needs --all")
			}
			if dbOnly && all {
				return fmt.Errorf("--db-only and --all exclude each other")
			}
			args := append([]string{"cut"}, a...)
			switch {
			case dbOnly:
				args = append(args, "--db-only")
			case all && oneWay:
				args = append(args, "--one-way")
			case all:
				args = append(args, "--all")
			}
			return lab.Run(cmd.Context(), args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.Flags().BoolVar(&dbOnly, "db-only", false, "drop only PostgreSQL between the nodes' addresses (the VIP and VRRP still pass)")
	c.Flags().BoolVar(&all, "all", false, "drop every packet between the two nodes, VRRP and the VIP too")
	c.Flags().BoolVar(&oneWay, "one-way", false, "with --all: drop only what the first node sends the second")
	return c
}
