//! The commonest aggregated formulas, computed a column at a time.
//!
//! [`super::Evaluator::push_rows`] evaluates a compiled formula row by row: a value is
//! built for each row and pushed into its group's aggregate, about 300
//! instructions a row for each of the Dong'e policy's rates. The formulas most
//! policies aggregate have a few shapes: a condition counted or shared (a
//! comparison of date-times in seconds, a label test, a yes/no column, an empty
//! test), a mean or sum of a number column or of a label map of constants
//! (`回访解决情况 -> {已解决: 100%, …}`). For these, [`push_columns`] reads the
//! columns straight into per-group counts and sums, and [`filter_rows`] selects
//! a view's rows.
//!
//! They give exactly what the row path gives: the same rows are looked at (those
//! with a group, then those the filter keeps), and each group's sum adds the same
//! values in the same order. They decline, changing nothing, on any other shape
//! and on any row whose formula fails (an overflow); the row path then does the
//! work and reports the failure as before. Tested against the row path on random
//! columns.

use super::row::{compare, label_test};
use super::row::{RowExpr, Seconds};
use super::{add_number, Aggregate, DataTable, Func, Value};
use crate::ast::BinaryOp;
use crate::data::ColumnData;
use rust_decimal::Decimal;

/// Pushes, for each of `rows` whose `group` has an aggregate in `accs` and that
/// `filter` keeps, the value of `arg` into that aggregate, as `push_rows` does
/// row by row. Whether it did: `false` (and `accs` untouched) when the formula
/// is not one of the shapes computed here or a row's formula fails.
pub(super) fn push_columns(
    arg: Option<&RowExpr<'_>>,
    filter: Option<&RowExpr<'_>>,
    table: &DataTable,
    rows: &[usize],
    accs: &mut [Aggregate],
    group: &impl Fn(usize) -> Option<usize>,
) -> bool {
    let Some(func) = accs.first().map(|a| a.func) else {
        return true;
    };
    let computed_here = match func {
        Func::Count | Func::Share => true,
        Func::Mean | Func::Sum => arg.is_some(),
        Func::Min | Func::Max | Func::Mode | Func::ModeCount | Func::Top(_) => false,
    };
    if !computed_here {
        return false;
    }
    // The rows the row path pushes, with their groups.
    let mut picked: Vec<usize> = Vec::with_capacity(rows.len());
    let mut groups: Vec<u32> = Vec::with_capacity(rows.len());
    for &row in rows {
        if let Some(g) = group(row).filter(|&g| g < accs.len()) {
            let Ok(g) = u32::try_from(g) else {
                return false;
            };
            picked.push(row);
            groups.push(g);
        }
    }
    if let Some(filter) = filter {
        let Some(keep) = truths(filter, table, &picked) else {
            return false;
        };
        let mut kept = keep.iter();
        groups.retain(|_| kept.next().copied().unwrap_or(false));
        let mut kept = keep.iter();
        picked.retain(|_| kept.next().copied().unwrap_or(false));
    }
    match func {
        Func::Count | Func::Share => {
            let hits = match arg {
                Some(arg) => match truths(arg, table, &picked) {
                    Some(hits) => hits,
                    None => return false,
                },
                // No argument: `true` is pushed.
                None => vec![true; picked.len()],
            };
            let mut counts = vec![(0i64, 0i64); accs.len()];
            for (&g, &hit) in groups.iter().zip(&hits) {
                if let Some((count, hits)) = counts.get_mut(g as usize) {
                    *count += 1;
                    *hits += i64::from(hit);
                }
            }
            for (acc, (count, hits)) in accs.iter_mut().zip(counts) {
                acc.count += count;
                acc.hits += hits;
            }
            true
        }
        Func::Mean | Func::Sum => match arg {
            Some(arg) => sums(arg, table, &picked, &groups, accs),
            None => false,
        },
        Func::Min | Func::Max | Func::Mode | Func::ModeCount | Func::Top(_) => false,
    }
}

/// The rows of `candidates` (in order) on which every one of `filters` is
/// `true`, each filter looked at only on the rows the ones before it kept, as
/// the row path does; `None` when a filter is not a shape computed here or
/// fails on a row.
pub(super) fn filter_rows(
    filters: &[RowExpr<'_>],
    table: &DataTable,
    candidates: Vec<usize>,
) -> Option<Vec<usize>> {
    let mut rows = candidates;
    for filter in filters {
        let keep = truths(filter, table, &rows)?;
        let mut kept = keep.iter();
        rows.retain(|_| kept.next().copied().unwrap_or(false));
    }
    Some(rows)
}

/// Whether `expr` is `true` on each of `rows` (`false` when it is `false` or
/// empty); `None` when it is not a shape computed here or fails on a row.
fn truths(expr: &RowExpr<'_>, table: &DataTable, rows: &[usize]) -> Option<Vec<bool>> {
    match expr {
        RowExpr::Value(v) => Some(vec![*v == Value::Bool(true); rows.len()]),
        RowExpr::Cell(column) => match table.columns.get(*column) {
            Some(ColumnData::Bool(cells)) => Some(gather(cells, rows, |c| c == Some(true))),
            _ => None,
        },
        RowExpr::IsEmpty(inner, negated) => match &**inner {
            RowExpr::Cell(column) => {
                let empty = empty_cells(table, *column, rows);
                Some(empty.into_iter().map(|e| e != *negated).collect())
            }
            _ => None,
        },
        RowExpr::Label {
            op,
            target,
            is_label,
            unit,
            ..
        } => {
            let RowExpr::Cell(column) = &**target else {
                return None;
            };
            // As `eval_row` (an empty cell matches no label, whatever the operator).
            match table.columns.get(*column) {
                Some(ColumnData::Enum(cells)) => Some(gather(cells, rows, |c| {
                    label_test(
                        *op,
                        c.map(|i| is_label.get(i as usize).copied().unwrap_or(false)),
                    )
                })),
                Some(ColumnData::Unit(cells)) => Some(gather(cells, rows, |c| {
                    label_test(*op, c.map(|u| *unit == Some(u)))
                })),
                // Empty everywhere: no label matches.
                None => Some(vec![false; rows.len()]),
                // Other kinds of cell are compared by `matches_label`.
                Some(_) => None,
            }
        }
        RowExpr::CompareSeconds { op, left, right } => {
            let left = seconds(left, table, rows)?;
            let right = seconds(right, table, rows)?;
            Some(
                left.iter()
                    .zip(&right)
                    .map(|(a, b)| match (a, b) {
                        (Some(a), Some(b)) => compare(*op, a.cmp(b)),
                        // As `binary`: a comparison with an empty side is false.
                        _ => false,
                    })
                    .collect(),
            )
        }
        RowExpr::Unary(..) | RowExpr::Binary(..) | RowExpr::LabelMap { .. } | RowExpr::Tree(_) => {
            None
        }
    }
}

/// `f` of the cell of each of `rows` (`None` past the column's end).
fn gather<T: Copy>(
    cells: &[Option<T>],
    rows: &[usize],
    f: impl Fn(Option<T>) -> bool,
) -> Vec<bool> {
    rows.iter()
        .map(|&row| f(cells.get(row).copied().flatten()))
        .collect()
}

/// Whether the cell of `column` is empty on each of `rows`.
fn empty_cells(table: &DataTable, column: usize, rows: &[usize]) -> Vec<bool> {
    fn empty<T>(cells: &[Option<T>], rows: &[usize]) -> Vec<bool> {
        rows.iter()
            .map(|&row| cells.get(row).is_none_or(|c| c.is_none()))
            .collect()
    }
    match table.columns.get(column) {
        Some(ColumnData::Text(c)) => empty(c, rows),
        Some(ColumnData::Integer(c)) => empty(c, rows),
        Some(ColumnData::Decimal(c)) => empty(c, rows),
        Some(ColumnData::Bool(c)) => empty(c, rows),
        Some(ColumnData::DateTime(c)) => empty(c, rows),
        Some(ColumnData::Enum(c)) => empty(c, rows),
        Some(ColumnData::Unit(c)) => empty(c, rows),
        None => vec![true; rows.len()],
    }
}

/// `s` in seconds on each of `rows`, as `seconds_on` gives it; `None` when a
/// sum overflows on a row.
fn seconds(s: &Seconds, table: &DataTable, rows: &[usize]) -> Option<Vec<Option<i64>>> {
    Some(match s {
        Seconds::Cell(column) => match table.columns.get(*column) {
            Some(ColumnData::DateTime(cells)) => rows
                .iter()
                .map(|&row| cells.get(row).copied().flatten())
                .collect(),
            _ => vec![None; rows.len()],
        },
        Seconds::Literal(value) => vec![Some(*value); rows.len()],
        Seconds::Sum {
            op, left, right, ..
        } => {
            let left = seconds(left, table, rows)?;
            let right = seconds(right, table, rows)?;
            let mut out = Vec::with_capacity(rows.len());
            for (a, b) in left.into_iter().zip(right) {
                out.push(match (a, b) {
                    (Some(a), Some(b)) => Some(match op {
                        BinaryOp::Add => a.checked_add(b)?,
                        _ => a.checked_sub(b)?,
                    }),
                    _ => None,
                });
            }
            out
        }
    })
}

/// `mean` and `sum` of a number column, or of a label map whose arms are
/// constants: each group's values added in row order, as `Aggregate::push`
/// does. Whether it did (`false`, `accs` untouched, on another shape or an
/// overflow).
fn sums(
    arg: &RowExpr<'_>,
    table: &DataTable,
    rows: &[usize],
    groups: &[u32],
    accs: &mut [Aggregate],
) -> bool {
    // Each group's count, exact sum and integer sum, from where its aggregate stands.
    let mut totals: Vec<(i64, Decimal, Option<i64>)> =
        accs.iter().map(|a| (a.count, a.sum, a.int_sum)).collect();
    // Adds one pushed value, as `Aggregate::push` does; `None` on an overflow.
    let add = |(count, sum, int_sum): &mut (i64, Decimal, Option<i64>), value: &Value| {
        add_number(count, sum, int_sum, value)
    };
    let done = match arg {
        RowExpr::Cell(column) => match table.columns.get(*column) {
            Some(ColumnData::Decimal(cells)) => each(rows, groups, &mut totals, |row, total| {
                match cells.get(row).copied().flatten() {
                    Some(d) => add(total, &Value::Num(d)),
                    None => Some(()),
                }
            }),
            Some(ColumnData::Integer(cells)) => each(rows, groups, &mut totals, |row, total| {
                match cells.get(row).copied().flatten() {
                    Some(i) => add(total, &Value::Int(i)),
                    None => Some(()),
                }
            }),
            _ => None,
        },
        RowExpr::LabelMap { target, arms } => {
            let RowExpr::Cell(column) = &**target else {
                return false;
            };
            let Some(ColumnData::Enum(cells)) = table.columns.get(*column) else {
                return false;
            };
            // Each label's value: a constant, or empty (no arm).
            let mut values = Vec::with_capacity(arms.len());
            for arm in arms {
                match arm {
                    Some(RowExpr::Value(v)) => values.push(v.clone()),
                    // A negative constant: `-2`.
                    Some(RowExpr::Unary(op, inner, span)) => match &**inner {
                        RowExpr::Value(v) => match super::unary(*op, v.clone(), *span) {
                            Ok(v) => values.push(v),
                            Err(_) => return false,
                        },
                        _ => return false,
                    },
                    None => values.push(Value::Empty),
                    Some(_) => return false,
                }
            }
            each(rows, groups, &mut totals, |row, total| {
                match cells.get(row).copied().flatten() {
                    Some(label) => match values.get(label as usize) {
                        Some(value) => add(total, value),
                        None => Some(()),
                    },
                    None => Some(()),
                }
            })
        }
        _ => None,
    };
    if done.is_none() {
        return false;
    }
    for (acc, (count, sum, int_sum)) in accs.iter_mut().zip(totals) {
        acc.count = count;
        acc.sum = sum;
        acc.int_sum = int_sum;
    }
    true
}

/// `f` on each row with its group's totals; `None` as soon as `f` gives `None`.
fn each<T>(
    rows: &[usize],
    groups: &[u32],
    totals: &mut [T],
    mut f: impl FnMut(usize, &mut T) -> Option<()>,
) -> Option<()> {
    for (&row, &g) in rows.iter().zip(groups) {
        f(row, totals.get_mut(g as usize)?)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::{filter_rows, push_columns, RowExpr, Seconds};
    use crate::ast::{BinaryOp, ExprKind, Item};
    use crate::data::{test_random, ColumnData};
    use crate::eval::{compiled_with_tickets, Aggregate, DataTable, EvalError, Evaluator, Value};
    use crate::span::Span;
    use rust_decimal::Decimal;
    use std::sync::Arc;

    const SOURCE: &str = r#"policy "t" { rounding half_up }
source 工单 from csv "tickets.csv" {
  a datetime?
  b datetime?
  e enum(甲, 乙, 丙)?
  u unit?
  f bool(是 = true, 否 = false)?
  p percent?
  n integer?
  d decimal?
}
units {
  组: 一号, 二号, 三号
}
"#;

    /// Aggregated formulas of every shape the kernels compute.
    const CALLS: &[&str] = &[
        "share(a - b <= 2h)",
        "count(b + 1h > a)",
        "share(a - 30min - b < 1h where e == \"甲\")",
        "share(a >= b where u != \"二号\")",
        "count(a == b where b != a)",
        "count(f)",
        "share(f where e != \"乙\")",
        "count(p is empty)",
        "count(d is not empty where f)",
        "count(where u == \"三号\")",
        "count(e == \"丙\")",
        "share(u == \"一号\")",
        "mean(e -> {甲: 100%, 乙: 80%, 丙: 0%})",
        "mean(e -> {甲: 1, 乙: -2, 丙: 3} where a <= b)",
        "sum(e -> {甲: 0.25, 乙: 2.5, 丙: 1})",
        "mean(p)",
        "sum(n)",
        "mean(n where e == \"甲\")",
        "sum(d where n is empty)",
        "mean(d)",
    ];

    /// Conditions of `from … where` and views.
    const FILTERS: &[&str] = &[
        "e == \"甲\"",
        "u != \"三号\"",
        "f",
        "a - b > 1h",
        "d is empty",
    ];

    /// A random month of tickets: every column has blanks, sums have several
    /// scales and signs.
    fn tickets(rows: usize) -> String {
        let mut random = test_random(0x5eed);
        let mut csv = String::from("a,b,e,u,f,p,n,d\n");
        let mut pick = |options: &[&str]| options[random(options.len())].to_string();
        for _ in 0..rows {
            let time = |day: String, hour: String, minute: String| {
                if day.is_empty() {
                    String::new()
                } else {
                    format!("2023-03-{day} {hour}:{minute}:00")
                }
            };
            let a = time(
                pick(&["", "01", "02"]),
                pick(&["08", "09", "11"]),
                pick(&["00", "30", "59"]),
            );
            let b = time(
                pick(&["", "01", "02"]),
                pick(&["07", "09", "10"]),
                pick(&["00", "30", "45"]),
            );
            let cells = [
                a,
                b,
                pick(&["", "甲", "乙", "丙"]),
                pick(&["", "一号", "二号", "三号"]),
                pick(&["", "是", "否"]),
                pick(&["", "100", "88", "92.5", "0"]),
                pick(&["", "0", "7", "-3", "120"]),
                pick(&["", "1.5", "-0.25", "3", "0.125", "100"]),
            ];
            csv.push_str(&cells.join(","));
            csv.push('\n');
        }
        csv
    }

    /// Every formula of [`CALLS`], on random rows in random groups (some with no
    /// group, some with a group past the aggregates), gives by columns the
    /// aggregates the row path gives: counts, hits, the exact sums with their
    /// scales, the integer sums. And the filters of [`FILTERS`] keep the rows
    /// the row path keeps.
    #[test]
    fn columns_give_what_rows_give() {
        let mut text = String::from(SOURCE);
        for (i, call) in CALLS.iter().enumerate() {
            text.push_str(&format!("metric m{i} from 工单 = {call}\n"));
        }
        for (i, filter) in FILTERS.iter().enumerate() {
            text.push_str(&format!("metric w{i} from 工单 where {filter} = count()\n"));
        }
        let csv = tickets(600);
        let (checked, tables) = compiled_with_tickets("kernel", &text, &csv);
        let evaluator = Evaluator::new(&checked, tables.into_iter().map(Arc::new).collect(), false);
        let table = evaluator.tables.first().expect("table").clone();
        assert_eq!(table.len(), 600);
        let mut random = test_random(11);
        let (mut calls, mut filters) = (0, 0);
        for item in &checked.policy.items {
            let Item::Metric(metric) = item else { continue };
            let ExprKind::Call { func, args, filter } = &metric.expr.kind else {
                panic!("{} is a call", metric.name.name)
            };
            if let Some(Some(condition)) = metric.from.as_ref().map(|f| f.filter.as_ref()) {
                let compiled = evaluator.compile_row(condition, 0);
                let candidates: Vec<usize> = (0..table.len()).filter(|_| random(3) > 0).collect();
                let by_rows: Vec<usize> = candidates
                    .iter()
                    .copied()
                    .filter(|&row| {
                        evaluator.eval_row(&compiled, &table, 0, row).expect("row")
                            == Value::Bool(true)
                    })
                    .collect();
                let by_columns =
                    filter_rows(std::slice::from_ref(&compiled), &table, candidates.clone());
                assert_eq!(by_columns.as_ref(), Some(&by_rows), "{}", metric.name.name);
                assert!(!by_rows.is_empty() && by_rows.len() < candidates.len());
                filters += 1;
                continue;
            }
            let arg = args.first().map(|a| evaluator.compile_row(a, 0));
            let filter = filter.as_deref().map(|f| evaluator.compile_row(f, 0));
            for trial in 0..20 {
                let rows: Vec<usize> = (0..table.len()).filter(|_| random(4) > 0).collect();
                let group = |row: usize| match (row * 7 + trial) % 5 {
                    4 => None,
                    g => Some(g),
                };
                let fresh = || vec![Aggregate::new(&func.name); 3];
                let mut by_columns = fresh();
                assert!(
                    push_columns(
                        arg.as_ref(),
                        filter.as_ref(),
                        &table,
                        &rows,
                        &mut by_columns,
                        &group
                    ),
                    "{} is computed by columns",
                    metric.name.name
                );
                let mut by_rows = fresh();
                evaluator
                    .push_row_by_row(
                        arg.as_ref(),
                        filter.as_ref(),
                        &table,
                        0,
                        &rows,
                        &mut by_rows,
                        group,
                        metric.expr.span,
                    )
                    .expect("row path");
                assert_eq!(
                    format!("{by_columns:?}"),
                    format!("{by_rows:?}"),
                    "{}: {}",
                    metric.name.name,
                    CALLS[calls]
                );
                assert!(by_rows.iter().any(|a| a.count > 0), "{}", CALLS[calls]);
            }
            calls += 1;
        }
        assert_eq!((calls, filters), (CALLS.len(), FILTERS.len()));
    }

    fn one_column(column: ColumnData) -> DataTable {
        DataTable {
            path: Default::default(),
            columns: vec![column],
            lines: vec![2, 3, 4],
            encoding: None,
            hash: None,
            absent: false,
        }
    }

    /// A sum that overflows, and a date-time sum that overflows, leave the work
    /// (and the error) to the row path, with the aggregates untouched.
    #[test]
    fn overflows_are_left_to_the_row_path() {
        let (checked, tables) = compiled_with_tickets(
            "kernel-overflow",
            "policy \"t\" { rounding half_up }\nsource 工单 from csv \"tickets.csv\" {\n  a decimal?\n}\nmetric m from 工单 = sum(a)\n",
            "a\n1\n",
        );
        let evaluator = Evaluator::new(&checked, tables.into_iter().map(Arc::new).collect(), false);
        // What the row path gives on the same rows: the overflow, as an error.
        let row_path = |arg: &RowExpr<'_>, table: &DataTable, func: &str| {
            let mut accs = vec![Aggregate::new(func)];
            let span = Span::new(0, 1);
            evaluator.push_row_by_row(
                Some(arg),
                None,
                table,
                0,
                &[0, 1, 2],
                &mut accs,
                |_| Some(0),
                span,
            )
        };
        let table = one_column(ColumnData::Decimal(vec![
            Some(Decimal::NEGATIVE_ONE),
            Some(Decimal::MAX),
            Some(Decimal::MAX),
        ]));
        let mut accs = vec![Aggregate::new("sum")];
        let all = |_| Some(0);
        assert!(!push_columns(
            Some(&RowExpr::Cell(0)),
            None,
            &table,
            &[0, 1, 2],
            &mut accs,
            &all
        ));
        assert_eq!((accs[0].count, accs[0].sum), (0, Decimal::ZERO));
        assert!(matches!(
            row_path(&RowExpr::Cell(0), &table, "sum").map_err(|e| *e),
            Err(EvalError::Overflow { .. })
        ));
        // Without the row that overflows, it is computed.
        assert!(push_columns(
            Some(&RowExpr::Cell(0)),
            None,
            &table,
            &[0, 2],
            &mut accs,
            &all
        ));
        assert_eq!(
            (accs[0].count, accs[0].sum),
            (2, Decimal::MAX - Decimal::ONE)
        );

        let table = one_column(ColumnData::DateTime(vec![
            Some(0),
            Some(10),
            Some(i64::MAX),
        ]));
        let late = RowExpr::CompareSeconds {
            op: BinaryOp::Le,
            left: Seconds::Sum {
                op: BinaryOp::Add,
                left: Box::new(Seconds::Cell(0)),
                right: Box::new(Seconds::Literal(5)),
                span: Span::new(0, 1),
            },
            right: Seconds::Literal(7),
        };
        let mut accs = vec![Aggregate::new("share")];
        assert!(!push_columns(
            Some(&late),
            None,
            &table,
            &[0, 1, 2],
            &mut accs,
            &all
        ));
        assert_eq!((accs[0].count, accs[0].hits), (0, 0));
        assert!(matches!(
            row_path(&late, &table, "share").map_err(|e| *e),
            Err(EvalError::Overflow { .. })
        ));
        assert_eq!(
            filter_rows(std::slice::from_ref(&late), &table, vec![0, 1, 2]),
            None
        );
        assert!(push_columns(
            Some(&late),
            None,
            &table,
            &[0, 1],
            &mut accs,
            &all
        ));
        assert_eq!((accs[0].count, accs[0].hits), (2, 1));
        assert_eq!(
            filter_rows(std::slice::from_ref(&late), &table, vec![0, 1]),
            Some(vec![0])
        );
    }
}
