//! The second real scheme: `policies/city-monthly.policy` (示例市, a fictional prefecture-level
//! city) rendered by the real binary on generated months, every figure compared with an
//! independent exact computation (`tests/city/exact.rs`, `BigRational`, its own working-day
//! calendar read from `policies/calendars/china.calendar`).
//!
//! Exact values must be equal when the exact value is a finite decimal, and within 1e-20 of
//! hotline's 28-digit decimal otherwise; every shown value (2 decimals, half up) must be equal.
//! `CITY_POLICY=path` checks another copy of the policy (to see the test fail on a broken rule).

mod city;

use city::calendar::{days_from_civil, Calendar, DAY};
use city::exact::{
    self, frac, int, parse_decimal, round_half_up, shown, terminates, Overall, Unit, Q,
};
use city::{generate, GROUPS};
use num_traits::Signed;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (seed, year, month): 春节 2024 and 2023, 国庆 2024 with make-up days, 端午 2023 with a
/// make-up Sunday, 劳动节 2025, 中秋 and a make-up Sunday 2026.
const CASES: &[(u64, i64, i64)] = &[
    (11, 2024, 2),
    (24, 2024, 10),
    (7, 2023, 1),
    (42, 2023, 6),
    (3, 2025, 5),
    (58, 2026, 9),
];

fn policy() -> PathBuf {
    match std::env::var_os("CITY_POLICY") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/city-monthly.policy"),
    }
}

fn render(data: &Path, month: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("render")
        .arg(policy())
        .arg("--data")
        .arg(data)
        .args(["--month", month, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hotline render failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Comparisons made and the ones that failed.
#[derive(Default)]
struct Checker {
    figures: usize,
    /// Exact values required equal, and compared within 1e-20.
    equal: usize,
    close: usize,
    failures: Vec<String>,
}

impl Checker {
    fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }

    /// An exact value: `None` is empty (JSON null or absent). `strict`: hotline's value must
    /// be equal (the value and every quotient it is computed from are finite decimals);
    /// otherwise within 1e-20 of it (hotline holds 28 significant digits).
    fn exact(&mut self, what: &str, expected: Option<&Q>, actual: Option<&str>, strict: bool) {
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
                    (&a - e).abs() < frac(1, 1) / Q::from_integer(10.into()).pow(20)
                };
                if !ok {
                    let how = if strict {
                        "must equal"
                    } else {
                        "is not within 1e-20 of"
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

    fn text(&mut self, what: &str, expected: Option<&str>, actual: Option<&str>) {
        self.figures += 1;
        if expected != actual {
            self.fail(format!("{what}: hotline {actual:?}, expected {expected:?}"));
        }
    }

    fn contains(&mut self, what: &str, haystack: &str, needle: &str) {
        self.figures += 1;
        if !haystack.contains(needle) {
            self.fail(format!("{what}: {needle:?} not in {haystack:?}"));
        }
    }
}

/// Twelve decimals of `x`, for messages.
fn decimal(x: &Q) -> String {
    let r = round_half_up(x, 12);
    let scaled = (r * Q::from_integer(10i64.pow(12).into())).to_integer();
    let s = format!("{:013}", scaled.abs());
    let (w, f) = s.split_at(s.len() - 12);
    format!("{}{w}.{f}", if scaled < 0.into() { "-" } else { "" })
}

/// The values of each definition: per key, or the single value under "".
fn definitions(json: &Value) -> HashMap<String, HashMap<String, Option<String>>> {
    let mut defs = HashMap::new();
    for d in json["values"].as_array().unwrap() {
        let mut values = HashMap::new();
        if let Some(v) = d.get("value") {
            values.insert(String::new(), v.as_str().map(str::to_string));
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
        defs.insert(d["name"].as_str().unwrap().to_string(), values);
    }
    defs
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

fn texts(json: &Value) -> Vec<String> {
    json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "text")
        .map(|s| s["text"].as_str().unwrap().to_string())
        .collect()
}

/// A cell as expected: what is shown and the exact value behind it.
#[derive(Clone)]
enum Want {
    /// A number shown with 2 decimals half up; `%` after a rate; whether hotline's exact
    /// value must be equal (see [`Checker::exact`]).
    Num(Option<Q>, bool, bool),
    /// A count or rank, shown as an integer.
    Int(Option<i64>),
    /// Text (a unit, a grade, 是/否); `None` shows the empty mark.
    Text(Option<String>),
}

const EMPTY_MARK: &str = "—";

fn check_cell(c: &mut Checker, what: &str, want: &Want, cell: &Value) {
    let display = cell["display"].as_str();
    let exact = cell.get("exact").and_then(Value::as_str);
    match want {
        Want::Num(Some(q), percent, strict) => {
            let s = format!("{}{}", shown(q), if *percent { "%" } else { "" });
            c.text(&format!("{what} shown"), Some(&s), display);
            c.exact(&format!("{what} exact"), Some(q), exact, *strict);
        }
        Want::Int(Some(n)) => {
            c.text(&format!("{what} shown"), Some(&n.to_string()), display);
            c.exact(&format!("{what} exact"), Some(&int(*n)), exact, true);
        }
        Want::Text(Some(t)) => c.text(&format!("{what} shown"), Some(t), display),
        Want::Num(None, _, _) | Want::Int(None) | Want::Text(None) => {
            c.text(&format!("{what} shown"), Some(EMPTY_MARK), display);
            c.text(&format!("{what} exact"), None, exact);
        }
    }
}

fn check_table(
    c: &mut Checker,
    tables: &HashMap<String, &Value>,
    name: &str,
    headers: &[&str],
    rows: &[Vec<Want>],
) {
    let Some(t) = tables.get(name) else {
        c.fail(format!("no table {name}"));
        return;
    };
    let got: Vec<&str> = t["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    c.figures += 1;
    if got != headers {
        c.fail(format!("{name}: headers {got:?}, expected {headers:?}"));
        return;
    }
    let got_rows = t["rows"].as_array().unwrap();
    let names = |rows: &[Vec<Want>]| -> Vec<String> {
        rows.iter()
            .map(
                |r| match &r[headers.iter().position(|h| *h == "单位").unwrap()] {
                    Want::Text(Some(u)) => u.clone(),
                    _ => unreachable!(),
                },
            )
            .collect()
    };
    let got_names: Vec<String> = got_rows
        .iter()
        .map(|r| {
            r[headers.iter().position(|h| *h == "单位").unwrap()]["display"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    c.figures += 1;
    if got_names != names(rows) {
        c.fail(format!(
            "{name}: rows {got_names:?}, expected {:?}",
            names(rows)
        ));
        return;
    }
    for (row, want) in got_rows.iter().zip(rows) {
        let unit = &got_names[got_rows.iter().position(|r| std::ptr::eq(r, row)).unwrap()];
        for ((h, w), cell) in headers.iter().zip(want).zip(row.as_array().unwrap()) {
            check_cell(c, &format!("{name} {unit} {h}"), w, cell);
        }
    }
}

const GROUP_HEADERS: &[&str] = &[
    "单位",
    "承办量",
    "及时签收率",
    "签收得分（10）",
    "按时办结率",
    "办结得分（20）",
    "满意率",
    "满意得分（25）",
    "解决率",
    "解决得分（35）",
    "规范得分（10）",
    "加分（3）",
    "总得分",
    "等次",
    "排名",
];

/// Whether hotline must hold `q` exactly: it and the quotients it comes from are finite
/// decimals (`29/35 × 100 × 0.35` is 29, but hotline's 28-digit 82.857… times 0.35 is not).
fn strict(q: &Option<Q>, inputs: &[&Option<Q>]) -> bool {
    q.as_ref().is_none_or(terminates) && inputs.iter().all(|i| i.as_ref().is_none_or(terminates))
}

/// The four rates, the quotients behind a unit's total.
fn rates(u: &Unit) -> [&Option<Q>; 4] {
    [&u.sign_rate, &u.done_rate, &u.sat_rate, &u.solve_rate]
}

fn group_row(u: &Unit) -> Vec<Want> {
    let n = |q: &Option<Q>, inputs: &[&Option<Q>]| Want::Num(q.clone(), false, strict(q, inputs));
    let p = |q: &Option<Q>| Want::Num(q.clone(), true, strict(q, &[]));
    vec![
        Want::Text(Some(u.name.to_string())),
        Want::Int(Some(u.count)),
        p(&u.sign_rate),
        n(&u.sign_score, &[&u.sign_rate]),
        p(&u.done_rate),
        n(&u.done_score, &[&u.done_rate]),
        p(&u.sat_rate),
        n(&u.sat_score, &[&u.sat_rate]),
        p(&u.solve_rate),
        n(&u.solve_score, &[&u.solve_rate]),
        n(&u.norm_score, &[]),
        n(&u.bonus, &[]),
        n(&u.total, &rates(u)),
        Want::Text(u.grade.map(str::to_string)),
        Want::Int(u.rank),
    ]
}

fn list_row(u: &Unit, rank: Option<i64>) -> Vec<Want> {
    vec![
        Want::Int(rank),
        Want::Text(Some(u.name.to_string())),
        Want::Num(u.total.clone(), false, strict(&u.total, &rates(u))),
        Want::Text(u.grade.map(str::to_string)),
        Want::Text(u.tied.map(|t| if t { "并列" } else { "" }.to_string())),
    ]
}

/// Compares the whole report with the exact computation.
fn check_report(
    c: &mut Checker,
    json: &Value,
    units: &[Unit],
    all: &Overall,
    year: i64,
    month: i64,
) {
    let defs = definitions(json);
    let empty = HashMap::new();
    let def = |name: &str| defs.get(name).unwrap_or(&empty);
    let value = |c: &mut Checker, name: &str, key: &str| -> Option<String> {
        if !defs.contains_key(name) {
            c.fail(format!("no definition {name}"));
        }
        def(name).get(key).cloned().flatten()
    };

    // Every figure of every unit, from the model's values.
    for u in units {
        let k = u.name;
        let num = |c: &mut Checker, name: &str, q: &Option<Q>, inputs: &[&Option<Q>]| {
            let v = value(c, name, k);
            c.exact(
                &format!("{k}.{name}"),
                q.as_ref(),
                v.as_deref(),
                strict(q, inputs),
            );
        };
        num(c, "承办量", &Some(int(u.count)), &[]);
        num(c, "及时签收率", &u.sign_rate, &[]);
        num(c, "签收得分", &u.sign_score, &[&u.sign_rate]);
        num(c, "按时办结率", &u.done_rate, &[]);
        num(c, "办结得分", &u.done_score, &[&u.done_rate]);
        num(c, "满意率", &u.sat_rate, &[]);
        num(c, "满意得分", &u.sat_score, &[&u.sat_rate]);
        num(c, "解决率", &u.solve_rate, &[]);
        num(c, "解决得分", &u.solve_score, &[&u.solve_rate]);
        num(c, "规范得分", &u.norm_score, &[]);
        num(c, "加分", &u.bonus, &[]);
        num(c, "总得分", &u.total, &rates(u));
        num(c, "排名", &u.rank.map(int), &[]);
        num(c, "倒数名次", &u.rank_asc.map(int), &[]);
        let grade = value(c, "等次", k);
        c.text(&format!("{k}.等次"), u.grade, grade.as_deref());
    }

    // The city-wide figures.
    let one = |c: &mut Checker, name: &str, q: Option<Q>, inputs: &[&Option<Q>]| {
        let v = value(c, name, "");
        c.exact(name, q.as_ref(), v.as_deref(), strict(&q, inputs));
    };
    one(c, "工单总量", Some(int(all.tickets)), &[]);
    one(c, "参评单位数", Some(int(all.scored)), &[]);
    for (g, n) in exact::GRADES.iter().zip(all.grades) {
        one(c, &format!("{g}单位数"), Some(int(n)), &[]);
    }
    let inputs = |f: &dyn Fn(&Unit) -> [&Option<Q>; 4]| -> Vec<&Option<Q>> {
        units.iter().flat_map(f).collect::<Vec<_>>()
    };
    one(
        c,
        "全市及时签收率",
        all.mean_sign.clone(),
        &inputs(&|u| [&u.sign_rate; 4]),
    );
    one(
        c,
        "全市按时办结率",
        all.mean_done.clone(),
        &inputs(&|u| [&u.done_rate; 4]),
    );
    one(
        c,
        "全市满意率",
        all.mean_sat.clone(),
        &inputs(&|u| [&u.sat_rate; 4]),
    );
    one(
        c,
        "全市解决率",
        all.mean_solve.clone(),
        &inputs(&|u| [&u.solve_rate; 4]),
    );
    one(c, "全市平均得分", all.mean_total.clone(), &inputs(&rates));
    for (name, n) in [
        "县区参评单位数",
        "功能区参评单位数",
        "市直参评单位数",
        "企业参评单位数",
    ]
    .iter()
    .zip(&all.scored_per_group)
    {
        one(c, name, Some(int(*n)), &[]);
    }

    // The tables: each group's results (ranked units by rank, then registry order; units
    // without tickets last), 红榜 and 黑榜.
    let tables = tables(json);
    let list_headers = |first: &'static str| vec![first, "单位", "总得分", "等次", "备注"];
    for (g, &(group, _)) in GROUPS.iter().enumerate() {
        let mut members: Vec<&Unit> = units.iter().filter(|u| u.group == group).collect();
        members.sort_by_key(|u| u.rank.unwrap_or(i64::MAX)); // stable: registry order within
        let rows: Vec<Vec<Want>> = members.iter().map(|u| group_row(u)).collect();
        check_table(c, &tables, &format!("附表 {}", g + 1), GROUP_HEADERS, &rows);

        let red: Vec<Vec<Want>> = members
            .iter()
            .filter(|u| u.red)
            .map(|u| list_row(u, u.rank))
            .collect();
        check_table(
            c,
            &tables,
            &format!("红榜 {}", g + 1),
            &list_headers("名次"),
            &red,
        );

        let mut black: Vec<&Unit> = members.iter().copied().filter(|u| u.black).collect();
        black.sort_by_key(|u| u.rank_asc);
        let black: Vec<Vec<Want>> = black.iter().map(|u| list_row(u, u.rank_asc)).collect();
        check_table(
            c,
            &tables,
            &format!("黑榜 {}", g + 1),
            &list_headers("倒数名次"),
            &black,
        );
    }

    // The prose.
    let texts = texts(json);
    let joined = texts.join("\n");
    let first = texts.first().cloned().unwrap_or_default();
    let pct = |q: &Option<Q>| format!("{}%", shown(q.as_ref().unwrap()));
    c.contains("总体情况", &first, &format!("{year} 年 {month} 月"));
    c.contains("总体情况", &first, &format!("派发工单 {} 件", all.tickets));
    c.contains(
        "总体情况",
        &first,
        &format!("参与评估的承办单位 {} 个", all.scored),
    );
    c.contains(
        "总体情况",
        &first,
        &format!(
            "评定为优秀的 {} 个，良好的 {} 个，合格的 {} 个，不合格的 {} 个。",
            all.grades[0], all.grades[1], all.grades[2], all.grades[3]
        ),
    );
    c.contains(
        "总体情况",
        &first,
        &format!("平均及时签收率 {}，", pct(&all.mean_sign)),
    );
    c.contains(
        "总体情况",
        &first,
        &format!("平均按时办结率 {}，", pct(&all.mean_done)),
    );
    c.contains(
        "总体情况",
        &first,
        &format!("平均满意率 {}，", pct(&all.mean_sat)),
    );
    c.contains(
        "总体情况",
        &first,
        &format!("平均解决率 {}，", pct(&all.mean_solve)),
    );
    c.contains(
        "总体情况",
        &first,
        &format!(
            "平均总得分 {} 分。",
            shown(all.mean_total.as_ref().unwrap())
        ),
    );
    for (&(group, _), n) in GROUPS.iter().zip(&all.scored_per_group) {
        let sentence = format!("{group}本月参评单位 {n} 个，不设黑榜。");
        c.figures += 1;
        if joined.contains(&sentence) != (*n <= 3) {
            c.fail(format!(
                "黑榜 text: {sentence:?} present: {}, expected {}",
                joined.contains(&sentence),
                *n <= 3
            ));
        }
    }
    let failing: Vec<&str> = units
        .iter()
        .filter(|u| u.grade == Some("不合格"))
        .map(|u| u.name)
        .collect();
    let sentence = if failing.is_empty() {
        "本月无评定为不合格的单位。".to_string()
    } else {
        format!(
            "本月评定为不合格的单位共 {} 个：{}。",
            failing.len(),
            failing.join("、")
        )
    };
    c.contains("不合格单位", &joined, &sentence);
}

/// The generated month really holds the edge cases the rules turn on.
fn check_edges(
    units: &[Unit],
    data: &exact::Data,
    cal: &Calendar,
    year: i64,
    month: i64,
    seed: u64,
) -> Vec<String> {
    let mut notes = Vec::new();
    let has = |f: &dyn Fn(&Unit) -> bool| units.iter().any(f);
    let is = |q: &Option<Q>, v: Q| q.as_ref() == Some(&v);
    assert!(
        has(&|u| is(&u.sign_rate, int(85)) && is(&u.sign_score, int(0))),
        "a unit at 85% 及时签收率"
    );
    assert!(
        has(&|u| is(&u.sign_rate, int(95)) && is(&u.sign_score, int(10))),
        "a unit at 95% 及时签收率"
    );
    assert!(
        has(&|u| is(&u.done_rate, int(75)) && is(&u.done_score, int(0))),
        "a unit at 75% 按时办结率"
    );
    assert!(
        has(&|u| is(&u.done_rate, int(95)) && is(&u.done_score, int(20))),
        "a unit at 95% 按时办结率"
    );
    assert!(
        has(&|u| is(&u.sat_rate, int(73)) && is(&u.sat_score, frac(25, 2))),
        "a unit at 73% 满意率"
    );
    assert!(
        has(&|u| is(&u.sat_rate, int(98)) && is(&u.sat_score, int(25))),
        "a unit at 98% 满意率"
    );
    assert!(
        has(&|u| u.capped && is(&u.total, int(100))),
        "a unit over 100 with its bonus"
    );
    assert!(
        has(&|u| is(&u.total, frac(95625, 1000))),
        "a total at a rounding midpoint"
    );
    assert!(
        has(&|u| u.grade == Some("良好") && shown(u.total.as_ref().unwrap()) == "90"),
        "良好 shown as 90"
    );
    for (g, want) in [("优秀", int(90)), ("良好", int(80)), ("合格", int(60))] {
        assert!(
            has(&|u| u.grade == Some(g) && is(&u.total, want.clone())),
            "{g} at its bound"
        );
    }
    assert!(has(&|u| u.count == 0), "a unit without tickets");
    assert!(
        has(&|u| u.count > 0 && u.due == 0),
        "a unit without tickets due"
    );
    assert!(
        has(&|u| is(&u.norm_score, int(0))),
        "a unit with 规范得分 0"
    );
    let mut sums: HashMap<&str, Q> = HashMap::new();
    for (u, b) in &data.bonus {
        *sums.entry(u.as_str()).or_insert_with(|| int(0)) += b;
    }
    assert!(
        sums.values().filter(|s| **s > int(3)).count() >= 2,
        "bonus sums over 3"
    );
    let red = |g: &str| units.iter().filter(|u| u.group == g && u.red).count();
    assert!(red("市直部门") >= 5, "a 3-way tie at rank 3 of 市直部门");
    assert!(
        units
            .iter()
            .filter(|u| u.group == "县（市、区）" && u.rank == Some(1))
            .count()
            == 3,
        "1, 1, 1, 4"
    );
    let trio: Vec<&Unit> = units
        .iter()
        .filter(|u| u.group == "市直部门" && u.rank == Some(3))
        .collect();
    let distinct: std::collections::HashSet<String> = trio
        .iter()
        .map(|u| u.total.as_ref().unwrap().to_string())
        .collect();
    assert!(
        distinct.len() == 3,
        "the tie at rank 3 is of three different exact totals"
    );

    // Times: the working-day boundaries, and what the official calendar changes.
    let first = days_from_civil(year, month, 1);
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    let naive = Calendar {
        first_year: cal.first_year,
        last_year: cal.last_year,
        holidays: Default::default(),
        workdays: Default::default(),
    };
    let mut exactly_one = 0;
    let mut one_second_late = 0;
    let mut calendar_matters = 0;
    let mut friday_monday = 0;
    for t in &data.tickets {
        let Some(s) = t.signed else { continue };
        let w = cal.working_seconds(t.dispatched, s);
        exactly_one += (w == DAY) as usize;
        one_second_late += (w == DAY + 1) as usize;
        calendar_matters +=
            ((w <= DAY) != (naive.working_seconds(t.dispatched, s) <= DAY)) as usize;
        friday_monday += (city::calendar::weekday(t.dispatched.div_euclid(DAY)) == 4
            && t.dispatched.rem_euclid(DAY) == 17 * 3600
            && (s - t.dispatched == 3 * DAY || s - t.dispatched == 3 * DAY + 1))
            as usize;
    }
    assert!(
        exactly_one > 0 && one_second_late > 0 && friday_monday > 0,
        "signing boundaries"
    );
    let holidays_in_month =
        cal.holidays.range(first..next).count() + cal.workdays.range(first..next).count();
    if holidays_in_month > 0 {
        assert!(
            calendar_matters > 0,
            "tickets whose timeliness the holiday calendar decides"
        );
    }
    let month_end = (next * DAY) - 1;
    assert!(
        data.tickets.iter().any(|t| t.deadline == month_end),
        "a deadline at the month's last second"
    );
    assert!(
        data.tickets.iter().any(|t| t.deadline == next * DAY),
        "a deadline on the 1st of next month"
    );
    notes.push(format!(
        "signing: {exactly_one} at exactly 1 working day, {one_second_late} one second over, \
         {friday_monday} Friday 17:00 → Monday, {calendar_matters} decided by holidays/调休 (seed {seed})"
    ));
    notes
}

#[test]
fn city_scheme_matches_exact_computation() {
    let cal = Calendar::china();
    let mut total_figures = 0;
    for &(seed, year, month) in CASES {
        total_figures += check_case(&cal, seed, year, month, false);
    }
    println!("all {} cases: {total_figures} figures checked", CASES.len());
}

/// Bounds reached through thirds: a total of exactly 60 (满意 500/6, 解决 1/15) is
/// 59.999999999999999999999999998 in hotline's 28-digit decimals; the band 等次 must
/// still grade it 合格 (it graded 不合格 until bands compared the value snapped as shown
/// values are). The unit whose total is exactly 64.125 through thirds must show 64.13.
#[test]
fn city_scheme_bounds_reached_through_thirds() {
    let cal = Calendar::china();
    check_case(&cal, 5, 2024, 3, true);
}

/// Generates one month, renders it with the binary and compares every figure; panics with
/// the differences. Returns the number of figures checked.
fn check_case(cal: &Calendar, seed: u64, year: i64, month: i64, thirds: bool) -> usize {
    let label = format!("{year:04}-{month:02}");
    let dir = std::env::temp_dir().join(format!(
        "hotline-city-{}-{seed}-{label}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let plan = generate::generate_with(&dir, seed, year, month, cal, thirds);
    let data = exact::read(&dir.join(&label));
    let (units, all) = exact::compute(&data, cal, year, month);
    let notes = check_edges(&units, &data, cal, year, month, seed);

    let json = render(&dir, &label);
    let mut c = Checker::default();
    check_report(&mut c, &json, &units, &all, year, month);
    let scored = units.iter().filter(|u| u.total.is_some()).count();
    println!(
        "{label} seed {seed}: {} tickets ({} calendar edge pairs), {} units ({scored} scored, \
         grades {:?}), {} figures checked ({} exact values required equal, {} within 1e-20), \
         {} failed",
        plan.tickets,
        plan.specials,
        units.len(),
        all.grades,
        c.figures,
        c.equal,
        c.close,
        c.failures.len()
    );
    for n in notes {
        println!("  {n}");
    }
    if !c.failures.is_empty() {
        panic!(
            "{label} seed {seed}: {} of {} figures differ (data kept in {}):\n{}",
            c.failures.len(),
            c.figures,
            dir.display(),
            c.failures
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    c.figures
}

/// The generator and the exact computation alone (no binary): deterministic, and the
/// working-day arithmetic on the examples of the rules.
#[test]
fn city_generator_and_calendar() {
    let cal = Calendar::china();
    let at = |s: &str| city::calendar::parse_datetime(s);
    let days = |a: &str, b: &str| frac(cal.working_seconds(at(a), at(b)), DAY);
    // Friday 17:00 to Monday 17:00 is exactly one working day; one second more is late.
    assert_eq!(days("2024-03-01 17:00:00", "2024-03-04 17:00:00"), int(1));
    assert_eq!(
        days("2024-03-01 17:00:00", "2024-03-04 17:00:01"),
        int(1) + frac(1, DAY)
    );
    // 国庆 2024: 10-01..10-07 rest, Saturday 10-12 worked.
    assert_eq!(days("2024-09-30 17:00:00", "2024-10-08 17:00:00"), int(1));
    assert_eq!(
        days("2024-10-11 17:00:00", "2024-10-13 17:00:00"),
        frac(7 + 24, 24)
    );
    assert_eq!(days("2024-10-12 17:00:00", "2024-10-14 17:00:00"), int(1));
    // 春节 2024: Sunday 02-04 and 02-18 worked, 02-10..02-17 rest.
    assert_eq!(days("2024-02-09 09:00:00", "2024-02-18 09:00:00"), int(1));
    assert_eq!(days("2024-02-03 12:00:00", "2024-02-05 00:00:00"), int(1));
    // Rounding and showing.
    assert_eq!(shown(&frac(95625, 1000)), "95.63");
    assert_eq!(shown(&frac(2, 3)), "0.67");
    assert_eq!(shown(&int(100)), "100");
    assert_eq!(shown(&frac(922, 10)), "92.2");
    assert!(!terminates(&frac(1, 3)) && terminates(&frac(3, 8)));

    let a = std::env::temp_dir().join(format!("hotline-city-det-a-{}", std::process::id()));
    let b = std::env::temp_dir().join(format!("hotline-city-det-b-{}", std::process::id()));
    generate::generate(&a, 5, 2024, 10, &cal);
    generate::generate(&b, 5, 2024, 10, &cal);
    for f in ["tickets.csv", "irregular.csv", "bonus.csv"] {
        let x = std::fs::read(a.join("2024-10").join(f)).unwrap();
        let y = std::fs::read(b.join("2024-10").join(f)).unwrap();
        assert_eq!(x, y, "{f} is deterministic");
    }
    std::fs::remove_dir_all(&a).unwrap();
    std::fs::remove_dir_all(&b).unwrap();
}

/// Every case's month holds the edge cases (without the binary: generator and exact
/// computation only). `CITY_DUMP=1` prints every unit's figures.
#[test]
fn city_generated_months_hold_the_edge_cases() {
    let cal = Calendar::china();
    for &(seed, year, month) in CASES {
        let label = format!("{year:04}-{month:02}");
        let dir = std::env::temp_dir().join(format!(
            "hotline-city-edges-{}-{seed}-{label}",
            std::process::id()
        ));
        generate::generate(&dir, seed, year, month, &cal);
        let data = exact::read(&dir.join(&label));
        let (units, _) = exact::compute(&data, &cal, year, month);
        if std::env::var_os("CITY_DUMP").is_some() {
            for u in &units {
                let s = |q: &Option<Q>| q.as_ref().map(shown).unwrap_or_else(|| EMPTY_MARK.into());
                println!(
                    "{label} {} {} n={} 签收 {} {} 办结 {} {} 满意 {} {} 解决 {} {} 规范 {} 加分 {} 总 {} {:?} #{:?}/{:?} red={} black={}",
                    u.group, u.name, u.count, s(&u.sign_rate), s(&u.sign_score), s(&u.done_rate), s(&u.done_score),
                    s(&u.sat_rate), s(&u.sat_score), s(&u.solve_rate), s(&u.solve_score), s(&u.norm_score),
                    s(&u.bonus), s(&u.total), u.grade, u.rank, u.rank_asc, u.red, u.black
                );
            }
        }
        for n in check_edges(&units, &data, &cal, year, month, seed) {
            println!("{label}: {n}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
