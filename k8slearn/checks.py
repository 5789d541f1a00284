"""Checks for the exercise notebooks: ``k8s.check.local_shares(answer)`` and friends.

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

The expected values come from the simulator (:func:`k8slearn.send`, :func:`k8slearn.traffic`,
:mod:`k8slearn.proxies`) on the named example clusters, not from a table of numbers. Hints come in
levels: ``k8s.check.hint("4.2", level=1)``.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import examples, proxies
from .errors import K8sLearnError
from .loadbalancer import LB_ADDRESS, LB_MODELS, LoadBalancer
from .model import CLIENT_IP, Cluster
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
    "audit_service",
    "chapter_key",
    "chapter_label",
    "chapter_of",
    "cilium_snat_local",
    "dataplanes_keep_ip",
    "dropped_share",
    "endpoints_per_node",
    "even_by_placement",
    "exercises_of",
    "extra_hop_chance",
    "failing_health_checks",
    "fix_drops",
    "fix_internal_policy",
    "hint",
    "in_cluster_lb_local",
    "in_cluster_source",
    "lb_for_even_shares",
    "local_shares",
    "misconfigured_hop",
    "one_pod_per_node",
    "pod_share",
    "proxy_chain",
    "proxy_lb_seen_ip",
    "proxy_protocol_from_pod",
    "proxy_source",
    "rolling_update_local",
    "scale_evenly",
    "seen_ip_local_endpoint",
    "seen_ip_local_policy",
    "seen_ip_remote",
    "summary",
    "trace_path",
    "xff_picker",
]

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

# Okabe-Ito colours (colour-blind safe); a symbol says the same, so colour is never the only cue.
_LOOK = {
    "done": ("\u2713", "#009E73"),
    "wrong": ("\u2717", "#D55E00"),
    "not attempted": ("\u2026", "#999999"),
    "not checked": ("\u00b7", "#999999"),
}


class _Mistake(Exception):
    """Raised inside a check with the explanation of a wrong answer."""


class _Untouched(Exception):
    """Raised inside a check when the answer is still the starting point."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number, kind (predict, compute, configure, debug), title and hints."""

    id: str
    kind: str
    title: str
    check: str
    hints: tuple[str, ...]

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


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a check says about one answer: ``status`` is one of :data:`STATUSES`.

    A notebook shows it as a short coloured message; ``str(feedback)`` is the plain text.

    >>> fb = dropped_share(...)
    >>> fb.status, fb.passed
    ('not attempted', False)
    >>> print(fb)  # doctest: +ELLIPSIS
    Not attempted yet. (Exercise 4.3: replace the ... with your answer; k8s.check.hint("4.3") gives a hint.)
    """

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "done"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"Feedback({self.exercise!r}, {self.status!r})"

    def _repr_html_(self) -> str:
        symbol, colour = _LOOK[self.status]
        return (f"<div class='k8sl-feedback k8sl-{self.status.replace(' ', '-')}' style='border-left:4px solid "
                f"{colour};padding:4px 10px;margin:2px 0'><b style='color:{colour}'>{symbol}</b> "
                f"{html.escape(self.message)}</div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.message, "text/html": self._repr_html_()}


# The latest feedback of each exercise checked in this Python session (what summary() counts).
_SESSION: dict[str, Feedback] = {}


def _report(exercise: str, status: str, message: str) -> None:
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"exercise": exercise, "status": status, "message": message}) + "\n")


def _exercise(number: str, kind: str, title: str, *hints: str) -> Callable:
    """Register a check: the wrapped function returns the "Right" text or raises _Mistake/_Untouched."""

    def wrap(judge: Callable) -> Callable:
        EXERCISES[number] = Exercise(number, kind, title, judge.__name__, hints)

        @functools.wraps(judge)
        def check(answer: Any) -> Feedback:
            try:
                if answer is Ellipsis:
                    raise _Untouched
                verdict = judge(answer)
            except _Untouched:
                feedback = Feedback(number, "not attempted", (
                    f"{NOT_ATTEMPTED} (Exercise {number}: replace the ... with your answer; "
                    f'k8s.check.hint("{number}") gives a hint.)'))
            except _Mistake as wrong:
                feedback = Feedback(number, "wrong", (
                    f"Not yet: {wrong} (Exercise {number}; "
                    f'k8s.check.hint("{number}", level=1) gives a hint.)'))
            else:
                feedback = Feedback(number, "done", f"Right: {verdict}")
            _SESSION[number] = feedback
            _report(number, feedback.status, feedback.message)
            return feedback

        check.exercise = number  # type: ignore[attr-defined]
        return check

    return wrap


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

    >>> _ = dropped_share(1 / 3)
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


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


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


def _local_uneven() -> Cluster:
    return examples.uneven(external_traffic_policy="Local")


def _call(function: Any, *args: Any) -> Any:
    if not callable(function):
        raise _Mistake(f"answer should be your function itself (answer = my_function), not a {type(function).__name__}.")
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 -- the learner's code failed: say where, not a traceback
        raise _Mistake(f"your function raised {type(exc).__name__}: {exc} for the input {args!r}.") from None


# ------------------------------------------------------------------------------ 01 pods, nodes
@_exercise("1.1", "predict", "Endpoints per node of the uneven cluster",
           "The Service's endpoints are its ready pods; each endpoint sits on the node of its pod.",
           "Look at the cluster card, or c.pods_on(node) for each node.",
           "c.endpoints_by_node('web') answers it in code; a node with no pods may be left out or given 0.")
def endpoints_per_node(answer: Any) -> str:
    c = examples.uneven()
    want = {n.name: len(c.endpoints_by_node("web").get(n.name, ())) for n in c.nodes}
    got = _as_mapping(answer, "{node name: number of endpoints}")
    if any(k not in want for k in got):
        raise _Mistake(f"use node names as keys; this cluster's nodes are {', '.join(want)}.")
    if all(isinstance(k, str) and k.startswith("web") for k in got):
        raise _Mistake("the keys should be nodes, and the values how many endpoints each node holds.")
    counts = {k: got.get(k, 0) for k in want}
    if sum(counts.values()) != sum(want.values()):
        raise _Mistake("the counts do not add up to the Service's number of endpoints (one per ready pod).")
    if counts != want:
        raise _Mistake("the total is right but not the placement: each endpoint lives on the node that runs its pod.")
    return "the endpoints follow the pods: a node without pods has no endpoint of 'web', which matters once traffic must stay local."


@_exercise("1.2", "configure", "One web pod on every node",
           "Which node has too many pods, and which has none?",
           "cluster.move_pod(pod, node) moves one pod (it is really a delete and a re-create on the other node).",
           "Move one pod from node-a to node-c.")
def one_pod_per_node(answer: Any) -> str:
    c = _cluster(answer)
    _unchanged(c, examples.uneven())
    web = c.selected_pods("web")
    if len(web) != 3:
        raise _Mistake(f"the Service should still select 3 pods; now it selects {len(web)}. Move pods rather than adding or deleting them.")
    counts = {n.name: sum(1 for p in web if p.node == n.name) for n in c.nodes}
    if len(c.nodes) != 3:
        raise _Mistake("keep the three nodes; the requirement is about the pods on them.")
    if sorted(counts.values()) != [1, 1, 1]:
        raise _Mistake("some node still runs two web pods and another none.")
    return "one pod per node is the layout every traffic policy treats evenly."


# ------------------------------------------------------------------------ 02 into the cluster
@_exercise("2.1", "predict", "The path of one connection",
           "A connection from outside reaches the load balancer first, then one node.",
           "Under externalTrafficPolicy: Cluster the receiving node may forward the packet to a pod on another node.",
           "List every place the request visits, as names: 'client', 'load balancer', node names, the pod name.")
def trace_path(answer: Any) -> str:
    want = send(examples.uneven(), "web", via="node-c", endpoint="web-1", seed=1).path
    if isinstance(answer, str) or not isinstance(answer, (list, tuple)):
        raise _Mistake("answer with a list of names, e.g. ['client', ...].")
    got = [str(x) for x in answer]
    if got == want:
        return "the load balancer sent the packet to node-c, which has no web pod, so kube-proxy forwarded it to node-a: an extra node hop."
    if "node-c" not in got:
        raise _Mistake("the packet enters the cluster at the node the load balancer picked (via=...), before kube-proxy chooses a pod.")
    if "node-a" not in got:
        raise _Mistake("the chosen pod runs on another node than the one that received the packet: the packet has to travel there.")
    if got[:1] != ["client"] or "load balancer" not in got:
        raise _Mistake("start where the connection starts, at the client, and do not skip the load balancer.")
    raise _Mistake("the places are right but not their order (or one appears twice).")


# ------------------------------------------------------------------- 03 externalTrafficPolicy: Cluster
@_exercise("3.1", "predict", "Source IP with a local endpoint under Cluster",
           "Does kube-proxy decide to masquerade before or after it picks the endpoint?",
           "Under Cluster, every packet arriving for a LoadBalancer IP is marked for masquerade in KUBE-EXT-..., local endpoint or not.",
           "MASQUERADE picks the node's address on the interface that leads to the pod: with a bridge CNI, the bridge "
           "address; with others, the node's IP.")
def seen_ip_local_endpoint(answer: Any) -> str:
    c = examples.uneven()
    want = send(c, "web", via="node-a", endpoint="web-1", seed=1).source_seen_by_pod
    got = _ip(answer)
    # Which node address MASQUERADE picks toward a local pod depends on the CNI: the bridge (gateway)
    # address with a bridge or point-to-point plugin (the simulator's 10.244.x.1), the node's IP where
    # the host side of the pod's link has no address of its own. Either answer shows the SNAT.
    node_ip = c.node("node-a").ip
    if got in (want, node_ip):
        return (f"kube-proxy masquerades every external packet under Cluster, even to a local pod: the pod sees "
                f"one of node-a's addresses, not the client. Which one depends on the CNI: MASQUERADE uses the "
                f"address of the interface toward the pod, the bridge address {want} with a bridge CNI (as "
                f"simulated here), or the node's IP {node_ip} where that interface has no address of its own.")
    if got == CLIENT_IP:
        raise _Mistake("SNAT does not only happen when there is a second hop: under Cluster kube-proxy marks every "
                       "external packet for masquerade in KUBE-EXT-..., before it knows where the pod is.")
    raise _Mistake("that address does not take part in this connection; which node received it, and where does the pod run?")


@_exercise("3.2", "predict", "Source IP with a remote endpoint under Cluster",
           "The packet enters at node-c and the pod runs on node-b.",
           "Which node does the DNAT and holds the conntrack entry? That node must also make the reply come back to it.",
           "The masquerade happens on the way out of the receiving node.")
def seen_ip_remote(answer: Any) -> str:
    c = examples.uneven()
    want = send(c, "web", via="node-c", endpoint="web-3", seed=1).source_seen_by_pod
    got = _ip(answer)
    if got == want:
        return "the receiving node SNATs to its own IP, so the reply comes back through it and can be un-NATed."
    if got == CLIENT_IP:
        raise _Mistake("with Cluster the client's address is replaced: without SNAT the pod would answer the client "
                       "directly, from an address the client never dialled, and the reply would be dropped.")
    if got == c.node("node-b").ip or got == c.node("node-b").bridge_ip:
        raise _Mistake("the pod's own node only delivers the packet; the rewrite happened earlier, on the node that received it.")
    if got == c.node("node-c").bridge_ip:
        raise _Mistake("the bridge address is used toward a local pod; this packet leaves node-c over the node network.")
    raise _Mistake("that address does not take part in this connection.")


@_exercise("3.3", "compute", "The chance of an extra node hop under Cluster",
           "On each node kube-proxy picks uniformly among ALL ready endpoints of the Service.",
           "A hop is extra when the picked pod is not on the receiving node. With P pods, p of them local, how likely is that?",
           "1 - p_n / P for node n; 1 for a node without pods.")
def extra_hop_chance(answer: Any) -> str:
    cases = [{"node-a": 2, "node-b": 1, "node-c": 0}, {"node-a": 1, "node-b": 1}, {"node-a": 3, "node-b": 1, "node-c": 4, "node-d": 0}]
    results = [_call(answer, dict(case)) for case in cases]
    if all(r is None for r in results):
        raise _Untouched
    for case, got in zip(cases, results):
        table = metrics(Cluster.from_layout(list(case.values())), "web", lb="equal")
        want = {row.scope: float(row.extra_hop) for row in table.itertuples() if row.scope != "overall"}
        got = _as_mapping(got, "{node: probability}")
        values = {n: _number(got.get(n, float("nan")), f"the chance for {n}") for n in want}
        wrong = [n for n in want if not _close(values[n], want[n])]
        if wrong:
            n = wrong[0]
            if _close(values[n], 1 - want[n]):
                raise _Mistake(f"for {case} you gave the chance of staying on {n}, not of leaving it.")
            raise _Mistake(f"for {case} the chance for {n} is off: kube-proxy picks among all ready endpoints, "
                           "not only among nodes, and a node without pods always forwards.")
    return "each node picks among all endpoints, so a node's share of local endpoints is the chance of staying."


# ------------------------------------------------------------------- 04 externalTrafficPolicy: Local
@_exercise("4.1", "predict", "Source IP under Local",
           "Under Local, which endpoints may a node use for external traffic?",
           "If the pod is on the receiving node, is there anything to un-NAT on the way back?",
           "KUBE-EXT-... jumps to KUBE-SVL-... without marking the packet for masquerade.")
def seen_ip_local_policy(answer: Any) -> str:
    c = _local_uneven()
    want = send(c, "web", via="node-a", seed=1).source_seen_by_pod
    got = _ip(answer)
    if got == want:
        return "under Local, kube-proxy picks only a local endpoint and does not masquerade: the pod sees the client."
    if got in (c.node("node-a").ip, c.node("node-a").bridge_ip):
        raise _Mistake("that would be Cluster's masquerade; under Local external packets are not marked for SNAT.")
    raise _Mistake("that address does not take part in this connection.")


@_exercise("4.2", "predict", "Per-pod shares under Local",
           "How does the load balancer split traffic between nodes when the health checks decide?",
           "A cloud L4 load balancer sends the same share to every healthy node, whatever the number of pods there.",
           "Each healthy node gets 1/H; its pods split that equally.")
def local_shares(answer: Any) -> str:
    c = examples.one_two()
    want = _shares(traffic(c, "web"))
    got = _fractions(answer, list(want), "{pod name: share}")
    if all(_close(got[p], got[next(iter(got))]) for p in got):
        raise _Mistake("Local does not balance across pods: the load balancer balances across nodes, and then "
                       "each node spreads its share over its own pods only.")
    if not _close(sum(got.values()), 1.0):
        raise _Mistake("the shares should add up to 1: with health checks nothing is dropped here.")
    if any(not _close(got[p], want[p]) for p in want):
        raise _Mistake("which node holds which pod? Each node's share is split among its local pods.")
    return "the load balancer gives each node half; node-b splits its half over two pods."


@_exercise("4.3", "predict", "Drops without health checks",
           "With lb='equal' the load balancer ignores the health checks and sends to every node.",
           "What does a node do under Local with external traffic for a Service that has no pod on it?",
           "Count the nodes without a ready endpoint of 'web'.")
def dropped_share(answer: Any) -> str:
    want = traffic(examples.empty_node(), "web", lb="equal").attrs["dropped"]
    got = _number(answer, "the dropped share")
    if got > 1 and _close(got / 100, want):
        got = got / 100
    if _close(got, want):
        return ("node-c has no local endpoint, so kube-proxy DROPs what reaches it (no RST, the client times out); "
                "health checks exist to keep the load balancer away from such nodes.")
    if _close(got, 0.0):
        raise _Mistake("Local does not keep the service working on every node: a node without a local endpoint "
                       "drops external traffic, silently.")
    raise _Mistake("each node gets an equal share from this load balancer; what happens to the share of the empty node?")


@_exercise("4.4", "predict", "Which health checks fail",
           "Under Local with type LoadBalancer, kube-proxy answers on the Service's healthCheckNodePort on every node.",
           "It answers 200 when the node has at least one ready local endpoint (and kube-proxy is healthy), else 503.",
           "k8s.health_check(cluster, 'web', node) shows what one node answers.")
def failing_health_checks(answer: Any) -> str:
    from .dataplane import health_check

    c = examples.empty_node()
    want = {n.name for n in c.nodes if health_check(c, "web", n.name).status == 503}
    if isinstance(answer, str) or not hasattr(answer, "__iter__"):
        raise _Mistake("answer with a set of node names, e.g. {'node-x'} (or an empty set).")
    got = {str(x) for x in answer}
    if got - {n.name for n in c.nodes}:
        raise _Mistake(f"use node names; the nodes are {', '.join(n.name for n in c.nodes)}.")
    if not got:
        raise _Mistake("a 503 here is not an error of your app: it is kube-proxy's designed signal that this node "
                       "has no ready local endpoint, so the load balancer should skip it.")
    if got != want:
        raise _Mistake("the health check counts the ready endpoints on the node itself, not in the whole cluster.")
    return "the node without a local endpoint answers 503 by design, and the load balancer stops sending to it."


_OUTCOMES = ("delivered", "dropped", "refused")
_UPDATE_STAGES = ("serving", "not serving")


def _rolling_update(stage: str) -> str:
    """Exercise 4.5: the outcome of a connection sent to node-a while web-1, its only pod, terminates."""
    c = examples.one_two()
    c.set_pod("web-1", terminating=True)
    if stage == "not serving":
        c.set_pod("web-1", ready=False)
    return send(c, "web", via="node-a", seed=1).outcome


@_exercise("4.5", "predict", "A rolling update under Local",
           "While a pod terminates, its endpoint stays in the EndpointSlice: ready false, terminating true, and "
           "serving as long as it passes its readiness probe.",
           "Under Local a node uses its serving-terminating endpoints when it has no ready ones (on by default "
           "since 1.26, GA 1.28); it never sends external traffic to another node.",
           "k8s.send(cluster, 'web', via='node-a') after c.set_pod('web-1', terminating=True), then again after "
           "c.set_pod('web-1', ready=False).")
def rolling_update_local(answer: Any) -> str:
    got = _as_mapping(answer, '{"serving": outcome, "not serving": outcome}')
    unknown = [k for k in got if k not in _UPDATE_STAGES]
    if unknown or len(got) != len(_UPDATE_STAGES):
        raise _Mistake(f'give one outcome for each of {", ".join(repr(k) for k in _UPDATE_STAGES)}.')
    got = {k: str(v).strip().lower() for k, v in got.items()}
    bad = [v for v in got.values() if v not in _OUTCOMES]
    if bad:
        raise _Mistake(f"{bad[0]!r} is not an outcome here; use one of {', '.join(_OUTCOMES)}.")
    want = {stage: _rolling_update(stage) for stage in _UPDATE_STAGES}
    if "refused" in got.values():
        raise _Mistake("kube-proxy rejects (connection refused) only when a service has no usable endpoint "
                       "anywhere; node-b still runs two ready pods.")
    if got["serving"] != want["serving"]:
        raise _Mistake("a terminating pod that still passes its readiness probe is a serving-terminating endpoint, "
                       "and kube-proxy uses a node's serving-terminating endpoints when it has no ready ones, "
                       "instead of dropping: Local survives the grace period thanks to that.")
    if got["not serving"] != want["not serving"]:
        raise _Mistake("once the pod stops serving, node-a has no usable local endpoint, and under Local kube-proxy "
                       "never forwards external traffic to another node's pods: that is why the pod must keep "
                       "serving until the load balancer has seen the 503.")
    return ("while web-1 terminates but still serves, node-a keeps using it (serving-terminating fallback); once it "
            "stops serving, node-a drops. Local is safe for rolling updates only with a grace period longer "
            "than the load balancer's health-check lag.")


# ----------------------------------------------------------------------------- 05 imbalance
@_exercise("5.1", "compute", "Per-pod share under Local",
           "Under Local with a health-checked load balancer, only nodes with pods are healthy.",
           "Every healthy node gets the same share, and splits it among its own pods.",
           "A pod on node n gets 1 / (H * p_n), H = nodes with at least one pod, p_n = pods on node n.")
def pod_share(answer: Any) -> str:
    cases = [{"node-a": 1, "node-b": 2}, {"node-a": 2, "node-b": 1, "node-c": 0}, {"node-a": 3, "node-b": 1, "node-c": 1, "node-d": 0}]
    results = [_call(answer, dict(case)) for case in cases]
    if all(r is None for r in results):
        raise _Untouched
    for case, got in zip(cases, results):
        frame = traffic(Cluster.from_layout(list(case.values()), external_traffic_policy="Local"), "web")
        want = {row.node: float(row.share) for row in frame.itertuples()}
        got = _as_mapping(got, "{node: share of one pod there}")
        for n, share in want.items():
            value = _number(got.get(n, float("nan")), f"the share for {n}")
            if _close(value, 1 / sum(case.values())):
                raise _Mistake(f"for {case}: that is the fair share per pod, which Local does not give; the load "
                               "balancer splits per node, not per pod.")
            if not _close(value, share):
                raise _Mistake(f"for {case} the share of a pod on {n} is off. Are nodes without pods counted as "
                               "healthy? They fail the health check and get nothing.")
    return "1 / (H * p_n): pods on crowded nodes get less each."


@_exercise("5.2", "configure", "A load balancer that evens out Local",
           "The choices are in k8s.LB_MODELS; which of them looks at more than 'healthy or not'?",
           "Since 1.28 kube-proxy's health check sends X-Load-Balancing-Endpoint-Weight: the number of local endpoints.",
           "'weighted' (or a pod-targeting load balancer that preserves the client IP).")
def lb_for_even_shares(answer: Any) -> str:
    if not isinstance(answer, (str, LoadBalancer)):
        raise _Mistake("answer with a load-balancer model name such as 'equal', or a k8s.LoadBalancer(...).")
    if isinstance(answer, str) and answer not in LB_MODELS:
        raise _Mistake(f"{answer!r} is not a model; the models are {', '.join(LB_MODELS)}.")
    frame = traffic(_local_uneven(), "web", lb=answer)
    shares = list(frame.share)
    if frame.attrs["dropped"] > 0:
        raise _Mistake("this load balancer sends traffic to a node without pods, and Local drops it there.")
    if max(shares) - min(shares) > 1e-9:
        raise _Mistake("this load balancer still splits per node, so the pods on node-a get half as much as web-3.")
    if (frame.client_ip_kept < 1).any():
        raise _Mistake("the shares are even, but the pods no longer see the client: a load balancer that targets "
                       "pods directly proxies unless client-IP preservation is on.")
    return "each node is weighted by its local endpoints, so every pod gets the same share and keeps the client IP."


# ---------------------------------------------------------------------------- 06 spreading pods
def _even_local(c: Cluster, replicas: int) -> str:
    if c.service("web").external_traffic_policy != "Local":
        raise _Mistake("keep externalTrafficPolicy: Local: the requirement is the client IP as well as the balance.")
    web = [p for p in c.selected_pods("web") if p.status == "Running"]
    if len(web) != replicas:
        raise _Mistake(f"the Service should have {replicas} ready pods; it has {len(web)}.")
    frame = traffic(c, "web")
    shares = list(frame.share)
    if frame.attrs["dropped"] > 0:
        raise _Mistake("some traffic is dropped.")
    if max(shares) - min(shares) > 1e-9:
        raise _Mistake("the health-checked load balancer splits per node with pods; the nodes that hold pods "
                       "must all hold the same number of them.")
    return "with the same number of pods on every node that has any, per-node balancing is per-pod balancing."


@_exercise("6.1", "configure", "Even shares by placement",
           "Under Local each node with pods gets the same share. What layout of 3 pods makes that even per pod?",
           "Every node with pods must have the same number of them.",
           "Move a pod off node-a to the empty node.")
def even_by_placement(answer: Any) -> str:
    c = _cluster(answer)
    _unchanged(c, _local_uneven())
    return _even_local(c, 3)


@_exercise("6.2", "configure", "Scale out evenly",
           "cluster.scale('web', n) places new pods on the ready node with the fewest web pods.",
           "How many pods on 3 nodes make the count per node equal, and is 6 such a number?",
           "cluster.scale('web', 6), then check the layout.")
def scale_evenly(answer: Any) -> str:
    c = _cluster(answer)
    _unchanged(c, _local_uneven())
    return _even_local(c, 6) + " Spreading (the scheduler's default, or topologySpreadConstraints) does this for you."


# --------------------------------------------------------------------------- 07 inside the cluster
@_exercise("7.1", "predict", "Pod to ClusterIP: the source address",
           "In-cluster traffic to a ClusterIP is DNATed to a pod. Is it also masqueraded?",
           "KUBE-MARK-MASQ is used for ClusterIP traffic only from sources outside the pod CIDR (and for hairpin).",
           "The client is a pod, inside the pod CIDR.")
def in_cluster_source(answer: Any) -> str:
    c = examples.in_cluster()
    want = send(c, "web", client="client", address="clusterIP", endpoint="web-1", seed=1).source_seen_by_pod
    got = _ip(answer)
    if got == want:
        return "pod -> ClusterIP is DNATed but not SNATed in iptables/nftables mode: the server sees the client pod's IP."
    node = c.node(c.pod("client").node)
    if got in (node.ip, node.bridge_ip) or got in {n.ip for n in c.nodes}:
        raise _Mistake("in-cluster traffic via the ClusterIP is not SNATed in the default kube-proxy setup; "
                       "only sources outside the pod CIDR, hairpin traffic or --masquerade-all are.")
    raise _Mistake("that address does not take part in this connection; who opens it?")


@_exercise("7.2", "predict", "In-cluster clients and a Local LoadBalancer",
           "An external client reaching node-c would be dropped there: it has no web pod. Is a pod on node-c an external client?",
           "kube-proxy short-circuits traffic from pods to a LoadBalancer IP: it never goes out to the load balancer.",
           "Short-circuited traffic uses the Service's endpoints as if the policy were Cluster.")
def in_cluster_lb_local(answer: Any) -> str:
    c = examples.in_cluster()
    c.patch_service("web", external_traffic_policy="Local")
    reach = {
        p.name for p in c.selected_pods("web")
        if send(c, "web", client="client", address="loadBalancerIP", endpoint=p.name, seed=1).delivered
    }
    if isinstance(answer, str) or not hasattr(answer, "__iter__"):
        raise _Mistake("answer with a set of pod names, e.g. {'web-1'} (or an empty set).")
    got = {str(x) for x in answer}
    if not got:
        raise _Mistake("testing from inside the cluster does not show what external clients get: kube-proxy "
                       "short-circuits a pod's traffic to the LoadBalancer IP, so node-c's lack of pods does not drop it.")
    if got != reach:
        raise _Mistake("the short-circuit does not restrict the choice to some nodes.")
    return "the in-cluster client gets Cluster-like behaviour; only an external client through node-c is dropped."


@_exercise("7.3", "debug", "The client that cannot reach web",
           "Send from 'client' and read the trace's reason.",
           "internalTrafficPolicy: Local keeps ClusterIP traffic on the client's node, and drops it if there is no endpoint there.",
           "Either set internal_traffic_policy back to 'Cluster', or give node-c a web pod.")
def fix_internal_policy(answer: Any) -> str:
    c = _cluster(answer)
    start = examples.in_cluster()
    start.patch_service("web", internal_traffic_policy="Local")
    _unchanged(c, start)
    if "client" not in {p.name for p in c.pods}:
        raise _Mistake("keep the client pod: the task is to make its requests work.")
    t = send(c, "web", client="client", address="clusterIP", seed=1)
    if not t.delivered:
        raise _Mistake(f"the client still cannot reach web: {t.reason}")
    how = ("the policy is Cluster again" if c.service("web").internal_traffic_policy != "Local"
           else "the client's node now has an endpoint")
    return f"{how}. internalTrafficPolicy: Local drops traffic from nodes without endpoints; it is not harmless."


# ------------------------------------------------------------------------------ 08 proxies
#: The bytes a proxy sent first on a connection, for exercise 8.2 (a PROXY protocol v2 header).
PROXY_BYTES = bytes.fromhex("0D0A0D0A000D0A515549540A 21 11 000C CB007107 0AF40105 9CBA 1F90") + b"GET / HTTP/1.1\r\n"

#: A request's path through three proxies, for exercise 8.3: each hop, the TCP peer it saw, the XFF it got.
_CHAIN = (
    ("cdn-edge", "198.51.100.23", ""),
    ("cloud-lb", "203.0.113.50", "198.51.100.23"),
    ("ingress", "10.0.0.7", "203.0.113.50"),
    ("app", "10.244.1.9", "203.0.113.50, 10.0.0.7"),
)


def proxy_chain() -> list[dict[str, str]]:
    """The hops of exercise 8.3: name, the TCP peer each saw, and the X-Forwarded-For it received.

    >>> proxy_chain()[0]
    {'hop': 'cdn-edge', 'peer': '198.51.100.23', 'x_forwarded_for': ''}
    """
    return [{"hop": h, "peer": p, "x_forwarded_for": x} for h, p, x in _CHAIN]


@_exercise("8.1", "compute", "The rightmost untrusted X-Forwarded-For entry",
           "If the TCP peer is not one of your proxies, do the headers mean anything?",
           "Each proxy appends the peer it saw, so the entries your proxies wrote are on the RIGHT.",
           "Walk from the right: skip trusted addresses; the first untrusted one is the client. If all are trusted, the leftmost.")
def xff_picker(answer: Any) -> str:
    trusted = ["10.0.0.0/8", "192.168.0.0/16"]
    cases = [
        ("10.0.0.5", "203.0.113.7", trusted),
        ("10.0.0.5", "1.2.3.4, 203.0.113.7", trusted),
        ("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.0.0.4", trusted),
        ("198.51.100.9", "1.2.3.4, 10.0.0.4", trusted),
        ("10.0.0.5", "10.0.0.3, 10.0.0.4", trusted),
        ("192.168.1.1", "203.0.113.9,198.51.100.2 , 192.168.3.3", trusted),
    ]
    results = [_call(answer, peer, xff, list(nets)) for peer, xff, nets in cases]
    if all(r is None for r in results):
        raise _Untouched
    for (peer, xff, nets), got in zip(cases, results):
        want = proxies.client_ip(peer, xff, trusted=nets)
        value = _ip(got, "an IP address (as a string or ipaddress object)")
        if value == want:
            continue
        where = f"for peer {peer} and X-Forwarded-For {xff!r}"
        if value == proxies.naive_client_ip(peer, xff):
            raise _Mistake(f"{where}: the leftmost entry is whatever the client wrote, so anyone can spoof it. "
                           "X-Forwarded-For is a chain; only the rightmost untrusted entry is safe.")
        if str(value) == peer:
            raise _Mistake(f"{where}: the peer is one of your proxies, so the header it added is worth reading.")
        raise _Mistake(f"{where}: walk from the right and stop at the first address that is not trusted.")
    return "trust the chain only as far as your own proxies wrote it, reading from the right."


@_exercise("8.2", "compute", "Decode a PROXY protocol header",
           "k8s.proxies.decode(data) returns (header, number of bytes it took).",
           "The header's src_addr and src_port are the client as the proxy saw it.",
           "Answer as the string 'address:port'.")
def proxy_source(answer: Any) -> str:
    header, size = proxies.decode(PROXY_BYTES)
    want = f"{header.src_addr}:{header.src_port}"
    if isinstance(answer, tuple) and len(answer) == 2:
        answer = f"{answer[0]}:{answer[1]}"
    if not isinstance(answer, str):
        raise _Mistake("answer with a string 'address:port'.")
    if answer.strip() == want:
        return f"a v2 header is 16 bytes plus its length field ({size} here); the client is its source endpoint."
    if answer.strip() == f"{header.dst_addr}:{header.dst_port}":
        raise _Mistake("that is the destination the client dialled; the client is the source.")
    if ":" not in answer:
        raise _Mistake("give the port too, as 'address:port'.")
    raise _Mistake("decode the bytes with k8s.proxies.decode rather than by eye; the addresses are in network order.")


@_exercise("8.3", "debug", "The misconfigured hop",
           "Each proxy should append the peer it saw to the X-Forwarded-For it received, and pass that on.",
           "Compare what each hop received with what the hop before it should have sent: k8s.proxies.append_xff(xff, peer).",
           "The culprit is the hop whose outgoing header lost or replaced an entry.")
def misconfigured_hop(answer: Any) -> str:
    want = None
    for here, there in itertools.pairwise(_CHAIN):
        if proxies.parse_xff(proxies.append_xff(here[2], here[1])) != proxies.parse_xff(there[2]):
            want = here[0]
            break
    names = [h for h, _, _ in _CHAIN]
    if answer not in names:
        raise _Mistake(f"answer with the name of one hop: {', '.join(names)}.")
    if answer == want:
        return "it replaced the X-Forwarded-For it received instead of appending to it, so the client's address was lost."
    if answer == names[-1]:
        raise _Mistake("the app only receives; look for a proxy that sent on the wrong header.")
    raise _Mistake("that hop passed on what it should have; compare its header with the next hop's.")


_IP_MODES = ("VIP", "Proxy")


def _from_pod(ip_mode: str) -> str:
    """Exercise 8.4: what the PROXY-protocol app concludes about a pod's call to the LB IP ("broken" or an IP)."""
    from .proxychain import App, Proxy, follow

    nlb = [Proxy("NLB", LB_ADDRESS, "L4", send_proxy_protocol=True, load_balancer=True)]
    path = follow(nlb, app=App(expect_proxy_protocol=True), from_pod=True, ip_mode=ip_mode)
    return "broken" if path.broken else str(path.client_seen_by_app)


@_exercise("8.4", "predict", "A pod calls the PROXY-protocol load balancer",
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


# ---------------------------------------------------------------------------- 09 dataplanes
@_exercise("9.1", "predict", "Cilium's SNAT mode with a local backend",
           "Cilium's kube-proxy replacement in its default SNAT mode does not behave like kube-proxy here.",
           "It masquerades only when the backend is on another node.",
           "The backend web-1 runs on node-a, the receiving node.")
def cilium_snat_local(answer: Any) -> str:
    c = examples.uneven()
    t = send(c, "web", via="node-a", endpoint="web-1", dataplane="cilium-snat", seed=1)
    got = _ip(answer)
    if got == t.source_seen_by_pod:
        return "Cilium SNATs only for remote backends; kube-proxy would have masqueraded this packet too."
    kube = send(c, "web", via="node-a", endpoint="web-1", seed=1).source_seen_by_pod
    if got == kube:
        raise _Mistake("that is what kube-proxy (iptables/nftables) shows; Cilium's SNAT mode differs for local backends.")
    raise _Mistake("the packet stays on node-a; is there any reason to rewrite its source?")


@_exercise("9.2", "predict", "Which dataplanes keep the client IP under Cluster",
           "The connection enters at node-c and goes to web-3 on node-b: a remote backend.",
           "A dataplane that does not SNAT must still get the reply back to the client from the right address.",
           "Look for direct server return; a plain 'no SNAT' breaks the connection.")
def dataplanes_keep_ip(answer: Any) -> str:
    from .dataplane import DATAPLANES

    c = examples.uneven()
    traces = {dp: send(c, "web", via="node-c", endpoint="web-3", dataplane=dp, seed=1) for dp in DATAPLANES}
    want = {dp for dp, t in traces.items() if t.outcome == "delivered" and t.client_ip_kept}
    if isinstance(answer, str) or not hasattr(answer, "__iter__"):
        raise _Mistake("answer with a set of dataplane names.")
    got = {str(x) for x in answer}
    if got - set(DATAPLANES):
        raise _Mistake(f"the dataplanes are {', '.join(DATAPLANES)}.")
    broken = [dp for dp in got if traces[dp].outcome != "delivered"]
    if broken:
        raise _Mistake(f"{broken[0]} lets the pod see the client, but the reply comes from an address the client "
                       "never dialled and is discarded: the connection fails.")
    if got - want:
        raise _Mistake("kube-proxy in every mode (iptables, nftables, IPVS) SNATs external Cluster traffic, "
                       "and so does Cilium's SNAT mode for a remote backend.")
    if got != want:
        raise _Mistake("one dataplane keeps the client IP with a remote backend and still works; which one?")
    return "with DSR the backend replies straight to the client, so no SNAT is needed even with Cluster."


# ------------------------------------------------------------------------------ 10 capstone
@_exercise("10.1", "debug", "Traffic dropped behind DNS round robin",
           "Measure first: k8s.traffic(cluster, 'web', lb='equal') and its attrs['dropped'].",
           "The DNS names every node, so every node must be able to serve, and pods must see the client IP.",
           "Give node-c a pod (scale or move_pod without emptying another node), or remove the empty node.")
def fix_drops(answer: Any) -> str:
    c = _cluster(answer)
    _unchanged(c, examples.empty_node())
    frame = traffic(c, "web", lb="equal")
    if c.service("web").external_traffic_policy != "Local":
        raise _Mistake("Cluster would stop the drops but hide the client IP (kube-proxy SNATs every external packet); keep Local.")
    if frame.attrs["dropped"] > 0:
        raise _Mistake("traffic is still dropped: under Local every node the DNS names needs a ready local endpoint.")
    if (frame.client_ip_kept < 1).any():
        raise _Mistake("every pod should see the client IP.")
    return "no node lacks a local endpoint any more, so nothing reaching a node is dropped and the client IP is kept."


@_exercise("10.2", "configure", "An audit service: client IPs and fair shares",
           "Local keeps the client IP; then what decides the shares: the layout and the load balancer.",
           "4 pods on 3 nodes cannot be even per node. Change the load balancer, or the number of nodes.",
           "Local + scale to 4 + lb='weighted'; or add a fourth node and spread one pod per node.")
def audit_service(answer: Any) -> str:
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise _Mistake("answer with a pair (cluster, lb), e.g. (cluster, 'health-checked').")
    c, lb = _cluster(answer[0]), answer[1]
    if not isinstance(lb, (str, LoadBalancer)) or (isinstance(lb, str) and lb not in LB_MODELS):
        raise _Mistake(f"the load balancer is one of {', '.join(LB_MODELS)} or a k8s.LoadBalancer(...).")
    web = [p for p in c.selected_pods("web") if p.status == "Running"]
    if len(web) != 4:
        raise _Mistake(f"the audit service needs 4 ready pods; it has {len(web)}.")
    frame = traffic(c, "web", lb=lb)
    if frame.attrs["dropped"] + frame.attrs["refused"] + frame.attrs["failed"] > 0:
        raise _Mistake("some connections are lost: a node without a local endpoint receives traffic.")
    if (frame.client_ip_kept < 1).any():
        raise _Mistake("some pods do not see the client IP: under Cluster kube-proxy SNATs every external packet.")
    fair = 1 / len(web)
    if any(abs(s - fair) > 0.1 * fair for s in frame.share):
        raise _Mistake("the shares are not within 10% of fair: a per-node load balancer gives pods on crowded "
                       "nodes less each.")
    return "client IPs kept, nothing dropped, and every pod within 10% of its fair share."


@_exercise("10.3", "predict", "The pod behind a pod-targeting load balancer",
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


@_exercise("8b.1", "debug", "Which load balancer and policy wrote these logs",
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


@_exercise("8b.2", "configure", "An ingress that logs node IPs",
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
