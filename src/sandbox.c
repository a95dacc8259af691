/*-------------------------------------------------------------------------
 *
 * sandbox.c
 *	  Module entry point: settings, hook installation, and the two small
 *	  SQL-callable functions the install script needs from C.
 *
 * State: the GUC variables below, and whether the library was loaded by
 * shared_preload_libraries (only then is the guard active in every backend,
 * and only then will sandbox_create make a sandbox).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "sandbox.h"

SANDBOX_MODULE_MAGIC;

bool		sandbox_preloaded = false;
bool		sandbox_allow_temp_objects = true;
char	   *sandbox_trusted_functions = NULL;
char	   *sandbox_trusted_servers = NULL;
char	   *sandbox_approval_policy = NULL;
int			sandbox_required_approvals = 1;
int			sandbox_reap_interval = 60;
char	   *sandbox_databases = NULL;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(sandbox_guard_active);
PG_FUNCTION_INFO_V1(sandbox_state_changed);
PG_FUNCTION_INFO_V1(sandbox_current_xid);

/*
 * A restricted session may not change the settings that govern the guard,
 * even when a DBA has granted SET on them (GRANT SET ON PARAMETER) or when
 * it calls set_config().  Values from the configuration file, ALTER ROLE
 * and ALTER DATABASE, and a parallel worker's copy of its leader's, pass.
 */
static bool
setting_change_allowed(GucSource source)
{
	if (source < PGC_S_INTERACTIVE || !IsUnderPostmaster || IsParallelWorker() ||
		!IsNormalProcessingMode() || !IsTransactionState() ||
		!sandbox_session_restricted())
		return true;
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("permission denied to change a sandbox setting");
	GUC_check_errdetail("Sandbox agents cannot change the settings that govern the guard.");
	GUC_check_errhint("Ask a database administrator.");
	return false;
}

static bool
check_bool_setting(bool *newval, void **extra, GucSource source)
{
	return setting_change_allowed(source);
}

static bool
check_int_setting(int *newval, void **extra, GucSource source)
{
	return setting_change_allowed(source);
}

static bool
check_string_setting(char **newval, void **extra, GucSource source)
{
	return setting_change_allowed(source);
}

static void
define_settings(void)
{
	DefineCustomBoolVariable("sandbox.allow_temp_objects",
							 "Lets agents create temporary objects.",
							 "Temporary objects live in the session's own temporary schema and vanish with it.",
							 &sandbox_allow_temp_objects,
							 true,
							 PGC_SUSET,
							 0,
							 check_bool_setting, NULL, NULL);

	DefineCustomStringVariable("sandbox.trusted_functions",
							   "SECURITY DEFINER and egress functions agents may call.",
							   "A comma-separated list of function signatures, such as 'ops.load_batch(integer), dblink_connect(text)'.",
							   &sandbox_trusted_functions,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_string_setting, NULL, NULL);

	DefineCustomStringVariable("sandbox.trusted_servers",
							   "Foreign servers whose foreign tables agents may read.",
							   "A comma-separated list of foreign server names.",
							   &sandbox_trusted_servers,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_string_setting, NULL, NULL);

	DefineCustomStringVariable("sandbox.approval_policy",
							   "Function that decides whether sandbox_approve() may approve a promotion.",
							   "Empty means the extension's own policy.",
							   &sandbox_approval_policy,
							   "",
							   PGC_SUSET,
							   0,
							   check_string_setting, NULL, NULL);

	DefineCustomIntVariable("sandbox.required_approvals",
							"Number of distinct approvers a promotion needs.",
							NULL,
							&sandbox_required_approvals,
							1, 1, 100,
							PGC_SUSET,
							0,
							check_int_setting, NULL, NULL);

	DefineCustomIntVariable("sandbox.reap_interval",
							"Time between two runs of the background reaper.",
							"Zero turns the reaper off.",
							&sandbox_reap_interval,
							60, 0, 86400 * 7,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("sandbox.databases",
							   "Databases the background reaper visits.",
							   "A comma-separated list of database names.",
							   &sandbox_databases,
							   "",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("sandbox");
}

void
_PG_init(void)
{
	sandbox_preloaded = process_shared_preload_libraries_in_progress;

	define_settings();
	sandbox_cache_init();

	if (sandbox_preloaded)
	{
		sandbox_stats_install();
		sandbox_worker_register();
	}

	/* hooks last, once everything they rely on is in place */
	sandbox_guard_install();
	sandbox_objects_install();
	sandbox_utility_install();
	sandbox_functions_install();
}

/*
 * sandbox.guard_active() returns whether this backend runs the guard
 * because the server preloads the library.  sandbox_create refuses to make
 * a sandbox otherwise: a guard loaded on demand protects only the sessions
 * that happen to have loaded it.
 */
Datum
sandbox_guard_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sandbox_preloaded);
}

/*
 * Statement trigger on sandbox.sandboxes: tell every backend, at commit,
 * that agent and scratch-schema facts changed.
 */
Datum
sandbox_state_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "sandbox_state_changed: not called by trigger manager");

	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	sandbox_cache_invalidate();

	return PointerGetDatum(NULL);
}

/*
 * sandbox.current_xid() returns the transaction ID that the rows written
 * so far by the current (sub)transaction carry in xmin, or NULL when it
 * has written nothing.  txid_current() names the top-level transaction,
 * which is not what xmin holds inside a savepoint or an exception block.
 */
Datum
sandbox_current_xid(PG_FUNCTION_ARGS)
{
	TransactionId xid = GetCurrentTransactionIdIfAny();

	if (!TransactionIdIsValid(xid))
		PG_RETURN_NULL();
	PG_RETURN_TRANSACTIONID(xid);
}
