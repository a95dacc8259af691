--
-- Guard, legitimate work: what an agent needs to do in its scratch schema,
-- all of which must succeed, under the same drift as guard_attacks (the
-- agent holds every privilege on production, owns one production table
-- and is a member of the role that owns the rest).  Ends by showing that
-- production did not change and that the superuser is never hindered.
--
-- Runs as the regression superuser unless a case says otherwise; the
-- agent runs under SET SESSION AUTHORIZATION, so names are qualified
-- (except where a case sets search_path itself).
--
\set VERBOSITY terse

-- superuser: production, the sandbox and the drift, shared with
-- guard_attacks.sql / guard_allowed.sql
\getenv abs_srcdir PG_ABS_SRCDIR
\set drift_setup_sql :abs_srcdir '/sql/include/drift_setup.sql'
\i :drift_setup_sql

-- superuser: the digest of everything an agent must not change, shared with
-- guard_attacks.sql / guard_allowed.sql
\set prod_state_sql :abs_srcdir '/sql/include/prod_state.sql'
\i :prod_state_sql

SET SESSION AUTHORIZATION regress_agent;
-- L001 regress_agent: CREATE TABLE AS from production, with a join
CREATE TABLE regress_scratch.order_facts AS
    SELECT o.id, c.name, o.amount FROM regress_prod.orders o JOIN regress_prod.customers c ON c.id = o.customer_id;
SELECT count(*) FROM regress_scratch.order_facts;
-- L002 regress_agent: SELECT from production with joins and aggregates
SELECT c.name, count(*), sum(o.amount) FROM regress_prod.orders o
  JOIN regress_prod.customers c ON c.id = o.customer_id GROUP BY c.name ORDER BY c.name;
SELECT count(*) FROM regress_prod.events;
-- L003 regress_agent: CREATE TABLE ... (LIKE production), then fill it
CREATE TABLE regress_scratch.customers (LIKE regress_prod.customers INCLUDING ALL);
INSERT INTO regress_scratch.customers SELECT * FROM regress_prod.customers;
-- L004 regress_agent: indexes (plain, unique, expression, partial)
CREATE INDEX order_facts_name_idx ON regress_scratch.order_facts (name);
CREATE UNIQUE INDEX order_facts_id_idx ON regress_scratch.order_facts (id);
CREATE INDEX order_facts_lower_idx ON regress_scratch.order_facts (lower(name)) WHERE amount > 10;
-- L005 regress_agent: views over production and scratch, and reading them
CREATE VIEW regress_scratch.big AS
    SELECT f.*, o.customer_id FROM regress_scratch.order_facts f JOIN regress_prod.orders o USING (id) WHERE f.amount > 20;
SELECT id, name FROM regress_scratch.big ORDER BY id;
-- L006 regress_agent: a materialized view, REFRESH and REFRESH CONCURRENTLY
CREATE MATERIALIZED VIEW regress_scratch.totals AS
    SELECT name, sum(amount) AS total FROM regress_scratch.order_facts GROUP BY name;
CREATE UNIQUE INDEX totals_name_idx ON regress_scratch.totals (name);
INSERT INTO regress_scratch.order_facts VALUES (6, 'alice', 60);
REFRESH MATERIALIZED VIEW regress_scratch.totals;
REFRESH MATERIALIZED VIEW CONCURRENTLY regress_scratch.totals;
SELECT * FROM regress_scratch.totals ORDER BY name;
-- L007 regress_agent: a PL/pgSQL function that writes scratch, and calling it
CREATE FUNCTION regress_scratch.add_fact(i int, n text, a numeric) RETURNS int
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress_scratch.order_facts VALUES (i, n, a);
    RETURN (SELECT count(*) FROM regress_scratch.order_facts);
END $$;
SELECT regress_scratch.add_fact(7, 'bob', 70);
-- L008 regress_agent: SQL functions (an inlinable one in a query, and one that writes scratch)
CREATE FUNCTION regress_scratch.doubled(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
SELECT id, regress_scratch.doubled(amount) FROM regress_scratch.order_facts WHERE id <= 2 ORDER BY id;
CREATE FUNCTION regress_scratch.del_fact(int) RETURNS void LANGUAGE sql
    AS 'DELETE FROM regress_scratch.order_facts WHERE id = $1';
SELECT regress_scratch.del_fact(7);
-- L009 regress_agent: triggers inside scratch (BEFORE row trigger, AFTER trigger writing an audit table)
CREATE TABLE regress_scratch.audit (tbl text, op text, at_id int);
CREATE FUNCTION regress_scratch.normalize() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;
CREATE FUNCTION regress_scratch.audit_row() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO regress_scratch.audit VALUES (TG_TABLE_NAME, TG_OP, NEW.id); RETURN NULL; END $$;
CREATE TRIGGER normalize BEFORE INSERT ON regress_scratch.customers
    FOR EACH ROW EXECUTE FUNCTION regress_scratch.normalize();
CREATE TRIGGER audit AFTER INSERT ON regress_scratch.customers
    FOR EACH ROW EXECUTE FUNCTION regress_scratch.audit_row();
INSERT INTO regress_scratch.customers VALUES (3, 'carol');
SELECT * FROM regress_scratch.customers ORDER BY id;
SELECT * FROM regress_scratch.audit;
-- L010 regress_agent: a rule inside scratch
CREATE TABLE regress_scratch.ruled (id int);
CREATE RULE log_insert AS ON INSERT TO regress_scratch.ruled
    DO ALSO INSERT INTO regress_scratch.audit VALUES ('ruled', 'INSERT', NEW.id);
INSERT INTO regress_scratch.ruled VALUES (1);
SELECT * FROM regress_scratch.audit WHERE tbl = 'ruled';
-- L011 regress_agent: MERGE into scratch from production
MERGE INTO regress_scratch.order_facts f
USING (SELECT o.id, c.name, o.amount FROM regress_prod.orders o JOIN regress_prod.customers c ON c.id = o.customer_id) s
   ON f.id = s.id
 WHEN MATCHED THEN UPDATE SET amount = s.amount + 1
 WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.name, s.amount);
SELECT id, amount FROM regress_scratch.order_facts ORDER BY id;
-- L012 regress_agent: INSERT ... ON CONFLICT into scratch
INSERT INTO regress_scratch.order_facts VALUES (1, 'alice', 99), (8, 'bob', 80)
    ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
SELECT id, amount FROM regress_scratch.order_facts WHERE id IN (1, 8) ORDER BY id;
-- L013 regress_agent: COPY FROM STDIN into scratch, COPY TO STDOUT from scratch and from production
COPY regress_scratch.order_facts FROM STDIN;
9	carol	90
10	dave	100
\.
COPY (SELECT id, name FROM regress_scratch.order_facts WHERE id >= 9 ORDER BY id) TO STDOUT;
COPY regress_prod.customers TO STDOUT;
-- L014 regress_agent: temporary tables
CREATE TEMP TABLE staging (id int, v text);
INSERT INTO staging SELECT id, name FROM regress_prod.customers;
UPDATE staging SET v = v || '!';
SELECT * FROM staging ORDER BY id;
DROP TABLE staging;
-- L015 regress_agent: a partitioned table with its partitions in scratch, ATTACH and DETACH between scratch tables
CREATE TABLE regress_scratch.events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE regress_scratch.events_2024 PARTITION OF regress_scratch.events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE regress_scratch.events_2025 (id int, at date);
ALTER TABLE regress_scratch.events ATTACH PARTITION regress_scratch.events_2025
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO regress_scratch.events SELECT * FROM regress_prod.events;
INSERT INTO regress_scratch.events VALUES (2, '2025-03-01');
SELECT tableoid::regclass, * FROM regress_scratch.events ORDER BY id;
ALTER TABLE regress_scratch.events DETACH PARTITION regress_scratch.events_2025;
CREATE INDEX ON regress_scratch.events (id);
-- L016 regress_agent: inheritance between scratch tables
CREATE TABLE regress_scratch.base (id int);
CREATE TABLE regress_scratch.derived (extra text) INHERITS (regress_scratch.base);
ALTER TABLE regress_scratch.events_2025 INHERIT regress_scratch.base;
ALTER TABLE regress_scratch.events_2025 NO INHERIT regress_scratch.base;
-- L017 regress_agent: a dbt-style swap (build tmp, rename old to backup, rename tmp into place, drop backup)
CREATE TABLE regress_scratch.model AS SELECT id, name FROM regress_scratch.order_facts;
BEGIN;
CREATE TABLE regress_scratch.model__dbt_tmp AS
    SELECT id, upper(name) AS name FROM regress_scratch.order_facts;
ALTER TABLE regress_scratch.model RENAME TO model__dbt_backup;
ALTER TABLE regress_scratch.model__dbt_tmp RENAME TO model;
DROP TABLE regress_scratch.model__dbt_backup;
COMMIT;
SELECT name FROM regress_scratch.model ORDER BY id LIMIT 2;
-- L018 regress_agent: prepared statements
PREPARE add_fact(int, text, numeric) AS INSERT INTO regress_scratch.order_facts VALUES ($1, $2, $3);
EXECUTE add_fact(11, 'erin', 110);
EXECUTE add_fact(12, 'frank', 120);
DEALLOCATE add_fact;
PREPARE read_prod(int) AS SELECT name FROM regress_prod.customers WHERE id = $1;
EXECUTE read_prod(1);
DEALLOCATE read_prod;
-- L019 regress_agent: cursors over production (read) and FOR UPDATE over scratch, with WHERE CURRENT OF
BEGIN;
DECLARE prod_cur CURSOR FOR SELECT id, name FROM regress_prod.customers ORDER BY id;
FETCH 1 FROM prod_cur;
CLOSE prod_cur;
DECLARE upd_cur CURSOR FOR SELECT id FROM regress_scratch.order_facts WHERE id = 11 FOR UPDATE;
FETCH 1 FROM upd_cur;
UPDATE regress_scratch.order_facts SET amount = 111 WHERE CURRENT OF upd_cur;
COMMIT;
SELECT amount FROM regress_scratch.order_facts WHERE id = 11;
-- L020 regress_agent: SELECT ... FOR UPDATE / FOR SHARE of scratch rows, and LOCK of a scratch table
BEGIN;
SELECT id FROM regress_scratch.order_facts WHERE id = 12 FOR UPDATE;
SELECT id FROM regress_scratch.customers WHERE id = 1 FOR SHARE;
LOCK TABLE regress_scratch.order_facts IN ACCESS EXCLUSIVE MODE;
COMMIT;
-- L021 regress_agent: savepoints, and ROLLBACK TO after a refused statement
BEGIN;
INSERT INTO regress_scratch.order_facts VALUES (13, 'gina', 130);
SAVEPOINT before_mistake;
UPDATE regress_prod.orders SET amount = 0;
ROLLBACK TO SAVEPOINT before_mistake;
INSERT INTO regress_scratch.order_facts VALUES (14, 'hal', 140);
RELEASE SAVEPOINT before_mistake;
COMMIT;
SELECT id FROM regress_scratch.order_facts WHERE id IN (13, 14) ORDER BY id;
-- L022 regress_agent: EXPLAIN ANALYZE of scratch writes
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
    INSERT INTO regress_scratch.ruled VALUES (2);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
    DELETE FROM regress_scratch.ruled WHERE id = 2;
-- L023 regress_agent: VACUUM, ANALYZE, VACUUM FULL and REINDEX of scratch tables
VACUUM regress_scratch.order_facts;
ANALYZE regress_scratch.order_facts;
VACUUM (ANALYZE) regress_scratch.customers, regress_scratch.events;
VACUUM FULL regress_scratch.audit;
REINDEX TABLE regress_scratch.customers;
REINDEX INDEX regress_scratch.order_facts_id_idx;
-- L024 regress_agent: CLUSTER a scratch table on one of its indexes, and ALTER TABLE ... CLUSTER ON (both update the scratch index's pg_index row)
CLUSTER regress_scratch.order_facts USING order_facts_id_idx;
ALTER TABLE regress_scratch.order_facts CLUSTER ON order_facts_id_idx;
SELECT indisclustered FROM pg_index WHERE indexrelid = 'regress_scratch.order_facts_id_idx'::regclass;
-- L025 regress_agent: serial and identity columns
CREATE TABLE regress_scratch.ids (
    s serial PRIMARY KEY,
    i int GENERATED ALWAYS AS IDENTITY,
    b bigint GENERATED BY DEFAULT AS IDENTITY,
    v text);
INSERT INTO regress_scratch.ids (v) VALUES ('a'), ('b');
COPY regress_scratch.ids (v) FROM STDIN;
c
\.
SELECT s, i, b, v FROM regress_scratch.ids ORDER BY s;
-- L026 regress_agent: nextval and setval on a scratch sequence, directly and from PL/pgSQL
CREATE SEQUENCE regress_scratch.batch_seq;
SELECT nextval('regress_scratch.batch_seq');
SELECT setval('regress_scratch.batch_seq', 100);
DO $$ DECLARE n bigint; BEGIN n := nextval('regress_scratch.batch_seq'); RAISE NOTICE 'batch %', n; END $$;
CREATE TABLE regress_scratch.batches (id bigint DEFAULT nextval('regress_scratch.batch_seq'), v text);
INSERT INTO regress_scratch.batches (v) VALUES ('x');
COPY regress_scratch.batches (v) FROM STDIN;
y
\.
SELECT * FROM regress_scratch.batches ORDER BY id;
ALTER SEQUENCE regress_scratch.batch_seq RESTART WITH 1;
-- L027 regress_agent: foreign keys between scratch tables
CREATE TABLE regress_scratch.parents (id int PRIMARY KEY);
CREATE TABLE regress_scratch.children (id int, parent_id int REFERENCES regress_scratch.parents ON DELETE CASCADE);
INSERT INTO regress_scratch.parents VALUES (1), (2);
INSERT INTO regress_scratch.children VALUES (10, 1), (20, 2);
DELETE FROM regress_scratch.parents WHERE id = 1;
SELECT * FROM regress_scratch.children ORDER BY id;
ALTER TABLE regress_scratch.order_facts ADD PRIMARY KEY (id);
ALTER TABLE regress_scratch.children ADD FOREIGN KEY (id) REFERENCES regress_scratch.order_facts NOT VALID;
-- L028 regress_agent: a replica identity index, and an existing unique index turned into a primary key (both update the scratch index's pg_index row)
CREATE TABLE regress_scratch.keyed (id int NOT NULL);
CREATE UNIQUE INDEX keyed_id_idx ON regress_scratch.keyed (id);
ALTER TABLE regress_scratch.keyed REPLICA IDENTITY USING INDEX keyed_id_idx;
ALTER TABLE regress_scratch.keyed ADD CONSTRAINT keyed_pk PRIMARY KEY USING INDEX keyed_id_idx;
SELECT i.indexrelid::regclass AS index, i.indisprimary, i.indisreplident
  FROM pg_index i WHERE i.indrelid = 'regress_scratch.keyed'::regclass;
-- L029 regress_agent: CREATE SCHEMA IF NOT EXISTS of its own scratch schema is a no-op
CREATE SCHEMA IF NOT EXISTS regress_scratch;
-- L030 regress_agent: GRANT SELECT on a scratch table to another role, which can then read it
GRANT SELECT ON regress_scratch.order_facts TO regress_reviewer;
GRANT SELECT, INSERT ON regress_scratch.parents TO regress_agent2;
REVOKE INSERT ON regress_scratch.parents FROM regress_agent2;
GRANT EXECUTE ON FUNCTION regress_scratch.doubled(numeric) TO regress_reviewer;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_reviewer;
SELECT count(*) FROM regress_scratch.order_facts;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_agent;
-- L031 regress_agent: COMMENT on scratch objects
COMMENT ON TABLE regress_scratch.order_facts IS 'orders with customer names';
COMMENT ON COLUMN regress_scratch.order_facts.amount IS 'doubled';
COMMENT ON FUNCTION regress_scratch.doubled(numeric) IS 'times two';
COMMENT ON VIEW regress_scratch.big IS 'big orders';
COMMENT ON INDEX regress_scratch.order_facts_name_idx IS 'by name';
SELECT obj_description('regress_scratch.order_facts'::regclass, 'pg_class');
-- L032 regress_agent: ALTER TABLE in scratch (columns, defaults, constraints, rename, options)
ALTER TABLE regress_scratch.customers ADD COLUMN signup date DEFAULT current_date;
ALTER TABLE regress_scratch.customers ALTER COLUMN signup DROP DEFAULT;
ALTER TABLE regress_scratch.customers RENAME COLUMN signup TO joined;
ALTER TABLE regress_scratch.customers ADD CONSTRAINT name_not_empty CHECK (name <> '');
ALTER TABLE regress_scratch.customers ALTER COLUMN name TYPE varchar(100);
ALTER TABLE regress_scratch.customers DROP COLUMN joined;
ALTER TABLE regress_scratch.customers SET (fillfactor = 90);
ALTER TABLE regress_scratch.customers DISABLE TRIGGER normalize;
ALTER TABLE regress_scratch.customers ENABLE TRIGGER normalize;
ALTER INDEX regress_scratch.order_facts_name_idx RENAME TO order_facts_by_name;
ALTER VIEW regress_scratch.big RENAME TO big_orders;
-- L033 regress_agent: types, domains and enums in scratch, used in a table
CREATE TYPE regress_scratch.status AS ENUM ('new', 'done');
ALTER TYPE regress_scratch.status ADD VALUE 'failed';
CREATE DOMAIN regress_scratch.positive AS numeric CHECK (VALUE > 0);
CREATE TYPE regress_scratch.pair AS (a int, b int);
CREATE TABLE regress_scratch.jobs (id int, st regress_scratch.status DEFAULT 'new', cost regress_scratch.positive, p regress_scratch.pair);
INSERT INTO regress_scratch.jobs VALUES (1, 'done', 5, ROW(1, 2));
SELECT * FROM regress_scratch.jobs;
-- L034 regress_agent: extended statistics and a policy on a scratch table
CREATE STATISTICS regress_scratch.facts_stats ON id, amount FROM regress_scratch.order_facts;
ALTER TABLE regress_scratch.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_done ON regress_scratch.jobs USING (st = 'done');
-- L035 regress_agent: a writable CTE and UPDATE ... FROM production, both writing scratch
WITH moved AS (DELETE FROM regress_scratch.children WHERE id = 20 RETURNING *)
INSERT INTO regress_scratch.audit SELECT 'children', 'MOVE', id FROM moved;
UPDATE regress_scratch.order_facts f SET amount = o.amount FROM regress_prod.orders o WHERE o.id = f.id;
-- L036 regress_agent: DO blocks and a procedure that commits, writing scratch
DO $$ BEGIN INSERT INTO regress_scratch.audit VALUES ('do', 'INSERT', 0); END $$;
CREATE PROCEDURE regress_scratch.load_in_batches() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3 LOOP
        INSERT INTO regress_scratch.audit VALUES ('proc', 'BATCH', i);
        COMMIT;
    END LOOP;
END $$;
CALL regress_scratch.load_in_batches();
SELECT count(*) FROM regress_scratch.audit WHERE tbl = 'proc';
-- L037 regress_agent: TRUNCATE and DROP in scratch
TRUNCATE regress_scratch.ruled;
TRUNCATE regress_scratch.parents CASCADE;
DROP VIEW regress_scratch.big_orders;
DROP FUNCTION regress_scratch.del_fact(int);
DROP TABLE regress_scratch.derived, regress_scratch.base;
DROP MATERIALIZED VIEW regress_scratch.totals;
-- L038 regress_agent: session settings, search_path and unqualified names resolving to scratch
SET search_path = regress_scratch, regress_prod;
SET work_mem = '8MB';
BEGIN;
SET LOCAL statement_timeout = '10s';
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM regress_prod.orders;
COMMIT;
CREATE TABLE unqualified (id int);
INSERT INTO unqualified SELECT id FROM customers;
SELECT count(*) FROM unqualified;
SHOW search_path;
RESET search_path;
RESET work_mem;
SELECT pg_catalog.set_config('application_name', 'regress_agent_tool', false);
-- L039 regress_agent: role and session statements that change nothing (SET ROLE NONE, RESET ROLE, DISCARD TEMP, LISTEN)
SET ROLE NONE;
RESET ROLE;
DISCARD TEMP;
DISCARD PLANS;
LISTEN regress_agent_channel;
UNLISTEN *;
-- L040 regress_agent: read production's large object it was granted
SELECT convert_from(lo_get(424242), 'UTF8');
-- L041 regress_agent: sandbox_list() and sandbox_stats() are readable by the agent
SELECT name, schema, agent FROM sandbox_list();
SELECT kind, refusals > 0 AS counted FROM sandbox_stats()
 WHERE role = current_user AND kind = 'write';
-- L042 regress_agent: GRANT USAGE on a scratch type and a scratch domain to another role
GRANT USAGE ON TYPE regress_scratch.pair TO regress_reviewer;
GRANT USAGE ON DOMAIN regress_scratch.positive TO regress_reviewer;
SELECT has_type_privilege('regress_reviewer', 'regress_scratch.pair', 'USAGE') AS pair_usage,
       has_type_privilege('regress_reviewer', 'regress_scratch.positive', 'USAGE') AS positive_usage;
-- L043 regress_agent: RESET ALL, which connection poolers send between clients
SET work_mem = '8MB';
RESET ALL;
SELECT current_setting('work_mem') <> '8MB' AS work_mem_reset, current_user, session_user;
-- L047 regress_agent: an operator in scratch over a harmless built-in function, and using it
CREATE OPERATOR regress_scratch.### (LEFTARG = int, RIGHTARG = int, FUNCTION = int4pl);
SELECT 2 OPERATOR(regress_scratch.###) 3 AS sum;
-- L048 regress_agent: a scratch table whose DEFAULT is nextval(scratch sequence), filled by INSERT and COPY FROM STDIN
CREATE SEQUENCE regress_scratch.some_seq;
CREATE TABLE regress_scratch.dflt (id bigint DEFAULT nextval('regress_scratch.some_seq'), v text);
INSERT INTO regress_scratch.dflt (v) VALUES ('insert');
COPY regress_scratch.dflt (v) FROM STDIN;
copy
\.
COPY regress_scratch.dflt FROM STDIN;
10	explicit
\.
SELECT * FROM regress_scratch.dflt ORDER BY id;
RESET SESSION AUTHORIZATION;

-- superuser: none of the agent's work changed production
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

-- superuser: reads what the agent built (a plain read is how a sandbox is reviewed)
SELECT count(*) FROM regress_scratch.order_facts;

-- superuser: the guard never bothers a role that is not an agent
-- L044 superuser: writes production directly
INSERT INTO regress_prod.customers VALUES (3, 'carol');
UPDATE regress_prod.orders SET amount = amount + 1 WHERE id = 1;
DELETE FROM regress_prod.loose;
SELECT nextval('regress_prod.order_seq');
CREATE TABLE regress_prod.added (id int);
ALTER TABLE regress_prod.orders ADD COLUMN note text;
CREATE INDEX ON regress_prod.orders (amount);
COMMENT ON TABLE regress_prod.orders IS 'checked';
VACUUM ANALYZE regress_prod.orders;
TRUNCATE regress_prod.added;
DROP TABLE regress_prod.added;
SELECT lo_put(424242, 0, 'P');
-- L045 superuser: SET ROLE to the production owner and work as it
SET ROLE regress_prod_owner;
INSERT INTO regress_prod.events VALUES (3, '2024-09-01');
REFRESH MATERIALIZED VIEW regress_prod.order_totals;
SELECT regress_prod.bump();
RESET ROLE;
-- L046 regress_reviewer: a role that is not an agent writes production with its grants
SET SESSION AUTHORIZATION regress_reviewer;
UPDATE regress_prod.customers SET name = 'Carol' WHERE id = 3;
SELECT nextval('regress_prod.order_seq');
RESET SESSION AUTHORIZATION;
SELECT regress_prod_state() <> :'prod_state' AS superuser_changed_production;

-- superuser: clean up
SET client_min_messages = warning;
SELECT sandbox_drop('regress_scratch');
SELECT sandbox_drop('regress_scratch2');
DROP SCHEMA regress_prod CASCADE;
SELECT lo_unlink(424242);
DROP SERVER regress_files, regress_remote;
DROP FOREIGN DATA WRAPPER regress_fdw;
DROP EXTENSION file_fdw;
DROP EXTENSION dblink;
DROP FUNCTION regress_prod_state();
DROP FUNCTION regress_prod_parts();
DROP OWNED BY regress_agent, regress_agent2, regress_reviewer, regress_prod_owner;
DROP ROLE regress_agent;
DROP ROLE regress_agent2;
DROP ROLE regress_reviewer;
DROP ROLE regress_prod_owner;
RESET client_min_messages;
