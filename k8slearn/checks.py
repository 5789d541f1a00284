"""Checks for the exercise notebooks: ``k8s.check.ready_shares(answer)`` and friends.

Each exercise in ``exercises/`` has an answer cell and, right after it, a check cell that calls one
function of this module with the learner's answer. A check returns its :class:`Feedback`, which a
notebook shows as a short styled message (HTML, with a plain-text fallback), and never raises:

* ``Not attempted yet.`` while the answer is still ``...`` (or a function that returns nothing,
  or an example cluster left as it was), without scolding;
* ``Not yet: ...`` on a wrong answer, explaining the likely misconception in Kubernetes terms
  without giving the expected value away;
* ``Right: ...`` and why, briefly.

So *Run All* on an unanswered notebook runs to its end, and :func:`summary` in its last cell counts
what is done. The strict grade is ``k8slearn check NOTEBOOK`` (:mod:`k8slearn.grading`): it takes
the list of a notebook's exercises from :data:`EXERCISES`, not from the notebook.

**Exercises as data.** Most exercises are an entry (:func:`_entry`): number, kind, title, the
answer's type (:mod:`k8slearn.judging`: an IP, shares per pod, a set of names, a function checked
on many generated clusters, a changed cluster, YAML ...), the expected value as a simulator call,
the misconceptions a wrong answer may show, the "Right" text and three hints; the check function
is generated from the entry. A few have a judge of their own (``@_exercise``): the capstone
(:mod:`k8slearn.capstone`) and two whose answer has an unusual shape. The expected values come from
the simulator (:func:`k8slearn.send`, :func:`k8slearn.traffic`, :mod:`k8slearn.placement`,
:mod:`k8slearn.proxies`) on named clusters, never from a table of numbers. Hints come in levels:
``k8s.check.hint("4.2", level=1)``. Forensics exercises show their evidence with
``k8s.check.data("3.3")``.

When the environment variable ``K8SLEARN_CHECK_REPORT`` names a file, every check appends one JSON
line to it (exercise, status, message); ``k8slearn check`` reads it. Nothing leaves the machine.

Taught in the exercise notebooks, ``exercises/NN-*.ipynb`` (solutions in ``solutions/``).
"""

from __future__ import annotations

import functools
import html
import ipaddress
import itertools
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from . import capstone as _capstone
from . import examples, proxies
from .dataplane import DATAPLANES, health_check
from .errors import K8sLearnError, K8sLearnWarning, one_line, show
from .judging import (
    IP,
    SHARE_TOLERANCE,
    Changed,
    Choice,
    Endpoint,
    Function,
    ListOf,
    Misconception,
    Names,
    Need,
    NotYet,
    Number,
    Path,
    Record,
    Table,
    Untouched,
    Verdict,
    layouts,
    smaller_layouts,
    sums_to,
)
from .judging import close as _close
from .loadbalancer import (
    LB_ADDRESS,
    LOAD_BALANCERS,
    LoadBalancer,
    get_load_balancer,
)
from .manifests import (
    UnknownField,
    from_yaml,
    selector_matches,
    service_from_yaml,
    spread_from_manifest,
    strict_service,
)
from .model import CLIENT_IP, Cluster
from .placement import InvalidPlacement, apply, place
from .trace import send
from .traffic import metrics, traffic

__all__ = [
    "EXERCISES",
    "NOTEBOOKS",
    "PROXY_BYTES",
    "REPORT_ENV",
    "STATUSES",
    "Exercise",
    "Feedback",
    "Summary",
    "chapter_key",
    "chapter_label",
    "capstone",
    "capstone_blank",
    "chapter_of",
    "cluster",
    "data",
    "exercises_of",
    "hint",
    "proxy_chain",
    "summary",
]  # every exercise's check is added when it is registered

REPORT_ENV = "K8SLEARN_CHECK_REPORT"
NOT_ATTEMPTED = "Not attempted yet."

#: What a check can say about an answer.
STATUSES = ("done", "wrong", "not attempted")

#: The exercise notebooks, by chapter: exercise "4.2" lives in ``exercises/04-...ipynb``, exercise
#: "8b.1" in ``exercises/08b-...ipynb`` (a lettered part is the chapter ``"8b"``, a string).
NOTEBOOKS: dict[int | str, str] = {
    1: "01-pods-nodes-services",
    2: "02-into-the-cluster",
    3: "03-external-traffic-policy-cluster",
    4: "04-external-traffic-policy-local",
    5: "05-imbalance",
    6: "06-spreading-pods",
    7: "07-inside-the-cluster",
    8: "08-proxies-and-headers",
    "8b": "08b-what-depends-on-the-client-ip",
    9: "09-dataplanes-compared",
    10: "10-capstone",
}

#: The kinds of exercise, in the order a notebook's set climbs: predict, apply, debug, design.
KINDS = ("predict", "compute", "configure", "yaml", "forensics", "debug", "design")

# Okabe-Ito colours (colour-blind safe); a symbol says the same, so colour is never the only cue.
_LOOK = {
    "done": ("\u2713", "#009E73"),
    "wrong": ("\u2717", "#D55E00"),
    "not attempted": ("\u2026", "#999999"),
    "not checked": ("\u00b7", "#999999"),
    # the capstone's requirements
    "met": ("\u2713", "#009E73"),
    "not met": ("\u2717", "#D55E00"),
    "waiting": ("\u2026", "#999999"),
}

# A judge raises these (k8slearn.judging): a wrong answer with its explanation, or an untouched one.
_Mistake = NotYet
_Untouched = Untouched


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number, kind (:data:`KINDS`), title, check and hints.

    An exercise written as data also has its ``answer`` type, the ``expected`` value (a simulator
    call), the ``mistakes`` it recognises, the text of a ``right`` answer, the explanation
    ``otherwise`` given, ``shows``, the evidence :func:`data` returns (a forensics log), and
    ``cluster``, the cluster it is about (:func:`cluster` hands out a fresh copy).
    """

    id: str
    kind: str
    title: str
    check: str
    hints: tuple[str, ...]
    answer: Any = field(default=None, repr=False, compare=False)
    expected: Callable[[], Any] | None = field(default=None, repr=False, compare=False)
    mistakes: tuple[Misconception, ...] = field(default=(), repr=False, compare=False)
    right: Any = field(default="", repr=False, compare=False)
    otherwise: Any = field(default="", repr=False, compare=False)
    shows: Callable[[], Any] | None = field(default=None, repr=False, compare=False)
    cluster: Callable[[], Cluster] | None = field(default=None, repr=False, compare=False)

    @property
    def chapter(self) -> int | str:
        """The course notebook it practises: 4 for exercise "4.2", "8b" for exercise "8b.1"."""
        return chapter_key(self.id.split(".")[0])

    @property
    def notebook(self) -> str:
        """The exercise notebook it lives in, without ``.ipynb``: ``"04-external-traffic-policy-local"``."""
        return NOTEBOOKS[self.chapter]

    def __repr__(self) -> str:
        return f"Exercise({self.id!r}, {self.kind}, {self.title!r}, check=k8s.check.{self.check})"


#: Every exercise by number, in course order.
EXERCISES: dict[str, Exercise] = {}


def _order(number: str) -> tuple:
    """Course order of exercise numbers: "4.2" < "4b.1" < "10.1" (a chapter may carry a letter)."""
    chapter, _, minor = number.partition(".")
    m = re.match(r"(\d+)(.*)", chapter)
    head = (int(m.group(1)), m.group(2)) if m else (math.inf, chapter)
    return (*head, int(minor) if minor.isdigit() else math.inf, minor)


def _register(exercise: Exercise) -> None:
    EXERCISES[exercise.id] = exercise
    ordered = sorted(EXERCISES.items(), key=lambda item: _order(item[0]))
    EXERCISES.clear()
    EXERCISES.update(ordered)
    if exercise.check not in __all__:
        __all__.append(exercise.check)


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a check says about one answer: ``status`` is one of :data:`STATUSES`.

    A notebook shows it as a short coloured message; ``str(feedback)`` is the plain text.
    ``details`` are extra lines (the capstone's requirements): (title, status, evidence).

    >>> fb = outcomes_per_node(...)
    >>> fb.status, fb.passed
    ('not attempted', False)
    >>> print(fb)  # doctest: +ELLIPSIS
    Not attempted yet. (Exercise 4.1: replace the ... with your answer; k8s.check.hint("4.1") gives a hint.)
    """

    exercise: str
    status: str
    message: str
    details: tuple[tuple[str, str, str], ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "done"

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  {_LOOK[status][0]} {title}: {status}. {evidence}" for title, status, evidence in self.details]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Feedback({self.exercise!r}, {self.status!r})"

    def _repr_html_(self) -> str:
        symbol, colour = _LOOK[self.status]
        rows = "".join(
            f"<li style='list-style:none'><b style='color:{_LOOK[s][1]}'>{_LOOK[s][0]}</b> <b>{html.escape(t)}</b>: "
            f"{html.escape(s)}. {html.escape(e)}</li>" for t, s, e in self.details)
        more = f"<ul style='margin:4px 0;padding-left:8px'>{rows}</ul>" if rows else ""
        return (f"<div class='k8sl-feedback k8sl-{self.status.replace(' ', '-')}' style='border-left:4px solid "
                f"{colour};padding:4px 10px;margin:2px 0'><b style='color:{colour}'>{symbol}</b> "
                f"{html.escape(self.message)}{more}</div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}


# The latest feedback of each exercise checked in this Python session (what summary() counts).
_SESSION: dict[str, Feedback] = {}


def _report(exercise: str, status: str, message: str) -> None:
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"exercise": exercise, "status": status, "message": message}) + "\n")


def _feedback(number: str, judge: Callable[[Any], Any], answer: Any) -> Feedback:
    """Run a judge on an answer and turn what it says into the Feedback a notebook shows."""
    try:
        if answer is Ellipsis:
            raise Untouched
        verdict = judge(answer)
    except Untouched as untouched:
        said = f" {untouched}" if str(untouched) else ""
        feedback = Feedback(number, "not attempted", (
            f"{NOT_ATTEMPTED}{said} (Exercise {number}: replace the ... with your answer; "
            f'k8s.check.hint("{number}") gives a hint.)'), untouched.details)
    except NotYet as wrong:
        feedback = Feedback(number, "wrong", (
            f"Not yet: {wrong} (Exercise {number}; "
            f'k8s.check.hint("{number}", level=1) gives a hint.)'), wrong.details)
    else:
        details = verdict.details if isinstance(verdict, Verdict) else ()
        text = verdict.text if isinstance(verdict, Verdict) else verdict
        feedback = Feedback(number, "done", f"Right: {text}", details)
    _SESSION[number] = feedback
    _report(number, feedback.status, feedback.message)
    return feedback


def _exercise(number: str, kind: str, title: str, *hints: str) -> Callable:
    """Register an exercise with a judge of its own (the escape hatch): the wrapped function
    returns the "Right" text or raises _Mistake/_Untouched."""

    def wrap(judge: Callable) -> Callable:
        _register(Exercise(number, kind, title, judge.__name__, hints))

        @functools.wraps(judge)
        def check(answer: Any) -> Feedback:
            return _feedback(number, judge, answer)

        check.exercise = number  # type: ignore[attr-defined]
        return check

    return wrap


def _entry(number: str, kind: str, title: str, *, check: str, answer: Any, hints: tuple[str, ...],
           right: Any, expected: Callable[[], Any] | None = None, mistakes: tuple[Misconception, ...] = (),
           otherwise: Any = "", shows: Callable[[], Any] | None = None,
           cluster: Callable[[], Cluster] | None = None) -> Callable[[Any], Feedback]:
    """Register an exercise written as data and return its generated check function."""
    from .judging import judge

    if cluster is None and isinstance(answer, Changed) and answer.read is None:
        cluster = answer.start
    exercise = Exercise(number, kind, title, check, tuple(hints), answer, expected, tuple(mistakes), right,
                        otherwise, shows, cluster)
    _register(exercise)

    def generated(answer: Any) -> Feedback:
        return _feedback(number, lambda a: judge(exercise, a), answer)

    generated.__name__ = generated.__qualname__ = check
    generated.__doc__ = (f"Exercise {number} ({kind}): {title}.\n\nReturns the :class:`Feedback` on ``answer``; "
                         f"``k8s.check.hint(\"{number}\")`` gives a hint.")
    generated.exercise = number  # type: ignore[attr-defined]
    return generated


def chapter_key(text: str) -> int | str:
    """A chapter as :data:`NOTEBOOKS` keys it: ``"04"`` -> 4, ``"8b"`` or ``"08b"`` -> ``"8b"``.

    >>> chapter_key("04"), chapter_key("08b")
    (4, '8b')
    """
    m = re.fullmatch(r"0*(\d+)([a-z]?)", text)
    if not m:
        return text
    return f"{int(m.group(1))}{m.group(2)}" if m.group(2) else int(m.group(1))


def chapter_label(chapter: int | str) -> str:
    """How a chapter is written in file names and summaries: 4 -> ``"04"``, ``"8b"`` -> ``"08b"``.

    >>> chapter_label(4), chapter_label("8b")
    ('04', '08b')
    """
    m = re.fullmatch(r"(\d+)([a-z]?)", str(chapter))
    return f"{int(m.group(1)):02d}{m.group(2)}" if m else str(chapter)


def chapter_of(notebook: int | str) -> int | str:
    """The chapter of a notebook given as a number or a name: ``4``, ``"04"``, ``"04-external-..."``,
    ``"8b"``, ``"08b-what-..."``.

    >>> chapter_of("04-external-traffic-policy-local.ipynb"), chapter_of(10), chapter_of("08b-what-depends-on-the-client-ip")
    (4, 10, '8b')
    """
    m = re.match(r"\s*(\d+[a-z]?)(?![a-z])", str(notebook))
    chapter = chapter_key(m.group(1)) if m else None
    if chapter not in NOTEBOOKS:
        raise K8sLearnError(f"no exercise notebook {notebook!r}",
                            hint=f"the exercise notebooks are {', '.join(NOTEBOOKS.values())}.")
    return chapter


def exercises_of(notebook: int | str) -> list[Exercise]:
    """The exercises of one exercise notebook, in order, from the registry (never from the notebook).

    >>> [e.id for e in exercises_of(4)]
    ['4.1', '4.2', '4.3', '4.4', '4.5']
    """
    chapter = chapter_of(notebook)
    return [e for e in EXERCISES.values() if e.chapter == chapter]


@dataclass(frozen=True, slots=True)
class Summary:
    """The exercises of one notebook and what their checks said in this session (:func:`summary`)."""

    chapter: int | str
    rows: tuple[tuple[Exercise, str], ...]

    def counts(self) -> dict[str, int]:
        found = {s: 0 for s in (*STATUSES, "not checked")}
        for _, status in self.rows:
            found[status] += 1
        return found

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n or s == "done")
        lines = [f"Exercises {chapter_label(self.chapter)}: {counts} (of {len(self.rows)})"]
        lines += [f"  {e.id:>5}  {status:<13}  {e.title}" for e, status in self.rows]
        lines.append(_STRICT.format(name=NOTEBOOKS[self.chapter]))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Summary({self.chapter}, {self.counts()})"

    def _repr_html_(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n or s == "done")
        rows = "".join(
            f"<tr><td style='text-align:left'>{e.id}</td><td style='text-align:left;color:{_LOOK[s][1]}'>"
            f"<b>{_LOOK[s][0]}</b> {s}</td><td style='text-align:left'>{html.escape(e.title)}</td></tr>"
            for e, s in self.rows)
        strict = html.escape(_STRICT.format(name=NOTEBOOKS[self.chapter]))
        strict = re.sub(r"`([^`]+)`", r"<code>\1</code>", strict)
        return (f"<div class='k8sl-summary'><b>Exercises {chapter_label(self.chapter)}: {counts} (of {len(self.rows)})</b>"
                f"<table><tr><th style='text-align:left'>exercise</th><th style='text-align:left'>status</th>"
                f"<th style='text-align:left'>title</th></tr>{rows}</table><small>{strict}</small></div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}


_STRICT = ("Checked in this session only. For the strict grade, save the notebook and run "
           "`k8slearn check exercises/{name}.ipynb` in a terminal (File → New → Terminal).")


def summary(notebook: int | str) -> Summary:
    """What the checks of one exercise notebook said in this session: done, wrong, not attempted.

    An exercise whose check has not run yet is "not checked". The list of exercises comes from the
    registry, so a deleted check cell shows up here too.

    >>> _ = ready_shares({"web-1": 1 / 9, "web-2": 1 / 9, "web-3": 1 / 9, "web-4": 1 / 3, "web-5": 1 / 6, "web-6": 1 / 6})
    >>> summary(4).counts()["done"] >= 1
    True
    """
    rows = tuple((e, _SESSION[e.id].status if e.id in _SESSION else "not checked") for e in exercises_of(notebook))
    return Summary(chapter_of(notebook), rows)


def hint(exercise: str, level: int = 1) -> str:
    """Print (and return) hint ``level`` (1, 2, ...) for an exercise; higher levels say more.

    >>> _ = hint("4.2")
    Hint 1 of 3 for exercise 4.2: How does the load balancer split traffic between nodes when the health checks decide?
    """
    if exercise not in EXERCISES:
        raise K8sLearnError(f"no exercise {exercise!r}",
                            hint=f"the exercises are: {', '.join(EXERCISES)}.")
    hints = EXERCISES[exercise].hints
    level = max(1, min(int(level), len(hints)))
    text = f"Hint {level} of {len(hints)} for exercise {exercise}: {hints[level - 1]}"
    print(text)
    return text


def data(exercise: str) -> Any:
    """The evidence a forensics exercise gives (an access log, as a table): ``k8s.check.data("3.3")``.

    >>> d = data("3.3")
    >>> d.index.name, d.columns.tolist()
    ('line', ['pod', 'source address the pod logged'])
    """
    import pandas as pd

    found = EXERCISES.get(exercise)
    if found is None or found.shows is None:
        with_data = [e.id for e in EXERCISES.values() if e.shows is not None]
        raise K8sLearnError(f"exercise {exercise!r} comes with no data",
                            hint=f"these exercises do: {', '.join(with_data)}.")
    rows = found.shows()
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="line"))


def cluster(exercise: str) -> Cluster:
    """A fresh copy of the cluster an exercise is about: ``c = k8s.check.cluster("1.1")``.

    >>> print(cluster("2.1"))  # doctest: +ELLIPSIS
    node-a (192.168.0.11, zone-a): no pods
    ...
    """
    found = EXERCISES.get(exercise)
    if found is None or found.cluster is None:
        with_one = [e.id for e in EXERCISES.values() if e.cluster is not None]
        raise K8sLearnError(f"exercise {exercise!r} comes with no cluster of its own",
                            hint=f"these exercises do: {', '.join(with_one)}; the others use k8s.examples.")
    return found.cluster().copy()


# ------------------------------------------------------------------------------------ helpers
def _ip(answer: Any, what: str = "an IP address") -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(str(answer).strip())
    except ValueError:
        raise _Mistake(f"{answer!r} is not {what}; write it like \"10.244.1.5\".") from None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        try:
            import numpy as np

            if isinstance(value, np.number):
                return float(value)
        except ImportError:  # pragma: no cover
            pass
        raise _Mistake(f"{what} should be a number such as 0.25 (or Fraction(1, 4)), not {value!r}.")
    return float(value)


def _as_mapping(answer: Any, what: str) -> Mapping:
    if not isinstance(answer, Mapping):
        raise _Mistake(f"answer with a dict {what}, not a {type(answer).__name__}.")
    return answer


def _fractions(answer: Any, keys: list[str], what: str) -> dict[str, float]:
    """A dict of shares; missing keys count 0; percentages (summing to 100) are accepted."""
    answer = _as_mapping(answer, what)
    unknown = [k for k in answer if k not in keys]
    if unknown:
        raise _Mistake(f"{unknown[0]!r} is not one of the names here ({', '.join(keys)}).")
    values = {k: _number(answer.get(k, 0), f"the share of {k}") for k in keys}
    if _close(sum(values.values()), 100.0):
        values = {k: v / 100 for k, v in values.items()}
    return values


def _cluster(answer: Any) -> Cluster:
    if not isinstance(answer, Cluster):
        raise _Mistake(f"set answer to the changed cluster (answer = cluster), not a {type(answer).__name__}.")
    return answer


def _state(cluster: Cluster) -> str:
    return cluster.summary() + repr(cluster.services) + repr(cluster.pods) + repr(cluster.nodes)


def _unchanged(cluster: Cluster, start: Cluster) -> None:
    if _state(cluster) == _state(start):
        raise _Untouched


def _shares(frame: Any) -> dict[str, float]:
    return {row.pod: float(row.share) for row in frame.itertuples()}


#: A share per pod as a learner writes it: 0.11, 11.1 (%) or Fraction(1, 9), within half a percentage point.
_SHARE = Number("a share", tolerance=SHARE_TOLERANCE)


def _all_equal(got: Mapping[str, float], want: Any = None) -> bool:
    """Every pod gets the same share (rounded the same way)."""
    first = next(iter(got.values()))
    return all(_close(v, first, tolerance=SHARE_TOLERANCE) for v in got.values())


def _not_a_whole(got: Mapping[str, float], want: Any = None) -> bool:
    """The shares do not add up to 1, even allowing for each one's rounding."""
    return not sums_to(got.values(), 1.0, SHARE_TOLERANCE)


def _local_uneven() -> Cluster:
    return examples.uneven(external_traffic_policy="Local")


def _call(function: Any, *args: Any) -> Any:
    from .judging import call

    return call(function, *args)


def _quiet(build: Callable[[], Cluster]) -> Callable[[], Cluster]:
    """A cluster builder that keeps the model's warnings (a selector matching nothing) to itself."""

    @functools.wraps(build)
    def quiet() -> Cluster:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", K8sLearnWarning)
            return build()

    return quiet


def _holds(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A requirement test that counts a k8slearn error (a deleted service ...) as not met."""

    def safe(value: Any) -> bool:
        try:
            return bool(test(value))
        except K8sLearnError:
            return False

    return safe


def _nodes(build: Callable[[], Cluster]) -> Callable[[], list[str]]:
    return lambda: [n.name for n in build().nodes]


def _pods(build: Callable[[], Cluster], app: str = "web") -> Callable[[], list[str]]:
    return lambda: [p.name for p in build().pods if p.labels.get("app") == app]


def _who(cluster: Cluster, address: Any) -> str:
    """The node whose address (own or bridge) this is, else ''."""
    for n in cluster.nodes:
        if address in (n.ip, n.bridge_ip):
            return n.name
    return ""


_OUTCOMES = ("delivered", "dropped", "refused")


# --- YAML answers: read as the API server would, strictly -----------------------------------------
# Unknown fields are refused like `kubectl apply --validate=strict` (k8slearn.manifests.strict_service);
# kubernetes-validate checks the same in the tests (tests/test_checks.py).


def _refused(err: UnknownField) -> NotYet:
    """An unknown field, as kubectl apply refuses it, with the nearest field it knows."""
    return NotYet(f"{err.message} (kubectl apply refuses it; {err.hint})")


def _service_yaml(start: Callable[[], Cluster], name: str) -> Callable[[Any], tuple[Cluster, Any]]:
    """Read the learner's YAML: one Service ``name``, validated strictly and by the API server's rules,
    then added to a fresh ``start()`` cluster. Returns (cluster, service)."""

    def read(raw: Any) -> tuple[Cluster, Any]:
        if not isinstance(raw, str):
            raise NotYet("answer with the Service's YAML as text, between triple quotes: answer = \"\"\"...\"\"\".")
        try:
            docs = from_yaml(raw)
        except K8sLearnError as err:
            raise NotYet(f"the YAML does not parse: {str(err).splitlines()[0]}") from None
        services = [d for d in docs if isinstance(d, Mapping) and d.get("kind") == "Service"]
        if not services:
            raise NotYet("the YAML holds no Service: it needs apiVersion: v1 and kind: Service.")
        if len(services) > 1:
            raise NotYet("write one Service only.")
        try:
            strict_service(services[0])
        except UnknownField as err:
            raise _refused(err) from None
        cluster = start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", K8sLearnWarning)
                (svc,) = service_from_yaml(raw, cluster)
        except K8sLearnError as err:
            raise NotYet(f"the API server would refuse it: {one_line(err)}") from None
        if svc.name != name:
            raise NotYet(f"name the Service {name} (metadata.name: {name}).")
        return cluster, svc

    return read


# ================================================================================ the exercises
# ------------------------------------------------------------------------------ 01 pods, nodes
@functools.cache
def _conditions() -> Cluster:
    """Exercise 1.1: four nodes, pods 2 / 1 / 1 / 0; web-2 fails its readiness probe, web-4 terminates.

    ::

        node-a: web-1, web-2 (not ready)   node-b: web-3   node-c: web-4 (terminating)   node-d: -
    """
    c = Cluster.from_layout([2, 1, 1, 0], name="conditions")
    c.set_pod("web-2", ready=False)
    c.set_pod("web-4", terminating=True)
    return c


def _fresh_conditions() -> Cluster:
    return _conditions().copy()


def _ready_by_node(ready: Callable[[Any], bool]) -> Callable[[], dict[str, int]]:
    def count() -> dict[str, int]:
        c = _conditions()
        return {n: sum(1 for e in eps if ready(e)) for n, eps in c.endpoints_by_node("web").items()}
    return count


ready_endpoints = _entry(
    "1.1", "predict", "Ready endpoints on a cluster with a not-ready and a terminating pod",
    check="ready_endpoints",
    cluster=_conditions,
    answer=Table(_nodes(_fresh_conditions), Number("a count", percent=False), "{node name: ready endpoints}", missing=0),
    expected=_ready_by_node(lambda e: e.ready),
    mistakes=(
        Misconception("a pod that fails its readiness probe and a pod that is terminating both keep their entry in the "
                      "EndpointSlice, but neither is ready: kube-proxy sends new connections to ready endpoints only.",
                      equals=_ready_by_node(lambda e: True)),
        Misconception("web-4 is terminating: its endpoint says serving true but ready false, because ready means "
                      "serving and not terminating.", equals=_ready_by_node(lambda e: e.serving)),
        Misconception("web-2 fails its readiness probe, so its endpoint is not ready (serving false): no new "
                      "connections go to it.", equals=_ready_by_node(lambda e: not e.terminating)),
    ),
    otherwise="each endpoint sits on the node of its pod; count only the ready ones.",
    right="web-2 (readiness probe failing) and web-4 (terminating) stay in the EndpointSlice with ready false, so "
          "node-a has one ready endpoint, node-b one, node-c none: under Local, node-c would now drop.",
    hints=("Print c.endpoints('web'): every pod has an entry with its conditions.",
           "ready = serving and not terminating; a pod failing readiness is not serving.",
           "Count, per node, the endpoints whose .ready is True (c.endpoints_by_node('web'))."),
)


def _db_cluster() -> Cluster:
    """Exercise 1.2: the in-cluster example plus two database pods (app: db) on node-a and node-b."""
    c = examples.in_cluster()
    c.add_pod("db-1", "node-a", labels={"app": "db"})
    c.add_pod("db-2", "node-b", labels={"app": "db"})
    return c


def _db_endpoints(value: tuple[Cluster, Any]) -> set[str]:
    c, svc = value
    return {e.pod for e in c.endpoints(svc)}


db_service_yaml = _entry(
    "1.2", "yaml", "A Service in YAML, reachable only inside the cluster",
    check="db_service_yaml",
    cluster=_db_cluster,
    answer=Changed(_db_cluster, (
        Need(lambda v: _db_endpoints(v) == {"db-1", "db-2"},
             lambda v: (f"the Service's endpoints are {sorted(_db_endpoints(v)) or 'none'}: a Service selects the "
                        "pods whose labels include every key and value of its selector (here the pods say app: db).")),
        Need(lambda v: v[1].type == "ClusterIP" and not v[1].external_ips,
             lambda v: (f"a {v[1].type} service opens a port on every node (and a load balancer, for LoadBalancer) to "
                        "clients outside the cluster; only type ClusterIP (without externalIPs) stays inside.")),
        Need(lambda v: v[1].port == 5432 and v[1].target_port == 5432,
             "the clients dial port 5432 and the database listens on 5432: set port and targetPort."),
        Need(_holds(lambda v: send(v[0], "db", client="client", seed=1).delivered),
             "a pod still cannot reach the database through the ClusterIP."),
    ), read=_service_yaml(_db_cluster, "db")),
    right="validated like the API server would (a type ClusterIP, the default, gets a virtual address only pods and "
          "nodes can reach), and the simulator delivers a pod's connection to a db pod.",
    hints=("Four top-level fields: apiVersion: v1, kind: Service, metadata (its name), spec.",
           ("spec.selector picks the pods by label (print the pods: cluster.pods); spec.ports is a list with port and "
            "targetPort."),
           "Leave type out (ClusterIP is the default); externalTrafficPolicy would be refused on a ClusterIP service."),
)


@_quiet
def _selector_typo() -> Cluster:
    """Exercise 1.3: the uneven cluster after a refactoring gave web's selector a label no pod has."""
    c = examples.uneven()
    c.patch_service("web", selector={"app": "web", "tier": "frontend"})
    return c


def _web_endpoints(c: Cluster) -> set[str]:
    return {e.pod for e in c.endpoints("web")}


def _endpoints_text(c: Cluster) -> str:
    try:
        return ", ".join(sorted(_web_endpoints(c))) or "none"
    except K8sLearnError:
        return "gone (there is no Service web any more)"


fix_selector = _entry(
    "1.3", "debug", "Every connection refused",
    check="fix_selector",
    answer=Changed(_selector_typo, (
        Need(lambda c: {p.name for p in c.pods} == {"web-1", "web-2", "web-3"},
             "keep the three pods and add none: the Deployment's pods are fine; the task is to make the Service "
             "find them."),
        Need(_holds(lambda c: _web_endpoints(c) == {"web-1", "web-2", "web-3"}),
             lambda c: (f"web's endpoints are now {_endpoints_text(c)}: a Service selects the pods whose labels "
                        "include every key and value of its selector.")),
        Need(_holds(lambda c: send(c, "web", seed=1).delivered), "a connection to web still fails."),
    )),
    right="the selector matches the pods' labels again. A Service whose selector matches no pod has no endpoints, "
          "and kube-proxy then REJECTs its connections (connection refused) instead of dropping them.",
    hints=("k8s.send(cluster, 'web', seed=1) says what happens; cluster.endpoints('web') lists the endpoints.",
           "Compare the Service's selector with the labels the pods carry (print cluster.pods).",
           "cluster.patch_service('web', selector={...}) with a selector the pods match."),
)


# ------------------------------------------------------------------------ 02 into the cluster
@functools.cache
def _nodeport_four() -> Cluster:
    """Exercises 2.1 and 2.2: a NodePort service on four nodes, pods 0 / 1 / 2 / 0."""
    return Cluster.from_layout([0, 1, 2, 0], type="NodePort", name="nodeport-four")


def _nodeport_trace() -> Any:
    return send(_nodeport_four(), "web", via="node-d", endpoint="web-1", seed=1)


trace_path = _entry(
    "2.1", "predict", "The path of a NodePort connection",
    check="trace_path",
    cluster=_nodeport_four,
    answer=Path(),
    expected=lambda: _nodeport_trace().path,
    mistakes=(
        Misconception("a NodePort is dialled on a node's own address: no load balancer is on the way (the client "
                      "chose node-d itself).", when=lambda got, want: "load balancer" in got),
        Misconception("start where the connection starts, at the client.", when=lambda got, want: got[:1] != ("client",)),
        Misconception("the packet enters the cluster at the node the client dialled, before kube-proxy there "
                      "chooses a pod.", when=lambda got, want: "node-d" not in got),
        Misconception("the chosen pod runs on another node than the one that received the packet: the packet has "
                      "to travel there.", when=lambda got, want: "node-b" not in got),
    ),
    otherwise="the places are right but not their order (or one appears twice).",
    right="the client dialled node-d's NodePort; kube-proxy on node-d picked web-1 and sent the packet on to "
          "node-b: an extra node hop, with no load balancer at all.",
    hints=("Which address did the client dial? Is a load balancer involved with a NodePort?",
           "kube-proxy on the receiving node picks any ready endpoint; where does web-1 run?",
           "List: 'client', the receiving node, the pod's node, the pod."),
)


def _reply_source() -> tuple[Any, int]:
    accept = _nodeport_trace().reply[-1]
    return accept.before.src, accept.before.sport


reply_source = _entry(
    "2.2", "predict", "The source of the reply the client receives",
    check="reply_source",
    cluster=_nodeport_four,
    answer=Endpoint(),
    expected=_reply_source,
    mistakes=(
        Misconception("conntrack on node-d reverses the DNAT on the way back: the client dialled node-d's "
                      "NodePort, and a reply from any other address would be discarded.",
                      when=lambda got, want: got[0] == _nodeport_four().pod("web-1").ip),
        Misconception("node-b only routes the reply back to node-d, which holds the connection's conntrack "
                      "entry; node-b rewrites nothing.",
                      when=lambda got, want: got[0] in (_nodeport_four().node("node-b").ip,
                                                         _nodeport_four().node("node-b").bridge_ip)),
        Misconception("the address is right; the port is the one the client dialled.",
                      when=lambda got, want: got[0] == want[0]),
    ),
    otherwise="which address and port did the client dial? The reply must come from exactly there.",
    right="node-d un-NATs the reply (source back to its own address and NodePort, destination back to the client), "
          "so it matches the connection the client opened.",
    hints=("The reply travels back along the request's path; which node holds the connection's conntrack entry?",
           "Conntrack reverses both rewrites: the SNAT and the DNAT.",
           "The client accepts only a reply from the address and port it dialled."),
)


@dataclass(frozen=True)
class _Sent:
    """Exercise 2.3: one connection on a small cluster (built again when asked, so cases stay small)."""

    counts: tuple[int, ...]
    type: str
    policy: str
    via: str
    seed: int

    @functools.cached_property
    def trace(self) -> Any:
        c = Cluster.from_layout(list(self.counts), type=self.type, external_traffic_policy=self.policy)
        return send(c, "web", via=self.via, seed=self.seed)

    def __str__(self) -> str:
        return (f"k8s.send(k8s.Cluster.from_layout({list(self.counts)}, type={self.type!r}, external_traffic_policy="
                f"{self.policy!r}), 'web', via={self.via!r}, seed={self.seed})")


def _sent_cases() -> list[_Sent]:
    return [_Sent((0, 1, 2, 0), "NodePort", "Cluster", "node-d", 1), _Sent((2, 1, 0), "LoadBalancer", "Cluster", "node-c", 1)]


def _sent_generated(seed: int, count: int) -> list[_Sent]:
    """Seeded connections on generated clusters: a layout, a Service type and policy, an entry node."""
    import numpy as np

    gen = np.random.default_rng(seed)
    out = []
    for layout in layouts(seed, count):
        nodes = list(layout)
        out.append(_Sent(tuple(layout.values()), str(gen.choice(["LoadBalancer", "NodePort"])),
                         str(gen.choice(["Cluster", "Local"])), str(gen.choice(nodes)), int(gen.integers(1, 100))))
    return out


def _rewrites(trace: Any) -> list[tuple[str, str]]:
    return [(h.at.name, h.action) for h in (*trace.hops, *trace.reply) if h.changed]


def _compare_rewrites(got: Any, case: _Sent) -> str | None:
    want = _rewrites(case.trace)
    if isinstance(got, (str, bytes, Mapping)) or not isinstance(got, (list, tuple)):
        return f"your function returned {type(got).__name__}; return a list of (place, action) pairs."
    try:
        pairs = [(str(a), str(b)) for a, b in got]
    except (TypeError, ValueError):
        return "return (place, action) pairs, such as ('node-d', 'DNAT')."
    if pairs == want:
        return None
    request = [(h.at.name, h.action) for h in case.trace.hops if h.changed]
    if pairs == request and request != want:
        return ("it leaves out the reply: on the way back conntrack reverses the NAT (trace.reply), and that "
                "rewrites the packet too.")
    unchanged = {(h.at.name, h.action) for h in (*case.trace.hops, *case.trace.reply) if not h.changed}
    if any(p in unchanged for p in pairs):
        return ("it lists a hop that changes nothing (a route, a forward, a delivery): compare each hop's before and "
                "after packet, or use hop.changed.")
    if sorted(pairs) == sorted(want):
        return "the rewrites are right but not their order: keep the order of the hops, the request's then the reply's."
    return "compare each hop's packet before and after (hop.before, hop.after): which addresses or ports changed?"


nat_rewrites = _entry(
    "2.3", "compute", "Every rewrite of one connection, from its trace",
    check="nat_rewrites",
    answer=Function(_sent_cases, _compare_rewrites, _sent_generated, describe=str, what="connection",
                    argument=lambda case: (case.trace,), size=lambda case: (len(case.counts), sum(case.counts))),
    right="a connection is rewritten only where NAT happens: DNAT (and SNAT, under Cluster) on the node that "
          "received it, and the un-NAT on the way back; every other hop only moves the packet.",
    hints=(("trace.hops are the request's hops, trace.reply the reply's; each hop has .at.name, .action, .before "
           "and .after."),
           "A hop rewrote the packet when its before and after differ; hop.changed names the fields that changed.",
           "[(h.at.name, h.action) for h in (*trace.hops, *trace.reply) if h.changed]"),
)


# ------------------------------------------------------------------- 03 externalTrafficPolicy: Cluster
@functools.cache
def _hole_four() -> Cluster:
    """Exercise 3.1: four nodes, pods 1 / 0 / 2 / 1, Cluster."""
    return Cluster.from_layout([1, 0, 2, 1], name="hole-four")


def _hole_node(name: str) -> Callable[[], Any]:
    return lambda: {_hole_four().node(name).ip, _hole_four().node(name).bridge_ip}


seen_ip_empty_node = _entry(
    "3.1", "predict", "Source IP when the load balancer picks a node without pods",
    check="seen_ip_empty_node",
    cluster=_hole_four,
    answer=IP(),
    expected=lambda: send(_hole_four(), "web", via="node-b", endpoint="web-4", seed=1).source_seen_by_pod,
    mistakes=(
        Misconception("under Cluster the receiving node masquerades every external packet: without the SNAT, web-4 "
                      "would answer the client directly, from an address the client never dialled.",
                      equals=lambda: CLIENT_IP),
        Misconception("the pod's own node only delivers the packet; the rewrite happened on the node that received "
                      "it.", equals=_hole_node("node-d")),
        Misconception("the bridge address is used toward a pod on the same node; this packet leaves node-b over the "
                      "node network.", equals=lambda: _hole_four().node("node-b").bridge_ip),
    ),
    otherwise="that address does not take part in this connection; which node received it?",
    right="node-b has no web pod, so kube-proxy there sends the packet on to web-4 on node-d, masqueraded to "
          "node-b's own IP: the reply must come back through node-b, which holds the NAT state.",
    hints=("Which node receives the packet, and where does web-4 run?",
           "Under Cluster kube-proxy marks every external packet for masquerade, before it picks the pod.",
           "MASQUERADE uses the address of the interface the packet leaves by: toward another node, the node's IP."),
)


# The access log of exercise 3.3: (node the load balancer picked, pod kube-proxy picked).
_LOG_3 = (("node-c", "web-1"), ("node-a", "web-2"), ("node-b", "web-1"), ("node-b", "web-3"),
          ("node-a", "web-3"), ("node-c", "web-3"))


@functools.cache
def _log_3() -> tuple[Any, ...]:
    return tuple(send(examples.uneven(), "web", via=via, endpoint=pod, seed=1) for via, pod in _LOG_3)


def _log_rows(traces: Callable[[], tuple[Any, ...]]) -> Callable[[], list[dict[str, str]]]:
    return lambda: [{"pod": t.pod, "source address the pod logged": str(t.source_seen_by_pod)} for t in traces()]


def _line_node_ip(traces: Callable[[], tuple[Any, ...]]) -> Callable[[Any, Any, int], bool]:
    """The learner named the pod's own node for a line whose source is a node's IP (a remote SNAT)."""
    def when(got: Any, want: Any, line: int) -> bool:
        t = traces()[line - 1]
        c = examples.uneven()
        return got == t.pod_node and any(t.source_seen_by_pod == n.ip for n in c.nodes)
    return when


def _line_bridge(traces: Callable[[], tuple[Any, ...]]) -> Callable[[Any, Any, int], bool]:
    def when(got: Any, want: Any, line: int) -> bool:
        t = traces()[line - 1]
        return got != t.pod_node and any(t.source_seen_by_pod == n.bridge_ip for n in examples.uneven().nodes)
    return when


entry_nodes_from_log = _entry(
    "3.3", "forensics", "Which node received each connection? (an access log)",
    check="entry_nodes_from_log",
    cluster=examples.uneven,
    answer=ListOf(Choice(_nodes(examples.uneven), "node name"), lambda: len(_LOG_3), "node names"),
    expected=lambda: tuple(t.entry_node for t in _log_3()),
    shows=_log_rows(_log_3),
    mistakes=(
        Misconception("a node's own IP as the source names the node that received the connection and masqueraded "
                      "it toward another node; the pod's node only delivers.", when=_line_node_ip(_log_3), per_line=True),
        Misconception("10.244.x.1 is a node's address on the bridge toward its own pods: the masquerade of a packet "
                      "that was received on the pod's own node.", when=_line_bridge(_log_3), per_line=True),
    ),
    otherwise="match the source address to the node it belongs to (print the cluster: nodes and their IPs).",
    right="under Cluster every line names its entry node: the node's IP when the pod was elsewhere (an extra hop), "
          "its bridge address when the pod ran on the receiving node itself. The client's address is in no line.",
    hints=("Under Cluster every external packet is masqueraded. To which address?",
           ("Toward a pod on another node: the receiving node's IP. Toward a local pod: the node's bridge address "
            "(10.244.<n>.1 on node n)."),
           "Print the cluster to see each node's IP and pod CIDR; node-a's bridge is 10.244.1.1."),
)


def _extra_hop_cases() -> list[dict[str, int]]:
    return [{"node-a": 2, "node-b": 1, "node-c": 0}, {"node-a": 1, "node-b": 1},
            {"node-a": 3, "node-b": 1, "node-c": 4, "node-d": 0}]


def _compare_extra_hop(got: Any, layout: dict[str, int]) -> str | None:
    table = metrics(Cluster.from_layout(list(layout.values())), "web", lb="equal")
    want = {row.scope: float(row.extra_hop) for row in table.itertuples() if row.scope != "overall"}
    if not isinstance(got, Mapping):
        return f"your function returned {type(got).__name__}; return a dict {{node: probability}}."
    for node, chance in want.items():
        if node not in got:
            return f"your function gives no value for {node}."
        value = got[node]
        if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)) and not hasattr(value, "__float__"):
            return f"for {node} it returns {value!r}, not a probability."
        value = float(value)
        if _close(value, chance):
            continue
        if layout[node] == 0:
            return (f"for {node}, which runs no pod, it says {value:.3g}: a node without pods always forwards, so "
                    "every connection entering there leaves it.")
        if _close(value, 1 - chance):
            return f"for {node} it gives the chance of staying on {node}, not of leaving it."
        return (f"for {node} it says {value:.3g}: kube-proxy on each node picks uniformly among ALL ready endpoints "
                "of the Service, so the chance of staying is the node's share of them.")
    return None


extra_hop_chance = _entry(
    "3.2", "compute", "The chance of an extra node hop under Cluster",
    check="extra_hop_chance",
    answer=Function(_extra_hop_cases, _compare_extra_hop, layouts, smaller_layouts,
                    size=lambda layout: (len(layout), sum(layout.values()))),
    right="each node picks among all endpoints, so a node's share of local endpoints is the chance of staying.",
    hints=("On each node kube-proxy picks uniformly among ALL ready endpoints of the Service.",
           ("A hop is extra when the picked pod is not on the receiving node. With P pods, p of them local, how likely "
            "is that?"),
           "1 - p_n / P for node n; 1 for a node without pods."),
)


# ------------------------------------------------------------------- 04 externalTrafficPolicy: Local
@functools.cache
def _nodeport_local() -> Cluster:
    """Exercise 4.1: a NodePort service with Local on four nodes, pods 2 / 0 / 1 / 0."""
    return Cluster.from_layout([2, 0, 1, 0], type="NodePort", external_traffic_policy="Local", name="nodeport-local")


outcomes_per_node = _entry(
    "4.1", "predict", "NodePort + Local behind DNS round robin",
    check="outcomes_per_node",
    cluster=_nodeport_local,
    answer=Table(_nodes(_nodeport_local), Choice(lambda: _OUTCOMES, "outcome"), '{node: "delivered" / "dropped" / "refused"}'),
    expected=lambda: {n.name: send(_nodeport_local(), "web", via=n.name, seed=1).outcome for n in _nodeport_local().nodes},
    mistakes=(
        Misconception("kube-proxy REJECTs (connection refused) only when the Service has no endpoint anywhere; a node "
                      "that merely has none of its own DROPs external traffic under Local, silently.",
                      when=lambda got, want: "refused" in got.values()),
        Misconception("Local does not keep the service working on every node: kube-proxy never forwards external "
                      "traffic to another node's pods, so a node without a local endpoint cannot serve it.",
                      when=lambda got, want: set(got.values()) == {"delivered"}),
    ),
    otherwise="which nodes run a web pod of their own?",
    right="node-b and node-d have no local endpoint and drop, silently (the client times out): half of the DNS "
          "answers lead nowhere. With NodePort + Local there is no health-check port either, so nothing steers "
          "clients away.",
    hints=("Under Local, which endpoints may a node use for a packet from outside?",
           "What does kube-proxy do on a node with no local endpoint: drop, or reject?",
           "REJECT is for a Service without any endpoint; 'has no local endpoints' rules DROP."),
)


@functools.cache
def _three_one() -> Cluster:
    """Exercise 4.2: four nodes, pods 3 / 1 / 0 / 2, Local."""
    return Cluster.from_layout([3, 1, 0, 2], external_traffic_policy="Local", name="three-one")


def _per_node_counting_empty() -> dict[str, float]:
    c = _three_one()
    return {p.name: 1 / (len(c.nodes) * len(c.pods_on(p.node))) for p in c.pods}


ready_shares = _entry(
    "4.2", "predict", "Per-pod shares under Local",
    check="ready_shares",
    cluster=_three_one,
    answer=Table(_pods(_three_one), _SHARE, "{pod name: share}", missing=0.0, shares=True),
    expected=lambda: _shares(traffic(_three_one(), "web")),
    mistakes=(
        Misconception("Local does not balance across pods: the load balancer balances across nodes, and then each "
                      "node spreads its share over its own pods only.",
                      when=_all_equal),
        Misconception("node-c has no pod, so it fails its health check and the load balancer sends it nothing: only "
                      "the healthy nodes share the traffic.", equals=_per_node_counting_empty),
        Misconception("the shares should add up to 1: with health checks nothing is dropped here.",
                      when=_not_a_whole),
    ),
    otherwise="which node holds which pod? Each healthy node's share is split among its local pods.",
    right="three healthy nodes get a third each; node-a splits its third over three pods (1/9 each), node-d over "
          "two (1/6), and web-4 alone on node-b gets 1/3: three times web-1's load.",
    hints=("How does the load balancer split traffic between nodes when the health checks decide?",
           "A cloud L4 load balancer sends the same share to every healthy node, whatever the number of pods there.",
           "Each healthy node gets 1/H; its pods split that equally."),
)


@functools.cache
def _probes() -> Cluster:
    """Exercise 4.3: four nodes, one pod each on a, b, c; web-2 not ready, web-3 terminating; Local."""
    c = Cluster.from_layout([1, 1, 1, 0], external_traffic_policy="Local", name="probes")
    c.set_pod("web-2", ready=False)
    c.set_pod("web-3", terminating=True)
    return c


failing_health_checks = _entry(
    "4.3", "predict", "Which health checks answer 503",
    check="failing_health_checks",
    cluster=_probes,
    answer=Names(_nodes(_probes), "node names"),
    expected=lambda: {n.name for n in _probes().nodes if health_check(_probes(), "web", n.name).status == 503},
    mistakes=(
        Misconception("a 503 here is not an error of your app: it is kube-proxy's designed signal that a node has no "
                      "ready local endpoint, so the load balancer should skip it.", when=lambda got, want: not got),
        Misconception("node-a runs web-1, ready: its health check answers 200.", when=lambda got, want: "node-a" in got),
        Misconception("terminating endpoints are not counted, even while they still serve: node-c says 503 so that "
                      "the load balancer moves away before web-3 is gone.",
                      when=lambda got, want: "node-c" not in got),
        Misconception("web-2 fails its readiness probe, so node-b has no ready local endpoint.",
                      when=lambda got, want: "node-b" not in got),
    ),
    otherwise="the health check counts the ready endpoints on the node itself, not in the whole cluster.",
    right="kube-proxy answers 200 only with at least one ready local endpoint: a not-ready pod does not count, a "
          "terminating one does not count either (so the load balancer drains the node in time), and node-d has none.",
    hints=("Under Local with type LoadBalancer, kube-proxy answers on the Service's healthCheckNodePort on every node.",
           "It answers 200 when the node has at least one READY local endpoint, else 503.",
           "k8s.health_check(cluster, 'web', node) shows what one node answers; look at each pod's conditions first."),
)


@_quiet
def _no_service() -> Cluster:
    """Exercise 4.5: the uneven cluster's pods, without their Service."""
    c = examples.uneven()
    c.delete_service("web")
    return c


def _policy_of(v: tuple[Cluster, Any]) -> str | None:
    return v[1].external_traffic_policy


#: The port the web pods of exercise 4.5 listen on (the uneven cluster's Service sent there).
_WEB_POD_PORT = 8080


def _wrong_target_port(v: tuple[Cluster, Any]) -> str:
    return (f"the Service sends the connections to port {v[1].target_port} on the pods (its targetPort, which "
            f"defaults to port when left out), but the pods listen on {_WEB_POD_PORT}: port is what clients dial on "
            "the Service, targetPort is where the pods listen (their containerPort), and nothing answers on another "
            "port (connection refused).")


local_service_yaml = _entry(
    "4.5", "yaml", "A Service in YAML that keeps client IPs behind a load balancer",
    check="local_service_yaml",
    cluster=_no_service,
    answer=Changed(_no_service, (
        Need(lambda v: {e.pod for e in v[0].endpoints(v[1])} == {"web-1", "web-2", "web-3"},
             "the Service should select the three web pods (their label is app: web)."),
        Need(lambda v: v[1].target_port == _WEB_POD_PORT, _wrong_target_port),
        Need(lambda v: v[1].type != "ClusterIP" or bool(v[1].external_ips),
             "a ClusterIP service is reachable only inside the cluster: there is no external traffic to serve."),
        Need(lambda v: _policy_of(v) == "Local",
             "under externalTrafficPolicy: Cluster (the default) kube-proxy masquerades every external packet, so the "
             "pods see node addresses, never the client's."),
        Need(lambda v: v[1].type == "LoadBalancer",
             "a NodePort service with Local gets no healthCheckNodePort: a load balancer in front has nothing that "
             "tells it which nodes have pods, and node-c drops what it receives."),
        Need(lambda v: traffic(v[0], "web").attrs["dropped"] == 0 and (traffic(v[0], "web").client_ip_kept == 1).all(),
             "the simulator still loses connections or client addresses."),
    ), read=_service_yaml(_no_service, "web")),
    right=lambda v: (f"type LoadBalancer with externalTrafficPolicy: Local; the API server allocated "
                     f"healthCheckNodePort {v[1].health_check_node_port}, node-c answers 503 there, the load balancer "
                     "skips it, and every pod sees the client's address."),
    hints=("The client IP survives only when no node masquerades: which externalTrafficPolicy is that?",
           "The load balancer must learn which nodes have pods: which Service type gets a healthCheckNodePort?",
           "type: LoadBalancer, externalTrafficPolicy: Local, selector app: web, ports [{port: 80, targetPort: 8080}]."),
)


_UPDATE_STAGES = ("serving", "not serving")


def _rolling_update(stage: str) -> str:
    """Exercise 4.4: the outcome of a connection sent to node-a while web-1, its only pod, terminates."""
    c = examples.one_two()
    c.set_pod("web-1", terminating=True)
    if stage == "not serving":
        c.set_pod("web-1", ready=False)
    return send(c, "web", via="node-a", seed=1).outcome


rolling_update_local = _entry(
    "4.4", "predict", "A rolling update under Local",
    check="rolling_update_local",
    cluster=examples.one_two,
    answer=Table(lambda: _UPDATE_STAGES, Choice(lambda: _OUTCOMES, "outcome"), '{"serving": outcome, "not serving": outcome}'),
    expected=lambda: {stage: _rolling_update(stage) for stage in _UPDATE_STAGES},
    mistakes=(
        Misconception("kube-proxy rejects (connection refused) only when a service has no usable endpoint anywhere; "
                      "node-b still runs two ready pods.", when=lambda got, want: "refused" in got.values()),
        Misconception("a terminating pod that still passes its readiness probe is a serving-terminating endpoint, and "
                      "kube-proxy uses a node's serving-terminating endpoints when it has no ready ones, instead of "
                      "dropping: Local survives the grace period thanks to that.",
                      when=lambda got, want: got["serving"] != want["serving"]),
        Misconception("once the pod stops serving, node-a has no usable local endpoint, and under Local kube-proxy "
                      "never forwards external traffic to another node's pods: that is why the pod must keep serving "
                      "until the load balancer has seen the 503.",
                      when=lambda got, want: got["not serving"] != want["not serving"]),
    ),
    right="while web-1 terminates but still serves, node-a keeps using it (serving-terminating fallback); once it "
          "stops serving, node-a drops. Local is safe for rolling updates only with a grace period longer than the "
          "load balancer's health-check lag.",
    hints=(("While a pod terminates, its endpoint stays in the EndpointSlice: ready false, terminating true, and serving "
           "as long as it passes its readiness probe."),
           ("Under Local a node uses its serving-terminating endpoints when it has no ready ones (on by default since "
            "1.26, GA 1.28); it never sends external traffic to another node."),
           ("k8s.send(cluster, 'web', via='node-a') after c.set_pod('web-1', terminating=True), then again after "
            "c.set_pod('web-1', ready=False).")),
)


# ----------------------------------------------------------------------------- 05 imbalance
def _pod_share_cases() -> list[dict[str, int]]:
    return [{"node-a": 1, "node-b": 2}, {"node-a": 2, "node-b": 1, "node-c": 0},
            {"node-a": 3, "node-b": 1, "node-c": 1, "node-d": 0}]


def _compare_pod_share(got: Any, layout: dict[str, int]) -> str | None:
    frame = traffic(Cluster.from_layout(list(layout.values()), external_traffic_policy="Local"), "web")
    want = {row.node: float(row.share) for row in frame.itertuples()}
    if not isinstance(got, Mapping):
        return f"your function returned {type(got).__name__}; return a dict {{node: share of one pod there}}."
    pods = sum(layout.values())
    for node, share in want.items():
        if node not in got:
            return f"your function gives no value for {node}, which runs {layout[node]} pod(s)."
        value = got[node]
        if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)) and not hasattr(value, "__float__"):
            return f"for {node} it returns {value!r}, not a share."
        value = float(value)
        if _close(value, share):
            continue
        if _close(value, 1 / pods):
            return (f"for {node} it gives the fair share per pod, which Local does not give: the load balancer "
                    "splits per node, not per pod.")
        if _close(value, 1 / (len(layout) * layout[node])):
            return (f"for {node} it counts the nodes without pods as healthy: they fail the health check and get "
                    "nothing, so only the nodes with pods share the traffic.")
        return f"for {node} it says {value:.3g}: a pod there gets its node's share, split among that node's pods."
    return None


pod_share = _entry(
    "5.2", "compute", "Per-pod share under Local",
    check="pod_share",
    answer=Function(_pod_share_cases, _compare_pod_share, layouts, smaller_layouts,
                    size=lambda layout: (len(layout), sum(layout.values()))),
    right="1 / (H * p_n): pods on crowded nodes get less each.",
    hints=("Under Local with a health-checked load balancer, only nodes with pods are healthy.",
           "Every healthy node gets the same share, and splits it among its own pods.",
           "A pod on node n gets 1 / (H * p_n), H = nodes with at least one pod, p_n = pods on node n."),
)


@functools.cache
def _zones_uneven() -> Cluster:
    """Exercise 5.1: four nodes, three in zone-a and one in zone-b, pods 1 / 1 / 2 / 1, Local."""
    return Cluster.from_layout([1, 1, 2, 1], zones=["zone-a", "zone-a", "zone-a", "zone-b"],
                               external_traffic_policy="Local", name="zones-uneven")


def _per_node_shares() -> dict[str, float]:
    return _shares(traffic(_zones_uneven(), "web", lb="health-checked"))


zone_shares = _entry(
    "5.1", "predict", "Shares behind an AWS NLB (cross-zone load balancing off)",
    check="zone_shares",
    cluster=_zones_uneven,
    answer=Table(_pods(_zones_uneven), _SHARE, "{pod name: share}", missing=0.0, shares=True),
    expected=lambda: _shares(traffic(_zones_uneven(), "web", lb="aws-nlb-instance")),
    mistakes=(
        Misconception("Local balances across nodes (here zones first, then nodes), never across pods.",
                      when=_all_equal),
        Misconception("this load balancer does not split per node: with cross-zone load balancing off (the default), "
                      "an AWS NLB first gives every zone the same share, then splits it over the healthy nodes of "
                      "that zone.", equals=_per_node_shares),
        Misconception("the shares should add up to 1: every node has a pod, so nothing is dropped.",
                      when=_not_a_whole),
    ),
    otherwise="split zone first, then node, then pod.",
    right="each zone gets half; zone-a's half is split over three nodes (1/6 each) and node-c's sixth over two pods; "
          "web-5, alone in zone-b, gets half of everything, six times web-3's load.",
    hints=("k8s.LB_PROFILES['aws-nlb-instance'].description says how it spreads.",
           "Cross-zone load balancing is off by default: each zone with a healthy target gets the same share.",
           "Zone, then healthy node in the zone, then pod on the node (Local: the node's own pods only)."),
)


def _read_lb(raw: Any) -> tuple[str, Any]:
    if not isinstance(raw, str) or raw not in LOAD_BALANCERS:
        raise NotYet(f"{raw!r} is not a load balancer here; use a key of k8s.LB_PROFILES (or a model of k8s.LB_MODELS).")
    return raw, traffic(_local_uneven(), "web", lb=raw)


def _lb_kind(key: str) -> str:
    lb = get_load_balancer(key)
    if isinstance(lb, LoadBalancer):
        return f"{lb.model} (abstract model, {lb.profile.kind})"
    return f"{lb.label} ({lb.kind})"


lb_for_even_shares = _entry(
    "5.3", "configure", "A real load balancer that evens out Local",
    check="lb_for_even_shares",
    cluster=_local_uneven,
    answer=Changed(_local_uneven, (
        Need(lambda v: v[1].attrs["dropped"] + v[1].attrs["refused"] + v[1].attrs["failed"] == 0,
             lambda v: f"{_lb_kind(v[0])} sends traffic to node-c, which has no pod: Local drops it there."),
        Need(lambda v: max(v[1].share) - min(v[1].share) <= 1e-9,
             lambda v: (f"{_lb_kind(v[0])} does not give every pod the same share: it splits per node (or per zone, "
                        "or sends everything to one node), so the pods on crowded nodes get less each.")),
        Need(lambda v: bool((v[1].client_ip_kept == 1).all()),
             lambda v: (f"the shares are even, but with {_lb_kind(v[0])} the pods see the load balancer's address: it "
                        "replaces the client's source (a proxy, or a load balancer without client-IP preservation).")),
    ), read=_read_lb),
    right=lambda v: (f"{_lb_kind(v[0])}: every pod gets a third, nothing is dropped, and every pod sees the client's "
                     "address."),
    hints=("k8s.load_balancer_table() compares the catalogue: what each one does to the source, how it spreads.",
           "A load balancer that targets the pods themselves spreads per pod; does it keep the client's address?",
           ("'aws-nlb-ip-preserve' (pod targets with client-IP preservation), or the 'weighted' model (GKE weighted "
            "load balancing).")),
)


# ---------------------------------------------------------------------------- 06 spreading pods
@functools.cache
def _down_four() -> Cluster:
    """Exercise 6.1: four empty nodes, node-d down; web has no pods yet."""
    c = Cluster.from_layout([0, 0, 0, 0], external_traffic_policy="Local", name="down-four")
    c.set_node("node-d", ready=False)
    return c


def _placed_counts() -> dict[str, int]:
    return place(_down_four(), "web", 5, anti_affinity="required", keep_existing=False).counts


required_with_node_down = _entry(
    "6.1", "predict", "Required anti-affinity while a node is down",
    check="required_with_node_down",
    cluster=_down_four,
    answer=Table(_nodes(_down_four), Number("a count", percent=False), "{node name: replicas}", missing=0),
    expected=_placed_counts,
    mistakes=(
        Misconception("node-d is down: the node controller taints it node.kubernetes.io/unreachable:NoSchedule, and "
                      "the scheduler filters it out.", when=lambda got, want: got["node-d"] > 0),
        Misconception("required anti-affinity on kubernetes.io/hostname allows at most one web pod per node: extra "
                      "replicas stay Pending, they never double up.", when=lambda got, want: max(got.values()) > 1),
    ),
    otherwise="which nodes can the scheduler use, and how many web pods may each hold?",
    right="three replicas run, one on each healthy node, and two stay Pending (\"didn't match pod anti-affinity "
          "rules\" for three nodes, an untolerated taint for node-d) until node-d is back or a node is added.",
    hints=("Which nodes does the scheduler filter out? A down node carries a taint.",
           "Required anti-affinity is a filter: a node that already runs a web pod is not feasible.",
           "k8s.placement.place(cluster, 'web', 5, anti_affinity='required', keep_existing=False).counts"),
)


@functools.cache
def _five_nodes() -> Cluster:
    """Exercise 6.2: five empty nodes in three zones (2 / 2 / 1), Local."""
    return Cluster.from_layout([0] * 5, zones=["zone-a", "zone-a", "zone-b", "zone-b", "zone-c"],
                               external_traffic_policy="Local", name="five-nodes")


#: What the pods of exercise 6.2 carry, so what a constraint's labelSelector must select.
_WEB_LABELS = {"app": "web"}
_TEMPLATE_SPREAD = "spec.template.spec.topologySpreadConstraints"


def _spread_items(doc: Any) -> tuple[Any, str]:
    """Exercise 6.2: the constraints the learner wrote, from the block or from a whole Deployment, and the
    Deployment's name."""
    if isinstance(doc, Mapping) and ("kind" in doc or "apiVersion" in doc):
        kind, version = doc.get("kind"), doc.get("apiVersion")
        if kind != "Deployment":
            raise NotYet(f"this is a {show(kind, 30)}: write the topologySpreadConstraints block, or a whole Deployment "
                         "(apiVersion: apps/v1, kind: Deployment) whose pod template has it.")
        if version != "apps/v1":
            raise NotYet(f'no matches for kind "Deployment" in version {show(version, 30)}: a Deployment is '
                         "apiVersion: apps/v1.")
        metadata = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
        name = str(metadata.get("name") or "web")
        spec = doc.get("spec")
        template = spec.get("template") if isinstance(spec, Mapping) else None
        pod_spec = template.get("spec") if isinstance(template, Mapping) else None
        if not isinstance(pod_spec, Mapping) or "topologySpreadConstraints" not in pod_spec:
            raise NotYet(f'the Deployment "{name}" has no {_TEMPLATE_SPREAD}: the scheduler reads the constraints '
                         "from the pod template (spec.template.spec), next to its containers.")
        return pod_spec["topologySpreadConstraints"], name
    if isinstance(doc, Mapping) and set(doc) == {"topologySpreadConstraints"}:
        return doc["topologySpreadConstraints"], "web"
    if isinstance(doc, Mapping):
        other = next(k for k in doc if k != "topologySpreadConstraints")
        if other == "affinity":
            raise NotYet("spec.template.spec.affinity is a real pod field, but this exercise asks for "
                         "topologySpreadConstraints: pod anti-affinity keeps pods apart (at most one per domain), "
                         "a spread constraint keeps the counts per domain within maxSkew of each other.")
        if other in _POD_SPEC_FIELDS:
            raise NotYet(f"spec.template.spec.{other} is a real pod field, but not the one this exercise asks for: "
                         "write only the topologySpreadConstraints block.")
        raise _refused(UnknownField(f"spec.template.spec.{other}", ["topologySpreadConstraints"]))
    return doc, "web"


#: The fields of a pod spec (core/v1 PodSpec), so a real one is not called unknown.
_POD_SPEC_FIELDS = frozenset((
    "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers", "dnsConfig", "dnsPolicy",
    "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC", "hostNetwork", "hostPID", "hostUsers",
    "hostname", "imagePullSecrets", "initContainers", "nodeName", "nodeSelector", "os", "overhead",
    "preemptionPolicy", "priority", "priorityClassName", "readinessGates", "resourceClaims", "resources",
    "restartPolicy", "runtimeClassName", "schedulerName", "schedulingGates", "securityContext", "serviceAccount",
    "serviceAccountName", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain", "terminationGracePeriodSeconds",
    "tolerations", "topologySpreadConstraints", "volumes"))


def _read_spread(raw: Any) -> tuple[Cluster, Any]:
    """Exercise 6.2: a topologySpreadConstraints block (or a Deployment with one) in YAML, checked like the API
    server, then scheduled."""
    if not isinstance(raw, str):
        raise NotYet("answer with the YAML text of the block, between triple quotes: answer = \"\"\"...\"\"\".")
    try:
        docs = from_yaml(raw)
    except K8sLearnError as err:
        raise NotYet(f"the YAML does not parse: {str(err).splitlines()[0]}") from None
    items, name = _spread_items(docs[0]) if len(docs) == 1 else (None, "web")
    if not isinstance(items, list) or not items or not all(isinstance(c, Mapping) for c in items):
        raise NotYet("write the block as the pod template has it: topologySpreadConstraints:, then a list of "
                     "constraints (each starts with '- maxSkew: ...').")
    try:
        constraints = spread_from_manifest(items, path=_TEMPLATE_SPREAD, name=name)
        for i, item in enumerate(items):
            path = f"{_TEMPLATE_SPREAD}[{i}]"
            for key in ("minDomains", "nodeAffinityPolicy", "matchLabelKeys"):
                if key in item:
                    raise NotYet(f"{path}.{key} is valid, but this exercise's model does not use it; leave it out.")
            if not selector_matches(item.get("labelSelector"), _WEB_LABELS, path=f"{path}.labelSelector", name=name):
                raise NotYet(f"{path}: the constraint counts the pods its labelSelector matches; without one, or with "
                             "other labels, it counts none of web's pods (app: web) and spreads nothing.")
    except UnknownField as err:
        raise _refused(err) from None
    except InvalidPlacement as err:
        raise NotYet(f"the API server would refuse it: {one_line(err)}") from None
    cluster = _five_nodes().copy()
    try:
        plan = place(cluster, "web", 6, topology_spread=constraints, keep_existing=False)
    except InvalidPlacement as err:
        raise NotYet(f"the API server would refuse it: {one_line(err)}") from None
    except K8sLearnError as err:
        raise NotYet(f"{str(err).splitlines()[0]}") from None
    apply(cluster, "web", plan)
    return cluster, plan


def _zone_counts(v: tuple[Cluster, Any]) -> dict[str, int]:
    c = v[0]
    out: dict[str, int] = {}
    for p in c.pods:
        zone = c.node(p.node).zone
        out[zone] = out.get(zone, 0) + 1
    return {z: out.get(z, 0) for z in sorted({n.zone for n in c.nodes})}


def _empty_nodes(v: tuple[Cluster, Any]) -> list[str]:
    return [n for n, k in v[1].counts.items() if k == 0]


spread_yaml = _entry(
    "6.2", "yaml", "topologySpreadConstraints in YAML for nodes and zones",
    check="spread_yaml",
    cluster=_five_nodes,
    answer=Changed(_five_nodes, (
        Need(lambda v: not v[1].pending, lambda v: f"{len(v[1].pending)} replica(s) stay Pending: {v[1].reason}"),
        Need(lambda v: set(_zone_counts(v).values()) == {2},
             lambda v: (f"the zones hold {_zone_counts(v)} pods: a kubernetes.io/hostname constraint evens nodes, not "
                        "zones (zone-c has one node, zone-a and zone-b two), and this load balancer splits per zone "
                        "first.")),
        Need(lambda v: not _empty_nodes(v),
             lambda v: (f"{', '.join(_empty_nodes(v))} run(s) no pod: spread over the nodes of each zone too (a "
                        "second constraint on kubernetes.io/hostname makes that a rule).")),
        Need(lambda v: float(metrics(v[0], "web", lb="aws-nlb-instance").loc[0, "imbalance"]) <= 1 + 1e-9,
             "behind the per-zone NLB the pods still get different shares."),
    ), read=_read_spread),
    right=lambda v: (f"pods per node {v[1].counts}: two per zone, at least one per node, and behind an AWS NLB (zone "
                     "first, then node, under Local) every pod gets a sixth. The zone constraint does it; within a "
                     "zone the scheduler's resource scoring (or a second, kubernetes.io/hostname constraint) spreads "
                     "over the nodes."),
    hints=("This load balancer splits per zone first: which domain must hold the same number of pods?",
           ("Each constraint: maxSkew, topologyKey, whenUnsatisfiable, and a labelSelector that matches web's pods "
            "(matchLabels: app: web)."),
           ("topologyKey: topology.kubernetes.io/zone, maxSkew: 1, whenUnsatisfiable: DoNotSchedule; add a second item "
            "on kubernetes.io/hostname to make the per-node spread a rule too.")),
)


@functools.cache
def _after_outage() -> Cluster:
    """Exercise 6.3: six pods 4 / 2 / 0, Local: node-c was down during the last rollout and is back."""
    return Cluster.from_layout([4, 2, 0], external_traffic_policy="Local", name="after-outage")


def _fresh_after_outage() -> Cluster:
    return _after_outage().copy()


def _imbalance(c: Cluster) -> float:
    return float(metrics(c, "web").loc[0, "imbalance"])


def _layout(c: Cluster) -> str:
    return ", ".join(f"{n.name} {sum(1 for p in c.pods_on(n.name) if p.labels.get('app') == 'web')}" for n in c.nodes)


rebalance_after_outage = _entry(
    "6.3", "debug", "Still uneven after the node came back",
    check="rebalance_after_outage",
    answer=Changed(_fresh_after_outage, (
        Need(_holds(lambda c: c.service("web").external_traffic_policy == "Local"),
             "keep externalTrafficPolicy: Local (the team needs the client IP); the task is the layout."),
        Need(lambda c: sum(1 for p in c.selected_pods("web") if p.status == "Running") == 6,
             lambda c: (f"web should run 6 ready pods; it runs {sum(1 for p in c.selected_pods('web') if p.status == 'Running')}: "
                        "more replicas do not even out a per-node split unless every node gets the same number.")),
        Need(_holds(lambda c: traffic(c, "web").attrs["dropped"] == 0), "some traffic is dropped."),
        Need(_holds(lambda c: _imbalance(c) <= 1.25),
             lambda c: (f"the busiest pod still gets {_imbalance(c):.2f} times the quietest's share (pods per node: "
                        f"{_layout(c)}). The scheduler places new pods only: pods that are running stay where "
                        "they are, whatever spread rule you add.")),
    )),
    right=lambda c: (f"pods per node: {_layout(c)}. A spread rule acts only when pods are scheduled: after an outage, "
                     "a new rollout (place with keep_existing=False, then apply) or moving pods evens the layout; "
                     "tools such as the descheduler do it for you."),
    hints=("Measure first: k8s.metrics(cluster, 'web').loc[0, 'imbalance'] and the pods per node.",
           "Does adding a topologySpreadConstraint move the pods that are already running?",
           ("k8s.placement.apply(cluster, 'web', k8s.placement.place(cluster, 'web', 6, keep_existing=False, "
            "topology_spread={'max_skew': 1})), or cluster.move_pod(...).")),
)


# --------------------------------------------------------------------------- 07 inside the cluster
@functools.cache
def _client_on_a() -> Cluster:
    """Exercise 7.1: the uneven cluster with Local, and a client pod on node-a (which runs web pods)."""
    c = examples.uneven(external_traffic_policy="Local")
    c.add_pod("client", "node-a", labels={"app": "client"})
    return c


def _reachable_from(c: Cluster, client: str, address: str) -> set[str]:
    found = set()
    for p in c.selected_pods("web"):
        try:
            if send(c, "web", client=client, address=address, endpoint=p.name, seed=1).delivered:
                found.add(p.name)
        except K8sLearnError:  # kube-proxy on that node would never pick this pod
            continue
    return found


lb_ip_from_a_pod = _entry(
    "7.1", "predict", "A pod next to web pods calls the Local load-balancer IP",
    check="lb_ip_from_a_pod",
    cluster=_client_on_a,
    answer=Names(_pods(_client_on_a), "pod names"),
    expected=lambda: _reachable_from(_client_on_a(), "client", "loadBalancerIP"),
    mistakes=(
        Misconception("testing from inside the cluster does not show what external clients get: kube-proxy "
                      "short-circuits a pod's connection to a Local service's load-balancer IP to every endpoint, as "
                      "if the policy were Cluster, not only to its own node's.",
                      equals=lambda: {p.name for p in _client_on_a().pods_on("node-a") if p.labels.get("app") == "web"}),
        Misconception("nothing drops this connection: a pod is not an external client.", when=lambda got, want: not got),
    ),
    otherwise="the short-circuit does not restrict the choice to some nodes.",
    right="a pod's connection to the load-balancer IP never leaves its node: kube-proxy sends it to any endpoint, "
          "without SNAT. An external client entering at node-a would reach web-1 and web-2 only.",
    hints=("Is a pod on node-a an external client of the Service?",
           ("kube-proxy short-circuits traffic from pods to a LoadBalancer IP (when the load balancer's status "
            "publishes an ip): it never goes out to the load balancer."),
           "Short-circuited traffic uses all the Service's endpoints, as under Cluster."),
)


_LB_IN_PATH = ("gcp-nlb", "aws-nlb-instance", "cloud-provider-kind")


def _through_lb() -> dict[str, str]:
    c = examples.in_cluster()
    return {lb: "yes" if "load balancer" in send(c, "web", client="client", address="loadBalancerIP", lb=lb,
                                                seed=1).path else "no" for lb in _LB_IN_PATH}


def _yes_no() -> tuple[str, ...]:
    return ("yes", "no")


class _YesNo(Choice):
    """yes / no, also as True / False."""

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        return super().parse(raw)


lb_in_the_path = _entry(
    "7.2", "predict", "Does a pod's call to the load-balancer address pass the load balancer?",
    check="lb_in_the_path",
    cluster=examples.in_cluster,
    answer=Table(lambda: _LB_IN_PATH, _YesNo(_yes_no, "yes or no"), '{load balancer: "yes" or "no"}'),
    expected=_through_lb,
    mistakes=(
        Misconception("kube-proxy can only catch an address it knows: it short-circuits the load-balancer address "
                      "only when the Service's status publishes an ip (and ipMode is VIP). An AWS load balancer "
                      "publishes a hostname.", when=lambda got, want: got["aws-nlb-instance"] == "no"),
        Misconception("when the status publishes an ip with ipMode VIP, kube-proxy writes a rule for it on every node, "
                      "and a pod's packets never leave the node.", when=lambda got, want: got["gcp-nlb"] == "yes"),
        Misconception("cloud-provider-kind publishes an ip, but with ipMode: Proxy, which tells kube-proxy to leave it "
                      "alone (KEP-1860).", when=lambda got, want: got["cloud-provider-kind"] == "no"),
    ),
    right="only the GCP passthrough NLB is skipped (status ip, ipMode VIP): kube-proxy catches its address on the "
          "pod's own node. AWS publishes a hostname, cloud-provider-kind says ipMode Proxy: those calls go out "
          "through the load balancer, with its PROXY header and TLS (and, with client-IP preservation, a "
          "hairpin risk).",
    hints=("k8s.load_balancer_table() has a column for what a pod that dials the load balancer gets.",
           "kube-proxy writes its rule from status.loadBalancer.ingress[].ip; what if there is only a hostname?",
           "And status ipMode: Proxy (Kubernetes 1.29+) asks kube-proxy not to short-circuit."),
)


@_quiet
def _locked_out() -> Cluster:
    """Exercise 7.3: the in-cluster example, another pod on node-b, and a NetworkPolicy whose ipBlock admits node-a's pod range."""
    c = examples.in_cluster()
    c.add_pod("other", "node-b", labels={"app": "other"})
    c.add_network_policy("web-from-frontend", pod_selector={"app": "web"},
                         ingress=[{"from": [{"ipBlock": {"cidr": "10.244.1.0/24"}}]}])
    return c


def _all_reach(c: Cluster, client: str) -> bool:
    return _reachable_from(c, client, "clusterIP") == {p.name for p in c.selected_pods("web")}


def _placed(c: Cluster) -> dict[str, str]:
    return {p.name: p.node for p in c.pods}


def _moved_pods(c: Cluster) -> list[str]:
    start = _placed(_locked_out())
    return [f"{name} (now on {node}, was on {start[name]})" for name, node in _placed(c).items()
            if name in start and node != start[name]]


fix_network_policy = _entry(
    "7.3", "debug", "The frontend times out, and only the frontend should get in",
    check="fix_network_policy",
    answer=Changed(_locked_out, (
        Need(lambda c: {"client", "other"} <= {p.name for p in c.pods} and len(c.selected_pods("web")) == 3,
             "keep the pods (client, other and the three web pods) where they are; the task is the policy."),
        Need(lambda c: not _moved_pods(c),
             lambda c: (f"keep the pods where they are; you moved {', '.join(_moved_pods(c))}. A pod's address comes "
                        "from the pod range of the node it runs on, so a policy that admits the client only while it "
                        "sits on one node breaks at its next reschedule (a restart, a drain, a rollout). The task is "
                        "the policy.")),
        Need(_holds(lambda c: _all_reach(c, "client")),
             "client still cannot reach every web pod through the ClusterIP: the policy decides on the source address "
             "the pod sees, and a pod's ClusterIP call keeps the client pod's own address."),
        Need(_holds(lambda c: not _reachable_from(c, "other", "clusterIP")),
             "now the pod 'other' gets in too: the policy must still admit only the frontend (deleting the policy, or "
             "a wider ipBlock, opens web to every pod)."),
    )),
    right="only the frontend gets in. Prefer a podSelector (app: client) to an ipBlock for pods: pod IPs change "
          "with every restart, and the NetworkPolicy docs mean ipBlock for addresses outside the cluster.",
    hints=("k8s.send(cluster, 'web', client='client', seed=1).reason says where it stops.",
           "Which source address does web-1 see for a call from client, and which range does the policy admit?",
           ("cluster.delete_network_policy(...) then add_network_policy(...) with a `from` peer that matches only "
            "the client: {'podSelector': {'matchLabels': {'app': 'client'}}}.")),
)


# ------------------------------------------------------------------------------ 08 proxies
#: The bytes a proxy sent first on a connection, for exercise 8.3 (a PROXY protocol v2 header).
PROXY_BYTES = bytes.fromhex("0D0A0D0A000D0A515549540A 21 11 000C CB007107 0AF40105 9CBA 1F90") + b"GET / HTTP/1.1\r\n"

#: A request's path through three proxies, for exercise 8.5: each hop, the TCP peer it saw, the XFF it got.
_CHAIN = (
    ("cdn-edge", "198.51.100.23", ""),
    ("cloud-lb", "203.0.113.50", "198.51.100.23"),
    ("ingress", "10.0.0.7", "203.0.113.50"),
    ("app", "10.244.1.9", "203.0.113.50, 10.0.0.7"),
)


def proxy_chain() -> list[dict[str, str]]:
    """The hops of exercise 8.5: name, the TCP peer each saw, and the X-Forwarded-For it received.

    >>> proxy_chain()[0]
    {'hop': 'cdn-edge', 'peer': '198.51.100.23', 'x_forwarded_for': ''}
    """
    return [{"hop": h, "peer": p, "x_forwarded_for": x} for h, p, x in _CHAIN]


_XFF_TRUSTED = ("10.0.0.0/8", "192.168.0.0/16")


def _xff_cases() -> list[tuple[str, str, list[str]]]:
    trusted = list(_XFF_TRUSTED)
    return [("10.0.0.5", "203.0.113.7", trusted), ("10.0.0.5", "1.2.3.4, 203.0.113.7", trusted),
            ("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.0.0.4", trusted), ("198.51.100.9", "1.2.3.4, 10.0.0.4", trusted),
            ("10.0.0.5", "10.0.0.3, 10.0.0.4", trusted),
            ("192.168.1.1", "203.0.113.9,198.51.100.2 , 192.168.3.3", trusted)]


#: The trusted lists of the generated requests: the examples' networks, one proxy by its address, a
#: CDN's range, no proxy at all (the peer is the client), IPv6 proxies, and both families.
_XFF_TRUSTED_LISTS = (_XFF_TRUSTED, ("10.0.0.7/32",), ("203.0.113.0/24",), (), ("2001:db8:10::/48",),
                      ("10.0.0.0/8", "2001:db8:10::/48"))
_XFF_ADDRESSES = ("10.0.0.4", "10.0.0.7", "10.1.2.3", "192.168.3.3", "192.168.0.12", "203.0.113.7", "198.51.100.2",
                  "1.2.3.4", "203.0.113.9", "8.8.8.8", "2001:db8:10::4", "2001:db8:10::7", "2001:db8:ff::9")


def _xff_requests(seed: int, count: int) -> list[tuple[str, str, list[str]]]:
    """Seeded random requests: a list of trusted networks, a peer (one of those proxies, or not) and an
    X-Forwarded-For of 0 to 5 entries."""
    import numpy as np

    gen = np.random.default_rng(seed)
    weights = np.array([3, 1, 1, 1, 1, 1]) / 8  # the examples' networks as often as the other lists together
    out = []
    for _ in range(count):
        trusted = list(_XFF_TRUSTED_LISTS[int(gen.choice(len(_XFF_TRUSTED_LISTS), p=weights))])
        networks = [ipaddress.ip_network(n) for n in trusted]
        proxies_here = [a for a in _XFF_ADDRESSES if any(ipaddress.ip_address(a) in n for n in networks)]
        others = [a for a in _XFF_ADDRESSES if a not in proxies_here]
        pool = [str(x) for x in gen.choice(_XFF_ADDRESSES, size=int(gen.integers(0, 6)))]
        mine = proxies_here or list(_XFF_ADDRESSES[:5])  # no proxy: a peer the examples would have trusted
        peer = str(gen.choice(mine if gen.random() < 0.8 else others))
        out.append((peer, ", ".join(pool), trusted))
    return out


def _fewer_entries(case: tuple[str, str, list[str]]) -> list[tuple[str, str, list[str]]]:
    peer, xff, trusted = case
    entries = [e.strip() for e in xff.split(",") if e.strip()]
    return [(peer, ", ".join(entries[:i] + entries[i + 1:]), trusted) for i in range(len(entries))]


def _compare_xff(got: Any, case: tuple[str, str, list[str]]) -> str | None:
    peer, xff, trusted = case
    want = proxies.client_ip(peer, xff, trusted=trusted)
    try:
        value = ipaddress.ip_address(str(got).strip())
    except ValueError:
        return f"your function returned {got!r}, not an IP address (a string or an ipaddress object)."
    if value == want:
        return None
    if list(trusted) != list(_XFF_TRUSTED) and value == proxies.client_ip(peer, xff, trusted=_XFF_TRUSTED):
        return (f"it trusts {' and '.join(_XFF_TRUSTED)} whatever the trusted argument says (here {list(trusted)}): "
                "which proxies are yours differs from one deployment to the next, so walk with the networks you are "
                "given (with none, the peer itself is the client).")
    if value == proxies.naive_client_ip(peer, xff):
        return ("the leftmost entry is whatever the client wrote, so anyone can spoof it. X-Forwarded-For is a "
                "chain; only the rightmost untrusted entry is safe.")
    if str(value) == peer:
        return "the peer is one of your proxies, so the header it added is worth reading."
    return "walk from the right and stop at the first address that is not trusted."


xff_picker = _entry(
    "8.2", "compute", "The rightmost untrusted X-Forwarded-For entry",
    check="xff_picker",
    answer=Function(_xff_cases, _compare_xff, _xff_requests, _fewer_entries,
                    describe=lambda case: f"peer {case[0]}, X-Forwarded-For {case[1]!r} and trusted {case[2]}",
                    what="request",
                    against="k8s.proxies.client_ip"),
    right="trust the chain only as far as your own proxies wrote it, reading from the right.",
    hints=("If the TCP peer is not one of your proxies, do the headers mean anything?",
           "Each proxy appends the peer it saw, so the entries your proxies wrote are on the RIGHT.",
           ("Walk from the right: skip trusted addresses; the first untrusted one is the client. If all are trusted, "
            "the leftmost.")),
)


def _proxy_header() -> Any:
    return proxies.decode(PROXY_BYTES)[0]


proxy_source = _entry(
    "8.3", "compute", "Decode a PROXY protocol header",
    check="proxy_source",
    answer=Endpoint(),
    expected=lambda: (_proxy_header().src_addr, _proxy_header().src_port),
    mistakes=(Misconception("that is the destination the client dialled; the client is the source.",
                            equals=lambda: (_proxy_header().dst_addr, _proxy_header().dst_port)),),
    otherwise="decode the bytes with k8s.proxies.decode rather than by eye; the addresses are in network order.",
    right=lambda want: (f"a v2 header is 16 bytes plus its length field ({proxies.decode(PROXY_BYTES)[1]} here); "
                        "the client is its source endpoint."),
    hints=("k8s.proxies.decode(data) returns (header, number of bytes it took).",
           "The header's src_addr and src_port are the client as the proxy saw it.",
           "Answer as the string 'address:port'."),
)


def _culprit() -> str:
    for here, there in itertools.pairwise(_CHAIN):
        if proxies.parse_xff(proxies.append_xff(here[2], here[1])) != proxies.parse_xff(there[2]):
            return here[0]
    raise K8sLearnError("exercise 8.3: every hop appended correctly")  # pragma: no cover


misconfigured_hop = _entry(
    "8.5", "debug", "The misconfigured hop",
    check="misconfigured_hop",
    answer=Choice(lambda: [h for h, _, _ in _CHAIN], "hop"),
    expected=_culprit,
    mistakes=(Misconception("the app only receives; look for a proxy that sent on the wrong header.",
                            when=lambda got, want: got == "app"),),
    otherwise="that hop passed on what it should have; compare its header with the next hop's.",
    right="it replaced the X-Forwarded-For it received instead of appending to it, so the client's address was lost.",
    hints=("Each proxy should append the peer it saw to the X-Forwarded-For it received, and pass that on.",
           ("Compare what each hop received with what the hop before it should have sent: "
            "k8s.proxies.append_xff(xff, peer)."),
           "The culprit is the hop whose outgoing header lost or replaced an entry."),
)


_IP_MODES = ("VIP", "Proxy")


def _from_pod(ip_mode: str) -> str:
    """Exercise 8.1: what the PROXY-protocol app concludes about a pod's call to the LB IP ("broken" or an IP)."""
    from .proxychain import App, Proxy, follow

    nlb = [Proxy("NLB", LB_ADDRESS, "L4", send_proxy_protocol=True, load_balancer=True)]
    path = follow(nlb, app=App(expect_proxy_protocol=True), from_pod=True, ip_mode=ip_mode)
    return "broken" if path.broken else str(path.client_seen_by_app)


@_exercise("8.1", "predict", "A pod calls the PROXY-protocol load balancer",
           "Does a pod's connection to the Service's load-balancer IP ever reach the load balancer?",
           "With ipMode VIP kube-proxy catches the LB IP on the pod's own node (the short-circuit); with ipMode "
           "Proxy it writes no rule for it, so the connection goes out to the load balancer.",
           "k8s.proxychain.follow(nlb, app=App(expect_proxy_protocol=True), from_pod=True, ip_mode=...) "
           "for each ipMode.")
def proxy_protocol_from_pod(answer: Any) -> str:
    got = _as_mapping(answer, '{"VIP": ..., "Proxy": ...}')
    unknown = [k for k in got if k not in _IP_MODES]
    if unknown or len(got) != len(_IP_MODES):
        raise _Mistake('give an answer for each ipMode, "VIP" and "Proxy".')
    norm: dict[str, str] = {}
    for mode, value in got.items():
        text = str(value).strip()
        if text.lower() == "broken":
            norm[mode] = "broken"
        else:
            norm[mode] = str(_ip(text, 'an IP address or "broken"'))
    want = {mode: _from_pod(mode) for mode in _IP_MODES}
    if norm["VIP"] != want["VIP"]:
        raise _Mistake("with ipMode VIP the pod's connection never reaches the load balancer: kube-proxy "
                       "short-circuits the LB IP on the pod's own node, so no PROXY header arrives, and an app "
                       "that requires one closes the connection.")
    if norm["Proxy"] != want["Proxy"]:
        if norm["Proxy"] == "broken":
            raise _Mistake("with ipMode Proxy kube-proxy leaves the LB IP alone, so the pod's connection really goes "
                           "through the load balancer and arrives with its PROXY header.")
        if norm["Proxy"] == str(LB_ADDRESS):
            raise _Mistake("the load balancer is the TCP peer, but its PROXY header names the connection's source, "
                           "and the app reads the header.")
        raise _Mistake("who opened the connection the load balancer's header describes?")
    return ("in-cluster clients skip a VIP-mode load balancer, so they bring no PROXY header (nor the LB's TLS); "
            "only ipMode: Proxy keeps the load balancer in their path.")


# The app's log of exercise 8.4: CDN -> cloud LB -> ingress controller (its Service: Cluster) -> app,
# one request entering at each of these nodes.
_LOG_8 = ("node-b", "node-a", "node-c")


@functools.cache
def _log_8() -> tuple[Any, ...]:
    from .proxychain import cdn_chain as chain
    from .proxychain import follow

    c = examples.uneven()
    return tuple(follow(chain(ingress_policy="Cluster", node_ip=str(c.node(n).ip))) for n in _LOG_8)


def _log_8_rows() -> list[dict[str, str]]:
    return [{"TCP peer": str(p.hops[-1].tcp_peer), "X-Forwarded-For": p.hops[-1].x_forwarded_for} for p in _log_8()]


ingress_forensics = _entry(
    "8.4", "forensics", "The ingress controller's policy, from the app's log",
    check="ingress_forensics",
    cluster=examples.uneven,
    answer=Record({"policy": Choice(lambda: ("Cluster", "Local"), "externalTrafficPolicy"),
                   "entry_nodes": ListOf(Choice(_nodes(examples.uneven), "node name"), lambda: len(_LOG_8),
                                         "node names")}),
    expected=lambda: {"policy": "Cluster", "entry_nodes": _LOG_8},
    shows=_log_8_rows,
    mistakes=(
        Misconception("under Local the ingress controller would have seen the CDN as its peer and appended the CDN's "
                      "address; here the last entry is an address of your own network.", field="policy"),
        Misconception("the last X-Forwarded-For entry is the peer the ingress controller saw: the node that "
                      "masqueraded the connection on its way in.", field="entry_nodes"),
    ),
    right="the ingress controller's own Service is Cluster: each node masqueraded the CDN's connection, so the "
          "ingress appended a node address and the CDN's disappeared. An app that trusts only the CDN and the pod "
          "network would log these node addresses as the clients; Local on the ingress Service fixes it.",
    hints=("Each hop appends the peer it saw; read the entries from the right.",
           ("The ingress controller runs in pods behind its own Service: what does kube-proxy do to the CDN's "
            "connection under each externalTrafficPolicy?"),
           "Print the cluster: 192.168.0.11 to .13 are node-a to node-c."),
)


# ---------------------------------------------------------------------------- 09 dataplanes
cilium_snat_local = _entry(
    "9.1", "predict", "Cilium's SNAT mode with a local backend",
    check="cilium_snat_local",
    cluster=examples.uneven,
    answer=IP(),
    expected=lambda: send(examples.uneven(), "web", via="node-a", endpoint="web-1", dataplane="cilium-snat",
                          seed=1).source_seen_by_pod,
    mistakes=(
        Misconception("that is what kube-proxy (iptables/nftables) shows; Cilium's SNAT mode differs for local "
                      "backends.",
                      equals=lambda: send(examples.uneven(), "web", via="node-a", endpoint="web-1",
                                          seed=1).source_seen_by_pod),
    ),
    otherwise="the packet stays on node-a; is there any reason to rewrite its source?",
    right="Cilium SNATs only for remote backends; kube-proxy would have masqueraded this packet too.",
    hints=("Cilium's kube-proxy replacement in its default SNAT mode does not behave like kube-proxy here.",
           "It masquerades only when the backend is on another node.",
           "The backend web-1 runs on node-a, the receiving node."),
)


def _dataplane_traces() -> dict[str, Any]:
    c = examples.uneven()
    return {dp: send(c, "web", via="node-c", endpoint="web-3", dataplane=dp, seed=1) for dp in DATAPLANES}


dataplanes_keep_ip = _entry(
    "9.2", "predict", "Which dataplanes keep the client IP under Cluster",
    check="dataplanes_keep_ip",
    cluster=examples.uneven,
    answer=Names(lambda: list(DATAPLANES), "dataplanes"),
    expected=lambda: {dp for dp, t in _dataplane_traces().items() if t.outcome == "delivered" and t.client_ip_kept},
    mistakes=(
        Misconception("a dataplane without SNAT lets the pod see the client, but the reply comes from an address the "
                      "client never dialled and is discarded: the connection fails.",
                      when=lambda got, want: any(_dataplane_traces()[dp].outcome != "delivered" for dp in got)),
        Misconception("kube-proxy in every mode (iptables, nftables, IPVS) SNATs external Cluster traffic, and so does "
                      "Cilium's SNAT mode for a remote backend.", when=lambda got, want: bool(got - want)),
    ),
    otherwise="one dataplane keeps the client IP with a remote backend and still works; which one?",
    right="with DSR the backend replies straight to the client, so no SNAT is needed even with Cluster.",
    hints=("The connection enters at node-c and goes to web-3 on node-b: a remote backend.",
           "A dataplane that does not SNAT must still get the reply back to the client from the right address.",
           "Look for direct server return; a plain 'no SNAT' breaks the connection."),
)


# The access log of exercise 9.3: (node the load balancer picked, pod the dataplane picked).
_LOG_9 = (("node-a", "web-1"), ("node-c", "web-3"), ("node-b", "web-3"), ("node-c", "web-2"), ("node-b", "web-1"))
_LOG_9_DATAPLANE = "cilium-snat"


@functools.cache
def _log_9() -> tuple[Any, ...]:
    return tuple(send(examples.uneven(), "web", via=via, endpoint=pod, dataplane=_LOG_9_DATAPLANE, seed=1)
                 for via, pod in _LOG_9)


def _line_kept_elsewhere(got: Any, want: Any, line: int) -> bool:
    t = _log_9()[line - 1]
    return t.client_ip_kept and got != t.pod_node


dataplane_forensics = _entry(
    "9.3", "forensics", "Policy, dataplane and entry nodes, from an access log",
    check="dataplane_forensics",
    cluster=examples.uneven,
    answer=Record({"policy": Choice(lambda: ("Cluster", "Local"), "externalTrafficPolicy"),
                   "dataplane": Choice(lambda: list(DATAPLANES), "dataplane"),
                   "entry_nodes": ListOf(Choice(_nodes(examples.uneven), "node name"), lambda: len(_LOG_9),
                                         "node names")}),
    expected=lambda: {"policy": "Cluster", "dataplane": _LOG_9_DATAPLANE, "entry_nodes": tuple(t.entry_node for t in _log_9())},
    shows=_log_rows(_log_9),
    mistakes=(
        Misconception("under Local no dataplane masquerades external traffic, and no packet changes node; yet some "
                      "lines show a node's address.", field="policy"),
        Misconception("kube-proxy, in every mode, masquerades every external packet under Cluster; yet some lines show "
                      "the client's own address.", field="dataplane",
                      when=lambda got, want: got in ("iptables", "nftables", "ipvs")),
        Misconception("without SNAT (direct server return, or none at all) no line would show a node's address.",
                      field="dataplane", when=lambda got, want: got in ("cilium-dsr", "no-snat")),
        Misconception("under Cilium's SNAT mode a line with the client's own address means a local backend: the "
                      "packet entered on the pod's own node.", field="entry_nodes", when=_line_kept_elsewhere,
                      per_line=True),
        Misconception("a node's address names the node that received the packet and masqueraded it toward the "
                      "pod's node.", field="entry_nodes", per_line=True),
    ),
    otherwise="read each line: whose address is it, and which dataplane writes it there?",
    right="Cluster with Cilium's SNAT mode: it masquerades only toward a remote backend, so local backends log the "
          "client and remote ones the entry node's address. kube-proxy would have masqueraded every line, DSR none.",
    hints=("Start with what no line shows: which combinations would produce a line like each of these?",
           "Under Local no line would show a node address; under kube-proxy's Cluster no line would show the client.",
           "A dataplane that masquerades only toward other nodes: look at k8s.DATAPLANES."),
)


# ------------------------------------------------------------------------------ 10 capstone
fix_drops = _entry(
    "10.2", "debug", "Traffic dropped behind DNS round robin",
    check="fix_drops",
    answer=Changed(examples.empty_node, (
        Need(_holds(lambda c: c.service("web").external_traffic_policy == "Local"),
             "Cluster would stop the drops but hide the client IP (kube-proxy SNATs every external packet); keep Local."),
        Need(_holds(lambda c: traffic(c, "web", lb="equal").attrs["dropped"] == 0),
             "traffic is still dropped: under Local every node the DNS names needs a ready local endpoint."),
        Need(_holds(lambda c: bool((traffic(c, "web", lb="equal").client_ip_kept >= 1).all())),
             "every pod should see the client IP."),
    )),
    right="no node lacks a local endpoint any more, so nothing reaching a node is dropped and the client IP is kept.",
    hints=("Measure first: k8s.traffic(cluster, 'web', lb='equal') and its attrs['dropped'].",
           "The DNS names every node, so every node must be able to serve, and pods must see the client IP.",
           "Give node-c a pod (scale or move_pod without emptying another node), or remove the empty node."),
)


def capstone_blank() -> dict[str, Any]:
    """A capstone design with every field still to fill in; ``k8s.capstone.FIELDS`` says what each means.

    >>> sorted(capstone_blank())[:3]
    ['app', 'dataplane', 'ingress']
    """
    return _capstone.blank()


@_exercise("10.3", "design", "The capstone: your design against the brief",
           "Start from the requirement that rules out the most: which load balancers can keep the client IP at all "
           "(k8s.load_balancer_table())? Fill in the fields one by one; each check says what it measured.",
           "Requirement 4 needs calls from pods to pass the load balancer (what does its status publish?), and they "
           "must not come back to their own node through a load balancer that keeps their address (hairpin).",
           "Requirement 2 under Local needs pods that keep serving while they terminate (pre_stop_sleep); requirement "
           "6 needs the ingress controller to see the CDN, and the app to trust exactly the CDN and the pod network.")
def capstone(answer: Any) -> Verdict:
    report = _capstone.evaluate(answer)
    details = tuple((f"{r.requirement.number}. {r.requirement.title}" + (" (twist)" if r.requirement.twist else ""),
                     r.status, r.evidence) for r in report.results)
    if report.problem:
        raise _Mistake(report.problem)
    met, total = report.count("met"), len(report.results)
    failing = report.count("not met")
    if failing:
        raise NotYet(f"{met} of {total} requirements met; the simulator's evidence for each:", details)
    if report.count("waiting"):
        if met == 0:
            raise Untouched("", details)
        raise Untouched(f"{met} of {total} requirements met so far; the others wait for fields still ...", details)
    return Verdict("every requirement is met, the twists included. Defend it: name what each choice costs, and what "
                   "the simulator cannot see (the load balancer's health-check timing, the app's header parsing).",
                   details)


@_exercise("10.1", "predict", "The pod behind a pod-targeting load balancer",
           "Local keeps the client IP only if every hop before the pod keeps the client's source address.",
           "A load balancer that targets pods directly (an AWS NLB with IP targets over TCP) replaces the source "
           "with its own address unless client-IP preservation is on.",
           "Which address does that load balancer use inside the VPC? Send one connection and look.")
def proxy_lb_seen_ip(answer: Any) -> str:
    t = send(examples.one_two(), "web", lb=LoadBalancer("pod-targeting"), seed=1)
    got = _ip(answer)
    if got == t.source_seen_by_pod:
        return (f"without client-IP preservation the load balancer puts its own address, {LB_ADDRESS}, in the "
                "source, whatever the Service's policy; PROXY protocol v2 or client-IP preservation brings the "
                "client back.")
    if got == CLIENT_IP:
        raise _Mistake("Local does not guarantee the real client IP: it only avoids kube-proxy's SNAT, and here "
                       "kube-proxy is not even in the path. This load balancer replaces the source before the pod "
                       "sees the packet.")
    raise _Mistake("this load balancer sends straight to the pod IPs; no node rewrites the packet.")


# ------------------------------------------------------------- 08b what depends on the client IP
# (Issue 13: three exercises for notebooks/08b-what-depends-on-the-client-ip.ipynb, kept in one block.)

#: The partner network of exercises 8b.3 (and of notebook 08b's allow-lists).
PARTNERS = "198.51.100.0/24"
#: A client outside the partner network.
STRANGER = "203.0.113.9"
#: The clients whose requests make the access-log excerpts of exercise 8b.1.
_LOG_CLIENTS = ("198.51.100.23", "203.0.113.61", "198.51.100.140", "192.0.2.77", "203.0.113.9", "198.51.100.201")
#: The set-ups behind the access-log excerpts of exercise 8b.1: excerpt -> (load balancer, policy).
_LOG_SETUPS = {"A": ("aws-alb", "Cluster"), "B": ("aws-elb-proxy-v1", "Local"),
               "C": ("gcp-nlb", "Local"), "D": ("aws-elb", "Local")}
_POLICIES = ("Cluster", "Local")


def _log_traces(lb: str, policy: str) -> list[Any]:
    cluster = examples.uneven(external_traffic_policy=policy)
    return [send(cluster, "web", client=ip, lb=lb, seed=i) for i, ip in enumerate(_LOG_CLIENTS, 1)]


def _log_line(t: Any) -> str:
    if t.outcome != "delivered":
        return f"(no line: the connection from {t.client_ip} was {t.outcome})"
    header = t.proxy_protocol.split(" ", 2)  # "PROXY v1 TCP4 198.51.100.9:51000 -> 203.0.113.100:80"
    proxy = f"{header[2]} ({header[1]})" if len(header) == 3 else "-"
    return f'{t.pod}  peer={t.source_seen_by_pod}  proxy-protocol="{proxy}"  x-forwarded-for="{t.x_forwarded_for or "-"}"  "GET / HTTP/1.1" 200'


def access_logs() -> dict[str, list[str]]:
    """The access-log excerpts of exercise 8b.1, one list of lines per excerpt (A to D).

    Each excerpt is what the ``web`` pods of ``k8s.examples.uneven()`` logged for six clients behind
    one load balancer of the catalogue and one ``externalTrafficPolicy``; the simulator writes them.

    >>> access_logs()["C"][0]
    'web-3  peer=198.51.100.23  proxy-protocol="-"  x-forwarded-for="-"  "GET / HTTP/1.1" 200'
    """
    return {name: [_log_line(t) for t in _log_traces(lb, policy)] for name, (lb, policy) in _LOG_SETUPS.items()}


@functools.lru_cache(maxsize=64)
def _log_signature(lb: str, policy: str) -> tuple[frozenset[str], frozenset[str]]:
    """What the lines of a set-up show: the kinds of peer (client, node, load balancer) and of header."""
    cluster = examples.uneven(external_traffic_policy=policy)
    node_addresses = {n.ip for n in cluster.nodes} | {n.bridge_ip for n in cluster.nodes}
    peers, headers = set(), set()
    for t in _log_traces(lb, policy):
        if t.outcome != "delivered":
            peers.add("lost")
            continue
        seen = t.source_seen_by_pod
        peers.add("client" if seen == t.client_ip else "node" if seen in node_addresses
                  else "load balancer" if seen == LB_ADDRESS else "other")
        headers.add(t.proxy_protocol.split()[1] if t.proxy_protocol else "X-Forwarded-For" if t.x_forwarded_for else "none")
    return frozenset(peers), frozenset(headers)


def _alike(lb: str, policy: str) -> list[str]:
    """Every catalogue set-up that writes the same kind of lines as (lb, policy)."""
    from .loadbalancer import LB_PROFILES

    want = _log_signature(lb, policy)
    return [f"{key} {p}" for key in LB_PROFILES for p in _POLICIES if _log_signature(key, p) == want]


@_exercise("8b.1", "forensics", "Which load balancer and policy wrote these logs",
           "Read the peer column first: the clients' own addresses, node addresses (192.168.0.x and the bridge "
           "addresses 10.244.x.1), or one address that is no node's?",
           "Then the headers: a PROXY protocol line comes from an L4 proxy that was told to send it; "
           "X-Forwarded-For from an L7 proxy. Under Cluster kube-proxy SNATs every external connection.",
           "k8s.load_balancer_table() lists what the pod sees behind each load balancer under Cluster and Local; "
           "k8s.send(k8s.examples.uneven(external_traffic_policy=...), 'web', lb=...) writes one line's worth.")
def log_forensics(answer: Any) -> str:
    from .loadbalancer import LB_PROFILES

    got = _as_mapping(answer, '{"A": ("aws-elb", "Local"), ...}')
    if sorted(map(str, got)) != sorted(_LOG_SETUPS):
        raise _Mistake(f"answer for each excerpt, {', '.join(_LOG_SETUPS)}, and only those.")
    for name in _LOG_SETUPS:
        value = got[name]
        if isinstance(value, str) or not isinstance(value, (tuple, list)) or len(value) != 2:
            raise _Mistake(f'excerpt {name}: give a pair (load balancer, policy), such as ("gcp-nlb", "Cluster").')
        lb, policy = (str(v).strip() for v in value)
        if lb not in LB_PROFILES:
            raise _Mistake(f"excerpt {name}: {lb!r} is not in the catalogue; the keys are {', '.join(LB_PROFILES)}.")
        if policy not in _POLICIES:
            raise _Mistake(f'excerpt {name}: the policy is "Cluster" or "Local", not {policy!r}.')
    for name, (lb_want, policy_want) in _LOG_SETUPS.items():
        lb, policy = (str(v).strip() for v in got[name])
        want_peers, want_headers = _log_signature(lb_want, policy_want)
        peers, headers = _log_signature(lb, policy)
        if peers != want_peers:
            if "client" in peers:
                raise _Mistake(f"excerpt {name}: behind {lb} with {policy} the pods would log each client's own "
                               "address; in these lines no peer is a client, so something replaced the source first.")
            if "client" in want_peers:
                raise _Mistake(f"excerpt {name}: these peers are the clients themselves, so nothing in front replaced "
                               f"the source; {lb} with {policy} would not keep it (a proxy, or kube-proxy's SNAT under "
                               "Cluster).")
            if "node" in peers:
                raise _Mistake(f"excerpt {name}: {lb} with {policy} would show node addresses (kube-proxy's SNAT "
                               "under Cluster); every line here shows one address that belongs to no node.")
            raise _Mistake(f"excerpt {name}: {lb} with {policy} would show one proxy address in every line; these "
                           "peers are node addresses, which only kube-proxy's masquerade writes.")
        if headers != want_headers:
            raise _Mistake(f"excerpt {name}: the peers fit, but {lb} would not write the headers these lines carry: "
                           "which load balancer sends a PROXY header, and which one adds X-Forwarded-For?")
    alike = {name: _alike(*setup) for name, setup in _LOG_SETUPS.items()}
    shared = next((name for name, same in alike.items() if len(same) > 1), None)
    tail = (f" Logs cannot tell apart set-ups that write the same lines: excerpt {shared} fits "
            f"{', '.join(alike[shared])}." if shared else "")
    return ("node addresses mean kube-proxy masqueraded (Cluster); client addresses mean a pass-through load "
            "balancer and Local; one address that is no node's means a proxy, and its header (PROXY or "
            "X-Forwarded-For) says which." + tail)


def ingress_cluster() -> Cluster:
    """The cluster of exercise 8b.2: an ingress controller behind a NodePort Service, the app behind it.

    Clients reach the ingress by DNS round robin over the three node IPs (``lb="equal"``)::

        node-a: ingress-1     node-b: ingress-2     node-c: web-1

    >>> k8s_ingress = ingress_cluster(); k8s_ingress.service("ingress").external_traffic_policy
    'Cluster'
    """
    cluster = Cluster.from_layout([1, 1, 0], service="ingress", type="NodePort", name="ingress")
    cluster.add_pod("web-1", "node-c", labels={"app": "web"})
    cluster.add_service("web", selector={"app": "web"})
    return cluster


def _with_policies(cluster: Cluster) -> str:
    return _state(cluster) + repr(cluster.network_policies)


@_exercise("8b.2", "debug", "An ingress that logs node IPs",
           "The ingress controller runs in pods behind its own Service. What does kube-proxy do to external "
           "connections for a Service under its default policy?",
           "Local keeps the client's address, but then a node without an ingress pod drops what DNS sends it: "
           "nothing health-checks the nodes here.",
           "patch_service('ingress', external_traffic_policy='Local'), and an ingress pod on every node the DNS "
           "names (scale with node=..., like a DaemonSet).")
def fix_ingress_logs(answer: Any) -> str:
    c = _cluster(answer)
    if _with_policies(c) == _with_policies(ingress_cluster()):
        raise _Untouched
    names = {s.name for s in c.services}
    if "ingress" not in names:
        raise _Mistake("keep the ingress controller's Service, ingress: the clients reach the ingress through it.")
    if len(c.nodes) != 3:
        raise _Mistake("keep the three nodes: the DNS name lists all three node IPs.")
    frame = traffic(c, "ingress", lb="equal")
    if c.service("ingress").external_traffic_policy != "Local":
        raise _Mistake("the ingress still sees node addresses: its own Service is Cluster, so kube-proxy masquerades "
                       "every external connection before it reaches an ingress pod (and the ingress appends that "
                       "node address to X-Forwarded-For).")
    lost = frame.attrs["dropped"] + frame.attrs["refused"] + frame.attrs["failed"]
    if lost > 1e-9:
        raise _Mistake(f"the ingress now sees the clients, but {lost:.0%} of the connections are lost: DNS round "
                       "robin sends clients to every node, and under Local a node without an ingress pod drops "
                       "them silently.")
    if (frame.client_ip_kept < 1).any():
        raise _Mistake("some ingress pods still see a rewritten source.")
    return ("the ingress controller's own Service decides what it sees: with Local and an ingress pod on every "
            "node the DNS names, it logs each client and appends the client to X-Forwarded-For; nothing is lost.")


def allow_list_cluster() -> Cluster:
    """The cluster of exercise 8b.3: ``examples.uneven()`` (Cluster) behind MetalLB in L2 mode, with a
    NetworkPolicy that admits only the partner network 198.51.100.0/24 to the web pods.

    >>> [np.name for np in allow_list_cluster().network_policies]
    ['partners-only']
    """
    cluster = examples.uneven()
    cluster.add_network_policy("partners-only", pod_selector={"app": "web"},
                               ingress=[{"from": [{"ipBlock": {"cidr": PARTNERS}}]}])
    return cluster


def _stranger_gets_in(cluster: Cluster) -> bool:
    """Whether a client outside the partner network reaches any pod through MetalLB (every pod tried)."""
    for ep in cluster.endpoints("web"):
        try:
            t = send(cluster, "web", client=STRANGER, lb="metallb-l2", endpoint=ep.pod, seed=1)
        except K8sLearnError:
            continue  # a pod the node cannot pick (under Local, a pod on another node)
        if t.outcome == "delivered":
            return True
    return False


@_exercise("8b.3", "debug", "The allow-list that lets nobody in",
           "Send a partner's connection through MetalLB and read the trace's reason: which address does the "
           "NetworkPolicy see?",
           "In common set-ups the policy is enforced at the pod, after kube-proxy's SNAT; MetalLB's announcing node "
           "here runs no web pod. Either let the pods see the client, or filter before the SNAT.",
           "external_traffic_policy='Local' (the policy then sees the client); or loadBalancerSourceRanges with "
           "the partner range, and the ipBlock policy deleted.")
def fix_allow_list(answer: Any) -> str:
    c = _cluster(answer)
    if _with_policies(c) == _with_policies(allow_list_cluster()):
        raise _Untouched
    if "web" not in {s.name for s in c.services} or c.service("web").type != "LoadBalancer":
        raise _Mistake("keep web a LoadBalancer Service: the partners reach it through MetalLB.")
    partner = metrics(c, "web", lb="metallb-l2").loc[0, "delivered"]
    stranger = _stranger_gets_in(c)
    if partner < 1 - 1e-9 and not stranger:
        raise _Mistake(f"partners still get only {partner:.0%} of their connections through: the NetworkPolicy is "
                       "checked at the pod, after kube-proxy's SNAT, so under Cluster it is offered a node's "
                       "address, not the partner's.")
    if stranger and c.service("web").external_traffic_policy == "Cluster":
        raise _Mistake("now a stranger gets in too: after the SNAT every connection comes from a node address, and "
                       "traffic from the pod's own node is always allowed, so an ipBlock (or no policy) cannot tell "
                       "partners from strangers under Cluster.")
    if stranger:
        raise _Mistake("the pods see every client's own address now, but a stranger gets in: nothing admits only "
                       "the partner network any more.")
    if partner < 1 - 1e-9:
        raise _Mistake(f"strangers are kept out, but partners get only {partner:.0%} through.")
    how = ("with Local the pods see the client, so the ipBlock admits exactly the partners"
           if c.service("web").external_traffic_policy == "Local" else
           "loadBalancerSourceRanges is checked before any SNAT, so it still sees the partner's address")
    return (f"{how}. Under Cluster the ipBlock saw node-c's address (MetalLB's announcing node, which runs no web "
            "pod), so it let nobody in.")
