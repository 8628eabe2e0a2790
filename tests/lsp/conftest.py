"""Fixtures: the real `playbook lsp` binary, started once per test by pytest-lsp, initialised
with the capabilities of VS Code or Neovim (every test runs with both) on a scratch workspace."""

from __future__ import annotations

import pytest
import pytest_asyncio
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_support import Session, make_client, make_workspace, playbook_bin

CAPABILITY_SETS = ["visual-studio-code", "neovim"]


@pytest.fixture(scope="session", autouse=True)
def _playbook_binary_exists():
    binary = playbook_bin()
    if not binary.is_file():
        pytest.fail(f"{binary} does not exist: build it (cargo build --release -p playbook) or set PLAYBOOK_BIN")


@pytest.fixture
def workspace(tmp_path):
    return make_workspace(tmp_path / "ws")


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[str(playbook_bin()), "lsp"], client_factory=make_client),
    params=CAPABILITY_SETS,
    ids=["vscode", "neovim"],
)
async def lsp_client(lsp_client: LanguageClient, request, workspace):
    capabilities = client_capabilities(request.param)
    root = workspace.as_uri()
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root,
            workspace_folders=[types.WorkspaceFolder(uri=root, name="ws")],
        )
    )
    lsp_client.initialize_result = result
    lsp_client.capability_set = request.param
    yield
    await lsp_client.shutdown_session()


@pytest_asyncio.fixture
async def session(lsp_client: LanguageClient, workspace) -> Session:
    result = lsp_client.initialize_result
    encoding = result.capabilities.position_encoding or "utf-16"
    encoding = getattr(encoding, "value", encoding)
    offered = lsp_client.capabilities.general and lsp_client.capabilities.general.position_encodings
    offered = [getattr(e, "value", e) for e in offered or []]
    # The server uses UTF-8 when the client offers it (Neovim), else UTF-16 (VS Code).
    assert encoding == ("utf-8" if "utf-8" in offered else "utf-16"), (encoding, offered)
    s = Session(lsp_client, workspace, encoding, lsp_client.capability_set)
    await s.wait_idle()
    return s
