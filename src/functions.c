/*-------------------------------------------------------------------------
 *
 * functions.c
 *	  Function calls: SECURITY DEFINER and egress functions called by
 *	  agents, and agent-authored functions called by anyone else.
 *
 * Three mechanisms, because no single one sees every call:
 *
 * - OAT_FUNCTION_EXECUTE (objects.c forwards it here) fires before an
 *   expression, aggregate, CALL or fast-path call runs a function, builtins
 *   included, with the caller's identity.  A restricted session may not
 *   call a SECURITY DEFINER function, a built-in that reaches files,
 *   programs, other sessions or the change stream, a function of an egress
 *   library (dblink, postgres_fdw, file_fdw, adminpack) or a function in an
 *   untrusted language, unless it is an approved endpoint: one of this
 *   extension's functions or one named in sandbox.trusted_functions.
 *
 * - needs_fmgr_hook/fmgr_hook see every call of a function routed through
 *   fmgr_security_definer, including trigger functions.  We route there
 *   every function owned by an agent, so that a call by any other role is
 *   refused (agent code runs only as the agent), and, in a restricted
 *   session, every SQL function, so that none is inlined out of the
 *   planner hook's sight.  Entering an approved endpoint suspends the
 *   restriction until it returns (sandbox_trusted_depth): the endpoint
 *   checks its caller itself.
 *
 * State: the set of denied built-ins (built once per backend, they never
 * change), the previous hooks, and sandbox_trusted_depth, which is reset at
 * transaction end in case an error skipped an FHET_ABORT.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "sandbox.h"

int			sandbox_trusted_depth = 0;

static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;
static fmgr_hook_type prev_fmgr_hook = NULL;

/* built-ins that write outside scratch through a side door, or reach out */
static const char *const denied_builtins[] = {
	/* large objects */
	"lo_import", "lo_export", "lo_create", "lo_creat", "lo_unlink", "lowrite",
	"lo_put", "lo_truncate", "lo_truncate64", "lo_from_bytea",
	/* server files */
	"pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file",
	"pg_ls_logdir", "pg_ls_waldir", "pg_ls_tmpdir", "pg_ls_archive_statusdir",
	"pg_ls_logicalsnapdir", "pg_ls_logicalmapdir", "pg_ls_replslotdir",
	"pg_current_logfile", "pg_ls_summariesdir", "pg_available_wal_summaries",
	"pg_wal_summary_contents",
	/* other sessions, the server, the change stream */
	"pg_notify", "pg_logical_emit_message", "pg_terminate_backend",
	"pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_switch_wal",
	"pg_create_restore_point", "pg_promote", "pg_log_backend_memory_contexts",
	"pg_backup_start", "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
	"pg_wal_replay_pause", "pg_wal_replay_resume", "pg_import_system_collations",
	"pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
	"pg_drop_replication_slot", "pg_copy_physical_replication_slot",
	"pg_copy_logical_replication_slot", "pg_replication_slot_advance",
	"pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes",
	"pg_logical_slot_peek_changes", "pg_logical_slot_peek_binary_changes",
	"pg_replication_origin_create", "pg_replication_origin_drop",
	"pg_replication_origin_advance", "pg_replication_origin_session_setup",
	"pg_replication_origin_session_reset", "pg_replication_origin_xact_setup",
	"pg_replication_origin_xact_reset",
	"pg_stat_reset", "pg_stat_reset_shared", "pg_stat_reset_single_table_counters",
	"pg_stat_reset_single_function_counters", "pg_stat_reset_slru",
	"pg_stat_reset_replication_slot", "pg_stat_reset_subscription_stats",
	/* newer servers: names a server does not know are skipped */
	"pg_log_standby_snapshot", "pg_sync_replication_slots", "pg_stat_reset_backend_stats",
	/* planner statistics of any table the caller may MAINTAIN (18) */
	"pg_restore_relation_stats", "pg_clear_relation_stats",
	"pg_restore_attribute_stats", "pg_clear_attribute_stats",
};

/* libraries whose functions reach the network or the file system */
static const char *const egress_libraries[] = {
	"$libdir/dblink", "$libdir/postgres_fdw", "$libdir/file_fdw", "$libdir/adminpack",
};

static HTAB *denied_hash = NULL;

/* per-function facts kept in the FmgrInfo between calls */
typedef struct CallFacts
{
	Oid			owner;
	bool		secdef;
	bool		endpoint;		/* extension function or trusted */
	bool		entered;		/* this call raised sandbox_trusted_depth */
} CallFacts;

static void
build_denied_hash(void)
{
	HASHCTL		ctl;
	HTAB	   *hash;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(Oid);
	hash = hash_create("sandbox denied built-ins", 128, &ctl, HASH_ELEM | HASH_BLOBS);

	for (int i = 0; i < lengthof(denied_builtins); i++)
	{
		CatCList   *list = SearchSysCacheList1(PROCNAMEARGSNSP,
											   CStringGetDatum(denied_builtins[i]));

		for (int j = 0; j < list->n_members; j++)
		{
			Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(&list->members[j]->tuple);

			if (proc->pronamespace == PG_CATALOG_NAMESPACE)
				(void) hash_search(hash, &proc->oid, HASH_ENTER, NULL);
		}
		ReleaseSysCacheList(list);
	}
	denied_hash = hash;
}

/*
 * Is the function named in sandbox.trusted_functions?  Entries are
 * signatures ("ops.load(integer)") or names ("ops.load", "dblink_connect")
 * that match every overload; commas inside parentheses belong to the
 * signature.
 */
static bool
function_trusted(Oid funcid)
{
	const char *list = sandbox_trusted_functions ? sandbox_trusted_functions : "";
	char	   *proname = get_func_name(funcid);
	char	   *nspname = get_namespace_name(get_func_namespace(funcid));
	const char *start = list;
	int			depth = 0;

	if (proname == NULL)
		return false;
	for (const char *p = list;; p++)
	{
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if ((*p == ',' && depth == 0) || *p == '\0')
		{
			char	   *item = pnstrdup(start, p - start);
			char	   *s = item;
			char	   *e;

			while (*s == ' ' || *s == '\t')
				s++;
			e = s + strlen(s);
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			if (*s != '\0')
			{
				if (strchr(s, '(') != NULL)
				{
					Datum		oid = DirectFunctionCall1(to_regprocedure,
														  CStringGetTextDatum(s));

					if (oid != (Datum) 0 && DatumGetObjectId(oid) == funcid)
						return true;
				}
				else if (strcmp(s, proname) == 0 ||
						 (nspname && strncmp(s, nspname, strlen(nspname)) == 0 &&
						  s[strlen(nspname)] == '.' &&
						  strcmp(s + strlen(nspname) + 1, proname) == 0))
					return true;
			}
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	return false;
}

/* Is this a built-in that writes outside scratch through a side door, or reaches out? */
bool
sandbox_function_denied(Oid funcid)
{
	if (!OidIsValid(funcid) || funcid >= FirstNormalObjectId)
		return false;
	if (denied_hash == NULL)
		build_denied_hash();
	return hash_search(denied_hash, &funcid, HASH_FIND, NULL) != NULL;
}

static void
refuse_agent_function(Oid funcid, Oid owner)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to run function %s written by sandbox agent \"%s\"",
					format_procedure(funcid), GetUserNameFromId(owner, false)),
			 errdetail("Code an agent wrote runs only as that agent, never with the privileges of role \"%s\".",
					   GetUserNameFromId(GetUserId(), false)),
			 errhint("Review the function, or run it as the agent; promotions never carry agent functions into production.")));
}

static bool
extension_function(Oid funcid)
{
	Oid			ext = sandbox_extension_oid();

	return OidIsValid(ext) && getExtensionOfObject(ProcedureRelationId, funcid) == ext;
}

/*
 * OAT_FUNCTION_EXECUTE: may the restricted session call this function?
 */
void
sandbox_check_function_execute(Oid funcid)
{
	HeapTuple	tuple;
	Form_pg_proc proc;
	const char *why = NULL;

	if (!sandbox_session_restricted())
	{
		/* an aggregate or window function an agent wrote runs only as the agent */
		if (funcid >= FirstNormalObjectId && sandbox_cache_has_agents())
		{
			Oid			owner = InvalidOid;
			bool		secdef = false;

			tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
			if (HeapTupleIsValid(tuple))
			{
				owner = ((Form_pg_proc) GETSTRUCT(tuple))->proowner;
				secdef = ((Form_pg_proc) GETSTRUCT(tuple))->prosecdef;
				ReleaseSysCache(tuple);
			}
			if (!secdef && owner != GetUserId() && sandbox_is_agent(owner))
				refuse_agent_function(funcid, owner);
		}
		return;
	}

	if (funcid < FirstNormalObjectId)
	{
		if (!sandbox_function_denied(funcid))
			return;
		why = "it writes outside the sandbox or reaches files, programs or other sessions";
	}
	else
	{
		tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
		if (!HeapTupleIsValid(tuple))
			return;				/* the executor reports the missing function */
		proc = (Form_pg_proc) GETSTRUCT(tuple);

		if (proc->prosecdef && !sandbox_is_agent(proc->proowner) &&
			!extension_function(funcid))
			why = "it is SECURITY DEFINER and would run with its owner's privileges";
		else if (proc->prolang == ClanguageId)
		{
			bool		isnull;
			Datum		bin = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_probin, &isnull);

			if (!isnull)
			{
				char	   *lib = TextDatumGetCString(bin);

				for (int i = 0; i < lengthof(egress_libraries); i++)
					if (strcmp(lib, egress_libraries[i]) == 0)
						why = "it reaches the network or the file system";
			}
		}
		else if (proc->prolang != INTERNALlanguageId && proc->prolang != SQLlanguageId)
		{
			HeapTuple	lang = SearchSysCache1(LANGOID, ObjectIdGetDatum(proc->prolang));

			if (HeapTupleIsValid(lang))
			{
				if (!((Form_pg_language) GETSTRUCT(lang))->lanpltrusted)
					why = "it is written in an untrusted language";
				ReleaseSysCache(lang);
			}
		}
		ReleaseSysCache(tuple);
	}

	if (why != NULL && !function_trusted(funcid))
		sandbox_refuse("function call",
					   "Ask a database administrator to add the function to sandbox.trusted_functions if agents may use it.",
					   "call function %s, because %s",
					   format_procedure(funcid), why);
}

static bool
sandbox_needs_fmgr_hook(Oid fn_oid)
{
	HeapTuple	tuple;
	Form_pg_proc proc;
	bool		needed = false;

	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn_oid))
		return true;
	if (!IsTransactionState() || !sandbox_cache_has_agents())
		return false;

	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(tuple))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (sandbox_is_agent(proc->proowner))
		needed = true;
	else if (proc->prolang == SQLlanguageId && sandbox_session_restricted())
		needed = true;
	ReleaseSysCache(tuple);
	return needed;
}

static CallFacts *
call_facts(FmgrInfo *flinfo, Datum *private)
{
	CallFacts  *facts = (CallFacts *) DatumGetPointer(*private);

	if (facts == NULL)
	{
		HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(flinfo->fn_oid));
		Form_pg_proc proc;

		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for function %u", flinfo->fn_oid);
		proc = (Form_pg_proc) GETSTRUCT(tuple);
		facts = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(CallFacts));
		facts->owner = proc->proowner;
		facts->secdef = proc->prosecdef;
		facts->endpoint = proc->prorettype == EVENT_TRIGGEROID &&
			!sandbox_is_agent(proc->proowner);
		ReleaseSysCache(tuple);

		/*
		 * Approved endpoints: this extension's functions, those named in
		 * sandbox.trusted_functions, and event trigger functions not written by
		 * an agent, which run only as event triggers and only a superuser can
		 * install (pgaudit's, for one, fire on every DDL statement an agent
		 * runs).
		 */
		facts->endpoint = facts->endpoint || extension_function(flinfo->fn_oid) ||
			(facts->secdef && function_trusted(flinfo->fn_oid));
		*private = PointerGetDatum(facts);
	}
	return facts;
}

static void
sandbox_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	if (event == FHET_START)
	{
		CallFacts  *facts = call_facts(flinfo, private);

		facts->entered = false;

		/* agent code runs only as the agent (for SECURITY DEFINER it does) */
		if (!facts->secdef && sandbox_is_agent(facts->owner) &&
			GetUserId() != facts->owner)
			refuse_agent_function(flinfo->fn_oid, facts->owner);

		if (facts->endpoint)
		{
			sandbox_trusted_depth++;
			facts->entered = true;
		}
		else if (facts->secdef && !sandbox_is_agent(facts->owner) &&
				 sandbox_session_restricted())
			sandbox_refuse("function call",
						   "Ask a database administrator to add the function to sandbox.trusted_functions if agents may use it.",
						   "call function %s, because it is SECURITY DEFINER and would run with its owner's privileges",
						   format_procedure(flinfo->fn_oid));
	}
	else
	{
		CallFacts  *facts = (CallFacts *) DatumGetPointer(*private);

		if (facts != NULL && facts->entered)
		{
			facts->entered = false;
			if (sandbox_trusted_depth > 0)
				sandbox_trusted_depth--;
		}
	}

	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);
}

static void
xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		sandbox_trusted_depth = 0;
}

void
sandbox_functions_install(void)
{
	RegisterXactCallback(xact_callback, NULL);
	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = sandbox_needs_fmgr_hook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = sandbox_fmgr_hook;
}
