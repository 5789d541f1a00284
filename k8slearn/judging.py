"""Exercises as data: how an answer is read, compared with the simulator, and explained.

:mod:`k8slearn.checks` registers every exercise as an entry (its number, kind, title, answer type,
expected value, known misconceptions, the "Right" text and hints); the check a notebook calls is
generated from that entry by :func:`judge`. This module holds the parts an entry is made of:

* **Answer types** read what a learner wrote and say when two answers are the same: :class:`IP`,
  :class:`Endpoint`, :class:`Number`, :class:`Names` (a set of names), :class:`Choice`,
  :class:`Path`, :class:`Table` (a dict with known keys, such as shares per pod), :class:`ListOf`
  and :class:`Record` (named fields, each with its own type).
* :class:`Misconception`: a wrong answer we recognise, and the sentence that names the
  misunderstanding behind it (never the expected value).
* :class:`Function`: a function the learner writes, run on fixed cases and on many generated ones
  and compared with the simulator; when it goes wrong, the smallest failing case is shown
  (:func:`counterexample`, with the seeded generator :func:`layouts` and the shrinker
  :func:`smaller_layouts`).
* :class:`Changed`: a cluster the learner changes, measured against a list of :class:`Need`\\ s.

A judge raises :class:`NotYet` (wrong, with the explanation) or :class:`Untouched` (the answer is
still the starting point), or returns the "Right" text. Nothing here prints.

Taught in the exercise notebooks, ``exercises/NN-*.ipynb``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import show

__all__ = [
    "IP",
    "SHARE_TOLERANCE",
    "Changed",
    "Choice",
    "Endpoint",
    "Function",
    "ListOf",
    "Misconception",
    "Names",
    "Need",
    "NotYet",
    "Number",
    "Path",
    "Record",
    "Table",
    "Untouched",
    "Verdict",
    "call",
    "close",
    "counterexample",
    "judge",
    "layout_text",
    "layouts",
    "smaller_layouts",
    "sums_to",
]


# ------------------------------------------------------------------------------ outcomes
class NotYet(Exception):
    """A wrong answer: the message names the likely misconception (``details`` add lines)."""

    def __init__(self, says: str, details: tuple = ()) -> None:
        super().__init__(says)
        self.details = tuple(details)


class Untouched(Exception):
    """The answer is still the starting point (``...``, an unchanged cluster, a function returning None)."""

    def __init__(self, says: str = "", details: tuple = ()) -> None:
        super().__init__(says)
        self.details = tuple(details)


@dataclass(frozen=True)
class Verdict:
    """A right answer's text, with optional detail lines (requirement, status, evidence)."""

    text: str
    details: tuple = ()


#: How far a share a learner writes may be from the exact one: half a percentage point, so 0.11 or
#: 11.1 (%) is 1/9, and 17 (%) is 1/6, while a share one point off is still wrong.
SHARE_TOLERANCE = 0.005


def close(a: float, b: float, *, tolerance: float | None = None) -> bool:
    """Equal up to floating-point rounding, or, with ``tolerance``, up to that absolute difference
    (a learner's rounded share).

    >>> close(0.1 + 0.2, 0.3), close(0.11, 1 / 9), close(0.11, 1 / 9, tolerance=SHARE_TOLERANCE)
    (True, False, True)
    """
    if tolerance is not None:
        return abs(a - b) <= tolerance + 1e-12
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def sums_to(values: Iterable[float], whole: float = 1.0, tolerance: float | None = None) -> bool:
    """Whether shares add up to ``whole`` (1, or 100 for percentages), each rounded by at most
    ``tolerance`` of the whole (None: floating-point rounding only).

    >>> sums_to([0.11, 0.11, 0.11, 0.33, 0.17, 0.17], tolerance=SHARE_TOLERANCE), sums_to([0.5, 0.2])
    (True, False)
    """
    values = list(values)
    if tolerance is None:
        return close(sum(values), whole)
    return close(sum(values), whole, tolerance=len(values) * tolerance * whole)


def call(function: Any, *args: Any) -> Any:
    """Run the learner's function; an exception becomes a :class:`NotYet` that says where."""
    if not callable(function):
        raise NotYet(f"answer should be your function itself (answer = my_function), not a {type(function).__name__}.")
    try:
        return function(*args)
    except Exception as exc:
        shown = ", ".join(show(a, 80) for a in args)
        raise NotYet(f"your function raised {type(exc).__name__}: {exc} for the input {shown}.") from None


# ------------------------------------------------------------------------------ answer types
class _Answer:
    """How one kind of answer is read (``parse``) and compared (``same``)."""

    example = "..."

    def parse(self, raw: Any) -> Any:
        return raw

    def same(self, got: Any, want: Any) -> bool:
        if isinstance(want, (set, frozenset)) and not isinstance(got, (set, frozenset)):
            return any(self.same(got, w) for w in want)  # several answers are accepted
        return got == want

    def show(self, value: Any) -> str:
        return show(value, 80)


@dataclass(frozen=True)
class IP(_Answer):
    """An IP address, as text (``"10.244.1.5"``) or an ``ipaddress`` object."""

    def parse(self, raw: Any) -> Any:
        try:
            return ipaddress.ip_address(str(raw).strip())
        except ValueError:
            raise NotYet(f"{show(raw, 60)} is not an IP address; write it like \"10.244.1.5\".") from None


@dataclass(frozen=True)
class Endpoint(_Answer):
    """An address and port, as ``"10.244.1.5:8080"`` or ``("10.244.1.5", 8080)``."""

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, tuple) and len(raw) == 2:
            raw = f"{raw[0]}:{raw[1]}"
        if not isinstance(raw, str):
            raise NotYet("answer with a string 'address:port'.")
        host, sep, port = raw.strip().rpartition(":")
        if not sep or not port.isdigit():
            raise NotYet("give the port too, as 'address:port'.")
        try:
            return ipaddress.ip_address(host.strip("[]")), int(port)
        except ValueError:
            raise NotYet(f"{show(host, 60)} is not an IP address; write the answer like \"10.244.1.5:8080\".") from None

    def show(self, value: Any) -> str:
        return f"{value[0]}:{value[1]}"


@dataclass(frozen=True)
class Number(_Answer):
    """A number such as 0.25 or ``Fraction(1, 4)``; with ``percent``, 25 (meaning 25 %) too.

    ``tolerance`` is how far a rounded answer may be from the exact value (None: floating-point
    rounding only); shares use :data:`SHARE_TOLERANCE`.
    """

    what: str = "the answer"
    percent: bool = True
    tolerance: float | None = None

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, Fraction, np.number)):
            raise NotYet(f"{self.what} should be a number such as 0.25 (or Fraction(1, 4)), not {show(raw, 60)}.")
        return float(raw)

    def same(self, got: Any, want: Any) -> bool:
        tol = self.tolerance
        return close(got, want, tolerance=tol) or (self.percent and got > 1 and close(got / 100, want, tolerance=tol))


@dataclass(frozen=True)
class Names(_Answer):
    """A set of names (nodes, pods, dataplanes ...); ``of`` gives the valid ones."""

    of: Callable[[], Sequence[str]]
    what: str = "names"

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
            raise NotYet(f"answer with a set of {self.what}, e.g. {{'{self.of()[0]}'}} (or an empty set).")
        got = frozenset(str(x) for x in raw)
        valid = list(self.of())
        unknown = sorted(got - set(valid))
        if unknown:
            raise NotYet(f"{unknown[0]!r} is not one of the {self.what} here ({', '.join(valid)}).")
        return got

    def same(self, got: Any, want: Any) -> bool:
        return got == frozenset(want)

    def show(self, value: Any) -> str:
        return "{" + ", ".join(sorted(value)) + "}" if value else "set()"


@dataclass(frozen=True)
class Choice(_Answer):
    """One of a few words (an outcome, a policy, a load balancer's key); case and spaces do not matter."""

    of: Callable[[], Sequence[str]]
    what: str = "answer"

    def parse(self, raw: Any) -> Any:
        options = list(self.of())
        if isinstance(raw, bool) and {"True", "False"} <= set(options):
            return str(raw)
        text = str(raw).strip() if isinstance(raw, str) else None
        for option in options:
            if text is not None and text.lower() == option.lower():
                return option
        listed = ", ".join(repr(o) for o in options)
        raise NotYet(f"{show(raw, 60)} is not a valid {self.what} here; use one of {listed}.")


@dataclass(frozen=True)
class Path(_Answer):
    """A list of place names, the way ``Trace.path`` writes them."""

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
            raise NotYet("answer with a list of names, e.g. ['client', ...].")
        return tuple(str(x) for x in raw)

    def same(self, got: Any, want: Any) -> bool:
        return tuple(got) == tuple(want)


@dataclass(frozen=True)
class Table(_Answer):
    """A dict with known keys (``keys``), each value read by ``value``.

    ``missing`` is the value a left-out key counts as (None: every key must be given). With
    ``shares`` the values are shares of one whole: percentages summing to 100 are accepted (rounded
    ones too, each within the value's ``tolerance`` of a percentage point).
    """

    keys: Callable[[], Sequence[str]]
    value: Any = field(default_factory=Number)
    what: str = "{name: value}"
    missing: Any = None
    shares: bool = False

    def parse(self, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            raise NotYet(f"answer with a dict {self.what}, not a {type(raw).__name__}.")
        keys = list(self.keys())
        unknown = [k for k in raw if k not in keys]
        if unknown:
            raise NotYet(f"{show(unknown[0], 40)} is not one of the names here ({', '.join(keys)}).")
        if all(v is Ellipsis for v in raw.values()) and raw:
            raise Untouched
        absent = [k for k in keys if k not in raw]
        if absent and self.missing is None:
            raise NotYet(f"give a value for each of {', '.join(repr(k) for k in keys)} (missing: {absent[0]!r}).")
        got = {k: (self.value.parse(raw[k]) if k in raw else self.missing) for k in keys}
        if self.shares and sums_to(got.values(), 100.0, getattr(self.value, "tolerance", None)):
            got = {k: v / 100 for k, v in got.items()}
        return got

    def same(self, got: Any, want: Any) -> bool:
        return all(self.value.same(got[k], want[k]) for k in want)

    def show(self, value: Any) -> str:
        return "{" + ", ".join(f"{k!r}: {self.value.show(v)}" for k, v in value.items()) + "}"


@dataclass(frozen=True)
class ListOf(_Answer):
    """A list of ``length()`` answers of one type, in order (one per line of a log, say)."""

    item: Any
    length: Callable[[], int]
    what: str = "answers"

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, (list, tuple)):
            raise NotYet(f"answer with a list of {self.what}, one per line, in order.")
        if raw and all(x is Ellipsis for x in raw):
            raise Untouched
        n = self.length()
        if len(raw) != n:
            raise NotYet(f"give {n} {self.what}, one per line, in order; this list has {len(raw)}.")
        return tuple(self.item.parse(x) for x in raw)

    def same(self, got: Any, want: Any) -> bool:
        return len(got) == len(want) and all(self.item.same(g, w) for g, w in zip(got, want))


@dataclass(frozen=True)
class Record(_Answer):
    """A dict of named fields, each with its own answer type, judged field by field in order."""

    fields: Mapping[str, Any]

    def parse(self, raw: Any) -> Any:
        names = list(self.fields)
        if not isinstance(raw, Mapping):
            raise NotYet(f"answer with a dict with the keys {', '.join(repr(n) for n in names)}.")
        if raw and all(v is Ellipsis for v in raw.values()):
            raise Untouched
        unknown = [k for k in raw if k not in names]
        absent = [k for k in names if k not in raw or raw[k] is Ellipsis]
        if unknown or absent:
            which = f"{show(unknown[0], 40)} is not one of them" if unknown else f"{absent[0]!r} is missing"
            raise NotYet(f"give every field: {', '.join(repr(n) for n in names)} ({which}).")
        return {k: self.fields[k].parse(raw[k]) for k in names}

    def same(self, got: Any, want: Any) -> bool:
        return all(self.fields[k].same(got[k], want[k]) for k in self.fields)


# ------------------------------------------------------------------------------ misconceptions
@dataclass(frozen=True)
class Misconception:
    """A wrong answer we recognise and what it says about the learner's model of Kubernetes.

    It applies when ``equals()`` (one value or a set of values, from the simulator) is the same as
    the answer, or when ``when(got, want)`` is true, or, with neither, to any wrong answer of its
    ``field`` (or line). For a :class:`Record` answer ``field`` names
    the field it is about (``got`` and ``want`` are then that field's). With ``per_line`` it is
    about one line of a :class:`ListOf` answer: ``when(got, want, line)`` sees that line's answer,
    expected value and number (from 1). ``says`` is the explanation: it names the misunderstanding,
    never the expected value.
    """

    says: str
    equals: Callable[[], Any] | None = None
    when: Callable[..., bool] | None = None
    field: str | None = None
    per_line: bool = False

    def applies(self, answer: Any, got: Any, want: Any, line: int | None = None) -> bool:
        if self.per_line != (line is not None):
            return False
        if self.equals is not None:
            values = self.equals()
            if isinstance(values, (set, frozenset)) and not isinstance(answer, Names):
                return any(answer.same(got, v) for v in values)
            return answer.same(got, values)
        if self.when is None:
            return True  # a catch-all for its field (or its lines)
        return bool(self.when(got, want, line) if self.per_line else self.when(got, want))


def _explain(entry: Any, answer: Any, got: Any, want: Any, field_name: str | None = None) -> str:
    """The first misconception that applies to a wrong (part of an) answer, else the entry's fallback."""
    if isinstance(answer, ListOf):
        for i, (g, w) in enumerate(zip(got, want), 1):
            if not answer.item.same(g, w):
                said = next((m.says for m in entry.mistakes
                             if m.field == field_name and m.applies(answer.item, g, w, line=i)), None)
                return f"line {i}: " + (said or _explain(entry, answer.item, g, w, field_name))
    for m in entry.mistakes:
        if m.field == field_name and m.applies(answer, got, want):
            return m.says
    fallback = entry.otherwise
    if isinstance(fallback, Mapping):
        return fallback.get(field_name, fallback.get(None, "not yet."))
    return fallback or "not yet."


def _right(entry: Any, want: Any) -> str:
    return entry.right(want) if callable(entry.right) else entry.right


def judge(entry: Any, raw: Any) -> str | Verdict:
    """Judge one answer against an exercise entry: the "Right" text, or :class:`NotYet` / :class:`Untouched`.

    ``entry`` has ``answer`` (an answer type, a :class:`Function` or a :class:`Changed`),
    ``expected`` (a function of no arguments that asks the simulator), ``mistakes``
    (:class:`Misconception`\\ s), ``otherwise`` and ``right``.
    """
    if raw is Ellipsis:
        raise Untouched
    kind = entry.answer
    if isinstance(kind, (Function, Changed)):
        return kind.judge(entry, raw)
    want = entry.expected()
    got = kind.parse(raw)
    if isinstance(kind, Record):
        for name, sub in kind.fields.items():
            if not sub.same(got[name], want[name]):
                raise NotYet(_explain(entry, sub, got[name], want[name], name))
        return _right(entry, want)
    if kind.same(got, want):
        return _right(entry, want)
    raise NotYet(_explain(entry, kind, got, want))


# ------------------------------------------------------------------------------ changed clusters
@dataclass(frozen=True)
class Need:
    """One requirement on a changed cluster: ``holds(answer)`` must be true, else ``says`` explains.

    ``says`` may be a function of the answer, to quote what the learner's own cluster measures.
    """

    holds: Callable[[Any], bool]
    says: str | Callable[[Any], str]

    def explain(self, value: Any) -> str:
        return self.says(value) if callable(self.says) else self.says


def _state(cluster: Any) -> tuple:
    """Everything a learner can change in a cluster, field by field (reprs leave some fields out)."""
    def fields(obj: Any) -> tuple:
        return tuple(repr(getattr(obj, f.name)) for f in dataclasses.fields(obj))

    return tuple(tuple(fields(o) for o in group)
                 for group in (cluster.nodes, cluster.pods, cluster.services, cluster.network_policies))


@dataclass(frozen=True)
class Changed:
    """A cluster the learner changes from ``start()``; judged by ``needs`` in order.

    ``read`` turns the answer into the value the needs measure (by default the answer must be a
    :class:`~k8slearn.model.Cluster`); an answer equal to the starting cluster is untouched.
    """

    start: Callable[[], Any]
    needs: tuple[Need, ...]
    read: Callable[[Any], Any] | None = None

    def judge(self, entry: Any, raw: Any) -> str | Verdict:
        from .model import Cluster

        value = self.read(raw) if self.read is not None else raw
        if self.read is None:
            if not isinstance(value, Cluster):
                raise NotYet(f"set answer to the changed cluster (answer = cluster), not a {type(value).__name__}.")
            if _state(value) == _state(self.start()):
                raise Untouched
        for need in self.needs:
            if not need.holds(value):
                raise NotYet(need.explain(value))
        return entry.right(value) if callable(entry.right) else entry.right


# ------------------------------------------------------------------------------ functions, by property
def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def layout_text(layout: Mapping[str, int]) -> str:
    """A layout as the learner's function receives it: ``{'node-a': 2, 'node-b': 0}``."""
    return "{" + ", ".join(f"'{n}': {c}" for n, c in layout.items()) + "}"


def _named(counts: Sequence[int]) -> dict[str, int]:
    from .model import node_names

    return dict(zip(node_names(len(counts)), counts))


def layouts(seed: int, count: int, *, max_nodes: int = 5, max_pods: int = 4) -> list[dict[str, int]]:
    """``count`` seeded random layouts ``{node: pods}``: 1 to ``max_nodes`` nodes, at least one pod.

    >>> layouts(1, 2)
    [{'node-a': 2, 'node-b': 3, 'node-c': 4}, {'node-a': 4, 'node-b': 1, 'node-c': 1, 'node-d': 4, 'node-e': 2}]
    """
    gen = _rng(seed)
    out = []
    while len(out) < count:
        nodes = int(gen.integers(1, max_nodes + 1))
        counts = [int(x) for x in gen.integers(0, max_pods + 1, size=nodes)]
        if sum(counts):
            out.append(_named(counts))
    return out


def smaller_layouts(layout: Mapping[str, int]) -> Iterator[dict[str, int]]:
    """Layouts one step smaller than ``layout`` (a node fewer, or a pod fewer), smallest change first.

    >>> list(smaller_layouts({'node-a': 1, 'node-b': 2}))
    [{'node-a': 2}, {'node-a': 1}, {'node-a': 0, 'node-b': 2}, {'node-a': 1, 'node-b': 1}]
    """
    counts = list(layout.values())
    for i in range(len(counts)):
        rest = counts[:i] + counts[i + 1:]
        if rest and sum(rest):
            yield _named(rest)
    for i, c in enumerate(counts):
        if c > 0 and sum(counts) > 1:
            yield _named(counts[:i] + [c - 1] + counts[i + 1:])


def counterexample(fails: Callable[[Any], str | None], cases: Iterable[Any],
                   shrink: Callable[[Any], Iterable[Any]] | None = None) -> tuple[Any, str, int] | None:
    """The first case ``fails`` objects to, shrunk as far as it keeps failing, or None.

    ``fails(case)`` returns None when the case passes, else the explanation. Returns the smallest
    failing case found, its explanation and how many cases were tried. Shrinking is greedy: take
    the first smaller case that still fails, and start again from it.

    >>> fails = lambda n: "too big" if n >= 3 else None
    >>> counterexample(fails, [1, 2, 7], lambda n: [n - 1] if n > 0 else [])
    (3, 'too big', 8)
    """
    tried = 0
    for case in cases:
        tried += 1
        why = fails(case)
        if why is None:
            continue
        if shrink is not None:
            improved = True
            while improved:
                improved = False
                for smaller in shrink(case):
                    tried += 1
                    reason = fails(smaller)
                    if reason is not None:
                        case, why, improved = smaller, reason, True
                        break
        return case, why, tried
    return None


@dataclass(frozen=True)
class Function:
    """A function the learner writes, checked like a property against the simulator.

    ``cases()`` are fixed inputs tried first (the examples the exercise shows), then
    ``generate(seed, count)`` gives ``count`` more; ``shrink(case)`` yields smaller inputs.
    ``compare(got, case)`` returns None when the learner's output for ``case`` is right, else the
    misconception it shows. On failure the message names the smallest failing case, written by
    ``describe(case)``; with ``size(case)`` every case is tried smallest first, so the first failure
    is the smallest even without a shrinker. ``argument(case)`` gives the arguments the learner's function gets (by
    default the case itself). A function that returns None for every fixed case is untouched.
    """

    cases: Callable[[], Sequence[Any]]
    compare: Callable[[Any, Any], str | None]
    generate: Callable[[int, int], Sequence[Any]] | None = None
    shrink: Callable[[Any], Iterable[Any]] | None = None
    describe: Callable[[Any], str] = layout_text
    seed: int = 15
    count: int = 60
    what: str = "cluster"
    against: str = "the simulator"
    argument: Callable[[Any], tuple] | None = None
    size: Callable[[Any], Any] | None = None

    def judge(self, entry: Any, raw: Any) -> str | Verdict:
        args = self.argument or (lambda case: case if isinstance(case, tuple) else (case,))
        fixed = list(self.cases())
        if all(call(raw, *args(case)) is None for case in fixed):
            raise Untouched

        def fails(case: Any) -> str | None:
            got = call(raw, *args(case))
            return self.compare(got, case)

        generated = list(self.generate(self.seed, self.count)) if self.generate is not None else []
        cases = fixed + generated
        if self.size is not None:
            cases = sorted(cases, key=self.size)  # so the first failing case is the smallest
        found = counterexample(fails, cases, self.shrink)
        if found is None:
            text = _right(entry, None)
            checked = len(fixed) + len(generated)
            return f"{text} (Checked against {self.against} on {checked} {self.what}s.)" if generated else text
        case, why, _ = found
        where = (f"the smallest {self.what} where it goes wrong is {self.describe(case)}"
                 if generated else f"for {self.describe(case)}")
        raise NotYet(f"{where}: {why}")
