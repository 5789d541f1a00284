"""A packet's path as a chain of small elements, run two ways.

Each element of the path is one small object: the client, proxies in front of the cluster (a CDN,
an L7 proxy), the load balancer (one :class:`~k8slearn.loadbalancer.LoadBalancerProfile` per real
product), the node's service proxy (kube-proxy or Cilium, through
:func:`~k8slearn.dataplane.decide`), the pod network (routing, NetworkPolicy) and, when asked, the
app that reads PROXY headers and ``X-Forwarded-For``. Its ``forward`` takes a :class:`Flow` (the
packet as it travels, its L7 headers, the connections opened so far) and returns a
:class:`Choice`: the branches it can take, each with the hops it adds and the flow it hands on, or
an outcome (``dropped``, ``refused``).

One chain, two ways to run it:

* :func:`walk` picks one branch per element with a seeded generator: that is :func:`k8slearn.send`.
* :func:`enumerate_paths` multiplies every branch out with its exact probability, calling the very
  same element code: the reference for :func:`k8slearn.traffic`, which computes the same shares
  grouped and vectorised for large clusters (a property test holds the two together).

:func:`reply` walks a delivered connection's reply back through the same connections and NAT
points; :func:`reply_fails` is the one answer to "is this reply discarded?" for both.

Taught in notebooks/02-into-the-cluster.ipynb onwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import numpy as np

from .dataplane import Decision, Source, chains, decide
from .dataplane.decide import Cilium, Dataplane, KubeProxy
from .dataplane.netpol import ingress_verdict
from .errors import InvalidChange, show
from .loadbalancer import LB_ADDRESS, LB_ADDRESS6, LoadBalancerProfile, spread
from .model import Cluster, Endpoint, Service, family_of
from .proxies import ProxyHeader, append_xff, client_ip, trusted_networks
from .validation import is_bool

__all__ = [
    "EPHEMERAL_PORTS",
    "PLACE_KINDS",
    "App",
    "AppElement",
    "Branch",
    "ChainHop",
    "Choice",
    "Client",
    "Context",
    "Egress",
    "Flow",
    "FrontProxy",
    "Hop",
    "LoadBalancerElement",
    "NodeDataplane",
    "NodePortClient",
    "Packet",
    "Path",
    "Place",
    "PodNetwork",
    "Router",
    "Segment",
    "admits",
    "enumerate_paths",
    "evolve",
    "receive",
    "reply",
    "reply_fails",
    "walk",
]

EPHEMERAL_PORTS = (32768, 60999)  # Linux's default ip_local_port_range


# =========================================================================== places, packets, hops
def _hp(ip: Any, port: int) -> str:
    """``198.51.100.7:51000``, or ``[2001:db8:100::7]:51000`` for IPv6."""
    return f"[{ip}]:{port}" if getattr(ip, "version", 4) == 6 else f"{ip}:{port}"


@dataclass(frozen=True, slots=True)
class Packet:
    """The addresses of one packet: ``198.51.100.7:51000 -> 203.0.113.100:80 TCP``."""

    src: IPv4Address
    sport: int
    dst: IPv4Address
    dport: int
    protocol: str = "TCP"

    def summary(self) -> str:
        return f"{_hp(self.src, self.sport)} -> {_hp(self.dst, self.dport)} {self.protocol}"

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
    happened (``str(hop.at)`` is its name). ``rule`` names what acted (kube-proxy's chains,
    conntrack, the load balancer). ``xff`` and ``proxy_header`` are the ``X-Forwarded-For`` value
    and the PROXY header (as a summary) that travel with the packet after this hop (empty when
    there are none). ``proxied`` marks an ``SNAT`` hop where the place is a proxy: it ended the
    connection and opened its own (so the new source is the proxy's, and only a header can carry
    the client's address on).
    """

    step: int
    at: Place
    action: str
    before: Packet
    after: Packet
    rule: str = ""
    note: str = ""
    direction: str = "request"
    xff: str = ""
    proxy_header: str = ""
    proxied: bool = False

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
            parts.append(f"{kind} {_hp(b.dst, b.dport)} -> {_hp(a.dst, a.dport)}")
        if b.src != a.src or b.sport != a.sport:
            kind = "SNAT" if self.direction == "request" else "un-DNAT"
            same_ip = b.src == a.src  # masquerade to the address it already had: only the port changes
            parts.append(f"{kind} {_hp(b.src, b.sport)} -> {_hp(a.src, a.sport)}" if same_ip else f"{kind} {b.src} -> {a.src}")
        return "; ".join(parts)

    def summary(self) -> str:
        text = f"{self.step}. [{self.at}] {self.action}: {self.after.summary()}"
        return text + (f"  ({self.nat})" if self.nat else "")

    __str__ = summary


@dataclass(frozen=True, slots=True)
class ChainHop:
    """What one receiver on the path gets: its TCP peer, the headers, and the client it concludes."""

    at: str
    tcp_peer: Any
    x_forwarded_for: str
    proxy_header: str
    believes: Any
    problem: str = ""

    def summary(self) -> str:
        text = f"[{self.at}] TCP peer {self.tcp_peer}"
        if self.proxy_header:
            text += f", PROXY header {self.proxy_header}"
        if self.x_forwarded_for:
            text += f", X-Forwarded-For: {self.x_forwarded_for}"
        return text + (f" — {self.problem}" if self.problem else "")

    __str__ = summary


# =========================================================================== what travels
@dataclass(frozen=True, slots=True)
class Segment:
    """One TCP connection of the path: who opened it and its first packet as it left them.

    A proxy on the path opens a new segment. ``lb_back`` says how a load balancer that did not end
    this connection handles its replies (``"forward"``: passes them on; ``"un-NAT"``: reverses its
    rewrite; empty: none on the way back), with ``lb_rule`` and ``lb_note``. ``rule`` is what a
    proxy opener names when it answers on the connection before.
    """

    opener: Place
    sent: Packet
    rule: str = ""
    lb_back: str = ""
    lb_rule: str = ""
    lb_note: str = ""


@dataclass(frozen=True, slots=True)
class Flow:
    """A connection attempt as it travels: the packet now, its headers, and what happened so far.

    ``source`` is how the next node's service proxy classifies the sender (external, pod, node);
    ``address`` is what the packet is addressed to as that proxy sees it (``loadBalancerIP``,
    ``nodePort``, ``externalIP``, ``clusterIP``). ``segments`` are the connections opened so far
    (one per proxy on the path). After a node's service proxy: ``entry_node`` (where it DNATed),
    ``arrived`` (the packet as it reached that node), ``decision``, ``masq``, ``dsr``; after a pick:
    ``pod`` and ``pod_node``.
    """

    packet: Packet
    source: Source
    address: str
    client_ip: Any
    segments: tuple[Segment, ...]
    xff: str = ""
    proxy_header: ProxyHeader | None = None
    receivers: tuple[ChainHop, ...] = ()
    entry_node: str | None = None
    arrived: Packet | None = None
    external: bool = True
    decision: Decision | None = None
    masq: bool = False
    dsr: bool = False
    pod: str | None = None
    pod_node: str | None = None
    reason: str = ""
    believes: Any = None
    app_error: str = ""

    def with_segment_lb(self, back: str, rule: str = "", note: str = "") -> Flow:
        last = dataclasses.replace(self.segments[-1], lb_back=back, lb_rule=rule, lb_note=note)
        return evolve(self, segments=(*self.segments[:-1], last))

    @property
    def header_text(self) -> str:
        return self.proxy_header.summary() if self.proxy_header is not None else ""


_FLOW_FIELDS: tuple[str, ...] = ()


def evolve(flow: Flow, **changes: Any) -> Flow:
    """``dataclasses.replace`` for a :class:`Flow`, without re-running ``__init__`` (hot in exact shares)."""
    new = object.__new__(Flow)
    for name in _FLOW_FIELDS:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(flow, name))
    return new


@dataclass(frozen=True, slots=True)
class Branch:
    """One way an element can go: the hops it adds, and the flow it hands on or how it ends."""

    hops: tuple[Hop, ...]
    flow: Flow
    outcome: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Choice:
    """The branches an element offers, made on demand (a node may offer 10,000 endpoints).

    ``draw`` is how :func:`walk` picks when nothing forces it: ``"uniform"`` (``gen.integers``) or
    ``"weighted"`` (``gen.choice`` with ``weights``); ``"none"`` for a single branch. ``forced`` is
    an index chosen without drawing (``via=``, ``endpoint=``, session affinity).
    """

    keys: tuple[str, ...]
    make: Callable[[int], Branch]
    weights: tuple[float, ...] | None = None
    draw: str = "uniform"
    forced: int | None = None


_FLOW_FIELDS = tuple(f.name for f in dataclasses.fields(Flow))


def _family(flow: Flow) -> str:
    """The IP family the connection travels in (dual-stack: the client's)."""
    return family_of(flow.packet.dst)


def _lb_address(family: str) -> IPv4Address | IPv6Address:
    return LB_ADDRESS if family == "IPv4" else LB_ADDRESS6


def single(branch: Branch) -> Choice:
    return Choice(("",), lambda _: branch, draw="none", forced=0)


def _hop(at: Place, action: str, before: Packet, after: Packet | None = None, *, rule: str = "", note: str = "",
         flow: Flow | None = None, direction: str = "request", proxied: bool = False) -> Hop:
    after = before if after is None else after
    xff = flow.xff if flow is not None else ""
    header = flow.header_text if flow is not None else ""
    return Hop(0, at, action, before, after, rule, note, direction, xff, header, proxied)


class Context:
    """What every element may read: the cluster, the service, the dataplane, the load balancer,
    what the caller forced (``via``, ``endpoint``), and how ports and session affinity work.

    ``gen`` is a NumPy generator when walking (one seeded connection) and ``None`` when every
    branch is enumerated; ``affinity`` is the per-node ``sessionAffinity: ClientIP`` state a series
    of connections shares (``None``: a fresh connection with no history), and ``at`` the time of this
    connection on the series' clock, in seconds (``None``: no clock, the memory never expires).
    """

    def __init__(self, cluster: Cluster, svc: Service, *, dataplane: Dataplane, lb: LoadBalancerProfile,
                 via: str | None = None, endpoint: str | None = None, gen: np.random.Generator | None = None,
                 affinity: dict | None = None, at: float | None = None, light: bool = False) -> None:
        self.cluster = cluster
        self.svc = svc
        self.dp = dataplane
        self.lb = lb
        self.via = via
        self.endpoint = endpoint
        self.gen = gen
        self.affinity = affinity
        self.at = at
        self.light = light
        self._decisions: dict[tuple, Decision] = {}
        self._spread: Any = None

    def hop(self, at: Place, action: str, before: Packet, after: Packet | None = None, *, rule: str = "",
            note: str = "", flow: Flow | None = None, proxied: bool = False) -> Hop | None:
        """A request hop, or ``None`` when ``light`` (exact shares need the flows, not the hops)."""
        if self.light:
            return None
        return _hop(at, action, before, after, rule=rule, note=note, flow=flow, proxied=proxied)

    def port(self) -> int:
        """An ephemeral source port for a masquerade or a proxy's new connection."""
        if self.gen is None:
            return EPHEMERAL_PORTS[0]
        return int(self.gen.integers(EPHEMERAL_PORTS[0], EPHEMERAL_PORTS[1] + 1))

    def decide(self, node: str, source: Source, address: str) -> Decision:
        key = (node, source, address)
        found = self._decisions.get(key)
        if found is None:
            found = self._decisions[key] = decide(self.cluster, self.svc, node=node, source=source,
                                                  destination=address, dataplane=self.dp)
        return found

    def spread(self) -> Any:
        if self._spread is None:
            self._spread = spread(self.cluster, self.svc, self.lb, dataplane=self.dp)
        return self._spread


# =========================================================================== running a chain
@dataclass(frozen=True, slots=True)
class Path:
    """One complete way through a chain, with its probability."""

    weight: float
    hops: tuple[Hop, ...]
    flow: Flow
    outcome: str
    reason: str


def _pick(choice: Choice, gen: np.random.Generator) -> int:
    if choice.forced is not None:
        return choice.forced
    n = len(choice.keys)
    if choice.draw == "weighted":
        probs = np.array(choice.weights, dtype=float)
        return int(gen.choice(n, p=probs / probs.sum()))
    return int(gen.integers(n))


def walk(chain: Sequence[Any], flow: Flow, ctx: Context) -> Path:
    """Run the chain once, one branch per element (drawn with ``ctx.gen``)."""
    hops: list[Hop] = []
    for element in chain:
        choice = element.forward(flow, ctx)
        branch = choice.make(_pick(choice, ctx.gen))
        hops.extend(branch.hops)
        flow = branch.flow
        if branch.outcome:
            return Path(1.0, tuple(hops), flow, branch.outcome, branch.reason)
    return Path(1.0, tuple(hops), flow, "delivered", flow.reason)


def enumerate_paths(chain: Sequence[Any], flow: Flow, ctx: Context) -> list[Path]:
    """Every way through the chain, each with its exact probability (the same element code as :func:`walk`)."""
    out: list[Path] = []

    def go(k: int, flow: Flow, weight: float, hops: tuple[Hop, ...]) -> None:
        if k == len(chain):
            out.append(Path(weight, hops, flow, "delivered", flow.reason))
            return
        choice = chain[k].forward(flow, ctx)
        if choice.forced is not None:
            options = [(choice.forced, 1.0)]
        elif choice.draw == "weighted":
            total = float(sum(choice.weights or ()))
            options = [(i, w / total) for i, w in enumerate(choice.weights or ()) if w > 0]
        else:
            options = [(i, 1 / len(choice.keys)) for i in range(len(choice.keys))]
        for i, w in options:
            branch = choice.make(i)
            if branch.outcome:
                out.append(Path(weight * w, hops + branch.hops, branch.flow, branch.outcome, branch.reason))
            else:
                go(k + 1, branch.flow, weight * w, hops + branch.hops)

    go(0, flow, 1.0, ())
    return out


# =========================================================================== elements before the cluster
@dataclass(frozen=True)
class Client:
    """The connection's first packet leaves the client (an outside address, a pod or a node)."""

    place: Place
    label: str

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        p = flow.packet
        return single(Branch((ctx.hop(self.place, "send", p, note=f"{self.label} opens a connection to {p.dst}:{p.dport}",
                                   flow=flow),), flow))


@dataclass(frozen=True)
class NodePortClient:
    """An outside client that dials a node's NodePort itself (which node: ``via``, or any at random)."""

    place: Place
    label: str

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        nodes = ctx.cluster.nodes
        keys = tuple(n.name for n in nodes)
        forced = keys.index(ctx.cluster.node(ctx.via).name) if ctx.via else None

        def make(i: int) -> Branch:
            node = nodes[i]
            p = dataclasses.replace(flow.packet, dst=node.address(_family(flow)))
            seg = dataclasses.replace(flow.segments[0], sent=p)
            f = evolve(flow, packet=p, entry_node=node.name, segments=(seg, *flow.segments[1:]))
            return Branch((ctx.hop(self.place, "send", p, note=f"{self.label} opens a connection to {node.name}'s NodePort",
                                flow=f),), f)

        return Choice(keys, make, forced=forced)


@dataclass(frozen=True)
class Router:
    """The network routes an externalIP to some node (``via``, or any at random)."""

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        keys = tuple(n.name for n in ctx.cluster.nodes)
        forced = keys.index(ctx.cluster.node(ctx.via).name) if ctx.via else None

        def make(i: int) -> Branch:
            f = evolve(flow, entry_node=keys[i])
            return Branch((ctx.hop(Place.router(), "forward", flow.packet, note=f"the network routes the externalIP to {keys[i]}",
                                flow=f),), f)

        return Choice(keys, make, forced=forced)


@dataclass(frozen=True)
class Egress:
    """A pod's (or node's) packet to a load balancer that kube-proxy does not catch leaves the node."""

    place: Place

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        why = ctx.lb.why_no_short_circuit(ctx.svc)
        rule = ("KUBE-SERVICES: no rule for an ipMode Proxy LB IP" if ctx.lb.status == "ip"
                else "KUBE-SERVICES: no rule for this address")
        if ctx.lb.status == "ip" and ctx.lb.ip_mode == "VIP" and ctx.svc.load_balancer_ip_mode == "Proxy":
            note = "kube-proxy does not short-circuit it (ipMode: Proxy), so it goes out to the load balancer"
        else:
            note = f"kube-proxy does not short-circuit it ({why}), so it goes out to the load balancer"
        return single(Branch((ctx.hop(self.place, "forward", flow.packet, rule=rule, note=note, flow=flow),), flow))


#: What a hop in front of the pods must have (a :class:`k8slearn.proxychain.Proxy` has all of them).
PROXY_FIELDS = ("name", "ip", "layer", "xff", "send_proxy_protocol", "expect_proxy_protocol", "load_balancer",
                "in_cluster")


def check_route(proxies: Any, app: Any, x_forwarded_for: Any) -> list[Any]:
    """``proxies`` as a list of hops, once ``proxies``, ``app`` and ``x_forwarded_for`` are what the
    walk needs; otherwise InvalidChange with a hint (send, sessions and proxychain.follow share it)."""
    if isinstance(proxies, (str, bytes)) or all(hasattr(proxies, f) for f in PROXY_FIELDS) \
            or not isinstance(proxies, Iterable):
        raise InvalidChange(f"proxies={show(proxies)} is not a list of Proxy hops", hint="for example proxies=cdn_chain().")
    route = list(proxies)
    for hop in route:
        if not all(hasattr(hop, f) for f in PROXY_FIELDS):
            raise InvalidChange(f"proxies: {show(hop)} is not a Proxy",
                                hint='each hop is a Proxy, e.g. Proxy("CDN", "203.0.113.50", "L7").')
    if app is not None and not isinstance(app, App):
        raise InvalidChange(f"app={show(app)} is not an App", hint='for example app=App(trusted=["10.0.0.0/8"]).')
    if x_forwarded_for is not None and not isinstance(x_forwarded_for, str):
        raise InvalidChange(f"x_forwarded_for={show(x_forwarded_for)} is not header text",
                            hint='the header the client sends, e.g. x_forwarded_for="1.2.3.4".')
    return route


@dataclass(frozen=True)
class FrontProxy:
    """A proxy in front of the cluster or in it: a CDN, an L4 or L7 proxy, a pass-through hop.

    ``proxy`` is a :class:`k8slearn.proxychain.Proxy` (or anything with its attributes: ``name``,
    ``ip``, ``layer``, ``xff``, ``send_proxy_protocol``, ``expect_proxy_protocol``,
    ``load_balancer``, ``in_cluster``). A pass-through hop forwards; an ``SNAT`` hop forwards from
    its own address (a node's masquerade, in the cluster: a ``node`` place); an ``L4`` or ``L7`` proxy
    reads a PROXY header if it expects one (and breaks the connection if the two ends disagree),
    appends its peer to ``X-Forwarded-For`` (L7), and opens its own connection.
    """

    proxy: Any

    @property
    def place(self) -> Place:
        p = self.proxy
        if p.layer == "SNAT" and p.in_cluster:
            return Place.of_node(p.name)
        kind = "lb" if p.load_balancer else "ingress" if p.in_cluster else "cdn"
        return Place(kind, p.name)

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        p = self.proxy
        peer = flow.packet.src
        header = flow.header_text
        if p.layer == "passthrough":
            view = ChainHop(p.name, peer, flow.xff, header, peer)
            f = evolve(flow, receivers=(*flow.receivers, view))
            return single(Branch((ctx.hop(self.place, "forward", flow.packet, rule=p.name,
                                       note="a pass-through hop forwards the packets as they are", flow=f),), f))
        if p.layer == "SNAT":
            new = Packet(ip_address(str(p.ip)), ctx.port(), flow.packet.dst, flow.packet.dport)
            view = ChainHop(p.name, peer, flow.xff, header, peer)
            # From here on the packet comes from the NAT's address: that is the source the node's
            # service proxy sees (loadBalancerSourceRanges, sessionAffinity), as for a proxy below.
            f = evolve(flow, packet=new, receivers=(*flow.receivers, view),
                       segments=(*flow.segments, Segment(self.place, new, rule=p.name)),
                       source=Source("external", new.src) if not p.in_cluster else flow.source)
            return single(Branch((ctx.hop(self.place, "SNAT", flow.packet, new, rule=p.name, flow=f,
                                          note=f"forwards the packets with its own address {new.src} as the source "
                                               "(masquerade); no header records the peer it replaced"),), f))
        believes, problem = receive(p.name, p.expect_proxy_protocol, flow)
        view = ChainHop(p.name, peer, flow.xff, header, believes, problem)
        if problem:
            f = evolve(flow, receivers=(*flow.receivers, view), app_error=problem)
            return single(Branch((ctx.hop(self.place, "REJECT", flow.packet, rule=p.name, note=problem, flow=flow),),
                                 f, "refused", problem))
        xff = flow.xff
        if p.layer == "L7":
            if p.xff == "append":
                xff = append_xff(xff or None, believes)
            elif p.xff == "replace":
                xff = str(believes)
        new = Packet(ip_address(str(p.ip)), ctx.port(), flow.packet.dst, flow.packet.dport)
        pending = (ProxyHeader(version=2, src_addr=believes, src_port=51000,
                               dst_addr=LB_ADDRESS if isinstance(believes, IPv4Address) else ip_address("2001:db8::10"),
                               dst_port=443) if p.send_proxy_protocol else None)
        seg = Segment(self.place, new, rule=p.name)
        f = evolve(flow, packet=new, xff=xff, proxy_header=pending, receivers=(*flow.receivers, view),
                                segments=(*flow.segments, seg),
                                source=Source("external", new.src) if not p.in_cluster else flow.source)
        what = "an HTTP proxy" if p.layer == "L7" else "a TCP proxy"
        note = (f"{what} ends the connection and opens its own from {new.src}"
                + (", appending its peer to X-Forwarded-For" if p.layer == "L7" and p.xff == "append" else "")
                + (" and a PROXY v2 header" if pending is not None else ""))
        return single(Branch((ctx.hop(self.place, "SNAT", flow.packet, new, rule=p.name, note=note, flow=f, proxied=True),), f))


def receive(name: str, expects: bool, flow: Flow) -> tuple[Any, str]:
    """The client address a receiver concludes from its connection, or the problem that breaks it.

    A receiver configured for the PROXY protocol reads the header (and fails without one); one that
    is not reads a header as the start of the request, and rejects it (haproxy ``proxy-protocol.txt``:
    both ends must be configured together).
    """
    pending = flow.proxy_header
    if expects and pending is None:
        return None, f"{name} expects a PROXY header, but the connection starts with plain data: it closes the connection"
    if not expects and pending is not None:
        return None, (f"{name} does not expect a PROXY header, so it reads 'PROXY ...' as the start of the request "
                      "and rejects it as garbage")
    return (pending.src_addr if expects else flow.packet.src), ""


@dataclass(frozen=True, slots=True)
class App:
    """The application in the pod: whether it reads PROXY headers and which proxies it trusts."""

    expect_proxy_protocol: bool = False
    trusted: tuple[Any, ...] = dataclasses.field(default=())

    def __post_init__(self) -> None:
        if not is_bool(self.expect_proxy_protocol):
            raise InvalidChange(f"App: expect_proxy_protocol={show(self.expect_proxy_protocol)} must be True or False",
                                hint="write expect_proxy_protocol=True or expect_proxy_protocol=False.")
        object.__setattr__(self, "trusted", trusted_networks(self.trusted))


@dataclass(frozen=True)
class AppElement:
    """The app reads its connection: the PROXY header it expects, or ``X-Forwarded-For`` from the right.

    The safe pick (FACTS.md §7): if the TCP peer is a trusted proxy, walk ``X-Forwarded-For`` from
    the right skipping trusted proxies; the first untrusted address is the client. With a PROXY
    header, the header's source is the client.
    """

    app: App
    name: str = "app"

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        peer = flow.packet.src
        header = flow.header_text
        believes, problem = receive("the app", self.app.expect_proxy_protocol, flow)
        if problem:
            view = ChainHop(self.name, peer, flow.xff, header, None, problem)
            return single(Branch((), evolve(flow, receivers=(*flow.receivers, view), app_error=problem)))
        if self.app.expect_proxy_protocol:
            safe = believes
        else:
            safe = client_ip(peer, flow.xff, trusted=self.app.trusted)
        view = ChainHop(self.name, peer, flow.xff, header, safe)
        return single(Branch((), evolve(flow, receivers=(*flow.receivers, view), believes=safe)))


# =========================================================================== the load balancer
def _in_ranges(ip: Any, ranges: Sequence[Any]) -> bool:
    return any(ip.version == net.version and ip in net for net in ranges)


@dataclass(frozen=True)
class LoadBalancerElement:
    """The Service's load balancer, as its profile describes it (filter, spread, rewrite)."""

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        p, svc, cluster = ctx.lb, ctx.svc, ctx.cluster
        ranges = getattr(svc, "load_balancer_source_ranges", ())
        if p.filters_source_ranges and ranges and not _in_ranges(flow.packet.src, ranges):
            why = (f"{flow.packet.src} is not in loadBalancerSourceRanges ({', '.join(map(str, ranges))}): the load "
                   "balancer's own firewall (a security group, firewall rule or proxy filter built from that field) "
                   "drops it before any node sees it")
            return single(Branch((ctx.hop(Place.lb(), "DROP", flow.packet, rule="load balancer firewall (loadBalancerSourceRanges)",
                                       note=why, flow=flow),), flow, "dropped", why))
        inside = flow.source.kind != "external"
        if p.targets == "nodes" and ctx.via:
            keys: tuple[str, ...] = (cluster.node(ctx.via).name,)
            weights: tuple[float, ...] = (1.0,)
            forced: int | None = 0
        else:
            s = ctx.spread()
            if not s.weights:
                note = ("no ready pod to target" if p.targets == "pods"
                        else "no healthy backend: the load balancer drops it")
                return single(Branch((ctx.hop(Place.lb(), "DROP", flow.packet, note=note, flow=flow),),
                                     flow, "dropped", s.reason))
            keys = tuple(s.weights)
            weights = tuple(s.weights[k] for k in keys)
            forced = None
            if p.targets == "pods" and ctx.endpoint is not None:
                if ctx.endpoint not in keys:
                    raise InvalidChange(f"the load balancer would not send this packet to {show(ctx.endpoint)}",
                                        hint=f"it targets the ready pods: {', '.join(keys)}.")
                forced = keys.index(ctx.endpoint)

        shared: dict[str, Flow] = {}  # what every branch hands on alike, made once

        def make(i: int) -> Branch:
            target = keys[i]
            if p.targets == "pods":
                return self._to_pod(flow, ctx, target, inside)
            return self._to_node(flow, ctx, target, inside, shared)

        # Equal shares over pods are drawn like kube-proxy's pick (one integer); node shares by weight.
        draw = "uniform" if p.targets == "pods" and p.spread == "per-pod" else "weighted"
        return Choice(keys, make, weights=weights, draw=draw, forced=forced)

    @staticmethod
    def _hairpin(flow: Flow, ctx: Context, node: str) -> Branch | None:
        """A pod behind a load balancer that keeps its source, reaching its own node through it: no answer.

        AWS documents that NAT loopback (hairpinning) is not supported with client IP preservation:
        a target's connection to itself through the NLB times out.
        """
        if flow.source.kind == "external" or not ctx.lb.keeps_source or flow.source.node != node:
            return None
        why = (f"hairpin: the load balancer keeps the source {flow.packet.src} and sends the connection back to "
               f"{node}, the node it came from; the node's answer never matches, and the client times out "
               "(NAT loopback is not supported with client IP preservation)")
        return Branch((ctx.hop(Place.lb(), "DROP", flow.packet, rule=ctx.lb.label, note=why, flow=flow),),
                      evolve(flow, entry_node=node), "dropped", why)

    def _to_node(self, flow: Flow, ctx: Context, name: str, inside: bool, shared: dict[str, Flow]) -> Branch:
        p, svc, cluster = ctx.lb, ctx.svc, ctx.cluster
        node = cluster.node(name)
        hairpin = self._hairpin(flow, ctx, name)
        if hairpin is not None:
            return hairpin
        why = "you chose the node" if ctx.via else p.description
        family = _family(flow)
        lb_address = _lb_address(family)
        if p.proxies or p.kind == "source NAT":
            new = Packet(lb_address, ctx.port(), node.address(family), svc.node_port)  # type: ignore[arg-type]
            rule = "load balancer (ipMode: Proxy)" if p.abstract else p.label
            if p.proxies:
                xff = append_xff(flow.xff or None, flow.packet.src) if p.xff else flow.xff
                header = (ProxyHeader(version=p.proxy_protocol, src_addr=flow.packet.src, src_port=flow.packet.sport,
                                      dst_addr=flow.packet.dst, dst_port=flow.packet.dport)
                          if p.proxy_protocol else None)
                f = evolve(flow, packet=new, source=Source("external", lb_address), address="nodePort",
                                        entry_node=name, xff=xff, proxy_header=header,
                                        segments=(*flow.segments, Segment(Place.lb(), new, rule=rule)))
                carried = (f"; a PROXY v{p.proxy_protocol} header carries the client's address" if header is not None
                           else "; X-Forwarded-For carries the client's address" if p.xff
                           else " (a PROXY protocol header could carry the client's address)")
                note = (f"a proxying load balancer ends the client's connection and opens its own to {name}'s NodePort: "
                        f"the source is now the load balancer{carried}")
                return Branch((ctx.hop(Place.lb(), "SNAT", flow.packet, new, rule=rule, note=note, flow=f, proxied=True),), f)
            header = (ProxyHeader(version=p.proxy_protocol, src_addr=flow.packet.src, src_port=flow.packet.sport,
                                  dst_addr=flow.packet.dst, dst_port=flow.packet.dport) if p.proxy_protocol else None)
            f = evolve(flow, packet=new, source=Source("external", lb_address), address="nodePort",
                                    entry_node=name, proxy_header=header or flow.proxy_header)
            f = f.with_segment_lb("un-NAT", "load balancer connection state",
                                  "the load balancer maps the reply back to the client's connection")
            note = f"sends it to {name}'s NodePort and replaces the source with its own address ({why})"
            return Branch((ctx.hop(Place.lb(), "SNAT", flow.packet, new, rule=rule, note=note, flow=f),), f)
        if p.delivers == "node-port":
            new = dataclasses.replace(flow.packet, dst=node.address(family), dport=svc.node_port)  # type: ignore[arg-type]
            f = evolve(flow, packet=new, address="nodePort", entry_node=name)
            f = f.with_segment_lb("un-NAT", "load balancer connection state",
                                  "the load balancer maps the reply back to the client's connection")
            note = (f"sends it to {name}'s NodePort {svc.node_port} ({why}); client IP preservation keeps the source, "
                    "so kube-proxy sees a NodePort packet from the client")
            return Branch((ctx.hop(Place.lb(), "DNAT", flow.packet, new, rule=p.label, note=note, flow=f),), f)
        base = shared.get("forward")
        if base is None:
            base = shared["forward"] = flow.with_segment_lb("forward") if p.returns_via_lb else flow
        f = evolve(base, entry_node=name)
        note = f"sends it to {name} ({why}); a pass-through L4 load balancer leaves the addresses as they are"
        return Branch((ctx.hop(Place.lb(), "forward", flow.packet, note=note, flow=f),), f)

    def _to_pod(self, flow: Flow, ctx: Context, pod: str, inside: bool) -> Branch:
        p, svc, cluster = ctx.lb, ctx.svc, ctx.cluster
        family = _family(flow)
        lb_address = _lb_address(family)
        ep = cluster.cached(("endpoint-by-pod", svc.name, family),
                            lambda: {e.pod: e for e in cluster.endpoints(svc, family=family)})[pod]
        if inside and p.keeps_source and flow.source.pod == pod:
            why = (f"hairpin: the load balancer keeps the source and sends {pod}'s connection back to {pod} itself; "
                   "the answer never matches, and the client times out")
            return Branch((ctx.hop(Place.lb(), "DROP", flow.packet, rule=p.label, note=why, flow=flow),), flow, "dropped", why)
        rule = "load balancer (pod-targeting)" if p.abstract else p.label
        if p.proxies:
            new = Packet(lb_address, ctx.port(), ep.ip, ep.port)
            xff = append_xff(flow.xff or None, flow.packet.src) if p.xff else flow.xff
            header = (ProxyHeader(version=p.proxy_protocol, src_addr=flow.packet.src, src_port=flow.packet.sport,
                                  dst_addr=flow.packet.dst, dst_port=flow.packet.dport) if p.proxy_protocol else None)
            note = (f"targets pod {pod} directly (NEG / IP target): no node hop, no kube-proxy; the proxy ends the "
                    "client's connection and opens its own, so the pod's peer is the load balancer"
                    + ("; X-Forwarded-For carries the client's address" if p.xff else ""))
            f = evolve(flow, packet=new, xff=xff, proxy_header=header, pod=pod, pod_node=ep.node,
                                    segments=(*flow.segments, Segment(Place.lb(), new, rule=rule)), reason=note,
                                    source=Source("external", lb_address))
            return Branch((ctx.hop(Place.lb(), "SNAT", flow.packet, new, rule=rule, note=note, flow=f, proxied=True),), f)
        keep = p.keeps_source
        src = flow.packet.src if keep else lb_address
        new = dataclasses.replace(flow.packet, src=src, dst=ep.ip, dport=ep.port)
        header = (ProxyHeader(version=p.proxy_protocol, src_addr=flow.packet.src, src_port=flow.packet.sport,
                              dst_addr=flow.packet.dst, dst_port=flow.packet.dport) if p.proxy_protocol else None)
        note = (f"targets pod {pod} directly (IP target / NEG): no node hop, no kube-proxy; "
                + ("client IP preservation is on, so the source stays" if keep
                   else "without client-IP preservation the load balancer's own address becomes the source")
                + (f"; a PROXY v{p.proxy_protocol} header carries the client's address" if header is not None else ""))
        f = evolve(flow, packet=new, pod=pod, pod_node=ep.node, reason=note,
                                proxy_header=header or flow.proxy_header,
                                source=flow.source if keep else Source("external", lb_address))
        f = f.with_segment_lb("un-NAT", "load balancer connection state",
                              "the load balancer maps the reply back to the client's connection")
        return Branch((ctx.hop(Place.lb(), "DNAT" if keep else "SNAT", flow.packet, new, rule=rule, note=note, flow=f),), f)


# =========================================================================== the node and the pod network
@dataclass(frozen=True)
class NodeDataplane:
    """The service proxy on the node the packet reached: DROP, REJECT, or DNAT to one of N endpoints."""

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        if flow.pod is not None:  # a load balancer that targets pods already chose one
            return single(Branch((), flow))
        node = ctx.cluster.node(flow.entry_node)
        decision = ctx.decide(node.name, flow.source, flow.address)
        if decision.verdict in ("DROP", "REJECT", "NO_MATCH"):
            action = "DROP" if decision.verdict == "DROP" else "REJECT"
            rule = decision.rule or " → ".join(decision.steps)
            f = evolve(flow, decision=decision)
            return single(Branch((ctx.hop(Place.of_node(node.name), action, flow.packet, rule=rule, note=decision.reason,
                                       flow=flow),), f, "dropped" if action == "DROP" else "refused", decision.reason))
        eps = decision.endpoints
        keys = tuple(e.pod for e in eps)
        forced = None
        sticky = ""
        if ctx.endpoint is not None:
            if ctx.endpoint not in keys:
                raise InvalidChange(
                    f"kube-proxy on {decision.node} would not send this packet to {show(ctx.endpoint)}",
                    hint=f"it picks among: {', '.join(keys)} ({decision.reason}).",
                )
            forced = keys.index(ctx.endpoint)
        elif ctx.affinity is not None and getattr(ctx.svc, "session_affinity", "None") == "ClientIP":
            key = (node.name, ctx.svc.name, flow.source.ip)
            remembered = ctx.affinity.get(key)
            last = ctx.affinity.get((*key, "at"))
            if ctx.at is not None and last is not None and ctx.at - last >= ctx.svc.session_affinity_timeout:
                # The kernel forgets a source after timeoutSeconds without a connection (the 'recent'
                # match's --seconds, the nftables set's timeout); the next one is a fresh pick.
                ctx.affinity.pop(key, None)
                ctx.affinity.pop((*key, "at"), None)
                ctx.affinity[(*key, "expired")] = (remembered, ctx.at - last)
                remembered = None
            if remembered in keys:
                forced = keys.index(remembered)
                sticky = remembered

        def make(i: int) -> Branch:
            return self.land(flow, decision, eps[i], ctx, sticky=sticky)

        return Choice(keys, make, forced=forced)

    @staticmethod
    def land(flow: Flow, decision: Decision, ep: Endpoint, ctx: Context, *, sticky: str = "") -> Branch:
        """The DNAT to ``ep`` (and the masquerade, if any) on the node that decided."""
        dp = ctx.dp
        node = ctx.cluster.node(decision.node)
        nft = isinstance(dp, KubeProxy) and dp.mode == "nftables"  # its own chain names (proxier.go)
        ns, name = ctx.svc.namespace, ctx.svc.name
        sep = (chains.nft_endpoint_chain if nft else chains.endpoint_chain)(ns, name, ep.ip, ep.port)
        mark = "mark-for-masquerade" if nft else "KUBE-MARK-MASQ"
        source = flow.source
        masq = decision.masquerades(ep, source.ip)
        steps = list(decision.steps)
        if isinstance(dp, Cilium):
            sep = "backend selected"
        elif decision.dataplane == "ipvs":
            sep = f"IPVS real server {ep.ip}:{ep.port}"
        if masq and mark not in steps and not isinstance(dp, Cilium):
            steps.append(f"{sep} (hairpin: {mark})")
        else:
            steps.append(sep)
        n_eps = len(decision.endpoints)
        dnat = dataclasses.replace(flow.packet, dst=ep.ip, dport=ep.port)
        reason = decision.reason
        if masq and decision.snat == "never":
            reason = (f"DNAT to one of {n_eps} endpoint(s); the chosen one is the client itself (hairpin), so "
                      f"{sep} marks the packet for masquerade")
        opener = flow.segments[-1].opener
        if opener.kind in ("lb", "cdn", "ingress"):
            who = "the load balancer" if opener.kind == "lb" else opener.name
            # "... so the pod sees the client's IP" holds for the connection's source, which here is the proxy
            reason = reason.replace("so the pod sees the client's IP", "so the pod sees the connection's source")
            reason += (f" (the connection's source here is {who}, {source.ip}, which proxied it: the client's own "
                       "address did not reach the node)")
        if sticky:
            where = (f"its set {chains.nft_affinity_set(ns, name, ep.ip, ep.port)}" if nft
                     else f"'recent' match in {chains.service_chain(ns, name)}")
            pick = (f"Picked {ep.pod} again: sessionAffinity ClientIP remembers that {source.ip} went there "
                    f"(on {node.name}; {where})")
        else:
            pick = f"Picked {ep.pod} (1 of {n_eps}, each with probability 1/{n_eps})"
        if ctx.affinity is not None and getattr(ctx.svc, "session_affinity", "None") == "ClientIP":
            key = (node.name, ctx.svc.name, source.ip)
            expired = ctx.affinity.pop((*key, "expired"), None)
            if expired and not sticky:
                pick += (f"; sessionAffinity had forgotten that {source.ip} went to {expired[0]}: its last "
                         f"connection was {expired[1]:g} s ago, timeoutSeconds is {ctx.svc.session_affinity_timeout}")
            ctx.affinity[key] = ep.pod
            if ctx.at is not None:
                ctx.affinity[(*key, "at")] = ctx.at
        hops = [ctx.hop(Place.of_node(node.name), "DNAT", flow.packet, dnat, rule=" → ".join(steps),
                     note=f"{reason}. {pick}", flow=flow)]
        packet = dnat
        remote = ep.node != node.name
        if masq:
            family = family_of(ep.ip)
            snat_ip = node.address(family) if remote else node.bridge(family)
            port = ctx.port()
            rule = ("eBPF SNAT" if isinstance(dp, Cilium) else "masquerading: masquerade fully-random" if nft
                    else "KUBE-POSTROUTING: MASQUERADE --random-fully")
            toward = f"its address toward {ep.node}" if remote else "its own address on the bridge toward its pods"
            after = dataclasses.replace(packet, src=snat_ip, sport=port)
            hops.append(ctx.hop(Place.of_node(node.name), "SNAT", packet, after, rule=rule,
                             note=f"masquerade: {node.name} replaces the source with {toward}, so the reply must come "
                             "back through it", flow=flow))
            packet = after
        f = evolve(flow, packet=packet, entry_node=node.name, arrived=flow.packet,
                                external=source.kind == "external", decision=decision, masq=masq,
                                dsr=decision.dsr, pod=ep.pod, pod_node=ep.node, reason=reason)
        return Branch(tuple(hops), f)


@dataclass(frozen=True)
class PodNetwork:
    """The pod network carries the packet to the pod's node; NetworkPolicy may stop it at the pod."""

    def forward(self, flow: Flow, ctx: Context) -> Choice:
        hops: list[Hop] = []
        pod = flow.pod
        assert pod is not None and flow.pod_node is not None
        if flow.entry_node is None:
            hops.append(ctx.hop(Place.of_node(flow.pod_node), "route", flow.packet,
                             note=f"the VPC routes pod IPs straight to {flow.pod_node}", flow=flow))
        elif flow.pod_node != flow.entry_node:
            note = f"{flow.entry_node} forwards it over the pod network to {flow.pod_node}, where {pod} runs"
            if flow.external:
                note = "extra hop: " + note
            if flow.dsr:
                note += " (DSR: the service address travels with the packet, so the backend can answer the client directly)"
            hops.append(ctx.hop(Place.of_node(flow.pod_node), "route", flow.packet, note=note, flow=flow))
        admitted, rule, why = admits(ctx.cluster, pod, flow.packet.src)
        if not admitted:
            hops.append(ctx.hop(Place.pod(pod, node=flow.pod_node), "DROP", flow.packet, rule=rule, note=why, flow=flow))
            return single(Branch(tuple(hops), flow, "dropped", why))
        seen = flow.packet.src
        seen_note = "the client's own IP" if seen == flow.client_ip else "not the client's IP"
        hops.append(ctx.hop(Place.pod(pod, node=flow.pod_node), "deliver", flow.packet,
                         note=f"{pod} accepts the connection from {seen} ({seen_note})", flow=flow))
        return single(Branch(tuple(hops), flow))


def admits(cluster: Cluster, pod: str, source: Any) -> tuple[bool, str, str]:
    """Whether NetworkPolicy lets ``source`` in to ``pod``: (allowed, the rule, why).

    See :func:`k8slearn.dataplane.netpol.ingress_verdict` (policy applies after the Service's NAT).
    """
    return ingress_verdict(cluster, pod, source)


# =========================================================================== the reply
def reply_fails(flow: Flow) -> bool:
    """Whether the reply bypasses the node that holds the connection's NAT (so the client discards it).

    Without SNAT (and without DSR), a remote pod's reply to an outside source goes straight back
    from its own node, never passing the node that did the DNAT.
    """
    if flow.entry_node is None or flow.pod_node is None:
        return False
    remote = flow.pod_node != flow.entry_node
    return flow.external and remote and not flow.masq and not flow.dsr


def reply(flow: Flow, delivered: Packet, client_at: Place) -> tuple[list[Hop], str, str]:
    """The reply's way back through the same connections, and whether each opener accepts it.

    Returns the reply hops (not yet numbered), the outcome (``delivered`` or ``reply discarded``)
    and the reason.
    """
    out: list[Hop] = []

    def add(at: Place, action: str, before: Packet, after: Packet | None = None, *, rule: str = "", note: str = "") -> Packet:
        out.append(_hop(at, action, before, after, rule=rule, note=note, direction="reply"))
        return before if after is None else after

    pod_at = Place.pod(flow.pod or "", node=flow.pod_node)
    r = add(pod_at, "send", delivered.swapped(), note=f"{flow.pod} answers {delivered.src}")
    via_lb = True
    if flow.entry_node is not None and flow.arrived is not None:
        entry, pod_node = flow.entry_node, flow.pod_node
        arrived = flow.arrived
        restored = Packet(arrived.dst, arrived.dport, arrived.src, arrived.sport)
        remote = pod_node != entry
        if flow.dsr and remote:
            r = add(Place.of_node(pod_node), "un-NAT", r, restored, rule="eBPF reverse NAT (DSR)",
                    note=f"{pod_node} rewrites the source back to the service address and answers the client directly")
            via_lb = False
        elif not reply_fails(flow):
            via_lb = not flow.dsr  # a DSR dataplane answers from the node, not back through the load balancer
            if remote:
                add(Place.of_node(pod_node), "route", r,
                    note=f"the reply is addressed to {entry}, so {pod_node} sends it back there")
            r = add(Place.of_node(entry), "un-NAT", r, restored, rule="conntrack",
                    note="conntrack finds the connection and reverses its NAT: the source becomes "
                    "the address the client dialled again")
        else:
            r = add(Place.of_node(pod_node), "route", r,
                    note=f"the reply is addressed to the client itself, so {pod_node} sends it straight out; "
                    f"{entry}, which did the DNAT and holds the conntrack entry, never sees it")
            via_lb = False
    segments = flow.segments
    for k in range(len(segments) - 1, -1, -1):
        seg = segments[k]
        if seg.lb_back and via_lb:
            if seg.lb_back == "forward":
                r = add(Place.lb(), "forward", r, note="back through the load balancer")
            else:
                r = add(Place.lb(), "un-NAT", r, seg.sent.swapped(), rule=seg.lb_rule, note=seg.lb_note)
        expected = (seg.sent.dst, seg.sent.dport)
        opener = client_at if k == 0 else seg.opener
        if (r.src, r.sport) != expected:
            why = (f"the client dialled {expected[0]}:{expected[1]} but the reply comes from {r.src}:{r.sport}; "
                   "it matches no connection the client opened, so the client discards it (and answers with a RST): "
                   "the connection never completes. (Under externalTrafficPolicy Cluster, kube-proxy masquerades "
                   "external traffic to prevent exactly this.)")
            add(opener, "discard", r, note=why)
            return out, "reply discarded", why
        if k == 0:
            add(opener, "accept", r,
                note=f"the reply comes from {r.src}:{r.sport}, the address the client dialled: connection established")
            return out, "delivered", flow.reason
        before = segments[k - 1].sent
        note = ("the load balancer answers on the client's own connection" if seg.opener.kind == "lb"
                else f"{seg.opener.name} answers on the connection it received")
        r = add(seg.opener, "un-NAT", r, before.swapped(), rule=seg.rule, note=note)
        via_lb = True
    raise AssertionError("a path has at least one connection")  # pragma: no cover

