//! Streaming evaluation of the metrics that read a CSV source.
//!
//! A CSV file is read in blocks of whole records
//! ([`crate::data::csv::CsvReader`]), about two per core for a small file and
//! 2 MB for a large one. One worker per core (this thread among them) takes the
//! next block of the largest file that has blocks left, types it and folds it
//! into one aggregate per aggregate call of each metric and group, with the
//! same code that evaluates a whole table; the blocks' aggregates are merged in file order, whichever worker ends
//! first. All the files of a month are read by the same workers, so two months'
//! tickets share the cores instead of each taking one. Memory is bounded by a
//! block per worker, not by the size of the files, and only the columns the
//! metrics read are kept (every declared column is still checked).
//!
//! Folding is exact: counts and exact decimal sums add, tallies add, and the
//! first of equal extremes stays, so a merged aggregate is the one that pushing
//! the rows one by one gives (tested against whole-table evaluation).

use foldhash::{HashMap, HashSet};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::{Aggregate, DataTable, Evaluator, Frame, Key, Resolver, EMPTY_KEY_LINES, R};
use crate::ast::{Expr, ExprKind, Item, Metric};
use crate::check::{Checked, DefKind, Env};
use crate::data::csv::{Block, BlockParser, BlockRows, CsvReader, MIN_BLOCK_BYTES};
use crate::data::digest::FileHasher;
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
pub(super) fn source_of(env: &Env, name: &str) -> Option<usize> {
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
        ExprKind::Unary(_, inner) | ExprKind::EachMonth(inner) => vec![inner],
        ExprKind::Binary(_, l, r) => vec![l, r],
        ExprKind::LabelMap(target, entries) => std::iter::once(&**target)
            .chain(entries.iter().map(|(_, v)| v))
            .collect(),
        ExprKind::IsEmpty { expr, .. } => vec![expr],
        ExprKind::Name(_)
        | ExprKind::Number(_)
        | ExprKind::Percent(_)
        | ExprKind::Duration(_)
        | ExprKind::Date(_)
        | ExprKind::DateTime(_)
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
    let mut used = HashSet::default();
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
            ExprKind::Call { func, args, .. }
                if crate::check::is_aggregate(&func.name, args.len()) =>
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
    let mut out = CallAggregates::default();
    for site in sites {
        let ExprKind::Call { func, args, filter } = &site.kind else {
            continue;
        };
        let acc = evaluator.collect(&func.name, args, filter.as_deref(), frame, site.span)?;
        out.insert((site.span.start, site.span.end), acc);
    }
    Ok(out)
}

/// A block's rows split by the value of a metric's `by` field.
struct Split {
    groups: BTreeMap<Key, Vec<usize>>,
    /// The rows whose key is empty.
    empty: Vec<usize>,
    /// Each row's group, by its place in `groups` ([`Split::NO_GROUP`]: none).
    group_of: Vec<u32>,
}

impl Split {
    const NO_GROUP: u32 = u32::MAX;

    fn new((groups, empty): (BTreeMap<Key, Vec<usize>>, Vec<usize>), rows: usize) -> Self {
        let mut group_of = vec![Self::NO_GROUP; rows];
        for (g, group_rows) in groups.values().enumerate() {
            for &row in group_rows {
                if let Some(slot) = group_of.get_mut(row) {
                    *slot = u32::try_from(g).unwrap_or(Self::NO_GROUP);
                }
            }
        }
        Split {
            groups,
            empty,
            group_of,
        }
    }

    /// The group of `row`, if it has one.
    fn group(&self, row: usize) -> Option<usize> {
        match self.group_of.get(row) {
            Some(&g) if g != Self::NO_GROUP => Some(g as usize),
            _ => None,
        }
    }
}

/// Every group's aggregates (in the order of the split's groups), in one pass
/// over `rows` in file order: the same values pushed in the same order as
/// [`Evaluator::collect`] on each group's rows, but the block's columns are read
/// from start to end rather than group by group across the whole block, which
/// missed the cache on most cells of a large block.
fn aggregate_groups(
    evaluator: &Evaluator<'_>,
    sites: &[&Expr],
    table: &DataTable,
    source: usize,
    rows: &[usize],
    split: &Split,
) -> R<Vec<CallAggregates>> {
    let mut out: Vec<CallAggregates> = vec![CallAggregates::default(); split.groups.len()];
    for site in sites {
        let ExprKind::Call { func, args, filter } = &site.kind else {
            continue;
        };
        let mut accs: Vec<Aggregate> = split
            .groups
            .values()
            .map(|_| Aggregate::new(&func.name))
            .collect();
        evaluator.push_rows(
            args,
            filter.as_deref(),
            table,
            source,
            rows,
            &mut accs,
            |row| split.group(row),
            site.span,
        )?;
        for (aggregates, acc) in out.iter_mut().zip(accs) {
            aggregates.insert((site.span.start, site.span.end), acc);
        }
    }
    Ok(out)
}

/// Folds the rows of one block into per-metric aggregates.
fn fold_rows(
    checked: &Checked,
    when: super::When,
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
            absent: false,
        })
        .collect();
    if let Some(slot) = tables.get_mut(source) {
        *slot = table;
    }
    let evaluator =
        Evaluator::new(checked, tables.into_iter().map(Arc::new).collect(), false).at(when);
    let mut out = HashMap::default();
    // Metrics grouping the same rows by the same field share one split.
    let mut splits: HashMap<(&str, &str), std::rc::Rc<Split>> = HashMap::default();
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
                        let split = std::rc::Rc::new(Split::new(
                            evaluator.split(table, src, &rows, by),
                            table.len(),
                        ));
                        if from.filter.is_none() {
                            splits.insert(cache_key, split.clone());
                        }
                        split
                    }
                };
                folded.empty_keys = split.empty.len();
                folded.empty_lines = split
                    .empty
                    .iter()
                    .take(EMPTY_KEY_LINES)
                    .filter_map(|r| table.lines.get(*r).copied())
                    .collect();
                let per_group = aggregate_groups(&evaluator, &sites, table, src, &rows, &split)?;
                for (key, aggregates) in split.groups.keys().zip(per_group) {
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

pub(super) fn merge(
    into: &mut HashMap<String, FoldedMetric>,
    later: HashMap<String, FoldedMetric>,
) -> R<()> {
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
type BlockResult = Result<FoldedBlock, BlockProblem>;

/// A block's aggregates, typed as starting on line 1: the lines it names
/// (cell errors, rows with an empty key) are moved to the file's when it is
/// merged, in order ([`Merging::absorb`]).
struct FoldedBlock {
    metrics: HashMap<String, FoldedMetric>,
    rows: usize,
    errors: crate::data::CellErrors,
    /// The line after the block's, counted from 1.
    end_line: u64,
}

/// Why a block gave no aggregates.
enum BlockProblem {
    /// A problem that names no line of the block, or names the file's.
    Problem(Box<Problem>),
    /// The records do not type, and the problem names lines counted from 1:
    /// typed again once the block's first line is known, when it is merged.
    Untyped(Box<(Block, LoadError)>),
}

impl From<Box<Problem>> for BlockProblem {
    fn from(problem: Box<Problem>) -> Self {
        BlockProblem::Problem(problem)
    }
}

/// Folds one block's typed records.
fn fold_block(
    checked: &Checked,
    when: super::When,
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
        absent: false,
    };
    let metrics = fold_rows(checked, when, source, table, metrics)
        .map_err(|e| Box::new(Problem::Eval(*e)))?;
    Ok(FoldedBlock {
        metrics,
        rows: count,
        errors: rows.errors,
        end_line: rows.end_line,
    })
}

/// How a source is read.
pub(super) enum Plan {
    /// A CSV file, folded block by block.
    Csv { encoding: Option<Encoding> },
    /// Another file (XLSX, JSONL), loaded whole by one worker.
    Whole(crate::data::FileFormat),
}

/// What reading a source gave.
pub(super) enum Read {
    /// Loaded whole (XLSX, JSONL).
    Whole(DataTable),
    /// Folded block by block (CSV).
    Folded(FoldedSource),
}

pub(super) type ReadResult = Result<Read, Box<Problem>>;

/// A source being read by the workers.
struct Stream<'c> {
    /// Its place among the files read.
    slot: usize,
    source: usize,
    /// The file's month and the period, for `month_start` and `month_end` in row formulas.
    when: super::When,
    path: std::path::PathBuf,
    size: u64,
    work: Work<'c>,
}

enum Work<'c> {
    Whole {
        format: crate::data::FileFormat,
        taken: AtomicBool,
        done: Mutex<Option<Result<DataTable, Box<Problem>>>>,
    },
    Csv(Box<CsvStream<'c>>),
}

/// A CSV file read block by block by any worker: the blocks are read one at a
/// time, in file order, and typed and folded side by side; their aggregates
/// are merged in file order.
struct CsvStream<'c> {
    encoding: Option<Encoding>,
    /// The size of this file's blocks.
    block_bytes: usize,
    metrics: Vec<&'c Metric>,
    keep: Vec<bool>,
    reading: Mutex<Reading>,
    /// Set once the header is read: what the blocks after the first are typed with.
    parser: OnceLock<BlockParser>,
    merging: Mutex<Merging>,
    /// The file's digest for the footer, taken block by block in file order by
    /// the workers that read them, out of the reading lock.
    hash: OrderedHash,
}

/// A digest of blocks that different threads hold, taken in their order: the
/// holder of a block waits for its turn, which comes as soon as the holder of
/// the block before has hashed it. A worker hashes a block right after reading
/// it, with nothing in between that waits or fails, so every turn comes. The
/// next reader reads its block meanwhile: with the hash under the reading lock,
/// two workers on one file of 10M tickets waited 0.39–0.54 s for that lock; now
/// 0.24–0.28 s for the lock and their turns together.
#[derive(Default)]
struct OrderedHash {
    /// The index of the next block to hash and the hash so far.
    state: Mutex<(usize, Option<FileHasher>)>,
    turn: std::sync::Condvar,
}

impl OrderedHash {
    /// Starts after the blocks before `next`, hashed into `hasher`.
    fn start(&self, next: usize, hasher: FileHasher) {
        *lock(&self.state) = (next, Some(hasher));
        self.turn.notify_all();
    }

    /// Hashes block `index` once the blocks before it are.
    fn add(&self, index: usize, bytes: &[u8]) {
        let mut state = lock(&self.state);
        while state.0 != index {
            state = self
                .turn
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if let Some(hasher) = &mut state.1 {
            hasher.update(bytes);
        }
        state.0 += 1;
        drop(state);
        self.turn.notify_all();
    }

    /// The first 12 hex digits of the digest (`None` for `fingerprint none`);
    /// once every block is added.
    fn short(&self) -> Option<String> {
        lock(&self.state).1.as_ref().and_then(FileHasher::short)
    }
}

enum Reading {
    NotOpened,
    Open(Box<CsvReader>),
    /// At the end of the file (the reader, for its encoding), or failed.
    Finished(Option<Box<CsvReader>>),
}

/// The blocks' aggregates, merged in file order.
struct Merging {
    merged: HashMap<String, FoldedMetric>,
    rows: usize,
    errors: crate::data::CellErrors,
    /// Blocks done before an earlier one, by index.
    waiting: BTreeMap<usize, BlockResult>,
    next: usize,
    /// The line the next block starts on.
    next_line: u64,
    failed: Option<Box<Problem>>,
}

impl Default for Merging {
    fn default() -> Self {
        Merging {
            merged: HashMap::default(),
            rows: 0,
            errors: crate::data::CellErrors::default(),
            waiting: BTreeMap::new(),
            next: 0,
            next_line: 1,
            failed: None,
        }
    }
}

impl Merging {
    /// Takes block `index`'s result and merges every block now in order,
    /// moving the lines each names to the file's; `retype` types a block that
    /// did not type again from its line in the file, for its problem.
    fn absorb(
        &mut self,
        index: usize,
        result: BlockResult,
        retype: &dyn Fn(&Block, u64) -> Option<LoadError>,
    ) {
        self.waiting.insert(index, result);
        while let Some(result) = self.waiting.remove(&self.next) {
            self.next += 1;
            if self.failed.is_some() {
                continue;
            }
            match result {
                Ok(mut block) => {
                    // The block was typed as starting on line 1.
                    let shift = self.next_line - 1;
                    self.next_line += block.end_line - 1;
                    for error in &mut block.errors.kept {
                        error.line += shift;
                    }
                    for metric in block.metrics.values_mut() {
                        for line in &mut metric.empty_lines {
                            *line += shift;
                        }
                    }
                    self.rows += block.rows;
                    self.errors.absorb(block.errors);
                    if let Err(e) = merge(&mut self.merged, block.metrics) {
                        self.failed = Some(Box::new(Problem::Eval(*e)));
                    }
                }
                Err(BlockProblem::Problem(problem)) => self.failed = Some(problem),
                Err(BlockProblem::Untyped(untyped)) => {
                    let (block, problem) = *untyped;
                    // Typed the same, it fails the same, on the file's lines.
                    let problem = retype(&block, self.next_line).unwrap_or(problem);
                    self.failed = Some(Box::new(Problem::Data(problem)));
                }
            }
        }
    }
}

/// A unit of work a worker took.
enum Job {
    /// A block of a CSV stream: typed already (the first, typed with the header)
    /// or to be typed.
    Block {
        index: usize,
        rows: Result<BlockRows, Box<Problem>>,
    },
    Raw(Block),
    /// A file to load whole.
    Whole,
}

/// What a worker found in a stream.
enum Claim {
    Job(Job),
    /// Another worker holds the stream's reader.
    Busy,
    /// Nothing is left to take.
    Empty,
}

/// Locks a mutex; a worker only panics on a bug, and the panic is passed on
/// when the workers are joined, so a poisoned lock's data is still used.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<'c> Stream<'c> {
    /// Takes the next piece of work of this stream, if any is left. Without
    /// `wait`, a stream that another worker is reading from (or opening) gives
    /// [`Claim::Busy`] at once.
    fn claim(
        &self,
        checked: &'c Checked,
        largest_block: usize,
        advance: &(dyn Fn(&Path, u64) + Sync),
        wait: bool,
    ) -> Claim {
        let env = &checked.env;
        let specs: &[ColumnSpec] = env
            .sources
            .get(self.source)
            .map(|s| s.columns.as_slice())
            .unwrap_or_default();
        match &self.work {
            Work::Whole { taken, .. } => {
                if taken.swap(true, Ordering::AcqRel) {
                    Claim::Empty
                } else {
                    Claim::Job(Job::Whole)
                }
            }
            Work::Csv(csv) => {
                let mut reading = if wait {
                    lock(&csv.reading)
                } else {
                    match csv.reading.try_lock() {
                        Ok(guard) => guard,
                        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                        Err(std::sync::TryLockError::WouldBlock) => return Claim::Busy,
                    }
                };
                if lock(&csv.merging).failed.is_some() {
                    *reading = Reading::Finished(None);
                }
                match &mut *reading {
                    Reading::Finished(_) => Claim::Empty,
                    Reading::NotOpened => {
                        // The first block is typed under the lock: the header
                        // it holds is what the later blocks are typed with.
                        // An encoding that is not declared is detected on the
                        // first block: the largest, whatever the file's blocks.
                        let first_block = match csv.encoding {
                            Some(_) => csv.block_bytes,
                            None => largest_block,
                        };
                        let opened = CsvReader::open(
                            &self.path,
                            csv.encoding,
                            specs,
                            &csv.keep,
                            &Resolver(env),
                            first_block,
                            env.fingerprint,
                        );
                        match opened {
                            Ok(mut reader) => {
                                reader.set_block_bytes(csv.block_bytes);
                                // The first block is hashed; the workers hash the rest.
                                csv.hash.start(reader.blocks_read(), reader.hash_later());
                                let first = reader.first.take();
                                let _ = csv.parser.set(reader.parser());
                                advance(&self.path, reader.bytes_read());
                                *reading = Reading::Open(Box::new(reader));
                                Claim::Job(Job::Block {
                                    index: 0,
                                    rows: first.ok_or_else(|| {
                                        Box::new(Problem::Data(LoadError::Empty {
                                            path: self.path.clone(),
                                        }))
                                    }),
                                })
                            }
                            Err(e) => {
                                *reading = Reading::Finished(None);
                                Claim::Job(Job::Block {
                                    index: 0,
                                    rows: Err(Box::new(Problem::Data(e))),
                                })
                            }
                        }
                    }
                    Reading::Open(reader) => {
                        let index = reader.blocks_read();
                        let before = reader.bytes_read();
                        match reader.next_block() {
                            Ok(Some(block)) => {
                                advance(&self.path, reader.bytes_read().saturating_sub(before));
                                Claim::Job(Job::Raw(block))
                            }
                            Ok(None) => {
                                let done =
                                    std::mem::replace(&mut *reading, Reading::Finished(None));
                                if let Reading::Open(reader) = done {
                                    *reading = Reading::Finished(Some(reader));
                                }
                                Claim::Empty
                            }
                            Err(e) => {
                                *reading = Reading::Finished(None);
                                Claim::Job(Job::Block {
                                    index,
                                    rows: Err(Box::new(Problem::Data(e))),
                                })
                            }
                        }
                    }
                }
            }
        }
    }

    /// Does a piece of work this stream gave: loads a whole file, or types (if
    /// not yet) and folds a block and merges what is in order.
    fn run(&self, checked: &Checked, job: Job) {
        let specs: &[ColumnSpec] = checked
            .env
            .sources
            .get(self.source)
            .map(|s| s.columns.as_slice())
            .unwrap_or_default();
        let csv = match &self.work {
            Work::Whole { format, done, .. } => {
                let resolver = Resolver(&checked.env);
                let table = crate::data::load_table_with_fingerprint(
                    &self.path,
                    format,
                    specs,
                    &resolver,
                    checked.env.fingerprint,
                )
                .map_err(|e| Box::new(Problem::Data(e)));
                *lock(done) = Some(table);
                return;
            }
            Work::Csv(csv) => csv,
        };
        let units = Resolver(&checked.env);
        let (index, rows) = match job {
            // Only a whole file's stream gives this job.
            Job::Whole => return,
            // The first block, typed from the file's first line.
            Job::Block { index, rows } => (index, rows.map_err(BlockProblem::Problem)),
            Job::Raw(block) => {
                let index = block.index;
                csv.hash.add(index, &block.bytes);
                // Its first line is not known yet: typed as starting on line 1.
                let rows = match csv.parser.get() {
                    Some(parser) => match parser.parse(&block, 1, specs, &csv.keep, &units) {
                        Ok(rows) => Ok(rows),
                        Err(problem) => Err(BlockProblem::Untyped(Box::new((block, problem)))),
                    },
                    // Not reached: a block after the first is read once the header is.
                    None => Err(BlockProblem::Problem(Box::new(Problem::Data(
                        LoadError::Empty {
                            path: self.path.clone(),
                        },
                    )))),
                };
                (index, rows)
            }
        };
        let result = rows.and_then(|rows| {
            fold_block(
                checked,
                self.when,
                self.source,
                &self.path,
                rows,
                &csv.metrics,
            )
        });
        let retype = |block: &Block, line: u64| {
            let parser = csv.parser.get()?;
            parser.parse(block, line, specs, &csv.keep, &units).err()
        };
        lock(&csv.merging).absorb(index, result, &retype);
    }

    /// What the stream gave, once every worker is done.
    fn finish(self) -> ReadResult {
        match self.work {
            Work::Whole { done, .. } => {
                let done = done
                    .into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match done {
                    Some(result) => result.map(Read::Whole),
                    None => Err(Box::new(Problem::Data(LoadError::Empty {
                        path: self.path,
                    }))),
                }
            }
            Work::Csv(csv) => {
                let merging = csv
                    .merging
                    .into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(problem) = merging.failed {
                    return Err(problem);
                }
                if merging.errors.total > 0 {
                    return Err(Box::new(Problem::Data(LoadError::BadCells {
                        path: self.path,
                        errors: merging.errors.kept,
                        total: merging.errors.total,
                    })));
                }
                let reading = csv
                    .reading
                    .into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let Reading::Finished(Some(reader)) = reading else {
                    return Err(Box::new(Problem::Data(LoadError::Empty {
                        path: self.path,
                    })));
                };
                let table = DataTable {
                    path: self.path,
                    columns: Vec::new(),
                    lines: Vec::new(),
                    encoding: Some(reader.layout.encoding),
                    hash: csv.hash.short(),
                    absent: false,
                };
                Ok(Read::Folded(FoldedSource {
                    metrics: merging.merged,
                    rows: merging.rows,
                    table,
                }))
            }
        }
    }
}

/// The block size for CSV files of `size` bytes in all: about two blocks per
/// worker, so that the cores share small files, but at least [`MIN_BLOCK_BYTES`]
/// (each block costs a fold and a merge) and at most `largest`.
fn block_size(size: u64, largest: usize, workers: usize) -> usize {
    let share = size / (2 * workers.max(1) as u64);
    usize::try_from(share)
        .unwrap_or(usize::MAX)
        .max(MIN_BLOCK_BYTES)
        .min(largest)
}

/// Reads the sources on all cores: CSV files block by block, folded into their
/// metrics' aggregates, other files whole. The workers (the machine's cores,
/// this thread among them) take blocks from the largest file first, so the
/// files are read side by side and the last worker ends soon after the first.
/// The CSV files together are cut into about two blocks per worker, of at most
/// `largest_block` bytes. Memory is bounded by a block or two per worker, whatever
/// the size of the files. Gives each source's result, in the order of `sources`.
pub(super) fn read_sources(
    checked: &Checked,
    period: Option<super::Period>,
    sources: Vec<(usize, Option<super::Month>, std::path::PathBuf, Plan)>,
    largest_block: usize,
    progress: super::Progress<'_>,
) -> Vec<(usize, ReadResult)> {
    let workers = workers();
    crate::data::spare::keep_freed_memory();
    let sized: Vec<_> = sources
        .into_iter()
        .enumerate()
        .map(|(slot, (source, month, path, plan))| {
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            (slot, source, month, path, plan, size)
        })
        .collect();
    // The blocks are sized on all the CSV files together: the workers share
    // the files, so two files on two cores need not be cut as small as one.
    let csv_bytes: u64 = sized
        .iter()
        .filter(|(_, _, _, _, plan, _)| matches!(plan, Plan::Csv { .. }))
        .map(|(_, _, _, _, _, size)| size)
        .sum();
    let mut streams: Vec<Stream<'_>> = sized
        .into_iter()
        .map(|(slot, source, month, path, plan, size)| {
            let work = match plan {
                Plan::Whole(format) => Work::Whole {
                    format,
                    taken: AtomicBool::new(false),
                    done: Mutex::new(None),
                },
                Plan::Csv { encoding } => {
                    let metrics = metrics_of(checked, source);
                    let keep = kept_columns(checked, source, &metrics);
                    Work::Csv(Box::new(CsvStream {
                        encoding,
                        block_bytes: block_size(csv_bytes, largest_block, workers),
                        metrics,
                        keep,
                        reading: Mutex::new(Reading::NotOpened),
                        parser: OnceLock::new(),
                        merging: Mutex::new(Merging::default()),
                        hash: OrderedHash::default(),
                    }))
                }
            };
            Stream {
                slot,
                source,
                when: super::When { month, period },
                path,
                size,
                work,
            }
        })
        .collect();
    // Largest first; equal sizes in the order given.
    streams.sort_by_key(|s| (std::cmp::Reverse(s.size), s.slot));
    // Progress is of all the CSV files together (the workers read from several at
    // once), told in order under a lock so that it never goes back.
    let total: u64 = streams
        .iter()
        .filter(|s| matches!(s.work, Work::Csv(_)))
        .map(|s| s.size)
        .sum();
    let read = Mutex::new(0u64);
    let advance = |path: &Path, bytes: u64| {
        let mut read = lock(&read);
        *read += bytes;
        progress(path, *read, total);
    };
    // A worker takes work from the first stream that has some and is free; when
    // the only work left is in streams another worker is reading, it waits for
    // the first of them.
    let worker = |streams: &[Stream<'_>]| 'work: loop {
        let mut busy = None;
        for stream in streams {
            match stream.claim(checked, largest_block, &advance, false) {
                Claim::Job(job) => {
                    stream.run(checked, job);
                    continue 'work;
                }
                Claim::Busy => busy = busy.or(Some(stream)),
                Claim::Empty => {}
            }
        }
        let Some(stream) = busy else { return };
        if let Claim::Job(job) = stream.claim(checked, largest_block, &advance, true) {
            stream.run(checked, job);
        }
    };
    // This thread may be long-lived (the watch's): it keeps no block buffers.
    let release = crate::data::spare::ReleaseOnDrop;
    let helpers = workers.saturating_sub(1);
    std::thread::scope(|scope| {
        let (streams, worker) = (&streams, &worker);
        for _ in 0..helpers {
            scope.spawn(move || worker(streams));
        }
        worker(streams);
    });
    drop(release);
    let mut results: Vec<(usize, ReadResult)> =
        streams.into_iter().map(|s| (s.slot, s.finish())).collect();
    results.sort_by_key(|(slot, _)| *slot);
    results
}

#[cfg(test)]
mod tests {
    use super::{block_size, Aggregate, Evaluator, OrderedHash, MIN_BLOCK_BYTES};
    use crate::ast::{ExprKind, FingerprintKind, Item};
    use crate::data::digest::FileHasher;
    use crate::data::BLOCK_BYTES;
    use std::sync::Arc;

    /// Blocks hashed by four threads, each taking every fourth block and
    /// waiting for its turn, give the digest of the blocks one after the other,
    /// the first block hashed before the threads start; in either hash.
    #[test]
    fn blocks_are_hashed_in_their_order_whatever_thread_holds_them() {
        for kind in [FingerprintKind::Sha256, FingerprintKind::Blake3] {
            blocks_hashed_in_order(kind);
        }
    }

    fn blocks_hashed_in_order(kind: FingerprintKind) {
        let mut random = crate::data::test_random(3);
        let blocks: Vec<Vec<u8>> = (0..200)
            .map(|i| (0..1 + random(40)).map(|j| (i * 7 + j) as u8).collect())
            .collect();
        let whole: Vec<u8> = blocks.concat();
        let expected = crate::data::digest::short_digest(kind, &whole);
        let mut first = FileHasher::new(kind);
        first.update(&blocks[0]);
        let hash = OrderedHash::default();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (hash, blocks) = (&hash, &blocks);
                scope.spawn(move || {
                    for (index, block) in blocks.iter().enumerate().skip(1) {
                        if index % 4 == t {
                            hash.add(index, block);
                        }
                    }
                });
            }
            // The threads wait until the hash starts after the first block.
            std::thread::sleep(std::time::Duration::from_millis(20));
            hash.start(1, first);
        });
        assert_eq!(hash.short(), expected, "{kind:?}");
    }

    /// `mode`, `mode_count` and `top` of a text field, taken in bulk by
    /// `push_rows`, are what pushing every row's value gives, group by group.
    #[test]
    fn tallied_texts_are_what_pushing_each_row_gives() {
        let mut csv = String::from("g,c\n");
        for i in 0..500u32 {
            let c = ["甲", "乙乙", "丙", "", "一个比十六个字节长的文本"][(i * 7 % 11 % 5) as usize];
            csv.push_str(&format!("{},{c}\n", i % 3));
        }
        let text = "policy \"t\" { rounding half_up }\nsource 工单 from csv \"tickets.csv\" {\n  g text\n  c text?\n}\nmetric a from 工单 by g = mode(c)\nmetric b from 工单 by g = mode_count(c)\nmetric d from 工单 by g = top(c, 2)\n";
        let (checked, tables) = crate::eval::compiled_with_tickets("tally", text, &csv);
        let evaluator = Evaluator::new(&checked, tables.into_iter().map(Arc::new).collect(), false);
        let table = evaluator.tables.first().expect("table").clone();
        let rows: Vec<usize> = (0..table.len()).collect();
        let group = |row: usize| Some(row % 3);
        let mut sites = 0;
        for item in &checked.policy.items {
            let Item::Metric(metric) = item else { continue };
            let ExprKind::Call { func, args, filter } = &metric.expr.kind else {
                panic!("a call")
            };
            let new = || -> Vec<Aggregate> { (0..3).map(|_| Aggregate::new(&func.name)).collect() };
            let mut bulk = new();
            evaluator
                .push_rows(
                    args,
                    filter.as_deref(),
                    &table,
                    0,
                    &rows,
                    &mut bulk,
                    group,
                    metric.expr.span,
                )
                .expect("bulk");
            let mut pushed = new();
            let arg = evaluator.compile_row(args.first().expect("argument"), 0);
            for &row in &rows {
                let v = evaluator.eval_row(&arg, &table, 0, row).expect("value");
                pushed[row % 3].push(v, metric.expr.span).expect("push");
            }
            for (b, p) in bulk.iter().zip(&pushed) {
                assert!(!p.ranked().is_empty());
                assert_eq!(b.ranked(), p.ranked(), "{}", metric.name.name);
            }
            sites += 1;
        }
        assert_eq!(sites, 3);
    }

    #[test]
    fn files_are_cut_into_about_two_blocks_per_worker() {
        // A county's month and the month before on two cores: four blocks.
        assert_eq!(block_size(3_056_598, BLOCK_BYTES, 2), 3_056_598 / 4);
        // Large files: the largest blocks; small ones: the smallest.
        assert_eq!(block_size(319 << 20, BLOCK_BYTES, 2), BLOCK_BYTES);
        assert_eq!(block_size(42_916, BLOCK_BYTES, 2), MIN_BLOCK_BYTES);
        assert_eq!(block_size(1_531_329, BLOCK_BYTES, 1), 1_531_329 / 2);
        // Tests read in tiny blocks: the largest block asked for wins.
        assert_eq!(block_size(1_531_329, 700, 2), 700);
        assert_eq!(block_size(0, 1, 0), 1);
    }
}
