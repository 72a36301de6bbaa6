//! Fuzz target `optimize`: see [`ruleq_fuzz::optimize`] for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ruleq_fuzz::optimize(data));
