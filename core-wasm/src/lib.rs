//! curserve's search core: ripgrep-compatible search over file contents
//! held in memory. Engine modules know nothing of JavaScript; `edge` is the
//! one place that talks to it.

pub mod content_hash;
pub mod blobs;
pub mod corpus;
mod default_types;
pub mod filter;
pub mod grep;
pub mod json_text;
pub mod limits;
pub mod matcher;
pub mod prefilter;
pub mod program_size;
pub mod printer;
pub mod search;
pub mod sketch;
pub mod sketch_file;
pub mod transcode;

mod edge;

/// Counts heap in use, so that a search can stop before its output
/// exhausts memory (see [`limits::Interrupt`]).
#[global_allocator]
static ALLOC: limits::CountingAlloc = limits::CountingAlloc;
