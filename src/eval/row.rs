//! Formulas over one row, with their names resolved once.
//!
//! A metric's argument and filter are evaluated once per row. Walking the policy's
//! tree for each row would look every field name up again, rebuild every literal
//! and search every label map; [`Evaluator::compile_row`] does that once per
//! formula and source, and [`Evaluator::eval_row`] then only reads cells and
//! computes. Its results are those of [`Evaluator::eval`] on a row frame, which it
//! falls back to for what it does not compile (calls and score members).

use super::{binary, DataTable, Evaluator, Frame, Value, R};
use crate::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
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
    /// Evaluated by walking the tree.
    Tree(&'e Expr),
}

impl Evaluator<'_> {
    /// Resolves the names of `expr` to the columns of `source`.
    pub(super) fn compile_row<'e>(&self, expr: &'e Expr, source: usize) -> RowExpr<'e> {
        let boxed = |e: &'e Expr| Box::new(self.compile_row(e, source));
        match &expr.kind {
            ExprKind::Number(n) | ExprKind::Percent(n) => RowExpr::Value(Value::Num(*n)),
            ExprKind::Duration(s) => RowExpr::Value(Value::Duration(*s)),
            ExprKind::Str(s) => RowExpr::Value(Value::Text(Arc::from(s.as_str()))),
            ExprKind::Bool(b) => RowExpr::Value(Value::Bool(*b)),
            ExprKind::Name(n) => match self.column_of(source, &n.name) {
                Some(column) => RowExpr::Cell(column),
                None => RowExpr::Value(Value::Empty),
            },
            ExprKind::Unary(op, inner) => RowExpr::Unary(*op, boxed(inner), expr.span),
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
                match (op, matches) {
                    (_, None) => Value::Bool(false),
                    (BinaryOp::Ne, Some(e)) => Value::Bool(!e),
                    (_, Some(e)) => Value::Bool(e),
                }
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
            RowExpr::Tree(expr) => self.eval(expr, &Frame::Row { table, source, row })?,
        })
    }
}
