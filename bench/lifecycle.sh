#!/usr/bin/env bash
#
# bench/lifecycle.sh -- sandbox_create / sandbox_drop latency, and what 1,000
# sandboxes in one database cost.
#
#     BENCH_MODE=quick|full bash bench/lifecycle.sh     (bench/run sets it)
#
# One throwaway cluster that preloads the library, two databases with the
# same content:
#
#   bench_1      1 sandbox (agent regress_bench_a0001)
#   bench_1000   1,000 sandboxes, one per agent role: 1,000 distinct roles
#                regress_bench_a0001 .. regress_bench_a1000 (the worst case
#                for the guard's per-backend agent cache, and a 1,000-entry
#                ACL on every production table)
#
# Both have a production schema "prod" (3 small tables) that every sandbox
# reads (read_schemas => ARRAY['prod']), and a schema "app" of pgbench tables
# owned by a plain non-agent role regress_bench_app.
#
# 1. Latency: a procedure creates sandbox lc_<batch>_<i> for agent
#    regress_bench_lc, commits, drops it, commits, timing each call with
#    clock_timestamp() around call + COMMIT (so each call is its own
#    transaction and connection setup is not counted).  Batches run
#    alternately in bench_1 and bench_1000; each session starts with two
#    untimed calls.  Quick: 5 batches of 10 per database; full: 10 of 20.
# 2. The guard with 1,000 sandboxes: pgbench -S as regress_bench_app,
#    alternately in bench_1 and bench_1000 (quick: 2 pairs of 5 s at scale 1;
#    full: 5 pairs of 20 s at scale 10).
# 3. The same, deterministic: instructions per statement of pgbench -S's
#    query (as regress_bench_app, fixed keys) in a single-user backend of
#    bench_1 and of bench_1000, library preloaded, with callgrind (see
#    bench_cg_input in benchlib.bash; N = 1,000 quick / 5,000 full).
#
# Rows: create and drop latency with 1 sandbox present (target < 50 ms,
# reported as ratio to 50 ms), create and drop latency with 1,000 vs 1
# present (target <= 2x), pgbench -S TPS with 1,000 vs 1 present (target
# >= 0.97), and its instructions per statement (target <= 1.03).

. "$(dirname "$0")/benchlib.bash"

BATCHES=$(bench_pick 5 10)
PER_BATCH=$(bench_pick 10 20)
FILLERS=1000
SCALE=$(bench_pick 1 10)
PGB_T=$(bench_pick 5 20)
PGB_PAIRS=$(bench_pick 2 5)
CLIENTS=2
CG_N=$(bench_pick 1000 5000)
CG_REPS=$(bench_pick 1 2)

APP=regress_bench_app
LC=regress_bench_lc
PYTHON=${PYTHON:-/usr/bin/python3}
DBS=(bench_1 bench_1000)

bench_workdir lifecycle
C=$BENCH_WORK/c

bench_say "starting a cluster that preloads sandbox"
cluster_start "$C" "autovacuum = off" "sandbox.reap_interval = 0" || exit 2

bench_say "creating $FILLERS agent roles"
bench_psql -d postgres <<EOF || exit 2
CREATE ROLE $APP LOGIN;
CREATE ROLE $LC;
BEGIN;
SELECT pg_catalog.format('CREATE ROLE regress_bench_a%s', pg_catalog.lpad(i::text, 4, '0'))
  FROM pg_catalog.generate_series(1, $FILLERS) i \gexec
COMMIT;
EOF

for db in "${DBS[@]}"; do
	bench_psql -d postgres -c "CREATE DATABASE $db" || exit 2
	bench_psql -d "$db" <<EOF || exit 2
CREATE EXTENSION sandbox;
CREATE SCHEMA prod;
CREATE TABLE prod.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE prod.products (id int PRIMARY KEY, name text NOT NULL, price numeric NOT NULL);
CREATE TABLE prod.orders (id int PRIMARY KEY, customer int NOT NULL REFERENCES prod.customers,
                          product int NOT NULL REFERENCES prod.products, qty int NOT NULL);
INSERT INTO prod.customers SELECT i, 'customer ' || i FROM generate_series(1, 100) i;
INSERT INTO prod.products SELECT i, 'product ' || i, i FROM generate_series(1, 100) i;
INSERT INTO prod.orders SELECT i, 1 + i % 100, 1 + i % 97, 1 FROM generate_series(1, 1000) i;
CREATE SCHEMA app AUTHORIZATION $APP;
ALTER ROLE $APP IN DATABASE $db SET search_path = app;

CREATE TABLE public.bench_lc_times (tag text, i int, create_ms float8, drop_ms float8);
CREATE PROCEDURE public.bench_lc(n int, tag text)
LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz;
	t1 timestamptz;
	t2 timestamptz;
	nm text;
BEGIN
	FOR i IN 1..n LOOP
		nm := format('lc_%s_%s', tag, i);
		t0 := clock_timestamp();
		PERFORM sandbox_create(nm, '$LC', ARRAY['prod']);
		COMMIT;
		t1 := clock_timestamp();
		PERFORM sandbox_drop(nm);
		COMMIT;
		t2 := clock_timestamp();
		INSERT INTO public.bench_lc_times
		VALUES (tag, i, 1000 * extract(epoch FROM t1 - t0)::float8,
				1000 * extract(epoch FROM t2 - t1)::float8);
		COMMIT;
	END LOOP;
END
\$\$;
EOF
done

fill()
{
	local db=$1 n=$2 i
	for ((i = 1; i <= n; i++)); do
		printf "SELECT 1 FROM sandbox_create('sb_%04d', 'regress_bench_a%04d', ARRAY['prod']);\n" "$i" "$i"
	done >"$BENCH_WORK/fill_$db.sql"
	bench_psql -d "$db" -f "$BENCH_WORK/fill_$db.sql" >/dev/null
}

bench_say "bench_1: 1 sandbox"
fill bench_1 1 || exit 2
bench_say "bench_1000: $FILLERS sandboxes, one per agent role"
t0=$(date +%s.%N)
fill bench_1000 "$FILLERS" || exit 2
t1=$(date +%s.%N)
n=$(bench_psql -d bench_1000 -c "SELECT count(*) FROM sandbox.sandboxes")
if [ "$n" != "$FILLERS" ]; then
	echo "lifecycle: expected $FILLERS sandboxes in bench_1000, found $n" >&2
	exit 2
fi
bench_note "lifecycle: creating $FILLERS sandboxes (one per role, each reading prod) one after another took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }')"

bench_say "pgbench -i -s $SCALE as $APP in both databases"
for db in "${DBS[@]}"; do
	"$PGBIN/pgbench" -i -q -s "$SCALE" -U "$APP" "$db" >"$BENCH_WORK/init_$db.log" 2>&1 || {
		cat "$BENCH_WORK/init_$db.log" >&2
		exit 2
	}
	bench_psql -d "$db" -c "VACUUM ANALYZE" || exit 2
done

# --- 1. create / drop latency, alternating databases ------------------------
bench_say "create/drop latency: $BATCHES batches of $PER_BATCH per database, alternating"
for db in "${DBS[@]}"; do
	bench_psql -d "$db" -c "CALL public.bench_lc(2, 'w')" || exit 2
done
for ((b = 1; b <= BATCHES; b++)); do
	for db in "${DBS[@]}"; do
		bench_psql -d "$db" -c "CALL public.bench_lc(2, 'w$b')" -c "CALL public.bench_lc($PER_BATCH, 'b$b')" || exit 2
	done
done

# lc_stats DB COLUMN: "median min max" over all timed calls
lc_stats()
{
	bench_psql -d "$1" -F ' ' -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY $2)::numeric, 2),
	                                  round(min($2)::numeric, 2), round(max($2)::numeric, 2)
	                             FROM public.bench_lc_times WHERE tag LIKE 'b%'"
}
# lc_batch_medians DB COLUMN: one median per batch, in batch order
lc_batch_medians()
{
	bench_psql -d "$1" -c "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY $2)
	                         FROM public.bench_lc_times WHERE tag LIKE 'b%'
	                        GROUP BY tag ORDER BY substr(tag, 2)::int"
}

for what in create drop; do
	read -r m1 lo1 hi1 < <(lc_stats bench_1 "${what}_ms")
	read -r m1000 lo1000 hi1000 < <(lc_stats bench_1000 "${what}_ms")
	mapfile -t b1 < <(lc_batch_medians bench_1 "${what}_ms")
	mapfile -t b1000 < <(lc_batch_medians bench_1000 "${what}_ms")
	ratios=()
	for i in "${!b1[@]}"; do
		ratios+=("$(bench_div "${b1000[$i]}" "${b1[$i]}")")
	done
	read -r _ rlo rhi < <(bench_stats "${ratios[@]}")
	n=$(bench_psql -d bench_1 -c "SELECT count(*) FROM public.bench_lc_times WHERE tag LIKE 'b%'")
	bench_row "sandbox_${what} ms (1 present; n=$n)" 50 "$m1" "$(bench_div "$m1" 50)" "<1" \
		50 50 "$lo1" "$hi1" "$(bench_div "$lo1" 50)" "$(bench_div "$hi1" 50)"
	bench_row "sandbox_${what} ms, 1000 vs 1 present" "$m1" "$m1000" "$(bench_div "$m1000" "$m1")" "<=2" \
		"$lo1" "$hi1" "$lo1000" "$hi1000" "$rlo" "$rhi"
done

# --- 2. pgbench -S as a non-agent, 1 vs 1,000 sandboxes ---------------------
bench_say "pgbench -S as $APP: $PGB_PAIRS pairs of ${PGB_T}s, bench_1 / bench_1000 alternating"
for db in "${DBS[@]}"; do
	bench_pgbench_tps "$BENCH_WORK/warm_$db.log" -n -S -c "$CLIENTS" -j "$CLIENTS" -T 2 -U "$APP" "$db" >/dev/null || exit 2
done
tps1=()
tps1000=()
for ((p = 1; p <= PGB_PAIRS; p++)); do
	a=$(bench_pgbench_tps "$BENCH_WORK/pgb_1_$p.log" -n -S -c "$CLIENTS" -j "$CLIENTS" -T "$PGB_T" -U "$APP" bench_1) || exit 2
	b=$(bench_pgbench_tps "$BENCH_WORK/pgb_1000_$p.log" -n -S -c "$CLIENTS" -j "$CLIENTS" -T "$PGB_T" -U "$APP" bench_1000) || exit 2
	bench_say "  pair $p: bench_1 $(printf %.0f "$a") tps, bench_1000 $(printf %.0f "$b") tps"
	tps1+=("$a")
	tps1000+=("$b")
done
bench_row_paired "pgbench -S TPS non-agent, 1000 vs 1 sandboxes" ">=0.97" tps1 tps1000

# --- 3. the same query, instructions per statement (callgrind) ----------------
if command -v valgrind >/dev/null 2>&1; then
	bench_say "callgrind: pgbench -S's query as $APP in single-user bench_1 / bench_1000 (N=$CG_N)"
	cluster_stop "$C"
	gen_aid()
	{
		awk -v f="$1" -v n="$2" -v rows=$((100000 * SCALE)) 'BEGIN {
			for (i = f; i < f + n; i++)
				printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", (i * 7919) % rows + 1
		}'
	}
	bench_cg_input "$BENCH_WORK/select.in" "SET SESSION AUTHORIZATION $APP;
SET search_path = app;" gen_aid 20 "$CG_N"
	ir1=()
	ir1000=()
	for ((r = 1; r <= CG_REPS; r++)); do
		for db in "${DBS[@]}"; do
			bench_cg_run "$C/data" "$db" sandbox "$BENCH_WORK/select.in" "$BENCH_WORK/cg.$db.$r.out" || exit 2
		done
		a=$("$PYTHON" "$BENCH_DIR/cgparse.py" "$CG_N" "$BENCH_WORK/cg.bench_1.$r.out.2" "$BENCH_WORK/cg.bench_1.$r.out.3" |
			awk '$1 == "IR_PER_STMT" { print $2 }')
		b=$("$PYTHON" "$BENCH_DIR/cgparse.py" "$CG_N" "$BENCH_WORK/cg.bench_1000.$r.out.2" "$BENCH_WORK/cg.bench_1000.$r.out.3" |
			awk '$1 == "IR_PER_STMT" { print $2 }')
		[ -n "$a" ] && [ -n "$b" ] || exit 2
		ir1+=("$a")
		ir1000+=("$b")
	done
	bench_row_paired "Ir/stmt non-agent pgbench -S query, 1000 vs 1 sandboxes (callgrind)" "<=1.03" ir1 ir1000
else
	bench_note "lifecycle: valgrind is missing; no instruction count for 1000 vs 1 sandboxes"
fi

bench_say "done"
exit 0
