#!/usr/bin/env bash
# make test records the end-to-end test's figures (TestEndToEnd writes them to
# BENCH_OUT) in FILE and, when the tree is a clean commit, that commit in
# FILE.commit; make bench takes them from there for that same clean commit
# instead of running the end-to-end test (10 minutes) a second time.
#   e2e-figures.sh begin FILE   before the tests: note the clean commit, if any
#   e2e-figures.sh stamp FILE   after them: record it as the one FILE was
#                               measured on, if the tree is still that commit
#   e2e-figures.sh fresh FILE   exit 0 if FILE was measured on this very tree
set -euo pipefail
cmd=${1:?usage: e2e-figures.sh begin|stamp|fresh FILE} file=${2:?usage: e2e-figures.sh begin|stamp|fresh FILE}
# clean_head prints HEAD when nothing differs from it (untracked files
# included; ignored ones, as the lab's state and build outputs, are not).
clean_head() {
  [ -z "$(git status --porcelain 2>/dev/null)" ] && git rev-parse HEAD 2>/dev/null
}
case $cmd in
  begin)
    rm -f "$file.commit" "$file.start"
    mkdir -p "$(dirname "$file")"
    if h=$(clean_head); then echo "$h" >"$file.start"; fi ;;
  stamp)
    rm -f "$file.commit"
    if [ -s "$file" ] && [ -s "$file.start" ] && h=$(clean_head) && [ "$h" = "$(cat "$file.start")" ]; then
      echo "$h" >"$file.commit"
    fi
    rm -f "$file.start" ;;
  fresh)
    [ -s "$file" ] && [ -s "$file.commit" ] && h=$(clean_head) && [ "$h" = "$(cat "$file.commit")" ] ;;
  *) echo "e2e-figures.sh: unknown command $cmd" >&2; exit 2 ;;
esac
