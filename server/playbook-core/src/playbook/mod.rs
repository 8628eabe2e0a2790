//! Playbooks: the Markdown model and its parser.

mod blocks;
pub mod model;
mod parse;

pub use model::*;
pub use parse::parse;
