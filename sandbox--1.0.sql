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
		FOR t IN SELECT c.relname,
						EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a
								 WHERE a.grantee OPERATOR(pg_catalog.=) agent_oid
								   AND a.privilege_type OPERATOR(pg_catalog.=) 'SELECT') AS had
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
	g record;
	dep text;
	others boolean;
	agent_name name;
BEGIN
	PERFORM sandbox.require_superuser('drop a sandbox');
	sb := sandbox.lock_sandbox($1);
	agent_name := sb.agent::text;

	/* nothing outside the sandbox may depend on what is inside it */
	SELECT pg_catalog.format('%s depends on %s',
			pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid),
			pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)) INTO dep
	  FROM pg_catalog.pg_depend d
	 WHERE d.deptype OPERATOR(pg_catalog.=) ANY (ARRAY['n', 'a']::"char"[])
	   AND sandbox.object_namespace(d.refclassid, d.refobjid) OPERATOR(pg_catalog.=)
		   (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) sb.name)
	   AND sandbox.object_namespace(d.classid, d.objid) IS DISTINCT FROM
		   (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) sb.name)
	   AND d.classid OPERATOR(pg_catalog.<>) 'pg_catalog.pg_namespace'::pg_catalog.regclass
	 ORDER BY 1
	 LIMIT 1;
	IF dep IS NOT NULL THEN
		RAISE EXCEPTION 'cannot drop sandbox "%" because other objects depend on it', sb.name
			USING ERRCODE = '2BP01',
				  DETAIL = pg_catalog.format('%s.', dep),
				  HINT = 'Drop or change the dependent object outside the sandbox first.';
	END IF;

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
						  AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a
									   WHERE a.grantee OPERATOR(pg_catalog.=) sb.agent::pg_catalog.oid
										 AND a.privilege_type OPERATOR(pg_catalog.=) 'SELECT')
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
