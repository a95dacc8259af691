/*-------------------------------------------------------------------------
 *
 * sandbox.h
 *	  What each file of the sandbox extension exports, grouped by file.
 *
 * The guard's vocabulary: a role is an *agent* when it is the agent of a
 * sandbox in the current database; a session is *restricted* when its
 * session user or its current user is an agent; a restricted session may
 * change only objects in its *scratch* schemas (the scratch schemas of its
 * session user and current user) and, when sandbox.allow_temp_objects is
 * on, in its own temporary schema.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include "postgres.h"

#include "compat.h"
#include "fmgr.h"
#include "nodes/nodes.h"
#include "nodes/pg_list.h"

/* sandbox.c: module entry point and settings */
extern bool sandbox_preloaded;
extern bool sandbox_allow_temp_objects;
extern char *sandbox_trusted_functions;
extern char *sandbox_trusted_servers;
extern char *sandbox_approval_policy;
extern int	sandbox_required_approvals;
extern int	sandbox_reap_interval;
extern char *sandbox_databases;

/* cache.c: per-backend facts about agents and scratch schemas */
extern void sandbox_cache_init(void);
extern bool sandbox_cache_has_agents(void);
extern bool sandbox_is_agent(Oid roleid);
extern bool sandbox_session_restricted(void);
extern Oid	sandbox_restricted_role(void);
extern bool sandbox_namespace_writable(Oid nspid);
extern bool sandbox_namespace_writable_by(Oid nspid, Oid roleid);
extern Oid	sandbox_scratch_agent(Oid nspid);
extern bool sandbox_is_own_scratch_name(const char *nspname);
extern char *sandbox_scratch_list(Oid roleid);
extern const char *sandbox_first_sandbox(Oid roleid);
extern Oid	sandbox_extension_oid(void);
extern void sandbox_cache_invalidate(void);

/* guard.c: executor and planner checks, and how a refusal is reported */
extern void sandbox_guard_install(void);
SANDBOX_NORETURN extern void sandbox_refuse(const char *kind, const char *hint,
											const char *fmt,...) pg_attribute_printf(3, 4);
extern char *sandbox_relation_name(Oid relid);
extern void sandbox_check_relation_write(Oid relid, const char *kind, const char *verb);
extern void sandbox_check_sequence_calls(Node *expr);
extern void sandbox_check_stored_expression(Node *expr);

/* objects.c: object_access_hook, every catalog object created, altered or dropped */
extern void sandbox_objects_install(void);
extern const char *sandbox_relkind_label(char relkind);
extern void sandbox_check_object(Oid classId, Oid objectId, int subId,
								 const char *kind, const char *verb);

/* utility.c: the default-deny allowlist for utility statements */
extern void sandbox_utility_install(void);

/* functions.c: function calls (SECURITY DEFINER, egress, agent-authored code) */
extern void sandbox_functions_install(void);
extern int	sandbox_trusted_depth;
extern void sandbox_check_function_execute(Oid funcid);
extern bool sandbox_function_denied(Oid funcid);

/* stats.c: refusal counters in shared memory */
extern void sandbox_stats_install(void);
extern void sandbox_stats_count(const char *sandbox, Oid roleid, const char *kind);

/* worker.c: the background reaper */
extern void sandbox_worker_register(void);
PGDLLEXPORT void sandbox_reaper_main(Datum arg);
PGDLLEXPORT void sandbox_reap_db_main(Datum arg);

#endif							/* SANDBOX_H */
