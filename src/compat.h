/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place that knows which PostgreSQL major version we build for.
 *
 * Every difference between server versions that the extension touches is
 * hidden behind a macro or inline function here, so that no other file
 * tests PG_VERSION_NUM.  Built and tested: 15 and 18.  Compiled with
 * -Werror against 17's headers (test/cassert/run 17 --compile-only), not
 * run there.  16: the macros cover it, but Debian serves no 16 to check.
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
#include "parser/parse_relation.h"	/* getRTEPermissionInfo */
#define SANDBOX_CHECKPERMS_ARGS List *rangeTable, List *rtePermInfos, bool ereport_on_violation
#define SANDBOX_CHECKPERMS_CALL(prev) (prev)(rangeTable, rtePermInfos, ereport_on_violation)
#define SANDBOX_RTE_CHECKASUSER(rte, rtable, perminfos) \
	((rte)->perminfoindex ? getRTEPermissionInfo((perminfos), (rte))->checkAsUser : InvalidOid)
#else
#define SANDBOX_CHECKPERMS_ARGS List *rangeTable, bool ereport_on_violation
#define SANDBOX_CHECKPERMS_CALL(prev) (prev)(rangeTable, ereport_on_violation)
#define SANDBOX_RTE_CHECKASUSER(rte, rtable, perminfos) ((rte)->checkAsUser)
#endif

/*
 * Does this range-table entry stand for a relation the query uses?  Since
 * PostgreSQL 16 the rewriter turns a view's RTE_RELATION entry into an
 * RTE_SUBQUERY that keeps relid, relkind, rellockmode and perminfoindex
 * (15 kept a separate RTE_RELATION entry for the view inside its rule), so
 * a view is seen only by also looking at subqueries with a relid.
 */
#if PG_VERSION_NUM >= 160000
#define SANDBOX_RTE_IS_RELATION(rte) \
	((rte)->rtekind == RTE_RELATION || \
	 ((rte)->rtekind == RTE_SUBQUERY && OidIsValid((rte)->relid)))
#else
#define SANDBOX_RTE_IS_RELATION(rte) ((rte)->rtekind == RTE_RELATION)
#endif

/* PostgreSQL 18 replaced PG_MODULE_MAGIC with PG_MODULE_MAGIC_EXT. */
#if PG_VERSION_NUM >= 180000
#define SANDBOX_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "sandbox", .version = "1.0")
#else
#define SANDBOX_MODULE_MAGIC PG_MODULE_MAGIC
#endif

/*
 * PostgreSQL 18 replaced pg_attribute_noreturn(), written after a
 * declaration, by pg_noreturn, written before it.  GCC and Clang take the
 * older attribute in front as well, so SANDBOX_NORETURN goes first.
 */
#if PG_VERSION_NUM >= 180000
#define SANDBOX_NORETURN pg_noreturn
#else
#define SANDBOX_NORETURN pg_attribute_noreturn()
#endif

#endif							/* SANDBOX_COMPAT_H */
