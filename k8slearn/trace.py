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
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

import numpy as np

from .dataplane import Decision, Source, chains, dataplane_key, decide, get_dataplane
from .dataplane.decide import Cilium, Dataplane
from .errors import InvalidChange, NotFound
from .loadbalancer import LB_ADDRESS, LoadBalancer, get_load_balancer, spread
from .model import CLIENT_IP, Cluster, Endpoint, Node, Pod, Service, ServiceRef

__all__ = ["Packet", "Place", "PLACE_KINDS", "Hop", "Trace", "send", "resolve_client", "default_address", "rng",
           "check_reachable"]

EPHEMERAL_PORTS = (32768, 60999)  # Linux's default ip_local_port_range


def rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """The one place k8slearn makes randomness: a private generator from an explicit seed.

    Nothing touches Python's or NumPy's global random state.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


@dataclass(frozen=True, slots=True)
class Packet:
    """The addresses of one packet: ``198.51.100.7:51000 -> 203.0.113.100:80 TCP``."""

    src: IPv4Address
    sport: int
    dst: IPv4Address
    dport: int
    protocol: str = "TCP"

    def summary(self) -> str:
        return f"{self.src}:{self.sport} -> {self.dst}:{self.dport} {self.protocol}"

    __str__ = summary

    def __repr__(self) -> str:
        return f"Packet({self.summary()})"

    def swapped(self) -> Packet:
        """The reply's addresses: source and destination exchanged."""
        return Packet(self.dst, self.dport, self.src, self.sport, self.protocol)


#: The kinds of place a packet passes, in the order a path from outside meets them.
PLACE_KINDS = ("client", "cdn", "lb", "router", "node", "pod", "ingress", "app")


@dataclass(frozen=True, slots=True)
class Place:
    """Where a hop happens: a ``kind`` (one of :data:`PLACE_KINDS`) and a ``name``.

    A pod also knows its ``node``, so a picture can put it inside that node. The kind, never the
    name, says what a place is: a pod named ``client`` is still a pod.

    >>> Place.pod("web-1", node="node-a")
    Place.pod('web-1', node='node-a')
    >>> str(Place.lb()), Place.client("198.51.100.7").kind
    ('load balancer', 'client')
    """

    kind: str
    name: str
    node: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in PLACE_KINDS:
            raise ValueError(f"unknown place kind {self.kind!r}: one of {', '.join(PLACE_KINDS)}")

    @classmethod
    def client(cls, name: str = "client") -> Place:
        return cls("client", name)

    @classmethod
    def lb(cls, name: str = "load balancer") -> Place:
        return cls("lb", name)

    @classmethod
    def router(cls, name: str = "router") -> Place:
        return cls("router", name)

    @classmethod
    def of_node(cls, name: str) -> Place:
        return cls("node", name, node=name)

    @classmethod
    def pod(cls, name: str, *, node: str | None) -> Place:
        return cls("pod", name, node=node)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        node = f", node={self.node!r}" if self.kind == "pod" else ""
        return f"Place.{'of_node' if self.kind == 'node' else self.kind}({self.name!r}{node})"


@dataclass(frozen=True, slots=True)
class Hop:
    """One thing that happened to the packet, at one place.

    ``action`` is one of: ``send``, ``forward``, ``DNAT``, ``SNAT``, ``route``, ``deliver``,
    ``DROP``, ``REJECT``, ``un-NAT``, ``accept``, ``discard``. ``at`` is the :class:`Place` where it
    happened (``str(hop.at)`` is its name). ``rule`` names what acted (kube-proxy's chains, conntrack,
    the load balancer).
    """

    step: int
    at: Place
    action: str
    before: Packet
    after: Packet
    rule: str = ""
    note: str = ""
    direction: str = "request"

    @property
    def changed(self) -> tuple[str, ...]:
        """Which fields this hop rewrote (``src``, ``sport``, ``dst``, ``dport``)."""
        return tuple(f for f in ("src", "sport", "dst", "dport")
                     if getattr(self.before, f) != getattr(self.after, f))

    @property
    def nat(self) -> str:
        """The rewrite as a label, e.g. ``SNAT 198.51.100.7 -> 192.168.0.13`` (empty if none)."""
        b, a = self.before, self.after
        parts = []
        if b.dst != a.dst or b.dport != a.dport:
            kind = "DNAT" if self.direction == "request" else "un-SNAT"
            parts.append(f"{kind} {b.dst}:{b.dport} -> {a.dst}:{a.dport}")
        if b.src != a.src or b.sport != a.sport:
            kind = "SNAT" if self.direction == "request" else "un-DNAT"
            same_ip = b.src == a.src  # masquerade to the address it already had: only the port changes
            parts.append(f"{kind} {b.src}:{b.sport} -> {a.src}:{a.sport}" if same_ip else f"{kind} {b.src} -> {a.src}")
        return "; ".join(parts)

    def summary(self) -> str:
        text = f"{self.step}. [{self.at}] {self.action}: {self.after.summary()}"
        return text + (f"  ({self.nat})" if self.nat else "")

    __str__ = summary


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
    text = str(client)
    try:
        ip = IPv4Address(text)
    except ValueError:
        ip = None
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
    if owner is not None or ip in cluster.cluster_cidr or ip.is_loopback:
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


class _Hops:
    """Collects hops, numbering them."""

    def __init__(self) -> None:
        self.items: list[Hop] = []

    def add(self, at: Place, action: str, before: Packet, after: Packet | None = None, *, rule: str = "",
            note: str = "", direction: str = "request") -> Packet:
        after = before if after is None else after
        self.items.append(Hop(len(self.items) + 1, at, action, before, after, rule, note, direction))
        return after


def send(
    cluster: Cluster,
    service: ServiceRef,
    *,
    client: Any = CLIENT_IP,
    via: str | None = None,
    address: str | None = None,
    endpoint: str | None = None,
    lb: str | LoadBalancer = "health-checked",
    dataplane: str | Dataplane = "iptables",
    seed: int | np.random.Generator | None = None,
    client_port: int = 51000,
) -> Trace:
    """Trace one connection from ``client`` to ``service``, hop by hop, and its reply.

    ``client`` is an outside IP (default 198.51.100.7), or a pod or node (by name or IP).
    ``address`` is what the client dials: ``"loadBalancerIP"``, ``"nodePort"``, ``"externalIP"`` or
    ``"clusterIP"`` (default: the most external one the service has; the ClusterIP from inside).
    ``via`` is the node that receives an external packet (default: the load balancer ``lb`` picks,
    at random with ``seed``); ``endpoint`` forces kube-proxy's random pick (it must be a pod it
    could pick). ``dataplane`` is ``"iptables"`` (default), ``"nftables"``, ``"ipvs"``,
    ``"cilium-snat"``, ``"cilium-dsr"`` or ``"no-snat"`` (a hypothetical kube-proxy without SNAT).

    >>> from k8slearn import examples
    >>> t = send(examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1)
    >>> t.path
    ['client', 'load balancer', 'node-c', 'node-b', 'web-3']
    >>> t.source_seen_by_pod, t.extra_hop
    (IPv4Address('192.168.0.13'), True)
    """
    gen = rng(seed)
    dp = get_dataplane(dataplane)
    lb = get_load_balancer(lb)
    svc = cluster.service(service)
    label, source, _ = resolve_client(cluster, client)
    external = source.kind == "external"
    address = address or default_address(svc, external)
    if address not in ("clusterIP", "nodePort", "loadBalancerIP", "externalIP"):
        raise NotFound("address", address, ["loadBalancerIP", "nodePort", "externalIP", "clusterIP"])
    check_reachable(svc, external, address)
    hops = _Hops()
    common = dict(service=svc.name, client=label, client_ip=source.ip, dataplane=dataplane_key(dp),
                  cluster=cluster.copy())  # a snapshot, so the trace can be drawn after the cluster changes
    if not external and address == "nodePort" and via is None:
        via = source.node  # a pod or node dials its own node's NodePort unless told otherwise

    dst_ip, dst_port = _address_of(cluster, svc, address, via)
    packet = Packet(source.ip, client_port, dst_ip, dst_port)
    if external:
        start = Place.client()
    elif source.pod:
        start = Place.pod(source.pod, node=source.node)
    else:
        start = Place.of_node(source.node or label)
    packet = hops.add(start, "send", packet, note=f"{label} opens a connection to {dst_ip}:{dst_port}")

    # Which node handles the packet first.
    proxied_from: Packet | None = None  # the client's own connection, when a proxying LB opened a new one
    if address == "loadBalancerIP" and svc.load_balancer_ip_mode == "Proxy" and lb.model != "pod-targeting":
        if not external:
            hops.add(Place.of_node(source.node) if source.node else start, "forward", packet, rule="KUBE-SERVICES: no rule for an ipMode Proxy LB IP",
                     note="kube-proxy does not short-circuit it (ipMode: Proxy), so it goes out to the load balancer")
        entry = _lb_entry(cluster, svc, lb, via, gen, packet, hops, common)
        if isinstance(entry, Trace):
            return entry
        proxied_from = packet
        port = int(gen.integers(EPHEMERAL_PORTS[0], EPHEMERAL_PORTS[1] + 1))
        packet = hops.add(Place.lb(), "SNAT", packet,
                          Packet(LB_ADDRESS, port, cluster.node(entry).ip, svc.node_port),  # type: ignore[arg-type]
                          rule="load balancer (ipMode: Proxy)",
                          note=f"a proxying load balancer ends the client's connection and opens its own to {entry}'s "
                          "NodePort: the source is now the load balancer (a PROXY protocol header could carry the "
                          "client's address)")
        source, address, external = Source("external", LB_ADDRESS), "nodePort", True
    elif external:
        if address == "loadBalancerIP":
            if lb.model == "pod-targeting":
                return _pod_targeted(cluster, svc, lb, packet, hops, gen, endpoint, common)
            entry = _lb_entry(cluster, svc, lb, via, gen, packet, hops, common)
            if isinstance(entry, Trace):
                return entry
            why = "you chose the node" if via else f"{lb.description}"
            packet = hops.add(Place.lb(), "forward", packet,
                              note=f"sends it to {entry} ({why}); a pass-through L4 load balancer leaves the addresses as they are")
        else:
            entry = cluster.node(via).name if via else cluster.nodes[int(gen.integers(len(cluster.nodes)))].name
            if address == "nodePort":
                packet = dataclasses.replace(packet, dst=cluster.node(entry).ip)
                hops.items[-1] = dataclasses.replace(hops.items[-1], before=packet, after=packet,
                                                     note=f"{label} opens a connection to {entry}'s NodePort")
            else:
                hops.add(Place.router(), "forward", packet, note=f"the network routes the externalIP to {entry}")
    else:
        entry = source.node
        if address == "nodePort" and via is not None:
            entry = cluster.node(via).name
            packet = dataclasses.replace(packet, dst=cluster.node(entry).ip)
            hops.items[-1] = dataclasses.replace(hops.items[-1], before=packet, after=packet)
        if entry != source.node and source.kind == "node":
            raise InvalidChange(f"{source.node} dialling another node's NodePort is not modelled",
                                hint="send from a pod instead, or dial the node's own NodePort.")

    node = cluster.node(entry)
    decision = decide(cluster, svc, node=node.name, source=source, destination=address, dataplane=dp)
    fail_rule = decision.rule or " → ".join(decision.steps)
    if decision.verdict in ("DROP", "REJECT", "NO_MATCH"):
        action = "DROP" if decision.verdict == "DROP" else "REJECT"
        hops.add(Place.of_node(node.name), action, packet, rule=fail_rule, note=decision.reason)
        return Trace(**common, entry_node=node.name, hops=tuple(hops.items), reply=(),
                     outcome="dropped" if action == "DROP" else "refused", pod=None, pod_node=None,
                     source_seen_by_pod=None, extra_hop=False, snat=False, reason=decision.reason,
                     decision=decision)

    ep = _choose(decision, endpoint, gen)
    sep = chains.endpoint_chain(svc.namespace, svc.name, ep.ip, ep.port)
    masq = decision.masquerades(ep, source.ip)
    steps = list(decision.steps)
    if isinstance(dp, Cilium):
        sep = "backend selected"
    elif decision.dataplane == "ipvs":
        sep = f"IPVS real server {ep.ip}:{ep.port}"
    if masq and "KUBE-MARK-MASQ" not in steps and not isinstance(dp, Cilium):
        steps.append(f"{sep} (hairpin: KUBE-MARK-MASQ)")
    else:
        steps.append(sep)
    n_eps = len(decision.endpoints)
    dnat = dataclasses.replace(packet, dst=ep.ip, dport=ep.port)
    reason = decision.reason
    if masq and decision.snat == "never":
        reason = (f"DNAT to one of {n_eps} endpoint(s); the chosen one is the client itself (hairpin), so "
                  f"{sep} marks the packet for masquerade")
    if proxied_from is not None:
        reason += (f" (the connection's source here is the load balancer, {source.ip}, which proxied it: "
                   "the client's own address did not reach the node)")
    packet = hops.add(Place.of_node(node.name), "DNAT", packet, dnat, rule=" → ".join(steps),
                      note=f"{reason}. Picked {ep.pod} (1 of {n_eps}, each with probability 1/{n_eps})")
    remote = ep.node != node.name
    if masq:
        snat_ip = node.ip if remote else node.bridge_ip
        port = int(gen.integers(EPHEMERAL_PORTS[0], EPHEMERAL_PORTS[1] + 1))
        rule = "KUBE-POSTROUTING: MASQUERADE --random-fully" if not isinstance(dp, Cilium) else "eBPF SNAT"
        toward = f"its address toward {ep.node}" if remote else "its own address on the bridge toward its pods"
        packet = hops.add(Place.of_node(node.name), "SNAT", packet, dataclasses.replace(packet, src=snat_ip, sport=port), rule=rule,
                          note=f"masquerade: {node.name} replaces the source with {toward}, so the reply must come back through it")
    if remote:
        note = f"{node.name} forwards it over the pod network to {ep.node}, where {ep.pod} runs"
        if external:
            note = "extra hop: " + note
        if decision.dsr:
            note += " (DSR: the service address travels with the packet, so the backend can answer the client directly)"
        packet = hops.add(Place.of_node(ep.node), "route", packet, note=note)
    seen = packet.src
    seen_note = "the client's own IP" if seen == common["client_ip"] else "not the client's IP"
    packet = hops.add(Place.pod(ep.pod, node=ep.node), "deliver", packet, note=f"{ep.pod} accepts the connection from {seen} ({seen_note})")

    reply, outcome, reason = _reply(node, ep, packet, hops, external, address, decision, masq, proxied_from)
    return Trace(**common, entry_node=node.name, hops=tuple(hops.items), reply=reply, outcome=outcome, pod=ep.pod,
                 pod_node=ep.node, source_seen_by_pod=seen, extra_hop=remote, snat=masq, reason=reason,
                 decision=decision)


def _address_of(cluster: Cluster, svc: Service, address: str, via: str | None) -> tuple[IPv4Address, int]:
    if address == "loadBalancerIP":
        if svc.load_balancer_ip is None:
            raise InvalidChange(f"{svc.name} is a {svc.type} service: it has no load-balancer IP",
                                hint="only LoadBalancer services get one.")
        return svc.load_balancer_ip, svc.port
    if address == "nodePort":
        if svc.node_port is None:
            raise InvalidChange(f"{svc.name} is a {svc.type} service: it has no NodePort",
                                hint="only NodePort and LoadBalancer services open a port on every node.")
        node = cluster.node(via) if via else cluster.nodes[0]
        return node.ip, svc.node_port
    if address == "externalIP":
        if not svc.external_ips:
            raise InvalidChange(f"{svc.name} has no externalIPs",
                                hint="set them with patch_service(..., external_ips=[...]).")
        return svc.external_ips[0], svc.port
    return svc.cluster_ip, svc.port  # type: ignore[return-value]


def _lb_entry(cluster: Cluster, svc: Service, lb: LoadBalancer, via: str | None, gen: np.random.Generator,
              packet: Packet, hops: _Hops, common: dict) -> str | Trace:
    """The node the load balancer sends this connection to, or the trace of it dropping it."""
    entry = via or _pick_entry(cluster, svc, lb, gen)
    if entry is None:
        hops.add(Place.lb(), "DROP", packet, note="no healthy backend: the load balancer drops it")
        return Trace(**common, entry_node=None, hops=tuple(hops.items), reply=(), outcome="dropped",
                     pod=None, pod_node=None, source_seen_by_pod=None, extra_hop=False, snat=False,
                     reason=spread(cluster, svc, lb).reason)
    return cluster.node(entry).name


def _pick_entry(cluster: Cluster, svc: Service, lb: LoadBalancer, gen: np.random.Generator) -> str | None:
    s = spread(cluster, svc, lb)
    if not s.weights:
        return None
    names = list(s.weights)
    probs = np.array([s.weights[n] for n in names])
    return names[int(gen.choice(len(names), p=probs / probs.sum()))]


def _choose(decision: Decision, endpoint: str | None, gen: np.random.Generator) -> Endpoint:
    if endpoint is None:
        return decision.endpoints[int(gen.integers(len(decision.endpoints)))]
    for ep in decision.endpoints:
        if ep.pod == endpoint:
            return ep
    raise InvalidChange(
        f"kube-proxy on {decision.node} would not send this packet to {endpoint!r}",
        hint=f"it picks among: {', '.join(e.pod for e in decision.endpoints)} ({decision.reason}).",
    )


def _pod_targeted(cluster: Cluster, svc: Service, lb: LoadBalancer, packet: Packet, hops: _Hops,
                  gen: np.random.Generator, endpoint: str | None, common: dict) -> Trace:
    eps = [e for e in cluster.endpoints(svc) if e.ready]
    if not eps:
        hops.add(Place.lb(), "DROP", packet, note="no ready pod to target")
        return Trace(**common, entry_node=None, hops=tuple(hops.items), reply=(), outcome="dropped", pod=None,
                     pod_node=None, source_seen_by_pod=None, extra_hop=False, snat=False,
                     reason=f"{svc.name} has no ready pods")
    if endpoint is not None:
        matches = [e for e in eps if e.pod == endpoint]
        if not matches:
            raise InvalidChange(f"the load balancer would not send this packet to {endpoint!r}",
                                hint=f"it targets the ready pods: {', '.join(e.pod for e in eps)}.")
        ep = matches[0]
    else:
        ep = eps[int(gen.integers(len(eps)))]
    src = packet.src if lb.preserve_client_ip else LB_ADDRESS
    after = dataclasses.replace(packet, src=src, dst=ep.ip, dport=ep.port)
    note = (f"targets pod {ep.pod} directly (IP target / NEG): no node hop, no kube-proxy; "
            + ("client IP preservation is on, so the source stays" if lb.preserve_client_ip
               else "without client-IP preservation the load balancer's own address becomes the source"))
    packet = hops.add(Place.lb(), "DNAT" if lb.preserve_client_ip else "SNAT", packet, after,
                      rule="load balancer (pod-targeting)", note=note)
    hops.add(Place.of_node(ep.node), "route", packet, note=f"the VPC routes pod IPs straight to {ep.node}")
    packet = hops.add(Place.pod(ep.pod, node=ep.node), "deliver", packet, note=f"{ep.pod} accepts the connection from {packet.src}")
    reply = _Hops()
    r = reply.add(Place.pod(ep.pod, node=ep.node), "send", packet.swapped(), direction="reply", note="the pod answers its peer")
    first = hops.items[0].before
    r = reply.add(Place.lb(), "un-NAT", r, first.swapped(),
                  rule="load balancer connection state", direction="reply",
                  note="the load balancer maps the reply back to the client's connection")
    reply.add(Place.client(), "accept", r, direction="reply", note="the reply matches the connection the client opened")
    return Trace(**common, entry_node=None, hops=tuple(hops.items), reply=_renumber(reply.items, len(hops.items)),
                 outcome="delivered", pod=ep.pod, pod_node=ep.node, source_seen_by_pod=packet.src, extra_hop=False,
                 snat=not lb.preserve_client_ip, reason=note, decision=None)


def _renumber(items: list[Hop], offset: int) -> tuple[Hop, ...]:
    return tuple(dataclasses.replace(h, step=offset + i + 1) for i, h in enumerate(items))


def _reply(node: Node, ep: Endpoint, delivered: Packet, hops: _Hops, external: bool, address: str,
           decision: Decision, masq: bool, proxied_from: Packet | None) -> tuple[tuple[Hop, ...], str, str]:
    """The reply's way back, and whether the client accepts it."""
    # What the connection's initiator sent (the client, or a proxying load balancer): the reply must
    # come from first.dst:first.dport for it to be accepted.
    first = next(h.after for h in hops.items if h.at.kind == "lb") if proxied_from else hops.items[0].before
    expected_src = (first.dst, first.dport)
    reply = _Hops()
    r = reply.add(Place.pod(ep.pod, node=ep.node), "send", delivered.swapped(), direction="reply", note=f"{ep.pod} answers {delivered.src}")
    remote = ep.node != node.name
    back_through_entry = masq or not remote or not external
    if decision.dsr and remote:
        r = reply.add(Place.of_node(ep.node), "un-NAT", r, Packet(first.dst, first.dport, first.src, first.sport), direction="reply",
                      rule="eBPF reverse NAT (DSR)",
                      note=f"{ep.node} rewrites the source back to the service address and answers the client directly")
    elif back_through_entry:
        if remote:
            reply.add(Place.of_node(ep.node), "route", r, direction="reply",
                      note=f"the reply is addressed to {node.name}, so {ep.node} sends it back there")
        r = reply.add(Place.of_node(node.name), "un-NAT", r, Packet(first.dst, first.dport, first.src, first.sport), direction="reply",
                      rule="conntrack", note="conntrack finds the connection and reverses its NAT: the source becomes "
                      "the address the client dialled again")
    else:
        r = reply.add(Place.of_node(ep.node), "route", r, direction="reply",
                      note=f"the reply is addressed to the client itself, so {ep.node} sends it straight out; "
                      f"{node.name}, which did the DNAT and holds the conntrack entry, never sees it")
    if external and address == "loadBalancerIP" and (back_through_entry and not decision.dsr):
        r = reply.add(Place.lb(), "forward", r, direction="reply", note="back through the load balancer")
    client_at = hops.items[0].at
    if proxied_from is not None and (r.src, r.sport) == expected_src:
        r = reply.add(Place.lb(), "un-NAT", r, proxied_from.swapped(), direction="reply",
                      rule="load balancer (ipMode: Proxy)",
                      note="the load balancer answers on the client's own connection")
        expected_src = (proxied_from.dst, proxied_from.dport)
    if (r.src, r.sport) == expected_src:
        reply.add(client_at, "accept", r, direction="reply",
                  note=f"the reply comes from {r.src}:{r.sport}, the address the client dialled: connection established")
        return _renumber(reply.items, len(hops.items)), "delivered", decision.reason
    why = (f"the client dialled {expected_src[0]}:{expected_src[1]} but the reply comes from {r.src}:{r.sport}; "
           "it matches no connection the client opened, so the client discards it (and answers with a RST): "
           "the connection never completes. (Under externalTrafficPolicy Cluster, kube-proxy masquerades "
           "external traffic to prevent exactly this.)")
    reply.add(client_at, "discard", r, direction="reply", note=why)
    return _renumber(reply.items, len(hops.items)), "reply discarded", why
