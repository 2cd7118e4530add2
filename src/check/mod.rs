//! Stage 3: names and types. Builds the symbol tables ([`Env`]), annotates every
//! expression of the tree with its [`Ty`], and collects every error and warning.

mod bands;
mod error;
mod expr;
pub(crate) use expr::is_aggregate;

pub use error::{did_you_mean, CheckError};

use crate::ast::*;
use crate::data::{ColumnSpec, ColumnType};
use crate::span::Span;
use crate::types::{Base, Domain, Shape, Ty};
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};

/// A checked policy: the annotated tree and its symbol tables.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The tree, every expression typed.
    pub policy: Policy,
    /// The symbol tables.
    pub env: Env,
    /// Warnings (errors would have stopped the checker's caller).
    pub warnings: Vec<CheckError>,
}

/// Everything a name can refer to.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// The policy's text, for explanations that quote it.
    pub text: std::sync::Arc<str>,
    /// `rounding`.
    pub rounding: Rounding,
    /// `decimals`.
    pub decimals: u32,
    /// `weights strict`.
    pub weights_strict: bool,
    /// `fingerprint`: how the footer identifies the policy and the data files.
    pub fingerprint: FingerprintKind,
    /// The title.
    pub title: String,
    /// Sources in declaration order.
    pub sources: Vec<SourceDef>,
    /// Units in registry order.
    pub units: Vec<UnitDef>,
    /// Group names in order.
    pub groups: Vec<String>,
    /// Unit names and aliases to unit indices.
    pub unit_lookup: HashMap<String, u32>,
    /// Definitions by name.
    pub defs: HashMap<String, Def>,
    /// Metric, score, bands and ranking names in an order where each comes after what it uses.
    pub order: Vec<String>,
    /// `calendar …`: the working days `workdays(…)` counts.
    pub calendar: Option<std::sync::Arc<crate::calendar::Calendar>>,
    /// `empty "—"`: what is shown for a value that does not exist.
    pub empty_mark: String,
    /// `zeros text`: where shown numbers keep their trailing zeros.
    pub zeros: Zeros,
    /// Definitions of the whole period: made of values `each month`, or of such
    /// definitions. The rest have a value in each month too.
    pub period_level: BTreeSet<String>,
    /// Definitions read only `each month` (and by such definitions): over several
    /// months they have no value of the period, only one in each month.
    pub month_only: BTreeSet<String>,
    /// Whether anything reads values `each month`: the months are then evaluated
    /// one by one too.
    pub each_month: bool,
    /// The commentaries, in declaration order.
    pub commentaries: Vec<CommentaryDef>,
}

impl crate::data::UnitResolver for Env {
    fn resolve(&self, name: &str) -> Option<u32> {
        self.unit_lookup.get(name).copied()
    }

    fn names(&self) -> Vec<String> {
        self.units.iter().map(|u| u.name.clone()).collect()
    }
}

/// A unit of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitDef {
    /// Its name.
    pub name: String,
    /// Index into [`Env::groups`].
    pub group: usize,
}

/// An analyst's commentary on the month: its file and the list its entries describe.
#[derive(Debug, Clone)]
pub struct CommentaryDef {
    /// The name templates read it by.
    pub name: String,
    /// The file, relative to the month's folder.
    pub file: String,
    /// The list whose keys the entries describe.
    pub list: String,
    /// The declaration.
    pub span: Span,
}

/// A source's fields and file.
#[derive(Debug, Clone)]
pub struct SourceDef {
    /// The source's name.
    pub name: String,
    /// The file read.
    pub file: FileSource,
    /// Read from other months' folders: `previous month`, `same period last year`.
    pub shift: Option<Shift>,
    /// The fields, as the loader wants them.
    pub columns: Vec<ColumnSpec>,
    /// The fields' types.
    pub types: Vec<Base>,
}

impl SourceDef {
    /// The index of a field.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The index and type of a field.
    pub fn field(&self, name: &str) -> Option<(usize, Ty)> {
        let i = self.column(name)?;
        let base = self.types.get(i)?.clone();
        let nullable = self.columns.get(i).is_some_and(|c| c.nullable);
        Some((i, Ty::new(base, Shape::Row).nullable(nullable)))
    }
}

/// What an expectation reads: `key.name` or `key.score.part`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectTarget {
    /// The unit or key, if the value is per key.
    pub key: Option<String>,
    /// The definition.
    pub name: String,
    /// A score's term.
    pub part: Option<String>,
}

/// What a definition is.
#[derive(Debug, Clone, PartialEq)]
pub enum DefKind {
    /// Index into [`Env::sources`].
    Source(usize),
    /// A view over a source: the source's index, and the view's item index.
    View {
        /// The root source.
        source: usize,
        /// The view's item, then the items of the views it filters, innermost last.
        items: Vec<usize>,
    },
    /// A metric's item index.
    Metric(usize),
    /// A score's item index.
    Score(usize),
    /// A bands' item index.
    Bands(usize),
    /// A ranking's item index.
    Ranking(usize),
    /// A list's item index.
    List(usize),
    /// A commentary's item index.
    Commentary(usize),
}

/// A named definition.
#[derive(Debug, Clone)]
pub struct Def {
    /// What it is.
    pub kind: DefKind,
    /// Its name as written.
    pub span: Span,
    /// Its type, once checked.
    pub ty: Option<Ty>,
}

/// Checks a policy: every error and warning, or the annotated policy and its warnings.
pub fn check(policy: Policy, text: &str) -> Result<Checked, Vec<CheckError>> {
    check_in(policy, text, None)
}

/// Checks a policy read from a file in `dir`: a `calendar "file"` is read from there.
pub fn check_in(
    policy: Policy,
    text: &str,
    dir: Option<&std::path::Path>,
) -> Result<Checked, Vec<CheckError>> {
    let mut checker = Checker {
        env: Env {
            decimals: 2,
            empty_mark: "—".into(),
            ..Env::default()
        },
        dir: dir.map(|d| d.to_path_buf()),
        deps: HashMap::new(),
        in_each_month: false,
        referrer: None,
        reads: HashMap::new(),
        errors: Vec::new(),
        used: BTreeSet::new(),
        score_term_names: HashMap::new(),
        band_names: HashMap::new(),
        weights_lenient: false,
        text: text.to_string(),
    };
    let mut policy = policy;
    checker.declare(&policy);
    checker.resolve_views(&policy);
    let order = checker.order(&policy);
    for name in &order {
        let Some(def) = checker.env.defs.get(name) else {
            continue;
        };
        // What its dependencies are was settled before it, in this order.
        let period_level = checker.deps.get(name).is_some_and(|uses| {
            uses.iter()
                .any(|u| u == EACH_MONTH || checker.env.period_level.contains(u))
        });
        if period_level {
            checker.env.period_level.insert(name.clone());
        }
        checker.referrer = Some(name.clone());
        match def.kind.clone() {
            DefKind::Metric(i) => {
                if let Some(Item::Metric(m)) = policy.items.get_mut(i) {
                    let ty = checker.metric(m);
                    if ty.is_error() {
                        // Checking may have stopped early: what it names is still used.
                        checker.mark_used(std::slice::from_ref(&m.expr), &None);
                        if let Some(default) = &m.default {
                            checker.mark_used(std::slice::from_ref(default), &None);
                        }
                    }
                    checker.set_ty(name, ty);
                }
            }
            DefKind::Score(i) => {
                if let Some(Item::Score(s)) = policy.items.get_mut(i) {
                    let ty = checker.score(s);
                    checker.set_ty(name, ty);
                }
            }
            DefKind::Bands(i) => {
                if let Some(Item::Bands(b)) = policy.items.get_mut(i) {
                    let ty = checker.bands(b);
                    checker.set_ty(name, ty);
                }
            }
            DefKind::Ranking(i) => {
                if let Some(Item::Ranking(r)) = policy.items.get_mut(i) {
                    let ty = checker.ranking(r);
                    checker.set_ty(name, ty);
                }
            }
            _ => {}
        }
    }
    checker.referrer = None;
    checker.env.order = order;
    checker.env.text = std::sync::Arc::from(text);
    for item in &policy.items {
        if let Item::Commentary(c) = item {
            checker.commentary(c);
        }
    }
    for item in &mut policy.items {
        match item {
            Item::View(view) => checker.view(view),
            Item::Report(report) => checker.report(report),
            Item::List(list) => {
                checker.rows(&mut list.rows);
            }
            _ => {}
        }
    }
    checker.env.month_only = checker.month_only();
    let used_before_tests = checker.used.clone();
    for item in &mut policy.items {
        if let Item::Test(test) = item {
            checker.policy_test(test);
        }
    }
    checker.used = used_before_tests;
    checker.unused();
    checker.allowed(&policy.allows);
    let (warnings, errors): (Vec<_>, Vec<_>) =
        checker.errors.into_iter().partition(|e| e.is_warning());
    if errors.is_empty() {
        Ok(Checked {
            policy,
            env: checker.env,
            warnings,
        })
    } else {
        let mut all = errors;
        all.extend(warnings);
        Err(all)
    }
}

pub(crate) struct Checker {
    pub(crate) env: Env,
    pub(crate) errors: Vec<CheckError>,
    /// Names referenced anywhere.
    pub(crate) used: BTreeSet<String>,
    /// The term names of each score.
    pub(crate) score_term_names: HashMap<String, Vec<String>>,
    /// The band names of each `bands`.
    pub(crate) band_names: HashMap<String, Vec<String>>,
    /// `weights lenient`: weights that do not add up to 100% are intended.
    pub(crate) weights_lenient: bool,
    /// The policy text, to point into templates.
    pub(crate) text: String,
    /// The policy's folder, where a `calendar "file"` is read.
    pub(crate) dir: Option<std::path::PathBuf>,
    /// What each definition names, from [`Checker::order`].
    pub(crate) deps: HashMap<String, Vec<String>>,
    /// Checking the argument of an aggregate `each month`.
    pub(crate) in_each_month: bool,
    /// The definition being checked (none: a report, a list, a view).
    pub(crate) referrer: Option<String>,
    /// The definitions each definition (or, under `None`, the report) reads other
    /// than `each month`.
    pub(crate) reads: HashMap<Option<String>, BTreeSet<String>>,
}

/// The warnings `allow(…)` can acknowledge: the last part of their codes.
const WARNINGS: &[&str] = &["weights", "tie_break", "unused"];

/// Names hotline defines in every policy.
pub(crate) const BUILT_IN_NAMES: &[&str] = &[
    "unit",
    "group",
    "month_start",
    "month_end",
    "period_start",
    "period_end",
];

/// The built-in names that are dates: the bounds of the month and of the period.
pub(crate) fn is_date_name(name: &str) -> bool {
    matches!(
        name,
        "month_start" | "month_end" | "period_start" | "period_end"
    )
}

impl Checker {
    fn set_ty(&mut self, name: &str, ty: Ty) {
        if let Some(def) = self.env.defs.get_mut(name) {
            def.ty = Some(ty);
        }
    }

    /// Drops the warnings that an `allow(…)` before their declaration acknowledges;
    /// an `allow` naming no warning kind is an error.
    fn allowed(&mut self, allows: &[Allow]) {
        for allow in allows {
            for code in &allow.codes {
                if !WARNINGS.contains(&code.name.as_str()) {
                    self.errors.push(CheckError::UnknownName {
                        what: "warning",
                        name: code.name.clone(),
                        help: format!(
                            "{}`allow(…)` acknowledges the warnings {}",
                            Some(did_you_mean(&code.name, WARNINGS.iter().copied()))
                                .filter(|h| h.starts_with("did you mean"))
                                .map(|h| h + " ")
                                .unwrap_or_default(),
                            WARNINGS
                                .iter()
                                .map(|w| format!("`{w}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        span: code.span,
                    });
                }
            }
        }
        self.errors.retain(|e| {
            if !e.is_warning() {
                return true;
            }
            let code = miette::Diagnostic::code(e)
                .map(|c| c.to_string())
                .unwrap_or_default();
            let kind = code.rsplit("::").next().unwrap_or_default();
            let at = miette::Diagnostic::labels(e)
                .and_then(|mut l| l.next())
                .map_or(0, |l| l.offset());
            !allows.iter().any(|a| {
                a.target.start <= at && at <= a.target.end && a.codes.iter().any(|c| c.name == kind)
            })
        });
    }

    fn define(&mut self, name: &Ident, kind: DefKind) {
        if BUILT_IN_NAMES.contains(&name.name.as_str()) {
            self.errors.push(CheckError::Declaration {
                message: format!("`{}` is a built-in name", name.name),
                help: "choose another name".into(),
                span: name.span,
            });
            return;
        }
        if let Some(first) = self.env.defs.get(&name.name) {
            self.errors.push(CheckError::Duplicate {
                name: name.name.clone(),
                span: name.span,
                first: first.span,
            });
            return;
        }
        self.env.defs.insert(
            name.name.clone(),
            Def {
                kind,
                span: name.span,
                ty: None,
            },
        );
    }

    /// Header, sources, units, and every name.
    fn declare(&mut self, policy: &Policy) {
        let mut header_seen: Option<Span> = None;
        let mut units_seen: Option<Span> = None;
        let mut report_seen: Option<Span> = None;
        for (i, item) in policy.items.iter().enumerate() {
            match item {
                Item::Header(h) => {
                    if let Some(first) = header_seen {
                        self.errors.push(CheckError::Duplicate {
                            name: "policy".into(),
                            span: h.span,
                            first,
                        });
                    }
                    header_seen = Some(h.span);
                    self.env.title = h.title.value.clone();
                    if let Some((r, _)) = h.rounding {
                        self.env.rounding = r;
                    }
                    if let Some((d, _)) = h.decimals {
                        self.env.decimals = d;
                    }
                    if let Some((w, _)) = h.weights_strict {
                        self.env.weights_strict = w;
                        self.weights_lenient = !w;
                    }
                    if let Some((f, _)) = h.fingerprint {
                        self.env.fingerprint = f;
                    }
                    if let Some(mark) = &h.empty {
                        self.env.empty_mark = mark.value.clone();
                    }
                    if let Some((z, _)) = h.zeros {
                        self.env.zeros = z;
                    }
                }
                Item::Calendar(c) => self.calendar(c),
                Item::Units(u) => {
                    if let Some(first) = units_seen {
                        self.errors.push(CheckError::Duplicate {
                            name: "units".into(),
                            span: u.span,
                            first,
                        });
                    }
                    units_seen = Some(u.span);
                    self.units(u);
                }
                Item::Report(r) => {
                    if let Some(first) = report_seen {
                        self.errors.push(CheckError::Duplicate {
                            name: "report".into(),
                            span: r.span,
                            first,
                        });
                    }
                    report_seen = Some(r.span);
                }
                Item::Source(_) => {}
                Item::View(v) => self.define(
                    &v.name,
                    DefKind::View {
                        source: usize::MAX,
                        items: vec![i],
                    },
                ),
                Item::Metric(m) => self.define(&m.name, DefKind::Metric(i)),
                Item::Score(s) => {
                    let terms = s
                        .terms
                        .iter()
                        .filter_map(|t| match &t.expr.kind {
                            ExprKind::Name(n) => Some(n.name.clone()),
                            _ => None,
                        })
                        .collect();
                    self.score_term_names.insert(s.name.name.clone(), terms);
                    self.define(&s.name, DefKind::Score(i));
                }
                Item::Bands(b) => {
                    let names = b.bands.iter().map(|b| b.name.name.clone()).collect();
                    self.band_names.insert(b.name.name.clone(), names);
                    self.define(&b.name, DefKind::Bands(i));
                }
                Item::Ranking(r) => self.define(&r.name, DefKind::Ranking(i)),
                Item::List(l) => self.define(&l.name, DefKind::List(i)),
                Item::Commentary(c) => self.define(&c.name, DefKind::Commentary(i)),
                Item::Test(_) => {}
            }
        }
        // Sources after units, so unit fields can be checked against the registry.
        let file_sources: HashMap<&str, &Source> = policy
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Source(s) => Some((s.name.name.as_str(), s)),
                _ => None,
            })
            .collect();
        for item in &policy.items {
            let Item::Source(source) = item else { continue };
            let (file, previous) = match &source.kind {
                SourceKind::File(file) => {
                    self.file_source(file);
                    (file.clone(), None)
                }
                SourceKind::Previous(of, shift) => match file_sources.get(of.name.as_str()) {
                    Some(Source {
                        kind: SourceKind::File(file),
                        ..
                    }) => {
                        self.used.insert(of.name.clone());
                        (file.clone(), Some(*shift))
                    }
                    Some(_) => {
                        self.errors.push(CheckError::Declaration {
                            message: format!("`{}` itself reads other months", of.name),
                            help: "name a source read from a file".into(),
                            span: of.span,
                        });
                        continue;
                    }
                    None => {
                        self.errors.push(CheckError::UnknownName {
                            what: "source",
                            name: of.name.clone(),
                            help: {
                                // Sources read from files, not this one.
                                let mut names: Vec<&str> = file_sources
                                    .iter()
                                    .filter(|(_, s)| matches!(s.kind, SourceKind::File(_)))
                                    .map(|(n, _)| *n)
                                    .collect();
                                names.sort_unstable();
                                did_you_mean(&of.name, names)
                            },
                            span: of.span,
                        });
                        continue;
                    }
                },
            };
            let index = self.env.sources.len();
            let mut def = SourceDef {
                name: source.name.name.clone(),
                file: file.clone(),
                shift: previous,
                columns: Vec::new(),
                types: Vec::new(),
            };
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for field in &file.fields {
                if let Some(first) = seen.insert(&field.name.name, field.name.span) {
                    if previous.is_none() {
                        self.errors.push(CheckError::Duplicate {
                            name: field.name.name.clone(),
                            span: field.name.span,
                            first,
                        });
                    }
                    continue;
                }
                let (ty, base) = self.field_type(field, previous.is_some());
                def.columns.push(ColumnSpec {
                    name: field.name.name.clone(),
                    header: field
                        .header
                        .as_ref()
                        .map_or_else(|| field.name.name.clone(), |h| h.value.clone()),
                    ty,
                    nullable: field.nullable,
                });
                def.types.push(base);
            }
            self.env.sources.push(def);
            self.define(&source.name, DefKind::Source(index));
        }
    }

    fn file_source(&mut self, file: &FileSource) {
        match file.format {
            Format::Xlsx if file.sheet.is_none() => self.errors.push(CheckError::Declaration {
                message: "an xlsx source needs a sheet".into(),
                help: "add `sheet \"Sheet1\"` after the file name".into(),
                span: file.path.span,
            }),
            Format::Csv => {}
            _ => {
                if let Some((_, span)) = file.encoding {
                    self.errors.push(CheckError::Declaration {
                        message: "only csv sources have an encoding".into(),
                        help: "remove `encoding`".into(),
                        span,
                    });
                }
            }
        }
        if file.format != Format::Xlsx {
            if let Some(sheet) = &file.sheet {
                self.errors.push(CheckError::Declaration {
                    message: "only xlsx sources have sheets".into(),
                    help: "remove `sheet`".into(),
                    span: sheet.span,
                });
            }
        }
        if file.fields.is_empty() {
            self.errors.push(CheckError::Declaration {
                message: format!("the source `{}` declares no fields", file.path.value),
                help: "list the columns used, e.g. `承办单位 unit`".into(),
                span: file.path.span,
            });
        }
    }

    fn field_type(&mut self, field: &Field, quiet: bool) -> (ColumnType, Base) {
        match &field.ty {
            FieldType::Text => (ColumnType::Text, Base::Text),
            FieldType::Integer => (ColumnType::Integer, Base::Int),
            FieldType::Decimal => (ColumnType::Decimal, Base::Number),
            FieldType::Percent => (ColumnType::Percent, Base::Percent),
            FieldType::Unit => {
                if self.env.units.is_empty() && !quiet {
                    self.errors.push(CheckError::Declaration {
                        message: format!(
                            "`{}` is a unit field but no units are declared",
                            field.name.name
                        ),
                        help: "declare the units: `units { 镇街: 鱼山镇, 姚寨镇 }`".into(),
                        span: field.span,
                    });
                }
                (ColumnType::Unit, Base::Unit)
            }
            FieldType::Bool(spellings) => {
                let mut t = Vec::new();
                let mut f = Vec::new();
                for (s, v) in spellings {
                    if *v {
                        t.push(s.name.clone());
                    } else {
                        f.push(s.name.clone());
                    }
                }
                if spellings.is_empty() {
                    t = vec!["true".into(), "是".into()];
                    f = vec!["false".into(), "否".into()];
                }
                (
                    ColumnType::Bool {
                        true_spellings: t,
                        false_spellings: f,
                    },
                    Base::Bool,
                )
            }
            FieldType::DateTime(format) => {
                let format = format
                    .as_ref()
                    .map_or_else(|| "%Y-%m-%d %H:%M:%S".to_string(), |f| f.value.clone());
                if let Some(f) = field_format(&field.ty) {
                    let bad = chrono::format::StrftimeItems::new(&format)
                        .any(|i| matches!(i, chrono::format::Item::Error));
                    if bad && !quiet {
                        self.errors.push(CheckError::Declaration {
                            message: format!("`{format}` is not a valid date-time format"),
                            help: "use strftime codes such as `%Y-%m-%d %H:%M:%S`".into(),
                            span: f,
                        });
                    }
                }
                (ColumnType::DateTime { format }, Base::DateTime)
            }
            FieldType::Enum(labels) => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for l in labels {
                    if let Some(first) = seen.insert(&l.name, l.span) {
                        if !quiet {
                            self.errors.push(CheckError::Duplicate {
                                name: l.name.clone(),
                                span: l.span,
                                first,
                            });
                        }
                    }
                }
                let names: Vec<String> = labels.iter().map(|l| l.name.clone()).collect();
                (
                    ColumnType::Enum {
                        labels: names.clone(),
                    },
                    Base::Enum(names),
                )
            }
        }
    }

    fn units(&mut self, units: &Units) {
        let mut spans: HashMap<String, Span> = HashMap::new();
        for group in &units.groups {
            if let Some(first) = spans.insert(group.name.name.clone(), group.name.span) {
                self.errors.push(CheckError::Duplicate {
                    name: group.name.name.clone(),
                    span: group.name.span,
                    first,
                });
            }
            let g = self.env.groups.len();
            self.env.groups.push(group.name.name.clone());
            for unit in &group.units {
                if let Some(first) = spans.insert(unit.name.clone(), unit.span) {
                    self.errors.push(CheckError::Duplicate {
                        name: unit.name.clone(),
                        span: unit.span,
                        first,
                    });
                    continue;
                }
                let id = self.env.units.len() as u32;
                self.env.units.push(UnitDef {
                    name: unit.name.clone(),
                    group: g,
                });
                self.env.unit_lookup.insert(unit.name.clone(), id);
            }
        }
        for alias in &units.aliases {
            match self.env.unit_lookup.get(&alias.to.name).copied() {
                Some(id) => {
                    if let Some(first) = spans.insert(alias.from.name.clone(), alias.from.span) {
                        self.errors.push(CheckError::Duplicate {
                            name: alias.from.name.clone(),
                            span: alias.from.span,
                            first,
                        });
                    } else {
                        self.env.unit_lookup.insert(alias.from.name.clone(), id);
                    }
                }
                None => {
                    let names: Vec<&str> = self.env.units.iter().map(|u| u.name.as_str()).collect();
                    self.errors.push(CheckError::UnknownName {
                        what: "unit",
                        name: alias.to.name.clone(),
                        help: did_you_mean(&alias.to.name, names),
                        span: alias.to.span,
                    });
                }
            }
        }
    }

    /// Resolves each view to its root source.
    fn resolve_views(&mut self, policy: &Policy) {
        let mut views: Vec<(String, usize)> = self
            .env
            .defs
            .iter()
            .filter_map(|(n, d)| match &d.kind {
                DefKind::View { items, .. } => items.first().map(|i| (n.clone(), *i)),
                _ => None,
            })
            .collect();
        // In the order written, so that errors come out the same every time.
        views.sort_by_key(|(_, item)| *item);
        let mut in_cycles: BTreeSet<usize> = BTreeSet::new();
        for (name, item) in views {
            let mut items = vec![item];
            // The same views as `items`, for a constant-time cycle test.
            let mut seen: std::collections::HashSet<usize> =
                std::collections::HashSet::from([item]);
            let mut current = item;
            let source = loop {
                let Some(Item::View(view)) = policy.items.get(current) else {
                    break None;
                };
                match self.env.defs.get(&view.source.name).map(|d| d.kind.clone()) {
                    Some(DefKind::Source(s)) => break Some(s),
                    Some(DefKind::View { items: vi, .. }) => {
                        let Some(next) = vi.first().copied() else {
                            break None;
                        };
                        if let Some(start) = seen
                            .contains(&next)
                            .then(|| items.iter().position(|i| *i == next))
                            .flatten()
                        {
                            // Report each cycle once, from its first view.
                            let cycle: Vec<usize> = items.get(start..).unwrap_or(&[]).to_vec();
                            if cycle.iter().all(|i| in_cycles.insert(*i)) {
                                let view_name = |i: &usize| match policy.items.get(*i) {
                                    Some(Item::View(v)) => Some(&v.name),
                                    _ => None,
                                };
                                let mut names: Vec<String> = cycle
                                    .iter()
                                    .filter_map(view_name)
                                    .map(|n| format!("`{}`", n.name))
                                    .collect();
                                names.extend(names.first().cloned());
                                if let Some(first) = cycle.first().and_then(view_name) {
                                    self.errors.push(CheckError::Cycle {
                                        name: first.name.clone(),
                                        cycle: names.join(" → "),
                                        span: first.span,
                                    });
                                }
                            }
                            break None;
                        }
                        items.push(next);
                        seen.insert(next);
                        current = next;
                    }
                    _ => {
                        let mut candidates: Vec<String> = self
                            .env
                            .defs
                            .iter()
                            .filter(|(_, d)| {
                                matches!(d.kind, DefKind::Source(_) | DefKind::View { .. })
                            })
                            .map(|(n, _)| n.clone())
                            .collect();
                        candidates.sort_unstable();
                        if current == item {
                            self.errors.push(CheckError::UnknownName {
                                what: "source",
                                name: view.source.name.clone(),
                                help: did_you_mean(
                                    &view.source.name,
                                    candidates.iter().map(|s| s.as_str()),
                                ),
                                span: view.source.span,
                            });
                        }
                        break None;
                    }
                }
            };
            if let Some(def) = self.env.defs.get_mut(&name) {
                def.kind = DefKind::View {
                    source: source.unwrap_or(usize::MAX),
                    items,
                };
            }
        }
    }

    /// The root source of a source or view name.
    pub(crate) fn source_of(&self, name: &str) -> Option<usize> {
        match self.env.defs.get(name).map(|d| &d.kind) {
            Some(DefKind::Source(s)) => Some(*s),
            Some(DefKind::View { source, .. }) if *source != usize::MAX => Some(*source),
            _ => None,
        }
    }

    fn view(&mut self, view: &mut View) {
        self.used.insert(view.source.name.clone());
        let Some(source) = self.source_of(&view.name.name) else {
            return;
        };
        let ctx = expr::Ctx::Row { source };
        let ty = self.expr(&mut view.filter, &ctx);
        self.expect_bool(&ty, view.filter.span);
    }

    fn metric(&mut self, metric: &mut Metric) -> Ty {
        let domain = match (&metric.from, &metric.by) {
            (_, None) => None,
            (None, Some(by)) => {
                self.errors.push(CheckError::Declaration {
                    message: "`by` needs `from`".into(),
                    help: "say which rows are grouped: `from 派单 by 承办单位`".into(),
                    span: by.span,
                });
                return Ty::error();
            }
            (Some(from), Some(by)) => {
                let Some(source) = self.source_of(&from.source.name) else {
                    return self.unknown_source(&from.source);
                };
                match self.env.sources.get(source).and_then(|s| s.field(&by.name)) {
                    Some((_, ty)) => match ty.base {
                        Base::Unit => Some(Domain::Unit),
                        Base::Text | Base::Enum(_) => Some(Domain::Field(by.name.clone())),
                        other => {
                            self.errors.push(CheckError::Mismatch {
                                expected: "a unit, text or label field".into(),
                                found: other.to_string(),
                                help: "group by a field such as `承办单位` or `二级分类`".into(),
                                span: by.span,
                            });
                            return Ty::error();
                        }
                    },
                    None => {
                        let names = self.field_names(source);
                        self.errors.push(CheckError::UnknownName {
                            what: "field",
                            name: by.name.clone(),
                            help: did_you_mean(&by.name, names.iter().map(|s| s.as_str())),
                            span: by.span,
                        });
                        return Ty::error();
                    }
                }
            }
        };
        let ty = match &mut metric.from {
            Some(from) => {
                self.used.insert(from.source.name.clone());
                let Some(source) = self.source_of(&from.source.name) else {
                    return self.unknown_source(&from.source);
                };
                if let Some(filter) = &mut from.filter {
                    let t = self.expr(filter, &expr::Ctx::Row { source });
                    self.expect_bool(&t, filter.span);
                }
                let ctx = expr::Ctx::Group {
                    source,
                    domain: domain.clone(),
                };
                let mut ty = self.expr(&mut metric.expr, &ctx);
                if ty.shape == Shape::Row && !ty.is_error() {
                    self.errors.push(CheckError::Shape {
                        message: "a metric must aggregate its rows".into(),
                        help: "wrap the value in `mean(…)`, `sum(…)`, `min(…)`, `max(…)`, or count rows with `count(…)`".into(),
                        span: metric.expr.span,
                    });
                    ty = Ty::error();
                }
                ty.shape = match domain {
                    Some(d) => Shape::Keyed(d),
                    None => Shape::Scalar,
                };
                ty
            }
            None => self.expr(&mut metric.expr, &expr::Ctx::Domain { domain: None }),
        };
        let ty = match &mut metric.default {
            Some(default) => {
                let dty = self.expr(default, &expr::Ctx::Domain { domain: None });
                if !ty.is_error()
                    && !dty.is_error()
                    && !numeric_compatible(&ty.base, &dty.base)
                    && ty.base != dty.base
                {
                    self.errors.push(CheckError::Mismatch {
                        expected: ty.base.to_string(),
                        found: dty.base.to_string(),
                        help: "the default must have the metric's type".into(),
                        span: default.span,
                    });
                }
                ty.nullable(dty.nullable)
            }
            None => ty,
        };
        self.only(&mut metric.only, ty)
    }

    /// `only where COND`: the condition is checked per key of the value, which can
    /// then be empty.
    fn only(&mut self, only: &mut Option<Expr>, ty: Ty) -> Ty {
        let Some(cond) = only else {
            return ty;
        };
        let domain = match &ty.shape {
            Shape::Keyed(d) => Some(d.clone()),
            _ => None,
        };
        let cty = self.expr(cond, &expr::Ctx::Domain { domain });
        if cty.is_error() || ty.is_error() {
            return ty.nullable(true);
        }
        self.expect_bool(&cty, cond.span);
        let Some(shape) = self.join_shapes(&ty.shape, &cty.shape, cond.span) else {
            return Ty::error();
        };
        Ty { shape, ..ty }.nullable(true)
    }

    /// `calendar china` or `calendar "file"`.
    fn calendar(&mut self, decl: &CalendarDecl) {
        // Every problem of the file, each with its line (`line 3: …`).
        let joined = |errors: &[crate::calendar::CalendarError]| {
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        };
        if self.env.calendar.is_some() {
            self.errors.push(CheckError::Declaration {
                message: "a policy has one calendar".into(),
                help: "remove one of the `calendar` declarations".into(),
                span: decl.span,
            });
            return;
        }
        let parsed = if decl.file {
            let Some(dir) = &self.dir else {
                self.errors.push(CheckError::Declaration {
                    message: format!("the calendar file `{}` cannot be read here", decl.name.name),
                    help: "a calendar file is read next to the policy file; check the policy from its file, or use `calendar china`".into(),
                    span: decl.name.span,
                });
                return;
            };
            let path = dir.join(&decl.name.name);
            match std::fs::read_to_string(&path) {
                Ok(text) => crate::calendar::Calendar::parse(&text).map_err(|e| joined(&e)),
                Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
            }
        } else if decl.name.name == "china" {
            crate::calendar::Calendar::china().map_err(|e| joined(&e))
        } else {
            self.errors.push(CheckError::UnknownName {
                what: "calendar",
                name: decl.name.name.clone(),
                help: "hotline ships `calendar china` (China's official holidays and make-up working days); a county's own calendar is a file: `calendar \"county.calendar\"`".into(),
                span: decl.name.span,
            });
            return;
        };
        match parsed {
            Ok(calendar) => self.env.calendar = Some(std::sync::Arc::new(calendar)),
            Err(message) => self.errors.push(CheckError::Declaration {
                message: format!("the calendar `{}` is not valid: {message}", decl.name.name),
                help: "see the calendar format in README.md".into(),
                span: decl.name.span,
            }),
        }
    }

    fn unknown_source(&mut self, name: &Ident) -> Ty {
        if let Some(DefKind::View { .. }) = self.env.defs.get(&name.name).map(|d| &d.kind) {
            // A view whose own source is broken: that was reported with the view.
            return Ty::error();
        }
        let mut candidates: Vec<String> = self
            .env
            .defs
            .iter()
            .filter(|(_, d)| matches!(d.kind, DefKind::Source(_) | DefKind::View { .. }))
            .map(|(n, _)| n.clone())
            .collect();
        candidates.sort_unstable();
        self.errors.push(CheckError::UnknownName {
            what: "source",
            name: name.name.clone(),
            help: did_you_mean(&name.name, candidates.iter().map(|s| s.as_str())),
            span: name.span,
        });
        Ty::error()
    }

    pub(crate) fn field_names(&self, source: usize) -> Vec<String> {
        self.env
            .sources
            .get(source)
            .map(|s| s.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default()
    }

    fn score(&mut self, score: &mut Score) -> Ty {
        let conditional = score.only.is_some();
        let mut total = Decimal::ZERO;
        let mut any_weight = false;
        let mut shape = Shape::Scalar;
        for term in &mut score.terms {
            // Weights count even where the term has an error, so one error stays one message.
            if let Some((w, _)) = term.weight {
                any_weight = true;
                total += w;
            }
            let ty = self.expr(&mut term.expr, &expr::Ctx::Domain { domain: None });
            if ty.is_error() {
                continue;
            }
            shape = match self.join_shapes(&shape, &ty.shape, term.expr.span) {
                Some(s) => s,
                None => continue,
            };
            // Under `only where`, a term empty where the score is scored is an
            // evaluation error naming the unit.
            if ty.nullable && !conditional {
                self.nullable_error(&term.expr);
            }
            match term.weight {
                Some(_) => {
                    if !matches!(ty.base, Base::Percent | Base::Number | Base::Int) {
                        self.errors.push(CheckError::Mismatch {
                            expected: "a percentage or a number".into(),
                            found: ty.base.to_string(),
                            help: "a weight multiplies a rate or a number of points".into(),
                            span: term.expr.span,
                        });
                    }
                }
                None => {
                    if ty.base == Base::Percent {
                        self.errors.push(CheckError::Mismatch {
                            expected: "points (a number)".into(),
                            found: "a percentage".into(),
                            help: "give the rate a weight, e.g. `50% 综合满意率`".into(),
                            span: term.expr.span,
                        });
                    } else if !matches!(ty.base, Base::Number | Base::Int) {
                        self.errors.push(CheckError::Mismatch {
                            expected: "points (a number)".into(),
                            found: ty.base.to_string(),
                            help: "a score adds up numbers".into(),
                            span: term.expr.span,
                        });
                    }
                }
            }
        }
        if any_weight && total != Decimal::from(100) && !self.weights_lenient {
            let total = total.normalize().to_string();
            let name = score.name.name.clone();
            self.errors.push(if self.env.weights_strict {
                CheckError::Weights {
                    name,
                    total,
                    span: score.span,
                }
            } else {
                CheckError::WeightsWarning {
                    name,
                    total,
                    span: score.span,
                }
            });
        }
        let ty = Ty::new(Base::Number, shape);
        self.only(&mut score.only, ty)
    }

    pub(crate) fn nullable_error(&mut self, expr: &Expr) {
        let name = match &expr.kind {
            ExprKind::Name(n) => n.name.clone(),
            _ => "this value".to_string(),
        };
        // Literals of the value's own kind: a rate's default is a percentage.
        let percent = expr.ty.as_ref().is_some_and(|t| t.base == Base::Percent);
        let (full, zero) = if percent { ("100%", "0%") } else { ("0", "0") };
        let metric = match &expr.kind {
            ExprKind::Name(n) => matches!(
                self.env.defs.get(&n.name).map(|d| &d.kind),
                Some(DefKind::Metric(_))
            ),
            _ => false,
        };
        let help = match &expr.kind {
            ExprKind::Name(n) if metric => format!(
                "give `metric {0}` a `default {full}` for empty cases, or write `{0} ?? {zero}` here",
                n.name
            ),
            _ => format!("give it a value for empty cases with `?? {zero}`"),
        };
        self.errors.push(CheckError::Nullable {
            name,
            help,
            span: expr.span,
        });
    }

    pub(crate) fn join_shapes(&mut self, a: &Shape, b: &Shape, span: Span) -> Option<Shape> {
        match (a, b) {
            (Shape::Scalar, other) | (other, Shape::Scalar) => Some(other.clone()),
            (Shape::Row, Shape::Row) => Some(Shape::Row),
            (Shape::Keyed(x), Shape::Keyed(y)) if x == y => Some(a.clone()),
            (Shape::Keyed(x), Shape::Keyed(y)) => {
                self.errors.push(CheckError::Shape {
                    message: format!("values per {x} and per {y} cannot be combined"),
                    help: "combine metrics grouped by the same field".into(),
                    span,
                });
                None
            }
            _ => {
                self.errors.push(CheckError::Shape {
                    message: "a row value cannot be combined with a metric here".into(),
                    help: "aggregate the rows first".into(),
                    span,
                });
                None
            }
        }
    }

    fn bands(&mut self, bands: &mut Bands) -> Ty {
        let ty = self.expr(&mut bands.on, &expr::Ctx::Domain { domain: None });
        if ty.is_error() {
            return Ty::error();
        }
        if !ty.is_numeric() {
            self.errors.push(CheckError::Mismatch {
                expected: "a number".into(),
                found: ty.base.to_string(),
                help: "bands divide a numeric value such as `承办量`".into(),
                span: bands.on.span,
            });
            return Ty::error();
        }
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for b in &bands.bands {
            if let Some(first) = seen.insert(&b.name.name, b.name.span) {
                self.errors.push(CheckError::Duplicate {
                    name: b.name.name.clone(),
                    span: b.name.span,
                    first,
                });
            }
        }
        let errors = bands::coverage(&bands.name.name, &bands.bands, ty.base == Base::Int);
        self.errors.extend(errors);
        Ty::new(Base::Band(bands.name.name.clone()), ty.shape).nullable(true)
    }

    fn ranking(&mut self, ranking: &mut Ranking) -> Ty {
        let mut shape = Shape::Scalar;
        for key in &mut ranking.keys {
            let ty = self.expr(&mut key.expr, &expr::Ctx::Domain { domain: None });
            if ty.is_error() {
                continue;
            }
            // Keys with an empty sort value are not ranked.
            if let Some(s) = self.join_shapes(&shape, &ty.shape, key.expr.span) {
                shape = s;
            }
        }
        if let Some(filter) = &mut ranking.filter {
            let ty = self.expr(filter, &expr::Ctx::Domain { domain: None });
            self.expect_bool(&ty, filter.span);
            if let Some(s) = self.join_shapes(&shape, &ty.shape, filter.span) {
                shape = s;
            }
        }
        for w in &ranking.within {
            if w.name == "group" {
                continue;
            }
            self.reads(&w.name);
            match self.env.defs.get(&w.name).map(|d| d.kind.clone()) {
                Some(DefKind::Bands(_)) => {}
                _ => {
                    let mut names: Vec<String> = self
                        .env
                        .defs
                        .iter()
                        .filter(|(_, d)| matches!(d.kind, DefKind::Bands(_)))
                        .map(|(n, _)| n.clone())
                        .chain(["group".to_string()])
                        .collect();
                    names.sort_unstable();
                    self.errors.push(CheckError::UnknownName {
                        what: "bands",
                        name: w.name.clone(),
                        help: did_you_mean(&w.name, names.iter().map(|s| s.as_str())),
                        span: w.span,
                    });
                }
            }
        }
        if shape == Shape::Scalar {
            shape = Shape::Keyed(Domain::Unit);
        }
        let declared = ranking.ties.is_some_and(|(t, _)| t != Ties::Ordered);
        if let ([only], false) = (ranking.keys.as_slice(), declared) {
            self.errors.push(CheckError::TieBreak {
                name: ranking.name.name.clone(),
                span: only.expr.span,
            });
        }
        Ty::new(Base::Int, shape).nullable(true)
    }

    fn report(&mut self, report: &mut Report) {
        if let Some(title) = &report.title {
            self.template(title);
        }
        // `like "附表 1"` copies the columns of an earlier table.
        let mut columns: HashMap<String, Vec<Column>> = HashMap::new();
        for section in &mut report.sections {
            let Section::Table(table) = section else {
                continue;
            };
            if let Some(like) = &table.like {
                match columns.get(&like.value) {
                    Some(cols) if table.columns.is_empty() => table.columns = cols.clone(),
                    Some(_) => self.errors.push(CheckError::Declaration {
                        message: format!(
                            "the table takes its columns from `{}` and also lists its own",
                            like.value
                        ),
                        help: "remove `like`, or remove the columns".into(),
                        span: like.span,
                    }),
                    None => {
                        let names: Vec<&str> = columns.keys().map(|s| s.as_str()).collect();
                        self.errors.push(CheckError::UnknownName {
                            what: "table",
                            name: like.value.clone(),
                            help: did_you_mean(&like.value, names),
                            span: like.span,
                        });
                    }
                }
            }
            columns.insert(table.name.value.clone(), table.columns.clone());
        }
        for section in &mut report.sections {
            match section {
                Section::Table(table) => self.table(table),
                Section::Text(text) => self.template(text),
                Section::Heading(h) => self.template(h),
                Section::Chart(chart) => self.chart(chart),
            }
        }
    }

    fn table(&mut self, table: &mut Table) {
        for title in &table.titles {
            self.template(title);
        }
        let Some(domain) = self.rows(&mut table.rows) else {
            return;
        };
        let ctx = expr::Ctx::Domain {
            domain: Some(domain.clone()),
        };
        for column in &mut table.columns {
            let ty = self.column(column, &ctx);
            self.expect_domain(&ty, &domain, column.expr.span);
        }
    }

    /// A table's column or a chart's bar; `… each month` is one per month of the period.
    fn column(&mut self, column: &mut Column, ctx: &expr::Ctx) -> Ty {
        let ExprKind::EachMonth(inner) = &mut column.expr.kind else {
            if column.header.value.contains("{{") || column.header.value.contains("{%") {
                self.template(&column.header);
            }
            return self.expr(&mut column.expr, ctx);
        };
        self.template(&column.header);
        self.env.each_month = true;
        self.in_each_month = true;
        let ty = self.expr(inner, ctx);
        self.in_each_month = false;
        if !self.of_one_month(
            inner,
            None,
            "a column `each month` shows a value of each month; show the period's value in a column of its own",
        ) {
            return Ty::error();
        }
        column.expr.ty = Some(ty.clone());
        ty
    }

    fn chart(&mut self, chart: &mut Chart) {
        for title in &chart.titles {
            self.template(title);
        }
        let Some(domain) = self.rows(&mut chart.rows) else {
            return;
        };
        let ctx = expr::Ctx::Domain {
            domain: Some(domain.clone()),
        };
        for bar in &mut chart.bars {
            let ty = self.column(bar, &ctx);
            self.expect_domain(&ty, &domain, bar.expr.span);
            if !ty.is_numeric() {
                self.errors.push(CheckError::Mismatch {
                    expected: "a number".into(),
                    found: ty.base.to_string(),
                    help: "a bar shows a count, a rate or a score".into(),
                    span: bar.expr.span,
                });
            }
        }
    }

    /// Checks a test's data sources and expectations.
    pub(crate) fn policy_test(&mut self, test: &mut PolicyTest) {
        for (source, _) in &test.data {
            if !matches!(
                self.env.defs.get(&source.name).map(|d| &d.kind),
                Some(DefKind::Source(_))
            ) {
                let names: Vec<&str> = self.env.sources.iter().map(|s| s.name.as_str()).collect();
                self.errors.push(CheckError::UnknownName {
                    what: "source",
                    name: source.name.clone(),
                    help: did_you_mean(&source.name, names),
                    span: source.span,
                });
            }
        }
        if let Some(month) = &test.month {
            if crate::eval::Month::parse(&month.value).is_none() {
                self.errors.push(CheckError::Declaration {
                    message: format!("`{}` is not a month", month.value),
                    help: "write `month 2023-03`".into(),
                    span: month.span,
                });
            }
        }
        for expect in &mut test.expects {
            if expect.empty.is_none() {
                self.expr(&mut expect.expected, &expr::Ctx::Domain { domain: None });
            }
            if let Err(e) = self.expect_target(&expect.target) {
                self.errors.push(e);
            }
        }
    }

    /// Resolves `姜楼镇.按时办理率`, `收件总量`, or `姜楼镇.总得分.响应率`.
    pub(crate) fn expect_target(&self, target: &[Ident]) -> Result<ExpectTarget, CheckError> {
        let values: Vec<&str> = self
            .env
            .defs
            .iter()
            .filter(|(_, d)| {
                matches!(
                    d.kind,
                    DefKind::Metric(_)
                        | DefKind::Score(_)
                        | DefKind::Bands(_)
                        | DefKind::Ranking(_)
                )
            })
            .map(|(n, _)| n.as_str())
            .collect();
        let is_value = |name: &str| values.contains(&name);
        let unknown = |ident: &Ident| CheckError::UnknownName {
            what: "value",
            name: ident.name.clone(),
            help: did_you_mean(&ident.name, values.iter().copied()),
            span: ident.span,
        };
        let (key, rest): (Option<&Ident>, &[Ident]) = match target {
            [] => {
                return Err(CheckError::Declaration {
                    message: "nothing is expected".into(),
                    help: "write `expect 姜楼镇.按时办理率 == 94.85%`".into(),
                    span: Span::default(),
                })
            }
            [first, ..] if is_value(&first.name) => (None, target),
            [first, rest @ ..] => {
                if rest.is_empty() {
                    return Err(unknown(first));
                }
                (Some(first), rest)
            }
        };
        let Some(def) = rest.first() else {
            return Err(CheckError::Declaration {
                message: "nothing is expected".into(),
                help: "write `expect 姜楼镇.按时办理率 == 94.85%`".into(),
                span: Span::default(),
            });
        };
        if !is_value(&def.name) {
            return Err(unknown(def));
        }
        let ty = self.env.defs.get(&def.name).and_then(|d| d.ty.clone());
        if let (Some(key), Some(ty)) = (key, &ty) {
            match &ty.shape {
                Shape::Keyed(Domain::Unit) if !self.env.unit_lookup.contains_key(&key.name) => {
                    let names: Vec<&str> = self.env.units.iter().map(|u| u.name.as_str()).collect();
                    return Err(CheckError::UnknownName {
                        what: "unit",
                        name: key.name.clone(),
                        help: did_you_mean(&key.name, names),
                        span: key.span,
                    });
                }
                Shape::Scalar => {
                    return Err(CheckError::Shape {
                        message: format!("`{}` has one value, not one per key", def.name),
                        help: format!("write `expect {} == …`", def.name),
                        span: key.span,
                    })
                }
                _ => {}
            }
        }
        let part = match rest.get(1) {
            None => None,
            Some(term) => {
                let terms = self
                    .score_term_names
                    .get(&def.name)
                    .cloned()
                    .unwrap_or_default();
                if !terms.contains(&term.name) {
                    return Err(CheckError::UnknownName {
                        what: "score term",
                        name: term.name.clone(),
                        help: did_you_mean(&term.name, terms.iter().map(|s| s.as_str())),
                        span: term.span,
                    });
                }
                Some(term.name.clone())
            }
        };
        Ok(ExpectTarget {
            key: key.map(|k| k.name.clone()),
            name: def.name.clone(),
            part,
        })
    }

    /// Checks a selection of keys; returns their domain.
    fn rows(&mut self, rows: &mut Rows) -> Option<Domain> {
        let domain = if rows.domain.name == "unit" {
            Domain::Unit
        } else {
            let known = self
                .env
                .sources
                .iter()
                .any(|s| s.field(&rows.domain.name).is_some());
            if !known {
                let mut names = vec!["unit".to_string()];
                for s in &self.env.sources {
                    names.extend(s.columns.iter().map(|c| c.name.clone()));
                }
                self.errors.push(CheckError::UnknownName {
                    what: "row domain",
                    name: rows.domain.name.clone(),
                    help: did_you_mean(&rows.domain.name, names.iter().map(|s| s.as_str())),
                    span: rows.domain.span,
                });
                return None;
            }
            Domain::Field(rows.domain.name.clone())
        };
        let ctx = expr::Ctx::Domain {
            domain: Some(domain.clone()),
        };
        if let Some(filter) = &mut rows.filter {
            let ty = self.expr(filter, &ctx);
            self.expect_bool(&ty, filter.span);
            self.expect_domain(&ty, &domain, filter.span);
        }
        for key in &mut rows.order {
            let ty = self.expr(&mut key.expr, &ctx);
            self.expect_domain(&ty, &domain, key.expr.span);
        }
        if let (true, Some((_, span))) = (rows.with_ties, rows.top) {
            if rows.order.is_empty() {
                self.errors.push(CheckError::Declaration {
                    message: "`with ties` needs an order".into(),
                    help: "ties are equal values of the `order by` keys: write `order by 排名 top 3 with ties`".into(),
                    span,
                });
            }
        }
        Some(domain)
    }

    fn expect_domain(&mut self, ty: &Ty, domain: &Domain, span: Span) {
        if let Shape::Keyed(d) = &ty.shape {
            if d != domain {
                self.errors.push(CheckError::Shape {
                    message: format!(
                        "this value is per {d}, but the table's rows are per {domain}"
                    ),
                    help: "use metrics grouped by the table's row field".into(),
                    span,
                });
            }
        }
    }

    /// Checks a template: its syntax, and that every value it reads exists.
    fn template(&mut self, text: &Str) {
        let env = crate::template::environment();
        let template = match env.template_from_str(&text.value) {
            Ok(t) => t,
            Err(e) => {
                let snippet = e.range().and_then(|r| text.value.get(r)).unwrap_or("");
                let span = self.find_in(text.span, snippet);
                self.errors.push(CheckError::Declaration {
                    message: format!("the template does not parse: {}", e.detail().unwrap_or("syntax error")),
                    help: "templates use minijinja syntax: `{{ 全县响应率 }}`, `{% for … %}…{% endfor %}`".into(),
                    span,
                });
                return;
            }
        };
        self.template_comparisons(text);
        let mut names: Vec<String> = template.undeclared_variables(false).into_iter().collect();
        names.sort();
        for name in names {
            if self.env.defs.contains_key(&name) {
                self.reads(&name);
                continue;
            }
            if crate::template::CONTEXT_NAMES.contains(&name.as_str())
                || crate::template::is_global(&env, &name)
            {
                continue;
            }
            let span = self.find_in(text.span, &name);
            let mut known: Vec<&str> = self
                .env
                .defs
                .iter()
                .filter(|(_, d)| !matches!(d.kind, DefKind::Source(_) | DefKind::View { .. }))
                .map(|(n, _)| n.as_str())
                .chain(crate::template::CONTEXT_NAMES.iter().copied())
                .collect();
            known.sort_unstable();
            self.errors.push(CheckError::UnknownName {
                what: "value in template",
                help: did_you_mean(&name, known),
                name,
                span,
            });
        }
    }

    /// The span of the first occurrence of `needle` inside `within`, or `within` itself.
    fn find_in(&self, within: Span, needle: &str) -> Span {
        if needle.is_empty() {
            return within;
        }
        self.text
            .get(within.start..within.end)
            .and_then(|slice| slice.find(needle))
            .map_or(within, |at| {
                Span::new(within.start + at, within.start + at + needle.len())
            })
    }

    pub(crate) fn expect_bool(&mut self, ty: &Ty, span: Span) {
        if !ty.is_error() && ty.base != Base::Bool {
            self.errors.push(CheckError::Mismatch {
                expected: "a yes/no condition".into(),
                found: ty.base.to_string(),
                help: "compare the value, e.g. `办理方式 == \"派单\"`".into(),
                span,
            });
        }
    }

    fn unused(&mut self) {
        let mut unused: Vec<(String, Span)> = self
            .env
            .defs
            .iter()
            .filter(|(name, _)| !self.used.contains(*name))
            .map(|(name, def)| (name.clone(), def.span))
            .collect();
        unused.sort_by_key(|(_, span)| span.start);
        for (name, span) in unused {
            self.errors.push(CheckError::Unused { name, span });
        }
    }

    /// A commentary names a list of this policy, and a file in the month's folder.
    fn commentary(&mut self, c: &Commentary) {
        if !matches!(
            self.env.defs.get(&c.list.name).map(|d| &d.kind),
            Some(DefKind::List(_))
        ) {
            let lists: Vec<&str> = self
                .env
                .defs
                .iter()
                .filter(|(_, d)| matches!(d.kind, DefKind::List(_)))
                .map(|(n, _)| n.as_str())
                .collect();
            self.errors.push(CheckError::UnknownName {
                what: "list",
                name: c.list.name.clone(),
                help: if lists.is_empty() {
                    "a commentary describes the keys of a list: `list 热点问题 = 二级分类 order by 话题件数 desc top 6`".into()
                } else {
                    did_you_mean(&c.list.name, lists)
                },
                span: c.list.span,
            });
            return;
        }
        self.used.insert(c.list.name.clone());
        let file = std::path::Path::new(&c.file.value);
        if c.file.value.is_empty()
            || file.is_absolute()
            || file
                .components()
                .any(|p| !matches!(p, std::path::Component::Normal(_)))
        {
            self.errors.push(CheckError::Declaration {
                message: format!("`{}` is not a file of the month's folder", c.file.value),
                help: "name the file by itself: `commentary 热点分析 from \"commentary.md\" for 热点问题`".into(),
                span: c.file.span,
            });
            return;
        }
        self.env.commentaries.push(CommentaryDef {
            name: c.name.name.clone(),
            file: c.file.value.clone(),
            list: c.list.name.clone(),
            span: c.span,
        });
    }

    /// Comparisons in a template of a rate or a score (`{% if 满意率 >= 90 %}`): a template
    /// holds them as exact numbers it cannot compare (they would compare by kind, whatever
    /// their values), so they are errors; counts compare as numbers. Found from the
    /// template's tokens: the name before or after `<`, `<=`, `>`, `>=`, `==` or `!=`,
    /// through `[…]` and `.attr`.
    fn template_comparisons(&mut self, text: &Str) {
        for (name, kind) in compared_numbers(&text.value, &self.env) {
            let span = self.find_in(text.span, &name);
            self.errors.push(CheckError::Declaration {
                message: format!("the template compares `{name}`, {kind}: templates cannot compare it exactly"),
                help: format!("compare it in the policy, where numbers are exact, and test the answer: `metric {name}达标 = {name} >= 90{}` and `{{% if {name}达标 %}}`; counts compare in templates as they are", if kind == "a percentage" { "%" } else { "" }),
                span,
            });
        }
    }

    /// Records that the definition being checked (or the report) reads `name`.
    pub(crate) fn reads(&mut self, name: &str) {
        self.used.insert(name.to_string());
        if !self.in_each_month {
            self.reads
                .entry(self.referrer.clone())
                .or_default()
                .insert(name.to_string());
        }
    }

    /// The definitions only `each month` needs: not read by the report, by a
    /// definition of the period or by anything these read, nor left unread.
    fn month_only(&self) -> BTreeSet<String> {
        if self.env.period_level.is_empty() {
            return BTreeSet::new();
        }
        let mut needed: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = self
            .reads
            .get(&None)
            .into_iter()
            .flatten()
            .cloned()
            .chain(self.env.period_level.iter().cloned())
            .chain(
                self.env
                    .defs
                    .keys()
                    .filter(|d| !self.used.contains(*d))
                    .cloned(),
            )
            .collect();
        while let Some(name) = todo.pop() {
            if needed.insert(name.clone()) {
                if let Some(reads) = self.reads.get(&Some(name)) {
                    todo.extend(reads.iter().cloned());
                }
            }
        }
        self.env
            .order
            .iter()
            .filter(|d| !needed.contains(*d))
            .cloned()
            .collect()
    }

    /// Definition names in dependency order; reports cycles.
    fn order(&mut self, policy: &Policy) -> Vec<String> {
        let mut deps: HashMap<String, (Vec<String>, Span)> = HashMap::new();
        for item in &policy.items {
            let (name, exprs): (&Ident, Vec<&Expr>) = match item {
                Item::Metric(m) => {
                    let mut e = vec![&m.expr];
                    e.extend(m.default.iter());
                    e.extend(m.only.iter());
                    (&m.name, e)
                }
                Item::Score(s) => (
                    &s.name,
                    s.terms
                        .iter()
                        .map(|t| &t.expr)
                        .chain(s.only.iter())
                        .collect(),
                ),
                Item::Bands(b) => (&b.name, vec![&b.on]),
                Item::Ranking(r) => {
                    let mut names: Vec<String> = Vec::new();
                    for w in &r.within {
                        names.push(w.name.clone());
                    }
                    let mut exprs: Vec<&Expr> = r.keys.iter().map(|k| &k.expr).collect();
                    exprs.extend(r.filter.iter());
                    for e in &exprs {
                        collect_names(e, &mut names);
                    }
                    deps.insert(r.name.name.clone(), (names, r.name.span));
                    continue;
                }
                _ => continue,
            };
            let mut names = Vec::new();
            for e in exprs {
                collect_names(e, &mut names);
            }
            deps.insert(name.name.clone(), (names, name.span));
        }
        self.deps = deps
            .iter()
            .map(|(name, (uses, _))| (name.clone(), uses.clone()))
            .collect();
        let mut keys: Vec<(&String, Span)> = deps.iter().map(|(k, v)| (k, v.1)).collect();
        keys.sort_by_key(|(_, s)| s.start);
        let mut order = Vec::new();
        let mut state: HashMap<String, u8> = HashMap::new();
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for (key, _) in keys {
            let mut stack: Vec<String> = Vec::new();
            self.visit(
                key,
                &deps,
                &mut state,
                &mut stack,
                &mut order,
                &mut reported,
            );
        }
        // Definitions in a cycle are not checked; what they name still counts as used.
        for name in &reported {
            if let Some((uses, _)) = deps.get(name) {
                self.used.extend(uses.iter().cloned());
            }
        }
        order
    }

    /// Depth-first from `root`, with an explicit stack so that a long chain of definitions
    /// cannot overflow the thread's stack; reports each cycle once.
    fn visit(
        &mut self,
        root: &str,
        deps: &HashMap<String, (Vec<String>, Span)>,
        state: &mut HashMap<String, u8>,
        stack: &mut Vec<String>,
        order: &mut Vec<String>,
        reported: &mut BTreeSet<String>,
    ) {
        if state.contains_key(root) || !deps.contains_key(root) {
            return;
        }
        // Each frame: a definition and the index of the next use to follow.
        let mut frames: Vec<(String, usize)> = vec![(root.to_string(), 0)];
        state.insert(root.to_string(), 1);
        stack.push(root.to_string());
        while let Some((name, next)) = frames.last().cloned() {
            let uses = deps.get(&name).map(|d| &d.0);
            let Some(used) = uses.and_then(|u| u.get(next)) else {
                frames.pop();
                stack.pop();
                state.insert(name.clone(), 2);
                if !reported.contains(&name) {
                    order.push(name);
                }
                continue;
            };
            if let Some(frame) = frames.last_mut() {
                frame.1 += 1;
            }
            if !deps.contains_key(used) {
                continue;
            }
            match state.get(used.as_str()) {
                Some(2) => {}
                Some(_) => {
                    let start = stack.iter().position(|n| n == used).unwrap_or(0);
                    let mut cycle: Vec<String> = stack.get(start..).unwrap_or(&[]).to_vec();
                    cycle.push(used.clone());
                    if cycle.iter().any(|n| reported.contains(n)) {
                        continue;
                    }
                    reported.extend(cycle.iter().cloned());
                    let span = deps.get(used).map(|d| d.1).unwrap_or_default();
                    self.errors.push(CheckError::Cycle {
                        name: used.clone(),
                        cycle: cycle
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" → "),
                        span,
                    });
                }
                None => {
                    state.insert(used.clone(), 1);
                    stack.push(used.clone());
                    frames.push((used.clone(), 0));
                }
            }
        }
    }
}

fn field_format(ty: &FieldType) -> Option<Span> {
    match ty {
        FieldType::DateTime(Some(f)) => Some(f.span),
        _ => None,
    }
}

pub(crate) fn numeric_compatible(a: &Base, b: &Base) -> bool {
    matches!(
        (a, b),
        (Base::Int | Base::Number, Base::Int | Base::Number)
            | (Base::Percent, Base::Int | Base::Number | Base::Percent)
    )
}

/// Every name an expression mentions (bounded by the parser's nesting limit).
/// The rates and scores a template compares (`{% if 满意率 >= 90 %}`), each once, with
/// their kind: a template holds them as exact numbers it cannot compare (they would compare
/// by kind, whatever their values); counts compare as numbers. Found from the template's
/// tokens: the name before or after `<`, `<=`, `>`, `>=`, `==` or `!=`, through `[…]` and
/// `.attr`.
pub(crate) fn compared_numbers(template: &str, env: &Env) -> Vec<(String, &'static str)> {
    use minijinja::machinery::Token;
    let tokens: Vec<Token<'_>> =
        minijinja::machinery::tokenize(template, false, Default::default())
            .filter_map(Result::ok)
            .map(|(t, _)| t)
            .collect();
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if !matches!(
            token,
            Token::Lt | Token::Lte | Token::Gt | Token::Gte | Token::Eq | Token::Ne
        ) {
            continue;
        }
        let mut roots = Vec::new();
        // The name after: `70 < 满意率`.
        if let Some(Token::Ident(name)) = tokens.get(i + 1) {
            roots.push(*name);
        }
        // The name before, through subscripts and attributes: `满意率[u].exact >`.
        let mut j = i;
        let mut depth = 0usize;
        while j > 0 {
            j -= 1;
            match &tokens[j] {
                Token::BracketClose => depth += 1,
                Token::BracketOpen if depth > 0 => depth -= 1,
                _ if depth > 0 => {}
                Token::Dot => {}
                Token::Ident(name) => {
                    if j == 0 || !matches!(tokens.get(j - 1), Some(Token::Dot)) {
                        roots.push(*name);
                        break;
                    }
                }
                _ => break,
            }
        }
        for name in roots {
            let kind = match env
                .defs
                .get(name)
                .and_then(|d| d.ty.as_ref())
                .map(|t| &t.base)
            {
                Some(Base::Percent) => "a percentage",
                Some(Base::Number) => "a number with decimals",
                _ => continue,
            };
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), kind));
            }
        }
    }
    out
}

/// Stands for `each month` among the names a definition uses ([`collect_names`]):
/// not a name anyone can write.
pub(crate) const EACH_MONTH: &str = " each month";

/// The names `expr` uses, and [`EACH_MONTH`] for each `… each month` in it.
pub(crate) fn collect_names(expr: &Expr, out: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::Name(n) => out.push(n.name.clone()),
        ExprKind::EachMonth(e) => {
            out.push(EACH_MONTH.to_string());
            collect_names(e, out);
        }
        ExprKind::Member(e, _) => collect_names(e, out),
        ExprKind::Call { args, filter, .. } => {
            for a in args {
                collect_names(a, out);
            }
            if let Some(f) = filter {
                collect_names(f, out);
            }
        }
        ExprKind::Unary(_, e) => collect_names(e, out),
        ExprKind::Binary(_, a, b) => {
            collect_names(a, out);
            collect_names(b, out);
        }
        ExprKind::LabelMap(e, entries) => {
            collect_names(e, out);
            for (_, v) in entries {
                collect_names(v, out);
            }
        }
        ExprKind::IsEmpty { expr, .. } => collect_names(expr, out),
        _ => {}
    }
}
