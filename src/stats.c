/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Counters of refused statements, in shared memory.
 *
 * A refused statement's transaction rolls back, so a table cannot keep
 * these counts; a fixed array in shared memory does.  One entry per
 * (database, sandbox, role, statement kind); when the array is full, new
 * combinations are added to one overflow entry per database so no
 * refusal goes uncounted.
 *
 * Locking: one LWLock of our own tranche guards the array; refusals are
 * rare and the critical section is a short linear scan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "sandbox.h"

#define STATS_ENTRIES	512
#define KIND_LEN		48

typedef struct StatsEntry
{
	Oid			dbid;			/* InvalidOid: free slot */
	Oid			roleid;
	char		sandbox[NAMEDATALEN];
	char		kind[KIND_LEN];
	int64		count;
	TimestampTz last;
} StatsEntry;

typedef struct StatsShared
{
	LWLock	   *lock;
	StatsEntry	entries[STATS_ENTRIES];
} StatsShared;

static StatsShared *stats = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PG_FUNCTION_INFO_V1(sandbox_stats);
PG_FUNCTION_INFO_V1(sandbox_stats_reset);

static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(StatsShared)));
	RequestNamedLWLockTranche("sandbox", 1);
}

static void
stats_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats = ShmemInitStruct("sandbox stats", sizeof(StatsShared), &found);
	if (!found)
	{
		memset(stats->entries, 0, sizeof(stats->entries));
		stats->lock = &(GetNamedLWLockTranche("sandbox"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
sandbox_stats_install(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
}

/* Count one refusal.  Never fails: the refusal it counts must still be raised. */
void
sandbox_stats_count(const char *sandbox, Oid roleid, const char *kind)
{
	StatsEntry *slot = NULL;
	StatsEntry *overflow = NULL;

	if (stats == NULL)
		return;

	LWLockAcquire(stats->lock, LW_EXCLUSIVE);
	for (int i = 0; i < STATS_ENTRIES; i++)
	{
		StatsEntry *e = &stats->entries[i];

		if (e->dbid == InvalidOid)
		{
			if (slot == NULL)
				slot = e;
			continue;
		}
		if (e->dbid == MyDatabaseId && e->roleid == roleid &&
			strncmp(e->kind, kind, KIND_LEN - 1) == 0 &&
			strncmp(e->sandbox, sandbox ? sandbox : "", NAMEDATALEN - 1) == 0)
		{
			slot = e;
			break;
		}
		if (e->dbid == MyDatabaseId && e->roleid == InvalidOid)
			overflow = e;
	}
	if (slot != NULL && slot->dbid == InvalidOid && overflow == NULL &&
		slot == &stats->entries[STATS_ENTRIES - 1])
		slot = NULL;			/* keep the last free slot for an overflow entry */
	if (slot != NULL && slot->dbid == InvalidOid)
	{
		slot->dbid = MyDatabaseId;
		slot->roleid = roleid;
		strlcpy(slot->sandbox, sandbox ? sandbox : "", NAMEDATALEN);
		strlcpy(slot->kind, kind, KIND_LEN);
		slot->count = 0;
	}
	else if (slot == NULL)
	{
		slot = overflow;
		if (slot == NULL)
		{
			slot = &stats->entries[STATS_ENTRIES - 1];
			slot->dbid = MyDatabaseId;
			slot->roleid = InvalidOid;
			strlcpy(slot->sandbox, "", NAMEDATALEN);
			strlcpy(slot->kind, "other", KIND_LEN);
			slot->count = 0;
		}
	}
	slot->count++;
	slot->last = GetCurrentTimestamp();
	LWLockRelease(stats->lock);
}

/*
 * sandbox_stats(): refusals in this database since the last reset, by
 * sandbox, role and statement kind.
 */
Datum
sandbox_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sandbox statistics are not available"),
				 errdetail("The sandbox library is not in shared_preload_libraries."),
				 errhint("Add sandbox to shared_preload_libraries and restart the server.")));

	LWLockAcquire(stats->lock, LW_SHARED);
	for (int i = 0; i < STATS_ENTRIES; i++)
	{
		StatsEntry *e = &stats->entries[i];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		char	   *role;

		if (e->dbid != MyDatabaseId)
			continue;
		role = OidIsValid(e->roleid) ? GetUserNameFromId(e->roleid, true) : NULL;
		if (e->sandbox[0] != '\0')
			values[0] = CStringGetTextDatum(e->sandbox);
		else
			nulls[0] = true;
		if (role != NULL)
			values[1] = CStringGetDatum(role);
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(e->kind);
		values[3] = Int64GetDatum(e->count);
		values[4] = TimestampTzGetDatum(e->last);
		if (role != NULL)
		{
			NameData	n;

			namestrcpy(&n, role);
			values[1] = NameGetDatum(&n);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		else
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(stats->lock);
	return (Datum) 0;
}

/* sandbox_stats_reset(): forget this database's counters. */
Datum
sandbox_stats_reset(PG_FUNCTION_ARGS)
{
	if (sandbox_session_restricted())
		sandbox_refuse("function call", "Ask a database administrator to reset the counters.",
					   "reset the refusal counters");
	if (stats == NULL)
		PG_RETURN_VOID();
	LWLockAcquire(stats->lock, LW_EXCLUSIVE);
	for (int i = 0; i < STATS_ENTRIES; i++)
	{
		if (stats->entries[i].dbid == MyDatabaseId)
			memset(&stats->entries[i], 0, sizeof(StatsEntry));
	}
	LWLockRelease(stats->lock);
	PG_RETURN_VOID();
}
