"""Predictions: the registry computes every answer with the simulator, the notebooks use it, and
``k8s.predict`` / ``k8s.reveal`` / ``k8s.self_check`` / ``k8s.predictions.score`` behave.

The course notebooks call ``k8s.reveal(id, observed)`` with what their own cell computed, and the
reveal raises :class:`~k8slearn.predictions.PredictionMismatch` when that differs from the registry;
nbval runs every reveal cell (``course.py test``), so a notebook and its registry entry cannot drift
apart. The test below that every reveal passes an observation keeps that check in place.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from ipaddress import ip_address
from pathlib import Path

import pytest

import k8slearn as k8s
from k8slearn import predictions as P

ROOT = Path(__file__).resolve().parent.parent
COURSE = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if re.match(r"\d\d[a-z]?-", p.name))
GUESS = re.compile(r'^k8s\.predict\("(?P<id>[^"]+)", \.\.\.\)$')
REVEAL = re.compile(r'k8s\.reveal\("(?P<id>[^"]+)", (?P<observed>.+)\)\s*$')
SELF_CHECK = re.compile(r'k8s\.self_check\("(?P<id>[^"]+)", answer\)')
SCORE = re.compile(r'^k8s\.predictions\.score\("(?P<nb>[^"]+)"\)$')

# The answers the course teaches. The registry computes them with the simulator; a change in the
# simulator that changes one fails here (and in the notebook's reveal under nbval).
TAUGHT = {
    "0.1": ip_address("192.168.0.13"),
    "1.1": False,
    "1.2": frozenset({"web-3"}),
    "2.1": ("client", "load balancer", "node-c", "node-a", "web-2"),
    "2.2": True,
    "2.s1": ("web-2", "node-a", "node-c", "load balancer", "client"),
    "3.1": {"web-1": 1 / 3, "web-2": 1 / 3, "web-3": 1 / 3},
    "3.2": ip_address("10.244.1.1"),
    "3.3": 2 / 3,
    "3.4": 5,
    "3.s1": 3 / 4,
    "4.1": ip_address("198.51.100.7"),
    "4.2": "dropped",
    "4b.1": "delivered",
    "4b.s1": {"web-1": 0.0, "web-2": 0.5, "web-3": 0.5},
    "5.1": {"web-1": 0.5, "web-2": 0.25, "web-3": 0.25},
    "5.s1": {"web-1": 0.25, "web-2": 0.25, "web-3": 0.5},
    "6.1": "node-c",
    "6.2": 1,
    "7.1": ip_address("10.244.3.5"),
    "7.2": "web-3",
    "7.s1": 1.0,
    "8.1": ip_address("10.244.2.9"),
    "8.2": False,
    "8b.1": ip_address("192.168.255.10"),
    "8b.2": "dropped",
    "8b.3": "dropped",
    "8b.4": 1,
    "8b.s1": 1 / 3,
    "9.1": frozenset({"cilium-dsr", "no-snat"}),
    "9.2": "ipvs",
    "9.s1": 1 / 3,
    "10.1": {"node-a": 2, "node-b": 2, "node-c": 2},
    "11.1": "DROP",
}


@pytest.fixture(autouse=True)
def _fresh_session():
    P.forget()
    yield
    P.forget()


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _notebook_id(path: Path) -> str:
    return path.name.split("-")[0]


# --- the registry ------------------------------------------------------------------------------


def test_every_prediction_is_taught_with_its_answer():
    assert set(P.PREDICTIONS) == set(TAUGHT), "add the new prediction's taught answer to TAUGHT"
    for pid, expected in TAUGHT.items():
        p = P.PREDICTIONS[pid]
        answer = p.answer()
        assert P.KINDS[p.kind].same(answer, expected, 1e-9), f"{pid}: the simulator says {answer!r}, the course teaches {expected!r}"


@pytest.mark.parametrize("pid", sorted(TAUGHT))
def test_answers_are_computed_not_stored(pid):
    """Each answer comes from a function that calls the simulator, never from a literal it returns."""
    compute = P.PREDICTIONS[pid].compute
    tree = ast.parse(_dedented(compute))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert calls, f"{pid}: the answer function calls nothing"
    for ret in (n for n in ast.walk(tree) if isinstance(n, ast.Return)):
        assert not _literal(ret.value), f"{pid}: returns a literal ({ast.unparse(ret.value)})"
    P._ANSWERS.pop(pid, None)
    assert P.PREDICTIONS[pid].answer() is not None


def _dedented(func) -> str:
    source = inspect.getsource(func)
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("def "))
    return "\n".join(lines[start:])


def _literal(node: ast.AST | None) -> bool:
    if node is None or isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(_literal(k) and _literal(v) for k, v in zip(node.keys, node.values))
    return False


def test_answers_fit_their_kind_and_options():
    for p in P.PREDICTIONS.values():
        assert p.kind in P.KINDS, p.id
        assert p.question.endswith("?"), p.id
        assert p.why and "\n" not in p.why and len(p.why) < 200, f"{p.id}: the why is one short line"
        assert "{}" in p.outcome, p.id
        answer = p.answer()
        if p.kind in ("choice", "name"):
            assert answer in p.options, p.id
        if p.kind == "names":
            assert answer <= set(p.options), p.id
        assert p.notebook, p.id


def test_an_unanswered_cell_never_computes_the_answer(monkeypatch):
    """What a guess or self-check cell shows before it is answered is built without the answer."""
    for pid, p in P.PREDICTIONS.items():
        monkeypatch.delitem(P._ANSWERS, pid, raising=False)
        monkeypatch.setitem(P.PREDICTIONS, pid, P.Prediction(
            p.id, p.question, p.kind, lambda: pytest.fail("the answer was computed"), p.outcome, p.why,
            p.options, p.self_check))
        note = k8s.self_check(pid, ...) if p.self_check else k8s.predict(pid, ...)
        assert note.ok and note.tone == "waiting", pid


# --- predict, reveal, self-check, score ----------------------------------------------------------


def test_a_right_prediction():
    note = k8s.predict("4.1", "198.51.100.7")
    assert note.ok and note.title == "Locked in for 4.1: 198.51.100.7."
    shown = k8s.reveal("4.1")
    assert shown.tone == "right"
    assert shown.title == "You predicted 198.51.100.7; web-3 saw 198.51.100.7. Right."
    assert shown.lines[0].startswith("Why: ")
    html = shown._repr_html_()
    assert "k8sl-note-right" in html and "You predicted 198.51.100.7" in html


def test_a_wrong_prediction_shows_both_and_why():
    k8s.predict("4.1", "192.168.0.12")
    shown = k8s.reveal("4.1")
    assert shown.tone == "wrong"
    assert str(shown).splitlines()[0] == "✘ You predicted 192.168.0.12; web-3 saw 198.51.100.7."
    assert "Why: Local sends external traffic only to endpoints on the receiving node" in str(shown)


def test_not_predicted_reveals_gently():
    shown = k8s.reveal("4.2")
    assert shown.tone == "info" and shown.ok
    assert shown.title == "4.2: The connection was dropped."
    assert any("did not lock in a guess" in line for line in shown.lines)
    assert k8s.reveal("4.1").title == "4.1: web-3 saw 198.51.100.7."  # a name keeps its lower case


@pytest.mark.parametrize("pid", [p.id for p in P.PREDICTIONS.values() if p.kind in ("choice", "name", "yes/no")])
def test_a_choice_lists_its_options_without_an_example(pid):
    """An example for a choice would be one of the options (4.2 once said 'such as "dropped"', its answer;
    2.2 'such as "yes"')."""
    text = str(k8s.predict(pid, ...))
    assert "such as" not in text
    assert all(repr(o) in text for o in P.PREDICTIONS[pid].options)
    if P.PREDICTIONS[pid].kind == "yes/no":
        assert '"yes" or "no"' in text


def test_an_ellipsis_is_not_yet_a_guess():
    note = k8s.predict("4.1", ...)
    assert note.ok and note.tone == "waiting"
    assert note.title == "Prediction 4.1: not predicted yet."
    assert 'such as "192.0.2.1"' in str(note)
    assert "198.51.100.7" not in str(note) and "198.51.100.7" not in note._repr_html_()
    assert k8s.reveal("4.1").tone == "info", "an ellipsis locks nothing in"


@pytest.mark.parametrize(("pid", "guess", "says"), [
    ("4.9", "1.2.3.4", 'There is no prediction "4.9".'),
    ("04.1", "1.2.3.4", 'There is no prediction "04.1".'),
    (4.1, "1.2.3.4", "4.1 is not a prediction id."),
    ("5.s1", {"web-1": 1}, "5.s1 is a self-check, not a prediction."),
])
def test_a_bad_id_is_a_note_not_a_traceback(pid, guess, says):
    note = k8s.predict(pid, guess)
    assert not note.ok and note.title == says
    assert "⚠" in str(note)


def test_a_typo_gets_a_suggestion():
    assert 'Did you mean "4.1"?' in str(k8s.predict("41", "1.2.3.4"))
    assert "Notebook 04's are 4.1 and 4.2." in str(k8s.predict("4.7", "1.2.3.4"))
    assert "Notebook 04's are 4.1 and 4.2." in str(k8s.predict("4.l", "1.2.3.4"))
    assert "Notebook 05's are 5.s1." in str(k8s.self_check("5.s2", 1))


@pytest.mark.parametrize(("pid", "guess", "says"), [
    ("4.1", "node-b", "is a name, not an address"),
    ("4.1", 42, "is not an IP address"),
    ("3.3", "a lot", "is not a share"),
    ("3.3", 33, "is outside 0 to 1"),
    ("3.3", True, "is not a share"),
    ("3.4", 5.5, "is not a count"),
    ("3.4", -1, "cannot be negative"),
    ("3.1", {"web-1": 0.5}, "Give a value for every pod: web-1, web-2 and web-3"),
    ("3.1", {"web-1": 0.3, "web-2": 0.3, "web-4": 0.4}, 'There is no pod "web-4" here'),
    ("3.1", [0.3, 0.3, 0.4], "as a dict"),
    ("4.2", "timed out", "is not one of the choices"),
    ("6.1", "node-d", '"node-d" is not one of the choices'),
    ("2.2", "maybe", 'answer "yes" or "no"'),
    ("2.1", ["client", "node-x"], '"node-x" is not one of the choices'),
    ("9.1", {"cilium"}, 'Did you mean "cilium-dsr"?'),
])
def test_a_guess_of_the_wrong_kind_teaches(pid, guess, says):
    note = k8s.predict(pid, guess)
    assert not note.ok
    assert says in str(note), str(note)
    assert "Nothing was locked in." in str(note)
    assert k8s.reveal(pid).tone == "info", "nothing was recorded"


@pytest.mark.parametrize(("pid", "guess"), [
    ("3.3", "2/3"), ("3.3", "67%"), ("3.3", 0.67), ("3.3", 2 / 3),
    ("3.1", "web-1: 1/3, web-2: 1/3, web-3: 1/3"),
    ("2.1", "client -> load balancer -> node-c -> node-a -> web-2"),
    ("2.2", "YES"), ("2.2", True),
    ("4.2", "DROP"), ("4.2", "drop"),
    ("9.1", "no-snat, cilium-dsr"), ("9.1", ["cilium-dsr", "no-snat"]),
    ("10.1", {"node-a": 2, "node-b": "2", "node-c": 2.0}),
    ("1.2", {"web-3"}),
    ("1.1", "no"),
])
def test_guesses_are_accepted_in_natural_forms(pid, guess):
    assert k8s.predict(pid, guess).ok
    assert k8s.reveal(pid).tone == "right"


@pytest.mark.parametrize(("guess", "tone"), [(0.66, "right"), (0.67, "right"), ("66%", "right"),
                                             (0.65, "wrong"), (0.6, "wrong")])
def test_a_share_within_a_percentage_point_is_right(guess, tone):
    k8s.predict("3.3", guess)
    assert k8s.reveal("3.3").tone == tone


def test_changing_a_guess_before_the_reveal_and_guessing_after_it():
    k8s.predict("4.1", "192.168.0.12")
    assert k8s.predict("4.1", "198.51.100.7").title == "Changed your guess for 4.1: 192.168.0.12 → 198.51.100.7."
    assert k8s.reveal("4.1").tone == "right"
    late = k8s.predict("4.1", "10.244.2.1")
    assert late.title == "4.1 is already revealed, so this guess does not count."
    assert k8s.reveal("4.1").tone == "right", "the guess made before the reveal stands"


def test_a_reveal_checks_what_the_cell_observed():
    assert k8s.reveal("4.1", ip_address("198.51.100.7")).ok
    assert k8s.reveal("3.1", {"web-1": 1 / 3, "web-2": 1 / 3, "web-3": 1 / 3}).ok
    with pytest.raises(P.PredictionMismatch) as err:
        k8s.reveal("4.1", "192.168.0.12")
    assert "this cell observed 192.168.0.12" in str(err.value)
    assert "Restart Kernel and Run All Cells" in str(err.value)
    with pytest.raises(P.PredictionMismatch):
        k8s.reveal("3.3", 0.66)  # an observation is exact; only guesses get a tolerance
    with pytest.raises(P.PredictionMismatch) as err:
        k8s.reveal("3.4", "five")
    assert "not a whole number" in str(err.value)
    assert isinstance(err.value, k8s.K8sLearnError)


def test_self_check():
    assert k8s.self_check("5.s1", ...).title == "Self-check 5.s1: not answered yet."
    assert "1/4" not in str(k8s.self_check("5.s1", ...)), "an unanswered self-check gives nothing away"
    right = k8s.self_check("5.s1", {"web-1": "1/4", "web-2": "25%", "web-3": 0.5})
    assert right.tone == "right" and right.title.startswith("Right: the shares were web-1 1/4")
    wrong = k8s.self_check("5.s1", {"web-1": 1 / 3, "web-2": 1 / 3, "web-3": 1 / 3})
    assert wrong.tone == "wrong" and wrong.title.startswith("Not quite: you answered web-1 1/3")
    assert not k8s.self_check("5.s1", 0.5).ok
    assert not k8s.self_check("4.1", "198.51.100.7").ok
    assert k8s.self_check("4.1", "x").title == "4.1 is a prediction, not a self-check."


def test_score_counts_right_of_made_and_hides_unrevealed_answers():
    empty = k8s.predictions.score("04")
    assert empty.title == "Notebook 04: you have not locked in any of its 2 predictions in this session."
    k8s.predict("4.1", "198.51.100.7")
    k8s.predict("4.2", "refused")
    pending = k8s.predictions.score("04")
    assert pending.title == "Notebook 04: 0 right of the 2 predictions you made (2 in all)."
    assert "2 not revealed yet." in pending.lines
    assert "dropped" not in str(pending), "the score never shows an answer that was not revealed"
    k8s.reveal("4.1")
    k8s.reveal("4.2")
    done = k8s.predictions.score("4")
    assert done.title == "Notebook 04: 1 right of the 2 predictions you made (2 in all)."
    assert [r[-1] for r in done.rows] == ["right", "wrong"]
    assert [r[2] for r in done.rows] == ["198.51.100.7", "refused"]
    assert "<table" in done._repr_html_()
    session = k8s.predictions.score()
    assert session.title == "This session: 1 right of the 2 predictions you made (2 in all)."
    assert not k8s.predictions.score("12").ok
    assert k8s.predictions.score("4b").title.startswith("Notebook 04b:")


def test_self_checks_do_not_count_as_predictions():
    k8s.self_check("5.s1", {"web-1": 0.25, "web-2": 0.25, "web-3": 0.5})
    assert k8s.predictions.score("05").title == "Notebook 05: you have not locked in its prediction in this session."
    k8s.predict("5.1", {"web-1": 0.5, "web-2": 0.25, "web-3": 0.25})
    k8s.reveal("5.1")
    assert k8s.predictions.score("05").title == "Notebook 05: 1 right of the 1 prediction you made (1 in all)."


def test_nothing_leaves_the_process(tmp_path, monkeypatch):
    """Predictions write no file and open no connection."""
    import builtins
    import socket

    monkeypatch.chdir(tmp_path)
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    monkeypatch.setattr(socket.socket, "connect", lambda *a: pytest.fail("a prediction opened a connection"))
    k8s.predict("4.1", "198.51.100.7")
    k8s.reveal("4.1")
    k8s.predictions.score()
    assert not [a for a in opened if len(a) > 1 and any(m in str(a[1]) for m in "wax+")]
    assert not list(tmp_path.iterdir())


def test_the_widget_locks_in_a_guess():
    box = k8s.predictions.widget("4.1")
    box.guess.value = "198.51.100.7"
    box.lock.click()
    assert "Locked in for 4.1" in box.note.value
    assert k8s.reveal("4.1").tone == "right"
    choice = k8s.predictions.widget("4.2")
    assert list(choice.guess.options) == ["delivered", "refused", "dropped"]
    choice.lock.click()
    assert "not predicted yet" in choice.note.value
    choice.guess.value = "dropped"
    choice.lock.click()
    assert k8s.reveal("4.2").tone == "right"
    bad = k8s.predictions.widget("4.9")
    assert "There is no prediction" in bad.value


def test_import_stays_light():
    import os
    import subprocess
    import sys

    code = "import k8slearn, sys; k8slearn.predict; print('ipywidgets' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()
    assert out == ["False", "False"]


# --- the notebooks use the registry, and store no answers --------------------------------------


def _plain(cell: dict) -> str:
    """The text/plain of a code cell's one stored output."""
    (out,) = cell["outputs"]
    return "".join(out["data"]["text/plain"])


def _groups(path: Path):
    """(prompt cell, guess cell, reveal cell) for every prediction of a notebook, in order."""
    cells = _cells(path)
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and GUESS.match(_text(cell).strip()):
            prompt = next(c for c in reversed(cells[:i]) if c["cell_type"] == "markdown")
            yield prompt, cell, cells[i + 1]


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_each_prediction_is_prompt_guess_reveal(path):
    number = _notebook_id(path)
    ids = []
    for prompt, guess, reveal in _groups(path):
        pid = GUESS.match(_text(guess).strip())["id"]
        ids.append(pid)
        assert pid in P.PREDICTIONS and not P.PREDICTIONS[pid].self_check, pid
        assert P.PREDICTIONS[pid].notebook == number, f"{pid} belongs to notebook {P.PREDICTIONS[pid].notebook}"
        assert "predict" in _tags(prompt) and f"Predict {pid}" in _text(prompt), f"{pid}: the prompt names it"
        assert "guess" in _tags(guess)
        m = REVEAL.search(_text(reveal))
        assert m and m["id"] == pid and "reveal" in _tags(reveal), f"{pid}: the cell after the guess reveals it"
        assert m["observed"].strip() not in ("", "..."), f"{pid}: the reveal passes what its cell observed"
    expected = sorted(p.id for p in P.PREDICTIONS.values() if p.notebook == number and not p.self_check)
    assert sorted(ids) == expected, f"registry and notebook {number} disagree"
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_no_answer_is_stored_before_its_reveal(path):
    cells = _cells(path)
    for prompt, guess, reveal in _groups(path):
        pid = GUESS.match(_text(guess).strip())["id"]
        assert reveal.get("outputs") == [] and reveal.get("execution_count") is None, f"{pid}: reveal stored with outputs"
        assert _plain(guess) == str(k8s.predict(pid, ...)), f"{pid}: the guess cell stores only 'not predicted yet'"
        between = cells[cells.index(prompt) + 1: cells.index(guess)]
        assert all(c["cell_type"] == "markdown" for c in between), f"{pid}: a code cell between prompt and guess"
    after_reveal = False  # from a reveal to the next heading, prediction or self-check: the answer region
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and "reveal" in _tags(cell):
            assert cell.get("outputs") == [], f"a reveal cell with stored outputs: {_text(cell)[:60]}"
            after_reveal = True
        elif ((cell["cell_type"] == "markdown" and _text(cell).startswith("#"))
              or {"predict", "self-check"} & set(_tags(cell))):
            after_reveal = False
        elif after_reveal and cell["cell_type"] == "code":  # shows the same answer: stored empty too
            assert cell.get("outputs") == [], f"a cell after a reveal stored with outputs: {_text(cell)[:60]}"
        elif after_reveal:  # says the answer: folded until the learner opens it
            assert _text(cell).startswith("<details>"), f"answer text in plain sight: {_text(cell)[:60]}"
        if cell["cell_type"] == "markdown" and re.search(r"before you run", _text(cell), re.IGNORECASE):
            following = next((c for c in cells[i + 1:] if c["cell_type"] == "code"), None)
            assert following is None or (GUESS.match(_text(following).strip()) and "guess" in _tags(following)), (
                f"a 'before you run' prompt followed by a cell that is not a guess: {_text(cell)[:80]}")


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_self_checks_ship_unanswered(path):
    number = _notebook_id(path)
    found = []
    for cell in _cells(path):
        if cell["cell_type"] != "code" or "self-check" not in _tags(cell):
            continue
        m = SELF_CHECK.search(_text(cell))
        assert m, f"a code self-check that does not use k8s.self_check: {_text(cell)[:80]}"
        assert re.search(r"^answer = \.\.\.", _text(cell), re.MULTILINE), f"{m['id']}: ships with answer = ..."
        assert "assert " not in _text(cell)
        p = P.PREDICTIONS[m["id"]]
        assert p.self_check and p.notebook == number
        assert _plain(cell) == str(k8s.self_check(p.id, ...)), f"{p.id}: stores only 'not answered yet'"
        found.append(m["id"])
    expected = sorted(p.id for p in P.PREDICTIONS.values() if p.notebook == number and p.self_check)
    assert sorted(found) == expected


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_each_notebook_ends_with_its_score(path):
    cells = _cells(path)
    scores = [c for c in cells if c["cell_type"] == "code" and SCORE.match(_text(c).strip())]
    assert len(scores) == 1, "one k8s.predictions.score(...) cell"
    assert SCORE.match(_text(scores[0]).strip())["nb"] == _notebook_id(path)
    after = cells[cells.index(scores[0]) + 1:]
    assert all(c["cell_type"] == "markdown" for c in after), "the score comes after the last code cell"
    assert "you have not locked in" in json.dumps(scores[0]["outputs"])
