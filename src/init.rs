//! `hotline init`: a starter policy from a ticket export.
//!
//! Reads a CSV export (UTF-8, with or without a byte-order mark, else GBK/GB18030),
//! infers a type for every column from its values, and writes a policy that `hotline
//! check` accepts: the source, a unit registry from the column that names the handling
//! unit, a count per unit, a score, bands, a ranking and a report that uses all of them.

use crate::span::SourceFile;
use crate::Outcome;
use chrono::format::ParseErrorKind;
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

/// The date-time formats tried, in order; the first is the language's default.
const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
];

/// Spellings of yes and no, compared without case for Latin letters.
const BOOL_PAIRS: &[(&str, &str)] = &[
    ("是", "否"),
    ("true", "false"),
    ("yes", "no"),
    ("y", "n"),
    ("t", "f"),
    ("对", "错"),
    ("有", "无"),
];

/// At most this many distinct values make a label field (`enum`).
const MAX_LABELS: usize = 12;

/// Lines of the units registry are wrapped at about this display width.
const WRAP: usize = 96;

/// Infers a starter policy from `from`, written to `out` or returned on standard output.
pub fn command(from: &Path, out: Option<&Path>) -> Outcome {
    let fail = |code: u8, stderr: String| Outcome {
        stdout: String::new(),
        stderr,
        code,
    };
    if let Some(out) = out {
        if out.exists() {
            return fail(
                2,
                format!(
                    "error: `{}` already exists; `hotline init` does not overwrite files\n",
                    out.display()
                ),
            );
        }
    }
    let bytes = match std::fs::read(from) {
        Ok(b) => b,
        Err(e) => return fail(2, format!("error: cannot read `{}`: {e}\n", from.display())),
    };
    let file_name = from
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "data.csv".to_string());
    let started = match starter_policy(&bytes, &file_name) {
        Ok(s) => s,
        Err(message) => return fail(1, format!("error: `{}`: {message}\n", from.display())),
    };
    let mut stderr = String::new();
    let mut code = 0;
    // The starter must pass `hotline check`; if it does not, that is a bug to report.
    let name = out.map_or_else(|| "<stdout>".to_string(), |p| p.display().to_string());
    let file = SourceFile::new(name, started.text.clone());
    match crate::compile(&file) {
        Ok(checked) => {
            for w in checked.warnings {
                stderr.push_str(&crate::render_diagnostic(
                    &file,
                    crate::Problem::Check(w),
                    false,
                ));
            }
        }
        Err(problems) => {
            stderr.push_str("error: the starter policy does not pass `hotline check` (a bug in `hotline init`):\n");
            for p in problems {
                stderr.push_str(&crate::render_diagnostic(&file, p, false));
            }
            code = 1;
        }
    }
    stderr.push_str(&format!(
        "note: `{}` read as {}\n",
        from.display(),
        started.encoding
    ));
    match out {
        None => Outcome {
            stdout: started.text,
            stderr,
            code,
        },
        Some(path) => match write_new(path, started.text.as_bytes()) {
            Ok(()) => {
                stderr.push_str(&format!(
                    "wrote `{}`: {} fields, {} units\n",
                    path.display(),
                    started.fields,
                    started.units
                ));
                Outcome {
                    stdout: String::new(),
                    stderr,
                    code,
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fail(
                2,
                format!(
                    "error: `{}` already exists; `hotline init` does not overwrite files\n",
                    path.display()
                ),
            ),
            Err(e) => fail(
                1,
                format!("error: cannot write `{}`: {e}\n", path.display()),
            ),
        },
    }
}

/// Writes a new file through a temporary file in the same folder; never replaces a file.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = crate::render::temp_beside(path);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        // A hard link fails when the target exists, so a file created meanwhile is kept.
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
            Err(_) if path.exists() => Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists)),
            Err(_) => std::fs::rename(&tmp, path),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// A starter policy and what went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Starter {
    /// The policy text.
    pub text: String,
    /// The encoding found: `UTF-8` or `GBK`.
    pub encoding: String,
    /// Fields declared.
    pub fields: usize,
    /// Units in the registry.
    pub units: usize,
}

/// Infers a starter policy from the bytes of a CSV file named `file_name`.
pub fn starter_policy(bytes: &[u8], file_name: &str) -> Result<Starter, String> {
    let (text, encoding) = decode(bytes)?;
    let (headers, rows) = read_csv(&text)?;
    let mut columns = Vec::new();
    let mut skipped = Vec::new();
    let mut seen_headers: HashSet<&str> = HashSet::new();
    for (i, header) in headers.iter().enumerate() {
        if header.is_empty() {
            skipped.push(format!("column {} has no header", i + 1));
            continue;
        }
        if !seen_headers.insert(header) || headers.iter().filter(|h| *h == header).count() > 1 {
            skipped.push(format!("`{header}` is the header of more than one column"));
            continue;
        }
        columns.push(infer(i, header, &rows));
    }
    let unit = pick_unit_column(&columns);
    if let Some(u) = unit.and_then(|u| columns.get_mut(u)) {
        u.ty = Inferred::Unit;
    }
    let mut starter = render(file_name, &encoding, rows.len(), &columns, unit, &skipped);
    // In the canonical layout of `hotline fmt`, when it can lay the text out.
    if let Ok(formatted) = crate::fmt::format_source(&starter.text) {
        starter.text = formatted;
    }
    Ok(starter)
}

fn decode(bytes: &[u8]) -> Result<(String, Encoding), String> {
    let (body, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    if let Ok(text) = std::str::from_utf8(body) {
        return Ok((text.to_string(), Encoding::Utf8 { bom }));
    }
    if bom {
        return Err(
            "the file starts with a UTF-8 byte-order mark but is not valid UTF-8".to_string(),
        );
    }
    match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok((text.into_owned(), Encoding::Gbk)),
        None => Err("the file is neither UTF-8 nor GBK text".to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Utf8 { bom: bool },
    Gbk,
}

fn read_csv(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("cannot be read as CSV: {e}"))?;
        let blank = record.iter().all(|f| f.trim().is_empty());
        let line = record.position().map_or(0, |p| p.line());
        match &headers {
            None if blank => continue,
            None => headers = Some(record.iter().map(|h| h.trim().to_string()).collect()),
            Some(h) => {
                if record.len() != h.len() {
                    if blank {
                        continue;
                    }
                    return Err(format!(
                        "line {line} has {} fields, the header has {}",
                        record.len(),
                        h.len()
                    ));
                }
                rows.push(record.iter().map(|f| f.trim().to_string()).collect());
            }
        }
    }
    let headers = headers.ok_or_else(|| "the file is empty: no header row".to_string())?;
    Ok((headers, rows))
}

/// A column's inferred type.
#[derive(Debug, Clone, PartialEq)]
enum Inferred {
    Text,
    Integer,
    Decimal,
    Percent,
    DateTime(&'static str),
    Bool(Vec<(String, bool)>),
    Enum(Vec<String>),
    Unit,
}

/// What was learnt about one column.
#[derive(Debug, Clone)]
struct Column {
    header: String,
    ty: Inferred,
    nullable: bool,
    /// Distinct non-empty values in order of first appearance.
    distinct: Vec<String>,
    /// Whether the values would also do as text or labels (for the unit column).
    textual: bool,
}

fn infer(index: usize, header: &str, rows: &[Vec<String>]) -> Column {
    let values: Vec<&str> = rows
        .iter()
        .map(|r| r.get(index).map_or("", String::as_str))
        .collect();
    let nonempty: Vec<&str> = values.iter().copied().filter(|v| !v.is_empty()).collect();
    let nullable = nonempty.len() < values.len();
    let mut distinct: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for v in &nonempty {
        if seen.insert(v) {
            distinct.push((*v).to_string());
        }
    }
    let ty = infer_type(&nonempty, &distinct);
    let textual = matches!(ty, Inferred::Text | Inferred::Enum(_));
    Column {
        header: header.to_string(),
        ty,
        nullable,
        distinct,
        textual,
    }
}

fn infer_type(values: &[&str], distinct: &[String]) -> Inferred {
    if values.is_empty() {
        return Inferred::Text;
    }
    if let Some(format) = DATETIME_FORMATS
        .iter()
        .find(|f| distinct.iter().all(|v| parses_datetime(v, f)))
    {
        return Inferred::DateTime(format);
    }
    if let Some(spellings) = bool_spellings(distinct) {
        return Inferred::Bool(spellings);
    }
    let leading_zero = |v: &str| {
        let digits = v.trim_start_matches(['+', '-']);
        digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.")
    };
    if distinct.iter().all(|v| is_integer(v) && !leading_zero(v)) {
        return Inferred::Integer;
    }
    if distinct.iter().all(|v| is_decimal(v) && !leading_zero(v)) {
        return Inferred::Decimal;
    }
    let has_sign = |v: &str| v.ends_with('%') || v.ends_with('％');
    if distinct.iter().any(|v| has_sign(v)) && distinct.iter().all(|v| is_decimal(strip_percent(v)))
    {
        return Inferred::Percent;
    }
    if distinct.len() <= MAX_LABELS && values.len() >= 2 * distinct.len() {
        return Inferred::Enum(distinct.to_vec());
    }
    Inferred::Text
}

/// As the loader reads date-times: a date-time, or a date at midnight.
fn parses_datetime(value: &str, format: &str) -> bool {
    match NaiveDateTime::parse_from_str(value, format) {
        Ok(_) => true,
        Err(e) if e.kind() == ParseErrorKind::NotEnough => {
            NaiveDate::parse_from_str(value, format).is_ok()
        }
        Err(_) => false,
    }
}

/// As the loader reads whole numbers: an optional sign and ASCII digits.
fn is_integer(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && i64::from_str(value).is_ok()
}

/// As the loader reads decimals: an optional sign, digits and a fraction.
fn is_decimal(value: &str) -> bool {
    let body = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !(int.is_empty() && frac.is_empty())
        && digits(int)
        && digits(frac)
        && Decimal::from_str_exact(value.strip_prefix('+').unwrap_or(value)).is_ok()
}

fn strip_percent(value: &str) -> &str {
    value
        .strip_suffix('%')
        .or_else(|| value.strip_suffix('％'))
        .map_or(value, str::trim_end)
}

/// `是`/`否`, `true`/`false`, `Y`/`N`, …: each value's meaning, when every value is one of
/// a known pair.
fn bool_spellings(distinct: &[String]) -> Option<Vec<(String, bool)>> {
    if distinct.is_empty() || distinct.len() > 4 {
        return None;
    }
    BOOL_PAIRS.iter().find_map(|(yes, no)| {
        distinct
            .iter()
            .map(|v| {
                let lower = v.to_lowercase();
                if lower == *yes {
                    Some((v.clone(), true))
                } else if lower == *no {
                    Some((v.clone(), false))
                } else {
                    None
                }
            })
            .collect::<Option<Vec<_>>>()
            .map(|mut spellings| {
                // `true` spellings first.
                spellings.sort_by_key(|(_, b)| !*b);
                spellings
            })
    })
}

/// The column that names the handling unit: `承办单位` first, then any `…单位` or `…部门`.
fn pick_unit_column(columns: &[Column]) -> Option<usize> {
    let candidates = |pred: &dyn Fn(&str) -> bool| {
        columns
            .iter()
            .position(|c| c.textual && !c.distinct.is_empty() && pred(&c.header))
    };
    candidates(&|h| h.contains("承办") && (h.contains("单位") || h.contains("部门")))
        .or_else(|| candidates(&|h| h.contains("单位")))
        .or_else(|| candidates(&|h| h.contains("部门")))
}

// ---------------------------------------------------------------- names

/// Whether `name` can be written bare: an identifier and not a keyword (asks the parser).
fn is_identifier(name: &str) -> bool {
    if name.is_empty() || name.contains(char::is_whitespace) {
        return false;
    }
    let file = SourceFile::new("", format!("view {name} = x where true"));
    match crate::syntax::parse(&file) {
        Ok(policy) => policy
            .items
            .iter()
            .any(|item| matches!(item, crate::ast::Item::View(v) if v.name.name == name)),
        Err(_) => false,
    }
}

/// A name as written in a policy: bare when it is an identifier, else quoted.
fn written(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        quoted(name)
    }
}

fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Names the language gives a meaning of its own in expressions.
const RESERVED: &[&str] = &["unit", "group", "year", "month"];

/// An identifier made from `text`: characters that cannot be in one become `_`.
fn clean(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let ok = pest::unicode::XID_CONTINUE(c) || c == '_';
        if ok {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_matches('_').to_string();
    if out.is_empty() {
        return fallback.to_string();
    }
    if out
        .chars()
        .next()
        .is_some_and(|c| !pest::unicode::XID_START(c))
    {
        out.insert(0, '_');
    }
    if !is_identifier(&out) || RESERVED.contains(&out.as_str()) {
        out.push('_');
    }
    if is_identifier(&out) {
        out
    } else {
        fallback.to_string()
    }
}

/// Hands out names that are all different.
#[derive(Default)]
struct Names {
    taken: HashSet<String>,
}

impl Names {
    fn take(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{wanted}_{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

/// Display width for alignment: CJK and full-width characters take two columns.
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let c = u32::from(c);
            let wide = matches!(c,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
                | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
                | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

fn pad(text: &str, to: usize) -> String {
    format!("{text}{}", " ".repeat(to.saturating_sub(width(text))))
}

// ---------------------------------------------------------------- the policy

fn type_text(ty: &Inferred) -> String {
    match ty {
        Inferred::Text => "text".into(),
        Inferred::Integer => "integer".into(),
        Inferred::Decimal => "decimal".into(),
        Inferred::Percent => "percent".into(),
        Inferred::Unit => "unit".into(),
        Inferred::DateTime(format) if Some(format) == DATETIME_FORMATS.first() => "datetime".into(),
        Inferred::DateTime(format) => format!("datetime({})", quoted(format)),
        Inferred::Bool(spellings) => {
            let parts: Vec<String> = spellings
                .iter()
                .map(|(s, b)| format!("{} = {b}", written(s)))
                .collect();
            format!("bool({})", parts.join(", "))
        }
        Inferred::Enum(labels) => {
            let parts: Vec<String> = labels.iter().map(|l| written(l)).collect();
            format!("enum({})", parts.join(", "))
        }
    }
}

fn render(
    file_name: &str,
    encoding: &Encoding,
    rows: usize,
    columns: &[Column],
    unit: Option<usize>,
    skipped: &[String],
) -> Starter {
    let stem = Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut names = Names::default();
    let source = names.take(&clean(&stem, "数据"));
    let fields: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let wanted = if is_identifier(&c.header) && !RESERVED.contains(&c.header.as_str()) {
                c.header.clone()
            } else {
                clean(&c.header, &format!("列{}", i + 1))
            };
            names.take(&wanted)
        })
        .collect();
    let (encoding_name, encoding_note) = match encoding {
        Encoding::Utf8 { bom: true } => {
            ("utf8", "UTF-8 (detected; it starts with a byte-order mark)")
        }
        Encoding::Utf8 { bom: false } => ("utf8", "UTF-8 (detected)"),
        Encoding::Gbk => (
            "gbk",
            "GBK (detected: the bytes are not UTF-8, and read as GB18030)",
        ),
    };

    let mut out = String::new();
    out.push_str(&format!(
        "# A starter policy written by `hotline init` from {file_name}.\n"
    ));
    out.push_str(
        "# Check the inferred types, split the units into groups, then write the real rules.\n\n",
    );
    out.push_str(&format!(
        "policy {} {{\n  rounding half_up\n  decimals 2\n}}\n\n",
        quoted(&format!("{stem} 月度考核"))
    ));

    out.push_str(&format!(
        "# {file_name}: {encoding_note}, {rows} rows, {} columns.\n",
        columns.len()
    ));
    for s in skipped {
        out.push_str(&format!("# Not declared: {s}.\n"));
    }
    out.push_str(&format!(
        "source {source} from csv {} encoding {encoding_name} {{\n",
        quoted(file_name)
    ));
    let name_width = fields.iter().map(|f| width(f)).max().unwrap_or(0) + 1;
    let lines: Vec<String> = columns
        .iter()
        .map(|c| format!("{}{}", type_text(&c.ty), if c.nullable { "?" } else { "" }))
        .collect();
    for ((c, f), ty) in columns.iter().zip(&fields).zip(&lines) {
        let mut line = format!("  {}{}", pad(f, name_width), ty);
        if *f != c.header {
            line = format!("{line} <- {}", quoted(&c.header));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("}\n");

    let unit_column = unit.and_then(|u| Some((columns.get(u)?, fields.get(u)?)));
    let Some((unit_col, unit_field)) = unit_column else {
        out.push_str(&without_units(&mut names, &source, &stem));
        return Starter {
            text: out,
            encoding: encoding_label(encoding),
            fields: columns.len(),
            units: 0,
        };
    };

    out.push_str(&format!(
        "\n# The {} units found in {}, in order of first appearance. The order is the last\n# tie-break of every ranking; split them into groups (镇街, 县直, …) as needed.\n",
        unit_col.distinct.len(),
        unit_col.header
    ));
    out.push_str("units {\n");
    let group = "单位";
    let lead = format!("  {group}: ");
    let mut line = lead.clone();
    let indent = " ".repeat(width(&lead));
    let mut first_on_line = true;
    let units: Vec<String> = unit_col.distinct.iter().map(|u| written(u)).collect();
    for (i, u) in units.iter().enumerate() {
        let piece = if i + 1 < units.len() {
            format!("{u},")
        } else {
            u.clone()
        };
        if !first_on_line && width(&line) + 1 + width(&piece) > WRAP {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.clone();
            first_on_line = true;
        }
        if !first_on_line {
            line.push(' ');
        }
        line.push_str(&piece);
        first_on_line = false;
    }
    out.push_str(line.trim_end());
    out.push_str("\n}\n\n");

    let rows_from = if unit_col.nullable {
        let view = names.take("有单位");
        out.push_str(&format!(
            "# Rows without a unit ({} is empty) are not any unit's.\nview {view} = {source} where {unit_field} is not empty\n\n",
            unit_col.header
        ));
        view
    } else {
        source.clone()
    };
    let count = names.take("承办量");
    let total = names.take("总量");
    let share = names.take("占比");
    let score = names.take("总得分");
    let bands = names.take("规模");
    let ranking = names.take("排名");
    out.push_str(&format!(
        "metric {count} from {rows_from} by {unit_field} = count()\n"
    ));
    out.push_str(&format!("metric {total} from {source} = count()\n"));
    out.push_str(&format!(
        "metric {share} = {count} / {total} * 100% ?? 0%\n\n"
    ));
    out.push_str(
        "# A placeholder: weigh the real rates here, e.g. `5% 响应率 + 40% 解决率 + …`.\n",
    );
    out.push_str(&format!("score {score} = 100% {share}\n\n"));
    out.push_str(&format!(
        "bands {bands} on {count} {{\n  大: >= 100\n  中: 10 ..< 100\n  小: < 10\n}}\n\n"
    ));
    out.push_str(&format!(
        "ranking {ranking} within {bands} by round({score}, 2) desc, {count} desc\n\n"
    ));
    out.push_str(&format!(
        "report {} {{\n",
        quoted(&format!(
            "{stem} {{{{ year }}}} 年 {{{{ month }}}} 月份办理情况"
        ))
    ));
    out.push_str("  heading \"一、总体情况\"\n");
    out.push_str(&format!(
        "  text \"\"\"\n    {{{{ month }}}} 月份共 {{{{ {total} }}}} 件，各单位办理情况见附表 1。\n  \"\"\"\n\n"
    ));
    out.push_str("  table \"附表 1\" title \"{{ year }} 年 {{ month }} 月份各单位办理情况表\" {\n");
    out.push_str(&format!(
        "    rows unit where {count} > 0 order by {ranking}\n"
    ));
    out.push_str("    column \"单位\" = unit\n");
    out.push_str(&format!("    column \"规模\" = {bands}\n"));
    out.push_str(&format!("    column \"承办量\" = {count}\n"));
    out.push_str(&format!("    column \"占比\" = {share}\n"));
    out.push_str(&format!("    column \"总得分\" = {score}\n"));
    out.push_str("  }\n}\n");
    Starter {
        text: out,
        encoding: encoding_label(encoding),
        fields: columns.len(),
        units: unit_col.distinct.len(),
    }
}

fn encoding_label(encoding: &Encoding) -> String {
    match encoding {
        Encoding::Utf8 { .. } => "UTF-8".into(),
        Encoding::Gbk => "GBK".into(),
    }
}

/// The rest of a policy for a file without a column that names the unit.
fn without_units(names: &mut Names, source: &str, stem: &str) -> String {
    let total = names.take("总量");
    let mut out = String::new();
    out.push_str("\n# No column names the handling unit (承办单位, …单位, …部门). Declare the one that does as\n");
    out.push_str("# `unit`, add a `units { … }` registry, and score, band and rank the units.\n");
    out.push_str(&format!("metric {total} from {source} = count()\n\n"));
    out.push_str(&format!(
        "report {} {{\n",
        quoted(&format!(
            "{stem} {{{{ year }}}} 年 {{{{ month }}}} 月份办理情况"
        ))
    ));
    out.push_str("  heading \"一、总体情况\"\n");
    out.push_str(&format!(
        "  text \"\"\"\n    {{{{ month }}}} 月份共 {{{{ {total} }}}} 件。\n  \"\"\"\n}}\n"
    ));
    out
}
