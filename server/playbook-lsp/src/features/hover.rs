//! Hover: an item's schema as Markdown wherever the item appears (case key or value, heading,
//! condition or Inputs reference), an Activity's contract on its name, a phase's summary on
//! its heading with each case's gate (from the engine's status, read by the shell).

use crate::features::completion::{case_answers, line_at, lines};
use crate::locate::{Target, playbook_of, target_at};
use crate::world::{Kind, World};
use playbook_core::analysis::required::{current_phase_index, requirement};
use playbook_core::analysis::{BUILTIN_HANDLERS, runnable};
use playbook_core::condition::{Answer, Answers, Truth};
use playbook_core::playbook::{Activity, Field, Item, Origin, Phase, Playbook, RequiredRule};
use playbook_core::types::ValueType;
use playbook_core::validation::{CharClass, Check};
use playbook_engine::phase::PhaseStatus;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

/// The cases whose phase status (read by the shell from disk) a hover here shows: on a phase
/// heading of a playbook, every case that uses it; elsewhere none.
pub fn phase_cases(world: &World, params: &HoverParams) -> Vec<PathBuf> {
    let position = &params.text_document_position_params;
    let Some(doc) = world.get(&position.text_document.uri).filter(|d| d.kind == Kind::Playbook) else { return Vec::new() };
    let offset = world.offset(doc, position.position);
    match target_at(doc, offset) {
        Some(Target::Phase { .. }) => {
            let cases = world.cases_using(&doc.uri);
            // Past a few cases, each case's gate is read in that case, not on the playbook.
            if cases.len() > super::code_lens::MAX_CASES_PER_PLAYBOOK {
                return Vec::new();
            }
            cases.iter().filter_map(|c| c.path.clone()).collect()
        }
        _ => Vec::new(),
    }
}

/// `phases`: the engine's status per case path, shown as the gate on a phase heading.
pub fn hover(world: &World, params: &HoverParams, phases: &HashMap<PathBuf, PhaseStatus>) -> Option<Hover> {
    let position = &params.text_document_position_params;
    let doc = world.get(&position.text_document.uri)?;
    let offset = world.offset(doc, position.position);
    let target = target_at(doc, offset)?;
    let pb_doc = playbook_of(world, doc)?;
    let pb = pb_doc.playbook();
    let value = match &target {
        Target::Activity { span, .. } => activity_markdown(&pb, pb.activities.iter().find(|a| a.name.span == *span)?),
        Target::Phase { index, .. } => {
            let phase = pb.phases.get(*index)?;
            let mut out = phase_markdown(&pb, phase).trim_end().to_string();
            let mut cases: Vec<(&PathBuf, &PhaseStatus)> = phases.iter().collect();
            cases.sort_by(|a, b| a.0.cmp(b.0));
            let named = cases.len() > 1;
            for (path, status) in cases {
                out.push_str(&gate_markdown(phase.number, status, named.then_some(path.as_path())));
            }
            out
        }
        other => {
            let item = pb.item(other.item_id()?)?;
            if doc.kind == Kind::Case {
                let line = line_at(&lines(&doc.text), offset).number;
                let answers = case_answers(doc, Some(line));
                let current_phase = current_phase_index(&pb, world.current_phase(doc));
                item_markdown(&pb, item, Some(&ForCase { answers: &*answers, current_phase }))
            } else {
                item_markdown(&pb, item, None)
            }
        }
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: Some(world.range(doc, target.span())),
    })
}

/// A case's standing in one phase: its gate when it is the current phase (every blocking
/// reason, the checklist), else whether it is done, ahead or coming soon; and its report.
fn gate_markdown(number: u32, status: &PhaseStatus, case: Option<&Path>) -> String {
    let mut out = String::from("\n\n---\n\n");
    if let Some(case) = case {
        let _ = write!(out, "**Case** `{}`\n\n", case.display());
    }
    let summary = status.phases.iter().find(|p| p.number == number);
    if let Some(report) = summary.and_then(|p| p.report.as_ref()) {
        let versions: Vec<String> =
            report.versions.iter().map(|v| format!("v{} {}", v.version, v.status.map_or("unreadable", |s| s.as_str()))).collect();
        let shown = if versions.is_empty() { "not generated".to_string() } else { versions.join(", ") };
        let _ = write!(out, "**{}:** {shown}\n\n", report.name);
    }
    if number != status.phase {
        let standing = if summary.is_some_and(|p| p.coming_soon) {
            "coming soon: it cannot be entered yet"
        } else if number < status.phase {
            "completed (reopen it to go back)"
        } else {
            "not reached yet"
        };
        let _ = write!(out, "**Phase {number}:** {standing}");
        return out;
    }
    let next = status.gate.next.as_ref().map(|n| format!("Phase {}: {}", n.number, n.name));
    match (&next, status.gate.holds) {
        (None, _) => out.push_str("**Gate:** this is the last phase"),
        (Some(next), true) => {
            let _ = write!(out, "**Gate to {next}:** holds — the phase can be completed");
        }
        (Some(next), false) => {
            let _ = write!(out, "**Gate to {next}:** refused");
            for reason in &status.gate.reasons {
                let _ = write!(out, "\n- {}", reason.message);
            }
        }
    }
    if !status.gate.checklist.is_empty() {
        out.push_str("\n\n**Checklist**");
        for entry in &status.gate.checklist {
            let _ = write!(out, "\n- [ ] {}", entry.text);
        }
    }
    out
}

/// What a hover in a case adds: whether the item is required now for these answers.
pub struct ForCase<'a> {
    pub answers: &'a dyn Answers,
    /// Index into the playbook's phases.
    pub current_phase: usize,
}

/// An item's fields as Markdown: `### id`, Ask, Why, Type, Required, Impact, Validation,
/// Examples, Affects, Follow-ups, then its block and phase.
pub fn item_markdown(pb: &Playbook, item: &Item, case: Option<&ForCase<'_>>) -> String {
    let mut out = format!("### {}\n\n", item.id);
    let mut field = |label: &str, value: &str| {
        let _ = write!(out, "**{label}:** {}\n\n", value.trim());
    };
    if let Some(ask) = &item.ask {
        field("Ask", &ask.value.text);
    }
    if let Some(why) = &item.why {
        field("Why", &why.value.text);
    }
    if let Some(t) = &item.value_type {
        field("Type", &type_text(&t.value_type));
    }
    if let Some(required) = required_text(pb, item, case) {
        field("Required", &required);
    }
    if let Some(impact) = &item.impact {
        let note = if impact.impact.is_none() { " *(not one of the schema's impacts)*" } else { "" };
        field("Impact", &format!("{}{note}", impact.field.value.text));
    }
    if let Some(validation) = &item.validation {
        let mut text = validation.field.value.text.trim().to_string();
        let checked: Vec<String> = validation.rules.iter().map(check_text).collect();
        if !checked.is_empty() {
            let _ = write!(text, "\n- *Checked:* {}", checked.join(" · "));
        }
        if !validation.prose.is_empty() && !validation.rules.is_empty() {
            let _ = write!(text, "\n- *Not machine-checked:* {}", validation.prose.join("; "));
        } else if !validation.prose.is_empty() {
            text.push_str("\n- *Not machine-checked* (shown for people only)");
        }
        field("Validation", &text);
    }
    if let Some(pattern) = item.pattern.as_ref().filter(|_| item.validation.is_none()) {
        field("Pattern", &format!("`{}`", pattern.value.text.trim_matches('`')));
    }
    for (label, f) in [("Examples", &item.examples), ("Affects", &item.affects)] {
        if let Some(f) = f {
            field(label, &f.value.text);
        }
    }
    if let Some(f) = &item.follow_ups {
        field(&f.label.text, &f.value.text);
    }
    out.push_str("---\n\n");
    let mut place = Vec::new();
    if let Origin::FollowUp { parent } = item.origin
        && let Some(parent) = pb.items.get(parent)
    {
        place.push(format!("Follow-up of `{}`", parent.id));
    }
    if let Some(phase) = pb.phases.get(item.phase) {
        if let Some(block) = item.block.and_then(|b| phase.blocks.get(b)) {
            place.push(format!("Block: **{}**", block.name.text));
        }
        place.push(phase_title(phase));
    }
    out.push_str(&place.join(" · "));
    out.push('\n');
    out
}

fn phase_title(phase: &Phase) -> String {
    format!("Phase {}: {}", phase.number, phase.name.text)
}

/// The Type as a reader knows it, with enum members and descriptions.
pub fn type_text(ty: &ValueType) -> String {
    match ty {
        ValueType::Enum { members } => {
            format!("enum — one of {}", members.iter().map(|m| format!("`{}`", m.text)).collect::<Vec<_>>().join(", "))
        }
        ValueType::Classification { description: Some(d), .. } => format!("classification — {d}"),
        ValueType::ListOf { description, .. } => format!("list of {description}"),
        ValueType::Unknown { text } => format!("`{text}` *(not a type of the schema)*"),
        other => other.name(),
    }
}

/// `yes`, `no` or the condition as written; in a case, whether it holds and whether the item is
/// required now.
fn required_text(pb: &Playbook, item: &Item, case: Option<&ForCase<'_>>) -> Option<String> {
    let required = item.required.as_ref()?;
    let mut text = match &required.rule {
        RequiredRule::Yes => "yes".to_string(),
        RequiredRule::No => "no".to_string(),
        RequiredRule::Conditional { text, condition: Ok(_) } => format!("conditional: {}", text.text),
        RequiredRule::Conditional { text, condition: Err(e) } => {
            format!("conditional: {} *(the condition could not be read — {}; it never makes the item required)*", text.text, e.message)
        }
        RequiredRule::Invalid => {
            format!("{} *(not `yes`, `no` or `conditional: …`; it never makes the item required)*", required.field.value.text)
        }
    };
    let Some(case) = case else { return Some(text) };
    let truth = requirement(item, case.answers);
    let later = (item.phase > case.current_phase).then(|| pb.phases.get(item.phase).map(phase_title)).flatten();
    let now = match (truth, &later) {
        (Truth::True, None) => "**required now**".to_string(),
        (Truth::True, Some(phase)) => {
            let current = pb.phases.get(case.current_phase).map(phase_title).unwrap_or_default();
            format!("not required yet: it belongs to {phase} (the current phase is {current})")
        }
        (Truth::False, _) => "not required".to_string(),
        (Truth::Unknown, _) => "not required until the answers it depends on are recorded".to_string(),
    };
    match (&required.rule, truth) {
        (RequiredRule::Conditional { condition: Ok(expr), .. }, _) => {
            let value = match truth {
                Truth::True => "true".to_string(),
                Truth::False => "false".to_string(),
                Truth::Unknown => {
                    let mut waiting: Vec<String> = Vec::new();
                    for r in expr.refs() {
                        let id = format!("`{}`", r.id);
                        if !matches!(case.answers.answer(&r.id), Answer::Value(_)) && !waiting.contains(&id) {
                            waiting.push(id);
                        }
                    }
                    format!("not yet known (waiting on {})", waiting.join(", "))
                }
            };
            let _ = write!(text, "  \n*In this case:* the condition is {value} — {now}");
        }
        _ => {
            let _ = write!(text, "  \n*In this case:* {now}");
        }
    }
    Some(text)
}

/// A recognised Validation rule in words.
fn check_text(check: &Check) -> String {
    match check {
        Check::Length { min: Some(min), max: Some(max) } => format!("length {min}–{max} characters"),
        Check::Length { min: Some(min), max: None } => format!("at least {min} characters"),
        Check::Length { min: None, max: Some(max) } => format!("at most {max} characters"),
        Check::Length { min: None, max: None } => "a length".into(),
        Check::Charset { classes, .. } => {
            format!("only {}", classes.iter().map(|c| class_name(*c)).collect::<Vec<_>>().join(", "))
        }
        Check::NoWhitespace => "no whitespace".into(),
        Check::NoLeading { ch } => format!("does not start with `{ch}`"),
        Check::NoTrailing { ch } => format!("does not end with `{ch}`"),
        Check::MustNotContain { word } => format!("does not contain `{word}`"),
        Check::Email => "a valid email address".into(),
        Check::Unique => "values are unique".into(),
        Check::Pattern(re) => format!("matches `{}`", re.as_str()),
    }
}

fn class_name(class: CharClass) -> &'static str {
    match class {
        CharClass::Lowercase => "lowercase letters",
        CharClass::Uppercase => "uppercase letters",
        CharClass::Letters => "letters",
        CharClass::Digits => "digits",
        CharClass::Hyphen => "hyphens",
        CharClass::Underscore => "underscores",
        CharClass::Dot => "dots",
        CharClass::Space => "spaces",
    }
}

/// An Activity's number, Inputs, Side effects, On failure and how it runs.
pub fn activity_markdown(pb: &Playbook, activity: &Activity) -> String {
    let title = match &activity.number {
        Some((n, _)) => format!("{n}. {}", activity.name.text),
        None => activity.name.text.clone(),
    };
    let mut out = format!("### {title}\n\n");
    let phase = pb.phases.get(activity.phase).map(phase_title).unwrap_or_default();
    let position = pb.phases.get(activity.phase).and_then(|p| {
        let i = pb.activities.iter().position(|a| std::ptr::eq(a, activity))?;
        Some((p.activities.iter().position(|&x| x == i)? + 1, p.activities.len()))
    });
    match position {
        Some((k, n)) => {
            let _ = write!(out, "Activity {k} of {n} in {phase}\n\n");
        }
        None => {
            let _ = write!(out, "Activity of {phase}\n\n");
        }
    }
    let value = |f: &Option<Field>| f.as_ref().map(|f| f.value.text.trim().to_string());
    let inputs = value(&activity.inputs).unwrap_or_else(|| "*none declared*".into());
    let _ = write!(out, "**Inputs:** {inputs}\n\n");
    let locality = if activity.remote { "**remote** — runs only after every local Activity succeeded" } else { "**local**" };
    let side_effects = value(&activity.side_effects).unwrap_or_else(|| "*none declared*".into());
    let _ = write!(out, "**Side effects:** {side_effects}  \n*Reach:* {locality}\n\n");
    let failure = value(&activity.on_failure).unwrap_or_else(|| "*not stated*".into());
    let aborts = if activity.aborts_on_failure { "a failure **aborts** the build" } else { "a failure does **not** abort the build" };
    let _ = write!(out, "**On failure:** {failure}  \n*Effect:* {aborts}\n\n");
    let runs = if let Some(run) = &activity.run {
        format!("runnable — its `{} run` block", run.shell)
    } else if runnable(activity, &BUILTIN_HANDLERS) {
        "runnable — built-in handler".to_string()
    } else {
        "manual — no built-in handler and no `sh run` block; a checklist step for the implementer".to_string()
    };
    let _ = writeln!(out, "**Runs:** {runs}");
    out
}

/// A phase's counts and state.
pub fn phase_markdown(pb: &Playbook, phase: &Phase) -> String {
    let mut out = format!("### {}\n\n", phase_title(phase));
    if phase.coming_soon() {
        out.push_str("**Coming soon** — no Discovery items and no Activities yet; the phase cannot be entered.\n");
        return out;
    }
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let runnable_count = phase.activities.iter().filter(|&&i| pb.activities.get(i).is_some_and(|a| runnable(a, &BUILTIN_HANDLERS))).count();
    let mut parts = vec![plural(phase.items.len(), "Discovery item", "Discovery items")];
    if !phase.blocks.is_empty() {
        parts.push(plural(phase.blocks.len(), "block", "blocks"));
    }
    parts.push(plural(phase.activities.len(), "Activity", "Activities"));
    if runnable_count > 0 {
        parts.push(format!("{runnable_count} runnable"));
    }
    let _ = write!(out, "{}\n\n", parts.join(" · "));
    let _ = writeln!(
        out,
        "{}",
        if runnable_count > 0 {
            "**Build phase** — its Activities run as one build job."
        } else {
            "Not a build phase (no runnable Activity)."
        }
    );
    if let Some(report) = phase.output.as_ref().and_then(|o| o.report.as_ref()) {
        let _ = write!(out, "\n**Output:** {}\n", report.text);
    }
    out
}
