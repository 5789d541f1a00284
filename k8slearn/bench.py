"""``k8slearn bench``: is the explorer fast enough to feel instant?

For a workshop-sized cluster, 100 nodes / 1,000 pods and 1,000 nodes / 10,000 pods it measures

- the kernel's side of a click: the time from a control change in the explorer until every output
  holds its new HTML/SVG (median, 95th percentile and maximum, overall and per kind of interaction;
  headless: the callbacks run synchronously, so setting a control's value or clicking a button
  times the whole update). What the learner waits for in a browser adds the round trip and the
  browser's drawing: ``k8slearn bench --browser`` measures that;
- the time to compute the exact per-pod shares (:func:`k8slearn.traffic` on a fresh cluster
  version, so nothing is cached);

and, once: the seeded sampler's connections per second (:func:`k8slearn.sample` with one million
connections) and the time ``import k8slearn`` takes in a fresh interpreter.

    k8slearn bench            # a readable table, with the goals
    k8slearn bench --json     # one JSON object, to track the figures over time
    k8slearn bench --quick    # small clusters and few repeats (seconds, for tests)

The changes cycle through what a learner does: flip externalTrafficPolicy, change the load-balancer
model and the dataplane, move a pod, mark a pod not ready and back, send one more packet.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["GOALS", "QUICK_SCALES", "SCALES", "BROWSER_SCALES", "format_table", "format_browser", "main", "run",
           "run_browser"]

#: (nodes, pods, number of timed control changes)
SCALES = [(3, 6, 96), (10, 30, 96), (100, 1000, 48), (1000, 10000, 16)]
QUICK_SCALES = [(3, 6, 16), (10, 30, 16)]

#: The goals from the issue, in milliseconds / connections per second / seconds.
GOALS = {
    "workshop_update_ms_p95": 100.0,   # 3-10 nodes, up to 30 pods (aim for 50)
    "update_ms_p95_100_nodes": 250.0,
    "exact_shares_ms_1000_nodes": 50.0,
    "sampler_connections_per_s": 1_000_000.0,
    "import_s": 0.5,
}


def _percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, like numpy's default."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _changes(explorer: Any) -> list[tuple[str, Callable[[], None] | tuple[Callable[[], None], Callable[[], None]]]]:
    """One learner's session in a loop: each entry is (kind of interaction, one control change).

    A change may come with an untimed preparation (choosing the pod before moving it is a control
    change of its own)."""
    k = explorer.controls
    cluster = explorer.cluster
    pod = cluster.selected_pods(explorer.service)[0].name
    home = cluster.pod(pod).node
    away = next(n.name for n in cluster.nodes if n.name != home)

    def set_value(name: str, value: Any) -> Callable[[], None]:
        return lambda: setattr(k[name], "value", value)

    def move(to: str) -> Callable[[], None]:
        def change() -> None:
            k["k8sl-move-node"].value = to
            k["k8sl-move"].click()
        return change

    def prepare_move() -> None:
        k["k8sl-move-pod"].value = pod

    def prepare_state() -> None:
        k["k8sl-pod-choice"].value = pod

    return [
        ("policy", set_value("k8sl-etp", "Local")), ("policy", set_value("k8sl-etp", "Cluster")),
        ("load balancer", set_value("k8sl-lb", "aws-elb")), ("load balancer", set_value("k8sl-lb", "health-checked")),
        ("dataplane", set_value("k8sl-dataplane", "ipvs")), ("dataplane", set_value("k8sl-dataplane", "iptables")),
        ("move pod", (prepare_move, move(away))), ("move pod", (prepare_move, move(home))),
        ("pod state", (prepare_state, set_value("k8sl-pod-state", "NotReady"))),
        ("pod state", (prepare_state, set_value("k8sl-pod-state", "Running"))),
        ("new packet", lambda: k["k8sl-send-one"].click()),
        ("step", lambda: k["k8sl-back"].click()), ("step", lambda: k["k8sl-back"].click()),
        ("step", lambda: k["k8sl-step"].click()),
        ("compare", set_value("k8sl-compare", "policy")), ("compare", set_value("k8sl-compare", "off")),
    ]


def time_updates(nodes: int, pods: int, changes: int) -> dict[str, Any]:
    """Open the explorer on ``examples.large(nodes, pods)`` and time ``changes`` control changes,
    each from the change until every output holds its new value (the kernel's side of a click)."""
    from .examples import large
    from .widgets import explore

    cluster = large(nodes, pods)
    start = time.perf_counter()
    explorer = explore(cluster, seed=0)
    open_ms = (time.perf_counter() - start) * 1000
    steps = _changes(explorer)
    times: list[float] = []
    by_kind: dict[str, list[float]] = {}
    failures: list[str] = []
    for i in range(changes):
        kind, step = steps[i % len(steps)]
        if isinstance(step, tuple):
            prepare, step = step
            prepare()
        start = time.perf_counter()
        step()
        took = (time.perf_counter() - start) * 1000
        times.append(took)
        by_kind.setdefault(kind, []).append(took)
        if explorer.last_error is not None:  # shown in the explorer; counted here, not hidden
            failures.append(f"{type(explorer.last_error).__name__}: {explorer.last_error}".splitlines()[0])
    kinds = {kind: {"p50": round(statistics.median(v), 2), "p95": round(_percentile(v, 95), 2),
                    "max": round(max(v), 2), "n": len(v)} for kind, v in by_kind.items()}
    return {"open_ms": open_ms, "update_ms_p50": statistics.median(times), "update_ms_p95": _percentile(times, 95),
            "update_ms_max": max(times), "kinds": kinds, "changes": changes, "failures": failures}


def time_exact_shares(nodes: int, pods: int, repeats: int = 5) -> float:
    """Median milliseconds of :func:`k8slearn.traffic` right after a change (nothing cached)."""
    from .examples import large
    from .traffic import traffic

    cluster = large(nodes, pods)
    traffic(cluster, "web")  # first call pays for importing pandas
    times = []
    for _ in range(repeats):
        cluster.patch_service("web")  # an empty patch: a new version, so the cache is empty
        start = time.perf_counter()
        traffic(cluster, "web")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_sampler(n: int = 1_000_000, repeats: int = 3) -> float:
    """Connections per second of :func:`k8slearn.sample` on the uneven example (best of ``repeats``)."""
    from .examples import uneven
    from .traffic import sample

    cluster = uneven()
    sample(cluster, "web", 1000, seed=0)
    best = min(_timed(lambda i=i: sample(cluster, "web", n, seed=i)) for i in range(repeats))
    return n / best


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_import(repeats: int = 3) -> float:
    """Median seconds of ``import k8slearn`` in a fresh interpreter (start-up itself not counted)."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    code = "import time; t = time.perf_counter(); import k8slearn; print(time.perf_counter() - t)"
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def run(*, quick: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure everything; returns the JSON-ready report (see the module docs)."""
    say = progress or (lambda _: None)
    scales = []
    for nodes, pods, changes in QUICK_SCALES if quick else SCALES:
        say(f"{nodes} nodes / {pods} pods ...")
        row = {"nodes": nodes, "pods": pods}
        row.update(time_updates(nodes, pods, changes))
        row["exact_shares_ms"] = time_exact_shares(nodes, pods, repeats=3 if quick or nodes >= 1000 else 7)
        scales.append(row)
    say("sampler ...")
    sampler = time_sampler(100_000 if quick else 1_000_000, repeats=1 if quick else 3)
    say("import k8slearn ...")
    imported = time_import(1 if quick else 3)
    report = {
        "scales": [{"nodes": r["nodes"], "pods": r["pods"], "update_ms_p50": round(r["update_ms_p50"], 2),
                    "update_ms_p95": round(r["update_ms_p95"], 2), "exact_shares_ms": round(r["exact_shares_ms"], 3),
                    "update_ms_max": round(r["update_ms_max"], 2), "kinds": r["kinds"],
                    "open_ms": round(r["open_ms"], 1),
                    "changes": r["changes"], "failures": r["failures"]} for r in scales],
        "sampler_connections_per_s": round(sampler),
        "import_s": round(imported, 4),
        "quick": quick,
        "python": sys.version.split()[0],
        "machine": machine(),
        "goals": GOALS,
    }
    report["goals_met"] = goals_met(report)
    return report


def goals_met(report: dict[str, Any]) -> dict[str, bool | None]:
    """Which goals the report meets (None when the scale it needs was not measured)."""
    by_size = {r["nodes"]: r for r in report["scales"]}
    workshop = [r for r in report["scales"] if r["nodes"] <= 10 and r["pods"] <= 30]
    return {
        "workshop_update_ms_p95": all(r["update_ms_p95"] < GOALS["workshop_update_ms_p95"] for r in workshop)
        if workshop else None,
        "update_ms_p95_100_nodes": by_size[100]["update_ms_p95"] < GOALS["update_ms_p95_100_nodes"]
        if 100 in by_size else None,
        "exact_shares_ms_1000_nodes": by_size[1000]["exact_shares_ms"] < GOALS["exact_shares_ms_1000_nodes"]
        if 1000 in by_size else None,
        "sampler_connections_per_s": report["sampler_connections_per_s"] > GOALS["sampler_connections_per_s"],
        "import_s": report["import_s"] < GOALS["import_s"],
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPUs and the load average (machines differ 3-4x)."""
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):  # Windows
        load = "n/a"
    return {"cpus": os.cpu_count(), "load": load, "platform": sys.platform}


def _mark(ok: bool | None) -> str:
    return {True: "ok", False: "MISSED", None: "-"}[ok]


def format_table(report: dict[str, Any]) -> str:
    """The report as a readable table, each figure next to its goal."""
    met = report["goals_met"]
    m = report.get("machine", {})
    lines = [f"k8slearn bench (Python {report['python']}{', quick' if report['quick'] else ''}; "
             f"{m.get('cpus', '?')} CPUs, load average {m.get('load', '?')})",
             "",
             f"{'cluster':<22}{'update p50':>12}{'update p95':>12}{'exact shares':>14}   goal",
             ]
    for r in report["scales"]:
        name = f"{r['nodes']:,} nodes / {r['pods']:,} pods"
        if r["nodes"] <= 10 and r["pods"] <= 30:
            goal = f"p95 < 100 ms (aim 50)   {_mark(r['update_ms_p95'] < GOALS['workshop_update_ms_p95'])}"
        elif r["nodes"] == 100:
            goal = f"p95 < 250 ms   {_mark(met['update_ms_p95_100_nodes'])}"
        elif r["nodes"] == 1000:
            goal = f"exact shares < 50 ms   {_mark(met['exact_shares_ms_1000_nodes'])}"
        else:
            goal = ""
        lines.append(f"{name:<22}{r['update_ms_p50']:>9.1f} ms{r['update_ms_p95']:>9.1f} ms"
                     f"{r['exact_shares_ms']:>11.2f} ms   {goal}")
    lines += [
        "",
        (f"sampler          {report['sampler_connections_per_s'] / 1e6:8.1f} M connections/s   "
        f"goal > 1 M/s   {_mark(met['sampler_connections_per_s'])}"),
        (f"import k8slearn  {report['import_s']:8.3f} s                 "
        f"goal < 0.5 s   {_mark(met['import_s'])}"),
        "",
        "update = the kernel's side of a click: a control change in the explorer until every output",
        "  holds its new HTML/SVG (the browser's round trip and drawing come on top: k8slearn bench --browser);",
        "exact shares = k8slearn.traffic on a changed cluster (nothing cached).",
        "",
        "update p50 / p95 per kind of interaction (ms):",
    ]
    kinds = list(dict.fromkeys(k for r in report["scales"] for k in r.get("kinds", {})))
    lines.append(f"{'':<22}" + "".join(f"{k:>15}" for k in kinds))
    for r in report["scales"]:
        name = f"{r['nodes']:,} nodes / {r['pods']:,} pods"
        cells = [f"{r['kinds'][k]['p50']:.1f} / {r['kinds'][k]['p95']:.1f}" if k in r.get("kinds", {}) else "-"
                 for k in kinds]
        lines.append(f"{name:<22}" + "".join(f"{c:>15}" for c in cells))
    for r in report["scales"]:
        if r.get("failures"):
            lines.append(f"WARNING: {len(r['failures'])} of the changes at {r['nodes']:,} nodes showed an error "
                         f"in the explorer, first: {r['failures'][0]}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- in a real browser
#: (example expression, label, repeats per kind of interaction)
BROWSER_SCALES = [("examples.uneven()", "3 nodes / 3 pods", 12), ("examples.large(10, 30)", "10 nodes / 30 pods", 12),
                  ("examples.large(100, 1000)", "100 nodes / 1,000 pods", 8)]
QUICK_BROWSER_SCALES = [("examples.uneven()", "3 nodes / 3 pods", 3)]


def _js(text: str) -> str:
    return json.dumps(text)


def _button(selector: str, label: str) -> str:
    return (f"Array.from(document.querySelectorAll({_js(selector)}))"
            f".find(b => b.textContent.trim() === {_js(label)}).click();")


def _browser_interactions() -> list[tuple[str, str, str]]:
    """(kind, action, undo action): each pair runs in turn, so the explorer ends where it began."""
    from .browser import CLICK, SELECT

    def select(selector: str, label: str) -> str:
        return SELECT % (_js(selector), _js(label))

    return [
        ("policy", _button(".k8sl-etp button", "Local"), _button(".k8sl-etp button", "Cluster")),
        ("load balancer", select(".k8sl-lb select", "AWS Classic ELB"), select(".k8sl-lb select", "model: health-checked")),
        ("dataplane", select(".k8sl-dataplane select", "kube-proxy IPVS"),
         select(".k8sl-dataplane select", "kube-proxy iptables")),
        # undone by the Play widget's stop button (its third), which ends the packet's autoplay: not timed
        ("new packet", CLICK % _js(".k8sl-send-one"), "document.querySelectorAll('.k8sl-play button')[2].click();"),
        ("step", CLICK % _js(".k8sl-back"), CLICK % _js(".k8sl-step")),
        ("compare", select(".k8sl-compare select", "Cluster | Local"), select(".k8sl-compare select", "off")),
        ("projector", CLICK % _js(".k8sl-projector"), CLICK % _js(".k8sl-projector")),
    ]


def run_browser(*, quick: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The learner's wait in a real browser: JupyterLab in headless Chromium, click to last change.

    For each scale, a notebook opens the explorer; each kind of interaction is done ``repeats``
    times (and undone, also timed); a MutationObserver on the explorer's outputs (the scene, the
    metrics, the chart, the hop table, the status line) records the time from the click to their
    last change.
    """
    import tempfile

    from . import browser as b

    why = b.missing()
    if why:
        raise RuntimeError(f"k8slearn bench --browser cannot run here: {why}")
    say = progress or (lambda _: None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="k8slearn-bench-") as tmp:
        root = Path(tmp)
        scales = QUICK_BROWSER_SCALES if quick else BROWSER_SCALES
        for i, (expr, _, _) in enumerate(scales):
            nb = {"cells": [{"cell_type": "code", "id": "explorer", "metadata": {}, "execution_count": None,
                             "outputs": [], "source": f"import k8slearn as k8s\nfrom k8slearn import examples\n"
                                                      f"ex = k8s.explore({expr})\nex"}],
                  "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                  "nbformat": 4, "nbformat_minor": 5}
            (root / f"scale{i}.ipynb").write_text(json.dumps(nb))
        say("starting JupyterLab and Chromium ...")
        with b.lab_server(root) as base, b.chromium() as chromium:
            for i, (expr, label, repeats) in enumerate(scales):
                say(f"{label} ...")
                page = b.new_page(chromium, width=1280, height=720)
                b.open_notebook(page, base, f"scale{i}.ipynb")
                state = b.run_all(page, clear=False)
                if state.get("state") != "done":
                    raise RuntimeError(f"the explorer notebook failed in the browser: {state}")
                page.wait_for_selector(".k8sl-explorer .k8sl-scene svg", state="visible")
                page.wait_for_timeout(500)
                times: dict[str, list[float]] = {}
                for kind, do, undo in _browser_interactions():
                    for _ in range(repeats):
                        for action in (do, undo):
                            ms = b.measure(page, ".k8sl-view", action)
                            if ms >= 0 and not (kind == "new packet" and action is undo):
                                times.setdefault(kind, []).append(ms)
                            page.wait_for_timeout(50)
                every = [t for v in times.values() for t in v]
                rows.append({"scale": label, "example": expr, "errors": list(page.errors),
                             "p50": round(statistics.median(every), 1), "p95": round(_percentile(every, 95), 1),
                             "max": round(max(every), 1), "n": len(every),
                             "kinds": {k: {"p50": round(statistics.median(v), 1), "p95": round(_percentile(v, 95), 1),
                                           "max": round(max(v), 1), "n": len(v)} for k, v in times.items()}})
                page.context.close()
    return {"browser": rows, "machine": machine(), "quick": quick, "python": sys.version.split()[0],
            "goals": {"workshop_p95_ms": 100.0, "aim_ms": 50.0, "p95_100_nodes_ms": 250.0}}


def format_browser(report: dict[str, Any]) -> str:
    """The browser report as a table: click to last change, per kind of interaction."""
    m = report["machine"]
    kinds = list(dict.fromkeys(k for r in report["browser"] for k in r["kinds"]))
    lines = [f"k8slearn bench --browser: JupyterLab in headless Chromium, 1280x720 "
             f"({m['cpus']} CPUs, load average {m['load']})", "",
             "click to the last change in the explorer's outputs, ms: p50 / p95 / max", "",
             f"{'cluster':<24}{'all':>20}" + "".join(f"{k:>20}" for k in kinds)]
    for r in report["browser"]:
        cells = [f"{r['p50']:.0f} / {r['p95']:.0f} / {r['max']:.0f}"]
        cells += [f"{r['kinds'][k]['p50']:.0f} / {r['kinds'][k]['p95']:.0f} / {r['kinds'][k]['max']:.0f}"
                  if k in r["kinds"] else "-" for k in kinds]
        lines.append(f"{r['scale']:<24}" + "".join(f"{c:>20}" for c in cells))
    lines += ["", "goals: p95 < 100 ms at workshop scale (aim 50), p95 < 250 ms at 100 nodes / 1,000 pods"]
    for r in report["browser"]:
        if r["errors"]:
            lines.append(f"WARNING: JavaScript errors at {r['scale']}: {r['errors'][:2]}")
    return "\n".join(lines)


def main(*, as_json: bool = False, quick: bool = False, browser: bool = False) -> int:
    """Run the benchmark and print the table (or one JSON object). Exit code 0 (2 when the browser
    benchmark cannot run here)."""
    say = (lambda text: print(text, file=sys.stderr, flush=True))
    if browser:
        try:
            report = run_browser(quick=quick, progress=None if as_json else say)
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return 2
        print(json.dumps(report) if as_json else format_browser(report))
        return 0
    if as_json:
        print(json.dumps(run(quick=quick)))
    else:
        print(format_table(run(quick=quick, progress=say)))
    return 0
