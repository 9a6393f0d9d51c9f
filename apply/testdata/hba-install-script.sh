t=/var/lib/haup/stage/fake/1; c=pg0; dst=/opt/bitnami/postgresql/conf/pg_hba.conf
running() { [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ]; }
settled() { pid=$(docker inspect -f '{{.State.Pid}}' "$c" 2>/dev/null) || return 0; [ "$pid" = 0 ] || [ "$(cat /proc/$pid/comm 2>/dev/null)" = repmgrd ]; }
i=0
while running && ! settled; do
  if [ $i -ge 300 ]; then echo "the image's setup still runs in container $c after 300 s: pg_hba.conf not installed" >&2; exit 4; fi
  sleep 1; i=$((i+1))
done
if running; then
  docker exec -i -u 0 "$c" sh -c 'cat >"$1.haup-new" && chmod 0644 "$1.haup-new" && mv -f "$1.haup-new" "$1"' sh "$dst" <"$t" || exit 5
  if docker exec -u postgres "$c" /opt/bitnami/postgresql/bin/pg_ctl status -D /bitnami/postgresql/data >/dev/null 2>&1; then
    docker exec -u postgres "$c" /opt/bitnami/postgresql/bin/pg_ctl reload -D /bitnami/postgresql/data >/dev/null || exit 6
  fi
fi
p=/etc/haup/repmgr/pg_hba.conf; { [ ! -f "$p" ] || cp -p "$p" "$p.haup-bak"; } && install -m 0644 -o 0 -g 0 "$t" "$p.haup-new" && mv -f "$p.haup-new" "$p" && rm -f "$t"
