"""Navigation and editing features on the real OpenG2P Registry playbook and its case."""

from __future__ import annotations

import re

import pytest
import pytest_asyncio
from lsprotocol import types

from lsp_support import (
    OPENG2P_CASE,
    OPENG2P_PLAYBOOK,
    TIMEOUT,
    Session,
    discovery_item_ids,
    hover_text,
    locations,
    workspace_edit_text_edits,
)

FOUNDATIONAL_ASK = "If a main Register identifies a person, does the country have a nationwide Foundational Identity?"

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(4 * TIMEOUT)]


@pytest_asyncio.fixture
async def og(session: Session):
    """The session with the OpenG2P case open (it must find its playbook: the copy)."""
    case = session.open(OPENG2P_CASE)
    await session.wait_idle()
    codes = session.codes(case)
    assert "playbook-not-found" not in codes, session.published(case)
    session.case_uri = case
    session.playbook_uri = session.uri(OPENG2P_PLAYBOOK)
    return session


def key_position(s: Session, uri: str, key: str) -> types.Position:
    """A position inside the case key `  <key>:` (on its fourth character)."""
    return s.position_of(uri, f"\n  {key}:", delta=len("\n  ") + 3)


def condition_lines(playbook: str, item: str) -> set[int]:
    """Lines of `Required: conditional:` fields whose condition names `item`."""
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(item)}(?![A-Za-z0-9_])")
    return {i for i, line in enumerate(playbook.split("\n")) if "**Required:** conditional:" in line and word.search(line)}


async def test_hover_on_a_case_key_shows_the_ask_text(og: Session):
    hover = await og.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=og.case_uri), position=key_position(og, og.case_uri, "has_foundational_id"))
    )
    assert hover is not None, "no hover on the case key `has_foundational_id`"
    text = hover_text(hover)
    assert FOUNDATIONAL_ASK in text, text


async def test_completion_on_an_empty_answers_line_offers_item_ids(og: Session):
    uri = og.case_uri
    text = og.text(uri)
    # A new, empty line right below `answers:` (indented as an editor would after Enter).
    at = text.index("\nanswers:\n") + len("\nanswers:\n")
    og.edit(uri, [(at, at, "  \n")])
    await og.wait_idle()
    position = types.Position(line=og.text(uri).count("\n", 0, at), character=2)
    result = await og.client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
        )
    )
    items = result.items if isinstance(result, types.CompletionList) else (result or [])
    labels = {i.label for i in items} | {i.filter_text for i in items if i.filter_text}
    ids = set(discovery_item_ids((og.root / OPENG2P_PLAYBOOK).read_text(encoding="utf-8")))
    answered = set(re.findall(r"(?m)^  ([a-z][a-z0-9_]*):", og.text(uri)))
    offered = labels & ids
    assert offered, f"no item id among {len(items)} completion items: {sorted(labels)[:20]}"
    assert offered - answered, f"only answered ids offered: {sorted(offered)[:20]}"


async def test_definition_of_a_case_key_is_the_playbook_heading(og: Session):
    result = await og.client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=og.case_uri), position=key_position(og, og.case_uri, "has_scores"))
    )
    found = locations(result)
    assert len(found) == 1, found
    uri, rng = found[0]
    assert uri == og.playbook_uri
    playbook = (og.root / OPENG2P_PLAYBOOK).read_text(encoding="utf-8")
    heading = playbook.split("\n").index("#### has_scores")
    assert rng.start.line == heading, (rng, heading)


async def test_references_of_an_item_include_conditions_and_the_case_key(og: Session):
    pb = og.open(OPENG2P_PLAYBOOK)
    await og.wait_idle()
    position = og.position_of(pb, "#### has_foundational_id", delta=len("#### has_"))
    result = await og.client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=pb),
            position=position,
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    found = locations(result)
    assert found, "no references"
    for uri, rng in found:
        assert og.range_text(uri, rng) == "has_foundational_id", (uri, rng, og.range_text(uri, rng))
    lines_in_playbook = {r.start.line for u, r in found if u == pb}
    conditions = condition_lines(og.text(pb), "has_foundational_id")
    assert len(conditions) >= 10
    assert conditions <= lines_in_playbook, f"condition lines not referenced: {sorted(conditions - lines_in_playbook)}"
    case_key_line = og.text(og.case_uri).split("\n").index("  has_foundational_id: yes")
    assert (og.case_uri, case_key_line) in {(u, r.start.line) for u, r in found}, found


async def test_rename_of_an_item_edits_heading_conditions_and_case_key(og: Session):
    pb = og.open(OPENG2P_PLAYBOOK)
    await og.wait_idle()
    codes_before = sorted(og.codes(og.case_uri))
    text = og.text(pb)
    heading_line = text.split("\n").index("#### has_scores")
    conditions = condition_lines(text, "has_scores")
    assert len(conditions) == 7, conditions
    position = og.position_of(pb, "#### has_scores", delta=len("#### has_"))

    prepared = await og.client.text_document_prepare_rename_async(
        types.PrepareRenameParams(text_document=types.TextDocumentIdentifier(uri=pb), position=position)
    )
    assert prepared is not None, "prepareRename refused the item heading"
    if isinstance(prepared, types.Range):
        assert og.range_text(pb, prepared) == "has_scores"
    elif isinstance(prepared, types.PrepareRenamePlaceholder):
        assert og.range_text(pb, prepared.range) == "has_scores"

    edit = await og.client.text_document_rename_async(
        types.RenameParams(text_document=types.TextDocumentIdentifier(uri=pb), position=position, new_name="needs_scores")
    )
    assert edit is not None, "rename returned no edit"
    per_uri = workspace_edit_text_edits(edit, {u: d.version for u, d in og.docs.items()})
    assert set(per_uri) == {pb, og.case_uri}, sorted(per_uri)
    for uri, edits in per_uri.items():
        for e in edits:
            assert og.range_text(uri, e.range) == "has_scores" and e.new_text == "needs_scores", (uri, e)
    assert {e.range.start.line for e in per_uri[pb]} == {heading_line} | conditions
    assert len(per_uri[pb]) == 8, per_uri[pb]
    case_key_line = og.text(og.case_uri).split("\n").index("  has_scores: yes")
    assert [e.range.start.line for e in per_uri[og.case_uri]] == [case_key_line]

    og.apply_workspace_edit(edit)
    assert "has_scores" not in og.text(pb)
    assert "\n#### needs_scores\n" in og.text(pb)
    assert og.text(pb).count("conditional: needs_scores = yes") == 7
    assert "\n  needs_scores: yes\n" in og.text(og.case_uri)
    # After the rename the case still checks: nothing unknown, nothing newly missing.
    await og.wait_idle()
    assert sorted(og.codes(og.case_uri)) == codes_before, og.published(og.case_uri)
