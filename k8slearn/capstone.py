"""The capstone: a design written as data, graded requirement by requirement by the simulator.

The brief (``notebooks/10-capstone.ipynb``): expose the team's API, ``web``, on the company's
cluster. The cluster runs on AWS with the legacy cloud provider, so ``type: LoadBalancer`` gets a
Classic ELB unless the design names another load balancer of :data:`k8slearn.LB_PROFILES`.
The learner writes a design, a dict with the fields of :data:`FIELDS` (start from :func:`blank`),
and :func:`evaluate` builds it in the simulator and measures each requirement of
:data:`REQUIREMENTS`:

1. **Client IP kept** for external callers: the app concludes the real client address on every
   connection (from the packet, or from a PROXY protocol header if it reads one).
2. **Nothing lost**, in steady state or while a node's pods terminate in a rolling update or a
   drain, before the load balancer has noticed and after.
3. **Even load**: every replica scheduled, busiest pod at most 1.25 times the quietest.
4. **In-cluster callers through the load balancer**: other teams' pods call the API at its public
   address and must pass the load balancer (its TLS and logs), and be answered.
5. Twist, **an allow-list**: partners (198.51.100.0/24) get in, others (192.0.2.10) do not.
6. Twist, **a CDN in front of an ingress**: browsers come through the company's CDN
   (203.0.113.50, an HTTP proxy appending to X-Forwarded-For) and the ingress controller (a
   DaemonSet behind its own Service); the app must log the browser's address, and neither a
   forged X-Forwarded-For nor a client that skips the CDN may fool it.

Each result has a status (``met``, ``not met`` or ``waiting`` for fields still ``...``) and the
simulator's evidence. The instructor's reference design is not in the package: it lives in
``solutions/10-capstone.ipynb`` only.

Taught in notebooks/10-capstone.ipynb; practised in exercises/10-capstone.ipynb.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from .dataplane import get_dataplane
from .errors import K8sLearnError, K8sLearnWarning, one_line, show
from .loadbalancer import LB_ADDRESS, LB_PROFILES, spread
from .manifests import (
    UnknownField,
    from_yaml,
    selector_matches,
    service_from_manifest,
    spread_from_manifest,
    strict_service,
)
from .model import CLIENT_IP, Cluster
from .path import App
from .placement import apply, place
from .proxies import append_xff, client_ip
from .proxychain import Proxy
from .trace import send
from .traffic import metrics, paths

__all__ = [
    "BOUND",
    "CDN",
    "DEFAULT_LOAD_BALANCER",
    "FIELDS",
    "OUTSIDER",
    "PARTNERS",
    "REQUIREMENTS",
    "Report",
    "Requirement",
    "Result",
    "blank",
    "evaluate",
]

#: What ``type: LoadBalancer`` gets on this cluster when the design names nothing: the legacy AWS
#: cloud provider creates a Classic ELB (FACTS.md §3b; kubernetes/cloud-provider-aws pkg/providers/v1/aws.go).
DEFAULT_LOAD_BALANCER = "aws-elb"
#: The partners of the allow-list, and an address outside it.
PARTNERS = "198.51.100.0/24"
OUTSIDER = IPv4Address("192.0.2.10")
#: The company's CDN, an HTTP proxy that appends the browser's address to X-Forwarded-For.
CDN = IPv4Address("203.0.113.50")
#: A header a client forges, and a client that skips the CDN.
FORGED = "1.2.3.4"
ATTACKER = IPv4Address("192.0.2.66")
#: The largest busiest/quietest ratio of requirement 3.
BOUND = 1.25

#: The design's fields, with what each one means.
FIELDS: dict[str, str] = {
    "nodes": "the zone of each node, e.g. [\"zone-a\", \"zone-a\", \"zone-b\"] (2 to 6 nodes)",
    "replicas": "how many pods of web (1 to 24)",
    "spread": "None, \"anti-affinity\", \"anti-affinity-required\", or topologySpreadConstraints as a dict "
              "(or a list of dicts) with maxSkew, topologyKey, whenUnsatisfiable",
    "pre_stop_sleep": "True if a terminating pod keeps serving (a preStop sleep) until the load balancer has "
                      "noticed its node's or pod's health check; False if it stops at once (or the sleep's "
                      "seconds, a whole number: 0 is False)",
    "service": "web's Service spec as in YAML, e.g. {\"type\": \"LoadBalancer\", \"externalTrafficPolicy\": "
               "\"Cluster\"} (selector and ports default to app: web and 443 -> 8443), or a Service in YAML",
    "load_balancer": "a key of k8s.LB_PROFILES, or None for what the cloud creates by default (aws-elb)",
    "dataplane": "\"iptables\" (None means this), \"nftables\", \"ipvs\", \"cilium-snat\" or \"cilium-dsr\"",
    "network_policy": "None, or the `from` peers of a NetworkPolicy admitting traffic to web's pods, e.g. "
                      "[{\"ipBlock\": {\"cidr\": \"198.51.100.0/24\"}}]",
    "app": "where the app reads the client from: {\"proxy_protocol\": bool, \"trusted\": [proxy CIDRs]} "
           "(PROXY protocol on its API port only; X-Forwarded-For read the safe way, trusting those CIDRs)",
    "ingress": "the ingress controller's own Service: {\"externalTrafficPolicy\": ..., \"load_balancer\": key or "
               "None, \"proxy_protocol\": bool (it reads a PROXY header)}",
}

_CORE = ("nodes", "replicas", "spread", "service", "load_balancer", "dataplane", "network_policy")


def blank() -> dict[str, Any]:
    """A design with every field still to fill in (``...``); :data:`FIELDS` says what each means.

    >>> sorted(blank()) == sorted(FIELDS)
    True
    """
    return dict.fromkeys(FIELDS, ...)


@dataclass(frozen=True)
class Requirement:
    """One requirement of the brief: what is measured, and which design fields it needs."""

    number: int
    title: str
    measure: str
    needs: tuple[str, ...]
    twist: bool = False


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(1, "Client IP kept", "share of external connections whose client address the app gets right "
                "(from the packet, or a PROXY header it reads): 100 %", (*_CORE, "app")),
    Requirement(2, "Nothing lost, even in a rolling update", "share of connections lost in steady state, and "
                "while each node's pods terminate, before and after the load balancer notices: 0 %",
                (*_CORE, "pre_stop_sleep")),
    Requirement(3, f"Even load (at most {BOUND})", "every replica scheduled, and the busiest pod's share over "
                f"the quietest's at most {BOUND}", _CORE),
    Requirement(4, "In-cluster callers through the load balancer", "share of calls from pods to the public "
                "address that pass the load balancer (its TLS) and are answered: 100 %", (*_CORE, "app")),
    Requirement(5, "Allow-list", f"partners ({PARTNERS}) always get in, an outsider ({OUTSIDER}) never",
                _CORE, twist=True),
    Requirement(6, "CDN in front of an ingress", f"the app logs the browser's address behind the CDN ({CDN}), "
                "and neither a forged X-Forwarded-For nor a client that skips the CDN fools it",
                ("nodes", "dataplane", "app", "ingress"), twist=True),
)

MET, NOT_MET, WAITING = "met", "not met", "waiting"


@dataclass(frozen=True)
class Result:
    """One requirement's verdict and the simulator's evidence for it."""

    requirement: Requirement
    status: str
    evidence: str

    def line(self) -> str:
        r = self.requirement
        tag = " (twist)" if r.twist else ""
        return f"{r.number}. {r.title}{tag}: {self.status}. {self.evidence}"


@dataclass(frozen=True)
class Report:
    """What :func:`evaluate` found: one :class:`Result` per requirement, or a problem with the design."""

    results: tuple[Result, ...]
    problem: str = ""

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def all_met(self) -> bool:
        return not self.problem and all(r.status == MET for r in self.results)

    def __str__(self) -> str:
        head = f"{self.count(MET)} of {len(self.results)} requirements met"
        lines = [head + (f"; {self.problem}" if self.problem else "")]
        lines += ["  " + r.line() for r in self.results]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{r.requirement.number}</td><td>{html.escape(r.requirement.title)}</td>"
                       f"<td>{r.status}</td><td>{html.escape(r.evidence)}</td></tr>" for r in self.results)
        return f"<div><b>{html.escape(str(self).splitlines()[0])}</b><table>{rows}</table></div>"


class _Problem(Exception):
    """A field of the design cannot be built; the message says which and why."""


# ------------------------------------------------------------------------------ building the design
def _filled(design: Mapping[str, Any], name: str) -> bool:
    return name in design and design[name] is not Ellipsis


def _lb_key(value: Any, what: str) -> str:
    if value is None:
        return DEFAULT_LOAD_BALANCER
    if isinstance(value, str) and value in LB_PROFILES:
        return value
    raise _Problem(f"{what}: {show(value, 60)} is not a load balancer of the catalogue; the keys of "
                   f"k8s.LB_PROFILES are {', '.join(LB_PROFILES)} (None: the cloud's default, {DEFAULT_LOAD_BALANCER})")


def _zones(value: Any) -> list[str]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = ["zone-a"] * value
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not 2 <= len(value) <= 6 \
            or not all(isinstance(z, str) and z for z in value):
        raise _Problem(f"nodes: {show(value, 60)}: give the zone of each node, 2 to 6 of them, e.g. "
                       "[\"zone-a\", \"zone-b\", \"zone-a\"]")
    return list(value)


_UNMODELLED_SPREAD = ("minDomains", "nodeAffinityPolicy", "matchLabelKeys")


def _spread(value: Any) -> dict[str, Any]:
    """The spread field as :func:`~k8slearn.placement.place` takes it; topologySpreadConstraints are read
    like a Deployment's pod template (unknown fields, required ones, the labelSelector)."""
    if value is None:
        return {}
    if value in ("anti-affinity", "anti-affinity-required"):
        return {"anti_affinity": "required" if value.endswith("required") else "preferred"}
    items = [value] if isinstance(value, Mapping) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)) or not items \
            or not all(isinstance(i, Mapping) for i in items):
        raise _Problem(f"spread: {show(value, 60)}: use None, \"anti-affinity\", \"anti-affinity-required\" or "
                       "topologySpreadConstraints as dicts")
    try:
        constraints = spread_from_manifest(list(items))
        for i, item in enumerate(items):
            path = f"spec.template.spec.topologySpreadConstraints[{i}]"
            unmodelled = [k for k in _UNMODELLED_SPREAD if k in item]
            if unmodelled:
                raise _Problem(f"spread: {path}.{unmodelled[0]} is valid, but the simulator does not model it; "
                               "leave it out")
            if "labelSelector" in item and not selector_matches(item["labelSelector"], {"app": "web"},
                                                                 path=f"{path}.labelSelector"):
                raise _Problem(f"spread: {path}: the labelSelector does not select web's pods (app: web), so the "
                               "constraint counts none of web's pods and spreads nothing (leave it out, or "
                               "select app: web)")
    except UnknownField as err:
        raise _Problem(f"spread: {err.message} (the API server refuses it; {err.hint})") from None
    return {"topology_spread": constraints}


def _pre_stop(value: Any) -> bool:
    """pre_stop_sleep read the way the API reads JSON: a boolean, or whole seconds (a preStop sleep)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        if value < 0:
            raise _Problem(f"pre_stop_sleep: Invalid value: {value}: must be non-negative (the seconds of the "
                           "preStop sleep)")
        return value > 0
    kind = ("string" if isinstance(value, str) else "number" if isinstance(value, float)
            else "array" if isinstance(value, (list, tuple)) else "object")
    raise _Problem(f"pre_stop_sleep: {show(value, 40)}: json: cannot unmarshal {kind} into Go value of type bool "
                   "(the API reads only a real boolean, and a non-empty text would not mean yes); give True or False, "
                   "or the preStop sleep's seconds as a whole number")


def _service_doc(value: Any) -> dict[str, Any]:
    """web's Service manifest from the design, refused like ``kubectl apply`` refuses an unknown field."""
    try:
        return _service_manifest(value)
    except UnknownField as err:
        raise _Problem(f"service: {err.message} (the API server refuses it; {err.hint})") from None


def _service_manifest(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        docs = [d for d in from_yaml(value) if isinstance(d, Mapping) and d.get("kind") == "Service"]
        if len(docs) != 1:
            raise _Problem("service: the YAML should hold one Service (kind: Service)")
        strict_service(docs[0])
        doc = dict(docs[0])
        if (doc.get("metadata") or {}).get("name") != "web":
            raise _Problem("service: name the Service web (metadata.name: web)")
        spec = dict(doc.get("spec") or {})
    elif isinstance(value, Mapping):
        spec = dict(value)
    else:
        raise _Problem(f"service: {show(value, 60)}: give web's Service spec as a dict of its fields, or as YAML")
    strict_service({"spec": spec})
    if spec.get("selector", {"app": "web"}) != {"app": "web"}:
        raise _Problem("service: the selector must select the app's pods, {\"app\": \"web\"} (or leave it out)")
    spec["selector"] = {"app": "web"}
    spec.setdefault("ports", [{"port": 443, "targetPort": 8443}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


def _app(value: Any) -> App:
    if not isinstance(value, Mapping) or set(value) - {"proxy_protocol", "trusted"}:
        raise _Problem(f"app: {show(value, 60)}: give {{\"proxy_protocol\": True or False, \"trusted\": [CIDRs]}}")
    return App(expect_proxy_protocol=value.get("proxy_protocol", False), trusted=tuple(value.get("trusted") or ()))


@dataclass
class _Built:
    cluster: Cluster
    lb: str
    dataplane: str
    pending: tuple[str, ...]
    reason: str
    app: App | None = None
    ingress_lb: str | None = None
    ingress_pp: bool = False


def _build(design: Mapping[str, Any], fields: set[str]) -> _Built:
    """The design in the simulator: nodes, web's Service and pods, callers, and what ``fields`` allow."""
    zones = _zones(design["nodes"])
    cluster = Cluster.from_layout(dict.fromkeys([f"node-{chr(97 + i)}" for i in range(len(zones))], 0),
                                  zones=zones, name="capstone")
    cluster.delete_service("web")
    pending: tuple[str, ...] = ()
    reason = ""
    lb = dataplane = ""
    if set(_CORE) <= fields:
        lb = _lb_key(design["load_balancer"], "load_balancer")
        dataplane = design["dataplane"] or "iptables"
        get_dataplane(dataplane)
        svc = service_from_manifest(_service_doc(design["service"]), cluster)
        if svc.type != "LoadBalancer":
            raise _Problem(f"service: web is a {svc.type} service, but the brief puts the cloud's load balancer in "
                           "front of it: make it type LoadBalancer")
        replicas = design["replicas"]
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= 24:
            raise _Problem(f"replicas: {show(replicas, 40)}: a whole number from 1 to 24")
        plan = place(cluster, "web", replicas, keep_existing=False, **_spread(design["spread"]))
        apply(cluster, "web", plan)
        pending, reason = plan.pending, plan.reason
        for n in cluster.nodes:  # the other teams' pods that call the API
            cluster.add_pod(f"caller-{n.name[-1]}", n.name, labels={"app": "caller"})
        peers = design["network_policy"]
        if peers is not None:
            cluster.add_network_policy("web-allow", pod_selector={"app": "web"}, ingress=[{"from": peers}])
    if "dataplane" in fields and not dataplane:
        dataplane = design["dataplane"] or "iptables"
        get_dataplane(dataplane)
    built = _Built(cluster, lb, dataplane, pending, reason)
    if "app" in fields:
        built.app = _app(design["app"])
    if "ingress" in fields and "dataplane" in fields:
        ing = design["ingress"]
        if not isinstance(ing, Mapping) or set(ing) - {"externalTrafficPolicy", "load_balancer", "proxy_protocol"}:
            raise _Problem(f"ingress: {show(ing, 60)}: give {{\"externalTrafficPolicy\": ..., \"load_balancer\": ..., "
                           "\"proxy_protocol\": ...}")
        built.ingress_lb = _lb_key(ing.get("load_balancer"), "ingress load_balancer")
        built.ingress_pp = ing.get("proxy_protocol", False)
        for n in cluster.nodes:  # a DaemonSet: one ingress controller pod per node
            cluster.add_pod(f"ingress-{n.name[-1]}", n.name, labels={"app": "ingress"})
        cluster.add_service("ingress", type="LoadBalancer", selector={"app": "ingress"}, port=443, target_port=8443,
                            external_traffic_policy=ing.get("externalTrafficPolicy"))
    return built


# ------------------------------------------------------------------------------ describing addresses
def _who(cluster: Cluster, address: Any) -> str:
    """What an address is, in a few words: the client, the load balancer, a node, a pod ..."""
    if address is None:
        return "nothing (the connection broke)"
    if address == CLIENT_IP:
        return f"{address}, the client"
    if address == LB_ADDRESS:
        return f"{address}, the load balancer's own address"
    if address == CDN:
        return f"{address}, the CDN"
    if str(address) == FORGED:
        return f"{address}, the forged header"
    for n in cluster.nodes:
        if address == n.ip:
            return f"{address}, {n.name}'s address"
        if address == n.bridge_ip:
            return f"{address}, {n.name}'s bridge address"
    owner = cluster.owner_of(address)
    if owner is not None:
        return f"{address}, {owner.name}"
    return str(address)


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.01 or x == 0 else f"{x:.1%}"


def _send_like(c: Cluster, service: str, row: Any, lb: str, dataplane: str, *, client: Any = CLIENT_IP,
               address: str | None = None, app: App | None = None, proxies: Any = (), x_forwarded_for: str = "") -> Any:
    """One connection along the path ``row`` of :func:`paths` (same node, same pod)."""
    via = row.entry_node if LB_PROFILES[lb].targets == "nodes" and "load balancer" in row.path else None
    return send(c, service, lb=lb, dataplane=dataplane, via=via, endpoint=row.pod, seed=1, client=client,
                address=address, app=app, proxies=proxies, x_forwarded_for=x_forwarded_for)


# ------------------------------------------------------------------------------ the requirements
def _client_ip(b: _Built) -> tuple[str, str]:
    c, profile = b.cluster, LB_PROFILES[b.lb]
    rows = paths(c, "web", lb=b.lb, dataplane=b.dataplane)
    delivered = rows[rows.outcome == "delivered"]
    if delivered.empty:
        return NOT_MET, "no external connection is answered, so no client address reaches the app"
    wrong: dict[str, float] = {}
    for row in delivered.itertuples():
        t = _send_like(c, "web", row, b.lb, b.dataplane, app=b.app)
        if t.client_seen_by_app == CLIENT_IP:
            continue
        why = t.app_error or f"the app concluded {_who(c, t.client_seen_by_app)}"
        wrong[why] = wrong.get(why, 0.0) + float(row.probability)
    total = float(delivered.probability.sum())
    if not wrong:
        how = "from the PROXY header" if b.app.expect_proxy_protocol else "as the packet's source"
        return MET, f"the app got 198.51.100.7 on every delivered connection ({how}; {profile.label}, {profile.kind})"
    why, _ = max(wrong.items(), key=lambda kv: kv[1])
    hint = ""
    if "load balancer's own address" in why:
        hint = (f" {profile.label} is {'a proxy: it ends the client' + chr(39) + 's TCP connection' if profile.proxies else 'a source-NAT load balancer'}"
                ", so under any externalTrafficPolicy the pod's peer is the load balancer; only a PROXY header the "
                "app reads (or a pass-through load balancer) brings the client back.")
    elif "address" in why and "node" in why:
        hint = " A node replaced the source: kube-proxy masquerades external traffic under externalTrafficPolicy: Cluster."
    return NOT_MET, f"on {_pct(sum(wrong.values()) / total)} of delivered connections the app is wrong: {why}.{hint}"


def _lost(frame_row: Any) -> float:
    return float(frame_row.dropped + frame_row.refused + frame_row.failed)


def _nothing_lost(b: _Built, pre_stop: bool) -> tuple[str, str]:
    c = b.cluster
    steady = metrics(c, "web", lb=b.lb, dataplane=b.dataplane).loc[0]
    if _lost(steady) > 1e-9:
        rows = paths(c, "web", lb=b.lb, dataplane=b.dataplane)
        reason = rows[rows.outcome != "delivered"].reason.iloc[0]
        return NOT_MET, f"already in steady state {_pct(_lost(steady))} of connections are lost: {reason}"
    before = spread(c, "web", b.lb, dataplane=b.dataplane)
    worst = (0.0, "", "")
    for node in sorted({p.node for p in c.selected_pods("web")}):
        d = c.copy()
        for p in d.pods_on(node):
            if p.labels.get("app") == "web":
                d.set_pod(p.name, terminating=True, ready=None if pre_stop else False)
        after = _lost(metrics(d, "web", lb=b.lb, dataplane=b.dataplane).loc[0])
        if before.targets == "nodes":
            per_node = metrics(d, "web", lb="equal", dataplane=b.dataplane).set_index("scope")
            lag = sum(w * (1 - per_node.loc[m, "delivered"] / per_node.loc[m, "received"])
                      for m, w in before.weights.items())
        else:
            serving = {e.pod for e in d.endpoints("web") if e.serving}
            lag = sum(w for pod, w in before.weights.items() if pod not in serving)
        for lost, when in ((lag, "before the load balancer notices"), (after, "after it has noticed")):
            if lost > worst[0] + 1e-9:
                worst = (lost, node, when)
    if worst[0] <= 1e-9:
        how = ("terminating pods keep serving until the load balancer has moved away" if pre_stop
               else "every node can still reach a ready pod")
        return MET, f"nothing lost in steady state or while any node's pods terminate ({how})"
    lost, node, when = worst
    extra = ""
    policy = c.service("web").external_traffic_policy
    if not pre_stop and policy == "Local":
        extra = (" Under Local a node never forwards external traffic to another node, so once its pods stop "
                 "serving, what the load balancer still sends there is dropped.")
    return NOT_MET, (f"while {node}'s pods terminate, {when}, {_pct(lost)} of all connections are lost"
                     f"{' (the pods stop serving at once: pre_stop_sleep is False)' if not pre_stop else ''}.{extra}")


def _even(b: _Built) -> tuple[str, str]:
    c = b.cluster
    counts = {n.name: sum(1 for p in c.pods_on(n.name) if p.labels.get("app") == "web") for n in c.nodes}
    layout = ", ".join(f"{n} {k}" for n, k in counts.items())
    if b.pending:
        return NOT_MET, f"{len(b.pending)} replica(s) stay Pending: {b.reason} (pods per node: {layout})"
    m = metrics(c, "web", lb=b.lb, dataplane=b.dataplane).loc[0]
    imbalance = float(m.imbalance)
    spread_how = LB_PROFILES[b.lb].description
    if not math.isnan(imbalance) and imbalance <= BOUND + 1e-9:
        return MET, f"busiest/quietest pod {imbalance:.2f} (pods per node: {layout}; {b.lb}: {spread_how})"
    shown = "inf" if math.isinf(imbalance) else f"{imbalance:.2f}"
    return NOT_MET, (f"busiest/quietest pod {shown}, over {BOUND} (pods per node: {layout}; {b.lb}: {spread_how}). "
                     "Under Local a load balancer that splits per node or per zone gives pods on crowded nodes or "
                     "zones less each.")


def _callers(b: _Built) -> tuple[str, str]:
    c = b.cluster
    rows = paths(c, "web", lb=b.lb, clients="pods", address="loadBalancerIP", dataplane=b.dataplane)
    skipped = broken = 0.0
    why_skipped = why_broken = ""
    for row in rows.itertuples():
        through = "load balancer" in row.path
        if not through:
            skipped += row.probability
            why_skipped = why_skipped or LB_PROFILES[b.lb].why_no_short_circuit(c.service("web"))
            continue
        if row.outcome != "delivered":
            broken += row.probability
            why_broken = why_broken or row.reason
            continue
        node = row.client.rsplit(" ", 1)[-1]
        t = _send_like(c, "web", row, b.lb, b.dataplane, app=b.app, client=f"caller-{node[-1]}",
                       address="loadBalancerIP")
        if t.app_error:
            broken += row.probability
            why_broken = why_broken or t.app_error
    profile = LB_PROFILES[b.lb]
    if skipped > 1e-9:
        return NOT_MET, (f"{_pct(skipped)} of the calls never reach the load balancer: kube-proxy catches them on the "
                         f"caller's own node, because {profile.label}'s status publishes an IP (ipMode VIP). They "
                         "skip its TLS (and any PROXY header).")
    if broken > 1e-9:
        return NOT_MET, f"{_pct(broken)} of the calls pass the load balancer but fail: {why_broken}"
    status = "a hostname" if profile.status == "hostname" else f"ipMode {profile.ip_mode}"
    return MET, (f"every call from a pod goes out through {profile.label} and is answered (its status publishes "
                 f"{status}, so kube-proxy does not short-circuit it)")


def _allow_list(b: _Built) -> tuple[str, str]:
    c = b.cluster
    rows = paths(c, "web", lb=b.lb, dataplane=b.dataplane)
    lost = rows[rows.outcome != "delivered"]
    if not lost.empty:
        return NOT_MET, f"a partner (198.51.100.7) is turned away on {_pct(float(lost.probability.sum()))}: {lost.reason.iloc[0]}"
    for row in rows.itertuples():
        t = _send_like(c, "web", row, b.lb, b.dataplane, client=str(OUTSIDER))
        if t.delivered:
            seen = _who(c, t.source_seen_by_pod)
            return NOT_MET, (f"an outsider ({OUTSIDER}) reaches {t.pod}, which sees {seen}: nothing filters it before "
                             "the pod, or the filter sees an address that is not the client's")
    return MET, f"partners get in; the outsider {OUTSIDER} is stopped ({t.reason})"


def _cdn(b: _Built) -> tuple[str, str]:
    c, app = b.cluster, b.app
    rows = paths(c, "ingress", lb=b.ingress_lb, dataplane=b.dataplane)
    lost = rows[rows.outcome != "delivered"]
    if not lost.empty:
        return NOT_MET, f"{_pct(float(lost.probability.sum()))} of browser connections are lost before the ingress: {lost.reason.iloc[0]}"
    cases = [("a browser behind the CDN", CLIENT_IP, [Proxy("CDN", str(CDN), "L7")], "", CLIENT_IP),
             ("a browser behind the CDN that forges X-Forwarded-For", CLIENT_IP, [Proxy("CDN", str(CDN), "L7")],
              FORGED, CLIENT_IP),
             (f"a client ({ATTACKER}) that skips the CDN and forges X-Forwarded-For", ATTACKER, [], FORGED, ATTACKER)]
    for label, client, front, forged, want in cases:
        for row in rows.itertuples():
            t = _send_like(c, "ingress", row, b.ingress_lb, b.dataplane, client=str(client), proxies=front,
                           x_forwarded_for=forged, app=App(expect_proxy_protocol=b.ingress_pp))
            if t.app_error:
                return NOT_MET, f"for {label}, the ingress controller fails: {t.app_error}"
            peer = t.client_seen_by_app  # what the ingress appends to X-Forwarded-For
            xff = append_xff(t.x_forwarded_for or None, peer)
            got = client_ip(c.pod(row.pod).ip, xff, trusted=app.trusted)
            if got != want:
                saw = _who(c, peer)
                return NOT_MET, (f"for {label}, the app concludes {_who(c, got)}; the ingress controller saw {saw} "
                                 f"as its peer and passed on X-Forwarded-For: {xff}")
    return MET, ("the app logs the browser's address, and neither a forged header nor skipping the CDN fools it "
                 f"(the ingress controller's Service is {c.service('ingress').external_traffic_policy}, behind "
                 f"{b.ingress_lb})")


_MEASURE: dict[int, Callable[[_Built, Mapping[str, Any]], tuple[str, str]]] = {
    1: lambda b, d: _client_ip(b),
    2: lambda b, d: _nothing_lost(b, _pre_stop(d["pre_stop_sleep"])),
    3: lambda b, d: _even(b),
    4: lambda b, d: _callers(b),
    5: lambda b, d: _allow_list(b),
    6: lambda b, d: _cdn(b),
}


def evaluate(design: Any) -> Report:
    """Build ``design`` in the simulator and measure every requirement of the brief.

    A requirement whose fields are still ``...`` is ``waiting``; a field that cannot be built (an
    invalid Service, an unknown load balancer, spreading rules the API server refuses ...) fails
    every requirement that needs it, with the reason.

    >>> print(evaluate(blank()).results[0].line())
    1. Client IP kept: waiting. fill in: nodes, replicas, spread, service, load_balancer, dataplane, network_policy, app
    """
    if not isinstance(design, Mapping):
        return Report(tuple(Result(r, NOT_MET, "") for r in REQUIREMENTS),
                      f"the design is a dict with the fields {', '.join(FIELDS)}, not a {type(design).__name__}; "
                      "start from k8s.check.capstone_blank()")
    unknown = [k for k in design if k not in FIELDS]
    if unknown:
        return Report(tuple(Result(r, NOT_MET, "") for r in REQUIREMENTS),
                      f"{show(unknown[0], 40)} is not a field of the design; the fields are {', '.join(FIELDS)}")
    filled = {k for k in FIELDS if _filled(design, k)}
    results = []
    cache: dict[frozenset, Any] = {}
    said: dict[str, int] = {}  # a build error, said once: the requirement that says it
    for req in REQUIREMENTS:
        missing = [f for f in req.needs if f not in filled]
        if missing:
            results.append(Result(req, WAITING, "fill in: " + ", ".join(missing)))
            continue
        key = frozenset(req.needs)
        try:
            with warnings.catch_warnings():  # a Service created before its pods: expected here
                warnings.simplefilter("ignore", K8sLearnWarning)
                if key not in cache:
                    cache[key] = _build(design, set(req.needs))
                status, evidence = _MEASURE[req.number](cache[key], design)
        except (_Problem, K8sLearnError) as err:
            why = one_line(err)
            status = NOT_MET
            evidence = (f"the design cannot be built (see requirement {said[why]})" if why in said
                        else f"the design cannot be built: {why}")
            said.setdefault(why, req.number)
        results.append(Result(req, status, evidence))
    return Report(tuple(results))
