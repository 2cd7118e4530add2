//! Types of expressions in their three contexts: rows, groups of rows, and keys.

use super::{did_you_mean, CheckError, Checker, DefKind};
use crate::ast::*;
use crate::types::{Base, Domain, Shape, Ty};

/// Where an expression is evaluated.
pub(crate) enum Ctx {
    /// Once per row of a source: names are fields.
    Row {
        /// The root source.
        source: usize,
    },
    /// Once per group of rows: aggregates read the rows, names are metrics.
    Group {
        /// The root source.
        source: usize,
        /// The key of the groups.
        domain: Option<Domain>,
    },
    /// Once per key, or once: names are metrics, scores, bands and rankings.
    Domain {
        /// The keys of the table or context, if known.
        domain: Option<Domain>,
    },
}

/// The functions that run over rows (or keys): everything but [`SCALAR_FUNCTIONS`].
pub(crate) const AGGREGATES: &[&str] = &[
    "count",
    "share",
    "mean",
    "sum",
    "min",
    "max",
    "mode",
    "mode_count",
    "top",
];
/// The functions of values (`min` and `max` of two or more values are too).
pub(crate) const SCALAR_FUNCTIONS: &[&str] =
    &["round", "abs", "if", "clamp", "scale", "workdays", "tied"];

/// What takes the values of `X each month`: the aggregates, and the picks of a month.
pub(crate) const MONTH_FUNCTIONS: &[&str] = &[
    "count", "share", "sum", "mean", "min", "max", "first", "last", "nth",
];

/// Whether a call runs over rows or keys (an aggregate) rather than on values:
/// `min(x)` is the least of the group's `x`, `min(a, b)` the lesser of two values.
pub(crate) fn is_aggregate(func: &str, args: usize) -> bool {
    AGGREGATES.contains(&func) && !(matches!(func, "min" | "max") && args >= 2)
}

/// Whether `expr` is a number or percentage written in the policy that is not zero.
fn nonzero_literal(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Number(n) | ExprKind::Percent(n) => !n.is_zero(),
        ExprKind::Unary(UnaryOp::Neg, inner) => nonzero_literal(inner),
        _ => false,
    }
}

/// A number or percentage written in the policy (`73%`, `-5`), with whether it is a percentage.
fn literal_number(expr: &Expr) -> Option<(rust_decimal::Decimal, bool)> {
    match &expr.kind {
        ExprKind::Number(n) => Some((*n, false)),
        ExprKind::Percent(n) => Some((*n, true)),
        ExprKind::Unary(UnaryOp::Neg, inner) => literal_number(inner).map(|(n, p)| (-n, p)),
        _ => None,
    }
}

impl Checker {
    /// Infers, records and returns the type of `expr`.
    pub(crate) fn expr(&mut self, expr: &mut Expr, ctx: &Ctx) -> Ty {
        let ty = self.infer(expr, ctx);
        expr.ty = Some(ty.clone());
        ty
    }

    fn infer(&mut self, expr: &mut Expr, ctx: &Ctx) -> Ty {
        let span = expr.span;
        let scalar = |b| Ty::new(b, Shape::Scalar);
        match &mut expr.kind {
            ExprKind::Number(n) => scalar(if n.fract().is_zero() {
                Base::Int
            } else {
                Base::Number
            }),
            ExprKind::Percent(_) => scalar(Base::Percent),
            ExprKind::Duration(_) => scalar(Base::Duration),
            ExprKind::Date(_) => scalar(Base::Date),
            ExprKind::DateTime(_) => scalar(Base::DateTime),
            ExprKind::Str(_) => scalar(Base::Text),
            ExprKind::Name(name) if super::is_date_name(&name.name) => scalar(Base::Date),
            ExprKind::EachMonth(inner) => {
                self.errors.push(CheckError::Shape {
                    message: "`each month` belongs inside an aggregate".into(),
                    help: "aggregate the months: `mean(总得分 each month)`, `count(镇街倒数 <= 3 each month)`".into(),
                    span,
                });
                self.mark_used(std::slice::from_ref(&**inner), &None);
                Ty::error()
            }
            ExprKind::Bool(_) => scalar(Base::Bool),
            ExprKind::Name(name) => self.name(name, ctx),
            ExprKind::Member(target, member) => {
                let ExprKind::Name(score) = &target.kind else {
                    self.errors.push(CheckError::Shape {
                        message: "only a score has parts".into(),
                        help:
                            "write `总得分.响应率` for the points `响应率` contributes to `总得分`"
                                .into(),
                        span,
                    });
                    return Ty::error();
                };
                let score_name = score.name.clone();
                let target_ty = self.expr(target, ctx);
                if target_ty.is_error() {
                    return Ty::error();
                }
                match self.env.defs.get(&score_name).map(|d| d.kind.clone()) {
                    Some(DefKind::Score(_)) => {
                        let terms = self.score_terms(&score_name);
                        if !terms.contains(&member.name) {
                            self.errors.push(CheckError::UnknownName {
                                what: "score term",
                                name: member.name.clone(),
                                help: did_you_mean(&member.name, terms.iter().map(|s| s.as_str())),
                                span: member.span,
                            });
                            return Ty::error();
                        }
                        Ty::new(Base::Number, target_ty.shape)
                    }
                    _ => {
                        self.errors.push(CheckError::Shape {
                            message: format!("`{score_name}` is not a score and has no parts"),
                            help: "parts are the weighted terms of a `score`".into(),
                            span,
                        });
                        Ty::error()
                    }
                }
            }
            ExprKind::Call { func, args, filter } => {
                let func = func.clone();
                self.call(&func, args, filter, ctx, span)
            }
            ExprKind::Unary(op, operand) => {
                let op = *op;
                let ty = self.expr(operand, ctx);
                if ty.is_error() {
                    return ty;
                }
                match op {
                    UnaryOp::Not => {
                        self.expect_bool(&ty, operand.span);
                        Ty {
                            base: Base::Bool,
                            ..ty
                        }
                    }
                    UnaryOp::Neg => {
                        if !matches!(
                            ty.base,
                            Base::Int | Base::Number | Base::Percent | Base::Duration
                        ) {
                            self.errors.push(CheckError::Mismatch {
                                expected: "a number".into(),
                                found: ty.base.to_string(),
                                help: "only numbers can be negated".into(),
                                span: operand.span,
                            });
                            return Ty::error();
                        }
                        ty
                    }
                }
            }
            ExprKind::Binary(op, left, right) => {
                let op = *op;
                let lt = self.expr(left, ctx);
                // `办理方式 == "派单"`: the string must be a label of the left side.
                if op.is_comparison() {
                    if let ExprKind::Str(label) = &right.kind {
                        let label = label.clone();
                        let rspan = right.span;
                        right.ty = Some(lt.clone());
                        if !matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                            // The evaluator compares labels for equality only.
                            if !lt.is_error() {
                                self.errors.push(CheckError::Operands {
                                    op: op.symbol().to_string(),
                                    left: lt.base.to_string(),
                                    right: "text".into(),
                                    help: "labels and text are compared with `==` and `!=` only"
                                        .into(),
                                    span,
                                });
                            }
                            return Ty::error();
                        }
                        self.label_literal(&lt, &label, op, rspan);
                        return Ty {
                            base: Base::Bool,
                            ..lt
                        };
                    }
                }
                let rt = self.expr(right, ctx);
                let left_nullable = lt.nullable;
                let mut ty = self.binary(op, lt, rt, span);
                // `x / 2` is empty only where `x` is.
                if op == BinaryOp::Div && nonzero_literal(right) {
                    ty.nullable = left_nullable;
                }
                ty
            }
            ExprKind::LabelMap(target, entries) => {
                let t = self.expr(target, ctx);
                if t.is_error() {
                    return t;
                }
                let Base::Enum(labels) = &t.base else {
                    self.errors.push(CheckError::Mismatch {
                        expected: "a label field".into(),
                        found: t.base.to_string(),
                        help: "`->` maps the labels of an `enum(…)` field to values".into(),
                        span: target.span,
                    });
                    return Ty::error();
                };
                let labels = labels.clone();
                let mut result: Option<Ty> = None;
                let mut seen: Vec<(String, crate::span::Span)> = Vec::new();
                for (label, value) in entries.iter_mut() {
                    if let Some((_, first)) = seen.iter().find(|(l, _)| *l == label.name) {
                        self.errors.push(CheckError::Duplicate {
                            name: label.name.clone(),
                            span: label.span,
                            first: *first,
                        });
                    }
                    seen.push((label.name.clone(), label.span));
                    if !labels.contains(&label.name) {
                        self.errors.push(CheckError::UnknownLabel {
                            label: label.name.clone(),
                            of: "a label of this field".into(),
                            help: did_you_mean(&label.name, labels.iter().map(|s| s.as_str())),
                            span: label.span,
                        });
                    }
                    let vt = self.expr(value, &Ctx::Domain { domain: None });
                    if vt.is_error() {
                        continue;
                    }
                    match &result {
                        None => result = Some(vt),
                        Some(r)
                            if r.base == vt.base
                                || super::numeric_compatible(&r.base, &vt.base) => {}
                        Some(r) => self.errors.push(CheckError::Mismatch {
                            expected: r.base.to_string(),
                            found: vt.base.to_string(),
                            help: "every label must map to the same kind of value".into(),
                            span: value.span,
                        }),
                    }
                }
                let missing: Vec<String> = labels
                    .iter()
                    .filter(|l| !seen.iter().any(|(s, _)| s == *l))
                    .map(|l| format!("`{l}`"))
                    .collect();
                if !missing.is_empty() {
                    self.errors.push(CheckError::LabelMissing {
                        missing: missing.join(", "),
                        span,
                    });
                }
                match result {
                    Some(r) => Ty::new(r.base, t.shape).nullable(t.nullable),
                    None => Ty::error(),
                }
            }
            ExprKind::IsEmpty { expr: inner, .. } => {
                let t = self.expr(inner, ctx);
                Ty::new(Base::Bool, t.shape)
            }
        }
    }

    fn score_terms(&self, score: &str) -> Vec<String> {
        // Terms are found by the checker's caller in the tree; the names are kept on the def.
        self.score_term_names
            .get(score)
            .cloned()
            .unwrap_or_default()
    }

    fn name(&mut self, name: &Ident, ctx: &Ctx) -> Ty {
        match ctx {
            Ctx::Row { source } => {
                if let Some((_, ty)) = self
                    .env
                    .sources
                    .get(*source)
                    .and_then(|s| s.field(&name.name))
                {
                    return ty;
                }
                let names = self.field_names(*source);
                let help = if self.env.defs.contains_key(&name.name) {
                    format!(
                        "`{}` is a definition, not a field of this source",
                        name.name
                    )
                } else {
                    did_you_mean(&name.name, names.iter().map(|s| s.as_str()))
                };
                self.errors.push(CheckError::UnknownName {
                    what: "field",
                    name: name.name.clone(),
                    help,
                    span: name.span,
                });
                Ty::error()
            }
            Ctx::Group { source, domain } => {
                if let Some((_, ty)) = self
                    .env
                    .sources
                    .get(*source)
                    .and_then(|s| s.field(&name.name))
                {
                    if let Some(Domain::Field(f)) = domain {
                        if *f == name.name {
                            return Ty::new(ty.base, Shape::Keyed(Domain::Field(f.clone())));
                        }
                    }
                    self.errors.push(CheckError::Shape {
                        message: format!("the field `{}` is read outside an aggregate", name.name),
                        help: format!(
                            "aggregate it: `mean({0})`, `sum({0})`, `max({0})`",
                            name.name
                        ),
                        span: name.span,
                    });
                    return Ty::error();
                }
                let ty = self.definition(
                    name,
                    &Ctx::Domain {
                        domain: domain.clone(),
                    },
                );
                if let (Shape::Keyed(d), Some(g)) = (&ty.shape, domain) {
                    if d != g {
                        self.errors.push(CheckError::Shape {
                            message: format!(
                                "`{}` is per {d}, but this metric is per {g}",
                                name.name
                            ),
                            help: "use a metric grouped the same way".into(),
                            span: name.span,
                        });
                        return Ty::error();
                    }
                }
                if matches!(ty.shape, Shape::Keyed(_)) && domain.is_none() {
                    self.errors.push(CheckError::Shape {
                        message: format!(
                            "`{}` has a value per key, but this metric has one value",
                            name.name
                        ),
                        help: "aggregate it, e.g. `sum(…)`, or add `by`".into(),
                        span: name.span,
                    });
                    return Ty::error();
                }
                ty
            }
            Ctx::Domain { .. } => self.definition(name, ctx),
        }
    }

    fn definition(&mut self, name: &Ident, ctx: &Ctx) -> Ty {
        self.reads(&name.name);
        let domain = match ctx {
            Ctx::Domain { domain } | Ctx::Group { domain, .. } => domain.clone(),
            Ctx::Row { .. } => None,
        };
        match name.name.as_str() {
            "unit" => return Ty::new(Base::Unit, Shape::Keyed(Domain::Unit)),
            "group" => return Ty::new(Base::Group, Shape::Keyed(Domain::Unit)),
            _ => {}
        }
        if let Some(Domain::Field(f)) = &domain {
            if *f == name.name {
                return Ty::new(Base::Text, Shape::Keyed(Domain::Field(f.clone())));
            }
        }
        match self.env.defs.get(&name.name) {
            Some(def) => match (&def.kind, &def.ty) {
                (DefKind::Source(_) | DefKind::View { .. }, _) => {
                    self.errors.push(CheckError::Mismatch {
                        expected: "a value".into(),
                        found: format!("the source `{}`", name.name),
                        help: "count its rows with a metric: `metric n from 工单 = count()`".into(),
                        span: name.span,
                    });
                    Ty::error()
                }
                (_, Some(ty)) => ty.clone(),
                // Not typed yet: part of a cycle, already reported.
                (_, None) => Ty::error(),
            },
            None => {
                let mut names: Vec<&str> = self
                    .env
                    .defs
                    .iter()
                    .filter(|(_, d)| !matches!(d.kind, DefKind::Source(_) | DefKind::View { .. }))
                    .map(|(n, _)| n.as_str())
                    .collect();
                names.sort_unstable();
                let help = did_you_mean(&name.name, names);
                self.errors.push(CheckError::UnknownName {
                    what: "name",
                    name: name.name.clone(),
                    help,
                    span: name.span,
                });
                Ty::error()
            }
        }
    }

    fn label_literal(&mut self, ty: &Ty, label: &str, op: BinaryOp, span: crate::span::Span) {
        let (candidates, of): (Vec<String>, String) = match &ty.base {
            Base::Enum(labels) => (labels.clone(), "a label of this field".into()),
            Base::Group => (self.env.groups.clone(), "a unit group".into()),
            Base::Unit => {
                if self.env.unit_lookup.contains_key(label) {
                    return;
                }
                (
                    self.env.units.iter().map(|u| u.name.clone()).collect(),
                    "a unit".into(),
                )
            }
            Base::Band(bands) => {
                let names = self.band_names.get(bands).cloned().unwrap_or_default();
                (names, format!("a band of `{bands}`"))
            }
            Base::Text | Base::Error => return,
            other => {
                self.errors.push(CheckError::Operands {
                    op: op.symbol().to_string(),
                    left: other.to_string(),
                    right: "text".into(),
                    help: "compare numbers with numbers and labels with labels".into(),
                    span,
                });
                return;
            }
        };
        if !candidates.iter().any(|c| c == label) {
            self.errors.push(CheckError::UnknownLabel {
                label: label.to_string(),
                of,
                help: did_you_mean(label, candidates.iter().map(|s| s.as_str())),
                span,
            });
        }
    }

    fn binary(&mut self, op: BinaryOp, lt: Ty, rt: Ty, span: crate::span::Span) -> Ty {
        if lt.is_error() || rt.is_error() {
            return Ty::error();
        }
        let Some(shape) = self.join_shapes(&lt.shape, &rt.shape, span) else {
            return Ty::error();
        };
        let nullable = lt.nullable || rt.nullable;
        use Base::*;
        let result = match op {
            BinaryOp::Or | BinaryOp::And => match (&lt.base, &rt.base) {
                (Bool, Bool) => Some(Bool),
                _ => None,
            },
            BinaryOp::Coalesce => {
                if lt.base == rt.base || super::numeric_compatible(&lt.base, &rt.base) {
                    return Ty::new(lt.base, shape).nullable(rt.nullable);
                }
                None
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                let same = lt.base == rt.base
                    || (matches!(lt.base, Int | Number) && matches!(rt.base, Int | Number))
                    || (matches!(lt.base, Date | DateTime) && matches!(rt.base, Date | DateTime));
                same.then_some(Bool)
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => match (&lt.base, &rt.base)
            {
                (Int | Number, Int | Number)
                | (Percent, Percent)
                | (DateTime | Date, DateTime | Date)
                | (Duration, Duration) => Some(Bool),
                _ => None,
            },
            BinaryOp::Add | BinaryOp::Sub => match (&lt.base, &rt.base) {
                (Int, Int) => Some(Int),
                (Int | Number, Int | Number) => Some(Number),
                (Percent, Percent) => Some(Percent),
                (Duration, Duration) => Some(Duration),
                (DateTime, Duration) => Some(DateTime),
                (DateTime, DateTime) if op == BinaryOp::Sub => Some(Duration),
                _ => None,
            },
            BinaryOp::Mul => match (&lt.base, &rt.base) {
                (Int, Int) => Some(Int),
                (Int | Number, Int | Number) => Some(Number),
                (Percent, Int | Number) | (Int | Number, Percent) => Some(Percent),
                (Duration, Int) | (Int, Duration) => Some(Duration),
                _ => None,
            },
            BinaryOp::Div => match (&lt.base, &rt.base) {
                (Int | Number, Int | Number) => Some(Number),
                (Percent, Int | Number) => Some(Percent),
                (Percent, Percent) => Some(Number),
                (Duration, Duration) => Some(Number),
                _ => None,
            },
        };
        match result {
            Some(base) => {
                let nullable = nullable || op == BinaryOp::Div;
                Ty::new(base, shape).nullable(nullable)
            }
            None => {
                let help = operand_help(op, &lt.base, &rt.base);
                self.errors.push(CheckError::Operands {
                    op: op.symbol().to_string(),
                    left: lt.base.to_string(),
                    right: rt.base.to_string(),
                    help,
                    span,
                });
                Ty::error()
            }
        }
    }

    fn call(
        &mut self,
        func: &Ident,
        args: &mut [Expr],
        filter: &mut Option<Box<Expr>>,
        ctx: &Ctx,
        span: crate::span::Span,
    ) -> Ty {
        let name = func.name.as_str();
        if matches!(args.first().map(|a| &a.kind), Some(ExprKind::EachMonth(_))) {
            return self.each_month(func, args, filter, ctx, span);
        }
        if !AGGREGATES.contains(&name) && !SCALAR_FUNCTIONS.contains(&name) {
            let all: Vec<&str> = AGGREGATES.iter().chain(SCALAR_FUNCTIONS).copied().collect();
            let near = did_you_mean(name, all.iter().copied());
            let help = if near.starts_with("did you mean") {
                near
            } else {
                format!(
                    "the functions are {}",
                    all.iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            self.errors.push(CheckError::UnknownName {
                what: "function",
                name: name.to_string(),
                help,
                span: func.span,
            });
            self.mark_used(args, filter);
            return Ty::error();
        }
        if is_aggregate(name, args.len()) {
            return self.aggregate(func, args, filter, ctx, span);
        }
        if let Some(f) = filter {
            self.errors.push(CheckError::Arguments {
                func: name.into(),
                expected: "no `where`".into(),
                example: "`round(总得分, 2)`".into(),
                span: f.span,
            });
        }
        match name {
            "round" => {
                let [value, places] = args else {
                    self.mark_used(args, filter);
                    return self.arguments(
                        func,
                        "a value and a number of decimals",
                        "`round(总得分, 2)`",
                        span,
                    );
                };
                let ty = self.expr(value, ctx);
                let ok = matches!(places.kind, ExprKind::Number(n) if n.fract().is_zero() && n >= rust_decimal::Decimal::ZERO && n <= rust_decimal::Decimal::from(12));
                self.expr(places, ctx);
                if !ok {
                    return self.arguments(
                        func,
                        "a whole number of decimals from 0 to 12",
                        "`round(总得分, 2)`",
                        places.span,
                    );
                }
                self.expect_number(&ty, value.span);
                ty
            }
            "abs" => {
                let [value] = args else {
                    self.mark_used(args, filter);
                    return self.arguments(func, "one value", "`abs(质效考核得分)`", span);
                };
                let ty = self.expr(value, ctx);
                self.expect_number(&ty, value.span);
                ty
            }
            "if" => self.if_call(func, args, ctx, span),
            "min" | "max" | "clamp" => self.bounds_call(func, args, ctx, span),
            "scale" => self.scale_call(func, args, ctx, span),
            "workdays" => {
                let [from, to] = args else {
                    self.mark_used(args, filter);
                    return self.arguments(
                        func,
                        "two date-times: from and to",
                        "`workdays(派单时间, 签收时间) <= 1`",
                        span,
                    );
                };
                let (a, b) = (self.expr(from, ctx), self.expr(to, ctx));
                if a.is_error() || b.is_error() {
                    return Ty::error();
                }
                for (t, s) in [(&a, from.span), (&b, to.span)] {
                    if !matches!(t.base, Base::DateTime | Base::Date) {
                        self.errors.push(CheckError::Mismatch {
                            expected: "a date-time".into(),
                            found: t.base.to_string(),
                            help: "`workdays(from, to)` counts the working days between two date-times".into(),
                            span: s,
                        });
                        return Ty::error();
                    }
                }
                if self.env.calendar.is_none() {
                    self.errors.push(CheckError::Declaration {
                        message: "`workdays` needs a calendar".into(),
                        help: "declare the working days: `calendar china` (China's official holidays and make-up working days, 2023–2026)".into(),
                        span: func.span,
                    });
                    return Ty::error();
                }
                let Some(shape) = self.join_shapes(&a.shape, &b.shape, span) else {
                    return Ty::error();
                };
                Ty::new(Base::Number, shape).nullable(a.nullable || b.nullable)
            }
            _ => {
                // `tied(排名)`
                let [ranking] = args else {
                    self.mark_used(args, filter);
                    return self.arguments(func, "a ranking", "`tied(县直排名)`", span);
                };
                let is_ranking = match &ranking.kind {
                    ExprKind::Name(n) => matches!(
                        self.env.defs.get(&n.name).map(|d| &d.kind),
                        Some(DefKind::Ranking(_))
                    ),
                    _ => false,
                };
                let ty = self.expr(ranking, ctx);
                if ty.is_error() {
                    return ty;
                }
                if !is_ranking {
                    return self.arguments(func, "a ranking", "`tied(县直排名)`", ranking.span);
                }
                Ty::new(Base::Bool, ty.shape)
            }
        }
    }

    /// `if(condition, a, b)` and `if(c1, a, c2, b, …, otherwise)`.
    fn if_call(
        &mut self,
        func: &Ident,
        args: &mut [Expr],
        ctx: &Ctx,
        span: crate::span::Span,
    ) -> Ty {
        if args.len() < 3 || args.len().is_multiple_of(2) {
            self.mark_used(args, &None);
            return self.arguments(
                func,
                "a condition, its value and the value otherwise; or more conditions and values, then the value otherwise",
                "`if(承办量 > 0, 总得分, 0)` or `if(满意率 >= 90%, 5, 满意率 >= 80%, 3, 0)`",
                span,
            );
        }
        let last = args.len() - 1;
        let mut joined = Joined::default();
        for (i, arg) in args.iter_mut().enumerate() {
            let Some(t) = self.joined_arg(&mut joined, arg, ctx) else {
                continue;
            };
            if i % 2 == 0 && i != last {
                self.expect_bool(&t, arg.span);
                continue;
            }
            self.join_value(&mut joined, t, arg.span);
        }
        joined.finish()
    }

    /// `min(a, b, …)`, `max(a, b, …)` and `clamp(x, low, high)`: values of one kind.
    fn bounds_call(
        &mut self,
        func: &Ident,
        args: &mut [Expr],
        ctx: &Ctx,
        span: crate::span::Span,
    ) -> Ty {
        let clamp = func.name == "clamp";
        if clamp && args.len() != 3 {
            self.mark_used(args, &None);
            return self.arguments(
                func,
                "a value, its lowest and its highest value",
                "`clamp(及时签收率 / 1% - 85, 0, 10)`",
                span,
            );
        }
        let mut joined = Joined::default();
        for arg in args.iter_mut() {
            let Some(t) = self.joined_arg(&mut joined, arg, ctx) else {
                continue;
            };
            if !matches!(
                t.base,
                Base::Int
                    | Base::Number
                    | Base::Percent
                    | Base::Duration
                    | Base::DateTime
                    | Base::Date
            ) {
                self.errors.push(CheckError::Mismatch {
                    expected: "a number".into(),
                    found: t.base.to_string(),
                    help: format!(
                        "`{}` compares numbers, percentages, durations or dates",
                        func.name
                    ),
                    span: arg.span,
                });
                joined.failed = true;
                continue;
            }
            self.join_value(&mut joined, t, arg.span);
        }
        if clamp {
            if let (Some((low, _)), Some((high, _))) = (
                args.get(1).and_then(literal_number),
                args.get(2).and_then(literal_number),
            ) {
                if low > high {
                    self.errors.push(CheckError::Arguments {
                        func: "clamp".into(),
                        expected: "a lowest value no greater than the highest".into(),
                        example: "`clamp(及时签收率 / 1% - 85, 0, 10)`".into(),
                        span,
                    });
                    joined.failed = true;
                }
            }
        }
        joined.finish()
    }

    /// Types an argument of `if`, `min`, `max` or `clamp` and joins its shape; its
    /// type, unless it had an error.
    fn joined_arg(&mut self, joined: &mut Joined, arg: &mut Expr, ctx: &Ctx) -> Option<Ty> {
        let t = self.expr(arg, ctx);
        if t.is_error() {
            joined.failed = true;
            return None;
        }
        match self.join_shapes(&joined.shape, &t.shape, arg.span) {
            Some(s) => joined.shape = s,
            None => joined.failed = true,
        }
        Some(t)
    }

    /// Joins one value's kind into the result; a kind that does not mix is an error.
    fn join_value(&mut self, joined: &mut Joined, t: Ty, span: crate::span::Span) {
        let Some(r) = joined.result.take() else {
            joined.result = Some(t);
            return;
        };
        joined.result = Some(match join_values(&r, &t) {
            Some(base) => Ty::new(base, Shape::Scalar).nullable(r.nullable || t.nullable),
            None => {
                self.errors.push(CheckError::Mismatch {
                    expected: r.base.to_string(),
                    found: t.base.to_string(),
                    help: mix_help(&r.base, &t.base),
                    span,
                });
                joined.failed = true;
                r
            }
        });
    }

    /// `scale(满意率, 73% -> 12.5, 98% -> 25)`: the points are literals, their
    /// first parts increasing and of the value's kind.
    fn scale_call(
        &mut self,
        func: &Ident,
        args: &mut [Expr],
        ctx: &Ctx,
        span: crate::span::Span,
    ) -> Ty {
        let example = "`scale(满意率, 73% -> 12.5, 98% -> 25)`";
        if args.len() < 5 || args.len().is_multiple_of(2) {
            self.mark_used(args, &None);
            return self.arguments(
                func,
                "a value and at least two points `from -> to`",
                example,
                span,
            );
        }
        let Some((value, points)) = args.split_first_mut() else {
            return Ty::error();
        };
        let vt = self.expr(value, ctx);
        if vt.is_error() {
            return vt;
        }
        if !matches!(vt.base, Base::Int | Base::Number | Base::Percent) {
            self.errors.push(CheckError::Mismatch {
                expected: "a number or a percentage".into(),
                found: vt.base.to_string(),
                help: "`scale` turns a rate or a number into points".into(),
                span: value.span,
            });
            return Ty::error();
        }
        let value_percent = vt.base == Base::Percent;
        let mut previous: Option<rust_decimal::Decimal> = None;
        let mut result: Option<bool> = None;
        for pair in points.chunks_mut(2) {
            let [from, to] = pair else { continue };
            self.expr(from, ctx);
            self.expr(to, ctx);
            let Some((x, x_percent)) = literal_number(from) else {
                return self.arguments(
                    func,
                    "points written as numbers, e.g. `73% -> 12.5`",
                    example,
                    from.span,
                );
            };
            if x_percent != value_percent {
                self.errors.push(CheckError::Mismatch {
                    expected: if value_percent {
                        "a percentage"
                    } else {
                        "a number"
                    }
                    .into(),
                    found: if x_percent {
                        "a percentage"
                    } else {
                        "a number"
                    }
                    .into(),
                    help: "a point's first part is a value of what is scaled: `73%` for a rate"
                        .into(),
                    span: from.span,
                });
                return Ty::error();
            }
            if previous.is_some_and(|p| x <= p) {
                return self.arguments(
                    func,
                    "points in increasing order of their first parts",
                    example,
                    from.span,
                );
            }
            previous = Some(x);
            let Some((_, y_percent)) = literal_number(to) else {
                return self.arguments(
                    func,
                    "points written as numbers, e.g. `73% -> 12.5`",
                    example,
                    to.span,
                );
            };
            if result.is_some_and(|r| r != y_percent) {
                self.errors.push(CheckError::Mismatch {
                    expected: if y_percent {
                        "a number"
                    } else {
                        "a percentage"
                    }
                    .into(),
                    found: if y_percent {
                        "a percentage"
                    } else {
                        "a number"
                    }
                    .into(),
                    help: "every point gives the same kind of value: points, or percentages".into(),
                    span: to.span,
                });
                return Ty::error();
            }
            result = Some(y_percent);
        }
        let base = if result == Some(true) {
            Base::Percent
        } else {
            Base::Number
        };
        Ty::new(base, vt.shape).nullable(vt.nullable)
    }

    /// Names in arguments that are not checked still count as used, so that one error
    /// does not bring "never used" warnings along.
    pub(crate) fn mark_used(&mut self, args: &[Expr], filter: &Option<Box<Expr>>) {
        let mut names = Vec::new();
        for a in args {
            super::collect_names(a, &mut names);
        }
        if let Some(f) = filter {
            super::collect_names(f, &mut names);
        }
        self.used.extend(names);
    }

    fn arguments(
        &mut self,
        func: &Ident,
        expected: &str,
        example: &str,
        span: crate::span::Span,
    ) -> Ty {
        self.errors.push(CheckError::Arguments {
            func: func.name.clone(),
            expected: expected.to_string(),
            example: example.to_string(),
            span,
        });
        Ty::error()
    }

    fn expect_number(&mut self, ty: &Ty, span: crate::span::Span) {
        if !ty.is_numeric() {
            self.errors.push(CheckError::Mismatch {
                expected: "a number".into(),
                found: ty.base.to_string(),
                help: "this function works on numbers and percentages".into(),
                span,
            });
        }
    }

    fn aggregate(
        &mut self,
        func: &Ident,
        args: &mut [Expr],
        filter: &mut Option<Box<Expr>>,
        ctx: &Ctx,
        span: crate::span::Span,
    ) -> Ty {
        let name = func.name.as_str();
        // Aggregates read rows in a group, or keys elsewhere.
        let (inner, result_shape) = match ctx {
            Ctx::Group { source, .. } => (Ctx::Row { source: *source }, Shape::Scalar),
            Ctx::Domain { .. } => (Ctx::Domain { domain: None }, Shape::Scalar),
            Ctx::Row { .. } => {
                self.errors.push(CheckError::Shape {
                    message: format!("`{name}` cannot be used inside a row condition"),
                    help: "aggregates belong in a metric's formula".into(),
                    span,
                });
                self.mark_used(args, filter);
                return Ty::error();
            }
        };
        let mut arg_shape: Option<Shape> = None;
        if let Some(f) = filter {
            let t = self.expr(f, &inner);
            self.expect_bool(&t, f.span);
            arg_shape = Some(t.shape);
        }
        let (value, example) = match name {
            "count" => (None, "`count()` or `count(市级重办)`"),
            "share" => (None, "`share(签收时间 - 派单时间 <= 2h)`"),
            _ => (Some(()), "`mean(满意度评分)`"),
        };
        // `top(涉及对象, 2)`: the second argument is how many.
        let args: &mut [Expr] = if name == "top" {
            let ok = matches!(args.get(1).map(|a| &a.kind), Some(ExprKind::Number(n)) if n.fract().is_zero() && *n >= rust_decimal::Decimal::ONE && *n <= rust_decimal::Decimal::from(100));
            if args.len() != 2 || !ok {
                return self.arguments(
                    func,
                    "a value and how many of its most frequent values (1 to 100)",
                    "`top(涉及对象, 2)`",
                    span,
                );
            }
            &mut args[..1]
        } else {
            args
        };
        let arg_ty = match args {
            [] if value.is_none() && name == "count" => None,
            [arg] => {
                let t = self.expr(arg, &inner);
                if t.is_error() {
                    return Ty::error();
                }
                arg_shape = Some(t.shape.clone());
                Some((t, arg.span))
            }
            _ => {
                let expected = match name {
                    "count" => "nothing, or one condition",
                    "share" => "one condition",
                    _ => "one value",
                };
                self.mark_used(args, &None);
                return self.arguments(func, expected, example, span);
            }
        };
        if let Ctx::Domain { .. } = ctx {
            if !matches!(arg_shape, Some(Shape::Keyed(_))) {
                self.errors.push(CheckError::Shape {
                    message: format!("`{name}` here aggregates over units or keys, but its argument has one value"),
                    help: "aggregate a metric with a value per unit, e.g. `mean(响应率 where 承办量 > 0)`, or add `from` to aggregate rows".into(),
                    span,
                });
                return Ty::error();
            }
        }
        let shape = result_shape;
        match name {
            "count" => {
                if let Some((t, s)) = &arg_ty {
                    self.expect_bool(t, *s);
                }
                Ty::new(Base::Int, shape)
            }
            "share" => {
                match &arg_ty {
                    Some((t, s)) => self.expect_bool(t, *s),
                    None => return self.arguments(func, "one condition", example, span),
                }
                Ty::new(Base::Percent, shape).nullable(true)
            }
            "mode" | "mode_count" | "top" => {
                let Some((t, _)) = arg_ty else {
                    return self.arguments(func, "one value", example, span);
                };
                match name {
                    "mode" => Ty::new(t.base, shape).nullable(true),
                    "mode_count" => Ty::new(Base::Int, shape),
                    _ => Ty::new(Base::List, shape),
                }
            }
            _ => {
                let Some((t, s)) = arg_ty else {
                    return self.arguments(func, "one value", example, span);
                };
                let base = match (name, &t.base) {
                    ("mean", Base::Int) => Base::Number,
                    (_, Base::Int | Base::Number | Base::Percent) => t.base.clone(),
                    ("min" | "max", Base::DateTime | Base::Duration) => t.base.clone(),
                    _ => {
                        self.errors.push(CheckError::Mismatch {
                            expected: "a number".into(),
                            found: t.base.to_string(),
                            help: format!("`{name}` works on numbers and percentages; map labels to numbers with `->`"),
                            span: s,
                        });
                        return Ty::error();
                    }
                };
                Ty::new(base, shape).nullable(name != "sum")
            }
        }
    }
}

impl Checker {
    /// `mean(总得分 each month)`: an aggregate over the months of the period, key by
    /// key; `nth(总得分 each month, 2)`: the value in its second month.
    fn each_month(
        &mut self,
        func: &Ident,
        args: &mut [Expr],
        filter: &mut Option<Box<Expr>>,
        ctx: &Ctx,
        span: crate::span::Span,
    ) -> Ty {
        let name = func.name.as_str();
        if !MONTH_FUNCTIONS.contains(&name) {
            return self.refuse(
                args,
                filter,
                format!("`{name}` cannot take the months"),
                "the months are aggregated with `count`, `share`, `sum`, `mean`, `min` or `max` (`mean(总得分 each month)`), or one is picked with `first`, `last` or `nth` (`nth(总得分 each month, 2)`)",
                func.span,
            );
        }
        let pick = matches!(name, "first" | "last" | "nth");
        let arity_ok = match name {
            "nth" => {
                matches!(args.get(1).map(|a| &a.kind), Some(ExprKind::Number(n)) if args.len() == 2 && n.fract().is_zero() && *n >= rust_decimal::Decimal::ONE && *n <= rust_decimal::Decimal::from(1200))
            }
            _ => args.len() == 1,
        };
        if !arity_ok {
            let (expected, example) = if name == "nth" {
                (
                    "the values each month and which month of the period (1 for the first)",
                    "`nth(月度得分 each month, 2)`",
                )
            } else {
                ("the values each month", "`mean(总得分 each month)`")
            };
            self.mark_used(args, filter);
            return self.arguments(func, expected, example, span);
        }
        if let (true, Some(f)) = (pick, filter.as_ref()) {
            let at = f.span;
            return self.refuse(
                args,
                filter,
                format!("`{name}` picks a month and takes no `where`"),
                "pick the month by its place in the period: `nth(月度得分 each month, 2)`",
                at,
            );
        }
        let Some(arg) = args.first_mut() else {
            return Ty::error();
        };
        if !matches!(ctx, Ctx::Domain { .. }) {
            return self.refuse(
                std::slice::from_ref(arg),
                filter,
                "`each month` reads the values of definitions, not rows".into(),
                "write it in a metric without `from`: `metric 月均得分 = mean(总得分 each month)`",
                span,
            );
        }
        if self.in_each_month {
            return self.refuse(
                std::slice::from_ref(arg),
                filter,
                "`each month` inside `each month`".into(),
                "a value of one month is aggregated over the months once",
                span,
            );
        }
        let ExprKind::EachMonth(inner) = &mut arg.kind else {
            return Ty::error();
        };
        self.in_each_month = true;
        self.env.each_month = true;
        let t = self.expr(inner, ctx);
        let f = filter.as_mut().map(|f| {
            let ft = self.expr(f, ctx);
            self.expect_bool(&ft, f.span);
            ft
        });
        self.in_each_month = false;
        arg.ty = Some(t.clone());
        if t.is_error() || f.as_ref().is_some_and(Ty::is_error) {
            return Ty::error();
        }
        if !self.of_one_month(
            inner,
            filter.as_deref(),
            "`each month` reads values computed month by month, such as a metric over the month's tickets",
        ) {
            return Ty::error();
        }
        let shape = match &f {
            Some(ft) => match self.join_shapes(&t.shape, &ft.shape, span) {
                Some(s) => s,
                None => return Ty::error(),
            },
            None => t.shape.clone(),
        };
        match name {
            _ if pick => Ty {
                shape,
                ..t.nullable(true)
            },
            "count" | "share" => {
                if t.base != Base::Bool {
                    self.expect_bool(&t, inner.span);
                    return Ty::error();
                }
                if name == "count" {
                    Ty::new(Base::Int, shape)
                } else {
                    Ty::new(Base::Percent, shape).nullable(true)
                }
            }
            _ => {
                let base = match (name, &t.base) {
                    ("mean", Base::Int) => Base::Number,
                    (_, Base::Int | Base::Number | Base::Percent) => t.base.clone(),
                    ("min" | "max", Base::Date | Base::DateTime | Base::Duration) => t.base.clone(),
                    _ => {
                        self.errors.push(CheckError::Mismatch {
                            expected: "a number".into(),
                            found: t.base.to_string(),
                            help: format!("`{name}` works on numbers and percentages"),
                            span: inner.span,
                        });
                        return Ty::error();
                    }
                };
                Ty::new(base, shape).nullable(name != "sum")
            }
        }
    }
}

impl Checker {
    /// An error of the shape of a call, whose arguments then count as used.
    fn refuse(
        &mut self,
        args: &[Expr],
        filter: &Option<Box<Expr>>,
        message: String,
        help: &str,
        span: crate::span::Span,
    ) -> Ty {
        self.errors.push(CheckError::Shape {
            message,
            help: help.into(),
            span,
        });
        self.mark_used(args, filter);
        Ty::error()
    }

    /// Whether `expr` (and `filter`) read values of one month only; an error naming
    /// the value of the whole period they read, if not.
    pub(crate) fn of_one_month(&mut self, expr: &Expr, filter: Option<&Expr>, help: &str) -> bool {
        let mut names = Vec::new();
        super::collect_names(expr, &mut names);
        if let Some(f) = filter {
            super::collect_names(f, &mut names);
        }
        let Some(whole) = names.iter().find(|n| self.env.period_level.contains(*n)) else {
            return true;
        };
        self.errors.push(CheckError::Shape {
            message: format!("`{whole}` is a value of the whole period, not of one month"),
            help: help.into(),
            span: expr.span,
        });
        false
    }
}

/// What the values of `if`, `min`, `max` or `clamp` make together so far.
struct Joined {
    shape: Shape,
    result: Option<Ty>,
    failed: bool,
}

impl Default for Joined {
    fn default() -> Self {
        Joined {
            shape: Shape::Scalar,
            result: None,
            failed: false,
        }
    }
}

impl Joined {
    /// The call's type: the joined kind over the joined shape, or the error type.
    fn finish(self) -> Ty {
        match (self.failed, self.result) {
            (false, Some(r)) => Ty {
                shape: self.shape,
                ..r
            },
            _ => Ty::error(),
        }
    }
}

/// The kind of value two values of kinds `a` and `b` make together, in `if`, `min`,
/// `max` and `clamp`: the same kind, or counts and numbers (a number).
fn join_values(a: &Ty, b: &Ty) -> Option<Base> {
    use Base::*;
    match (&a.base, &b.base) {
        (Int, Int) => Some(Int),
        (Int | Number, Int | Number) => Some(Number),
        (x, y) if x == y => Some(x.clone()),
        (Enum(_) | Unit | Group | Band(_), Text) => Some(a.base.clone()),
        (Text, Enum(_) | Unit | Group | Band(_)) => Some(b.base.clone()),
        _ => None,
    }
}

/// Help for values of two kinds that do not mix.
fn mix_help(a: &Base, b: &Base) -> String {
    use Base::*;
    match (a, b) {
        (Percent, Int | Number) | (Int | Number, Percent) => "a percentage and points do not mix: turn the rate into points with `/ 1%` (`满意率 / 1%` is 95.5 for 95.5%), or write the number as a percentage (`85%`)".into(),
        _ => "every value must be of the same kind".into(),
    }
}

fn operand_help(op: BinaryOp, left: &Base, right: &Base) -> String {
    use Base::*;
    match (op, left, right) {
        (BinaryOp::And | BinaryOp::Or, _, _) => {
            "`and` and `or` join yes/no conditions: compare each side, e.g. `满意度评分 >= 80%`".into()
        }
        (BinaryOp::Eq | BinaryOp::Ne, Text, Enum(_) | Unit | Group | Band(_)) => {
            "write the value first and the label in quotes second: `办理方式 == \"派单\"`".into()
        }
        (BinaryOp::Eq | BinaryOp::Ne, Enum(_) | Unit | Group | Band(_), _) => {
            "compare with one of its values in quotes, e.g. `办理方式 == \"派单\"`".into()
        }
        (_, Percent, Int | Number) | (_, Int | Number, Percent) if op.is_comparison() => {
            "write the number with `%`, e.g. `满意度评分 >= 80%`".into()
        }
        (BinaryOp::Add | BinaryOp::Sub, DateTime, Int | Number) => {
            "add or subtract a duration such as `2h` or `1d`".into()
        }
        (BinaryOp::Add | BinaryOp::Sub, Percent, Int | Number) | (BinaryOp::Add | BinaryOp::Sub, Int | Number, Percent) => {
            "a percentage and a plain number do not add up: weigh the rate in a `score` (`5% 响应率`) or turn the number into a percentage with `* 100%`".into()
        }
        (_, DateTime, Int | Number) | (_, Int | Number, DateTime) => {
            "compare a date-time with a date-time, or a difference of two with a duration such as `2h`".into()
        }
        (_, Bool, _) | (_, _, Bool) => "yes/no values cannot be used in arithmetic: count them with `count(…)` or `share(…)`".into(),
        (BinaryOp::Mul, Percent, Percent) => "multiply a percentage by a number, not by another percentage".into(),
        _ => "both sides must be numbers of a kind that fits the operator".into(),
    }
}
