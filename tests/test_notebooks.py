"""The course notebooks follow the course's structure, match their sources and store clean outputs.

nbval runs them (``pytest --nbval-lax notebooks solutions``, from ``course.py test``); this file checks
what nbval cannot: objectives, time, key points, predict-then-observe moments, the misconceptions of
FACTS.md §8, and that every notebook was built from its source in ``notebooks/src``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COURSE = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
BUILT = sorted(p for d in ("notebooks", "solutions") for p in (ROOT / d).glob("*.ipynb")
               if (p.parent / "src" / (p.stem + ".py")).exists())
LESSONS = [p for p in COURSE if p.name[:2] <= "10"]

_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_notebooks)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"])


def tagged(path: Path, prefix: str) -> list[dict]:
    return [c for c in cells(path) if any(t.startswith(prefix) for t in c.get("metadata", {}).get("tags", []))]


def test_course_is_complete() -> None:
    numbers = {p.name[:2] for p in LESSONS}
    assert numbers >= {f"{i:02d}" for i in range(11)}, f"missing notebooks: {sorted({f'{i:02d}' for i in range(11)} - numbers)}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_notebook_structure(path: Path) -> None:
    md = [text(c) for c in cells(path) if c["cell_type"] == "markdown"]
    first = md[0]
    assert first.startswith("# "), "the first cell is the title"
    for needle in ("Learning objectives", "Prerequisites", "Time"):
        assert needle in first, f"the opening cell names its {needle}"
    tail = "\n".join(md[-2:])
    assert "Key points" in tail and "next" in tail.lower(), "the notebook ends with key points and what comes next"
    assert tagged(path, "predict"), "at least one predict-then-observe cell (tag 'predict')"
    if path.name[:2] != "00":
        assert tagged(path, "self-check"), "a few quick self-checks (tag 'self-check')"


@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.name)
def test_built_from_source_with_clean_outputs(path: Path) -> None:
    source = path.parent / "src" / (path.stem + ".py")
    expected = [c["source"] for c in build_notebooks.parse(source.read_text(encoding="utf-8"))]
    assert [text(c) for c in cells(path)] == expected, f"{path.name} differs from {source.name}: rebuild it"
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), "every code cell was executed before saving"
    for c in code:
        tags = c.get("metadata", {}).get("tags", [])
        for out in c.get("outputs", []):
            if "raises-exception" not in tags:
                assert out["output_type"] != "error", f"stored error in: {text(c)[:60]}"
            assert not (out["output_type"] == "stream" and out.get("name") == "stderr"), f"stderr in: {text(c)[:60]}"
    assert not re.search(r"/(home|root|tmp|work)/[A-Za-z0-9_.-]+/", path.read_text(encoding="utf-8")), "absolute path stored"


def test_every_misconception_is_met() -> None:
    found = {t for p in LESSONS for c in cells(p) for t in c.get("metadata", {}).get("tags", []) if t.startswith("misconception-")}
    missing = [i for i in range(1, 11) if f"misconception-{i}" not in found]
    assert not missing, f"misconceptions of FACTS.md §8 without a demo: {missing}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_taught_numbers_are_checked(path: Path) -> None:
    if path.name[:2] == "00":
        return
    assert tagged(path, "nbval-check-output"), "cells with deterministic numbers carry the nbval-check-output tag"
