# shellcheck shell=bash
#
# bench/benchlib.bash -- helpers shared by the bench/*.sh benchmark scripts.
#
# Source it from a benchmark script (run as root):
#
#     . "$(dirname "$0")/benchlib.bash"
#
# It sources test/lib.sh (cluster_start, cluster_stop, cluster_restart,
# sandbox_tmpdir, ...) and adds:
#
#     BENCH_MODE              quick (default) or full, set by bench/run
#     bench_pick Q F          print Q in quick mode, F in full mode
#     bench_say MSG...        a progress line on stderr, with elapsed seconds
#     bench_workdir NAME      make a scratch directory owned by $PGUSER_OS and
#                             arrange for it, and every cluster started under
#                             it, to be stopped and removed on exit
#     bench_stats V...        print "median min max" of the values
#     bench_div A B           print A/B with 4 decimals
#     bench_row WHAT BASE SANDBOX RATIO TARGET [BMIN BMAX SMIN SMAX RMIN RMAX]
#                             print the machine-readable result line
#                                 ROW|what|baseline|sandbox|ratio|target|pass|bmin|bmax|smin|smax|rmin|rmax
#                             that bench/run collects; pass is computed from
#                             RATIO and TARGET ("<=1.01", ">=0.97", "<1")
#     bench_bg_group CMD...   run CMD in the background in a process group of
#                             its own, so that the exit trap can stop it and
#                             everything it started; sets BENCH_BG_PID
#     bench_note TEXT         print "NOTE|text": bench/run lists notes under
#                             the table
#     bench_psql ARGS...      psql as the cluster's superuser, tuples only
#     bench_pgbench_tps LOG ARGS...  run pgbench, print its TPS
#     bench_cg_input, bench_cg_run   instructions per statement with callgrind
#                             on a single-user backend (see below)
#
# A benchmark script prints its ROW lines on stdout (anything else it prints
# is shown as progress), exits 0 when it could measure, and non-zero when it
# could not (bench/run then reports the script as failed).

set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export BENCH_DIR

# shellcheck source=test/lib.sh
. "$BENCH_DIR/../test/lib.sh"

for _f in cluster_start cluster_stop cluster_restart sandbox_tmpdir sandbox_os_user; do
	if ! declare -F "$_f" >/dev/null; then
		echo "benchlib: test/lib.sh does not define $_f" >&2
		exit 2
	fi
done
unset _f

: "${BENCH_MODE:=quick}"
case $BENCH_MODE in
	quick | full) ;;
	*)
		echo "benchlib: BENCH_MODE must be quick or full, not $BENCH_MODE" >&2
		exit 2
		;;
esac
export BENCH_MODE

BENCH_T0=$SECONDS
BENCH_WORKDIRS=()
BENCH_BGGROUPS=()

bench_pick()
{
	if [ "$BENCH_MODE" = quick ]; then
		printf '%s\n' "$1"
	else
		printf '%s\n' "$2"
	fi
}

bench_say()
{
	printf '[%s +%3ds] %s\n' "$(basename "$0" .sh)" $((SECONDS - BENCH_T0)) "$*" >&2
}

_bench_cleanup()
{
	local pid dir c
	# background process groups this script started (bench_bg_group)
	for pid in "${BENCH_BGGROUPS[@]}"; do
		kill -- "-$pid" 2>/dev/null || true
	done
	for pid in "${BENCH_BGGROUPS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for dir in "${BENCH_WORKDIRS[@]}"; do
		for c in "$dir"/*/; do
			c=${c%/}
			[ -f "$c/data/postmaster.pid" ] && cluster_stop "$c"
		done
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			echo "benchlib: kept $dir (BENCH_KEEP=1)" >&2
		else
			rm -rf "$dir"
		fi
	done
}

# bench_workdir NAME: print nothing; sets BENCH_WORK
bench_workdir()
{
	BENCH_WORK=$(sandbox_tmpdir "bench-$1") || exit 2
	BENCH_WORKDIRS+=("$BENCH_WORK")
	trap _bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	export BENCH_WORK
}

# bench_stats V...: "median min max" (median of an even count: mean of the middle two)
bench_stats()
{
	printf '%s\n' "$@" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "NaN NaN NaN"; exit }
			if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.6g %.6g %.6g\n", m, v[1], v[NR]
		}'
}

bench_div()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "NaN"; else printf "%.4f\n", a / b }'
}

# bench_pass RATIO TARGET: print pass or fail
bench_pass()
{
	awk -v r="$1" -v t="$2" 'BEGIN {
		op = t; sub(/[0-9.]+$/, "", op); v = substr(t, length(op) + 1) + 0
		if (r == "NaN" || r == "") { print "fail"; exit }
		r += 0
		ok = (op == "<=") ? r <= v : (op == ">=") ? r >= v : (op == "<") ? r < v : (op == ">") ? r > v : 0
		print ok ? "pass" : "fail"
	}'
}

bench_row()
{
	local what=$1 base=$2 sb=$3 ratio=$4 target=$5
	shift 5
	local IFS='|'
	printf 'ROW|%s|%s|%s|%s|%s|%s' "$what" "$base" "$sb" "$ratio" "$target" "$(bench_pass "$ratio" "$target")"
	[ $# -gt 0 ] && printf '|%s' "$*"
	printf '\n'
}

# bench_row_paired WHAT TARGET BASE CAND: a ROW line for paired runs. BASE
# and CAND name arrays with one value per pair (a pair's baseline and
# candidate ran back to back): medians with their spreads, the ratio
# median(CAND) / median(BASE), and as its spread that of CAND[i] / BASE[i].
bench_row_paired()
{
	local what=$1 target=$2 i bm blo bhi sm slo shi rlo rhi ratios=()
	local -n _brp_base=$3 _brp_cand=$4
	for i in "${!_brp_base[@]}"; do
		ratios+=("$(bench_div "${_brp_cand[$i]}" "${_brp_base[$i]}")")
	done
	read -r bm blo bhi < <(bench_stats "${_brp_base[@]}")
	read -r sm slo shi < <(bench_stats "${_brp_cand[@]}")
	read -r _ rlo rhi < <(bench_stats "${ratios[@]}")
	bench_row "$what" "$bm" "$sm" "$(bench_div "$sm" "$bm")" "$target" "$blo" "$bhi" "$slo" "$shi" "$rlo" "$rhi"
}

bench_bg_group()
{
	set -m
	"$@" &
	BENCH_BG_PID=$!
	set +m
	BENCH_BGGROUPS+=("$BENCH_BG_PID")
}

bench_note()
{
	printf 'NOTE|%s\n' "$*"
}

# bench_psql ARGS...: psql as the cluster's superuser, tuples only, stop on error
bench_psql()
{
	"$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -U "$PGUSER_OS" "$@"
}

# bench_pgbench_tps LOGFILE PGBENCH-ARGS...: run pgbench, print its tps
# (without initial connection time); the full output goes to LOGFILE
bench_pgbench_tps()
{
	local log=$1
	shift
	if ! "$PGBIN/pgbench" "$@" >"$log" 2>&1; then
		echo "pgbench $* failed:" >&2
		tail -n 20 "$log" >&2
		return 1
	fi
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$log" | head -n 1
}

# --- callgrind on a single-user backend ----------------------------------------
#
# Instructions per unit of work (a statement, a transaction), measured in one
# run: the input is
#     PREFIX; W units; MARK; N units; MARK; MARK
# with MARK = "SELECT pg_backend_pid();", and callgrind runs with
# --dump-before=pg_backend_pid, which cuts the profile at each mark.  Part 2
# holds the N units plus one mark statement (the end of the first, the start
# of the second), part 3 exactly one mark statement, so
#     Ir per unit = (Ir(part 2) - Ir(part 3)) / N
# and start-up, warm-up (the W units) and shut-down are never counted.
# bench/cgparse.py N OUT.2 OUT.3 does the arithmetic, per function too.

BENCH_CG_MARK="SELECT pg_backend_pid();"

# bench_cg_input FILE PREFIX GEN W N: write the marked input to FILE; GEN
# FIRST COUNT prints units FIRST .. FIRST+COUNT-1 (one statement a line)
bench_cg_input()
{
	local file=$1 prefix=$2 gen=$3 w=$4 n=$5
	{
		[ -n "$prefix" ] && printf '%s\n' "$prefix"
		"$gen" 1 "$w"
		printf '%s\n' "$BENCH_CG_MARK"
		"$gen" $((w + 1)) "$n"
		printf '%s\n' "$BENCH_CG_MARK" "$BENCH_CG_MARK"
	} >"$file"
	chmod 644 "$file"
}

# bench_cg_run DATADIR DB PRELOAD INPUT OUT: a single-user backend of DB
# (stopped cluster, run as $PGUSER_OS) under callgrind, with
# shared_preload_libraries=PRELOAD ('' for none), fed INPUT; leaves the
# profile parts OUT.2 and OUT.3 and the backend's output in OUT.stdout.
# Fails when a statement failed or the marks were not reached.
bench_cg_run()
{
	local data=$1 db=$2 preload=$3 input=$4 out=$5
	rm -f "$out" "$out".[0-9]*
	(cd "$(dirname "$out")" && runuser -u "$PGUSER_OS" -- \
		valgrind --tool=callgrind --dump-before=pg_backend_pid --callgrind-out-file="$out" \
		"$PGBIN/postgres" --single -D "$data" -c shared_preload_libraries="$preload" "$db" \
		<"$input" >"$out.stdout" 2>&1) || {
		echo "callgrind run $out failed:" >&2
		tail -n 5 "$out.stdout" >&2
		return 1
	}
	# a failed statement would make the comparison meaningless
	if grep -q 'ERROR:' "$out.stdout"; then
		echo "callgrind run $out had an error:" >&2
		grep -m 5 'ERROR:' "$out.stdout" >&2
		return 1
	fi
	if [ ! -s "$out.2" ] || [ ! -s "$out.3" ]; then
		echo "callgrind run $out did not dump at the marks" >&2
		return 1
	fi
	rm -f "$out" "$out.1"
}
