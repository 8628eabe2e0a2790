//! The pure core of the playbook tools: no async runtime, no global state, no I/O beyond what
//! the caller hands in. Text goes in, a model and findings with byte ranges come out.

pub mod analysis;
pub mod case;
pub mod condition;
pub mod finding;
pub mod hash;
pub mod phase;
pub mod playbook;
pub mod report;
pub mod schema;
pub mod span;
pub mod state;
pub mod suggest;
pub mod testing;
pub mod types;
pub mod validation;
pub mod yaml;
