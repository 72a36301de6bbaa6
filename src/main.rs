//! The `ruleq` command line. Each subcommand lives in its own module under
//! `src/cli/`; this file only dispatches.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
