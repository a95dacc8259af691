# shellcheck shell=bash
#
# test/lib.sh -- shared helpers for sandbox's test, demo and benchmark scripts.
#
# Source it from bash (run as root):
#
#     . "$(dirname "$0")/lib.sh"      # or: source test/lib.sh
#
# Environment (all optional):
#     PG_CONFIG   pg_config of the server to build against and run
#                 (default /usr/lib/postgresql/15/bin/pg_config); point it at
#                 another installation, e.g. a cassert build, to test that one
#     PGUSER_OS   OS user that owns and runs test servers (default sandboxtest);
#                 PostgreSQL refuses to run as root
#
# Functions:
#     sandbox_install_deps        apt-get install the server, headers and compiler
#                                 when missing (Debian 12); only the compiler
#                                 when PG_CONFIG points elsewhere
#     sandbox_build_install       make clean; make; make install, in the repo root
#     sandbox_os_user             create OS user $PGUSER_OS if missing
#     sandbox_tmpdir [PREFIX]     print a fresh temporary directory owned by
#                                 $PGUSER_OS
#     cluster_start DIR [LINE...] initdb DIR/data (unless it exists) and start it;
#                                 LINEs are extra postgresql.conf lines, later
#                                 ones win (e.g. "shared_preload_libraries = ''")
#     cluster_stop [DIR]          pg_ctl stop -m fast; a no-op when nothing runs
#     cluster_restart [DIR]       stop and start again with the same settings
#     cluster_psql [ARGS...]      psql -X -q -v ON_ERROR_STOP=1 against the current
#                                 cluster
#     sandbox_count_regress FILE  count pg_regress / pg_isolation_regress result
#                                 lines; sets COUNT_PASSED, COUNT_FAILED
#     check DESC EXPECTED ACTUAL  print a TAP "ok" / "not ok" line; sets failed=1
#                                 on a mismatch (scripts end with exit $failed)
#     sandbox_count_tap FILE RC   count "ok" / "not ok" lines of a test script
#                                 that exited with RC; sets COUNT_PASSED,
#                                 COUNT_FAILED
#
# After cluster_start, these are exported for clients (psql, pg_regress, ...):
#     PGHOST (the socket directory DIR/sock), PGPORT, PGUSER (= $PGUSER_OS),
#     PGDATABASE=postgres, CLUSTER_DIR (= DIR), CLUSTER_LOG (= DIR/log, the
#     server log), PGDATA (= DIR/data).
#
# Cluster layout: DIR/data (data directory), DIR/sock (unix socket, the only
# way in: listen_addresses = ''), DIR/log (server log), DIR/port.
#
# Every function is safe to call from an EXIT trap, also when the cluster never
# started, and none of them calls exit.

: "${PG_CONFIG:=/usr/lib/postgresql/15/bin/pg_config}"
: "${PGUSER_OS:=sandboxtest}"
export PG_CONFIG PGUSER_OS

# Repository root: the parent of the directory holding this file.
SANDBOX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SANDBOX_ROOT

# PGBIN: the server's binaries; empty until pg_config exists (see _sandbox_pgbin).
PGBIN=""
if [ -x "$PG_CONFIG" ] || command -v "$PG_CONFIG" >/dev/null 2>&1; then
	PGBIN=$("$PG_CONFIG" --bindir)
fi
export PGBIN

_sandbox_say()
{
	printf '%s\n' "$*" >&2
}

_sandbox_pgbin()
{
	if [ -z "$PGBIN" ]; then
		if ! PGBIN=$("$PG_CONFIG" --bindir 2>/dev/null) || [ -z "$PGBIN" ]; then
			_sandbox_say "lib.sh: cannot run $PG_CONFIG --bindir (is the server installed?)"
			return 1
		fi
		export PGBIN
	fi
}

# Run a command as $PGUSER_OS from a directory it can read (runuser keeps the
# caller's cwd, and PostgreSQL tools complain about an unreadable one).
_sandbox_as_user()
{
	local dir=$1
	shift
	(cd "$dir" && runuser -u "$PGUSER_OS" -- "$@")
}

sandbox_install_deps()
{
	local pkgs="postgresql-15 postgresql-server-dev-15 postgresql-contrib build-essential gcc make"
	local missing="" p
	# another installation (such as test/cassert/run's) needs only the compiler
	if [ "$PG_CONFIG" != /usr/lib/postgresql/15/bin/pg_config ]; then
		pkgs="build-essential gcc make"
	fi
	for p in $pkgs; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing="$missing $p"
		fi
	done
	if [ -n "$missing" ]; then
		_sandbox_say "installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq || return 1
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null || return 1
		# Debian creates and starts a "main" cluster on port 5432; tests never
		# use it, and it is left alone.
	fi
	_sandbox_pgbin
}

sandbox_build_install()
{
	(
		set -e
		cd "$SANDBOX_ROOT"
		make -s clean PG_CONFIG="$PG_CONFIG"
		make -s PG_CONFIG="$PG_CONFIG"
		make -s install PG_CONFIG="$PG_CONFIG"
	) || {
		_sandbox_say "lib.sh: BUILD FAILED (make with PG_CONFIG=$PG_CONFIG in $SANDBOX_ROOT)"
		return 1
	}
}

sandbox_os_user()
{
	if ! id -u "$PGUSER_OS" >/dev/null 2>&1; then
		useradd -M -s /bin/bash "$PGUSER_OS" || return 1
	fi
	export PGUSER_OS
}

# sandbox_tmpdir [PREFIX]: print a new directory under ${TMPDIR:-/tmp} owned by
# $PGUSER_OS and traversable by everyone.
sandbox_tmpdir()
{
	local d
	sandbox_os_user || return 1
	d=$(mktemp -d "${TMPDIR:-/tmp}/${1:-sandbox}.XXXXXX") || return 1
	chown "$PGUSER_OS": "$d" && chmod 755 "$d" || return 1
	printf '%s\n' "$d"
}

# _sandbox_port_free PORT: nothing listens on it (TCP) and no socket of that
# number exists in the usual socket directories.
_sandbox_port_free()
{
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 1
	fi
	[ -e "/tmp/.s.PGSQL.$port" ] && return 1
	[ -e "/var/run/postgresql/.s.PGSQL.$port" ] && return 1
	return 0
}

# _sandbox_pick_port: print a free port from 54320-59999, preferring a random one.
_sandbox_pick_port()
{
	local i port
	for i in $(seq 1 200); do
		port=$((54320 + (RANDOM + i) % 5680))
		if _sandbox_port_free "$port"; then
			printf '%s\n' "$port"
			return 0
		fi
	done
	_sandbox_say "lib.sh: no free port found in 54320-59999"
	return 1
}

# _sandbox_write_conf DIR PORT LINE...: (re)write DIR/data/sandbox_test.conf,
# which postgresql.conf includes last, so its lines win over the defaults and
# later LINEs win over earlier ones.
_sandbox_write_conf()
{
	local dir=$1 port=$2
	shift 2
	{
		echo "# written by test/lib.sh cluster_start; rewritten on every start"
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir/sock'"
		echo "fsync = off"
		echo "max_prepared_transactions = 10"
		echo "shared_preload_libraries = 'sandbox'"
		echo "log_line_prefix = '%m [%p] %q%u@%d '"
		echo "lc_messages = 'C'"
		echo "# extra lines given to cluster_start (later lines win)"
		local line
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$dir/data/sandbox_test.conf"
	chown "$PGUSER_OS": "$dir/data/sandbox_test.conf"
}

# cluster_start DIR [extra postgresql.conf lines...]
cluster_start()
{
	local dir=${1:?cluster_start: DIR missing}
	shift
	local port attempt locale out=""
	_sandbox_pgbin || return 1
	sandbox_os_user || return 1

	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd)
	chown "$PGUSER_OS": "$dir" && chmod 755 "$dir" || return 1
	mkdir -p "$dir/sock" && chown "$PGUSER_OS": "$dir/sock" && chmod 755 "$dir/sock" || return 1
	touch "$dir/log" && chown "$PGUSER_OS": "$dir/log" || return 1

	if [ ! -f "$dir/data/PG_VERSION" ]; then
		locale=C
		if locale -a 2>/dev/null | grep -qix 'C\.utf-\?8'; then
			locale=C.UTF-8
		fi
		if ! _sandbox_as_user "$dir" "$PGBIN/initdb" -D "$dir/data" -U "$PGUSER_OS" \
				--auth=trust -E UTF8 --locale="$locale" --no-sync >"$dir/initdb.log" 2>&1; then
			_sandbox_say "lib.sh: initdb failed in $dir/data:"
			cat "$dir/initdb.log" >&2
			return 1
		fi
		echo "include_if_exists = 'sandbox_test.conf'" >>"$dir/data/postgresql.conf"
	fi

	# Reuse the port of an earlier start of this cluster when it is still free,
	# so that a restart keeps PGPORT.
	port=""
	if [ -f "$dir/port" ]; then
		port=$(cat "$dir/port")
		_sandbox_port_free "$port" || port=""
	fi

	for attempt in 1 2 3 4 5; do
		if [ -z "$port" ]; then
			port=$(_sandbox_pick_port) || return 1
		fi
		_sandbox_write_conf "$dir" "$port" "$@" || return 1
		if out=$(_sandbox_as_user "$dir" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" \
				-w -t 60 -s start 2>&1); then
			echo "$port" >"$dir/port"
			export PGHOST="$dir/sock" PGPORT="$port" PGUSER="$PGUSER_OS" \
				PGDATABASE=postgres CLUSTER_DIR="$dir" CLUSTER_LOG="$dir/log" \
				PGDATA="$dir/data"
			return 0
		fi
		# A port taken in the meantime shows up as "could not bind" or "could
		# not create lock file"; anything else is a real failure.
		if ! tail -n 20 "$dir/log" | grep -qiE 'could not (bind|create lock file)|already in use'; then
			break
		fi
		_sandbox_say "lib.sh: port $port busy (attempt $attempt), trying another"
		port=""
	done
	_sandbox_say "lib.sh: could not start the server in $dir/data: $out"
	_sandbox_say "end of $dir/log:"
	tail -n 30 "$dir/log" >&2
	return 1
}

# cluster_stop [DIR]: fast shutdown; quiet and successful when nothing runs.
cluster_stop()
{
	local dir=${1:-${CLUSTER_DIR:-}} hits
	[ -n "$dir" ] || return 0
	[ -f "$dir/data/postmaster.pid" ] || return 0
	_sandbox_pgbin || return 0
	if ! _sandbox_as_user "$dir" "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 -s stop >/dev/null 2>&1; then
		# still running after 60 s: do not leave it behind
		if [ -f "$dir/data/postmaster.pid" ]; then
			_sandbox_as_user "$dir" "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -s stop >/dev/null 2>&1 || true
		fi
	fi
	hits=$(cluster_log_failures "$dir")
	if [ -n "$hits" ]; then
		printf '%s\n' "$hits" >&2
		printf 'not ok - the server log %s shows a failed assertion or a crash\n' "$dir/log"
	fi
	return 0
}

# cluster_log_failures [DIR]: print the lines of DIR/log written since the
# last call that show a failed assertion (TRAP, on servers built with
# --enable-cassert), a PANIC, or a backend killed by SIGABRT or SIGSEGV.
# Tests that crash a server on purpose use immediate shutdown or SIGKILL,
# which this does not match. cluster_stop reports them as a failed case.
cluster_log_failures()
{
	local dir=${1:-${CLUSTER_DIR:-}} seen=0 total
	[ -n "$dir" ] && [ -f "$dir/log" ] || return 0
	[ -f "$dir/log.scanned" ] && seen=$(cat "$dir/log.scanned")
	total=$(wc -l <"$dir/log")
	[ "$total" -ge "$seen" ] || seen=0
	printf '%s\n' "$total" >"$dir/log.scanned"
	tail -n "+$((seen + 1))" "$dir/log" | grep -E 'TRAP:|PANIC:|terminated by signal (6|11)([^0-9]|$)' | head -n 5
	return 0
}

# cluster_restart [DIR] [extra lines...]: stop, then start with the same extra
# lines as last time (or the new ones given).
cluster_restart()
{
	local dir=${1:-${CLUSTER_DIR:-}}
	[ -n "$dir" ] || { _sandbox_say "cluster_restart: no cluster"; return 1; }
	[ $# -gt 0 ] && shift
	cluster_stop "$dir"
	if [ $# -gt 0 ]; then
		cluster_start "$dir" "$@"
	else
		local -a extra=()
		if [ -f "$dir/data/sandbox_test.conf" ]; then
			mapfile -t extra < <(sed -n '/^# extra lines given to cluster_start/,$p' \
				"$dir/data/sandbox_test.conf" | tail -n +2)
		fi
		cluster_start "$dir" "${extra[@]}"
	fi
}

cluster_psql()
{
	_sandbox_pgbin || return 1
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# sandbox_count_regress FILE: count the result lines pg_regress and
# pg_isolation_regress print, e.g. (PostgreSQL 15)
#     test lifecycle                    ... ok           45 ms
#          lifecycle                    ... FAILED       30 ms
#     test x                            ... failed (ignored)
# or (PostgreSQL 16 and later)
#     ok 1         - lifecycle                  279 ms
#     not ok 3     + promotion                  859 ms
# Ignored failures count as failed. Failed test names go to stdout.
sandbox_count_regress()
{
	local file=$1 line name
	COUNT_PASSED=0
	COUNT_FAILED=0
	[ -f "$file" ] || return 0
	while IFS= read -r line; do
		if [[ $line =~ ^(test[[:space:]]+|[[:space:]]+)([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed) ]]; then
			name=${BASH_REMATCH[2]}
			if [ "${BASH_REMATCH[3]}" = ok ]; then
				COUNT_PASSED=$((COUNT_PASSED + 1))
			else
				COUNT_FAILED=$((COUNT_FAILED + 1))
				printf 'not ok - %s\n' "$name"
			fi
		elif [[ $line =~ ^(not[[:space:]]+)?ok[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]]+([^[:space:]]+) ]]; then
			# PostgreSQL 16 and later print TAP
			name=${BASH_REMATCH[2]}
			if [ -z "${BASH_REMATCH[1]}" ]; then
				COUNT_PASSED=$((COUNT_PASSED + 1))
			else
				COUNT_FAILED=$((COUNT_FAILED + 1))
				printf 'not ok - %s\n' "$name"
			fi
		fi
	done <"$file"
	return 0
}

# check DESCRIPTION EXPECTED ACTUAL: print a TAP line "ok - ..." when the
# two are equal, else "not ok - ..." with both, and set failed=1.  Scripted
# tests start with failed=0 and end with "exit $failed".
failed=0
check()
{
	if [ "$2" = "$3" ]; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		echo "#   expected: $2"
		echo "#   got:      $3"
		failed=1
	fi
}

# sandbox_count_tap FILE RC: count lines starting "ok" / "not ok" in a script's
# output. A script that exited non-zero without a "not ok" line counts one
# failure more; so does one that printed no result line at all.
sandbox_count_tap()
{
	local file=$1 rc=$2
	COUNT_PASSED=0
	COUNT_FAILED=0
	if [ -f "$file" ]; then
		COUNT_PASSED=$(grep -cE '^ok($|[[:space:]])' "$file" || true)
		COUNT_FAILED=$(grep -cE '^not ok($|[[:space:]])' "$file" || true)
	fi
	if [ "$rc" -ne 0 ] && [ "$COUNT_FAILED" -eq 0 ]; then
		COUNT_FAILED=1
	elif [ "$COUNT_PASSED" -eq 0 ] && [ "$COUNT_FAILED" -eq 0 ]; then
		COUNT_FAILED=1
	fi
	return 0
}
