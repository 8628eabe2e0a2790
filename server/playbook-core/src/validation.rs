//! The machine-checkable part of `Validation:` prose, and the optional `Pattern:` field.
//!
//! Validation is written for people. We recognise a small set of phrasings that have one
//! unambiguous meaning (length ranges, "… only" character sets, "no whitespace", "cannot start
//! or end with a hyphen", "must not include the word `x`", "valid email", "unique") and enforce
//! those; every other clause is kept as text and shown in hover, never guessed at.

use crate::playbook::model::Field;
use crate::yaml::{Node, NodeKind};
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub field: Field,
    /// The rules recognised in the prose, in the order written.
    pub rules: Vec<Check>,
    /// Clauses that are not machine-checkable (shown to humans only).
    pub prose: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Check {
    Length {
        min: Option<usize>,
        max: Option<usize>,
    },
    /// Only characters from these classes.
    Charset {
        classes: Vec<CharClass>,
        phrase: String,
    },
    NoWhitespace,
    NoLeading {
        ch: char,
    },
    NoTrailing {
        ch: char,
    },
    MustNotContain {
        word: String,
    },
    Email,
    /// Elements of a list, or values of a mapping, are distinct.
    Unique,
    /// From the `Pattern:` field.
    #[serde(serialize_with = "serialize_regex")]
    Pattern(Regex),
}

fn serialize_regex<S: serde::Serializer>(r: &Regex, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CharClass {
    Lowercase,
    Uppercase,
    Letters,
    Digits,
    Hyphen,
    Underscore,
    Dot,
    Space,
}

impl CharClass {
    fn admits(self, c: char) -> bool {
        match self {
            CharClass::Lowercase => c.is_lowercase(),
            CharClass::Uppercase => c.is_uppercase(),
            CharClass::Letters => c.is_alphabetic(),
            CharClass::Digits => c.is_ascii_digit(),
            CharClass::Hyphen => c == '-',
            CharClass::Underscore => c == '_',
            CharClass::Dot => c == '.',
            CharClass::Space => c == ' ',
        }
    }

    fn from_word(word: &str) -> Option<CharClass> {
        Some(match word.trim().trim_end_matches('s') {
            "lowercase letter" | "lowercase" | "lower-case letter" => CharClass::Lowercase,
            "uppercase letter" | "uppercase" | "upper-case letter" | "capital letter" => CharClass::Uppercase,
            "letter" => CharClass::Letters,
            "digit" | "number" | "numeral" => CharClass::Digits,
            "hyphen" | "dashe" | "dash" => CharClass::Hyphen,
            "underscore" => CharClass::Underscore,
            "dot" | "period" => CharClass::Dot,
            "space" => CharClass::Space,
            _ => return None,
        })
    }
}

static LENGTH_RANGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(\d+)\s*(?:–|—|-|to)\s*(\d+)[\s-]*(?:characters?|chars?)\b").expect("static regex"));
static LENGTH_BOUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(at most|at least|no more than|no fewer than|up to|maximum|minimum)\s+(?:of\s+)?(\d+)\s*(?:characters?|chars?)\b")
        .expect("static regex")
});
static ONLY_CLAUSE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^(.+?)\s+only$").expect("static regex"));
static NOT_CONTAIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)must not (?:include|contain)(?: the word)?\s+[`'“”]([^`'“”]+)[`'“”]").expect("static regex"));
static START_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:cannot|can't|must not|may not) (start or end|start|end|begin or end|begin) with an? (hyphen|dash|underscore|dot|period|space)")
        .expect("static regex")
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$").expect("static regex"));

impl Validation {
    /// Read a Validation field, plus the item's Pattern field when it has one.
    /// An invalid Pattern is returned as an error message for the linter.
    pub fn parse(field: Field, pattern: Option<&Field>) -> (Validation, Option<String>) {
        let mut rules = Vec::new();
        let mut prose = Vec::new();
        for clause in clauses(&field.value.text) {
            let found = recognise(&clause);
            if found.is_empty() {
                prose.push(clause);
            } else {
                rules.extend(found);
            }
        }
        let mut pattern_error = None;
        if let Some(p) = pattern {
            match compile_pattern(&p.value.text) {
                Ok(re) => rules.push(Check::Pattern(re)),
                Err(e) => pattern_error = Some(e),
            }
        }
        (Validation { field, rules, prose }, pattern_error)
    }
}

/// A Pattern field value (`` `^[a-z]+$` ``) as an anchored regex.
pub fn compile_pattern(raw: &str) -> Result<Regex, String> {
    let source = raw.trim().trim_end_matches('.').trim().trim_matches('`');
    Regex::new(source).map_err(|e| format!("Pattern `{source}` is not a valid regular expression: {e}"))
}

/// Split prose into clauses on `;` and sentence ends, keeping backticked text whole.
fn clauses(text: &str) -> Vec<String> {
    let plain = text.replace(['\n', '\r'], " ");
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    let chars: Vec<char> = plain.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '`' {
            in_code = !in_code;
        }
        let sentence_end = c == '.' && !in_code && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if (c == ';' && !in_code) || sentence_end {
            push_clause(&mut out, &current);
            current.clear();
        } else {
            current.push(c);
        }
    }
    push_clause(&mut out, &current);
    out
}

fn push_clause(out: &mut Vec<String>, clause: &str) {
    let clause = clause.trim();
    if !clause.is_empty() {
        out.push(clause.to_string());
    }
}

fn recognise(clause: &str) -> Vec<Check> {
    let mut found = Vec::new();
    let lower = clause.to_lowercase();
    if let Some(c) = LENGTH_RANGE.captures(clause) {
        if let (Ok(min), Ok(max)) = (c[1].parse(), c[2].parse()) {
            found.push(Check::Length { min: Some(min), max: Some(max) });
        }
    } else if let Some(c) = LENGTH_BOUND.captures(clause)
        && let Ok(n) = c[2].parse()
    {
        let upper = matches!(c[1].to_lowercase().as_str(), "at most" | "no more than" | "up to" | "maximum");
        found.push(if upper { Check::Length { min: None, max: Some(n) } } else { Check::Length { min: Some(n), max: None } });
    }
    if let Some(c) = ONLY_CLAUSE.captures(clause)
        && let Some(classes) = char_classes(&c[1])
    {
        found.push(Check::Charset { classes, phrase: clause.to_string() });
    }
    if lower.contains("no whitespace") || lower.contains("no spaces") {
        found.push(Check::NoWhitespace);
    }
    if let Some(c) = START_END.captures(clause) {
        let ch = match c[2].to_lowercase().as_str() {
            "hyphen" | "dash" => '-',
            "underscore" => '_',
            "dot" | "period" => '.',
            _ => ' ',
        };
        let which = c[1].to_lowercase();
        if which.contains("start") || which.contains("begin") {
            found.push(Check::NoLeading { ch });
        }
        if which.contains("end") {
            found.push(Check::NoTrailing { ch });
        }
    }
    if let Some(c) = NOT_CONTAIN.captures(clause) {
        found.push(Check::MustNotContain { word: c[1].to_string() });
    }
    if lower.starts_with("valid email") || lower.starts_with("a valid email") || lower.starts_with("must be a valid email") {
        found.push(Check::Email);
    }
    if lower.starts_with("unique") || lower.contains("must be unique") {
        found.push(Check::Unique);
    }
    found
}

/// "lowercase letters, digits, and hyphens" → the classes; `None` if any part is not a class.
fn char_classes(list: &str) -> Option<Vec<CharClass>> {
    let normalised = list.to_lowercase().replace(", and ", ",").replace(" and ", ",").replace(", or ", ",").replace(" or ", ",");
    let classes: Option<Vec<CharClass>> =
        normalised.split([',', '/']).map(str::trim).filter(|w| !w.is_empty()).map(CharClass::from_word).collect();
    classes.filter(|c| !c.is_empty())
}

/// A violated rule, ready to be a finding message.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub message: String,
    pub span: crate::span::Span,
}

/// Apply the rules to an answer: to a scalar directly, to each element of a list, to each
/// value of a mapping (e.g. the mnemonics of a classification map).
pub fn check(validation: &Validation, node: &Node) -> Vec<Violation> {
    let mut violations = Vec::new();
    let scalars: Vec<&Node> = match &node.kind {
        NodeKind::Scalar(_) => vec![node],
        NodeKind::Seq(items) => items.iter().filter(|n| n.as_scalar().is_some()).collect(),
        NodeKind::Map(entries) => entries.iter().map(|e| &e.value).filter(|n| n.as_scalar().is_some()).collect(),
        NodeKind::Alias => vec![],
    };
    for rule in &validation.rules {
        if let Check::Unique = rule {
            let mut seen: Vec<&str> = Vec::new();
            for n in &scalars {
                let v = n.as_scalar().map(|s| s.value.trim()).unwrap_or_default();
                if seen.contains(&v) {
                    violations
                        .push(Violation { message: format!("`{v}` appears more than once; values must be unique"), span: n.span.clone() });
                } else {
                    seen.push(v);
                }
            }
            continue;
        }
        for n in &scalars {
            let value = n.as_scalar().map(|s| s.value.as_str()).unwrap_or_default();
            if let Some(message) = violates(rule, value) {
                violations.push(Violation { message, span: n.span.clone() });
            }
        }
    }
    violations
}

fn violates(rule: &Check, value: &str) -> Option<String> {
    match rule {
        Check::Length { min, max } => {
            let n = value.chars().count();
            let too_short = min.is_some_and(|m| n < m);
            let too_long = max.is_some_and(|m| n > m);
            (too_short || too_long).then(|| match (min, max) {
                (Some(a), Some(b)) => format!("`{value}` has {n} characters; it must have {a}–{b}"),
                (None, Some(b)) => format!("`{value}` has {n} characters; it may have at most {b}"),
                (Some(a), _) => format!("`{value}` has {n} characters; it needs at least {a}"),
                (None, None) => unreachable!("a length rule has a bound"),
            })
        }
        Check::Charset { classes, phrase } => value
            .chars()
            .find(|c| !classes.iter().any(|class| class.admits(*c)))
            .map(|c| format!("`{value}` contains `{c}`; allowed: {phrase}")),
        Check::NoWhitespace => value.contains(char::is_whitespace).then(|| format!("`{value}` contains whitespace")),
        Check::NoLeading { ch } => value.starts_with(*ch).then(|| format!("`{value}` must not start with `{ch}`")),
        Check::NoTrailing { ch } => value.ends_with(*ch).then(|| format!("`{value}` must not end with `{ch}`")),
        Check::MustNotContain { word } => {
            value.to_lowercase().contains(&word.to_lowercase()).then(|| format!("`{value}` must not include the word `{word}`"))
        }
        Check::Email => (!EMAIL.is_match(value.trim())).then(|| format!("`{value}` is not a valid email address")),
        Check::Pattern(re) => (!re.is_match(value)).then(|| format!("`{value}` does not match the pattern `{}`", re.as_str())),
        Check::Unique => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::model::Text;

    fn validation(text: &str, pattern: Option<&str>) -> Validation {
        let field = |t: &str| Field {
            label: Text { text: "Validation".into(), span: 0..0 },
            value: Text { text: t.into(), span: 0..0 },
            span: 0..0,
        };
        let pattern = pattern.map(field);
        let (v, err) = Validation::parse(field(text), pattern.as_ref());
        assert!(err.is_none());
        v
    }

    fn errors(v: &Validation, yaml: &str) -> Vec<String> {
        let node = crate::yaml::parse(yaml).unwrap().unwrap();
        check(v, &node).into_iter().map(|v| v.message).collect()
    }

    #[test]
    fn organisation_mnemonic_rules() {
        let v = validation("lowercase letters, digits, and hyphens only; 2–15 characters; cannot start or end with a hyphen.", None);
        assert_eq!(v.rules.len(), 4, "{:?}", v.rules);
        assert!(v.prose.is_empty());
        assert!(errors(&v, "doh").is_empty());
        assert!(errors(&v, "dept-of-health").is_empty());
        assert_eq!(errors(&v, "Department of Health").len(), 2, "charset and length");
        assert_eq!(errors(&v, "-x").len(), 1);
        assert_eq!(errors(&v, "x").len(), 1);
    }

    #[test]
    fn registry_mnemonic_rules() {
        let v =
            validation("lowercase letters and hyphens only; no whitespace; must not include the word `registry`; 3–30 characters.", None);
        assert_eq!(v.rules.len(), 4);
        assert!(errors(&v, "health-worker").is_empty());
        assert!(!errors(&v, "farmer-registry").is_empty());
        assert!(!errors(&v, "HealthWorkerRegistry").is_empty());
        assert!(!errors(&v, "health worker").is_empty());
    }

    #[test]
    fn prose_that_is_not_checkable_is_kept() {
        let v = validation("typically nine to twelve; confirm with implementer if outside this range.", None);
        assert!(v.rules.is_empty());
        assert_eq!(v.prose.len(), 2);
    }

    #[test]
    fn email_unique_and_pattern() {
        let v = validation("valid email; should match the account.", None);
        assert!(errors(&v, "a@b.org").is_empty());
        assert_eq!(errors(&v, "not-an-email").len(), 1);
        let v = validation("lowercase letters and hyphens only; no whitespace; unique within the project.", None);
        assert_eq!(errors(&v, "{A: household, B: household}").len(), 1);
        let v = validation("must match GitLab's username rules (2–255 chars).", Some("`^[a-z0-9_-]+$`"));
        assert!(errors(&v, "jdoe").is_empty());
        assert_eq!(errors(&v, "J Doe").len(), 1);
        assert!(compile_pattern("`[unclosed`").is_err());
    }
}
