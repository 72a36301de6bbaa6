//! The `ruleq` command line. Each subcommand lives in its own module under
//! `src/cli/`; this file only dispatches.

mod cli;

/// mimalloc: a run over many rules allocates and frees small buffers for
/// every event a rule keeps, often on one thread and freed on another
/// (workers evaluate, the collecting thread releases). glibc's allocator
/// spent about a quarter of such a run in `malloc`/`free` and serialises
/// the cross-thread frees; mimalloc does neither.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option numbers (`mi_option_e` in its `mimalloc.h`; checked
/// against their documented defaults by a test below).
mod mi_option {
    /// Whether arenas are committed when reserved (default 2: on systems
    /// that overcommit, such as Linux).
    pub const ARENA_EAGER_COMMIT: i32 = 4;
    /// Milliseconds before freed memory is returned to the system (default
    /// 1000).
    pub const PURGE_DELAY: i32 = 15;
    /// Whether transparent huge pages may back the heap (default 1).
    pub const ALLOW_THP: i32 = 43;
}

/// Sets a mimalloc option unless the user set it through mimalloc's
/// environment variable (theirs wins).
fn set_option(option: i32, value: std::ffi::c_long, variable: &str) {
    if std::env::var_os(variable).is_none() {
        // SAFETY: `mi_option_set` stores a value in mimalloc's option table
        // (atomically); any option number and value are valid.
        unsafe { libmimalloc_sys::mi_option_set(option, value) };
    }
}

/// Commits arena memory as it is needed rather than when reserved. Freed
/// memory is kept for mimalloc's default second while rules load: loading
/// and compiling rules frees and reuses a lot, and returning it at once
/// cost the corpus rules' start-up 25,000 page faults (0.2 s of 1.2 s).
///
/// No transparent huge pages: where the system allows them, a partly used
/// 2 MiB page is resident whole, and one faulted in again after a purge is
/// zeroed whole. Without them the seed rules' peak on 1M events went from
/// 89 to 76 MB (2 threads) and the corpus rules' from 300 to 256 MB, at
/// the same speed.
fn tune_allocator() {
    set_option(
        mi_option::ARENA_EAGER_COMMIT,
        0,
        "MIMALLOC_ARENA_EAGER_COMMIT",
    );
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // mimalloc reads the option when the process starts, before
        // `main`: the system call it would make is made here.
        set_option(mi_option::ALLOW_THP, 0, "MIMALLOC_ALLOW_THP");
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_THP_DISABLE sets a flag of this process's memory
        // map; it takes no pointers. On failure THP simply stays allowed.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

/// From now on, returns freed memory to the system at once: called when a
/// run starts reading events, so that its resident memory stays near what
/// it uses (with the default delay a run with the bundled rules peaks
/// about 25% higher than with glibc's allocator).
pub(crate) fn return_freed_memory_at_once() {
    set_option(mi_option::PURGE_DELAY, 0, "MIMALLOC_PURGE_DELAY");
}

/// Back to mimalloc's default delay before freed memory is returned: called
/// when a run has read every event, where returning each freed page at once
/// cost the corpus rules about 60 ms of system calls at the end.
pub(crate) fn keep_freed_memory_a_while() {
    set_option(mi_option::PURGE_DELAY, 1000, "MIMALLOC_PURGE_DELAY");
}

fn main() {
    tune_allocator();
    std::process::exit(cli::run());
}

#[cfg(test)]
mod tests {
    use super::mi_option;

    /// The option numbers name the options meant: each reads as its
    /// documented default until set (unless the environment sets it).
    #[test]
    fn allocator_option_numbers_match_their_defaults() {
        // SAFETY: reading an option is always valid.
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            assert_eq!(get(mi_option::ARENA_EAGER_COMMIT), 2);
        }
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(mi_option::PURGE_DELAY), 1000);
        }
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            assert_eq!(get(mi_option::ALLOW_THP), 1);
        }
    }
}
