//! What may stop a search before it ends: the host calling it off (its
//! client left, or its time ran out) and the heap growing past what one
//! search may take. A long search asks [`Interrupt::tick`] as it goes, so
//! it stops within one chunk's worth of work (see `search::CHUNK_BYTES`).
//! The host may also ask a search to pause ([`HostWord::Yield`]): it then
//! ends after the file it is in, saying where to resume.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why a search stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The host called it off (the request was cancelled).
    Cancelled,
    /// The host's time budget for the request ran out.
    TimedOut,
    /// Its output took more than [`MAX_SEARCH_HEAP`] bytes of heap.
    OutputTooLarge,
}

impl Stop {
    /// The message the host reports (stable: the host matches on it).
    pub fn message(self) -> String {
        match self {
            Stop::Cancelled => "search cancelled".to_string(),
            Stop::TimedOut => "search timed out".to_string(),
            Stop::OutputTooLarge => format!(
                "search output too large: over {} MiB; narrow the search or limit its output",
                MAX_SEARCH_HEAP >> 20
            ),
        }
    }
}

/// Heap one search may add (its output, mostly). WebAssembly memory ends at
/// 4 GiB and a growing output needs its old and new buffers at once (1.5
/// GiB at this ceiling, besides the files held), so
/// without a ceiling an answer of a few GiB (`--json ''` on a 50 MB file)
/// aborts the whole instance instead of failing one request.
pub const MAX_SEARCH_HEAP: usize = 512 << 20;

/// What the host answers when asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostWord {
    GoOn,
    /// Another request waits: end at the next file boundary, resumably.
    Yield,
    Stop(Stop),
}

/// Work (bytes scanned) between two questions to the host: a question is a
/// call out of WebAssembly (tens of nanoseconds), a chunk is microseconds
/// for a literal scan and milliseconds for the slowest regexes.
const POLL_EVERY: usize = 32 << 10;

/// Asks the host, now and then, whether to go on.
pub struct Interrupt<'h> {
    host: &'h dyn Fn() -> HostWord,
    heap_at_start: usize,
    since_poll: Cell<usize>,
    stopped: Cell<Option<Stop>>,
    yield_asked: Cell<bool>,
}

impl<'h> Interrupt<'h> {
    pub fn new(host: &'h dyn Fn() -> HostWord) -> Interrupt<'h> {
        Interrupt {
            host,
            heap_at_start: heap_in_use(),
            since_poll: Cell::new(0),
            stopped: Cell::new(None),
            yield_asked: Cell::new(false),
        }
    }

    /// Never stops (tests, and callers with nothing to cancel).
    pub fn never() -> Interrupt<'static> {
        Interrupt::new(&|| HostWord::GoOn)
    }

    /// Counts `work` bytes done; returns true when the search must stop.
    /// Asks the host once per [`POLL_EVERY`] bytes; checks the heap always
    /// (a load and a compare).
    pub fn tick(&self, work: usize) -> bool {
        if self.stopped.get().is_some() {
            return true;
        }
        if heap_in_use().saturating_sub(self.heap_at_start) > MAX_SEARCH_HEAP {
            self.stopped.set(Some(Stop::OutputTooLarge));
            return true;
        }
        let done = self.since_poll.get() + work;
        if done < POLL_EVERY {
            self.since_poll.set(done);
            return false;
        }
        self.since_poll.set(0);
        match (self.host)() {
            HostWord::GoOn => {}
            HostWord::Yield => self.yield_asked.set(true),
            HostWord::Stop(why) => self.stopped.set(Some(why)),
        }
        self.stopped.get().is_some()
    }

    /// Whether the host asked the search to pause (it goes on until it
    /// reaches a place it can resume from).
    pub fn yield_asked(&self) -> bool {
        self.yield_asked.get()
    }

    /// Why the search stopped, if it did.
    pub fn stopped(&self) -> Option<Stop> {
        self.stopped.get()
    }
}

/// Bytes currently allocated on the heap.
pub fn heap_in_use() -> usize {
    HEAP_IN_USE.load(Ordering::Relaxed)
}

static HEAP_IN_USE: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting what is in use (for [`Interrupt`]).
pub struct CountingAlloc;

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            HEAP_IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            HEAP_IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        HEAP_IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            HEAP_IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
            HEAP_IN_USE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_asked_once_per_chunk_of_work() {
        let asked = Cell::new(0);
        let host = || {
            asked.set(asked.get() + 1);
            if asked.get() >= 2 {
                HostWord::Stop(Stop::Cancelled)
            } else {
                HostWord::GoOn
            }
        };
        let i = Interrupt::new(&host);
        assert!(!i.tick(POLL_EVERY - 1));
        assert_eq!(asked.get(), 0);
        assert!(!i.tick(1), "first answer says go on");
        assert!(i.tick(POLL_EVERY));
        assert_eq!(i.stopped(), Some(Stop::Cancelled));
        assert!(i.tick(0), "stays stopped");
        assert_eq!(asked.get(), 2);
    }

    #[test]
    fn a_yield_goes_on_and_is_remembered() {
        let host = || HostWord::Yield;
        let i = Interrupt::new(&host);
        assert!(!i.yield_asked());
        assert!(!i.tick(POLL_EVERY), "a yield does not stop the work in hand");
        assert!(i.yield_asked());
        assert_eq!(i.stopped(), None);
    }

    #[test]
    fn heap_growth_past_the_ceiling_stops() {
        let i = Interrupt::never();
        // With room to spare: on the host, other test threads share the
        // process-wide count and may free memory meanwhile (WebAssembly runs
        // one thread).
        let big: Vec<u8> = Vec::with_capacity(MAX_SEARCH_HEAP + (64 << 20));
        assert!(i.tick(0));
        assert_eq!(i.stopped(), Some(Stop::OutputTooLarge));
        drop(big);
    }
}
