#!/usr/bin/env python3
"""Checks that voc's ClickHouse schema (schemas/clickhouse/*.sql, rendered as `voc migrate`
renders it for a current server: LowCardinality and TTL on) runs on a current ClickHouse engine
(chdb, the ClickHouse engine in-process), and that the aggregates are exact there too: the same rows
inserted three times count once, and `topic_volume_hourly` equals `interactions FINAL`. Every
dashboard panel runs, and answers the same with the settings of the dashboards' read-only profile
(deploy/clickhouse/users.d/voc-users.xml) as without them.

Usage: python3 scripts/check_sql_current.py   (needs `pip install chdb-core`)
"""
import glob
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET

from chdb import session


def reader_settings(here: str) -> dict:
    """The query settings of the read-only profile Grafana uses (not the access limits)."""
    path = os.path.join(here, "..", "deploy", "clickhouse", "users.d", "voc-users.xml")
    profile = ET.parse(path).getroot().find("profiles/voc_readonly")
    skip = {"readonly", "max_execution_time", "constraints"}
    return {e.tag: e.text.strip() for e in profile if e.tag not in skip}


def render(sql: str, db: str) -> list[str]:
    # Mirrors voc_store::migrate::render for a current server with 30-day retention.
    lines = [l for l in sql.splitlines() if not l.lstrip().startswith("--")]
    text = "\n".join(lines)
    text = (text.replace("${DB}", f"`{db}`")
                .replace("${LC_STRING}", "LowCardinality(String)")
                .replace("${TTL_OCCURRED_AT}", "TTL occurred_at + INTERVAL 30 DAY")
                .replace("${TTL_HOUR}", "TTL hour + INTERVAL 30 DAY")
                .replace("${TTL_MONTH_END}", "TTL month + INTERVAL 1 MONTH + INTERVAL 30 DAY")
                .replace("${TTL_DAY_END}", "TTL date + INTERVAL 1 DAY + INTERVAL 30 DAY")
                .replace("${TTL_LAST_SEEN}", "TTL last_seen + INTERVAL 30 DAY"))
    assert "${" not in text, text
    return [s.strip() for s in text.split(";") if s.strip()]


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    files = sorted(glob.glob(os.path.join(here, "..", "schemas", "clickhouse", "*.sql")))
    s = session.Session(tempfile.mkdtemp(prefix="voc-chdb-"))
    version = s.query("SELECT version()", "TSV").data().strip()
    db = "voc_check"
    s.query(f"CREATE DATABASE IF NOT EXISTS {db}")
    for f in files:
        for stmt in render(open(f, encoding="utf-8").read(), db):
            s.query(stmt)
    row = ("('a', now() - 60, now(), 'phone', 'p', '', '', '', ['billing','product'], 'complaint', 'billing', 'negative', "
           "-0.5, 2, 0, ['請求'], '[]', 'x', 0, 0, 2, NULL, NULL, 0, NULL, NULL, 'r', 1), "
           "('b', now() - 60, now(), 'chat', 'p', '', '', '', [], 'question', NULL, 'neutral', 0, 0, 0, [], '[]', 'y', 0, 0, "
           "NULL, NULL, NULL, NULL, NULL, NULL, 'r', 1)")
    for _ in range(3):
        s.query(f"INSERT INTO {db}.interactions VALUES {row}")
    view = s.query(f"SELECT topic, interactions, negative FROM {db}.topic_volume_hourly ORDER BY topic", "TSV").data()
    final = s.query(
        f"SELECT topic, count(), countIf(sentiment = 'negative') FROM {db}.interactions FINAL "
        f"ARRAY JOIN if(empty(topics), ['(none)'], CAST(topics AS Array(String))) AS topic GROUP BY topic ORDER BY topic", "TSV").data()
    exp = s.query(f"SELECT topic, interactions FROM {db}.topic_experience_daily ORDER BY topic", "TSV").data()
    kw = s.query(f"SELECT keyword, interactions FROM {db}.keyword_hourly", "TSV").data()
    kw_topic = s.query(f"SELECT topic, interactions FROM {db}.keyword_topic_hourly WHERE keyword = '請求' ORDER BY topic", "TSV").data()
    print(f"ClickHouse {version} (chdb): {len(files)} migrations applied")
    if view != final or "(none)\t1\t0" not in view or "billing\t1\t1" not in view or "請求\t1" not in kw or not exp.strip() \
            or kw_topic != "(any)\t1\nbilling\t1\nproduct\t1\n":
        print(f"MISMATCH\nview:\n{view}\nfinal:\n{final}\nkeywords:\n{kw}\nby topic:\n{kw_topic}\nexperience:\n{exp}")
        return 1
    # Experience by topic (0011): CSAT and resolution of 'a', and a repeat contact: the same
    # customer's second billing complaint a day after the first, each inserted twice.
    repeat = ("('r1', now() - 86460, now(), 'phone', 'p', '', 'cust', '', ['billing'], 'complaint', 'billing', 'negative', "
              "-0.5, 2, 0, [], '[]', 'x', 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 'r', 1), "
              "('r2', now() - 120, now(), 'phone', 'p', '', 'cust', '', ['billing'], 'complaint', 'billing', 'negative', "
              "-0.5, 2, 0, [], '[]', 'x', 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 'r', 1)")
    for _ in range(2):
        s.query(f"INSERT INTO {db}.interactions VALUES {repeat}")
    experience = s.query(
        f"SELECT topic, sum(interactions), sum(csat_sum), sum(csat_responses), sum(resolution_known), "
        f"sum(repeat_contacts) FROM {db}.topic_experience_hourly GROUP BY topic ORDER BY topic", "TSV").data()
    if experience != "(none)\t1\t0\t0\t0\t0\nbilling\t3\t2\t1\t1\t1\nproduct\t1\t2\t1\t1\t0\n":
        print(f"MISMATCH\nexperience by topic:\n{experience}")
        return 1
    print("aggregates exact under a triple insert; every view runs")

    # Every dashboard panel and variable, rendered as Grafana would, must run here too, and give
    # the same answer with the read-only profile's settings.
    settings = reader_settings(here)
    # Two more interactions in the next month (an earlier one would expire under the 30-day TTL),
    # three times: FINAL per month must skip that month for the panels' 8 days, and collapse it
    # apart where a query reads it all. A newer version (last column): had they the ids of the
    # first two, FINAL across months would keep these and drop those from the panels, and FINAL
    # per month would not, so the answers would differ.
    later = "toDateTime(addMonths(toStartOfMonth(now()), 1)) + 3600"
    other = (row.replace("('a', now() - 60", f"('c', {later}")
             .replace("('b', now() - 60", f"('d', {later}").replace("'r', 1)", "'r', 2)"))
    for _ in range(3):
        s.query(f"INSERT INTO {db}.interactions VALUES {other}")
    clause = " SETTINGS " + ", ".join(f"{k} = {v}" for k, v in settings.items()) if settings else ""
    checked = 0
    for path in sorted(glob.glob(os.path.join(here, "..", "dashboards", "grafana", "dashboards", "*.json"))):
        dash = json.load(open(path, encoding="utf-8"))
        queries = [v["query"] for v in dash["templating"]["list"] if v.get("type") == "query"]
        queries += [t["rawSql"] for panel in dash["panels"] for t in panel["targets"]]
        for raw in queries:
            for variables in ({"product": "All", "channel": "All", "topic": "All", "voice_type": "All"},
                              {"product": "p", "channel": "phone", "topic": "billing", "voice_type": "complaint"}):
                sql = render_panel(raw, variables, db)
                try:
                    plain = s.query(sql, "TSV").data()
                    profiled = s.query(sql + clause, "TSV").data()
                except Exception as e:  # chdb raises its own error type
                    print(f"FAILED {os.path.basename(path)}: {e}\n{sql}")
                    return 1
                if sorted(plain.splitlines()) != sorted(profiled.splitlines()):
                    print(f"DIFFERENT with {settings}: {os.path.basename(path)}\n{sql}\n{plain}\n{profiled}")
                    return 1
                checked += 1
    print(f"{checked} dashboard queries run on ClickHouse {version}, the same with {settings}")
    return 0


def render_panel(sql: str, variables: dict, db: str) -> str:
    """Expands the Grafana ClickHouse plugin's macros and ${var} variables (as tests/dashboards.rs)."""
    import time
    to = int(time.time()) + 3600
    frm = to - 8 * 86400
    day = lambda t: time.strftime("%Y-%m-%d", time.gmtime(t))
    sql = re.sub(r"\$__timeFilter\((\w+)\)", lambda m: f"{m[1]} >= toDateTime({frm}) AND {m[1]} <= toDateTime({to})", sql)
    sql = re.sub(r"\$__dateFilter\((\w+)\)", lambda m: f"{m[1]} >= toDate('{day(frm)}') AND {m[1]} <= toDate('{day(to)}')", sql)
    sql = sql.replace("$__fromTime", f"toDateTime({frm})").replace("$__toTime", f"toDateTime({to})").replace("$__interval_s", "3600")
    sql = sql.replace("${database}", db)
    for k, v in variables.items():
        sql = sql.replace("${" + k + "}", v)
    assert "$__" not in sql and "${" not in sql, sql
    return sql


if __name__ == "__main__":
    sys.exit(main())
