-- Included by guard_attacks.sql and guard_allowed.sql (superuser): production,
-- owned by its own role, the agent's sandbox, and the drift of the agent's
-- role since sandbox_create, each checked.
-- superuser: production, owned by its own role
CREATE ROLE regress_prod_owner;
CREATE ROLE regress_agent LOGIN;
CREATE ROLE regress_agent2 LOGIN;
CREATE ROLE regress_reviewer LOGIN;
CREATE SCHEMA regress_prod AUTHORIZATION regress_prod_owner;
CREATE EXTENSION file_fdw;
CREATE EXTENSION dblink;
CREATE SERVER regress_files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN DATA WRAPPER regress_fdw;
CREATE SERVER regress_remote FOREIGN DATA WRAPPER regress_fdw;
SET ROLE regress_prod_owner;
CREATE SEQUENCE regress_prod.order_seq;
CREATE TABLE regress_prod.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE regress_prod.orders (
    id bigint PRIMARY KEY DEFAULT nextval('regress_prod.order_seq'),
    customer_id int REFERENCES regress_prod.customers,
    amount numeric NOT NULL CHECK (amount > 0));
CREATE INDEX orders_customer_idx ON regress_prod.orders (customer_id);
CREATE TABLE regress_prod.owned_by_agent (id int PRIMARY KEY, note text);
CREATE TABLE regress_prod.loose (id int, at date);
CREATE TABLE regress_prod.events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE regress_prod.events_2024 PARTITION OF regress_prod.events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE VIEW regress_prod.big_orders AS SELECT * FROM regress_prod.orders WHERE amount > 20;
CREATE FUNCTION regress_prod.bump() RETURNS void
    LANGUAGE sql SECURITY DEFINER
    AS 'UPDATE regress_prod.orders SET amount = amount + 1';
INSERT INTO regress_prod.customers VALUES (1, 'alice'), (2, 'bob');
INSERT INTO regress_prod.orders (customer_id, amount)
    SELECT 1 + g % 2, g * 10 FROM generate_series(1, 5) g;
INSERT INTO regress_prod.owned_by_agent VALUES (1, 'keep');
INSERT INTO regress_prod.loose VALUES (1, '2030-01-01');
INSERT INTO regress_prod.events VALUES (1, '2024-06-01');
CREATE MATERIALIZED VIEW regress_prod.order_totals AS
    SELECT customer_id, sum(amount) AS total FROM regress_prod.orders GROUP BY customer_id;
RESET ROLE;
CREATE FOREIGN TABLE regress_prod.remote_file (line text)
    SERVER regress_files OPTIONS (filename '/dev/null');
ALTER FOREIGN TABLE regress_prod.remote_file OWNER TO regress_prod_owner;
SELECT lo_from_bytea(424242, 'production blob') AS prod_lo;
ALTER LARGE OBJECT 424242 OWNER TO regress_prod_owner;

-- superuser: two sandboxes, each agent reads production
SELECT sandbox_name FROM sandbox_create('regress_scratch', 'regress_agent', ARRAY['regress_prod']);
SELECT sandbox_name FROM sandbox_create('regress_scratch2', 'regress_agent2', ARRAY['regress_prod']);

-- regress_agent2: something of its own in its scratch schema
SET SESSION AUTHORIZATION regress_agent2;
CREATE TABLE regress_scratch2.work AS SELECT id, amount FROM regress_prod.orders;
CREATE SEQUENCE regress_scratch2.work_seq;
RESET SESSION AUTHORIZATION;

-- superuser: drift.  Everything below is granted after sandbox_create
-- (which would refuse an agent owning production); the guard must hold
-- against all of it.
GRANT ALL ON SCHEMA regress_prod TO regress_agent;
GRANT ALL ON ALL TABLES IN SCHEMA regress_prod TO regress_agent;
GRANT ALL ON ALL SEQUENCES IN SCHEMA regress_prod TO regress_agent;
GRANT ALL ON ALL FUNCTIONS IN SCHEMA regress_prod TO regress_agent;
DO $$ BEGIN EXECUTE format('GRANT ALL ON DATABASE %I TO regress_agent', current_database()); END $$;
GRANT EXECUTE ON FUNCTION pg_read_file(text), pg_read_file(text, bigint, bigint),
    pg_read_binary_file(text), pg_ls_dir(text), pg_stat_file(text),
    lo_import(text), lo_export(oid, text) TO regress_agent;
GRANT regress_prod_owner TO regress_agent;
ALTER TABLE regress_prod.owned_by_agent OWNER TO regress_agent;
GRANT SELECT, UPDATE ON LARGE OBJECT 424242 TO regress_agent;
GRANT ALL ON SCHEMA regress_scratch2 TO regress_agent;
GRANT ALL ON ALL TABLES IN SCHEMA regress_scratch2 TO regress_agent;
GRANT ALL ON ALL SEQUENCES IN SCHEMA regress_scratch2 TO regress_agent;
GRANT ALL ON sandbox.sandboxes TO regress_agent;
GRANT USAGE ON FOREIGN SERVER regress_files, regress_remote TO regress_agent;
GRANT USAGE ON FOREIGN DATA WRAPPER regress_fdw TO regress_agent;
GRANT SET ON PARAMETER sandbox.trusted_functions TO regress_agent;
GRANT EXECUTE ON FUNCTION sandbox_stats_reset() TO regress_agent;
-- a reviewer who reads what agents built and may itself use production
GRANT USAGE ON SCHEMA regress_prod TO regress_reviewer;
GRANT ALL ON ALL TABLES IN SCHEMA regress_prod TO regress_reviewer;
GRANT ALL ON ALL SEQUENCES IN SCHEMA regress_prod TO regress_reviewer;
GRANT USAGE ON SCHEMA regress_scratch TO regress_reviewer;
-- the drift took: the agent could write production if there were no guard
SELECT has_table_privilege('regress_agent', 'regress_prod.orders', 'INSERT, UPDATE, DELETE, TRUNCATE') AS can_write,
       has_schema_privilege('regress_agent', 'regress_prod', 'CREATE') AS can_create,
       pg_has_role('regress_agent', 'regress_prod_owner', 'USAGE') AS is_owner_member,
       pg_get_userbyid(relowner) AS owned_by_agent_owner
  FROM pg_class WHERE oid = 'regress_prod.owned_by_agent'::regclass;
