"""What the widgets show, as plain values: small HTML fragments and the explorer's stylesheet.

Kept apart from the widgets so each piece can be tested (and timed) without a frontend.
"""

from __future__ import annotations

import gc
import html
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["STYLE", "NOT_RUN_TEXT", "differences_html", "error_html", "frame_metrics", "gc_paused",
           "health_html", "hops_html", "metrics_html"]

#: The text a stored notebook shows for a widget cell that has not run in this session.
NOT_RUN_TEXT = ("▶ Run this cell to open {what}. (An interactive widget: a saved notebook shows this line "
                "until the cell runs. Ran it and still see this line? Then JupyterLab lacks the widget "
                "extension: see docs/setup.md, section 4.)")

_SNAT, _REQ, _REPLY, _OK = "#D55E00", "#0072B2", "#CC79A7", "#009E73"

#: The explorer's layout and type, in one <style> block. Side by side from about 1000 px of room
#: (controls 300 px, the view the rest); below that (JupyterLab at 1280 px with its file browser
#: open) and in "wide" mode (compare, projector) the controls go in rows above the view, so the
#: pictures get the whole width and a click and its picture fit on one screen. The max-widths are
#: !important because each SVG carries an inline max-width:100% (for notebooks without this style).
STYLE = f"""<style>
.k8sl-explorer {{ display: flex; flex-flow: row wrap; align-items: flex-start; gap: 14px; width: 100%;
  color: var(--jp-ui-font-color0, #1a1a1a); }}
.k8sl-explorer > .k8sl-controls {{ flex: 0 0 300px; max-width: 300px; }}
.k8sl-explorer > .k8sl-view {{ flex: 1 1 640px; min-width: 0; }}
.k8sl-explorer.k8sl-wide > .k8sl-controls {{ flex: 1 1 100%; max-width: 100%; }}
.k8sl-explorer.k8sl-wide > .k8sl-controls > .widget-vbox:first-child {{ display: flex; flex-flow: row wrap;
  gap: 2px 14px; align-items: center; }}
.k8sl-explorer.k8sl-wide > .k8sl-controls > .widget-vbox:first-child > * {{ width: auto !important; flex: 0 0 auto; }}
.k8sl-explorer.k8sl-wide .k8sl-title {{ display: none; }}
.k8sl-explorer.k8sl-wide > .k8sl-view {{ flex: 1 1 100%; }}
.k8sl-explorer {{ container-type: inline-size; }}
@container (max-width: 980px) {{
  .k8sl-explorer > .k8sl-controls {{ flex: 1 1 100%; max-width: 100%; }}
  .k8sl-explorer > .k8sl-controls > .widget-vbox:first-child {{ display: flex; flex-flow: row wrap;
    gap: 2px 14px; align-items: center; }}
  .k8sl-explorer > .k8sl-controls > .widget-vbox:first-child > * {{ width: auto !important; flex: 0 0 auto; }}
  .k8sl-explorer .k8sl-title {{ display: none; }}
  .k8sl-explorer > .k8sl-view {{ flex: 1 1 100%; }}
}}
.k8sl-title {{ font-weight: bold; margin: 4px 0 0 2px; }}
.k8sl-explorer .k8sl-client {{ display: flex; align-items: center; gap: 8px; }}
.k8sl-scene-box svg {{ width: 100%; max-width: 780px !important; height: auto; display: block; }}
.k8sl-chart-box svg {{ width: 100%; max-width: 300px !important; height: auto; display: block; }}
.k8sl-lower {{ display: flex; flex-flow: row wrap; gap: 6px 10px; align-items: flex-start; }}
.k8sl-lower > .k8sl-hops {{ flex: 0 1 auto; min-width: 0; }}
.k8sl-lower > .k8sl-chart {{ flex: 1 1 280px; max-width: 300px; min-width: 0; }}
.k8sl-hop-table {{ border-collapse: collapse; font-size: 12px; }}
.k8sl-hop-table td, .k8sl-hop-table th {{ padding: 0 4px; text-align: left; white-space: nowrap; line-height: 19px; }}
.k8sl-hop-table th {{ border-bottom: 1px solid var(--jp-border-color1, #999); }}
.k8sl-hop-table td.addr {{ font-family: var(--jp-code-font-family, monospace); }}
.k8sl-hop-table tr.future td {{ opacity: .35; }}
.k8sl-hop-table tr.current td {{ background: rgba(0, 114, 178, .16); font-weight: bold; }}
.k8sl-hop-table tr.reply td:first-child {{ color: {_REPLY}; }}
.k8sl-hop-table .chg-src {{ color: {_SNAT}; font-weight: bold; }}
.k8sl-hop-table .chg-dst {{ color: {_REQ}; font-weight: bold; }}
.k8sl-hop-table .dead {{ color: {_SNAT}; font-weight: bold; }}
.k8sl-hop-note {{ font-size: 12.5px; margin: 4px 2px; max-width: 36em; white-space: normal; line-height: 1.35; }}
.k8sl-metrics-text {{ font-size: 14px; font-weight: bold; margin: 2px 0 4px 2px; line-height: 1.35; }}
.k8sl-metrics-text small, .k8sl-status, .k8sl-note {{ font-size: 12px; font-weight: normal;
  color: var(--jp-ui-font-color2, #555); }}
.k8sl-compare {{ display: flex; flex-flow: row wrap; gap: 12px; }}
.k8sl-side {{ flex: 1 1 420px; min-width: 0; }}
.k8sl-side .k8sl-scene-box svg, .k8sl-side .k8sl-chart-box svg {{ max-width: 640px !important; }}
.k8sl-projector-on .k8sl-side .k8sl-scene-box svg {{ max-width: none !important; }}
.k8sl-side-title {{ font-weight: bold; font-size: 14px; margin: 2px; }}
.k8sl-diff {{ font-size: 14px; margin: 2px 2px 6px 2px; padding: 4px 8px; border-left: 4px solid {_REQ};
  background: rgba(0, 114, 178, .07); line-height: 1.4; }}
.k8sl-diff b.up {{ color: {_OK}; }} .k8sl-diff b.down {{ color: {_SNAT}; }}
.k8sl-projector-on {{ font-size: 18px; }}
.k8sl-projector-on .widget-label, .k8sl-projector-on .widget-toggle-button, .k8sl-projector-on .widget-button,
.k8sl-projector-on select, .k8sl-projector-on .widget-dropdown > select, .k8sl-projector-on label,
.k8sl-projector-on input {{ font-size: 18px !important; }}
.k8sl-projector-on .widget-toggle-button, .k8sl-projector-on .widget-button,
.k8sl-projector-on .widget-dropdown > select {{ height: 36px !important; }}
.k8sl-projector-on .k8sl-scene-box svg {{ max-width: none !important; }}
.k8sl-projector-on .k8sl-chart-box svg {{ max-width: 500px !important; width: 500px; }}
.k8sl-projector-on .k8sl-lower > .k8sl-chart {{ flex: 0 1 500px; max-width: 500px; }}
.k8sl-projector-on .k8sl-hop-table, .k8sl-projector-on .k8sl-hop-note {{ font-size: 18px; }}
.k8sl-projector-on .k8sl-metrics-text, .k8sl-projector-on .k8sl-diff,
.k8sl-projector-on .k8sl-side-title {{ font-size: 20px; }}
.k8sl-projector-on .k8sl-metrics-text small, .k8sl-projector-on .k8sl-status,
.k8sl-projector-on .k8sl-note {{ font-size: 18px; }}
.k8sl-error-box {{ border-left: 4px solid {_SNAT}; padding: 4px 8px; margin: 2px 0 6px 0;
  background: rgba(213, 94, 0, .08); }}
.k8sl-error-box pre {{ white-space: pre-wrap; margin: 2px 0; font-size: 13px; }}
</style>"""


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold Python's automatic garbage collection during one redraw.

    A full collection in a notebook kernel (pandas and ipywidgets loaded) takes tens of
    milliseconds; when one falls inside a redraw it doubles that update. Paused, it runs at the
    next allocation after the outputs have been sent. Nothing is skipped, and a kernel whose
    collector was already off stays off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _pct(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    p = 100 * float(x)
    return f"{p:.0f}%" if abs(p - round(p)) < 0.05 else f"{p:.1f}%"


def frame_metrics(frame: Any, ready_pods: set[str]) -> dict[str, float]:
    """The overall metrics of a traffic frame (exact or sampled), as ``metrics_line`` wants them."""
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
    extra = f" <small>({html.escape(note)})</small>" if note else ""
    return f"<div class='k8sl-metrics-text'>{html.escape(text)}{extra}</div>"


_COMPARED = (("client_ip_kept", "client IP kept", True), ("extra_hop", "extra hop", False),
             ("dropped", "dropped", False), ("refused", "refused", False), ("failed", "reply discarded", False),
             ("imbalance", "busiest/quietest pod", False))


def _value(key: str, x: Any) -> str:
    if key != "imbalance":
        return _pct(x)
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "no serving pod"
    return "a pod gets nothing" if math.isinf(x) else f"{float(x):.1f}×"


def differences_html(titles: list[str], rows: list[dict[str, Any] | None], *, note: str = "") -> str:
    """What differs between the two sides of compare mode, in words: ``client IP kept 0% → 100%``."""
    left, right = rows[0], rows[1]
    if left is None or right is None:
        return "<div class='k8sl-diff'>One side has no traffic to compare (see the message above).</div>"
    items = []
    for key, label, more_is_better in _COMPARED:
        a, b = left.get(key), right.get(key)
        same = (a == b) or (all(isinstance(v, float) and math.isnan(v) for v in (a, b))) or (
            a is not None and b is not None and not any(math.isinf(v) or math.isnan(v) for v in (a, b))
            and abs(a - b) < 1e-9)
        if same:
            continue
        better = None
        if not any(isinstance(v, float) and math.isnan(v) for v in (a, b)):
            better = (b > a) if more_is_better else (b < a)
        cls = "" if better is None else ("up" if better else "down")
        items.append(f"{html.escape(label)} <b class='{cls}' data-k8s='diff' data-key='{key}'>"
                     f"{_value(key, a)} → {_value(key, b)}</b>")
    head = f"From <i>{html.escape(titles[0])}</i> to <i>{html.escape(titles[1])}</i>: "
    body = " · ".join(items) if items else "no difference in these numbers"
    tail = f" <span class='k8sl-note'>({html.escape(note)})</span>" if note else ""
    return f"<div class='k8sl-diff'>{head}{body}{tail}</div>"


def _port(port: Any) -> str:
    """A health-check port, or a dash when nothing probes the node (a load balancer that targets pods)."""
    if port is None or (isinstance(port, float) and math.isnan(port)):
        return "–"
    return f":{int(port)}"


def health_html(frame: Any, *, limit: int = 30) -> str:
    """The load balancer's view of each node: health-check answer and share (first ``limit`` nodes)."""
    rows = []
    for r in frame.head(limit).itertuples(index=False):
        answer = str(r.health_check)
        if r.local_endpoints is not None and not (isinstance(r.local_endpoints, float) and math.isnan(r.local_endpoints)):
            answer += f" (localEndpoints {int(r.local_endpoints)})"
        colour = "inherit" if str(r.health_check) == "200" else _SNAT
        rows.append(
            f"<tr><td>{html.escape(str(r.node))}</td><td>{'Ready' if r.ready else 'NotReady'}</td>"
            f"<td>{int(r.pods)}</td><td>{_port(r.health_check_port)}</td>"
            f"<td style='color:{colour}'>{html.escape(answer)}</td><td>{_pct(float(r.lb_share))}</td></tr>"
        )
    more = len(frame) - limit
    tail = f"<p><small>… and {more} more nodes: see <code>explorer.result.health</code>.</small></p>" if more > 0 else ""
    head = ("<tr><th>node</th><th>status</th><th>ready pods</th><th>health check</th>"
            "<th>answer</th><th>LB share</th></tr>")
    return (f"<div><table class='k8sl-hop-table'>{head}{''.join(rows)}</table>{tail}</div>")


def _addr(p: Any, other: Any, direction: str) -> str:
    def part(field: str, port: str, cls: str) -> str:
        text = f"{getattr(p, field)}:{getattr(p, port)}"
        changed = other is not None and (getattr(p, field) != getattr(other, field) or
                                         getattr(p, port) != getattr(other, port))
        return f"<span class='{cls}'>{html.escape(text)}</span>" if changed else html.escape(text)
    return f"{part('src', 'sport', 'chg-src')} → {part('dst', 'dport', 'chg-dst')}"


def hops_html(trace: Any, *, reply: bool = False, current: int | None = None) -> str:
    """The packet, hop by hop: where, what, and the addresses it leaves with (what changed in colour).

    With ``current`` (the packet tracer's step), that row is highlighted, later rows are faint and
    the hop's own explanation is written under the table.
    """
    if trace is None:
        return "<div class='k8sl-note'>No packet could be sent in this set-up (see the message above).</div>"
    hops = trace.hops + (trace.reply if reply else ())
    rows = []
    for h in hops:
        cls = [h.direction]
        if current is not None and h.step == current:
            cls.append("current")
        elif current is not None and h.step > current:
            cls.append("future")
        arrow = "→" if h.direction == "request" else "←"
        action = html.escape(h.action)
        if h.action in ("DROP", "REJECT", "discard"):
            action = f"<span class='dead'>{action}</span>"
        title = html.escape(f"{h.rule}: {h.note}" if h.rule else h.note, quote=True)
        rows.append(f"<tr class='{' '.join(cls)}' data-step='{h.step}' title='{title}'><td>{h.step} {arrow}</td>"
                    f"<td>{html.escape(h.at.name)}</td><td>{action}</td>"
                    f"<td class='addr'>{_addr(h.after, h.before, h.direction)}</td></tr>")
    head = "<tr><th>#</th><th>at</th><th>what</th><th>the packet leaves with</th></tr>"
    shown = next((h for h in hops if h.step == current), None)
    note = ""
    if shown is not None:  # the packet tracer explains the hop it shows
        rule = f" <i>({html.escape(shown.rule)})</i>" if shown.rule else ""
        note = (f"<div class='k8sl-hop-note' data-k8s='hop-note'><b>{shown.step}. {html.escape(shown.action)} at "
                f"{html.escape(shown.at.name)}</b>{rule}: {html.escape(shown.note)}</div>")
    return f"<div><table class='k8sl-hop-table'>{head}{''.join(rows)}</table>{note}</div>"


def error_html(err: BaseException | None) -> str:
    """The error area: the teaching message of a rejected change (empty when all is well)."""
    if err is None:
        return ""
    from ..errors import K8sLearnError

    if isinstance(err, K8sLearnError):
        title = "Not possible:"
    else:  # a bug in k8slearn: say so, and keep the details visible
        title = f"Unexpected {type(err).__name__} (a bug in k8slearn; please report it):"
    return (f"<div class='k8sl-error-box'><b>{html.escape(title)}</b>"
            f"<pre>{html.escape(str(err))}</pre></div>")
