//! Fuzz target `rule_load`: see [`ruleq_fuzz::rule_load`] for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ruleq_fuzz::rule_load(data));
