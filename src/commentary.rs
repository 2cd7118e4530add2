//! `hotline commentary new`: starts a month's commentary with a heading for each item the
//! analyst is to write about (this month's hot topics), the month's figures of each as a
//! comment to write from.

use crate::Outcome;
use std::collections::BTreeMap;
use std::path::Path;

/// Writes the skeleton of each commentary the policy declares, for the month or period
/// asked, into its folder (or `out`); never over a file that exists.
pub fn new_command(
    policy: &Path,
    data: &Path,
    months: (Option<&str>, Option<&str>),
    out: Option<&Path>,
) -> Outcome {
    let (file, checked, period) = match crate::policy_and_months(policy, data, months) {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let fail = Outcome::failed;
    let render = |problems: Vec<crate::Problem>| crate::diagnostics(&file, problems);
    if checked.env.commentaries.is_empty() {
        return fail(
            2,
            "error: the policy declares no commentary: `commentary 热点分析 from \"commentary.md\" for 热点问题`\n".into(),
        );
    }
    let model = match crate::evaluate_period(&checked, data, period, &|_, _, _| {}) {
        Ok(m) => m,
        Err(p) => return fail(1, render(p)),
    };
    // The skeleton of each file, its commentaries one after another.
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for def in &checked.env.commentaries {
        let text = files.entry(def.file.clone()).or_insert_with(|| {
            format!(
                "# {} {}\n\n<!--\n每个条目写在 `## 名称` 下面，只写本期的情况；没有条目的，报告用数据生成的句子。\n`{{{{ 话题件数[key] }}}}` 这样的写法显示本期的数值（key 是条目的名称）。\n注释里的数字是本期的数据，供写作参考，不会出现在报告里。\n-->\n",
                period.chinese(),
                def.name
            )
        });
        text.push_str(&skeleton(&checked, &model, &def.list));
    }
    let mut written = Vec::new();
    for (name, text) in &files {
        let path = match out {
            Some(p) if files.len() == 1 => p.to_path_buf(),
            _ => data.join(period.to_string()).join(name),
        };
        if path.exists() {
            return fail(
                2,
                format!(
                    "error: `{}` exists; the month's commentary is not replaced (remove it, or write elsewhere with --out)\n",
                    path.display()
                ),
            );
        }
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() && !parent.is_dir() {
                return fail(
                    1,
                    format!(
                        "error: `{}` is not a folder: the month has no data\n",
                        parent.display()
                    ),
                );
            }
        }
        if let Err(e) = crate::render::write_atomically(&path, text.as_bytes()) {
            return fail(
                1,
                format!("error: cannot write `{}`: {e}\n", path.display()),
            );
        }
        written.push(path.display().to_string());
    }
    Outcome {
        stdout: String::new(),
        stderr: written.iter().map(|p| format!("wrote {p}\n")).collect(),
        code: 0,
    }
}

/// A heading for each item of `list` this period, with the values the report has of it.
fn skeleton(
    checked: &crate::check::Checked,
    model: &crate::report::ReportModel,
    list: &str,
) -> String {
    let mut out = String::new();
    let domain = checked.policy.items.iter().find_map(|i| match i {
        crate::ast::Item::List(l) if l.name.name == list => Some(l.rows.domain.name.clone()),
        _ => None,
    });
    let Some(domain) = domain else {
        return out;
    };
    let items = model
        .lists
        .iter()
        .find(|(name, _)| name == list)
        .map(|(_, items)| items.clone())
        .unwrap_or_default();
    for item in items {
        out.push_str(&format!("\n## {item}\n<!--\n"));
        for def in &model.values {
            if def.per.as_deref() != Some(domain.as_str()) {
                continue;
            }
            let Some((_, Some(value))) = def.values.iter().find(|(k, _)| *k == item) else {
                continue;
            };
            let percent = checked
                .env
                .defs
                .get(&def.name)
                .and_then(|d| d.ty.as_ref())
                .is_some_and(|t| t.base == crate::types::Base::Percent);
            let unit = if percent { "%" } else { "" };
            out.push_str(&format!(
                "{}：{}{unit}\n",
                def.name,
                shown(value, model.decimals)
            ));
        }
        out.push_str("-->\n\n");
    }
    out
}

/// A value as a prompt: numbers to the policy's decimals.
fn shown(value: &str, decimals: u32) -> String {
    match value.parse::<rust_decimal::Decimal>() {
        Ok(d) => d.round_dp(decimals).normalize().to_string(),
        Err(_) => value.to_string(),
    }
}
