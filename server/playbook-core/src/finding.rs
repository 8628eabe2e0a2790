//! Findings: what the analysis reports, shared verbatim by the CLI and the language server.

use crate::span::Span;
use serde::Serialize;

/// How serious a finding is. Ordered from most to least severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
}

/// Stable rule ids (product.md §4). The string form never changes once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    // Working case
    MissingAnswer,
    InvalidValue,
    UnknownItem,
    DuplicateKey,
    YamlSyntax,
    Deferred,
    PlaybookNotFound,
    // Playbook
    UndefinedReference,
    DuplicateItem,
    MissingField,
    UnknownType,
    UnknownImpact,
    UnparsedCondition,
    ActivityNumbering,
    NoHandler,
    RemoteBeforeLocal,
    UndefinedInput,
}

impl Rule {
    pub const ALL: [Rule; 17] = [
        Rule::MissingAnswer,
        Rule::InvalidValue,
        Rule::UnknownItem,
        Rule::DuplicateKey,
        Rule::YamlSyntax,
        Rule::Deferred,
        Rule::PlaybookNotFound,
        Rule::UndefinedReference,
        Rule::DuplicateItem,
        Rule::MissingField,
        Rule::UnknownType,
        Rule::UnknownImpact,
        Rule::UnparsedCondition,
        Rule::ActivityNumbering,
        Rule::NoHandler,
        Rule::RemoteBeforeLocal,
        Rule::UndefinedInput,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::MissingAnswer => "missing-answer",
            Rule::InvalidValue => "invalid-value",
            Rule::UnknownItem => "unknown-item",
            Rule::DuplicateKey => "duplicate-key",
            Rule::YamlSyntax => "yaml-syntax",
            Rule::Deferred => "deferred",
            Rule::PlaybookNotFound => "playbook-not-found",
            Rule::UndefinedReference => "undefined-reference",
            Rule::DuplicateItem => "duplicate-item",
            Rule::MissingField => "missing-field",
            Rule::UnknownType => "unknown-type",
            Rule::UnknownImpact => "unknown-impact",
            Rule::UnparsedCondition => "unparsed-condition",
            Rule::ActivityNumbering => "activity-numbering",
            Rule::NoHandler => "no-handler",
            Rule::RemoteBeforeLocal => "remote-before-local",
            Rule::UndefinedInput => "undefined-input",
        }
    }

    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The severity each rule reports at.
    pub fn severity(self) -> Severity {
        match self {
            Rule::InvalidValue
            | Rule::DuplicateKey
            | Rule::YamlSyntax
            | Rule::PlaybookNotFound
            | Rule::UndefinedReference
            | Rule::DuplicateItem
            | Rule::MissingField
            | Rule::UnknownType
            | Rule::UnknownImpact => Severity::Error,
            Rule::MissingAnswer
            | Rule::UnknownItem
            | Rule::ActivityNumbering
            | Rule::NoHandler
            | Rule::RemoteBeforeLocal
            | Rule::UndefinedInput => Severity::Warning,
            Rule::Deferred => Severity::Information,
            Rule::UnparsedCondition => Severity::Hint,
        }
    }

    /// One line describing the rule, for SARIF rule metadata and `--explain`-style help.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::MissingAnswer => "A Discovery item required in the current phase has no answer.",
            Rule::InvalidValue => "An answer does not match its item's Type, Validation or Pattern.",
            Rule::UnknownItem => "An answer key names no Discovery item of the playbook.",
            Rule::DuplicateKey => "A key appears twice in the same YAML mapping.",
            Rule::YamlSyntax => "The working case is not valid YAML.",
            Rule::Deferred => "An item was discussed but deliberately left unanswered (!deferred / !unknown).",
            Rule::PlaybookNotFound => "The working case's `playbook:` path does not lead to a readable playbook.",
            Rule::UndefinedReference => "A condition names an item id that no Discovery item defines.",
            Rule::DuplicateItem => "Two Discovery items share one id.",
            Rule::MissingField => "A Discovery item lacks a mandatory field (Ask, Why, Required, Type, Impact).",
            Rule::UnknownType => "A Discovery item's Type is not one the schema defines.",
            Rule::UnknownImpact => "A Discovery item's Impact is not one the schema defines.",
            Rule::UnparsedCondition => "A Required condition could not be parsed; it never makes the item required.",
            Rule::ActivityNumbering => "Numbered Activities are not numbered 1..N in order.",
            Rule::NoHandler => "A build phase holds an Activity that nothing can run (no handler, no `sh run` block).",
            Rule::RemoteBeforeLocal => "A remote Activity comes before a local Activity that aborts the build (build-locally-first).",
            Rule::UndefinedInput => "An Activity Input names an item id that no Discovery item defines.",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A place in another document that explains a finding (e.g. the playbook heading of a missing item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Which document: the playbook or the case being checked.
    pub doc: DocRef,
    pub span: Span,
    pub message: String,
}

/// Findings name documents abstractly; the shell knows the paths and URIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DocRef {
    Playbook,
    Case,
}

/// One diagnostic with everything a shell needs to show it and to offer its fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// The document the finding is in.
    pub doc: DocRef,
    pub span: Span,
    pub message: String,
    /// Extra lines for humans (e.g. "help: did you mean `country`?").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// The item or activity the finding is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// What a code action could do about it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
}

impl Finding {
    pub fn new(rule: Rule, doc: DocRef, span: Span, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: rule.severity(),
            doc,
            span,
            message: message.into(),
            notes: Vec::new(),
            related: Vec::new(),
            item: None,
            fixes: Vec::new(),
        }
    }

    pub fn with_item(mut self, id: impl Into<String>) -> Self {
        self.item = Some(id.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_related(mut self, doc: DocRef, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related { doc, span, message: message.into() });
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fixes.push(fix);
        self
    }
}

/// A machine-applicable repair, in terms of the core's model; the language server turns it
/// into a `WorkspaceEdit` against the client's version of the document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fix {
    /// Insert `key: value` for a missing item. `snippet` uses LSP snippet syntax
    /// (`${1|yes,no|}`); `text` is the plain fallback for clients without snippets.
    RecordAnswer { item: String, text: String, snippet: String, comment: String },
    /// Record the item as `!deferred "<reason>"`.
    MarkDeferred { item: String },
    /// Record the item as `!unknown`.
    MarkUnknown { item: String },
    /// Replace the byte range `span` of the finding's document with `text`.
    Replace { span: Span, text: String, title: String },
}

/// Sort findings by position, then rule, so output is stable.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.doc as u8, a.span.start, a.span.end, a.rule, &a.message).cmp(&(b.doc as u8, b.span.start, b.span.end, b.rule, &b.message))
    });
}
