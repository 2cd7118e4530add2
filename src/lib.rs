//! hotline: a declarative policy language for citizen-hotline (12345) performance scoring.
//!
//! ```text
//!  .policy text ─syntax─▶ AST ─check─▶ typed AST + Env ─eval (+ month of data)─▶ report model ─render─▶ md / html / terminal / json
//! ```
//!
//! | stage    | module            | input                      | output                          | errors                    |
//! |----------|-------------------|----------------------------|---------------------------------|---------------------------|
//! | parse    | [`syntax`]        | policy text                | pest pairs (never leave it)     | [`syntax::SyntaxError`]   |
//! | lower    | [`syntax`] (lower)| pest pairs                 | [`ast::Policy`] with spans      | [`syntax::SyntaxError`]   |
//! | check    | [`check`]         | [`ast::Policy`]            | [`check::Checked`] (types, env), templates checked with [`template`] | [`check::CheckError`] |
//! | load     | [`data`]          | files of a month + schema  | [`data::Table`] typed columns   | [`data::LoadError`]       |
//! | evaluate | [`eval`]          | checked policy + tables    | [`report::ReportModel`]         | [`eval::EvalError`]       |
//! | render   | [`render`]        | [`report::ReportModel`]    | Markdown, HTML, terminal, JSON  | (none: the model is total)|
//!
//! For CSV sources, load and evaluate overlap ([`eval::evaluate`]): the file is read in blocks
//! of whole records, each block is typed and folded into the metrics' aggregates on a worker
//! thread, and the blocks are merged in file order, so memory does not grow with the data.
//! Tables held whole ([`eval::load`], [`eval::evaluate_with`]) serve the watch cache and tests.
//!
//! Tools built on the pipeline: [`policytest`] (`hotline test`), [`explain`], [`fmt`] (from
//! the AST and the comments of the text), [`diff`] (two evaluated models), [`init`] (a starter
//! policy from an export), [`watch`] (the live preview).
//!
//! Data flows one way. Errors are data; only the binary and the watch layer print them.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod ast;
pub mod calendar;
pub mod check;
pub mod cli;
pub mod commentary;
pub mod data;
pub mod diff;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod init;
pub mod number;
pub mod policytest;
pub mod render;
pub mod report;
pub mod span;
pub mod syntax;
pub mod template;
pub mod types;
pub mod watch;

use miette::Diagnostic;
use span::SourceFile;
use std::path::Path;
use thiserror::Error;

pub use eval::{Month, Period, PeriodSpec};

/// A problem from any stage, with its code, message, labels and help.
#[derive(Debug, Error, Diagnostic)]
pub enum Problem {
    /// From parsing.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(#[from] syntax::SyntaxError),
    /// From checking.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Check(#[from] check::CheckError),
    /// From loading data.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Data(#[from] data::LoadError),
    /// From evaluating.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Eval(#[from] eval::EvalError),
}

impl Problem {
    /// Whether this is a warning only.
    pub fn is_warning(&self) -> bool {
        match self {
            Problem::Check(e) => e.is_warning(),
            Problem::Eval(e) => e.is_warning(),
            _ => false,
        }
    }

    /// Whether its labels point into the policy text (data errors point into data files).
    fn points_into_policy(&self) -> bool {
        !matches!(self, Problem::Data(_))
    }
}

/// What a command produced, for the binary to print: the library itself never prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Written to standard output.
    pub stdout: String,
    /// Written to standard error.
    pub stderr: String,
    /// The exit code: 0 success, 1 failure, 2 bad usage.
    pub code: u8,
}

/// Parses and checks a policy, returning every problem found.
pub fn compile(file: &SourceFile) -> Result<check::Checked, Vec<Problem>> {
    let policy = syntax::parse(file)
        .map_err(|errors| errors.into_iter().map(Problem::Syntax).collect::<Vec<_>>())?;
    // A `calendar "file"` is read next to the policy.
    let dir = Path::new(&*file.name).parent();
    check::check_in(policy, &file.text, dir)
        .map_err(|errors| errors.into_iter().map(Problem::Check).collect())
}

/// Loads a month of data and evaluates a checked policy on it.
pub fn evaluate(
    checked: &check::Checked,
    data_dir: &Path,
    month: Month,
) -> Result<report::ReportModel, Vec<Problem>> {
    eval::evaluate(checked, data_dir, month)
}

/// Loads every month of `period` and evaluates a checked policy over them; the
/// model's `warnings` name the months without data.
pub fn evaluate_period(
    checked: &check::Checked,
    data_dir: &Path,
    period: Period,
    progress: eval::Progress<'_>,
) -> Result<report::ReportModel, Vec<Problem>> {
    eval::evaluate_period(checked, data_dir, period, false, progress)
}

impl Outcome {
    /// A failure: nothing on standard output, `text` on standard error.
    pub fn failed(code: u8, text: String) -> Outcome {
        Outcome {
            stdout: String::new(),
            stderr: text,
            code,
        }
    }
}

/// What a command on a policy and a period of data starts from: the policy's text, its
/// checked form and the months asked; or the outcome when one of them is wrong.
pub fn policy_and_months(
    policy: &Path,
    data: &Path,
    (month, period): (Option<&str>, Option<&str>),
) -> Result<(span::SourceFile, check::Checked, Period), Outcome> {
    let text = std::fs::read_to_string(policy).map_err(|e| {
        Outcome::failed(
            2,
            format!("error: cannot read `{}`: {e}\n", policy.display()),
        )
    })?;
    let period = months_asked(month, period, data)
        .map_err(|message| Outcome::failed(2, format!("error: {message}\n")))?;
    let file = span::SourceFile::new(policy.display().to_string(), text);
    let checked = compile(&file).map_err(|p| Outcome::failed(1, diagnostics(&file, p)))?;
    Ok((file, checked, period))
}

/// Problems rendered for the terminal, without colour.
pub fn diagnostics(file: &span::SourceFile, problems: Vec<Problem>) -> String {
    problems
        .into_iter()
        .map(|p| render_diagnostic(file, p, false))
        .collect()
}

/// The months `--month` or `--period` name, or what is wrong with them (bad usage).
pub fn months_asked(
    month: Option<&str>,
    period: Option<&str>,
    data_dir: &Path,
) -> Result<Period, String> {
    match (month, period) {
        (Some(month), _) => Month::parse(month)
            .map(Period::month)
            .ok_or_else(|| format!("`{month}` is not a month: write `YYYY-MM`, e.g. `2023-03`")),
        (None, Some(text)) => {
            let spec = PeriodSpec::parse(text).ok_or_else(|| {
                format!("`{text}` is not a period: write `2023-Q1`, `2023-H1`, `2023`, `2023-01..2023-06` or `last 3 months`")
            })?;
            spec.resolve(latest_month(data_dir)).ok_or_else(|| {
                format!(
                    "`{}` has no month folders (`YYYY-MM`) to count the last months from",
                    data_dir.display()
                )
            })
        }
        (None, None) => {
            Err("say which months: `--month 2023-03` or `--period 2023-Q1`".to_string())
        }
    }
}

/// The latest month that has a folder (`YYYY-MM`) in `data_dir`.
pub fn latest_month(data_dir: &Path) -> Option<Month> {
    std::fs::read_dir(data_dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| Month::parse(&e.file_name().to_string_lossy()))
        .max_by_key(|m| (m.year, m.month))
}

/// Like [`evaluate`], telling `progress` how far the month's CSV files have been
/// read (the file a block was just read from, the bytes read of all the files,
/// their total size); the CLI draws a progress bar from it.
pub fn evaluate_with_progress(
    checked: &check::Checked,
    data_dir: &Path,
    month: Month,
    progress: eval::Progress<'_>,
) -> Result<report::ReportModel, Vec<Problem>> {
    eval::evaluate_with_progress(checked, data_dir, month, progress)
}

/// A problem as JSON for tools: file, severity, code, message, help and labels with
/// 1-based lines and columns (columns count characters).
pub fn diagnostic_json(file: &SourceFile, problem: &Problem) -> serde_json::Value {
    let labels: Vec<serde_json::Value> = problem
        .labels()
        .into_iter()
        .flatten()
        .map(|l| {
            let (line, column) = file.line_col(l.offset());
            let (end_line, end_column) = file.line_col(l.offset() + l.len());
            serde_json::json!({
                "label": l.label(),
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
            })
        })
        .collect();
    serde_json::json!({
        "file": file.name_at(problem.labels().and_then(|mut l| l.next()).map_or(0, |l| l.offset())),
        "severity": if problem.is_warning() { "warning" } else { "error" },
        "code": problem.code().map(|c| c.to_string()),
        "message": problem.to_string(),
        "help": problem.help().map(|h| h.to_string()),
        "labels": labels,
    })
}

/// A problem as a GitHub workflow annotation line: `::error file=…,line=…,col=…::message`.
pub fn github_annotation(file: &SourceFile, problem: &Problem) -> String {
    let kind = if problem.is_warning() {
        "warning"
    } else {
        "error"
    };
    let first = problem.labels().and_then(|mut l| l.next());
    let first_offset = first.as_ref().map_or(0, |l| l.offset());
    let position = match first {
        Some(label) => {
            let (line, col) = file.line_col(label.offset());
            let (end_line, end_col) = file.line_col(label.offset() + label.len());
            format!(",line={line},col={col},endLine={end_line},endColumn={end_col}")
        }
        None => String::new(),
    };
    let title = problem
        .code()
        .map(|c| format!(",title={}", escape_property(&c.to_string())))
        .unwrap_or_default();
    let mut message = problem.to_string();
    if let Some(help) = problem.help() {
        message.push_str(&format!("\nhelp: {help}"));
    }
    format!(
        "::{kind} file={}{position}{title}::{}",
        escape_property(file.name_at(first_offset)),
        escape_data(&message)
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Renders a problem as text, as `hotline check` prints it. Without colour when `color` is false.
pub fn render_diagnostic(file: &SourceFile, problem: Problem, color: bool) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color && std::env::var_os("NO_COLOR").is_none() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    let into_policy = problem.points_into_policy();
    let report: miette::Report = if into_policy {
        miette::Report::new(problem).with_source_code(file.clone())
    } else {
        miette::Report::new(problem)
    };
    let _ = handler.render_report(&mut out, report.as_ref());
    out
}
