"""Grade exercise notebooks strictly: ``k8slearn check NOTEBOOK...`` and ``k8slearn progress``.

The checks in a notebook (:mod:`k8slearn.checks`) show friendly feedback and never stop *Run All*.
Grading is stricter, and it does not trust the notebook:

* The list of a notebook's exercises comes from the registry (:func:`k8slearn.checks.exercises_of`),
  so an exercise whose check cell was deleted is graded ``missing``.
* Every code cell runs in a fresh kernel, one at a time, from the notebook's own folder. An exercise
  is graded ``error`` when a cell of its part of the notebook raised (its answer cell, or anything
  after the previous exercise's check); ``answer`` is reset after every check, so a check never
  grades the answer of the exercise before it.
* A cell that runs too long (``while True: pass``) or a kernel that exits (``os._exit(0)``) stops
  that notebook with one message; the other notebooks are still graded.
* A file that is not a readable notebook (missing, a folder, not JSON, a JSON list, binary, a cell
  without a valid source ...) gets one line saying so.

Statuses: ``done``, ``wrong``, ``not attempted``, ``error``, ``missing`` (and ``not checked`` for
exercises after the point where a notebook stopped). Everything runs on this machine; nothing is
sent anywhere.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .checks import EXERCISES, NOTEBOOKS, REPORT_ENV, Exercise, chapter_key, exercises_of

__all__ = [
    "Grade",
    "NotebookReport",
    "Unreadable",
    "check_notebooks",
    "find_exercises",
    "format_report",
    "grade",
    "progress",
    "read_notebook",
]

# Exit codes of `k8slearn check` and `k8slearn progress` (documented in cli.CHECK_EXIT_CODES).
ALL_DONE, NOT_DONE, NOT_CHECKED = 0, 1, 2
ORDER = ("done", "wrong", "not attempted", "error", "missing", "not checked")
RESET = "answer = ...  # k8slearn check: no answer carries over from the exercise before"


class Unreadable(Exception):
    """A file that cannot be graded; the message is one sentence for the learner."""


@dataclass(frozen=True, slots=True)
class Grade:
    """One exercise's grade: a status of :data:`ORDER` and, for some, a detail line."""

    exercise: Exercise
    status: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class NotebookReport:
    """The grades of one notebook, or why it could not be (fully) graded."""

    path: str
    grades: tuple[Grade, ...] = ()
    problem: str = ""
    other_errors: tuple[str, ...] = ()
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for g in self.grades if g.status == status)

    @property
    def all_done(self) -> bool:
        return not self.problem and bool(self.grades) and all(g.status == "done" for g in self.grades)


@dataclass
class _Cell:
    number: int  # 1-based position among all the notebook's cells, as the learner counts them
    source: str
    grade_id: str = ""
    outputs: list = field(default_factory=list)


# ------------------------------------------------------------------------------ reading
def _suggest(path: Path) -> str:
    """For a path that does not exist: the same file name where the learner probably meant it."""
    cwd = Path.cwd()
    name = path.name
    candidates = [cwd / name, cwd / "exercises" / name]
    candidates += [parent / "exercises" / name for parent in cwd.parents]
    for candidate in candidates:
        if candidate.is_file():
            try:
                shown = candidate.relative_to(cwd)
            except ValueError:
                shown = candidate
            return f"; did you mean {shown} (paths are relative to {cwd})?"
    return f" (paths are relative to the folder you are in, {cwd})"


def read_notebook(path: str | os.PathLike) -> tuple[list[_Cell], dict]:
    """The cells and metadata of a notebook file, or :class:`Unreadable` with one clear sentence."""
    p = Path(path)
    if p.is_dir():
        raise Unreadable(f"is a folder, not a notebook; give the notebooks in it, e.g. {p / '*.ipynb'}")
    if not p.exists():
        raise Unreadable("no such file" + _suggest(p))
    if p.suffix != ".ipynb":
        raise Unreadable("not a notebook: give an .ipynb file, e.g. exercises/04-external-traffic-policy-local.ipynb")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Unreadable(f"not a notebook: the file is not text (a binary byte at position {err.start}); "
                         "was it overwritten? Restore it from a copy, or take a fresh one from the course") from None
    if not text.strip():
        raise Unreadable("the file is empty; take a fresh copy of the exercise notebook from the course")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise Unreadable(f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); was it edited "
                         "outside JupyterLab or cut short? JupyterLab keeps a checkpoint: File > Revert "
                         "Notebook to Checkpoint") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        kind = type(data).__name__ if not isinstance(data, dict) else "an object without a list of cells"
        kind = {"list": "a JSON list", "str": "a JSON string", "int": "a number", "float": "a number",
                "NoneType": "null", "bool": "true or false"}.get(kind, kind)
        raise Unreadable(f"not a Jupyter notebook: the file holds {kind}, not a notebook's cells")
    if data.get("nbformat") != 4:
        raise Unreadable(f"notebook format {data.get('nbformat')!r} is not supported (format 4 is); open and save "
                         "it in JupyterLab")
    cells = []
    for number, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise Unreadable(f"cell {number} is not a notebook cell (no cell_type code, markdown or raw)")
        source = cell.get("source")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise Unreadable(f"cell {number} has no valid source (it is {json.dumps(source)[:40]}, not text); "
                             "restore that cell, or take a fresh copy of the notebook")
        if cell["cell_type"] == "code":
            meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
            nbgrader = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
            cells.append(_Cell(number, source, str(nbgrader.get("grade_id", ""))))
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return cells, metadata


def _chapter(path: Path, cells: list[_Cell], metadata: dict) -> int | str:
    """Which exercise notebook this is, from what is in it: its k8slearn metadata (written by
    tools/make_exercises.py), else its answer/check cells. Its file name alone does not make it one.
    A lettered part (``08b-...``, grade ids ``answer-8b-1``) is the chapter ``"8b"``."""
    tagged = metadata.get("k8slearn", {}).get("exercises") if isinstance(metadata.get("k8slearn"), dict) else None
    m = re.match(r"(\d\d[a-z]?)-", str(tagged or ""))
    if m and chapter_key(m.group(1)) in NOTEBOOKS:
        return chapter_key(m.group(1))
    by_check = {e.check: e for e in EXERCISES.values()}
    for cell in cells:
        m = re.match(r"(?:answer|check)-(\d+[a-z]?)-\d+$", cell.grade_id)
        if m and chapter_key(m.group(1)) in NOTEBOOKS:
            return chapter_key(m.group(1))
        for name in re.findall(r"check\.(\w+)\(", cell.source):
            if name in by_check:
                return by_check[name].chapter
    m = re.match(r"(\d\d[a-z]?)-", path.name)
    if m and chapter_key(m.group(1)) in NOTEBOOKS:
        raise Unreadable("not an exercise notebook: none of the course's exercises is in it; the exercises for "
                         f"this part are in exercises/{NOTEBOOKS[chapter_key(m.group(1))]}.ipynb")
    names = list(NOTEBOOKS.values())
    first, last = names[0], names[-1]
    raise Unreadable("not an exercise notebook: none of the course's exercises is in it (they are "
                     f"exercises/{first}.ipynb to exercises/{last}.ipynb)")


def _first_line(source: str) -> str:
    line = next((ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")), "")
    return line if len(line) <= 50 else line[:47] + "..."


def _error_of(cell: _Cell) -> str:
    for out in cell.outputs:
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip().splitlines()
            value = value[0] if value else ""
            if len(value) > 160:
                value = value[:157] + "..."
            return f"cell {cell.number} ({_first_line(cell.source)}) raised {out.get('ename')}" + (f": {value}" if value else "")
    return ""


# ------------------------------------------------------------------------------ running
def _check_cell(exercise: Exercise, cells: list[_Cell]) -> int | None:
    """Index (in ``cells``) of an exercise's check cell: by its nbgrader id, else by the check it calls."""
    slug = exercise.id.replace(".", "-")
    for i, cell in enumerate(cells):
        if cell.grade_id == f"check-{slug}":
            return i
    for i, cell in enumerate(cells):
        if re.search(rf"check\.{exercise.check}\(", cell.source):
            return i
    return None


def grade(path: str | os.PathLike, *, timeout: float = 300,
          on_cell: Callable[[int, str, list], None] | None = None) -> NotebookReport:
    """Run one exercise notebook in a fresh kernel and grade each of its exercises.

    ``timeout`` is the time in seconds the notebook's cells may take together (kernel start aside).
    ``on_cell(number, source, outputs)`` is called after each of the notebook's code cells ran.
    Never raises for a learner's notebook: problems come back in ``NotebookReport.problem``.
    """
    started = time.monotonic()
    shown = str(path)
    try:
        cells, metadata = read_notebook(path)
        chapter = _chapter(Path(path), cells, metadata)
    except Unreadable as why:
        return NotebookReport(shown, problem=str(why))
    exercises = exercises_of(chapter)
    checks = {e.id: _check_cell(e, cells) for e in exercises}
    folder = Path(path).resolve().parent
    with tempfile.TemporaryDirectory(prefix="k8slearn-check-") as tmp:
        report_file = Path(tmp) / "report.jsonl"
        report_file.touch()
        rows_by_cell, problem, ran = _run(cells, folder, report_file, timeout,
                                          {i for i in checks.values() if i is not None}, on_cell)
    owner = {j: e.id for e in exercises for j, c in enumerate(cells)
             if c.grade_id == "answer-" + e.id.replace(".", "-")}
    grades = []
    section_start = 0
    for exercise in exercises:
        i = checks[exercise.id]
        if i is None:
            grades.append(Grade(exercise, "missing", f"its check cell (k8s.check.{exercise.check}(answer)) is not in "
                                                     "the notebook; take it from a fresh copy of the exercise notebook"))
            continue
        if i >= ran:
            grades.append(Grade(exercise, "not checked"))
            continue
        start = section_start if i >= section_start else i
        # the cells since the previous check, except another exercise's own answer cell
        errors = [e for j, c in enumerate(cells[start:i + 1], start)
                  if owner.get(j, exercise.id) == exercise.id and (e := _error_of(c))]
        section_start = i + 1
        rows = [r for r in rows_by_cell.get(i, []) if r.get("exercise") == exercise.id]
        if errors:
            grades.append(Grade(exercise, "error", errors[0]))
        elif not rows:
            grades.append(Grade(exercise, "missing", f"cell {cells[i].number} no longer runs "
                                                     f"k8s.check.{exercise.check}(answer)"))
        else:
            row = rows[-1]
            status = row.get("status", "")
            detail = ""
            if status == "wrong":
                detail = str(row.get("message", "")).removeprefix("Not yet: ").split(" (Exercise")[0]
            grades.append(Grade(exercise, status if status in ORDER else "error", detail))
    checked = [checks[e.id] for e in exercises if checks[e.id] is not None]
    last_check = max(checked, default=-1)
    other = tuple(e for e in (_error_of(c) for c in cells[last_check + 1:ran]) if e)
    return NotebookReport(shown, tuple(grades), problem, other, time.monotonic() - started)


def _run(cells: list[_Cell], folder: Path, report_file: Path, timeout: float, check_cells: set[int],
         on_cell: Callable[[int, str, list], None] | None) -> tuple[dict[int, list[dict]], str, int]:
    """Execute the code cells in order; return (report rows per cell, problem, number of cells run)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    # Our own notebook: the learner's code cells, with `answer` reset first and after every check.
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    plan: list[int | None] = [None]  # None = a reset cell, else an index into cells
    for i in range(len(cells)):
        plan.append(i)
        if i in check_cells:
            plan.append(None)
    nb.cells = [nbformat.v4.new_code_cell(RESET if i is None else cells[i].source) for i in plan]
    env = dict(os.environ, **{REPORT_ENV: str(report_file)})
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}}, record_timing=False)
    rows_by_cell: dict[int, list[dict]] = {}
    deadline = time.monotonic() + timeout
    ran = 0
    offset = 0
    kernel_log = (report_file.parent / "kernel.log").open("w")  # the kernel's own warnings, not the learner's
    try:
        with kernel_log, client.setup_kernel(env=env, stderr=kernel_log, stdout=kernel_log):
            for position, index in enumerate(plan):
                client.timeout = max(1, int(deadline - time.monotonic() + 0.999))
                cell = nb.cells[position]
                try:
                    client.execute_cell(cell, position, store_history=index is not None)
                except CellTimeoutError:
                    where = "resetting answer" if index is None else \
                        f"cell {cells[index].number} ({_first_line(cells[index].source)})"
                    return rows_by_cell, (f"stopped: {where} was still running after {timeout:g} s in all "
                                          "(an endless loop, or waiting for input?); the exercises after it were "
                                          "not checked. Fix that cell, or allow more time with --timeout"), ran
                except DeadKernelError:
                    where = "" if index is None else \
                        f" while running cell {cells[index].number} ({_first_line(cells[index].source)})"
                    return rows_by_cell, (f"stopped: the Python kernel exited{where}; the exercises after it were "
                                          "not checked. Remove what ends the kernel (os._exit, sys.exit in a "
                                          "thread, a crash) and check again"), ran
                if index is None:
                    if any(o.get("output_type") == "error" for o in cell.outputs):
                        return rows_by_cell, "stopped: the kernel could not reset `answer` between exercises", ran
                    continue
                cells[index].outputs = list(cell.outputs)
                ran = index + 1
                if on_cell is not None:
                    on_cell(cells[index].number, cells[index].source, cells[index].outputs)
                with report_file.open(encoding="utf-8") as handle:
                    handle.seek(offset)
                    new = handle.read()
                    offset = handle.tell()
                for line in new.splitlines():
                    try:
                        rows_by_cell.setdefault(index, []).append(json.loads(line))
                    except json.JSONDecodeError:
                        continue
    except (CellTimeoutError, DeadKernelError):  # pragma: no cover -- raised while shutting down
        pass
    except Exception as err:  # noqa: BLE001 -- no kernel: say so in one line instead of a traceback
        if ran == 0 and not rows_by_cell:
            return rows_by_cell, (f"could not start a Python kernel ({type(err).__name__}: "
                                  f"{str(err).strip().splitlines()[0][:200] if str(err).strip() else ''}); "
                                  "`k8slearn doctor` checks the installation"), 0
        raise
    return rows_by_cell, "", ran


# ------------------------------------------------------------------------------ reporting
def format_report(report: NotebookReport, *, details: bool = True) -> str:
    """A notebook's grades as text: one line per exercise, a detail line for some, and the counts."""
    if report.problem and not report.grades:
        return f"{report.path}: could not be checked: {report.problem}"
    lines = [report.path]
    for g in report.grades:
        lines.append(f"  {g.exercise.id:>5}  {g.status:<13}  {g.exercise.title}")
        if details and g.detail:
            lines.append(" " * 24 + g.detail)
    if details:
        lines += [f"  note: {e}" for e in report.other_errors]
    counts = ", ".join(f"{report.count(s)} {s}" for s in ORDER if report.count(s) or s == "done")
    total = len(report.grades)
    lines.append(f"  {total} exercise{'s' if total != 1 else ''}: {counts}")
    if report.problem:
        lines.append(f"  {report.problem}")
    return "\n".join(lines)


def exit_code(reports: list[NotebookReport]) -> int:
    """2 when a notebook could not be checked, else 0 when every exercise is done, else 1."""
    if any(r.problem for r in reports):
        return NOT_CHECKED
    return ALL_DONE if reports and all(r.all_done for r in reports) else NOT_DONE


def check_notebooks(paths: list[str], *, timeout: float = 300, out: Callable[[str], None] = print) -> int:
    """``k8slearn check NOTEBOOK...``: grade each notebook and print its report; return the exit code."""
    reports = []
    for path in paths:
        report = grade(path, timeout=timeout)
        out(format_report(report))
        reports.append(report)
    if len(reports) > 1:
        done = sum(r.count("done") for r in reports)
        total = sum(len(r.grades) for r in reports)
        broken = sum(1 for r in reports if r.problem)
        out(f"{done} of {total} exercises done in {len(reports)} notebooks"
            + (f"; {broken} notebook(s) could not be checked completely." if broken else "."))
    return exit_code(reports)


def find_exercises(start: str | os.PathLike | None = None) -> Path | None:
    """The exercises folder for ``k8slearn progress``: ``start`` itself, or its (or a parent's)
    ``exercises/``, else the one next to this package (a course checkout)."""
    here = Path(start) if start is not None else Path.cwd()

    def holds_exercises(folder: Path) -> bool:
        return any((folder / f"{name}.ipynb").is_file() for name in NOTEBOOKS.values())

    candidates = [here, here / "exercises", *(p / "exercises" for p in here.resolve().parents)]
    if start is None:
        candidates.append(Path(__file__).resolve().parent.parent / "exercises")
    for folder in candidates:
        if folder.is_dir() and holds_exercises(folder):
            return folder
    return None


def progress(folder: str | os.PathLike | None = None, *, timeout: float = 300,
             out: Callable[[str], None] = print) -> int:
    """``k8slearn progress``: grade every exercise notebook in the exercises folder, in short."""
    found = find_exercises(folder)
    if found is None:
        where = Path(folder) if folder is not None else Path.cwd()
        out(f"k8slearn progress: no exercise notebooks in {where} or an exercises/ folder above it; "
            "run it in the course folder, or give the folder: k8slearn progress path/to/exercises")
        return NOT_CHECKED
    try:
        shown = found.relative_to(Path.cwd())
    except ValueError:
        shown = found
    out(f"Your exercises in {shown}/ (graded on this computer; nothing is sent anywhere):")
    reports = []
    for chapter, name in NOTEBOOKS.items():
        path = found / f"{name}.ipynb"
        report = grade(path, timeout=timeout) if path.exists() else NotebookReport(
            str(path), tuple(Grade(e, "missing", "the notebook is missing") for e in exercises_of(chapter)))
        reports.append(report)
        out(format_report(report, details=False).replace(str(path), f"{name}.ipynb", 1))
    done = sum(r.count("done") for r in reports)
    total = sum(len(r.grades) for r in reports)
    out(f"{done} of {total} exercises done. `k8slearn check {shown}/<notebook>.ipynb` shows why an answer is wrong.")
    return exit_code(reports)
