package inventory

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// withEnv is goodInventory with database.environment holding one variable.
func withEnv(t *testing.T, name, val string) string {
	t.Helper()
	return edit(t, "  port: 5432\n", fmt.Sprintf("  port: 5432\n  environment:\n    %s: %q\n", name, val))
}

func TestEnvironmentClasses(t *testing.T) {
	const at = "inv.yaml:9: database.environment."
	for _, c := range []struct{ name, val, problem string }{
		// Set by haup.
		{"REPMGR_NODE_NAME", "pg-7", at + "REPMGR_NODE_NAME: is set by haup from the inventory; set nodes[].name instead"},
		{"POSTGRESQL_PORT_NUMBER", "5433", "POSTGRESQL_PORT_NUMBER: is set by haup from the inventory; set database.port instead"},
		{"REPMGR_PASSWORD_FILE", "/x", "REPMGR_PASSWORD_FILE: is set by haup from the inventory; set database.repmgr_password instead"},
		{"POSTGRESQL_POSTGRES_PASSWORD", "x", "set database.postgres_password instead"},
		{"REPMGR_USE_PASSFILE", "false", "REPMGR_USE_PASSFILE: is set by haup (the repmgr password travels in .pgpass, not in repmgr.conf)"},
		{"POSTGRESQL_NUM_SYNCHRONOUS_REPLICAS", "1", "set database.synchronous instead"},
		// Breaks the image or haup.
		{"POSTGRESQL_USERNAME", "app", at + "POSTGRESQL_USERNAME: is refused: changes the user the image creates and gives database.postgres_password to (libpostgresql.sh:640-650); haup and its health check log in as postgres (postgresql-env.sh:278)"},
		{"POSTGRESQL_DATABASE", "app", "POSTGRESQL_DATABASE: is refused: changes the database the image creates"},
		{"REPMGR_USERNAME", "rm", "REPMGR_USERNAME: is refused: changes the repmgr user"},
		{"REPMGR_DATABASE", "rm", "REPMGR_DATABASE: is refused: changes the repmgr database"},
		{"POSTGRESQL_DATA_DIR", "/data", "POSTGRESQL_DATA_DIR: is refused: data outside /bitnami/postgresql is outside haup's mount"},
		{"POSTGRESQL_FSYNC", "off", "POSTGRESQL_FSYNC: is refused: fsync off loses committed transactions"},
		{"POSTGRESQL_ENABLE_TLS", "yes", "POSTGRESQL_ENABLE_TLS: is set by haup from the inventory; set database.tls instead"},
		{"POSTGRESQL_TLS_CA_FILE", "/ca.crt", "POSTGRESQL_TLS_CA_FILE: is refused: a CA file makes the image require client certificates"},
		{"PGSSLMODE", "disable", "PGSSLMODE: is set by haup from database.tls"},
		{"POSTGRESQL_CLUSTER_APP_NAME", "x", "synchronous replication is haup's zero-loss mode; set database.synchronous instead (postgresql-env.sh:248)"},
		{"POSTGRESQL_LDAP_BIND_PASSWORD", "x", "a secret in the container's environment"},
		// No effect.
		{"POSTGRESQL_DAEMON_USER", "root", at + "POSTGRESQL_DAEMON_USER: has no effect: the image sets it itself (PostgreSQL runs as postgres) (postgresql-env.sh:239)"},
		{"REPMGR_START_OPTIONS", "-v", "REPMGR_START_OPTIONS: has no effect: the image's scripts never read it (run.sh's repmgrd flags are fixed) (postgresql-env.sh:417)"},
		{"POSTGRESQL_REPLICATION_USER", "x", "has no effect: the image sets it from REPMGR_USERNAME (postgresql-env.sh:452)"},
		// Aliases and files.
		{"POSTGRES_USER", "app", at + "POSTGRES_USER: the image reads it as POSTGRESQL_USERNAME when that is unset (postgresql-env.sh:279), and POSTGRESQL_USERNAME is refused: changes the user"},
		{"PGDATA", "/data", "PGDATA: the image reads it as POSTGRESQL_DATA_DIR when that is unset (postgresql-env.sh:221), and POSTGRESQL_DATA_DIR is refused"},
		{"POSTGRES_MAX_CONNECTIONS", "200", "POSTGRES_MAX_CONNECTIONS: the image reads it as POSTGRESQL_MAX_CONNECTIONS when that is unset (postgresql-env.sh:352); set POSTGRESQL_MAX_CONNECTIONS instead"},
		{"POSTGRESQL_MAX_CONNECTIONS_FILE", "/run/x", "POSTGRESQL_MAX_CONNECTIONS_FILE: the image reads POSTGRESQL_MAX_CONNECTIONS from the file it names (postgresql-env.sh:204-214), a file in the container haup does not mount; set POSTGRESQL_MAX_CONNECTIONS instead"},
		{"POSTGRESQL_USERNAME_FILE", "/run/x", "POSTGRESQL_USERNAME_FILE: the image reads POSTGRESQL_USERNAME from the file it names (postgresql-env.sh:204-214); POSTGRESQL_USERNAME is refused"},
		// Unknown names in the image's namespaces.
		{"POSTGRESQL_MAX_CONECTIONS", "200", at + "POSTGRESQL_MAX_CONECTIONS: is not a variable the image reads (postgresql-env.sh): it would be silently ignored (did you mean POSTGRESQL_MAX_CONNECTIONS?)"},
		{"REPMGR_LOGLEVEL", "DEBUG", "REPMGR_LOGLEVEL: is not a variable the image reads (postgresql-env.sh): it would be silently ignored (did you mean REPMGR_LOG_LEVEL?)"},
		{"POSTGRES_HOST_AUTH_METHOD", "trust", "POSTGRES_HOST_AUTH_METHOD: is not a variable the image reads (postgresql-env.sh): it would be silently ignored"},
		// Tuning, with its value checked.
		{"POSTGRESQL_MAX_CONNECTIONS", "200", ""},
		{"POSTGRESQL_MAX_CONNECTIONS", "3", at + `POSTGRESQL_MAX_CONNECTIONS: must be 4..262143 (more than the 3 connections reserved for superusers, which haup's health check uses), got "3"`},
		{"POSTGRESQL_MAX_CONNECTIONS", "lots", `must be 4..262143`},
		{"REPMGR_LOG_LEVEL", "DEBUG", ""},
		{"REPMGR_LOG_LEVEL", "VERBOSE", `REPMGR_LOG_LEVEL: must be DEBUG, INFO, NOTICE, WARNING, ERROR, ALERT, CRIT or EMERG, got "VERBOSE"`},
		{"REPMGR_NODE_LOCATION", "dc1", ""},
		{"REPMGR_NODE_LOCATION", "dc'1", "REPMGR_NODE_LOCATION: contains ', \\ or &, which the image cannot write into the quoted setting of postgresql.conf or repmgr.conf"},
		{"REPMGR_MASTER_RESPONSE_TIMEOUT", "30", ""},
		{"REPMGR_MONITORING_HISTORY", "yes", ""},
		{"POSTGRESQL_LOG_CONNECTIONS", "on", ""},
		{"POSTGRESQL_LOG_LINE_PREFIX", "%m [%p] ", ""},
		{"POSTGRESQL_WAL_LEVEL", "minimal", `must be replica or logical (minimal cannot replicate), got "minimal"`},
		{"POSTGRESQL_PGCTLTIMEOUT", "10", `must be seconds, 60..86400`},
		{"POSTGRESQL_INITDB_ARGS", "--data-checksums --encoding=UTF8", ""},
		{"POSTGRESQL_INITDB_ARGS", "--data-checksums -U admin", "POSTGRESQL_INITDB_ARGS: must be initdb options"},
		{"POSTGRESQL_INITDB_ARGS", "--user=admin", "POSTGRESQL_INITDB_ARGS: must be initdb options"},
		{"POSTGRESQL_INITDB_ARGS", "-kXwal", "POSTGRESQL_INITDB_ARGS: must be initdb options"},
		{"POSTGRESQL_INITDB_ARGS", "-EUTF8", ""},
		{"POSTGRESQL_INITSCRIPTS_USERNAME", "postgres", ""},
		{"PGCONNECT_TIMEOUT", "5", ""},
		{"BITNAMI_DEBUG", "true", ""},
		// Other names pass.
		{"TZ", "Europe/Paris", ""},
		{"MY_APP_SETTING", "x", ""},
	} {
		t.Run(c.name+"="+c.val, func(t *testing.T) {
			_, err := loadText(t, withEnv(t, c.name, c.val))
			wantProblem(t, err, c.problem)
		})
	}
}

// TestHaupSetEnv: the variables haup sets, which desired/ checks its
// container spec against.
func TestHaupSetEnv(t *testing.T) {
	want := strings.Fields(`REPMGR_PARTNER_NODES REPMGR_PRIMARY_HOST REPMGR_PRIMARY_PORT
		REPMGR_NODE_NAME REPMGR_NODE_ID REPMGR_NODE_NETWORK_NAME REPMGR_PORT_NUMBER
		POSTGRESQL_PORT_NUMBER REPMGR_PASSWORD REPMGR_PASSWORD_FILE POSTGRESQL_PASSWORD
		POSTGRESQL_PASSWORD_FILE POSTGRESQL_POSTGRES_PASSWORD POSTGRESQL_POSTGRES_PASSWORD_FILE
		REPMGR_RECONNECT_ATTEMPTS REPMGR_RECONNECT_INTERVAL REPMGR_MONITOR_INTERVAL_SECS
		REPMGR_CONNECT_TIMEOUT REPMGR_NODE_TYPE REPMGR_DEGRADED_MONITORING_TIMEOUT
		REPMGR_PRIMARY_VISIBILITY_CONSENSUS REPMGR_USE_PASSFILE REPMGR_PASSFILE_PATH
		REPMGR_USE_REPLICATION_SLOTS REPMGR_USE_PGREWIND REPMGR_FENCE_OLD_PRIMARY
		REPMGR_FAILOVER POSTGRESQL_SHARED_PRELOAD_LIBRARIES POSTGRESQL_NUM_SYNCHRONOUS_REPLICAS
		POSTGRESQL_SYNCHRONOUS_COMMIT_MODE REPMGR_PGHBA_TRUST_ALL
		POSTGRESQL_ENABLE_TLS POSTGRESQL_TLS_CERT_FILE POSTGRESQL_TLS_KEY_FILE PGSSLMODE PGSSLROOTCERT PGSERVICE PGSERVICEFILE`)
	slices.Sort(want)
	if got := HaupSetEnv(); !slices.Equal(got, want) {
		t.Errorf("HaupSetEnv() = %v\nwant %v", got, want)
	}
	for _, n := range HaupSetEnv() {
		if why := checkEnv(n, "x"); !strings.HasPrefix(why, "is set by haup") {
			t.Errorf("%s: %q", n, why)
		}
	}
}

// TestEnvTable: each variable once, in one class, with what its class
// needs; aliases and file variants name known variables.
func TestEnvTable(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range envVars {
		if seen[e.name] {
			t.Errorf("%s listed twice", e.name)
		}
		seen[e.name] = true
		switch {
		case e.line == 0:
			t.Errorf("%s: no source line", e.name)
		case e.class == envHaup && e.field == "" && e.why == "":
			t.Errorf("%s: set by haup from no field, for no reason", e.name)
		case (e.class == envBreaks || e.class == envNoEffect) && e.why == "":
			t.Errorf("%s: refused without a reason", e.name)
		case e.class == envTuning && (e.check == nil || e.why == ""):
			t.Errorf("%s: tuning without a value check", e.name)
		case e.class < envHaup || e.class > envTuning:
			t.Errorf("%s: no class", e.name)
		}
	}
	for _, a := range envAliases {
		if seen[a.name] || envByName[a.of] == nil {
			t.Errorf("alias %s of %s: listed as a variable, or of an unknown one", a.name, a.of)
		}
	}
	for _, n := range envFileVars {
		if envByName[n] == nil && envAliasByName[n].name == "" {
			t.Errorf("%s_FILE: %s is not known", n, n)
		}
	}
}

// imageEnvScript is the image's postgresql-env.sh, vendored beside the
// project (shared/vendor) when this checkout has it.
const imageEnvScript = "../../shared/vendor/bitnami-postgresql-repmgr-14/rootfs/opt/bitnami/scripts/postgresql-env.sh"

// TestEnvTableMatchesImage checks the table against the image's script:
// every line cited defines (or overwrites) its variable, and every
// variable, alias and file variant the script reads is in the table.
func TestEnvTableMatchesImage(t *testing.T) {
	f, err := os.Open(imageEnvScript)
	if err != nil {
		t.Skipf("the image's scripts are not beside this checkout: %v", err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	at := func(name string, line int) {
		if line < 1 || line > len(lines) || !regexp.MustCompile(`\b`+name+`\b`).MatchString(lines[line-1]) {
			t.Errorf("%s is not at %s:%d", name, envSource, line)
		}
	}
	for _, e := range envVars {
		at(e.name, e.line)
	}
	for _, a := range envAliases {
		at(a.name, a.line)
	}
	def := regexp.MustCompile(`^(?:export )?([A-Z_]+)=`)
	alias := regexp.MustCompile(`^[A-Z_]+="\$\{[A-Z_]+:-"\$\{([A-Z_]+):-\}"\}"`)
	for i, l := range lines {
		if m := alias.FindStringSubmatch(l); m != nil && envAliasByName[m[1]].name == "" {
			t.Errorf("%s:%d: alias %s is not in envAliases", envSource, i+1, m[1])
		}
		if m := def.FindStringSubmatch(l); m != nil && envByName[m[1]] == nil && m[1] != "PATH" && m[1] != "MODULE" && m[1] != "BITNAMI_ROOT_DIR" && m[1] != "BITNAMI_VOLUME_DIR" {
			t.Errorf("%s:%d: %s is not in envVars", envSource, i+1, m[1])
		}
		if n := i + 1; n >= 27 && n <= 202 {
			name := strings.TrimSpace(l)
			if !slices.Contains(envFileVars, name) && envAliasByName[name].name == "" {
				t.Errorf("%s:%d: %s_FILE is not known", envSource, n, name)
			}
		}
	}
}

// TestImagePasswordLimits: what the image refuses or breaks on in the two
// database passwords.
func TestImagePasswordLimits(t *testing.T) {
	for _, c := range []struct {
		field, val, problem string
	}{
		{"postgres_password", strings.Repeat("é", 100), ""},
		{"postgres_password", strings.Repeat("p", 101), "inv.yaml:8: database.postgres_password: is 101 characters; the image refuses a postgres password over 100 (libpostgresql.sh:77)"},
		{"postgres_password", `it's a "quoted" \ $do$ & password`, ""},
		{"repmgr_password", strings.Repeat("r", 101), ""},
		{"repmgr_password", "a quoted password", "database.repmgr_password: contains \" \", which the image writes unquoted into repmgr's connection strings and commands"},
		{"repmgr_password", "ab$do$cd", "inv.yaml:9: database.repmgr_password: contains $do$, which ends the dollar-quoted block the image creates the repmgr user in"},
		{"repmgr_password", "a'b", "database.repmgr_password: contains \"'\", which the image writes unquoted"},
		{"repmgr_password", "a:b=c@d/e", ""},
	} {
		t.Run(c.field+"="+c.val, func(t *testing.T) {
			t.Setenv("HAUP_TEST_PASSWORD", c.val)
			file := map[string]string{"postgres_password": "pg", "repmgr_password": "rm"}[c.field]
			_, err := loadText(t, edit(t, c.field+": {file: secrets/"+file+"}", c.field+": {env: HAUP_TEST_PASSWORD}"))
			wantProblem(t, err, c.problem)
		})
	}
}
