//! The constructs that let the language speak other centres' rules: conditions and
//! bounds, dates and working days, unscored units, shared ranks and ties at a cut.
//! Each expected value here is worked out by hand in the comment beside it.

use hotline::report::{ReportModel, SectionModel};
use hotline::span::SourceFile;
use hotline::Problem;
use std::path::{Path, PathBuf};

/// A fresh data folder holding `MONTH/tickets.csv`.
fn data(name: &str, month: &str, csv: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-lang-{}-{name}", std::process::id()));
    let folder = dir.join(month);
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("tickets.csv"), csv).expect("write");
    dir
}

const HEAD: &str = r#"
policy "t" { rounding half_up }
calendar china
source 工单 from csv "tickets.csv" {
  单位     unit
  派单时间 datetime
  签收时间 datetime?
  办理时限 datetime
  办结时间 datetime?
  满意度   percent?
}
units {
  "县（市、区）": 甲区, 乙区, 丙区, 丁区
  部门: 甲局, 乙局
}
"#;

fn compile(policy: &str) -> hotline::check::Checked {
    let file = SourceFile::new("t.policy", HEAD.to_string() + policy);
    hotline::compile(&file).unwrap_or_else(|p| panic!("{p:#?}"))
}

/// The month evaluated twice: streamed in blocks (as `render` does) and from whole
/// tables (as the watch and the tests do); both must agree.
fn run(policy: &str, dir: &Path, month: &str) -> Result<ReportModel, Vec<Problem>> {
    let checked = compile(policy);
    let month = hotline::Month::parse(month).expect("month");
    let streamed = hotline::evaluate(&checked, dir, month);
    let tables = hotline::eval::load(&checked, dir, month)?;
    let whole = hotline::eval::evaluate_tables(&checked, tables, month, true);
    match (&streamed, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a.values, b.values, "streamed and whole tables differ"),
        (Err(a), Err(b)) => assert_eq!(
            a.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            b.iter().map(|p| p.to_string()).collect::<Vec<_>>()
        ),
        _ => panic!("one path failed: {streamed:?} / {whole:?}"),
    }
    streamed
}

/// The exact values of a definition per key (`None`: empty).
fn values(model: &ReportModel, name: &str) -> Vec<(String, Option<String>)> {
    model
        .values
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no `{name}`"))
        .values
        .clone()
}

fn value_of(model: &ReportModel, name: &str, key: &str) -> Option<String> {
    values(model, name)
        .into_iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v)
}

fn table(model: &ReportModel, name: &str) -> Vec<Vec<String>> {
    model
        .sections
        .iter()
        .find_map(|s| match s {
            SectionModel::Table(t) if t.name == name => Some(
                t.rows
                    .iter()
                    .map(|r| r.iter().map(|c| c.display.clone()).collect())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no table `{name}`"))
}

/// `a / b` as hotline writes an exact quotient (28 significant digits).
fn ratio(a: i64, b: i64) -> String {
    (rust_decimal::Decimal::from(a) / rust_decimal::Decimal::from(b))
        .normalize()
        .to_string()
}

const HEADER: &str = "单位,派单时间,签收时间,办理时限,办结时间,满意度\n";

/// A ticket line: unit, dispatched, signed, deadline, done, satisfaction.
fn line(unit: &str, times: [&str; 4], satisfaction: &str) -> String {
    format!(
        "{unit},{},{},{},{},{satisfaction}\n",
        times[0], times[1], times[2], times[3]
    )
}

#[test]
fn conditions_and_bounds_give_exact_values_at_their_edges() {
    // 满意率 per unit: 甲区 73 (the lower end), 乙区 85.5, 丙区 98 (the upper end), 甲局 60.
    let mut csv = HEADER.to_string();
    let t = [
        "2023-03-01 08:00:00",
        "2023-03-01 09:00:00",
        "2023-03-05 08:00:00",
        "2023-03-02 08:00:00",
    ];
    for (unit, s) in [
        ("甲区", "73"),
        ("乙区", "85"),
        ("乙区", "86"),
        ("丙区", "98"),
        ("甲局", "60"),
    ] {
        csv.push_str(&line(unit, t, s));
    }
    let dir = data("bounds", "2023-03", &csv);
    let model = run(
        r#"
metric 承办量 from 工单 by 单位 = count()
metric 满意率 from 工单 by 单位 = mean(满意度) default 100%
metric 满意得分 = scale(满意率, 73% -> 12.5, 98% -> 25)
metric 三段 = scale(满意率, 60% -> 0, 80% -> 10, 100% -> 15)
metric 签收得分 = clamp(满意率 / 1% - 85, 0, 10)
metric 档次 = if(满意率 >= 98%, 3, 满意率 >= 85%, 2, 满意率 > 60%, 1, 0)
metric 较小 = min(满意率 / 1%, 80, 承办量 * 40)
metric 较大 = max(0, 10 - 承办量 * 4.5)
metric 一半 = 承办量 / 2
report {
  table "t" {
    rows unit
    column "a" = 满意得分 + 三段 + 签收得分 + 档次 + 较小 + 较大 + 一半
  }
}
"#,
        &dir,
        "2023-03",
    )
    .expect("evaluates");
    let v = |name: &str, key: &str| value_of(&model, name, key).unwrap_or_default();
    // 12.5 + 0.5 × (满意率 − 73), between 12.5 and 25.
    assert_eq!(v("满意得分", "甲区"), "12.5");
    assert_eq!(v("满意得分", "乙区"), "18.75");
    assert_eq!(v("满意得分", "丙区"), "25");
    assert_eq!(v("满意得分", "甲局"), "12.5");
    // Units without tickets: 满意率 defaults to 100%, above the last point.
    assert_eq!(v("满意得分", "丁区"), "25");
    // 60 → 0, 80 → 10, 100 → 15: 73 is 6.5; 85.5 is 10 + 5.5 × 0.25 = 11.375; 98 is 14.5.
    assert_eq!(v("三段", "甲区"), "6.5");
    assert_eq!(v("三段", "乙区"), "11.375");
    assert_eq!(v("三段", "丙区"), "14.5");
    assert_eq!(v("三段", "甲局"), "0");
    // 满意率 − 85 between 0 and 10.
    assert_eq!(v("签收得分", "甲区"), "0");
    assert_eq!(v("签收得分", "乙区"), "0.5");
    assert_eq!(v("签收得分", "丙区"), "10");
    // The first condition that holds; 60 is not > 60.
    assert_eq!(v("档次", "丙区"), "3");
    assert_eq!(v("档次", "乙区"), "2");
    assert_eq!(v("档次", "甲区"), "1");
    assert_eq!(v("档次", "甲局"), "0");
    // min(满意率 points, 80, 承办量 × 40): 甲区 min(73, 80, 40) = 40; 乙区 min(85.5, 80, 80) = 80.
    assert_eq!(v("较小", "甲区"), "40");
    assert_eq!(v("较小", "乙区"), "80");
    // max(0, 10 − 4.5 承办量): 甲区 5.5, 乙区 1, a unit without tickets 10.
    assert_eq!(v("较大", "甲区"), "5.5");
    assert_eq!(v("较大", "乙区"), "1");
    assert_eq!(v("较大", "丁区"), "10");
    assert_eq!(v("一半", "乙区"), "1");
}

#[test]
fn dates_compare_by_day_and_the_month_bounds_filter_rows() {
    // Deadlines on the last day of March count, whatever the hour; April's do not.
    let mut csv = HEADER.to_string();
    for (deadline, done) in [
        ("2023-03-31 23:59:59", "2023-03-31 10:00:00"),
        ("2023-03-31 00:00:00", "2023-03-31 10:00:00"),
        ("2023-04-01 00:00:00", "2023-03-20 10:00:00"),
        ("2023-03-01 00:00:00", ""),
    ] {
        csv.push_str(&line(
            "甲区",
            ["2023-03-01 08:00:00", "2023-03-01 09:00:00", deadline, done],
            "",
        ));
    }
    let dir = data("dates", "2023-03", &csv);
    let model = run(
        r#"
metric 本月到期 from 工单 where 办理时限 <= month_end by 单位 = count()
metric 本月起 from 工单 where 办理时限 >= month_start and 办理时限 < 2023-04-01 by 单位 = count()
metric 按时 from 工单 where 办理时限 <= month_end by 单位 = share(办结时间 <= 办理时限)
metric 三十一日 from 工单 by 单位 = count(办理时限 == 2023-03-31)
metric 午后 from 工单 by 单位 = count(办结时间 > 2023-03-31 09:30)
report {
  table "t" {
    rows unit
    column "a" = 本月到期 + 本月起 + 三十一日 + 午后
    column "b" = 按时
  }
}
"#,
        &dir,
        "2023-03",
    )
    .expect("evaluates");
    let v = |name: &str| value_of(&model, name, "甲区").unwrap_or_default();
    assert_eq!(v("本月到期"), "3");
    assert_eq!(v("本月起"), "3");
    // Of the three due in March, one was done by its deadline: the other was done
    // ten hours after a midnight deadline, the third not at all.
    assert_eq!(v("按时"), ratio(100, 3));
    assert_eq!(v("三十一日"), "2");
    assert_eq!(v("午后"), "2");
}

#[test]
fn working_days_skip_holidays_and_count_make_up_days() {
    // 2024 Spring Festival: 2024-02-10 … 02-17 off; Sunday 02-18 a working day.
    // Friday 02-09 17:00 → Sunday 02-18 17:00 is 7 h + 17 h: one working day.
    let mut csv = HEADER.to_string();
    for signed in [
        "2024-02-18 17:00:00",
        "2024-02-18 17:00:01",
        "2024-02-12 10:00:00",
        "",
    ] {
        csv.push_str(&line(
            "甲区",
            [
                "2024-02-09 17:00:00",
                signed,
                "2024-02-20 00:00:00",
                "2024-02-20 00:00:00",
            ],
            "",
        ));
    }
    let dir = data("workdays", "2024-02", &csv);
    let model = run(
        r#"
metric 及时 from 工单 by 单位 = count(workdays(派单时间, 签收时间) <= 1)
metric 最长 from 工单 by 单位 = max(workdays(派单时间, 签收时间))
metric 到期 from 工单 by 单位 = max(workdays(派单时间, 办理时限))
report {
  table "t" {
    rows unit
    column "a" = 及时
    column "b" = 最长
    column "c" = 到期
  }
}
"#,
        &dir,
        "2024-02",
    )
    .expect("evaluates");
    let v = |name: &str| value_of(&model, name, "甲区").unwrap_or_default();
    // 02-18 17:00 and 02-12 (a holiday: 7 h of working time) are within one day.
    assert_eq!(v("及时"), "2");
    // One second more than a day: 86401 / 86400.
    assert_eq!(v("最长"), ratio(86_401, 86_400));
    // 02-09 17:00 → 02-20 00:00: 7 h, then all of 02-18 and 02-19: 55 h = 55/24 days.
    assert_eq!(v("到期"), ratio(55, 24));
}

#[test]
fn a_date_outside_the_calendar_is_an_error_naming_it() {
    let mut csv = HEADER.to_string();
    csv.push_str(&line(
        "甲区",
        [
            "2027-01-04 08:00:00",
            "2027-01-04 09:00:00",
            "2027-01-05 08:00:00",
            "",
        ],
        "",
    ));
    let dir = data("outside", "2027-01", &csv);
    let problems = run(
        r#"
metric 及时 from 工单 by 单位 = count(workdays(派单时间, 签收时间) <= 1)
report { table "t" { rows unit column "a" = 及时 } }
"#,
        &dir,
        "2027-01",
    )
    .expect_err("2027 is not in the calendar");
    let text = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("2027-01-04"), "{text}");
    assert!(text.contains("2023–2026"), "{text}");
}

/// One ticket per unit, with the given satisfaction: the unit's total score.
fn scored_month(name: &str, scores: &[(&str, &str)]) -> PathBuf {
    let mut csv = HEADER.to_string();
    let t = [
        "2023-03-01 08:00:00",
        "2023-03-01 09:00:00",
        "2023-03-05 08:00:00",
        "2023-03-02 08:00:00",
    ];
    for (unit, s) in scores {
        csv.push_str(&line(unit, t, s));
    }
    data(name, "2023-03", &csv)
}

const SCORED: &str = r#"
metric 承办量 from 工单 by 单位 = count()
metric 满意率 from 工单 by 单位 = mean(满意度)
score 总得分 = 100% 满意率 only where 承办量 > 0
bands 等次 on 总得分 { 优秀: >= 90  其他: < 90 }
ranking 排名 within group by 总得分 desc ties shared
ranking 密排 by 总得分 desc ties dense
allow(tie_break)
ranking 顺排 by 总得分 desc
list 前二 = unit order by 总得分 desc top 2 with ties
list 前二截断 = unit order by 总得分 desc top 2
report {
  table "得分" {
    rows unit order by 排名
    column "单位" = unit
    column "总得分" = 总得分
    column "等次" = 等次
    column "排名" = 排名
    column "并列" = if(tied(排名), "并列", "")
    column "密排" = 密排
    column "顺排" = 顺排
  }
  table "前二" {
    rows unit order by 总得分 desc top 1 with ties
    column "单位" = unit
  }
  text "{{ 前二 | cn }} / {{ 前二截断 | cn }}"
}
"#;

#[test]
fn unscored_units_are_listed_empty_and_ties_share_ranks() {
    // 甲区 and 乙区 tie at 90, 丙区 80; 丁区 and 乙局 have no tickets.
    let dir = scored_month(
        "ties",
        &[
            ("甲区", "90"),
            ("乙区", "90"),
            ("丙区", "80"),
            ("甲局", "70"),
        ],
    );
    let model = run(SCORED, &dir, "2023-03").expect("evaluates");
    assert_eq!(
        table(&model, "得分"),
        [
            ["甲区", "90", "优秀", "1", "并列", "1", "1"],
            ["乙区", "90", "优秀", "1", "并列", "1", "2"],
            ["丙区", "80", "其他", "3", "", "2", "3"],
            ["甲局", "70", "其他", "1", "", "3", "4"],
            ["丁区", "—", "—", "—", "", "—", "—"],
            ["乙局", "—", "—", "—", "", "—", "—"],
        ]
    );
    assert_eq!(table(&model, "前二"), [["甲区"], ["乙区"]]);
    let text = model.sections.iter().find_map(|s| match s {
        SectionModel::Text { text } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(text.as_deref(), Some("甲区、乙区 / 甲区、乙区"));
    assert_eq!(value_of(&model, "总得分", "丁区"), None);
    assert_eq!(value_of(&model, "等次", "丁区"), None);
    assert_eq!(value_of(&model, "排名", "丁区"), None);
}

#[test]
fn top_with_ties_keeps_every_unit_tied_at_the_cut() {
    // Three-way tie at the cut: 甲区, 乙区 and 丙区 all at 90, 甲局 at 70.
    let dir = scored_month(
        "cut",
        &[
            ("甲区", "90"),
            ("乙区", "90"),
            ("丙区", "90"),
            ("甲局", "70"),
        ],
    );
    let model = run(SCORED, &dir, "2023-03").expect("evaluates");
    let text = model.sections.iter().find_map(|s| match s {
        SectionModel::Text { text } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(text.as_deref(), Some("甲区、乙区、丙区 / 甲区、乙区"));
    assert_eq!(table(&model, "前二").len(), 3);
    // Shared: 1, 1, 1 then 甲局 alone in its group; dense over all: 1, 1, 1, 2.
    assert_eq!(
        values(&model, "密排")
            .into_iter()
            .filter_map(|(_, v)| v)
            .collect::<Vec<_>>(),
        ["1", "1", "1", "2"]
    );
}

#[test]
fn a_scored_unit_with_an_empty_term_is_an_error_naming_it() {
    // 甲区 has tickets but no satisfaction: its term is empty where it is scored.
    let mut csv = HEADER.to_string();
    csv.push_str(&line(
        "甲区",
        [
            "2023-03-01 08:00:00",
            "2023-03-01 09:00:00",
            "2023-03-05 08:00:00",
            "",
        ],
        "",
    ));
    let dir = data("empty-term", "2023-03", &csv);
    let problems = run(
        r#"
metric 承办量 from 工单 by 单位 = count()
metric 满意率 from 工单 by 单位 = mean(满意度)
score 总得分 = 100% 满意率 only where 承办量 > 0
report { table "t" { rows unit column "a" = 总得分 } }
"#,
        &dir,
        "2023-03",
    )
    .expect_err("an empty term where the score is scored");
    let text = problems[0].to_string();
    assert!(text.contains("满意率") && text.contains("甲区"), "{text}");
}

#[test]
fn allow_acknowledges_only_the_declaration_it_stands_before() {
    let warnings = |policy: &str| -> Vec<String> {
        compile(policy)
            .warnings
            .iter()
            .map(|w| w.to_string())
            .collect()
    };
    let policy = r#"
metric 承办量 from 工单 by 单位 = count()
allow(tie_break)
ranking 甲 by 承办量 desc
ranking 乙 by 承办量 desc
ranking 丙 by 承办量 desc ties shared
report { table "t" { rows unit column "a" = 甲 + 乙 + 丙 } }
"#;
    let found = warnings(policy);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains('乙'), "{found:?}");
}

#[test]
fn the_formatter_prints_every_new_construct_back_to_the_same_policy() {
    let policy = HEAD.to_string()
        + r#"
policy "u" { empty "无" }
metric 承办量 from 工单 by 单位 = count()
metric 按时 from 工单 where 办理时限 <= month_end and 派单时间 >= 2023-03-01 by 单位 =
  share(办结时间 <= 2023-03-31 18:00 and workdays(派单时间, 签收时间) <= 1)
metric 满意率 from 工单 by 单位 = mean(满意度) default 100% only where 承办量 > 0
metric 得分 = scale(满意率, 60% → 0, 73% -> 12.5, 98% -> 25)
score 总得分 = clamp(满意率 / 1% - 85, 0, 10) + if(按时 >= 90%, 5, 0) + max(0, 1, 承办量 / 2) only where 承办量 > 0
allow(tie_break, unused)
ranking 排名 within group by 总得分 desc ties dense
list 前三 = unit order by 排名 top 3 with ties
test "空" {
  expect 丁区.总得分 is empty
  expect 丁区.满意率 is not empty
}
"#;
    let formatted = hotline::fmt::format_source(&policy).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(formatted.contains("60% -> 0"), "{formatted}");
    assert!(formatted.contains("ties dense"), "{formatted}");
    assert!(formatted.contains("top 3 with ties"), "{formatted}");
    assert!(
        formatted.contains("allow(tie_break, unused)\nranking"),
        "{formatted}"
    );
    assert!(formatted.contains("2023-03-31 18:00:00"), "{formatted}");
    assert!(formatted.contains("is not empty"), "{formatted}");
    // Formatting is stable.
    assert_eq!(
        hotline::fmt::format_source(&formatted).unwrap_or_else(|e| panic!("{e:?}")),
        formatted
    );
}

#[test]
fn templates_compare_counts_as_numbers() {
    // Three tickets: a count compared in a template is compared by its value, on both
    // sides of every bound (it once compared as an object, greater than any number).
    let csv = format!(
        "单位,派单时间,签收时间,办理时限,办结时间,满意度\n{}{}{}",
        line(
            "甲区",
            ["2023-03-01 09:00:00", "", "2023-03-05 09:00:00", ""],
            ""
        ),
        line(
            "甲区",
            ["2023-03-01 09:00:00", "", "2023-03-05 09:00:00", ""],
            ""
        ),
        line(
            "乙区",
            ["2023-03-01 09:00:00", "", "2023-03-05 09:00:00", ""],
            ""
        ),
    );
    let dir = data("template-compare", "2023-03", &csv);
    let policy = r#"
metric 件数 from 工单 = count()
metric 单位件数 from 工单 by 单位 = count()
metric 满意 from 工单 = mean(满意度)
report {
  text """
    {% if 满意 %}X{% endif %}[{{ 满意 }}]{% if 件数 > 2 %}A{% endif %}{% if 件数 > 3 %}B{% endif %}{% if 件数 > 100 %}C{% endif %}{% if 件数 == 3 %}D{% endif %}{% if 件数 < 4 %}E{% endif %}{% if 单位件数["甲区"] >= 2 %}F{% endif %}{% if 单位件数["乙区"] > 1 %}G{% endif %}{% if 件数 %}H{% endif %}
  """
}
"#;
    let model = run(policy, &dir, "2023-03").expect("render");
    let text = model
        .sections
        .iter()
        .find_map(|s| match s {
            SectionModel::Text { text } => Some(text.clone()),
            _ => None,
        })
        .expect("text");
    // No satisfaction at all: empty, shown as the mark and false in `if`.
    assert_eq!(text.trim(), "[—]ADEFH");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn zeros_are_kept_where_the_policy_says() {
    // 1 of 2 tickets signed: 50%; the prose keeps two decimals with `zeros text`, the
    // table does not; `zeros keep` keeps them in both.
    let csv = format!(
        "{HEADER}{}{}",
        line(
            "甲区",
            [
                "2023-03-01 09:00:00",
                "2023-03-01 10:00:00",
                "2023-03-05 09:00:00",
                ""
            ],
            ""
        ),
        line(
            "甲区",
            ["2023-03-01 09:00:00", "", "2023-03-05 09:00:00", ""],
            ""
        ),
    );
    let dir = data("zeros", "2023-03", &csv);
    let body = r#"
metric 签收率 from 工单 = share(签收时间 is not empty)
metric 各区签收率 from 工单 by 单位 = share(签收时间 is not empty)
report {
  text """签收率 {{ 签收率 }}。"""
  table "t" {
    rows unit where 单位件数 > 0
    column "区" = unit
    column "签收率" = 各区签收率
  }
}
metric 单位件数 from 工单 by 单位 = count()
"#;
    for (setting, prose, cell) in [
        ("", "签收率 50%。", "50%"),
        ("zeros text", "签收率 50.00%。", "50%"),
        ("zeros keep", "签收率 50.00%。", "50.00%"),
    ] {
        let policy = HEAD.replacen(
            "policy \"t\" { rounding half_up }",
            &format!("policy \"t\" {{ rounding half_up {setting} }}"),
            1,
        );
        let file = SourceFile::new("t.policy", policy + body);
        let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:#?}"));
        let month = hotline::Month::parse("2023-03").expect("month");
        let model = hotline::evaluate(&checked, &dir, month).expect("render");
        let text = model
            .sections
            .iter()
            .find_map(|s| match s {
                SectionModel::Text { text } => Some(text.clone()),
                _ => None,
            })
            .expect("text");
        assert_eq!(text.trim(), prose, "{setting}");
        assert_eq!(table(&model, "t")[0][1], cell, "{setting}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn headers_read_weights_from_the_score() {
    // A header that names a weight says the weight the score has, whatever it becomes.
    let csv = format!(
        "{HEADER}{}",
        line(
            "甲区",
            [
                "2023-03-01 09:00:00",
                "2023-03-01 10:00:00",
                "2023-03-05 09:00:00",
                ""
            ],
            "90"
        ),
    );
    let dir = data("weights", "2023-03", &csv);
    for (a, b) in [("30", "70"), ("45", "55")] {
        let policy = format!(
            r#"
metric 签收率 from 工单 by 单位 = share(签收时间 is not empty) default 100%
metric 满意率 from 工单 by 单位 = mean(满意度) default 100%
score 总得分 = {a}% 签收率 + {b}% 满意率
report {{
  table "t" {{
    rows unit
    column "区" = unit
    column "签收得分（{{{{ weights.总得分.签收率 }}}}）" = 总得分.签收率
    column "满意得分（{{{{ weights.总得分.满意率 }}}}）" = 总得分.满意率
  }}
}}
"#
        );
        let model = run(&policy, &dir, "2023-03").expect("render");
        let SectionModel::Table(t) = &model.sections[0] else {
            panic!("no table")
        };
        assert_eq!(
            t.headers,
            [
                "区".to_string(),
                format!("签收得分（{a}）"),
                format!("满意得分（{b}）")
            ]
        );
    }
    // A name that is no score term is an error of check.
    let file = SourceFile::new(
        "t.policy",
        HEAD.to_string()
            + r#"
metric 签收率 from 工单 by 单位 = share(签收时间 is not empty) default 100%
score 总得分 = 100% 签收率
report {
  table "t" {
    rows unit
    column "签收得分（{{ weight.总得分.签收率 }}）" = 总得分.签收率
  }
}
"#,
    );
    assert!(hotline::compile(&file).is_err());
    let _ = std::fs::remove_dir_all(dir);
}
