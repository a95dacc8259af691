/*-------------------------------------------------------------------------
 *
 * utility.c
 *	  The default-deny allowlist for utility statements run by restricted
 *	  sessions.
 *
 * Every utility statement type an agent may run is named below; anything
 * else, including statement types a future server adds, is refused.  For
 * the allowed types the statement's targets are checked here when the
 * object-access hook (objects.c) cannot see them: the old schema of SET
 * SCHEMA, parents named by INHERITS, PARTITION OF, ATTACH PARTITION and
 * INHERIT, the relations of LOCK, VACUUM, ANALYZE, CLUSTER, REINDEX,
 * REFRESH and COPY, the objects of GRANT and COMMENT, and ALTER TABLE as a
 * whole (some of its subcommands change a table without a catalog hook).
 *
 * Also here, for every session: DROP EXTENSION sandbox is refused while
 * sandboxes exist, so that dropping the extension never leaves an agent
 * unguarded with the privileges its sandbox gave it.
 *
 * State: the previous hook only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "sandbox.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static const char *ask_dba_hint =
"Agents may not run this statement; ask a database administrator, or request a promotion with sandbox_request_promotion().";

/* a relation named by the statement must be in scratch (unknown names are left to the server) */
static void
check_rangevar(RangeVar *rv, const char *kind, const char *verb)
{
	Oid			relid;

	if (rv == NULL)
		return;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (OidIsValid(relid))
		sandbox_check_relation_write(relid, kind, verb);
}

/* where a CREATE would put its new relation or type must be scratch */
static void
check_creation(RangeVar *rv, const char *kind, const char *what)
{
	Oid			nspid;

	if (rv == NULL)
		return;
	nspid = RangeVarGetCreationNamespace(rv);
	if (!sandbox_namespace_writable(nspid))
		sandbox_refuse(kind, NULL, "create %s \"%s.%s\"", what,
					   get_namespace_name(nspid), rv->relname);
}

static void
check_schema_name(const char *nspname, const char *kind, const char *verb)
{
	if (!sandbox_is_own_scratch_name(nspname))
		sandbox_refuse(kind, NULL, "%s schema \"%s\"", verb, nspname);
}

/* a raw-parse-tree walker: does the text call nextval() or setval()? */
static bool
raw_sequence_call_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall))
	{
		char	   *name = strVal(llast(((FuncCall *) node)->funcname));

		if (strcmp(name, "nextval") == 0 || strcmp(name, "setval") == 0)
			return true;
	}
	return raw_expression_tree_walker(node, raw_sequence_call_walker, context);
}

/*
 * Expressions in these places are evaluated without being planned, so the
 * planner hook's check of nextval()/setval() never sees them: refuse the
 * calls there outright.
 */
static void
check_unplanned_expressions(Node *expr, const char *kind, const char *where)
{
	if (expr != NULL && raw_sequence_call_walker(expr, NULL))
		sandbox_refuse(kind, "Call nextval() and setval() in a query instead, such as INSERT ... SELECT nextval('etl.my_seq').",
					   "call nextval() or setval() in %s", where);
}

static void
check_partition_bound(PartitionBoundSpec *bound, const char *kind)
{
	if (bound == NULL)
		return;
	check_unplanned_expressions((Node *) bound->listdatums, kind, "a partition bound");
	check_unplanned_expressions((Node *) bound->lowerdatums, kind, "a partition bound");
	check_unplanned_expressions((Node *) bound->upperdatums, kind, "a partition bound");
}

/* resolve a named object and check the schema it lives in (or its relation's) */
static void
check_object_name(ObjectType objtype, Node *object, RangeVar *relation,
				  const char *kind, const char *verb)
{
	ObjectAddress addr;
	Relation	rel = NULL;
	Oid			nspid = InvalidOid;

	/* statements name types as a list of names; the resolver wants a TypeName */
	if ((objtype == OBJECT_TYPE || objtype == OBJECT_DOMAIN) && IsA(object, List))
		object = (Node *) makeTypeNameFromNameList((List *) object);

	if (relation != NULL)
		addr = get_object_address_rv(objtype, relation, (List *) object, &rel,
									 AccessShareLock, true);
	else
		addr = get_object_address(objtype, object, &rel, AccessShareLock, true);

	if (rel != NULL)
	{
		nspid = RelationGetNamespace(rel);
		relation_close(rel, NoLock);
	}
	else if (OidIsValid(addr.objectId))
	{
		if (addr.classId == NamespaceRelationId)
			sandbox_refuse(kind, "The scratch schema belongs to the sandbox.",
						   "%s schema \"%s\"", verb, get_namespace_name(addr.objectId));
		nspid = is_objectclass_supported(addr.classId) &&
			get_object_attnum_namespace(addr.classId) != InvalidAttrNumber ?
			get_object_namespace(&addr) : InvalidOid;
		if (!OidIsValid(nspid))
			sandbox_refuse(kind, ask_dba_hint, "%s %s", verb,
						   getObjectDescription(&addr, false));
	}
	else
		return;					/* unknown object: the server reports it */

	if (!sandbox_namespace_writable(nspid))
		sandbox_refuse(kind, NULL, "%s %s", verb,
					   OidIsValid(addr.objectId) ? getObjectDescription(&addr, false) : "object");
}

/*
 * Objects a DROP names must be in scratch; checked here so the refusal
 * names what the statement named (the object-access hook checks every
 * object the drop cascades to as well).
 */
static void
check_drop(DropStmt *stmt, const char *kind)
{
	ListCell   *lc;

	switch (stmt->removeType)
	{
		case OBJECT_TABLE:
		case OBJECT_SEQUENCE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_INDEX:
		case OBJECT_FOREIGN_TABLE:
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
		case OBJECT_OPERATOR:
		case OBJECT_COLLATION:
		case OBJECT_CONVERSION:
		case OBJECT_STATISTIC_EXT:
		case OBJECT_TRIGGER:
		case OBJECT_RULE:
		case OBJECT_POLICY:
		case OBJECT_SCHEMA:
			foreach(lc, stmt->objects)
				check_object_name(stmt->removeType, (Node *) lfirst(lc), NULL, kind, "drop");
			break;
		default:
			break;				/* the object-access hook checks the rest */
	}
}

static void
check_rename(RenameStmt *stmt, const char *kind)
{
	if (stmt->renameType == OBJECT_SCHEMA)
		sandbox_refuse(kind, "Schemas belong to the database administrator; the scratch schema to the sandbox.",
					   "rename schema \"%s\"", stmt->subname);
	if (stmt->relation != NULL)
		check_rangevar(stmt->relation, kind,
					   stmt->renameType == OBJECT_COLUMN ? "rename a column of" :
					   stmt->renameType == OBJECT_TABCONSTRAINT ? "rename a constraint of" :
					   stmt->renameType == OBJECT_TRIGGER ? "rename a trigger of" :
					   stmt->renameType == OBJECT_RULE ? "rename a rule of" :
					   stmt->renameType == OBJECT_POLICY ? "rename a policy of" : "rename");
	else if (stmt->object != NULL && stmt->renameType != OBJECT_ROLE &&
			 stmt->renameType != OBJECT_DATABASE && stmt->renameType != OBJECT_TABLESPACE)
		check_object_name(stmt->renameType, stmt->object, NULL, kind, "rename");
}

static void
check_grant(GrantStmt *stmt, const char *kind)
{
	ListCell   *lc;

	if (stmt->targtype == ACL_TARGET_ALL_IN_SCHEMA)
	{
		foreach(lc, stmt->objects)
			check_schema_name(strVal(lfirst(lc)), kind, "grant or revoke privileges in");
		return;
	}
	switch (stmt->objtype)
	{
		case OBJECT_TABLE:
		case OBJECT_SEQUENCE:
			foreach(lc, stmt->objects)
				check_rangevar((RangeVar *) lfirst(lc), kind, "grant or revoke privileges on");
			break;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			foreach(lc, stmt->objects)
				check_object_name(stmt->objtype, (Node *) lfirst(lc), NULL, kind,
								  "grant or revoke privileges on");
			break;
		default:
			sandbox_refuse(kind, ask_dba_hint,
						   "grant or revoke privileges on objects outside the scratch schema");
	}
}

static void
check_alter_table(AlterTableStmt *stmt, const char *kind)
{
	ListCell   *lc;

	check_rangevar(stmt->relation, kind, "alter");
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		switch (cmd->subtype)
		{
			case AT_ChangeOwner:
				sandbox_refuse(kind, "Objects an agent makes stay its own; a promotion hands them over.",
							   "change the owner of relation \"%s\"", stmt->relation->relname);
				break;
			case AT_AttachPartition:
			case AT_DetachPartition:
				check_rangevar(((PartitionCmd *) cmd->def)->name, kind, "attach or detach");
				check_partition_bound(((PartitionCmd *) cmd->def)->bound, kind);
				break;
			case AT_AlterColumnType:
				check_unplanned_expressions(((ColumnDef *) cmd->def)->raw_default, kind,
											"the USING clause of ALTER COLUMN TYPE");
				break;
			case AT_AddInherit:
			case AT_DropInherit:
				check_rangevar((RangeVar *) cmd->def, kind, "change the inheritance of");
				break;
			default:
				break;
		}
	}
}

static void
check_set_role(VariableSetStmt *stmt, const char *kind)
{
	bool		is_role;
	bool		is_auth;
	const char *target;
	Oid			roleid;

	if (stmt->name == NULL)
		return;					/* RESET ALL, SET TRANSACTION ... */
	if (strncmp(stmt->name, "sandbox.", 8) == 0 && stmt->kind != VAR_RESET &&
		stmt->kind != VAR_RESET_ALL)
		sandbox_refuse(kind, "Only a database administrator changes the sandbox settings.",
					   "change setting \"%s\"", stmt->name);
	is_role = strcmp(stmt->name, "role") == 0;
	is_auth = strcmp(stmt->name, "session_authorization") == 0;
	if (!is_role && !is_auth)
		return;
	if (stmt->kind != VAR_SET_VALUE || stmt->args == NIL)
		return;					/* RESET ROLE, SET ROLE DEFAULT */
	target = strVal(&((A_Const *) linitial(stmt->args))->val);
	if (is_role && strcmp(target, "none") == 0)
		return;
	roleid = get_role_oid(target, true);
	if (!OidIsValid(roleid) || !sandbox_is_agent(roleid))
		sandbox_refuse(kind, "An agent keeps its own identity for the whole session.",
					   "switch to role \"%s\"", target);
}

/*
 * Is a restricted session allowed to run this statement?  Refuses with
 * 42501 when not; returns when the statement may proceed (the object-access
 * hook and the executor checks still apply to what it does).
 */
static void
check_statement(Node *stmt)
{
	const char *kind = GetCommandTagName(CreateCommandTag(stmt));
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
			/* session and transaction control, reads, and statements whose work is checked elsewhere */
		case T_TransactionStmt:
		case T_VariableShowStmt:
		case T_DeclareCursorStmt:
		case T_FetchStmt:
		case T_ClosePortalStmt:
		case T_PrepareStmt:
		case T_DeallocateStmt:
		case T_DiscardStmt:
		case T_ConstraintsSetStmt:
		case T_ExplainStmt:
		case T_DoStmt:
		case T_ListenStmt:
		case T_UnlistenStmt:
			return;

		case T_CallStmt:
			/* its arguments are evaluated without planning */
			sandbox_check_sequence_calls((Node *) ((CallStmt *) stmt)->funcexpr);
			return;

		case T_ExecuteStmt:
			check_unplanned_expressions((Node *) ((ExecuteStmt *) stmt)->params, kind,
										"the parameters of EXECUTE");
			return;

		case T_VariableSetStmt:
			check_set_role((VariableSetStmt *) stmt, kind);
			return;

			/* objects: created, altered and dropped in scratch only (objects.c) */
		case T_CreateTableAsStmt:
			check_creation(((CreateTableAsStmt *) stmt)->into->rel, kind,
						   ((CreateTableAsStmt *) stmt)->objtype == OBJECT_MATVIEW ? "materialized view" : "table");
			return;
		case T_ViewStmt:
			check_creation(((ViewStmt *) stmt)->view, kind, "view");
			return;
		case T_CreateSeqStmt:
			check_creation(((CreateSeqStmt *) stmt)->sequence, kind, "sequence");
			return;
		case T_CompositeTypeStmt:
			check_creation(((CompositeTypeStmt *) stmt)->typevar, kind, "type");
			return;

		case T_AlterSeqStmt:
		case T_IndexStmt:
		case T_CreateFunctionStmt:
		case T_AlterFunctionStmt:
		case T_DropStmt:
			check_drop((DropStmt *) stmt, kind);
			return;

		case T_RenameStmt:
			check_rename((RenameStmt *) stmt, kind);
			return;

		case T_RuleStmt:
		case T_CreatePolicyStmt:
		case T_AlterPolicyStmt:
		case T_CreateDomainStmt:
		case T_AlterDomainStmt:
		case T_CreateEnumStmt:
		case T_CreateRangeStmt:
		case T_AlterEnumStmt:
		case T_AlterTypeStmt:
		case T_DefineStmt:
		case T_AlterOperatorStmt:
		case T_CreateStatsStmt:
		case T_AlterStatsStmt:
		case T_CreateConversionStmt:
		case T_AlterCollationStmt:
		case T_AlterTSDictionaryStmt:
		case T_AlterTSConfigurationStmt:
		case T_CreateCastStmt:
		case T_CreateTransformStmt:
		case T_CreateOpClassStmt:
		case T_CreateOpFamilyStmt:
		case T_AlterOpFamilyStmt:
		case T_TruncateStmt:
			return;

		case T_CreateStmt:
			{
				CreateStmt *cs = (CreateStmt *) stmt;

				check_creation(cs->relation, kind, "table");
				check_partition_bound(cs->partbound, kind);
				foreach(lc, cs->inhRelations)
					check_rangevar((RangeVar *) lfirst(lc), kind, "inherit from or add a partition to");
			}
			return;

		case T_AlterTableStmt:
			check_alter_table((AlterTableStmt *) stmt, kind);
			return;

		case T_CreateTrigStmt:
			check_rangevar(((CreateTrigStmt *) stmt)->relation, kind, "create a trigger on");
			check_rangevar(((CreateTrigStmt *) stmt)->constrrel, kind, "create a constraint trigger referencing");
			return;

		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *as = (AlterObjectSchemaStmt *) stmt;

				if (as->relation != NULL)
					check_rangevar(as->relation, kind, "move");
				else
					check_object_name(as->objectType, as->object, NULL, kind, "move");
				check_schema_name(as->newschema, kind, "move objects into");
			}
			return;

		case T_CommentStmt:
			{
				CommentStmt *cs = (CommentStmt *) stmt;

				check_object_name(cs->objtype, cs->object, NULL, kind, "comment on");
			}
			return;

		case T_GrantStmt:
			check_grant((GrantStmt *) stmt, kind);
			return;

		case T_CreateSchemaStmt:
			{
				CreateSchemaStmt *cs = (CreateSchemaStmt *) stmt;

				/* dbt and friends: CREATE SCHEMA IF NOT EXISTS <scratch> (handled by the caller) */
				if (cs->if_not_exists && cs->schemaname != NULL &&
					sandbox_is_own_scratch_name(cs->schemaname))
					return;
				sandbox_refuse(kind, "Create objects inside the scratch schema instead.",
							   "create schema \"%s\"",
							   cs->schemaname ? cs->schemaname :
							   cs->authrole ? get_rolespec_name(cs->authrole) : "");
			}
			return;

		case T_CopyStmt:
			{
				CopyStmt   *cs = (CopyStmt *) stmt;

				if (cs->is_program || cs->filename != NULL)
					sandbox_refuse(kind, "Use COPY ... FROM STDIN or TO STDOUT; the client can read and write its own files.",
								   "copy %s a server %s", cs->is_from ? "from" : "to",
								   cs->is_program ? "program" : "file");
				if (cs->is_from)
					check_rangevar(cs->relation, kind, "copy into");
				check_unplanned_expressions(cs->whereClause, kind, "the WHERE clause of COPY");
			}
			return;

		case T_LockStmt:
			foreach(lc, ((LockStmt *) stmt)->relations)
				check_rangevar((RangeVar *) lfirst(lc), kind, "lock");
			return;

		case T_VacuumStmt:
			{
				VacuumStmt *vs = (VacuumStmt *) stmt;

				if (vs->rels == NIL)
					sandbox_refuse(kind, "Name the scratch tables to process.",
								   "run %s on the whole database", kind);
				foreach(lc, vs->rels)
					check_rangevar(((VacuumRelation *) lfirst(lc))->relation, kind, "vacuum or analyze");
			}
			return;

		case T_ClusterStmt:
			if (((ClusterStmt *) stmt)->relation == NULL)
				sandbox_refuse(kind, "Name the scratch table to cluster.",
							   "cluster every table of the database");
			check_rangevar(((ClusterStmt *) stmt)->relation, kind, "cluster");
			return;

		case T_ReindexStmt:
			{
				ReindexStmt *rs = (ReindexStmt *) stmt;

				if (rs->kind == REINDEX_OBJECT_INDEX || rs->kind == REINDEX_OBJECT_TABLE)
					check_rangevar(rs->relation, kind, "reindex");
				else if (rs->kind == REINDEX_OBJECT_SCHEMA)
					check_schema_name(rs->name, kind, "reindex");
				else
					sandbox_refuse(kind, "Name the scratch table or index to reindex.",
								   "reindex the whole database or system catalogs");
			}
			return;

		case T_RefreshMatViewStmt:
			check_rangevar(((RefreshMatViewStmt *) stmt)->relation, kind, "refresh");
			return;

		default:
			/* everything not named above, now and in future server versions */
			sandbox_refuse(kind, ask_dba_hint, "run %s", kind);
	}
}

/* DROP EXTENSION sandbox must not strand agents with their privileges */
static void
check_drop_extension(Node *stmt)
{
	DropStmt   *drop = (DropStmt *) stmt;
	ListCell   *lc;

	if (!IsA(stmt, DropStmt) || drop->removeType != OBJECT_EXTENSION)
		return;
	foreach(lc, drop->objects)
	{
		if (strcmp(strVal(lfirst(lc)), "sandbox") == 0 && sandbox_cache_has_agents())
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("cannot drop extension sandbox while sandboxes exist"),
					 errdetail("Dropping the extension would leave every agent with the privileges its sandbox gave it and no guard."),
					 errhint("Drop each sandbox with sandbox_drop() first; sandbox_list() shows them.")));
	}
}

static void
sandbox_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (IsA(stmt, TransactionStmt))
	{
		TransactionStmtKind tk = ((TransactionStmt *) stmt)->kind;

		/* an agent's prepared transaction would outlive its session */
		if ((tk == TRANS_STMT_PREPARE || tk == TRANS_STMT_COMMIT_PREPARED ||
			 tk == TRANS_STMT_ROLLBACK_PREPARED) &&
			!IsAbortedTransactionBlockState() && sandbox_session_restricted())
			sandbox_refuse(GetCommandTagName(CreateCommandTag(stmt)),
						   "Commit or roll back instead; a prepared transaction outlives the session and holds its locks.",
						   "use two-phase commit");
	}
	else
	{
		check_drop_extension(stmt);
		if (sandbox_session_restricted())
		{
			check_statement(stmt);

			/*
			 * CREATE SCHEMA IF NOT EXISTS of its own scratch schema is a no-op
			 * that tools issue before every run.  The server would check the
			 * database-level CREATE privilege first and fail, so answer it
			 * here the way the server answers an existing schema.
			 */
			if (IsA(stmt, CreateSchemaStmt))
			{
				ereport(NOTICE,
						(errcode(ERRCODE_DUPLICATE_SCHEMA),
						 errmsg("schema \"%s\" already exists, skipping",
								((CreateSchemaStmt *) stmt)->schemaname)));
				return;
			}
		}
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
sandbox_utility_install(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = sandbox_ProcessUtility;
}
