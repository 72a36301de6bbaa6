//! Fuzz target `event_read`: see [`ruleq_fuzz::event_read`] for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ruleq_fuzz::event_read(data));
