//! Findings for playbook authors (product.md §4, playbook rules).

use crate::finding::{DocRef, Finding, Fix, Rule};
use crate::playbook::{Activity, Item, Origin, Playbook, RequiredRule};
use crate::suggest::{Suggester, closest};
use crate::types::ValueType;
use std::collections::{HashMap, HashSet};

/// The ids a playbook defines, for membership and did-you-mean.
struct Ids<'a> {
    set: HashSet<&'a str>,
    suggester: Suggester<'a>,
}

impl<'a> Ids<'a> {
    fn new(playbook: &'a Playbook) -> Self {
        let ids = || playbook.items.iter().map(|i| i.id.as_str());
        Ids { set: ids().collect(), suggester: Suggester::new(ids()) }
    }

    fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }
}

/// Lint a playbook. `handlers` names the Activities that have a built-in handler.
pub fn lint_playbook(playbook: &Playbook, handlers: &[&str]) -> Vec<Finding> {
    let mut out = Vec::new();
    let ids = Ids::new(playbook);
    duplicate_items(playbook, &mut out);
    for item in &playbook.items {
        if item.origin == Origin::Heading {
            missing_fields(item, &mut out);
        }
        item_fields(item, &ids, &mut out);
    }
    for phase_index in 0..playbook.phases.len() {
        let activities: Vec<&Activity> = playbook.phases[phase_index].activities.iter().map(|&a| &playbook.activities[a]).collect();
        activity_numbering(&activities, &mut out);
        no_handler(&activities, handlers, &mut out);
        remote_before_local(&activities, &mut out);
    }
    for activity in &playbook.activities {
        for input in &activity.input_refs {
            if !ids.contains(&input.text) {
                let mut f = Finding::new(
                    Rule::UndefinedInput,
                    DocRef::Playbook,
                    input.span.clone(),
                    format!("Activity `{}` takes input `{}`, which no Discovery item defines", activity.name.text, input.text),
                )
                .with_item(&activity.name.text);
                if let Some(s) = ids.suggester.closest(&input.text) {
                    f = f.with_note(format!("did you mean `{s}`?")).with_fix(replace(input.span.clone(), s));
                }
                out.push(f);
            }
        }
    }
    out
}

fn replace(span: crate::span::Span, text: &str) -> Fix {
    Fix::Replace { span, text: text.to_string(), title: format!("Change to `{text}`") }
}

fn duplicate_items(playbook: &Playbook, out: &mut Vec<Finding>) {
    let mut first: HashMap<&str, &Item> = HashMap::new();
    for item in &playbook.items {
        match first.get(item.id.as_str()) {
            Some(original) => out.push(
                Finding::new(
                    Rule::DuplicateItem,
                    DocRef::Playbook,
                    item.id_span.clone(),
                    format!("Discovery item `{}` is defined twice", item.id),
                )
                .with_item(&item.id)
                .with_related(DocRef::Playbook, original.id_span.clone(), "first defined here"),
            ),
            None => {
                first.insert(&item.id, item);
            }
        }
    }
}

fn missing_fields(item: &Item, out: &mut Vec<Finding>) {
    let missing: Vec<&str> = [
        ("Ask", item.ask.is_none()),
        ("Why", item.why.is_none()),
        ("Required", item.required.is_none()),
        ("Type", item.value_type.is_none()),
        ("Impact", item.impact.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    if !missing.is_empty() {
        let list = missing.iter().map(|m| format!("**{m}:**")).collect::<Vec<_>>().join(", ");
        out.push(
            Finding::new(
                Rule::MissingField,
                DocRef::Playbook,
                item.id_span.clone(),
                format!("Discovery item `{}` lacks mandatory field{} {list}", item.id, if missing.len() > 1 { "s" } else { "" }),
            )
            .with_item(&item.id)
            .with_note("every Discovery item needs Ask, Why, Required, Type and Impact"),
        );
    }
}

fn item_fields(item: &Item, ids: &Ids<'_>, out: &mut Vec<Finding>) {
    if let Some(t) = &item.value_type
        && let ValueType::Unknown { text } = &t.value_type
    {
        let head = text.split_whitespace().next().unwrap_or_default();
        let known = ["text", "number", "boolean", "enum", "list", "prose", "file", "classification"];
        let mut f = Finding::new(
            Rule::UnknownType,
            DocRef::Playbook,
            t.field.value.span.clone(),
            format!("unknown Type `{text}` for `{}`", item.id),
        )
        .with_item(&item.id)
        .with_note(
            "types are text, number, boolean, enum [`a`, `b`], list, prose, file, file (<kind>), classification, list of <description>",
        );
        if let Some(s) = closest(head, known)
            && s != head
        {
            f = f.with_note(format!("did you mean `{s}`?"));
        }
        out.push(f);
    }
    if let Some(impact) = &item.impact
        && impact.impact.is_none()
    {
        let value = impact.field.value.text.trim();
        let names = crate::playbook::Impact::ALL.map(|(n, _)| n);
        let mut f = Finding::new(
            Rule::UnknownImpact,
            DocRef::Playbook,
            impact.field.value.span.clone(),
            format!("unknown Impact `{value}` for `{}`", item.id),
        )
        .with_item(&item.id)
        .with_note("Impact is one of code, configuration, informational, deployment, migration");
        if let Some(s) = closest(value, names) {
            f = f.with_note(format!("did you mean `{s}`?")).with_fix(replace(impact.field.value.span.clone(), s));
        }
        out.push(f);
    }
    if let Some(pattern) = &item.pattern
        && let Err(message) = crate::validation::compile_pattern(&pattern.value.text)
    {
        out.push(Finding::new(Rule::InvalidValue, DocRef::Playbook, pattern.value.span.clone(), message).with_item(&item.id));
    }
    let Some(required) = &item.required else { return };
    match &required.rule {
        RequiredRule::Yes | RequiredRule::No => {}
        RequiredRule::Invalid => out.push(
            Finding::new(
                Rule::UnparsedCondition,
                DocRef::Playbook,
                required.field.value.span.clone(),
                format!("Required of `{}` is neither `yes`, `no` nor `conditional: <expression>`; the item is never required", item.id),
            )
            .with_item(&item.id),
        ),
        RequiredRule::Conditional { text, condition: Err(e) } => out.push(
            Finding::new(
                Rule::UnparsedCondition,
                DocRef::Playbook,
                text.span.clone(),
                format!("condition of `{}` does not parse ({}); it is kept as text and never makes the item required", item.id, e.message),
            )
            .with_item(&item.id),
        ),
        RequiredRule::Conditional { text, condition: Ok(expr) } => {
            for r in expr.refs() {
                if ids.contains(&r.id) {
                    continue;
                }
                let span = text.span.start + r.span.start..text.span.start + r.span.end;
                let qualifier = r.phase.map(|p| format!(" (Phase {p})")).unwrap_or_default();
                let mut f = Finding::new(
                    Rule::UndefinedReference,
                    DocRef::Playbook,
                    span.clone(),
                    format!("the condition of `{}` refers to `{}`{qualifier}, which no Discovery item defines", item.id, r.id),
                )
                .with_item(&item.id)
                .with_note("an undefined reference is never answered, so this item can never become required");
                if let Some(s) = ids.suggester.closest(&r.id) {
                    f = f.with_note(format!("did you mean `{s}`?")).with_fix(replace(span, s));
                }
                out.push(f);
            }
        }
    }
}

fn activity_numbering(activities: &[&Activity], out: &mut Vec<Finding>) {
    if !activities.iter().any(|a| a.number.is_some()) {
        return;
    }
    for (index, activity) in activities.iter().enumerate() {
        let expected = index as u32 + 1;
        let (message, span) = match &activity.number {
            Some((n, span)) if *n == expected => continue,
            Some((n, span)) => (format!("Activity `{}` is numbered {n}, expected {expected}", activity.name.text), span.clone()),
            None => (format!("Activity `{}` has no number, expected {expected}", activity.name.text), activity.name.span.clone()),
        };
        let mut f = Finding::new(Rule::ActivityNumbering, DocRef::Playbook, span.clone(), message)
            .with_item(&activity.name.text)
            .with_note("numbered Activities run in order and must be numbered 1..N");
        if activity.number.is_some() {
            f = f.with_fix(Fix::Replace { span, text: expected.to_string(), title: format!("Renumber to {expected}") });
        }
        out.push(f);
        return;
    }
}

/// An Activity can run when a built-in handler knows it or it carries a `sh run` block.
pub fn runnable(activity: &Activity, handlers: &[&str]) -> bool {
    activity.run.is_some() || handlers.contains(&activity.name.text.as_str())
}

fn no_handler(activities: &[&Activity], handlers: &[&str], out: &mut Vec<Finding>) {
    if !activities.iter().any(|a| runnable(a, handlers)) {
        return;
    }
    for activity in activities.iter().filter(|a| !runnable(a, handlers)) {
        out.push(
            Finding::new(
                Rule::NoHandler,
                DocRef::Playbook,
                activity.name.span.clone(),
                format!("Activity `{}` has no built-in handler and no ```sh run``` block, so the build cannot run it", activity.name.text),
            )
            .with_item(&activity.name.text)
            .with_note("add a fenced block with the info string `sh run`, or move this manual step out of the build phase"),
        );
    }
}

fn remote_before_local(activities: &[&Activity], out: &mut Vec<Finding>) {
    for (i, remote) in activities.iter().enumerate().filter(|(_, a)| a.remote) {
        if let Some(local) = activities[i + 1..].iter().find(|a| !a.remote && a.aborts_on_failure) {
            out.push(
                Finding::new(
                    Rule::RemoteBeforeLocal,
                    DocRef::Playbook,
                    remote.name.span.clone(),
                    format!(
                        "remote Activity `{}` runs before `{}`, a local Activity that aborts the build on failure (build locally first)",
                        remote.name.text, local.name.text
                    ),
                )
                .with_item(&remote.name.text)
                .with_related(DocRef::Playbook, local.name.span.clone(), "this local check can still fail after the remote side effect")
                .with_note("move the remote Activity after every local one, so a failed local check leaves nothing behind remotely"),
            );
        }
    }
}
