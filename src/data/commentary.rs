//! An analyst's commentary on a month: a Markdown file of the month's folder with one
//! entry per key, each under a `## key` heading.
//!
//! ```text
//! # 2023 年 3 月热点问题分析            ← a title: ignored
//! <!-- 话题件数 235 件 -->              ← comments: ignored (prompts of `commentary new`)
//! ## 物业管理
//! 业主主要反映物业服务意识差，共 {{ 主要子类件数[key] }} 件……
//!
//! ## 消费者维权
//! 问题主要涉及……
//! ```
//!
//! An entry's text runs to the next `## ` heading; its lines are joined as Markdown joins
//! them (no space between two Chinese characters), and a blank line starts a new paragraph.
//! The file is UTF-8 (a BOM is allowed) or, as Windows editors save it, GBK.

use std::path::Path;

/// The most a commentary file may hold: a month's analysis is a few pages.
pub const MAX_BYTES: u64 = 4 << 20;

/// One entry: the key it describes, its text (a template) and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The heading's text: the key.
    pub key: String,
    /// The text, paragraphs separated by a blank line.
    pub text: String,
    /// The line of its heading (1-based).
    pub line: usize,
}

/// A parsed commentary file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Commentary {
    /// The entries in file order.
    pub entries: Vec<Entry>,
    /// Lines of text before the first entry, which describe nothing.
    pub stray: Vec<usize>,
}

/// Why a commentary file cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    /// The file is larger than [`MAX_BYTES`].
    TooLarge(u64),
    /// Neither UTF-8 nor GBK.
    Encoding,
    /// The operating system's error.
    Io(String),
    /// The same key twice: which one is meant?
    Duplicate {
        /// The key.
        key: String,
        /// Its second heading.
        line: usize,
        /// Its first heading.
        first: usize,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(n) => write!(
                f,
                "it holds {n} bytes, more than a commentary's {} MB",
                MAX_BYTES >> 20
            ),
            ReadError::Encoding => write!(f, "it is neither UTF-8 nor GBK text"),
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Duplicate { key, line, first } => write!(
                f,
                "`## {key}` on line {line} repeats the entry of line {first}"
            ),
        }
    }
}

/// Reads the commentary at `path`: `None` when the month has none.
pub fn read(path: &Path) -> Result<Option<Commentary>, ReadError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::Io(e.to_string())),
    };
    if !meta.is_file() {
        return Err(ReadError::Io("it is not a file".into()));
    }
    if meta.len() > MAX_BYTES {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| ReadError::Io(e.to_string()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t.to_string(),
        Err(_) => super::gbk::decode(&bytes).map_err(|_| ReadError::Encoding)?,
    };
    parse(&text).map(Some)
}

/// Parses the text of a commentary file.
pub fn parse(text: &str) -> Result<Commentary, ReadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Commentary::default();
    // The entry being read: its key, heading line, first text line and lines.
    let mut current: Option<(String, usize, Vec<String>)> = None;
    let mut in_comment = false;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = uncommented(raw, &mut in_comment);
        let trimmed = line.trim();
        if let Some(key) = trimmed.strip_prefix("## ") {
            if let Some(done) = current.take() {
                finish(&mut out, done)?;
            }
            current = Some((key.trim().to_string(), number, Vec::new()));
            continue;
        }
        match &mut current {
            Some((_, _, lines)) => lines.push(line),
            None => {
                let title = trimmed.starts_with("# ") || trimmed == "#";
                if !trimmed.is_empty() && !title {
                    out.stray.push(number);
                }
            }
        }
    }
    if let Some(done) = current.take() {
        finish(&mut out, done)?;
    }
    Ok(out)
}

/// A line without its `<!-- … -->` comments, which may span lines (`in_comment`).
fn uncommented(raw: &str, in_comment: &mut bool) -> String {
    let mut line = String::new();
    let mut rest = raw;
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(end) => {
                    rest = &rest[end + 3..];
                    *in_comment = false;
                }
                None => return line,
            }
        } else {
            match rest.find("<!--") {
                Some(start) => {
                    line.push_str(&rest[..start]);
                    rest = &rest[start + 4..];
                    *in_comment = true;
                }
                None => {
                    line.push_str(rest);
                    return line;
                }
            }
        }
    }
}

/// Closes an entry.
fn finish(
    out: &mut Commentary,
    (key, line, lines): (String, usize, Vec<String>),
) -> Result<(), ReadError> {
    if let Some(first) = out.entries.iter().find(|e| e.key == key) {
        return Err(ReadError::Duplicate {
            key,
            line,
            first: first.line,
        });
    }
    out.entries.push(Entry {
        key,
        text: join(&lines),
        line,
    });
    Ok(())
}

/// Joins an entry's lines as Markdown does: lines of a paragraph with a space, or with
/// nothing between two Chinese characters; paragraphs with a blank line.
fn join(lines: &[String]) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let (Some(a), Some(b)) = (current.chars().last(), line.chars().next()) {
            if !(is_wide(a) && is_wide(b)) {
                current.push(' ');
            }
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}

/// Chinese characters and full-width punctuation, which Markdown joins without a space.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_titles_comments_and_paragraphs() {
        let text = "\u{feff}# 三月分析\n<!-- 话题件数 235 件\n  上月 120 件 -->\n\n## 物业管理\n业主主要反映\n物业服务意识差，\nsee the data\n\n第二段。<!-- 提示 -->\n## 供暖 \r\n\n问题主要涉及供暖。\n";
        let c = parse(text).unwrap();
        assert_eq!(c.stray, Vec::<usize>::new());
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.entries[0].key, "物业管理");
        assert_eq!(c.entries[0].line, 5);
        assert_eq!(
            c.entries[0].text,
            "业主主要反映物业服务意识差， see the data\n\n第二段。"
        );
        assert_eq!(c.entries[1].key, "供暖");
        assert_eq!(c.entries[1].text, "问题主要涉及供暖。");
    }

    #[test]
    fn text_before_the_first_entry_and_repeated_keys() {
        let c = parse("写在前面\n## 甲\n一\n").unwrap();
        assert_eq!(c.stray, vec![1]);
        assert_eq!(
            parse("## 甲\n一\n## 乙\n二\n## 甲\n三\n"),
            Err(ReadError::Duplicate {
                key: "甲".into(),
                line: 5,
                first: 1
            })
        );
        // A heading with nothing under it is an entry without text.
        let c = parse("## 甲\n<!-- 待写 -->\n").unwrap();
        assert_eq!(c.entries[0].text, "");
    }
}
