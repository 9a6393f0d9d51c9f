// Command haup builds and keeps a highly available PostgreSQL (TimescaleDB)
// primary/standby pair behind a keepalived virtual IP, from one inventory file.
package main

import (
	"os"

	"github.com/haup-project/haup/cmd"
)

func main() {
	os.Exit(cmd.Main(os.Args[1:], os.Stdout, os.Stderr))
}
