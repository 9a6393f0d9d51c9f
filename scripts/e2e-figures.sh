#!/usr/bin/env bash
# make test records the end-to-end test's figures (TestEndToEnd writes them to
# BENCH_OUT) in FILE and, when the tree is a clean commit, that commit in
# FILE.commit; make bench takes them from there for that same clean commit
# instead of running the end-to-end test (10 minutes) a second time.
#   e2e-figures.sh stamp FILE   record the commit FILE was measured on
#   e2e-figures.sh fresh FILE   exit 0 if FILE was measured on this very tree
set -euo pipefail
cmd=${1:?usage: e2e-figures.sh stamp|fresh FILE} file=${2:?usage: e2e-figures.sh stamp|fresh FILE}
# clean_head prints HEAD when nothing differs from it (untracked files
# included; ignored ones, as the lab's state and build outputs, are not).
clean_head() {
  [ -z "$(git status --porcelain 2>/dev/null)" ] && git rev-parse HEAD 2>/dev/null
}
case $cmd in
  stamp)
    rm -f "$file.commit"
    if [ -s "$file" ] && h=$(clean_head); then echo "$h" >"$file.commit"; fi ;;
  fresh)
    [ -s "$file" ] && [ -s "$file.commit" ] && h=$(clean_head) && [ "$h" = "$(cat "$file.commit")" ] ;;
  *) echo "e2e-figures.sh: unknown command $cmd" >&2; exit 2 ;;
esac
