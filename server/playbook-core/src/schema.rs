//! The JSON Schema of a working case's answers (product.md §8, `playbook schema CASE`), so that
//! other YAML tools (yaml-language-server above all) can validate a case too.
//!
//! The schema is draft-07, the newest draft yaml-language-server fully supports. It describes the
//! case **as JSON tools see its YAML** (YAML 1.2 core schema, as [`to_json`] converts it): `yes`
//! is the string `"yes"`, `true` the boolean, `1e3` a number. What it says:
//!
//! * `answers` has one property per Discovery item (inline follow-ups included), typed from the
//!   item's Type, with the Ask as `description` (and Ask, Why, Type, Required and Validation as
//!   `markdownDescription`, which editors show on hover). Items the playbook does not define are
//!   refused (`additionalProperties: false`; the checker's `unknown-item`).
//! * The machine-checkable part of Validation and the Pattern field become `minLength`,
//!   `maxLength`, `pattern`, `not` and `uniqueItems`, applied to a scalar answer, to each element
//!   of a list and to each value of a mapping, as the checker applies them.
//! * `required` lists the items whose Required is `yes` in the current phase or an earlier one;
//!   items with `Required: conditional: <expr>` in those phases are required through
//!   `allOf: [{if: <expr>, then: {required: [...]}}]`. A condition is translated term by term
//!   (`=`, `!=`, `in`, `is empty`, `is non-empty`, `any … has`, `AND`, `OR`) so that `if` holds
//!   exactly when the checker's three-valued evaluation is *true*: a missing or null answer
//!   never satisfies a term. A condition that does not parse never makes an item required; it is
//!   left out with a `$comment`, as is any Validation rule JSON Schema cannot state.
//! * A null answer (`key:` with nothing) means "not answered yet", as in the checker: it is
//!   accepted unless the item is required.
//!
//! Tags: yaml-language-server reads `!deferred "reason"` and `!unknown` (declared in its
//! `yaml.customTags` setting as `"!deferred scalar"` and `"!unknown scalar"`) as plain strings,
//! the reason or `""`, and a schema cannot tell those from a typed-in string. So the schema is
//! made *for this case*: an item the case records as `!deferred`/`!unknown` when the schema is
//! exported also accepts a string, and its tag's text never satisfies a condition (the checker
//! reads a pending answer as *unknown*). An item deferred later needs the schema exported again.

use crate::case::{AnswerState, Case};
use crate::condition::{Expr, Literal, Term};
use crate::playbook::{Item, Playbook, RequiredRule, plain_text};
use crate::types::{Shape, ValueType};
use crate::validation::{CharClass, Check};
use crate::yaml::{Node, NodeKind, is_null_word, parse_bool, parse_number};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The draft the schema declares.
pub const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// What JSON tools accept for a number answer: a YAML number, or text the checker reads as one
/// (`1_000`, quoted `"12"`); the same language as [`crate::yaml::parse_number`].
pub const NUMBER_PATTERN: &str = r"^\s*(?:[+-]_*)?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]*[0-9][0-9_]*)(?:[eE]_*[+-]?_*[0-9][0-9_]*)?\s*$";

/// What JSON tools accept for a boolean answer besides `true`/`false`: the playbook's
/// yes/no/true/false in any case, which YAML 1.2 reads as strings.
pub const BOOLEAN_PATTERN: &str = r"^\s*(?:[yY][eE][sS]|[nN][oO]|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE])\s*$";

const TRUE_PATTERN: &str = r"^\s*(?:[yY][eE][sS]|[tT][rR][uU][eE])\s*$";
const FALSE_PATTERN: &str = r"^\s*(?:[nN][oO]|[fF][aA][lL][sS][eE])\s*$";

/// The schema of `case`'s answers, from its playbook, with the requirements of the phase numbered
/// `current_phase` (`None`: the first phase), as `.playbook/state.json` says.
pub fn case_schema(playbook: &Playbook, case: &Case, current_phase: Option<u32>) -> Value {
    let phase = crate::analysis::required::current_phase_index(playbook, current_phase);
    let tagged = tagged_answers(case);
    let mut required: Vec<String> = Vec::new();
    let mut conditionals: Vec<Conditional> = Vec::new();
    let mut unparsed = Vec::new();
    for item in playbook.items.iter().filter(|i| i.phase <= phase) {
        match item.required.as_ref().map(|r| &r.rule) {
            Some(RequiredRule::Yes) if !required.contains(&item.id) => required.push(item.id.clone()),
            Some(RequiredRule::Conditional { condition: Ok(expr), .. }) => {
                let key = expr.to_string();
                match conditionals.iter_mut().find(|c| c.key == key) {
                    Some(c) if c.items.contains(&item.id) => {}
                    Some(c) => c.items.push(item.id.clone()),
                    None => conditionals.push(Conditional { key, expr, items: vec![item.id.clone()] }),
                }
            }
            Some(RequiredRule::Conditional { text, condition: Err(e) }) => {
                unparsed.push(format!(
                    "`{}`: condition `{}` does not parse ({}), so it never requires the item",
                    item.id, text.text, e.message
                ));
            }
            _ => {}
        }
    }
    let mut properties = Map::new();
    for item in &playbook.items {
        // A duplicated id is one property: the first definition, as everywhere else.
        if !properties.contains_key(&item.id) {
            let nullable = !required.contains(&item.id);
            properties.insert(item.id.clone(), property(item, playbook, nullable, tagged.get(item.id.as_str())));
        }
    }

    let mut answers = Map::new();
    answers.insert("type".into(), json!("object"));
    answers.insert("description".into(), json!("The answers to the playbook's Discovery items, keyed by item id."));
    answers.insert("properties".into(), Value::Object(properties));
    answers.insert("additionalProperties".into(), json!(false));
    if !required.is_empty() {
        answers.insert("required".into(), json!(required));
    }
    if !conditionals.is_empty() {
        let all: Vec<Value> = conditionals
            .iter()
            .map(|c| {
                let not_null: Map<String, Value> = c.items.iter().map(|id| (id.clone(), json!({"not": {"type": "null"}}))).collect();
                json!({
                    "$comment": format!("Required when {}", c.key),
                    "if": condition_schema_tagged(c.expr, &tagged),
                    "then": {"required": c.items, "properties": not_null},
                })
            })
            .collect();
        answers.insert("allOf".into(), Value::Array(all));
    }
    if !unparsed.is_empty() {
        answers.insert("$comment".into(), json!(unparsed.join("; ")));
    }

    let title = playbook.title.as_ref().map(|t| plain_text(&t.text)).unwrap_or_else(|| "the playbook".into());
    let phase_note = match playbook.phases.get(phase) {
        Some(p) => format!("Requirements as of Phase {}: {}.", p.number, plain_text(&p.name.text)),
        None => "The playbook has no phases.".to_string(),
    };
    let playbook_path = case.playbook.as_ref().map(|p| p.path.clone()).filter(|p| !p.is_empty());
    let mut playbook_prop = json!({"type": "string", "description": "The playbook this case answers, relative to the case file."});
    if let Some(path) = playbook_path {
        playbook_prop["default"] = json!(path);
    }
    json!({
        "$schema": DRAFT,
        "title": format!("Working case of {title}"),
        "description": format!("Exported by `playbook schema` from {title}. {phase_note} Items the case recorded as !deferred or !unknown at export also accept text."),
        "type": "object",
        "required": ["playbook", "answers"],
        "properties": {
            "playbook": playbook_prop,
            "answers": Value::Object(answers),
        },
    })
}

struct Conditional<'p> {
    /// The canonical spelling: items with the same condition share one `if`.
    key: String,
    expr: &'p Expr,
    items: Vec<String>,
}

/// Answers the case records as `!deferred`/`!unknown`, with the text JSON tools see for them.
fn tagged_answers(case: &Case) -> BTreeMap<&str, Value> {
    let mut out = BTreeMap::new();
    for entry in &case.answers {
        if matches!(entry.state, AnswerState::Deferred { .. } | AnswerState::Unknown) {
            out.entry(entry.id.as_str()).or_insert_with(|| to_json(&entry.value));
        }
    }
    out
}

/// The property of one item: its type, its rules, its descriptions.
fn property(item: &Item, playbook: &Playbook, nullable: bool, tagged: Option<&Value>) -> Value {
    let mut schema = match item.value_type.as_ref() {
        Some(t) => type_schema(&t.value_type),
        None => json!({"$comment": "the item has no Type"}),
    };
    let (rules, comments) = item.validation.as_ref().map(|v| validation_schemas(&v.rules)).unwrap_or_default();
    let obj = schema.as_object_mut().expect("type schemas are objects");
    if let Some(unique) = rules.iter().find(|r| r.get("uniqueItems").is_some()) {
        obj.insert("uniqueItems".into(), unique["uniqueItems"].clone());
    }
    let ty = item.value_type.as_ref().map(|t| &t.value_type);
    let per_value: Vec<Value> = rules.into_iter().filter(|r| r.get("uniqueItems").is_none()).map(|r| each_value(r, ty)).collect();
    if !per_value.is_empty() {
        obj.insert("allOf".into(), Value::Array(per_value));
    }
    let mut notes: Vec<String> = obj.remove("$comment").and_then(|c| c.as_str().map(str::to_string)).into_iter().collect();
    notes.extend(comments);
    if nullable {
        allow_null(&mut schema);
    } else if !obj_has_any(&schema, &["type", "enum"]) {
        schema["not"] = json!({"type": "null"});
    }
    let mut schema = match tagged {
        Some(value) => {
            notes.push(format!("recorded as !deferred or !unknown when exported (read as {value})"));
            json!({"anyOf": [schema, {"type": "string"}]})
        }
        None => schema,
    };
    let obj = schema.as_object_mut().expect("schemas are objects");
    if let Some(ask) = item.ask_plain().filter(|a| !a.is_empty()) {
        obj.insert("description".into(), json!(ask));
    }
    obj.insert("markdownDescription".into(), json!(markdown_description(item, playbook)));
    if !notes.is_empty() {
        obj.insert("$comment".into(), json!(notes.join("; ")));
    }
    schema
}

fn markdown_description(item: &Item, playbook: &Playbook) -> String {
    let mut parts = Vec::new();
    if let Some(ask) = &item.ask {
        parts.push(format!("**Ask:** {}", ask.value.text));
    }
    if let Some(why) = &item.why {
        parts.push(format!("**Why:** {}", why.value.text));
    }
    if let Some(t) = &item.value_type {
        parts.push(format!("**Type:** {}", t.field.value.text));
    }
    if let Some(r) = &item.required {
        parts.push(format!("**Required:** {}", r.field.value.text));
    }
    if let Some(v) = &item.validation {
        parts.push(format!("**Validation:** {}", v.field.value.text));
    }
    if let Some(phase) = playbook.phases.get(item.phase) {
        parts.push(format!("_Phase {}: {}_", phase.number, phase.name.text));
    }
    parts.join("\n\n")
}

/// The JSON Schema of a Type, as the checker's [`crate::types::check_value`] reads answers.
pub fn type_schema(ty: &ValueType) -> Value {
    match ty {
        // Any scalar is text (a YAML number or boolean too).
        ValueType::Text | ValueType::Prose => json!({"type": ["string", "number", "boolean"]}),
        ValueType::Number => json!({"type": ["number", "string"], "pattern": NUMBER_PATTERN}),
        ValueType::Boolean => json!({"type": ["boolean", "string"], "pattern": BOOLEAN_PATTERN}),
        ValueType::Enum { members } => {
            let mut values: Vec<Value> = Vec::new();
            for m in members {
                // `1` is a number to JSON tools; the checker compares text.
                for v in [json!(m.text), scalar_json(&m.text, false)] {
                    if !v.is_null() && !values.contains(&v) {
                        values.push(v);
                    }
                }
            }
            json!({"enum": values})
        }
        ValueType::List => json!({"type": "array"}),
        ValueType::ListOf { records: true, .. } => json!({"type": "array", "items": {"type": "object"}}),
        ValueType::ListOf { records: false, .. } => json!({"type": "array"}),
        ValueType::File { kind } => {
            let what = match kind {
                Some(k) => format!("a file path ({k})"),
                None => "a file path".into(),
            };
            json!({"type": "string", "$comment": format!("{what}, relative to the case; `playbook check` also checks that it exists inside the workspace")})
        }
        ValueType::Classification { shape: Shape::Map, .. } => json!({"type": "object"}),
        ValueType::Classification { shape: Shape::Any, .. } => json!({}),
        ValueType::Unknown { text } => json!({"$comment": format!("`{text}` is not a type of the schema; any value is accepted")}),
    }
}

/// One schema per recognised rule, each about one string, and comments for rules left out.
fn validation_schemas(rules: &[Check]) -> (Vec<Value>, Vec<String>) {
    let mut out = Vec::new();
    let mut comments = Vec::new();
    for rule in rules {
        match rule {
            Check::Length { min, max } => {
                let mut s = Map::new();
                if let Some(min) = min {
                    s.insert("minLength".into(), json!(min));
                }
                if let Some(max) = max {
                    s.insert("maxLength".into(), json!(max));
                }
                out.push(Value::Object(s));
            }
            Check::Charset { classes, .. } => {
                let class: String = classes.iter().map(|c| char_class(*c)).collect();
                out.push(json!({"pattern": format!("^[{class}]*$")}));
            }
            Check::NoWhitespace => out.push(json!({"pattern": r"^\S*$"})),
            Check::NoLeading { ch } => out.push(json!({"pattern": format!("^(?:$|[^{}])", class_escape(*ch))})),
            Check::NoTrailing { ch } => out.push(json!({"pattern": format!("(?:^|[^{}])$", class_escape(*ch))})),
            Check::MustNotContain { word } => out.push(json!({"not": {"type": "string", "pattern": case_insensitive(word)}})),
            Check::Email => out.push(json!({"pattern": r"^\s*[^@\s]+@[^@\s]+\.[^@\s.]+\s*$"})),
            Check::Unique => {
                out.push(json!({"uniqueItems": true}));
                comments.push("the values of a mapping answer must be distinct too (not expressible here)".into());
            }
            Check::Pattern(re) => match portable_pattern(re.as_str()) {
                true => out.push(json!({"pattern": re.as_str()})),
                false => comments.push(format!("Pattern `{}` uses syntax JSON Schema regexes may not share; left out", re.as_str())),
            },
        }
    }
    (out, comments)
}

/// A rule about one string, applied as the checker applies it: to a scalar answer, to each
/// element of a list, to each value of a mapping (string keywords ignore other types), as far
/// as the Type lets the answer be each of those.
fn each_value(rule: Value, ty: Option<&ValueType>) -> Value {
    let (scalar, list, map) = match ty {
        Some(ValueType::List | ValueType::ListOf { .. }) => (false, true, false),
        Some(ValueType::Classification { shape: Shape::Map, .. }) => (false, false, true),
        Some(ValueType::Classification { shape: Shape::Any, .. } | ValueType::Unknown { .. }) | None => (true, true, true),
        Some(_) => (true, false, false),
    };
    let mut s = if scalar { rule.as_object().cloned().unwrap_or_default() } else { Map::new() };
    if list {
        s.insert("items".into(), rule.clone());
    }
    if map {
        s.insert("additionalProperties".into(), rule);
    }
    Value::Object(s)
}

fn char_class(c: CharClass) -> &'static str {
    // Unicode properties, as Rust's `char::is_lowercase` and friends (ECMAScript with the `u`
    // flag, which yaml-language-server uses, and Rust's regex agree on these names).
    match c {
        CharClass::Lowercase => r"\p{Lowercase}",
        CharClass::Uppercase => r"\p{Uppercase}",
        CharClass::Letters => r"\p{Alphabetic}",
        CharClass::Digits => "0-9",
        CharClass::Hyphen => r"\-",
        CharClass::Underscore => "_",
        CharClass::Dot => r"\.",
        CharClass::Space => " ",
    }
}

fn class_escape(c: char) -> String {
    if matches!(c, '\\' | ']' | '[' | '^' | '-') { format!("\\{c}") } else { c.to_string() }
}

/// Escape what is syntax in both ECMAScript (`u` mode allows no other escapes) and Rust regexes.
fn escape(c: char, out: &mut String) {
    if "^$\\.*+?()[]{}|".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// `text` matched without regard to case, as the checker's `to_lowercase` comparisons.
fn case_insensitive(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let mut lower = c.to_lowercase();
        let mut upper = c.to_uppercase();
        match (lower.next(), lower.next(), upper.next(), upper.next()) {
            (Some(l), None, Some(u), None) if l != u => {
                out.push('[');
                out.push(l);
                out.push(u);
                if c != l && c != u {
                    out.push(c);
                }
                out.push(']');
            }
            _ => escape(c, &mut out),
        }
    }
    out
}

/// Whether a Pattern (Rust regex syntax) means the same to ECMAScript-flavoured validators:
/// no inline flags, no `\A`/`\z`, no POSIX classes, no Unicode class names.
fn portable_pattern(p: &str) -> bool {
    let inline_flags = p.match_indices("(?").any(|(i, _)| !matches!(p.as_bytes().get(i + 2), Some(b':' | b'=' | b'!')));
    !(inline_flags || p.contains(r"\A") || p.contains(r"\z") || p.contains("[[:") || p.contains(r"\p") || p.contains(r"\P"))
}

fn obj_has_any(schema: &Value, keys: &[&str]) -> bool {
    keys.iter().any(|k| schema.get(k).is_some())
}

/// Null is "not answered yet": accepted for an item that is not required.
fn allow_null(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else { return };
    match obj.get_mut("type") {
        Some(Value::String(t)) => {
            let t = t.clone();
            obj.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) => types.push(json!("null")),
        _ => {}
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.push(Value::Null);
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// A schema of the `answers` object that holds exactly when `expr` evaluates to *true* for
/// those answers (an unanswered, null or pending reference never does). `case` tells which
/// answers are pending: their tags' text is no value.
pub fn condition_schema(expr: &Expr, case: &Case) -> Value {
    condition_schema_tagged(expr, &tagged_answers(case))
}

fn condition_schema_tagged(expr: &Expr, tagged: &BTreeMap<&str, Value>) -> Value {
    let mut schema = condition_part(expr, tagged);
    schema["type"] = json!("object");
    schema
}

fn condition_part(expr: &Expr, tagged: &BTreeMap<&str, Value>) -> Value {
    match expr {
        Expr::Or(items) => json!({"anyOf": items.iter().map(|e| condition_part(e, tagged)).collect::<Vec<_>>()}),
        Expr::And(items) => json!({"allOf": items.iter().map(|e| condition_part(e, tagged)).collect::<Vec<_>>()}),
        Expr::Term(term) => {
            let id = term.item().id.as_str();
            let mut value = term_value_schema(term);
            if let Some(tag) = tagged.get(id) {
                // A pending answer reads as its tag's text; that text is no value.
                value = json!({"allOf": [value, {"not": {"const": tag}}]});
            }
            json!({"required": [id], "properties": {id: value}})
        }
    }
}

/// What the referenced answer's value must be for the term to be true.
fn term_value_schema(term: &Term) -> Value {
    match term {
        Term::Eq { value, .. } => equals(value),
        Term::Ne { value, .. } => json!({"not": {"anyOf": [{"type": "null"}, equals(value)]}}),
        Term::In { values, .. } => {
            let any: Vec<Value> = values.iter().map(scalar_equals).collect();
            let mut alternatives = any.clone();
            alternatives.push(json!({"type": "array", "contains": {"anyOf": any}}));
            json!({"anyOf": alternatives})
        }
        Term::NonEmpty(_) => json!({"anyOf": [
            {"type": ["number", "boolean"]},
            {"type": "string", "pattern": r"\S"},
            {"type": "array", "minItems": 1},
            {"type": "object", "minProperties": 1},
        ]}),
        Term::Empty(_) => json!({"anyOf": [
            {"type": "string", "pattern": r"^\s*$"},
            {"type": "array", "maxItems": 0},
            {"type": "object", "maxProperties": 0},
        ]}),
        Term::AnyHas { value, .. } => {
            let eq = scalar_equals(value);
            json!({"anyOf": [
                {"type": "object", "not": {"additionalProperties": {"not": eq.clone()}}},
                {"type": "array", "contains": eq},
            ]})
        }
    }
}

/// `<ref> = <value>`: a scalar equal to the literal, or a list with such an element.
fn equals(literal: &Literal) -> Value {
    let eq = scalar_equals(literal);
    json!({"anyOf": [eq.clone(), {"type": "array", "contains": eq}]})
}

/// A scalar the checker's comparison takes as equal to the literal: booleans when both sides are
/// booleans, numbers when both are numbers, otherwise trimmed text without regard to case.
fn scalar_equals(literal: &Literal) -> Value {
    let text = literal.text.trim();
    let mut pattern = String::from(r"^\s*");
    pattern.push_str(&case_insensitive(text));
    pattern.push_str(r"\s*$");
    if let Some(b) = parse_bool(text) {
        let words = if b { TRUE_PATTERN } else { FALSE_PATTERN };
        return json!({"anyOf": [{"const": b}, {"type": "string", "pattern": words}]});
    }
    if let Some(n) = parse_number(text) {
        return json!({"anyOf": [{"type": "number", "const": n}, {"type": "string", "pattern": pattern}]});
    }
    json!({"type": "string", "pattern": pattern})
}

// ---------------------------------------------------------------------------------------------
// YAML as JSON tools see it

/// A YAML node as YAML 1.2 tools (yaml-language-server, with the core schema) hand it to a JSON
/// Schema validator: plain `true`/`false` booleans, plain numbers numbers, `~`/`null`/nothing
/// null, quoted scalars and everything else strings; a scalar with a local tag such as
/// `!deferred` is its text. Mappings keep the first of duplicate keys; aliases (not resolved
/// here) are null.
pub fn to_json(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Scalar(s) => {
            match node.tag.as_deref().map(|t| t.strip_prefix("tag:yaml.org,2002:").map_or(t.to_string(), |t| format!("!!{t}"))).as_deref() {
                None => scalar_json(&s.value, s.quoted),
                Some("!!str") => json!(s.value),
                Some("!!null") => Value::Null,
                Some("!!bool") => parse_bool(&s.value).map_or_else(|| json!(s.value), Value::Bool),
                Some("!!int" | "!!float") => parse_number(&s.value).and_then(number).unwrap_or_else(|| json!(s.value)),
                Some(tag) if tag.starts_with("!!") => scalar_json(&s.value, s.quoted),
                Some(_) => json!(s.value),
            }
        }
        NodeKind::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        NodeKind::Map(entries) => {
            let mut map = Map::new();
            for e in entries {
                let key = match &e.key.kind {
                    NodeKind::Scalar(k) => k.value.clone(),
                    _ => to_json(&e.key).to_string(),
                };
                map.entry(key).or_insert_with(|| to_json(&e.value));
            }
            Value::Object(map)
        }
        NodeKind::Alias => Value::Null,
    }
}

/// The whole case as JSON tools see it (null for an empty or unparsable file).
pub fn case_json(case: &Case) -> Value {
    case.root.as_ref().map_or(Value::Null, to_json)
}

/// A plain scalar by the YAML 1.2 core schema; a quoted one is always a string.
fn scalar_json(value: &str, quoted: bool) -> Value {
    if quoted {
        return json!(value);
    }
    if is_null_word(value) && value.trim() == value {
        return Value::Null;
    }
    match value {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    core_number(value).unwrap_or_else(|| json!(value))
}

fn core_number(v: &str) -> Option<Value> {
    let unsigned = v.strip_prefix(['-', '+']).unwrap_or(v);
    if let Some(hex) = v.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().filter(|_| !hex.is_empty()).map(|n| json!(n));
    }
    if let Some(oct) = v.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8).ok().filter(|_| !oct.is_empty()).map(|n| json!(n));
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(unsigned) {
        if let Ok(n) = v.parse::<i64>() {
            return Some(json!(n));
        }
        return v.parse::<f64>().ok().and_then(number);
    }
    // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    if mantissa_ok && exponent_ok {
        return v.parse::<f64>().ok().and_then(number);
    }
    None
}

fn number(n: f64) -> Option<Value> {
    serde_json::Number::from_f64(n).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition;

    fn json_of(yaml: &str) -> Value {
        to_json(&crate::yaml::parse(yaml).unwrap().unwrap())
    }

    #[test]
    fn yaml_reads_as_yaml_1_2_core() {
        assert_eq!(
            json_of(
                "a: yes\nb: true\nc: 12\nd: 1.5\ne: ~\nf:\ng: '12'\nh: 1_000\ni: 0x1F\nj: !deferred \"why\"\nk: !unknown\nl: .inf\nm: 1e3\nn: NULL\no: -3\np: 1.\nq: .5\nr: +1"
            ),
            json!({"a": "yes", "b": true, "c": 12, "d": 1.5, "e": null, "f": null, "g": "12", "h": "1_000", "i": 31,
                   "j": "why", "k": "", "l": ".inf", "m": 1000.0, "n": null, "o": -3, "p": 1.0, "q": 0.5, "r": 1})
        );
        assert_eq!(json_of("a: 1\na: 2\nb: [x, {c: d}]"), json!({"a": 1, "b": ["x", {"c": "d"}]}));
        assert_eq!(json_of("a: !!str 12\nb: !!int '7'"), json!({"a": "12", "b": 7.0}));
    }

    #[test]
    fn case_insensitive_patterns_escape_syntax() {
        assert_eq!(case_insensitive("ab-1"), "[aA][bB]-1");
        assert_eq!(case_insensitive("a.b (c)"), r"[aA]\.[bB] \([cC]\)");
        assert_eq!(case_insensitive("É"), "[éÉ]");
    }

    #[test]
    fn conditions_translate_term_by_term() {
        let expr = condition::parse("has_x = yes AND (kind in [`a`, `b`] OR notes is non-empty)").unwrap();
        let s = condition_schema(&expr, &Case::parse(""));
        assert_eq!(s["allOf"][0]["required"], json!(["has_x"]));
        assert_eq!(s["allOf"][1]["anyOf"][0]["required"], json!(["kind"]));
        assert_eq!(s["allOf"][1]["anyOf"][1]["required"], json!(["notes"]));
    }

    #[test]
    fn portable_patterns() {
        assert!(portable_pattern("^[a-z0-9][a-z0-9_.-]*$"));
        assert!(portable_pattern("^(?:a|b)$"));
        assert!(!portable_pattern("(?i)abc"));
        assert!(!portable_pattern(r"\Aabc\z"));
    }
}
