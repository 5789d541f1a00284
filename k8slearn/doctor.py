"""``k8slearn doctor``: is this installation ready for the course?

Prints the versions of the package and of what the notebooks need, runs a tiny self-check (the
simulator answers a question whose answer is known, a figure renders, the widgets' JupyterLab
extension is installed) and exits non-zero with advice when something is wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "run_checks", "main"]

#: (import name, distribution name, minimum major.minor, why the course needs it)
REQUIRED = (
    ("jupyterlab", "jupyterlab", (4, 0), "the course runs in JupyterLab 4"),
    ("ipywidgets", "ipywidgets", (8, 0), "the explorer and the small widgets"),
    ("jupyterlab_widgets", "jupyterlab_widgets", (3, 0), "shows widgets in JupyterLab (no extra build step)"),
    ("pandas", "pandas", (2, 0), "the traffic tables"),
    ("numpy", "numpy", (1, 24), "the sampler"),
    ("resvg_py", "resvg-py", (0, 5), "PNG copies of the pictures (shown in notebooks not yet run)"),
)
ADVICE = ("Reinstall into the course's environment: python3 course.py lab (or, in your own environment, "
          "pip install -e . from the repository).")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    advice: str = ""


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _at_least(text: str, minimum: tuple[int, int]) -> bool:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts) >= minimum


def _package_checks() -> list[Check]:
    checks = [Check("python", sys.version_info >= (3, 10), sys.version.split()[0],
                    "k8slearn needs Python 3.10 or newer.")]
    for module, dist, minimum, why in REQUIRED:
        found = _version(dist)
        if found is None:
            checks.append(Check(dist, False, "not installed", f"{dist} is needed for {why}. {ADVICE}"))
        elif not _at_least(found, minimum):
            checks.append(Check(dist, False, found, f"{dist} {minimum[0]}.{minimum[1]} or newer is needed for {why}. {ADVICE}"))
        else:
            checks.append(Check(dist, True, found))
    return checks


def _self_check_simulator() -> Check:
    from .examples import one_two, uneven
    from .trace import send
    from .traffic import traffic

    shares = traffic(one_two(), "web")["share"].round(4).tolist()
    trace = send(uneven(), "web", via="node-c", endpoint="web-3", seed=1)
    ok = shares == [0.5, 0.25, 0.25] and str(trace.source_seen_by_pod) == "192.168.0.13"
    return Check("simulator", ok, "Local shares 50/25/25 and the SNAT'd source are right" if ok
                 else f"unexpected answers: shares {shares}, source {trace.source_seen_by_pod}",
                 "" if ok else "The installed k8slearn gives wrong answers: reinstall it from a clean clone.")


def _self_check_figure() -> Check:
    import xml.etree.ElementTree as ET

    from .examples import uneven
    from .trace import send
    from .viz import draw

    picture = draw(send(uneven(), "web", via="node-c", endpoint="web-1", seed=1))
    ET.fromstring(picture.svg)  # well-formed SVG, or this raises and the check reports it
    png = picture.png() or b""
    ok = png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    return Check("pictures", ok, f"a trace diagram renders (SVG {len(picture.svg) // 1024} KiB, PNG {len(png) // 1024} KiB)",
                 "" if ok else "resvg-py could not make the PNG copy of a picture: check its installation.")


def _self_check_widgets() -> Check:
    from jupyter_core.paths import jupyter_path

    found = [p for p in jupyter_path("labextensions") if (Path(p) / "@jupyter-widgets" / "jupyterlab-manager").exists()]
    ok = bool(found)
    return Check("widgets extension", ok,
                 "@jupyter-widgets/jupyterlab-manager is installed" if ok else "the JupyterLab widgets extension is missing",
                 "" if ok else "Widgets would show as text like 'VBox(children=...)'. Install jupyterlab_widgets "
                 "into the same environment as JupyterLab (pip install 'ipywidgets>=8'), then restart JupyterLab.")


def run_checks() -> list[Check]:
    """Every check, in order; a check that crashes is reported as failed with its error."""
    checks = _package_checks()
    for name in ("simulator", "figure", "widgets"):
        step: Callable[[], Check] = globals()[f"_self_check_{name}"]
        try:
            checks.append(step())
        except Exception as exc:  # report, never crash: this is the tool people run when things break
            checks.append(Check(name, False, f"{type(exc).__name__}: {exc}", ADVICE))
    return checks


def main() -> int:
    """Print the report; 0 when everything is ready, 1 otherwise."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mine = version("k8slearn")
    except PackageNotFoundError:
        mine = "not installed (running from a source tree)"
    print(f"k8slearn {mine} at {Path(__file__).parent}")
    checks = run_checks()
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"  {'ok ' if c.ok else 'BAD'}  {c.name:<{width}}  {c.detail}")
    bad = [c for c in checks if not c.ok]
    if bad:
        print("\nTo fix:")
        for c in bad:
            print(f"  - {c.name}: {c.advice}")
        return 1
    print("\nAll good: open the course with  python3 course.py lab")
    return 0
