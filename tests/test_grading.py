"""``k8slearn check`` and ``k8slearn progress`` grade strictly and fail gently, one mode at a time.

Each way a learner's notebook can fool or break the grader gets its own test: a deleted check cell,
an answer cell that raises (never graded with the answer before it), a hung and an exiting kernel
(one message, the other notebooks still checked), broken files (one line each), a path relative to
the wrong folder, and the exit codes documented in ``--help``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from k8slearn import grading
from k8slearn.cli import CHECK_EXIT_CODES, main

ROOT = Path(__file__).resolve().parent.parent
EX04 = ROOT / "exercises" / "04-external-traffic-policy-local.ipynb"
EX01 = ROOT / "exercises" / "01-pods-nodes-services.ipynb"
SOL01 = ROOT / "solutions" / "01-pods-nodes-services.ipynb"
RIGHT_4_1 = 'answer = {"node-a": "delivered", "node-b": "dropped", "node-c": "delivered", "node-d": "dropped"}'
RIGHT_4_2 = 'answer = {"web-1": 1/9, "web-2": 1/9, "web-3": 1/9, "web-4": 1/3, "web-5": 1/6, "web-6": 1/6}'
RIGHT_4_5 = ('answer = """\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: LoadBalancer\n'
             '  externalTrafficPolicy: Local\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n"""')


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "k8slearn", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)


def _edited(source: Path, target: Path, answers: dict[str, str] | None = None, drop: set[str] = frozenset()) -> Path:
    """A copy of an exercise notebook with some cells (by nbgrader grade_id) replaced or deleted."""
    nb = json.loads(source.read_text())
    cells = []
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in drop:
            continue
        if answers and grade_id in answers:
            cell["source"] = answers[grade_id]
        cells.append(cell)
    nb["cells"] = cells
    target.write_text(json.dumps(nb))
    return target


def _statuses(report: grading.NotebookReport) -> dict[str, str]:
    return {g.exercise.id: g.status for g in report.grades}


def test_a_deleted_check_cell_counts_as_missing(tmp_path):
    nb = _edited(EX04, tmp_path / "04-external-traffic-policy-local.ipynb",
                 {"answer-4-1": RIGHT_4_1, "check-4-3": "print('checked, honest')"},
                 drop={"check-4-2", "answer-4-5", "check-4-5"})
    report = grading.grade(nb, timeout=120)
    assert _statuses(report) == {"4.1": "done", "4.2": "missing", "4.3": "missing", "4.4": "not attempted",
                                 "4.5": "missing"}
    details = {g.exercise.id: g.detail for g in report.grades}
    assert "k8s.check.ready_shares(answer)" in details["4.2"] and "not in the notebook" in details["4.2"]
    assert "no longer runs k8s.check.failing_health_checks(answer)" in details["4.3"]
    assert not report.all_done and grading.exit_code([report]) == 1


def test_an_answer_cell_that_raises_is_an_error_never_a_stale_answer(tmp_path):
    nb = _edited(EX04, tmp_path / "mine.ipynb", {
        # right, then a right answer assigned before the cell raises: still an error
        "answer-4-2": RIGHT_4_2,
        "answer-4-3": "answer = 1 / 3\nraise ValueError('boom')",
        # 4.4's answer cell is gone: its check must not see 4.3's answer (nor 4.2's)
        "answer-4-4": "# I will answer this later",
        # a right answer after the broken ones is graded on its own
        "answer-4-5": RIGHT_4_5,
    })
    report = grading.grade(nb, timeout=120)
    assert _statuses(report) == {"4.1": "not attempted", "4.2": "done", "4.3": "error", "4.4": "not attempted",
                                 "4.5": "done"}
    (error,) = [g.detail for g in report.grades if g.status == "error"]
    assert re.fullmatch(r"cell \d+ \(answer = 1 / 3\) raised ValueError: boom", error), error
    text = grading.format_report(report)
    assert "Traceback" not in text and "ValueError: boom" in text


def test_an_error_in_an_exercise_without_its_check_is_not_blamed_on_the_next(tmp_path):
    nb = _edited(EX04, tmp_path / "mine.ipynb", {"answer-4-2": "raise RuntimeError('mine')",
                                                 "answer-4-3": 'answer = {"node-b", "node-c", "node-d"}'},
                 drop={"check-4-2"})
    report = grading.grade(nb, timeout=120)
    assert _statuses(report)["4.2"] == "missing"
    assert _statuses(report)["4.3"] == "done", "4.3's own cells ran fine"


@pytest.mark.slow
def test_a_hung_or_exiting_kernel_stops_that_notebook_only(tmp_path):
    hung = _edited(EX01, tmp_path / "hung.ipynb", {"answer-1-1": "while True: pass"})
    exits = _edited(EX01, tmp_path / "exits.ipynb", {"answer-1-2": "import os\nos._exit(0)"})
    shutil.copy(SOL01, tmp_path / "solved.ipynb")
    done = _cli("check", "--timeout", "8", "hung.ipynb", "exits.ipynb", "solved.ipynb", cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 2, out + done.stderr
    assert "Traceback" not in out + done.stderr and "TimeoutExpired" not in out + done.stderr
    hung_part, exits_part, solved_part = re.split(r"^(?=\w+\.ipynb$)", out, flags=re.M)[1:4]
    assert re.search(r"1\.1\s+not checked", hung_part)
    assert "stopped: cell 5 (while True: pass) was still running after 8 s" in hung_part
    assert "--timeout" in hung_part
    assert re.search(r"1\.1\s+not attempted", exits_part) and re.search(r"1\.2\s+not checked", exits_part)
    assert "stopped: the Python kernel exited while running cell 9 (import os)" in exits_part
    assert "3 exercises: 3 done" in solved_part, "the notebooks after a broken one are still checked"
    assert "3 of 9 exercises done in 3 notebooks; 2 notebook(s) could not be checked completely." in out


def test_broken_files_get_one_clear_line_each(tmp_path):
    (tmp_path / "cut.ipynb").write_text('{"cells": [')
    (tmp_path / "list.ipynb").write_text("[1, 2, 3]")
    (tmp_path / "binary.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    (tmp_path / "empty.ipynb").write_text("")
    nb = json.loads(EX01.read_text())
    nb["cells"][2]["source"] = None
    (tmp_path / "null.ipynb").write_text(json.dumps(nb))
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "folder.ipynb").mkdir()
    shutil.copy(ROOT / "notebooks" / "01-pods-nodes-services.ipynb", tmp_path / "01-pods-nodes-services.ipynb")
    expected = {
        "cut.ipynb": "not valid JSON (line 1, column 12: Expecting value)",
        "list.ipynb": "not a Jupyter notebook: the file holds a JSON list",
        "binary.ipynb": "not a notebook: the file is not text (a binary byte at position 0)",
        "empty.ipynb": "the file is empty",
        "null.ipynb": "cell 3 has no valid source (it is null, not text)",
        "notes.txt": "not a notebook: give an .ipynb file",
        "folder.ipynb": "is a folder, not a notebook",
        "missing.ipynb": f"no such file (paths are relative to the folder you are in, {tmp_path})",
        "01-pods-nodes-services.ipynb": "not an exercise notebook: none of the course's exercises is in it; the "
                                        "exercises for this part are in exercises/01-pods-nodes-services.ipynb",
    }
    done = _cli("check", *expected, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(expected) + 1, done.stdout  # one line each, and the total
    for line, (name, words) in zip(lines, expected.items()):
        assert line.startswith(f"{name}: could not be checked: ") and words in line, line
    assert lines[-1] == f"0 of 0 exercises done in {len(expected)} notebooks; {len(expected)} notebook(s) could not be checked completely."


def test_a_path_relative_to_the_wrong_folder_says_which_one_to_use(tmp_path):
    exercises = tmp_path / "course" / "exercises"
    exercises.mkdir(parents=True)
    shutil.copy(SOL01, exercises / "01-pods-nodes-services.ipynb")
    inside = _cli("check", "exercises/01-pods-nodes-services.ipynb", cwd=exercises)
    assert inside.returncode == 2
    assert inside.stdout.strip() == ("exercises/01-pods-nodes-services.ipynb: could not be checked: no such file; "
                                     f"did you mean 01-pods-nodes-services.ipynb (paths are relative to {exercises})?")
    above = _cli("check", "01-pods-nodes-services.ipynb", cwd=exercises.parent)
    assert "did you mean exercises/01-pods-nodes-services.ipynb" in above.stdout
    # and from inside exercises/ (JupyterLab's terminal there), the right path is checked
    right = _cli("check", "01-pods-nodes-services.ipynb", cwd=exercises)
    assert right.returncode == 0 and "3 exercises: 3 done" in right.stdout, right.stdout + right.stderr


def test_exit_codes_are_documented_in_help(capsys):
    for command in ("check", "progress"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "exit codes:" in out
        for code, text in CHECK_EXIT_CODES.items():
            assert f"  {code}  {text.splitlines()[0]}" in out
    assert main(["check"]) == 2  # no notebook given: a usage error
    assert "NOTEBOOK" in capsys.readouterr().err


def test_progress_summarises_every_exercise_notebook(tmp_path):
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    shutil.copy(SOL01, exercises / SOL01.name)
    shutil.copy(ROOT / "exercises" / "02-into-the-cluster.ipynb", exercises)
    done = _cli("progress", cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert out.startswith("Your exercises in exercises/ (graded on this computer; nothing is sent anywhere):")
    assert re.search(r"^01-pods-nodes-services\.ipynb\n\s+1\.1\s+done", out, re.M)
    assert re.search(r"2\.1\s+not attempted", out)
    assert re.search(r"^04-external-traffic-policy-local\.ipynb\n\s+4\.1\s+missing", out, re.M)
    assert re.search(r"^3 of \d+ exercises done\.", out, re.M)  # the three of 01
    assert "balances" not in out, "progress is the short form: no explanations"
    # from inside the folder, and given the folder: the same notebooks
    assert grading.find_exercises(exercises) == exercises
    assert grading.find_exercises(tmp_path) == exercises
    assert grading.find_exercises(tmp_path / "notes" / "deeper") == exercises  # from a folder below the course
    assert grading.find_exercises() is not None  # the course's own exercises/ (the tests run in the course)


def test_progress_without_exercises_says_where_it_looked(tmp_path):
    done = _cli("progress", str(tmp_path))
    assert done.returncode == 2
    assert done.stdout.strip().startswith(f"k8slearn progress: no exercise notebooks in {tmp_path}")
