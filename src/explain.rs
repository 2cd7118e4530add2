//! `hotline explain`: where a unit's numbers come from: the definition (with its line), the
//! inputs it was computed from, the exact value and how it is shown.

use crate::check::{Checked, DefKind};
use crate::report::ReportModel;
use crate::span::SourceFile;
use crate::{number, Outcome};
use rust_decimal::Decimal;
use std::path::Path;
use std::str::FromStr;

/// Explains the values of `unit` (all definitions, or only `metric`).
pub fn command(
    policy: &Path,
    data: &Path,
    (month, period): (Option<&str>, Option<&str>),
    unit: &str,
    metric: Option<&str>,
) -> Outcome {
    let (file, checked, period) = match crate::policy_and_months(policy, data, (month, period)) {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let fail = Outcome::failed;
    let render = |problems: Vec<crate::Problem>| crate::diagnostics(&file, problems);
    let model = match crate::eval::evaluate_period(&checked, data, period, true, &|_, _, _| {}) {
        Ok(m) => m,
        Err(p) => return fail(1, render(p)),
    };
    // The months without data are told, as `render` tells them.
    let warnings = render(
        model
            .warnings
            .iter()
            .cloned()
            .map(crate::Problem::Eval)
            .collect(),
    );
    match explain(&file, &checked, &model, unit, metric) {
        Ok(stdout) => Outcome {
            stdout,
            stderr: warnings,
            code: 0,
        },
        Err(message) => fail(2, format!("error: {message}\n")),
    }
}

/// The explanation of a unit's values as text.
pub fn explain(
    file: &SourceFile,
    checked: &Checked,
    model: &ReportModel,
    unit: &str,
    metric: Option<&str>,
) -> Result<String, String> {
    let env = &checked.env;
    let canonical = match env
        .unit_lookup
        .get(unit)
        .and_then(|i| env.units.get(*i as usize))
    {
        Some(u) => u.name.clone(),
        None => {
            let names: Vec<&str> = env.units.iter().map(|u| u.name.as_str()).collect();
            return Err(format!(
                "`{unit}` is not a unit of the policy: {}",
                crate::check::did_you_mean(unit, names)
            ));
        }
    };
    if let Some(m) = metric {
        if !model.values.iter().any(|d| d.name == m) {
            let names: Vec<&str> = model.values.iter().map(|d| d.name.as_str()).collect();
            return Err(format!(
                "`{m}` is not a value of the policy: {}",
                crate::check::did_you_mean(m, names)
            ));
        }
    }
    let mut out = format!(
        "{canonical}（{}，{}）\n\n",
        model.month,
        rounding_words(checked)
    );
    for def in &model.values {
        if def.per.as_deref() != Some("unit")
            || metric.is_some_and(|m| m != def.name && !def.name.starts_with(&format!("{m}.")))
        {
            continue;
        }
        let exact = def
            .values
            .iter()
            .find(|(k, _)| *k == canonical)
            .and_then(|(_, v)| v.clone());
        let base_name = def.name.split('.').next().unwrap_or(&def.name);
        let ty = env.defs.get(base_name).and_then(|d| d.ty.as_ref());
        let percent =
            def.kind != "score term" && ty.is_some_and(|t| t.base == crate::types::Base::Percent);
        let shown = match exact.as_deref().map(Decimal::from_str) {
            Some(Ok(d)) if percent => number::display_percent(d, env.decimals, env.rounding),
            Some(Ok(d)) => number::display(d, env.decimals, env.rounding),
            _ => exact.clone().unwrap_or_else(|| "—".into()),
        };
        out.push_str(&format!("{} = {shown}", def.name));
        if let Some(e) = &exact {
            if Decimal::from_str(e).is_ok() && e != &shown.trim_end_matches('%').to_string() {
                out.push_str(&format!("（精确值 {e}{}）", if percent { "%" } else { "" }));
            }
        }
        out.push('\n');
        if let Some(def_span) = env
            .defs
            .get(base_name)
            .and_then(|d| definition_span(checked, &d.kind))
        {
            let (line, _) = file.line_col(def_span.0);
            let text: String = file
                .text
                .get(def_span.0..def_span.1)
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            out.push_str(&format!("  定义 {}:{line}  {text}\n", file.name));
        }
        if let Some((_, how)) = def.explain.iter().find(|(k, _)| *k == canonical) {
            out.push_str(&format!("  计算 {how}\n"));
        }
    }
    Ok(out)
}

fn rounding_words(checked: &Checked) -> String {
    let rule = match checked.env.rounding {
        crate::ast::Rounding::HalfUp => "四舍五入",
        crate::ast::Rounding::HalfEven => "银行家舍入",
    };
    format!("显示值{rule}保留 {} 位小数", checked.env.decimals)
}

fn definition_span(checked: &Checked, kind: &DefKind) -> Option<(usize, usize)> {
    let index = match kind {
        DefKind::Metric(i) | DefKind::Score(i) | DefKind::Bands(i) | DefKind::Ranking(i) => *i,
        _ => return None,
    };
    let span = match checked.policy.items.get(index)? {
        crate::ast::Item::Metric(m) => m.span,
        crate::ast::Item::Score(s) => s.span,
        crate::ast::Item::Bands(b) => b.span,
        crate::ast::Item::Ranking(r) => r.span,
        _ => return None,
    };
    Some((span.start, span.end))
}
