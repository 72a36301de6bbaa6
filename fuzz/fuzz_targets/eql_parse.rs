//! Fuzz target `eql_parse`: see [`ruleq_fuzz::eql_parse`] for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ruleq_fuzz::eql_parse(data));
