//! Lucene regular expressions (EQL `regex`, `regex~`) translated into the
//! `regex` crate's syntax, matched against the whole value.
//!
//! Lucene's dialect differs from Perl's: a backslash makes the next character
//! literal (`\s` is the letter `s`, not whitespace), `"..."` quotes a literal
//! string, `.` also matches a line break, there are no anchors, and, with the
//! optional operators Elasticsearch enables, `@` is any string, `#` matches
//! nothing and `<n-m>` is a numeric interval. Intersection `&` and complement
//! `~` have no equivalent here and are reported as unsupported.

use regex::{Regex, RegexBuilder};

/// A whole-value matcher compiled from a Lucene regular expression.
#[derive(Debug, Clone)]
pub struct LuceneRegex {
    pattern: String,
    regex: Regex,
}

impl PartialEq for LuceneRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern && self.regex.as_str() == other.regex.as_str()
    }
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexError {
    /// What is wrong, in plain words.
    pub message: String,
}

impl std::fmt::Display for RegexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl LuceneRegex {
    /// Compiles `pattern`; `case_insensitive` for `regex~`.
    pub fn new(pattern: &str, case_insensitive: bool) -> Result<LuceneRegex, RegexError> {
        let body = translate(pattern)?;
        let regex = RegexBuilder::new(&format!("^(?s:{body})$"))
            .case_insensitive(case_insensitive)
            .size_limit(1 << 24)
            .build()
            .map_err(|e| RegexError {
                message: format!("invalid regular expression: {e}"),
            })?;
        Ok(LuceneRegex {
            pattern: pattern.to_string(),
            regex,
        })
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

fn err(message: impl Into<String>) -> RegexError {
    RegexError {
        message: message.into(),
    }
}

/// Translates Lucene syntax into `regex` syntax, character by character.
fn translate(pattern: &str) -> Result<String, RegexError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut i = 0;
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = chars
                    .get(i + 1)
                    .ok_or_else(|| err("the pattern ends with a lone backslash"))?;
                push_literal(&mut out, *next);
                i += 2;
                continue;
            }
            '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '"')
                    .ok_or_else(|| err("a quoted part of the pattern is not closed with \""))?;
                out.push_str("(?:");
                for &lc in &chars[i + 1..i + 1 + end] {
                    push_literal(&mut out, lc);
                }
                out.push(')');
                i += end + 2;
                continue;
            }
            '[' => {
                i = class(&chars, i, &mut out)?;
                continue;
            }
            '(' => {
                depth += 1;
                out.push_str("(?:");
            }
            ')' => {
                if depth == 0 {
                    return Err(err("unbalanced `)` in the pattern"));
                }
                depth -= 1;
                out.push(')');
            }
            '.' => out.push('.'),
            '|' | '*' | '+' | '?' => out.push(c),
            '{' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or_else(|| err("a repetition `{` is not closed with `}`"))?;
                let inner: String = chars[i + 1..i + end].iter().collect();
                let valid = !inner.is_empty()
                    && inner.split(',').count() <= 2
                    && inner.split(',').next().is_some_and(|n| !n.is_empty())
                    && inner.chars().all(|c| c.is_ascii_digit() || c == ',');
                if !valid {
                    return Err(err(format!("invalid repetition {{{inner}}}")));
                }
                out.push('{');
                out.push_str(&inner);
                out.push('}');
                i += end + 1;
                continue;
            }
            '@' => out.push_str(".*"),
            '#' => out.push_str("[^\\s\\S]"),
            '<' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '>')
                    .ok_or_else(|| err("a numeric interval `<` is not closed with `>`"))?;
                let inner: String = chars[i + 1..i + end].iter().collect();
                out.push_str(&interval(&inner)?);
                i += end + 1;
                continue;
            }
            '&' | '~' => {
                return Err(err(format!(
                    "the Lucene operator `{c}` ({}) is not supported by ruleq; \
                        escape it as `\\{c}` to match it literally",
                    if c == '&' {
                        "intersection"
                    } else {
                        "complement"
                    }
                )))
            }
            c => push_literal(&mut out, c),
        }
        i += 1;
    }
    if depth > 0 {
        return Err(err("unbalanced `(` in the pattern"));
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

/// Translates `[...]` starting at `start`; returns the index after `]`.
fn class(chars: &[char], start: usize, out: &mut String) -> Result<usize, RegexError> {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut items = 0;
    loop {
        let c = *chars
            .get(i)
            .ok_or_else(|| err("a character class `[` is not closed with `]`"))?;
        if c == ']' && items > 0 {
            out.push(']');
            return Ok(i + 1);
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let (hi, next) = class_char(chars, i + 1)?;
            if hi < lo {
                return Err(err(format!("invalid range {lo}-{hi} in a character class")));
            }
            push_class_literal(out, lo);
            out.push('-');
            push_class_literal(out, hi);
            i = next;
        } else {
            push_class_literal(out, lo);
        }
        items += 1;
    }
}

fn class_char(chars: &[char], i: usize) -> Result<(char, usize), RegexError> {
    match chars[i] {
        '\\' => chars
            .get(i + 1)
            .map(|&c| (c, i + 2))
            .ok_or_else(|| err("the pattern ends with a lone backslash")),
        c => Ok((c, i + 1)),
    }
}

fn push_class_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        out.push(c);
    } else {
        // Inside a class, escape every ASCII symbol: the regex crate gives
        // meaning to `[`, `-`, `&&`, `~~` and others there.
        out.push('\\');
        out.push(c);
    }
}

/// `<n-m>`: decimal integers from n to m, as an alternation.
fn interval(inner: &str) -> Result<String, RegexError> {
    let bad = || err(format!("invalid numeric interval <{inner}>"));
    let (a, b) = inner.split_once('-').ok_or_else(bad)?;
    let (lo, hi): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if hi - lo > 100_000 {
        return Err(err(format!(
            "the numeric interval <{inner}> is too wide for ruleq (at most 100000 values)"
        )));
    }
    let width = a.len().max(b.len());
    let padded = a.len() == b.len() && (a.starts_with('0') || b.starts_with('0'));
    let alts: Vec<String> = (lo..=hi)
        .map(|n| {
            if padded {
                format!("{n:0width$}")
            } else {
                n.to_string()
            }
        })
        .collect();
    // Lucene also accepts leading zeros on unpadded intervals.
    let zeros = if padded { "" } else { "0*" };
    Ok(format!("(?:{zeros}(?:{}))", alts.join("|")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        LuceneRegex::new(p, false).unwrap().matches(t)
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("a.c", "a\nc", true),
            ("[24][0-9]{3}", "2019", true),
            ("[24][0-9]{3}", "3019", false),
            (".*[ ]{20,}.*", &format!("a{}b", " ".repeat(20)), true),
            (".*[ ]{20,}.*", "a b", false),
            ("(azure|sharp|blood)(hound)/.*", "bloodhound/x", true),
            ("-[^-]*[uz][^-]*", "-xuy", true),
            ("\\s", "s", true),
            ("\\s", " ", false),
            ("\"a.b\"", "a.b", true),
            ("\"a.b\"", "axb", false),
            ("a@", "anything", true),
            ("#", "", false),
            ("<1-12>", "7", true),
            ("<1-12>", "13", false),
            ("<01-12>", "07", true),
            ("x^y$", "x^y$", true),
            ("[a\\]]+", "a]a", true),
            (
                "arn:aws:s3:::[^/]+/.*?(how|decrypt).*",
                "arn:aws:s3:::b/xx-decrypt-me",
                true,
            ),
            ("()", "", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(m(p, t), *want, "{p:?} vs {t:?}");
        }
    }

    #[test]
    fn case_insensitive() {
        let r = LuceneRegex::new(".*(AWSLogs|CloudTrail).*", true).unwrap();
        assert!(r.matches("s3://x/awslogs/y"));
        assert!(!LuceneRegex::new("abc", false).unwrap().matches("ABC"));
    }

    #[test]
    fn unsupported_and_invalid() {
        for bad in [
            "a&b", "~a", "(a", "a)", "[a", "a{", "a{x}", "\"a", "a\\", "<1-x>",
        ] {
            assert!(LuceneRegex::new(bad, false).is_err(), "{bad:?} should fail");
        }
    }
}
