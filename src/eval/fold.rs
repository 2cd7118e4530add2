//! Streaming evaluation of the metrics that read a CSV source.
//!
//! A CSV file is read in blocks of whole records ([`csv::CsvReader`]). Worker
//! threads type each block and fold it into one aggregate per aggregate call of
//! each metric and group, with the same code that evaluates a whole table; the
//! main thread merges the blocks' aggregates in file order. Memory is bounded by
//! the blocks in flight, not by the size of the file, and only the columns the
//! metrics read are kept (every declared column is still checked).
//!
//! Folding is exact: counts and exact decimal sums add, tallies add, and the
//! first of equal extremes stays, so a merged aggregate is the one that pushing
//! the rows one by one gives (tested against whole-table evaluation).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::{Aggregate, DataTable, Evaluator, Frame, Key, Resolver, EMPTY_KEY_LINES, R};
use crate::ast::{Expr, ExprKind, Item, Metric};
use crate::check::{Checked, DefKind, Env};
use crate::data::csv::{Block, BlockRows, CsvReader};
use crate::data::{ColumnSpec, Encoding, LoadError};
use crate::span::Span;
use crate::Problem;

/// Folded aggregates of one group, by the span of their call in the policy.
pub(super) type CallAggregates = HashMap<(usize, usize), Aggregate>;

/// A metric's aggregates over a streamed source.
#[derive(Debug, Default)]
pub(super) struct FoldedMetric {
    /// Without `by`: the aggregates over all rows.
    pub whole: CallAggregates,
    /// With `by`: the aggregates per key.
    pub groups: BTreeMap<Key, CallAggregates>,
    /// Rows whose key is empty (an error), and the first lines of them.
    pub empty_keys: usize,
    pub empty_lines: Vec<u64>,
    /// The file, for messages.
    pub file: String,
}

/// A streamed source: its metrics' aggregates and the facts about its file.
pub(super) struct FoldedSource {
    pub metrics: HashMap<String, FoldedMetric>,
    pub rows: usize,
    /// The file's path, encoding and hash, without rows.
    pub table: DataTable,
}

/// How many worker threads fold blocks: the machine's cores, or
/// `HOTLINE_THREADS` when set (for measurements).
fn workers() -> usize {
    std::env::var("HOTLINE_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 16)
}

/// The source a source or view name reads.
fn source_of(env: &Env, name: &str) -> Option<usize> {
    match env.defs.get(name).map(|d| &d.kind) {
        Some(DefKind::Source(s)) => Some(*s),
        Some(DefKind::View { source, .. }) => Some(*source),
        _ => None,
    }
}

/// The metrics that read `source`, directly or through a view.
fn metrics_of(checked: &Checked, source: usize) -> Vec<&Metric> {
    checked
        .policy
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Metric(m) => Some(m),
            _ => None,
        })
        .filter(|m| {
            m.from
                .as_ref()
                .is_some_and(|f| source_of(&checked.env, &f.source.name) == Some(source))
        })
        .collect()
}

/// The sub-expressions of an expression.
fn children(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::Member(target, _) => vec![target],
        ExprKind::Call { args, filter, .. } => args.iter().chain(filter.as_deref()).collect(),
        ExprKind::Unary(_, inner) => vec![inner],
        ExprKind::Binary(_, l, r) => vec![l, r],
        ExprKind::LabelMap(target, entries) => std::iter::once(&**target)
            .chain(entries.iter().map(|(_, v)| v))
            .collect(),
        ExprKind::IsEmpty { expr, .. } => vec![expr],
        ExprKind::Name(_)
        | ExprKind::Number(_)
        | ExprKind::Percent(_)
        | ExprKind::Duration(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_) => Vec::new(),
    }
}

/// Every name an expression mentions.
fn names(expr: &Expr, out: &mut HashSet<String>) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        if let ExprKind::Name(n) = &e.kind {
            out.insert(n.name.clone());
        }
        stack.extend(children(e));
    }
}

/// Which declared columns of `source` the metrics read (by any mention of the
/// name, in a formula, a filter, a view or `by`); the others are only checked.
fn kept_columns(checked: &Checked, source: usize, metrics: &[&Metric]) -> Vec<bool> {
    let env = &checked.env;
    let mut used = HashSet::new();
    for m in metrics {
        names(&m.expr, &mut used);
        if let Some(by) = &m.by {
            used.insert(by.name.clone());
        }
        let Some(from) = &m.from else { continue };
        if let Some(filter) = &from.filter {
            names(filter, &mut used);
        }
        if let Some(DefKind::View { items, .. }) = env.defs.get(&from.source.name).map(|d| &d.kind)
        {
            for i in items {
                if let Some(Item::View(v)) = checked.policy.items.get(*i) {
                    names(&v.filter, &mut used);
                }
            }
        }
    }
    env.sources.get(source).map_or_else(Vec::new, |s| {
        s.columns.iter().map(|c| used.contains(&c.name)).collect()
    })
}

/// The aggregate calls of a metric's formula (`round` and `abs` are evaluated
/// on the group's values, so the calls inside them are looked for).
fn call_sites<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Call { func, .. }
                if crate::check::AGGREGATES.contains(&func.name.as_str()) =>
            {
                out.push(e);
            }
            _ => stack.extend(children(e)),
        }
    }
}

/// One group's aggregates over `rows` of the table.
fn aggregate_calls(
    evaluator: &Evaluator<'_>,
    sites: &[&Expr],
    frame: &Frame<'_>,
) -> R<CallAggregates> {
    let mut out = CallAggregates::new();
    for site in sites {
        let ExprKind::Call { func, args, filter } = &site.kind else {
            continue;
        };
        let acc = evaluator.collect(&func.name, args, filter.as_deref(), frame, site.span)?;
        out.insert((site.span.start, site.span.end), acc);
    }
    Ok(out)
}

/// Folds the rows of one block into per-metric aggregates.
fn fold_rows(
    checked: &Checked,
    source: usize,
    table: DataTable,
    metrics: &[&Metric],
) -> R<HashMap<String, FoldedMetric>> {
    let env = &checked.env;
    let file = table.path.display().to_string();
    let mut tables: Vec<DataTable> = env
        .sources
        .iter()
        .map(|_| DataTable {
            path: Default::default(),
            columns: Vec::new(),
            lines: Vec::new(),
            encoding: None,
            hash: None,
        })
        .collect();
    if let Some(slot) = tables.get_mut(source) {
        *slot = table;
    }
    let evaluator = Evaluator::new(checked, tables.into_iter().map(Arc::new).collect(), false);
    let mut out = HashMap::new();
    // Metrics grouping the same rows by the same field share one split.
    type Split = std::rc::Rc<(BTreeMap<Key, Vec<usize>>, Vec<usize>)>;
    let mut splits: HashMap<(&str, &str), Split> = HashMap::new();
    for metric in metrics {
        let Some(from) = &metric.from else { continue };
        let mut sites = Vec::new();
        call_sites(&metric.expr, &mut sites);
        let (src, rows) = evaluator.rows(&from.source.name, from.filter.as_ref())?;
        let Some(table) = evaluator.tables.get(src) else {
            continue;
        };
        let mut folded = FoldedMetric {
            file: file.clone(),
            ..Default::default()
        };
        match &metric.by {
            None => {
                let frame = Frame::Group {
                    table,
                    source: src,
                    rows: &rows,
                    key: None,
                    by: None,
                };
                folded.whole = aggregate_calls(&evaluator, &sites, &frame)?;
            }
            Some(by) => {
                let cache_key = (from.source.name.as_str(), by.name.as_str());
                let split = match splits.get(&cache_key) {
                    Some(split) if from.filter.is_none() => split.clone(),
                    _ => {
                        let split = Split::new(evaluator.split(table, src, &rows, by));
                        if from.filter.is_none() {
                            splits.insert(cache_key, split.clone());
                        }
                        split
                    }
                };
                let (groups, empty) = &*split;
                folded.empty_keys = empty.len();
                folded.empty_lines = empty
                    .iter()
                    .take(EMPTY_KEY_LINES)
                    .filter_map(|r| table.lines.get(*r).copied())
                    .collect();
                for (key, group_rows) in groups {
                    let frame = Frame::Group {
                        table,
                        source: src,
                        rows: group_rows,
                        key: Some(key),
                        by: Some(&by.name),
                    };
                    let aggregates = aggregate_calls(&evaluator, &sites, &frame)?;
                    folded.groups.insert(key.clone(), aggregates);
                }
            }
        }
        out.insert(metric.name.name.clone(), folded);
    }
    Ok(out)
}

/// Adds the aggregates of a later block.
fn merge_calls(into: &mut CallAggregates, later: CallAggregates) -> R<()> {
    for (site, acc) in later {
        match into.get_mut(&site) {
            Some(mine) => mine.merge(acc, Span::new(site.0, site.1))?,
            None => {
                into.insert(site, acc);
            }
        }
    }
    Ok(())
}

fn merge(into: &mut HashMap<String, FoldedMetric>, later: HashMap<String, FoldedMetric>) -> R<()> {
    for (name, block) in later {
        let mine = into.entry(name).or_insert_with(|| FoldedMetric {
            file: block.file.clone(),
            ..Default::default()
        });
        merge_calls(&mut mine.whole, block.whole)?;
        for (key, calls) in block.groups {
            merge_calls(mine.groups.entry(key).or_default(), calls)?;
        }
        let room = EMPTY_KEY_LINES.saturating_sub(mine.empty_lines.len());
        mine.empty_lines
            .extend(block.empty_lines.into_iter().take(room));
        mine.empty_keys += block.empty_keys;
    }
    Ok(())
}

/// What a block gives: its aggregates and rows, or what went wrong.
type BlockResult = Result<
    (
        HashMap<String, FoldedMetric>,
        usize,
        crate::data::CellErrors,
    ),
    Box<Problem>,
>;

/// Types and folds one block's records.
fn fold_block(
    checked: &Checked,
    source: usize,
    path: &Path,
    rows: BlockRows,
    metrics: &[&Metric],
) -> BlockResult {
    let count = rows.lines.len();
    let table = DataTable {
        path: path.to_path_buf(),
        columns: rows.columns,
        lines: rows.lines,
        encoding: None,
        hash: None,
    };
    let folded =
        fold_rows(checked, source, table, metrics).map_err(|e| Box::new(Problem::Eval(e)))?;
    Ok((folded, count, rows.errors))
}

/// Reads, checks and folds a CSV source in one pass, on all cores.
pub(super) fn fold_source(
    checked: &Checked,
    source: usize,
    path: &Path,
    declared: Option<Encoding>,
    block_bytes: usize,
    progress: super::Progress<'_>,
) -> Result<FoldedSource, Box<Problem>> {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let env = &checked.env;
    let specs: &[ColumnSpec] = env
        .sources
        .get(source)
        .map(|s| s.columns.as_slice())
        .unwrap_or_default();
    let metrics = metrics_of(checked, source);
    let keep = kept_columns(checked, source, &metrics);
    let resolver = Resolver(env);
    let mut reader = CsvReader::open(path, declared, specs, &keep, &resolver, block_bytes)
        .map_err(|e| Box::new(Problem::Data(e)))?;
    let first = reader.first.take();
    let mut merged: HashMap<String, FoldedMetric> = HashMap::new();
    let mut rows = 0usize;
    let mut errors = crate::data::CellErrors::default();
    if let Some(first) = first {
        let (folded, n, e) = fold_block(checked, source, path, first, &metrics)?;
        merge(&mut merged, folded).map_err(|e| Box::new(Problem::Eval(e)))?;
        rows += n;
        errors.absorb(e);
    }
    let parser = reader.parser();
    progress(path, reader.bytes_read(), size);
    let second = reader
        .next_block()
        .map_err(|e| Box::new(Problem::Data(e)))?;
    if let Some(second) = second {
        let workers = workers();
        let (job_tx, job_rx) = mpsc::sync_channel::<Block>(workers);
        let jobs = Mutex::new(job_rx);
        let (done_tx, done_rx) = mpsc::channel::<(usize, BlockResult)>();
        let outcome: Result<(), Box<Problem>> = std::thread::scope(|scope| {
            for _ in 0..workers {
                let done_tx = done_tx.clone();
                let (jobs, parser, metrics, keep, resolver) =
                    (&jobs, &parser, &metrics, &keep, &resolver);
                scope.spawn(move || loop {
                    let next = jobs.lock().map(|rx| rx.recv());
                    let Ok(Ok(block)) = next else { return };
                    let result = parser
                        .parse(&block, specs, keep, resolver)
                        .map_err(|e| Box::new(Problem::Data(e)))
                        .and_then(|rows| fold_block(checked, source, path, rows, metrics));
                    if done_tx.send((block.index, result)).is_err() {
                        return;
                    }
                });
            }
            drop(done_tx);
            // Blocks are merged in file order; later ones wait here.
            let mut waiting: BTreeMap<usize, BlockResult> = BTreeMap::new();
            let mut next = 1usize;
            let mut failed: Option<Box<Problem>> = None;
            let mut absorb = |index: usize,
                              result: BlockResult,
                              waiting: &mut BTreeMap<usize, BlockResult>,
                              next: &mut usize,
                              failed: &mut Option<Box<Problem>>| {
                waiting.insert(index, result);
                while let Some(result) = waiting.remove(next) {
                    *next += 1;
                    if failed.is_some() {
                        continue;
                    }
                    match result {
                        Ok((folded, n, e)) => {
                            rows += n;
                            errors.absorb(e);
                            if let Err(e) = merge(&mut merged, folded) {
                                *failed = Some(Box::new(Problem::Eval(e)));
                            }
                        }
                        Err(problem) => *failed = Some(problem),
                    }
                }
            };
            let mut block = Some(second);
            while let Some(b) = block.take() {
                if job_tx.send(b).is_err() {
                    break;
                }
                while let Ok((index, result)) = done_rx.try_recv() {
                    absorb(index, result, &mut waiting, &mut next, &mut failed);
                }
                if failed.is_some() {
                    break;
                }
                progress(path, reader.bytes_read(), size);
                match reader.next_block() {
                    Ok(b) => block = b,
                    Err(e) => {
                        failed = Some(Box::new(Problem::Data(e)));
                        break;
                    }
                }
            }
            drop(job_tx);
            for (index, result) in done_rx.iter() {
                absorb(index, result, &mut waiting, &mut next, &mut failed);
            }
            match failed {
                Some(problem) => Err(problem),
                None => Ok(()),
            }
        });
        outcome?;
    }
    if errors.total > 0 {
        return Err(Box::new(Problem::Data(LoadError::BadCells {
            path: path.to_path_buf(),
            errors: errors.kept,
            total: errors.total,
        })));
    }
    let table = DataTable {
        path: path.to_path_buf(),
        columns: Vec::new(),
        lines: Vec::new(),
        encoding: Some(reader.layout.encoding),
        hash: Some(reader.hash()),
    };
    Ok(FoldedSource {
        metrics: merged,
        rows,
        table,
    })
}
