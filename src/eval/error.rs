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
        help("the data folder holds one folder per month, e.g. `data/2023-03/tickets.csv`")
    )]
    MissingMonth {
        /// The month.
        month: String,
        /// The folder looked for.
        path: String,
        /// The source that needs it.
        #[label("this source reads that month")]
        span: Span,
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
