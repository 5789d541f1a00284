"""TEMPORARY: plain stand-ins for k8slearn.viz until it lands (same signatures). Delete afterwards."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any


def _figure(size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def draw_cluster(cluster: Any, *, service: Any = None, ax: Any = None, lb: Any = None, highlight: Any = None) -> Any:
    fig = _figure((7, 3))
    ax = fig.subplots()
    ax.set_axis_off()
    for i, n in enumerate(cluster.nodes[:20]):
        ax.add_patch(__import__("matplotlib.patches").patches.Rectangle((i, 0), 0.9, 1, fill=False))
        ax.text(i + 0.45, 1.05, n.name, ha="center", fontsize=9)
        for j, p in enumerate(cluster.pods_on(n)[:6]):
            ax.text(i + 0.45, 0.85 - 0.14 * j, f"{p.name} {p.status}", ha="center", fontsize=9)
    ax.set_xlim(-0.1, max(1, min(20, len(cluster.nodes))))
    ax.set_ylim(-0.1, 1.3)
    return fig


def draw_trace(trace: Any, *, ax: Any = None, reply: bool = False) -> Any:
    fig = draw_cluster(trace.cluster)
    ax = fig.axes[0]
    ax.set_title(" → ".join(trace.path) + f"  [{trace.outcome}]", fontsize=9)
    return fig


def draw_traffic(frame: Any, *, ax: Any = None, metrics: Any = None) -> Any:
    fig = _figure((7, 3))
    ax = fig.subplots()
    ax.bar(range(len(frame)), frame["share"], tick_label=list(frame["pod"]) if len(frame) <= 30 else None)
    if frame.attrs.get("fair_share") == frame.attrs.get("fair_share"):
        ax.axhline(frame.attrs.get("fair_share", 0), ls="--")
    return fig


def summary(obj: Any) -> str:
    return getattr(obj, "summary", lambda: repr(obj))()


def get_viz() -> Any:
    """k8slearn.viz if it exists, else these stand-ins."""
    try:
        viz = import_module("k8slearn.viz")
        if all(hasattr(viz, name) for name in ("draw_cluster", "draw_trace", "draw_traffic", "summary")):
            return viz
    except ImportError:  # viz is being written at the same time
        pass
    return SimpleNamespace(draw_cluster=draw_cluster, draw_trace=draw_trace, draw_traffic=draw_traffic,
                           summary=summary)
