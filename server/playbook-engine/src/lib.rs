//! The engine owns every file-system access of the playbook tools, so that the core stays
//! pure and the CLI and the language server read the workspace the same way.

pub mod build;
pub mod fsutil;
pub mod handlers;
pub mod phase;
pub mod project;
pub mod report;
pub mod time;
pub mod workspace;
