"""Where the traffic goes: one bar per pod, split by what happened on the way, and what was lost.

Each pod's bar is its share of new connections, in its node's colour, split into the part that
reached it directly with the client's own address, the part that took an extra node hop (striped),
and the part whose source was replaced on the way (SNAT'd: vermillion cross-hatch). A dashed line
marks the fair share (what each serving pod would get if the load were even); a last bar shows the
connections that reach no pod (dropped, refused, reply discarded). ``y_max`` fixes the scale, so two
charts (before and after a change, or side by side) compare at a glance.

Taught in notebooks/03 to 06.
"""

from __future__ import annotations

import math
from typing import Any

from .svg import PALETTE, NodeColours, Svg, text_width, wrap

__all__ = ["bars", "traffic_summary", "nice_max", "split", "LOST", "PATTERNS"]

SMALL = 12.0
TEXT = 13.0
DENSE = 40   # more pods than this: bars drawn as a few paths (a 1,000-pod chart stays a few KB)
LOST_W = 36  # the width kept for the lost bar in a dense chart
LOST = (("dropped", "dropped", PALETTE["snat"]), ("refused", "refused", PALETTE["snat"]),
        ("failed", "reply discarded", PALETTE["reply"]))

PATTERNS = _DEFS = (
    '<defs>'
    '<pattern id="k8s-extra" width="7" height="7" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="3" height="7" fill="white" fill-opacity="0.75"/></pattern>'
    '<pattern id="k8s-snat" width="8" height="8" patternUnits="userSpaceOnUse">'
    '<path d="M0,0 L8,8 M8,0 L0,8" stroke="#1a1a1a" stroke-width="1.3" stroke-opacity="0.8"/></pattern>'
    '</defs>'
)


def _pct(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    p = 100 * x
    return f"{p:.0f}%" if abs(p - round(p)) < 0.05 else f"{p:.1f}%"


def nice_max(value: float) -> float:
    """A round top for a share axis at or above ``value`` (0.2, 0.25, 0.4, 0.5, 0.6, 0.8, 1.0 ...)."""
    for top in (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0):
        if value <= top + 1e-9:
            return top
    return 1.0


def lost_of(frame: Any) -> dict[str, float]:
    attrs = frame.attrs
    if any(k in attrs for k in ("dropped", "refused", "failed")):
        return {k: float(attrs.get(k, 0.0) or 0.0) for k in ("dropped", "refused", "failed")}
    return {"dropped": max(0.0, 1.0 - float(frame["share"].sum())), "refused": 0.0, "failed": 0.0}


def split(row: Any) -> dict[str, float]:
    """A pod's share split four ways: (direct or extra hop) x (client IP kept or SNAT'd).

    Uses the frame's joint columns when present; otherwise the marginals, joined as every
    dataplane here joins them (a connection keeps the client IP via an extra hop only when every
    connection that keeps it does: DSR), which is the tightest joint the marginals allow.
    """
    share = float(row.share)
    if share <= 0:
        return {"kept_direct": 0.0, "kept_extra": 0.0, "snat_direct": 0.0, "snat_extra": 0.0}
    if hasattr(row, "kept_extra"):
        return {k: float(getattr(row, k)) for k in ("kept_direct", "kept_extra", "snat_direct", "snat_extra")}
    kept = 0.0 if math.isnan(row.client_ip_kept) else float(row.client_ip_kept)
    extra = 0.0 if math.isnan(row.extra_hop) else float(row.extra_hop)
    kept_extra = max(0.0, kept + extra - 1.0)
    return {"kept_direct": share * (kept - kept_extra), "kept_extra": share * kept_extra,
            "snat_direct": share * (1.0 - kept - extra + kept_extra), "snat_extra": share * (extra - kept_extra)}


def _mean_parts(rows: list[Any]) -> dict[str, float]:
    total: dict[str, float] = {}
    for r in rows:
        for k, v in split(r).items():
            total[k] = total.get(k, 0.0) + v
    return {k: v / len(rows) for k, v in total.items()}


def traffic_summary(frame: Any) -> str:
    """One line saying what the chart shows (its alt text)."""
    service = frame.attrs.get("service", "the service")
    n = len(frame)
    if n <= 8:
        body = ", ".join(f"{r.pod} {_pct(r.share)} ({r.node})" for r in frame.itertuples())
    else:
        body = (f"{n} pods on {frame['node'].nunique()} nodes, shares {_pct(float(frame['share'].min()))} "
                f"to {_pct(float(frame['share'].max()))}")
    fair = frame.attrs.get("fair_share")
    text = f"Traffic chart for {service}: {body}"
    if fair is not None and not math.isnan(fair):
        text += f"; fair share {_pct(fair)}"
    lost = lost_of(frame)
    total = sum(lost.values())
    if total > 1e-12:
        parts = ", ".join(f"{label} {_pct(lost[k])}" for k, label, _ in LOST if lost[k] > 1e-12)
        text += f"; lost {_pct(total)} ({parts})"
    else:
        text += "; nothing lost"
    return text + "."


def bars(frame: Any, *, colours: NodeColours | None = None, y_max: float | None = None, width: float = 420,
         height: float = 230, title: str | None = None, legend: bool = True) -> tuple[str, str]:
    """The chart as ``(svg, alt)``; see the module docs."""
    colours = colours or NodeColours(dict.fromkeys(frame["node"]))
    lost = lost_of(frame)
    lost_total = sum(lost.values())
    shares = [float(x) for x in frame["share"]]
    fair = frame.attrs.get("fair_share")
    top = y_max or nice_max(max(shares + [lost_total, fair if fair and not math.isnan(fair) else 0.0, 0.001]) * 1.12)
    n = len(frame)
    left, right = 44.0, 10.0
    title_lines = wrap(title, width - 16, TEXT, bold=True) if title is not None else []
    head = 15.0 + 17.0 * len(title_lines) if title_lines else 8.0
    items = [("direct", None), ("via extra hop", "k8s-extra"), ("SNAT'd", "k8s-snat")]
    if lost_total > 1e-12:
        items.append(("lost", "lost"))
    if fair is not None and not math.isnan(fair):
        items.append((f"fair share {_pct(fair)}", "fair"))
    placed, lx, rows = [], 8.0, 1
    for text, pattern in items:
        w = 16 + 6 + text_width(text, SMALL) + 14
        if lx + w > width and lx > 8.0:
            lx, rows = 8.0, rows + 1
        placed.append((lx, rows, text, pattern))
        lx += w
    legend_h = (rows * 18.0 + 6) if legend else 0.0
    names_h = 22.0 if n <= 12 else 8.0
    plot_h = height - head - names_h - legend_h - 8
    base = head + plot_h
    svg = Svg(width, height)
    svg.add(_DEFS)
    for i, line in enumerate(title_lines):  # wrapped to the chart's width, never cut off
        svg.text(8, 19 + 17 * i, line, size=TEXT, bold=True)
    slots = n + 1.4
    slot = (width - left - right) / slots
    bar_w = max(1.5, min(46.0, slot * 0.72))

    def y(v: float) -> float:
        return base - plot_h * min(v, top) / top

    for tick in _ticks(top):
        yy = y(tick)
        svg.line(left, yy, width - right, yy, cls="grid", sw=1)
        svg.text(left - 5, yy + 4, _pct(tick), size=SMALL, anchor="end", cls="m")
    svg.line(left, base, width - right, base, cls="axis", sw=1.2)
    dense = n > DENSE  # many pods: one path per colour and kind of part, not an element per bar
    shapes: dict[tuple[str, str], list[str]] = {}
    overflow = False
    rows = list(frame.itertuples())
    groups = [[r] for r in rows]
    if dense:  # a bar per 2 px at most: neighbouring pods (in cluster order) share one, at their mean
        per = max(1, math.ceil(n / ((width - left - right - LOST_W) / 2)))
        groups = [rows[i:i + per] for i in range(0, n, per)]
        slot = (width - left - right - LOST_W) / len(groups)
        bar_w = max(1.0, slot * 0.8)
    for i, group in enumerate(groups):
        row = group[0]
        cx = left + slot * (i + 0.5)
        x = cx - bar_w / 2
        colour = colours[row.node]
        parts = split(row) if len(group) == 1 else _mean_parts(group)
        acc = 0.0
        for key in ("kept_direct", "kept_extra", "snat_direct", "snat_extra"):
            v = parts[key]
            if v <= 1e-12:
                continue
            y0, y1 = y(acc + v), y(acc)
            if dense:
                shapes.setdefault((colour, key), []).append(f"M{x:.1f},{y0:.1f}h{bar_w:.2f}V{y1:.1f}h{-bar_w:.2f}Z")
            else:
                svg.rect(x, y0, bar_w, y1 - y0, fill=colour, stroke="#333333", sw=0.6,
                         extra=f' data-k8s="bar-part" data-pod="{row.pod}" data-part="{key}" data-value="{v:.6f}"')
                if "extra" in key:
                    svg.rect(x, y0, bar_w, y1 - y0, fill="url(#k8s-extra)")
                if "snat" in key:
                    svg.rect(x, y0, bar_w, y1 - y0, fill="url(#k8s-snat)")
            acc += v
        if sum(parts.values()) > top:
            overflow = True
            if not dense:
                svg.text(cx, head + 10, "▲", size=SMALL, anchor="middle", fill=PALETTE["snat"])
        if n <= 16:
            svg.text(cx, y(min(row.share, top)) - 4, _pct(row.share), size=SMALL, anchor="middle", bold=True,
                     extra=f' data-k8s="bar-label" data-pod="{row.pod}"')
        if n <= 12:
            name = row.pod if text_width(row.pod, SMALL) <= slot + 6 else row.pod[: max(3, int(slot / 7))] + "…"
            svg.text(cx, base + 16, name, size=SMALL, anchor="middle")
    for (colour, key), pieces in shapes.items():
        d = "".join(pieces)
        svg.path(d, fill=colour, extra=f' data-k8s="bar-group" data-part="{key}" data-bars="{len(pieces)}"')
        if "extra" in key:
            svg.path(d, fill="url(#k8s-extra)")
        if "snat" in key:
            svg.path(d, fill="url(#k8s-snat)")
    if dense:
        per_bar = f", {len(groups[0])} per bar" if len(groups[0]) > 1 else ""
        svg.text(left + (width - left - right) / 2 - slot, base + 16, f"{n:,} pods, in cluster order{per_bar}",
                 size=SMALL, anchor="middle", cls="m")
        if overflow:
            svg.text(width - right - 4, head + 10, "▲ some bars go past the top", size=SMALL, anchor="end",
                     fill=PALETTE["snat"])
    # the connections that reach no pod
    cx = width - right - LOST_W / 2 if dense else left + slot * (len(groups) + 0.7)
    if dense:
        bar_w = LOST_W * 0.6
    x = cx - bar_w / 2
    acc = 0.0
    for key, label, colour in LOST:
        v = lost[key]
        if v <= 1e-12:
            continue
        y0, y1 = y(acc + v), y(acc)
        svg.rect(x, y0, bar_w, y1 - y0, fill=colour, stroke=colour, sw=0.8,
                 extra=f' data-k8s="lost" data-part="{key}" data-value="{v:.6f}"')
        if key == "refused":
            svg.rect(x, y0, bar_w, y1 - y0, fill="url(#k8s-extra)")
        acc += v
    svg.text(cx, y(min(lost_total, top)) - 4, _pct(lost_total), size=SMALL, anchor="middle", bold=True,
             fill=PALETTE["snat"] if lost_total > 1e-12 else None, extra=' data-k8s="lost-label"')
    svg.text(cx, base + 16, "lost", size=SMALL, anchor="middle", bold=lost_total > 1e-12,
             fill=PALETTE["snat"] if lost_total > 1e-12 else None)
    if fair is not None and not math.isnan(fair) and fair <= top:
        fy = y(fair)
        svg.line(left, fy, width - right, fy, stroke=PALETTE["muted"], sw=1.6, dash="6 4",
                 extra=' data-k8s="fair-share"')
    if legend:
        ly = height - legend_h + 14
        for x, row, text, pattern in placed:
            row_y = ly + (row - 1) * 18
            if pattern == "lost":
                svg.rect(x, row_y - 10, 16, 12, fill=PALETTE["snat"])
            elif pattern == "fair":
                svg.line(x, row_y - 4, x + 16, row_y - 4, stroke=PALETTE["muted"], sw=1.6, dash="4 3")
            else:
                svg.rect(x, row_y - 10, 16, 12, fill="#8C8C8C", stroke="#333333", sw=0.6)  # a neutral bar
                if pattern:
                    svg.rect(x, row_y - 10, 16, 12, fill=f"url(#{pattern})")
            svg.text(x + 22, row_y, text, size=SMALL, cls="m")
    alt = traffic_summary(frame)
    return svg.render(title=alt, cls="k8s-bars"), alt


def _ticks(top: float) -> list[float]:
    step = {0.002: 0.001, 0.005: 0.001, 0.01: 0.005, 0.02: 0.01, 0.05: 0.025, 0.1: 0.05, 0.15: 0.05, 0.2: 0.1, 0.25: 0.05, 0.3: 0.1, 0.4: 0.1, 0.5: 0.1,
            0.6: 0.2, 0.8: 0.2, 1.0: 0.25}.get(round(top, 3), top / 4)
    out, t = [], 0.0
    while t <= top + 1e-9:
        out.append(round(t, 6))
        t += step
    return out
