"""The course in a real browser: JupyterLab 4 and Voila driven by headless Chromium.

What this covers, end to end, the way a learner meets it:

1. JupyterLab starts from the test environment (binder's pins) with no extension step, on a temporary
   copy of ``notebooks/`` (so autosave never touches the repository).
2. ``00-start-here.ipynb``: wait for the kernel, clear outputs, Run All (``runmenu:run-all``); every
   code cell runs without an unexpected error, figures are shown as images and the explorer widget
   renders (no "Loading widget..." / "Error displaying widget" placeholder).
3. ``explorer-app.ipynb`` in JupyterLab: Run All, then click Local (externalTrafficPolicy) -> the
   metrics line changes to "client IP preserved 100%"; move ``web-2`` to ``node-c`` -> the cluster
   version goes up and the metrics show "imbalance 1.0"; "Send one packet" -> the diagram image is
   replaced (new ``src``), the packet counter goes up and the hop table has rows whose first line says
   the pod sees the client's own IP.
4. The same notebook as the Voila app view (``/voila/render/...``, the README's app link): code hidden,
   the explorer renders, and clicking Local changes the metrics.

Screenshots go to ``test-artifacts/browser/`` (gitignored). The test uses Debian's chromium
(``/usr/bin/chromium``) through Playwright for Python and is skipped, with the reason, when either
is missing; Playwright's own browser download does not work here and is never used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 90_000  # one notebook's Run All on a slow CI machine, with room to spare

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium; .ci/run does it)",
                allow_module_level=True)
try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:
    pytest.skip("playwright is not installed (it is in the test extra: python3 course.py test)",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on a free localhost port, serving a temporary copy of notebooks/; always stopped."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "course"
    shutil.copytree(ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "src"))
    # Answer JupyterLab's "receive official Jupyter news?" question in advance (the pop-up is still
    # dismissed below if it shows), and keep workspaces and runtime files out of the user's home.
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ,
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               # the kernels draw like a learner's (conftest sets Agg for the tests themselves)
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    port = free_port()
    log = tmp / "jupyterlab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", "--ServerApp.token=", "--ServerApp.password=", "--allow-root",
             f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
             "--ServerApp.port_retries=0"],
            cwd=root, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/api/status", proc, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "jupyterlab.log")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Page]:
    # A laptop-sized window; the explorer tests use a tall one so the whole explorer (about
    # 2,900 px high) fits in the notebook panel and its element screenshots are complete.
    height = 1000 if "start_here" in request.node.name else 3400
    context = browser.new_context(viewport={"width": 1440, "height": height})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.errors = errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def shot(page: Page, name: str, target: Any = None) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    (target or page).screenshot(path=str(path))
    return path


# ---------------------------------------------------------------------- JupyterLab helpers
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


def dismiss_popups(page: Page) -> None:
    """Close JupyterLab's news question and any other toast that may cover the notebook."""
    for name in ("No", "Dismiss"):
        button = page.locator(".jp-Notification-Toast-Close, .Toastify__toast button").filter(has_text=name)
        if button.count():
            button.first.click()
    close = page.locator(".Toastify__close-button, .jp-Notification-Toast-Close")
    for i in range(close.count()):
        if close.nth(i).is_visible():
            close.nth(i).click()


def open_notebook(page: Page, base: str, path: str) -> None:
    page.goto(f"{base}/lab/tree/{path}?reset")  # ?reset: no tabs restored from an earlier test
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
    # "Idle" shows before a kernel is attached on a fresh server; Run All then opens a
    # kernel-selection dialog. Wait for a connected, idle kernel in the app and in the status bar.
    page.wait_for_function(KERNEL_IDLE)
    page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\|\s*Idle")).wait_for()
    dismiss_popups(page)


def run_all(page: Page) -> dict:
    # Clear first: the stored notebook already has execution counts, so "every cell has a count"
    # only means something after clearing.
    page.evaluate("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .filter(c => c.model.type === 'code').every(c => c.model.executionCount === null)""")
    page.evaluate("() => { window.jupyterapp.commands.execute('runmenu:run-all'); }")
    handle = page.wait_for_function(RUN_STATE, timeout=TIMEOUT_MS)
    state = handle.json_value()
    assert state["state"] == "done", f"a cell failed in the browser: {state}"
    assert not page.locator(".jp-Dialog").count(), "a dialog (kernel selection?) is open"
    return state


def text(locator: Any) -> str:
    return re.sub(r"\s+", " ", locator.inner_text()).strip()


def img_src(locator: Any) -> str:
    return locator.locator("img").first.get_attribute("src") if locator.evaluate("e => e.tagName") != "IMG" \
        else locator.get_attribute("src")


def wait_changed(page: Page, read: Any, old: str, what: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        new = read()
        if new != old:
            return new
        page.wait_for_timeout(100)
    raise AssertionError(f"{what} did not change (still {old[:120]!r})")


JS_ERROR = "Click to show javascript error."


def widget_view_error(page: Page) -> str | None:
    """The message of a widget view that failed to render (ipywidgets shows a placeholder), if any."""
    placeholder = page.get_by_text(JS_ERROR)
    if not placeholder.count():
        return None
    placeholder.first.click()  # ipywidgets then shows the JavaScript error in place
    details = page.locator("pre").filter(has_text="Failed to create view")
    try:
        details.first.wait_for(timeout=5000)
        return details.first.inner_text()[:600]
    except Exception:  # noqa: BLE001 -- the placeholder itself is the failure
        return JS_ERROR


def assert_widgets_rendered(page: Page) -> None:
    assert not page.get_by_text("Error displaying widget").count(), "a widget failed to render"
    assert not page.get_by_text("Loading widget...").count(), "a widget never rendered"
    error = widget_view_error(page)
    assert error is None, f"a widget view failed in the browser:\n{error}"


def assert_pictures_drawn(page: Page, explorer: Any) -> None:
    """The explorer's diagram and chart are PNGs the browser decoded (not empty or broken images)."""
    for name in ("k8sl-diagram", "k8sl-chart"):
        img = explorer.locator(f"img.{name}")
        deadline = time.monotonic() + 30
        while not img.count() and time.monotonic() < deadline:  # views render asynchronously
            error = widget_view_error(page)
            assert error is None, f"{name}: the widget view failed in the browser:\n{error}"
            page.wait_for_timeout(200)
        img.wait_for(state="attached", timeout=1000)
        img.scroll_into_view_if_needed()
        img.wait_for(state="visible")
        width = img.evaluate("e => e.decode().then(() => e.naturalWidth, () => 0)")
        assert width > 200, f"{name}: the image was not drawn (natural width {width})"


# ---------------------------------------------------------------------- the tests
def test_start_here_runs_in_jupyterlab(lab: str, page: Page) -> None:
    open_notebook(page, lab, "notebooks/00-start-here.ipynb")
    shot(page, "00-opened")
    state = run_all(page)
    assert state["cells"] >= 3
    explorer = page.locator(".k8sl-explorer")
    explorer.wait_for(state="visible")
    assert_widgets_rendered(page)
    assert_pictures_drawn(page, explorer)
    first_output = page.locator(".jp-CodeCell .jp-OutputArea-output").first
    first_output.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let JupyterLab paint cells that scrolled into view
    shot(page, "00-first-output")
    explorer.scroll_into_view_if_needed()
    shot(page, "00-explorer-lab")
    assert not page.errors, f"JavaScript errors: {page.errors}"  # type: ignore[attr-defined]


def drive_explorer(page: Page, explorer: Any, prefix: str) -> None:
    """Cluster/Local, move a pod, send a packet; each must change the page."""
    metrics = explorer.locator(".k8sl-metrics")
    status = explorer.locator(".k8sl-status")
    diagram = explorer.locator(".k8sl-diagram").first
    hops = explorer.locator(".k8sl-hops")
    metrics.get_by_text("client IP preserved").wait_for()
    before = text(metrics)
    assert "client IP preserved 0%" in before, before  # uneven() starts with Cluster
    shot(page, f"{prefix}-1-cluster", explorer)

    # 1. externalTrafficPolicy: Local
    explorer.locator(".k8sl-etp button", has_text="Local").click()
    after_local = wait_changed(page, lambda: text(metrics), before, "the metrics after clicking Local")
    assert "client IP preserved 100%" in after_local and "extra hop 0%" in after_local, after_local
    assert "imbalance 2.0" in after_local, after_local  # pods 2/1/0: 1/4, 1/4, 1/2
    shot(page, f"{prefix}-2-local", explorer)

    # 2. move web-2 from node-a to node-c
    version = text(status)
    explorer.locator(".k8sl-move-pod select").select_option("web-2")
    explorer.locator(".k8sl-move-node select").select_option("node-c")
    explorer.locator("button.k8sl-move").click()
    wait_changed(page, lambda: text(status).split("·")[0], version.split("·")[0], "the cluster version")
    moved = wait_changed(page, lambda: text(metrics), after_local, "the metrics after moving web-2")
    assert "imbalance 1.0" in moved, moved
    assert not text(explorer.locator(".k8sl-error")), text(explorer.locator(".k8sl-error"))
    shot(page, f"{prefix}-3-moved", explorer)

    # 3. send a packet: a new diagram, the packet counter, the hop table
    src = img_src(diagram)
    packets = re.search(r"packet (\d+)", text(status)).group(1)
    explorer.locator("button.k8sl-send-one").click()
    wait_changed(page, lambda: img_src(diagram), src, "the diagram image")
    wait_changed(page, lambda: re.search(r"packet (\d+)", text(status)).group(1), packets, "the packet counter")
    rows = hops.locator("tr")
    assert rows.count() >= 4, f"hop table has {rows.count()} rows"
    assert "the pod sees 198.51.100.7" in text(hops), text(hops)[:300]
    assert "KUBE-" in text(hops), "the hop table names kube-proxy's chains"
    explorer.locator(".k8sl-hops").scroll_into_view_if_needed()
    shot(page, f"{prefix}-4-packet", explorer)


def test_explorer_in_jupyterlab(lab: str, page: Page) -> None:
    open_notebook(page, lab, "notebooks/explorer-app.ipynb")
    page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")  # more room
    run_all(page)
    explorer = page.locator(".k8sl-explorer")
    explorer.wait_for(state="visible")
    assert_widgets_rendered(page)
    assert_pictures_drawn(page, explorer)
    drive_explorer(page, explorer, "explorer-lab")
    shot(page, "explorer-lab-page")
    assert not page.errors, f"JavaScript errors: {page.errors}"  # type: ignore[attr-defined]


def test_explorer_app_in_voila(lab: str, page: Page) -> None:
    """The README's app link: /voila/render/notebooks/explorer-app.ipynb on the same server."""
    pytest.importorskip("voila")
    page.goto(f"{lab}/voila/render/notebooks/explorer-app.ipynb")
    explorer = page.locator(".k8sl-explorer")
    explorer.wait_for(state="visible")
    assert_widgets_rendered(page)
    assert_pictures_drawn(page, explorer)
    assert page.get_by_text("The k8slearn explorer").count(), "the app's title"
    assert not page.get_by_text("k8s.explore(").count(), "Voila hides the code"
    shot(page, "voila-app")
    metrics = explorer.locator(".k8sl-metrics")
    metrics.get_by_text("client IP preserved").wait_for()
    before = text(metrics)
    explorer.locator(".k8sl-etp button", has_text="Local").click()
    after = wait_changed(page, lambda: text(metrics), before, "the app's metrics after clicking Local")
    assert "client IP preserved 100%" in after, after
    shot(page, "voila-app-local")
