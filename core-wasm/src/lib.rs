//! curserve's search core: ripgrep-compatible search over file contents
//! held in memory. Engine modules know nothing of JavaScript; `edge` is the
//! one place that talks to it.

pub mod blobs;
pub mod corpus;
mod default_types;
pub mod filter;
pub mod grep;
pub mod json_text;
pub mod matcher;
pub mod prefilter;
pub mod printer;
pub mod search;
pub mod sketch;

mod edge;
