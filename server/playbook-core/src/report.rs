//! Reports (product.md §7): the Markdown of one version of a phase's report, generated from
//! the phase's Output section, and its YAML front matter. Pure: the engine supplies the
//! facts (time, user, hashes, the build job, drafted sections) and writes the file.
//!
//! Front matter, in this order (strings JSON-quoted, which YAML reads as double-quoted):
//!
//! ```yaml
//! ---
//! report: "Requirements Analysis Report"
//! phase: 1
//! phase_name: "Requirements Analysis"
//! version: 2
//! status: draft            # draft | approved | superseded
//! generated_at: "2026-03-01T09:12:44.120Z"
//! generated_by: "Ada"
//! case: "working_case.yaml"
//! case_hash: "…32 hex digits…"
//! playbook: "../playbooks/registry.md"
//! playbook_hash: "…32 hex digits…"
//! build_job: null          # the job a Build Report was made from
//! approved_at: null
//! approved_by: null
//! ---
//! ```

use crate::case::{AnswerEntry, AnswerState, Case};
use crate::phase::{BuildFact, GapStatus, Gate};
use crate::playbook::{OutputSection, Phase, Playbook, plain_text};
use crate::yaml::{Node, NodeKind};
use regex::Regex;
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::LazyLock;

pub use crate::phase::ReportStatus;

/// The text that marks what the implementer still has to write.
pub const TO_BE_COMPLETED: &str = "_To be completed by the implementer._";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    pub report: String,
    pub phase: u32,
    pub phase_name: String,
    pub version: u32,
    pub status: ReportStatus,
    pub generated_at: String,
    pub generated_by: Option<String>,
    /// The case file, relative to the report's folder's parent (the case's folder).
    pub case: String,
    pub case_hash: String,
    /// The playbook as the case names it.
    pub playbook: String,
    pub playbook_hash: String,
    pub build_job: Option<String>,
    pub approved_at: Option<String>,
    pub approved_by: Option<String>,
}

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or("null".to_string(), quoted)
}

impl FrontMatter {
    /// The front matter block, from `---` to `---` and a newline.
    pub fn render(&self) -> String {
        let mut out = String::from("---\n");
        let _ = writeln!(out, "report: {}", quoted(&self.report));
        let _ = writeln!(out, "phase: {}", self.phase);
        let _ = writeln!(out, "phase_name: {}", quoted(&self.phase_name));
        let _ = writeln!(out, "version: {}", self.version);
        let _ = writeln!(out, "status: {}", self.status.as_str());
        let _ = writeln!(out, "generated_at: {}", quoted(&self.generated_at));
        let _ = writeln!(out, "generated_by: {}", opt(&self.generated_by));
        let _ = writeln!(out, "case: {}", quoted(&self.case));
        let _ = writeln!(out, "case_hash: {}", quoted(&self.case_hash));
        let _ = writeln!(out, "playbook: {}", quoted(&self.playbook));
        let _ = writeln!(out, "playbook_hash: {}", quoted(&self.playbook_hash));
        let _ = writeln!(out, "build_job: {}", opt(&self.build_job));
        let _ = writeln!(out, "approved_at: {}", opt(&self.approved_at));
        let _ = writeln!(out, "approved_by: {}", opt(&self.approved_by));
        out.push_str("---\n");
        out
    }

    /// Read the front matter at the start of a report.
    pub fn parse(text: &str) -> Result<FrontMatter, String> {
        let (fields, _) = front_matter_fields(text)?;
        let get = |key: &str| fields.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.clone());
        let number = |key: &str| -> Result<u32, String> {
            let v = get(key).ok_or_else(|| format!("the front matter has no `{key}`"))?;
            v.parse().map_err(|_| format!("the front matter's `{key}` is not a number: {v}"))
        };
        let status_text = get("status").ok_or("the front matter has no `status`")?;
        let status = ReportStatus::parse(&status_text)
            .ok_or_else(|| format!("the front matter's `status` is `{status_text}`, not draft, approved or superseded"))?;
        Ok(FrontMatter {
            report: get("report").unwrap_or_default(),
            phase: number("phase")?,
            phase_name: get("phase_name").unwrap_or_default(),
            version: number("version")?,
            status,
            generated_at: get("generated_at").unwrap_or_default(),
            generated_by: get("generated_by"),
            case: get("case").unwrap_or_default(),
            case_hash: get("case_hash").unwrap_or_default(),
            playbook: get("playbook").unwrap_or_default(),
            playbook_hash: get("playbook_hash").unwrap_or_default(),
            build_job: get("build_job"),
            approved_at: get("approved_at"),
            approved_by: get("approved_by"),
        })
    }
}

/// One `key: value` line of the front matter.
type Field = (String, Option<String>);

/// The `key: value` lines of the front matter and the byte offset where it ends (after the
/// closing `---` line). Values: `null`, `~` or nothing is `None`; `"…"` is a JSON string;
/// `'…'` a single-quoted one; anything else is taken as written.
fn front_matter_fields(text: &str) -> Result<(Vec<Field>, usize), String> {
    let text_start = text.strip_prefix('\u{feff}').map_or(0, |_| 3);
    let mut lines = text[text_start..].split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "---" {
        return Err("the report does not start with a `---` front matter block".into());
    }
    let mut offset = text_start + first.len();
    let mut fields = Vec::new();
    for line in lines {
        offset += line.len();
        let trimmed = line.trim_end();
        if trimmed == "---" {
            return Ok((fields, offset));
        }
        if trimmed.trim_start().is_empty() || trimmed.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            return Err(format!("the front matter line `{trimmed}` is not `key: value`"));
        };
        fields.push((key.trim().to_string(), scalar(value)));
    }
    Err("the front matter is not closed by a `---` line".into())
}

fn scalar(value: &str) -> Option<String> {
    let v = value.trim();
    // A comment after a plain value.
    let v = if v.starts_with(['"', '\'']) { v } else { v.split(" #").next().unwrap_or(v).trim() };
    if matches!(v, "" | "~" | "null" | "Null" | "NULL") {
        return None;
    }
    if v.starts_with('"') {
        return Some(serde_json::from_str::<String>(v).unwrap_or_else(|_| v.trim_matches('"').to_string()));
    }
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    Some(v.to_string())
}

/// Change some front matter fields of a report and keep everything else byte for byte: a
/// key's line is replaced where it is, a key not there yet is added before the closing `---`.
pub fn update_front_matter(text: &str, changes: &[(&str, Option<String>)]) -> Result<String, String> {
    let (_, end) = front_matter_fields(text)?;
    let head = &text[..end];
    let mut out = String::with_capacity(text.len() + 64);
    let mut done: HashSet<&str> = HashSet::new();
    let mut lines: Vec<&str> = head.split_inclusive('\n').collect();
    let closing = lines.pop().unwrap_or("---\n");
    for (i, line) in lines.iter().enumerate() {
        let key = line.split_once(':').map(|(k, _)| k.trim());
        match (i, key.and_then(|k| changes.iter().find(|(c, _)| *c == k))) {
            (i, Some((k, v))) if i > 0 && !done.contains(k) => {
                let _ = writeln!(out, "{k}: {}", value_text(k, v));
                done.insert(k);
            }
            _ => out.push_str(line),
        }
    }
    for (k, v) in changes {
        if !done.contains(k) {
            let _ = writeln!(out, "{k}: {}", value_text(k, v));
        }
    }
    out.push_str(closing);
    out.push_str(&text[end..]);
    Ok(out)
}

fn value_text(key: &str, value: &Option<String>) -> String {
    match value {
        // Status is a bare word; numbers stay numbers.
        Some(v) if key == "status" || v.parse::<u64>().is_ok() => v.clone(),
        _ => opt(value),
    }
}

/// The body of a report (everything after the front matter).
pub fn body(text: &str) -> Result<&str, String> {
    front_matter_fields(text).map(|(_, end)| &text[end..])
}

/// `Requirements Analysis Report` → `requirements-analysis-report`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in plain_text(name).chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "report".to_string() } else { out }
}

/// `phase-1-requirements-analysis-report-v2.md`.
pub fn file_name(phase: u32, report: &str, version: u32) -> String {
    format!("phase-{phase}-{}-v{version}.md", slug(report))
}

/// The phase and version in a report file name (`phase-<n>-<slug>-v<k>.md`).
pub fn parse_file_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("phase-")?.strip_suffix(".md")?;
    let (phase, rest) = rest.split_once('-')?;
    let (slug, version) = rest.rsplit_once("-v")?;
    if slug.is_empty() {
        return None;
    }
    Some((phase.parse().ok()?, version.parse().ok()?))
}

/// What a Build Report carries from its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildEvidence {
    pub job: BuildFact,
    /// When the job started (RFC 3339).
    pub started: Option<String>,
    /// Files the job left in its workspace, relative paths.
    pub artefacts: Vec<String>,
    /// Container image references seen in the job's events.
    pub images: Vec<String>,
    /// What the job published or proved, one Markdown line each (projects, pushed commits,
    /// pushed images, test results), from the steps' recorded outputs.
    pub published: Vec<String>,
}

/// A section written by a language model, to be reviewed before approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drafted {
    pub provider: String,
    pub text: String,
}

/// How the engine fills an Output section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionFill {
    /// Every answer, grouped by block.
    Facts,
    /// The job's Activity table (Build Reports).
    Activities,
    /// The job's artefacts and image references, then the rest for the implementer.
    Artefacts,
    /// Referenced answers, then the implementer (or a drafting model) writes it.
    Implementer,
}

impl SectionFill {
    /// Whether what the engine writes leaves part of the section to someone else.
    pub fn needs_writing(self) -> bool {
        matches!(self, SectionFill::Artefacts | SectionFill::Implementer)
    }
}

pub fn section_fill(section: &OutputSection, build: bool) -> SectionFill {
    let title = plain_text(&section.title.text).to_lowercase();
    let all = format!("{title} {}", section.description.to_lowercase());
    let words: Vec<&str> = title.split(|c: char| !c.is_alphanumeric()).collect();
    if words.iter().any(|w| matches!(*w, "fact" | "facts")) {
        SectionFill::Facts
    } else if build && all.contains("activit") && !title.contains("artefact") && !title.contains("artifact") {
        SectionFill::Activities
    } else if build && (all.contains("artefact") || all.contains("artifact") || all.contains("image")) {
        SectionFill::Artefacts
    } else {
        SectionFill::Implementer
    }
}

/// Everything a report version is rendered from.
pub struct ReportInput<'a> {
    pub playbook: &'a Playbook,
    pub case: &'a Case,
    /// Index into `playbook.phases`.
    pub phase: usize,
    pub front: &'a FrontMatter,
    /// The gate of the report's phase (its gap checks, checklist and missing items).
    pub gate: &'a Gate,
    /// For a build phase: the newest job of the phase, when there is one.
    pub build: Option<&'a BuildEvidence>,
    /// Per Output section (same order), a drafted text when a model wrote one.
    pub drafts: &'a [Option<Drafted>],
}

/// The whole report file: front matter and body.
pub fn render(input: &ReportInput) -> String {
    let mut out = input.front.render();
    out.push('\n');
    out.push_str(&render_body(input));
    out
}

fn render_body(input: &ReportInput) -> String {
    let pb = input.playbook;
    let phase = &pb.phases[input.phase];
    let front = input.front;
    let build_phase = input.gate.build_phase;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", front.report);
    let by = front.generated_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "Phase {}: {} · version {} · generated {}{by}  \nCase `{}` (answers {}) · playbook `{}` ({})\n",
        phase.number,
        plain_text(&phase.name.text),
        front.version,
        front.generated_at,
        front.case,
        short(&front.case_hash),
        front.playbook,
        short(&front.playbook_hash),
    );

    let sections: &[OutputSection] = phase.output.as_ref().map_or(&[], |o| &o.sections);
    let mut activities_shown = false;
    let mut artefacts_shown = false;
    for (i, section) in sections.iter().enumerate() {
        let _ = writeln!(out, "## {}. {}\n", i + 1, plain_text(&section.title.text));
        let fill = section_fill(section, build_phase);
        match fill {
            SectionFill::Facts => out.push_str(&discovered_facts(pb, input.case, &input.gate.missing)),
            SectionFill::Activities => {
                activities_shown = true;
                out.push_str(&activity_table(pb, phase, input.build));
            }
            SectionFill::Artefacts | SectionFill::Implementer => {
                if !section.description.is_empty() {
                    let _ = writeln!(out, "> {}\n", plain_text(&section.description));
                }
                if fill == SectionFill::Artefacts {
                    artefacts_shown = true;
                    out.push_str(&artefacts(input.build));
                }
                let referenced = referenced_answers(pb, input.case, &section.description);
                if !referenced.is_empty() {
                    out.push_str("Recorded answers this section draws on:\n\n");
                    out.push_str(&referenced);
                    out.push('\n');
                }
                match input.drafts.get(i).and_then(Option::as_ref) {
                    Some(d) => {
                        let _ = writeln!(out, "_Drafted by {}; review before approving._\n\n{}\n", d.provider, d.text.trim());
                    }
                    None => {
                        let _ = writeln!(out, "{TO_BE_COMPLETED}\n");
                    }
                }
            }
        }
    }
    if sections.is_empty() {
        out.push_str("## Discovered facts\n\n");
        out.push_str(&discovered_facts(pb, input.case, &input.gate.missing));
    }
    if build_phase && !activities_shown {
        out.push_str("## Activity results\n\n");
        out.push_str(&activity_table(pb, phase, input.build));
    }
    if build_phase && !artefacts_shown {
        out.push_str("## Artefacts\n\n");
        out.push_str(&artefacts(input.build));
    }

    if !input.gate.gap_checks.is_empty() {
        out.push_str("## Gap analysis\n\n");
        for check in &input.gate.gap_checks {
            let detail = check.detail.as_deref().map(|d| format!(" — {d}")).unwrap_or_default();
            let _ = match check.status {
                GapStatus::Passed => writeln!(out, "- ✓ {}{detail}", check.text),
                GapStatus::Failed => writeln!(out, "- ✗ {}{detail}", check.text),
                GapStatus::Manual => writeln!(out, "- [ ] {}", check.text),
            };
        }
        out.push('\n');
    }
    let manual: Vec<&str> = input.gate.checklist.iter().filter(|c| c.kind == "activity").map(|c| c.text.as_str()).collect();
    if !manual.is_empty() {
        out.push_str("## Manual Activities\n\n");
        for name in manual {
            let _ = writeln!(out, "- [ ] {name}");
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The "Discovered facts": every answer of the case, grouped by the block (and, when answers
/// span several phases, the phase) of its item, in playbook order; answers to ids the
/// playbook does not define come last; deferred and unknown ones are shown as such and listed
/// again at the end, then the required items not recorded yet.
pub fn discovered_facts(pb: &Playbook, case: &Case, missing: &[String]) -> String {
    let mut seen = HashSet::new();
    let entries: Vec<&AnswerEntry> = case.answers.iter().filter(|e| e.state != AnswerState::Null && seen.insert(e.id.as_str())).collect();
    let by_id = |id: &str| entries.iter().copied().find(|e| e.id == id);
    let answered_items: Vec<usize> = pb.items.iter().enumerate().filter(|(_, it)| by_id(&it.id).is_some()).map(|(i, _)| i).collect();
    let undefined: Vec<&AnswerEntry> = entries.iter().copied().filter(|e| pb.item(&e.id).is_none()).collect();
    let phases: Vec<usize> = {
        let mut p: Vec<usize> = answered_items.iter().map(|&i| pb.items[i].phase).collect();
        p.dedup();
        p
    };
    let multi = phases.len() > 1;
    let level = if multi { "####" } else { "###" };
    let mut out = String::new();
    if entries.is_empty() {
        out.push_str("No answers are recorded yet.\n\n");
    }
    for &ph in &phases {
        let phase = &pb.phases[ph];
        if multi {
            let _ = writeln!(out, "### Phase {}: {}\n", phase.number, plain_text(&phase.name.text));
        }
        let in_phase: Vec<usize> = answered_items.iter().copied().filter(|&i| pb.items[i].phase == ph).collect();
        for (b, block) in phase.blocks.iter().enumerate() {
            let ids: Vec<usize> = in_phase.iter().copied().filter(|&i| pb.items[i].block == Some(b)).collect();
            if ids.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{level} {}\n", plain_text(&block.name.text));
            for i in ids {
                if let Some(e) = by_id(&pb.items[i].id) {
                    write_entry(&mut out, e);
                }
            }
            out.push('\n');
        }
        let loose: Vec<usize> = in_phase.iter().copied().filter(|&i| pb.items[i].block.is_none()).collect();
        if !loose.is_empty() {
            if !phase.blocks.is_empty() {
                let _ = writeln!(out, "{level} Other items\n");
            } else if !multi {
                let _ = writeln!(out, "### Phase {}: {}\n", phase.number, plain_text(&phase.name.text));
            }
            for i in loose {
                if let Some(e) = by_id(&pb.items[i].id) {
                    write_entry(&mut out, e);
                }
            }
            out.push('\n');
        }
    }
    if !undefined.is_empty() {
        out.push_str("### Not defined by the playbook\n\n");
        for e in &undefined {
            write_entry(&mut out, e);
        }
        out.push('\n');
    }
    let pending: Vec<&AnswerEntry> =
        entries.iter().copied().filter(|e| matches!(e.state, AnswerState::Deferred { .. } | AnswerState::Unknown)).collect();
    if !pending.is_empty() {
        out.push_str("### Deferred and unknown\n\n");
        for e in pending {
            write_entry(&mut out, e);
        }
        out.push('\n');
    }
    if !missing.is_empty() {
        let ids: Vec<String> = missing.iter().map(|id| format!("`{id}`")).collect();
        let _ = writeln!(out, "Required and not recorded yet: {}.\n", ids.join(", "));
    }
    out
}

fn write_entry(out: &mut String, entry: &AnswerEntry) {
    let label = format!("**{}**", entry.id);
    match &entry.state {
        AnswerState::Deferred { reason: Some(r) } => {
            let _ = writeln!(out, "- {label}: _deferred_ — {}", one_line(r));
        }
        AnswerState::Deferred { reason: None } => {
            let _ = writeln!(out, "- {label}: _deferred_");
        }
        AnswerState::Unknown => {
            let _ = writeln!(out, "- {label}: _unknown_");
        }
        AnswerState::UnknownTag(tag) => {
            let _ = writeln!(out, "- {label}: _unrecognised tag `{tag}` (not recorded)_");
        }
        AnswerState::Value | AnswerState::Null => write_value(out, &label, &entry.value, 0),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::Scalar(s) => Some(if s.value.is_empty() && s.quoted { "\"\"".into() } else { one_line(&s.value) }),
        NodeKind::Alias => Some("(alias)".into()),
        _ => None,
    }
}

/// A value on one line: a scalar, a list of scalars, an empty collection.
fn inline(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::Scalar(_) | NodeKind::Alias => scalar_text(node),
        NodeKind::Seq(items) if items.is_empty() => Some("(none)".into()),
        NodeKind::Map(entries) if entries.is_empty() => Some("(none)".into()),
        // Short lists on one line; items with commas of their own, or long ones, one bullet each.
        NodeKind::Seq(items) => items
            .iter()
            .map(scalar_text)
            .collect::<Option<Vec<_>>>()
            .filter(|v| v.iter().all(|t| !t.contains(',')) && v.iter().map(|t| t.len() + 2).sum::<usize>() <= 80)
            .map(|v| v.join(", ")),
        NodeKind::Map(_) => None,
    }
}

/// A mapping of inline values as `k: v, k: v` (for list elements).
fn inline_map(node: &Node) -> Option<String> {
    let entries = node.as_map()?;
    let parts: Option<Vec<String>> = entries
        .iter()
        .map(|e| {
            let key = e.key.as_scalar().map(|k| k.value.clone())?;
            let value = match &e.value.kind {
                NodeKind::Seq(_) => inline(&e.value).map(|v| format!("[{v}]")),
                _ => inline(&e.value),
            }?;
            Some(format!("{key}: {value}"))
        })
        .collect();
    parts.map(|p| p.join(", "))
}

fn write_value(out: &mut String, label: &str, node: &Node, depth: usize) {
    let pad = "  ".repeat(depth);
    if let NodeKind::Scalar(s) = &node.kind
        && s.value.trim_end().contains('\n')
    {
        let _ = writeln!(out, "{pad}- {label}:");
        for line in s.value.trim_end().lines() {
            let _ = if line.trim().is_empty() { writeln!(out, "{pad}  >") } else { writeln!(out, "{pad}  > {line}") };
        }
        return;
    }
    if let Some(text) = inline(node) {
        let _ = writeln!(out, "{pad}- {label}: {text}");
        return;
    }
    let _ = writeln!(out, "{pad}- {label}:");
    match &node.kind {
        NodeKind::Map(entries) => {
            for e in entries {
                let key = e.key.as_scalar().map_or_else(|| "?".to_string(), |k| k.value.clone());
                write_value(out, &key, &e.value, depth + 1);
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                match inline(item).or_else(|| inline_map(item)) {
                    Some(text) => {
                        let _ = writeln!(out, "{pad}  - {text}");
                    }
                    None => write_value(out, &format!("#{}", i + 1), item, depth + 1),
                }
            }
        }
        NodeKind::Scalar(_) | NodeKind::Alias => {}
    }
}

/// The answers an Output section's description refers to, in playbook order: backticked item
/// ids, and phrases between commas that name an item (`registry name` → `registry_name`).
pub fn referenced_items(pb: &Playbook, description: &str) -> Vec<usize> {
    static CODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]+)`").expect("static regex"));
    let mut out: Vec<usize> = Vec::new();
    let mut add = |id: &str| {
        if let Some(i) = pb.item_index(id.trim())
            && !out.contains(&i)
        {
            out.push(i);
        }
    };
    for c in CODE.captures_iter(description) {
        add(&c[1]);
    }
    // Any run of up to six words inside a phrase may name an item ("the library name used").
    let plain = plain_text(description).to_lowercase();
    for phrase in plain.split([',', ';', '(', ')', '—', ':', '.']).flat_map(|p| p.split(" and ")) {
        let words: Vec<&str> = phrase.split_whitespace().collect();
        for start in 0..words.len() {
            for end in start + 1..=(start + 6).min(words.len()) {
                add(&words[start..end].join("_"));
            }
        }
    }
    out.sort_unstable();
    out
}

fn referenced_answers(pb: &Playbook, case: &Case, description: &str) -> String {
    let mut out = String::new();
    for i in referenced_items(pb, description) {
        if let Some(e) = case.answer_entry(&pb.items[i].id).filter(|e| e.state != AnswerState::Null) {
            write_entry(&mut out, e);
        }
    }
    out
}

fn duration(ms: u64) -> String {
    if ms < 60_000 { format!("{:.1} s", ms as f64 / 1000.0) } else { format!("{} min {} s", ms / 60_000, ms / 1000 % 60) }
}

fn activity_table(pb: &Playbook, phase: &Phase, build: Option<&BuildEvidence>) -> String {
    let Some(build) = build else {
        return "No build of this phase has run yet.\n\n".to_string();
    };
    let job = &build.job;
    let mut out = String::new();
    let started = build.started.as_deref().map(|s| format!(", started {s}")).unwrap_or_default();
    let _ = writeln!(out, "Job `{}` — {}{started}.\n", job.id, job.status);
    out.push_str("| # | Activity | Status | Duration |\n|---|---|---|---|\n");
    for step in &job.steps {
        let number = phase
            .activities
            .iter()
            .position(|&a| pb.activities.get(a).is_some_and(|a| a.name.text == step.activity))
            .map_or("–".to_string(), |p| (p + 1).to_string());
        let took = step.duration_ms.map_or("–".to_string(), duration);
        let _ = writeln!(out, "| {number} | {} | {} | {took} |", step.activity, step.status);
    }
    out.push('\n');
    out
}

fn artefacts(build: Option<&BuildEvidence>) -> String {
    let Some(build) = build else {
        return "No build of this phase has run yet, so there are no artefacts.\n\n".to_string();
    };
    let mut out = String::new();
    if !build.published.is_empty() {
        out.push_str("Published and verified:\n\n");
        for line in &build.published {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    if build.artefacts.is_empty() {
        let _ = writeln!(out, "Job `{}` left no files in its workspace.\n", build.job.id);
    } else {
        let _ = writeln!(out, "Files in the workspace of job `{}`:\n", build.job.id);
        for f in &build.artefacts {
            let _ = writeln!(out, "- `{f}`");
        }
        out.push('\n');
    }
    if build.images.is_empty() {
        out.push_str("No image references appear in the job's events.\n\n");
    } else {
        out.push_str("Image references:\n\n");
        for i in &build.images {
            let _ = writeln!(out, "- `{i}`");
        }
        out.push('\n');
    }
    out
}

/// Container image references in a text (`registry.example.org/group/app:1.2`, `…@sha256:…`):
/// a registry host, a path and a tag or digest. URLs are not images.
pub fn image_references(text: &str) -> Vec<String> {
    static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::\d+)?/[a-z0-9._-]+(?:/[a-z0-9._-]+)*(?:@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})")
            .expect("static regex")
    });
    let mut out: Vec<String> = Vec::new();
    for m in IMAGE.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        if before.is_some_and(|c| c == '/' || c == '@' || c.is_alphanumeric() || c == '.' || c == '-') {
            continue;
        }
        let image = m.as_str().trim_end_matches(['.', ',']).to_string();
        if !out.contains(&image) {
            out.push(image);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front() -> FrontMatter {
        FrontMatter {
            report: "Discovery Report".into(),
            phase: 1,
            phase_name: "Discover".into(),
            version: 2,
            status: ReportStatus::Draft,
            generated_at: "2026-01-01T00:00:00.000Z".into(),
            generated_by: Some("Ada \"the\" Analyst".into()),
            case: "working_case.yaml".into(),
            case_hash: "0123456789abcdef0123456789abcdef".into(),
            playbook: "playbook.md".into(),
            playbook_hash: "fedcba9876543210fedcba9876543210".into(),
            build_job: None,
            approved_at: None,
            approved_by: None,
        }
    }

    #[test]
    fn front_matter_round_trips_and_updates_keep_the_body() {
        let fm = front();
        let text = format!("{}\n# Body\n\nstatus: draft stays in the body\n", fm.render());
        assert_eq!(FrontMatter::parse(&text).unwrap(), fm);
        let approved =
            update_front_matter(&text, &[("status", Some("approved".into())), ("approved_by", Some("Bo".into())), ("extra", None)])
                .unwrap();
        let parsed = FrontMatter::parse(&approved).unwrap();
        assert_eq!((parsed.status, parsed.approved_by.as_deref()), (ReportStatus::Approved, Some("Bo")));
        assert_eq!(body(&approved).unwrap(), body(&text).unwrap());
        assert!(approved.contains("status: approved\n") && approved.contains("extra: null\n---\n"));
        assert!(FrontMatter::parse("# no front matter").is_err());
        assert!(FrontMatter::parse("---\nstatus: maybe\nphase: 1\nversion: 1\n---\n").unwrap_err().contains("maybe"));
        assert!(FrontMatter::parse("---\nstatus: draft\n").unwrap_err().contains("not closed"));
    }

    #[test]
    fn file_names_and_slugs() {
        assert_eq!(file_name(1, "Requirements Analysis Report", 3), "phase-1-requirements-analysis-report-v3.md");
        assert_eq!(parse_file_name("phase-12-build-report-v10.md"), Some((12, 10)));
        assert_eq!(parse_file_name("phase-1-v2.md"), None);
        assert_eq!(parse_file_name("notes.md"), None);
        assert_eq!(slug("**Build** Report — *final*"), "build-report-final");
        assert_eq!(slug("***"), "report");
    }

    #[test]
    fn image_references_need_a_registry_host_and_a_tag() {
        let text = "pushed registry.gitlab.com/org/app/api:develop and localhost:5000/x:1, see https://gitlab.com/org/app:tree, file src/main.rs:12";
        assert_eq!(image_references(text), ["registry.gitlab.com/org/app/api:develop", "localhost:5000/x:1"]);
    }
}
