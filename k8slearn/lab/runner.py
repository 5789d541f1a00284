"""The kernel lab's scenarios: what the simulator predicts, what Linux netfilter does, and whether they agree.

Each :class:`Scenario` sets the service's ``externalTrafficPolicy`` and the dataplane, loads the
rules :func:`k8slearn.dataplane.rules.render` writes into every node namespace with
``iptables-restore``, points the load balancer (the router namespace) at one node, and opens real TCP
connections from the client namespace. The echo server in each pod answers with the peer address
it saw. The prediction for the same scenario comes from :func:`k8slearn.trace.send` (one trace per
endpoint kube-proxy could pick), so the comparison is simulator against kernel, not rules against
themselves.

Taught in notebooks/11-real-cluster-lab.ipynb; run it with ``sudo k8slearn lab``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import examples
from ..dataplane import Source, decide
from ..dataplane.rules import render
from ..errors import NotFound, show
from ..model import CLIENT_IP, Cluster
from ..trace import send
from .netns import (
    CLEANUP_COMMAND,
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

__all__ = ["Scenario", "SCENARIOS", "run", "predict", "preflight", "check_system", "format_report", "SIGMAS"]

#: Tolerance of the distribution check: each pod's count within this many binomial standard
#: deviations of n/N. A correct datapath fails it with probability about 6e-5 per pod.
SIGMAS = 4.0


@dataclass(frozen=True)
class Scenario:
    """One question put to both the simulator and the kernel.

    ``via`` is the node the load balancer (or the client, for a NodePort) sends every connection
    to; ``address`` is ``"loadBalancerIP"`` or ``"nodePort"``; ``distribution`` adds the per-pod
    count check.
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


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("cluster-snat-extra-hop",
             "Cluster via node-c (no local pod): every connection takes an extra hop and the pod sees node-c's IP",
             "Cluster", "iptables", "node-c", "loadBalancerIP", 30, 1.0),
    Scenario("cluster-snat-local-endpoint",
             "Cluster via node-a's NodePort: SNAT even to a pod on node-a (it sees the bridge address 10.244.1.1)",
             "Cluster", "iptables", "node-a", "nodePort", 30, 1.0),
    Scenario("local-keeps-client-ip",
             "Local via node-a: only node-a's pods answer, and they see the client's own IP",
             "Local", "iptables", "node-a", "loadBalancerIP", 30, 1.0),
    Scenario("local-drop-no-endpoint",
             "Local via node-c (no local pod): DROP, the client times out",
             "Local", "iptables", "node-c", "loadBalancerIP", 4, 0.5),
    Scenario("local-nodeport-drop-no-endpoint",
             "Local via node-c's NodePort: DROP in filter KUBE-EXTERNAL-SERVICES, the client times out",
             "Local", "iptables", "node-c", "nodePort", 4, 0.5),
    Scenario("no-snat-asymmetric-reply",
             "Hypothetical kube-proxy without SNAT via node-c: the pod answers the client directly, "
             "the client discards the reply, the connection times out",
             "Cluster", "no-snat", "node-c", "loadBalancerIP", 4, 0.5),
    Scenario("distribution",
             f"Cluster via node-c, 300 connections: each of the 3 pods gets 1/3 (within {SIGMAS:g} sigma)",
             "Cluster", "iptables", "node-c", "loadBalancerIP", 300, 1.0, distribution=True),
)


def _variant(cluster: Cluster, sc: Scenario) -> Cluster:
    c = cluster.copy()
    if c.service("web").external_traffic_policy != sc.external_traffic_policy:
        c.patch_service("web", external_traffic_policy=sc.external_traffic_policy)
    return c


_CLIENT_VIEW = {"delivered": "answered", "reply discarded": "timeout", "dropped": "timeout", "refused": "refused"}


def predict(cluster: Cluster, sc: Scenario) -> dict[str, Any]:
    """The simulator's answer: every outcome the client can see, with the pod and source IP, and shares.

    >>> p = predict(examples.uneven(), SCENARIOS[0])
    >>> sorted((o["pod"], o["source_seen"], o["outcome"]) for o in p["possible"])
    [('web-1', '192.168.0.13', 'answered'), ('web-2', '192.168.0.13', 'answered'), ('web-3', '192.168.0.13', 'answered')]
    """
    c = _variant(cluster, sc)
    node = c.node(sc.via)
    d = decide(c, "web", node=node.name, source=Source("external", CLIENT_IP), destination=sc.address,
               dataplane=sc.dataplane)
    possible = []
    if d.verdict == "DNAT":
        for e in d.endpoints:
            t = send(c, "web", via=node.name, address=sc.address, endpoint=e.pod, dataplane=sc.dataplane, seed=0)
            outcome = _CLIENT_VIEW[t.outcome]
            possible.append({"pod": e.pod, "outcome": outcome, "extra_hop": t.extra_hop,
                             "source_seen": str(t.source_seen_by_pod) if outcome == "answered" else None,
                             "why": t.reason if outcome != "answered" else t.summary()})
        shares = {e.pod: 1 / len(d.endpoints) for e in d.endpoints}
    else:
        t = send(c, "web", via=node.name, address=sc.address, dataplane=sc.dataplane, seed=0)
        possible.append({"pod": None, "outcome": _CLIENT_VIEW[t.outcome], "extra_hop": False,
                         "source_seen": None, "why": t.reason})
        shares = {}
    return {"verdict": d.verdict, "chains": list(d.steps), "possible": possible, "shares": shares}


def _observe(results: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes = Counter(r["outcome"] for r in results)
    seen = Counter((r["pod"], r["peer"]) for r in results if r["outcome"] == "answered")
    errors = sorted({r.get("error", "") for r in results if r["outcome"] == "error"})
    return {"connections": len(results), "outcomes": dict(sorted(outcomes.items())),
            "seen": [{"pod": pod, "source_seen": peer, "count": n} for (pod, peer), n in sorted(seen.items())],
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
    allowed = {(p["pod"], p["source_seen"]) for p in predicted["possible"] if p["outcome"] == "answered"}
    outcomes = {p["outcome"] for p in predicted["possible"]}
    for s in observed["seen"]:
        if (s["pod"], s["source_seen"]) not in allowed:
            problems.append(f"{s['pod']} saw {s['source_seen']} ({s['count']}x): not predicted")
    for outcome, n in observed["outcomes"].items():
        if outcome not in outcomes:
            problems.append(f"{n} connection(s) {outcome}: not predicted")
    if sc.connections >= 20:  # every possible pod shows up (a miss has probability < 1e-5 here)
        answered = {s["pod"] for s in observed["seen"]}
        for pod, seen in sorted(allowed):
            if pod not in answered:
                problems.append(f"{pod} was predicted but never answered")
    return not problems, problems


def _load_rules(topo: Topology, cluster: Cluster, sc: Scenario) -> None:
    for node in cluster.nodes:
        ns = topo.nodes[node.name]
        run_in(ns, ["iptables-restore"], input=render(cluster, node.name, dataplane=sc.dataplane, jumps=True))
        if shutil.which("conntrack"):
            run_in(ns, ["conntrack", "-F"], check=False)


def _connect(topo: Topology, cluster: Cluster, sc: Scenario) -> list[dict[str, Any]]:
    svc, node = cluster.service("web"), cluster.node(sc.via)
    if sc.address == "loadBalancerIP":
        _batch(topo.router, [f"route replace {svc.load_balancer_ip}/32 via {node.ip}"])
        host, port = str(svc.load_balancer_ip), svc.port
    else:
        host, port = str(node.ip), int(svc.node_port or 0)
    workers = min(32, sc.connections)
    run = run_in(topo.client, [sys.executable, "-I", "-c", CLIENT, host, str(port), str(sc.connections),
                               str(sc.timeout), str(workers), MARKER],
                 timeout=10 + sc.timeout * sc.connections / max(workers, 1))
    return json.loads(run.stdout)


def _rules_hit(topo: Topology, sc: Scenario) -> list[str]:
    """The kube-proxy rules on the receiving node whose packet counters moved (``iptables-save -c``)."""
    saved = run_in(topo.nodes[sc.via], ["iptables-save", "-c"], check=False).stdout
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


def _run_scenario(topo: Topology, cluster: Cluster, sc: Scenario) -> dict[str, Any]:
    t0 = time.perf_counter()
    predicted = predict(cluster, sc)
    simulator_seconds = time.perf_counter() - t0

    c = _variant(cluster, sc)
    t0 = time.perf_counter()
    _load_rules(topo, c, sc)
    results = _connect(topo, c, sc)
    kernel_seconds = time.perf_counter() - t0

    observed = _observe(results)
    observed["rules_hit_on_" + sc.via] = _rules_hit(topo, sc)
    agree, problems = _agree(sc, predicted, observed)
    entry: dict[str, Any] = {"name": sc.name, "title": sc.title, "externalTrafficPolicy": sc.external_traffic_policy,
                             "dataplane": sc.dataplane, "via": sc.via, "address": sc.address,
                             "predicted": predicted, "observed": observed}
    if sc.distribution:
        entry["distribution"] = _distribution(predicted, observed, observed["connections"])
        agree = agree and entry["distribution"]["agree"]
        if not entry["distribution"]["agree"]:
            problems.append("per-pod counts outside the tolerance")
    entry.update({"agree": agree, "problems": problems, "kernel_seconds": round(kernel_seconds, 4),
                  "simulator_seconds": round(simulator_seconds, 6),
                  "ratio": round(kernel_seconds / simulator_seconds, 1) if simulator_seconds else None})
    return entry


def check_system() -> None:
    """Refuse clearly when the lab cannot run here: not Linux, not root, or iproute2/iptables missing."""
    if platform.system() != "Linux":
        raise LabError("the kernel lab needs Linux (network namespaces and netfilter)",
                       hint="the simulator works everywhere; the lab checks it against the Linux kernel.")
    if os.geteuid() != 0:
        raise LabError(
            "the kernel lab needs root: it creates network namespaces and loads iptables rules inside them",
            hint="run it as root, e.g. `sudo k8slearn lab` (or `sudo .venv/bin/k8slearn lab`). It changes "
            "nothing in the host's own network namespace and removes everything it built when it ends.")
    missing = [tool for tool in ("ip", "iptables-restore") if not shutil.which(tool)]
    if missing:
        raise LabError(f"the kernel lab needs {', '.join(missing)}",
                       hint="install them, e.g. `apt-get install iproute2 iptables conntrack`.")


def preflight(cluster: Cluster) -> None:
    """Refuse clearly when the lab cannot or must not run: not Linux/root, tools missing, another run
    in progress, leftovers, address clash."""
    check_system()
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
        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build the lab, run the scenarios, clean up (always), and return the report as a dict.

    ``report["scenarios"]`` holds one entry per scenario with ``name``, ``predicted``,
    ``observed``, ``agree``, and the time the kernel and the simulator took. The run holds the lab
    lock from its checks to the end of its cleanup: a second run meanwhile is refused.
    """
    if cluster is None:
        cluster = examples.uneven()
    elif not isinstance(cluster, Cluster):
        raise LabError(f"cluster: {show(cluster)} is not a Cluster", hint="pass a Cluster, e.g. examples.uneven().")
    if progress is not None and not callable(progress):
        raise LabError(f"progress: {show(progress)} is not callable", hint="pass a function such as print, or None.")
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
    check_system()
    with lab_lock("run"):
        preflight(cluster)
        return _run(cluster, chosen, progress)


def _run(cluster: Cluster, chosen: list[Scenario], progress: Callable[[str], None] | None) -> dict[str, Any]:
    say = progress or (lambda message: None)
    report: dict[str, Any] = {
        "lab": "k8slearn kernel lab: the simulator checked against Linux netfilter",
        "cluster": cluster.summary().splitlines(),
        "kernel": platform.release(),
        "iptables": subprocess.run(["iptables", "--version"], text=True, capture_output=True).stdout.strip(),
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
            for sc in chosen:
                say(f"scenario {sc.name} ...")
                report["scenarios"].append(_run_scenario(topo, cluster, sc))
        finally:
            signals.quiet()
            t0 = time.perf_counter()
            cleanup(topo.processes if topo else None)
            report["cleanup_seconds"] = round(time.perf_counter() - t0, 3)
    report["total_seconds"] = round(time.perf_counter() - started, 3)
    report["all_agree"] = all(s["agree"] for s in report["scenarios"])
    return report


def format_report(report: dict[str, Any]) -> str:
    """The report as text, one block per scenario."""
    lines = [report["lab"], f"kernel {report['kernel']}, {report['iptables']}", ""]
    lines += ["cluster:", *(f"  {line}" for line in report["cluster"]), ""]
    for s in report["scenarios"]:
        mark = "AGREE" if s["agree"] else "DISAGREE"
        lines.append(f"[{mark}] {s['name']}: {s['title']}")
        pred = "; ".join(
            f"{p['pod'] or '-'} {p['outcome']}" + (f" seeing {p['source_seen']}" if p["source_seen"] else "")
            for p in s["predicted"]["possible"])
        lines.append(f"    simulator: {s['predicted']['verdict']}: {pred}")
        obs = ", ".join(f"{k} {v}" for k, v in s["observed"]["outcomes"].items())
        seen = "; ".join(f"{x['pod']} saw {x['source_seen']} x{x['count']}" for x in s["observed"]["seen"])
        lines.append(f"    kernel:    {s['observed']['connections']} connections: {obs}" + (f"; {seen}" if seen else ""))
        if "distribution" in s:
            d = s["distribution"]
            per = ", ".join(f"{r['pod']} {r['count']} (expected {r['expected']}, {r['low']}-{r['high']})"
                            for r in d["pods"])
            lines.append(f"    counts:    {per}; chi-square {d['chi_square']} (df {d['degrees_of_freedom']})")
        for problem in s["problems"]:
            lines.append(f"    problem:   {problem}")
        lines.append(f"    time:      kernel {s['kernel_seconds']:.3f} s, simulator {s['simulator_seconds'] * 1000:.2f} ms"
                     f" (ratio {s['ratio']})")
    lines += ["", f"setup {report.get('setup_seconds', 0):.2f} s, cleanup {report.get('cleanup_seconds', 0):.2f} s, "
              f"total {report['total_seconds']:.2f} s",
              "all scenarios agree with the simulator" if report["all_agree"] else "SOME SCENARIOS DISAGREE"]
    return "\n".join(lines)
