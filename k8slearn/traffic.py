"""Many connections: exact shares per pod, metrics, and a seeded sampler.

:func:`traffic` gives, for every pod behind a service, the exact share of new connections it
gets, and which fraction of those keep the client's IP and which took an extra node hop.
:func:`metrics` sums it up overall and per receiving node (dropped, client IP kept, extra hop,
imbalance). :func:`sample` draws N connections with a seed and returns the same columns as
:func:`traffic`, so "send 1000 requests" converges to the exact answer.

The exact shares run the same chain of elements as a trace (:mod:`k8slearn.path`): the elements
before the node (client, load balancer) are multiplied out branch by branch; each node's service
proxy splits its share uniformly over the endpoints it may DNAT to, which is summed per group of
nodes that pick among the same endpoints (one NumPy pass per group, not per node and endpoint);
what happens to a local and to a remote endpoint (masquerade, source seen, reply discarded) is
worked out once per kind of branch by the very element code a trace runs.

Taught in notebooks/03 to 07.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

import numpy as np

from .dataplane import Source, get_dataplane
from .dataplane.decide import Dataplane
from .errors import NotFound
from .loadbalancer import LoadBalancer, LoadBalancerProfile, resolve, spread
from .model import CLIENT_IP, Cluster, ServiceRef
from .path import Context, Flow, NodeDataplane, Place, admits, enumerate_paths, reply
from .trace import (
    Packet,
    chain_for,
    check_address,
    check_reachable,
    default_address,
    dialled_address,
    rng,
    send,
    start_flow,
)

__all__ = ["traffic", "metrics", "sample", "by_node", "health", "paths", "sessions", "TRAFFIC_COLUMNS",
           "METRICS_COLUMNS", "PATHS_COLUMNS", "SESSIONS_COLUMNS"]

TRAFFIC_COLUMNS = ["pod", "node", "share", "client_ip_kept", "extra_hop"]
METRICS_COLUMNS = ["scope", "received", "delivered", "dropped", "refused", "failed", "client_ip_kept",
                   "extra_hop", "imbalance", "cv"]
CLIENTS = ("external", "pods")
SESSIONS_COLUMNS = ["client", "connections", "delivered", "nodes", "pods", "key_seen_by_nodes"]
PATHS_COLUMNS = ["probability", "client", "entry_node", "pod", "pod_node", "outcome", "source_seen_by_pod",
                 "client_ip_kept", "extra_hop", "x_forwarded_for", "proxy_protocol", "path", "reason"]
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


def _starts(cluster: Cluster, svc: Any, clients: str, address: str, profile: LoadBalancerProfile
            ) -> list[tuple[float, list[Any], Flow]]:
    """The clients, each with its weight, its chain and its first flow."""
    if clients == "external":
        source = Source("external", CLIENT_IP)
        start = Place.client()
        packet = Packet(CLIENT_IP, 51000, *dialled_address(cluster, svc, address, None))
        chain = chain_for(svc, source, address, profile, start, str(CLIENT_IP))
        return [(1.0, chain, start_flow(source, packet, address, start))]
    out = []
    for n in cluster.nodes:
        # A client pod on every node (a made-up pod address near the top of the node's pod CIDR).
        ip = n.pod_cidr.broadcast_address - 1
        source = Source("pod", ip, node=n.name, pod=f"client on {n.name}")
        start = Place.pod(f"client on {n.name}", node=n.name)
        packet = Packet(ip, 51000, *dialled_address(cluster, svc, address, n.name))
        chain = chain_for(svc, source, address, profile, start, source.pod or "")
        out.append((1 / len(cluster.nodes), chain, start_flow(source, packet, address, start, entry=n.name)))
    return out


def _arguments(cluster: Cluster, service: ServiceRef, lb: Any, clients: Any, address: Any,
               dataplane: Any) -> tuple[Any, Any, Any, str]:
    """The service, load balancer, dataplane and address the many-connection functions were given,
    each checked (one place, so traffic, metrics, sample and paths refuse the same things)."""
    svc = cluster.service(service)
    profile = resolve(lb, svc)
    dp = get_dataplane(dataplane)
    if not (isinstance(clients, str) and clients in CLIENTS):
        raise NotFound("clients", clients, list(CLIENTS))
    address = check_address(address) or default_address(svc, clients == "external")
    check_reachable(svc, clients == "external", address)
    return svc, profile, dp, address


def _exact(cluster: Cluster, service: ServiceRef, lb: Any, clients: str, address: str | None,
           dataplane: str | Dataplane) -> _Exact:
    svc, profile, dp, address = _arguments(cluster, service, lb, clients, address, dataplane)
    key = ("exact", svc.name, profile, clients, address, dp)
    return cluster.cached(key, lambda: _compute(cluster, svc.name, profile, clients, address, dp))


class _Facts:
    """What happens to a connection DNATed to a local or a remote endpoint, per kind of branch.

    Worked out once per kind by the element code a trace runs (:meth:`NodeDataplane.land` and
    :func:`~k8slearn.path.reply` on a representative endpoint), then applied to every node.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.cache: dict[tuple, tuple[bool, bool, bool, str]] = {}
        self.reps: dict[int, tuple[dict[str, Any], list[Any]]] = {}

    def representatives(self, targets: tuple) -> tuple[dict[str, Any], list[Any]]:
        found = self.reps.get(id(targets))
        if found is None:
            by_node: dict[str, Any] = {}
            for e in targets:
                by_node.setdefault(e.node, e)
            found = self.reps[id(targets)] = (by_node, list(by_node.values())[:2])
        return found

    def facts(self, flow: Flow, decision: Any, local: bool) -> tuple[bool, bool, bool, str]:
        """(masquerade, extra hop, reply discarded, what the pod sees: 'source' | 'node' | 'bridge')."""
        key = (decision.snat, decision.dsr, flow.source.kind, flow.address,
               tuple((s.opener.kind, s.lb_back) for s in flow.segments), local)
        found = self.cache.get(key)
        if found is None:
            by_node, two = self.representatives(decision.endpoints)
            node = decision.node
            ep = by_node[node] if local else next(e for e in two if e.node != node)
            landed = NodeDataplane.land(flow, decision, ep, self.ctx).flow
            _, outcome, _ = reply(landed, landed.packet, flow.segments[0].opener)
            n = self.ctx.cluster.node(node)
            seen = landed.packet.src
            kind = "node" if seen == n.ip else "bridge" if seen == n.bridge_ip else "source"
            found = self.cache[key] = (landed.masq, landed.pod_node != landed.entry_node,
                                       outcome == "reply discarded", kind)
        return found


def _compute(cluster: Cluster, name: str, profile: LoadBalancerProfile, clients: str, address: str,
             dp: Dataplane) -> _Exact:
    svc = cluster.service(name)
    eps = cluster.endpoints(svc)
    index = {e.pod: i for i, e in enumerate(eps)}
    cells = np.zeros((len(eps), 4))
    outcomes = {"dropped": 0.0, "refused": 0.0, "failed": 0.0}
    rows: dict[str, dict[str, Any]] = {}
    ctx = Context(cluster, svc, dataplane=dp, lb=profile, light=True)
    facts = _Facts(ctx)
    policies = bool(getattr(cluster, "network_policies", ()))

    # Nodes whose proxies pick among the same endpoint set (all nodes under Cluster) form one group,
    # so the per-pod split is done once per group, not once per node (1,000 nodes x 10,000 pods).
    groups: dict[tuple, dict[str, Any]] = {}  # keeps every endpoint tuple alive, so ids stay unique
    counted: dict[int, dict[str, int]] = {}

    def row(node: str) -> dict[str, Any]:
        return rows.setdefault(node, {"node": node, "received": 0.0, "dropped": 0.0, "refused": 0.0, "failed": 0.0,
                                      "delivered": 0.0, "client_ip_kept": 0.0, "extra_hop": 0.0})

    for weight, chain, flow in _starts(cluster, svc, clients, address, profile):
        prefix = chain[:-2]  # everything before the node's service proxy and the pod network
        for path in enumerate_paths(prefix, flow, ctx):
            w = weight * path.weight
            if path.outcome != "delivered":
                outcomes[path.outcome] += w
                continue
            f = path.flow
            if f.pod is not None:  # a load balancer that targets pods chose one
                _land_on_pod(cluster, f, w, index, cells, outcomes, policies)
                continue
            node_name = f.entry_node
            r = row(node_name)  # type: ignore[arg-type]
            r["received"] += w
            decision = ctx.decide(node_name, f.source, f.address)  # type: ignore[arg-type]
            if decision.verdict != "DNAT":
                key = "dropped" if decision.verdict == "DROP" else "refused"
                outcomes[key] += w
                r[key] += w
                continue
            targets = decision.endpoints
            per_node = counted.get(id(targets)) or counted.setdefault(id(targets), _count_by_node(targets))
            local = per_node.get(node_name, 0)
            remote = len(targets) - local
            each = w / len(targets)
            lf = facts.facts(f, decision, True) if local else None
            rf = facts.facts(f, decision, False) if remote else None
            client = f.client_ip
            if policies:
                _per_endpoint(cluster, f, decision, targets, each, lf, rf, index, cells, outcomes, r)
                continue
            kept_local = lf is not None and _seen(cluster, node_name, f, lf) == client
            kept_remote = rf is not None and _seen(cluster, node_name, f, rf) == client
            local_fails = lf is not None and lf[2]
            remote_fails = rf is not None and rf[2]
            r["delivered"] += each * ((0 if local_fails else local) + (0 if remote_fails else remote))
            failed = each * ((local if local_fails else 0) + (remote if remote_fails else 0))
            r["failed"] += failed
            outcomes["failed"] += failed
            r["client_ip_kept"] += each * ((local if kept_local and not local_fails else 0)
                                           + (remote if kept_remote and not remote_fails else 0))
            r["extra_hop"] += each * ((local if lf and lf[1] and not local_fails else 0)
                                      + (remote if rf and rf[1] and not remote_fails else 0))
            flags = (kept_local, local_fails, kept_remote, remote_fails,
                     bool(lf and lf[1]), bool(rf and rf[1]))
            group = groups.setdefault((id(targets), flags), {"targets": targets, "weight": 0.0, "own": {},
                                                             "flags": flags})
            group["weight"] += w
            group["own"][node_name] = group["own"].get(node_name, 0.0) + w
    for group in groups.values():
        targets = group["targets"]
        kept_local, local_fails, kept_remote, remote_fails, extra_local, extra_remote = group["flags"]
        each = group["weight"] / len(targets)
        idx = np.fromiter((index[e.pod] for e in targets), dtype=np.intp, count=len(targets))
        own = np.fromiter((group["own"].get(e.node, 0.0) for e in targets), dtype=float, count=len(targets)) / len(targets)
        if not local_fails:
            np.add.at(cells[:, 2 * extra_local + kept_local], idx, own)
        if not remote_fails:
            np.add.at(cells[:, 2 * extra_remote + kept_remote], idx, each - own)
    return _finish(svc.name, eps, cells, outcomes, tuple(rows.values()))


def _seen(cluster: Cluster, node: str, flow: Flow, fact: tuple[bool, bool, bool, str]) -> Any:
    kind = fact[3]
    if kind == "source":
        return flow.source.ip
    n = cluster.node(node)
    return n.ip if kind == "node" else n.bridge_ip


def _land_on_pod(cluster: Cluster, flow: Flow, w: float, index: dict, cells: np.ndarray, outcomes: dict,
                 policies: bool) -> None:
    admitted = admits(cluster, flow.pod, flow.packet.src)[0] if policies else True  # type: ignore[arg-type]
    if not admitted:
        outcomes["dropped"] += w
        return
    cells[index[flow.pod], 1 if flow.packet.src == flow.client_ip else 0] += w


def _per_endpoint(cluster: Cluster, flow: Flow, decision: Any, targets: tuple, each: float, lf: Any, rf: Any,
                  index: dict, cells: np.ndarray, outcomes: dict, r: dict) -> None:
    """With NetworkPolicies: one endpoint at a time, since each pod may admit other sources."""
    node = decision.node
    for e in targets:
        fact = lf if e.node == node else rf
        _, extra, fails, _ = fact
        seen = _seen(cluster, node, flow, fact)
        if not admits(cluster, e.pod, seen)[0]:  # the request meets the policy at the pod, before any reply
            outcomes["dropped"] += each
            r["dropped"] += each
            continue
        if fails:
            outcomes["failed"] += each
            r["failed"] += each
            continue
        kept = seen == flow.client_ip
        cells[index[e.pod], 2 * extra + kept] += each
        r["delivered"] += each
        r["client_ip_kept"] += each * kept
        r["extra_hop"] += each * extra


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


def paths(
    cluster: Cluster,
    service: ServiceRef,
    *,
    lb: str | LoadBalancer | LoadBalancerProfile = "health-checked",
    clients: str = "external",
    address: str | None = None,
    dataplane: str | Dataplane = "iptables",
) -> Any:
    """Every way a new connection can go, one row per path, with its exact probability.

    The same chain :func:`k8slearn.send` walks once, with every branch multiplied out (node by
    node, endpoint by endpoint: meant for small clusters). :func:`traffic` sums the same thing per
    pod, grouped for speed; the two always agree (tests/test_path.py). Columns: ``probability``,
    ``client`` (which client pod, for ``clients="pods"``), ``entry_node`` (where a node's service
    proxy handled it; empty when a load balancer targets pods), ``pod``, ``pod_node``,
    ``outcome`` (``delivered``, ``dropped``, ``refused``, ``reply discarded``),
    ``source_seen_by_pod`` (when the request reached the pod), ``client_ip_kept`` and ``extra_hop``
    (true only for delivered connections), ``x_forwarded_for`` and ``proxy_protocol`` (the headers
    the pod received), ``path`` (the places, as names) and ``reason``.

    >>> from k8slearn import examples
    >>> p = paths(examples.one_two(), "web")
    >>> p[["probability", "entry_node", "pod", "client_ip_kept"]]
       probability entry_node    pod  client_ip_kept
    0         0.50     node-a  web-1            True
    1         0.25     node-b  web-2            True
    2         0.25     node-b  web-3            True
    """
    import pandas as pd

    svc, profile, dp, address = _arguments(cluster, service, lb, clients, address, dataplane)
    ctx = Context(cluster, svc, dataplane=dp, lb=profile)
    rows = []
    for weight, chain, flow in _starts(cluster, svc, clients, address, profile):
        for p in enumerate_paths(chain, flow, ctx):
            f = p.flow
            outcome, reason = p.outcome, p.reason
            seen = None
            if outcome == "delivered":
                delivered = next(h.after for h in reversed(p.hops) if h.action == "deliver")
                _, outcome, reason = reply(f, delivered, flow.segments[0].opener)
                seen = delivered.src
            entry = f.entry_node if f.decision is not None else None
            ok = outcome == "delivered"
            names: list[str] = []
            for h in p.hops:
                if not names or names[-1] != h.at.name:
                    names.append(h.at.name)
            rows.append({"probability": weight * p.weight, "client": flow.source.pod or str(flow.client_ip),
                         "entry_node": entry, "pod": f.pod, "pod_node": f.pod_node,
                         "outcome": outcome, "source_seen_by_pod": seen,
                         "client_ip_kept": ok and seen == f.client_ip,
                         "extra_hop": ok and entry is not None and f.pod_node != entry,
                         "x_forwarded_for": f.xff if seen is not None else "",
                         "proxy_protocol": f.header_text if seen is not None else "",
                         "path": names, "reason": reason})
    return pd.DataFrame(rows, columns=PATHS_COLUMNS)


def sessions(
    cluster: Cluster,
    service: ServiceRef,
    *,
    seed: int | np.random.Generator | None,
    clients: int = 20,
    connections: int = 5,
    lb: str | LoadBalancer | LoadBalancerProfile = "health-checked",
    dataplane: str | Dataplane = "iptables",
    proxies: Any = (),
) -> Any:
    """Many outside clients, each opening ``connections`` in a row: where does each one land?

    The connections share each node's ``sessionAffinity: ClientIP`` memory (kube-proxy's ``recent``
    match, per node, keyed on the source *that node* sees), so this shows what affinity does for
    real clients: behind a pass-through load balancer a client sticks to one pod per node it
    reaches; behind a proxying one (or any proxy in ``proxies``) every client looks alike, so each
    node sends all of them to the same pod. One row per client (addresses 198.51.100.7 and up):
    ``connections``, ``delivered``, ``nodes`` and ``pods`` (how many different ones it reached) and
    ``key_seen_by_nodes`` (the source addresses the nodes saw). ``frame.attrs``: ``affinity``,
    ``pods_used`` and ``busiest`` (the largest share of all connections one pod got).

    >>> from k8slearn import examples
    >>> c = examples.balanced(3)
    >>> _ = c.patch_service("web", session_affinity="ClientIP")
    >>> int(sessions(c, "web", seed=1, lb="metallb-l2")["pods"].max())   # one node, one pod per client
    1
    """
    import pandas as pd

    if not isinstance(clients, int) or not 1 <= clients <= 200 or not isinstance(connections, int) or connections < 1:
        from .errors import InvalidChange

        raise InvalidChange(f"clients={clients!r}, connections={connections!r}",
                            hint="clients is 1 to 200 (addresses 198.51.100.7 and up), connections at least 1.")
    svc = cluster.service(service)
    gen = rng(seed)
    memory: dict = {}
    rows = []
    landed: dict[str, int] = {}
    for i in range(clients):
        ip = IPv4Address(int(CLIENT_IP) + i)
        nodes, pods, keys, delivered = set(), set(), [], 0
        for k in range(connections):
            t = send(cluster, svc.name, client=str(ip), lb=lb, dataplane=dataplane, seed=gen, affinity=memory,
                     client_port=40000 + k, proxies=proxies)
            dnat = next((h for h in t.hops if h.action == "DNAT" and h.at.kind == "node"), None)
            if dnat is not None:
                keys.append(str(dnat.before.src))
            if t.entry_node:
                nodes.add(t.entry_node)
            if t.outcome == "delivered":
                delivered += 1
                pods.add(t.pod)
                landed[t.pod] = landed.get(t.pod, 0) + 1  # type: ignore[index]
        rows.append({"client": str(ip), "connections": connections, "delivered": delivered, "nodes": len(nodes),
                     "pods": len(pods), "key_seen_by_nodes": ", ".join(sorted(set(keys)))})
    frame = pd.DataFrame(rows, columns=SESSIONS_COLUMNS)
    total = sum(landed.values())
    frame.attrs.update({"affinity": svc.session_affinity, "pods_used": len(landed),
                        "busiest": max(landed.values()) / total if total else math.nan})
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


#: The most connections :func:`sample` draws in one call (each one is a random number in memory).
MAX_SAMPLE = 10_000_000


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
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= MAX_SAMPLE:
        from .errors import InvalidChange, show

        raise InvalidChange(f"n = {show(n)}: the number of connections must be a whole number from 1 to "
                            f"{MAX_SAMPLE:,}",
                            hint="for example sample(cluster, 'web', 1000, seed=1); for the exact shares, use "
                            "traffic(cluster, 'web').")
    n = int(n)
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


def by_node(cluster: Cluster, service: ServiceRef, *, lb: str | LoadBalancer | LoadBalancerProfile = "health-checked",
            dataplane: str | Dataplane = "iptables") -> Any:
    """Per node: its pods, the load balancer's share and what its health check finds (one row per node).

    ``health_check_port`` and ``health_check`` are what ``lb`` probes: kube-proxy's
    ``:10256/healthz`` or the ``healthCheckNodePort`` (HTTP status, or ``"no answer"``), the
    traffic port (``"connected"``, ``"timed out"``, ``"refused"``), or nothing.
    """
    import pandas as pd

    from .dataplane import health_check
    from .loadbalancer import probe

    svc = cluster.service(service)
    dp = get_dataplane(dataplane)
    profile = resolve(lb, svc) if svc.type == "LoadBalancer" else resolve("equal", svc)
    s = spread(cluster, svc, profile, dataplane=dp)
    rows = []
    for n in cluster.nodes:
        hc = health_check(cluster, svc, n)
        if profile.abstract:  # kube-proxy's own answer (the healthCheckNodePort, or :10256/healthz)
            port, answer = hc.port, (hc.status if hc.status is not None else "no answer")
        else:
            pr = probe(cluster, svc, n, profile, dataplane=dp)
            port, answer = pr.port, (int(pr.answer) if pr.answer.isdigit() else pr.answer)
        rows.append({"node": n.name, "ready": n.ready,
                     "pods": sum(1 for e in cluster.endpoints_by_node(svc)[n.name] if e.ready),
                     "lb_share": s.weights.get(n.name, 0.0) if s.targets == "nodes" else 0.0,
                     "health_check_port": port, "health_check": answer,
                     "local_endpoints": hc.local_endpoints})
    return pd.DataFrame(rows, columns=["node", "ready", "pods", "lb_share", "health_check_port", "health_check",
                                       "local_endpoints"])


health = by_node
