//! One module per editor feature, each a pure function from a world snapshot and the
//! request's parameters to the response.

pub mod code_action;
pub mod code_lens;
pub mod commands;
pub mod completion;
pub mod definition;
pub mod folding;
pub mod hover;
pub mod references;
pub mod rename;
pub mod symbols;
