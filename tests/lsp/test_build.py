"""Builds through the real server over stdio: every `playbook/buildEvent` in order, replay
from an id after reconnecting to a new server, an Activity's code lens going from "not run"
to "✓", hover and completion answered while ~1,000 events a second stream, `$/progress`, and
an untrusted workspace where the run commands refuse and nothing executes.

Latency while streaming is printed, not asserted (the benchmark driver measures it)."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest
from lsprotocol import types
from lsp_support import TIMEOUT, lens_titles, open_file, run_command, send, start_server, stop_server

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(6 * TIMEOUT)]

# ~1,000 log lines a second for about three seconds: ten lines, then a 10 ms pause.
STREAM = 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); [ $((i % 10)) -eq 0 ] && sleep 0.01; done; true'

PLAYBOOK = """# Build from the editor

## Phase 1: Build

### Purpose

Exercise builds through the language server.

### Discovery items

#### greeting

* **Ask:** What should the first step print?
* **Why:** Shows that answers reach scripts as data.
* **Required:** yes
* **Type:** text
* **Impact:** informational

### Activities

#### 1. say_hello

* **Inputs:** `greeting`.
* **Side effects:** workspace — writes `hello.txt`.
* **On failure:** abort.

Print the greeting and keep it.

```sh run
printf '%s\\n' "$PLAYBOOK_GREETING" | tee hello.txt
```

#### 2. stream_logs

* **Inputs:** `greeting`.
* **Side effects:** none.
* **On failure:** abort.

Print many lines quickly.

```sh run
STREAM
```
""".replace("STREAM", STREAM)

CASE = "playbook: playbook.md\nanswers:\n  greeting: hello; $(touch pwned) `touch pwned2`\n"


def build_workspace(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "playbook.md").write_text(PLAYBOOK, encoding="utf-8")
    (root / "working_case.yaml").write_text(CASE, encoding="utf-8")
    return root.resolve()


async def wait_lens(client, playbook_uri: str, line: int, prefix: str) -> list[str]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        titles = await lens_titles(client, playbook_uri, line)
        if any(t.startswith(prefix) for t in titles):
            return titles
        await asyncio.sleep(0.05)
    raise AssertionError(f"no lens starting with {prefix!r} on line {line}: {await lens_titles(client, playbook_uri, line)}")


def field(event, name: str):
    return event.get(name) if isinstance(event, dict) else getattr(event, name, None)


def summary_of(client, job: str):
    return next((e for e in client.build_events if field(e, "job") == job and field(e, "kind") == "summary"), None)


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


@pytest.mark.parametrize("capability_set", ["visual-studio-code", "neovim"], ids=["vscode", "neovim"])
async def test_a_build_streams_in_order_replays_after_reconnect_and_keeps_answering(tmp_path, capability_set):
    root = build_workspace(tmp_path / "ws")
    client = await start_server(root, capability_set, trusted=True)
    playbook_uri = (root / "playbook.md").as_uri()
    case_uri = open_file(client, root / "working_case.yaml")
    stream_line = PLAYBOOK.splitlines().index("#### 2. stream_logs")

    assert await wait_lens(client, playbook_uri, stream_line, "not run") == ["not run", "▶ Run"]

    started = await run_command(client, "playbook.runBuild", {"uri": case_uri})
    job = field(started, "job")
    assert job, started

    # Hover and completion keep answering while the build streams.
    hover_ms, completion_ms = [], []
    position = types.Position(line=2, character=4)
    doc = types.TextDocumentIdentifier(uri=case_uri)
    deadline = time.monotonic() + 4 * TIMEOUT
    while summary_of(client, job) is None and time.monotonic() < deadline:
        t0 = time.perf_counter()
        hover = await send(client, types.TEXT_DOCUMENT_HOVER, types.HoverParams(text_document=doc, position=position))
        t1 = time.perf_counter()
        completion = await send(client, types.TEXT_DOCUMENT_COMPLETION, types.CompletionParams(text_document=doc, position=position))
        t2 = time.perf_counter()
        assert hover is not None and completion is not None
        if summary_of(client, job) is None:
            hover_ms.append((t1 - t0) * 1000)
            completion_ms.append((t2 - t1) * 1000)
        await asyncio.sleep(0.01)
    summary = summary_of(client, job)
    assert summary is not None, "no summary event"
    assert len(hover_ms) >= 10, f"only {len(hover_ms)} hover answers while the build streamed"
    events = [e for e in client.build_events if field(e, "job") == job]
    logs = [e for e in events if field(e, "kind") == "log" and field(e, "activity") == "stream_logs"]
    print(
        f"\n[{capability_set}] {len(events)} events; while streaming: hover p50 {statistics.median(hover_ms):.1f} ms "
        f"p99 {p(hover_ms, 0.99):.1f} ms ({len(hover_ms)}), completion p50 {statistics.median(completion_ms):.1f} ms "
        f"p99 {p(completion_ms, 0.99):.1f} ms"
    )

    # Every event, in order: ids 1..n, job_start first, summary last.
    ids = [field(e, "id") for e in events]
    assert ids == list(range(1, len(ids) + 1))
    kinds = [field(e, "kind") for e in events if field(e, "kind") != "log"]
    assert kinds == ["job_start", "step_start", "step_done", "step_start", "step_done", "summary"], kinds
    assert field(summary, "status") == "succeeded"
    assert [field(e, "message") for e in logs] == [f"line {i}" for i in range(3000)]
    # The answer reached the script as data: printed verbatim, nothing executed.
    hello = [field(e, "message") for e in events if field(e, "activity") == "say_hello" and field(e, "kind") == "log"]
    assert hello == ["hello; $(touch pwned) `touch pwned2`"]
    workspace = root / ".playbook" / "builds" / job / "workspace"
    assert not (workspace / "pwned").exists() and not (workspace / "pwned2").exists()

    # $/progress: begin, reports, end (the client supports work-done progress).
    reports = [r for token, rs in client.progress_reports.items() if job in str(token) for r in rs]
    assert reports and reports[0].kind == "begin" and reports[-1].kind == "end", reports

    titles = await wait_lens(client, playbook_uri, stream_line, "✓")
    assert titles[0].startswith("✓ ") and "s · " in titles[0], titles

    # Reconnect: a new server replays the job from an id, identical to what was streamed.
    await stop_server(client)
    second = await start_server(root, capability_set, trusted=False)
    open_file(second, root / "working_case.yaml")
    after = 7
    replayed = await send(second, "playbook/buildEvents", {"job": job, "after": after})
    as_dicts = [dict(r) if isinstance(r, dict) else vars(r) for r in replayed]
    assert [field(r, "id") for r in as_dicts] == ids[after:]
    assert [(field(r, "kind"), field(r, "message")) for r in as_dicts] == [(field(e, "kind"), field(e, "message")) for e in events[after:]]
    # A reviewer's untrusted editor still sees the committed status.
    titles = await wait_lens(second, playbook_uri, stream_line, "✓")
    assert "▶ Run" not in titles
    await stop_server(second)


async def test_an_untrusted_workspace_refuses_to_run_and_executes_nothing(tmp_path):
    root = build_workspace(tmp_path / "ws")
    client = await start_server(root, "visual-studio-code", trusted=False)
    case_uri = open_file(client, root / "working_case.yaml")
    for command, args in [("playbook.runBuild", {"uri": case_uri}), ("playbook.runActivity", {"uri": case_uri, "activity": "say_hello"})]:
        with pytest.raises(Exception) as refused:
            await run_command(client, command, args)
        assert "not trusted" in str(refused.value), refused.value
    assert client.build_events == []
    assert not (root / ".playbook").exists()
    assert any("not trusted" in m.message for m in client.messages), client.messages
    await stop_server(client)
