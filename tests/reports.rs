//! `reports/` holds the rendered March 2023 report; a policy or renderer change that alters
//! it must update the files too, so the change shows in the pull request's diff.

use hotline::span::SourceFile;
use std::path::Path;

fn render(format: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(root.join("policies/dong-e-monthly.policy")).expect("policy");
    let file = SourceFile::new("policies/dong-e-monthly.policy", text);
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    let month = hotline::Month::parse("2023-03").expect("month");
    let model = hotline::evaluate(&checked, &root.join("tests/data/dong-e"), month)
        .unwrap_or_else(|p| panic!("{p:?}"));
    match format {
        "md" => hotline::render::markdown(&model),
        _ => hotline::render::html(&model),
    }
}

fn assert_current(format: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join(format!("reports/dong-e-monthly-2023-03.{format}"));
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    let fresh = render(format);
    assert!(
        on_disk == fresh,
        "{} is stale; regenerate it with:\n  cargo run -- render policies/dong-e-monthly.policy --data tests/data/dong-e --month 2023-03 --format {format} -o reports/dong-e-monthly-2023-03.{format}",
        path.display()
    );
}

#[test]
fn the_markdown_report_is_current() {
    assert_current("md");
}

#[test]
fn the_html_report_is_current() {
    assert_current("html");
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    assert_eq!(render("md"), render("md"));
    assert_eq!(render("html"), render("html"));
}
