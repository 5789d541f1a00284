"""Generate exercises/ from solutions/: the solutions are the one source of truth.

Usage::

    python tools/build_notebooks.py solutions/src/*.py    # build + execute the solutions first
    python tools/make_exercises.py                        # then annotate them and write exercises/
    python tools/make_exercises.py --out /tmp/x           # write elsewhere (the drift test does)

Conventions (nbgrader-compatible, so an instructor using nbgrader can take the course as it is):

* An *answer cell* is a code cell with a region between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``. In the exercise the region becomes ``answer = ...`` when the region sets
  ``answer`` at its own indentation, else ``...`` (a function body that returns nothing, or no change
  to a cluster). Either way the check cell says "Not attempted yet.".
* The *check cell* is the next code cell; it calls a check of :mod:`k8slearn.checks`
  (``k8s.check.ready_shares(answer)``), which names the exercise.
* Both get nbgrader cell metadata: the answer cell ``solution: true`` (editable), the check cell
  ``locked: true``; ``grade_id`` is ``answer-4-2`` / ``check-4-2``. The solutions notebooks are
  annotated in place, the exercises written with outputs cleared.
* In the solutions, check cells are tagged ``nbval-check-output``: a check never raises, so nbval
  compares its stored "Right: ..." with what it says now (a solution that stops passing fails).
* The notebook's metadata says which exercise notebook it is (``"k8slearn": {"exercises":
  "04-external-traffic-policy-local"}``), so ``k8slearn check`` recognises a renamed copy.
* The notebook's exercises must be exactly the registry's for its chapter
  (:func:`k8slearn.checks.exercises_of`), and its last code cell must be ``k8s.check.summary(N)``
  (``k8s.check.summary("8b")`` for a lettered part such as ``08b-...``).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_CALL = re.compile(r"k8s\.check\.(\w+)\(")
SUMMARY_CALL = re.compile(r"k8s\.check\.summary\((\d+|\"\d+[a-z]\")\)\s*$")
CHECK_OUTPUT = "nbval-check-output"


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def exercise_of(cell) -> str | None:
    """The exercise number a check cell checks, from the check function it calls, else None."""
    from k8slearn.checks import EXERCISES as REGISTRY

    by_check = {e.check: number for number, e in REGISTRY.items()}
    for name in CHECK_CALL.findall(_source(cell)):
        if name in by_check:
            return by_check[name]
    return None


def unsolve(source: str) -> str:
    """Replace every solution region of a cell's source by the placeholder."""
    lines = source.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() != BEGIN:
            if END in line or "SOLUTION" in line and line.strip().startswith("###"):
                raise SystemExit(f"unmatched solution marker: {line!r}")
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        try:
            stop = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == END)
        except StopIteration:
            raise SystemExit(f"{BEGIN} without {END} in:\n{source}") from None
        region = lines[i + 1 : stop]
        sets_answer = any(re.match(re.escape(indent) + r"answer\s*=", r) for r in region)
        out.append(indent + ("answer = ...  # YOUR ANSWER HERE" if sets_answer else "...  # YOUR CODE HERE"))
        i = stop + 1
    return "\n".join(out)


def _nbgrader(grade_id: str, *, solution: bool) -> dict:
    return {"grade": False, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution, "task": False}


def annotate(nb):
    """Add nbgrader metadata to the answer and check cells (in place); return [(answer, check, number)].

    Also tags the check cells ``nbval-check-output``, writes the notebook's ``k8slearn`` metadata, and
    checks that the notebook holds exactly its chapter's exercises and ends with their summary.
    """
    from k8slearn.checks import EXERCISES as REGISTRY
    from k8slearn.checks import chapter_key, exercises_of

    pairs = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or BEGIN not in _source(cell):
            continue
        following = next((c for c in cells[i + 1 :] if c.cell_type == "code"), None)
        number = exercise_of(following) if following is not None else None
        if number is None:
            raise SystemExit(f"the answer cell {cell.get('id')} is not followed by a check cell (k8s.check.X(answer))")
        slug = number.replace(".", "-")
        cell.metadata["nbgrader"] = _nbgrader(f"answer-{slug}", solution=True)
        following.metadata["nbgrader"] = _nbgrader(f"check-{slug}", solution=False)
        tags = following.metadata.setdefault("tags", [])
        if CHECK_OUTPUT not in tags:
            tags.append(CHECK_OUTPUT)
        pairs.append((cell, following, number))
    if not pairs:
        return pairs
    chapter = REGISTRY[pairs[0][2]].chapter
    want = [e.id for e in exercises_of(chapter)]
    if [number for *_, number in pairs] != want:
        raise SystemExit(f"exercises {[n for *_, n in pairs]} do not match the registry's {want} "
                         "(k8slearn/checks.py): add or remove the exercise in both")
    code = [c for c in cells if c.cell_type == "code"]
    m = SUMMARY_CALL.search(_source(code[-1]))
    call = f"k8s.check.summary({chapter!r})".replace("'", '"')
    if not m or chapter_key(m.group(1).strip('"')) != chapter:
        raise SystemExit(f"the last code cell should be {call}, not {_source(code[-1])!r}")
    nb.metadata["k8slearn"] = {"exercises": REGISTRY[pairs[0][2]].notebook}
    return pairs


def exercise_notebook(solution):
    """The exercise version of an (annotated) solutions notebook: solutions removed, outputs cleared."""
    nb = copy.deepcopy(solution)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source = unsolve(_source(cell))
        tags = [t for t in cell.metadata.get("tags", []) if t != CHECK_OUTPUT]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb


def generate(out: Path, *, annotate_solutions: bool = True) -> list[Path]:
    """Write one exercise notebook per solutions notebook into ``out``; return the paths written."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(p for p in SOLUTIONS.glob("[0-9][0-9]*-*.ipynb") if re.match(r"\d\d[a-z]?-", p.name)):
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        if not annotate(nb):
            raise SystemExit(f"{path.name} has no exercises")
        if annotate_solutions and nbformat.writes(nb) != before:
            nbformat.write(nb, path)
        target = out / path.name
        nbformat.write(exercise_notebook(nb), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=EXERCISES, help="where to write (default: exercises/)")
    parser.add_argument("--no-annotate", action="store_true", help="leave solutions/*.ipynb untouched")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    written = generate(args.out, annotate_solutions=not args.no_annotate)
    print(f"wrote {len(written)} exercise notebook(s) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
