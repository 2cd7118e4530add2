//! Parse + check arbitrary policy text, render its diagnostics, and for text that parses
//! hold the formatter to its promises (`src/fmt.rs`, `tests/fmt.rs`):
//!
//! 1. `format_source` accepts every text that parses (an `Err` here is the formatter's own
//!    "cannot print faithfully" bug report, see `fmt::verify`);
//! 2. the formatted text parses again, to the same syntax tree;
//! 3. formatting is stable: formatting the formatted text changes nothing.
//!
//! Any panic, hang (`-timeout`) or stack overflow is a finding.
#![no_main]

use hotline::span::SourceFile;
use hotline::{syntax, Problem};
use libfuzzer_sys::fuzz_target;

/// How many diagnostics per input are turned into JSON / annotations / rendered text
/// (rendering is the slow part, so the first few are enough to reach every kind).
const RENDERED: usize = 3;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("fuzz.policy", text);
    // `compile` = parse, then check. Only parse errors are `Problem::Syntax`, so a text
    // whose problems are all from the checker did parse.
    let parses = match hotline::compile(&file) {
        Ok(checked) => {
            for warning in checked.warnings.into_iter().take(RENDERED) {
                diagnostics(&file, Problem::Check(warning));
            }
            true
        }
        Err(problems) => {
            let parses = !problems.iter().any(|p| matches!(p, Problem::Syntax(_)));
            for problem in problems.into_iter().take(RENDERED) {
                diagnostics(&file, problem);
            }
            parses
        }
    };
    if !parses {
        return;
    }

    let formatted = match hotline::fmt::format_source(text) {
        Ok(formatted) => formatted,
        Err(errors) => {
            panic!("fmt refused a policy that parses: {errors:#?}\n--- input ---\n{text}")
        }
    };
    let original = match syntax::parse(&file) {
        Ok(policy) => policy,
        Err(errors) => panic!("parse is not deterministic: {errors:#?}"),
    };
    let again = match syntax::parse(&SourceFile::new("formatted.policy", formatted.as_str())) {
        Ok(policy) => policy,
        Err(errors) => panic!(
            "the formatted text does not parse: {errors:#?}\n--- input ---\n{text}\n--- formatted ---\n{formatted}"
        ),
    };
    assert!(
        again == original,
        "formatting changed the syntax tree\n--- input ---\n{text}\n--- formatted ---\n{formatted}"
    );
    match hotline::fmt::format_source(&formatted) {
        Ok(twice) => assert!(
            twice == formatted,
            "formatting is not stable\n--- input ---\n{text}\n--- formatted ---\n{formatted}\n--- formatted again ---\n{twice}"
        ),
        Err(errors) => panic!(
            "fmt refused its own output: {errors:#?}\n--- input ---\n{text}\n--- formatted ---\n{formatted}"
        ),
    }
});

/// Every way the CLI shows a problem: JSON, GitHub annotation, miette's rendering.
fn diagnostics(file: &SourceFile, problem: Problem) {
    let _ = hotline::diagnostic_json(file, &problem);
    let _ = hotline::github_annotation(file, &problem);
    let _ = hotline::render_diagnostic(file, problem, false);
}
