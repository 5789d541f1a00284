"""The lecture notebooks carry slide metadata, and ``jupyter nbconvert --to slides`` makes decks of them.

Course sources mark cells with ``slide="slide"`` / ``"subslide"`` / ``"fragment"`` / ``"skip"`` /
``"notes"`` (tools/build_notebooks.py writes ``metadata.slideshow.slide_type``), which is what both
nbconvert's reveal.js export and RISE in JupyterLab read.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
# The lecture parts: the numbered lessons 00-10 (11 is a hands-on lab, explorer-app an app view).
LECTURES = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb") if p.name[:2] <= "10")
# Decks actually built (nbconvert takes about 2 s each): the opening lecture and the first policy.
BUILT = [p for p in LECTURES if p.name[:2] in ("00", "03")]
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}


def slide_types(path: Path) -> list[str | None]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c.get("metadata", {}).get("slideshow", {}).get("slide_type") for c in cells]


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_notebooks_carry_slide_metadata(path: Path) -> None:
    types = slide_types(path)
    assert types and types[0] == "slide", "the title cell starts the deck (slide=\"slide\")"
    assert types.count("slide") >= 3, "a lecture has at least three slides"
    unknown = {t for t in types if t is not None} - SLIDE_TYPES
    assert not unknown, f"unknown slide types {unknown}"


def test_two_lectures_are_built() -> None:
    assert len(BUILT) == 2, f"expected notebooks 00 and 03, found {[p.name for p in BUILT]}"


@pytest.mark.slow
@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.name)
def test_nbconvert_builds_a_deck(path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", str(path), "--output-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    deck = tmp_path / f"{path.stem}.slides.html"
    html = deck.read_text(encoding="utf-8")
    sections = len(re.findall(r"<section\b", html))
    assert sections == len(re.findall(r"</section>", html)), "unbalanced <section> tags"
    types = slide_types(path)
    expected = types.count("slide") + types.count("subslide")
    assert sections >= max(expected, 3), f"{sections} <section>s for {expected} slides and subslides"
    assert "Reveal.initialize" in html, "not a reveal.js deck"
    title = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"]
    title = "".join(title).splitlines()[0].lstrip("# ").strip()
    first = html[html.index("<section"):]
    assert re.sub(r"\s+", " ", title)[:20] in re.sub(r"<[^>]+>|\s+", " ", first[:20000]).replace("  ", " "), \
        "the deck opens with the notebook's title"
