"""Pictures: the cluster, a traced connection, and where the traffic goes, drawn as SVG.

``draw(obj)`` picks the picture for what it is given: a :class:`~k8slearn.model.Cluster`, a
:class:`~k8slearn.trace.Trace` or a traffic DataFrame from :func:`k8slearn.traffic`. It returns a
:class:`~k8slearn.viz.svg.Picture`, which a notebook shows (crisp at any zoom, readable on light
and dark themes, with its one-line alt text as the plain-text view) and ``.save("x.svg")`` writes.
The explorer (:func:`k8slearn.explore`) draws with these same functions, so a notebook picture and
the explorer always speak one visual language.

Taught in notebooks/01 to 04.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidChange
from ..model import Cluster
from ..trace import Trace
from .bars import bars, traffic_summary
from .scene import MAX_NODES, scene
from .svg import NODE_COLOURS, PALETTE, NodeColours, Picture

__all__ = ["draw", "draw_cluster", "draw_trace", "draw_traffic", "summary", "metrics_line", "Picture",
           "NodeColours", "PALETTE", "NODE_COLOURS", "MAX_NODES"]


def _is_traffic(obj: Any) -> bool:
    columns = getattr(obj, "columns", None)
    return columns is not None and {"pod", "node", "share"} <= set(columns)


def draw_cluster(cluster: Cluster, *, service: Any = None, lb: Any = None,
                 colours: NodeColours | None = None) -> Picture:
    """The cluster: client, load balancer (with its share per node when ``lb`` is given), nodes, pods.

    >>> import k8slearn as k8s
    >>> draw_cluster(k8s.examples.uneven(), lb="health-checked").alt[:62]
    'Cluster diagram: Service web: LoadBalancer · externalTrafficPo'
    """
    svg, alt = scene(cluster, service, lb=lb, colours=colours)
    return Picture(svg, alt, "cluster")


def draw_trace(trace: Trace, *, reply: bool = False, step: int | None = None, lb: Any = None,
               colours: NodeColours | None = None) -> Picture:
    """A traced connection on its cluster, every segment labelled with the addresses it carries.

    ``reply=True`` adds the reply; ``step=k`` draws the first k hops only, with the packet there.
    """
    svg, alt = scene(trace, lb=lb, reply=reply, step=step, colours=colours)
    return Picture(svg, alt, "trace")


def draw_traffic(frame: Any, *, metrics: Any = None, y_max: float | None = None,
                 colours: NodeColours | None = None) -> Picture:
    """Per-pod bars (direct / via an extra hop / SNAT'd), the fair share and what was lost.

    ``metrics`` (the :func:`k8slearn.metrics` frame) adds the headline numbers as the chart's title.

    >>> import k8slearn as k8s
    >>> c = k8s.examples.empty_node()
    >>> draw_traffic(k8s.traffic(c, "web", lb="equal")).alt
    'Traffic chart for web: web-1 33.3% (node-a), web-2 33.3% (node-b); fair share 50%; lost 33.3% (dropped 33.3%).'
    """
    title = metrics_line(metrics.iloc[0].to_dict()) if metrics is not None else None
    svg, alt = bars(frame, title=title, y_max=y_max, colours=colours, width=560, height=270)
    return Picture(svg, alt, "traffic")


def draw(obj: Any, **options: Any) -> Picture:
    """Draw a cluster, a trace or a traffic frame; returns a :class:`Picture`.

    ``options`` go to :func:`draw_cluster` (``service``, ``lb``), :func:`draw_trace` (``reply``,
    ``step``) or :func:`draw_traffic` (``metrics``, ``y_max``).

    >>> import k8slearn as k8s
    >>> pic = draw(k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3"))
    >>> pic.alt[:60]
    'Trace diagram: 198.51.100.7 -> service web via node-c: deliv'
    """
    if isinstance(obj, Cluster):
        return draw_cluster(obj, **options)
    if isinstance(obj, Trace):
        return draw_trace(obj, **options)
    if _is_traffic(obj):
        return draw_traffic(obj, **options)
    raise InvalidChange(f"k8s.draw cannot draw a {type(obj).__name__}",
                        hint="give it a Cluster, a Trace (k8s.send) or a traffic DataFrame (k8s.traffic / k8s.sample).")


def summary(obj: Any) -> str:
    """The one-line text summary (alt text) of a picture, or of what ``draw(obj)`` would show.

    >>> import k8slearn as k8s
    >>> summary(k8s.traffic(k8s.examples.one_two(), "web"))
    'Traffic chart for web: web-1 50% (node-a), web-2 25% (node-b), web-3 25% (node-b); fair share 33.3%; nothing lost.'
    """
    if isinstance(obj, Picture):
        return obj.alt
    if _is_traffic(obj):
        return traffic_summary(obj)
    if isinstance(obj, (Cluster, Trace)):
        return draw(obj).alt
    raise InvalidChange(f"no picture summary for a {type(obj).__name__}",
                        hint="give it a Picture, a Cluster, a Trace or a traffic DataFrame.")


def _pct(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    p = 100 * float(x)
    return f"{p:.0f}%" if abs(p - round(p)) < 0.05 else f"{p:.1f}%"


def imbalance_words(x: Any) -> str:
    """The busiest serving pod's share over the quietest's, in words a learner reads at once."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "no serving pod"
    if math.isinf(x):
        return "a serving pod gets nothing"
    return f"busiest pod {float(x):.1f}× the quietest"


def metrics_line(row: dict[str, Any]) -> str:
    """One line of the numbers that matter, from an overall metrics row.

    >>> metrics_line({"client_ip_kept": 0.0, "extra_hop": 2/3, "dropped": 0.0, "imbalance": 1.0})
    'client IP kept 0% · extra hop 66.7% · dropped 0% · busiest pod 1.0× the quietest'
    """
    parts = [f"client IP kept {_pct(row['client_ip_kept'])}", f"extra hop {_pct(row['extra_hop'])}",
             f"dropped {_pct(row['dropped'])}"]
    for key, label in (("refused", "refused"), ("failed", "reply discarded")):
        if row.get(key) and row[key] > 1e-12:
            parts.append(f"{label} {_pct(row[key])}")
    parts.append(imbalance_words(row.get("imbalance")))
    return " · ".join(parts)
