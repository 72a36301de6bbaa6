//! The function table: names as Elasticsearch spells them, arities, and which
//! functions have a case-insensitive `~` variant. Parsing resolves calls
//! against this table, so unknown names and wrong arities fail early with a
//! suggestion.

use super::ast::Function;

/// What the parser needs to know about one function.
pub struct Signature {
    /// The function.
    pub function: Function,
    /// Canonical spelling, e.g. `cidrMatch`.
    pub name: &'static str,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments (`None`: no limit).
    pub max_args: Option<usize>,
    /// Whether `name~(...)` is accepted.
    pub insensitive_variant: bool,
    /// The parameters, for messages.
    pub usage: &'static str,
}

const fn sig(
    function: Function,
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    insensitive_variant: bool,
    usage: &'static str,
) -> Signature {
    Signature {
        function,
        name,
        min_args,
        max_args,
        insensitive_variant,
        usage,
    }
}

/// Every function Elasticsearch EQL provides.
pub static FUNCTIONS: &[Signature] = &[
    sig(
        Function::Add,
        "add",
        2,
        Some(2),
        false,
        "add(<addend>, <addend>)",
    ),
    sig(
        Function::Between,
        "between",
        3,
        Some(4),
        true,
        "between(<source>, <left>, <right>[, <greedy>])",
    ),
    sig(
        Function::CidrMatch,
        "cidrMatch",
        2,
        None,
        false,
        "cidrMatch(<ip_address>, <cidr_block>[, ...])",
    ),
    sig(
        Function::Concat,
        "concat",
        1,
        None,
        false,
        "concat(<value>[, ...])",
    ),
    sig(
        Function::Divide,
        "divide",
        2,
        Some(2),
        false,
        "divide(<dividend>, <divisor>)",
    ),
    sig(
        Function::EndsWith,
        "endsWith",
        2,
        Some(2),
        true,
        "endsWith(<source>, <substring>)",
    ),
    sig(
        Function::IndexOf,
        "indexOf",
        2,
        Some(3),
        true,
        "indexOf(<source>, <substring>[, <start_pos>])",
    ),
    sig(
        Function::Length,
        "length",
        1,
        Some(1),
        false,
        "length(<string>)",
    ),
    sig(
        Function::Modulo,
        "modulo",
        2,
        Some(2),
        false,
        "modulo(<dividend>, <divisor>)",
    ),
    sig(
        Function::Multiply,
        "multiply",
        2,
        Some(2),
        false,
        "multiply(<factor>, <factor>)",
    ),
    sig(
        Function::Number,
        "number",
        1,
        Some(2),
        false,
        "number(<string>[, <base>])",
    ),
    sig(
        Function::StartsWith,
        "startsWith",
        2,
        Some(2),
        true,
        "startsWith(<source>, <prefix>)",
    ),
    sig(
        Function::String,
        "string",
        1,
        Some(1),
        false,
        "string(<value>)",
    ),
    sig(
        Function::StringContains,
        "stringContains",
        2,
        Some(2),
        true,
        "stringContains(<source>, <substring>)",
    ),
    sig(
        Function::Substring,
        "substring",
        2,
        Some(3),
        false,
        "substring(<source>, <start_pos>[, <end_pos>])",
    ),
    sig(
        Function::Subtract,
        "subtract",
        2,
        Some(2),
        false,
        "subtract(<minuend>, <subtrahend>)",
    ),
];

/// Looks a function up by name, ignoring case (`cidrmatch`, `CONCAT`).
pub fn lookup(name: &str) -> Option<&'static Signature> {
    FUNCTIONS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The signature of a resolved function.
pub fn signature(function: Function) -> &'static Signature {
    FUNCTIONS
        .iter()
        .find(|s| s.function == function)
        .expect("every Function has a signature")
}

/// The known function whose name is closest to `name`, if any is close enough
/// to be a plausible typo.
pub fn nearest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    FUNCTIONS
        .iter()
        .map(|s| (edit_distance(&lower, &s.name.to_ascii_lowercase()), s.name))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_nearest_suggests() {
        assert_eq!(lookup("CIDRMATCH").unwrap().name, "cidrMatch");
        assert!(lookup("arrayContains").is_none());
        assert_eq!(nearest("stringContain"), Some("stringContains"));
        assert_eq!(nearest("startswth"), Some("startsWith"));
        assert_eq!(nearest("wildcard"), None);
    }
}
