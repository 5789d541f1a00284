"""Every relative link in the course's notebooks and pages leads to a file that exists.

JupyterLab (serving the repository root, as ``course.py lab`` does) and GitHub both resolve a
relative link from the folder of the notebook or page that holds it, so a link is right when the
target exists from there: ``../docs/glossary.md`` from ``notebooks/``. An anchor into a Markdown page
must name one of its headings. Web links (``https:``), ``mailto:`` and in-page anchors are not
followed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for folder in ("notebooks", "exercises", "solutions") for p in (ROOT / folder).glob("*.ipynb"))
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "notebooks").glob("*.md")])
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=[\"']([^\"']+)[\"']")
FENCE = re.compile(r"```.*?```", re.DOTALL)


def links(markdown: str) -> list[str]:
    text = FENCE.sub("", markdown)
    return [a or b for a, b in LINK.findall(text)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def broken(source: Path, markdown: str) -> list[str]:
    found = []
    for target in links(markdown):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue
        path, _, anchor = unquote(target).partition("#")
        file = (source.parent / path).resolve()
        if not file.exists():
            found.append(f"{target} (no {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file})")
        elif anchor and file.suffix == ".md":
            headings = {slug(m) for m in re.findall(r"^#+\s+(.*)$", file.read_text(encoding="utf-8"), re.M)}
            if anchor not in headings:
                found.append(f"{target} (no heading #{anchor} in {file.name})")
        elif not file.is_relative_to(ROOT):
            found.append(f"{target} (outside the repository)")
    return found


def test_the_link_finder_finds_links():
    text = "see [the glossary](../docs/glossary.md), ![a picture](img/x.png \"t\") and <a href='a.md'>x</a>\n"
    assert links(text + "```\n[not](a/link.md)\n```") == ["../docs/glossary.md", "img/x.png", "a.md"]
    assert slug("4. If the widgets do *not* show") == "4-if-the-widgets-do-not-show"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_links_resolve(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    bad = [link for cell in cells if cell["cell_type"] == "markdown"
           for link in broken(path, "".join(cell["source"]))]
    assert not bad, f"{path.relative_to(ROOT)}: broken relative links: {bad}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_links_resolve(path: Path) -> None:
    bad = broken(path, path.read_text(encoding="utf-8"))
    assert not bad, f"{path.relative_to(ROOT)}: broken relative links: {bad}"


def test_notebook_00_links_the_glossary_and_the_cheat_sheet() -> None:
    cells = json.loads((ROOT / "notebooks" / "00-start-here.ipynb").read_text(encoding="utf-8"))["cells"]
    found = {link for cell in cells if cell["cell_type"] == "markdown" for link in links("".join(cell["source"]))}
    assert {"../docs/glossary.md", "../docs/cheatsheet.md"} <= found
