//! KQL text → [`Query`]: the pest grammar (`grammar/kql.pest`) recognises
//! the text exactly as Kibana's grammar does, and the builder below decodes
//! escapes, trims unquoted values, types `true`/`false`/`null`, and bounds
//! the nesting depth. Errors are located and carry a hint for the mistakes
//! people actually make.

use super::ast::*;
use crate::diag::Diagnostic;
use crate::syntax::{Span, MAX_DEPTH};
use pest::iterators::Pair;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/kql.pest"]
struct KqlParser;

type Result<T> = std::result::Result<T, Diagnostic>;

/// Parses a KQL query as Kibana would, returning the AST or the first error,
/// located in `src`. An empty or blank query is valid (it matches everything).
pub fn parse(src: &str) -> Result<Query> {
    if let Some(diag) = crate::syntax::too_long(src, "kql::too-long") {
        return Err(diag);
    }
    let scan = scan(src);
    if let Some(at) = scan.too_deep {
        return Err(too_deep(at));
    }
    let mut pairs = KqlParser::parse(Rule::query, src).map_err(|e| {
        let diag = syntax_error(src, e);
        // A bracket or quote left open explains the error better than
        // "unexpected end of query" where the grammar gave up.
        // A stray closer anywhere up to the token the grammar stopped at is
        // the better report; an opener left open is, when the grammar ran
        // out of text looking for its closer.
        let ran_out = diag.message == "unexpected end of query";
        match scan.unbalanced {
            Some(u) if u.span.start <= diag.span.end || ran_out => u,
            _ => diag,
        }
    })?;
    let query = pairs.next().expect("the query rule yields one pair");
    let mut builder = Builder { src, depth: 0 };
    let expr = match query.into_inner().find(|p| p.as_rule() == Rule::or_query) {
        Some(p) => Some(builder.or_query(p)?),
        None => None,
    };
    let span = expr.as_ref().map_or(Span::new(0, 0), Expr::span);
    Ok(Query { expr, span })
}

fn too_deep(at: Span) -> Diagnostic {
    Diagnostic::error(
        "kql::too-deep",
        format!("the query nests more than {MAX_DEPTH} levels deep"),
        at,
    )
    .with_label("too deep")
    .with_help("flatten the query: `a or (b or c)` is the same as `a or b or c`")
}

// ------------------------------------------------------------------ nesting

/// What a lexical pass finds before the grammar runs: the first bracket
/// beyond [`MAX_DEPTH`] (so that deep input never reaches the recursive
/// parser), and the first bracket or quote left open or closed unopened.
#[derive(Default)]
struct Scan {
    too_deep: Option<Span>,
    unbalanced: Option<Diagnostic>,
}

fn scan(src: &str) -> Scan {
    let bytes = src.as_bytes();
    let mut out = Scan::default();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // Outside quotes a backslash always takes the next character
            // with it (or is an error the grammar reports).
            b'\\' => i += 1,
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            if out.unbalanced.is_none() {
                                out.unbalanced = Some(
                                    Diagnostic::error(
                                        "kql::syntax",
                                        "this string is never closed",
                                        Span::new(start, start + 1),
                                    )
                                    .with_label("opened here")
                                    .with_help(
                                        "end the value with `\"`; write a quote inside \
                                         a quoted value as `\\\"`",
                                    ),
                                );
                            }
                            return out;
                        }
                        // Inside quotes only `\"` and `\\` can hide a quote.
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
            }
            b @ (b'(' | b'{') => {
                open.push((b, i));
                if open.len() > MAX_DEPTH && out.too_deep.is_none() {
                    out.too_deep = Some(Span::new(i, i + 1));
                }
            }
            b @ (b')' | b'}') => {
                let want = if b == b')' { b'(' } else { b'{' };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, at)) => {
                        if out.unbalanced.is_none() {
                            let (line, col) = crate::diag::line_col(src, at);
                            let close = if o == b'(' { ')' } else { '}' };
                            out.unbalanced = Some(
                                Diagnostic::error(
                                    "kql::syntax",
                                    format!("`{}` closes `{}`", b as char, o as char),
                                    Span::new(i, i + 1),
                                )
                                .with_label(format!("expected `{close}`"))
                                .with_help(format!(
                                    "the `{}` at {line}:{col} is still open here",
                                    o as char
                                )),
                            );
                        }
                    }
                    None => {
                        if out.unbalanced.is_none() {
                            out.unbalanced = Some(
                                Diagnostic::error(
                                    "kql::syntax",
                                    format!("`{}` closes nothing", b as char),
                                    Span::new(i, i + 1),
                                )
                                .with_label("no matching opening bracket")
                                .with_help(
                                    "remove it, or escape it as `\\)` / `\\}` if it is \
                                     part of a value",
                                ),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some((b, at)) = open.first().copied() {
        if out.unbalanced.is_none() {
            let close = if b == b'(' { ')' } else { '}' };
            out.unbalanced = Some(
                Diagnostic::error(
                    "kql::syntax",
                    format!("this `{}` is never closed", b as char),
                    Span::new(at, at + 1),
                )
                .with_label("opened here")
                .with_help(format!("add the missing `{close}`")),
            );
        }
    }
    out
}

// ------------------------------------------------------------ syntax errors

fn syntax_error(src: &str, err: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::InputLocation;
    let mut pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // Blank text at the end is not what went wrong; point at the end.
    if src[pos..].trim().is_empty() {
        pos = src.trim_end().len();
    }
    let found = token_at(src, pos);
    let shown = if found.is_empty() {
        "end of query".to_string()
    } else {
        format!("`{found}`")
    };
    let span = if found.is_empty() {
        // Nothing to underline at the end: point at the last character.
        let last = src[..pos].chars().next_back().map_or(0, char::len_utf8);
        Span::new(pos - last, pos)
    } else {
        Span::new(pos, pos + found.len())
    };
    let (message, label, help) = explain(src, pos, found, &shown);
    let mut diag = Diagnostic::error("kql::syntax", message, span).with_label(label);
    if let Some(help) = help {
        diag = diag.with_help(help);
    }
    diag
}

/// The token at `pos`: an escape, a keyword-like word, or one character.
fn token_at(src: &str, pos: usize) -> &str {
    let rest = &src[pos.min(src.len())..];
    if rest.trim().is_empty() {
        return "";
    }
    let mut chars = rest.char_indices();
    match chars.next() {
        Some((_, '\\')) => {
            let n = chars.next().map_or(1, |(i, c)| i + c.len_utf8());
            &rest[..n]
        }
        Some((_, c)) if c.is_alphanumeric() => {
            let n = rest
                .char_indices()
                .find(|(_, c)| !c.is_alphanumeric())
                .map_or(rest.len(), |(i, _)| i);
            &rest[..n]
        }
        Some((_, c)) if ['<', '>'].contains(&c) && rest[1..].starts_with('=') => &rest[..2],
        Some((_, c)) => &rest[..c.len_utf8()],
        None => "",
    }
}

fn is_keyword(word: &str) -> bool {
    ["or", "and", "not"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(word))
}

/// The word that ends right before `pos` (after skipping spaces), if it
/// stands on its own, with its start.
fn word_before(src: &str, pos: usize) -> Option<(usize, &str)> {
    let head = src[..pos].trim_end_matches(is_space);
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric())
        .last()
        .map(|(i, _)| i)?;
    Some((start, &head[start..]))
}

/// Message, label and hint for a syntax error at `pos`, judged from the text
/// around it; Kibana's own message there would be "Expected ... but X found".
fn explain(src: &str, pos: usize, found: &str, shown: &str) -> (String, String, Option<String>) {
    let before = &src[..pos];
    let prev = before.chars().next_back();
    // A bad escape in an unquoted value.
    if found == "\\u" && !in_quotes(src, pos) {
        return (
            "`\\u` must be followed by four hexadecimal digits".into(),
            "invalid escape".into(),
            Some("write a character as `\\u00e9`, or a backslash as `\\\\`".into()),
        );
    }
    if found.starts_with('\\') && !in_quotes(src, pos) {
        return (
            format!("`{found}` is not an escape KQL knows"),
            "invalid escape".into(),
            Some(
                "outside quotes, escape only `\\ ( ) : < > \" * { }` and the keywords \
                 `or`, `and`, `not` (plus `\\t`, `\\r`, `\\n`, `\\uXXXX`); to match a \
                 backslash write `\\\\`, or put the value in double quotes"
                    .into(),
            ),
        );
    }
    // `a or(b)`, `not(x)`, `"x" or"y"`, `(a)and b`.
    if let Some((start, word)) = word_before(src, pos) {
        let glued_after = start + word.len() == pos;
        let stands_alone =
            start == 0 || src[..start].ends_with(is_space) || src[..start].ends_with([')', '"']);
        if is_keyword(word) && glued_after && stands_alone && !found.is_empty() {
            return (
                format!("`{word}` must be followed by a space"),
                format!("unexpected {shown}"),
                Some(format!(
                    "KQL keywords need a space on both sides: write `{word} {found}`; if \
                     `{word}` belongs to the value, quote the value"
                )),
            );
        }
    }
    // `"x" or"y"`: the grammar stops at the keyword whose right side is bare.
    if is_keyword(found) && src[pos + found.len()..].starts_with(['(', '"', '{']) {
        let next = &src[pos + found.len()..pos + found.len() + 1];
        return (
            format!("`{found}` must be followed by a space"),
            format!("unexpected {shown}"),
            Some(format!(
                "KQL keywords need a space on both sides: write `{found} {next}`"
            )),
        );
    }
    // `cannot stop`: a `not` followed by a space ends an unquoted value even
    // inside a word.
    if found.eq_ignore_ascii_case("not") && prev.is_some_and(|c| !is_space(c) && c != '(') {
        return (
            "an unquoted value cannot contain `not` followed by a space".into(),
            "Kibana reads a `not` keyword here".into(),
            Some(
                "quote values that contain spaces and keywords (`\"cannot stop\"`), \
                 or escape the keyword as `\\NOT`"
                    .into(),
            ),
        );
    }
    if let Some(kw) = leading_keyword(&src[pos..]) {
        if prev.is_some_and(|c| [')', '"'].contains(&c)) {
            return (
                format!("`{kw}` must be preceded by a space"),
                format!("unexpected {shown}"),
                Some("KQL keywords need a space on both sides".into()),
            );
        }
    }
    // `field > (1 or 2)`
    if found == "(" && before.trim_end_matches(is_space).ends_with(['<', '>', '=']) {
        return (
            "a range takes a single value, not a list".into(),
            "list not allowed here".into(),
            Some("compare with one value, and combine ranges with `or`: `f > 1 or f < -1`".into()),
        );
    }
    // `field: not x`, `f:(a or not b)` is fine but a value cannot start
    // with the keyword.
    if found.eq_ignore_ascii_case("not") && before.trim_end_matches(is_space).ends_with(':') {
        return (
            "a value cannot start with `not`".into(),
            format!("unexpected {shown}"),
            Some(
                "to negate, write `not field:value` or `field:(not value)`; to match the \
                 words, quote them: `field:\"not ...\"`"
                    .into(),
            ),
        );
    }
    if found.eq_ignore_ascii_case("not") && before.trim_end_matches(is_space).len() < before.len() {
        if let Some((_, w)) = word_before(src, pos) {
            if w.eq_ignore_ascii_case("not") {
                return (
                    "`not` cannot directly follow `not`".into(),
                    format!("unexpected {shown}"),
                    Some("put the inner part in parentheses: `not (not x)`".into()),
                );
            }
        }
    }
    if found.is_empty() {
        let help = match word_before(src, pos) {
            Some((_, w)) if is_keyword(w) => Some(format!(
                "`{w}` needs something after it; to match the word itself, quote the \
                 value that contains it"
            )),
            _ if before.trim_end().ends_with(['<', '>', '=']) => {
                Some("give the value to compare with: `field >= 10`".into())
            }
            _ if before.trim_end().ends_with(':') => {
                Some("give a value after `:`, or `*` to test that the field exists".into())
            }
            _ => None,
        };
        return (
            "unexpected end of query".into(),
            "the query ends here".into(),
            help,
        );
    }
    // `"quick brown" fox`
    if before.ends_with(is_space)
        && before.trim_end_matches(is_space).ends_with('"')
        && !in_quotes(src, pos)
    {
        return (
            format!("unexpected {shown} after a quoted value"),
            format!("unexpected {shown}"),
            Some(
                "a quoted value ends at its closing quote: put all the words inside the \
                 quotes, or combine values with `and` / `or`"
                    .into(),
            ),
        );
    }
    if before.contains("&&") || before.contains("||") {
        return (
            format!("unexpected {shown}"),
            format!("unexpected {shown}"),
            Some("KQL combines conditions with `and` and `or`, not `&&` and `||`".into()),
        );
    }
    let help = match found {
        ":" | "<" | ">" | "<=" | ">=" => Some(
            "quote values that contain special characters (`: ( ) < > { } \" *` or \\), \
             or escape each with a backslash"
                .into(),
        ),
        "(" | "{" => Some(
            "quote values that contain spaces and keywords or brackets, or escape the \
             bracket with a backslash; keywords need a space on both sides"
                .into(),
        ),
        "}" if before.trim_end_matches(is_space).ends_with('{') => {
            Some("a nested query needs a query inside the braces: `path:{ field:value }`".into())
        }
        "'" => Some("quote values with double quotes, not single quotes".into()),
        _ => None,
    };
    (
        format!("unexpected {shown}"),
        format!("unexpected {shown}"),
        help,
    )
}

/// A keyword followed by a space at the start of `rest`.
fn leading_keyword(rest: &str) -> Option<&str> {
    ["or", "and", "not"].into_iter().find_map(|k| {
        let head = rest.get(..k.len())?;
        (head.eq_ignore_ascii_case(k) && rest[k.len()..].starts_with(is_space)).then_some(head)
    })
}

/// Whether `pos` lies inside a quoted value (using the scan's lexing rules).
fn in_quotes(src: &str, pos: usize) -> bool {
    let bytes = src.as_bytes();
    let (mut i, mut inside) = (0, false);
    while i < pos.min(bytes.len()) {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => inside = !inside,
            _ => {}
        }
        i += 1;
    }
    inside
}

/// Kibana's `Space`: the characters keywords must be surrounded by.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{a0}')
}

/// JavaScript's `String.prototype.trim` whitespace, which Kibana applies to
/// unquoted values: not the same set as Rust's `char::is_whitespace` (it has
/// U+FEFF, and lacks U+0085).
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

// ------------------------------------------------------------------ builder

struct Builder<'s> {
    src: &'s str,
    /// Current nesting of groups, value lists, nested queries and `not`s,
    /// bounded by [`MAX_DEPTH`].
    depth: usize,
}

/// A decoded character of an unquoted literal: text, or an unescaped `*`.
#[derive(Clone, Copy, PartialEq)]
enum Piece {
    Char(char),
    Wild,
}

impl<'s> Builder<'s> {
    fn enter(&mut self, at: Span) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(too_deep(at));
        }
        Ok(())
    }

    fn or_query(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let mut operands = pair
            .into_inner()
            .map(|p| self.and_query(p))
            .collect::<Result<Vec<_>>>()?;
        Ok(if operands.len() == 1 {
            operands.pop().expect("one operand")
        } else {
            let span = operands[0].span().join(operands[operands.len() - 1].span());
            Expr::Or { operands, span }
        })
    }

    fn and_query(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let mut operands = pair
            .into_inner()
            .map(|p| self.not_query(p))
            .collect::<Result<Vec<_>>>()?;
        Ok(if operands.len() == 1 {
            operands.pop().expect("one operand")
        } else {
            let span = operands[0].span().join(operands[operands.len() - 1].span());
            Expr::And { operands, span }
        })
    }

    fn not_query(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let mut inner = pair.into_inner();
        let first = inner.next().expect("not_query has a sub-query");
        if first.as_rule() != Rule::not_kw {
            return self.sub_query(first);
        }
        let start = first.as_span().start();
        self.enter(Span::new(start, start + 3))?;
        let operand = self.sub_query(inner.next().expect("`not` has an operand"))?;
        self.depth -= 1;
        let span = Span::new(start, operand.span().end);
        Ok(Expr::Not {
            operand: Box::new(operand),
            span,
        })
    }

    fn sub_query(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let whole = Span::from(pair.as_span());
        match pair.as_rule() {
            Rule::group => {
                self.enter(Span::new(whole.start, whole.start + 1))?;
                let inner = pair.into_inner().next().expect("a group holds a query");
                let mut expr = self.or_query(inner)?;
                self.depth -= 1;
                // The parentheses belong to the grouped expression's span.
                *expr.span_mut() = whole;
                Ok(expr)
            }
            Rule::nested => {
                self.enter(whole)?;
                let mut inner = pair.into_inner();
                let path = self.field(inner.next().expect("nested path"))?;
                let query = self.or_query(inner.next().expect("nested query"))?;
                self.depth -= 1;
                Ok(Expr::Nested {
                    path,
                    query: Box::new(query),
                    span: whole,
                })
            }
            Rule::range => {
                let mut inner = pair.into_inner();
                let field = self.field(inner.next().expect("range field"))?;
                let op = match inner.next().expect("range operator").as_str() {
                    "<" => RangeOp::Lt,
                    "<=" => RangeOp::Lte,
                    ">" => RangeOp::Gt,
                    _ => RangeOp::Gte,
                };
                let value = self.value(inner.next().expect("range value"))?;
                let span = field.span().join(value.span());
                Ok(Expr::Range {
                    field,
                    op,
                    value,
                    span,
                })
            }
            Rule::field_match => {
                let mut inner = pair.into_inner();
                let field = self.field(inner.next().expect("match field"))?;
                let value = self.value_list(inner.next().expect("match value"))?;
                let span = field.span().join(value.span());
                Ok(Expr::Match { field, value, span })
            }
            Rule::free_text => {
                let value = self.value(pair.into_inner().next().expect("free text value"))?;
                let span = value.span();
                Ok(Expr::FreeText { value, span })
            }
            r => unreachable!("not a sub-query: {r:?}"),
        }
    }

    /// A `value_group` or a single literal after `field:`.
    fn value_list(&mut self, pair: Pair<Rule>) -> Result<ValueExpr> {
        if pair.as_rule() != Rule::value_group {
            return Ok(ValueExpr::Value(self.value(pair)?));
        }
        let whole = Span::from(pair.as_span());
        self.enter(Span::new(whole.start, whole.start + 1))?;
        let inner = pair
            .into_inner()
            .next()
            .expect("a value group holds values");
        let mut list = self.or_values(inner)?;
        self.depth -= 1;
        *list.span_mut() = whole;
        Ok(list)
    }

    fn or_values(&mut self, pair: Pair<Rule>) -> Result<ValueExpr> {
        let mut operands = pair
            .into_inner()
            .map(|p| self.and_values(p))
            .collect::<Result<Vec<_>>>()?;
        Ok(if operands.len() == 1 {
            operands.pop().expect("one operand")
        } else {
            let span = operands[0].span().join(operands[operands.len() - 1].span());
            ValueExpr::Or { operands, span }
        })
    }

    fn and_values(&mut self, pair: Pair<Rule>) -> Result<ValueExpr> {
        let mut operands = pair
            .into_inner()
            .map(|p| self.not_values(p))
            .collect::<Result<Vec<_>>>()?;
        Ok(if operands.len() == 1 {
            operands.pop().expect("one operand")
        } else {
            let span = operands[0].span().join(operands[operands.len() - 1].span());
            ValueExpr::And { operands, span }
        })
    }

    fn not_values(&mut self, pair: Pair<Rule>) -> Result<ValueExpr> {
        let mut inner = pair.into_inner();
        let first = inner.next().expect("not_values has a value");
        if first.as_rule() != Rule::not_kw {
            return self.value_list(first);
        }
        let start = first.as_span().start();
        self.enter(Span::new(start, start + 3))?;
        let operand = self.value_list(inner.next().expect("`not` has an operand"))?;
        self.depth -= 1;
        let span = Span::new(start, operand.span().end);
        Ok(ValueExpr::Not {
            operand: Box::new(operand),
            span,
        })
    }

    /// A field name: a literal without typing (`true:x` names a field `true`).
    fn field(&mut self, pair: Pair<Rule>) -> Result<Field> {
        let lit = pair.into_inner().next().expect("a field is a literal");
        let span = Span::from(lit.as_span());
        if lit.as_rule() == Rule::quoted {
            return Ok(Field::Name {
                name: decode_quoted(lit.as_str(), span.start)?,
                quoted: true,
                span,
            });
        }
        let (pieces, span) = self.unquoted(&lit)?;
        Ok(if pieces.contains(&Piece::Wild) {
            Field::Pattern {
                parts: to_parts(&pieces),
                span,
            }
        } else {
            Field::Name {
                name: text_of(&pieces),
                quoted: false,
                span,
            }
        })
    }

    /// A value: quoted, or unquoted (typed, wildcard or plain).
    fn value(&mut self, lit: Pair<Rule>) -> Result<Value> {
        let span = Span::from(lit.as_span());
        if lit.as_rule() == Rule::quoted {
            return Ok(Value::Quoted {
                value: decode_quoted(lit.as_str(), span.start)?,
                span,
            });
        }
        let (pieces, span) = self.unquoted(&lit)?;
        if pieces.contains(&Piece::Wild) {
            return Ok(Value::Wildcard {
                parts: to_parts(&pieces),
                span,
            });
        }
        // Kibana types the decoded, trimmed text, so `n\u0075ll` is null too.
        let value = text_of(&pieces);
        Ok(match value.as_str() {
            "true" => Value::Bool { value: true, span },
            "false" => Value::Bool { value: false, span },
            "null" => Value::Null { span },
            _ => Value::Unquoted { value, span },
        })
    }

    /// Decodes and trims an unquoted literal; the span is trimmed of the raw
    /// whitespace the grammar lets the literal swallow (`a : b`).
    fn unquoted(&self, lit: &Pair<Rule>) -> Result<(Vec<Piece>, Span)> {
        let raw = lit.as_str();
        let start = lit.as_span().start();
        let mut pieces = decode_unquoted(raw, start)?;
        let lead = pieces
            .iter()
            .take_while(|p| matches!(p, Piece::Char(c) if is_js_space(*c)))
            .count();
        pieces.drain(..lead);
        while matches!(pieces.last(), Some(Piece::Char(c)) if is_js_space(*c)) {
            pieces.pop();
        }
        let trimmed = raw.trim_matches(is_js_space);
        let span = if trimmed.is_empty() {
            Span::from(lit.as_span())
        } else {
            let offset = raw.len() - raw.trim_start_matches(is_js_space).len();
            Span::new(start + offset, start + offset + trimmed.len())
        };
        debug_assert!(self.src.get(span.start..span.end).is_some());
        Ok((pieces, span))
    }
}

fn text_of(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Char(c) => *c,
            Piece::Wild => '*',
        })
        .collect()
}

fn to_parts(pieces: &[Piece]) -> Vec<Part> {
    let mut parts = Vec::new();
    for p in pieces {
        match (p, parts.last_mut()) {
            (Piece::Wild, _) => parts.push(Part::Wildcard),
            (Piece::Char(c), Some(Part::Text { value })) => value.push(*c),
            (Piece::Char(c), _) => parts.push(Part::Text {
                value: c.to_string(),
            }),
        }
    }
    parts
}

/// Decodes `\uXXXX` at the start of `rest` (just after the backslash), with
/// a following `\uXXXX` low surrogate when the first is a high one (as
/// JavaScript strings pair them). Returns the character and bytes consumed.
fn decode_unicode(rest: &str, at: usize) -> Option<Result<(char, usize)>> {
    let hex = |s: &str| -> Option<u32> {
        let digits = s.get(1..5)?;
        if s.starts_with('u') && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(digits, 16).ok()
        } else {
            None
        }
    };
    let unit = hex(rest)?;
    if (0xd800..0xdc00).contains(&unit) {
        if let Some(low) = rest[5..].strip_prefix('\\').and_then(hex) {
            if (0xdc00..0xe000).contains(&low) {
                let c = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                return Some(Ok((char::from_u32(c).expect("a valid pair"), 11)));
            }
        }
    }
    Some(match char::from_u32(unit) {
        Some(c) => Ok((c, 5)),
        None => Err(Diagnostic::error(
            "kql::escape",
            "this escape is half of a UTF-16 surrogate pair",
            Span::new(at - 1, at + 5),
        )
        .with_label("lone surrogate")
        .with_help(
            "follow a high surrogate `\\uD800`-`\\uDBFF` with a low one \
             `\\uDC00`-`\\uDFFF`, or write the character itself",
        )),
    })
}

/// The text of a quoted literal (with its quotes). Only `\t \r \n \uXXXX \\
/// \"` are escapes; any other backslash is an ordinary character, which is
/// why `"C:\Windows"` keeps its backslash but `"C:\temp"` holds a TAB.
fn decode_quoted(raw: &str, start: usize) -> Result<String> {
    let body = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    while let Some(c) = body[i..].chars().next() {
        if c == '\\' {
            let rest = &body[i + 1..];
            let simple = match rest.chars().next() {
                Some('t') => Some('\t'),
                Some('r') => Some('\r'),
                Some('n') => Some('\n'),
                Some(c @ ('\\' | '"')) => Some(c),
                _ => None,
            };
            if let Some(s) = simple {
                out.push(s);
                i += 2;
                continue;
            }
            if let Some(u) = decode_unicode(rest, start + 1 + i + 1) {
                let (ch, len) = u?;
                out.push(ch);
                i += 1 + len;
                continue;
            }
        }
        out.push(c);
        i += c.len_utf8();
    }
    Ok(out)
}

/// The pieces of an unquoted literal, untrimmed. The escapes are tried in
/// Kibana's order, which matters: `\n` is a newline before it is an escaped
/// keyword, so `\not` reads as newline + `ot` while `\NOT` is the word.
fn decode_unquoted(raw: &str, start: usize) -> Result<Vec<Piece>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(c) = raw[i..].chars().next() {
        match c {
            '*' => {
                out.push(Piece::Wild);
                i += 1;
            }
            '\\' => {
                let rest = &raw[i + 1..];
                let next = rest.chars().next();
                let simple = match next {
                    Some('t') => Some('\t'),
                    Some('r') => Some('\r'),
                    Some('n') => Some('\n'),
                    Some(c @ ('\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*' | '{' | '}')) => {
                        Some(c)
                    }
                    _ => None,
                };
                if let Some(s) = simple {
                    out.push(Piece::Char(s));
                    i += 2;
                    continue;
                }
                if let Some(u) = decode_unicode(rest, start + i + 1) {
                    let (ch, len) = u?;
                    out.push(Piece::Char(ch));
                    i += 1 + len;
                    continue;
                }
                let keyword = ["and", "not", "or"].into_iter().find_map(|k| {
                    rest.get(..k.len())
                        .filter(|head| head.eq_ignore_ascii_case(k))
                });
                match keyword {
                    Some(k) => {
                        out.extend(k.chars().map(Piece::Char));
                        i += 1 + k.len();
                    }
                    // The grammar only lets valid escapes through; this is
                    // a guard, not a path real input takes.
                    None => {
                        let len = 1 + next.map_or(0, char::len_utf8);
                        return Err(Diagnostic::error(
                            "kql::syntax",
                            "invalid escape",
                            Span::new(start + i, start + i + len),
                        ));
                    }
                }
            }
            c => {
                out.push(Piece::Char(c));
                i += c.len_utf8();
            }
        }
    }
    Ok(out)
}
