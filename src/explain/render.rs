//! An explanation as text for people, and as JSON lines for tools.

use super::{Clause, EventExplanation, Explanation, FieldValues, Verdict};
use serde_json::{Map, Value};
use std::fmt::Write;

pub(super) fn human(x: &Explanation) -> String {
    let mut out = String::new();
    if let Some(rule) = &x.rule {
        let _ = writeln!(out, "rule: {rule}");
    }
    if x.steps.is_empty() {
        let _ = writeln!(out, "query ({}): {}", x.kind, x.query);
    } else {
        let _ = writeln!(out, "query ({}), by step:", x.kind);
    }
    for s in &x.steps {
        let _ = writeln!(out, "  {s}");
    }
    if let Some((from, to)) = &x.window {
        let _ = writeln!(out, "execution window: {from} .. {to}");
    }
    for e in &x.events {
        out.push('\n');
        event(e, &mut out);
    }
    if !x.sequences.is_empty() {
        out.push_str("\npartial sequences:\n");
        for s in &x.sequences {
            let events: Vec<String> = s
                .events
                .iter()
                .zip(&s.steps)
                .map(|(e, st)| format!("{e} (step {st})"))
                .collect();
            let _ = writeln!(
                out,
                "  {} {}: {}",
                Value::Array(s.join_keys.clone()),
                events.join(", "),
                s.reason
            );
        }
    }
    let what = match x.kind {
        "eql sequence" => "sequences",
        "eql sample" => "samples",
        _ => "matching events",
    };
    let _ = writeln!(out, "\n{what} (the engine's results): {}", x.results.len());
    for r in &x.results {
        let _ = writeln!(out, "  {}", r.join(", "));
    }
    if x.approximate {
        out.push_str(
            "warning: the explanation's matches differ from the engine's results above; it is approximate\n",
        );
    }
    out
}

fn event(e: &EventExplanation, out: &mut String) {
    let time = e
        .time
        .as_ref()
        .map_or(String::new(), |t| format!(" at {t}"));
    let verdict = if !e.excluded.is_empty() {
        "not seen by the rule"
    } else if !e.steps.is_empty() {
        if e.matched {
            "matches a step"
        } else {
            "matches no step"
        }
    } else if e.matched {
        "matches"
    } else {
        "does not match"
    };
    let _ = writeln!(out, "event {}{time}: {verdict}", e.name);
    for x in &e.excluded {
        let _ = writeln!(out, "  excluded: {x}");
    }
    for n in &e.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    if let Some(c) = &e.query {
        clause(c, 1, out);
    }
    for s in &e.steps {
        let mut line = format!("  {}: ", s.step);
        if s.matched {
            line.push_str("matched");
            match s.join_keys.as_slice() {
                [] => line.push_str(", but a join-key field has no value: it joins no sequence"),
                [one] => {
                    let _ = write!(line, ", join key {}", Value::Array(one.clone()));
                }
                many => {
                    let keys: Vec<String> = many
                        .iter()
                        .map(|k| Value::Array(k.clone()).to_string())
                        .collect();
                    let _ = write!(line, ", join keys {}", keys.join(" "));
                }
            }
        } else {
            line.push_str("not matched");
            if let Some(f) = &s.failed {
                let _ = write!(line, ": `{}` is {}", f.text, f.verdict.as_str());
                if let Some(why) = &f.decided_by {
                    let _ = write!(line, " ({why})");
                }
            }
        }
        out.push_str(&line);
        out.push('\n');
        if let Some(f) = &s.failed {
            for v in &f.fields {
                values(v, 3, out);
            }
        }
    }
}

fn clause(c: &Clause, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let mark = if c.first_failure {
        "   <-- first failing clause"
    } else {
        ""
    };
    let verdict = match c.verdict {
        Verdict::True => "true ",
        Verdict::False => "false",
        Verdict::Null => "null ",
    };
    let _ = writeln!(out, "{pad}{verdict}  {}{mark}", c.text);
    if let Some(why) = &c.decided_by {
        let _ = writeln!(out, "{pad}         decided by {why}");
    }
    if c.op == super::Op::Leaf {
        for v in &c.fields {
            values(v, depth + 4, out);
        }
    }
    for child in &c.children {
        clause(child, depth + 1, out);
    }
}

fn values(v: &FieldValues, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let name = match &v.alias_of {
        Some(target) => format!("{} (alias of {target})", v.field),
        None => v.field.clone(),
    };
    if v.missing() {
        let _ = writeln!(out, "{pad}{name}: missing");
        return;
    }
    let shown: Vec<String> = v
        .values
        .iter()
        .map(|x| format!("{} ({}) at {}", x.value, x.kind, x.from))
        .collect();
    let _ = writeln!(out, "{pad}{name} = {}", shown.join("; "));
}

/// One JSON document, `kind` first.
fn document(kind: &str, value: Value) -> String {
    let mut map = Map::new();
    map.insert("kind".into(), Value::String(kind.into()));
    if let Value::Object(rest) = value {
        map.extend(rest);
    }
    Value::Object(map).to_string()
}

pub(super) fn json(x: &Explanation) -> String {
    let mut out = String::new();
    for e in &x.events {
        out.push_str(&document(
            "event",
            serde_json::to_value(e).unwrap_or_default(),
        ));
        out.push('\n');
    }
    for s in &x.sequences {
        out.push_str(&document(
            "sequence",
            serde_json::to_value(s).unwrap_or_default(),
        ));
        out.push('\n');
    }
    let mut summary = serde_json::to_value(x).unwrap_or_default();
    if let Value::Object(map) = &mut summary {
        map.shift_remove("events");
        map.shift_remove("sequences");
        if let Some(kind) = map.shift_remove("kind") {
            map.insert("query_kind".into(), kind);
        }
    }
    out.push_str(&document("summary", summary));
    out.push('\n');
    out
}
