"""Phases and reports through the real server's commands over stdio: completing a phase with a
required item missing names the item; after answering, generating and approving a report it
completes and the history records it; changing an answer after approval blocks completion
until a new version is approved (v1 superseded, one approved version); reopen records its
reason; the OpenG2P playbook's placeholder phases are coming soon."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from lsprotocol import types

from lsp_support import REPO, TIMEOUT, lens_titles, make_workspace, open_file, run_command, start_server, stop_server

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(4 * TIMEOUT)]


def front_matter_status(path) -> str:
    return re.search(r"(?m)^status: (\w+)$", path.read_text(encoding="utf-8")).group(1)


async def refused(client, command: str, args: dict) -> str:
    with pytest.raises(Exception) as error:
        await run_command(client, command, args)
    return str(error.value)


def save_and_send(client, uri: str, path, text: str, version: int) -> None:
    """What an editor does on edit + save: the buffer changes, then the file."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("capability_set", ["visual-studio-code", "neovim"], ids=["vscode", "neovim"])
async def test_phase_gates_reports_and_history_through_the_commands(tmp_path, capability_set):
    root = tmp_path / "ws"
    shutil.copytree(REPO / "fixtures" / "phases", root)
    root = root.resolve()
    case_path = root / "working_case.yaml"
    full = case_path.read_text(encoding="utf-8")
    missing = "".join(line + "\n" for line in full.splitlines() if "contact_email" not in line)
    case_path.write_text(missing, encoding="utf-8")

    client = await start_server(root, capability_set, trusted=True)
    case = open_file(client, case_path)

    # 1. A required item is missing: refused, naming it.
    message = await refused(client, "playbook.completePhase", {"uri": case})
    assert "contact_email" in message, message

    # 2. Answer it (edit + save), generate and approve the report, complete: the history records it.
    save_and_send(client, case, case_path, full, 2)
    generated = await run_command(client, "playbook.generateReport", {"uri": case})
    assert generated["version"] == 1, generated
    approved = await run_command(client, "playbook.approveReport", {"uri": case})
    assert approved["version"] == 1 and approved["superseded"] == []
    done = await run_command(client, "playbook.completePhase", {"uri": case, "reason": "signed off"})
    assert (done["from"], done["to"]) == (1, 2)
    state = json.loads((root / ".playbook" / "state.json").read_text(encoding="utf-8"))
    assert state["current_phase"] == 2
    assert [(h["action"], h["from"], h["to"], h["reason"]) for h in state["history"]] == [("complete", 1, 2, "signed off")]
    assert state["history"][0]["by"]

    # 3. Back to phase 1, change an answer: completion is blocked until a new version is approved.
    reopened = await run_command(client, "playbook.reopenPhase", {"uri": case, "to": 1, "reason": "new contact"})
    assert reopened["to"] == 1
    changed = full.replace("desk@elmstreet-library.example", "help@elmstreet-library.example")
    save_and_send(client, case, case_path, changed, 3)
    message = await refused(client, "playbook.completePhase", {"uri": case})
    assert "changed since" in message, message
    assert (await run_command(client, "playbook.generateReport", {"uri": case}))["version"] == 2
    second = await run_command(client, "playbook.approveReport", {"uri": case})
    assert second["version"] == 2 and second["superseded"] == [1]
    reports = root / "reports"
    statuses = {p.name: front_matter_status(p) for p in sorted(reports.glob("*.md"))}
    assert statuses == {"phase-1-discovery-report-v1.md": "superseded", "phase-1-discovery-report-v2.md": "approved"}
    done = await run_command(client, "playbook.completePhase", {"uri": case})
    assert done["to"] == 2

    # 4. Reopen without a reason is refused; the reason given is recorded.
    assert "reason" in await refused(client, "playbook.reopenPhase", {"uri": case, "to": 1})
    await run_command(client, "playbook.reopenPhase", {"uri": case, "reason": "scope grew"})
    state = json.loads((root / ".playbook" / "state.json").read_text(encoding="utf-8"))
    assert [(h["action"], h.get("reason")) for h in state["history"]][-1] == ("reopen", "scope grew")
    assert state["current_phase"] == 1
    await stop_server(client)


async def test_the_openg2p_placeholder_phases_are_coming_soon(tmp_path):
    root = make_workspace(tmp_path / "ws")
    client = await start_server(root, "visual-studio-code", trusted=True)
    open_file(client, root / "fixtures/openg2p/working_case.yaml")
    playbook_path = root / "openg2p/use-case-implementation.md"
    playbook = open_file(client, playbook_path)
    lines = playbook_path.read_text(encoding="utf-8").splitlines()
    phases = [(i, line) for i, line in enumerate(lines) if re.match(r"## Phase \d+:", line)]
    titles = {line: await lens_titles(client, playbook, i) for i, line in phases}
    soon = [line for line, t in titles.items() if any("coming soon" in x for x in t)]
    assert soon == ["## Phase 4: Pilot", "## Phase 5: Full Rollout"], titles
    assert [line for _, line in phases[3:]] == soon
    await stop_server(client)
