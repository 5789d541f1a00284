"""k8slearn bench: the report's shape (never its timings: those depend on the machine)."""

from __future__ import annotations

import json

import pytest

from k8slearn import bench
from k8slearn.cli import main


@pytest.fixture(scope="module")
def quick_json():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["bench", "--quick", "--json"])
    return code, out.getvalue()


def test_quick_json_is_one_object_with_the_required_keys(quick_json):
    code, text = quick_json
    assert code == 0
    report = json.loads(text)  # exactly one JSON document, nothing else on stdout
    assert {"scales", "sampler_connections_per_s", "import_s"} <= report.keys()
    assert [(r["nodes"], r["pods"]) for r in report["scales"]] == [(n, p) for n, p, _ in bench.QUICK_SCALES]
    for row in report["scales"]:
        assert {"nodes", "pods", "update_ms_p50", "update_ms_p95", "exact_shares_ms"} <= row.keys()
        assert 0 < row["update_ms_p50"] <= row["update_ms_p95"] <= row["update_ms_max"]
        assert row["exact_shares_ms"] > 0 and row["failures"] == []
    assert report["sampler_connections_per_s"] > 0 and report["import_s"] > 0
    assert set(report["goals_met"]) == set(bench.GOALS)


def test_table_names_every_figure_and_goal(quick_json):
    report = json.loads(quick_json[1])
    table = bench.format_table(report)
    for text in ("3 nodes / 6 pods", "update p95", "exact shares", "M connections/s", "import k8slearn",
                 "p95 < 100 ms", "goal < 0.5 s"):
        assert text in table


def test_goals_are_judged_only_where_measured():
    report = {"scales": [{"nodes": 3, "pods": 6, "update_ms_p95": 40.0, "exact_shares_ms": 1.0}],
              "sampler_connections_per_s": 2e6, "import_s": 0.6}
    assert bench.goals_met(report) == {"workshop_update_ms_p95": True, "update_ms_p95_100_nodes": None,
                                       "exact_shares_ms_1000_nodes": None, "sampler_connections_per_s": True,
                                       "import_s": False}


def test_percentile_interpolates_like_numpy():
    np = pytest.importorskip("numpy")
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    for q in (0, 50, 95, 100):
        assert bench._percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_bench_is_a_cli_command(capsys):
    assert main(["bench", "--help"]) == 0
    assert "--json" in capsys.readouterr().out
