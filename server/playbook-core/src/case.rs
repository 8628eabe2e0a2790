//! The working case: `playbook:` and `answers:` read from YAML with every span kept.

use crate::condition::{Answer, Answers};
use crate::span::Span;
use crate::yaml::{self, Entry, Node, NodeKind, SyntaxError};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Case {
    pub root: Option<Node>,
    pub syntax_error: Option<SyntaxError>,
    /// The `playbook:` value, as written (relative to the case file).
    pub playbook: Option<PlaybookRef>,
    /// The `answers` key, where missing answers are reported.
    pub answers_key: Option<Span>,
    /// The `answers` value when it is not a mapping (reported as invalid).
    pub answers_not_a_map: Option<Span>,
    /// Answers in file order; a key written twice appears twice. To replace them, use
    /// [`Case::set_answers`], which keeps the lookup index in step.
    pub answers: Vec<AnswerEntry>,
    /// Every key that repeats an earlier key of the same mapping, anywhere in the file.
    pub duplicate_keys: Vec<DuplicateKey>,
    /// Index into `answers` of the first entry for each id.
    first_answer: HashMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookRef {
    pub path: String,
    pub span: Span,
    /// The key's span, to point at when the value is empty.
    pub key_span: Span,
}

#[derive(Debug, Clone)]
pub struct AnswerEntry {
    pub id: String,
    pub key_span: Span,
    pub value: Node,
    pub state: AnswerState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerState {
    /// A value to check.
    Value,
    /// `key:` with nothing (or `~`): not answered yet.
    Null,
    /// `!deferred "reason"`.
    Deferred { reason: Option<String> },
    /// `!unknown`.
    Unknown,
    /// A tag we do not know (`!defered`): reported, treated as not answered.
    UnknownTag(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    pub span: Span,
    pub first: Span,
}

impl Case {
    pub fn parse(text: &str) -> Case {
        let mut case = Case {
            root: None,
            syntax_error: None,
            playbook: None,
            answers_key: None,
            answers_not_a_map: None,
            answers: Vec::new(),
            duplicate_keys: Vec::new(),
            first_answer: HashMap::new(),
        };
        let root = match yaml::parse(text) {
            Ok(root) => root,
            Err(e) => {
                case.syntax_error = Some(e);
                return case;
            }
        };
        if let Some(root) = &root {
            collect_duplicates(root, &mut case.duplicate_keys);
            if let Some(entries) = root.as_map() {
                case.read_top_level(entries);
            }
        }
        case.root = root;
        case
    }

    fn read_top_level(&mut self, entries: &[Entry]) {
        for entry in entries {
            let Some(key) = entry.key.as_scalar() else { continue };
            match key.value.as_str() {
                "playbook" if self.playbook.is_none() => {
                    let path = entry.value.as_scalar().map(|s| s.value.trim().to_string()).unwrap_or_default();
                    self.playbook = Some(PlaybookRef { path, span: entry.value.span.clone(), key_span: entry.key.span.clone() });
                }
                "answers" if self.answers_key.is_none() => {
                    self.answers_key = Some(entry.key.span.clone());
                    match &entry.value.kind {
                        NodeKind::Map(answers) => self.set_answers(answers.iter().filter_map(answer_entry).collect()),
                        _ if entry.value.is_null() => {}
                        _ => self.answers_not_a_map = Some(entry.value.span.clone()),
                    }
                }
                _ => {}
            }
        }
    }

    /// Replace the answers (and the index that finds the first answer for an id).
    pub fn set_answers(&mut self, answers: Vec<AnswerEntry>) {
        self.first_answer.clear();
        for (i, a) in answers.iter().enumerate() {
            self.first_answer.entry(a.id.clone()).or_insert(i);
        }
        self.answers = answers;
    }

    /// The first answer recorded for `id`.
    pub fn answer_entry(&self, id: &str) -> Option<&AnswerEntry> {
        self.first_answer.get(id).map(|&i| &self.answers[i])
    }
}

impl Case {
    /// The answers as one canonical JSON object, keys sorted: `{"id": value}` for values,
    /// `{"id": {"!deferred": reason}}` and `{"id": "!unknown"}` for the tags. Null answers
    /// (nothing written yet) are left out; a key written twice counts once, as lookups do.
    pub fn answers_json(&self) -> String {
        use serde_json::{Map, Value};
        let mut map = Map::new();
        for entry in &self.answers {
            if map.contains_key(&entry.id) {
                continue;
            }
            let value = match &entry.state {
                AnswerState::Value => crate::yaml::node_to_json(&entry.value),
                AnswerState::Null => continue,
                AnswerState::Deferred { reason } => {
                    Value::Object(Map::from_iter([("!deferred".to_string(), reason.clone().map_or(Value::Null, Value::String))]))
                }
                AnswerState::Unknown => Value::String("!unknown".into()),
                AnswerState::UnknownTag(tag) => Value::Object(Map::from_iter([(tag.clone(), crate::yaml::node_to_json(&entry.value))])),
            };
            map.insert(entry.id.clone(), value);
        }
        crate::hash::canonical_json(&Value::Object(map))
    }

    /// A stable hash of the answers by meaning: comments, layout, quoting style of text and
    /// key order do not change it; any value, tag or deferral reason does.
    pub fn answers_hash(&self) -> String {
        crate::hash::text_hash(&self.answers_json())
    }
}

fn answer_entry(entry: &Entry) -> Option<AnswerEntry> {
    let key = entry.key.as_scalar()?;
    let value = entry.value.clone();
    let state = match value.tag.as_deref() {
        Some("!deferred") => {
            let reason = value.as_scalar().map(|s| s.value.trim().to_string()).filter(|r| !r.is_empty());
            AnswerState::Deferred { reason }
        }
        Some("!unknown") => AnswerState::Unknown,
        Some(tag) if !tag.starts_with("!!") => AnswerState::UnknownTag(tag.to_string()),
        _ if value.is_null() => AnswerState::Null,
        _ => AnswerState::Value,
    };
    Some(AnswerEntry { id: key.value.clone(), key_span: entry.key.span.clone(), value, state })
}

fn collect_duplicates(node: &Node, out: &mut Vec<DuplicateKey>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            let mut seen: HashMap<&str, &Span> = HashMap::with_capacity(entries.len());
            for entry in entries {
                if let Some(key) = entry.key.as_scalar() {
                    match seen.get(key.value.as_str()) {
                        Some(first) => {
                            out.push(DuplicateKey { key: key.value.clone(), span: entry.key.span.clone(), first: (*first).clone() })
                        }
                        None => {
                            seen.insert(&key.value, &entry.key.span);
                        }
                    }
                }
                collect_duplicates(&entry.value, out);
            }
        }
        NodeKind::Seq(items) => items.iter().for_each(|n| collect_duplicates(n, out)),
        NodeKind::Scalar(_) | NodeKind::Alias => {}
    }
}

impl Answers for Case {
    fn answer(&self, id: &str) -> Answer<'_> {
        match self.answer_entry(id) {
            None => Answer::Missing,
            Some(entry) => match entry.state {
                AnswerState::Value => Answer::Value(&entry.value),
                AnswerState::Deferred { .. } | AnswerState::Unknown => Answer::Pending,
                AnswerState::Null | AnswerState::UnknownTag(_) => Answer::Missing,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_playbook_answers_tags_and_duplicates() {
        let text = "playbook: ../playbooks/registry.md\nanswers:\n  country: Kenya\n  a: !deferred \"waiting\"\n  b: !unknown\n  c:\n  d: !defered x\n  country: Uganda\n";
        let case = Case::parse(text);
        assert_eq!(case.playbook.as_ref().unwrap().path, "../playbooks/registry.md");
        assert_eq!(&text[case.answers_key.clone().unwrap()], "answers");
        let states: Vec<_> = case.answers.iter().map(|a| (a.id.as_str(), a.state.clone())).collect();
        assert_eq!(states[1], ("a", AnswerState::Deferred { reason: Some("waiting".into()) }));
        assert_eq!(states[2], ("b", AnswerState::Unknown));
        assert_eq!(states[3], ("c", AnswerState::Null));
        assert_eq!(states[4], ("d", AnswerState::UnknownTag("!defered".into())));
        assert_eq!(case.duplicate_keys.len(), 1);
        assert_eq!(text.lines().nth(7).unwrap(), "  country: Uganda");
        assert!(matches!(case.answer("country"), Answer::Value(_)));
        assert!(matches!(case.answer("a"), Answer::Pending));
        assert!(matches!(case.answer("c"), Answer::Missing));
    }

    #[test]
    fn syntax_errors_and_odd_shapes_do_not_panic() {
        assert!(Case::parse("answers: [unclosed").syntax_error.is_some());
        assert!(Case::parse("- a list\n- at the top").answers.is_empty());
        assert!(Case::parse("answers: 3").answers_not_a_map.is_some());
        assert!(Case::parse("").playbook.is_none());
    }

    #[test]
    fn the_answers_hash_follows_meaning_not_layout() {
        let a = Case::parse("playbook: p.md\nanswers:\n  b: [x, y]\n  a: {k: 1, j: 'yes'}\n  c: !deferred later\n");
        let b = Case::parse(
            "# comment\nplaybook: other.md\nanswers:\n  a:\n    j: \"yes\"\n    k: 1\n  b:\n    - x\n    - y\n  c: !deferred \"later\"\n  d:\n",
        );
        assert_eq!(a.answers_json(), r#"{"a":{"j":"yes","k":1},"b":["x","y"],"c":{"!deferred":"later"}}"#);
        assert_eq!(a.answers_hash(), b.answers_hash());
        let changed = Case::parse("playbook: p.md\nanswers:\n  b: [x, y]\n  a: {k: 2, j: 'yes'}\n  c: !deferred later\n");
        assert_ne!(a.answers_hash(), changed.answers_hash());
        let unknown = Case::parse("playbook: p.md\nanswers:\n  b: [x, y]\n  a: {k: 1, j: 'yes'}\n  c: !unknown\n");
        assert_ne!(a.answers_hash(), unknown.answers_hash());
    }
}
