#!/usr/bin/python3
"""bench/cgparse.py -- per-statement costs from two callgrind profiles.

    cgparse.py [--object sandbox.so] [--top K] N MORE.out LESS.out

MORE.out and LESS.out are `valgrind --tool=callgrind` profiles of the same
backend that differ by N units of work (statements, transactions): two runs
whose inputs differ by N statements, or, as bench/guard.sh does, two parts
of one run cut with --dump-before at marker statements.  Every count below
is (MORE - LESS) / N, so whatever both contain cancels and what is left is
the steady-state cost of one unit.

Prints, on stdout:

    IR_PER_STMT <Ir>                   all instructions of the process
    CATALOG_PER_STMT <calls>           catalog lookups anywhere in the
                                       process: calls of SearchCatCache*,
                                       SearchCatCacheList and
                                       systable_beginscan
    OBJ_SELF_PER_STMT <Ir>             instructions executed inside OBJECT
    OBJ_HASH_PROBES_PER_STMT <calls>   hash_search* calls made by OBJECT
    OBJ_CATALOG_PER_STMT <calls>       calls made by OBJECT of functions
                                       that read catalogs or caches
                                       (syscache, lsyscache get_*, relation
                                       open, scans)
and then two human-readable tables: OBJECT's functions (calls, self Ir
and Ir with callees per statement, leaving out the standard_* functions a
hook passes the statement on to; a function that recursion nests in itself
shows up again with callgrind's 'N suffix) and the functions outside OBJECT
they call.
"""

import re
import sys
from collections import defaultdict

CATALOG_ANYWHERE = re.compile(r"^(SearchCatCache[0-9]?|SearchCatCacheList|systable_beginscan)$")
CATALOG_FROM_OBJ = re.compile(
    r"^(SearchSysCache.*|SearchCatCache.*|SysCacheGetAttr|systable_.*|table_open|"
    r"relation_open|try_relation_open|table_openrv.*|RangeVarGetRelid.*|"
    r"get_[a-z_]+|getExtensionOfObject|get_extension_oid|heap_getnext|"
    r"index_getnext.*|RelationIdGetRelation)$")
HASH_PROBE = re.compile(r"^hash_search(_with_hash_value)?$")
PASS_THROUGH = re.compile(r"^standard_")


def parse(path):
    """Return (total Ir, self[(ob, fn)], calls[(ob, fn)][(cob, cfn)] -> [count, incl])."""
    names = {"ob": {}, "fn": {}, "fl": {}}
    selfcost = defaultdict(int)
    calls = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    total = 0
    ob = fn = None
    cob = cfn = None
    pending = None          # call count of the calls= line whose cost line comes next

    def name(kind, text):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), "?" + m.group(1))

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                fields = line.split()
                cost = int(fields[1]) if len(fields) > 1 else 0
                if pending is not None:
                    entry = calls[(ob, fn)][(cob or ob, cfn)]
                    entry[0] += pending
                    entry[1] += cost
                    pending = None
                    cob = cfn = None
                else:
                    selfcost[(ob, fn)] += cost
                continue
            key, _, val = line.partition("=")
            if key == "ob":
                ob = name("ob", val)
            elif key == "fn":
                fn = name("fn", val)
            elif key == "cob":
                cob = name("ob", val)
            elif key == "cfn":
                cfn = name("fn", val)
            elif key in ("fl", "fi", "fe", "cfi", "cfl"):
                name("fl", val)
            elif key == "calls":
                pending = int(val.split()[0])
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split()[1]))
    return total, selfcost, calls


def main(argv):
    obj = "sandbox.so"
    top = 15
    while argv and argv[0].startswith("--"):
        if argv[0] == "--object":
            obj = argv[1]
            argv = argv[2:]
        elif argv[0] == "--top":
            top = int(argv[1])
            argv = argv[2:]
        else:
            sys.exit("cgparse: unknown option " + argv[0])
    if len(argv) != 3:
        sys.exit(__doc__)
    n = float(argv[0])
    long_, short = parse(argv[1]), parse(argv[2])

    def in_obj(ob):
        return ob is not None and ob.endswith("/" + obj)

    def stats(p):
        total, selfcost, calls = p
        catalog = 0
        fself = defaultdict(int)            # fn in OBJECT -> self Ir
        fguard = defaultdict(int)           # fn in OBJECT -> self + callees (no pass-through)
        fcalls = defaultdict(int)           # fn in OBJECT -> times called
        ext = defaultdict(lambda: [0, 0])   # outside callee -> [calls, incl Ir]
        hashp = cat_obj = 0
        for (ob, fn), c in selfcost.items():
            if in_obj(ob):
                fself[fn] += c
                fguard[fn] += c
        for (ob, fn), targets in calls.items():
            for (cob, cfn), (cnt, incl) in targets.items():
                if cfn and CATALOG_ANYWHERE.match(cfn):
                    catalog += cnt
                if in_obj(cob):
                    fcalls[cfn] += cnt
                if in_obj(ob) and not PASS_THROUGH.match(cfn or ""):
                    fguard[fn] += incl
                if in_obj(ob) and not in_obj(cob):
                    if PASS_THROUGH.match(cfn or ""):
                        continue
                    ext[cfn][0] += cnt
                    ext[cfn][1] += incl
                    if HASH_PROBE.match(cfn or ""):
                        hashp += cnt
                    if CATALOG_FROM_OBJ.match(cfn or ""):
                        cat_obj += cnt
        return dict(total=total, catalog=catalog, fself=fself, fguard=fguard,
                    fcalls=fcalls, ext=ext, hash=hashp, cat_obj=cat_obj)

    a, b = stats(long_), stats(short)

    def d(x, y):
        return (x - y) / n

    print("IR_PER_STMT %.1f" % d(a["total"], b["total"]))
    print("CATALOG_PER_STMT %.3f" % d(a["catalog"], b["catalog"]))
    print("OBJ_SELF_PER_STMT %.1f" % d(sum(a["fself"].values()), sum(b["fself"].values())))
    print("OBJ_HASH_PROBES_PER_STMT %.3f" % d(a["hash"], b["hash"]))
    print("OBJ_CATALOG_PER_STMT %.3f" % d(a["cat_obj"], b["cat_obj"]))

    fns = set(a["fself"]) | set(a["fcalls"])
    rows = []
    for fn in fns:
        calls_ = d(a["fcalls"].get(fn, 0), b["fcalls"].get(fn, 0))
        self_ = d(a["fself"].get(fn, 0), b["fself"].get(fn, 0))
        guard_ = d(a["fguard"].get(fn, 0), b["fguard"].get(fn, 0))
        if abs(calls_) < 0.0005 and abs(self_) < 0.05:
            continue
        rows.append((guard_, fn, calls_, self_))
    rows.sort(reverse=True)
    print()
    print("  %s functions, per statement (steady state):" % obj)
    print("    %-34s %9s %10s %12s" % ("function", "calls", "self Ir", "Ir w/ callees"))
    if not rows:
        print("    (none ran)")
    for guard_, fn, calls_, self_ in rows[:top]:
        print("    %-34s %9.3f %10.1f %12.1f" % (fn, calls_, self_, guard_))
    ext_rows = []
    for cfn in set(a["ext"]):
        cnt = d(a["ext"][cfn][0], b["ext"].get(cfn, [0, 0])[0])
        incl = d(a["ext"][cfn][1], b["ext"].get(cfn, [0, 0])[1])
        if abs(cnt) < 0.0005:
            continue
        flag = ""
        if HASH_PROBE.match(cfn):
            flag = "hash probe"
        elif CATALOG_FROM_OBJ.match(cfn):
            flag = "CATALOG/CACHE"
        ext_rows.append((incl, cfn, cnt, flag))
    ext_rows.sort(reverse=True)
    print("  called by %s outside it (standard_* pass-through excluded):" % obj)
    print("    %-34s %9s %12s  %s" % ("function", "calls", "Ir w/ callees", ""))
    if not ext_rows:
        print("    (none)")
    for incl, cfn, cnt, flag in ext_rows[:top]:
        print("    %-34s %9.3f %12.1f  %s" % (cfn, cnt, incl, flag))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
