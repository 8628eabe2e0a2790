//! Arbitrary text as a `Required: conditional:` expression: parse, evaluate, print, parse the
//! print again. Whenever the text parses, its printed form parses to the same expression (spans
//! aside), and printing is a fixed point; literals holding all three quote characters cannot be
//! printed and are skipped, as in the unit tests.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use playbook_core::case::Case;
use playbook_core::condition::{self, Expr, Literal, Term, Truth};
use playbook_core::schema::condition_schema;

#[path = "common.rs"]
mod common;

static CASES: LazyLock<Vec<Case>> = LazyLock::new(|| {
    [
        "answers: {}",
        "answers:\n  x: yes\n  has_scores: [PERSON, 3]\n  any: ''\n",
        "answers:\n  x: !deferred \"later\"\n  has_scores: {a: LAND PARCEL, b: ~}\n  Register: 1e3\n",
    ]
    .iter()
    .map(|t| Case::parse(t))
    .collect()
});

fn literals<'e>(e: &'e Expr, out: &mut Vec<&'e Literal>) {
    match e {
        Expr::Or(items) | Expr::And(items) => items.iter().for_each(|e| literals(e, out)),
        Expr::Term(Term::Eq { value, .. } | Term::Ne { value, .. } | Term::AnyHas { value, .. }) => out.push(value),
        Expr::Term(Term::In { values, .. }) => out.extend(values),
        Expr::Term(Term::NonEmpty(_) | Term::Empty(_)) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let expr = match condition::parse(src) {
        Ok(expr) => expr,
        Err(e) => {
            common::assert_span(src, &e.span, "error");
            return;
        }
    };
    for r in expr.refs() {
        common::assert_span(src, &r.span, "ref");
        assert_eq!(&src[r.span.clone()], r.id);
    }
    let mut lits = Vec::new();
    literals(&expr, &mut lits);
    for l in &lits {
        common::assert_span(src, &l.span, "literal");
        assert_eq!(&src[l.span.clone()], l.text);
    }
    for case in CASES.iter() {
        let truth = expr.eval(case);
        if case.answers.is_empty() {
            assert_eq!(truth, Truth::Unknown, "no answers, no truth");
        }
    }
    common::assert_patterns_compile(&condition_schema(&expr, &CASES[2]));
    if lits.iter().any(|l| ['`', '"', '\''].iter().all(|q| l.text.contains(*q))) {
        return;
    }
    let printed = expr.to_string();
    let again = condition::parse(&printed).unwrap_or_else(|e| panic!("{src:?} printed as {printed:?} does not parse: {e:?}"));
    assert_eq!(again.without_spans(), expr.without_spans(), "{src:?} printed as {printed:?}");
    assert_eq!(again.to_string(), printed, "printing is a fixed point");
});
