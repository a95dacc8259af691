#!/bin/bash
#
# test/reaper.sh - the background reaper, against a throwaway cluster.
#
# Checks that the preloaded library starts the reaper, that a SIGHUP which
# changes sandbox.reap_interval takes effect without a restart, that
# sandbox.reap_interval = 0 turns the reaper off, that only expired
# sandboxes are dropped, and that the reaper works again after the server
# went down hard (pg_ctl stop -m immediate) and was started again.
#
# Run as root by the test runner, with:
#   PGBIN        server bin directory (initdb, pg_ctl, psql)
#   PGUSER_OS    non-root OS user that owns and runs the cluster
#   TMPDIR_TEST  scratch directory writable by PGUSER_OS
# and the extension already installed.  Prints one TAP line per check and
# exits non-zero if any check failed.

set -euo pipefail

: "${PGBIN:?PGBIN must be set}"
: "${PGUSER_OS:?PGUSER_OS must be set}"
: "${TMPDIR_TEST:?TMPDIR_TEST must be set}"

PORT=$((20000 + $$ % 10000))
WORK=$(runuser -u "$PGUSER_OS" -- mktemp -d "$TMPDIR_TEST/reaper.XXXXXX")
DATA=$WORK/data
SOCK=$WORK/sock
LOG=$WORK/server.log
POLL_SECONDS=30

passed=0
failed=0

as_owner() { runuser -u "$PGUSER_OS" -- "$@"; }

# sql DB QUERY: run QUERY in DB as the cluster's superuser, print tuples only
sql()
{
	"$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
		-h "$SOCK" -p "$PORT" -U "$PGUSER_OS" -d "$1" -c "$2"
}

ok()     { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }

# check DESC CMD...: the check passes when CMD succeeds
check()
{
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# must DESC CMD...: a step later checks depend on; stop at the first failure
must()
{
	local desc=$1
	shift
	if "$@" >"$WORK/step.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		sed 's/^/# /' "$WORK/step.out"
		finish
	fi
}

# is DB QUERY EXPECTED: QUERY's output equals EXPECTED
is() { [ "$(sql "$1" "$2" 2>&1)" = "$3" ]; }

# eventually DB QUERY EXPECTED: is, retried once a second for POLL_SECONDS
eventually()
{
	local i
	for ((i = 0; i < POLL_SECONDS; i++)); do
		if is "$1" "$2" "$3"; then return 0; fi
		sleep 1
	done
	return 1
}

# does sandbox NAME exist, as sandbox_list() and pg_namespace see it
sandbox_state()
{
	echo "SELECT (SELECT count(*) FROM pg_catalog.sandbox_list() WHERE name = '$1')
		|| ',' || (SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = '$1')"
}

reaper_running()
{
	eventually postgres "SELECT count(*) FROM pg_catalog.pg_stat_activity
						  WHERE backend_type = 'sandbox reaper'" 1
}

# no reaper process failed since the server started (a clean exit logs nothing)
no_reaper_failures()
{
	! grep -E 'background worker "sandbox reap[^"]*" \(PID [0-9]+\) exited' "$LOG"
}

server_start() { as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start; }

# reload NAME VALUE: ALTER SYSTEM SET NAME = VALUE, then SIGHUP
reload()
{
	sql postgres "ALTER SYSTEM SET $1 = '$2'" &&
		sql postgres "SELECT pg_catalog.pg_reload_conf()" >/dev/null
}

finish()
{
	if [ "$failed" -gt 0 ] && [ -f "$LOG" ]; then
		echo "# server log ($LOG), last lines:"
		tail -n 40 "$LOG" | sed 's/^/# /'
	fi
	echo "1..$((passed + failed))"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}

cleanup()
{
	if [ -f "$DATA/postmaster.pid" ]; then
		as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 ||
			as_owner "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# --- a private cluster that preloads the library ----------------------------

as_owner mkdir -m 700 "$SOCK"
must "initdb" as_owner "$PGBIN/initdb" -D "$DATA" -U "$PGUSER_OS" --auth=trust --no-sync
cat >>"$DATA/postgresql.conf" <<EOF

# test/reaper.sh
port = $PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'sandbox'
sandbox.databases = 'reapdb'
sandbox.reap_interval = '1h'
fsync = off
EOF
must "server starts with sandbox preloaded" server_start
check "preloaded" is postgres "SHOW shared_preload_libraries" sandbox
check "reaper launcher is running" reaper_running

must "create database reapdb" sql postgres "CREATE DATABASE reapdb"
must "create extension" sql reapdb "CREATE EXTENSION sandbox"
must "create agent role" sql reapdb "CREATE ROLE regress_reap_agent LOGIN"
must "create expiring sandbox reap_me" sql reapdb \
	"SELECT * FROM sandbox_create('reap_me', 'regress_reap_agent', '{}', '1 second')"
must "create lasting sandbox keep_me" sql reapdb \
	"SELECT * FROM sandbox_create('keep_me', 'regress_reap_agent', '{}')"

# --- SIGHUP: a shorter interval applies at once ------------------------------

sleep 2
check "expired sandbox waits for the 1h interval" \
	is reapdb "$(sandbox_state reap_me)" "1,1"

must "reap_interval set to 1s by reload" reload sandbox.reap_interval 1s
check "new interval visible" eventually reapdb "SHOW sandbox.reap_interval" 1s
check "expired sandbox reaped after the reload" \
	eventually reapdb "$(sandbox_state reap_me)" "0,0"
check "lasting sandbox kept" is reapdb "$(sandbox_state keep_me)" "1,1"
check "reaper logged what it dropped" \
	grep -q 'reaped 1 expired sandbox(es) in database "reapdb"' "$LOG"

check "no reaper process failed" no_reaper_failures

# --- reap_interval = 0 turns the reaper off ---------------------------------

must "reap_interval set to 0 by reload" reload sandbox.reap_interval 0
check "interval 0 visible" eventually reapdb "SHOW sandbox.reap_interval" 0
# let a reap that was already under way finish before creating the victim
sleep 2
must "create expiring sandbox idle_me" sql reapdb \
	"SELECT * FROM sandbox_create('idle_me', 'regress_reap_agent', '{}', '1 second')"
sleep 4
check "reaper off: expired sandbox stays" \
	is reapdb "$(sandbox_state idle_me)" "1,1"
must "reap_interval set back to 1s by reload" reload sandbox.reap_interval 1s
check "reaper back on: expired sandbox reaped" \
	eventually reapdb "$(sandbox_state idle_me)" "0,0"

# --- after an immediate shutdown (crash recovery on start) -------------------

must "immediate shutdown" as_owner "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop
must "server starts again" server_start
check "reaper launcher is running again" reaper_running
check "reap_interval survived the restart" \
	is reapdb "SHOW sandbox.reap_interval" 1s
must "create expiring sandbox reap_again" sql reapdb \
	"SELECT * FROM sandbox_create('reap_again', 'regress_reap_agent', '{}', '1 second')"
check "expired sandbox reaped after restart" \
	eventually reapdb "$(sandbox_state reap_again)" "0,0"
check "lasting sandbox still kept" is reapdb "$(sandbox_state keep_me)" "1,1"
check "no reaper process failed after the restart" no_reaper_failures

finish
