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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Wildcard {
    kind: Kind,
    case_insensitive: bool,
}

/// What finding a pattern's [`anchor`](Wildcard::anchor) literal at some
/// place in a text says about the pattern matching the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// It matches when the literal is the whole text.
    Whole,
    /// It matches when the literal starts the text.
    Start,
    /// It matches when the literal ends the text.
    End,
    /// It matches wherever the literal is.
    Anywhere,
    /// It may match: the whole pattern must be tried.
    Verify,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

    /// The literal a multi-pattern search looks for to find candidates for
    /// this pattern (its longest), and what a match of it at a place says:
    /// `None` for patterns with no literal, or that every text matches.
    pub fn anchor(&self) -> Option<(&str, Anchor)> {
        match &self.kind {
            Kind::Exact(s) if !s.is_empty() => Some((s, Anchor::Whole)),
            Kind::Prefix(s) if !s.is_empty() => Some((s, Anchor::Start)),
            Kind::Suffix(s) if !s.is_empty() => Some((s, Anchor::End)),
            Kind::Contains(s) if !s.is_empty() => Some((s, Anchor::Anywhere)),
            Kind::General(tokens) => tokens
                .iter()
                .filter_map(|t| match t {
                    Token::Lit(s) => Some(s.as_str()),
                    _ => None,
                })
                .max_by_key(|s| s.len())
                .map(|s| (s, Anchor::Verify)),
            _ => None,
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
/// Candidates are found by the needle's first byte with `memchr` (both of
/// its cases when `ci`), and only they are compared in full.
fn find(hay: &[u8], needle: &[u8], ci: bool) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    let last = hay.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last {
        let window = &hay[from..=last];
        let at = if ci && first.is_ascii_alphabetic() {
            memchr::memchr2(
                first.to_ascii_lowercase(),
                first.to_ascii_uppercase(),
                window,
            )
        } else {
            memchr::memchr(first, window)
        }?;
        let i = from + at;
        if eq(&hay[i + 1..i + needle.len()], rest, ci) {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// Byte length of the character starting at `i`.
fn char_len(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(0, char::len_utf8)
}

/// Glob matching with single-star backtracking: on a mismatch, the last `*`
/// absorbs more characters, up to the next place the literal after it
/// starts. Linear in practice, quadratic at worst.
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
                let mut next = st + char_len(text, st);
                // When a literal follows the star, the star can only end
                // where that literal starts: skip to the next place it does
                // (a character boundary, the literal being valid UTF-8),
                // rather than trying every character in between.
                if let Some(Token::Lit(s)) = tokens.get(sp + 1) {
                    match find(&t[next..], s.as_bytes(), ci) {
                        Some(at) => next += at,
                        None => return false,
                    }
                }
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

    /// The definition, by recursion over characters: what the fast paths
    /// (first-byte search, skipping to a star's next literal) must agree with.
    fn reference(pattern: &[char], text: &[char], ci: bool) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|i| reference(rest, &text[i..], ci)),
            Some(('?', rest)) => !text.is_empty() && reference(rest, &text[1..], ci),
            Some((c, rest)) => text.split_first().is_some_and(|(t, tail)| {
                (t == c || (ci && t.eq_ignore_ascii_case(c))) && reference(rest, tail, ci)
            }),
        }
    }

    #[test]
    fn fast_paths_agree_with_the_definition() {
        let alphabet = ['a', 'B', 'b', '\\', '.', 'é', 'x', '*', '?'];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..20_000 {
            let pattern: String = (0..next(7)).map(|_| alphabet[next(9)]).collect();
            let text: String = (0..next(12)).map(|_| alphabet[next(7)]).collect();
            let (p, t): (Vec<char>, Vec<char>) =
                (pattern.chars().collect(), text.chars().collect());
            for ci in [false, true] {
                assert_eq!(
                    Wildcard::eql(&pattern, ci).matches(&text),
                    reference(&p, &t, ci),
                    "{pattern:?} vs {text:?}, case-insensitive {ci}"
                );
            }
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
