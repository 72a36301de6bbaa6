//! Measures a rule set over generated events, every rule at once:
//! `cargo run --release --example ruleset-speed -- RULES_DIR [EVENTS]`.
//! Prints rules compiled, events, alerting rules and events per second
//! (one thread). A first look at issue 8's throughput target.

use ruleq::engine::{Origin, QueryOptions, RuleSetBuilder, Runner};
use ruleq::rule::{self, Language, RuleType};
use ruleq::syntax::{eql, kql};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "rules".into());
    let n: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let options = QueryOptions::default();
    let mut builder = RuleSetBuilder::new(None);
    let mut rules = 0;
    for file in rule::collect_paths(&[dir.into()]).expect("a rules folder") {
        let Ok(loaded) = rule::load_file(&file) else {
            continue;
        };
        for r in &loaded.rules {
            let runnable = matches!(
                r.rule_type.as_ref().map(|t| t.value),
                Some(RuleType::Query | RuleType::Eql)
            );
            let (Some(q), Some(lang)) = (&r.query, &r.language) else {
                continue;
            };
            if !runnable || r.is_deprecated() {
                continue;
            }
            let added = match lang.value {
                Language::Eql => eql::parse(&q.text)
                    .ok()
                    .map(|q| builder.add_eql(&q, &options)),
                Language::Kuery => kql::parse(&q.text)
                    .ok()
                    .map(|q| builder.add_kql(&q, &options)),
                _ => None,
            };
            rules += usize::from(matches!(added, Some(Ok(_))));
        }
    }
    let set = builder.finish();
    let indexed = set
        .queries
        .iter()
        .filter(|q| q.categories().is_some())
        .count();
    let valued = set
        .queries
        .iter()
        .filter(|q| q.requirement().is_some())
        .count();
    eprintln!(
        "{indexed} of {} queries are indexed by event category, {valued} by a required value",
        set.queries.len()
    );
    let mut lines = Vec::with_capacity(n as usize);
    ruleq::gen::generate(n, 1, |l| lines.push(l.to_string()));
    let bytes: usize = lines.iter().map(String::len).sum();
    let start = Instant::now();
    let mut runner = Runner::new(&set);
    for (i, l) in lines.iter().enumerate() {
        runner
            .offer(
                Origin {
                    file: 0,
                    line: i as u64 + 1,
                },
                l.as_bytes(),
            )
            .expect("generated events parse");
    }
    let results = runner.finish();
    let secs = start.elapsed().as_secs_f64();
    let alerting = results.iter().filter(|r| !r.is_empty()).count();
    println!(
        "{rules} rules, {n} events ({:.0} MB), {alerting} rules alert: {:.2} s, {:.0} events/s, {:.1} MB/s (one thread)",
        bytes as f64 / 1e6,
        secs,
        n as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
}
