"""What the widgets show, as plain values: PNG bytes from figures and small HTML fragments.

Kept apart from the widgets so each piece can be tested (and timed) without a frontend.
"""

from __future__ import annotations

import gc
import html
import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "DPI",
    "Pictures",
    "error_html",
    "figure_png",
    "gc_paused",
    "health_html",
    "hops_html",
    "metrics_html",
    "metrics_text",
]

#: Resolution of the explorer's pictures. 90 dpi keeps 9 pt text at about 11 screen pixels and the
#: PNGs small enough to encode in a few milliseconds.
DPI = 90


def figure_png(fig: Any, *, dpi: int = DPI) -> bytes:
    """Render a matplotlib figure to PNG bytes with Agg, then release the figure.

    Three things keep this fast (the pictures dominate the explorer's update time): glyphs are
    rasterised without hinting (it looks the same at this size and saves about a third of the
    drawing: matplotlib rasterises every glyph of every label afresh on each draw); one Agg renderer
    is kept per picture size, so matplotlib's text-layout cache (keyed by renderer) survives from one
    figure to the next; and the PNG is encoded as RGB at compression level 1 (the bytes go straight
    to the browser and are never stored).
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    width, height = fig.bbox.size
    key = (width, height, fig.dpi)
    renderer = _RENDERERS.pop(key, None)
    if renderer is None:
        from matplotlib.backends.backend_agg import RendererAgg

        renderer = RendererAgg(width, height, fig.dpi)
    _RENDERERS[key] = renderer  # most recently used last
    while len(_RENDERERS) > 6:
        _RENDERERS.pop(next(iter(_RENDERERS)))
    canvas.renderer, canvas._lastKey = renderer, key  # FigureCanvasAgg.get_renderer reuses a matching one
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    if image.getextrema()[3][0] == 255:  # opaque (viz figures have a white face): RGB is smaller
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=1)
    _release(fig)
    return buf.getvalue()


_RENDERERS: dict[tuple[float, float, float], Any] = {}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold Python's automatic garbage collection during one redraw.

    A full collection in a notebook kernel (pandas, matplotlib and ipywidgets loaded) takes 60-90
    ms; when one falls inside a redraw it doubles that update. Paused, it runs at the next
    allocation after the pictures have been sent, while the learner looks at them. Nothing is
    skipped, and a kernel whose collector was already off stays off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Pictures:
    """The last few rendered PNGs, keyed by what they show (a learner flips back and forth a lot).

    The key must capture everything the picture depends on; then a hit is exactly the picture a
    fresh render would give.
    """

    def __init__(self, size: int = 32) -> None:
        from collections import OrderedDict

        self.size = size
        self._items: OrderedDict[Any, tuple[bytes, str]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: Any, draw: Any, caption: Any) -> tuple[bytes, str]:
        """PNG bytes and caption for ``key``, calling ``draw()`` (a figure) and ``caption()`` on a miss."""
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        found = (figure_png(draw()), caption())
        self._items[key] = found
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return found

    def clear(self) -> None:
        self._items.clear()

def _release(fig: Any) -> None:
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # a figure made with pyplot stays registered until closed
        pyplot.close(fig)


def _pct(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.0f}%"


def _ratio(x: float) -> str:
    if x is None or math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞"
    return f"{x:.1f}"


def metrics_text(row: dict[str, float]) -> str:
    """One line of the numbers that matter, from an overall metrics row.

    >>> metrics_text({"client_ip_kept": 0.0, "extra_hop": 2/3, "dropped": 0.0, "imbalance": 1.0})
    'client IP preserved 0% · extra hop 67% · dropped 0% · imbalance 1.0'
    """
    parts = [f"client IP preserved {_pct(row['client_ip_kept'])}", f"extra hop {_pct(row['extra_hop'])}",
             f"dropped {_pct(row['dropped'])}"]
    for key, label in (("refused", "refused"), ("failed", "reply lost")):
        if row.get(key, 0.0) and row[key] > 1e-12:
            parts.append(f"{label} {_pct(row[key])}")
    parts.append(f"imbalance {_ratio(row['imbalance'])}")
    return " · ".join(parts)


def frame_metrics(frame: Any, ready_pods: set[str]) -> dict[str, float]:
    """The overall metrics of a traffic frame (exact or sampled), as :func:`metrics_text` wants them."""
    import numpy as np

    share = frame["share"].to_numpy(dtype=float)
    delivered = float(share.sum())
    kept = float(np.nansum(share * frame["client_ip_kept"].to_numpy(dtype=float)))
    extra = float(np.nansum(share * frame["extra_hop"].to_numpy(dtype=float)))
    ready = share[frame["pod"].isin(ready_pods).to_numpy()]
    if len(ready) == 0:
        imbalance = math.nan
    else:
        lo, hi = float(ready.min()), float(ready.max())
        imbalance = hi / lo if lo > 0 else (math.inf if hi > 0 else math.nan)
    return {"client_ip_kept": kept / delivered if delivered else math.nan,
            "extra_hop": extra / delivered if delivered else math.nan,
            "dropped": float(frame.attrs.get("dropped", 0.0)), "refused": float(frame.attrs.get("refused", 0.0)),
            "failed": float(frame.attrs.get("failed", 0.0)), "imbalance": imbalance}


def metrics_html(text: str, *, note: str = "") -> str:
    extra = f"<br><small>{html.escape(note)}</small>" if note else ""
    return f"<div class='k8sl-metrics-text'><b>{html.escape(text)}</b>{extra}</div>"


def health_html(frame: Any, *, limit: int = 30) -> str:
    """The load balancer's view of each node: health-check answer and share (first ``limit`` nodes)."""
    rows = []
    for r in frame.head(limit).itertuples(index=False):
        answer = str(r.health_check)
        if r.local_endpoints is not None and not (isinstance(r.local_endpoints, float) and math.isnan(r.local_endpoints)):
            answer += f" (localEndpoints {int(r.local_endpoints)})"
        colour = "inherit" if str(r.health_check) == "200" else "#D55E00"
        rows.append(
            f"<tr><td>{html.escape(str(r.node))}</td><td>{'Ready' if r.ready else 'NotReady'}</td>"
            f"<td>{int(r.pods)}</td><td>:{int(r.health_check_port)}</td>"
            f"<td style='color:{colour}'>{html.escape(answer)}</td><td>{_pct(float(r.lb_share))}</td></tr>"
        )
    more = len(frame) - limit
    tail = f"<p><small>… and {more} more nodes: see <code>explorer.result.health</code>.</small></p>" if more > 0 else ""
    head = ("<tr><th>node</th><th>status</th><th>ready pods</th><th>health check</th>"
            "<th>answer</th><th>LB share</th></tr>")
    return (f"<div><b>Health checks the load balancer sends to each node</b>"
            f"<table style='font-size:90%'>{head}{''.join(rows)}</table>{tail}</div>")


def hops_html(trace: Any) -> str:
    if trace is None:
        return "<div><i>No packet could be sent in this set-up (see the message above).</i></div>"
    return trace._repr_html_()


def error_html(err: BaseException | None) -> str:
    """The error area: the teaching message of a rejected change (empty when all is well)."""
    if err is None:
        return ""
    from ..errors import K8sLearnError

    if isinstance(err, K8sLearnError):
        title = "Not possible:"
    else:  # a bug in k8slearn: say so, and keep the details visible
        title = f"Unexpected {type(err).__name__} (a bug in k8slearn; please report it):"
    return (f"<div style='border-left:4px solid #D55E00;padding:4px 8px'><b>{html.escape(title)}</b>"
            f"<pre style='white-space:pre-wrap;margin:2px 0'>{html.escape(str(err))}</pre></div>")
