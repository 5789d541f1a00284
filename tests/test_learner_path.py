"""A learner's path in a real browser, on JupyterLab started the way ``course.py lab`` starts it.

From the landing page to a graded exercise:

1. The landing page (the repository as JupyterLab's root, notebook 00 open): the file browser shows
   ``exercises/`` and ``docs/`` next to ``notebooks/``.
2. The glossary link in notebook 00 opens the glossary, rendered (JupyterLab's Markdown viewer).
3. Run All on an unanswered exercise notebook completes with no error output: every check shows
   "Not attempted yet." as a styled message and the last cell counts them. Then one answer is typed
   in, the notebook run again and saved: that check says "Right".
4. In JupyterLab's terminal (a new terminal opens in the root, with the course's environment on its
   PATH), ``k8slearn check exercises/04-...ipynb`` grades the saved notebook, and so does
   ``cd exercises && k8slearn check 04-...ipynb``.

JupyterLab runs with ``course.py``'s own command line and environment (``lab_command``,
``course_env``) on a temporary copy of the course, so nothing in the repository is touched, using
the Python environment the tests run in as the course's ``.venv``. Screenshots of each step go to
``test-artifacts/learner-path/`` (gitignored).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "learner-path"
EXERCISE = "04-external-traffic-policy-local.ipynb"
# Exercise 4.1 answered right, in single quotes (it is typed into JupyterLab through JavaScript).
ANSWER_4_1 = "answer = {'node-a': 'delivered', 'node-b': 'dropped', 'node-c': 'delivered', 'node-d': 'dropped'}"

from k8slearn import browser  # noqa: E402

if browser.missing():  # skip this module, with the reason, when chromium or playwright is missing
    pytest.skip(browser.missing(), allow_module_level=True)

from k8slearn.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    KERNEL_IDLE,
    RUN_STATE,
    TIMEOUT_MS,
    dismiss_popups,
    free_port,
    stop,
    wait_for_http,
)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


def _course_module(root: Path) -> Any:
    """course.py of the copy at ``root``, with this test run's Python environment as its .venv."""
    spec = importlib.util.spec_from_file_location("course_copy", root / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.VENV = Path(sys.prefix)
    module.BIN = Path(sys.executable).parent
    module.PYTHON = Path(sys.executable)
    module.WORKSPACES = root.parent / "workspaces"  # not in the test environment's own prefix
    return module


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """JupyterLab on a copy of the course, started with course.py's command and environment."""
    tmp = tmp_path_factory.mktemp("learner")
    root = tmp / "k8slearn"
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "src", "__pycache__")
    for folder in ("notebooks", "exercises", "solutions", "docs"):
        shutil.copytree(ROOT / folder, root / folder, ignore=skip)
    for name in ("course.py", "README.md"):
        shutil.copy(ROOT / name, root / name)
    module = _course_module(root)
    module.first_workspace()  # as `course.py lab` does before its first start
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(module.course_env(),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    # The terminal must find k8slearn through PATH alone, as a learner's would.
    env["PATH"] = os.pathsep.join([str(module.BIN), "/usr/local/bin", "/usr/bin", "/bin"])
    env["SHELL"] = "/bin/bash"
    port = free_port()
    command = module.lab_command(["--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                                  "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.port_retries=0",
                                  "--LabApp.expose_app_in_browser=True"])
    log = tmp / "jupyterlab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/api/status", proc, log)
        yield {"base": base, "root": root, "command": command, "log": log}
    finally:
        stop(proc)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "jupyterlab.log")


@pytest.fixture(scope="module")
def page(course: dict) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.errors = errors  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            browser.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let JupyterLab finish painting
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def wait_kernel(page: Page) -> None:
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
    page.wait_for_function(KERNEL_IDLE)
    page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\|\s*Idle")).wait_for()
    dismiss_popups(page)


def run_all(page: Page) -> dict:
    page.evaluate("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .filter(c => c.model.type === 'code').every(c => c.model.executionCount === null)""")
    page.evaluate("() => { window.jupyterapp.commands.execute('runmenu:run-all'); }")
    state = page.wait_for_function(RUN_STATE, timeout=TIMEOUT_MS).json_value()
    assert state["state"] == "done", f"Run All stopped at an error: {state}"
    return state


def terminal_text(page: Page) -> str:
    """What the current terminal shows, read from xterm's buffer."""
    return page.evaluate("""() => {
      const t = window.jupyterapp.shell.currentWidget.content._term;
      const b = t.buffer.active, lines = [];
      for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
      return lines.join('\\n');
    }""")


def type_in_terminal(page: Page, command: str, until: str, seconds: float = 120) -> str:
    page.locator(".jp-Terminal .xterm-helper-textarea").focus()
    page.keyboard.type(command)
    page.keyboard.press("Enter")
    deadline = seconds * 1000
    waited = 0
    while waited < deadline:
        text = terminal_text(page)
        if re.search(until, text):
            return text
        page.wait_for_timeout(250)
        waited += 250
    raise AssertionError(f"the terminal never showed {until!r}:\n{terminal_text(page)[-2000:]}")


# ---------------------------------------------------------------------- the path, step by step
def test_1_landing_shows_exercises_and_docs(course: dict, page: Page) -> None:
    assert f"--ServerApp.root_dir={course['root']}" in course["command"], "course.py serves the repository root"
    # the browser opens JupyterLab's default URL, /lab: the workspace course.py prepared on the first start
    page.goto(f"{course['base']}/lab")
    wait_kernel(page)
    listing = page.locator(".jp-FileBrowser .jp-DirListing-content")
    assert page.evaluate("window.jupyterapp.shell.currentWidget.context.path") == "notebooks/00-start-here.ipynb"
    for name in ("exercises", "docs", "notebooks", "solutions"):
        listing.locator(".jp-DirListing-item", has_text=name).first.wait_for()
    shot(page, "1-landing")
    assert not page.errors, f"JavaScript errors: {page.errors}"  # type: ignore[attr-defined]


def test_2_glossary_link_opens_the_glossary(course: dict, page: Page) -> None:
    page.goto(f"{course['base']}/lab/tree/notebooks/00-start-here.ipynb?reset")
    wait_kernel(page)
    link = page.locator(".jp-Notebook .jp-RenderedMarkdown").get_by_role("link", name="glossary", exact=True).first
    link.scroll_into_view_if_needed()
    shot(page, "2a-link-in-notebook-00")
    link.click()
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.title.label === 'glossary.md'")
    viewer = page.locator(".jp-RenderedMarkdown").filter(has_text="Glossary").last
    viewer.wait_for(state="visible")
    first_heading = (ROOT / "docs" / "glossary.md").read_text().splitlines()[0].lstrip("# ").strip()
    assert first_heading in viewer.inner_text(), "the glossary is shown rendered, from its first heading"
    shot(page, "2b-glossary")


def test_3_run_all_on_an_unanswered_exercise(course: dict, page: Page) -> None:
    page.goto(f"{course['base']}/lab/tree/exercises/{EXERCISE}?reset")
    wait_kernel(page)
    state = run_all(page)
    assert state["cells"] >= 12
    feedback = page.locator(".k8sl-feedback")
    assert feedback.count() == 5, "each of the five checks shows its feedback"
    assert all(t.startswith("\u2026 Not attempted yet.") for t in feedback.all_inner_texts())
    assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
    summary = page.locator(".k8sl-summary")
    summary.scroll_into_view_if_needed()
    assert "Exercises 04: 0 done, 5 not attempted (of 5)" in summary.inner_text()
    shot(page, "3a-run-all-unanswered")
    feedback.first.scroll_into_view_if_needed()
    shot(page, "3b-not-attempted-feedback")

    # answer 4.1, run everything again and save: the learner's work, ready for k8slearn check
    page.evaluate("""() => {
      const nb = window.jupyterapp.shell.currentWidget.content;
      const cell = nb.widgets.find(c => (c.model.getMetadata('nbgrader') || {}).grade_id === 'answer-4-1');
      cell.model.sharedModel.setSource(ANSWER);
    }""".replace("ANSWER", json.dumps(ANSWER_4_1)))
    run_all(page)
    assert feedback.first.inner_text().startswith("\u2713 Right:"), feedback.first.inner_text()
    assert "Exercises 04: 1 done, 4 not attempted (of 5)" in summary.inner_text()
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    saved = course["root"] / "exercises" / EXERCISE
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    assert "'node-b': 'dropped'" in saved.read_text()
    feedback.first.scroll_into_view_if_needed()
    shot(page, "3c-one-answer-right")


def test_4_k8slearn_check_in_a_jupyterlab_terminal(course: dict, page: Page) -> None:
    page.goto(f"{course['base']}/lab?reset")
    page.wait_for_selector(".jp-Launcher, .jp-FileBrowser")
    dismiss_popups(page)
    page.evaluate("window.jupyterapp.commands.execute('terminal:create-new')")
    page.locator(".jp-Terminal .xterm-helper-textarea").wait_for(state="attached")
    page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget;"
                           " return w && w.content && w.content._term; }")
    type_in_terminal(page, "pwd; which k8slearn", r"k8slearn\n")
    text = type_in_terminal(page, f"k8slearn check exercises/{EXERCISE}", r"5 exercises: .*")
    assert str(course["root"]) in text, "a new terminal opens in the course folder"
    assert re.search(r"4\.1\s+done", text) and re.search(r"4\.2\s+not attempted", text), text[-1500:]
    assert "5 exercises: 1 done, 4 not attempted" in text
    shot(page, "4a-terminal-check")
    page.keyboard.type("clear")
    page.keyboard.press("Enter")
    text = type_in_terminal(page, f"cd exercises && k8slearn check {EXERCISE}; echo exit code $?",
                            r"exit code \d")
    assert "5 exercises: 1 done, 4 not attempted" in text and "exit code 1" in text, text[-1500:]
    shot(page, "4b-terminal-check-in-exercises")
    assert "Traceback" not in text
