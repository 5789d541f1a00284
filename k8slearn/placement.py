"""Where the scheduler puts a service's pods: a small model of kube-scheduler for spreading.

Under ``externalTrafficPolicy: Local`` a load balancer splits traffic per node, so *where* the pods
run decides how evenly they are loaded. :func:`place` works out where each replica of a service's
Deployment lands, one pod at a time as kube-scheduler does: nodes are filtered, the feasible ones
scored, the best one wins. :func:`apply` then changes the cluster to match.

What is modelled (Kubernetes 1.35 defaults, ``pkg/scheduler/framework/plugins``):

- **Filters**, in the scheduler's plugin order. A node that is not ready in the model is down: its
  kubelet stopped reporting, so its Ready condition is Unknown and the node controller taints it
  ``node.kubernetes.io/unreachable:NoSchedule`` (``TaintToleration``; a node whose kubelet reports
  Ready=False gets ``node.kubernetes.io/not-ready`` instead); ``topologySpreadConstraints``
  with ``whenUnsatisfiable: DoNotSchedule`` allow a node only if its domain would not exceed
  ``maxSkew`` over the least-loaded eligible domain (``PodTopologySpread``; with the default
  ``nodeTaintsPolicy: Ignore`` a tainted node's domain still counts as eligible); required pod
  anti-affinity on ``kubernetes.io/hostname`` allows at most one matching pod per node
  (``InterPodAffinity``). A pod no node accepts stays Pending with the scheduler's message,
  ``0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.``
- **Scores** (each normalised to 0-100, both plugins have weight 2): ``ScheduleAnyway`` constraints, or,
  when the pod has no ``topologySpreadConstraints`` at all, the scheduler's *default* soft spread
  (maxSkew 3 per ``kubernetes.io/hostname``, 5 per ``topology.kubernetes.io/zone``) favour domains with
  fewer matching pods; preferred anti-affinity (weight 1-100) favours nodes without one. Other scores
  (free resources, images) are taken as equal. Ties go to the first node in node order, or to a
  seeded random pick (the real scheduler picks at random among ties).
- **Scaling down** removes pods as the ReplicaSet controller ranks them
  (``pkg/controller/controller_utils.go`` ``ActivePodsWithRanks``): not-ready pods first, then pods
  sharing a node with more replicas, then the newest. Terminating pods are no longer replicas; they
  still count for anti-affinity but not for topology spread (the scheduler skips them there).

Not modelled: resource requests, node affinity, cordoned nodes, minDomains, preemption (the real
``FailedScheduling`` event goes on with ``preemption: ...``), and the scheduler never moves running
pods: only new pods are placed (``keep_existing=False`` models a fresh rollout that replaces them all).

:func:`anti_affinity_spec` and :func:`topology_spread_spec` give the same rules as manifest-ready
dicts in the API's camelCase, and :func:`yaml_text` prints them.

Taught in notebooks/06-spreading-pods.ipynb.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Union

import numpy as np

from .errors import FieldError, Invalid, InvalidChange, NotFound
from .model import Cluster, Pod, ServiceRef
from .validation import check_replicas

__all__ = [
    "place", "apply", "Placement", "Step", "anti_affinity_spec", "topology_spread_spec", "yaml_text",
    "HOSTNAME", "ZONE", "ANTI_AFFINITY", "WHEN_UNSATISFIABLE", "DEFAULT_SPREAD",
]

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
TOPOLOGY_KEYS = (HOSTNAME, ZONE)
ANTI_AFFINITY = ("preferred", "required")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
NODE_TAINTS_POLICIES = ("Ignore", "Honor")
#: The taint on a node whose kubelet stopped reporting (Ready=Unknown): what a down node carries
#: (``pkg/controller/nodelifecycle``; Ready=False would give ``node.kubernetes.io/not-ready``).
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
MAX_NODE_SCORE = 100
PLUGIN_WEIGHT = 2  # PodTopologySpread and InterPodAffinity in the default scheduler profile

# Reasons, as the filter plugins word them.
_TAINTED = "node(s) had untolerated taint {%s: }" % UNREACHABLE_TAINT
_SPREAD = "node(s) didn't match pod topology spread constraints"
_ANTI = "node(s) didn't match pod anti-affinity rules"


class InvalidPlacement(Invalid):
    """Scheduling rules the API server would reject (a Deployment's pod template)."""

    kind = "Deployment"


@dataclass(frozen=True, slots=True)
class _Constraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    node_taints_policy: str = "Ignore"

    def describe(self) -> str:
        return (f"topologySpreadConstraint maxSkew={self.max_skew} topologyKey={self.topology_key} "
                f"whenUnsatisfiable={self.when_unsatisfiable}")


#: The scheduler's default constraints for pods of a Service/ReplicaSet with none of their own
#: (``pkg/scheduler/apis/config/v1/default_plugins.go``, ``systemDefaultConstraints``).
DEFAULT_SPREAD = (
    _Constraint(3, HOSTNAME, "ScheduleAnyway"),
    _Constraint(5, ZONE, "ScheduleAnyway"),
)


@dataclass(frozen=True, slots=True)
class Step:
    """How one new pod was placed: each node's score (feasible nodes) or why it was filtered out."""

    pod: str
    node: str | None
    scores: Mapping[str, int] = field(default_factory=dict)
    rejected: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""

    def summary(self) -> str:
        if self.node is None:
            return f"{self.pod}: Pending: {self.reason}"
        scores = ", ".join(f"{n}={s}" for n, s in self.scores.items())
        return f"{self.pod} -> {self.node} (scores {scores})"

    __str__ = summary


@dataclass(frozen=True, slots=True)
class Placement:
    """Where each replica of a service's Deployment runs, and which stay Pending.

    ``assignments`` maps every replica (kept and new, by pod name) to its node, or to None if it is
    Pending; ``removed`` are running pods the plan deletes (scaling down or a fresh rollout);
    ``reasons`` holds the scheduler's message for each Pending pod; ``steps`` explains each new pod.
    """

    service: str
    replicas: int
    assignments: Mapping[str, str | None]
    new: tuple[str, ...]
    removed: tuple[str, ...]
    reasons: Mapping[str, str]
    rules: tuple[str, ...]
    steps: tuple[Step, ...]
    nodes: tuple[str, ...]
    _basis: tuple[tuple[str, str], ...] = field(repr=False, compare=False)

    @property
    def pending(self) -> tuple[str, ...]:
        """The replicas no node accepts (they stay Pending)."""
        return tuple(p for p, n in self.assignments.items() if n is None)

    @property
    def reason(self) -> str:
        """The scheduler's message for the first Pending replica ("" when all are scheduled)."""
        return next(iter(self.reasons.values()), "")

    @property
    def counts(self) -> dict[str, int]:
        """Replicas per node, every node in node order.

        >>> from k8slearn import examples
        >>> place(examples.balanced(3), "web", 4, keep_existing=False).counts
        {'node-a': 2, 'node-b': 1, 'node-c': 1}
        """
        out = {n: 0 for n in self.nodes}
        for node in self.assignments.values():
            if node is not None:
                out[node] += 1
        return out

    def node_of(self, pod: str) -> str | None:
        """The node a replica lands on (None if Pending)."""
        if pod not in self.assignments:
            raise NotFound("replica", pod, list(self.assignments))
        return self.assignments[pod]

    def to_frame(self) -> Any:
        """One row per replica: ``pod``, ``node`` (None if Pending), ``status``, ``new``."""
        import pandas as pd

        rows = [{"pod": p, "node": n, "status": "Pending" if n is None else ("Scheduled" if p in self.new else "Running"),
                 "new": p in self.new} for p, n in self.assignments.items()]
        return pd.DataFrame(rows, columns=["pod", "node", "status", "new"])

    def summary(self) -> str:
        layout = ", ".join(f"{n}: {c}" for n, c in self.counts.items())
        lines = [f"{self.service}: {self.replicas} replicas -> {layout}" + (f"; {len(self.pending)} Pending" if self.pending else "")]
        if self.removed:
            lines.append(f"  removed: {', '.join(self.removed)}")
        lines += [f"  {s}" for s in self.steps]
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        counts = ", ".join(f"{n}={c}" for n, c in self.counts.items())
        return f"Placement({self.service!r}, replicas={self.replicas}, {counts}, pending={len(self.pending)})"

    def _repr_html_(self) -> str:
        cells = []
        for n in self.nodes:
            pods = [p for p, m in self.assignments.items() if m == n]
            body = "".join(f"<div>{html.escape(p)}{' <i>new</i>' if p in self.new else ''}</div>" for p in pods) or "<i>none</i>"
            cells.append(f"<td style='vertical-align:top;border:1px solid #888;padding:4px;min-width:7em'>"
                         f"<b>{html.escape(n)}</b>{body}</td>")
        pending = "".join(f"<li>{html.escape(p)} <b>Pending</b>: {html.escape(r)}</li>" for p, r in self.reasons.items())
        rules = html.escape("; ".join(self.rules))
        return (f"<div><b>Placement of {html.escape(self.service)}</b>: {self.replicas} replicas "
                f"<small>({rules})</small><table><tr>{''.join(cells)}</tr></table>"
                f"{'<ul>' + pending + '</ul>' if pending else ''}</div>")


# ------------------------------------------------------------------------------------ validation
Spread = Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None]


def _constraints(topology_spread: Spread, name: str = "web") -> tuple[_Constraint, ...]:
    if topology_spread is None:
        return ()
    items = [topology_spread] if isinstance(topology_spread, Mapping) else list(topology_spread)
    errors: list[FieldError] = []
    out = []
    allowed = {"max_skew", "topology_key", "when_unsatisfiable", "node_taints_policy"}
    for i, item in enumerate(items):
        path = f"spec.template.spec.topologySpreadConstraints[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidChange(f"{path}: expected a dict, got {item!r}",
                                hint='for example dict(max_skew=1, topology_key="kubernetes.io/hostname", '
                                'when_unsatisfiable="DoNotSchedule").')
        unknown = sorted(set(item) - allowed)
        if unknown:
            raise InvalidChange(f"{path}: unknown field(s) {unknown}",
                                hint=f"the keys are {sorted(allowed)} (snake_case mirrors of maxSkew, topologyKey, "
                                "whenUnsatisfiable, nodeTaintsPolicy).")
        skew = item.get("max_skew", 1)
        key = item.get("topology_key", HOSTNAME)
        when = item.get("when_unsatisfiable", "DoNotSchedule")
        taints = item.get("node_taints_policy", "Ignore")
        if not isinstance(skew, int) or isinstance(skew, bool) or skew <= 0:
            errors.append(FieldError(f"{path}.maxSkew", "Invalid value", str(skew), "must be greater than zero",
                                     "maxSkew is how many more matching pods one domain may have than the emptiest."))
        if key not in TOPOLOGY_KEYS:
            errors.append(FieldError(f"{path}.topologyKey", "Unsupported value", f'"{key}"',
                                     "supported values: " + ", ".join(f'"{k}"' for k in TOPOLOGY_KEYS),
                                     "this model knows the two well-known node labels; a real cluster accepts any label key."))
        if when not in WHEN_UNSATISFIABLE:
            errors.append(FieldError(f"{path}.whenUnsatisfiable", "Unsupported value", f'"{when}"',
                                     "supported values: " + ", ".join(f'"{w}"' for w in WHEN_UNSATISFIABLE)))
        if taints not in NODE_TAINTS_POLICIES:
            errors.append(FieldError(f"{path}.nodeTaintsPolicy", "Unsupported value", f'"{taints}"',
                                     "supported values: " + ", ".join(f'"{w}"' for w in NODE_TAINTS_POLICIES)))
        if not errors:
            out.append(_Constraint(skew, key, when, taints))
    pairs = [(c.topology_key, c.when_unsatisfiable) for c in out]
    if len(set(pairs)) != len(pairs):
        errors.append(FieldError("spec.template.spec.topologySpreadConstraints", "Duplicate value", "",
                                 "{topologyKey, whenUnsatisfiable} pairs must be unique"))
    if errors:
        raise InvalidPlacement(name, errors)
    return tuple(out)


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator | None:
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------------------ scheduling
def _domain(cluster: Cluster, node: str, key: str) -> str:
    return node if key == HOSTNAME else cluster.node(node).zone


def _delete_order(cluster: Cluster, pods: list[Pod]) -> list[Pod]:
    """Pods in the order a ReplicaSet deletes them when scaling down (first = deleted first)."""
    per_node: dict[str, int] = {}
    for p in pods:
        per_node[p.node] = per_node.get(p.node, 0) + 1
    position = {p.name: i for i, p in enumerate(pods)}
    return sorted(pods, key=lambda p: (p.ready and cluster.node(p.node).ready, -per_node[p.node], -position[p.name]))


def place(
    cluster: Cluster,
    service: ServiceRef,
    replicas: int,
    *,
    anti_affinity: str | None = None,
    topology_spread: Spread = None,
    keep_existing: bool = True,
    weight: int = 100,
    seed: int | np.random.Generator | None = None,
) -> Placement:
    """Where ``replicas`` pods of the service's Deployment land, without changing the cluster.

    ``anti_affinity`` is None, ``"preferred"`` (weight ``weight``, 1-100, scores only) or
    ``"required"`` (at most one matching pod per node), both on ``kubernetes.io/hostname``.
    ``topology_spread`` is a dict (or a list of them) with ``max_skew``, ``topology_key``
    (``"kubernetes.io/hostname"`` or ``"topology.kubernetes.io/zone"``), ``when_unsatisfiable``
    (``"DoNotSchedule"`` or ``"ScheduleAnyway"``) and optionally ``node_taints_policy``.
    With ``keep_existing`` (the default) running pods stay where they are, as when a Deployment is
    scaled; with ``keep_existing=False`` every replica is placed afresh, as in a new rollout.

    >>> from k8slearn import examples
    >>> c = examples.balanced(3)
    >>> p = place(c, "web", 4, anti_affinity="required")
    >>> p.counts, p.pending
    ({'node-a': 1, 'node-b': 1, 'node-c': 1}, ('web-4',))
    >>> print(p.reason)
    0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.
    >>> place(examples.uneven(), "web", 4).counts      # the default soft spread fills node-c
    {'node-a': 2, 'node-b': 1, 'node-c': 1}
    """
    svc = cluster.service(service)
    check_replicas(replicas)
    if not svc.selector:
        raise InvalidChange(f"service {svc.name!r} has no selector, so no Deployment's pods belong to it",
                            hint="give the service a selector with add_service(..., selector={...}).")
    if anti_affinity is not None and anti_affinity not in ANTI_AFFINITY:
        raise NotFound("anti-affinity kind", str(anti_affinity), [*ANTI_AFFINITY])
    if anti_affinity == "preferred" and (not isinstance(weight, int) or not 1 <= weight <= 100):
        raise InvalidPlacement(svc.name, [FieldError(
            "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
            "Invalid value", str(weight), "must be in the range 1-100")])
    constraints = _constraints(topology_spread, svc.name)
    hard = [c for c in constraints if c.when_unsatisfiable == "DoNotSchedule"]
    soft = [c for c in constraints if c.when_unsatisfiable == "ScheduleAnyway"] if constraints else list(DEFAULT_SPREAD)
    generator = _rng(seed)

    selected = cluster.selected_pods(svc)
    active = [p for p in selected if not p.terminating]
    terminating = [p for p in selected if p.terminating]
    if keep_existing:
        order = _delete_order(cluster, active)
        drop = {p.name for p in order[: max(0, len(active) - replicas)]}
        kept = [p for p in active if p.name not in drop]
        removed = [p.name for p in active if p.name in drop]
    else:
        kept, removed = [], [p.name for p in active]
    taken = {p.name for p in cluster.pods}
    names, serial = [], 1
    for _ in range(replicas - len(kept)):
        while f"{svc.name}-{serial}" in taken:
            serial += 1
        names.append(f"{svc.name}-{serial}")
        taken.add(names[-1])

    nodes = [n.name for n in cluster.nodes]
    ready = {n.name: n.ready for n in cluster.nodes}
    spread_pods = [p.node for p in kept]                    # counted by PodTopologySpread
    anti_pods = [p.node for p in kept] + [p.node for p in terminating]  # counted by InterPodAffinity
    assignments: dict[str, str | None] = {p.name: p.node for p in kept}
    reasons: dict[str, str] = {}
    steps: list[Step] = []
    gone = set(removed)  # every pod uses resources, whichever service it belongs to
    load = {n: sum(1 for p in cluster.pods_on(n) if p.name not in gone) for n in nodes}
    for name in names:
        rejected: dict[str, str] = {}
        for n in nodes:
            if not ready[n]:
                rejected[n] = _TAINTED
            elif any(not _fits(cluster, c, n, spread_pods, nodes, ready) for c in hard):
                rejected[n] = _SPREAD
            elif anti_affinity == "required" and anti_pods.count(n) > 0:
                rejected[n] = _ANTI
        feasible = [n for n in nodes if n not in rejected]
        if not feasible:
            reason = _fit_error(len(nodes), rejected)
            assignments[name] = None
            reasons[name] = reason
            steps.append(Step(name, None, MappingProxyType({}), MappingProxyType(rejected), reason))
            continue
        scores = _scores(cluster, feasible, soft, spread_pods, anti_pods,
                         weight if anti_affinity == "preferred" else 0, load)
        best = max(scores.values())
        ties = [n for n in feasible if scores[n] == best]
        chosen = ties[0] if generator is None else ties[int(generator.integers(len(ties)))]
        assignments[name] = chosen
        spread_pods.append(chosen)
        anti_pods.append(chosen)
        load[chosen] += 1
        steps.append(Step(name, chosen, MappingProxyType(scores), MappingProxyType(rejected)))

    rules = []
    if anti_affinity:
        rules.append(f"{anti_affinity} podAntiAffinity on {HOSTNAME}"
                     + (f" (weight {weight})" if anti_affinity == "preferred" else ""))
    rules += [c.describe() for c in constraints] or ["default spread: maxSkew 3 per hostname, 5 per zone, ScheduleAnyway"]
    basis = tuple((p.name, p.node) for p in active)
    return Placement(svc.name, replicas, MappingProxyType(assignments), tuple(names), tuple(removed),
                     MappingProxyType(reasons), tuple(rules), tuple(steps), tuple(nodes), basis)


def _fits(cluster: Cluster, c: _Constraint, node: str, pods: list[str], nodes: list[str], ready: Mapping[str, bool]) -> bool:
    """PodTopologySpread's filter: would this node's domain exceed maxSkew over the emptiest one?"""
    eligible = [n for n in nodes if c.node_taints_policy == "Ignore" or ready[n]]
    counts = {_domain(cluster, n, c.topology_key): 0 for n in eligible}
    for n in pods:
        d = _domain(cluster, n, c.topology_key)
        if d in counts:
            counts[d] += 1
    mine = _domain(cluster, node, c.topology_key)
    floor = min(counts.values()) if counts else 0
    return counts.get(mine, 0) + 1 - floor <= c.max_skew


def _scores(cluster: Cluster, feasible: list[str], soft: list[_Constraint], spread_pods: list[str],
            anti_pods: list[str], weight: int, load: Mapping[str, int]) -> dict[str, int]:
    total = {n: 0 for n in feasible}
    if soft:  # PodTopologySpread scoring: fewer matching pods in the node's domains is better
        raw = {n: 0.0 for n in feasible}
        for c in soft:
            domains = {_domain(cluster, n.name, c.topology_key) for n in cluster.nodes}
            tp_weight = math.log(len(domains) + 2)
            for n in feasible:
                d = _domain(cluster, n, c.topology_key)
                count = sum(1 for m in spread_pods if _domain(cluster, m, c.topology_key) == d)
                raw[n] += count * tp_weight + (c.max_skew - 1)
        ints = {n: int(round(v)) for n, v in raw.items()}
        hi, lo = max(ints.values()), min(ints.values())
        for n in feasible:
            total[n] += PLUGIN_WEIGHT * (MAX_NODE_SCORE if hi == 0 else MAX_NODE_SCORE * (hi + lo - ints[n]) // hi)
    # NodeResourcesFit (LeastAllocated, weight 1): pods without requests count as the scheduler's
    # default 100m CPU each for scoring; on identical 4-CPU nodes every pod costs 2.5 points.
    for n in feasible:
        total[n] += max(0, MAX_NODE_SCORE - load[n] * 5 // 2)
    if weight:  # InterPodAffinity scoring: -weight for every matching pod on the node
        raw_aa = {n: -weight * anti_pods.count(n) for n in feasible}
        hi, lo = max(raw_aa.values()), min(raw_aa.values())
        for n in feasible:
            total[n] += PLUGIN_WEIGHT * (int(MAX_NODE_SCORE * (raw_aa[n] - lo) / (hi - lo)) if hi > lo else 0)
    return total


def _fit_error(count: int, rejected: Mapping[str, str]) -> str:
    """The scheduler's FitError text: ``0/N nodes are available: <sorted histogram>.``"""
    histogram: dict[str, int] = {}
    for reason in rejected.values():
        histogram[reason] = histogram.get(reason, 0) + 1
    parts = sorted(f"{v} {k}" for k, v in histogram.items())
    return f"0/{count} nodes are available: {', '.join(parts)}."


def apply(cluster: Cluster, service: ServiceRef, placement: Placement) -> tuple[Pod, ...]:
    """Change the cluster to match a placement: delete ``removed`` pods, create the scheduled new ones.

    Pending replicas are not created (the model has no unscheduled pods; ``placement.pending`` lists
    them). All or nothing: if the cluster changed since :func:`place` in a way that matters, nothing
    changes and the error says to place again. Returns the service's pods afterwards.

    >>> from k8slearn import examples
    >>> c = examples.uneven()
    >>> [p.node for p in apply(c, "web", place(c, "web", 3, keep_existing=False))]
    ['node-a', 'node-b', 'node-c']
    """
    svc = cluster.service(service)
    if placement.service != svc.name:
        raise InvalidChange(f"this placement is for service {placement.service!r}, not {svc.name!r}",
                            hint=f"place(cluster, {svc.name!r}, ...) first.")
    current = tuple((p.name, p.node) for p in cluster.selected_pods(svc) if not p.terminating)
    missing_nodes = {n for n in placement.assignments.values() if n is not None} - {n.name for n in cluster.nodes}
    clash = set(placement.new) & {p.name for p in cluster.pods}
    if current != placement._basis or missing_nodes or clash:
        raise InvalidChange(
            f"the cluster changed since this placement of {svc.name!r} was computed",
            hint="placements are plans for one state of the cluster; call place(...) again and apply the new one.",
        )

    def run(target: Cluster) -> tuple[Pod, ...]:
        for name in placement.removed:
            target.delete_pod(name)
        for name in placement.new:
            node = placement.assignments[name]
            if node is not None:
                target.add_pod(name, node, labels=dict(svc.selector))
        return target.selected_pods(svc.name)

    run(cluster.copy())  # a dry run: any failure raises here, before the real cluster changes
    return run(cluster)


# ------------------------------------------------------------------------------------ manifests
def _selector(labels: Mapping[str, str]) -> dict[str, Any]:
    return {"matchLabels": dict(labels)}


def anti_affinity_spec(kind: str, labels: Mapping[str, str], *, topology_key: str = HOSTNAME,
                       weight: int = 100) -> dict[str, Any]:
    """The pod template's ``affinity`` for pod anti-affinity, in full API form.

    >>> print(yaml_text(anti_affinity_spec("preferred", {"app": "web"})))
    affinity:
      podAntiAffinity:
        preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            labelSelector:
              matchLabels:
                app: web
            topologyKey: kubernetes.io/hostname
    """
    if kind not in ANTI_AFFINITY:
        raise NotFound("anti-affinity kind", str(kind), [*ANTI_AFFINITY])
    term = {"labelSelector": _selector(labels), "topologyKey": topology_key}
    if kind == "required":
        return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}
    return {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": weight, "podAffinityTerm": term}]}}}


def topology_spread_spec(labels: Mapping[str, str], *, max_skew: int = 1, topology_key: str = HOSTNAME,
                         when_unsatisfiable: str = "DoNotSchedule") -> dict[str, Any]:
    """The pod template's ``topologySpreadConstraints`` (one constraint), in full API form.

    >>> print(yaml_text(topology_spread_spec({"app": "web"})))
    topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: DoNotSchedule
      labelSelector:
        matchLabels:
          app: web
    """
    _constraints({"max_skew": max_skew, "topology_key": topology_key, "when_unsatisfiable": when_unsatisfiable})
    return {"topologySpreadConstraints": [{"maxSkew": max_skew, "topologyKey": topology_key,
                                           "whenUnsatisfiable": when_unsatisfiable,
                                           "labelSelector": _selector(labels)}]}


def yaml_text(value: Any, indent: int = 0) -> str:
    """Block-style YAML for the plain dicts, lists and scalars of a manifest (no dependencies)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(v, (Mapping, list, tuple)) and v:
                lines.append(f"{pad}{k}:")
                # A list under a key sits at the key's indentation, as kubectl prints it.
                lines.append(yaml_text(v, indent if isinstance(v, (list, tuple)) else indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, (list, tuple)):
        for item in value:
            text = yaml_text(item, indent + 1)
            lines.append(f"{pad}- {text.lstrip()}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return "\n".join(lines)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (Mapping, list, tuple)):
        return "{}" if isinstance(v, Mapping) else "[]"
    text = str(v)
    if isinstance(v, str) and (text == "" or text[0] in "-?:,[]{}#&*!|>'\"%@`" or ": " in text
                               or text.lower() in ("true", "false", "null", "yes", "no", "on", "off")
                               or text.replace(".", "", 1).isdigit()):
        return '"' + text.replace('"', '\\"') + '"'
    return text
