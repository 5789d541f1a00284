"""A prediction in a real browser: the stored notebook shows no answer until its reveal is run.

JupyterLab (in the system Chromium) opens a copy of notebook 04 as stored: the reveal cells have no
output, and each guess cell says "not predicted yet". Then one guess is typed in (wrong, on purpose)
and the notebook is run: the reveal shows "You predicted ...; web-3 saw ..." with the why, the
prediction left as ``...`` is revealed with a gentle note, and the score at the end counts them.
Screenshots go to ``test-artifacts/predictions/`` (gitignored).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from k8slearn import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if browser.missing():
    pytest.skip(browser.missing(), allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "predictions"
NOTEBOOK = "notebooks/04-external-traffic-policy-local.ipynb"

CELLS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code')
  .map(c => ({tags: c.model.getMetadata('tags') || [], source: c.model.sharedModel.getSource(),
              outputs: c.model.outputs.length,
              text: c.model.outputs.toJSON().map(o => [].concat((o.data || {})['text/plain'] || o.text || '').join(''))
                      .join('\\n')}))"""  # from the model: JupyterLab renders only the cells in view


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_a_prediction_shows_no_answer_until_its_reveal_runs(tmp_path: Path) -> None:
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "src", "__pycache__")
    for folder in ("notebooks", "docs"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=skip)
    with browser.lab_server(tmp_path, log_to=ARTIFACTS / "jupyterlab.log") as base, browser.chromium() as chromium:
        page = browser.new_page(chromium, width=1280, height=900)
        browser.open_notebook(page, base, NOTEBOOK)

        stored = page.evaluate(CELLS)
        reveals = [c for c in stored if "reveal" in c["tags"]]
        guesses = [c for c in stored if "guess" in c["tags"]]
        assert len(reveals) == len(guesses) == 2
        assert all(c["outputs"] == 0 for c in reveals), "a reveal cell shows an output before it is run"
        assert all("not predicted yet" in c["text"] for c in guesses), [c["text"] for c in guesses]
        first_guess = page.locator(".jp-CodeCell").filter(has_text='k8s.predict("4.1", ...)').first
        first_guess.scroll_into_view_if_needed()
        shot(page, "1-stored-guess-and-empty-reveal")

        page.evaluate("""() => {
          const cell = window.jupyterapp.shell.currentWidget.content.widgets
            .find(c => c.model.sharedModel.getSource() === 'k8s.predict("4.1", ...)');
          cell.model.sharedModel.setSource('k8s.predict("4.1", "192.168.0.12")');
        }""")
        state = browser.run_all(page)
        assert state["state"] == "done", f"Run All stopped at an error: {state}"

        ran = page.evaluate(CELLS)
        first, second = [c["text"] for c in ran if "reveal" in c["tags"]]
        assert "You predicted 192.168.0.12; web-3 saw 198.51.100.7." in first, first
        assert "Why: " in first
        assert "You did not lock in a guess" in second and "The connection was dropped." in second, second
        wrong = page.locator(".k8sl-note-wrong").first
        wrong.scroll_into_view_if_needed()
        shot(page, "2-reveal-after-a-wrong-guess")
        (score,) = [c["text"] for c in ran if c["source"] == 'k8s.predictions.score("04")']
        assert "Notebook 04: 0 right of the 1 prediction you made (2 in all)." in score, score
        page.locator(".jp-CodeCell").filter(has_text='k8s.predictions.score("04")').first.scroll_into_view_if_needed()
        shot(page, "3-score")
        assert not page.errors, f"JavaScript errors: {page.errors}"
