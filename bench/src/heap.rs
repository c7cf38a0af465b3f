//! A global allocator that counts live heap bytes and blocks (as requested from the allocator,
//! not its overhead), for the binaries that measure what connections hold. Each binary installs
//! it with `#[global_allocator] static GLOBAL: Counting = Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use crate::peers::Res;

pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// The most live bytes since the last `reset_peak`.
static PEAK: AtomicIsize = AtomicIsize::new(0);

/// `by` bytes more are live.
fn grow(by: isize) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is passed on to `System` unchanged; the counting has no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grow(layout.size() as isize);
            BLOCKS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grow(layout.size() as isize);
            BLOCKS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        BLOCKS.fetch_sub(1, Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            grow(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[derive(Clone, Copy)]
pub struct Snapshot(isize, isize);

pub fn snapshot() -> Snapshot {
    Snapshot(LIVE.load(Relaxed), BLOCKS.load(Relaxed))
}

/// Starts a new peak from what is live now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
}

/// The most live bytes above `before`'s since the last `reset_peak`.
pub fn peak_since(before: Snapshot) -> isize {
    PEAK.load(Relaxed) - before.0
}

/// Live bytes and blocks allocated since `before`.
pub fn since(before: Snapshot) -> (isize, isize) {
    let now = snapshot();
    (now.0 - before.0, now.1 - before.1)
}

/// The resident set size of this process, in bytes (`/proc/self/statm`).
pub fn rss() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: isize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as isize
}

/// What holding `n` connections at once adds, per connection: live heap and RSS, in bytes.
/// The connection values themselves are in the heap figure too (they are held in a `Vec`
/// allocated after the first snapshot): a client whose socket is a large inline value costs its
/// user that much wherever it is kept (a task's future, a map). One connection is made and
/// dropped first, so one-time costs (the runtime's driver, lazy statics) are not counted.
pub async fn hold<T, F, Fut>(n: usize, connect: F) -> Res<(f64, f64)>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Res<T>>,
{
    drop(connect().await?);
    tokio::task::yield_now().await;
    let (heap, rss_before) = (snapshot(), rss());
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(connect().await?);
    }
    Ok(per_connection(n, heap, rss_before))
}

/// [`hold`] for blocking connections, made on this thread.
pub fn hold_blocking<T>(n: usize, connect: impl Fn() -> Res<T>) -> Res<(f64, f64)> {
    drop(connect()?);
    let (heap, rss_before) = (snapshot(), rss());
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(connect()?);
    }
    Ok(per_connection(n, heap, rss_before))
}

/// Heap and RSS added since `heap` and `rss_before`, per connection of `n`.
fn per_connection(n: usize, heap: Snapshot, rss_before: isize) -> (f64, f64) {
    let (bytes, _) = since(heap);
    let per = |total: isize| total as f64 / n as f64;
    (per(bytes), per(rss() - rss_before))
}

/// Runs this executable with `args`, which must make it print what [`hold`] returned (see
/// [`print_held`]): each client is measured in a fresh process, so neither the allocator's
/// state nor the RSS that one client leaves behind counts for the next.
pub fn held_in_child(args: &[&str]) -> Result<(f64, f64), String> {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>());
    match (fields.next(), fields.next()) {
        (Some(Ok(heap)), Some(Ok(rss))) => Ok((heap, rss)),
        _ => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
    }
}

/// The child side of [`held_in_child`].
pub fn print_held(held: Res<(f64, f64)>) {
    match held {
        Ok((heap, rss)) => println!("{heap} {rss}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

/// A byte count as a table shows it.
pub fn human_bytes(b: f64) -> String {
    if b.abs() >= 10.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}
