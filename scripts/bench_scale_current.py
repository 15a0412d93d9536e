#!/usr/bin/env python3
"""Runs a `voc bench scale --plan FILE` plan on a current ClickHouse engine (chdb, in-process):
the schema as `voc migrate` renders it for a current server, the same server-side fill, then every
dashboard panel per range over the rounds. Prints the same table as `voc bench scale` (p50/p95 in
ms, rows) and bytes per table per million interactions; the last line is JSON.

Usage: target/release/voc bench scale --interactions 3000000 --plan /tmp/plan.json
       target/pyenv/bin/python scripts/bench_scale_current.py /tmp/plan.json
(needs `pip install chdb-core`; scripts/test.sh creates target/pyenv with it)
"""
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


def main() -> int:
    plan = json.load(open(sys.argv[1], encoding="utf-8"))
    db = plan["database"]
    s = session.Session(tempfile.mkdtemp(prefix="voc-scale-chdb-"))
    version = s.query("SELECT version()", "TSV").data().strip()
    s.query(f"DROP DATABASE IF EXISTS `{db}`")
    s.query(f"CREATE DATABASE `{db}`")
    for stmt in plan["schema"]:
        s.query(stmt)
    started = time.monotonic()
    for stmt in plan["fill"]:
        s.query(stmt)
    fill_s = time.monotonic() - started
    timings = {}
    for _ in range(plan["rounds"]):
        for q in plan["queries"]:
            t0 = time.monotonic()
            out = s.query(q["sql"], "TSV").data()
            ms = (time.monotonic() - t0) * 1000
            entry = timings.setdefault((q["name"], q["range"]), {"runs": [], "rows": 0})
            entry["runs"].append(ms)
            entry["rows"] = out.count("\n")
    n = plan["interactions"]
    print(f"voc bench scale (plan) : {n} interactions over 365 days on ClickHouse {version} (chdb), "
          f"filled in {fill_s:.0f} s; {plan['rounds']} round(s)\n")
    print(f"{'query':<100} {'range':>6} {'p50 ms':>10} {'p95 ms':>10} {'rows':>8}")
    order = ["24h", "7d", "90d", "365d", "all"]
    worst = {}
    for (name, rng), t in sorted(timings.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
        p50, p95 = percentile(t["runs"], 50), percentile(t["runs"], 95)
        worst[rng] = max(worst.get(rng, 0.0), p95)
        print(f"{name:<100} {rng:>6} {p50:>10.1f} {p95:>10.1f} {t['rows']:>8}")
    sizes = s.query(
        f"SELECT table, sum(bytes_on_disk), sum(rows) FROM system.parts WHERE database = '{db}' AND active "
        "GROUP BY table ORDER BY 2 DESC", "TSV").data().strip().splitlines()
    millions = max(n / 1e6, 1e-6)
    print(f"\n{'table':<40} {'bytes':>14} {'rows':>14} {'MB per million':>16}")
    per_million = {}
    for line in sizes:
        table, b, r = line.split("\t")
        per_million[table] = round(int(b) / 1e6 / millions, 1)
        print(f"{table:<40} {b:>14} {r:>14} {per_million[table]:>16.1f}")
    print(json.dumps({"interactions": n, "server": version, "engine": "chdb", "fill_s": round(fill_s, 1),
                      "worst_p95_ms": worst, "mb_per_million": per_million}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
