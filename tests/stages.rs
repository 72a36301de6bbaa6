//! Routing without Spark: the map and reduce stages of a distributed run
//! (`ruleq::detect::stage`), driven over arbitrary splits of the input and
//! arbitrary assignments of partitions to reducers, write the same alert
//! documents as one run over the whole input. This catches a wrongly
//! routed rule type (a sequence split across partitions, a threshold
//! rule's executions cut apart).

use ruleq::detect::stage::{attach_texts, parse_text, Routed, Split, RECORD};
use ruleq::detect::{load_rules, Config, Detector, Executions, Feedback};
use ruleq::event::{EventSource, FileNames, Input};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const NOW: &str = "2026-03-02T00:00:00Z";

fn config(schedule: bool) -> Config {
    routing_config(schedule, ruleq::engine::MAX_PARTIALS, Default::default(), 2)
}

fn routing_config(
    schedule: bool,
    max_partials: usize,
    exceptions: ruleq::exceptions::Exceptions,
    threads: usize,
) -> Config {
    let indicators = ruleq::indicators::Indicators::read(&[Input::Path(
        "examples/telnet-indicators.ndjson".into(),
    )])
    .unwrap();
    Config {
        now: ruleq::compile::date::parse_iso(NOW).unwrap().lo,
        executions: if schedule {
            Executions::Schedule
        } else {
            Executions::Single
        },
        indicators: Arc::new(indicators),
        threads,
        max_partials,
        exceptions,
        ..Config::default()
    }
}

fn detector_of(rules: &[PathBuf], schedule: bool) -> Detector {
    Detector::new(load_rules(rules).unwrap(), config(schedule))
}

/// The documents of an outcome's alerts, sorted.
fn documents(outcome: ruleq::detect::Outcome<'_>, into: &mut Vec<String>) {
    outcome
        .alerts
        .finish(|doc| {
            into.push(doc.to_string());
            Ok(())
        })
        .unwrap();
}

/// One run over the whole file.
fn whole(d: &Detector, path: &Path) -> Vec<String> {
    let inputs = [Input::Path(path.to_path_buf())];
    let names = FileNames::new(&inputs);
    let source = EventSource::new(&inputs).unwrap();
    let mut docs = Vec::new();
    documents(
        d.pass(source, &names, &Feedback::quiet()).finish(),
        &mut docs,
    );
    docs.sort();
    docs
}

/// The file's lines cut at `cuts`, each split through a map stage; the
/// routed records' partitions dealt to `reducers` reducers by `deal`; each
/// reducer's records through a reduce stage.
/// (One detector runs every stage: a pass leaves it as it was.)
fn staged(
    d: &Detector,
    dir: &Path,
    lines: &[&str],
    cuts: &[usize],
    reducers: usize,
    deal: impl Fn(&str) -> usize,
) -> Vec<String> {
    let mut docs = Vec::new();
    let mut partitions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut texts: HashMap<(usize, u64), Arc<[u8]>> = HashMap::new();
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(lines.len());
    for (n, w) in bounds.windows(2).enumerate() {
        let part = dir.join(format!("split-{n}.ndjson"));
        let mut text = lines[w[0]..w[1]].join("\n");
        text.push('\n');
        std::fs::write(&part, text).unwrap();
        let split = Split {
            name: "events.ndjson".into(),
            index: 0,
            first_line: w[0] as u64 + 1,
        };
        let inputs = [Input::Path(part)];
        let names = FileNames::new(&inputs);
        let source = EventSource::new(&inputs).unwrap();
        let mut routed = Vec::new();
        let passed = d.map(source, &names, &split, &Feedback::quiet(), &mut |l| {
            routed.push(l.to_string())
        });
        documents(passed.finish(), &mut docs);
        for line in routed {
            if let Some(rest) = line.strip_prefix("T\t") {
                let (event, text) = parse_text(rest).unwrap();
                texts.insert(event, Arc::from(text.as_bytes()));
                continue;
            }
            let mut parts = line.splitn(3, '\t');
            assert_eq!(parts.next(), Some(RECORD));
            let key = parts.next().unwrap().to_string();
            partitions
                .entry(key)
                .or_default()
                .push(parts.next().unwrap().to_string());
        }
    }
    let mut dealt: Vec<Vec<Routed>> = vec![Vec::new(); reducers];
    for (key, records) in partitions {
        // Within a reducer the records come in any order.
        for r in records.into_iter().rev() {
            dealt[deal(&key) % reducers].push(serde_json::from_str(&r).unwrap());
        }
    }
    let names = FileNames::verbatim();
    for mut records in dealt {
        // The texts this reducer's alerts show: only those go with its
        // records (as the Spark driver sends them).
        let shown = d
            .shown(records.clone(), &names, &Feedback::quiet())
            .unwrap();
        let given: HashMap<(usize, u64), Arc<[u8]>> = shown
            .iter()
            .map(|e| (*e, texts.get(e).expect("a text no map stage wrote").clone()))
            .collect();
        attach_texts(&mut records, &given);
        let passed = d.reduce(records, &names, &Feedback::quiet()).unwrap();
        documents(passed.finish(), &mut docs);
    }
    docs.sort();
    docs
}

/// The example's events and `n` generated ones, in time order (stably:
/// each file must be, for the stages to give one run's alerts), with a
/// malformed line among them.
fn in_time_order(n: u64) -> String {
    let mut events: Vec<(String, String)> = Vec::new();
    let mut add = |l: &str| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        events.push((v["@timestamp"].as_str().unwrap().to_string(), l.to_string()));
    };
    std::fs::read_to_string("examples/telnet-events.ndjson")
        .unwrap()
        .lines()
        .for_each(&mut add);
    ruleq::gen::generate(n, 1, add);
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = String::new();
    for (i, (_, l)) in events.iter().enumerate() {
        if i == 2_000 {
            text.push_str("{not json\n");
        }
        text.push_str(l);
        text.push('\n');
    }
    text
}

/// A fresh folder `name` holding `events.ndjson`: the example's and 6,000
/// generated events in time order, with a malformed line ([`in_time_order`]).
fn events_in(name: &str) -> (PathBuf, PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = in_time_order(6_000);
    let path = dir.join("events.ndjson");
    std::fs::write(&path, &text).unwrap();
    (dir, path, text)
}

#[test]
fn map_and_reduce_write_what_one_run_writes() {
    // The bundled example (every rule type alerts on it) and generated
    // events, with a malformed line.
    let (dir, path, text) = events_in("stages");
    let lines: Vec<&str> = text.lines().collect();
    let rules = [PathBuf::from("rules")];
    for schedule in [false, true] {
        let d = detector_of(&rules, schedule);
        let one = whole(&d, &path);
        assert!(one.len() > 100, "{}", one.len());
        for (cuts, reducers) in [
            (vec![], 1),
            (vec![7, 20, 3_000], 3),
            (vec![1, 2, 3, 4, 5, 2_500, 2_501], 2),
        ] {
            let deal = |key: &str| key.bytes().map(usize::from).sum::<usize>();
            let got = staged(&d, &dir, &lines, &cuts, reducers, deal);
            assert_eq!(
                got.len(),
                one.len(),
                "schedule {schedule}, cuts {cuts:?}: {} documents, one run {}",
                got.len(),
                one.len()
            );
            assert!(
                got == one,
                "schedule {schedule}, cuts {cuts:?}: documents differ"
            );
        }
    }
}

/// The same over every corpus rule ruleq runs and corpus-profile events
/// (each rule type of the corpus routed as its kind needs). Needs
/// `RULEQ_SHARED`.
#[test]
fn corpus_rules_through_the_stages() {
    let Some(root) = std::env::var_os("RULEQ_SHARED") else {
        eprintln!("skipped: RULEQ_SHARED is not set (the shared corpus is not available)");
        return;
    };
    let corpus = PathBuf::from(root).join("corpus/detection-rules");
    assert!(
        corpus.exists(),
        "RULEQ_SHARED is set but {} does not exist",
        corpus.display()
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stages-corpus");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::new();
    ruleq::gen::generate_with(20_000, 1, ruleq::gen::Profile::Corpus, |l| {
        text.push_str(l);
        text.push('\n');
    });
    let path = dir.join("events.ndjson");
    std::fs::write(&path, &text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let rules = [corpus];
    for schedule in [false, true] {
        let d = detector_of(&rules, schedule);
        let one = whole(&d, &path);
        assert!(one.len() > 100, "{}", one.len());
        let deal = |key: &str| key.len();
        let got = staged(&d, &dir, &lines, &[4_321, 12_000], 3, deal);
        assert_eq!(got.len(), one.len(), "schedule {schedule}");
        assert!(got == one, "schedule {schedule}: documents differ");
    }
}

/// The rules of the project's own that each routed kind has
/// (`tests/fixtures/stages`: sequences with and without maxspan, with a
/// missing-event step, with until, a sample, a threshold with a
/// cardinality, query and sequence rules with an exception list, a query
/// rule suppressed for a duration, a suppressed indicator match rule; the
/// suppression fixtures: query, EQL event query, new_terms and threshold
/// rules suppressed; the bundled rules: threshold, new_terms, indicator
/// match), over the example and generated events in time order: each kind
/// alerts, and the stages write what one run writes, in both modes and
/// with a limit of partial sequences that drops some.
#[test]
fn every_routed_kind_through_the_stages() {
    let (dir, path, text) = events_in("stages-kinds");
    let lines: Vec<&str> = text.lines().collect();
    let mut rules = vec![
        PathBuf::from("rules"),
        PathBuf::from("tests/fixtures/stages"),
    ];
    for f in [
        "query_by_host",
        "eql_by_host",
        "new_terms_by_host",
        "threshold_by_host",
    ] {
        rules.push(PathBuf::from(format!(
            "tests/fixtures/suppression/{f}.toml"
        )));
    }
    let lists = ruleq::exceptions::load::read(Path::new(
        "tests/fixtures/exceptions/noise-list_exceptions.toml",
    ))
    .unwrap();
    assert!(!lists.has_errors());
    let kinds: Vec<String> = std::fs::read_dir("tests/fixtures/stages")
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let line = text.lines().find(|l| l.starts_with("rule_id = ")).unwrap();
            line.trim_start_matches("rule_id = ")
                .trim_matches('"')
                .to_string()
        })
        .collect();
    assert_eq!(kinds.len(), 10);
    for (schedule, max_partials, threads) in [
        (false, ruleq::engine::MAX_PARTIALS, 2),
        (true, ruleq::engine::MAX_PARTIALS, 2),
        (false, 3, 2),
        (false, ruleq::engine::MAX_PARTIALS, 1),
    ] {
        let exceptions = ruleq::exceptions::Exceptions {
            now: ruleq::compile::date::parse_iso(NOW).unwrap().lo,
            lists: lists.lists.clone(),
            ..Default::default()
        };
        let config = routing_config(schedule, max_partials, exceptions, threads);
        let d = Detector::new(load_rules(&rules).unwrap(), config);
        assert_eq!(d.selection().failed, 0);
        let one = whole(&d, &path);
        let alerted: std::collections::BTreeSet<String> = one
            .iter()
            .map(|doc| {
                let v: serde_json::Value = serde_json::from_str(doc).unwrap();
                v["kibana.alert.rule.rule_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        for kind in &kinds {
            assert!(alerted.contains(kind), "{kind} raised no alert");
        }
        let case = format!("schedule {schedule}, max_partials {max_partials}, threads {threads}");
        for (cuts, reducers) in [
            (vec![10, 29, 3_000], 3),
            (vec![1, 2, 1_500, 1_501, 4_000], 2),
        ] {
            let deal = |key: &str| key.bytes().map(usize::from).sum::<usize>();
            let got = staged(&d, &dir, &lines, &cuts, reducers, deal);
            assert_eq!(got.len(), one.len(), "{case}, cuts {cuts:?}");
            assert!(got == one, "{case}, cuts {cuts:?}: documents differ");
        }
    }
}
