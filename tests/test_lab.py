"""The kernel lab (k8slearn/lab/): the simulator checked against Linux netfilter in network namespaces.

Tests marked ``root`` build the lab and need root, iproute2 and iptables (CI runs as root with them
installed by .ci/run); elsewhere they skip with the reason. The rest run everywhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from k8slearn import examples, lab
from k8slearn.cli import main
from k8slearn.dataplane import nft
from k8slearn.errors import NotFound
from k8slearn.lab import runner
from k8slearn.lab.programs import MARKER

CAN_RUN = (os.geteuid() == 0 and bool(shutil.which("ip")) and bool(shutil.which("iptables-restore"))
           and bool(shutil.which("nft")))
needs_root = pytest.mark.skipif(
    not CAN_RUN, reason="the kernel lab needs root, iproute2, iptables and nftables (CI runs as root; try sudo)")


# --------------------------------------------------------------------------- everywhere


@pytest.mark.parametrize("mode", lab.MODES)
def test_predictions_name_the_expected_outcomes(mode):
    c = examples.dual_stack()  # the lab's cluster: the uneven one, dual-stack
    by_name = {sc.name: lab.predict(c, sc, mode) for sc in lab.SCENARIOS}
    assert {p["source_seen"] for p in by_name["cluster-snat-extra-hop"]["possible"]} == {"192.168.0.13"}
    local_ep = {(p["pod"], p["source_seen"]) for p in by_name["cluster-snat-local-endpoint"]["possible"]}
    assert local_ep == {("web-1", "10.244.1.1"), ("web-2", "10.244.1.1"), ("web-3", "192.168.0.11")}
    assert {p["source_seen"] for p in by_name["local-keeps-client-ip"]["possible"]} == {"198.51.100.7"}
    assert by_name["local-drop-no-endpoint"]["verdict"] == "DROP"
    assert {p["outcome"] for p in by_name["no-snat-asymmetric-reply"]["possible"]} == {"timeout"}
    assert by_name["distribution"]["shares"] == pytest.approx({"web-1": 1 / 3, "web-2": 1 / 3, "web-3": 1 / 3})
    # sessionAffinity: one pod per source kube-proxy sees; the office's four clients are one source.
    assert by_name["session-affinity"]["sticky"]["sources"] == {
        "198.51.100.7": {"clients": ["198.51.100.7"], "pods_per_source": 1},
        "198.51.100.8": {"clients": ["198.51.100.8"], "pods_per_source": 1}}
    office = by_name["session-affinity-behind-nat"]["sticky"]["sources"]
    assert list(office) == ["198.51.100.1"] and office["198.51.100.1"]["pods_per_source"] == 1
    # loadBalancerSourceRanges: the blocked client times out at the LB IP, and gets in at the NodePort.
    ranges = by_name["source-ranges"]
    assert ranges["verdicts"] == {"198.51.100.7": "DNAT", "198.51.100.77": "DROP"}
    assert {p["outcome"] for p in ranges["possible"] if p["client"] == "198.51.100.77"} == {"timeout"}
    assert any("KUBE-FW-" in step or "firewall-" in step for step in ranges["chains_by_client"]["198.51.100.77"])
    assert {p["outcome"] for p in by_name["source-ranges-nodeport-bypass"]["possible"]} == {"answered"}
    # sessionAffinity expiry: memory within the 1 s timeout, a fresh pick after the pause, then memory again
    expiry = by_name["session-affinity-expiry"]["expiry"]
    assert [(e["at"], e["by_memory"]) for e in expiry] == [(0, False), (0, True), (1.3, False), (1.3, True)]
    assert "sessionAffinity had forgotten" in expiry[2]["why"]
    # IPv6: the same story over the other family
    assert {p["source_seen"] for p in by_name["ipv6-cluster-snat"]["possible"]} == {"fd00:192:168::13"}
    local6 = {(p["pod"], p["source_seen"]) for p in by_name["ipv6-local-keeps-client-ip"]["possible"]}
    assert local6 == {("web-1", "2001:db8:100::7"), ("web-2", "2001:db8:100::7")}
    # On an IPv4 cluster the IPv4 scenarios predict exactly the same.
    for sc in lab.SCENARIOS:
        if sc.family == "IPv4":
            assert lab.predict(examples.uneven(), sc, mode) == by_name[sc.name], sc.name


def test_ipv6_scenarios_need_a_dual_stack_cluster(monkeypatch):
    monkeypatch.setattr(runner, "check_system", lambda modes=(): None)
    monkeypatch.setattr(runner, "preflight", lambda cluster, modes=(): None)
    monkeypatch.setattr(runner, "_run", lambda cluster, chosen, progress, modes: {"ran": [sc.name for sc in chosen]})
    monkeypatch.setattr(runner, "lab_lock", lambda purpose: __import__("contextlib").nullcontext())
    report = lab.run(cluster=examples.uneven(), modes="iptables")
    assert "ipv6-cluster-snat" not in report["ran"] and "cluster-snat-extra-hop" in report["ran"]
    assert set(report["skipped"]) == {sc.name for sc in lab.SCENARIOS if sc.family == "IPv6"}
    assert "skipped" not in lab.run(modes="iptables")  # the default cluster is dual-stack


def test_the_lab_loads_nftables_rules_exactly_as_rendered_with_counters_added():
    c = examples.uneven()
    c.patch_service("web", session_affinity="ClientIP", load_balancer_source_ranges=["198.51.100.0/28"])
    for node in c.nodes:
        text = nft.render(c, node.name)
        loaded = runner._with_counters(text)
        assert loaded.replace(" counter", "") == text
        per_service = [l for l in loaded.splitlines() if l.startswith("add rule") and "/" in l.split()[4]]
        assert per_service and all(" counter" in l for l in per_service)


def test_modes_are_checked():
    assert lab.check_modes("both") == ("iptables", "nftables") == lab.check_modes(None)
    assert lab.check_modes(["nftables", "nftables"]) == ("nftables",)
    with pytest.raises(NotFound, match="'iptables', 'nftables', 'both'"):
        lab.check_modes("ipvs")
    with pytest.raises(lab.LabError, match="not a kube-proxy mode"):
        lab.check_modes(3)


def test_refuses_without_root(monkeypatch):
    monkeypatch.setattr(runner.os, "geteuid", lambda: 1000)
    with pytest.raises(lab.LabError, match="needs root") as err:
        lab.preflight(examples.uneven())
    assert "sudo k8slearn lab" in str(err.value)


def test_cli_without_root_says_so(monkeypatch, capsys):
    monkeypatch.setattr(runner.os, "geteuid", lambda: 1000)
    assert main(["lab"]) == 2
    assert "needs root" in capsys.readouterr().err


def test_cli_lists_scenarios(capsys):
    assert main(["lab", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(sc.name in out for sc in lab.SCENARIOS)


def _sections(text: str) -> dict[tuple[str, str], str]:
    """``k8slearn lab --rules`` output: (mode, family) -> the text under that header."""
    sections: dict[tuple[str, str], str] = {}
    key = None
    for line in text.splitlines(keepends=True):
        m = re.match(r"# ===== (\w+) mode, (IPv[46]): ", line)
        if m:
            key = (m.group(1), m.group(2))
            sections[key] = ""
        elif key is not None:
            sections[key] += line
    return sections


def _what_the_lab_loads(monkeypatch, scenario: str, mode: str, node: str) -> list[tuple[str, str]]:
    """(command, input) of every command the lab runs in ``node``'s namespace to load ``scenario``'s
    rules in ``mode``, recorded instead of run (no root needed)."""
    calls: list[tuple[str, str, str]] = []
    monkeypatch.setattr(runner, "run_in", lambda ns, argv, input=None, check=True: calls.append(
        (ns, " ".join(argv), input or "")))
    cluster = examples.dual_stack()  # the lab's own cluster
    sc = {s.name: s for s in lab.SCENARIOS}[scenario]
    topo = runner.Topology(cluster, nodes={n.name: lab.PREFIX + "n-" + n.name for n in cluster.nodes})
    runner._load_rules(topo, runner._variant(cluster, sc), sc, mode)
    return [(argv, text) for ns, argv, text in calls if ns == lab.PREFIX + "n-" + node]


@pytest.mark.parametrize("scenario", ["cluster-snat-extra-hop", "local-keeps-client-ip", "session-affinity",
                                      "source-ranges", "no-snat-asymmetric-reply"])
def test_rules_prints_exactly_what_the_lab_loads_per_mode_and_family(scenario, monkeypatch, capsys):
    argv = ["lab", "--rules", "node-a", *([] if scenario == "cluster-snat-extra-hop" else ["--scenario", scenario])]
    assert main(argv) == 0
    out = capsys.readouterr().out
    sections = _sections(out)
    assert list(sections) == [(m, f) for m in lab.MODES for f in ("IPv4", "IPv6")]  # --mode both by default
    # iptables mode: each section is the input of iptables-restore / ip6tables-restore, as the lab gives it
    loaded = _what_the_lab_loads(monkeypatch, scenario, "iptables", "node-a")
    restores = [text for argv_, text in loaded if argv_ in ("iptables-restore", "ip6tables-restore")]
    assert [argv_ for argv_, _ in loaded if "restore" in argv_] == ["iptables-restore", "ip6tables-restore"]
    assert restores == [sections["iptables", "IPv4"], sections["iptables", "IPv6"]]
    # nftables mode: the two families' tables are the one nft -f transaction, after `flush ruleset`
    loaded = _what_the_lab_loads(monkeypatch, scenario, "nftables", "node-a")
    nft_input = [text for argv_, text in loaded if argv_ == "nft -f -"]
    comments = re.compile(r"^#.*\n", re.M)
    assert nft_input == ["flush ruleset\n" + comments.sub("", sections["nftables", "IPv4"])
                         + sections["nftables", "IPv6"]]
    # ... and the IPv6 rules are there: ip6tables with the pods' IPv6 addresses, the ip6 table
    assert "fd00:10:244:1::5" in sections["iptables", "IPv6"] and "-A KUBE-SVC-" in sections["iptables", "IPv6"]
    assert sections["nftables", "IPv6"].startswith("add table ip6 kube-proxy")
    assert "fd00:10:244:1::5" in sections["nftables", "IPv6"]
    assert f"for scenario {scenario}:" in out.splitlines()[0]


def test_rules_respects_the_mode(capsys):
    assert main(["lab", "--rules", "node-c", "--mode", "iptables"]) == 0
    iptables = _sections(capsys.readouterr().out)
    assert list(iptables) == [("iptables", "IPv4"), ("iptables", "IPv6")]
    assert iptables["iptables", "IPv4"].startswith("*filter") and "-A KUBE-SVC-" in iptables["iptables", "IPv4"]
    assert main(["lab", "--rules", "node-c", "--mode", "nftables"]) == 0
    nftables = _sections(capsys.readouterr().out)
    assert list(nftables) == [("nftables", "IPv4"), ("nftables", "IPv6")]
    c = examples.dual_stack()
    # kube-proxy's rendering, with only the lab's counters (and the header's comment) added
    assert re.sub(r"^#.*\n", "", nftables["nftables", "IPv4"], flags=re.M).replace(" counter", "") == \
        nft.render(c, "node-c")
    assert nftables["nftables", "IPv6"].replace(" counter", "") == nft.render(c, "node-c", family="IPv6")


def test_unknown_scenario_names_the_valid_ones(monkeypatch):
    with pytest.raises(NotFound, match="cluster-snat-extra-hop"):
        lab.run(scenarios=["no-such-scenario"])


def test_expiry_check_needs_the_kernel_to_use_its_memory_exactly_when_predicted():
    predicted = [{"by_memory": m} for m in (False, True, False, True)]

    def observed(*rows):
        return {"expiry": [{"pod": pod, "by_memory": m} for pod, m in rows]}

    # the third connection may land on the first one's pod by chance: that is fine, if it was a fresh pick
    assert runner._agree_expiry(predicted, observed(("web-1", False), ("web-1", True), ("web-1", False),
                                                    ("web-1", True))) == []
    # a kernel that still remembered after the pause (its affinity rule counted the third connection)
    wrong = runner._agree_expiry(predicted, observed(("web-1", False), ("web-1", True), ("web-1", True),
                                                     ("web-1", True)))
    assert wrong and "affinity memory" in wrong[0]
    # memory that sent a connection somewhere else
    assert runner._agree_expiry(predicted, observed(("web-1", False), ("web-2", True), ("web-3", False),
                                                    ("web-3", True)))


def test_distribution_tolerance_is_four_sigma():
    predicted = {"shares": {"a": 0.5, "b": 0.5}}
    inside = runner._distribution(predicted, {"seen": [{"pod": "a", "count": 170}, {"pod": "b", "count": 130}]}, 300)
    outside = runner._distribution(predicted, {"seen": [{"pod": "a", "count": 186}, {"pod": "b", "count": 114}]}, 300)
    assert inside["agree"] and not outside["agree"]  # sigma = sqrt(300/4) = 8.66, 4 sigma = 34.6


# --------------------------------------------------------------------------- as root


def _host_state() -> dict[str, object]:
    def out(*argv: str) -> str:
        return subprocess.run(list(argv), text=True, capture_output=True).stdout

    def strip_dates(text: str) -> str:
        return "\n".join(l for l in text.splitlines() if not l.startswith("#"))

    procs = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if MARKER.encode() in f.read():
                        procs.append(pid)
            except OSError:
                pass
    return {
        "nft": out("nft", "list", "ruleset") if shutil.which("nft") else "nft not installed",
        "netns": out("ip", "netns", "list"),
        "links": re.sub(r"\d+: ", "", out("ip", "-o", "link", "show")),
        "addresses": out("ip", "-o", "addr", "show"),
        "routes": out("ip", "route", "show", "table", "all"),
        "iptables": strip_dates(out("iptables-save")),
        "lab processes": procs,
    }


@pytest.fixture(scope="module")
def lab_run():
    """One full lab run through the command line, with the host's state before and after."""
    if not CAN_RUN:
        pytest.skip("the kernel lab needs root, iproute2, iptables and nftables")
    before = _host_state()
    run = subprocess.run([sys.executable, "-m", "k8slearn", "lab", "--json"], text=True, capture_output=True,
                         timeout=120)
    after = _host_state()
    return run, json.loads(run.stdout or "{}"), before, after


@needs_root
@pytest.mark.root
def test_every_scenario_agrees_with_the_simulator_in_both_modes(lab_run):
    run, report, *_ = lab_run
    assert run.returncode == 0, run.stderr
    ran = [(s["name"], s["mode"]) for s in report["scenarios"]]
    assert ran == [(sc.name, mode) for mode in lab.MODES for sc in lab.SCENARIOS]
    for s in report["scenarios"]:
        assert {"name", "mode", "predicted", "observed", "agree"} <= set(s)
        assert s["agree"], (s["name"], s["mode"], s["problems"])
    assert report["matrix"] == {sc.name: {mode: True for mode in lab.MODES} for sc in lab.SCENARIOS}
    assert report["all_agree"]


@needs_root
@pytest.mark.root
@pytest.mark.parametrize("mode", lab.MODES)
def test_kernel_shows_what_the_course_teaches(lab_run, mode):
    _, report, *_ = lab_run
    s = {x["name"]: x for x in report["scenarios"] if x["mode"] == mode}
    assert {x["source_seen"] for x in s["cluster-snat-extra-hop"]["observed"]["seen"]} == {"192.168.0.13"}
    assert {x["source_seen"] for x in s["local-keeps-client-ip"]["observed"]["seen"]} == {"198.51.100.7"}
    assert s["local-drop-no-endpoint"]["observed"]["outcomes"] == {"timeout": 4}
    assert s["no-snat-asymmetric-reply"]["observed"]["outcomes"] == {"timeout": 4}
    # The kernel's own counters show the DNAT happened: the failure is on the reply's way back.
    hits = "\n".join(s["no-snat-asymmetric-reply"]["observed"]["rules_hit_on_node-c"])
    assert ("DNAT --to-destination" if mode == "iptables" else "dnat to 10.244.") in hits
    if mode == "iptables":  # nftables drops through a map element, which keeps no counter
        drop = "\n".join(s["local-drop-no-endpoint"]["observed"]["rules_hit_on_node-c"])
        assert "has no local endpoints" in drop and "-j DROP" in drop
    dist = s["distribution"]["distribution"]
    assert sum(r["count"] for r in dist["pods"]) == 300 and all(r["within"] for r in dist["pods"])
    # sessionAffinity: each client sticks to one pod, and the kernel remembers it for that pod ...
    sticky = s["session-affinity"]["observed"]
    landed = {c: {r["pod"] for r in rows} for c, rows in sticky["by_client"].items()}
    assert set(landed) == {"198.51.100.7", "198.51.100.8"} and all(len(p) == 1 for p in landed.values())
    assert {src: pod for pod, srcs in sticky["affinity_memory"].items() for src in srcs} == \
        {c: next(iter(p)) for c, p in landed.items()}
    # ... and the office behind one NAT is one source: everyone on one pod.
    office = s["session-affinity-behind-nat"]["observed"]
    assert len({x["pod"] for x in office["seen"]}) == 1 and office["outcomes"] == {"answered": 16}
    assert list(office["affinity_memory"].values()) == [["198.51.100.1"]]
    # loadBalancerSourceRanges: the outside address is dropped at the LB IP but not at the NodePort.
    ranges = s["source-ranges"]["observed"]["by_client"]
    assert {r["outcome"] for r in ranges["198.51.100.77"]} == {"timeout"}
    assert {r["outcome"] for r in ranges["198.51.100.7"]} == {"answered"}
    firewall = "\n".join(s["source-ranges"]["observed"]["rules_hit_on_node-a"])
    assert ("KUBE-FW-" if mode == "iptables" else "firewall-") in firewall
    assert s["source-ranges-nodeport-bypass"]["observed"]["outcomes"] == {"answered": 8}
    # sessionAffinity expiry: the kernel's affinity rules sent the 2nd and 4th connections, not the 3rd
    expiry = s["session-affinity-expiry"]["observed"]
    assert [e["by_memory"] for e in expiry["expiry"]] == [False, True, False, True]
    assert expiry["expiry"][1]["pod"] == expiry["expiry"][0]["pod"]
    assert expiry["expiry"][3]["pod"] == expiry["expiry"][2]["pod"]
    assert expiry["expiry"][2]["at"] - expiry["expiry"][1]["at"] >= 1.0  # the pause outlasted timeoutSeconds
    if mode == "nftables":  # an expired set element is gone (a 'recent' list keeps it until reaped)
        assert expiry["affinity_memory_after_pause"] == {}
    # IPv6, through ip6tables / the ip6 kube-proxy table
    assert {x["source_seen"] for x in s["ipv6-cluster-snat"]["observed"]["seen"]} == {"fd00:192:168::13"}
    local6 = s["ipv6-local-keeps-client-ip"]["observed"]
    assert {x["source_seen"] for x in local6["seen"]} == {"2001:db8:100::7"}
    assert {x["pod"] for x in local6["seen"]} == {"web-1", "web-2"}
    hits6 = "\n".join(s["ipv6-cluster-snat"]["observed"]["rules_hit_on_node-c"])
    assert "fd00:10:244:" in hits6


@needs_root
@pytest.mark.root
def test_host_is_left_exactly_as_it_was(lab_run):
    _, _, before, after = lab_run
    assert after == before


@needs_root
@pytest.mark.root
def test_the_report_times_every_scenario(lab_run):
    """The times are reported, never asserted (machines are noisy): benchmarks/lab_time.py prints
    the full run's median against the goal."""
    _, report, *_ = lab_run
    assert all(s["kernel_seconds"] > 0 and s["simulator_seconds"] > 0 for s in report["scenarios"])
    assert all(report[key] > 0 for key in ("setup_seconds", "iptables_seconds", "nftables_seconds",
                                           "cleanup_seconds", "total_seconds"))


@needs_root
@pytest.mark.root
def test_refuses_to_start_over_leftovers():
    ns = lab.PREFIX + "leftover-test"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        with pytest.raises(lab.LabError, match="left 1 namespace") as err:
            lab.preflight(examples.uneven())
        assert lab.CLEANUP_COMMAND in str(err.value)
    finally:
        assert ns in lab.cleanup()
    assert lab.leftovers() == []


@needs_root
@pytest.mark.root
def test_cleans_up_after_an_error(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("scenario failed on purpose")

    monkeypatch.setattr(runner, "_run_scenario", boom)
    with pytest.raises(RuntimeError, match="on purpose"):
        lab.run(scenarios=["distribution"])
    assert lab.leftovers() == []
    assert not _host_state()["lab processes"]


@needs_root
@pytest.mark.root
def test_cleans_up_after_ctrl_c():
    proc = subprocess.Popen([sys.executable, "-m", "k8slearn", "lab"], text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not lab.leftovers() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # somewhere inside the build or a scenario
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert lab.leftovers() == []
    assert not _host_state()["lab processes"]


# --------------------------------------------------------------------------- issue 14: arguments, lock


MODES = {"--list": ["--list"], "--rules": ["--rules", "node-c"], "--cleanup": ["--cleanup"],
         "--scenario": ["--scenario", "distribution"], "--mode": ["--mode", "nftables"], "--json": ["--json"]}
VALID = {(), ("--json",), ("--scenario",), ("--scenario", "--json"), ("--list",), ("--list", "--json"),
         ("--rules",), ("--cleanup",), ("--cleanup", "--json"), ("--mode",), ("--mode", "--json"),
         ("--scenario", "--mode"), ("--scenario", "--mode", "--json"), ("--rules", "--mode"),
         ("--rules", "--scenario"), ("--rules", "--scenario", "--mode")}


def _combinations():
    import itertools

    names = list(MODES)
    return [combo for r in range(len(names) + 1) for combo in itertools.combinations(names, r)]


@pytest.mark.parametrize("combo", _combinations(), ids=lambda c: " ".join(c) or "(none)")
def test_every_argument_combination_is_checked(combo, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(lab, "check_system", lambda: None)
    monkeypatch.setattr(lab, "cleanup", lambda: calls.append("cleanup") or [])
    monkeypatch.setattr(lab, "run", lambda **kw: calls.append(("run", kw["scenarios"], kw["modes"])) or
                        {"scenarios": [], "all_agree": True})
    monkeypatch.setattr(lab, "format_report", lambda report: "REPORT")
    argv = ["lab", *(arg for name in combo for arg in MODES[name])]
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if combo in VALID:
        assert code == 0, err
        if "--json" in combo:
            json.loads(out)
    else:
        assert code == 2
        assert not calls  # nothing ran, nothing was removed
        error_lines = [line for line in err.splitlines() if line.startswith("k8slearn lab: error:")]
        assert len(error_lines) == 1, err
    modes = ("nftables",) if "--mode" in combo else ("iptables", "nftables")
    if combo in {(), ("--json",), ("--mode",), ("--mode", "--json")}:
        assert calls == [("run", None, modes)]
    if "--scenario" in combo and combo in VALID and "--rules" not in combo:
        assert calls == [("run", ["distribution"], modes)]


@pytest.mark.parametrize("node", ["", "node-z", "NODE-A"])
def test_rules_for_a_node_that_does_not_exist_names_the_nodes(node, monkeypatch, capsys):
    monkeypatch.setattr(lab, "run", lambda **kw: pytest.fail("--rules must not run the lab"))
    assert main(["lab", "--rules", node]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "'node-a', 'node-b', 'node-c'" in err


def test_list_and_cleanup_speak_json(monkeypatch, capsys):
    assert main(["lab", "--list", "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == [sc.name for sc in lab.SCENARIOS]
    monkeypatch.setattr(lab, "check_system", lambda: None)
    monkeypatch.setattr(lab, "cleanup", lambda: ["k8sl-client"])
    assert main(["lab", "--cleanup", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed": ["k8sl-client"]}


def test_run_checks_its_arguments_before_anything_else():
    with pytest.raises(NotFound, match="scenario"):
        lab.run(scenarios="no-such")
    with pytest.raises(lab.LabError, match="not a list of scenario names"):
        lab.run(scenarios=5)
    with pytest.raises(lab.LabError, match="not a Cluster"):
        lab.run(cluster="uneven")


def _start_lab(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "k8slearn", "lab", *args], text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_for_namespaces(proc: subprocess.Popen, count: int = 8) -> None:
    deadline = time.monotonic() + 15
    while len(lab.leftovers()) < count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(lab.leftovers()) >= count, "the lab run did not build its namespaces"


@needs_root
@pytest.mark.root
def test_the_lock_names_its_holder_and_goes_with_it():
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import time\nfrom k8slearn.lab.netns import lab_lock\n"
                                "with lab_lock('run'):\n    print('held', flush=True)\n    time.sleep(30)\n")],
        text=True, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert f"pid {holder.pid}, run" in (lab.lock_holder() or "")
        with pytest.raises(lab.LabError, match=f"in progress \\(pid {holder.pid}, run.*cleanup refused"):
            lab.cleanup()
        with pytest.raises(lab.LabError, match="in progress"):
            lab.preflight(examples.uneven())
    finally:
        holder.kill()  # as kill -9 would: the kernel drops the lock with the process
        holder.wait()
    assert lab.lock_holder() is None
    assert lab.cleanup() == []


@needs_root
@pytest.mark.root
def test_a_second_run_and_a_cleanup_are_refused_while_a_run_is_live(capsys):
    proc = _start_lab("--json", "--scenario", "cluster-snat-extra-hop", "--scenario", "distribution")
    try:
        _wait_for_namespaces(proc)
        assert main(["lab"]) == 2
        assert "a kernel lab run is in progress" in capsys.readouterr().err
        assert main(["lab", "--cleanup"]) == 2
        err = capsys.readouterr().err
        assert "in progress" in err and "cleanup refused" in err
        assert len(lab.leftovers()) == 8  # the live run's namespaces are still there
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out)["all_agree"]
    assert lab.leftovers() == [] and not _host_state()["lab processes"]


@needs_root
@pytest.mark.root
def test_two_runs_started_together_do_not_collide():
    procs = [_start_lab("--json", "--scenario", "distribution") for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], results  # the first to take the lock runs, the other is refused
    for p, (out, err) in zip(procs, results):
        if p.returncode == 0:
            assert json.loads(out)["all_agree"], out
        else:
            assert "a kernel lab run is in progress" in err
    assert lab.leftovers() == [] and not _host_state()["lab processes"]


@needs_root
@pytest.mark.root
def test_after_kill_9_the_next_run_says_how_to_clean_up(capsys):
    proc = _start_lab("--json")
    try:
        _wait_for_namespaces(proc)
        time.sleep(0.3)  # the echo servers are up
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    try:
        assert main(["lab"]) == 2
        err = capsys.readouterr().err
        assert "a previous lab run left 8 namespace(s) behind" in err
        assert "`sudo k8slearn lab --cleanup` removes them" in err.splitlines()[0]
    finally:
        assert main(["lab", "--cleanup"]) == 0
    assert "removed 8 lab namespace(s)" in capsys.readouterr().out
    assert lab.leftovers() == [] and not _host_state()["lab processes"]
