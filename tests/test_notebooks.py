"""The course notebooks follow the course's structure, match their sources and store clean outputs.

nbval runs them (``pytest --nbval-lax notebooks solutions``, from ``course.py test``); this file checks
what nbval cannot: objectives, time, key points, predict-then-observe moments, the misconceptions of
FACTS.md §8, that every notebook was built from its source in ``notebooks/src``, that each fits its
time estimate, and that every section is marked core or going further (and the instructor guide's
90-minute schedule is exactly the core sections). tests/test_links.py checks the links.
(tests/test_predictions.py checks the predictions and that no answer is stored before its reveal.)
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# 00 to 11, with 04 in two parts (04, 04b): every course notebook, the optional lab 11 included.
COURSE = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if re.match(r"\d\d[a-z]?-", p.name))
BUILT = sorted(p for d in ("notebooks", "solutions") for p in (ROOT / d).glob("*.ipynb")
               if (p.parent / "src" / (p.stem + ".py")).exists())
LESSONS = COURSE
GUIDE = ROOT / "docs" / "instructor-guide.md"
WORDS_PER_MINUTE = 70    # markdown a learner reads, per minute of the notebook's time estimate
CELLS_PER_MINUTE = 2.5   # cells of any kind, per minute
CORE_PATH_MINUTES = 90
BADGE = re.compile(r"^\*(?P<kind>Core|Going further) · (?P<minutes>\d+) minutes?\*$", re.MULTILINE)

_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_notebooks)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"])


def answer_regions(path: Path) -> list[dict]:
    """The cells after each reveal cell up to the next heading, prediction or self-check: they
    discuss the answer just revealed."""
    found, inside = [], False
    for c in cells(path):
        tags = set(c.get("metadata", {}).get("tags", []))
        if c["cell_type"] == "code" and "reveal" in tags:
            inside = True
        elif (c["cell_type"] == "markdown" and text(c).startswith("#")) or tags & {"predict", "self-check"}:
            inside = False
        elif inside:
            found.append(c)
    return found


def after_reveals(path: Path) -> list[dict]:
    """The code cells of the answer regions (they show the answer too)."""
    return [c for c in answer_regions(path) if c["cell_type"] == "code"]


def tagged(path: Path, prefix: str) -> list[dict]:
    return [c for c in cells(path) if any(t.startswith(prefix) for t in c.get("metadata", {}).get("tags", []))]


def test_course_is_complete() -> None:
    numbers = {p.name[:2] for p in LESSONS}
    assert numbers >= {f"{i:02d}" for i in range(12)}, f"missing notebooks: {sorted({f'{i:02d}' for i in range(12)} - numbers)}"
    sources = {p.stem for p in (ROOT / "notebooks" / "src").glob("*.py")}
    assert {p.stem for p in COURSE} <= sources, "every course notebook has its source in notebooks/src"


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
    reveals = [c for c in code if "reveal" in c.get("metadata", {}).get("tags", [])]
    hidden = reveals + after_reveals(path)
    assert all(c.get("execution_count") for c in code if c not in hidden), "every code cell was executed before saving"
    for c in hidden:
        assert c["outputs"] == [] and c.get("execution_count") is None, f"answer stored before it is run: {text(c)[:60]}"
    for c in answer_regions(path):  # the text that discusses an answer is folded until the learner opens it
        if c["cell_type"] == "markdown":
            assert text(c).startswith("<details><summary>") and text(c).rstrip().endswith("</details>"), (
                f"answer text in plain sight before the reveal: {text(c)[:60]}")
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
    assert tagged(path, "nbval-check-output") or tagged(path, "check-after-reveal"), (
        "cells with deterministic numbers carry the nbval-check-output tag")


CHECKED_AFTER_REVEAL = [p for p in COURSE if tagged(p, "check-after-reveal")]


@pytest.mark.parametrize("path", CHECKED_AFTER_REVEAL, ids=lambda p: p.name)
def test_numbers_after_a_reveal_are_still_checked(path: Path) -> None:
    """A cell after a reveal is stored empty (the answer stays off the page), so nbval compares nothing
    there; its text output, kept in the cell's metadata at build time, must be what a run prints now."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    checked = 0
    for cell in nb.cells:
        if "check-after-reveal" in cell.metadata.get("tags", []):
            expected = cell.metadata["k8slearn"]["expected"]
            assert expected, f"{path.name}: no expected output kept for {''.join(cell.source)[:60]}"
            # streams arrive in pieces: compare the whole text, as nbval does after coalescing them
            assert "".join(build_notebooks.output_text(cell.outputs)) == "".join(expected), (
                f"{path.name}: the cell after a reveal now prints something else: {''.join(cell.source)[:60]}; "
                "rebuild the notebook and check its prose")
            checked += 1
    assert checked == len(tagged(path, "check-after-reveal"))


# --- time and the core path ----------------------------------------------------------------------


def minutes_of(path: Path) -> int:
    first = text(cells(path)[0])
    m = re.search(r"\*\*Time\*\*: about (\d+) minutes", first)
    assert m, f"{path.name}: the opening cell says '**Time**: about N minutes'"
    return int(m.group(1))


def sections(path: Path) -> list[tuple[str, str, int]]:
    """(heading without its number, "core" or "going-further", minutes) for each ## section."""
    found = []
    for c in cells(path):
        body = text(c)
        if c["cell_type"] != "markdown" or not body.startswith("## "):
            continue
        heading = body.splitlines()[0][3:].strip()
        if heading in ("Key points", "What's next"):
            continue
        tags = set(c.get("metadata", {}).get("tags", [])) & {"core", "going-further"}
        badge = BADGE.search(body)
        assert len(tags) == 1, f"{path.name}, '{heading}': tag the section 'core' or 'going-further'"
        assert badge and body.splitlines()[1] == badge.group(0), (
            f"{path.name}, '{heading}': the line under the heading says '*Core · N minutes*' or '*Going further · N minutes*'")
        kind = "core" if badge["kind"] == "Core" else "going-further"
        assert {kind} == tags, f"{path.name}, '{heading}': the badge and the tag disagree"
        found.append((re.sub(r"^\d+\. ", "", heading), kind, int(badge["minutes"])))
    return found


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_notebook_fits_its_time(path: Path) -> None:
    """About 70 words to read and 2.5 cells per minute of the estimate, at most."""
    minutes = minutes_of(path)
    words = sum(len(text(c).split()) for c in cells(path) if c["cell_type"] == "markdown")
    assert words <= WORDS_PER_MINUTE * minutes, (
        f"{words} words of text for {minutes} minutes: more than {WORDS_PER_MINUTE} a minute; "
        "cut text, raise the time estimate honestly, or split the notebook")
    count = len(cells(path))
    assert count <= CELLS_PER_MINUTE * minutes, f"{count} cells for {minutes} minutes"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_sections_are_core_or_going_further_and_add_up(path: Path) -> None:
    found = sections(path)
    assert found, "the notebook has ## sections"
    total = minutes_of(path)
    assert sum(m for *_, m in found) == total, f"the sections' minutes add up to the notebook's {total}"
    core = sum(m for _, kind, m in found if kind == "core")
    first = text(cells(path)[0])
    if core == 0:
        assert "all of it going further" in first
    elif core == total:
        assert "core path: all of it" in first
    else:
        assert f"core path: {core} minutes" in first, f"the opening cell states the core path, {core} minutes"


def ninety_minute_schedule() -> list[dict]:
    guide = GUIDE.read_text(encoding="utf-8")
    part = guide.split("### Ninety minutes", 1)[1].split("\n#", 1)[0]
    rows = [line for line in part.splitlines() if line.startswith("|")]
    header = [h.strip() for h in rows[0].strip("|").split("|")]
    assert header == ["start", "minutes", "part", "core sections", "how"], header
    return [dict(zip(header, (x.strip() for x in line.strip("|").split("|")))) for line in rows[2:]]


def test_the_ninety_minute_schedule_is_the_core_path() -> None:
    rows = ninety_minute_schedule()
    core = {(p.name.split("-")[0], heading): m for p in LESSONS for heading, kind, m in sections(p) if kind == "core"}
    listed = {}
    clock = 0
    for row in rows:
        assert row["start"] == f"{clock // 60}:{clock % 60:02d}", f"'{row['part']}' starts at {clock // 60}:{clock % 60:02d}"
        minutes = int(row["minutes"])
        clock += minutes
        here = []
        for group in filter(None, (g.strip() for g in row["core sections"].split(" · "))):
            if ":" not in group or not re.match(r"\d\d[a-z]?:", group):
                continue  # a row without notebook sections (the wrap-up)
            number, names = group.split(":", 1)
            for name in (n.strip() for n in names.split(";")):
                key = (number, name)
                assert key in core, f"{number}: '{name}' is not a core section of notebook {number}"
                here.append(key)
        if here:
            assert minutes == sum(core[k] for k in here), f"'{row['part']}': {minutes} minutes, its sections take {sum(core[k] for k in here)}"
        listed.update(dict.fromkeys(here))
    assert clock == CORE_PATH_MINUTES, f"the ninety-minute schedule adds up to {clock}"
    missing = sorted(set(core) - set(listed))
    assert not missing, f"core sections missing from the 90-minute schedule: {missing}"


@pytest.mark.parametrize("path", BUILT, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_number_is_printed_as_inf(path: Path) -> None:
    """An imbalance with a pod that gets nothing is said in words ("a serving pod gets nothing"), not 'inf'."""
    for c in cells(path):
        for out in c.get("outputs", []):
            shown = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"\binf\b", shown), f"{path.name}: 'inf' printed by {text(c)[:60]}"
