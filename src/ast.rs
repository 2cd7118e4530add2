//! The policy's abstract syntax tree. Every node carries a [`Span`]; spans are ignored
//! by equality. The checker fills in [`Expr::ty`] on the same tree.

use crate::span::Span;
use crate::types::Ty;
use rust_decimal::Decimal;

/// A name the policy owner wrote: an identifier or a quoted string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name as written (without quotes).
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A string literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Str {
    /// The text, escapes resolved.
    pub value: String,
    /// Where it was written, including the quotes.
    pub span: Span,
}

/// A whole policy file: its declarations in the order written.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The declarations.
    pub items: Vec<Item>,
    /// `allow(…)` clauses, each with the declaration it stands before.
    pub allows: Vec<Allow>,
}

/// `allow(tie_break) ranking …`: warnings of these kinds about the declaration that
/// follows are acknowledged.
#[derive(Clone, Debug, PartialEq)]
pub struct Allow {
    /// The warnings' names: the last part of their codes (`tie_break` for
    /// `hotline::check::tie_break`).
    pub codes: Vec<Ident>,
    /// The clause.
    pub span: Span,
    /// The declaration it stands before.
    pub target: Span,
}

/// `calendar china` or `calendar "county.calendar"`.
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarDecl {
    /// `china`, or the file's path relative to the policy (quoted).
    pub name: Ident,
    /// Whether the name was quoted (a file) rather than a shipped calendar.
    pub file: bool,
    /// The whole declaration.
    pub span: Span,
}

/// One top-level declaration.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `policy "title" { rounding half_up }`
    Header(Header),
    /// `source 工单 from csv "tickets.csv" { … }`
    Source(Source),
    /// `calendar china`
    Calendar(CalendarDecl),
    /// `units { 镇街: 鱼山镇, 姚寨镇 }`
    Units(Units),
    /// `view 派单 = 工单 where 办理方式 == "派单"`
    View(View),
    /// `metric 承办量 from 派单 by 承办单位 = count()`
    Metric(Metric),
    /// `score 总得分 = 5% 响应率 + 质效考核得分`
    Score(Score),
    /// `bands 规模 on 承办量 { 大: >= 100 }`
    Bands(Bands),
    /// `ranking 排名 within 规模 by 总得分 desc`
    Ranking(Ranking),
    /// `list 镇街单位 = unit where group == "镇街" order by 综合排名`
    List(List),
    /// `commentary 热点分析 from "commentary.md" for 热点问题`
    Commentary(Commentary),
    /// `report { heading "…" table "…" { … } }`
    Report(Report),
    /// `test "…" { data 工单 """…""" expect 姜楼镇.按时办理率 == 94.85% }`
    Test(PolicyTest),
}

impl Item {
    /// The whole declaration.
    pub fn span(&self) -> Span {
        match self {
            Item::Header(x) => x.span,
            Item::Source(x) => x.span,
            Item::Calendar(x) => x.span,
            Item::Units(x) => x.span,
            Item::View(x) => x.span,
            Item::Metric(x) => x.span,
            Item::Score(x) => x.span,
            Item::Bands(x) => x.span,
            Item::Ranking(x) => x.span,
            Item::List(x) => x.span,
            Item::Commentary(x) => x.span,
            Item::Report(x) => x.span,
            Item::Test(x) => x.span,
        }
    }
}

/// A policy test: inline data and expected values.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyTest {
    /// The test's name.
    pub name: Str,
    /// `month 2023-03`: the month the data stands for (default 2023-01).
    pub month: Option<Str>,
    /// `data 工单 """…"""`: CSV text for a source.
    pub data: Vec<(Ident, Str)>,
    /// The expectations.
    pub expects: Vec<Expect>,
    /// The whole declaration.
    pub span: Span,
}

/// `expect 姜楼镇.按时办理率 == 94.85%`
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// `姜楼镇.按时办理率`: a key and a definition, a definition, or a key, a score and a term.
    pub target: Vec<Ident>,
    /// The comparison.
    pub op: BinaryOp,
    /// The expected value.
    pub expected: Expr,
    /// `expect x is empty` (`Some(false)`) or `is not empty` (`Some(true)`): then
    /// `op` and `expected` are not used.
    pub empty: Option<bool>,
    /// The whole expectation.
    pub span: Span,
}

/// A named, ordered selection of keys, for templates.
#[derive(Clone, Debug, PartialEq)]
pub struct List {
    /// The list's name.
    pub name: Ident,
    /// Which keys, in which order.
    pub rows: Rows,
    /// The whole declaration.
    pub span: Span,
}

/// An analyst's words on a month: a file of the month's folder with one entry per key
/// of a list (a hot topic, a unit), each a template of the month's values.
#[derive(Clone, Debug, PartialEq)]
pub struct Commentary {
    /// The name templates read it by: `{{ 热点分析[t] }}`.
    pub name: Ident,
    /// The file, relative to the month's folder.
    pub file: Str,
    /// The list whose keys the entries describe.
    pub list: Ident,
    /// The whole declaration.
    pub span: Span,
}

/// Where shown numbers keep their trailing zeros to the policy's decimals (`60.50%`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Zeros {
    /// Nowhere: `60.5%`, `100%`.
    #[default]
    Drop,
    /// In the prose (templates), as 公文 write rates; tables drop them.
    Text,
    /// Everywhere.
    Keep,
}

impl Zeros {
    /// As written in a policy.
    pub fn name(self) -> &'static str {
        match self {
            Zeros::Drop => "drop",
            Zeros::Text => "text",
            Zeros::Keep => "keep",
        }
    }
}

/// How numbers are rounded where they are displayed or where `round` is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// 四舍五入: 4.325 → 4.33.
    #[default]
    HalfUp,
    /// Banker's rounding: 4.325 → 4.32.
    HalfEven,
}

/// How the report's footer identifies the policy and the data files it was
/// made from (`fingerprint sha256 | blake3 | none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerprintKind {
    /// The first 12 hex digits of each file's SHA-256, as `sha256sum` shows it.
    #[default]
    Sha256,
    /// The first 12 hex digits of each file's BLAKE3 (as `b3sum` shows it):
    /// about 3.5 times faster to take than SHA-256 on large files here.
    Blake3,
    /// No digests: the files are not hashed.
    None,
}

impl FingerprintKind {
    /// The name written in a policy.
    pub fn name(self) -> &'static str {
        match self {
            FingerprintKind::Sha256 => "sha256",
            FingerprintKind::Blake3 => "blake3",
            FingerprintKind::None => "none",
        }
    }
}

/// The policy header and its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The policy's title.
    pub title: Str,
    /// `rounding half_up | half_even`.
    pub rounding: Option<(Rounding, Span)>,
    /// `decimals 2`: decimals shown for rates and scores.
    pub decimals: Option<(u32, Span)>,
    /// `weights strict`: weights that do not sum to 100% are errors, not warnings.
    pub weights_strict: Option<(bool, Span)>,
    /// `fingerprint sha256 | blake3 | none`.
    pub fingerprint: Option<(FingerprintKind, Span)>,
    /// `empty "—"`: what is shown for a value that does not exist.
    pub empty: Option<Str>,
    /// `zeros text`: where numbers keep their trailing zeros.
    pub zeros: Option<(Zeros, Span)>,
    /// The whole declaration.
    pub span: Span,
}

/// A data source: a file read each month, or another source's previous month.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// The source's name.
    pub name: Ident,
    /// Where its rows come from.
    pub kind: SourceKind,
    /// The whole declaration.
    pub span: Span,
}

/// Where a source's rows come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceKind {
    /// A file in the month's data folder.
    File(FileSource),
    /// `= 工单 previous month`: the same file and fields, other months.
    Previous(Ident, Shift),
}

/// The months a source read from another source's file stands for, relative to the
/// months evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shift {
    /// `previous month`: each month one month earlier.
    PreviousMonth,
    /// `previous period`: the period of the same length just before.
    PreviousPeriod,
    /// `same period last year`: each month twelve months earlier.
    SamePeriodLastYear,
}

impl Shift {
    /// As written in a policy.
    pub fn words(self) -> &'static str {
        match self {
            Shift::PreviousMonth => "previous month",
            Shift::PreviousPeriod => "previous period",
            Shift::SamePeriodLastYear => "same period last year",
        }
    }
}

/// The file formats a source can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// An Excel workbook; a sheet must be named.
    Xlsx,
    /// JSON Lines, one object a line.
    Jsonl,
}

/// A declared text encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodingName {
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// GBK / GB18030.
    Gbk,
    /// Detect, and report what was found.
    Auto,
}

/// A file source.
#[derive(Clone, Debug, PartialEq)]
pub struct FileSource {
    /// The file format.
    pub format: Format,
    /// The file name, relative to the month's folder.
    pub path: Str,
    /// `encoding gbk`.
    pub encoding: Option<(EncodingName, Span)>,
    /// `sheet "质效考核"`.
    pub sheet: Option<Str>,
    /// The declared fields.
    pub fields: Vec<Field>,
}

/// A typed field mapped from a column header.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The field's name in the policy.
    pub name: Ident,
    /// Its declared type.
    pub ty: FieldType,
    /// `?`: empty cells are allowed.
    pub nullable: bool,
    /// `<- "承办单位"`: the column header, when it differs from the name.
    pub header: Option<Str>,
    /// The whole field line.
    pub span: Span,
}

/// A field's declared type.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    /// Free text.
    Text,
    /// Whole numbers.
    Integer,
    /// Exact decimals.
    Decimal,
    /// Percentage points: `87.5` is 87.5%.
    Percent,
    /// A unit of the registry (aliases resolved).
    Unit,
    /// `bool(是 = true, 否 = false)`.
    Bool(Vec<(Ident, bool)>),
    /// `datetime` or `datetime("%Y/%m/%d %H:%M")`.
    DateTime(Option<Str>),
    /// `enum(已解决, 基本解决, 未解决)`.
    Enum(Vec<Ident>),
}

/// The unit registry.
#[derive(Clone, Debug, PartialEq)]
pub struct Units {
    /// Groups in order; the order of units is the registry order.
    pub groups: Vec<UnitGroup>,
    /// Old names.
    pub aliases: Vec<Alias>,
    /// The whole declaration.
    pub span: Span,
}

/// `镇街: 鱼山镇, 姚寨镇`
#[derive(Clone, Debug, PartialEq)]
pub struct UnitGroup {
    /// The group's name.
    pub name: Ident,
    /// Its units in order.
    pub units: Vec<Ident>,
}

/// `alias 新城办事处 = 新城街道`
#[derive(Clone, Debug, PartialEq)]
pub struct Alias {
    /// The old name.
    pub from: Ident,
    /// The unit it stands for.
    pub to: Ident,
}

/// A named, filtered source.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// The view's name.
    pub name: Ident,
    /// The source (or view) filtered.
    pub source: Ident,
    /// The row filter.
    pub filter: Expr,
    /// The whole declaration.
    pub span: Span,
}

/// A metric: an aggregate over rows, or a formula over other metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The metric's name.
    pub name: Ident,
    /// `from 派单 where …`: the rows aggregated.
    pub from: Option<From>,
    /// `by 承办单位`: the field rows are grouped by.
    pub by: Option<Ident>,
    /// The formula.
    pub expr: Expr,
    /// `default 100`: the value when the formula has no value (no rows).
    pub default: Option<Expr>,
    /// `only where 承办量 > 0`: the keys that have a value; the others are empty.
    pub only: Option<Expr>,
    /// The whole declaration.
    pub span: Span,
}

/// `from 派单 where 市级重办`
#[derive(Clone, Debug, PartialEq)]
pub struct From {
    /// A source or view.
    pub source: Ident,
    /// An extra row filter.
    pub filter: Option<Expr>,
}

/// A weighted sum.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// The score's name.
    pub name: Ident,
    /// The terms in order.
    pub terms: Vec<ScoreTerm>,
    /// `only where 承办量 > 0`: the keys that are scored; the others are empty.
    pub only: Option<Expr>,
    /// The whole declaration.
    pub span: Span,
}

/// `+ 5% 响应率` or `+ 质效考核得分`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreTerm {
    /// `-` before the term.
    pub negative: bool,
    /// The weight, in percent.
    pub weight: Option<(Decimal, Span)>,
    /// The weighted value.
    pub expr: Expr,
    /// The term.
    pub span: Span,
}

/// Named ranges over a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Bands {
    /// The bands' name.
    pub name: Ident,
    /// The value banded.
    pub on: Expr,
    /// The bands in order.
    pub bands: Vec<Band>,
    /// The whole declaration.
    pub span: Span,
}

/// `中: 10 ..< 100`
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// The band's name.
    pub name: Ident,
    /// Its range.
    pub range: Range,
    /// The range as written.
    pub span: Span,
}

/// An interval; a missing bound is unbounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    /// The lower bound.
    pub lower: Option<Bound>,
    /// The upper bound.
    pub upper: Option<Bound>,
}

/// One end of a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The value.
    pub value: Decimal,
    /// Whether the value itself is in the range.
    pub inclusive: bool,
}

/// Ordered ranks, optionally within partitions.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranking {
    /// The ranking's name.
    pub name: Ident,
    /// `within group, 规模`: ranks restart in each partition.
    pub within: Vec<Ident>,
    /// `where 承办量 > 0`: only these keys are ranked; the others have no rank.
    pub filter: Option<Expr>,
    /// The sort keys; the unit registry order breaks the remaining ties.
    pub keys: Vec<SortKey>,
    /// `ties shared | dense | ordered`: what equal keys get.
    pub ties: Option<(Ties, Span)>,
    /// The whole declaration.
    pub span: Span,
}

/// What keys whose sort values are all equal get in a ranking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Ties {
    /// The unit registry order breaks them: 1, 2, 3, 4 (the default).
    #[default]
    Ordered,
    /// They share the rank, and the next rank skips: 1, 1, 1, 4 (相同分数排名不分先后).
    Shared,
    /// They share the rank, and the next rank follows: 1, 1, 2.
    Dense,
}

impl Ties {
    /// The name written in a policy.
    pub fn name(self) -> &'static str {
        match self {
            Ties::Ordered => "ordered",
            Ties::Shared => "shared",
            Ties::Dense => "dense",
        }
    }
}

/// `总得分 desc`
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    /// The value sorted on.
    pub expr: Expr,
    /// Descending.
    pub descending: bool,
}

/// The report: sections in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The report's title.
    pub title: Option<Str>,
    /// The sections.
    pub sections: Vec<Section>,
    /// The whole declaration.
    pub span: Span,
}

/// A report section.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Section {
    /// `heading "一、总体情况"`
    Heading(Str),
    /// `text """…"""`: a template with computed values.
    Text(Str),
    /// `table "附表 1" { … }`
    Table(Table),
    /// `chart "总得分" { rows … bar "总得分" = 总得分 }`
    Chart(Chart),
}

/// A bar chart of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// The chart's name.
    pub name: Str,
    /// Title lines.
    pub titles: Vec<Str>,
    /// One group of bars per selected key.
    pub rows: Rows,
    /// One bar per series, named by its header.
    pub bars: Vec<Column>,
    /// The whole declaration.
    pub span: Span,
}

/// A table of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The table's name (`附表 1`).
    pub name: Str,
    /// Title lines.
    pub titles: Vec<Str>,
    /// Which rows.
    pub rows: Rows,
    /// `like "附表 1"`: the columns of an earlier table.
    pub like: Option<Str>,
    /// `total "合计"`: a last row of sums, with this label.
    pub total: Option<Str>,
    /// Which columns.
    pub columns: Vec<Column>,
    /// The whole declaration.
    pub span: Span,
}

/// `rows unit where group == "镇街" order by 排名 top 6`
#[derive(Clone, Debug, PartialEq)]
pub struct Rows {
    /// `unit`, or a field metrics are grouped by.
    pub domain: Ident,
    /// Which keys.
    pub filter: Option<Expr>,
    /// Their order; a ranking's name orders by that ranking.
    pub order: Vec<SortKey>,
    /// At most this many rows.
    pub top: Option<(u32, Span)>,
    /// `top 3 with ties`: rows tied with the last one kept are kept too.
    pub with_ties: bool,
}

/// `column "响应率" = 响应率`
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The header.
    pub header: Str,
    /// The value.
    pub expr: Expr,
}

/// An expression, annotated with its type by the checker.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
    /// Filled in by the checker.
    pub ty: Option<Ty>,
}

impl Expr {
    /// An expression without a type yet.
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr {
            kind,
            span,
            ty: None,
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `??`: the left value, or the right when the left is empty.
    Coalesce,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Coalesce => "??",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Whether the operator compares.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `100`, `4.5`
    Number(Decimal),
    /// `5%`: the value in percentage points.
    Percent(Decimal),
    /// `2h`: seconds.
    Duration(i64),
    /// `2024-03-31`: days since 1970-01-01.
    Date(i64),
    /// `2024-03-31 18:00`: seconds since 1970-01-01 00:00 (local time, as data is read).
    DateTime(i64),
    /// `"派单"`
    Str(String),
    /// `true`
    Bool(bool),
    /// A field, metric, score, band, ranking or `group`.
    Name(Ident),
    /// `总得分.响应率`: one term of a score.
    Member(Box<Expr>, Ident),
    /// `share(签收时间 - 派单时间 <= 2h)`, `mean(响应率 where 承办量 > 0)`.
    Call {
        /// The function.
        func: Ident,
        /// Its arguments.
        args: Vec<Expr>,
        /// `where …` inside the parentheses.
        filter: Option<Box<Expr>>,
    },
    /// `总得分 each month`, an aggregate's argument: the value in each month of the
    /// period, aggregated over the months (`mean(总得分 each month)`).
    EachMonth(Box<Expr>),
    /// `not x`, `-x`
    Unary(UnaryOp, Box<Expr>),
    /// `a + b`
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `回访解决情况 -> {已解决: 100%, 基本解决: 80%}`
    LabelMap(Box<Expr>, Vec<(Ident, Expr)>),
    /// `x is empty`, `x is not empty`
    IsEmpty {
        /// The value tested.
        expr: Box<Expr>,
        /// `is not empty`.
        negated: bool,
    },
}
