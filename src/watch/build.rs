//! One rebuild: read and compile the policy, load the month's tables (through the cache),
//! evaluate, render the page.
//!
//! When report sections fail (a template that does not render) but the values evaluate, the
//! failing sections are replaced by placeholders and the policy is evaluated again, so the
//! other sections stay fresh and each failing one shows its last good output, marked.

use super::cache::{reading_hash, Origin, TableCache};
use super::page::{self, Decor, Page};
use crate::ast::{Item, Section, Str};
use crate::check::Checked;
use crate::data::Table;
use crate::eval::{self, Month, Options};
use crate::report::ReportModel;
use crate::span::{SourceFile, Span};
use crate::Period;
use crate::Problem;
use miette::Diagnostic;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Data larger than this (bytes of CSV) is streamed on every build instead of
/// kept in memory between builds: memory stays small, and a build costs one read.
/// `HOTLINE_WATCH_STREAM_ABOVE` overrides it (tests stream small data).
pub(crate) const STREAM_ABOVE: u64 = 64 << 20;

/// How a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Everything rendered.
    Ok,
    /// Values evaluated, some report sections failed; the others are fresh.
    Partial,
    /// Nothing new: the page shows the last good report (or only the diagnostics).
    Failed,
}

/// What a build produced.
#[derive(Debug)]
pub(crate) struct Build {
    /// How it ended.
    pub status: Status,
    /// From reading the policy to the finished page.
    pub elapsed: Duration,
    /// Time spent per phase (`compile`, `load`, `evaluate`, `render`), in order.
    pub phases: Vec<(&'static str, Duration)>,
    /// Errors, rendered for the terminal (coloured when it is one).
    pub errors_terminal: String,
    /// Errors, plain.
    pub errors_plain: String,
    /// How many errors.
    pub error_count: usize,
    /// Warnings, rendered for the terminal.
    pub warnings_terminal: String,
    /// Warnings, plain.
    pub warnings_plain: String,
    /// How many warnings.
    pub warning_count: usize,
    /// Tables parsed from their files in this build.
    pub tables_read: usize,
    /// Tables found in the cache.
    pub tables_cached: usize,
    /// Table columns no definition was matched to, for the tooltips.
    pub unmapped: Vec<String>,
    /// The data files the policy reads (when it compiled).
    pub data_files: Option<Vec<PathBuf>>,
    /// Whether the policy declares tests (when it compiled).
    pub has_tests: bool,
    /// Whether the page shows an older report.
    pub stale: bool,
    /// Whether any build has succeeded yet.
    pub has_good: bool,
    /// The page.
    pub page: Page,
}

/// The last build that rendered everything.
struct Good {
    model: ReportModel,
    html: String,
    tips: String,
}

/// Rebuilds on request, keeping loaded tables and the last good report.
pub(crate) struct Builder {
    policy: PathBuf,
    data: PathBuf,
    /// The months evaluated: one month, or a period read month by month.
    period: Period,
    month: Month,
    color: bool,
    cache: TableCache,
    last_good: Option<Good>,
}

/// The text of a placeholder section; it renders as `<p>MARKER</p>`.
fn marker(index: usize) -> String {
    format!("HOTLINEWATCHFAILEDSECTION{index}X")
}

/// What [`Builder::evaluate`] gives.
struct Evaluated {
    model: Result<ReportModel, Vec<Problem>>,
    /// Tables parsed from their files, and found in the cache.
    read: usize,
    cached: usize,
    /// When the tables were loaded (streamed data is loaded as it is evaluated).
    loaded: Instant,
}

struct Loaded {
    tables: Vec<Arc<Table>>,
    read: usize,
    cached: usize,
    /// Months a comparison needs and does not find, as `render` warns of them.
    warnings: Vec<eval::EvalError>,
}

impl Builder {
    /// A builder of `policy` on `data` for `month`; diagnostics for the terminal are coloured
    /// when `color`.
    pub(crate) fn new(policy: PathBuf, data: PathBuf, period: Period, color: bool) -> Builder {
        Builder {
            policy,
            data,
            period,
            month: period.first,
            color,
            cache: TableCache::default(),
            last_good: None,
        }
    }

    /// The data files a checked policy reads.
    pub(crate) fn data_files(&self, checked: &Checked) -> Vec<PathBuf> {
        checked
            .env
            .sources
            .iter()
            .flat_map(|s| {
                eval::source_months(s, self.period)
                    .into_iter()
                    .map(|m| self.data.join(m.to_string()).join(&s.file.path.value))
            })
            // The analyst's commentary, which a save re-renders like the data.
            .chain(
                checked
                    .env
                    .commentaries
                    .iter()
                    .map(|c| self.data.join(self.period.to_string()).join(&c.file)),
            )
            .collect()
    }

    /// The report of `build`, when it rendered completely.
    pub(crate) fn fresh_report(&self, build: &Build) -> Option<&str> {
        match build.status {
            Status::Ok => self.last_good.as_ref().map(|g| g.html.as_str()),
            Status::Partial | Status::Failed => None,
        }
    }

    /// Whether the data is read in blocks on every build rather than kept in
    /// memory: when its CSV files are larger than [`STREAM_ABOVE`] together.
    fn streams(&self, checked: &Checked) -> bool {
        let csv: u64 = self
            .data_files(checked)
            .iter()
            .zip(&checked.env.sources)
            .filter(|(_, s)| matches!(eval::file_format(s), crate::data::FileFormat::Csv { .. }))
            .filter_map(|(path, _)| std::fs::metadata(path).ok())
            .map(|m| m.len())
            .sum();
        let limit = std::env::var("HOTLINE_WATCH_STREAM_ABOVE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(STREAM_ABOVE);
        csv > limit
    }

    /// Rebuilds; the page is marked with `version`.
    pub(crate) fn build(&mut self, version: u64) -> Build {
        let start = Instant::now();
        let mut build = Build {
            status: Status::Failed,
            elapsed: Duration::ZERO,
            phases: Vec::new(),
            errors_terminal: String::new(),
            errors_plain: String::new(),
            error_count: 0,
            warnings_terminal: String::new(),
            warnings_plain: String::new(),
            warning_count: 0,
            tables_read: 0,
            tables_cached: 0,
            unmapped: Vec::new(),
            data_files: None,
            has_tests: false,
            stale: false,
            has_good: self.last_good.is_some(),
            page: page::diagnostics_only(&Decor::default()),
        };
        let file = match std::fs::read_to_string(&self.policy) {
            Ok(text) => SourceFile::new(self.policy.display().to_string(), text),
            Err(e) => {
                let text = format!("error: cannot read `{}`: {e}\n", self.policy.display());
                build.errors_terminal = text.clone();
                build.errors_plain = text;
                build.error_count = 1;
                return self.failed(build, start, version);
            }
        };
        let checked = match crate::compile(&file) {
            Ok(c) => c,
            Err(problems) => {
                self.set_errors(&mut build, &file, problems);
                return self.failed(build, start, version);
            }
        };
        build.data_files = Some(self.data_files(&checked));
        build.has_tests = checked
            .policy
            .items
            .iter()
            .any(|i| matches!(i, Item::Test(_)));
        let warnings: Vec<Problem> = checked
            .warnings
            .iter()
            .cloned()
            .map(Problem::Check)
            .collect();
        build.warning_count = warnings.len();
        (build.warnings_terminal, build.warnings_plain) = self.render(&file, warnings);
        build.phases.push(("compile", start.elapsed()));
        let evaluated = self.evaluate(&checked);
        // The months without data are warnings of the build too.
        if let Ok(model) = &evaluated.model {
            if !model.warnings.is_empty() {
                let mut all: Vec<Problem> = checked
                    .warnings
                    .iter()
                    .cloned()
                    .map(Problem::Check)
                    .collect();
                all.extend(model.warnings.iter().cloned().map(Problem::Eval));
                build.warning_count = all.len();
                (build.warnings_terminal, build.warnings_plain) = self.render(&file, all);
            }
        }
        build.tables_read = evaluated.read;
        build.tables_cached = evaluated.cached;
        build.phases.push(("load", evaluated.loaded - start));
        build.phases.push(("evaluate", start.elapsed()));
        match evaluated.model {
            Ok(model) => {
                let html = crate::render::html_marked(&model);
                let (tips, unmapped) = page::tips(&model, &checked, &file);
                build.unmapped = unmapped;
                build.page = page::assemble(
                    &html,
                    &Decor {
                        version,
                        tips: Some(&tips),
                        ..Decor::default()
                    },
                );
                build.status = Status::Ok;
                build.has_good = true;
                self.last_good = Some(Good { model, html, tips });
            }
            Err(problems) => {
                let failing = failing_sections(&checked, &problems);
                self.set_errors(&mut build, &file, problems);
                let partial = match failing {
                    Some(f) => self.partial(&checked, &file, &f, version, &build),
                    None => None,
                };
                match partial {
                    Some((page, unmapped)) => {
                        build.page = page;
                        build.unmapped = unmapped;
                        build.status = Status::Partial;
                    }
                    None => return self.failed(build, start, version),
                }
            }
        }
        build.elapsed = start.elapsed();
        build.phases.push(("render", build.elapsed));
        build.phases = durations(&build.phases);
        build
    }

    /// The model of `checked` on the month's data, with explanations: read in blocks on
    /// every build when the data is large ([`Builder::streams`]), else evaluated on the
    /// tables kept between builds.
    fn evaluate(&mut self, checked: &Checked) -> Evaluated {
        let options = Options {
            with_report: true,
            explain: true,
        };
        // Several months are read as `render` reads them, month by month.
        if !self.period.is_month() || self.streams(checked) {
            let loaded = Instant::now();
            let model = eval::evaluate_period_in_blocks(
                checked,
                &self.data,
                self.period,
                options,
                crate::data::BLOCK_BYTES,
                &|_, _, _| {},
            );
            let read = checked.env.sources.len();
            return Evaluated {
                model,
                read,
                cached: 0,
                loaded,
            };
        }
        match self.load(checked) {
            Ok(tables) => {
                let warnings = tables.warnings;
                let commentary = eval::read_commentaries(checked, &self.data, self.period);
                let model = match commentary.and_then(|commentary| {
                    eval::evaluate_shared_with(
                        checked,
                        tables.tables,
                        commentary,
                        self.month,
                        options,
                    )
                }) {
                    Ok(mut model) => {
                        let mut all = warnings;
                        all.append(&mut model.warnings);
                        model.warnings = all;
                        Ok(model)
                    }
                    Err(mut problems) => {
                        problems.extend(warnings.into_iter().map(Problem::Eval));
                        Err(problems)
                    }
                };
                Evaluated {
                    read: tables.read,
                    cached: tables.cached,
                    loaded: Instant::now(),
                    model,
                }
            }
            Err(problems) => Evaluated {
                model: Err(problems),
                read: 0,
                cached: 0,
                loaded: Instant::now(),
            },
        }
    }

    /// Loads every source, through the cache; like [`eval::load`].
    fn load(&mut self, checked: &Checked) -> Result<Loaded, Vec<Problem>> {
        let env = &checked.env;
        let mut loaded = Loaded {
            tables: Vec::new(),
            read: 0,
            cached: 0,
            warnings: Vec::new(),
        };
        let mut problems = Vec::new();
        for source in &env.sources {
            let path = match eval::source_path(checked, &self.data, self.month, source) {
                Ok(path) => path,
                // Another month, for a comparison: no rows, and a warning.
                Err(eval::EvalError::MissingMonth { month, path, .. })
                    if source.shift.is_some() =>
                {
                    loaded.warnings.push(eval::EvalError::MissingShiftedMonth {
                        name: source.name.clone(),
                        shift: source.shift.map_or("", |s| s.words()).to_string(),
                        month,
                        path,
                    });
                    loaded.tables.push(Arc::new(Table::empty(
                        self.data.join(&source.file.path.value),
                        &source.columns,
                    )));
                    continue;
                }
                Err(missing) => {
                    problems.push(Problem::Eval(missing));
                    continue;
                }
            };
            let format = crate::eval::file_format(source);
            let reading = reading_hash(&format, &source.columns, &env.unit_lookup, env.fingerprint);
            match self.cache.get(
                &path,
                &format,
                &source.columns,
                env,
                env.fingerprint,
                reading,
            ) {
                Ok((table, origin)) => {
                    match origin {
                        Origin::Cached => loaded.cached += 1,
                        Origin::Read => loaded.read += 1,
                    }
                    loaded.tables.push(table);
                }
                Err(e) => problems.push(Problem::Data(e)),
            }
        }
        if problems.is_empty() {
            Ok(loaded)
        } else {
            Err(problems)
        }
    }

    /// Evaluates again with the failing sections replaced by placeholders, and renders the
    /// fresh sections with each failing one showing its last good output.
    fn partial(
        &mut self,
        checked: &Checked,
        file: &SourceFile,
        failing: &Failing,
        version: u64,
        build: &Build,
    ) -> Option<(Page, Vec<String>)> {
        let mut patched = checked.clone();
        let mut index = 0;
        for item in &mut patched.policy.items {
            let Item::Report(report) = item else { continue };
            if failing.title {
                report.title = None;
            }
            for section in &mut report.sections {
                if failing.sections.contains(&index) {
                    *section = Section::Text(Str {
                        value: marker(index),
                        span: section_span(section),
                    });
                }
                index += 1;
            }
        }
        let model = self.evaluate(&patched).model.ok()?;
        let mut html = crate::render::html_marked(&model);
        let last_good = self
            .last_good
            .as_ref()
            .filter(|g| g.model.sections.len() == index);
        for &i in &failing.sections {
            let previous = last_good.and_then(|g| page::section_html(&g.model, i));
            let label = if previous.is_some() {
                "此段有错误（见下方诊断），显示的是上一次成功的结果"
            } else {
                "此段有错误（见下方诊断），还没有成功的结果"
            };
            html = html.replace(
                &format!("<p>{}</p>\n", marker(i)),
                &page::failed_section(label, previous.as_deref()),
            );
        }
        let (tips, unmapped) = page::tips(&model, checked, file);
        let heading = format!(
            "{} 个错误：部分段落未能生成，其余段落是最新结果",
            build.error_count
        );
        let page = page::assemble(
            &html,
            &Decor {
                version,
                banner: None,
                diagnostics: Some((&heading, &build.errors_plain)),
                tips: Some(&tips),
            },
        );
        Some((page, unmapped))
    }

    fn failed(&self, mut build: Build, start: Instant, version: u64) -> Build {
        build.status = Status::Failed;
        let heading = format!("{} 个错误", build.error_count);
        let diagnostics = Some((heading.as_str(), build.errors_plain.as_str()));
        build.page = match &self.last_good {
            Some(good) => {
                build.stale = true;
                page::assemble(
                    &good.html,
                    &Decor {
                        version,
                        banner: Some(page::STALE_BANNER),
                        diagnostics,
                        tips: Some(&good.tips),
                    },
                )
            }
            None => page::diagnostics_only(&Decor {
                version,
                diagnostics,
                ..Decor::default()
            }),
        };
        build.elapsed = start.elapsed();
        build.phases = durations(&build.phases);
        build
    }

    fn set_errors(&self, build: &mut Build, file: &SourceFile, problems: Vec<Problem>) {
        build.error_count = problems.iter().filter(|p| !p.is_warning()).count();
        (build.errors_terminal, build.errors_plain) = self.render(file, problems);
    }

    /// Renders problems for the terminal and, without colour, for the page.
    fn render(&self, file: &SourceFile, problems: Vec<Problem>) -> (String, String) {
        let terminal: String = problems
            .into_iter()
            .map(|p| crate::render_diagnostic(file, p, self.color))
            .collect();
        let plain = page::strip_ansi(&terminal);
        (terminal, plain)
    }
}

/// Phase durations from the times at which phases ended.
fn durations(ends: &[(&'static str, Duration)]) -> Vec<(&'static str, Duration)> {
    let mut before = Duration::ZERO;
    ends.iter()
        .map(|&(name, end)| {
            let d = end.saturating_sub(before);
            before = end;
            (name, d)
        })
        .collect()
}

/// The report sections (numbered across reports) and whether the title failed.
#[derive(Debug, Default, PartialEq)]
struct Failing {
    sections: Vec<usize>,
    title: bool,
}

fn section_span(section: &Section) -> Span {
    match section {
        Section::Heading(s) | Section::Text(s) => s.span,
        Section::Table(t) => t.span,
        Section::Chart(c) => c.span,
    }
}

/// When every problem is an evaluation error inside a report section (or title), which
/// sections; `None` when any problem lies elsewhere (the values themselves failed).
fn failing_sections(checked: &Checked, problems: &[Problem]) -> Option<Failing> {
    let mut spans = Vec::new();
    let mut titles = Vec::new();
    for item in &checked.policy.items {
        let Item::Report(report) = item else { continue };
        if let Some(t) = &report.title {
            titles.push(t.span);
        }
        spans.extend(report.sections.iter().map(section_span));
    }
    let inside = |outer: &Span, start: usize, end: usize| outer.start <= start && end <= outer.end;
    let mut failing = Failing::default();
    for problem in problems {
        if !matches!(problem, Problem::Eval(_)) {
            return None;
        }
        let labels: Vec<(usize, usize)> = problem
            .labels()?
            .map(|l| (l.offset(), l.offset() + l.len()))
            .collect();
        let (start, end) = *labels.first()?;
        if let Some(i) = spans.iter().position(|s| inside(s, start, end)) {
            if !failing.sections.contains(&i) {
                failing.sections.push(i);
            }
        } else if titles.iter().any(|s| inside(s, start, end)) {
            failing.title = true;
        } else {
            return None;
        }
    }
    failing.sections.sort_unstable();
    Some(failing)
}

/// The test file next to a policy: `x.test.policy` for `x.policy`.
pub(crate) fn test_file(policy: &Path) -> Option<PathBuf> {
    let name = policy.file_name()?.to_str()?;
    let stem = name.strip_suffix(".policy")?;
    if stem.ends_with(".test") {
        return None;
    }
    Some(policy.with_file_name(format!("{stem}.test.policy")))
}
