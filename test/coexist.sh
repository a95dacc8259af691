#!/usr/bin/env bash
#
# test/coexist.sh -- sandbox's own suites pass with pg_stat_statements and
# pgaudit preloaded before it and after it.
#
#     bash test/coexist.sh            (as root; test/run-all runs it)
#
# For each order of shared_preload_libraries
#
#     pg_stat_statements,pgaudit,sandbox   (sandbox's hooks run first)
#     sandbox,pgaudit,pg_stat_statements   (sandbox's hooks run last)
#
# it starts a throwaway cluster with pgaudit.log = 'all' and
# pg_stat_statements.track = 'all' (so that both wrap every statement,
# nested ones included), and runs the Makefile's REGRESS list with pg_regress
# and its ISOLATION list with pg_isolation_regress, as "make installcheck"
# would (same options, same database names), comparing with expected/*.out.
# pgaudit writes to the server log only, so the outputs must be exactly the
# expected ones. Each order runs both suites twice:
#
#   preloaded                  the libraries preloaded, as the requirement
#                              says (plus CREATE EXTENSION pg_stat_statements
#                              for its view, which only reads)
#   CREATE EXTENSION pgaudit   also pgaudit's extension in the test databases,
#                              as its README installs it: its SECURITY DEFINER
#                              event-trigger functions then fire on every DDL
#                              command, the agents' included, so the server
#                              restarts with them in sandbox.trusted_functions
#                              (see PGAUDIT_EXTENSION below for the knob)
#
# One TAP line per (order, run, suite), plus one per order checking that all
# three libraries really were at work (AUDIT lines in the server log, entries
# in pg_stat_statements). When a test fails, both suites also run against a
# cluster that preloads sandbox alone, and the report says whether the test
# fails there too (then it is not a coexistence problem, but still a failure).
#
# Environment (from test/run-all, all optional): PG_CONFIG, PGBIN, PGUSER_OS,
# TMPDIR_TEST; COEXIST_PGAUDIT_EXTENSION (see below). Takes about four times
# as long as the suites themselves (two orders, two runs each), and once more
# when a test fails.

set -euo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORDERS=("pg_stat_statements,pgaudit,sandbox" "sandbox,pgaudit,pg_stat_statements")
# pgaudit.log_catalog = off and log_statement_once = on keep the server log
# small (a few MB instead of over a gigabyte per order: the sandbox functions
# run thousands of catalog queries, each an audited sub-statement); pgaudit's
# hooks still see every statement.
EXTRA_CONF=(
	"pgaudit.log = 'all'"
	"pgaudit.log_relation = on"
	"pgaudit.log_parameter = on"
	"pgaudit.log_catalog = off"
	"pgaudit.log_statement_once = on"
	"pg_stat_statements.track = 'all'"
)
# The run with CREATE EXTENSION pgaudit, whose SECURITY DEFINER event
# trigger functions fire on every DDL statement an agent runs: "untrusted"
# (default) as installed, which the guard allows because only a superuser
# can install an event trigger; 1 with the functions also named in
# sandbox.trusted_functions; 0 skips the run.
PGAUDIT_EXTENSION=${COEXIST_PGAUDIT_EXTENSION:-untrusted}
PGAUDIT_TRUST="sandbox.trusted_functions = 'public.pgaudit_ddl_command_end(), public.pgaudit_sql_drop()'"

say()
{
	printf '# %s\n' "$*"
}

bail()
{
	printf 'not ok - coexistence with pg_stat_statements and pgaudit: %s\n' "$*"
	exit 1
}

case $PGAUDIT_EXTENSION in
	1 | untrusted | 0) ;;
	*) bail "COEXIST_PGAUDIT_EXTENSION must be 1, untrusted or 0" ;;
esac
[ "$(id -u)" -eq 0 ] || bail "run me as root (I install packages and start servers as $PGUSER_OS)"

WORK=""
CLUSTERS=()
FAILED=0
cleanup()
{
	local c
	for c in "${CLUSTERS[@]}"; do
		cluster_stop "$c"
	done
	if [ -n "$WORK" ]; then
		if [ "$FAILED" -eq 0 ]; then
			rm -rf "$WORK"
		else
			say "outputs and server logs kept in $WORK${TMPDIR_TEST:+ (test/run-all removes it afterwards)}"
		fi
	fi
}
trap cleanup EXIT

# make_var NAME: the value of a variable the Makefile sets (as test/run-all)
make_var()
{
	# shellcheck disable=SC2016  # $(NAME) is for make
	printf 'print-var:\n\t@echo $(%s)\n' "$1" |
		make -s --no-print-directory -C "$SANDBOX_ROOT" -f Makefile -f - print-var PG_CONFIG="$PG_CONFIG" 2>/dev/null
}

# --- setup -------------------------------------------------------------------

sandbox_install_deps || bail "install PostgreSQL 15"
sandbox_os_user || bail "create OS user $PGUSER_OS"
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
# Debian packages pgaudit for its own PostgreSQL 15; another installation
# (test/cassert/run builds one with pgaudit from source) brings its own or
# none.
if [ "$PKGLIBDIR" = /usr/lib/postgresql/15/lib ] &&
	! dpkg-query -W -f='${Status}' postgresql-15-pgaudit 2>/dev/null | grep -q 'install ok installed'; then
	say "installing postgresql-15-pgaudit"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql-15-pgaudit; } >/dev/null ||
		bail "apt-get install postgresql-15-pgaudit"
elif [ ! -f "$PKGLIBDIR/pgaudit.so" ]; then
	printf 'ok - coexistence with pg_stat_statements and pgaudit # SKIP pgaudit is not installed in %s\n' "$PKGLIBDIR"
	exit 0
fi
for lib in pgaudit pg_stat_statements; do
	[ -f "$PKGLIBDIR/$lib.so" ] || bail "$PKGLIBDIR/$lib.so is missing"
done
if [ ! -f "$PKGLIBDIR/sandbox.so" ]; then
	say "sandbox.so is not installed: building it"
	(cd "$SANDBOX_ROOT" && make -s PG_CONFIG="$PG_CONFIG" && make -s install PG_CONFIG="$PG_CONFIG") ||
		bail "build and install the extension"
fi

PGXS_DIR=$(dirname "$("$PG_CONFIG" --pgxs)")/../..
PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress"
PG_ISOLATION_REGRESS="$PGXS_DIR/src/test/isolation/pg_isolation_regress"

REGRESS_LIST=$(make_var REGRESS)
ISOLATION_LIST=$(make_var ISOLATION)
REGRESS_OPTS=$(make_var REGRESS_OPTS)
ISOLATION_OPTS=$(make_var ISOLATION_OPTS)
[ -n "$REGRESS_LIST$ISOLATION_LIST" ] || bail "no REGRESS or ISOLATION list in $SANDBOX_ROOT/Makefile"

if [ -n "${TMPDIR_TEST:-}" ] && [ -d "$TMPDIR_TEST" ]; then
	WORK=$(mktemp -d "$TMPDIR_TEST/coexist.XXXXXX")
else
	WORK=$(sandbox_tmpdir sandbox-coexist)
fi
chmod 755 "$WORK"

# --- running the suites ------------------------------------------------------

# run_both OUT [EXTRA_OPTIONS...]: run both suites against the current cluster
# into OUT/regress and OUT/isolation; their logs are .../pg_regress.log and
# their exit codes .../rc. The options are the Makefile's, as PGXS's
# installcheck passes them (from the repository root, database names
# contrib_regression and isolation_regression), then EXTRA_OPTIONS.
run_both()
{
	local out=$1
	shift
	run_suite "$out/regress" "$PG_REGRESS" contrib_regression "$REGRESS_OPTS" "$REGRESS_LIST" "$@"
	run_suite "$out/isolation" "$PG_ISOLATION_REGRESS" isolation_regression "$ISOLATION_OPTS" "$ISOLATION_LIST" "$@"
}

# run_suite DIR TOOL DBNAME OPTIONS TESTS [EXTRA_OPTIONS...]: one suite of
# run_both, when TESTS is not empty
run_suite()
{
	local dir=$1 tool=$2 db=$3 opts=$4 tests=$5 rc=0
	shift 5
	[ -n "$tests" ] || return 0
	mkdir -p "$dir"
	# shellcheck disable=SC2086  # word lists from the Makefile
	(cd "$SANDBOX_ROOT" && "$tool" --bindir="$PGBIN" $opts "$@" \
		--dbname="$db" --outputdir="$dir" \
		--host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
		$tests) >"$dir/pg_regress.log" 2>&1 || rc=$?
	echo "$rc" >"$dir/rc"
}

# failed_tests FILE: names of the tests pg_regress reported as failed
# (PostgreSQL 15's format "test x ... FAILED", or 16's TAP "not ok 3 - x")
failed_tests()
{
	sed -n -E -e 's/^(test[[:space:]]+|[[:space:]]+)([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(FAILED|failed).*/\2/p' \
		-e 's/^not ok[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]]+([^[:space:]]+).*/\1/p' "$1"
}

count_tests()
{
	grep -cE '^((test[[:space:]]+|[[:space:]]+)[^[:space:]]+[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed)|(not )?ok[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]])' "$1" || true
}

# ensure_baseline: run both suites once against a cluster that preloads
# sandbox alone (same settings otherwise), into WORK/sandbox-alone/run.
BASELINE="$WORK/sandbox-alone/run"
ensure_baseline()
{
	[ ! -d "$WORK/sandbox-alone" ] || return 0
	say "a test failed: running the suites against a cluster that preloads sandbox alone, for comparison"
	mkdir -p "$WORK/sandbox-alone"
	if cluster_start "$WORK/sandbox-alone/cluster" "shared_preload_libraries = 'sandbox'" "${EXTRA_CONF[@]}"; then
		CLUSTERS+=("$WORK/sandbox-alone/cluster")
		run_both "$BASELINE"
		cluster_stop "$WORK/sandbox-alone/cluster"
	else
		say "could not start the comparison cluster"
	fi
}

# baseline_verdict SUITE TEST RESULTS_DIR: how TEST of SUITE fared with
# sandbox alone, compared with its result in RESULTS_DIR
baseline_verdict()
{
	local base="$BASELINE/$1"
	if [ ! -f "$base/pg_regress.log" ]; then
		echo "no result with sandbox alone"
	elif ! failed_tests "$base/pg_regress.log" | grep -qxF "$2"; then
		echo "passes with sandbox alone: a coexistence problem"
	elif cmp -s "$base/results/$2.out" "$3/results/$2.out"; then
		echo "fails the same way with sandbox alone"
	else
		echo "fails with sandbox alone too, with a different output"
	fi
}

# report LABEL DIR: one TAP line for the suite run in DIR (.../regress or
# .../isolation); on failure the verdicts against sandbox alone and the diffs
report()
{
	local label=$1 dir=$2 suite rc n t failed
	suite=$(basename "$dir")
	[ -f "$dir/rc" ] || return 0
	rc=$(cat "$dir/rc")
	n=$(count_tests "$dir/pg_regress.log")
	failed=$(failed_tests "$dir/pg_regress.log" | tr '\n' ' ')
	if [ "$rc" -eq 0 ] && [ -z "$failed" ] && [ "$n" -gt 0 ]; then
		printf 'ok - %s: %s suite, %d tests as expected\n' "$label" "$suite" "$n"
		return 0
	fi
	FAILED=$((FAILED + 1))
	if [ -z "$failed" ]; then
		printf 'not ok - %s: %s suite did not run (exit %s)\n' "$label" "$suite" "$rc"
		tail -n 15 "$dir/pg_regress.log" | sed 's/^/#   /'
		return 0
	fi
	printf 'not ok - %s: %s suite, %d of %d tests failed: %s\n' "$label" "$suite" \
		"$(wc -w <<<"$failed")" "$n" "${failed% }"
	ensure_baseline
	for t in $failed; do
		say "$t: $(baseline_verdict "$suite" "$t" "$dir")"
	done
	if [ -s "$dir/regression.diffs" ]; then
		say "regression.diffs (first 60 lines):"
		head -n 60 "$dir/regression.diffs" | sed 's/^/#   /'
	fi
}

# check_active ORDER DIR: all three libraries were loaded and at work in the
# cluster DIR/cluster (pg_stat_statements' answer in DIR/pgss)
check_active()
{
	local order=$1 dir=$2 audit pgss
	audit=$(grep -c 'AUDIT: ' "$dir/cluster/log" || true)
	pgss=$(cat "$dir/pgss" 2>/dev/null || true)
	if [ "$audit" -gt 0 ] && [[ $pgss =~ ^[0-9]+\ [1-9][0-9]*$ ]]; then
		printf 'ok - %s: all three at work (%d AUDIT lines in the server log; pg_stat_statements: %s of %s entries call sandbox_create)\n' \
			"$order" "$audit" "${pgss% *}" "${pgss#* }"
	else
		FAILED=$((FAILED + 1))
		printf 'not ok - %s: pgaudit or pg_stat_statements was not at work (%d AUDIT lines; pg_stat_statements: %s)\n' \
			"$order" "$audit" "${pgss:-no answer}"
	fi
}

say "$("$PG_CONFIG" --version); pgaudit $(sed -n -E "s/^default_version *= *'(.*)'/\1/p" "$("$PG_CONFIG" --sharedir)/extension/pgaudit.control")"
say "regress: ${REGRESS_LIST:-none}; isolation: ${ISOLATION_LIST:-none}"
for order in "${ORDERS[@]}"; do
	t0=$SECONDS
	# no commas in the directory name: unix_socket_directories is a list
	dir="$WORK/${order//,/+}"
	mkdir -p "$dir"
	if ! cluster_start "$dir/cluster" "shared_preload_libraries = '$order'" "${EXTRA_CONF[@]}"; then
		FAILED=$((FAILED + 1))
		printf 'not ok - %s: could not start a cluster with shared_preload_libraries = %s\n' "$order" "$order"
		continue
	fi
	CLUSTERS+=("$dir/cluster")
	# pg_stat_statements' view in the test databases, for check_active
	run_both "$dir/preloaded" --load-extension=pg_stat_statements
	variant=$PGAUDIT_EXTENSION
	if [ "$variant" = 1 ] &&
		! cluster_restart "$dir/cluster" "shared_preload_libraries = '$order'" "${EXTRA_CONF[@]}" "$PGAUDIT_TRUST"; then
		FAILED=$((FAILED + 1))
		printf 'not ok - %s: could not restart the cluster with %s\n' "$order" "$PGAUDIT_TRUST"
		variant=0
	fi
	if [ "$variant" != 0 ]; then
		run_both "$dir/pgaudit-extension" --load-extension=pg_stat_statements --load-extension=pgaudit
	fi
	cluster_psql -d contrib_regression -At -c "
		SELECT count(*) FILTER (WHERE query ILIKE '%sandbox_create%') || ' ' || count(*)
		  FROM pg_stat_statements" >"$dir/pgss" 2>&1 || true
	cluster_stop "$dir/cluster"
	say "$order: suites ran in $((SECONDS - t0)) s; server log $(du -h "$dir/cluster/log" | cut -f1)"

	check_active "$order" "$dir"
	for suite in regress isolation; do
		report "$order" "$dir/preloaded/$suite"
		case $variant in
			1) report "$order, CREATE EXTENSION pgaudit, its functions trusted" "$dir/pgaudit-extension/$suite" ;;
			untrusted) report "$order, CREATE EXTENSION pgaudit, its functions not trusted" "$dir/pgaudit-extension/$suite" ;;
		esac
	done
done

[ "$FAILED" -eq 0 ]
