"""A traced connection drawn on its cluster: numbered hops, NAT rewrites labelled, drops marked.

Every hop of the trace gets a numbered circle: on the arrow that brings the packet to where the
hop happens, or beside that place when the packet stays there (kube-proxy's DNAT and then its
SNAT, both on the receiving node). Arrows run in lanes: load balancer to the node's kube-proxy
tab, down the right edge of a node to a pod, and under the row of nodes from one node to another
(the extra hop, in orange). Below the nodes, each NAT rewrite is written out next to its number,
and a dropped or refused packet gets a red cross where it dies, with the reason.

Taught in notebooks/02-into-the-cluster.ipynb and 03-external-traffic-policy-cluster.ipynb.
"""

from __future__ import annotations

import textwrap
from typing import Any

from ..trace import Hop, Trace
from .cluster import (COMPACT_NODES, MARGIN, WIDTH, Box, Layout, _set_alt, layout, new_axes, rbox, render,
                      text)
from .palette import COLOURS

__all__ = ["draw_trace", "trace_summary"]

_FAIL = ("DROP", "REJECT", "discard")
_DEAD = "dead"  # the colour key of a note about a packet that dies
_WRAP = 98  # characters per line in the notes under the nodes


def trace_summary(trace: Trace) -> str:
    """The figure's one-line alt text: the trace's own summary."""
    return f"Trace diagram: {trace.summary()}"


def _title(trace: Trace) -> tuple[str, str]:
    head = f"{trace.client} → {trace.service}" + (f" via {trace.entry_node}" if trace.entry_node else "")
    where = next((h.at.name for h in trace.hops if h.action in _FAIL), None)
    first = trace.reason.split(". ")[0].split(" (")[0]
    if trace.outcome == "dropped":
        return f"{head}: DROPPED at {where}", first
    if trace.outcome == "refused":
        return f"{head}: REFUSED at {where}", first
    seen = f"{trace.pod} sees source {trace.source_seen_by_pod}: "
    seen += "the client's own IP" if trace.client_ip_kept else "not the client's IP (SNAT)"
    if trace.extra_hop:
        seen += ", after an extra node hop"
    if trace.dataplane != "iptables":
        seen += f" · dataplane {trace.dataplane}"
    if trace.outcome == "reply discarded":
        return f"{head}: reaches {trace.pod}, but the client discards the reply", seen
    return f"{head}: delivered to {trace.pod} on {trace.pod_node}", seen


class _Drawer:
    """Turns a trace into arrows and numbered circles on a laid-out cluster."""

    def __init__(self, ax: Any, lay: Layout, trace: Trace, external: bool) -> None:
        self.ax, self.lay, self.trace, self.external = ax, lay, trace, external
        self.pod_node = {p.name: p.node for p in trace.cluster.pods}
        self.arrows: list[Any] = []
        self.numbers: list[Any] = []
        self.markers: list[Any] = []
        self.used_u = False
        self.extra = False
        self.placed: list[tuple[float, float]] = []
        self.beside: dict[tuple[str, str], int] = {}
        self.via: dict[str, str] = {}  # node -> how the packet came in ("top" or "bottom")

    # ---- where things are
    def kind(self, name: str) -> str:
        if name in ("load balancer", "router"):
            return "lb"
        if name == "client" and self.external:
            return "client"
        if name in self.lay.nodes:
            return "node"
        if name in self.lay.pods:
            return "pod"
        return "other"

    def u_route(self, a: str, b: str, reply: bool, end_at_tab: bool) -> list[tuple[float, float]]:
        lay = self.lay
        na, nb = lay.nodes[a], lay.nodes[b]
        xa, xb = lay.lane(a, reply), lay.lane(b, reply)
        depth = 0.42 if reply else 0.24
        self.used_u = True
        pts = [(xa, na.y)] if self.via.get(a) == "bottom" else [(xa, lay.tabs[a].y), (xa, na.y)]
        if lay.row_of[a] == lay.row_of[b]:
            y = min(na.y, nb.y) - depth
            pts += [(xa, y), (xb, y)]
        else:  # different rows: go round through the gap beside node a
            gx = na.right + 0.17 + (0.06 if reply else 0)
            y = nb.y - depth
            pts += [(xa, na.y - 0.15), (gx, na.y - 0.15), (gx, y), (xb, y)]
        pts.append((xb, nb.y))
        if end_at_tab:
            pts.append((xb, lay.tabs[b].y))
        return pts

    def route(self, a: str, b: str, reply: bool, then: str | None = None) -> tuple[list[tuple[float, float]], bool]:
        """The polyline from a to b (``then``: where the packet goes after b), and whether it is the extra hop."""
        lay, ka, kb = self.lay, self.kind(a), self.kind(b)
        off = 0.32 if reply else 0.0
        if ka == "pod":
            box, node = lay.pods[a], self.pod_node[a]
            x = lay.lane(node, reply)
            pts = [(box.right, box.cy), (x, box.cy)]
            if kb == "node" and b != node:
                self.via[b] = "tab"
                return pts + self.u_route(node, b, reply, end_at_tab=True)[1:], False
            if kb == "node" and then is not None and self.kind(then) == "node" and then != b:
                self.via[b] = "bottom"  # routed on to another node: out through the bottom
                return pts + [(x, lay.nodes[node].y)], False
            pts.append((x, lay.tabs[node].y))
            if kb == "node":
                self.via[b] = "top"
                return pts, False
            tab = lay.tabs[node]
            pts.append((tab.cx + off, tab.top))
            return pts + self.leave_up(b, off, tab), False
        if ka == "node":
            tab = lay.tabs[a]
            if kb == "pod":
                box = lay.pods[b]
                x = lay.lane(a, reply)
                start = (x, lay.nodes[a].y) if self.via.get(a) == "bottom" else (x, tab.y)
                return [start, (x, box.cy), (box.right, box.cy)], False
            if kb == "node":
                self.via[b] = "tab" if reply else "bottom"
                return self.u_route(a, b, reply, end_at_tab=reply), not reply
            return [(tab.cx + off, tab.top)] + self.leave_up(b, off, tab), False
        if ka == "client":
            start = (lay.client.cx + off, lay.client.y)
        elif ka == "lb":
            start = (lay.lb.cx + off, lay.lb.top if kb == "client" else lay.lb.y)
        else:
            start = (WIDTH / 2, -0.5)
        if kb == "node":
            self.via[b] = "top"
            tab = lay.tabs[b]
            return [start, (tab.cx + off, tab.top)], False
        if kb == "lb":
            return [start, (lay.lb.cx + off, lay.lb.top)], False
        if kb == "client":
            return [start, (lay.client.cx + off, lay.client.y)], False
        if kb == "pod":
            box = lay.pods[b]
            return [start, (box.cx, box.top)], False
        return [start, start], False

    def leave_up(self, b: str, off: float, tab: Box) -> list[tuple[float, float]]:
        """From a node's tab up to the load balancer or the client (going round the load balancer)."""
        lay, kb = self.lay, self.kind(b)
        if kb == "lb":
            return [(lay.lb.cx + off, lay.lb.y)]
        if kb == "client":
            if lay.lb is None:
                return [(lay.client.cx + off, lay.client.y)]
            # The reply bypasses the load balancer: go round its right side, into the client's side.
            x = max(tab.cx + off, lay.lb.right + 0.35)
            return [(x, lay.lb.cy), (x, lay.client.cy), (lay.client.right, lay.client.cy)]
        if kb == "pod":
            box = lay.pods[b]
            return [(box.cx, box.top)]
        return []

    # ---- drawing
    def arrow(self, pts: list[tuple[float, float]], *, colour: str, reply: bool, extra: bool) -> Any:
        from matplotlib.patches import FancyArrowPatch
        from matplotlib.path import Path

        pts = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
        if len(pts) < 2:
            return None
        patch = FancyArrowPatch(path=Path(pts), arrowstyle="-|>,head_length=7,head_width=4", color=colour,
                                lw=2.8 if extra else 1.9, ls=(0, (4, 2.5)) if reply else "-", zorder=6,
                                joinstyle="round", capstyle="round")
        patch.set_gid("k8slearn-hop-arrow")
        self.ax.add_artist(patch)
        self.arrows.append(patch)
        return patch

    def number(self, x: float, y: float, step: int, colour: str, along: tuple[float, float] = (0.0, 1.0)) -> None:
        """A numbered circle at (x, y), or nudged along (or across) its arrow if another one is there."""
        dx, dy = along
        for k in (0.0, 0.26, -0.26, 0.5, -0.5):
            for cx, cy in ((x + k * dx, y + k * dy), (x - k * dy, y + k * dx)):
                if all((cx - px) ** 2 + (cy - py) ** 2 > 0.25 ** 2 for px, py in self.placed):
                    x, y = cx, cy
                    break
            else:
                continue
            break
        self.placed.append((x, y))
        t = text(self.ax, x, y, str(step), size="small", weight="bold", color="white", zorder=8,
                 bbox=dict(boxstyle="circle,pad=0.18", fc=colour, ec="white", lw=1.0))
        t.set_gid("k8slearn-hop-number")
        self.numbers.append(t)

    def beside_place(self, name: str, direction: str) -> tuple[float, float]:
        """Where the k-th number for something that happens in place at ``name`` goes."""
        k = self.beside.get(name, 0)
        self.beside[name] = k + 1
        lay, kind = self.lay, self.kind(name)
        if kind == "node":
            tab = lay.tabs[name]
            return tab.x - 0.2 - 0.3 * k, tab.cy
        if kind == "lb":
            return lay.lb.x - 0.2 - 0.3 * k, lay.lb.cy
        if kind == "client":
            return lay.client.x - 0.2 - 0.3 * k, lay.client.cy
        if kind == "pod":
            box = lay.pods[name]
            return box.right - 0.15 - 0.3 * k, box.top + 0.02
        return MARGIN + 0.3 * k, -0.6

    def mark(self, name: str) -> tuple[float, float]:
        lay, kind = self.lay, self.kind(name)
        if kind == "node":  # on the arrow's head, above the kube-proxy tab
            return lay.tabs[name].cx, lay.tabs[name].top + 0.1
        if kind == "lb":
            return lay.lb.x - 0.2, lay.lb.cy
        if kind == "client":  # where the reply arrives, beside the box
            return lay.client.right + 0.2, lay.client.cy
        if kind == "pod":
            return lay.pods[name].cx, lay.pods[name].cy
        return WIDTH / 2, -0.6

    def cross(self, name: str) -> None:
        x, y = self.mark(name)
        (m,) = self.ax.plot([x], [y], marker="X", ms=20, color=COLOURS["drop"], mec="white", mew=1.8, zorder=9,
                            ls="none")
        m.set_gid("k8slearn-drop")
        self.markers.append(m)

    def walk(self, hops: tuple[Hop, ...], *, reply: bool) -> None:
        colour = COLOURS["reply"] if reply else COLOURS["request"]
        current: str | None = None
        places = [h.at.name for h in hops]
        for i, hop in enumerate(hops):
            if current is None:
                x, y = self.beside_place(hop.at.name, hop.direction)
                self.number(x, y, hop.step, colour)
            elif hop.at.name != current:
                then = next((p for p in places[i + 1:] if p != hop.at.name), None)
                pts, extra = self.route(current, hop.at.name, reply, then)
                self.extra |= extra
                self.arrow(pts, colour=COLOURS["extra hop"] if extra else colour, reply=reply, extra=extra)
                x, y, along = _midpoint(pts)
                self.number(x, y, hop.step, COLOURS["extra hop"] if extra else colour, along)
                if extra:
                    text(self.ax, x + 0.2, y, "extra hop", size="small", weight="bold", color=COLOURS["extra hop"],
                         ha="left", zorder=7, bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none"))
            else:
                x, y = self.beside_place(hop.at.name, hop.direction)
                self.number(x, y, hop.step, colour)
            if hop.action in _FAIL:
                self.cross(hop.at.name)
            current = hop.at.name


def _midpoint(pts: list[tuple[float, float]]) -> tuple[float, float, tuple[float, float]]:
    """The middle of a polyline's longest segment (where a number reads best), and its direction."""
    best = max(zip(pts, pts[1:]), key=lambda s: (s[1][0] - s[0][0]) ** 2 + (s[1][1] - s[0][1]) ** 2)
    (x0, y0), (x1, y1) = best
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-9)
    return (x0 + x1) / 2, (y0 + y1) / 2, ((x1 - x0) / length, (y1 - y0) / length)


def _notes(trace: Trace, reply: bool) -> list[tuple[int | None, str, str]]:
    """The lines written under the nodes: (hop number, text, colour)."""
    notes: list[tuple[int | None, str, str]] = []
    hops = trace.hops + (trace.reply if reply else ())
    for hop in hops:
        back = hop.direction == "reply"
        if hop.nat:
            for part in hop.nat.split("; "):
                kind = part.split(" ")[0]
                colour = COLOURS["reply"] if back else COLOURS["snat"] if kind == "SNAT" else COLOURS["dnat"]
                notes.append((hop.step, f"{part.replace('->', '→')}   at {hop.at.name}", colour))
        if hop.action == "route" and hop.note.startswith("extra hop"):
            notes.append((hop.step, hop.note[len("extra hop: "):].split(" (DSR")[0], COLOURS["extra hop"]))
        if hop.action in ("DROP", "REJECT"):
            notes.append((hop.step, f"{hop.action} at {hop.at.name}: {hop.note}", _DEAD))
        if hop.action == "discard":
            notes.append((hop.step, f"the client discards the reply: {trace.reason}", _DEAD))
        if hop.action == "accept" and back:
            notes.append((hop.step, f"the client accepts the reply from {hop.before.src}:{hop.before.sport}",
                          COLOURS["reply"]))
    return notes


def draw_trace(trace: Trace, *, ax: Any = None, reply: bool = False) -> Any:
    """Draw a traced connection on its cluster: numbered hops, NAT labels, a cross where it dies.

    ``reply=True`` adds the reply's way back (dashed, purple); a reply the client discards gets a
    cross at the client. Returns the figure (never shows it); ``fig._k8slearn_info`` counts what
    was drawn (``hops`` numbered circles, ``arrows``, ``dropped`` markers).

    >>> import k8slearn as k8s
    >>> t = k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3")
    >>> fig = draw_trace(t)
    >>> fig._k8slearn_info["hops"] == len(t.hops), fig._k8slearn_info["arrows"] == len(t.path) - 1
    (True, True)
    """
    cluster = trace.cluster
    if cluster is None:
        raise ValueError("this trace carries no cluster snapshot to draw it on")
    svc = cluster.service(trace.service)
    hops = trace.hops + (trace.reply if reply else ())
    names = {h.at.name for h in hops}
    external = trace.hops[0].at.kind == "client"
    nodes = None
    if len(cluster.nodes) > COMPACT_NODES:
        keep = names | {trace.pod_node, trace.entry_node} | {p.node for p in cluster.pods if p.name in names}
        nodes = [n.name for n in cluster.nodes if n.name in keep]
    lb_label: str | None = "auto"
    if "router" in names:
        lb_label = f"router ({svc.external_ips[0]})" if svc.external_ips else "router"
    elif "load balancer" in names and svc.type != "LoadBalancer":
        lb_label = "load balancer"
    lay = layout(cluster, svc, nodes=nodes, client=f"client {trace.client_ip}" if external else None,
                 lb_label=lb_label, top=0.85, keep=names)
    notes = _notes(trace, reply)
    lines = sum(len(textwrap.wrap(t, _WRAP)) for _, t, _ in notes)
    places = [h.at.name for h in hops]
    moves = [(a, b) for a, b in zip(places, places[1:]) if a != b]
    owner = {p.name: p.node for p in cluster.pods}
    uses_u = any(owner.get(a, a) in lay.nodes and b in lay.nodes and owner.get(a, a) != b for a, b in moves)
    band_top = lay.nodes_bottom - (0.72 if uses_u else 0.2)
    height = -band_top + 0.3 * len(notes) + 0.19 * (lines - len(notes)) + 0.6
    fig, ax = new_axes(ax, WIDTH, height)
    title, sub = _title(trace)
    highlight = [n for n in (trace.pod,) if n]
    render(ax, lay, cluster, svc, highlight=highlight, title=title, legend=False)
    text(ax, MARGIN, -0.56, sub, size="normal", ha="left",
         color=COLOURS["drop"] if trace.outcome != "delivered" or not trace.client_ip_kept else COLOURS["ready"])

    d = _Drawer(ax, lay, trace, external)
    d.walk(trace.hops, reply=False)
    if reply and trace.reply:
        d.walk(trace.reply, reply=True)

    y = band_top
    for step, note, colour in notes:
        wrapped = textwrap.wrap(note, _WRAP)
        dead = colour == _DEAD
        if step is not None:
            text(ax, MARGIN + 0.12, y, str(step), size="small", weight="bold", color="white",
                 bbox=dict(boxstyle="circle,pad=0.18", fc=COLOURS["drop"] if dead else colour, ec="none"))
        text(ax, MARGIN + 0.36, y + (0.07 if len(wrapped) > 1 else 0), "\n".join(wrapped), size="small", ha="left",
             va="top" if len(wrapped) > 1 else "center", color=COLOURS["drop"] if dead else COLOURS["text"],
             linespacing=1.25)
        y -= 0.3 + 0.19 * (len(wrapped) - 1)
    _trace_legend(ax, y - 0.05, reply and bool(trace.reply), cluster, d.extra)
    _set_alt(fig, trace_summary(trace), hops=len(d.numbers), arrows=len(d.arrows), dropped=len(d.markers),
             compact=nodes is not None)
    return fig


def _trace_legend(ax: Any, y: float, reply: bool, cluster: Any, extra: bool) -> None:
    x = MARGIN
    items = [("request", COLOURS["request"], "-")]
    if extra:
        items.append(("extra node hop", COLOURS["extra hop"], "-"))
    if reply:
        items.append(("reply", COLOURS["reply"], (0, (4, 2.5))))
    for label, colour, ls in items:
        ax.plot([x, x + 0.4], [y, y], color=colour, lw=2.2, ls=ls, zorder=5)
        text(ax, x + 0.48, y, label, size="small", ha="left")
        x += 0.85 + 0.062 * len(label)
    boxes = [("ready endpoint", dict(fc="#BFE6DA", ec=COLOURS["ready"]))]
    if any(not p.ready and not p.terminating for p in cluster.pods):
        boxes.append(("not ready", dict(fc="#EBEBEB", ec=COLOURS["not ready"], hatch="////")))
    if any(p.terminating for p in cluster.pods):
        boxes.append(("terminating", dict(fc="white", ec=COLOURS["terminating"], ls="--")))
    for label, style in boxes:
        rbox(ax, Box(x, y - 0.09, 0.3, 0.18), lw=1.3, pad=0.03, zorder=2, **style)
        text(ax, x + 0.38, y, label, size="small", ha="left")
        x += 0.72 + 0.062 * len(label)
