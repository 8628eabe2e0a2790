//! Helpers for tests and benchmarks. Not part of the supported API.

use crate::playbook::{self, RequiredRule};

/// A larger playbook made from `base`: its phases written `copies` times, the preamble once.
///
/// Copy `k` suffixes every item id and Activity name with `_c{k}`, renames every reference in
/// conditions and Activity Inputs the same way, and renumbers its phases (Phase `n` becomes
/// `n + k × max phase number`, `(Phase n)` qualifiers likewise), so the result is one valid
/// playbook with `copies` times the items and Activities, not a pile of duplicates. Edits are
/// placed with the spans the parser reports for `base`, so nothing else in the text changes.
#[doc(hidden)]
pub fn synthetic_playbook(base: &str, copies: usize) -> String {
    let pb = playbook::parse(base);
    let (Some(first), Some(last)) = (pb.phases.first(), pb.phases.last()) else {
        return base.repeat(copies.min(1));
    };
    let region = first.heading.start..last.span.end.max(first.heading.start);
    let stride = pb.phases.iter().map(|p| p.number).max().unwrap_or(0);

    // Every edit sits inside `region`: a suffix inserted at a position, or a phase number.
    let mut edits: Vec<(usize, Edit)> = Vec::new();
    for phase in &pb.phases {
        if let Some(digits) = first_digits(base, phase.heading.clone()) {
            edits.push((digits.start, Edit::Phase { len: digits.len(), number: phase.number }));
        }
    }
    for item in &pb.items {
        edits.push((item.id_span.end, Edit::Suffix));
        let Some(required) = &item.required else { continue };
        let RequiredRule::Conditional { text, condition: Ok(expr) } = &required.rule else { continue };
        for r in expr.refs() {
            let at = text.span.start + r.span.start..text.span.start + r.span.end;
            if base.get(at.clone()) != Some(r.id.as_str()) {
                continue;
            }
            edits.push((at.end, Edit::Suffix));
            if let (Some(number), Some(digits)) = (r.phase, qualifier_digits(base, at.end)) {
                edits.push((digits.start, Edit::Phase { len: digits.len(), number }));
            }
        }
    }
    for activity in &pb.activities {
        edits.push((activity.name.span.end, Edit::Suffix));
        edits.extend(activity.input_refs.iter().map(|r| (r.span.end, Edit::Suffix)));
    }
    edits.retain(|(at, _)| region.contains(at) || *at == region.end);
    edits.sort_by_key(|(at, _)| *at);
    edits.dedup_by_key(|(at, _)| *at);

    let mut out = String::with_capacity(base.len() * copies + copies * 64);
    out.push_str(&base[..region.start]);
    for k in 0..copies {
        if k > 0 {
            out.push_str("\n\n***\n\n");
        }
        let mut pos = region.start;
        for (at, edit) in &edits {
            out.push_str(&base[pos..*at]);
            pos = *at;
            match edit {
                Edit::Suffix => out.push_str(&format!("_c{k}")),
                Edit::Phase { len, number } => {
                    out.push_str(&(*number as usize + k * stride as usize).to_string());
                    pos += len;
                }
            }
        }
        out.push_str(&base[pos..region.end]);
    }
    out.push_str(&base[region.end..]);
    out
}

#[derive(Debug, Clone, Copy)]
enum Edit {
    /// Insert `_c{k}`.
    Suffix,
    /// Replace `len` bytes of digits with the phase number of this copy.
    Phase { len: usize, number: u32 },
}

/// The first run of ASCII digits inside `span` (the number of a `## Phase n: …` heading).
fn first_digits(text: &str, span: crate::span::Span) -> Option<crate::span::Span> {
    let slice = text.get(span.clone())?;
    let start = slice.find(|c: char| c.is_ascii_digit())?;
    let len = slice[start..].find(|c: char| !c.is_ascii_digit()).unwrap_or(slice.len() - start);
    Some(span.start + start..span.start + start + len)
}

/// The digits of a `(Phase n)` qualifier right after a reference ending at `at`.
fn qualifier_digits(text: &str, at: usize) -> Option<crate::span::Span> {
    let rest = &text[at..];
    let after_tick = rest.strip_prefix('`').unwrap_or(rest);
    let after_paren = after_tick.trim_start().strip_prefix('(')?.trim_start();
    let word = after_paren.get(..5)?;
    if !word.eq_ignore_ascii_case("phase") {
        return None;
    }
    let digits = after_paren[5..].trim_start();
    let len = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    let start = at + (rest.len() - digits.len());
    (len > 0).then_some(start..start + len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{BUILTIN_HANDLERS, lint_playbook};
    use crate::finding::Rule;
    use crate::playbook::Playbook;
    use std::collections::BTreeMap;

    const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openg2p/use-case-implementation.md");

    fn rule_counts(pb: &Playbook) -> BTreeMap<Rule, usize> {
        let mut counts = BTreeMap::new();
        for f in lint_playbook(pb, &BUILTIN_HANDLERS) {
            *counts.entry(f.rule).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn ten_copies_of_the_real_playbook() {
        let Ok(base) = std::fs::read_to_string(REAL) else {
            eprintln!("skipped: {REAL} is not there");
            return;
        };
        let one = playbook::parse(&base);
        let ten_text = synthetic_playbook(&base, 10);
        let ten = playbook::parse(&ten_text);
        let Playbook { phases, items, activities, .. } = &ten;
        assert_eq!(phases.len(), 10 * one.phases.len());
        assert_eq!(items.len(), 10 * one.items.len());
        assert_eq!(activities.len(), 10 * one.activities.len());
        assert!(!one.items.is_empty() && !one.activities.is_empty());

        // Copy k renames everything with `_c{k}` and renumbers its phases.
        assert_eq!(items[one.items.len() * 3].id, format!("{}_c3", one.items[0].id));
        assert_eq!(activities[one.activities.len() * 9 + 1].name.text, format!("{}_c9", one.activities[1].name.text));
        let numbers: std::collections::HashSet<u32> = phases.iter().map(|p| p.number).collect();
        assert_eq!(numbers.len(), phases.len(), "phase numbers are unique");

        let expected: BTreeMap<Rule, usize> = rule_counts(&one).into_iter().map(|(r, n)| (r, n * 10)).collect();
        assert_eq!(rule_counts(&ten), expected);
    }

    #[test]
    fn references_follow_their_items() {
        let base = "# T\n\n## Phase 1: A\n\n### Discovery items\n\n#### has_x\n\n* **Ask:** x?\n* **Required:** yes\n\n\
                    #### x_detail\n\n* **Ask:** which?\n* **Required:** conditional: `has_x` (Phase 1) = yes\n\n\
                    ### Activities\n\n#### 1. use_x\n\n* **Inputs:** `has_x`, `x_detail`, `develop`.\n";
        let out = synthetic_playbook(base, 2);
        assert!(out.contains("## Phase 2: A"), "{out}");
        assert!(out.contains("conditional: `has_x_c1` (Phase 2) = yes"), "{out}");
        assert!(out.contains("* **Inputs:** `has_x_c1`, `x_detail_c1`, `develop`."), "{out}");
        assert!(out.contains("#### 1. use_x_c0"), "{out}");
        let pb = playbook::parse(&out);
        assert_eq!(pb.items.len(), 4);
        assert_eq!(pb.activities[1].input_refs.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), ["has_x_c1", "x_detail_c1"]);
    }
}
