"""The capstone's grader: every requirement is met by the reference design, fails for a design that breaks
it (with the simulator's evidence), and waits while its fields are unfilled; the reference design lives
only in solutions/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import k8slearn as k8s
from k8slearn import capstone, checks

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "src" / "10-capstone.py"


def _region() -> str:
    """The reference design: the solution region of exercise 10.3, in solutions/ only."""
    text = SOLUTION.read_text(encoding="utf-8")
    m = re.search(r"### BEGIN SOLUTION\n(design\.update\(.*?)\n### END SOLUTION", text, re.DOTALL)
    assert m, "solutions/src/10-capstone.py fills the design in a solution region"
    return m.group(1)


def reference() -> dict:
    namespace = {"k8s": k8s, "design": checks.capstone_blank()}
    exec(_region(), namespace)  # noqa: S102 -- our own solution file
    return namespace["design"]


def variant(**changes) -> dict:
    design = reference()
    design.update(changes)
    return design


def result(design, number):
    return capstone.evaluate(design).results[number - 1]


# requirement -> designs that break it, each with words its evidence must contain
FAILING = {
    1: [(variant(load_balancer="aws-elb"), "the load balancer's own address"),
        (variant(load_balancer=None), "AWS Classic ELB is a proxy"),
        (variant(load_balancer="aws-nlb-instance", service={"type": "LoadBalancer", "externalTrafficPolicy": "Cluster"}),
         "kube-proxy masquerades external traffic"),
        (variant(load_balancer="aws-elb-proxy-v1"), "does not expect a PROXY header")],
    2: [(variant(pre_stop_sleep=False), "pre_stop_sleep is False"),
        (variant(load_balancer="aws-nlb-instance", pre_stop_sleep=False), "Under Local a node never forwards"),
        (variant(replicas=1), "lost")],
    3: [(variant(replicas=3), "busiest/quietest pod 2.00"),
        (variant(replicas=6, spread="anti-affinity-required"), "stay Pending")],
    4: [(variant(load_balancer="aws-nlb-instance"), "hairpin"),
        (variant(load_balancer="gcp-nlb"), "never reach the load balancer"),
        (variant(service={"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                          "loadBalancerSourceRanges": ["198.51.100.0/24"]}), "not in loadBalancerSourceRanges")],
    5: [(variant(service={"type": "LoadBalancer", "externalTrafficPolicy": "Local"}), "an outsider (192.0.2.10) reaches"),
        (variant(load_balancer="aws-nlb-instance", service={"type": "LoadBalancer", "externalTrafficPolicy": "Cluster"},
                 network_policy=[{"ipBlock": {"cidr": "198.51.100.0/24"}}, {"ipBlock": {"cidr": "10.244.0.0/16"}}]),
         "a partner (198.51.100.7) is turned away")],
    6: [(variant(ingress={"externalTrafficPolicy": "Cluster", "load_balancer": "aws-nlb-instance", "proxy_protocol": False}),
         "node-"),
        (variant(app={"proxy_protocol": False, "trusted": ["0.0.0.0/0"]}), "the forged header"),
        (variant(app={"proxy_protocol": False, "trusted": ["203.0.113.0/24", "10.244.0.0/16", "192.168.0.0/24"]},
                 ingress={"externalTrafficPolicy": "Cluster", "load_balancer": "aws-nlb-instance", "proxy_protocol": False}),
         "skips the CDN"),
        (variant(ingress={"externalTrafficPolicy": "Local", "load_balancer": "aws-elb", "proxy_protocol": False}),
         "the load balancer's own address")],
}


def test_six_requirements_two_of_them_twists():
    assert [r.number for r in capstone.REQUIREMENTS] == [1, 2, 3, 4, 5, 6]
    assert [r.number for r in capstone.REQUIREMENTS if r.twist] == [5, 6]
    assert set(FAILING) == {r.number for r in capstone.REQUIREMENTS}
    for r in capstone.REQUIREMENTS:
        assert set(r.needs) <= set(capstone.FIELDS)


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6])
def test_the_reference_design_meets_the_requirement(number):
    got = result(reference(), number)
    assert got.status == "met", got.line()
    assert got.evidence


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6])
def test_a_design_that_breaks_the_requirement_fails_it_with_evidence(number):
    for design, words in FAILING[number]:
        got = result(design, number)
        assert got.status == "not met", got.line()
        assert words in got.evidence, got.evidence


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6])
def test_a_half_filled_design_grades_what_it_can(number):
    """Only the fields this requirement needs are filled: it is graded (met), and every requirement that
    needs a field still `...` waits, naming the fields."""
    ref = reference()
    need = capstone.REQUIREMENTS[number - 1].needs
    design = {k: (ref[k] if k in need else ...) for k in capstone.FIELDS}
    report = capstone.evaluate(design)
    for r in report.results:
        missing = [f for f in r.requirement.needs if f not in need]
        if missing:
            assert r.status == "waiting" and r.evidence == "fill in: " + ", ".join(missing), r.line()
        else:
            assert r.status == "met", r.line()
    assert report.results[number - 1].status == "met"


def test_the_check_says_done_wrong_or_not_attempted():
    done = checks.capstone(reference())
    assert done.status == "done" and len(done.details) == 6 and all(s == "met" for _, s, _ in done.details)
    assert "twist" in done.details[4][0] and "twist" in done.details[5][0]
    blank = checks.capstone(checks.capstone_blank())
    assert blank.status == "not attempted" and str(blank).startswith("Not attempted yet. (Exercise 10.3")
    assert checks.capstone(...).status == "not attempted"
    half = {k: (v if k in capstone.REQUIREMENTS[2].needs else ...) for k, v in reference().items()}
    partly = checks.capstone(half)
    assert partly.status == "not attempted" and "2 of 6 requirements met so far" in str(partly)  # 3 and 5
    wrong = checks.capstone(variant(load_balancer="aws-elb"))
    assert wrong.status == "wrong" and str(wrong).startswith("Not yet: ")
    html = wrong._repr_html_()
    assert "Client IP kept" in html and "\u2717" in html and "\u2713" in html


@pytest.mark.parametrize(("design", "words"), [
    ("aws-elb", "the design is a dict"),
    ({**checks.capstone_blank(), "lb": "aws-elb"}, '"lb" is not a field of the design'),
    (variant(service={"type": "ClusterIP", "externalTrafficPolicy": "Local"}),
     'The Service "web" is invalid: spec.externalTrafficPolicy: Invalid value: "Local"'),
    (variant(service={"type": "NodePort"}), "make it type LoadBalancer"),
    (variant(load_balancer="nlb"), "is not a load balancer of the catalogue"),
    (variant(nodes=["zone-a"]), "2 to 6 of them"),
    (variant(replicas=0), "a whole number from 1 to 24"),
    (variant(spread={"maxSkew": 0, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"}),
     "must be greater than zero"),
    (variant(dataplane="calico"), "calico"),
    (variant(app={"trust": []}), "app:"),
    (variant(network_policy=[{"ipBlock": {"cidr": "10.0.0.0/33"}}]), "must be a valid CIDR"),
    (variant(service={"type": "LoadBalancer", "selector": {"app": "api"}}), "must select the app's pods"),
])
def test_a_design_that_cannot_be_built_says_why(design, words):
    feedback = checks.capstone(design)
    assert feedback.status == "wrong", str(feedback)
    assert words in str(feedback), str(feedback)
    assert "Traceback" not in str(feedback)


def test_local_behind_the_default_load_balancer_never_keeps_the_client_ip():
    """The twist of FACTS §3b: the Classic ELB the legacy AWS provider creates by default is a proxy."""
    for policy in ("Local", "Cluster"):
        design = variant(load_balancer=None, service={"type": "LoadBalancer", "externalTrafficPolicy": policy})
        assert result(design, 1).status == "not met"
    pp = variant(load_balancer="aws-elb-proxy-v1", app={"proxy_protocol": True, "trusted": ["203.0.113.0/24", "10.244.0.0/16"]})
    assert result(pp, 1).status == "met", "a PROXY header the app reads brings the client back"


def test_more_than_one_design_meets_everything():
    elb = variant(load_balancer="aws-elb-proxy-v1", pre_stop_sleep=False,
                  app={"proxy_protocol": True, "trusted": ["203.0.113.0/24", "10.244.0.0/16"]},
                  service={"type": "LoadBalancer", "externalTrafficPolicy": "Cluster",
                           "loadBalancerSourceRanges": ["198.51.100.0/24", "10.244.0.0/16"]})
    assert capstone.evaluate(elb).all_met, str(capstone.evaluate(elb))
    assert capstone.evaluate(reference()).all_met


def test_the_course_notebooks_design_meets_two_of_six():
    nb = json.loads((ROOT / "notebooks" / "10-capstone.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"])
    assert "2 of 6 requirements met" in printed


def test_the_reference_design_lives_only_in_solutions():
    lines = [ln.strip() for ln in _region().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    distinctive = [ln for ln in lines if len(ln) > 20]
    assert len(distinctive) >= 5
    places = [ROOT / "notebooks" / "10-capstone.ipynb", ROOT / "notebooks" / "src" / "10-capstone.py",
              ROOT / "exercises" / "10-capstone.ipynb", *sorted((ROOT / "k8slearn").rglob("*.py")),
              *sorted((ROOT / "docs").glob("*.md"))]
    for path in places:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        for line in distinctive:
            assert line not in text, f"{path.relative_to(ROOT)} holds the reference design's line {line!r}"
    exercise = json.loads((ROOT / "exercises" / "10-capstone.ipynb").read_text())
    answer = [c for c in exercise["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "answer-10-3"]
    assert len(answer) == 1 and "...  # YOUR CODE HERE" in "".join(answer[0]["source"])


# --- review of issue 15: the design is read as strictly as the API server reads a manifest ----------
@pytest.mark.parametrize(("design", "words"), [
    (variant(service={"type": "LoadBalancer", "externalTraficPolicy": "Local"}),
     'strict decoding error: unknown field "spec.externalTraficPolicy"'),
    (variant(service={"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                      "ports": [{"port": 443, "targetport": 8443}]}), 'unknown field "spec.ports[0].targetport"'),
    (variant(service="apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: LoadBalancer\n"
                     "  externalTraficPolicy: Local\n"), 'unknown field "spec.externalTraficPolicy"'),
    (variant(pre_stop_sleep="no"), "pre_stop_sleep"),
    (variant(pre_stop_sleep=-5), "must be non-negative"),
    (variant(spread={"maxSkew": 1, "topologyKey": "kubernetes.io/hostname"}),
     "spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: \"\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\""),
    (variant(spread=[{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"},
                     {"maxskew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}]),
     'unknown field "spec.template.spec.topologySpreadConstraints[1].maxskew"'),
    (variant(spread={"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                     "labelSelector": {"matchLabels": {"app": "api"}}}), "counts none of web's pods"),
])
def test_a_design_is_read_as_strictly_as_the_api_server_would(design, words):
    feedback = checks.capstone(design)
    assert feedback.status == "wrong", str(feedback)
    assert words in str(feedback), str(feedback)


def test_a_misspelt_service_field_names_the_field_it_probably_means():
    evidence = result(variant(service={"type": "LoadBalancer", "externalTraficPolicy": "Local"}), 1).evidence
    assert 'did you mean "externalTrafficPolicy"' in evidence, evidence
    assert "masquerade" not in evidence, "nothing about what the Service would do without the field"


def test_pre_stop_sleep_takes_a_boolean_or_whole_seconds():
    said = result(variant(pre_stop_sleep="no"), 2)
    assert said.status == "not met" and "cannot unmarshal string" in said.evidence, said.evidence
    assert "True or False" in said.evidence
    assert result(variant(pre_stop_sleep=30), 2).status == "met", "a preStop sleep of 30 s"
    assert result(variant(pre_stop_sleep=0), 2).line() == result(variant(pre_stop_sleep=False), 2).line()
    assert result(variant(pre_stop_sleep=1.5), 2).status == "not met"


def test_a_spread_rule_may_select_webs_pods_with_match_expressions():
    rule = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}}
    assert capstone.evaluate(variant(spread=rule)).all_met
