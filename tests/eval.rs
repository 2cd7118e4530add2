//! Evaluator tests on small policies and data written by the tests.

use hotline::report::{ReportModel, SectionModel};
use hotline::span::SourceFile;
use hotline::Problem;
use std::path::PathBuf;

/// A fresh data folder holding `2023-03/tickets.csv`.
fn data(name: &str, csv: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-eval-{}-{name}", std::process::id()));
    let month = dir.join("2023-03");
    std::fs::create_dir_all(&month).expect("mkdir");
    std::fs::write(month.join("tickets.csv"), csv).expect("write");
    dir
}

const HEAD: &str = r#"
policy "t" { rounding ROUNDING }
source 工单 from csv "tickets.csv" {
  单位 unit?
  按时 bool(是 = true, 否 = false)
  解决 enum(已解决, 基本解决, 未解决)?
}
units { 镇街: 甲镇, 乙镇, 丙镇 }
"#;

fn run(policy: &str, rounding: &str, dir: &std::path::Path) -> Result<ReportModel, Vec<Problem>> {
    let text = HEAD.replace("ROUNDING", rounding) + policy;
    let file = SourceFile::new("t.policy", text);
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    hotline::evaluate(
        &checked,
        dir,
        hotline::Month::parse("2023-03").expect("month"),
    )
}

fn cells(model: &ReportModel, table: &str) -> Vec<Vec<String>> {
    model
        .sections
        .iter()
        .find_map(|s| match s {
            SectionModel::Table(t) if t.name == table => Some(
                t.rows
                    .iter()
                    .map(|r| r.iter().map(|c| c.display.clone()).collect())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

fn tickets(rows: &[(&str, &str, &str, usize)]) -> String {
    let mut csv = String::from("单位,按时,解决\n");
    for (unit, on_time, resolved, n) in rows {
        for _ in 0..*n {
            csv.push_str(&format!("{unit},{on_time},{resolved}\n"));
        }
    }
    csv
}

const SCORE: &str = r#"
metric 量 from 工单 by 单位 = count()
metric 按时率 from 工单 by 单位 = share(按时) default 100%
metric 解决率 from 工单 by 单位 = mean(解决 -> {已解决: 100%, 基本解决: 80%, 未解决: 0%}) default 100%
score 得分 = 5% 按时率 + 95% 解决率
report {
  table "t" {
    rows unit where 量 > 0
    column "单位" = unit
    column "量" = 量
    column "按时率" = 按时率
    column "按时得分" = 得分.按时率
    column "解决率" = 解决率
    column "得分" = 得分
  }
}
"#;

#[test]
fn an_exact_midpoint_rounds_half_up_and_half_even_as_declared() {
    // 173 of 200 on time: 86.5%, weighted 5%: exactly 4.325 points.
    let dir = data(
        "midpoint",
        &tickets(&[("甲镇", "是", "已解决", 173), ("甲镇", "否", "已解决", 27)]),
    );
    let up = run(SCORE, "half_up", &dir).expect("evaluates");
    assert_eq!(
        cells(&up, "t"),
        vec![vec!["甲镇", "200", "86.5%", "4.33", "100%", "99.33"]]
    );
    let even = run(SCORE, "half_even", &dir).expect("evaluates");
    assert_eq!(
        cells(&even, "t"),
        vec![vec!["甲镇", "200", "86.5%", "4.32", "100%", "99.32"]]
    );
    // The JSON model keeps the exact value.
    let json = hotline::render::json(&up);
    assert!(json.contains("\"4.325\""), "exact 4.325 in {json}");
}

#[test]
fn empty_aggregates_take_their_default() {
    // 乙镇 has tickets but no callback answers: 解决率 falls back to 100%.
    let dir = data(
        "empty",
        &tickets(&[
            ("甲镇", "是", "未解决", 1),
            ("甲镇", "是", "基本解决", 1),
            ("乙镇", "否", "", 2),
        ]),
    );
    let model = run(SCORE, "half_up", &dir).expect("evaluates");
    assert_eq!(
        cells(&model, "t"),
        vec![
            vec!["甲镇", "2", "100%", "5", "40%", "43"],
            vec!["乙镇", "2", "0%", "0", "100%", "95"],
        ]
    );
}

#[test]
fn a_unit_without_rows_counts_zero_and_is_filtered_by_the_table() {
    let dir = data("absent", &tickets(&[("甲镇", "是", "已解决", 3)]));
    let model = run(SCORE, "half_up", &dir).expect("evaluates");
    let rows = cells(&model, "t");
    assert_eq!(rows.len(), 1);
    let per_unit = model.values.iter().find(|d| d.name == "量").expect("量");
    assert_eq!(
        per_unit.values,
        vec![
            ("甲镇".to_string(), Some("3".to_string())),
            ("乙镇".to_string(), Some("0".to_string())),
            ("丙镇".to_string(), Some("0".to_string())),
        ]
    );
}

#[test]
fn bands_put_exactly_10_and_100_in_the_upper_band() {
    let policy = r#"
metric 量 from 工单 by 单位 = count()
bands 规模 on 量 { 大: >= 100  中: 10 ..< 100  小: 1 ..< 10 }
report {
  table "t" {
    rows unit where 量 > 0 order by 量 desc
    column "单位" = unit
    column "规模" = 规模
  }
}
"#;
    let dir = data(
        "bands",
        &tickets(&[
            ("甲镇", "是", "", 100),
            ("乙镇", "是", "", 10),
            ("丙镇", "是", "", 9),
        ]),
    );
    let model = run(policy, "half_up", &dir).expect("evaluates");
    assert_eq!(
        cells(&model, "t"),
        vec![vec!["甲镇", "大"], vec!["乙镇", "中"], vec!["丙镇", "小"]]
    );
}

#[test]
fn rankings_break_ties_by_the_declared_keys_then_unit_order() {
    let policy = r#"
metric 量 from 工单 by 单位 = count()
metric 按时率 from 工单 by 单位 = share(按时) default 100%
ranking 排名 by 按时率 desc, 量 asc
report {
  table "t" {
    rows unit where 量 > 0 order by 排名
    column "单位" = unit
    column "名次" = 排名
  }
}
"#;
    // All on time: equal rates; 丙镇 has fewer tickets; 甲镇 and 乙镇 tie on both keys.
    let dir = data(
        "ties",
        &tickets(&[
            ("乙镇", "是", "", 2),
            ("甲镇", "是", "", 2),
            ("丙镇", "是", "", 1),
        ]),
    );
    let model = run(policy, "half_up", &dir).expect("evaluates");
    assert_eq!(
        cells(&model, "t"),
        vec![vec!["丙镇", "1"], vec!["甲镇", "2"], vec!["乙镇", "3"]]
    );
}

#[test]
fn rows_with_an_empty_grouping_field_are_an_error_not_dropped() {
    let dir = data(
        "emptykey",
        &tickets(&[("甲镇", "是", "", 1), ("", "是", "", 2)]),
    );
    let err = run("metric 量 from 工单 by 单位 = count()\nreport { table \"t\" { rows unit column \"n\" = 量 } }", "half_up", &dir)
        .expect_err("must fail");
    let text = format!("{}", err[0]);
    assert!(text.contains("2 rows"), "{text}");
    assert!(text.contains("lines 3, 4"), "{text}");
}

#[test]
fn a_bad_value_names_file_line_column_and_value() {
    let dir = data(
        "badvalue",
        "单位,按时,解决\n甲镇,是,已解决\n甲镇,也许,已解决\n丁镇,是,已解决\n",
    );
    let errs = run(SCORE, "half_up", &dir).expect_err("must fail");
    let rendered: String = errs
        .into_iter()
        .map(|p| hotline::render_diagnostic(&SourceFile::new("t.policy", ""), p, false))
        .collect();
    assert!(rendered.contains("tickets.csv"), "{rendered}");
    assert!(rendered.contains("也许"), "{rendered}");
    assert!(rendered.contains("丁镇"), "{rendered}");
    assert!(rendered.contains("line 3"), "{rendered}");
    assert!(rendered.contains("line 4"), "{rendered}");
}

#[test]
fn the_previous_month_is_read_from_its_own_folder() {
    let dir = data("previous", &tickets(&[("甲镇", "是", "", 3)]));
    let feb = dir.join("2023-02");
    std::fs::create_dir_all(&feb).expect("mkdir");
    std::fs::write(feb.join("tickets.csv"), tickets(&[("甲镇", "是", "", 5)])).expect("write");
    let policy = r#"
source 上月 = 工单 previous month
metric 本月量 from 工单 = count()
metric 上月量 from 上月 = count()
metric 变化 = (本月量 - 上月量) / 上月量 * 100%
report { text "{{ 本月量 }} {{ 上月量 }} {{ 变化 }}" }
"#;
    let model = run(policy, "half_up", &dir).expect("evaluates");
    let text = model.sections.iter().find_map(|s| match s {
        SectionModel::Text { text } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(text.as_deref(), Some("3 5 -40%"));
}

#[test]
fn labels_and_units_compared_with_text_in_row_formulas() {
    // Comparisons of a unit, a label and an empty cell with written names, in filters,
    // views and aggregate arguments (each row sees the comparison once).
    let dir = data(
        "label-compare",
        &tickets(&[
            ("甲镇", "是", "已解决", 3),
            ("甲镇", "否", "已解决", 1),
            ("乙镇", "否", "未解决", 2),
            ("丙镇", "是", "基本解决", 4),
            ("", "是", "", 1),
        ]),
    );
    let policy = r#"
view 非乙 = 工单 where 单位 != "乙镇"
metric 甲镇件数 from 工单 = count(单位 == "甲镇")
metric 非乙件数 from 非乙 = count()
metric 未解决件数 from 工单 = count(解决 == "未解决")
metric 非已解决件数 from 工单 = count(解决 != "已解决")
metric 甲镇按时 from 工单 where 单位 == "甲镇" = share(按时)
"#;
    let model = run(policy, "half_up", &dir).unwrap_or_else(|p| panic!("{p:?}"));
    let value = |name: &str| {
        model
            .values
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.value.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(value("甲镇件数"), "4");
    // The empty unit is neither `乙镇` nor not `乙镇`: comparisons with empty are false.
    assert_eq!(value("非乙件数"), "8");
    assert_eq!(value("未解决件数"), "2");
    assert_eq!(value("非已解决件数"), "6");
    assert_eq!(value("甲镇按时"), "75");
}
