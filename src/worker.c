/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background reaper: drops expired sandboxes on a timer.
 *
 * When the library is preloaded, _PG_init registers one static background
 * worker, the launcher ("sandbox reaper").  Every sandbox.reap_interval it
 * starts, for each database named in sandbox.databases in turn, a dynamic
 * background worker ("sandbox reap worker") that connects to that database
 * as the bootstrap superuser, calls pg_catalog.sandbox_reap() if the
 * extension is installed there, and exits.  The launcher waits for each
 * one to finish before starting the next, so at most one reap worker runs
 * at a time and a slow database delays the others rather than piling up
 * workers.
 *
 * The launcher connects to no database: it only reads pg_database (a
 * shared catalog) to skip names that do not exist.  A reap worker that
 * fails (bad database, lock timeout, error in sandbox_reap) exits through
 * the normal background worker error path; the launcher goes on at the
 * next turn.  If the launcher itself fails or the server restarts after a
 * crash, the postmaster starts it again after REAPER_RESTART_SECONDS.
 *
 * State: the launcher keeps only the time of its last run and a flag that
 * limits complaints about unknown database names to once per
 * configuration load; everything else lives in a memory context reset at
 * every turn.  Nothing is shared between processes beyond what the
 * postmaster's background worker machinery keeps, so there is no locking
 * here; concurrent reapers (a manual sandbox_reap() and this worker) are
 * serialized by sandbox_reap's own row locks (FOR UPDATE SKIP LOCKED).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "sandbox.h"

/* how long the postmaster waits before restarting a failed launcher */
#define REAPER_RESTART_SECONDS	10

static const char *const reap_query = "SELECT pg_catalog.sandbox_reap()";

static bool database_exists(const char *dbname);
static void reap_all_databases(MemoryContext turn_cxt, bool complain);
static void reap_one_database(const char *dbname);

/*
 * Register the launcher.  Called from _PG_init only while
 * shared_preload_libraries is being processed.
 */
void
sandbox_worker_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = REAPER_RESTART_SECONDS;
	strlcpy(worker.bgw_library_name, "sandbox", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "sandbox_reaper_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "sandbox reaper", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "sandbox reaper", BGW_MAXLEN);
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;

	RegisterBackgroundWorker(&worker);
}

/*
 * The launcher's main loop.  Runs until SIGTERM or postmaster death.
 *
 * A reap runs at start-up (so sandboxes that expired while the server was
 * down go promptly) and then whenever sandbox.reap_interval has passed
 * since the previous one.  SIGHUP sets the latch, so a changed interval
 * or database list takes effect at once rather than after the old
 * interval: shortening the interval below the time already waited starts
 * a reap immediately.  With the interval at 0 the launcher sleeps until
 * the next SIGHUP.
 */
void
sandbox_reaper_main(Datum arg)
{
	MemoryContext turn_cxt;
	TimestampTz last_run = 0;
	bool		ran_once = false;
	bool		complain = true;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* shared catalogs only: enough to look names up in pg_database */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	turn_cxt = AllocSetContextCreate(TopMemoryContext,
									 "sandbox reaper turn",
									 ALLOCSET_DEFAULT_SIZES);

	ereport(DEBUG1,
			(errmsg_internal("sandbox reaper started")));

	for (;;)
	{
		long		timeout_ms = -1;
		int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			complain = true;
		}

		MemoryContextReset(turn_cxt);
		MemoryContextSwitchTo(turn_cxt);

		if (sandbox_reap_interval > 0)
		{
			TimestampTz now = GetCurrentTimestamp();
			TimestampTz next_run;

			next_run = TimestampTzPlusMilliseconds(last_run,
												   (int64) sandbox_reap_interval * 1000);
			if (!ran_once || now >= next_run)
			{
				reap_all_databases(turn_cxt, complain);
				complain = false;
				ran_once = true;
				last_run = GetCurrentTimestamp();
				next_run = TimestampTzPlusMilliseconds(last_run,
													   (int64) sandbox_reap_interval * 1000);
			}
			timeout_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														 next_run);
			events |= WL_TIMEOUT;
		}

		/*
		 * Waiting for a reap worker resets the latch, so a SIGHUP that came
		 * during the reap is noticed here rather than after a full wait.
		 */
		if (!ConfigReloadPending && !((events & WL_TIMEOUT) && timeout_ms <= 0))
			(void) WaitLatch(MyLatch, events, timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * Whether a database named dbname exists.  Must be called in a
 * transaction.
 *
 * The launcher is bound to no database, so its relcache holds only the
 * nailed shared catalogs: opening an index (which get_database_oid does)
 * would need pg_class and fails whenever the shared relcache init file is
 * missing, as it is after initdb and after crash recovery.  A heap scan of
 * pg_database needs nothing but pg_database itself.
 */
static bool
database_exists(const char *dbname)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	bool		found;

	ScanKeyInit(&key,
				Anum_pg_database_datname,
				BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(dbname));

	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	return found;
}

/*
 * One turn: start a reap worker for each database in sandbox.databases
 * that exists, one after the other.  Allocates in turn_cxt, which the
 * caller resets.  With complain set, names that are not databases are
 * logged (once per configuration load, not at every turn).
 */
static void
reap_all_databases(MemoryContext turn_cxt, bool complain)
{
	char	   *rawlist;
	List	   *names;
	List	   *existing = NIL;
	ListCell   *lc;

	if (sandbox_databases == NULL || sandbox_databases[0] == '\0')
		return;

	rawlist = pstrdup(sandbox_databases);
	if (!SplitIdentifierString(rawlist, ',', &names))
	{
		/* the GUC machinery accepted it, but be careful anyway */
		if (complain)
			ereport(LOG,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid list syntax in parameter \"%s\"",
							"sandbox.databases")));
		return;
	}

	StartTransactionCommand();
	foreach(lc, names)
	{
		char	   *dbname = (char *) lfirst(lc);

		if (database_exists(dbname))
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(turn_cxt);

			existing = lappend(existing, dbname);
			MemoryContextSwitchTo(oldcxt);
		}
		else if (complain)
			ereport(LOG,
					(errcode(ERRCODE_UNDEFINED_DATABASE),
					 errmsg("database \"%s\" listed in \"%s\" does not exist",
							dbname, "sandbox.databases")));
	}
	CommitTransactionCommand();
	MemoryContextSwitchTo(turn_cxt);

	foreach(lc, existing)
	{
		reap_one_database((const char *) lfirst(lc));
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Start a reap worker for dbname and wait until it has exited.  Failing to
 * start one (no free worker slot) is logged and skipped; the next turn
 * tries again.
 */
static void
reap_one_database(const char *dbname)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "sandbox", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "sandbox_reap_db_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "sandbox reap worker for database %s",
			 dbname);
	strlcpy(worker.bgw_type, "sandbox reap worker", BGW_MAXLEN);
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = MyProcPid;
	StaticAssertStmt(NAMEDATALEN <= BGW_EXTRALEN,
					 "database name does not fit in bgw_extra");
	strlcpy(worker.bgw_extra, dbname, NAMEDATALEN);

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(LOG,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a reap worker for database \"%s\"",
						dbname),
				 errhint("Raise max_worker_processes; the reaper will try again at its next run.")));
		return;
	}

	status = WaitForBackgroundWorkerShutdown(handle);
	if (status == BGWH_POSTMASTER_DIED)
		proc_exit(1);
	pfree(handle);
}

/*
 * A reap worker: call sandbox_reap() once in the database named in
 * bgw_extra, as the bootstrap superuser, and exit.  A database without the
 * extension is left alone.  Errors end the worker through the usual
 * background worker path (the transaction is aborted by proc_exit).
 */
void
sandbox_reap_db_main(Datum arg)
{
	char		dbname[NAMEDATALEN];
	int			reaped = 0;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, reap_query);

	if (OidIsValid(get_extension_oid("sandbox", true)))
	{
		bool		isnull;
		Datum		result;

		if (SPI_execute(reap_query, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "unexpected result from %s", reap_query);

		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
							   1, &isnull);
		if (!isnull)
			reaped = DatumGetInt32(result);
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);

	if (reaped > 0)
		ereport(LOG,
				(errmsg("reaped %d expired sandbox(es) in database \"%s\"",
						reaped, dbname)));
	else
		ereport(DEBUG1,
				(errmsg_internal("no expired sandboxes in database \"%s\"",
								 dbname)));

	proc_exit(0);
}
