"""The demo case over stdio: clean on open, `missing-answer` after deleting an answer, and the
"Record answer" quick fix that clears it again."""

from __future__ import annotations

import pytest
from lsprotocol import types

from lsp_support import TIMEOUT, DEMO_CASE, Session

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(4 * TIMEOUT)]


async def delete_answer(session: Session, uri: str, key: str) -> tuple[int, int]:
    """Delete the whole `  <key>: ...` line with an incremental change; returns (version, line)."""
    text = session.text(uri)
    start = text.index(f"\n  {key}:") + 1
    end = text.index("\n", start) + 1
    line = text.count("\n", 0, start)
    version = session.edit(uri, [(start, end, "")])
    await session.wait_idle()
    return version, line


async def test_opening_the_demo_case_publishes_no_diagnostics(session: Session):
    uri = session.open(DEMO_CASE)
    await session.wait_idle()
    published = session.published(uri)
    assert published.version == 1
    assert published.diagnostics == []
    status = session.case_status(await session.status(), uri)
    assert status.missing == [] and status.answered == status.required > 0, status


async def test_deleting_an_answer_reports_missing_answer_for_that_version(session: Session):
    uri = session.open(DEMO_CASE)
    await session.wait_idle()
    version, _ = await delete_answer(session, uri, "country")
    published = session.published(uri)
    assert published.version == version
    assert session.codes(uri) == ["missing-answer"], published
    diagnostic = published.diagnostics[0]
    assert "`country`" in diagnostic.message
    assert diagnostic.source == "playbook"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    # On the `answers` key, with the item's heading in the playbook as related information.
    assert session.range_text(uri, diagnostic.range) == "answers"
    related = diagnostic.related_information or []
    assert related and related[0].location.uri == session.uri("playbooks/registry.md"), related
    status = session.case_status(await session.status(), uri)
    assert status.missing == ["country"], status


async def test_record_answer_quick_fix_clears_missing_answer(session: Session):
    uri = session.open(DEMO_CASE)
    await session.wait_idle()
    await delete_answer(session, uri, "country")
    [diagnostic] = session.missing_answer(uri, "country")

    actions = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], trigger_kind=types.CodeActionTriggerKind.Invoked),
        )
    )
    titles = [a.title for a in actions or []]
    matching = [a for a in actions or [] if isinstance(a, types.CodeAction) and a.title == "Record answer for `country`"]
    assert matching, f"no 'Record answer for `country`' action among {titles}"
    action = matching[0]
    assert action.kind == types.CodeActionKind.QuickFix
    if action.edit is None and action.data is not None:
        action = await session.client.code_action_resolve_async(action)
    assert action.edit is not None, f"the action carries no WorkspaceEdit: {action}"

    edits = session.apply_workspace_edit(action.edit)
    assert list(edits) == [uri], edits
    assert "\n  country:" in session.text(uri)
    await session.wait_idle()
    published = session.published(uri)
    assert published.version == session.docs[uri].version
    assert session.missing_answer(uri, "country") == [], published.diagnostics
    status = session.case_status(await session.status(), uri)
    assert "country" not in status.missing, status
