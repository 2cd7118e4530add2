//! JSON Lines sources: one JSON object per line.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::value::{CellErrors, Column, Raw};
use super::{finish, line_of, ColumnSpec, LoadError, Table, UnitResolver, UTF8_BOM};

pub(crate) fn load(
    path: &Path,
    specs: &[ColumnSpec],
    units: &dyn UnitResolver,
) -> Result<Table, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(&bytes);
    let text = std::str::from_utf8(body).map_err(|e| LoadError::Malformed {
        path: path.to_path_buf(),
        line: line_of(body, e.valid_up_to()),
        message: format!(
            "line {} has bytes that are not valid UTF-8",
            line_of(body, e.valid_up_to())
        ),
        hint: Some("JSON Lines files must be UTF-8".to_string()),
    })?;

    // Key -> the specs reading it.
    let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, spec) in specs.iter().enumerate() {
        by_key.entry(spec.header.trim()).or_default().push(i);
    }
    let mut columns: Vec<Column<'_>> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| Column::new(spec, i as u64 + 1, false))
        .collect();
    let mut seen = vec![false; specs.len()];
    let mut lines = Vec::new();
    let mut errors = CellErrors::default();
    let mut slots: Vec<Option<Value>> = vec![None; specs.len()];

    for (line, content) in numbered_lines(text) {
        let Entries(entries) = parse_line(path, line, content)?;
        for (position, (key, value)) in entries.into_iter().enumerate() {
            let Some(readers) = by_key.get(key.as_str()) else {
                continue;
            };
            for &i in readers {
                let (Some(slot), Some(flag)) = (slots.get_mut(i), seen.get_mut(i)) else {
                    continue;
                };
                if slot.is_some() {
                    return Err(LoadError::DuplicateHeader {
                        path: path.to_path_buf(),
                        header: key.clone(),
                        line,
                        column: position as u64 + 1,
                    });
                }
                *flag = true;
                *slot = Some(value.clone());
            }
        }
        for (column, slot) in columns.iter_mut().zip(slots.iter_mut()) {
            let value = slot.take();
            let buf: String;
            let raw = match &value {
                None | Some(Value::Null) => Raw::Empty,
                Some(Value::String(s)) => Raw::Text(s),
                Some(Value::Bool(b)) => Raw::Bool(*b),
                Some(Value::Number(n)) => {
                    buf = n.to_string();
                    Raw::Number {
                        text: &buf,
                        percent_style: false,
                    }
                }
                Some(v @ Value::Array(_)) => {
                    buf = v.to_string();
                    Raw::Invalid {
                        shown: &buf,
                        what: "a JSON list",
                    }
                }
                Some(v @ Value::Object(_)) => {
                    buf = v.to_string();
                    Raw::Invalid {
                        shown: &buf,
                        what: "a JSON object",
                    }
                }
            };
            column.push(raw, line, units, &mut errors);
        }
        lines.push(line);
    }

    if !lines.is_empty() && seen.iter().any(|s| !s) {
        let mut missing: Vec<String> = Vec::new();
        for (spec, _) in specs.iter().zip(&seen).filter(|(_, s)| !**s) {
            let key = spec.header.trim().to_string();
            if !missing.contains(&key) {
                missing.push(key);
            }
        }
        return Err(LoadError::MissingColumns {
            path: path.to_path_buf(),
            missing,
            found: all_keys(text),
            hint: Some("no line of the file has these keys".to_string()),
        });
    }
    finish(path, columns, lines, None, errors)
}

/// Non-blank lines with their 1-based numbers (`\r\n` endings allowed).
fn numbered_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty())
}

fn parse_line(path: &Path, line: u64, content: &str) -> Result<Entries, LoadError> {
    serde_json::from_str::<Entries>(content).map_err(|e| {
        let message = if e.classify() == serde_json::error::Category::Data {
            // Valid JSON, but not an object.
            let kind = match content.trim_start().chars().next() {
                Some('[') => "a JSON list",
                Some('"') => "a JSON string",
                Some('t' | 'f') => "a JSON boolean",
                Some('n') => "JSON `null`",
                _ => "a JSON number",
            };
            format!("line {line} is {kind}, not an object")
        } else {
            let text = e.to_string();
            // serde_json appends " at line 1 column N"; the line is ours.
            let detail = text
                .rfind(" at line ")
                .map_or(text.as_str(), |i| &text[..i]);
            format!(
                "line {line} is not valid JSON ({detail} at column {})",
                e.column()
            )
        };
        LoadError::Malformed {
            path: path.to_path_buf(),
            line,
            message,
            hint: Some(
                "each non-empty line must be one JSON object like `{\"key\": \"value\"}`"
                    .to_string(),
            ),
        }
    })
}

/// The keys of all objects of the file, in first-seen order (for messages).
fn all_keys(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (_, content) in numbered_lines(text) {
        if let Ok(Entries(entries)) = serde_json::from_str::<Entries>(content) {
            for (k, _) in entries {
                if !keys.contains(&k) {
                    keys.push(k);
                    if keys.len() >= 200 {
                        return keys;
                    }
                }
            }
        }
    }
    keys
}

/// A JSON object's entries in order, keeping duplicate keys.
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}
