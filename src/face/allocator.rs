//! Limits on glibc's allocator that keep the daemon's memory low; set
//! once at start, before any thread, unless the environment already sets
//! them (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`).
//!
//! - Two arenas: glibc otherwise gives each thread that allocates a heap
//!   of its own, about 8 MiB more for ticketd's threads.
//! - A fixed mmap threshold of 128 KiB: sled allocates a 512 KiB log
//!   buffer for every durable write, and glibc's default raises the
//!   threshold after the first is freed, so later buffers come from the
//!   heap and leave it fragmented. Fixed, they are mapped and unmapped
//!   whole: a 10,000-message backlog peaked at 41-43 MiB in two runs,
//!   against 45-67 MiB without (docs/benchmarks.md).

/// Arenas glibc may create.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: i32 = 2;

/// Allocations from this size up are mapped on their own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Applies the limits of the module doc (nothing on other platforms).
pub fn limit_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        set_unless_in_env("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, ARENAS);
        set_unless_in_env(
            "MALLOC_MMAP_THRESHOLD_",
            libc::M_MMAP_THRESHOLD,
            MMAP_THRESHOLD,
        );
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // mallopt has no safe wrapper in a maintained crate.
fn set_unless_in_env(variable: &str, parameter: libc::c_int, value: libc::c_int) {
    if std::env::var_os(variable).is_none() {
        // SAFETY: mallopt only changes glibc's allocator settings; it is
        // called before the program starts any thread.
        unsafe {
            libc::mallopt(parameter, value);
        }
    }
}
