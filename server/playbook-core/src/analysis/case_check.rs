//! Findings for implementers filling in a working case (product.md §4, working-case rules).

use super::required::{current_phase_index, progress};
use crate::case::{AnswerState, Case};
use crate::finding::{DocRef, Finding, Fix, Rule};
use crate::playbook::{Item, Playbook};
use crate::suggest::Suggester;
use crate::types::{FileProbe, Shape, ValueType, check_value};
use crate::validation;

/// What the shell knows that the core cannot read itself.
pub struct CaseContext<'a> {
    /// The current phase number from `.playbook/state.json`; `None` means the first phase.
    pub current_phase: Option<u32>,
    /// Looks at file answers (relative to the case, confined to the workspace).
    pub files: &'a dyn FileProbe,
}

/// Check a case against its playbook. The playbook must already be loaded; when it cannot
/// be, the shell reports [`playbook_not_found`] instead.
pub fn check_case(case: &Case, text: &str, playbook: &Playbook, ctx: &CaseContext<'_>) -> Vec<Finding> {
    let mut out = structural(case);
    if case.syntax_error.is_some() {
        return out;
    }
    let ids = Suggester::new(playbook.items.iter().map(|i| i.id.as_str()));
    for entry in &case.answers {
        let Some(item) = playbook.item(&entry.id) else {
            let mut f = Finding::new(
                Rule::UnknownItem,
                DocRef::Case,
                entry.key_span.clone(),
                format!("`{}` is not a Discovery item of the playbook", entry.id),
            )
            .with_item(&entry.id);
            if let Some(s) = ids.closest(&entry.id) {
                f = f.with_note(format!("did you mean `{s}`?")).with_fix(Fix::Replace {
                    span: entry.key_span.clone(),
                    text: s.to_string(),
                    title: format!("Rename to `{s}`"),
                });
            }
            out.push(f);
            continue;
        };
        match &entry.state {
            AnswerState::Value => check_answer(item, &entry.value, text, ctx, &mut out),
            AnswerState::Null => {}
            AnswerState::Deferred { reason } => {
                let message = match reason {
                    Some(r) => format!("`{}` is deferred: {r}", entry.id),
                    None => format!("`{}` is deferred without a reason; write `!deferred \"why\"`", entry.id),
                };
                out.push(Finding::new(Rule::Deferred, DocRef::Case, entry.value.span.clone(), message).with_item(&entry.id));
            }
            AnswerState::Unknown => out.push(
                Finding::new(Rule::Deferred, DocRef::Case, entry.value.span.clone(), format!("`{}` is recorded as unknown", entry.id))
                    .with_item(&entry.id),
            ),
            AnswerState::UnknownTag(tag) => out.push(
                Finding::new(
                    Rule::InvalidValue,
                    DocRef::Case,
                    entry.value.span.clone(),
                    format!("unknown tag `{tag}` on `{}`; use `!deferred \"reason\"` or `!unknown`", entry.id),
                )
                .with_item(&entry.id),
            ),
        }
    }
    missing_answers(case, playbook, ctx, &mut out);
    out
}

/// Every finding of a case, whether or not its playbook could be loaded: what both shells
/// report. `playbook` is the loaded playbook, or why it could not be loaded.
pub fn check_case_or_missing(case: &Case, text: &str, playbook: Result<&Playbook, &str>, ctx: &CaseContext<'_>) -> Vec<Finding> {
    match playbook {
        Ok(playbook) => check_case(case, text, playbook, ctx),
        // A syntax error hides what `playbook:` says: report the syntax error alone.
        Err(_) if case.syntax_error.is_some() => structural(case),
        Err(reason) => {
            let mut found = structural(case);
            found.push(playbook_not_found(case, reason));
            found
        }
    }
}

/// Findings that need no playbook: syntax, duplicate keys, the shape of `answers`.
pub fn structural(case: &Case) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(e) = &case.syntax_error {
        out.push(Finding::new(Rule::YamlSyntax, DocRef::Case, e.offset..e.offset, format!("YAML syntax error: {}", e.message)));
        return out;
    }
    for d in &case.duplicate_keys {
        out.push(
            Finding::new(
                Rule::DuplicateKey,
                DocRef::Case,
                d.span.clone(),
                format!("key `{}` appears twice; only the first is used", d.key),
            )
            .with_item(&d.key)
            .with_related(DocRef::Case, d.first.clone(), "first written here"),
        );
    }
    if let Some(span) = &case.answers_not_a_map {
        out.push(Finding::new(Rule::InvalidValue, DocRef::Case, span.clone(), "`answers` must be a mapping of item ids to answers"));
    }
    out
}

/// The case names no playbook, or the one it names cannot be read or is not a playbook.
pub fn playbook_not_found(case: &Case, reason: &str) -> Finding {
    let (span, message) = match &case.playbook {
        Some(r) if !r.path.is_empty() => (r.span.clone(), format!("playbook `{}` not found: {reason}", r.path)),
        Some(r) => (r.key_span.clone(), "`playbook:` is empty; name the playbook file, relative to this case".to_string()),
        None => (0..0, "this working case has no `playbook:` key naming its playbook".to_string()),
    };
    Finding::new(Rule::PlaybookNotFound, DocRef::Case, span, message)
}

fn check_answer(item: &Item, value: &crate::yaml::Node, text: &str, ctx: &CaseContext<'_>, out: &mut Vec<Finding>) {
    let Some(ty) = item.value_type.as_ref().map(|t| &t.value_type) else { return };
    let mismatches = check_value(ty, value, text, ctx.files);
    let type_ok = mismatches.is_empty();
    for m in mismatches {
        let mut f =
            Finding::new(Rule::InvalidValue, DocRef::Case, m.span.clone(), format!("`{}`: {}", item.id, m.message)).with_item(&item.id);
        if let Some(first) = m.replacements.first()
            && matches!(ty, ValueType::Enum { .. })
        {
            f = f.with_note(format!("did you mean `{first}`?"));
        }
        for text in m.replacements {
            f = f.with_fix(Fix::Replace { span: m.span.clone(), title: format!("Replace with `{text}`"), text });
        }
        out.push(f);
    }
    if !type_ok {
        return;
    }
    if let Some(v) = &item.validation {
        for violation in validation::check(v, value) {
            out.push(
                Finding::new(Rule::InvalidValue, DocRef::Case, violation.span, format!("`{}`: {}", item.id, violation.message))
                    .with_item(&item.id)
                    .with_note(format!("Validation: {}", crate::playbook::plain_text(&v.field.value.text))),
            );
        }
    }
}

fn missing_answers(case: &Case, playbook: &Playbook, ctx: &CaseContext<'_>, out: &mut Vec<Finding>) {
    let phase = current_phase_index(playbook, ctx.current_phase);
    let anchor = case.answers_key.clone().or_else(|| case.playbook.as_ref().map(|p| p.key_span.clone())).unwrap_or(0..0);
    let (_, missing) = progress(playbook, case, phase);
    for index in missing {
        let item = &playbook.items[index];
        let ask = item.ask_plain().unwrap_or_default();
        let phase_name = &playbook.phases[item.phase];
        out.push(
            Finding::new(Rule::MissingAnswer, DocRef::Case, anchor.clone(), format!("missing answer for `{}`: {ask}", item.id))
                .with_item(&item.id)
                .with_related(DocRef::Playbook, item.id_span.clone(), format!("`{}` is required in Phase {}", item.id, phase_name.number))
                .with_fix(record_answer(item))
                .with_fix(Fix::MarkDeferred { item: item.id.clone() })
                .with_fix(Fix::MarkUnknown { item: item.id.clone() }),
        );
    }
}

/// The text and snippet that record an answer for `item`, typed by its Type.
pub fn record_answer(item: &Item) -> Fix {
    let (text, snippet) = match item.value_type.as_ref().map(|t| &t.value_type) {
        Some(ValueType::Boolean) => ("yes".to_string(), "${1|yes,no|}".to_string()),
        Some(ValueType::Enum { members }) => {
            let names: Vec<String> = members.iter().map(|m| m.text.replace([',', '|', '\\', '$', '}'], "")).collect();
            (members.first().map(|m| m.text.clone()).unwrap_or_default(), format!("${{1|{}|}}", names.join(",")))
        }
        Some(ValueType::Number) => ("0".to_string(), "${1:0}".to_string()),
        Some(ValueType::List | ValueType::ListOf { .. }) => ("[]".to_string(), "[${1}]".to_string()),
        Some(ValueType::Classification { shape: Shape::Map, .. }) => ("{}".to_string(), "{${1}}".to_string()),
        Some(ValueType::File { .. }) => ("\"\"".to_string(), "\"${1:path/relative/to/case}\"".to_string()),
        _ => ("\"\"".to_string(), "\"${1}\"".to_string()),
    };
    Fix::RecordAnswer { item: item.id.clone(), text, snippet, comment: item.ask_plain().unwrap_or_default() }
}
