"""exercises/ is generated from solutions/, leaks no solution, and runs to its end unsolved.

``pytest --nbval-lax notebooks solutions`` (``course.py test``) runs the solutions; their check cells
are tagged ``nbval-check-output``, so a solution whose check stops saying "Right" fails there. Here
each unsolved exercise notebook is run by the grader of ``k8slearn check``: no cell may show an
error, every check shows "Not attempted yet." as a styled message, the summary in the last cell
counts them, and the strict grade is "not attempted" for every exercise of the registry.
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
# 01 to 10, and a lettered part where the course has one with exercises of its own (08b).
SOLUTIONS = sorted(p for p in (ROOT / "solutions").glob("*.ipynb") if re.match(r"\d\d[a-z]?-", p.name))
EXERCISES = sorted(p for p in (ROOT / "exercises").glob("*.ipynb") if re.match(r"\d\d[a-z]?-", p.name))
COURSE_NAMES = ["01-pods-nodes-services", "02-into-the-cluster", "03-external-traffic-policy-cluster",
                "04-external-traffic-policy-local", "05-imbalance", "06-spreading-pods",
                "07-inside-the-cluster", "08-proxies-and-headers", "08b-what-depends-on-the-client-ip",
                "09-dataplanes-compared", "10-capstone"]

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


def test_about_30_exercises_of_every_kind():
    from k8slearn.checks import EXERCISES as REGISTRY

    found = []
    for path in EXERCISES:
        found += [c["metadata"]["nbgrader"]["grade_id"] for c in _cells(path) if _role(c) == "check"]
    assert len(found) == len(set(found)) >= 30
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
def test_unsolved_runs_to_the_end_and_grades_not_attempted(path):
    from k8slearn import grading
    from k8slearn.checks import chapter_label, chapter_of, exercises_of

    ran: dict[int, tuple[str, list]] = {}
    report = grading.grade(path, timeout=240, on_cell=lambda number, source, outputs: ran.update({number: (source, outputs)}))
    assert not report.problem, report.problem
    code = [i for i, c in enumerate(_cells(path), 1) if c["cell_type"] == "code"]
    assert sorted(ran) == code, "every code cell ran"
    for number, (source, outputs) in ran.items():
        for out in outputs:
            assert out["output_type"] != "error", f"cell {number} ({source[:40]!r}) raised {out.get('ename')}"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), f"stderr in cell {number}"
    checks = [i for i, c in enumerate(_cells(path), 1) if _role(c) == "check"]
    chapter = chapter_of(path.name)
    assert chapter_label(chapter) == path.name.split("-")[0]
    assert len(checks) == len(exercises_of(chapter))
    for number in checks:
        (result,) = [o for o in ran[number][1] if o["output_type"] == "execute_result"]
        assert result["data"]["text/plain"].startswith("Not attempted yet."), result["data"]["text/plain"]
        assert "k8sl-feedback" in result["data"]["text/html"] and "Traceback" not in result["data"]["text/html"]
    last_source, last_outputs = ran[code[-1]]
    call = f"k8s.check.summary({chapter})" if isinstance(chapter, int) else f'k8s.check.summary("{chapter}")'
    assert last_source.strip() == call, "the notebook ends with its summary"
    summary = last_outputs[0]["data"]["text/plain"]
    assert summary.startswith(f"Exercises {chapter_label(chapter)}: 0 done, {len(checks)} not attempted (of {len(checks)})"), summary
    assert [(g.exercise.id, g.status) for g in report.grades] == [(e.id, "not attempted") for e in exercises_of(chapter)]


def test_solutions_check_cells_compare_their_output():
    """nbval (course.py test) compares a solution's check output, so a check that stops passing fails."""
    for path in SOLUTIONS:
        nb = json.loads(path.read_text())
        assert nb["metadata"]["k8slearn"] == {"exercises": path.stem}
        for cell in (c for c in nb["cells"] if _role(c) == "check"):
            assert "nbval-check-output" in cell["metadata"].get("tags", []), path.name
            (result,) = [o for o in cell["outputs"] if o["output_type"] == "execute_result"]
            assert "".join(result["data"]["text/plain"]).startswith("Right: "), path.name


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "k8slearn", "check", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)


def test_cli_check_passes_a_solution():
    done = _cli("solutions/01-pods-nodes-services.ipynb")
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(re.search(rf"1\.{i}\s+done", done.stdout) for i in (1, 2, 3))
    assert "3 exercises: 3 done" in done.stdout
    assert done.stderr == "", "the kernel's own warnings stay out of the learner's terminal"


def test_cli_check_summarises_a_learners_notebook(tmp_path):
    """A renamed copy with a right, a wrong, an untouched and a broken answer."""
    nb = json.loads((ROOT / "exercises" / "04-external-traffic-policy-local.ipynb").read_text())
    answers = {"answer-4-1": 'answer = {"node-a": "delivered", "node-b": "dropped", "node-c": "delivered", "node-d": "dropped"}',
               "answer-4-2": 'answer = {f"web-{i}": 1/6 for i in range(1, 7)}',
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
    assert re.search(r"4\.1\s+done", out)
    assert re.search(r"4\.2\s+wrong", out) and "balances across nodes" in out
    assert re.search(r"4\.3\s+not attempted", out)
    assert re.search(r"4\.4\s+error", out) and "raised NameError: name 'oops' is not defined" in out
    assert re.search(r"4\.5\s+not attempted", out)
    assert "5 exercises: 1 done, 1 wrong, 2 not attempted, 1 error" in out
    assert "Traceback" not in out + done.stderr


def test_cli_check_a_missing_file_is_one_line(tmp_path):
    done = _cli(str(tmp_path / "nope.ipynb"))
    assert done.returncode == 2
    assert done.stdout.strip() == f"{tmp_path / 'nope.ipynb'}: could not be checked: no such file (paths are relative to the folder you are in, {ROOT})"


def test_exercises_are_not_in_the_course_nbval_run():
    """Unsolved, their checks say "Not attempted yet." without failing, so nbval would prove nothing
    there; this file runs them through the grader instead."""
    source = (ROOT / "course.py").read_text()
    assert '("notebooks", "solutions")' in source and '"exercises"' not in source
