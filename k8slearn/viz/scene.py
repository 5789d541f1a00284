"""The cluster scene: client, load balancer, nodes with their pods, and a packet's path over them.

One renderer for every cluster picture: ``k8s.draw(cluster)``, ``k8s.draw(trace)`` and the explorer
all call :func:`scene`, so what a notebook shows and what the explorer shows cannot drift apart.

The layout is computed from the model, never random: the client and the load balancer on top, the
nodes in one row below (at most :data:`MAX_NODES`; the others are summed up in one box), each node
with its kube-proxy tab and its pods. On a trace, the path is drawn segment by segment and every run
of segments that carries the same addresses is labelled with them (``src:port → dst:port``); a
segment whose source is no longer the client's is dashed, vermillion and says SNAT. Given a
``step``, only the hops up to it are drawn and the packet is a token, carrying its header, that
moves (CSS animation) from the previous hop's place to this one: the packet-tracer view.

Taught in notebooks/01 to 04; the explorer is in :mod:`k8slearn.widgets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ..errors import InvalidChange
from ..loadbalancer import LoadBalancer, spread
from ..model import Cluster, Pod, Service
from ..trace import Hop, Packet, Place, Trace
from .svg import PALETTE, NodeColours, Svg, text_width, wrap

__all__ = ["scene", "Layout", "layout", "MAX_NODES", "MAX_PODS", "trace_headline", "cluster_headline"]

W = 780.0            # width of the scene, in SVG units (px at 100 %)
PAD = 12.0
GAP = 14.0           # between nodes
TEXT = 13.0          # names and labels; nothing smaller than SMALL
SMALL = 12.0
MONO = 12.5
MAX_NODES = 5        # nodes drawn in the row; the others are summed up in one box
MAX_PODS = 4         # pods drawn per node before "+N more"
HEAD = 48.0          # node header: name, IP, kube-proxy tab, health
POD_H, POD_GAP = 36.0, 6.0
LANE = 16.0          # the strip at a node's right edge where the path runs to and from pods
TOP_ROW = 46.0       # client and load-balancer boxes
BAND = 72.0          # between the top row and the nodes: fan-out edges, shares, labels
BELOW = 64.0         # under the nodes: extra hops and their labels
LABEL_H = 36.0

_SNAT, _REQ, _REPLY, _OK = PALETTE["snat"], PALETTE["request"], PALETTE["reply"], PALETTE["ok"]
_CSS = """
.k8s-svg .tok { animation: k8s-fade .25s ease-out; }
@keyframes k8s-fade { from { opacity: .35; } to { opacity: 1; } }
.k8s-svg .cur { animation: k8s-pulse 1.2s ease-in-out 2; }
@keyframes k8s-pulse { 50% { stroke-width: 5; } }
"""


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: Box, margin: float = 2.0) -> bool:
        return not (self.right + margin <= other.x or other.right + margin <= self.x
                    or self.bottom + margin <= other.y or other.bottom + margin <= self.y)


@dataclass
class Layout:
    """Where everything is (SVG units, y downwards)."""

    width: float
    height: float = 0.0
    top: float = 0.0                     # y of the top row
    client: Box | None = None
    lb: Box | None = None
    lb_title: str = ""
    lb_name: str = ""                    # the load balancer's profile ("AWS Classic ELB"), if known
    nodes: dict[str, Box] = field(default_factory=dict)
    tabs: dict[str, Box] = field(default_factory=dict)   # kube-proxy tab of each node
    pods: dict[str, Box] = field(default_factory=dict)
    more_pods: dict[str, tuple[Box, int]] = field(default_factory=dict)
    more_nodes: tuple[Box, list[str]] | None = None
    nodes_top: float = 0.0
    nodes_bottom: float = 0.0

    def lane(self, node: str, reply: bool = False) -> float:
        box = self.nodes[node]
        return box.right - LANE / 2 - (5 if reply else -1)


def _service(cluster: Cluster, service: Any) -> Service | None:
    if service is None:
        return cluster.services[0] if cluster.services else None
    return cluster.service(service)


def _shown_nodes(cluster: Cluster, keep: list[str]) -> list[str]:
    names = [n.name for n in cluster.nodes]
    if len(names) <= MAX_NODES:
        return names
    keep = [k for k in dict.fromkeys(keep) if k in names][:MAX_NODES - 1]
    shown = [n for n in names if n not in keep][: MAX_NODES - 1 - len(keep)] + keep
    return [n for n in names if n in shown]  # cluster order, so nodes do not jump around


def layout(cluster: Cluster, svc: Service | None, *, client: str | None, lb_title: str | None,
           keep_nodes: list[str] = (), keep_pods: set[str] = frozenset(), title_lines: int = 2,
           width: float = W, compact: bool = False, path: bool = True, lb_name: str | None = None) -> Layout:
    """Place everything. ``keep_nodes``/``keep_pods`` are drawn even when the cluster is too big to
    draw whole (the places a trace visits). ``compact`` leaves no room for address labels (two
    scenes side by side)."""
    lay = Layout(width=width)
    max_pods = 3 if compact else MAX_PODS
    y = PAD + title_lines * 19 + 6
    lay.top = y
    if client is not None:
        w = max(text_width(client, MONO, mono=True), text_width("client", TEXT, bold=True)) + 20
        lay.client = Box(PAD, y, w, TOP_ROW)
    if lb_title is not None:
        lay.lb_title = lb_title
        w = max(text_width(lb_title, MONO, mono=True), text_width(lb_name or "load balancer", TEXT, bold=True)) + 20
        lay.lb_name = lb_name or ""
        gap = 60 if compact else 190
        left = (lay.client.right + gap) if lay.client is not None else PAD
        lay.lb = Box(min(max(left, width / 2 - w / 2), width - PAD - w), y, w, TOP_ROW)
    has_top = lay.client is not None or lay.lb is not None
    y += (TOP_ROW + (BAND * 0.6 if compact else BAND)) if has_top else (18 if compact else LABEL_H + 18)
    lay.nodes_top = y

    names = _shown_nodes(cluster, list(keep_nodes))
    hidden = [n.name for n in cluster.nodes if n.name not in names]
    slots = len(names) + (1 if hidden else 0)
    node_w = (width - 2 * PAD - (slots - 1) * GAP) / max(slots, 1)
    pod_w = node_w - LANE - 20
    pods_on = {n: cluster.pods_on(n) for n in names}
    shown_pods: dict[str, list[Pod]] = {}
    for name in names:
        pods = list(pods_on[name])
        if len(pods) > max_pods:
            kept = [p for p in pods if p.name in keep_pods]
            pods = (kept + [p for p in pods if p.name not in keep_pods])[: max_pods - 1]
            pods = [p for p in pods_on[name] if p in pods]
        shown_pods[name] = pods
    rows = max([len(p) + (1 if len(p) < len(pods_on[n]) else 0) for n, p in shown_pods.items()] + [1])
    height = HEAD + rows * (POD_H + POD_GAP) + 4
    x = PAD
    for name in names:
        box = Box(x, y, node_w, height)
        lay.nodes[name] = box
        tab_w = text_width("kube-proxy", SMALL) + 12
        lay.tabs[name] = Box(box.right - tab_w - 4, y - 9, tab_w, 18)
        for i, pod in enumerate(shown_pods[name]):
            lay.pods[pod.name] = Box(x + 14, y + HEAD + i * (POD_H + POD_GAP), pod_w, POD_H)
        extra = len(pods_on[name]) - len(shown_pods[name])
        if extra:
            i = len(shown_pods[name])
            lay.more_pods[name] = (Box(x + 14, y + HEAD + i * (POD_H + POD_GAP), pod_w, POD_H), extra)
        x += node_w + GAP
    if hidden:
        lay.more_nodes = (Box(x, y, node_w, height), hidden)
    lay.nodes_bottom = y + height
    lay.height = lay.nodes_bottom + (12 if not path else 40 if compact else BELOW)
    return lay


# --------------------------------------------------------------------------- the path, as segments
@dataclass(frozen=True)
class _Segment:
    start: Place
    end: Place
    packet: Packet          # what the packet carries on this segment
    first_hop: int          # the step of the hop it leads to
    direction: str
    enter_low: bool = False  # starts at the bottom of the start node's lane (came from another node)
    exit_low: bool = False   # ends at the bottom of the end node's lane (goes on to another node)


def _hop_between_nodes(seg: _Segment | None) -> bool:
    return (seg is not None and seg.start.kind == "node" and seg.end.kind == "node"
            and seg.start.name != seg.end.name)


def _segments(hops: tuple[Hop, ...]) -> list[_Segment]:
    raw = [_Segment(prev.at, hop.at, hop.before, hop.step, hop.direction)
           for prev, hop in pairwise(hops) if prev.at != hop.at]
    out = []
    for i, seg in enumerate(raw):
        before = raw[i - 1] if i > 0 and raw[i - 1].direction == seg.direction else None
        after = raw[i + 1] if i + 1 < len(raw) and raw[i + 1].direction == seg.direction else None
        if _hop_between_nodes(seg):
            enter = before is not None and before.start.kind == "pod" and before.end == seg.start
            leave = after is not None and after.end.kind == "pod" and after.start == seg.end
        else:
            enter = seg.start.kind == "node" and seg.end.kind == "pod" and _hop_between_nodes(before)
            leave = seg.start.kind == "pod" and seg.end.kind == "node" and _hop_between_nodes(after)
        out.append(_Segment(seg.start, seg.end, seg.packet, seg.first_hop, seg.direction, enter, leave))
    return out


def _node_of(place: Place) -> str | None:
    return place.node if place.kind in ("node", "pod") else None


# --------------------------------------------------------------------------- headlines
def cluster_headline(cluster: Cluster, svc: Service | None) -> tuple[str, str]:
    if svc is None:
        return (f"Cluster {cluster.name}: {len(cluster.nodes)} nodes, {len(cluster.pods)} pods", "no services")
    pods = len(cluster.selected_pods(svc))
    ready = sum(1 for e in cluster.endpoints(svc) if e.ready)
    first = f"Service {svc.name}: {svc.type}"
    if svc.externally_accessible:
        first += f" · externalTrafficPolicy: {svc.external_traffic_policy}"
    if svc.internal_traffic_policy != "Cluster":
        first += f" · internalTrafficPolicy: {svc.internal_traffic_policy}"
    second = f"{len(cluster.nodes)} nodes, {pods} pods selected ({ready} ready)"
    return first, second


def trace_headline(trace: Trace) -> tuple[str, str, str]:
    """(first line, second line, colour) that say what happened to the traced connection."""
    svc = trace.cluster.service(trace.service) if trace.cluster is not None else None
    first = f"{trace.client} → {trace.service}"
    if svc is not None and svc.externally_accessible:
        first += f" · externalTrafficPolicy: {svc.external_traffic_policy}"
    if trace.dataplane != "iptables":
        first += f" · {trace.dataplane}"
    fail = next((h for h in trace.hops if h.action in ("DROP", "REJECT")), None)
    if trace.outcome == "dropped":
        where = fail.at.name if fail is not None else "the load balancer"
        return first, f"✗ DROPPED at {where}: {_short(trace.reason)}", _SNAT
    if trace.outcome == "refused":
        where = fail.at.name if fail is not None else "?"
        return first, f"✗ REFUSED at {where}: {_short(trace.reason)}", _SNAT
    seen = f"{trace.pod} on {trace.pod_node} sees source {trace.source_seen_by_pod}"
    if trace.client_ip_kept:
        seen += ": the client's own IP ✓"
        colour = _OK
    else:
        by_lb = any(h.at.kind == "lb" and h.before.src != h.after.src for h in trace.hops)
        seen += ": not the client's IP (" + ("replaced by the load balancer" if by_lb else "SNAT") + ")"
        colour = _SNAT
    if trace.extra_hop:
        seen += f" · extra hop {trace.entry_node} → {trace.pod_node}"
    if trace.outcome == "reply discarded":
        return first, f"✗ reaches {trace.pod}, but the client discards the reply", _SNAT
    return first, seen, colour


def _short(reason: str) -> str:
    text = reason.split(". ")[0].split(" (")[0]
    return text if len(text) <= 90 else text[:88] + "…"


# --------------------------------------------------------------------------- drawing
class _Scene:
    def __init__(self, cluster: Cluster, svc: Service | None, lay: Layout, colours: NodeColours) -> None:
        self.c, self.svc, self.lay, self.colours = cluster, svc, lay, colours
        self.svg = Svg(lay.width, lay.height)
        self.taken: list[Box] = []
        self.texts: list[Box] = []   # the taken boxes that hold words to read (shares, labels, signs)
        self.names: list[Box] = []   # node names and addresses, pods: the packet's header keeps off them too
        self.shares: list[Box] = []  # the load balancer's shares: the numbers of the lesson, covered last
        self.later: list[Any] = []   # drawn last, on top of the path (the shares on the fan-out edges)
        self.pod_shares: dict[str, tuple[float, float]] | None = None  # pod -> (share, SNAT'd fraction)
        self.share_top = 1.0

    # ---------------------------------------------------------------- the cluster
    def headline(self, first: str | None, lines: list[str], colour: str | None = None) -> None:
        y = PAD + 14
        if first is not None:
            self.svg.text(PAD, y, first, size=TEXT + 1, bold=True)
            y += 19
        for line in lines:
            self.svg.text(PAD, y, line, size=TEXT, fill=colour, bold=colour is not None,
                          cls="t" if colour is None else "", extra=' data-k8s="headline"')
            y += 19

    def top_row(self, client_label: str | None) -> None:
        lay, s = self.lay, self.svg
        if lay.client is not None:
            b = lay.client
            s.rect(b.x, b.y, b.w, b.h, cls="card", rx=8, sw=1.2)
            s.text(b.x + 10, b.y + 18, "client", size=TEXT, bold=True)
            s.text(b.x + 10, b.y + 36, client_label or "", size=MONO, mono=True, cls="m")
            self.taken.append(b)
            self.names.append(b)
        if lay.lb is not None:
            b = lay.lb
            if lay.client is not None:
                s.line(lay.client.right, lay.client.cy, b.x, lay.client.cy, cls="edge", sw=1.2)
            s.rect(b.x, b.y, b.w, b.h, fill=PALETTE["lb"], opacity=0.25, stroke=PALETTE["lb"], sw=1.5, rx=8)
            s.text(b.x + 10, b.y + 18, lay.lb_name or "load balancer", size=TEXT, bold=True)
            s.text(b.x + 10, b.y + 36, lay.lb_title, size=MONO, mono=True, cls="m")
            self.taken.append(b)
            self.names.append(b)

    def fan(self, shares: dict[str, float] | None, lost: float, health: dict[str, Any]) -> None:
        """Edges from the load balancer (or the client) to every node, with the share of each."""
        lay, s = self.lay, self.svg
        src = lay.lb or lay.client
        if src is None or self.svc is None or not self.svc.externally_accessible:
            return
        x0, y0 = src.cx, src.bottom
        targets = [(n, lay.tabs[n].cx, lay.tabs[n].y) for n in lay.nodes]
        if lay.more_nodes is not None:
            box = lay.more_nodes[0]
            targets.append(("+more", box.cx, box.y))
        for name, x1, y1 in targets:
            share = None
            if shares is not None:
                share = (sum(shares.get(h, 0.0) for h in lay.more_nodes[1]) if name == "+more" and lay.more_nodes
                         else shares.get(name, 0.0))
            dead = share is not None and share <= 1e-12
            s.line(x0, y0, x1, y1, cls="edge", sw=1.2, dash="3 4" if dead else None)
            if share is not None:  # near the node end, below the client's label and above the tabs
                t = min(0.9, max(0.3, (y1 - 12 - y0) / max(y1 - y0, 1.0)))
                x, y = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
                label = _pct(share)
                w = text_width(label, SMALL, bold=True) + 8

                def draw(x: float = x, y: float = y, w: float = w, label: str = label, dead: bool = dead,
                         name: str = name) -> None:
                    s.rect(x - w / 2, y - 9, w, 17, cls="lbl", rx=3, stroke=PALETTE["muted"], sw=0.6)
                    s.text(x, y + 4, label, size=SMALL, anchor="middle", bold=not dead, cls="m" if dead else "t",
                           extra=f' data-k8s="share" data-node="{name}"')
                self.later.append(draw)
                self.taken.append(Box(x - w / 2, y - 9, w, 17))
                self.texts.append(self.taken[-1])
                self.shares.append(self.taken[-1])
        if shares is not None and lost > 1e-12:
            s.text(src.right + 8, src.bottom - 4, f"{_pct(lost)} has no healthy node: dropped", size=SMALL,
                   fill=_SNAT, bold=True)

    def nodes(self, health: dict[str, Any]) -> None:
        lay, s = self.lay, self.svg
        eps = {e.pod: e for e in self.c.endpoints(self.svc)} if self.svc is not None else {}
        for name, b in lay.nodes.items():
            node = self.c.node(name)
            colour = self.colours[name]
            s.rect(b.x, b.y, b.w, b.h, cls="node", stroke=colour, sw=2.5, rx=8, dash=None if node.ready else "6 4",
                   extra=f' data-k8s="node" data-node="{name}"')
            s.rect(b.x, b.y, 8, b.h, fill=colour, rx=3)
            s.text(b.x + 14, b.y + 19, name, size=TEXT, bold=True)
            s.text(b.x + 14, b.y + 37, str(node.ip), size=MONO, mono=True, cls="m")
            self.names.append(Box(b.x + 10, b.y + 4, text_width(str(node.ip), MONO, mono=True) + 10, 38))
            tab = lay.tabs[name]
            s.rect(tab.x, tab.y, tab.w, tab.h, cls="card", rx=4, sw=1)
            s.text(tab.cx, tab.y + 13.5, "kube-proxy", size=SMALL, anchor="middle", cls="m")
            self.names.append(tab)  # the drop sign and the packet keep off it if they can
            hc = health.get(name)
            state = None if node.ready else ("NotReady", _SNAT)
            narrow = b.w < 200
            if state is None and hc is not None and hc.status != 200 and hc.port != 10256:
                state = (f"✗ {hc.status}" if narrow else f"health {hc.status}", _SNAT)
            elif state is None and hc is not None and hc.port != 10256:
                state = (f"✓ {hc.status}" if narrow else f"health {hc.status}", _OK)
            if state is not None:
                s.text(b.right - 8, b.y + 37, state[0], size=SMALL, anchor="end", fill=state[1], bold=True,
                       extra=f' data-k8s="health" data-node="{name}"')
            for pod in self.c.pods_on(name):
                if pod.name in lay.pods:
                    self.pod(pod, lay.pods[pod.name], colour, eps.get(pod.name))
            if name in lay.more_pods:
                box, n = lay.more_pods[name]
                s.rect(box.x, box.y, box.w, box.h, cls="card", rx=5, dash="4 3", sw=1)
                s.text(box.x + 8, box.cy + 4.5, f"+{n} more pods", size=SMALL, cls="m")
        if lay.more_nodes is not None:
            b, hidden = lay.more_nodes
            with_pods = sum(1 for n in hidden if self.c.pods_on(n))
            s.rect(b.x, b.y, b.w, b.h, cls="node", rx=8, dash="6 4", stroke=PALETTE["muted"], sw=1.5)
            s.text(b.x + 10, b.y + 19, f"+{len(hidden)} more nodes", size=TEXT, bold=True)
            pods = sum(len(self.c.pods_on(n)) for n in hidden)
            s.text(b.x + 10, b.y + 38, f"{pods} pods", size=SMALL, cls="m")
            s.text(b.x + 10, b.y + 56, f"{with_pods} with pods", size=SMALL, cls="m")

    def pod(self, pod: Pod, b: Box, colour: str, ep: Any) -> None:
        s = self.svg
        share = self.pod_shares.get(pod.name) if self.pod_shares is not None else None
        selected = ep is not None
        dash = None
        if pod.terminating:
            fill, stroke, dash, state = PALETTE["muted"], "#E69F00", "4 3", "Terminating"
        elif not pod.ready:
            fill, stroke, dash, state = PALETTE["muted"], PALETTE["muted"], "4 3", "NotReady"
        elif selected:
            fill, stroke, state = colour, colour, ""
        else:
            fill, stroke, state = PALETTE["muted"], PALETTE["muted"], ""
        s.rect(b.x, b.y, b.w, b.h, fill=fill, opacity=0.22, stroke=stroke, sw=1.5, rx=5, dash=dash,
               extra=f' data-k8s="pod" data-pod="{pod.name}"')
        s.text(b.x + 7, b.y + 15, pod.name, size=SMALL, bold=True)
        self.names.append(b)
        if share is not None:  # the pod's share of new connections, as a bar inside its box
            value, snat = share
            full = b.w - 14
            w = full * min(value / self.share_top, 1.0) if self.share_top > 0 else 0.0
            s.rect(b.x + 7, b.y + 21, full, 10, fill="none", stroke=PALETTE["muted"], sw=0.6)
            if w > 0:
                s.rect(b.x + 7, b.y + 21, w, 10, fill=colour, stroke="#333333", sw=0.5)
                if snat > 0:
                    s.rect(b.x + 7, b.y + 21, w * snat, 10, fill="url(#k8s-snat)")
            s.text(b.right - 6, b.y + 15, _pct(value), size=SMALL, bold=True, anchor="end",
                   extra=f' data-k8s="pod-share" data-pod="{pod.name}"')
            return
        ip = str(pod.ip)
        s.text(b.x + 7, b.y + 30, ip if not state else state, size=SMALL, mono=not state, cls="m")

    # ---------------------------------------------------------------- the path
    def anchor(self, place: Place, *, toward: Place | None, reply: bool = False) -> tuple[float, float]:
        lay = self.lay
        if place.kind == "client" and lay.client is not None:
            return lay.client.right, lay.client.cy + (6 if reply else 0)
        if place.kind in ("lb", "router") and lay.lb is not None:
            return lay.lb.x, lay.lb.cy + (6 if reply else 0)
        if place.kind == "pod" and place.name in lay.pods:
            b = lay.pods[place.name]
            return b.right, b.cy + (5 if reply else -3)
        node = _node_of(place)
        if node in lay.tabs:
            t = lay.tabs[node]
            return t.cx + (-6 if reply else 6), t.y
        if lay.more_nodes is not None:
            return lay.more_nodes[0].cx, lay.more_nodes[0].y
        return lay.width / 2, lay.nodes_top

    def route(self, seg: _Segment) -> list[tuple[float, float]]:
        """The polyline of one segment, following the lanes."""
        lay, reply = self.lay, seg.direction == "reply"
        a, b = seg.start, seg.end
        off = 5 if reply else 0
        na, nb = _node_of(a), _node_of(b)
        pts: list[tuple[float, float]] = []
        if a.kind == "client" and b.kind in ("lb", "router") and lay.lb is not None and lay.client is not None:
            y = lay.client.cy + (7 if reply else -3)
            return [(lay.client.right, y), (lay.lb.x, y)]
        if a.kind in ("lb", "router") and b.kind == "client" and lay.lb is not None and lay.client is not None:
            y = lay.client.cy + 7
            return [(lay.lb.x, y), (lay.client.right, y)]
        if a.kind in ("client", "lb", "router") and nb is not None and nb in lay.tabs:
            src = lay.lb if a.kind in ("lb", "router") and lay.lb is not None else lay.client
            start = (src.cx + off, src.bottom) if src is not None else (lay.width / 2, lay.top)
            tab = lay.tabs[nb]
            pts = [start, (tab.cx + off, tab.y)]
            if b.kind == "pod":
                pts += [(lay.lane(nb, reply), tab.bottom)] + self._to_pod(nb, b.name, reply)
            return pts
        if b.kind in ("client", "lb", "router") and na is not None and na in lay.tabs:
            dst = lay.lb if b.kind in ("lb", "router") and lay.lb is not None else lay.client
            tab = lay.tabs[na]
            pts = []
            if a.kind == "pod":
                pts += list(reversed(self._to_pod(na, a.name, reply))) + [(lay.lane(na, reply), tab.bottom)]
            pts += [(tab.cx - 6, tab.y)]
            pts += [(dst.cx - 6, dst.bottom) if dst is not None else (lay.width / 2, lay.top)]
            return pts
        if na is not None and nb is not None and na in lay.nodes and nb in lay.nodes:
            tab_a = (lay.tabs[na].cx + off, lay.tabs[na].bottom)
            if na == nb:  # inside one node: between kube-proxy's tab (or the lane's foot) and the pod
                if a.kind == "node" and b.kind == "pod":
                    if seg.enter_low:
                        return [(lay.lane(na, reply), lay.nodes_bottom)] + self._to_pod(na, b.name, reply)
                    return [tab_a, (lay.lane(na, reply), tab_a[1])] + self._to_pod(na, b.name, reply)
                if a.kind == "pod" and b.kind == "node":
                    back = list(reversed(self._to_pod(na, a.name, reply)))
                    if seg.exit_low:
                        return back + [(lay.lane(na, reply), lay.nodes_bottom)]
                    return back + [(lay.lane(na, reply), tab_a[1]), tab_a]
                return [self.anchor(a, toward=b, reply=reply), self.anchor(b, toward=a, reply=reply)]
            # between nodes: down one lane, along the band below the nodes, up the other lane
            ya = lay.nodes_bottom + (30 if reply else 18)
            xa, xb = lay.lane(na, reply), lay.lane(nb, reply)
            start = [(xa, lay.nodes_bottom)] if seg.enter_low else [tab_a, (xa, tab_a[1]), (xa, lay.nodes_bottom)]
            tab_b = (lay.tabs[nb].cx + off, lay.tabs[nb].bottom)
            end = [(xb, lay.nodes_bottom)] if seg.exit_low else [(xb, lay.nodes_bottom), (xb, tab_b[1]), tab_b]
            return start + [(xa, ya), (xb, ya)] + end
        return [self.anchor(a, toward=b, reply=reply), self.anchor(b, toward=a, reply=reply)]

    def _to_pod(self, node: str, pod: str, reply: bool) -> list[tuple[float, float]]:
        """From a point on the node's lane to the pod: along the lane to the pod's row, then in."""
        lay = self.lay
        x = lay.lane(node, reply)
        box = lay.pods.get(pod)
        y = box.cy + (5 if reply else -3) if box is not None else lay.nodes[node].bottom - 10
        return [(x, y), (box.right if box is not None else x, y)]

    def draw_segment(self, seg: _Segment, client_ip: Any, current: bool) -> None:
        pts = self.route(seg)
        reply = seg.direction == "reply"
        snat = not reply and seg.packet.src != client_ip
        colour = _REPLY if reply else _SNAT if snat else _REQ
        dash = "2 4" if reply else "9 5" if snat else None
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        cls = "cur" if current else ""
        self.svg.path(d, stroke=colour, sw=3.2 if not reply else 2.4, dash=dash, cls=cls,
                      extra=f' stroke-linejoin="round" data-k8s="segment" data-snat="{str(snat).lower()}"'
                            f' data-src="{seg.packet.src}" data-dst="{seg.packet.dst}"')
        x1, y1 = pts[-2]
        x2, y2 = pts[-1]
        self._arrowhead(x1, y1, x2, y2, colour)

    def _arrowhead(self, x1: float, y1: float, x2: float, y2: float, colour: str) -> None:
        import math

        ang = math.atan2(y2 - y1, x2 - x1)
        size = 9
        p1 = (x2 - size * math.cos(ang - 0.45), y2 - size * math.sin(ang - 0.45))
        p2 = (x2 - size * math.cos(ang + 0.45), y2 - size * math.sin(ang + 0.45))
        self.svg.path(f"M{x2:.1f},{y2:.1f} L{p1[0]:.1f},{p1[1]:.1f} L{p2[0]:.1f},{p2[1]:.1f} Z", fill=colour)

    def label_slots(self, seg: _Segment, w: float) -> list[Box]:
        """Where the label of a run starting with ``seg`` may go, best first."""
        lay = self.lay
        a, b = seg.start, seg.end
        na, nb = _node_of(a), _node_of(b)
        top_y = lay.nodes_top - LABEL_H - 32  # above the shares on the fan-out edges
        below_y = lay.nodes_bottom + 24

        def top(n: str | None) -> list[Box]:
            return [Box(lay.nodes[n].cx - w / 2, top_y, w, LABEL_H)] if n in lay.nodes else []

        def below(n: str | None) -> list[Box]:
            return [Box(lay.nodes[n].cx - w / 2, below_y, w, LABEL_H)] if n in lay.nodes else []

        slots: list[Box] = []
        if a.kind == "client" and b.kind in ("lb", "router") and lay.client is not None and lay.lb is not None:
            mid = (lay.client.right + lay.lb.x) / 2
            y = lay.client.bottom + 3
            slots += [Box(max(lay.client.right + 4, mid - w / 2), y, w, LABEL_H), Box(lay.client.x, y, w, LABEL_H),
                      Box(lay.client.right + 4, y, w, LABEL_H)]
        elif a.kind in ("client", "lb", "router"):
            slots += top(nb) + below(nb)
        elif a.kind == "pod" and b.kind == "node" and na == nb:
            slots += top(na) + below(na)
        elif na is not None and nb is not None and na != nb and na in lay.nodes and nb in lay.nodes:
            mid = (lay.lane(na) + lay.lane(nb)) / 2
            slots += [Box(mid - w / 2, below_y, w, LABEL_H)] + below(nb) + below(na)
        else:
            slots += below(nb or na) + top(nb or na)
        slots += below(na) + top(na) + below(nb) + top(nb)
        # keep inside the picture
        return [Box(min(max(PAD, s.x), lay.width - PAD - s.w), s.y, s.w, s.h) for s in slots]

    def free_box(self, slots: list[Box], w: float) -> Box:
        """The first slot (or the slot moved sideways a little) that covers nothing drawn yet; failing
        that, a new row under everything (the picture grows)."""
        lay = self.lay
        for slot in slots:
            for dx in (0, -40, 40, -80, 80, -120, 120, -160, 160):
                box = Box(min(max(PAD, slot.x + dx), lay.width - PAD - w), slot.y, w, slot.h)
                if not any(box.overlaps(t) for t in self.taken):
                    return box
        below = max([t.bottom for t in self.taken] + [lay.nodes_bottom + 24]) + 6
        box = Box(slots[0].x if slots else PAD, below, w, LABEL_H)
        self.svg.height = max(self.svg.height, box.bottom + 8)
        return box

    def label(self, seg: _Segment, previous: Packet | None, client_ip: Any, *, where: str = "") -> None:
        """The addresses a run of segments carries, with what changed since the previous run."""
        p = seg.packet
        src, dst = f"{p.src}:{p.sport}", f"{p.dst}:{p.dport}"
        snat = seg.direction == "request" and p.src != client_ip
        src_changed = previous is not None and (p.src, p.sport) != (previous.src, previous.sport)
        dst_changed = previous is not None and (p.dst, p.dport) != (previous.dst, previous.dport)
        tag_src = ("SNAT" if seg.direction == "request" else "un-DNAT") if src_changed and p.src != previous.src else ""
        tag_dst = ("DNAT" if seg.direction == "request" else "un-SNAT") if dst_changed and p.dst != previous.dst else ""
        line1 = f"src {src}"
        line2 = f"dst {dst}"
        tags_w = max(text_width(tag_src, SMALL, bold=True), text_width(tag_dst, SMALL, bold=True))
        w = max(text_width(line1, MONO, mono=True), text_width(line2, MONO, mono=True)) + 14 + (tags_w + 8 if tags_w else 0)
        box = self.free_box(self.label_slots(seg, w), w)
        self.taken.append(box)
        self.texts.append(self.taken[-1])
        s = self.svg
        reply = seg.direction == "reply"
        edge = _REPLY if reply else _SNAT if snat else _REQ
        pts = self.route(seg)
        mx, my = pts[len(pts) // 2] if len(pts) > 2 else ((pts[0][0] + pts[-1][0]) / 2, (pts[0][1] + pts[-1][1]) / 2)
        if not (box.x - 4 <= mx <= box.right + 4 and box.y - 10 <= my <= box.bottom + 10):
            ly = box.y if my < box.y else box.bottom
            s.line(min(max(mx, box.x + 8), box.right - 8), ly, mx, my, stroke=edge, sw=1, dash="2 3")
        s.add(f'<g data-k8s="label" data-src="{p.src}" data-dst="{p.dst}" data-snat="{str(snat).lower()}">')
        s.rect(box.x, box.y, box.w, box.h, cls="lbl", stroke=edge, sw=1.5, rx=5, dash="5 3" if snat else None)
        x = box.x + 7
        if tags_w:
            x += tags_w + 8
            if tag_src:
                s.text(box.x + 6, box.y + 15, tag_src, size=SMALL, bold=True, fill=_SNAT if not reply else _REPLY)
            if tag_dst:
                s.text(box.x + 6, box.y + 31, tag_dst, size=SMALL, bold=True, fill=_REQ if not reply else _REPLY)
        s.rich(x, box.y + 15, [("src ", {}), (src, {"fill": _SNAT if snat or tag_src else None, "bold": bool(tag_src)})],
               size=MONO, mono=True)
        s.rich(x, box.y + 31, [("dst ", {}), (dst, {"fill": _REQ if tag_dst else None, "bold": bool(tag_dst)})],
               size=MONO, mono=True)
        s.add("</g>")

    def token(self, hop: Hop, prev: Hop | None, client_ip: Any, step_no: int, total: int) -> None:
        """The packet at ``hop``: a dot at the place with its header beside it, moving in from the
        previous hop's place."""
        reply = hop.direction == "reply"
        x1, y1 = self.anchor(hop.at, toward=None, reply=reply)
        x0, y0 = (self.anchor(prev.at, toward=None, reply=prev.direction == "reply") if prev is not None else (x1, y1))
        p = hop.after
        dead = hop.action in ("DROP", "REJECT", "discard")
        line0 = f"{step_no}/{total} {hop.action} at {hop.at.name}"
        line1 = f"src {p.src}:{p.sport}"
        line2 = f"dst {p.dst}:{p.dport}"
        w_addr = max(text_width(line1, MONO, mono=True), text_width(line2, MONO, mono=True)) + 16

        def area(box: Box, t: Box) -> float:
            return max(0.0, min(box.right, t.right) - max(box.x, t.x)) * max(0.0, min(box.bottom, t.bottom) - max(box.y, t.y))

        def place(w: float, h: float) -> tuple[float, tuple[float, float]] | None:
            """The best spot beside the dot for a w x h box, and the area of words it covers: words
            covered weigh most (a share, an address label), then cards and tags, then the distance;
            never over the headline nor past the picture."""
            spots = [(x + dx, y) for x, y in ((x1 + 12, y1 - h - 6), (x1 - 12 - w, y1 - h - 6), (x1 + 12, y1 + 12),
                                              (x1 - 12 - w, y1 + 12), (x1 + 12, y1 + 24), (x1 - 12 - w, y1 + 24),
                                              (x1 + 14, y1 - h / 2), (x1 - 14 - w, y1 - h / 2),
                                              (x1 + 12, y1 + 50), (x1 - 12 - w, y1 + 50), (x1 - w / 2, y1 + 50),
                                              (x1 + 12, y1 + 80), (x1 - 12 - w, y1 + 80), (x1 - w / 2, y1 + 80),
                                              (x1 + 12, y1 - h - 22), (x1 - 12 - w, y1 - h - 22))
                     for dx in (0, -30, 30, -60, 60)]
            fits = [(x, y) for x, y in spots
                    if 4 <= x and x + w <= self.lay.width - 4 and y >= self.lay.top - 4 and y + h <= self.svg.height - 4]
            if not fits:
                return None

            def cost(spot: tuple[float, float]) -> float:
                box = Box(spot[0], spot[1], w, h)
                return (100 * sum(area(box, t) for t in self.shares) + 10 * words(box)
                        + sum(area(box, t) for t in self.taken) + abs(box.cx - x1) + abs(box.y + h / 2 - y1))

            best = min(fits, key=cost)  # min keeps the earliest of equal ones
            box = Box(best[0], best[1], w, h)
            return 10 * sum(area(box, t) for t in self.shares) + words(box), best

        def words(box: Box) -> float:
            return sum(area(box, t) for t in self.texts) + sum(area(box, t) for t in self.names)

        # The full header (step, action, src, dst); where it would cover words, the addresses alone (the
        # headline already says the step and the action), if that covers less.
        w, h = max(text_width(line0, SMALL, bold=True) + 16, w_addr), 54.0
        full, compact = place(w, h), None
        if full is None or full[0] > 0:
            compact = place(w_addr, 38.0)
            if compact is not None and (full is None or compact[0] < full[0]):
                w, h, line0 = w_addr, 38.0, ""
            else:
                compact = None
        chosen = compact or full
        bx, by = (chosen[1] if chosen is not None
                  else (min(max(4.0, x1 + 12), self.lay.width - 4 - w), min(y1 + 12, self.svg.height - h - 4)))
        changed = hop.changed
        snat = not reply and p.src != client_ip
        colour = _SNAT if dead else _REPLY if reply else _SNAT if snat else _REQ
        s = self.svg
        move = f"k8s-move-{step_no}-{abs(hash((x0, y0, x1, y1))) % 10**6}"
        dx, dy = x0 - x1, y0 - y1
        s.add(f"<style>@keyframes {move} {{ from {{ transform: translate({dx:.1f}px,{dy:.1f}px); }} "
              f"to {{ transform: translate(0px,0px); }} }}</style>")
        s.add(f'<g class="tok" data-k8s="token" data-step="{step_no}" data-src="{p.src}" data-dst="{p.dst}" '
              f'data-action="{hop.action}" style="animation: {move} .55s ease-in-out both">')
        s.add(f'<circle cx="{x1:.1f}" cy="{y1:.1f}" r="8" fill="{colour}" stroke="white" stroke-width="2"/>')
        s.rect(bx, by, w, h, cls="lbl", stroke=colour, sw=2.2, rx=6)
        top = by
        if line0:
            s.text(bx + 8, by + 16, line0, size=SMALL, bold=True, fill=colour)
        else:
            top = by - 16  # the compact header: the two address lines only
        s.rich(bx + 8, top + 32, [("src ", {}), (f"{p.src}:{p.sport}", {"bold": "src" in changed or "sport" in changed,
                                                                       "fill": _SNAT if ("src" in changed) else None})],
               size=MONO, mono=True)
        s.rich(bx + 8, top + 48, [("dst ", {}), (f"{p.dst}:{p.dport}", {"bold": "dst" in changed or "dport" in changed,
                                                                       "fill": _REQ if ("dst" in changed) else None})],
               size=MONO, mono=True)
        if dead:
            s.path(f"M{x1 - 9:.1f},{y1 - 9:.1f} L{x1 + 9:.1f},{y1 + 9:.1f} M{x1 + 9:.1f},{y1 - 9:.1f} "
                   f"L{x1 - 9:.1f},{y1 + 9:.1f}", stroke="white", sw=3)
        s.add("</g>")

    def cross(self, place: Place, text: str) -> None:
        x, y = self.anchor(place, toward=None)
        s = self.svg
        s.add(f'<g data-k8s="drop" data-at="{place.name}">')
        s.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="11" fill="{_SNAT}"/>')
        s.path(f"M{x - 5:.1f},{y - 5:.1f} L{x + 5:.1f},{y + 5:.1f} M{x + 5:.1f},{y - 5:.1f} L{x - 5:.1f},{y + 5:.1f}",
               stroke="white", sw=2.6)
        s.add("</g>")
        w = text_width(text, SMALL, bold=True) + 12
        spots = [(x - w / 2, y - 40), (x - w / 2, y + 14), (x - w - 16, y - 10), (x + 16, y - 10),
                 (x - w - 16, y + 14), (x + 16, y + 14), (x - w - 16, y - 40), (x + 16, y - 40)]
        inside = [Box(min(max(PAD, bx), self.lay.width - PAD - w), by, w, 20) for bx, by in spots
                  if self.lay.top - 4 <= by and by + 20 <= self.svg.height - 4]
        box = min(inside, key=self.covering) if inside else Box(min(max(PAD, x - w / 2), self.lay.width - PAD - w),
                                                                  y + 14, w, 20)
        self.taken.append(box)
        self.texts.append(self.taken[-1])
        s.rect(box.x, box.y, box.w, box.h, cls="lbl", stroke=_SNAT, sw=1.2, rx=4)
        s.text(box.x + 6, box.y + 14.5, text, size=SMALL, bold=True, fill=_SNAT)

    def badge(self, place: Place, text: str, colour: str) -> None:
        x, y = self.anchor(place, toward=None, reply=True)
        w = text_width(text, SMALL, bold=True) + 12
        spots = [(x - w - 4, y + 12), (x + 4, y + 12), (x - w - 4, y - 32), (x + 4, y - 32)]
        if place.kind == "client" and self.lay.client is not None:
            c = self.lay.client
            spots = [(c.x, c.bottom + 4), (c.x, c.y - 24), (c.right - w, c.bottom + 4)] + spots
        inside = [Box(min(max(PAD, bx), self.lay.width - PAD - w), by, w, 20) for bx, by in spots
                  if self.lay.top - 4 <= by and by + 20 <= self.svg.height - 4]
        box = min(inside, key=self.covering) if inside else Box(min(max(PAD, x - w - 4), self.lay.width - PAD - w),
                                                                  y + 12, w, 20)
        self.taken.append(box)
        self.texts.append(self.taken[-1])
        self.svg.rect(box.x, box.y, box.w, box.h, cls="lbl", stroke=colour, sw=1.2, rx=4)
        self.svg.text(box.x + 6, box.y + 14.5, text, size=SMALL, bold=True, fill=colour,
                      extra=' data-k8s="reply-outcome"')

    def covering(self, box: Box) -> float:
        """What ``box`` would hide, weighed: the load balancer's shares most, then words (address labels,
        signs, node and pod names), then anything else drawn; min() of it keeps the earliest of equals."""
        def area(t: Box) -> float:
            return max(0.0, min(box.right, t.right) - max(box.x, t.x)) * max(0.0, min(box.bottom, t.bottom) - max(box.y, t.y))
        return (100 * sum(area(t) for t in self.shares) + 10 * sum(area(t) for t in self.texts + self.names)
                + sum(area(t) for t in self.taken))

    def flush(self) -> None:
        """Draw what waits to go on top (the shares), once."""
        for draw in self.later:
            draw()
        self.later = []

    def legend(self, items: list[tuple[str, str, str | None]], first_line: str) -> None:
        """The key to the path's styles: on the right of the first headline line when it fits, else
        along the bottom (the picture grows by one line)."""
        self.flush()
        s = self.svg
        widths = [32 + text_width(text, SMALL) + 18 for text, _, _ in items]
        width = sum(widths) - 18
        rows: list[list[int]] = [list(range(len(items)))]
        if PAD + text_width(first_line, TEXT + 1, bold=True) + 24 + width <= self.lay.width - PAD:
            x0, y = self.lay.width - PAD - width, PAD + 14
        elif (top := self._top_row_room(widths)) is not None:
            # in the top row, right of the load balancer (stacked when needed)
            x0, y, rows = top
        else:
            self.svg.height += 22
            x0, y = PAD, self.svg.height - 10
        for row in rows:
            x = x0
            for i in row:
                text, colour, dash = items[i]
                s.line(x, y - 4, x + 26, y - 4, stroke=colour, sw=3, dash=dash)
                s.text(x + 32, y, text, size=SMALL, cls="m")
                x += widths[i]
            y += 18

    def _top_row_room(self, widths: list[float]) -> tuple[float, float, list[list[int]]] | None:
        """Where the legend fits right of the client and load-balancer cards, in rows of 18 units
        within the top row's height, covering nothing: (x, first baseline, rows); None if it does not."""
        cards = [b for b in (self.lay.client, self.lay.lb) if b is not None]
        if not cards:
            return None
        x0, y0 = max(b.right for b in cards) + 24, min(b.y for b in cards)
        room = self.lay.width - PAD - x0
        rows: list[list[int]] = [[]]
        used = 0.0
        for i, w in enumerate(widths):
            if rows[-1] and used + w - 18 > room:
                rows.append([])
                used = 0.0
            rows[-1].append(i)
            used += w
        tall = 18 * len(rows)
        wide = max(sum(widths[i] for i in row) - 18 for row in rows)
        box = Box(x0, y0, wide, tall)
        if wide > room or tall > TOP_ROW + 2 or any(box.overlaps(t) for t in self.taken):
            return None
        self.names.append(box)  # the packet's header keeps off it
        return x0, y0 + 13, rows


def _pct(x: float) -> str:
    p = 100 * x
    return f"{p:.0f}%" if abs(p - round(p)) < 0.05 else f"{p:.1f}%"


def _lb_name(lb: Any) -> str | None:
    """The name of a real load balancer (a catalogue profile) for its box; None for the models."""
    from ..loadbalancer import LB_PROFILES

    key = getattr(lb, "key", lb)
    return LB_PROFILES[key].label if isinstance(key, str) and key in LB_PROFILES else None


def _lb_title(svc: Service | None) -> str | None:
    if svc is None or svc.type != "LoadBalancer" or svc.load_balancer_ip is None:
        return None
    return f"{svc.load_balancer_ip}:{svc.port}"


def scene(obj: Cluster | Trace, service: Any = None, *, lb: str | LoadBalancer | None = None,
          step: int | None = None, reply: bool = False, colours: NodeColours | None = None,
          shares: dict[str, float] | None = None, width: float = W, compact: bool = False,
          pod_shares: dict[str, tuple[float, float]] | None = None, share_top: float = 1.0) -> tuple[str, str]:
    """The scene as ``(svg, alt)``: a cluster (with the load balancer's share per node when ``lb``
    is given), or a trace drawn on its cluster, whole or up to ``step`` (1 = the first hop) with
    the packet token there. ``reply`` adds the reply's hops. ``colours`` keeps node colours stable
    across pictures (the explorer passes one for its whole life). ``compact`` draws the path without
    its address labels, for two scenes side by side (``width`` about 520). ``pod_shares`` (pod ->
    (share, SNAT'd fraction)) draws each pod's share of new connections as a bar in its box, on the
    scale ``share_top``."""
    trace = obj if isinstance(obj, Trace) else None
    if trace is not None:
        if trace.cluster is None:
            raise InvalidChange("this trace carries no cluster snapshot to draw it on",
                                hint="traces made by k8s.send always carry one; build a new one with k8s.send.")
        cluster, svc = trace.cluster, trace.cluster.service(trace.service)
    elif isinstance(obj, Cluster):
        cluster, svc = obj, _service(obj, service)
    else:
        raise InvalidChange(f"cannot draw a scene of a {type(obj).__name__}",
                            hint="give it a Cluster or a Trace (k8s.send).")
    colours = colours or NodeColours(n.name for n in cluster.nodes)
    hops: tuple[Hop, ...] = ()
    if trace is not None:
        hops = trace.hops + (trace.reply if reply else ())
    total = len(hops)
    if step is not None:
        step = max(1, min(int(step), total)) if total else None
    upto = hops if step is None else hops[:step]

    external_client = bool(hops) and hops[0].at.kind == "client"
    if trace is not None:
        client_label = str(trace.client_ip) if external_client else None
        lb_title = _lb_title(svc) if any(h.at.kind == "lb" for h in hops) else None
        if lb_title is None and any(h.at.kind == "router" for h in hops):
            lb_title = f"router → externalIP {svc.external_ips[0]}" if svc is not None and svc.external_ips else "router"
        if lb_title is None and any(h.at.kind == "lb" for h in hops):
            lb_title = "(proxying)"
    else:
        external = svc is not None and svc.externally_accessible
        client_label = "198.51.100.7" if external else None
        lb_title = _lb_title(svc)
    lb_name = _lb_name(trace.lb if trace is not None else lb)
    keep_nodes = [n for n in (trace.entry_node, trace.pod_node) if n] if trace is not None else []
    keep_nodes += [h.at.node for h in hops if h.at.node]
    keep_pods = {h.at.name for h in hops if h.at.kind == "pod"}
    if trace is not None:
        first, second, colour = trace_headline(trace)
        if step is not None and upto and step < total:  # the packet tracer: no spoilers before the end
            hop = upto[-1]
            second, colour = f"step {step} of {total}: {hop.action} at {hop.at.name}", None
            if hop.nat:
                second += f" ({hop.nat.replace('->', '→')})"
    else:
        first, second = cluster_headline(cluster, svc)
        colour = None
    if compact and trace is not None and trace.outcome == "delivered":
        second = (f"{trace.pod} sees {trace.source_seen_by_pod}: "
                  + ("the client's IP ✓" if trace.client_ip_kept else "not the client's IP"))
    lines = wrap(second, width - 2 * PAD, TEXT, bold=colour is not None)
    lay = layout(cluster, svc, client=client_label, lb_title=lb_title, keep_nodes=keep_nodes, keep_pods=keep_pods,
                 width=width, compact=compact, path=trace is not None, lb_name=lb_name,
                 title_lines=len(lines) + (0 if compact else 1))
    sc = _Scene(cluster, svc, lay, colours)
    sc.pod_shares, sc.share_top = pod_shares, share_top
    if pod_shares is not None:
        from .bars import PATTERNS

        sc.svg.add(PATTERNS)

    health: dict[str, Any] = {}
    lost = 0.0
    lb_model = lb
    if svc is not None and svc.type == "LoadBalancer" and (lb is not None or trace is not None):
        from ..dataplane import health_check

        health = {n: health_check(cluster, svc, n) for n in lay.nodes}
        if shares is None and lb_model is not None:
            sp = spread(cluster, svc, lb_model)
            if sp.targets == "nodes":
                shares, lost = dict(sp.weights), sp.dropped
    sc.headline(None if compact else first, lines, colour)
    sc.top_row(client_label)
    sc.fan(shares, lost, health)
    sc.nodes(health)

    legend: list[tuple[str, str, str | None]] = []
    if trace is not None and hops:
        client_ip = hops[0].before.src
        segs = [s for s in _segments(upto)]
        last_step = upto[-1].step if upto else 0
        for seg in segs:
            sc.draw_segment(seg, client_ip, current=step is not None and seg.first_hop == last_step)
        previous: Packet | None = None
        direction = None
        for seg in ([] if compact else segs):
            if seg.direction != direction:
                previous, direction = None, seg.direction
                if seg.direction == "reply" and step is None:
                    break  # the whole picture labels the request; the reply is told by its outcome
            if previous is None or seg.packet != previous:
                sc.label(seg, previous if previous is not None else (hops[0].before if seg.direction == "request" else None),
                         client_ip)
                previous = seg.packet
        fail = next((h for h in upto if h.action in ("DROP", "REJECT")), None)
        if fail is not None:
            sc.cross(fail.at, f"{fail.action} at {fail.at.name}")
        if reply and (step is None or step == total) and trace.reply:
            if trace.outcome == "reply discarded":
                sc.cross(hops[-1].at, "reply discarded")
            else:
                sc.badge(hops[-1].at, "✓ reply accepted", _OK)
        legend = [("client's own source", _REQ, None), ("source replaced (SNAT)", _SNAT, "9 5")]
        if reply:
            legend.append(("reply", _REPLY, "2 4"))
        if step is not None and upto:
            sc.legend(legend, second if compact else first)  # placed first, so the packet keeps off it
            legend = []
            hop = upto[-1]
            prev = upto[-2] if len(upto) > 1 else None
            sc.token(hop, prev, client_ip, step, total)  # the packet goes on top of everything
    elif svc is not None and svc.externally_accessible:
        legend = [("load balancer's share of new connections, per node" if shares is not None
                   else "where outside traffic can enter", PALETTE["muted"], None)]
    if legend:
        sc.legend(legend, second if compact else first)

    alt = (f"Trace diagram: {trace.summary()}" if trace is not None
           else f"Cluster diagram: {first}; {second}; "
           + "; ".join(f"{n}: {', '.join(p.name for p in cluster.pods_on(n)) or 'no pods'}" for n in
                       [x.name for x in cluster.nodes][:12]))
    if step is not None and upto:
        alt += f" (step {step} of {total}: {upto[-1].summary()})"
    svg = sc.svg.render(title=alt, css=_CSS, cls="k8s-scene")
    return svg, alt
