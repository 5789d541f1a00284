"""The cluster diagram: client, load balancer, nodes in a row with their pods, kube-proxy on each.

The layout is computed from the model alone (never a random spring layout), in inches, so the
same cluster always gives the same picture and text keeps its size: nodes sit in rows of up to
four, each pod is a box inside its node, kube-proxy is a tab on the node's top edge. Clusters of
more than :data:`COMPACT_NODES` nodes switch to a compact grid of nodes coloured by pod count.

Taught in notebooks/01-the-cluster.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..loadbalancer import LoadBalancer, spread
from ..model import Cluster, Pod, Service
from .palette import COLOURS, FONT, tint

__all__ = ["draw_cluster", "cluster_summary", "COMPACT_NODES", "Box", "Layout", "layout"]

COMPACT_NODES = 20   # more nodes than this: the compact grid
MAX_PODS = 8         # pod boxes drawn per node before "+N more"
WIDTH = 9.0          # figure width in inches
PER_ROW = 4          # nodes per row
GAP = 0.35           # between nodes
MARGIN = 0.3
HEAD = 0.62          # node header: name, IP (below the kube-proxy tab)
POD_STEP = 0.36
POD_H = 0.29
LANE = 0.44          # free strip at a node's right edge where arrows run to and from pods
TAB_W, TAB_H = 0.86, 0.27


@dataclass(frozen=True)
class Box:
    """A rectangle in inches: (x, y) is the lower left corner."""

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
    def top(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


@dataclass
class Layout:
    """Where everything goes, in inches (y is 0 at the top and negative downwards)."""

    width: float
    height: float = 0.0
    client: Box | None = None
    client_label: str = ""
    lb: Box | None = None
    lb_label: str = ""
    nodes: dict[str, Box] = field(default_factory=dict)
    tabs: dict[str, Box] = field(default_factory=dict)
    pods: dict[str, Box] = field(default_factory=dict)
    more: dict[str, tuple[Box, int]] = field(default_factory=dict)
    rows: list[list[str]] = field(default_factory=list)
    row_of: dict[str, int] = field(default_factory=dict)
    nodes_bottom: float = 0.0
    hidden_nodes: int = 0

    def lane(self, node: str, reply: bool = False) -> float:
        """The x of the arrow lane inside a node (request lane left of the reply lane)."""
        box = self.nodes[node]
        return box.right - (0.11 if reply else 0.3)


def _service(cluster: Cluster, service: Any) -> Service | None:
    if service is None:
        return cluster.services[0] if cluster.services else None
    return cluster.service(service)


def layout(cluster: Cluster, svc: Service | None, *, nodes: Iterable[str] | None = None,
           client: str | None = "auto", lb_label: str | None = "auto", top: float = 0.55,
           keep: Iterable[str] = ()) -> Layout:
    """Place client, load balancer, nodes and pods. ``nodes`` limits which nodes are drawn; the pods
    in ``keep`` (e.g. those a trace visits) are always drawn, even on a node with many pods."""
    keep = set(keep)
    names = [n.name for n in cluster.nodes] if nodes is None else list(nodes)
    lay = Layout(width=WIDTH, hidden_nodes=len(cluster.nodes) - len(names))
    y = -top
    external = svc is not None and svc.externally_accessible
    if client == "auto":
        client = "client 198.51.100.7" if external else None
    if client:
        lay.client_label = client
        w = max(2.2, 0.075 * len(client) + 0.4)
        lay.client = Box(WIDTH / 2 - w / 2, y - 0.42, w, 0.42)
        y -= 0.42 + 0.5
    if lb_label == "auto":
        lb_label = (f"load balancer {svc.load_balancer_ip}:{svc.port}"
                    if svc is not None and svc.type == "LoadBalancer" else None)
    if lb_label:
        lay.lb_label = lb_label
        w = max(2.6, 0.075 * len(lb_label) + 0.4)
        lay.lb = Box(WIDTH / 2 - w / 2, y - 0.46, w, 0.46)
        y -= 0.46 + 0.75
    elif client:
        y -= 0.35
    else:
        y -= 0.2

    cols = max(1, min(PER_ROW, len(names)))
    node_w = min(2.3, (WIDTH - 2 * MARGIN - (cols - 1) * GAP) / cols)
    pods_on = {n: cluster.pods_on(n) for n in names}
    for start in range(0, len(names), cols):
        row = names[start:start + cols]
        lay.rows.append(row)
        shown = max(min(len(pods_on[n]), MAX_PODS) for n in row)
        height = HEAD + max(1, shown) * POD_STEP + 0.12
        row_w = len(row) * node_w + (len(row) - 1) * GAP
        x = (WIDTH - row_w) / 2
        for name in row:
            box = Box(x, y - height, node_w, height)
            lay.nodes[name] = box
            lay.row_of[name] = len(lay.rows) - 1
            lay.tabs[name] = Box(box.right - 0.06 - TAB_W, box.top - TAB_H / 2, TAB_W, TAB_H)
            pods = pods_on[name]
            if len(pods) <= MAX_PODS:
                visible = pods
            else:  # the pods to keep first, then the others in order, up to the limit
                kept = [p for p in pods if p.name in keep]
                visible = kept + [p for p in pods if p.name not in keep][: max(0, MAX_PODS - 1 - len(kept))]
            for i, pod in enumerate(visible):
                lay.pods[pod.name] = Box(box.x + 0.1, box.top - HEAD - i * POD_STEP - POD_H, node_w - 0.1 - LANE, POD_H)
            if len(visible) < len(pods):
                i = len(visible)
                lay.more[name] = (Box(box.x + 0.1, box.top - HEAD - i * POD_STEP - POD_H, node_w - 0.1 - LANE, POD_H),
                                  len(pods) - len(visible))
            x += node_w + GAP
        y -= height + 0.6
    lay.nodes_bottom = y + 0.6
    lay.height = -lay.nodes_bottom
    return lay


# --------------------------------------------------------------------------- drawing helpers
def new_axes(ax: Any, width: float, height: float) -> tuple[Any, Any]:
    """A figure of ``width`` x ``height`` inches with one axes over all of it in inch units, or ``ax``."""
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(width, height), dpi=100, facecolor=COLOURS["face"])
        ax = fig.add_axes((0, 0, 1, 1))
        _frame(ax)
    else:
        fig = ax.figure
        ax.set_aspect("equal")
    ax.set_xlim(0, width)
    ax.set_ylim(-height, 0)
    ax.set_axis_off()
    return fig, ax


def _frame(ax: Any) -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((0.002, 0.002), 0.996, 0.996, transform=ax.transAxes, fill=False,
                           ec="#B3B3B3", lw=1.0, zorder=0, clip_on=False))


def rbox(ax: Any, box: Box, *, fc: str, ec: str, lw: float = 1.0, ls: str = "-", hatch: str | None = None,
         pad: float = 0.04, zorder: float = 1, gid: str | None = None) -> Any:
    from matplotlib.patches import FancyBboxPatch

    patch = FancyBboxPatch((box.x, box.y), box.w, box.h, boxstyle=f"round,pad=0,rounding_size={pad}",
                           fc=fc, ec=ec, lw=lw, ls=ls, hatch=hatch, zorder=zorder)
    if gid:
        patch.set_gid(gid)
    ax.add_artist(patch)  # not add_patch: the limits are fixed, so skip its costly data-limit update
    return patch


def text(ax: Any, x: float, y: float, s: str, *, size: str = "normal", weight: str = "normal",
         color: str | None = None, ha: str = "center", va: str = "center", zorder: float = 5, **kw: Any) -> Any:
    return ax.text(x, y, s, fontsize=FONT[size], fontweight=weight, color=color or COLOURS["text"],
                   ha=ha, va=va, zorder=zorder, **kw)


# --------------------------------------------------------------------------- the diagram
def render(ax: Any, lay: Layout, cluster: Cluster, svc: Service | None, *, highlight: Iterable[str] = (),
           lb: str | LoadBalancer | None = None, title: str | None = None, legend: bool = True,
           legend_y: float | None = None) -> None:
    """Draw the laid-out cluster into ``ax`` (which spans the layout in inches)."""
    highlight = set(highlight)
    eps = {e.pod: e for e in cluster.endpoints(svc)} if svc is not None else {}
    if title is None and svc is not None:
        title = svc.summary().replace("->", "→")
    if title:
        text(ax, MARGIN, -0.28, title, size="title", weight="bold", ha="left")

    # The load balancer (or the client, for a NodePort) fans out to every node it may pick.
    fan = lay.lb or lay.client
    shares = _lb_shares(cluster, svc, lb) if lay.lb is not None and lb is not None else None
    if fan is not None and svc is not None and svc.externally_accessible:
        from matplotlib.collections import LineCollection

        segments, styles = [], []
        for name, tab in lay.tabs.items():
            if lay.row_of[name] > 0:
                continue  # lines to lower rows would cross the nodes above them
            share = None if shares is None else shares.get(name, 0.0)
            dashed = share == 0.0
            segments.append([(fan.cx, fan.y), (tab.cx, tab.top)])
            styles.append(":" if dashed else "-")
            if share is not None:
                t = 0.55
                x, y = fan.cx + (tab.cx - fan.cx) * t, fan.y + (tab.top - fan.y) * t
                text(ax, x, y, f"{share:.0%}", size="small", color=COLOURS["muted"] if dashed else COLOURS["text"],
                     bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))
        ax.add_collection(LineCollection(segments, colors="#A6A6A6", linewidths=1.0, linestyles=styles, zorder=0.5),
                          autolim=False)
    if lay.client is not None:
        rbox(ax, lay.client, fc="white", ec=COLOURS["frame"], lw=1.2, pad=0.08, gid="k8slearn-client")
        text(ax, lay.client.cx, lay.client.cy, lay.client_label, size="normal")
    if lay.lb is not None:
        rbox(ax, lay.lb, fc=COLOURS["lb"], ec=COLOURS["request"], lw=1.2, pad=0.08, gid="k8slearn-lb")
        text(ax, lay.lb.cx, lay.lb.cy, lay.lb_label, size="normal")
        if lb is not None and lay.lb_label.startswith("load balancer"):
            from ..loadbalancer import get_load_balancer

            model = get_load_balancer(lb).model
            text(ax, lay.lb.right + 0.12, lay.lb.cy, f"model: {model}", size="small", color=COLOURS["muted"], ha="left")

    checks = _health(cluster, svc)
    multi_zone = len({n.zone for n in cluster.nodes}) > 1
    for name, box in lay.nodes.items():
        node = cluster.node(name)
        hl = name in highlight
        rbox(ax, box, fc=COLOURS["node"] if node.ready else "#E6E6E6", ec="#000000" if hl else COLOURS["node edge"],
             lw=2.6 if hl else 1.2, ls="-" if node.ready else "--", pad=0.08, zorder=1, gid="k8slearn-node")
        text(ax, box.x + 0.1, box.top - 0.25, name, size="name", weight="bold", ha="left")
        ip = f"{node.ip}" + (f" · {node.zone}" if multi_zone else "")
        text(ax, box.x + 0.1, box.top - 0.46, ip, size="small", color=COLOURS["muted"], ha="left")
        if not node.ready:
            _node_state(ax, lay, name, ip, "NotReady", weight="bold", color=COLOURS["drop"])
        elif name in checks and box.w >= 1.7:
            status = checks[name]
            _node_state(ax, lay, name, ip, f"health {status}",
                        color=COLOURS["ready"] if status == 200 else COLOURS["drop"])
        tab = lay.tabs[name]
        rbox(ax, tab, fc=tint(COLOURS["proxy"], 0.55), ec=COLOURS["frame"], lw=0.9, pad=0.06, zorder=2,
             gid="k8slearn-kube-proxy")
        text(ax, tab.cx, tab.cy, "kube-proxy", size="small", zorder=3)
        if name in lay.more:
            more, count = lay.more[name]
            text(ax, more.x + 0.08, more.cy, f"+{count} more pods", size="small", color=COLOURS["muted"], ha="left")
    for pod in cluster.pods:
        if pod.name in lay.pods:
            _pod(ax, lay.pods[pod.name], pod, pod.name in eps, pod.name in highlight, cluster.node(pod.node).ready)
    if lay.hidden_nodes:
        last = lay.nodes[lay.rows[-1][-1]] if lay.rows else None
        if last is not None:
            text(ax, min(last.right + 0.1, WIDTH - 0.1), last.cy, f"+{lay.hidden_nodes} more\nnodes", size="small",
                 color=COLOURS["muted"], ha="left" if last.right + 1.0 < WIDTH else "right")
    if legend:
        _legend(ax, lay.nodes_bottom - 0.3 if legend_y is None else legend_y)


def _node_state(ax: Any, lay: Layout, name: str, ip: str, label: str, **style: Any) -> None:
    """A node's state after its IP, left of the arrow lane when it fits there (else at the right edge)."""
    box = lay.nodes[name]
    after_ip = box.x + 0.1 + 0.069 * len(ip) + 0.15
    if after_ip + 0.069 * len(label) < lay.lane(name) - 0.1:
        text(ax, after_ip, box.top - 0.46, label, size="small", ha="left", **style)
    else:
        text(ax, box.right - 0.08, box.top - 0.46, label, size="small", ha="right", **style)


def _pod(ax: Any, box: Box, pod: Pod, endpoint: bool, hl: bool, node_ready: bool = True) -> None:
    if pod.terminating:
        fc, ec, ls, hatch, colour = "white", COLOURS["terminating"], "--", None, COLOURS["text"]
        label = f"{pod.name}  Terminating"
    elif not pod.ready or not node_ready:
        # On a NotReady node the endpoint is not serving, whatever the pod's own probe said last.
        fc, ec, ls, hatch, colour = "#EBEBEB", COLOURS["not ready"], "-", "////", COLOURS["text"]
        label = f"{pod.name}  NotReady" if pod.ready is False or node_ready else f"{pod.name}  node down"
    elif endpoint:
        fc, ec, ls, hatch, colour = tint(COLOURS["ready"], 0.72), COLOURS["ready"], "-", None, COLOURS["text"]
        label = f"{pod.name}  {pod.ip}"
    else:
        fc, ec, ls, hatch, colour = "white", COLOURS["other pod"], "-", None, COLOURS["muted"]
        label = f"{pod.name}  {pod.ip}"
    if len(label) * 0.069 > box.w - 0.1:  # about 0.07 in per character at 9 pt
        label = label.split("  ")[0]
    rbox(ax, box, fc=fc, ec="#000000" if hl else ec, lw=2.4 if hl else 1.3, ls=ls, hatch=hatch, pad=0.05, zorder=2,
         gid="k8slearn-pod")
    text(ax, box.x + 0.08, box.cy, label, size="small", color=colour, ha="left", zorder=3,
         bbox=dict(boxstyle="square,pad=0.05", fc=fc, ec="none") if hatch else None)


def _legend(ax: Any, y: float) -> None:
    items = [("ready endpoint", dict(fc=tint(COLOURS["ready"], 0.72), ec=COLOURS["ready"])),
             ("not ready", dict(fc="#EBEBEB", ec=COLOURS["not ready"], hatch="////")),
             ("terminating", dict(fc="white", ec=COLOURS["terminating"], ls="--")),
             ("other pod", dict(fc="white", ec=COLOURS["other pod"]))]
    x = MARGIN
    for label, style in items:
        rbox(ax, Box(x, y - 0.09, 0.3, 0.18), lw=1.3, pad=0.03, zorder=2, **style)
        text(ax, x + 0.38, y, label, size="small", ha="left")
        x += 0.5 + 0.068 * len(label) + 0.3


def _lb_shares(cluster: Cluster, svc: Service | None, lb: Any) -> dict[str, float] | None:
    if svc is None or svc.type != "LoadBalancer":
        return None
    s = spread(cluster, svc, lb)
    if s.targets != "nodes":
        return None
    return s.weights


def _health(cluster: Cluster, svc: Service | None) -> dict[str, int | None]:
    if svc is None or svc.health_check_node_port is None:
        return {}
    from ..dataplane import health_check

    return {n.name: health_check(cluster, svc, n).status for n in cluster.nodes}


# --------------------------------------------------------------------------- compact view
def _compact(cluster: Cluster, svc: Service | None, ax: Any) -> Any:
    """A grid of nodes, each coloured by how many ready endpoints it runs, for big clusters."""
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.patches import Rectangle

    nodes = cluster.nodes
    n = len(nodes)
    eps_by_node = cluster.endpoints_by_node(svc) if svc is not None else {}
    counts = np.array([sum(1 for e in eps_by_node.get(node.name, ()) if e.ready) for node in nodes], dtype=float)
    cols = 10 if n <= 200 else 25 if n <= 1000 else 50
    rows = math.ceil(n / cols)
    cell = min(0.55, (WIDTH - 2 * MARGIN - 0.6) / cols)
    grid_w = cols * cell
    height = 0.55 + 0.35 + rows * cell + 0.9
    fig, ax = new_axes(ax, WIDTH, height)
    title = (svc.summary().replace("->", "→") if svc is not None else cluster.summary().splitlines()[0])
    text(ax, MARGIN, -0.28, title, size="title", weight="bold", ha="left")
    total = int(counts.sum())
    empty = int((counts == 0).sum())
    text(ax, MARGIN, -0.68, f"{n} nodes (compact view): each square is a node, its colour and number the ready "
         f"{svc.name if svc else ''} pods on it. {total} pods; {empty} nodes without one.", size="small", ha="left",
         color=COLOURS["muted"])
    x0, y0 = (WIDTH - grid_w) / 2, -0.95
    grid = np.full((rows, cols), np.nan)
    grid.ravel()[:n] = counts
    cmap = LinearSegmentedColormap.from_list("k8slearn-pods", ["#FFFFFF", tint(COLOURS["request"], 0.5), COLOURS["request"]])
    cmap = cmap.with_extremes(bad=(1.0, 1.0, 1.0, 0.0))
    vmax = max(1.0, float(counts.max()) if n else 1.0)
    ax.imshow(grid, cmap=cmap, vmin=0, vmax=vmax, extent=(x0, x0 + grid_w, y0 - rows * cell, y0),
              interpolation="nearest", zorder=1, aspect="auto").set_gid("k8slearn-compact")
    # Grid lines, and a mark for nodes that are down.
    ax.vlines([x0 + i * cell for i in range(cols + 1)], y0 - rows * cell, y0, color="#BFBFBF", lw=0.6, zorder=2)
    ax.hlines([y0 - i * cell for i in range(rows + 1)], x0, x0 + grid_w, color="#BFBFBF", lw=0.6, zorder=2)
    down = [i for i, node in enumerate(nodes) if not node.ready]
    for i in down:
        r, c = divmod(i, cols)
        ax.add_patch(Rectangle((x0 + c * cell, y0 - (r + 1) * cell), cell, cell, fill=False, hatch="xx",
                               ec=COLOURS["drop"], lw=0.8, zorder=3))
    if n <= 60:
        for i, count in enumerate(counts):
            r, c = divmod(i, cols)
            text(ax, x0 + (c + 0.5) * cell, y0 - (r + 0.5) * cell, f"{int(count)}", size="small", zorder=4,
                 color="white" if count > 0.6 * vmax else COLOURS["text"] if count else COLOURS["drop"])
    for r in range(rows):
        text(ax, x0 - 0.08, y0 - (r + 0.5) * cell, nodes[r * cols].name, size="small", ha="right",
             color=COLOURS["muted"])
    note = "0 in red: a node without a ready pod"
    if down:
        note += "; hatched: node NotReady"
    text(ax, x0, y0 - rows * cell - 0.3, note, size="small", ha="left", color=COLOURS["muted"])
    return fig


def draw_cluster(cluster: Cluster, *, service: Any = None, ax: Any = None, lb: str | LoadBalancer | None = None,
                 highlight: Any = None) -> Any:
    """Draw the cluster: client, load balancer, nodes with their pods, kube-proxy, the service.

    ``service`` picks the service (default: the first); ``lb`` a load-balancer model whose share per
    node is written on the lines to each node; ``highlight`` a node or pod name (or several) to
    outline. Over :data:`COMPACT_NODES` nodes the picture becomes a compact grid.
    Returns the figure (never shows it).

    >>> from k8slearn import examples
    >>> fig = draw_cluster(examples.uneven())
    >>> fig.get_label()
    'Cluster diagram: 3 nodes (node-a: web-1, web-2; node-b: web-3; node-c: no pods); Service web LoadBalancer 203.0.113.100:80, externalTrafficPolicy Cluster.'
    """
    svc = _service(cluster, service)
    if isinstance(highlight, str):
        highlight = [highlight]
    if len(cluster.nodes) > COMPACT_NODES:
        fig = _compact(cluster, svc, ax)
        _set_alt(fig, cluster_summary(cluster, svc), compact=True)
        return fig
    lay = layout(cluster, svc)
    fig, ax = new_axes(ax, lay.width, lay.height + 0.5)
    render(ax, lay, cluster, svc, highlight=highlight or (), lb=lb)
    _set_alt(fig, cluster_summary(cluster, svc), compact=False)
    return fig


def cluster_summary(cluster: Cluster, svc: Service | None) -> str:
    n = len(cluster.nodes)
    if n > COMPACT_NODES:
        empty = sum(1 for node in cluster.nodes if not cluster.pods_on(node.name))
        nodes = f"{n} nodes, {len(cluster.pods)} pods, {empty} nodes without pods (compact view)"
    else:
        parts = [f"{node.name}: " + (", ".join(_pod_word(p) for p in cluster.pods_on(node.name)) or "no pods")
                 + ("" if node.ready else " (NotReady)") for node in cluster.nodes]
        nodes = f"{n} nodes ({'; '.join(parts)})"
    text_ = f"Cluster diagram: {nodes}"
    if svc is not None:
        addr = svc.load_balancer_ip or svc.cluster_ip
        text_ += f"; Service {svc.name} {svc.type} {addr}:{svc.port}"
        if svc.external_traffic_policy:
            text_ += f", externalTrafficPolicy {svc.external_traffic_policy}"
    return text_ + "."


def _pod_word(pod: Pod) -> str:
    return pod.name if pod.status == "Running" else f"{pod.name} {pod.status}"


def _set_alt(fig: Any, alt: str, **info: Any) -> None:
    fig.set_label(alt)
    fig._k8slearn_alt = alt
    fig._k8slearn_info = {**getattr(fig, "_k8slearn_info", {}), **info}
