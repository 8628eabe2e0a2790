//! The playbook model. Every element keeps the byte range it came from.

use crate::condition::{Expr, ParseError};
use crate::span::Span;
use crate::types::ValueType;
use crate::validation::Validation;
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Playbook {
    pub title: Option<Text>,
    pub phases: Vec<Phase>,
    /// Every Discovery item in document order, inline follow-ups right after their parent.
    pub items: Vec<Item>,
    /// Every Activity in document order.
    pub activities: Vec<Activity>,
    /// Index into `items` of the first item with each id (lookups stay O(1) on huge playbooks).
    #[serde(skip)]
    pub(crate) item_ids: std::collections::HashMap<String, usize>,
}

/// A piece of source text (raw Markdown, trimmed) and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub number: u32,
    pub name: Text,
    /// The whole `## Phase n: Name` line.
    pub heading: Span,
    /// From the heading to the next `##` heading.
    pub span: Span,
    pub sections: Vec<Section>,
    pub blocks: Vec<Block>,
    pub enter: Option<Field>,
    pub exit: Option<Field>,
    pub gap_checks: Vec<Text>,
    pub output: Option<Output>,
    /// Indices into [`Playbook::items`].
    pub items: Vec<usize>,
    /// Indices into [`Playbook::activities`].
    pub activities: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SectionKind {
    Purpose,
    EnterExit,
    ExecutionModel,
    DiscoveryItems,
    Activities,
    TestingContract,
    References,
    GapAnalysis,
    Output,
    CommonPitfalls,
    /// A section the schema does not name; kept and shown in outlines.
    Other,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub kind: SectionKind,
    pub title: Text,
    pub heading: Span,
    pub span: Span,
    /// The section holds only a placeholder such as `_(to be added)_`.
    pub placeholder: bool,
}

/// A whole-line bold paragraph inside Discovery items that groups the items below it.
#[derive(Debug, Clone, Serialize)]
pub struct Block {
    pub name: Text,
    /// Indices into [`Playbook::items`].
    pub items: Vec<usize>,
}

/// A `* **Label:** value` bullet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// The label as written, without `**` and the colon (`Follow-ups (when yes)`).
    pub label: Text,
    /// The value as raw Markdown, trimmed; may span lines.
    pub value: Text,
    /// The whole bullet.
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: String,
    pub id_span: Span,
    /// The heading line (or, for a follow-up, its bullet).
    pub heading: Span,
    /// The heading and everything up to the next item, section or phase.
    pub span: Span,
    /// Index into [`Playbook::phases`].
    pub phase: usize,
    /// Index into the phase's `blocks`.
    pub block: Option<usize>,
    pub origin: Origin,
    /// Every field bullet in order, including ones the schema does not know.
    pub fields: Vec<Field>,
    pub ask: Option<Field>,
    pub why: Option<Field>,
    pub required: Option<Required>,
    pub value_type: Option<TypeField>,
    pub impact: Option<ImpactField>,
    pub affects: Option<Field>,
    pub follow_ups: Option<Field>,
    pub validation: Option<Validation>,
    pub examples: Option<Field>,
    pub pattern: Option<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Origin {
    Heading,
    /// An inline follow-up `**id** _(when …)_ — question` under the item at this index.
    FollowUp {
        parent: usize,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Required {
    pub field: Field,
    pub rule: RequiredRule,
}

#[derive(Debug, Clone, Serialize)]
pub enum RequiredRule {
    Yes,
    No,
    /// `conditional: <expr>`; `text` is the expression's source.
    Conditional {
        text: Text,
        #[serde(serialize_with = "serialize_condition")]
        condition: Result<Expr, ParseError>,
    },
    /// Anything else: never makes the item required.
    Invalid,
}

fn serialize_condition<S: serde::Serializer>(c: &Result<Expr, ParseError>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Ok(expr) => s.serialize_str(&format!("{expr:?}")),
        Err(e) => s.serialize_str(&format!("unparsed: {}", e.message)),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeField {
    pub field: Field,
    pub value_type: ValueType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Code,
    Configuration,
    Informational,
    Deployment,
    Migration,
}

impl Impact {
    pub const ALL: [(&'static str, Impact); 5] = [
        ("code", Impact::Code),
        ("configuration", Impact::Configuration),
        ("informational", Impact::Informational),
        ("deployment", Impact::Deployment),
        ("migration", Impact::Migration),
    ];
}

#[derive(Debug, Clone, Serialize)]
pub struct ImpactField {
    pub field: Field,
    /// `None` when the value is not one of the schema's impacts.
    pub impact: Option<Impact>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub name: Text,
    /// `#### 3. name` style: the number and where it is written.
    pub number: Option<(u32, Span)>,
    pub heading: Span,
    pub span: Span,
    pub phase: usize,
    pub fields: Vec<Field>,
    pub inputs: Option<Field>,
    /// Backticked snake_case ids named in Inputs (paths and other code are not references).
    pub input_refs: Vec<Text>,
    pub side_effects: Option<Field>,
    pub on_failure: Option<Field>,
    /// Side effects reach a remote system (GitLab, a container registry, a remote host).
    pub remote: bool,
    /// A failure aborts the build (true unless On failure says otherwise).
    pub aborts_on_failure: bool,
    /// A fenced ```` ```sh run ```` (or `bash run`) block: the Activity's command.
    pub run: Option<RunBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunBlock {
    pub shell: String,
    pub script: Text,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub report: Option<Text>,
    pub sections: Vec<OutputSection>,
    pub placeholder: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputSection {
    pub title: Text,
    pub description: String,
    pub span: Span,
}

impl Playbook {
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.item_index(id).map(|i| &self.items[i])
    }

    pub fn item_index(&self, id: &str) -> Option<usize> {
        self.item_ids.get(id).copied()
    }

    pub fn activity(&self, name: &str) -> Option<&Activity> {
        self.activities.iter().find(|a| a.name.text == name)
    }

    pub fn phase_by_number(&self, number: u32) -> Option<usize> {
        self.phases.iter().position(|p| p.number == number)
    }
}

impl Phase {
    /// No Discovery items and no Activities: the phase is announced but not written yet.
    pub fn coming_soon(&self) -> bool {
        self.items.is_empty() && self.activities.is_empty()
    }
}

impl Item {
    /// The Ask as one line of plain text (Markdown emphasis and code marks dropped).
    pub fn ask_plain(&self) -> Option<String> {
        self.ask.as_ref().map(|f| plain_text(&f.value.text))
    }
}

/// Markdown inline text to plain text, good enough for comments and status lines.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut chars = markdown.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            // `_` inside a word (snake_case ids) is text; at a word edge it is emphasis.
            '_' if prev.is_alphanumeric() && chars.peek().is_some_and(|n| n.is_alphanumeric()) => out.push(c),
            '*' | '_' | '`' => {}
            '\n' | '\r' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            _ => out.push(c),
        }
        prev = c;
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
