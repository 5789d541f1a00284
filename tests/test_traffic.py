"""Many connections: exact shares per pod (FACTS.md §1, §4), metrics, health checks per node, the sampler.

Every expected number here is worked out by hand from the fact sheet, written as a fraction.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

import k8slearn as k8s
from k8slearn.errors import K8sLearnError, NotFound

TRAFFIC_COLUMNS = ["pod", "node", "share", "client_ip_kept", "extra_hop"]
METRICS_COLUMNS = ["scope", "received", "delivered", "dropped", "refused", "failed", "client_ip_kept",
                   "extra_hop", "imbalance", "cv"]
BY_NODE_COLUMNS = ["node", "ready", "pods", "lb_share", "health_check_port", "health_check", "local_endpoints"]


def shares(frame) -> dict[str, float]:
    return dict(zip(frame["pod"], frame["share"]))


def close(frame_shares: dict[str, float], expected: dict[str, F]) -> None:
    assert list(frame_shares) == list(expected)
    for pod, want in expected.items():
        assert frame_shares[pod] == pytest.approx(float(want), abs=1e-12), pod


# ---------------------------------------------------------------------------- §4 Local shares
def test_one_two_health_checked_is_50_25_25():
    f = k8s.traffic(k8s.examples.one_two(), "web")
    assert list(f.columns) == TRAFFIC_COLUMNS
    assert list(f["pod"]) == ["web-1", "web-2", "web-3"] and list(f["node"]) == ["node-a", "node-b", "node-b"]
    close(shares(f), {"web-1": F(1, 2), "web-2": F(1, 4), "web-3": F(1, 4)})
    assert list(f["client_ip_kept"]) == [1.0, 1.0, 1.0]
    assert list(f["extra_hop"]) == [0.0, 0.0, 0.0]
    assert f.attrs["dropped"] == 0 and f.attrs["refused"] == 0 and f.attrs["failed"] == 0
    assert f.attrs["fair_share"] == pytest.approx(1 / 3)
    assert f.attrs["service"] == "web"


def test_local_pod_share_is_one_over_h_times_pn():
    # pods 3 / 1 / 0 / 2: H = 3 healthy nodes; share = 1 / (H * p_n).
    c = k8s.Cluster.from_layout([3, 1, 0, 2], external_traffic_policy="Local")
    f = k8s.traffic(c, "web")
    expected = {}
    for p in c.pods:
        pn = len(c.pods_on(p.node))
        expected[p.name] = F(1, 3 * pn)
    close(shares(f), expected)
    assert f["share"].sum() == pytest.approx(1.0)


def test_local_equal_lb_over_all_nodes_drops_the_empty_nodes_share():
    f = k8s.traffic(k8s.examples.empty_node(), "web", lb="equal")
    close(shares(f), {"web-1": F(1, 3), "web-2": F(1, 3)})
    assert f.attrs["dropped"] == pytest.approx(1 / 3)
    assert f["share"].sum() + f.attrs["dropped"] == pytest.approx(1.0)
    # With health checks, nothing is dropped.
    g = k8s.traffic(k8s.examples.empty_node(), "web", lb="health-checked")
    close(shares(g), {"web-1": F(1, 2), "web-2": F(1, 2)})
    assert g.attrs["dropped"] == 0


def test_weighted_lb_gives_every_pod_the_same_share():
    c = k8s.Cluster.from_layout([3, 1, 0, 2], external_traffic_policy="Local")
    f = k8s.traffic(c, "web", lb="weighted")
    close(shares(f), {p.name: F(1, 6) for p in c.pods})


def test_weighted_lb_under_cluster_is_equal_per_node():
    # Only Local services send a weight header; under Cluster every node weighs the same.
    c = k8s.examples.uneven()
    assert shares(k8s.traffic(c, "web", lb="weighted")) == shares(k8s.traffic(c, "web", lb="health-checked"))


def test_single_node_lb():
    f = k8s.traffic(k8s.examples.one_two(), "web", lb="single-node")
    close(shares(f), {"web-1": F(1), "web-2": F(0), "web-3": F(0)})
    assert math.isnan(f["client_ip_kept"][1]) and math.isnan(f["extra_hop"][1])
    g = k8s.traffic(k8s.examples.one_two(), "web", lb=k8s.LoadBalancer("single-node", announcing_node="node-b"))
    close(shares(g), {"web-1": F(0), "web-2": F(1, 2), "web-3": F(1, 2)})


def test_single_node_lb_announcing_an_empty_local_node_drops_everything():
    f = k8s.traffic(k8s.examples.empty_node(), "web", lb=k8s.LoadBalancer("single-node", announcing_node="node-c"))
    assert f["share"].sum() == 0
    assert f.attrs["dropped"] == pytest.approx(1.0)


@pytest.mark.parametrize("policy", ["Cluster", "Local"])
def test_pod_targeting(policy):
    c = k8s.examples.uneven(external_traffic_policy=policy)
    f = k8s.traffic(c, "web", lb="pod-targeting")
    close(shares(f), {"web-1": F(1, 3), "web-2": F(1, 3), "web-3": F(1, 3)})
    assert list(f["client_ip_kept"]) == [0.0, 0.0, 0.0]  # the LB's address, unless preservation is on
    assert list(f["extra_hop"]) == [0.0, 0.0, 0.0]
    g = k8s.traffic(c, "web", lb=k8s.LoadBalancer("pod-targeting", preserve_client_ip=True))
    assert list(g["client_ip_kept"]) == [1.0, 1.0, 1.0]


def test_pod_targeting_skips_pods_that_are_not_ready():
    c = k8s.examples.uneven()
    c.set_pod("web-2", ready=False)
    close(shares(k8s.traffic(c, "web", lb="pod-targeting")), {"web-1": F(1, 2), "web-2": F(0), "web-3": F(1, 2)})


# ---------------------------------------------------------------------------- §1 Cluster shares
def test_cluster_shares_are_even_and_all_snatted():
    f = k8s.traffic(k8s.examples.uneven(), "web")
    close(shares(f), {"web-1": F(1, 3), "web-2": F(1, 3), "web-3": F(1, 3)})
    assert list(f["client_ip_kept"]) == [0.0, 0.0, 0.0]
    # Each pod gets 1/9 from each of the 3 nodes; only the 1/9 from its own node is not an extra hop.
    assert list(f["extra_hop"]) == pytest.approx([2 / 3, 2 / 3, 2 / 3])


@pytest.mark.parametrize("counts", [[2, 1, 0], [1, 1, 1], [4, 0, 0, 1], [3, 2, 2, 1, 0]])
def test_cluster_extra_hop_per_node_is_one_minus_pn_over_p(counts):
    c = k8s.Cluster.from_layout(counts)
    m = k8s.metrics(c, "web", lb="equal")
    total = sum(counts)
    n = len(counts)
    per_node = m[m.scope != "overall"].set_index("scope")
    for name, pn in zip([x.name for x in c.nodes], counts):
        assert per_node.loc[name, "extra_hop"] == pytest.approx(1 - pn / total)
        assert per_node.loc[name, "received"] == pytest.approx(1 / n)
        assert per_node.loc[name, "client_ip_kept"] == 0
    overall = m.iloc[0]
    assert overall["extra_hop"] == pytest.approx(sum((1 / n) * (1 - pn / total) for pn in counts))


def test_cluster_health_checked_with_a_down_node():
    c = k8s.examples.uneven()
    c.set_node("node-c", ready=False)
    f = k8s.traffic(c, "web")
    close(shares(f), {"web-1": F(1, 3), "web-2": F(1, 3), "web-3": F(1, 3)})
    assert f.attrs["dropped"] == 0
    # An equal LB that keeps sending to the down node loses that share.
    g = k8s.traffic(c, "web", lb="equal")
    assert g.attrs["dropped"] == pytest.approx(1 / 3)


def test_no_snat_dataplane_fails_the_remote_share():
    f = k8s.traffic(k8s.examples.uneven(), "web", lb="equal", dataplane="no-snat")
    # Only connections landing on a node with the chosen pod succeed: node-a 1/3 * 2/3, node-b 1/3 * 1/3.
    assert f["share"].sum() == pytest.approx(1 / 3)
    assert f.attrs["failed"] == pytest.approx(2 / 3)
    assert list(f["client_ip_kept"]) == [1.0, 1.0, 1.0]
    assert list(f["extra_hop"]) == [0.0, 0.0, 0.0]


def test_cilium_dsr_cluster_keeps_client_ip():
    f = k8s.traffic(k8s.examples.uneven(), "web", lb="equal", dataplane="cilium-dsr")
    close(shares(f), {"web-1": F(1, 3), "web-2": F(1, 3), "web-3": F(1, 3)})
    assert list(f["client_ip_kept"]) == [1.0, 1.0, 1.0]
    assert f.attrs["failed"] == 0


def test_cilium_snat_keeps_client_ip_only_for_local_backends():
    m = k8s.metrics(k8s.examples.uneven(), "web", lb="equal", dataplane="cilium-snat")
    # kept = the local picks: node-a 2/3 of its third, node-b 1/3, node-c 0.
    assert m.iloc[0]["client_ip_kept"] == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)


def test_no_endpoints_anywhere_is_refused():
    c = k8s.examples.uneven()
    c.scale("web", 0)
    f = k8s.traffic(c, "web", lb="equal")
    assert len(f) == 0
    assert f.attrs["refused"] == pytest.approx(1.0)
    assert math.isnan(f.attrs["fair_share"])


# ---------------------------------------------------------------------------- metrics
def test_metrics_columns_and_rows():
    m = k8s.metrics(k8s.examples.uneven(), "web")
    assert list(m.columns) == METRICS_COLUMNS
    assert list(m["scope"]) == ["overall", "node-a", "node-b", "node-c"]
    o = m.iloc[0]
    assert (o.received, o.delivered, o.dropped, o.refused, o.failed) == (1.0, pytest.approx(1.0), 0, 0, 0)
    assert o.client_ip_kept == 0
    assert o.extra_hop == pytest.approx(2 / 3)
    assert (o.imbalance, o.cv) == (pytest.approx(1.0), pytest.approx(0.0, abs=1e-12))


def test_metrics_local_imbalance():
    m = k8s.metrics(k8s.examples.one_two(), "web")
    o = m.iloc[0]
    assert o.client_ip_kept == 1.0 and o.extra_hop == 0.0
    assert o.imbalance == pytest.approx(2.0)  # 50 % over 25 %
    shares_ = np.array([0.5, 0.25, 0.25])
    assert o.cv == pytest.approx(shares_.std() / shares_.mean())
    node_b = m.set_index("scope").loc["node-b"]
    assert node_b.received == pytest.approx(0.5) and node_b.imbalance == pytest.approx(1.0)


def test_metrics_dropped_per_node():
    m = k8s.metrics(k8s.examples.empty_node(), "web", lb="equal").set_index("scope")
    assert m.loc["overall", "dropped"] == pytest.approx(1 / 3)
    assert m.loc["overall", "delivered"] == pytest.approx(2 / 3)
    assert m.loc["node-c", "dropped"] == pytest.approx(1 / 3)
    assert m.loc["node-c", "delivered"] == 0
    assert math.isnan(m.loc["node-c", "client_ip_kept"])
    assert m.loc["overall", "client_ip_kept"] == 1.0  # of what is delivered
    for scope, row in m.iterrows():
        assert row.delivered + row.dropped + row.refused + row.failed == pytest.approx(row.received), scope


def test_metrics_imbalance_is_infinite_when_a_serving_pod_gets_nothing():
    m = k8s.metrics(k8s.examples.one_two(), "web", lb="single-node")
    assert m.iloc[0]["imbalance"] == math.inf


# ---------------------------------------------------------------------------- health checks per node
def test_by_node_local():
    c = k8s.examples.empty_node()
    hc_port = c.service("web").health_check_node_port
    f = k8s.by_node(c, "web")
    assert list(f.columns) == BY_NODE_COLUMNS
    assert list(f["node"]) == ["node-a", "node-b", "node-c"]
    assert list(f["pods"]) == [1, 1, 0]
    assert list(f["lb_share"]) == pytest.approx([0.5, 0.5, 0.0])
    assert list(f["health_check_port"]) == [hc_port] * 3
    assert list(f["health_check"]) == [200, 200, 503]
    assert list(f["local_endpoints"]) == [1, 1, 0]


def test_by_node_terminating_not_counted_and_not_ready_node_no_answer():
    c = k8s.examples.one_two()
    c.add_node("node-c")
    c.set_pod("web-2", terminating=True)
    c.set_node("node-a", ready=False)
    f = k8s.by_node(c, "web").set_index("node")
    assert f.loc["node-a", "health_check"] == "no answer"
    assert f.loc["node-a", "lb_share"] == 0
    assert f.loc["node-b", "local_endpoints"] == 1  # web-3 only; web-2 is terminating
    assert f.loc["node-b", "health_check"] == 200
    assert f.loc["node-c", "health_check"] == 503
    assert f.loc["node-b", "lb_share"] == pytest.approx(1.0)


def test_health_check_weight_header():
    c = k8s.examples.one_two()
    assert k8s.health_check(c, "web", "node-b").headers["X-Load-Balancing-Endpoint-Weight"] == "2"
    assert k8s.health_check(c, "web", "node-a").headers["X-Load-Balancing-Endpoint-Weight"] == "1"
    assert [h.status for h in k8s.health_checks(c, "web")] == [200, 200]


def test_by_node_cluster_uses_kube_proxy_healthz():
    f = k8s.by_node(k8s.examples.uneven(), "web")
    assert list(f["health_check_port"]) == [10256] * 3
    assert list(f["health_check"]) == [200] * 3
    assert list(f["lb_share"]) == pytest.approx([1 / 3] * 3)
    assert all(v is None for v in f["local_endpoints"])


# ---------------------------------------------------------------------------- in-cluster clients
def test_in_cluster_clients_to_cluster_ip():
    f = k8s.traffic(k8s.examples.uneven(), "web", clients="pods")
    close(shares(f), {"web-1": F(1, 3), "web-2": F(1, 3), "web-3": F(1, 3)})
    assert list(f["client_ip_kept"]) == [1.0, 1.0, 1.0]  # pod -> ClusterIP is not SNAT'd


def test_in_cluster_clients_with_internal_traffic_policy_local():
    c = k8s.examples.uneven()
    c.patch_service("web", internal_traffic_policy="Local")
    f = k8s.traffic(c, "web", clients="pods")
    # One client pod per node: node-a's to web-1/web-2, node-b's to web-3, node-c's dropped.
    close(shares(f), {"web-1": F(1, 6), "web-2": F(1, 6), "web-3": F(1, 3)})
    assert f.attrs["dropped"] == pytest.approx(1 / 3)
    assert list(f["extra_hop"]) == [0.0, 0.0, 0.0]
    assert list(f["client_ip_kept"]) == [1.0, 1.0, 1.0]


def test_in_cluster_clients_to_a_local_lb_ip_are_short_circuited():
    c = k8s.examples.empty_node()
    f = k8s.traffic(c, "web", clients="pods", address="loadBalancerIP")
    close(shares(f), {"web-1": F(1, 2), "web-2": F(1, 2)})  # no drop on node-c, unlike external clients
    assert f.attrs["dropped"] == 0
    assert list(f["client_ip_kept"]) == [1.0, 1.0]


def test_ipvs_local_on_a_node_without_endpoints():
    c = k8s.examples.empty_node()
    pods_ = k8s.traffic(c, "web", clients="pods", address="loadBalancerIP", dataplane="ipvs")
    assert pods_.attrs["dropped"] == 0 and pods_.attrs["failed"] == 0  # pods fall back to all endpoints
    # client pods on node-a and node-b reach only their local pod; node-c's spread over both
    close(shares(pods_), {"web-1": F(1, 2), "web-2": F(1, 2)})
    ext = k8s.traffic(c, "web", lb="equal", dataplane="ipvs")
    assert ext.attrs["failed"] == pytest.approx(1 / 3) and ext.attrs["dropped"] == 0


def test_nodeport_clients_spread_equally_over_nodes():
    f = k8s.traffic(k8s.examples.empty_node(), "web", address="nodePort")
    assert f.attrs["dropped"] == pytest.approx(1 / 3)


# ---------------------------------------------------------------------------- the sampler
def test_sample_has_the_traffic_columns_and_converges():
    c = k8s.examples.one_two()
    s = k8s.sample(c, "web", 200_000, seed=7)
    assert list(s.columns) == TRAFFIC_COLUMNS
    assert s.attrs["connections"] == 200_000
    exact = k8s.traffic(c, "web")
    for got, want in zip(s["share"], exact["share"]):
        sigma = math.sqrt(want * (1 - want) / 200_000)
        assert abs(got - want) < 5 * sigma


def test_sample_counts_drops():
    s = k8s.sample(k8s.examples.empty_node(), "web", 90_000, seed=3, lb="equal")
    sigma = math.sqrt((1 / 3) * (2 / 3) / 90_000)
    assert abs(s.attrs["dropped"] - 1 / 3) < 5 * sigma
    assert s["share"].sum() + s.attrs["dropped"] == pytest.approx(1.0)


def test_sample_is_reproducible_and_seed_sensitive():
    c = k8s.examples.uneven()
    a = k8s.sample(c, "web", 1000, seed=1)
    b = k8s.sample(c, "web", 1000, seed=1)
    assert a.equals(b)
    assert not a.equals(k8s.sample(c, "web", 1000, seed=2))


@pytest.mark.parametrize("n", [0, -5, 2.5])
def test_sample_rejects_bad_n(n):
    with pytest.raises(K8sLearnError):
        k8s.sample(k8s.examples.uneven(), "web", n, seed=1)


def test_sample_requires_a_seed_keyword():
    with pytest.raises(TypeError):
        k8s.sample(k8s.examples.uneven(), "web", 100)  # type: ignore[call-arg]


# ---------------------------------------------------------------------------- errors and purity
def test_traffic_errors():
    c = k8s.examples.uneven()
    with pytest.raises(NotFound):
        k8s.traffic(c, "db")
    with pytest.raises(NotFound):
        k8s.traffic(c, "web", clients="robots")
    with pytest.raises(K8sLearnError):
        k8s.traffic(c, "web", lb="round-robin")
    c.add_service("np", type="NodePort", selector={"app": "web"})
    with pytest.raises(K8sLearnError):
        k8s.traffic(c, "np", address="loadBalancerIP")  # no cloud LB in front of a NodePort service
    # Clients of a NodePort service spread over the node IPs themselves (documented).
    assert k8s.traffic(c, "np").attrs["dropped"] == 0


def test_traffic_is_pure_and_follows_changes():
    c = k8s.examples.uneven()
    before = (c.nodes, c.pods, c.services, c.version)
    a = k8s.traffic(c, "web")
    assert (c.nodes, c.pods, c.services, c.version) == before
    a.loc[0, "share"] = 99  # mutating a returned frame must not poison the next answer
    assert k8s.traffic(c, "web")["share"][0] == pytest.approx(1 / 3)
    c.patch_service("web", external_traffic_policy="Local")
    close(shares(k8s.traffic(c, "web")), {"web-1": F(1, 4), "web-2": F(1, 4), "web-3": F(1, 2)})
