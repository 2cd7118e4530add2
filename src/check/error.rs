//! Errors and warnings of the checker. Data only: the CLI renders them.

use crate::span::Span;
use miette::Diagnostic;
use thiserror::Error;

/// A problem found by the checker. Warnings are marked by their severity.
#[derive(Debug, Error, Diagnostic, Clone, PartialEq)]
pub enum CheckError {
    /// A name that is defined nowhere.
    ///
    /// ```text
    /// metric 响应率 from 派单 by 承办单位 = share(签收时间 - 派单时 <= 2h)
    /// ```
    #[error("unknown {what} `{name}`")]
    #[diagnostic(code(hotline::check::unknown_name), help("{help}"))]
    UnknownName {
        /// Field, metric, unit, function …
        what: &'static str,
        /// The name.
        name: String,
        /// Did you mean …
        help: String,
        /// Where.
        #[label("not defined")]
        span: Span,
    },
    /// Two definitions with one name.
    ///
    /// ```text
    /// metric 承办量 = count() from 派单
    /// metric 承办量 = 1
    /// ```
    #[error("`{name}` is defined twice")]
    #[diagnostic(code(hotline::check::duplicate), help("rename or remove one of them"))]
    Duplicate {
        /// The name.
        name: String,
        /// The second definition.
        #[label("defined again here")]
        span: Span,
        /// The first.
        #[label("first defined here")]
        first: Span,
    },
    /// An operator applied to values it does not fit.
    ///
    /// ```text
    /// metric x = 响应率 + 承办量    # a percentage plus a count
    /// ```
    #[error("cannot apply `{op}` to {left} and {right}")]
    #[diagnostic(code(hotline::check::operands), help("{help}"))]
    Operands {
        /// The operator.
        op: String,
        /// The left operand's type, in words.
        left: String,
        /// The right operand's type, in words.
        right: String,
        /// What to do instead.
        help: String,
        /// The whole operation.
        #[label("{left} {op} {right}")]
        span: Span,
    },
    /// A value of the wrong type where one type is required.
    ///
    /// ```text
    /// view 派单 = 工单 where 承办单位
    /// ```
    #[error("expected {expected}, found {found}")]
    #[diagnostic(code(hotline::check::mismatch), help("{help}"))]
    Mismatch {
        /// What was required.
        expected: String,
        /// What was found.
        found: String,
        /// What to do instead.
        help: String,
        /// Where.
        #[label("this is {found}")]
        span: Span,
    },
    /// A value that can be empty, used where a value is required.
    ///
    /// ```text
    /// metric 解决率 from 派单 by 承办单位 = mean(回访解决情况 -> {已解决: 100%, 基本解决: 80%, 未解决: 0%})
    /// score 总得分 = 40% 解决率      # 解决率 has no value for a unit without callbacks
    /// ```
    #[error("`{name}` can be empty here")]
    #[diagnostic(code(hotline::check::nullable), help("{help}"))]
    Nullable {
        /// The expression.
        name: String,
        /// How to give it a value.
        help: String,
        /// Where it is used.
        #[label("may have no value")]
        span: Span,
    },
    /// A label map that misses labels of its field.
    ///
    /// ```text
    /// mean(回访解决情况 -> {已解决: 100%, 基本解决: 80%})
    /// ```
    #[error("the label map does not give a value for {missing}")]
    #[diagnostic(
        code(hotline::check::label_missing),
        help("every label of the field needs a value: add {missing}")
    )]
    LabelMissing {
        /// The labels missing, in backticks.
        missing: String,
        /// The map.
        #[label("incomplete")]
        span: Span,
    },
    /// A label, band, group or unit name that the compared value cannot take.
    ///
    /// ```text
    /// view 派单 = 工单 where 办理方式 == "派遣"
    /// ```
    #[error("`{label}` is not {of}")]
    #[diagnostic(code(hotline::check::unknown_label), help("{help}"))]
    UnknownLabel {
        /// The label written.
        label: String,
        /// What it should be one of, in words.
        of: String,
        /// Did you mean, or the values that exist.
        help: String,
        /// Where.
        #[label("no such value")]
        span: Span,
    },
    /// Definitions that depend on each other.
    ///
    /// ```text
    /// metric a = b + 1
    /// metric b = a + 1
    /// ```
    #[error("`{name}` depends on itself: {cycle}")]
    #[diagnostic(
        code(hotline::check::cycle),
        help("a definition cannot use its own value, directly or through others")
    )]
    Cycle {
        /// The first definition of the cycle.
        name: String,
        /// The cycle, `a → b → a`.
        cycle: String,
        /// Where.
        #[label("part of a cycle")]
        span: Span,
    },
    /// Weights of a score that do not add up to 100%.
    ///
    /// ```text
    /// score 总得分 = 5% 响应率 + 5% 按时办理率 + 40% 解决率 + 40% 综合满意率
    /// ```
    #[error("the weights of `{name}` add up to {total}%, not 100%")]
    #[diagnostic(
        code(hotline::check::weights),
        severity(Warning),
        help(
            "adjust the weights, or say `weights lenient` in the policy header if this is intended"
        )
    )]
    WeightsWarning {
        /// The score.
        name: String,
        /// The sum.
        total: String,
        /// The score.
        #[label("weights sum to {total}%")]
        span: Span,
    },
    /// The same, as an error under `weights strict`.
    ///
    /// ```text
    /// policy "p" { weights strict }
    /// score 总得分 = 50% 响应率 + 40% 解决率
    /// ```
    #[error("the weights of `{name}` add up to {total}%, not 100%")]
    #[diagnostic(
        code(hotline::check::weights),
        help("the policy says `weights strict`: the weights must add up to 100%")
    )]
    Weights {
        /// The score.
        name: String,
        /// The sum.
        total: String,
        /// The score.
        #[label("weights sum to {total}%")]
        span: Span,
    },
    /// Values that fall between bands.
    ///
    /// ```text
    /// bands 规模 on 承办量 { 大: >= 100  中: > 10 and < 100  小: < 10 }
    /// ```
    #[error("{values} {verb} in no band of `{name}`")]
    #[diagnostic(code(hotline::check::band_gap), help("{help}"))]
    BandGap {
        /// The bands' name.
        name: String,
        /// The values uncovered, in words.
        values: String,
        /// `is` or `are`.
        verb: &'static str,
        /// How to close the gap, with the band above it rewritten.
        help: String,
        /// The band below the gap.
        #[label("ends here")]
        below: Span,
        /// The band above the gap.
        #[label("starts here")]
        above: Span,
    },
    /// Bands that share values.
    ///
    /// ```text
    /// bands 规模 on 承办量 { 大: >= 100  中: 10 ..= 100 }
    /// ```
    #[error("{values} {verb} in both `{first_name}` and `{second_name}`")]
    #[diagnostic(
        code(hotline::check::band_overlap),
        help("bands must not overlap: make one bound exclusive (`..<`)")
    )]
    BandOverlap {
        /// The values in both, in words.
        values: String,
        /// `is` or `are`.
        verb: &'static str,
        /// The first band's name.
        first_name: String,
        /// The second band's name.
        second_name: String,
        /// The first band.
        #[label("`{first_name}`")]
        first: Span,
        /// The second band.
        #[label("`{second_name}`")]
        second: Span,
    },
    /// A ranking with a single key: equal values are ordered by the unit list alone,
    /// which decides who is third or third from last.
    ///
    /// ```text
    /// ranking 排名 by 总得分 desc
    /// ```
    #[error("`{name}` has one key: ties are broken only by the order of the unit list")]
    #[diagnostic(
        code(hotline::check::tie_break),
        severity(Warning),
        help("add a second key that breaks ties, e.g. `by 总得分 desc, 承办量 asc`; or declare `ties shared` (1, 1, 1, 4) or `ties dense` (1, 1, 2); or acknowledge the order of the unit list with `allow(tie_break)` before the ranking")
    )]
    TieBreak {
        /// The ranking.
        name: String,
        /// Its key.
        #[label("the only key")]
        span: Span,
    },
    /// A definition nothing uses.
    ///
    /// ```text
    /// metric 未用 from 工单 = count()    # and no score, table or template mentions it
    /// ```
    #[error("`{name}` is never used")]
    #[diagnostic(
        code(hotline::check::unused),
        severity(Warning),
        help("use it in a score, ranking or report section, or remove it")
    )]
    Unused {
        /// The name.
        name: String,
        /// The definition.
        #[label("defined here")]
        span: Span,
    },
    /// Values over different keys combined, or a row value used outside an aggregate.
    ///
    /// ```text
    /// metric x from 派单 by 承办单位 = 满意度评分    # a row value, not an aggregate
    /// ```
    #[error("{message}")]
    #[diagnostic(code(hotline::check::shape), help("{help}"))]
    Shape {
        /// What is wrong.
        message: String,
        /// What to do instead.
        help: String,
        /// Where.
        #[label("here")]
        span: Span,
    },
    /// A function called with the wrong number or kind of arguments.
    ///
    /// ```text
    /// metric x from 派单 = mean()
    /// ```
    #[error("`{func}` takes {expected}")]
    #[diagnostic(code(hotline::check::arguments), help("for example: {example}"))]
    Arguments {
        /// The function.
        func: String,
        /// What it takes, in words.
        expected: String,
        /// An example call.
        example: String,
        /// The call.
        #[label("called here")]
        span: Span,
    },
    /// A declaration that is incomplete or contradicts itself.
    ///
    /// ```text
    /// source 扣分 from xlsx "deductions.xlsx" { 单位 unit }    # no sheet
    /// ```
    #[error("{message}")]
    #[diagnostic(code(hotline::check::declaration), help("{help}"))]
    Declaration {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// Where.
        #[label("here")]
        span: Span,
    },
}

impl CheckError {
    /// Whether this is only a warning.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            CheckError::WeightsWarning { .. }
                | CheckError::Unused { .. }
                | CheckError::TieBreak { .. }
        )
    }
}

/// "did you mean `x`?" for the closest of `candidates`, or a list of a few of them.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let best = candidates
        .iter()
        .map(|c| (strsim::normalized_levenshtein(name, c), *c))
        .filter(|(score, _)| *score >= 0.4)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!("did you mean `{c}`?"),
        None if candidates.is_empty() => "nothing of that kind is defined".to_string(),
        None => {
            let shown: Vec<String> = candidates
                .iter()
                .take(8)
                .map(|c| format!("`{c}`"))
                .collect();
            let more = if candidates.len() > 8 { ", …" } else { "" };
            format!("defined are {}{more}", shown.join(", "))
        }
    }
}
