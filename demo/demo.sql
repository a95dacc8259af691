-- demo/demo.sql -- a sandbox's life, from creation to drop.
--
-- demo/run runs this file with psql as the cluster's superuser, echoing each
-- statement before its result. Read it top to bottom: each step says what it
-- shows. The agent and the reviewer are played with SET SESSION AUTHORIZATION;
-- a real agent would log in as agent1 (through psql, a driver, dbt or an MCP
-- server) and a real reviewer as reviewer1.

\set VERBOSITY default

\echo
\echo '=== 1. Production: a schema with a table the agent must never change'
\echo

CREATE SCHEMA prod;
CREATE TABLE prod.orders (
	id integer PRIMARY KEY,
	customer text NOT NULL,
	amount numeric(10, 2) NOT NULL,
	ordered_at date NOT NULL
);
INSERT INTO prod.orders VALUES
	(1, 'acme', 120.00, '2024-05-01'),
	(2, 'globex', 75.50, '2024-05-01'),
	(3, 'acme', 310.25, '2024-05-02'),
	(4, 'initech', 42.00, '2024-05-02'),
	(5, 'globex', 18.75, '2024-05-03');

\echo
\echo '=== 2. Install the extension (the server already preloads the library)'
\echo

CREATE EXTENSION sandbox;

\echo
\echo '=== 3. An agent role and its sandbox "etl": write in etl, read prod, expire in 8 hours'
\echo

CREATE ROLE agent1 LOGIN;
CREATE ROLE reviewer1 LOGIN;
GRANT USAGE, CREATE ON SCHEMA prod TO reviewer1;
GRANT SELECT, INSERT, UPDATE, DELETE ON prod.orders TO reviewer1;
SELECT * FROM sandbox_create('etl', 'agent1', ARRAY['prod'], ttl => '8 hours');
SELECT * FROM sandbox_list();

-- Even GRANTs do not open production to an agent: the guard in the server
-- refuses every write outside the scratch schema, whatever the privileges.
-- (Without these grants PostgreSQL's own checks would refuse too.)
GRANT INSERT, UPDATE, DELETE, TRUNCATE ON prod.orders TO agent1;
GRANT CREATE ON SCHEMA prod TO agent1;

\echo
\echo '=== 4. Acting as the agent: build a table in the sandbox from production data'
\echo

SET SESSION AUTHORIZATION agent1;

CREATE TABLE etl.daily AS
	SELECT ordered_at AS day, count(*) AS orders, sum(amount) AS revenue
	  FROM prod.orders
	 GROUP BY ordered_at;
SELECT * FROM etl.daily ORDER BY day;

\echo
\echo '=== 5. Still the agent: writes to production are refused (errors expected)'
\echo

-- These statements fail on purpose; let the script go on after them.
\set ON_ERROR_STOP 0
UPDATE prod.orders SET amount = 0;
DELETE FROM prod.orders WHERE customer = 'acme';
TRUNCATE prod.orders;
CREATE TABLE prod.shadow (id integer);
\set ON_ERROR_STOP 1

RESET SESSION AUTHORIZATION;

\echo
\echo '=== 6. Back as the superuser: production is unchanged, and the refusals were counted'
\echo

SELECT count(*) AS orders, sum(amount) AS total FROM prod.orders;
SELECT * FROM sandbox_stats();

\echo
\echo '=== 7. The agent asks for its table to reach production'
\echo

SET SESSION AUTHORIZATION agent1;
-- The request freezes the table: it moves out of the agent's reach, so what
-- the reviewer approves is exactly what will be applied.
SELECT sandbox_request_promotion('etl.daily', 'prod.daily', 'create',
                                 note => 'daily revenue for the dashboard') AS daily_id \gset
-- The agent cannot approve its own work.
\set ON_ERROR_STOP 0
SELECT sandbox_approve(:daily_id);
\set ON_ERROR_STOP 1
RESET SESSION AUTHORIZATION;

\echo
\echo '=== 8. A reviewer reads the diff, approves, and promotes (as itself)'
\echo

SET SESSION AUTHORIZATION reviewer1;
SELECT * FROM sandbox_diff(:daily_id);
SELECT sandbox_approve(:daily_id, 'numbers match the orders table');
SELECT * FROM sandbox_promote(:daily_id, dry_run => true);
SELECT * FROM sandbox_promote(:daily_id);
SELECT * FROM prod.daily ORDER BY day;
RESET SESSION AUTHORIZATION;

\echo
\echo '=== 9. A correction to production rows, applied and then reverted'
\echo

SET SESSION AUTHORIZATION agent1;
CREATE TABLE etl.order_fixes (LIKE prod.orders INCLUDING ALL);
INSERT INTO etl.order_fixes SELECT id, customer, amount * 1.1, ordered_at
  FROM prod.orders WHERE customer = 'globex';
SELECT sandbox_request_promotion('etl.order_fixes', 'prod.orders', 'upsert',
                                 note => 'globex prices were 10% low') AS fix_id \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION reviewer1;
SELECT * FROM sandbox_diff(:fix_id);
SELECT sandbox_approve(:fix_id);
SELECT * FROM sandbox_promote(:fix_id);
SELECT * FROM prod.orders ORDER BY id;
-- Second thoughts: nothing changed production since, so revert restores it.
SELECT * FROM sandbox_revert(:fix_id);
SELECT * FROM prod.orders ORDER BY id;
RESET SESSION AUTHORIZATION;
-- Every transition is on record: who, when, why.
SELECT promotion, actor, from_status, to_status, reason
  FROM sandbox.promotion_events ORDER BY at;

\echo
\echo '=== 10. Production-like data: a referentially complete sample and synthetic rows'
\echo

-- A jaffle-shop-shaped production schema "shop" (customers, orders, payments).
\set ECHO none
\ir jaffle.sql
\set ECHO queries
SELECT * FROM sandbox_create('shopwork', 'agent1', ARRAY['shop']);
SET SESSION AUTHORIZATION agent1;
-- 10% of the payments, plus every order and customer they reference, with the
-- foreign keys recreated between the clones: the subset is complete.
SELECT sandbox_clone('shopwork', 'shop.payments', sample_percent => 10,
                     follow_foreign_keys => true);
SELECT (SELECT count(*) FROM shopwork.payments) AS payments,
       (SELECT count(*) FROM shopwork.orders) AS orders,
       (SELECT count(*) FROM shopwork.customers) AS customers;
-- 5,000 customers that look like production (same countries, same share of
-- each) but carry no production name, e-mail or id.
SELECT sandbox_synthesize('shopwork', 'shop.customers', 5000, seed => 42, target => 'fake_customers');
SELECT country, count(*) FROM shopwork.fake_customers GROUP BY 1 ORDER BY 2 DESC LIMIT 5;
SELECT count(*) AS shared_emails FROM shopwork.fake_customers f JOIN shop.customers c USING (email);
-- A model built on the sample, in the sandbox.
CREATE TABLE shopwork.customer_revenue AS
SELECT c.id, c.country, sum(p.amount) AS revenue
  FROM shopwork.customers c JOIN shopwork.orders o ON o.customer_id = c.id
  JOIN shopwork.payments p ON p.order_id = o.id
 GROUP BY c.id, c.country;
SELECT country, round(sum(revenue), 2) AS revenue FROM shopwork.customer_revenue GROUP BY 1 ORDER BY 2 DESC LIMIT 5;
RESET SESSION AUTHORIZATION;
SELECT sandbox_drop('shopwork');

\echo
\echo '=== 11. Housekeeping: space used, a longer life, then drop'
\echo

SELECT * FROM sandbox_usage();
SELECT sandbox_extend('etl', '1 day');
SELECT sandbox_drop('etl');

-- The sandbox and everything in it are gone; production keeps what was promoted.
SELECT * FROM sandbox_list();
SELECT count(*) AS orders FROM prod.orders;
SELECT count(*) AS daily_rows FROM prod.daily;
