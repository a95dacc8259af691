--
-- sandbox_clone: copies of production tables in a sandbox (structure,
-- repeatable samples, filtered subsets, referentially complete subsets)
-- and every refusal.  Runs as the regression superuser unless a case says
-- "agent:" (SET SESSION AUTHORIZATION regress_agent, the sandbox's agent).
--
\set VERBOSITY terse

-- helpers (superuser): a statement's SQLSTATE, message and detail instead of an error
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
-- a table's structure from the catalogs, leaving out the names of its indexes
CREATE FUNCTION regress_structure(t regclass) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT 'column ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
	       || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
	       || CASE WHEN a.attgenerated <> '' THEN ' generated ' || pg_get_expr(d.adbin, d.adrelid) ELSE '' END
	       || CASE WHEN a.attcollation <> 0 THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END
	  FROM pg_attribute a
	  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.attgenerated <> ''
	 WHERE a.attrelid = t AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT 'constraint ' || c.contype::text || ' ' || pg_get_constraintdef(c.oid)
	  FROM pg_constraint c WHERE c.conrelid = t AND c.contype <> 'f'
	UNION ALL
	SELECT 'index ' || regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ', '\1')
	  FROM pg_index i WHERE i.indrelid = t
$$;

-- production
CREATE SCHEMA regress_prod;
CREATE TYPE regress_prod.status AS ENUM ('placed', 'shipped', 'completed', 'returned');
CREATE FUNCTION regress_prod.new_code() RETURNS text LANGUAGE sql AS $$ SELECT 'C' || floor(random() * 1000)::int $$;
CREATE FUNCTION regress_prod.code_ok(c text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT c LIKE 'C%' $$;
CREATE TABLE regress_prod.customers (
	id serial PRIMARY KEY,
	name text NOT NULL CHECK (name <> ''),
	email varchar(80) UNIQUE,
	country char(2) NOT NULL DEFAULT 'US',
	code text DEFAULT regress_prod.new_code() CHECK (regress_prod.code_ok(code)),
	created_at timestamptz NOT NULL DEFAULT now(),
	referrer_id int REFERENCES regress_prod.customers
);
CREATE INDEX customers_email_lower ON regress_prod.customers (lower(email));
CREATE INDEX customers_abroad ON regress_prod.customers (country) WHERE country <> 'US';
CREATE TABLE regress_prod.orders (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id int NOT NULL REFERENCES regress_prod.customers,
	status regress_prod.status NOT NULL DEFAULT 'placed',
	amount numeric(10,2) NOT NULL CHECK (amount >= 0),
	ordered_on date NOT NULL,
	note text,
	tag uuid DEFAULT gen_random_uuid()
);
CREATE INDEX orders_customer ON regress_prod.orders (customer_id);
CREATE TABLE regress_prod.payments (
	id serial PRIMARY KEY,
	order_id bigint NOT NULL REFERENCES regress_prod.orders ON DELETE CASCADE,
	method text NOT NULL,
	amount numeric(10,2) NOT NULL,
	cents bigint GENERATED ALWAYS AS ((amount * 100)::bigint) STORED,
	UNIQUE (order_id, method)
);
INSERT INTO regress_prod.customers (name, email, country, code, created_at, referrer_id)
SELECT 'customer ' || g, 'c' || g || '@example.com', (ARRAY['US', 'DE', 'FR', 'GB'])[1 + g % 4], 'C' || g,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour',
       CASE WHEN g > 10 AND g % 5 = 0 THEN g / 5 END
  FROM generate_series(1, 200) g;
INSERT INTO regress_prod.orders (customer_id, status, amount, ordered_on, note)
SELECT 1 + (g * 7) % 200, (ARRAY['placed', 'shipped', 'completed', 'completed', 'returned'])[1 + g % 5]::regress_prod.status,
       (g % 500) * 1.5, date '2024-01-01' + g % 365, CASE WHEN g % 3 <> 0 THEN 'note ' || g END
  FROM generate_series(1, 1000) g;
INSERT INTO regress_prod.payments (order_id, method, amount)
SELECT g, 'card', (g % 500) * 1.5 FROM generate_series(1, 1000) g
UNION ALL
SELECT g, 'coupon', 5 FROM generate_series(4, 1000, 40) g;
CREATE VIEW regress_prod.orders_v AS SELECT * FROM regress_prod.orders;
CREATE TABLE regress_prod.hidden (x int);
CREATE TABLE regress_prod.rls_t (x int);
ALTER TABLE regress_prod.rls_t ENABLE ROW LEVEL SECURITY;
CREATE POLICY rls_t_none ON regress_prod.rls_t USING (false);
CREATE SCHEMA regress_vault;
CREATE TABLE regress_vault.secret (x int);
INSERT INTO regress_vault.secret VALUES (42);

CREATE ROLE regress_agent LOGIN;
CREATE ROLE regress_agent2 LOGIN;
CREATE ROLE regress_nobody LOGIN;
SELECT sandbox_name FROM sandbox_create('regress_etl', 'regress_agent', ARRAY['regress_prod']);
SELECT sandbox_name FROM sandbox_create('regress_other', 'regress_agent2', ARRAY['regress_prod']);
REVOKE SELECT ON regress_prod.hidden FROM regress_agent;
SELECT last_value AS customers_seq FROM regress_prod.customers_id_seq \gset
SELECT 'regress_prod.orders'::regclass::oid AS orders_oid \gset

-- agent: a full copy of customers; what is left out is said
SET SESSION AUTHORIZATION regress_agent;
SELECT sandbox_clone('regress_etl', 'regress_prod.customers');
SELECT count(*) FROM regress_etl.customers;
RESET SESSION AUTHORIZATION;

-- the clone's structure matches its source (catalogs), but for the CHECK
-- constraint that calls a production function
SELECT * FROM regress_structure('regress_prod.customers')
EXCEPT ALL SELECT * FROM regress_structure('regress_etl.customers');
SELECT * FROM regress_structure('regress_etl.customers')
EXCEPT ALL SELECT * FROM regress_structure('regress_prod.customers');
SELECT * FROM regress_structure('regress_etl.customers') ORDER BY 1;
-- defaults: built-in ones kept, the production sequence replaced, the production function gone
SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) AS default
  FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE d.adrelid = 'regress_etl.customers'::regclass ORDER BY a.attnum;
-- everything belongs to the agent and lives in the sandbox
SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner) AS owner
  FROM pg_class c WHERE c.relnamespace = 'regress_etl'::regnamespace ORDER BY 1;

-- agent: the clone is its own, with its own sequence past the copied rows
SET SESSION AUTHORIZATION regress_agent;
INSERT INTO regress_etl.customers (name, email) VALUES ('new customer', 'new@example.com') RETURNING id, country;
RESET SESSION AUTHORIZATION;
-- production did not change: its sequence did not move, nothing in the sandbox uses it
SELECT last_value = :customers_seq AS seq_unchanged FROM regress_prod.customers_id_seq;
SELECT count(*) AS uses_of_production_sequences
  FROM pg_depend d JOIN pg_class s ON s.oid = d.refobjid
 WHERE s.relkind = 'S' AND s.relnamespace = 'regress_prod'::regnamespace
   AND d.classid = 'pg_attrdef'::regclass
   AND d.objid IN (SELECT ad.oid FROM pg_attrdef ad JOIN pg_class c ON c.oid = ad.adrelid
                    WHERE c.relnamespace = 'regress_etl'::regnamespace);
SELECT count(*) FROM regress_prod.customers;

-- agent: a filtered subset of payments with every row it references,
-- transitively (payments -> orders -> customers -> referring customers);
-- customers exists already, so the referenced customers go to customers_1
SET SESSION AUTHORIZATION regress_agent;
SELECT sandbox_clone('regress_etl', 'regress_prod.payments', where_clause => $$method = 'coupon'$$,
                     follow_foreign_keys => true);
RESET SESSION AUTHORIZATION;
-- the foreign keys were recreated between the clones and hold
SELECT conrelid::regclass AS tbl, conname, confrelid::regclass AS refs, convalidated
  FROM pg_constraint WHERE contype = 'f' AND connamespace = 'regress_etl'::regnamespace ORDER BY 1, 2;
SELECT count(*) AS orphan_payments FROM regress_etl.payments p
 WHERE NOT EXISTS (SELECT 1 FROM regress_etl.orders o WHERE o.id = p.order_id);
SELECT count(*) AS orphan_orders FROM regress_etl.orders o
 WHERE NOT EXISTS (SELECT 1 FROM regress_etl.customers_1 c WHERE c.id = o.customer_id);
SELECT count(*) AS orphan_referrers FROM regress_etl.customers_1 c
 WHERE c.referrer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM regress_etl.customers_1 r WHERE r.id = c.referrer_id);
-- exactly the referenced rows, and the referrers of the referrers
SELECT (SELECT count(*) FROM regress_etl.payments) = (SELECT count(*) FROM regress_prod.payments WHERE method = 'coupon') AS payments_ok,
       (SELECT array_agg(id ORDER BY id) FROM regress_etl.orders)
       = (SELECT array_agg(DISTINCT order_id ORDER BY order_id) FROM regress_prod.payments WHERE method = 'coupon') AS orders_ok;
WITH RECURSIVE needed(id) AS (
	SELECT o.customer_id FROM regress_prod.orders o
	 WHERE o.id IN (SELECT order_id FROM regress_prod.payments WHERE method = 'coupon')
	UNION
	SELECT c.referrer_id FROM regress_prod.customers c JOIN needed n ON c.id = n.id WHERE c.referrer_id IS NOT NULL
)
SELECT (SELECT array_agg(id ORDER BY id) FROM needed) = (SELECT array_agg(id ORDER BY id) FROM regress_etl.customers_1) AS customers_ok;
-- the clones match their sources (payments has a generated column, orders an identity)
SELECT count(*) AS differences FROM (
	(SELECT * FROM regress_structure('regress_prod.payments') EXCEPT ALL SELECT * FROM regress_structure('regress_etl.payments'))
	UNION ALL (SELECT * FROM regress_structure('regress_etl.payments') EXCEPT ALL SELECT * FROM regress_structure('regress_prod.payments'))
	UNION ALL (SELECT * FROM regress_structure('regress_prod.orders') EXCEPT ALL SELECT * FROM regress_structure('regress_etl.orders'))
	UNION ALL (SELECT * FROM regress_structure('regress_etl.orders') EXCEPT ALL SELECT * FROM regress_structure('regress_prod.orders'))) x;
SELECT cents = (amount * 100)::bigint AS generated_ok, count(*) FROM regress_etl.payments GROUP BY 1;

-- agent: samples are repeatable (same table, same percent, same rows)
SET SESSION AUTHORIZATION regress_agent;
SET client_min_messages = warning;
SELECT sandbox_clone('regress_etl', 'regress_prod.orders', 30, target => 'orders_a');
SELECT sandbox_clone('regress_etl', 'regress_prod.orders', 30, target => 'orders_b');
SELECT sandbox_clone('regress_etl', 'regress_prod.orders', 0.5, target => 'orders_tiny');
RESET client_min_messages;
SELECT count(*) BETWEEN 200 AND 400 AS about_30_percent FROM regress_etl.orders_a;
SELECT count(*) < 30 AS tiny FROM regress_etl.orders_tiny;
SELECT (SELECT count(*) FROM (SELECT * FROM regress_etl.orders_a EXCEPT ALL SELECT * FROM regress_etl.orders_b) x)
     + (SELECT count(*) FROM (SELECT * FROM regress_etl.orders_b EXCEPT ALL SELECT * FROM regress_etl.orders_a) y) AS differences;
-- agent: a where_clause over the source's columns, with built-in stable functions and a comment
SELECT sandbox_clone('regress_etl', 'regress_prod.orders', where_clause =>
       $$status <> 'returned' AND ordered_on >= date '2024-06-01' AND lower(note) LIKE 'note 1%' -- recent$$,
       target => 'orders_recent');
SELECT (SELECT count(*) FROM regress_etl.orders_recent)
     = (SELECT count(*) FROM regress_prod.orders
         WHERE status <> 'returned' AND ordered_on >= date '2024-06-01' AND lower(note) LIKE 'note 1%') AS same_rows;
-- agent: the identity of the clone continues after the copied rows
INSERT INTO regress_etl.orders_recent (customer_id, amount, ordered_on) VALUES (1, 1, '2024-01-01')
RETURNING id > (SELECT max(id) FROM regress_prod.orders WHERE status <> 'returned' AND ordered_on >= date '2024-06-01' AND lower(note) LIKE 'note 1%') AS past_copied;
RESET SESSION AUTHORIZATION;

-- superuser: may clone into any sandbox; the clone belongs to that sandbox's agent
SELECT sandbox_clone('regress_other', 'regress_prod.orders', where_clause => 'id <= 10');
SELECT pg_get_userbyid(relowner) AS owner, (SELECT count(*) FROM regress_other.orders) AS rows
  FROM pg_class WHERE oid = 'regress_other.orders'::regclass;

-- refusals, each with its SQLSTATE; agent unless said otherwise
SET SESSION AUTHORIZATION regress_agent;
SELECT count(*) AS tables_before FROM pg_class WHERE relnamespace = 'regress_etl'::regnamespace \gset
-- unknown table, not a table, no SELECT privilege, row-level security
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.no_such_table')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.orders_v')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.hidden')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_vault.secret'::text::regclass)$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.rls_t')$$);
-- bad sample percent
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.orders', 0, target => 'x')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.orders', 100.5, target => 'x')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.orders', -3, target => 'x')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.orders', 'NaN', target => 'x')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.orders', NULL, target => 'x')$$);
-- target that exists, target that is not a plain name
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.orders')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_etl', 'regress_prod.orders', target => 'regress_prod.orders2')$$);
-- a sandbox that is not the caller's, one that does not exist
SELECT regress_try($$SELECT sandbox_clone('regress_other', 'regress_prod.orders', target => 'x')$$);
SELECT regress_try($$SELECT sandbox_clone('regress_nope', 'regress_prod.orders')$$);
RESET SESSION AUTHORIZATION;
-- a role that is neither a superuser nor an agent (naming the table by OID: it may not see the schema)
SET SESSION AUTHORIZATION regress_nobody;
SELECT regress_try(format('SELECT sandbox_clone(%L, %s::oid::regclass, target => %L)', 'regress_etl', :orders_oid, 'x'));
RESET SESSION AUTHORIZATION;

-- agent: bad and malicious where_clause texts; each is refused before anything runs
SET SESSION AUTHORIZATION regress_agent;
CREATE FUNCTION regress_etl.agent_fn(bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
SELECT w, regress_try(format('SELECT sandbox_clone(%L, %L, where_clause => %L, target => %L)',
                             'regress_etl', 'regress_prod.orders', w, 'x')) AS result
  FROM unnest(ARRAY[
	'amount >',
	'no_such_column = 1',
	'amount',
	'true); DROP TABLE regress_prod.payments; --',
	'true) --',
	'/* unterminated',
	'(SELECT count(*) FROM regress_vault.secret) > 0',
	'id IN (SELECT order_id FROM regress_prod.payments)',
	'EXISTS (SELECT 1 FROM regress_prod.hidden)',
	'true) UNION ALL SELECT * FROM regress_prod.orders WHERE (true',
	'true) ORDER BY (1',
	'true) LIMIT (1',
	'pg_sleep(0) IS NOT NULL',
	'nextval(''regress_prod.customers_id_seq'') > 0',
	'id = 1 OR pg_read_file(''/etc/passwd'') <> ''''',
	'lo_import(''/etc/passwd'') > 0',
	'length(table_to_xml(''regress_vault.secret'', true, true, '''')::text) > 0',
	'current_setting(''data_directory'') IS NOT NULL',
	'''regress_vault.secret''::regclass IS NOT NULL',
	'regress_etl.agent_fn(id)',
	'regress_prod.code_ok(note)'
  ]) AS w;
RESET SESSION AUTHORIZATION;
-- nothing was created, and production did not change
SELECT count(*) = :tables_before AS nothing_created FROM pg_class WHERE relnamespace = 'regress_etl'::regnamespace;
SELECT count(*) AS temp_views FROM pg_class WHERE relname LIKE 'sandbox_clone_rows%';
SELECT count(*) AS payments FROM regress_prod.payments;
SELECT last_value = :customers_seq AS seq_unchanged FROM regress_prod.customers_id_seq;
SELECT x FROM regress_vault.secret;

SELECT sandbox_drop('regress_etl');
SELECT sandbox_drop('regress_other');
DROP SCHEMA regress_prod CASCADE;
DROP SCHEMA regress_vault CASCADE;
DROP FUNCTION regress_try(text);
DROP FUNCTION regress_structure(regclass);
DROP ROLE regress_agent;
DROP ROLE regress_agent2;
DROP ROLE regress_nobody;
