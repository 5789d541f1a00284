"""One small palette and the text sizes every k8slearn picture uses.

Colours are Okabe and Ito's colour-blind-safe set. Figures have a white face with a visible frame,
so they read the same on JupyterLab's light and dark themes; no text is smaller than 9 pt.
"""

from __future__ import annotations

__all__ = ["OKABE_ITO", "COLOURS", "NODE_COLOURS", "FONT", "node_colour", "tint"]

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: What each colour means, everywhere.
COLOURS = {
    "text": "#1A1A1A",
    "muted": "#5C5C5C",
    "frame": "#4D4D4D",
    "face": "#FFFFFF",
    "node": "#F3F3F3",
    "node edge": "#4D4D4D",
    "ready": OKABE_ITO["bluish green"],
    "not ready": "#8C8C8C",
    "terminating": OKABE_ITO["orange"],
    "other pod": "#8C8C8C",
    "proxy": OKABE_ITO["sky blue"],
    "request": OKABE_ITO["blue"],
    "reply": OKABE_ITO["reddish purple"],
    "extra hop": OKABE_ITO["orange"],
    "dnat": OKABE_ITO["blue"],
    "snat": OKABE_ITO["vermillion"],
    "drop": OKABE_ITO["vermillion"],
    "lost": OKABE_ITO["vermillion"],
    "fair": OKABE_ITO["black"],
    "lb": "#E8F3FA",
}

#: Node colours for charts, in order (yellow last: it is the least readable on white).
NODE_COLOURS = [OKABE_ITO[k] for k in ("sky blue", "orange", "bluish green", "reddish purple", "blue",
                                         "vermillion", "yellow")]

#: Text sizes in points; nothing is drawn smaller than FONT["small"].
FONT = {"small": 9.0, "normal": 9.5, "name": 10.0, "title": 11.0}


def node_colour(index: int) -> str:
    """The chart colour of the index-th node (cycles after seven)."""
    return NODE_COLOURS[index % len(NODE_COLOURS)]


def tint(colour: str, amount: float = 0.75) -> str:
    """``colour`` mixed with white (``amount`` 0 = unchanged, 1 = white), as a hex string."""
    colour = colour.lstrip("#")
    rgb = [int(colour[i:i + 2], 16) for i in (0, 2, 4)]
    mixed = [round(c + (255 - c) * amount) for c in rgb]
    return "#" + "".join(f"{c:02X}" for c in mixed)
