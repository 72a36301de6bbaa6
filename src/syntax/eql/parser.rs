//! EQL text → [`Query`]: the pest grammar (`grammar/eql.pest`) recognises the
//! text, and the builder below turns the parse tree into the typed AST while
//! enforcing what Elasticsearch checks after parsing (function names and
//! arities, `runs` range, step counts, join-key counts, unsupported pipes);
//! the built query then goes through [`verify`](super::verify) for what
//! Elasticsearch's analyzer and planner refuse.

use super::ast::*;
use super::functions;
use crate::diag::Diagnostic;
use crate::syntax::{Span, MAX_DEPTH};
use pest::iterators::Pair;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/eql.pest"]
struct EqlParser;

type Result<T> = std::result::Result<T, Diagnostic>;

/// Parses an EQL statement as Elasticsearch would, returning the AST or the
/// first error, located in `src`.
pub fn parse(src: &str) -> Result<Query> {
    if let Some(diag) = crate::syntax::too_long(src, "eql::too-long") {
        return Err(diag);
    }
    let scan = scan(src);
    if let Some(at) = scan.too_deep {
        return Err(too_deep(at));
    }
    // Block comments reach the grammar as spaces (see `Scan::comments`).
    let blanked;
    let text = if scan.comments.is_empty() {
        src
    } else {
        let mut bytes = src.as_bytes().to_vec();
        for &(start, end) in &scan.comments {
            bytes[start..end].fill(b' ');
        }
        blanked = String::from_utf8(bytes).expect("comments are whole characters");
        &blanked
    };
    let mut pairs = match EqlParser::parse(Rule::query, text) {
        Ok(_) if scan.unclosed_comment => {
            // Blanked to the end, it left valid text; as written, it is not.
            return Err(scan.unbalanced.expect("an unclosed comment is reported"));
        }
        Ok(pairs) => pairs,
        Err(e) => {
            let diag = syntax_error(src, e);
            // A bracket or quote left open explains the error better than the
            // grammar's "expected ..." at the point where it gave up.
            return Err(match scan.unbalanced {
                Some(u) if u.span.start <= diag.span.start => u,
                _ => diag,
            });
        }
    };
    let query = pairs.next().expect("the query rule always yields one pair");
    let statement = query
        .into_inner()
        .next()
        .expect("a query holds one statement");
    let query = Builder {
        depth: 0,
        sig_end: scan.sig_end,
    }
    .statement(statement)?;
    super::verify::verify(&query, src)?;
    Ok(query)
}

// ------------------------------------------------------------------ nesting

/// What a lexical pass over the text finds: the first point where nesting
/// exceeds [`MAX_DEPTH`], and the first bracket or string left open (or
/// closed without an opener). Strings, backticked names and comments are
/// skipped exactly as the grammar reads them.
#[derive(Default)]
struct Scan {
    too_deep: Option<Span>,
    unbalanced: Option<Diagnostic>,
    /// See [`Builder::sig_end`].
    sig_end: Vec<usize>,
    /// The byte ranges of block comments, an unclosed one to the end. The
    /// grammar reads nested comments by backtracking, which takes time
    /// exponential in the nested `/*` of a comment that does not close
    /// (or closes only through a `/*/`); read here in linear time, they
    /// reach the grammar as spaces instead.
    comments: Vec<(usize, usize)>,
    /// A block comment never closes (reported in `unbalanced`).
    unclosed_comment: bool,
}

/// `ends[j]`: where a block comment whose body starts at `j` ends (after its
/// `*/`), or `None` when it does not close; read as the grammar's
/// `"/*" ~ (block_comment | !"*/" ~ ANY)* ~ "*/"` reads it, from the end
/// of the text back so that each position is read once.
fn comment_ends(bytes: &[u8]) -> Vec<Option<usize>> {
    let mut ends = vec![None; bytes.len() + 1];
    for j in (0..bytes.len()).rev() {
        let rest = &bytes[j..];
        ends[j] = if rest.starts_with(b"*/") {
            Some(j + 2)
        } else if rest.starts_with(b"/*") {
            // A nested comment, or else its `/` as text.
            match ends[j + 2] {
                Some(end) => ends[end],
                None => ends[j + 1],
            }
        } else {
            // One character (UTF-8 continuation bytes are neither `*` nor `/`).
            ends[j + 1]
        };
    }
    ends
}

fn scan(src: &str) -> Scan {
    let bytes = src.as_bytes();
    let mut out = Scan::default();
    let mut trivia = vec![false; bytes.len()];
    let mut open: Vec<(u8, usize)> = Vec::new();
    // Read when the first block comment is met.
    let mut ends: Option<Vec<Option<usize>>> = None;
    let unbalanced = |d: Diagnostic, out: &mut Scan| {
        if out.unbalanced.is_none() {
            out.unbalanced = Some(d);
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b @ (b'(' | b'[') => {
                open.push((b, i));
                if open.len() > MAX_DEPTH && out.too_deep.is_none() {
                    out.too_deep = Some(Span::new(i, i + 1));
                }
            }
            b @ (b')' | b']') => {
                let want = if b == b')' { b'(' } else { b'[' };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, at)) => {
                        let d = Diagnostic::error(
                            "eql::syntax",
                            format!("`{}` closes a `{}`", b as char, o as char),
                            Span::new(i, i + 1),
                        )
                        .with_label("mismatched")
                        .with_help(format!(
                            "the `{}` at {} needs a `{}` first",
                            o as char,
                            position(src, at),
                            if o == b'(' { ')' } else { ']' }
                        ));
                        unbalanced(d, &mut out);
                    }
                    None => {
                        let d = Diagnostic::error(
                            "eql::syntax",
                            format!("unexpected `{}`: nothing to close", b as char),
                            Span::new(i, i + 1),
                        )
                        .with_label("no matching opener")
                        .with_help(format!(
                            "remove it, or add the `{}` it closes",
                            want as char
                        ));
                        unbalanced(d, &mut out);
                    }
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                let start = i;
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") && bytes[i] != b'\n' {
                    i += 1;
                }
                if !bytes[i..].starts_with(b"\"\"\"") {
                    unbalanced(unterminated(start, i, "\"\"\""), &mut out);
                }
                i += 2;
                // Up to two more quotes belong to the value, as in the grammar.
                for _ in 0..2 {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 1;
                    }
                }
            }
            quote @ (b'"' | b'\'' | b'`') => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != quote && (quote == b'`' || bytes[i] != b'\n') {
                    if bytes[i] == b'\\' && quote != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] != quote {
                    let q = (quote as char).to_string();
                    unbalanced(unterminated(start, i.min(bytes.len()), &q), &mut out);
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                trivia[start..(i + 1).min(bytes.len())].fill(true);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let start = i;
                let end =
                    ends.get_or_insert_with(|| comment_ends(bytes))[i + 2].unwrap_or_else(|| {
                        out.unclosed_comment = true;
                        let d = Diagnostic::error(
                            "eql::syntax",
                            "unterminated comment: no closing `*/`",
                            Span::new(start, start + 2),
                        )
                        .with_label("this comment is not closed")
                        .with_help(
                            "close the comment with `*/` (comments nest: each `/*` needs one)",
                        );
                        unbalanced(d, &mut out);
                        bytes.len()
                    });
                out.comments.push((start, end));
                trivia[start..end].fill(true);
                i = end - 1;
            }
            b' ' | b'\t' | b'\r' | b'\n' => trivia[i] = true,
            _ => {}
        }
        i += 1;
    }
    out.sig_end = Vec::with_capacity(bytes.len() + 1);
    out.sig_end.push(0);
    for (i, t) in trivia.iter().enumerate() {
        let prev = out.sig_end[i];
        out.sig_end.push(if *t { prev } else { i + 1 });
    }
    if let Some(&(o, at)) = open.last() {
        let close = if o == b'(' { ')' } else { ']' };
        let d = Diagnostic::error(
            "eql::syntax",
            format!("this `{}` is never closed", o as char),
            Span::new(at, at + 1),
        )
        .with_label("opened here")
        .with_help(format!("add the missing `{close}`"));
        unbalanced(d, &mut out);
    }
    out
}

fn position(src: &str, offset: usize) -> String {
    let (line, col) = crate::diag::line_col(src, offset);
    format!("line {line}, column {col}")
}

fn unterminated(start: usize, end: usize, quote: &str) -> Diagnostic {
    let what = if quote == "`" { "name" } else { "string" };
    Diagnostic::error(
        "eql::syntax",
        format!("unterminated {what}: no closing {quote}"),
        Span::new(start, end.max(start + 1)),
    )
    .with_label(format!("this {what} is not closed"))
    .with_help(if quote == "`" {
        "close the name with a backtick".to_string()
    } else {
        format!(
            "close the string with {quote}; strings cannot span lines (write \\n for a line break)"
        )
    })
}

fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::error(
        "eql::too-deep",
        format!("the query nests more than {MAX_DEPTH} levels deep"),
        span,
    )
    .with_label("too deeply nested")
    .with_help("flatten the condition: `a and (b and (c ...))` can be written `a and b and c ...`")
}

// ------------------------------------------------------------- syntax errors

fn syntax_error(src: &str, err: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let mut pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // Point at the end of the text rather than past trailing blank lines.
    if src[pos..].trim().is_empty() {
        pos = src.trim_end().len();
    }
    let found = if src[pos..].trim().is_empty() {
        ""
    } else {
        token_at(src, pos)
    };
    let span = Span::new(pos, pos + found.len().max(usize::from(pos < src.len())));
    let expected = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => describe_expected(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let shown = if found.is_empty() {
        "end of query".to_string()
    } else {
        format!("`{found}`")
    };
    let mut diag = Diagnostic::error(
        "eql::syntax",
        format!("unexpected {shown}, expected {expected}"),
        span,
    )
    .with_label(format!("unexpected {shown}"));
    if let Some(help) = hint_for(src, pos, found) {
        diag = diag.with_help(help);
    }
    diag
}

/// The token starting at `pos`: a word, a quoted string's opening, or one
/// character.
fn token_at(src: &str, pos: usize) -> &str {
    let rest = &src[pos.min(src.len())..];
    let word_len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '@'))
        .map_or(rest.len(), |(i, _)| i);
    if word_len > 0 {
        return &rest[..word_len];
    }
    for op in ["==", "!=", "<=", ">=", "&&", "||", "!["] {
        if rest.starts_with(op) {
            return &rest[..2];
        }
    }
    rest.chars().next().map_or("", |c| &rest[..c.len_utf8()])
}

fn describe_expected(rules: &[Rule]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for rule in rules {
        let name = rule_name(*rule);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.len() {
        0 => "something else".to_string(),
        1 => names[0].to_string(),
        n => format!("{} or {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of query",
        Rule::kw_where => "`where`",
        Rule::kw_and | Rule::kw_or => "`and`/`or`",
        Rule::kw_by => "`by`",
        Rule::kw_with => "`with`",
        Rule::kw_maxspan => "`maxspan`",
        Rule::kw_until => "`until`",
        Rule::kw_of => "`of`",
        Rule::kw_any | Rule::category => "an event category",
        Rule::kw_sequence | Rule::kw_sample | Rule::event_query | Rule::statement => {
            "a query (`CATEGORY where ...`, `sequence` or `sample`)"
        }
        Rule::seq_step | Rule::sample_step | Rule::missing_open => "a step `[...]`",
        Rule::pipe => "a pipe `|`",
        Rule::cmp_op => "a comparison operator",
        Rule::add_op | Rule::mul_op => "an arithmetic operator",
        Rule::predicate | Rule::in_pred | Rule::match_pred | Rule::kw_in | Rule::in_ci => {
            "`in`/`:`/`like`/`regex`"
        }
        Rule::match_op | Rule::kw_like | Rule::like_ci | Rule::kw_regex | Rule::regex_ci => {
            "`:`/`like`/`regex`"
        }
        Rule::constant
        | Rule::string
        | Rule::dq_string
        | Rule::raw_string
        | Rule::sq_string
        | Rule::qmark_string
        | Rule::kw_null
        | Rule::kw_true
        | Rule::kw_false => "a literal",
        Rule::number | Rule::integer | Rule::time_value => "a number",
        Rule::assign => "`=`",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::not_op
        | Rule::kw_not
        | Rule::comparison
        | Rule::sum
        | Rule::product
        | Rule::unary
        | Rule::sign
        | Rule::primary
        | Rule::paren
        | Rule::lineage => "an expression",
        Rule::call | Rule::func_name => "a function call",
        Rule::field | Rule::identifier | Rule::bare_ident | Rule::quoted_ident => "a field name",
        Rule::optional_mark => "`?`",
        Rule::subscript => "`[`",
        _ => "more input",
    }
}

/// A hint for common mistakes, judged from the text at the error.
fn hint_for(src: &str, pos: usize, found: &str) -> Option<String> {
    let keywords = [
        "and", "or", "not", "where", "in", "by", "with", "sequence", "sample", "until", "like",
        "regex", "any", "maxspan", "true", "false", "null",
    ];
    let lower = found.to_ascii_lowercase();
    if found != lower && keywords.contains(&lower.as_str()) {
        return Some(format!(
            "EQL keywords are lowercase: write `{lower}` instead of `{found}`"
        ));
    }
    if keywords.contains(&found) && src[..pos].trim_end().ends_with('.') {
        return Some(format!(
            "`{found}` is a keyword; quote a field name segment that \
                is a keyword with backticks: `{found}`"
        ));
    }
    match found {
        "&&" => Some("use `and` to combine conditions".into()),
        "||" => Some("use `or` to combine conditions".into()),
        "!" => Some("use `not` to negate a condition, or `!=` to compare".into()),
        "'" => Some(
            "use double quotes [\"] to define string \
            literals, not single quotes [']"
                .into(),
        ),
        "[" if !src[..pos].contains("sequence") && !src[..pos].contains("sample") => Some(
            "steps in brackets belong to `sequence` or `sample` queries: \
                `sequence [process where ...] [network where ...]`"
                .into(),
        ),
        _ => None,
    }
}

// ------------------------------------------------------------------ builder

struct Builder {
    /// Current nesting of prefix operators and groups, bounded by [`MAX_DEPTH`].
    depth: usize,
    /// `sig_end[i]`: the end of the last byte before offset `i` that is not
    /// whitespace or comment. Pest folds the whitespace that follows a rule's
    /// last token into the rule when an optional tail is absent; spans are
    /// trimmed with this so they end at the last token.
    sig_end: Vec<usize>,
}

impl Builder {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(s.start(), self.sig_end[s.end()].max(s.start()))
    }
}

fn err(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(code, message, span)
}

impl Builder {
    fn statement(&mut self, pair: Pair<Rule>) -> Result<Query> {
        let query_span = self.span(&pair);
        let mut inner = pair.into_inner();
        let body_pair = inner.next().expect("statement starts with a query");
        let body = match body_pair.as_rule() {
            Rule::event_query => QueryBody::Event {
                filter: self.event_filter(body_pair.into_inner().next().unwrap())?,
            },
            Rule::sequence => QueryBody::Sequence(self.sequence(body_pair)?),
            Rule::sample => QueryBody::Sample(self.sample(body_pair)?),
            Rule::join => {
                let kw = body_pair.into_inner().next().unwrap();
                return Err(err(
                    "eql::unsupported",
                    "`join` is not supported by Elasticsearch EQL",
                    self.span(&kw),
                )
                .with_label("not supported")
                .with_help("use `sequence by KEYS [...] [...]` to correlate events"));
            }
            r => unreachable!("unexpected statement child {r:?}"),
        };
        let pipes = inner.map(|p| self.pipe(p)).collect::<Result<Vec<_>>>()?;
        Ok(Query {
            body,
            pipes,
            span: query_span,
        })
    }

    fn pipe(&mut self, pair: Pair<Rule>) -> Result<Pipe> {
        let pipe_span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name_pair = inner.next().unwrap();
        let name = name_pair.as_str();
        let args: Vec<Pair<Rule>> = inner.collect();
        let make: fn(u64, Span) -> Pipe = match name {
            "head" => |count, span| Pipe::Head { count, span },
            "tail" => |count, span| Pipe::Tail { count, span },
            "unique" | "unique_count" | "count" | "filter" | "sort" | "window" => {
                return Err(err(
                    "eql::unsupported",
                    format!("the `{name}` pipe is not supported by Elasticsearch EQL"),
                    self.span(&name_pair),
                )
                .with_label("not supported")
                .with_help("Elasticsearch EQL supports only `| head N` and `| tail N`"));
            }
            _ => {
                return Err(err(
                    "eql::unknown-pipe",
                    format!("unknown pipe `{name}`"),
                    self.span(&name_pair),
                )
                .with_label("unknown pipe")
                .with_help("Elasticsearch EQL supports only `| head N` and `| tail N`"));
            }
        };
        let count = match args.as_slice() {
            [arg] => {
                let expr = self.expr(arg.clone())?;
                match expr {
                    Expr::Literal(Literal {
                        value: Value::Integer(n),
                        ..
                    }) if n >= 0 => n as u64,
                    other => {
                        return Err(err(
                            "eql::pipe-argument",
                            format!("`{name}` takes a non-negative whole number"),
                            other.span(),
                        )
                        .with_help(format!("write `| {name} 10`")))
                    }
                }
            }
            _ => {
                return Err(err(
                    "eql::pipe-argument",
                    format!("`{name}` takes exactly one argument, found {}", args.len()),
                    pipe_span,
                )
                .with_help(format!("write `| {name} 10`")))
            }
        };
        Ok(make(count, pipe_span))
    }

    fn event_filter(&mut self, pair: Pair<Rule>) -> Result<EventFilter> {
        let filter_span = self.span(&pair);
        let mut inner = pair.into_inner();
        let cat = inner.next().unwrap();
        let category = match cat.as_rule() {
            Rule::kw_any => None,
            Rule::category => {
                let c = cat.into_inner().next().unwrap();
                Some(match c.as_rule() {
                    Rule::dq_string => self.unescape_dq(&c)?,
                    Rule::raw_string => raw_value(c.as_str()),
                    Rule::sq_string => return Err(single_quotes(self.span(&c))),
                    Rule::identifier => {
                        let id = c.clone().into_inner().next().unwrap();
                        if id.as_rule() == Rule::quoted_ident {
                            return Err(err(
                                "eql::syntax",
                                "a back-quoted name cannot be the event category",
                                self.span(&id),
                            )
                            .with_label("expected a category name or a string")
                            .with_help(format!(
                                "Elasticsearch reads the category as a plain name or a string: \
                                 write `{0} where ...` or `\"{0}\" where ...`",
                                self.identifier(c)
                            )));
                        }
                        self.identifier(c)
                    }
                    r => unreachable!("category {r:?}"),
                })
            }
            r => unreachable!("event filter starts with {r:?}"),
        };
        let _where = inner.next();
        let condition = self.expr(inner.next().unwrap())?;
        Ok(EventFilter {
            category,
            condition,
            span: filter_span,
        })
    }

    fn sequence(&mut self, pair: Pair<Rule>) -> Result<Sequence> {
        let kw_span = self.span(&pair.clone().into_inner().next().unwrap());
        let mut by = Vec::new();
        let mut maxspan = None;
        let mut steps = Vec::new();
        let mut until = None;
        for p in pair.into_inner().skip(1) {
            match p.as_rule() {
                Rule::join_keys => by = self.join_keys(p)?,
                Rule::maxspan => maxspan = Some(self.maxspan(p)?),
                Rule::late_join_keys => {
                    return Err(err(
                        "eql::syntax",
                        "`by` must come before `with maxspan`",
                        self.span(&p),
                    )
                    .with_label("move this before `with`")
                    .with_help("write `sequence by KEYS with maxspan=DURATION`"))
                }
                Rule::seq_step => steps.push(self.seq_step(p)?),
                Rule::until_clause => {
                    let step = self.seq_step(p.into_inner().nth(1).unwrap())?;
                    if step.missing {
                        return Err(err(
                            "eql::until",
                            "`until` cannot be a missing-event step",
                            step.span,
                        )
                        .with_help("write `until [CATEGORY where ...]`"));
                    }
                    if step.runs.is_some() {
                        return Err(err(
                            "eql::until",
                            "`until` does not take `with runs`",
                            step.span,
                        ));
                    }
                    until = Some(step);
                }
                r => unreachable!("sequence child {r:?}"),
            }
        }
        let expanded: usize = steps.iter().map(|s| s.runs.unwrap_or(1) as usize).sum();
        if expanded < 2 {
            return Err(err(
                "eql::sequence-steps",
                format!("a sequence requires a minimum of 2 queries, found [{expanded}]"),
                steps.first().map_or(kw_span, |s| s.span),
            )
            .with_help(
                "add a second step, or use an event query `CATEGORY where ...` for a single event",
            ));
        }
        if steps.iter().all(|s| s.missing) {
            return Err(err(
                "eql::sequence-steps",
                "a sequence needs at least one step that is not a missing-event step `![...]`",
                kw_span,
            ));
        }
        let key_counts = steps
            .iter()
            .map(|s| (s.by.len(), s.span))
            .chain(until.iter().map(|s| (s.by.len(), s.span)));
        check_key_counts(key_counts)?;
        Ok(Sequence {
            by,
            maxspan,
            steps,
            until,
        })
    }

    fn sample(&mut self, pair: Pair<Rule>) -> Result<Sample> {
        let kw_span = self.span(&pair.clone().into_inner().next().unwrap());
        let mut by = Vec::new();
        let mut steps = Vec::new();
        for p in pair.into_inner().skip(1) {
            match p.as_rule() {
                Rule::join_keys => by = self.join_keys(p)?,
                Rule::sample_step => {
                    let step_span = self.span(&p);
                    let mut inner = p.into_inner();
                    let filter = self.event_filter(inner.next().unwrap())?;
                    let step_by = match inner.next() {
                        Some(keys) => self.join_keys(keys)?,
                        None => Vec::new(),
                    };
                    steps.push(SampleStep {
                        filter,
                        by: step_by,
                        span: step_span,
                    });
                }
                r => unreachable!("sample child {r:?}"),
            }
        }
        if steps.len() < 2 {
            return Err(err(
                "eql::sample-steps",
                format!(
                    "a sample requires a minimum of 2 queries, found [{}]",
                    steps.len()
                ),
                steps.first().map_or(kw_span, |s| s.span),
            )
            .with_help("add a second filter `[CATEGORY where ...]`"));
        }
        check_key_counts(steps.iter().map(|s| (s.by.len(), s.span)))?;
        Ok(Sample { by, steps })
    }

    fn seq_step(&mut self, pair: Pair<Rule>) -> Result<SequenceStep> {
        let step_span = self.span(&pair);
        let mut missing = false;
        let mut filter = None;
        let mut by = Vec::new();
        let mut runs = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::missing_open => missing = true,
                Rule::event_filter => filter = Some(self.event_filter(p)?),
                Rule::join_keys => by = self.join_keys(p)?,
                Rule::step_param => runs = Some(self.step_runs(p)?),
                r => unreachable!("step child {r:?}"),
            }
        }
        Ok(SequenceStep {
            missing,
            filter: filter.expect("a step holds a filter"),
            by,
            runs,
            span: step_span,
        })
    }

    fn join_keys(&mut self, pair: Pair<Rule>) -> Result<Vec<Expr>> {
        pair.into_inner()
            .skip(1)
            .map(|p| self.expr(p))
            .collect::<Result<Vec<_>>>()
    }

    fn maxspan(&mut self, pair: Pair<Rule>) -> Result<Duration> {
        let mut inner = pair.into_inner().skip(2);
        let assign = inner.next().unwrap();
        if assign.as_str() != "=" {
            return Err(
                err("eql::syntax", "use `=` to set maxspan", self.span(&assign))
                    .with_help("write `with maxspan=5m`"),
            );
        }
        let time = inner.next().unwrap();
        let time_span = self.span(&time);
        let mut parts = time.into_inner();
        let number = parts.next().unwrap();
        let value: u64 = match number.as_str().parse() {
            Ok(v) => v,
            Err(_) => {
                return Err(err(
                    "eql::maxspan",
                    format!(
                        "maxspan must be a whole number, found [{}]",
                        number.as_str()
                    ),
                    self.span(&number),
                )
                .with_help("write the duration in a smaller unit, e.g. `1500ms` for 1.5 seconds"))
            }
        };
        let unit = match parts.next() {
            None => {
                return Err(err(
                    "eql::maxspan",
                    "no time unit specified for maxspan",
                    time_span,
                )
                .with_help(format!(
                    "did you mean [s] as in [{value}s]? Units: ms, s, m, h, d"
                )))
            }
            Some(u) => match u.as_str() {
                "ms" => TimeUnit::Ms,
                "s" => TimeUnit::S,
                "m" => TimeUnit::M,
                "h" => TimeUnit::H,
                "d" => TimeUnit::D,
                other => {
                    return Err(err(
                        "eql::maxspan",
                        format!("unrecognized time unit [{other}]"),
                        self.span(&u),
                    )
                    .with_help("use one of ms, s, m, h, d"))
                }
            },
        };
        if value == 0 {
            return Err(err(
                "eql::maxspan",
                "maxspan must be positive, found [0]",
                time_span,
            ));
        }
        let millis = value
            .checked_mul(unit.millis())
            .ok_or_else(|| err("eql::maxspan", "maxspan is too large", time_span))?;
        Ok(Duration {
            value,
            unit,
            millis,
            span: time_span,
        })
    }

    // ------------------------------------------------------------ expressions

    fn enter(&mut self, at: Span) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(too_deep(at));
        }
        Ok(())
    }

    fn expr(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        match pair.as_rule() {
            Rule::expr => self.expr(pair.into_inner().next().unwrap()),
            Rule::or_expr | Rule::and_expr => self.logical(pair),
            Rule::not_expr => self.not_expr(pair),
            Rule::comparison => self.comparison(pair),
            Rule::sum | Rule::product => self.arithmetic(pair),
            Rule::unary => self.unary(pair),
            r => unreachable!("expression rule {r:?}"),
        }
    }

    fn logical(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let op = if pair.as_rule() == Rule::or_expr {
            LogicalOp::Or
        } else {
            LogicalOp::And
        };
        let whole = self.span(&pair);
        let mut operands = Vec::new();
        for p in pair.into_inner() {
            if !matches!(p.as_rule(), Rule::kw_or | Rule::kw_and) {
                operands.push(self.expr(p)?);
            }
        }
        if operands.len() == 1 {
            return Ok(operands.pop().unwrap());
        }
        Ok(Expr::Logical {
            op,
            operands,
            span: whole,
        })
    }

    fn not_expr(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let mut nots = Vec::new();
        let mut operand = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::not_op => nots.push(self.span(&p)),
                Rule::lineage => return Err(self.lineage(p)),
                Rule::comparison => operand = Some(p),
                r => unreachable!("not_expr child {r:?}"),
            }
        }
        let saved = self.depth;
        for s in &nots {
            self.enter(*s)?;
        }
        let mut expr = self.comparison(operand.unwrap())?;
        self.depth = saved;
        for s in nots.into_iter().rev() {
            let whole = Span::new(s.start, expr.span().end);
            expr = Expr::Not {
                operand: Box::new(expr),
                span: whole,
            };
        }
        Ok(expr)
    }

    fn comparison(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let whole = self.span(&pair);
        let mut inner = pair.into_inner();
        let left = self.expr(inner.next().unwrap())?;
        let Some(op_pair) = inner.next() else {
            return Ok(left);
        };
        let op = match op_pair.as_str() {
            "==" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            ">" => CompareOp::Gt,
            ">=" => CompareOp::Ge,
            "=" => {
                return Err(err(
                    "eql::syntax",
                    "`=` is not a comparison operator",
                    self.span(&op_pair),
                )
                .with_label("use `==`")
                .with_help(
                    "use `==` to compare (case-sensitive) or `:` for a case-insensitive match",
                ))
            }
            other => unreachable!("comparison operator {other}"),
        };
        let right = self.expr(inner.next().unwrap())?;
        Ok(Expr::Compare {
            op,
            left: Box::new(left),
            right: Box::new(right),
            span: whole,
        })
    }

    fn arithmetic(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let mut inner = pair.into_inner();
        let mut left = self.expr(inner.next().unwrap())?;
        while let Some(op_pair) = inner.next() {
            let op = match op_pair.as_str() {
                "+" => ArithOp::Add,
                "-" => ArithOp::Sub,
                "*" => ArithOp::Mul,
                "/" => ArithOp::Div,
                "%" => ArithOp::Mod,
                other => unreachable!("arithmetic operator {other}"),
            };
            let right = self.expr(inner.next().unwrap())?;
            let whole = left.span().join(right.span());
            left = Expr::Arithmetic {
                op,
                left: Box::new(left),
                right: Box::new(right),
                span: whole,
            };
        }
        Ok(left)
    }

    fn unary(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let mut signs = Vec::new();
        let mut primary = None;
        let mut predicate = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::sign => signs.push(p),
                Rule::primary => primary = Some(p),
                Rule::predicate => predicate = Some(p),
                r => unreachable!("unary child {r:?}"),
            }
        }
        let saved = self.depth;
        for s in &signs {
            self.enter(self.span(s))?;
        }
        let mut expr = self.primary(primary.unwrap())?;
        if let Some(pred) = predicate {
            expr = self.predicate(expr, pred)?;
        }
        self.depth = saved;
        for sign in signs.into_iter().rev() {
            if sign.as_str() == "+" {
                continue;
            }
            let whole = Span::new(self.span(&sign).start, expr.span().end);
            expr = match expr {
                Expr::Literal(Literal {
                    value: Value::Integer(n),
                    ..
                }) if n != i64::MIN => Expr::Literal(Literal {
                    value: Value::Integer(-n),
                    span: whole,
                }),
                Expr::Literal(Literal {
                    value: Value::Float(f),
                    ..
                }) => Expr::Literal(Literal {
                    value: Value::Float(-f),
                    span: whole,
                }),
                other => Expr::Negate {
                    operand: Box::new(other),
                    span: whole,
                },
            };
        }
        Ok(expr)
    }

    fn predicate(&mut self, value: Expr, pair: Pair<Rule>) -> Result<Expr> {
        let pred = pair.into_inner().next().unwrap();
        let whole = value.span().join(self.span(&pred));
        match pred.as_rule() {
            Rule::in_pred => {
                let mut negated = false;
                let mut case_insensitive = false;
                let mut list = Vec::new();
                for p in pred.into_inner() {
                    match p.as_rule() {
                        Rule::not_op => negated = true,
                        Rule::in_ci => case_insensitive = true,
                        Rule::kw_in => {}
                        _ => list.push(self.expr(p)?),
                    }
                }
                Ok(Expr::In {
                    value: Box::new(value),
                    list,
                    negated,
                    case_insensitive,
                    span: whole,
                })
            }
            Rule::match_pred => {
                let mut inner = pred.into_inner();
                let op_pair = inner.next().unwrap();
                let (op, case_insensitive) = match op_pair.as_str() {
                    ":" => (MatchOp::Colon, true),
                    "like" => (MatchOp::Like, false),
                    "like~" => (MatchOp::Like, true),
                    "regex" => (MatchOp::Regex, false),
                    "regex~" => (MatchOp::Regex, true),
                    other => unreachable!("match operator {other}"),
                };
                let patterns = inner
                    .map(|p| self.constant(p))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Expr::Match {
                    op,
                    case_insensitive,
                    value: Box::new(value),
                    patterns,
                    span: whole,
                })
            }
            r => unreachable!("predicate {r:?}"),
        }
    }

    fn primary(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let p = pair.into_inner().next().unwrap();
        match p.as_rule() {
            Rule::constant => Ok(Expr::Literal(self.constant(p)?)),
            Rule::field => self.field(p).map(Expr::Field),
            Rule::call => self.call(p),
            Rule::paren => {
                let saved = self.depth;
                self.enter(self.span(&p))?;
                let e = self.expr(p.into_inner().next().unwrap());
                self.depth = saved;
                e
            }
            r => unreachable!("primary {r:?}"),
        }
    }

    fn call(&mut self, pair: Pair<Rule>) -> Result<Expr> {
        let whole = self.span(&pair);
        let mut inner = pair.into_inner();
        let name_pair = inner.next().unwrap();
        let raw = name_pair.as_str();
        let (name, case_insensitive) = match raw.strip_suffix('~') {
            Some(n) => (n, true),
            None => (raw, false),
        };
        let Some(sig) = functions::lookup(name) else {
            let mut d = err(
                "eql::unknown-function",
                format!("unknown function `{name}`"),
                self.span(&name_pair),
            )
            .with_label("not an Elasticsearch EQL function");
            d = match functions::nearest(name) {
                Some(near) => d.with_help(format!("did you mean `{near}`?")),
                None => d.with_help(format!(
                    "Elasticsearch EQL functions: {}",
                    functions::FUNCTIONS
                        .iter()
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            return Err(d);
        };
        if case_insensitive && !sig.insensitive_variant {
            return Err(err(
                "eql::function-case",
                format!("`{}` has no case-insensitive `~` form", sig.name),
                self.span(&name_pair),
            )
            .with_help(format!("remove the `~`: `{}(...)`", sig.name)));
        }
        let saved = self.depth;
        self.enter(whole)?;
        let args = inner.map(|p| self.expr(p)).collect::<Result<Vec<_>>>();
        self.depth = saved;
        let args = args?;
        let n = args.len();
        let too_few = n < sig.min_args;
        let too_many = sig.max_args.is_some_and(|m| n > m);
        if too_few || too_many {
            let expected = match sig.max_args {
                Some(m) if m == sig.min_args => format!("{m}"),
                Some(m) => format!("{} to {m}", sig.min_args),
                None => format!("at least {}", sig.min_args),
            };
            return Err(err(
                "eql::arity",
                format!(
                    "`{}` takes {expected} argument{}, found {n}",
                    sig.name,
                    if expected == "1" { "" } else { "s" }
                ),
                whole,
            )
            .with_help(format!("usage: {}", sig.usage)));
        }
        Ok(Expr::Call {
            function: sig.function,
            case_insensitive,
            args,
            span: whole,
        })
    }
    fn step_runs(&self, pair: Pair<Rule>) -> Result<u32> {
        let mut inner = pair.into_inner().skip(1);
        let key = inner.next().unwrap();
        if key.as_str() != "runs" {
            return Err(err(
                "eql::syntax",
                format!("unknown step parameter `{}`", key.as_str()),
                self.span(&key),
            )
            .with_help("a step accepts only `with runs=N`"));
        }
        let assign = inner.next().unwrap();
        if assign.as_str() != "=" {
            return Err(
                err("eql::syntax", "use `=` to set runs", self.span(&assign))
                    .with_help("write `with runs=3`"),
            );
        }
        let number = inner.next().unwrap();
        match number.as_str().parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(err(
                "eql::runs",
                format!(
                    "runs must be a whole number from 1 to 100, found [{}]",
                    number.as_str()
                ),
                self.span(&number),
            )
            .with_help("write `with runs=3` to repeat the step three times")),
        }
    }

    fn lineage(&self, pair: Pair<Rule>) -> Diagnostic {
        let rel = pair.into_inner().next().unwrap();
        err(
            "eql::unsupported",
            format!(
                "`{} of` is not supported by Elasticsearch EQL",
                rel.as_str()
            ),
            self.span(&rel),
        )
        .with_label("not supported")
        .with_help(
            "lineage needs the Python eql engine; in Elasticsearch, join on \
        process.entity_id / process.parent.entity_id with a sequence",
        )
    }

    fn identifier(&self, pair: Pair<Rule>) -> String {
        let id = pair.into_inner().next().unwrap();
        match id.as_rule() {
            Rule::bare_ident => id.as_str().to_string(),
            Rule::quoted_ident => {
                let s = id.as_str();
                s[1..s.len() - 1].replace("``", "`")
            }
            r => unreachable!("identifier {r:?}"),
        }
    }

    fn field(&self, pair: Pair<Rule>) -> Result<Field> {
        let whole = self.span(&pair);
        let mut optional = false;
        let mut segments = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::optional_mark => optional = true,
                Rule::identifier => segments.push(self.identifier(p)),
                Rule::subscript => {
                    return Err(err(
                        "eql::unsupported",
                        "array indexes are not supported by Elasticsearch EQL",
                        self.span(&p),
                    )
                    .with_help(
                        "a condition on an array field holds when any \
                    element satisfies it; drop the index",
                    ))
                }
                r => unreachable!("field child {r:?}"),
            }
        }
        Ok(Field {
            name: segments.join("."),
            optional,
            span: whole,
        })
    }

    fn constant(&self, pair: Pair<Rule>) -> Result<Literal> {
        let lit_span = self.span(&pair);
        let c = if pair.as_rule() == Rule::constant {
            pair.into_inner().next().unwrap()
        } else {
            pair
        };
        let value = match c.as_rule() {
            Rule::kw_null => Value::Null,
            Rule::kw_true => Value::Boolean(true),
            Rule::kw_false => Value::Boolean(false),
            Rule::number => self.number(&c)?,
            Rule::string => {
                let s = c.into_inner().next().unwrap();
                match s.as_rule() {
                    Rule::dq_string => Value::String(self.unescape_dq(&s)?),
                    Rule::raw_string => Value::String(raw_value(s.as_str())),
                    Rule::sq_string => return Err(single_quotes(self.span(&s))),
                    Rule::qmark_string => {
                        return Err(err(
                            "eql::syntax",
                            "`?\"...\"` raw strings are not supported by Elasticsearch EQL",
                            self.span(&s),
                        )
                        .with_help("use a triple-quoted raw string: \"\"\"C:\\Windows\\\"\"\""))
                    }
                    r => unreachable!("string {r:?}"),
                }
            }
            r => unreachable!("constant {r:?}"),
        };
        Ok(Literal {
            value,
            span: lit_span,
        })
    }

    fn number(&self, pair: &Pair<Rule>) -> Result<Value> {
        let text = pair.as_str();
        if text.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Value::Integer(n));
            }
            // Like Elasticsearch, a whole number too large for 64 bits is
            // read as a double (below), and is an error only past its range.
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(err(
                "eql::number",
                format!("number [{text}] is too large"),
                self.span(pair),
            )
            .with_help("numbers must fit in a double (at most about 1.8e308)")),
        }
    }

    /// Resolves the escapes of a `"..."` string: `\" \\ \' \n \t \r \b \f` and
    /// `\u{XXXX}`.
    fn unescape_dq(&self, pair: &Pair<Rule>) -> Result<String> {
        let text = pair.as_str();
        let base = pair.as_span().start();
        let body = &text[1..text.len() - 1];
        let mut out = String::with_capacity(body.len());
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let (_, e) = chars.next().expect("the grammar pairs every backslash");
            let at = |len: usize| Span::new(base + 1 + i, base + 1 + i + len);
            match e {
                '"' | '\\' | '\'' => out.push(e),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let rest = &body[i + 2..];
                    let close = rest.find('}');
                    let hex = match (rest.starts_with('{'), close) {
                        (true, Some(end)) => &rest[1..end],
                        _ => {
                            return Err(err("eql::escape", "invalid unicode escape", at(2))
                                .with_help(
                                    "write unicode escapes as \\u{XXXX} with 2 to 8 hex digits",
                                ))
                        }
                    };
                    let len = 2 + hex.len() + 2;
                    let ch = (2..=8)
                        .contains(&hex.len())
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32);
                    match ch {
                        Some(ch) => out.push(ch),
                        None => {
                            return Err(err(
                                "eql::escape",
                                format!("invalid unicode escape \\u{{{hex}}}"),
                                at(len),
                            )
                            .with_help(
                                "write unicode escapes as \\u{XXXX} with 2 to 8 hex \
                            digits naming a valid code point",
                            ))
                        }
                    }
                    for _ in 0..hex.len() + 2 {
                        chars.next();
                    }
                }
                other => {
                    return Err(err(
                        "eql::escape",
                        format!("illegal escape sequence \\{other}"),
                        at(1 + other.len_utf8()),
                    )
                    .with_help(
                        "escape a backslash as \\\\, or use a raw string \
                    \"\"\"...\"\"\" where backslashes are literal",
                    ))
                }
            }
        }
        Ok(out)
    }
}

fn check_key_counts(mut counts: impl Iterator<Item = (usize, Span)>) -> Result<()> {
    let Some((first, _)) = counts.next() else {
        return Ok(());
    };
    for (n, s) in counts {
        if n != first {
            return Err(err(
                "eql::join-keys",
                format!(
                    "inconsistent number of join keys specified; \
                    expected [{first}] but found [{n}]"
                ),
                s,
            )
            .with_help(
                "every step must be joined on the same number of keys (`by a, b` on each)",
            ));
        }
    }
    Ok(())
}

fn single_quotes(span: Span) -> Diagnostic {
    err(
        "eql::syntax",
        "use double quotes [\"] to define string literals, not single quotes [']",
        span,
    )
    .with_label("single-quoted")
    .with_help(
        "write \"value\"; for backslash-heavy values a raw \
        string \"\"\"C:\\path\"\"\" avoids escapes",
    )
}

/// The value of a `"""raw"""` string: the text between the outer triple quotes.
fn raw_value(text: &str) -> String {
    text[3..text.len() - 3].to_string()
}
