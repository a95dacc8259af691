/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The executor- and planner-level guard, and how every refusal is
 *	  reported.
 *
 * Executor: ExecutorCheckPerms_hook sees the final range table of every
 * query that reaches the executor (top level, SPI in functions and
 * triggers, rules, views, writable CTEs, EXPLAIN ANALYZE, prepared
 * statements, cursors) and of COPY FROM.  A relation opened with a lock
 * stronger than AccessShareLock is written or row-locked; in a restricted
 * session it must live in a scratch schema.  Reading a foreign table is
 * egress and needs its server in sandbox.trusted_servers.  In any session,
 * a write checked as an agent (a rule or view that an agent owns) must stay
 * in that agent's scratch schema.
 *
 * Planner: nextval() and setval() write a sequence without a range-table
 * entry, and PL/pgSQL evaluates them without the executor; every query is
 * planned, so the planner hook checks that a restricted session calls them
 * only on a constant sequence in its scratch schema.
 *
 * State: only the previous hooks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/builtins.h"
#include "utils/varlena.h"

#include "sandbox.h"

static ExecutorCheckPerms_hook_type prev_ExecutorCheckPerms = NULL;
static planner_hook_type prev_planner = NULL;

/* "schema.relation", or a placeholder when the relation is gone */
char *
sandbox_relation_name(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));

	if (rel == NULL || nsp == NULL)
		return psprintf("relation with OID %u", relid);
	return psprintf("%s.%s", nsp, rel);
}

/*
 * Report a refusal of a restricted session's statement: count it, log it,
 * and raise 42501 naming the object, the agent's scratch schemas and the
 * way forward.  kind is the statement kind for sandbox_stats(); the format
 * completes "permission denied to ...".
 */
void
sandbox_refuse(const char *kind, const char *hint, const char *fmt,...)
{
	Oid			role = sandbox_restricted_role();
	char	   *rolename = GetUserNameFromId(role, true);
	char	   *scratch = sandbox_scratch_list(role);
	const char *sandbox = sandbox_first_sandbox(role);
	StringInfoData what;

	initStringInfo(&what);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&what, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&what, needed);
	}

	sandbox_stats_count(sandbox, role, kind);
	ereport(LOG,
			(errmsg("refused %s by agent \"%s\": %s", kind,
					rolename ? rolename : "?", what.data)));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s", what.data),
			 errdetail("Role \"%s\" is a sandbox agent and may change only objects in schema %s.",
					   rolename ? rolename : "?", scratch),
			 hint ? errhint("%s", hint) :
			 errhint("Write into schema %s instead, or request a promotion with sandbox_request_promotion().",
					 scratch)));
}

/* Refuse a restricted session's write to a relation outside its scratch schemas. */
void
sandbox_check_relation_write(Oid relid, const char *kind, const char *verb)
{
	if (!sandbox_namespace_writable(get_rel_namespace(relid)))
		sandbox_refuse(kind, NULL, "%s %s \"%s\"", verb,
					   sandbox_relkind_label(get_rel_relkind(relid)),
					   sandbox_relation_name(relid));
}

static bool
server_trusted(Oid relid)
{
	ForeignTable *ft = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(ft->serverid);
	char	   *raw = pstrdup(sandbox_trusted_servers ? sandbox_trusted_servers : "");
	List	   *names;
	ListCell   *lc;

	if (!SplitIdentifierString(raw, ',', &names))
		return false;			/* a list we cannot read trusts nothing */
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), server->servername) == 0)
			return true;
	}
	return false;
}

static bool
relation_has_rls(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		rls = false;

	if (HeapTupleIsValid(tuple))
	{
		rls = ((Form_pg_class) GETSTRUCT(tuple))->relrowsecurity;
		ReleaseSysCache(tuple);
	}
	return rls;
}

/*
 * Agent code runs only as the agent (DESIGN 2.6).  A query of any other
 * role may read an agent's plain tables, which is how a sandbox is
 * reviewed, but may not run what the agent wrote: its views and rules
 * (checked as their owner), the policies of its tables, and, on a write,
 * the defaults, checks, index expressions and triggers of its tables.
 */
static void
check_agent_code(RangeTblEntry *rte, bool writes, Oid asuser)
{
	Oid			user = GetUserId();
	Oid			agent = InvalidOid;
	const char *what = NULL;

	if (OidIsValid(asuser) && asuser != user && sandbox_is_agent(asuser))
	{
		agent = asuser;
		what = "use a view or rule written by";
	}
	else
	{
		Oid			owner = sandbox_scratch_agent(get_rel_namespace(rte->relid));

		if (!OidIsValid(owner) || owner == user)
			return;
		if (rte->relkind == RELKIND_VIEW)
			what = "use a view written by";
		else if (writes)
			what = "write to a table, with the triggers, defaults and checks written by";
		else if (relation_has_rls(rte->relid))
			what = "read a table, with the row-level security policies written by";
		else
			return;				/* a plain read: this is how a sandbox is reviewed */
		agent = owner;
	}

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s sandbox agent \"%s\": %s \"%s\"",
					what, GetUserNameFromId(agent, false),
					sandbox_relkind_label(get_rel_relkind(rte->relid)),
					sandbox_relation_name(rte->relid)),
			 errdetail("Code an agent wrote runs only as that agent, never with the privileges of role \"%s\".",
					   GetUserNameFromId(user, false)),
			 errhint("Read the agent's tables directly, or run the statement as the agent with SET ROLE.")));
}

static bool
sandbox_ExecutorCheckPerms(SANDBOX_CHECKPERMS_ARGS)
{
	bool		restricted = sandbox_session_restricted();

	if (restricted || sandbox_cache_has_agents())
	{
		ListCell   *lc;

		foreach(lc, rangeTable)
		{
			RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
			bool		writes;

			if (!SANDBOX_RTE_IS_RELATION(rte))
				continue;
			writes = rte->rellockmode > AccessShareLock;

			if (restricted)
			{
				if (writes)
					sandbox_check_relation_write(rte->relid, "write", "write to");
				if (rte->relkind == RELKIND_FOREIGN_TABLE && !server_trusted(rte->relid))
					sandbox_refuse("foreign table", "Ask a database administrator to add the server to sandbox.trusted_servers.",
								   "read foreign table \"%s\"", sandbox_relation_name(rte->relid));
			}
			else if (sandbox_trusted_depth == 0)
				check_agent_code(rte, writes,
								 SANDBOX_RTE_CHECKASUSER(rte, rangeTable, rtePermInfos));
		}
	}

	if (prev_ExecutorCheckPerms)
		return SANDBOX_CHECKPERMS_CALL(prev_ExecutorCheckPerms);
	return true;
}

/*
 * set_config('role' | 'session_authorization', ...): the function form of
 * SET ROLE, which never reaches ProcessUtility.  The session would stay
 * restricted, but an agent keeps its own identity all the same.
 */
static void
check_set_config(FuncExpr *func)
{
	Node	   *arg = linitial(func->args);
	char	   *name;

	if (!IsA(arg, Const) || ((Const *) arg)->constisnull)
		sandbox_refuse("function call", "Name the setting as a constant.",
					   "call set_config() with a setting chosen at run time");
	name = TextDatumGetCString(((Const *) arg)->constvalue);
	if (pg_strcasecmp(name, "role") == 0 || pg_strcasecmp(name, "session_authorization") == 0)
		sandbox_refuse("function call", "An agent keeps its own identity for the whole session.",
					   "switch roles with set_config('%s', ...)", name);
}

/* nextval/setval: the sequence argument must be a constant in scratch */
static bool
sequence_call_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *func = (FuncExpr *) node;

		if (func->funcid == F_SET_CONFIG)
			check_set_config(func);

		if (func->funcid == F_NEXTVAL || func->funcid == F_SETVAL_REGCLASS_INT8 ||
			func->funcid == F_SETVAL_REGCLASS_INT8_BOOL)
		{
			Node	   *arg = linitial(func->args);
			const char *name = get_func_name(func->funcid);

			if (!IsA(arg, Const) || ((Const *) arg)->consttype != REGCLASSOID ||
				((Const *) arg)->constisnull)
				sandbox_refuse("sequence", "Name the sequence as a constant, such as nextval('etl.my_seq').",
							   "call %s() on a sequence chosen at run time", name);
			sandbox_check_relation_write(DatumGetObjectId(((Const *) arg)->constvalue),
										 "sequence", "advance or set");
		}
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, sequence_call_walker, context, 0);
	return expression_tree_walker(node, sequence_call_walker, context);
}

/*
 * Refuse nextval()/setval() calls in expr that a restricted session may not
 * make.  Used on every planned query, and on the arguments of CALL, which
 * are evaluated without planning.
 */
void
sandbox_check_sequence_calls(Node *expr)
{
	(void) sequence_call_walker(expr, NULL);
}

static bool
denied_function_checker(Oid funcid, void *context)
{
	return sandbox_function_denied(funcid);
}

static bool
stored_expression_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, denied_function_checker, NULL))
		sandbox_refuse("CREATE", "Stored expressions may not call functions that reach outside the sandbox.",
					   "store an expression that calls a function reaching outside the sandbox");
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, stored_expression_walker, context, 0);
	return expression_tree_walker(node, stored_expression_walker, context);
}

/*
 * Check an expression an agent stores in the catalogs (a default, check
 * constraint, index expression, trigger condition, domain constraint or
 * default): the executor evaluates these without planning them, as COPY
 * FROM does, and some of them run for other roles (a domain's check in a
 * reviewer's cast).  They may not advance an outside sequence nor call a
 * built-in that reaches outside the sandbox.
 */
void
sandbox_check_stored_expression(Node *expr)
{
	(void) sequence_call_walker(expr, NULL);
	(void) stored_expression_walker(expr, NULL);
}

static PlannedStmt *
sandbox_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	if (sandbox_session_restricted())
		(void) query_tree_walker(parse, sequence_call_walker, NULL, 0);

	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

void
sandbox_guard_install(void)
{
	prev_ExecutorCheckPerms = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = sandbox_ExecutorCheckPerms;
	prev_planner = planner_hook;
	planner_hook = sandbox_planner;
}
