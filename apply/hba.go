package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/haup-project/haup/desired"
	"github.com/haup-project/haup/nodeapi"
	"github.com/haup-project/haup/remote"
	"github.com/haup-project/haup/tasks"
)

// pg_hba.conf in the running container (tasks/hba.go says why haup puts
// it there, and when): the file the image fills at each start, replaced
// once the image's setup is over, then PostgreSQL reloaded.
const (
	// hbaInContainer is the file PostgreSQL runs with (--hba_file,
	// POSTGRESQL_PGHBA_FILE), which the image fills at each start.
	hbaInContainer   = "/opt/bitnami/postgresql/conf/pg_hba.conf"
	pgCtlInContainer = "/opt/bitnami/postgresql/bin/pg_ctl"
	// pgUserInContainer runs PostgreSQL in the image, and may signal it.
	pgUserInContainer = "postgres"
	// settleWaitS bounds the wait for the image's setup to end (PID 1
	// becomes repmgrd) before the file goes into the container: during the
	// setup the image writes the file itself.
	settleWaitS = 300
)

// reloadInContainer reloads the running PostgreSQL of the container "$c"
// (a database that is down reads its files when it starts); exit 6 when
// the reload fails.
var reloadInContainer = fmt.Sprintf(`if docker exec -u %[1]s "$c" %[2]s status -D %[3]s >/dev/null 2>&1; then
  docker exec -u %[1]s "$c" %[2]s reload -D %[3]s >/dev/null || exit 6
fi
`, pgUserInContainer, pgCtlInContainer, shq(nodeapi.ImageDataDir))

// indent indents every line of a script by two spaces.
func indent(script string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(script, "\n"), "\n", "\n  ") + "\n"
}

// replaceHBA installs t.Content as the running database's pg_hba.conf and
// reloads PostgreSQL, then writes it to t.HostPath (or removes the file
// there, kept as .haup-bak, when it is "").
func replaceHBA(ctx context.Context, h remote.Host, t tasks.ReplaceHBA) error {
	container, content, hostPath := t.Container, t.Content, t.HostPath
	staged, err := h.Put(ctx, content)
	if err != nil {
		return fmt.Errorf("pg_hba.conf: upload: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "t=%s; c=%s; dst=%s\n", shq(staged), shq(container), shq(hbaInContainer))
	// The container's setup writes the file itself: wait until PID 1
	// is repmgrd (run.sh execs it last); a container that does not run
	// reads the host's file when it starts.
	fmt.Fprintf(&b, `running() { [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ]; }
settled() { pid=$(docker inspect -f '{{.State.Pid}}' "$c" 2>/dev/null) || return 0; [ "$pid" = 0 ] || [ "$(cat /proc/$pid/comm 2>/dev/null)" = repmgrd ]; }
i=0
while running && ! settled; do
  if [ $i -ge %d ]; then echo "the image's setup still runs in container $c after %d s: pg_hba.conf not installed" >&2; exit 4; fi
  sleep 1; i=$((i+1))
done
if running; then
  docker exec -i -u 0 "$c" sh -c 'cat >"$1.haup-new" && chmod 0644 "$1.haup-new" && mv -f "$1.haup-new" "$1"' sh "$dst" <"$t" || exit 5
%sfi
`, settleWaitS, settleWaitS, indent(reloadInContainer))
	if hostPath == "" {
		fmt.Fprintf(&b, "p=%s; rm -f \"$t\"; [ ! -f \"$p\" ] || mv -f \"$p\" \"$p.haup-bak\"\n", shq(desired.HBAPath))
	} else {
		fmt.Fprintf(&b, "p=%s; { [ ! -f \"$p\" ] || cp -p \"$p\" \"$p.haup-bak\"; } && install -m 0644 -o 0 -g 0 \"$t\" \"$p.haup-new\" && mv -f \"$p.haup-new\" \"$p\" && rm -f \"$t\"\n", shq(hostPath))
	}
	if _, err := h.Exec(ctx, b.String()); err != nil {
		return &remote.StepError{Host: h.Name(), Step: "pg_hba.conf: install and reload", Err: err}
	}
	return nil
}
