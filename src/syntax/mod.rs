//! Stage 1 and 2: policy text to pest pairs (`grammar/hotline.pest`), pest pairs to the
//! [`ast`](crate::ast). No pest type leaves this module.

mod lower;

use crate::ast::Policy;
use crate::span::{SourceFile, Span};
use miette::Diagnostic;
use pest::Parser as _;
use thiserror::Error;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/hotline.pest"]
struct Grammar;

/// Deepest nesting of parentheses and braces accepted, checked before parsing so that
/// hostile input cannot overflow the parser's stack.
pub const MAX_NESTING: usize = 64;

/// Errors in the text of a policy.
#[derive(Debug, Error, Diagnostic, Clone, PartialEq)]
pub enum SyntaxError {
    /// The text does not follow the grammar.
    ///
    /// ```text
    /// metric 承办量 from 派单 = count(
    /// ```
    #[error("unexpected {found}, expected {expected}")]
    #[diagnostic(code(hotline::syntax::unexpected), help("{help}"))]
    Unexpected {
        /// What stood there, in words.
        found: String,
        /// What could have stood there, in words.
        expected: String,
        /// A hint.
        help: String,
        /// Where.
        #[label("here")]
        span: Span,
    },
    /// Parentheses or braces nested deeper than [`MAX_NESTING`].
    ///
    /// ```text
    /// metric x = ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))…
    /// ```
    #[error("nesting deeper than {max} levels")]
    #[diagnostic(
        code(hotline::syntax::too_deep),
        help("split the expression into several metrics")
    )]
    TooDeep {
        /// The limit.
        max: usize,
        /// The opening that went too deep.
        #[label("too deep")]
        span: Span,
    },
    /// A number that cannot be represented exactly.
    ///
    /// ```text
    /// metric x = 123456789012345678901234567890123
    /// ```
    #[error("`{text}` is not a number hotline can represent exactly")]
    #[diagnostic(
        code(hotline::syntax::bad_number),
        help("numbers have at most 28 significant digits")
    )]
    BadNumber {
        /// The number as written.
        text: String,
        /// Where.
        #[label("this number")]
        span: Span,
    },
    /// A setting written twice in the policy header.
    ///
    /// ```text
    /// policy "x" { rounding half_up rounding half_even }
    /// ```
    #[error("`{setting}` is set twice")]
    #[diagnostic(code(hotline::syntax::duplicate_setting), help("keep one of them"))]
    DuplicateSetting {
        /// The setting.
        setting: String,
        /// The second one.
        #[label("set again here")]
        span: Span,
        /// The first one.
        #[label("first set here")]
        first: Span,
    },
}

impl SyntaxError {
    /// Where the error points.
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::TooDeep { span, .. }
            | SyntaxError::BadNumber { span, .. }
            | SyntaxError::DuplicateSetting { span, .. } => *span,
        }
    }
}

/// Parses a policy file into its syntax tree, or returns every syntax error found.
pub fn parse(file: &SourceFile) -> Result<Policy, Vec<SyntaxError>> {
    let text: &str = &file.text;
    if let Some(span) = too_deep(text) {
        return Err(vec![SyntaxError::TooDeep {
            max: MAX_NESTING,
            span,
        }]);
    }
    let pairs = match Grammar::parse(Rule::policy_file, text) {
        Ok(pairs) => pairs,
        Err(error) => return Err(vec![lower::syntax_error(text, error)]),
    };
    lower::lower_policy(pairs)
}

/// The first opening bracket nested deeper than [`MAX_NESTING`], skipping strings and comments.
fn too_deep(text: &str) -> Option<Span> {
    let mut depth = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '#' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '{' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(Span::new(at, at + 1));
                }
            }
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}
