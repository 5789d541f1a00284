"""exercises/ is generated from solutions/, leaks no solution, and fails, unsolved, in its check cells only.

``pytest --nbval-lax notebooks solutions`` (``course.py test``) runs the solutions; exercises/ is
left out of that run on purpose, because unsolved exercises fail by design. Here each exercise
notebook is executed with errors allowed and the failing cells are compared with its check cells.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]-*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]-*.ipynb"))
COURSE_NAMES = ["01-pods-nodes-services", "02-into-the-cluster", "03-external-traffic-policy-cluster",
                "04-external-traffic-policy-local", "05-imbalance", "06-spreading-pods",
                "07-inside-the-cluster", "08-proxies-and-headers", "09-dataplanes-compared", "10-capstone"]

_spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "tools" / "make_exercises.py")
make_exercises = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_exercises)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def _role(cell: dict) -> str | None:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
    return grade_id.split("-")[0] or None


def test_one_exercise_notebook_per_course_notebook():
    assert [p.stem for p in EXERCISES] == COURSE_NAMES
    assert [p.stem for p in SOLUTIONS] == COURSE_NAMES


def test_committed_exercises_are_generated_from_solutions(tmp_path):
    written = make_exercises.generate(tmp_path, annotate_solutions=False)
    assert sorted(p.name for p in written) == [p.name for p in EXERCISES], "run tools/make_exercises.py"
    for fresh in written:
        committed = ROOT / "exercises" / fresh.name
        assert json.loads(fresh.read_text()) == json.loads(committed.read_text()), (
            f"exercises/{fresh.name} differs from what solutions/ generates: run tools/make_exercises.py")


def test_solutions_carry_nbgrader_metadata():
    import nbformat

    for path in SOLUTIONS:
        nb = nbformat.read(path, as_version=4)
        before = copy.deepcopy(nb)
        pairs = make_exercises.annotate(nb)
        assert pairs, path.name
        assert nb == before, f"{path.name}: run tools/make_exercises.py after building the solutions"
        for answer, check, number in pairs:
            meta = answer.metadata["nbgrader"]
            assert meta["solution"] is True and meta["locked"] is False and meta["schema_version"] == 3
            assert check.metadata["nbgrader"]["locked"] is True and check.metadata["nbgrader"]["solution"] is False
            assert meta["grade_id"] == "answer-" + number.replace(".", "-")


def test_about_25_exercises_of_every_kind():
    from k8slearn.checks import EXERCISES as REGISTRY

    found = []
    for path in EXERCISES:
        found += [c["metadata"]["nbgrader"]["grade_id"] for c in _cells(path) if _role(c) == "check"]
    assert len(found) == len(set(found)) >= 25
    assert len(found) == len(REGISTRY), "every registered check is used by exactly one exercise"


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_no_solution_leaks(path):
    solution = {c["id"]: c for c in _cells(ROOT / "solutions" / path.name)}
    for cell in _cells(path):
        source = _text(cell)
        assert "SOLUTION" not in source
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
        if _role(cell) == "answer":
            region = re.search(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", _text(solution[cell["id"]]), re.DOTALL)
            for line in region.group(1).splitlines():
                if line.strip() and not line.strip().startswith("#"):
                    assert line not in source.splitlines(), f"solution line left in {path.name}: {line!r}"
            assert "answer = ..." in source or "...  # YOUR CODE HERE" in source


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_unsolved_fails_exactly_in_its_check_cells(path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.outputs)]
    checks = [i for i, c in enumerate(nb.cells) if _role(c) == "check"]
    assert failed == checks
    for i in checks:
        error = next(o for o in nb.cells[i].outputs if o.output_type == "error")
        assert error.ename == "NotAttempted"
        assert error.evalue.startswith("Not attempted yet.")
        frames = [t for t in error.traceback if re.search(r"(Cell|File).*\bIn\b|File ", re.sub(r"\x1b\[[0-9;]*m", "", t))]
        assert len(frames) <= 2, "the traceback stays short: the cell and the check"


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "k8slearn", "check", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)


def test_cli_check_passes_a_solution():
    done = _cli("solutions/01-pods-nodes-services.ipynb")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1.1  pass" in done.stdout and "1.2  pass" in done.stdout


def test_cli_check_summarises_a_learners_notebook(tmp_path):
    nb = json.loads((ROOT / "exercises" / "04-external-traffic-policy-local.ipynb").read_text())
    answers = {"answer-4-1": 'answer = "198.51.100.7"', "answer-4-2": 'answer = {"web-1": 1/3, "web-2": 1/3, "web-3": 1/3}',
               "answer-4-4": "del answer\nanswer = oops"}
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    mine = tmp_path / "mine.ipynb"
    mine.write_text(json.dumps(nb))
    done = _cli(str(mine))
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"4\.1\s+pass", out)
    assert re.search(r"4\.2\s+wrong", out) and "balances across nodes" in out
    assert re.search(r"4\.3\s+not attempted", out)
    assert re.search(r"4\.4\s+error", out)
    assert re.search(r"4\.5\s+not attempted", out)
    assert "1 other cell(s) raised an error" in out
    assert "1 passed, 2 not attempted, 1 wrong, 1 error of 5 exercise(s)" in out


def test_cli_check_rejects_a_missing_file(tmp_path):
    done = _cli(str(tmp_path / "nope.ipynb"))
    assert done.returncode == 2 and "not a notebook file" in done.stderr


def test_exercises_are_not_in_the_course_nbval_run():
    source = (ROOT / "course.py").read_text()
    assert '("notebooks", "solutions")' in source and '"exercises"' not in source
