"""One connection, hop by hop: every NAT rewrite visible, and the reply's way back.

:func:`send` traces the first packet of a connection from a client to a service and the reply
back. A :class:`Trace` is data first: ``trace.hops`` (immutable :class:`Hop` records with the packet
before and after), ``trace.path`` (names, for comparing with a plain list), ``trace.to_frame()``
(one row per hop), and the headline facts (``pod``, ``source_seen_by_pod``, ``extra_hop``,
``outcome``). ``k8slearn.draw(trace)`` draws it.

Taught in notebooks/02-into-the-cluster.ipynb and 03-external-traffic-policy-cluster.ipynb.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import numpy as np

from .dataplane import Decision, Source, dataplane_key, get_dataplane
from .dataplane.decide import Dataplane
from .errors import InvalidChange, NotFound, show
from .loadbalancer import LoadBalancer, LoadBalancerProfile, resolve
from .model import CLIENT_IP, Cluster, Node, Pod, Service, ServiceRef, family_of, is_cluster_address
from .path import (
    EPHEMERAL_PORTS,
    PLACE_KINDS,
    AppElement,
    ChainHop,
    Client,
    Context,
    Egress,
    Flow,
    FrontProxy,
    Hop,
    LoadBalancerElement,
    NodeDataplane,
    NodePortClient,
    Packet,
    Place,
    PodNetwork,
    Router,
    Segment,
    check_route,
    reply,
    walk,
)

__all__ = ["Packet", "Place", "PLACE_KINDS", "Hop", "Trace", "send", "resolve_client", "default_address", "rng",
           "chain_for", "start_flow", "dialled_address", "EPHEMERAL_PORTS", "check_reachable"]


def rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """The one place k8slearn makes randomness: a private generator from an explicit seed.

    Nothing touches Python's or NumPy's global random state.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    ok = seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0) or (
        isinstance(seed, (list, tuple)) and seed and all(isinstance(x, (int, np.integer)) and not isinstance(x, bool)
                                                         and x >= 0 for x in seed))
    if not ok:
        raise InvalidChange(f"seed={show(seed)}: a seed must be a whole number >= 0 (or None)",
                            hint="the same seed gives the same random choices every time: for example seed=1.")
    return np.random.default_rng(seed)


#: What a client may dial.
ADDRESSES = ("loadBalancerIP", "nodePort", "externalIP", "clusterIP")


def check_address(address: Any) -> str | None:
    """``address=`` as given (one of :data:`ADDRESSES`, or None for the client's usual one)."""
    if address is None or (isinstance(address, str) and address in ADDRESSES):
        return address
    raise NotFound("address", address, list(ADDRESSES))


_OUTCOMES = ("delivered", "dropped", "refused", "reply discarded")


@dataclass(frozen=True, slots=True)
class Trace:
    """A traced connection: the request's hops, the reply's hops and what they add up to."""

    service: str
    client: str
    client_ip: IPv4Address
    entry_node: str | None
    hops: tuple[Hop, ...]
    reply: tuple[Hop, ...]
    outcome: str
    pod: str | None
    pod_node: str | None
    source_seen_by_pod: IPv4Address | None
    extra_hop: bool
    snat: bool
    reason: str
    dataplane: str
    decision: Decision | None = None
    cluster: Cluster | None = dataclasses.field(default=None, repr=False, compare=False)
    #: The load balancer's key (an abstract model or a catalogue entry) and its label.
    lb: str = ""
    lb_label: str = ""
    #: The ``X-Forwarded-For`` value and PROXY protocol header (summary) the pod received.
    x_forwarded_for: str = ""
    proxy_protocol: str = ""
    #: What each receiver on the path got and concluded (proxies in front, and the app if given).
    receivers: tuple[ChainHop, ...] = ()
    #: The client address the app concludes (with ``app=``), or why the connection broke there.
    client_seen_by_app: Any = None
    app_error: str = ""

    @property
    def delivered(self) -> bool:
        return self.outcome in ("delivered", "reply discarded")

    @property
    def client_ip_kept(self) -> bool:
        """Whether the pod sees the client's real address."""
        return self.source_seen_by_pod == self.client_ip

    @property
    def path(self) -> list[str]:
        """Where the request went, as names: ``['client', 'load balancer', 'node-c', 'node-a', 'web-1']``."""
        return _places(self.hops)

    @property
    def reply_path(self) -> list[str]:
        """Where the reply went, as names (empty when nothing answered)."""
        return _places(self.reply)

    def summary(self) -> str:
        head = f"{self.client} -> service {self.service}"
        if self.entry_node:
            head += f" via {self.entry_node}"
        if self.outcome in ("dropped", "refused"):
            return f"{head}: {self.outcome.upper()} — {self.reason}"
        seen = f"the pod sees {self.source_seen_by_pod}"
        if self.client_ip_kept and self.snat:
            seen += " (masqueraded, to the very address the node sent from)"
        elif self.client_ip_kept:
            seen += " (the client's own IP)"
        else:
            first = next((h for h in self.hops if h.before.src != h.after.src), None)
            by_lb = first is not None and first.at.kind == "lb"
            if by_lb and self.snat:
                seen += " (not the client's IP: the load balancer replaced it, then the node masqueraded it)"
            else:
                seen += (" (not the client's IP: the load balancer replaced it)" if by_lb
                         else " (not the client's IP: SNAT)" if self.snat else " (not the client's IP)")
        hop = ", extra node hop" if self.extra_hop else ""
        tail = f"; the reply is discarded: {self.reason}" if self.outcome == "reply discarded" else ""
        return f"{head}: delivered to {self.pod} on {self.pod_node}; {seen}{hop}{tail}"

    __str__ = summary

    def __repr__(self) -> str:
        return f"<Trace {self.summary()}>"

    def to_frame(self, *, reply: bool = True) -> Any:
        """One row per hop: where, what, the packet before and after, what changed and which rule."""
        import pandas as pd

        hops = self.hops + (self.reply if reply else ())
        return pd.DataFrame(
            [{"step": h.step, "direction": h.direction, "at": h.at.name, "action": h.action,
              "before": h.before.summary(), "after": h.after.summary(), "changed": ",".join(h.changed),
              "rule": h.rule, "note": h.note} for h in hops],
            columns=["step", "direction", "at", "action", "before", "after", "changed", "rule", "note"],
        )

    def _repr_html_(self) -> str:
        rows = []
        for h in self.hops + self.reply:
            def cell(p: Packet, other: Packet) -> str:
                out = []
                for f, text in (("src", f"{p.src}:{p.sport}"), ("dst", f"{p.dst}:{p.dport}")):
                    port = "sport" if f == "src" else "dport"
                    bold = getattr(p, f) != getattr(other, f) or getattr(p, port) != getattr(other, port)
                    out.append(f"<b>{text}</b>" if bold else text)
                return " → ".join(out)
            colour = {"DROP": "#D55E00", "REJECT": "#D55E00", "discard": "#D55E00"}.get(h.action, "inherit")
            rows.append(
                f"<tr><td style='text-align:left'>{h.step}</td><td style='text-align:left'>{'→' if h.direction == 'request' else '←'}</td>"
                f"<td style='text-align:left'>{html.escape(h.at.name)}</td><td style='color:{colour};text-align:left'>{html.escape(h.action)}</td>"
                f"<td style='font-family:monospace;text-align:left'>{cell(h.before, h.after)}</td>"
                f"<td style='font-family:monospace;text-align:left'>{cell(h.after, h.before)}</td>"
                f"<td style='text-align:left'><small>{html.escape(h.rule)}</small></td><td style='text-align:left'><small>{html.escape(h.note)}</small></td></tr>"
            )
        head = ("<tr><th style='text-align:left'>#</th><th style='text-align:left'></th><th style='text-align:left'>at</th><th style='text-align:left'>action</th><th style='text-align:left'>before</th><th style='text-align:left'>after</th>"
                "<th style='text-align:left'>rule</th><th style='text-align:left'>what happened</th></tr>")
        return (f"<div><p><b>{html.escape(self.summary())}</b></p>"
                f"<table style='font-size:90%'>{head}{''.join(rows)}</table></div>")


def _places(hops: tuple[Hop, ...]) -> list[str]:
    names: list[str] = []
    for hop in hops:
        if not names or names[-1] != hop.at.name:
            names.append(hop.at.name)
    return names


# --------------------------------------------------------------------------- building a trace
def resolve_client(cluster: Cluster, client: Any) -> tuple[str, Source, Pod | Node | None]:
    """What a ``client=`` argument names: an outside IP, a pod, or a node (by name or IP)."""
    if isinstance(client, (Pod, Node)):
        client = client.name
    if not isinstance(client, (str, IPv4Address, IPv6Address)):
        raise InvalidChange(f"client={show(client)}: a client is an outside IP address, or a pod or node of the "
                            "cluster (by name or IP)",
                            hint='for example client="198.51.100.7" or client="web-1".')
    text = str(client)
    try:
        ip = ip_address(text.strip())
    except ValueError:
        ip = None
    if ip is not None and ip.version == 6 and not cluster.dual_stack:
        raise InvalidChange(f"{ip} is an IPv6 client, and this cluster has IPv4 addresses only",
                            hint="k8slearn models IPv6 on dual-stack clusters: Cluster.from_layout(..., "
                            "ip_families=[\"IPv4\", \"IPv6\"]) and a service with both families "
                            "(ip_family_policy=\"PreferDualStack\").")
    if ip is None:
        names = {p.name for p in cluster.pods}
        if text in names:
            pod = cluster.pod(text)
            return text, Source("pod", pod.ip, node=pod.node, pod=pod.name), pod
        if text in {n.name for n in cluster.nodes}:
            node = cluster.node(text)
            return text, Source("node", node.ip, node=node.name), node
        raise NotFound("client", text, [p.name for p in cluster.pods] + [n.name for n in cluster.nodes])
    owner = cluster.owner_of(ip)
    if isinstance(owner, Pod):
        return f"{owner.name} ({ip})", Source("pod", ip, node=owner.node, pod=owner.name), owner
    if isinstance(owner, Node):
        return f"{owner.name} ({ip})", Source("node", ip, node=owner.name), owner
    if owner is not None or is_cluster_address(cluster, ip) or ip.is_loopback:
        raise InvalidChange(f"{ip} cannot be a client address here",
                            hint="use an outside address such as 198.51.100.7, or name a pod or node as the client.")
    return str(ip), Source("external", ip), None


def default_address(svc: Service, external: bool) -> str:
    """The address a client dials by default: the LB IP, a NodePort, an externalIP, or the ClusterIP."""
    if not external:
        return "clusterIP"
    if svc.type == "LoadBalancer":
        return "loadBalancerIP"
    if svc.type == "NodePort":
        return "nodePort"
    if svc.external_ips:
        return "externalIP"
    raise InvalidChange(
        f"{svc.name} is a ClusterIP service: a client outside the cluster cannot reach it",
        hint="make it a NodePort or LoadBalancer service (patch_service(..., type=\"LoadBalancer\")), "
        "or send from a pod inside the cluster (client=\"<pod name>\").",
    )


def check_reachable(svc: Service, external: bool, address: str) -> None:
    """Refuse what no packet can do: an outside client dialling a ClusterIP (one answer, used by
    :func:`send` and by :func:`k8slearn.traffic`)."""
    if external and address == "clusterIP":
        raise InvalidChange(
            f"a client outside the cluster cannot reach {svc.name}'s ClusterIP {svc.cluster_ip}",
            hint="ClusterIPs are virtual addresses that exist only inside the cluster (kube-proxy on each "
            "node catches them). From outside, use the load-balancer IP, a NodePort or an externalIP.",
        )


def dialled_address(cluster: Cluster, svc: Service, address: str, via: str | None,
                    family: str = "IPv4") -> tuple[IPv4Address | IPv6Address, int]:
    """The address and port a client of ``family`` dials (on a dual-stack service, that family's)."""
    if family not in svc.families:
        raise InvalidChange(f"{svc.name} has no {family} address: its ipFamilies are {', '.join(svc.families)}",
                            hint="a client reaches a service over an IP family the service has; give the service "
                            "both with patch_service(..., ip_family_policy=\"PreferDualStack\") on a dual-stack "
                            "cluster.")
    if address == "loadBalancerIP":
        ips = svc.load_balancer_ips_of(family)
        if not ips:
            raise InvalidChange(f"{svc.name} is a {svc.type} service: it has no load-balancer IP",
                                hint="only LoadBalancer services get one.")
        return ips[0], svc.port
    if address == "nodePort":
        if svc.node_port is None:
            raise InvalidChange(f"{svc.name} is a {svc.type} service: it has no NodePort",
                                hint="only NodePort and LoadBalancer services open a port on every node.")
        node = cluster.node(via) if via else cluster.nodes[0]
        return node.address(family), svc.node_port  # type: ignore[return-value]
    if address == "externalIP":
        ips = svc.external_ips_of(family)
        if not ips:
            raise InvalidChange(f"{svc.name} has no externalIPs" if not svc.external_ips else
                                f"{svc.name} has no {family} externalIPs",
                                hint="set them with patch_service(..., external_ips=[...]).")
        return ips[0], svc.port
    return svc.cluster_ip_of(family), svc.port  # type: ignore[return-value]


def chain_for(svc: Service, source: Source, address: str, lb: LoadBalancerProfile, start: Place, label: str, *,
              proxies: Sequence[Any] = (), app: Any = None) -> list[Any]:
    """The elements a connection from ``source`` to ``address`` passes, in order (see :mod:`k8slearn.path`)."""
    external = source.kind == "external"
    chain: list[Any] = [NodePortClient(start, label) if external and address == "nodePort" else Client(start, label)]
    chain += [FrontProxy(p) for p in proxies]
    if address == "loadBalancerIP" and (external or not lb.short_circuits(svc)):
        if not external:
            chain.append(Egress(Place.of_node(source.node) if source.node else start))
        chain.append(LoadBalancerElement())
    elif external and address == "externalIP":
        chain.append(Router())
    chain += [NodeDataplane(), PodNetwork()]
    if app is not None:
        chain.append(AppElement(app))
    return chain


def start_flow(source: Source, packet: Packet, address: str, start: Place, *, entry: str | None = None,
               x_forwarded_for: str = "") -> Flow:
    """The flow as it leaves the client."""
    return Flow(packet, source, address, source.ip, (Segment(start, packet),), xff=x_forwarded_for, entry_node=entry)


def send(
    cluster: Cluster,
    service: ServiceRef,
    *,
    client: Any = CLIENT_IP,
    via: str | None = None,
    address: str | None = None,
    endpoint: str | None = None,
    lb: str | LoadBalancer | LoadBalancerProfile = "health-checked",
    dataplane: str | Dataplane = "iptables",
    seed: int | np.random.Generator | None = None,
    client_port: int = 51000,
    proxies: Sequence[Any] = (),
    x_forwarded_for: str = "",
    app: Any = None,
    affinity: dict | None = None,
    at: float | None = None,
) -> Trace:
    """Trace one connection from ``client`` to ``service``, hop by hop, and its reply.

    ``client`` is an outside IP (default 198.51.100.7), or a pod or node (by name or IP).
    ``address`` is what the client dials: ``"loadBalancerIP"``, ``"nodePort"``, ``"externalIP"`` or
    ``"clusterIP"`` (default: the most external one the service has; the ClusterIP from inside).
    ``via`` is the node that receives an external packet (default: the load balancer ``lb`` picks,
    at random with ``seed``); ``endpoint`` forces the random pick of a pod (it must be a pod the
    dataplane, or a pod-targeting load balancer, could pick). ``lb`` is an abstract model
    (``"health-checked"``, ...) or a real load balancer from :data:`k8slearn.LB_PROFILES`
    (``"aws-nlb-instance"``, ``"gcp-nlb"``, ...). ``dataplane`` is ``"iptables"`` (default),
    ``"nftables"``, ``"ipvs"``, ``"cilium-snat"``, ``"cilium-dsr"`` or ``"no-snat"`` (a
    hypothetical kube-proxy without SNAT).

    ``proxies`` are :class:`k8slearn.proxychain.Proxy` hops in front of the load balancer (a CDN,
    an L7 proxy), ``x_forwarded_for`` a header the client itself sends, and ``app`` a
    :class:`k8slearn.proxychain.App` in the pod that reads PROXY headers and ``X-Forwarded-For``.
    ``affinity`` is a dict that a series of connections shares for ``sessionAffinity: ClientIP``
    (each node's memory of which pod a source went to). ``at`` is the connection's time in seconds on
    the series' clock: a source whose last connection is ``timeoutSeconds`` or more older is forgotten,
    as the kernel forgets it, and picked afresh (default ``None``: no clock, the memory never expires).

    >>> from k8slearn import examples
    >>> t = send(examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1)
    >>> t.path
    ['client', 'load balancer', 'node-c', 'node-b', 'web-3']
    >>> t.source_seen_by_pod, t.extra_hop
    (IPv4Address('192.168.0.13'), True)
    """
    gen = rng(seed)
    dp = get_dataplane(dataplane)
    svc = cluster.service(service)
    profile = resolve(lb, svc)
    label, source, _ = resolve_client(cluster, client)
    external = source.kind == "external"
    address = check_address(address) or default_address(svc, external)
    check_reachable(svc, external, address)
    proxies = check_route(proxies, app, x_forwarded_for)
    for name, value in (("via", via), ("endpoint", endpoint)):
        if value is not None and not isinstance(value, str):
            raise InvalidChange(f"{name}={show(value)}: give a {'node' if name == 'via' else 'pod'} by its name",
                                hint=f'for example {name}="{"node-a" if name == "via" else "web-1"}".')
    if not isinstance(client_port, (int, np.integer)) or isinstance(client_port, bool) or not 1 <= client_port <= 65535:
        raise InvalidChange(f"client_port={show(client_port)}: a port is a whole number from 1 to 65535",
                            hint="clients usually send from an ephemeral port, such as 51000.")
    if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float, np.integer, np.floating))
                           or not math.isfinite(at)):
        raise InvalidChange(f"at={show(at)}: the connection's time is a number of seconds",
                            hint="for example at=0 for the first connection of a series and at=3.5 for one "
                            "3.5 s later (with the same affinity= memory).")
    if via is not None:
        cluster.node(via)  # a wrong name lists the nodes
    entry: str | None = None
    if not external:
        if address == "nodePort" and via is None:
            via = source.node  # a pod or node dials its own node's NodePort unless told otherwise
        entry = source.node
        if address == "nodePort":
            entry = cluster.node(via).name  # type: ignore[arg-type]
            if entry != source.node and source.kind == "node":
                raise InvalidChange(f"{source.node} dialling another node's NodePort is not modelled",
                                    hint="send from a pod instead, or dial the node's own NodePort.")
    dst_ip, dst_port = dialled_address(cluster, svc, address, via, family_of(source.ip))
    packet = Packet(source.ip, client_port, dst_ip, dst_port)
    if external:
        start = Place.client()
    elif source.pod:
        start = Place.pod(source.pod, node=source.node)
    else:
        start = Place.of_node(source.node or label)
    chain = chain_for(svc, source, address, profile, start, label, proxies=proxies, app=app)
    ctx = Context(cluster, svc, dataplane=dp, lb=profile, via=via if external or address == "loadBalancerIP" else None,
                  endpoint=endpoint, gen=gen, affinity=affinity, at=at)
    walked = walk(chain, start_flow(source, packet, address, start, entry=entry, x_forwarded_for=x_forwarded_for), ctx)
    flow = walked.flow
    common = dict(service=svc.name, client=label, client_ip=source.ip, dataplane=dataplane_key(dp),
                  cluster=cluster.copy(),  # a snapshot, so the trace can be drawn after the cluster changes
                  lb=profile.key, lb_label=profile.label, receivers=flow.receivers,
                  client_seen_by_app=flow.believes, app_error=flow.app_error)
    hops = tuple(dataclasses.replace(h, step=i + 1) for i, h in enumerate(walked.hops))
    if walked.outcome != "delivered":
        return Trace(**common, entry_node=flow.entry_node, hops=hops, reply=(), outcome=walked.outcome,
                     pod=None, pod_node=None, source_seen_by_pod=None, extra_hop=False, snat=False,
                     reason=walked.reason, decision=flow.decision)
    delivered = hops[-1].after if hops[-1].action == "deliver" else next(h.after for h in reversed(hops)
                                                                          if h.action == "deliver")
    back, outcome, reason = reply(flow, delivered, start)
    back_hops = tuple(dataclasses.replace(h, step=len(hops) + i + 1) for i, h in enumerate(back))
    entry_node = flow.entry_node if flow.decision is not None else None
    snat = flow.masq if flow.decision is not None else not profile.keeps_source
    return Trace(**common, entry_node=entry_node, hops=hops, reply=back_hops, outcome=outcome, pod=flow.pod,
                 pod_node=flow.pod_node, source_seen_by_pod=delivered.src,
                 extra_hop=entry_node is not None and flow.pod_node != entry_node, snat=snat, reason=reason,
                 decision=flow.decision, x_forwarded_for=flow.xff, proxy_protocol=flow.header_text)
