//! The deterministic template provider: no network, the same answers always give the same
//! bytes. It writes one model, schema and service per Register in the structure of the
//! reference registry's example Register (its leading comment header is carried over), and its
//! review is the deterministic contract check ([`contract_checks`]), which
//! `review_extension_code` also runs after any other provider.
//!
//! The interface every Register's files keep (the server and the database module call it):
//! - `models/<module>.py`: `TABLE_NAME`, `COLUMNS` (`(name, sql type, nullable, sql default)`),
//!   `DDL` (one `CREATE TABLE IF NOT EXISTS`), a dataclass `<Class>` with `from_row`/`to_dict`.
//! - `schemas/<module>.py`: `validate(data, partial=False) -> list[str]`.
//! - `services/<module>.py`: `create`, `get`, `update`, `list_records` over an sqlite3
//!   connection, functional ids from `idgen.next_id(conn, "<module>")`.

use super::{CodeProvider, FindingSeverity, GeneratedFile, Generation, ProviderLog, RegisterRequest, ReviewFinding, ReviewRequest, Usage};
use crate::handlers::inputs::{Column, Register, RegistryInputs};
use regex::Regex;
use serde_json::Value;

pub struct TemplateProvider;

impl CodeProvider for TemplateProvider {
    fn describe(&self) -> String {
        "template".to_string()
    }

    fn generate_register(&self, request: &RegisterRequest<'_>, _log: ProviderLog<'_>) -> Result<Generation<Vec<GeneratedFile>>, String> {
        check_register(request.register)?;
        let package = request.inputs.package();
        let module = request.register.module();
        let header = |kind: &str| reference_header(request.reference, kind);
        let files = vec![
            GeneratedFile {
                path: format!("{package}/models/{module}.py"),
                contents: render_model(request.inputs, request.register, &header("models")),
            },
            GeneratedFile { path: format!("{package}/schemas/{module}.py"), contents: render_schema(request.register, &header("schemas")) },
            GeneratedFile {
                path: format!("{package}/services/{module}.py"),
                contents: render_service(request.register, &header("services")),
            },
        ];
        Ok(Generation { value: files, usage: Usage::default() })
    }

    fn review(&self, request: &ReviewRequest<'_>, _log: ProviderLog<'_>) -> Result<Generation<Vec<ReviewFinding>>, String> {
        Ok(Generation { value: contract_checks(request.inputs, request.files), usage: Usage::default() })
    }
}

// ── Names and types ─────────────────────────────────────────────────────────────────────────

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
    "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
    "while", "with", "yield",
];

/// Column names the generated code uses itself.
const RESERVED_COLUMNS: &[&str] = &["id", "functional_id", "from_row", "to_dict"];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A SQL type as answered, safe to write into DDL: letters first, then letters, digits, `_`,
/// spaces, `(`, `)`, `,`, `[`, `]`, parentheses balanced.
fn is_safe_sql_type(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | ',' | '[' | ']') => {}
            _ => return false,
        }
    }
    depth == 0 && s.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// The names and types of one Register, checked before anything is written: every generated
/// file uses them as Python identifiers and SQL.
pub fn check_register(register: &Register) -> Result<(), String> {
    let module = register.module();
    if !is_identifier(&module) || PYTHON_KEYWORDS.contains(&module.as_str()) {
        return Err(format!(
            "register_mnemonics: the mnemonic `{}` of `{}` does not make a Python module name (`{module}`); use lowercase letters and hyphens",
            register.mnemonic, register.name
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for column in &register.columns {
        let at = format!("`{}.{}`", register.name, column.name);
        if !is_identifier(&column.name) || PYTHON_KEYWORDS.contains(&column.name.as_str()) {
            return Err(format!(
                "register_columns: {at} is not usable as a column and Python attribute name; use letters, digits and `_` (not a Python keyword)"
            ));
        }
        if RESERVED_COLUMNS.contains(&column.name.as_str()) {
            return Err(format!(
                "register_columns: {at}: `{}` is assigned by the registry itself; leave it out of the answer",
                column.name
            ));
        }
        if !seen.insert(column.name.to_ascii_lowercase()) {
            return Err(format!("register_columns: {at} is listed twice"));
        }
        if !is_safe_sql_type(column.sql_type.trim()) {
            return Err(format!(
                "register_columns: {at} has the type `{}`, which is not a plain SQL type (like varchar(200), integer, date)",
                column.sql_type
            ));
        }
    }
    Ok(())
}

/// How the generated code checks and annotates a column, by SQL type family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Integer,
    Number,
    Text,
    Boolean,
    Date,
    DateTime,
    Time,
    Uuid,
    Json,
    Any,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Integer => "integer",
            Family::Number => "number",
            Family::Text => "text",
            Family::Boolean => "boolean",
            Family::Date => "date",
            Family::DateTime => "datetime",
            Family::Time => "time",
            Family::Uuid => "uuid",
            Family::Json => "json",
            Family::Any => "any",
        }
    }

    fn python_type(self) -> &'static str {
        match self {
            Family::Integer => "int",
            Family::Number => "float",
            Family::Boolean => "bool",
            Family::Text | Family::Date | Family::DateTime | Family::Time | Family::Uuid => "str",
            Family::Json | Family::Any => "Any",
        }
    }
}

/// The family of a SQL type and, for `varchar(n)` / `char(n)`, its maximum length.
pub fn type_family(sql_type: &str) -> (Family, Option<u32>) {
    let lower = sql_type.trim().to_ascii_lowercase();
    if lower.ends_with("[]") {
        return (Family::Json, None);
    }
    let (base, args) = match lower.split_once('(') {
        Some((base, rest)) => (base.trim().to_string(), rest.split(')').next().unwrap_or("").to_string()),
        None => (lower.clone(), String::new()),
    };
    let first = base.split_whitespace().next().unwrap_or("");
    let family = match first {
        "int" | "integer" | "smallint" | "bigint" | "int2" | "int4" | "int8" | "serial" | "bigserial" | "smallserial" | "tinyint"
        | "mediumint" => Family::Integer,
        "numeric" | "decimal" | "real" | "float" | "float4" | "float8" | "double" | "money" => Family::Number,
        "varchar" | "character" | "char" | "text" | "citext" | "string" | "nvarchar" | "nchar" | "clob" | "bpchar" => Family::Text,
        "bool" | "boolean" => Family::Boolean,
        "date" => Family::Date,
        "timestamp" | "timestamptz" | "datetime" => Family::DateTime,
        "time" | "timetz" => Family::Time,
        "uuid" => Family::Uuid,
        "json" | "jsonb" => Family::Json,
        _ => Family::Any,
    };
    let max_length = if family == Family::Text { args.trim().parse::<u32>().ok() } else { None };
    (family, max_length)
}

/// The SQL `DEFAULT` expression of a column (None: no default). `now()` and friends become the
/// standard SQL value of the column's family (`CURRENT_DATE` for a date).
pub fn sql_default(column: &Column) -> Option<String> {
    let (family, _) = type_family(&column.sql_type);
    match &column.default {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => {
            let t = s.trim();
            let lower = t.to_ascii_lowercase();
            if matches!(lower.as_str(), "now()" | "now" | "current_timestamp" | "current_date" | "current_time" | "today" | "today()") {
                return Some(
                    match family {
                        Family::Date => "CURRENT_DATE",
                        Family::Time => "CURRENT_TIME",
                        _ => "CURRENT_TIMESTAMP",
                    }
                    .to_string(),
                );
            }
            if matches!(family, Family::Integer | Family::Number) && t.parse::<f64>().is_ok_and(f64::is_finite) {
                return Some(t.to_string());
            }
            if family == Family::Boolean && matches!(lower.as_str(), "true" | "false") {
                return Some(lower.to_ascii_uppercase());
            }
            Some(sql_literal(s))
        }
        other => Some(sql_literal(&other.to_string())),
    }
}

/// Text safe inside a Python docstring.
fn doc_text(s: &str) -> String {
    s.replace(['"', '\\'], "'")
}

/// A SQL string literal.
pub fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A Python string literal (JSON's escapes are all valid Python escapes).
pub fn py_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// A multi-line Python string literal: triple-quoted when that needs no escaping.
fn py_block(s: &str) -> String {
    if s.contains('\\') || s.contains("\"\"\"") || s.ends_with('"') { py_str(s) } else { format!("\"\"\"{s}\"\"\"") }
}

/// One column of the DDL: `"name" type NOT NULL DEFAULT x`.
pub fn column_ddl(column: &Column) -> String {
    let mut out = format!("\"{}\" {}", column.name, column.sql_type.trim());
    if !column.nullable {
        out.push_str(" NOT NULL");
    }
    if let Some(default) = sql_default(column) {
        out.push_str(" DEFAULT ");
        out.push_str(&default);
    }
    out
}

/// The `CREATE TABLE` of a Register (SQLite dialect for the primary key).
pub fn table_ddl(inputs: &RegistryInputs, register: &Register) -> String {
    let mut lines = vec!["\"id\" INTEGER PRIMARY KEY AUTOINCREMENT".to_string()];
    if register.id_pattern.is_some() {
        lines.push("\"functional_id\" varchar(64) UNIQUE".to_string());
    }
    lines.extend(register.columns.iter().map(column_ddl));
    format!("CREATE TABLE IF NOT EXISTS \"{}\" (\n    {}\n)", inputs.table_name(register), lines.join(",\n    "))
}

/// The leading `#` comment lines of the reference's example file of one kind (`models`,
/// `schemas`, `services`), followed by the generated-file note.
fn reference_header(reference: &[GeneratedFile], kind: &str) -> String {
    let example = reference.iter().find(|f| {
        let parts: Vec<&str> = f.path.split('/').collect();
        parts.len() >= 2 && parts[parts.len() - 2] == kind && f.path.ends_with(".py") && !f.path.ends_with("__init__.py")
    });
    let mut header = String::new();
    if let Some(file) = example {
        for line in file.contents.lines() {
            if line.starts_with("#!") || !line.starts_with('#') {
                break;
            }
            header.push_str(line);
            header.push('\n');
        }
    }
    header.push_str("# Generated by the registry build from the working case: change the answers, then rebuild.\n");
    header
}

// ── The three files of a Register ───────────────────────────────────────────────────────────

fn render_model(inputs: &RegistryInputs, register: &Register, header: &str) -> String {
    let table = inputs.table_name(register);
    let class = register.class_name();
    let mut columns = String::new();
    for c in &register.columns {
        let default = sql_default(c).map_or("None".to_string(), |d| py_str(&d));
        let nullable = if c.nullable { "True" } else { "False" };
        columns.push_str(&format!("    ({}, {}, {nullable}, {default}),\n", py_str(&c.name), py_str(c.sql_type.trim())));
    }
    let mut fields = String::from("    id: int | None = None\n");
    if register.id_pattern.is_some() {
        fields.push_str("    functional_id: str | None = None\n");
    }
    for c in &register.columns {
        fields.push_str(&format!("    {}: {} | None = None\n", c.name, type_family(&c.sql_type).0.python_type()));
    }
    let kind = if register.supporting { "supporting table" } else { "register" };
    format!(
        r#"{header}"""The {name} {kind}: the `{table}` table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

TABLE_NAME = {table_lit}

# (column, SQL type, nullable, SQL default or None), in the answered order.
COLUMNS = (
{columns})

DDL = {ddl}


@dataclass
class {class}:
    """One record of the {name} {kind}."""

{fields}
    @classmethod
    def from_row(cls, row: Any) -> "{class}":
        known = {{f.name for f in fields(cls)}}
        return cls(**{{key: row[key] for key in row.keys() if key in known}})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
"#,
        name = doc_text(&register.name),
        table_lit = py_str(&table),
        ddl = py_block(&table_ddl(inputs, register)),
    )
}

const SCHEMA_BODY: &str = r#"
# Assigned by the registry, never by a client.
READ_ONLY = ("id", "functional_id")


def _problem(family: str, max_length: int | None, value: Any) -> str | None:
    if family == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
    elif family == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
    elif family == "boolean":
        if not isinstance(value, bool):
            return "must be true or false"
    elif family in ("text", "date", "datetime", "time", "uuid"):
        if not isinstance(value, str):
            return "must be a string"
        if family == "text" and max_length is not None and len(value) > max_length:
            return f"must be at most {max_length} characters"
        try:
            if family == "date":
                datetime.date.fromisoformat(value)
            elif family == "datetime":
                datetime.datetime.fromisoformat(value)
            elif family == "time":
                datetime.time.fromisoformat(value)
            elif family == "uuid":
                uuid.UUID(value)
        except ValueError:
            return f"must be an ISO {family} string" if family != "uuid" else "must be a UUID"
    return None


def validate(data: Any, partial: bool = False) -> list[str]:
    """The problems of a create (or, with `partial`, an update) body; empty when valid."""
    if not isinstance(data, dict):
        return ["the body must be a JSON object of column values"]
    errors = []
    for name in data:
        if name in READ_ONLY:
            errors.append(f"`{name}` is assigned by the registry and cannot be set")
        elif name not in FIELDS:
            errors.append(f"unknown column `{name}`")
    for name, (family, max_length, nullable, has_default) in FIELDS.items():
        if name not in data:
            if not partial and not nullable and not has_default:
                errors.append(f"`{name}` is required")
            continue
        value = data[name]
        if value is None:
            if not nullable:
                errors.append(f"`{name}` cannot be null")
            continue
        problem = _problem(family, max_length, value)
        if problem:
            errors.append(f"`{name}` {problem}")
    return errors
"#;

fn render_schema(register: &Register, header: &str) -> String {
    let mut fields = String::new();
    for c in &register.columns {
        let (family, max_length) = type_family(&c.sql_type);
        fields.push_str(&format!(
            "    {}: ({}, {}, {}, {}),\n",
            py_str(&c.name),
            py_str(family.as_str()),
            max_length.map_or("None".to_string(), |n| n.to_string()),
            if c.nullable { "True" } else { "False" },
            if sql_default(c).is_some() { "True" } else { "False" },
        ));
    }
    format!(
        r#"{header}"""Validation of {name} records against the answered columns and constraints."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

# column: (type family, maximum length or None, nullable, has a default)
FIELDS = {{
{fields}}}
{SCHEMA_BODY}"#,
        name = doc_text(&register.name),
    )
}

fn render_service(register: &Register, header: &str) -> String {
    let module = register.module();
    let class = register.class_name();
    let (idgen_import, functional_id) = if register.id_pattern.is_some() {
        ("from .. import idgen\n", "    names.append(\"functional_id\")\n    values.append(idgen.next_id(conn, REGISTER))\n")
    } else {
        ("", "")
    };
    let doc = if register.id_pattern.is_some() {
        "Insert a validated record; its functional id comes from idgen."
    } else {
        "Insert a validated record."
    };
    format!(
        r#"{header}"""Create, read, update and list {name} records (SQLite, inside the caller's transaction)."""

from __future__ import annotations

import sqlite3
from typing import Any

{idgen_import}from ..models.{module} import COLUMNS, TABLE_NAME, {class}

REGISTER = {module_lit}
COLUMN_NAMES = tuple(column[0] for column in COLUMNS)


def _record(row: sqlite3.Row) -> dict[str, Any]:
    return {class}.from_row(row).to_dict()


def create(conn: sqlite3.Connection, data: dict[str, Any]) -> dict[str, Any]:
    """{doc}"""
    names = [name for name in COLUMN_NAMES if name in data]
    values = [data[name] for name in names]
{functional_id}    if not names:
        cursor = conn.execute(f'INSERT INTO "{{TABLE_NAME}}" DEFAULT VALUES')
        return get(conn, cursor.lastrowid)
    columns = ", ".join(f'"{{name}}"' for name in names)
    marks = ", ".join("?" for _ in names)
    cursor = conn.execute(f'INSERT INTO "{{TABLE_NAME}}" ({{columns}}) VALUES ({{marks}})', values)
    return get(conn, cursor.lastrowid)


def get(conn: sqlite3.Connection, record_id: int) -> dict[str, Any] | None:
    row = conn.execute(f'SELECT * FROM "{{TABLE_NAME}}" WHERE "id" = ?', (record_id,)).fetchone()
    return None if row is None else _record(row)


def update(conn: sqlite3.Connection, record_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """Change the given columns of a record; None when there is no such record."""
    if get(conn, record_id) is None:
        return None
    names = [name for name in COLUMN_NAMES if name in data]
    if names:
        assignments = ", ".join(f'"{{name}}" = ?' for name in names)
        values = [data[name] for name in names] + [record_id]
        conn.execute(f'UPDATE "{{TABLE_NAME}}" SET {{assignments}} WHERE "id" = ?', values)
    return get(conn, record_id)


def list_records(conn: sqlite3.Connection, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    rows = conn.execute(f'SELECT * FROM "{{TABLE_NAME}}" ORDER BY "id" LIMIT ? OFFSET ?', (limit, offset))
    return [_record(row) for row in rows]
"#,
        name = doc_text(&register.name),
        module_lit = py_str(&module),
    )
}

// ── The contract checks ─────────────────────────────────────────────────────────────────────

/// One column as a `CREATE TABLE` declares it.
#[derive(Debug, Clone, PartialEq)]
struct DdlColumn {
    name: String,
    sql_type: String,
    not_null: bool,
    has_default: bool,
}

/// The table-name literal and column list of the first `CREATE TABLE` for `table`; also every
/// table name any `CREATE TABLE` of the file names.
fn parse_create_tables(text: &str) -> Vec<(String, Option<Vec<DdlColumn>>)> {
    let re = Regex::new(r#"(?i)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[`"\[]?([A-Za-z0-9_.]+)[`"\]]?\s*\("#).expect("valid regex");
    re.captures_iter(text)
        .map(|caps| {
            let name = caps[1].rsplit('.').next().unwrap_or(&caps[1]).to_string();
            let body_start = caps.get(0).map_or(0, |m| m.end());
            (name, table_body(&text[body_start..]).map(|body| split_top_level(body).iter().filter_map(|d| parse_column(d)).collect()))
        })
        .collect()
}

/// The text up to the parenthesis closing an opened one (quotes respected).
fn table_body(rest: &str) -> Option<&str> {
    let mut depth = 1;
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&rest[..i]);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

fn split_top_level(body: &str) -> Vec<String> {
    let (mut parts, mut current, mut depth, mut quote) = (Vec::new(), String::new(), 0, None::<char>);
    for c in body.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            },
        }
        current.push(c);
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

const CONSTRAINT_WORDS: &[&str] = &["constraint", "primary", "foreign", "unique", "check", "exclude"];
const CLAUSE_WORDS: &[&str] =
    &["not", "null", "default", "primary", "unique", "check", "references", "constraint", "collate", "generated", "autoincrement"];

fn parse_column(definition: &str) -> Option<DdlColumn> {
    let definition = definition.trim();
    let (name, rest) = if let Some(stripped) = definition.strip_prefix(['"', '`', '[']) {
        let end = stripped.find(['"', '`', ']'])?;
        (stripped[..end].to_string(), &stripped[end + 1..])
    } else {
        let end = definition.find(char::is_whitespace).unwrap_or(definition.len());
        let word = &definition[..end];
        if CONSTRAINT_WORDS.contains(&word.to_ascii_lowercase().as_str()) {
            return None;
        }
        (word.to_string(), &definition[end..])
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let type_end = lower.iter().position(|w| CLAUSE_WORDS.contains(&w.as_str())).unwrap_or(words.len());
    let sql_type = words[..type_end].join(" ");
    let not_null = lower.windows(2).any(|w| w[0] == "not" && w[1] == "null") || lower.iter().any(|w| w == "primary");
    let has_default = lower.iter().any(|w| w == "default");
    Some(DdlColumn { name, sql_type, not_null, has_default })
}

/// `varchar(200)` and `VARCHAR (200)` are the same type.
fn normalise_type(t: &str) -> String {
    t.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase()
}

fn finding(severity: FindingSeverity, file: &str, answer: &str, message: String) -> ReviewFinding {
    ReviewFinding { severity, file: file.to_string(), answer: answer.to_string(), message }
}

/// The deterministic contract checks of the generated extension, for every Register:
/// its model, schema and service exist; the model defines the class and the table exactly as
/// the answers name them and declares every answered column (critical); column types,
/// NOT NULL and DEFAULT as answered (warnings); the service takes functional ids from `idgen`
/// and hard-codes no id prefix (critical).
pub fn contract_checks(inputs: &RegistryInputs, files: &[GeneratedFile]) -> Vec<ReviewFinding> {
    use FindingSeverity::Critical;
    let package = inputs.package();
    let find = |path: &str| files.iter().find(|f| f.path == path);
    let mut out = Vec::new();
    let uses_idgen = Regex::new(r"\bidgen\b").expect("valid regex");
    for register in &inputs.registers {
        let module = register.module();
        let table = inputs.table_name(register);
        let class = register.class_name();
        let model_path = format!("{package}/models/{module}.py");
        for kind in ["schemas", "services"] {
            let path = format!("{package}/{kind}/{module}.py");
            if find(&path).is_none() {
                out.push(finding(Critical, &path, "register_mnemonics", format!("`{}` has no {kind} module", register.name)));
            }
        }
        match find(&model_path) {
            None => out.push(finding(Critical, &model_path, "register_mnemonics", format!("`{}` has no model module", register.name))),
            Some(model) => check_model(register, &table, &class, model, &mut out),
        }
        let service_path = format!("{package}/services/{module}.py");
        if let (Some(pattern), Some(service)) = (&register.id_pattern, find(&service_path)) {
            if !uses_idgen.is_match(&service.contents) {
                out.push(finding(
                    Critical,
                    &service_path,
                    "functional_id_encoding_pattern",
                    format!("the service of `{}` does not take its functional ids from idgen", register.name),
                ));
            }
            if !pattern.prefix.is_empty() {
                let after = if pattern.separator.is_empty() { r#"(?:["'{%]|\d)"#.to_string() } else { regex::escape(&pattern.separator) };
                let re = Regex::new(&format!(r#"[fFrRbBuU]{{0,2}}["']{}{after}"#, regex::escape(&pattern.prefix))).expect("valid regex");
                if let Some(m) = re.find(&service.contents) {
                    let line = service.contents[..m.start()].matches('\n').count() + 1;
                    out.push(finding(
                        Critical,
                        &service_path,
                        "functional_id_encoding_pattern",
                        format!(
                            "line {line} hard-codes the id prefix `{}` of `{}`; functional ids must come from idgen",
                            pattern.prefix, register.name
                        ),
                    ));
                }
            }
        }
    }
    if inputs.registers.iter().any(|r| r.id_pattern.is_some()) {
        let path = format!("{package}/idgen.py");
        if find(&path).is_none() {
            out.push(finding(Critical, &path, "functional_id_encoding_pattern", "the identifier generator is missing".to_string()));
        }
    }
    out
}

fn check_model(register: &Register, table: &str, class: &str, model: &GeneratedFile, out: &mut Vec<ReviewFinding>) {
    use FindingSeverity::{Critical, Warning};
    let file = model.path.as_str();
    let class_re = Regex::new(&format!(r"(?m)^class\s+{}\b", regex::escape(class))).expect("valid regex");
    if !class_re.is_match(&model.contents) {
        out.push(finding(
            Critical,
            file,
            "register_mnemonics",
            format!("no class `{class}` (the class name of the mnemonic `{}`)", register.mnemonic),
        ));
    }
    let tables = parse_create_tables(&model.contents);
    for (name, _) in tables.iter().filter(|(name, _)| name != table) {
        out.push(finding(
            Critical,
            file,
            "register_mnemonics",
            format!("creates table `{name}`; the table of `{}` is `{table}`", register.name),
        ));
    }
    let quoted = [format!("\"{table}\""), format!("'{table}'")];
    if tables.is_empty() && !quoted.iter().any(|q| model.contents.contains(q.as_str())) {
        out.push(finding(Critical, file, "register_mnemonics", format!("the table name `{table}` of `{}` appears nowhere", register.name)));
    }
    let ddl = tables.iter().find(|(name, _)| name == table).and_then(|(_, cols)| cols.as_ref());
    let Some(ddl) = ddl else {
        // No DDL to compare with: every column must at least be named in the model.
        for column in &register.columns {
            let re = Regex::new(&format!(r"\b{}\b", regex::escape(&column.name))).expect("valid regex");
            if !re.is_match(&model.contents) {
                out.push(finding(
                    Critical,
                    file,
                    "register_columns",
                    format!("column `{}` of `{}` is missing from the model", column.name, register.name),
                ));
            }
        }
        out.push(finding(
            Warning,
            file,
            "register_columns",
            format!("no CREATE TABLE for `{table}`, so column types and constraints are not checked"),
        ));
        return;
    };
    for column in &register.columns {
        let Some(declared) = ddl.iter().find(|d| d.name.eq_ignore_ascii_case(&column.name)) else {
            out.push(finding(
                Critical,
                file,
                "register_columns",
                format!("column `{}` of `{}` is missing from the model's CREATE TABLE", column.name, register.name),
            ));
            continue;
        };
        if normalise_type(&declared.sql_type) != normalise_type(&column.sql_type) {
            out.push(finding(
                Warning,
                file,
                "register_columns",
                format!("column `{}` is declared `{}`; the answer says `{}`", column.name, declared.sql_type, column.sql_type),
            ));
        }
        if declared.not_null == column.nullable {
            let (said, is) = if column.nullable { ("nullable", "NOT NULL") } else { ("NOT NULL", "nullable") };
            out.push(finding(Warning, file, "attribute_constraints", format!("column `{}` is {is}; the answer says {said}", column.name)));
        }
        let wants_default = sql_default(column).is_some();
        if declared.has_default != wants_default {
            let message = if wants_default {
                format!("column `{}` has no DEFAULT; the answer gives one", column.name)
            } else {
                format!("column `{}` has a DEFAULT the answers do not give", column.name)
            };
            out.push(finding(Warning, file, "attribute_constraints", message));
        }
    }
    for declared in ddl {
        let known = RESERVED_COLUMNS.contains(&declared.name.as_str())
            || register.columns.iter().any(|c| c.name.eq_ignore_ascii_case(&declared.name));
        if !known {
            out.push(finding(
                Warning,
                file,
                "register_columns",
                format!("column `{}` is not in the answers for `{}`", declared.name, register.name),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use playbook_core::case::Case;

    fn demo() -> RegistryInputs {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo/working_case.yaml")).unwrap();
        RegistryInputs::from_case(&Case::parse(&text)).unwrap()
    }

    fn generate(inputs: &RegistryInputs, reference: &[GeneratedFile]) -> Vec<GeneratedFile> {
        let log = |_: String| {};
        let mut files = Vec::new();
        for register in &inputs.registers {
            let request = RegisterRequest { inputs, register, reference };
            files.extend(TemplateProvider.generate_register(&request, &log).unwrap().value);
        }
        files
    }

    #[test]
    fn the_template_provider_is_deterministic() {
        let inputs = demo();
        let reference = [GeneratedFile {
            path: "registry_extension/models/example.py".into(),
            contents: "# SPDX-License-Identifier: MPL-2.0\n\"\"\"x\"\"\"\n".into(),
        }];
        let first = generate(&inputs, &reference);
        let second = generate(&demo(), &reference);
        assert_eq!(first, second);
        assert_eq!(first.len(), 9);
        let model = &first[0];
        assert_eq!(model.path, "mosd_aurelia_households/models/household.py");
        assert!(model.contents.starts_with("# SPDX-License-Identifier: MPL-2.0\n"), "{}", model.contents);
        assert!(model.contents.contains("\"registered_on\" date NOT NULL DEFAULT CURRENT_DATE"), "{}", model.contents);
        assert!(model.contents.contains("class Household:"));
        // The schema file of Households carries no reference header (none for schemas given).
        assert!(first[1].contents.starts_with("# Generated by the registry build"));
    }

    #[test]
    fn generated_files_pass_the_contract_checks_and_drifts_are_found() {
        let inputs = demo();
        let mut files = generate(&inputs, &[]);
        files.push(GeneratedFile { path: "mosd_aurelia_households/idgen.py".into(), contents: String::new() });
        assert_eq!(contract_checks(&inputs, &files), Vec::<ReviewFinding>::new());

        let model = files.iter_mut().find(|f| f.path.ends_with("models/individual.py")).unwrap();
        model.contents = model.contents.replace("\"sex\" varchar(16)", "\"sex\" text NOT NULL").replace("given_name", "first_name");
        let service = files.iter_mut().find(|f| f.path.ends_with("services/household.py")).unwrap();
        service.contents.push_str("\nPREFIX = \"HH-\"\n");
        let findings = contract_checks(&inputs, &files);
        let summary: Vec<_> = findings.iter().map(|f| (f.severity, f.answer.as_str(), f.message.as_str())).collect();
        assert!(
            summary.contains(&(
                FindingSeverity::Critical,
                "register_columns",
                "column `given_name` of `Individuals` is missing from the model's CREATE TABLE"
            )),
            "{summary:#?}"
        );
        assert!(
            summary
                .iter()
                .any(|(s, a, m)| *s == FindingSeverity::Warning && *a == "register_columns" && m.contains("`sex` is declared `text`")),
            "{summary:#?}"
        );
        assert!(summary.iter().any(|(s, a, _)| *s == FindingSeverity::Warning && *a == "attribute_constraints"), "{summary:#?}");
        assert!(
            summary.iter().any(|(s, a, m)| *s == FindingSeverity::Critical && *a == "functional_id_encoding_pattern" && m.contains("`HH`")),
            "{summary:#?}"
        );
    }

    #[test]
    fn a_wrong_table_name_is_critical() {
        let inputs = demo();
        let mut files = generate(&inputs, &[]);
        let model = files.iter_mut().find(|f| f.path.ends_with("models/household.py")).unwrap();
        model.contents = model.contents.replace("aurelia_households_household", "households");
        let findings = contract_checks(&inputs, &files);
        assert!(
            findings.iter().any(|f| f.severity == FindingSeverity::Critical
                && f.file == "mosd_aurelia_households/models/household.py"
                && f.message.contains("creates table `households`")),
            "{findings:#?}"
        );
    }

    #[test]
    fn families_defaults_and_unsafe_names() {
        assert_eq!(type_family("VARCHAR(200)"), (Family::Text, Some(200)));
        assert_eq!(type_family("numeric(10,2)").0, Family::Number);
        assert_eq!(type_family("timestamp with time zone").0, Family::DateTime);
        assert_eq!(type_family("geometry").0, Family::Any);
        let col = |t: &str, d: Value| Column { name: "x".into(), sql_type: t.into(), nullable: true, default: d };
        assert_eq!(sql_default(&col("date", "now()".into())).as_deref(), Some("CURRENT_DATE"));
        assert_eq!(sql_default(&col("timestamp", "now()".into())).as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(sql_default(&col("varchar(3)", "it's".into())).as_deref(), Some("'it''s'"));
        assert_eq!(sql_default(&col("integer", "5".into())).as_deref(), Some("5"));
        let mut register = demo().registers[0].clone();
        register.columns[0].name = "class".into();
        assert!(check_register(&register).unwrap_err().contains("`Households.class`"));
        register.columns[0].name = "ok".into();
        register.columns[0].sql_type = "text); DROP TABLE x; --".into();
        assert!(check_register(&register).unwrap_err().contains("not a plain SQL type"));
    }
}
