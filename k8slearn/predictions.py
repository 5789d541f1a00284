"""Predict, then observe: the course's predictions as data, and a guess locked in before the reveal.

In a notebook::

    k8s.predict("4.1", "198.51.100.7")        # lock in a guess; it says so
    ...                                       # (the notebook's next cell:)
    t = k8s.send(c, "web", via="node-b", seed=1)
    k8s.reveal("4.1", t.source_seen_by_pod)   # You predicted 198.51.100.7; web-3 saw 198.51.100.7. Right.
    k8s.predictions.score("04")               # at the end: how many you got right, of those you made

Every prediction of the course is one entry of :data:`PREDICTIONS`: its id (``"4.1"``: notebook 04,
first prediction), the question, the kind of answer it takes (an IP address, a share, a pod's name,
yes or no, ...), a function that computes the true answer **with the simulator** (never a stored
value), and a one-line why. Self-checks written in code use the same registry
(``k8s.self_check("5.s1", answer)``) but answer at once.

Mistakes do not raise: a mistyped id, a guess of the wrong kind or a guess left as ``...`` returns a
note that says what to write instead (its ``ok`` is False). The one exception is
:class:`PredictionMismatch`: the notebook's reveal cell observed something other than what the
registry computes, which means the cell or its cluster was changed since the notebook started.

Guesses live in this Python process's memory only: nothing is written to disk or sent anywhere, and a
restarted kernel starts with none. Taught in every course notebook (notebooks/00 explains it).
"""

from __future__ import annotations

import difflib
import html
import ipaddress
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from . import examples
from .dataplane import DATAPLANES
from .dataplane.rules import render
from .errors import K8sLearnError
from .model import Cluster
from .placement import place
from .proxychain import App, Proxy, cdn_chain, follow
from .trace import send
from .traffic import metrics, sessions, traffic

__all__ = [
    "KINDS",
    "PREDICTIONS",
    "Note",
    "Prediction",
    "PredictionMismatch",
    "forget",
    "predict",
    "reveal",
    "score",
    "self_check",
    "widget",
]

SHARE_TOLERANCE = 0.01  # a guessed share within one percentage point counts as right (0.33 for 1/3)


class PredictionMismatch(K8sLearnError):
    """A reveal cell observed something other than what the registry computes for its prediction."""


class _BadGuess(Exception):
    """A guess that does not fit its prediction's kind; the message says what to write."""


# --- kinds of answers --------------------------------------------------------------------------


def _names(items: Iterable[str], joiner: str = "or") -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {joiner} " + items[-1]


def _fraction_text(x: float) -> str:
    f = Fraction(x).limit_denominator(12)
    if abs(float(f) - x) > 1e-9:
        return f"{x:.1%}".replace("%", " %")
    if f in (0, 1):
        return str(f)
    return f"{f} ({float(f):.0%})".replace("%", " %")


@dataclass(frozen=True, slots=True)
class _Kind:
    """How one kind of answer is parsed, compared and shown."""

    name: str          # "ip"
    wants: str         # "an IP address"
    example: str       # '"192.0.2.1"'
    parse: Callable[[Any, tuple[str, ...], Any], Any]   # (guess, options, answer) -> normalised
    same: Callable[[Any, Any, float], bool]             # (a, b, share tolerance)
    show: Callable[[Any], str]


def _parse_ip(value: Any, options: tuple[str, ...], answer: Any) -> Any:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if isinstance(value, str):
        try:
            return ipaddress.ip_address(value.strip())
        except ValueError:
            pass
        if re.fullmatch(r"[a-z][\w-]*", value.strip()):
            raise _BadGuess(f'"{value}" is a name, not an address: write the IP address itself, in quotes, '
                            f'such as "192.0.2.1" (the addresses are printed above).')
    raise _BadGuess(f"{value!r} is not an IP address: write one in quotes, such as \"192.0.2.1\".")


def _parse_share(value: Any, options: tuple[str, ...] = (), answer: Any = None) -> float:
    if isinstance(value, bool):
        raise _BadGuess(f"{value!r} is not a share: write a number from 0 to 1, such as 0.25, \"1/4\" or \"25%\".")
    if isinstance(value, numbers.Real):
        x = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            if text.endswith("%"):
                x = float(text[:-1]) / 100
            elif "/" in text:
                x = float(Fraction(text))
            else:
                x = float(text)
        except (ValueError, ZeroDivisionError):
            raise _BadGuess(f"{value!r} is not a share: write a number from 0 to 1, such as 0.25, \"1/4\" "
                            f"or \"25%\".") from None
    else:
        raise _BadGuess(f"{value!r} is not a share: write a number from 0 to 1, such as 0.25, \"1/4\" or \"25%\".")
    if not 0 <= x <= 1:
        raise _BadGuess(f"{value!r} is outside 0 to 1: a share is a fraction of all connections, such as 0.25 "
                        f"(or \"25%\").")
    return x


def _items(value: Any, what: str) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, str):
        pairs = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, val = part.partition(":") if ":" in part else part.partition("=")
            if not sep:
                raise _BadGuess(f'write {what} as a dict, such as {{"web-1": 0.5, "web-2": 0.5}}, '
                                f'or as text "web-1: 1/2, web-2: 1/2".')
            pairs.append((key.strip().strip("'\""), val.strip()))
        return pairs
    raise _BadGuess(f'{value!r}: write {what} as a dict, such as {{"web-1": 0.5, "web-2": 0.5}}.')


def _check_keys(keys: list[str], expected: Iterable[str], noun: str) -> None:
    expected = list(expected)
    unknown = [k for k in keys if k not in expected]
    if unknown:
        close = difflib.get_close_matches(unknown[0], expected, n=1)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        raise _BadGuess(f'There is no {noun} "{unknown[0]}" here: the {noun}s are {_names(expected, "and")}.{hint}')
    missing = [k for k in expected if k not in keys]
    if missing:
        raise _BadGuess(f"Give a value for every {noun}: {_names(expected, 'and')} (missing: {_names(missing, 'and')}).")


def _parse_shares(value: Any, options: tuple[str, ...], answer: Mapping[str, float]) -> dict[str, float]:
    pairs = _items(value, "the shares")
    _check_keys([k for k, _ in pairs], answer, options[0] if options else "name")
    return {k: _parse_share(v) for k, v in pairs}


def _same_shares(a: Mapping[str, float], b: Mapping[str, float], tol: float) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= tol for k in a)


def _show_shares(value: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {_fraction_text(v)}" for k, v in value.items())


def _parse_count(value: Any, options: tuple[str, ...] = (), answer: Any = None) -> int:
    if isinstance(value, bool):
        raise _BadGuess(f"{value!r} is not a count: write a whole number, such as 3.")
    if isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and float(value).is_integer()):
        n = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    else:
        raise _BadGuess(f"{value!r} is not a count: write a whole number, such as 3.")
    if n < 0:
        raise _BadGuess(f"{value!r}: a count cannot be negative.")
    return n


def _parse_counts(value: Any, options: tuple[str, ...], answer: Mapping[str, int]) -> dict[str, int]:
    pairs = _items(value, "the counts")
    _check_keys([k for k, _ in pairs], answer, options[0] if options else "name")
    return {k: _parse_count(v) for k, v in pairs}


def _pick(value: Any, options: tuple[str, ...], *, loose: bool) -> str:
    if not isinstance(value, str):
        raise _BadGuess(f"{value!r}: write one of {_names(repr(o) for o in options)}, in quotes.")
    text = value.strip().lower()
    exact = [o for o in options if o.lower() == text]
    if exact:
        return exact[0]
    if loose and text:
        partial = [o for o in options if text in o.lower()]
        if len(partial) == 1:
            return partial[0]
    close = difflib.get_close_matches(value.strip(), options, n=1)
    hint = f' Did you mean "{close[0]}"?' if close else ""
    raise _BadGuess(f'"{value}" is not one of the choices: {_names(repr(o) for o in options)}.{hint}')


def _parse_name(value: Any, options: tuple[str, ...], answer: Any = None) -> str:
    return _pick(value, options, loose=False)


def _parse_choice(value: Any, options: tuple[str, ...], answer: Any = None) -> str:
    return _pick(value, options, loose=True)


def _parse_names(value: Any, options: tuple[str, ...], answer: Any = None) -> frozenset[str]:
    if isinstance(value, str):
        if value.strip().lower() in ("", "none", "nothing", "no one"):
            return frozenset()
        value = [v for v in re.split(r"[,;]", value) if v.strip()]
    if isinstance(value, (set, frozenset, list, tuple)):
        return frozenset(_pick(str(v), options, loose=False) for v in value)
    raise _BadGuess(f'{value!r}: write a set of names, such as {{"{options[0]}"}}, or "none".')


def _show_names(value: frozenset[str]) -> str:
    return ", ".join(sorted(value)) if value else "none"


def _parse_yes_no(value: Any, options: tuple[str, ...] = (), answer: Any = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("yes", "y", "true"):
            return True
        if text in ("no", "n", "false"):
            return False
    raise _BadGuess(f'{value!r}: answer "yes" or "no" (or True / False).')


def _parse_path(value: Any, options: tuple[str, ...], answer: Any = None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in re.split(r"→|->|,", value) if v.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise _BadGuess(f'{value!r}: write the places in order, as a list such as ["client", "load balancer", ...].')
    return tuple(_pick(str(v), options, loose=False) for v in value)


def _equal(a: Any, b: Any, tol: float) -> bool:
    return a == b


KINDS: dict[str, _Kind] = {k.name: k for k in (
    _Kind("ip", "an IP address", '"192.0.2.1"', _parse_ip, _equal, str),
    _Kind("share", "a share from 0 to 1", '0.25, "1/4" or "25%"', _parse_share,
          lambda a, b, tol: abs(a - b) <= tol, _fraction_text),
    _Kind("shares", "a share for each {noun}, as a dict", '{"web-1": 0.5, "web-2": 0.5}', _parse_shares,
          _same_shares, _show_shares),
    _Kind("counts", "a count for each {noun}, as a dict", '{"node-a": 1, "node-b": 2}', _parse_counts, _equal,
          lambda v: ", ".join(f"{k} {n}" for k, n in v.items())),
    _Kind("count", "a whole number", "3", _parse_count, _equal, str),
    _Kind("name", "one name", "", _parse_name, _equal, str),  # no example: it would be one of the options
    _Kind("names", "a set of names (or \"none\")", '{"node-a", "node-b"}', _parse_names, _equal, _show_names),
    _Kind("choice", "one of the choices", "", _parse_choice, _equal, str),
    _Kind("yes/no", '"yes" or "no"', "", _parse_yes_no, _equal, lambda v: "yes" if v else "no"),
    _Kind("path", "a list of places, in order", '["client", "load balancer", "node-a"]', _parse_path, _equal,
          lambda v: " → ".join(v)),
)}


# --- the registry --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prediction:
    """One prediction (or code self-check) of the course.

    >>> PREDICTIONS["4.1"]
    Prediction(id='4.1', question='Under Local, the load balancer hands the connection to node-b: which source address does web-3 see?', kind='ip', options=(), self_check=False)
    >>> PREDICTIONS["4.1"].answer()
    IPv4Address('198.51.100.7')

    ``compute`` asks the simulator for the true answer; ``outcome`` words it (``"web-3 saw {}"``);
    ``why`` is the one-line reason shown with the reveal. ``options`` are the valid names or choices
    for the kinds that take them (for ``shares`` and ``counts``: the noun of the keys, e.g. "pod").
    """

    id: str
    question: str
    kind: str
    compute: Callable[[], Any] = field(repr=False)
    outcome: str = field(repr=False)
    why: str = field(repr=False)
    options: tuple[str, ...] = ()
    self_check: bool = False

    @property
    def notebook(self) -> str:
        """The notebook the prediction belongs to: "4.1" -> "04", "4b.2" -> "04b", "10.1" -> "10"."""
        return _notebook_of(self.id)

    def answer(self) -> Any:
        """The true answer, computed by the simulator (and normalised to the kind's form)."""
        if self.id not in _ANSWERS:
            raw = self.compute()
            _ANSWERS[self.id] = _normalise(self, raw)
        return _ANSWERS[self.id]

    def parse(self, value: Any) -> Any:
        """A guess in its normalised form; raises ``_BadGuess`` with a sentence when it does not fit."""
        return KINDS[self.kind].parse(value, self.options, self.answer() if self.kind in ("shares", "counts") else None)

    def show(self, value: Any) -> str:
        return KINDS[self.kind].show(value)

    def summary(self) -> str:
        return f"{self.id}: {self.question} ({KINDS[self.kind].wants})"


PREDICTIONS: dict[str, Prediction] = {}
_ANSWERS: dict[str, Any] = {}


def _notebook_of(pid: str) -> str:
    m = re.fullmatch(r"(\d+)([a-z]?)\..*", pid)
    return f"{int(m.group(1)):02d}{m.group(2)}" if m else ""


def _normalise(p: Prediction, raw: Any) -> Any:
    if p.kind == "shares":
        return {str(k): float(v) for k, v in raw.items()}
    if p.kind == "counts":
        return {str(k): int(v) for k, v in raw.items()}
    try:
        return KINDS[p.kind].parse(raw, p.options, None)
    except _BadGuess as err:  # a course bug: the simulator's answer does not fit the declared kind
        raise K8sLearnError(f"prediction {p.id}: the simulator's answer {raw!r} does not fit its kind "
                            f"{p.kind!r}: {err}") from None


def _prediction(pid: str, question: str, kind: str, *, outcome: str, why: str,
                options: Iterable[str] = (), self_check: bool = False) -> Callable:
    def register(compute: Callable[[], Any]) -> Callable[[], Any]:
        if pid in PREDICTIONS:
            raise ValueError(f"prediction {pid} is defined twice")
        PREDICTIONS[pid] = Prediction(pid, question, kind, compute, outcome, why, tuple(options), self_check)
        return compute
    return register


_PLACES = ("client", "load balancer", "node-a", "node-b", "node-c", "web-1", "web-2", "web-3")
_PODS = ("web-1", "web-2", "web-3")
_NODES = ("node-a", "node-b", "node-c")
_OUTCOMES = ("delivered", "refused", "dropped")


def _shares_of(frame: Any) -> dict[str, float]:
    return {row.pod: float(row.share) for row in frame.itertuples()}


# 00 · Start here

@_prediction("0.1", "The load balancer hands the connection to node-c: which source IP does the pod see?", "ip",
             outcome="the pod saw {}",
             why="Under the default externalTrafficPolicy: Cluster, kube-proxy on node-c masquerades (SNATs) "
                 "every external connection, so the pod sees node-c's address, not the client's.")
def _p0_1() -> Any:
    return send(examples.uneven(), "web", via="node-c", seed=1).source_seen_by_pod


# 01 · Pods, nodes and services

@_prediction("1.1", "Can a client outside the cluster (198.51.100.7) send to the ClusterIP Service db?", "yes/no",
             outcome="the simulator's answer: {}",
             why="A ClusterIP is reachable only from inside the cluster; make db a NodePort or LoadBalancer "
                 "Service to reach it from outside.")
def _p1_1() -> Any:
    cluster = examples.uneven()
    cluster.add_service("db", type="ClusterIP", selector={"app": "web"})
    try:
        send(cluster, "db", client="198.51.100.7")
    except K8sLearnError as err:  # the API server's "not reachable from outside", in the simulator
        refusal: K8sLearnError | None = err
    else:
        refusal = None
    return refusal is None


@_prediction("1.2", "web-3 is terminating (still passing its readiness probe), web-2 fails its probe: which of the "
             "two endpoints are still serving?", "names", options=("web-2", "web-3"),
             outcome="serving: {}",
             why="serving means 'passes its readiness probe', terminating or not: web-3 still does; web-2 "
                 "does not, so it is neither ready nor serving.")
def _p1_2() -> Any:
    cluster = examples.uneven()
    cluster.set_pod("web-3", terminating=True)
    cluster.set_pod("web-2", ready=False)
    return {e.pod for e in cluster.endpoints("web") if e.serving and e.pod in ("web-2", "web-3")}


# 02 · Into the cluster

def _p2_trace() -> Any:
    return send(examples.uneven(), "web", client="198.51.100.7", via="node-c", seed=1)


@_prediction("2.1", "Which places does the request pass, in order, from the client to web-2?", "path",
             options=_PLACES, outcome="the request went {}",
             why="node-c has no web pod, so after its DNAT it forwards the packet over the pod network to "
                 "node-a, where web-2 runs.")
def _p2_1() -> Any:
    return _p2_trace().path


@_prediction("2.2", "A client dials node-b's NodePort and kube-proxy picks web-3, which runs on node-b itself: "
             "is the packet still SNAT'd?", "yes/no", outcome="SNAT: {}",
             why="KUBE-EXT marks every external packet for masquerade before an endpoint is picked, so even a "
                 "pod on the receiving node sees a node address.")
def _p2_2() -> Any:
    return send(examples.uneven(), "web", address="nodePort", via="node-b", endpoint="web-3", seed=3).snat


@_prediction("2.s1", "Which places does web-2's reply pass, in order, back to the client?", "path",
             options=_PLACES, outcome="the reply went {}", self_check=True,
             why="node-c did the NAT and holds the conntrack entry, so the reply must come back through "
                 "node-c, which undoes both rewrites.")
def _p2_s1() -> Any:
    return _p2_trace().reply_path


# 03 · externalTrafficPolicy: Cluster

@_prediction("3.1", "Under Cluster, with pods 2 / 1 / 0, what share of all connections does each pod get?",
             "shares", options=("pod",), outcome="the shares were {}",
             why="Every node picks uniformly among all endpoints, wherever they run, so each of the three pods "
                 "gets a third.")
def _p3_1() -> Any:
    return _shares_of(traffic(examples.uneven(), "web"))


@_prediction("3.2", "A connection enters node-a and is sent to web-1, on node-a itself: which source IP does "
             "web-1 see?", "ip", outcome="web-1 saw {}",
             why="kube-proxy SNATs every external packet under Cluster; leaving toward a local pod, the "
                 "packet takes node-a's bridge address.")
def _p3_2() -> Any:
    return send(examples.uneven(), "web", via="node-a", endpoint="web-1", seed=1).source_seen_by_pod


@_prediction("3.3", "With a third of the traffic on each node, what fraction of all connections takes the "
             "extra hop?", "share", outcome="the extra-hop share was {}",
             why="Node n forwards 1 - p_n/P of its traffic: 1/3, 2/3 and 1 for pods 2 / 1 / 0, which "
                 "averages 2/3.")
def _p3_3() -> Any:
    return metrics(examples.uneven(), "web").loc[0, "extra_hop"]


@_prediction("3.4", "100 different clients connect once each: how many different source addresses do the pods "
             "see?", "count", outcome="the pods saw {} addresses",
             why="After the SNAT only node addresses remain: the three node IPs, and the bridge addresses of "
                 "the two nodes that have pods.")
def _p3_4() -> Any:
    cluster = examples.uneven()
    return len({send(cluster, "web", client=f"198.51.100.{i}", seed=i).source_seen_by_pod for i in range(1, 101)})


@_prediction("3.s1", "Four nodes with one pod each, Cluster: what fraction of connections takes the extra hop?",
             "share", outcome="the extra-hop share was {}", self_check=True,
             why="With one pod per node, p_n/P = 1/4 on every node, so 1 - 1/4 = 3/4 of the traffic crosses "
                 "to another node.")
def _p3_s1() -> Any:
    return metrics(examples.balanced(4), "web").loc[0, "extra_hop"]


# 04 · externalTrafficPolicy: Local

@_prediction("4.1", "Under Local, the load balancer hands the connection to node-b: which source address does "
             "web-3 see?", "ip", outcome="web-3 saw {}",
             why="Local sends external traffic only to endpoints on the receiving node, so no second hop, no "
                 "SNAT: only the DNAT happens.")
def _p4_1() -> Any:
    return send(examples.uneven(external_traffic_policy="Local"), "web", via="node-b", seed=1).source_seen_by_pod


@_prediction("4.2", "Under Local, a load balancer without health checks sends a connection to node-c, which "
             "runs no web pod: delivered, refused or dropped?", "choice", options=_OUTCOMES,
             outcome="the connection was {}",
             why="node-c has no local endpoint, so a filter rule DROPs the packet: no reply, no reset; the "
                 "client times out.")
def _p4_2() -> Any:
    return send(examples.empty_node(), "web", via="node-c", lb="equal", seed=1).outcome


# 04b · Local in practice

def _p4b_rolling() -> Any:
    cluster = examples.one_two()
    cluster.set_pod("web-1", terminating=True)
    return cluster


@_prediction("4b.1", "web-1, node-a's only endpoint, is terminating but still serving: what happens to a "
             "connection the load balancer still sends to node-a?", "choice", options=_OUTCOMES,
             outcome="the connection was {}",
             why="With no ready local endpoint, kube-proxy falls back to the node's serving-terminating "
                 "endpoints (on by default since 1.26) instead of dropping.")
def _p4b_1() -> Any:
    return send(_p4b_rolling(), "web", via="node-a", seed=1).outcome


@_prediction("4b.s1", "web-1 is terminating; what share does each pod get from a health-checked load balancer?",
             "shares", options=("pod",), outcome="the shares were {}", self_check=True,
             why="node-a answers 503 at once (terminating endpoints are not counted), so node-b takes all the "
                 "traffic and splits it over its two ready pods.")
def _p4b_s1() -> Any:
    return _shares_of(traffic(_p4b_rolling(), "web"))


# 05 · Imbalance

@_prediction("5.1", "Local, web-1 alone on node-a, web-2 and web-3 on node-b: what share does each pod get?",
             "shares", options=("pod",), outcome="the shares were {}",
             why="The load balancer gives each healthy node half; node-b splits its half over two pods: "
                 "1 / (H · p_n).")
def _p5_1() -> Any:
    return _shares_of(traffic(examples.one_two(), "web"))


@_prediction("5.s1", "The uneven cluster (pods 2 / 1 / 0) with Local: what share does each pod get?", "shares",
             options=("pod",), outcome="the shares were {}", self_check=True,
             why="H = 2 healthy nodes: web-1 and web-2 share node-a's half (1/4 each), web-3 has node-b's half "
                 "to itself.")
def _p5_s1() -> Any:
    return _shares_of(traffic(examples.uneven(external_traffic_policy="Local"), "web"))


# 06 · Spreading pods

@_prediction("6.1", "Scaling web from 3 to 4 replicas (pods 2 / 1 / 0), which node does the new pod land on?",
             "name", options=_NODES, outcome="the scheduler put it on {}",
             why="The default soft spread scores nodes with fewer matching pods higher, and node-c has none.")
def _p6_1() -> Any:
    cluster = examples.uneven(external_traffic_policy="Local")
    plan = place(cluster, "web", 4)
    return plan.node_of(plan.new[0])


@_prediction("6.2", "Three empty nodes, 4 replicas, required pod anti-affinity: how many replicas stay Pending?",
             "count", outcome="{} stayed Pending",
             why="Required anti-affinity on the hostname allows one matching pod per node: three nodes, three "
                 "pods, the fourth waits.")
def _p6_2() -> Any:
    empty = Cluster.from_layout([0, 0, 0], external_traffic_policy="Local")
    return len(place(empty, "web", 4, anti_affinity="required").pending)


# 07 · Inside the cluster

@_prediction("7.1", "The pod client (on node-c) calls web's ClusterIP and gets web-3 on node-b: which source IP "
             "does web-3 see?", "ip", outcome="web-3 saw {}",
             why="kube-proxy marks ClusterIP traffic for masquerade only when the source is outside the pod "
                 "range; a pod's packet is only DNAT'd.")
def _p7_1() -> Any:
    return send(examples.in_cluster(), "web", client="client", endpoint="web-3", seed=1).source_seen_by_pod


@_prediction("7.2", "trafficDistribution: PreferSameZone, a client pod on every node: which pod gets the most "
             "traffic?", "name", options=_PODS, outcome="{} got the most",
             why="web-3 is the only pod in zone-b, so it takes both zone-b nodes' calls, half of all traffic.")
def _p7_2() -> Any:
    z = examples.zones()
    z.patch_service("web", traffic_distribution="PreferSameZone")
    shares = _shares_of(traffic(z, "web", clients="pods"))
    return max(shares, key=shares.get)


@_prediction("7.s1", "Under externalTrafficPolicy: Local, what fraction of in-cluster calls to the load-balancer "
             "IP keep the client pod's IP?", "share", outcome="the share kept was {}", self_check=True,
             why="Pod traffic to a Local service's external address is short-circuited to all endpoints and "
                 "never masqueraded.")
def _p7_s1() -> Any:
    cluster = examples.in_cluster()
    cluster.patch_service("web", external_traffic_policy="Local")
    return metrics(cluster, "web", clients="pods", address="loadBalancerIP").loc[0, "client_ip_kept"]


# 08 · Proxies and headers

@_prediction("8.1", "CDN, load balancer, ingress, app; the app trusts nobody: which address does it log?", "ip",
             outcome="the app logged {}",
             why="An app that trusts no proxy takes its TCP peer, and after the ingress that is the ingress "
                 "pod.")
def _p8_1() -> Any:
    return follow(cdn_chain(), app=App()).client_seen_by_app


@_prediction("8.2", "The L4 load balancer starts sending PROXY headers; the app was not told: does the next "
             "request still get through?", "yes/no", outcome="gets through: {}",
             why="An app that does not expect a PROXY header reads it as the start of the request and rejects "
                 "it: both ends must switch together.")
def _p8_2() -> Any:
    nlb = [Proxy("NLB", "192.168.255.10", "L4", send_proxy_protocol=True, load_balancer=True)]
    return not follow(nlb, app=App()).broken


# 08b · What depends on the client IP

_PARTNERS = "198.51.100.0/24"


def _p8b_allow_list() -> Cluster:
    """The uneven cluster (Cluster) with a NetworkPolicy that admits only the partner network."""
    cluster = examples.uneven()
    cluster.add_network_policy("partners-only", pod_selector={"app": "web"},
                               ingress=[{"from": [{"ipBlock": {"cidr": _PARTNERS}}]}])
    return cluster


@_prediction("8b.1", "Behind the AWS Classic ELB, with externalTrafficPolicy: Local, which source address does "
             "the pod see?", "ip", outcome="the pod saw {}",
             why="The Classic ELB is a proxy, TCP listeners included: it opens its own connection to the node, "
                 "so Local keeps the ELB's address, not the client's.")
def _p8b_1() -> Any:
    return send(examples.two_zones(), "web", lb="aws-elb", seed=1).source_seen_by_pod


@_prediction("8b.2", "loadBalancerSourceRanges admits only 198.51.100.0/24; a pod in the cluster dials the "
             "load-balancer IP: delivered, refused or dropped?", "choice", options=_OUTCOMES,
             outcome="the connection was {}",
             why="kube-proxy checks every packet to the LB IP against the ranges before any NAT, pods' own too: "
                 "10.244.3.5 is not in them, so KUBE-PROXY-FIREWALL drops it.")
def _p8b_2() -> Any:
    cluster = examples.in_cluster()
    cluster.patch_service("web", load_balancer_source_ranges=[_PARTNERS])
    return send(cluster, "web", client="client", address="loadBalancerIP", seed=1).outcome


@_prediction("8b.3", "A NetworkPolicy admits only 198.51.100.0/24; under Cluster a partner reaches node-c and "
             "kube-proxy picks web-3 on node-b: delivered, refused or dropped?", "choice", options=_OUTCOMES,
             outcome="the connection was {}",
             why="The policy is applied at the pod, after kube-proxy's SNAT: web-3 is offered node-c's address, "
                 "which the ipBlock does not admit.")
def _p8b_3() -> Any:
    return send(_p8b_allow_list(), "web", via="node-c", endpoint="web-3", seed=1).outcome


@_prediction("8b.4", "sessionAffinity: ClientIP behind the AWS Classic ELB: 20 clients connect; how many different "
             "source addresses do the nodes key their affinity on?", "count", outcome="the nodes keyed on {}",
             why="kube-proxy keys affinity on the source the node sees, and behind a proxy that is the proxy's "
                 "address for every client.")
def _p8b_4() -> Any:
    cluster = examples.balanced(3)
    cluster.patch_service("web", session_affinity="ClientIP")
    seen = sessions(cluster, "web", seed=1, lb="aws-elb", clients=20, connections=5)["key_seen_by_nodes"]
    return len({key for keys in seen for key in keys.split(", ")})


@_prediction("8b.s1", "Cluster, the partners-only NetworkPolicy, a health-checked load balancer: what share of a "
             "partner's connections is delivered?", "share", outcome="the share delivered was {}", self_check=True,
             why="Only connections served on the node they entered pass, as traffic from the node itself; "
                 "the others arrive from another node's address and are dropped.")
def _p8b_s1() -> Any:
    return metrics(_p8b_allow_list(), "web").loc[0, "delivered"]


# 09 · Dataplanes compared

@_prediction("9.1", "Under Cluster on the uneven cluster, which dataplanes keep the client IP on every delivered "
             "connection?", "names", options=tuple(DATAPLANES), outcome="kept on every delivered connection: {}",
             why="Cilium DSR never masquerades; no-snat never does either, but delivers only the local third "
                 "(the rest fail), which all keep it.")
def _p9_1() -> Any:
    c = examples.uneven()
    return {dp for dp in DATAPLANES if metrics(c, "web", dataplane=dp).loc[0, "client_ip_kept"] == 1}


@_prediction("9.2", "Local, a client pod on every node dials the load-balancer IP: which dataplane spreads these "
             "calls differently (fewer extra hops)?", "name", options=tuple(DATAPLANES),
             outcome="{} did", why="IPVS has no short-circuit: pods reach their node's own endpoints, and only "
                                   "node-c, with none, falls back to all of them.")
def _p9_2() -> Any:
    c = examples.uneven(external_traffic_policy="Local")
    hops = {dp: metrics(c, "web", clients="pods", address="loadBalancerIP", dataplane=dp).loc[0, "extra_hop"]
            for dp in DATAPLANES}
    return min(hops, key=hops.get)


@_prediction("9.s1", "Cilium SNAT mode, Cluster, the uneven cluster: what fraction of delivered connections keep "
             "the client IP?", "share", outcome="the share kept was {}", self_check=True,
             why="Cilium masquerades only when the backend is on another node; one connection in three is "
                 "served on the node it entered.")
def _p9_s1() -> Any:
    return metrics(examples.uneven(), "web", dataplane="cilium-snat").loc[0, "client_ip_kept"]


# 10 · Capstone

@_prediction("10.1", "With no spread rule, where does the scheduler's default soft spread put six pods on the "
             "three nodes (a fresh rollout)?", "counts", options=("node",), outcome="the scheduler placed {}",
             why="The default spread scores nodes with fewer matching pods higher, so six pods land 2 / 2 / 2; "
                 "but it never refuses, so later failures can skew it.")
def _p10_1() -> Any:
    return place(examples.uneven(external_traffic_policy="Local"), "web", 6, keep_existing=False).counts


# 11 · Real-cluster lab

@_prediction("11.1", "Under Local, node-c has no web pod: which iptables target do its 'has no local endpoints' "
             "rules use?", "choice", options=("ACCEPT", "DROP", "REJECT", "MASQUERADE"),
             outcome="the rules jump to {}",
             why="kube-proxy drops external traffic silently on a node without local endpoints (REJECT is for a "
                 "service with no endpoints at all).")
def _p11_1() -> Any:
    rules = render(examples.uneven(external_traffic_policy="Local"), "node-c").splitlines()
    targets = {line.rsplit("-j ", 1)[1] for line in rules if "has no local endpoints" in line}
    if len(targets) != 1:
        raise K8sLearnError(f"prediction 11.1: expected one target, found {sorted(targets)}")
    return targets.pop()


# --- what the learner did in this kernel ---------------------------------------------------------


@dataclass(slots=True)
class _Record:
    guess: Any = None
    made: bool = False          # locked in before the reveal
    revealed: bool = False
    right: bool | None = None


_STATE: dict[str, _Record] = {}


def forget() -> None:
    """Forget every guess and reveal of this session (as a restarted kernel would)."""
    _STATE.clear()


# --- notes: what a call shows ---------------------------------------------------------------------

_COLOURS = {"right": "#009E73", "wrong": "#D55E00", "info": "#0072B2", "waiting": "#888888", "problem": "#E69F00"}
_MARKS = {"right": "✔ ", "wrong": "✘ ", "problem": "⚠ "}


@dataclass(frozen=True, slots=True)
class Note:
    """What ``predict``, ``reveal``, ``self_check`` and ``score`` show: a styled box, text for a terminal.

    ``tone`` is right / wrong / info / waiting / problem; ``ok`` is False when the call did nothing
    because something was wrong with it (a mistyped id, a guess of the wrong kind).
    """

    tone: str
    title: str
    lines: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    header: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.tone != "problem"

    def __str__(self) -> str:
        out = [_MARKS.get(self.tone, "") + self.title, *(f"  {line}" for line in self.lines)]
        if self.rows:
            widths = [max(len(r[i]) for r in (self.header, *self.rows)) for i in range(len(self.header))]
            out += ["  " + "  ".join(h.ljust(w) for h, w in zip(self.header, widths)).rstrip()]
            out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in self.rows]
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = _COLOURS.get(self.tone, _COLOURS["info"])
        body = "".join(f"<div style='margin-top:2px'>{html.escape(line)}</div>" for line in self.lines)
        if self.rows:
            head = "".join(f"<th style='text-align:left;padding:1px 10px 1px 0'>{html.escape(h)}</th>" for h in self.header)
            rows = "".join("<tr>" + "".join(f"<td style='text-align:left;padding:1px 10px 1px 0'>{html.escape(c)}</td>"
                                             for c in r) + "</tr>" for r in self.rows)
            body += f"<table style='margin-top:4px;border-collapse:collapse'><tr>{head}</tr>{rows}</table>"
        title = html.escape(_MARKS.get(self.tone, "") + self.title)
        return (f"<div class='k8sl-note k8sl-note-{self.tone}' style='border-left:4px solid {colour};"
                f"padding:4px 10px;margin:2px 0;background:rgba(127,127,127,0.08)'>"
                f"<div style='font-weight:600'>{title}</div>{body}</div>")


def _problem(title: str, *lines: str) -> Note:
    return Note("problem", title, tuple(lines))


def _lookup(pid: Any, *, want_self_check: bool) -> Prediction | Note:
    call = "k8s.self_check" if want_self_check else "k8s.predict"
    if not isinstance(pid, str):
        return _problem(f"{pid!r} is not a prediction id.", f'Ids are short strings in quotes, such as "4.1": '
                                                              f'{call}("4.1", ...).')
    p = PREDICTIONS.get(pid.strip())
    if p is None:
        notebook = _notebook_of(pid.strip())
        same = [q.id for q in PREDICTIONS.values() if q.notebook == notebook and q.self_check == want_self_check]
        if same:
            lines = [f"Notebook {notebook}'s are {_names(same, 'and')}."]
        else:
            close = difflib.get_close_matches(pid.strip(), [q.id for q in PREDICTIONS.values()
                                                            if q.self_check == want_self_check], n=1)
            lines = [f'Did you mean "{close[0]}"?'] if close else []
            lines.append("An id is the notebook's number, a dot and a count, as in the cell's prompt, "
                         "such as \"4.1\".")
        what = "self-check" if want_self_check else "prediction"
        return _problem(f'There is no {what} "{pid}".', *lines)
    if p.self_check and not want_self_check:
        return _problem(f"{p.id} is a self-check, not a prediction.",
                        f'Answer it with k8s.self_check("{p.id}", answer).')
    if want_self_check and not p.self_check:
        return _problem(f"{p.id} is a prediction, not a self-check.",
                        f'Lock in a guess with k8s.predict("{p.id}", guess), then run its reveal.')
    return p


def _wants(p: Prediction) -> str:
    """What a prediction asks for, in words: "an IP address", "a share for each pod, as a dict"."""
    return KINDS[p.kind].wants.format(noun=p.options[0] if p.options else "name")


def _fill_in(p: Prediction, again: bool) -> str:
    if not KINDS[p.kind].example:  # the choices themselves: an example would be one of them (a hint)
        how = f"one of {_names(repr(o) for o in p.options)}, in quotes" if p.options else _wants(p)
    else:
        how = f"{_wants(p)}, such as {KINDS[p.kind].example}"
    return f"Replace ... with {how}, and run this cell{' again' if again else ''}."


# --- the calls ------------------------------------------------------------------------------------


def predict(prediction: str, guess: Any = ...) -> Note:
    """Lock in a guess for a prediction, before running its reveal.

    ``guess`` left as ``...`` only says what to write. A guess made after the reveal is noted but
    does not count. Changing a guess before the reveal replaces it.

    >>> forget()
    >>> predict("4.1", ...).title
    'Prediction 4.1: not predicted yet.'
    >>> print(predict("4.1", "192.168.0.12"))
    Locked in for 4.1: 192.168.0.12.
      Under Local, the load balancer hands the connection to node-b: which source address does web-3 see?
      Now run the reveal (the next cell).
    >>> predict("4.1", "node-b").ok
    False

    Taught in every notebook; notebooks/00-start-here.ipynb explains it.
    """
    p = _lookup(prediction, want_self_check=False)
    if isinstance(p, Note):
        return p
    if guess is ...:
        return Note("waiting", f"Prediction {p.id}: not predicted yet.", (p.question, _fill_in(p, True)))
    try:
        value = p.parse(guess)
    except _BadGuess as err:
        return _problem(f"Prediction {p.id} asks for {_wants(p)}.", str(err), "Nothing was locked in.")
    record = _STATE.setdefault(p.id, _Record())
    if record.revealed:
        return Note("info", f"{p.id} is already revealed, so this guess does not count.",
                    ("Predictions count only when they come before the reveal. The next one is a fresh chance.",))
    before = record.guess if record.made else None
    record.guess, record.made = value, True
    title = (f"Changed your guess for {p.id}: {p.show(before)} → {p.show(value)}." if before is not None and before != value
             else f"Locked in for {p.id}: {p.show(value)}.")
    return Note("info", title, (p.question, "Now run the reveal (the next cell)."))


def reveal(prediction: str, observed: Any = ...) -> Note:
    """Show what really happened next to the guess, with the one-line why.

    ``observed`` is what the notebook's cell just computed; it must agree with what the registry
    computes (else :class:`PredictionMismatch`: the cell or its cluster was changed).

    >>> forget(); _ = predict("4.1", "192.168.0.12")
    >>> print(reveal("4.1"))
    ✘ You predicted 192.168.0.12; web-3 saw 198.51.100.7.
      Why: Local sends external traffic only to endpoints on the receiving node, so no second hop, no SNAT: only the DNAT happens.
    """
    p = _lookup(prediction, want_self_check=False)
    if isinstance(p, Note):
        return p
    answer = p.answer()
    if observed is not ...:
        seen = _observed(p, observed)
        if not KINDS[p.kind].same(seen, answer, 1e-9):
            raise PredictionMismatch(
                f"Prediction {p.id}: this cell observed {p.show(seen)}, but the question was about the set-up "
                f"in its prompt, where {p.outcome.format(p.show(answer))}.",
                hint="the cell, or the cluster it uses, changed since the notebook started (cells run out of "
                     "order?). Use Kernel → Restart Kernel and Run All Cells, or undo the change to this cell.")
    record = _STATE.setdefault(p.id, _Record())
    record.revealed = True
    why = f"Why: {p.why}"
    truth = p.outcome.format(p.show(answer))
    if not record.made:
        nudge = ("You did not lock in a guess this time. Next time, write one in the cell above the reveal "
                 "first: even a wrong guess makes the answer stick.")
        first = truth.split(" ", 1)[0]
        named = any(c == "-" or c.isdigit() for c in first)  # a pod, node or address keeps its own case
        return Note("info", f"{p.id}: {truth if named else truth[:1].upper() + truth[1:]}.", (why, nudge))
    record.right = KINDS[p.kind].same(record.guess, answer, SHARE_TOLERANCE)
    said = f"You predicted {p.show(record.guess)}; {truth}."
    if record.right:
        return Note("right", said + " Right.", (why,))
    return Note("wrong", said, (why,))


def _observed(p: Prediction, value: Any) -> Any:
    try:
        return _normalise(p, value)
    except K8sLearnError:
        raise PredictionMismatch(f"Prediction {p.id}: this cell observed {value!r}, which is not "
                                 f"{_wants(p)}.",
                                 hint="the reveal cell was changed: undo the change, or re-run the notebook from "
                                      "the top.") from None


def self_check(check: str, answer: Any = ...) -> Note:
    """Check a self-check written in code: not answered yet, right, or not quite (with the answer and why).

    >>> print(self_check("5.s1", ...))
    Self-check 5.s1: not answered yet.
      Replace ... with a share for each pod, as a dict, such as {"web-1": 0.5, "web-2": 0.5}, and run this cell.
    >>> print(self_check("5.s1", {"web-1": "1/4", "web-2": "1/4", "web-3": "1/2"}))
    ✔ Right: the shares were web-1 1/4 (25 %), web-2 1/4 (25 %), web-3 1/2 (50 %).
      Why: H = 2 healthy nodes: web-1 and web-2 share node-a's half (1/4 each), web-3 has node-b's half to itself.
    """
    p = _lookup(check, want_self_check=True)
    if isinstance(p, Note):
        return p
    if answer is ...:
        return Note("waiting", f"Self-check {p.id}: not answered yet.", (_fill_in(p, False),))
    try:
        value = p.parse(answer)
    except _BadGuess as err:
        return _problem(f"Self-check {p.id} asks for {_wants(p)}.", str(err))
    truth = p.answer()
    shown = p.outcome.format(p.show(truth))
    if KINDS[p.kind].same(value, truth, SHARE_TOLERANCE):
        return Note("right", f"Right: {shown}.", (f"Why: {p.why}",))
    return Note("wrong", f"Not quite: you answered {p.show(value)}; {shown}.", (f"Why: {p.why}",))


def score(notebook: str | None = None) -> Note:
    """How many predictions were right, of those made, in one notebook ("04") or in this whole session.

    It shows your guesses and whether they were right, never an answer you have not revealed.

    >>> forget()
    >>> print(score("04"))
    Notebook 04: you have not locked in any of its 2 predictions in this session.
      Predicting first is the point: try it in the next notebook, or re-run this one from the top.
    """
    ids = [p.id for p in PREDICTIONS.values() if not p.self_check]
    if notebook is not None:
        wanted = _notebook_of(f"{notebook}.0") if re.fullmatch(r"\d+[a-z]?", str(notebook)) else str(notebook)
        ids = [i for i in ids if PREDICTIONS[i].notebook == wanted]
        if not ids:
            books = sorted({p.notebook for p in PREDICTIONS.values()})
            return _problem(f"No predictions in notebook {notebook!r}.", f"Notebooks with predictions: {_names(books)}.")
        where = f"Notebook {wanted}"
    else:
        ids = [i for i in ids if i in _STATE]
        where = "This session"
        if not ids:
            return Note("waiting", "This session: no predictions yet.",
                        ("Lock in a guess with k8s.predict(...) before each reveal.",))
    made = [i for i in ids if _STATE.get(i, _Record()).made]
    if not made:
        which = "its prediction" if len(ids) == 1 else f"any of its {len(ids)} predictions"
        return Note("waiting", f"{where}: you have not locked in {which} in this session.",
                    ("Predicting first is the point: try it in the next notebook, or re-run this one from the top.",))
    judged = [i for i in made if _STATE[i].revealed]
    right = sum(1 for i in judged if _STATE[i].right)
    plural = "prediction" if len(made) == 1 else "predictions"
    title = f"{where}: {right} right of the {len(made)} {plural} you made ({len(ids)} in all)."
    rows = []
    for i in ids:
        r = _STATE.get(i, _Record())
        verdict = ("right" if r.right else "wrong") if (r.made and r.revealed) else ("not revealed yet" if r.made else "—")
        question = PREDICTIONS[i].question
        question = question if len(question) <= 60 else question[:59].rstrip() + "…"
        rows.append((i, question, PREDICTIONS[i].show(r.guess) if r.made else "not made", verdict))
    lines = () if len(judged) == len(made) else (f"{len(made) - len(judged)} not revealed yet.",)
    return Note("right" if judged and right == len(judged) else "info", title, lines, tuple(rows),
                ("id", "question", "your guess", "result"))


def widget(prediction: str) -> Any:
    """A small form for a prediction: an input (or buttons for choices) and a "Lock in my guess" button.

    The same as ``k8s.predict(id, guess)``; the note appears under the button. The returned box has
    ``.guess`` (the input), ``.lock`` (the button) and ``.note`` (the HTML under it).
    """
    import ipywidgets as w

    p = _lookup(prediction, want_self_check=False)
    if isinstance(p, Note):
        return w.HTML(p._repr_html_())
    if p.kind in ("choice", "name"):
        guess = w.ToggleButtons(options=list(p.options), value=None)
    elif p.kind == "yes/no":
        guess = w.ToggleButtons(options=["yes", "no"], value=None)
    else:
        guess = w.Text(placeholder=KINDS[p.kind].example.split(" or ")[0].strip('"'))
    guess.add_class("k8sl-predict-guess")
    lock = w.Button(description="Lock in my guess", button_style="primary")
    lock.add_class("k8sl-predict-lock")
    note = w.HTML()
    note.add_class("k8sl-predict-note")

    def on_click(_: Any) -> None:
        value = guess.value
        note.value = predict(p.id, ... if value in (None, "") else value)._repr_html_()

    lock.on_click(on_click)
    box = w.VBox([w.HTML(f"<b>Predict {html.escape(p.id)}.</b> {html.escape(p.question)}"), w.HBox([guess, lock]), note])
    box.add_class("k8sl-predict")
    box.guess, box.lock, box.note = guess, lock, note
    return box
