#!/usr/bin/env bash
#
# bench/clone.sh -- sandbox_clone and sandbox_synthesize against the
# hand-written SQL they stand for (DESIGN.md §8).
#
#     BENCH_MODE=quick|full bash bench/clone.sh     (bench/run sets it)
#
# One throwaway cluster that preloads the library, with a production table
# prod.orders of N rows (quick: 200,000; full: 1,000,000; BENCH_CLONE_ROWS
# overrides): a bigint primary key, a unique text column, a plain index,
# NOT NULL and CHECK constraints, a 30%-null text column.  Statistics are
# fresh (VACUUM ANALYZE).  The sandbox functions run as the sandbox's agent.
#
# 1. sandbox_clone of all N rows, against CREATE TABLE AS of the same rows
#    plus the same three index builds (no constraints: the hand-written
#    baseline does less).  Row: speed relative to the baseline (baseline
#    time / sandbox_clone time), target >= 0.90.
# 2. sandbox_synthesize of N rows, against INSERT ... SELECT FROM
#    generate_series of the same shape (random() per column, md5() text)
#    into a table with the same columns and constraints, plus the same
#    three index builds.  Row: time relative to the baseline, target <= 2.
#
# Each measurement is one transaction timed inside the server
# (clock_timestamp() in a DO block), so connection and commit are not
# counted; the created table is dropped and a CHECKPOINT taken after each.
# Baseline and candidate alternate (A B A B ...); quick: 2 pairs, full: 3.
# Values are medians in ms; the ratio's spread is over the pairs.

. "$(dirname "$0")/benchlib.bash"

ROWS=${BENCH_CLONE_ROWS:-$(bench_pick 200000 1000000)}
PAIRS=$(bench_pick 2 3)
AGENT=regress_bench_clone_agent
LABEL=$(awk -v n="$ROWS" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }')

bench_workdir clone
C=$BENCH_WORK/c

bench_say "starting a cluster that preloads sandbox"
cluster_start "$C" "autovacuum = off" "sandbox.reap_interval = 0" "max_wal_size = 4GB" || exit 2

bench_say "making prod.orders with $ROWS rows"
bench_psql -d postgres <<EOF >/dev/null || exit 2
CREATE EXTENSION sandbox;
CREATE SCHEMA prod;
CREATE TABLE prod.orders (
	id bigint PRIMARY KEY,
	customer_id integer NOT NULL,
	status text NOT NULL CHECK (status <> ''),
	amount numeric(10,2) NOT NULL CHECK (amount >= 0),
	created_at timestamptz NOT NULL,
	email text UNIQUE,
	note text
);
CREATE INDEX orders_customer ON prod.orders (customer_id);
SELECT setseed(0.25);
INSERT INTO prod.orders
SELECT g, 1 + (random() * 50000)::int,
       (ARRAY['placed', 'shipped', 'completed', 'returned', 'return_pending'])[1 + (random() * 4)::int],
       round((random() * 1000)::numeric, 2),
       timestamptz '2023-01-01' + random() * interval '700 days',
       'user' || g || '@example.com',
       CASE WHEN random() < 0.3 THEN NULL ELSE md5(g::text) END
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE prod.orders;
CREATE SCHEMA base;
CREATE ROLE $AGENT;
SELECT sandbox_name FROM sandbox_create('bench_sb', '$AGENT', ARRAY['prod']);
EOF

# time_ms SQL...: run the statements in one DO block, print its duration in ms
time_ms()
{
	local out
	out=$(bench_psql -d postgres 2>&1 <<EOF
SET client_min_messages = notice;
$1
DO \$bench\$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	$2
	RAISE NOTICE 'bench_ms=%', round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
END
\$bench\$;
EOF
	) || {
		echo "bench/clone.sh: statement failed: $out" >&2
		return 1
	}
	sed -n 's/.*bench_ms=\([0-9.]*\).*/\1/p' <<<"$out" | tail -n 1
}

reset_tables()
{
	bench_psql -d postgres <<EOF >/dev/null || return 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS base.copy, base.made, bench_sb.orders;
CHECKPOINT;
EOF
}

CTAS="CREATE TABLE base.copy AS SELECT * FROM prod.orders;
	CREATE UNIQUE INDEX ON base.copy (id);
	CREATE UNIQUE INDEX ON base.copy (email);
	CREATE INDEX ON base.copy (customer_id);"
CLONE="PERFORM sandbox_clone('bench_sb', 'prod.orders');"
GEN="CREATE TABLE base.made (LIKE prod.orders INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
	INSERT INTO base.made
	SELECT g, 1 + (random() * 50000)::int,
	       (ARRAY['placed', 'shipped', 'completed', 'returned', 'return_pending'])[1 + (random() * 4)::int],
	       round((random() * 1000)::numeric, 2),
	       timestamptz '2023-01-01' + random() * interval '700 days',
	       'user' || g || '@example.com',
	       CASE WHEN random() < 0.3 THEN NULL ELSE md5(g::text) END
	  FROM generate_series(1, $ROWS) g;
	CREATE UNIQUE INDEX ON base.made (id);
	CREATE UNIQUE INDEX ON base.made (email);
	CREATE INDEX ON base.made (customer_id);"
SYNTH="PERFORM sandbox_synthesize('bench_sb', 'prod.orders', $ROWS);"
AS_AGENT="SET SESSION AUTHORIZATION $AGENT;"

# measure ARRAY SETUP STATEMENTS WHAT: time STATEMENTS (after SETUP) once in
# pair i, add the ms to ARRAY, and drop what they made (exit status 1 when
# they failed, 2 when the clean-up did)
measure()
{
	local -n into=$1
	local t
	bench_say "pair $i/$PAIRS: $4"
	t=$(time_ms "$2" "$3") && [ -n "$t" ] || return 1
	into+=("$t")
	reset_tables || return 2
	bench_say "pair $i/$PAIRS: $t ms for $4"
}

# alternate baseline and candidate; times in ms
declare -a b_clone=() s_clone=() b_synth=() s_synth=()
reset_tables || exit 2
for ((i = 1; i <= PAIRS; i++)); do
	measure b_clone "" "$CTAS" "CREATE TABLE AS + indexes" || exit
	measure s_clone "$AS_AGENT" "$CLONE" "sandbox_clone" || exit
	measure b_synth "" "$GEN" "INSERT ... generate_series + indexes" || exit
	measure s_synth "$AS_AGENT" "$SYNTH" "sandbox_synthesize" || exit
done

# report WHAT TARGET HOW BASE_ARRAY SANDBOX_ARRAY: a ROW line; HOW is speed
# (ratio baseline/sandbox per pair) or time (sandbox/baseline per pair)
report()
{
	local what=$1 target=$2 how=$3
	local -n bs=$4 ss=$5
	local ratios=() k r
	for ((k = 0; k < ${#bs[@]}; k++)); do
		if [ "$how" = speed ]; then
			r=$(bench_div "${bs[k]}" "${ss[k]}")
		else
			r=$(bench_div "${ss[k]}" "${bs[k]}")
		fi
		ratios+=("$r")
	done
	read -r bmed bmin bmax <<<"$(bench_stats "${bs[@]}")"
	read -r smed smin smax <<<"$(bench_stats "${ss[@]}")"
	read -r rmed rmin rmax <<<"$(bench_stats "${ratios[@]}")"
	bench_row "$what" "$bmed" "$smed" "$rmed" "$target" "$bmin" "$bmax" "$smin" "$smax" "$rmin" "$rmax"
}

report "sandbox_clone $LABEL rows: speed vs CREATE TABLE AS + index builds (ms)" ">=0.90" speed b_clone s_clone
report "sandbox_synthesize $LABEL rows: time vs INSERT generate_series + index builds (ms)" "<=2" time b_synth s_synth
bench_note "clone.sh: $LABEL-row table with 3 btree indexes, NOT NULL and CHECK constraints; the CREATE TABLE AS baseline adds no constraints, sandbox_clone adds them all (one extra scan)"
exit 0
