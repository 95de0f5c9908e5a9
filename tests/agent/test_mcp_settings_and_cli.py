"""`directpost mcp`'s settings and command line: where the app is, which token (never printed),
the one line when the MCP SDK is not installed, and the agent package's shape."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import directpost.agent
from directpost.agent.settings import SettingsProblem, load_settings
from directpost.cli import app as cli

TOKEN = "dpat_" + "s3cr3t" * 7


def test_the_environment_names_the_app_and_the_token() -> None:
    settings = load_settings(
        environ={"DIRECTPOST_URL": "http://127.0.0.1:8000/", "DIRECTPOST_TOKEN": TOKEN}
    )
    assert settings.url == "http://127.0.0.1:8000"
    assert settings.token == TOKEN
    assert TOKEN not in repr(settings)


def test_a_token_file_wins_over_the_variable_and_options_over_the_environment(
    tmp_path: Path,
) -> None:
    from_file = "dpat_" + "f" * 43
    (tmp_path / "token").write_text(from_file + "\n")
    env = {
        "DIRECTPOST_URL": "http://env.example",
        "DIRECTPOST_TOKEN": TOKEN,
        "DIRECTPOST_TOKEN_FILE": str(tmp_path / "token"),
    }
    assert load_settings(environ=env).token == from_file
    chosen = load_settings(
        url="https://app.example", token_file=str(tmp_path / "token"), environ={}
    )
    assert (chosen.url, chosen.token) == ("https://app.example", from_file)


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"DIRECTPOST_TOKEN": TOKEN}, "set DIRECTPOST_URL"),
        ({"DIRECTPOST_URL": "ftp://x", "DIRECTPOST_TOKEN": TOKEN}, "must be the app's address"),
        ({"DIRECTPOST_URL": "http://x"}, "Give a personal access token"),
        ({"DIRECTPOST_URL": "http://x", "DIRECTPOST_TOKEN": "hunter2"}, "start with dpat_"),
        ({"DIRECTPOST_URL": "http://x", "DIRECTPOST_TOKEN_FILE": "/nonexistent/t"}, "Cannot read"),
    ],
)
def test_missing_or_wrong_settings_say_what_to_set_without_echoing_secrets(
    environ: dict[str, str], says: str
) -> None:
    with pytest.raises(SettingsProblem) as refused:
        load_settings(environ=environ)
    assert says in str(refused.value)
    assert "hunter2" not in str(refused.value) and TOKEN not in str(refused.value)


def test_the_command_refuses_a_wrong_token_in_one_line_with_exit_2() -> None:
    result = CliRunner().invoke(
        cli, ["mcp"], env={"DIRECTPOST_URL": "http://127.0.0.1:9", "DIRECTPOST_TOKEN": "hunter2"}
    )
    assert result.exit_code == 2
    assert "directpost mcp: That is not a directpost personal access token" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_without_the_mcp_sdk_the_command_says_to_install_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(sys.modules):
        if name == "mcp" or name.startswith(("mcp.", "directpost.agent.")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mcp", None)  # as if not installed
    result = CliRunner().invoke(
        cli, ["mcp"], env={"DIRECTPOST_URL": "http://127.0.0.1:9", "DIRECTPOST_TOKEN": TOKEN}
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "directpost mcp: the MCP SDK is not installed; install it with: "
        "pip install 'directpost[mcp]'"
    ]


def test_only_the_app_api_module_imports_httpx2() -> None:
    root = Path(directpost.agent.__file__).parent
    importers = sorted(p.name for p in root.glob("*.py") if "import httpx2" in p.read_text())
    assert importers == ["app_api.py"]
