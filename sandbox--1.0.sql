\echo Use "CREATE EXTENSION sandbox" to load this file. \quit

/*
 * sandbox 1.0: state, lifecycle and observability.
 *
 * The control file puts the extension's objects in pg_catalog so that every
 * user-facing function can be called unqualified; state lives in schema
 * "sandbox", which this script creates (and fails if someone planted it).
 * Every name is qualified: the script must behave the same whatever the
 * installing session's search_path is.
 */

CREATE SCHEMA sandbox;
REVOKE ALL ON SCHEMA sandbox FROM PUBLIC;
GRANT USAGE ON SCHEMA sandbox TO PUBLIC;

/* One row per sandbox; "name" is also the scratch schema's name. */
CREATE TABLE sandbox.sandboxes (
	name text PRIMARY KEY,
	agent pg_catalog.regrole NOT NULL,
	read_schemas text[] NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by name NOT NULL DEFAULT CURRENT_USER,
	expires_at timestamptz,
	role_created boolean NOT NULL DEFAULT false
);
CREATE INDEX sandboxes_agent_idx ON sandbox.sandboxes (agent);

/*
 * Privileges sandbox_create gave and privileges it found already in place,
 * so that sandbox_drop revokes exactly what was given.  kind is one of
 * 'usage' (USAGE on a read schema), 'select' (SELECT on a table), 'kept'
 * (SELECT the agent held before: never revoked) and 'default' (default
 * privileges FOR ROLE grantor IN SCHEMA schema_name).
 */
CREATE TABLE sandbox.grants (
	sandbox text NOT NULL REFERENCES sandbox.sandboxes (name) ON DELETE CASCADE,
	kind text NOT NULL CHECK (kind IN ('usage', 'select', 'kept', 'default')),
	schema_name name NOT NULL,
	object_name name NOT NULL DEFAULT '',
	grantor name NOT NULL DEFAULT '',
	PRIMARY KEY (sandbox, kind, schema_name, object_name, grantor)
);

/* The agent's per-database search_path before its first sandbox here. */
CREATE TABLE sandbox.agents (
	agent pg_catalog.regrole PRIMARY KEY,
	prior_search_path text
);

SELECT pg_catalog.pg_extension_config_dump('sandbox.sandboxes', '');
SELECT pg_catalog.pg_extension_config_dump('sandbox.grants', '');
SELECT pg_catalog.pg_extension_config_dump('sandbox.agents', '');

/* Agents may read their own sandboxes' rows (sandbox_list as the agent). */
ALTER TABLE sandbox.sandboxes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_sandboxes ON sandbox.sandboxes FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, agent::pg_catalog.oid, 'USAGE'));
GRANT SELECT ON sandbox.sandboxes TO PUBLIC;

/* --- C functions ------------------------------------------------------- */

CREATE FUNCTION sandbox.guard_active() RETURNS boolean
	LANGUAGE c STRICT
	AS 'MODULE_PATHNAME', 'sandbox_guard_active';

CREATE FUNCTION sandbox.current_xid() RETURNS xid
	LANGUAGE c VOLATILE
	AS 'MODULE_PATHNAME', 'sandbox_current_xid';

CREATE FUNCTION sandbox.state_changed() RETURNS trigger
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'sandbox_state_changed';
REVOKE ALL ON FUNCTION sandbox.state_changed() FROM PUBLIC;

/* Every change of the state tables invalidates the guard's caches in all backends. */
CREATE TRIGGER sandboxes_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sandbox.sandboxes
	FOR EACH STATEMENT EXECUTE FUNCTION sandbox.state_changed();

CREATE FUNCTION sandbox_stats(OUT sandbox text, OUT role name, OUT kind text,
							  OUT refusals bigint, OUT last_refusal timestamptz)
	RETURNS SETOF record
	LANGUAGE c STRICT
	AS 'MODULE_PATHNAME', 'sandbox_stats';

CREATE FUNCTION sandbox_stats_reset() RETURNS void
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'sandbox_stats_reset';
REVOKE ALL ON FUNCTION sandbox_stats_reset() FROM PUBLIC;

/* --- internal helpers --------------------------------------------------- */

/*
 * Raise 42501 unless the caller is a superuser.  Lifecycle functions are
 * SECURITY INVOKER: they act with the caller's own rights and name the
 * missing one when it is not there.
 */
CREATE FUNCTION sandbox.require_superuser(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles r
					 WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER), false) THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
				  DETAIL = pg_catalog.format('Role "%s" is not a superuser.', CURRENT_USER),
				  HINT = 'Ask a database administrator (a superuser) to do this.';
	END IF;
END
$$;

/* Look up a sandbox row and lock it, or raise 42704. */
CREATE FUNCTION sandbox.lock_sandbox(sandbox_name text) RETURNS sandbox.sandboxes
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	r sandbox.sandboxes;
BEGIN
	IF sandbox_name IS NULL THEN
		RAISE EXCEPTION 'sandbox name must not be null'
			USING ERRCODE = '22004';
	END IF;
	SELECT * INTO r FROM sandbox.sandboxes s
	 WHERE s.name OPERATOR(pg_catalog.=) sandbox_name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'sandbox "%" does not exist', sandbox_name
			USING ERRCODE = '42704',
				  HINT = 'sandbox_list() shows the sandboxes of this database.';
	END IF;
	RETURN r;
END
$$;

/*
 * Set the agent's search_path in this database to all of its sandboxes
 * (oldest first) followed by their read schemas, or restore what it was
 * before its first sandbox when it has none left.
 */
CREATE FUNCTION sandbox.apply_search_path(agent_role pg_catalog.regrole) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	path text;
	prior text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(y.n), ', ' ORDER BY y.o)
	  INTO path
	  FROM (SELECT x.n, pg_catalog.min(x.o) AS o
			  FROM (SELECT s.name AS n,
						   pg_catalog.row_number() OVER (ORDER BY s.created_at, s.name) AS o
					  FROM sandbox.sandboxes s
					 WHERE s.agent OPERATOR(pg_catalog.=) agent_role
					UNION ALL
					SELECT rs.n,
						   1000000 OPERATOR(pg_catalog.+)
						   pg_catalog.row_number() OVER (ORDER BY s.created_at, s.name, rs.i)
					  FROM sandbox.sandboxes s,
						   LATERAL pg_catalog.unnest(s.read_schemas) WITH ORDINALITY AS rs(n, i)
					 WHERE s.agent OPERATOR(pg_catalog.=) agent_role) x
			 GROUP BY x.n) y;

	IF path IS NOT NULL THEN
		EXECUTE pg_catalog.format('ALTER ROLE %I IN DATABASE %I SET search_path TO %s',
								  agent_role::text, pg_catalog.current_database(), path);
		RETURN;
	END IF;

	SELECT a.prior_search_path INTO prior FROM sandbox.agents a
	 WHERE a.agent OPERATOR(pg_catalog.=) agent_role;
	IF prior IS NULL THEN
		EXECUTE pg_catalog.format('ALTER ROLE %I IN DATABASE %I RESET search_path',
								  agent_role::text, pg_catalog.current_database());
	ELSE
		/* prior is the server's own flattened, quoted form of the list */
		EXECUTE pg_catalog.format('ALTER ROLE %I IN DATABASE %I SET search_path TO %s',
								  agent_role::text, pg_catalog.current_database(), prior);
	END IF;
	DELETE FROM sandbox.agents a WHERE a.agent OPERATOR(pg_catalog.=) agent_role;
END
$$;

/* The agent's search_path setting in this database, as stored. */
CREATE FUNCTION sandbox.role_search_path(agent_oid oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.substr(c.cfg, pg_catalog.length('search_path=') + 1)
	  FROM pg_catalog.pg_db_role_setting d,
		   LATERAL pg_catalog.unnest(d.setconfig) AS c(cfg)
	 WHERE d.setrole OPERATOR(pg_catalog.=) agent_oid
	   AND d.setdatabase OPERATOR(pg_catalog.=)
		   (SELECT db.oid FROM pg_catalog.pg_database db
			 WHERE db.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
	   AND c.cfg OPERATOR(pg_catalog.~~) 'search\_path=%'
$$;

/*
 * The schema an object lives in: its own namespace, or that of the
 * relation or type it is attached to.  NULL for objects outside any schema.
 */
CREATE FUNCTION sandbox.object_namespace(classid oid, objid oid) RETURNS oid
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT CASE classid
		WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN
			(SELECT c.relnamespace FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) objid)
		WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN
			(SELECT t.typnamespace FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) objid)
		WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
			(SELECT p.pronamespace FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) objid)
		WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN
			(SELECT c.connamespace FROM pg_catalog.pg_constraint c WHERE c.oid OPERATOR(pg_catalog.=) objid)
		WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN
			(SELECT c.relnamespace FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c
				ON c.oid OPERATOR(pg_catalog.=) r.ev_class WHERE r.oid OPERATOR(pg_catalog.=) objid)
		WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN
			(SELECT c.relnamespace FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c
				ON c.oid OPERATOR(pg_catalog.=) t.tgrelid WHERE t.oid OPERATOR(pg_catalog.=) objid)
		WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN
			(SELECT c.relnamespace FROM pg_catalog.pg_attrdef a JOIN pg_catalog.pg_class c
				ON c.oid OPERATOR(pg_catalog.=) a.adrelid WHERE a.oid OPERATOR(pg_catalog.=) objid)
		WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN
			(SELECT c.relnamespace FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c
				ON c.oid OPERATOR(pg_catalog.=) p.polrelid WHERE p.oid OPERATOR(pg_catalog.=) objid)
		ELSE
			(SELECT n.oid FROM pg_catalog.pg_namespace n
			  WHERE n.nspname OPERATOR(pg_catalog.=) (pg_catalog.pg_identify_object(classid, objid, 0)).schema)
	END
$$;

/* --- lifecycle ------------------------------------------------------------ */

CREATE FUNCTION sandbox_create(name text, agent name,
							   read_schemas text[] DEFAULT '{}',
							   ttl interval DEFAULT NULL,
							   login boolean DEFAULT false,
							   OUT sandbox_name text, OUT schema_name name,
							   OUT agent_role name, OUT readable_schemas text[],
							   OUT created_at timestamptz, OUT expires_at timestamptz,
							   OUT password text)
	RETURNS record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_variable
DECLARE
	sb_name text := $1;
	agent_name name := $2;
	rschemas text[] := COALESCE($3, '{}');
	expires timestamptz;
	agent_oid oid;
	ag record;
	rs text;
	owner_name name;
	bad text;
	pw text;
	made_role boolean := false;
	t record;
BEGIN
	PERFORM sandbox.require_superuser('create a sandbox');

	IF NOT sandbox.guard_active() THEN
		RAISE EXCEPTION 'sandbox guard is not active'
			USING ERRCODE = '55000',
				  DETAIL = 'The sandbox library is not in shared_preload_libraries, so agents would not be restricted in every session.',
				  HINT = 'Add sandbox to shared_preload_libraries in postgresql.conf and restart the server.';
	END IF;

	/* the name: a plain lower-case identifier that needs no quoting */
	IF sb_name IS NULL OR sb_name OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'sandbox name must not be null or empty'
			USING ERRCODE = '22023';
	END IF;
	IF sb_name OPERATOR(pg_catalog.!~) '^[a-z_][a-z0-9_]*$'
	   OR pg_catalog.octet_length(sb_name) OPERATOR(pg_catalog.>) 63
	   OR pg_catalog.quote_ident(sb_name) OPERATOR(pg_catalog.<>) sb_name THEN
		RAISE EXCEPTION 'invalid sandbox name "%"', sb_name
			USING ERRCODE = '22023',
				  DETAIL = 'A sandbox name becomes a schema name and must be a lower-case identifier that needs no quoting, at most 63 bytes long.',
				  HINT = 'Use letters a-z, digits and underscores, starting with a letter or underscore, and not a reserved word.';
	END IF;
	IF sb_name OPERATOR(pg_catalog.=) ANY (ARRAY['public', 'information_schema', 'sandbox'])
	   OR sb_name OPERATOR(pg_catalog.~~) 'pg\_%' THEN
		RAISE EXCEPTION 'sandbox name "%" is reserved', sb_name
			USING ERRCODE = '22023',
				  HINT = 'Choose a name other than public, information_schema, sandbox or pg_*.';
	END IF;

	IF ttl IS NOT NULL AND ttl OPERATOR(pg_catalog.<=) '0'::interval THEN
		RAISE EXCEPTION 'sandbox ttl must be positive'
			USING ERRCODE = '22023',
				  DETAIL = pg_catalog.format('The ttl given was %s.', ttl),
				  HINT = 'Pass a positive interval such as ''8 hours'', or NULL for a sandbox that does not expire.';
	END IF;
	expires := pg_catalog.now() OPERATOR(pg_catalog.+) ttl;

	IF agent_name IS NULL OR agent_name OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'agent role name must not be null or empty'
			USING ERRCODE = '22023';
	END IF;

	/* two sessions creating the same name: the second waits, then fails cleanly */
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('sandbox.create:' OPERATOR(pg_catalog.||) sb_name));

	IF EXISTS (SELECT 1 FROM sandbox.sandboxes s WHERE s.name OPERATOR(pg_catalog.=) sb_name) THEN
		RAISE EXCEPTION 'sandbox "%" already exists', sb_name
			USING ERRCODE = '42710',
				  HINT = 'Choose another name, or drop the existing sandbox with sandbox_drop().';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) sb_name) THEN
		RAISE EXCEPTION 'schema "%" already exists', sb_name
			USING ERRCODE = '42P06',
				  DETAIL = 'A sandbox gets a new schema of its own and never takes over an existing one.',
				  HINT = 'Choose a sandbox name that is not the name of a schema.';
	END IF;

	/* the read schemas must exist, and cannot be the state schema */
	FOREACH rs IN ARRAY rschemas LOOP
		IF rs IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
									  WHERE n.nspname OPERATOR(pg_catalog.=) rs) THEN
			RAISE EXCEPTION 'read schema "%" does not exist', rs
				USING ERRCODE = '3F000',
					  HINT = 'Pass names of existing schemas in read_schemas.';
		END IF;
		IF rs OPERATOR(pg_catalog.=) ANY (ARRAY['sandbox', 'pg_catalog', 'information_schema', 'pg_toast'])
		   OR EXISTS (SELECT 1 FROM sandbox.sandboxes s WHERE s.name OPERATOR(pg_catalog.=) rs) THEN
			RAISE EXCEPTION 'schema "%" cannot be a read schema', rs
				USING ERRCODE = '22023',
					  DETAIL = 'System schemas, the extension''s own schema and other sandboxes are not production schemas.',
					  HINT = 'Pass only production schemas in read_schemas.';
		END IF;
	END LOOP;

	/* the agent */
	SELECT r.oid, r.* INTO ag FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) agent_name;
	IF NOT FOUND THEN
		IF NOT login THEN
			RAISE EXCEPTION 'role "%" does not exist', agent_name
				USING ERRCODE = '42704',
					  HINT = 'Create the role first, or pass login => true to have sandbox_create make a temporary login role.';
		END IF;
		pw := pg_catalog.replace(pg_catalog.gen_random_uuid()::text OPERATOR(pg_catalog.||)
								 pg_catalog.gen_random_uuid()::text, '-', '');
		EXECUTE pg_catalog.format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD %L%s',
								  agent_name, pw,
								  CASE WHEN expires IS NULL THEN ''
									   ELSE pg_catalog.format(' VALID UNTIL %L', expires) END);
		made_role := true;
		SELECT r.oid, r.* INTO ag FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) agent_name;
	ELSIF login THEN
		RAISE EXCEPTION 'role "%" already exists', agent_name
			USING ERRCODE = '42710',
				  DETAIL = 'login => true creates a new temporary login role; it never takes over an existing one.',
				  HINT = 'Omit login => true to make the existing role the agent.';
	END IF;
	agent_oid := ag.oid;

	/* role hygiene: an agent must hold no power the guard cannot take away */
	bad := CASE
		WHEN ag.rolsuper THEN 'it is a superuser'
		WHEN ag.rolcreaterole THEN 'it has CREATEROLE'
		WHEN ag.rolcreatedb THEN 'it has CREATEDB'
		WHEN ag.rolreplication THEN 'it has REPLICATION'
		WHEN ag.rolbypassrls THEN 'it has BYPASSRLS'
	END;
	IF bad IS NULL THEN
		SELECT pg_catalog.format('it is a member of %s', p.rolname) INTO bad
		  FROM pg_catalog.pg_roles p
		 WHERE p.rolname OPERATOR(pg_catalog.=) ANY (ARRAY[
				'pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program',
				'pg_write_all_data', 'pg_signal_backend', 'pg_create_subscription',
				'pg_maintain', 'pg_signal_autovacuum_worker'])
		   AND pg_catalog.pg_has_role(agent_oid, p.oid, 'MEMBER')
		 ORDER BY p.rolname LIMIT 1;
	END IF;
	IF bad IS NULL THEN
		SELECT pg_catalog.format('it owns %s', pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)) INTO bad
		  FROM pg_catalog.pg_shdepend d
		 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=) agent_oid
		   AND d.deptype OPERATOR(pg_catalog.=) 'o'
		   AND (d.dbid OPERATOR(pg_catalog.=) 0 OR d.dbid OPERATOR(pg_catalog.=)
				(SELECT db.oid FROM pg_catalog.pg_database db
				  WHERE db.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()))
		   AND COALESCE((pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid)).schema, '')
			   OPERATOR(pg_catalog.<>) ALL (ARRAY(SELECT s.name FROM sandbox.sandboxes s
													 WHERE s.agent OPERATOR(pg_catalog.=) agent_oid))
		 ORDER BY 1 LIMIT 1;
	END IF;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'role "%" cannot be an agent because %', agent_name, bad
			USING ERRCODE = '42501',
				  DETAIL = 'An agent must hold no attribute, role membership or object ownership that lets it act outside its scratch schema.',
				  HINT = 'Use a plain login role that owns nothing, or pass login => true with a new role name.';
	END IF;

	/* remember the agent's own search_path setting before its first sandbox */
	IF NOT EXISTS (SELECT 1 FROM sandbox.agents a WHERE a.agent OPERATOR(pg_catalog.=) agent_oid) THEN
		INSERT INTO sandbox.agents (agent, prior_search_path)
		VALUES (agent_oid, sandbox.role_search_path(agent_oid));
	END IF;

	/* the scratch schema: owned by the caller, writable by the agent */
	EXECUTE pg_catalog.format('CREATE SCHEMA %I', sb_name);
	EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', sb_name);
	EXECUTE pg_catalog.format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', sb_name, agent_name);

	INSERT INTO sandbox.sandboxes (name, agent, read_schemas, expires_at, role_created)
	VALUES (sb_name, agent_oid, rschemas, expires, made_role);

	/* read access to production, now and for tables created later */
	FOREACH rs IN ARRAY rschemas LOOP
		IF NOT pg_catalog.has_schema_privilege(agent_oid,
				(SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) rs), 'USAGE') THEN
			EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %I', rs, agent_name);
			INSERT INTO sandbox.grants (sandbox, kind, schema_name) VALUES (sb_name, 'usage', rs)
				ON CONFLICT DO NOTHING;
		END IF;
		/* aclcontains, not aclexplode: ACLs grow with every agent reading the schema */
		FOR t IN SELECT c.relname,
						COALESCE(pg_catalog.aclcontains(c.relacl,
								 pg_catalog.makeaclitem(agent_oid, c.relowner, 'SELECT', false)), false) AS had
				   FROM pg_catalog.pg_class c
				   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
				  WHERE n.nspname OPERATOR(pg_catalog.=) rs
					AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'v', 'm', 'p']::"char"[])
		LOOP
			IF t.had THEN
				INSERT INTO sandbox.grants (sandbox, kind, schema_name, object_name)
				VALUES (sb_name, 'kept', rs, t.relname) ON CONFLICT DO NOTHING;
			ELSE
				EXECUTE pg_catalog.format('GRANT SELECT ON TABLE %I.%I TO %I', rs, t.relname, agent_name);
				INSERT INTO sandbox.grants (sandbox, kind, schema_name, object_name)
				VALUES (sb_name, 'select', rs, t.relname) ON CONFLICT DO NOTHING;
			END IF;
		END LOOP;
		SELECT pg_catalog.pg_get_userbyid(n.nspowner) INTO owner_name
		  FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) rs;
		EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON TABLES TO %I',
								  owner_name, rs, agent_name);
		INSERT INTO sandbox.grants (sandbox, kind, schema_name, grantor)
		VALUES (sb_name, 'default', rs, owner_name) ON CONFLICT DO NOTHING;
	END LOOP;

	PERFORM sandbox.apply_search_path(agent_oid::pg_catalog.regrole);

	sandbox_name := sb_name;
	schema_name := sb_name;
	agent_role := agent_name;
	readable_schemas := rschemas;
	SELECT s.created_at, s.expires_at INTO created_at, expires_at
	  FROM sandbox.sandboxes s WHERE s.name OPERATOR(pg_catalog.=) sb_name;
	password := pw;
END
$$;

/*
 * Remove a sandbox: its schema and everything in it, the privileges
 * sandbox_create gave, the agent's search_path setting, and the role when
 * sandbox_create made it and the agent has no other sandbox.  Refuses when
 * an object outside the sandbox depends on one inside it.
 */
CREATE FUNCTION sandbox_drop(name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	SET client_min_messages = warning
	AS $$
DECLARE
	sb sandbox.sandboxes;
	nsp oid;
	g record;
	pr record;
	dep text;
	others boolean;
	agent_name name;
BEGIN
	PERFORM sandbox.require_superuser('drop a sandbox');
	sb := sandbox.lock_sandbox($1);
	agent_name := sb.agent::text;
	nsp := pg_catalog.to_regnamespace(pg_catalog.quote_ident(sb.name));

	/* nothing outside the sandbox may depend on what is inside it */
	WITH inside(classid, objid) AS (
		SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
		UNION ALL
		SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp
		UNION ALL
		SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
		UNION ALL
		SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, k.oid FROM pg_catalog.pg_constraint k WHERE k.connamespace OPERATOR(pg_catalog.=) nsp
		UNION ALL
		SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp
		UNION ALL
		SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_collation o WHERE o.collnamespace OPERATOR(pg_catalog.=) nsp
	)
	SELECT pg_catalog.format('%s depends on %s',
			pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid),
			pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)) INTO dep
	  FROM inside i
	  JOIN pg_catalog.pg_depend d
		ON d.refclassid OPERATOR(pg_catalog.=) i.classid AND d.refobjid OPERATOR(pg_catalog.=) i.objid
	 WHERE d.deptype OPERATOR(pg_catalog.=) ANY (ARRAY['n', 'a']::"char"[])
	   AND d.classid OPERATOR(pg_catalog.<>) 'pg_catalog.pg_namespace'::pg_catalog.regclass
	   AND sandbox.object_namespace(d.classid, d.objid) IS DISTINCT FROM nsp
	 ORDER BY 1
	 LIMIT 1;
	IF dep IS NOT NULL THEN
		RAISE EXCEPTION 'cannot drop sandbox "%" because other objects depend on it', sb.name
			USING ERRCODE = '2BP01',
				  DETAIL = pg_catalog.format('%s.', dep),
				  HINT = 'Drop or change the dependent object outside the sandbox first.';
	END IF;

	/* its promotions: open requests are rejected; what the extension held for them goes */
	FOR pr IN SELECT x.id, x.status FROM sandbox.promotions x
			   WHERE x.sandbox OPERATOR(pg_catalog.=) sb.name ORDER BY x.id FOR UPDATE
	LOOP
		IF pr.status OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'approved']) THEN
			PERFORM sandbox.transition(pr.id, 'rejected', 'sandbox dropped');
		END IF;
		FOR dep IN SELECT c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c
					WHERE c.relnamespace OPERATOR(pg_catalog.=) 'sandbox'::pg_catalog.regnamespace
					  AND c.relname OPERATOR(pg_catalog.=) ANY (ARRAY[
							  'frozen_' OPERATOR(pg_catalog.||) pr.id, 'replaced_' OPERATOR(pg_catalog.||) pr.id,
							  'preimage_' OPERATOR(pg_catalog.||) pr.id, 'reverted_' OPERATOR(pg_catalog.||) pr.id]::name[])
		LOOP
			EXECUTE pg_catalog.format('DROP TABLE %s', dep);
		END LOOP;
	END LOOP;

	EXECUTE pg_catalog.format('DROP SCHEMA IF EXISTS %I CASCADE', sb.name);

	/* revoke what this sandbox granted, unless another sandbox of the agent still needs it */
	FOR g IN SELECT * FROM sandbox.grants x WHERE x.sandbox OPERATOR(pg_catalog.=) sb.name LOOP
		SELECT EXISTS (SELECT 1 FROM sandbox.grants y JOIN sandbox.sandboxes s ON s.name OPERATOR(pg_catalog.=) y.sandbox
						WHERE s.agent OPERATOR(pg_catalog.=) sb.agent
						  AND y.sandbox OPERATOR(pg_catalog.<>) sb.name
						  AND y.schema_name OPERATOR(pg_catalog.=) g.schema_name
						  AND (y.kind OPERATOR(pg_catalog.=) g.kind OR g.kind OPERATOR(pg_catalog.=) 'select'))
		  INTO others;
		CONTINUE WHEN others OR g.kind OPERATOR(pg_catalog.=) 'kept';
		CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
								   WHERE n.nspname OPERATOR(pg_catalog.=) g.schema_name);
		IF g.kind OPERATOR(pg_catalog.=) 'usage' THEN
			EXECUTE pg_catalog.format('REVOKE USAGE ON SCHEMA %I FROM %I', g.schema_name, agent_name);
		ELSIF g.kind OPERATOR(pg_catalog.=) 'select' THEN
			IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', g.schema_name, g.object_name)) IS NOT NULL THEN
				EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %I.%I FROM %I', g.schema_name, g.object_name, agent_name);
			END IF;
		ELSIF g.kind OPERATOR(pg_catalog.=) 'default' THEN
			IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) g.grantor) THEN
				EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I REVOKE SELECT ON TABLES FROM %I',
										  g.grantor, g.schema_name, agent_name);
			END IF;
			/* tables created after sandbox_create got SELECT from the default privileges */
			FOR dep IN SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
						 FROM pg_catalog.pg_class c
						 JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
						WHERE n.nspname OPERATOR(pg_catalog.=) g.schema_name
						  AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'v', 'm', 'p']::"char"[])
						  AND COALESCE(pg_catalog.aclcontains(c.relacl,
								  pg_catalog.makeaclitem(sb.agent::pg_catalog.oid, c.relowner, 'SELECT', false)), false)
						  AND NOT EXISTS (SELECT 1 FROM sandbox.grants k
										   WHERE k.sandbox OPERATOR(pg_catalog.=) sb.name
											 AND k.kind OPERATOR(pg_catalog.=) 'kept'
											 AND k.schema_name OPERATOR(pg_catalog.=) n.nspname
											 AND k.object_name OPERATOR(pg_catalog.=) c.relname)
			LOOP
				EXECUTE pg_catalog.format('REVOKE SELECT ON TABLE %s FROM %I', dep, agent_name);
			END LOOP;
		END IF;
	END LOOP;

	DELETE FROM sandbox.sandboxes s WHERE s.name OPERATOR(pg_catalog.=) sb.name;
	PERFORM sandbox.apply_search_path(sb.agent);

	IF sb.role_created AND NOT EXISTS (SELECT 1 FROM sandbox.sandboxes s
										WHERE s.agent OPERATOR(pg_catalog.=) sb.agent) THEN
		EXECUTE pg_catalog.format('ALTER ROLE %I NOLOGIN PASSWORD NULL', agent_name);
		BEGIN
			EXECUTE pg_catalog.format('DROP ROLE %I', agent_name);
		EXCEPTION WHEN dependent_objects_still_exist THEN
			RAISE WARNING 'role "%" was kept without LOGIN because it still has privileges or objects elsewhere', agent_name;
		END;
	END IF;
END
$$;

/* Make a sandbox expire ttl from now; returns the new expiry. */
CREATE FUNCTION sandbox_extend(name text, ttl interval) RETURNS timestamptz
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sb sandbox.sandboxes;
	expires timestamptz;
BEGIN
	PERFORM sandbox.require_superuser('extend a sandbox');
	IF ttl IS NULL OR ttl OPERATOR(pg_catalog.<=) '0'::interval THEN
		RAISE EXCEPTION 'sandbox ttl must be positive'
			USING ERRCODE = '22023',
				  DETAIL = pg_catalog.format('The ttl given was %s.', COALESCE(ttl::text, 'NULL')),
				  HINT = 'Pass a positive interval such as ''8 hours''.';
	END IF;
	sb := sandbox.lock_sandbox($1);
	expires := pg_catalog.now() OPERATOR(pg_catalog.+) ttl;
	UPDATE sandbox.sandboxes s SET expires_at = expires WHERE s.name OPERATOR(pg_catalog.=) sb.name;
	IF sb.role_created THEN
		EXECUTE pg_catalog.format('ALTER ROLE %I VALID UNTIL %L', sb.agent::text, expires);
	END IF;
	RETURN expires;
END
$$;

CREATE FUNCTION sandbox_list(OUT name text, OUT schema name, OUT agent name,
							 OUT created_at timestamptz, OUT expires_at timestamptz,
							 OUT bytes bigint, OUT objects bigint)
	RETURNS SETOF record
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT s.name, s.name::name, s.agent::text::name, s.created_at, s.expires_at,
		   COALESCE((SELECT pg_catalog.sum(pg_catalog.pg_total_relation_size(c.oid))::bigint
					   FROM pg_catalog.pg_class c
					  WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid
						AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'm', 'S']::"char"[])), 0),
		   (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c
			 WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid
			   AND c.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['i', 'I', 't']::"char"[]))
		   OPERATOR(pg_catalog.+)
		   (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p
			 WHERE p.pronamespace OPERATOR(pg_catalog.=) n.oid)
	  FROM sandbox.sandboxes s
	  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) s.name
	 ORDER BY s.name
$$;

/* Space per sandbox, then a total row with a NULL sandbox name. */
CREATE FUNCTION sandbox_usage(OUT sandbox text, OUT bytes bigint, OUT share float8)
	RETURNS SETOF record
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH l AS (SELECT x.name, x.bytes FROM pg_catalog.sandbox_list() x),
		 db AS (SELECT pg_catalog.pg_database_size(pg_catalog.current_database())::float8 AS size)
	SELECT q.name, q.bytes, q.bytes::float8 OPERATOR(pg_catalog./) NULLIF(db.size, 0)
	  FROM (SELECT l.name, l.bytes, 0 AS o FROM l
			UNION ALL
			SELECT NULL, COALESCE(pg_catalog.sum(l.bytes), 0)::bigint, 1 FROM l) q, db
	 ORDER BY q.o, q.name
$$;

/* Drop every expired sandbox; returns how many were dropped. */
CREATE FUNCTION sandbox_reap() RETURNS integer
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n integer := 0;
	victim text;
BEGIN
	PERFORM sandbox.require_superuser('reap sandboxes');
	FOR victim IN SELECT s.name FROM sandbox.sandboxes s
				   WHERE s.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()
				   ORDER BY s.expires_at
				   FOR UPDATE SKIP LOCKED
	LOOP
		/* one sandbox that cannot be dropped must not stop the others */
		BEGIN
			PERFORM pg_catalog.sandbox_drop(victim);
			n := n OPERATOR(pg_catalog.+) 1;
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'could not drop expired sandbox "%": %', victim, SQLERRM
				USING HINT = 'Fix the cause, then drop it with sandbox_drop().';
		END;
	END LOOP;
	RETURN n;
END
$$;

/* --- promotion queue -------------------------------------------------------- */

/*
 * One row per promotion request.  A table request freezes the scratch
 * table by moving it into this schema as sandbox.frozen_<id>, owned by the
 * extension owner, where nobody but the extension can change it; a
 * migration request stores its SQL text.  Status moves pending -> approved
 * -> applied, or to rejected, cancelled, failed, reverted; every
 * transition is a row of sandbox.promotion_events.
 */
CREATE TABLE sandbox.promotions (
	id bigserial PRIMARY KEY,
	sandbox text NOT NULL,
	requested_by name NOT NULL,
	requested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	kind text NOT NULL CHECK (kind IN ('table', 'migration')),
	mode text CHECK (mode IN ('create', 'replace', 'append', 'upsert')),
	source_name text,			/* the scratch table, as the agent named it */
	frozen_relid oid,			/* sandbox.frozen_<id> */
	frozen_filenode oid,		/* its storage at request time: approvals bind to it */
	frozen_rows bigint,			/* its row count at request time */
	frozen_names jsonb,			/* original names of its indexes and sequences */
	stash_names jsonb,			/* the same for a table taken out by replace */
	target_schema name,
	target_name name,
	sql text,
	note text,
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'approved', 'applied', 'rejected', 'cancelled', 'failed', 'reverted')),
	applied_by name,
	applied_at timestamptz,
	applied_xid bigint,			/* the applying transaction (txid_current) */
	written_xid bigint,			/* xmin of the rows it wrote, for revert */
	applied_relid oid,			/* the production table written */
	rows_after bigint,			/* its row count right after the promotion */
	revert_relid oid,			/* replaced table or pre-images, kept for revert */
	revert_xid bigint,			/* the reverting transaction */
	CHECK ((kind = 'table') = (mode IS NOT NULL)),
	CHECK ((kind = 'migration') = (sql IS NOT NULL))
);
CREATE INDEX promotions_sandbox_idx ON sandbox.promotions (sandbox);

CREATE TABLE sandbox.promotion_events (
	promotion bigint NOT NULL REFERENCES sandbox.promotions (id),
	at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	actor name NOT NULL,
	from_status text,
	to_status text NOT NULL,
	reason text
);
CREATE INDEX promotion_events_idx ON sandbox.promotion_events (promotion);

CREATE TABLE sandbox.approvals (
	promotion bigint NOT NULL REFERENCES sandbox.promotions (id),
	approver name NOT NULL,
	approved_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	filenode oid NOT NULL,		/* the frozen content this approval saw */
	note text,
	PRIMARY KEY (promotion, approver)
);

SELECT pg_catalog.pg_extension_config_dump('sandbox.promotions', '');
SELECT pg_catalog.pg_extension_config_dump('sandbox.promotions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sandbox.promotion_events', '');
SELECT pg_catalog.pg_extension_config_dump('sandbox.approvals', '');

/* an agent sees only its own requests; everyone else sees the whole queue */
CREATE FUNCTION sandbox.is_agent(role name) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT EXISTS (SELECT 1 FROM sandbox.sandboxes s
					WHERE s.agent OPERATOR(pg_catalog.=) pg_catalog.to_regrole(pg_catalog.quote_ident(role)))
$$;
REVOKE ALL ON FUNCTION sandbox.is_agent(name) FROM PUBLIC;

ALTER TABLE sandbox.promotions ENABLE ROW LEVEL SECURITY;
CREATE POLICY queue_visibility ON sandbox.promotions FOR SELECT
	USING (requested_by OPERATOR(pg_catalog.=) SESSION_USER
		   OR NOT EXISTS (SELECT 1 FROM sandbox.sandboxes s
						   WHERE pg_catalog.pg_has_role(SESSION_USER, s.agent::pg_catalog.oid, 'USAGE')));
GRANT SELECT ON sandbox.promotions TO PUBLIC;
ALTER TABLE sandbox.promotion_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_visibility ON sandbox.promotion_events FOR SELECT
	USING (EXISTS (SELECT 1 FROM sandbox.promotions p WHERE p.id OPERATOR(pg_catalog.=) promotion));
GRANT SELECT ON sandbox.promotion_events TO PUBLIC;
GRANT SELECT ON sandbox.approvals TO PUBLIC;

/* Record a status transition (caller holds the promotion row lock). */
CREATE FUNCTION sandbox.transition(p_id bigint, p_to text, p_reason text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	old text;
BEGIN
	SELECT p.status INTO old FROM sandbox.promotions p WHERE p.id OPERATOR(pg_catalog.=) p_id;
	UPDATE sandbox.promotions p SET status = p_to WHERE p.id OPERATOR(pg_catalog.=) p_id;
	INSERT INTO sandbox.promotion_events (promotion, actor, from_status, to_status, reason)
	VALUES (p_id, SESSION_USER, old, p_to, p_reason);
END
$$;
REVOKE ALL ON FUNCTION sandbox.transition(bigint, text, text) FROM PUBLIC;

/* Lock a promotion row, or raise 42704. */
CREATE FUNCTION sandbox.lock_promotion(p_id bigint) RETURNS sandbox.promotions
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	r sandbox.promotions;
BEGIN
	SELECT * INTO r FROM sandbox.promotions p WHERE p.id OPERATOR(pg_catalog.=) p_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'promotion % does not exist', p_id
			USING ERRCODE = '42704',
				  HINT = 'sandbox.promotions lists the promotion requests you may see.';
	END IF;
	RETURN r;
END
$$;
REVOKE ALL ON FUNCTION sandbox.lock_promotion(bigint) FROM PUBLIC;

/*
 * What a frozen table may not carry into production (DESIGN 5.2): triggers,
 * rules, policies, foreign keys, dependent objects, columns of types the
 * agent defined, and defaults, checks or indexes that use functions or
 * operators that are not built in.  Returns the first offence, or NULL.
 */
CREATE FUNCTION sandbox.unsafe_content(rel oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT x.why FROM (
		SELECT 1 AS o, pg_catalog.format('trigger "%s"', t.tgname) AS why
		  FROM pg_catalog.pg_trigger t
		 WHERE t.tgrelid OPERATOR(pg_catalog.=) rel AND NOT t.tgisinternal
		UNION ALL
		SELECT 2, pg_catalog.format('rule "%s"', r.rulename)
		  FROM pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) rel
		UNION ALL
		SELECT 3, pg_catalog.format('policy "%s"', p.polname)
		  FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) rel
		UNION ALL
		SELECT 4, 'row-level security'
		  FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel AND c.relrowsecurity
		UNION ALL
		SELECT 5, pg_catalog.format('foreign key "%s"', k.conname)
		  FROM pg_catalog.pg_constraint k
		 WHERE k.contype OPERATOR(pg_catalog.=) 'f'
		   AND (k.conrelid OPERATOR(pg_catalog.=) rel OR k.confrelid OPERATOR(pg_catalog.=) rel)
		UNION ALL
		SELECT 6, pg_catalog.format('column "%s" of type %s, which is not built in', a.attname,
									pg_catalog.format_type(a.atttypid, a.atttypmod))
		  FROM pg_catalog.pg_attribute a
		  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
		 WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0
		   AND NOT a.attisdropped
		   AND EXISTS (SELECT 1 FROM pg_catalog.pg_type u
						WHERE u.oid OPERATOR(pg_catalog.=) ANY (ARRAY[t.oid, t.typelem, t.typbasetype])
						  AND u.oid OPERATOR(pg_catalog.>=) 16384
						  AND (u.typnamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n
												   JOIN sandbox.sandboxes s ON s.name OPERATOR(pg_catalog.=) n.nspname)
							   OR sandbox.is_agent(pg_catalog.pg_get_userbyid(u.typowner))))
		UNION ALL
		SELECT 7, pg_catalog.format('%s uses %s, which is not built in',
									pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid),
									pg_catalog.pg_describe_object(d.refclassid, d.refobjid, 0))
		  FROM pg_catalog.pg_depend d
		 WHERE d.refclassid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.pg_proc'::pg_catalog.regclass,
															  'pg_catalog.pg_operator'::pg_catalog.regclass,
															  'pg_catalog.pg_type'::pg_catalog.regclass,
															  'pg_catalog.pg_collation'::pg_catalog.regclass])
		   AND d.refobjid OPERATOR(pg_catalog.>=) 16384
		   AND ((d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
				 AND d.objid IN (SELECT ad.oid FROM pg_catalog.pg_attrdef ad WHERE ad.adrelid OPERATOR(pg_catalog.=) rel))
				OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
					AND d.objid IN (SELECT k.oid FROM pg_catalog.pg_constraint k WHERE k.conrelid OPERATOR(pg_catalog.=) rel))
				OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
					AND d.objid IN (SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid OPERATOR(pg_catalog.=) rel)))
		UNION ALL
		SELECT 7, pg_catalog.format('%s uses %s, which would stay behind in the sandbox',
									pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid),
									pg_catalog.pg_describe_object(d.refclassid, d.refobjid, 0))
		  FROM pg_catalog.pg_depend d
		  JOIN pg_catalog.pg_attrdef ad ON ad.oid OPERATOR(pg_catalog.=) d.objid
		 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
		   AND ad.adrelid OPERATOR(pg_catalog.=) rel
		   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.<>) rel
		   AND d.refobjid NOT IN (SELECT x.relid FROM sandbox.companions(rel) x)
		UNION ALL
		SELECT 8, pg_catalog.format('inheritance from or by %s', pg_catalog.pg_describe_object(
										'pg_catalog.pg_class'::pg_catalog.regclass,
										CASE WHEN i.inhrelid OPERATOR(pg_catalog.=) rel THEN i.inhparent ELSE i.inhrelid END, 0))
		  FROM pg_catalog.pg_inherits i
		 WHERE i.inhrelid OPERATOR(pg_catalog.=) rel OR i.inhparent OPERATOR(pg_catalog.=) rel
		UNION ALL
		SELECT 9, pg_catalog.format('%s depends on it', pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid))
		  FROM pg_catalog.pg_depend d
		 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=) rel
		   AND d.deptype OPERATOR(pg_catalog.=) 'n'
		   AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
	) x ORDER BY x.o, x.why LIMIT 1
$$;
REVOKE ALL ON FUNCTION sandbox.unsafe_content(oid) FROM PUBLIC;

/*
 * A table's indexes and owned sequences move with it between schemas, and
 * their names must be free in the schema they move to.  Tables the
 * extension keeps in schema sandbox therefore carry unique names for them,
 * and get the original names back when they leave.
 */
CREATE FUNCTION sandbox.companions(rel oid) RETURNS TABLE (relid oid, relname name, relkind "char")
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT c.oid, c.relname, c.relkind FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	 WHERE i.indrelid = rel
	UNION ALL
	SELECT c.oid, c.relname, c.relkind FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
	 WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = rel AND d.classid = 'pg_class'::regclass
	   AND d.deptype = 'a' AND c.relkind = 'S'
$$;

/* Rename a table's companions to prefix_1, prefix_2, ...; returns {new name: old name}. */
CREATE FUNCTION sandbox.park_companions(rel oid, prefix text) RETURNS jsonb
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	r record;
	k integer := 0;
	names jsonb := '{}';
	new_name name;
BEGIN
	FOR r IN SELECT * FROM sandbox.companions(rel) ORDER BY relid LOOP
		k := k + 1;
		new_name := prefix || '_' || k;
		EXECUTE format('ALTER %s %s RENAME TO %I', CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'INDEX' END,
					   r.relid::regclass, new_name);
		names := names || jsonb_build_object(new_name, r.relname);
	END LOOP;
	RETURN names;
END
$$;

/* Give a table's companions back the names park_companions recorded. */
CREATE FUNCTION sandbox.restore_companions(rel oid, names jsonb) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM sandbox.companions(rel) WHERE names ? relname LOOP
		EXECUTE format('ALTER %s %s RENAME TO %I', CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'INDEX' END,
					   r.relid::regclass, names ->> r.relname);
	END LOOP;
END
$$;

/*
 * The one caller check of the endpoints that act on a sandbox for its agent
 * (sandbox_request_promotion, sandbox_clone, sandbox_synthesize): the
 * sandbox named nsp when role is its agent or a superuser, else NULL.  They
 * pass the login (session) user, which an agent cannot change.
 */
CREATE FUNCTION sandbox.sandbox_of_agent(role name, nsp name) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT s.name FROM sandbox.sandboxes s
	 WHERE s.name OPERATOR(pg_catalog.=) nsp
	   AND (s.agent OPERATOR(pg_catalog.=) pg_catalog.to_regrole(pg_catalog.quote_ident(role))
			OR COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) role), false))
$$;
REVOKE ALL ON FUNCTION sandbox.sandbox_of_agent(name, name) FROM PUBLIC;

/*
 * Request the promotion of a scratch table.  The caller is the table's
 * agent (or a superuser).  The table is checked (DESIGN 5.2) and frozen:
 * moved out of the agent's reach, so that what is approved is what is
 * applied.  Returns the promotion id.
 */
CREATE FUNCTION sandbox_request_promotion(source regclass, target text DEFAULT NULL,
										  mode text DEFAULT 'create',
										  note text DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	caller name := SESSION_USER;
	src record;
	sb sandbox.sandboxes;
	parts text[];
	t_schema name;
	t_name name;
	bad text;
	new_id bigint;
	frozen_name name;
	t_oid oid;
	n_rows bigint;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source table must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT c.oid, c.relname, c.relkind, n.nspname, c.relowner INTO src
	  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.oid OPERATOR(pg_catalog.=) source;
	SELECT * INTO sb FROM sandbox.sandboxes s
	 WHERE s.name OPERATOR(pg_catalog.=) sandbox.sandbox_of_agent(caller, src.nspname);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to request a promotion of "%.%"', src.nspname, src.relname
			USING ERRCODE = '42501',
				  DETAIL = pg_catalog.format('Role "%s" may request promotions only of tables in its own sandbox.', caller),
				  HINT = 'Build the table in your scratch schema, then request its promotion.';
	END IF;
	IF src.relkind OPERATOR(pg_catalog.<>) 'r' THEN
		RAISE EXCEPTION '"%.%" is not a table', src.nspname, src.relname
			USING ERRCODE = '42809',
				  HINT = 'Only plain tables can be promoted; materialize a view with CREATE TABLE ... AS first.';
	END IF;
	IF mode IS NULL OR mode OPERATOR(pg_catalog.<>) ALL (ARRAY['create', 'replace', 'append', 'upsert']) THEN
		RAISE EXCEPTION 'invalid promotion mode "%"', mode
			USING ERRCODE = '22023',
				  HINT = 'Use create, replace, append or upsert.';
	END IF;

	/* the target: schema.table, or a table in the sandbox's first read schema */
	IF target IS NULL THEN
		t_name := src.relname;
		t_schema := sb.read_schemas[1];
	ELSE
		BEGIN
			parts := pg_catalog.parse_ident(target);
		EXCEPTION WHEN OTHERS THEN
			RAISE EXCEPTION 'invalid target name "%"', target
				USING ERRCODE = '22023', HINT = 'Write the target as schema.table.';
		END;
		IF pg_catalog.array_length(parts, 1) OPERATOR(pg_catalog.=) 2 THEN
			t_schema := parts[1];
			t_name := parts[2];
		ELSIF pg_catalog.array_length(parts, 1) OPERATOR(pg_catalog.=) 1 THEN
			t_schema := sb.read_schemas[1];
			t_name := parts[1];
		ELSE
			RAISE EXCEPTION 'invalid target name "%"', target
				USING ERRCODE = '22023', HINT = 'Write the target as schema.table.';
		END IF;
	END IF;
	IF t_schema IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) t_schema) THEN
		RAISE EXCEPTION 'target schema "%" does not exist', COALESCE(t_schema, '')
			USING ERRCODE = '3F000', HINT = 'Name the production table as schema.table.';
	END IF;
	IF t_schema OPERATOR(pg_catalog.=) 'sandbox' OR t_schema OPERATOR(pg_catalog.~~) 'pg\_%'
	   OR t_schema OPERATOR(pg_catalog.=) 'information_schema'
	   OR EXISTS (SELECT 1 FROM sandbox.sandboxes s WHERE s.name OPERATOR(pg_catalog.=) t_schema) THEN
		RAISE EXCEPTION 'schema "%" cannot receive promotions', t_schema
			USING ERRCODE = '22023', HINT = 'Promote into a production schema.';
	END IF;
	t_oid := pg_catalog.to_regclass(pg_catalog.format('%I.%I', t_schema, t_name));
	IF mode OPERATOR(pg_catalog.=) 'create' AND t_oid IS NOT NULL THEN
		RAISE EXCEPTION 'target table "%.%" already exists', t_schema, t_name
			USING ERRCODE = '42P07', HINT = 'Use mode replace, append or upsert to change an existing table.';
	ELSIF mode OPERATOR(pg_catalog.<>) 'create' AND t_oid IS NULL THEN
		RAISE EXCEPTION 'target table "%.%" does not exist', t_schema, t_name
			USING ERRCODE = '42P01', HINT = 'Use mode create for a new table.';
	END IF;
	IF mode OPERATOR(pg_catalog.=) 'upsert' AND NOT EXISTS (
		SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid OPERATOR(pg_catalog.=) t_oid AND i.indisprimary) THEN
		RAISE EXCEPTION 'target table "%.%" has no primary key', t_schema, t_name
			USING ERRCODE = '22023', HINT = 'Upsert matches rows by the target''s primary key; use append or replace.';
	END IF;

	/* no smuggling */
	bad := sandbox.unsafe_content(source);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cannot promote "%.%": it carries %', src.nspname, src.relname, bad
			USING ERRCODE = '42501',
				  DETAIL = 'A promoted table carries only columns of built-in or production types, and constraints and indexes that use built-in functions.',
				  HINT = 'Remove it from the scratch table (or copy the data into a plain table), then request again.';
	END IF;

	/* freeze: move the table out of the agent's reach (metadata only) */
	INSERT INTO sandbox.promotions (sandbox, requested_by, kind, mode, source_name,
									target_schema, target_name, note)
	VALUES (sb.name, caller, 'table', mode, pg_catalog.format('%I.%I', src.nspname, src.relname),
			t_schema, t_name, note)
	RETURNING id INTO new_id;
	frozen_name := 'frozen_' OPERATOR(pg_catalog.||) new_id;
	UPDATE sandbox.promotions p SET frozen_names = sandbox.park_companions(source, frozen_name)
	 WHERE p.id OPERATOR(pg_catalog.=) new_id;
	EXECUTE pg_catalog.format('ALTER TABLE %I.%I SET SCHEMA sandbox', src.nspname, src.relname);
	EXECUTE pg_catalog.format('ALTER TABLE sandbox.%I RENAME TO %I', src.relname, frozen_name);
	EXECUTE pg_catalog.format('ALTER TABLE sandbox.%I OWNER TO %I', frozen_name, CURRENT_USER);
	EXECUTE pg_catalog.format('REVOKE ALL ON TABLE sandbox.%I FROM PUBLIC', frozen_name);
	FOR bad IN SELECT DISTINCT a.grantee::pg_catalog.regrole::text
				 FROM pg_catalog.pg_class c, LATERAL pg_catalog.aclexplode(c.relacl) a
				WHERE c.oid OPERATOR(pg_catalog.=) source AND a.grantee OPERATOR(pg_catalog.<>) 0
				  AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON TABLE sandbox.%I FROM %I', frozen_name, bad);
	END LOOP;
	UPDATE sandbox.promotions p
	   SET frozen_relid = source::pg_catalog.oid,
		   frozen_filenode = (SELECT c.relfilenode FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) source)
	 WHERE p.id OPERATOR(pg_catalog.=) new_id;
	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM sandbox.%I', frozen_name) INTO n_rows;
	UPDATE sandbox.promotions p SET frozen_rows = n_rows WHERE p.id OPERATOR(pg_catalog.=) new_id;
	/* statistics for the plans of sandbox_diff and sandbox_promote (a sample: bounded cost) */
	EXECUTE pg_catalog.format('ANALYZE sandbox.%I', frozen_name);
	INSERT INTO sandbox.promotion_events (promotion, actor, from_status, to_status, reason)
	VALUES (new_id, caller, NULL, 'pending', note);
	RETURN new_id;
END
$$;
REVOKE ALL ON FUNCTION sandbox_request_promotion(regclass, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox_request_promotion(regclass, text, text, text) TO PUBLIC;

/* Request that a reviewed migration (SQL text) be run in production. */
CREATE FUNCTION sandbox_request_migration(sql text, note text DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	caller name := SESSION_USER;
	sb_name text;
	new_id bigint;
BEGIN
	IF sql IS NULL OR pg_catalog.btrim(sql) OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'migration text must not be empty' USING ERRCODE = '22023';
	END IF;
	SELECT s.name INTO sb_name FROM sandbox.sandboxes s
	 WHERE s.agent OPERATOR(pg_catalog.=) pg_catalog.to_regrole(pg_catalog.quote_ident(caller))
	 ORDER BY s.created_at LIMIT 1;
	IF sb_name IS NULL THEN
		RAISE EXCEPTION 'permission denied to request a migration'
			USING ERRCODE = '42501',
				  DETAIL = pg_catalog.format('Role "%s" is not the agent of a sandbox.', caller),
				  HINT = 'Migrations are requested by agents; run the SQL yourself if you may.';
	END IF;
	INSERT INTO sandbox.promotions (sandbox, requested_by, kind, sql, note)
	VALUES (sb_name, caller, 'migration', sql, note) RETURNING id INTO new_id;
	INSERT INTO sandbox.promotion_events (promotion, actor, from_status, to_status, reason)
	VALUES (new_id, caller, NULL, 'pending', note);
	RETURN new_id;
END
$$;
REVOKE ALL ON FUNCTION sandbox_request_migration(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox_request_migration(text, text) TO PUBLIC;

/*
 * The extension's own approval policy: approve when the approver is not an
 * agent, did not request the promotion, and holds the privileges the
 * promotion needs on its target.  Returns NULL to approve, else the reason.
 */
CREATE FUNCTION sandbox.default_approval_policy(promotion bigint, approver name) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
	t_oid oid;
	t_owner oid;
	super boolean;
BEGIN
	SELECT * INTO p FROM sandbox.promotions x WHERE x.id = promotion;
	IF sandbox.is_agent(approver) THEN
		RETURN 'it is a sandbox agent';
	END IF;
	IF approver = p.requested_by THEN
		RETURN 'it requested this promotion';
	END IF;
	SELECT r.rolsuper INTO super FROM pg_roles r WHERE r.rolname = approver;
	IF COALESCE(super, false) THEN
		RETURN NULL;
	END IF;
	IF p.kind = 'migration' THEN
		IF NOT pg_has_role(approver, (SELECT d.datdba FROM pg_database d WHERE d.datname = current_database()), 'USAGE') THEN
			RETURN 'a migration needs a superuser or the owner of the database';
		END IF;
		RETURN NULL;
	END IF;
	t_oid := to_regclass(format('%I.%I', p.target_schema, p.target_name));
	SELECT c.relowner INTO t_owner FROM pg_class c WHERE c.oid = t_oid;
	IF p.mode = 'create' AND NOT has_schema_privilege(approver, p.target_schema, 'CREATE') THEN
		RETURN format('it lacks CREATE on schema %s', quote_ident(p.target_schema));
	ELSIF p.mode = 'replace' AND (t_owner IS NULL OR NOT pg_has_role(approver, t_owner, 'USAGE')) THEN
		RETURN format('it does not own table %s.%s', quote_ident(p.target_schema), quote_ident(p.target_name));
	ELSIF p.mode = 'append' AND (t_oid IS NULL OR NOT has_table_privilege(approver, t_oid, 'INSERT')) THEN
		RETURN format('it lacks INSERT on table %s.%s', quote_ident(p.target_schema), quote_ident(p.target_name));
	ELSIF p.mode = 'upsert' AND (t_oid IS NULL OR NOT has_table_privilege(approver, t_oid, 'INSERT, UPDATE')) THEN
		RETURN format('it lacks INSERT and UPDATE on table %s.%s', quote_ident(p.target_schema), quote_ident(p.target_name));
	END IF;
	RETURN NULL;
END
$$;

/* The frozen table of a promotion, while it is still in schema sandbox. */
CREATE FUNCTION sandbox.frozen_table(p sandbox.promotions) RETURNS regclass
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT to_regclass('sandbox.frozen_' || p.id)
$$;
REVOKE ALL ON FUNCTION sandbox.frozen_table(sandbox.promotions) FROM PUBLIC;

/* Is the frozen content still what was requested (and approved)? NULL if so, else why not. */
CREATE FUNCTION sandbox.content_changed(p sandbox.promotions) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT CASE
		WHEN p.kind = 'migration' THEN NULL
		WHEN sandbox.frozen_table(p) IS NULL THEN 'its frozen table is gone'
		WHEN (SELECT c.relfilenode FROM pg_class c WHERE c.oid = sandbox.frozen_table(p)) <> p.frozen_filenode
			THEN 'its frozen table was rewritten or truncated'
		WHEN EXISTS (SELECT 1 FROM sandbox.approvals a WHERE a.promotion = p.id AND a.filenode <> p.frozen_filenode)
			THEN 'it was approved for other content'
	END
$$;
REVOKE ALL ON FUNCTION sandbox.content_changed(sandbox.promotions) FROM PUBLIC;

/* Give a rejected or cancelled request's table back to its agent's scratch schema. */
CREATE FUNCTION sandbox.return_frozen(p sandbox.promotions) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	frozen regclass := sandbox.frozen_table(p);
	orig text[];
	agent regrole;
	new_name name;
BEGIN
	IF frozen IS NULL THEN
		RETURN;
	END IF;
	SELECT s.agent INTO agent FROM sandbox.sandboxes s WHERE s.name = p.sandbox;
	IF agent IS NULL OR to_regnamespace(quote_ident(p.sandbox)) IS NULL THEN
		EXECUTE format('DROP TABLE %s', frozen);
		RETURN;
	END IF;
	orig := parse_ident(p.source_name);
	new_name := CASE WHEN to_regclass(format('%I.%I', p.sandbox, orig[2])) IS NULL THEN orig[2]
					 ELSE 'promotion_' || p.id END;
	EXECUTE format('ALTER TABLE %s OWNER TO %I', frozen, agent::text);
	EXECUTE format('ALTER TABLE %s SET SCHEMA %I', frozen, p.sandbox);
	EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', p.sandbox, 'frozen_' || p.id, new_name);
	BEGIN
		PERFORM sandbox.restore_companions(format('%I.%I', p.sandbox, new_name)::regclass, p.frozen_names);
	EXCEPTION WHEN duplicate_table THEN
		NULL;					/* the agent reused a name meanwhile: keep the parked ones */
	END;
END
$$;
REVOKE ALL ON FUNCTION sandbox.return_frozen(sandbox.promotions) FROM PUBLIC;

CREATE FUNCTION sandbox_approve(id bigint, note text DEFAULT NULL) RETURNS void
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	caller name := SESSION_USER;
	p sandbox.promotions;
	policy text := COALESCE(NULLIF(current_setting('sandbox.approval_policy'), ''),
							'sandbox.default_approval_policy');
	policy_fn regprocedure;
	reason text;
	have integer;
	need integer := current_setting('sandbox.required_approvals')::integer;
BEGIN
	p := sandbox.lock_promotion($1);
	IF p.status <> 'pending' THEN
		RAISE EXCEPTION 'promotion % is %, not pending', p.id, p.status
			USING ERRCODE = '55000', HINT = 'Only pending promotions can be approved.';
	END IF;
	reason := sandbox.content_changed(p);
	IF reason IS NOT NULL THEN
		PERFORM sandbox.transition(p.id, 'failed', 'content changed: ' || reason);
		RAISE EXCEPTION 'promotion % cannot be approved: %', p.id, reason
			USING ERRCODE = '55000', HINT = 'The agent must request the promotion again.';
	END IF;
	policy_fn := to_regprocedure(policy || '(bigint,name)');
	IF policy_fn IS NULL THEN
		RAISE EXCEPTION 'approval policy function %(bigint, name) does not exist', policy
			USING ERRCODE = '42883', HINT = 'Set sandbox.approval_policy to a function (promotion bigint, approver name) returning text.';
	END IF;
	EXECUTE format('SELECT %s($1, $2)', policy_fn::regproc) INTO reason USING p.id, caller;
	IF reason IS NOT NULL THEN
		RAISE EXCEPTION 'permission denied to approve promotion %', p.id
			USING ERRCODE = '42501',
				  DETAIL = format('Role "%s" may not approve it: %s.', caller, reason),
				  HINT = 'Another reviewer who holds the privileges the promotion needs must approve it.';
	END IF;
	IF EXISTS (SELECT 1 FROM sandbox.approvals a WHERE a.promotion = p.id AND a.approver = caller) THEN
		RAISE EXCEPTION 'promotion % is already approved by role "%"', p.id, caller
			USING ERRCODE = '55000', HINT = 'Approvals must come from distinct roles.';
	END IF;
	INSERT INTO sandbox.approvals (promotion, approver, filenode, note)
	VALUES (p.id, caller, COALESCE(p.frozen_filenode, 0), note);
	SELECT count(*) INTO have FROM sandbox.approvals a WHERE a.promotion = p.id;
	IF have >= need THEN
		PERFORM sandbox.transition(p.id, 'approved', note);
	ELSE
		INSERT INTO sandbox.promotion_events (promotion, actor, from_status, to_status, reason)
		VALUES (p.id, caller, 'pending', 'pending', concat_ws(': ', format('approval %s of %s', have, need), note));
	END IF;
END
$$;
REVOKE ALL ON FUNCTION sandbox_approve(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox_approve(bigint, text) TO PUBLIC;

CREATE FUNCTION sandbox_reject(id bigint, reason text) RETURNS void
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
BEGIN
	IF sandbox.is_agent(SESSION_USER) THEN
		RAISE EXCEPTION 'permission denied to reject promotion %', $1
			USING ERRCODE = '42501', DETAIL = 'Agents cannot review promotions.',
				  HINT = 'Withdraw your own request with sandbox_cancel().';
	END IF;
	IF reason IS NULL OR btrim(reason) = '' THEN
		RAISE EXCEPTION 'a rejection needs a reason' USING ERRCODE = '22023',
			HINT = 'Tell the agent what to change.';
	END IF;
	p := sandbox.lock_promotion($1);
	IF p.status NOT IN ('pending', 'approved') THEN
		RAISE EXCEPTION 'promotion % is %, not pending or approved', p.id, p.status USING ERRCODE = '55000';
	END IF;
	PERFORM sandbox.transition(p.id, 'rejected', reason);
	PERFORM sandbox.return_frozen(p);
END
$$;
REVOKE ALL ON FUNCTION sandbox_reject(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox_reject(bigint, text) TO PUBLIC;

CREATE FUNCTION sandbox_cancel(id bigint) RETURNS void
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
BEGIN
	p := sandbox.lock_promotion($1);
	IF p.requested_by <> SESSION_USER THEN
		RAISE EXCEPTION 'permission denied to cancel promotion %', p.id
			USING ERRCODE = '42501', DETAIL = 'Only the role that requested a promotion can cancel it.',
				  HINT = 'Reviewers reject with sandbox_reject().';
	END IF;
	IF p.status NOT IN ('pending', 'approved') THEN
		RAISE EXCEPTION 'promotion % is %, not pending or approved', p.id, p.status USING ERRCODE = '55000';
	END IF;
	PERFORM sandbox.transition(p.id, 'cancelled', NULL);
	PERFORM sandbox.return_frozen(p);
END
$$;
REVOKE ALL ON FUNCTION sandbox_cancel(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox_cancel(bigint) TO PUBLIC;

/* The primary-key columns of a table, quoted and comma-separated. */
CREATE FUNCTION sandbox.pk_columns(rel oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
	  FROM pg_index i,
		   LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
	  JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum
	 WHERE i.indrelid = rel AND i.indisprimary
$$;

/* Columns of a table, quoted and comma-separated, with an optional prefix each. */
CREATE FUNCTION sandbox.column_list(rel oid, prefix text DEFAULT '') RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT string_agg(prefix || quote_ident(a.attname), ', ' ORDER BY a.attnum)
	  FROM pg_attribute a
	 WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
$$;

/*
 * What a promotion would change, for a reviewer in psql: the request, the
 * schema differences, row counts (by primary key where there is one) and a
 * few sample rows, or the text of a migration.
 */
CREATE FUNCTION sandbox_diff(id bigint, OUT section text, OUT item text, OUT detail text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
	frozen regclass;
	target regclass;
	pk text;
	n bigint;
	r record;
BEGIN
	SELECT * INTO p FROM sandbox.promotions x WHERE x.id = $1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'promotion % does not exist', $1 USING ERRCODE = '42704';
	END IF;
	IF p.requested_by <> SESSION_USER AND sandbox.is_agent(SESSION_USER) THEN
		RAISE EXCEPTION 'permission denied to see promotion %', p.id
			USING ERRCODE = '42501', DETAIL = 'Agents see only their own requests.';
	END IF;
	section := 'request'; item := 'status'; detail := p.status; RETURN NEXT;
	IF p.kind = 'migration' THEN
		item := 'migration'; detail := p.sql; RETURN NEXT;
		RETURN;
	END IF;
	item := p.mode;
	detail := format('%s -> %I.%I', p.source_name, p.target_schema, p.target_name);
	RETURN NEXT;
	frozen := sandbox.frozen_table(p);
	IF frozen IS NULL THEN
		item := 'content'; detail := 'no longer held (applied, returned or dropped)'; RETURN NEXT;
		RETURN;
	END IF;
	target := to_regclass(format('%I.%I', p.target_schema, p.target_name));

	/* schema */
	section := 'column';
	FOR r IN
		SELECT COALESCE(f.attname, t.attname) AS col,
			   CASE WHEN t.attname IS NULL THEN 'added'
					WHEN f.attname IS NULL THEN CASE WHEN p.mode = 'replace' THEN 'dropped' ELSE 'not set' END
					WHEN format_type(f.atttypid, f.atttypmod) <> format_type(t.atttypid, t.atttypmod) THEN 'retyped'
			   END AS change,
			   concat_ws(' -> ', format_type(t.atttypid, t.atttypmod), format_type(f.atttypid, f.atttypmod)) AS types
		  FROM (SELECT * FROM pg_attribute WHERE attrelid = frozen AND attnum > 0 AND NOT attisdropped) f
		  FULL JOIN (SELECT * FROM pg_attribute WHERE attrelid = target AND attnum > 0 AND NOT attisdropped) t
			ON t.attname = f.attname
		 ORDER BY COALESCE(f.attnum, 1000 + t.attnum)
	LOOP
		CONTINUE WHEN r.change IS NULL;
		item := format('%s %s', r.change, r.col); detail := r.types; RETURN NEXT;
	END LOOP;
	section := 'constraint';
	FOR r IN
		SELECT 'added' AS change, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c WHERE c.conrelid = frozen
		EXCEPT SELECT 'added', pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = target
		UNION ALL
		(SELECT 'dropped', pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = target AND p.mode = 'replace'
		 EXCEPT SELECT 'dropped', pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = frozen)
		ORDER BY 1, 2
	LOOP
		item := r.change; detail := r.def; RETURN NEXT;
	END LOOP;
	section := 'index';
	FOR r IN
		SELECT 'added' AS change, sandbox.index_shape(i.indexrelid) AS def FROM pg_index i WHERE i.indrelid = frozen
		EXCEPT SELECT 'added', sandbox.index_shape(i.indexrelid) FROM pg_index i WHERE i.indrelid = target
		UNION ALL
		(SELECT 'dropped', sandbox.index_shape(i.indexrelid) FROM pg_index i WHERE i.indrelid = target AND p.mode = 'replace'
		 EXCEPT SELECT 'dropped', sandbox.index_shape(i.indexrelid) FROM pg_index i WHERE i.indrelid = frozen)
		ORDER BY 1, 2
	LOOP
		item := r.change; detail := r.def; RETURN NEXT;
	END LOOP;

	/* rows */
	section := 'rows';
	pk := sandbox.pk_columns(COALESCE(target, frozen));
	IF target IS NULL OR p.mode = 'append' OR pk IS NULL OR sandbox.pk_columns(frozen) IS DISTINCT FROM pk THEN
		EXECUTE format('SELECT count(*) FROM %s', frozen) INTO n;
		item := 'inserted'; detail := n::text; RETURN NEXT;
		IF p.mode = 'replace' THEN
			EXECUTE format('SELECT count(*) FROM %s', target) INTO n;
			item := 'deleted'; detail := n::text; RETURN NEXT;
		END IF;
	ELSE
		EXECUTE format('SELECT count(*) FROM %s f WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE (%s) = (%s))',
					   frozen, target, sandbox.column_list_pk(pk, 't.'), sandbox.column_list_pk(pk, 'f.')) INTO n;
		item := 'inserted'; detail := n::text; RETURN NEXT;
		EXECUTE format('SELECT count(*) FROM %s f JOIN %s t ON (%s) = (%s) WHERE to_jsonb(f) IS DISTINCT FROM to_jsonb(t)',
					   frozen, target, sandbox.column_list_pk(pk, 't.'), sandbox.column_list_pk(pk, 'f.')) INTO n;
		item := 'updated'; detail := n::text; RETURN NEXT;
		IF p.mode = 'replace' THEN
			EXECUTE format('SELECT count(*) FROM %s t WHERE NOT EXISTS (SELECT 1 FROM %s f WHERE (%s) = (%s))',
						   target, frozen, sandbox.column_list_pk(pk, 't.'), sandbox.column_list_pk(pk, 'f.')) INTO n;
			item := 'deleted'; detail := n::text; RETURN NEXT;
		END IF;
	END IF;
	section := 'sample';
	FOR r IN EXECUTE format('SELECT to_jsonb(f)::text AS j FROM %s f LIMIT 3', frozen) LOOP
		item := 'row'; detail := r.j; RETURN NEXT;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION sandbox_diff(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox_diff(bigint) TO PUBLIC;

/* An index definition without its name and table, for comparing two tables' indexes. */
CREATE FUNCTION sandbox.index_shape(idx oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT regexp_replace(pg_get_indexdef(idx), '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ', 'CREATE \1INDEX ')
$$;

/* "a, b" with a prefix on each name: "t.a, t.b" */
CREATE FUNCTION sandbox.column_list_pk(cols text, prefix text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT string_agg(prefix || c, ', ') FROM unnest(string_to_array(cols, ', ')) AS c
$$;

/*
 * Applying and reverting a promotion run as the caller (sandbox_promote and
 * sandbox_revert are SECURITY INVOKER), so PostgreSQL's own privilege
 * checks apply to every production change.  The steps that need the
 * extension's rights are these SECURITY DEFINER helpers; each checks that
 * the session may act as the role it lends to, and that it is called inside
 * the applying transaction (applied_xid), so calling one directly gains
 * nothing.
 */

/*
 * Applying and reverting are for reviewers: neither the session's login
 * role nor the role it acts as may be an agent, and the session must be
 * able to act as that role.
 */
CREATE FUNCTION sandbox.require_reviewer(p_id bigint, actor regrole, action text, via text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF sandbox.is_agent(SESSION_USER) OR sandbox.is_agent(actor::text)
	   OR NOT pg_has_role(SESSION_USER, actor, 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to % promotion %', action, p_id
			USING ERRCODE = '42501',
				  DETAIL = format('Sandbox agents cannot %s promotions.', action),
				  HINT = format('A reviewer does this with %s.', via);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION sandbox.require_reviewer(bigint, regrole, text, text) FROM PUBLIC;

/* Validate and claim an approved promotion for actor; lend actor the frozen table. */
CREATE FUNCTION sandbox.begin_apply(p_id bigint, actor regrole) RETURNS sandbox.promotions
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
	reason text;
	need integer := current_setting('sandbox.required_approvals')::integer;
	have integer;
	frozen regclass;
	target regclass;
	dep text;
BEGIN
	PERFORM sandbox.require_reviewer(p_id, actor, 'promote', 'sandbox_promote()');
	p := sandbox.lock_promotion(p_id);
	IF p.status <> 'approved' THEN
		RAISE EXCEPTION 'promotion % is %, not approved', p.id, p.status
			USING ERRCODE = '55000',
				  HINT = CASE p.status WHEN 'pending' THEN 'It needs approval with sandbox_approve() first.'
								  WHEN 'applied' THEN 'It was applied already; each promotion applies once.'
								  ELSE 'Only approved promotions can be applied.' END;
	END IF;
	SELECT count(*) INTO have FROM sandbox.approvals a WHERE a.promotion = p.id;
	IF have < need THEN
		RAISE EXCEPTION 'promotion % has % of % required approvals', p.id, have, need
			USING ERRCODE = '55000', HINT = 'More reviewers must approve it with sandbox_approve().';
	END IF;
	reason := sandbox.content_changed(p);
	IF reason IS NOT NULL THEN
		RAISE EXCEPTION 'promotion % cannot be applied: %', p.id, reason
			USING ERRCODE = '55000', HINT = 'Reject it; the agent must request the promotion again.';
	END IF;

	IF p.kind = 'table' THEN
		frozen := sandbox.frozen_table(p);
		target := to_regclass(format('%I.%I', p.target_schema, p.target_name));
		IF p.mode = 'create' AND target IS NOT NULL THEN
			RAISE EXCEPTION 'target table "%.%" exists already', p.target_schema, p.target_name
				USING ERRCODE = '42P07', HINT = 'Reject this promotion, or drop the table first.';
		ELSIF p.mode <> 'create' AND target IS NULL THEN
			RAISE EXCEPTION 'target table "%.%" does not exist', p.target_schema, p.target_name
				USING ERRCODE = '42P01';
		END IF;
		IF p.mode = 'replace' THEN
			/* what points at the old table would silently point at the stash */
			SELECT pg_describe_object(d.classid, d.objid, d.objsubid) INTO dep
			  FROM pg_depend d
			 WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = target AND d.deptype = 'n'
			   AND (d.classid = 'pg_rewrite'::regclass
					OR (d.classid = 'pg_constraint'::regclass
						AND (SELECT c.conrelid FROM pg_constraint c WHERE c.oid = d.objid) <> target))
			 LIMIT 1;
			IF dep IS NOT NULL THEN
				RAISE EXCEPTION 'cannot replace table "%.%": % depends on it', p.target_schema, p.target_name, dep
					USING ERRCODE = '2BP01',
						  HINT = 'Drop or change the dependent view or foreign key, or use mode upsert or append.';
			END IF;
		END IF;
		IF p.mode IN ('create', 'replace') THEN
			EXECUTE format('ALTER TABLE %s OWNER TO %I', frozen, actor::text);
		ELSE
			EXECUTE format('GRANT SELECT ON TABLE %s TO %I', frozen, actor::text);
		END IF;
		IF p.mode IN ('append', 'upsert') THEN
			/*
			 * No other writer until commit: the rows counted afterwards, the
			 * pre-images and the rows written must all be this promotion's
			 * own story for sandbox_revert.  Readers go on.
			 */
			EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', target);
		END IF;
		IF p.mode = 'upsert' THEN
			/* pre-images of the rows the upsert will update, for revert */
			EXECUTE format('CREATE TABLE sandbox.%I AS SELECT t.* FROM %s t WHERE (%s) IN (SELECT %s FROM %s)',
						   'preimage_' || p.id, target,
						   sandbox.column_list_pk(sandbox.pk_columns(target), 't.'),
						   sandbox.pk_columns(target), frozen);
			UPDATE sandbox.promotions x SET revert_relid = to_regclass('sandbox.preimage_' || p.id)
			 WHERE x.id = p.id;
		END IF;
	END IF;

	UPDATE sandbox.promotions x
	   SET applied_by = actor::text, applied_at = now(), applied_xid = txid_current()
	 WHERE x.id = p.id;
	PERFORM sandbox.transition(p.id, 'applied', NULL);
	SELECT * INTO p FROM sandbox.promotions x WHERE x.id = p_id;
	RETURN p;
END
$$;
REVOKE ALL ON FUNCTION sandbox.begin_apply(bigint, regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox.begin_apply(bigint, regrole) TO PUBLIC;

/* Close the applying transaction's bookkeeping: take back what was lent, keep what revert needs. */
CREATE FUNCTION sandbox.finish_apply(p_id bigint, stash name, written xid) RETURNS void
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
	target regclass;
	n bigint;
BEGIN
	SELECT * INTO p FROM sandbox.promotions x WHERE x.id = p_id FOR UPDATE;
	IF NOT FOUND OR p.status <> 'applied' OR p.applied_xid <> txid_current() THEN
		RAISE EXCEPTION 'promotion % is not being applied in this transaction', p_id
			USING ERRCODE = '55000', HINT = 'Use sandbox_promote().';
	END IF;
	IF p.kind = 'migration' THEN
		RETURN;
	END IF;
	target := to_regclass(format('%I.%I', p.target_schema, p.target_name));
	IF p.mode IN ('append', 'upsert') THEN
		EXECUTE format('REVOKE SELECT ON TABLE %s FROM %I', sandbox.frozen_table(p), p.applied_by);
		EXECUTE format('SELECT count(*) FROM %s', target) INTO n;
	ELSE
		n := p.frozen_rows;
	END IF;
	UPDATE sandbox.promotions x
	   SET applied_relid = target, rows_after = n, written_xid = written::text::bigint
	 WHERE x.id = p.id;
END
$$;
REVOKE ALL ON FUNCTION sandbox.finish_apply(bigint, name, xid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox.finish_apply(bigint, name, xid) TO PUBLIC;

/*
 * Keep the table a replace promotion takes out of production, for revert.
 * The caller has renamed it (which needs its ownership); moving it out of
 * the production schema frees its index and constraint names.
 */
CREATE FUNCTION sandbox.stash_replaced(p_id bigint, stash name) RETURNS void
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
BEGIN
	SELECT * INTO p FROM sandbox.promotions x WHERE x.id = p_id FOR UPDATE;
	IF NOT FOUND OR p.status <> 'applied' OR p.applied_xid <> txid_current() OR p.mode <> 'replace' THEN
		RAISE EXCEPTION 'promotion % is not being applied in this transaction', p_id
			USING ERRCODE = '55000', HINT = 'Use sandbox_promote().';
	END IF;
	UPDATE sandbox.promotions x
	   SET stash_names = sandbox.park_companions(format('%I.%I', p.target_schema, stash)::regclass, 'replaced_' || p.id)
	 WHERE x.id = p.id;
	EXECUTE format('ALTER TABLE %I.%I SET SCHEMA sandbox', p.target_schema, stash);
	EXECUTE format('ALTER TABLE sandbox.%I RENAME TO %I', stash, 'replaced_' || p.id);
	UPDATE sandbox.promotions x SET revert_relid = to_regclass('sandbox.replaced_' || p.id) WHERE x.id = p.id;
END
$$;
REVOKE ALL ON FUNCTION sandbox.stash_replaced(bigint, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox.stash_replaced(bigint, name) TO PUBLIC;

/*
 * Apply an approved promotion, as the caller, in the caller's transaction,
 * exactly once.  With dry_run, do everything, report what happened, and
 * roll it back.
 */
CREATE FUNCTION sandbox_promote(id bigint, dry_run boolean DEFAULT false,
								OUT promotion bigint, OUT status text, OUT target text,
								OUT rows_inserted bigint, OUT rows_updated bigint,
								OUT detail text)
	RETURNS record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
	frozen text;
	tgt text;
	cols text;
	pk text;
	sets text;
	stash name;
	old_owner name;
	acl record;
BEGIN
	IF $1 IS NULL THEN
		RAISE EXCEPTION 'promotion id must not be null' USING ERRCODE = '22004';
	END IF;
	promotion := $1;
	BEGIN
		p := sandbox.begin_apply($1, CURRENT_USER::regrole);
		rows_inserted := 0;
		rows_updated := 0;
		IF p.kind = 'migration' THEN
			target := 'migration';
			EXECUTE p.sql;
			detail := 'migration ran';
		ELSE
			frozen := format('sandbox.%I', 'frozen_' || p.id);
			tgt := format('%I.%I', p.target_schema, p.target_name);
			target := tgt;
			IF p.mode = 'replace' THEN
				stash := left(p.target_name, 40) || '__replaced_' || p.id;
				SELECT pg_get_userbyid(c.relowner) INTO old_owner FROM pg_class c WHERE c.oid = tgt::regclass;
				EXECUTE format('ALTER TABLE %s RENAME TO %I', tgt, stash);
				/* its grants, read before it leaves */
				CREATE TEMP TABLE IF NOT EXISTS sandbox_promote_acl (privilege_type text, grantee oid, is_grantable boolean);
				TRUNCATE sandbox_promote_acl;
				INSERT INTO sandbox_promote_acl
				SELECT a.privilege_type, a.grantee, a.is_grantable
				  FROM pg_class c, LATERAL aclexplode(c.relacl) a
				 WHERE c.oid = format('%I.%I', p.target_schema, stash)::regclass AND a.grantee <> c.relowner;
				PERFORM sandbox.stash_replaced(p.id, stash);
			END IF;
			IF p.mode IN ('create', 'replace') THEN
				/* metadata only: the frozen table becomes the production table */
				EXECUTE format('ALTER TABLE %s SET SCHEMA %I', frozen, p.target_schema);
				EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', p.target_schema, 'frozen_' || p.id, p.target_name);
				PERFORM sandbox.restore_companions(tgt::regclass, p.frozen_names);
				rows_inserted := p.frozen_rows;
				IF p.mode = 'replace' THEN
					FOR acl IN SELECT * FROM sandbox_promote_acl LOOP
						EXECUTE format('GRANT %s ON TABLE %s TO %s%s', acl.privilege_type, tgt,
									   CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(acl.grantee)) END,
									   CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
					END LOOP;
					IF old_owner <> CURRENT_USER THEN
						EXECUTE format('ALTER TABLE %s OWNER TO %I', tgt, old_owner);
					END IF;
					detail := format('replaced; the previous table is kept for sandbox_revert(%s)', p.id);
				ELSE
					detail := 'created';
				END IF;
			ELSIF p.mode = 'append' THEN
				cols := sandbox.column_list(frozen::regclass);
				EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s', tgt, cols, cols, frozen);
				GET DIAGNOSTICS rows_inserted = ROW_COUNT;
				detail := 'appended';
			ELSE
				cols := sandbox.column_list(frozen::regclass);
				pk := sandbox.pk_columns(tgt::regclass);
				SELECT string_agg(format('%I = f.%I', a.attname, a.attname), ', ') INTO sets
				  FROM pg_attribute a
				 WHERE a.attrelid = frozen::regclass AND a.attnum > 0 AND NOT a.attisdropped
				   AND quote_ident(a.attname) <> ALL (string_to_array(pk, ', '));
				/*
				 * INSERT ... ON CONFLICT (pk) DO UPDATE, in two statements:
				 * begin_apply locked the target against other writers and kept
				 * the pre-images, so an update of the rows already in place and
				 * an insert of the others do the same, count each exactly, and
				 * spare every row the speculative insertion.  (A row that is
				 * updated fires update triggers only, not insert ones too.)
				 */
				IF sets IS NOT NULL THEN
					EXECUTE format('UPDATE %s AS t SET %s FROM %s AS f WHERE (%s) = (%s)',
								   tgt, sets, frozen, sandbox.column_list_pk(pk, 't.'),
								   sandbox.column_list_pk(pk, 'f.'));
					GET DIAGNOSTICS rows_updated = ROW_COUNT;
				END IF;
				EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s AS f WHERE NOT EXISTS (SELECT FROM %s AS t WHERE (%s) = (%s))',
							   tgt, cols, sandbox.column_list_pk(cols, 'f.'), frozen, tgt,
							   sandbox.column_list_pk(pk, 't.'), sandbox.column_list_pk(pk, 'f.'));
				GET DIAGNOSTICS rows_inserted = ROW_COUNT;
				detail := 'upserted';
			END IF;
		END IF;
		PERFORM sandbox.finish_apply(p.id, stash, sandbox.current_xid());
		status := 'applied';
		IF dry_run THEN
			RAISE EXCEPTION USING ERRCODE = 'SB001';
		END IF;
	EXCEPTION WHEN SQLSTATE 'SB001' THEN
		status := 'dry run';
		detail := 'would be ' || detail || '; nothing was changed';
	END;
END
$$;

/* Why production changed since the promotion was applied, or NULL. */
CREATE FUNCTION sandbox.changed_since(p sandbox.promotions) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	target regclass := to_regclass(format('%I.%I', p.target_schema, p.target_name));
	n bigint;
	newer boolean;
BEGIN
	IF target IS NULL OR target::oid <> p.applied_relid THEN
		RETURN format('table %I.%I is no longer the table the promotion wrote', p.target_schema, p.target_name);
	END IF;
	EXECUTE format('SELECT count(*), bool_or(age(t.xmin) < age(%L::xid)) FROM %s t',
				   p.written_xid::text, target) INTO n, newer;
	IF n <> p.rows_after THEN
		RETURN format('it has %s rows, %s right after the promotion', n, p.rows_after);
	END IF;
	IF newer THEN
		RETURN 'rows were inserted or updated after the promotion';
	END IF;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION sandbox.changed_since(sandbox.promotions) FROM PUBLIC;

/* Validate and claim an applied promotion for revert by actor. */
CREATE FUNCTION sandbox.begin_revert(p_id bigint, actor regrole) RETURNS sandbox.promotions
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
	reason text;
BEGIN
	PERFORM sandbox.require_reviewer(p_id, actor, 'revert', 'sandbox_revert()');
	p := sandbox.lock_promotion(p_id);
	IF p.status <> 'applied' THEN
		RAISE EXCEPTION 'promotion % is %, not applied', p.id, p.status USING ERRCODE = '55000';
	END IF;
	IF p.kind = 'migration' OR p.mode = 'create' THEN
		RAISE EXCEPTION 'promotion % cannot be reverted', p.id
			USING ERRCODE = '0A000',
				  DETAIL = CASE WHEN p.kind = 'migration' THEN 'A migration has no recorded inverse.'
								ELSE 'It created a new table.' END,
				  HINT = CASE WHEN p.kind = 'migration' THEN 'Write and review a migration that undoes it.'
							  ELSE format('Drop table %I.%I if it is not wanted.', p.target_schema, p.target_name) END;
	END IF;
	IF p.mode IN ('append', 'upsert') AND to_regclass(format('%I.%I', p.target_schema, p.target_name)) IS NOT NULL THEN
		/* nobody writes it between the check below and the revert */
		EXECUTE format('LOCK TABLE %I.%I IN SHARE ROW EXCLUSIVE MODE', p.target_schema, p.target_name);
	END IF;
	reason := sandbox.changed_since(p);
	IF reason IS NOT NULL THEN
		RAISE EXCEPTION 'promotion % cannot be reverted: production changed since it was applied', p.id
			USING ERRCODE = '55000', DETAIL = reason || '.',
				  HINT = 'Undo the later changes first, or repair production by hand.';
	END IF;
	IF p.mode = 'upsert' THEN
		EXECUTE format('GRANT SELECT ON TABLE sandbox.%I, sandbox.%I TO %I',
					   'frozen_' || p.id, 'preimage_' || p.id, actor::text);
	END IF;
	UPDATE sandbox.promotions x SET revert_xid = txid_current() WHERE x.id = p.id;
	PERFORM sandbox.transition(p.id, 'reverted', NULL);
	SELECT * INTO p FROM sandbox.promotions x WHERE x.id = p_id;
	RETURN p;
END
$$;
REVOKE ALL ON FUNCTION sandbox.begin_revert(bigint, regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox.begin_revert(bigint, regrole) TO PUBLIC;

/* Finish a revert in the reverting transaction: swap tables back, take back what was lent. */
CREATE FUNCTION sandbox.finish_revert(p_id bigint, stash name) RETURNS void
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
BEGIN
	SELECT * INTO p FROM sandbox.promotions x WHERE x.id = p_id FOR UPDATE;
	IF NOT FOUND OR p.status <> 'reverted' OR p.revert_xid <> txid_current() THEN
		RAISE EXCEPTION 'promotion % is not being reverted in this transaction', p_id
			USING ERRCODE = '55000', HINT = 'Use sandbox_revert().';
	END IF;
	IF p.mode = 'upsert' THEN
		EXECUTE format('REVOKE SELECT ON TABLE sandbox.%I, sandbox.%I FROM %I',
					   'frozen_' || p.id, 'preimage_' || p.id, p.applied_by);
	ELSIF p.mode = 'replace' THEN
		/* the promoted table leaves production; the replaced one comes back */
		PERFORM sandbox.park_companions(format('%I.%I', p.target_schema, stash)::regclass, 'reverted_' || p.id);
		EXECUTE format('ALTER TABLE %I.%I SET SCHEMA sandbox', p.target_schema, stash);
		EXECUTE format('ALTER TABLE sandbox.%I RENAME TO %I', stash, 'reverted_' || p.id);
		EXECUTE format('ALTER TABLE sandbox.%I SET SCHEMA %I', 'replaced_' || p.id, p.target_schema);
		EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', p.target_schema, 'replaced_' || p.id, p.target_name);
		PERFORM sandbox.restore_companions(format('%I.%I', p.target_schema, p.target_name)::regclass, p.stash_names);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION sandbox.finish_revert(bigint, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox.finish_revert(bigint, name) TO PUBLIC;

/* Undo an applied replace, append or upsert promotion when nothing changed production since. */
CREATE FUNCTION sandbox_revert(id bigint, OUT promotion bigint, OUT status text,
							   OUT target text, OUT rows_restored bigint, OUT detail text)
	RETURNS record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	p sandbox.promotions;
	tgt text;
	pk text;
	stash name;
BEGIN
	IF $1 IS NULL THEN
		RAISE EXCEPTION 'promotion id must not be null' USING ERRCODE = '22004';
	END IF;
	p := sandbox.begin_revert($1, CURRENT_USER::regrole);
	promotion := p.id;
	tgt := format('%I.%I', p.target_schema, p.target_name);
	target := tgt;
	rows_restored := 0;
	IF p.mode = 'append' THEN
		/* the promotion's own rows: nothing else wrote the table since */
		EXECUTE format('DELETE FROM %s t WHERE t.xmin = %L::xid', tgt, p.written_xid::text);
		GET DIAGNOSTICS rows_restored = ROW_COUNT;
		detail := format('%s appended rows deleted', rows_restored);
	ELSIF p.mode = 'upsert' THEN
		pk := sandbox.pk_columns(tgt::regclass);
		EXECUTE format('DELETE FROM %s t WHERE (%s) IN (SELECT %s FROM sandbox.%I)',
					   tgt, sandbox.column_list_pk(pk, 't.'), pk, 'frozen_' || p.id);
		EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM sandbox.%I', tgt,
					   sandbox.column_list(('sandbox.preimage_' || p.id)::regclass),
					   sandbox.column_list(('sandbox.preimage_' || p.id)::regclass), 'preimage_' || p.id);
		GET DIAGNOSTICS rows_restored = ROW_COUNT;
		detail := format('upserted rows removed, %s previous rows restored', rows_restored);
	ELSE
		stash := left(p.target_name, 40) || '__reverted_' || p.id;
		EXECUTE format('ALTER TABLE %s RENAME TO %I', tgt, stash);
		rows_restored := NULL;
		detail := 'the replaced table is back';
	END IF;
	PERFORM sandbox.finish_revert(p.id, stash);
	status := 'reverted';
END
$$;

/* --- data into the sandbox: clones, subsets, synthetic tables ----------- */

/*
 * sandbox_clone and sandbox_synthesize are SECURITY DEFINER: they read
 * production as the extension's owner and create tables in a sandbox on
 * the caller's behalf, and the guard suspends an agent's restriction while
 * one of them runs (they are approved endpoints).  So each of them
 *
 * - checks its caller first: the caller is session_user (inside a SECURITY
 *   DEFINER function current_user is the owner); a superuser may fill any
 *   sandbox, an agent only its own;
 * - checks that the caller may SELECT every table it reads (and refuses
 *   tables with row-level security unless the caller bypasses it, since the
 *   owner would see rows the caller cannot);
 * - runs no user-written code while it holds the owner's rights: a
 *   where_clause may use only built-in, non-volatile functions the caller
 *   may execute; a default may use only built-in functions; CHECK
 *   constraints, generated columns and indexes may use built-in functions
 *   and those of installed extensions; what uses others is left out;
 * - creates objects only in the sandbox's schema (plus one temporary view,
 *   dropped before it returns) and hands them to the sandbox's agent.
 *
 * Helpers below are plain (SECURITY INVOKER) functions with a pinned
 * search_path; they are not granted to PUBLIC.  Dynamic SQL built here runs
 * under that pinned path too.  Its functions and types are qualified, like
 * every name in this script; the row expressions sandbox_synthesize writes
 * use plain operators, which under the pinned path can only be
 * pg_catalog's (pg_temp is never searched for operators or functions).
 */

/*
 * The sandbox a data function fills, share-locked against a concurrent
 * sandbox_drop, after checking the caller: a superuser may fill any
 * sandbox, the agent of a sandbox only that one.  42704 for an unknown
 * sandbox, 42501 for anyone else.
 */
CREATE FUNCTION sandbox.data_sandbox(sandbox_name text, action text) RETURNS sandbox.sandboxes
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sb sandbox.sandboxes;
BEGIN
	IF sandbox_name IS NULL THEN
		RAISE EXCEPTION 'sandbox name must not be null'
			USING ERRCODE = '22004';
	END IF;
	SELECT * INTO sb FROM sandbox.sandboxes s
	 WHERE s.name OPERATOR(pg_catalog.=) sandbox_name FOR SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'sandbox "%" does not exist', sandbox_name
			USING ERRCODE = '42704',
				  HINT = 'sandbox_list() shows the sandboxes of this database.';
	END IF;
	IF sandbox.sandbox_of_agent(SESSION_USER, sb.name) IS NULL THEN
		RAISE EXCEPTION 'permission denied to % in sandbox "%"', action, sandbox_name
			USING ERRCODE = '42501',
				  DETAIL = pg_catalog.format('Role "%s" is neither a superuser nor the agent of sandbox "%s".',
											 SESSION_USER, sandbox_name),
				  HINT = 'An agent may fill only its own sandbox; ask a database administrator for data in another one.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) sb.name) THEN
		RAISE EXCEPTION 'schema of sandbox "%" does not exist', sandbox_name
			USING ERRCODE = '55000',
				  HINT = 'Drop the sandbox with sandbox_drop() and create it again.';
	END IF;
	RETURN sb;
END
$$;
REVOKE ALL ON FUNCTION sandbox.data_sandbox(text, text) FROM PUBLIC;

/*
 * Check that the caller (session_user) may read table "source" in full and
 * return its qualified name.  Refuses what is not a table (42809), a table
 * the caller may not SELECT (42501) and a table with row-level security
 * the caller does not bypass (42501: the owner would read rows the caller
 * cannot see).
 */
CREATE FUNCTION sandbox.data_source(source oid, action text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	c record;
	bypass boolean;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source table must not be null'
			USING ERRCODE = '22004';
	END IF;
	SELECT n.nspname, r.relname, r.relkind, r.relrowsecurity, r.relowner INTO c
	  FROM pg_catalog.pg_class r
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace
	 WHERE r.oid OPERATOR(pg_catalog.=) source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', source
			USING ERRCODE = '42P01';
	END IF;
	IF c.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['r', 'p']::"char"[]) THEN
		RAISE EXCEPTION '"%.%" is not a table', c.nspname, c.relname
			USING ERRCODE = '42809',
				  DETAIL = pg_catalog.format('It is %s; only tables and partitioned tables can be copied into a sandbox.',
					CASE c.relkind WHEN 'v' THEN 'a view' WHEN 'm' THEN 'a materialized view'
								   WHEN 'f' THEN 'a foreign table' WHEN 'S' THEN 'a sequence'
								   WHEN 'i' THEN 'an index' WHEN 'I' THEN 'a partitioned index'
								   WHEN 'c' THEN 'a composite type' WHEN 't' THEN 'a TOAST table'
								   ELSE 'not a table' END),
				  HINT = 'Pass an ordinary or partitioned table.';
	END IF;
	IF NOT pg_catalog.has_table_privilege(SESSION_USER, source, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %.%', c.nspname, c.relname
			USING ERRCODE = '42501',
				  DETAIL = pg_catalog.format('Role "%s" may not SELECT from it, so it may not %s from it.', SESSION_USER, action),
				  HINT = 'Ask a database administrator to grant SELECT on it, or to list its schema in the sandbox''s read_schemas.';
	END IF;
	IF c.relrowsecurity THEN
		SELECT r.rolsuper OR r.rolbypassrls INTO bypass
		  FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) SESSION_USER;
		IF NOT COALESCE(bypass, false) THEN
			RAISE EXCEPTION 'permission denied to % from table %.%', action, c.nspname, c.relname
				USING ERRCODE = '42501',
					  DETAIL = 'The table has row-level security, and a copy would hold rows the policies hide from you.',
					  HINT = 'Ask a database administrator to copy it, or to give you a view of the rows you may see.';
		END IF;
	END IF;
	RETURN pg_catalog.format('%I.%I', c.nspname, c.relname);
END
$$;
REVOKE ALL ON FUNCTION sandbox.data_source(oid, text) FROM PUBLIC;

/* Does a relation or a type of schema nsp use name rel? */
CREATE FUNCTION sandbox.data_name_taken(nsp name, rel text) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
					 JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
					WHERE n.nspname OPERATOR(pg_catalog.=) nsp AND c.relname OPERATOR(pg_catalog.=) rel)
		OR EXISTS (SELECT 1 FROM pg_catalog.pg_type y
					 JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) y.typnamespace
					WHERE n.nspname OPERATOR(pg_catalog.=) nsp AND y.typname OPERATOR(pg_catalog.=) rel)
$$;
REVOKE ALL ON FUNCTION sandbox.data_name_taken(name, text) FROM PUBLIC;

/*
 * The name of a new table in the sandbox: target, or fallback when target
 * is NULL.  It must be a plain name (no schema: the table always goes into
 * the sandbox's schema) that no relation or type there uses yet (42P07).
 */
CREATE FUNCTION sandbox.data_target(sandbox_name text, target text, fallback name) RETURNS name
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	t text := COALESCE(target, fallback);
BEGIN
	IF t OPERATOR(pg_catalog.=) '' OR pg_catalog.octet_length(t) OPERATOR(pg_catalog.>) 63
	   OR pg_catalog.strpos(t, '.') OPERATOR(pg_catalog.>) 0
	   OR pg_catalog.strpos(t, '"') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'invalid target table name "%"', t
			USING ERRCODE = '22023',
				  DETAIL = pg_catalog.format('A target is a plain table name of at most 63 bytes without "." or quotes; the table is always created in schema "%s".', sandbox_name),
				  HINT = 'Pass only the table''s name, for example target => ''orders_sample''.';
	END IF;
	IF sandbox.data_name_taken(sandbox_name::name, t) THEN
		RAISE EXCEPTION 'relation "%.%" already exists', sandbox_name, t
			USING ERRCODE = '42P07',
				  HINT = 'Pass another target, or drop the existing table first.';
	END IF;
	RETURN t::name;
END
$$;
REVOKE ALL ON FUNCTION sandbox.data_target(text, text, name) FROM PUBLIC;

/* A relation name based on base that no relation or type of schema nsp uses yet. */
CREATE FUNCTION sandbox.data_free_name(nsp name, base text) RETURNS name
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	i integer := 0;
	b text;
	suffix text;
BEGIN
	LOOP
		suffix := CASE WHEN i OPERATOR(pg_catalog.=) 0 THEN '' ELSE '_' OPERATOR(pg_catalog.||) i END;
		b := base;
		WHILE pg_catalog.octet_length(b OPERATOR(pg_catalog.||) suffix) OPERATOR(pg_catalog.>) 63 LOOP
			b := pg_catalog.left(b, -1);
		END LOOP;
		EXIT WHEN NOT sandbox.data_name_taken(nsp, b OPERATOR(pg_catalog.||) suffix);
		i := i OPERATOR(pg_catalog.+) 1;
	END LOOP;
	RETURN (b OPERATOR(pg_catalog.||) suffix)::name;
END
$$;
REVOKE ALL ON FUNCTION sandbox.data_free_name(name, text) FROM PUBLIC;

/*
 * The first function that a stored expression (a default, constraint,
 * index, rule, ...) calls, directly or through an operator, and that is
 * not built in; NULL when there is none.  With extensions_ok, functions
 * of an installed extension count as built in.
 */
CREATE FUNCTION sandbox.foreign_code(obj_class oid, obj_id oid, extensions_ok boolean) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.pg_describe_object('pg_catalog.pg_proc'::pg_catalog.regclass, f.fn, 0)
	  FROM (SELECT CASE WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
						THEN d.refobjid
						ELSE (SELECT o.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator o
							   WHERE o.oid OPERATOR(pg_catalog.=) d.refobjid) END AS fn
			  FROM pg_catalog.pg_depend d
			 WHERE d.classid OPERATOR(pg_catalog.=) obj_class
			   AND d.objid OPERATOR(pg_catalog.=) obj_id
			   AND d.refclassid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.pg_proc'::pg_catalog.regclass,
																   'pg_catalog.pg_operator'::pg_catalog.regclass])) f
	 WHERE f.fn OPERATOR(pg_catalog.>=) 16384
	   AND NOT (extensions_ok AND EXISTS (
			SELECT 1 FROM pg_catalog.pg_depend e
			 WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
			   AND e.objid OPERATOR(pg_catalog.=) f.fn
			   AND e.deptype OPERATOR(pg_catalog.=) 'e'))
	 ORDER BY 1
	 LIMIT 1
$$;
REVOKE ALL ON FUNCTION sandbox.foreign_code(oid, oid, boolean) FROM PUBLIC;

/* Qualified name of a relation, for SQL text. */
CREATE FUNCTION sandbox.data_source_name(rel oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
	  FROM pg_catalog.pg_class c
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.oid OPERATOR(pg_catalog.=) rel
$$;
REVOKE ALL ON FUNCTION sandbox.data_source_name(oid) FROM PUBLIC;

/* schema.name of a relation as messages show it (inside double quotes, unquoted). */
CREATE FUNCTION sandbox.data_display_name(rel oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) c.relname
	  FROM pg_catalog.pg_class c
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.oid OPERATOR(pg_catalog.=) rel
$$;
REVOKE ALL ON FUNCTION sandbox.data_display_name(oid) FROM PUBLIC;

/* A foreign key action letter as SQL. */
CREATE FUNCTION sandbox.fk_action(action "char") RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT CASE action WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL'
					   WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END
$$;
REVOKE ALL ON FUNCTION sandbox.fk_action("char") FROM PUBLIC;

/* "OPERATOR(schema.name)" for an operator, to write it into SQL text. */
CREATE FUNCTION sandbox.operator_sql(op oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.format('OPERATOR(%I.%s)', n.nspname, o.oprname)
	  FROM pg_catalog.pg_operator o
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
	 WHERE o.oid OPERATOR(pg_catalog.=) op
$$;
REVOKE ALL ON FUNCTION sandbox.operator_sql(oid) FROM PUBLIC;

/*
 * The functions a stored expression or query tree (pg_node_tree text) calls,
 * directly or through operators.  pg_depend does not record uses of
 * built-in (pinned) objects, so the tree is read instead: every node field
 * that names a function or operator.  Constants print as bytes, never as
 * text, so a literal cannot add or hide a field; a column name can add one,
 * which only makes a check stricter.
 */
CREATE FUNCTION sandbox.node_functions(tree text) RETURNS oid[]
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT COALESCE(pg_catalog.array_agg(DISTINCT f.fn ORDER BY f.fn), '{}')
	  FROM (SELECT m[2]::oid AS fn
			  FROM pg_catalog.regexp_matches(tree, ':(funcid|opfuncid|hashfuncid|negfuncid|aggfnoid|winfnoid|tsmhandler) ([0-9]+)', 'g') AS m
			UNION
			SELECT o.oprcode::oid
			  FROM (SELECT m[1]::oid AS op FROM pg_catalog.regexp_matches(tree, ':opno ([0-9]+)', 'g') AS m
					UNION
					SELECT pg_catalog.unnest(pg_catalog.string_to_array(m[1], ' '))::oid
					  FROM pg_catalog.regexp_matches(tree, ':opnos \(o ([0-9 ]+)\)', 'g') AS m) ops
			  JOIN pg_catalog.pg_operator o ON o.oid OPERATOR(pg_catalog.=) ops.op) f
	 WHERE f.fn OPERATOR(pg_catalog.<>) 0
$$;
REVOKE ALL ON FUNCTION sandbox.node_functions(text) FROM PUBLIC;

/*
 * The equality operator of a type's (or its domain's base type's) default
 * btree, else hash, opclass, as SQL; NULL when it has none of its own (as
 * varchar, which borrows text's: then pg_catalog's "=" is the one).
 */
CREATE FUNCTION sandbox.equality_sql(typ oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT sandbox.operator_sql(pg_catalog.min(a.amopopr::pg_catalog.oid))
	  FROM pg_catalog.pg_opclass c
	  JOIN pg_catalog.pg_am m ON m.oid OPERATOR(pg_catalog.=) c.opcmethod
	  JOIN pg_catalog.pg_amop a ON a.amopfamily OPERATOR(pg_catalog.=) c.opcfamily
	   AND a.amoplefttype OPERATOR(pg_catalog.=) c.opcintype
	   AND a.amoprighttype OPERATOR(pg_catalog.=) c.opcintype
	   AND a.amopstrategy OPERATOR(pg_catalog.=) CASE m.amname WHEN 'btree' THEN 3 ELSE 1 END
	 WHERE c.opcdefault
	   AND m.amname OPERATOR(pg_catalog.=) (SELECT x.amname FROM pg_catalog.pg_opclass o2
											  JOIN pg_catalog.pg_am x ON x.oid OPERATOR(pg_catalog.=) o2.opcmethod
											 WHERE o2.opcdefault
											   AND o2.opcintype OPERATOR(pg_catalog.=) ANY (ARRAY[typ,
													(SELECT t.typbasetype FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) typ)])
											   AND x.amname OPERATOR(pg_catalog.=) ANY (ARRAY['btree', 'hash'])
											 ORDER BY x.amname LIMIT 1)
	   AND c.opcintype OPERATOR(pg_catalog.=) ANY (ARRAY[typ,
			(SELECT t.typbasetype FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) typ)])
$$;
REVOKE ALL ON FUNCTION sandbox.equality_sql(oid) FROM PUBLIC;

/*
 * Create table nsp.rel with the columns, types, NOT NULL and CHECK
 * constraints, defaults, identity, generated columns, storage, compression,
 * column comments and extended statistics of source, but no index yet
 * (they are built after the data is in, which is faster) and no foreign
 * key.  When rows_sql (a FROM item) is given and source has no generated
 * column, the table is made and filled by CREATE TABLE AS, which is faster
 * than INSERT, and the constraints come after it in one ALTER TABLE (one
 * scan checks them all); loaded then says so.  Otherwise the table is made
 * empty with LIKE.
 *
 * What must not come along is left out, each with a NOTICE saying why:
 * - a default that calls a function that is not built in;
 * - a default on a production sequence (the clone would advance it): a
 *   plain nextval() default gets a new sequence in the sandbox instead;
 * - a CHECK constraint or generated expression that calls a function that
 *   is neither built in nor part of an extension (it would run with the
 *   owner's rights while the table is loaded).
 */
CREATE FUNCTION sandbox.clone_structure(source oid, nsp name, rel name, rows_sql text,
										OUT clone oid, OUT loaded boolean)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	src text := sandbox.data_source_name(source);
	dst text := pg_catalog.format('%I.%I', nsp, rel);
	src_msg text := sandbox.data_display_name(source);
	dst_msg text := nsp OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) rel;
	d record;
	why text;
	seq_name name;
	alters text[] := '{}';
	def text;
	prefix text;
BEGIN
	loaded := rows_sql IS NOT NULL
			  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
							   WHERE a.attrelid OPERATOR(pg_catalog.=) source AND a.attnum OPERATOR(pg_catalog.>) 0
								 AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.<>) '');
	IF loaded THEN
		EXECUTE pg_catalog.format('CREATE TABLE %s AS SELECT %s FROM %s', dst, sandbox.insert_columns(source), rows_sql);
		clone := pg_catalog.to_regclass(dst)::oid;
		FOR d IN SELECT a.attname, a.attnotnull, a.attstorage, t.typstorage, a.attcompression
				   FROM pg_catalog.pg_attribute a
				   JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
				  WHERE a.attrelid OPERATOR(pg_catalog.=) source AND a.attnum OPERATOR(pg_catalog.>) 0
					AND NOT a.attisdropped
				  ORDER BY a.attnum
		LOOP
			IF d.attnotnull THEN
				alters := alters OPERATOR(pg_catalog.||) pg_catalog.format('ALTER COLUMN %I SET NOT NULL', d.attname);
			END IF;
			IF d.attstorage OPERATOR(pg_catalog.<>) d.typstorage THEN
				alters := alters OPERATOR(pg_catalog.||) pg_catalog.format('ALTER COLUMN %I SET STORAGE %s', d.attname,
					CASE d.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);
			END IF;
			IF d.attcompression OPERATOR(pg_catalog.<>) '' THEN
				alters := alters OPERATOR(pg_catalog.||) pg_catalog.format('ALTER COLUMN %I SET COMPRESSION %s', d.attname,
					CASE d.attcompression WHEN 'l' THEN 'lz4' ELSE 'pglz' END);
			END IF;
		END LOOP;
	ELSE
		EXECUTE pg_catalog.format('CREATE TABLE %s (LIKE %s INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS INCLUDING STATISTICS)',
								  dst, src);
		clone := pg_catalog.to_regclass(dst)::oid;
		FOR d IN SELECT ad.oid, a.attname FROM pg_catalog.pg_attrdef ad
				   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) ad.adrelid
					AND a.attnum OPERATOR(pg_catalog.=) ad.adnum
				  WHERE ad.adrelid OPERATOR(pg_catalog.=) clone AND a.attgenerated OPERATOR(pg_catalog.<>) ''
				  ORDER BY a.attnum
		LOOP
			why := sandbox.foreign_code('pg_catalog.pg_attrdef'::pg_catalog.regclass, d.oid, true);
			IF why IS NOT NULL THEN
				EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP EXPRESSION', dst, d.attname);
				RAISE NOTICE 'column "%" of "%" is no longer generated', d.attname, dst_msg
					USING DETAIL = pg_catalog.format('Its expression calls %s, which is neither built in nor part of an extension.', why);
			END IF;
		END LOOP;
	END IF;

	/* defaults, from the source's */
	FOR d IN SELECT ad.oid, a.attname, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS expr,
					(SELECT pg_catalog.min(dp.refobjid) FROM pg_catalog.pg_depend dp
					  JOIN pg_catalog.pg_class s ON s.oid OPERATOR(pg_catalog.=) dp.refobjid
					 WHERE dp.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
					   AND dp.objid OPERATOR(pg_catalog.=) ad.oid
					   AND dp.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
					   AND s.relkind OPERATOR(pg_catalog.=) 'S') AS seq,
					sandbox.node_functions(ad.adbin::text) OPERATOR(pg_catalog.&&) ARRAY[
						'pg_catalog.nextval(pg_catalog.regclass)'::pg_catalog.regprocedure,
						'pg_catalog.currval(pg_catalog.regclass)'::pg_catalog.regprocedure,
						'pg_catalog.setval(pg_catalog.regclass, bigint)'::pg_catalog.regprocedure,
						'pg_catalog.setval(pg_catalog.regclass, bigint, boolean)'::pg_catalog.regprocedure,
						'pg_catalog.lastval()'::pg_catalog.regprocedure]::oid[] AS seqfn
			   FROM pg_catalog.pg_attrdef ad
			   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) ad.adrelid
				AND a.attnum OPERATOR(pg_catalog.=) ad.adnum
			  WHERE ad.adrelid OPERATOR(pg_catalog.=) source AND a.attgenerated OPERATOR(pg_catalog.=) ''
				AND NOT a.attisdropped
			  ORDER BY a.attnum
	LOOP
		IF d.seqfn AND d.seq IS NOT NULL
		   AND d.expr OPERATOR(pg_catalog.~) '^nextval\(''[^'']+''::regclass\)$' THEN
			seq_name := sandbox.data_free_name(nsp, pg_catalog.format('%s_%s_seq', rel, d.attname));
			EXECUTE pg_catalog.format('CREATE SEQUENCE %I.%I AS %s INCREMENT BY %s OWNED BY %s.%I',
									  nsp, seq_name,
									  (SELECT pg_catalog.format_type(q.seqtypid, NULL) FROM pg_catalog.pg_sequence q
										WHERE q.seqrelid OPERATOR(pg_catalog.=) d.seq),
									  (SELECT q.seqincrement FROM pg_catalog.pg_sequence q
										WHERE q.seqrelid OPERATOR(pg_catalog.=) d.seq),
									  dst, d.attname);
			alters := alters OPERATOR(pg_catalog.||)
				pg_catalog.format('ALTER COLUMN %I SET DEFAULT pg_catalog.nextval(%L::pg_catalog.regclass)',
								  d.attname, pg_catalog.format('%I.%I', nsp, seq_name));
			RAISE NOTICE 'column "%" of "%" takes its default from new sequence "%.%"', d.attname, dst_msg, nsp, seq_name
				USING DETAIL = pg_catalog.format('The source''s default %s would advance a production sequence.', d.expr);
			CONTINUE;
		END IF;
		IF d.seqfn THEN
			why := 'it reads or advances a sequence';
		ELSE
			why := sandbox.foreign_code('pg_catalog.pg_attrdef'::pg_catalog.regclass, d.oid, false);
			IF why IS NOT NULL THEN
				why := pg_catalog.format('it calls %s, which is not built in', why);
			END IF;
		END IF;
		IF why IS NOT NULL THEN
			RAISE NOTICE 'default of column "%" of "%" not copied', d.attname, dst_msg
				USING DETAIL = pg_catalog.format('The default %s was left out because %s.', d.expr, why);
		ELSE
			alters := alters OPERATOR(pg_catalog.||)
				pg_catalog.format('ALTER COLUMN %I SET DEFAULT %s', d.attname, d.expr);
		END IF;
	END LOOP;

	/* CHECK constraints, from the source's */
	FOR d IN SELECT c.oid, c.conname FROM pg_catalog.pg_constraint c
			  WHERE c.conrelid OPERATOR(pg_catalog.=) source AND c.contype OPERATOR(pg_catalog.=) 'c'
			  ORDER BY c.conname
	LOOP
		why := sandbox.foreign_code('pg_catalog.pg_constraint'::pg_catalog.regclass, d.oid, true);
		IF why IS NOT NULL THEN
			RAISE NOTICE 'check constraint "%" of "%" not copied', d.conname, src_msg
				USING DETAIL = pg_catalog.format('It calls %s, which is neither built in nor part of an extension.', why);
		ELSE
			alters := alters OPERATOR(pg_catalog.||)
				pg_catalog.format('ADD CONSTRAINT %I %s', d.conname, pg_catalog.pg_get_constraintdef(d.oid));
		END IF;
	END LOOP;

	IF pg_catalog.cardinality(alters) OPERATOR(pg_catalog.>) 0 THEN
		EXECUTE pg_catalog.format('ALTER TABLE %s %s', dst, pg_catalog.array_to_string(alters, ', '));
	END IF;

	/* what LIKE would have copied: identity, column comments, extended statistics */
	IF loaded THEN
		FOR d IN SELECT a.attname, a.attidentity, q.seqincrement
				   FROM pg_catalog.pg_attribute a
				   LEFT JOIN pg_catalog.pg_sequence q ON q.seqrelid OPERATOR(pg_catalog.=)
						pg_catalog.to_regclass(pg_catalog.pg_get_serial_sequence(src, a.attname))
				  WHERE a.attrelid OPERATOR(pg_catalog.=) source AND a.attidentity OPERATOR(pg_catalog.<>) ''
				  ORDER BY a.attnum
		LOOP
			EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I ADD GENERATED %s AS IDENTITY (INCREMENT BY %s)',
									  dst, d.attname, CASE d.attidentity WHEN 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END,
									  COALESCE(d.seqincrement, 1));
		END LOOP;
		FOR d IN SELECT a.attname, c.description FROM pg_catalog.pg_description c
				   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.objoid
					AND a.attnum OPERATOR(pg_catalog.=) c.objsubid
				  WHERE c.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
					AND c.objoid OPERATOR(pg_catalog.=) source AND c.objsubid OPERATOR(pg_catalog.>) 0
		LOOP
			EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', dst, d.attname, d.description);
		END LOOP;
		FOR d IN SELECT x.oid, n.nspname, x.stxname FROM pg_catalog.pg_statistic_ext x
				   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) x.stxnamespace
				  WHERE x.stxrelid OPERATOR(pg_catalog.=) source
				  ORDER BY x.oid
		LOOP
			def := pg_catalog.pg_get_statisticsobjdef(d.oid);
			prefix := pg_catalog.format('CREATE STATISTICS %I.%I ', d.nspname, d.stxname);
			IF pg_catalog.starts_with(def, prefix)
			   AND pg_catalog.right(def, pg_catalog.length(src) OPERATOR(pg_catalog.+) 6) OPERATOR(pg_catalog.=) ' FROM ' OPERATOR(pg_catalog.||) src THEN
				EXECUTE pg_catalog.format('CREATE STATISTICS %I.%I %s FROM %s', nsp,
					sandbox.data_free_name(nsp, pg_catalog.format('%s_%s', rel, d.stxname)),
					pg_catalog.substr(def, pg_catalog.length(prefix) OPERATOR(pg_catalog.+) 1,
									  pg_catalog.length(def) OPERATOR(pg_catalog.-) pg_catalog.length(prefix)
									  OPERATOR(pg_catalog.-) pg_catalog.length(src) OPERATOR(pg_catalog.-) 6),
					dst);
			END IF;
		END LOOP;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION sandbox.clone_structure(oid, name, name, text) FROM PUBLIC;

/* The columns of a table that INSERT may name (not generated), as SQL. */
CREATE FUNCTION sandbox.insert_columns(rel oid, prefix text DEFAULT '') RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.string_agg(prefix OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
	  FROM pg_catalog.pg_attribute a
	 WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0
	   AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) ''
$$;
REVOKE ALL ON FUNCTION sandbox.insert_columns(oid, text) FROM PUBLIC;

/*
 * Build on clone the primary key, unique and exclusion constraints and the
 * other indexes of source, after the data is in.  An index whose
 * expression or predicate calls a function that is neither built in nor
 * part of an extension is skipped with a NOTICE, as is an invalid one.
 * Index names follow the clone's name where they followed the source's.
 */
CREATE FUNCTION sandbox.clone_indexes(source oid, clone oid) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	i record;
	src record;
	dst record;
	why text;
	new_name name;
	def text;
	prefix text;
BEGIN
	SELECT n.nspname, c.relname, c.relkind INTO src
	  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.oid OPERATOR(pg_catalog.=) source;
	SELECT n.nspname, c.relname INTO dst
	  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.oid OPERATOR(pg_catalog.=) clone;

	FOR i IN SELECT x.indexrelid, ic.relname AS iname, x.indisunique, x.indisvalid,
					con.oid AS conoid
			   FROM pg_catalog.pg_index x
			   JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) x.indexrelid
			   LEFT JOIN pg_catalog.pg_constraint con ON con.conindid OPERATOR(pg_catalog.=) x.indexrelid
				AND con.conrelid OPERATOR(pg_catalog.=) source
				AND con.contype OPERATOR(pg_catalog.=) ANY (ARRAY['p', 'u', 'x']::"char"[])
			  WHERE x.indrelid OPERATOR(pg_catalog.=) source
			  ORDER BY x.indisprimary DESC, x.indexrelid
	LOOP
		IF NOT i.indisvalid THEN
			RAISE NOTICE 'index "%" of "%.%" not copied', i.iname, src.nspname, src.relname
				USING DETAIL = 'It is not valid (a CREATE INDEX CONCURRENTLY failed or is running).';
			CONTINUE;
		END IF;
		why := sandbox.foreign_code('pg_catalog.pg_class'::pg_catalog.regclass, i.indexrelid, true);
		IF why IS NOT NULL THEN
			RAISE NOTICE 'index "%" of "%.%" not copied', i.iname, src.nspname, src.relname
				USING DETAIL = pg_catalog.format('It calls %s, which is neither built in nor part of an extension.', why);
			CONTINUE;
		END IF;

		new_name := sandbox.data_free_name(dst.nspname,
			CASE WHEN dst.relname OPERATOR(pg_catalog.<>) src.relname
					  AND pg_catalog.starts_with(i.iname, src.relname)
				 THEN dst.relname OPERATOR(pg_catalog.||)
					  pg_catalog.substr(i.iname, pg_catalog.length(src.relname) OPERATOR(pg_catalog.+) 1)
				 ELSE i.iname END);

		IF i.conoid IS NOT NULL THEN
			def := pg_catalog.regexp_replace(pg_catalog.pg_get_constraintdef(i.conoid),
											 ' USING INDEX TABLESPACE \S+', '');
			EXECUTE pg_catalog.format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
									  dst.nspname, dst.relname, new_name, def);
		ELSE
			def := pg_catalog.pg_get_indexdef(i.indexrelid);
			prefix := pg_catalog.format('CREATE %sINDEX %I ON %s%I.%I USING ',
										CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END, i.iname,
										CASE WHEN src.relkind OPERATOR(pg_catalog.=) 'p' THEN 'ONLY ' ELSE '' END,
										src.nspname, src.relname);
			IF NOT pg_catalog.starts_with(def, prefix) THEN
				RAISE NOTICE 'index "%" of "%.%" not copied', i.iname, src.nspname, src.relname
					USING DETAIL = pg_catalog.format('Its definition has an unexpected form: %s.', def);
				CONTINUE;
			END IF;
			EXECUTE pg_catalog.format('CREATE %sINDEX %I ON %I.%I USING %s',
									  CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END, new_name,
									  dst.nspname, dst.relname,
									  pg_catalog.substr(def, pg_catalog.length(prefix) OPERATOR(pg_catalog.+) 1));
		END IF;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION sandbox.clone_indexes(oid, oid) FROM PUBLIC;

/* Move the clone's own sequences (serial, identity) past the values it holds. */
CREATE FUNCTION sandbox.clone_sequences(clone oid) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	a record;
	top numeric;
BEGIN
	FOR a IN SELECT x.attname, x.seq, q.seqmin, q.seqmax
			   FROM (SELECT c.attname,
							pg_catalog.pg_get_serial_sequence(sandbox.data_source_name(clone), c.attname) AS seq
					   FROM pg_catalog.pg_attribute c
					  WHERE c.attrelid OPERATOR(pg_catalog.=) clone AND c.attnum OPERATOR(pg_catalog.>) 0
						AND NOT c.attisdropped) x
			   JOIN pg_catalog.pg_sequence q ON q.seqrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(x.seq)
			  WHERE x.seq IS NOT NULL
	LOOP
		EXECUTE pg_catalog.format('SELECT pg_catalog.max(%I)::pg_catalog.numeric FROM %s',
								  a.attname, sandbox.data_source_name(clone)) INTO top;
		IF top IS NOT NULL AND top OPERATOR(pg_catalog.>=) a.seqmin AND top OPERATOR(pg_catalog.<) a.seqmax THEN
			PERFORM pg_catalog.setval(a.seq, top::bigint);
		END IF;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION sandbox.clone_sequences(oid) FROM PUBLIC;

/* Hand a new table, and the statistics objects on it, to the sandbox's agent. */
CREATE FUNCTION sandbox.data_give(rel oid, agent pg_catalog.regrole) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	s record;
BEGIN
	EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', sandbox.data_source_name(rel), agent::text);
	FOR s IN SELECT n.nspname, x.stxname FROM pg_catalog.pg_statistic_ext x
			   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) x.stxnamespace
			  WHERE x.stxrelid OPERATOR(pg_catalog.=) rel
	LOOP
		EXECUTE pg_catalog.format('ALTER STATISTICS %I.%I OWNER TO %I', s.nspname, s.stxname, agent::text);
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION sandbox.data_give(oid, pg_catalog.regrole) FROM PUBLIC;

/*
 * Is function fn allowed in a where_clause?  NULL when it is, else why not.
 * Allowed: built-in functions of pg_catalog that are immutable or stable,
 * that the caller may execute, and that neither read tables nor reveal
 * settings or other sessions (the clause runs with the owner's rights).
 */
CREATE FUNCTION sandbox.where_function_problem(fn oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT CASE
		WHEN p.oid IS NULL THEN 'it calls a function that does not exist'
		WHEN p.oid OPERATOR(pg_catalog.>=) 16384
			 OR p.pronamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace
			THEN pg_catalog.format('it calls %s, which is not built in', p.oid::pg_catalog.regprocedure)
		WHEN p.provolatile OPERATOR(pg_catalog.=) 'v'
			THEN pg_catalog.format('it calls %s, which is volatile (it may have side effects)', p.oid::pg_catalog.regprocedure)
		WHEN p.proname OPERATOR(pg_catalog.~) '(to_xml|to_xmlschema|^pg_stat_get_|^pg_event_trigger_|current_setting|^pg_show_all_settings$|^pg_settings_get_flags$|^pg_config$|^pg_get_replication_slots$|^pg_prepared_statement$|^pg_cursor$|^pg_listening_channels$|^pg_get_publication_tables$|^pg_tablespace_databases$|^pg_available_extension|^pg_extension_update_paths$|xact_id|^txid_current)'
			THEN pg_catalog.format('it calls %s, which reads tables, settings or other sessions', p.oid::pg_catalog.regprocedure)
		WHEN NOT pg_catalog.has_function_privilege(SESSION_USER, p.oid, 'EXECUTE')
			THEN pg_catalog.format('it calls %s, which role "%s" may not execute', p.oid::pg_catalog.regprocedure, SESSION_USER)
		END
	  FROM (SELECT fn AS f) q
	  LEFT JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) q.f
$$;
REVOKE ALL ON FUNCTION sandbox.where_function_problem(oid) FROM PUBLIC;

/*
 * Create a temporary view of the rows of source to copy, sampled (BERNOULLI,
 * fixed seed 0, so repeatable) and filtered by where_clause, after proving
 * that the clause is one condition over source and nothing else; return
 * the view's qualified name.  The clause is never executed before it is
 * proved, and it is used only through the view's parse tree afterwards,
 * never re-parsed.  Bad text: 42601 for syntax, 22023 for what it may not
 * do; nothing is left behind either way.
 *
 * Why each check: PL/pgSQL's EXECUTE runs every statement of a string, so
 * a ";" could end the CREATE VIEW and start anything else: refused outright
 * (anywhere, even inside a literal: chr(59) writes one).  Creating the view
 * only parses the clause; nothing in it runs.  The view's rule must then be
 * one plain query over source (no subquery, set operation, CTE, row lock,
 * grouping, ordering or limit: a clause can close its parenthesis and add
 * those), must read no relation but source, may use no type but built-in
 * ones and those of source's columns, and may call only the functions
 * where_function_problem() allows, since it runs with the owner's rights.
 * Functions, operators, types and relations are read from the rule's node
 * tree, because pg_depend records no use of a built-in (pinned) object;
 * pg_depend is checked too, for every other kind of object.  The tree text
 * checked is PostgreSQL 15's node output (a new major version must be
 * reviewed here).
 */
CREATE FUNCTION sandbox.where_view(source oid, where_clause text, sample_percent float8) RETURNS text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	view_name name := 'sandbox_clone_rows';
	view_oid oid;
	rule_oid oid;
	tree text;
	d record;
	bad text;
	i integer := 0;
	col_types oid[];
BEGIN
	IF where_clause IS NOT NULL AND pg_catalog.strpos(where_clause, ';') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'where_clause must not contain ";"'
			USING ERRCODE = '42601',
				  DETAIL = 'A where_clause is a single condition; a semicolon would end the statement it is part of.',
				  HINT = 'Write chr(59) for a semicolon inside a string.';
	END IF;

	WHILE pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', view_name)) IS NOT NULL LOOP
		i := i OPERATOR(pg_catalog.+) 1;
		view_name := ('sandbox_clone_rows_' OPERATOR(pg_catalog.||) i)::name;
	END LOOP;

	BEGIN
		EXECUTE pg_catalog.format(E'CREATE TEMPORARY VIEW %I AS SELECT * FROM %s%s WHERE (\n%s\n)',
			view_name, sandbox.data_source_name(source),
			CASE WHEN sample_percent OPERATOR(pg_catalog.<) 100
				 THEN pg_catalog.format(' TABLESAMPLE BERNOULLI (%s) REPEATABLE (0)', sample_percent)
				 ELSE '' END,
			COALESCE(where_clause, 'true'));
	EXCEPTION
		WHEN syntax_error THEN
			RAISE EXCEPTION 'syntax error in where_clause'
				USING ERRCODE = '42601', DETAIL = pg_catalog.format('%s.', SQLERRM),
					  HINT = 'Pass one condition over the source''s columns, such as status = ''shipped''.';
		WHEN OTHERS THEN
			RAISE EXCEPTION 'invalid where_clause'
				USING ERRCODE = '22023', DETAIL = pg_catalog.format('%s.', SQLERRM),
					  HINT = 'Pass one condition over the source''s columns, such as status = ''shipped''.';
	END;

	view_oid := pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', view_name))::oid;
	SELECT r.oid, r.ev_action::text INTO rule_oid, tree
	  FROM pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) view_oid;

	IF (pg_catalog.length(tree) OPERATOR(pg_catalog.-) pg_catalog.length(pg_catalog.replace(tree, '{QUERY', '')))
		OPERATOR(pg_catalog.<>) 6 THEN
		bad := 'it contains a subquery, a set operation or a WITH clause';
	ELSIF tree OPERATOR(pg_catalog.!~) '^\(\{QUERY :commandType 1 [^{]*:hasAggs false :hasWindowFuncs false :hasTargetSRFs false :hasSubLinks false [^{]*:hasForUpdate false [^{]*:cteList <> :rtable '
	   OR tree OPERATOR(pg_catalog.!~) ':groupClause <> [^{}]*:groupingSets <> :havingQual <> :windowClause <> :distinctClause <> :sortClause <> :limitOffset <> :limitCount <> [^{}]*:rowMarks <> :setOperations <> [^{}]*\}\)$'
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) view_oid AND c.reloptions IS NOT NULL) THEN
		bad := 'it adds clauses (such as GROUP BY, ORDER BY, LIMIT, FOR UPDATE or WITH CHECK OPTION) to the query it is part of';
	END IF;

	IF bad IS NULL THEN
		SELECT pg_catalog.array_agg(a.atttypid) INTO col_types
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid OPERATOR(pg_catalog.=) source AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;

		/* relations, functions, operators and types, from the tree (built-ins have no pg_depend rows) */
		SELECT pg_catalog.format('it reads %s', pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, m[1]::oid, 0))
		  INTO bad
		  FROM pg_catalog.regexp_matches(tree, ':relid ([0-9]+)', 'g') AS m
		 WHERE m[1]::oid OPERATOR(pg_catalog.<>) ALL (ARRAY[source, view_oid])
		 LIMIT 1;
		IF bad IS NULL THEN
			SELECT pg_catalog.format('it uses %s, which is not built in', pg_catalog.pg_describe_object('pg_catalog.pg_operator'::pg_catalog.regclass, op, 0))
			  INTO bad
			  FROM (SELECT m[1]::oid AS op FROM pg_catalog.regexp_matches(tree, ':opno ([0-9]+)', 'g') AS m
					UNION
					SELECT pg_catalog.unnest(pg_catalog.string_to_array(m[1], ' '))::oid
					  FROM pg_catalog.regexp_matches(tree, ':opnos \(o ([0-9 ]+)\)', 'g') AS m) ops
			 WHERE op OPERATOR(pg_catalog.>=) 16384
			 LIMIT 1;
		END IF;
		IF bad IS NULL THEN
			SELECT sandbox.where_function_problem(f) INTO bad
			  FROM pg_catalog.unnest(sandbox.node_functions(tree)) AS f
			 WHERE NOT (f OPERATOR(pg_catalog.=) 'pg_catalog.bernoulli(internal)'::pg_catalog.regprocedure::oid
						AND sample_percent OPERATOR(pg_catalog.<) 100)
			   AND sandbox.where_function_problem(f) IS NOT NULL
			 ORDER BY f
			 LIMIT 1;
		END IF;
		IF bad IS NULL THEN
			SELECT pg_catalog.format('it uses %s, which is neither built in nor the type of a column of the source',
									 pg_catalog.format_type(ty, NULL))
			  INTO bad
			  FROM (SELECT DISTINCT m[1]::oid AS ty
					  FROM pg_catalog.regexp_matches(tree, ':[a-z_]*type ([0-9]+)', 'g') AS m) tys
			 WHERE ty OPERATOR(pg_catalog.>=) 16384
			   AND NOT ty OPERATOR(pg_catalog.=) ANY (col_types)
			   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t
								WHERE t.oid OPERATOR(pg_catalog.=) ty
								  AND t.typelem OPERATOR(pg_catalog.=) ANY (col_types))
			 LIMIT 1;
		END IF;
	END IF;

	/* and every other object the rule depends on */
	IF bad IS NULL THEN
		FOR d IN SELECT dp.refclassid, dp.refobjid FROM pg_catalog.pg_depend dp
				  WHERE dp.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
					AND dp.objid OPERATOR(pg_catalog.=) rule_oid
				  ORDER BY dp.refclassid, dp.refobjid
		LOOP
			IF d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass THEN
				IF d.refobjid OPERATOR(pg_catalog.<>) ALL (ARRAY[source, view_oid]) THEN
					bad := pg_catalog.format('it reads %s', pg_catalog.pg_describe_object(d.refclassid, d.refobjid, 0));
				END IF;
			ELSIF d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
				bad := sandbox.where_function_problem(d.refobjid);
			ELSIF d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass THEN
				bad := pg_catalog.format('it uses %s, which is not built in',
										 pg_catalog.pg_describe_object(d.refclassid, d.refobjid, 0));
			ELSIF d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass THEN
				IF NOT d.refobjid OPERATOR(pg_catalog.=) ANY (col_types)
				   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t
									WHERE t.oid OPERATOR(pg_catalog.=) d.refobjid
									  AND t.typelem OPERATOR(pg_catalog.=) ANY (col_types)) THEN
					bad := pg_catalog.format('it uses %s, which is neither built in nor the type of a column of the source',
											 pg_catalog.format_type(d.refobjid, NULL));
				END IF;
			ELSIF d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_collation'::pg_catalog.regclass THEN
				NULL;
			ELSE
				bad := pg_catalog.format('it refers to %s', pg_catalog.pg_describe_object(d.refclassid, d.refobjid, 0));
			END IF;
			EXIT WHEN bad IS NOT NULL;
		END LOOP;
	END IF;

	IF bad IS NOT NULL THEN
		EXECUTE pg_catalog.format('DROP VIEW pg_temp.%I', view_name);
		RAISE EXCEPTION 'where_clause is not allowed'
			USING ERRCODE = '22023',
				  DETAIL = pg_catalog.format('The where_clause is not a plain condition over the source: %s.', bad),
				  HINT = 'A where_clause may use the source''s columns, constants, and built-in immutable or stable functions and operators.';
	END IF;
	RETURN pg_catalog.format('pg_temp.%I', view_name);
END
$$;
REVOKE ALL ON FUNCTION sandbox.where_view(oid, text, float8) FROM PUBLIC;

/*
 * sandbox_clone: copy a production table into a sandbox (§3.2).
 *
 * The rows copied are a repeatable sample (TABLESAMPLE BERNOULLI with the
 * fixed seed 0: same table contents, same percent, same rows) of the rows
 * that where_clause accepts.  With follow_foreign_keys, every table those
 * rows reference is cloned too, with exactly the rows referenced, until the
 * set is closed (self-references and cycles included), and the foreign
 * keys are recreated between the clones.  Without it, foreign keys are not
 * copied (one from the sandbox to production would write to production).
 * The clones belong to the sandbox's agent.
 */
CREATE FUNCTION sandbox_clone(name text, source regclass,
							  sample_percent float8 DEFAULT 100,
							  where_clause text DEFAULT NULL,
							  target text DEFAULT NULL,
							  follow_foreign_keys boolean DEFAULT false)
	RETURNS regclass
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sb sandbox.sandboxes;
	src_oid oid := source::oid;
	src_name text;
	from_sql text;
	view_sql text;
	tables oid[];
	names name[];
	clones oid[] := '{}';
	edges oid[] := '{}';
	i integer;
	j integer;
	n bigint;
	added bigint;
	c record;
	e record;
	cols text;
	cond text;
	seen text;
BEGIN
	sb := sandbox.data_sandbox($1, 'clone a table');
	src_name := sandbox.data_source(src_oid, 'clone');
	IF sample_percent IS NULL OR NOT (sample_percent OPERATOR(pg_catalog.>) 0
									  AND sample_percent OPERATOR(pg_catalog.<=) 100) THEN
		RAISE EXCEPTION 'sample_percent must be greater than 0 and at most 100'
			USING ERRCODE = '22023',
				  DETAIL = pg_catalog.format('The sample_percent given was %s.', COALESCE(sample_percent::text, 'NULL')),
				  HINT = 'Pass 100 for every row, or a percentage such as 10.';
	END IF;

	/* the tables to clone: source, and with follow_foreign_keys what it references */
	tables := ARRAY[src_oid];
	names := ARRAY[sandbox.data_target(sb.name, target,
									   (SELECT r.relname FROM pg_catalog.pg_class r WHERE r.oid OPERATOR(pg_catalog.=) src_oid))];
	IF COALESCE(follow_foreign_keys, false) THEN
		i := 1;
		WHILE i OPERATOR(pg_catalog.<=) pg_catalog.cardinality(tables) LOOP
			FOR c IN SELECT k.oid, k.confrelid FROM pg_catalog.pg_constraint k
					  WHERE k.conrelid OPERATOR(pg_catalog.=) tables[i]
						AND k.contype OPERATOR(pg_catalog.=) 'f'
						AND k.conparentid OPERATOR(pg_catalog.=) 0
					  ORDER BY k.conname
			LOOP
				edges := edges OPERATOR(pg_catalog.||) c.oid;
				IF NOT c.confrelid OPERATOR(pg_catalog.=) ANY (tables) THEN
					PERFORM sandbox.data_source(c.confrelid, 'clone the rows referenced');
					tables := tables OPERATOR(pg_catalog.||) c.confrelid;
				END IF;
			END LOOP;
			i := i OPERATOR(pg_catalog.+) 1;
		END LOOP;
	END IF;

	/* the rows of source to copy: proved before anything is created */
	IF where_clause IS NOT NULL THEN
		view_sql := sandbox.where_view(src_oid, where_clause, sample_percent);
		from_sql := view_sql;
	ELSIF sample_percent OPERATOR(pg_catalog.<) 100 THEN
		from_sql := pg_catalog.format('%s TABLESAMPLE BERNOULLI (%s) REPEATABLE (0)', src_name, sample_percent);
	ELSE
		from_sql := src_name;
	END IF;

	/*
	 * The clones: the source's made and filled at once when it can be, the
	 * others empty.  A referenced table's clone takes its name, or the first
	 * free one after it (customers_1, ...) when the sandbox has one already.
	 */
	FOR i IN 1 .. pg_catalog.cardinality(tables) LOOP
		IF i OPERATOR(pg_catalog.>) 1 THEN
			names := names OPERATOR(pg_catalog.||) sandbox.data_free_name(sb.name::name,
				(SELECT r.relname FROM pg_catalog.pg_class r WHERE r.oid OPERATOR(pg_catalog.=) tables[i]));
		END IF;
		SELECT * INTO c FROM sandbox.clone_structure(tables[i], sb.name::name, names[i],
													 CASE WHEN i OPERATOR(pg_catalog.=) 1 THEN from_sql END);
		clones := clones OPERATOR(pg_catalog.||) c.clone;
		IF i OPERATOR(pg_catalog.=) 1 AND NOT c.loaded THEN
			cols := sandbox.insert_columns(clones[1]);
			EXECUTE pg_catalog.format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s',
									  sandbox.data_source_name(clones[1]), cols, cols, from_sql);
		END IF;
	END LOOP;
	IF view_sql IS NOT NULL THEN
		EXECUTE pg_catalog.format('DROP VIEW %s', view_sql);
	END IF;

	/* referenced rows, until every foreign key between the clones is satisfied */
	LOOP
		added := 0;
		FOR e IN SELECT k.oid, k.conrelid, k.confrelid, k.conkey, k.confkey, k.conpfeqop, k.conppeqop
				   FROM pg_catalog.unnest(edges) WITH ORDINALITY AS x(o, ord)
				   JOIN pg_catalog.pg_constraint k ON k.oid OPERATOR(pg_catalog.=) x.o
				  ORDER BY x.ord
		LOOP
			i := pg_catalog.array_position(tables, e.conrelid);
			j := pg_catalog.array_position(tables, e.confrelid);
			SELECT pg_catalog.string_agg(pg_catalog.format('p.%I %s c.%I', pa.attname,
								sandbox.operator_sql(e.conpfeqop[q.ord]), ca.attname), ' AND ' ORDER BY q.ord),
				   pg_catalog.string_agg(pg_catalog.format('x.%I %s p.%I', pa.attname,
								sandbox.operator_sql(e.conppeqop[q.ord]), pa.attname), ' AND ' ORDER BY q.ord)
			  INTO cond, seen
			  FROM pg_catalog.generate_subscripts(e.conkey, 1) AS q(ord)
			  JOIN pg_catalog.pg_attribute ca ON ca.attrelid OPERATOR(pg_catalog.=) clones[i]
			   AND ca.attname OPERATOR(pg_catalog.=) (SELECT s.attname FROM pg_catalog.pg_attribute s
													   WHERE s.attrelid OPERATOR(pg_catalog.=) e.conrelid
														 AND s.attnum OPERATOR(pg_catalog.=) e.conkey[q.ord])
			  JOIN pg_catalog.pg_attribute pa ON pa.attrelid OPERATOR(pg_catalog.=) e.confrelid
			   AND pa.attnum OPERATOR(pg_catalog.=) e.confkey[q.ord];
			cols := sandbox.insert_columns(clones[j]);
			EXECUTE pg_catalog.format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s%s p WHERE EXISTS (SELECT 1 FROM %s c WHERE %s) AND NOT EXISTS (SELECT 1 FROM %s x WHERE %s)',
									  sandbox.data_source_name(clones[j]), cols,
									  sandbox.insert_columns(clones[j], 'p.'),
									  CASE WHEN (SELECT r.relkind FROM pg_catalog.pg_class r
												  WHERE r.oid OPERATOR(pg_catalog.=) tables[j]) OPERATOR(pg_catalog.=) 'p'
										   THEN '' ELSE 'ONLY ' END,
									  sandbox.data_source_name(tables[j]),
									  sandbox.data_source_name(clones[i]), cond,
									  sandbox.data_source_name(clones[j]), seen);
			GET DIAGNOSTICS n = ROW_COUNT;
			added := added OPERATOR(pg_catalog.+) n;
		END LOOP;
		EXIT WHEN added OPERATOR(pg_catalog.=) 0;
	END LOOP;

	/* indexes after the data, then the sequences, then the foreign keys */
	FOR i IN 1 .. pg_catalog.cardinality(tables) LOOP
		PERFORM sandbox.clone_indexes(tables[i], clones[i]);
		PERFORM sandbox.clone_sequences(clones[i]);
	END LOOP;
	FOR e IN SELECT k.* FROM pg_catalog.unnest(edges) WITH ORDINALITY AS x(o, ord)
			   JOIN pg_catalog.pg_constraint k ON k.oid OPERATOR(pg_catalog.=) x.o
			  ORDER BY x.ord
	LOOP
		i := pg_catalog.array_position(tables, e.conrelid);
		j := pg_catalog.array_position(tables, e.confrelid);
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %s (%s)%s ON UPDATE %s ON DELETE %s%s',
			sandbox.data_source_name(clones[i]), e.conname,
			(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY q.ord)
			   FROM pg_catalog.unnest(e.conkey) WITH ORDINALITY AS q(num, ord)
			   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) e.conrelid
				AND a.attnum OPERATOR(pg_catalog.=) q.num),
			sandbox.data_source_name(clones[j]),
			(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY q.ord)
			   FROM pg_catalog.unnest(e.confkey) WITH ORDINALITY AS q(num, ord)
			   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) e.confrelid
				AND a.attnum OPERATOR(pg_catalog.=) q.num),
			CASE e.confmatchtype WHEN 'f' THEN ' MATCH FULL' ELSE '' END,
			sandbox.fk_action(e.confupdtype), sandbox.fk_action(e.confdeltype),
			CASE WHEN e.condeferred THEN ' DEFERRABLE INITIALLY DEFERRED'
				 WHEN e.condeferrable THEN ' DEFERRABLE' ELSE '' END);
	END LOOP;

	/* what was not copied */
	FOR c IN SELECT k.conname, sandbox.data_display_name(k.confrelid) AS ref
			   FROM pg_catalog.pg_constraint k
			  WHERE k.conrelid OPERATOR(pg_catalog.=) src_oid AND k.contype OPERATOR(pg_catalog.=) 'f'
				AND k.conparentid OPERATOR(pg_catalog.=) 0
				AND NOT k.oid OPERATOR(pg_catalog.=) ANY (edges)
			  ORDER BY k.conname
	LOOP
		RAISE NOTICE 'foreign key "%" of "%" not cloned', c.conname, sandbox.data_display_name(src_oid)
			USING DETAIL = pg_catalog.format('It references %s; a foreign key from the sandbox to production would write to production.', c.ref),
				  HINT = 'Pass follow_foreign_keys => true to clone the referenced rows and the foreign key with them.';
	END LOOP;
	FOR i IN 1 .. pg_catalog.cardinality(tables) LOOP
		IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) tables[i] AND NOT t.tgisinternal)
		   OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) tables[i])
		   OR EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) tables[i]) THEN
			RAISE NOTICE 'triggers, rules and policies of "%" not cloned', sandbox.data_display_name(tables[i])
				USING DETAIL = 'A clone holds data and constraints only; production code does not run in the sandbox.';
		END IF;
		IF i OPERATOR(pg_catalog.>) 1 THEN
			EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s', sandbox.data_source_name(clones[i])) INTO n;
			RAISE NOTICE 'cloned % referenced rows of "%" into "%"', n,
				sandbox.data_display_name(tables[i]), sandbox.data_display_name(clones[i]);
		END IF;
		PERFORM sandbox.data_give(clones[i], sb.agent);
	END LOOP;
	RETURN clones[1]::regclass;
END
$$;
REVOKE ALL ON FUNCTION sandbox_clone(text, regclass, float8, text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox_clone(text, regclass, float8, text, text, boolean) TO PUBLIC;

/* --- synthetic tables ------------------------------------------------------ */

/*
 * How sandbox_synthesize generates a column of type typ (domains resolve to
 * their base type): int, numeric, float, money, date, timestamp, time,
 * interval, bool, enum, text, uuid, bytea, inet, json or other.
 */
CREATE FUNCTION sandbox.synth_kind(typ oid) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH RECURSIVE b(t, lvl) AS (
		SELECT typ, 0
		UNION ALL
		SELECT y.typbasetype, b.lvl OPERATOR(pg_catalog.+) 1
		  FROM b JOIN pg_catalog.pg_type y ON y.oid OPERATOR(pg_catalog.=) b.t
		 WHERE y.typtype OPERATOR(pg_catalog.=) 'd'
	)
	SELECT CASE
		WHEN y.oid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.int2'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype,
													  'pg_catalog.int8'::pg_catalog.regtype]::pg_catalog.oid[]) THEN 'int'
		WHEN y.oid OPERATOR(pg_catalog.=) 'pg_catalog.numeric'::pg_catalog.regtype THEN 'numeric'
		WHEN y.oid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.float4'::pg_catalog.regtype,
													  'pg_catalog.float8'::pg_catalog.regtype]::pg_catalog.oid[]) THEN 'float'
		WHEN y.oid OPERATOR(pg_catalog.=) 'pg_catalog.money'::pg_catalog.regtype THEN 'money'
		WHEN y.oid OPERATOR(pg_catalog.=) 'pg_catalog.date'::pg_catalog.regtype THEN 'date'
		WHEN y.oid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.timestamp'::pg_catalog.regtype,
													  'pg_catalog.timestamptz'::pg_catalog.regtype]::pg_catalog.oid[]) THEN 'timestamp'
		WHEN y.oid OPERATOR(pg_catalog.=) 'pg_catalog.time'::pg_catalog.regtype THEN 'time'
		WHEN y.oid OPERATOR(pg_catalog.=) 'pg_catalog.interval'::pg_catalog.regtype THEN 'interval'
		WHEN y.oid OPERATOR(pg_catalog.=) 'pg_catalog.bool'::pg_catalog.regtype THEN 'bool'
		WHEN y.oid OPERATOR(pg_catalog.=) 'pg_catalog.uuid'::pg_catalog.regtype THEN 'uuid'
		WHEN y.oid OPERATOR(pg_catalog.=) 'pg_catalog.bytea'::pg_catalog.regtype THEN 'bytea'
		WHEN y.oid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.inet'::pg_catalog.regtype,
													  'pg_catalog.cidr'::pg_catalog.regtype]::pg_catalog.oid[]) THEN 'inet'
		WHEN y.oid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.json'::pg_catalog.regtype,
													  'pg_catalog.jsonb'::pg_catalog.regtype]::pg_catalog.oid[]) THEN 'json'
		WHEN y.typtype OPERATOR(pg_catalog.=) 'e' THEN 'enum'
		WHEN y.typcategory OPERATOR(pg_catalog.=) 'S' THEN 'text'
		ELSE 'other' END
	  FROM pg_catalog.pg_type y
	 WHERE y.oid OPERATOR(pg_catalog.=) (SELECT b.t FROM b ORDER BY b.lvl DESC LIMIT 1)
$$;
REVOKE ALL ON FUNCTION sandbox.synth_kind(oid) FROM PUBLIC;

/* The base type of a domain (the type itself otherwise). */
CREATE FUNCTION sandbox.synth_base(typ oid) RETURNS oid
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH RECURSIVE b(t, lvl) AS (
		SELECT typ, 0
		UNION ALL
		SELECT y.typbasetype, b.lvl OPERATOR(pg_catalog.+) 1
		  FROM b JOIN pg_catalog.pg_type y ON y.oid OPERATOR(pg_catalog.=) b.t
		 WHERE y.typtype OPERATOR(pg_catalog.=) 'd'
	)
	SELECT b.t FROM b ORDER BY b.lvl DESC LIMIT 1
$$;
REVOKE ALL ON FUNCTION sandbox.synth_base(oid) FROM PUBLIC;

/*
 * The generator's randomness: a salt per (seed, column, purpose), and SQL
 * for a uniform float8 in [0, 1) from hashing a row key with a salt.  A
 * hash of the row number, not random(): the same seed gives the same rows
 * whatever the plan, the order of evaluation or the session's setseed().
 */
CREATE FUNCTION sandbox.synth_salt(seed integer, k integer, purpose integer) RETURNS bigint
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.hashint8extended(k::bigint OPERATOR(pg_catalog.*) 16 OPERATOR(pg_catalog.+) purpose, seed::bigint)
$$;
REVOKE ALL ON FUNCTION sandbox.synth_salt(integer, integer, integer) FROM PUBLIC;

CREATE FUNCTION sandbox.synth_uniform(key_sql text, salt bigint) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.format('((pg_catalog.hashint8extended(%s, %s) & 9007199254740991)::pg_catalog.float8 * 1.1102230246251565e-16::pg_catalog.float8)',
							 key_sql, salt)
$$;
REVOKE ALL ON FUNCTION sandbox.synth_uniform(text, bigint) FROM PUBLIC;

/*
 * SQL for a made-up word of len_sql characters (at most maxlen) keyed by
 * key_sql: a letter from g to v, then hexadecimal digits of hashes of the
 * key (to_hex of a hash with its top bit set always has 16 digits; md5()
 * and translate() cost ten times more per row).  So a made-up word always
 * matches ^[g-v][0-9a-f]*$, which lets sandbox_synthesize look for
 * collisions with production among the few production values of that form.
 */
CREATE FUNCTION sandbox.synth_word(key_sql text, salt bigint, len_sql text, maxlen integer) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.format('pg_catalog.substr(pg_catalog.chr(103 + (pg_catalog.hashint8extended(%s, %s) & 15)::pg_catalog.int4) || %s, 1, %s)',
		key_sql, salt,
		CASE WHEN maxlen OPERATOR(pg_catalog.>) 128
			 THEN pg_catalog.format('pg_catalog.repeat(%s, %s)', w.chunks,
									(maxlen OPERATOR(pg_catalog.+) 127) OPERATOR(pg_catalog./) 128)
			 ELSE w.chunks END,
		len_sql)
	  FROM (SELECT pg_catalog.string_agg(
				pg_catalog.format('pg_catalog.to_hex(pg_catalog.hashint8extended(%s, %s) | (1::pg_catalog.int8 << 63))',
								  key_sql, salt OPERATOR(pg_catalog.+) i),
				' || ' ORDER BY i) AS chunks
			  FROM pg_catalog.generate_series(1, LEAST(8, GREATEST(1,
						(maxlen OPERATOR(pg_catalog.+) 14) OPERATOR(pg_catalog./) 16))) AS i) w
$$;
REVOKE ALL ON FUNCTION sandbox.synth_word(text, bigint, text, integer) FROM PUBLIC;

/*
 * Plan the generation of column col of the new table clone (shaped like
 * source): SQL for the per-row helper values computed once in the inner
 * query (inner_sql, or NULL), the value (value_sql, over those helpers as
 * x.<name> and the row number x.g), and an UPDATE that replaces values
 * found in production (fix_sql, or NULL).  omit: leave the column to its
 * default.  no_stats: the column follows its type only.
 *
 * From pg_stats of source: the null fraction; the most common values with
 * their frequencies when they may be reproduced (not for text-like columns
 * whose distinct ratio is above 0.1, nor uuid, bytea and inet, nor fresh
 * keys); the rest from the histogram, uniformly within a bucket, so
 * numbers, dates and times stay inside its range; text is made up (the
 * length, and a capital first letter, of a histogram value; never the
 * value itself), with about as many distinct values as production has.  A
 * fresh key gets values no production row has: past the production
 * maximum for numbers, dates and times, made up (and checked) otherwise.
 */
CREATE FUNCTION sandbox.synth_column(source oid, clone oid, col name, k integer, seed integer,
									 nrows bigint, tuples float8, fresh boolean,
									 OUT inner_sql text, OUT value_sql text, OUT fix_sql text,
									 OUT omit boolean, OUT no_stats boolean)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	src record;
	a record;
	st record;
	kind text;
	base oid;
	base_sql text;
	col_sql text;
	maxlen integer;
	nf float8 := 0;
	ratio float8 := 1;
	dtarget float8 := 1;
	use_mcv boolean := false;
	has_rem boolean := false;
	freqs float8[];
	nm integer := 0;
	total float8;
	acc float8;
	factor float8;
	cum float8[];
	h integer;
	hist_sql text;
	lo text;
	hi text;
	t text;
	rem text;
	val text;
	key text;
	u0 text;
	u1 text;
	inner_parts text[] := '{}';
	lens integer[];
	caps boolean[];
	maxl integer;
	idx text;
	len text;
	word text;
	top text;
	scale_sql text;
	labels text;
	jkeys text[];
	jtypes text[];
	jparts text[] := '{}';
	p text := pg_catalog.format('c%s_', k);
	use_float boolean := false;
	max_scale integer;
	epochs float8[];
BEGIN
	omit := false;
	no_stats := false;
	SELECT n.nspname, c.relname, c.relkind INTO src
	  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.oid OPERATOR(pg_catalog.=) source;
	SELECT x.atttypid, x.atttypmod, x.attnotnull, x.atthasdef INTO a
	  FROM pg_catalog.pg_attribute x
	 WHERE x.attrelid OPERATOR(pg_catalog.=) clone AND x.attname OPERATOR(pg_catalog.=) col;
	kind := sandbox.synth_kind(a.atttypid);
	base := sandbox.synth_base(a.atttypid);
	/* format_type() names bpchar "character", which means character(1) in a cast */
	base_sql := CASE WHEN base OPERATOR(pg_catalog.=) 'pg_catalog.bpchar'::pg_catalog.regtype THEN 'pg_catalog.bpchar'
					 ELSE pg_catalog.format_type(base, NULL) END;
	col_sql := pg_catalog.format_type(a.atttypid, a.atttypmod);
	IF base OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.varchar'::pg_catalog.regtype,
											   'pg_catalog.bpchar'::pg_catalog.regtype]::oid[])
	   AND a.atttypmod OPERATOR(pg_catalog.>) 4 THEN
		maxlen := a.atttypmod OPERATOR(pg_catalog.-) 4;
	END IF;

	SELECT s.null_frac, s.n_distinct, s.most_common_vals::text AS mcv, s.most_common_freqs AS freqs,
		   s.histogram_bounds::text AS hist, s.avg_width INTO st
	  FROM pg_catalog.pg_stats s
	 WHERE s.schemaname OPERATOR(pg_catalog.=) src.nspname AND s.tablename OPERATOR(pg_catalog.=) src.relname
	   AND s.attname OPERATOR(pg_catalog.=) col
	   AND s.inherited OPERATOR(pg_catalog.=) (src.relkind OPERATOR(pg_catalog.=) 'p');
	no_stats := NOT FOUND;

	u0 := sandbox.synth_uniform('s.g', sandbox.synth_salt(seed, k, 0));
	u1 := sandbox.synth_uniform('s.g', sandbox.synth_salt(seed, k, 1));

	IF NOT no_stats THEN
		nf := CASE WHEN a.attnotnull THEN 0 ELSE COALESCE(st.null_frac, 0) END;
		ratio := CASE WHEN st.n_distinct OPERATOR(pg_catalog.<) 0 THEN OPERATOR(pg_catalog.-) st.n_distinct
					  ELSE st.n_distinct OPERATOR(pg_catalog./) GREATEST(tuples, 1) END;
		dtarget := GREATEST(1, CASE WHEN st.n_distinct OPERATOR(pg_catalog.<) 0
											   THEN OPERATOR(pg_catalog.-) st.n_distinct OPERATOR(pg_catalog.*) nrows
											   ELSE st.n_distinct END);
		use_mcv := NOT fresh AND st.mcv IS NOT NULL
				   AND (kind OPERATOR(pg_catalog.=) ANY (ARRAY['int', 'numeric', 'float', 'money', 'date', 'timestamp',
																'time', 'interval', 'bool', 'enum'])
						OR (kind OPERATOR(pg_catalog.=) ANY (ARRAY['text', 'json', 'other'])
							AND ratio OPERATOR(pg_catalog.<=) 0.1));
		has_rem := CASE WHEN kind OPERATOR(pg_catalog.=) ANY (ARRAY['int', 'numeric', 'float', 'money', 'date',
																	 'timestamp', 'time', 'interval', 'enum'])
							THEN st.hist IS NOT NULL
						WHEN kind OPERATOR(pg_catalog.=) ANY (ARRAY['text', 'uuid', 'bytea', 'inet', 'json'])
							THEN true
						ELSE false END;
		IF NOT use_mcv AND NOT has_rem AND nf OPERATOR(pg_catalog.<) 1 THEN
			no_stats := true;		/* statistics without values to follow */
			nf := 0;
		END IF;
	END IF;
	IF fresh THEN
		nf := 0;
	END IF;

	IF use_mcv THEN
		freqs := st.freqs::float8[];
		nm := pg_catalog.cardinality(freqs);
		SELECT pg_catalog.sum(f) INTO total FROM pg_catalog.unnest(freqs) AS f;
		factor := CASE WHEN has_rem OR total OPERATOR(pg_catalog.<=) 0 THEN 1
					   ELSE (1 OPERATOR(pg_catalog.-) nf) OPERATOR(pg_catalog./) total END;
		acc := nf;
		cum := ARRAY[nf];
		FOR i IN 1 .. nm LOOP
			acc := acc OPERATOR(pg_catalog.+) freqs[i] OPERATOR(pg_catalog.*) factor;
			cum := cum OPERATOR(pg_catalog.||) acc;
		END LOOP;
		IF NOT has_rem THEN
			cum[nm OPERATOR(pg_catalog.+) 1] := 2;	/* the last value takes the rounding rest */
		END IF;
		inner_parts := inner_parts OPERATOR(pg_catalog.||)
			pg_catalog.format('pg_catalog.width_bucket(%s, %L::pg_catalog.float8[]) AS %Iw', u0, cum, p);
	ELSIF nf OPERATOR(pg_catalog.>) 0 AND nf OPERATOR(pg_catalog.<) 1 THEN
		inner_parts := inner_parts OPERATOR(pg_catalog.||) pg_catalog.format('(%s < %s) AS %In', u0, nf, p);
	END IF;

	/* the values that are not null and not a reproduced common value */
	IF NOT no_stats AND st.hist IS NOT NULL AND NOT fresh
	   AND kind OPERATOR(pg_catalog.=) ANY (ARRAY['int', 'numeric', 'float', 'money', 'date', 'timestamp',
												   'time', 'interval', 'enum']) THEN
		h := pg_catalog.cardinality(st.hist::text[]) OPERATOR(pg_catalog.-) 1;
		hist_sql := pg_catalog.format('%L::%s[]', st.hist, base_sql);
		IF kind OPERATOR(pg_catalog.=) 'numeric' THEN
			/*
			 * numeric arrays are walked on every subscript and numeric
			 * arithmetic is slow: interpolate in float8, round to whole units
			 * of the scale as int8, then scale back (exact)
			 */
			SELECT pg_catalog.max(pg_catalog.scale(v::numeric)) INTO max_scale
			  FROM pg_catalog.unnest(st.hist::text[]) AS v;
			max_scale := CASE WHEN a.atttypmod OPERATOR(pg_catalog.>=) 4 AND base OPERATOR(pg_catalog.=) a.atttypid
							  THEN (a.atttypmod OPERATOR(pg_catalog.-) 4) OPERATOR(pg_catalog.&) 65535
							  ELSE COALESCE(max_scale, 0) END;
			SELECT pg_catalog.max(pg_catalog.abs(v::numeric)) OPERATOR(pg_catalog.*)
				   (10::numeric OPERATOR(pg_catalog.^) max_scale) OPERATOR(pg_catalog.<) 1e15
			  INTO use_float
			  FROM pg_catalog.unnest(st.hist::text[]) AS v;
			IF use_float AND max_scale OPERATOR(pg_catalog.<=) 15 THEN
				hist_sql := pg_catalog.format('%L::pg_catalog.float8[]', st.hist);
			ELSE
				use_float := false;
			END IF;
		ELSIF kind OPERATOR(pg_catalog.=) 'timestamp' THEN
			/* interval arithmetic is slow: interpolate seconds since the epoch */
			IF base OPERATOR(pg_catalog.=) 'pg_catalog.timestamptz'::pg_catalog.regtype THEN
				SELECT pg_catalog.array_agg(pg_catalog.date_part('epoch', v) ORDER BY o),
					   pg_catalog.bool_and(pg_catalog.isfinite(v))
				  INTO epochs, use_float
				  FROM pg_catalog.unnest(st.hist::timestamptz[]) WITH ORDINALITY AS q(v, o);
			ELSE
				SELECT pg_catalog.array_agg(pg_catalog.date_part('epoch', v) ORDER BY o),
					   pg_catalog.bool_and(pg_catalog.isfinite(v))
				  INTO epochs, use_float
				  FROM pg_catalog.unnest(st.hist::timestamp[]) WITH ORDINALITY AS q(v, o);
			END IF;
			IF use_float THEN
				hist_sql := pg_catalog.format('%L::pg_catalog.float8[]', epochs);
			END IF;
		END IF;
		inner_parts := inner_parts OPERATOR(pg_catalog.||)
			pg_catalog.format('(pg_catalog.floor(%s * %s)::pg_catalog.int4 + 1) AS %Ij', u1, h, p) OPERATOR(pg_catalog.||)
			pg_catalog.format('(%s * %s - pg_catalog.floor(%s * %s)) AS %It', u1, h, u1, h, p);
		lo := pg_catalog.format('(%s)[x.%Ij]', hist_sql, p);
		hi := pg_catalog.format('(%s)[x.%Ij + 1]', hist_sql, p);
		t := pg_catalog.format('x.%It', p);
		rem := CASE kind
			WHEN 'int' THEN pg_catalog.format('(%1$s::pg_catalog.int8 + least(%2$s::pg_catalog.int8 - %1$s::pg_catalog.int8, pg_catalog.floor(%3$s * ((%2$s::pg_catalog.int8 - %1$s::pg_catalog.int8)::pg_catalog.float8 + 1))::pg_catalog.int8))', lo, hi, t)
			WHEN 'numeric' THEN CASE WHEN use_float
				THEN pg_catalog.format('(pg_catalog.round((%1$s + (%2$s - %1$s) * %3$s) * %4$s::pg_catalog.float8)::pg_catalog.int8 * %5$s::pg_catalog.numeric)',
									   lo, hi, t, 10::numeric OPERATOR(pg_catalog.^) max_scale,
									   pg_catalog.round(10::numeric OPERATOR(pg_catalog.^) (OPERATOR(pg_catalog.-) max_scale), max_scale))
				ELSE pg_catalog.format('pg_catalog.round(%1$s + (%2$s - %1$s) * %3$s::pg_catalog.numeric, %4$s)', lo, hi, t, max_scale) END
			WHEN 'timestamp' THEN CASE WHEN use_float
				THEN pg_catalog.format(CASE WHEN base OPERATOR(pg_catalog.=) 'pg_catalog.timestamptz'::pg_catalog.regtype
											THEN 'pg_catalog.to_timestamp(%1$s + (%2$s - %1$s) * %3$s)'
											ELSE 'pg_catalog.timezone(''UTC'', pg_catalog.to_timestamp(%1$s + (%2$s - %1$s) * %3$s))' END,
									   lo, hi, t)
				ELSE pg_catalog.format('(%1$s + (%2$s - %1$s) * %3$s)', lo, hi, t) END
			WHEN 'date' THEN pg_catalog.format('(%1$s + least(%2$s - %1$s, pg_catalog.floor(%3$s * (%2$s - %1$s + 1))::pg_catalog.int4))', lo, hi, t)
			WHEN 'enum' THEN pg_catalog.format('(%s)[x.%Ij + (x.%It >= 0.5)::pg_catalog.int4]', hist_sql, p, p)
			ELSE pg_catalog.format('(%1$s + (%2$s - %1$s) * %3$s)', lo, hi, t) END;
	ELSIF NOT no_stats AND NOT fresh AND kind OPERATOR(pg_catalog.=) ANY (ARRAY['text', 'uuid', 'bytea', 'inet']) THEN
		dtarget := GREATEST(1, dtarget OPERATOR(pg_catalog.-) nm);
		inner_parts := inner_parts OPERATOR(pg_catalog.||)
			pg_catalog.format('pg_catalog.floor(%s * %s)::pg_catalog.int8 AS %Id', u1, pg_catalog.round(dtarget::numeric), p);
	ELSIF no_stats AND NOT fresh AND kind OPERATOR(pg_catalog.<>) ALL (ARRAY['json', 'uuid', 'bytea', 'inet', 'text']) THEN
		inner_parts := inner_parts OPERATOR(pg_catalog.||) pg_catalog.format('%s AS %Iv', u1, p);
	END IF;
	key := CASE WHEN fresh OR no_stats OR kind OPERATOR(pg_catalog.=) 'json' THEN 'x.g'
				ELSE pg_catalog.format('x.%Id', p) END;

	IF rem IS NOT NULL THEN
		NULL;
	ELSIF fresh AND kind OPERATOR(pg_catalog.=) ANY (ARRAY['int', 'numeric', 'float', 'date', 'timestamp']) THEN
		EXECUTE pg_catalog.format('SELECT pg_catalog.max(%I)::pg_catalog.text FROM %I.%I', col, src.nspname, src.relname)
			INTO top;
		rem := CASE kind
			WHEN 'date' THEN pg_catalog.format('(%L::pg_catalog.date + x.g::pg_catalog.int4)', COALESCE(top, '2020-01-01'))
			WHEN 'timestamp' THEN pg_catalog.format('(%L::%s + x.g * ''1 minute''::pg_catalog.interval)',
													COALESCE(top, '2020-01-01 00:00:00'), base_sql)
			WHEN 'int' THEN pg_catalog.format('(%s::pg_catalog.int8 + x.g)', COALESCE(top, '0'))
			ELSE pg_catalog.format('(pg_catalog.ceil(%L::pg_catalog.numeric) + x.g)', COALESCE(top, '0')) END;
	ELSIF kind OPERATOR(pg_catalog.=) 'text' THEN
		SELECT pg_catalog.array_agg(GREATEST(1, pg_catalog.char_length(pg_catalog.rtrim(v))) ORDER BY o),
			   pg_catalog.array_agg(v OPERATOR(pg_catalog.~) '^[[:upper:]]' ORDER BY o)
		  INTO lens, caps
		  FROM pg_catalog.unnest(COALESCE(st.hist, st.mcv)::text[]) WITH ORDINALITY AS q(v, o);
		IF lens IS NULL THEN
			lens := ARRAY[CASE WHEN no_stats THEN 8 ELSE GREATEST(1, COALESCE(st.avg_width, 9) OPERATOR(pg_catalog.-) 1) END];
			caps := ARRAY[false];
		END IF;
		IF maxlen IS NOT NULL THEN
			SELECT pg_catalog.array_agg(LEAST(l, maxlen) ORDER BY o) INTO lens
			  FROM pg_catalog.unnest(lens) WITH ORDINALITY AS q(l, o);
		END IF;
		SELECT pg_catalog.max(l) INTO maxl FROM pg_catalog.unnest(lens) AS l;
		idx := pg_catalog.format('(1 + (pg_catalog.hashint8extended(%s, %s) & 1048575) %% %s)::pg_catalog.int4',
								 key, sandbox.synth_salt(seed, k, 2), pg_catalog.cardinality(lens));
		len := pg_catalog.format('(%L::pg_catalog.int4[])[%s]', lens, idx);
		IF fresh THEN
			/* a prefix of one length, then the row number: distinct by construction */
			SELECT GREATEST(1, pg_catalog.percentile_disc(0.5) WITHIN GROUP (ORDER BY l)
							   OPERATOR(pg_catalog.-) pg_catalog.length(nrows::text))
			  INTO maxl FROM pg_catalog.unnest(lens) AS l;
			IF maxlen IS NOT NULL THEN
				maxl := LEAST(maxl, GREATEST(1, maxlen OPERATOR(pg_catalog.-) pg_catalog.length(nrows::text)));
			END IF;
			word := sandbox.synth_word(key, sandbox.synth_salt(seed, k, 3), maxl::text, maxl);
		ELSE
			word := sandbox.synth_word(key, sandbox.synth_salt(seed, k, 3), len, maxl);
		END IF;
		IF NOT fresh AND true OPERATOR(pg_catalog.=) ANY (caps) THEN
			word := pg_catalog.format('CASE WHEN (%L::pg_catalog.bool[])[%s] THEN pg_catalog.initcap(%s) ELSE %s END',
									  caps, idx, word, word);
		END IF;
		rem := CASE WHEN fresh THEN pg_catalog.format('(%s || x.g::pg_catalog.text)', word) ELSE word END;
		IF fresh OR ratio OPERATOR(pg_catalog.>) 0.1 THEN
			/*
			 * Made-up text matches ^[g-vG-V][0-9a-f]*$ (synth_word), and so
			 * does it after this appends a-f or replaces the first letter,
			 * so only production values of that form can collide: the cheap
			 * pattern test spares a join with every production value.
			 */
			fix_sql := pg_catalog.format('UPDATE %1$s t SET %2$I = CASE WHEN %3$s THEN t.%2$I || pg_catalog.chr(97 + (pg_catalog.hashtext(t.%2$I) & 65535) %% 6) ELSE pg_catalog.chr(103 + (pg_catalog.hashtext(t.%2$I) & 15)) || pg_catalog.substr(t.%2$I, 2) END WHERE EXISTS (SELECT 1 FROM %4$I.%5$I s WHERE s.%2$I::pg_catalog.text ~ ''^[g-vG-V][0-9a-f]* *$'' AND s.%2$I %6$s t.%2$I)',
				sandbox.data_source_name(clone), col,
				CASE WHEN maxlen IS NULL THEN 'true'
					 ELSE pg_catalog.format('pg_catalog.char_length(t.%I) < %s', col, maxlen) END,
				src.nspname, src.relname, COALESCE(sandbox.equality_sql(a.atttypid), 'OPERATOR(pg_catalog.=)'));
		END IF;
	ELSIF kind OPERATOR(pg_catalog.=) 'uuid' THEN
		/* version nibble 0: no generator of real UUIDs makes those, and the check below looks for them only */
		rem := pg_catalog.format('pg_catalog.overlay(pg_catalog.to_hex(pg_catalog.hashint8extended(%1$s, %2$s) | (1::pg_catalog.int8 << 63)) || pg_catalog.to_hex(pg_catalog.hashint8extended(%1$s, %3$s) | (1::pg_catalog.int8 << 63)), ''0'', 13, 1)::pg_catalog.uuid',
								 key, sandbox.synth_salt(seed, k, 4), sandbox.synth_salt(seed, k, 5));
		fix_sql := pg_catalog.format('UPDATE %1$s t SET %2$I = pg_catalog.overlay(pg_catalog.md5(t.%2$I::pg_catalog.text), ''0'', 13, 1)::pg_catalog.uuid WHERE EXISTS (SELECT 1 FROM %3$I.%4$I s WHERE pg_catalog.substr(s.%2$I::pg_catalog.text, 15, 1) = ''0'' AND s.%2$I = t.%2$I)',
									 sandbox.data_source_name(clone), col, src.nspname, src.relname);
	ELSIF kind OPERATOR(pg_catalog.=) 'bytea' THEN
		rem := pg_catalog.format('pg_catalog.decode(pg_catalog.md5(''%s:'' || (%s)::pg_catalog.text), ''hex'')',
								 sandbox.synth_salt(seed, k, 4), key);
		fix_sql := pg_catalog.format('UPDATE %1$s t SET %2$I = t.%2$I || ''\x00''::pg_catalog.bytea WHERE EXISTS (SELECT 1 FROM %3$I.%4$I s WHERE s.%2$I = t.%2$I)',
									 sandbox.data_source_name(clone), col, src.nspname, src.relname);
	ELSIF kind OPERATOR(pg_catalog.=) 'inet' THEN
		rem := pg_catalog.format('(''10.0.0.0''::pg_catalog.inet + (pg_catalog.hashint8extended(%s, %s) & 16777215))',
								 key, sandbox.synth_salt(seed, k, 4));
	ELSIF kind OPERATOR(pg_catalog.=) 'json' THEN
		EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(q.k ORDER BY q.n DESC, q.k), pg_catalog.array_agg(q.t ORDER BY q.n DESC, q.k) FROM (SELECT e.k, pg_catalog.count(*) AS n, pg_catalog.mode() WITHIN GROUP (ORDER BY pg_catalog.jsonb_typeof(e.v)) AS t FROM (SELECT %1$I::pg_catalog.jsonb AS j FROM %2$I.%3$I WHERE pg_catalog.jsonb_typeof(%1$I::pg_catalog.jsonb) = ''object'' LIMIT 1000) s, pg_catalog.jsonb_each(s.j) AS e(k, v) GROUP BY e.k ORDER BY 2 DESC, 1 LIMIT 20) q',
								  col, src.nspname, src.relname) INTO jkeys, jtypes;
		FOR i IN 1 .. COALESCE(pg_catalog.cardinality(jkeys), 0) LOOP
			jparts := jparts OPERATOR(pg_catalog.||) pg_catalog.format('%L', jkeys[i]) OPERATOR(pg_catalog.||) CASE jtypes[i]
				WHEN 'number' THEN pg_catalog.format('(pg_catalog.hashint8extended(x.g, %s) & 1023)::pg_catalog.int4',
													 sandbox.synth_salt(seed, k, 4 OPERATOR(pg_catalog.+) i))
				WHEN 'string' THEN sandbox.synth_word('x.g', sandbox.synth_salt(seed, k, 4 OPERATOR(pg_catalog.+) i), '8', 8)
				WHEN 'boolean' THEN pg_catalog.format('((pg_catalog.hashint8extended(x.g, %s) & 1) = 1)',
													  sandbox.synth_salt(seed, k, 4 OPERATOR(pg_catalog.+) i))
				WHEN 'object' THEN '''{}''::pg_catalog.jsonb'
				WHEN 'array' THEN '''[]''::pg_catalog.jsonb'
				ELSE 'NULL::pg_catalog.text' END;
		END LOOP;
		rem := CASE WHEN pg_catalog.cardinality(jparts) OPERATOR(pg_catalog.=) 0 THEN '''{}''::pg_catalog.jsonb'
					ELSE pg_catalog.format('pg_catalog.jsonb_build_object(%s)', pg_catalog.array_to_string(jparts, ', ')) END;
	ELSIF no_stats THEN
		t := pg_catalog.format('x.%Iv', p);
		IF kind OPERATOR(pg_catalog.=) 'enum' THEN
			SELECT pg_catalog.format('%L::%s[]', pg_catalog.array_agg(e.enumlabel ORDER BY e.enumsortorder), base_sql),
				   pg_catalog.count(*)
			  INTO labels, h
			  FROM pg_catalog.pg_enum e WHERE e.enumtypid OPERATOR(pg_catalog.=) base;
		END IF;
		rem := CASE kind
			WHEN 'int' THEN pg_catalog.format('(1 + pg_catalog.floor(%s * 1000))::pg_catalog.int8', t)
			WHEN 'numeric' THEN pg_catalog.format('pg_catalog.round((%s * %s)::pg_catalog.numeric, %s)', t,
				CASE WHEN a.atttypmod OPERATOR(pg_catalog.>=) 4 AND base OPERATOR(pg_catalog.=) a.atttypid
					 THEN LEAST(1000::numeric,
							10::numeric OPERATOR(pg_catalog.^) (((a.atttypmod OPERATOR(pg_catalog.-) 4) OPERATOR(pg_catalog.>>) 16)
																OPERATOR(pg_catalog.-) ((a.atttypmod OPERATOR(pg_catalog.-) 4) OPERATOR(pg_catalog.&) 65535))
							OPERATOR(pg_catalog.-) 1)::text
					 ELSE '1000' END,
				CASE WHEN a.atttypmod OPERATOR(pg_catalog.>=) 4 AND base OPERATOR(pg_catalog.=) a.atttypid
					 THEN ((a.atttypmod OPERATOR(pg_catalog.-) 4) OPERATOR(pg_catalog.&) 65535)::text ELSE '2' END)
			WHEN 'float' THEN pg_catalog.format('(%s * 1000)', t)
			WHEN 'money' THEN pg_catalog.format('pg_catalog.round((%s * 1000)::pg_catalog.numeric, 2)::pg_catalog.money', t)
			WHEN 'date' THEN pg_catalog.format('(''2020-01-01''::pg_catalog.date + pg_catalog.floor(%s * 1827)::pg_catalog.int4)', t)
			WHEN 'timestamp' THEN pg_catalog.format('(''2020-01-01 00:00:00''::pg_catalog.timestamp + %s * ''1827 days''::pg_catalog.interval)', t)
			WHEN 'time' THEN pg_catalog.format('(''00:00:00''::pg_catalog.time + %s * ''24 hours''::pg_catalog.interval)', t)
			WHEN 'interval' THEN pg_catalog.format('(%s * ''30 days''::pg_catalog.interval)', t)
			WHEN 'bool' THEN pg_catalog.format('(%s < 0.5)', t)
			WHEN 'enum' THEN CASE WHEN h OPERATOR(pg_catalog.>) 0
								  THEN pg_catalog.format('(%s)[1 + pg_catalog.floor(%s * %s)::pg_catalog.int4]', labels, t, h) END
			END;
		IF rem IS NULL THEN
			IF a.atthasdef THEN
				omit := true;
				RETURN;
			ELSIF NOT a.attnotnull THEN
				rem := 'NULL';
			ELSE
				RAISE EXCEPTION 'cannot synthesize column "%" of type %', col, col_sql
					USING ERRCODE = '0A000',
						  DETAIL = 'The column is NOT NULL, has no default, and its type is not one the generator knows.',
						  HINT = 'Give the column a default in production, or clone a sample with sandbox_clone() instead.';
			END IF;
		END IF;
	ELSE
		rem := 'NULL';			/* never reached: the common values take all the rows */
	END IF;

	IF use_mcv THEN
		val := pg_catalog.format('CASE x.%Iw WHEN 0 THEN NULL WHEN %s THEN %s ELSE (%L::%s[])[x.%Iw] END',
								 p, nm OPERATOR(pg_catalog.+) 1, rem, st.mcv, base_sql, p);
	ELSIF nf OPERATOR(pg_catalog.>=) 1 THEN
		val := 'NULL';
	ELSIF nf OPERATOR(pg_catalog.>) 0 THEN
		val := pg_catalog.format('CASE WHEN x.%In THEN NULL ELSE %s END', p, rem);
	ELSE
		val := rem;
	END IF;
	value_sql := pg_catalog.format('(%s)::%s', val, col_sql);
	IF pg_catalog.cardinality(inner_parts) OPERATOR(pg_catalog.>) 0 THEN
		inner_sql := pg_catalog.array_to_string(inner_parts, ', ');
	END IF;
END
$$;
REVOKE ALL ON FUNCTION sandbox.synth_column(oid, oid, name, integer, integer, bigint, float8, boolean) FROM PUBLIC;

/*
 * sandbox_synthesize: a table shaped like source, filled with rows rows of
 * made-up data that follows source's statistics (§3.2).
 *
 * The table has source's columns and constraints (as sandbox_clone makes
 * them).  Each column is generated by synth_column() from pg_stats (source
 * is analyzed first when it has no statistics); a column of a foreign key
 * whose referenced table has a namesake in the sandbox takes its values
 * from the keys of that table, and the foreign key is recreated; a fresh
 * column per PRIMARY KEY / UNIQUE constraint gets values no production row
 * has.  Rows that would violate a CHECK constraint are replaced by later
 * ones.  Every value is a function of (seed, column, row number) and of the
 * statistics and sandbox tables it follows, so the same seed gives the same
 * rows as long as those do not change.
 */
CREATE FUNCTION sandbox_synthesize(name text, source regclass, rows bigint,
								   seed integer DEFAULT 0, target text DEFAULT NULL)
	RETURNS regclass
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	sb sandbox.sandboxes;
	src_oid oid := source::oid;
	src_name text;
	src record;
	tuples float8;
	clone oid;
	dst text;
	f record;
	c record;
	r record;
	par oid;
	par_name text;
	fk_cols text[] := '{}';
	fk_vals text[] := '{}';
	fk_null_check text[] := '{}';
	fk_ddl text[] := '{}';
	fk_unique boolean;
	fk_count integer := 0;
	nkeys bigint;
	nf float8;
	refcols text;
	keys_known text;
	joins text := '';
	inner_parts text[] := ARRAY['s.g'];
	outer_parts text[] := '{}';
	col_names text[] := '{}';
	fresh text[] := '{}';
	fixes text[] := '{}';
	filters text[] := '{}';
	no_stats text[] := '{}';
	omitted text[] := '{}';
	conflict boolean := false;
	k integer := 0;
	need bigint;
	lo bigint;
	hi bigint;
	n bigint;
	pass_no integer := 0;
	sql text;
	cand text;
BEGIN
	sb := sandbox.data_sandbox($1, 'synthesize a table');
	src_name := sandbox.data_source(src_oid, 'synthesize');
	IF rows IS NULL OR rows OPERATOR(pg_catalog.<) 0 THEN
		RAISE EXCEPTION 'rows must be zero or more'
			USING ERRCODE = '22023',
				  DETAIL = pg_catalog.format('The rows given was %s.', COALESCE(rows::text, 'NULL')),
				  HINT = 'Pass how many rows the new table should have.';
	END IF;
	IF seed IS NULL THEN
		RAISE EXCEPTION 'seed must not be null'
			USING ERRCODE = '22004',
				  HINT = 'Pass any integer; the same seed gives the same rows.';
	END IF;
	SELECT r2.relname, r2.relkind INTO src FROM pg_catalog.pg_class r2 WHERE r2.oid OPERATOR(pg_catalog.=) src_oid;
	cand := sandbox.data_target(sb.name, target, src.relname);

	/*
	 * Statistics are production catalog entries: a superuser's call makes
	 * them when they are missing, an agent's never does (the columns then
	 * fall back to type-based values, each said in a NOTICE).
	 */
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_statistic s
					WHERE s.starelid OPERATOR(pg_catalog.=) src_oid
					  AND s.stainherit OPERATOR(pg_catalog.=) (src.relkind OPERATOR(pg_catalog.=) 'p'))
	   AND COALESCE((SELECT r2.rolsuper FROM pg_catalog.pg_roles r2
					  WHERE r2.rolname OPERATOR(pg_catalog.=) SESSION_USER), false) THEN
		EXECUTE pg_catalog.format('ANALYZE %s', src_name);
		RAISE NOTICE 'analyzed "%" first', sandbox.data_display_name(src_oid)
			USING DETAIL = 'It had no statistics for the generator to follow.';
	END IF;
	SELECT r2.reltuples INTO tuples FROM pg_catalog.pg_class r2 WHERE r2.oid OPERATOR(pg_catalog.=) src_oid;
	IF tuples OPERATOR(pg_catalog.<=) 0 AND src.relkind OPERATOR(pg_catalog.=) 'p' THEN
		SELECT pg_catalog.sum(GREATEST(r2.reltuples, 0)) INTO tuples
		  FROM pg_catalog.pg_partition_tree(src_oid::regclass) t
		  JOIN pg_catalog.pg_class r2 ON r2.oid OPERATOR(pg_catalog.=) t.relid
		 WHERE t.isleaf;
	END IF;

	clone := (sandbox.clone_structure(src_oid, sb.name::name, cand::name, NULL)).clone;
	dst := sandbox.data_source_name(clone);

	/* foreign keys: take keys from the namesake of the referenced table in the sandbox */
	FOR f IN SELECT k2.oid, k2.conname, k2.conkey, k2.confkey, k2.confrelid, pr.relname AS prel,
					k2.confmatchtype, k2.confupdtype, k2.confdeltype, k2.condeferrable, k2.condeferred,
					(SELECT pg_catalog.array_agg(a.attname::text ORDER BY q.o) FROM pg_catalog.unnest(k2.conkey) WITH ORDINALITY AS q(n, o)
					   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) k2.conrelid
						AND a.attnum OPERATOR(pg_catalog.=) q.n) AS cols,
					(SELECT pg_catalog.array_agg(a.attname::text ORDER BY q.o) FROM pg_catalog.unnest(k2.confkey) WITH ORDINALITY AS q(n, o)
					   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) k2.confrelid
						AND a.attnum OPERATOR(pg_catalog.=) q.n) AS refs
			   FROM pg_catalog.pg_constraint k2
			   JOIN pg_catalog.pg_class pr ON pr.oid OPERATOR(pg_catalog.=) k2.confrelid
			  WHERE k2.conrelid OPERATOR(pg_catalog.=) src_oid AND k2.contype OPERATOR(pg_catalog.=) 'f'
				AND k2.conparentid OPERATOR(pg_catalog.=) 0
			  ORDER BY k2.conname
	LOOP
		SELECT r2.oid INTO par FROM pg_catalog.pg_class r2
		  JOIN pg_catalog.pg_namespace n2 ON n2.oid OPERATOR(pg_catalog.=) r2.relnamespace
		 WHERE n2.nspname OPERATOR(pg_catalog.=) sb.name AND r2.relname OPERATOR(pg_catalog.=) f.prel
		   AND r2.relkind OPERATOR(pg_catalog.=) 'r';
		IF par IS NULL OR par OPERATOR(pg_catalog.=) clone OR f.cols OPERATOR(pg_catalog.&&) fk_cols
		   OR (SELECT pg_catalog.count(*) FROM pg_catalog.unnest(f.refs) AS q(n)
				 JOIN pg_catalog.pg_attribute pa ON pa.attrelid OPERATOR(pg_catalog.=) par
				  AND pa.attname OPERATOR(pg_catalog.=) q.n AND NOT pa.attisdropped
				 JOIN pg_catalog.pg_attribute sa ON sa.attrelid OPERATOR(pg_catalog.=) f.confrelid
				  AND sa.attname OPERATOR(pg_catalog.=) q.n
				WHERE pa.atttypid OPERATOR(pg_catalog.=) sa.atttypid) OPERATOR(pg_catalog.<>) pg_catalog.cardinality(f.refs) THEN
			RAISE NOTICE 'foreign key "%" of "%" not recreated', f.conname, sandbox.data_display_name(src_oid)
				USING DETAIL = pg_catalog.format('Sandbox "%s" has no table "%s" with columns %s to take keys from; column(s) %s follow statistics instead.',
												 sb.name, f.prel, pg_catalog.array_to_string(f.refs, ', '),
												 pg_catalog.array_to_string(f.cols, ', ')),
					  HINT = pg_catalog.format('Clone or synthesize "%s" into the sandbox first.', f.prel);
			CONTINUE;
		END IF;
		par_name := sandbox.data_source_name(par);
		SELECT pg_catalog.string_agg(pg_catalog.quote_ident(q.n), ', ' ORDER BY q.o),
			   pg_catalog.string_agg(pg_catalog.quote_ident(q.n) OPERATOR(pg_catalog.||) ' IS NOT NULL', ' AND ' ORDER BY q.o)
		  INTO refcols, keys_known
		  FROM pg_catalog.unnest(f.refs) WITH ORDINALITY AS q(n, o);
		EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM (SELECT DISTINCT %s FROM %s WHERE %s) d',
								  refcols, par_name, keys_known) INTO nkeys;
		IF nkeys OPERATOR(pg_catalog.=) 0 THEN
			RAISE NOTICE 'foreign key "%" of "%" not recreated', f.conname, sandbox.data_display_name(src_oid)
				USING DETAIL = pg_catalog.format('Table %s has no keys to take; column(s) %s follow statistics instead.',
												 par_name, pg_catalog.array_to_string(f.cols, ', '));
			CONTINUE;
		END IF;
		fk_count := fk_count OPERATOR(pg_catalog.+) 1;

		/* a one-to-one key takes each parent key once, in order; else keys at random */
		fk_unique := pg_catalog.cardinality(f.cols) OPERATOR(pg_catalog.=) 1 AND EXISTS (
			SELECT 1 FROM pg_catalog.pg_index x
			 WHERE x.indrelid OPERATOR(pg_catalog.=) src_oid AND x.indisunique
			   AND x.indnkeyatts OPERATOR(pg_catalog.=) 1 AND x.indexprs IS NULL AND x.indpred IS NULL
			   AND x.indkey[0] OPERATOR(pg_catalog.=) f.conkey[1]);
		SELECT CASE WHEN pg_catalog.bool_or(a.attnotnull) THEN 0 ELSE COALESCE(pg_catalog.max(s.null_frac), 0) END INTO nf
		  FROM pg_catalog.pg_attribute a
		  LEFT JOIN pg_catalog.pg_stats s ON s.schemaname OPERATOR(pg_catalog.=) (SELECT n2.nspname FROM pg_catalog.pg_namespace n2
																					WHERE n2.oid OPERATOR(pg_catalog.=) (SELECT r2.relnamespace FROM pg_catalog.pg_class r2 WHERE r2.oid OPERATOR(pg_catalog.=) src_oid))
		   AND s.tablename OPERATOR(pg_catalog.=) src.relname AND s.attname OPERATOR(pg_catalog.=) a.attname
		   AND s.inherited OPERATOR(pg_catalog.=) (src.relkind OPERATOR(pg_catalog.=) 'p')
		 WHERE a.attrelid OPERATOR(pg_catalog.=) clone AND a.attname OPERATOR(pg_catalog.=) ANY (f.cols);
		IF fk_unique THEN
			inner_parts := inner_parts OPERATOR(pg_catalog.||)
				pg_catalog.format('CASE WHEN s.g <= %s THEN s.g END AS f%s', nkeys, fk_count);
		ELSE
			inner_parts := inner_parts OPERATOR(pg_catalog.||)
				pg_catalog.format('CASE WHEN %s < %s THEN NULL ELSE 1 + pg_catalog.floor(%s * %s)::pg_catalog.int8 END AS f%s',
								  sandbox.synth_uniform('s.g', sandbox.synth_salt(seed, 10000 OPERATOR(pg_catalog.+) fk_count, 0)), nf,
								  sandbox.synth_uniform('s.g', sandbox.synth_salt(seed, 10000 OPERATOR(pg_catalog.+) fk_count, 1)), nkeys,
								  fk_count);
		END IF;
		joins := joins OPERATOR(pg_catalog.||) pg_catalog.format(
			' LEFT JOIN (SELECT pg_catalog.row_number() OVER (ORDER BY %1$s) AS rn, %1$s FROM (SELECT DISTINCT %1$s FROM %2$s WHERE %3$s) d) p%4$s ON p%4$s.rn = x.f%4$s',
			refcols, par_name, keys_known, fk_count);
		FOR i IN 1 .. pg_catalog.cardinality(f.cols) LOOP
			fk_cols := fk_cols OPERATOR(pg_catalog.||) f.cols[i];
			fk_vals := fk_vals OPERATOR(pg_catalog.||) pg_catalog.format('p%s.%I', fk_count, f.refs[i]);
		END LOOP;

		IF EXISTS (SELECT 1 FROM pg_catalog.pg_index x
					WHERE x.indrelid OPERATOR(pg_catalog.=) par AND x.indisunique AND x.indpred IS NULL
					  AND x.indexprs IS NULL AND x.indnkeyatts OPERATOR(pg_catalog.=) pg_catalog.cardinality(f.refs)
					  AND (SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attname)
							 FROM pg_catalog.unnest(x.indkey[0:x.indnkeyatts - 1]) AS q(n)
							 JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) par
							  AND a.attnum OPERATOR(pg_catalog.=) q.n)
						  OPERATOR(pg_catalog.=) (SELECT pg_catalog.array_agg(q.n ORDER BY q.n) FROM pg_catalog.unnest(f.refs) AS q(n))) THEN
			fk_ddl := fk_ddl OPERATOR(pg_catalog.||) pg_catalog.format(
				'ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %s (%s)%s ON UPDATE %s ON DELETE %s%s',
				dst, f.conname,
				(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(q.n), ', ' ORDER BY q.o)
				   FROM pg_catalog.unnest(f.cols) WITH ORDINALITY AS q(n, o)),
				par_name, refcols,
				CASE f.confmatchtype WHEN 'f' THEN ' MATCH FULL' ELSE '' END,
				sandbox.fk_action(f.confupdtype), sandbox.fk_action(f.confdeltype),
				CASE WHEN f.condeferred THEN ' DEFERRABLE INITIALLY DEFERRED'
					 WHEN f.condeferrable THEN ' DEFERRABLE' ELSE '' END);
		ELSE
			RAISE NOTICE 'foreign key "%" of "%" not recreated', f.conname, sandbox.data_display_name(src_oid)
				USING DETAIL = pg_catalog.format('Column(s) %s take keys of %s, but it has no unique index on %s to reference.',
												 pg_catalog.array_to_string(f.cols, ', '), par_name, refcols);
		END IF;
	END LOOP;

	/* one fresh column per primary key / unique index not already unique by construction */
	FOR r IN SELECT (SELECT pg_catalog.array_agg(a.attname::text ORDER BY q.o)
					   FROM pg_catalog.unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY AS q(n, o)
					   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) src_oid
						AND a.attnum OPERATOR(pg_catalog.=) q.n) AS cols
			   FROM pg_catalog.pg_index x
			  WHERE x.indrelid OPERATOR(pg_catalog.=) src_oid AND x.indisunique
				AND x.indexprs IS NULL AND x.indpred IS NULL
			  ORDER BY x.indisprimary DESC, x.indexrelid
	LOOP
		CONTINUE WHEN r.cols OPERATOR(pg_catalog.&&) fresh;
		CONTINUE WHEN pg_catalog.cardinality(r.cols) OPERATOR(pg_catalog.=) 1 AND r.cols[1] OPERATOR(pg_catalog.=) ANY (fk_cols);
		SELECT q.n INTO cand
		  FROM pg_catalog.unnest(r.cols) WITH ORDINALITY AS q(n, o)
		  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) clone AND a.attname OPERATOR(pg_catalog.=) q.n
		  LEFT JOIN pg_catalog.pg_stats s ON s.schemaname OPERATOR(pg_catalog.=) (SELECT n2.nspname FROM pg_catalog.pg_namespace n2
																					JOIN pg_catalog.pg_class r2 ON r2.relnamespace OPERATOR(pg_catalog.=) n2.oid
																				   WHERE r2.oid OPERATOR(pg_catalog.=) src_oid)
		   AND s.tablename OPERATOR(pg_catalog.=) src.relname AND s.attname OPERATOR(pg_catalog.=) q.n
		   AND s.inherited OPERATOR(pg_catalog.=) (src.relkind OPERATOR(pg_catalog.=) 'p')
		 WHERE NOT q.n OPERATOR(pg_catalog.=) ANY (fk_cols)
		   AND a.attgenerated OPERATOR(pg_catalog.=) ''
		   AND sandbox.synth_kind(a.atttypid) OPERATOR(pg_catalog.=) ANY (ARRAY['int', 'numeric', 'float', 'date', 'timestamp',
																				  'text', 'uuid', 'bytea'])
		 ORDER BY CASE WHEN s.n_distinct OPERATOR(pg_catalog.<) 0 THEN OPERATOR(pg_catalog.-) s.n_distinct
					   ELSE COALESCE(s.n_distinct, 0) OPERATOR(pg_catalog./) GREATEST(tuples, 1) END DESC,
				  q.o
		 LIMIT 1;
		IF FOUND THEN
			fresh := fresh OPERATOR(pg_catalog.||) cand;
		ELSE
			conflict := true;	/* no column can make the key unique: drop duplicates, make more */
		END IF;
	END LOOP;

	/* the columns */
	FOR c IN SELECT a.attname, a.attnotnull FROM pg_catalog.pg_attribute a
			  WHERE a.attrelid OPERATOR(pg_catalog.=) clone AND a.attnum OPERATOR(pg_catalog.>) 0
				AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) ''
			  ORDER BY a.attnum
	LOOP
		k := k OPERATOR(pg_catalog.+) 1;
		IF c.attname OPERATOR(pg_catalog.=) ANY (fk_cols) THEN
			outer_parts := outer_parts OPERATOR(pg_catalog.||) pg_catalog.format('%s AS %I',
				fk_vals[pg_catalog.array_position(fk_cols, c.attname::text)], c.attname);
			col_names := col_names OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.attname);
			IF c.attnotnull THEN
				filters := filters OPERATOR(pg_catalog.||) pg_catalog.format('y.%I IS NOT NULL', c.attname);
			END IF;
			CONTINUE;
		END IF;
		SELECT * INTO r FROM sandbox.synth_column(src_oid, clone, c.attname, k, seed, rows, tuples,
												  c.attname OPERATOR(pg_catalog.=) ANY (fresh));
		IF r.omit THEN
			omitted := omitted OPERATOR(pg_catalog.||) c.attname::text;
			CONTINUE;
		END IF;
		IF r.no_stats THEN
			no_stats := no_stats OPERATOR(pg_catalog.||) c.attname::text;
		END IF;
		IF r.inner_sql IS NOT NULL THEN
			inner_parts := inner_parts OPERATOR(pg_catalog.||) r.inner_sql;
		END IF;
		outer_parts := outer_parts OPERATOR(pg_catalog.||) pg_catalog.format('%s AS %I', r.value_sql, c.attname);
		col_names := col_names OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.attname);
		IF r.fix_sql IS NOT NULL THEN
			fixes := fixes OPERATOR(pg_catalog.||) r.fix_sql;
		END IF;
	END LOOP;
	IF pg_catalog.cardinality(no_stats) OPERATOR(pg_catalog.>) 0 THEN
		RAISE NOTICE 'column(s) % of "%" have no statistics to follow; their values follow their types only',
			pg_catalog.array_to_string(no_stats, ', '), sandbox.data_display_name(src_oid);
	END IF;
	IF pg_catalog.cardinality(omitted) OPERATOR(pg_catalog.>) 0 THEN
		RAISE NOTICE 'column(s) % of "%" take their defaults', pg_catalog.array_to_string(omitted, ', '), sandbox.data_display_name(clone)
			USING DETAIL = 'The generator does not know their types.';
	END IF;

	/* CHECK constraints over generated columns filter the rows */
	FOR c IN SELECT pg_catalog.pg_get_expr(k2.conbin, k2.conrelid) AS expr
			   FROM pg_catalog.pg_constraint k2
			  WHERE k2.conrelid OPERATOR(pg_catalog.=) clone AND k2.contype OPERATOR(pg_catalog.=) 'c'
				AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(k2.conkey) AS q(n)
								  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) clone
								   AND a.attnum OPERATOR(pg_catalog.=) q.n
								 WHERE a.attgenerated OPERATOR(pg_catalog.<>) ''
									OR a.attname::text OPERATOR(pg_catalog.=) ANY (omitted))
			  ORDER BY k2.conname
	LOOP
		filters := filters OPERATOR(pg_catalog.||) pg_catalog.format('(%s) IS NOT FALSE', c.expr);
	END LOOP;

	IF conflict THEN
		PERFORM sandbox.clone_indexes(src_oid, clone);
	END IF;

	/* generate: all rows at once; then rows past the end for any the filters or keys refused */
	need := rows;
	lo := 1;
	hi := rows;
	WHILE need OPERATOR(pg_catalog.>) 0 AND pass_no OPERATOR(pg_catalog.<) 10 LOOP
		IF pg_catalog.cardinality(col_names) OPERATOR(pg_catalog.=) 0 THEN
			sql := pg_catalog.format('INSERT INTO %s SELECT FROM pg_catalog.generate_series(%s::pg_catalog.int8, %s::pg_catalog.int8)',
									 dst, lo, hi);
		ELSE
			sql := pg_catalog.format(
				'INSERT INTO %1$s (%2$s) OVERRIDING SYSTEM VALUE SELECT %2$s FROM (SELECT %3$s, x.g AS "sandbox g" FROM (SELECT %4$s FROM pg_catalog.generate_series(%5$s::pg_catalog.int8, %6$s::pg_catalog.int8) AS s(g) OFFSET 0) x%7$s%11$s) y%8$s%9$s%10$s',
				dst, pg_catalog.array_to_string(col_names, ', '),
				pg_catalog.array_to_string(outer_parts, ', '),
				pg_catalog.array_to_string(inner_parts, ', '),
				lo, hi, joins,
				CASE WHEN pg_catalog.cardinality(filters) OPERATOR(pg_catalog.>) 0
					 THEN ' WHERE ' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(filters, ' AND ') ELSE '' END,
				CASE WHEN pass_no OPERATOR(pg_catalog.>) 0
					 THEN pg_catalog.format(' ORDER BY y."sandbox g" LIMIT %s', need) ELSE '' END,
				CASE WHEN conflict THEN ' ON CONFLICT DO NOTHING' ELSE '' END,
				/* computed once, then filtered: without the fence each filter recomputes its columns */
				CASE WHEN pg_catalog.cardinality(filters) OPERATOR(pg_catalog.>) 0 THEN ' OFFSET 0' ELSE '' END);
		END IF;
		RAISE DEBUG 'sandbox_synthesize: at %: %', pg_catalog.clock_timestamp(), sql;
		EXECUTE sql;
		GET DIAGNOSTICS n = ROW_COUNT;
		need := need OPERATOR(pg_catalog.-) n;
		lo := hi OPERATOR(pg_catalog.+) 1;
		hi := hi OPERATOR(pg_catalog.+) GREATEST(need OPERATOR(pg_catalog.*) 4, 1000);
		pass_no := pass_no OPERATOR(pg_catalog.+) 1;
	END LOOP;
	IF need OPERATOR(pg_catalog.>) 0 THEN
		RAISE NOTICE 'generated % rows instead of %', rows OPERATOR(pg_catalog.-) need, rows
			USING DETAIL = 'Too few generated rows satisfied the CHECK constraints, foreign keys or unique keys of the table.';
	END IF;

	RAISE DEBUG 'sandbox_synthesize: rows generated at %', pg_catalog.clock_timestamp();

	/* no value of a key or of a high-cardinality text column may be a production value */
	FOREACH sql IN ARRAY fixes LOOP
		pass_no := 0;
		LOOP
			EXECUTE sql;
			GET DIAGNOSTICS n = ROW_COUNT;
			EXIT WHEN n OPERATOR(pg_catalog.=) 0;
			pass_no := pass_no OPERATOR(pg_catalog.+) 1;
			IF pass_no OPERATOR(pg_catalog.>) 20 THEN
				RAISE EXCEPTION 'could not make values that production does not have'
					USING ERRCODE = '55000',
						  DETAIL = pg_catalog.format('The statement was: %s.', sql);
			END IF;
		END LOOP;
	END LOOP;

	RAISE DEBUG 'sandbox_synthesize: production values replaced at %', pg_catalog.clock_timestamp();
	IF NOT conflict THEN
		PERFORM sandbox.clone_indexes(src_oid, clone);
	END IF;
	RAISE DEBUG 'sandbox_synthesize: indexes built at %', pg_catalog.clock_timestamp();
	PERFORM sandbox.clone_sequences(clone);
	FOREACH sql IN ARRAY fk_ddl LOOP
		EXECUTE sql;
	END LOOP;
	PERFORM sandbox.data_give(clone, sb.agent);
	RETURN clone::regclass;
END
$$;
REVOKE ALL ON FUNCTION sandbox_synthesize(text, regclass, bigint, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sandbox_synthesize(text, regclass, bigint, integer, text) TO PUBLIC;
