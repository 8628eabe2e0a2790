//! What the chat provider asks: the messages of one Register's call and of the review, and
//! the two function tools the model must answer with.

use crate::handlers::codegen::{GeneratedFile, RegisterRequest, ReviewRequest};
use crate::handlers::inputs::{DbConstraint, Register, RegistryInputs};
use serde_json::{Value, json};
use std::fmt::Write;

pub const SUBMIT_FILES: &str = "submit_files";
pub const SUBMIT_FINDINGS: &str = "submit_findings";

/// The three files of one Register, relative to `extension/`: model, schema, service.
pub fn register_paths(inputs: &RegistryInputs, register: &Register) -> [String; 3] {
    let package = inputs.package();
    let module = register.module();
    [format!("{package}/models/{module}.py"), format!("{package}/schemas/{module}.py"), format!("{package}/services/{module}.py")]
}

pub fn submit_files_tool() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": SUBMIT_FILES,
            "description": "Submit every file written for this Register, each with its full contents.",
            "parameters": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string", "description": "Relative to extension/, inside the package, e.g. pkg/models/household.py"},
                                "contents": {"type": "string", "description": "The whole file"}
                            },
                            "required": ["path", "contents"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["files"],
                "additionalProperties": false
            }
        }
    })
}

pub fn submit_findings_tool() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": SUBMIT_FINDINGS,
            "description": "Submit every finding of the review; an empty list when the code matches the answers.",
            "parameters": {
                "type": "object",
                "properties": {
                    "findings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "severity": {"type": "string", "enum": ["critical", "warning"], "description": "critical: contradicts an answer or the contract, or will not run; warning: anything else worth fixing"},
                                "file": {"type": "string", "description": "Relative to extension/"},
                                "answer": {"type": "string", "description": "The Discovery item it contradicts, e.g. register_columns"},
                                "message": {"type": "string", "description": "What is wrong and what it should be"}
                            },
                            "required": ["severity", "file", "answer", "message"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["findings"],
                "additionalProperties": false
            }
        }
    })
}

/// Forces the model to answer with the named function.
pub fn tool_choice(name: &str) -> Value {
    json!({"type": "function", "function": {"name": name}})
}

const GENERATE_SYSTEM: &str = "You write the Python source of one Register of a registry extension package. \
Python 3.11, standard library only: no third-party imports. Data lives in SQLite through the sqlite3 module. \
Follow the reference example files exactly in layout, imports, function names and style, adapting only the names, \
columns and constraints to the Register you are given. Use exactly the table, class, module and file names given. \
Answer only by calling the submit_files function once, with every file and its full contents.";

const REVIEW_SYSTEM: &str = "You review a generated registry extension package against the answers it was generated from. \
Report a critical finding for anything that contradicts an answer or the contract (a missing or extra column, a wrong type, \
nullability or default, a wrong table or class name, a third-party import, code that cannot run) and a warning for anything \
else worth fixing. Name the file and the answer (Discovery item id) each finding is about. \
Answer only by calling the submit_findings function once; an empty list when nothing is wrong.";

/// The messages of one Register's call.
pub fn register_messages(request: &RegisterRequest<'_>) -> Value {
    let inputs = request.inputs;
    let register = request.register;
    let package = inputs.package();
    let [model, schema, service] = register_paths(inputs, register);
    let mut text = String::new();
    let _ = writeln!(text, "Registry: {} (`{}`), organisation `{}`.", inputs.registry_name, inputs.registry, inputs.organisation);
    let _ = writeln!(
        text,
        "Package: `{package}` at extension/{package}/ (imported with PYTHONPATH=extension). Every path you submit is relative to extension/ and must start with `{package}/`."
    );
    let _ = writeln!(text);
    let _ = writeln!(text, "{}", register_contract(inputs, register));
    let _ = writeln!(text, "Write exactly these three files:");
    let _ = writeln!(
        text,
        "- `{model}`: the model class `{}` for table `{}`, one attribute per column.",
        register.class_name(),
        inputs.table_name(register)
    );
    let _ = writeln!(
        text,
        "- `{schema}`: validation of request bodies: unknown column, wrong type, or a NOT NULL column without default missing are errors."
    );
    let _ = writeln!(text, "- `{service}`: create, get, partial update and list of records in table `{}`.", inputs.table_name(register));
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "The HTTP API (served by the package's shared server, not by these files): POST /api/{seg} with the column values → 201 the record \
         (integer `id`, every column{fid}); GET /api/{seg}/<id> → 200 or 404; PUT /api/{seg}/<id> partial update → 200 the record; \
         GET /api/{seg} → 200 {{\"items\": [...]}}; an invalid body → 422 {{\"errors\": [\"...\"]}}.",
        seg = register.path_segment(),
        fid = if register.id_pattern.is_some() { ", and `functional_id`" } else { "" },
    );
    if request.reference.is_empty() {
        let _ = writeln!(text, "\nNo reference example files are available: keep the three files small and self-contained.");
    } else {
        let _ = writeln!(text, "\nReference example files (another Register of the reference registry; follow them):");
        push_files(&mut text, request.reference);
    }
    json!([
        {"role": "system", "content": GENERATE_SYSTEM},
        {"role": "user", "content": text},
    ])
}

/// The messages of the review call.
pub fn review_messages(request: &ReviewRequest<'_>) -> Value {
    let inputs = request.inputs;
    let mut text = String::new();
    let _ = writeln!(text, "Package: `{}` (paths relative to extension/). Python 3.11, standard library only.", inputs.package());
    let _ = writeln!(text, "\nThe answers, per table:\n");
    for register in &inputs.registers {
        let _ = writeln!(text, "{}", register_contract(inputs, register));
    }
    let _ = writeln!(text, "The files:");
    push_files(&mut text, request.files);
    json!([
        {"role": "system", "content": REVIEW_SYSTEM},
        {"role": "user", "content": text},
    ])
}

/// One Register's answers and required names, as the prompt states them.
fn register_contract(inputs: &RegistryInputs, register: &Register) -> String {
    let mut text = String::new();
    let kind = if register.supporting { "a supporting table" } else { "a Register" };
    let _ = writeln!(text, "{} ({kind}, mnemonic `{}`):", register.name, register.mnemonic);
    let _ = writeln!(text, "- table name (exactly): `{}`", inputs.table_name(register));
    let _ = writeln!(text, "- class name (exactly): `{}`", register.class_name());
    let _ = writeln!(text, "- module: `{}`", register.module());
    let _ = writeln!(text, "- columns (register_columns, attribute_constraints), besides the integer primary key `id`:");
    for column in &register.columns {
        let null = if column.nullable { "NULL allowed" } else { "NOT NULL" };
        let default = match &column.default {
            Value::Null => "no default".to_string(),
            Value::String(s) if s.ends_with("()") => format!("default {s} (SQL)"),
            other => format!("default {other}"),
        };
        let _ = writeln!(text, "  - `{}`: {}, {null}, {default}", column.name, column.sql_type);
    }
    if let Some(p) = &register.id_pattern {
        let _ = writeln!(
            text,
            "- functional identifier (functional_id_encoding_pattern), column `functional_id`: prefix {:?}, separator {:?}, body {} of length {}, suffix {:?}",
            p.prefix, p.separator, p.body_kind, p.body_length, p.suffix
        );
    }
    let constraints: Vec<String> = inputs
        .constraints
        .iter()
        .filter_map(|c| match c {
            DbConstraint::ForeignKey { table, column, references } if table == &register.name => {
                Some(format!("foreign key `{column}` references {references}"))
            }
            DbConstraint::Unique { table, columns } if table == &register.name => Some(format!("unique ({})", columns.join(", "))),
            DbConstraint::Check { table, expression } if table == &register.name => Some(format!("check ({expression})")),
            _ => None,
        })
        .collect();
    if !constraints.is_empty() {
        let _ = writeln!(text, "- database constraints (database_constraints): {}", constraints.join("; "));
    }
    text
}

fn push_files(text: &mut String, files: &[GeneratedFile]) {
    for file in files {
        let _ = writeln!(text, "\n--- {} ---\n{}", file.path, file.contents.trim_end());
    }
}
