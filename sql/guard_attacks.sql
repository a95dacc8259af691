--
-- Guard attacks: every route out of the scratch schema that an agent might
-- try, run by the agent after its role has drifted far beyond what
-- sandbox_create gave it.  Each case shows the refusal and, after each
-- group, a digest of production taken as superuser shows nothing changed.
--
-- Runs as the regression superuser unless a case says otherwise.  The
-- agent runs under SET SESSION AUTHORIZATION (session user = agent, which
-- is how the guard sees a logged-in agent); its search_path setting is not
-- applied that way, so every name is qualified.
--
-- Where PostgreSQL's own privilege check refuses before the guard, the case
-- says so ("PostgreSQL refuses first"); otherwise the guard refuses (42501,
-- "permission denied to ...").  Statements that only set a case up
-- (creating scratch objects, BEGIN, PREPARE) succeed; the attack itself
-- is refused, and where part of a case is allowed its comment says so.
--
\set VERBOSITY terse

-- superuser: production, the sandbox and the drift, shared with
-- guard_attacks.sql / guard_allowed.sql
\getenv abs_srcdir PG_ABS_SRCDIR
\set drift_setup_sql :abs_srcdir '/sql/include/drift_setup.sql'
\i :drift_setup_sql

-- regress_agent: scratch objects that the attacks below use (these succeed)
SET SESSION AUTHORIZATION regress_agent;
CREATE TABLE regress_scratch.work AS SELECT * FROM regress_prod.orders;
CREATE TABLE regress_scratch.parent (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE regress_scratch.ev_part (id int, at date);
CREATE TABLE regress_scratch.plain (id int, at date);
CREATE TYPE regress_scratch.pair AS (a int, b int);
CREATE DOMAIN regress_scratch.posint AS int CHECK (VALUE > 0);
CREATE FUNCTION regress_scratch.noop_trg() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION regress_scratch.agent_fn() RETURNS int
    LANGUAGE plpgsql AS $$ BEGIN RETURN 42; END $$;
RESET SESSION AUTHORIZATION;
-- superuser: a production view built on the agent's table (a DBA may do this)
CREATE VIEW regress_prod.from_scratch AS SELECT id, amount FROM regress_scratch.work;
-- superuser: the digest of everything an agent must not change, shared with
-- guard_attacks.sql / guard_allowed.sql
\set prod_state_sql :abs_srcdir '/sql/include/prod_state.sql'
\i :prod_state_sql

--
-- 1. Writes to production tables, by every statement form
--
SET SESSION AUTHORIZATION regress_agent;
-- A001 regress_agent: INSERT into a production table
INSERT INTO regress_prod.orders VALUES (100, 1, 1);
INSERT INTO regress_prod.orders (customer_id, amount) VALUES (1, 1);
-- A002 regress_agent: UPDATE a production table
UPDATE regress_prod.orders SET amount = 0.5;
-- A003 regress_agent: DELETE from a production table
DELETE FROM regress_prod.customers WHERE id = 2;
-- A004 regress_agent: MERGE into a production table
MERGE INTO regress_prod.customers c USING (VALUES (3, 'eve')) v(id, name) ON c.id = v.id
    WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.name);
-- A005 regress_agent: INSERT ... ON CONFLICT DO UPDATE into production
INSERT INTO regress_prod.customers VALUES (1, 'mallory')
    ON CONFLICT (id) DO UPDATE SET name = excluded.name;
-- A006 regress_agent: TRUNCATE a production table
TRUNCATE regress_prod.orders;
-- A007 regress_agent: COPY FROM STDIN into a production table, refused before any row is read (psql's \copy sends COPY FROM STDIN; its rows come from a file, not from this script, which psql before 15.19 ran as SQL after a refused COPY)
\copy regress_prod.customers from 'data/copy_pair.tsv'
-- A008 regress_agent: SELECT ... FOR UPDATE locks production rows
SELECT id FROM regress_prod.orders WHERE id = 1 FOR UPDATE;
-- A009 regress_agent: SELECT ... FOR SHARE and FOR KEY SHARE
SELECT id FROM regress_prod.customers FOR SHARE;
SELECT o.id FROM regress_scratch.work w JOIN regress_prod.orders o USING (id) FOR KEY SHARE OF o;
-- A010 regress_agent: a writable CTE deleting production rows
WITH gone AS (DELETE FROM regress_prod.orders RETURNING id) SELECT count(*) FROM gone;
-- A011 regress_agent: a writable CTE whose outer query only reads scratch
WITH moved AS (INSERT INTO regress_prod.customers VALUES (9, 'x') RETURNING id)
    SELECT count(*) FROM regress_scratch.work;
-- A012 regress_agent: EXPLAIN ANALYZE runs the update
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) UPDATE regress_prod.orders SET amount = 1;
-- A013 regress_agent: a prepared statement (PREPARE is fine, EXECUTE is refused)
PREPARE regress_upd AS UPDATE regress_prod.orders SET amount = amount * 2;
EXECUTE regress_upd;
DEALLOCATE regress_upd;
-- A014 regress_agent: a cursor FOR UPDATE over production
BEGIN;
DECLARE regress_cur CURSOR FOR SELECT * FROM regress_prod.orders FOR UPDATE;
ROLLBACK;
-- A015 regress_agent: a DO block
DO $$ BEGIN UPDATE regress_prod.orders SET amount = 1; END $$;
-- A016 regress_agent: INSERT ... SELECT from scratch into production
INSERT INTO regress_prod.orders SELECT id + 100, customer_id, amount FROM regress_scratch.work;
-- A017 regress_agent: a production table the agent owns (drift)
INSERT INTO regress_prod.owned_by_agent VALUES (2, 'mine');
-- A018 regress_agent: UPDATE through production's own auto-updatable view
UPDATE regress_prod.big_orders SET amount = 1;
-- A019 regress_agent: DELETE from a partitioned production table
DELETE FROM regress_prod.events;
-- A020 regress_agent: UPDATE of a production partition directly
UPDATE regress_prod.events_2024 SET id = 2;
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged after group 1
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 2. Code the agent writes in scratch that writes production, run by the agent
--
SET SESSION AUTHORIZATION regress_agent;
-- A021 regress_agent: a PL/pgSQL function
CREATE FUNCTION regress_scratch.w_plpgsql() RETURNS void LANGUAGE plpgsql
    AS $$ BEGIN UPDATE regress_prod.orders SET amount = 1; END $$;
SELECT regress_scratch.w_plpgsql();
-- A022 regress_agent: a SQL function
CREATE FUNCTION regress_scratch.w_sql() RETURNS void LANGUAGE sql
    AS 'DELETE FROM regress_prod.customers';
SELECT regress_scratch.w_sql();
-- A023 regress_agent: a SQL function with a BEGIN ATOMIC body
CREATE FUNCTION regress_scratch.w_atomic() RETURNS void LANGUAGE sql
    BEGIN ATOMIC INSERT INTO regress_prod.customers VALUES (7, 'atomic'); END;
SELECT regress_scratch.w_atomic();
-- A024 regress_agent: a SECURITY DEFINER function the agent wrote itself (it runs as the agent; the guard refuses the TRUNCATE inside)
CREATE FUNCTION regress_scratch.w_definer() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    AS $$ BEGIN TRUNCATE regress_prod.orders; END $$;
SELECT regress_scratch.w_definer();
-- A025 regress_agent: a procedure that commits between writes
CREATE PROCEDURE regress_scratch.w_proc() LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO regress_scratch.plain VALUES (1); COMMIT; UPDATE regress_prod.loose SET id = 0; END $$;
CALL regress_scratch.w_proc();
-- A026 regress_agent: dynamic SQL in PL/pgSQL
CREATE FUNCTION regress_scratch.w_dynamic(t text) RETURNS void LANGUAGE plpgsql
    AS $$ BEGIN EXECUTE format('DELETE FROM %s', t); END $$;
SELECT regress_scratch.w_dynamic('regress_prod.orders');
-- A027 regress_agent: a PL/pgSQL cursor FOR UPDATE over production
CREATE FUNCTION regress_scratch.w_cursor() RETURNS int LANGUAGE plpgsql AS $$
DECLARE c CURSOR FOR SELECT id FROM regress_prod.orders FOR UPDATE; r record;
BEGIN OPEN c; FETCH c INTO r; RETURN r.id; END $$;
SELECT regress_scratch.w_cursor();
-- A028 regress_agent: a trigger on a scratch table that writes production
CREATE FUNCTION regress_scratch.w_trg() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN DELETE FROM regress_prod.orders; RETURN NEW; END $$;
CREATE TABLE regress_scratch.trg_tab (id int);
CREATE TRIGGER w_trg AFTER INSERT ON regress_scratch.trg_tab
    FOR EACH ROW EXECUTE FUNCTION regress_scratch.w_trg();
INSERT INTO regress_scratch.trg_tab VALUES (1);
-- A029 regress_agent: a deferred constraint trigger that writes production at commit
CREATE TABLE regress_scratch.deferred_tab (id int);
CREATE CONSTRAINT TRIGGER w_deferred AFTER INSERT ON regress_scratch.deferred_tab
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION regress_scratch.w_trg();
BEGIN;
INSERT INTO regress_scratch.deferred_tab VALUES (1);
COMMIT;
-- A030 regress_agent: a rule on a scratch table that also writes production
CREATE TABLE regress_scratch.rule_tab (id int);
CREATE RULE w_rule AS ON INSERT TO regress_scratch.rule_tab
    DO ALSO INSERT INTO regress_prod.customers VALUES (NEW.id, 'by rule');
INSERT INTO regress_scratch.rule_tab VALUES (50);
-- A031 regress_agent: a DO INSTEAD rule turning a scratch delete into a production delete
CREATE TABLE regress_scratch.instead_tab (id int);
CREATE RULE w_instead AS ON DELETE TO regress_scratch.instead_tab
    DO INSTEAD DELETE FROM regress_prod.orders WHERE id = OLD.id;
INSERT INTO regress_scratch.instead_tab VALUES (1);
DELETE FROM regress_scratch.instead_tab;
-- A032 regress_agent: an auto-updatable view in scratch over a production table
CREATE VIEW regress_scratch.orders_v AS SELECT * FROM regress_prod.orders;
UPDATE regress_scratch.orders_v SET amount = 1;
INSERT INTO regress_scratch.orders_v (customer_id, amount) VALUES (1, 1);
-- A033 regress_agent: a scratch view with an INSTEAD OF trigger that writes production
CREATE VIEW regress_scratch.iot_v AS SELECT 1 AS id;
CREATE FUNCTION regress_scratch.iot() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN UPDATE regress_prod.customers SET name = 'iot'; RETURN NEW; END $$;
CREATE TRIGGER iot INSTEAD OF INSERT ON regress_scratch.iot_v
    FOR EACH ROW EXECUTE FUNCTION regress_scratch.iot();
INSERT INTO regress_scratch.iot_v VALUES (1);
-- A034 regress_agent: a function whose SET clause switches to the production owner
CREATE FUNCTION regress_scratch.as_owner() RETURNS void LANGUAGE plpgsql
    SET role = regress_prod_owner
    AS $$ BEGIN UPDATE regress_prod.orders SET amount = 1; END $$;
SELECT regress_scratch.as_owner();
-- A035 regress_agent: a refused write swallowed by an exception handler changes nothing
CREATE FUNCTION regress_scratch.swallow() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    UPDATE regress_prod.orders SET amount = 1;
    RETURN 'written';
EXCEPTION WHEN insufficient_privilege THEN
    RETURN 'refused: ' || SQLERRM;
END $$;
SELECT regress_scratch.swallow();
-- A208 regress_agent: its own SECURITY DEFINER function (owned by the agent, so it runs as the agent), called by the agent: the call is allowed and writes scratch, the guard refuses the production write inside
CREATE FUNCTION regress_scratch.own_definer(touch_prod boolean) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO regress_scratch.plain VALUES (208);
    IF touch_prod THEN
        UPDATE regress_prod.orders SET amount = 2;
        INSERT INTO regress_prod.customers VALUES (208, 'definer');
    END IF;
    RETURN current_user;
END $$;
SELECT pg_get_userbyid(proowner) AS owner, prosecdef FROM pg_proc
 WHERE oid = 'regress_scratch.own_definer(boolean)'::regprocedure;
SELECT regress_scratch.own_definer(false) AS runs_as;
SELECT regress_scratch.own_definer(true);
SELECT count(*) AS scratch_rows_written FROM regress_scratch.plain WHERE id = 208;
DELETE FROM regress_scratch.plain WHERE id = 208;
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged after group 2
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 3. DDL on production, and objects smuggled into it
--
SET SESSION AUTHORIZATION regress_agent;
-- A036 regress_agent: CREATE TABLE in the production schema
CREATE TABLE regress_prod.planted (id int);
-- A037 regress_agent: CREATE TABLE AS in the production schema
CREATE TABLE regress_prod.planted AS SELECT 1 AS id;
SELECT 1 AS id INTO regress_prod.planted;
-- A038 regress_agent: a temporary table inheriting from production
CREATE TEMP TABLE heir () INHERITS (regress_prod.loose);
-- A039 regress_agent: an identity column whose sequence is put in production
CREATE TABLE regress_scratch.ident (id int GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME regress_prod.planted_seq));
-- A040 regress_agent: CREATE VIEW, MATERIALIZED VIEW, SEQUENCE, TYPE, DOMAIN, FUNCTION in production
CREATE VIEW regress_prod.planted_v AS SELECT 1 AS id;
CREATE MATERIALIZED VIEW regress_prod.planted_mv AS SELECT 1 AS id;
CREATE SEQUENCE regress_prod.planted_seq;
CREATE TYPE regress_prod.planted_t AS (a int);
CREATE DOMAIN regress_prod.planted_d AS int;
CREATE FUNCTION regress_prod.planted_f() RETURNS int LANGUAGE sql AS 'SELECT 1';
-- A041 regress_agent: CREATE OPERATOR in production (shadowing an operator for readers of prod)
CREATE OPERATOR regress_prod.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);
-- A042 regress_agent: CREATE OR REPLACE of a production function
CREATE OR REPLACE FUNCTION regress_prod.bump() RETURNS void
    LANGUAGE sql SECURITY DEFINER AS 'DELETE FROM regress_prod.orders';
-- A043 regress_agent: CREATE OR REPLACE of a production view
CREATE OR REPLACE VIEW regress_prod.big_orders AS SELECT * FROM regress_prod.orders WHERE amount > 0;
-- A044 regress_agent: CREATE INDEX on a production table
CREATE INDEX regress_planted_idx ON regress_prod.orders (amount);
-- A045 regress_agent: CREATE INDEX CONCURRENTLY on a production table
CREATE INDEX CONCURRENTLY regress_planted_idx ON regress_prod.orders (amount);
-- A046 regress_agent: CREATE TRIGGER on a production table, running agent code
CREATE TRIGGER planted BEFORE INSERT ON regress_prod.orders
    FOR EACH ROW EXECUTE FUNCTION regress_scratch.noop_trg();
-- A047 regress_agent: CREATE TRIGGER on the production table the agent owns
CREATE TRIGGER planted BEFORE INSERT ON regress_prod.owned_by_agent
    FOR EACH ROW EXECUTE FUNCTION regress_scratch.noop_trg();
-- A048 regress_agent: CREATE RULE on a production table
CREATE RULE planted AS ON INSERT TO regress_prod.orders DO INSTEAD NOTHING;
-- A049 regress_agent: CREATE POLICY on a production table
CREATE POLICY planted ON regress_prod.orders USING (regress_scratch.agent_fn() > 0);
-- A050 regress_agent: CREATE STATISTICS on a production table
CREATE STATISTICS regress_scratch.planted_stats ON id, customer_id FROM regress_prod.orders;
-- A051 regress_agent: ALTER TABLE production ADD COLUMN
ALTER TABLE regress_prod.orders ADD COLUMN planted int;
-- A052 regress_agent: ALTER TABLE ADD COLUMN on the production table the agent owns
ALTER TABLE regress_prod.owned_by_agent ADD COLUMN planted int;
-- A053 regress_agent: ALTER TABLE production RENAME, RENAME COLUMN, ALTER INDEX RENAME
ALTER TABLE regress_prod.orders RENAME TO orders_old;
ALTER TABLE regress_prod.orders RENAME COLUMN amount TO amt;
ALTER INDEX regress_prod.orders_customer_idx RENAME TO renamed_idx;
-- A054 regress_agent: ALTER TABLE production ALTER COLUMN SET DEFAULT to an agent function (smuggling)
ALTER TABLE regress_prod.orders ALTER COLUMN amount SET DEFAULT regress_scratch.agent_fn();
-- A055 regress_agent: ALTER TABLE production DROP CONSTRAINT, ALTER COLUMN TYPE, SET STATISTICS
ALTER TABLE regress_prod.orders DROP CONSTRAINT orders_amount_check;
ALTER TABLE regress_prod.orders ALTER COLUMN amount TYPE float8;
ALTER TABLE regress_prod.orders ALTER COLUMN amount SET STATISTICS 5;
-- A056 regress_agent: ALTER TABLE production ENABLE ROW LEVEL SECURITY
ALTER TABLE regress_prod.orders ENABLE ROW LEVEL SECURITY;
-- A057 regress_agent: ALTER TABLE production DISABLE / ENABLE TRIGGER
ALTER TABLE regress_prod.orders DISABLE TRIGGER ALL;
ALTER TABLE regress_prod.customers ENABLE TRIGGER ALL;
-- A058 regress_agent: ALTER TABLE production SET SCHEMA into scratch
ALTER TABLE regress_prod.loose SET SCHEMA regress_scratch;
-- A059 regress_agent: ALTER TABLE scratch SET SCHEMA into production
ALTER TABLE regress_scratch.plain SET SCHEMA regress_prod;
-- A060 regress_agent: move an agent function, type and domain into production (smuggling)
ALTER FUNCTION regress_scratch.agent_fn() SET SCHEMA regress_prod;
ALTER TYPE regress_scratch.pair SET SCHEMA regress_prod;
ALTER DOMAIN regress_scratch.posint SET SCHEMA regress_prod;
-- A061 regress_agent: ALTER TABLE production OWNER TO the agent
ALTER TABLE regress_prod.orders OWNER TO regress_agent;
-- A062 regress_agent: hand the production table it owns to another role
ALTER TABLE regress_prod.owned_by_agent OWNER TO regress_prod_owner;
-- A063 regress_agent: ATTACH PARTITION of a production table into a scratch parent
ALTER TABLE regress_scratch.parent ATTACH PARTITION regress_prod.loose
    FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
-- A064 regress_agent: ATTACH PARTITION of a scratch table into a production parent
ALTER TABLE regress_prod.events ATTACH PARTITION regress_scratch.ev_part
    FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
-- A065 regress_agent: DETACH PARTITION of production
ALTER TABLE regress_prod.events DETACH PARTITION regress_prod.events_2024;
-- A066 regress_agent: ALTER TABLE scratch INHERIT a production table
ALTER TABLE regress_scratch.plain INHERIT regress_prod.loose;
-- A067 regress_agent: ALTER TABLE production INHERIT a scratch table
ALTER TABLE regress_prod.loose INHERIT regress_scratch.plain;
-- A068 regress_agent: CREATE TABLE ... PARTITION OF a production parent
CREATE TABLE regress_scratch.ev_2031 PARTITION OF regress_prod.events
    FOR VALUES FROM ('2031-01-01') TO ('2032-01-01');
-- A069 regress_agent: CREATE TABLE ... INHERITS a production table
CREATE TABLE regress_scratch.heir () INHERITS (regress_prod.loose);
-- A070 regress_agent: a foreign key from scratch to production (adds triggers to production)
CREATE TABLE regress_scratch.fk_tab (customer_id int REFERENCES regress_prod.customers);
-- A071 regress_agent: the same foreign key added by ALTER TABLE
ALTER TABLE regress_scratch.plain ADD FOREIGN KEY (id) REFERENCES regress_prod.customers;
-- A072 regress_agent: DROP a production table, view, function, sequence, index
DROP TABLE regress_prod.loose;
DROP VIEW regress_prod.big_orders;
DROP FUNCTION regress_prod.bump();
DROP SEQUENCE regress_prod.order_seq CASCADE;
DROP INDEX regress_prod.orders_customer_idx;
-- A073 regress_agent: DROP the production table the agent owns
DROP TABLE regress_prod.owned_by_agent;
-- A074 regress_agent: DROP ... CASCADE of its own table, which a production view depends on
DROP TABLE regress_scratch.work CASCADE;
ALTER TABLE regress_scratch.work DROP COLUMN amount CASCADE;
-- A075 regress_agent: DROP SCHEMA production CASCADE (the agent is a member of its owner)
DROP SCHEMA regress_prod CASCADE;
-- A076 regress_agent: ALTER SEQUENCE production RESTART, ALTER FUNCTION production
ALTER SEQUENCE regress_prod.order_seq RESTART WITH 1000;
ALTER FUNCTION regress_prod.bump() SECURITY INVOKER;
-- A077 regress_agent: move every table of a tablespace at once (production included)
ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE pg_default;
-- A078 regress_agent: ALTER MATERIALIZED VIEW and ALTER VIEW of production
ALTER MATERIALIZED VIEW regress_prod.order_totals RENAME TO totals;
ALTER VIEW regress_prod.big_orders ALTER COLUMN amount SET DEFAULT 1;
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged after group 3
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 4. Privileges, comments, labels, global objects and roles
--
SET SESSION AUTHORIZATION regress_agent;
-- A079 regress_agent: GRANT on a production table
GRANT SELECT ON regress_prod.orders TO regress_agent2;
-- A080 regress_agent: REVOKE on a production table
REVOKE SELECT ON regress_prod.orders FROM regress_reviewer;
-- A081 regress_agent: GRANT ON ALL TABLES IN SCHEMA production
GRANT ALL ON ALL TABLES IN SCHEMA regress_prod TO PUBLIC;
-- A082 regress_agent: GRANT on a production function and sequence
GRANT EXECUTE ON FUNCTION regress_prod.bump() TO regress_agent2;
GRANT USAGE ON SEQUENCE regress_prod.order_seq TO regress_agent2;
-- A083 regress_agent: GRANT on the production table it owns
GRANT ALL ON regress_prod.owned_by_agent TO regress_agent2;
-- A084 regress_agent: GRANT and REVOKE on its own scratch schema
GRANT USAGE, CREATE ON SCHEMA regress_scratch TO regress_agent2;
REVOKE USAGE ON SCHEMA regress_scratch FROM regress_reviewer;
-- A085 regress_agent: GRANT on the production schema and on the database
GRANT CREATE ON SCHEMA regress_prod TO regress_agent2;
GRANT CREATE ON DATABASE contrib_regression TO regress_agent2;
-- A086 regress_agent: GRANT a role (its membership in the production owner) to another role
GRANT regress_prod_owner TO regress_agent2;
-- A087 regress_agent: ALTER DEFAULT PRIVILEGES in production and for itself
ALTER DEFAULT PRIVILEGES IN SCHEMA regress_prod GRANT SELECT ON TABLES TO regress_agent2;
ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC;
-- A088 regress_agent: COMMENT ON production objects and on its scratch schema
COMMENT ON TABLE regress_prod.orders IS 'planted';
COMMENT ON COLUMN regress_prod.orders.amount IS 'planted';
COMMENT ON FUNCTION regress_prod.bump() IS 'planted';
COMMENT ON SCHEMA regress_scratch IS 'planted';
COMMENT ON ROLE regress_agent IS 'planted';
-- A089 regress_agent: SECURITY LABEL on production
SECURITY LABEL ON TABLE regress_prod.orders IS 'planted';
-- A090 regress_agent: CREATE CAST between its own scratch type and a built-in type (a global object)
CREATE CAST (regress_scratch.pair AS text) WITH INOUT;
-- A091 regress_agent: other global objects
CREATE ROLE regress_planted;
CREATE EVENT TRIGGER regress_planted ON ddl_command_start EXECUTE FUNCTION regress_scratch.noop_trg();
CREATE ACCESS METHOD regress_planted TYPE TABLE HANDLER heap_tableam_handler;
CREATE LANGUAGE regress_planted HANDLER plpgsql_call_handler;
-- A092 regress_agent: ALTER LARGE OBJECT of production
ALTER LARGE OBJECT 424242 OWNER TO regress_agent;
-- A093 regress_agent: hand its own scratch objects to another role
ALTER TABLE regress_scratch.work OWNER TO regress_agent2;
ALTER FUNCTION regress_scratch.agent_fn() OWNER TO regress_prod_owner;
ALTER TYPE regress_scratch.pair OWNER TO regress_agent2;
-- A094 regress_agent: DROP OWNED BY (would reach its production table and grants)
DROP OWNED BY regress_agent;
-- A095 regress_agent: REASSIGN OWNED BY
REASSIGN OWNED BY regress_agent TO regress_prod_owner;
-- A096 regress_agent: ALTER ROLE itself (attributes, password, settings)
ALTER ROLE regress_agent CREATEDB;
ALTER ROLE regress_agent PASSWORD 'planted';
ALTER ROLE regress_agent SET work_mem = '1MB';
ALTER ROLE regress_agent IN DATABASE contrib_regression SET search_path = regress_prod;
-- A097 regress_agent: ALTER ROLE of the production owner it is a member of
ALTER ROLE regress_prod_owner SET search_path = regress_scratch;
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged after group 4
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 5. Identity, the guard's settings and its state tables
--
SET SESSION AUTHORIZATION regress_agent;
-- A098 regress_agent: SET ROLE to the production owner (a member by drift)
SET ROLE regress_prod_owner;
SELECT current_user, session_user;
-- A099 regress_agent: SET SESSION AUTHORIZATION to a non-agent role
SET SESSION AUTHORIZATION regress_prod_owner;
SELECT current_user, session_user;
-- A100 regress_agent: SET ROLE from dynamic SQL in a DO block
DO $$ BEGIN EXECUTE 'SET ROLE regress_prod_owner'; END $$;
-- A101 regress_agent: SET LOCAL ROLE inside a transaction
BEGIN;
SET LOCAL ROLE regress_prod_owner;
ROLLBACK;
-- A102 regress_agent: set_config('role', ...), which never reaches ProcessUtility
-- (refused like SET ROLE: the planner sees set_config('role', ...) with a
-- constant name; a name chosen at run time is refused too)
SELECT set_config('role', 'regress_prod_owner', false);
SELECT set_config(lower('ROLE'), 'regress_prod_owner', false);
DO $$ BEGIN PERFORM set_config('role', 'regress_prod_owner', false); END $$;
SELECT current_user, session_user;
UPDATE regress_prod.orders SET amount = 1;
CREATE TABLE regress_prod.planted (id int);
RESET ROLE;
SELECT current_user, session_user;
-- A103 regress_agent: SET ROLE to another agent it is not a member of (PostgreSQL refuses first)
SET ROLE regress_agent2;
-- A104 regress_agent: SET ROLE to another agent it was made a member of (drift), then write that agent's scratch schema
-- (the SET ROLE itself passes, since the target is an agent too; the guard
-- allows only the session user's own scratch schema, so both writes are
-- refused)
RESET SESSION AUTHORIZATION;
GRANT regress_agent2 TO regress_agent;
SET SESSION AUTHORIZATION regress_agent;
SET ROLE regress_agent2;
INSERT INTO regress_scratch2.work VALUES (98, 1);
CREATE TABLE regress_scratch2.planted (id int);
RESET ROLE;
RESET SESSION AUTHORIZATION;
REVOKE regress_agent2 FROM regress_agent;
SET SESSION AUTHORIZATION regress_agent;
-- A105 superuser: SET ROLE to the agent restricts the session too
RESET SESSION AUTHORIZATION;
SET ROLE regress_agent;
UPDATE regress_prod.orders SET amount = 1;
SELECT nextval('regress_prod.order_seq');
RESET ROLE;
SET SESSION AUTHORIZATION regress_agent;
-- A106 regress_agent: RESET ALL does not lift the restriction (RESET ALL succeeds, as connection poolers need; the DELETE after it is refused)
RESET ALL;
DELETE FROM regress_prod.orders;
-- A107 regress_agent: SET a sandbox setting it was never granted (the guard refuses the SETs; PostgreSQL refuses set_config() first)
SET sandbox.allow_temp_objects = off;
SET sandbox.approval_policy = 'regress_scratch.agent_fn';
SELECT set_config('sandbox.required_approvals', '1', false);
-- A108 regress_agent: SET sandbox.trusted_functions, granted by drift (GRANT SET ON PARAMETER), then call the production SECURITY DEFINER function it would name
-- (settings that govern the guard are never the agent's to change, whatever
-- it was granted: the SET is refused, so the call is refused too; RESET
-- changes nothing and passes)
SET sandbox.trusted_functions = 'regress_prod.bump';
SELECT regress_prod.bump();
RESET sandbox.trusted_functions;
-- A109 regress_agent: set_config('sandbox.trusted_functions', ...), granted by drift
SELECT set_config('sandbox.trusted_functions', 'regress_prod.bump', true);
-- A110 regress_agent: ALTER ROLE / ALTER DATABASE ... SET a sandbox setting
ALTER ROLE regress_agent SET sandbox.trusted_functions = 'regress_prod.bump';
ALTER DATABASE contrib_regression SET sandbox.trusted_functions = 'regress_prod.bump';
-- A111 regress_agent: unregister itself in the state table (granted by drift)
DELETE FROM sandbox.sandboxes WHERE agent = 'regress_agent'::regrole;
-- A112 regress_agent: hand its sandbox to another role in the state table
UPDATE sandbox.sandboxes SET agent = 'regress_reviewer'::regrole WHERE name = 'regress_scratch';
-- A113 regress_agent: claim production as a scratch schema in the state table
INSERT INTO sandbox.sandboxes (name, agent) VALUES ('regress_prod', 'regress_agent');
-- A114 regress_agent: TRUNCATE the state table, and DROP EXTENSION sandbox (refused by the extension's own check while sandboxes exist; the agent does not own the extension either)
TRUNCATE sandbox.sandboxes CASCADE;
DROP EXTENSION sandbox;
-- A115 regress_agent: PREPARE TRANSACTION (it would outlive the session)
BEGIN;
INSERT INTO regress_scratch.plain VALUES (1);
PREPARE TRANSACTION 'regress_agent_xact';
ROLLBACK;
RESET SESSION AUTHORIZATION;
-- A209 regress_agent: change sandbox settings after SET on one of them is granted by drift (GRANT SET ON PARAMETER, revoked after the case)
-- (the guard refuses the SET, the SET LOCAL and the set_config() of the
-- granted setting; PostgreSQL refuses set_config() of the ungranted
-- sandbox.required_approvals first)
GRANT SET ON PARAMETER sandbox.allow_temp_objects TO regress_agent;
SET SESSION AUTHORIZATION regress_agent;
SET sandbox.allow_temp_objects = off;
SELECT set_config('sandbox.allow_temp_objects', 'off', false);
SELECT set_config('sandbox.required_approvals', '0', false);
BEGIN;
SET LOCAL sandbox.trusted_servers = 'x';
ROLLBACK;
SHOW sandbox.allow_temp_objects;
SHOW sandbox.required_approvals;
SHOW sandbox.trusted_servers;
RESET SESSION AUTHORIZATION;
REVOKE SET ON PARAMETER sandbox.allow_temp_objects FROM regress_agent;
-- superuser: production unchanged after group 5
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 6. Sequences, large objects and other side doors
--
SET SESSION AUTHORIZATION regress_agent;
-- A116 regress_agent: nextval and setval on a production sequence
SELECT nextval('regress_prod.order_seq');
SELECT setval('regress_prod.order_seq', 1);
-- A117 regress_agent: nextval on a sequence named at run time
SELECT nextval(('regress_prod.' || 'order_seq')::regclass);
-- A118 regress_agent: nextval from a PL/pgSQL assignment
DO $$ DECLARE n bigint; BEGIN n := nextval('regress_prod.order_seq'); END $$;
-- A119 regress_agent: nextval in a SQL function body (never inlined out of the guard's sight)
CREATE FUNCTION regress_scratch.next_sql() RETURNS bigint LANGUAGE sql
    AS $$ SELECT nextval('regress_prod.order_seq') $$;
SELECT regress_scratch.next_sql();
-- A120 regress_agent: nextval through a SQL function taking the sequence as an argument
CREATE FUNCTION regress_scratch.next_of(s regclass) RETURNS bigint LANGUAGE sql
    AS $$ SELECT nextval(s) $$;
SELECT regress_scratch.next_of('regress_prod.order_seq');
-- A121 regress_agent: a CHECK constraint calling nextval(production)
CREATE TABLE regress_scratch.seq_check (id int CHECK (nextval('regress_prod.order_seq') > 0));
CREATE TABLE regress_scratch.seq_check (id int);
ALTER TABLE regress_scratch.seq_check ADD CONSTRAINT c CHECK (nextval('regress_prod.order_seq') > 0);
-- A122 regress_agent: a domain CHECK constraint calling nextval(production)
CREATE DOMAIN regress_scratch.seq_dom_check AS int CHECK (nextval('regress_prod.order_seq') > 0);
-- A123 regress_agent: a trigger WHEN condition calling nextval(production)
CREATE TRIGGER seq_when BEFORE INSERT ON regress_scratch.seq_check
    FOR EACH ROW WHEN (nextval('regress_prod.order_seq') > 0) EXECUTE FUNCTION regress_scratch.noop_trg();
-- A124 regress_agent: a materialized view and CREATE TABLE AS calling nextval(production)
CREATE MATERIALIZED VIEW regress_scratch.seq_mv AS SELECT nextval('regress_prod.order_seq') AS n;
CREATE TABLE regress_scratch.seq_ctas AS SELECT nextval('regress_prod.order_seq') AS n;
RESET SESSION AUTHORIZATION;
-- superuser: the sequence did not move
SELECT last_value, is_called FROM regress_prod.order_seq;
SET SESSION AUTHORIZATION regress_agent;
-- A125 regress_agent: a column DEFAULT nextval(production) on a scratch table, by CREATE TABLE, ALTER COLUMN SET DEFAULT and ADD COLUMN
-- (refused when the default is created, so neither COPY, which evaluates
-- defaults without the planner, nor the table rewrite of ADD COLUMN can
-- ever advance the production sequence)
CREATE TABLE regress_scratch.seq_default (id bigint DEFAULT nextval('regress_prod.order_seq'), v text);
CREATE TABLE regress_scratch.seq_default (id bigint, v text);
INSERT INTO regress_scratch.seq_default VALUES (1, 'row');
ALTER TABLE regress_scratch.seq_default ALTER COLUMN id SET DEFAULT nextval('regress_prod.order_seq');
ALTER TABLE regress_scratch.seq_default ADD COLUMN n bigint DEFAULT nextval('regress_prod.order_seq');
-- A126 regress_agent: production's own DEFAULT nextval(production), copied with LIKE ... INCLUDING DEFAULTS or INCLUDING ALL
CREATE TABLE regress_scratch.like_orders (LIKE regress_prod.orders INCLUDING DEFAULTS);
CREATE TABLE regress_scratch.like_orders (LIKE regress_prod.orders INCLUDING ALL);
-- A127 regress_agent: a domain DEFAULT nextval(production), by CREATE DOMAIN and ALTER DOMAIN ... SET DEFAULT (refused when the default is created)
CREATE DOMAIN regress_scratch.seq_dom AS bigint DEFAULT nextval('regress_prod.order_seq');
CREATE DOMAIN regress_scratch.seq_dom2 AS bigint;
CREATE TABLE regress_scratch.dom_tab (id regress_scratch.seq_dom2, v text);
ALTER DOMAIN regress_scratch.seq_dom2 SET DEFAULT nextval('regress_prod.order_seq');
-- A128 regress_agent: nextval(production) as an argument of CALL (evaluated without the planner)
CREATE PROCEDURE regress_scratch.take(n bigint) LANGUAGE plpgsql AS $$ BEGIN END $$;
CALL regress_scratch.take(nextval('regress_prod.order_seq'));
-- A129 regress_agent: nextval(production) as a parameter of EXECUTE (evaluated without the planner; PREPARE and DEALLOCATE pass)
PREPARE regress_echo(bigint) AS SELECT $1 > 0 AS got_value;
EXECUTE regress_echo(nextval('regress_prod.order_seq'));
DEALLOCATE regress_echo;
-- A130 regress_agent: nextval(production) in ALTER COLUMN TYPE ... USING (evaluated for every row without the planner)
CREATE TABLE regress_scratch.using_tab (id int);
INSERT INTO regress_scratch.using_tab VALUES (1);
ALTER TABLE regress_scratch.using_tab ALTER COLUMN id TYPE bigint USING nextval('regress_prod.order_seq');
-- A131 regress_agent: nextval(production) in a partition bound (evaluated once at CREATE without the planner)
CREATE TABLE regress_scratch.bound_parent (id bigint) PARTITION BY RANGE (id);
CREATE TABLE regress_scratch.bound_part PARTITION OF regress_scratch.bound_parent
    FOR VALUES FROM (nextval('regress_prod.order_seq')) TO (1000000);
-- A132 regress_agent: nextval(production) in the WHERE clause of COPY FROM (evaluated for every row without the planner)
\copy regress_scratch.plain (id) from 'data/copy_id.txt' where nextval('regress_prod.order_seq') > 0
RESET SESSION AUTHORIZATION;
-- superuser: the sequence did not move
SELECT last_value, is_called FROM regress_prod.order_seq;
SET SESSION AUTHORIZATION regress_agent;
-- A133 regress_agent: nextval on another agent's sequence
SELECT nextval('regress_scratch2.work_seq');
-- A134 regress_agent: ALTER SEQUENCE of another agent's sequence (PostgreSQL refuses first: not the owner)
ALTER SEQUENCE regress_scratch2.work_seq RESTART WITH 100;
-- A135 regress_agent: create, unlink, write and truncate large objects
SELECT lo_create(0);
SELECT lo_unlink(424242);
SELECT lowrite(lo_open(424242, x'20000'::int), 'planted');
SELECT lo_put(424242, 0, 'planted');
SELECT lo_from_bytea(0, 'planted');
BEGIN;
SELECT lo_truncate(lo_open(424242, x'20000'::int), 0);
ROLLBACK;
-- A136 regress_agent: psql's \lo_import and \lo_unlink, which call the large-object functions over the fast-path protocol
\lo_import /dev/null
\lo_unlink 424242
-- A137 regress_agent: COMMENT ON and GRANT ON a production large object
COMMENT ON LARGE OBJECT 424242 IS 'planted';
GRANT SELECT ON LARGE OBJECT 424242 TO regress_agent2;
-- A138 regress_agent: server-side lo_import and lo_export (granted by drift)
SELECT lo_import('/etc/hostname');
SELECT lo_export(424242, '/tmp/regress_guard_lo');
-- A139 regress_agent: pg_logical_emit_message writes into the change stream
SELECT pg_logical_emit_message(false, 'regress', 'planted');
SELECT pg_logical_emit_message(true, 'regress', 'planted');
-- A140 regress_agent: pg_notify and NOTIFY reach other sessions
SELECT pg_notify('regress_channel', 'planted');
NOTIFY regress_channel, 'planted';
-- A141 regress_agent: other sessions and replication (PostgreSQL would refuse some of these too; the guard refuses first)
SELECT pg_terminate_backend(pg_backend_pid());
SELECT pg_cancel_backend(pg_backend_pid());
SELECT pg_create_logical_replication_slot('regress_slot', 'test_decoding');
-- A142 regress_agent: pg_read_file and friends (granted by drift)
SELECT pg_read_file('postgresql.conf');
SELECT pg_read_file('postgresql.conf', 0, 10);
SELECT pg_read_binary_file('postgresql.conf');
SELECT pg_ls_dir('.');
SELECT pg_stat_file('postgresql.conf');
-- A143 regress_agent: a production SECURITY DEFINER function (EXECUTE granted by drift)
SELECT regress_prod.bump();
-- A144 regress_agent: the same function called from inside agent code
DO $$ BEGIN PERFORM regress_prod.bump(); END $$;
-- A145 regress_agent: the same function as a default on a scratch table, reached by INSERT
CREATE FUNCTION regress_scratch.call_bump() RETURNS int LANGUAGE sql AS 'SELECT regress_prod.bump(); SELECT 1';
CREATE TABLE regress_scratch.bump_default (x int, y int DEFAULT regress_scratch.call_bump());
INSERT INTO regress_scratch.bump_default (x) VALUES (1);
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged after group 6
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 7. Egress, maintenance and schema-level statements
--
SET SESSION AUTHORIZATION regress_agent;
-- A146 regress_agent: COPY to and from server files
COPY regress_prod.orders TO '/tmp/regress_guard_copy';
COPY regress_scratch.plain FROM '/etc/hostname';
-- A147 regress_agent: COPY to and from programs
COPY regress_scratch.plain TO PROGRAM 'cat > /dev/null';
COPY regress_scratch.plain FROM PROGRAM 'echo 1';
-- A148 regress_agent: CREATE EXTENSION (even into scratch), ALTER EXTENSION
CREATE EXTENSION pg_trgm SCHEMA regress_scratch;
ALTER EXTENSION dblink UPDATE;
-- A149 regress_agent: LOAD a library
LOAD 'auto_explain';
-- A150 regress_agent: ALTER SYSTEM
ALTER SYSTEM SET shared_preload_libraries = '';
-- A151 regress_agent: publications
CREATE PUBLICATION regress_pub FOR TABLE regress_prod.orders;
CREATE PUBLICATION regress_pub FOR TABLE regress_scratch.work;
-- A152 regress_agent: subscriptions
CREATE SUBSCRIPTION regress_sub CONNECTION 'dbname=regress_nowhere' PUBLICATION p
    WITH (connect = false, slot_name = NONE, enabled = false, create_slot = false);
-- A153 regress_agent: foreign-data wrappers and servers
CREATE FOREIGN DATA WRAPPER regress_fdw2;
CREATE SERVER regress_srv2 FOREIGN DATA WRAPPER regress_fdw;
ALTER SERVER regress_remote OPTIONS (ADD host 'elsewhere');
-- A154 regress_agent: user mappings
CREATE USER MAPPING FOR regress_agent SERVER regress_remote;
-- A155 regress_agent: IMPORT FOREIGN SCHEMA into scratch
IMPORT FOREIGN SCHEMA remote FROM SERVER regress_remote INTO regress_scratch;
-- A156 regress_agent: CREATE FOREIGN TABLE in scratch over a server file
CREATE FOREIGN TABLE regress_scratch.passwd (line text)
    SERVER regress_files OPTIONS (filename '/etc/passwd');
-- A157 regress_agent: read a production foreign table (egress)
SELECT count(*) FROM regress_prod.remote_file;
-- A158 regress_agent: dblink reaches the network
SELECT dblink_connect('regress_conn', 'dbname=postgres');
SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(x int);
-- A159 regress_agent: LOCK a production table
LOCK TABLE regress_prod.orders IN ACCESS EXCLUSIVE MODE;
-- A160 regress_agent: VACUUM, VACUUM FULL and ANALYZE of production
VACUUM regress_prod.orders;
VACUUM FULL regress_prod.customers;
ANALYZE regress_prod.orders;
VACUUM regress_scratch.work, regress_prod.orders;
-- A161 regress_agent: VACUUM / ANALYZE of the whole database
VACUUM;
ANALYZE;
-- A162 regress_agent: CLUSTER production
CLUSTER regress_prod.orders USING orders_pkey;
CLUSTER;
-- A163 regress_agent: REINDEX production (table, index, schema, database)
REINDEX TABLE regress_prod.orders;
REINDEX INDEX regress_prod.orders_pkey;
REINDEX SCHEMA regress_prod;
REINDEX DATABASE contrib_regression;
-- A164 regress_agent: REFRESH MATERIALIZED VIEW of production
REFRESH MATERIALIZED VIEW regress_prod.order_totals;
-- A165 regress_agent: CHECKPOINT and other statements no allowlist entry names
CHECKPOINT;
CREATE TABLESPACE regress_ts LOCATION '/tmp';
-- A166 regress_agent: CREATE SCHEMA other than IF NOT EXISTS of its own scratch
CREATE SCHEMA regress_planted;
CREATE SCHEMA regress_scratch;
CREATE SCHEMA IF NOT EXISTS regress_prod;
CREATE SCHEMA IF NOT EXISTS regress_scratch2;
CREATE SCHEMA IF NOT EXISTS regress_planted;
-- (CREATE SCHEMA AUTHORIZATION takes the schema's name from the role)
CREATE SCHEMA AUTHORIZATION regress_agent;
-- A167 regress_agent: rename, re-own and drop its scratch schema (PostgreSQL refuses RENAME first: the schema is not the agent's)
ALTER SCHEMA regress_scratch RENAME TO regress_moved;
ALTER SCHEMA regress_scratch OWNER TO regress_agent;
DROP SCHEMA regress_scratch CASCADE;
-- A168 regress_agent: rename and re-own the production schema (owner rights by membership)
ALTER SCHEMA regress_prod RENAME TO regress_moved;
ALTER SCHEMA regress_prod OWNER TO regress_agent;
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged after group 7
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 8. Another agent's scratch schema (privileges on it granted by drift)
--
SET SESSION AUTHORIZATION regress_agent;
-- A169 regress_agent: INSERT, UPDATE, DELETE in another agent's scratch table
INSERT INTO regress_scratch2.work VALUES (99, 1);
UPDATE regress_scratch2.work SET amount = 0;
DELETE FROM regress_scratch2.work;
-- A170 regress_agent: TRUNCATE another agent's table
TRUNCATE regress_scratch2.work;
-- A171 regress_agent: COPY FROM STDIN into another agent's table (with \copy, as A007)
\copy regress_scratch2.work from 'data/copy_pair.tsv'
-- A172 regress_agent: CREATE TABLE and CREATE FUNCTION in another agent's scratch schema
CREATE TABLE regress_scratch2.planted (id int);
CREATE FUNCTION regress_scratch2.planted() RETURNS int LANGUAGE sql AS 'SELECT 1';
-- A173 regress_agent: ALTER and DROP another agent's table
ALTER TABLE regress_scratch2.work ADD COLUMN planted int;
DROP TABLE regress_scratch2.work;
-- A174 regress_agent: a trigger on another agent's table
CREATE TRIGGER planted BEFORE INSERT ON regress_scratch2.work
    FOR EACH ROW EXECUTE FUNCTION regress_scratch.noop_trg();
-- A175 regress_agent: a view in its own scratch that updates another agent's table
CREATE VIEW regress_scratch.other_v AS SELECT * FROM regress_scratch2.work;
UPDATE regress_scratch.other_v SET amount = 0;
-- A176 regress_agent: move its own table into another agent's scratch schema
ALTER TABLE regress_scratch.plain SET SCHEMA regress_scratch2;
RESET SESSION AUTHORIZATION;
-- superuser: production (and the other agent's scratch) unchanged after group 8
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 9. Agent code runs only as the agent: a superuser or a reviewer touching
--    what the agent built must not run it with their own privileges
--
SET SESSION AUTHORIZATION regress_agent;
-- regress_agent: code that would write production if anyone else ran it (creating it succeeds)
CREATE FUNCTION regress_scratch.escalate() RETURNS int LANGUAGE plpgsql
    AS $$ BEGIN UPDATE regress_prod.orders SET amount = 1; RETURN 1; END $$;
CREATE FUNCTION regress_scratch.escalate_sql(int) RETURNS int LANGUAGE sql IMMUTABLE
    AS 'SELECT $1';
CREATE FUNCTION regress_scratch.escalate_trg() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN UPDATE regress_prod.orders SET amount = 1; RETURN NEW; END $$;
CREATE FUNCTION regress_scratch.escalate_definer() RETURNS int LANGUAGE plpgsql SECURITY DEFINER
    AS $$ BEGIN UPDATE regress_prod.orders SET amount = 1; RETURN 1; END $$;
CREATE VIEW regress_scratch.calls_fn AS SELECT regress_scratch.escalate() AS x;
CREATE TABLE regress_scratch.with_trigger (id int);
CREATE TRIGGER escalate BEFORE INSERT ON regress_scratch.with_trigger
    FOR EACH ROW EXECUTE FUNCTION regress_scratch.escalate_trg();
CREATE TABLE regress_scratch.with_rule (id int);
CREATE RULE escalate AS ON INSERT TO regress_scratch.with_rule
    DO ALSO UPDATE regress_prod.orders SET amount = 1;
CREATE TABLE regress_scratch.with_policy (id int);
INSERT INTO regress_scratch.with_policy VALUES (1);
ALTER TABLE regress_scratch.with_policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY escalate ON regress_scratch.with_policy USING (regress_scratch.escalate() > 0);
GRANT SELECT ON regress_scratch.with_policy TO regress_reviewer;
CREATE TABLE regress_scratch.with_default (id int, x int DEFAULT regress_scratch.escalate());
CREATE TABLE regress_scratch.with_index (id int);
CREATE INDEX with_index_expr ON regress_scratch.with_index (regress_scratch.escalate_sql(id));
CREATE FUNCTION regress_scratch.escalate_op(int, int) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN UPDATE regress_prod.orders SET amount = 1; RETURN true; END $$;
CREATE OPERATOR regress_scratch.### (LEFTARG = int, RIGHTARG = int, FUNCTION = regress_scratch.escalate_op);
CREATE FUNCTION regress_scratch.escalate_sfunc(int, int) RETURNS int LANGUAGE plpgsql
    AS $$ BEGIN UPDATE regress_prod.orders SET amount = 1; RETURN $1; END $$;
CREATE AGGREGATE regress_scratch.escalate_agg(int) (SFUNC = regress_scratch.escalate_sfunc, STYPE = int, INITCOND = '0');
CREATE VIEW regress_scratch.instead_v AS SELECT 1 AS id;
CREATE RULE escalate AS ON INSERT TO regress_scratch.instead_v
    DO INSTEAD DELETE FROM regress_prod.orders;
RESET SESSION AUTHORIZATION;
-- A177 superuser: read the agent's view that calls an agent function
SELECT * FROM regress_scratch.calls_fn;
-- A178 superuser: call an agent function directly
SELECT regress_scratch.escalate();
-- A179 regress_reviewer: call an agent function directly
SET SESSION AUTHORIZATION regress_reviewer;
SELECT regress_scratch.escalate();
RESET SESSION AUTHORIZATION;
-- A180 superuser: fire the agent's trigger by inserting into its table
INSERT INTO regress_scratch.with_trigger VALUES (1);
-- A181 superuser: insert into the agent's table whose rule writes production
INSERT INTO regress_scratch.with_rule VALUES (1);
-- A182 regress_reviewer: read the agent's table whose policy calls an agent function
SET SESSION AUTHORIZATION regress_reviewer;
SELECT * FROM regress_scratch.with_policy;
RESET SESSION AUTHORIZATION;
-- A183 superuser: insert into the agent's table whose default calls an agent function
INSERT INTO regress_scratch.with_default (id) VALUES (1);
-- A184 superuser: insert into the agent's table whose index expression is an agent function
INSERT INTO regress_scratch.with_index VALUES (1);
-- A185 superuser: call the agent's SECURITY DEFINER function (it runs as the agent, so the guard applies)
SELECT regress_scratch.escalate_definer();
-- A186 superuser: update production through the agent's auto-updatable view over production (group 2)
UPDATE regress_scratch.orders_v SET amount = 1;
-- A187 superuser: insert into the agent's view whose INSTEAD rule deletes production
INSERT INTO regress_scratch.instead_v VALUES (1);
-- A188 superuser: use the agent's operator
SELECT 1 OPERATOR(regress_scratch.###) 2;
-- A189 superuser: use the agent's aggregate
SELECT regress_scratch.escalate_agg(id) FROM regress_prod.customers;
-- superuser: production unchanged after group 9
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

-- regress_agent: built-in side effects hidden in what others read or write (creating them succeeds)
SET SESSION AUTHORIZATION regress_agent;
CREATE VIEW regress_scratch.v_nextval AS SELECT nextval('regress_prod.order_seq') AS n;
CREATE VIEW regress_scratch.v_unlink AS SELECT lo_unlink(424242) AS n;
CREATE TABLE regress_scratch.t_setval (id int);
CREATE RULE setval AS ON INSERT TO regress_scratch.t_setval
    DO ALSO SELECT setval('regress_prod.order_seq', 1000);
CREATE TABLE regress_scratch.t_seqpolicy (id int);
INSERT INTO regress_scratch.t_seqpolicy VALUES (1);
ALTER TABLE regress_scratch.t_seqpolicy ENABLE ROW LEVEL SECURITY;
CREATE POLICY seq ON regress_scratch.t_seqpolicy USING (nextval('regress_prod.order_seq') > 0);
GRANT SELECT ON regress_scratch.t_seqpolicy TO regress_reviewer;
RESET SESSION AUTHORIZATION;
-- A190 superuser: read the agent's view that calls nextval(production)
SELECT n > 0 AS advanced FROM regress_scratch.v_nextval;
-- A191 superuser: read the agent's view that calls lo_unlink(production large object)
SELECT * FROM regress_scratch.v_unlink;
-- A192 regress_agent: a DEFAULT calling lo_unlink(production large object) on a scratch table, for others to fire on INSERT or COPY
-- (refused when the default is created, by CREATE TABLE and by ALTER TABLE)
SET SESSION AUTHORIZATION regress_agent;
CREATE TABLE regress_scratch.t_unlink (id int, n int DEFAULT lo_unlink(424242));
CREATE TABLE regress_scratch.t_unlink (id int, n int);
ALTER TABLE regress_scratch.t_unlink ALTER COLUMN n SET DEFAULT lo_unlink(424242);
ALTER TABLE regress_scratch.t_unlink ADD COLUMN m int DEFAULT lo_unlink(424242);
RESET SESSION AUTHORIZATION;
-- A193 superuser: COPY FROM STDIN into the agent's table whose DEFAULT calls an agent function (COPY evaluates defaults without the planner)
\copy regress_scratch.with_default (id) from 'data/copy_id.txt'
-- A194 superuser: insert into the agent's table whose rule calls setval(production)
INSERT INTO regress_scratch.t_setval VALUES (1);
-- A195 regress_reviewer: read the agent's table whose policy calls nextval(production)
SET SESSION AUTHORIZATION regress_reviewer;
SELECT id FROM regress_scratch.t_seqpolicy;
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

-- regress_agent: an aggregate whose transition function is the built-in lo_create (creating it succeeds)
SET SESSION AUTHORIZATION regress_agent;
CREATE AGGREGATE regress_scratch.make_lo(*) (SFUNC = lo_create, STYPE = oid, INITCOND = '434343');
RESET SESSION AUTHORIZATION;
-- A196 superuser: use the agent's aggregate whose transition function is the built-in lo_create
-- (the aggregate is agent code, whatever its transition function: refused)
SELECT regress_scratch.make_lo(*);
SELECT count(*) AS large_objects_created FROM pg_largeobject_metadata WHERE oid = 434343;
SET SESSION AUTHORIZATION regress_agent;
-- A197 regress_agent: an operator whose function is the built-in lo_unlink, for others to use (refused at CREATE OPERATOR)
CREATE OPERATOR regress_scratch.!!! (RIGHTARG = oid, FUNCTION = lo_unlink);
-- A198 regress_agent: a domain whose CHECK calls lo_unlink, for others to cast to (refused at CREATE DOMAIN and at ALTER DOMAIN ... ADD CONSTRAINT)
CREATE DOMAIN regress_scratch.unlinking AS int CHECK (lo_unlink(424242) = 1);
CREATE DOMAIN regress_scratch.unlinking AS int;
ALTER DOMAIN regress_scratch.unlinking ADD CONSTRAINT unlink CHECK (lo_unlink(424242) = 1);
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

--
-- 10. Fail closed: the guard's own state and machinery
--
SET SESSION AUTHORIZATION regress_agent;
-- A199 regress_agent: lock the state table so that other backends cannot read it
LOCK TABLE sandbox.sandboxes IN ACCESS EXCLUSIVE MODE;
-- A200 regress_agent: disable the trigger that tells other backends the state changed
ALTER TABLE sandbox.sandboxes DISABLE TRIGGER sandboxes_changed;
-- A201 regress_agent: drop the row-level security or the policy of the state table
ALTER TABLE sandbox.sandboxes DISABLE ROW LEVEL SECURITY;
DROP POLICY own_sandboxes ON sandbox.sandboxes;
-- A202 regress_agent: create objects in the extension's schema (PostgreSQL refuses CREATE FUNCTION first: no CREATE on schema sandbox)
CREATE TABLE sandbox.planted (id int);
CREATE FUNCTION sandbox.guard_active() RETURNS boolean LANGUAGE sql AS 'SELECT true';
-- A203 regress_agent: load the library again or turn it off for the session
LOAD 'sandbox';
SET session_preload_libraries = '';
-- A204 regress_agent: a refused write inside a savepoint leaves the session as restricted as before
BEGIN;
SAVEPOINT s;
UPDATE regress_prod.orders SET amount = 1;
ROLLBACK TO SAVEPOINT s;
DELETE FROM regress_prod.orders;
ROLLBACK;
-- A205 regress_agent: an extension function it calls does not leave the session unrestricted
SELECT count(*) AS own_sandboxes FROM sandbox_list();
UPDATE regress_prod.orders SET amount = 1;
RESET SESSION AUTHORIZATION;
-- A206 regress_agent2: a scratch schema renamed behind the guard's back gives no rights under its new name
ALTER SCHEMA regress_scratch2 RENAME TO regress_scratch2_moved;
SET SESSION AUTHORIZATION regress_agent2;
INSERT INTO regress_scratch2_moved.work VALUES (99, 1);
RESET SESSION AUTHORIZATION;
ALTER SCHEMA regress_scratch2_moved RENAME TO regress_scratch2;
-- regress_agent2: its rights return with the name (this succeeds)
SET SESSION AUTHORIZATION regress_agent2;
INSERT INTO regress_scratch2.work VALUES (99, 1);
DELETE FROM regress_scratch2.work WHERE id = 99;
RESET SESSION AUTHORIZATION;
-- superuser: production unchanged after group 10
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

-- A210 regress_agent writes a SECURITY DEFINER event trigger function that
-- updates production; a superuser installs it as an event trigger (event
-- trigger functions are approved endpoints, but not when an agent wrote
-- them): the agent's next DDL fires it as the agent, and its write is refused
SET SESSION AUTHORIZATION regress_agent;
CREATE FUNCTION regress_scratch.on_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
  AS $$ BEGIN UPDATE regress_prod.orders SET amount = 0; END $$;
RESET SESSION AUTHORIZATION;
CREATE EVENT TRIGGER regress_on_ddl ON ddl_command_end EXECUTE FUNCTION regress_scratch.on_ddl();
SET SESSION AUTHORIZATION regress_agent;
CREATE TABLE regress_scratch.fires_event_trigger (id int);
RESET SESSION AUTHORIZATION;
DROP EVENT TRIGGER regress_on_ddl;
-- superuser: production unchanged after A210
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

-- A211 regress_agent: overwrite and clear the planner statistics of a
-- production table with PostgreSQL 18's pg_restore_relation_stats,
-- pg_restore_attribute_stats, pg_clear_relation_stats and
-- pg_clear_attribute_stats (they need MAINTAIN on the table, which drift
-- granted with ALL); on 15 these functions do not exist
-- superuser: production has statistics to clear
ANALYZE regress_prod.customers;
SELECT regress_prod_state() AS prod_state \gset
SET SESSION AUTHORIZATION regress_agent;
SELECT pg_restore_relation_stats('schemaname', 'regress_prod', 'relname', 'customers',
                                 'reltuples', 123456::real);
SELECT pg_restore_attribute_stats('schemaname', 'regress_prod', 'relname', 'customers',
                                  'attname', 'name', 'inherited', false, 'null_frac', 0.5::real);
SELECT pg_clear_relation_stats('regress_prod', 'customers');
SELECT pg_clear_attribute_stats('regress_prod', 'customers', 'id', false);
RESET SESSION AUTHORIZATION;
-- superuser: the statistics were not touched
SELECT reltuples <> 123456 AS reltuples_kept FROM pg_class WHERE oid = 'regress_prod.customers'::regclass;
SELECT count(*) = 0 AS no_planted_null_frac FROM pg_statistic
 WHERE starelid = 'regress_prod.customers'::regclass AND stanullfrac = 0.5;
SELECT regress_prod_state() = :'prod_state' AS production_unchanged;

-- superuser: every refusal was counted for the agent
SELECT kind, refusals > 0 AS counted FROM sandbox_stats()
 WHERE role = 'regress_agent' AND kind IN ('write', 'CREATE', 'function call', 'sequence')
 ORDER BY kind;
SET SESSION AUTHORIZATION regress_agent;
-- A207 regress_agent: erase the record of its refusals (EXECUTE on sandbox_stats_reset granted by drift)
SELECT sandbox_stats_reset();
RESET SESSION AUTHORIZATION;
-- superuser: the counters survived
SELECT count(*) > 0 AS counters_kept FROM sandbox_stats() WHERE role = 'regress_agent';

-- superuser: clean up
SET client_min_messages = warning;
DROP VIEW regress_prod.from_scratch;
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
