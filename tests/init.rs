//! `hotline init`: a starter policy from a ticket export.

use hotline::ast::{FieldType, Item, Policy};
use hotline::span::SourceFile;
use std::path::{Path, PathBuf};
use std::process::Command;

const TICKETS: &str = "tests/data/dong-e/2023-03/tickets.csv";
const SPOT_CHECKS: &str = "tests/data/dong-e/2023-03/spot-checks.csv";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-init-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn init(from: &Path) -> String {
    let out = hotline::init::command(from, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

/// Compiles a starter policy: no errors, and no warnings either.
fn compile(text: &str) -> hotline::check::Checked {
    let file = SourceFile::new("starter.policy", text);
    match hotline::compile(&file) {
        Ok(checked) => {
            let warnings: Vec<String> = checked.warnings.iter().map(|w| w.to_string()).collect();
            assert!(warnings.is_empty(), "warnings: {warnings:?}\n{text}");
            checked
        }
        Err(problems) => {
            let rendered: String = problems
                .into_iter()
                .map(|p| hotline::render_diagnostic(&file, p, false))
                .collect();
            panic!("the starter policy does not compile:\n{rendered}\n{text}");
        }
    }
}

/// The declared field `name` of the first source: its type, whether nullable, its header.
fn field<'p>(policy: &'p Policy, name: &str) -> (&'p FieldType, bool, Option<&'p str>) {
    for item in &policy.items {
        if let Item::Source(s) = item {
            if let hotline::ast::SourceKind::File(f) = &s.kind {
                if let Some(field) = f.fields.iter().find(|f| f.name.name == name) {
                    return (
                        &field.ty,
                        field.nullable,
                        field.header.as_ref().map(|h| h.value.as_str()),
                    );
                }
            }
        }
    }
    panic!("no field `{name}`");
}

/// A field line with its spacing squeezed: `派单时间 datetime?`.
fn line_of(text: &str, name: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_default()
}

fn labels(ty: &FieldType) -> Vec<&str> {
    match ty {
        FieldType::Enum(labels) => labels.iter().map(|l| l.name.as_str()).collect(),
        other => panic!("not an enum: {other:?}"),
    }
}

#[test]
fn tickets_give_a_policy_that_checks_clean() {
    let text = init(&root().join(TICKETS));
    let checked = compile(&text);
    let policy = &checked.policy;

    assert_eq!(line_of(&text, "派单时间"), "派单时间 datetime?");
    assert!(matches!(
        field(policy, "派单时间"),
        (FieldType::DateTime(None), true, None)
    ));
    assert!(matches!(
        field(policy, "受理时间"),
        (FieldType::DateTime(None), false, None)
    ));

    assert_eq!(line_of(&text, "办理方式"), "办理方式 enum(派单, 直办)");
    assert_eq!(labels(field(policy, "办理方式").0), ["派单", "直办"]);
    assert_eq!(
        labels(field(policy, "回访解决情况").0),
        ["已解决", "基本解决", "未解决"]
    );
    assert!(field(policy, "回访解决情况").1);

    assert_eq!(
        line_of(&text, "市级重办"),
        "市级重办 bool(是 = true, 否 = false)"
    );
    match field(policy, "市级重办").0 {
        FieldType::Bool(spellings) => {
            let s: Vec<(&str, bool)> = spellings
                .iter()
                .map(|(i, b)| (i.name.as_str(), *b))
                .collect();
            assert_eq!(s, [("是", true), ("否", false)]);
        }
        other => panic!("市级重办 is {other:?}"),
    }

    assert_eq!(line_of(&text, "满意度评分"), "满意度评分 decimal?");
    assert!(matches!(
        field(policy, "满意度评分"),
        (FieldType::Decimal, true, None)
    ));

    assert_eq!(line_of(&text, "承办单位"), "承办单位 unit?");
    assert!(matches!(
        field(policy, "承办单位"),
        (FieldType::Unit, true, None)
    ));

    assert!(matches!(
        field(policy, "工单编号"),
        (FieldType::Text, false, None)
    ));
    assert!(matches!(
        field(policy, "诉求内容"),
        (FieldType::Text, false, None)
    ));
    assert!(text.contains("encoding utf8"), "{text}");
    assert!(text.contains("UTF-8"), "{text}");

    // Every unit of the data is in the registry; the one with full-width parentheses quoted.
    assert_eq!(checked.env.units.len(), 47);
    assert!(text.contains("\"东阿吉电（综合执法局）\""), "{text}");
    for unit in ["新城街道", "县公安局", "鱼山镇"] {
        assert!(checked.env.unit_lookup.contains_key(unit), "{unit}");
    }

    // The skeleton: a count per unit, a score, bands, a ranking and a report.
    let kinds: Vec<&str> = policy
        .items
        .iter()
        .map(|i| match i {
            Item::Metric(_) => "metric",
            Item::Score(_) => "score",
            Item::Bands(_) => "bands",
            Item::Ranking(_) => "ranking",
            Item::Report(_) => "report",
            _ => "",
        })
        .filter(|k| !k.is_empty())
        .collect();
    for kind in ["metric", "score", "bands", "ranking", "report"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }

    insta::assert_snapshot!("tickets_policy", text);
}

#[test]
fn the_tickets_policy_renders_the_month() {
    let text = init(&root().join(TICKETS));
    let checked = compile(&text);
    let month = hotline::Month::parse("2023-03").expect("month");
    let model =
        hotline::evaluate(&checked, &root().join("tests/data/dong-e"), month).expect("evaluates");
    let total = model
        .values
        .iter()
        .find(|d| d.name == "总量")
        .expect("总量");
    assert_eq!(total.value.as_deref(), Some("4801"));
    let count = model
        .values
        .iter()
        .find(|d| d.name == "承办量")
        .expect("承办量");
    let police = count
        .values
        .iter()
        .find(|(k, _)| k == "县公安局")
        .expect("县公安局");
    assert_eq!(police.1.as_deref(), Some("100"));
    let md = hotline::render::markdown(&model);
    assert!(md.contains("3 月份共 4801 件"), "{md}");
    assert!(md.contains("| 县住建局 | 大 | 530 |"), "{md}");
}

#[test]
fn a_gbk_file_is_detected_and_its_policy_renders() {
    let text = init(&root().join(SPOT_CHECKS));
    assert!(text.contains("GBK"), "{text}");
    assert!(text.contains("encoding gbk"), "{text}");
    let checked = compile(&text);
    let policy = &checked.policy;
    assert!(matches!(
        field(policy, "承办单位"),
        (FieldType::Unit, false, None)
    ));
    assert!(matches!(
        field(policy, "是否解决"),
        (FieldType::Bool(_), false, None)
    ));
    assert!(matches!(
        field(policy, "抽访时间"),
        (FieldType::DateTime(None), false, None)
    ));

    // Rendered against a data folder that holds only this file.
    let data = temp("gbk");
    std::fs::create_dir_all(data.join("2023-03")).expect("mkdir");
    std::fs::copy(
        root().join(SPOT_CHECKS),
        data.join("2023-03/spot-checks.csv"),
    )
    .expect("copy");
    let month = hotline::Month::parse("2023-03").expect("month");
    let model = match hotline::evaluate(&checked, &data, month) {
        Ok(model) => model,
        Err(problems) => panic!(
            "{:?}",
            problems.iter().map(|p| p.to_string()).collect::<Vec<_>>()
        ),
    };
    let total = model
        .values
        .iter()
        .find(|d| d.name == "总量")
        .expect("总量");
    assert_eq!(total.value.as_deref(), Some("848"));
    let tables = model
        .sections
        .iter()
        .filter(|s| matches!(s, hotline::report::SectionModel::Table(t) if !t.rows.is_empty()))
        .count();
    assert_eq!(tables, 1);
    assert_eq!(
        model.sources.first().and_then(|s| s.encoding.as_deref()),
        Some("gbk")
    );
}

#[test]
fn out_writes_a_new_file_and_never_overwrites() {
    let dir = temp("out");
    let out = dir.join("new.policy");
    let first = hotline::init::command(&root().join(TICKETS), Some(&out));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.is_empty());
    let written = std::fs::read_to_string(&out).expect("written");
    assert_eq!(written, init(&root().join(TICKETS)));
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["new.policy"]);

    std::fs::write(&out, "# mine\n").expect("write");
    let second = hotline::init::command(&root().join(TICKETS), Some(&out));
    assert_eq!(second.code, 2);
    assert!(
        second.stderr.contains("already exists"),
        "{}",
        second.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "# mine\n");
}

#[test]
fn the_binary() {
    let dir = temp("bin");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .expect("runs")
    };
    let out = run(&["init", "--from", TICKETS]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        init(&root().join(TICKETS))
    );

    let target = dir.join("p.policy");
    let target = target.to_str().expect("utf8");
    assert_eq!(
        run(&["init", "--from", TICKETS, "--out", target])
            .status
            .code(),
        Some(0)
    );
    let out = run(&["check", target]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        run(&["init", "--from", TICKETS, "--out", target])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["init", "--from", "no/such.csv"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["init"]).status.code(), Some(2));
}

fn starter(csv: &str) -> String {
    let s = hotline::init::starter_policy(csv.as_bytes(), "export.csv").expect("starter");
    compile(&s.text);
    s.text
}

#[test]
fn inference_of_other_columns() {
    let csv = "\u{feff}编号,部门,受理日期,时刻,满意率,金额,件数,是否超期,OK,text,满意度(%),备注\n\
               007,城管局,2023/03/01,2023/03/01 08:30,87.5%,12.50,3,Y,true,a,90,\n\
               008,环保局,2023/03/02,2023/03/02 09:00,100%,-3,4,N,false,b,85.5,说明\n\
               009,城管局,2023/03/03,2023/03/03 10:15,99.5%,0.5,5,N,False,c,,\n\
               010,城管局,2023/03/04,2023/03/04 11:00,0%,1,6,Y,TRUE,d,70,\n";
    let text = starter(csv);
    assert!(
        text.contains("UTF-8 (detected; it starts with a byte-order mark)"),
        "{text}"
    );
    assert_eq!(
        line_of(&text, "编号"),
        "编号 text",
        "leading zeros are codes, not numbers"
    );
    assert_eq!(line_of(&text, "部门"), "部门 unit");
    assert_eq!(
        line_of(&text, "受理日期"),
        "受理日期 datetime(\"%Y/%m/%d\")"
    );
    assert_eq!(line_of(&text, "时刻"), "时刻 datetime(\"%Y/%m/%d %H:%M\")");
    assert_eq!(line_of(&text, "满意率"), "满意率 percent");
    assert_eq!(line_of(&text, "金额"), "金额 decimal");
    assert_eq!(line_of(&text, "件数"), "件数 integer");
    assert_eq!(
        line_of(&text, "是否超期"),
        "是否超期 bool(Y = true, N = false)"
    );
    assert_eq!(
        line_of(&text, "OK"),
        "OK bool(\"true\" = true, TRUE = true, \"false\" = false, False = false)"
    );
    assert_eq!(
        line_of(&text, "text_"),
        "text_ text <- \"text\"",
        "a keyword is not a name"
    );
    assert_eq!(line_of(&text, "满意度"), "满意度 decimal? <- \"满意度(%)\"");
    assert_eq!(line_of(&text, "备注"), "备注 text?");
    assert!(
        text.contains("units {\n  单位: 城管局, 环保局\n}"),
        "{text}"
    );
}

#[test]
fn a_file_without_a_unit_column_still_checks() {
    let text =
        starter("日期,类型\n2023-03-01,咨询\n2023-03-02,投诉\n2023-03-02,咨询\n2023-03-03,咨询\n");
    assert!(text.contains("No column names the handling unit"), "{text}");
    assert_eq!(line_of(&text, "日期"), "日期 datetime(\"%Y-%m-%d\")");
    assert_eq!(line_of(&text, "类型"), "类型 enum(咨询, 投诉)");
}

#[test]
fn unreadable_files_are_errors() {
    assert!(hotline::init::starter_policy(b"", "e.csv").is_err());
    assert!(hotline::init::starter_policy(b"a,b\n1,2,3\n", "e.csv").is_err());
    assert!(hotline::init::starter_policy(b"\xEF\xBB\xBFa\n\xFF\xFE\n", "e.csv").is_err());
}
