"""Many connections: exact shares per pod, metrics, and a seeded sampler.

:func:`traffic` gives, for every pod behind a service, the exact share of new connections it
gets, and which fraction of those keep the client's IP and which took an extra node hop.
:func:`metrics` sums it up overall and per receiving node (dropped, client IP kept, extra hop,
imbalance). :func:`sample` draws N connections with a seed and returns the same columns as
:func:`traffic`, so "send 1000 requests" converges to the exact answer.

The exact shares come from the same :func:`~k8slearn.dataplane.decide` that traces use: a load
balancer model (:mod:`k8slearn.loadbalancer`) gives each node its share, and each node's proxy
splits its share uniformly over the endpoints it may DNAT to.

Taught in notebooks/03 to 07.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .dataplane import Source, decide, get_dataplane
from .dataplane.decide import Cilium, Dataplane
from .errors import NotFound
from .loadbalancer import LB_ADDRESS, LoadBalancer, get_load_balancer, spread
from .model import CLIENT_IP, Cluster, ServiceRef
from .trace import check_reachable, default_address, rng

__all__ = ["traffic", "metrics", "sample", "by_node", "health", "TRAFFIC_COLUMNS", "METRICS_COLUMNS"]

TRAFFIC_COLUMNS = ["pod", "node", "share", "client_ip_kept", "extra_hop"]
METRICS_COLUMNS = ["scope", "received", "delivered", "dropped", "refused", "failed", "client_ip_kept",
                   "extra_hop", "imbalance", "cv"]
CLIENTS = ("external", "pods")
# Per pod, the joint probability of (extra hop?, client IP kept?): columns of _Exact.cells.
_CELLS = ((False, False), (False, True), (True, False), (True, True))


@dataclass(frozen=True)
class _Exact:
    service: str
    pods: tuple[str, ...]
    pod_nodes: tuple[str, ...]
    ready: np.ndarray          # which pods are ready endpoints (imbalance is measured over them)
    cells: np.ndarray          # shape (pods, 4): probability of each (extra_hop, kept) cell
    outcomes: dict[str, float]  # dropped / refused / failed, as fractions of all connections
    nodes: tuple[dict[str, Any], ...]  # per receiving node: received, outcome split, kept, extra


def _client_source(cluster: Cluster, clients: str, node: str) -> Source:
    if clients == "external":
        return Source("external", CLIENT_IP)
    if clients == "proxied":
        return Source("external", LB_ADDRESS)
    n = cluster.node(node)
    # A client pod on every node (a made-up pod address near the top of the node's pod CIDR).
    return Source("pod", n.pod_cidr.broadcast_address - 1, node=n.name, pod=f"client on {n.name}")


def _exact(cluster: Cluster, service: ServiceRef, lb: str | LoadBalancer, clients: str, address: str | None,
           dataplane: str | Dataplane) -> _Exact:
    svc = cluster.service(service)
    lb = get_load_balancer(lb)
    dp = get_dataplane(dataplane)
    if clients not in CLIENTS:
        raise NotFound("clients", clients, list(CLIENTS))
    address = address or default_address(svc, clients == "external")
    check_reachable(svc, clients == "external", address)
    key = ("exact", svc.name, repr(lb), clients, address, repr(dp))
    return cluster.cached(key, lambda: _compute(cluster, svc.name, lb, clients, address, dp))


def _compute(cluster: Cluster, name: str, lb: LoadBalancer, clients: str, address: str, dp: Dataplane) -> _Exact:
    svc = cluster.service(name)
    eps = cluster.endpoints(svc)
    index = {e.pod: i for i, e in enumerate(eps)}
    cells = np.zeros((len(eps), 4))
    outcomes = {"dropped": 0.0, "refused": 0.0, "failed": 0.0}
    nodes: list[dict[str, Any]] = []

    # A load balancer whose ipMode is Proxy ends every connection (in-cluster ones too: kube-proxy
    # leaves its IP alone) and opens its own to a NodePort: the nodes see the load balancer's address.
    proxied = address == "loadBalancerIP" and svc.load_balancer_ip_mode == "Proxy" and lb.model != "pod-targeting"
    if (clients == "external" or proxied) and address == "loadBalancerIP":
        s = spread(cluster, svc, lb)
    else:
        s = spread(cluster, svc, "equal")  # clients spread over nodes (NodePort, externalIP, in-cluster)
    outcomes["dropped"] += s.dropped
    if proxied:
        clients, address = "proxied", "nodePort"

    if s.targets == "pods":
        kept = 1 if lb.preserve_client_ip else 0
        for pod, w in s.weights.items():
            cells[index[pod], kept] += w
        return _finish(svc.name, eps, cells, outcomes, ())

    # Nodes whose proxies pick among the same endpoint set (all nodes under Cluster) form one group,
    # so the per-pod split is done once per group, not once per node (1,000 nodes x 10,000 pods).
    groups: dict[tuple, dict[str, Any]] = {}  # keeps every endpoint tuple alive, so ids stay unique
    counted: dict[int, dict[str, int]] = {}
    for node_name, w in s.weights.items():
        decision = decide(cluster, svc, node=node_name, source=_client_source(cluster, clients, node_name),
                          destination=address, dataplane=dp)
        row = {"node": node_name, "received": w, "dropped": 0.0, "refused": 0.0, "failed": 0.0,
               "delivered": 0.0, "client_ip_kept": 0.0, "extra_hop": 0.0}
        nodes.append(row)
        if decision.verdict != "DNAT":
            key = "dropped" if decision.verdict == "DROP" else "refused"
            outcomes[key] += w
            row[key] = w
            continue
        # Which requests keep the client IP: masquerade "never", "always", or only to remote pods.
        kept_local = decision.snat in ("never", "remote") and clients != "proxied"
        kept_remote = decision.snat == "never" and clients != "proxied"
        # Without SNAT (and without DSR), a remote pod's reply bypasses the node holding the conntrack
        # entry, so the client discards it.
        remote_fails = clients in ("external", "proxied") and decision.snat == "never" and not isinstance(dp, Cilium)
        group = groups.setdefault((id(decision.endpoints), kept_local, kept_remote, remote_fails), {
            "targets": decision.endpoints, "weight": 0.0, "own": {},
            "flags": (kept_local, kept_remote, remote_fails)})
        group["weight"] += w
        group["own"][node_name] = w
        per_node = counted.get(id(decision.endpoints)) or counted.setdefault(
            id(decision.endpoints), _count_by_node(decision.endpoints))
        each = w / len(decision.endpoints)
        local = per_node.get(node_name, 0)
        remote = len(decision.endpoints) - local
        row["delivered"] = each * (local + (0 if remote_fails else remote))
        row["failed"] = each * remote if remote_fails else 0.0
        outcomes["failed"] += row["failed"]
        row["client_ip_kept"] = each * ((local if kept_local else 0) + (remote if kept_remote and not remote_fails else 0))
        row["extra_hop"] = 0.0 if remote_fails else each * remote
    for group in groups.values():
        targets = group["targets"]
        kept_local, kept_remote, remote_fails = group["flags"]
        each = group["weight"] / len(targets)
        rows = np.fromiter((index[e.pod] for e in targets), dtype=np.intp, count=len(targets))
        own = np.fromiter((group["own"].get(e.node, 0.0) for e in targets), dtype=float, count=len(targets)) / len(targets)
        np.add.at(cells[:, 1 if kept_local else 0], rows, own)
        if not remote_fails:
            np.add.at(cells[:, 3 if kept_remote else 2], rows, each - own)
    return _finish(svc.name, eps, cells, outcomes, tuple(nodes))


def _count_by_node(targets: tuple) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in targets:
        counts[e.node] = counts.get(e.node, 0) + 1
    return counts


def _finish(service: str, eps: tuple, cells: np.ndarray, outcomes: dict[str, float], nodes: tuple) -> _Exact:
    ready = np.array([e.ready or (e.serving and e.terminating) for e in eps], dtype=bool)
    return _Exact(service, tuple(e.pod for e in eps), tuple(e.node for e in eps), ready, cells, outcomes, nodes)


def _frame(exact: _Exact, cells: np.ndarray, outcomes: dict[str, float] | None = None) -> Any:
    import pandas as pd

    share = cells.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.where(share > 0, (cells[:, 1] + cells[:, 3]) / share, np.nan)
        extra = np.where(share > 0, (cells[:, 2] + cells[:, 3]) / share, np.nan)
    frame = pd.DataFrame({"pod": list(exact.pods), "node": list(exact.pod_nodes), "share": share,
                          "client_ip_kept": kept, "extra_hop": extra}, columns=TRAFFIC_COLUMNS)
    serving = int(exact.ready.sum())
    # For pictures and checks: the even share a serving pod would get, and where the rest went.
    frame.attrs.update({"service": exact.service, "fair_share": 1 / serving if serving else math.nan,
                        **(exact.outcomes if outcomes is None else outcomes)})
    return frame


def traffic(
    cluster: Cluster,
    service: ServiceRef,
    *,
    lb: str | LoadBalancer = "health-checked",
    clients: str = "external",
    address: str | None = None,
    dataplane: str | Dataplane = "iptables",
) -> Any:
    """The exact share of new connections each pod gets, one row per pod (in cluster order).

    Columns: ``pod``, ``node``, ``share`` (of all connections clients open), ``client_ip_kept`` and
    ``extra_hop`` (fractions of that pod's connections; NaN for a pod that gets none). What the pods
    do not get was dropped, refused or failed: ``1 - share.sum()``, split in :func:`metrics` and in
    ``frame.attrs`` (``dropped``, ``refused``, ``failed``, ``fair_share``, ``service``).

    ``clients="external"`` (through ``lb`` to the load-balancer IP, or spread equally over the nodes
    for a NodePort/externalIP) or ``"pods"`` (a client pod on every node, to the ClusterIP by default).

    >>> from k8slearn import examples
    >>> traffic(examples.one_two(), "web")
         pod    node  share  client_ip_kept  extra_hop
    0  web-1  node-a   0.50             1.0        0.0
    1  web-2  node-b   0.25             1.0        0.0
    2  web-3  node-b   0.25             1.0        0.0
    """
    exact = _exact(cluster, service, lb, clients, address, dataplane)
    return _frame(exact, exact.cells)


def sample(
    cluster: Cluster,
    service: ServiceRef,
    n: int,
    *,
    seed: int | np.random.Generator | None,
    lb: str | LoadBalancer = "health-checked",
    clients: str = "external",
    address: str | None = None,
    dataplane: str | Dataplane = "iptables",
) -> Any:
    """Draw ``n`` connections at random (seeded) and count them: the columns of :func:`traffic`.

    Each connection independently takes one of the paths :func:`traffic` computes exactly, so the
    shares converge to the exact ones as ``n`` grows (the error shrinks like 1/sqrt(n)).

    >>> from k8slearn import examples
    >>> s = sample(examples.one_two(), "web", 10_000, seed=7)
    >>> [round(x, 2) for x in s.share]
    [0.5, 0.25, 0.25]
    """
    if not isinstance(n, int) or n < 1:
        from .errors import InvalidChange

        raise InvalidChange(f"n = {n!r}: the number of connections must be a whole number >= 1",
                            hint="for example sample(cluster, 'web', 1000, seed=1).")
    exact = _exact(cluster, service, lb, clients, address, dataplane)
    probs = np.concatenate([exact.cells.ravel(), [exact.outcomes[k] for k in ("dropped", "refused", "failed")]])
    probs = np.clip(probs, 0, None)
    probs = probs / probs.sum()
    picks = rng(seed).choice(len(probs), size=n, p=probs)
    counts = np.bincount(picks, minlength=len(probs)).astype(float)
    cells = counts[: exact.cells.size].reshape(exact.cells.shape) / n
    outcomes = {k: float(counts[exact.cells.size + i] / n) for i, k in enumerate(("dropped", "refused", "failed"))}
    frame = _frame(exact, cells, outcomes)
    frame.attrs["connections"] = n
    return frame


def metrics(
    cluster: Cluster,
    service: ServiceRef,
    *,
    lb: str | LoadBalancer = "health-checked",
    clients: str = "external",
    address: str | None = None,
    dataplane: str | Dataplane = "iptables",
) -> Any:
    """The numbers that matter, overall (first row) and per receiving node.

    ``received`` is the share of connections sent to that scope; ``delivered``, ``dropped``,
    ``refused`` (connection refused) and ``failed`` (the reply was discarded) split it;
    ``client_ip_kept`` and ``extra_hop`` are fractions of the delivered connections; ``imbalance`` is
    the busiest serving pod's share over the quietest's (1.0 is perfectly even; inf when a serving pod
    gets nothing) and ``cv`` the coefficient of variation of their shares.

    >>> from k8slearn import examples
    >>> m = metrics(examples.uneven(), "web")
    >>> [float(m.loc[0, c]) for c in ("delivered", "client_ip_kept", "extra_hop")]
    [1.0, 0.0, 0.6666666666666666]
    """
    import pandas as pd

    exact = _exact(cluster, service, lb, clients, address, dataplane)
    share = exact.cells.sum(axis=1)
    delivered = float(share.sum())
    kept = float(exact.cells[:, 1].sum() + exact.cells[:, 3].sum())
    extra = float(exact.cells[:, 2].sum() + exact.cells[:, 3].sum())
    rows = [{
        "scope": "overall", "received": 1.0, "delivered": delivered, **{k: exact.outcomes[k] for k in ("dropped", "refused", "failed")},
        "client_ip_kept": kept / delivered if delivered else math.nan,
        "extra_hop": extra / delivered if delivered else math.nan,
        **_imbalance(share[exact.ready]),
    }]
    by_pod_node: dict[str, list[float]] = {}
    for pod_node, s, r in zip(exact.pod_nodes, share, exact.ready):
        if r:
            by_pod_node.setdefault(pod_node, []).append(s)
    for row in exact.nodes:
        d = row["delivered"]
        rows.append({
            "scope": row["node"], "received": row["received"], "delivered": d, "dropped": row["dropped"],
            "refused": row["refused"], "failed": row["failed"],
            "client_ip_kept": row["client_ip_kept"] / d if d else math.nan,
            "extra_hop": row["extra_hop"] / d if d else math.nan,
            **_imbalance(np.array(by_pod_node.get(row["node"], []))),
        })
    return pd.DataFrame(rows, columns=METRICS_COLUMNS)


def _imbalance(shares: np.ndarray) -> dict[str, float]:
    if len(shares) == 0:
        return {"imbalance": math.nan, "cv": math.nan}
    lo, hi, mean = float(shares.min()), float(shares.max()), float(shares.mean())
    return {"imbalance": (hi / lo if lo > 0 else (math.inf if hi > 0 else math.nan)),
            "cv": float(shares.std() / mean) if mean > 0 else math.nan}


def by_node(cluster: Cluster, service: ServiceRef, *, lb: str | LoadBalancer = "health-checked") -> Any:
    """Per node: its pods, the load balancer's share and the health-check answer (one row per node)."""
    import pandas as pd

    from .dataplane import health_check

    svc = cluster.service(service)
    s = spread(cluster, svc, lb) if svc.type == "LoadBalancer" else spread(cluster, svc, "equal")
    rows = []
    for n in cluster.nodes:
        hc = health_check(cluster, svc, n)
        rows.append({"node": n.name, "ready": n.ready,
                     "pods": sum(1 for e in cluster.endpoints_by_node(svc)[n.name] if e.ready),
                     "lb_share": s.weights.get(n.name, 0.0) if s.targets == "nodes" else 0.0,
                     "health_check_port": hc.port, "health_check": hc.status if hc.status is not None else "no answer",
                     "local_endpoints": hc.local_endpoints})
    return pd.DataFrame(rows, columns=["node", "ready", "pods", "lb_share", "health_check_port", "health_check",
                                       "local_endpoints"])


health = by_node
