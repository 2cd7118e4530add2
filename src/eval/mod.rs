//! Stage 5: evaluate a checked policy on a month of data, producing the report model.
//! Pure: data in, [`ReportModel`] out; nothing is printed.

mod error;
mod fold;
mod kernel;
mod period;
mod row;
mod value;

pub use error::EvalError;
pub use period::{Period, PeriodSpec};
pub use value::{Key, Value};

use crate::ast::*;
use crate::check::{Checked, DefKind, Env};
use crate::data::{self, ColumnData, Table as DataTable, UnitResolver};
use crate::number;
use crate::report::{
    Cell, ChartModel, Definition, ReportModel, SectionModel, SourceSummary, TableModel,
};
use crate::span::Span;
use crate::types::{Base, Domain, Shape, Ty};
use crate::Problem;
use foldhash::HashMap;
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    /// The year.
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year = y.parse().ok()?;
        let month = m.parse().ok()?;
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// Its first and last days, in days since 1970-01-01.
    pub fn bounds(self) -> Option<(i64, i64)> {
        let first = chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1)?;
        let next = match self.month {
            12 => chrono::NaiveDate::from_ymd_opt(self.year + 1, 1, 1)?,
            m => chrono::NaiveDate::from_ymd_opt(self.year, m + 1, 1)?,
        };
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
        Some(((first - epoch).num_days(), (next - epoch).num_days() - 1))
    }

    /// The month before.
    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The month a file stands for, and the period evaluated.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct When {
    month: Option<Month>,
    period: Option<Period>,
}

/// The value of a definition.
#[derive(Debug, Clone)]
enum Computed {
    /// One value.
    Scalar(Value),
    /// One value per key; `absent` for keys without one.
    Keyed {
        values: BTreeMap<Key, Value>,
        absent: Value,
    },
}

impl Computed {
    fn at(&self, key: Option<&Key>) -> Value {
        match self {
            Computed::Scalar(v) => v.clone(),
            Computed::Keyed { values, absent } => match key {
                Some(k) => values.get(k).cloned().unwrap_or_else(|| absent.clone()),
                None => absent.clone(),
            },
        }
    }
}

struct Resolver<'a>(&'a Env);

impl UnitResolver for Resolver<'_> {
    fn resolve(&self, name: &str) -> Option<u32> {
        self.0.unit_lookup.get(name).copied()
    }
    fn names(&self) -> Vec<String> {
        self.0.units.iter().map(|u| u.name.clone()).collect()
    }
}

/// Loads the sources of `month` and evaluates the policy.
///
/// CSV sources are streamed: read in blocks on all cores and folded into the
/// metrics' aggregates, so memory does not grow with the file (see `eval/fold.rs`).
pub fn evaluate(
    checked: &Checked,
    data_dir: &Path,
    month: Month,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_with_progress(checked, data_dir, month, &|_, _, _| {})
}

/// Told how far the reading of the month's CSV files is: the file a block was just
/// read from, the bytes read of all the files, and their total size.
pub type Progress<'p> = &'p (dyn Fn(&Path, u64, u64) + Sync);

/// Like [`evaluate`], telling `progress` how far the CSV files have been read.
pub fn evaluate_with_progress(
    checked: &Checked,
    data_dir: &Path,
    month: Month,
    progress: Progress<'_>,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_streamed(
        checked,
        data_dir,
        month,
        Options {
            with_report: true,
            explain: false,
        },
        data::csv::BLOCK_BYTES,
        progress,
    )
}

/// Like [`evaluate`] with options, reading CSV files in blocks of about
/// `block_bytes` (tests use tiny blocks to exercise the block boundaries).
pub fn evaluate_in_blocks(
    checked: &Checked,
    data_dir: &Path,
    month: Month,
    options: Options,
    block_bytes: usize,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_streamed(
        checked,
        data_dir,
        month,
        options,
        block_bytes,
        &|_, _, _| {},
    )
}

fn evaluate_streamed(
    checked: &Checked,
    data_dir: &Path,
    month: Month,
    options: Options,
    block_bytes: usize,
    progress: Progress<'_>,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_period_in_blocks(
        checked,
        data_dir,
        Period::month(month),
        options,
        block_bytes,
        progress,
    )
}

/// Loads every month of `period` and evaluates the policy over them: definitions
/// over the period's rows, and `… each month` over each month's values.
pub fn evaluate_period(
    checked: &Checked,
    data_dir: &Path,
    period: Period,
    explain: bool,
    progress: Progress<'_>,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_period_in_blocks(
        checked,
        data_dir,
        period,
        Options {
            with_report: true,
            explain,
        },
        data::csv::BLOCK_BYTES,
        progress,
    )
}

/// Like [`evaluate_period`] with options, reading CSV files in blocks of about
/// `block_bytes`.
pub fn evaluate_period_in_blocks(
    checked: &Checked,
    data_dir: &Path,
    period: Period,
    options: Options,
    block_bytes: usize,
    progress: Progress<'_>,
) -> Result<ReportModel, Vec<Problem>> {
    let mut warnings = Vec::new();
    // The months of the period that have data; a month without is named, never
    // skipped silently, and a period without any is an error.
    let mut months = Vec::new();
    let mut missing = Vec::new();
    for month in period.months() {
        let folder = data_dir.join(month.to_string());
        if folder.is_dir() {
            months.push(month);
        } else {
            missing.push((month, folder));
        }
    }
    if months.is_empty() || period.is_month() {
        if let Some((month, folder)) = missing.first() {
            return Err(vec![Problem::Eval(EvalError::MissingMonth {
                month: month.to_string(),
                path: folder.display().to_string(),
                existing: existing_months(data_dir),
                span: first_source_span(checked),
            })]);
        }
    }
    for (month, folder) in missing {
        warnings.push(EvalError::MissingPeriodMonth {
            month: month.to_string(),
            path: folder.display().to_string(),
        });
    }
    // Each month on its own, for the values `each month` (one month is its own month).
    let mut month_values = Vec::new();
    if checked.env.each_month && !period.is_month() {
        for &month in &months {
            let one = Period::month(month);
            let read = read(
                checked,
                data_dir,
                one,
                &[month],
                false,
                block_bytes,
                progress,
                &mut warnings,
            );
            let mut evaluator = read.map_err(|problems| told(problems, warnings.clone()))?;
            evaluator.skip_period_level = true;
            evaluator.run();
            if !evaluator.errors.is_empty() {
                let errors = std::mem::take(&mut evaluator.errors);
                return Err(with_warnings(errors, grouped(warnings)));
            }
            month_values.push((month, evaluator));
        }
    }
    let explain = options.explain;
    let read = read(
        checked,
        data_dir,
        period,
        &months,
        explain,
        block_bytes,
        progress,
        &mut warnings,
    );
    let mut evaluator = read.map_err(|problems| told(problems, warnings.clone()))?;
    evaluator.month_values = month_values;
    evaluator.skip_month_only = !period.is_month();
    evaluator.commentary = read_commentaries(checked, data_dir, period)
        .map_err(|problems| told(problems, warnings.clone()))?;
    evaluator.run();
    let mut model = evaluator.model_of(period, options.with_report);
    warnings.append(&mut evaluator.notes);
    model.warnings = grouped(warnings);
    if evaluator.errors.is_empty() {
        Ok(model)
    } else {
        Err(with_warnings(evaluator.errors, model.warnings))
    }
}

/// The months missing for a source (or the period) told in one warning, in month
/// order, each once (the months of a period evaluated one by one miss the same ones).
fn grouped(warnings: Vec<EvalError>) -> Vec<EvalError> {
    let mut period: BTreeSet<(String, String)> = BTreeSet::new();
    let mut shifted: BTreeMap<(String, String), BTreeSet<(String, String)>> = BTreeMap::new();
    let mut other = Vec::new();
    for w in warnings {
        match w {
            EvalError::MissingPeriodMonth { month, path } => {
                period.insert((month, path));
            }
            EvalError::MissingShiftedMonth {
                name,
                shift,
                month,
                path,
            } => {
                shifted
                    .entry((name, shift))
                    .or_default()
                    .insert((month, path));
            }
            w => other.push(w),
        }
    }
    let join = |months: &BTreeSet<(String, String)>| {
        let (m, p): (Vec<&str>, Vec<&str>) =
            months.iter().map(|(m, p)| (m.as_str(), p.as_str())).unzip();
        (m.join(", "), p.join("`, `"))
    };
    let mut out = Vec::new();
    if !period.is_empty() {
        let (month, path) = join(&period);
        out.push(EvalError::MissingPeriodMonth { month, path });
    }
    for ((name, shift), months) in shifted {
        let (month, path) = join(&months);
        out.push(EvalError::MissingShiftedMonth {
            name,
            shift,
            month,
            path,
        });
    }
    out.extend(other);
    out
}

/// Problems, then the warnings (grouped): what went wrong is told with what is missing.
fn told(mut problems: Vec<Problem>, warnings: Vec<EvalError>) -> Vec<Problem> {
    problems.extend(grouped(warnings).into_iter().map(Problem::Eval));
    problems
}

/// Errors, then the warnings: what went wrong is told with what is missing.
fn with_warnings(errors: Vec<EvalError>, warnings: Vec<EvalError>) -> Vec<Problem> {
    errors
        .into_iter()
        .chain(warnings)
        .map(Problem::Eval)
        .collect()
}

/// The months a data folder has, for the message of a month it does not have.
fn existing_months(data_dir: &Path) -> String {
    let mut months: Vec<Month> = std::fs::read_dir(data_dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| Month::parse(&e.file_name().to_string_lossy()))
        .collect();
    months.sort_by_key(|m| (m.year, m.month));
    match months.as_slice() {
        [] => "no month folders (`YYYY-MM`)".to_string(),
        [one] => format!("only {one}"),
        many if many.len() > 12 => format!(
            "{} months, {} to {}",
            many.len(),
            many[0],
            many[many.len() - 1]
        ),
        many => many
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The span of the first source, for problems of the data folder.
fn first_source_span(checked: &Checked) -> Span {
    checked
        .policy
        .items
        .iter()
        .find_map(|i| match i {
            Item::Source(s) => Some(s.name.span),
            _ => None,
        })
        .unwrap_or_default()
}

/// The commentaries of the period, from its folder (`DIR/2023-03/commentary.md`,
/// `DIR/2023-Q1/…`): what each holds, or nothing when the period has none.
pub fn read_commentaries(
    checked: &Checked,
    data_dir: &Path,
    period: Period,
) -> Result<Vec<Commentary>, Vec<Problem>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for def in &checked.env.commentaries {
        let path = data_dir.join(period.to_string()).join(&def.file);
        match data::commentary::read(&path) {
            Ok(read) => {
                let hash = match &read {
                    Some(_) => std::fs::read(&path).ok().and_then(|bytes| {
                        data::digest::short_digest(checked.env.fingerprint, &bytes)
                    }),
                    None => None,
                };
                out.push(Commentary { path, read, hash });
            }
            Err(e) => problems.push(Problem::Eval(EvalError::CommentaryUnreadable {
                path: path.display().to_string(),
                message: e.to_string(),
            })),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The months a source reads when `period` is evaluated.
pub(crate) fn source_months(source: &crate::check::SourceDef, period: Period) -> Vec<Month> {
    let months = period.months();
    match source.shift {
        None => months,
        Some(Shift::PreviousMonth) => months.iter().map(|m| m.plus(-1)).collect(),
        Some(Shift::PreviousPeriod) => period.previous().months(),
        Some(Shift::SamePeriodLastYear) => months.iter().map(|m| m.plus(-12)).collect(),
    }
}

/// Reads the files of the sources for `period` (its own sources for the months in
/// `with_data`) and gives the evaluator over them, not yet run. A month a shifted
/// source needs and does not find is a warning; that source has no rows for it.
#[allow(clippy::too_many_arguments)]
fn read<'a>(
    checked: &'a Checked,
    data_dir: &Path,
    period: Period,
    with_data: &[Month],
    explain: bool,
    block_bytes: usize,
    progress: Progress<'_>,
    warnings: &mut Vec<EvalError>,
) -> Result<Evaluator<'a>, Vec<Problem>> {
    let env = &checked.env;
    let mut plans = Vec::new();
    // The files of each source, in month order: (slot in `plans`, month).
    let mut slots: Vec<Vec<(usize, Month, std::path::PathBuf)>> = Vec::new();
    for (index, source) in env.sources.iter().enumerate() {
        let mut mine = Vec::new();
        // Like for like: last year's months (or the months before) of the months
        // with data; the previous period is all of it.
        let months = match source.shift {
            None => with_data.to_vec(),
            Some(Shift::PreviousPeriod) => source_months(source, period),
            Some(_) => with_data
                .iter()
                .flat_map(|m| source_months(source, Period::month(*m)))
                .collect(),
        };
        for month in months {
            let folder = data_dir.join(month.to_string());
            if !folder.is_dir() {
                warnings.push(EvalError::MissingShiftedMonth {
                    name: source.name.clone(),
                    shift: source.shift.map_or("", Shift::words).to_string(),
                    month: month.to_string(),
                    path: folder.display().to_string(),
                });
                continue;
            }
            let path = folder.join(&source.file.path.value);
            let plan = match file_format(source) {
                data::FileFormat::Csv { encoding } => fold::Plan::Csv { encoding },
                format => fold::Plan::Whole(format),
            };
            mine.push((plans.len(), month, path.clone()));
            plans.push((index, Some(month), path, plan));
        }
        slots.push(mine);
    }
    let mut results: Vec<Option<fold::ReadResult>> =
        fold::read_sources(checked, Some(period), plans, block_bytes, progress)
            .into_iter()
            .map(|(_, r)| Some(r))
            .collect();
    let mut problems = Vec::new();
    let mut tables = Vec::new();
    let mut folded = Vec::new();
    let mut row_months = HashMap::default();
    let mut files = HashMap::default();
    for (index, (source, mine)) in env.sources.iter().zip(slots).enumerate() {
        let mut table: Option<DataTable> = None;
        let mut metrics: Option<HashMap<String, fold::FoldedMetric>> = None;
        let mut rows = 0;
        let mut firsts = Vec::new();
        let mut read = Vec::new();
        for (slot, month, path) in &mine {
            let Some(result) = results.get_mut(*slot).and_then(Option::take) else {
                continue;
            };
            match result {
                Ok(fold::Read::Whole(t)) => {
                    read.push(FileRead {
                        month: *month,
                        path: path.clone(),
                        hash: t.hash.clone(),
                        encoding: t.encoding,
                    });
                    match &mut table {
                        Some(all) => {
                            firsts.push((all.len(), *month));
                            all.extend(t);
                        }
                        None => {
                            firsts.push((0, *month));
                            table = Some(t);
                        }
                    }
                }
                Ok(fold::Read::Folded(f)) => {
                    read.push(FileRead {
                        month: *month,
                        path: path.clone(),
                        hash: f.table.hash.clone(),
                        encoding: f.table.encoding,
                    });
                    rows += f.rows;
                    match &mut metrics {
                        Some(all) => {
                            if let Err(e) = fold::merge(all, f.metrics) {
                                problems.push(Problem::Eval(*e));
                            }
                        }
                        None => metrics = Some(f.metrics),
                    }
                    if table.is_none() {
                        table = Some(f.table);
                    }
                }
                Err(problem) => problems.push(*problem),
            }
        }
        if let Some(metrics) = metrics {
            folded.push((index, metrics, rows));
        }
        if firsts.len() > 1 {
            row_months.insert(index, firsts);
        }
        if read.len() != 1 {
            files.insert(index, read);
        }
        let table = table.unwrap_or_else(|| {
            DataTable::empty(
                data_dir
                    .join(period.to_string())
                    .join(&source.file.path.value),
                &source.columns,
            )
        });
        tables.push(Arc::new(table));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let when = When {
        month: period.is_month().then_some(period.first),
        period: Some(period),
    };
    let mut evaluator = Evaluator::new(checked, tables, explain).at(when);
    for (index, metrics, rows) in folded {
        evaluator.folded.extend(metrics);
        evaluator.folded_rows.insert(index, rows);
    }
    evaluator.row_months = row_months;
    evaluator.files = files;
    Ok(evaluator)
}

/// The file of a source for `month`, or why there is none.
pub(crate) fn source_path(
    checked: &Checked,
    data_dir: &Path,
    month: Month,
    source: &crate::check::SourceDef,
) -> Result<std::path::PathBuf, EvalError> {
    let m = source_months(source, Period::month(month))
        .first()
        .copied()
        .unwrap_or(month);
    let folder = data_dir.join(m.to_string());
    if !folder.is_dir() {
        let span = checked
            .policy
            .items
            .iter()
            .find_map(|i| match i {
                Item::Source(s) if s.name.name == source.name => Some(s.name.span),
                _ => None,
            })
            .unwrap_or_default();
        return Err(EvalError::MissingMonth {
            month: m.to_string(),
            path: folder.display().to_string(),
            existing: existing_months(data_dir),
            span,
        });
    }
    Ok(folder.join(&source.file.path.value))
}

/// Loads the sources of `month`, one table per source in declaration order.
pub fn load(
    checked: &Checked,
    data_dir: &Path,
    month: Month,
) -> Result<Vec<DataTable>, Vec<Problem>> {
    let env = &checked.env;
    let mut tables = Vec::new();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for source in &env.sources {
        let path = match source_path(checked, data_dir, month, source) {
            Ok(path) => path,
            // Another month, for a comparison: no rows, and a warning.
            Err(EvalError::MissingMonth { month, path, .. }) if source.shift.is_some() => {
                warnings.push(Problem::Eval(EvalError::MissingShiftedMonth {
                    name: source.name.clone(),
                    shift: source.shift.map_or("", Shift::words).to_string(),
                    month,
                    path,
                }));
                tables.push(DataTable::empty(
                    data_dir.join(&source.file.path.value),
                    &source.columns,
                ));
                continue;
            }
            Err(missing) => {
                problems.push(Problem::Eval(missing));
                continue;
            }
        };
        let format = file_format(source);
        match data::load_table_with_fingerprint(
            &path,
            &format,
            &source.columns,
            &Resolver(env),
            env.fingerprint,
        ) {
            Ok(t) => tables.push(t),
            Err(e) => problems.push(Problem::Data(e)),
        }
    }
    if !problems.is_empty() {
        // The warnings too, as the evaluation tells them.
        problems.extend(warnings);
        return Err(problems);
    }
    Ok(tables)
}

/// Evaluates a checked policy on loaded tables, one per source in declaration order.
/// Without `with_report`, the model holds the values but no report sections.
pub fn evaluate_tables(
    checked: &Checked,
    tables: Vec<DataTable>,
    month: Month,
    with_report: bool,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_with(
        checked,
        tables,
        month,
        Options {
            with_report,
            explain: false,
        },
    )
}

/// What an evaluation produces besides the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Render the report's sections.
    pub with_report: bool,
    /// Record how each metric and score value was computed.
    pub explain: bool,
}

/// Loads the month and evaluates, recording how each value was computed.
pub fn evaluate_explained(
    checked: &Checked,
    data_dir: &Path,
    month: Month,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_in_blocks(
        checked,
        data_dir,
        month,
        Options {
            with_report: true,
            explain: true,
        },
        data::csv::BLOCK_BYTES,
    )
}

/// Evaluates a checked policy on loaded tables with options.
pub fn evaluate_with(
    checked: &Checked,
    tables: Vec<DataTable>,
    month: Month,
    options: Options,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_shared(
        checked,
        tables.into_iter().map(Arc::new).collect(),
        month,
        options,
    )
}

/// Like [`evaluate_with`], on tables shared with a cache (the watch), which are not copied.
pub fn evaluate_shared(
    checked: &Checked,
    tables: Vec<Arc<DataTable>>,
    month: Month,
    options: Options,
) -> Result<ReportModel, Vec<Problem>> {
    evaluate_shared_with(checked, tables, Vec::new(), month, options)
}

/// Like [`evaluate_shared`], with the month's commentaries ([`read_commentaries`]);
/// without them, a commentary has no entries and nothing is said of it.
pub fn evaluate_shared_with(
    checked: &Checked,
    tables: Vec<Arc<DataTable>>,
    commentary: Vec<Commentary>,
    month: Month,
    options: Options,
) -> Result<ReportModel, Vec<Problem>> {
    let with_report = options.with_report;
    let mut evaluator = Evaluator::new(checked, tables, options.explain).at_month(Some(month));
    evaluator.commentary = commentary;
    evaluator.run();
    let mut model = evaluator.model(month, with_report);
    model.warnings = grouped(std::mem::take(&mut evaluator.notes));
    if evaluator.errors.is_empty() {
        Ok(model)
    } else {
        Err(with_warnings(evaluator.errors, model.warnings))
    }
}

/// How a source's file is read.
pub fn file_format(source: &crate::check::SourceDef) -> data::FileFormat {
    match source.file.format {
        Format::Csv => data::FileFormat::Csv {
            encoding: match source.file.encoding.map(|e| e.0) {
                Some(EncodingName::Utf8) => Some(data::Encoding::Utf8),
                Some(EncodingName::Gbk) => Some(data::Encoding::Gbk),
                Some(EncodingName::Auto) | None => None,
            },
        },
        Format::Xlsx => data::FileFormat::Xlsx {
            sheet: source
                .file
                .sheet
                .as_ref()
                .map(|s| s.value.clone())
                .unwrap_or_default(),
        },
        Format::Jsonl => data::FileFormat::Jsonl,
    }
}

/// What names mean where an expression is evaluated.
enum Frame<'a> {
    /// A row of a table.
    Row {
        table: &'a DataTable,
        source: usize,
        row: usize,
    },
    /// A group of rows, with its key.
    Group {
        table: &'a DataTable,
        source: usize,
        rows: &'a [usize],
        key: Option<&'a Key>,
        by: Option<&'a str>,
    },
    /// A group of rows already folded into one aggregate per call (see [`fold`]).
    Folded {
        aggregates: &'a fold::CallAggregates,
        key: Option<&'a Key>,
        by: Option<&'a str>,
    },
    /// A key (or none: the value for keys without rows).
    Key {
        key: Option<&'a Key>,
        field: Option<&'a str>,
    },
}

struct Evaluator<'a> {
    checked: &'a Checked,
    env: &'a Env,
    tables: Vec<Arc<DataTable>>,
    computed: HashMap<String, Computed>,
    domain_keys: HashMap<Domain, BTreeSet<Key>>,
    /// The points each term contributes to a score, under `score.term`.
    parts: std::cell::RefCell<HashMap<String, Computed>>,
    /// How values were computed, by definition and key, when asked.
    explain: Option<std::cell::RefCell<Explanations>>,
    /// Rows of each source or view, filtered once for all the metrics that read it.
    view_rows: std::cell::RefCell<HashMap<String, std::rc::Rc<Vec<usize>>>>,
    /// Rows of a source or view grouped by a field, once for all the metrics that group so.
    groups: std::cell::RefCell<HashMap<(String, String), std::rc::Rc<Groups>>>,
    /// Aggregates of the metrics that read a streamed source, by metric name.
    folded: HashMap<String, fold::FoldedMetric>,
    /// Rows of each streamed source, by source index.
    folded_rows: HashMap<usize, usize>,
    /// Columns of field names met in row formulas (see `column_of`).
    columns_seen: std::cell::RefCell<Vec<(NameAt, Option<usize>)>>,
    /// The month evaluated: `month_start` and `month_end`.
    month: Option<Month>,
    /// The keys that share their rank with another, by ranking (`tied(…)`).
    tied: std::cell::RefCell<HashMap<String, BTreeSet<Key>>>,
    /// The period evaluated: `period_start` and `period_end`, and `month_start` and
    /// `month_end` where no row tells the month.
    period: Option<Period>,
    /// Each month of the period with data, evaluated on its own (`… each month`).
    month_values: Vec<(Month, Evaluator<'a>)>,
    /// Evaluating one month of a period: the definitions of the whole period wait.
    skip_period_level: bool,
    /// Evaluating several months: the definitions only `each month` reads have no
    /// value of the period.
    skip_month_only: bool,
    /// Sources read from several months' files, put one after another: the first
    /// row of each month.
    row_months: HashMap<usize, Vec<(usize, Month)>>,
    /// The files each source was read from, when it was read from several.
    files: HashMap<usize, Vec<FileRead>>,
    /// Each commentary's file and what it holds (none: the month has none); empty
    /// when the data folder is not known (tables given), and then nothing is shown.
    commentary: Vec<Commentary>,
    /// Warnings of the report: commentary entries that describe nothing, items without one.
    notes: Vec<EvalError>,
    /// Each list's items, as the templates see them.
    lists: Vec<(String, Vec<String>)>,
    /// The commentary entries shown, with their file and line.
    passages: Vec<crate::report::Passage>,
    errors: Vec<EvalError>,
}

/// A commentary file of the period: its path, what it holds (none: the period has
/// none), and its digest for the report's footer.
#[derive(Debug, Clone)]
pub struct Commentary {
    path: std::path::PathBuf,
    read: Option<data::commentary::Commentary>,
    hash: Option<String>,
}

/// A file read for a source.
#[derive(Debug, Clone)]
struct FileRead {
    month: Month,
    path: std::path::PathBuf,
    hash: Option<String>,
    encoding: Option<(data::Encoding, bool)>,
}

/// A field name by its address and length in the policy, and the source it is read from.
type NameAt = (usize, usize, usize);

/// Rows by key.
type Groups = BTreeMap<Key, Vec<usize>>;

/// How each value was computed, by definition name and key.
type Explanations = HashMap<(String, Option<Key>), String>;

type R<T> = Result<T, Box<EvalError>>;

impl<'a> Evaluator<'a> {
    fn new(checked: &'a Checked, tables: Vec<Arc<DataTable>>, explain: bool) -> Self {
        Evaluator {
            checked,
            env: &checked.env,
            tables,
            computed: HashMap::default(),
            domain_keys: HashMap::default(),
            parts: Default::default(),
            explain: explain.then(Default::default),
            view_rows: Default::default(),
            groups: Default::default(),
            folded: HashMap::default(),
            folded_rows: HashMap::default(),
            columns_seen: Default::default(),
            month: None,
            tied: Default::default(),
            period: None,
            month_values: Vec::new(),
            skip_period_level: false,
            skip_month_only: false,
            row_months: HashMap::default(),
            files: HashMap::default(),
            commentary: Vec::new(),
            notes: Vec::new(),
            lists: Vec::new(),
            passages: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The evaluator of `month`.
    fn at_month(mut self, month: Option<Month>) -> Self {
        self.month = month;
        self
    }

    /// The evaluator of a file's month in a period.
    fn at(mut self, when: When) -> Self {
        self.month = when.month;
        self.period = when.period;
        self
    }

    /// `month_start`, `month_end`, `period_start` or `period_end`; `row` is the row
    /// of a source the formula reads, which tells the month of a period it is from.
    fn month_bound(&self, name: &str, row: Option<(usize, usize)>) -> Value {
        let period = self
            .period
            .or(self.month.map(Period::month))
            .and_then(|p| p.bounds());
        let row_month = row.and_then(|(source, row)| self.row_part(source, row).map(|p| p.2));
        let month = row_month.or(self.month).and_then(Month::bounds).or(period);
        let bounds = if name.starts_with("period") {
            period
        } else {
            month
        };
        match bounds {
            Some((first, last)) => Value::Date(if name.ends_with("_start") {
                first
            } else {
                last
            }),
            None => Value::Empty,
        }
    }

    fn item(&self, index: usize) -> Option<&'a Item> {
        self.checked.policy.items.get(index)
    }

    fn run(&mut self) {
        let order = self.env.order.clone();
        for name in &order {
            let Some(def) = self.env.defs.get(name) else {
                continue;
            };
            if self.skip_period_level && self.env.period_level.contains(name) {
                continue;
            }
            if self.skip_month_only && self.env.month_only.contains(name) {
                continue;
            }
            let result = match def.kind {
                DefKind::Metric(i) => match self.item(i) {
                    Some(Item::Metric(m)) => self.metric(m),
                    _ => continue,
                },
                DefKind::Score(i) => match self.item(i) {
                    Some(Item::Score(s)) => self.score(s),
                    _ => continue,
                },
                DefKind::Bands(i) => match self.item(i) {
                    Some(Item::Bands(b)) => self.bands(b),
                    _ => continue,
                },
                DefKind::Ranking(i) => match self.item(i) {
                    Some(Item::Ranking(r)) => self.ranking(r),
                    _ => continue,
                },
                _ => continue,
            };
            match result {
                Ok(value) => {
                    self.store(name, value, def.ty.as_ref());
                }
                Err(e) => {
                    // Several metrics grouped by one field share one cause: say it once.
                    let repeated = match &*e {
                        EvalError::EmptyKey { file, field, .. } => self.errors.iter().any(|o| {
                            matches!(o, EvalError::EmptyKey { file: f, field: g, .. } if f == file && g == field)
                        }),
                        _ => false,
                    };
                    if !repeated {
                        self.errors.push(*e);
                    }
                }
            }
        }
    }

    fn store(&mut self, name: &str, value: Computed, ty: Option<&Ty>) {
        if let (
            Computed::Keyed { values, .. },
            Some(Ty {
                shape: Shape::Keyed(d),
                ..
            }),
        ) = (&value, ty)
        {
            self.domain_keys
                .entry(d.clone())
                .or_default()
                .extend(values.keys().cloned());
        }
        self.computed.insert(name.to_string(), value);
    }

    fn all_units(&self) -> Vec<Key> {
        (0..self.env.units.len() as u32).map(Key::Unit).collect()
    }

    fn keys_of(&self, domain: &Domain) -> Vec<Key> {
        match domain {
            Domain::Unit => self.all_units(),
            Domain::Field(_) => self
                .domain_keys
                .get(domain)
                .map(|k| k.iter().cloned().collect())
                .unwrap_or_default(),
        }
    }

    /// The keys of a domain for which `filter` holds, in key order.
    fn keys_where(
        &self,
        domain: &Domain,
        filter: Option<&Expr>,
        field: Option<&str>,
    ) -> R<Vec<Key>> {
        let mut keys = Vec::new();
        for key in self.keys_of(domain) {
            if let Some(filter) = filter {
                let frame = Frame::Key {
                    key: Some(&key),
                    field,
                };
                if self.eval(filter, &frame)? != Value::Bool(true) {
                    continue;
                }
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// Rows of a source or view that pass every filter.
    fn rows(&self, name: &str, extra: Option<&Expr>) -> R<(usize, std::rc::Rc<Vec<usize>>)> {
        let (source, filters): (usize, Vec<&Expr>) = match self.env.defs.get(name).map(|d| &d.kind)
        {
            Some(DefKind::Source(s)) => (*s, Vec::new()),
            Some(DefKind::View { source, items }) => {
                let filters = items
                    .iter()
                    .filter_map(|i| match self.item(*i) {
                        Some(Item::View(v)) => Some(&v.filter),
                        _ => None,
                    })
                    .collect();
                (*source, filters)
            }
            _ => return Ok((0, Default::default())),
        };
        let Some(table) = self.tables.get(source) else {
            return Ok((source, Default::default()));
        };
        let cached = self.view_rows.borrow().get(name).cloned();
        let base = match cached {
            Some(rows) => rows,
            None => {
                let filters: Vec<_> = filters
                    .iter()
                    .map(|f| self.compile_row(f, source))
                    .collect();
                let all = (0..table.len()).collect();
                let rows = match kernel::filter_rows(&filters, table, all) {
                    Some(rows) => rows,
                    None => {
                        let mut rows = Vec::with_capacity(table.len());
                        'rows: for row in 0..table.len() {
                            for f in &filters {
                                if self.eval_row(f, table, source, row)? != Value::Bool(true) {
                                    continue 'rows;
                                }
                            }
                            rows.push(row);
                        }
                        rows
                    }
                };
                let rows = std::rc::Rc::new(rows);
                self.view_rows
                    .borrow_mut()
                    .insert(name.to_string(), rows.clone());
                rows
            }
        };
        let Some(extra) = extra else {
            return Ok((source, base));
        };
        let extra = self.compile_row(extra, source);
        if let Some(rows) = kernel::filter_rows(std::slice::from_ref(&extra), table, base.to_vec())
        {
            return Ok((source, std::rc::Rc::new(rows)));
        }
        let mut rows = Vec::with_capacity(base.len());
        for &row in base.iter() {
            if self.eval_row(&extra, table, source, row)? == Value::Bool(true) {
                rows.push(row);
            }
        }
        Ok((source, std::rc::Rc::new(rows)))
    }

    fn metric(&self, metric: &Metric) -> R<Computed> {
        // A source with no file at all (a month a comparison needs and does not have)
        // has no data: its metrics are empty, not the counts of nothing.
        if let Some(from) = &metric.from {
            let source = fold::source_of(self.env, &from.source.name);
            if source
                .and_then(|s| self.tables.get(s))
                .is_some_and(|t| t.absent)
            {
                return Ok(match metric.by {
                    Some(_) => Computed::Keyed {
                        values: BTreeMap::new(),
                        absent: Value::Empty,
                    },
                    None => Computed::Scalar(Value::Empty),
                });
            }
        }
        let computed = match &metric.from {
            Some(_) if self.folded.contains_key(&metric.name.name) => self.folded_metric(metric)?,
            Some(from) => {
                let (source, rows) = self.rows(&from.source.name, from.filter.as_ref())?;
                let Some(table) = self.tables.get(source) else {
                    return Ok(Computed::Scalar(Value::Empty));
                };
                match &metric.by {
                    None => {
                        let frame = Frame::Group {
                            table,
                            source,
                            rows: &rows,
                            key: None,
                            by: None,
                        };
                        Computed::Scalar(self.metric_value(metric, &frame, None)?)
                    }
                    Some(by) => {
                        let cache_key = (from.source.name.clone(), by.name.clone());
                        let cached = match from.filter {
                            None => self.groups.borrow().get(&cache_key).cloned(),
                            Some(_) => None,
                        };
                        let groups = match cached {
                            Some(g) => g,
                            None => {
                                let g = std::rc::Rc::new(self.group(table, source, &rows, by)?);
                                if from.filter.is_none() {
                                    self.groups.borrow_mut().insert(cache_key, g.clone());
                                }
                                g
                            }
                        };
                        let mut values = BTreeMap::new();
                        for (key, group_rows) in groups.iter() {
                            let frame = Frame::Group {
                                table,
                                source,
                                rows: group_rows,
                                key: Some(key),
                                by: Some(&by.name),
                            };
                            values
                                .insert(key.clone(), self.metric_value(metric, &frame, Some(key))?);
                        }
                        let frame = Frame::Group {
                            table,
                            source,
                            rows: &[],
                            key: None,
                            by: Some(&by.name),
                        };
                        let absent = self.eval(&metric.expr, &frame)?;
                        Computed::Keyed { values, absent }
                    }
                }
            }
            None => {
                let computed = self.over_keys(&metric.expr)?;
                self.explain_months(metric, &computed)?;
                computed
            }
        };
        let computed = self.with_default(metric, computed)?;
        self.only_where(metric.only.as_ref(), computed)
    }

    /// Empties the values of the keys that do not meet `only where …`.
    fn only_where(&self, only: Option<&Expr>, computed: Computed) -> R<Computed> {
        let Some(cond) = only else {
            return Ok(computed);
        };
        let meets = |key: Option<&Key>| self.meets(cond, key);
        Ok(match computed {
            Computed::Scalar(v) => Computed::Scalar(if meets(None)? { v } else { Value::Empty }),
            Computed::Keyed { values, absent } => {
                let mut kept = BTreeMap::new();
                for (k, v) in values {
                    let v = if meets(Some(&k))? { v } else { Value::Empty };
                    kept.insert(k, v);
                }
                let absent = if meets(None)? { absent } else { Value::Empty };
                Computed::Keyed {
                    values: kept,
                    absent,
                }
            }
        })
    }

    /// Whether `key` meets an `only where` condition.
    fn meets(&self, cond: &Expr, key: Option<&Key>) -> R<bool> {
        let field = match cond.ty.as_ref().map(|t| &t.shape) {
            Some(Shape::Keyed(Domain::Field(f))) => Some(f.as_str()),
            _ => None,
        };
        Ok(self.eval(cond, &Frame::Key { key, field })? == Value::Bool(true))
    }

    /// The metric's values, its `default` where they are empty.
    fn with_default(&self, metric: &Metric, computed: Computed) -> R<Computed> {
        let Some(default) = &metric.default else {
            return Ok(computed);
        };
        let fallback = self.eval(
            default,
            &Frame::Key {
                key: None,
                field: None,
            },
        )?;
        let fill = |v: Value| if v.is_empty() { fallback.clone() } else { v };
        Ok(match computed {
            Computed::Scalar(v) => Computed::Scalar(fill(v)),
            Computed::Keyed { values, absent } => Computed::Keyed {
                values: values.into_iter().map(|(k, v)| (k, fill(v))).collect(),
                absent: fill(absent),
            },
        })
    }

    /// A metric of a streamed source, from its folded aggregates.
    fn folded_metric(&self, metric: &Metric) -> R<Computed> {
        let Some(folded) = self.folded.get(&metric.name.name) else {
            return Ok(Computed::Scalar(Value::Empty));
        };
        let Some(by) = &metric.by else {
            let frame = Frame::Folded {
                aggregates: &folded.whole,
                key: None,
                by: None,
            };
            return Ok(Computed::Scalar(self.metric_value(metric, &frame, None)?));
        };
        if folded.empty_keys > 0 {
            return Err(Box::new(empty_key_error(
                &folded.file,
                &by.name,
                folded.empty_keys,
                &folded.empty_lines,
                by.span,
            )));
        }
        let mut values = BTreeMap::new();
        for (key, aggregates) in &folded.groups {
            let frame = Frame::Folded {
                aggregates,
                key: Some(key),
                by: Some(&by.name),
            };
            values.insert(key.clone(), self.metric_value(metric, &frame, Some(key))?);
        }
        let none = fold::CallAggregates::default();
        let frame = Frame::Folded {
            aggregates: &none,
            key: None,
            by: Some(&by.name),
        };
        let absent = self.eval(&metric.expr, &frame)?;
        Ok(Computed::Keyed { values, absent })
    }

    /// Evaluates a formula per key of its domain, or once.
    fn over_keys(&self, expr: &Expr) -> R<Computed> {
        match expr.ty.as_ref().map(|t| &t.shape) {
            Some(Shape::Keyed(domain)) => {
                let field = match domain {
                    Domain::Field(f) => Some(f.as_str()),
                    Domain::Unit => None,
                };
                let mut values = BTreeMap::new();
                for key in self.keys_of(domain) {
                    let v = self.eval(
                        expr,
                        &Frame::Key {
                            key: Some(&key),
                            field,
                        },
                    )?;
                    values.insert(key, v);
                }
                let absent = self.eval(expr, &Frame::Key { key: None, field })?;
                Ok(Computed::Keyed { values, absent })
            }
            _ => Ok(Computed::Scalar(self.eval(
                expr,
                &Frame::Key {
                    key: None,
                    field: None,
                },
            )?)),
        }
    }

    fn group(
        &self,
        table: &DataTable,
        source: usize,
        rows: &[usize],
        by: &Ident,
    ) -> R<BTreeMap<Key, Vec<usize>>> {
        let (groups, mut empty) = self.split(table, source, rows, by);
        if !empty.is_empty() {
            // Rows of several months' files: the lines are those of the first file with
            // such rows, named with it.
            let file = match empty.first().and_then(|r| self.row_file(source, *r)) {
                Some((path, first, end)) => {
                    empty.retain(|r| (first..end).contains(r));
                    path
                }
                None => table.path.clone(),
            };
            let lines: Vec<u64> = empty
                .iter()
                .take(EMPTY_KEY_LINES)
                .filter_map(|r| table.lines.get(*r).copied())
                .collect();
            return Err(Box::new(empty_key_error(
                &file.display().to_string(),
                &by.name,
                empty.len(),
                &lines,
                by.span,
            )));
        }
        Ok(groups)
    }

    /// The file a row of a source read from several months' files comes from, and the
    /// rows of that file (`first..end`); none for a source read from one file.
    fn row_file(&self, source: usize, row: usize) -> Option<(std::path::PathBuf, usize, usize)> {
        let (first, end, month) = self.row_part(source, row)?;
        let file = self.files.get(&source)?.iter().find(|f| f.month == month)?;
        Some((file.path.clone(), first, end))
    }

    /// The month of a row of a source read from several months' files, with that month's
    /// rows (`first..end`).
    fn row_part(&self, source: usize, row: usize) -> Option<(usize, usize, Month)> {
        let months = self.row_months.get(&source)?;
        let at = months
            .partition_point(|(first, _)| *first <= row)
            .checked_sub(1)?;
        let (first, month) = months.get(at)?;
        let end = months.get(at + 1).map_or(usize::MAX, |(next, _)| *next);
        Some((*first, end, *month))
    }

    /// Rows by their value of `by`, and the rows where it is empty.
    fn split(
        &self,
        table: &DataTable,
        source: usize,
        rows: &[usize],
        by: &Ident,
    ) -> (BTreeMap<Key, Vec<usize>>, Vec<usize>) {
        let mut groups: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        let Some(column) = self
            .env
            .sources
            .get(source)
            .and_then(|s| s.column(&by.name))
        else {
            return (groups, Vec::new());
        };
        let mut empty = Vec::new();
        // Rows are first split by a small id per value (a unit or label index, or the
        // address of a shared text), then the few distinct values become keys.
        match table.columns.get(column) {
            Some(ColumnData::Unit(values)) => {
                let mut by_unit: Vec<Vec<usize>> = vec![Vec::new(); self.env.units.len()];
                for &row in rows {
                    match values.get(row).copied().flatten() {
                        Some(u) => match by_unit.get_mut(u as usize) {
                            Some(unit_rows) => unit_rows.push(row),
                            None => empty.push(row),
                        },
                        None => empty.push(row),
                    }
                }
                for (u, unit_rows) in by_unit.into_iter().enumerate() {
                    groups.insert(Key::Unit(u as u32), unit_rows);
                }
            }
            Some(ColumnData::Enum(values)) => {
                let mut by_label: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
                for &row in rows {
                    match values.get(row).copied().flatten() {
                        Some(l) => by_label.entry(l).or_default().push(row),
                        None => empty.push(row),
                    }
                }
                for (l, label_rows) in by_label {
                    let key = Key::Text(self.label(source, column, l));
                    join_rows(groups.entry(key).or_default(), label_rows);
                }
            }
            Some(ColumnData::Text(values)) => {
                let mut by_text: foldhash::HashMap<usize, (Arc<str>, Vec<usize>)> =
                    foldhash::HashMap::default();
                for &row in rows {
                    match values.get(row).and_then(|t| t.as_ref()) {
                        Some(t) => {
                            let id = Arc::as_ptr(t) as *const u8 as usize;
                            by_text
                                .entry(id)
                                .or_insert_with(|| (t.clone(), Vec::new()))
                                .1
                                .push(row);
                        }
                        None => empty.push(row),
                    }
                }
                for (_, (text, text_rows)) in by_text {
                    join_rows(groups.entry(Key::Text(text)).or_default(), text_rows);
                }
            }
            _ => {
                for &row in rows {
                    let key = match self.cell(table, column, row) {
                        Value::Unit(u) => Key::Unit(u),
                        Value::Text(t) => Key::Text(t),
                        Value::Label(l) => Key::Text(self.label(source, column, l)),
                        _ => {
                            empty.push(row);
                            continue;
                        }
                    };
                    groups.entry(key).or_default().push(row);
                }
            }
        }
        (groups, empty)
    }

    /// The column of a field, remembered by the address of the name in the
    /// policy (looked up once per name instead of once per cell).
    fn column_of(&self, source: usize, name: &str) -> Option<usize> {
        let id = (name.as_ptr() as usize, name.len(), source);
        if let Some((_, column)) = self.columns_seen.borrow().iter().find(|(k, _)| *k == id) {
            return *column;
        }
        let column = self.env.sources.get(source).and_then(|s| s.column(name));
        self.columns_seen.borrow_mut().push((id, column));
        column
    }

    fn label(&self, source: usize, column: usize, index: u32) -> Arc<str> {
        match self
            .env
            .sources
            .get(source)
            .and_then(|s| s.types.get(column))
        {
            Some(Base::Enum(labels)) => labels
                .get(index as usize)
                .map(|l| Arc::from(l.as_str()))
                .unwrap_or_else(|| Arc::from("")),
            _ => Arc::from(""),
        }
    }

    fn cell(&self, table: &DataTable, column: usize, row: usize) -> Value {
        let Some(col) = table.columns.get(column) else {
            return Value::Empty;
        };
        fn get<T: Clone>(v: &[Option<T>], row: usize) -> Option<T> {
            v.get(row).cloned().flatten()
        }
        match col {
            ColumnData::Text(v) => get(v, row).map_or(Value::Empty, Value::Text),
            ColumnData::Integer(v) => get(v, row).map_or(Value::Empty, Value::Int),
            ColumnData::Decimal(v) => get(v, row).map_or(Value::Empty, Value::Num),
            ColumnData::Bool(v) => get(v, row).map_or(Value::Empty, Value::Bool),
            ColumnData::DateTime(v) => get(v, row).map_or(Value::Empty, Value::DateTime),
            ColumnData::Enum(v) => get(v, row).map_or(Value::Empty, Value::Label),
            ColumnData::Unit(v) => get(v, row).map_or(Value::Empty, Value::Unit),
        }
    }

    fn score(&self, score: &Score) -> R<Computed> {
        // Keys: every key of any term; a score over units covers every unit.
        let mut computed_terms = Vec::new();
        for term in &score.terms {
            let c = self.over_keys(&term.expr)?;
            computed_terms.push((term, c));
        }
        let keyed = computed_terms
            .iter()
            .any(|(_, c)| matches!(c, Computed::Keyed { .. }));
        let keys: Vec<Option<Key>> = if keyed {
            let mut set = BTreeSet::new();
            for (_, c) in &computed_terms {
                if let Computed::Keyed { values, .. } = c {
                    set.extend(values.keys().cloned());
                }
            }
            set.into_iter().map(Some).chain([None]).collect()
        } else {
            vec![None]
        };
        let mut totals = BTreeMap::new();
        let mut absent_total = Value::Empty;
        let mut parts: Vec<(String, BTreeMap<Key, Value>, Value)> = Vec::new();
        for (term, _) in &computed_terms {
            let name = match &term.expr.kind {
                ExprKind::Name(n) => n.name.clone(),
                _ => String::new(),
            };
            parts.push((name, BTreeMap::new(), Value::Empty));
        }
        for key in keys {
            // `only where …`: a key that is not scored has no total and no parts.
            let scored = match &score.only {
                Some(cond) => Some(self.meets(cond, key.as_ref())?),
                None => None,
            };
            if scored == Some(false) {
                match key {
                    Some(k) => {
                        for part in parts.iter_mut() {
                            part.1.insert(k.clone(), Value::Empty);
                        }
                        totals.insert(k, Value::Empty);
                    }
                    None => absent_total = Value::Empty,
                }
                continue;
            }
            let mut total = Decimal::ZERO;
            let mut empty = false;
            for (i, (term, c)) in computed_terms.iter().enumerate() {
                let v = c.at(key.as_ref());
                let Some(d) = v.decimal() else {
                    if let (Some(true), Some(k)) = (scored, &key) {
                        return Err(Box::new(EvalError::EmptyTerm {
                            score: score.name.name.clone(),
                            term: self.quote(&term.expr),
                            key: self.text(&key_value(k), None),
                            span: term.expr.span,
                        }));
                    }
                    empty = true;
                    continue;
                };
                let mut points = match term.weight {
                    Some((w, _)) => mul(d, w, term.span)? / Decimal::ONE_HUNDRED,
                    None => d,
                };
                if term.negative {
                    points = -points;
                }
                total = add(total, points, term.span)?;
                if let Some(part) = parts.get_mut(i) {
                    match &key {
                        Some(k) => {
                            part.1.insert(k.clone(), Value::Num(points));
                        }
                        None => part.2 = Value::Num(points),
                    }
                }
            }
            let value = if empty {
                Value::Empty
            } else {
                Value::Num(total)
            };
            if let Some(store) = &self.explain {
                let mut terms = Vec::new();
                for (term, c) in &computed_terms {
                    let v = c.at(key.as_ref());
                    let shown = v
                        .decimal()
                        .map_or("—".to_string(), |d| d.normalize().to_string());
                    let sign = if term.negative { "- " } else { "" };
                    terms.push(match term.weight {
                        Some((w, _)) => format!(
                            "{sign}{}% × {shown}（{}）",
                            w.normalize(),
                            self.quote(&term.expr)
                        ),
                        None => format!("{sign}{shown}（{}）", self.quote(&term.expr)),
                    });
                }
                let total_text = value
                    .decimal()
                    .map_or("—".to_string(), |d| d.normalize().to_string());
                store.borrow_mut().insert(
                    (score.name.name.clone(), key.clone()),
                    format!("{} = {total_text}", terms.join(" + ")),
                );
            }
            match key {
                Some(k) => {
                    totals.insert(k, value);
                }
                None => absent_total = value,
            }
        }
        // The parts are stored under `score.term` for member access.
        let mut stored = self.parts.borrow_mut();
        for (name, values, absent) in parts {
            if name.is_empty() {
                continue;
            }
            let c = if keyed {
                Computed::Keyed { values, absent }
            } else {
                Computed::Scalar(absent)
            };
            stored.insert(format!("{}.{}", score.name.name, name), c);
        }
        Ok(if keyed {
            Computed::Keyed {
                values: totals,
                absent: absent_total,
            }
        } else {
            Computed::Scalar(absent_total)
        })
    }
}

impl<'a> Evaluator<'a> {
    fn bands(&self, bands: &Bands) -> R<Computed> {
        let on = self.over_keys(&bands.on)?;
        let pick = |v: &Value| -> Value {
            // A quotient's 28 digits can land a hair beside a bound it equals exactly
            // (60 reached through thirds is 59.999…998): compare as shown values are
            // rounded, snapped to 22 decimals first (see `number::snap`).
            let Some(d) = v.decimal().map(number::snap) else {
                return Value::Empty;
            };
            bands
                .bands
                .iter()
                .find(|b| in_range(&b.range, d))
                .map_or(Value::Empty, |b| {
                    Value::Band(Arc::from(b.name.name.as_str()))
                })
        };
        Ok(match on {
            Computed::Scalar(v) => Computed::Scalar(pick(&v)),
            Computed::Keyed { values, absent } => Computed::Keyed {
                values: values.iter().map(|(k, v)| (k.clone(), pick(v))).collect(),
                absent: pick(&absent),
            },
        })
    }

    /// `keys` with their sort values, sorted by them, then by key order (the unit
    /// registry order). A ranking's name stands for the ranking's keys.
    fn sorted(
        &self,
        keys: &[Key],
        order: &[SortKey],
        field: Option<&str>,
    ) -> R<Vec<(Vec<Value>, Key)>> {
        let mut expanded: Vec<&SortKey> = Vec::new();
        for k in order {
            if let ExprKind::Name(n) = &k.expr.kind {
                if let Some(DefKind::Ranking(i)) = self.env.defs.get(&n.name).map(|d| &d.kind) {
                    if let Some(Item::Ranking(r)) = self.item(*i) {
                        expanded.extend(r.keys.iter());
                        continue;
                    }
                }
            }
            expanded.push(k);
        }
        let mut decorated: Vec<(Vec<Value>, Key)> = Vec::with_capacity(keys.len());
        for key in keys.iter() {
            let mut values = Vec::with_capacity(expanded.len());
            for k in &expanded {
                values.push(self.eval(
                    &k.expr,
                    &Frame::Key {
                        key: Some(key),
                        field,
                    },
                )?);
            }
            decorated.push((values, key.clone()));
        }
        decorated.sort_by(|(a, ka), (b, kb)| {
            for ((x, y), k) in a.iter().zip(b).zip(&expanded) {
                let o = x.sort_cmp(y);
                let o = if k.descending && !x.is_empty() && !y.is_empty() {
                    o.reverse()
                } else {
                    o
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            ka.cmp(kb)
        });
        Ok(decorated)
    }

    fn ranking(&self, ranking: &Ranking) -> R<Computed> {
        let domain = match ranking
            .keys
            .first()
            .and_then(|k| k.expr.ty.as_ref())
            .map(|t| &t.shape)
        {
            Some(Shape::Keyed(d)) => d.clone(),
            _ => Domain::Unit,
        };
        let field = match &domain {
            Domain::Field(f) => Some(f.as_str()),
            Domain::Unit => None,
        };
        let keys = self.keys_where(&domain, ranking.filter.as_ref(), field)?;
        let mut sorted = self.sorted(&keys, &ranking.keys, field)?;
        // A key without a sort value is not ranked.
        sorted.retain(|(values, _)| values.iter().all(|v| !v.is_empty()));
        let ties = ranking.ties.map_or(Ties::Ordered, |(t, _)| t);
        // Per partition: how many were ranked, the last sort values and rank.
        let mut counters: HashMap<Vec<String>, (i64, Vec<Value>, i64)> = HashMap::default();
        let mut values = BTreeMap::new();
        let mut tied: BTreeSet<Key> = BTreeSet::new();
        let mut last_key: HashMap<Vec<String>, Key> = HashMap::default();
        for (sort_values, key) in sorted {
            let mut partition = Vec::new();
            for w in &ranking.within {
                let v = if w.name == "group" {
                    match &key {
                        Key::Unit(u) => self
                            .env
                            .units
                            .get(*u as usize)
                            .map(|u| u.group.to_string())
                            .unwrap_or_default(),
                        Key::Text(_) => String::new(),
                    }
                } else {
                    match self.computed.get(&w.name).map(|c| c.at(Some(&key))) {
                        Some(Value::Band(b)) => b.to_string(),
                        _ => String::new(),
                    }
                };
                partition.push(v);
            }
            let (count, last, rank) =
                counters
                    .entry(partition.clone())
                    .or_insert((0, Vec::new(), 0));
            *count += 1;
            let same = !last.is_empty()
                && last.len() == sort_values.len()
                && last
                    .iter()
                    .zip(&sort_values)
                    .all(|(a, b)| a.sort_cmp(b) == Ordering::Equal);
            *rank = match (ties, same) {
                (Ties::Shared | Ties::Dense, true) => *rank,
                (Ties::Dense, false) => *rank + 1,
                _ => *count,
            };
            if same && ties != Ties::Ordered {
                tied.insert(key.clone());
                if let Some(previous) = last_key.get(&partition) {
                    tied.insert(previous.clone());
                }
            }
            *last = sort_values;
            values.insert(key.clone(), Value::Int(*rank));
            last_key.insert(partition, key);
        }
        self.tied
            .borrow_mut()
            .insert(ranking.name.name.clone(), tied);
        Ok(Computed::Keyed {
            values,
            absent: Value::Empty,
        })
    }

    fn lookup(&self, name: &str, key: Option<&Key>) -> Value {
        match self.computed.get(name) {
            Some(c) => c.at(key),
            None => self
                .parts
                .borrow()
                .get(name)
                .map_or(Value::Empty, |c| c.at(key)),
        }
    }

    fn eval(&self, expr: &Expr, frame: &Frame<'_>) -> R<Value> {
        let span = expr.span;
        Ok(match &expr.kind {
            ExprKind::Number(n) => Value::Num(*n),
            ExprKind::Percent(p) => Value::Num(*p),
            ExprKind::Duration(s) => Value::Duration(*s),
            ExprKind::Date(d) => Value::Date(*d),
            ExprKind::DateTime(s) => Value::DateTime(*s),
            ExprKind::Str(s) => Value::Text(Arc::from(s.as_str())),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Name(n) if crate::check::is_date_name(&n.name) => {
                let row = match frame {
                    Frame::Row { source, row, .. } => Some((*source, *row)),
                    _ => None,
                };
                self.month_bound(&n.name, row)
            }
            ExprKind::EachMonth(inner) => self.eval(inner, frame)?,
            ExprKind::Name(n) => self.name(&n.name, frame),
            ExprKind::Member(target, member) => {
                let ExprKind::Name(score) = &target.kind else {
                    return Ok(Value::Empty);
                };
                let key = frame_key(frame);
                self.lookup(&format!("{}.{}", score.name, member.name), key)
            }
            ExprKind::Call { func, args, filter } => {
                self.call(&func.name, args, filter.as_deref(), frame, span)?
            }
            ExprKind::Unary(op, inner) => unary(*op, self.eval(inner, frame)?, span)?,
            ExprKind::Binary(op, left, right) => {
                if *op == BinaryOp::And || *op == BinaryOp::Or {
                    let l = self.eval(left, frame)?;
                    let short = match (op, &l) {
                        (BinaryOp::And, Value::Bool(false)) => Some(false),
                        (BinaryOp::Or, Value::Bool(true)) => Some(true),
                        _ => None,
                    };
                    if let Some(b) = short {
                        return Ok(Value::Bool(b));
                    }
                    let r = self.eval(right, frame)?;
                    return Ok(match (l, r) {
                        (Value::Bool(_), Value::Bool(b)) => Value::Bool(b),
                        _ => Value::Bool(false),
                    });
                }
                if op.is_comparison() {
                    if let ExprKind::Str(label) = &right.kind {
                        let l = self.eval(left, frame)?;
                        let eq = self.matches_label(&l, left.ty.as_ref(), label);
                        return Ok(match (op, eq) {
                            (_, None) => Value::Bool(false),
                            (BinaryOp::Ne, Some(e)) => Value::Bool(!e),
                            (_, Some(e)) => Value::Bool(e),
                        });
                    }
                }
                let l = self.eval(left, frame)?;
                if *op == BinaryOp::Coalesce {
                    return if l.is_empty() {
                        self.eval(right, frame)
                    } else {
                        Ok(l)
                    };
                }
                let r = self.eval(right, frame)?;
                binary(*op, l, r, span)?
            }
            ExprKind::LabelMap(target, entries) => {
                let v = self.eval(target, frame)?;
                let Value::Label(index) = v else {
                    return Ok(Value::Empty);
                };
                let Some(Ty {
                    base: Base::Enum(labels),
                    ..
                }) = target.ty.as_ref()
                else {
                    return Ok(Value::Empty);
                };
                let Some(label) = labels.get(index as usize) else {
                    return Ok(Value::Empty);
                };
                match entries.iter().find(|(l, _)| l.name == *label) {
                    Some((_, value)) => self.eval(value, frame)?,
                    None => Value::Empty,
                }
            }
            ExprKind::IsEmpty { expr, negated } => {
                let v = self.eval(expr, frame)?;
                Value::Bool(v.is_empty() != *negated)
            }
        })
    }

    fn matches_label(&self, value: &Value, ty: Option<&Ty>, label: &str) -> Option<bool> {
        Some(match value {
            Value::Empty => return None,
            Value::Label(i) => match ty.map(|t| &t.base) {
                Some(Base::Enum(labels)) => labels.get(*i as usize).is_some_and(|l| l == label),
                _ => false,
            },
            Value::Unit(u) => self.env.unit_lookup.get(label) == Some(u),
            Value::Group(g) => self.env.groups.get(*g).is_some_and(|n| n == label),
            Value::Band(b) => &**b == label,
            Value::Text(t) => &**t == label,
            _ => false,
        })
    }

    fn name(&self, name: &str, frame: &Frame<'_>) -> Value {
        match frame {
            Frame::Row { table, source, row } => match self.column_of(*source, name) {
                Some(column) => self.cell(table, column, *row),
                None => Value::Empty,
            },
            Frame::Group { key, by, .. } | Frame::Folded { key, by, .. } => {
                if *by == Some(name) {
                    return key.map_or(Value::Empty, key_value);
                }
                self.lookup(name, *key)
            }
            Frame::Key { key, field } => match name {
                "unit" => key.map_or(Value::Empty, key_value),
                "group" => match key {
                    Some(Key::Unit(u)) => self
                        .env
                        .units
                        .get(*u as usize)
                        .map_or(Value::Empty, |u| Value::Group(u.group)),
                    _ => Value::Empty,
                },
                _ if *field == Some(name) => key.map_or(Value::Empty, key_value),
                _ => self.lookup(name, *key),
            },
        }
    }

    fn call(
        &self,
        func: &str,
        args: &[Expr],
        filter: Option<&Expr>,
        frame: &Frame<'_>,
        span: Span,
    ) -> R<Value> {
        if let Some(ExprKind::EachMonth(inner)) = args.first().map(|a| &a.kind) {
            let nth = match args.get(1).map(|a| &a.kind) {
                Some(ExprKind::Number(n)) => usize::try_from(n.trunc().mantissa()).ok(),
                _ => None,
            };
            return self.each_month(func, inner, nth, filter, frame, span);
        }
        match func {
            "round" => {
                let (Some(value), Some(places)) = (args.first(), args.get(1)) else {
                    return Ok(Value::Empty);
                };
                let v = self.eval(value, frame)?;
                let places = match places.kind {
                    ExprKind::Number(n) => u32::try_from(n.trunc().mantissa()).unwrap_or(0),
                    _ => 0,
                };
                return Ok(match v {
                    Value::Num(d) => Value::Num(number::round(d, places, self.env.rounding)),
                    other => other,
                });
            }
            "abs" => {
                let Some(value) = args.first() else {
                    return Ok(Value::Empty);
                };
                return Ok(match self.eval(value, frame)? {
                    Value::Num(d) => Value::Num(d.abs()),
                    Value::Int(i) => {
                        Value::Int(i.checked_abs().ok_or(EvalError::Overflow { span })?)
                    }
                    other => other,
                });
            }
            "if" => {
                // Conditions in order; an empty condition counts as not met.
                let mut rest = args;
                while let [cond, value, tail @ ..] = rest {
                    if tail.is_empty() {
                        break;
                    }
                    if self.eval(cond, frame)? == Value::Bool(true) {
                        return self.eval(value, frame);
                    }
                    rest = tail;
                }
                return match rest {
                    [otherwise] => self.eval(otherwise, frame),
                    _ => Ok(Value::Empty),
                };
            }
            "min" | "max" | "clamp" if !crate::check::is_aggregate(func, args.len()) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    let v = self.eval(a, frame)?;
                    // Any empty value makes the result empty, as in arithmetic.
                    if v.is_empty() {
                        return Ok(Value::Empty);
                    }
                    values.push(v);
                }
                let pick = |a: Value, b: Value, least: bool| {
                    let o = a.sort_cmp(&b);
                    if (o == Ordering::Greater) == least {
                        b
                    } else {
                        a
                    }
                };
                return Ok(match func {
                    "clamp" => {
                        let mut it = values.into_iter();
                        let (Some(x), Some(low), Some(high)) = (it.next(), it.next(), it.next())
                        else {
                            return Ok(Value::Empty);
                        };
                        if low.sort_cmp(&high) == Ordering::Greater {
                            return Err(Box::new(EvalError::ClampBounds {
                                low: self.text(&low, None),
                                high: self.text(&high, None),
                                span,
                            }));
                        }
                        pick(pick(x, low, false), high, true)
                    }
                    _ => {
                        let least = func == "min";
                        let mut it = values.into_iter();
                        let Some(first) = it.next() else {
                            return Ok(Value::Empty);
                        };
                        it.fold(first, |best, v| pick(best, v, least))
                    }
                });
            }
            "scale" => {
                let Some((value, points)) = args.split_first() else {
                    return Ok(Value::Empty);
                };
                let Some(x) = self.eval(value, frame)?.decimal() else {
                    return Ok(Value::Empty);
                };
                let mut pts = Vec::with_capacity(points.len() / 2);
                for pair in points.chunks(2) {
                    let [from, to] = pair else { continue };
                    let (Some(a), Some(b)) = (
                        self.eval(from, frame)?.decimal(),
                        self.eval(to, frame)?.decimal(),
                    ) else {
                        return Ok(Value::Empty);
                    };
                    pts.push((a, b));
                }
                return number::scale(x, &pts)
                    .map(Value::Num)
                    .ok_or_else(|| Box::new(EvalError::Overflow { span }));
            }
            "workdays" => {
                let (Some(from), Some(to)) = (args.first(), args.get(1)) else {
                    return Ok(Value::Empty);
                };
                let seconds = |v: Value| match v {
                    Value::DateTime(s) => Some(s),
                    Value::Date(d) => d.checked_mul(86_400),
                    _ => None,
                };
                let (Some(a), Some(b)) = (
                    seconds(self.eval(from, frame)?),
                    seconds(self.eval(to, frame)?),
                ) else {
                    return Ok(Value::Empty);
                };
                let Some(calendar) = &self.env.calendar else {
                    return Ok(Value::Empty);
                };
                return match calendar.working_seconds(a, b) {
                    Ok(s) => Ok(Value::Num(
                        Decimal::from(s)
                            .checked_div(Decimal::from(86_400))
                            .ok_or(EvalError::Overflow { span })?,
                    )),
                    Err(date) => {
                        let (first, last) = calendar.years();
                        Err(Box::new(EvalError::OutsideCalendar {
                            date: date.format("%Y-%m-%d").to_string(),
                            years: if first == last {
                                first.to_string()
                            } else {
                                format!("{first}–{last}")
                            },
                            span,
                        }))
                    }
                };
            }
            "tied" => {
                let Some(ExprKind::Name(ranking)) = args.first().map(|a| &a.kind) else {
                    return Ok(Value::Empty);
                };
                let key = frame_key(frame);
                return Ok(match key {
                    Some(k) => Value::Bool(
                        self.tied
                            .borrow()
                            .get(&ranking.name)
                            .is_some_and(|keys| keys.contains(k)),
                    ),
                    None => Value::Empty,
                });
            }
            _ => {}
        }
        let acc = self.collect(func, args, filter, frame, span)?;
        if func == "top" {
            let n = match args.get(1).map(|a| &a.kind) {
                Some(ExprKind::Number(n)) => usize::try_from(n.trunc().mantissa()).unwrap_or(1),
                _ => 1,
            };
            let base = args.first().and_then(|a| a.ty.as_ref()).map(|t| &t.base);
            let items: Vec<Arc<str>> = acc
                .ranked()
                .into_iter()
                .take(n)
                .map(|(v, _)| Arc::from(self.text(&v, base).as_str()))
                .collect();
            return Ok(Value::List(Arc::from(items)));
        }
        acc.finish(span)
    }

    /// `mean(总得分 each month)`: the value at the frame's key in each month of the
    /// period (those with data, which meet the filter), aggregated.
    fn each_month(
        &self,
        func: &str,
        inner: &Expr,
        nth: Option<usize>,
        filter: Option<&Expr>,
        frame: &Frame<'_>,
        span: Span,
    ) -> R<Value> {
        let (key, field) = match frame {
            Frame::Key { key, field } => (*key, *field),
            Frame::Group { key, by, .. } | Frame::Folded { key, by, .. } => (*key, *by),
            Frame::Row { .. } => (None, None),
        };
        let frame = Frame::Key { key, field };
        // Evaluated on one month's tables, the months are that month.
        let months: Vec<&Evaluator<'_>> = if self.month_values.is_empty() {
            vec![self]
        } else {
            self.month_values.iter().map(|(_, e)| e).collect()
        };
        // `first`, `last`, `nth`: the month at that place in the period, if it has data.
        let place = match func {
            "first" => Some(1),
            "last" => Some(self.period.map_or(1, |p| p.months_count())),
            "nth" => nth,
            _ => None,
        };
        if let Some(place) = place {
            let wanted = match self.period {
                Some(p) => i32::try_from(place).ok().map(|k| p.first.plus(k - 1)),
                None => self.month.filter(|_| place == 1),
            };
            let found = if self.month_values.is_empty() {
                (wanted.is_some() && wanted == self.month.or(self.period.map(|p| p.first)))
                    .then_some(self)
            } else {
                self.month_values
                    .iter()
                    .find(|(m, _)| Some(*m) == wanted)
                    .map(|(_, e)| e)
            };
            return match found {
                Some(month) => month.eval(inner, &frame),
                None => Ok(Value::Empty),
            };
        }
        let mut acc = Aggregate::new(func);
        for month in months {
            if let Some(f) = filter {
                if month.eval(f, &frame)? != Value::Bool(true) {
                    continue;
                }
            }
            acc.push(month.eval(inner, &frame)?, span)?;
        }
        acc.finish(span)
    }

    /// Runs an aggregate over the rows of a group, or over keys.
    fn collect(
        &self,
        func: &str,
        args: &[Expr],
        filter: Option<&Expr>,
        frame: &Frame<'_>,
        span: Span,
    ) -> R<Aggregate> {
        let mut acc = Aggregate::new(func);
        match frame {
            Frame::Group {
                table,
                source,
                rows,
                ..
            } => {
                let one = std::slice::from_mut(&mut acc);
                self.push_rows(args, filter, table, *source, rows, one, |_| Some(0), span)?;
            }
            Frame::Folded { aggregates, .. } => {
                if let Some(folded) = aggregates.get(&(span.start, span.end)) {
                    acc = folded.clone();
                }
            }
            Frame::Key { .. } | Frame::Row { .. } => {
                let shape_of = |e: &Expr| e.ty.as_ref().map(|t| t.shape.clone());
                let domain = args
                    .first()
                    .and_then(shape_of)
                    .or_else(|| filter.and_then(shape_of));
                let Some(Shape::Keyed(domain)) = domain else {
                    return Ok(acc);
                };
                let field = match &domain {
                    Domain::Field(f) => Some(f.as_str()),
                    Domain::Unit => None,
                };
                for key in self.keys_of(&domain) {
                    let kf = Frame::Key {
                        key: Some(&key),
                        field,
                    };
                    if let Some(f) = filter {
                        if self.eval(f, &kf)? != Value::Bool(true) {
                            continue;
                        }
                    }
                    let v = match args.first() {
                        Some(a) => self.eval(a, &kf)?,
                        None => Value::Bool(true),
                    };
                    acc.push(v, span)?;
                }
            }
        }
        Ok(acc)
    }

    /// Pushes `rows` of `table` (in order) into the aggregates `accs`, each row
    /// into the one `group` gives for it (none: the row is skipped): the value
    /// of the argument of a row that passes `filter` (`true` without argument).
    /// What the pushes would give is taken in bulk where it can be: `count()`
    /// and `share()` of every row add the rows, and `mode`, `mode_count` and
    /// `top` of a text field tally each text once with its count, the rows
    /// being counted by the address of their text (a block's equal texts share
    /// one; the tally is by text, so equal texts that do not still meet there);
    /// the commonest formulas run a column at a time ([`kernel::push_columns`]);
    /// the rest row by row.
    #[allow(clippy::too_many_arguments)]
    fn push_rows(
        &self,
        args: &[Expr],
        filter: Option<&Expr>,
        table: &DataTable,
        source: usize,
        rows: &[usize],
        accs: &mut [Aggregate],
        group: impl Fn(usize) -> Option<usize>,
        span: Span,
    ) -> R<()> {
        let Some(first) = accs.first() else {
            return Ok(());
        };
        let filter = filter.map(|f| self.compile_row(f, source));
        let arg = args.first().map(|a| self.compile_row(a, source));
        if arg.is_none() && filter.is_none() && first.counts_rows() {
            for &row in rows {
                if let Some(acc) = group(row).and_then(|g| accs.get_mut(g)) {
                    acc.count += 1;
                    acc.hits += 1;
                }
            }
            return Ok(());
        }
        let texts = match (&arg, &filter) {
            (Some(row::RowExpr::Cell(column)), None) if first.tallies() => {
                match table.columns.get(*column) {
                    Some(ColumnData::Text(texts)) => Some(texts),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(texts) = texts {
            let mut counts: Vec<HashMap<usize, (&Arc<str>, i64)>> =
                vec![HashMap::default(); accs.len()];
            for &row in rows {
                let Some(tally) = group(row).and_then(|g| counts.get_mut(g)) else {
                    continue;
                };
                if let Some(Some(text)) = texts.get(row) {
                    let address = Arc::as_ptr(text) as *const u8 as usize;
                    tally.entry(address).or_insert((text, 0)).1 += 1;
                }
            }
            for (acc, tally) in accs.iter_mut().zip(counts) {
                for (text, n) in tally.into_values() {
                    acc.tally_times(Value::Text(text.clone()), n);
                }
            }
            return Ok(());
        }
        if kernel::push_columns(arg.as_ref(), filter.as_ref(), table, rows, accs, &group) {
            return Ok(());
        }
        self.push_row_by_row(
            arg.as_ref(),
            filter.as_ref(),
            table,
            source,
            rows,
            accs,
            group,
            span,
        )
    }

    /// [`Evaluator::push_rows`] for any compiled formula: for each row with a
    /// group that the filter keeps, the formula's value pushed into the group's
    /// aggregate.
    #[allow(clippy::too_many_arguments)]
    fn push_row_by_row(
        &self,
        arg: Option<&row::RowExpr<'_>>,
        filter: Option<&row::RowExpr<'_>>,
        table: &DataTable,
        source: usize,
        rows: &[usize],
        accs: &mut [Aggregate],
        group: impl Fn(usize) -> Option<usize>,
        span: Span,
    ) -> R<()> {
        for &row in rows {
            let Some(acc) = group(row).and_then(|g| accs.get_mut(g)) else {
                continue;
            };
            if let Some(f) = filter {
                if self.eval_row(f, table, source, row)? != Value::Bool(true) {
                    continue;
                }
            }
            let v = match arg {
                Some(a) => self.eval_row(a, table, source, row)?,
                None => Value::Bool(true),
            };
            acc.push(v, span)?;
        }
        Ok(())
    }

    /// The policy text of an expression.
    fn quote(&self, expr: &Expr) -> String {
        self.env
            .text
            .get(expr.span.start..expr.span.end)
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A metric's value for one group (or all rows), with its explanation when asked.
    fn metric_value(&self, metric: &Metric, frame: &Frame<'_>, key: Option<&Key>) -> R<Value> {
        match self.explain_metric(metric, frame, key)? {
            Some(value) => Ok(value),
            None => self.eval(&metric.expr, frame),
        }
    }

    /// Records how a metric that is one `count`, `share`, `mean` or `sum` is computed,
    /// and gives its value from the same aggregate; `None` for other metrics.
    fn explain_metric(
        &self,
        metric: &Metric,
        frame: &Frame<'_>,
        key: Option<&Key>,
    ) -> R<Option<Value>> {
        let Some(store) = &self.explain else {
            return Ok(None);
        };
        let ExprKind::Call { func, args, filter } = &metric.expr.kind else {
            return Ok(None);
        };
        if !matches!(func.name.as_str(), "count" | "share" | "mean" | "sum") {
            return Ok(None);
        }
        let acc = self.collect(&func.name, args, filter.as_deref(), frame, metric.expr.span)?;
        let rows = metric.from.as_ref().map_or(String::new(), |f| {
            let extra = f
                .filter
                .as_ref()
                .map(|e| format!("（{}）", self.quote(e)))
                .unwrap_or_default();
            format!("`{}`{extra}", f.source.name)
        });
        let what = args.first().map(|a| self.quote(a)).unwrap_or_default();
        let condition = filter
            .as_deref()
            .map(|f| format!("，{}", self.quote(f)))
            .unwrap_or_default();
        let text = match func.name.as_str() {
            "share" => format!(
                "{} / {} 行{rows}满足 `{what}`{condition}",
                acc.hits, acc.count
            ),
            "count" if args.is_empty() => format!("{} 行{rows}{condition}", acc.count),
            "count" => format!(
                "{} / {} 行{rows}满足 `{what}`{condition}",
                acc.hits, acc.count
            ),
            "mean" => format!(
                "{} 个 `{what}` 之和 {} ÷ {}{condition}",
                acc.count,
                acc.sum.normalize(),
                acc.count
            ),
            _ => format!("{} 个 `{what}` 之和{condition}", acc.count),
        };
        let text = if acc.count == 0 && matches!(func.name.as_str(), "share" | "mean") {
            match &metric.default {
                Some(d) => format!("{rows}没有可计的值，取默认值 {}", self.quote(d)),
                None => format!("{rows}没有可计的值"),
            }
        } else {
            text
        };
        store
            .borrow_mut()
            .insert((metric.name.name.clone(), key.cloned()), text);
        // What evaluating the call gives (see `call`), without running it again.
        acc.finish(metric.expr.span).map(Some)
    }

    /// How a metric `mean(X each month)` came out: each month's value.
    fn explain_months(&self, metric: &Metric, computed: &Computed) -> R<()> {
        let Some(store) = &self.explain else {
            return Ok(());
        };
        let ExprKind::Call { func, args, filter } = &metric.expr.kind else {
            return Ok(());
        };
        let Some(ExprKind::EachMonth(inner)) = args.first().map(|a| &a.kind) else {
            return Ok(());
        };
        let how = match func.name.as_str() {
            "mean" => "取平均".to_string(),
            "sum" => "求和".to_string(),
            "min" => "取最小".to_string(),
            "max" => "取最大".to_string(),
            "count" => "计满足的月数".to_string(),
            "share" => "满足的月份占比".to_string(),
            "first" => "取第一个月".to_string(),
            "last" => "取最后一个月".to_string(),
            _ => match args.get(1).map(|a| &a.kind) {
                Some(ExprKind::Number(n)) => format!("取第 {n} 个月"),
                _ => String::new(),
            },
        };
        let condition = filter
            .as_deref()
            .map(|f| format!("（{}）", self.quote(f)))
            .unwrap_or_default();
        let (keys, field): (Vec<Option<&Key>>, Option<&str>) = match computed {
            Computed::Scalar(_) => (vec![None], None),
            Computed::Keyed { values, .. } => (
                values.keys().map(Some).collect(),
                match inner.ty.as_ref().map(|t| &t.shape) {
                    Some(Shape::Keyed(Domain::Field(f))) => Some(f.as_str()),
                    _ => None,
                },
            ),
        };
        for key in keys {
            let frame = Frame::Key { key, field };
            let mut months = Vec::new();
            for (m, month) in self.column_months() {
                let v = match month {
                    Some(month) => month.eval(inner, &frame)?,
                    None => Value::Empty,
                };
                let shown = match &v {
                    Value::Empty => "—".to_string(),
                    Value::Bool(b) => if *b { "是" } else { "否" }.to_string(),
                    v => v
                        .decimal()
                        .map_or_else(|| self.text(v, None), |d| d.normalize().to_string()),
                };
                months.push(format!("{m} {shown}"));
            }
            let text = format!(
                "各月 `{}`{condition}：{}；{how}",
                self.quote(inner),
                months.join("、")
            );
            store
                .borrow_mut()
                .insert((metric.name.name.clone(), key.cloned()), text);
        }
        Ok(())
    }

    fn explanations(&self, name: &str) -> Vec<(String, String)> {
        let Some(store) = &self.explain else {
            return Vec::new();
        };
        let store = store.borrow();
        let mut out: Vec<(Option<Key>, String)> = store
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, k), t)| (k.clone(), t.clone()))
            .collect();
        out.sort();
        out.into_iter()
            .map(|(k, t)| {
                (
                    k.map_or(String::new(), |k| self.text(&key_value(&k), None)),
                    t,
                )
            })
            .collect()
    }
}

/// Adds `more` rows to a group's, keeping them in file order.
fn join_rows(rows: &mut Vec<usize>, more: Vec<usize>) {
    if rows.is_empty() {
        *rows = more;
    } else {
        rows.extend(more);
        rows.sort_unstable();
    }
}

/// How many lines of rows without a grouping key the error names.
const EMPTY_KEY_LINES: usize = 10;

/// Rows without a grouping key: an error, never dropped.
fn empty_key_error(file: &str, field: &str, count: usize, lines: &[u64], span: Span) -> EvalError {
    let shown: Vec<String> = lines
        .iter()
        .take(EMPTY_KEY_LINES)
        .map(u64::to_string)
        .collect();
    let more = if count > EMPTY_KEY_LINES { ", …" } else { "" };
    EvalError::EmptyKey {
        file: file.to_string(),
        field: field.to_string(),
        count,
        lines: format!("{}{more}", shown.join(", ")),
        span,
    }
}

fn frame_key<'f>(frame: &'f Frame<'_>) -> Option<&'f Key> {
    match frame {
        Frame::Group { key, .. } | Frame::Folded { key, .. } | Frame::Key { key, .. } => *key,
        Frame::Row { .. } => None,
    }
}

fn key_value(key: &Key) -> Value {
    match key {
        Key::Unit(u) => Value::Unit(*u),
        Key::Text(t) => Value::Text(t.clone()),
    }
}

fn in_range(range: &Range, d: Decimal) -> bool {
    let lower_ok = range.lower.is_none_or(|b| {
        if b.inclusive {
            d >= b.value
        } else {
            d > b.value
        }
    });
    let upper_ok = range.upper.is_none_or(|b| {
        if b.inclusive {
            d <= b.value
        } else {
            d < b.value
        }
    });
    lower_ok && upper_ok
}

fn add(a: Decimal, b: Decimal, span: Span) -> R<Decimal> {
    a.checked_add(b)
        .ok_or_else(|| Box::new(EvalError::Overflow { span }))
}

/// Adds a value pushed into a `mean` or `sum` to its running count, exact sum
/// and integer sum (kept while every value is an integer); a value that is no
/// number is skipped. `None` when the sum overflows.
fn add_number(
    count: &mut i64,
    sum: &mut Decimal,
    int_sum: &mut Option<i64>,
    value: &Value,
) -> Option<()> {
    let Some(d) = value.decimal() else {
        return Some(());
    };
    *count += 1;
    *sum = sum.checked_add(d)?;
    *int_sum = match (*int_sum, value) {
        (Some(s), Value::Int(i)) => s.checked_add(*i),
        _ => None,
    };
    Some(())
}

fn mul(a: Decimal, b: Decimal, span: Span) -> R<Decimal> {
    a.checked_mul(b)
        .ok_or_else(|| Box::new(EvalError::Overflow { span }))
}

/// `not` and `-` on a value; anything else gives an empty value.
fn unary(op: UnaryOp, v: Value, span: Span) -> R<Value> {
    Ok(match (op, v) {
        (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (UnaryOp::Neg, Value::Int(i)) => {
            Value::Int(i.checked_neg().ok_or(EvalError::Overflow { span })?)
        }
        (UnaryOp::Neg, Value::Num(d)) => Value::Num(-d),
        (UnaryOp::Neg, Value::Duration(d)) => Value::Duration(-d),
        _ => Value::Empty,
    })
}

/// Arithmetic and comparison on two values; empty operands give empty results,
/// and comparisons with an empty value are false.
fn binary(op: BinaryOp, l: Value, r: Value, span: Span) -> R<Value> {
    use Value::*;
    if l.is_empty() || r.is_empty() {
        return Ok(if op.is_comparison() {
            Bool(false)
        } else {
            Empty
        });
    }
    let overflow = || EvalError::Overflow { span };
    if op.is_comparison() {
        let o = match (&l, &r) {
            (Text(a), Text(b)) => a.cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            _ => l.sort_cmp(&r),
        };
        return Ok(Bool(match op {
            BinaryOp::Eq => o == Ordering::Equal,
            BinaryOp::Ne => o != Ordering::Equal,
            BinaryOp::Lt => o == Ordering::Less,
            BinaryOp::Le => o != Ordering::Greater,
            BinaryOp::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        }));
    }
    Ok(match (op, l, r) {
        (BinaryOp::Add, Int(a), Int(b)) => Int(a.checked_add(b).ok_or_else(overflow)?),
        (BinaryOp::Sub, Int(a), Int(b)) => Int(a.checked_sub(b).ok_or_else(overflow)?),
        (BinaryOp::Mul, Int(a), Int(b)) => Int(a.checked_mul(b).ok_or_else(overflow)?),
        (BinaryOp::Sub, DateTime(a), DateTime(b)) => {
            Duration(a.checked_sub(b).ok_or_else(overflow)?)
        }
        (BinaryOp::Add, DateTime(a), Duration(b)) => {
            DateTime(a.checked_add(b).ok_or_else(overflow)?)
        }
        (BinaryOp::Sub, DateTime(a), Duration(b)) => {
            DateTime(a.checked_sub(b).ok_or_else(overflow)?)
        }
        (BinaryOp::Add, Duration(a), Duration(b)) => {
            Duration(a.checked_add(b).ok_or_else(overflow)?)
        }
        (BinaryOp::Sub, Duration(a), Duration(b)) => {
            Duration(a.checked_sub(b).ok_or_else(overflow)?)
        }
        (BinaryOp::Mul, Duration(a), Int(b)) | (BinaryOp::Mul, Int(b), Duration(a)) => {
            Duration(a.checked_mul(b).ok_or_else(overflow)?)
        }
        (BinaryOp::Div, Duration(a), Duration(b)) => {
            if b == 0 {
                Empty
            } else {
                Num(Decimal::from(a)
                    .checked_div(Decimal::from(b))
                    .ok_or_else(overflow)?)
            }
        }
        (op, l, r) => {
            let (Some(a), Some(b)) = (l.decimal(), r.decimal()) else {
                return Ok(Empty);
            };
            // Percentages are held in points: 5% is 5. Multiplying by one divides by 100.
            match op {
                BinaryOp::Add => Num(a.checked_add(b).ok_or_else(overflow)?),
                BinaryOp::Sub => Num(a.checked_sub(b).ok_or_else(overflow)?),
                BinaryOp::Mul => Num(a.checked_mul(b).ok_or_else(overflow)?),
                BinaryOp::Div => {
                    if b.is_zero() {
                        Empty
                    } else {
                        Num(a.checked_div(b).ok_or_else(overflow)?)
                    }
                }
                _ => Empty,
            }
        }
    })
}

/// A running aggregate.
#[derive(Debug, Clone)]
struct Aggregate {
    func: Func,
    tally: foldhash::HashMap<Value, i64>,
    count: i64,
    hits: i64,
    sum: Decimal,
    int_sum: Option<i64>,
    best: Value,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Count,
    Share,
    Mean,
    Sum,
    Min,
    Max,
    Mode,
    ModeCount,
    Top(usize),
}

impl Aggregate {
    fn new(name: &str) -> Self {
        let func = match name {
            "count" => Func::Count,
            "share" => Func::Share,
            "mean" => Func::Mean,
            "sum" => Func::Sum,
            "min" => Func::Min,
            "mode" => Func::Mode,
            "mode_count" => Func::ModeCount,
            "top" => Func::Top(0),
            _ => Func::Max,
        };
        Aggregate {
            func,
            tally: foldhash::HashMap::default(),
            count: 0,
            hits: 0,
            sum: Decimal::ZERO,
            int_sum: Some(0),
            best: Value::Empty,
        }
    }

    /// Whether the aggregate tallies its values (`mode`, `mode_count`, `top`).
    fn tallies(&self) -> bool {
        matches!(self.func, Func::Mode | Func::ModeCount | Func::Top(_))
    }

    /// Tallies `v` `n` times, as `n` pushes of it would.
    fn tally_times(&mut self, v: Value, n: i64) {
        if !v.is_empty() && n > 0 {
            *self.tally.entry(v).or_insert(0) += n;
        }
    }

    /// Whether an aggregate of no value counts rows (`count()`, `share()`).
    fn counts_rows(&self) -> bool {
        matches!(self.func, Func::Count | Func::Share)
    }

    fn push(&mut self, v: Value, span: Span) -> R<()> {
        match self.func {
            Func::Count | Func::Share => {
                self.count += 1;
                if v == Value::Bool(true) {
                    self.hits += 1;
                }
            }
            Func::Mean | Func::Sum => {
                add_number(&mut self.count, &mut self.sum, &mut self.int_sum, &v)
                    .ok_or_else(|| Box::new(EvalError::Overflow { span }))?;
            }
            Func::Mode | Func::ModeCount | Func::Top(_) => {
                if !v.is_empty() {
                    *self.tally.entry(v).or_insert(0) += 1;
                }
            }
            Func::Min | Func::Max => {
                if v.is_empty() {
                    return Ok(());
                }
                let better = match self.best.sort_cmp(&v) {
                    _ if self.best.is_empty() => true,
                    Ordering::Greater => self.func == Func::Min,
                    Ordering::Less => self.func == Func::Max,
                    Ordering::Equal => false,
                };
                if better {
                    self.best = v;
                }
            }
        }
        Ok(())
    }

    /// Adds the values pushed into `later`, an aggregate of the same call over later rows.
    fn merge(&mut self, later: Aggregate, span: Span) -> R<()> {
        self.count += later.count;
        self.hits += later.hits;
        self.sum = add(self.sum, later.sum, span)?;
        self.int_sum = match (self.int_sum, later.int_sum) {
            (Some(a), Some(b)) => a.checked_add(b),
            _ => None,
        };
        for (value, n) in later.tally {
            *self.tally.entry(value).or_insert(0) += n;
        }
        if !later.best.is_empty() {
            // As if its values were pushed after this one's: the first of equals stays.
            let better = match self.best.sort_cmp(&later.best) {
                _ if self.best.is_empty() => true,
                Ordering::Greater => self.func == Func::Min,
                Ordering::Less => self.func == Func::Max,
                Ordering::Equal => false,
            };
            if better {
                self.best = later.best;
            }
        }
        Ok(())
    }

    fn finish(self, span: Span) -> R<Value> {
        Ok(match self.func {
            Func::Count => Value::Int(self.hits),
            Func::Share => {
                if self.count == 0 {
                    Value::Empty
                } else {
                    let hits = mul(Decimal::from(self.hits), Decimal::ONE_HUNDRED, span)?;
                    Value::Num(
                        hits.checked_div(Decimal::from(self.count))
                            .ok_or(EvalError::Overflow { span })?,
                    )
                }
            }
            Func::Mean => {
                if self.count == 0 {
                    Value::Empty
                } else {
                    Value::Num(
                        self.sum
                            .checked_div(Decimal::from(self.count))
                            .ok_or(EvalError::Overflow { span })?,
                    )
                }
            }
            Func::Sum => match self.int_sum {
                Some(i) if self.count > 0 => Value::Int(i),
                Some(_) => Value::Int(0),
                None => Value::Num(self.sum),
            },
            Func::Min | Func::Max => self.best,
            Func::Mode => self
                .ranked()
                .into_iter()
                .next()
                .map_or(Value::Empty, |(v, _)| v),
            Func::ModeCount => Value::Int(self.ranked().first().map_or(0, |(_, n)| *n)),
            // Converted to text by the caller, which knows the values' type.
            Func::Top(_) => Value::Empty,
        })
    }

    /// Values by frequency, most frequent first; ties in value order.
    fn ranked(&self) -> Vec<(Value, i64)> {
        let mut all: Vec<(Value, i64)> = self.tally.iter().map(|(v, n)| (v.clone(), *n)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.sort_cmp(&b.0)));
        all
    }
}

impl<'a> Evaluator<'a> {
    fn display(&self, value: &Value, ty: Option<&Ty>) -> Cell {
        let (places, rounding) = (self.env.decimals, self.env.rounding);
        let base = ty.map(|t| &t.base);
        match value {
            Value::Empty => Cell {
                display: self.env.empty_mark.clone(),
                exact: None,
            },
            Value::Int(i) => Cell {
                display: match base {
                    Some(Base::Percent) => format!("{i}%"),
                    _ => i.to_string(),
                },
                exact: Some(i.to_string()),
            },
            // `zeros keep`: tables keep trailing zeros too (`zeros text` only in prose).
            Value::Num(d) if self.env.zeros == Zeros::Keep && base != Some(&Base::Int) => Cell {
                display: match base {
                    Some(Base::Percent) => {
                        format!("{}%", number::display_fixed(*d, places, rounding))
                    }
                    _ => number::display_fixed(*d, places, rounding),
                },
                exact: Some(d.normalize().to_string()),
            },
            Value::Num(d) => Cell {
                display: match base {
                    Some(Base::Percent) => number::display_percent(*d, places, rounding),
                    Some(Base::Int) => number::display(*d, 0, rounding),
                    _ => number::display(*d, places, rounding),
                },
                exact: Some(d.normalize().to_string()),
            },
            other => Cell {
                display: self.text(other, base),
                exact: None,
            },
        }
    }

    fn text(&self, value: &Value, base: Option<&Base>) -> String {
        match value {
            Value::Empty => self.env.empty_mark.clone(),
            Value::Date(d) => chrono::DateTime::from_timestamp(d.saturating_mul(86_400), 0)
                .map(|d| d.naive_utc().format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            Value::Int(i) => i.to_string(),
            Value::Num(d) => d.normalize().to_string(),
            Value::Bool(b) => if *b { "是" } else { "否" }.into(),
            Value::Text(t) => t.to_string(),
            Value::DateTime(s) => chrono::DateTime::from_timestamp(*s, 0)
                .map(|d| d.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            Value::Duration(s) => format!("{}h", Decimal::from(*s) / Decimal::from(3600)),
            Value::Label(i) => match base {
                Some(Base::Enum(labels)) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => i.to_string(),
            },
            Value::Unit(u) => self
                .env
                .units
                .get(*u as usize)
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            Value::Group(g) => self.env.groups.get(*g).cloned().unwrap_or_default(),
            Value::Band(b) => b.to_string(),
            Value::List(items) => items
                .iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join("、"),
        }
    }

    /// The keys a selection picks, in order.
    fn select(&self, rows: &Rows) -> R<Vec<Key>> {
        let domain = if rows.domain.name == "unit" {
            Domain::Unit
        } else {
            Domain::Field(rows.domain.name.clone())
        };
        let field = match &domain {
            Domain::Field(f) => Some(f.as_str()),
            Domain::Unit => None,
        };
        let keys = self.keys_where(&domain, rows.filter.as_ref(), field)?;
        let mut sorted = self.sorted(&keys, &rows.order, field)?;
        if let Some((top, _)) = rows.top {
            let mut keep = (top as usize).min(sorted.len());
            // `with ties`: the rows whose order values equal the last kept row's.
            if rows.with_ties && keep > 0 {
                while let (Some((last, _)), Some((next, _))) =
                    (sorted.get(keep - 1), sorted.get(keep))
                {
                    let equal = last
                        .iter()
                        .zip(next)
                        .all(|(a, b)| a.sort_cmp(b) == Ordering::Equal);
                    if !equal {
                        break;
                    }
                    keep += 1;
                }
            }
            sorted.truncate(keep);
        }
        Ok(sorted.into_iter().map(|(_, key)| key).collect())
    }

    /// The keys a selection picks and, per key, the cells of `columns`.
    fn cells(&self, rows: &Rows, columns: &[Column]) -> R<(Vec<Key>, Vec<Vec<Cell>>)> {
        let field = match rows.domain.name.as_str() {
            "unit" => None,
            f => Some(f),
        };
        let keys = self.select(rows)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in &keys {
            let frame = Frame::Key {
                key: Some(key),
                field,
            };
            let mut cells = Vec::with_capacity(columns.len());
            for column in columns {
                if let ExprKind::EachMonth(inner) = &column.expr.kind {
                    for (_, month) in self.column_months() {
                        let v = match month {
                            Some(month) => month.eval(inner, &frame)?,
                            None => Value::Empty,
                        };
                        cells.push(self.display(&v, column.expr.ty.as_ref()));
                    }
                    continue;
                }
                let v = self.eval(&column.expr, &frame)?;
                cells.push(self.display(&v, column.expr.ty.as_ref()));
            }
            out.push(cells);
        }
        Ok((keys, out))
    }

    /// The months of a column `each month`: each month of the period, evaluated on
    /// its own (none: a month without data), or the month evaluated.
    fn column_months(&self) -> Vec<(Month, Option<&Evaluator<'a>>)> {
        if self.month_values.is_empty() {
            let month = self
                .month
                .or(self.period.map(|p| p.first))
                .unwrap_or(Month {
                    year: 1970,
                    month: 1,
                });
            return vec![(month, Some(self))];
        }
        let period = self.period.map_or_else(Vec::new, |p| p.months());
        period
            .into_iter()
            .map(|m| {
                let found = self.month_values.iter().find(|(at, _)| *at == m);
                (m, found.map(|(_, e)| e))
            })
            .collect()
    }

    /// The headers of columns (or bars): a column `each month` has one per month, its
    /// header a template of `month` and `year`.
    fn headers(
        &self,
        columns: &[Column],
        env: &minijinja::Environment<'_>,
        ctx: &minijinja::Value,
    ) -> R<Vec<String>> {
        let mut out = Vec::with_capacity(columns.len());
        for column in columns {
            if !matches!(column.expr.kind, ExprKind::EachMonth(_)) {
                // A header is a template too: `"响应率得分（{{ weights.总得分.响应率 }}）"`.
                out.push(
                    if column.header.value.contains("{{") || column.header.value.contains("{%") {
                        self.template(env, &column.header, ctx)?
                    } else {
                        column.header.value.clone()
                    },
                );
                continue;
            }
            for (m, _) in self.column_months() {
                let ctx = minijinja::context! { month => m.month, year => m.year, ..ctx.clone() };
                out.push(self.template(env, &column.header, &ctx)?);
            }
        }
        Ok(out)
    }

    /// Title lines, each a template.
    fn titles(
        &self,
        titles: &[Str],
        env: &minijinja::Environment<'_>,
        ctx: &minijinja::Value,
    ) -> R<Vec<String>> {
        titles.iter().map(|t| self.template(env, t, ctx)).collect()
    }

    fn chart(
        &self,
        chart: &Chart,
        env: &minijinja::Environment<'_>,
        ctx: &minijinja::Value,
    ) -> R<ChartModel> {
        let (keys, values) = self.cells(&chart.rows, &chart.bars)?;
        Ok(ChartModel {
            name: chart.name.value.clone(),
            titles: self.titles(&chart.titles, env, ctx)?,
            categories: keys
                .iter()
                .map(|k| self.text(&key_value(k), None))
                .collect(),
            series: self.headers(&chart.bars, env, ctx)?,
            values,
        })
    }

    fn table(
        &self,
        table: &Table,
        env: &minijinja::Environment<'_>,
        ctx: &minijinja::Value,
    ) -> R<TableModel> {
        let (_, mut rows) = self.cells(&table.rows, &table.columns)?;
        if let Some(label) = &table.total {
            let total = self.total_row(&label.value, &table.columns, &rows);
            rows.push(total);
        }
        Ok(TableModel {
            name: table.name.value.clone(),
            titles: self.titles(&table.titles, env, ctx)?,
            headers: self.headers(&table.columns, env, ctx)?,
            rows,
            total: table.total.is_some(),
        })
    }

    /// `total "合计"`: the label, then the exact sum of each column of counts (rates and
    /// scores do not add up: their cells stay blank).
    fn total_row(&self, label: &str, columns: &[Column], rows: &[Vec<Cell>]) -> Vec<Cell> {
        let months = self.column_months().len();
        let types: Vec<Option<&Ty>> = columns
            .iter()
            .flat_map(|c| {
                let n = if matches!(c.expr.kind, ExprKind::EachMonth(_)) {
                    months
                } else {
                    1
                };
                std::iter::repeat_n(c.expr.ty.as_ref(), n)
            })
            .collect();
        types
            .iter()
            .enumerate()
            .map(|(i, ty)| {
                if i == 0 {
                    return Cell {
                        display: label.to_string(),
                        exact: None,
                    };
                }
                if !matches!(ty.map(|t| &t.base), Some(Base::Int)) {
                    return Cell {
                        display: String::new(),
                        exact: None,
                    };
                }
                let sum: Decimal = rows
                    .iter()
                    .filter_map(|r| r.get(i)?.exact.as_ref()?.parse::<Decimal>().ok())
                    .sum();
                self.display(&Value::Num(sum), *ty)
            })
            .collect()
    }

    /// A value as templates see it: numbers as exact [`Num`](crate::template::Num) objects.
    fn template_value(&self, value: &Value, ty: Option<&Ty>) -> minijinja::Value {
        use crate::template::{Num, NumKind};
        let base = ty.map(|t| &t.base);
        let number = |exact: Decimal| {
            let kind = match base {
                Some(Base::Percent) => NumKind::Percent,
                Some(Base::Int) => NumKind::Count,
                _ => NumKind::Number,
            };
            // A count is a plain integer to templates, so that `{% if 抽访总数 > 0 %}`
            // compares numbers (an object would compare by kind, whatever its value).
            if kind == NumKind::Count && exact.fract().is_zero() {
                if let Ok(i) = i64::try_from(exact) {
                    return minijinja::Value::from(i);
                }
            }
            minijinja::Value::from_object(Num {
                exact,
                kind,
                places: self.env.decimals,
                rounding: self.env.rounding,
                fixed: self.env.zeros != Zeros::Drop,
            })
        };
        match value {
            Value::Empty => minijinja::Value::from_object(crate::template::Nothing {
                mark: self.env.empty_mark.clone(),
            }),
            Value::Int(i) => number(Decimal::from(*i)),
            Value::Num(d) => number(*d),
            Value::Bool(b) => minijinja::Value::from(*b),
            Value::List(items) => {
                minijinja::Value::from(items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            }
            other => minijinja::Value::from(self.text(other, base)),
        }
    }

    /// The values templates can read: every definition and list, plus `year` and `month`.
    fn template_context(
        &mut self,
        env: &minijinja::Environment<'_>,
        period: Period,
    ) -> R<minijinja::Value> {
        let month = period.last;
        let mut ctx: BTreeMap<String, minijinja::Value> = BTreeMap::new();
        ctx.insert("year".into(), minijinja::Value::from(month.year));
        ctx.insert("month".into(), minijinja::Value::from(month.month));
        // `{{ period }}`: 2023 年第一季度; `{{ months }}`: how many months it has.
        ctx.insert("period".into(), minijinja::Value::from(period.chinese()));
        ctx.insert(
            "months".into(),
            minijinja::Value::from(period.months_count()),
        );
        ctx.insert(
            "first_month".into(),
            minijinja::Value::from(period.first.month),
        );
        // `{{ weights.总得分.响应率 }}`: a score term's weight in points (5 for `5% 响应率`),
        // for headers that name it and stay true when the weight changes.
        let mut weights: BTreeMap<String, BTreeMap<String, minijinja::Value>> = BTreeMap::new();
        for item in &self.checked.policy.items {
            let Item::Score(score) = item else { continue };
            let terms = weights.entry(score.name.name.clone()).or_default();
            for term in &score.terms {
                let (ExprKind::Name(name), Some((weight, _))) = (&term.expr.kind, term.weight)
                else {
                    continue;
                };
                let value = match i64::try_from(weight.normalize()) {
                    Ok(i) if weight.fract().is_zero() => minijinja::Value::from(i),
                    _ => minijinja::Value::from_object(crate::template::Num {
                        exact: weight,
                        kind: crate::template::NumKind::Number,
                        places: 12,
                        rounding: self.env.rounding,
                        fixed: false,
                    }),
                };
                terms.insert(name.name.clone(), value);
            }
        }
        ctx.insert("weights".into(), minijinja::Value::from(weights));
        ctx.insert(
            crate::template::NUMBER_STYLE.into(),
            minijinja::context! {
                fixed => self.env.zeros != Zeros::Drop,
                decimals => self.env.decimals,
                rounding => match self.env.rounding {
                    Rounding::HalfUp => "half_up",
                    Rounding::HalfEven => "half_even",
                },
            },
        );
        let parts = self.parts.borrow();
        let all = self.computed.iter().chain(parts.iter());
        for (name, computed) in all {
            let def_name = name.split('.').next().unwrap_or(name);
            let ty = self.env.defs.get(def_name).and_then(|d| d.ty.as_ref());
            let v = match computed {
                Computed::Scalar(v) => self.template_value(v, ty),
                Computed::Keyed { values, absent } => {
                    let entries = values
                        .iter()
                        .map(|(k, v)| (self.text(&key_value(k), None), self.template_value(v, ty)))
                        .collect();
                    // Every unit has its value: a name that is no unit stays an error. A
                    // topic without rows this month reads as the metric gives it (0).
                    let per_unit = matches!(ty.map(|t| &t.shape), Some(Shape::Keyed(Domain::Unit)));
                    minijinja::Value::from_object(crate::template::Keyed {
                        entries,
                        absent: if per_unit {
                            minijinja::Value::UNDEFINED
                        } else {
                            self.template_value(absent, ty)
                        },
                    })
                }
            };
            ctx.insert(name.clone(), v);
        }
        drop(parts);
        for item in &self.checked.policy.items {
            if let Item::List(list) = item {
                let keys = self.select(&list.rows)?;
                let names: Vec<String> = keys
                    .iter()
                    .map(|k| self.text(&key_value(k), None))
                    .collect();
                ctx.insert(
                    list.name.name.clone(),
                    minijinja::Value::from(names.clone()),
                );
                self.lists.push((list.name.name.clone(), names));
            }
        }
        self.commentaries(env, &mut ctx)?;
        Ok(minijinja::Value::from(ctx))
    }

    /// Each commentary as a map from key to rendered text, for the items of its list
    /// that have an entry; warnings for entries that describe nothing this month and
    /// for items without one.
    fn commentaries(
        &mut self,
        env: &minijinja::Environment<'_>,
        ctx: &mut BTreeMap<String, minijinja::Value>,
    ) -> R<()> {
        let defs = self.env.commentaries.clone();
        for (index, def) in defs.iter().enumerate() {
            let mut shown: BTreeMap<String, String> = BTreeMap::new();
            let Some(Commentary { path, read, .. }) = self.commentary.get(index).cloned() else {
                ctx.insert(def.name.clone(), minijinja::Value::from(shown));
                continue;
            };
            let file = path.display().to_string();
            let items: Vec<String> = ctx
                .get(&def.list)
                .and_then(|v| v.try_iter().ok())
                .map(|it| it.map(|v| v.to_string()).collect())
                .unwrap_or_default();
            let parsed = read.unwrap_or_default();
            for line in &parsed.stray {
                self.notes.push(EvalError::CommentaryStray {
                    path: file.clone(),
                    line: *line,
                });
            }
            let base = minijinja::Value::from(ctx.clone());
            let mut failed: Vec<String> = Vec::new();
            for entry in &parsed.entries {
                if !items.contains(&entry.key) {
                    self.notes.push(EvalError::CommentaryUnknownKey {
                        path: file.clone(),
                        line: entry.line,
                        key: entry.key.clone(),
                        list: def.list.clone(),
                    });
                    continue;
                }
                if entry.text.trim().is_empty() {
                    continue;
                }
                let fail = |message: String| {
                    Box::new(EvalError::CommentaryTemplate {
                        path: file.clone(),
                        line: entry.line,
                        key: entry.key.clone(),
                        message,
                    })
                };
                // A failing entry is an error of the report; the rest renders all the same.
                let template = match env.template_from_str(&entry.text) {
                    Ok(t) => t,
                    Err(e) => {
                        self.errors.push(*fail(e.to_string()));
                        failed.push(entry.key.clone());
                        continue;
                    }
                };
                let mut unknown: Vec<String> = template
                    .undeclared_variables(false)
                    .into_iter()
                    .filter(|n| {
                        n != "key" && !ctx.contains_key(n) && !crate::template::is_global(env, n)
                    })
                    .collect();
                unknown.sort();
                if let Some(name) = unknown.first() {
                    self.errors
                        .push(*fail(format!("`{name}` is not a value of the report")));
                    failed.push(entry.key.clone());
                    continue;
                }
                if let Some((name, kind)) = crate::check::compared_numbers(&entry.text, self.env)
                    .into_iter()
                    .next()
                {
                    self.errors.push(*fail(format!(
                        "it compares `{name}`, {kind}, which a template cannot compare exactly; compare it in the policy and test the answer"
                    )));
                    failed.push(entry.key.clone());
                    continue;
                }
                let here = minijinja::context! { key => entry.key.clone(), ..base.clone() };
                match template.render(here) {
                    Ok(text) => {
                        let name = path
                            .file_name()
                            .map_or(file.clone(), |n| n.to_string_lossy().to_string());
                        self.passages.push(crate::report::Passage {
                            text: text.clone(),
                            source: format!("{name} 第 {} 行", entry.line),
                        });
                        shown.insert(entry.key.clone(), text);
                    }
                    Err(e) => {
                        self.errors.push(*fail(e.to_string()));
                        failed.push(entry.key.clone());
                    }
                }
            }
            for item in &items {
                if !shown.contains_key(item) && !failed.contains(item) {
                    self.notes.push(EvalError::CommentaryMissing {
                        path: file.clone(),
                        key: item.clone(),
                        list: def.list.clone(),
                    });
                }
            }
            ctx.insert(def.name.clone(), minijinja::Value::from(shown));
        }
        Ok(())
    }

    fn template(
        &self,
        env: &minijinja::Environment<'_>,
        text: &Str,
        ctx: &minijinja::Value,
    ) -> R<String> {
        let fail = |e: minijinja::Error| {
            let mut names: Vec<&str> = self.computed.keys().map(|s| s.as_str()).collect();
            names.sort_unstable();
            EvalError::Template {
                message: e.to_string(),
                help: format!(
                    "values a template can use: `year`, `month`, {}",
                    names
                        .iter()
                        .take(12)
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                span: text.span,
            }
        };
        env.render_str(&text.value, ctx)
            .map_err(|e| Box::new(fail(e)))
    }

    fn model(&mut self, month: Month, with_report: bool) -> ReportModel {
        self.model_of(Period::month(month), with_report)
    }

    fn model_of(&mut self, period: Period, with_report: bool) -> ReportModel {
        let env = crate::template::environment();
        let ctx = match self.template_context(&env, period) {
            Ok(ctx) => ctx,
            Err(e) => {
                self.errors.push(*e);
                minijinja::Value::from(())
            }
        };
        let mut sections = Vec::new();
        let mut title = self.env.title.clone();
        for item in &self.checked.policy.items {
            let Item::Report(report) = item else { continue };
            if !with_report {
                continue;
            }
            if let Some(t) = &report.title {
                match self.template(&env, t, &ctx) {
                    Ok(text) => title = text,
                    Err(e) => self.errors.push(*e),
                }
            }
            for section in &report.sections {
                let result = match section {
                    Section::Heading(h) => self
                        .template(&env, h, &ctx)
                        .map(|text| SectionModel::Heading { text }),
                    Section::Text(t) => self
                        .template(&env, t, &ctx)
                        .map(|text| SectionModel::Text { text }),
                    Section::Chart(c) => self.chart(c, &env, &ctx).map(SectionModel::Chart),
                    Section::Table(t) => self.table(t, &env, &ctx).map(SectionModel::Table),
                };
                match result {
                    // A chart of nothing (no spot checks this month) says nothing: left
                    // out, where an empty table says （无）.
                    Ok(SectionModel::Chart(c)) if c.categories.is_empty() => {}
                    Ok(s) => sections.push(s),
                    Err(e) => self.errors.push(*e),
                }
            }
        }
        let mut values = Vec::new();
        for name in &self.env.order {
            let Some(def) = self.env.defs.get(name) else {
                continue;
            };
            let kind = match def.kind {
                DefKind::Metric(_) => "metric",
                DefKind::Score(_) => "score",
                DefKind::Bands(_) => "bands",
                DefKind::Ranking(_) => "ranking",
                _ => continue,
            };
            if let Some(c) = self.computed.get(name) {
                values.push(self.definition(name, kind, c, def.ty.as_ref()));
            }
            if kind == "score" {
                let prefix = format!("{name}.");
                let parts = self.parts.borrow();
                let mut names: Vec<&String> =
                    parts.keys().filter(|k| k.starts_with(&prefix)).collect();
                names.sort();
                for part in names {
                    if let Some(c) = parts.get(part) {
                        values.push(self.definition(part, "score term", c, def.ty.as_ref()));
                    }
                }
            }
        }
        let sources = self
            .env
            .sources
            .iter()
            .zip(&self.tables)
            .enumerate()
            .map(|(i, (s, t))| SourceSummary {
                name: s.name.clone(),
                file: match self.files.get(&i).map(Vec::as_slice) {
                    // Several months: `DIR/2023-01..2023-12/tickets.csv`.
                    Some([first, .., last]) => {
                        let dir = first
                            .path
                            .parent()
                            .and_then(Path::parent)
                            .unwrap_or(Path::new(""));
                        dir.join(format!("{}..{}", first.month, last.month))
                            .join(&s.file.path.value)
                            .display()
                            .to_string()
                    }
                    Some([one]) => one.path.display().to_string(),
                    _ => t.path.display().to_string(),
                },
                rows: self.folded_rows.get(&i).copied().unwrap_or(t.len()),
                encoding: self
                    .files
                    .get(&i)
                    .and_then(|f| f.first())
                    .map_or(t.encoding, |f| f.encoding)
                    .map(|(e, detected)| {
                        format!(
                            "{}{}",
                            if e == data::Encoding::Gbk {
                                "gbk"
                            } else {
                                "utf8"
                            },
                            if detected { " (detected)" } else { "" }
                        )
                    }),
            })
            .collect();
        ReportModel {
            policy: self.env.title.clone(),
            title,
            month: period.to_string(),
            rounding: self.env.rounding,
            decimals: self.env.decimals,
            sections,
            values,
            sources,
            fingerprint: self.fingerprint(),
            lists: std::mem::take(&mut self.lists),
            commentary: std::mem::take(&mut self.passages),
            warnings: Vec::new(),
        }
    }

    /// Digests of the policy and of every data file read (test data has no
    /// file), in the policy's `fingerprint` hash.
    fn fingerprint(&self) -> crate::report::Fingerprint {
        let mut data = Vec::new();
        for (index, source) in self.env.sources.iter().enumerate() {
            if let Some(files) = self.files.get(&index) {
                for file in files {
                    let Some(hash) = &file.hash else { continue };
                    let name = format!("{}/{}", file.month, source.file.path.value);
                    if !data.iter().any(|(n, _): &(String, String)| *n == name) {
                        data.push((name, hash.clone()));
                    }
                }
                continue;
            }
            let Some(table) = self.tables.get(index) else {
                continue;
            };
            let Some(hash) = &table.hash else {
                continue;
            };
            let month = table
                .path
                .parent()
                .and_then(|p| p.file_name())
                .map(|m| m.to_string_lossy().to_string())
                .unwrap_or_default();
            let name = format!("{month}/{}", source.file.path.value);
            if !data.iter().any(|(n, _): &(String, String)| *n == name) {
                data.push((name, hash.clone()));
            }
        }
        // The analyst's words are an input of the report too.
        for (def, c) in self.env.commentaries.iter().zip(&self.commentary) {
            if let Some(hash) = &c.hash {
                let month = c
                    .path
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|m| m.to_string_lossy().to_string())
                    .unwrap_or_default();
                data.push((format!("{month}/{}", def.file), hash.clone()));
            }
        }
        let hash = self.env.fingerprint;
        crate::report::Fingerprint {
            hash,
            policy: crate::data::digest::short_digest(hash, self.env.text.as_bytes())
                .unwrap_or_default(),
            data,
            hotline: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    fn definition(
        &self,
        name: &str,
        kind: &'static str,
        c: &Computed,
        ty: Option<&Ty>,
    ) -> Definition {
        let per = match ty.map(|t| &t.shape) {
            Some(Shape::Keyed(Domain::Unit)) => Some("unit".to_string()),
            Some(Shape::Keyed(Domain::Field(f))) => Some(f.clone()),
            _ => None,
        };
        let exact = |v: &Value| match v {
            Value::Empty => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Num(d) => Some(d.normalize().to_string()),
            other => Some(self.text(other, ty.map(|t| &t.base))),
        };
        match c {
            Computed::Scalar(v) => Definition {
                name: name.to_string(),
                kind,
                per,
                value: exact(v),
                values: Vec::new(),
                explain: self.explanations(name),
            },
            Computed::Keyed { values, .. } => Definition {
                name: name.to_string(),
                kind,
                per,
                value: None,
                values: values
                    .iter()
                    .map(|(k, v)| (self.text(&key_value(k), None), exact(v)))
                    .collect(),
                explain: self.explanations(name),
            },
        }
    }
}

/// For unit tests of the evaluator: a policy compiled and its one month of
/// `tickets.csv` loaded whole.
#[cfg(test)]
pub(crate) fn compiled_with_tickets(
    name: &str,
    policy: &str,
    tickets_csv: &str,
) -> (Checked, Vec<DataTable>) {
    let dir = std::env::temp_dir().join(format!("hotline-{name}-{}", std::process::id()));
    let month_dir = dir.join("2023-03");
    std::fs::create_dir_all(&month_dir).expect("mkdir");
    std::fs::write(month_dir.join("tickets.csv"), tickets_csv).expect("write");
    let file = crate::span::SourceFile::new("t.policy", policy.to_string());
    let checked = crate::compile(&file).expect("compiles");
    let month = crate::Month::parse("2023-03").expect("month");
    let tables = load(&checked, &dir, month).expect("loads");
    std::fs::remove_dir_all(&dir).ok();
    (checked, tables)
}
