//! Pest pairs to AST: one function per rule. Errors are collected, not thrown.

use super::{content_len, unclosed, Rule, SyntaxError, MAX_DEPTH};
use crate::ast::*;
use crate::span::Span;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::OnceLock;

/// The pair's span without the layout pest skipped after its last token.
fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.start() + content_len(s.as_str()))
}

/// Turns a pest error into a diagnostic with a byte span and the expected rules in words.
pub(super) fn syntax_error(
    text: &str,
    error: pest::error::Error<Rule>,
    literals: Option<(usize, Vec<String>)>,
) -> SyntaxError {
    let at = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    // Where only a literal such as `=` would have fitted, farther on than any rule failed.
    let (at, literals, extra) = match literals {
        Some((position, tokens)) if position > at && position <= text.len() => {
            (position, Some(tokens), Vec::new())
        }
        Some((position, tokens)) if position == at => (at, None, tokens),
        _ => (at, None, Vec::new()),
    };
    let found = match text.get(at..).and_then(|rest| rest.chars().next()) {
        None => "end of file".to_string(),
        Some(_) => {
            let word: String = text
                .get(at..)
                .unwrap_or("")
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(20)
                .collect();
            format!("`{word}`")
        }
    };
    let end = text
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .map_or(at, |c| at + c.len_utf8());
    let mut expected: Vec<String> = match (&error.variant, literals) {
        (_, Some(tokens)) => tokens,
        (pest::error::ErrorVariant::ParsingError { positives, .. }, None) => positives
            .iter()
            .filter_map(|r| rule_in_words(*r))
            .map(str::to_string)
            .collect(),
        (pest::error::ErrorVariant::CustomError { .. }, None) => Vec::new(),
    };
    // Literals wanted where rules failed too, unless the rules' words already say them.
    let words = expected.join(" ");
    expected.extend(
        extra
            .into_iter()
            .filter(|t| !words.contains(t.strip_suffix('`').unwrap_or(t))),
    );
    expected.sort_unstable();
    expected.dedup();
    let expected = match expected.as_slice() {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    };
    if at >= text.len() {
        // Point after the last token, and at the bracket left open, rather than past the end.
        let end = content_len(text);
        let open = unclosed(text);
        let help = match open {
            Some((_, c)) => {
                let close = match c {
                    '(' => ')',
                    '[' => ']',
                    _ => '}',
                };
                format!("the file ends too early: add the missing `{close}`")
            }
            None => "the file ends in the middle of a declaration".to_string(),
        };
        return SyntaxError::Unexpected {
            found,
            expected,
            help,
            span: Span::new(end, end),
            unclosed: open.map(|(span, _)| span),
        };
    }
    SyntaxError::Unexpected {
        found,
        expected,
        help: "see the language reference in README.md".to_string(),
        span: Span::new(at, end),
        unclosed: None,
    }
}

fn rule_in_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::policy_decl
        | Rule::source_decl
        | Rule::units_decl
        | Rule::view_decl
        | Rule::metric_decl
        | Rule::score_decl
        | Rule::bands_decl
        | Rule::ranking_decl
        | Rule::list_decl
        | Rule::test_decl
        | Rule::report_decl => "a declaration (`policy`, `source`, `units`, `view`, `metric`, `score`, `bands`, `ranking`, `list`, `report`, `test`)",
        Rule::test_month | Rule::month_text => "`month 2023-03`",
        Rule::test_data => "`data 工单 \"\"\"…\"\"\"`",
        Rule::expect_decl => "`expect`",
        Rule::expect_target => "what is expected, e.g. `姜楼镇.按时办理率`",
        Rule::ident => "a name",
        Rule::string | Rule::string_body => "a string in quotes",
        Rule::long_string => "a template in triple quotes",
        Rule::number | Rule::signed_number | Rule::integer => "a number",
        Rule::percent => "a percentage",
        Rule::duration => "a duration such as `2h`",
        Rule::expr | Rule::postfix_expr | Rule::call => "an expression",
        Rule::not_op | Rule::neg_op => "an expression",
        Rule::or_op
        | Rule::and_op
        | Rule::coalesce_op
        | Rule::cmp_op
        | Rule::add_op
        | Rule::sub_op
        | Rule::mul_op
        | Rule::div_op => "an operator",
        Rule::label_map | Rule::is_empty | Rule::field_access => "`->`, `is` or `.`",
        Rule::rounding_setting
        | Rule::decimals_setting
        | Rule::weights_setting
        | Rule::fingerprint_setting => {
            "a setting (`rounding`, `decimals`, `weights`, `fingerprint`)"
        }
        Rule::rounding_mode => "`half_up` or `half_even`",
        Rule::weights_mode => "`strict` or `lenient`",
        Rule::fingerprint_kind => "`sha256`, `blake3` or `none`",
        Rule::source_file => "`from`",
        Rule::source_prev => "`=`",
        Rule::file_format => "`csv`, `xlsx` or `jsonl`",
        Rule::encoding_option | Rule::sheet_option => "`encoding` or `sheet`",
        Rule::encoding_name => "`utf8`, `gbk` or `auto`",
        Rule::field => "a field (`name type <- \"header\"`)",
        Rule::simple_type | Rule::bool_type | Rule::datetime_type | Rule::enum_type => {
            "a type (`text`, `integer`, `decimal`, `percent`, `unit`, `bool`, `date`, `datetime`, `enum(…)`)"
        }
        Rule::nullable => "`?`",
        Rule::bool_spelling => "a spelling such as `是 = true`",
        Rule::bool_literal => "`true` or `false`",
        Rule::unit_group => "a group (`镇街: 鱼山镇, 姚寨镇`)",
        Rule::alias_decl => "`alias`",
        Rule::from_clause => "`from`",
        Rule::by_clause => "`by`",
        Rule::default_clause => "`default`",
        Rule::score_term => "a term such as `5% 响应率`",
        Rule::score_op => "`+` or `-`",
        Rule::band => "a band (`大: >= 100`)",
        Rule::range_half_open | Rule::range_closed | Rule::range_from | Rule::band_bounds => {
            "a range (`>= 100`, `10 ..< 100`)"
        }
        Rule::band_bound | Rule::band_cmp => "a comparison such as `>= 100`",
        Rule::within_clause => "`within`",
        Rule::sort_key => "a sort key",
        Rule::sort_dir => "`desc` or `asc`",
        Rule::heading_section | Rule::text_section | Rule::table_section | Rule::chart_section => {
            "a section (`heading`, `text`, `table`, `chart`)"
        }
        Rule::rows_clause => "`rows`",
        Rule::order_clause => "`order by`",
        Rule::top_clause => "`top`",
        Rule::column_decl => "`column`",
        Rule::like_clause => "`like`",
        Rule::bar_decl => "`bar`",
        Rule::label_entry => "a label and its value (`已解决: 100%`)",
        Rule::call_args | Rule::call_where => "arguments",
        _ => return None,
    })
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::or_op, Assoc::Left))
            .op(Op::infix(Rule::and_op, Assoc::Left))
            .op(Op::prefix(Rule::not_op))
            .op(Op::infix(Rule::cmp_op, Assoc::Left))
            .op(Op::infix(Rule::coalesce_op, Assoc::Left))
            .op(Op::infix(Rule::add_op, Assoc::Left) | Op::infix(Rule::sub_op, Assoc::Left))
            .op(Op::infix(Rule::mul_op, Assoc::Left) | Op::infix(Rule::div_op, Assoc::Left))
            .op(Op::prefix(Rule::neg_op))
    })
}

/// Collects errors while lowering.
struct Lower {
    errors: Vec<SyntaxError>,
}

pub(super) fn lower_policy(mut pairs: Pairs<'_, Rule>) -> Result<Policy, Vec<SyntaxError>> {
    let mut lower = Lower { errors: Vec::new() };
    let mut items = Vec::new();
    let mut allows = Vec::new();
    // `allow(…)` clauses waiting for the declaration they stand before.
    let mut pending: Vec<(Vec<Ident>, Span)> = Vec::new();
    if let Some(file) = pairs.next() {
        for pair in file.into_inner() {
            if pair.as_rule() == Rule::allow_clause {
                let span = span_of(&pair);
                let codes = pair.into_inner().map(|p| lower.ident(p)).collect();
                pending.push((codes, span));
                continue;
            }
            let target = span_of(&pair);
            if let Some(item) = lower.item(pair) {
                items.push(item);
                for (codes, span) in pending.drain(..) {
                    allows.push(Allow {
                        codes,
                        span,
                        target,
                    });
                }
            }
        }
    }
    for (_, span) in pending {
        lower.errors.push(SyntaxError::Unexpected {
            found: "`allow(…)` at the end of the file".into(),
            expected: "a declaration after it".into(),
            help: "`allow(…)` acknowledges warnings about the declaration that follows it".into(),
            span,
            unclosed: None,
        });
    }
    if lower.errors.is_empty() {
        Ok(Policy { items, allows })
    } else {
        Err(lower.errors)
    }
}

impl Lower {
    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        Some(match pair.as_rule() {
            Rule::policy_decl => Item::Header(self.header(pair)),
            Rule::source_decl => Item::Source(self.source(pair)),
            Rule::calendar_decl => {
                let span = span_of(&pair);
                let p = pair.into_inner().next()?;
                let file = p.as_rule() == Rule::string;
                Item::Calendar(CalendarDecl {
                    name: self.ident(p),
                    file,
                    span,
                })
            }
            Rule::units_decl => Item::Units(self.units(pair)),
            Rule::view_decl => Item::View(self.view(pair)),
            Rule::metric_decl => Item::Metric(self.metric(pair)),
            Rule::score_decl => Item::Score(self.score(pair)),
            Rule::bands_decl => Item::Bands(self.bands(pair)),
            Rule::ranking_decl => Item::Ranking(self.ranking(pair)),
            Rule::report_decl => Item::Report(self.report(pair)),
            Rule::list_decl => Item::List(self.list(pair)),
            Rule::commentary_decl => {
                let span = span_of(&pair);
                let mut inner = pair.into_inner();
                let name = self.next_ident(&mut inner, span);
                let file = self.next_string(&mut inner, span);
                let list = self.next_ident(&mut inner, span);
                Item::Commentary(Commentary {
                    name,
                    file,
                    list,
                    span,
                })
            }
            Rule::test_decl => Item::Test(self.test(pair)),
            _ => return None,
        })
    }

    fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        match pair.as_rule() {
            Rule::string => {
                let s = self.string(pair);
                Ident {
                    name: s.value,
                    span: s.span,
                }
            }
            _ => Ident {
                name: pair.as_str().to_string(),
                span: span_of(&pair),
            },
        }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> Str {
        let span = span_of(&pair);
        let body = pair
            .into_inner()
            .next()
            .map(|p| p.as_str())
            .unwrap_or_default();
        let mut value = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(other) => value.push(other),
                    None => {}
                }
            } else {
                value.push(c);
            }
        }
        Str { value, span }
    }

    fn long_string(&mut self, pair: Pair<'_, Rule>) -> Str {
        let span = span_of(&pair);
        let body = pair
            .into_inner()
            .next()
            .map(|p| p.as_str())
            .unwrap_or_default();
        Str {
            value: dedent(body),
            span,
        }
    }

    fn number(&mut self, text: &str, span: Span) -> Decimal {
        match Decimal::from_str(text) {
            Ok(d) => d,
            Err(_) => {
                self.errors.push(SyntaxError::BadNumber {
                    text: text.to_string(),
                    span,
                });
                Decimal::ZERO
            }
        }
    }

    fn header(&mut self, pair: Pair<'_, Rule>) -> Header {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let title = match inner.next() {
            Some(p) => self.string(p),
            None => Str {
                value: String::new(),
                span,
            },
        };
        let mut header = Header {
            title,
            rounding: None,
            decimals: None,
            weights_strict: None,
            fingerprint: None,
            empty: None,
            zeros: None,
            span,
        };
        for setting in inner {
            let sspan = span_of(&setting);
            let rule = setting.as_rule();
            if rule == Rule::empty_setting {
                if let Some(p) = setting.into_inner().next() {
                    let mark = self.string(p);
                    match &header.empty {
                        Some(old) => self.errors.push(SyntaxError::DuplicateSetting {
                            setting: "empty".into(),
                            span: sspan,
                            first: old.span,
                        }),
                        None => header.empty = Some(mark),
                    }
                }
                continue;
            }
            let value = setting
                .into_inner()
                .next()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let (name, first) = match rule {
                Rule::rounding_setting => {
                    let mode = if value == "half_even" {
                        Rounding::HalfEven
                    } else {
                        Rounding::HalfUp
                    };
                    let first = header.rounding.map(|r| r.1);
                    header.rounding.get_or_insert((mode, sspan));
                    ("rounding", first)
                }
                Rule::decimals_setting => {
                    let first = header.decimals.map(|r| r.1);
                    match value.parse::<u32>() {
                        Ok(n) if n <= 12 => {
                            header.decimals.get_or_insert((n, sspan));
                        }
                        _ => self.errors.push(SyntaxError::BadNumber {
                            text: value,
                            span: sspan,
                        }),
                    }
                    ("decimals", first)
                }
                Rule::weights_setting => {
                    let first = header.weights_strict.map(|r| r.1);
                    header
                        .weights_strict
                        .get_or_insert((value == "strict", sspan));
                    ("weights", first)
                }
                Rule::fingerprint_setting => {
                    let kind = match value.as_str() {
                        "blake3" => FingerprintKind::Blake3,
                        "none" => FingerprintKind::None,
                        _ => FingerprintKind::Sha256,
                    };
                    let first = header.fingerprint.map(|r| r.1);
                    header.fingerprint.get_or_insert((kind, sspan));
                    ("fingerprint", first)
                }
                Rule::zeros_setting => {
                    let zeros = match value.as_str() {
                        "text" => Zeros::Text,
                        "keep" => Zeros::Keep,
                        _ => Zeros::Drop,
                    };
                    let first = header.zeros.map(|r| r.1);
                    header.zeros.get_or_insert((zeros, sspan));
                    ("zeros", first)
                }
                _ => continue,
            };
            if let Some(first) = first {
                self.errors.push(SyntaxError::DuplicateSetting {
                    setting: name.to_string(),
                    span: sspan,
                    first,
                });
            }
        }
        header
    }

    fn source(&mut self, pair: Pair<'_, Rule>) -> Source {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = self.next_ident(&mut inner, span);
        let kind = match inner.next() {
            Some(p) if p.as_rule() == Rule::source_prev => {
                let pspan = span_of(&p);
                let mut pi = p.into_inner();
                let of = self.next_ident(&mut pi, pspan);
                let shift = match pi
                    .next()
                    .and_then(|s| s.into_inner().next())
                    .map(|s| s.as_rule())
                {
                    Some(Rule::shift_period) => Shift::PreviousPeriod,
                    Some(Rule::shift_year) => Shift::SamePeriodLastYear,
                    _ => Shift::PreviousMonth,
                };
                SourceKind::Previous(of, shift)
            }
            Some(p) => SourceKind::File(self.file_source(p)),
            None => SourceKind::Previous(name.clone(), Shift::PreviousMonth),
        };
        Source { name, kind, span }
    }

    fn file_source(&mut self, pair: Pair<'_, Rule>) -> FileSource {
        let span = span_of(&pair);
        let mut source = FileSource {
            format: Format::Csv,
            path: Str {
                value: String::new(),
                span,
            },
            encoding: None,
            sheet: None,
            fields: Vec::new(),
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::file_format => {
                    source.format = match p.as_str() {
                        "xlsx" => Format::Xlsx,
                        "jsonl" => Format::Jsonl,
                        _ => Format::Csv,
                    }
                }
                Rule::string => source.path = self.string(p),
                Rule::encoding_option => {
                    let espan = span_of(&p);
                    let value = p.into_inner().next().map(|v| v.as_str()).unwrap_or("");
                    let enc = match value {
                        "gbk" => EncodingName::Gbk,
                        "auto" => EncodingName::Auto,
                        _ => EncodingName::Utf8,
                    };
                    source.encoding = Some((enc, espan));
                }
                Rule::sheet_option => {
                    if let Some(s) = p.into_inner().next() {
                        source.sheet = Some(self.string(s));
                    }
                }
                Rule::field => source.fields.push(self.field(p)),
                _ => {}
            }
        }
        source
    }

    fn field(&mut self, pair: Pair<'_, Rule>) -> Field {
        let span = span_of(&pair);
        let mut field = Field {
            name: Ident {
                name: String::new(),
                span,
            },
            ty: FieldType::Text,
            nullable: false,
            header: None,
            span,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => field.name = self.ident(p),
                Rule::nullable => field.nullable = true,
                Rule::string => field.header = Some(self.string(p)),
                Rule::simple_type => {
                    field.ty = match p.as_str() {
                        "integer" => FieldType::Integer,
                        "decimal" => FieldType::Decimal,
                        "percent" => FieldType::Percent,
                        "unit" => FieldType::Unit,
                        _ => FieldType::Text,
                    }
                }
                Rule::bool_type => {
                    let mut spellings = Vec::new();
                    for sp in p.into_inner() {
                        let mut parts = sp.into_inner();
                        if let (Some(n), Some(v)) = (parts.next(), parts.next()) {
                            spellings.push((self.ident(n), v.as_str() == "true"));
                        }
                    }
                    field.ty = FieldType::Bool(spellings);
                }
                Rule::datetime_type => {
                    let format = p.into_inner().next().map(|s| self.string(s));
                    field.ty = FieldType::DateTime(format);
                }
                Rule::enum_type => {
                    let labels = p.into_inner().map(|l| self.ident(l)).collect();
                    field.ty = FieldType::Enum(labels);
                }
                _ => {}
            }
        }
        field
    }

    fn units(&mut self, pair: Pair<'_, Rule>) -> Units {
        let span = span_of(&pair);
        let mut units = Units {
            groups: Vec::new(),
            aliases: Vec::new(),
            span,
        };
        for p in pair.into_inner() {
            let pspan = span_of(&p);
            match p.as_rule() {
                Rule::unit_group => {
                    let mut inner = p.into_inner();
                    let name = self.next_ident(&mut inner, pspan);
                    let members = inner.map(|u| self.ident(u)).collect();
                    units.groups.push(UnitGroup {
                        name,
                        units: members,
                    });
                }
                Rule::alias_decl => {
                    let mut inner = p.into_inner();
                    let from = self.next_ident(&mut inner, pspan);
                    let to = self.next_ident(&mut inner, pspan);
                    units.aliases.push(Alias { from, to });
                }
                _ => {}
            }
        }
        units
    }

    fn view(&mut self, pair: Pair<'_, Rule>) -> View {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = self.next_ident(&mut inner, span);
        let source = self.next_ident(&mut inner, span);
        let filter = self.next_expr(&mut inner, span);
        View {
            name,
            source,
            filter,
            span,
        }
    }

    fn metric(&mut self, pair: Pair<'_, Rule>) -> Metric {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = self.next_ident(&mut inner, span);
        let mut metric = Metric {
            name,
            from: None,
            by: None,
            expr: Expr::new(ExprKind::Bool(false), span),
            default: None,
            only: None,
            span,
        };
        for p in inner {
            let pspan = span_of(&p);
            match p.as_rule() {
                Rule::from_clause => {
                    let mut fi = p.into_inner();
                    let source = self.next_ident(&mut fi, pspan);
                    let filter = fi.next().map(|e| self.expr(e));
                    metric.from = Some(From { source, filter });
                }
                Rule::by_clause => {
                    let mut bi = p.into_inner();
                    metric.by = Some(self.next_ident(&mut bi, pspan));
                }
                Rule::expr => metric.expr = self.expr(p),
                Rule::default_clause => {
                    let mut di = p.into_inner();
                    metric.default = Some(self.next_expr(&mut di, pspan));
                }
                Rule::only_clause => {
                    let mut oi = p.into_inner();
                    metric.only = Some(self.next_expr(&mut oi, pspan));
                }
                _ => {}
            }
        }
        metric
    }

    fn score(&mut self, pair: Pair<'_, Rule>) -> Score {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = self.next_ident(&mut inner, span);
        let mut terms = Vec::new();
        let mut negative = false;
        let mut only = None;
        for p in inner {
            match p.as_rule() {
                Rule::only_clause => {
                    let ospan = span_of(&p);
                    let mut oi = p.into_inner();
                    only = Some(self.next_expr(&mut oi, ospan));
                }
                Rule::score_op => negative = p.as_str() == "-",
                Rule::score_term => {
                    let tspan = span_of(&p);
                    let mut weight = None;
                    let mut expr = Expr::new(ExprKind::Bool(false), tspan);
                    for t in p.into_inner() {
                        match t.as_rule() {
                            Rule::percent => {
                                let wspan = span_of(&t);
                                let text = t.into_inner().next().map(|n| n.as_str()).unwrap_or("");
                                weight = Some((self.number(text, wspan), wspan));
                            }
                            _ => expr = self.postfix_expr(t),
                        }
                    }
                    terms.push(ScoreTerm {
                        negative,
                        weight,
                        expr,
                        span: tspan,
                    });
                    negative = false;
                }
                _ => {}
            }
        }
        Score {
            name,
            terms,
            only,
            span,
        }
    }

    fn bands(&mut self, pair: Pair<'_, Rule>) -> Bands {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = self.next_ident(&mut inner, span);
        let on = self.next_expr(&mut inner, span);
        let mut bands = Vec::new();
        for b in inner {
            let mut bi = b.into_inner();
            let bname = self.next_ident(&mut bi, span);
            let Some(range) = bi.next() else { continue };
            let rspan = span_of(&range);
            let range = self.range(range);
            bands.push(Band {
                name: bname,
                range,
                span: rspan,
            });
        }
        Bands {
            name,
            on,
            bands,
            span,
        }
    }

    fn range(&mut self, pair: Pair<'_, Rule>) -> Range {
        let rule = pair.as_rule();
        let mut values = Vec::new();
        let mut cmps = Vec::new();
        for p in pair.clone().into_inner().flatten() {
            match p.as_rule() {
                Rule::signed_number => values.push(self.number(p.as_str(), span_of(&p))),
                Rule::band_cmp => cmps.push(p.as_str().to_string()),
                _ => {}
            }
        }
        let bound = |value, inclusive| Some(Bound { value, inclusive });
        match rule {
            Rule::range_half_open | Rule::range_closed => Range {
                lower: bound(values.first().copied().unwrap_or_default(), true),
                upper: bound(
                    values.get(1).copied().unwrap_or_default(),
                    rule == Rule::range_closed,
                ),
            },
            Rule::range_from => Range {
                lower: bound(values.first().copied().unwrap_or_default(), true),
                upper: None,
            },
            _ => {
                let mut range = Range {
                    lower: None,
                    upper: None,
                };
                for (cmp, value) in cmps.iter().zip(values) {
                    match cmp.as_str() {
                        ">=" | "≥" => range.lower = bound(value, true),
                        ">" => range.lower = bound(value, false),
                        "<=" | "≤" => range.upper = bound(value, true),
                        "<" => range.upper = bound(value, false),
                        _ => {
                            range.lower = bound(value, true);
                            range.upper = bound(value, true);
                        }
                    }
                }
                range
            }
        }
    }

    fn ranking(&mut self, pair: Pair<'_, Rule>) -> Ranking {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = self.next_ident(&mut inner, span);
        let mut ranking = Ranking {
            name,
            within: Vec::new(),
            filter: None,
            keys: Vec::new(),
            ties: None,
            span,
        };
        for p in inner {
            match p.as_rule() {
                Rule::within_clause => {
                    ranking.within = p.into_inner().map(|i| self.ident(i)).collect();
                }
                Rule::sort_key => ranking.keys.push(self.sort_key(p)),
                Rule::ties_clause => {
                    let tspan = span_of(&p);
                    let ties = match p.into_inner().next().map(|m| m.as_str()) {
                        Some("shared") => Ties::Shared,
                        Some("dense") => Ties::Dense,
                        _ => Ties::Ordered,
                    };
                    ranking.ties = Some((ties, tspan));
                }
                Rule::ranking_where => {
                    let wspan = span_of(&p);
                    let mut wi = p.into_inner();
                    ranking.filter = Some(self.next_expr(&mut wi, wspan));
                }
                _ => {}
            }
        }
        ranking
    }

    fn sort_key(&mut self, pair: Pair<'_, Rule>) -> SortKey {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let expr = self.next_expr(&mut inner, span);
        let descending = inner.next().is_some_and(|d| d.as_str() == "desc");
        SortKey { expr, descending }
    }

    fn report(&mut self, pair: Pair<'_, Rule>) -> Report {
        let span = span_of(&pair);
        let mut report = Report {
            title: None,
            sections: Vec::new(),
            span,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::string => report.title = Some(self.string(p)),
                Rule::heading_section => {
                    if let Some(s) = p.into_inner().next() {
                        report.sections.push(Section::Heading(self.string(s)));
                    }
                }
                Rule::text_section => {
                    if let Some(s) = p.into_inner().next() {
                        let text = if s.as_rule() == Rule::long_string {
                            self.long_string(s)
                        } else {
                            self.string(s)
                        };
                        report.sections.push(Section::Text(text));
                    }
                }
                Rule::table_section => {
                    let table = self.table(p);
                    report.sections.push(Section::Table(table));
                }
                Rule::chart_section => {
                    let chart = self.chart(p);
                    report.sections.push(Section::Chart(chart));
                }
                _ => {}
            }
        }
        report
    }

    fn table(&mut self, pair: Pair<'_, Rule>) -> Table {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let mut table = Table {
            name: self.next_string(&mut inner, span),
            titles: Vec::new(),
            rows: unit_rows(span),
            like: None,
            total: None,
            columns: Vec::new(),
            span,
        };
        for p in inner {
            let pspan = span_of(&p);
            match p.as_rule() {
                Rule::string => table.titles.push(self.string(p)),
                Rule::like_clause => {
                    if let Some(s) = p.into_inner().next() {
                        table.like = Some(self.string(s));
                    }
                }
                Rule::total_clause => {
                    if let Some(s) = p.into_inner().next() {
                        table.total = Some(self.string(s));
                    }
                }
                Rule::rows_clause => table.rows = self.rows(p.into_inner(), pspan),
                Rule::column_decl => table.columns.push(self.column(p)),
                _ => {}
            }
        }
        table
    }

    /// `column "响应率" = 响应率` and `bar "本月" = 话题件数`.
    fn column(&mut self, pair: Pair<'_, Rule>) -> Column {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let header = self.next_string(&mut inner, span);
        let mut expr = self.next_expr(&mut inner, span);
        if inner
            .next()
            .is_some_and(|p| p.as_rule() == Rule::each_month)
        {
            let at = Span::new(expr.span.start, span.end);
            expr = Expr::new(ExprKind::EachMonth(Box::new(expr)), at);
        }
        Column { header, expr }
    }

    fn next_string(&mut self, pairs: &mut Pairs<'_, Rule>, span: Span) -> Str {
        match pairs.next() {
            Some(p) => self.string(p),
            None => Str {
                value: String::new(),
                span,
            },
        }
    }

    /// `unit where … order by … top N`
    fn rows(&mut self, mut pairs: Pairs<'_, Rule>, span: Span) -> Rows {
        let mut rows = Rows {
            domain: self.next_ident(&mut pairs, span),
            filter: None,
            order: Vec::new(),
            top: None,
            with_ties: false,
        };
        for r in pairs {
            match r.as_rule() {
                Rule::expr => rows.filter = Some(self.expr(r)),
                Rule::order_clause => {
                    rows.order = r.into_inner().map(|k| self.sort_key(k)).collect();
                }
                Rule::top_clause => {
                    let tspan = span_of(&r);
                    let mut ti = r.into_inner();
                    let text = ti.next().map(|n| n.as_str()).unwrap_or("");
                    rows.with_ties = ti.next().is_some();
                    match text.parse::<u32>() {
                        Ok(n) => rows.top = Some((n, tspan)),
                        Err(_) => self.errors.push(SyntaxError::BadNumber {
                            text: text.to_string(),
                            span: tspan,
                        }),
                    }
                }
                _ => {}
            }
        }
        rows
    }

    fn chart(&mut self, pair: Pair<'_, Rule>) -> Chart {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let mut chart = Chart {
            name: self.next_string(&mut inner, span),
            titles: Vec::new(),
            rows: unit_rows(span),
            bars: Vec::new(),
            span,
        };
        for p in inner {
            let pspan = span_of(&p);
            match p.as_rule() {
                Rule::string => chart.titles.push(self.string(p)),
                Rule::rows_clause => chart.rows = self.rows(p.into_inner(), pspan),
                Rule::bar_decl => chart.bars.push(self.column(p)),
                _ => {}
            }
        }
        chart
    }

    fn test(&mut self, pair: Pair<'_, Rule>) -> PolicyTest {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = match inner.next() {
            Some(p) => self.string(p),
            None => Str {
                value: String::new(),
                span,
            },
        };
        let mut test = PolicyTest {
            name,
            month: None,
            data: Vec::new(),
            expects: Vec::new(),
            span,
        };
        for p in inner {
            let pspan = span_of(&p);
            match p.as_rule() {
                Rule::test_month => {
                    if let Some(m) = p.into_inner().next() {
                        test.month = Some(Str {
                            value: m.as_str().to_string(),
                            span: span_of(&m),
                        });
                    }
                }
                Rule::test_data => {
                    let mut di = p.into_inner();
                    let source = self.next_ident(&mut di, pspan);
                    let text = match di.next() {
                        Some(t) if t.as_rule() == Rule::long_string => self.long_string(t),
                        Some(t) => self.string(t),
                        None => Str {
                            value: String::new(),
                            span: pspan,
                        },
                    };
                    test.data.push((source, text));
                }
                Rule::expect_decl => {
                    let mut ei = p.into_inner();
                    let target = ei
                        .next()
                        .map(|t| t.into_inner().map(|n| self.ident(n)).collect())
                        .unwrap_or_default();
                    let (op, expected, empty) = match ei.peek().map(|p| p.as_rule()) {
                        Some(Rule::expect_empty) => {
                            let negated =
                                ei.next().is_some_and(|e| e.into_inner().next().is_some());
                            (
                                BinaryOp::Eq,
                                Expr::new(ExprKind::Bool(false), pspan),
                                Some(negated),
                            )
                        }
                        _ => {
                            let op = match ei.next().map(|o| o.as_str()) {
                                Some("!=") | Some("≠") => BinaryOp::Ne,
                                Some("<") => BinaryOp::Lt,
                                Some("<=") | Some("≤") => BinaryOp::Le,
                                Some(">") => BinaryOp::Gt,
                                Some(">=") | Some("≥") => BinaryOp::Ge,
                                _ => BinaryOp::Eq,
                            };
                            (op, self.next_expr(&mut ei, pspan), None)
                        }
                    };
                    test.expects.push(Expect {
                        target,
                        op,
                        expected,
                        empty,
                        span: pspan,
                    });
                }
                _ => {}
            }
        }
        test
    }

    fn list(&mut self, pair: Pair<'_, Rule>) -> List {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = self.next_ident(&mut inner, span);
        let rows = self.rows(inner, span);
        List { name, rows, span }
    }

    fn next_ident(&mut self, pairs: &mut Pairs<'_, Rule>, span: Span) -> Ident {
        match pairs.next() {
            Some(p) => self.ident(p),
            None => Ident {
                name: String::new(),
                span,
            },
        }
    }

    fn next_expr(&mut self, pairs: &mut Pairs<'_, Rule>, span: Span) -> Expr {
        match pairs.next() {
            Some(p) => self.expr(p),
            None => Expr::new(ExprKind::Bool(false), span),
        }
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        if pair.as_rule() != Rule::expr {
            return self.postfix_expr(pair);
        }
        // The Pratt parser recurses on every prefix operator: bound the operators first.
        let span = span_of(&pair);
        if pair.clone().into_inner().count() > 2 * MAX_DEPTH {
            return self.too_complex(span);
        }
        // The Pratt parser takes closures; errors found inside are collected afterwards.
        let mut errors = Vec::new();
        let expr = pratt()
            .map_primary(|p| {
                let mut sub = Lower { errors: Vec::new() };
                let e = sub.postfix_expr(p);
                errors.extend(sub.errors);
                e
            })
            .map_prefix(|op, rhs| {
                let span = span_of(&op).to(rhs.span);
                let op = if op.as_rule() == Rule::not_op {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Expr::new(ExprKind::Unary(op, Box::new(rhs)), span)
            })
            .map_infix(|lhs, op, rhs| {
                let span = lhs.span.to(rhs.span);
                let op = match op.as_rule() {
                    Rule::or_op => BinaryOp::Or,
                    Rule::and_op => BinaryOp::And,
                    Rule::coalesce_op => BinaryOp::Coalesce,
                    Rule::add_op => BinaryOp::Add,
                    Rule::sub_op => BinaryOp::Sub,
                    Rule::mul_op => BinaryOp::Mul,
                    Rule::div_op => BinaryOp::Div,
                    _ => match op.as_str() {
                        "==" => BinaryOp::Eq,
                        "!=" | "≠" => BinaryOp::Ne,
                        "<" => BinaryOp::Lt,
                        "<=" | "≤" => BinaryOp::Le,
                        ">" => BinaryOp::Gt,
                        _ => BinaryOp::Ge,
                    },
                };
                Expr::new(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span)
            })
            .parse(pair.into_inner());
        self.errors.extend(errors);
        self.bounded(expr)
    }

    /// The expression, or an error if its tree is deeper than [`MAX_DEPTH`].
    fn bounded(&mut self, expr: Expr) -> Expr {
        if depth(&expr) > MAX_DEPTH {
            return self.too_complex(expr.span);
        }
        expr
    }

    fn too_complex(&mut self, span: Span) -> Expr {
        self.errors.push(SyntaxError::TooComplex {
            max: MAX_DEPTH,
            span,
        });
        Expr::new(ExprKind::Bool(false), span)
    }

    fn postfix_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        if pair.as_rule() != Rule::postfix_expr {
            return self.primary(pair);
        }
        if pair.clone().into_inner().count() > MAX_DEPTH {
            return self.too_complex(span_of(&pair));
        }
        let mut inner = pair.into_inner();
        let Some(first) = inner.next() else {
            return Expr::new(ExprKind::Bool(false), Span::default());
        };
        let mut expr = self.primary(first);
        for post in inner {
            let pspan = span_of(&post);
            let span = expr.span.to(pspan);
            expr = match post.as_rule() {
                Rule::label_map => {
                    let mut entries = Vec::new();
                    for entry in post.into_inner() {
                        let espan = span_of(&entry);
                        let mut ei = entry.into_inner();
                        let label = self.next_ident(&mut ei, espan);
                        let value = self.next_expr(&mut ei, espan);
                        entries.push((label, value));
                    }
                    Expr::new(ExprKind::LabelMap(Box::new(expr), entries), span)
                }
                Rule::is_empty => {
                    let negated = post.into_inner().next().is_some();
                    Expr::new(
                        ExprKind::IsEmpty {
                            expr: Box::new(expr),
                            negated,
                        },
                        span,
                    )
                }
                _ => {
                    let mut fi = post.into_inner();
                    let member = self.next_ident(&mut fi, pspan);
                    Expr::new(ExprKind::Member(Box::new(expr), member), span)
                }
            };
        }
        self.bounded(expr)
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::number => ExprKind::Number(self.number(pair.as_str(), span)),
            Rule::percent => {
                let text = pair.into_inner().next().map(|n| n.as_str()).unwrap_or("");
                ExprKind::Percent(self.number(text, span))
            }
            Rule::duration => {
                let mut inner = pair.into_inner();
                let amount = inner.next().map(|n| n.as_str()).unwrap_or("0");
                let unit = inner.next().map(|n| n.as_str()).unwrap_or("s");
                let factor: i64 = match unit {
                    "d" => 86_400,
                    "h" => 3_600,
                    "min" => 60,
                    _ => 1,
                };
                let value = self.number(amount, span) * Decimal::from(factor);
                match i64::try_from(value.trunc()) {
                    Ok(seconds) if value.fract().is_zero() => ExprKind::Duration(seconds),
                    _ => {
                        self.errors.push(SyntaxError::BadNumber {
                            text: amount.to_string(),
                            span,
                        });
                        ExprKind::Duration(0)
                    }
                }
            }
            Rule::string => ExprKind::Str(self.string(pair).value),
            Rule::date_literal => match date_days(pair.as_str()) {
                Some(days) => ExprKind::Date(days),
                None => {
                    self.errors.push(SyntaxError::BadDate {
                        text: pair.as_str().to_string(),
                        span,
                    });
                    ExprKind::Date(0)
                }
            },
            Rule::datetime_literal => {
                let text = pair.as_str();
                let seconds = text.get(..10).and_then(date_days).and_then(|days| {
                    let time = text.get(11..)?;
                    let mut parts = time.split(':').map(|p| p.parse::<i64>().ok());
                    let (h, m) = (parts.next()??, parts.next()??);
                    let s = parts.next().unwrap_or(Some(0))?;
                    (h < 24 && m < 60 && s < 60).then_some(days * 86_400 + h * 3_600 + m * 60 + s)
                });
                match seconds {
                    Some(s) => ExprKind::DateTime(s),
                    None => {
                        self.errors.push(SyntaxError::BadDate {
                            text: text.to_string(),
                            span,
                        });
                        ExprKind::DateTime(0)
                    }
                }
            }
            Rule::bool_literal => ExprKind::Bool(pair.as_str() == "true"),
            Rule::ident => ExprKind::Name(self.ident(pair)),
            Rule::call => {
                let mut inner = pair.into_inner();
                let func = self.next_ident(&mut inner, span);
                let mut args = Vec::new();
                let mut filter = None;
                let scale = func.name == "scale";
                if let Some(call_args) = inner.next() {
                    for (i, a) in call_args.into_inner().enumerate() {
                        if a.as_rule() == Rule::call_where {
                            let wspan = span_of(&a);
                            let mut wi = a.into_inner();
                            filter = Some(Box::new(self.next_expr(&mut wi, wspan)));
                            continue;
                        }
                        let aspan = span_of(&a);
                        let mut parts = a.into_inner();
                        let mut first = self.next_expr(&mut parts, aspan);
                        let mut point = None;
                        if let Some(p) = parts.next() {
                            if p.as_rule() == Rule::each_month {
                                first = Expr::new(ExprKind::EachMonth(Box::new(first)), aspan);
                            } else {
                                point = Some(self.expr(p));
                            }
                        }
                        match (scale && i > 0, point) {
                            (true, Some(value)) => {
                                args.push(first);
                                args.push(value);
                            }
                            (false, None) => args.push(first),
                            (true, None) => {
                                self.errors.push(SyntaxError::ScalePoint {
                                    message: "a point of `scale` needs its value".into(),
                                    help: "write each point as `rate -> points`, e.g. `scale(满意率, 73% -> 12.5, 98% -> 25)`".into(),
                                    span: aspan,
                                });
                            }
                            (false, Some(_)) => {
                                self.errors.push(SyntaxError::ScalePoint {
                                    message: format!("`->` points belong in `scale(…)`, not in `{}(…)`", func.name),
                                    help: if scale {
                                        "the first argument of `scale` is the value scaled; the points follow it".into()
                                    } else {
                                        "write `scale(满意率, 73% -> 12.5, 98% -> 25)` for a piecewise-linear scale".into()
                                    },
                                    span: aspan,
                                });
                                args.push(first);
                            }
                        }
                    }
                }
                ExprKind::Call { func, args, filter }
            }
            Rule::expr => return self.expr(pair),
            Rule::postfix_expr => return self.postfix_expr(pair),
            _ => ExprKind::Bool(false),
        };
        Expr::new(kind, span)
    }
}

/// The number of nodes on the longest path from the root of `expr`, found without recursion.
fn depth(expr: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(expr, 1)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        match &e.kind {
            ExprKind::Member(inner, _)
            | ExprKind::Unary(_, inner)
            | ExprKind::EachMonth(inner)
            | ExprKind::IsEmpty { expr: inner, .. } => stack.push((inner, d + 1)),
            ExprKind::Binary(_, a, b) => {
                stack.push((a, d + 1));
                stack.push((b, d + 1));
            }
            ExprKind::Call { args, filter, .. } => {
                stack.extend(args.iter().map(|a| (a, d + 1)));
                stack.extend(filter.iter().map(|f| (&**f, d + 1)));
            }
            ExprKind::LabelMap(inner, entries) => {
                stack.push((inner, d + 1));
                stack.extend(entries.iter().map(|(_, v)| (v, d + 1)));
            }
            ExprKind::Number(_)
            | ExprKind::Percent(_)
            | ExprKind::Duration(_)
            | ExprKind::Date(_)
            | ExprKind::DateTime(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Name(_) => {}
        }
    }
    deepest
}

/// `rows unit`, before the policy says otherwise.
fn unit_rows(span: Span) -> Rows {
    Rows {
        domain: Ident {
            name: "unit".into(),
            span,
        },
        filter: None,
        order: Vec::new(),
        top: None,
        with_ties: false,
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date, if it is one.
pub(crate) fn date_days(text: &str) -> Option<i64> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some((date - epoch).num_days())
}

/// Removes the common indentation of a template's lines, and a leading and trailing blank line.
fn dedent(body: &str) -> String {
    let lines: Vec<&str> = body.split('\n').collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start()))
        .collect();
    if out.first().is_some_and(|l| l.trim().is_empty()) {
        out.remove(0);
    }
    if out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.iter()
        .map(|l| l.trim_end_matches('\r'))
        .collect::<Vec<_>>()
        .join("\n")
}
