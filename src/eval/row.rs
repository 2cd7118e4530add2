//! Formulas over one row, with their names resolved once.
//!
//! A metric's argument and filter are evaluated once per row. Walking the policy's
//! tree for each row would look every field name up again, rebuild every literal
//! and search every label map; [`Evaluator::compile_row`] does that once per
//! formula and source, and [`Evaluator::eval_row`] then only reads cells and
//! computes. Its results are those of [`Evaluator::eval`] on a row frame, which it
//! falls back to for what it does not compile (calls and score members).

use super::{binary, DataTable, EvalError, Evaluator, Frame, Value, R};
use crate::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use crate::data::ColumnData;
use crate::span::Span;
use crate::types::{Base, Ty};
use std::sync::Arc;

/// A formula over one row of a source.
pub(super) enum RowExpr<'e> {
    /// A literal, or a name that is no column (always empty on a row).
    Value(Value),
    /// The cell of a column.
    Cell(usize),
    Unary(UnaryOp, Box<RowExpr<'e>>, Span),
    Binary(BinaryOp, Box<RowExpr<'e>>, Box<RowExpr<'e>>, Span),
    /// A comparison with a label written as a string: `办理方式 == "派单"`, with the
    /// label looked up once: which label indexes of the field it is, which unit it names.
    Label {
        op: BinaryOp,
        target: Box<RowExpr<'e>>,
        ty: Option<&'e Ty>,
        label: &'e str,
        is_label: Vec<bool>,
        unit: Option<u32>,
    },
    /// `回访解决情况 -> {…}`: the arm of each label of the field, by label index.
    LabelMap {
        target: Box<RowExpr<'e>>,
        arms: Vec<Option<RowExpr<'e>>>,
    },
    IsEmpty(Box<RowExpr<'e>>, bool),
    /// A comparison of two date-times or two durations, such as
    /// `签收时间 - 派单时间 <= 2h`, computed in whole seconds without building
    /// values: what [`binary`] gives for it.
    CompareSeconds {
        op: BinaryOp,
        left: Seconds,
        right: Seconds,
    },
    /// Evaluated by walking the tree.
    Tree(&'e Expr),
}

/// A date-time or a duration over one row, in seconds (date-times since 1970).
pub(super) enum Seconds {
    /// A cell of a date-time column.
    Cell(usize),
    /// A duration written in the policy.
    Literal(i64),
    /// `a + b` or `a - b` of date-times and durations.
    Sum {
        op: BinaryOp,
        left: Box<Seconds>,
        right: Box<Seconds>,
        span: Span,
    },
}

impl Evaluator<'_> {
    /// Resolves the names of `expr` to the columns of `source`.
    pub(super) fn compile_row<'e>(&self, expr: &'e Expr, source: usize) -> RowExpr<'e> {
        let boxed = |e: &'e Expr| Box::new(self.compile_row(e, source));
        match &expr.kind {
            ExprKind::Number(n) | ExprKind::Percent(n) => RowExpr::Value(Value::Num(*n)),
            ExprKind::Duration(s) => RowExpr::Value(Value::Duration(*s)),
            ExprKind::Date(d) => RowExpr::Value(Value::Date(*d)),
            ExprKind::DateTime(s) => RowExpr::Value(Value::DateTime(*s)),
            // Rows of several months: the row tells its month.
            ExprKind::Name(n)
                if crate::check::is_date_name(&n.name) && self.row_months.contains_key(&source) =>
            {
                RowExpr::Tree(expr)
            }
            ExprKind::Name(n) if crate::check::is_date_name(&n.name) => {
                RowExpr::Value(self.month_bound(&n.name, None))
            }
            ExprKind::EachMonth(_) => RowExpr::Tree(expr),
            ExprKind::Str(s) => RowExpr::Value(Value::Text(Arc::from(s.as_str()))),
            ExprKind::Bool(b) => RowExpr::Value(Value::Bool(*b)),
            ExprKind::Name(n) => match self.column_of(source, &n.name) {
                Some(column) => RowExpr::Cell(column),
                None => RowExpr::Value(Value::Empty),
            },
            ExprKind::Unary(op, inner) => RowExpr::Unary(*op, boxed(inner), expr.span),
            ExprKind::Binary(op, left, right)
                if op.is_comparison() && {
                    let base = |e: &Expr| e.ty.as_ref().map(|t| t.base.clone());
                    matches!(base(left), Some(Base::DateTime | Base::Duration))
                        && base(left) == base(right)
                } =>
            {
                match (self.seconds(left, source), self.seconds(right, source)) {
                    (Some(l), Some(r)) => RowExpr::CompareSeconds {
                        op: *op,
                        left: l,
                        right: r,
                    },
                    _ => RowExpr::Binary(*op, boxed(left), boxed(right), expr.span),
                }
            }
            ExprKind::Binary(op, left, right) => match &right.kind {
                ExprKind::Str(label) if op.is_comparison() => RowExpr::Label {
                    op: *op,
                    target: boxed(left),
                    ty: left.ty.as_ref(),
                    label,
                    is_label: match left.ty.as_ref().map(|t| &t.base) {
                        Some(Base::Enum(labels)) => labels.iter().map(|l| l == label).collect(),
                        _ => Vec::new(),
                    },
                    unit: self.env.unit_lookup.get(label.as_str()).copied(),
                },
                _ => RowExpr::Binary(*op, boxed(left), boxed(right), expr.span),
            },
            ExprKind::LabelMap(target, entries) => {
                let labels: &[String] = match target.ty.as_ref().map(|t| &t.base) {
                    Some(Base::Enum(labels)) => labels,
                    _ => &[],
                };
                let arms = labels
                    .iter()
                    .map(|label| {
                        entries
                            .iter()
                            .find(|(l, _)| l.name == *label)
                            .map(|(_, value)| self.compile_row(value, source))
                    })
                    .collect();
                RowExpr::LabelMap {
                    target: boxed(target),
                    arms,
                }
            }
            ExprKind::IsEmpty { expr, negated } => RowExpr::IsEmpty(boxed(expr), *negated),
            ExprKind::Member(..) | ExprKind::Call { .. } => RowExpr::Tree(expr),
        }
    }

    /// `expr` in seconds, when it is a date-time field of `source`, a duration
    /// literal, or a sum or difference of them that [`binary`] computes in
    /// seconds.
    fn seconds(&self, expr: &Expr, source: usize) -> Option<Seconds> {
        let base = |e: &Expr| e.ty.as_ref().map(|t| t.base.clone());
        match &expr.kind {
            ExprKind::Duration(s) => Some(Seconds::Literal(*s)),
            ExprKind::Name(n) if base(expr) == Some(Base::DateTime) => {
                let column = self.column_of(source, &n.name)?;
                let declared = self
                    .env
                    .sources
                    .get(source)
                    .and_then(|s| s.types.get(column));
                matches!(declared, Some(Base::DateTime)).then_some(Seconds::Cell(column))
            }
            ExprKind::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), left, right) => {
                use Base::{DateTime, Duration};
                // The pairs `binary` adds or subtracts as seconds.
                if !matches!(
                    (op, base(left)?, base(right)?),
                    (BinaryOp::Sub, DateTime, DateTime)
                        | (_, DateTime, Duration)
                        | (_, Duration, Duration)
                ) {
                    return None;
                }
                Some(Seconds::Sum {
                    op: *op,
                    left: Box::new(self.seconds(left, source)?),
                    right: Box::new(self.seconds(right, source)?),
                    span: expr.span,
                })
            }
            _ => None,
        }
    }

    /// The seconds of `s` on one row; `None` when a cell it reads is empty.
    fn seconds_on(s: &Seconds, table: &DataTable, row: usize) -> R<Option<i64>> {
        Ok(match s {
            Seconds::Cell(column) => match table.columns.get(*column) {
                Some(ColumnData::DateTime(cells)) => cells.get(row).copied().flatten(),
                _ => None,
            },
            Seconds::Literal(seconds) => Some(*seconds),
            Seconds::Sum {
                op,
                left,
                right,
                span,
            } => {
                let left = Self::seconds_on(left, table, row)?;
                let right = Self::seconds_on(right, table, row)?;
                let (Some(a), Some(b)) = (left, right) else {
                    return Ok(None);
                };
                let sum = match op {
                    BinaryOp::Add => a.checked_add(b),
                    _ => a.checked_sub(b),
                };
                Some(sum.ok_or_else(|| Box::new(EvalError::Overflow { span: *span }))?)
            }
        })
    }

    /// The value of a compiled formula on one row.
    pub(super) fn eval_row(
        &self,
        expr: &RowExpr<'_>,
        table: &DataTable,
        source: usize,
        row: usize,
    ) -> R<Value> {
        Ok(match expr {
            RowExpr::Value(v) => v.clone(),
            RowExpr::Cell(column) => self.cell(table, *column, row),
            RowExpr::Unary(op, inner, span) => {
                let v = self.eval_row(inner, table, source, row)?;
                super::unary(*op, v, *span)?
            }
            RowExpr::Binary(op, left, right, span) => {
                let l = self.eval_row(left, table, source, row)?;
                match op {
                    BinaryOp::And | BinaryOp::Or => {
                        match (op, &l) {
                            (BinaryOp::And, Value::Bool(false)) => return Ok(Value::Bool(false)),
                            (BinaryOp::Or, Value::Bool(true)) => return Ok(Value::Bool(true)),
                            _ => {}
                        }
                        match (l, self.eval_row(right, table, source, row)?) {
                            (Value::Bool(_), Value::Bool(b)) => Value::Bool(b),
                            _ => Value::Bool(false),
                        }
                    }
                    BinaryOp::Coalesce if l.is_empty() => {
                        self.eval_row(right, table, source, row)?
                    }
                    BinaryOp::Coalesce => l,
                    _ => binary(*op, l, self.eval_row(right, table, source, row)?, *span)?,
                }
            }
            RowExpr::Label {
                op,
                target,
                ty,
                label,
                is_label,
                unit,
            } => {
                let l = self.eval_row(target, table, source, row)?;
                // As `matches_label`, with the lookups done when compiling.
                let matches = match &l {
                    Value::Label(i) => Some(is_label.get(*i as usize).copied().unwrap_or(false)),
                    Value::Unit(u) => Some(*unit == Some(*u)),
                    other => self.matches_label(other, *ty, label),
                };
                Value::Bool(label_test(*op, matches))
            }
            RowExpr::LabelMap { target, arms } => {
                match self.eval_row(target, table, source, row)? {
                    Value::Label(index) => match arms.get(index as usize) {
                        Some(Some(arm)) => self.eval_row(arm, table, source, row)?,
                        _ => Value::Empty,
                    },
                    _ => Value::Empty,
                }
            }
            RowExpr::IsEmpty(inner, negated) => {
                let v = self.eval_row(inner, table, source, row)?;
                Value::Bool(v.is_empty() != *negated)
            }
            RowExpr::CompareSeconds { op, left, right } => {
                let left = Self::seconds_on(left, table, row)?;
                let right = Self::seconds_on(right, table, row)?;
                // As `binary`: a comparison with an empty side is false.
                let (Some(a), Some(b)) = (left, right) else {
                    return Ok(Value::Bool(false));
                };
                Value::Bool(compare(*op, a.cmp(&b)))
            }
            RowExpr::Tree(expr) => self.eval(expr, &Frame::Row { table, source, row })?,
        })
    }
}

/// A comparison `op` of two values in `ordering` (the operators other than
/// `==`, `!=`, `<`, `<=` and `>` are `>=`).
pub(super) fn compare(op: BinaryOp, ordering: std::cmp::Ordering) -> bool {
    match op {
        BinaryOp::Eq => ordering.is_eq(),
        BinaryOp::Ne => ordering.is_ne(),
        BinaryOp::Lt => ordering.is_lt(),
        BinaryOp::Le => ordering.is_le(),
        BinaryOp::Gt => ordering.is_gt(),
        _ => ordering.is_ge(),
    }
}

/// A comparison `op` with a label written as a string, given whether the value
/// is that label (`None`: an empty value, which no test of a label matches).
pub(super) fn label_test(op: BinaryOp, matches: Option<bool>) -> bool {
    match (op, matches) {
        (_, None) => false,
        (BinaryOp::Ne, Some(e)) => !e,
        (_, Some(e)) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::{RowExpr, Value};
    use crate::ast::{ExprKind, Item};
    use crate::eval::{compiled_with_tickets, Evaluator, Frame};
    use std::sync::Arc;

    /// Comparisons of date-times and durations compiled to seconds give what
    /// walking the tree gives, on every pair of times, empty ones included.
    #[test]
    fn compiled_seconds_comparisons_give_what_the_tree_gives() {
        let times = [
            "",
            "2023-03-01 08:00:00",
            "2023-03-01 10:00:00",
            "2023-03-01 10:00:01",
            "2023-03-01 06:00:00",
            "2023-02-28 23:59:59",
        ];
        let mut csv = String::from("a,b\n");
        for a in times {
            for b in times {
                csv.push_str(&format!("{a},{b}\n"));
            }
        }
        let formulas = [
            "a - b <= 2h",
            "a - b < 2h",
            "2h >= a - b",
            "b <= a",
            "a == b",
            "a != b",
            "a > b",
            "a >= b",
            "a - 1h > b + 30min",
            "a - b == b - a",
            "a - b + 1h != 3h - 1h",
        ];
        let mut text = String::from(
            "policy \"t\" { rounding half_up }\nsource 工单 from csv \"tickets.csv\" {\n  a datetime?\n  b datetime?\n}\n",
        );
        for (i, f) in formulas.iter().enumerate() {
            text.push_str(&format!("metric m{i} from 工单 = share({f})\n"));
        }
        let (checked, tables) = compiled_with_tickets("row", &text, &csv);
        let evaluator = Evaluator::new(&checked, tables.into_iter().map(Arc::new).collect(), false);
        let table = evaluator.tables.first().expect("table").clone();
        let mut compared = 0;
        for item in &checked.policy.items {
            let Item::Metric(metric) = item else { continue };
            let ExprKind::Call { args, .. } = &metric.expr.kind else {
                panic!("a call")
            };
            let formula = args.first().expect("argument");
            let compiled = evaluator.compile_row(formula, 0);
            assert!(matches!(compiled, RowExpr::CompareSeconds { .. }));
            for row in 0..table.len() {
                let frame = Frame::Row {
                    table: &table,
                    source: 0,
                    row,
                };
                let tree = evaluator.eval(formula, &frame).expect("tree");
                let fast = evaluator
                    .eval_row(&compiled, &table, 0, row)
                    .expect("compiled");
                assert!(matches!(tree, Value::Bool(_)));
                assert_eq!(fast, tree, "{} on row {row}", metric.name.name);
                compared += 1;
            }
        }
        assert_eq!(compared, formulas.len() * times.len() * times.len());
    }
}
