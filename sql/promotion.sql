--
-- Promotion queue: request, review, approve, promote exactly once, revert.
-- Each case names the role it runs as: the superuser (setup), the agent
-- regress_p_agent, the reviewers regress_p_reviewer / regress_p_reviewer2,
-- and regress_p_weak, a reviewer without privileges on production.
--
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE SCHEMA regress_prod;
CREATE TABLE regress_prod.orders (id int PRIMARY KEY, amount numeric NOT NULL);
INSERT INTO regress_prod.orders SELECT g, g * 10 FROM generate_series(1, 10) g;
CREATE TABLE regress_prod.dims (code text PRIMARY KEY, label text);
INSERT INTO regress_prod.dims VALUES ('a', 'alpha'), ('b', 'beta');
CREATE ROLE regress_p_agent LOGIN;
CREATE ROLE regress_p_reviewer LOGIN;
CREATE ROLE regress_p_reviewer2 LOGIN;
CREATE ROLE regress_p_weak LOGIN;
CREATE ROLE regress_p_dba SUPERUSER;
GRANT USAGE, CREATE ON SCHEMA regress_prod TO regress_p_reviewer, regress_p_reviewer2;
GRANT USAGE ON SCHEMA regress_prod TO regress_p_weak;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA regress_prod TO regress_p_reviewer, regress_p_reviewer2;
ALTER TABLE regress_prod.dims OWNER TO regress_p_reviewer;
GRANT SELECT ON regress_prod.dims TO regress_p_weak;
SELECT sandbox_name FROM sandbox_create('regress_work', 'regress_p_agent', ARRAY['regress_prod']);

-- one function that shows the state of the queue
CREATE FUNCTION regress_queue() RETURNS TABLE (id bigint, status text, mode text, target text)
LANGUAGE sql AS $$
	SELECT p.id, p.status, COALESCE(p.mode, p.kind), p.target_schema || '.' || p.target_name
	  FROM sandbox.promotions p ORDER BY p.id
$$;

---------------------------------------------------------------- create
-- agent: builds a table and requests its promotion as a new production table
SET SESSION AUTHORIZATION regress_p_agent;
CREATE TABLE regress_work.summary AS
	SELECT id % 3 AS bucket, sum(amount) AS total FROM regress_prod.orders GROUP BY 1;
ALTER TABLE regress_work.summary ADD PRIMARY KEY (bucket);
SELECT sandbox_request_promotion('regress_work.summary', 'regress_prod.summary', 'create', 'bucket totals') AS p_create \gset
-- agent: the table is frozen: gone from scratch, out of reach in the extension's schema
SELECT to_regclass('regress_work.summary') AS still_in_scratch;
UPDATE sandbox.frozen_1 SET total = 0;
-- agent: a new table of the same name does not change what was requested
CREATE TABLE regress_work.summary (bucket int, total numeric);
INSERT INTO regress_work.summary VALUES (42, 42);
-- agent: sees only its own requests
SELECT * FROM regress_queue();
-- agent: may not approve, reject or promote, its own request or any other
SELECT sandbox_approve(:p_create);
SELECT sandbox_reject(:p_create, 'no');
SELECT * FROM sandbox_promote(:p_create);
-- agent: may not write the queue or the approval settings
UPDATE sandbox.promotions SET status = 'approved';
INSERT INTO sandbox.approvals (promotion, approver, filenode) VALUES (:p_create, 'regress_p_reviewer', 0);
SET sandbox.required_approvals = 0;
SET sandbox.approval_policy = 'pg_catalog.now';
SELECT set_config('sandbox.required_approvals', '1', false);
ALTER ROLE regress_p_agent SET sandbox.approval_policy = '';
RESET SESSION AUTHORIZATION;
SELECT * FROM regress_queue();

-- reviewer: reads the diff; promoting before approval is refused
SET SESSION AUTHORIZATION regress_p_reviewer;
SELECT * FROM sandbox_diff(:p_create);
SELECT * FROM sandbox_promote(:p_create);
-- reviewer: may not update the queue directly either
UPDATE sandbox.promotions SET status = 'approved';
-- reviewer without CREATE on the target schema: the default policy refuses
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_p_weak;
\set VERBOSITY default
SELECT sandbox_approve(:p_create);
\set VERBOSITY terse
RESET SESSION AUTHORIZATION;
-- reviewer: approves; a second approval by the same role is refused
SET SESSION AUTHORIZATION regress_p_reviewer;
SELECT sandbox_approve(:p_create, 'totals match the orders');
SELECT sandbox_approve(:p_create);
-- reviewer: a dry run validates and changes nothing
SELECT * FROM sandbox_promote(:p_create, dry_run => true);
SELECT to_regclass('regress_prod.summary') AS created_by_dry_run;
-- reviewer: promotes, as itself: the table is created with the frozen content
SELECT * FROM sandbox_promote(:p_create);
SELECT * FROM regress_prod.summary ORDER BY bucket;
SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'regress_prod.summary'::regclass;
-- reviewer: exactly once
SELECT * FROM sandbox_promote(:p_create);
-- reviewer: a created table is not reverted (drop it instead)
SELECT * FROM sandbox_revert(:p_create);
RESET SESSION AUTHORIZATION;

---------------------------------------------------------------- append, upsert
SET SESSION AUTHORIZATION regress_p_agent;
CREATE TABLE regress_work.new_orders AS SELECT g AS id, g * 100::numeric AS amount FROM generate_series(11, 15) g;
SELECT sandbox_request_promotion('regress_work.new_orders', 'regress_prod.orders', 'append') AS p_append \gset
CREATE TABLE regress_work.fixes (id int PRIMARY KEY, amount numeric NOT NULL);
INSERT INTO regress_work.fixes VALUES (1, 11), (2, 22), (100, 1000);
SELECT sandbox_request_promotion('regress_work.fixes', 'regress_prod.orders', 'upsert') AS p_upsert \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_p_reviewer;
SELECT * FROM sandbox_diff(:p_append);
SELECT * FROM sandbox_diff(:p_upsert);
SELECT sandbox_approve(:p_append);
SELECT * FROM sandbox_promote(:p_append);
SELECT count(*), sum(amount) FROM regress_prod.orders;
-- reviewer: revert of the append restores production
SELECT * FROM sandbox_revert(:p_append);
SELECT count(*), sum(amount) FROM regress_prod.orders;
SELECT * FROM sandbox_revert(:p_append);
SELECT sandbox_approve(:p_upsert);
SELECT * FROM sandbox_promote(:p_upsert);
SELECT * FROM regress_prod.orders WHERE id IN (1, 2, 100) ORDER BY id;
-- reviewer: a later change to production blocks the revert, and it says why
UPDATE regress_prod.orders SET amount = amount WHERE id = 5;
SELECT * FROM sandbox_revert(:p_upsert);
RESET SESSION AUTHORIZATION;
TRUNCATE regress_prod.orders;
INSERT INTO regress_prod.orders SELECT g, g * 10 FROM generate_series(1, 10) g;

---------------------------------------------------------------- replace
-- agent: replaces a dimension table; production grants must survive
GRANT SELECT ON regress_prod.dims TO regress_p_reviewer2;
SET SESSION AUTHORIZATION regress_p_agent;
CREATE TABLE regress_work.dims (code text PRIMARY KEY, label text);
INSERT INTO regress_work.dims VALUES ('a', 'ALPHA'), ('c', 'gamma');
SELECT sandbox_request_promotion('regress_work.dims', 'regress_prod.dims', 'replace') AS p_replace \gset
RESET SESSION AUTHORIZATION;
-- reviewer2 does not own the target: the default policy refuses
SET SESSION AUTHORIZATION regress_p_reviewer2;
SELECT sandbox_approve(:p_replace);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_p_reviewer;
SELECT * FROM sandbox_diff(:p_replace);
SELECT sandbox_approve(:p_replace);
SELECT * FROM sandbox_promote(:p_replace);
SELECT * FROM regress_prod.dims ORDER BY code;
SELECT pg_get_userbyid(relowner) AS owner,
       has_table_privilege('regress_p_reviewer2', oid, 'SELECT') AS grant_kept,
       has_table_privilege('regress_p_weak', oid, 'SELECT') AS grant_kept_weak
  FROM pg_class WHERE oid = 'regress_prod.dims'::regclass;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'regress_prod.dims'::regclass;
SELECT * FROM sandbox_revert(:p_replace);
SELECT * FROM regress_prod.dims ORDER BY code;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'regress_prod.dims'::regclass;
SELECT has_table_privilege('regress_p_reviewer2', 'regress_prod.dims', 'SELECT') AS grant_back;
RESET SESSION AUTHORIZATION;

-- superuser: a view on the target blocks replace with a clear error
CREATE VIEW regress_prod.dims_v AS SELECT * FROM regress_prod.dims;
SET SESSION AUTHORIZATION regress_p_agent;
CREATE TABLE regress_work.dims2 (code text PRIMARY KEY, label text);
SELECT sandbox_request_promotion('regress_work.dims2', 'regress_prod.dims', 'replace') AS p_blocked \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_p_reviewer;
SELECT sandbox_approve(:p_blocked);
SELECT * FROM sandbox_promote(:p_blocked, dry_run => true);
SELECT sandbox_reject(:p_blocked, 'a view depends on dims');
RESET SESSION AUTHORIZATION;
DROP VIEW regress_prod.dims_v;
-- agent: a rejected table comes back to its scratch schema
SET SESSION AUTHORIZATION regress_p_agent;
SELECT to_regclass('regress_work.dims2') AS returned;
RESET SESSION AUTHORIZATION;

---------------------------------------------------------------- no smuggling
-- agent: each of these scratch tables carries something it wrote; every request is refused
SET SESSION AUTHORIZATION regress_p_agent;
CREATE FUNCTION regress_work.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION regress_work.g(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE TYPE regress_work.mood AS ENUM ('ok');
CREATE TABLE regress_work.t_trigger (id int);
CREATE TRIGGER t BEFORE INSERT ON regress_work.t_trigger FOR EACH ROW EXECUTE FUNCTION regress_work.f();
CREATE TABLE regress_work.t_rule (id int);
CREATE RULE r AS ON INSERT TO regress_work.t_rule DO ALSO NOTIFY x;
CREATE TABLE regress_work.t_default (id int DEFAULT regress_work.g(1));
CREATE TABLE regress_work.t_check (id int CHECK (regress_work.g(id) > 0));
CREATE TABLE regress_work.t_index (id int);
CREATE INDEX ON regress_work.t_index (regress_work.g(id));
CREATE TABLE regress_work.t_type (m regress_work.mood);
CREATE TABLE regress_work.t_policy (id int);
ALTER TABLE regress_work.t_policy ENABLE ROW LEVEL SECURITY;
CREATE TABLE regress_work.t_parent (id int PRIMARY KEY);
CREATE TABLE regress_work.t_fk (id int REFERENCES regress_work.t_parent);
CREATE SEQUENCE regress_work.loose_seq;
CREATE TABLE regress_work.t_seq (id bigint DEFAULT nextval('regress_work.loose_seq'));
CREATE TABLE regress_work.t_child () INHERITS (regress_work.t_parent);
CREATE TABLE regress_work.t_serial (id serial PRIMARY KEY, v text);
SELECT sandbox_request_promotion('regress_work.t_trigger', 'regress_prod.t1');
SELECT sandbox_request_promotion('regress_work.t_rule', 'regress_prod.t2');
SELECT sandbox_request_promotion('regress_work.t_default', 'regress_prod.t3');
SELECT sandbox_request_promotion('regress_work.t_check', 'regress_prod.t4');
SELECT sandbox_request_promotion('regress_work.t_index', 'regress_prod.t5');
SELECT sandbox_request_promotion('regress_work.t_type', 'regress_prod.t6');
SELECT sandbox_request_promotion('regress_work.t_policy', 'regress_prod.t7');
SELECT sandbox_request_promotion('regress_work.t_fk', 'regress_prod.t8');
SELECT sandbox_request_promotion('regress_work.t_seq', 'regress_prod.t10');
SELECT sandbox_request_promotion('regress_work.t_child', 'regress_prod.t11');
-- agent: a serial column's own sequence travels with its table, and keeps its name
SELECT sandbox_request_promotion('regress_work.t_serial', 'regress_prod.t_serial') AS p_serial \gset
-- agent: requests for tables outside its sandbox, bad modes and targets
SELECT sandbox_request_promotion('regress_prod.orders', 'regress_prod.copy');
SELECT sandbox_request_promotion('regress_work.t_parent', 'regress_prod.t9', 'merge');
SELECT sandbox_request_promotion('regress_work.t_parent', 'regress_prod.orders', 'create');
SELECT sandbox_request_promotion('regress_work.t_parent', 'regress_prod.nope', 'append');
SELECT sandbox_request_promotion('regress_work.t_parent', 'sandbox.t', 'create');
SELECT sandbox_request_promotion('regress_work.t_parent', 'regress_work.t', 'create');
SELECT sandbox_request_promotion('regress_work.t_parent', 'no_schema.t', 'create');
SELECT sandbox_request_promotion('regress_work.t_parent', 'a.b.c.d', 'create');
RESET SESSION AUTHORIZATION;
-- nothing was queued by the refused requests
SELECT count(*) FROM sandbox.promotions WHERE status = 'pending' AND id <> :p_serial;
SET SESSION AUTHORIZATION regress_p_reviewer;
SELECT sandbox_approve(:p_serial);
SELECT status FROM sandbox_promote(:p_serial);
INSERT INTO regress_prod.t_serial (v) VALUES ('first') RETURNING id;
SELECT pg_get_serial_sequence('regress_prod.t_serial', 'id') AS sequence;
RESET SESSION AUTHORIZATION;

---------------------------------------------------------------- a reviewer's search_path
-- agent: plants an operator and a function in its schema, hoping a reviewer runs them
SET SESSION AUTHORIZATION regress_p_agent;
CREATE FUNCTION regress_work.evil_eq(int, int) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'agent code ran as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR regress_work.= (LEFTARG = int, RIGHTARG = int, FUNCTION = regress_work.evil_eq);
CREATE FUNCTION regress_work.count(anyelement) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
CREATE TABLE regress_work.more (id int PRIMARY KEY, amount numeric NOT NULL);
INSERT INTO regress_work.more VALUES (20, 1);
SELECT sandbox_request_promotion('regress_work.more', 'regress_prod.orders', 'upsert') AS p_path \gset
RESET SESSION AUTHORIZATION;
-- reviewer: with the agent's schema first in its search_path, no agent code runs
SET SESSION AUTHORIZATION regress_p_reviewer;
SET search_path = regress_work, public;
SELECT * FROM sandbox_diff(:p_path);
SELECT sandbox_approve(:p_path);
SELECT status, rows_inserted, rows_updated FROM sandbox_promote(:p_path);
RESET search_path;
RESET SESSION AUTHORIZATION;

---------------------------------------------------------------- requester, cancel, quorum, migration
-- superuser regress_p_dba: requests on behalf of the sandbox; approving its own request is refused
SET SESSION AUTHORIZATION regress_p_agent;
CREATE TABLE regress_work.by_dba (id int);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_p_dba;
SELECT sandbox_request_promotion('regress_work.by_dba', 'regress_prod.by_dba') AS p_dba \gset
\set VERBOSITY default
SELECT sandbox_approve(:p_dba);
\set VERBOSITY terse
RESET SESSION AUTHORIZATION;
-- agent: may not cancel a request it did not make; its requester may
SET SESSION AUTHORIZATION regress_p_agent;
SELECT sandbox_cancel(:p_dba);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_p_dba;
SELECT sandbox_cancel(:p_dba);
RESET SESSION AUTHORIZATION;
-- quorum of two distinct approvers
SET sandbox.required_approvals = 2;
SET SESSION AUTHORIZATION regress_p_agent;
CREATE TABLE regress_work.q (id int);
SELECT sandbox_request_promotion('regress_work.q', 'regress_prod.q') AS p_quorum \gset
-- agent: migrations are SQL text, reviewed like tables
SELECT sandbox_request_migration('CREATE INDEX orders_amount_idx ON regress_prod.orders (amount)', 'speeds up reports') AS p_migration \gset
SELECT sandbox_request_migration('  ');
-- agent: cancels its own request
SELECT sandbox_cancel(:p_quorum);
SELECT sandbox_cancel(:p_quorum);
SELECT sandbox_request_promotion('regress_work.q', 'regress_prod.q') AS p_quorum \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_p_reviewer;
SELECT sandbox_approve(:p_quorum);
SELECT status FROM sandbox.promotions WHERE id = :p_quorum;
SELECT * FROM sandbox_promote(:p_quorum);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_p_reviewer2;
SELECT sandbox_approve(:p_quorum);
SELECT status FROM sandbox.promotions WHERE id = :p_quorum;
RESET SESSION AUTHORIZATION;
RESET sandbox.required_approvals;
-- a migration needs a superuser (or the database owner) to approve it
SET SESSION AUTHORIZATION regress_p_reviewer;
SELECT * FROM sandbox_diff(:p_migration);
\set VERBOSITY default
SELECT sandbox_approve(:p_migration);
\set VERBOSITY terse
RESET SESSION AUTHORIZATION;
-- superuser regress_p_dba: approves and runs the migration
SET SESSION AUTHORIZATION regress_p_dba;
SELECT sandbox_approve(:p_migration);
SELECT status, target, detail FROM sandbox_promote(:p_migration);
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'regress_prod.orders'::regclass ORDER BY 1;
SELECT * FROM sandbox_revert(:p_migration);
RESET SESSION AUTHORIZATION;
-- bad ids
SELECT sandbox_approve(999);
SELECT * FROM sandbox_promote(NULL);
SELECT sandbox_reject(:p_quorum, '');

---------------------------------------------------------------- the record
SELECT * FROM regress_queue();
SELECT promotion, actor, from_status, to_status, reason FROM sandbox.promotion_events ORDER BY promotion, at;

-- superuser: dropping the sandbox rejects what is still open and drops what it held
SELECT sandbox_drop('regress_work');
SELECT id, status FROM sandbox.promotions WHERE status IN ('pending', 'approved');
SELECT relname FROM pg_class WHERE relnamespace = 'sandbox'::regnamespace
   AND relname ~ '^(frozen|replaced|preimage|reverted)_' ORDER BY 1;

DROP FUNCTION regress_queue();
DROP SCHEMA regress_prod CASCADE;
DROP OWNED BY regress_p_reviewer, regress_p_reviewer2, regress_p_weak, regress_p_agent;
DROP ROLE regress_p_agent, regress_p_reviewer, regress_p_reviewer2, regress_p_weak, regress_p_dba;
