//! Every EQL query of Elastic's detection-rules corpus parses, and prints back
//! to text that parses to the same AST. Needs `RULEQ_SHARED`.

mod common;

use ruleq::compile::lucene_regex::LuceneRegex;
use ruleq::syntax::{eql, strip_spans};

/// Every `regex` / `regex~` pattern in serialized AST JSON, with its case flag.
fn regex_patterns(v: &serde_json::Value) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(map) => {
                if map.get("kind").and_then(|k| k.as_str()) == Some("match")
                    && map.get("op").and_then(|k| k.as_str()) == Some("regex")
                {
                    let ci = map["case_insensitive"].as_bool().unwrap();
                    for p in map["patterns"].as_array().unwrap() {
                        out.push((p["value"].as_str().unwrap_or_default().to_string(), ci));
                    }
                }
                stack.extend(map.values());
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

fn ast_json(q: &eql::Query) -> serde_json::Value {
    let mut v = serde_json::to_value(q).unwrap();
    strip_spans(&mut v);
    v
}

#[test]
fn every_corpus_eql_query_parses_and_round_trips() {
    let Some(dir) = common::shared("corpus/detection-rules") else {
        return;
    };
    let (mut total, mut parsed, mut round_tripped, mut regexes) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for path in common::toml_files(&dir) {
        let rule = common::rule_table(&path);
        if rule.get("language").and_then(|v| v.as_str()) != Some("eql") {
            continue;
        }
        total += 1;
        let query = rule["query"].as_str().expect("an eql rule has a query");
        let ast = match eql::parse(query) {
            Ok(ast) => ast,
            Err(d) => {
                failures.push(format!(
                    "{}\n{}",
                    path.display(),
                    d.render("query", query, false)
                ));
                continue;
            }
        };
        parsed += 1;
        // Every parsed query also compiles for evaluation.
        if let Err(d) = ruleq::engine::compile_eql(&ast, &ruleq::engine::QueryOptions::default()) {
            failures.push(format!(
                "{}: does not compile:\n{}",
                path.display(),
                d.render("query", query, false)
            ));
        }
        let json = serde_json::to_value(&ast).unwrap();
        for (pattern, ci) in regex_patterns(&json) {
            regexes += 1;
            if let Err(e) = LuceneRegex::new(&pattern, ci) {
                failures.push(format!("{}: regex {pattern:?}: {e}", path.display()));
            }
        }
        let bad = common::span_violations(&json, query.len());
        let loose = common::loose_spans(&json, query);
        if !bad.is_empty() || !loose.is_empty() {
            failures.push(format!(
                "{}: span problems {bad:?} {loose:?}",
                path.display()
            ));
        }
        let printed = eql::print(&ast);
        // Only the layout's line breaks: every control character in a
        // value is written as an escape.
        if let Some(c) = printed.chars().find(|c| c.is_control() && *c != '\n') {
            failures.push(format!(
                "{}: printed text holds {c:?}:\n{printed}",
                path.display()
            ));
        }
        match eql::parse(&printed) {
            Ok(again) if ast_json(&again) == ast_json(&ast) => round_tripped += 1,
            Ok(_) => failures.push(format!(
                "{}: printed text parses differently:\n{printed}",
                path.display()
            )),
            Err(d) => failures.push(format!(
                "{}: printed text fails to parse:\n{}",
                path.display(),
                d.render("printed", &printed, false)
            )),
        }
    }
    println!(
        "EQL corpus: {total} queries, {parsed} parsed, {round_tripped} round-tripped, \
         {regexes} regex patterns compiled"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(total, 1081, "the corpus holds 1,081 EQL rules");
}
