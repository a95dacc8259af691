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

/* The caller of an endpoint: the login (session) user, which an agent cannot change. */
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
	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM sandbox.%I', frozen_name) INTO t_oid;
	UPDATE sandbox.promotions p SET frozen_rows = t_oid::pg_catalog.int8 WHERE p.id OPERATOR(pg_catalog.=) new_id;
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
	LANGUAGE sql IMMUTABLE
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
				SELECT string_agg(format('%I = EXCLUDED.%I', a.attname, a.attname), ', ') INTO sets
				  FROM pg_attribute a
				 WHERE a.attrelid = frozen::regclass AND a.attnum > 0 AND NOT a.attisdropped
				   AND quote_ident(a.attname) <> ALL (string_to_array(pk, ', '));
				EXECUTE format('WITH w AS (INSERT INTO %s AS t (%s) SELECT %s FROM %s ON CONFLICT (%s) DO %s RETURNING (t.xmax::text = ''0'') AS ins) '
							   'SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM w',
							   tgt, cols, cols, frozen, pk,
							   CASE WHEN sets IS NULL THEN 'NOTHING' ELSE 'UPDATE SET ' || sets END)
					INTO rows_inserted, rows_updated;
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
