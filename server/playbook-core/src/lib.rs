//! The pure core of the playbook tools: no async runtime, no global state, no I/O beyond what
//! the caller hands in. Text goes in, a model and findings with byte ranges come out.

pub mod condition;
pub mod finding;
pub mod span;
pub mod yaml;
