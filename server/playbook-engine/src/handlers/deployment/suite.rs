//! The pytest suite under `deployment/tests/`: an API module per Register (httpx), a browser
//! module for the staff portal (pytest-playwright), the shared request bodies, fixtures and
//! settings. Bodies satisfy NOT NULL, simple CHECK constraints, UNIQUE columns and foreign keys
//! (a parent is created first through the API and its `id` used).

use super::portal::{input_kind, max_length};
use crate::handlers::inputs::{Column, DbConstraint, IdPattern, Register, RegistryInputs, layout};
use std::collections::BTreeSet;

/// A Python string literal (JSON's escapes are valid Python).
fn py(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// Bounds and choices a CHECK expression puts on one column.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Bounds {
    /// (value, inclusive)
    pub min: Option<(f64, bool)>,
    pub max: Option<(f64, bool)>,
    pub choices: Vec<String>,
    pub not_equal: Vec<f64>,
}

fn literal(token: &str) -> Option<String> {
    let t = token.trim();
    let unquoted = t.strip_prefix('\'').and_then(|t| t.strip_suffix('\''));
    unquoted.map(|u| u.replace("''", "'")).or_else(|| t.parse::<f64>().ok().map(|_| t.to_string()))
}

/// Read the simple shapes of CHECK expressions for `column`: `col > 0`, `0 <= col`,
/// `col between 1 and 9`, `col in ('a', 'b')`, `col <> 0`, joined by `and`. Others are ignored.
pub fn bounds(expressions: &[&str], column: &str) -> Bounds {
    let mut b = Bounds::default();
    for expression in expressions {
        let lower = expression.to_ascii_lowercase();
        let col = column.to_ascii_lowercase();
        // BETWEEN first: its `and` is not a conjunction.
        let mut rest = lower.clone();
        let between = format!("{col} between ");
        if let Some(at) = rest.find(&between) {
            let after = rest[at + between.len()..].to_string();
            let mut parts = after.splitn(2, " and ");
            let low = parts.next().and_then(|p| p.trim().parse::<f64>().ok());
            let high = parts.next().and_then(|p| p.split_whitespace().next()).and_then(|p| p.trim().parse::<f64>().ok());
            if let (Some(low), Some(high)) = (low, high) {
                b.min = Some((low, true));
                b.max = Some((high, true));
            }
            rest.replace_range(at.., "");
        }
        for clause in rest.split(" and ") {
            let clause = clause.trim().trim_start_matches('(').trim_end_matches(')').trim();
            let in_list = format!("{col} in");
            if let Some(list) = clause.strip_prefix(&in_list) {
                let original = &expression[expression.to_ascii_lowercase().find(list.trim()).unwrap_or(0)..];
                let inner = original.trim().trim_start_matches('(');
                let inner = inner.split(')').next().unwrap_or("");
                b.choices = inner.split(',').filter_map(literal).collect();
                continue;
            }
            for op in ["<=", ">=", "<>", "!=", "<", ">", "="] {
                let Some((left, right)) = clause.split_once(op) else { continue };
                let (left, right) = (left.trim(), right.trim());
                let (value, op) = if left == col {
                    (right.parse::<f64>().ok(), op)
                } else if right == col {
                    let flipped = match op {
                        "<" => ">",
                        ">" => "<",
                        "<=" => ">=",
                        ">=" => "<=",
                        other => other,
                    };
                    (left.parse::<f64>().ok(), flipped)
                } else {
                    break;
                };
                if let Some(v) = value {
                    match op {
                        ">" => b.min = Some((v, false)),
                        ">=" => b.min = Some((v, true)),
                        "<" => b.max = Some((v, false)),
                        "<=" => b.max = Some((v, true)),
                        "=" => {
                            b.min = Some((v, true));
                            b.max = Some((v, true));
                        }
                        _ => b.not_equal.push(v),
                    }
                }
                break;
            }
        }
    }
    b
}

/// An integer inside the bounds, as close to `preferred` as they allow.
pub fn integer_in(b: &Bounds, preferred: i64) -> i64 {
    let mut v = preferred;
    if let Some((min, inclusive)) = b.min {
        let low = if inclusive { min.ceil() as i64 } else { min.floor() as i64 + 1 };
        v = v.max(low);
    }
    if let Some((max, inclusive)) = b.max {
        let high = if inclusive { max.floor() as i64 } else { max.ceil() as i64 - 1 };
        v = v.min(high);
    }
    while b.not_equal.contains(&(v as f64)) {
        v += 1;
    }
    v
}

fn number_in(b: &Bounds) -> f64 {
    let mut v = 1.5;
    if let Some((min, _)) = b.min
        && v <= min
    {
        v = min + 0.5;
    }
    if let Some((max, _)) = b.max
        && v >= max
    {
        v = b.min.map_or(max - 0.5, |(min, _)| (min + max) / 2.0);
    }
    v
}

fn python_float(v: f64) -> String {
    let text = format!("{v}");
    if text.contains('.') || text.contains('e') { text } else { format!("{text}.0") }
}

/// How one column's value is made in Python.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// A Python expression for a fresh value.
    Expr(String),
    /// The id of a parent record of this Register.
    Parent(String),
}

struct Plan<'a> {
    inputs: &'a RegistryInputs,
}

impl<'a> Plan<'a> {
    fn checks(&self, register: &Register) -> Vec<&'a str> {
        self.inputs
            .constraints
            .iter()
            .filter_map(|c| match c {
                DbConstraint::Check { table, expression } if *table == register.name => Some(expression.as_str()),
                _ => None,
            })
            .collect()
    }

    fn unique(&self, register: &Register, column: &str) -> bool {
        self.inputs
            .constraints
            .iter()
            .any(|c| matches!(c, DbConstraint::Unique { table, columns } if *table == register.name && columns.iter().any(|c| c == column)))
    }

    /// The Register a column references, by `database_constraints`.
    fn parent(&self, register: &Register, column: &str) -> Result<Option<&'a Register>, String> {
        for c in &self.inputs.constraints {
            if let DbConstraint::ForeignKey { table, column: col, references } = c
                && *table == register.name
                && col == column
            {
                let target = references.split(['.', '(']).next().unwrap_or(references).trim();
                return self.inputs.registers.iter().find(|r| r.name == target || r.mnemonic == target).map(Some).ok_or_else(|| {
                    format!(
                        "database_constraints: {}.{column} references `{references}`, which is not a Register or supporting table",
                        register.name
                    )
                });
            }
        }
        Ok(None)
    }

    fn value(&self, register: &Register, column: &Column) -> Result<Value, String> {
        if let Some(parent) = self.parent(register, &column.name)? {
            return Ok(Value::Parent(parent.module()));
        }
        let b = bounds(&self.checks(register), &column.name);
        if let Some(choice) = b.choices.first() {
            let (_, kind) = input_kind(&column.sql_type);
            return Ok(Value::Expr(if kind == "text" { py(choice) } else { choice.clone() }));
        }
        let t = column.sql_type.to_ascii_lowercase();
        let base = t.split(['(', ' ']).next().unwrap_or("");
        let unique = self.unique(register, &column.name);
        let expr = match input_kind(&column.sql_type) {
            (_, "integer") if unique => format!("unique_int({})", integer_in(&b, 1)),
            (_, "integer") => integer_in(&b, 1).to_string(),
            (_, "number") => python_float(number_in(&b)),
            (_, "boolean") => "True".into(),
            ("date", _) => py("2024-01-15"),
            ("datetime-local", _) => py("2024-01-15T10:30:00"),
            ("time", _) => py("10:30:00"),
            _ if base == "uuid" => "str(uuid.uuid4())".into(),
            _ if base == "json" || base == "jsonb" => "{\"note\": \"test\"}".into(),
            _ => match max_length(&column.sql_type) {
                Some(n) => format!("text({}, {n})", py(&column.name)),
                None => format!("text({})", py(&column.name)),
            },
        };
        Ok(Value::Expr(expr))
    }

    /// Parents needed, checked for cycles through NOT NULL foreign keys.
    fn check_cycles(&self, register: &Register, path: &mut Vec<String>) -> Result<(), String> {
        if path.contains(&register.name) {
            path.push(register.name.clone());
            return Err(format!(
                "database_constraints: the required foreign keys form a cycle ({}); no record could be created first",
                path.join(" → ")
            ));
        }
        path.push(register.name.clone());
        for column in register.columns.iter().filter(|c| !c.nullable) {
            if let Some(parent) = self.parent(register, &column.name)? {
                self.check_cycles(parent, path)?;
            }
        }
        path.pop();
        Ok(())
    }

    /// Whether `from` reaches `to` through foreign keys.
    fn reaches(&self, from: &Register, to: &Register, seen: &mut Vec<String>) -> bool {
        if from.name == to.name {
            return true;
        }
        if seen.contains(&from.name) {
            return false;
        }
        seen.push(from.name.clone());
        from.columns.iter().any(|c| matches!(self.parent(from, &c.name), Ok(Some(p)) if self.reaches(p, to, seen)))
    }

    /// The columns of a valid body: every column, except a nullable foreign key whose parent
    /// leads back here (it would need this record first).
    fn body_columns(&self, register: &'a Register) -> Result<Vec<(&'a Column, Value)>, String> {
        self.check_cycles(register, &mut Vec::new())?;
        let mut out = Vec::new();
        for column in &register.columns {
            let value = self.value(register, column)?;
            if let Value::Parent(_) = &value
                && column.nullable
                && let Some(parent) = self.parent(register, &column.name)?
                && self.reaches(parent, register, &mut Vec::new())
            {
                continue;
            }
            out.push((column, value));
        }
        Ok(out)
    }
}

fn required(column: &Column) -> bool {
    !column.nullable && column.default.is_null()
}

/// `^HH-[0-9]{8}$` as Python source (`re.escape` of the literal parts).
fn id_regex(p: &IdPattern) -> String {
    let n = p.body_length;
    let body = match p.body_kind.as_str() {
        "random" => format!("[A-Za-z0-9]{{{n}}}"),
        "year_seq" => format!("[0-9]{{4}}(?:\" + re.escape({sep}) + \")?[0-9]{{{n}}}", sep = py(&p.separator)),
        _ => format!("[0-9]{{{n}}}"),
    };
    let mut expr = String::from("\"^\"");
    if !p.prefix.is_empty() {
        expr.push_str(&format!(" + re.escape({}) + re.escape({})", py(&p.prefix), py(&p.separator)));
    }
    expr.push_str(&format!(" + \"{body}\""));
    if !p.suffix.is_empty() {
        expr.push_str(&format!(" + re.escape({}) + re.escape({})", py(&p.separator), py(&p.suffix)));
    }
    expr.push_str(" + \"$\"");
    expr
}

const HEADER: &str = "# Generated by the registry playbook (generate_test_suite); regenerated on every build.\n";

fn data_module(inputs: &RegistryInputs, plan: &Plan<'_>) -> Result<String, String> {
    let mut out = format!(
        r#"{HEADER}"""Valid request bodies for every Register of {name}, and small helpers.

Values follow the column types, NOT NULL columns, simple CHECK constraints and UNIQUE
columns; a foreign key gets a parent record created through the API first.
"""
import random
import uuid


def text(name, max_length=None):
    """A fresh, unique text value that fits the column."""
    token = uuid.uuid4().hex
    value = "%s %s" % (name, token[:12])
    if max_length is not None and len(value) > max_length:
        value = token[:max_length] if max_length < 16 else "%s %s" % (name[: max_length - 13], token[:12])
    return value


def unique_int(low):
    """An integer for a UNIQUE column, at least `low`."""
    return low + random.randrange(0, 1_000_000_000)


def create(client, segment, body):
    """POST a body and return the created record (the test fails with the API's answer otherwise)."""
    response = client.post("/api/%s" % segment, json=body)
    assert response.status_code == 201, "POST /api/%s %r -> %s %s" % (segment, body, response.status_code, response.text)
    return response.json()


def same(actual, expected):
    """Equal as JSON values, or as text (dates and numbers may come back normalised)."""
    return actual == expected or str(actual) == str(expected)
"#,
        name = inputs.registry_name
    );
    for register in &inputs.registers {
        let columns = plan.body_columns(register)?;
        out.push_str(&format!(
            "\n\ndef body_{m}(client):\n    \"\"\"A valid body for POST /api/{seg}.\"\"\"\n",
            m = register.module(),
            seg = register.path_segment()
        ));
        let mut fields = String::new();
        for (column, value) in &columns {
            let expr = match value {
                Value::Expr(expr) => expr.clone(),
                Value::Parent(parent) => {
                    let var = format!("parent_{}", super::super::inputs::snake(&column.name));
                    let segment = inputs.registers.iter().find(|r| r.module() == *parent).map_or(parent.as_str(), |r| r.path_segment());
                    out.push_str(&format!("    {var} = create(client, {}, body_{parent}(client))\n", py(segment)));
                    format!("{var}[\"id\"]")
                }
            };
            fields.push_str(&format!("        {}: {expr},\n", py(&column.name)));
        }
        out.push_str(&format!("    return {{\n{fields}    }}\n"));
    }
    Ok(out)
}

/// A column the update test can change, and the Python expression of its new value.
fn update_column<'c>(plan: &Plan<'_>, register: &Register, columns: &[(&'c Column, Value)]) -> Option<(&'c Column, String)> {
    let b = |c: &Column| bounds(&plan.checks(register), &c.name);
    columns.iter().find_map(|(column, value)| {
        let Value::Expr(_) = value else { return None };
        if !b(column).choices.is_empty() {
            return None;
        }
        let new = match input_kind(&column.sql_type) {
            ("date", _) => py("2024-02-20"),
            ("datetime-local", _) => py("2024-02-20T08:15:00"),
            ("time", _) => py("08:15:00"),
            (_, "boolean") => "False".into(),
            (_, "integer") => {
                let bounds = b(column);
                let current = integer_in(&bounds, 1);
                let next = integer_in(&bounds, current + 1);
                if next == current || plan.unique(register, &column.name) {
                    return None;
                }
                next.to_string()
            }
            (_, "number") => return None,
            _ => {
                let t = column.sql_type.to_ascii_lowercase();
                if t.starts_with("uuid") || t.starts_with("json") {
                    return None;
                }
                match max_length(&column.sql_type) {
                    Some(n) => format!("data.text({}, {n})", py(&column.name)),
                    None => format!("data.text({})", py(&column.name)),
                }
            }
        };
        Some((*column, new))
    })
}

fn api_module(inputs: &RegistryInputs, plan: &Plan<'_>, register: &Register) -> Result<String, String> {
    let m = register.module();
    let seg = register.path_segment();
    let columns = plan.body_columns(register)?;
    let required: Vec<&str> = register.columns.iter().filter(|c| required(c)).map(|c| c.name.as_str()).collect();
    let required_list = required.iter().map(|c| py(c)).collect::<Vec<_>>().join(", ");
    let mut out = format!(
        r#"{HEADER}"""API tests of {name} (`/api/{seg}`): create, read, update, list, validation{id_note}."""
import re

import pytest

import registry_data as data

pytestmark = pytest.mark.api

SEGMENT = {seg_py}
REQUIRED = [{required_list}]


def created(client):
    body = data.body_{m}(client)
    return body, data.create(client, SEGMENT, body)


def test_create_returns_the_record_with_an_id_and_every_column(client):
    body, record = created(client)
    assert isinstance(record.get("id"), int), record
    for column, value in body.items():
        assert column in record, "%s missing from %r" % (column, record)
        assert data.same(record[column], value), "%s: sent %r, got %r" % (column, value, record[column])


def test_read_returns_the_created_record(client):
    _, record = created(client)
    response = client.get("/api/%s/%s" % (SEGMENT, record["id"]))
    assert response.status_code == 200, response.text
    assert response.json() == record


def test_read_of_an_unknown_id_is_404(client):
    response = client.get("/api/%s/%s" % (SEGMENT, 2_000_000_000))
    assert response.status_code == 404, response.text


def test_list_contains_the_created_record(client):
    _, record = created(client)
    response = client.get("/api/%s" % SEGMENT)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert isinstance(items, list)
    assert record["id"] in [item["id"] for item in items]


@pytest.mark.parametrize("column", REQUIRED or [pytest.param(None, marks=pytest.mark.skip(reason="no required column"))])
def test_a_missing_required_column_is_422(client, column):
    body = data.body_{m}(client)
    del body[column]
    response = client.post("/api/%s" % SEGMENT, json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert isinstance(errors, list) and errors, response.text


def test_an_unknown_column_is_422(client):
    body = data.body_{m}(client)
    body["no_such_column_in_{m}"] = "x"
    response = client.post("/api/%s" % SEGMENT, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"], response.text
"#,
        name = register.name,
        seg_py = py(seg),
        id_note = if register.id_pattern.is_some() { ", functional id format" } else { "" },
    );
    if let Some((column, new)) = update_column(plan, register, &columns) {
        out.push_str(&format!(
            r#"

def test_update_changes_only_the_given_column(client):
    body, record = created(client)
    new = {new}
    response = client.put("/api/%s/%s" % (SEGMENT, record["id"]), json={{{col}: new}})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert data.same(updated[{col}], new), updated
    for column, value in body.items():
        if column != {col}:
            assert data.same(updated[column], value), "%s changed: %r -> %r" % (column, value, updated[column])
    again = client.get("/api/%s/%s" % (SEGMENT, record["id"])).json()
    assert data.same(again[{col}], new), again
"#,
            col = py(&column.name)
        ));
    } else {
        out.push_str(
            r#"

def test_update_with_the_same_values_returns_the_record(client):
    body, record = created(client)
    response = client.put("/api/%s/%s" % (SEGMENT, record["id"]), json=body)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == record["id"]
"#,
        );
    }
    if let Some(pattern) = &register.id_pattern {
        out.push_str(&format!(
            r#"

# {kind} body of {len}: prefix {prefix}, separator {sep}, suffix {suffix} (functional_id_encoding_pattern).
FUNCTIONAL_ID = re.compile({regex})


def test_the_functional_id_follows_the_encoding_pattern_and_is_unique(client):
    _, first = created(client)
    _, second = created(client)
    for record in (first, second):
        assert FUNCTIONAL_ID.match(str(record.get("functional_id"))), "functional_id %r does not match %s" % (record.get("functional_id"), FUNCTIONAL_ID.pattern)
    assert first["functional_id"] != second["functional_id"]
"#,
            kind = pattern.body_kind,
            len = pattern.body_length,
            prefix = py(&pattern.prefix),
            sep = py(&pattern.separator),
            suffix = py(&pattern.suffix),
            regex = id_regex(pattern),
        ));
    }
    let _ = inputs;
    Ok(out)
}

fn ui_module(inputs: &RegistryInputs, plan: &Plan<'_>) -> Result<String, String> {
    let registers = inputs.registers.iter().map(|r| format!("    ({}, {}),\n", py(r.path_segment()), py(&r.name))).collect::<String>();
    // The form test uses the first Register (not a supporting table), else the first table.
    let target = inputs.registers.iter().find(|r| !r.supporting).or(inputs.registers.first()).ok_or("no Register to test")?;
    let columns = plan.body_columns(target)?;
    let checkboxes: Vec<String> =
        columns.iter().filter(|(c, _)| input_kind(&c.sql_type).1 == "boolean").map(|(c, _)| py(&c.name)).collect();
    let marker = columns
        .iter()
        .find(|(c, v)| matches!(v, Value::Expr(e) if e.starts_with("text(")) && input_kind(&c.sql_type).1 == "text")
        .map(|(c, _)| py(&c.name));
    let check_listed = match &marker {
        Some(col) => format!("    expect(page.get_by_test_id(\"rows-\" + SEGMENT)).to_contain_text(str(body[{col}]))\n"),
        None => "    expect(page.locator(\"[data-testid='rows-%s'] tr\" % SEGMENT)).not_to_have_count(0)\n".to_string(),
    };
    Ok(format!(
        r#"{HEADER}"""Browser tests of the staff portal: every Register is shown, a record created through the
form is listed."""
import pytest
from playwright.sync_api import Page, expect

import registry_data as data

pytestmark = pytest.mark.ui

TITLE = {title}
REGISTERS = [
{registers}]
SEGMENT = {seg}
CHECKBOXES = [{checkboxes}]


def test_the_portal_shows_every_register(page: Page, ui_url):
    page.goto(ui_url)
    expect(page.get_by_test_id("portal-title")).to_have_text(TITLE)
    for segment, name in REGISTERS:
        expect(page.get_by_test_id("title-" + segment)).to_have_text(name)
        expect(page.get_by_test_id("form-" + segment)).to_be_visible()
        # The table was filled from the API (the page reached it through config.js).
        expect(page.get_by_test_id("register-" + segment)).to_have_attribute("data-loaded", "true")


def test_a_record_created_through_the_form_is_listed(page: Page, ui_url, client):
    body = data.body_{module}(client)
    page.goto(ui_url)
    expect(page.get_by_test_id("register-" + SEGMENT)).to_have_attribute("data-loaded", "true")
    for column, value in body.items():
        field = page.get_by_test_id("input-%s-%s" % (SEGMENT, column))
        if column in CHECKBOXES:
            field.set_checked(bool(value))
        else:
            field.fill(str(value))
    page.get_by_test_id("submit-" + SEGMENT).click()
    expect(page.get_by_test_id("status-" + SEGMENT)).to_contain_text("Created")
{check_listed}"#,
        title = py(&inputs.registry_name),
        seg = py(target.path_segment()),
        module = target.module(),
        checkboxes = checkboxes.join(", "),
    ))
}

const CONFTEST: &str = r#"# Generated by the registry playbook (generate_test_suite); regenerated on every build.
"""Fixtures: the sandbox URLs (SANDBOX_API_URL, SANDBOX_UI_URL), an httpx client for the API,
and the browser launch for pytest-playwright (PLAYWRIGHT_CHROMIUM_EXECUTABLE, --no-sandbox)."""
import os

import httpx
import pytest

DEFAULT_API_URL = "http://127.0.0.1:18080"
DEFAULT_UI_URL = "http://127.0.0.1:18081"


@pytest.fixture(scope="session")
def api_url():
    return os.environ.get("SANDBOX_API_URL", DEFAULT_API_URL).rstrip("/")


@pytest.fixture(scope="session")
def ui_url():
    return os.environ.get("SANDBOX_UI_URL", DEFAULT_UI_URL).rstrip("/") + "/"


@pytest.fixture(scope="session")
def client(api_url):
    with httpx.Client(base_url=api_url, timeout=15.0) as session:
        yield session


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Headless, without Chromium's sandbox (containers, root), and the system's Chromium when
    PLAYWRIGHT_CHROMIUM_EXECUTABLE names one."""
    args = dict(browser_type_launch_args)
    args["headless"] = True
    args["args"] = [*args.get("args", []), "--no-sandbox"]
    executable = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
    if executable:
        args["executable_path"] = executable
    return args
"#;

const PYTEST_INI: &str = "# Generated by the registry playbook (generate_test_suite).
[pytest]
pythonpath = .
addopts = -ra --strict-markers
markers =
    api: API tests against SANDBOX_API_URL (httpx)
    ui: staff-portal browser tests against SANDBOX_UI_URL (pytest-playwright)
";

/// Versions verified to install together on Python 3.11.
const REQUIREMENTS: &str = "pytest==9.2.0\nhttpx==0.28.1\npytest-playwright==0.10.0\n";

/// Every file of `deployment/tests/` (paths relative to the workspace), in a fixed order.
pub fn test_files(inputs: &RegistryInputs) -> Result<Vec<(String, Vec<u8>)>, String> {
    if inputs.registers.is_empty() {
        return Err("register_mnemonics names no Register: there is nothing to test".into());
    }
    let plan = Plan { inputs };
    let dir = layout::TESTS;
    let mut modules = BTreeSet::new();
    let mut files = vec![
        (format!("{dir}/conftest.py"), CONFTEST.to_string()),
        (format!("{dir}/pytest.ini"), PYTEST_INI.to_string()),
        (format!("{dir}/requirements.txt"), REQUIREMENTS.to_string()),
        (format!("{dir}/registry_data.py"), data_module(inputs, &plan)?),
        (format!("{dir}/test_ui_staff_portal.py"), ui_module(inputs, &plan)?),
    ];
    for register in &inputs.registers {
        let name = format!("test_api_{}.py", register.module());
        if !modules.insert(name.clone()) {
            return Err(format!("two Registers share the module name `{}`: give them distinct mnemonics", register.module()));
        }
        files.push((format!("{dir}/{name}"), api_module(inputs, &plan, register)?));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files.into_iter().map(|(p, t)| (p, t.into_bytes())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_expressions_bound_the_values() {
        assert_eq!(integer_in(&bounds(&["quantity > 0"], "quantity"), 1), 1);
        assert_eq!(integer_in(&bounds(&["quantity > 5"], "quantity"), 1), 6);
        assert_eq!(integer_in(&bounds(&["quantity >= 5 AND quantity < 9"], "quantity"), 1), 5);
        assert_eq!(integer_in(&bounds(&["10 < size"], "size"), 1), 11);
        assert_eq!(integer_in(&bounds(&["age BETWEEN 18 AND 65"], "age"), 1), 18);
        assert_eq!(integer_in(&bounds(&["n <> 1"], "n"), 1), 2);
        assert_eq!(integer_in(&bounds(&["other > 5"], "n"), 1), 1);
        assert_eq!(bounds(&["sex IN ('F', 'M', 'X')"], "sex").choices, ["F", "M", "X"]);
        assert_eq!(number_in(&bounds(&["share > 2"], "share")), 2.5);
        assert_eq!(python_float(2.0), "2.0");
    }

    #[test]
    fn functional_id_regex_source() {
        let p = IdPattern { prefix: "HH".into(), suffix: "".into(), separator: "-".into(), body_kind: "sequential".into(), body_length: 8 };
        assert_eq!(id_regex(&p), r#""^" + re.escape("HH") + re.escape("-") + "[0-9]{8}" + "$""#);
    }
}
