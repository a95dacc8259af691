--
-- sandbox_synthesize: tables shaped like production, filled with made-up
-- rows that follow production's statistics, and every refusal.  Runs as
-- the regression superuser unless a case says "agent:" (SET SESSION
-- AUTHORIZATION regress_agent, the sandbox's agent).
--
\set VERBOSITY terse

-- helpers (superuser)
CREATE FUNCTION regress_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || SQLERRM || COALESCE(NULLIF(' (' || detail || ')', ' ()'), '');
END
$$;
CREATE FUNCTION regress_structure(t regclass) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT 'column ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
	       || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
	  FROM pg_attribute a WHERE a.attrelid = t AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT 'constraint ' || c.contype::text || ' ' || pg_get_constraintdef(c.oid)
	  FROM pg_constraint c WHERE c.conrelid = t AND c.contype <> 'f'
	UNION ALL
	SELECT 'index ' || regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ', '\1')
	  FROM pg_index i WHERE i.indrelid = t
$$;
-- how many distinct non-null values of column col the two tables share
CREATE FUNCTION regress_shared(a regclass, b regclass, col name) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM (SELECT %1$I FROM %2$s WHERE %1$I IS NOT NULL INTERSECT SELECT %1$I FROM %3$s) x',
	               col, a, b) INTO n;
	RETURN n;
END
$$;
-- the share of rows of t whose column col is NULL, or (val given) equals val
CREATE FUNCTION regress_share(t regclass, col name, val text DEFAULT NULL) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	f float8;
	typ text;
BEGIN
	SELECT format_type(atttypid, atttypmod) INTO typ FROM pg_attribute WHERE attrelid = t AND attname = col;
	EXECUTE format('SELECT count(*) FILTER (WHERE %s)::float8 / count(*) FROM %s',
	               CASE WHEN val IS NULL THEN format('%I IS NULL', col) ELSE format('%I = %L::%s', col, val, typ) END, t)
	   INTO f;
	RETURN f;
END
$$;
-- are the values of column col of t inside the range of the histogram and
-- common values that pg_stats holds for the same column of source?
CREATE FUNCTION regress_in_range(source regclass, t regclass, col name) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	typ text;
	ok boolean;
BEGIN
	SELECT format_type(atttypid, NULL) INTO typ FROM pg_attribute WHERE attrelid = source AND attname = col;
	EXECUTE format($q$
		SELECT (SELECT min(%1$I) FROM %2$s) >= min(v) AND (SELECT max(%1$I) FROM %2$s) <= max(v)
		  FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename
		  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname,
		       unnest(COALESCE(s.histogram_bounds::text::%3$s[], '{}') || COALESCE(s.most_common_vals::text::%3$s[], '{}')) v
		 WHERE c.oid = %4$s AND s.attname = %1$L$q$, col, t, typ, source::oid) INTO ok;
	RETURN ok;
END
$$;

-- production: customers and their orders
CREATE SCHEMA regress_shop;
CREATE TYPE regress_shop.segment AS ENUM ('consumer', 'business', 'public');
CREATE TABLE regress_shop.customers (
	id serial PRIMARY KEY,
	email text NOT NULL UNIQUE,
	name varchar(40) NOT NULL,
	country text NOT NULL,
	segment regress_shop.segment NOT NULL,
	signup date NOT NULL,
	score numeric(5,2) CHECK (score BETWEEN 0 AND 100),
	vip boolean NOT NULL DEFAULT false,
	external_id uuid NOT NULL UNIQUE,
	prefs jsonb,
	note text,
	legacy_code text
);
CREATE INDEX customers_country ON regress_shop.customers (country);
CREATE TABLE regress_shop.orders (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id int NOT NULL REFERENCES regress_shop.customers,
	status text NOT NULL CHECK (status IN ('placed', 'shipped', 'completed', 'returned')),
	amount numeric(10,2) NOT NULL CHECK (amount >= 0),
	placed_at timestamptz NOT NULL,
	quantity int NOT NULL CHECK (quantity > 0),
	discount real
);
INSERT INTO regress_shop.customers (email, name, country, segment, signup, score, vip, external_id, prefs, note, legacy_code)
SELECT 'user' || g || '@example.com',
       (ARRAY['Ann', 'Bob', 'Cleo', 'Dan', 'Eve', 'Finn', 'Gus', 'Hana', 'Ivo', 'Jo',
              'Kim', 'Lea', 'Max', 'Nia', 'Otto', 'Pia', 'Quin', 'Rosa', 'Sam', 'Tess'])[1 + g % 20]
         || ' ' || (ARRAY['Smith', 'Jones', 'Brown', 'Garcia', 'Miller', 'Davis', 'Lopez', 'Wilson', 'Moore', 'Taylor',
                          'Thomas', 'White', 'Harris', 'Martin', 'Clark', 'Lewis', 'Walker', 'Hall', 'Young', 'King',
                          'Wright', 'Scott', 'Green', 'Baker', 'Adams', 'Nelson', 'Hill', 'Campbell', 'Mitchell', 'Roberts',
                          'Carter', 'Phillips', 'Evans', 'Turner', 'Torres', 'Parker', 'Collins', 'Edwards', 'Stewart', 'Morris',
                          'Rogers', 'Reed', 'Cook', 'Morgan', 'Bell', 'Murphy', 'Bailey', 'Rivera', 'Cooper', 'Richardson'])[1 + (g / 20) % 50],
       CASE WHEN g % 20 < 8 THEN 'US' WHEN g % 20 < 13 THEN 'DE' WHEN g % 20 < 16 THEN 'FR'
            WHEN g % 20 < 18 THEN 'GB' ELSE 'NL' END,
       (CASE WHEN g % 10 < 6 THEN 'consumer' WHEN g % 10 < 9 THEN 'business' ELSE 'public' END)::regress_shop.segment,
       date '2022-01-01' + (g * 37) % 900,
       CASE WHEN g % 5 = 0 THEN NULL ELSE ((g * 7919) % 10000) / 100.0 END,
       g % 7 = 0,
       md5('ext' || g)::uuid,
       jsonb_build_object('theme', CASE WHEN g % 2 = 0 THEN 'dark' ELSE 'light' END, 'newsletter', g % 3 = 0, 'level', g % 10),
       CASE WHEN g % 10 < 3 THEN NULL ELSE 'note ' || md5(g::text) END,
       'L' || (g % 50)
  FROM generate_series(1, 2000) g;
INSERT INTO regress_shop.orders (customer_id, status, amount, placed_at, quantity, discount)
SELECT 1 + (g * 13) % 2000,
       CASE WHEN g % 10 < 5 THEN 'completed' WHEN g % 10 < 7 THEN 'shipped' WHEN g % 10 < 9 THEN 'placed' ELSE 'returned' END,
       ((g * 7907) % 100000) / 100.0,
       timestamptz '2024-01-01 00:00:00+00' + ((g * 5347) % 31536000) * interval '1 second',
       1 + g % 5,
       CASE WHEN g % 4 = 0 THEN NULL ELSE (g % 30) / 100.0 END
  FROM generate_series(1, 6000) g;
-- a column without statistics
ALTER TABLE regress_shop.customers ALTER COLUMN legacy_code SET STATISTICS 0;
ANALYZE regress_shop.customers;
ANALYZE regress_shop.orders;
-- a table never analyzed, and a view
CREATE TABLE regress_shop.fresh (id int PRIMARY KEY, label text NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO regress_shop.fresh SELECT g, 'label ' || (g % 3) FROM generate_series(1, 300) g;
CREATE VIEW regress_shop.customers_v AS SELECT * FROM regress_shop.customers;
CREATE TABLE regress_shop.hidden (x int);

CREATE ROLE regress_agent LOGIN;
CREATE ROLE regress_agent2 LOGIN;
CREATE ROLE regress_nobody LOGIN;
SELECT sandbox_name FROM sandbox_create('regress_lab', 'regress_agent', ARRAY['regress_shop']);
SELECT sandbox_name FROM sandbox_create('regress_lab2', 'regress_agent2', ARRAY['regress_shop']);
REVOKE SELECT ON regress_shop.hidden FROM regress_agent;
SELECT 'regress_shop.customers'::regclass::oid AS customers_oid \gset

-- agent: 3,000 made-up customers; what follows no statistics is said
SET SESSION AUTHORIZATION regress_agent;
SELECT sandbox_synthesize('regress_lab', 'regress_shop.customers', 3000, seed => 1);
SELECT count(*) FROM regress_lab.customers;
RESET SESSION AUTHORIZATION;

-- the same structure as production (catalogs)
SELECT count(*) AS differences FROM (
	(SELECT * FROM regress_structure('regress_shop.customers') EXCEPT ALL SELECT * FROM regress_structure('regress_lab.customers'))
	UNION ALL
	(SELECT * FROM regress_structure('regress_lab.customers') EXCEPT ALL SELECT * FROM regress_structure('regress_shop.customers'))) x;
SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'regress_lab.customers'::regclass;

-- no value of a PRIMARY KEY or UNIQUE column, nor of a text column whose
-- distinct ratio is above 0.1, is a production value (histogram bounds included)
SELECT a.attname,
       (SELECT bool_or(x.indisunique) FROM pg_index x WHERE x.indrelid = a.attrelid AND a.attnum = ANY (x.indkey)) AS is_unique,
       CASE WHEN s.n_distinct < 0 THEN -s.n_distinct ELSE s.n_distinct / c.reltuples END > 0.1 AS high_cardinality,
       regress_shared('regress_shop.customers', 'regress_lab.customers', a.attname) AS shared_values
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_stats s ON s.schemaname = 'regress_shop' AND s.tablename = 'customers' AND s.attname = a.attname
 WHERE a.attrelid = 'regress_shop.customers'::regclass AND a.attnum > 0
   AND (a.atttypid IN ('text'::regtype, 'varchar'::regtype)
        OR EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = a.attrelid AND x.indisunique AND a.attnum = ANY (x.indkey)))
 ORDER BY a.attnum;
SELECT count(*) AS bounds_emitted
  FROM pg_stats s, unnest(s.histogram_bounds::text::text[]) b
 WHERE s.schemaname = 'regress_shop' AND s.tablename = 'customers'
   AND s.attname IN ('email', 'name', 'note')
   AND EXISTS (SELECT 1 FROM regress_lab.customers c
                WHERE b IN (c.email, c.name, c.note));

-- low-cardinality values are production's, at production's frequencies (within 0.05)
SELECT s.attname, count(*) AS common_values,
       max(abs(regress_share('regress_lab.customers', s.attname, m.v) - m.f)) < 0.05 AS frequencies_ok
  FROM pg_stats s, unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS m(v, f)
 WHERE s.schemaname = 'regress_shop' AND s.tablename = 'customers' AND s.attname IN ('country', 'segment', 'vip')
 GROUP BY s.attname ORDER BY 1;
SELECT country, count(*) > 0 AS present FROM regress_lab.customers GROUP BY 1 ORDER BY 1;
-- every column's null fraction within 0.05 of production's
SELECT s.attname, round(s.null_frac::numeric, 2) AS production,
       abs(regress_share('regress_lab.customers', s.attname) - s.null_frac) < 0.05 AS null_fraction_ok
  FROM pg_stats s WHERE s.schemaname = 'regress_shop' AND s.tablename = 'customers' ORDER BY s.attname;
-- numbers and dates inside production's histogram range; types honoured
SELECT col, regress_in_range('regress_shop.customers', 'regress_lab.customers', col) AS in_range
  FROM unnest(ARRAY['signup', 'score']::name[]) AS col;
SELECT max(length(name)) <= 40 AS names_fit, bool_and(scale(score) <= 2) AS scales_fit,
       bool_and(score BETWEEN 0 AND 100) AS check_holds
  FROM regress_lab.customers;
SELECT k, count(*) > 0 AS present FROM regress_lab.customers, jsonb_object_keys(prefs) AS k GROUP BY 1 ORDER BY 1;
-- fresh keys: past production's ids, its own sequence past them
SELECT min(id) > (SELECT max(id) FROM regress_shop.customers) AS ids_fresh FROM regress_lab.customers;
SET SESSION AUTHORIZATION regress_agent;
INSERT INTO regress_lab.customers (email, name, country, segment, signup, external_id)
VALUES ('new@example.com', 'New', 'US', 'consumer', '2024-01-01', gen_random_uuid())
RETURNING id > (SELECT max(id) FROM regress_lab.customers WHERE email <> 'new@example.com') AS next_id_fresh;
RESET SESSION AUTHORIZATION;
-- the column without statistics follows its type: text, never null
SELECT count(*) FILTER (WHERE legacy_code IS NULL) AS nulls, min(length(legacy_code)) > 0 AS texts
  FROM regress_lab.customers WHERE email <> 'new@example.com';

-- agent: the same seed gives the same rows; another seed other rows
SET SESSION AUTHORIZATION regress_agent;
SET client_min_messages = warning;
SELECT sandbox_synthesize('regress_lab', 'regress_shop.customers', 3000, seed => 1, target => 'customers_again');
SELECT sandbox_synthesize('regress_lab', 'regress_shop.customers', 3000, seed => 2, target => 'customers_other');
RESET client_min_messages;
DELETE FROM regress_lab.customers WHERE email = 'new@example.com';
SELECT (SELECT count(*) FROM (SELECT * FROM regress_lab.customers EXCEPT ALL SELECT * FROM regress_lab.customers_again) x)
     + (SELECT count(*) FROM (SELECT * FROM regress_lab.customers_again EXCEPT ALL SELECT * FROM regress_lab.customers) y) AS differences_same_seed;
SELECT count(*) > 2000 AS differ_other_seed
  FROM (SELECT * FROM regress_lab.customers EXCEPT ALL SELECT * FROM regress_lab.customers_other) x;

-- agent: orders, whose foreign key finds "customers" in the sandbox: keys come from there
SELECT sandbox_synthesize('regress_lab', 'regress_shop.orders', 5000, seed => 7);
RESET SESSION AUTHORIZATION;
SELECT conname, confrelid::regclass AS refs, convalidated
  FROM pg_constraint WHERE conrelid = 'regress_lab.orders'::regclass AND contype = 'f';
SELECT count(*) AS orphans FROM regress_lab.orders o
 WHERE NOT EXISTS (SELECT 1 FROM regress_lab.customers c WHERE c.id = o.customer_id);
SELECT count(DISTINCT customer_id) > 1000 AS spread_over_customers FROM regress_lab.orders;
SELECT s.attname, max(abs(regress_share('regress_lab.orders', s.attname, m.v) - m.f)) < 0.05 AS frequencies_ok
  FROM pg_stats s, unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS m(v, f)
 WHERE s.schemaname = 'regress_shop' AND s.tablename = 'orders' AND s.attname IN ('status', 'quantity')
 GROUP BY s.attname ORDER BY 1;
SELECT s.attname, abs(regress_share('regress_lab.orders', s.attname) - s.null_frac) < 0.05 AS null_fraction_ok
  FROM pg_stats s WHERE s.schemaname = 'regress_shop' AND s.tablename = 'orders' ORDER BY s.attname;
SELECT col, regress_in_range('regress_shop.orders', 'regress_lab.orders', col) AS in_range
  FROM unnest(ARRAY['amount', 'placed_at', 'quantity', 'discount']::name[]) AS col;
SELECT regress_shared('regress_shop.orders', 'regress_lab.orders', 'id') AS shared_ids;

-- superuser: may fill any sandbox; a table without statistics is analyzed first
SELECT sandbox_synthesize('regress_lab2', 'regress_shop.fresh', 100);
SELECT pg_get_userbyid(relowner) AS owner, (SELECT count(*) FROM regress_lab2.fresh) AS rows,
       (SELECT count(DISTINCT label) FROM regress_lab2.fresh) AS labels
  FROM pg_class WHERE oid = 'regress_lab2.fresh'::regclass;
SELECT sandbox_synthesize('regress_lab2', 'regress_shop.orders', 0, target => 'no_orders');
SELECT count(*) FROM regress_lab2.no_orders;

-- refusals, each with its SQLSTATE; agent unless said otherwise
SET SESSION AUTHORIZATION regress_agent;
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab', 'regress_shop.no_such_table', 10)$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab', 'regress_shop.customers_v', 10)$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab', 'regress_shop.hidden', 10)$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab', 'regress_shop.orders', -1, target => 'x')$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab', 'regress_shop.orders', NULL, target => 'x')$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab', 'regress_shop.orders', 10, seed => NULL, target => 'x')$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab', 'regress_shop.orders', 10)$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab', 'regress_shop.orders', 10, target => 'a.b')$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_lab2', 'regress_shop.orders', 10, target => 'x')$$);
SELECT regress_try($$SELECT sandbox_synthesize('regress_nope', 'regress_shop.orders', 10)$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_nobody;
SELECT regress_try(format('SELECT sandbox_synthesize(%L, %s::oid::regclass, 10, target => %L)', 'regress_lab', :customers_oid, 'x'));
RESET SESSION AUTHORIZATION;
SELECT count(*) AS x_tables FROM pg_class WHERE relname = 'x';

-- production did not change
SELECT (SELECT count(*) FROM regress_shop.customers) AS customers, (SELECT count(*) FROM regress_shop.orders) AS orders;

SELECT sandbox_drop('regress_lab');
SELECT sandbox_drop('regress_lab2');
DROP SCHEMA regress_shop CASCADE;
DROP FUNCTION regress_try(text);
DROP FUNCTION regress_structure(regclass);
DROP FUNCTION regress_shared(regclass, regclass, name);
DROP FUNCTION regress_share(regclass, name, text);
DROP FUNCTION regress_in_range(regclass, regclass, name);
DROP ROLE regress_agent;
DROP ROLE regress_agent2;
DROP ROLE regress_nobody;
