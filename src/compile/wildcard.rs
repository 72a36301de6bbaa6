//! Wildcard patterns as Elasticsearch matches them: `*` is any run of
//! characters, `?` exactly one character.
//!
//! EQL (`:`, `like`, `like~`) has no escape character: Elasticsearch turns the
//! pattern into a LIKE pattern whose escape is a control character no query
//! can contain, so `"C:\\Windows\\*"` keeps both backslashes literal and the
//! star a wildcard. KQL resolves its escapes at parse time and hands over the
//! pieces, so the front ends build a [`Wildcard`] from [`Piece`]s.
//! Case-insensitive matching folds ASCII letters only, as Lucene's
//! `case_insensitive` wildcard queries do.

/// One element of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Characters that must appear as they are.
    Literal(String),
    /// `*`: any run of characters, including none.
    Any,
    /// `?`: exactly one character.
    One,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    kind: Kind,
    case_insensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    /// Everything (`*`, `**`).
    All,
    /// The general case, as a list of tokens.
    General(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(String),
    Any,
    One,
}

impl Wildcard {
    /// Compiles an EQL pattern: every `*` and `?` is a wildcard, nothing escapes.
    pub fn eql(pattern: &str, case_insensitive: bool) -> Wildcard {
        Wildcard::from_pieces(&split(pattern, false), case_insensitive)
    }

    /// Compiles a Lucene `wildcard` query value (as in Kibana filters):
    /// `*` and `?` are wildcards and `\` makes the next character literal.
    pub fn lucene(pattern: &str, case_insensitive: bool) -> Wildcard {
        Wildcard::from_pieces(&split(pattern, true), case_insensitive)
    }

    /// Compiles a pattern from its pieces.
    pub fn from_pieces(pieces: &[Piece], case_insensitive: bool) -> Wildcard {
        let fold = |s: &str| {
            if case_insensitive {
                s.to_ascii_lowercase()
            } else {
                s.to_string()
            }
        };
        // Merge adjacent literals and runs of stars.
        let mut tokens: Vec<Token> = Vec::new();
        for p in pieces {
            match p {
                Piece::Literal(s) if s.is_empty() => {}
                Piece::Literal(s) => match tokens.last_mut() {
                    Some(Token::Lit(prev)) => prev.push_str(&fold(s)),
                    _ => tokens.push(Token::Lit(fold(s))),
                },
                Piece::Any => {
                    if tokens.last() != Some(&Token::Any) {
                        tokens.push(Token::Any);
                    }
                }
                Piece::One => tokens.push(Token::One),
            }
        }
        let kind = match tokens.as_slice() {
            [] => Kind::Exact(String::new()),
            [Token::Any] => Kind::All,
            [Token::Lit(s)] => Kind::Exact(s.clone()),
            [Token::Lit(s), Token::Any] => Kind::Prefix(s.clone()),
            [Token::Any, Token::Lit(s)] => Kind::Suffix(s.clone()),
            [Token::Any, Token::Lit(s), Token::Any] => Kind::Contains(s.clone()),
            _ => Kind::General(tokens),
        };
        Wildcard {
            kind,
            case_insensitive,
        }
    }

    /// Whether the pattern has no wildcard at all (an exact comparison).
    pub fn is_exact(&self) -> bool {
        matches!(self.kind, Kind::Exact(_))
    }

    /// The text an exact pattern (no wildcard) stands for, folded when the
    /// pattern ignores case.
    pub fn exact_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Exact(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the pattern ignores ASCII case.
    pub fn is_case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// The same pattern matched case-sensitively. For a case-insensitive
    /// pattern, `p.folded().matches(&t.to_ascii_lowercase())` equals
    /// `p.matches(t)`: its literals are stored lower-cased, and lower-casing
    /// ASCII moves no character boundary.
    pub fn folded(&self) -> Wildcard {
        Wildcard {
            kind: self.kind.clone(),
            case_insensitive: false,
        }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let ci = self.case_insensitive;
        let t = text.as_bytes();
        match &self.kind {
            Kind::All => true,
            Kind::Exact(s) => eq(t, s.as_bytes(), ci),
            Kind::Prefix(s) => t.len() >= s.len() && eq(&t[..s.len()], s.as_bytes(), ci),
            Kind::Suffix(s) => t.len() >= s.len() && eq(&t[t.len() - s.len()..], s.as_bytes(), ci),
            Kind::Contains(s) => find(t, s.as_bytes(), ci).is_some(),
            Kind::General(tokens) => general(tokens, text, ci),
        }
    }
}

fn eq(a: &[u8], b: &[u8], ci: bool) -> bool {
    if ci {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// First byte offset of `needle` in `hay` (needle already folded when `ci`).
fn find(hay: &[u8], needle: &[u8], ci: bool) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if hay.len() < needle.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| eq(&hay[i..i + needle.len()], needle, ci))
}

/// Byte length of the character starting at `i`.
fn char_len(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(0, char::len_utf8)
}

/// Glob matching with single-star backtracking: on a mismatch, the last `*`
/// absorbs one more character. Linear in practice, quadratic at worst.
fn general(tokens: &[Token], text: &str, ci: bool) -> bool {
    let t = text.as_bytes();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < tokens.len() {
            match &tokens[pi] {
                Token::Any => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                Token::One if ti < t.len() => {
                    ti += char_len(text, ti);
                    pi += 1;
                    continue;
                }
                Token::Lit(s)
                    if t.len() - ti >= s.len() && eq(&t[ti..ti + s.len()], s.as_bytes(), ci) =>
                {
                    ti += s.len();
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        } else if ti == t.len() {
            return true;
        }
        // Mismatch: let the last star take one more character, or fail.
        match star {
            Some((sp, st)) if st < t.len() => {
                let next = st + char_len(text, st);
                star = Some((sp, next));
                pi = sp + 1;
                ti = next;
            }
            _ => return false,
        }
    }
}

/// A pattern's pieces; with `escapes`, `\` makes the next character
/// literal (a trailing one stands for itself).
fn split(pattern: &str, escapes: bool) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escapes => lit.push(chars.next().unwrap_or('\\')),
            '*' | '?' => {
                if !lit.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut lit)));
                }
                pieces.push(if c == '*' { Piece::Any } else { Piece::One });
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Literal(lit));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Wildcard::eql(pattern, false).matches(text)
    }

    fn mi(pattern: &str, text: &str) -> bool {
        Wildcard::eql(pattern, true).matches(text)
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool, bool)] = &[
            // pattern, text, sensitive, insensitive
            ("telnet", "telnet", true, true),
            ("telnet", "TELNET", false, true),
            ("tel*", "telnet", true, true),
            ("*net", "telnet", true, true),
            ("*ln*", "telnet", true, true),
            ("*", "", true, true),
            ("", "", true, true),
            ("", "x", false, false),
            ("t?lnet", "telnet", true, true),
            ("t?lnet", "tlnet", false, false),
            ("?", "é", true, true),
            ("??", "é", false, false),
            ("a*b*c", "aXXbYYc", true, true),
            ("a*b*c", "aXXbYY", false, false),
            ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaab", true, true),
            ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false),
            ("?:\\Windows\\*.exe", "C:\\Windows\\cmd.exe", true, true),
            ("?:\\windows\\*.EXE", "C:\\Windows\\cmd.exe", false, true),
            // Backslash is literal: it does not escape the star.
            ("C:\\*", "C:\\x", true, true),
            ("C:\\*", "C:*", false, false),
            // ASCII folding only.
            ("é", "É", false, false),
            ("*é*", "xéy", true, true),
        ];
        for (p, t, s, i) in cases {
            assert_eq!(m(p, t), *s, "sensitive {p:?} vs {t:?}");
            assert_eq!(mi(p, t), *i, "insensitive {p:?} vs {t:?}");
        }
    }

    #[test]
    fn pieces_keep_escaped_stars_literal() {
        let w = Wildcard::from_pieces(
            &[
                Piece::Literal("a*".into()),
                Piece::Any,
                Piece::Literal("b".into()),
            ],
            false,
        );
        assert!(w.matches("a*xxb"));
        assert!(!w.matches("axxb"));
        assert!(Wildcard::eql("abc", false).is_exact());
    }
}
