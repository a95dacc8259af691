--
-- Bad input to the lifecycle functions: a clear error with the right
-- SQLSTATE, and nothing changed.  Runs as the regression superuser unless
-- a case says otherwise.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE SCHEMA regress_prod;
CREATE ROLE regress_agent LOGIN;
CREATE ROLE regress_other LOGIN;

-- a helper that shows the SQLSTATE and message of a call
CREATE FUNCTION regress_try(cmd text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE cmd;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- names
SELECT regress_try($$SELECT sandbox_create(NULL, 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('Needs Quoting', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('UPPER', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('semi;colon', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('select', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create(repeat('a', 64), 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('public', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('pg_mine', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('information_schema', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('sandbox', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_create('regress_prod', 'regress_agent')$$);

-- agents
SELECT regress_try($$SELECT sandbox_create('regress_x', NULL)$$);
SELECT regress_try($$SELECT sandbox_create('regress_x', '')$$);
SELECT regress_try($$SELECT sandbox_create('regress_x', 'regress_no_such_role')$$);
SELECT regress_try($$SELECT sandbox_create('regress_x', 'regress_agent', login => true)$$);

-- read schemas
SELECT regress_try($$SELECT sandbox_create('regress_x', 'regress_agent', ARRAY['regress_nope'])$$);
SELECT regress_try($$SELECT sandbox_create('regress_x', 'regress_agent', ARRAY[NULL::text])$$);
SELECT regress_try($$SELECT sandbox_create('regress_x', 'regress_agent', ARRAY['pg_catalog'])$$);
SELECT regress_try($$SELECT sandbox_create('regress_x', 'regress_agent', ARRAY['sandbox'])$$);

-- ttl
SELECT regress_try($$SELECT sandbox_create('regress_x', 'regress_agent', '{}', '0 seconds')$$);
SELECT regress_try($$SELECT sandbox_create('regress_x', 'regress_agent', '{}', '-1 hour')$$);

-- role hygiene: each refusal names the reason
CREATE ROLE regress_super SUPERUSER;
CREATE ROLE regress_createrole CREATEROLE;
CREATE ROLE regress_createdb CREATEDB;
CREATE ROLE regress_replication REPLICATION;
CREATE ROLE regress_bypassrls BYPASSRLS;
CREATE ROLE regress_files;
GRANT pg_read_server_files TO regress_files;
CREATE ROLE regress_program;
GRANT pg_execute_server_program TO regress_program;
CREATE ROLE regress_writeall;
GRANT pg_write_all_data TO regress_writeall;
CREATE ROLE regress_signal;
GRANT pg_signal_backend TO regress_signal;
CREATE ROLE regress_indirect;
GRANT regress_files TO regress_indirect;
CREATE ROLE regress_owner;
CREATE TABLE regress_prod.owned (id int);
ALTER TABLE regress_prod.owned OWNER TO regress_owner;
SELECT r, regress_try(format('SELECT sandbox_create(%L, %L)', 'regress_x', r))
  FROM unnest(ARRAY['regress_super', 'regress_createrole', 'regress_createdb',
                    'regress_replication', 'regress_bypassrls', 'regress_files',
                    'regress_program', 'regress_writeall', 'regress_signal',
                    'regress_indirect', 'regress_owner']) r;

-- nothing was made by any of the refused calls
SELECT count(*) AS sandboxes FROM sandbox.sandboxes;
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'regress_x';
SELECT count(*) AS settings FROM pg_db_role_setting WHERE setrole = 'regress_agent'::regrole;
SELECT count(*) AS agents FROM sandbox.agents;

-- the full message of one refusal, for people
SELECT sandbox_create('regress_x', 'regress_super');
SELECT sandbox_create('Bad Name', 'regress_agent');

-- sandbox_drop / sandbox_extend of unknown sandboxes, bad ttl
SELECT regress_try($$SELECT sandbox_drop('regress_nope')$$);
SELECT regress_try($$SELECT sandbox_drop(NULL)$$);
SELECT regress_try($$SELECT sandbox_extend('regress_nope', '1 hour')$$);
SELECT sandbox_name FROM sandbox_create('regress_etl', 'regress_agent');
SELECT regress_try($$SELECT sandbox_extend('regress_etl', '0 seconds')$$);
SELECT regress_try($$SELECT sandbox_extend('regress_etl', NULL)$$);
SELECT regress_try($$SELECT sandbox_create('regress_etl', 'regress_other')$$);

-- agent: may not create, drop, extend or reap sandboxes
SET SESSION AUTHORIZATION regress_agent;
SELECT regress_try($$SELECT sandbox_create('regress_mine', 'regress_agent')$$);
SELECT regress_try($$SELECT sandbox_drop('regress_etl')$$);
SELECT regress_try($$SELECT sandbox_extend('regress_etl', '100 years')$$);
SELECT regress_try($$SELECT sandbox_reap()$$);
SELECT regress_try($$SELECT sandbox_stats_reset()$$);
SELECT regress_try($$UPDATE sandbox.sandboxes SET expires_at = NULL$$);
SELECT regress_try($$DELETE FROM sandbox.sandboxes$$);
SELECT regress_try($$INSERT INTO sandbox.sandboxes (name, agent) VALUES ('regress_etl3', 'regress_agent')$$);
RESET SESSION AUTHORIZATION;
-- a non-agent, non-superuser role: the same
SET SESSION AUTHORIZATION regress_other;
SELECT regress_try($$SELECT sandbox_create('regress_mine', 'regress_other')$$);
SELECT regress_try($$SELECT sandbox_drop('regress_etl')$$);
SELECT regress_try($$SELECT sandbox_extend('regress_etl', '1 hour')$$);
RESET SESSION AUTHORIZATION;
-- still there, unchanged
SELECT name, agent, expires_at FROM sandbox.sandboxes;

SELECT sandbox_drop('regress_etl');
DROP FUNCTION regress_try(text);
DROP SCHEMA regress_prod CASCADE;
DROP ROLE regress_agent, regress_other, regress_super, regress_createrole,
  regress_createdb, regress_replication, regress_bypassrls, regress_files,
  regress_program, regress_writeall, regress_signal, regress_indirect, regress_owner;
