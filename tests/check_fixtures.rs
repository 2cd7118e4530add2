//! Snapshot tests of the parser and checker over fixture folders:
//!
//! - `fixtures/check/err/*.policy`: each fails to compile; the rendered diagnostics are snapshotted.
//! - `fixtures/check/warn/*.policy`: each compiles with warnings; the rendered warnings are snapshotted.
//! - `fixtures/check/ok/*.policy`: each compiles cleanly; the syntax tree is snapshotted.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test check_fixtures`, then read every `.snap`.

use hotline::ast::{Item, Policy};
use hotline::span::{SourceFile, Span};
use std::path::Path;

/// The fixture as a source file named by its file name only, so snapshots do not depend on
/// where the repository is checked out.
fn load(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    SourceFile::new(name, text)
}

/// Every problem rendered without colour, separated by a rule.
fn render_all(file: &SourceFile, problems: Vec<hotline::Problem>) -> String {
    problems
        .into_iter()
        .map(|p| hotline::render_diagnostic(file, p, false))
        .collect::<Vec<_>>()
        .join("────────\n")
}

fn dong_e() -> SourceFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/dong-e-monthly.policy");
    load(&path)
}

fn parse(file: &SourceFile) -> Policy {
    hotline::syntax::parse(file).unwrap_or_else(|errors| {
        panic!("{} does not parse: {errors:#?}", file.name);
    })
}

#[test]
fn check_err() {
    insta::glob!("fixtures/check/err/*.policy", |path| {
        let file = load(path);
        let problems = match hotline::compile(&file) {
            Ok(_) => panic!("{} compiles, but it should fail", file.name),
            Err(problems) => problems,
        };
        assert!(
            problems.iter().any(|p| !p.is_warning()),
            "{} fails with warnings only",
            file.name
        );
        insta::assert_snapshot!(render_all(&file, problems));
    });
}

#[test]
fn check_warn() {
    insta::glob!("fixtures/check/warn/*.policy", |path| {
        let file = load(path);
        let checked = hotline::compile(&file).unwrap_or_else(|problems| {
            panic!(
                "{} does not compile:\n{}",
                file.name,
                render_all(&file, problems)
            );
        });
        assert!(
            !checked.warnings.is_empty(),
            "{} has no warnings",
            file.name
        );
        let warnings = checked
            .warnings
            .into_iter()
            .map(hotline::Problem::Check)
            .collect();
        insta::assert_snapshot!(render_all(&file, warnings));
    });
}

#[test]
fn check_ok() {
    insta::glob!("fixtures/check/ok/*.policy", |path| {
        let file = load(path);
        let checked = hotline::compile(&file).unwrap_or_else(|problems| {
            panic!(
                "{} does not compile:\n{}",
                file.name,
                render_all(&file, problems)
            );
        });
        if !checked.warnings.is_empty() {
            let warnings = checked
                .warnings
                .into_iter()
                .map(hotline::Problem::Check)
                .collect();
            panic!(
                "{} has warnings:\n{}",
                file.name,
                render_all(&file, warnings)
            );
        }
        insta::assert_snapshot!(format!("{:#?}", parse(&file)));
    });
}

#[test]
fn dong_e_policy() {
    let file = dong_e();
    let checked = hotline::compile(&file).unwrap_or_else(|problems| {
        panic!(
            "the Dong'e policy does not compile:\n{}",
            render_all(&file, problems)
        );
    });
    assert!(
        checked.warnings.is_empty(),
        "the Dong'e policy has warnings: {:#?}",
        checked.warnings
    );
    insta::assert_snapshot!("dong_e_ast", format!("{:#?}", parse(&file)));
}

// ---------------------------------------------------------------- layout does not matter

fn item_span(item: &Item) -> Span {
    item.span()
}

/// The text with blank lines and comments inserted before every declaration and at the end.
fn with_extra_layout(file: &SourceFile, policy: &Policy) -> String {
    const FILLER: &str = "\n\n  # 插入的注释 inserted comment\n\n// another comment\n\u{3000}\n";
    let mut text = file.text.to_string();
    let mut starts: Vec<usize> = policy.items.iter().map(|i| item_span(i).start).collect();
    starts.sort_unstable();
    text.push_str(FILLER);
    for start in starts.into_iter().rev() {
        assert!(
            text.is_char_boundary(start),
            "{}: span start {start} is not a character boundary",
            file.name
        );
        text.insert_str(start, FILLER);
    }
    text
}

fn layout_files() -> Vec<SourceFile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check/ok");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "policy"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no ok fixtures in {}", dir.display());
    let mut files: Vec<SourceFile> = paths.iter().map(|p| load(p)).collect();
    files.push(dong_e());
    files
}

#[test]
fn parsing_is_deterministic() {
    for file in layout_files() {
        assert_eq!(
            parse(&file),
            parse(&file),
            "{}: two parses differ",
            file.name
        );
    }
}

#[test]
fn blank_lines_and_comments_between_declarations_do_not_change_the_tree() {
    for file in layout_files() {
        let original = parse(&file);
        assert!(!original.items.is_empty(), "{}: no declarations", file.name);
        let spaced = SourceFile::new(file.name.to_string(), with_extra_layout(&file, &original));
        let reparsed = parse(&spaced);
        assert_eq!(
            original, reparsed,
            "{}: extra layout changed the tree",
            file.name
        );
        // The spans did move: equality really ignores them.
        let first = item_span(&original.items[0]).start;
        let moved = item_span(&reparsed.items[0]).start;
        assert!(
            moved > first,
            "{}: the first declaration did not move",
            file.name
        );
        // And the spaced text still checks.
        if let Err(problems) = hotline::compile(&spaced) {
            panic!(
                "{}: spaced text does not compile:\n{}",
                file.name,
                render_all(&spaced, problems)
            );
        }
    }
}
