//! The extension's shared files, made deterministically from the answers (never by a
//! provider): the package `__init__`s, the identifier generator, the database module, the HTTP
//! server, the constraint and seed SQL, `pyproject.toml` and the README.

use crate::handlers::codegen::GeneratedFile;
use crate::handlers::codegen::template::{py_str, sql_literal};
use crate::handlers::inputs::{DbConstraint, Register, RegistryInputs, snake};

/// Every shared file, paths relative to `extension/`. Errors name the answer that is wrong.
pub fn shared_files(inputs: &RegistryInputs) -> Result<Vec<GeneratedFile>, String> {
    let pkg = inputs.package();
    let file = |path: String, contents: String| GeneratedFile { path, contents };
    let constraints = resolve_constraints(inputs)?;
    check_patterns(inputs)?;
    let own_tables = [format!("{}_id_sequence", snake(&inputs.registry)), message_table(inputs)];
    let mut tables = std::collections::HashSet::new();
    for register in &inputs.registers {
        let table = inputs.table_name(register);
        if own_tables.contains(&table) || !tables.insert(table.clone()) {
            return Err(format!(
                "register_mnemonics: the mnemonic `{}` makes the table `{table}`, which is already taken",
                register.mnemonic
            ));
        }
    }
    let mut files = vec![file(format!("{pkg}/__init__.py"), package_init(inputs))];
    for kind in ["models", "schemas", "services"] {
        files.push(file(format!("{pkg}/{kind}/__init__.py"), subpackage_init(inputs, kind)));
    }
    files.push(file(format!("{pkg}/idgen.py"), idgen(inputs)));
    files.push(file(format!("{pkg}/db.py"), db(inputs, &constraints)));
    files.push(file(format!("{pkg}/server.py"), server(inputs)));
    files.push(file(format!("{pkg}/sql/constraints.sql"), constraints_sql(inputs, &constraints)));
    files.push(file(format!("{pkg}/sql/seed.sql"), seed_sql(inputs)));
    files.push(file("pyproject.toml".to_string(), pyproject(inputs)));
    files.push(file("README.md".to_string(), readme(inputs)));
    Ok(files)
}

/// One `database_constraints` entry with its tables resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub table: String,
    pub name: String,
    /// The clause after `ADD CONSTRAINT "<name>"` (and after `CONSTRAINT "<name>"` in a CREATE TABLE).
    pub clause: String,
}

fn find_register<'a>(inputs: &'a RegistryInputs, name: &str, entry: usize) -> Result<&'a Register, String> {
    inputs
        .registers
        .iter()
        .find(|r| r.name == name || r.mnemonic == name || inputs.table_name(r) == name)
        .ok_or_else(|| format!("database_constraints: entry {entry} names the table `{name}`, which register_mnemonics does not list"))
}

fn has_column(register: &Register, column: &str) -> bool {
    column == "id" || register.columns.iter().any(|c| c.name == column)
}

/// The answered constraints with table names from `inputs.table_name`, checked against the
/// answered columns.
pub fn resolve_constraints(inputs: &RegistryInputs) -> Result<Vec<Resolved>, String> {
    let mut out = Vec::new();
    let mut checks_per_table = std::collections::HashMap::<String, usize>::new();
    for (i, constraint) in inputs.constraints.iter().enumerate() {
        let entry = i + 1;
        let missing = |register: &Register, column: &str| {
            format!(
                "database_constraints: entry {entry} uses the column `{column}`, which register_columns does not give `{}`",
                register.name
            )
        };
        match constraint {
            DbConstraint::ForeignKey { table, column, references } => {
                let from = find_register(inputs, table, entry)?;
                let to = find_register(inputs, references, entry)?;
                if !has_column(from, column) {
                    return Err(missing(from, column));
                }
                let table = inputs.table_name(from);
                out.push(Resolved {
                    name: format!("fk_{table}_{column}"),
                    clause: format!("FOREIGN KEY (\"{column}\") REFERENCES \"{}\" (\"id\")", inputs.table_name(to)),
                    table,
                });
            }
            DbConstraint::Unique { table, columns } => {
                let register = find_register(inputs, table, entry)?;
                if columns.is_empty() {
                    return Err(format!("database_constraints: entry {entry} is a unique constraint without columns"));
                }
                if let Some(column) = columns.iter().find(|c| !has_column(register, c)) {
                    return Err(missing(register, column));
                }
                let table = inputs.table_name(register);
                let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
                out.push(Resolved {
                    name: format!("uq_{table}_{}", columns.join("_")),
                    clause: format!("UNIQUE ({})", quoted.join(", ")),
                    table,
                });
            }
            DbConstraint::Check { table, expression } => {
                let register = find_register(inputs, table, entry)?;
                if expression.trim().is_empty() || expression.contains(';') {
                    return Err(format!("database_constraints: entry {entry} needs one SQL expression (no `;`)"));
                }
                let table = inputs.table_name(register);
                let n = checks_per_table.entry(table.clone()).or_default();
                *n += 1;
                out.push(Resolved { name: format!("ck_{table}_{n}"), clause: format!("CHECK ({})", expression.trim()), table });
            }
        }
    }
    Ok(out)
}

fn check_patterns(inputs: &RegistryInputs) -> Result<(), String> {
    for register in &inputs.registers {
        if let Some(p) = &register.id_pattern {
            if !matches!(p.body_kind.as_str(), "sequential" | "random" | "year_seq") {
                return Err(format!(
                    "functional_id_encoding_pattern: `{}` has body_kind `{}`; expected sequential, random or year_seq",
                    register.name, p.body_kind
                ));
            }
            if !(1..=30).contains(&p.body_length) {
                return Err(format!(
                    "functional_id_encoding_pattern: `{}` has body_length {}; expected 1 to 30",
                    register.name, p.body_length
                ));
            }
            if p.prefix.len() + p.suffix.len() + 2 * p.separator.len() + (p.body_length as usize).max(5) > 64 {
                return Err(format!(
                    "functional_id_encoding_pattern: the identifiers of `{}` would be longer than 64 characters",
                    register.name
                ));
            }
        }
    }
    Ok(())
}

fn doc(s: &str) -> String {
    s.replace(['"', '\\'], "'")
}

fn package_init(inputs: &RegistryInputs) -> String {
    let mut registers = String::new();
    for r in &inputs.registers {
        let supporting = if r.supporting { "True" } else { "False" };
        registers.push_str(&format!("    ({}, {}, {}, {supporting}),\n", py_str(&r.name), py_str(&r.module()), py_str(r.path_segment())));
    }
    format!(
        r#""""{name}: the registry extension of `{org}` (generated by the registry build)."""

__version__ = "0.1.0"

# (name, module, API path segment, supporting table)
REGISTERS = (
{registers})
"#,
        name = doc(&inputs.registry_name),
        org = doc(&inputs.organisation),
    )
}

fn subpackage_init(inputs: &RegistryInputs, kind: &str) -> String {
    let modules: Vec<String> = inputs.registers.iter().map(Register::module).collect();
    let all: Vec<String> = modules.iter().map(|m| py_str(m)).collect();
    let import = if modules.is_empty() { String::new() } else { format!("from . import {}\n\n", modules.join(", ")) };
    format!("\"\"\"The {kind} of every Register.\"\"\"\n\n{import}__all__ = [{}]\n", all.join(", "))
}

fn idgen(inputs: &RegistryInputs) -> String {
    let mut patterns = String::new();
    for r in &inputs.registers {
        if let Some(p) = &r.id_pattern {
            patterns.push_str(&format!(
                "    {}: {{\"table\": {}, \"prefix\": {}, \"separator\": {}, \"suffix\": {}, \"body_kind\": {}, \"body_length\": {}}},\n",
                py_str(&r.module()),
                py_str(&inputs.table_name(r)),
                py_str(&p.prefix),
                py_str(&p.separator),
                py_str(&p.suffix),
                py_str(&p.body_kind),
                p.body_length
            ));
        }
    }
    IDGEN.replace("@@SEQUENCE_TABLE@@", &py_str(&format!("{}_id_sequence", snake(&inputs.registry)))).replace("@@PATTERNS@@", &patterns)
}

const IDGEN: &str = r#""""Functional identifiers, from `functional_id_encoding_pattern`.

An identifier is prefix + separator + body + separator + suffix (a separator only next to a
non-empty prefix or suffix). Body kinds:
- `sequential`: a counter, zero-padded to body_length digits;
- `random`: body_length random digits, unique in the register's table;
- `year_seq`: the four-digit year, then a per-year counter zero-padded to body_length - 4
  digits (at least one).
"""

from __future__ import annotations

import datetime
import re
import secrets
import sqlite3

SEQUENCE_TABLE = @@SEQUENCE_TABLE@@

# register module: its pattern
PATTERNS = {
@@PATTERNS@@}


class IdSpaceExhausted(RuntimeError):
    """Every identifier of the pattern is taken."""


def body_width(register: str) -> int:
    p = PATTERNS[register]
    if p["body_kind"] == "year_seq":
        return 4 + max(p["body_length"] - 4, 1)
    return p["body_length"]


def format_id(register: str, body: str) -> str:
    p = PATTERNS[register]
    head = p["prefix"] + p["separator"] if p["prefix"] else ""
    tail = p["separator"] + p["suffix"] if p["suffix"] else ""
    return head + body + tail


def pattern_regex(register: str) -> str:
    """A regular expression every identifier of the register matches."""
    p = PATTERNS[register]
    head = p["prefix"] + p["separator"] if p["prefix"] else ""
    tail = p["separator"] + p["suffix"] if p["suffix"] else ""
    return "^" + re.escape(head) + "[0-9]{%d}" % body_width(register) + re.escape(tail) + "$"


def matches(register: str, value: str) -> bool:
    return re.fullmatch(pattern_regex(register), value) is not None


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{SEQUENCE_TABLE}" ("name" TEXT PRIMARY KEY, "value" INTEGER NOT NULL)')


def _next_value(conn: sqlite3.Connection, name: str) -> int:
    ensure_schema(conn)
    conn.execute(
        f'INSERT INTO "{SEQUENCE_TABLE}" ("name", "value") VALUES (?, 1) '
        'ON CONFLICT ("name") DO UPDATE SET "value" = "value" + 1',
        (name,),
    )
    return conn.execute(f'SELECT "value" FROM "{SEQUENCE_TABLE}" WHERE "name" = ?', (name,)).fetchone()[0]


def next_id(conn: sqlite3.Connection, register: str, today: datetime.date | None = None) -> str:
    """The next identifier of a register (call it inside the transaction that inserts it)."""
    p = PATTERNS[register]
    length = p["body_length"]
    if p["body_kind"] == "random":
        for _ in range(100):
            candidate = format_id(register, "".join(secrets.choice("0123456789") for _ in range(length)))
            taken = conn.execute(f'SELECT 1 FROM "{p["table"]}" WHERE "functional_id" = ?', (candidate,)).fetchone()
            if taken is None:
                return candidate
        raise IdSpaceExhausted(f"no free random identifier for `{register}` after 100 tries")
    if p["body_kind"] == "year_seq":
        year = (today or datetime.date.today()).year
        width = max(length - 4, 1)
        value = _next_value(conn, f"{register}:{year}")
        if value >= 10**width:
            raise IdSpaceExhausted(f"the identifiers of `{register}` for {year} are exhausted")
        return format_id(register, f"{year:04d}{value:0{width}d}")
    value = _next_value(conn, register)
    if value >= 10**length:
        raise IdSpaceExhausted(f"the identifiers of `{register}` are exhausted")
    return format_id(register, f"{value:0{length}d}")
"#;

fn db(inputs: &RegistryInputs, constraints: &[Resolved]) -> String {
    let modules: Vec<String> = inputs.registers.iter().map(Register::module).collect();
    let mut table_constraints = String::new();
    for r in &inputs.registers {
        let table = inputs.table_name(r);
        let clauses: Vec<String> =
            constraints.iter().filter(|c| c.table == table).map(|c| py_str(&format!("CONSTRAINT \"{}\" {}", c.name, c.clause))).collect();
        if !clauses.is_empty() {
            table_constraints.push_str(&format!("    {}: (\n        {},\n    ),\n", py_str(&table), clauses.join(",\n        ")));
        }
    }
    let import = if modules.is_empty() { String::new() } else { format!("from .models import {}\n", modules.join(", ")) };
    let models = match modules.len() {
        0 => "()".to_string(),
        1 => format!("({},)", modules[0]),
        _ => format!("({})", modules.join(", ")),
    };
    DB.replace("@@IMPORT@@", &import).replace("@@MODELS@@", &models).replace("@@TABLE_CONSTRAINTS@@", &table_constraints)
}

const DB: &str = r#""""The SQLite database: each model's table with the answered database constraints, the
identifier sequences, then the seed data (sql/seed.sql). sql/constraints.sql holds the same
constraints for PostgreSQL."""

from __future__ import annotations

import os
import pathlib
import sqlite3
import sys

from . import idgen
@@IMPORT@@
MODELS = @@MODELS@@

# table: its constraints from `database_constraints`, added to its CREATE TABLE
TABLE_CONSTRAINTS = {
@@TABLE_CONSTRAINTS@@}


def database_path() -> str:
    return os.path.join(os.environ.get("DATA_DIR", "/tmp"), "registry.sqlite3")


def connect(path: str | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(path or database_path(), isolation_level=None, timeout=30, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _with_constraints(ddl: str, clauses: tuple[str, ...]) -> str | None:
    body = ddl.rstrip().rstrip(";").rstrip()
    if not body.endswith(")"):
        return None
    return body[:-1].rstrip() + ",\n    " + ",\n    ".join(clauses) + "\n)"


def init(conn: sqlite3.Connection) -> None:
    """Create what is missing; existing tables and data are kept."""
    for model in MODELS:
        clauses = TABLE_CONSTRAINTS.get(model.TABLE_NAME, ())
        ddl = _with_constraints(model.DDL, clauses) if clauses else None
        if ddl is not None:
            try:
                conn.execute(ddl)
                continue
            except sqlite3.OperationalError as error:
                print(f"warning: {model.TABLE_NAME}: constraints not applied in SQLite ({error})", file=sys.stderr)
        conn.execute(model.DDL)
    idgen.ensure_schema(conn)
    seed = pathlib.Path(__file__).with_name("sql") / "seed.sql"
    if seed.exists():
        conn.executescript(seed.read_text(encoding="utf-8"))
"#;

fn server(inputs: &RegistryInputs) -> String {
    let mut imports = String::new();
    let mut resources = String::new();
    for r in &inputs.registers {
        let m = r.module();
        imports.push_str(&format!("from .schemas import {m} as {m}_schema\nfrom .services import {m} as {m}_service\n"));
        resources.push_str(&format!("    {}: ({}, {m}_schema, {m}_service),\n", py_str(r.path_segment()), py_str(&r.name)));
    }
    SERVER
        .replace("@@NAME_DOC@@", &doc(&inputs.registry_name))
        .replace("@@NAME@@", &py_str(&inputs.registry_name))
        .replace("@@IMPORTS@@", &imports)
        .replace("@@RESOURCES@@", &resources)
}

const SERVER: &str = r#""""The HTTP API of the @@NAME_DOC@@ (stdlib only).

    GET  /health                 {"status": "ok"}
    POST /api/<register>         create: 201 the record (id, columns, functional_id)
    GET  /api/<register>         {"items": [...]} (?limit=, ?offset=)
    GET  /api/<register>/<id>    200 the record, 404
    PUT  /api/<register>/<id>    partial update: 200 the record, 404

An invalid body answers 422 {"errors": [...]}, a database constraint 409. Every answer carries
CORS headers; OPTIONS is answered. Environment: PORT (8080), HOST (0.0.0.0), DATA_DIR (/tmp,
the database is DATA_DIR/registry.sqlite3).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import db, idgen
@@IMPORTS@@
NAME = @@NAME@@

# API path segment: (register name, schema module, service module)
RESOURCES = {
@@RESOURCES@@}

MAX_BODY = 1 << 20
# SQLite has one writer: writes are serialised here rather than failing on a busy database.
_WRITE_LOCK = threading.Lock()


class Problem(Exception):
    def __init__(self, status: int, errors: list[str]) -> None:
        super().__init__(status, errors)
        self.status = status
        self.errors = errors


@contextlib.contextmanager
def _connection(write: bool):
    conn = db.connect()
    try:
        if not write:
            yield conn
            return
        with _WRITE_LOCK:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
    finally:
        conn.close()


def _query_int(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[0])
    except ValueError:
        raise Problem(422, [f"`{name}` must be an integer"]) from None
    return min(max(value, low), high)


class ApiHandler(BaseHTTPRequestHandler):
    server_version = "RegistryExtension/0.1"

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))
        sys.stderr.flush()

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
        self.send_header("Access-Control-Max-Age", "600")

    def _send(self, status: int, body: object = None) -> None:
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self._cors()
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _body(self) -> object:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise Problem(400, ["Content-Length is not a number"]) from None
        if length > MAX_BODY:
            raise Problem(413, ["the body is larger than 1 MiB"])
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw.strip():
            raise Problem(422, ["the body must be a JSON object of column values"])
        try:
            return json.loads(raw)
        except ValueError:
            raise Problem(422, ["the body is not valid JSON"]) from None

    def do_OPTIONS(self) -> None:
        self._send(204)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        try:
            self._dispatch(method)
        except Problem as problem:
            self._send(problem.status, {"errors": problem.errors})
        except sqlite3.IntegrityError as error:
            self._send(409, {"errors": [f"a database constraint is violated: {error}"]})
        except idgen.IdSpaceExhausted as error:
            self._send(409, {"errors": [str(error)]})
        except Exception:
            traceback.print_exc()
            self._send(500, {"errors": ["internal error; see the server log"]})

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        if path == "/health":
            if method != "GET":
                raise Problem(405, [f"{method} is not allowed on /health"])
            self._send(200, {"status": "ok"})
            return
        parts = path.strip("/").split("/")
        if len(parts) not in (2, 3) or parts[0] != "api" or parts[1] not in RESOURCES:
            raise Problem(404, [f"no such resource: {path}"])
        name, schema, service = RESOURCES[parts[1]]
        record_id = None
        if len(parts) == 3:
            if not (parts[2].isascii() and parts[2].isdigit()):
                raise Problem(404, [f"no {name} record `{parts[2]}`"])
            record_id = int(parts[2])
        if method == "GET" and record_id is None:
            query = parse_qs(url.query)
            limit = _query_int(query, "limit", 100, 1, 1000)
            offset = _query_int(query, "offset", 0, 0, 1 << 62)
            with _connection(write=False) as conn:
                self._send(200, {"items": service.list_records(conn, limit, offset)})
        elif method == "GET":
            with _connection(write=False) as conn:
                record = service.get(conn, record_id)
            if record is None:
                raise Problem(404, [f"no {name} record {record_id}"])
            self._send(200, record)
        elif method == "POST" and record_id is None:
            data = self._body()
            errors = schema.validate(data)
            if errors:
                raise Problem(422, errors)
            with _connection(write=True) as conn:
                record = service.create(conn, data)
            self._send(201, record)
        elif method == "PUT" and record_id is not None:
            data = self._body()
            errors = schema.validate(data, partial=True)
            if errors:
                raise Problem(422, errors)
            with _connection(write=True) as conn:
                record = service.update(conn, record_id, data)
            if record is None:
                raise Problem(404, [f"no {name} record {record_id}"])
            self._send(200, record)
        else:
            raise Problem(405, [f"{method} is not allowed on {path}"])


def main() -> None:
    try:
        port = int(os.environ.get("PORT") or "8080")
    except ValueError:
        sys.exit(f"PORT must be a number, not {os.environ.get('PORT')!r}")
    host = os.environ.get("HOST") or "0.0.0.0"
    os.makedirs(os.path.dirname(db.database_path()), exist_ok=True)
    conn = db.connect()
    try:
        db.init(conn)
    finally:
        conn.close()
    server = ThreadingHTTPServer((host, port), ApiHandler)
    print(f"{NAME}: serving the API on http://{host}:{port} (data in {db.database_path()})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
"#;

fn constraints_sql(inputs: &RegistryInputs, constraints: &[Resolved]) -> String {
    let mut out = format!(
        "-- Database constraints of {} from `database_constraints` (PostgreSQL).\n-- The SQLite runtime adds the same clauses to its CREATE TABLE statements (db.py).\n",
        inputs.registry_name.replace('\n', " ")
    );
    if constraints.is_empty() {
        out.push_str("-- (none answered)\n");
    }
    for c in constraints {
        out.push_str(&format!("ALTER TABLE \"{}\" ADD CONSTRAINT \"{}\" {};\n", c.table, c.name, c.clause));
    }
    out
}

/// The table the message templates are seeded into.
pub fn message_table(inputs: &RegistryInputs) -> String {
    format!("{}_message_template", snake(&inputs.registry))
}

fn seed_sql(inputs: &RegistryInputs) -> String {
    let table = message_table(inputs);
    let mut out = format!(
        r#"-- Message templates of the notification events, from `notification_payloads`.
-- Runs on PostgreSQL and SQLite, any number of times.
CREATE TABLE IF NOT EXISTS "{table}" (
    "event" varchar(64) NOT NULL,
    "channel" varchar(16) NOT NULL,
    "subject" text,
    "body" text NOT NULL,
    PRIMARY KEY ("event", "channel")
);
"#
    );
    for n in &inputs.notifications {
        let mut rows = Vec::new();
        if !n.sms.is_empty() {
            rows.push(("sms", None, &n.sms));
        }
        if !n.email_subject.is_empty() || !n.email_body.is_empty() {
            rows.push(("email", Some(&n.email_subject), &n.email_body));
        }
        for (channel, subject, body) in rows {
            out.push_str(&format!(
                "INSERT INTO \"{table}\" (\"event\", \"channel\", \"subject\", \"body\") VALUES ({}, '{channel}', {}, {})\n    ON CONFLICT (\"event\", \"channel\") DO UPDATE SET \"subject\" = excluded.\"subject\", \"body\" = excluded.\"body\";\n",
                sql_literal(&n.event),
                subject.map_or("NULL".to_string(), |s| sql_literal(s)),
                sql_literal(body),
            ));
        }
    }
    out
}

fn pyproject(inputs: &RegistryInputs) -> String {
    let pkg = inputs.package();
    let toml_str = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        r#"[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = {name}
version = "0.1.0"
description = {description}
requires-python = ">=3.11"
dependencies = []

[tool.setuptools.packages.find]
include = ["{pkg}*"]

[tool.setuptools.package-data]
{pkg} = ["sql/*.sql"]
"#,
        name = toml_str(&pkg.replace('_', "-")),
        description = toml_str(&format!("{}: the registry extension", inputs.registry_name)),
    )
}

fn readme(inputs: &RegistryInputs) -> String {
    let pkg = inputs.package();
    let mut registers = String::new();
    for r in &inputs.registers {
        let id = match &r.id_pattern {
            Some(p) => format!("`{}` ({}, {} digits)", p.prefix, p.body_kind, p.body_length),
            None => "—".to_string(),
        };
        registers.push_str(&format!(
            "| {}{} | `{}` | `{}` | `/api/{}` | {id} |\n",
            r.name,
            if r.supporting { " (supporting)" } else { "" },
            inputs.table_name(r),
            r.class_name(),
            r.path_segment()
        ));
    }
    format!(
        r#"# {name}

The registry extension of `{org}`, generated by the registry build from the working case.
Change the answers and rebuild rather than editing these files.

| Register | Table | Class | API | Functional id |
|---|---|---|---|---|
{registers}
## Layout

- `{pkg}/models/`, `{pkg}/schemas/`, `{pkg}/services/` — one module per Register: the table
  (`DDL`), the validation (`validate`) and the create/read/update/list service.
- `{pkg}/idgen.py` — functional identifiers from `functional_id_encoding_pattern`.
- `{pkg}/db.py` — the SQLite database (tables, constraints, seed data).
- `{pkg}/server.py` — the HTTP API (stdlib `http.server`).
- `{pkg}/sql/constraints.sql`, `{pkg}/sql/seed.sql` — constraints and message templates.

## Run

    PYTHONPATH=. PORT=8080 DATA_DIR=/tmp python3 -m {pkg}.server

`GET /health`; per Register `POST /api/<mnemonic>`, `GET /api/<mnemonic>`,
`GET /api/<mnemonic>/<id>`, `PUT /api/<mnemonic>/<id>`. An invalid body answers 422 with
`{{"errors": [...]}}`.
"#,
        name = inputs.registry_name,
        org = inputs.organisation,
    )
}
