//! Byte spans into policy text, and the source files they point into.

use std::fmt;
use std::sync::Arc;

/// A byte range in a policy file. Spans never take part in equality, so two trees
/// that differ only in layout compare equal.
#[derive(Clone, Copy, Default, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {
        // Consistent with equality: every span equals every other.
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}..{}", self.start, self.end)
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.start, span.end.saturating_sub(span.start)).into()
    }
}

/// A policy file's name and text, shared by every diagnostic that points into it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user gave it.
    pub name: Arc<str>,
    /// The whole text.
    pub text: Arc<str>,
    /// A second file joined to the first (`x.test.policy` after `x.policy`): where its
    /// text starts, and its name. Diagnostics inside it name it and count its lines.
    pub joined: Option<(usize, Arc<str>)>,
}

impl SourceFile {
    /// A file from its name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: Arc::from(name.into()),
            text: Arc::from(text.into()),
            joined: None,
        }
    }

    /// Two files checked as one text (a policy and its `.test.policy`), the second after a
    /// line break; positions in the second are reported in it.
    pub fn joined(first: &SourceFile, second: &SourceFile) -> Self {
        let mut text = first.text.to_string();
        text.push('\n');
        let start = text.len();
        text.push_str(&second.text);
        SourceFile {
            name: first.name.clone(),
            text: Arc::from(text),
            joined: Some((start, second.name.clone())),
        }
    }

    /// The name of the file an offset falls in, where that file starts in the text, and
    /// how many lines come before it.
    fn part(&self, offset: usize) -> (&Arc<str>, usize, usize) {
        match &self.joined {
            Some((start, name)) if offset >= *start => {
                let lines = self.text.get(..*start).unwrap_or("").matches('\n').count();
                (name, *start, lines)
            }
            _ => (&self.name, 0, 0),
        }
    }

    /// The name of the file an offset falls in.
    pub fn name_at(&self, offset: usize) -> &str {
        self.part(offset).0
    }

    /// The source as miette wants it for rendering labels.
    pub fn named_source(&self) -> miette::NamedSource<String> {
        miette::NamedSource::new(&self.name, self.text.to_string())
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let (_, start, _) = self.part(offset);
        let before = self.text.get(start..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before.get(line_start..).unwrap_or("").chars().count() + 1;
        (line, col)
    }
}

/// Diagnostics point into the file with columns counted in characters, so a label after
/// Chinese text reads `12:51`, not the byte offset `12:85`.
impl miette::SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let text: &'a str = &self.text;
        let inner = text.read_span(span, context_lines_before, context_lines_after)?;
        let start = inner.span().offset();
        let (_, column) = self.line_col(start);
        let (name, _, lines_before) = self.part(span.offset());
        Ok(Box::new(miette::MietteSpanContents::new_named(
            name.to_string(),
            inner.data(),
            *inner.span(),
            inner.line().saturating_sub(lines_before),
            column.saturating_sub(1),
            inner.line_count(),
        )))
    }
}
