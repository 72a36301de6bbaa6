//! Which indices a rule searches: its `index` patterns, matched against the
//! index an event came from the way Elasticsearch resolves them.

/// A rule's index patterns: `*` wildcards, several patterns to an entry
/// when comma-separated, `-pattern` excluding what earlier ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPatterns {
    /// `(excluded, pattern)` in the order written.
    patterns: Vec<(bool, String)>,
}

impl IndexPatterns {
    /// The patterns of a rule's `index` list.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        let mut patterns = Vec::new();
        for entry in entries {
            for p in entry.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (excluded, p) = match p.strip_prefix('-') {
                    // A leading `-` excludes only after something was included.
                    Some(rest) if !patterns.is_empty() => (true, rest),
                    _ => (false, p),
                };
                // A cross-cluster pattern (`cluster:logs-*`) names the index
                // on its cluster; exported events carry the local name.
                let local = p.rsplit_once(':').map_or(p, |(_, local)| local);
                patterns.push((excluded, local.to_string()));
            }
        }
        IndexPatterns { patterns }
    }

    /// Whether events from `index` are searched: the index, or the data
    /// stream a backing index (`.ds-logs-x-default-2026.03.01-000001`)
    /// belongs to, is included by some pattern and not excluded by a later
    /// one.
    pub fn matches(&self, index: &str) -> bool {
        let stream = data_stream(index);
        let mut included = false;
        for (excluded, pattern) in &self.patterns {
            let hit = glob(pattern, index) || stream.is_some_and(|s| glob(pattern, s));
            if hit {
                included = !excluded;
            }
        }
        included
    }
}

/// The data stream of a backing index: `.ds-<stream>-<yyyy.MM.dd>-<generation>`.
fn data_stream(index: &str) -> Option<&str> {
    let rest = index.strip_prefix(".ds-")?;
    let (rest, generation) = rest.rsplit_once('-')?;
    if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (stream, date) = rest.rsplit_once('-')?;
    let is_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'.',
            _ => b.is_ascii_digit(),
        });
    (is_date && !stream.is_empty()).then_some(stream)
}

/// `*` matches any run of characters; everything else matches itself.
/// Wildcards do not reach hidden indices (names starting with `.`) unless
/// the pattern starts with `.` too, as in Elasticsearch.
fn glob(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') && pattern != name {
        return false;
    }
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_exclusions() {
        let p = IndexPatterns::new(["logs-endpoint.events.*", "filebeat-*,-filebeat-old-*"]);
        assert!(p.matches("logs-endpoint.events.process-default"));
        assert!(p.matches("filebeat-8.1.0"));
        assert!(!p.matches("filebeat-old-2020"));
        assert!(!p.matches("packetbeat-8.1.0"));
        assert!(!p.matches("logs-endpoint.alerts-default"));
    }

    #[test]
    fn backing_indices_match_on_their_data_stream() {
        let p = IndexPatterns::new(["logs-endpoint.events.*"]);
        assert!(p.matches(".ds-logs-endpoint.events.network-default-2026.03.01-000001"));
        assert!(!p.matches(".ds-logs-system.auth-default-2026.03.01-000001"));
        assert_eq!(
            data_stream(".ds-logs-x-default-2026.03.01-000001"),
            Some("logs-x-default")
        );
        assert_eq!(data_stream(".ds-logs-x-default"), None);
    }

    #[test]
    fn wildcards_skip_hidden_indices_and_cross_cluster_prefixes_drop() {
        assert!(!IndexPatterns::new(["*"]).matches(".kibana"));
        assert!(IndexPatterns::new([".kib*"]).matches(".kibana"));
        assert!(IndexPatterns::new(["*:logs-*"]).matches("logs-a"));
        assert!(IndexPatterns::new(["a*b*c"]).matches("aXbYc"));
        assert!(!IndexPatterns::new(["a*b*c"]).matches("aXbYcd"));
        assert!(!IndexPatterns::new(["ab*b"]).matches("ab"));
    }
}
