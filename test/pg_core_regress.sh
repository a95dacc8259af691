#!/usr/bin/env bash
#
# test/pg_core_regress.sh -- PostgreSQL's own regression suite passes
# identically with the sandbox library preloaded and without it.
#
#     bash test/pg_core_regress.sh            (as root; test/run-all runs it)
#
# It takes the core suite (src/test/regress, parallel_schedule) from Debian's
# postgresql-15 source package, builds only what the suite needs (pg_regress,
# regress.so, refint.so, autoinc.so) and runs it against throwaway clusters of
# the installed server:
#
#   plain      shared_preload_libraries = '' (the reference)
#   preloaded  shared_preload_libraries = 'sandbox': the issue's requirement
#   agent      preloaded, and the regression database made beforehand (as
#              pg_regress makes it, then --use-existing) with CREATE EXTENSION
#              sandbox and one sandbox whose agent reads a production schema,
#              so that the guard has an agent to look for in every check
#
# (SANDBOX_CORE_MODES=extension runs a fourth kind: preloaded, with only
# CREATE EXTENSION through pg_regress --load-extension; "agent" covers it.)
#
# The suite runs as the cluster's bootstrap superuser, which is not an agent:
# the guard must stay out of its way entirely.
#
# The source package's minor version may lag the server's, so some tests may
# differ from their expected output in every run; that is not this script's
# business. What must hold: the same tests fail in every run and every
# results/*.out is byte-identical to the plain run's, with one exception in
# runs where the extension exists: catalog-wide checks (opr_sanity) list the
# extension's own functions. Rows whose OID belongs to the extension are
# tolerated there and printed as notes (see extension_rows_only); everything
# else counts. Prints one TAP line per compared run; exits non-zero on any
# difference.
#
# Not compared, on purpose: PostgreSQL's own TAP suites and contrib; the
# isolation suite (it is timing-sensitive by design).
#
# The source and the build are cached outside the repository, in
# $SANDBOX_PGSRC_CACHE (default /var/cache/sandbox-test/pgsrc); the first run
# downloads ("apt-get source", enabling deb-src when needed) and builds, later
# runs reuse both. When $SANDBOX_PGSRC_LOCAL (default /work/pgsrc) holds an
# unpacked postgresql-15-* tree, it is copied instead of downloaded.
#
# Environment (from test/run-all, all optional): PG_CONFIG, PGBIN, PGUSER_OS,
# TMPDIR_TEST; SANDBOX_CORE_MODES (default "plain preloaded agent") picks
# the runs, the first one being the reference. SANDBOX_PG_SOURCE_TREE: a
# configured and built source tree of the server's exact version (from
# test/cassert/run), used instead of the cache; without it a server other
# than PostgreSQL 15 is skipped.
#
# Timing on 2 cores: each run of the suite takes 1-2 minutes (one test at a
# time, see run_suite), so a warm run takes 4-7 minutes; a cold one adds about
# 15 s of download and 45 s of build (configure, then make -j2 in
# src/test/regress only).

set -euo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE=${SANDBOX_PGSRC_CACHE:-/var/cache/sandbox-test/pgsrc}
LOCAL_SRC=${SANDBOX_PGSRC_LOCAL-/work/pgsrc}
MODES=${SANDBOX_CORE_MODES:-plain preloaded agent}
# configure only needs a C compiler this way: no readline, zlib or ICU headers,
# and the release tarball ships the bison/flex outputs.
CONFIGURE_FLAGS="--without-readline --without-zlib --without-icu --without-llvm"

say()
{
	printf '# %s\n' "$*"
}

bail()
{
	printf 'not ok - core regression suite: %s\n' "$*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || bail "run me as root (I install packages and start servers as $PGUSER_OS)"

WORK=""
OWN_WORK=""
CLUSTERS=()
cleanup()
{
	local c
	for c in "${CLUSTERS[@]}"; do
		cluster_stop "$c"
	done
	if [ -n "$OWN_WORK" ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$OWN_WORK"
	fi
}
trap cleanup EXIT

need_packages()
{
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# enable_deb_src: make apt know the source packages of its configured suites.
enable_deb_src()
{
	local f changed=0 src_lines
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		if grep -qE '^Types:[[:space:]]*deb[[:space:]]*$' "$f"; then
			sed -i -E 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb deb-src/' "$f"
			changed=1
		fi
	done
	if [ -f /etc/apt/sources.list ] && ! grep -qE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list &&
		grep -qE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
		src_lines=$(sed -n -E 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' /etc/apt/sources.list)
		printf '%s\n' "$src_lines" >>/etc/apt/sources.list
		changed=1
	fi
	[ "$changed" -eq 0 ] || say "enabled deb-src in the apt sources"
}

# download_source DIR: unpack postgresql-15's Debian source into DIR. The
# newest version apt lists is sometimes missing on the mirror, so try them all,
# the installed server's version first, then newest to oldest.
download_source()
{
	local dir=$1 v server versions
	enable_deb_src
	say "apt-get update"
	apt-get update -qq >/dev/null
	server=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)
	versions=$(apt-cache showsrc postgresql-15 2>/dev/null | awk '/^Version:/{print $2}' | sort -Vru)
	[ -n "$versions" ] || return 1
	if [ -n "$server" ] && printf '%s\n' "$versions" | grep -qxF "$server"; then
		versions=$(printf '%s\n%s\n' "$server" "$versions" | awk '!seen[$0]++')
	fi
	mkdir -p "$dir"
	for v in $versions; do
		say "apt-get source postgresql-15=$v"
		if (cd "$dir" && apt-get source -qq "postgresql-15=$v" >"$dir/apt-source.log" 2>&1); then
			return 0
		fi
		say "  failed: $({ grep -E '^E:' "$dir/apt-source.log" || cat "$dir/apt-source.log"; } | head -n 1)"
		rm -rf "$dir"/postgresql-15-* "$dir"/postgresql-15_*
	done
	return 1
}

# find_tree DIR: print the newest unpacked postgresql-15-* source tree in DIR.
find_tree()
{
	local d
	for d in $(find "$1" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-15-*' 2>/dev/null | sort -Vr); do
		if [ -f "$d/configure" ] && [ -f "$d/src/test/regress/parallel_schedule" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	return 1
}

# prepare_source: set SRC to a configured tree with pg_regress and regress.so
# built, fetching and building what the cache lacks. Serialised by a lock, as
# other runs may share the cache.
prepare_source()
{
	local t0 local_tree
	need_packages build-essential dpkg-dev xz-utils bzip2 || return 1
	mkdir -p "$CACHE"
	chmod 755 "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9

	if ! SRC=$(find_tree "$CACHE/src"); then
		t0=$SECONDS
		rm -rf "$CACHE/src.tmp"
		if [ -n "$LOCAL_SRC" ] && local_tree=$(find_tree "$LOCAL_SRC"); then
			say "copying $local_tree into $CACHE/src"
			mkdir -p "$CACHE/src.tmp"
			cp -a "$local_tree" "$CACHE/src.tmp/"
		else
			download_source "$CACHE/src.tmp" || {
				flock -u 9
				return 1
			}
		fi
		rm -rf "$CACHE/src"
		mv "$CACHE/src.tmp" "$CACHE/src"
		SRC=$(find_tree "$CACHE/src") || return 1
		say "source ready in $((SECONDS - t0)) s: $SRC"
	fi

	if [ ! -f "$SRC/.sandbox-built" ] || [ "$(cat "$SRC/.sandbox-built")" != "$CONFIGURE_FLAGS" ]; then
		t0=$SECONDS
		rm -f "$SRC/.sandbox-built"
		say "configure $CONFIGURE_FLAGS (log: $SRC/sandbox-build.log)"
		# shellcheck disable=SC2086
		if ! (cd "$SRC" && ./configure -q $CONFIGURE_FLAGS >"$SRC/sandbox-build.log" 2>&1 &&
			make -s -j2 -C src/test/regress >>"$SRC/sandbox-build.log" 2>&1); then
			tail -n 30 "$SRC/sandbox-build.log" | sed 's/^/#   /'
			flock -u 9
			return 1
		fi
		printf '%s\n' "$CONFIGURE_FLAGS" >"$SRC/.sandbox-built"
		say "built pg_regress and regress.so in $((SECONDS - t0)) s"
	fi
	# The server (running as $PGUSER_OS) loads regress.so and reads data files
	# from the tree.
	chmod -R a+rX "$CACHE"
	flock -u 9
}

# setup_agent_db: create the regression database as pg_regress would, with
# the extension and one sandbox in it: its agent has a scratch schema and
# reads a production schema. pg_regress then runs with --use-existing. No
# read access to "public" on purpose: its default privileges would change the
# ACLs the suite prints.
setup_agent_db()
{
	cluster_psql -d postgres <<-'EOF'
		CREATE DATABASE regression TEMPLATE = template0;
		ALTER DATABASE regression SET lc_messages TO 'C';
		ALTER DATABASE regression SET lc_monetary TO 'C';
		ALTER DATABASE regression SET lc_numeric TO 'C';
		ALTER DATABASE regression SET lc_time TO 'C';
		ALTER DATABASE regression SET bytea_output TO 'hex';
		ALTER DATABASE regression SET timezone_abbreviations TO 'Default';
		CREATE ROLE sandbox_core_agent LOGIN;
	EOF
	cluster_psql -d regression <<-'EOF'
		CREATE EXTENSION sandbox;
		CREATE SCHEMA sandbox_core_prod;
		CREATE TABLE sandbox_core_prod.t (id int PRIMARY KEY);
		INSERT INTO sandbox_core_prod.t VALUES (1);
		SELECT 1 FROM sandbox_create('sandbox_core_scratch', 'sandbox_core_agent',
									 ARRAY['sandbox_core_prod']);
		-- a privilege the guard must override
		GRANT INSERT ON sandbox_core_prod.t TO sandbox_core_agent;
	EOF
	# the agent is restricted: its write outside scratch is refused by the
	# guard although a GRANT allows it
	if cluster_psql -d regression -U sandbox_core_agent \
			-c 'INSERT INTO sandbox_core_prod.t VALUES (2)'; then
		echo "the agent could write to sandbox_core_prod.t: the guard is not active"
		return 1
	fi
	cluster_psql -d regression -U sandbox_core_agent \
		-c 'CREATE TABLE sandbox_core_scratch.mine AS SELECT * FROM sandbox_core_prod.t'
}

# run_suite MODE: start a cluster for MODE and run the core suite against it;
# results in $WORK/MODE/out.
#
# --max-connections=1 as in "make installcheck": one test at a time, so that
# timing cannot make runs differ.
run_suite()
{
	local mode=$1 dir="$WORK/$1" rc=0 t0=$SECONDS
	local -a conf=() opts=()
	case $mode in
		plain) conf=("shared_preload_libraries = ''") ;;
		preloaded) conf=("shared_preload_libraries = 'sandbox'") ;;
		extension)
			conf=("shared_preload_libraries = 'sandbox'")
			opts=(--load-extension=sandbox)
			;;
		agent)
			conf=("shared_preload_libraries = 'sandbox'")
			opts=(--use-existing)
			;;
		*) bail "unknown mode $mode in SANDBOX_CORE_MODES" ;;
	esac
	mkdir -p "$dir/out"
	chown -R "$PGUSER_OS": "$dir"
	cluster_start "$dir/cluster" "${conf[@]}" || return 1
	CLUSTERS+=("$dir/cluster")
	if [ "$mode" = agent ]; then
		setup_agent_db >"$dir/setup.log" 2>&1 || {
			cat "$dir/setup.log" >&2
			return 1
		}
	fi
	# pg_regress runs as the server's OS user, which owns the output
	# directory (in PostgreSQL 15 the tablespace test uses in-place
	# tablespaces: no directory to prepare).
	(cd "$dir" && runuser -u "$PGUSER_OS" -- \
		"$SRC/src/test/regress/pg_regress" \
		--inputdir="$SRC/src/test/regress" \
		--outputdir="$dir/out" \
		--bindir="$PGBIN" \
		--dlpath="$SRC/src/test/regress" \
		--schedule="$SRC/src/test/regress/parallel_schedule" \
		--max-connections=1 \
		--max-concurrent-tests=20 \
		--host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
		"${opts[@]}" >"$dir/pg_regress.log" 2>&1) || rc=$?
	# OIDs of the extension's own objects, for extension_rows_only
	cluster_psql -d regression -At -c "
		SELECT objid FROM pg_depend
		 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'sandbox')" \
		>"$dir/ext_oids" 2>/dev/null || : >"$dir/ext_oids"
	cluster_stop "$dir/cluster"
	say "$mode: pg_regress exited with $rc after $((SECONDS - t0)) s ($(grep -cE '\.\.\. (ok|FAILED|failed)|^(not )?ok +[0-9]+ +[-+] ' "$dir/pg_regress.log" || true) tests, log $dir/pg_regress.log)"
	# A run that never got to the tests (cannot connect, cannot create the
	# database or the extension) is a failure of its own.
	[ -d "$dir/out/results" ] || return 1
	return 0
}

# test_statuses MODE: "name status" for every test of MODE's run, sorted.
test_statuses()
{
	# PostgreSQL 15's format, then the TAP lines of 16 and later
	sed -n -E -e 's/^(test[[:space:]]+|[[:space:]]+)([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed \(ignored\)|failed).*/\2 \3/p' \
		-e 's/^ok[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]]+([^[:space:]]+).*/\1 ok/p' \
		-e 's/^not ok[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]]+([^[:space:]]+).*/\1 FAILED/p' \
		"$WORK/$1/pg_regress.log" | sort
}

# extension_rows_only REF_OUT MODE_OUT OIDS: succeed when the only difference
# between two results files is extra rows that list objects of the extension
# (their first column an OID in the file OIDS) plus the result-set headers,
# separators and row counts that change with them, and print those rows.
# That is how catalog-wide checks such as opr_sanity's "SECURITY DEFINER
# functions" see an installed extension: content, not behaviour. Anything
# else, a removed row included, is a real difference.
extension_rows_only()
{
	[ -s "$3" ] || return 1
	{ diff -U0 "$1" "$2" || true; } | awk -v oidsfile="$3" -v newfile="$2" '
		BEGIN {
			while ((getline l < oidsfile) > 0)
				ext[l] = 1
			while ((getline l < newfile) > 0)
				nf[++nnf] = l
		}
		NR <= 2 && /^(---|\+\+\+) / { next }
		/^@@ / {
			# "@@ -a,b +c,d @@": the hunk starts at line c of the new file
			c = $3
			sub(/^\+/, "", c)
			sub(/,.*/, "", c)
			h++
			next
		}
		{ line[++n] = $0; hunk[n] = h; start[h] = c }
		# the SQL statement printed just above line k of the new file
		function statement(k,    j, q) {
			q = ""
			for (j = k - 1; j > 0 && nf[j] != "" && nf[j] !~ /^\([0-9]+ rows?\)$/ && nf[j] !~ /^--/; j--)
				q = nf[j] " " q
			gsub(/  +/, " ", q)
			sub(/ $/, "", q)
			return length(q) > 160 ? substr(q, 1, 157) "..." : q
		}
		END {
			for (i = 1; i <= n; i++) {
				s = substr(line[i], 1, 1)
				body = substr(line[i], 2)
				if (body ~ /^\([0-9]+ rows?\)$/ || body ~ /^-+(\+-+)*$/)
					continue
				# a header: the next changed line is its separator
				if (i < n && substr(line[i + 1], 1, 1) == s &&
					substr(line[i + 1], 2) ~ /^-+(\+-+)*$/ &&
					body ~ /^ *[A-Za-z_?][A-Za-z0-9_?]*( +\| +[A-Za-z_?][A-Za-z0-9_?]*)* *$/)
					continue
				if (s == "+" && body ~ /^ *[0-9]+ \|/) {
					oid = body
					sub(/^ */, "", oid)
					sub(/ .*/, "", oid)
					if (oid in ext) {
						if (!(hunk[i] in shown)) {
							shown[hunk[i]] = 1
							print "rows added to: " statement(start[hunk[i]])
						}
						print "   " body
						continue
					}
				}
				exit 1
			}
		}'
}

# --- main --------------------------------------------------------------------

T_START=$SECONDS
sandbox_install_deps || bail "install PostgreSQL 15"
sandbox_os_user || bail "create OS user $PGUSER_OS"
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/sandbox.so" ]; then
	say "sandbox.so is not installed: building it"
	(cd "$SANDBOX_ROOT" && make -s PG_CONFIG="$PG_CONFIG" && make -s install PG_CONFIG="$PG_CONFIG") ||
		bail "build and install the extension"
fi

if [ -n "${TMPDIR_TEST:-}" ] && [ -d "$TMPDIR_TEST" ]; then
	WORK=$(mktemp -d "$TMPDIR_TEST/core.XXXXXX")
	OWN_WORK=$WORK
else
	WORK=$(sandbox_tmpdir sandbox-core)
	OWN_WORK=$WORK
fi
chmod 755 "$WORK"

# SANDBOX_PG_SOURCE_TREE (test/cassert/run sets it): the built source tree of
# the server under test, used as it is; otherwise Debian's postgresql-15
# source, which fits a PostgreSQL 15 server only.
if [ -n "${SANDBOX_PG_SOURCE_TREE:-}" ] && [ -x "$SANDBOX_PG_SOURCE_TREE/src/test/regress/pg_regress" ]; then
	SRC=$SANDBOX_PG_SOURCE_TREE
elif ! "$PG_CONFIG" --version | grep -qE '^PostgreSQL 15[.]'; then
	printf 'ok - core regression suite # SKIP no source tree for %s (set SANDBOX_PG_SOURCE_TREE to the tree that built it)\n' \
		"$("$PG_CONFIG" --version)"
	exit 0
else
	prepare_source || bail "could not obtain and build the postgresql-15 source (cache $CACHE)"
fi
say "source: $SRC; server: $("$PG_CONFIG" --version)"
say "prepared in $((SECONDS - T_START)) s"

read -r -a modes <<<"$MODES"
for mode in "${modes[@]}"; do
	run_suite "$mode" || bail "$mode: the suite did not run: $(tail -n 5 "$WORK/$mode/pg_regress.log" 2>/dev/null | tr '\n' ' ')"
done

ref=${modes[0]}
test_statuses "$ref" >"$WORK/$ref.status"
ntests=$(wc -l <"$WORK/$ref.status")
[ "$ntests" -gt 0 ] || bail "$ref: no test results in $WORK/$ref/pg_regress.log"
nfail=$(grep -vc ' ok$' "$WORK/$ref.status" || true)
if [ "$nfail" -gt 0 ]; then
	say "$ref: $nfail of $ntests tests differ from PostgreSQL's expected output (source $(basename "$SRC"), server $("$PG_CONFIG" --version)); that is the version lag, only differences between runs count:"
	grep -v ' ok$' "$WORK/$ref.status" | sed 's/^/#   /'
fi

status=0
for mode in "${modes[@]:1}"; do
	test_statuses "$mode" >"$WORK/$mode.status"
	differ=$(
		{
			diff "$WORK/$ref.status" "$WORK/$mode.status" || true
			diff -rq "$WORK/$ref/out/results" "$WORK/$mode/out/results" 2>&1 || true
		} | sed -n -E 's/^[<>] ([^ ]+) .*/\1/p
			s|^Files .*/results/([^ ]+)\.out and .*|\1|p
			s|^Only in [^:]*/results: ([^ ]+)\.out$|\1|p' | sort -u
	)
	bad=()
	tolerated=()
	: >"$WORK/$mode.notes"
	for t in $differ; do
		a="$WORK/$ref/out/results/$t.out"
		b="$WORK/$mode/out/results/$t.out"
		if [ -f "$a" ] && [ -f "$b" ] && ! cmp -s "$a" "$b" &&
			extension_rows_only "$a" "$b" "$WORK/$mode/ext_oids" >"$WORK/$mode.$t.rows"; then
			tolerated+=("$t")
			sed "s/^/#   $t: /" "$WORK/$mode.$t.rows" >>"$WORK/$mode.notes"
		else
			bad+=("$t")
		fi
	done

	case $mode in
		preloaded) label="with and without the library preloaded" ;;
		extension) label="with and without the library preloaded and the extension created" ;;
		agent) label="with and without the library preloaded and a sandbox with its agent in the database" ;;
		*) label="in runs $ref and $mode" ;;
	esac
	if [ ${#bad[@]} -eq 0 ]; then
		apart=""
		if [ ${#tolerated[@]} -gt 0 ]; then
			apart=" (apart from $(cat "$WORK/$mode".*.rows | grep -c '^   ') added rows that list the extension's own objects, in ${tolerated[*]})"
		fi
		printf 'ok - core regression suite: %d tests, identical %s%s\n' "$ntests" "$label" "$apart"
		if [ -s "$WORK/$mode.notes" ]; then
			say "$mode: catalog checks that list the extension's objects (not a difference in behaviour; worth a look):"
			cat "$WORK/$mode.notes"
		fi
	else
		status=1
		KEEP=1
		printf 'not ok - core regression suite: %s differs from %s (%s) in %d tests: %s\n' \
			"$mode" "$ref" "$label" "${#bad[@]}" "${bad[*]}"
		say "test status ($ref vs $mode):"
		diff "$WORK/$ref.status" "$WORK/$mode.status" | grep '^[<>]' | sed 's/^/#   /' || true
		for t in "${bad[@]}"; do
			say "--- results/$t.out, $ref vs $mode (first 40 lines of the diff)"
			diff -u "$WORK/$ref/out/results/$t.out" "$WORK/$mode/out/results/$t.out" 2>&1 |
				head -n 40 | sed 's/^/#   /' || true
		done
	fi
done
if [ "${KEEP:-0}" = 1 ]; then
	say "outputs and server logs kept in $WORK${TMPDIR_TEST:+ (test/run-all removes it afterwards)}"
fi
say "total $((SECONDS - T_START)) s"
exit "$status"
