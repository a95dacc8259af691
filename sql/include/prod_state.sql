-- Included by guard_attacks.sql and guard_allowed.sql (superuser, after their
-- set-up): regress_prod_parts() and regress_prod_state(), and :prod_state,
-- the digest of production before any case runs.
-- superuser: a digest of everything an agent must not change.  One row per
-- part so that a failing check can be narrowed down; regress_prod_state()
-- folds them into one md5.
CREATE FUNCTION regress_prod_parts(OUT part text, OUT digest text) RETURNS SETOF record
    LANGUAGE plpgsql AS $$
DECLARE
    nsps oid[] := ARRAY(SELECT oid FROM pg_namespace
                         WHERE nspname IN ('regress_prod', 'regress_scratch2', 'sandbox', 'public'));
    rels oid[] := ARRAY(SELECT oid FROM pg_class WHERE relnamespace = ANY (nsps));
    roles oid[] := ARRAY(SELECT oid FROM pg_authid
                          WHERE rolname IN ('regress_prod_owner', 'regress_agent', 'regress_agent2', 'regress_reviewer'));
    r record;
    rows text;
BEGIN
    -- rows of every table and materialized view, and every sequence's position
    FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
              WHERE c.oid = ANY (rels) AND c.relkind IN ('r', 'm', 'S')
              ORDER BY c.oid::regclass::text LOOP
        IF r.relkind = 'S' THEN
            EXECUTE format('SELECT last_value || '','' || is_called FROM %s', r.rel) INTO rows;
        ELSE
            EXECUTE format('SELECT string_agg(t::text, ''|'' ORDER BY t::text) FROM ONLY %s t', r.rel) INTO rows;
        END IF;
        part := 'rows ' || r.rel::text; digest := md5(coalesce(rows, '')); RETURN NEXT;
    END LOOP;
    part := 'pg_namespace'; digest := md5((SELECT string_agg(format('%s %s %s %s', oid, nspname, nspowner, nspacl), '|' ORDER BY nspname)
        FROM pg_namespace WHERE nspname !~ '^pg_(toast_)?temp_')); RETURN NEXT;
    part := 'pg_class'; digest := md5((SELECT string_agg(format('%s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s',
            oid, relname, relnamespace, relowner, relacl, relkind, relfilenode, relpersistence, relnatts, relchecks,
            relhasrules, relhastriggers, relhassubclass, relrowsecurity, relforcerowsecurity, reloptions,
            relispartition || coalesce(relpartbound::text, '')), '|' ORDER BY oid)
        FROM pg_class WHERE oid = ANY (rels))); RETURN NEXT;
    part := 'pg_attribute'; digest := md5((SELECT string_agg(format('%s %s %s %s %s %s %s %s %s', attrelid, attnum, attname, atttypid,
            attnotnull, atthasdef, attisdropped, attacl, attstattarget), '|' ORDER BY attrelid, attnum)
        FROM pg_attribute WHERE attrelid = ANY (rels))); RETURN NEXT;
    part := 'pg_attrdef'; digest := md5((SELECT string_agg(format('%s %s %s', adrelid, adnum, adbin::text), '|' ORDER BY adrelid, adnum)
        FROM pg_attrdef WHERE adrelid = ANY (rels))); RETURN NEXT;
    part := 'pg_trigger'; digest := md5((SELECT string_agg(format('%s %s %s %s %s', tgrelid, tgname, tgfoid, tgtype, tgenabled), '|' ORDER BY tgrelid, tgname)
        FROM pg_trigger WHERE tgrelid = ANY (rels))); RETURN NEXT;
    part := 'pg_rewrite'; digest := md5((SELECT string_agg(format('%s %s %s %s %s', ev_class, rulename, ev_type, ev_enabled, md5(ev_action)), '|' ORDER BY ev_class, rulename)
        FROM pg_rewrite WHERE ev_class = ANY (rels))); RETURN NEXT;
    part := 'pg_policy'; digest := md5((SELECT string_agg(format('%s %s', polrelid, polname), '|' ORDER BY polrelid, polname)
        FROM pg_policy WHERE polrelid = ANY (rels))); RETURN NEXT;
    part := 'pg_constraint'; digest := md5((SELECT string_agg(format('%s %s %s %s %s %s', conname, connamespace, conrelid, confrelid, contype, conbin::text), '|' ORDER BY oid)
        FROM pg_constraint WHERE conrelid = ANY (rels) OR confrelid = ANY (rels) OR connamespace = ANY (nsps))); RETURN NEXT;
    part := 'pg_index'; digest := md5((SELECT string_agg(format('%s %s %s %s', indexrelid, indrelid, indisvalid, indisclustered), '|' ORDER BY indexrelid)
        FROM pg_index WHERE indrelid = ANY (rels))); RETURN NEXT;
    part := 'pg_inherits'; digest := md5((SELECT string_agg(format('%s %s %s', inhrelid, inhparent, inhseqno), '|' ORDER BY inhrelid, inhparent)
        FROM pg_inherits WHERE inhrelid = ANY (rels) OR inhparent = ANY (rels))); RETURN NEXT;
    part := 'pg_statistic'; digest := md5((SELECT count(*)::text FROM pg_statistic WHERE starelid = ANY (rels))); RETURN NEXT;
    part := 'pg_statistic_ext'; digest := md5((SELECT string_agg(format('%s %s', stxrelid, stxname), '|' ORDER BY oid)
        FROM pg_statistic_ext WHERE stxrelid = ANY (rels) OR stxnamespace = ANY (nsps))); RETURN NEXT;
    part := 'pg_proc'; digest := md5((SELECT string_agg(format('%s %s %s %s %s %s %s', oid, proname, proowner, proacl, prosecdef, proconfig, prosrc), '|' ORDER BY oid)
        FROM pg_proc WHERE pronamespace = ANY (nsps))); RETURN NEXT;
    part := 'pg_type'; digest := md5((SELECT string_agg(format('%s %s %s %s %s', oid, typname, typowner, typacl, typdefaultbin::text), '|' ORDER BY oid)
        FROM pg_type WHERE typnamespace = ANY (nsps))); RETURN NEXT;
    part := 'other objects in schemas'; digest := md5(concat_ws(',',
        (SELECT count(*) FROM pg_operator WHERE oprnamespace = ANY (nsps)),
        (SELECT count(*) FROM pg_collation WHERE collnamespace = ANY (nsps)),
        (SELECT count(*) FROM pg_conversion WHERE connamespace = ANY (nsps)),
        (SELECT count(*) FROM pg_ts_config WHERE cfgnamespace = ANY (nsps)),
        (SELECT count(*) FROM pg_opfamily WHERE opfnamespace = ANY (nsps)))); RETURN NEXT;
    part := 'comments and labels'; digest := md5(concat_ws(',',
        (SELECT string_agg(format('%s %s %s %s', classoid, objoid, objsubid, description), '|' ORDER BY classoid, objoid, objsubid)
           FROM pg_description WHERE objoid = ANY (rels || nsps)
              OR objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = ANY (nsps))),
        (SELECT string_agg(format('%s %s', objoid, description), '|' ORDER BY objoid, description) FROM pg_shdescription
          WHERE objoid = ANY (roles) OR objoid = (SELECT oid FROM pg_database WHERE datname = current_database())),
        (SELECT count(*) FROM pg_seclabel), (SELECT count(*) FROM pg_shseclabel))); RETURN NEXT;
    part := 'pg_default_acl'; digest := md5((SELECT string_agg(format('%s %s %s %s', defaclrole, defaclnamespace, defaclobjtype, defaclacl), '|' ORDER BY oid)
        FROM pg_default_acl)); RETURN NEXT;
    part := 'pg_database'; digest := md5((SELECT string_agg(format('%s %s %s %s', datname, datdba, datacl, datconnlimit), '|' ORDER BY datname)
        FROM pg_database WHERE datname = current_database())); RETURN NEXT;
    part := 'pg_db_role_setting'; digest := md5((SELECT string_agg(format('%s %s %s', setdatabase, setrole, setconfig), '|' ORDER BY setdatabase, setrole)
        FROM pg_db_role_setting
       WHERE setrole = ANY (roles)
          OR setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))); RETURN NEXT;
    part := 'pg_authid'; digest := md5((SELECT string_agg(format('%s %s %s %s %s %s %s %s %s %s %s', rolname, rolsuper, rolinherit, rolcreaterole,
            rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, rolpassword, rolvaliduntil), '|' ORDER BY rolname)
        FROM pg_authid WHERE oid = ANY (roles) OR rolname LIKE 'regress\_planted%')); RETURN NEXT;
    part := 'pg_auth_members'; digest := md5((SELECT string_agg(format('%s %s %s', roleid, member, admin_option), '|' ORDER BY roleid, member)
        FROM pg_auth_members WHERE roleid = ANY (roles) OR member = ANY (roles))); RETURN NEXT;
    part := 'pg_parameter_acl'; digest := md5((SELECT string_agg(format('%s %s', parname, paracl), '|' ORDER BY parname)
        FROM pg_parameter_acl)); RETURN NEXT;
    part := 'large objects'; digest := md5(concat_ws(',',
        (SELECT string_agg(format('%s %s %s', oid, lomowner, lomacl), '|' ORDER BY oid) FROM pg_largeobject_metadata),
        (SELECT string_agg(format('%s %s %s', loid, pageno, md5(data)), '|' ORDER BY loid, pageno) FROM pg_largeobject))); RETURN NEXT;
    part := 'global objects'; digest := md5(concat_ws(',',
        (SELECT string_agg(format('%s %s', oid, castsource), ' ' ORDER BY oid) FROM pg_cast WHERE oid >= 16384),
        (SELECT string_agg(format('%s %s', extname, extversion), ' ' ORDER BY extname) FROM pg_extension),
        (SELECT string_agg(pubname, ' ' ORDER BY pubname) FROM pg_publication),
        (SELECT count(*) FROM pg_publication_rel),
        (SELECT string_agg(subname, ' ' ORDER BY subname) FROM pg_subscription
          WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())),
        (SELECT string_agg(format('%s %s', fdwname, fdwacl), ' ' ORDER BY fdwname) FROM pg_foreign_data_wrapper),
        (SELECT string_agg(format('%s %s %s', srvname, srvacl, srvoptions), ' ' ORDER BY srvname) FROM pg_foreign_server),
        (SELECT string_agg(format('%s %s', umuser, umserver), ' ' ORDER BY umuser, umserver) FROM pg_user_mapping),
        (SELECT count(*) FROM pg_event_trigger),
        (SELECT string_agg(lanname, ' ' ORDER BY lanname) FROM pg_language),
        (SELECT count(*) FROM pg_am), (SELECT count(*) FROM pg_transform),
        (SELECT count(*) FROM pg_tablespace),
        (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()),
        (SELECT count(*) FROM pg_replication_slots WHERE database = current_database()))); RETURN NEXT;
END
$$;
CREATE FUNCTION regress_prod_state() RETURNS text LANGUAGE sql
    AS $$ SELECT md5(string_agg(part || ' ' || digest, E'\n' ORDER BY part)) FROM regress_prod_parts() $$;
SELECT regress_prod_state() AS prod_state \gset
