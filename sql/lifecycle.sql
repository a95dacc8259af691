--
-- Sandbox lifecycle: create, list, usage, extend, drop, reap.
-- Runs as the regression superuser unless a case says otherwise.
--
\set VERBOSITY terse

CREATE SCHEMA regress_prod;
CREATE TABLE regress_prod.orders (id int PRIMARY KEY, amount numeric NOT NULL);
INSERT INTO regress_prod.orders SELECT g, g * 10 FROM generate_series(1, 5) g;
CREATE TABLE regress_prod.already_granted (id int);
CREATE ROLE regress_agent LOGIN;
CREATE ROLE regress_agent2 LOGIN;
-- a privilege the agent held before: sandbox_drop must not take it away
GRANT SELECT ON regress_prod.already_granted TO regress_agent;

-- superuser: the guard is active because the library is preloaded
SELECT sandbox.guard_active();

-- superuser: create a sandbox with read access to production
SELECT sandbox_name, schema_name, agent_role, readable_schemas,
       expires_at IS NULL AS no_expiry, password IS NULL AS no_password
  FROM sandbox_create('regress_etl', 'regress_agent', ARRAY['regress_prod']);

-- what it made: a schema the agent may create in, owned by the caller
SELECT nspname, pg_get_userbyid(nspowner) = current_user AS owned_by_caller,
       has_schema_privilege('regress_agent', oid, 'CREATE') AS agent_create,
       has_schema_privilege('regress_agent', oid, 'USAGE') AS agent_usage,
       has_schema_privilege('regress_agent2', oid, 'USAGE') AS other_usage
  FROM pg_namespace WHERE nspname = 'regress_etl';
-- read access to production, now and for future tables (default privileges)
SELECT has_schema_privilege('regress_agent', 'regress_prod', 'USAGE') AS prod_usage,
       has_schema_privilege('regress_agent', 'regress_prod', 'CREATE') AS prod_create,
       has_table_privilege('regress_agent', 'regress_prod.orders', 'SELECT') AS orders_select,
       has_table_privilege('regress_agent', 'regress_prod.orders', 'UPDATE') AS orders_update;
CREATE TABLE regress_prod.later (id int);
SELECT has_table_privilege('regress_agent', 'regress_prod.later', 'SELECT') AS later_select;
-- the agent's search_path in this database
SELECT setconfig FROM pg_db_role_setting
 WHERE setrole = 'regress_agent'::regrole
   AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database());
-- recorded
SELECT name, agent, read_schemas, role_created FROM sandbox.sandboxes;
SELECT kind, schema_name, object_name FROM sandbox.grants ORDER BY 1, 2, 3;

-- superuser: sandbox_list and sandbox_usage
SELECT name, schema, agent, expires_at IS NULL AS no_expiry, bytes, objects FROM sandbox_list();
SET SESSION AUTHORIZATION regress_agent;
CREATE TABLE regress_etl.work AS SELECT * FROM regress_prod.orders;
CREATE VIEW regress_etl.work_v AS SELECT id FROM regress_etl.work;
RESET SESSION AUTHORIZATION;
SELECT name, bytes > 0 AS has_bytes, objects FROM sandbox_list();
SELECT sandbox, bytes > 0 AS has_bytes, share > 0 AND share < 1 AS share_ok FROM sandbox_usage();

-- agent: sees only its own sandbox in sandbox_list(); another role sees none
SET SESSION AUTHORIZATION regress_agent;
SELECT name, agent FROM sandbox_list();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_agent2;
SELECT count(*) FROM sandbox_list();
RESET SESSION AUTHORIZATION;

-- superuser: a second sandbox for the same agent extends its search_path
SELECT sandbox_name FROM sandbox_create('regress_etl2', 'regress_agent', ARRAY['regress_prod']);
SELECT setconfig FROM pg_db_role_setting
 WHERE setrole = 'regress_agent'::regrole
   AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database());

-- superuser: extend makes the sandbox expire ttl from now
SELECT sandbox_extend('regress_etl2', '2 hours') BETWEEN now() + '119 minutes' AND now() + '121 minutes' AS extended;
SELECT name, expires_at IS NOT NULL AS expires FROM sandbox_list() ORDER BY name;

-- superuser: dropping one sandbox keeps what the other still needs
SELECT sandbox_drop('regress_etl2');
SELECT has_table_privilege('regress_agent', 'regress_prod.orders', 'SELECT') AS still_reads;
SELECT setconfig FROM pg_db_role_setting
 WHERE setrole = 'regress_agent'::regrole
   AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database());

-- superuser: reap drops only expired sandboxes
SELECT sandbox_name FROM sandbox_create('regress_short', 'regress_agent2', '{}', '1 hour');
UPDATE sandbox.sandboxes SET expires_at = now() - interval '1 second' WHERE name = 'regress_short';
SELECT sandbox_reap();
SELECT name FROM sandbox_list();
SELECT count(*) FROM pg_namespace WHERE nspname = 'regress_short';
SELECT sandbox_reap();

-- superuser: an expired sandbox that cannot be dropped does not stop the others
SELECT sandbox_name FROM sandbox_create('regress_stuck', 'regress_agent2', '{}', '1 hour');
SELECT sandbox_name FROM sandbox_create('regress_gone', 'regress_agent2', '{}', '1 hour');
CREATE TABLE regress_stuck.t (id int);
CREATE VIEW regress_prod.stuck_v AS SELECT * FROM regress_stuck.t;
UPDATE sandbox.sandboxes SET expires_at = now() - interval '1 second'
 WHERE name IN ('regress_stuck', 'regress_gone');
SELECT sandbox_reap();
SELECT name FROM sandbox_list() ORDER BY name;
DROP VIEW regress_prod.stuck_v;
SELECT sandbox_reap();

-- superuser: DROP EXTENSION is refused while sandboxes exist
DROP EXTENSION sandbox;

-- superuser: an object outside the sandbox that depends on it blocks the drop
CREATE VIEW regress_prod.depends AS SELECT * FROM regress_etl.work;
SELECT sandbox_drop('regress_etl');
DROP VIEW regress_prod.depends;

-- superuser: drop removes the schema, the grants it gave and the setting
SELECT sandbox_drop('regress_etl');
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'regress_etl';
SELECT has_schema_privilege('regress_agent', 'regress_prod', 'USAGE') AS prod_usage,
       has_table_privilege('regress_agent', 'regress_prod.orders', 'SELECT') AS orders_select,
       has_table_privilege('regress_agent', 'regress_prod.later', 'SELECT') AS later_select,
       has_table_privilege('regress_agent', 'regress_prod.already_granted', 'SELECT') AS kept_select;
SELECT count(*) AS default_acls FROM pg_default_acl
 WHERE defaclnamespace = 'regress_prod'::regnamespace;
SELECT count(*) AS settings FROM pg_db_role_setting WHERE setrole = 'regress_agent'::regrole;
SELECT count(*) FROM sandbox.sandboxes;
SELECT count(*) FROM sandbox.grants;
-- the agent is an ordinary role again: it may write production when granted
GRANT USAGE ON SCHEMA regress_prod TO regress_agent;
GRANT SELECT, UPDATE ON regress_prod.orders TO regress_agent;
SET SESSION AUTHORIZATION regress_agent;
UPDATE regress_prod.orders SET amount = amount WHERE id = 1;
RESET SESSION AUTHORIZATION;
REVOKE SELECT, UPDATE ON regress_prod.orders FROM regress_agent;
REVOKE USAGE ON SCHEMA regress_prod FROM regress_agent;

-- superuser: a prior search_path of the agent is restored after its last sandbox
ALTER ROLE regress_agent2 IN DATABASE contrib_regression SET search_path = regress_prod, public;
SELECT sandbox_name FROM sandbox_create('regress_tmp', 'regress_agent2');
SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'regress_agent2'::regrole;
SELECT sandbox_drop('regress_tmp');
SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'regress_agent2'::regrole;
ALTER ROLE regress_agent2 IN DATABASE contrib_regression RESET search_path;

-- superuser: login => true makes a temporary login role, returns its password once
SELECT sandbox_name, agent_role, length(password) AS password_length,
       expires_at IS NOT NULL AS expires
  FROM sandbox_create('regress_temp', 'regress_temp_agent', '{}', '1 day', login => true);
SELECT rolname, rolcanlogin, rolsuper, rolvaliduntil IS NOT NULL AS valid_until
  FROM pg_roles WHERE rolname = 'regress_temp_agent';
SELECT sandbox_extend('regress_temp', '3 days') AS new_expiry \gset
SELECT rolvaliduntil = :'new_expiry'::timestamptz AS role_follows
  FROM pg_roles WHERE rolname = 'regress_temp_agent';
SELECT sandbox_drop('regress_temp');
SELECT count(*) AS role_left FROM pg_roles WHERE rolname = 'regress_temp_agent';

-- superuser: no sandboxes left, so the extension may be dropped and made again
SELECT count(*) FROM sandbox_list();
DROP EXTENSION sandbox;
CREATE EXTENSION sandbox;

DROP TABLE regress_prod.later;
DROP SCHEMA regress_prod CASCADE;
DROP ROLE regress_agent;
DROP ROLE regress_agent2;
