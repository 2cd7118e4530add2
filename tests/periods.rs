//! Periods: a policy over a quarter of months, its values `each month`, sources of other
//! periods, and months without data. The same tickets are read from CSV (streamed file
//! by file) and from JSON Lines (whole tables put one after another); both must agree.
//! Each expected value is worked out by hand in the comment beside it.

use hotline::report::ReportModel;
use hotline::span::SourceFile;
use hotline::{Period, Problem};
use std::path::PathBuf;

/// Tickets by month: unit, dispatched, finished, satisfaction.
type Ticket = (&'static str, &'static str, &'static str, &'static str);

const MONTHS: &[(&str, &[Ticket])] = &[
    (
        "2022-01",
        &[
            ("甲区", "2022-01-03 09:00:00", "", ""),
            ("甲区", "2022-01-04 09:00:00", "", ""),
        ],
    ),
    // 2022-02 has no folder.
    ("2022-03", &[("乙区", "2022-03-03 09:00:00", "", "")]),
    // 2022-10 and 2022-11 have no folder.
    ("2022-12", &[("丙区", "2022-12-03 09:00:00", "", "")]),
    (
        "2023-01",
        &[
            ("甲区", "2023-01-05 09:00:00", "2023-01-20 10:00:00", "90"),
            ("甲区", "2023-01-30 09:00:00", "2023-02-02 10:00:00", "80"),
            ("甲区", "2023-01-10 09:00:00", "", ""),
            ("乙区", "2023-01-11 09:00:00", "2023-01-15 10:00:00", "100"),
        ],
    ),
    (
        "2023-02",
        &[
            ("甲区", "2023-02-01 09:00:00", "2023-02-10 10:00:00", "70"),
            ("乙区", "2023-02-20 09:00:00", "2023-02-28 23:00:00", "100"),
            ("乙区", "2023-02-21 09:00:00", "2023-03-01 08:00:00", "90"),
        ],
    ),
    (
        "2023-03",
        &[
            ("甲区", "2023-03-02 09:00:00", "2023-03-31 12:00:00", ""),
            ("甲区", "2023-03-03 09:00:00", "2023-03-05 10:00:00", "60"),
            ("丙区", "2023-03-20 09:00:00", "2023-04-01 09:00:00", "50"),
        ],
    ),
];

const POLICY: &str = r#"
policy "t" { rounding half_up }
source 工单 from FORMAT {
  单位     unit
  派单时间 datetime
  办结时间 datetime?
  满意度   percent?
}
source 去年 = 工单 same period last year
source 上期 = 工单 previous period
source 上月 = 工单 previous month
units { 区: 甲区, 乙区, 丙区 }

metric 件数 from 工单 by 单位 = count()
metric 当月办结 from 工单 by 单位 = count(办结时间 is not empty and 办结时间 <= month_end)
metric 满意率 from 工单 by 单位 = mean(满意度) only where 件数 > 0
metric 去年件数 from 去年 = count()
metric 上期件数 from 上期 = count()
metric 上月件数 from 上月 = count()
ranking 月排名 by 件数 desc ties shared

metric 月均件数 = mean(件数 each month)
metric 有件月数 = count(件数 > 0 each month)
metric 最高满意率 = max(满意率 each month)
metric 件数合计 = sum(件数 each month where 件数 >= 2)
metric 第一月数 = count(月排名 == 1 each month)
metric 月均总件数 = mean(sum(件数) each month)
metric 期内办结 from 工单 = count(办结时间 <= period_end)
metric 首月件数 = first(件数 each month)
metric 次月件数 = nth(件数 each month, 2)
metric 末月件数 = last(件数 each month)

report {
  table "各区" {
    rows unit
    column "件数" = 件数
    column "当月办结" = 当月办结
    column "{{ month }}月件数" = 件数 each month
  }
}
"#;

fn folder(name: &str, format: &str, skip: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "hotline-periods-{}-{name}-{format}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (month, tickets) in MONTHS {
        if skip.contains(month) {
            continue;
        }
        let at = dir.join(month);
        std::fs::create_dir_all(&at).expect("mkdir");
        let text: String = if format == "csv" {
            let mut t = "单位,派单时间,办结时间,满意度\n".to_string();
            for (u, from, to, s) in *tickets {
                t.push_str(&format!("{u},{from},{to},{s}\n"));
            }
            t
        } else {
            let quoted = |v: &str| {
                if v.is_empty() {
                    "null".to_string()
                } else {
                    format!("\"{v}\"")
                }
            };
            tickets
                .iter()
                .map(|(u, from, to, s)| {
                    format!(
                        "{{\"单位\": \"{u}\", \"派单时间\": \"{from}\", \"办结时间\": {}, \"满意度\": {}}}\n",
                        quoted(to),
                        quoted(s)
                    )
                })
                .collect()
        };
        std::fs::write(at.join(format!("tickets.{format}")), text).expect("write");
    }
    dir
}

fn compile(format: &str) -> (SourceFile, hotline::check::Checked) {
    let from = if format == "csv" {
        r#"csv "tickets.csv""#
    } else {
        r#"jsonl "tickets.jsonl""#
    };
    let file = SourceFile::new("t.policy", POLICY.replace("FORMAT", from));
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:#?}"));
    (file, checked)
}

/// The period evaluated on CSV files and on JSON Lines files: the same values.
fn run(name: &str, period: &str, skip: &[&str]) -> ReportModel {
    let period = Period::parse(period).expect("period");
    let mut models = Vec::new();
    for format in ["csv", "jsonl"] {
        let dir = folder(name, format, skip);
        let (file, checked) = compile(format);
        let model =
            hotline::evaluate_period(&checked, &dir, period, &|_, _, _| {}).unwrap_or_else(|p| {
                let text: Vec<String> = p
                    .into_iter()
                    .map(|p| hotline::render_diagnostic(&file, p, false))
                    .collect();
                panic!("{}", text.join("\n"))
            });
        let _ = std::fs::remove_dir_all(dir);
        models.push(model);
    }
    assert_eq!(
        models[0].values, models[1].values,
        "CSV and JSON Lines differ"
    );
    models.swap_remove(0)
}

fn value(model: &ReportModel, name: &str, key: Option<&str>) -> Option<String> {
    let def = model
        .values
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no `{name}`"));
    match key {
        None => def.value.clone(),
        Some(key) => def
            .values
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.clone()),
    }
}

fn number(model: &ReportModel, name: &str, key: Option<&str>) -> rust_decimal::Decimal {
    let text = value(model, name, key).unwrap_or_else(|| panic!("`{name}` {key:?} is empty"));
    text.parse().unwrap_or_else(|_| panic!("`{name}`: {text}"))
}

/// The headers and rows of the report's table, as shown.
fn table(model: &ReportModel) -> (Vec<String>, Vec<Vec<String>>) {
    for section in &model.sections {
        if let hotline::report::SectionModel::Table(t) = section {
            let rows = t
                .rows
                .iter()
                .map(|r| r.iter().map(|c| c.display.clone()).collect())
                .collect();
            return (t.headers.clone(), rows);
        }
    }
    panic!("no table")
}

fn warnings(model: &ReportModel) -> Vec<String> {
    model.warnings.iter().map(|w| w.to_string()).collect()
}

#[test]
fn a_quarter_reads_every_month_and_aggregates_each_month() {
    let m = run("q1", "2023-Q1", &[]);
    assert_eq!(m.month, "2023-Q1");
    let n = |name: &str, key: &str| number(&m, name, Some(key));
    // Tickets of the quarter: 甲 3 + 1 + 2, 乙 1 + 2 + 0, 丙 0 + 0 + 1.
    assert_eq!(
        (n("件数", "甲区"), n("件数", "乙区"), n("件数", "丙区")),
        (6.into(), 3.into(), 1.into())
    );
    // Finished by the end of the ticket's own month: 甲 Jan 1 (not 02-02), Feb 1, Mar 2
    // (03-31 12:00 is on the last day); 乙 Jan 1, Feb 1 (not 03-01); 丙 0 (04-01).
    // By the end of the quarter it would be 5, 3 and 0.
    assert_eq!(
        (
            n("当月办结", "甲区"),
            n("当月办结", "乙区"),
            n("当月办结", "丙区")
        ),
        (4.into(), 2.into(), 0.into())
    );
    // Means of the months: 甲 (3 + 1 + 2) / 3, 乙 (1 + 2 + 0) / 3, 丙 (0 + 0 + 1) / 3.
    assert_eq!(n("月均件数", "甲区"), 2.into());
    assert_eq!(n("月均件数", "乙区"), 1.into());
    assert_eq!(
        n("月均件数", "丙区").round_dp(6),
        "0.333333".parse().unwrap()
    );
    assert_eq!(
        (
            n("有件月数", "甲区"),
            n("有件月数", "乙区"),
            n("有件月数", "丙区")
        ),
        (3.into(), 2.into(), 1.into())
    );
    // Satisfaction by month: 甲 85, 70, 60; 乙 100, 95, none (no tickets); 丙 none, none, 50.
    assert_eq!(n("最高满意率", "甲区"), 85.into());
    assert_eq!(n("最高满意率", "乙区"), 100.into());
    assert_eq!(n("最高满意率", "丙区"), 50.into());
    // The months with at least two tickets: 甲 3 + 2, 乙 2, 丙 none.
    assert_eq!(
        (
            n("件数合计", "甲区"),
            n("件数合计", "乙区"),
            n("件数合计", "丙区")
        ),
        (5.into(), 2.into(), 0.into())
    );
    // First by tickets: January 甲, February 乙, March 甲.
    assert_eq!(
        (
            n("第一月数", "甲区"),
            n("第一月数", "乙区"),
            n("第一月数", "丙区")
        ),
        (2.into(), 1.into(), 0.into())
    );
    // A column each month: one per month, the header of each its own.
    let (headers, rows) = table(&m);
    assert_eq!(
        headers,
        ["件数", "当月办结", "1月件数", "2月件数", "3月件数"]
    );
    assert_eq!(rows[0], ["6", "4", "3", "1", "2"]);
    // The months picked by their place: 甲 3, 1, 2.
    assert_eq!(
        (
            n("首月件数", "甲区"),
            n("次月件数", "甲区"),
            n("末月件数", "甲区")
        ),
        (3.into(), 1.into(), 2.into())
    );
    // The county's tickets each month: 4, 3, 3.
    assert_eq!(
        number(&m, "月均总件数", None).round_dp(6),
        "3.333333".parse().unwrap()
    );
    // Finished by 2023-03-31 (a finish time on that day counts): all but 04-01 and the unfinished one.
    assert_eq!(number(&m, "期内办结", None), 8.into());
    // Last year's quarter: 2022-01 (2) and 2022-03 (1); 2022-02 is missing.
    assert_eq!(number(&m, "去年件数", None), 3.into());
    // The quarter before: only 2022-12 (1).
    assert_eq!(number(&m, "上期件数", None), 1.into());
    // Each month one month back: 2022-12 (1), 2023-01 (4), 2023-02 (3).
    assert_eq!(number(&m, "上月件数", None), 8.into());
    // Read only `each month`, 满意率 and 月排名 have no value of the quarter (pooled
    // over its tickets they would mean nothing the policy says).
    let names: Vec<&str> = m.values.iter().map(|d| d.name.as_str()).collect();
    assert!(
        !names.contains(&"满意率") && !names.contains(&"月排名"),
        "{names:?}"
    );
    let w = warnings(&m);
    assert_eq!(w.len(), 2, "{w:#?}");
    assert!(
        w.iter()
            .any(|w| w.contains("`去年` (same period last year) has no data for 2022-02 (")),
        "{w:#?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("`上期` (previous period) has no data for 2022-10, 2022-11 (")),
        "{w:#?}"
    );
}

#[test]
fn a_month_of_the_period_without_data_is_named_and_left_out() {
    let m = run("gap", "2023-Q1", &["2023-03"]);
    let n = |name: &str, key: &str| number(&m, name, Some(key));
    // January and February only.
    assert_eq!(
        (n("件数", "甲区"), n("件数", "乙区"), n("件数", "丙区")),
        (4.into(), 3.into(), 0.into())
    );
    assert_eq!(n("月均件数", "甲区"), 2.into());
    assert_eq!(n("月均件数", "乙区"), "1.5".parse().unwrap());
    assert_eq!(n("有件月数", "丙区"), 0.into());
    assert_eq!(value(&m, "最高满意率", Some("丙区")), None);
    // March has no data: its column is there, empty.
    let (headers, rows) = table(&m);
    assert_eq!(headers[4], "3月件数");
    assert_eq!(rows[0][2..], ["3", "1", "—"]);
    // March, the last month of the quarter, has no data: no value, not February's.
    assert_eq!(value(&m, "末月件数", Some("甲区")), None);
    assert_eq!(n("次月件数", "甲区"), 1.into());
    // Like for like: last year's January and February only (2022-01: 2; 2022-02 is missing).
    assert_eq!(number(&m, "去年件数", None), 2.into());
    // Each month of data one month back: 2022-12 (1) and 2023-01 (4).
    assert_eq!(number(&m, "上月件数", None), 5.into());
    // The quarter before is the quarter before, whatever months this one has.
    assert_eq!(number(&m, "上期件数", None), 1.into());
    let w = warnings(&m);
    assert!(w[0].starts_with("no data for 2023-03"), "{w:#?}");
}

#[test]
fn one_month_is_a_period_of_one() {
    // The same policy on one month: `each month` is that month.
    let m = run("one", "2023-02", &[]);
    let n = |name: &str, key: &str| number(&m, name, Some(key));
    assert_eq!(n("月均件数", "乙区"), n("件数", "乙区"));
    assert_eq!(n("最高满意率", "乙区"), 95.into());
    // On one month, every definition has its value; the first month is the last.
    assert_eq!(n("满意率", "乙区"), 95.into());
    assert_eq!(n("首月件数", "乙区"), 2.into());
    assert_eq!(n("末月件数", "乙区"), 2.into());
    assert_eq!(value(&m, "次月件数", Some("乙区")), None);
    assert_eq!(table(&m).0, ["件数", "当月办结", "2月件数"]);
    // 上期 and 上月 are both January.
    assert_eq!(number(&m, "上期件数", None), 4.into());
    assert_eq!(number(&m, "上月件数", None), 4.into());
    // And the same values as a month evaluated the usual way.
    let dir = folder("one-month", "csv", &[]);
    let (_, checked) = compile("csv");
    let month = hotline::Month::parse("2023-02").expect("month");
    let usual = hotline::evaluate(&checked, &dir, month).expect("evaluate");
    let tables = hotline::eval::load(&checked, &dir, month).expect("load");
    let whole = hotline::eval::evaluate_tables(&checked, tables, month, true).expect("whole");
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(usual.values, m.values);
    assert_eq!(whole.values, m.values);
}

#[test]
fn a_period_without_any_data_is_an_error() {
    let dir = folder("none", "csv", &[]);
    let (_, checked) = compile("csv");
    let period = Period::parse("2021").expect("period");
    let problems = match hotline::evaluate_period(&checked, &dir, period, &|_, _, _| {}) {
        Ok(_) => panic!("a year without data evaluated"),
        Err(p) => p,
    };
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        matches!(&problems[0], Problem::Eval(e) if e.to_string().starts_with("no data for 2021-01"))
    );
}

#[test]
fn render_takes_a_period_and_names_missing_months_on_stderr() {
    let dir = folder("cli", "csv", &["2023-02"]);
    let policy_path = dir.join("t.policy");
    std::fs::write(
        &policy_path,
        POLICY.replace("FORMAT", r#"csv "tickets.csv""#),
    )
    .expect("write");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .arg("render")
            .arg(&policy_path)
            .arg("--data")
            .arg(&dir)
            .args(args)
            .output()
            .expect("run")
    };
    let out = run(&["--period", "2023-Q1", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no data for 2023-02"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["month"], "2023-Q1");
    assert!(json["warnings"][0]
        .as_str()
        .is_some_and(|w| w.contains("2023-02")));
    // `last 2 months` ends with the latest folder, 2023-03: February (missing) and March.
    let out = run(&["--period", "last 2 months", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["month"], "2023-02..2023-03");
    // Explained month by month, the missing month named on stderr.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("explain")
        .arg(&policy_path)
        .arg("--data")
        .arg(&dir)
        .args([
            "--period",
            "2023-Q1",
            "--unit",
            "甲区",
            "--metric",
            "月均件数",
        ])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 甲区: January 3, February no data, March 2; the mean of the two months with data.
    assert!(
        stdout.contains("各月 `件数`：2023-01 3、2023-02 —、2023-03 2；取平均"),
        "{stdout}"
    );
    assert!(stdout.contains("月均件数 = 2.5"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no data for 2023-02"));
    // A change to the policy, compared over the quarter: the mean of the months moves.
    let changed = dir.join("changed.policy");
    std::fs::write(
        &changed,
        POLICY
            .replace("FORMAT", r#"csv "tickets.csv""#)
            .replace("mean(件数 each month)", "max(件数 each month)"),
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("diff")
        .arg(&policy_path)
        .arg(&changed)
        .arg("--data")
        .arg(&dir)
        .args(["--period", "2023-Q1", "--format", "json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["month"], "2023-Q1");
    // 甲区: the mean of its months with data, 3 and 2, was 2.5; the larger is 3. 乙区
    // (1 and 0 → 0.5 / 1) and 丙区 (0 and 1 → 0.5 / 1) change too.
    let metric = json["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["metric"] == "月均件数"))
        .unwrap_or_else(|| panic!("no change of 月均件数: {json}"));
    let change = |key: &str| {
        metric["changes"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["key"] == key))
            .map(|c| (c["old"]["exact"].clone(), c["new"]["exact"].clone()))
            .unwrap_or_else(|| panic!("no change for {key}: {metric}"))
    };
    assert_eq!(
        change("甲区"),
        (serde_json::json!("2.5"), serde_json::json!("3"))
    );
    assert_eq!(
        change("乙区"),
        (serde_json::json!("0.5"), serde_json::json!("1"))
    );
    // Not a period; both a month and a period.
    let out = run(&["--period", "2023-Q5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a period"));
    let out = run(&["--period", "2023", "--month", "2023-01"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_row_without_its_key_is_named_in_its_own_month_s_file() {
    // JSON Lines of two months read one after another: the empty key of February's second
    // line is reported at February's file and line, not January's.
    let dir = std::env::temp_dir().join(format!("hotline-periods-{}-key", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (month, lines) in [
        ("2023-01", "{\"单位\": \"甲区\"}\n{\"单位\": \"乙区\"}\n"),
        ("2023-02", "{\"单位\": \"甲区\"}\n{\"单位\": null}\n"),
    ] {
        std::fs::create_dir_all(dir.join(month)).expect("mkdir");
        std::fs::write(dir.join(month).join("t.jsonl"), lines).expect("write");
    }
    let file = SourceFile::new(
        "t.policy",
        "source t from jsonl \"t.jsonl\" { 单位 unit? }\nunits { 区: 甲区, 乙区 }\nmetric n from t by 单位 = count()\nreport { table \"t\" { rows unit column \"n\" = n } }\n",
    );
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:#?}"));
    let period = Period::parse("2023-01..2023-02").expect("period");
    let problems = match hotline::evaluate_period(&checked, &dir, period, &|_, _, _| {}) {
        Ok(_) => panic!("an empty key evaluated"),
        Err(p) => p,
    };
    let message = problems[0].to_string();
    assert!(message.starts_with("1 rows of `"), "{message}");
    assert!(message.contains("2023-02/t.jsonl"), "{message}");
    assert!(message.contains("(lines 2)"), "{message}");
    let _ = std::fs::remove_dir_all(dir);
}
