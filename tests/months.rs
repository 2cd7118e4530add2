//! The Dong'e policy on months it has not seen: other data of the same format, with empty
//! spot-check classes, a band with no units and a unit without callbacks.

use hotline::report::{ReportModel, SectionModel};
use hotline::span::SourceFile;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn render(data: &Path, month: &str) -> ReportModel {
    let text =
        std::fs::read_to_string(root().join("policies/dong-e-monthly.policy")).expect("policy");
    let file = SourceFile::new("dong-e-monthly.policy", text);
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    let month = hotline::Month::parse(month).expect("month");
    hotline::evaluate(&checked, data, month).unwrap_or_else(|p| {
        let text: Vec<String> = p
            .into_iter()
            .map(|p| hotline::render_diagnostic(&file, p, false))
            .collect();
        panic!("{}", text.join("\n"))
    })
}

fn copy_month(from: &str, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for name in ["tickets.csv", "spot-checks.csv", "deductions.xlsx"] {
        std::fs::copy(
            root().join("tests/data/dong-e").join(from).join(name),
            to.join(name),
        )
        .expect("copy");
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-months-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// No placeholder or template residue in the prose.
fn assert_complete(model: &ReportModel) {
    for section in &model.sections {
        if let SectionModel::Text { text } | SectionModel::Heading { text } = section {
            for bad in ["—", "none", "{{", "{%", "undefined"] {
                assert!(!text.contains(bad), "`{bad}` in: {text}");
            }
        }
    }
}

/// Rewrites a CSV file of the month, row by row.
fn rewrite_tickets(path: &Path, edit: impl Fn(&mut Vec<String>, &[String])) {
    let mut reader = csv::Reader::from_path(path).expect("read");
    let headers: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_string).collect())
        .collect();
    let mut writer = csv::Writer::from_path(path).expect("write");
    writer.write_record(&headers).expect("header");
    for mut row in rows {
        edit(&mut row, &headers);
        if !row.is_empty() {
            writer.write_record(&row).expect("row");
        }
    }
    writer.flush().expect("flush");
}

#[test]
fn february_renders_with_january_as_its_previous_month() {
    let data = temp("feb");
    copy_month("2023-02", &data.join("2023-02"));
    // Some earlier month's data in the same format stands in for January.
    copy_month("2023-03", &data.join("2023-01"));
    let model = render(&data, "2023-02");
    assert_complete(&model);
    let md = hotline::render::markdown(&model);
    assert!(md.contains("2 月份，东阿县市民热线服务中心共收到"), "{md}");
}

#[test]
fn a_month_with_empty_classes_an_empty_band_and_a_unit_without_callbacks_renders() {
    let data = temp("edge");
    let march = data.join("2023-03");
    copy_month("2023-03", &march);
    copy_month("2023-02", &data.join("2023-02"));
    let small: Vec<&str> = vec![
        "县工信局",
        "县住房公积金",
        "县工业公司",
        "县应急管理局",
        "县司法局",
        "东阿黄河河务局",
        "县烟草公司",
        "县残联",
        "县消防大队",
        "县融媒体中心",
        "县商务投资促进局",
        "县发改局",
        "县人民武装部",
    ];
    rewrite_tickets(&march.join("tickets.csv"), |row, headers| {
        let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
        // No unit of the small band has tickets this month.
        if small.contains(&row[col("承办单位")].as_str()) {
            row.clear();
            return;
        }
        // 鱼山镇 got no callbacks.
        if row[col("承办单位")] == "鱼山镇" {
            row[col("回访解决情况")].clear();
            row[col("满意度评分")].clear();
        }
    });
    // Every spot check resolved and satisfied: all three problem classes are empty.
    let spot = march.join("spot-checks.csv");
    let bytes = std::fs::read(&spot).expect("read");
    let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
    let fixed: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                l.replace(",否,", ",是,").replace(",是,否,", ",是,是,")
            }
        })
        .map(|l| {
            let mut parts: Vec<String> = l.split(',').map(str::to_string).collect();
            if parts.len() == 5 && parts[2] != "是否解决" {
                parts[2] = "是".into();
                parts[3] = "是".into();
            }
            parts.join(",") + "\r\n"
        })
        .collect();
    let (encoded, _, _) = encoding_rs::GBK.encode(&fixed);
    std::fs::write(&spot, encoded).expect("write");

    let model = render(&data, "2023-03");
    assert_complete(&model);
    let md = hotline::render::markdown(&model);
    assert!(md.contains("1、未解决、过程不满意 0 件。"), "{md}");
    assert!(md.contains("### 附表 2-3"), "the table stays, empty");
    assert!(md.contains("（无）"), "{md}");
    assert!(
        md.contains("| 鱼山镇 | 88 | 100% | 5 | 100% | 5 | 100% | 40 | 100% | 50 | 0 | 100 |"),
        "no callbacks: 100 by the rules"
    );
    let html = hotline::render::html(&model);
    assert!(html.contains("（无）"));
}

#[test]
fn february_renders_without_january_in_every_format() {
    // The first month of a deployment: no January folder. The report renders, says that
    // last month has no data instead of comparing with zero, and warns of January.
    let data = temp("first");
    copy_month("2023-02", &data.join("2023-02"));
    let model = render(&data, "2023-02");
    let md = hotline::render::markdown(&model);
    assert!(md.contains("1、供暖问题 574 件。上月无数据。"), "{md}");
    assert!(!md.contains("较上月"), "{md}");
    let warnings: Vec<String> = model.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`上月工单` (previous month) has no data for 2023-01")),
        "{warnings:#?}"
    );
    // Every format renders it.
    assert!(hotline::render::html(&model).contains("上月无数据"));
    assert!(hotline::render::terminal(&model, Some(120)).contains("上月无数据"));
    assert!(hotline::render::json(&model).contains("上月无数据"));
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn a_topic_new_this_month_is_new_not_a_change_from_nothing() {
    // February without its irrigation tickets: in March that topic is new.
    let data = temp("new-topic");
    copy_month("2023-03", &data.join("2023-03"));
    copy_month("2023-02", &data.join("2023-02"));
    rewrite_tickets(&data.join("2023-02/tickets.csv"), |row, headers| {
        let col = headers
            .iter()
            .position(|h| h == "二级分类")
            .expect("column");
        if row[col] == "农业耕地灌溉" {
            row.clear();
        }
    });
    let model = render(&data, "2023-03");
    let md = hotline::render::markdown(&model);
    assert!(
        md.contains("4、农业耕地灌溉问题 224 件。较上月新增 224 件。"),
        "{md}"
    );
    // The other topics compare as before.
    assert!(md.contains("较上月增加 124 件，增加 57.94%"), "{md}");
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn a_month_without_spot_checks_says_so_and_draws_no_empty_chart() {
    let data = temp("no-spot-checks");
    let march = data.join("2023-03");
    copy_month("2023-03", &march);
    copy_month("2023-02", &data.join("2023-02"));
    // The export of a month without spot checks: its header only.
    let spot = march.join("spot-checks.csv");
    let bytes = std::fs::read(&spot).expect("read");
    let header_end = bytes.iter().position(|b| *b == b'\n').expect("header") + 1;
    std::fs::write(&spot, &bytes[..header_end]).expect("write");
    let model = render(&data, "2023-03");
    let md = hotline::render::markdown(&model);
    assert!(md.contains("本月没有市级抽访工单。"), "{md}");
    // No "0%" standing for "no data", and no chart of nothing.
    assert!(!md.contains("满意率 0%"), "{md}");
    assert!(!md.contains("市级抽访问题工单**"), "{md}");
    assert!(
        !model
            .sections
            .iter()
            .any(|s| matches!(s, SectionModel::Chart(c) if c.name == "市级抽访问题工单")),
        "the empty chart is left out"
    );
    assert!(md.contains("### 附表 3"), "the table stays, saying （无）");
    let _ = std::fs::remove_dir_all(data);
}
