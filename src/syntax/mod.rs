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

/// Deepest expression tree accepted. Operators nest without parentheses (`1 + 1 + … + 1`,
/// `- - - 1`, `x is empty is empty`), and every later stage walks the tree recursively.
pub const MAX_DEPTH: usize = 128;

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
        /// At the end of the file: the innermost bracket left open.
        #[label("not closed")]
        unclosed: Option<Span>,
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
    /// An expression whose operators nest deeper than [`MAX_DEPTH`].
    ///
    /// ```text
    /// metric x = 1 + 1 + 1 + …    # hundreds of terms
    /// ```
    #[error("expression nested deeper than {max} levels")]
    #[diagnostic(
        code(hotline::syntax::too_complex),
        help("split the expression into several metrics")
    )]
    TooComplex {
        /// The limit.
        max: usize,
        /// The expression.
        #[label("too complex")]
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
    /// A date that is not in the calendar.
    ///
    /// ```text
    /// metric x from 工单 = count(办结时间 <= 2024-02-30)
    /// ```
    #[error("`{text}` is not a date")]
    #[diagnostic(
        code(hotline::syntax::bad_date),
        help("write dates as `2024-03-31` and date-times as `2024-03-31 18:00` or `2024-03-31 18:00:00`")
    )]
    BadDate {
        /// The date as written.
        text: String,
        /// Where.
        #[label("no such date")]
        span: Span,
    },
    /// A `->` point outside `scale(…)`, or a `scale(…)` argument that is not one.
    ///
    /// ```text
    /// metric x = scale(满意率, 73%, 98% -> 25)
    /// ```
    #[error("{message}")]
    #[diagnostic(code(hotline::syntax::scale_point), help("{help}"))]
    ScalePoint {
        /// What is wrong.
        message: String,
        /// How to write it.
        help: String,
        /// Where.
        #[label("here")]
        span: Span,
    },
}

impl SyntaxError {
    /// Where the error points.
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::BadDate { span, .. } | SyntaxError::ScalePoint { span, .. } => *span,
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::TooDeep { span, .. }
            | SyntaxError::TooComplex { span, .. }
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
        Err(error) => {
            let literals = wanted_literals(text);
            return Err(vec![lower::syntax_error(text, error, literals)]);
        }
    };
    lower::lower_policy(pairs)
}

/// Parses failing text again with pest's error detail, which also tracks the literal tokens
/// the grammar wanted (`=`, `where`), not only rules: the plain error falls back to the start
/// of a declaration when only a literal would have fitted. Returns the farthest position
/// tried and the literals wanted there, when nothing but literals was wanted. The setting is
/// global to the process, so detailed parses take turns.
fn wanted_literals(text: &str) -> Option<(usize, Vec<String>)> {
    static DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let turn = DETAIL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    pest::set_error_detail(true);
    let error = Grammar::parse(Rule::policy_file, text).err();
    pest::set_error_detail(false);
    drop(turn);
    let attempts = error?.parse_attempts()?;
    if !attempts.unexpected_tokens().is_empty() {
        return None;
    }
    let mut literals = Vec::new();
    for token in attempts.expected_tokens() {
        // pest does not export the token type; its variants show in its Debug form.
        if !format!("{token:?}").starts_with("Sensitive") {
            return None;
        }
        let token = token.to_string();
        let layout = matches!(
            token.as_str(),
            " " | "\t" | "\r" | "\n" | "\u{3000}" | "\u{FEFF}" | "#" | "//"
        );
        if !layout {
            literals.push(format!("`{token}`"));
        }
    }
    (!literals.is_empty()).then_some((attempts.max_position, literals))
}

/// The first opening bracket nested deeper than [`MAX_NESTING`], skipping strings and comments.
fn too_deep(text: &str) -> Option<Span> {
    let mut depth = 0usize;
    for (start, end, piece) in Pieces::new(text) {
        match piece {
            Piece::Code('(' | '{' | '[') => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(Span::new(start, end));
                }
            }
            Piece::Code(')' | '}' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The innermost bracket left open at the end of `text`.
pub(crate) fn unclosed(text: &str) -> Option<(Span, char)> {
    let mut open: Vec<(Span, char)> = Vec::new();
    for (start, end, piece) in Pieces::new(text) {
        match piece {
            Piece::Code(c @ ('(' | '{' | '[')) => open.push((Span::new(start, end), c)),
            Piece::Code(')' | '}' | ']') => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

/// The length of `text` without the whitespace and comments at its end. A pest rule that
/// ends in an optional part keeps the layout skipped before that part failed.
pub(crate) fn content_len(text: &str) -> usize {
    // Most texts end in code: no layout at the end, and no comment on the last line.
    let ends_in_layout = text
        .chars()
        .next_back()
        .is_none_or(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{3000}' | '\u{FEFF}'));
    let bytes = text.as_bytes();
    let last_line =
        memchr::memrchr(b'\n', bytes).map_or(bytes, |i| bytes.get(i..).unwrap_or_default());
    // No `#` and no `/` (so no `//`) on the last line: no comment there.
    if !ends_in_layout && memchr::memchr2(b'#', b'/', last_line).is_none() {
        return text.len();
    }
    content_len_by_pieces(text)
}

/// [`content_len`] by reading `text` piece by piece.
fn content_len_by_pieces(text: &str) -> usize {
    Pieces::new(text)
        .filter(|(_, _, piece)| *piece != Piece::Layout)
        .last()
        .map_or(0, |(_, end, _)| end)
}

/// What a piece of policy text is, as far as brackets and layout are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A character of code.
    Code(char),
    /// A string or template, quotes included.
    Text,
    /// Whitespace or a comment (`WHITESPACE` and `COMMENT` of the grammar).
    Layout,
}

/// Splits policy text into pieces without parsing it: `(start, end, piece)`.
pub(crate) struct Pieces<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Pieces<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Pieces { text, at: 0 }
    }
}

impl Iterator for Pieces<'_> {
    type Item = (usize, usize, Piece);

    fn next(&mut self) -> Option<Self::Item> {
        // Looked at byte by byte: every piece but a character of code starts
        // with an ASCII byte (or a space of three bytes).
        let start = self.at;
        let rest = self.text.as_bytes().get(start..)?;
        let line_end = || memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let (len, piece) = match *rest.first()? {
            b'"' if rest.starts_with(b"\"\"\"") => {
                let body = rest.get(3..).unwrap_or_default();
                let len = memchr::memmem::find(body, b"\"\"\"").map_or(rest.len(), |i| i + 6);
                (len, Piece::Text)
            }
            b'"' => {
                // To the closing quote; a backslash takes the next byte along
                // (never a quote or a backslash inside a longer character).
                let mut i = 1;
                let len = loop {
                    match rest.get(i) {
                        None => break rest.len(),
                        Some(b'\\') => i += 2,
                        Some(b'"') => break i + 1,
                        Some(_) => i += 1,
                    }
                };
                (len, Piece::Text)
            }
            b'#' => (line_end(), Piece::Layout),
            b'/' if rest.get(1) == Some(&b'/') => (line_end(), Piece::Layout),
            b' ' | b'\t' | b'\r' | b'\n' => (1, Piece::Layout),
            b if b.is_ascii() => (1, Piece::Code(char::from(b))),
            _ => {
                let c = self.text.get(start..)?.chars().next()?;
                let piece = if matches!(c, '\u{3000}' | '\u{FEFF}') {
                    Piece::Layout
                } else {
                    Piece::Code(c)
                };
                (c.len_utf8(), piece)
            }
        };
        // A text or comment running to the end stops there.
        let len = len.min(rest.len());
        self.at += len;
        Some((start, self.at, piece))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces of `text` found character by character, as `Pieces` once did
    /// (what `Pieces`, which looks at bytes, must agree with).
    fn pieces_by_chars(text: &str) -> Vec<(usize, usize, Piece)> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(rest) = text.get(at..) {
            let Some(c) = rest.chars().next() else { break };
            let (len, piece) = if rest.starts_with("\"\"\"") {
                let body = rest.get(3..).unwrap_or("");
                (
                    body.find("\"\"\"").map_or(rest.len(), |i| i + 6),
                    Piece::Text,
                )
            } else if c == '"' {
                let mut len = rest.len();
                let mut chars = rest.char_indices().skip(1);
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            len = i + 1;
                            break;
                        }
                        _ => {}
                    }
                }
                (len, Piece::Text)
            } else if c == '#' || rest.starts_with("//") {
                (rest.find('\n').unwrap_or(rest.len()), Piece::Layout)
            } else if matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{3000}' | '\u{FEFF}') {
                (c.len_utf8(), Piece::Layout)
            } else {
                (c.len_utf8(), Piece::Code(c))
            };
            out.push((at, at + len, piece));
            at += len;
        }
        out
    }

    /// The shortcut of `content_len` gives what reading piece by piece gives, on texts
    /// cut from the real policies (strings with `#` in them, comments, full-width spaces).
    #[test]
    fn content_len_shortcut_agrees_with_the_pieces() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        for name in ["dong-e-monthly.policy", "dong-e-monthly.test.policy"] {
            let path = root.join("policies").join(name);
            texts.push(std::fs::read_to_string(path).expect("policy"));
        }
        texts.push("metric a = 1 # note\n  ".to_string());
        texts.push("metric a = \"#\" // x".to_string());
        texts.push("metric a = b\u{3000}".to_string());
        // An escaped quote does not close a string; an escaped backslash does not
        // escape the quote after it.
        texts.push("a = \"x \\\" # y\n".to_string());
        texts.push("a = \"x \\\\\" # y\n".to_string());
        texts.push("a = \"x \\中\" # y\n".to_string());
        // Random texts of the pieces that matter: quotes, escapes, templates,
        // comments, both spaces, multi-byte characters.
        let alphabet = [
            "a", "中", "\"", "\\", "\"\"\"", "#", "/", "//", " ", "\n", "\r", "\u{3000}",
            "\u{FEFF}", "\u{3001}", "}",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3_000 {
            let mut text = String::new();
            for _ in 0..(state % 20) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            texts.push(text);
        }
        let mut compared = 0;
        for text in &texts {
            let starts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .step_by(7)
                .collect();
            for &start in &starts {
                let ends = text
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([text.len()])
                    .filter(|&end| end >= start && end <= start + 600);
                for end in ends {
                    let Some(piece) = text.get(start..end) else {
                        continue;
                    };
                    assert_eq!(
                        content_len(piece),
                        content_len_by_pieces(piece),
                        "{piece:?}"
                    );
                    assert_eq!(
                        Pieces::new(piece).collect::<Vec<_>>(),
                        pieces_by_chars(piece),
                        "{piece:?}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 10_000, "{compared}");
    }
}
