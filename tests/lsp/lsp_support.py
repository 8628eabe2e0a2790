"""Helpers for driving the real `playbook lsp` binary from pytest-lsp.

A `Session` keeps the client's copy of every open document (text and version), turns
string offsets into LSP positions in the negotiated position encoding (UTF-16 for VS Code,
UTF-8 for Neovim) and back, and waits on `playbook/status` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
from pygls.protocol import default_converter

REPO = Path(__file__).resolve().parents[2]
SHARED_OPENG2P = REPO.parent / "shared" / "fixtures" / "openg2p" / "use-case-implementation.md"

DEMO_CASE = "fixtures/demo/working_case.yaml"
DEMO_PLAYBOOK = "playbooks/registry.md"
OPENG2P_CASE = "fixtures/openg2p/working_case.yaml"
OPENG2P_PLAYBOOK = "openg2p/use-case-implementation.md"

# How long one wait for the server may take before the test fails (not a sleep).
TIMEOUT = float(os.environ.get("PLAYBOOK_E2E_TIMEOUT", "30"))


def playbook_bin() -> Path:
    return Path(os.environ.get("PLAYBOOK_BIN") or REPO / "target" / "release" / "playbook")


# ── the workspace ──────────────────────────────────────────────────────────────────────────


def make_workspace(root: Path) -> Path:
    """A scratch workspace: the demo (playbook + case + assets) and the real OpenG2P playbook
    with its case, whose `playbook:` line is rewritten to point at the copy."""
    root = root.resolve()
    shutil.copytree(REPO / "playbooks", root / "playbooks")
    shutil.copytree(REPO / "fixtures" / "demo", root / "fixtures" / "demo")
    (root / "openg2p").mkdir()
    shutil.copyfile(SHARED_OPENG2P, root / OPENG2P_PLAYBOOK)
    case = (REPO / OPENG2P_CASE).read_text(encoding="utf-8")
    case, n = re.subn(r"(?m)^playbook:.*$", "playbook: ../../openg2p/use-case-implementation.md", case, count=1)
    assert n == 1, "the OpenG2P case has no `playbook:` line"
    (root / OPENG2P_CASE).parent.mkdir(parents=True)
    (root / OPENG2P_CASE).write_text(case, encoding="utf-8")
    return root


# ── the client ─────────────────────────────────────────────────────────────────────────────


@dataclass
class Published:
    version: int | None
    diagnostics: list[types.Diagnostic]


def make_client() -> LanguageClient:
    """pytest-lsp's test client, plus a record of every `publishDiagnostics` (with its version),
    every `playbook/status` and `playbook/buildEvent` notification and code-lens refresh."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = {}  # uri -> [Published, ...] in arrival order
    client.statuses = []  # every playbook/status notification's params, in arrival order
    client.arrived = asyncio.Event()

    def publish_diagnostics(client: LanguageClient, params: types.PublishDiagnosticsParams):
        client.diagnostics[params.uri] = params.diagnostics
        client.published.setdefault(params.uri, []).append(Published(params.version, list(params.diagnostics)))
        client.arrived.set()

    def status(client: LanguageClient, params: Any):
        client.statuses.append(params)
        client.arrived.set()

    def register_capability(client: LanguageClient, params: types.RegistrationParams):
        # Both editors accept dynamic registrations (file watchers); record them.
        client.registrations.extend(params.registrations)
        return None

    def build_event(client: LanguageClient, params: Any):
        client.build_events.append(params)
        client.arrived.set()

    def code_lens_refresh(client: LanguageClient, params: Any):
        client.lens_refreshes += 1
        return None

    client.registrations = []
    client.build_events = []  # every playbook/buildEvent notification's params, in arrival order
    client.lens_refreshes = 0
    features = dict(DEFAULT_CLIENT_FEATURES)
    features["playbook/buildEvent"] = build_event
    features[types.WORKSPACE_CODE_LENS_REFRESH] = code_lens_refresh
    features[types.CLIENT_REGISTER_CAPABILITY] = register_capability
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish_diagnostics
    features["playbook/status"] = status
    register_lsp_features(client, features)
    return client


# ── positions ──────────────────────────────────────────────────────────────────────────────


def _units(s: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(s.encode("utf-8"))
    if encoding == "utf-32":
        return len(s)
    return len(s.encode("utf-16-le")) // 2


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def position_at(text: str, offset: int, encoding: str) -> types.Position:
    """The LSP position of a string offset."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return types.Position(line=line, character=_units(text[start:offset], encoding))


def offset_at(text: str, pos: types.Position, encoding: str) -> int:
    """The string offset of an LSP position (a column past the line end clamps to it)."""
    starts = _line_starts(text)
    if pos.line >= len(starts):
        return len(text)
    start = starts[pos.line]
    end = starts[pos.line + 1] - 1 if pos.line + 1 < len(starts) else len(text)
    units = 0
    i = start
    while i < end and units < pos.character:
        units += _units(text[i], encoding)
        i += 1
    return i


def line_of(text: str, needle: str, start: int = 0) -> int:
    """0-based line of the first occurrence of `needle`."""
    offset = text.index(needle, start)
    return text.count("\n", 0, offset)


# ── the session ────────────────────────────────────────────────────────────────────────────


@dataclass
class Doc:
    text: str
    version: int


class Session:
    def __init__(self, client: LanguageClient, root: Path, encoding: str, capability_set: str):
        self.client = client
        self.root = root
        self.encoding = encoding
        self.capability_set = capability_set
        self.docs: dict[str, Doc] = {}

    # documents

    def uri(self, relative: str) -> str:
        return (self.root / relative).as_uri()

    def text(self, uri: str) -> str:
        return self.docs[uri].text

    def open(self, relative: str) -> str:
        uri = self.uri(relative)
        text = (self.root / relative).read_text(encoding="utf-8")
        language = "markdown" if relative.endswith(".md") else "yaml"
        self.docs[uri] = Doc(text, 1)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            )
        )
        return uri

    def position(self, uri: str, offset: int) -> types.Position:
        return position_at(self.text(uri), offset, self.encoding)

    def position_of(self, uri: str, needle: str, delta: int = 0, start: int = 0) -> types.Position:
        """The position `delta` characters into the first occurrence of `needle`."""
        return self.position(uri, self.text(uri).index(needle, start) + delta)

    def range_text(self, uri: str, r: types.Range) -> str:
        text = self.text(uri)
        return text[offset_at(text, r.start, self.encoding) : offset_at(text, r.end, self.encoding)]

    def edit(self, uri: str, edits: list[tuple[int, int, str]]) -> int:
        """Replace string ranges `(start, end, new_text)` of the document with one incremental
        `didChange` (ranges are sent last-first, so each is valid when the server applies it);
        returns the new version."""
        doc = self.docs[uri]
        changes = []
        text = doc.text
        for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            rng = types.Range(start=position_at(text, start, self.encoding), end=position_at(text, end, self.encoding))
            changes.append(types.TextDocumentContentChangePartial(range=rng, text=new))
            text = text[:start] + new + text[end:]
        doc.text = text
        doc.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=changes,
            )
        )
        return doc.version

    def apply_text_edits(self, uri: str, edits: list[types.TextEdit]) -> int:
        """Apply LSP TextEdits (all against the current text) ourselves, then send them."""
        text = self.text(uri)
        spans = [(offset_at(text, e.range.start, self.encoding), offset_at(text, e.range.end, self.encoding), e.new_text) for e in edits]
        return self.edit(uri, spans)

    def apply_workspace_edit(self, edit: types.WorkspaceEdit) -> dict[str, list[types.TextEdit]]:
        """Apply every text edit of a WorkspaceEdit to the open documents and send them; returns
        the edits per uri. Edits to documents that are not open fail the test."""
        per_uri = workspace_edit_text_edits(edit, {u: d.version for u, d in self.docs.items()})
        for uri, edits in per_uri.items():
            assert uri in self.docs, f"the edit touches {uri}, which is not open: {sorted(self.docs)}"
            self.apply_text_edits(uri, edits)
        return per_uri

    # requests

    async def request(self, method: str, params: Any = None) -> Any:
        return await asyncio.wait_for(self.client.protocol.send_request_async(method, params), TIMEOUT)

    async def status(self) -> Any:
        return await self.request("playbook/status", None)

    async def wait_idle(self) -> Any:
        """Wait until every change sent so far is analysed and its diagnostics published: ask
        `playbook/status` for the generation, then wait for an idle notification at least that
        new. Returns that notification."""
        generation = (await self.status()).generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while True:
            for s in reversed(self.client.statuses):
                if not s.busy and s.generation >= generation:
                    return s
            self.client.arrived.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"server not idle within {TIMEOUT} s (waiting for generation {generation})")
            try:
                await asyncio.wait_for(self.client.arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    # diagnostics

    def published(self, uri: str) -> Published:
        history = self.client.published.get(uri)
        assert history, f"no diagnostics published for {uri}"
        return history[-1]

    def codes(self, uri: str) -> list[str]:
        return [str(d.code) for d in self.published(uri).diagnostics]

    def missing_answer(self, uri: str, item: str) -> list[types.Diagnostic]:
        return [d for d in self.published(uri).diagnostics if d.code == "missing-answer" and f"`{item}`" in d.message]

    def case_status(self, status: Any, uri: str) -> Any:
        for case in status.cases:
            if case.uri == uri:
                return case
        raise AssertionError(f"no status for {uri}: {status}")


def workspace_edit_text_edits(edit: types.WorkspaceEdit, versions: dict[str, int]) -> dict[str, list[types.TextEdit]]:
    """The text edits of a WorkspaceEdit per uri, from `documentChanges` or `changes`; a
    versioned document edit must be against the client's current version."""
    out: dict[str, list[types.TextEdit]] = {}
    if edit.document_changes:
        for change in edit.document_changes:
            assert isinstance(change, types.TextDocumentEdit), f"unexpected resource operation {change}"
            uri = change.text_document.uri
            version = change.text_document.version
            if version is not None and uri in versions:
                assert version == versions[uri], f"edit for {uri} is against version {version}, the client has {versions[uri]}"
            out.setdefault(uri, []).extend(change.edits)
    if edit.changes:
        for uri, edits in edit.changes.items():
            out.setdefault(uri, []).extend(edits)
    return out


def hover_text(hover: types.Hover | None) -> str:
    assert hover is not None, "no hover"
    contents = hover.contents
    items = list(contents) if isinstance(contents, (list, tuple)) else [contents]
    parts = []
    for c in items:
        parts.append(c if isinstance(c, str) else c.value)
    return "\n".join(parts)


def locations(result: Any) -> list[tuple[str, types.Range]]:
    """`(uri, range)` of a definition/references result: Location, list of Location or LocationLink."""
    if result is None:
        return []
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    out = []
    for item in items:
        if isinstance(item, types.LocationLink):
            out.append((item.target_uri, item.target_selection_range))
        else:
            out.append((item.uri, item.range))
    return out


def discovery_item_ids(playbook: str) -> list[str]:
    """Ids of the `#### <id>` headings under every `### Discovery items` section."""
    ids, in_items = [], False
    for line in playbook.splitlines():
        if line.startswith("### ") or line.startswith("## "):
            in_items = line.startswith("### Discovery items")
        elif in_items and (m := re.match(r"^####\s+`?([a-z][a-z0-9_]*)`?\s*$", line)):
            ids.append(m.group(1))
    return ids


# ── servers started by a test (several per test, or with initialization options) ─────────


async def start_server(root: Path, capability_set: str, trusted: bool, env: dict[str, str] | None = None) -> LanguageClient:
    """The real server on `root` with one of pytest-lsp's capability sets; `trusted` sends
    `initializationOptions: {trustedWorkspace: true}`; `env`, when given, is the server's whole
    environment. Stop it with `stop_server`."""
    from pytest_lsp import ClientServerConfig, client_capabilities

    config = ClientServerConfig(server_command=[str(playbook_bin()), "lsp"], client_factory=make_client, server_env=env)
    client = await config.start()
    uri = root.as_uri()
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(capability_set),
            root_uri=uri,
            workspace_folders=[types.WorkspaceFolder(uri=uri, name="ws")],
            initialization_options={"trustedWorkspace": True} if trusted else None,
        )
    )
    return client


async def stop_server(client: LanguageClient) -> None:
    await client.shutdown_session()
    await client.stop()


def open_file(client: LanguageClient, path: Path) -> str:
    """didOpen `path` with its text on disk; returns its URI."""
    uri = path.as_uri()
    language = "markdown" if path.suffix == ".md" else "yaml"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=path.read_text(encoding="utf-8"))
        )
    )
    return uri


async def send(client: LanguageClient, method: str, params: Any) -> Any:
    return await asyncio.wait_for(client.protocol.send_request_async(method, params), TIMEOUT)


async def run_command(client: LanguageClient, command: str, args: dict) -> Any:
    return await send(client, types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(command=command, arguments=[args]))


async def lens_titles(client: LanguageClient, uri: str, line: int) -> list[str]:
    lenses = await send(client, types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    return [lens.command.title for lens in lenses or [] if lens.range.start.line == line and lens.command]
