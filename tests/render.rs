//! Citizen text is data: escaped in HTML and Markdown, never run as a template.

use hotline::span::SourceFile;

const POLICY: &str = r#"
source 工单 from csv "tickets.csv" {
  单位 unit
  内容 text
}
units { 镇街: 甲镇, 乙镇 }
metric 量 from 工单 by 单位 = count()
metric 常见内容 from 工单 by 单位 = mode(内容)
report "{{ year }} 年 {{ month }} 月" {
  heading "一、总体情况"
  text """共 {{ 量["甲镇"] }} 件，常见：{{ 常见内容["甲镇"] }}"""
  table "t" {
    rows unit where 量 > 0
    column "单位" = unit
    column "内容" = 常见内容
  }
  chart "c" {
    rows unit where 量 > 0
    bar "量" = 量
  }
}
"#;

fn model(name: &str, content: &str) -> hotline::report::ReportModel {
    let dir = std::env::temp_dir().join(format!("hotline-render-{}-{name}", std::process::id()));
    let month = dir.join("2023-03");
    std::fs::create_dir_all(&month).expect("mkdir");
    let csv = format!("单位,内容\n甲镇,\"{}\"\n", content.replace('"', "\"\""));
    std::fs::write(month.join("tickets.csv"), csv).expect("write");
    let file = SourceFile::new("t.policy", POLICY);
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    hotline::evaluate(
        &checked,
        &dir,
        hotline::Month::parse("2023-03").expect("month"),
    )
    .unwrap_or_else(|p| panic!("{p:?}"))
}

#[test]
fn html_escapes_citizen_text() {
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">x</a>";
    let html = hotline::render::html(&model("html", hostile));
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<a href"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("<svg"), "charts are inline SVG");
    // The only address in the page is the SVG namespace: nothing is loaded from elsewhere.
    assert_eq!(
        html.matches("http").count(),
        html.matches("http://www.w3.org/2000/svg").count(),
        "{html}"
    );
    assert!(
        !html.contains("<link") && !html.contains("src=\"http"),
        "self-contained"
    );
}

#[test]
fn markdown_cells_cannot_break_the_table() {
    let md = hotline::render::markdown(&model("md", "a|b\nc `code` <b>"));
    let row = md.lines().find(|l| l.starts_with("| 甲镇")).expect("row");
    assert_eq!(row, "| 甲镇 | a\\|b c \\`code\\` \\<b\\> |");
}

#[test]
fn citizen_text_is_never_rendered_as_a_template() {
    let m = model(
        "template",
        "{{ 7 * 7 }} {% for x in range(3) %}x{% endfor %}",
    );
    let md = hotline::render::markdown(&m);
    assert!(md.contains("{{ 7 \\* 7 }}"), "{md}");
    assert!(!md.contains("49"), "{md}");
}

#[test]
fn a_runaway_template_runs_out_of_fuel_instead_of_hanging() {
    let policy = POLICY.replace(
        r#"text """共"#,
        r#"text """{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}共"#,
    );
    let dir = std::env::temp_dir().join(format!("hotline-render-{}-fuel", std::process::id()));
    let month = dir.join("2023-03");
    std::fs::create_dir_all(&month).expect("mkdir");
    std::fs::write(month.join("tickets.csv"), "单位,内容\n甲镇,x\n").expect("write");
    let file = SourceFile::new("t.policy", policy);
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    let err = hotline::evaluate(
        &checked,
        &dir,
        hotline::Month::parse("2023-03").expect("month"),
    )
    .expect_err("must stop");
    let text = format!("{}", err[0]);
    assert!(text.contains("the template cannot be rendered"), "{text}");
    assert!(text.contains("fuel"), "{text}");
}

/// The March report on terminals of 60 to 160 columns: no line wider than the terminal
/// (a Chinese character takes two), no number split across lines, no line starting with
/// closing punctuation; a table too wide for the terminal becomes a block per row.
#[test]
fn the_terminal_report_fits_its_width_and_keeps_numbers_whole() {
    use unicode_width::UnicodeWidthStr;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(root.join("policies/dong-e-monthly.policy")).expect("policy");
    let file = SourceFile::new("dong-e-monthly.policy", text);
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    let month = hotline::Month::parse("2023-03").expect("month");
    let model = hotline::evaluate(&checked, &root.join("tests/data/dong-e"), month)
        .unwrap_or_else(|p| panic!("{p:?}"));
    for width in [60u16, 80, 100, 120, 160] {
        let out = hotline::render::terminal(&model, Some(width));
        for line in out.lines() {
            assert!(line.width() <= usize::from(width), "{width}: {line}");
            let first = line.trim_start().chars().next();
            assert!(
                !matches!(first, Some('，' | '。' | '、' | '；' | '：' | '）')),
                "{width}: {line}"
            );
        }
        // Figures of the prose, each whole on one line.
        for figure in ["4727", "99.93%", "87.17%", "26.68%", "57.94%", "80.31%"] {
            assert!(
                out.lines().any(|l| l.contains(figure)),
                "{width}: {figure} split"
            );
        }
        // Every cell of 附表 1's first row is whole.
        for cell in [
            "新城街道",
            "440",
            "99.32%",
            "4.97",
            "80.23%",
            "-0.11",
            "98.81",
        ] {
            assert!(out.lines().any(|l| l.contains(cell)), "{width}: {cell}");
        }
    }
}
