#!/usr/bin/env bash
# bench/promotion.sh -- promotion speed (DESIGN 8).
#
# create / replace: the time of sandbox_promote for a 10k-row and a 1M-row
#   table (300k in quick mode); a metadata-only move must not grow with the row count
#   (ratio = time(1M) / time(10k), target <= 2).
# append / upsert: sandbox_promote of 1M rows (300k quick) against the hand-written
#   INSERT ... SELECT / INSERT ... ON CONFLICT of the same rows into an
#   identical table, alternating, medians (ratio = hand time / promote
#   time, i.e. relative speed, target >= 0.9).
# Times are taken inside the server (clock_timestamp around the call), so
# connection set-up is not counted.  Everything runs as the superuser,
# which the default approval policy lets approve requests it did not make.
. "$(dirname "$0")/benchlib.bash"

# quick mode keeps the whole bench/run under five minutes: fewer, smaller rounds
BIG=$(bench_pick 300000 1000000)
SMALL=10000
ROUNDS=$(bench_pick 2 5)

bench_workdir promotion
C=$BENCH_WORK/c
bench_say "starting a cluster that preloads sandbox"
cluster_start "$C" "autovacuum = off" "sandbox.reap_interval = 0" "shared_buffers = 512MB" \
	"max_wal_size = 4GB" "checkpoint_timeout = 30min" >/dev/null || exit 2

bench_psql -d postgres >/dev/null <<'SQL' || exit 2
CREATE ROLE regress_bench_agent LOGIN;
CREATE EXTENSION sandbox;
CREATE SCHEMA prod;
SELECT sandbox_create('work', 'regress_bench_agent', ARRAY['prod']) IS NOT NULL;
/* ms spent in one statement, measured in the server */
CREATE FUNCTION bench_ms(sql text) RETURNS float8 LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE sql;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $f$;
SQL

# make_scratch NAME ROWS [FIRST_ID]: an agent-owned scratch table with a primary key
make_scratch()
{
	bench_psql -d postgres >/dev/null <<SQL
SET SESSION AUTHORIZATION regress_bench_agent;
CREATE TABLE work.$1 AS SELECT g::bigint AS id, md5(g::text) AS v, g % 97 AS k
  FROM generate_series(${3:-1}, ${3:-1} + $2 - 1) g;
ALTER TABLE work.$1 ADD PRIMARY KEY (id);
SQL
}

# request NAME TARGET MODE: request and approve; prints the promotion id
request()
{
	bench_psql -d postgres <<SQL | tail -n 1
SET SESSION AUTHORIZATION regress_bench_agent;
SELECT sandbox_request_promotion('work.$1', '$2', '$3') AS id \gset
RESET SESSION AUTHORIZATION;
SELECT sandbox_approve(:id);
SELECT :id;
SQL
}

promote_ms()
{
	bench_psql -d postgres -c "SELECT bench_ms('SELECT sandbox_promote($1)')"
}

# --- create and replace: metadata only ---------------------------------------
for mode in create replace; do
	small=() big=()
	for r in $(seq 1 "$ROUNDS"); do
		for n in $SMALL $BIG; do
			name=t_${mode}_${n}_$r
			target=prod.${mode}_${n}
			bench_psql -d postgres -c "DROP TABLE IF EXISTS $target" >/dev/null || exit 2
			if [ "$mode" = replace ]; then
				bench_psql -d postgres -c "CREATE TABLE $target (id bigint PRIMARY KEY, v text, k int)" \
					-c "INSERT INTO $target SELECT g, 'old', 0 FROM generate_series(1, 1000) g" >/dev/null || exit 2
			fi
			make_scratch "$name" "$n" || exit 2
			id=$(request "$name" "$target" "$mode") || exit 2
			ms=$(promote_ms "$id") || exit 2
			if [ "$n" = "$SMALL" ]; then small+=("$ms"); else big+=("$ms"); fi
		done
	done
	read -r sm smin smax <<<"$(bench_stats "${small[@]}")"
	read -r bg bmin bmax <<<"$(bench_stats "${big[@]}")"
	bench_say "$mode: $SMALL rows ${sm} ms, $BIG rows ${bg} ms"
	bench_row "promotion $mode ms, ${SMALL} vs ${BIG} rows" "$sm" "$bg" "$(bench_div "$bg" "$sm")" "<=2" \
		"$smin" "$smax" "$bmin" "$bmax"
done

# --- append and upsert: against the hand-written statement -------------------
for mode in append upsert; do
	hand=() prom=()
	for r in $(seq 1 "$ROUNDS"); do
		# identical targets; for upsert half the keys exist already
		for t in prod.${mode}_hand prod.${mode}_prom; do
			bench_psql -d postgres -c "DROP TABLE IF EXISTS $t" \
				-c "CREATE TABLE $t (id bigint PRIMARY KEY, v text, k int)" \
				-c "INSERT INTO $t SELECT g, 'old', 0 FROM generate_series($((BIG / 2 + 1)), $((BIG + BIG / 2))) g" \
				-c "VACUUM ANALYZE $t" >/dev/null || exit 2
		done
		first=1
		[ "$mode" = append ] && first=$((BIG * 2))
		make_scratch "h_${mode}_$r" "$BIG" "$first" || exit 2
		make_scratch "p_${mode}_$r" "$BIG" "$first" || exit 2
		id=$(request "p_${mode}_$r" "prod.${mode}_prom" "$mode") || exit 2
		if [ "$mode" = append ]; then
			sql="INSERT INTO prod.append_hand (id, v, k) SELECT id, v, k FROM work.h_append_$r"
		else
			sql="INSERT INTO prod.upsert_hand AS t (id, v, k) SELECT id, v, k FROM work.h_upsert_$r ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, k = EXCLUDED.k"
		fi
		bench_psql -d postgres -c "CHECKPOINT" >/dev/null
		if [ $((r % 2)) = 1 ]; then
			hand+=("$(bench_psql -d postgres -c "SELECT bench_ms(\$q\$$sql\$q\$)")") || exit 2
			bench_psql -d postgres -c "CHECKPOINT" >/dev/null
			prom+=("$(promote_ms "$id")") || exit 2
		else
			prom+=("$(promote_ms "$id")") || exit 2
			bench_psql -d postgres -c "CHECKPOINT" >/dev/null
			hand+=("$(bench_psql -d postgres -c "SELECT bench_ms(\$q\$$sql\$q\$)")") || exit 2
		fi
	done
	read -r hm hmin hmax <<<"$(bench_stats "${hand[@]}")"
	read -r pm pmin pmax <<<"$(bench_stats "${prom[@]}")"
	bench_say "$mode: hand-written ${hm} ms, sandbox_promote ${pm} ms"
	bench_row "promotion $mode ${BIG} rows ms, hand-written vs promote (speed)" "$hm" "$pm" \
		"$(bench_div "$hm" "$pm")" ">=0.9" "$hmin" "$hmax" "$pmin" "$pmax"
done
bench_note "promotion: append and upsert lock the target against other writers, count its rows afterwards, and upsert keeps the pre-images of the rows it updates (then updates them and inserts the rest), so that sandbox_revert can undo them and detect later changes"
