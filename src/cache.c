/*-------------------------------------------------------------------------
 *
 * cache.c
 *	  Per-backend cache of agents and scratch schemas.
 *
 * State: two hash tables in SandboxCacheContext (a child of
 * TopMemoryContext): agents, keyed by role OID, holding the OIDs of the
 * agent's scratch schemas; and scratch schemas, keyed by namespace OID,
 * holding their agent.  They are rebuilt from sandbox.sandboxes on first
 * use after an invalidation.
 *
 * Invalidation: sandbox.sandboxes carries a statement trigger that sends a
 * relcache invalidation for the table at commit (sandbox_state_changed), so
 * a sandbox created in one backend restricts the agent's open sessions in
 * every other backend at their next statement.  Namespace changes and
 * whole-cache resets invalidate too.  A rebuild that is overtaken by an
 * invalidation starts over, so no invalidation is ever lost.
 *
 * Cost: when the cache is valid, deciding that a statement's roles are not
 * agents is a branch on the agent count and at most two hash probes; no
 * catalog access and no allocation.
 *
 * Fail closed: a cache that must be rebuilt outside a transaction cannot
 * be, and the caller gets an error rather than a guess.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "sandbox.h"

typedef struct AgentEntry
{
	Oid			roleid;			/* hash key */
	int			nscratch;
	Oid		   *scratch;		/* scratch schemas, in SandboxCacheContext */
	char		sandbox[NAMEDATALEN];	/* oldest sandbox, for messages */
} AgentEntry;

typedef struct ScratchEntry
{
	Oid			nspid;			/* hash key */
	Oid			agent;
} ScratchEntry;

static MemoryContext SandboxCacheContext = NULL;
static HTAB *agent_hash = NULL;
static HTAB *scratch_hash = NULL;
static bool cache_valid = false;
static uint64 inval_count = 0;
static long n_agents = 0;
static Oid	state_relid = InvalidOid;
static Oid	ext_oid = InvalidOid;

static void
relcache_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == state_relid || !OidIsValid(state_relid))
	{
		cache_valid = false;
		inval_count++;
	}
}

static void
syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	cache_valid = false;
	inval_count++;
}

void
sandbox_cache_init(void)
{
	SandboxCacheContext = AllocSetContextCreate(TopMemoryContext,
												"sandbox guard cache",
												ALLOCSET_SMALL_SIZES);
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, syscache_callback, (Datum) 0);
}

void
sandbox_cache_invalidate(void)
{
	cache_valid = false;
	inval_count++;
}

static void
add_sandbox(const char *name, Oid roleid)
{
	Oid			nspid = get_namespace_oid(name, true);
	AgentEntry *agent;
	ScratchEntry *scratch;
	bool		found;

	agent = hash_search(agent_hash, &roleid, HASH_ENTER, &found);
	if (!found)
	{
		agent->nscratch = 0;
		agent->scratch = NULL;
		strlcpy(agent->sandbox, name, NAMEDATALEN);
		n_agents++;
	}

	/* a scratch schema renamed or dropped behind our back gives no rights */
	if (!OidIsValid(nspid))
		return;

	if (agent->scratch == NULL)
		agent->scratch = MemoryContextAlloc(SandboxCacheContext, sizeof(Oid) * 4);
	else if ((agent->nscratch & (agent->nscratch - 1)) == 0 && agent->nscratch >= 4)
		agent->scratch = repalloc(agent->scratch, sizeof(Oid) * agent->nscratch * 2);
	agent->scratch[agent->nscratch++] = nspid;

	scratch = hash_search(scratch_hash, &nspid, HASH_ENTER, &found);
	scratch->agent = roleid;
}

static void
load_sandboxes(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	att_name = InvalidAttrNumber;
	AttrNumber	att_agent = InvalidAttrNumber;
	SysScanDesc scan;
	HeapTuple	tuple;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), "name") == 0)
			att_name = att->attnum;
		else if (strcmp(NameStr(att->attname), "agent") == 0)
			att_agent = att->attnum;
	}
	if (att_name == InvalidAttrNumber || att_agent == InvalidAttrNumber)
		elog(ERROR, "sandbox.sandboxes lacks column \"name\" or \"agent\"");

	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		name_null;
		bool		agent_null;
		Datum		name = heap_getattr(tuple, att_name, desc, &name_null);
		Datum		agent = heap_getattr(tuple, att_agent, desc, &agent_null);
		MemoryContext old;

		if (name_null || agent_null)
			continue;
		old = MemoryContextSwitchTo(SandboxCacheContext);
		add_sandbox(TextDatumGetCString(name), DatumGetObjectId(agent));
		MemoryContextSwitchTo(old);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static void
cache_rebuild(void)
{
	for (;;)
	{
		uint64		start = inval_count;
		HASHCTL		ctl;
		Oid			nspid;

		if (!IsTransactionState())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied: the sandbox guard cannot read its state outside a transaction"),
					 errhint("Run the statement inside a transaction.")));

		MemoryContextReset(SandboxCacheContext);
		agent_hash = NULL;
		scratch_hash = NULL;
		n_agents = 0;
		state_relid = InvalidOid;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(AgentEntry);
		ctl.hcxt = SandboxCacheContext;
		agent_hash = hash_create("sandbox agents", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		ctl.entrysize = sizeof(ScratchEntry);
		scratch_hash = hash_create("sandbox scratch schemas", 64, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

		ext_oid = get_extension_oid("sandbox", true);
		nspid = OidIsValid(ext_oid) ? get_namespace_oid("sandbox", true) : InvalidOid;
		if (OidIsValid(nspid))
		{
			Oid			relid = get_relname_relid("sandboxes", nspid);

			if (OidIsValid(relid))
			{
				state_relid = relid;
				load_sandboxes(relid);
			}
		}

		if (inval_count == start)
		{
			cache_valid = true;
			return;
		}
	}
}

static inline void
ensure_cache(void)
{
	if (unlikely(!cache_valid))
		cache_rebuild();
}

static inline AgentEntry *
find_agent(Oid roleid)
{
	return (AgentEntry *) hash_search(agent_hash, &roleid, HASH_FIND, NULL);
}

bool
sandbox_cache_has_agents(void)
{
	ensure_cache();
	return n_agents > 0;
}

bool
sandbox_is_agent(Oid roleid)
{
	ensure_cache();
	return n_agents > 0 && find_agent(roleid) != NULL;
}

/*
 * Is this session restricted?  True when its session user or its current
 * user is an agent, except inside an approved endpoint (the extension's
 * own SECURITY DEFINER functions and sandbox.trusted_functions), which
 * check their caller themselves.
 */
bool
sandbox_session_restricted(void)
{
	static Oid	last_user = InvalidOid;
	static Oid	last_session = InvalidOid;
	static uint64 last_inval = UINT64_MAX;
	static bool last_restricted = false;
	Oid			user;
	Oid			session;

	ensure_cache();
	if (likely(n_agents == 0) || sandbox_trusted_depth > 0)
		return false;

	/*
	 * The hooks ask several times per statement, for the same roles: the
	 * answer holds until the roles or the cache change.
	 */
	user = GetUserId();
	session = GetSessionUserId();
	if (likely(user == last_user && session == last_session && inval_count == last_inval))
		return last_restricted;

	last_restricted = find_agent(user) != NULL ||
		(session != user && find_agent(session) != NULL);
	last_user = user;
	last_session = session;
	last_inval = inval_count;
	return last_restricted;
}

/* The agent a restricted session acts for: its session user, else its current user. */
Oid
sandbox_restricted_role(void)
{
	Oid			session = GetSessionUserId();

	ensure_cache();
	return find_agent(session) != NULL ? session : GetUserId();
}

/*
 * May a restricted session change objects in this namespace?  Yes for the
 * scratch schemas of the agent it acts for (its session user when that is
 * an agent, else its current user: SET ROLE to another agent gains
 * nothing), and for its own temporary schema when
 * sandbox.allow_temp_objects is on.
 */
bool
sandbox_namespace_writable(Oid nspid)
{
	ScratchEntry *entry;

	if (!OidIsValid(nspid))
		return false;
	if (isTempOrTempToastNamespace(nspid))
		return sandbox_allow_temp_objects;

	ensure_cache();
	entry = hash_search(scratch_hash, &nspid, HASH_FIND, NULL);
	return entry != NULL && entry->agent == sandbox_restricted_role();
}

/* May the given agent change objects in this namespace (its own scratch only)? */
bool
sandbox_namespace_writable_by(Oid nspid, Oid roleid)
{
	ScratchEntry *entry;

	ensure_cache();
	entry = hash_search(scratch_hash, &nspid, HASH_FIND, NULL);
	return entry != NULL && entry->agent == roleid;
}

/* The agent whose scratch schema this is, or InvalidOid. */
Oid
sandbox_scratch_agent(Oid nspid)
{
	ScratchEntry *entry;

	ensure_cache();
	entry = hash_search(scratch_hash, &nspid, HASH_FIND, NULL);
	return entry ? entry->agent : InvalidOid;
}

/* Is this the name of one of the restricted session's own scratch schemas? */
bool
sandbox_is_own_scratch_name(const char *nspname)
{
	Oid			nspid = get_namespace_oid(nspname, true);

	return OidIsValid(nspid) && !isTempOrTempToastNamespace(nspid) &&
		sandbox_namespace_writable(nspid);
}

/* The agent's scratch schemas as a quoted, comma-separated list. */
char *
sandbox_scratch_list(Oid roleid)
{
	AgentEntry *agent;
	StringInfoData buf;

	ensure_cache();
	agent = find_agent(roleid);
	initStringInfo(&buf);
	if (agent == NULL || agent->nscratch == 0)
	{
		appendStringInfoString(&buf, "(none)");
		return buf.data;
	}
	for (int i = 0; i < agent->nscratch; i++)
	{
		char	   *name = get_namespace_name(agent->scratch[i]);

		appendStringInfo(&buf, "%s\"%s\"", i > 0 ? ", " : "", name ? name : "?");
	}
	return buf.data;
}

/* The name of the agent's oldest sandbox, or NULL. */
const char *
sandbox_first_sandbox(Oid roleid)
{
	AgentEntry *agent;

	ensure_cache();
	agent = find_agent(roleid);
	return agent ? agent->sandbox : NULL;
}

Oid
sandbox_extension_oid(void)
{
	ensure_cache();
	return ext_oid;
}
