"""course.py: what `lab` starts and installs, and when it installs again (no pip run here).

The set-up itself is measured on a fresh clone (README, "Quick start"); these tests pin down the
choices behind it: JupyterLab's root is the repository, its terminals find the course's ``k8slearn``,
``lab`` installs no test tools, and each install flavour keeps its own stamp.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    tomllib = None

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("course", ROOT / "course.py")
course = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course)

TEST_TOOLS = ("pytest", "nbval", "hypothesis", "playwright", "kubernetes-validate")


def _name(requirement: str) -> str:
    m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return m.group(0).lower().replace("_", "-") if m else ""


def test_jupyterlab_serves_the_repository_with_its_own_workspaces():
    command = course.lab_command(["--no-browser"])
    assert command[:4] == [str(course.PYTHON), "-m", "jupyter", "lab"]
    assert f"--ServerApp.root_dir={ROOT}" in command
    assert f"--LabApp.workspaces_dir={course.WORKSPACES}" in command
    # no file named on the command line: JupyterLab would make its folder (notebooks/) the landing place
    assert not any(arg.endswith(".ipynb") for arg in command)
    assert "--no-browser" in command
    if os.name != "nt":  # a plain interactive shell: a login shell would reset PATH from /etc/profile
        (shell,) = [a for a in command if a.startswith("--ServerApp.terminado_settings=")]
        assert shell.endswith(os.environ.get("SHELL") or "sh") and " -l" not in shell


def test_the_first_start_opens_notebook_00_with_the_browser_at_the_root(tmp_path, monkeypatch):
    import json
    import sys

    monkeypatch.setattr(course, "PYTHON", Path(sys.executable))
    monkeypatch.setattr(course, "WORKSPACES", tmp_path / "workspaces")
    course.first_workspace()
    (saved,) = (tmp_path / "workspaces").glob("default-*.jupyterlab-workspace")
    data = json.loads(saved.read_text())["data"]
    assert data["layout-restorer:data"]["main"]["current"] == "notebook:notebooks/00-start-here.ipynb"
    assert data["notebook:notebooks/00-start-here.ipynb"]["data"]["path"] == "notebooks/00-start-here.ipynb"
    assert data["file-browser-filebrowser:cwd"] == {"path": ""}
    saved.write_text(saved.read_text().replace("00-start-here", "05-imbalance"))
    course.first_workspace()
    assert "05-imbalance" in saved.read_text(), "later starts keep the learner's own layout"


def test_jupyterlab_terminals_find_the_courses_k8slearn(monkeypatch):
    monkeypatch.setenv("PATH", os.pathsep.join(["/usr/bin", "/bin"]))
    env = course.course_env()
    assert env["PATH"].split(os.pathsep)[0] == str(course.BIN)
    assert env["VIRTUAL_ENV"] == str(course.VENV)
    assert env["PATH"].endswith("/usr/bin" + os.pathsep + "/bin"), "the rest of PATH is kept"


def test_lab_installs_no_test_tools():
    lab, test = course.pip_command("lab"), course.pip_command("test")
    assert "-e" in lab and lab[lab.index("-e") + 1] == "."
    assert test[test.index("-e") + 1] == ".[test]"
    assert "--no-compile" in lab
    for tool in TEST_TOOLS:
        packages = lab[lab.index("install") + 1:]
        assert not any(_name(arg) == tool for arg in packages), tool
    if tomllib is None:
        pytest.skip("tomllib needs Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(d) for d in project["dependencies"]}
    assert not runtime & set(TEST_TOOLS), "test tools belong in the [test] extra"
    assert set(TEST_TOOLS) <= {_name(d) for d in project["optional-dependencies"]["test"]}


def test_each_flavour_keeps_its_own_stamp(tmp_path, monkeypatch):
    monkeypatch.setattr(course, "VENV", tmp_path)
    assert not course.installed("lab") and not course.installed("test")
    course.stamp("lab").write_text(course.digest() + "\n")
    assert course.installed("lab") and not course.installed("test")
    course.stamp("test").write_text(course.digest() + "\n")
    assert course.installed("test")
    course.stamp("lab").unlink()
    assert course.installed("lab"), "a test install serves lab too: going back to lab installs nothing"
    course.stamp("test").write_text("an older pyproject.toml\n")
    assert not course.installed("lab") and not course.installed("test"), "a changed pyproject.toml installs again"


def test_usage_names_every_command(capsys):
    assert course.main(["frobnicate"]) == 2
    usage = capsys.readouterr().err
    for command in ("course.py lab", "course.py setup", "course.py test"):
        assert command in usage


def test_setup_doc_tells_not_run_yet_from_extension_missing():
    """docs/setup.md's diagnostic: a slider means widgets work; its text fallback means no extension."""
    ipywidgets = pytest.importorskip("ipywidgets")
    text = (ROOT / "docs" / "setup.md").read_text()
    fallback = ipywidgets.IntSlider()._repr_mimebundle_()["text/plain"]
    assert f"the text `{fallback}`\nmeans the extension is missing" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "VBox(children=" in line]
    assert len(rows) == 2, "one row for a cell not run yet, one for a missing extension"
    assert rows[0].startswith("| Before you run the cell") and "has not run yet" in rows[0]
    assert rows[1].startswith("| **After** running the cell") and "no widget extension" in rows[1]
