//! `hotline diff`: what a policy change does to the definitions and the results.
//!
//! Both policies are compiled and evaluated on the same month of data. The comparison has
//! two parts: the declarations that were added, removed or changed (compared as syntax
//! trees, so layout and comments do not count), and what the change does to the results —
//! per-unit score deltas broken down by term, band changes, rank moves, who enters or
//! leaves the top and bottom three of each report table, and the headline figures.
//! Exact values decide whether something changed (and so does what is shown, when `rounding`
//! or `decimals` changed); displayed (rounded) values are what the output shows.

use crate::ast::{self, ExprKind, Item, Policy, Rounding, Section};
use crate::check::Checked;
use crate::cli::DiffFormat;
use crate::report::{Cell, Definition, ReportModel, SectionModel};
use crate::span::{SourceFile, Span};
use crate::types::Base;
use crate::{number, Month, Outcome, Problem};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::str::FromStr;

/// How many per-key changes of one metric the Markdown and terminal outputs list.
const MAX_LISTED_KEYS: usize = 10;

/// Compares `old` and `new` (files or `REV:path`) on a month (or a period) of data.
pub fn command(
    old: &str,
    new: &str,
    data: &Path,
    (month, period): (Option<&str>, Option<&str>),
    format: DiffFormat,
) -> Outcome {
    let period = match crate::months_asked(month, period, data) {
        Ok(p) => p,
        Err(message) => return usage(format!("error: {message}\n")),
    };
    let old_file = match read_policy(old) {
        Ok(f) => f,
        Err(message) => return usage(message),
    };
    let new_file = match read_policy(new) {
        Ok(f) => f,
        Err(message) => return usage(message),
    };
    let mut stderr = String::new();
    let mut compiled = Vec::new();
    for file in [&old_file, &new_file] {
        match crate::compile(file) {
            Ok(checked) => compiled.push(checked),
            Err(problems) => stderr.push_str(&diagnostics(file, problems)),
        }
    }
    let [old_checked, new_checked]: [Checked; 2] = match compiled.try_into() {
        Ok(pair) => pair,
        Err(_) => {
            return Outcome {
                stdout: String::new(),
                stderr,
                code: 1,
            }
        }
    };
    let mut models = Vec::new();
    // Data errors are usually the same for both policies: the new policy's are shown
    // only when the old one did not have them.
    let mut seen: Vec<String> = Vec::new();
    for (file, checked) in [(&old_file, &old_checked), (&new_file, &new_checked)] {
        match crate::evaluate_period(checked, data, period, &|_, _, _| {}) {
            Ok(model) => models.push(model),
            Err(problems) => {
                let fresh: Vec<Problem> = problems
                    .into_iter()
                    .filter(|p| !seen.contains(&p.to_string()))
                    .collect();
                seen.extend(fresh.iter().map(ToString::to_string));
                stderr.push_str(&diagnostics(file, fresh));
            }
        }
    }
    let [old_model, new_model]: [ReportModel; 2] = match models.try_into() {
        Ok(pair) => pair,
        Err(_) => {
            return Outcome {
                stdout: String::new(),
                stderr,
                code: 1,
            }
        }
    };
    let old_side = match Side::new(&old_file, &old_checked, &old_model) {
        Ok(s) => s,
        Err(problems) => {
            stderr.push_str(&diagnostics(&old_file, problems));
            return Outcome {
                stdout: String::new(),
                stderr,
                code: 1,
            };
        }
    };
    let new_side = match Side::new(&new_file, &new_checked, &new_model) {
        Ok(s) => s,
        Err(problems) => {
            stderr.push_str(&diagnostics(&new_file, problems));
            return Outcome {
                stdout: String::new(),
                stderr,
                code: 1,
            };
        }
    };
    let report = compare_sides(&old_side, &new_side, period.to_string());
    let stdout = match format {
        DiffFormat::Md => markdown(&report),
        DiffFormat::Json => json(&report),
        DiffFormat::Terminal => terminal(&report),
    };
    Outcome {
        stdout,
        stderr,
        code: 0,
    }
}

/// Compares two compiled and evaluated policies. Both models must come from the same month.
pub fn compare(
    old: (&SourceFile, &Checked, &ReportModel),
    new: (&SourceFile, &Checked, &ReportModel),
    month: Month,
) -> Result<DiffReport, Vec<Problem>> {
    let old = Side::new(old.0, old.1, old.2)?;
    let new = Side::new(new.0, new.1, new.2)?;
    Ok(compare_sides(&old, &new, month.to_string()))
}

fn usage(stderr: String) -> Outcome {
    Outcome {
        stdout: String::new(),
        stderr,
        code: 2,
    }
}

fn diagnostics(file: &SourceFile, problems: Vec<Problem>) -> String {
    problems
        .into_iter()
        .map(|p| crate::render_diagnostic(file, p, false))
        .collect()
}

/// Reads a policy from a file, or from git when written `REV:path` and no such file exists.
fn read_policy(spec: &str) -> Result<SourceFile, String> {
    let path = Path::new(spec);
    if path.exists() || !spec.contains(':') {
        return std::fs::read_to_string(path)
            .map(|text| SourceFile::new(spec, text))
            .map_err(|e| format!("error: cannot read `{spec}`: {e}\n"));
    }
    let output = std::process::Command::new("git")
        .args(["show", spec])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            format!("error: cannot read `{spec}`: running `git show {spec}` failed: {e}\n")
        })?;
    if !output.status.success() {
        let reason = String::from_utf8_lossy(&output.stderr).trim().to_string();
        let reason = if reason.is_empty() {
            format!("git exited with {}", output.status)
        } else {
            reason
        };
        return Err(format!(
            "error: cannot read `{spec}` from git: {reason}\n  help: write `REV:path` with a revision and a path from the repository's root, e.g. `HEAD:policies/a.policy`, or name a file\n"
        ));
    }
    String::from_utf8(output.stdout)
        .map(|text| SourceFile::new(spec, text))
        .map_err(|_| format!("error: `{spec}` is not UTF-8 text\n"))
}

// ---------------------------------------------------------------- the comparison

/// What changed between two policies, on one month of data.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffReport {
    /// The old policy as named on the command line.
    pub old: String,
    /// The new policy.
    pub new: String,
    /// The month both were evaluated on.
    pub month: String,
    /// The one-line summary.
    pub summary: String,
    /// Declarations added, removed or changed.
    pub definitions: Vec<DefinitionChange>,
    /// Per-key score changes, per score.
    pub scores: Vec<ScoreChange>,
    /// Keys whose band changed.
    pub bands: Vec<BandChange>,
    /// Keys whose rank or partition changed.
    pub ranks: Vec<RankMove>,
    /// Report tables whose members, top three or bottom three changed.
    pub tables: Vec<TableChange>,
    /// Single-valued metrics whose value changed.
    pub figures: Vec<FigureChange>,
    /// Per-key metrics whose values changed.
    pub metrics: Vec<MetricChange>,
}

impl DiffReport {
    /// Whether nothing changed at all.
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty() && !self.results_changed()
    }

    /// Whether any result changed.
    pub fn results_changed(&self) -> bool {
        !(self.scores.is_empty()
            && self.bands.is_empty()
            && self.ranks.is_empty()
            && self.tables.is_empty()
            && self.figures.is_empty()
            && self.metrics.is_empty())
    }

    /// How many keys (units) have a changed score.
    pub fn changed_score_keys(&self) -> usize {
        let keys: BTreeSet<&str> = self
            .scores
            .iter()
            .flat_map(|s| s.rows.iter().map(|r| r.key.as_str()))
            .collect();
        keys.len()
    }
}

/// Added, removed or changed.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Both have it, differently.
    Changed,
    /// Only the new policy has it.
    Added,
    /// Only the old policy has it.
    Removed,
}

impl Change {
    fn word(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::Added => "added",
            Change::Removed => "removed",
        }
    }
}

/// A declaration that changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DefinitionChange {
    /// `metric`, `score`, `bands`, `ranking`, `view`, `source`, `list`, `units`, `policy`,
    /// `report`, `heading`, `text`, `table`, `chart`, `test`.
    pub kind: String,
    /// Its name (empty for `units` and `policy`).
    pub name: String,
    /// What happened to it.
    pub change: Change,
    /// The old declaration as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The new declaration as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

impl DefinitionChange {
    fn label(&self) -> String {
        if self.name.is_empty() {
            self.kind.clone()
        } else {
            format!("{} `{}`", self.kind, self.name)
        }
    }
}

/// The keys of one score whose value changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScoreChange {
    /// The score's name.
    pub score: String,
    /// `unit`, a field, or absent for a single value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// The terms, in the order of the new policy.
    pub terms: Vec<String>,
    /// The changed keys, largest change first.
    pub rows: Vec<ScoreRow>,
}

/// One key's score change, by term.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScoreRow {
    /// The unit (or key).
    pub key: String,
    /// The old score.
    pub old: Cell,
    /// The new score.
    pub new: Cell,
    /// New minus old.
    pub delta: Cell,
    /// What each term contributed to the change (terms that did not move are left out).
    pub terms: Vec<TermDelta>,
}

/// How much one term moved a score.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TermDelta {
    /// The term (`解决率`), or `(other terms)` for terms that are not a name.
    pub term: String,
    /// Its old points.
    pub old: Cell,
    /// Its new points.
    pub new: Cell,
    /// New minus old points.
    pub delta: Cell,
}

/// A key whose band changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BandChange {
    /// The bands' name.
    pub bands: String,
    /// The unit (or key).
    pub key: String,
    /// The old band (absent: in no band).
    pub old: Option<String>,
    /// The new band.
    pub new: Option<String>,
    /// The value banded, when it is a named definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<OnValue>,
}

/// The value a bands declaration is on, before and after.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OnValue {
    /// Its name.
    pub name: String,
    /// Before.
    pub old: Cell,
    /// After.
    pub new: Cell,
}

/// A key whose place in a ranking changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankMove {
    /// The ranking's name.
    pub ranking: String,
    /// The unit (or key).
    pub key: String,
    /// Before.
    pub old: Placement,
    /// After.
    pub new: Placement,
}

/// A partition and a rank in it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Placement {
    /// The partition's values (`县直 / 大`); empty when the ranking has no `within`.
    pub partition: String,
    /// The rank (absent: not ranked).
    pub rank: Option<String>,
}

impl Placement {
    fn shown(&self) -> String {
        let rank = self
            .rank
            .as_deref()
            .map_or_else(|| "—".to_string(), |r| format!("#{r}"));
        if self.partition.is_empty() {
            rank
        } else {
            format!("{} {rank}", self.partition)
        }
    }
}

/// A report table whose rows changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableChange {
    /// The table's name.
    pub table: String,
    /// Rows before.
    pub old_rows: usize,
    /// Rows after.
    pub new_rows: usize,
    /// Rows only the new table has (by the first column).
    pub entered: Vec<String>,
    /// Rows only the old table has.
    pub left: Vec<String>,
    /// Now in the first three rows, and not before.
    pub entered_top: Vec<String>,
    /// No longer in the first three rows.
    pub left_top: Vec<String>,
    /// Now in the last three rows, and not before.
    pub entered_bottom: Vec<String>,
    /// No longer in the last three rows.
    pub left_bottom: Vec<String>,
}

/// A single-valued metric whose value changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FigureChange {
    /// The metric's name.
    pub metric: String,
    /// Before.
    pub old: Cell,
    /// After.
    pub new: Cell,
    /// New minus old, for numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<Cell>,
}

/// A per-key metric whose values changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricChange {
    /// The metric's name.
    pub metric: String,
    /// `unit` or a field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// The changed keys, in key order.
    pub changes: Vec<KeyChange>,
}

/// One key's value, before and after.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeyChange {
    /// The key.
    pub key: String,
    /// Before.
    pub old: Cell,
    /// After.
    pub new: Cell,
}

/// One policy: its text, trees and evaluated model.
struct Side<'a> {
    file: &'a SourceFile,
    /// The tree as parsed, without types (types of unchanged declarations can differ when
    /// what they use changed).
    ast: Policy,
    checked: &'a Checked,
    model: &'a ReportModel,
    defs: HashMap<&'a str, &'a Definition>,
}

impl<'a> Side<'a> {
    fn new(
        file: &'a SourceFile,
        checked: &'a Checked,
        model: &'a ReportModel,
    ) -> Result<Self, Vec<Problem>> {
        let ast = crate::syntax::parse(file)
            .map_err(|e| e.into_iter().map(Problem::Syntax).collect::<Vec<_>>())?;
        let defs = model.values.iter().map(|d| (d.name.as_str(), d)).collect();
        Ok(Side {
            file,
            ast,
            checked,
            model,
            defs,
        })
    }

    fn def(&self, name: &str, kind: &str) -> Option<&'a Definition> {
        self.defs.get(name).copied().filter(|d| d.kind == kind)
    }

    fn rounding(&self) -> (u32, Rounding) {
        (self.model.decimals, self.model.rounding)
    }

    /// The checked type of a definition (a score's term has the score's type).
    fn base(&self, name: &str) -> Option<&'a Base> {
        let defs = &self.checked.env.defs;
        let def = defs
            .get(name)
            .or_else(|| name.split_once('.').and_then(|(score, _)| defs.get(score)))?;
        def.ty.as_ref().map(|t| &t.base)
    }

    fn cell(&self, name: &str, value: Option<&str>) -> Cell {
        show(value, self.base(name), self.rounding())
    }

    /// The value of a definition at a key (`""` for single values).
    fn value_at(&self, name: &str, key: &str) -> Option<&'a str> {
        let def = self.defs.get(name)?;
        if def.per.is_none() {
            return def.value.as_deref();
        }
        def.values
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    fn group_of(&self, unit: &str) -> Option<&'a str> {
        let env = &self.checked.env;
        let i = *env.unit_lookup.get(unit)?;
        let group = env.units.get(i as usize)?.group;
        env.groups.get(group).map(String::as_str)
    }

    fn score_terms(&self, score: &str) -> Vec<String> {
        self.ast
            .items
            .iter()
            .find_map(|item| match item {
                Item::Score(s) if s.name.name == score => Some(
                    s.terms
                        .iter()
                        .filter_map(|t| match &t.expr.kind {
                            ExprKind::Name(n) => Some(n.name.clone()),
                            _ => None,
                        })
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn ranking_within(&self, ranking: &str) -> Vec<String> {
        self.ast
            .items
            .iter()
            .find_map(|item| match item {
                Item::Ranking(r) if r.name.name == ranking => {
                    Some(r.within.iter().map(|w| w.name.clone()).collect())
                }
                _ => None,
            })
            .unwrap_or_default()
    }

    fn bands_on(&self, bands: &str) -> Option<String> {
        self.ast.items.iter().find_map(|item| match item {
            Item::Bands(b) if b.name.name == bands => match &b.on.kind {
                ExprKind::Name(n) => Some(n.name.clone()),
                _ => None,
            },
            _ => None,
        })
    }

    fn placement(&self, ranking: &str, within: &[String], key: &str) -> Placement {
        let partition = within
            .iter()
            .map(|w| {
                let value = if w == "group" {
                    self.group_of(key)
                } else {
                    self.value_at(w, key)
                };
                value.unwrap_or("—").to_string()
            })
            .collect::<Vec<_>>()
            .join(" / ");
        Placement {
            partition,
            rank: self.value_at(ranking, key).map(str::to_string),
        }
    }
}

/// The keys of a definition in order (`""` for a single value).
fn keys(def: &Definition) -> Vec<&str> {
    if def.per.is_none() {
        vec![""]
    } else {
        def.values.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// The keys of both, the new order first.
fn union_keys<'k>(old: &'k Definition, new: &'k Definition) -> Vec<&'k str> {
    let mut all = keys(new);
    for k in keys(old) {
        if !all.contains(&k) {
            all.push(k);
        }
    }
    all
}

fn decimal(value: Option<&str>) -> Option<Decimal> {
    value.and_then(|v| Decimal::from_str(v).ok())
}

/// Whether two exact values are the same: numerically for numbers, as text otherwise.
fn same(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => match (Decimal::from_str(x), Decimal::from_str(y)) {
            (Ok(x), Ok(y)) => x == y,
            _ => x == y,
        },
        _ => false,
    }
}

/// Whether a value changed: its exact value, or what is shown of it (a change of `rounding`
/// or `decimals` changes what is shown of equal exact values).
fn differs(old: &Side<'_>, new: &Side<'_>, name: &str, o: Option<&str>, n: Option<&str>) -> bool {
    !same(o, n) || old.cell(name, o).display != new.cell(name, n).display
}

/// A value as the report shows it, with the exact value behind it.
fn show(value: Option<&str>, base: Option<&Base>, (places, rounding): (u32, Rounding)) -> Cell {
    let Some(value) = value else {
        return Cell {
            display: "—".into(),
            exact: None,
        };
    };
    let Ok(d) = Decimal::from_str(value) else {
        return Cell {
            display: value.to_string(),
            exact: None,
        };
    };
    let display = match base {
        Some(Base::Percent) => number::display_percent(d, places, rounding),
        Some(Base::Int) => number::display(d, 0, rounding),
        _ => number::display(d, places, rounding),
    };
    Cell {
        display,
        exact: Some(d.normalize().to_string()),
    }
}

/// A change, signed: `+0.25`, `-3`, `+1.5 pp` for percentages, `≈0` when it rounds away.
fn show_delta(delta: Decimal, base: Option<&Base>, (places, rounding): (u32, Rounding)) -> Cell {
    let places = if matches!(base, Some(Base::Int)) {
        0
    } else {
        places
    };
    let rounded = number::round(delta, places, rounding);
    let magnitude = number::display(rounded.abs(), places, rounding);
    let suffix = if matches!(base, Some(Base::Percent)) {
        " pp"
    } else {
        ""
    };
    let display = if delta.is_zero() {
        "0".to_string()
    } else if rounded.is_zero() {
        "≈0".to_string()
    } else if delta.is_sign_negative() {
        format!("-{magnitude}{suffix}")
    } else {
        format!("+{magnitude}{suffix}")
    };
    Cell {
        display,
        exact: Some(delta.normalize().to_string()),
    }
}

fn compare_sides(old: &Side<'_>, new: &Side<'_>, months: String) -> DiffReport {
    let mut report = DiffReport {
        old: old.file.name.to_string(),
        new: new.file.name.to_string(),
        month: months,
        summary: String::new(),
        definitions: definition_changes(old, new),
        scores: score_changes(old, new),
        bands: band_changes(old, new),
        ranks: rank_moves(old, new),
        tables: table_changes(old, new),
        figures: figure_changes(old, new),
        metrics: metric_changes(old, new),
    };
    report.summary = summary(&report);
    report
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(r: &DiffReport) -> String {
    if r.is_empty() {
        return "No change to definitions or results.".to_string();
    }
    let defs = match r.definitions.len() {
        0 => "no definition changed".to_string(),
        n => plural(n, "definition changed", "definitions changed"),
    };
    if !r.results_changed() {
        return format!("{defs}; no change to the results.");
    }
    let mut parts = vec![
        defs,
        plural(
            r.changed_score_keys(),
            "unit's score changes",
            "units' scores change",
        ),
        plural(r.ranks.len(), "rank move", "rank moves"),
    ];
    if !r.bands.is_empty() {
        parts.push(plural(r.bands.len(), "band change", "band changes"));
    }
    if !r.figures.is_empty() {
        parts.push(plural(
            r.figures.len(),
            "headline figure changes",
            "headline figures change",
        ));
    }
    let others: usize = r.metrics.iter().map(|m| m.changes.len()).sum();
    if others > 0 {
        parts.push(plural(
            others,
            "per-unit value changes",
            "per-unit values change",
        ));
    }
    let mut line = parts.join("; ");
    if let Some(first) = line.get(..1) {
        line = format!("{}{}", first.to_uppercase(), line.get(1..).unwrap_or(""));
    }
    line.push('.');
    line
}

// ---------------------------------------------------------------- definitions

/// A declaration to compare: what it is, its name, its text and a comparable value.
struct Decl<'p> {
    kind: &'static str,
    name: String,
    text: String,
    node: Node<'p>,
}

/// The part of the tree compared for equality (spans never take part).
#[derive(PartialEq)]
enum Node<'p> {
    Item(&'p Item),
    Section(&'p Section),
    Title(Option<&'p ast::Str>),
}

fn slice(file: &SourceFile, span: Span) -> String {
    let text: &str = &file.text;
    let line_start = text
        .get(..span.start)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    let indent = text.get(line_start..span.start).unwrap_or("");
    let body = text.get(span.start..span.end).unwrap_or("");
    if indent.chars().all(char::is_whitespace) {
        dedent(&format!("{indent}{body}"))
    } else {
        dedent(body)
    }
}

fn dedent(text: &str) -> String {
    let margin = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(margin..).unwrap_or_else(|| l.trim_start()).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

fn item_decls<'p>(file: &SourceFile, policy: &'p Policy) -> (Vec<Decl<'p>>, Vec<Decl<'p>>) {
    let mut decls = Vec::new();
    let mut prose = Vec::new();
    for item in &policy.items {
        let (kind, name, span) = match item {
            Item::Header(h) => ("policy", String::new(), h.span),
            Item::Source(s) => ("source", s.name.name.clone(), s.span),
            Item::Units(u) => ("units", String::new(), u.span),
            Item::View(v) => ("view", v.name.name.clone(), v.span),
            Item::Metric(m) => ("metric", m.name.name.clone(), m.span),
            Item::Score(s) => ("score", s.name.name.clone(), s.span),
            Item::Bands(b) => ("bands", b.name.name.clone(), b.span),
            Item::Ranking(r) => ("ranking", r.name.name.clone(), r.span),
            Item::List(l) => ("list", l.name.name.clone(), l.span),
            Item::Commentary(c) => ("commentary", c.name.name.clone(), c.span),
            Item::Test(t) => ("test", t.name.value.clone(), t.span),
            Item::Report(r) => {
                let text = match &r.title {
                    Some(title) => slice(file, Span::new(r.span.start, title.span.end)),
                    None => "report".to_string(),
                };
                decls.push(Decl {
                    kind: "report",
                    name: String::new(),
                    text,
                    node: Node::Title(r.title.as_ref()),
                });
                report_decls(file, r, &mut decls, &mut prose);
                continue;
            }
            #[allow(unreachable_patterns)]
            _ => continue,
        };
        decls.push(Decl {
            kind,
            name,
            text: slice(file, span),
            node: Node::Item(item),
        });
    }
    (decls, prose)
}

fn report_decls<'p>(
    file: &SourceFile,
    report: &'p ast::Report,
    decls: &mut Vec<Decl<'p>>,
    prose: &mut Vec<Decl<'p>>,
) {
    let mut heading = String::new();
    let mut texts = 0;
    for section in &report.sections {
        match section {
            Section::Heading(h) => {
                heading = h.value.clone();
                prose.push(Decl {
                    kind: "heading",
                    name: h.value.clone(),
                    text: format!("heading {}", slice(file, h.span)),
                    node: Node::Section(section),
                });
            }
            Section::Text(t) => {
                texts += 1;
                let name = if heading.is_empty() {
                    format!("#{texts}")
                } else {
                    format!("#{texts} (after “{heading}”)")
                };
                prose.push(Decl {
                    kind: "text",
                    name,
                    text: format!("text {}", slice(file, t.span)),
                    node: Node::Section(section),
                });
            }
            Section::Table(t) => decls.push(Decl {
                kind: "table",
                name: t.name.value.clone(),
                text: slice(file, t.span),
                node: Node::Section(section),
            }),
            Section::Chart(c) => decls.push(Decl {
                kind: "chart",
                name: c.name.value.clone(),
                text: slice(file, c.span),
                node: Node::Section(section),
            }),
        }
    }
}

fn definition_changes(old: &Side<'_>, new: &Side<'_>) -> Vec<DefinitionChange> {
    let (old_decls, old_prose) = item_decls(old.file, &old.ast);
    let (new_decls, new_prose) = item_decls(new.file, &new.ast);
    let mut changes = Vec::new();
    let find = |decls: &[Decl<'_>], kind: &str, name: &str| {
        decls.iter().position(|d| d.kind == kind && d.name == name)
    };
    for n in &new_decls {
        match find(&old_decls, n.kind, &n.name).and_then(|i| old_decls.get(i)) {
            Some(o) if o.node == n.node => {}
            Some(o) => changes.push(change(Change::Changed, n, Some(o), Some(n))),
            None => changes.push(change(Change::Added, n, None, Some(n))),
        }
    }
    for o in &old_decls {
        if find(&new_decls, o.kind, &o.name).is_none() {
            changes.push(change(Change::Removed, o, Some(o), None));
        }
    }
    changes.extend(prose_changes(&old_prose, &new_prose));
    // Changed first, then added, then removed; each in the order of the policy.
    changes.sort_by_key(|c| c.change);
    changes
}

fn change(
    kind: Change,
    named: &Decl<'_>,
    old: Option<&Decl<'_>>,
    new: Option<&Decl<'_>>,
) -> DefinitionChange {
    DefinitionChange {
        kind: named.kind.to_string(),
        name: named.name.clone(),
        change: kind,
        old: old.map(|d| d.text.clone()),
        new: new.map(|d| d.text.clone()),
    }
}

/// Headings and texts have no names: they are aligned by content (a longest common
/// subsequence); what is left between two aligned sections pairs up by kind as changed.
fn prose_changes(old: &[Decl<'_>], new: &[Decl<'_>]) -> Vec<DefinitionChange> {
    let pairs = lcs(old, new, |a, b| a.kind == b.kind && a.node == b.node);
    let mut changes = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (pi, pj) in pairs.into_iter().chain([(old.len(), new.len())]) {
        let olds = old.get(i..pi).unwrap_or_default();
        let news = new.get(j..pj).unwrap_or_default();
        let mut used = vec![false; olds.len()];
        for n in news {
            let partner = olds
                .iter()
                .enumerate()
                .position(|(k, o)| !used.get(k).copied().unwrap_or(true) && o.kind == n.kind);
            match partner {
                Some(k) => {
                    if let Some(u) = used.get_mut(k) {
                        *u = true;
                    }
                    changes.push(change(Change::Changed, n, olds.get(k), Some(n)));
                }
                None => changes.push(change(Change::Added, n, None, Some(n))),
            }
        }
        for (k, o) in olds.iter().enumerate() {
            if !used.get(k).copied().unwrap_or(true) {
                changes.push(change(Change::Removed, o, Some(o), None));
            }
        }
        i = pi + 1;
        j = pj + 1;
    }
    changes
}

/// Index pairs of a longest common subsequence.
fn lcs<T>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let value = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if eq(x, y) => table[i + 1][j + 1] + 1,
                _ => table[i + 1][j].max(table[i][j + 1]),
            };
            table[i][j] = value;
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if eq(x, y) => {
                pairs.push((i, j));
                i += 1;
                j += 1;
            }
            _ if table[i + 1][j] >= table[i][j + 1] => i += 1,
            _ => j += 1,
        }
    }
    pairs
}

/// A line diff of two declarations: ` ` kept, `-` old, `+` new.
fn line_diff(old: Option<&str>, new: Option<&str>) -> Vec<String> {
    let a: Vec<&str> = old.map(|t| t.lines().collect()).unwrap_or_default();
    let b: Vec<&str> = new.map(|t| t.lines().collect()).unwrap_or_default();
    let pairs = lcs(&a, &b, |x, y| x == y);
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (pi, pj) in pairs.into_iter().chain([(a.len(), b.len())]) {
        for line in a.get(i..pi).unwrap_or_default() {
            out.push(format!("-{line}"));
        }
        for line in b.get(j..pj).unwrap_or_default() {
            out.push(format!("+{line}"));
        }
        if let Some(line) = a.get(pi) {
            out.push(format!(" {line}"));
        }
        i = pi + 1;
        j = pj + 1;
    }
    out
}

// ---------------------------------------------------------------- results

fn score_changes(old: &Side<'_>, new: &Side<'_>) -> Vec<ScoreChange> {
    let mut out = Vec::new();
    for new_def in new.model.values.iter().filter(|d| d.kind == "score") {
        let name = new_def.name.as_str();
        let Some(old_def) = old.def(name, "score") else {
            continue;
        };
        let mut terms = new.score_terms(name);
        for t in old.score_terms(name) {
            if !terms.contains(&t) {
                terms.push(t);
            }
        }
        let mut rows = Vec::new();
        let mut order = Vec::new();
        for (position, key) in union_keys(old_def, new_def).into_iter().enumerate() {
            let (o, n) = (old.value_at(name, key), new.value_at(name, key));
            if !differs(old, new, name, o, n) {
                continue;
            }
            let total = match (decimal(o), decimal(n)) {
                (Some(o), Some(n)) => Some(n - o),
                _ => None,
            };
            let mut moved = Vec::new();
            let mut explained = Decimal::ZERO;
            for term in &terms {
                let part = format!("{name}.{term}");
                let (ot, nt) = (old.value_at(&part, key), new.value_at(&part, key));
                if !differs(old, new, &part, ot, nt) {
                    continue;
                }
                let delta = decimal(nt).unwrap_or_default() - decimal(ot).unwrap_or_default();
                explained += delta;
                moved.push(TermDelta {
                    term: term.clone(),
                    old: old.cell(&part, ot),
                    new: new.cell(&part, nt),
                    delta: show_delta(delta, new.base(name), new.rounding()),
                });
            }
            // Sums of 28-digit quotients differ in the last digits; that is not a term.
            let rest = total
                .map(|t| t - explained)
                .filter(|r| !number::round(*r, 18, Rounding::HalfEven).is_zero());
            if let Some(rest) = rest {
                moved.push(TermDelta {
                    term: "(other terms)".to_string(),
                    old: Cell {
                        display: String::new(),
                        exact: None,
                    },
                    new: Cell {
                        display: String::new(),
                        exact: None,
                    },
                    delta: show_delta(rest, new.base(name), new.rounding()),
                });
            }
            moved.sort_by_key(|d| std::cmp::Reverse(magnitude(&d.delta)));
            order.push((total.map(|t| t.abs()), position));
            rows.push(ScoreRow {
                key: key.to_string(),
                old: old.cell(name, o),
                new: new.cell(name, n),
                delta: match total {
                    Some(t) => show_delta(t, new.base(name), new.rounding()),
                    None => Cell {
                        display: "—".into(),
                        exact: None,
                    },
                },
                terms: moved,
            });
        }
        // Largest change first (empty values first of all), then in key order.
        let mut indexed: Vec<(usize, ScoreRow)> = rows.into_iter().enumerate().collect();
        indexed.sort_by(|(a, _), (b, _)| {
            let (ta, pa) = order.get(*a).copied().unwrap_or((None, 0));
            let (tb, pb) = order.get(*b).copied().unwrap_or((None, 0));
            match (ta, tb) {
                (None, None) => pa.cmp(&pb),
                (None, _) => std::cmp::Ordering::Less,
                (_, None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => y.cmp(&x).then(pa.cmp(&pb)),
            }
        });
        let rows: Vec<ScoreRow> = indexed.into_iter().map(|(_, r)| r).collect();
        if !rows.is_empty() {
            out.push(ScoreChange {
                score: name.to_string(),
                per: new_def.per.clone(),
                terms,
                rows,
            });
        }
    }
    out
}

fn magnitude(cell: &Cell) -> Decimal {
    decimal(cell.exact.as_deref())
        .map(|d| d.abs())
        .unwrap_or_default()
}

fn band_changes(old: &Side<'_>, new: &Side<'_>) -> Vec<BandChange> {
    let mut out = Vec::new();
    for new_def in new.model.values.iter().filter(|d| d.kind == "bands") {
        let name = new_def.name.as_str();
        let Some(old_def) = old.def(name, "bands") else {
            continue;
        };
        let on = new.bands_on(name);
        for key in union_keys(old_def, new_def) {
            let (o, n) = (old.value_at(name, key), new.value_at(name, key));
            if o == n {
                continue;
            }
            let on = on.as_ref().map(|m| OnValue {
                name: m.clone(),
                old: old.cell(m, old.value_at(m, key)),
                new: new.cell(m, new.value_at(m, key)),
            });
            out.push(BandChange {
                bands: name.to_string(),
                key: key.to_string(),
                old: o.map(str::to_string),
                new: n.map(str::to_string),
                on,
            });
        }
    }
    out
}

fn rank_moves(old: &Side<'_>, new: &Side<'_>) -> Vec<RankMove> {
    let mut out = Vec::new();
    for new_def in new.model.values.iter().filter(|d| d.kind == "ranking") {
        let name = new_def.name.as_str();
        let Some(old_def) = old.def(name, "ranking") else {
            continue;
        };
        let (old_within, new_within) = (old.ranking_within(name), new.ranking_within(name));
        let mut moves = Vec::new();
        let mut partitions: Vec<String> = Vec::new();
        for key in union_keys(old_def, new_def) {
            let o = old.placement(name, &old_within, key);
            let n = new.placement(name, &new_within, key);
            if !partitions.contains(&n.partition) {
                partitions.push(n.partition.clone());
            }
            if o.partition == n.partition && same(o.rank.as_deref(), n.rank.as_deref()) {
                continue;
            }
            moves.push(RankMove {
                ranking: name.to_string(),
                key: key.to_string(),
                old: o,
                new: n,
            });
        }
        // Grouped by the new partition, then by the new rank.
        moves.sort_by_key(|m| {
            (
                partitions.iter().position(|p| *p == m.new.partition),
                decimal(m.new.rank.as_deref()).is_none(),
                decimal(m.new.rank.as_deref()),
            )
        });
        out.extend(moves);
    }
    out
}

fn tables(model: &ReportModel) -> Vec<(&str, Vec<String>)> {
    model
        .sections
        .iter()
        .filter_map(|s| match s {
            SectionModel::Table(t) => Some((
                t.name.as_str(),
                t.rows
                    .iter()
                    .map(|r| r.first().map(|c| c.display.clone()).unwrap_or_default())
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

fn table_changes(old: &Side<'_>, new: &Side<'_>) -> Vec<TableChange> {
    let old_tables = tables(old.model);
    let mut out = Vec::new();
    for (name, new_rows) in tables(new.model) {
        let Some((_, old_rows)) = old_tables.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let minus = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|x| !b.contains(x)).cloned().collect()
        };
        let top = |rows: &[String]| -> Vec<String> { rows.iter().take(3).cloned().collect() };
        let bottom = |rows: &[String]| -> Vec<String> {
            rows.iter()
                .skip(rows.len().saturating_sub(3))
                .cloned()
                .collect()
        };
        let change = TableChange {
            table: name.to_string(),
            old_rows: old_rows.len(),
            new_rows: new_rows.len(),
            entered: minus(&new_rows, old_rows),
            left: minus(old_rows, &new_rows),
            entered_top: minus(&top(&new_rows), &top(old_rows)),
            left_top: minus(&top(old_rows), &top(&new_rows)),
            entered_bottom: minus(&bottom(&new_rows), &bottom(old_rows)),
            left_bottom: minus(&bottom(old_rows), &bottom(&new_rows)),
        };
        let changed = !(change.entered.is_empty()
            && change.left.is_empty()
            && change.entered_top.is_empty()
            && change.left_top.is_empty()
            && change.entered_bottom.is_empty()
            && change.left_bottom.is_empty());
        if changed {
            out.push(change);
        }
    }
    out
}

fn figure_changes(old: &Side<'_>, new: &Side<'_>) -> Vec<FigureChange> {
    let mut out = Vec::new();
    for new_def in new
        .model
        .values
        .iter()
        .filter(|d| d.kind == "metric" && d.per.is_none())
    {
        let name = new_def.name.as_str();
        let Some(old_def) = old.def(name, "metric").filter(|d| d.per.is_none()) else {
            continue;
        };
        let (o, n) = (old_def.value.as_deref(), new_def.value.as_deref());
        if !differs(old, new, name, o, n) {
            continue;
        }
        let delta = match (decimal(o), decimal(n)) {
            (Some(o), Some(n)) => Some(show_delta(n - o, new.base(name), new.rounding())),
            _ => None,
        };
        out.push(FigureChange {
            metric: name.to_string(),
            old: old.cell(name, o),
            new: new.cell(name, n),
            delta,
        });
    }
    out
}

fn metric_changes(old: &Side<'_>, new: &Side<'_>) -> Vec<MetricChange> {
    let mut out = Vec::new();
    for new_def in new
        .model
        .values
        .iter()
        .filter(|d| d.kind == "metric" && d.per.is_some())
    {
        let name = new_def.name.as_str();
        let Some(old_def) = old.def(name, "metric").filter(|d| d.per.is_some()) else {
            continue;
        };
        let changes: Vec<KeyChange> = union_keys(old_def, new_def)
            .into_iter()
            .filter_map(|key| {
                let (o, n) = (old.value_at(name, key), new.value_at(name, key));
                differs(old, new, name, o, n).then(|| KeyChange {
                    key: key.to_string(),
                    old: old.cell(name, o),
                    new: new.cell(name, n),
                })
            })
            .collect();
        if !changes.is_empty() {
            out.push(MetricChange {
                metric: name.to_string(),
                per: new_def.per.clone(),
                changes,
            });
        }
    }
    out
}

// ---------------------------------------------------------------- output

/// The comparison as JSON.
pub fn json(report: &DiffReport) -> String {
    let mut text =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// A table of the output: headers and rows of text; right-aligned columns hold numbers.
struct Grid {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

/// A titled part of the results.
struct Part {
    title: String,
    note: Option<String>,
    grid: Option<Grid>,
    lines: Vec<String>,
}

fn key_header(per: Option<&str>) -> String {
    match per {
        Some("unit") | None => "unit".to_string(),
        Some(field) => field.to_string(),
    }
}

fn result_parts(r: &DiffReport) -> Vec<Part> {
    let mut parts = Vec::new();
    for s in &r.scores {
        parts.push(score_part(s));
    }
    if !r.bands.is_empty() {
        let on = r
            .bands
            .iter()
            .find_map(|b| b.on.as_ref().map(|o| o.name.clone()));
        let mut headers = vec![
            "bands".to_string(),
            "unit".to_string(),
            "old".to_string(),
            "new".to_string(),
        ];
        if let Some(on) = &on {
            headers.push(on.clone());
        }
        let rows = r
            .bands
            .iter()
            .map(|b| {
                let mut row = vec![
                    b.bands.clone(),
                    b.key.clone(),
                    b.old.clone().unwrap_or_else(|| "—".into()),
                    b.new.clone().unwrap_or_else(|| "—".into()),
                ];
                if on.is_some() {
                    row.push(
                        b.on.as_ref()
                            .map(|o| from_to(&o.old, &o.new))
                            .unwrap_or_default(),
                    );
                }
                row
            })
            .collect();
        let right = headers.iter().enumerate().map(|(i, _)| i == 4).collect();
        parts.push(Part {
            title: format!("Band changes ({})", r.bands.len()),
            note: None,
            grid: Some(Grid {
                headers,
                right,
                rows,
            }),
            lines: Vec::new(),
        });
    }
    let mut rankings: Vec<&str> = Vec::new();
    for m in &r.ranks {
        if !rankings.contains(&m.ranking.as_str()) {
            rankings.push(&m.ranking);
        }
    }
    for ranking in rankings {
        let moves: Vec<&RankMove> = r.ranks.iter().filter(|m| m.ranking == ranking).collect();
        let rows = moves
            .iter()
            .map(|m| vec![m.key.clone(), m.old.shown(), m.new.shown()])
            .collect();
        parts.push(Part {
            title: format!("Rank moves in `{ranking}` ({})", moves.len()),
            note: None,
            grid: Some(Grid {
                headers: vec!["unit".into(), "old".into(), "new".into()],
                right: vec![false, false, false],
                rows,
            }),
            lines: Vec::new(),
        });
    }
    if !r.tables.is_empty() {
        let lines = r.tables.iter().map(table_line).collect();
        parts.push(Part {
            title: "Report tables".into(),
            note: None,
            grid: None,
            lines,
        });
    }
    if !r.figures.is_empty() {
        let rows = r
            .figures
            .iter()
            .map(|f| {
                vec![
                    f.metric.clone(),
                    f.old.display.clone(),
                    f.new.display.clone(),
                    f.delta
                        .as_ref()
                        .map(|d| d.display.clone())
                        .unwrap_or_default(),
                ]
            })
            .collect();
        parts.push(Part {
            title: format!("Headline figures ({})", r.figures.len()),
            note: None,
            grid: Some(Grid {
                headers: vec!["figure".into(), "old".into(), "new".into(), "change".into()],
                right: vec![false, true, true, true],
                rows,
            }),
            lines: Vec::new(),
        });
    }
    if !r.metrics.is_empty() {
        let mut rows = Vec::new();
        let mut more = Vec::new();
        for m in &r.metrics {
            for c in m.changes.iter().take(MAX_LISTED_KEYS) {
                rows.push(vec![
                    m.metric.clone(),
                    c.key.clone(),
                    c.old.display.clone(),
                    c.new.display.clone(),
                ]);
            }
            if m.changes.len() > MAX_LISTED_KEYS {
                more.push(format!(
                    "`{}`: {} more",
                    m.metric,
                    m.changes.len() - MAX_LISTED_KEYS
                ));
            }
        }
        let total: usize = r.metrics.iter().map(|m| m.changes.len()).sum();
        parts.push(Part {
            title: format!("Other per-unit values ({total})"),
            note: (!more.is_empty()).then(|| {
                format!(
                    "Not listed ({}); `--format json` has them all.",
                    more.join(", ")
                )
            }),
            grid: Some(Grid {
                headers: vec!["metric".into(), "key".into(), "old".into(), "new".into()],
                right: vec![false, false, true, true],
                rows,
            }),
            lines: Vec::new(),
        });
    }
    parts
}

fn score_part(s: &ScoreChange) -> Part {
    let mut moved: Vec<String> = Vec::new();
    for t in s.terms.iter().map(String::as_str).chain(["(other terms)"]) {
        if s.rows
            .iter()
            .any(|row| row.terms.iter().any(|d| d.term == t))
        {
            moved.push(t.to_string());
        }
    }
    let mut headers = vec![
        key_header(s.per.as_deref()),
        "old".into(),
        "new".into(),
        "change".into(),
    ];
    headers.extend(moved.iter().map(|t| format!("Δ {t}")));
    let right = headers.iter().enumerate().map(|(i, _)| i > 0).collect();
    let rows = s
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.key.clone(),
                row.old.display.clone(),
                row.new.display.clone(),
                row.delta.display.clone(),
            ];
            for t in &moved {
                cells.push(
                    row.terms
                        .iter()
                        .find(|d| &d.term == t)
                        .map(|d| d.delta.display.clone())
                        .unwrap_or_default(),
                );
            }
            cells
        })
        .collect();
    let n = s.rows.len();
    let what = if s.per.as_deref() == Some("unit") {
        plural(n, "unit", "units")
    } else {
        plural(n, "key", "keys")
    };
    Part {
        title: format!("Score `{}`: {what} change", s.score),
        note: Some("Δ columns: the points each term adds or takes away.".to_string()),
        grid: Some(Grid {
            headers,
            right,
            rows,
        }),
        lines: Vec::new(),
    }
}

fn from_to(old: &Cell, new: &Cell) -> String {
    if old.display == new.display {
        new.display.clone()
    } else {
        format!("{} → {}", old.display, new.display)
    }
}

fn table_line(t: &TableChange) -> String {
    let mut parts = Vec::new();
    let list = |names: &[String]| names.join("、");
    if !t.entered.is_empty() {
        parts.push(format!("enters: {}", list(&t.entered)));
    }
    if !t.left.is_empty() {
        parts.push(format!("leaves: {}", list(&t.left)));
    }
    let mut moves = |label: &str, plus: &[String], minus: &[String]| {
        let mut m = Vec::new();
        if !plus.is_empty() {
            m.push(format!("+ {}", list(plus)));
        }
        if !minus.is_empty() {
            m.push(format!("− {}", list(minus)));
        }
        if !m.is_empty() {
            parts.push(format!("{label}: {}", m.join(", ")));
        }
    };
    moves("top three", &t.entered_top, &t.left_top);
    moves("bottom three", &t.entered_bottom, &t.left_bottom);
    let rows = if t.old_rows == t.new_rows {
        plural(t.new_rows, "row", "rows")
    } else {
        format!("{} → {} rows", t.old_rows, t.new_rows)
    };
    format!("{} ({rows}): {}", t.table, parts.join("; "))
}

fn fence(lines: &[String]) -> String {
    let longest = lines.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

fn md_cell(text: &str) -> String {
    let t = text
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ");
    if t.is_empty() {
        " ".to_string()
    } else {
        t
    }
}

/// The comparison as Markdown, for a pull-request comment.
pub fn markdown(r: &DiffReport) -> String {
    let mut out = format!("{}\n", r.summary);
    if r.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "\n`{}` → `{}`, on the data of {}.\n",
        r.old, r.new, r.month
    ));
    if !r.definitions.is_empty() {
        out.push_str(&format!("\n## Definitions ({})\n", r.definitions.len()));
        for d in &r.definitions {
            out.push_str(&format!(
                "\n**{}** {}\n\n",
                md_cell(&d.label()),
                d.change.word()
            ));
            let lines = line_diff(d.old.as_deref(), d.new.as_deref());
            let fence = fence(&lines);
            out.push_str(&format!("{fence}diff\n"));
            for line in &lines {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str(&format!("{fence}\n"));
        }
    }
    if r.results_changed() {
        out.push_str("\n## Results\n");
        for part in result_parts(r) {
            out.push_str(&format!("\n### {}\n\n", part.title));
            if let Some(note) = &part.note {
                out.push_str(&format!("{note}\n\n"));
            }
            if let Some(grid) = &part.grid {
                out.push_str(&format!(
                    "| {} |\n",
                    grid.headers
                        .iter()
                        .map(|h| md_cell(h))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
                let align: Vec<&str> = grid
                    .right
                    .iter()
                    .map(|r| if *r { "---:" } else { "---" })
                    .collect();
                out.push_str(&format!("| {} |\n", align.join(" | ")));
                for row in &grid.rows {
                    out.push_str(&format!(
                        "| {} |\n",
                        row.iter()
                            .map(|c| md_cell(c))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ));
                }
            }
            for line in &part.lines {
                out.push_str(&format!("- {line}\n"));
            }
        }
    }
    out
}

/// The comparison for a terminal: the same tables, drawn with comfy-table.
pub fn terminal(r: &DiffReport) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
    let mut out = format!("{}\n", r.summary);
    if r.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "{} → {}, on the data of {}.\n",
        r.old, r.new, r.month
    ));
    if !r.definitions.is_empty() {
        out.push_str(&format!("\n■ Definitions ({})\n", r.definitions.len()));
        for d in &r.definitions {
            out.push_str(&format!("\n  {} {}\n", d.label(), d.change.word()));
            for line in line_diff(d.old.as_deref(), d.new.as_deref()) {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    if r.results_changed() {
        for part in result_parts(r) {
            out.push_str(&format!("\n■ {}\n", part.title));
            if let Some(note) = &part.note {
                out.push_str(&format!("  {note}\n"));
            }
            if let Some(grid) = &part.grid {
                let mut t = Table::new();
                t.load_style(UTF8_FULL_CONDENSED)
                    .set_header(grid.headers.clone());
                for row in &grid.rows {
                    t.add_row(row.iter().zip(&grid.right).map(|(c, right)| {
                        let cell = comfy_table::Cell::new(c);
                        if *right {
                            cell.set_alignment(CellAlignment::Right)
                        } else {
                            cell
                        }
                    }));
                }
                out.push_str(&format!("{t}\n"));
            }
            for line in &part.lines {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out
}
