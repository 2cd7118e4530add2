//! The Dong'e scheme over a period: 24 generated months (2022-01 … 2023-12, in the real file
//! formats: tickets.csv UTF-8, spot-checks.csv GBK, deductions.xlsx), each figure of the
//! monthly rules and of `policies/dong-e-annual.policy`'s period figures compared with an
//! independent exact computation (`tests/dong_e_annual/exact.rs`, `BigRational`).
//!
//! - `dong_e_monthly_figures_match_exact_computation` renders `policies/dong-e-monthly.policy`
//!   for each of the 24 months (`--month`), and a probe policy (the monthly policy plus the
//!   annual policy's own lines of `月度得分`, `镇街倒数` and `县直倒数`, copied from its text),
//!   and checks every unit's monthly figures.
//! - `dong_e_annual_period_*` render `policies/dong-e-annual.policy` with `--period 2023`,
//!   `--period 2023-Q2`, and `--period 2023` on a copy of the data without the folder 2023-05
//!   (which must succeed with a warning naming `2023-05`), and check every period figure of
//!   every unit and the two tables.
//!
//! How numbers are compared (hotline's JSON values are exact decimal strings):
//! - **equal**: counts, ranks, 质效考核得分 (a sum of decimals), 月度得分 and 最低月度得分
//!   (values hotline rounds to 2 decimals), and every rate, total or mean whose exact value
//!   and whose inputs are finite decimals: hotline's value, read as a rational, must equal the
//!   exact value.
//! - **close**: a value that is (or is computed from) a quotient that is not a finite decimal
//!   (a rate over 3, 7, 12 … tickets, a mean over 3, 11, 12 … months) is held by hotline with
//!   28 significant digits: it must be within 1e-20 of the exact value, and both rounded to 2
//!   decimals half up must be equal (hotline's value first taken to 20 decimals: its last
//!   digits are the quotients' truncation, and a 94.27499…97 reached through thirds would
//!   stand for the exact midpoint 94.275, shown 94.28; the generated 县残联 has that total).
//! - text: bands (规模) and the cells' shown text.
//!
//! The period runs read the JSON model as the monthly ones do: `values`, one entry per
//! definition with its value per unit (a ranking lists only the units it ranks) or its single
//! `value`; and the tables `附表 1` / `附表 2` under `sections`, every cell's shown text and
//! exact value. Same period last year is the period a year earlier (2022-01..12 for 2023,
//! 2022-04..06 for 2023-Q2), whichever months of the period have data.
//!
//! The number of figures compared is asserted, so none of the tests can pass vacuously.
//! `DONG_E_KEEP=1` keeps the generated data (its folder is printed).

// The modules live in `tests/dong_e_annual/`, next to this file of the same name.
#[path = "dong_e_annual/mod.rs"]
mod dong_e;

use dong_e::exact::{
    self, compute_month, frac, parse_decimal, read_month, round_half_up, shown, terminates, Month,
    Period, Q,
};
use dong_e::generate::{self, MonthPlan};
use dong_e::{generated_months, registry, Ym, DEPARTMENT, DEPARTMENTS, TOWN, TOWNS};
use num_traits::Signed;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED: u64 = 20230512;

/// Figures per unit and month: 承办量, 响应率, 按时办理率, 解决率, 综合满意率, 质效考核得分,
/// 总得分, 规模, 镇街排名, 县直排名 (monthly policy), 月度得分, 镇街倒数, 县直倒数 (probe).
const MONTHLY_PER_UNIT: usize = 13;
/// Per month: 收件总量, 派单总量.
const MONTHLY_SINGLE: usize = 2;
/// Figures per unit of a period: 承办量, 考核月数, 月均得分, 最低月度得分, 镇街后三位月数,
/// 县直后三位月数, 镇街年度排名, 县直年度排名.
const PERIOD_PER_UNIT: usize = 8;
/// Per period: 收件总量, 派单总量, 去年同期收件总量, 月均收件量.
const PERIOD_SINGLE: usize = 4;
/// Per table row: 排名, 承办量, 考核月数, 月均得分, 最低月度得分, 后三位月数 shown and
/// exact, 单位 shown.
const PERIOD_PER_ROW: usize = 13;

/// Same period last year when a month of the period has no data: the period a year earlier,
/// whole (`false`: 2022-01..12 for 2023 without 2023-05), or only the months a year before
/// the months evaluated (`true`: without 2022-05).
const LAST_YEAR_OF_EVALUATED_MONTHS_ONLY: bool = true;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "hotline-dong-e-{what}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn done_with(dir: &Path) {
    if std::env::var_os("DONG_E_KEEP").is_some() {
        println!("data kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Runs `hotline render POLICY --data DIR ARGS --format json`: the JSON and standard error.
fn render(policy: &Path, data: &Path, args: &[&str]) -> (Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("render")
        .arg(policy)
        .arg("--data")
        .arg(data)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "hotline render {} {args:?} failed ({}):\n{stderr}",
        policy.display(),
        out.status
    );
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

/// Comparisons made and the ones that failed.
#[derive(Default)]
struct Checker {
    figures: usize,
    equal: usize,
    close: usize,
    failures: Vec<String>,
}

/// Twelve decimals of `x`, for messages.
fn decimal(x: &Q) -> String {
    let r = round_half_up(x, 12);
    let scaled = (r * Q::from_integer(10i64.pow(12).into())).to_integer();
    let s = format!("{:013}", scaled.abs());
    let (w, f) = s.split_at(s.len() - 12);
    format!("{}{w}.{f}", if scaled.is_negative() { "-" } else { "" })
}

impl Checker {
    fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }

    /// A number: `None` is empty (JSON null, or no value for a ranking). `strict`: equal;
    /// otherwise close (see the top of this file).
    fn number(&mut self, what: &str, expected: Option<&Q>, actual: Option<&str>, strict: bool) {
        self.figures += 1;
        match (expected, actual) {
            (None, None) => {}
            (Some(e), Some(text)) => {
                let a = parse_decimal(text);
                let ok = if strict {
                    self.equal += 1;
                    &a == e
                } else {
                    self.close += 1;
                    let tiny = frac(1, 1) / Q::from_integer(10.into()).pow(20);
                    (&a - e).abs() < tiny
                        && round_half_up(&round_half_up(&a, 20), 2) == round_half_up(e, 2)
                };
                if !ok {
                    let how = if strict {
                        "must equal"
                    } else {
                        "is not close to"
                    };
                    self.fail(format!(
                        "{what}: hotline {text} {how} exact {e} ≈ {}",
                        decimal(e)
                    ));
                }
            }
            (e, a) => self.fail(format!(
                "{what}: hotline {a:?}, expected {:?}",
                e.map(decimal)
            )),
        }
    }

    fn count(&mut self, what: &str, expected: Option<i64>, actual: Option<&str>) {
        self.number(what, expected.map(exact::int).as_ref(), actual, true);
    }

    fn text(&mut self, what: &str, expected: Option<&str>, actual: Option<&str>) {
        self.figures += 1;
        if expected != actual {
            self.fail(format!("{what}: hotline {actual:?}, expected {expected:?}"));
        }
    }

    fn finish(&self, label: &str, expected_figures: usize) {
        println!(
            "{label}: {} figures checked ({} exact values required equal, {} close), {} failed",
            self.figures,
            self.equal,
            self.close,
            self.failures.len()
        );
        if !self.failures.is_empty() {
            panic!(
                "{label}: {} of {} figures differ:\n{}",
                self.failures.len(),
                self.figures,
                self.failures
                    .iter()
                    .take(60)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        assert_eq!(self.figures, expected_figures, "{label}: figures checked");
    }
}

/// The values of each definition of the JSON model.
struct Values {
    /// Per key (or "" for a single value): the value, None when empty.
    defs: HashMap<String, (String, HashMap<String, Option<String>>)>,
}

impl Values {
    fn of(json: &Value) -> Values {
        let mut defs = HashMap::new();
        for d in json["values"].as_array().expect("values") {
            let mut values = HashMap::new();
            if d.get("per").is_none() {
                values.insert(
                    String::new(),
                    d.get("value").and_then(Value::as_str).map(str::to_string),
                );
            }
            for kv in d
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                values.insert(
                    kv[0].as_str().unwrap().to_string(),
                    kv[1].as_str().map(str::to_string),
                );
            }
            let kind = d["kind"].as_str().unwrap_or_default().to_string();
            defs.insert(d["name"].as_str().unwrap().to_string(), (kind, values));
        }
        Values { defs }
    }

    /// A definition's value for `key` ("" for a single value). A ranking lists only the
    /// units it ranks; every other definition must have every key.
    fn get(&self, c: &mut Checker, name: &str, key: &str) -> Option<String> {
        let Some((kind, values)) = self.defs.get(name) else {
            c.fail(format!("no definition {name}"));
            return None;
        };
        match values.get(key) {
            Some(v) => v.clone(),
            None if kind == "ranking" => None,
            None => {
                c.fail(format!("{name}: no value for {key:?}"));
                None
            }
        }
    }
}

fn tables(json: &Value) -> HashMap<String, &Value> {
    json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "table")
        .map(|s| (s["name"].as_str().unwrap().to_string(), s))
        .collect()
}

// ---------------------------------------------------------------- the monthly figures

/// The monthly policy plus the annual policy's monthly definitions it does not have
/// (`月度得分`, `镇街倒数`, `县直倒数`), copied line by line from the annual policy's text.
fn probe_policy(dir: &Path) -> PathBuf {
    let monthly = std::fs::read_to_string(root().join("policies/dong-e-monthly.policy")).unwrap();
    let annual = std::fs::read_to_string(root().join("policies/dong-e-annual.policy")).unwrap();
    let mut text = monthly;
    text.push_str("\n# From dong-e-annual.policy:\n");
    for start in ["metric 月度得分 ", "ranking 镇街倒数 ", "ranking 县直倒数 "] {
        let lines: Vec<&str> = annual.lines().filter(|l| l.starts_with(start)).collect();
        assert_eq!(lines.len(), 1, "one line {start}… in dong-e-annual.policy");
        text.push_str(lines[0]);
        text.push('\n');
    }
    let path = dir.join("probe.policy");
    std::fs::write(&path, text).unwrap();
    path
}

/// Whether hotline must hold a value exactly: it and the quotients it comes from are finite
/// decimals.
fn strict(q: &Q, inputs: &[&Q]) -> bool {
    terminates(q) && inputs.iter().all(|i| terminates(i))
}

fn check_month(c: &mut Checker, month: &Month, monthly: &Values, probe: &Values) {
    let label = month.ym.label();
    for u in &month.units {
        let k = u.name;
        let what = |name: &str| format!("{label} {k}.{name}");
        let v = monthly.get(c, "承办量", k);
        c.count(&what("承办量"), Some(u.count), v.as_deref());
        for (name, q) in [
            ("响应率", &u.resp),
            ("按时办理率", &u.ontime),
            ("解决率", &u.solve),
            ("综合满意率", &u.sat),
        ] {
            // A rate: equal when a finite decimal, else close.
            let v = monthly.get(c, name, k);
            c.number(&what(name), Some(q), v.as_deref(), strict(q, &[]));
        }
        // A sum of decimals: equal.
        let v = monthly.get(c, "质效考核得分", k);
        c.number(
            &what("质效考核得分"),
            Some(&u.deduction),
            v.as_deref(),
            true,
        );
        // The total: equal when its four rates are finite decimals, else close.
        let v = monthly.get(c, "总得分", k);
        c.number(
            &what("总得分"),
            Some(&u.total),
            v.as_deref(),
            strict(&u.total, &u.rates()),
        );
        let v = monthly.get(c, "规模", k);
        c.text(&what("规模"), u.band, v.as_deref());
        // Ranks: equal; a unit outside the ranking has none.
        let (town_rank, dept_rank) = match u.group {
            TOWN => (u.rank, None),
            _ => (None, u.rank),
        };
        let v = monthly.get(c, "镇街排名", k);
        c.count(&what("镇街排名"), town_rank, v.as_deref());
        let v = monthly.get(c, "县直排名", k);
        c.count(&what("县直排名"), dept_rank, v.as_deref());

        // The annual policy's monthly definitions, from the probe. 月度得分 is rounded by
        // hotline: equal (the midpoint reached through thirds must give 94.28).
        let v = probe.get(c, "月度得分", k);
        c.number(&what("月度得分"), u.score.as_ref(), v.as_deref(), true);
        let (town_bottom, dept_bottom) = match u.group {
            TOWN => (u.bottom, None),
            _ => (None, u.bottom),
        };
        let v = probe.get(c, "镇街倒数", k);
        c.count(&what("镇街倒数"), town_bottom, v.as_deref());
        let v = probe.get(c, "县直倒数", k);
        c.count(&what("县直倒数"), dept_bottom, v.as_deref());
    }
    let v = monthly.get(c, "收件总量", "");
    c.count(
        &format!("{label} 收件总量"),
        Some(month.tickets),
        v.as_deref(),
    );
    let v = monthly.get(c, "派单总量", "");
    c.count(
        &format!("{label} 派单总量"),
        Some(month.dispatched),
        v.as_deref(),
    );
}

/// Reads and computes every generated month (and the lead-in month, when present).
fn compute_all(dir: &Path) -> HashMap<Ym, Month> {
    let mut months = HashMap::new();
    for ym in generated_months() {
        let folder = dir.join(ym.label());
        if folder.exists() {
            months.insert(ym, compute_month(&read_month(&folder, ym)));
        }
    }
    months
}

#[test]
fn dong_e_monthly_figures_match_exact_computation() {
    let dir = temp_dir("monthly");
    let data = dir.join("data");
    generate::generate(&data, SEED, true);
    let probe = probe_policy(&dir);
    let months = compute_all(&data);
    let monthly_policy = root().join("policies/dong-e-monthly.policy");
    let mut c = Checker::default();
    for ym in generated_months() {
        let label = ym.label();
        let (json, _) = render(&monthly_policy, &data, &["--month", &label]);
        let (probe_json, _) = render(&probe, &data, &["--month", &label]);
        check_month(
            &mut c,
            &months[&ym],
            &Values::of(&json),
            &Values::of(&probe_json),
        );
    }
    let units = registry().len();
    c.finish(
        "24 months of dong-e-monthly.policy",
        24 * (units * MONTHLY_PER_UNIT + MONTHLY_SINGLE),
    );
    done_with(&dir);
}

// ---------------------------------------------------------------- the period figures

/// The months of a period: `2023` or `2023-Q2`.
fn period_months(period: &str) -> Vec<Ym> {
    match period.split_once("-Q") {
        Some((y, q)) => {
            let (y, q): (i32, u32) = (y.parse().unwrap(), q.parse().unwrap());
            Ym::range(Ym::new(y, 3 * q - 2), Ym::new(y, 3 * q))
        }
        None => {
            let y: i32 = period.parse().unwrap();
            Ym::range(Ym::new(y, 1), Ym::new(y, 12))
        }
    }
}

/// The exact period figures: the period's months with data, and the same period last year.
fn exact_period(months: &HashMap<Ym, Month>, period: &str) -> (Period, Vec<Ym>) {
    let all = period_months(period);
    let evaluated: Vec<&Month> = all.iter().filter_map(|m| months.get(m)).collect();
    let last_year: Vec<&Month> = all
        .iter()
        .filter(|m| !LAST_YEAR_OF_EVALUATED_MONTHS_ONLY || months.contains_key(m))
        .map(|m| {
            months
                .get(&m.last_year())
                .unwrap_or_else(|| panic!("no data for {}", m.last_year().label()))
        })
        .collect();
    let evaluated_months = evaluated.iter().map(|m| m.ym).collect();
    (exact::period(&evaluated, &last_year), evaluated_months)
}

fn check_period(c: &mut Checker, label: &str, p: &Period, json: &Value) {
    let values = Values::of(json);
    for u in &p.units {
        let k = u.name;
        let what = |name: &str| format!("{label} {k}.{name}");
        let v = values.get(c, "承办量", k);
        c.count(&what("承办量"), Some(u.count), v.as_deref());
        let v = values.get(c, "考核月数", k);
        c.count(&what("考核月数"), Some(u.months), v.as_deref());
        // A mean of 2-decimal values over the months: equal when a finite decimal, else
        // close.
        let v = values.get(c, "月均得分", k);
        c.number(
            &what("月均得分"),
            u.mean.as_ref(),
            v.as_deref(),
            u.mean.as_ref().is_none_or(terminates),
        );
        // One of the months' 2-decimal values: equal.
        let v = values.get(c, "最低月度得分", k);
        c.number(&what("最低月度得分"), u.min.as_ref(), v.as_deref(), true);
        let v = values.get(c, "镇街后三位月数", k);
        c.count(&what("镇街后三位月数"), Some(u.town_bottom), v.as_deref());
        let v = values.get(c, "县直后三位月数", k);
        c.count(&what("县直后三位月数"), Some(u.dept_bottom), v.as_deref());
        let (town_rank, dept_rank) = match u.group {
            TOWN => (u.rank, None),
            _ => (None, u.rank),
        };
        let v = values.get(c, "镇街年度排名", k);
        c.count(&what("镇街年度排名"), town_rank, v.as_deref());
        let v = values.get(c, "县直年度排名", k);
        c.count(&what("县直年度排名"), dept_rank, v.as_deref());
    }
    for (name, n) in [
        ("收件总量", p.tickets),
        ("派单总量", p.dispatched),
        ("去年同期收件总量", p.last_year_tickets),
    ] {
        let v = values.get(c, name, "");
        c.count(&format!("{label} {name}"), Some(n), v.as_deref());
    }
    // A mean over the months: equal when a finite decimal (over 2, 4, 5 … months), else close.
    let v = values.get(c, "月均收件量", "");
    c.number(
        &format!("{label} 月均收件量"),
        p.mean_tickets.as_ref(),
        v.as_deref(),
        p.mean_tickets.as_ref().is_none_or(terminates),
    );

    // The tables: the ranked units of each group in rank order, every cell.
    let tables = tables(json);
    for (table, group) in [("附表 1", TOWN), ("附表 2", DEPARTMENT)] {
        let mut rows: Vec<&exact::UnitPeriod> = p
            .units
            .iter()
            .filter(|u| u.group == group && u.months > 0)
            .collect();
        rows.sort_by_key(|u| u.rank);
        check_table(c, label, table, &rows, tables.get(table).copied());
    }
}

const PERIOD_HEADERS: [&str; 7] = [
    "排名",
    "单位",
    "承办量",
    "考核月数",
    "月均得分",
    "最低月度得分",
    "后三位月数",
];

fn check_table(
    c: &mut Checker,
    label: &str,
    name: &str,
    rows: &[&exact::UnitPeriod],
    table: Option<&Value>,
) {
    c.figures += 2; // the headers and the row order
    let Some(t) = table else {
        c.fail(format!("{label}: no table {name}"));
        return;
    };
    let headers: Vec<&str> = t["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    if headers != PERIOD_HEADERS {
        c.fail(format!("{label} {name}: headers {headers:?}"));
        return;
    }
    let got = t["rows"].as_array().unwrap();
    let names: Vec<&str> = got
        .iter()
        .map(|r| r[1]["display"].as_str().unwrap_or_default())
        .collect();
    let want: Vec<&str> = rows.iter().map(|u| u.name).collect();
    if names != want {
        c.fail(format!("{label} {name}: rows {names:?}, expected {want:?}"));
        return;
    }
    for (row, u) in got.iter().zip(rows) {
        let cell = |i: usize| (row[i]["display"].as_str(), row[i]["exact"].as_str());
        let what = |h: &str| format!("{label} {name} {} {h}", u.name);
        let bottom = if u.group == TOWN {
            u.town_bottom
        } else {
            u.dept_bottom
        };
        for (i, n) in [
            (0, u.rank.unwrap()),
            (2, u.count),
            (3, u.months),
            (6, bottom),
        ] {
            let (shown_text, exact_text) = cell(i);
            c.text(&what(PERIOD_HEADERS[i]), Some(&n.to_string()), shown_text);
            c.count(&what(PERIOD_HEADERS[i]), Some(n), exact_text);
        }
        c.text(&what("单位"), Some(u.name), cell(1).0);
        for (i, q, is_strict) in [
            (
                4,
                u.mean.as_ref().unwrap(),
                terminates(u.mean.as_ref().unwrap()),
            ),
            (5, u.min.as_ref().unwrap(), true),
        ] {
            let (shown_text, exact_text) = cell(i);
            c.text(&what(PERIOD_HEADERS[i]), Some(&shown(q)), shown_text);
            c.number(&what(PERIOD_HEADERS[i]), Some(q), exact_text, is_strict);
        }
    }
}

/// 附表 3: each ranked town's published score in each month of the period (`—` for a month
/// without a score or without data), in the order of the year's ranking. Each month's cell is
/// shown and exact; the headers are the months.
fn check_monthly_table(
    c: &mut Checker,
    label: &str,
    p: &Period,
    months: &HashMap<Ym, Month>,
    period: &[Ym],
    json: &Value,
) {
    c.figures += 2; // the headers and the row order
    let tables = tables(json);
    let Some(t) = tables.get("附表 3") else {
        c.fail(format!("{label}: no table 附表 3"));
        return;
    };
    let headers: Vec<&str> = t["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let mut want_headers = vec!["单位".to_string()];
    want_headers.extend(period.iter().map(|m| format!("{}月", m.month)));
    want_headers.push("月均得分".into());
    if headers != want_headers {
        c.fail(format!("{label} 附表 3: headers {headers:?}"));
        return;
    }
    let mut rows: Vec<&exact::UnitPeriod> = p
        .units
        .iter()
        .filter(|u| u.group == TOWN && u.months > 0)
        .collect();
    rows.sort_by_key(|u| u.rank);
    let got = t["rows"].as_array().unwrap();
    let names: Vec<&str> = got
        .iter()
        .map(|r| r[0]["display"].as_str().unwrap_or_default())
        .collect();
    let want: Vec<&str> = rows.iter().map(|u| u.name).collect();
    if names != want {
        c.fail(format!("{label} 附表 3: rows {names:?}, expected {want:?}"));
        return;
    }
    for (row, u) in got.iter().zip(&rows) {
        for (i, ym) in period.iter().enumerate() {
            let what = format!("{label} 附表 3 {} {}", u.name, ym.label());
            // A month without data, or without a score: empty.
            let score = months
                .get(ym)
                .and_then(|m| m.units.iter().find(|x| x.name == u.name))
                .and_then(|x| x.score.as_ref());
            let cell = &row[i + 1];
            c.text(
                &what,
                Some(score.map_or("—".to_string(), shown).as_str()),
                cell["display"].as_str(),
            );
            c.number(&what, score, cell["exact"].as_str(), true);
        }
    }
}

fn expected_monthly_table_figures(p: &Period, months: usize) -> usize {
    let towns = p
        .units
        .iter()
        .filter(|u| u.group == TOWN && u.months > 0)
        .count();
    2 + towns * months * 2
}

fn expected_period_figures(p: &Period) -> usize {
    let rows = p.units.iter().filter(|u| u.months > 0).count();
    registry().len() * PERIOD_PER_UNIT + PERIOD_SINGLE + 2 * 2 + rows * PERIOD_PER_ROW
}

fn run_period(period: &str, without: Option<Ym>) {
    let dir = temp_dir(&format!("period-{period}"));
    let data = dir.join("data");
    generate::generate(&data, SEED, false);
    if let Some(m) = without {
        std::fs::remove_dir_all(data.join(m.label())).unwrap();
    }
    let months = compute_all(&data);
    let (p, evaluated) = exact_period(&months, period);
    let policy = root().join("policies/dong-e-annual.policy");
    let (json, stderr) = render(&policy, &data, &["--period", period]);
    let label = match without {
        Some(m) => format!("{period} without {}", m.label()),
        None => period.to_string(),
    };
    println!(
        "{label}: months evaluated {:?}",
        evaluated.iter().map(|m| m.label()).collect::<Vec<_>>()
    );
    let mut c = Checker::default();
    if let Some(m) = without {
        c.figures += 1;
        if !stderr.contains(&m.label()) {
            c.fail(format!(
                "{label}: no warning naming {} on standard error:\n{stderr}",
                m.label()
            ));
        }
    }
    check_period(&mut c, &label, &p, &json);
    let in_period = period_months(period);
    let shown_months = months
        .iter()
        .filter(|(ym, _)| in_period.contains(ym))
        .map(|(ym, m)| (*ym, m.clone()))
        .collect();
    check_monthly_table(&mut c, &label, &p, &shown_months, &in_period, &json);
    c.finish(
        &format!("dong-e-annual.policy --period {label}"),
        expected_period_figures(&p)
            + expected_monthly_table_figures(&p, in_period.len())
            + usize::from(without.is_some()),
    );
    done_with(&dir);
}

#[test]
fn dong_e_annual_period_2023() {
    run_period("2023", None);
}

#[test]
fn dong_e_annual_period_2023_q2() {
    run_period("2023-Q2", None);
}

#[test]
fn dong_e_annual_period_2023_without_may() {
    run_period("2023", Some(Ym::new(2023, 5)));
}

// ---------------------------------------------------------------- the generator alone

/// The generated data holds the edge cases (generator and exact computation only, no
/// binary), the generator is deterministic, and the units are the policies' own.
#[test]
fn dong_e_generated_months_hold_the_edge_cases() {
    // The registry here is the policies' `units` block.
    for policy in [
        "policies/dong-e-monthly.policy",
        "policies/dong-e-annual.policy",
    ] {
        let text = std::fs::read_to_string(root().join(policy)).unwrap();
        let block = &text[text.find("\nunits {").unwrap()..];
        let block = &block[..block.find("\n}").unwrap()];
        let names: Vec<String> = block
            .lines()
            .skip(2)
            .filter(|l| !l.trim_start().starts_with("alias"))
            .flat_map(|l| {
                let l = l.split_once(':').map_or(l, |(_, rest)| rest);
                l.split(',')
                    .map(|n| n.trim().trim_matches('"').to_string())
                    .filter(|n| !n.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect();
        let ours: Vec<&str> = TOWNS.iter().chain(DEPARTMENTS).copied().collect();
        assert_eq!(names, ours, "{policy}: units");
        assert!(
            text.contains("alias 新城办事处 = 新城街道")
                && text.contains("alias 铜城办事处 = 铜城街道")
        );
    }

    let a = temp_dir("gen-a");
    let b = temp_dir("gen-b");
    let plans = generate::generate(&a, SEED, false);
    generate::generate(&b, SEED, false);
    for ym in generated_months() {
        for f in ["tickets.csv", "spot-checks.csv", "deductions.xlsx"] {
            let x = std::fs::read(a.join(ym.label()).join(f)).unwrap();
            let y = std::fs::read(b.join(ym.label()).join(f)).unwrap();
            assert!(x == y, "{} {f} is deterministic", ym.label());
        }
    }
    let months = compute_all(&a);
    let notes = edges(&a, &plans, &months);
    for n in notes {
        println!("{n}");
    }
    done_with(&a);
    done_with(&b);
}

fn edges(dir: &Path, plans: &[MonthPlan], months: &HashMap<Ym, Month>) -> Vec<String> {
    let mut notes = Vec::new();
    let all: Vec<&Month> = generated_months().iter().map(|m| &months[m]).collect();
    let unit = |m: &Month, name: &str| m.units.iter().find(|u| u.name == name).unwrap().clone();

    // Volumes.
    let tickets: i64 = all.iter().map(|m| m.tickets).sum();
    let per_month: Vec<i64> = all.iter().map(|m| m.tickets).collect();
    assert!(
        per_month.iter().all(|n| (200..800).contains(n)),
        "a few hundred tickets a month: {per_month:?}"
    );
    notes.push(format!("{tickets} tickets in 24 months: {per_month:?}"));
    assert!(
        all.iter().all(|m| m.dispatched < m.tickets),
        "直办 rows every month"
    );

    // Units without tickets; 县人民武装部 only in 2023-05; 县财政局 never.
    for m in &all {
        let n = unit(m, "县人民武装部").count;
        assert_eq!(
            n > 0,
            m.ym == Ym::new(2023, 5),
            "县人民武装部 in {}",
            m.ym.label()
        );
        assert_eq!(unit(m, "县财政局").count, 0);
    }
    assert!(all
        .iter()
        .any(|m| m.units.iter().any(|u| u.group == TOWN && u.count == 0)));

    // Empty cells and boundaries in the tickets.
    let mut empty = [0usize; 4];
    let mut boundaries = [0usize; 4];
    for ym in generated_months() {
        let data = read_month(&dir.join(ym.label()), ym);
        for t in data.tickets.iter().filter(|t| t.dispatched_row) {
            empty[0] += t.signed.is_none() as usize;
            empty[1] += t.done.is_none() as usize;
            empty[2] += t.solve.is_none() as usize;
            empty[3] += t.sat.is_none() as usize;
            let d = t.dispatched.unwrap();
            boundaries[0] += (t.signed == Some(d + 7200)) as usize;
            boundaries[1] += (t.signed == Some(d + 7201)) as usize;
            boundaries[2] += (t.done == t.deadline) as usize;
            boundaries[3] += (t.done == t.deadline.map(|x| x + 1)) as usize;
        }
        let raw = std::fs::read_to_string(dir.join(ym.label()).join("tickets.csv")).unwrap();
        assert!(
            raw.contains("\r\n") && raw.contains("\"\""),
            "CRLF and quoted quotes"
        );
    }
    assert!(empty.iter().all(|&n| n > 0), "empty cells: {empty:?}");
    assert!(
        boundaries.iter().all(|&n| n > 0),
        "boundaries: {boundaries:?}"
    );
    notes.push(format!(
        "派单 rows with empty 签收时间/办结时间/回访解决情况/满意度评分: {empty:?}; signed at 2h / 2h+1s, done at the deadline / +1s: {boundaries:?}"
    ));
    let mut old_names = 0;
    for ym in generated_months() {
        let raw = std::fs::read_to_string(dir.join(ym.label()).join("tickets.csv")).unwrap();
        old_names += raw.matches("新城办事处").count() + raw.matches("铜城办事处").count();
    }
    assert!(old_names > 0, "old names in tickets");
    let old_in_deductions = plans
        .iter()
        .flat_map(|p| &p.deductions)
        .filter(|(u, _, _)| u.ends_with("办事处"))
        .count();
    assert!(old_in_deductions > 0, "old names in deductions");

    // Deductions as planned, read back from the workbooks.
    for p in plans {
        let data = read_month(&dir.join(p.ym.label()), p.ym);
        let planned: Vec<Q> = p
            .deductions
            .iter()
            .map(|(_, _, d)| parse_decimal(d))
            .collect();
        let read: Vec<Q> = data.deductions.iter().map(|(_, d)| d.clone()).collect();
        assert_eq!(planned, read, "{} deductions", p.ym.label());
    }
    let points: Vec<&str> = plans
        .iter()
        .flat_map(|p| &p.deductions)
        .map(|(_, _, d)| d.as_str())
        .collect();
    assert!(points.contains(&"-1.25") && points.contains(&"-0.5") && points.contains(&"-0.01"));
    assert!(
        plans.iter().any(|p| p.deductions.is_empty()),
        "a month without deductions"
    );
    assert!(
        all.iter().any(|m| m
            .units
            .iter()
            .any(|u| u.count == 0 && u.deduction != exact::int(0))),
        "a deduction for a unit without tickets"
    );

    // Ties and the midpoint.
    let hundred = exact::int(100);
    let at_100: Vec<usize> = all
        .iter()
        .map(|m| {
            m.units
                .iter()
                .filter(|u| u.group == DEPARTMENT && u.score.as_ref() == Some(&hundred))
                .count()
        })
        .collect();
    assert!(
        at_100.iter().filter(|&&n| n >= 3).count() >= 16,
        "departments tied at 100.00: {at_100:?}"
    );
    notes.push(format!("departments at 100.00 by month: {at_100:?}"));
    let tie_9999 = all.iter().filter(|m| {
        let a = unit(m, "县农业农村局");
        let b = unit(m, "县自然资源规划局");
        a.score.is_some() && a.score == b.score && a.total != b.total
    });
    assert!(
        tie_9999.count() >= 4,
        "99.99 ties with different exact totals"
    );
    let midpoint = exact::frac(94275, 1000);
    let midpoints: Vec<String> = all
        .iter()
        .filter(|m| unit(m, "县残联").total == midpoint)
        .map(|m| m.ym.label())
        .collect();
    assert!(midpoints.len() >= 4, "midpoints: {midpoints:?}");
    assert!(all
        .iter()
        .filter(|m| unit(m, "县残联").total == midpoint)
        .all(|m| unit(m, "县残联").score == Some(exact::frac(9428, 100))));
    notes.push(format!("94.275 through thirds in {midpoints:?}"));

    // The bottom of the towns' ranking: ties counted as 后三位 together; 1, 1, 1 then 4.
    let bottoms = |m: &Month| {
        let mut b: Vec<i64> = m
            .units
            .iter()
            .filter(|u| u.group == TOWN)
            .filter_map(|u| u.bottom)
            .collect();
        b.sort();
        b
    };
    assert!(all.iter().any(|m| bottoms(m).starts_with(&[1, 1, 1, 4])));
    assert!(all.iter().any(|m| bottoms(m).starts_with(&[1, 1, 3, 3, 5])));
    assert!(all.iter().any(|m| bottoms(m).starts_with(&[1, 2, 2, 2, 5])));
    notes.push(format!(
        "镇街倒数 by month: {:?}",
        all.iter()
            .map(|m| bottoms(m)[..4].to_vec())
            .collect::<Vec<_>>()
    ));

    // Bands: each empty among the departments in some month; 9, 10 and 100 tickets.
    for band in ["大", "中", "小"] {
        let empty: Vec<String> = all
            .iter()
            .filter(|m| {
                !m.units
                    .iter()
                    .any(|u| u.group == DEPARTMENT && u.band == Some(band))
            })
            .map(|m| m.ym.label())
            .collect();
        assert!(!empty.is_empty(), "band {band} empty in some month");
        assert!(all.iter().any(|m| m
            .units
            .iter()
            .any(|u| u.group == DEPARTMENT && u.band == Some(band))));
        notes.push(format!("县直 band {band} empty in {empty:?}"));
    }
    for n in [9, 10, 100] {
        assert!(
            all.iter().any(|m| m.units.iter().any(|u| u.count == n)),
            "a unit with {n} tickets"
        );
    }
    assert!(all.iter().any(|m| m
        .units
        .iter()
        .any(|u| u.count > 0 && u.resp == exact::int(0))));

    // The annual ranking of 2023: ties of round(月均得分, 2) broken by the period's 承办量,
    // and by registry order.
    let (p, _) = exact_period(months, "2023");
    let ranked: Vec<&exact::UnitPeriod> = p.units.iter().filter(|u| u.rank.is_some()).collect();
    let key = |u: &exact::UnitPeriod| round_half_up(u.mean.as_ref().unwrap(), 2);
    let same_mean = |a: &&exact::UnitPeriod, b: &&exact::UnitPeriod| {
        a.group == b.group && a.name != b.name && key(a) == key(b)
    };
    assert!(ranked
        .iter()
        .any(|a| ranked.iter().any(|b| same_mean(a, b) && a.count != b.count)));
    assert!(ranked
        .iter()
        .any(|a| ranked.iter().any(|b| same_mean(a, b) && a.count == b.count)));
    assert!(p
        .units
        .iter()
        .any(|u| u.months == 1 && u.name == "县人民武装部"));
    // 月均收件量 of 2023 is not a finite decimal (the close comparison is exercised).
    assert!(p.mean_tickets.as_ref().is_some_and(|q| !terminates(q)));
    notes
}

// ---------------------------------------------------------------- the checker alone

/// Prints a period's exact figures (`DONG_E_DUMP=1`).
fn dump(period: &str, p: &Period) {
    let s = |q: &Option<Q>| q.as_ref().map_or("—".to_string(), decimal);
    for u in &p.units {
        println!(
            "{period} {} {} 承办量 {} 考核月数 {} 月均 {} 最低 {} 后三位 {}/{} 排名 {:?}",
            u.group,
            u.name,
            u.count,
            u.months,
            s(&u.mean),
            s(&u.min),
            u.town_bottom,
            u.dept_bottom,
            u.rank
        );
    }
    println!(
        "{period} 收件总量 {} 派单总量 {} 去年同期 {} 月均收件量 {}",
        p.tickets,
        p.dispatched,
        p.last_year_tickets,
        s(&p.mean_tickets)
    );
}

/// `x` as hotline writes a value: exact when a finite decimal, else 24 decimals.
fn as_hotline(x: &Q) -> String {
    let x = if terminates(x) {
        x.clone()
    } else {
        round_half_up(x, 24)
    };
    let ten = Q::from_integer(10.into());
    let mut d = 0;
    while !(&x * ten.pow(d)).is_integer() {
        d += 1;
    }
    let scaled = (&x * ten.pow(d)).to_integer();
    let digits = format!("{:0>1$}", scaled.abs().to_string(), d as usize + 1);
    let (w, f) = digits.split_at(digits.len() - d as usize);
    let sign = if scaled.is_negative() { "-" } else { "" };
    if f.is_empty() {
        format!("{sign}{w}")
    } else {
        format!("{sign}{w}.{f}")
    }
}

/// The period checker accepts a model holding the exact figures in the shape of the monthly
/// JSON (`values`: name, kind, per, value / values; `sections`: tables of cells), counts
/// what it expects, and rejects a model with one figure changed. (What the period tests
/// assume of hotline's period JSON, shown without the binary.)
#[test]
fn dong_e_period_checker_accepts_the_exact_figures() {
    let dir = temp_dir("checker");
    generate::generate(&dir, SEED, false);
    let months = compute_all(&dir);
    for period in ["2023", "2023-Q2"] {
        let (p, _) = exact_period(&months, period);
        if std::env::var_os("DONG_E_DUMP").is_some() {
            dump(period, &p);
        }
        let per_unit =
            |name: &str, kind: &str, f: &dyn Fn(&exact::UnitPeriod) -> Option<String>| {
                let values: Vec<Value> = p
                    .units
                    .iter()
                    .filter(|u| kind != "ranking" || f(u).is_some())
                    .map(|u| serde_json::json!([u.name, f(u)]))
                    .collect();
                serde_json::json!({"name": name, "kind": kind, "per": "unit", "values": values})
            };
        let one =
            |name: &str, v: String| serde_json::json!({"name": name, "kind": "metric", "value": v});
        let n = |x: i64| Some(x.to_string());
        let group_rank = |g: &'static str| {
            move |u: &exact::UnitPeriod| {
                if u.group == g {
                    u.rank.map(|r| r.to_string())
                } else {
                    None
                }
            }
        };
        let values = vec![
            per_unit("承办量", "metric", &|u| n(u.count)),
            per_unit("考核月数", "metric", &|u| n(u.months)),
            per_unit("月均得分", "metric", &|u| {
                u.mean.as_ref().map(as_hotline)
            }),
            per_unit("最低月度得分", "metric", &|u| {
                u.min.as_ref().map(as_hotline)
            }),
            per_unit("镇街后三位月数", "metric", &|u| n(u.town_bottom)),
            per_unit("县直后三位月数", "metric", &|u| n(u.dept_bottom)),
            per_unit("镇街年度排名", "ranking", &group_rank(TOWN)),
            per_unit("县直年度排名", "ranking", &group_rank(DEPARTMENT)),
            one("收件总量", p.tickets.to_string()),
            one("派单总量", p.dispatched.to_string()),
            one("去年同期收件总量", p.last_year_tickets.to_string()),
            one("月均收件量", as_hotline(p.mean_tickets.as_ref().unwrap())),
        ];
        let cell = |d: String, e: Option<String>| serde_json::json!({"display": d, "exact": e});
        let table = |name: &str, g: &str| {
            let mut rows: Vec<&exact::UnitPeriod> = p
                .units
                .iter()
                .filter(|u| u.group == g && u.months > 0)
                .collect();
            rows.sort_by_key(|u| u.rank);
            let rows: Vec<Value> = rows
                .iter()
                .map(|u| {
                    let b = if g == TOWN {
                        u.town_bottom
                    } else {
                        u.dept_bottom
                    };
                    let int = |x: i64| cell(x.to_string(), Some(x.to_string()));
                    let num = |q: &Q| cell(shown(q), Some(as_hotline(q)));
                    serde_json::json!([
                        int(u.rank.unwrap()),
                        {"display": u.name},
                        int(u.count),
                        int(u.months),
                        num(u.mean.as_ref().unwrap()),
                        num(u.min.as_ref().unwrap()),
                        int(b)
                    ])
                })
                .collect();
            serde_json::json!({"kind": "table", "name": name, "headers": PERIOD_HEADERS, "rows": rows})
        };
        let json = serde_json::json!({
            "values": values,
            "sections": [table("附表 1", TOWN), table("附表 2", DEPARTMENT)],
        });
        let mut c = Checker::default();
        check_period(&mut c, period, &p, &json);
        c.finish(
            &format!("checker on the exact {period}"),
            expected_period_figures(&p),
        );

        let mut changed = json.clone();
        changed["values"][2]["values"][0][1] = Value::from("99.99");
        let mut c = Checker::default();
        check_period(&mut c, period, &p, &changed);
        assert_eq!(c.failures.len(), 1, "{:?}", c.failures);
    }
    done_with(&dir);
}
