//! The condition language of `Required: conditional: <expr>` and inline follow-ups
//! `_(when <expr>)_` (product.md §2).
//!
//! INTERFACE STUB — the implementation (parser, evaluator, tests) is being written.

use crate::span::Span;
use crate::yaml::Node;

/// A parsed condition. `OR` binds loosest, `AND` tighter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Term(Term),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// `<ref> = <value>`
    Eq { item: Ref, value: Literal },
    /// `<ref> != <value>`
    Ne { item: Ref, value: Literal },
    /// `<ref> in [<v>, ...]`
    In { item: Ref, values: Vec<Literal> },
    /// `<ref> is non-empty`
    NonEmpty(Ref),
    /// `<ref> is empty`
    Empty(Ref),
    /// `any <Word> has <ref> = <value>`
    AnyHas { word: String, item: Ref, value: Literal },
}

/// A reference to a Discovery item, as written (backticks removed).
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    pub id: String,
    /// Byte range of the id inside the string given to [`parse`] (without backticks).
    pub span: Span,
    /// The `(Phase <n>)` qualifier, when present.
    pub phase: Option<u32>,
}

/// A literal value (backticks / quotes removed).
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    /// Byte range inside the parsed string where the problem is.
    pub span: Span,
}

/// Three-valued truth: a condition whose answers are not recorded yet is `Unknown`, which
/// never makes an item required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

/// What the evaluator sees of one answer.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// No answer (key absent, or a null value).
    Missing,
    /// Recorded as `!deferred` or `!unknown`: discussed, but no value to compare.
    Pending,
    Value(&'a Node),
}

pub trait Answers {
    fn answer(&self, id: &str) -> Answer<'_>;
}

pub fn parse(_src: &str) -> Result<Expr, ParseError> {
    Err(ParseError { message: "not implemented yet".into(), span: 0..0 })
}

impl Expr {
    pub fn refs(&self) -> Vec<&Ref> {
        Vec::new()
    }

    pub fn eval(&self, _answers: &dyn Answers) -> Truth {
        Truth::Unknown
    }
}
