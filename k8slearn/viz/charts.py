"""Where the traffic goes: each pod's share against the fair share, and what was lost.

:func:`draw_traffic` takes the DataFrame of :func:`k8slearn.traffic` (or :func:`k8slearn.sample`):
one bar per pod, coloured by its node, a dashed line at the fair share (what each serving pod
would get if the load were even), and a separate bar for the connections that reach no pod
(dropped, refused, or failed because the reply was discarded). Given the
:func:`k8slearn.metrics` frame, a small panel adds the headline numbers.

Taught in notebooks/04-external-traffic-policy-local.ipynb and 05-imbalance.ipynb.
"""

from __future__ import annotations

import math
from typing import Any

from .cluster import _set_alt
from .palette import COLOURS, FONT, node_colour, tint

__all__ = ["draw_traffic", "traffic_summary"]

_LOST = (("dropped", "dropped", COLOURS["lost"], None),
         ("refused", "refused", COLOURS["lost"], "////"),
         ("failed", "reply discarded", COLOURS["reply"], "\\\\\\\\"))


def _pct(x: float) -> str:
    """50%, 33.3%, 0.5%: whole percents when exact, one decimal otherwise."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    p = 100 * x
    return f"{p:.0f}%" if abs(p - round(p)) < 0.05 else f"{p:.1f}%"


def _lost(frame: Any) -> dict[str, float]:
    attrs = frame.attrs
    if any(k in attrs for k in ("dropped", "refused", "failed")):
        return {k: float(attrs.get(k, 0.0) or 0.0) for k in ("dropped", "refused", "failed")}
    return {"dropped": max(0.0, 1.0 - float(frame["share"].sum())), "refused": 0.0, "failed": 0.0}


def traffic_summary(frame: Any) -> str:
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
    lost = _lost(frame)
    total = sum(lost.values())
    if total > 1e-12:
        parts = ", ".join(f"{label} {_pct(lost[k])}" for k, label, _, _ in _LOST if lost[k] > 1e-12)
        text += f"; lost {_pct(total)} ({parts})"
    else:
        text += "; nothing lost"
    return text + "."


def draw_traffic(frame: Any, *, ax: Any = None, metrics: Any = None) -> Any:
    """Bars of each pod's share, coloured by node, the fair-share line, and the lost share.

    ``frame`` is :func:`k8slearn.traffic` or :func:`k8slearn.sample` output; ``metrics`` (optional)
    the :func:`k8slearn.metrics` frame for a panel of headline numbers. Returns the figure.

    >>> import k8slearn as k8s
    >>> c = k8s.examples.empty_node()
    >>> fig = draw_traffic(k8s.traffic(c, "web", lb="equal"), metrics=k8s.metrics(c, "web", lb="equal"))
    >>> fig.get_label()
    'Traffic chart for web: web-1 33.3% (node-a), web-2 33.3% (node-b); fair share 50%; lost 33.3% (dropped 33.3%).'
    """
    import numpy as np

    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9.0, 4.2), dpi=100, facecolor=COLOURS["face"])
        right = 0.70 if metrics is not None else 0.97
        ax = fig.add_axes((0.085, 0.2, right - 0.085, 0.68))
        from matplotlib.patches import Rectangle

        fig.patches.append(Rectangle((0.002, 0.002), 0.996, 0.996, transform=fig.transFigure, fill=False,
                                     ec="#B3B3B3", lw=1.0, zorder=0))
    else:
        fig = ax.figure
    ax.set_facecolor("white")

    n = len(frame)
    shares = frame["share"].to_numpy(dtype=float)
    node_order = list(dict.fromkeys(frame["node"]))
    colour_of = {node: node_colour(i) for i, node in enumerate(node_order)}
    colours = [colour_of[node] for node in frame["node"]]
    x = np.arange(n, dtype=float)
    if n <= 60:
        bars = ax.bar(x, shares, width=0.72, color=colours, edgecolor="#333333", linewidth=0.6, zorder=3)
        for patch in bars:
            patch.set_gid("k8slearn-share-bar")
    else:  # many pods: one line per pod in a single collection (a thousand bar patches draw slowly)
        from matplotlib.collections import LineCollection

        segments = np.stack([np.column_stack([x, np.zeros(n)]), np.column_stack([x, shares])], axis=1)
        lines = LineCollection(segments, colors=colours, linewidths=max(0.5, 300 / n), zorder=3)
        lines.set_gid("k8slearn-share-lines")
        ax.add_collection(lines, autolim=False)

    lost = _lost(frame)
    lost_x = n + 0.4
    bottom = 0.0
    lost_total = sum(lost.values())
    for key, label, colour, hatch in _LOST:
        value = lost[key]
        if value <= 1e-12 and not (key == "dropped" and lost_total <= 1e-12):
            continue
        bar = ax.bar([lost_x], [value], bottom=[bottom], width=0.72, color=tint(colour, 0.35) if hatch else colour,
                     edgecolor=colour, hatch=hatch, linewidth=1.0, zorder=3, label=label)
        bar[0].set_gid(f"k8slearn-lost-{key}")
        bottom += value

    top = max([float(shares.max()) if n else 0.0, lost_total, frame.attrs.get("fair_share") or 0.0, 1e-6])
    fair = frame.attrs.get("fair_share")
    if fair is not None and not math.isnan(fair):
        ax.axhline(fair, color=COLOURS["fair"], ls=(0, (5, 3)), lw=1.4, zorder=4).set_gid("k8slearn-fair-share")
        ax.text(1.0, fair, f" fair share {_pct(fair)}", transform=ax.get_yaxis_transform(), fontsize=FONT["small"],
                va="bottom", ha="right", color=COLOURS["fair"], zorder=5,
                bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.85))
    if n <= 30:
        for xi, s in zip(x, shares):
            ax.text(xi, s + top * 0.015, _pct(s), ha="center", va="bottom", fontsize=FONT["small"], zorder=5,
                    bbox=dict(boxstyle="square,pad=0.08", fc="white", ec="none"))
    ax.text(lost_x, lost_total + top * 0.015, _pct(lost_total), ha="center", va="bottom", fontsize=FONT["small"],
            color=COLOURS["lost"] if lost_total > 1e-12 else COLOURS["text"], fontweight="bold", zorder=5)

    ax.set_ylim(0, top * 1.22)
    ax.set_xlim(-0.6, lost_x + 0.6)
    ticks = list(x) + [lost_x]
    if n <= 24:
        ax.set_xticks(ticks, list(frame["pod"]) + [_lost_label(lost)], fontsize=FONT["small"],
                      rotation=0 if n <= 10 else 60, ha="center" if n <= 10 else "right")
    else:
        ax.set_xticks([lost_x], [_lost_label(lost)], fontsize=FONT["small"])
        ax.set_xlabel(f"{n} pods, in cluster order", fontsize=FONT["small"])
    ax.yaxis.set_major_formatter(_percent_formatter())
    ax.tick_params(axis="y", labelsize=FONT["small"])
    ax.set_ylabel("share of new connections", fontsize=FONT["small"])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#E0E0E0", lw=0.8, zorder=0)
    service = frame.attrs.get("service", "")
    what = "sampled" if "connections" in frame.attrs else "exact"
    title = f"{service}: share of new connections per pod ({what})"
    if "connections" in frame.attrs:
        title += f", {frame.attrs['connections']:,} connections"
    ax.set_title(title, fontsize=FONT["title"], fontweight="bold", loc="left")

    if len(node_order) <= 8:
        from matplotlib.patches import Patch

        handles = [Patch(fc=colour_of[nd], ec="#333333", label=nd) for nd in node_order]
        handles += [Patch(fc=COLOURS["lost"], ec=COLOURS["lost"], label="lost (no pod)")]
        ax.legend(handles=handles, fontsize=FONT["small"], ncol=min(len(handles), 5), loc="upper left",
                  frameon=False, bbox_to_anchor=(0.0, -0.09 if n <= 10 else -0.3), borderaxespad=0.0,
                  handlelength=1.2, columnspacing=1.2)
    if metrics is not None:
        _panel(ax, metrics)
    _set_alt(fig, traffic_summary(frame), bars=n, lost=lost_total)
    return fig


def _lost_label(lost: dict[str, float]) -> str:
    kinds = [label for key, label, _, _ in _LOST if lost[key] > 1e-12]
    return "lost" if not kinds else "lost\n(" + ", ".join(kinds) + ")"


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=None)


def _panel(ax: Any, metrics: Any) -> None:
    row = metrics.iloc[0]
    lines = [("client IP preserved", _pct(row["client_ip_kept"])),
             ("extra node hop", _pct(row["extra_hop"])),
             ("dropped", _pct(row["dropped"]))]
    if row["refused"] > 1e-12:
        lines.append(("refused", _pct(row["refused"])))
    if row["failed"] > 1e-12:
        lines.append(("reply discarded", _pct(row["failed"])))
    imb = row["imbalance"]
    lines.append(("imbalance max/min", "n/a" if math.isnan(imb) else "∞" if math.isinf(imb) else f"{imb:.2f}"))
    width = max(len(k) for k, _ in lines) + 1 + max(len(v) for _, v in lines)
    body = "\n".join(f"{k}{v.rjust(width - len(k))}" for k, v in lines)
    t = ax.text(1.04, 1.0, "metrics (all connections)\n" + body, transform=ax.transAxes, va="top", ha="left",
                fontsize=FONT["small"], family="monospace", linespacing=1.5, color=COLOURS["text"],
                bbox=dict(boxstyle="round,pad=0.5", fc="#F7F7F7", ec="#999999"))
    t.set_gid("k8slearn-metrics")
