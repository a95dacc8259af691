/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place that knows which PostgreSQL major version we build for.
 *
 * Every difference between server versions that the extension touches is
 * hidden behind a macro or inline function here, so that no other file
 * tests PG_VERSION_NUM.  Supported: 15 (tested in CI); 16-18 are the
 * targets of the port.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SANDBOX_COMPAT_H
#define SANDBOX_COMPAT_H

#include "postgres.h"
#include "executor/executor.h"

#if PG_VERSION_NUM < 150000
#error "sandbox requires PostgreSQL 15 or later"
#endif

/*
 * PostgreSQL 16 moved permission checks from RangeTblEntry to
 * RTEPermissionInfo and added that list to ExecutorCheckPerms_hook.
 * SANDBOX_CHECKPERMS_ARGS is the hook's parameter list; the guard walks
 * the range table in both cases (it needs relid and lock mode, which every
 * version keeps on the RTE).
 */
#if PG_VERSION_NUM >= 160000
#define SANDBOX_CHECKPERMS_ARGS List *rangeTable, List *rtePermInfos, bool ereport_on_violation
#define SANDBOX_CHECKPERMS_CALL(prev) (prev)(rangeTable, rtePermInfos, ereport_on_violation)
#define SANDBOX_RTE_CHECKASUSER(rte, rtable, perminfos) \
	((rte)->perminfoindex ? getRTEPermissionInfo((perminfos), (rte))->checkAsUser : InvalidOid)
#else
#define SANDBOX_CHECKPERMS_ARGS List *rangeTable, bool ereport_on_violation
#define SANDBOX_CHECKPERMS_CALL(prev) (prev)(rangeTable, ereport_on_violation)
#define SANDBOX_RTE_CHECKASUSER(rte, rtable, perminfos) ((rte)->checkAsUser)
#endif

/* PostgreSQL 18 replaced PG_MODULE_MAGIC with PG_MODULE_MAGIC_EXT. */
#if PG_VERSION_NUM >= 180000
#define SANDBOX_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "sandbox", .version = "1.0")
#else
#define SANDBOX_MODULE_MAGIC PG_MODULE_MAGIC
#endif

/* PostgreSQL 16 renamed pg_class_aclcheck & co to object_aclcheck. */
#if PG_VERSION_NUM >= 160000
#define sandbox_proc_owner_check(procid, roleid) object_ownercheck(ProcedureRelationId, (procid), (roleid))
#else
#define sandbox_proc_owner_check(procid, roleid) pg_proc_ownercheck((procid), (roleid))
#endif

#endif							/* SANDBOX_COMPAT_H */
