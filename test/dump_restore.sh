#!/usr/bin/env bash
# pg_dump / restore round trip of a database with sandboxes: the restored
# database has the same sandboxes, grants and settings, and the guard
# restricts the agent there exactly as before.  Runs as root (see lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"


sandbox_os_user
dir=$(sandbox_tmpdir dump)
trap 'cluster_stop "$dir" >/dev/null 2>&1 || true' EXIT
cluster_start "$dir" >/dev/null
_sandbox_pgbin
bindir=$PGBIN

cluster_psql -d postgres -c "CREATE DATABASE regress_dump_src" -c "CREATE DATABASE regress_dump_dst" \
	-c "CREATE ROLE regress_dump_agent LOGIN" -c "CREATE ROLE regress_dump_owner" >/dev/null
cluster_psql -d regress_dump_src >/dev/null <<'SQL'
CREATE EXTENSION sandbox;
CREATE SCHEMA prod AUTHORIZATION regress_dump_owner;
CREATE TABLE prod.orders (id int PRIMARY KEY, amount numeric);
ALTER TABLE prod.orders OWNER TO regress_dump_owner;
INSERT INTO prod.orders SELECT g, g FROM generate_series(1, 100) g;
SELECT sandbox_create('etl', 'regress_dump_agent', ARRAY['prod'], '30 days');
SET SESSION AUTHORIZATION regress_dump_agent;
CREATE TABLE etl.daily AS SELECT id, amount * 2 AS doubled FROM prod.orders;
CREATE VIEW etl.big AS SELECT * FROM etl.daily WHERE doubled > 100;
SQL

state() {	# what must survive the round trip
	cluster_psql -d "$1" -At <<'SQL'
SELECT string_agg(format('%s|%s|%s|%s', name, agent, read_schemas, expires_at), ';') FROM sandbox.sandboxes;
SELECT string_agg(format('%s|%s|%s', kind, schema_name, object_name), ';' ORDER BY kind, schema_name, object_name) FROM sandbox.grants;
SELECT count(*), sum(doubled) FROM etl.daily;
SELECT has_table_privilege('regress_dump_agent', 'prod.orders', 'SELECT'),
       has_schema_privilege('regress_dump_agent', 'etl', 'CREATE'),
       pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'etl.daily'::regclass;
SQL
}

before=$(state regress_dump_src)
"$bindir/pg_dump" -d regress_dump_src -f "$dir/dump.sql"
check "pg_dump of a database with sandboxes" 0 $?
rc=0
cluster_psql -d regress_dump_dst -f "$dir/dump.sql" >"$dir/restore.log" 2>&1 || rc=$?
check "restore into a new database without errors" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$dir/restore.log" | tail -20
after=$(state regress_dump_dst)
check "sandboxes, grants, scratch data and privileges survive" "$before" "$after"

# the guard restricts the agent in the restored database, even when granted more
out=$(cluster_psql -d regress_dump_dst -At 2>&1 <<'SQL' || true
GRANT UPDATE ON prod.orders TO regress_dump_agent;
SET SESSION AUTHORIZATION regress_dump_agent;
UPDATE prod.orders SET amount = 0;
SQL
)
case "$out" in
*"permission denied to write to table \"prod.orders\""*) check "agent refused a production write after restore" yes yes ;;
*) check "agent refused a production write after restore" "permission denied" "$out" ;;
esac
out=$(cluster_psql -d regress_dump_dst -At <<'SQL'
SET SESSION AUTHORIZATION regress_dump_agent;
INSERT INTO etl.daily VALUES (0, 0);
SELECT count(*) FROM etl.daily;
SQL
)
check "agent still writes its scratch schema after restore" "101" "$out"
out=$(cluster_psql -d regress_dump_dst -At -c "SELECT sandbox_drop('etl')" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'etl'")
check "restored sandbox drops cleanly" "0" "$(echo "$out" | tail -1)"
cluster_psql -d regress_dump_src -At -c "SELECT sandbox_drop('etl')" >/dev/null
cluster_psql -d postgres -c "DROP DATABASE regress_dump_src" -c "DROP DATABASE regress_dump_dst" \
	-c "DROP ROLE regress_dump_agent" -c "DROP ROLE regress_dump_owner" >/dev/null
exit $failed
