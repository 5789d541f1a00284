"""The exercise checks: each one passes a right answer, explains a wrong one and waits for an untouched one.

A check returns its Feedback (shown in a notebook as a short styled message) and never raises, so
Run All on an exercise notebook runs to its end; ``k8slearn check`` grades strictly (test_grading.py).
"""

from __future__ import annotations

import json

import pytest

import k8slearn as k8s
from k8slearn import checks
from k8slearn.checks import Feedback
from k8slearn.errors import K8sLearnError


def _moved(example, *changes):
    def build():
        c = example()
        for name, args, kwargs in changes:
            getattr(c, name)(*args, **kwargs)
        return c
    return build


def _local_uneven():
    return k8s.examples.uneven(external_traffic_policy="Local")


def _itp_local():
    c = k8s.examples.in_cluster()
    c.patch_service("web", internal_traffic_policy="Local")
    return c


def _right_xff(peer, xff, trusted):
    return str(k8s.proxies.client_ip(peer, xff, trusted=trusted))


def _leftmost_xff(peer, xff, trusted):
    return str(k8s.proxies.naive_client_ip(peer, xff))


def _audit(lb, replicas=4, policy="Local"):
    def build():
        c = k8s.examples.uneven(external_traffic_policy=policy)
        c.scale("web", replicas)
        return (c, lb)
    return build


# exercise -> (check, right answer(s), wrong answer(s), words the wrong message must contain, untouched)
# A callable answer that takes no arguments is a builder, called fresh for every test.
CASES = {
    "1.1": (checks.endpoints_per_node, [{"node-a": 2, "node-b": 1}, {"node-a": 2, "node-b": 1, "node-c": 0}],
            [{"node-a": 1, "node-b": 1, "node-c": 1}], "placement", ...),
    "1.2": (checks.one_pod_per_node, [_moved(k8s.examples.uneven, ("move_pod", ("web-2", "node-c"), {}))],
            [_moved(k8s.examples.uneven, ("move_pod", ("web-3", "node-c"), {}))], "two web pods",
            k8s.examples.uneven),
    "2.1": (checks.trace_path, [["client", "load balancer", "node-c", "node-a", "web-1"]],
            [["client", "load balancer", "node-a", "web-1"]], "enters the cluster", ...),
    "3.1": (checks.seen_ip_local_endpoint, ["10.244.1.1", "192.168.0.11"], ["198.51.100.7"], "second hop", ...),
    "3.2": (checks.seen_ip_remote, ["192.168.0.13"], ["192.168.0.12"], "received", ...),
    "3.3": (checks.extra_hop_chance, [lambda d: {n: 1 - p / sum(d.values()) for n, p in d.items()}],
            [lambda d: {n: p / sum(d.values()) for n, p in d.items()}], "staying", lambda d: None),
    "4.1": (checks.seen_ip_local_policy, ["198.51.100.7"], ["192.168.0.11"], "masquerade", ...),
    "4.2": (checks.local_shares, [{"web-1": 0.5, "web-2": 0.25, "web-3": 0.25}, {"web-1": 50, "web-2": 25, "web-3": 25}],
            [{"web-1": 1 / 3, "web-2": 1 / 3, "web-3": 1 / 3}], "across nodes", ...),
    "4.3": (checks.dropped_share, [1 / 3, 33.333333333], [0], "drops", ...),
    "4.4": (checks.failing_health_checks, [{"node-c"}, ["node-c"]], [set()], "designed signal", ...),
    "4.5": (checks.rolling_update_local, [{"serving": "delivered", "not serving": "dropped"},
                                          {"serving": "Delivered ", "not serving": "DROPPED"}],
            [{"serving": "dropped", "not serving": "dropped"}], "serving-terminating", ...),
    "5.1": (checks.pod_share,
            [lambda d: {n: 1 / (sum(1 for v in d.values() if v) * p) for n, p in d.items() if p}],
            [lambda d: {n: 1 / sum(d.values()) for n in d}], "per node", lambda d: None),
    "5.2": (checks.lb_for_even_shares, ["weighted", k8s.LoadBalancer("pod-targeting", preserve_client_ip=True)],
            ["pod-targeting"], "client", ...),
    "6.1": (checks.even_by_placement, [_moved(_local_uneven, ("move_pod", ("web-2", "node-c"), {}))],
            [_moved(_local_uneven, ("move_pod", ("web-3", "node-c"), {}))], "same number", _local_uneven),
    "6.2": (checks.scale_evenly, [_moved(_local_uneven, ("scale", ("web", 6), {}))],
            [_moved(_local_uneven, ("scale", ("web", 6), {"node": "node-a"}))], "same number", _local_uneven),
    "7.1": (checks.in_cluster_source, ["10.244.3.5"], ["192.168.0.13"], "not SNATed", ...),
    "7.2": (checks.in_cluster_lb_local, [{"web-1", "web-2", "web-3"}], [set()], "short-circuits", ...),
    "7.3": (checks.fix_internal_policy,
            [_moved(_itp_local, ("patch_service", ("web",), {"internal_traffic_policy": "Cluster"})),
             _moved(_itp_local, ("scale", ("web", 4), {"node": "node-c"}))],
            [_moved(_itp_local, ("scale", ("web", 4), {"node": "node-a"}))], "cannot reach", _itp_local),
    "8.1": (checks.xff_picker, [_right_xff], [_leftmost_xff], "spoof", lambda peer, xff, trusted: None),
    "8.2": (checks.proxy_source, ["203.0.113.7:40122", ("203.0.113.7", 40122)], ["10.244.1.5:8080"], "destination", ...),
    "8.3": (checks.misconfigured_hop, ["cloud-lb"], ["app"], "only receives", ...),
    "8.4": (checks.proxy_protocol_from_pod, [{"VIP": "broken", "Proxy": "10.244.3.5"}],
            [{"VIP": "10.244.3.5", "Proxy": "10.244.3.5"}], "short-circuits", ...),
    "9.1": (checks.cilium_snat_local, ["198.51.100.7"], ["10.244.1.1"], "kube-proxy", ...),
    "9.2": (checks.dataplanes_keep_ip, [{"cilium-dsr"}], [{"cilium-dsr", "no-snat"}], "discarded", ...),
    "10.1": (checks.fix_drops, [_moved(k8s.examples.empty_node, ("scale", ("web", 3), {})),
                                _moved(k8s.examples.empty_node, ("remove_node", ("node-c",), {}))],
             [_moved(k8s.examples.empty_node, ("patch_service", ("web",), {"external_traffic_policy": "Cluster"}))],
             "client IP", k8s.examples.empty_node),
    "10.2": (checks.audit_service, [_audit("weighted")], [_audit("health-checked"), _audit("weighted", policy="Cluster")],
             "", ...),
    "10.3": (checks.proxy_lb_seen_ip, ["192.168.255.10"], ["198.51.100.7"], "guarantee", ...),
}


# Issue 13: the exercises of notebook 08b (kept in a block of their own).
def _ingress(*changes):
    return _moved(checks.ingress_cluster, *changes)


def _allow_list(*changes):
    return _moved(checks.allow_list_cluster, *changes)


_RIGHT_LOGS = {"A": ("aws-alb", "Cluster"), "B": ("aws-elb-proxy-v1", "Local"), "C": ("gcp-nlb", "Local"),
               "D": ("aws-elb", "Local")}
CASES.update({
    "8b.1": (checks.log_forensics,
             [_RIGHT_LOGS, {**_RIGHT_LOGS, "C": ("metallb-l2", "Local"), "D": ["aws-nlb-ip", "Cluster"]}],
             [{**_RIGHT_LOGS, "C": ("gcp-nlb", "Cluster")}], "nothing in front replaced", ...),
    "8b.2": (checks.fix_ingress_logs,
             [_ingress(("patch_service", ("ingress",), {"external_traffic_policy": "Local"}),
                       ("scale", ("ingress", 3), {"node": "node-c"}))],
             [_ingress(("patch_service", ("ingress",), {"external_traffic_policy": "Local"}))],
             "drops them silently", checks.ingress_cluster),
    "8b.3": (checks.fix_allow_list,
             [_allow_list(("patch_service", ("web",), {"external_traffic_policy": "Local"})),
              _allow_list(("patch_service", ("web",), {"load_balancer_source_ranges": [checks.PARTNERS]}),
                          ("delete_network_policy", ("partners-only",), {}))],
             [_allow_list(("delete_network_policy", ("partners-only",), {}))],
             "stranger gets in", checks.allow_list_cluster),
})


def test_log_forensics_mistakes_are_explained():
    for answer, words in [
        ({**_RIGHT_LOGS, "D": ("gcp-nlb", "Local")}, "no peer is a client"),
        ({**_RIGHT_LOGS, "A": ("aws-alb", "Local")}, "which only kube-proxy's masquerade writes"),
        ({**_RIGHT_LOGS, "B": ("aws-elb", "Local")}, "would not write the headers"),
        ({**_RIGHT_LOGS, "D": ("gcp-nlb", "Cluster")}, "belongs to no node"),
        ({**_RIGHT_LOGS, "A": ("aws-nlb", "Cluster")}, "not in the catalogue"),
        ({**_RIGHT_LOGS, "A": ("aws-alb", "local")}, '"Cluster" or "Local"'),
        ({"A": ("aws-alb", "Cluster")}, "answer for each excerpt"),
        ({**_RIGHT_LOGS, "A": "aws-alb"}, "give a pair"),
        (["A", "B"], "dict"),
    ]:
        feedback = checks.log_forensics(answer)
        assert feedback.status == "wrong" and words in str(feedback), str(feedback)


def test_allow_list_and_ingress_mistakes_are_explained():
    for build, words in [
        (_allow_list(("patch_service", ("web",), {"load_balancer_source_ranges": [checks.PARTNERS]})),
         "offered a node's address"),
        (_allow_list(("patch_service", ("web",), {"external_traffic_policy": "Local"}),
                     ("delete_network_policy", ("partners-only",), {})), "nothing admits only the partner"),
    ]:
        feedback = checks.fix_allow_list(build())
        assert feedback.status == "wrong" and words in str(feedback), str(feedback)
    feedback = checks.fix_ingress_logs(_ingress(("scale", ("ingress", 3), {"node": "node-c"}))())
    assert feedback.status == "wrong" and "its own Service is Cluster" in str(feedback), str(feedback)


def test_the_8b_exercises_are_a_notebook_of_their_own():
    assert [e.id for e in checks.exercises_of("8b")] == ["8b.1", "8b.2", "8b.3"]
    assert checks.exercises_of("08b-what-depends-on-the-client-ip.ipynb") == checks.exercises_of("8b")
    assert [e.id for e in checks.exercises_of(8)] == ["8.1", "8.2", "8.3", "8.4"], "8b is not part of 8"
    assert checks.EXERCISES["8b.2"].notebook == "08b-what-depends-on-the-client-ip"
    assert str(checks.summary("8b")).startswith("Exercises 08b: ")
    with pytest.raises(K8sLearnError, match="08b-what-depends-on-the-client-ip"):
        checks.exercises_of("04b")


def _fresh(answer):
    is_builder = callable(answer) and getattr(answer, "__code__", None) is not None and answer.__code__.co_argcount == 0
    return answer() if is_builder or answer in (k8s.examples.uneven, k8s.examples.empty_node) else answer


def test_every_exercise_is_tested():
    assert set(CASES) == set(checks.EXERCISES)
    assert len(checks.EXERCISES) >= 25


@pytest.mark.parametrize("number", CASES)
def test_right(number, capsys):
    check, rights, *_ = CASES[number]
    for answer in rights:
        feedback = check(_fresh(answer))
        assert isinstance(feedback, Feedback) and feedback.exercise == number
        assert feedback.status == "done" and feedback.passed
        assert str(feedback).startswith("Right: ")
    assert capsys.readouterr().out == "", "a check shows its feedback by returning it, not by printing"


@pytest.mark.parametrize("number", CASES)
def test_wrong_explains_without_the_answer(number):
    check, rights, wrongs, words, _ = CASES[number]
    for answer in wrongs:
        feedback = check(_fresh(answer))
        message = str(feedback)
        assert feedback.status == "wrong" and not feedback.passed, message
        assert message.startswith("Not yet: ")
        assert words in message
        assert f"Exercise {number}" in message and feedback.exercise == number
        for right in rights:  # the expected value is not given away
            if isinstance(right, (str, float)) and not isinstance(right, bool):
                assert str(right) not in message.replace(str(answer), "")


@pytest.mark.parametrize("number", CASES)
def test_not_attempted(number):
    check, *_, untouched = CASES[number]
    for answer in {id(untouched): untouched, id(...): ...}.values():
        feedback = check(_fresh(answer))
        assert feedback.status == "not attempted"
        assert str(feedback).startswith("Not attempted yet.")
        assert "wrong" not in str(feedback).lower()


def test_feedback_is_a_styled_message_with_a_text_fallback():
    for feedback, colour, symbol in [(checks.dropped_share(1 / 3), "#009E73", "\u2713"),
                                     (checks.dropped_share(0), "#D55E00", "\u2717"),
                                     (checks.dropped_share(...), "#999999", "\u2026")]:
        bundle = feedback._repr_mimebundle_()
        assert bundle["text/plain"] == str(feedback)
        assert colour in bundle["text/html"] and symbol in bundle["text/html"]
        assert "k8sl-feedback" in bundle["text/html"]
        assert "Traceback" not in bundle["text/html"]
    assert repr(checks.dropped_share(0)) == "Feedback('4.3', 'wrong')"
    escaped = checks.seen_ip_remote("<i>x")._repr_html_()
    assert "<i>x" not in escaped and "&lt;i&gt;x" in escaped, "the learner's answer is escaped in the HTML"


def test_type_mistakes_are_explained():
    def wrong(feedback, words):
        assert feedback.status == "wrong" and words in str(feedback), str(feedback)

    wrong(checks.seen_ip_remote("node-c"), "not an IP address")
    wrong(checks.local_shares([0.5, 0.25, 0.25]), "dict")
    wrong(checks.pod_share(lambda d: 1 / 0), "ZeroDivisionError")
    wrong(checks.even_by_placement("node-c"), "changed cluster")


def test_rolling_update_and_proxy_protocol_mistakes_are_explained():
    for answer, words in [
        ({"serving": "delivered", "not serving": "delivered"}, "never forwards external traffic to another node"),
        ({"serving": "refused", "not serving": "dropped"}, "connection refused"),
        ({"serving": "works", "not serving": "dropped"}, "one of delivered"),
        ({"serving": "delivered"}, "one outcome for each"),
    ]:
        feedback = checks.rolling_update_local(answer)
        assert feedback.status == "wrong" and words in str(feedback), str(feedback)
    for answer, words in [
        ({"VIP": "broken", "Proxy": "broken"}, "arrives with its PROXY header"),
        ({"VIP": "broken", "Proxy": "192.168.255.10"}, "the app reads the header"),
        ({"VIP": "broken"}, "each ipMode"),
        ({"VIP": "broken", "Proxy": "the pod"}, "not an IP address"),
    ]:
        feedback = checks.proxy_protocol_from_pod(answer)
        assert feedback.status == "wrong" and words in str(feedback), str(feedback)


def test_hints_come_in_levels(capsys):
    first = checks.hint("4.2")
    assert first.startswith("Hint 1 of 3 for exercise 4.2")
    assert checks.hint("4.2", level=3) != first
    assert checks.hint("4.2", level=9).startswith("Hint 3 of 3")
    for number, exercise in checks.EXERCISES.items():
        assert len(exercise.hints) >= 2, number
        assert exercise.kind in {"predict", "compute", "configure", "debug"}
    with pytest.raises(K8sLearnError, match="4.2"):
        checks.hint("99.9")


def test_kinds_are_all_used():
    assert {e.kind for e in checks.EXERCISES.values()} == {"predict", "compute", "configure", "debug"}


def test_report_file(tmp_path, monkeypatch):
    report = tmp_path / "report.jsonl"
    monkeypatch.setenv(checks.REPORT_ENV, str(report))
    checks.dropped_share(1 / 3)
    checks.dropped_share(...)
    checks.dropped_share(0)
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(r["exercise"], r["status"]) for r in rows] == [("4.3", "done"), ("4.3", "not attempted"), ("4.3", "wrong")]
    assert rows[2]["message"].startswith("Not yet: ")


def test_the_registry_knows_each_notebooks_exercises():
    assert [e.id for e in checks.exercises_of(4)] == ["4.1", "4.2", "4.3", "4.4", "4.5"]
    assert checks.exercises_of("04-external-traffic-policy-local.ipynb") == checks.exercises_of(4)
    assert {e.chapter for e in checks.EXERCISES.values()} == set(checks.NOTEBOOKS)
    assert sum(len(checks.exercises_of(n)) for n in checks.NOTEBOOKS) == len(checks.EXERCISES)
    assert checks.EXERCISES["10.2"].notebook == "10-capstone"
    with pytest.raises(K8sLearnError, match="01-pods-nodes-services"):
        checks.exercises_of(11)


def test_summary_counts_this_sessions_checks(monkeypatch):
    monkeypatch.setattr(checks, "_SESSION", {})
    assert {s for _, s in checks.summary(4).rows} == {"not checked"}
    checks.seen_ip_local_policy("198.51.100.7")
    checks.local_shares({"web-1": 1 / 3, "web-2": 1 / 3, "web-3": 1 / 3})
    checks.dropped_share(...)
    checks.dropped_share(1 / 3)  # the latest answer counts
    summary = checks.summary(4)
    assert [(e.id, s) for e, s in summary.rows] == [
        ("4.1", "done"), ("4.2", "wrong"), ("4.3", "done"), ("4.4", "not checked"), ("4.5", "not checked")]
    assert summary.counts() == {"done": 2, "wrong": 1, "not attempted": 0, "not checked": 2}
    text = str(summary)
    assert text.startswith("Exercises 04: 2 done, 1 wrong, 2 not checked (of 5)")
    assert "k8slearn check exercises/04-external-traffic-policy-local.ipynb" in text
    bundle = summary._repr_mimebundle_()
    assert bundle["text/plain"] == text and "<table>" in bundle["text/html"]
    assert "Per-pod shares under Local" in bundle["text/html"]


def test_lazy_name():
    assert k8s.check.local_shares is checks.local_shares
