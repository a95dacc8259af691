/*-------------------------------------------------------------------------
 *
 * objects.c
 *	  object_access_hook: every catalog object a restricted session
 *	  creates, alters, drops or truncates must belong to its scratch schema.
 *
 * The server calls the hook for each object once the statement has
 * resolved names, so one check covers every statement form that reaches
 * the catalogs: ALTER ... RENAME, OWNER TO, SET SCHEMA (the new schema;
 * utility.c checks the old one), triggers, rules, policies and indexes on
 * outside tables, the triggers a foreign key would add to its referenced
 * table, large objects, casts and other objects outside any schema.
 *
 * An object belongs to a schema directly (its namespace column), through
 * the relation it is attached to (triggers, rules, policies, defaults,
 * extended statistics), or not at all (a global object, which an agent may
 * never create, alter or drop).  Toast tables follow their parent, which is
 * checked in its own right.  Catalog rows are read with SnapshotSelf: a
 * post-create hook runs before the command's changes are visible to an
 * ordinary snapshot.
 *
 * Stored expressions that the executor evaluates without planning them
 * (defaults, check constraints, index expressions, trigger conditions) are
 * checked for sequence writes here, as the planner hook cannot see them.
 *
 * State: the previous hook only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "sandbox.h"

static object_access_hook_type prev_object_access = NULL;

/* objects that live in the schema of the relation they are attached to */
typedef struct AttachedClass
{
	Oid			classId;
	Oid			indexId;
	AttrNumber	oidatt;
	AttrNumber	relatt;
	AttrNumber	expratt;		/* stored expression to check, or 0 */
	const char *label;
} AttachedClass;

static const AttachedClass attached_classes[] = {
	{TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid, Anum_pg_trigger_tgrelid, Anum_pg_trigger_tgqual, "trigger"},
	{RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid, Anum_pg_rewrite_ev_class, 0, "rule"},
	{PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid, Anum_pg_policy_polrelid, 0, "policy"},
	{AttrDefaultRelationId, AttrDefaultOidIndexId, Anum_pg_attrdef_oid, Anum_pg_attrdef_adrelid, Anum_pg_attrdef_adbin, "default"},
	{StatisticExtRelationId, StatisticExtOidIndexId, Anum_pg_statistic_ext_oid, Anum_pg_statistic_ext_stxrelid, 0, "statistics object"},
};

/* The current (SnapshotSelf) version of a catalog row, copied, or NULL. */
static HeapTuple
fetch_row(Relation rel, Oid indexId, AttrNumber keyatt, Oid key)
{
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyInit(&skey, keyatt, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(key));
	scan = systable_beginscan(rel, indexId, true, SnapshotSelf, 1, &skey);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		tuple = heap_copytuple(tuple);
	systable_endscan(scan);
	return tuple;
}

/* Check a stored expression (a nodeToString text column) for sequence writes. */
static void
check_stored_expression(Relation rel, HeapTuple tuple, AttrNumber att)
{
	bool		isnull;
	Datum		value = heap_getattr(tuple, att, RelationGetDescr(rel), &isnull);

	if (!isnull)
		sandbox_check_stored_expression((Node *) stringToNode(TextDatumGetCString(value)));
}

const char *
sandbox_relkind_label(char relkind)
{
	switch (relkind)
	{
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			return "index";
		case RELKIND_SEQUENCE:
			return "sequence";
		case RELKIND_VIEW:
			return "view";
		case RELKIND_MATVIEW:
			return "materialized view";
		case RELKIND_FOREIGN_TABLE:
			return "foreign table";
		case RELKIND_COMPOSITE_TYPE:
			return "type";
		default:
			return "table";
	}
}

static void
check_relation(Oid relid, bool created, const char *kind, const char *verb)
{
	Relation	rel = table_open(RelationRelationId, AccessShareLock);
	HeapTuple	tuple = fetch_row(rel, ClassOidIndexId, Anum_pg_class_oid, relid);
	Form_pg_class form;

	if (!HeapTupleIsValid(tuple))
	{
		table_close(rel, AccessShareLock);
		return;					/* gone already: nothing left to protect */
	}
	form = (Form_pg_class) GETSTRUCT(tuple);

	/* toast tables and their indexes follow their parent */
	if (form->relnamespace != PG_TOAST_NAMESPACE &&
		!isTempToastNamespace(form->relnamespace) &&
		!sandbox_namespace_writable(form->relnamespace))
	{
		char	   *nsp = get_namespace_name(form->relnamespace);

		sandbox_refuse(kind, NULL, "%s %s \"%s.%s\"", verb,
					   sandbox_relkind_label(form->relkind),
					   nsp ? nsp : "?", NameStr(form->relname));
	}
	table_close(rel, AccessShareLock);

	if (created && (form->relkind == RELKIND_INDEX ||
					form->relkind == RELKIND_PARTITIONED_INDEX))
	{
		Relation	irel = table_open(IndexRelationId, AccessShareLock);
		HeapTuple	itup = fetch_row(irel, IndexRelidIndexId,
									 Anum_pg_index_indexrelid, relid);

		if (HeapTupleIsValid(itup))
		{
			check_stored_expression(irel, itup, Anum_pg_index_indexprs);
			check_stored_expression(irel, itup, Anum_pg_index_indpred);
		}
		table_close(irel, AccessShareLock);
	}
}

static void
check_namespace_object(Oid nspid, bool created, const char *kind, const char *verb)
{
	Relation	rel = table_open(NamespaceRelationId, AccessShareLock);
	HeapTuple	tuple = fetch_row(rel, NamespaceOidIndexId, Anum_pg_namespace_oid, nspid);
	char	   *name;

	if (!HeapTupleIsValid(tuple))
	{
		table_close(rel, AccessShareLock);
		return;
	}
	name = pstrdup(NameStr(((Form_pg_namespace) GETSTRUCT(tuple))->nspname));
	table_close(rel, AccessShareLock);

	/* the session's own temporary schemas, made on first use */
	if (created && sandbox_allow_temp_objects &&
		(strncmp(name, "pg_temp_", 8) == 0 || strncmp(name, "pg_toast_temp_", 14) == 0))
		return;

	sandbox_refuse(kind, "The scratch schema belongs to the sandbox; create objects inside it instead.",
				   "%s schema \"%s\"", verb, name);
}

/* The expression of the default just stored for column attnum of relid. */
static void
check_new_default(Oid relid, int attnum)
{
	Relation	rel = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyData skey[2];
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyInit(&skey[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&skey[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber, F_INT2EQ,
				Int16GetDatum((int16) attnum));
	scan = systable_beginscan(rel, AttrDefaultIndexId, true, SnapshotSelf, 2, skey);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		check_stored_expression(rel, tuple, Anum_pg_attrdef_adbin);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* An operator's functions may not be built-ins that reach outside: others may use the operator. */
static void
check_operator(Relation rel, HeapTuple tuple)
{
	Form_pg_operator op = (Form_pg_operator) GETSTRUCT(tuple);

	if (sandbox_function_denied(op->oprcode) || sandbox_function_denied(op->oprrest) ||
		sandbox_function_denied(op->oprjoin))
		sandbox_refuse("CREATE", "Operators may not call functions that reach outside the sandbox.",
					   "create operator %s using a function that reaches outside the sandbox",
					   NameStr(op->oprname));
}

static bool
check_attached(const AttachedClass *ac, Oid objectId, bool created,
			   const char *kind, const char *verb)
{
	Relation	rel = table_open(ac->classId, AccessShareLock);
	HeapTuple	tuple = fetch_row(rel, ac->indexId, ac->oidatt, objectId);
	bool		isnull;
	Oid			relid;

	if (!HeapTupleIsValid(tuple))
	{
		table_close(rel, AccessShareLock);
		return true;
	}
	relid = DatumGetObjectId(heap_getattr(tuple, ac->relatt, RelationGetDescr(rel), &isnull));
	if (!isnull && !sandbox_namespace_writable(get_rel_namespace(relid)))
		sandbox_refuse(kind, NULL, "%s %s on relation \"%s\"", verb, ac->label,
					   sandbox_relation_name(relid));
	if (created && ac->expratt != 0)
		check_stored_expression(rel, tuple, ac->expratt);
	table_close(rel, AccessShareLock);
	return true;
}

/*
 * Check that a restricted session may create, alter or drop the catalog
 * object (classId, objectId); refuse otherwise.
 */
void
sandbox_check_object(Oid classId, Oid objectId, int subId, const char *kind,
					 const char *verb)
{
	bool		created = strcmp(verb, "create") == 0;
	Relation	rel;
	HeapTuple	tuple;
	AttrNumber	nspatt;
	const char *label;

	/* an index's pg_index row (CLUSTER ON, REPLICA IDENTITY, ...) is the index */
	if (classId == RelationRelationId || classId == IndexRelationId)
	{
		check_relation(objectId, created, kind, verb);
		return;
	}
	if (classId == AttrDefaultRelationId && created)
	{
		/* a new default is announced as (table, column), not by its own OID */
		check_relation(objectId, false, kind, verb);
		check_new_default(objectId, subId);
		return;
	}
	if (classId == NamespaceRelationId)
	{
		check_namespace_object(objectId, created, kind, verb);
		return;
	}
	for (int i = 0; i < lengthof(attached_classes); i++)
	{
		if (attached_classes[i].classId == classId)
		{
			check_attached(&attached_classes[i], objectId, created, kind, verb);
			if (classId != StatisticExtRelationId)
				return;
			break;				/* statistics objects have a schema too */
		}
	}

	label = is_objectclass_supported(classId) ? get_object_class_descr(classId)
		: get_rel_name(classId);
	nspatt = is_objectclass_supported(classId) ? get_object_attnum_namespace(classId)
		: InvalidAttrNumber;
	if (nspatt == InvalidAttrNumber)
		sandbox_refuse(kind, "Objects outside any schema are shared by the whole database or cluster; ask a database administrator.",
					   "%s %s", verb, label ? label : "object");

	rel = table_open(classId, AccessShareLock);
	tuple = fetch_row(rel, get_object_oid_index(classId), get_object_attnum_oid(classId), objectId);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Oid			nspid = DatumGetObjectId(heap_getattr(tuple, nspatt, RelationGetDescr(rel), &isnull));

		if (isnull || !sandbox_namespace_writable(nspid))
		{
			AttrNumber	nameatt = get_object_attnum_name(classId);
			char	   *nsp = isnull ? NULL : get_namespace_name(nspid);
			const char *name = "?";

			if (nameatt != InvalidAttrNumber)
			{
				Datum		d = heap_getattr(tuple, nameatt, RelationGetDescr(rel), &isnull);

				if (!isnull)
					name = pstrdup(NameStr(*DatumGetName(d)));
			}
			sandbox_refuse(kind, NULL, "%s %s \"%s.%s\"", verb, label,
						   nsp ? nsp : "?", name);
		}
		if (created && classId == ConstraintRelationId)
			check_stored_expression(rel, tuple, Anum_pg_constraint_conbin);
		/* a domain's default is evaluated wherever the domain is used */
		if (classId == TypeRelationId)
			check_stored_expression(rel, tuple, Anum_pg_type_typdefaultbin);
		if (classId == OperatorRelationId)
			check_operator(rel, tuple);
	}
	table_close(rel, AccessShareLock);
}

static void
sandbox_object_access(ObjectAccessType access, Oid classId, Oid objectId,
					  int subId, void *arg)
{
	switch (access)
	{
		case OAT_POST_CREATE:
			if (sandbox_session_restricted())
				sandbox_check_object(classId, objectId, subId, "CREATE", "create");
			break;
		case OAT_POST_ALTER:
			if (!sandbox_session_restricted())
				break;
			if (classId == InheritsRelationId)
			{
				/* a child attached to or detached from a parent: both change */
				ObjectAccessPostAlter *pa = (ObjectAccessPostAlter *) arg;

				sandbox_check_object(RelationRelationId, objectId, 0, "ALTER", "change the inheritance of");
				if (pa != NULL && OidIsValid(pa->auxiliary_id))
					sandbox_check_object(RelationRelationId, pa->auxiliary_id, 0, "ALTER", "change the inheritance of");
				break;
			}
			sandbox_check_object(classId, objectId, subId, "ALTER", "alter");
			break;
		case OAT_DROP:
			{
				ObjectAccessDrop *drop = (ObjectAccessDrop *) arg;

				/* internal drops follow a change the guard already checked */
				if ((drop == NULL || !(drop->dropflags & PERFORM_DELETION_INTERNAL)) &&
					sandbox_session_restricted())
					sandbox_check_object(classId, objectId, subId, "DROP", "drop");
			}
			break;
		case OAT_TRUNCATE:
			if (sandbox_session_restricted())
				sandbox_check_relation_write(objectId, "TRUNCATE", "truncate");
			break;
		case OAT_FUNCTION_EXECUTE:
			sandbox_check_function_execute(objectId);
			break;
		case OAT_NAMESPACE_SEARCH:
			break;
	}

	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
}

void
sandbox_objects_install(void)
{
	prev_object_access = object_access_hook;
	object_access_hook = sandbox_object_access;
}
