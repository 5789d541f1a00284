"""Pictures: the cluster, a traced connection, and where the traffic goes.

``draw(obj)`` picks the picture for what it is given: a :class:`~k8slearn.model.Cluster`, a
:class:`~k8slearn.trace.Trace` or a traffic DataFrame from :func:`k8slearn.traffic`. Every function
returns a :class:`matplotlib.figure.Figure` (or draws into ``ax=``) and never shows it; a notebook
displays the returned figure. ``summary(fig_or_obj)`` gives the one-line text summary, which is also
each figure's label (``fig.get_label()``), for screen readers and tests.

Taught in notebooks/01 to 04.
"""

from __future__ import annotations

from typing import Any

from ..model import Cluster
from ..trace import Trace
from .charts import draw_traffic, traffic_summary
from .cluster import COMPACT_NODES, cluster_summary, draw_cluster
from .palette import COLOURS, FONT, NODE_COLOURS, OKABE_ITO
from .trace import draw_trace, trace_summary

__all__ = ["draw", "draw_cluster", "draw_trace", "draw_traffic", "summary", "COLOURS", "OKABE_ITO",
           "NODE_COLOURS", "FONT", "COMPACT_NODES"]


def _register_notebook_display() -> None:
    """Let Jupyter show the figures k8slearn returns, with no ``%matplotlib inline`` needed.

    Figures are built without pyplot (no global state), so IPython would print only
    ``<Figure size ...>``; this registers a PNG view and, as the text view, the figure's one-line
    summary (its alt text). Outside IPython it does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with JupyterLab
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    def png(fig: Figure) -> bytes:
        import io

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", facecolor=fig.get_facecolor())
        return buffer.getvalue()

    def text(fig: Figure, printer: Any, cycle: bool) -> None:
        printer.text(getattr(fig, "_k8slearn_alt", None) or repr(fig))

    formatters = shell.display_formatter.formatters
    formatters["image/png"].for_type(Figure, png)
    formatters["text/plain"].for_type(Figure, text)


_register_notebook_display()


def _is_traffic(obj: Any) -> bool:
    columns = getattr(obj, "columns", None)
    return columns is not None and {"pod", "node", "share"} <= set(columns)


def draw(obj: Any, *, ax: Any = None, **options: Any) -> Any:
    """Draw a cluster, a trace or a traffic frame; returns the figure.

    ``options`` go to :func:`draw_cluster` (``service``, ``lb``, ``highlight``), :func:`draw_trace`
    (``reply``) or :func:`draw_traffic` (``metrics``).

    >>> import k8slearn as k8s
    >>> fig = draw(k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3"))
    >>> fig.get_label()[:60]
    'Trace diagram: 198.51.100.7 -> service web via node-c: deliv'
    """
    if isinstance(obj, Cluster):
        return draw_cluster(obj, ax=ax, **options)
    if isinstance(obj, Trace):
        return draw_trace(obj, ax=ax, **options)
    if _is_traffic(obj):
        return draw_traffic(obj, ax=ax, **options)
    raise TypeError(f"k8slearn.draw cannot draw a {type(obj).__name__}: give it a Cluster, a Trace (k8s.send) "
                    "or a traffic DataFrame (k8s.traffic / k8s.sample)")


def summary(obj: Any) -> str:
    """The one-line text summary (alt text) of a figure made here, or of what it would show.

    >>> import k8slearn as k8s
    >>> summary(k8s.traffic(k8s.examples.one_two(), "web"))
    'Traffic chart for web: web-1 50% (node-a), web-2 25% (node-b), web-3 25% (node-b); fair share 33.3%; nothing lost.'
    """
    alt = getattr(obj, "_k8slearn_alt", None)
    if alt is not None:
        return alt
    if isinstance(obj, Cluster):
        return cluster_summary(obj, obj.services[0] if obj.services else None)
    if isinstance(obj, Trace):
        return trace_summary(obj)
    if _is_traffic(obj):
        return traffic_summary(obj)
    raise TypeError(f"no picture summary for a {type(obj).__name__}")
