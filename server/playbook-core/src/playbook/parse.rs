//! Playbook Markdown → [`Playbook`]. Never fails: whatever is not recognised is skipped, and
//! the linter reports what is missing.

use super::blocks::{self as md, ListItem, blocks};
use super::model::*;
use crate::condition;
use crate::span::Span;
use crate::types::ValueType;
use crate::validation::Validation;
use regex::Regex;
use std::sync::LazyLock;

static PHASE_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^phase\s+(\d{1,6})\s*(?::|—|–|-|\.)?\s*(.*)$").expect("static regex"));
static NUMBERED_ACTIVITY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d{1,6})[.)]\s+(.+)$").expect("static regex"));
// Nested items can start at the line break before their marker (pulldown-cmark's ranges).
static LIST_MARKER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*(?:[*+-]|\d{1,9}[.)])[ \t]+").expect("static regex"));
static FIELD_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\*\*|__)([^*_\n][^*\n]*?)(?:\*\*|__)[ \t]*(:?)").expect("static regex"));
static BOLD_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:\*\*([^*\n]+)\*\*|__([^_\n]+)__)$").expect("static regex"));
static FOLLOW_UP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)^\*\*`?([A-Za-z_][A-Za-z0-9_]*)`?\*\*[ \t]*[_*]\(\s*when\s+(.+?)\s*\)[_*][ \t]*(?:—|–|-|:)?[ \t]*(.*)$")
        .expect("static regex")
});
/// An Output paragraph that says there is no report: `(none)`, `None.`, `No report.`, `n/a`.
static NO_REPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^[_*]*\(?\s*(?:none|no report|n/?a)\b[^\n]*$").expect("static regex"));
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[_*]\([^\n]*\)[_*]\.?$").expect("static regex"));
static BACKTICKED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`\n]+)`").expect("static regex"));
static SNAKE_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$").expect("static regex"));
static NON_ABORTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(continue|continues|does not (?:fail|abort|block)|do not (?:fail|abort|block)|should not (?:fail|abort|block)|non-blocking|mark(?:s)? the build as succeeded|ignored?|warn(?:ing)? only|best[- ]effort)\b",
    )
    .expect("static regex")
});
const REMOTE_WORDS: [&str; 12] = [
    "gitlab",
    "github",
    "bitbucket",
    "container registry",
    "image registry",
    "docker registry",
    "docker hub",
    "remote",
    "cloud",
    "production",
    "s3",
    "ssh",
];

/// Parse a playbook. Accepts any text; a file that is not a playbook yields an empty model.
pub fn parse(text: &str) -> Playbook {
    // A byte order mark would hide a heading on the first line from pulldown-cmark. Three
    // spaces take its three bytes (CommonMark allows them before a heading): offsets stay exact.
    let without_bom;
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            without_bom = format!("   {rest}");
            without_bom.as_str()
        }
        None => text,
    };
    let mut p = Parser {
        text,
        playbook: Playbook::default(),
        phase: None,
        section: None,
        item: None,
        activity: None,
        block: None,
        activity_body_started: false,
    };
    for block in blocks(text) {
        p.block(block);
    }
    p.close_phase(text.len());
    resolve_input_refs(&mut p.playbook);
    let mut playbook = p.playbook;
    for (i, item) in playbook.items.iter().enumerate() {
        playbook.item_ids.entry(item.id.clone()).or_insert(i);
    }
    playbook
}

struct Parser<'t> {
    text: &'t str,
    playbook: Playbook,
    phase: Option<usize>,
    /// Index into the current phase's sections.
    section: Option<usize>,
    item: Option<usize>,
    activity: Option<usize>,
    /// Index into the current phase's blocks.
    block: Option<usize>,
    /// The current Activity's body has begun: later bullets are body text, not fields.
    activity_body_started: bool,
}

impl Parser<'_> {
    fn block(&mut self, block: md::Block) {
        match &block {
            md::Block::Heading { level, span } => self.heading(*level, span.clone()),
            md::Block::Paragraph { span } => self.paragraph(span.clone()),
            md::Block::List { items, span } => self.list(items, span.clone()),
            md::Block::Code { info, content, span } => self.code(info, content.clone(), span.clone()),
            // A thematic break separates phases; it belongs to none of them.
            md::Block::Rule { .. } => {}
            md::Block::Other { .. } => self.extend(block.span().end, false),
        }
    }

    /// Stretch the open elements over a block that belongs to them.
    fn extend(&mut self, end: usize, content: bool) {
        if let Some(i) = self.item {
            self.playbook.items[i].span.end = end;
        }
        if let Some(a) = self.activity {
            self.playbook.activities[a].span.end = end;
        }
        if let (Some(ph), Some(s)) = (self.phase, self.section) {
            let section = &mut self.playbook.phases[ph].sections[s];
            section.span.end = end;
            if content {
                section.placeholder = false;
            }
        }
        if let Some(ph) = self.phase {
            self.playbook.phases[ph].span.end = end;
        }
    }

    fn section_kind(&self) -> Option<SectionKind> {
        let ph = self.phase?;
        Some(self.playbook.phases[ph].sections[self.section?].kind.clone())
    }

    fn heading(&mut self, level: u8, span: Span) {
        let (title, title_span) = heading_text(self.text, &span);
        match level {
            1 | 2 => {
                self.close_phase(span.start);
                if level == 1 && self.playbook.title.is_none() {
                    self.playbook.title = Some(Text { text: title, span: title_span });
                    return;
                }
                if let Some(c) = PHASE_HEADING.captures(&title) {
                    let number = c[1].parse().unwrap_or(0);
                    let name_match = c.get(2).expect("group 2 always participates");
                    let name_start = title_span.start + name_match.start();
                    let name = Text { text: name_match.as_str().trim().to_string(), span: name_start..title_span.end };
                    self.playbook.phases.push(Phase {
                        number,
                        name,
                        heading: span.clone(),
                        span: span.clone(),
                        sections: Vec::new(),
                        blocks: Vec::new(),
                        enter: None,
                        exit: None,
                        gap_checks: Vec::new(),
                        output: None,
                        items: Vec::new(),
                        activities: Vec::new(),
                    });
                    self.phase = Some(self.playbook.phases.len() - 1);
                }
            }
            3 => {
                let Some(ph) = self.phase else { return };
                self.item = None;
                self.activity = None;
                self.block = None;
                let phase = &mut self.playbook.phases[ph];
                phase.span.end = span.end;
                phase.sections.push(Section {
                    kind: section_kind(&title),
                    title: Text { text: title, span: title_span },
                    heading: span.clone(),
                    span: span.clone(),
                    placeholder: true,
                });
                self.section = Some(phase.sections.len() - 1);
            }
            _ => match self.section_kind() {
                Some(SectionKind::DiscoveryItems) if level == 4 => self.start_item(title, title_span, span),
                Some(SectionKind::Activities) if level == 4 => self.start_activity(title, title_span, span),
                _ => self.extend(span.end, true),
            },
        }
    }

    fn close_phase(&mut self, _at: usize) {
        self.phase = None;
        self.section = None;
        self.item = None;
        self.activity = None;
        self.block = None;
    }

    fn start_item(&mut self, title: String, title_span: Span, heading: Span) {
        let ph = self.phase.expect("items live in phases");
        self.item = None;
        self.activity = None;
        self.extend(heading.end, true);
        let (id, id_span) = strip_backticks(&title, title_span);
        if id.trim().is_empty() {
            return; // `####` with no name is not an item.
        }
        let index = self.playbook.items.len();
        self.playbook.items.push(empty_item(id, id_span, heading, ph, self.block, Origin::Heading));
        self.playbook.phases[ph].items.push(index);
        if let Some(b) = self.block {
            self.playbook.phases[ph].blocks[b].items.push(index);
        }
        self.item = Some(index);
    }

    fn start_activity(&mut self, title: String, title_span: Span, heading: Span) {
        let ph = self.phase.expect("activities live in phases");
        self.item = None;
        self.activity = None;
        self.extend(heading.end, true);
        let (number, name_text, name_span) = match NUMBERED_ACTIVITY.captures(&title) {
            Some(c) => {
                let n = c.get(1).expect("group 1");
                let rest = c.get(2).expect("group 2");
                let number_span = title_span.start + n.start()..title_span.start + n.end();
                let number = n.as_str().parse().ok().map(|v| (v, number_span));
                (number, rest.as_str().to_string(), title_span.start + rest.start()..title_span.end)
            }
            None => (None, title, title_span),
        };
        let (name, name_span) = strip_backticks(&name_text, name_span);
        if name.trim().is_empty() {
            return; // `####` with no name is not an Activity.
        }
        let index = self.playbook.activities.len();
        self.playbook.activities.push(Activity {
            name: Text { text: name, span: name_span },
            number,
            heading: heading.clone(),
            span: heading,
            phase: ph,
            fields: Vec::new(),
            inputs: None,
            input_refs: Vec::new(),
            side_effects: None,
            on_failure: None,
            remote: false,
            aborts_on_failure: true,
            run: None,
        });
        self.playbook.phases[ph].activities.push(index);
        self.activity = Some(index);
        self.activity_body_started = false;
    }

    fn paragraph(&mut self, span: Span) {
        let raw = self.text[span.clone()].trim();
        let placeholder = PLACEHOLDER.is_match(raw);
        // A block heading closes the item before it: it must not stretch over it.
        if self.section_kind() == Some(SectionKind::DiscoveryItems) && BOLD_LINE.is_match(raw) {
            self.item = None;
        }
        self.extend(span.end, !placeholder);
        let Some(ph) = self.phase else { return };
        match self.section_kind() {
            Some(SectionKind::DiscoveryItems) => {
                if let Some(c) = BOLD_LINE.captures(raw) {
                    let name = c.get(1).or_else(|| c.get(2)).expect("one alternative matched");
                    let offset = span.start + (self.text[span.clone()].len() - self.text[span.clone()].trim_start().len());
                    let name_span = offset + name.start()..offset + name.end();
                    self.item = None;
                    let phase = &mut self.playbook.phases[ph];
                    phase.blocks.push(Block { name: Text { text: name.as_str().trim().to_string(), span: name_span }, items: Vec::new() });
                    self.block = Some(phase.blocks.len() - 1);
                }
            }
            Some(SectionKind::Output) => {
                let phase = &mut self.playbook.phases[ph];
                let output = phase.output.get_or_insert_with(|| Output { report: None, sections: Vec::new(), placeholder: false });
                if (placeholder || NO_REPORT.is_match(raw)) && output.report.is_none() && output.sections.is_empty() {
                    output.placeholder = true;
                } else if output.report.is_none()
                    && let Some(name) = leading_bold(raw).or_else(|| bold_report_name(raw))
                {
                    let start = span.start + self.text[span.clone()].find(name).unwrap_or(0);
                    output.report = Some(Text { text: name.to_string(), span: start..start + name.len() });
                }
            }
            Some(SectionKind::EnterExit) => {}
            _ => {}
        }
        // Body text ends an Activity's leading field bullets.
        self.activity_body_started = true;
    }

    fn list(&mut self, items: &[ListItem], span: Span) {
        self.extend(span.end, true);
        let Some(ph) = self.phase else { return };
        match self.section_kind() {
            Some(SectionKind::DiscoveryItems) => {
                if let Some(i) = self.item {
                    for li in items {
                        self.item_field(i, li);
                    }
                }
            }
            Some(SectionKind::Activities) => {
                if let Some(a) = self.activity
                    && !self.activity_body_started
                {
                    for li in items {
                        if let Some(field) = field(self.text, li) {
                            self.activity_field(a, field);
                        }
                    }
                }
            }
            Some(SectionKind::EnterExit) => {
                for li in items {
                    if let Some(f) = field(self.text, li) {
                        let label = normalise_label(&f.label.text);
                        let phase = &mut self.playbook.phases[ph];
                        if label.starts_with("enter") {
                            phase.enter = Some(f);
                        } else if label.starts_with("exit") {
                            phase.exit = Some(f);
                        }
                    }
                }
            }
            Some(SectionKind::GapAnalysis) => {
                for li in items {
                    let text = lead_text(self.text, li);
                    self.playbook.phases[ph].gap_checks.push(text);
                }
            }
            Some(SectionKind::Output) => {
                let output = self.playbook.phases[ph].output.get_or_insert_with(|| Output {
                    report: None,
                    sections: Vec::new(),
                    placeholder: false,
                });
                for li in items {
                    let lead = lead_text(self.text, li);
                    let (title, description) = match leading_bold(&lead.text) {
                        Some(bold) => {
                            let start = lead.span.start + lead.text.find(bold).unwrap_or(0);
                            let rest = lead.text[lead.text.find(bold).unwrap_or(0) + bold.len()..]
                                .trim_start_matches(['*', '_'])
                                .trim()
                                .trim_start_matches(['—', '–', '-', ':'])
                                .trim();
                            (Text { text: bold.to_string(), span: start..start + bold.len() }, rest.to_string())
                        }
                        None => (lead.clone(), String::new()),
                    };
                    output.sections.push(OutputSection { title, description, span: li.span.clone() });
                }
            }
            _ => {}
        }
    }

    fn item_field(&mut self, index: usize, li: &ListItem) {
        let Some(f) = field(self.text, li) else { return };
        let label = normalise_label(&f.label.text);
        let item = &mut self.playbook.items[index];
        item.fields.push(f.clone());
        match label.as_str() {
            "ask" => item.ask = Some(f),
            "why" => item.why = Some(f),
            "required" => item.required = Some(required(f)),
            "type" => {
                let value_type = ValueType::parse(&f.value.text, f.value.span.start);
                item.value_type = Some(TypeField { field: f, value_type });
            }
            "impact" => {
                // `code`, `` `code` ``, `code (Phase 2)`: the leading word names the impact.
                let word = leading_word(&f.value.text.to_ascii_lowercase()).to_string();
                let impact = Impact::ALL.iter().find(|(name, _)| *name == word).map(|(_, i)| *i);
                item.impact = Some(ImpactField { field: f, impact });
            }
            "affects" => item.affects = Some(f),
            "validation" => {
                let pattern = item.pattern.clone();
                item.validation = Some(Validation::parse(f, pattern.as_ref()).0);
            }
            "pattern" => {
                item.pattern = Some(f.clone());
                if let Some(v) = item.validation.take() {
                    item.validation = Some(Validation::parse(v.field, Some(&f)).0);
                }
            }
            "examples" | "example" => item.examples = Some(f),
            "follow-ups" | "follow-up" | "followups" => {
                item.follow_ups = Some(f);
                let parent_block = item.block;
                let phase = item.phase;
                for child in &li.children {
                    self.follow_up(index, phase, parent_block, child);
                }
            }
            _ => {}
        }
    }

    fn follow_up(&mut self, parent: usize, phase: usize, block: Option<usize>, li: &ListItem) {
        let lead = lead_text(self.text, li);
        let Some(c) = FOLLOW_UP.captures(&lead.text) else { return };
        let (id, cond, question) = (c.get(1).expect("id"), c.get(2).expect("condition"), c.get(3).expect("question"));
        let at = |m: regex::Match<'_>| lead.span.start + m.start()..lead.span.start + m.end();
        let mut item = empty_item(id.as_str().to_string(), at(id), li.span.clone(), phase, block, Origin::FollowUp { parent });
        let synthetic =
            |label: &str, value: Text| Field { label: Text { text: label.into(), span: value.span.clone() }, value, span: li.span.clone() };
        let question_text = Text { text: question.as_str().trim().to_string(), span: at(question) };
        item.ask = Some(synthetic("Ask", question_text));
        let cond_text = Text { text: cond.as_str().to_string(), span: at(cond) };
        let condition = condition::parse(&cond_text.text);
        item.required = Some(Required {
            field: synthetic("Required", cond_text.clone()),
            rule: RequiredRule::Conditional { text: cond_text, condition },
        });
        let type_field = synthetic("Type", Text { text: "text".into(), span: li.span.start..li.span.start });
        item.value_type = Some(TypeField { field: type_field, value_type: ValueType::Text });
        let index = self.playbook.items.len();
        self.playbook.items.push(item);
        self.playbook.phases[phase].items.push(index);
        if let Some(b) = block {
            self.playbook.phases[phase].blocks[b].items.push(index);
        }
    }

    fn activity_field(&mut self, index: usize, f: Field) {
        let label = normalise_label(&f.label.text);
        let activity = &mut self.playbook.activities[index];
        activity.fields.push(f.clone());
        match label.as_str() {
            "inputs" | "input" => activity.inputs = Some(f),
            "side effects" | "side-effects" | "side effect" => {
                activity.remote = is_remote_target(&f.value.text);
                activity.side_effects = Some(f);
            }
            "on failure" | "on-failure" => {
                activity.aborts_on_failure = aborts(&f.value.text);
                activity.on_failure = Some(f);
            }
            _ => {}
        }
    }

    fn code(&mut self, info: &str, content: Span, span: Span) {
        self.extend(span.end, true);
        let Some(a) = self.activity else { return };
        let mut words = info.split_whitespace();
        let shell = words.next().unwrap_or_default();
        let runnable = matches!(shell, "sh" | "bash") && words.any(|w| w == "run");
        let activity = &mut self.playbook.activities[a];
        if runnable && activity.run.is_none() {
            let script = Text { text: self.text[content.clone()].to_string(), span: content };
            activity.run = Some(RunBlock { shell: shell.to_string(), script, span });
        }
    }
}

fn empty_item(id: String, id_span: Span, heading: Span, phase: usize, block: Option<usize>, origin: Origin) -> Item {
    Item {
        id,
        id_span,
        span: heading.clone(),
        heading,
        phase,
        block,
        origin,
        fields: Vec::new(),
        ask: None,
        why: None,
        required: None,
        value_type: None,
        impact: None,
        affects: None,
        follow_ups: None,
        validation: None,
        examples: None,
        pattern: None,
    }
}

fn required(field: Field) -> Required {
    let value = field.value.text.trim();
    let lower = value.to_ascii_lowercase();
    // `yes`, `**yes**`, `yes — always`: the leading word decides.
    let word = leading_word(&lower);
    let rule = if word == "yes" {
        RequiredRule::Yes
    } else if word == "no" {
        RequiredRule::No
    } else if let Some(rest) = lower.strip_prefix("conditional") {
        let rest_trimmed = rest.trim_start().trim_start_matches([':', '—', '–', '-']).trim_start();
        let start = field.value.span.start + (value.len() - rest_trimmed.len());
        let text = Text { text: value[value.len() - rest_trimmed.len()..].trim_end().to_string(), span: start..field.value.span.end };
        let condition = condition::parse(&text.text);
        RequiredRule::Conditional { text, condition }
    } else {
        RequiredRule::Invalid
    };
    Required { field, rule }
}

/// The first word of a value, without Markdown marks: `` `code`. `` → `code`.
fn leading_word(value: &str) -> &str {
    let start = value.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '`' | '*' | '_'));
    let end = start.find(|c: char| !(c.is_alphanumeric() || c == '-')).unwrap_or(start.len());
    &start[..end]
}

/// `* **Label:** value` → a field; `None` when the bullet is not a field.
fn field(text: &str, li: &ListItem) -> Option<Field> {
    let lead = &text[li.lead.clone()];
    let marker = LIST_MARKER.find(lead)?;
    let after_marker = &lead[marker.end()..];
    let c = FIELD_LABEL.captures(after_marker)?;
    let label_match = c.get(1).expect("label");
    let inner_colon = label_match.as_str().trim_end().ends_with(':');
    if !inner_colon && c[2].is_empty() {
        return None;
    }
    let label_text = label_match.as_str().trim().trim_end_matches(':').trim();
    let base = li.lead.start + marker.end();
    let label_start = base + label_match.start() + (label_match.as_str().len() - label_match.as_str().trim_start().len());
    let label = Text { text: label_text.to_string(), span: label_start..label_start + label_text.len() };
    let rest = &after_marker[c.get(0).expect("whole").end()..];
    let value_text = rest.trim();
    let value_start = base + c.get(0).expect("whole").end() + (rest.len() - rest.trim_start().len());
    let value = Text { text: value_text.to_string(), span: value_start..value_start + value_text.len() };
    let end = li.lead.start + lead.trim_end().len();
    Some(Field { label, value, span: li.span.start..end.max(li.span.start) })
}

/// A list item's own text without its marker.
fn lead_text(text: &str, li: &ListItem) -> Text {
    let lead = &text[li.lead.clone()];
    let skip = LIST_MARKER.find(lead).map_or(0, |m| m.end());
    let body = &lead[skip..];
    let trimmed = body.trim();
    let start = li.lead.start + skip + (body.len() - body.trim_start().len());
    Text { text: trimmed.to_string(), span: start..start + trimmed.len() }
}

/// `Follow-ups (when yes)` → `follow-ups`.
fn normalise_label(label: &str) -> String {
    let base = label.split('(').next().unwrap_or(label);
    base.trim().to_lowercase()
}

/// A bold span that names a report anywhere in an Output paragraph
/// ("The phase ends with a **Scoping Report** that …").
fn bold_report_name(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(start) = rest.find("**") {
        let after = &rest[start + 2..];
        let end = after.find("**")?;
        let inner = after[..end].trim();
        if inner.to_lowercase().contains("report") {
            return Some(inner);
        }
        rest = &after[end + 2..];
    }
    None
}

fn leading_bold(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix("**")?;
    let end = rest.find("**")?;
    Some(rest[..end].trim())
}

fn section_kind(title: &str) -> SectionKind {
    match title.trim().to_lowercase().as_str() {
        "purpose" => SectionKind::Purpose,
        "enter / exit" | "enter/exit" | "enter and exit" | "entry / exit" => SectionKind::EnterExit,
        "execution model" => SectionKind::ExecutionModel,
        "discovery items" | "discovery" => SectionKind::DiscoveryItems,
        "activities" => SectionKind::Activities,
        "testing contract" => SectionKind::TestingContract,
        "references" => SectionKind::References,
        "gap analysis" => SectionKind::GapAnalysis,
        "output" => SectionKind::Output,
        "common pitfalls" => SectionKind::CommonPitfalls,
        _ => SectionKind::Other,
    }
}

/// The text of an ATX heading and its span (without `#` marks and closing hashes).
fn heading_text(text: &str, span: &Span) -> (String, Span) {
    let raw = &text[span.clone()];
    let line_end = raw.find('\n').unwrap_or(raw.len());
    let line = &raw[..line_end];
    let after_hashes = line.trim_start().trim_start_matches('#');
    let start_in_line = line.len() - after_hashes.len();
    let body = after_hashes.trim_end().trim_end_matches('#').trim_end();
    let lead_ws = body.len() - body.trim_start().len();
    let body = body.trim();
    let start = span.start + start_in_line + lead_ws;
    (body.to_string(), start..start + body.len())
}

fn strip_backticks(text: &str, span: Span) -> (String, Span) {
    let inner = text.trim_start_matches('`');
    let start = span.start + (text.len() - inner.len());
    let inner = inner.trim_end_matches('`');
    (inner.to_string(), start..start + inner.len())
}

/// The Side effects *target* (text before the first ` — `) names a remote system.
fn is_remote_target(side_effects: &str) -> bool {
    let target = side_effects.split([' ', '\u{a0}']).collect::<Vec<_>>().join(" ");
    let target = ["—", "–", " -- "].iter().fold(target.as_str(), |t, sep| t.split(sep).next().unwrap_or(t));
    let target = target.split(". ").next().unwrap_or(target).trim().trim_end_matches('.').to_lowercase().replace('`', "");
    if target.starts_with("none") || target.starts_with("no ") || target == "no" {
        return false;
    }
    REMOTE_WORDS.iter().any(|w| contains_word(&target, w))
}

fn contains_word(haystack: &str, word: &str) -> bool {
    haystack.match_indices(word).any(|(i, _)| {
        let before = haystack[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after = haystack[i + word.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        before && after
    })
}

/// An Activity aborts the build on failure unless its On failure says otherwise.
fn aborts(on_failure: &str) -> bool {
    let lower = on_failure.trim().to_lowercase();
    lower.starts_with("abort") || !NON_ABORTING.is_match(&lower)
}

/// Inputs name items as backticked snake_case ids: a token with an underscore is always a
/// reference; a single word is one only when an item of that name exists (`develop` is not).
fn resolve_input_refs(playbook: &mut Playbook) {
    let ids: std::collections::HashSet<String> = playbook.items.iter().map(|i| i.id.clone()).collect();
    for activity in &mut playbook.activities {
        let Some(inputs) = &activity.inputs else { continue };
        let value = &inputs.value;
        activity.input_refs = BACKTICKED
            .captures_iter(&value.text)
            .filter_map(|c| c.get(1))
            .filter(|m| SNAKE_ID.is_match(m.as_str()) && (m.as_str().contains('_') || ids.contains(m.as_str())))
            .map(|m| Text { text: m.as_str().to_string(), span: value.span.start + m.start()..value.span.start + m.end() })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_effect_targets() {
        assert!(!is_remote_target("none. Just validates working_case."));
        assert!(is_remote_target("GitLab — creates subgroup"));
        assert!(!is_remote_target("workspace — fresh clone of Farmer Registry into `<workspace>/reference/`."));
        assert!(!is_remote_target("advisor host docker daemon — produces locally-tagged images. **No `docker push`.**"));
        assert!(is_remote_target("GitLab Container Registry — `docker push` for each image."));
        assert!(!is_remote_target("`phase_reports/` on disk (a new versioned report file)."));
        assert!(!is_remote_target("none beyond test artefacts (logs, JUnit XML)."));
    }

    #[test]
    fn required_and_impact_read_their_leading_word() {
        let pb = parse(
            "## Phase 1: P\n\n### Discovery items\n\n#### a\n\n* **Ask:** q\n* **Why:** w\n* **Required:** Yes — always\n* **Type:** text\n* **Impact:** `code` (Phase 2)\n\n#### b\n\n* **Ask:** q\n* **Why:** w\n* **Required:** **no**\n* **Type:** text\n* **Impact:** deployments\n",
        );
        assert!(matches!(pb.items[0].required.as_ref().unwrap().rule, RequiredRule::Yes));
        assert_eq!(pb.items[0].impact.as_ref().unwrap().impact, Some(Impact::Code));
        assert!(matches!(pb.items[1].required.as_ref().unwrap().rule, RequiredRule::No));
        assert_eq!(pb.items[1].impact.as_ref().unwrap().impact, None, "a different word is still unknown");
        assert_eq!(leading_word("  `yes`."), "yes");
        assert_eq!(leading_word("yesterday"), "yesterday");
    }

    #[test]
    fn on_failure_wording() {
        assert!(aborts("abort. Network / git-clone errors."));
        assert!(!aborts("the build is functionally done; report failures should not block the implementer."));
        assert!(!aborts("continue — a report failure is surfaced but does not fail the build."));
        assert!(aborts("stop everything"));
    }
}
