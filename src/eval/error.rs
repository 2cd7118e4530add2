//! Errors of evaluation. Data only.

use crate::span::Span;
use miette::Diagnostic;
use thiserror::Error;

/// A problem found while evaluating a policy on data.
#[derive(Debug, Error, Diagnostic, Clone, PartialEq)]
pub enum EvalError {
    /// The data folder has no folder for a month a source needs.
    ///
    /// ```text
    /// hotline render p.policy --data data --month 2031-01    # no data/2031-01/
    /// ```
    #[error("no data for {month}: `{path}` does not exist")]
    #[diagnostic(
        code(hotline::eval::missing_month),
        help("the data folder holds one folder per month, e.g. `data/2023-03/tickets.csv`; it has {existing}")
    )]
    MissingMonth {
        /// The month.
        month: String,
        /// The folder looked for.
        path: String,
        /// The months the data folder has.
        existing: String,
        /// The source that needs it.
        #[label("this source reads that month")]
        span: Span,
    },
    /// A month of the period evaluated has no data folder: the period is evaluated
    /// without it. A warning.
    ///
    /// ```text
    /// hotline render annual.policy --data data --period 2023    # no data/2023-05/
    /// ```
    #[error("no data for {month} (no folder `{path}`); the period is evaluated without it")]
    #[diagnostic(
        code(hotline::eval::missing_period_month),
        severity(Warning),
        help("put the month's files in its folder, or choose a period with data for every month")
    )]
    MissingPeriodMonth {
        /// The month.
        month: String,
        /// The folder looked for.
        path: String,
    },
    /// A source of other months (`previous month`, `same period last year`) has no
    /// data folder for one of them: it has no rows for that month. A warning.
    ///
    /// ```text
    /// source 上月工单 = 工单 previous month    # the first month of a deployment
    /// ```
    #[error(
        "`{name}` ({shift}) has no data for {month} (no folder `{path}`); it has no rows there"
    )]
    #[diagnostic(
        code(hotline::eval::missing_compared_month),
        severity(Warning),
        help("comparisons with those months come out empty or zero; put the months' files in their folders to compare")
    )]
    MissingShiftedMonth {
        /// The source.
        name: String,
        /// `previous month`, `same period last year`.
        shift: String,
        /// The month.
        month: String,
        /// The folder looked for.
        path: String,
    },
    /// A commentary file that cannot be read: too large, not text, or entries repeated.
    #[error("the commentary `{path}` cannot be read: {message}")]
    #[diagnostic(
        code(hotline::eval::commentary_unreadable),
        help("a commentary is a Markdown file (UTF-8 or GBK) with one `## key` heading per entry")
    )]
    CommentaryUnreadable {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// An entry of a commentary whose template does not render.
    #[error("the entry `## {key}` of `{path}` (line {line}) cannot be rendered: {message}")]
    #[diagnostic(
        code(hotline::eval::commentary_template),
        help("an entry may show the month's values, e.g. `{{{{ 话题件数[key] }}}}` (`key` is the entry's key); check the names")
    )]
    CommentaryTemplate {
        /// The file.
        path: String,
        /// The entry's heading line.
        line: usize,
        /// The entry's key.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// A commentary entry for a key that is not in this month's list. A warning.
    #[error("the entry `## {key}` of `{path}` (line {line}) describes no item of `{list}` this month; it is not shown")]
    #[diagnostic(
        code(hotline::eval::commentary_unknown_key),
        severity(Warning),
        help("an entry is shown for the items of `{list}` of the month it was written for; remove it, or check the heading against the month's items")
    )]
    CommentaryUnknownKey {
        /// The file.
        path: String,
        /// The entry's heading line.
        line: usize,
        /// The entry's key.
        key: String,
        /// The list.
        list: String,
    },
    /// An item of the list without a commentary entry: the report says what the data
    /// says. A warning.
    #[error("`{key}` of `{list}` has no entry in `{path}`; the report says what the data says")]
    #[diagnostic(
        code(hotline::eval::commentary_missing),
        severity(Warning),
        help("write the month's analysis under `## {key}` in `{path}`; `hotline commentary new` writes a skeleton")
    )]
    CommentaryMissing {
        /// The file.
        path: String,
        /// The item.
        key: String,
        /// The list.
        list: String,
    },
    /// Text before a commentary's first entry, which describes nothing. A warning.
    #[error("line {line} of `{path}` is before the first `## ` heading and is not shown")]
    #[diagnostic(
        code(hotline::eval::commentary_stray),
        severity(Warning),
        help("put the text under the heading of what it describes, or in a comment `<!-- … -->`")
    )]
    CommentaryStray {
        /// The file.
        path: String,
        /// The line.
        line: usize,
    },
    /// Rows whose grouping field is empty: they would silently drop out of every group.
    ///
    /// ```text
    /// metric 承办量 from 工单 by 承办单位 = count()    # 直办 tickets have no 承办单位
    /// ```
    #[error(
        "{count} rows of `{file}` have an empty `{field}` and belong to no group (lines {lines})"
    )]
    #[diagnostic(
        code(hotline::eval::empty_key),
        help("filter them out with `from … where {field} is not empty`, or fill the field")
    )]
    EmptyKey {
        /// The data file.
        file: String,
        /// The grouping field.
        field: String,
        /// How many rows.
        count: usize,
        /// The first lines.
        lines: String,
        /// The grouping.
        #[label("grouped here")]
        span: Span,
    },
    /// Arithmetic beyond the range of exact decimals.
    ///
    /// ```text
    /// metric x = 99999999999999999999999999 * 99999999999999999999999999
    /// ```
    #[error("the result of this calculation is too large to represent exactly")]
    #[diagnostic(
        code(hotline::eval::overflow),
        help("check the data for absurd values")
    )]
    Overflow {
        /// The calculation.
        #[label("overflows")]
        span: Span,
    },
    /// `clamp(x, low, high)` whose lowest value is above its highest.
    ///
    /// ```text
    /// metric x = clamp(得分, 下限, 上限)    # where 下限 > 上限
    /// ```
    #[error("`clamp` was given a lowest value {low} above its highest value {high}")]
    #[diagnostic(
        code(hotline::eval::clamp_bounds),
        help("the second argument of `clamp` is the lowest value, the third the highest")
    )]
    ClampBounds {
        /// The lowest value.
        low: String,
        /// The highest value.
        high: String,
        /// The call.
        #[label("here")]
        span: Span,
    },
    /// A date beyond the years of the policy's calendar: working days cannot be counted.
    ///
    /// ```text
    /// calendar china    # 2023–2026; a ticket dispatched on 2027-01-04
    /// ```
    #[error("{date} is outside the calendar's years ({years}): its working days are not known")]
    #[diagnostic(
        code(hotline::eval::outside_calendar),
        help("add that year's holidays and make-up working days to the calendar (the State Council publishes them each November), or check the date in the data")
    )]
    OutsideCalendar {
        /// The date.
        date: String,
        /// The years the calendar covers.
        years: String,
        /// The call.
        #[label("working days counted here")]
        span: Span,
    },
    /// A score term with no value for a key that the score's `only where` scores.
    ///
    /// ```text
    /// score 总得分 = 签收得分 + 办结得分 only where 承办量 > 0    # 签收得分 empty for a unit with tickets
    /// ```
    #[error("`{term}` has no value for {key}, which `{score}` scores")]
    #[diagnostic(
        code(hotline::eval::empty_term),
        help("give the term a value where the score's condition holds (a `default`, or `?? 0`), or narrow `only where`")
    )]
    EmptyTerm {
        /// The score.
        score: String,
        /// The term.
        term: String,
        /// The key.
        key: String,
        /// The term.
        #[label("empty here")]
        span: Span,
    },
    /// A report template that cannot be rendered.
    ///
    /// ```text
    /// text "{{ 不存在 }}"
    /// ```
    #[error("the template cannot be rendered: {message}")]
    #[diagnostic(code(hotline::eval::template), help("{help}"))]
    Template {
        /// What went wrong.
        message: String,
        /// Names that exist.
        help: String,
        /// The template.
        #[label("in this template")]
        span: Span,
    },
}

impl EvalError {
    /// Whether this is a warning only: the report is made all the same.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            EvalError::MissingPeriodMonth { .. }
                | EvalError::MissingShiftedMonth { .. }
                | EvalError::CommentaryUnknownKey { .. }
                | EvalError::CommentaryMissing { .. }
                | EvalError::CommentaryStray { .. }
        )
    }
}
