//! The condition language of `Required: conditional: <expr>` and of inline follow-ups
//! `_(when <expr>)_` (product.md §2): a parser that keeps byte ranges for every item reference
//! and value, and a three-valued evaluator over a working case's answers.
//!
//! ```text
//! expr  := and (OR and)*                 -- keywords are whole words, any case
//! and   := prim (AND prim)*
//! prim  := '(' expr ')' | term
//! term  := ref '=' value | ref '!=' value | ref 'in' '[' value (',' value)* ']'
//!        | ref 'is' 'non-empty' | ref 'is' 'empty' | 'any' Word 'has' ref '=' value
//! ref   := id | '`' id '`', optionally followed by '(Phase <n>)'
//! value := '`…`' | '"…"' | '\'…\'' | bare text up to the next ` OR ` / ` AND `
//!          (inside a list: up to `,` or `]`), trimmed
//! ```
//!
//! A trailing `.` is ignored, `==` is accepted for `=`, `is not empty` for `is non-empty`, and
//! the `[`/`]` of a list may carry GitBook's backslash escape (`\[`). A bare value also stops at
//! a `)` it did not open, so that grouping parentheses work around bare values.
//!
//! Evaluation is Kleene logic: a term whose referenced answer is missing, null, `!deferred` or
//! `!unknown` is [`Truth::Unknown`], and `Unknown` never makes an item required. Scalars compare
//! as booleans when both sides are booleans, else as numbers when both are numbers, else as
//! trimmed, case-insensitive text. The `(Phase <n>)` qualifier is kept for the checker and the
//! editor; evaluation looks the id up in the one set of answers it is given.

use std::fmt;

use crate::span::Span;
use crate::yaml::{Node, NodeKind, parse_bool, parse_number};

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

/// Parse a condition. Spans in the result (and in the error) are byte ranges into `src`.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    Parser::new(src).parse_all()
}

impl Expr {
    /// The same expression with every span zeroed: compares shapes across spellings (a
    /// printed and re-parsed condition, say).
    pub fn without_spans(&self) -> Expr {
        let r = |r: &Ref| Ref { span: 0..0, ..r.clone() };
        let l = |l: &Literal| Literal { span: 0..0, ..l.clone() };
        match self {
            Expr::Or(items) => Expr::Or(items.iter().map(Expr::without_spans).collect()),
            Expr::And(items) => Expr::And(items.iter().map(Expr::without_spans).collect()),
            Expr::Term(t) => Expr::Term(match t {
                Term::Eq { item, value } => Term::Eq { item: r(item), value: l(value) },
                Term::Ne { item, value } => Term::Ne { item: r(item), value: l(value) },
                Term::In { item, values } => Term::In { item: r(item), values: values.iter().map(l).collect() },
                Term::NonEmpty(item) => Term::NonEmpty(r(item)),
                Term::Empty(item) => Term::Empty(r(item)),
                Term::AnyHas { word, item, value } => Term::AnyHas { word: word.clone(), item: r(item), value: l(value) },
            }),
        }
    }

    /// Every item reference, in source order (an id referenced twice is listed twice).
    pub fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'e>(&'e self, out: &mut Vec<&'e Ref>) {
        match self {
            Expr::Or(items) | Expr::And(items) => items.iter().for_each(|e| e.collect_refs(out)),
            Expr::Term(term) => out.push(term.item()),
        }
    }

    /// Kleene evaluation: `OR` is true if any operand is, `AND` false if any operand is,
    /// otherwise an `Unknown` operand makes the whole `Unknown`.
    pub fn eval(&self, answers: &dyn Answers) -> Truth {
        match self {
            Expr::Or(items) => items.iter().fold(Truth::False, |acc, e| acc.or(e.eval(answers))),
            Expr::And(items) => items.iter().fold(Truth::True, |acc, e| acc.and(e.eval(answers))),
            Expr::Term(term) => term.eval(answers),
        }
    }
}

impl Term {
    /// The item the term asks about.
    pub fn item(&self) -> &Ref {
        match self {
            Term::Eq { item, .. }
            | Term::Ne { item, .. }
            | Term::In { item, .. }
            | Term::NonEmpty(item)
            | Term::Empty(item)
            | Term::AnyHas { item, .. } => item,
        }
    }

    /// The term's truth: `Unknown` whenever the referenced answer has no value to look at.
    pub fn eval(&self, answers: &dyn Answers) -> Truth {
        let Some(node) = value_of(answers, self.item()) else {
            return Truth::Unknown;
        };
        match self {
            Term::Eq { value, .. } => equals(node, &value.text),
            Term::Ne { value, .. } => !equals(node, &value.text),
            Term::In { values, .. } => match &node.kind {
                NodeKind::Scalar(s) => values.iter().any(|v| scalar_eq(&s.value, &v.text)).into(),
                NodeKind::Seq(items) => items.iter().any(|n| values.iter().any(|v| element_eq(n, &v.text))).into(),
                NodeKind::Map(_) => Truth::False,
                NodeKind::Alias => Truth::Unknown,
            },
            Term::NonEmpty(_) => (!node.is_empty_value()).into(),
            Term::Empty(_) => node.is_empty_value().into(),
            Term::AnyHas { value, .. } => match &node.kind {
                NodeKind::Map(entries) => entries.iter().any(|e| element_eq(&e.value, &value.text)).into(),
                NodeKind::Seq(items) => items.iter().any(|n| element_eq(n, &value.text)).into(),
                NodeKind::Scalar(_) => Truth::False,
                NodeKind::Alias => Truth::Unknown,
            },
        }
    }
}

impl Truth {
    /// Kleene conjunction: `False` wins, then `Unknown`.
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }

    /// Kleene disjunction: `True` wins, then `Unknown`.
    pub fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        }
    }

    /// Only `True` counts: an `Unknown` condition does not make an item required.
    pub fn is_true(self) -> bool {
        self == Truth::True
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

impl From<bool> for Truth {
    fn from(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }
}

impl fmt::Display for Truth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Truth::True => "true",
            Truth::False => "false",
            Truth::Unknown => "unknown",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation helpers

fn is_pending_tag(node: &Node) -> bool {
    matches!(node.tag.as_deref(), Some("!deferred" | "!unknown"))
}

/// The answer's node when there is a value to compare; `None` makes the term `Unknown`.
/// Null and pending nodes are treated as the trait documents even if an `Answers` passes them
/// through as values; unresolved aliases cannot be compared either.
fn value_of<'a>(answers: &'a dyn Answers, item: &Ref) -> Option<&'a Node> {
    match answers.answer(&item.id) {
        Answer::Value(node) if !node.is_null() && !is_pending_tag(node) && !matches!(node.kind, NodeKind::Alias) => Some(node),
        _ => None,
    }
}

fn equals(node: &Node, literal: &str) -> Truth {
    match &node.kind {
        NodeKind::Scalar(s) => scalar_eq(&s.value, literal).into(),
        NodeKind::Seq(items) => items.iter().any(|n| element_eq(n, literal)).into(),
        NodeKind::Map(_) => Truth::False,
        NodeKind::Alias => Truth::Unknown,
    }
}

/// An element of a list or a value of a map: only a scalar with a value can equal a literal.
fn element_eq(node: &Node, literal: &str) -> bool {
    match node.as_scalar() {
        Some(s) => !node.is_null() && !is_pending_tag(node) && scalar_eq(&s.value, literal),
        None => false,
    }
}

/// Booleans when both sides are booleans, numbers when both are numbers, else trimmed text
/// compared without regard to case.
fn scalar_eq(answer: &str, literal: &str) -> bool {
    if let (Some(a), Some(b)) = (parse_bool(answer), parse_bool(literal)) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (parse_number(answer), parse_number(literal)) {
        return a == b;
    }
    let (a, b) = (answer.trim(), literal.trim());
    a == b || a.to_lowercase() == b.to_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Parser

/// Grouping parentheses deeper than this are refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

fn err(message: impl Into<String>, span: Span) -> ParseError {
    ParseError { message: message.into(), span }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `s` starts with keyword `kw` (ASCII, any case) as a whole word.
fn starts_with_keyword(s: &str, kw: &str) -> bool {
    s.get(..kw.len()).is_some_and(|w| w.eq_ignore_ascii_case(kw)) && s[kw.len()..].chars().next().is_none_or(|c| !is_word_char(c))
}

/// Length of the bare value at the start of `s`, trailing whitespace excluded. It runs up to
/// whitespace followed by `OR`/`AND`, a `)` it did not open, and inside a list `,` or `]`.
fn scan_bare(s: &str, list: bool) -> usize {
    let mut depth = 0usize;
    let mut stop = s.len();
    for (i, c) in s.char_indices() {
        let next = &s[i + c.len_utf8()..];
        let ends = match c {
            '(' => {
                depth += 1;
                false
            }
            ')' if depth == 0 => true,
            ')' => {
                depth -= 1;
                false
            }
            ',' | ']' => list,
            '\\' => list && next.starts_with(']'),
            c if c.is_whitespace() => !list && (starts_with_keyword(next, "or") || starts_with_keyword(next, "and")),
            _ => false,
        };
        if ends {
            stop = i;
            break;
        }
    }
    s[..stop].trim_end().len()
}

struct Parser<'s> {
    src: &'s str,
    /// Where the condition ends: trailing whitespace and one trailing `.` are not part of it.
    end: usize,
    pos: usize,
    depth: usize,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str) -> Self {
        let mut end = src.trim_end().len();
        if src[..end].ends_with('.') {
            end = src[..end - 1].trim_end().len();
        }
        Parser { src, end, pos: 0, depth: 0 }
    }

    fn rest(&self) -> &'s str {
        self.src.get(self.pos..self.end).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, s: &str) -> bool {
        let found = self.rest().starts_with(s);
        if found {
            self.pos += s.len();
        }
        found
    }

    fn at_keyword(&self, kw: &str) -> bool {
        starts_with_keyword(self.rest(), kw)
    }

    fn eat_keyword(&mut self, kw: &str) -> Option<Span> {
        self.at_keyword(kw).then(|| {
            let start = self.pos;
            self.pos += kw.len();
            start..self.pos
        })
    }

    fn text(&self, span: &Span) -> &'s str {
        self.src.get(span.clone()).unwrap_or("")
    }

    /// The whitespace-delimited word at the current position (after whitespace), or an empty
    /// range at the end of the condition.
    fn token(&self) -> Span {
        let rest = self.rest();
        let start = self.pos + (rest.len() - rest.trim_start().len());
        let word = &self.src[start..self.end];
        let len = word.find(char::is_whitespace).unwrap_or(word.len());
        start..start + len
    }

    /// The next token, or `fallback` when nothing is left to point at.
    fn token_or(&self, fallback: &Span) -> Span {
        let token = self.token();
        if token.is_empty() { fallback.clone() } else { token }
    }

    fn parse_all(mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        if self.at_end() {
            return Err(err("empty condition", 0..self.src.len()));
        }
        let expr = self.parse_or(None)?;
        self.skip_ws();
        if !self.at_end() {
            if self.peek() == Some(')') {
                return Err(err("unmatched `)`", self.pos..self.pos + 1));
            }
            let token = self.token();
            let message = format!("unexpected `{}`: expected `AND`, `OR` or the end of the condition", self.text(&token));
            return Err(err(message, token));
        }
        Ok(expr)
    }

    /// `after` is the keyword or parenthesis the expression follows, for error messages.
    fn parse_or(&mut self, after: Option<Span>) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        let mut next = self.parse_and(after)?;
        loop {
            match next {
                Expr::Or(inner) => items.extend(inner),
                other => items.push(other),
            }
            self.skip_ws();
            let Some(kw) = self.eat_keyword("or") else { break };
            next = self.parse_and(Some(kw))?;
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn parse_and(&mut self, after: Option<Span>) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        let mut next = self.parse_primary(after)?;
        loop {
            match next {
                Expr::And(inner) => items.extend(inner),
                other => items.push(other),
            }
            self.skip_ws();
            let Some(kw) = self.eat_keyword("and") else { break };
            next = self.parse_primary(Some(kw))?;
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn parse_primary(&mut self, after: Option<Span>) -> Result<Expr, ParseError> {
        self.skip_ws();
        let expected = match &after {
            Some(span) => format!("expected a condition after `{}`", self.text(span)),
            None => "expected a condition".to_string(),
        };
        if self.at_end() {
            return Err(err(expected, after.unwrap_or(self.end..self.end)));
        }
        for kw in ["or", "and"] {
            if self.at_keyword(kw) {
                let span = self.pos..self.pos + kw.len();
                return Err(err(format!("{expected}, found `{}`", self.text(&span)), span));
            }
        }
        match self.peek() {
            Some('(') => self.parse_group(),
            Some(')') => Err(err(format!("{expected}, found `)`"), self.pos..self.pos + 1)),
            _ if self.at_any_has() => self.parse_any_has().map(Expr::Term),
            _ => self.parse_comparison().map(Expr::Term),
        }
    }

    fn parse_group(&mut self) -> Result<Expr, ParseError> {
        let open = self.pos..self.pos + 1;
        if self.depth >= MAX_DEPTH {
            return Err(err("parentheses nested too deeply", open));
        }
        self.pos += 1;
        self.depth += 1;
        let expr = self.parse_or(Some(open.clone()))?;
        self.depth -= 1;
        self.skip_ws();
        if self.eat(")") {
            return Ok(expr);
        }
        if self.at_end() {
            return Err(err("unclosed `(`", open));
        }
        let token = self.token();
        Err(err(format!("expected `)`, `AND` or `OR`, found `{}`", self.text(&token)), token))
    }

    /// `any <Word> has …`, as opposed to an item that happens to be called `any`
    /// (`any = yes`, `any is empty`, `any in [...]`).
    fn at_any_has(&self) -> bool {
        if !self.at_keyword("any") {
            return false;
        }
        let after = &self.rest()[3..];
        let next = after.trim_start();
        if next.len() == after.len() && !next.starts_with('`') {
            return false; // `any` directly followed by punctuation
        }
        let starts_word = next.chars().next().is_some_and(|c| is_word_char(c) || c == '`');
        starts_word && !starts_with_keyword(next, "is") && !starts_with_keyword(next, "in")
    }

    fn parse_any_has(&mut self) -> Result<Term, ParseError> {
        self.pos += 3; // `any`
        self.skip_ws();
        let start = self.pos;
        let (word, word_span) = if self.peek() == Some('`') {
            let inner = start + 1;
            let Some(len) = self.src[inner..self.end].find('`') else {
                return Err(err("unclosed backtick", start..self.end));
            };
            self.pos = inner + len + 1;
            (&self.src[inner..inner + len], start..self.pos)
        } else {
            let rest = self.rest();
            let len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
            self.pos += len;
            (&rest[..len], start..self.pos)
        };
        if word.is_empty() || !word.chars().all(is_word_char) {
            return Err(err("expected a word such as `Register` after `any`", word_span));
        }
        self.skip_ws();
        if self.eat_keyword("has").is_none() {
            let span = self.token_or(&word_span);
            return Err(err(format!("expected `has` after `any {word}`"), span));
        }
        let item = self.parse_ref()?;
        self.skip_ws();
        let op_start = self.pos;
        if !(self.eat("==") || self.eat("=")) {
            let span = self.token_or(&item.span);
            let message = if self.rest().starts_with("!=") {
                "only `=` can follow `any … has <item>`".to_string()
            } else {
                format!("expected `=` after `{}`", item.id)
            };
            return Err(err(message, span));
        }
        let value = self.parse_value(false, &(op_start..self.pos))?;
        Ok(Term::AnyHas { word: word.to_string(), item, value })
    }

    fn parse_comparison(&mut self) -> Result<Term, ParseError> {
        let item = self.parse_ref()?;
        self.skip_ws();
        let op_start = self.pos;
        if self.eat("!=") {
            let value = self.parse_value(false, &(op_start..self.pos))?;
            return Ok(Term::Ne { item, value });
        }
        if self.eat("==") || self.eat("=") {
            let value = self.parse_value(false, &(op_start..self.pos))?;
            return Ok(Term::Eq { item, value });
        }
        if let Some(kw) = self.eat_keyword("in") {
            let values = self.parse_list(&kw)?;
            return Ok(Term::In { item, values });
        }
        if let Some(kw) = self.eat_keyword("is") {
            self.skip_ws();
            if self.eat_keyword("non-empty").or_else(|| self.eat_keyword("nonempty")).is_some() {
                return Ok(Term::NonEmpty(item));
            }
            if self.eat_keyword("empty").is_some() {
                return Ok(Term::Empty(item));
            }
            if let Some(not) = self.eat_keyword("not") {
                self.skip_ws();
                if self.eat_keyword("empty").is_some() {
                    return Ok(Term::NonEmpty(item));
                }
                let span = self.token_or(&not);
                return Err(err("expected `empty` after `is not`", span));
            }
            let span = self.token_or(&kw);
            return Err(err("expected `empty` or `non-empty` after `is`", span));
        }
        let span = self.token_or(&item.span);
        let message = format!("expected `=`, `!=`, `in`, `is empty` or `is non-empty` after `{}`", item.id);
        Err(err(message, span))
    }

    fn parse_ref(&mut self) -> Result<Ref, ParseError> {
        self.skip_ws();
        let start = self.pos;
        let span = if self.peek() == Some('`') {
            let inner = start + 1;
            let Some(len) = self.src[inner..self.end].find('`') else {
                return Err(err("unclosed backtick", start..self.end));
            };
            let close = inner + len;
            self.pos = close + 1;
            let raw = &self.src[inner..close];
            let lead = raw.len() - raw.trim_start().len();
            let id_span = inner + lead..inner + lead + raw.trim().len();
            if id_span.is_empty() {
                return Err(err("expected an item id inside the backticks", start..self.pos));
            }
            id_span
        } else {
            let rest = self.rest();
            let len = rest.find(|c: char| c.is_whitespace() || "=!()[]`\"',".contains(c)).unwrap_or(rest.len());
            if len == 0 {
                return Err(match self.peek() {
                    None => err("expected an item id", self.end..self.end),
                    Some(c) => err(format!("expected an item id, found `{c}`"), self.pos..self.pos + c.len_utf8()),
                });
            }
            self.pos += len;
            start..self.pos
        };
        let id = self.text(&span);
        if !is_id(id) {
            let message = format!("`{id}` is not an item id (letters, digits and `_`, not starting with a digit)");
            return Err(err(message, span));
        }
        let phase = self.parse_phase()?;
        Ok(Ref { id: id.to_string(), span, phase })
    }

    /// An optional `(Phase <n>)` after an item id.
    fn parse_phase(&mut self) -> Result<Option<u32>, ParseError> {
        let save = self.pos;
        self.skip_ws();
        let open = self.pos;
        if !self.eat("(") {
            self.pos = save;
            return Ok(None);
        }
        self.skip_ws();
        if self.eat_keyword("phase").is_none() {
            // Not a qualifier; whatever the caller expects next will report the `(`.
            self.pos = save;
            return Ok(None);
        }
        let malformed = |p: &Self| {
            let close = p.rest().find(')').map_or(p.end, |i| p.pos + i + 1);
            err("expected a phase qualifier such as `(Phase 1)`", open..close)
        };
        self.skip_ws();
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(malformed(self));
        }
        let number = &self.src[self.pos..self.pos + digits];
        let Ok(phase) = number.parse::<u32>() else {
            return Err(err(format!("phase number `{number}` is too large"), self.pos..self.pos + digits));
        };
        self.pos += digits;
        self.skip_ws();
        if !self.eat(")") {
            return Err(malformed(self));
        }
        Ok(Some(phase))
    }

    /// A value after `after` (the operator, `[` or `,`), for error messages.
    fn parse_value(&mut self, list: bool, after: &Span) -> Result<Literal, ParseError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None => Err(err(format!("expected a value after `{}`", self.text(after)), after.clone())),
            Some(quote @ ('`' | '"' | '\'')) => {
                let inner = start + 1;
                let Some(len) = self.src[inner..self.end].find(quote) else {
                    let what = if quote == '`' { "backtick" } else { "quote" };
                    return Err(err(format!("unclosed {what} `{quote}`"), start..self.end));
                };
                self.pos = inner + len + 1;
                Ok(Literal { text: self.src[inner..inner + len].to_string(), span: inner..inner + len })
            }
            Some(c) => {
                let len = scan_bare(self.rest(), list);
                if len == 0 {
                    let message = format!("expected a value after `{}`, found `{c}`", self.text(after));
                    return Err(err(message, start..start + c.len_utf8()));
                }
                self.pos += len;
                Ok(Literal { text: self.src[start..self.pos].to_string(), span: start..self.pos })
            }
        }
    }

    fn parse_list(&mut self, in_kw: &Span) -> Result<Vec<Literal>, ParseError> {
        self.skip_ws();
        let open_start = self.pos;
        if !(self.eat("[") || self.eat("\\[")) {
            let span = self.token_or(in_kw);
            return Err(err("expected a list such as `[a, b]` after `in`", span));
        }
        let open = open_start..self.pos;
        let mut values = Vec::new();
        let mut after = open.clone();
        loop {
            self.skip_ws();
            if self.at_end() {
                return Err(err("unclosed `[`", open));
            }
            if self.eat("]") || self.eat("\\]") {
                if values.is_empty() {
                    return Err(err("empty list after `in`", open_start..self.pos));
                }
                return Ok(values);
            }
            values.push(self.parse_value(true, &after)?);
            self.skip_ws();
            let sep = self.pos;
            if self.eat(",") {
                after = sep..self.pos;
                continue;
            }
            if self.eat("]") || self.eat("\\]") {
                return Ok(values);
            }
            if self.at_end() {
                return Err(err("unclosed `[`", open));
            }
            let token = self.token();
            return Err(err(format!("expected `,` or `]`, found `{}`", self.text(&token)), token));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Display: a canonical spelling that parses back to the same expression.

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (items, sep) = match self {
            Expr::Term(term) => return term.fmt(f),
            Expr::Or(items) => (items, " OR "),
            Expr::And(items) => (items, " AND "),
        };
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            let group = matches!((self, item), (Expr::And(_), Expr::Or(_)));
            if group {
                write!(f, "({item})")?;
            } else {
                write!(f, "{item}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Eq { item, value } => write!(f, "{item} = {value}"),
            Term::Ne { item, value } => write!(f, "{item} != {value}"),
            Term::In { item, values } => {
                write!(f, "{item} in [")?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_literal(f, &value.text, true)?;
                }
                f.write_str("]")
            }
            Term::NonEmpty(item) => write!(f, "{item} is non-empty"),
            Term::Empty(item) => write!(f, "{item} is empty"),
            Term::AnyHas { word, item, value } => {
                let keyword = ["is", "in"].iter().any(|k| word.eq_ignore_ascii_case(k));
                if keyword { write!(f, "any `{word}` has {item} = {value}") } else { write!(f, "any {word} has {item} = {value}") }
            }
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keyword = ["or", "and", "any"].iter().any(|k| self.id.eq_ignore_ascii_case(k));
        if keyword || !is_id(&self.id) {
            write!(f, "`{}`", self.id)?;
        } else {
            f.write_str(&self.id)?;
        }
        match self.phase {
            Some(n) => write!(f, " (Phase {n})"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_literal(f, &self.text, false)
    }
}

/// Whether every `)` closes an earlier `(` and every `(` is closed: only then does a bare value
/// read the same inside and outside a group.
fn parens_balanced(text: &str) -> bool {
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return false,
            ')' => depth -= 1,
            _ => {}
        }
    }
    depth == 0
}

/// Whether `text` written without quotes parses back as exactly `text` (`list`: as a list element).
fn reads_back_bare(text: &str, list: bool) -> bool {
    let quoted_or_padded = text.starts_with(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\''));
    // A final `.` would be dropped at the end of a condition; in a list, `\]` closes the list.
    let eaten_ending = text.ends_with('.') || (list && text.ends_with('\\'));
    if text.is_empty() || quoted_or_padded || eaten_ending || !parens_balanced(text) {
        return false;
    }
    scan_bare(text, list) == text.len()
}

/// Bare when the text would read back as itself, otherwise in the first quote it does not hold.
fn write_literal(f: &mut fmt::Formatter<'_>, text: &str, list: bool) -> fmt::Result {
    if !reads_back_bare(text, list) {
        for quote in ['`', '"', '\''] {
            if !text.contains(quote) {
                return write!(f, "{quote}{text}{quote}");
            }
        }
    }
    f.write_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Answers read from a YAML mapping, the way the working case records them.
    struct Case(Option<Node>);

    impl Answers for Case {
        fn answer(&self, id: &str) -> Answer<'_> {
            match self.0.as_ref().and_then(|root| root.get(id)) {
                None => Answer::Missing,
                Some(node) if is_pending_tag(node) => Answer::Pending,
                Some(node) if node.is_null() => Answer::Missing,
                Some(node) => Answer::Value(node),
            }
        }
    }

    fn case(yaml: &str) -> Case {
        Case(crate::yaml::parse(yaml).unwrap_or_else(|e| panic!("bad test YAML {yaml:?}: {e:?}")))
    }

    fn eval(src: &str, yaml: &str) -> Truth {
        parse(src).unwrap_or_else(|e| panic!("{src:?} does not parse: {e:?}")).eval(&case(yaml))
    }

    fn term(src: &str) -> Term {
        match parse(src).unwrap() {
            Expr::Term(t) => t,
            other => panic!("not a single term: {other:?}"),
        }
    }

    fn parse_err(src: &str) -> (String, &str) {
        let e = parse(src).expect_err(src);
        assert!(src.get(e.span.clone()).is_some(), "bad span {:?} for {src:?}", e.span);
        (e.message, &src[e.span])
    }

    fn assert_round_trip(src: &str) {
        let expr = parse(src).unwrap();
        let printed = expr.to_string();
        let again = parse(&printed).unwrap_or_else(|e| panic!("{printed:?} (from {src:?}) does not parse: {e:?}"));
        assert_eq!(again.without_spans(), expr.without_spans(), "{src:?} printed as {printed:?}");
    }

    // ---- The real playbook ------------------------------------------------------------------

    const PLAYBOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openg2p/use-case-implementation.md");

    /// Every form in the playbook, with answers making it True, False and Unknown.
    const TABLE: &[(&str, &str, &str, &str)] = &[
        (
            "`existing_system_to_replace` (Phase 1) is non-empty",
            "existing_system_to_replace: a spreadsheet kept by the district office",
            "existing_system_to_replace: ''",
            "existing_system_to_replace: !deferred \"ask the ministry\"",
        ),
        (
            "`notification_triggering_events` is non-empty",
            "notification_triggering_events: [enrolment approved, card printed]",
            "notification_triggering_events: []",
            "{}",
        ),
        (
            "any Register has registers_physical_object = PERSON",
            "registers_physical_object: {Farms: LAND PARCEL, Farmers: person}",
            "registers_physical_object: {Farms: LAND PARCEL, Herds: [ANIMAL]}",
            "registers_physical_object: !unknown",
        ),
        ("api_integrations is non-empty", "api_integrations: [inbound REST]", "api_integrations: []", "api_integrations: ~"),
        ("enumeration_field_agents = yes", "enumeration_field_agents: Yes", "enumeration_field_agents: false", "{}"),
        (
            "enumeration_offices_in_villages = yes OR enumeration_field_agents = yes",
            "enumeration_offices_in_villages: no\nenumeration_field_agents: TRUE",
            "enumeration_offices_in_villages: no\nenumeration_field_agents: no",
            "enumeration_offices_in_villages: no",
        ),
        ("existing_data = brownfield", "existing_data: Brownfield", "existing_data: greenfield", "existing_data: !deferred \"later\""),
        (
            "functional_id_owning_department = external-department",
            "functional_id_owning_department: external-department",
            "functional_id_owning_department: own-department",
            "functional_id_owning_department:",
        ),
        ("has_beneficiary_portal = yes", "has_beneficiary_portal: yes", "has_beneficiary_portal: no", "other: yes"),
        ("has_foundational_id = yes", "has_foundational_id: true", "has_foundational_id: No", "has_foundational_id: !unknown"),
        ("has_functional_id = yes", "has_functional_id: 'yes'", "has_functional_id: \"no\"", ""),
        (
            "has_notification_requirements is non-empty",
            "has_notification_requirements: |\n  SMS to registrants when enrolled.\n",
            "has_notification_requirements: \"   \"",
            "has_notification_requirements: null",
        ),
        ("has_scores = yes", "has_scores: YES", "has_scores: false", "has_scores: !deferred \"scoring model not chosen\""),
        ("incoming_feeds is non-empty", "incoming_feeds: civil registration deaths", "incoming_feeds: \"\"", "{}"),
        (
            "issues_verifiable_credentials = yes",
            "issues_verifiable_credentials: yes",
            "issues_verifiable_credentials: no",
            "issues_verifiable_credentials: ~",
        ),
        (
            "production_infrastructure in [`cloud`, `hybrid`]",
            "production_infrastructure: Hybrid",
            "production_infrastructure: on-prem",
            "production_infrastructure: !unknown",
        ),
        ("registry_provides_cards = yes", "registry_provides_cards: yes", "registry_provides_cards: no", "{}"),
        (
            "registry_used_for_benefit_programs = yes",
            "registry_used_for_benefit_programs: true",
            "registry_used_for_benefit_programs: false",
            "{}",
        ),
        (
            "track_benefit_program_memberships = yes",
            "track_benefit_program_memberships: yes",
            "track_benefit_program_memberships: no",
            "track_benefit_program_memberships: !deferred \"phase 2\"",
        ),
        ("registry_typology = general-purpose", "registry_typology: general-purpose", "registry_typology: specific-programme", "{}"),
        (
            "registry_typology = specific-programme",
            "registry_typology: Specific-Programme",
            "registry_typology: general-purpose",
            "registry_typology: !unknown",
        ),
    ];

    /// The distinct `Required: conditional:` and `_(when …)_` expressions of the playbook.
    fn playbook_forms(text: &str) -> (BTreeSet<&str>, BTreeSet<&str>) {
        const REQUIRED: &str = "**Required:** conditional: ";
        let required = text.lines().filter_map(|line| line.find(REQUIRED).map(|i| line[i + REQUIRED.len()..].trim())).collect();
        let mut when = BTreeSet::new();
        let mut rest = text;
        while let Some(i) = rest.find("_(when ") {
            rest = &rest[i + "_(when ".len()..];
            let end = rest.find(")_").expect("unterminated `_(when`");
            when.insert(rest[..end].trim());
        }
        (required, when)
    }

    #[test]
    fn truth_table_covers_every_condition_in_the_playbook() {
        let text = std::fs::read_to_string(PLAYBOOK).unwrap_or_else(|e| panic!("{PLAYBOOK}: {e}"));
        let (required, when) = playbook_forms(&text);
        assert_eq!(required.len(), 19, "distinct Required forms: {required:#?}");
        assert_eq!(when.len(), 2, "distinct when forms: {when:#?}");
        let table: BTreeSet<&str> = TABLE.iter().map(|row| row.0).collect();
        assert_eq!(table.len(), TABLE.len(), "table rows are distinct");
        let in_file: BTreeSet<&str> = required.union(&when).copied().collect();
        assert_eq!(table, in_file, "the table must list exactly the playbook's forms");

        for (form, yes, no, unknown) in TABLE {
            let expr = parse(form).unwrap_or_else(|e| panic!("{form:?}: {e:?}"));
            for r in expr.refs() {
                assert_eq!(&form[r.span.clone()], r.id, "ref span in {form:?}");
            }
            assert_eq!(expr.eval(&case(yes)), Truth::True, "{form:?} with {yes:?}");
            assert_eq!(expr.eval(&case(no)), Truth::False, "{form:?} with {no:?}");
            assert_eq!(expr.eval(&case(unknown)), Truth::Unknown, "{form:?} with {unknown:?}");
            assert_round_trip(form);
        }
    }

    // ---- Parsing ----------------------------------------------------------------------------

    #[test]
    fn and_binds_tighter_than_or() {
        let src = "a = 1 OR b = 2 AND c = 3";
        let Expr::Or(items) = parse(src).unwrap() else { panic!() };
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[0], Expr::Term(Term::Eq { item, .. }) if item.id == "a"));
        assert!(matches!(&items[1], Expr::And(inner) if inner.len() == 2));

        let Expr::Or(items) = parse("a = 1 AND b = 2 OR c = 3").unwrap() else { panic!() };
        assert!(matches!(&items[0], Expr::And(inner) if inner.len() == 2));

        // Chains flatten; parentheses group.
        assert!(matches!(parse("a = 1 OR b = 2 OR c = 3").unwrap(), Expr::Or(v) if v.len() == 3));
        let Expr::And(items) = parse("(a = 1 OR b = 2) AND c = 3").unwrap() else { panic!() };
        assert!(matches!(&items[0], Expr::Or(inner) if inner.len() == 2));

        let answers = "a: 1\nb: 0\nc: 0";
        assert_eq!(eval(src, answers), Truth::True);
        assert_eq!(eval("(a = 1 OR b = 2) AND c = 3", answers), Truth::False);
        assert_round_trip("(a = 1 OR b = 2) AND (c = 3 OR d is empty)");
    }

    #[test]
    fn keywords_and_values_ignore_case() {
        let expr = parse("a = x or b = y AND c is NON-EMPTY").unwrap();
        assert!(matches!(&expr, Expr::Or(v) if v.len() == 2));
        assert!(matches!(term("x Is Empty"), Term::Empty(_)));
        assert!(matches!(term("x IN [a]"), Term::In { .. }));
        assert!(matches!(term("ANY Register HAS x = y"), Term::AnyHas { .. }));
        assert_eq!(eval("existing_data = BROWNFIELD", "existing_data: brownfield"), Truth::True);
        assert_eq!(eval("flag = yes", "flag: TRUE"), Truth::True);
        assert_eq!(eval("flag = No", "flag: false"), Truth::True);
        assert_eq!(eval("n = 3", "n: 3.0"), Truth::True);
        assert_eq!(eval("n = 1_000", "n: 1e3"), Truth::True);
        assert_eq!(eval("n = 3", "n: three"), Truth::False);
        assert_eq!(eval("name = ሰላም", "name: \" ሰላም \""), Truth::True);
        assert_eq!(eval("name = ÉTÉ", "name: été"), Truth::True);
    }

    #[test]
    fn backticks_quotes_and_spans() {
        let src = "`has_scores` = `yes`";
        let Term::Eq { item, value } = term(src) else { panic!() };
        assert_eq!((item.id.as_str(), &src[item.span]), ("has_scores", "has_scores"));
        assert_eq!((value.text.as_str(), &src[value.span]), ("yes", "yes"));

        let src = "x in [`cloud`, \"on prem\", 'hybrid', bare value ]";
        let Term::In { values, .. } = term(src) else { panic!() };
        let texts: Vec<_> = values.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(texts, ["cloud", "on prem", "hybrid", "bare value"]);
        for v in &values {
            assert_eq!(&src[v.span.clone()], v.text);
        }
        // GitBook's escaped bracket, a trailing comma and a trailing full stop.
        let Term::In { values, .. } = term("x in \\[`a`, b,\\].") else { panic!() };
        assert_eq!(values.len(), 2);
        assert_eq!(values[1].text, "b");
        // Quoted values keep keywords and commas.
        let Term::Eq { value, .. } = term("x = \"rock AND roll, live\"") else { panic!() };
        assert_eq!(value.text, "rock AND roll, live");
        let Term::Eq { value, .. } = term("x = yes.") else { panic!() };
        assert_eq!(value.text, "yes");
        assert_round_trip("x = \"a OR b\" AND y in [`p, q`, \"r]\"] OR z = 'a`b\"c'");
    }

    #[test]
    fn phase_qualifier() {
        let src = "`existing_system_to_replace` (Phase 1) is non-empty";
        let Term::NonEmpty(item) = term(src) else { panic!() };
        assert_eq!(item.phase, Some(1));
        assert_eq!(&src[item.span], "existing_system_to_replace");

        let Term::Eq { item, value } = term("x ( phase 12 ) = y") else { panic!() };
        assert_eq!((item.phase, value.text.as_str()), (Some(12), "y"));
        // A qualifier inside a group is not mistaken for the group's parentheses.
        let src = "(`x` (Phase 2) = a OR b (Phase 3) = c) AND d is empty";
        let Expr::And(items) = parse(src).unwrap() else { panic!() };
        let phases: Vec<_> = items[0].refs().iter().map(|r| r.phase).collect();
        assert_eq!(phases, [Some(2), Some(3)]);
        assert_round_trip(src);
        // A value's own parentheses are kept, balanced or not.
        let Term::Eq { value, .. } = term("x = LAND PARCEL (rural)") else { panic!() };
        assert_eq!(value.text, "LAND PARCEL (rural)");
        let Expr::And(items) = parse("(x = LAND PARCEL (rural)) AND y = b").unwrap() else { panic!() };
        assert!(matches!(&items[0], Expr::Term(Term::Eq { value, .. }) if value.text == "LAND PARCEL (rural)"));
    }

    #[test]
    fn multi_word_bare_values() {
        let src = "registers_physical_object = LAND PARCEL OR kind = social  registry AND x != a b";
        let expr = parse(src).unwrap();
        assert!(matches!(&expr, Expr::Or(items) if matches!(&items[1], Expr::And(_))));
        let mut literals = Vec::new();
        collect_literals(&expr, &mut literals);
        let spelled: Vec<_> = literals.iter().map(|l| &src[l.span.clone()]).collect();
        assert_eq!(spelled, ["LAND PARCEL", "social  registry", "a b"]);
        // A word that merely contains a keyword does not split a value.
        let Term::Eq { value, .. } = term("x = ORANGE ANDROID oregon") else { panic!() };
        assert_eq!(value.text, "ORANGE ANDROID oregon");
        assert_eq!(eval("x = land parcel", "x: LAND PARCEL"), Truth::True);
    }

    #[test]
    fn not_equal() {
        let src = "existing_data != brownfield";
        assert_eq!(eval(src, "existing_data: greenfield"), Truth::True);
        assert_eq!(eval(src, "existing_data: Brownfield"), Truth::False);
        assert_eq!(eval(src, "{}"), Truth::Unknown);
        assert_eq!(eval(src, "existing_data: !deferred \"x\""), Truth::Unknown);
        assert_eq!(eval("flag != no", "flag: true"), Truth::True);
        assert_eq!(eval("flag != no", "flag: False"), Truth::False);
        assert_eq!(eval("langs != Swahili", "langs: [English, Swahili]"), Truth::False);
        assert_eq!(eval("langs != French", "langs: [English, Swahili]"), Truth::True);
    }

    #[test]
    fn sequence_and_mapping_answers() {
        let langs = "langs: [English, swahili, 3, [nested], {k: v}]";
        assert_eq!(eval("langs = Swahili", langs), Truth::True);
        assert_eq!(eval("langs = 3.0", langs), Truth::True);
        assert_eq!(eval("langs = nested", langs), Truth::False);
        assert_eq!(eval("langs in [French, ENGLISH]", langs), Truth::True);
        assert_eq!(eval("langs in [French]", langs), Truth::False);
        assert_eq!(eval("langs is non-empty", langs), Truth::True);
        assert_eq!(eval("langs is empty", "langs: []"), Truth::True);
        assert_eq!(eval("langs = English", "langs: {English: yes}"), Truth::False);
        assert_eq!(eval("langs in [English]", "langs: {English: yes}"), Truth::False);
        assert_eq!(eval("m is empty", "m: {}"), Truth::True);

        let any = "any Register has objects = PERSON";
        assert_eq!(eval(any, "objects: {Households: person, Farms: LAND PARCEL}"), Truth::True);
        assert_eq!(eval(any, "objects: [LAND PARCEL, Person]"), Truth::True);
        assert_eq!(eval(any, "objects: {Households: [PERSON], Farms: {x: PERSON}}"), Truth::False);
        assert_eq!(eval(any, "objects: {Households: ~, Farms: !unknown}"), Truth::False);
        assert_eq!(eval(any, "objects: PERSON"), Truth::False);
        assert_eq!(eval(any, "objects: {}"), Truth::False);
        assert_eq!(eval(any, "{}"), Truth::Unknown);
        assert_eq!(eval("any Register has objects = LAND PARCEL", "objects: {a: land parcel}"), Truth::True);
        // An item may be called `any`.
        assert_eq!(eval("any = yes", "any: yes"), Truth::True);
        assert_eq!(eval("any is empty", "any: ''"), Truth::True);
        assert_eq!(eval("any in [a]", "any: A"), Truth::True);
    }

    #[test]
    fn pending_and_missing_answers_are_unknown() {
        for answers in ["x: !deferred \"waiting\"", "x: !unknown", "x: ~", "x:", "{}", ""] {
            for src in ["x = yes", "x != yes", "x in [a]", "x is empty", "x is non-empty", "any R has x = a"] {
                assert_eq!(eval(src, answers), Truth::Unknown, "{src:?} with {answers:?}");
            }
        }
        assert_eq!(eval("x = a", "y: &v a\nx: *v"), Truth::Unknown, "aliases are not resolved");
        // Kleene: True OR Unknown = True, False AND Unknown = False, otherwise Unknown.
        assert_eq!(eval("x = yes OR y = yes", "y: yes"), Truth::True);
        assert_eq!(eval("x = yes OR y = yes", "y: no"), Truth::Unknown);
        assert_eq!(eval("x = yes AND y = yes", "y: no"), Truth::False);
        assert_eq!(eval("x = yes AND y = yes", "y: yes"), Truth::Unknown);

        // An `Answers` that hands over a null or tagged node is still read as the trait says.
        struct Raw(Node);
        impl Answers for Raw {
            fn answer(&self, _: &str) -> Answer<'_> {
                Answer::Value(&self.0)
            }
        }
        for yaml in ["~", "!deferred \"x\""] {
            let node = crate::yaml::parse(yaml).unwrap().unwrap();
            assert_eq!(parse("x is empty").unwrap().eval(&Raw(node)), Truth::Unknown, "{yaml}");
        }
    }

    #[test]
    fn truth_operators() {
        use Truth::*;
        let all = [True, False, Unknown];
        for a in all {
            for b in all {
                assert_eq!(a.and(b), b.and(a));
                assert_eq!(a.or(b), b.or(a));
                assert_eq!(!(a.and(b)), (!a).or(!b), "De Morgan");
            }
        }
        assert_eq!(True.and(Unknown), Unknown);
        assert_eq!(False.or(Unknown), Unknown);
        assert!(True.is_true() && !Unknown.is_true());
        assert_eq!(Truth::from(false), False);
        assert_eq!(Unknown.to_string(), "unknown");
    }

    #[test]
    fn refs_in_source_order() {
        let src = "a = 1 OR any Register has `b` = 2 AND c (Phase 1) is empty OR (d in [x] AND a != 2)";
        let expr = parse(src).unwrap();
        let ids: Vec<_> = expr.refs().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d", "a"]);
        for r in expr.refs() {
            assert_eq!(&src[r.span.clone()], r.id);
        }
        assert_round_trip(src);
    }

    #[test]
    fn errors_name_the_problem_and_point_at_it() {
        let expect_op = "expected `=`, `!=`, `in`, `is empty` or `is non-empty` after `foo`";
        assert_eq!(parse_err("foo bar"), (expect_op.to_string(), "bar"));
        assert_eq!(parse_err("  foo  ").1, "foo");
        assert_eq!(parse_err("x = ").1, "=");
        assert!(parse_err("x = ").0.contains("expected a value after `=`"));
        assert_eq!(parse_err("x != )").1, ")");
        assert_eq!(parse_err("x is full"), ("expected `empty` or `non-empty` after `is`".into(), "full"));
        assert_eq!(parse_err("x is").1, "is");
        assert_eq!(parse_err("x is not there").1, "there");
        assert_eq!(parse_err("a = 1 OR").1, "OR");
        assert_eq!(parse_err("a = 1 and OR b = 2"), ("expected a condition after `and`, found `OR`".into(), "OR"));
        assert_eq!(parse_err("OR a = 1").1, "OR");
        assert_eq!(parse_err("(a = 1"), ("unclosed `(`".into(), "("));
        assert_eq!(parse_err("a = 1)"), ("unmatched `)`".into(), ")"));
        assert_eq!(parse_err("(a = '1' b)"), ("expected `)`, `AND` or `OR`, found `b)`".into(), "b)"));
        assert_eq!(parse_err("()").1, ")");
        assert_eq!(parse_err("`x = 1"), ("unclosed backtick".into(), "`x = 1"));
        assert_eq!(parse_err("x = `1").1, "`1");
        assert_eq!(parse_err("`` = 1").1, "``");
        assert_eq!(parse_err("1x = 2").1, "1x");
        assert_eq!(parse_err("foo-bar = 2").1, "foo-bar");
        assert!(parse_err("ሰላም = 1").0.contains("not an item id"));
        assert_eq!(parse_err("ሰላም = 1").1, "ሰላም");
        assert_eq!(parse_err("= 1"), ("expected an item id, found `=`".into(), "="));
        assert_eq!(parse_err("x in [a, b"), ("unclosed `[`".into(), "["));
        assert_eq!(parse_err("x in a, b").1, "a,");
        assert_eq!(parse_err("x in []").1, "[]");
        assert_eq!(parse_err("x in ['a' b]").1, "b]");
        assert_eq!(parse_err("x in [a,,b]").1, ",");
        assert_eq!(parse_err("x (Phase one) = 1").1, "(Phase one)");
        assert_eq!(parse_err("x (Phase 99999999999) = 1").1, "99999999999");
        assert_eq!(parse_err("x (note) = 1").1, "(note)");
        assert_eq!(parse_err("any Register x = 1"), ("expected `has` after `any Register`".into(), "x"));
        assert_eq!(parse_err("any Register has x != 1").1, "!=");
        assert_eq!(parse_err("x = \"a\" b").1, "b");
        assert_eq!(parse_err("x = yes AND roll"), (expect_op.replace("foo", "roll"), "roll"));
        assert_eq!(parse_err(""), ("empty condition".into(), ""));
        assert_eq!(parse_err(" . ").0, "empty condition");
        assert_eq!(parse_err(&"(".repeat(10_000)).1, "(");
    }

    // ---- Properties -------------------------------------------------------------------------

    fn check_spans(src: &str) {
        let valid = |span: &Span| src.get(span.clone()).is_some();
        match parse(src) {
            Ok(expr) => {
                for r in expr.refs() {
                    assert!(valid(&r.span), "ref span {:?} in {src:?}", r.span);
                    assert_eq!(&src[r.span.clone()], r.id);
                }
                let mut literals = Vec::new();
                collect_literals(&expr, &mut literals);
                for l in &literals {
                    assert!(valid(&l.span), "literal span {:?} in {src:?}", l.span);
                    assert_eq!(&src[l.span.clone()], l.text);
                }
                assert_eq!(expr.eval(&case("{}")), Truth::Unknown, "no answers, no truth: {src:?}");
                let unprintable = literals.iter().any(|l| ['`', '"', '\''].iter().all(|q| l.text.contains(*q)));
                if !unprintable {
                    assert_round_trip(src);
                }
            }
            Err(e) => assert!(valid(&e.span), "error span {:?} in {src:?}", e.span),
        }
    }

    fn collect_literals<'e>(e: &'e Expr, out: &mut Vec<&'e Literal>) {
        match e {
            Expr::Or(items) | Expr::And(items) => items.iter().for_each(|e| collect_literals(e, out)),
            Expr::Term(Term::Eq { value, .. } | Term::Ne { value, .. } | Term::AnyHas { value, .. }) => out.push(value),
            Expr::Term(Term::In { values, .. }) => out.extend(values),
            Expr::Term(Term::NonEmpty(_) | Term::Empty(_)) => {}
        }
    }

    fn condition_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let token = prop::sample::select(vec![
            "x",
            "has_scores",
            " ",
            "  ",
            "`",
            "\"",
            "'",
            "(",
            ")",
            "Phase",
            "1",
            "=",
            "!=",
            "==",
            "in",
            "[",
            "]",
            "\\[",
            ",",
            " OR ",
            " and ",
            "is",
            "empty",
            "non-empty",
            "not",
            "any",
            "has",
            "Register",
            "ሰ",
            ".",
            "\t",
            "yes",
            "LAND PARCEL",
        ]);
        prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
    }

    /// Conditions built from the grammar, with awkward values, so that most of them parse and
    /// the printer is exercised on what the parser accepts.
    fn structured() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let item = ("[a-zA-Z_][a-zA-Z0-9_]{0,5}", any::<bool>(), prop::option::of(0u32..5)).prop_map(|(id, tick, phase)| {
            let id = if tick { format!("`{id}`") } else { id };
            match phase {
                Some(n) => format!("{id} (Phase {n})"),
                None => id,
            }
        });
        let value = prop_oneof![
            "[A-Za-z0-9 ()_.,ሰ'\\\\\\]-]{1,10}",
            "[^`]{0,6}".prop_map(|s| format!("`{s}`")),
            "[^\"]{0,6}".prop_map(|s| format!("\"{s}\"")),
        ];
        let term = prop_oneof![
            (item.clone(), value.clone()).prop_map(|(r, v)| format!("{r} = {v}")),
            (item.clone(), value.clone()).prop_map(|(r, v)| format!("{r} != {v}")),
            (item.clone(), prop::collection::vec(value.clone(), 1..4)).prop_map(|(r, v)| format!("{r} in [{}]", v.join(", "))),
            item.clone().prop_map(|r| format!("{r} is empty")),
            item.clone().prop_map(|r| format!("{r} is non-empty")),
            ("[A-Z][a-z]{0,5}", item, value).prop_map(|(w, r, v)| format!("any {w} has {r} = {v}")),
        ];
        term.prop_recursive(4, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), prop::sample::select(vec![" OR ", " AND ", " or ", "\tand "]), inner.clone())
                    .prop_map(|(a, kw, b)| format!("{a}{kw}{b}")),
                inner.prop_map(|e| format!("({e})")),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn parse_never_panics_and_spans_are_valid(src in "\\PC*") {
            check_spans(&src);
        }

        #[test]
        fn grammar_built_conditions_print_back_to_themselves(src in structured()) {
            check_spans(&src);
        }

        #[test]
        fn condition_like_input_parses_or_fails_cleanly(src in condition_like()) {
            check_spans(&src);
        }
    }

    #[test]
    fn seeds_parse() {
        for src in [
            "x = a OR y = b AND (z in [c, d] OR w is empty)",
            "any Register has `objects` (Phase 1) = PERSON.",
            "x == 3",
            "x is not empty",
            "`or` = 1 AND `any` is empty",
            "any `is` has x = 1",
            "_ = \\ OR ((A in [\"\\\"]))", // once printed as `[\]`, which reads as an empty list
        ] {
            check_spans(src);
            assert!(parse(src).is_ok(), "{src:?}");
        }
    }
}
