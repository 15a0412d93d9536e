#!/usr/bin/env python3
"""Runs a `voc bench scale --plan FILE` plan on a current ClickHouse engine (chdb, in-process):
the schema as `voc migrate` renders it for a current server, the same server-side fill, then every
dashboard panel per range over the rounds, with id sets for every day; then the days before the open
ones closed into counts (the statements `voc_store::closing` runs), and every panel again. Prints the
same side-by-side table as `voc bench scale` (p50/p95 in ms, rows, whether the answer is the same)
and rows and bytes per table per million interactions, both ways; the last line is JSON. Exits 1
when a panel answers differently after closing.

The plan's `settings` (those voc's clients and the dashboards' read-only profile use on a current
server) apply to every statement.

With --existing DIR, the database a --closed-only run left in DIR (filled and closed) is measured
again, as it is: after a change of settings or queries, without filling 30 M rows again.

With --existing DIR --upgrade, that database, made before migration 0013, is first brought up to
date as `voc migrate` and the next close would (the plan's `upgrade_from_12`: the migrations, the
days' keyword roll-ups, the months rolled up again), timed; the plan must have the same end
(`voc bench scale --end`). With --upgrade 13, a database made before migration 0014 is brought up
to date (`upgrade_from_13`: the migration, which copies the open days); with --upgrade 14, one made
before migration 0015 (`upgrade_from_14`: the experience views split); with --upgrade 15, one made
before migration 0016 (`upgrade_from_15`: the migration and the closed days' CSAT roll-ups).

With --existing DIR --compact, that database is measured as it is, then with its past months of
`interactions` merged into one part each (the plan's `compact`, as `voc aggregates close` does
once they are quiet), side by side: the columns `ids` are before the merge, `cls` after, and `same`
compares the answers. With --upgrade as well, the upgrade is applied first.

With --closed-only, only the closed days are measured (at 30 M the id sets for every day take
minutes per query, and they are the design the closed days replaced); no answers are compared.

Usage: target/release/voc bench scale --interactions 3000000 --plan /tmp/plan.json
       target/pyenv/bin/python scripts/bench_scale_current.py /tmp/plan.json [--closed-only]
(needs `pip install chdb-core`; scripts/test.sh creates target/pyenv with it)
"""
import argparse
import json
import math
import sys
import tempfile
import time

from chdb import session


def percentile(values, p):
    v = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(v)))
    return v[rank - 1]


def measure(s, plan):
    """Every query over the rounds: durations in ms and the last answer's text."""
    timings = {}
    for _ in range(plan["rounds"]):
        for q in plan["queries"]:
            t0 = time.monotonic()
            out = s.query(q["sql"], "TSV").data()
            entry = timings.setdefault((q["name"], q["range"]), {"runs": [], "answer": "", "rows": 0})
            entry["runs"].append((time.monotonic() - t0) * 1000)
            # Sorted rows: a time series orders by time only; rows of one time come in any order.
            entry["answer"] = "\n".join(sorted(out.splitlines()))
            entry["rows"] = out.count("\n")
    return timings


def sizes(s, db):
    rows = s.query(
        f"SELECT table, sum(bytes_on_disk), sum(rows) FROM system.parts WHERE database = '{db}' AND active "
        "GROUP BY table", "TSV").data().strip().splitlines()
    return {t: (int(b), int(r)) for t, b, r in (line.split("\t") for line in rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description="Runs a `voc bench scale --plan` plan on chdb.")
    parser.add_argument("plan")
    parser.add_argument("--closed-only", action="store_true")
    parser.add_argument("--keep", metavar="DIR", help="leave the database in DIR (for --existing)")
    parser.add_argument("--existing", metavar="DIR", help="measure the database a --keep run left")
    parser.add_argument("--upgrade", nargs="?", type=int, const=12, choices=[12, 13, 14, 15],
                        help="with --existing: apply the plan's upgrade_from_12 (or _13, _14, _15) first")
    parser.add_argument("--compact", action="store_true",
                        help="with --existing: measure before and after merging the past months")
    args = parser.parse_args()
    plan = json.load(open(args.plan, encoding="utf-8"))
    if args.existing:
        if args.compact:
            return run(plan, args.existing, existing=True, closed_only=False, upgrade=args.upgrade,
                       compact=True)
        return run(plan, args.existing, existing=True, closed_only=True, upgrade=args.upgrade)
    if args.keep:
        return run(plan, args.keep, existing=False, closed_only=args.closed_only)
    # The database holds gigabytes at 30 M interactions: removed when the run ends.
    with tempfile.TemporaryDirectory(prefix="voc-scale-chdb-") as data:
        return run(plan, data, existing=False, closed_only=args.closed_only)


def run(plan: dict, data: str, existing: bool, closed_only: bool, upgrade: int | None = None,
        compact: bool = False) -> int:
    db = plan["database"]
    s = session.Session(data)
    for name, value in plan.get("settings", {}).items():
        s.query(f"SET {name} = {value}")
    version = s.query("SELECT version()", "TSV").data().strip()
    started = time.monotonic()
    if not existing:
        s.query(f"DROP DATABASE IF EXISTS `{db}`")
        s.query(f"CREATE DATABASE `{db}`")
        for stmt in plan["schema"]:
            s.query(stmt)
        for stmt in plan["fill"]:
            s.query(stmt)
    # The flagger's queries name tables as its client does, in the database it connects to.
    s.query(f"USE `{db}`")
    fill_s = time.monotonic() - started
    print(f"filled in {fill_s:.0f} s", file=sys.stderr, flush=True)
    if compact and upgrade:
        for stmt in plan[f"upgrade_from_{upgrade}"]:
            s.query(stmt)
    before = {} if closed_only else measure(s, plan)
    sizes_before = sizes(s, db)
    started = time.monotonic()
    if compact:
        statements = plan["compact"]
    elif upgrade:
        statements = plan[f"upgrade_from_{upgrade}"]
    elif existing:
        statements = []
    else:
        statements = plan["close"]
    for stmt in statements:
        s.query(stmt)
    close_s = time.monotonic() - started
    done = "merged" if compact else "upgraded" if upgrade else "closed"
    print(f"{done} in {close_s:.0f} s", file=sys.stderr, flush=True)
    after = measure(s, plan)
    if closed_only:
        before = after
    sizes_after = sizes(s, db)
    n = plan["interactions"]
    print(f"voc bench scale (plan) : {n} interactions over 365 days on ClickHouse {version} (chdb), "
          f"filled in {fill_s:.0f} s; {plan['rounds']} round(s); {'past months merged' if compact else 'closed'} in {close_s:.1f} s"
          f"{' (an existing database)' if existing else ''}{f', upgraded from migration {upgrade}' if upgrade else ''}; settings {plan.get('settings', {})}\n")
    print(f"{'query':<92} {'range':>6} {'ids p50':>9} {'ids p95':>9} {'cls p50':>9} {'cls p95':>9} {'rows':>8} {'same':>5}")
    order = ["24h", "7d", "90d", "365d", "all"]
    worst = {"id_sets": {}, "closed": {}}
    differ = []
    for (name, rng), b in sorted(before.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
        a = after[(name, rng)]
        for key, t in (("id_sets", b), ("closed", a)):
            worst[key][rng] = max(worst[key].get(rng, 0.0), percentile(t["runs"], 95))
        same = a["answer"] == b["answer"]
        if not same:
            differ.append(f"{name} ({rng})")
        ids = ("-", "-") if closed_only else (f"{percentile(b['runs'], 50):.1f}", f"{percentile(b['runs'], 95):.1f}")
        print(f"{name:<92} {rng:>6} {ids[0]:>9} {ids[1]:>9} "
              f"{percentile(a['runs'], 50):>9.1f} {percentile(a['runs'], 95):>9.1f} {a['rows']:>8} "
              f"{'-' if closed_only else '=' if same else 'DIFF':>5}")
    millions = max(n / 1e6, 1e-6)
    print(f"\n{'table':<40} {'rows: id sets':>14} {'MB/M: id sets':>14} {'rows: closed':>14} {'MB/M: closed':>14}")
    per_million = {"id_sets": {}, "closed": {}}
    for table in sorted(set(sizes_before) | set(sizes_after)):
        cells = []
        for key, sz in (("id_sets", sizes_before), ("closed", sizes_after)):
            b, r = sz.get(table, (0, 0))
            per_million[key][table] = round(b / 1e6 / millions, 1)
            cells.append(f"{r:>14} {per_million[key][table]:>14.1f}")
        print(f"{table:<40} {' '.join(cells)}")
    if closed_only:
        worst.pop("id_sets")
        per_million.pop("id_sets")
    print(json.dumps({"interactions": n, "server": version, "engine": "chdb", "fill_s": round(fill_s, 1),
                      "close_s": round(close_s, 1), "worst_p95_ms": worst, "answers_compared": not closed_only, "answers_differ": differ,
                      "mb_per_million": per_million}))
    s.close()
    if differ:
        print(f"{len(differ)} dashboard answers differ between the id sets and the closed counts", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
