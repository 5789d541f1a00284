"""The course in a real browser: JupyterLab 4 and Voila driven by headless Chromium.

What this covers, end to end, the way a learner meets it, at 1280x720 (a projector):

1. JupyterLab starts from the test environment (binder's pins) with no extension step, on a temporary
   copy of ``notebooks/`` (so autosave never touches the repository).
2. ``00-start-here.ipynb``: Run All; every code cell runs without an unexpected error, pictures show
   (SVG drawn by the browser) and the explorer renders.
3. ``explorer-app.ipynb``: the explorer in five states, each screenshot telling its story on one
   screen (Cluster, Local, a drop on an empty node, compare mode, projector mode), and checked as
   content: the addresses on the path before and after the SNAT hop, the shares on the load
   balancer's edges, the packet tracer's token and highlighted hop, node colours unchanged after a
   pod moves, the differences in compare mode, text of at least 18 px in projector mode.
4. The dark theme: the explorer's text is light on dark.
5. The same notebook as the Voila app view (``/voila/render/...``, the README's app link).

Screenshots go to ``test-artifacts/browser/`` (gitignored). The test uses Debian's chromium
(``/usr/bin/chromium``) through Playwright for Python and is skipped, with the reason, when either
is missing; Playwright's own browser download does not work here and is never used.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8slearn import browser as b

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = b.CHROMIUM
CHROMIUM_ARGS = b.CHROMIUM_ARGS
TIMEOUT_MS = b.TIMEOUT_MS

if b.missing():
    pytest.skip(b.missing(), allow_module_level=True)

from playwright.sync_api import Page

# The helpers other browser tests use, by their old names.
open_notebook, run_all, dismiss_popups = b.open_notebook, b.run_all, b.dismiss_popups


def _course_copy(tmp: Path) -> Path:
    root = tmp / "course"
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "src"))
    return root


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on a free localhost port, serving a temporary copy of notebooks/; always stopped."""
    root = _course_copy(tmp_path_factory.mktemp("lab"))
    with b.lab_server(root, log_to=ARTIFACTS / "jupyterlab.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with b.chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    page = b.new_page(browser, width=1280, height=720)
    try:
        yield page
    finally:
        page.context.close()


def shot(page: Page, name: str, target: Any = None) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    (target or page).screenshot(path=str(path))
    return path


def text(locator: Any) -> str:
    return re.sub(r"\s+", " ", locator.inner_text()).strip()


def wait_for(page: Page, read: Any, ok: Any, what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    value = None
    while time.monotonic() < deadline:
        value = read()
        if ok(value):
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"{what}: still {value!r}")


def wait_changed(page: Page, read: Any, old: str, what: str, seconds: float = 30) -> str:
    return wait_for(page, read, lambda v: v != old, f"{what} did not change", seconds)


JS_ERROR = "Click to show javascript error."


def widget_view_error(page: Page) -> str | None:
    """The message of a widget view that failed to render (ipywidgets shows a placeholder), if any."""
    placeholder = page.get_by_text(JS_ERROR)
    if not placeholder.count():
        return None
    placeholder.first.click()
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


def attrs(page: Page, selector: str, *names: str) -> list[dict[str, str]]:
    """The given attributes of every element matching ``selector`` (in document order)."""
    return page.evaluate("([sel, names]) => Array.from(document.querySelectorAll(sel)).map("
                         "e => Object.fromEntries(names.map(n => [n, e.getAttribute(n)])))", [selector, list(names)])


def marked(page: Page, kind: str, *names: str, within: str = ".k8sl-scene") -> list[dict[str, str]]:
    return page.evaluate("([sel, names]) => Array.from(document.querySelectorAll(sel)).map("
                         "e => Object.assign({text: e.textContent}, "
                         "Object.fromEntries(names.map(n => [n, e.getAttribute(n)]))))",
                         [f"{within} [data-k8s='{kind}']", list(names)])


def to_top(page: Page, selector: str) -> None:
    """Scroll the notebook so ``selector``'s top is at the top of the notebook panel."""
    page.evaluate("s => document.querySelector(s).scrollIntoView({block: 'start'})", selector)
    page.wait_for_timeout(400)


def click_toggle(page: Page, control: str, label: str) -> None:
    page.locator(f".k8sl-explorer .{control} button", has_text=re.compile(f"^{re.escape(label)}$")).first.click()


def choose(page: Page, control: str, label: str) -> None:
    page.locator(f".k8sl-explorer .{control} select").first.select_option(label=label)


def headline(page: Page) -> str:
    return " | ".join(m["text"] for m in marked(page, "headline"))


def open_explorer(page: Page, lab: str) -> Any:
    b.open_notebook(page, lab, "notebooks/explorer-app.ipynb")
    page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")  # more room
    state = b.run_all(page)
    assert state["state"] == "done", f"a cell failed in the browser: {state}"
    explorer = page.locator(".k8sl-explorer")
    explorer.wait_for(state="visible")
    page.locator(".k8sl-scene svg").first.wait_for(state="visible")
    assert_widgets_rendered(page)
    return explorer


# ---------------------------------------------------------------------- the tests
def test_start_here_runs_in_jupyterlab(lab: str, page: Page) -> None:
    b.open_notebook(page, lab, "notebooks/00-start-here.ipynb")
    shot(page, "00-opened")
    state = b.run_all(page)
    assert state["state"] == "done", f"a cell failed in the browser: {state}"
    assert state["cells"] >= 3
    explorer = page.locator(".k8sl-explorer")
    explorer.wait_for(state="visible")
    assert_widgets_rendered(page)
    scene = page.locator(".k8sl-scene svg").first
    scene.scroll_into_view_if_needed()
    box = scene.bounding_box()
    assert box and box["width"] > 500 and box["height"] > 250, box
    to_top(page, ".jp-CodeCell .jp-OutputArea-output")
    shot(page, "00-first-output")
    to_top(page, ".k8sl-explorer")
    shot(page, "00-explorer")
    # The course opens with the file browser beside the notebook (about 850 px left for the output):
    # the controls go in rows above the picture, so the toggle and the whole scene share one screen.
    assert page.locator(".jp-FileBrowser").first.is_visible()
    panel = page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer").first.bounding_box()
    toggle = page.locator(".k8sl-explorer .k8sl-etp button").first.bounding_box()
    scene = page.locator(".k8sl-explorer .k8sl-scene svg").first.bounding_box()
    bottom = panel["y"] + panel["height"]
    assert panel["y"] <= toggle["y"] and scene["y"] + scene["height"] <= bottom, (panel, toggle, scene)
    assert scene["width"] >= 700, scene  # not shrunk to fit: text stays at its size
    assert not page.errors, f"JavaScript errors: {page.errors}"


def test_explorer_in_five_states_at_1280x720(lab: str, page: Page) -> None:
    open_explorer(page, lab)
    metrics = page.locator(".k8sl-explorer .k8sl-metrics")
    to_top(page, ".k8sl-explorer")

    # 1. Cluster, entering at node-c (no pods there): extra hop, SNAT to node-c's address
    choose(page, "k8sl-entry", "node-c")
    wait_for(page, lambda: headline(page), lambda h: "node-c" in h and "SNAT" in h, "the Cluster headline")
    labels = marked(page, "label", "data-src", "data-dst", "data-snat")
    assert [(x["data-src"], x["data-snat"]) for x in labels] == [("198.51.100.7", "false"), ("192.168.0.13", "true")]
    assert "SNAT" in labels[1]["text"] and "192.168.0.13:" in labels[1]["text"]
    shares = {x["data-node"]: x["text"] for x in marked(page, "share", "data-node")}
    assert shares == {"node-a": "33.3%", "node-b": "33.3%", "node-c": "33.3%"}
    assert "client IP kept 0%" in text(metrics)
    shot(page, "explorer-1-cluster")

    # the packet tracer: step back to before the SNAT hop, then forward over it
    hops = page.locator(".k8sl-explorer .k8sl-hops tr[data-step]")
    n = hops.count()
    snat_step = int(page.locator(".k8sl-hops tr[data-step]", has_text="SNAT").first.get_attribute("data-step"))
    for _ in range(n - snat_step + 1):
        page.locator(".k8sl-explorer button.k8sl-back").click()
        page.wait_for_timeout(150)
    token = wait_for(page, lambda: marked(page, "token", "data-step", "data-src"),
                     lambda t: t and t[0]["data-step"] == str(snat_step - 1), "the token before the SNAT hop")
    assert token[0]["data-src"] == "198.51.100.7"
    page.locator(".k8sl-explorer button.k8sl-step").click()
    token = wait_for(page, lambda: marked(page, "token", "data-step", "data-src", "data-action"),
                     lambda t: t and t[0]["data-step"] == str(snat_step), "the token at the SNAT hop")
    assert token[0]["data-action"] == "SNAT" and token[0]["data-src"] == "192.168.0.13"
    current = page.locator(".k8sl-hops tr.current")
    assert current.count() == 1 and current.get_attribute("data-step") == str(snat_step)
    assert "step" in headline(page) and "sees" not in headline(page)  # no spoiler mid-way
    shot(page, "explorer-1b-step-snat")
    # play from the start: the browser moves the packet on by itself
    page.locator(".k8sl-explorer .k8sl-play button").nth(1).click()  # stop: back to the first hop
    wait_for(page, lambda: marked(page, "token", "data-step"), lambda t: t and t[0]["data-step"] == "1",
             "the token after stop")
    page.locator(".k8sl-explorer .k8sl-play button").first.click()  # play
    wait_for(page, lambda: marked(page, "token", "data-step"), lambda t: t and int(t[0]["data-step"]) >= 3,
             "the playing packet", seconds=15)

    # 2. Local, the load balancer picks: only nodes with pods get traffic; the client IP is kept
    choose(page, "k8sl-entry", "the load balancer picks")
    click_toggle(page, "k8sl-etp", "Local")
    wait_for(page, lambda: text(metrics), lambda t: "client IP kept 100%" in t, "the metrics after Local")
    shares = {x["data-node"]: x["text"] for x in marked(page, "share", "data-node")}
    assert shares == {"node-a": "50%", "node-b": "50%", "node-c": "0%"}
    assert {x["data-src"] for x in marked(page, "label", "data-src")} == {"198.51.100.7"}
    assert "busiest pod 2.0× the quietest" in text(metrics)
    to_top(page, ".k8sl-explorer")
    shot(page, "explorer-2-local")

    # 3. Local, entering at node-c: dropped
    choose(page, "k8sl-entry", "node-c")
    wait_for(page, lambda: headline(page), lambda h: "DROPPED at node-c" in h, "the drop")
    assert [x["data-at"] for x in marked(page, "drop", "data-at")] == ["node-c"]
    health = {x["data-node"]: x["text"] for x in marked(page, "health", "data-node")}
    assert health["node-c"] == "health 503"
    shot(page, "explorer-3-drop")

    # node colours stay with their node when a pod moves
    colours = {x["data-node"]: x["stroke"] for x in marked(page, "node", "data-node", "stroke")}
    page.locator(".k8sl-more .jupyter-widget-Collapse-header, .k8sl-more .lm-AccordionPanel-title,"
                 " .k8sl-more .p-Collapse-header").first.click()
    page.locator(".k8sl-more .lm-TabBar-tab", has_text="Pods, nodes").first.click()
    page.locator(".k8sl-explorer .k8sl-move-pod select").select_option("web-2")
    page.locator(".k8sl-explorer .k8sl-move-node select").select_option("node-c")
    page.locator(".k8sl-explorer button.k8sl-move").click()
    wait_for(page, lambda: text(metrics), lambda t: "busiest pod 1.0× the quietest" in t, "the metrics after the move")
    assert {x["data-node"]: x["stroke"] for x in marked(page, "node", "data-node", "stroke")} == colours
    page.locator(".k8sl-more .jupyter-widget-Collapse-header, .k8sl-more .lm-AccordionPanel-title,"
                 " .k8sl-more .p-Collapse-header").first.click()  # fold it again

    # 4. compare Cluster | Local
    choose(page, "k8sl-entry", "the load balancer picks")
    choose(page, "k8sl-compare", "Cluster | Local")
    wait_for(page, lambda: page.locator(".k8sl-scene svg").count(), lambda c: c == 2, "two scenes")
    diff = text(page.locator(".k8sl-scene .k8sl-diff"))
    assert "client IP kept 0% → 100%" in diff, diff
    titles = [text(t) for t in page.locator(".k8sl-side-title").all()][:2]
    assert titles == ["externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"]
    to_top(page, ".k8sl-explorer")
    shot(page, "explorer-4-compare")
    choose(page, "k8sl-compare", "off")
    wait_for(page, lambda: page.locator(".k8sl-scene svg").count(), lambda c: c == 1, "one scene again")

    # 5. projector mode: text of at least 18 px on screen
    page.locator(".k8sl-explorer .k8sl-projector").click()
    page.locator(".k8sl-explorer.k8sl-projector-on").wait_for()
    page.wait_for_timeout(500)
    sizes = page.evaluate("""() => {
        const svg = document.querySelector('.k8sl-scene svg');
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        const texts = Array.from(svg.querySelectorAll('text')).map(t => parseFloat(t.getAttribute('font-size')) * scale);
        const px = s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize);
        return {scene: Math.min(...texts), hops: px('.k8sl-hop-table'), metrics: px('.k8sl-metrics-text'),
                button: px('.k8sl-projector-on .k8sl-etp button')};
    }""")
    assert all(v >= 17.9 for v in sizes.values()), sizes
    to_top(page, ".k8sl-view")
    shot(page, "explorer-5-projector")
    assert not page.errors, f"JavaScript errors: {page.errors}"


def test_explorer_reads_on_the_dark_theme(tmp_path: Path, browser: Any) -> None:
    root = _course_copy(tmp_path)
    with b.lab_server(root, theme="JupyterLab Dark") as base:
        page = b.new_page(browser, width=1280, height=720)
        try:
            open_explorer(page, base)
            to_top(page, ".k8sl-explorer")
            colours = page.evaluate("""() => {
                const t = document.querySelector('.k8sl-scene svg text.t');
                const bg = document.querySelector('.k8sl-scene svg rect.bg');
                return [getComputedStyle(t).fill, getComputedStyle(bg).fill];
            }""")
            shot(page, "explorer-dark")

            def luminance(css: str) -> float:
                r, g, bl = (int(x) for x in re.findall(r"\d+", css)[:3])
                return (0.2126 * r + 0.7152 * g + 0.0722 * bl) / 255

            assert luminance(colours[0]) > 0.6 and luminance(colours[1]) < 0.3, colours
            assert not page.errors, f"JavaScript errors: {page.errors}"
        finally:
            page.context.close()


def test_explorer_app_in_voila(lab: str, page: Page) -> None:
    """The README's app link: /voila/render/notebooks/explorer-app.ipynb on the same server."""
    pytest.importorskip("voila")
    page.goto(f"{lab}/voila/render/notebooks/explorer-app.ipynb")
    explorer = page.locator(".k8sl-explorer")
    explorer.wait_for(state="visible")
    page.locator(".k8sl-scene svg").first.wait_for(state="visible")
    assert_widgets_rendered(page)
    assert page.get_by_text("The k8slearn explorer").count(), "the app's title"
    assert not page.get_by_text("k8s.explore(").count(), "Voila hides the code"
    shot(page, "voila-app")
    metrics = explorer.locator(".k8sl-metrics")
    metrics.get_by_text("client IP kept").wait_for()
    before = text(metrics)
    click_toggle(page, "k8sl-etp", "Local")
    after = wait_changed(page, lambda: text(metrics), before, "the app's metrics after clicking Local")
    assert "client IP kept 100%" in after, after
    shot(page, "voila-app-local")
