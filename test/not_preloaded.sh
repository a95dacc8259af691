#!/usr/bin/env bash
# Fail closed: on a server that does not preload the library, the extension
# installs but sandbox_create refuses (55000) and creates nothing, because
# the guard would not run in every session.  Runs as root (see lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"


sandbox_os_user
dir=$(sandbox_tmpdir nopreload)
trap 'cluster_stop "$dir" >/dev/null 2>&1 || true' EXIT
cluster_start "$dir" "shared_preload_libraries = ''" >/dev/null

cluster_psql -d postgres -c "CREATE ROLE regress_np_agent LOGIN" >/dev/null
out=$(cluster_psql -d postgres -At -c "CREATE EXTENSION sandbox" -c "SELECT sandbox.guard_active()")
check "extension installs; the guard reports itself inactive" "f" "$(echo "$out" | tail -1)"

out=$(cluster_psql -d postgres -At 2>&1 <<'SQL' || true
\set VERBOSITY verbose
SELECT sandbox_create('np_etl', 'regress_np_agent');
SQL
)
case "$out" in
*"55000"*"sandbox guard is not active"*) check "sandbox_create refuses with 55000" yes yes ;;
*) check "sandbox_create refuses with 55000" "55000: sandbox guard is not active" "$out" ;;
esac
case "$out" in
*"shared_preload_libraries"*) check "the refusal says how to fix it" yes yes ;;
*) check "the refusal says how to fix it" "a hint naming shared_preload_libraries" "$out" ;;
esac
out=$(cluster_psql -d postgres -At -c "SELECT count(*) FROM sandbox.sandboxes" \
	-c "SELECT count(*) FROM pg_namespace WHERE nspname = 'np_etl'" \
	-c "SELECT count(*) FROM pg_db_role_setting WHERE setrole = 'regress_np_agent'::regrole")
check "nothing was created" "0 0 0" "$(echo $out)"
out=$(cluster_psql -d postgres -At -c "SELECT sandbox_stats()" 2>&1 || true)
case "$out" in
*"not available"*) check "sandbox_stats says the counters need preloading" yes yes ;;
*) check "sandbox_stats says the counters need preloading" "not available" "$out" ;;
esac
cluster_psql -d postgres -c "DROP EXTENSION sandbox" -c "DROP ROLE regress_np_agent" >/dev/null
exit $failed
