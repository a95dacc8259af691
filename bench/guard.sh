#!/usr/bin/env bash
#
# bench/guard.sh -- what the guard costs per statement, library preloaded
# (candidate) or not (baseline).
#
#     BENCH_MODE=quick|full bash bench/guard.sh     (bench/run sets it)
#
# One throwaway cluster; the baseline is the same cluster, same data, with
# shared_preload_libraries = '' (there the agent is just a role).
#
# (a) Instructions per statement, deterministic: valgrind --tool=callgrind
#     on a single-user backend (postgres --single, as $PGUSER_OS) of database
#     "cg", statements on stdin, with -c shared_preload_libraries=sandbox or
#     '', each run from a fresh copy of the same data directory.  The input
#     is
#         prefix; W units; MARK; N units; MARK; MARK
#     where MARK is "SELECT pg_backend_pid();" and callgrind runs with
#     --dump-before=pg_backend_pid, so the profile is cut into parts at each
#     MARK: part 2 holds N units plus one MARK statement (the end of the
#     first, the start of the second), part 3 one MARK statement exactly.
#         Ir/unit = (Ir(part 2) - Ir(part 3)) / N
#     Start-up, the warm-up of the first W units (W = 20) and shut-down are
#     in other parts and never counted; one run per measurement does what
#     "a run with N statements minus a run with none" does.  Cases:
#       - non-agent SELECT 1 (the bootstrap superuser; the database has an
#         agent and a sandbox, as a real one would); N = 1,000 quick,
#         5,000 full                                      target <= 1.01
#       - agent UPDATE of a one-row table in its scratch schema; the prefix
#         is SET SESSION AUTHORIZATION regress_bench_agent (the guard treats
#         a session whose session user is an agent as restricted; checked
#         before measuring); N as above                   target <= 1.03
#       - pgbench's TPC-B transaction (BEGIN, 3 UPDATEs, SELECT, INSERT,
#         END; scale 1, fixed keys) as the non-agent regress_bench_app in
#         its schema "app" (target <= 1.01) and as the agent in its scratch
#         schema (target <= 1.03); N = 100 / 500 transactions: the
#         deterministic twin of the pgbench rows below
#     Runs alternate baseline / candidate (two at a time; Ir does not depend
#     on timing); 1 repetition quick, 3 full, medians and min-max.
#     Also from the SELECT 1 profiles (bench/cgparse.py): catalog lookups per
#     statement in the whole backend, with and without the library, and the
#     hash probes per statement made by sandbox.so ("one hash probe, no
#     catalog access"), plus, for every case, the sandbox.so functions that
#     ran and their instructions per statement.
# (b) pgbench TPS, clients 2, scale 5 quick / 10 full, -T 10 quick / 30 full,
#     default (simple) query protocol: select-only (-S) and TPC-B-like (the
#     default script), as a non-agent role (regress_bench_app, tables in its
#     schema "app"; targets >= 0.99) and as an agent (regress_bench_agent,
#     tables created by pgbench -i run as the agent, so in its scratch
#     schema "bench_scratch", which its search_path names; targets >= 0.97).
#     Baseline and candidate alternate (restart between), 2 pairs quick, 3
#     full, the order of the four workloads rotating from pair to pair;
#     after each restart the tables are loaded with pg_prewarm.  Noisy
#     on a shared machine: read the spread.
#
# The per-function breakdown goes to $BENCH_OUT/guard-callgrind.txt
# (bench/out when run by bench/run).  BENCH_GUARD_PARTS=callgrind or
# =pgbench runs only that half; BENCH_PGBENCH_T and BENCH_PGBENCH_PAIRS
# override the pgbench duration and number of pairs.

. "$(dirname "$0")/benchlib.bash"

CG_N=$(bench_pick 1000 5000)
CG_W=20
CG_TXNS=$(bench_pick 100 500)
CG_REPS=$(bench_pick 1 3)
SCALE=$(bench_pick 5 10)
PGB_T=${BENCH_PGBENCH_T:-$(bench_pick 5 30)}
PGB_PAIRS=${BENCH_PGBENCH_PAIRS:-$(bench_pick 2 3)}
CLIENTS=2
JOBS=${BENCH_JOBS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
BENCH_OUT=${BENCH_OUT:-}

# BENCH_GUARD_PARTS: "callgrind", "pgbench" or both (the default)
PARTS=" ${BENCH_GUARD_PARTS:-callgrind pgbench} "
has_part() { [[ $PARTS == *" $1 "* ]]; }

AGENT=regress_bench_agent
APP=regress_bench_app
CONF=("autovacuum = off" "sandbox.reap_interval = 0" "shared_buffers = 256MB")
NOLIB="shared_preload_libraries = ''"

for tool in valgrind callgrind_annotate "$PYTHON"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "guard: $tool is missing (apt-get install valgrind python3)" >&2
		exit 2
	fi
done

bench_workdir guard
C=$BENCH_WORK/c
CG=$BENCH_WORK/cg
mkdir -p "$CG" && chown "$PGUSER_OS": "$CG" || exit 2

# --- setup of the callgrind database ----------------------------------------
bench_say "starting a cluster that preloads sandbox"
cluster_start "$C" "${CONF[@]}" || exit 2
bench_psql -d postgres -c "CREATE DATABASE cg" || exit 2
bench_psql -d cg >/dev/null <<EOF || exit 2
CREATE EXTENSION sandbox;
CREATE ROLE $AGENT LOGIN;
CREATE ROLE $APP LOGIN;
CREATE SCHEMA app AUTHORIZATION $APP;
ALTER ROLE $APP IN DATABASE cg SET search_path = app;
SELECT 1 FROM sandbox_create('bench_scratch', '$AGENT');
SET ROLE $AGENT;
CREATE TABLE bench_scratch.one (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO bench_scratch.one VALUES (1, 0);
RESET ROLE;
VACUUM ANALYZE bench_scratch.one;
EOF
for role in "$APP" "$AGENT"; do
	"$PGBIN/pgbench" -i -q -s 1 -U "$role" cg >"$BENCH_WORK/cginit_$role.log" 2>&1 || {
		echo "guard: pgbench -i as $role in cg failed:" >&2
		cat "$BENCH_WORK/cginit_$role.log" >&2
		exit 2
	}
done
bench_psql -d cg -c "CHECKPOINT" || exit 2
cluster_stop "$C"
cp -a "$C/data" "$CG/pristine" || exit 2

# Input NAME.in (see bench_cg_input); GEN FIRST COUNT prints units.
make_input()
{
	bench_cg_input "$CG/$1.in" "$2" "$3" "$CG_W" "$CG_N_UNITS"
}
gen_select() { awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) print "SELECT 1;" }'; }
gen_update() { awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) print "UPDATE bench_scratch.one SET v = v + 1 WHERE id = 1;" }'; }
# pgbench's TPC-B-like transaction (scale 1), with fixed pseudo-random keys
gen_tpcb()
{
	awk -v f="$1" -v n="$2" 'BEGIN {
		for (i = f; i < f + n; i++) {
			a = (i * 7919) % 100000 + 1; t = i % 10 + 1; d = i % 9999 - 4999
			print "BEGIN;"
			printf "UPDATE pgbench_accounts SET abalance = abalance + %d WHERE aid = %d;\n", d, a
			printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", a
			printf "UPDATE pgbench_tellers SET tbalance = tbalance + %d WHERE tid = %d;\n", d, t
			printf "UPDATE pgbench_branches SET bbalance = bbalance + %d WHERE bid = 1;\n", d
			printf "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%d, 1, %d, %d, CURRENT_TIMESTAMP);\n", t, a, d
			print "END;"
		}
	}'
}
CG_N_UNITS=$CG_N
make_input select "" gen_select
make_input update "SET SESSION AUTHORIZATION $AGENT;" gen_update
CG_N_UNITS=$CG_TXNS
make_input tpcb_app "SET SESSION AUTHORIZATION $APP;
SET search_path = app;" gen_tpcb
make_input tpcb_agent "SET SESSION AUTHORIZATION $AGENT;
SET search_path = bench_scratch;" gen_tpcb

# The premise of the agent case: in single-user mode, after SET SESSION
# AUTHORIZATION, the preloaded guard restricts the session.
cp -a "$CG/pristine" "$CG/check" || exit 2
printf '%s\n' "SET SESSION AUTHORIZATION $AGENT;" "CREATE TABLE public.not_allowed (a int);" \
	"UPDATE bench_scratch.one SET v = v + 1 WHERE id = 1;" >"$CG/check.in"
chmod 644 "$CG/check.in"
(cd "$CG" && runuser -u "$PGUSER_OS" -- "$PGBIN/postgres" --single -D "$CG/check" \
	-c shared_preload_libraries=sandbox cg <"$CG/check.in" >"$CG/check.out" 2>&1)
if ! grep -q 'permission denied to create table "public.not_allowed"' "$CG/check.out" ||
	grep -c ERROR "$CG/check.out" | grep -qv '^1$'; then
	echo "guard: in single-user mode the agent session was not restricted as expected:" >&2
	cat "$CG/check.out" >&2
	exit 2
fi
rm -rf "$CG/check"

# cg_one CASE CFG REP: one callgrind run from a fresh copy of the data;
# leaves CASE.CFG.REP.out.2 and .3
cg_one()
{
	local tag=$1.$2.$3 preload="" t0=$SECONDS
	[ "$2" = lib ] && preload=sandbox
	rm -rf "$CG/$tag.data"
	cp -a "$CG/pristine" "$CG/$tag.data" || return 1
	bench_cg_run "$CG/$tag.data" cg "$preload" "$CG/$1.in" "$CG/$tag.out" || return 1
	rm -rf "$CG/$tag.data"
	touch "$CG/$tag.ok"
	echo "$tag: $((SECONDS - t0))s"
}

CG_CASES="select update tpcb_app tpcb_agent"
# the queue, alternating baseline (none) and candidate (lib)
CG_QUEUE=()
for ((r = 1; r <= CG_REPS; r++)); do
	for case in $CG_CASES; do
		CG_QUEUE+=("$case none $r" "$case lib $r")
	done
done

cg_queue()
{
	local running=0 job
	set +m
	for job in "${CG_QUEUE[@]}"; do
		if [ "$running" -ge "$JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
		# shellcheck disable=SC2086
		cg_one $job &
		running=$((running + 1))
	done
	wait
}
cg_queue_logged() { cg_queue >"$CG/queue.log" 2>&1; }

has_part callgrind || CG_QUEUE=()
if [ ${#CG_QUEUE[@]} -gt 0 ]; then
	bench_say "callgrind: ${#CG_QUEUE[@]} single-user runs in the background, $JOBS at a time (N=$CG_N, $CG_TXNS txns; W=$CG_W)"
	bench_bg_group cg_queue_logged
	CG_PID=$BENCH_BG_PID
fi

# --- meanwhile: setup for pgbench (nothing is timed yet) ----------------------
if has_part pgbench; then
	cluster_start "$C" "${CONF[@]}" || exit 2
	bench_psql -d postgres -c "CREATE DATABASE bench" || exit 2
	bench_psql -d bench >/dev/null <<-EOF || exit 2
	CREATE EXTENSION sandbox;
	CREATE SCHEMA app AUTHORIZATION $APP;
	ALTER ROLE $APP IN DATABASE bench SET search_path = app;
	SELECT 1 FROM sandbox_create('bench_scratch', '$AGENT');
	EOF
	PREWARM=1
	if ! bench_psql -d bench -c "CREATE EXTENSION pg_prewarm" 2>/dev/null; then
		PREWARM=0
		bench_note "guard: pg_prewarm is not installed (postgresql-contrib); tables were not prewarmed after restarts"
	fi
	bench_say "pgbench -i -s $SCALE as $APP and as $AGENT"
	for role in "$APP" "$AGENT"; do
		"$PGBIN/pgbench" -i -q -s "$SCALE" -U "$role" bench >"$BENCH_WORK/init_$role.log" 2>&1 || {
			echo "guard: pgbench -i as $role failed:" >&2
			cat "$BENCH_WORK/init_$role.log" >&2
			exit 2
		}
	done
	where=$(bench_psql -d bench -c "SELECT string_agg(schemaname || ':' || tableowner, ' ' ORDER BY 1)
	                                  FROM (SELECT DISTINCT schemaname, tableowner FROM pg_tables
	                                         WHERE tablename LIKE 'pgbench_%') t")
	if [ "$where" != "app:$APP bench_scratch:$AGENT" ]; then
		echo "guard: pgbench tables are not where expected: $where" >&2
		exit 2
	fi
	bench_psql -d bench -c "CHECKPOINT" || exit 2
fi

if has_part callgrind; then
	bench_say "waiting for the callgrind runs"
	wait "$CG_PID"
	BENCH_BGGROUPS=()
	bench_say "callgrind runs done ($(du -sm "$CG/pristine" | cut -f1) MB data directory copied for each): $(grep -c 's$' "$CG/queue.log") runs, $(awk '/s$/ { sub(/s$/, "", $2); t += $2 } END { print t }' "$CG/queue.log")s in all"
	for job in "${CG_QUEUE[@]}"; do
		tag=${job// /.}
		if [ ! -f "$CG/$tag.ok" ]; then
			echo "guard: callgrind run $tag failed:" >&2
			cat "$CG/queue.log" >&2
			exit 2
		fi
	done

	# --- (a) results --------------------------------------------------------------
	# cg_parse CASE CFG REP: cgparse.py output for one measurement
	cg_parse()
	{
		local n=$CG_N
		case $1 in tpcb*) n=$CG_TXNS ;; esac
		"$PYTHON" "$BENCH_DIR/cgparse.py" "$n" "$CG/$1.$2.$3.out.2" "$CG/$1.$2.$3.out.3"
	}
	cg_value() { awk -v k="$1" '$1 == k { print $2 }'; }

	declare -A IR CAT
	for case in $CG_CASES; do
		for cfg in none lib; do
			for ((r = 1; r <= CG_REPS; r++)); do
				cg_parse "$case" "$cfg" "$r" >"$CG/$case.$cfg.$r.parsed" || exit 2
				IR[$case.$cfg]+="$(cg_value IR_PER_STMT <"$CG/$case.$cfg.$r.parsed") "
				CAT[$case.$cfg]+="$(cg_value CATALOG_PER_STMT <"$CG/$case.$cfg.$r.parsed") "
			done
		done
	done

	cg_row()
	{
		local case=$1 what=$2 target=$3 a b
		read -ra a <<<"${IR[$case.none]}"
		read -ra b <<<"${IR[$case.lib]}"
		bench_row_paired "$what" "$target" a b
	}
	cg_row select "Ir/stmt non-agent SELECT 1 (callgrind)" "<=1.01"
	cg_row update "Ir/stmt agent UPDATE scratch row (callgrind)" "<=1.03"
	cg_row tpcb_app "Ir/txn non-agent TPC-B txn (callgrind)" "<=1.01"
	cg_row tpcb_agent "Ir/txn agent TPC-B txn in scratch (callgrind)" "<=1.03"

	read -r cat_none _ < <(bench_stats ${CAT[select.none]})
	read -r cat_lib _ < <(bench_stats ${CAT[select.lib]})
	if awk -v a="$cat_none" -v b="$cat_lib" 'BEGIN { exit !(a == 0 && b == 0) }'; then
		cat_ratio=1.0000
	else
		cat_ratio=$(bench_div "$cat_lib" "$cat_none")
	fi
	bench_row "catalog lookups/stmt non-agent SELECT 1" "$cat_none" "$cat_lib" "$cat_ratio" "<=1"
	probes=$(cg_value OBJ_HASH_PROBES_PER_STMT <"$CG/select.lib.1.parsed")
	bench_row "sandbox.so hash probes/stmt non-agent SELECT 1 (design: 1)" 1 "$probes" "$(bench_div "$probes" 1)" "<=1"

	{
		echo "Guard cost per statement from callgrind (steady state: (part 2 - part 3) / N;"
		echo "N = $CG_N statements, or $CG_TXNS transactions of 7 statements for TPC-B)"
		for case in $CG_CASES; do
			echo
			case $case in
				select) echo "== non-agent SELECT 1, library preloaded" ;;
				update) echo "== agent ($AGENT) UPDATE bench_scratch.one, library preloaded" ;;
				tpcb_app) echo "== non-agent ($APP) TPC-B transaction in schema app, library preloaded (per transaction)" ;;
				tpcb_agent) echo "== agent ($AGENT) TPC-B transaction in bench_scratch, library preloaded (per transaction)" ;;
			esac
			cat "$CG/$case.lib.1.parsed"
			echo "  without the library: $(grep -E '^(IR|CATALOG)_PER_STMT' "$CG/$case.none.1.parsed" | tr '\n' ' ')"
		done
	} >"$CG/breakdown.txt"
	if [ -n "$BENCH_OUT" ]; then
		cp "$CG/breakdown.txt" "$BENCH_OUT/guard-callgrind.txt"
	fi
	sed 's/^/  /' "$CG/breakdown.txt" >&2
	rm -f "$CG"/*.out.*
fi

# --- (b) pgbench, alternating restarts without / with the library ------------
# restart_as CFG: restart the cluster with (lib) or without (none) the library
restart_as()
{
	local spl
	if [ "$1" = lib ]; then
		cluster_restart "$C" "${CONF[@]}" || return 1
	else
		cluster_restart "$C" "${CONF[@]}" "$NOLIB" || return 1
	fi
	spl=$(bench_psql -d bench -c "SHOW shared_preload_libraries")
	if [ "$1" = lib ]; then
		[ "$spl" = sandbox ] || { echo "guard: expected the library preloaded, got '$spl'" >&2; return 1; }
		# the agent must really be restricted here
		if "$PGBIN/psql" -X -q -U "$AGENT" -d bench -c "CREATE TABLE app.not_allowed (a int)" >"$BENCH_WORK/refuse.out" 2>&1 ||
			! grep -q 'sandbox agent' "$BENCH_WORK/refuse.out"; then
			echo "guard: the agent was not refused by the guard:" >&2
			cat "$BENCH_WORK/refuse.out" >&2
			return 1
		fi
	else
		[ -z "$spl" ] || { echo "guard: expected no preloaded library, got '$spl'" >&2; return 1; }
	fi
	[ "$PREWARM" = 1 ] || return 0
	bench_psql -d bench -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	                         WHERE n.nspname IN ('app', 'bench_scratch') AND c.relkind IN ('r', 'i')" >/dev/null
}

if has_part pgbench; then
	WORKLOADS=("app S" "app tpcb" "agent S" "agent tpcb")
	declare -A TPS
	bench_say "pgbench: $PGB_PAIRS pairs (without, with the library) x ${#WORKLOADS[@]} workloads x ${PGB_T}s, $CLIENTS clients"
	for ((p = 1; p <= PGB_PAIRS; p++)); do
		# the workloads' order rotates from pair to pair (same in both halves)
		k=$(((p - 1) % ${#WORKLOADS[@]}))
		order=("${WORKLOADS[@]:k}" "${WORKLOADS[@]:0:k}")
		for cfg in none lib; do
			restart_as "$cfg" || exit 2
			line="  pair $p $cfg:"
			for w in "${order[@]}"; do
				read -r who script <<<"$w"
				role=$APP
				[ "$who" = agent ] && role=$AGENT
				args=(-c "$CLIENTS" -j "$CLIENTS" -T "$PGB_T" -U "$role")
				[ "$script" = S ] && args+=(-S)
				tps=$(bench_pgbench_tps "$BENCH_WORK/pgb.$who.$script.$cfg.$p.log" "${args[@]}" bench) || exit 2
				[ -n "$tps" ] || { echo "guard: no tps in pgbench output" >&2; exit 2; }
				TPS[$who.$script.$cfg]+="$tps "
				line+=" $who/$script $(printf '%.0f' "$tps")"
			done
			bench_say "$line"
		done
	done

	for w in "${WORKLOADS[@]}"; do
		read -r who script <<<"$w"
		case $who.$script in
			app.S) what="pgbench -S TPS non-agent"; target=">=0.99" ;;
			app.tpcb) what="pgbench TPC-B TPS non-agent"; target=">=0.99" ;;
			agent.S) what="pgbench -S TPS agent (scratch)"; target=">=0.97" ;;
			agent.tpcb) what="pgbench TPC-B TPS agent (scratch)"; target=">=0.97" ;;
		esac
		read -ra a <<<"${TPS[$who.$script.none]}"
		read -ra b <<<"${TPS[$who.$script.lib]}"
		bench_row_paired "$what" "$target" a b
	done
fi

bench_say "done"
exit 0
