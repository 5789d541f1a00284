"""``k8slearn bench``: is the explorer fast enough to feel instant?

For a workshop-sized cluster, 100 nodes / 1,000 pods and 1,000 nodes / 10,000 pods it measures

- the time from a control change in the explorer to all its outputs redrawn (median and 95th
  percentile; headless, matplotlib's Agg backend; the callbacks run synchronously, so the time of
  setting a control's value or clicking a button is the whole update);
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

__all__ = ["GOALS", "QUICK_SCALES", "SCALES", "format_table", "main", "run"]

#: (nodes, pods, number of timed control changes)
SCALES = [(3, 6, 60), (10, 30, 60), (100, 1000, 20), (1000, 10000, 6)]
QUICK_SCALES = [(3, 6, 8), (10, 30, 4)]

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


def _changes(explorer: Any) -> list[Callable[[], None]]:
    """One learner's session in a loop: each call is one control change."""
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

    def prepare_move() -> None:  # choosing the pod is a control change of its own, not timed
        k["k8sl-move-pod"].value = pod

    def prepare_state() -> None:
        k["k8sl-pod-choice"].value = pod

    return [
        set_value("k8sl-etp", "Local"), set_value("k8sl-etp", "Cluster"),
        set_value("k8sl-lb", "equal"), set_value("k8sl-lb", "health-checked"),
        set_value("k8sl-dataplane", "ipvs"), set_value("k8sl-dataplane", "iptables"),
        (prepare_move, move(away)), (prepare_move, move(home)),
        (prepare_state, set_value("k8sl-pod-state", "NotReady")),
        (prepare_state, set_value("k8sl-pod-state", "Running")),
        lambda: k["k8sl-send-one"].click(),
    ]


def time_updates(nodes: int, pods: int, changes: int) -> dict[str, Any]:
    """Open the explorer on ``examples.large(nodes, pods)`` and time ``changes`` control changes.

    Twice: cold (the explorer's picture cache emptied before each change, so both pictures are
    drawn and encoded afresh: the figure a learner sees on a state they have not seen before) and
    as a session runs (the cache on: flipping back to a state already seen reuses its pictures).
    """
    from .examples import large
    from .widgets import explore

    cluster = large(nodes, pods)
    start = time.perf_counter()
    explorer = explore(cluster, seed=0)
    open_ms = (time.perf_counter() - start) * 1000
    steps = _changes(explorer)
    cold: list[float] = []
    warm: list[float] = []
    failures: list[str] = []
    for times, clear in ((cold, True), (warm, False)):
        for i in range(changes):
            step = steps[i % len(steps)]
            if isinstance(step, tuple):
                prepare, step = step
                prepare()
            if clear:
                explorer._pictures.clear()
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1000)
            if explorer.last_error is not None:  # shown in the explorer; counted here, not hidden
                failures.append(f"{type(explorer.last_error).__name__}: {explorer.last_error}".splitlines()[0])
    return {"open_ms": open_ms, "update_ms_p50": statistics.median(cold), "update_ms_p95": _percentile(cold, 95),
            "update_ms_max": max(cold), "update_ms_p50_cached": statistics.median(warm),
            "update_ms_p95_cached": _percentile(warm, 95), "changes": changes, "failures": failures}


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
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
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
                    "update_ms_max": round(r["update_ms_max"], 2),
                    "update_ms_p50_cached": round(r["update_ms_p50_cached"], 2),
                    "update_ms_p95_cached": round(r["update_ms_p95_cached"], 2), "open_ms": round(r["open_ms"], 1),
                    "changes": r["changes"], "failures": r["failures"]} for r in scales],
        "sampler_connections_per_s": round(sampler),
        "import_s": round(imported, 4),
        "quick": quick,
        "python": sys.version.split()[0],
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


def _mark(ok: bool | None) -> str:
    return {True: "ok", False: "MISSED", None: "-"}[ok]


def format_table(report: dict[str, Any]) -> str:
    """The report as a readable table, each figure next to its goal."""
    met = report["goals_met"]
    lines = [f"k8slearn bench (Python {report['python']}, matplotlib Agg{', quick' if report['quick'] else ''})",
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
        "update = a control change in the explorer until every output is redrawn (PNG via Agg),",
        "  with no picture cached; once a state has been seen, flipping back to it takes "
        + ", ".join(f"{r['update_ms_p50_cached']:.0f}" for r in report["scales"]) + " ms (median, per scale);",
        "exact shares = k8slearn.traffic on a changed cluster (nothing cached).",
    ]
    for r in report["scales"]:
        if r.get("failures"):
            lines.append(f"WARNING: {len(r['failures'])} of the changes at {r['nodes']:,} nodes showed an error "
                         f"in the explorer, first: {r['failures'][0]}")
    return "\n".join(lines)


def main(*, as_json: bool = False, quick: bool = False) -> int:
    """Run the benchmark and print the table (or one JSON object). Exit code 0."""
    if as_json:
        print(json.dumps(run(quick=quick)))
    else:
        report = run(quick=quick, progress=lambda text: print(text, file=sys.stderr, flush=True))
        print(format_table(report))
    return 0
