//! Every KQL text of Elastic's detection-rules corpus (the `query` of rules
//! with `language = "kuery"`, and every `threat_query`) parses, has sound
//! spans, and prints back to text free of control characters that parses
//! to the same AST. Needs
//! `RULEQ_SHARED`.

mod common;

use ruleq::syntax::kql;

/// Checks one KQL text, counting successes and recording failures.
fn check(what: &str, text: &str, counts: &mut (usize, usize), failures: &mut Vec<String>) {
    let ast = match kql::parse(text) {
        Ok(ast) => ast,
        Err(d) => {
            failures.push(format!("{what}\n{}", d.render("query", text, false)));
            return;
        }
    };
    counts.0 += 1;
    // Every parsed query also compiles for evaluation.
    if let Err(d) = ruleq::engine::compile_kql(&ast, &ruleq::engine::QueryOptions::default()) {
        failures.push(format!(
            "{what}: does not compile:\n{}",
            d.render("query", text, false)
        ));
    }
    let json = serde_json::to_value(&ast).unwrap();
    let bad = common::span_violations(&json, text.len());
    let loose = common::loose_spans(&json, text);
    if !bad.is_empty() || !loose.is_empty() {
        failures.push(format!("{what}: span problems {bad:?} {loose:?}"));
    }
    let printed = kql::print(&ast);
    // Canonical text can be passed as an argument and pasted into a rule
    // file: every control character is written as an escape.
    if let Some(c) = printed.chars().find(|c| c.is_control()) {
        failures.push(format!("{what}: printed text holds {c:?}:\n{printed}"));
    }
    match kql::parse(&printed) {
        Ok(again) if again.without_spans() == ast.without_spans() => counts.1 += 1,
        Ok(_) => failures.push(format!(
            "{what}: printed text parses differently:\n{printed}"
        )),
        Err(d) => failures.push(format!(
            "{what}: printed text fails to parse:\n{}",
            d.render("printed", &printed, false)
        )),
    }
}

#[test]
fn every_corpus_kql_text_parses_and_round_trips() {
    let Some(dir) = common::shared("corpus/detection-rules") else {
        return;
    };
    let (mut queries, mut threat_queries, mut lucene) = (0, 0, 0);
    let mut counts = (0, 0);
    let mut failures = Vec::new();
    for path in common::toml_files(&dir) {
        let rule = common::rule_table(&path);
        let what = path.display().to_string();
        match rule.get("language").and_then(|v| v.as_str()) {
            Some("kuery") => {
                let query = rule["query"].as_str().expect("a kuery rule has a query");
                queries += 1;
                check(&what, query, &mut counts, &mut failures);
            }
            // Lucene syntax is not KQL; `check` reports it as not evaluated.
            Some("lucene") => lucene += 1,
            _ => {}
        }
        if let Some(tq) = rule.get("threat_query").and_then(|v| v.as_str()) {
            threat_queries += 1;
            check(
                &format!("{what} (threat_query)"),
                tq,
                &mut counts,
                &mut failures,
            );
        }
    }
    let total = queries + threat_queries;
    println!(
        "KQL corpus: {total} texts ({queries} queries, {threat_queries} threat queries), \
         {} parsed, {} round-tripped; {lucene} Lucene rule(s) skipped",
        counts.0, counts.1
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(queries, 792, "the corpus holds 792 kuery rules");
    assert_eq!(threat_queries, 9, "the corpus holds 9 threat queries");
    assert_eq!(lucene, 1, "the corpus holds one Lucene rule");
}
