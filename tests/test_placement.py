"""The placement model: filters, scores, Pending messages, scaling down, apply, manifest dicts."""

from __future__ import annotations

import pytest

import k8slearn as k8s
from k8slearn import examples
from k8slearn.errors import Invalid, InvalidChange, K8sLearnError, NotFound
from k8slearn.placement import (
    HOSTNAME,
    ZONE,
    Placement,
    anti_affinity_spec,
    apply,
    place,
    topology_spread_spec,
    yaml_text,
)


def empty(n: int = 3, zones=None) -> k8s.Cluster:
    return k8s.Cluster.from_layout([0] * n, zones=zones)


def test_lazy_name():
    assert k8s.placement.place is place


def test_required_anti_affinity_leaves_extra_replicas_pending():
    p = place(empty(), "web", 4, anti_affinity="required")
    assert p.counts == {"node-a": 1, "node-b": 1, "node-c": 1}
    assert p.pending == ("web-4",)
    assert p.reason == "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
    assert p.reasons == {"web-4": p.reason}
    assert p.node_of("web-4") is None


def test_required_anti_affinity_counts_running_and_terminating_pods():
    c = examples.uneven()  # 2 / 1 / 0, running pods stay where they are
    p = place(c, "web", 4, anti_affinity="required")
    assert p.counts == {"node-a": 2, "node-b": 1, "node-c": 1}  # running pods are never moved
    assert p.pending == ()
    c = examples.balanced(3)
    c.set_pod("web-1", terminating=True)  # still on node-a: anti-affinity sees it
    p = place(c, "web", 3, anti_affinity="required")
    assert p.new == ("web-4",) and p.pending == ("web-4",)
    assert p.reason.endswith("3 node(s) didn't match pod anti-affinity rules.")


def test_topology_spread_max_skew_one_on_hostname():
    p = place(empty(), "web", 4, topology_spread=dict(max_skew=1, topology_key=HOSTNAME,
                                                       when_unsatisfiable="DoNotSchedule"))
    assert list(p.counts.values()) == [2, 1, 1]
    assert p.pending == ()
    p = place(empty(), "web", 7, topology_spread={"max_skew": 1})
    assert sorted(p.counts.values()) == [2, 2, 3]


def test_topology_spread_on_zones():
    zones = ["zone-a", "zone-a", "zone-b", "zone-b"]
    p = place(empty(4, zones), "web", 4, topology_spread=dict(max_skew=1, topology_key=ZONE))
    assert p.counts == {"node-a": 1, "node-b": 1, "node-c": 1, "node-d": 1}
    # three nodes, two zones: zone-b's single node takes half the pods
    p = place(empty(3, ["zone-a", "zone-a", "zone-b"]), "web", 4, topology_spread=dict(max_skew=1, topology_key=ZONE))
    assert p.counts == {"node-a": 1, "node-b": 1, "node-c": 2}


def test_topology_spread_do_not_schedule_blocks_when_skew_would_grow():
    c = k8s.Cluster.from_layout([2, 0, 0])
    c.set_node("node-b", ready=False)
    c.set_node("node-c", ready=False)
    p = place(c, "web", 3, topology_spread={"max_skew": 1})
    assert p.pending == ("web-3",)
    assert p.reason == ("0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, "
                        "2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.")


def test_node_taints_policy_ignore_counts_a_not_ready_node_as_a_domain():
    c = examples.uneven()
    c.set_node("node-c", ready=False)
    ignore = place(c, "web", 6, topology_spread={"max_skew": 1})
    assert ignore.pending == ("web-4", "web-5", "web-6")  # node-c has 0, so nobody else may grow
    honor = place(c, "web", 6, topology_spread={"max_skew": 1, "node_taints_policy": "Honor"})
    assert honor.counts == {"node-a": 3, "node-b": 3, "node-c": 0}


def test_schedule_anyway_only_scores():
    c = k8s.Cluster.from_layout([3, 0, 0])
    c.set_node("node-b", ready=False)
    c.set_node("node-c", ready=False)
    p = place(c, "web", 5, topology_spread={"max_skew": 1, "when_unsatisfiable": "ScheduleAnyway"})
    assert p.counts == {"node-a": 5, "node-b": 0, "node-c": 0}


def test_default_spread_prefers_emptier_nodes_and_zones():
    assert list(place(empty(), "web", 6).counts.values()) == [2, 2, 2]
    assert place(examples.uneven(), "web", 4).counts == {"node-a": 2, "node-b": 1, "node-c": 1}
    # zone-b has one node, zone-a two: the zone part of the default spread fills zone-b's node too
    assert place(empty(3, ["zone-a", "zone-a", "zone-b"]), "web", 6).counts == {"node-a": 2, "node-b": 2, "node-c": 2}


def test_preferred_anti_affinity_never_leaves_pods_pending():
    p = place(empty(), "web", 7, anti_affinity="preferred")
    assert p.pending == ()
    assert list(p.counts.values()) == [3, 2, 2]
    assert "preferred podAntiAffinity" in p.rules[0]


def test_not_ready_nodes_are_filtered():
    c = examples.balanced(3)
    c.set_node("node-c", ready=False)
    p = place(c, "web", 5)
    assert p.node_of("web-4") in ("node-a", "node-b") and p.node_of("web-5") in ("node-a", "node-b")
    p = place(c, "web", 5, anti_affinity="required")
    assert p.reason == ("0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
                        "2 node(s) didn't match pod anti-affinity rules.")


def test_scale_down_removes_doubled_up_pods_first():
    p = place(examples.uneven(), "web", 2)
    assert p.removed == ("web-2",)
    assert p.counts == {"node-a": 1, "node-b": 1, "node-c": 0}
    c = examples.uneven()
    c.set_pod("web-3", ready=False)
    assert place(c, "web", 2).removed == ("web-3",)  # not ready goes first


def test_keep_existing_false_places_afresh():
    p = place(examples.uneven(), "web", 3, keep_existing=False)
    assert p.removed == ("web-1", "web-2", "web-3")
    assert p.new == ("web-4", "web-5", "web-6")
    assert p.counts == {"node-a": 1, "node-b": 1, "node-c": 1}


def test_deterministic_without_seed_and_seeded_ties():
    a = place(empty(), "web", 4)
    assert a == place(empty(), "web", 4)
    assert a.counts == {"node-a": 2, "node-b": 1, "node-c": 1}
    seeded = [place(empty(), "web", 4, seed=s).counts for s in range(8)]
    assert all(sorted(c.values()) == [1, 1, 2] for c in seeded)
    assert len({tuple(c.values()) for c in seeded}) > 1
    assert place(empty(), "web", 4, seed=5) == place(empty(), "web", 4, seed=5)


def test_place_does_not_change_the_cluster():
    c = examples.uneven()
    before = (c.version, c.pods)
    place(c, "web", 6, anti_affinity="required")
    assert (c.version, c.pods) == before


def test_apply_changes_the_cluster_and_the_traffic():
    c = examples.uneven(external_traffic_policy="Local")
    p = place(c, "web", 3, keep_existing=False)
    pods = apply(c, "web", p)
    assert [x.node for x in pods] == ["node-a", "node-b", "node-c"]
    assert [round(s, 4) for s in k8s.traffic(c, "web").share] == [0.3333] * 3
    c2 = examples.balanced(3)
    p2 = place(c2, "web", 4, anti_affinity="required")
    assert len(apply(c2, "web", p2)) == 3  # the Pending replica is not created


def test_apply_is_all_or_nothing_and_refuses_stale_plans():
    c = examples.uneven()
    p = place(c, "web", 4)
    c.move_pod("web-2", "node-c")
    before = (c.version, c.pods)
    with pytest.raises(InvalidChange, match="changed since"):
        apply(c, "web", p)
    assert (c.version, c.pods) == before
    c.add_service("api", type="LoadBalancer", selector={"app": "web"})
    with pytest.raises(InvalidChange, match="placement is for service 'web'"):
        apply(c, "api", place(c, "web", 3))


def test_errors_teach():
    with pytest.raises(NotFound, match="anti-affinity kind"):
        place(empty(), "web", 3, anti_affinity="hard")
    with pytest.raises(Invalid) as err:
        place(empty(), "web", 3, topology_spread={"max_skew": 0, "when_unsatisfiable": "Never"})
    text = str(err.value)
    assert "spec.template.spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero" in text
    assert ('spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Never": '
            'supported values: "DoNotSchedule", "ScheduleAnyway"') in text
    with pytest.raises(InvalidChange, match="unknown field"):
        place(empty(), "web", 3, topology_spread={"maxSkew": 1})
    with pytest.raises(InvalidChange, match="spec.replicas"):
        place(empty(), "web", -1)
    with pytest.raises(K8sLearnError, match="must be in the range 1-100"):
        place(empty(), "web", 3, anti_affinity="preferred", weight=0)
    with pytest.raises(NotFound, match="replica"):
        place(empty(), "web", 1).node_of("web-9")


def test_placement_is_frozen_and_shows_itself():
    p = place(empty(), "web", 4, anti_affinity="required")
    with pytest.raises(AttributeError):
        p.replicas = 5
    assert repr(p) == "Placement('web', replicas=4, node-a=1, node-b=1, node-c=1, pending=1)"
    assert "Pending" in p.summary() and "Pending" in p._repr_html_()
    frame = p.to_frame()
    assert list(frame.columns) == ["pod", "node", "status", "new"]
    assert list(frame.status) == ["Scheduled"] * 3 + ["Pending"]
    assert isinstance(p, Placement)


def test_manifest_dicts_are_full_api_form():
    pref = anti_affinity_spec("preferred", {"app": "web"})
    term = pref["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term == {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}},
                                                        "topologyKey": "kubernetes.io/hostname"}}
    req = anti_affinity_spec("required", {"app": "web"})
    assert req["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]
    tsc = topology_spread_spec({"app": "web"}, max_skew=1, topology_key=ZONE, when_unsatisfiable="ScheduleAnyway")
    assert tsc == {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                                  "whenUnsatisfiable": "ScheduleAnyway",
                                                  "labelSelector": {"matchLabels": {"app": "web"}}}]}
    with pytest.raises(Invalid):
        topology_spread_spec({"app": "web"}, when_unsatisfiable="Sometimes")


def test_yaml_text_round_trips():
    yaml = pytest.importorskip("yaml")
    doc = {"spec": {**anti_affinity_spec("preferred", {"app": "web"}),
                    **topology_spread_spec({"app": "web"}), "flag": True, "empty": [], "version": "1.35"}}
    assert yaml.safe_load(yaml_text(doc)) == doc


def test_deployment_with_both_rules_passes_the_schema():
    kv = pytest.importorskip("kubernetes_validate")
    labels = {"app": "web"}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "web", "image": "nginx"}],
                     **anti_affinity_spec("required", labels), **topology_spread_spec(labels)}}},
    }
    kv.validate(deployment, "1.35", strict=True)
