//! The Elasticsearch EQL conformance data (`RULEQ_SHARED`): every mapping
//! parses and every data file reads with no malformed entry.

mod common;

use std::path::{Path, PathBuf};

use ruleq::event::{EventSource, FieldTable, Input, Item, Projector};
use ruleq::mapping::{FieldType, Mapping};

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

/// What Elasticsearch's test loader does to a mapping file before use:
/// drops `#` comment lines and replaces the random keyword-type placeholder.
fn loader_mapping(text: &str, keyword_type: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("[runtime_random_keyword_type]", keyword_type)
}

#[test]
fn every_conformance_mapping_parses() {
    let Some(dir) = common::shared("conformance/elasticsearch-eql/data") else {
        return;
    };
    let mappings = files(&dir, "mapping");
    assert!(mappings.len() >= 8, "{}", mappings.len());
    for path in &mappings {
        let raw = std::fs::read_to_string(path).unwrap();
        for kw in ["keyword", "wildcard"] {
            let m = Mapping::parse(&loader_mapping(&raw, kw))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!m.is_empty());
            assert!(m.dangling_aliases().is_empty(), "{}", path.display());
            let cat = m.resolve("event.category");
            assert_ne!(
                cat,
                "event.category",
                "{}: event.category is an alias",
                path.display()
            );
            assert!(m.field(cat).is_some());
        }
    }
    let endgame = |kw| {
        let raw = std::fs::read_to_string(dir.join("endgame-140.mapping")).unwrap();
        Mapping::parse(&loader_mapping(&raw, kw)).unwrap()
    };
    let m = endgame("wildcard");
    assert_eq!(m.field("source_address").unwrap().ty, FieldType::Ip);
    assert_eq!(m.field("file_name").unwrap().ty, FieldType::Text);
    assert_eq!(
        m.field("file_name.wildcard")
            .unwrap()
            .multi_field_of
            .as_deref(),
        Some("file_name")
    );
    assert_eq!(m.resolve("event.sequence"), "serial_event_id");
    let extra =
        Mapping::from_file(&dir.join("extra.mapping")).expect("extra.mapping has no comment lines");
    assert_eq!(
        extra
            .field("optional_field_default_null")
            .unwrap()
            .null_value,
        Some(serde_json::json!("NULL"))
    );
    assert_eq!(extra.field("version").unwrap().ty, FieldType::Version);
    let mut samples = Mapping::new();
    for n in 1..=3 {
        samples.merge(Mapping::from_file(&dir.join(format!("sample{n}.mapping"))).unwrap());
    }
    let pretty = samples.field("@timestamp_pretty").unwrap();
    assert!(
        pretty.formats.contains(&"dd-MM-yyyy".to_string()),
        "{:?}",
        pretty.formats
    );
    assert!(
        pretty.formats.contains(&"yyyy-MM-dd".to_string()),
        "{:?}",
        pretty.formats
    );
}

#[test]
fn every_conformance_data_file_reads_without_malformed_entries() {
    let Some(dir) = common::shared("conformance/elasticsearch-eql/data") else {
        return;
    };
    let data = files(&dir, "data");
    assert!(data.len() >= 6);
    let tmp = std::env::temp_dir().join(format!("ruleq-event-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut table = FieldTable::new();
    let category = table.intern("event_type");
    let mut inputs = Vec::new();
    let mut expected_total = 0;
    for path in &data {
        // The conformance README: strip `//` comment lines first.
        let text: String = std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        // An independent count of the documents.
        let docs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        expected_total += docs.len() as u64;
        let copy = tmp.join(path.file_name().unwrap());
        std::fs::write(&copy, text).unwrap();
        inputs.push(Input::Path(copy));
    }
    if let Some(py) = common::shared("conformance/python-eql/test_data.json") {
        let docs: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&py).unwrap()).unwrap();
        expected_total += docs.len() as u64;
        inputs.push(Input::Path(py));
    }
    let mut src = EventSource::new(&inputs).unwrap();
    let mut proj = Projector::new(&table);
    let (mut events, mut with_category) = (0u64, 0u64);
    while let Some(item) = src.next_item() {
        match item.unwrap() {
            Item::Malformed(m) => panic!("{m}"),
            Item::Event(ev) => {
                let rec = proj
                    .project(ev.bytes)
                    .unwrap_or_else(|e| panic!("{}:{}: {e}", ev.path.display(), ev.pos.number()));
                events += 1;
                with_category += u64::from(rec.contains(category));
                proj.recycle(rec);
            }
        }
    }
    let stats = src.stats();
    assert_eq!(events, expected_total);
    assert_eq!(stats.events, expected_total);
    assert_eq!(stats.malformed, 0);
    assert_eq!(
        with_category, expected_total,
        "every document has event_type"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
