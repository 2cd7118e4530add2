//! `hotline test`: the tests declared in policies.
//!
//! A test gives small inline tables (CSV text under a source's headers) and expected values:
//!
//! ```text
//! test "exactly 10 tickets is the middle band" {
//!   month 2023-03
//!   data 工单 """
//!     承办单位,办理方式
//!     县民政局,派单
//!   """
//!   expect 县民政局.规模 == "小"
//! }
//! ```
//!
//! Columns a test leaves out are empty (text that may not be empty reads `—`); sources it
//! leaves out have no rows. A line that ends
//! in `× N` stands for N equal rows. Inline data is CSV whatever the source's file format. A number is
//! compared at the decimals it is written with (`94.85%` compares the value rounded to two
//! decimals by the policy's rule). Tests live in the policy or in `x.test.policy` next to
//! `x.policy`.

use crate::ast::{BinaryOp, ExprKind, Item, PolicyTest, UnaryOp};
use crate::check::{Checked, ExpectTarget};
use crate::data::{self, ColumnData, Table};
use crate::eval::Month;
use crate::span::{SourceFile, Span};
use crate::{number, Outcome, Problem};
use miette::Diagnostic;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use thiserror::Error;

/// A failed expectation.
///
/// ```text
/// expect 姜楼镇.按时办理率 == 94.86%    # the data gives 94.85%
/// ```
#[derive(Debug, Error, Diagnostic, Clone, PartialEq)]
#[error("test `{test}`: expected `{target}` {op} {expected}, found {found}")]
#[diagnostic(code(hotline::test::failed), help("{help}"))]
pub struct TestFailure {
    /// The test's name.
    pub test: String,
    /// What was read, as written.
    pub target: String,
    /// The comparison.
    pub op: String,
    /// The expected value, as written.
    pub expected: String,
    /// The actual value, as compared.
    pub found: String,
    /// The exact value.
    pub help: String,
    /// The expectation.
    #[label("found {found}")]
    pub span: Span,
}

/// The results of one policy's tests.
#[derive(Debug, Default)]
pub struct TestRun {
    /// Failures not yet rendered.
    pending: Vec<(String, Vec<TestFailure>)>,
    /// Where a `.test.policy` file starts in the joined text.
    remap: Option<(usize, SourceFile)>,
    /// The joined text.
    file: Option<SourceFile>,
    /// Names of the tests that passed.
    pub passed: Vec<String>,
    /// Failures (one test can fail several expectations) and errors, rendered.
    pub failed: Vec<(String, String)>,
    /// Metrics, scores and bands no expectation reads.
    pub unexercised: Vec<String>,
}

/// Runs the tests of every policy under `paths`.
pub fn command(paths: &[PathBuf]) -> Outcome {
    let roots: Vec<PathBuf> = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in &roots {
        if let Err(e) = collect(root, &mut files) {
            return Outcome {
                stdout: String::new(),
                stderr: format!("error: cannot read `{}`: {e}\n", root.display()),
                code: 2,
            };
        }
    }
    files.sort();
    let mut out = Outcome::default();
    let (mut passed, mut failed) = (0usize, 0usize);
    for policy in files
        .iter()
        .filter(|f| !f.to_string_lossy().ends_with(".test.policy"))
    {
        let sibling = policy.with_extension("test.policy");
        let tests_path = sibling.exists().then_some(sibling);
        let run = match run_file(policy, tests_path.as_deref()) {
            Ok(run) => run,
            // A policy that does not compile fails its tests; one without tests is `check`'s.
            Err(text) if tests_path.is_some() || declares_tests(policy) => {
                out.stdout.push_str(&format!(
                    "{}\n  FAILED  (the policy does not compile)\n",
                    policy.display()
                ));
                out.stderr.push_str(&text);
                failed += 1;
                continue;
            }
            Err(_) => continue,
        };
        if run.passed.is_empty() && run.failed.is_empty() {
            continue;
        }
        out.stdout.push_str(&format!("{}\n", policy.display()));
        for name in &run.passed {
            out.stdout.push_str(&format!("  ok      {name}\n"));
        }
        for (name, diagnostic) in &run.failed {
            out.stdout.push_str(&format!("  FAILED  {name}\n"));
            out.stderr.push_str(diagnostic);
        }
        if !run.unexercised.is_empty() {
            out.stdout.push_str(&format!(
                "  not exercised by any test: {}\n",
                run.unexercised.join("、")
            ));
        }
        passed += run.passed.len();
        failed += run.failed.len();
    }
    out.stdout
        .push_str(&format!("{passed} passed, {failed} failed\n"));
    out.code = u8::from(failed > 0);
    out
}

/// Whether a policy file declares tests, by a look at its lines.
fn declares_tests(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .is_ok_and(|t| t.lines().any(|l| l.trim_start().starts_with("test \"")))
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let p = entry?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" {
                collect(&p, out)?;
            }
        } else if name.ends_with(".policy") {
            out.push(p);
        }
    }
    Ok(())
}

/// Runs the tests of `policy` (and of `tests`, a `.test.policy` file next to it).
pub fn run_file(policy: &Path, tests: Option<&Path>) -> Result<TestRun, String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map_err(|e| format!("error: cannot read `{}`: {e}\n", p.display()))
    };
    let mut file = SourceFile::new(policy.display().to_string(), read(policy)?);
    let mut tests_file = None;
    if let Some(t) = tests {
        let test_file = SourceFile::new(t.display().to_string(), read(t)?);
        file = SourceFile::joined(&file, &test_file);
        tests_file = file.joined.as_ref().map(|(offset, _)| (*offset, test_file));
    }
    let checked = match crate::compile(&file) {
        Ok(c) => c,
        Err(problems) => {
            let rendered: String = problems
                .into_iter()
                .map(|p| crate::render_diagnostic(&file, p, false))
                .collect();
            return Err(rendered);
        }
    };
    let mut result = run(&checked, &file);
    // Failures in the test file point into it, not into the joined text.
    if let Some((offset, test_file)) = tests_file {
        result.remap = Some((offset, test_file));
    }
    Ok(result.finish())
}

/// Runs every test of a checked policy.
pub fn run(checked: &Checked, file: &SourceFile) -> TestRun {
    let mut result = TestRun::default();
    let mut exercised = BTreeSet::new();
    for item in &checked.policy.items {
        let Item::Test(test) = item else { continue };
        match run_test(checked, test, &mut exercised) {
            Ok(failures) if failures.is_empty() => result.passed.push(test.name.value.clone()),
            Ok(failures) => result.pending.push((test.name.value.clone(), failures)),
            Err(problems) => {
                let text = problems
                    .into_iter()
                    .map(|p| crate::render_diagnostic(file, p, false))
                    .collect();
                result.failed.push((test.name.value.clone(), text));
            }
        }
    }
    for name in &checked.env.order {
        let kind = checked.env.defs.get(name).map(|d| &d.kind);
        if matches!(
            kind,
            Some(
                crate::check::DefKind::Metric(_)
                    | crate::check::DefKind::Score(_)
                    | crate::check::DefKind::Bands(_)
            )
        ) && !exercised.contains(name)
        {
            result.unexercised.push(name.clone());
        }
    }
    result.file = Some(file.clone());
    result
}

impl TestRun {
    /// Renders the pending failures, pointing into the file each expectation is in.
    pub fn finish(mut self) -> TestRun {
        let pending = std::mem::take(&mut self.pending);
        for (name, failures) in pending {
            let mut text = String::new();
            for mut failure in failures {
                match (&self.remap, &self.file) {
                    (Some((offset, test_file)), _) if failure.span.start >= *offset => {
                        failure.span =
                            Span::new(failure.span.start - offset, failure.span.end - offset);
                        text.push_str(&render(test_file, failure));
                    }
                    (_, Some(file)) => text.push_str(&render(file, failure)),
                    (_, None) => text.push_str(&format!("{failure}\n")),
                }
            }
            self.failed.push((name, text));
        }
        self
    }
}

fn render(file: &SourceFile, failure: TestFailure) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    let report = miette::Report::new(failure).with_source_code(file.clone());
    let _ = handler.render_report(&mut out, report.as_ref());
    out
}

fn run_test(
    checked: &Checked,
    test: &PolicyTest,
    exercised: &mut BTreeSet<String>,
) -> Result<Vec<TestFailure>, Vec<Problem>> {
    let month = test
        .month
        .as_ref()
        .and_then(|m| Month::parse(&m.value))
        .unwrap_or(Month {
            year: 2023,
            month: 1,
        });
    let mut tables = Vec::new();
    let mut problems = Vec::new();
    for source in &checked.env.sources {
        let data = test.data.iter().find(|(s, _)| s.name == source.name);
        match data {
            Some((_, csv)) => match inline_table(&checked.env, source, &csv.value) {
                Ok(t) => tables.push(t),
                Err(e) => problems.push(Problem::Data(e)),
            },
            None => tables.push(empty_table(source, 0, Vec::new())),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let model = crate::eval::evaluate_tables(checked, tables, month, false)?;
    let mut failures = Vec::new();
    for expect in &test.expects {
        let target = resolve(checked, &expect.target);
        exercised.insert(target.name.clone());
        let actual = read_value(checked, &model, &target);
        let written: Vec<&str> = expect.target.iter().map(|i| i.name.as_str()).collect();
        if let Some(negated) = expect.empty {
            // `expect x is empty` / `is not empty`.
            if actual.is_none() == negated {
                failures.push(TestFailure {
                    test: test.name.value.clone(),
                    target: written.join("."),
                    op: "is".into(),
                    expected: if negated { "not empty" } else { "empty" }.into(),
                    found: actual.map_or_else(|| "no value".into(), |v| format!("`{v}`")),
                    help: if negated {
                        "the value does not exist for this data".into()
                    } else {
                        "the value exists for this data".into()
                    },
                    span: expect.span,
                });
            }
            continue;
        }
        if let Some(failure) = compare(
            checked,
            &test.name.value,
            &written.join("."),
            expect.op,
            &expect.expected,
            actual,
            expect.span,
        ) {
            failures.push(failure);
        }
    }
    Ok(failures)
}

/// `姜楼镇.按时办理率` → key and name; the checker has already vetted the names.
fn resolve(checked: &Checked, target: &[crate::ast::Ident]) -> ExpectTarget {
    let names: Vec<&str> = target.iter().map(|i| i.name.as_str()).collect();
    let is_def = |n: &str| checked.env.defs.contains_key(n);
    match names.as_slice() {
        [first, rest @ ..] if is_def(first) => ExpectTarget {
            key: None,
            name: first.to_string(),
            part: rest.first().map(|p| p.to_string()),
        },
        [key, name, rest @ ..] => ExpectTarget {
            key: Some(key.to_string()),
            name: name.to_string(),
            part: rest.first().map(|p| p.to_string()),
        },
        _ => ExpectTarget {
            key: None,
            name: names.first().map(|n| n.to_string()).unwrap_or_default(),
            part: None,
        },
    }
}

/// The exact value an expectation reads, as text (empty when there is none).
fn read_value(
    checked: &Checked,
    model: &crate::report::ReportModel,
    target: &ExpectTarget,
) -> Option<String> {
    let name = match &target.part {
        Some(part) => format!("{}.{}", target.name, part),
        None => target.name.clone(),
    };
    let def = model.values.iter().find(|d| d.name == name)?;
    match &target.key {
        None => def.value.clone(),
        Some(key) => {
            let canonical = checked
                .env
                .unit_lookup
                .get(key)
                .and_then(|i| checked.env.units.get(*i as usize))
                .map_or(key.as_str(), |u| u.name.as_str());
            def.values
                .iter()
                .find(|(k, _)| k == canonical)
                .and_then(|(_, v)| v.clone())
        }
    }
}

fn compare(
    checked: &Checked,
    test: &str,
    target: &str,
    op: BinaryOp,
    expected: &crate::ast::Expr,
    actual: Option<String>,
    span: Span,
) -> Option<TestFailure> {
    let fail = |expected_text: String, found: String, help: String| TestFailure {
        test: test.to_string(),
        target: target.to_string(),
        op: op.symbol().to_string(),
        expected: expected_text,
        found,
        help,
        span,
    };
    let (expected_number, percent) = match &expected.kind {
        ExprKind::Number(n) => (Some(*n), false),
        ExprKind::Percent(p) => (Some(*p), true),
        ExprKind::Unary(UnaryOp::Neg, inner) => match inner.kind {
            ExprKind::Number(n) => (Some(-n), false),
            ExprKind::Percent(p) => (Some(-p), true),
            _ => (None, false),
        },
        _ => (None, false),
    };
    let suffix = if percent { "%" } else { "" };
    match expected_number {
        Some(want) => {
            let Some(actual_text) = actual else {
                return Some(fail(
                    format!("{want}{suffix}"),
                    "no value".into(),
                    "the value is empty for this data".into(),
                ));
            };
            let Ok(exact) = Decimal::from_str(&actual_text) else {
                return Some(fail(
                    format!("{want}{suffix}"),
                    format!("`{actual_text}`"),
                    "the value is not a number".into(),
                ));
            };
            let shown = number::round(exact, want.scale(), checked.env.rounding);
            let holds = match op {
                BinaryOp::Eq => shown == want,
                BinaryOp::Ne => shown != want,
                BinaryOp::Lt => shown < want,
                BinaryOp::Le => shown <= want,
                BinaryOp::Gt => shown > want,
                _ => shown >= want,
            };
            (!holds).then(|| {
                fail(
                    format!("{want}{suffix}"),
                    format!("{shown}{suffix}"),
                    format!(
                        "the exact value is {}{suffix}, compared at {} decimals",
                        exact.normalize(),
                        want.scale()
                    ),
                )
            })
        }
        None => {
            let want = match &expected.kind {
                ExprKind::Str(s) => s.clone(),
                ExprKind::Bool(b) => if *b { "是" } else { "否" }.to_string(),
                _ => {
                    return Some(fail(
                        "a literal".into(),
                        "—".into(),
                        "expect a number, a percentage or a text".into(),
                    ))
                }
            };
            let found = actual.unwrap_or_else(|| "no value".into());
            let holds = match op {
                BinaryOp::Ne => found != want,
                _ => found == want,
            };
            (!holds).then(|| {
                fail(
                    format!("`{want}`"),
                    format!("`{found}`"),
                    "texts are compared exactly".into(),
                )
            })
        }
    }
}

/// A source's table from inline CSV: the columns it gives, empty ones for the rest.
fn inline_table(
    env: &crate::check::Env,
    source: &crate::check::SourceDef,
    csv: &str,
) -> Result<Table, data::LoadError> {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("hotline-test-{}-{n}", std::process::id()));
    let path = dir.join(format!("{}.csv", source.name));
    let io = |e: std::io::Error| data::LoadError::Io {
        path: path.clone(),
        source: e,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::write(&path, expand(csv).as_bytes()).map_err(io)?;
    let header: Vec<String> = csv
        .trim()
        .lines()
        .next()
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().to_string())
        .collect();
    let given: Vec<usize> = (0..source.columns.len())
        .filter(|i| {
            source
                .columns
                .get(*i)
                .is_some_and(|c| header.contains(&c.header))
        })
        .collect();
    let specs: Vec<data::ColumnSpec> = given
        .iter()
        .filter_map(|i| source.columns.get(*i).cloned())
        .collect();
    let result = data::load_table_with_fingerprint(
        &path,
        &data::FileFormat::Csv {
            encoding: Some(data::Encoding::Utf8),
        },
        &specs,
        env,
        crate::ast::FingerprintKind::None,
    );
    let _ = std::fs::remove_dir_all(&dir);
    let loaded = result?;
    let rows = loaded.len();
    let mut columns: Vec<Option<ColumnData>> = (0..source.columns.len()).map(|_| None).collect();
    for (slot, data) in given.into_iter().zip(loaded.columns) {
        if let Some(c) = columns.get_mut(slot) {
            *c = Some(data);
        }
    }
    let mut table = empty_table(source, rows, loaded.lines);
    for (column, data) in table.columns.iter_mut().zip(columns) {
        if let Some(data) = data {
            *column = data;
        }
    }
    Ok(table)
}

/// What a text column that may not be empty reads when a test leaves it out.
pub const PLACEHOLDER: &str = "—";

/// Inline CSV with repetitions: a line ending in `× 173` stands for 173 equal rows.
fn expand(csv: &str) -> String {
    let mut out = String::new();
    for line in csv.trim().lines() {
        let (row, times) = match line.rsplit_once('×') {
            Some((row, n)) => match n.trim().parse::<usize>() {
                Ok(n) => (row.trim_end(), n.min(1_000_000)),
                Err(_) => (line, 1),
            },
            None => (line, 1),
        };
        for _ in 0..times {
            out.push_str(row.trim());
            out.push('\n');
        }
    }
    out
}

/// A table of `rows` rows with every column empty, but text that may not be empty, which
/// reads `—`.
fn empty_table(source: &crate::check::SourceDef, rows: usize, lines: Vec<u64>) -> Table {
    let columns = source
        .columns
        .iter()
        .map(|c| match c.ty {
            data::ColumnType::Text if !c.nullable => {
                ColumnData::Text(vec![Some(std::sync::Arc::from(PLACEHOLDER)); rows])
            }
            data::ColumnType::Text => ColumnData::Text(vec![None; rows]),
            data::ColumnType::Integer => ColumnData::Integer(vec![None; rows]),
            data::ColumnType::Decimal | data::ColumnType::Percent => {
                ColumnData::Decimal(vec![None; rows])
            }
            data::ColumnType::Bool { .. } => ColumnData::Bool(vec![None; rows]),
            data::ColumnType::DateTime { .. } => ColumnData::DateTime(vec![None; rows]),
            data::ColumnType::Enum { .. } => ColumnData::Enum(vec![None; rows]),
            data::ColumnType::Unit => ColumnData::Unit(vec![None; rows]),
        })
        .collect();
    Table {
        path: PathBuf::from(format!("<test data for {}>", source.name)),
        columns,
        lines,
        encoding: None,
        hash: None,
        absent: false,
    }
}
