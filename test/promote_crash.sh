#!/usr/bin/env bash
# Crash in the middle of a large promotion (pg_ctl stop -m immediate): after
# restart the promotion is either fully applied and recorded, or not applied
# and still approved; then it promotes cleanly.  Runs as root (see lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

rows=${CRASH_ROWS:-1000000}

sandbox_os_user
dir=$(sandbox_tmpdir crash)
trap 'cluster_stop "$dir" >/dev/null 2>&1 || true' EXIT
cluster_start "$dir" >/dev/null

cluster_psql -d postgres >/dev/null <<SQL
CREATE ROLE regress_crash_agent LOGIN;
CREATE ROLE regress_crash_rev LOGIN;
CREATE EXTENSION sandbox;
CREATE SCHEMA prod;
CREATE TABLE prod.facts (id bigint PRIMARY KEY, v text);
GRANT USAGE ON SCHEMA prod TO regress_crash_rev;
GRANT SELECT, INSERT ON prod.facts TO regress_crash_rev;
SELECT sandbox_create('crash', 'regress_crash_agent', ARRAY['prod']);
SET SESSION AUTHORIZATION regress_crash_agent;
CREATE TABLE crash.facts AS SELECT g::bigint AS id, md5(g::text) AS v FROM generate_series(1, $rows) g;
CREATE TABLE crash.small AS SELECT g::bigint AS id, 'x' AS v FROM generate_series($rows + 1, $rows + 10) g;
SELECT sandbox_request_promotion('crash.facts', 'prod.facts', 'append');
SELECT sandbox_request_promotion('crash.small', 'prod.facts', 'append');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_crash_rev;
SELECT sandbox_approve(1);
SELECT sandbox_approve(2);
SQL

state() {	# status of promotion $1, production rows, applied events
	cluster_psql -d postgres -At -F ' ' -c \
		"SELECT p.status, (SELECT count(*) FROM prod.facts), (SELECT count(*) FROM sandbox.promotion_events e WHERE e.promotion = p.id AND e.to_status = 'applied') FROM sandbox.promotions p WHERE p.id = $1"
}

crash() {	# immediate shutdown, then start again
	_sandbox_as_user "$dir" "$PGBIN/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
	sleep 1
	cluster_start "$dir" >/dev/null
}

# 1. crash after the promotion did all its work but before it committed
(cluster_psql -d postgres -c "SET SESSION AUTHORIZATION regress_crash_rev" \
	-c "BEGIN" -c "SELECT status FROM sandbox_promote(2)" -c "SELECT pg_sleep(60)" -c "COMMIT" >/dev/null 2>&1 || true) &
for _ in $(seq 1 100); do
	busy=$(cluster_psql -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'" 2>/dev/null || echo 0)
	[ "$busy" = 1 ] && break
	sleep 0.1
done
check "promotion finished its work and waits before commit" 1 "$busy"
crash
wait || true
check "uncommitted promotion: nothing applied, still approved" "approved 0 0" "$(state 2)"

# 2. crash in the middle of a large append
(cluster_psql -d postgres -c "SET SESSION AUTHORIZATION regress_crash_rev" \
	-c "SELECT status FROM sandbox_promote(1)" >/dev/null 2>&1 || true) &
for _ in $(seq 1 100); do
	busy=$(cluster_psql -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%sandbox_promote(1)%' AND state = 'active' AND pid <> pg_backend_pid()" 2>/dev/null || echo 0)
	[ "$busy" = 1 ] && break
	sleep 0.05
done
sleep 0.3
crash
wait || true
after=$(state 1)
case "$after" in
"approved 0 0"|"applied $rows 1") check "crash mid-promotion: all or nothing ($after)" yes yes ;;
*) check "crash mid-promotion: all or nothing" "approved 0 0 | applied $rows 1" "$after" ;;
esac

# 3. both promote cleanly afterwards, each exactly once
for id in 1 2; do
	st=$(cluster_psql -d postgres -At -c "SET SESSION AUTHORIZATION regress_crash_rev" \
		-c "SELECT status FROM sandbox_promote($id)" 2>&1 | tail -1 || true)
	case "$st" in
	applied|*"is applied, not approved"*) check "promotion $id applies after the restart" yes yes ;;
	*) check "promotion $id applies after the restart" applied "$st" ;;
	esac
done
check "production holds both promotions once" "applied $((rows + 10)) 1" "$(state 1)"
check "the small promotion was applied once" "applied $((rows + 10)) 1" "$(state 2)"
exit $failed
