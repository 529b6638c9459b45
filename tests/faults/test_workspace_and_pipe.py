"""An unusable LADDER_HOME (a file, a folder that cannot be written) and a closed output pipe:
one clear line from the CLI, a red message on the page, and a quiet exit on `| head`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LADDER, ROOT


def _unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot write to (root may write anywhere, but not into /proc)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder if not os.access(folder, os.W_OK) else Path("/proc")


def _homes(tmp_path: Path) -> dict[str, tuple[Path, list[str]]]:
    a_file = tmp_path / "workspace.txt"
    a_file.write_text("not a folder")
    return {"a file": (a_file, ["is a file, not a folder", "point LADDER_HOME at a folder"]),
            "unwritable": (_unwritable(tmp_path), ["cannot be written",
                                                    "a folder you can write to"])}


@pytest.mark.parametrize("case", ["a file", "unwritable"])
def test_cli_names_an_unusable_workspace_in_one_line(case, tmp_path):
    home, words = _homes(tmp_path)[case]
    env = dict(os.environ, LADDER_HOME=str(home))
    p = subprocess.run([*LADDER, "data", "list"], capture_output=True, text=True, env=env,
                       timeout=120, cwd=ROOT)
    assert p.returncode == 1 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ladder: error: LADDER_HOME={home}"), p.stderr
    for w in words:
        assert w in lines[0]
    if case == "a file":
        assert home.read_text() == "not a folder"


@pytest.mark.parametrize("case", ["a file", "unwritable"])
def test_page_shows_an_unusable_workspace_as_one_message(case, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    home, words = _homes(tmp_path)[case]
    monkeypatch.setenv("LADDER_HOME", str(home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    [error] = at.error
    for w in words:
        assert w in error.value


BAD_SETTINGS = [("LADDER_BATCH_SIZE", "-1", "must be at least 1"),
                ("LADDER_BATCH_TOKENS", "0", "must be at least 16"),
                ("LADDER_DEVICE", "gpu", "must be auto, cpu or cuda")]


@pytest.mark.parametrize("var, value, said", BAD_SETTINGS)
def test_a_bad_setting_is_one_line_in_every_command_and_on_the_page(var, value, said, tmp_path,
                                                                   monkeypatch):
    env = dict(os.environ, LADDER_HOME=str(tmp_path / "ws"), **{var: value})
    for argv in (["--help"], ["data", "list"]):
        p = subprocess.run([*LADDER, *argv], capture_output=True, text=True, env=env,
                           timeout=120, cwd=ROOT)
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 1 and p.stdout == "" and len(lines) == 1, p.stderr
        assert lines[0].startswith(f"ladder: error: {var}={value} is not usable: ")
        assert said in lines[0]
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LADDER_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv(var, value)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    [error] = at.error
    assert f"{var}={value} is not usable" in error.value and said in error.value


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`ladder ... --json | head`: the reader is gone before the JSON is written."""
    env = dict(os.environ, LADDER_HOME=str(tmp_path / "ws"))
    p = subprocess.Popen([*LADDER, "models", "list", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=ROOT)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141  # 128 + SIGPIPE, as a shell reports for `cat | head`
    assert err == ""
    shell = subprocess.run(f"{' '.join(LADDER)} models list --json | head -c 1",
                           shell=True, capture_output=True, text=True, env=env, timeout=120)
    assert shell.stdout == "{" and shell.stderr == ""
