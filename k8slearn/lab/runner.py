"""The kernel lab's scenarios: what the simulator predicts, what Linux netfilter does, and whether they agree.

Each :class:`Scenario` sets the service's ``externalTrafficPolicy`` (and, for some, its session
affinity or ``loadBalancerSourceRanges``) and the dataplane, and runs in each kube-proxy mode asked
for: in iptables mode it loads the rules :func:`k8slearn.dataplane.rules.render` writes into every
node namespace with ``iptables-restore``, in nftables mode the ruleset
:func:`k8slearn.dataplane.nft.render` writes with ``nft -f``. It points the load balancer (the
router namespace) at one node and opens real TCP connections from the client namespace, from one or
more client addresses (some behind an office NAT). The echo server in each pod answers with the
peer address it saw. The prediction for the same scenario and mode comes from
:func:`k8slearn.trace.send` (one trace per endpoint kube-proxy could pick, and for session affinity
the whole series of connections with one shared memory), so the comparison is simulator against
kernel, not rules against themselves.

Taught in notebooks/11-real-cluster-lab.ipynb; run it with ``sudo k8slearn lab``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

from .. import examples
from ..dataplane import KubeProxy, Source, chains, decide
from ..dataplane.nft import render as render_nft
from ..dataplane.rules import render
from ..errors import NotFound, show
from ..model import CLIENT_IP, CLIENT_IP6, Cluster
from ..proxychain import Proxy
from ..trace import send
from .netns import (
    CLEANUP_COMMAND,
    OFFICE,
    OFFICE_NAT,
    PREFIX,
    LabError,
    Topology,
    _batch,
    build,
    check_host,
    cleanup,
    lab_lock,
    leftover_processes,
    leftovers,
    lock_holder,
    run_in,
)
from .programs import CLIENT, MARKER

__all__ = ["Scenario", "SCENARIOS", "MODES", "run", "predict", "preflight", "check_system", "check_modes",
           "format_report", "dataplane_for", "seen_by_node", "SIGMAS", "rules_text"]

#: Tolerance of the distribution check: each pod's count within this many binomial standard
#: deviations of n/N. A correct datapath fails it with probability about 6e-5 per pod.
SIGMAS = 4.0


@dataclass(frozen=True)
class Scenario:
    """One question put to both the simulator and the kernel (in each kube-proxy mode asked for).

    ``via`` is the node the load balancer (or the client, for a NodePort) sends every connection
    to; ``address`` is ``"loadBalancerIP"`` or ``"nodePort"``; ``distribution`` adds the per-pod
    count check. ``dataplane`` is ``"kube-proxy"`` (in the run's mode: iptables or nftables) or
    ``"no-snat"`` (a hypothetical kube-proxy that never masquerades external traffic).
    ``clients`` are the source addresses the connections come from, in turn (default: the one
    client, 198.51.100.7); those inside ``netns.OFFICE`` sit behind the office NAT, so kube-proxy
    sees the NAT's address for all of them. ``patch`` sets service fields for this scenario
    (``session_affinity``, ``load_balancer_source_ranges`` ...); ``sticky`` adds the session
    affinity check: every source kube-proxy sees lands on one pod, the one the kernel remembers.
    ``family="IPv6"`` runs it over IPv6 (on a dual-stack cluster: the lab's default, the dual-stack
    uneven cluster). ``expiry`` (seconds, longer than the service's ``timeoutSeconds``) adds the
    session affinity expiry check: two connections, a pause of ``expiry`` seconds, two more; the
    kernel's counters on the affinity lookups (iptables ``recent --rcheck``, nftables
    ``saddr @affinity-*``) show which connections the memory sent, and the simulator (with ``at=``)
    says which it should.
    """

    name: str
    title: str
    external_traffic_policy: str
    dataplane: str
    via: str
    address: str
    connections: int
    timeout: float
    distribution: bool = False
    clients: tuple[str, ...] = ()
    patch: tuple[tuple[str, Any], ...] = ()
    sticky: bool = False
    family: str = "IPv4"
    expiry: float = 0.0


#: The kube-proxy modes the lab runs each scenario in (``k8slearn lab --mode``).
MODES = ("iptables", "nftables")

_AFFINITY = (("session_affinity", "ClientIP"), ("session_affinity_timeout", 600))
_RANGES = (("load_balancer_source_ranges", ("198.51.100.0/28",)),)
#: The expiry scenario's timeoutSeconds (the API's minimum) and the pause that outlasts it.
_SHORT_AFFINITY = (("session_affinity", "ClientIP"), ("session_affinity_timeout", 1))
_EXPIRY_PAUSE = 1.3

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("cluster-snat-extra-hop",
             "Cluster via node-c (no local pod): every connection takes an extra hop and the pod sees node-c's IP",
             "Cluster", "kube-proxy", "node-c", "loadBalancerIP", 30, 1.0),
    Scenario("cluster-snat-local-endpoint",
             "Cluster via node-a's NodePort: SNAT even to a pod on node-a (it sees the bridge address 10.244.1.1)",
             "Cluster", "kube-proxy", "node-a", "nodePort", 30, 1.0),
    Scenario("local-keeps-client-ip",
             "Local via node-a: only node-a's pods answer, and they see the client's own IP",
             "Local", "kube-proxy", "node-a", "loadBalancerIP", 30, 1.0),
    Scenario("local-drop-no-endpoint",
             "Local via node-c (no local pod): DROP, the client times out",
             "Local", "kube-proxy", "node-c", "loadBalancerIP", 4, 0.5),
    Scenario("local-nodeport-drop-no-endpoint",
             "Local via node-c's NodePort: DROP (iptables: filter KUBE-EXTERNAL-SERVICES; nftables: the "
             "no-endpoint-nodeports map), the client times out",
             "Local", "kube-proxy", "node-c", "nodePort", 4, 0.5),
    Scenario("no-snat-asymmetric-reply",
             "Hypothetical kube-proxy without SNAT via node-c: the pod answers the client directly, "
             "the client discards the reply, the connection times out",
             "Cluster", "no-snat", "node-c", "loadBalancerIP", 4, 0.5),
    Scenario("distribution",
             f"Cluster via node-c, 300 connections: each of the 3 pods gets 1/3 (within {SIGMAS:g} sigma)",
             "Cluster", "kube-proxy", "node-c", "loadBalancerIP", 300, 1.0, distribution=True),
    Scenario("session-affinity",
             "sessionAffinity ClientIP via node-c: all 12 connections of each of two clients land on one pod "
             "each (the pod the kernel remembers for that source, for the timeout)",
             "Cluster", "kube-proxy", "node-c", "loadBalancerIP", 24, 1.0,
             clients=("198.51.100.7", "198.51.100.8"), patch=_AFFINITY, sticky=True),
    Scenario("session-affinity-behind-nat",
             "sessionAffinity ClientIP, four clients behind one office NAT: kube-proxy sees one source, so all "
             "of them land on the same pod",
             "Cluster", "kube-proxy", "node-c", "loadBalancerIP", 16, 1.0,
             clients=("198.51.100.20", "198.51.100.21", "198.51.100.22", "198.51.100.23"), patch=_AFFINITY,
             sticky=True),
    Scenario("session-affinity-expiry",
             f"sessionAffinity ClientIP with timeoutSeconds 1 via node-c: the second connection sticks to the "
             f"first one's pod; after {_EXPIRY_PAUSE:g} s without a connection the kernel has forgotten the client, "
             "so the third is a fresh pick (no affinity rule matches; it may land anywhere), and the fourth sticks "
             "to the third's pod",
             "Cluster", "kube-proxy", "node-c", "loadBalancerIP", 4, 1.0, patch=_SHORT_AFFINITY,
             expiry=_EXPIRY_PAUSE),
    Scenario("source-ranges",
             "loadBalancerSourceRanges 198.51.100.0/28 via node-a: 198.51.100.7 gets in, 198.51.100.77 is "
             "dropped before any DNAT (iptables: KUBE-FW-*; nftables: the firewall-* chain) and times out",
             "Cluster", "kube-proxy", "node-a", "loadBalancerIP", 8, 0.5,
             clients=("198.51.100.7", "198.51.100.77"), patch=_RANGES),
    Scenario("source-ranges-nodeport-bypass",
             "the same loadBalancerSourceRanges do not guard the NodePort: 198.51.100.77 gets in through "
             "node-a's NodePort",
             "Cluster", "kube-proxy", "node-a", "nodePort", 8, 1.0, clients=("198.51.100.77",), patch=_RANGES),
    Scenario("ipv6-cluster-snat",
             "IPv6 (dual-stack service), Cluster via node-c: the pods see node-c's IPv6 address fd00:192:168::13",
             "Cluster", "kube-proxy", "node-c", "loadBalancerIP", 30, 1.0, clients=(str(CLIENT_IP6),), family="IPv6"),
    Scenario("ipv6-local-keeps-client-ip",
             "IPv6, Local via node-a's NodePort: only node-a's pods answer, and they see the client's own IPv6 address",
             "Local", "kube-proxy", "node-a", "nodePort", 30, 1.0, clients=(str(CLIENT_IP6),), family="IPv6"),
)


def dataplane_for(sc: Scenario, mode: str) -> KubeProxy:
    """The kube-proxy a scenario runs with in ``mode`` ("iptables" or "nftables")."""
    if mode not in MODES:
        raise NotFound("mode", mode, list(MODES))
    return KubeProxy(mode=mode, snat_external=sc.dataplane != "no-snat")


def _dataplane_label(sc: Scenario, mode: str) -> str:
    return mode if sc.dataplane != "no-snat" else f"no-snat ({mode})"


def _variant(cluster: Cluster, sc: Scenario) -> Cluster:
    c = cluster.copy()
    if c.service("web").external_traffic_policy != sc.external_traffic_policy:
        c.patch_service("web", external_traffic_policy=sc.external_traffic_policy)
    if sc.patch:
        c.patch_service("web", **dict(sc.patch))
    return c


def _clients(sc: Scenario) -> tuple[str, ...]:
    return sc.clients or (str(CLIENT_IP),)


def _behind_nat(client: str) -> bool:
    address = ip_address(client)
    return address.version == 4 and address in OFFICE


def seen_by_node(client: str) -> str:
    """The source address kube-proxy sees for a client (the office NAT's for the office)."""
    return str(OFFICE_NAT) if _behind_nat(client) else client


def _proxies(client: str) -> list[Proxy]:
    return [Proxy("office NAT", str(OFFICE_NAT), layer="SNAT")] if _behind_nat(client) else []


_CLIENT_VIEW = {"delivered": "answered", "reply discarded": "timeout", "dropped": "timeout", "refused": "refused"}


def predict(cluster: Cluster, sc: Scenario, mode: str = "iptables") -> dict[str, Any]:
    """The simulator's answer: every outcome each client can see, with the pod and source IP, and shares.

    IPv6 scenarios need a dual-stack cluster (:func:`k8slearn.examples.dual_stack`, the lab's default).

    >>> p = predict(examples.uneven(), SCENARIOS[0])
    >>> sorted((o["pod"], o["source_seen"], o["outcome"]) for o in p["possible"])
    [('web-1', '192.168.0.13', 'answered'), ('web-2', '192.168.0.13', 'answered'), ('web-3', '192.168.0.13', 'answered')]
    """
    c = _variant(cluster, sc)
    node = c.node(sc.via)
    dp = dataplane_for(sc, mode)
    possible: list[dict[str, Any]] = []
    verdicts, chains_, shares = {}, {}, {}
    for client in _clients(sc):
        source = Source("external", ip_address(seen_by_node(client)))
        d = decide(c, "web", node=node.name, source=source, destination=sc.address, dataplane=dp)
        verdicts[client], chains_[client] = d.verdict, list(d.steps)
        common = dict(client=client, via=node.name, address=sc.address, dataplane=dp, seed=0, proxies=_proxies(client))
        if d.verdict == "DNAT":
            for e in d.endpoints:
                t = send(c, "web", endpoint=e.pod, **common)
                outcome = _CLIENT_VIEW[t.outcome]
                possible.append({"client": client, "pod": e.pod, "outcome": outcome, "extra_hop": t.extra_hop,
                                 "source_seen": str(t.source_seen_by_pod) if outcome == "answered" else None,
                                 "why": t.reason if outcome != "answered" else t.summary()})
            shares = {e.pod: 1 / len(d.endpoints) for e in d.endpoints}
        else:
            t = send(c, "web", **common)
            possible.append({"client": client, "pod": None, "outcome": _CLIENT_VIEW[t.outcome], "extra_hop": False,
                             "source_seen": None, "why": t.reason})
    first = _clients(sc)[0]
    out: dict[str, Any] = {"verdict": verdicts[first], "chains": chains_[first], "possible": possible, "shares": shares}
    if len(_clients(sc)) > 1:
        out["verdicts"], out["chains_by_client"] = verdicts, chains_
    if sc.sticky:
        out["sticky"] = _predict_sticky(c, sc, dp)
    if sc.expiry:
        out["expiry"] = _predict_expiry(c, sc, dp)
    return out


def _expiry_plan(sc: Scenario) -> list[float]:
    """When the expiry scenario's connections start (seconds): two at once, two after the pause."""
    half = sc.connections // 2
    return [0.0] * half + [sc.expiry] * (sc.connections - half)


def _predict_expiry(c: Cluster, sc: Scenario, dp: KubeProxy) -> list[dict[str, Any]]:
    """The expiry scenario's connections through the simulator, with one memory and a clock
    (``send(..., affinity=, at=)``): for each, whether sessionAffinity's memory picks its pod."""
    memory: dict = {}
    out = []
    for k, at in enumerate(_expiry_plan(sc)):
        t = send(c, "web", client=_clients(sc)[0], via=sc.via, address=sc.address, dataplane=dp, seed=k,
                 affinity=memory, at=at)
        dnat = next(h for h in t.hops if h.action == "DNAT")
        by_memory = "again: sessionAffinity" in dnat.note
        out.append({"at": at, "by_memory": by_memory, "why": dnat.note.rsplit(". ", 1)[-1]})
    return out


def _predict_sticky(c: Cluster, sc: Scenario, dp: KubeProxy) -> dict[str, Any]:
    """The scenario's connections, one after another, through the simulator with one shared
    sessionAffinity memory: which pods each source kube-proxy sees lands on."""
    memory: dict = {}
    pods: dict[str, set[str]] = {}
    clients = _clients(sc)
    for k in range(sc.connections):
        client = clients[k % len(clients)]
        t = send(c, "web", client=client, via=sc.via, address=sc.address, dataplane=dp, seed=k,
                 proxies=_proxies(client), affinity=memory)
        pods.setdefault(seen_by_node(client), set()).add(t.pod or "-")
    return {"sources": {src: {"clients": [x for x in clients if seen_by_node(x) == src], "pods_per_source": len(p)}
                        for src, p in sorted(pods.items())},
            "timeout_seconds": c.service("web").session_affinity_timeout}


def _observe(results: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes = Counter(r["outcome"] for r in results)
    seen = Counter((r["pod"], r["peer"]) for r in results if r["outcome"] == "answered")
    errors = sorted({r.get("error", "") for r in results if r["outcome"] == "error"})
    by_client: dict[str, Counter] = {}
    for r in results:
        key = r.get("src", str(CLIENT_IP))
        by_client.setdefault(key, Counter())[(r["outcome"], r.get("pod"), r.get("peer"))] += 1
    return {"connections": len(results), "outcomes": dict(sorted(outcomes.items())),
            "seen": [{"pod": pod, "source_seen": peer, "count": n} for (pod, peer), n in sorted(seen.items())],
            "by_client": {client: [{"outcome": o, "pod": pod, "source_seen": peer, "count": n}
                                   for (o, pod, peer), n in sorted(counts.items(), key=str)]
                          for client, counts in sorted(by_client.items())},
            **({"errors": errors} if errors else {})}


def _distribution(predicted: dict[str, Any], observed: dict[str, Any], n: int) -> dict[str, Any]:
    counts = Counter()
    for s in observed["seen"]:
        counts[s["pod"]] += s["count"]
    rows, chi2, ok = [], 0.0, True
    for pod, p in sorted(predicted["shares"].items()):
        expected = n * p
        sigma = math.sqrt(n * p * (1 - p)) or 1.0
        got = counts.get(pod, 0)
        within = abs(got - expected) <= SIGMAS * sigma
        ok &= within
        chi2 += (got - expected) ** 2 / expected if expected else 0.0
        rows.append({"pod": pod, "count": got, "expected": round(expected, 2),
                     "low": round(expected - SIGMAS * sigma, 1), "high": round(expected + SIGMAS * sigma, 1),
                     "within": within})
    extra = set(counts) - set(predicted["shares"])
    return {"tolerance": f"each pod within {SIGMAS:g} binomial sigma of n/N", "pods": rows,
            "chi_square": round(chi2, 3), "degrees_of_freedom": max(len(rows) - 1, 0),
            "agree": ok and not extra}


def _agree(sc: Scenario, predicted: dict[str, Any], observed: dict[str, Any]) -> tuple[bool, list[str]]:
    problems = []
    for client, rows in observed["by_client"].items():
        mine = [p for p in predicted["possible"] if p.get("client", client) == client]
        if not mine:
            problems.append(f"connections from {client}: no prediction for this client")
            continue
        allowed = {(p["pod"], p["source_seen"]) for p in mine if p["outcome"] == "answered"}
        outcomes = {p["outcome"] for p in mine}
        for r in rows:
            if r["outcome"] == "answered" and (r["pod"], r["source_seen"]) not in allowed:
                problems.append(f"{client}: {r['pod']} saw {r['source_seen']} ({r['count']}x): not predicted")
            elif r["outcome"] not in outcomes:
                problems.append(f"{client}: {r['count']} connection(s) {r['outcome']}: not predicted")
    if sc.connections >= 20 and not sc.sticky:  # every possible pod shows up (a miss has probability < 1e-5 here)
        answered = {s["pod"] for s in observed["seen"]}
        for pod in sorted({p["pod"] for p in predicted["possible"] if p["outcome"] == "answered"}):
            if pod not in answered:
                problems.append(f"{pod} was predicted but never answered")
    if sc.sticky:
        problems += _agree_sticky(predicted["sticky"], observed)
    if sc.expiry:
        problems += _agree_expiry(predicted["expiry"], observed)
    return not problems, problems


def _agree_expiry(expected: list[dict[str, Any]], observed: dict[str, Any]) -> list[str]:
    """Each connection went by the affinity memory exactly when the simulator says so, and one that
    did landed on the pod of the connection before it."""
    problems = []
    got = observed["expiry"]
    if [g["by_memory"] for g in got] != [e["by_memory"] for e in expected]:
        problems.append("connections sent by the affinity memory: kernel "
                        f"{[g['by_memory'] for g in got]}, simulator {[e['by_memory'] for e in expected]}")
    for k, g in enumerate(got):
        if g["by_memory"] and k and g["pod"] != got[k - 1]["pod"]:
            problems.append(f"connection {k + 1} was sent by the affinity memory to {g['pod']}, but the one "
                            f"before it went to {got[k - 1]['pod']}")
    return problems


def _agree_sticky(sticky: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    problems = []
    landed: dict[str, set[str]] = {}
    for client, rows in observed["by_client"].items():
        for r in rows:
            if r["outcome"] == "answered":
                landed.setdefault(seen_by_node(client), set()).add(r["pod"])
    memory = observed.get("affinity_memory", {})
    for src, expected in sticky["sources"].items():
        pods = landed.get(src, set())
        if len(pods) != expected["pods_per_source"]:
            problems.append(f"connections kube-proxy sees from {src} landed on {len(pods)} pods ({', '.join(sorted(pods))}); "
                            f"the simulator predicts {expected['pods_per_source']}")
        remembered = sorted(pod for pod, sources in memory.items() if src in sources)
        if pods and remembered != sorted(pods):
            problems.append(f"the kernel remembers {src} for {remembered or 'no pod'}, but its connections "
                            f"landed on {sorted(pods)}")
    return problems


def _families(cluster: Cluster) -> tuple[str, ...]:
    return cluster.ip_families


_RESTORE = {"IPv4": "iptables-restore", "IPv6": "ip6tables-restore"}


def _rules_for(cluster: Cluster, node: str, sc: Scenario, mode: str) -> list[tuple[str, str, str]]:
    """What the lab loads on ``node`` for ``sc`` in ``mode`` (``cluster`` already set up for the
    scenario): one ``(family, command, text)`` per IP family, in the order loaded.

    iptables mode: ``iptables-restore`` / ``ip6tables-restore`` of :func:`k8slearn.dataplane.rules.render`;
    nftables mode: the ``ip`` / ``ip6`` ``kube-proxy`` tables of :func:`k8slearn.dataplane.nft.render`
    with counters added (:func:`_with_counters`), loaded together as one ``nft -f`` transaction.
    """
    dp = dataplane_for(sc, mode)
    if mode == "nftables":
        return [(family, "nft -f", _with_counters(render_nft(cluster, node, dataplane=dp, family=family)))
                for family in _families(cluster)]
    return [(family, _RESTORE[family], render(cluster, node, dataplane=dp, jumps=True, family=family))
            for family in _families(cluster)]


def _load_rules(topo: Topology, cluster: Cluster, sc: Scenario, mode: str) -> None:
    """Load what kube-proxy in ``mode`` would write on every node: one proxier per IP family (both
    on a dual-stack cluster, as kube-proxy runs them)."""
    empty = "*filter\nCOMMIT\n*nat\nCOMMIT\n"
    for node in cluster.nodes:
        ns = topo.nodes[node.name]
        loaded = _rules_for(cluster, node.name, sc, mode)
        if mode == "nftables":
            # Empty whatever the last scenario loaded (iptables rules too, whichever backend), then
            # load the tables kube-proxy would write, as one nft transaction.
            for family in _families(cluster):
                run_in(ns, [_RESTORE[family]], input=empty)
            run_in(ns, ["nft", "-f", "-"], input="flush ruleset\n" + "".join(text for _, _, text in loaded))
        else:
            if shutil.which("nft"):
                run_in(ns, ["nft", "flush", "ruleset"])
            for _, command, text in loaded:
                run_in(ns, [command], input=text)
            # A fresh start for the 'recent' match's memory (sessionAffinity) left by an earlier scenario.
            run_in(ns, ["sh", "-c", "for f in /proc/net/xt_recent/*; do [ -e \"$f\" ] && echo / > \"$f\"; done; true"])
        if shutil.which("conntrack"):
            run_in(ns, ["conntrack", "-F"], check=False)


def rules_text(node: str, *, modes: Any = "both", scenario: str | None = None,
               cluster: Cluster | None = None) -> str:
    """The rules the lab loads on ``node``, as text: per mode and per IP family, each under a
    ``#`` header naming the command that loads it (``k8slearn lab --rules NODE``).

    ``scenario`` chooses whose service settings (default: the first, ``cluster-snat-extra-hop``,
    which runs the cluster as built); ``cluster`` defaults to the lab's own, dual-stack. Every
    section is exactly the input the lab gives that command (headers are comments to both
    ``iptables-restore`` and ``nft``).

    >>> text = rules_text("node-c", modes="nftables")
    >>> [line for line in text.splitlines() if line.startswith("# ==")]  # doctest: +NORMALIZE_WHITESPACE
    ['# ===== nftables mode, IPv4: nft -f input (table ip kube-proxy) =====',
     '# ===== nftables mode, IPv6: nft -f input (table ip6 kube-proxy) =====']
    """
    cluster = examples.dual_stack() if cluster is None else cluster
    names = {s.name: s for s in SCENARIOS}
    if scenario is not None and scenario not in names:
        raise NotFound("scenario", scenario, list(names))
    sc = names[scenario or SCENARIOS[0].name]
    c = _variant(cluster, sc)
    node = c.node(node).name  # a wrong name lists the valid ones
    svc = c.service("web")
    settings = f"externalTrafficPolicy {svc.external_traffic_policy}"
    if svc.session_affinity != "None":
        settings += f", sessionAffinity {svc.session_affinity} ({svc.session_affinity_timeout} s)"
    if svc.load_balancer_source_ranges:
        settings += f", loadBalancerSourceRanges {', '.join(map(str, svc.load_balancer_source_ranges))}"
    if sc.dataplane == "no-snat":
        settings += ", a kube-proxy that never masquerades external traffic"
    lines = [f"# What the kernel lab loads on {node} (namespace {PREFIX}n-{node}) for scenario {sc.name}:",
             f"# service web with {settings}; IP families {', '.join(_families(c))}."]
    if scenario is None:
        lines.append("# Other scenarios change the service: `k8slearn lab --rules NODE --scenario NAME`.")
    out = "\n".join(lines) + "\n"
    for mode in check_modes(modes):
        for family, command, text in _rules_for(c, node, sc, mode):
            if mode == "nftables":
                what = f"nft -f input (table {'ip' if family == 'IPv4' else 'ip6'} kube-proxy)"
            else:
                what = f"{command} input"
            out += f"# ===== {mode} mode, {family}: {what} =====\n"
            if mode == "nftables" and family == _families(c)[0]:
                out += ("# both families in one `nft -f` transaction after `flush ruleset`; the lab adds a "
                        "`counter` to each\n# per-service rule, so its report can show which rules packets took\n")
            out += text
    return out


_VERDICT = re.compile(r" (jump|goto|drop|dnat to|update @)")


def _with_counters(text: str) -> str:
    """The rendered ruleset with a ``counter`` before the action of each per-service rule.

    Only so that the report can show which of kube-proxy's rules packets took, as iptables keeps
    counters on every rule by itself. A counter matches everything and changes nothing; the rules
    are otherwise exactly :func:`k8slearn.dataplane.nft.render`'s.
    """
    out = []
    for line in text.splitlines():
        parts = line.split(" ", 5)
        if line.startswith("add rule ") and "/" in parts[4]:
            body = " " + parts[5]
            m = _VERDICT.search(body)
            at = m.start() if m and not body.startswith((" numgen", " jump", " goto")) else 0
            line = " ".join(parts[:5]) + (body[:at] + " counter" + body[at:])
        out.append(line)
    return "\n".join(out) + "\n"


def _connect(topo: Topology, cluster: Cluster, sc: Scenario) -> list[dict[str, Any]]:
    svc, node = cluster.service("web"), cluster.node(sc.via)
    node_ip = node.address(sc.family)
    if sc.address == "loadBalancerIP":
        lb_ip = svc.load_balancer_ips_of(sc.family)[0]
        _batch(topo.router, [f"route replace {lb_ip}/{lb_ip.max_prefixlen} via {node_ip}"])
        host, port = str(lb_ip), svc.port
    else:
        host, port = str(node_ip), int(svc.node_port or 0)
    workers = min(32, sc.connections)
    sources = ",".join(sc.clients)
    run = run_in(topo.client, [sys.executable, "-I", "-c", CLIENT, host, str(port), str(sc.connections),
                               str(sc.timeout), str(workers), MARKER, sources, "warm-up" if sc.sticky else "-"],
                 timeout=10 + sc.timeout * (sc.connections / max(workers, 1) + len(sc.clients)))
    return json.loads(run.stdout)


def _affinity_hits(topo: Topology, sc: Scenario, mode: str) -> int:
    """How many connections the affinity lookups on the receiving node have sent so far (the packet
    counters of iptables' ``recent --rcheck`` rules, or of nftables' ``saddr @affinity-*`` rules:
    only a connection's first packet passes the nat chains)."""
    if mode == "nftables":
        family = "ip" if sc.family == "IPv4" else "ip6"
        listed = run_in(topo.nodes[sc.via], ["nft", "list", "table", family, "kube-proxy"]).stdout
        return sum(int(m.group(1)) for line in listed.splitlines() if "saddr @affinity-" in line
                   for m in [re.search(r"counter packets (\d+)", line)] if m)
    saved = run_in(topo.nodes[sc.via], ["iptables-save" if sc.family == "IPv4" else "ip6tables-save",
                                        "-c", "-t", "nat"]).stdout
    return sum(int(line[1:].split(":", 1)[0]) for line in saved.splitlines()
               if line.startswith("[") and "--rcheck" in line)


def _connect_expiry(topo: Topology, cluster: Cluster, sc: Scenario, mode: str) -> tuple[list[dict[str, Any]], dict]:
    """The expiry scenario: one connection at a time, a pause of ``sc.expiry`` s half-way; after each,
    whether the affinity memory sent it (its counters moved). Returns the results and what the
    kernel remembered after the pause."""
    one = dataclasses.replace(sc, connections=1, expiry=0.0)
    results, remembered, hits = [], {}, _affinity_hits(topo, sc, mode)
    started = last = time.monotonic()
    for k, at in enumerate(_expiry_plan(sc)):
        if at and not remembered:
            time.sleep(max(0.0, at - (time.monotonic() - last)))
            remembered = {"after_pause": _affinity_memory(topo, cluster, sc, mode)}
        begun = last = time.monotonic()
        r = _connect(topo, cluster, one)[0]
        now = _affinity_hits(topo, sc, mode)
        r.update(at=round(begun - started, 3), by_memory=now > hits)
        hits = now
        results.append(r)
    return results, remembered


def _rules_hit(topo: Topology, sc: Scenario, mode: str) -> list[str]:
    """The kube-proxy rules (of the scenario's IP family) on the receiving node whose packet counters moved."""
    if mode == "nftables":
        family = "ip" if sc.family == "IPv4" else "ip6"
        listed = run_in(topo.nodes[sc.via], ["nft", "list", "table", family, "kube-proxy"], check=False).stdout
        hit, chain = [], ""
        for line in listed.splitlines():
            text = line.strip()
            if text.startswith("chain "):
                chain = text.split()[1]
            m = re.search(r"counter packets (\d+) bytes \d+", text)
            if m and int(m.group(1)):
                hit.append(f"{chain}: {text[:m.start()].strip()} {text[m.end():].strip()}  ({m.group(1)} packets)")
        return hit
    saved = run_in(topo.nodes[sc.via], ["iptables-save" if sc.family == "IPv4" else "ip6tables-save", "-c"],
                   check=False).stdout
    hit, table = [], ""
    for line in saved.splitlines():
        if line.startswith("*"):
            table = line[1:]
        if not line.startswith("[") or " -A KUBE-" not in line:
            continue
        counters, rule = line.split(" ", 1)
        packets = int(counters.strip("[]").split(":")[0])
        if packets:
            hit.append(f"{table}: {rule}  ({packets} packets)")
    return hit


def _affinity_memory(topo: Topology, cluster: Cluster, sc: Scenario, mode: str) -> dict[str, list[str]]:
    """What the kernel remembers for sessionAffinity on the receiving node: pod -> client sources.

    iptables mode: the ``recent`` match's lists (``/proc/net/xt_recent/KUBE-SEP-*``); nftables mode:
    the ``affinity-*`` sets (``nft list set``).
    """
    svc = cluster.service("web")
    ns = topo.nodes[sc.via]
    memory: dict[str, list[str]] = {}
    for e in cluster.endpoints(svc, family=sc.family):
        if mode == "nftables":
            name = chains.nft_affinity_set(svc.namespace, svc.name, e.ip, e.port)
            family = "ip" if sc.family == "IPv4" else "ip6"
            text = run_in(ns, ["nft", "list", "set", family, "kube-proxy", name], check=False).stdout
            block = text.split("elements = {", 1)[1] if "elements = {" in text else ""
            found = re.findall(r"(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]+)\s+(?:timeout|expires)", block)
        else:
            name = chains.endpoint_chain(svc.namespace, svc.name, e.ip, e.port)
            text = run_in(ns, ["sh", "-c", f"cat /proc/net/xt_recent/{name} 2>/dev/null; true"], check=False).stdout
            found = re.findall(r"src=(\S+)", text)
        if found:
            memory[e.pod] = sorted(set(found))
    return memory


def _run_scenario(topo: Topology, cluster: Cluster, sc: Scenario, mode: str = "iptables") -> dict[str, Any]:
    t0 = time.perf_counter()
    predicted = predict(cluster, sc, mode)
    simulator_seconds = time.perf_counter() - t0

    c = _variant(cluster, sc)
    t0 = time.perf_counter()
    _load_rules(topo, c, sc, mode)
    if sc.expiry:
        results, remembered = _connect_expiry(topo, c, sc, mode)
    else:
        results = _connect(topo, c, sc)
    kernel_seconds = time.perf_counter() - t0

    observed = _observe(results)
    if sc.expiry:
        observed["expiry"] = [{"at": r["at"], "outcome": r["outcome"], "pod": r.get("pod"),
                               "by_memory": r["by_memory"]} for r in results]
        observed["affinity_memory_after_pause"] = remembered["after_pause"]
    observed["rules_hit_on_" + sc.via] = _rules_hit(topo, sc, mode)
    if sc.sticky:
        observed["affinity_memory"] = _affinity_memory(topo, c, sc, mode)
    agree, problems = _agree(sc, predicted, observed)
    entry: dict[str, Any] = {"name": sc.name, "mode": mode, "title": sc.title,
                             "externalTrafficPolicy": sc.external_traffic_policy,
                             "dataplane": _dataplane_label(sc, mode), "via": sc.via, "address": sc.address,
                             "clients": list(_clients(sc)), "predicted": predicted, "observed": observed}
    if sc.distribution:
        entry["distribution"] = _distribution(predicted, observed, observed["connections"])
        agree = agree and entry["distribution"]["agree"]
        if not entry["distribution"]["agree"]:
            problems.append("per-pod counts outside the tolerance")
    entry.update({"agree": agree, "problems": problems, "kernel_seconds": round(kernel_seconds, 4),
                  "simulator_seconds": round(simulator_seconds, 6),
                  "ratio": round(kernel_seconds / simulator_seconds, 1) if simulator_seconds else None})
    return entry


def check_system(modes: Sequence[str] = ("iptables",)) -> None:
    """Refuse clearly when the lab cannot run here: not Linux, not root, or iproute2/iptables (or,
    for nftables mode, nft) missing."""
    if platform.system() != "Linux":
        raise LabError("the kernel lab needs Linux (network namespaces and netfilter)",
                       hint="the simulator works everywhere; the lab checks it against the Linux kernel.")
    if os.geteuid() != 0:
        raise LabError(
            "the kernel lab needs root: it creates network namespaces and loads iptables rules inside them",
            hint="run it as root, e.g. `sudo k8slearn lab` (or `sudo .venv/bin/k8slearn lab`). It changes "
            "nothing in the host's own network namespace and removes everything it built when it ends.")
    tools = ["ip", "iptables", "iptables-restore", "ip6tables-restore"] + (["nft"] if "nftables" in modes else [])
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        raise LabError(f"the kernel lab needs {', '.join(missing)}",
                       hint="install them, e.g. `apt-get install iproute2 iptables nftables conntrack`"
                       + ("; or run only iptables mode: `k8slearn lab --mode iptables`." if missing == ["nft"] else "."))


def check_modes(modes: Any) -> tuple[str, ...]:
    """``modes`` as a tuple of kube-proxy modes (``"both"`` is iptables and nftables)."""
    if modes == "both" or modes is None:
        return MODES
    wanted = [modes] if isinstance(modes, str) else modes
    if not isinstance(wanted, (list, tuple)) or not wanted:
        raise LabError(f"modes: {show(modes)} is not a kube-proxy mode or a list of them",
                       hint='for example modes="nftables", modes=["iptables", "nftables"] or modes="both".')
    for mode in wanted:
        if not isinstance(mode, str) or mode not in MODES:
            raise NotFound("mode", mode, [*MODES, "both"])
    return tuple(dict.fromkeys(wanted))


def preflight(cluster: Cluster, modes: Sequence[str] = MODES) -> None:
    """Refuse clearly when the lab cannot or must not run: not Linux/root, tools missing, another run
    in progress, leftovers, address clash."""
    check_system(modes)
    holder = lock_holder()
    if holder:
        raise LabError(f"a kernel lab run is in progress ({holder})",
                       hint="one run at a time: wait for it to finish, or stop it (Ctrl-C).")
    found = leftovers()
    if found:
        pids = leftover_processes(found)
        procs = f" and {len(pids)} process(es) still running in them" if pids else ""
        raise LabError(f"a previous lab run left {len(found)} namespace(s) behind{procs}: "
                       f"{', '.join(found[:12])}{' ...' if len(found) > 12 else ''}; "
                       f"`{CLEANUP_COMMAND}` removes them",
                       hint="a run that is killed (kill -9, a crash) cannot clean up after itself; run "
                       f"`{CLEANUP_COMMAND}`, then the lab again.")
    check_host(cluster)


class _Signals:
    """Turn SIGINT/SIGTERM into exceptions while the lab runs, so ``finally`` always cleans up."""

    def __enter__(self) -> _Signals:
        self.saved = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def quiet(self) -> None:
        """Ignore further signals while cleaning up (a second Ctrl-C must not stop the cleanup)."""
        for sig in self.saved:
            signal.signal(sig, signal.SIG_IGN)

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def run(*, scenarios: Sequence[str] | None = None, cluster: Cluster | None = None,
        progress: Callable[[str], None] | None = None, modes: Any = "both") -> dict[str, Any]:
    """Build the lab, run the scenarios in each mode, clean up (always), and return the report as a dict.

    ``modes`` is ``"iptables"``, ``"nftables"``, ``"both"`` (the default) or a list of modes.
    ``report["scenarios"]`` holds one entry per scenario and mode with ``name``, ``mode``,
    ``predicted``, ``observed``, ``agree``, and the time the kernel and the simulator took;
    ``report["matrix"]`` is the same as a table: scenario -> mode -> agree. The run holds the lab
    lock from its checks to the end of its cleanup: a second run meanwhile is refused.
    """
    if cluster is None:
        cluster = examples.dual_stack()  # the uneven cluster, with IPv6 too (its IPv4 side is the same)
    elif not isinstance(cluster, Cluster):
        raise LabError(f"cluster: {show(cluster)} is not a Cluster", hint="pass a Cluster, e.g. examples.uneven().")
    if progress is not None and not callable(progress):
        raise LabError(f"progress: {show(progress)} is not callable", hint="pass a function such as print, or None.")
    modes = check_modes(modes)
    chosen = list(SCENARIOS)
    if scenarios is not None:
        names = {s.name: s for s in SCENARIOS}
        wanted = [scenarios] if isinstance(scenarios, str) else scenarios
        if not isinstance(wanted, (list, tuple)):
            raise LabError(f"scenarios: {show(scenarios)} is not a list of scenario names",
                           hint=f"for example scenarios=[{list(names)[0]!r}].")
        for name in wanted:
            if not isinstance(name, str) or name not in names:
                raise NotFound("scenario", name, list(names))
        chosen = [names[n] for n in wanted] or chosen
    skipped = [sc.name for sc in chosen if sc.family not in cluster.ip_families]
    chosen = [sc for sc in chosen if sc.family in cluster.ip_families]  # IPv6 scenarios need a dual-stack cluster
    check_system(modes)
    with lab_lock("run"):
        preflight(cluster, modes)
        report = _run(cluster, chosen, progress, modes)
    if skipped:
        report["skipped"] = {name: "an IPv6 scenario: the cluster is not dual-stack" for name in skipped}
    return report


def _tool_version(argv: list[str]) -> str:
    if not shutil.which(argv[0]):
        return ""
    return subprocess.run(argv, text=True, capture_output=True, check=False).stdout.strip()


def _run(cluster: Cluster, chosen: list[Scenario], progress: Callable[[str], None] | None,
         modes: Sequence[str] = ("iptables",)) -> dict[str, Any]:
    say = progress or (lambda message: None)
    report: dict[str, Any] = {
        "lab": "k8slearn kernel lab: the simulator checked against Linux netfilter",
        "cluster": cluster.summary().splitlines(),
        "kernel": platform.release(),
        "iptables": _tool_version(["iptables", "--version"]),
        "nft": _tool_version(["nft", "--version"]) if "nftables" in modes else "",
        "modes": list(modes),
        "scenarios": [],
    }
    started = time.perf_counter()
    topo: Topology | None = None
    with _Signals() as signals:
        try:
            say("building namespaces, links and echo servers ...")
            t0 = time.perf_counter()
            topo = build(cluster)
            report["setup_seconds"] = round(time.perf_counter() - t0, 3)
            for mode in modes:
                t0 = time.perf_counter()
                for sc in chosen:
                    say(f"[{mode}] scenario {sc.name} ...")
                    report["scenarios"].append(_run_scenario(topo, cluster, sc, mode))
                report[f"{mode}_seconds"] = round(time.perf_counter() - t0, 3)
        finally:
            signals.quiet()
            t0 = time.perf_counter()
            cleanup(topo.processes if topo else None)
            report["cleanup_seconds"] = round(time.perf_counter() - t0, 3)
    report["total_seconds"] = round(time.perf_counter() - started, 3)
    report["matrix"] = {sc.name: {s["mode"]: s["agree"] for s in report["scenarios"] if s["name"] == sc.name}
                        for sc in chosen}
    report["all_agree"] = all(s["agree"] for s in report["scenarios"])
    return report


def _predicted_text(possible: list[dict[str, Any]], several: bool) -> str:
    """``web-1, web-2 answered seeing 192.168.0.13`` per client (grouped: pods with the same view)."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for p in possible:
        key = (p.get("client", "") if several else "", p["outcome"], p["source_seen"] or "")
        groups.setdefault(key, []).append(p["pod"] or "-")
    parts = []
    for (client, outcome, seen), pods in groups.items():
        text = f"{', '.join(pods)} {outcome}" + (f" seeing {seen}" if seen else "")
        parts.append(f"{client}: {text}" if client else text)
    return "; ".join(parts)


def format_report(report: dict[str, Any]) -> str:
    """The report as text: one block per scenario and mode, then the scenarios x modes table."""
    versions = ", ".join(v for v in (report.get("iptables"), report.get("nft")) if v)
    lines = [report["lab"], f"kernel {report['kernel']}, {versions}", ""]
    lines += ["cluster:", *(f"  {line}" for line in report["cluster"]), ""]
    for s in report["scenarios"]:
        mark = "AGREE" if s["agree"] else "DISAGREE"
        lines.append(f"[{mark}] [{s.get('mode', 'iptables')}] {s['name']}: {s['title']}")
        several = len(s.get("clients", ())) > 1
        pred = _predicted_text(s["predicted"]["possible"], several)
        lines.append(f"    simulator: {s['predicted']['verdict']}: {pred}")
        obs = ", ".join(f"{k} {v}" for k, v in s["observed"]["outcomes"].items())
        seen = "; ".join(f"{x['pod']} saw {x['source_seen']} x{x['count']}" for x in s["observed"]["seen"])
        lines.append(f"    kernel:    {s['observed']['connections']} connections: {obs}" + (f"; {seen}" if seen else ""))
        if several:
            for client, rows in s["observed"].get("by_client", {}).items():
                got = ", ".join(f"{r['outcome']}" + (f" by {r['pod']}" if r["pod"] else "") + f" x{r['count']}"
                                for r in rows)
                lines.append(f"      from {client}: {got}")
        if "sticky" in s["predicted"]:
            groups = "; ".join(f"{src} (from {', '.join(g['clients'])}): {g['pods_per_source']} pod"
                               for src, g in s["predicted"]["sticky"]["sources"].items())
            lines.append(f"    simulator: sessionAffinity, one pod per source kube-proxy sees: {groups}")
            memory = "; ".join(f"{pod} <- {', '.join(src)}" for pod, src in s["observed"].get("affinity_memory", {}).items())
            lines.append(f"    affinity:  the kernel remembers {memory or 'nothing'}")
        if "expiry" in s["predicted"]:
            pred = ", ".join(f"{e['at']:g} s {'memory' if e['by_memory'] else 'fresh pick'}"
                             for e in s["predicted"]["expiry"])
            lines.append(f"    simulator: connections at {pred}")
            got = ", ".join(f"{g['at']:.2f} s {g['pod'] or g['outcome']} by "
                            f"{'memory' if g['by_memory'] else 'fresh pick'}" for g in s["observed"]["expiry"])
            lines.append(f"    kernel:    {got} (the affinity rules' counters)")
            memory = "; ".join(f"{pod} <- {', '.join(src)}"
                               for pod, src in s["observed"]["affinity_memory_after_pause"].items())
            lines.append(f"    affinity:  after the pause the kernel lists {memory or 'nothing'}"
                         + (" (the 'recent' list keeps a stale entry until a lookup reaps it)"
                            if memory and s.get("mode", "iptables") == "iptables" else ""))
        if "distribution" in s:
            d = s["distribution"]
            per = ", ".join(f"{r['pod']} {r['count']} (expected {r['expected']}, {r['low']}-{r['high']})"
                            for r in d["pods"])
            lines.append(f"    counts:    {per}; chi-square {d['chi_square']} (df {d['degrees_of_freedom']})")
        for problem in s["problems"]:
            lines.append(f"    problem:   {problem}")
        lines.append(f"    time:      kernel {s['kernel_seconds']:.3f} s, simulator {s['simulator_seconds'] * 1000:.2f} ms"
                     f" (ratio {s['ratio']})")
    matrix = report.get("matrix") or {}
    modes = report.get("modes") or ["iptables"]
    if matrix:
        width = max(len(n) for n in matrix)
        lines += ["", f"{'scenario'.ljust(width)}  " + "  ".join(m.ljust(9) for m in modes)]
        for name, row in matrix.items():
            cells = ["agree" if row.get(m) else ("-" if m not in row else "DISAGREE") for m in modes]
            lines.append(f"{name.ljust(width)}  " + "  ".join(c.ljust(9) for c in cells))
    timing = ", ".join(f"{m} {report[f'{m}_seconds']:.2f} s" for m in modes if f"{m}_seconds" in report)
    lines += ["", f"setup {report.get('setup_seconds', 0):.2f} s, {timing + ', ' if timing else ''}"
              f"cleanup {report.get('cleanup_seconds', 0):.2f} s, total {report['total_seconds']:.2f} s",
              "all scenarios agree with the simulator" if report["all_agree"] else "SOME SCENARIOS DISAGREE"]
    return "\n".join(lines)
