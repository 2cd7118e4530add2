#!/usr/bin/env python3
"""The per-unit figures of the Dong'e policy, computed by DuckDB; used by benches/compare.sh.

    duckdb_figures.py --tickets DIR/2023-03/tickets.csv --policy policies/dong-e-monthly.policy
                      [--threads 2] [--check hotline.json]

Runs one DuckDB query over tickets.csv and prints `query_seconds <s>` (connect, read the CSV,
aggregate, fetch; the Python start-up and `import duckdb` are not included). It computes, per
handling unit, what these lines of the policy compute:

    view 派单 = 工单 where 办理方式 == "派单"
    metric 承办量 from 派单 by 承办单位 = count()
    metric 响应率 from 派单 by 承办单位 = share(签收时间 - 派单时间 <= 2h) default 100%
    metric 按时办理率 from 派单 by 承办单位 = share(办结时间 <= 办理时限) default 100%
    metric 解决率 from 派单 by 承办单位 =
      mean(回访解决情况 -> {已解决: 100%, 基本解决: 80%, 未解决: 0%}) default 100%
    metric 综合满意率 from 派单 by 承办单位 = mean(满意度评分) default 100%

with hotline's semantics: a `share` counts every row of the unit in its denominator (a row with
an empty timestamp is simply not a hit; note that DuckDB's count_if() of only NULLs is NULL, so
the query counts with FILTER); a `mean` skips empty values; units resolve through the `alias`
lines of the policy; cells are trimmed.

The query returns, per unit, the exact numerators and denominators (integer counts, the
DECIMAL sum of the scores) and the figures themselves, rounded half-up to 2 decimals. DuckDB's
`/` turns DECIMAL operands into DOUBLE, so the figures are computed with exact fixed-point
integer arithmetic instead: round(100 * a / b, 2) is ((a * 20000 + b) // (2 * b)) * 0.01.

With --check, the results are compared with hotline's `render --format json` output, for every
unit: the unit sets must be equal (units with 承办量 > 0 on hotline's side), 承办量 must be
equal, and each rate must agree with the exact fraction from DuckDB's numerator and denominator
to within 1e-20 and give the same 2-decimal figure as DuckDB's own rounding. Every mismatch is
printed; the exit code is 1 when there is one.
"""

import argparse
import json
import re
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

try:
    import duckdb
except ImportError:
    sys.exit("duckdb_figures.py: the duckdb package is missing (benches/compare.sh installs it)")

# The scores have one decimal in the exports; 6 leaves room and still fits an int64.
SCORE_SCALE = 6

COLUMNS = {
    "工单编号": "VARCHAR",
    "受理时间": "TIMESTAMP",
    "来源": "VARCHAR",
    "诉求类型": "VARCHAR",
    "一级分类": "VARCHAR",
    "二级分类": "VARCHAR",
    "三级分类": "VARCHAR",
    "涉及对象": "VARCHAR",
    "办理方式": "VARCHAR",
    "承办单位": "VARCHAR",
    "派单时间": "TIMESTAMP",
    "签收时间": "TIMESTAMP",
    "办理时限": "TIMESTAMP",
    "办结时间": "TIMESTAMP",
    "回访解决情况": "VARCHAR",
    "满意度评分": f"DECIMAL(18,{SCORE_SCALE})",
    "市级重办": "VARCHAR",
    "诉求内容": "VARCHAR",
}

FIGURES = ["承办量", "响应率", "按时办理率", "解决率", "综合满意率"]


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def aliases(policy_path):
    """The `alias OLD = NEW` lines of the policy's units block."""
    text = open(policy_path, encoding="utf-8").read()
    name = r'("[^"]*"|[^\s=#"]+)'
    found = re.findall(r"^\s*alias\s+" + name + r"\s*=\s*" + name, text, re.M)
    return {a.strip('"'): b.strip('"') for a, b in found}


def query(tickets, alias_map):
    columns = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in COLUMNS.items())
    unit = "trim(承办单位)"
    if alias_map:
        whens = " ".join(f"WHEN {sql_str(a)} THEN {sql_str(b)}" for a, b in alias_map.items())
        unit = f"CASE {unit} {whens} ELSE {unit} END"
    one = 10**SCORE_SCALE
    return f"""
CREATE OR REPLACE MACRO pct2(a, b) AS            -- round(100 * a / b, 2), half-up, exact
  CAST((CAST(a AS HUGEINT) * 20000 + b) // (2 * b) AS DECIMAL(18,0)) * 0.01;
WITH tickets AS (
  SELECT * FROM read_csv({sql_str(tickets)}, header = true, delim = ',', quote = '"',
                         escape = '"', auto_detect = false, columns = {{{columns}}},
                         timestampformat = '%Y-%m-%d %H:%M:%S')
),
派单 AS (
  SELECT {unit} AS unit, 派单时间, 签收时间, 办理时限, 办结时间,
         CASE trim(回访解决情况) WHEN '已解决' THEN 100 WHEN '基本解决' THEN 80
                                WHEN '未解决' THEN 0 END AS resolved,
         满意度评分 AS score
  FROM tickets
  WHERE trim(办理方式) = '派单'
),
sums AS (
  SELECT unit,
         count(*) AS n,
         count(*) FILTER (WHERE 签收时间 <= 派单时间 + INTERVAL 2 HOUR) AS responded,
         count(*) FILTER (WHERE 办结时间 <= 办理时限) AS on_time,
         CAST(sum(resolved) AS HUGEINT) AS resolved_sum,
         count(resolved) AS resolved_n,
         sum(score) AS score_sum,
         count(score) AS score_n
  FROM 派单
  GROUP BY unit
)
SELECT unit, n, responded, on_time, resolved_sum, resolved_n,
       CAST(score_sum * {one} AS HUGEINT) AS score_sum_scaled, score_n,
       pct2(responded, n) AS 响应率,
       pct2(on_time, n) AS 按时办理率,
       CASE WHEN resolved_n = 0 THEN 100.00
            ELSE pct2(resolved_sum, resolved_n * 100) END AS 解决率,
       CASE WHEN score_n = 0 THEN 100.00
            ELSE pct2(CAST(score_sum * {one} AS HUGEINT), score_n * {100 * one}) END AS 综合满意率
FROM sums
ORDER BY unit
"""


def run(tickets, alias_map, threads):
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    statements = query(tickets, alias_map).split(";\n", 1)
    con.execute(statements[0])
    rows = con.execute(statements[1]).fetchall()
    seconds = time.perf_counter() - start
    names = [d[0] for d in con.description]
    con.close()
    return [dict(zip(names, r)) for r in rows], seconds


def exact(row):
    """The exact figures (Fractions) from DuckDB's numerators and denominators."""
    n = row["n"]
    return {
        "承办量": Fraction(n),
        "响应率": Fraction(100 * row["responded"], n) if n else Fraction(100),
        "按时办理率": Fraction(100 * row["on_time"], n) if n else Fraction(100),
        "解决率": Fraction(row["resolved_sum"], row["resolved_n"])
        if row["resolved_n"] else Fraction(100),
        "综合满意率": Fraction(row["score_sum_scaled"], row["score_n"] * 10**SCORE_SCALE)
        if row["score_n"] else Fraction(100),
    }


def round2(x):
    """A Fraction rounded half-up to 2 decimals, as a Decimal."""
    hundredths = x * 100
    q, r = divmod(hundredths.numerator, hundredths.denominator)
    if 2 * r >= hundredths.denominator:
        q += 1
    return Decimal(q).scaleb(-2)


def check(rows, hotline_json):
    doc = json.load(open(hotline_json, encoding="utf-8"))
    hot = {}
    for v in doc["values"]:
        if v["name"] in FIGURES and v.get("per") == "unit":
            hot[v["name"]] = {u: x for u, x in v["values"]}
    missing = [f for f in FIGURES if f not in hot]
    if missing:
        print(f"hotline's JSON has no per-unit values for {', '.join(missing)}")
        return 1

    problems = []
    hot_units = {u for u, x in hot["承办量"].items() if x is not None and int(x) > 0}
    duck_units = {r["unit"] for r in rows}
    for u in sorted(duck_units - hot_units):
        problems.append(f"{u}: in DuckDB's results only")
    for u in sorted(hot_units - duck_units):
        problems.append(f"{u}: in hotline's results only (承办量 {hot['承办量'][u]})")

    tolerance = Fraction(1, 10**20)
    compared, worst = 0, Fraction(0)
    for row in rows:
        u = row["unit"]
        if u not in hot_units:
            continue
        want = exact(row)
        for f in FIGURES:
            got_text = hot[f].get(u)
            if got_text is None:
                problems.append(f"{u} {f}: hotline has no value, DuckDB {float(want[f]):.6f}")
                continue
            got = Fraction(Decimal(got_text))
            compared += 1
            if f == "承办量":
                if got != want[f]:
                    problems.append(f"{u} 承办量: hotline {got_text}, DuckDB {row['n']}")
                continue
            diff = abs(got - want[f])
            worst = max(worst, diff)
            shown = round2(got)
            if diff >= tolerance or shown != round2(want[f]) or shown != row[f]:
                problems.append(
                    f"{u} {f}: hotline {got_text} (shown {shown}), DuckDB {row[f]} "
                    f"(exact {want[f].numerator}/{want[f].denominator} "
                    f"≈ {Decimal(want[f].numerator) / Decimal(want[f].denominator)})"
                )
    if problems:
        print(f"MISMATCH: hotline and DuckDB disagree ({len(problems)} differences):")
        for p in problems:
            print("  " + p)
        return 1
    print(
        f"equal: {len(duck_units)} units × {len(FIGURES)} figures ({compared} values); "
        f"largest difference from the exact fractions {float(worst):.1e}"
    )
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", required=True, help="the month's tickets.csv")
    ap.add_argument("--policy", required=True, help="the policy (for its unit aliases)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", metavar="HOTLINE_JSON", help="compare with `hotline render --format json`")
    args = ap.parse_args()

    rows, seconds = run(args.tickets, aliases(args.policy), args.threads)
    status = check(rows, args.check) if args.check else 0
    print(f"query_seconds {seconds:.3f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
