//! `hotline fmt`: the canonical layout of a policy.
//!
//! The formatter prints the syntax tree again, so the layout never depends on how the
//! author spaced or broke lines; only comments and blank lines are taken from the text.
//!
//! # Layout rules
//!
//! - Two spaces per indentation level; one declaration (`source`, `view`, `metric`, `score`,
//!   `bands`, `ranking`, `list`, …) per line, blocks as `{`, one entry per line, `}`. A block
//!   with neither entries nor comments is written `{}`; a `policy` header without settings is
//!   written without braces.
//! - Single spaces around operators, `=`, `<-`, `->` and after `,` and `:`; the ASCII
//!   spellings of separators (`,` for `，`/`、`), colons (`:` for `：`) and operators
//!   (`<=` for `≤`, `*` for `×`, …); `datetime` for `date`; no trailing separators.
//! - Parentheses only where precedence needs them (`or` < `and` < `not` < comparisons < `??`
//!   < `+ -` < `* /` < unary `-` < postfix `.`, `->`, `is empty`); a right operand of the same
//!   precedence keeps them, since all operators associate to the left.
//! - Numbers as written (`4.50` stays `4.50`), percentages `5%`, durations in the largest
//!   exact unit (`7200` seconds → `2h`, `90` → `90s`), strings re-escaped (`\"`, `\\`, `\n`,
//!   `\t`). Names that are not identifiers, or are keywords, stay quoted.
//! - In a `source` block the field types start in one column: one space after the widest
//!   field name, counting CJK and full-width characters as two columns. `<- "header"` is
//!   written whenever the policy gives a header.
//! - A units group is `name: a, b, c`, wrapped before 100 columns with the continuation
//!   aligned under the first unit. A `metric` or `score` longer than 100 columns breaks after
//!   `=`, the formula indented one level. A `table` or `chart` header longer than 100 columns
//!   puts each `title` and the `like` on its own line, indented two levels.
//! - Header settings, units groups and aliases, sections and entries keep their order.
//!   `asc` is kept where the author wrote it and never added.
//! - Templates written in triple quotes stay in triple quotes: `"""`, the template's lines
//!   one level deeper than `text` (or `data`), then `"""` at the level of `text`. The
//!   parser removes that indentation again, so the template's text is unchanged.
//!
//! # Comments and blank lines
//!
//! Comments are not in the syntax tree; they are found in the text (outside strings and
//! templates) and attached by byte offset. A comment alone on its line is printed on its
//! own line before the next entry, at that entry's indentation; a comment after code on
//! the same line stays at the end of the printed line of the entry it follows. In a block,
//! the trailing comments of consecutive lines start in one column, two spaces after the
//! longest of those lines (a blank line or a comment line starts a new column); at the top
//! level they follow two spaces after the code. A
//! comment written inside a single entry (in the middle of an expression, say) moves above
//! that entry; comments between the units of a group stay between them. A blank line is
//! kept (one, however many there were) wherever the author left one between declarations,
//! entries or comments, never right after `{` or before `}`.
//!
//! Every formatting is checked before it is returned: the new text must parse to the same
//! syntax tree and keep every comment, or the file is reported and left alone.

use crate::ast::*;
use crate::cli::FmtMode;
use crate::span::{SourceFile, Span};
use crate::syntax::{self, Piece, Pieces, SyntaxError};
use crate::{Outcome, Problem};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Lines are wrapped before this many columns where the layout allows it.
const WIDTH: usize = 100;
/// One level of indentation.
const INDENT: usize = 2;

/// Formats `files` in `mode`.
///
/// - [`FmtMode::Print`]: the formatted text of one file on standard output.
/// - [`FmtMode::Check`]: names each file that is not formatted (`would reformat …`), exit 1.
/// - [`FmtMode::Write`]: rewrites each file that is not formatted (`formatted …`).
///
/// A file that does not parse is reported with its diagnostics and never rewritten (exit 1);
/// a file that cannot be read or written exits 2.
pub fn command(files: &[PathBuf], mode: FmtMode) -> Outcome {
    let mut outcome = Outcome::default();
    if mode == FmtMode::Print && files.len() != 1 {
        outcome.stderr = "error: `hotline fmt` prints one file; use `--check` or `--write` \
                          for several\n"
            .to_string();
        outcome.code = 2;
        return outcome;
    }
    let mut code = 0u8;
    for path in files {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                outcome
                    .stderr
                    .push_str(&format!("error: cannot read `{shown}`: {e}\n"));
                code = 2;
                continue;
            }
        };
        let file = SourceFile::new(shown.clone(), text);
        let formatted = match format_file(&file) {
            Ok(formatted) => formatted,
            Err(errors) => {
                for error in errors {
                    outcome.stderr.push_str(&crate::render_diagnostic(
                        &file,
                        Problem::Syntax(error),
                        false,
                    ));
                }
                outcome
                    .stderr
                    .push_str(&format!("{shown}: left as it is\n"));
                code = code.max(1);
                continue;
            }
        };
        let changed = formatted != *file.text;
        match mode {
            FmtMode::Print => outcome.stdout.push_str(&formatted),
            FmtMode::Check => {
                if changed {
                    outcome
                        .stderr
                        .push_str(&format!("would reformat {shown}\n"));
                    code = code.max(1);
                }
            }
            FmtMode::Write => {
                if changed {
                    match crate::render::write_durably(path, formatted.as_bytes()) {
                        Ok(()) => outcome.stderr.push_str(&format!("formatted {shown}\n")),
                        Err(e) => {
                            outcome
                                .stderr
                                .push_str(&format!("error: cannot write `{shown}`: {e}\n"));
                            code = 2;
                        }
                    }
                }
            }
        }
    }
    outcome.code = code;
    outcome
}

/// The policy text in the canonical layout, or the syntax errors that stop it from being
/// formatted. Pure: reads and writes nothing.
pub fn format_source(text: &str) -> Result<String, Vec<SyntaxError>> {
    format_file(&SourceFile::new("policy", text))
}

fn format_file(file: &SourceFile) -> Result<String, Vec<SyntaxError>> {
    let text: &str = &file.text;
    let policy = syntax::parse(file)?;
    let formatted = Printer::new(text).policy(&policy);
    verify(text, &policy, &formatted)?;
    Ok(formatted)
}

/// Refuses a formatting that would change the policy's meaning or lose a comment. Only a bug
/// in the formatter gets here; the file is then left as it is.
fn verify(text: &str, policy: &Policy, formatted: &str) -> Result<(), Vec<SyntaxError>> {
    let bug = |span: Span, what: &str| {
        vec![SyntaxError::Unexpected {
            found: format!("a {what} `hotline fmt` cannot print faithfully"),
            expected: "text the formatter can print".to_string(),
            help: "this is a bug in `hotline fmt`; the file is left unchanged".to_string(),
            span,
            unclosed: None,
        }]
    };
    match syntax::parse(&SourceFile::new("formatted", formatted)) {
        Ok(again) if again == *policy => {}
        Ok(again) => {
            let span = policy
                .items
                .iter()
                .zip(again.items.iter().map(Some).chain(std::iter::repeat(None)))
                .find(|(a, b)| Some(*a) != *b)
                .map_or(Span::new(0, 0), |(a, _)| item_span(a));
            return Err(bug(span, "declaration"));
        }
        Err(_) => return Err(bug(Span::new(0, 0), "policy")),
    }
    let mut before: Vec<&str> = comments(text).into_iter().map(|c| c.text).collect();
    let mut after: Vec<&str> = comments(formatted).into_iter().map(|c| c.text).collect();
    before.sort_unstable();
    after.sort_unstable();
    if before != after {
        return Err(bug(Span::new(0, 0), "comment"));
    }
    Ok(())
}

fn item_span(item: &Item) -> Span {
    item.span()
}

// ---------------------------------------------------------------- text measures

/// The columns `text` takes on a terminal: CJK and full-width characters take two.
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    match u32::from(c) {
        0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F | 0xFEFF => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x2FFFD
        | 0x30000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// The keywords of the grammar, read from its `keyword` rule so the two never disagree.
fn keywords() -> &'static [String] {
    static KEYWORDS: OnceLock<Vec<String>> = OnceLock::new();
    KEYWORDS.get_or_init(|| {
        let grammar = include_str!("../grammar/hotline.pest");
        let rule = grammar
            .find("\nkeyword")
            .and_then(|start| {
                let rest = grammar.get(start..)?;
                let end = rest.find("XID_CONTINUE")?;
                rest.get(..end)
            })
            .unwrap_or("");
        rule.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    })
}

/// Whether `name` can be written without quotes where the grammar takes a `name`.
fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first == '_' || pest::unicode::XID_START(first))
        && chars.all(|c| c == '_' || pest::unicode::XID_CONTINUE(c))
        && !keywords().iter().any(|k| k == name)
}

/// A string literal: quotes, with `"`, `\`, newlines and tabs escaped.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `2024-03-31`, or `2024-03-31 18:00:00` with the time.
fn date_text(seconds: i64, time: bool) -> String {
    let Some(moment) = chrono::DateTime::from_timestamp(seconds, 0) else {
        return String::new();
    };
    let format = if time {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%Y-%m-%d"
    };
    moment.naive_utc().format(format).to_string()
}

/// A name where the grammar takes an identifier or a string.
fn name(ident: &Ident) -> String {
    if is_ident(&ident.name) {
        ident.name.clone()
    } else {
        quote(&ident.name)
    }
}

/// Whether a template survives the round trip through `"""` and the parser's dedent.
fn long_form_keeps(value: &str) -> bool {
    // The parser removes the indentation common to the non-blank lines: one of them must
    // start at the margin, or it would remove more than the formatter added.
    !value.contains("\"\"\"")
        && !value.contains('\r')
        && value
            .split('\n')
            .any(|l| !l.trim().is_empty() && !l.starts_with([' ', '\t']))
}

/// `7200` seconds → `2h`: the largest unit that divides exactly.
fn duration(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".to_string();
    }
    for (unit, factor) in [("d", 86_400), ("h", 3_600), ("min", 60)] {
        if seconds % factor == 0 {
            return format!("{}{unit}", seconds / factor);
        }
    }
    format!("{seconds}s")
}

/// A band's range, in the shortest form that parses back to it.
fn range(range: &Range) -> String {
    match (range.lower, range.upper) {
        (Some(l), Some(u)) => match (l.inclusive, u.inclusive) {
            (true, true) if l.value == u.value && l.value.scale() == u.value.scale() => {
                format!("= {}", l.value)
            }
            (true, true) => format!("{} ..= {}", l.value, u.value),
            (true, false) => format!("{} ..< {}", l.value, u.value),
            (false, true) => format!("> {} and <= {}", l.value, u.value),
            (false, false) => format!("> {} and < {}", l.value, u.value),
        },
        (Some(l), None) if l.inclusive => format!(">= {}", l.value),
        (Some(l), None) => format!("> {}", l.value),
        (None, Some(u)) if u.inclusive => format!("<= {}", u.value),
        (None, Some(u)) => format!("< {}", u.value),
        // The parser never makes a range without bounds; `verify` would refuse this.
        (None, None) => "..".to_string(),
    }
}

fn field_type(ty: &FieldType) -> String {
    match ty {
        FieldType::Text => "text".to_string(),
        FieldType::Integer => "integer".to_string(),
        FieldType::Decimal => "decimal".to_string(),
        FieldType::Percent => "percent".to_string(),
        FieldType::Unit => "unit".to_string(),
        FieldType::Bool(spellings) if spellings.is_empty() => "bool".to_string(),
        FieldType::Bool(spellings) => {
            let spellings: Vec<String> = spellings
                .iter()
                .map(|(n, b)| format!("{} = {b}", name(n)))
                .collect();
            format!("bool({})", spellings.join(", "))
        }
        FieldType::DateTime(None) => "datetime".to_string(),
        FieldType::DateTime(Some(format)) => format!("datetime({})", quote(&format.value)),
        FieldType::Enum(labels) => {
            let labels: Vec<String> = labels.iter().map(name).collect();
            format!("enum({})", labels.join(", "))
        }
    }
}

// ---------------------------------------------------------------- expressions

/// How tightly an expression binds, after the Pratt table in `syntax::lower`.
fn precedence(expr: &Expr) -> u8 {
    match &expr.kind {
        ExprKind::Binary(op, _, _) => binary_precedence(*op),
        ExprKind::Unary(UnaryOp::Not, _) => 30,
        ExprKind::Unary(UnaryOp::Neg, _) => 80,
        ExprKind::EachMonth(_) => 0,
        _ => POSTFIX,
    }
}

/// Primaries and postfix forms: never need parentheses.
const POSTFIX: u8 = 100;

fn binary_precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 10,
        BinaryOp::And => 20,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            40
        }
        BinaryOp::Coalesce => 50,
        BinaryOp::Add | BinaryOp::Sub => 60,
        BinaryOp::Mul | BinaryOp::Div => 70,
    }
}

fn paren(expr: &Expr, needed: bool) -> String {
    if needed {
        format!("({})", self::expr(expr))
    } else {
        self::expr(expr)
    }
}

/// An expression on one line.
fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number(n) => n.to_string(),
        ExprKind::Percent(p) => format!("{p}%"),
        ExprKind::Duration(seconds) => duration(*seconds),
        ExprKind::Date(days) => date_text(*days * 86_400, false),
        ExprKind::DateTime(seconds) => date_text(*seconds, true),
        ExprKind::Str(s) => quote(s),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Name(n) => n.name.clone(),
        ExprKind::EachMonth(inner) => format!("{} each month", expr(inner)),
        ExprKind::Member(base, member) => {
            format!(
                "{}.{}",
                paren(base, precedence(base) < POSTFIX),
                name(member)
            )
        }
        ExprKind::Call { func, args, filter } if func.name == "scale" && args.len() % 2 == 1 => {
            let _ = filter;
            let mut parts: Vec<String> = args.first().map(expr).into_iter().collect();
            for pair in args.get(1..).unwrap_or_default().chunks(2) {
                if let [from, to] = pair {
                    parts.push(format!("{} -> {}", expr(from), expr(to)));
                }
            }
            format!("scale({})", parts.join(", "))
        }
        ExprKind::Call { func, args, filter } => {
            let mut out = format!("{}(", func.name);
            let args: Vec<String> = args.iter().map(expr).collect();
            out.push_str(&args.join(", "));
            if let Some(filter) = filter {
                if !args.is_empty() {
                    out.push(' ');
                }
                out.push_str("where ");
                out.push_str(&expr(filter));
            }
            out.push(')');
            out
        }
        ExprKind::Unary(UnaryOp::Not, operand) => {
            format!("not {}", paren(operand, precedence(operand) < 30))
        }
        ExprKind::Unary(UnaryOp::Neg, operand) => {
            format!("-{}", paren(operand, precedence(operand) < POSTFIX))
        }
        ExprKind::Binary(op, left, right) => {
            let p = binary_precedence(*op);
            format!(
                "{} {} {}",
                paren(left, precedence(left) < p),
                op.symbol(),
                paren(right, precedence(right) <= p)
            )
        }
        ExprKind::LabelMap(base, entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(label, value)| format!("{}: {}", name(label), expr(value)))
                .collect();
            format!(
                "{} -> {{{}}}",
                paren(base, precedence(base) < POSTFIX),
                entries.join(", ")
            )
        }
        ExprKind::IsEmpty {
            expr: inner,
            negated,
        } => format!(
            "{} is {}empty",
            paren(inner, precedence(inner) < POSTFIX),
            if *negated { "not " } else { "" }
        ),
    }
}

// ---------------------------------------------------------------- comments

/// A comment of the text: `# …` or `// …` to the end of its line.
#[derive(Clone, Copy, Debug)]
struct Comment<'a> {
    start: usize,
    end: usize,
    text: &'a str,
}

/// Every comment of `text`, in order, skipping strings and templates.
fn comments(text: &str) -> Vec<Comment<'_>> {
    Pieces::new(text)
        .filter(|(_, _, piece)| *piece == Piece::Layout)
        .filter_map(|(start, end, _)| {
            let body = text.get(start..end)?;
            (body.starts_with('#') || body.starts_with("//")).then(|| Comment {
                start,
                end,
                text: body.trim_end(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------- the printer

/// One printed line.
#[derive(Debug)]
struct Line {
    indent: usize,
    text: String,
    /// A comment at the end of the line.
    comment: Option<String>,
    /// The block the line is an entry of: trailing comments align within a block.
    block: Option<usize>,
    /// A template line, printed as it is.
    raw: bool,
}

#[derive(Debug)]
enum Out {
    Blank,
    Line(Line),
}

/// A line of an entry before it is placed: relative indentation, text, template or not.
struct Part {
    indent: usize,
    text: String,
    raw: bool,
}

impl Part {
    fn code(indent: usize, text: impl Into<String>) -> Self {
        Part {
            indent,
            text: text.into(),
            raw: false,
        }
    }
}

/// Where a block starts, and the offsets of its `{` and `}`.
struct Braces {
    start: usize,
    brace: usize,
    close: usize,
}

struct Printer<'a> {
    text: &'a str,
    comments: Vec<Comment<'a>>,
    /// The first comment not printed yet.
    next: usize,
    /// The end of the last code or comment printed, as an offset into `text`.
    last_end: usize,
    /// At the start of the file or of a block: no blank line here.
    fresh: bool,
    /// The block whose entries are being printed.
    block: Option<usize>,
    blocks: usize,
    out: Vec<Out>,
}

impl<'a> Printer<'a> {
    fn new(text: &'a str) -> Self {
        Printer {
            text,
            comments: comments(text),
            next: 0,
            last_end: 0,
            fresh: true,
            block: None,
            blocks: 0,
            out: Vec::new(),
        }
    }

    // ------------------------------------------------------------ placing lines and comments

    fn newlines(&self, from: usize, to: usize) -> usize {
        self.text
            .get(from..to)
            .map_or(0, |between| between.matches('\n').count())
    }

    /// The next comment not printed yet, if it starts before `pos`.
    fn comment_before(&self, pos: usize) -> Option<Comment<'a>> {
        self.comments
            .get(self.next)
            .copied()
            .filter(|c| c.start < pos)
    }

    /// Prints the next comment on a line of its own.
    fn comment_line(&mut self, comment: Comment<'a>, indent: usize, blank: bool) {
        if blank && !self.fresh && self.newlines(self.last_end, comment.start) >= 2 {
            self.out.push(Out::Blank);
        }
        self.out.push(Out::Line(Line {
            indent,
            text: comment.text.to_string(),
            comment: None,
            block: None,
            raw: false,
        }));
        self.next += 1;
        self.last_end = self.last_end.max(comment.end);
        self.fresh = false;
    }

    /// Comments before `pos` on lines of their own, with the blank lines between them.
    fn leading(&mut self, pos: usize, indent: usize) {
        while let Some(c) = self.comment_before(pos) {
            self.comment_line(c, indent, true);
        }
    }

    /// Starts an entry at `start`: the comments before it, then a blank line if the author
    /// left one.
    fn begin(&mut self, start: usize, indent: usize) {
        self.leading(start, indent);
        if !self.fresh && self.newlines(self.last_end, start) >= 2 {
            self.out.push(Out::Blank);
        }
        self.fresh = false;
    }

    /// Comments inside an entry, before `end`: printed above it.
    fn hoist(&mut self, end: usize, indent: usize) {
        while let Some(c) = self.comment_before(end) {
            self.comment_line(c, indent, false);
        }
    }

    fn push(&mut self, indent: usize, text: String, raw: bool) {
        self.out.push(Out::Line(Line {
            indent,
            text,
            comment: None,
            block: if raw { None } else { self.block },
            raw,
        }));
    }

    /// Ends an entry at `end`, taking a comment that follows it on the same line.
    fn finish(&mut self, end: usize) {
        self.last_end = self.last_end.max(end);
        let Some(c) = self.comments.get(self.next).copied() else {
            return;
        };
        let Some(between) = self.text.get(end..c.start) else {
            return;
        };
        let same_line = between
            .chars()
            .all(|ch| ch != '\n' && (ch.is_whitespace() || matches!(ch, ',' | '，' | '、')));
        if !same_line {
            return;
        }
        match self.out.last_mut() {
            Some(Out::Line(line)) if line.comment.is_none() && !line.raw => {
                line.comment = Some(c.text.to_string());
                self.next += 1;
                self.last_end = c.end;
            }
            _ => {
                let indent = match self.out.last() {
                    Some(Out::Line(line)) => line.indent,
                    _ => 0,
                };
                self.comment_line(c, indent, false);
            }
        }
    }

    /// An entry from `start` to `end` printed as `parts`, indented by `indent`.
    fn entry(&mut self, start: usize, end: usize, indent: usize, parts: Vec<Part>) {
        self.begin(start, indent);
        self.hoist(end, indent);
        for part in parts {
            self.push(indent + part.indent, part.text, part.raw);
        }
        self.finish(end);
    }

    /// A block: its header `parts` (the last gets ` {`), the entries `body` prints one level
    /// deeper, and `}`.
    fn block(
        &mut self,
        Braces {
            start,
            brace,
            close,
        }: Braces,
        indent: usize,
        mut parts: Vec<Part>,
        has_entries: bool,
        body: impl FnOnce(&mut Self, usize),
    ) {
        if !has_entries && !self.comments_within(brace, close) {
            if let Some(last) = parts.last_mut() {
                last.text.push_str(" {}");
            }
            self.entry(start, close + 1, indent, parts);
            return;
        }
        if let Some(last) = parts.last_mut() {
            last.text.push_str(" {");
        }
        self.entry(start, brace + 1, indent, parts);
        let outer = self.block;
        self.blocks += 1;
        self.block = Some(self.blocks);
        self.fresh = true;
        body(self, indent + INDENT);
        self.leading(close, indent + INDENT);
        self.block = outer;
        self.fresh = false;
        self.push(indent, "}".to_string(), false);
        self.finish(close + 1);
    }

    /// Whether a comment not printed yet lies between the offsets `open` and `close`.
    fn comments_within(&self, open: usize, close: usize) -> bool {
        self.comments
            .get(self.next..)
            .unwrap_or(&[])
            .iter()
            .any(|c| c.start > open && c.start < close)
    }

    /// The offset of the first `{` of code at or after `from`.
    fn brace_after(&self, from: usize) -> usize {
        self.text
            .get(from..)
            .and_then(|rest| {
                Pieces::new(rest)
                    .find(|(_, _, piece)| *piece == Piece::Code('{'))
                    .map(|(start, _, _)| from + start)
            })
            .unwrap_or(from)
    }

    /// The closing `}` of a block whose span ends with it.
    fn close_of(&self, span: Span) -> usize {
        span.end.saturating_sub(1)
    }

    /// Where a sort key ends (after `asc`/`desc`), and whether `asc` was written.
    fn sort_key_end(&self, key: &SortKey) -> (usize, bool) {
        let end = key.expr.span.end;
        let Some(rest) = self.text.get(end..) else {
            return (end, false);
        };
        let Some((start, _, _)) = Pieces::new(rest).find(|(_, _, p)| *p != Piece::Layout) else {
            return (end, false);
        };
        let word = rest.get(start..).unwrap_or("");
        for dir in ["asc", "desc"] {
            if let Some(after) = word.strip_prefix(dir) {
                let boundary = after
                    .chars()
                    .next()
                    .is_none_or(|c| !(c == '_' || pest::unicode::XID_CONTINUE(c)));
                if boundary {
                    return (end + start + dir.len(), dir == "asc");
                }
            }
        }
        (end, false)
    }

    fn sort_keys(&self, keys: &[SortKey]) -> String {
        let keys: Vec<String> = keys
            .iter()
            .map(|key| {
                let mut out = expr(&key.expr);
                if key.descending {
                    out.push_str(" desc");
                } else if self.sort_key_end(key).1 {
                    out.push_str(" asc");
                }
                out
            })
            .collect();
        keys.join(", ")
    }

    /// `unit where … order by … top N`
    fn rows(&self, rows: &Rows) -> String {
        let mut out = rows.domain.name.clone();
        if let Some(filter) = &rows.filter {
            out.push_str(" where ");
            out.push_str(&expr(filter));
        }
        if !rows.order.is_empty() {
            out.push_str(" order by ");
            out.push_str(&self.sort_keys(&rows.order));
        }
        if let Some((n, _)) = rows.top {
            out.push_str(&format!(" top {n}"));
            if rows.with_ties {
                out.push_str(" with ties");
            }
        }
        out
    }

    fn rows_end(&self, rows: &Rows) -> usize {
        if let Some((_, span)) = rows.top {
            return span.end;
        }
        if let Some(key) = rows.order.last() {
            return self.sort_key_end(key).0;
        }
        rows.filter
            .as_ref()
            .map_or(rows.domain.span.end, |f| f.span.end)
    }

    /// `text """…"""` or `text "…"`: triple quotes where the author used them and they keep
    /// the text.
    fn template(&self, prefix: &str, value: &Str) -> Vec<Part> {
        let long = self
            .text
            .get(value.span.start..)
            .is_some_and(|t| t.starts_with("\"\"\""));
        if !long || !long_form_keeps(&value.value) {
            return vec![Part::code(0, format!("{prefix}{}", quote(&value.value)))];
        }
        let mut parts = vec![Part::code(0, format!("{prefix}\"\"\""))];
        parts.extend(value.value.split('\n').map(|line| Part {
            indent: INDENT,
            text: line.to_string(),
            raw: true,
        }));
        parts.push(Part::code(0, "\"\"\""));
        parts
    }

    // ------------------------------------------------------------ declarations

    fn policy(mut self, policy: &Policy) -> String {
        for item in &policy.items {
            let span = item_span(item);
            // Spans are equal whatever their positions: compare the positions.
            let before_item = |a: &&Allow| (a.target.start, a.target.end) == (span.start, span.end);
            for allow in policy.allows.iter().filter(before_item) {
                let codes: Vec<&str> = allow.codes.iter().map(|c| c.name.as_str()).collect();
                let line = format!("allow({})", codes.join(", "));
                self.entry(
                    allow.span.start,
                    allow.span.end,
                    0,
                    vec![Part::code(0, line)],
                );
            }
            match item {
                Item::Header(h) => self.header(h),
                Item::Source(s) => self.source(s),
                Item::Calendar(c) => {
                    let line = format!(
                        "calendar {}",
                        if c.file {
                            quote(&c.name.name)
                        } else {
                            c.name.name.clone()
                        }
                    );
                    self.entry(c.span.start, c.span.end, 0, vec![Part::code(0, line)]);
                }
                Item::Units(u) => self.units(u),
                Item::View(v) => {
                    let line = format!(
                        "view {} = {} where {}",
                        v.name.name,
                        v.source.name,
                        expr(&v.filter)
                    );
                    self.entry(v.span.start, v.span.end, 0, vec![Part::code(0, line)]);
                }
                Item::Metric(m) => self.metric(m),
                Item::Score(s) => self.score(s),
                Item::Bands(b) => self.bands(b),
                Item::Ranking(r) => {
                    let mut line = format!("ranking {}", r.name.name);
                    if !r.within.is_empty() {
                        let within: Vec<&str> = r.within.iter().map(|w| w.name.as_str()).collect();
                        line.push_str(&format!(" within {}", within.join(", ")));
                    }
                    if let Some(filter) = &r.filter {
                        line.push_str(&format!(" where {}", expr(filter)));
                    }
                    line.push_str(&format!(" by {}", self.sort_keys(&r.keys)));
                    if let Some((ties, _)) = r.ties {
                        line.push_str(&format!(" ties {}", ties.name()));
                    }
                    self.entry(r.span.start, r.span.end, 0, vec![Part::code(0, line)]);
                }
                Item::List(l) => {
                    let line = format!("list {} = {}", l.name.name, self.rows(&l.rows));
                    self.entry(l.span.start, l.span.end, 0, vec![Part::code(0, line)]);
                }
                Item::Commentary(c) => {
                    let line = format!(
                        "commentary {} from {} for {}",
                        c.name.name,
                        quote(&c.file.value),
                        c.list.name
                    );
                    self.entry(c.span.start, c.span.end, 0, vec![Part::code(0, line)]);
                }
                Item::Report(r) => self.report(r),
                Item::Test(t) => self.test(t),
            }
        }
        self.leading(self.text.len() + 1, 0);
        render(&self.out)
    }

    fn header(&mut self, header: &Header) {
        let head = format!("policy {}", quote(&header.title.value));
        let mut settings: Vec<(Span, String)> = Vec::new();
        if let Some((rounding, span)) = header.rounding {
            let mode = match rounding {
                Rounding::HalfUp => "half_up",
                Rounding::HalfEven => "half_even",
            };
            settings.push((span, format!("rounding {mode}")));
        }
        if let Some((decimals, span)) = header.decimals {
            settings.push((span, format!("decimals {decimals}")));
        }
        if let Some((strict, span)) = header.weights_strict {
            let mode = if strict { "strict" } else { "lenient" };
            settings.push((span, format!("weights {mode}")));
        }
        if let Some((kind, span)) = header.fingerprint {
            settings.push((span, format!("fingerprint {}", kind.name())));
        }
        if let Some(mark) = &header.empty {
            settings.push((mark.span, format!("empty {}", quote(&mark.value))));
        }
        if let Some((zeros, span)) = header.zeros {
            settings.push((span, format!("zeros {}", zeros.name())));
        }
        settings.sort_by_key(|(span, _)| span.start);
        let span = header.span;
        let braces = self.text.get(..span.end).is_some_and(|t| t.ends_with('}'));
        let close = self.close_of(span);
        let brace = self.brace_after(header.title.span.end);
        if settings.is_empty() && !(braces && self.comments_within(brace, close)) {
            self.entry(span.start, span.end, 0, vec![Part::code(0, head)]);
            return;
        }
        let has_entries = !settings.is_empty();
        self.block(
            Braces {
                start: span.start,
                brace,
                close,
            },
            0,
            vec![Part::code(0, head)],
            has_entries,
            |p, indent| {
                for (span, line) in settings {
                    p.entry(span.start, span.end, indent, vec![Part::code(0, line)]);
                }
            },
        );
    }

    fn source(&mut self, source: &Source) {
        let span = source.span;
        let file = match &source.kind {
            SourceKind::Previous(of, shift) => {
                let line = format!(
                    "source {} = {} {}",
                    source.name.name,
                    of.name,
                    shift.words()
                );
                self.entry(span.start, span.end, 0, vec![Part::code(0, line)]);
                return;
            }
            SourceKind::File(file) => file,
        };
        let format = match file.format {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Jsonl => "jsonl",
        };
        let mut head = format!(
            "source {} from {format} {}",
            source.name.name,
            quote(&file.path.value)
        );
        let mut after = file.path.span.end;
        if let Some((encoding, espan)) = file.encoding {
            let encoding = match encoding {
                EncodingName::Utf8 => "utf8",
                EncodingName::Gbk => "gbk",
                EncodingName::Auto => "auto",
            };
            head.push_str(&format!(" encoding {encoding}"));
            after = after.max(espan.end);
        }
        if let Some(sheet) = &file.sheet {
            head.push_str(&format!(" sheet {}", quote(&sheet.value)));
            after = after.max(sheet.span.end);
        }
        let brace = self.brace_after(after);
        let column = file
            .fields
            .iter()
            .map(|f| width(&f.name.name))
            .max()
            .unwrap_or(0)
            + 1;
        self.block(
            Braces {
                start: span.start,
                brace,
                close: self.close_of(span),
            },
            0,
            vec![Part::code(0, head)],
            !file.fields.is_empty(),
            |p, indent| {
                for field in &file.fields {
                    let pad = column.saturating_sub(width(&field.name.name)).max(1);
                    let mut line = format!(
                        "{}{}{}",
                        field.name.name,
                        " ".repeat(pad),
                        field_type(&field.ty)
                    );
                    if field.nullable {
                        line.push('?');
                    }
                    if let Some(header) = &field.header {
                        line.push_str(&format!(" <- {}", quote(&header.value)));
                    }
                    p.entry(
                        field.span.start,
                        field.span.end,
                        indent,
                        vec![Part::code(0, line)],
                    );
                }
            },
        );
    }

    fn units(&mut self, units: &Units) {
        enum Entry<'u> {
            Group(&'u UnitGroup),
            Alias(&'u Alias),
        }
        let mut entries: Vec<(usize, Entry<'_>)> = units
            .groups
            .iter()
            .map(|g| (g.name.span.start, Entry::Group(g)))
            .chain(
                units
                    .aliases
                    .iter()
                    .map(|a| (a.from.span.start, Entry::Alias(a))),
            )
            .collect();
        entries.sort_by_key(|(start, _)| *start);
        let span = units.span;
        let brace = self.brace_after(span.start + "units".len());
        self.block(
            Braces {
                start: span.start,
                brace,
                close: self.close_of(span),
            },
            0,
            vec![Part::code(0, "units")],
            !entries.is_empty(),
            |p, indent| {
                for (_, entry) in entries {
                    match entry {
                        Entry::Group(group) => p.unit_group(group, indent),
                        Entry::Alias(alias) => {
                            let line = format!("alias {} = {}", name(&alias.from), name(&alias.to));
                            p.entry(
                                alias.from.span.start,
                                alias.to.span.end,
                                indent,
                                vec![Part::code(0, line)],
                            );
                        }
                    }
                }
            },
        );
    }

    /// `县直: a, b, c`, wrapped before [`WIDTH`] with the units aligned; comments between units
    /// stay there.
    fn unit_group(&mut self, group: &UnitGroup, indent: usize) {
        let start = group.name.span.start;
        let end = group
            .units
            .last()
            .map_or(group.name.span.end, |u| u.span.end);
        self.begin(start, indent);
        let first = group.units.first().map_or(end, |u| u.span.start);
        self.hoist(first, indent);
        let mut line = format!("{}: ", name(&group.name));
        let continuation = indent + width(&line);
        let mut line_indent = indent;
        let mut previous_end = first;
        let count = group.units.len();
        for (i, unit) in group.units.iter().enumerate() {
            let written = name(unit);
            if i > 0 {
                let mut broken = false;
                while let Some(c) = self.comment_before(unit.span.start) {
                    let trailing = !broken && self.newlines(previous_end, c.start) == 0;
                    if !broken {
                        line.push(',');
                        self.push(line_indent, std::mem::take(&mut line), false);
                        line_indent = continuation;
                        broken = true;
                    }
                    let waiting = self.next;
                    if trailing {
                        self.finish(previous_end);
                    }
                    if self.next == waiting {
                        self.comment_line(c, continuation, false);
                    }
                }
                if !broken {
                    let comma = usize::from(i + 1 < count);
                    let wide = line_indent + width(&line) + 2 + width(&written) + comma;
                    if wide > WIDTH {
                        line.push(',');
                        self.push(line_indent, std::mem::take(&mut line), false);
                        line_indent = continuation;
                    } else {
                        line.push_str(", ");
                    }
                }
            }
            line.push_str(&written);
            previous_end = unit.span.end;
        }
        self.push(line_indent, line, false);
        self.finish(end);
    }

    fn metric(&mut self, metric: &Metric) {
        let mut head = format!("metric {}", metric.name.name);
        if let Some(from) = &metric.from {
            head.push_str(&format!(" from {}", from.source.name));
            if let Some(filter) = &from.filter {
                head.push_str(&format!(" where {}", expr(filter)));
            }
        }
        if let Some(by) = &metric.by {
            head.push_str(&format!(" by {}", by.name));
        }
        head.push_str(" =");
        let mut body = expr(&metric.expr);
        if let Some(default) = &metric.default {
            body.push_str(&format!(" default {}", expr(default)));
        }
        if let Some(only) = &metric.only {
            body.push_str(&format!(" only where {}", expr(only)));
        }
        self.definition(metric.span, head, body);
    }

    fn score(&mut self, score: &Score) {
        let head = format!("score {} =", score.name.name);
        let mut body = String::new();
        for (i, term) in score.terms.iter().enumerate() {
            if i > 0 || term.negative {
                body.push_str(if term.negative { " - " } else { " + " });
            }
            let bare_percent =
                term.weight.is_none() && matches!(term.expr.kind, ExprKind::Percent(_));
            let value = paren(&term.expr, precedence(&term.expr) < POSTFIX || bare_percent);
            match term.weight {
                Some((weight, _)) => body.push_str(&format!("{weight}% {value}")),
                None => body.push_str(&value),
            }
        }
        if let Some(only) = &score.only {
            body.push_str(&format!(" only where {}", expr(only)));
        }
        self.definition(score.span, head, body.trim_start().to_string());
    }

    /// `head body` on one line, or `head` and the body one level deeper when too wide.
    fn definition(&mut self, span: Span, head: String, body: String) {
        let one = format!("{head} {body}");
        let parts = if width(&one) <= WIDTH {
            vec![Part::code(0, one)]
        } else {
            vec![Part::code(0, head), Part::code(INDENT, body)]
        };
        self.entry(span.start, span.end, 0, parts);
    }

    fn bands(&mut self, bands: &Bands) {
        let head = format!("bands {} on {}", bands.name.name, expr(&bands.on));
        let span = bands.span;
        let brace = self.brace_after(bands.on.span.end);
        self.block(
            Braces {
                start: span.start,
                brace,
                close: self.close_of(span),
            },
            0,
            vec![Part::code(0, head)],
            !bands.bands.is_empty(),
            |p, indent| {
                for band in &bands.bands {
                    let line = format!("{}: {}", name(&band.name), range(&band.range));
                    p.entry(
                        band.name.span.start,
                        band.span.end,
                        indent,
                        vec![Part::code(0, line)],
                    );
                }
            },
        );
    }

    fn report(&mut self, report: &Report) {
        let span = report.span;
        let (head, after) = match &report.title {
            Some(title) => (format!("report {}", quote(&title.value)), title.span.end),
            None => ("report".to_string(), span.start + "report".len()),
        };
        let brace = self.brace_after(after);
        self.block(
            Braces {
                start: span.start,
                brace,
                close: self.close_of(span),
            },
            0,
            vec![Part::code(0, head)],
            !report.sections.is_empty(),
            |p, indent| {
                for section in &report.sections {
                    p.section(section, indent);
                }
            },
        );
    }

    fn section(&mut self, section: &Section, indent: usize) {
        match section {
            Section::Heading(s) => {
                let line = format!("heading {}", quote(&s.value));
                self.entry(s.span.start, s.span.end, indent, vec![Part::code(0, line)]);
            }
            Section::Text(s) => {
                let parts = self.template("text ", s);
                self.entry(s.span.start, s.span.end, indent, parts);
            }
            Section::Table(table) => {
                let parts = self.titled(
                    "table",
                    &table.name,
                    &table.titles,
                    (table.like.as_ref(), table.total.as_ref()),
                    indent,
                );
                let after = table
                    .titles
                    .iter()
                    .chain(&table.like)
                    .chain(&table.total)
                    .map(|s| s.span.end)
                    .fold(table.name.span.end, usize::max);
                let brace = self.brace_after(after);
                self.block(
                    Braces {
                        start: table.span.start,
                        brace,
                        close: self.close_of(table.span),
                    },
                    indent,
                    parts,
                    true,
                    |p, indent| {
                        p.rows_entry(&table.rows, indent);
                        for column in &table.columns {
                            p.column("column", column, indent);
                        }
                    },
                );
            }
            Section::Chart(chart) => {
                let parts = self.titled("chart", &chart.name, &chart.titles, (None, None), indent);
                let after = chart
                    .titles
                    .iter()
                    .map(|s| s.span.end)
                    .fold(chart.name.span.end, usize::max);
                let brace = self.brace_after(after);
                self.block(
                    Braces {
                        start: chart.span.start,
                        brace,
                        close: self.close_of(chart.span),
                    },
                    indent,
                    parts,
                    true,
                    |p, indent| {
                        p.rows_entry(&chart.rows, indent);
                        for bar in &chart.bars {
                            p.column("bar", bar, indent);
                        }
                    },
                );
            }
        }
    }

    /// `table "名" title "…" like "…"` on one line, or one `title`/`like` a line when too wide.
    fn titled(
        &self,
        keyword: &str,
        title: &Str,
        titles: &[Str],
        (like, total): (Option<&Str>, Option<&Str>),
        indent: usize,
    ) -> Vec<Part> {
        let head = format!("{keyword} {}", quote(&title.value));
        let mut rest: Vec<String> = titles
            .iter()
            .map(|t| format!("title {}", quote(&t.value)))
            .collect();
        if let Some(like) = like {
            rest.push(format!("like {}", quote(&like.value)));
        }
        if let Some(total) = total {
            rest.push(format!("total {}", quote(&total.value)));
        }
        let one = std::iter::once(head.clone())
            .chain(rest.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        if indent + width(&one) + " {".len() <= WIDTH {
            return vec![Part::code(0, one)];
        }
        std::iter::once(Part::code(0, head))
            .chain(rest.into_iter().map(|r| Part::code(2 * INDENT, r)))
            .collect()
    }

    fn rows_entry(&mut self, rows: &Rows, indent: usize) {
        let line = format!("rows {}", self.rows(rows));
        let end = self.rows_end(rows);
        self.entry(
            rows.domain.span.start,
            end,
            indent,
            vec![Part::code(0, line)],
        );
    }

    fn column(&mut self, keyword: &str, column: &Column, indent: usize) {
        let line = format!(
            "{keyword} {} = {}",
            quote(&column.header.value),
            expr(&column.expr)
        );
        self.entry(
            column.header.span.start,
            column.expr.span.end,
            indent,
            vec![Part::code(0, line)],
        );
    }

    fn test(&mut self, test: &PolicyTest) {
        let span = test.span;
        let head = format!("test {}", quote(&test.name.value));
        let brace = self.brace_after(test.name.span.end);
        let has_entries = test.month.is_some() || !test.data.is_empty() || !test.expects.is_empty();
        self.block(
            Braces {
                start: span.start,
                brace,
                close: self.close_of(span),
            },
            0,
            vec![Part::code(0, head)],
            has_entries,
            |p, indent| {
                if let Some(month) = &test.month {
                    let line = format!("month {}", month.value);
                    p.entry(
                        month.span.start,
                        month.span.end,
                        indent,
                        vec![Part::code(0, line)],
                    );
                }
                for (source, data) in &test.data {
                    let parts = p.template(&format!("data {} ", source.name), data);
                    p.entry(source.span.start, data.span.end, indent, parts);
                }
                for expect in &test.expects {
                    let target: Vec<String> = expect.target.iter().map(name).collect();
                    let line = match expect.empty {
                        Some(negated) => format!(
                            "expect {} is {}empty",
                            target.join("."),
                            if negated { "not " } else { "" }
                        ),
                        None => format!(
                            "expect {} {} {}",
                            target.join("."),
                            expect.op.symbol(),
                            expr(&expect.expected)
                        ),
                    };
                    p.entry(
                        expect.span.start,
                        expect.span.end,
                        indent,
                        vec![Part::code(0, line)],
                    );
                }
            },
        );
    }
}

/// The lines as text: trailing comments of consecutive entries of a block aligned.
fn render(out: &[Out]) -> String {
    let mut text = String::new();
    let mut i = 0;
    while let Some(item) = out.get(i) {
        let Out::Line(first) = item else {
            text.push('\n');
            i += 1;
            continue;
        };
        // The run of lines of the same block, up to a blank line or a line of another block.
        let run: Vec<&Line> = out
            .get(i..)
            .unwrap_or(&[])
            .iter()
            .map_while(|o| match o {
                Out::Line(l) if first.block.is_some() && l.block == first.block => Some(l),
                _ => None,
            })
            .collect();
        let run = if run.is_empty() { vec![first] } else { run };
        let column = run
            .iter()
            .filter(|l| l.comment.is_some())
            .map(|l| l.indent + width(&l.text))
            .max()
            .unwrap_or(0)
            + 2;
        for line in &run {
            let mut printed = String::new();
            if !(line.raw && line.text.is_empty()) {
                printed.push_str(&" ".repeat(line.indent));
                printed.push_str(&line.text);
            }
            if let Some(comment) = &line.comment {
                let at = if line.block.is_some() {
                    column
                } else {
                    line.indent + width(&line.text) + 2
                };
                let pad = at.saturating_sub(line.indent + width(&line.text)).max(1);
                printed.push_str(&" ".repeat(pad));
                printed.push_str(comment);
            }
            if !line.raw {
                let trimmed = printed.trim_end().len();
                printed.truncate(trimmed);
            }
            text.push_str(&printed);
            text.push('\n');
        }
        i += run.len();
    }
    text
}
