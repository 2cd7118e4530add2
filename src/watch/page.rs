//! The preview page: the HTML report with a small script and style injected before
//! `</body>`: live reload over server-sent events (keeping the scroll position), the stale
//! banner and the diagnostics overlay, and a tooltip on every table cell that shows a value of
//! a definition (its exact value, how it was computed and where it is defined).
//!
//! Everything injected is escaped: text as HTML, data as JSON inside a
//! `<script type="application/json">` with `<`, `>` and `&` written as `\u003c`, `\u003e`, `\u0026`.

use crate::ast::Item;
use crate::check::{Checked, DefKind};
use crate::render::esc;
use crate::report::{Definition, ReportModel, SectionModel, TableModel};
use crate::span::SourceFile;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::str::FromStr;

/// The banner of a page that shows the last good report.
pub(crate) const STALE_BANNER: &str = "过期：策略有错误，显示的是上一次成功的结果";

/// A page and the nonce its scripts carry (the server names it in the page's
/// `Content-Security-Policy`).
#[derive(Debug, Clone)]
pub(crate) struct Page {
    /// The whole document.
    pub html: String,
    /// The scripts' nonce.
    pub nonce: String,
}

/// What is injected into a page.
#[derive(Debug, Clone, Default)]
pub(crate) struct Decor<'a> {
    /// The version of the build the page shows; the page reloads when the server has another.
    pub version: u64,
    /// A banner at the top.
    pub banner: Option<&'a str>,
    /// The overlay's heading and the diagnostics, rendered without colour.
    pub diagnostics: Option<(&'a str, &'a str)>,
    /// The tooltip data, as JSON ([`tips`]).
    pub tips: Option<&'a str>,
}

const STYLE: &str = r#"
#hl-banner { position: sticky; top: 0; z-index: 1000; margin: 0; padding: 8px 16px; background: #b00020; color: #fff;
  font: 600 15px/1.5 "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; text-align: center; letter-spacing: 1px; }
#hl-diagnostics { position: fixed; left: 16px; right: 16px; bottom: 16px; z-index: 1001; max-height: 48vh; overflow: auto;
  background: #1f1f1f; color: #f2f2f2; border-left: 6px solid #e53935; border-radius: 4px; box-shadow: 0 4px 18px rgba(0,0,0,.35);
  font: 14px/1.5 "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
#hl-diagnostics.hl-full { position: static; max-height: none; margin: 24px auto; max-width: 1100px; }
#hl-diagnostics .hl-head { display: flex; justify-content: space-between; align-items: center; padding: 6px 12px;
  background: #2b2b2b; position: sticky; top: 0; }
#hl-diagnostics .hl-head strong { color: #ff8a80; }
#hl-diagnostics button { font: inherit; color: #f2f2f2; background: #444; border: 1px solid #666; border-radius: 3px; padding: 0 10px; cursor: pointer; }
#hl-diagnostics pre { margin: 0; padding: 10px 14px; white-space: pre; overflow-x: auto; text-indent: 0;
  font: 13px/1.45 "DejaVu Sans Mono", "Noto Sans Mono CJK SC", "Sarasa Mono SC", Menlo, Consolas, monospace; }
#hl-diagnostics.hl-collapsed pre { display: none; }
.hl-failed-section { border: 2px dashed #e53935; padding: 4px 10px; margin: 12px 0; }
.hl-failed-section > .hl-failed-label { color: #b00020; font-weight: 700; text-indent: 0; margin: 0 0 4px; }
.hl-failed-section > .hl-failed-body { opacity: .55; }
td.hl-explained { cursor: help; }
td.hl-explained:hover { background: #fff6d6; }
@media print { #hl-banner, #hl-diagnostics { display: none; } }
"#;

const SCRIPT: &str = r#"
(function () {
  'use strict';
  var VERSION = __VERSION__;
  var KEY = 'hotline-watch-scroll';
  try {
    var saved = sessionStorage.getItem(KEY);
    if (saved !== null) {
      sessionStorage.removeItem(KEY);
      var y = parseFloat(saved);
      if (!isNaN(y)) {
        window.scrollTo(0, y);
        window.requestAnimationFrame(function () { window.scrollTo(0, y); });
      }
    }
  } catch (e) {}
  function show(v) {
    if (isNaN(v) || v === VERSION) return;
    try { sessionStorage.setItem(KEY, String(window.scrollY)); } catch (e) {}
    location.reload();
  }
  if (window.EventSource) {
    var source = new EventSource('/events');
    var onEvent = function (ev) { show(parseInt(ev.data, 10)); };
    source.addEventListener('reload', onEvent);
    source.addEventListener('hello', onEvent);
  }
  var panel = document.getElementById('hl-diagnostics');
  var toggle = panel && panel.querySelector('button');
  if (toggle) {
    toggle.addEventListener('click', function () {
      var collapsed = panel.classList.toggle('hl-collapsed');
      toggle.textContent = collapsed ? '展开' : '收起';
    });
  }
  var node = document.getElementById('hl-values');
  if (!node) return;
  var data;
  try { data = JSON.parse(node.textContent); } catch (e) { return; }
  var own = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };
  var tables = document.querySelectorAll('main table');
  (data.tables || []).forEach(function (t, i) {
    var table = tables[i];
    if (!table || t.key === null) return;
    var heads = table.querySelectorAll('thead th');
    if (heads.length !== t.headers.length) return;
    for (var h = 0; h < heads.length; h++) if (heads[h].textContent !== t.headers[h]) return;
    var body = table.tBodies[0];
    if (!body) return;
    Array.prototype.forEach.call(body.rows, function (row) {
      var keyCell = row.cells[t.key];
      if (!keyCell) return;
      var key = keyCell.textContent;
      t.columns.forEach(function (d, j) {
        if (d === null) return;
        var cell = row.cells[j], def = data.defs[d], values = data.values[d];
        if (!cell || !def || !values || !own(values, key)) return;
        var v = values[key], shown = cell.textContent.trim();
        var lines = [def.name + ' = ' + shown];
        if (v.exact !== null && v.exact !== undefined) {
          var exact = v.exact + (def.percent ? '%' : '');
          if (exact !== shown) lines.push('精确值 ' + exact);
        }
        if (v.explain) lines.push('计算 ' + v.explain);
        if (def.definition) lines.push('定义 ' + def.definition);
        cell.title = lines.join('\n');
        cell.classList.add('hl-explained');
      });
    });
  });
})();
"#;

/// The report with the live-preview script, banner, overlay and tooltips injected.
pub(crate) fn assemble(report: &str, decor: &Decor<'_>) -> Page {
    let nonce = nonce();
    let mut html = report.to_string();
    if let Some(banner) = decor.banner {
        let block = format!(
            "<div id=\"hl-banner\" role=\"alert\">{}</div>\n",
            esc(banner)
        );
        let at = html.find("<body>").map(|i| i + "<body>".len()).unwrap_or(0);
        let at = if html.get(at..).is_some_and(|rest| rest.starts_with('\n')) {
            at + 1
        } else {
            at
        };
        html.insert_str(at, &block);
    }
    // No favicon to ask for (the server has none).
    if let Some(at) = html.find("</head>") {
        html.insert_str(at, "<link rel=\"icon\" href=\"data:,\">\n");
    }
    let tail = injected(decor, &nonce, false);
    match html.rfind("</body>") {
        Some(at) => html.insert_str(at, &tail),
        None => html.push_str(&tail),
    }
    Page { html, nonce }
}

/// A page with only the diagnostics, before any build has succeeded.
pub(crate) fn diagnostics_only(decor: &Decor<'_>) -> Page {
    let nonce = nonce();
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>hotline watch</title>\n<link rel=\"icon\" href=\"data:,\">\n</head>\n<body style=\"margin:0;background:#e9e6df\">\n",
    );
    if decor.diagnostics.is_none() {
        html.push_str("<main style=\"font:16px sans-serif;text-align:center;padding:48px\">正在生成…</main>\n");
    }
    html.push_str(&injected(decor, &nonce, true));
    html.push_str("</body>\n</html>\n");
    Page { html, nonce }
}

fn injected(decor: &Decor<'_>, nonce: &str, full: bool) -> String {
    let mut out = format!("<style nonce=\"{nonce}\">{STYLE}</style>\n");
    if let Some((heading, text)) = decor.diagnostics {
        let class = if full { " class=\"hl-full\"" } else { "" };
        let button = if full {
            ""
        } else {
            "<button type=\"button\">收起</button>"
        };
        out.push_str(&format!(
            "<div id=\"hl-diagnostics\"{class} role=\"alert\"><div class=\"hl-head\"><strong>{}</strong>{button}</div><pre>{}</pre></div>\n",
            esc(heading),
            esc(text)
        ));
    }
    if let Some(tips) = decor.tips {
        out.push_str(&format!("<script type=\"application/json\" id=\"hl-values\" nonce=\"{nonce}\">{tips}</script>\n"));
    }
    out.push_str(&format!(
        "<script nonce=\"{nonce}\">{}</script>\n",
        SCRIPT.replace("__VERSION__", &decor.version.to_string())
    ));
    out
}

/// The HTML of one section of a model, as the report renders it.
pub(crate) fn section_html(model: &ReportModel, index: usize) -> Option<String> {
    let section = model.sections.get(index)?.clone();
    let one = ReportModel {
        policy: model.policy.clone(),
        title: model.title.clone(),
        month: model.month.clone(),
        rounding: model.rounding,
        decimals: model.decimals,
        sections: vec![section],
        values: Vec::new(),
        sources: Vec::new(),
        fingerprint: Default::default(),
        lists: Vec::new(),
        commentary: model.commentary.clone(),
        warnings: Vec::new(),
    };
    let html = crate::render::html_marked(&one);
    let start = html.find("</h1>\n")? + "</h1>\n".len();
    let end = html.rfind("<footer>")?;
    html.get(start..end).map(str::to_string)
}

/// The block that stands for a report section whose template failed: the section's last
/// good output (when there is one), dimmed and labelled.
pub(crate) fn failed_section(message: &str, last_good: Option<&str>) -> String {
    let body = match last_good {
        Some(html) => format!("<div class=\"hl-failed-body\">{html}</div>"),
        None => String::new(),
    };
    format!(
        "<div class=\"hl-failed-section\"><div class=\"hl-failed-label\">{}</div>{body}</div>\n",
        esc(message)
    )
}

/// JSON that can stand inside a `<script>` element: `<`, `>` and `&` (which occur only in
/// strings) are written as escapes, so no `</script>` or `<!--` can end or bend the element.
pub(crate) fn script_json(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}

/// Removes terminal escape sequences (colours, hyperlinks) from rendered diagnostics.
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters, then one final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' {
                        break;
                    }
                    if c == '\x1b' {
                        if chars.peek() == Some(&'\\') {
                            chars.next();
                        }
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut a = state.build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    a.write_u128(nanos);
    let mut b = state.build_hasher();
    b.write_u64(a.finish());
    b.write_u32(std::process::id());
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

/// Which definition each column of a report table shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnMap {
    /// The table's name.
    pub table: String,
    /// Its headers.
    pub headers: Vec<String>,
    /// The column holding each row's key (a unit's name), if one was found.
    pub key: Option<usize>,
    /// Per column, the index into `model.values` of the definition it shows.
    pub columns: Vec<Option<usize>>,
    /// Headers of value columns no definition could be matched to.
    pub unmapped: Vec<String>,
}

struct Keyed<'m> {
    index: usize,
    def: &'m Definition,
    values: HashMap<&'m str, Option<&'m str>>,
}

/// Matches each table column to the definition it shows. The table model does not say, so:
/// a definition is a candidate for a column when its value for every row's key equals the
/// cell's exact value; among the candidates the header decides: equal to the definition's name,
/// then containing a score term's name (`响应率得分（5）` shows `总得分.响应率`), then
/// containing the name, then containing its characters in order (`未解决、过程不满意（件）`
/// shows `未解决不满意`). A column no candidate's name fits, or two fit equally well, is left
/// unmapped.
pub(crate) fn map_columns(model: &ReportModel) -> Vec<ColumnMap> {
    let keyed: Vec<Keyed<'_>> = model
        .values
        .iter()
        .enumerate()
        .filter(|(_, d)| d.per.is_some() && !d.values.is_empty())
        .map(|(index, def)| Keyed {
            index,
            def,
            values: def
                .values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect(),
        })
        .collect();
    model
        .sections
        .iter()
        .filter_map(|s| match s {
            SectionModel::Table(t) => Some(map_table(t, &keyed)),
            _ => None,
        })
        .collect()
}

fn map_table(table: &TableModel, keyed: &[Keyed<'_>]) -> ColumnMap {
    let width = table.headers.len();
    let mut map = ColumnMap {
        table: table.name.clone(),
        headers: table.headers.clone(),
        key: None,
        columns: vec![None; width],
        unmapped: Vec::new(),
    };
    // The total row is of sums, not of a key: its cells explain nothing.
    let rows = match (table.total, table.rows.split_last()) {
        (true, Some((_, keyed_rows))) => keyed_rows,
        _ => &table.rows[..],
    };
    if rows.is_empty() {
        return map;
    }
    let is_key = |text: &str| keyed.iter().any(|k| k.values.contains_key(text));
    map.key = (0..width).find(|&j| {
        rows.iter().all(|row| {
            row.get(j)
                .is_some_and(|c| c.exact.is_none() && is_key(&c.display))
        })
    });
    let Some(key) = map.key else {
        map.unmapped = table.headers.clone();
        return map;
    };
    for (j, header) in table.headers.iter().enumerate() {
        if j == key {
            continue;
        }
        let mut best: Option<((u8, usize), usize)> = None;
        let mut tied = false;
        for k in keyed {
            let consistent = rows.iter().all(|row| {
                let (Some(key_cell), Some(cell)) = (row.get(key), row.get(j)) else {
                    return false;
                };
                let value = k.values.get(key_cell.display.as_str()).copied().flatten();
                same_value(value, cell.exact.as_deref(), &cell.display)
            });
            if !consistent {
                continue;
            }
            let score = name_score(header, k.def);
            if score == 0 {
                continue;
            }
            let rank = (score, k.def.name.chars().count());
            match best {
                Some((b, _)) if b > rank => {}
                Some((b, _)) if b == rank => tied = true,
                _ => {
                    best = Some((rank, k.index));
                    tied = false;
                }
            }
        }
        match best {
            Some((_, index)) if !tied => {
                if let Some(slot) = map.columns.get_mut(j) {
                    *slot = Some(index);
                }
            }
            _ => map.unmapped.push(header.clone()),
        }
    }
    map
}

/// Whether a definition's value is what a cell shows: equal exact numbers, or equal text.
fn same_value(value: Option<&str>, exact: Option<&str>, display: &str) -> bool {
    match (value, exact) {
        (Some(v), Some(e)) => match (Decimal::from_str(v), Decimal::from_str(e)) {
            (Ok(a), Ok(b)) => a == b,
            _ => v == e,
        },
        (Some(v), None) => v == display,
        (None, None) => true,
        (None, Some(_)) => false,
    }
}

fn name_score(header: &str, def: &Definition) -> u8 {
    if header == def.name {
        return 4;
    }
    if def.kind == "score term" {
        if let Some((_, term)) = def.name.split_once('.') {
            if !term.is_empty() && header.contains(term) {
                return 3;
            }
        }
    }
    if header.contains(def.name.as_str()) {
        return 2;
    }
    if is_subsequence(&def.name, header) {
        return 1;
    }
    0
}

fn is_subsequence(needle: &str, haystack: &str) -> bool {
    let mut rest = haystack.chars();
    needle.chars().all(|c| rest.any(|h| h == c))
}

/// The tooltip data of a model (see the page script) and the columns left unmapped
/// (`附表 3：header`).
pub(crate) fn tips(
    model: &ReportModel,
    checked: &Checked,
    file: &SourceFile,
) -> (String, Vec<String>) {
    let maps = map_columns(model);
    let mut used: Vec<usize> = Vec::new();
    for m in &maps {
        for index in m.columns.iter().flatten() {
            if !used.contains(index) {
                used.push(*index);
            }
        }
    }
    let mut defs = Vec::new();
    let mut values = Vec::new();
    for &index in &used {
        let Some(def) = model.values.get(index) else {
            continue;
        };
        let mut explain: HashMap<&str, String> = def
            .explain
            .iter()
            .map(|(k, t)| (k.as_str(), t.clone()))
            .collect();
        if def.kind == "score term" {
            for (key, text) in term_explanations(model, checked, file, def) {
                explain.entry(key).or_insert(text);
            }
        }
        let per_key: serde_json::Map<String, Value> = def
            .values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    json!({ "exact": v, "explain": explain.get(k.as_str()) }),
                )
            })
            .collect();
        defs.push(json!({
            "name": def.name,
            "percent": is_percent(checked, def),
            "definition": definition_line(checked, file, &def.name),
        }));
        values.push(Value::Object(per_key));
    }
    let position = |index: usize| used.iter().position(|&u| u == index);
    let tables: Vec<Value> = maps
        .iter()
        .map(|m| {
            let columns: Vec<Option<usize>> =
                m.columns.iter().map(|c| c.and_then(position)).collect();
            json!({ "name": m.table, "headers": m.headers, "key": m.key, "columns": columns })
        })
        .collect();
    let unmapped = maps
        .iter()
        .flat_map(|m| m.unmapped.iter().map(move |h| format!("{}：{h}", m.table)))
        .collect();
    (
        script_json(&json!({ "defs": defs, "values": values, "tables": tables })),
        unmapped,
    )
}

/// How a score term's points were computed, per key: `5% × 94.85…（按时办理率）`.
fn term_explanations<'m>(
    model: &'m ReportModel,
    checked: &Checked,
    file: &SourceFile,
    def: &'m Definition,
) -> Vec<(&'m str, String)> {
    let Some((score, part)) = def.name.split_once('.') else {
        return Vec::new();
    };
    let Some(DefKind::Score(index)) = checked.env.defs.get(score).map(|d| &d.kind) else {
        return Vec::new();
    };
    let Some(Item::Score(item)) = checked.policy.items.get(*index) else {
        return Vec::new();
    };
    let quote = |span: crate::span::Span| {
        file.text
            .get(span.start..span.end)
            .unwrap_or("")
            .split_whitespace()
            .collect::<String>()
    };
    let Some(term) = item.terms.iter().find(|t| quote(t.expr.span) == part) else {
        return Vec::new();
    };
    let Some(input) = model.values.iter().find(|d| d.name == part) else {
        return Vec::new();
    };
    let inputs: HashMap<&str, &str> = input
        .values
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_deref()?)))
        .collect();
    let sign = if term.negative { "-" } else { "" };
    def.values
        .iter()
        .filter_map(|(key, _)| {
            let value = inputs.get(key.as_str())?;
            let text = match term.weight {
                Some((w, _)) => format!("{sign}{}% × {value}（{part}）", w.normalize()),
                None => format!("{sign}{value}（{part}）"),
            };
            Some((key.as_str(), text))
        })
        .collect()
}

fn is_percent(checked: &Checked, def: &Definition) -> bool {
    let base = def.name.split('.').next().unwrap_or(&def.name);
    def.kind != "score term"
        && checked
            .env
            .defs
            .get(base)
            .and_then(|d| d.ty.as_ref())
            .is_some_and(|t| t.base == crate::types::Base::Percent)
}

/// `policies/x.policy:69  metric 响应率 from 派单 by 承办单位 = …`, as `hotline explain` shows it.
fn definition_line(checked: &Checked, file: &SourceFile, name: &str) -> Option<String> {
    let base = name.split('.').next().unwrap_or(name);
    let index = match checked.env.defs.get(base)?.kind {
        DefKind::Metric(i) | DefKind::Score(i) | DefKind::Bands(i) | DefKind::Ranking(i) => i,
        _ => return None,
    };
    let span = match checked.policy.items.get(index)? {
        Item::Metric(m) => m.span,
        Item::Score(s) => s.span,
        Item::Bands(b) => b.span,
        Item::Ranking(r) => r.span,
        _ => return None,
    };
    let (line, _) = file.line_col(span.start);
    let text: String = file
        .text
        .get(span.start..span.end)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let text = if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    };
    Some(format!("{}:{line}  {text}", file.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script() {
        let text = script_json(&json!({ "a": "</script><!-- & \u{2028}" }));
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["a"], "</script><!-- & \u{2028}");
    }

    #[test]
    fn strips_colours_and_links() {
        let coloured = "\x1b[31;1mError\x1b[0m: \x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\ 说明";
        assert_eq!(strip_ansi(coloured), "Error: link 说明");
    }

    #[test]
    fn subsequences() {
        assert!(is_subsequence("未解决不满意", "未解决、过程不满意（件）"));
        assert!(!is_subsequence("未解决不满意", "未解决、过程满意（件）"));
    }

    #[test]
    fn injects_before_body_end() {
        let page = assemble(
            "<html><body>\n<main>x</main>\n</body></html>",
            &Decor {
                version: 3,
                banner: Some("b<"),
                diagnostics: Some(("1 个错误", "x < y")),
                tips: None,
            },
        );
        assert!(page
            .html
            .starts_with("<html><body>\n<div id=\"hl-banner\" role=\"alert\">b&lt;</div>\n<main>"));
        assert!(page.html.contains("<pre>x &lt; y</pre>"));
        assert!(page.html.contains("var VERSION = 3;"));
        assert!(page.html.ends_with("</script>\n</body></html>"));
    }
}
