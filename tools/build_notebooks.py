"""Build the course notebooks from their sources, executing them so outputs are stored.

Sources are plain Python files in the "percent" format, one per notebook, in ``notebooks/src/``
(the course), ``solutions/src/`` and elsewhere::

    # %% [markdown]
    # # A title
    # Some *markdown*; every line starts with "# ".

    # %% tags=["nbval-check-output"] slide="subslide"
    import k8slearn as k8s

A cell header may carry ``tags=[...]`` (cell metadata tags, e.g. ``nbval-check-output``,
``nbval-ignore-output``, ``raises-exception``, ``misconception-3``) and ``slide="..."`` (slide type
for ``nbconvert --to slides``/RISE: slide, subslide, fragment, skip, notes).

A code cell tagged ``reveal`` (the cell that shows the answer to a prediction) opens the prediction's
*answer region*: the cells after it up to the next heading, prediction or self-check. The reveal and
every code cell of the region are executed like every other cell, then stored **without outputs and
without an execution count**, and every Markdown cell of the region is folded in a ``<details>``
block: the learner sees the answer only by running the cells and opening the text. nbval runs such
cells (so they must not fail) but compares nothing, because they were never run in the stored
notebook. Where one of them carried ``nbval-check-output``, its text output is kept in the cell's
metadata (``k8slearn.expected``) and the tag becomes ``check-after-reveal``; tests/test_notebooks.py
runs the notebook and compares.

Usage::

    python tools/build_notebooks.py                  # every source, executed
    python tools/build_notebooks.py notebooks/src/03-*.py --no-execute

Each notebook is executed in a fresh kernel from the notebook's own folder, with a fixed
matplotlib backend, and the run time is printed.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("notebooks/src", "solutions/src")
HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<rest>.*)$")


def parse(text: str) -> list[dict]:
    """Cells of a percent-format source: dicts with type, source, tags and slide."""
    cells: list[dict] = []
    current: dict | None = None
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            current = {"type": "markdown" if m.group("md") else "code", "lines": [], "tags": [], "slide": None}
            for key, value in re.findall(r'(\w+)=(\[[^\]]*\]|"[^"]*")', m.group("rest")):
                parsed = ast.literal_eval(value)
                if key == "tags":
                    current["tags"] = list(parsed)
                elif key == "slide":
                    current["slide"] = parsed
            cells.append(current)
            continue
        if current is None:
            if line.strip():
                raise SystemExit(f"text before the first '# %%' cell header: {line!r}")
            continue
        if current["type"] == "markdown":
            if line and not line.startswith("#"):
                raise SystemExit(f"markdown line must start with '# ': {line!r}")
            line = line[2:] if line.startswith("# ") else line[1:]
        current["lines"].append(line)
    for cell in cells:
        lines = cell.pop("lines")
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        cell["source"] = "\n".join(lines)
    cells = [c for c in cells if c["source"] or c["type"] == "code"]
    for i in answer_region([(c["type"], c["tags"], c["source"]) for c in cells]):
        if cells[i]["type"] == "markdown":
            cells[i]["source"] = fold(cells[i]["source"])
    return cells


REVEAL = "reveal"
FOLD = "<details><summary>Answer</summary>"  # as the self-checks write it: open it after the reveal


def fold(markdown: str) -> str:
    """Markdown that discusses an answer, out of sight until the learner opens it."""
    return f"{FOLD}\n\n{markdown}\n\n</details>"


def answer_region(cells: list[tuple[str, list[str], str]]) -> list[int]:
    """Indices of the cells after each ``reveal`` cell up to the next heading, prediction or
    self-check (cells given as (type, tags, source)): they discuss the answer just revealed."""
    region: list[int] = []
    inside = False
    for i, (kind, tags, source) in enumerate(cells):
        if kind == "code" and REVEAL in tags:
            inside = True
        elif (kind == "markdown" and source.startswith("#")) or {"predict", "self-check"} & set(tags):
            inside = False
        elif inside:
            region.append(i)
    return region


def to_notebook(cells: list[dict]):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, c in enumerate(cells):
        maker = nbformat.v4.new_markdown_cell if c["type"] == "markdown" else nbformat.v4.new_code_cell
        cell = maker(c["source"])
        cell.id = f"cell-{i:03d}"
        if c["tags"]:
            cell.metadata["tags"] = c["tags"]
        if c["slide"]:
            cell.metadata["slideshow"] = {"slide_type": c["slide"]}
        nb.cells.append(cell)
    return nb


CHECK = "nbval-check-output"
CHECK_AFTER_REVEAL = "check-after-reveal"


def output_text(outputs) -> list[str]:
    """What a cell printed or returned, as text (streams and text/plain), the part nbval compares."""
    texts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            texts.append(("".join(out["text"]) if isinstance(out["text"], list) else out["text"]))
        elif "data" in out and "text/plain" in out["data"]:
            plain = out["data"]["text/plain"]
            texts.append("".join(plain) if isinstance(plain, list) else plain)
    return texts


def hide_reveals(nb) -> int:
    """Clear the outputs and execution count of every ``reveal`` cell and of the code cells of its
    answer region (see :func:`answer_region`); returns how many cells were cleared."""
    region = set(answer_region([(c.cell_type, c.metadata.get("tags", []), c.source) for c in nb.cells]))
    count = 0
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or (REVEAL not in tags and i not in region):
            continue
        if CHECK in tags:  # keep the taught numbers for tests/test_notebooks.py, off the page
            cell.metadata.setdefault("k8slearn", {})["expected"] = output_text(cell.outputs)
            cell.metadata["tags"] = [CHECK_AFTER_REVEAL if t == CHECK else t for t in tags]
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        count += 1
    return count


def target_of(source: Path) -> Path:
    """notebooks/src/03-x.py -> notebooks/03-x.ipynb"""
    return source.parent.parent / (source.stem + ".ipynb")


def build(source: Path, *, execute: bool = True, timeout: int = 300) -> float:
    import nbformat

    nb = to_notebook(parse(source.read_text(encoding="utf-8")))
    start = time.perf_counter()
    if execute:
        from nbclient import NotebookClient

        os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(target_of(source).parent)}})
        client.execute()
        hide_reveals(nb)
    nbformat.write(nb, target_of(source))
    return time.perf_counter() - start


def sources(patterns: list[str]) -> list[Path]:
    if patterns:
        return [Path(p).resolve() for p in patterns]
    return sorted(p for d in SOURCE_DIRS for p in (ROOT / d).glob("*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="*", help="source files (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    args = parser.parse_args(argv)
    todo = sources(args.sources)
    total = 0.0
    for i, src in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] {src.relative_to(ROOT)} ...", end=" ", flush=True)
        seconds = build(src, execute=not args.no_execute)
        total += seconds
        print(f"{seconds:.1f} s")
    print(f"built {len(todo)} notebook(s) in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
