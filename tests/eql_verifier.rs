//! What Elasticsearch refuses after parsing an EQL query, case by case: its
//! analyzer's argument types and constant arguments, its planner's refusal
//! of fields compared with fields, its parser's refusal of computed join keys
//! and back-quoted categories. The cases follow Elasticsearch's own tests
//! (VerifierTests, QueryTranslatorFailTests and the function classes); each
//! rejected query names the code, a phrase of Elasticsearch's message, and
//! the text the diagnostic points at. The accepted counterparts guard against
//! refusing too much.

use std::io::Write;
use std::process::{Command, Stdio};

use ruleq::syntax::eql;

/// `(query, code, phrase of the message, text under the span)`.
const REJECTED: &[(&str, &str, &str, &str)] = &[
    // ---------------------------------------------- argument types: between
    (
        r#"process where between(process_name, 1, 2)"#,
        "eql::argument-type",
        "second argument of [between(process_name, 1, 2)] must be [string], found value [1] type [integer]",
        "1",
    ),
    (
        r#"process where between(process_name, "s", 2)"#,
        "eql::argument-type",
        r#"third argument of [between(process_name, "s", 2)] must be [string], found value [2] type [integer]"#,
        "2",
    ),
    (
        r#"process where between(process_name, "s", "e", 1)"#,
        "eql::argument-type",
        r#"fourth argument of [between(process_name, "s", "e", 1)] must be [boolean], found value [1] type [integer]"#,
        "1",
    ),
    (
        r#"process where between(process_name, "s", "e", "true")"#,
        "eql::argument-type",
        r#"fourth argument of [between(process_name, "s", "e", "true")] must be [boolean], found value ["true"] type [keyword]"#,
        r#""true""#,
    ),
    (
        r#"process where between~(1.5, "s", "e") == "x""#,
        "eql::argument-type",
        r#"first argument of [between~(1.5, "s", "e")] must be [string], found value [1.5] type [double]"#,
        "1.5",
    ),
    // ---------------------------------------------------------- cidrMatch
    (
        r#"process where cidrMatch(source_address, 12345)"#,
        "eql::argument-type",
        "second argument of [cidrMatch(source_address, 12345)] must be [string], found value [12345] type [integer]",
        "12345",
    ),
    (
        r#"process where cidrMatch(source_address, "10.0.0.0/8", 1)"#,
        "eql::argument-type",
        "third argument of [cidrMatch(source_address, \"10.0.0.0/8\", 1)] must be [string]",
        "1",
    ),
    (
        r#"process where cidrMatch("10.0.0.1", "10.0.0.0/8")"#,
        "eql::argument-type",
        r#"first argument of [cidrMatch("10.0.0.1", "10.0.0.0/8")] must be [ip], found value ["10.0.0.1"] type [keyword]"#,
        r#""10.0.0.1""#,
    ),
    // --------------------------------------------------- other functions
    (
        r#"process where number(process_name, 1.0) == 1"#,
        "eql::argument-type",
        "second argument of [number(process_name, 1.0)] must be [integer], found value [1.0] type [double]",
        "1.0",
    ),
    (
        r#"process where number(16) == 16"#,
        "eql::argument-type",
        "first argument of [number(16)] must be [string], found value [16] type [integer]",
        "16",
    ),
    (
        r#"process where stringContains(process_name, 1)"#,
        "eql::argument-type",
        "second argument of [stringContains(process_name, 1)] must be [string], found value [1] type [integer]",
        "1",
    ),
    (
        r#"process where startsWith~(process_name, true)"#,
        "eql::argument-type",
        "second argument of [startsWith~(process_name, true)] must be [string], found value [true] type [boolean]",
        "true",
    ),
    (
        r#"process where endsWith(1, "x")"#,
        "eql::argument-type",
        r#"first argument of [endsWith(1, "x")] must be [string], found value [1] type [integer]"#,
        "1",
    ),
    (
        r#"process where indexOf(process_name, "x", "1") == 1"#,
        "eql::argument-type",
        r#"third argument of [indexOf(process_name, "x", "1")] must be [integer], found value ["1"] type [keyword]"#,
        r#""1""#,
    ),
    (
        r#"process where indexOf(process_name, 2) == 1"#,
        "eql::argument-type",
        "second argument of [indexOf(process_name, 2)] must be [string]",
        "2",
    ),
    (
        r#"process where length(1) > 0"#,
        "eql::argument-type",
        // Elasticsearch names no position for length's argument.
        "argument of [length(1)] must be [string], found value [1] type [integer]",
        "1",
    ),
    (
        r#"process where length(length(process_name)) > 0"#,
        "eql::argument-type",
        "argument of [length(length(process_name))] must be [string], found value [length(process_name)] type [integer]",
        "length(process_name)",
    ),
    (
        r#"process where substring(process_name, "1") == "x""#,
        "eql::argument-type",
        r#"second argument of [substring(process_name, "1")] must be [integer], found value ["1"] type [keyword]"#,
        r#""1""#,
    ),
    (
        r#"process where substring(process_name, 1, 2.5) == "x""#,
        "eql::argument-type",
        "third argument of [substring(process_name, 1, 2.5)] must be [integer], found value [2.5] type [double]",
        "2.5",
    ),
    (
        r#"process where add(1, "2") == 3"#,
        "eql::argument-type",
        r#"second argument of [add(1, "2")] must be [numeric], found value ["2"] type [keyword]"#,
        r#""2""#,
    ),
    (
        r#"process where subtract("3", 1) == 2"#,
        "eql::argument-type",
        r#"first argument of [subtract("3", 1)] must be [numeric], found value ["3"] type [keyword]"#,
        r#""3""#,
    ),
    (
        r#"process where multiply(pid, false) == 2"#,
        "eql::argument-type",
        "second argument of [multiply(pid, false)] must be [numeric], found value [false] type [boolean]",
        "false",
    ),
    (
        r#"process where divide(true, 2) == 1"#,
        "eql::argument-type",
        "first argument of [divide(true, 2)] must be [numeric], found value [true] type [boolean]",
        "true",
    ),
    (
        r#"process where modulo(pid, "2") == 1"#,
        "eql::argument-type",
        r#"second argument of [modulo(pid, "2")] must be [numeric]"#,
        r#""2""#,
    ),
    (
        r#"process where add(length(process_name), concat("a")) == 1"#,
        "eql::argument-type",
        r#"second argument of [add(length(process_name), concat("a"))] must be [numeric], found value [concat("a")] type [keyword]"#,
        r#"concat("a")"#,
    ),
    // ----------------------------------------------------------- operators
    (
        r#"process where pid + "1" == 2"#,
        "eql::argument-type",
        r#"second argument of [pid + "1"] must be [numeric], found value ["1"] type [keyword]"#,
        r#""1""#,
    ),
    (
        r#"process where -"1" == pid"#,
        "eql::argument-type",
        r#"argument of [-"1"] must be [numeric], found value ["1"] type [keyword]"#,
        r#""1""#,
    ),
    (
        r#"process where not 1"#,
        "eql::argument-type",
        "argument of [not 1] must be [boolean], found value [1] type [integer]",
        "1",
    ),
    (
        r#"process where true and "x""#,
        "eql::argument-type",
        r#"second argument of [true and "x"] must be [boolean], found value ["x"] type [keyword]"#,
        r#""x""#,
    ),
    (
        r#"process where 1 in (1, "a")"#,
        "eql::argument-type",
        r#"2nd argument of [1 in (1, "a")] must be [integer], found value ["a"] type [keyword]"#,
        r#""a""#,
    ),
    // ---------------------------------------------------------- conditions
    (
        r#"any where 1"#,
        "eql::condition-type",
        "Condition expression needs to be boolean, found [INTEGER]",
        "1",
    ),
    (
        r#"any where null"#,
        "eql::condition-type",
        "Condition expression needs to be boolean, found [NULL]",
        "null",
    ),
    (
        r#"process where length("abc")"#,
        "eql::argument-type",
        r#"second argument of [process where length("abc")] must be [boolean], found value [length("abc")] type [integer]"#,
        r#"length("abc")"#,
    ),
    // ------------------------------------------------------------ constants
    (
        r#"process where cidrMatch(source_address, hostname)"#,
        "eql::argument-constant",
        "second argument of [cidrMatch(source_address, hostname)] must be a constant, received [hostname]",
        "hostname",
    ),
    (
        r#"process where cidrMatch(source.ip, "10.0.0.0/8", concat(a, "/16"))"#,
        "eql::argument-constant",
        r#"third argument of [cidrMatch(source.ip, "10.0.0.0/8", concat(a, "/16"))] must be a constant, received [concat(a, "/16")]"#,
        r#"concat(a, "/16")"#,
    ),
    // ---------------------------------------------------- field comparisons
    (
        r#"process where (serial_event_id<9 and serial_event_id >= 7) or (opcode == pid)"#,
        "eql::field-comparison",
        "Comparisons against fields are not (currently) supported; offender [pid] in [==]",
        "pid",
    ),
    (
        r#"process where opcode in (1,3) and process_name in (parent_process_name, "SYSTEM")"#,
        "eql::field-comparison",
        r#"Comparisons against fields are not (currently) supported; offender [parent_process_name] in [process_name in (parent_process_name, "SYSTEM")]"#,
        "parent_process_name",
    ),
    (
        r#"process where serial_event_id < 5 and process_name <= parent_process_name"#,
        "eql::field-comparison",
        "offender [parent_process_name] in [<=]",
        "parent_process_name",
    ),
    (
        r#"process where process_name != original_file_name"#,
        "eql::field-comparison",
        "offender [original_file_name] in [!=]",
        "original_file_name",
    ),
    (
        r#"process where not (a > b)"#,
        "eql::field-comparison",
        "offender [b] in [>]",
        "b",
    ),
    (
        r#"process where modulo(11, add(serial_event_id, 1)) == serial_event_id"#,
        "eql::field-comparison",
        "offender [serial_event_id] in [==]",
        "serial_event_id",
    ),
    (
        r#"process where length(a) == length(b)"#,
        "eql::field-comparison",
        "offender [length(b)] in [==]",
        "length(b)",
    ),
    (
        r#"process where a not in ("x", b)"#,
        "eql::field-comparison",
        r#"offender [b] in [a not in ("x", b)]"#,
        "b",
    ),
    (
        r#"process where a in~ ("x", b)"#,
        "eql::field-comparison",
        "offender [b]",
        "b",
    ),
    (
        r#"sequence [process where a == b] [file where true]"#,
        "eql::field-comparison",
        "offender [b] in [==]",
        "b",
    ),
    // ------------------------------------------------------------ join keys
    (
        r#"sequence [process where serial_event_id<3] by unique_pid * 2 [process where true] by unique_ppid * 2"#,
        "eql::join-key",
        "Unsupported join key [unique_pid * 2]",
        "unique_pid * 2",
    ),
    (
        r#"sequence by length(user.name) [process where true] [file where true]"#,
        "eql::join-key",
        "Unsupported join key [length(user.name)]",
        "length(user.name)",
    ),
    (
        r#"sequence [process where true] by pid [file where true] by pid until [network where true] by pid + 1"#,
        "eql::join-key",
        "Unsupported join key [pid + 1]",
        "pid + 1",
    ),
    (
        r#"sample by "host" [process where true] [file where true]"#,
        "eql::join-key",
        r#"Unsupported join key ["host"]"#,
        r#""host""#,
    ),
    // -------------------------------------------------------------- category
    (
        r#"`process` where true"#,
        "eql::syntax",
        "a back-quoted name cannot be the event category",
        "`process`",
    ),
    (
        r#"sequence [process where true] [`file` where true]"#,
        "eql::syntax",
        "a back-quoted name cannot be the event category",
        "`file`",
    ),
];

/// Queries Elasticsearch accepts, next to the refused shapes above.
const ACCEPTED: &[&str] = &[
    r#"process where between(process_name, "a", "b", true) == "x""#,
    r#"process where between~(process_name, "a", "b") == "x""#,
    r#"process where between(process_name, "a", "b", null) == "x""#,
    r#"process where between(process_name, concat("a", "b"), "c") == "x""#,
    r#"process where cidrMatch(source.ip, "10.0.0.0/8", "192.168.0.0/16")"#,
    r#"process where cidrMatch(source.ip, concat("10.0.0.0", "/8"))"#,
    r#"process where cidrMatch(source.ip, null)"#,
    r#"process where number("1f", 16) == 31"#,
    r#"process where number(process_name, 9999999999) == 1"#,
    r#"process where substring(process_name, 1, null) == "x""#,
    r#"process where indexOf(process_name, "x", length("ab")) == 1"#,
    r#"process where length(process_name) == 3"#,
    r#"process where string(1) == "1" and concat(1, true, null, 2.5) == "x""#,
    r#"process where add(1, 2.5) == 3.5 and divide(pid, 2) == 1"#,
    r#"process where startsWith(process_name, parent_process_name)"#,
    r#"process where 1 == pid and pid == 1 + 2 and pid + 1 == 2"#,
    r#"process where -pid == -1"#,
    r#"process where a in ("x", "y") and b in (1, 2.5, null) and 1 in (1, 2.0)"#,
    r#"process where a in (null, "x") and ?b in (?c, "x")"#,
    r#"file where ?foo == ?bar"#,
    r#"process where process.name : "cmd*" and process.name like~ ("a*", "b*")"#,
    r#"process where null"#,
    r#"process where true and not false"#,
    r#""process" where true"#,
    r#"process where `process`.`name` == "x""#,
    r#"sequence by user.name [process where true] by ?x [file where true] by y"#,
    r#"sample by host.id [process where true] [file where true]"#,
    r#"any where x == 99999999999999999999"#,
];

#[test]
fn refused_like_elasticsearch() {
    let mut failures = Vec::new();
    for (query, code, phrase, under) in REJECTED {
        match eql::parse(query) {
            Ok(_) => failures.push(format!("{query}\n  accepted, expected {code}")),
            Err(d) => {
                let pointed = query.get(d.span.start..d.span.end).unwrap_or("<bad span>");
                if d.code != *code || !d.message.contains(phrase) || pointed != *under {
                    failures.push(format!(
                        "{query}\n  got {} `{}` at `{pointed}`\n  want {code} `{phrase}` at `{under}`",
                        d.code, d.message
                    ));
                }
                if d.help.is_none() {
                    failures.push(format!("{query}\n  no help"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accepted_like_elasticsearch() {
    let refused: Vec<String> = ACCEPTED
        .iter()
        .filter_map(|q| {
            eql::parse(q)
                .err()
                .map(|d| format!("{q}\n  {}: {}", d.code, d.message))
        })
        .collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

#[test]
fn a_whole_number_past_64_bits_is_a_double() {
    let q = eql::parse("any where n == 100000000000000000000").unwrap();
    let eql::QueryBody::Event { filter } = &q.body else {
        panic!("an event query")
    };
    let eql::Expr::Compare { right, .. } = &filter.condition else {
        panic!("a comparison")
    };
    assert!(matches!(
        **right,
        eql::Expr::Literal(eql::Literal {
            value: eql::Value::Float(f),
            ..
        }) if f == 1e20
    ));
    // Past the range of a double, it is still an error.
    let too_large = format!("any where n == 1{}", "0".repeat(400));
    assert_eq!(eql::parse(&too_large).unwrap_err().code, "eql::number");
}

#[test]
fn a_whole_number_past_64_bits_matches_as_a_double() {
    let events = concat!(
        r#"{"@timestamp": "2024-01-01T00:00:01Z", "id": 1, "n": 1e20}"#,
        "\n",
        r#"{"@timestamp": "2024-01-01T00:00:02Z", "id": 2, "n": 5}"#,
        "\n",
        r#"{"@timestamp": "2024-01-01T00:00:03Z", "id": 3, "n": 100000000000000000000}"#,
        "\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(["query", "--eql", "any where n == 100000000000000000000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(events.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<i64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["_source"]["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 3]);
}
