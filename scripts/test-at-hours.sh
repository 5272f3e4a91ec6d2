#!/usr/bin/env bash
# Runs the test suite (or the files given) with every process's clock shifted to a New York
# time of today's date: by default 03:00, 09:31, 12:30 and 15:58 ET. faketime's relative
# offset ("-9474s") keeps the test, the services it starts and the browser on one clock.
#   scripts/test-at-hours.sh                       # whole vitest suite at the four times
#   scripts/test-at-hours.sh test/e2e              # only these files
#   HOURS="09:29 16:01" scripts/test-at-hours.sh   # other times
set -euo pipefail
cd "$(dirname "$0")/.."
command -v faketime >/dev/null || { echo "faketime is missing: apt-get install -y faketime" >&2; exit 2; }
hours=${HOURS:-"03:00 09:31 12:30 15:58"}
day=${DAY:-$(TZ=America/New_York date +%F)}
status=0
for hm in $hours; do
  target=$(TZ=America/New_York date -d "$day $hm" +%s)
  off=$(printf '%+d' $(( target - $(date +%s) )))  # faketime needs the sign: "+6290s" (a bare "6290s" is refused)
  echo "=== $day $hm America/New_York (offset ${off}s)"
  if faketime -f "${off}s" npx vitest run "$@"; then echo "=== $hm ET: PASS"; else echo "=== $hm ET: FAIL"; status=1; fi
done
exit $status
