"""JupyterLab driven by headless Chromium: what the browser tests and ``k8slearn bench --browser`` share.

Needs Playwright for Python (the ``test`` extra) and a Chromium on the machine (Debian's
``chromium`` at ``/usr/bin/chromium``; Playwright's own browser download is never used). Nothing
here runs unless asked: ``import k8slearn`` does not import it.

    with lab_server(folder) as base, chromium() as browser:
        page = new_page(browser, width=1280, height=720)
        open_notebook(page, base, "explorer.ipynb")
        run_all(page)
        ms = measure(page, ".k8sl-explorer", CLICK % ".k8sl-etp button:nth-child(2)")
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "TIMEOUT_MS", "KERNEL_IDLE", "RUN_STATE", "free_port", "wait_for_http", "stop",
           "lab_server", "chromium", "new_page", "open_notebook",
           "run_all", "measure", "missing", "dismiss_popups", "CLICK", "SELECT"]

CHROMIUM = Path(os.environ.get("K8SLEARN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 90_000  # one notebook's Run All on a slow machine, with room to spare


def missing() -> str | None:
    """Why the browser cannot be driven here (None when it can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium; .ci/run does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (it is in the test extra: python3 course.py test)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, seconds: float = 20) -> None:
    """Stop a server started as a child process: politely, then for good; always waited for."""
    proc.terminate()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def lab_server(root: Path, *, python: str = sys.executable, log_to: Path | None = None,
               theme: str | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """JupyterLab serving ``root`` on a free localhost port (no token); yields its base URL.

    Settings, workspaces and runtime files live in a temporary folder (the news pop-up is answered
    in advance; ``theme="JupyterLab Dark"`` picks the dark theme). Always stopped at the end.
    """
    with tempfile.TemporaryDirectory(prefix="k8slearn-lab-") as tmp_name:
        tmp = Path(tmp_name)
        settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        if theme:
            (settings / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))
        run_env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
                       JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
                       **(env or {}))
        port = free_port()
        log = tmp / "jupyterlab.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [python, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                 "--ServerApp.token=", "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}",
                 "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0"],
                cwd=root, stdout=out, stderr=subprocess.STDOUT, env=run_env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{base}/api/status", proc, log)
            yield base
        finally:
            stop(proc)
            if log_to is not None:
                log_to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(log, log_to)


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (the system's), through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, *, width: int = 1280, height: int = 720) -> Any:
    """A page in a fresh context; JavaScript errors are collected in ``page.errors``."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.errors = errors
    return page


KERNEL_IDLE = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  const s = w && w.sessionContext;
  const k = s && s.session && s.session.kernel;
  return !!(k && k.status === 'idle' && k.connectionStatus === 'connected' && w.content && w.content.model);
}"""

# Done when every code cell has an execution count and the kernel is idle; or stopped at an error.
RUN_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const bad = cells.filter(c => c.model.outputs.toJSON().some(o => o.output_type === 'error')
                           && !(c.model.getMetadata('tags') || []).includes('raises-exception'));
  if (bad.length) return {state: 'error', cell: bad[0].model.sharedModel.getSource().slice(0, 200),
                          output: JSON.stringify(bad[0].model.outputs.toJSON()).slice(0, 1500)};
  const pending = cells.filter(c => c.model.executionCount === null).length;
  const busy = !k || k.status !== 'idle';
  return (pending === 0 && !busy) ? {state: 'done', cells: cells.length} : null;
}"""


def dismiss_popups(page: Any) -> None:
    """Close JupyterLab's news question and any other toast that may cover the notebook."""
    for name in ("No", "Dismiss"):
        button = page.locator(".jp-Notification-Toast-Close, .Toastify__toast button").filter(has_text=name)
        if button.count():
            button.first.click()
    close = page.locator(".Toastify__close-button, .jp-Notification-Toast-Close")
    for i in range(close.count()):
        if close.nth(i).is_visible():
            close.nth(i).click()


def open_notebook(page: Any, base: str, path: str) -> None:
    """Open ``path`` (relative to the server's root) and wait for an idle, connected kernel."""
    page.goto(f"{base}/lab/tree/{path}?reset")  # ?reset: no tabs restored from an earlier page
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
    # "Idle" shows before a kernel is attached on a fresh server; Run All then opens a
    # kernel-selection dialog. Wait for a connected, idle kernel in the app and in the status bar.
    page.wait_for_function(KERNEL_IDLE)
    page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\|\s*Idle")).wait_for()
    dismiss_popups(page)


def run_all(page: Any, *, clear: bool = True) -> dict:
    """Run All in the current notebook (after clearing its outputs); returns the final state."""
    if clear:
        page.evaluate("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        page.wait_for_function("""() => window.jupyterapp.shell.currentWidget.content.widgets
            .filter(c => c.model.type === 'code').every(c => c.model.executionCount === null)""")
    page.evaluate("() => { window.jupyterapp.commands.execute('runmenu:run-all'); }")
    handle = page.wait_for_function(RUN_STATE, timeout=TIMEOUT_MS)
    return handle.json_value()


#: JavaScript bodies for :func:`measure`: click the first element matching a selector, or choose an
#: option (by its label) in a <select> inside it.
CLICK = "document.querySelector(%s).click();"
SELECT = """(() => { const s = document.querySelector(%s);
  const o = Array.from(s.options).find(o => o.textContent.replace(/\\u00a0/g, ' ') === %s);
  s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); })();"""

_MEASURE = """([selector, action, quiet, limit]) => new Promise(resolve => {
  const root = document.querySelector(selector);
  let last = null;
  const observer = new MutationObserver(() => { last = performance.now(); });
  observer.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
  const start = performance.now();
  (new Function(action))();
  const check = () => {
    const now = performance.now();
    if (last !== null && now - last >= quiet) { observer.disconnect(); resolve(last - start); }
    else if (now - start > limit) { observer.disconnect(); resolve(last === null ? -1 : last - start); }
    else setTimeout(check, 10);
  };
  setTimeout(check, 10);
})"""


def measure(page: Any, root: str, action: str, *, quiet_ms: float = 300, limit_ms: float = 10_000) -> float:
    """Milliseconds from running ``action`` (JavaScript) in the page to the last change inside ``root``.

    The learner's wait: a MutationObserver on ``root`` records every change; the update is over
    when nothing has changed for ``quiet_ms`` (not counted). -1 when nothing changed at all.
    """
    return float(page.evaluate(_MEASURE, [root, action, quiet_ms, limit_ms]))
