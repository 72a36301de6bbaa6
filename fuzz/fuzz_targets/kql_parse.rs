//! Fuzz target `kql_parse`: see [`ruleq_fuzz::kql_parse`] for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ruleq_fuzz::kql_parse(data));
