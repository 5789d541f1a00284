"""The drawing kit every k8slearn picture is made with: SVG built as text, themed by CSS.

A picture is an SVG document the browser draws, so a redraw costs the time to build a string
(a millisecond or two) and stays crisp at any zoom. Colours come from CSS classes whose values are
JupyterLab's theme variables with light fallbacks: inline in the explorer the picture follows the
light or dark theme; as a standalone image (``image/svg+xml`` in a notebook, on GitHub, in nbconvert
HTML or slides) it is a light card with its own background, readable on any page.

:class:`Picture` is what :func:`k8slearn.draw` returns: it shows itself in a notebook (SVG, a PNG
copy for viewers that do not show SVG from untrusted notebooks, and its alt text as plain text),
and ``picture.save("x.svg")`` or ``save("x.png")`` writes it to a file.
"""

from __future__ import annotations

import base64
import html
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Svg", "Picture", "esc", "text_width", "wrap", "PALETTE", "NODE_COLOURS", "NodeColours", "THEME_CSS",
           "FONT", "MONO", "png_bytes"]

#: Okabe and Ito's colour-blind-safe colours, by meaning. Node colours never reuse the path colours.
PALETTE = {
    "request": "#0072B2",   # blue: the request, with the client's own source address
    "snat": "#D55E00",      # vermillion: a packet whose source was replaced (SNAT), and drops
    "reply": "#CC79A7",     # reddish purple: the reply
    "ok": "#009E73",        # bluish green: delivered, health 200
    "lb": "#56B4E9",        # sky blue: the load balancer
    "muted": "#767676",
}
NODE_COLOURS = ("#56B4E9", "#E69F00", "#009E73", "#F0E442", "#999999", "#DDCC77", "#44AA99", "#88CCEE")

#: Font families: the first installed one is used; sizes are in SVG units (px at 100 %).
FONT = "'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif"
MONO = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace"

#: Theme: JupyterLab's variables where the SVG is inline, light fallbacks everywhere else.
THEME_CSS = f"""
.k8s-svg {{ font-family: {FONT}; }}
.k8s-svg .t {{ fill: var(--jp-ui-font-color0, #1a1a1a); }}
.k8s-svg .m {{ fill: var(--jp-ui-font-color2, #555555); }}
.k8s-svg .mono {{ font-family: {MONO}; }}
.k8s-svg .b {{ font-weight: bold; }}
.k8s-svg .bg {{ fill: var(--jp-layout-color0, #ffffff); stroke: var(--jp-border-color2, #d0d0d0); }}
.k8s-svg .card {{ fill: var(--jp-layout-color1, #ffffff); stroke: var(--jp-border-color1, #8a8a8a); }}
.k8s-svg .node {{ fill: var(--jp-layout-color2, #f2f2f2); }}
.k8s-svg .edge {{ stroke: var(--jp-border-color1, #9a9a9a); fill: none; }}
.k8s-svg .grid {{ stroke: var(--jp-border-color2, #e0e0e0); }}
.k8s-svg .axis {{ stroke: var(--jp-ui-font-color2, #555555); }}
.k8s-svg .lbl {{ fill: var(--jp-layout-color0, #ffffff); }}
"""


def esc(text: Any) -> str:
    """Text made safe for SVG/HTML."""
    return html.escape(str(text), quote=True)


# The advance of each printable ASCII character (32-126) in DejaVu Sans and DejaVu Sans Bold, in
# thousandths of an em (from the fonts' own metrics, rounded up). DejaVu comes first in FONT and is
# among the widest, so text measured with it fits in any of the fonts after it.
_ADVANCE = (
    "318,401,460,838,637,951,780,275,391,391,500,838,318,361,318,337,637,637,637,637,637,637,637,637,637,637,"
    "337,337,838,838,838,531,1000,685,687,699,771,632,576,775,752,295,295,656,558,863,749,788,604,788,695,635,"
    "611,732,685,989,686,611,686,391,337,391,838,500,500,613,635,550,635,616,353,635,634,278,278,580,278,975,"
    "634,612,635,635,412,521,393,634,592,818,592,592,525,637,337,637,838")
_ADVANCE_BOLD = (
    "349,457,521,838,696,1002,873,307,458,458,523,838,380,416,380,366,696,696,696,696,696,696,696,696,696,696,"
    "400,400,838,838,838,581,1000,774,763,734,831,684,684,821,837,373,373,775,638,996,837,851,733,851,771,721,"
    "683,813,774,1104,771,725,726,458,366,458,838,500,500,675,716,593,716,679,436,716,712,343,343,666,343,1042,"
    "712,688,716,716,494,596,479,712,652,924,646,652,583,712,366,712,838")
_EM = {False: [int(v) / 1000 for v in _ADVANCE.split(",")], True: [int(v) / 1000 for v in _ADVANCE_BOLD.split(",")]}


def text_width(text: str, size: float, *, mono: bool = False, bold: bool = False) -> float:
    """The width ``text`` takes at font ``size``: DejaVu's own advances (1 em for a character outside
    ASCII, such as ✗ → ·, which DejaVu draws narrower), so the estimate never falls short."""
    if mono:
        return len(text) * size * 0.61
    table = _EM[bool(bold)]
    return size * sum(table[ord(c) - 32] if 32 <= ord(c) <= 126 else 1.0 for c in text)


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """``text`` in lines no wider than ``width``, broken at " · ", "; ", after ": ", before " (" or at a
    space, in that order of preference (never leaving a first line under 40 % of the width)."""
    lines: list[str] = []
    rest = text
    while rest and text_width(rest, size, bold=bold) > width:
        cut = None
        for sep in (" · ", "; ", ": ", " (", " "):
            i = len(rest)
            while True:
                i = rest.rfind(sep, 0, i)
                if i <= 0:
                    break
                keep = 1 if sep in (": ", "; ") else 0  # a colon ends its line; a " · " or a space goes
                head = text_width(rest[: i + keep], size, bold=bold)
                if head <= width:
                    if sep != " " and head < 0.4 * width:
                        break  # a short first line ("step 9 of 11:") reads worse than a later break
                    cut = (i + keep, i + (1 if sep == " (" else len(sep)))  # "(" starts the next line
                    break
            if cut:
                break
        if cut is None:
            break
        lines.append(rest[: cut[0]])
        rest = rest[cut[1]:]
    return lines + [rest]


@dataclass
class Svg:
    """An SVG document under construction: elements are appended as text, in drawing order."""

    width: float
    height: float
    parts: list[str] = field(default_factory=list)

    def add(self, element: str) -> None:
        self.parts.append(element)

    def rect(self, x: float, y: float, w: float, h: float, *, cls: str = "", fill: str | None = None,
             stroke: str | None = None, sw: float | None = None, rx: float = 0, dash: str | None = None,
             opacity: float | None = None, extra: str = "") -> None:
        attrs = _attrs(cls=cls, fill=fill, stroke=stroke, sw=sw, dash=dash, opacity=opacity)
        corner = f' rx="{rx:g}"' if rx else ""
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}"'
                          f'{corner}{attrs}{extra}/>')

    def line(self, x1: float, y1: float, x2: float, y2: float, *, cls: str = "", stroke: str | None = None,
             sw: float | None = None, dash: str | None = None, extra: str = "") -> None:
        attrs = _attrs(cls=cls, stroke=stroke, sw=sw, dash=dash)
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{attrs}{extra}/>')

    def path(self, d: str, *, cls: str = "", stroke: str | None = None, sw: float | None = None,
             fill: str = "none", dash: str | None = None, extra: str = "") -> None:
        attrs = _attrs(cls=cls, fill=fill, stroke=stroke, sw=sw, dash=dash)
        self.parts.append(f'<path d="{d}"{attrs}{extra}/>')

    def text(self, x: float, y: float, text: Any, *, size: float, cls: str = "t", anchor: str = "start",
             fill: str | None = None, bold: bool = False, mono: bool = False, extra: str = "") -> None:
        classes = " ".join(c for c in (cls, "b" if bold else "", "mono" if mono else "") if c)
        colour = f' fill="{fill}"' if fill else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" '
                          f'class="{classes}"{colour}{extra}>{esc(text)}</text>')

    def rich(self, x: float, y: float, runs: list[tuple[str, dict[str, Any]]], *, size: float,
             anchor: str = "start", mono: bool = False, cls: str = "t") -> None:
        """One line of text made of runs, each with its own style (``fill``, ``bold``)."""
        spans = []
        for text, style in runs:
            attrs = ""
            if style.get("fill"):
                attrs += f' fill="{style["fill"]}"'
            if style.get("bold"):
                attrs += ' font-weight="bold"'
            if style.get("underline"):
                attrs += ' text-decoration="underline"'
            spans.append(f"<tspan{attrs}>{esc(text)}</tspan>")
        classes = cls + (" mono" if mono else "")
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" '
                          f'class="{classes}" xml:space="preserve">{"".join(spans)}</text>')

    def render(self, *, title: str, desc: str = "", css: str = "", cls: str = "", width: str | None = None,
               background: bool = True) -> str:
        """The finished document. ``width`` sets the displayed width (default: the natural width)."""
        shown = width or f"{self.width:.0f}"
        title_id = f"t{zlib.crc32(f'{title}|{len(self.parts)}'.encode()):08x}"  # the same in every run: stable notebooks
        bg = (f'<rect x="0.5" y="0.5" width="{self.width - 1:.1f}" height="{self.height - 1:.1f}" rx="6" '
              'class="bg"/>') if background else ""
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width:.0f} {self.height:.0f}" '
                f'width="{shown}" class="k8s-svg {cls}" role="img" aria-labelledby="{title_id}" '
                f'style="max-width:100%;height:auto">'
                f'<title id="{title_id}">{esc(title)}</title>'
                + (f"<desc>{esc(desc)}</desc>" if desc else "")
                + f"<style>{THEME_CSS}{css}</style>{bg}{''.join(self.parts)}</svg>")


def _attrs(*, cls: str = "", fill: str | None = None, stroke: str | None = None, sw: float | None = None,
           dash: str | None = None, opacity: float | None = None) -> str:
    out = ""
    if cls:
        out += f' class="{cls}"'
    if fill is not None:
        out += f' fill="{fill}"'
    if stroke is not None:
        out += f' stroke="{stroke}"'
    if sw is not None:
        out += f' stroke-width="{sw:g}"'
    if dash:
        out += f' stroke-dasharray="{dash}"'
    if opacity is not None:
        out += f' fill-opacity="{opacity:g}"'
    return out


class NodeColours:
    """One colour per node for as long as this object lives: a node keeps its colour whatever
    moves, and a new node takes the next free colour.

    >>> c = NodeColours(["node-a", "node-b"])
    >>> c["node-b"], c["node-z"] == NODE_COLOURS[2]
    ('#E69F00', True)
    """

    def __init__(self, names: Any = ()) -> None:
        self._of: dict[str, str] = {}
        for name in names:
            self[name]

    def __getitem__(self, name: str) -> str:
        if name not in self._of:
            self._of[name] = NODE_COLOURS[len(self._of) % len(NODE_COLOURS)]
        return self._of[name]

    def __repr__(self) -> str:
        return f"NodeColours({self._of!r})"


def png_bytes(svg: str, *, zoom: float = 1.5) -> bytes | None:
    """The SVG rasterised to PNG (with resvg), or None when resvg is not installed."""
    try:
        import resvg_py
    except ImportError:  # pragma: no cover - resvg-py is a dependency; an old environment may lack it
        return None
    # Standalone, the CSS variables fall back to the light theme; resvg needs plain colours.
    flat = re.sub(r"var\(--[a-z0-9-]+, (#[0-9a-fA-F]{3,6})\)", r"\1", svg)
    return bytes(resvg_py.svg_to_bytes(svg_string=flat, zoom=zoom))


class Picture:
    """A finished picture: ``svg`` (the document), ``alt`` (one line saying what it shows).

    In a notebook it shows as SVG (crisp at any zoom), with a PNG copy for viewers that do not show
    SVG from notebooks they have not run (JupyterLab shows stored SVG only in trusted notebooks), and
    its alt text as the plain-text view. ``save(path)`` writes ``.svg``, ``.png`` or ``.html``.
    """

    __slots__ = ("svg", "alt", "kind", "_png")

    def __init__(self, svg: str, alt: str, kind: str) -> None:
        self.svg, self.alt, self.kind = svg, alt, kind
        self._png: bytes | None = None

    def __repr__(self) -> str:
        return f"<Picture ({self.kind}): {self.alt}>"

    def __str__(self) -> str:
        return self.alt

    def png(self) -> bytes | None:
        if self._png is None:
            self._png = png_bytes(self.svg)
        return self._png

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle: dict[str, Any] = {"image/svg+xml": self.svg, "text/plain": self.alt}
        metadata: dict[str, Any] = {}
        png = self.png()
        if png is not None:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
            # drawn at 1.5x for sharp text; shown at the SVG's own size
            width = re.search(r'viewBox="0 0 ([0-9.]+) ', self.svg)
            if width:
                metadata["image/png"] = {"width": round(float(width.group(1)))}
        return bundle, metadata

    def html(self) -> str:
        """The picture inline, for an HTML page or widget (follows JupyterLab's theme)."""
        return f'<figure class="k8s-figure" style="margin:0">{self.svg}</figure>'

    def save(self, path: str | Path) -> Path:
        """Write the picture to ``path``: ``.svg``, ``.png`` or ``.html`` (by the suffix)."""
        from ..errors import InvalidChange

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".svg":
            path.write_text(self.svg, encoding="utf-8")
        elif suffix == ".png":
            png = self.png()
            if png is None:
                raise InvalidChange("saving a PNG needs the resvg-py package",
                                    hint="pip install resvg-py, or save as .svg.")
            path.write_bytes(png)
        elif suffix == ".html":
            path.write_text(f"<!doctype html><meta charset='utf-8'><title>{esc(self.alt)}</title>"
                            f"<body style='margin:16px'>{self.html()}</body>", encoding="utf-8")
        else:
            raise InvalidChange(f"cannot save a picture as {suffix or 'a file without a suffix'}",
                                hint="use a path ending in .svg, .png or .html.")
        return path
