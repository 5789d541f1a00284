"""The catalogue of real load balancers (FACTS.md §3, §3b, §4): each profile's answers.

What the pod sees under Cluster and Local, whether pods that dial the load balancer are
short-circuited, what is health-checked, how connections spread (the per-zone split included), and
what carries the client's address. Expected shares are worked out by hand, as fractions.
"""

from __future__ import annotations

from fractions import Fraction as F
from ipaddress import IPv4Address

import pytest

import k8slearn as k8s
from k8slearn.errors import K8sLearnError, NotFound
from k8slearn.lbtable import TABLE_COLUMNS, document, load_balancer_table
from k8slearn.loadbalancer import (
    LB_ADDRESS,
    LB_PROFILES,
    LoadBalancerProfile,
    probe,
    resolve,
    spread,
)
from k8slearn.path import App

CLIENT = IPv4Address("198.51.100.7")
PASS_THROUGH_IP = ["gcp-nlb", "azure-slb", "metallb-l2", "metallb-bgp"]
PROXIES = ["aws-elb", "aws-elb-proxy-v1", "aws-alb", "cloud-provider-kind"]
POD_TARGETS = ["aws-nlb-ip", "aws-nlb-ip-preserve", "aws-nlb-ip-proxy-v2", "gke-neg-l7"]


def shares(frame) -> dict[str, float]:
    return dict(zip(frame["pod"], frame["share"]))


def close(got: dict[str, float], want: dict[str, F]) -> None:
    assert list(got) == list(want)
    for pod, value in want.items():
        assert got[pod] == pytest.approx(float(value), abs=1e-12), pod


def seen(key: str, policy: str) -> set:
    c = k8s.examples.two_zones(external_traffic_policy=policy)
    p = k8s.traffic(c, "web", lb=key)
    out = set()
    for seed in range(12):
        t = k8s.send(c, "web", lb=key, seed=seed)
        assert t.outcome == "delivered", t.summary()
        out.add("client" if t.source_seen_by_pod == CLIENT else "lb" if t.source_seen_by_pod == LB_ADDRESS
                else "node" if isinstance(c.owner_of(t.source_seen_by_pod), k8s.Node) else str(t.source_seen_by_pod))
    assert p["share"].sum() == pytest.approx(1.0)
    return out


def test_every_profile_is_complete_and_cited():
    assert len(LB_PROFILES) >= 12
    for key, p in LB_PROFILES.items():
        assert isinstance(p, LoadBalancerProfile) and p.key == key and p.label and p.sources
        assert k8s.LOAD_BALANCERS[-len(LB_PROFILES):] == tuple(LB_PROFILES)
    with pytest.raises(NotFound) as info:
        k8s.send(k8s.examples.uneven(), "web", lb="aws-nbl", seed=1)
    assert "aws-nlb-instance" in info.value.hint


# ---------------------------------------------------------------------------- what the pod sees
@pytest.mark.parametrize("key", PASS_THROUGH_IP + ["aws-nlb-instance"])
def test_pass_through_keeps_the_client_only_under_local(key):
    assert seen(key, "Local") == {"client"}
    assert seen(key, "Cluster") == {"node"}  # kube-proxy masquerades every external packet


@pytest.mark.parametrize("key", PROXIES)
def test_a_proxying_load_balancer_hides_the_client_under_any_policy(key):
    assert seen(key, "Local") == {"lb"}
    assert seen(key, "Cluster") == {"node"}  # the proxy's own connection is then masqueraded too


def test_the_classic_elb_is_a_proxy_even_for_tcp():
    c = k8s.examples.one_two()  # Local
    t = k8s.send(c, "web", lb="aws-elb", seed=1)
    lb_hop = t.hops[1]
    assert lb_hop.action == "SNAT" and lb_hop.proxied and lb_hop.after.src == LB_ADDRESS
    assert lb_hop.after.dport == c.service("web").node_port  # instance port = the NodePort
    assert not t.client_ip_kept and t.proxy_protocol == ""


def test_an_nlb_without_preservation_rewrites_the_source_without_proxying():
    t = k8s.send(k8s.examples.one_two(), "web", lb="aws-nlb-ip", seed=1)
    lb_hop = next(h for h in t.hops if h.at.kind == "lb")
    assert lb_hop.action == "SNAT" and not lb_hop.proxied and lb_hop.after.src == LB_ADDRESS


@pytest.mark.parametrize("key, kept", [("aws-nlb-ip", False), ("aws-nlb-ip-preserve", True),
                                        ("aws-nlb-ip-proxy-v2", False), ("gke-neg-l7", False)])
def test_pod_targets_ignore_the_policy(key, kept):
    for policy in ("Cluster", "Local"):
        c = k8s.examples.two_zones(external_traffic_policy=policy)
        f = k8s.traffic(c, "web", lb=key)
        assert (f["client_ip_kept"] == (1.0 if kept else 0.0)).all()
        assert (f["extra_hop"] == 0.0).all()
        t = k8s.send(c, "web", lb=key, seed=2)
        assert t.entry_node is None and t.decision is None and "node" not in [h.at.kind for h in t.hops[:2]]


def test_proxy_protocol_headers_carry_the_client():
    v1 = k8s.send(k8s.examples.one_two(), "web", lb="aws-elb-proxy-v1", seed=1)
    assert v1.proxy_protocol.startswith("PROXY v1 TCP4 198.51.100.7:51000 -> 203.0.113.100:80")
    v2 = k8s.send(k8s.examples.one_two(), "web", lb="aws-nlb-ip-proxy-v2", seed=1)
    assert v2.proxy_protocol.startswith("PROXY v2 TCP4 198.51.100.7:51000")
    assert v2.source_seen_by_pod == LB_ADDRESS
    ok = k8s.send(k8s.examples.one_two(), "web", lb="aws-elb-proxy-v1", seed=1, app=App(expect_proxy_protocol=True))
    assert ok.client_seen_by_app == CLIENT and ok.app_error == ""
    broken = k8s.send(k8s.examples.one_two(), "web", lb="aws-elb-proxy-v1", seed=1, app=App())
    assert "does not expect a PROXY header" in broken.app_error and broken.client_seen_by_app is None
    plain = k8s.send(k8s.examples.one_two(), "web", lb="aws-elb", seed=1, app=App(expect_proxy_protocol=True))
    assert "expects a PROXY header" in plain.app_error


@pytest.mark.parametrize("key", ["aws-alb", "gke-neg-l7"])
def test_l7_load_balancers_append_the_client_to_x_forwarded_for(key):
    t = k8s.send(k8s.examples.one_two(), "web", lb=key, seed=1, x_forwarded_for="1.2.3.4")
    assert t.x_forwarded_for == "1.2.3.4, 198.51.100.7"  # the client's own claim, then the peer it saw
    trusting = App(trusted=[f"{LB_ADDRESS}/32"])
    t = k8s.send(k8s.examples.one_two(), "web", lb=key, seed=1, x_forwarded_for="1.2.3.4", app=trusting)
    if t.source_seen_by_pod == LB_ADDRESS:  # the app's peer is the load balancer it trusts
        assert t.client_seen_by_app == CLIENT


def test_a_cdn_in_front_is_what_an_allow_list_at_the_load_balancer_sees():
    cdn = k8s.proxychain.Proxy("CDN", "203.0.113.50", "L7")
    t = k8s.send(k8s.examples.one_two(), "web", lb="aws-nlb-instance", proxies=[cdn], seed=1)
    assert t.source_seen_by_pod == IPv4Address("203.0.113.50")  # Local keeps the CDN's address, not the client's
    assert t.x_forwarded_for == "198.51.100.7"
    assert [h.at.kind for h in t.hops[:3]] == ["client", "cdn", "lb"]
    assert t.reply[-1].action == "accept" and t.reply[-2].at.kind == "cdn"


# ---------------------------------------------------------------------------- short-circuit and hairpin
@pytest.mark.parametrize("key", [*LB_PROFILES])
def test_pods_are_short_circuited_only_when_the_status_has_an_ip(key):
    c = k8s.examples.in_cluster()
    c.patch_service("web", external_traffic_policy="Local")
    t = k8s.send(c, "web", client="client", address="loadBalancerIP", lb=key, seed=4)
    p = LB_PROFILES[key]
    short = p.status == "ip" and p.ip_mode == "VIP"
    assert ("load balancer" not in t.path) == short, t.path
    if not short:
        assert t.hops[1].at.kind == "node" and "no rule" in t.hops[1].rule


def test_hostname_status_and_preserved_source_give_hairpin_timeouts():
    c = k8s.examples.in_cluster()  # client pod on node-c; Cluster policy
    c.move_pod("web-3", "node-c")
    outcomes = {}
    for seed in range(40):
        t = k8s.send(c, "web", client="client", address="loadBalancerIP", lb="aws-nlb-instance", seed=seed)
        outcomes.setdefault(t.entry_node, set()).add(t.outcome)
    assert outcomes["node-c"] == {"dropped"}  # sent back to its own node: the connection times out
    assert outcomes["node-a"] == outcomes["node-b"] == {"delivered"}
    assert "hairpin" in k8s.send(c, "web", client="client", address="loadBalancerIP", lb="aws-nlb-instance",
                                 via="node-c", seed=1).reason
    f = k8s.traffic(c, "web", clients="pods", address="loadBalancerIP", lb="aws-nlb-instance")
    assert f.attrs["dropped"] == pytest.approx(1 / 3)  # each client pod's own node gets a third
    # A proxying ELB replaces the source: no hairpin.
    g = k8s.traffic(c, "web", clients="pods", address="loadBalancerIP", lb="aws-elb")
    assert g.attrs["dropped"] == 0


def test_cloud_provider_kind_publishes_an_ip_with_ip_mode_proxy():
    p = LB_PROFILES["cloud-provider-kind"]
    assert (p.status, p.ip_mode, p.kind) == ("ip", "Proxy", "L4 proxy")
    c = k8s.examples.in_cluster()
    t = k8s.send(c, "web", client="client", address="loadBalancerIP", lb=p, seed=1)
    assert "load balancer" in t.path and t.hops[1].rule == "KUBE-SERVICES: no rule for an ipMode Proxy LB IP"


# ---------------------------------------------------------------------------- health checks
@pytest.mark.parametrize("key, cluster_check, local_check", [
    ("aws-elb", ("TCP", 30080), ("HTTP", 32000)),
    ("aws-nlb-instance", ("TCP", 30080), ("HTTP", 32000)),
    ("aws-alb", ("TCP", 30080), ("TCP", 30080)),
    ("gcp-nlb", ("HTTP", 10256), ("HTTP", 32000)),
    ("azure-slb", ("TCP", 30080), ("HTTP", 32000)),
    ("cloud-provider-kind", ("HTTP", 10256), ("HTTP", 32000)),
])
def test_what_each_load_balancer_probes(key, cluster_check, local_check):
    for policy, want in (("Cluster", cluster_check), ("Local", local_check)):
        c = k8s.examples.empty_node(external_traffic_policy=policy)
        pr = probe(c, "web", "node-a", key)
        assert (pr.protocol, pr.port) == want, policy


def test_a_traffic_port_probe_follows_kube_proxy():
    c = k8s.examples.empty_node()  # Local, node-c has no pod
    assert probe(c, "web", "node-c", "aws-alb").answer == "timed out"  # kube-proxy drops it there
    assert probe(c, "web", "node-a", "aws-alb").answer == "connected"
    c.patch_service("web", external_traffic_policy="Cluster")
    assert probe(c, "web", "node-c", "aws-alb").healthy  # any node forwards under Cluster
    c.scale("web", 0)
    assert probe(c, "web", "node-c", "azure-slb").answer == "refused"
    f = k8s.by_node(k8s.examples.empty_node(), "web", lb="aws-alb")
    assert list(f["health_check"]) == ["connected", "connected", "timed out"]
    assert list(f["health_check_port"]) == [30080] * 3


# ---------------------------------------------------------------------------- spreading
def test_nlb_with_cross_zone_off_splits_per_zone_first():
    c = k8s.examples.two_zones()  # Local; zone-a: node-a (1 pod), node-b (2 pods); zone-b: node-c (1 pod)
    close(shares(k8s.traffic(c, "web", lb="aws-nlb-instance")),
          {"web-1": F(1, 4), "web-2": F(1, 8), "web-3": F(1, 8), "web-4": F(1, 2)})
    close(shares(k8s.traffic(c, "web", lb="gcp-nlb")),  # per node, all zones together
          {"web-1": F(1, 3), "web-2": F(1, 6), "web-3": F(1, 6), "web-4": F(1, 3)})
    close(shares(k8s.traffic(c, "web", lb="aws-nlb-ip")),  # per zone, then per pod in the zone
          {"web-1": F(1, 6), "web-2": F(1, 6), "web-3": F(1, 6), "web-4": F(1, 2)})
    close(shares(k8s.traffic(c, "web", lb="gke-neg-l7")), {p: F(1, 4) for p in ("web-1", "web-2", "web-3", "web-4")})


def test_a_zone_without_healthy_targets_leaves_the_split_and_all_unhealthy_fails_open():
    c = k8s.examples.two_zones()
    c.set_pod("web-4", ready=False)  # zone-b has no healthy node under Local
    assert spread(c, "web", "aws-nlb-instance").weights == {"node-a": 0.5, "node-b": 0.5}
    for p in ("web-1", "web-2", "web-3"):
        c.set_pod(p, ready=False)
    s = spread(c, "web", "aws-nlb-instance")
    assert s.weights == {"node-a": 0.25, "node-b": 0.25, "node-c": 0.5} and "fails open" in s.reason
    assert spread(c, "web", "gcp-nlb").weights == {}  # no fail-open modelled there: no backend


def test_metallb_l2_elects_one_node_and_local_limits_the_candidates():
    c = k8s.examples.two_zones()
    s = spread(c, "web", "metallb-l2")
    assert len(s.weights) == 1 and list(s.weights.values()) == [1.0]
    leader = next(iter(s.weights))
    c.set_pod(c.pods_on(leader)[0].name, ready=False)
    if not any(p.ready for p in c.pods_on(leader)):
        assert next(iter(spread(c, "web", "metallb-l2").weights)) != leader  # a node without endpoints cannot announce
    c.patch_service("web", external_traffic_policy="Cluster")
    assert len(spread(c, "web", "metallb-l2").weights) == 1
    # speaker/layer2_controller.go ShouldAnnounce: no active endpoint anywhere, nobody announces, under
    # either policy: the client's ARP goes unanswered and it times out (not a refusal from a node)
    for policy in ("Cluster", "Local"):
        c.patch_service("web", external_traffic_policy=policy)
        c.scale("web", 0)
        s = spread(c, "web", "metallb-l2")
        assert s.weights == {} and s.dropped == 1.0 and "ARP" in s.reason
        assert k8s.send(c, "web", lb="metallb-l2", seed=0).outcome == "dropped"
        c.scale("web", 4)


def test_metallb_bgp_announces_from_nodes_with_endpoints_under_local():
    c = k8s.examples.empty_node()
    assert spread(c, "web", "metallb-bgp").weights == {"node-a": 0.5, "node-b": 0.5}
    c.patch_service("web", external_traffic_policy="Cluster")
    assert len(spread(c, "web", "metallb-bgp").weights) == 3
    c.scale("web", 0)
    assert spread(c, "web", "metallb-bgp").weights == {}


def test_resolve_turns_an_abstract_model_into_a_proxy_under_ip_mode_proxy():
    c = k8s.examples.one_two()
    assert resolve("health-checked", c.service("web")).kind == "pass-through"
    c.patch_service("web", load_balancer_ip_mode="Proxy")
    assert resolve("health-checked", c.service("web")).kind == "L4 proxy"
    assert resolve("aws-nlb-instance", c.service("web")).kind == "pass-through"  # a real one says what it is


def test_profiles_validate_their_values():
    with pytest.raises(K8sLearnError, match="kind"):
        LoadBalancerProfile("x", "x", "x", "teleport")
    with pytest.raises(K8sLearnError, match="pass-through"):
        LoadBalancerProfile("x", "x", "x", "pass-through", proxy_protocol=2)


# ---------------------------------------------------------------------------- the table and the doc
def test_the_table_comes_from_the_simulator():
    t = load_balancer_table()
    assert list(t.columns) == TABLE_COLUMNS
    assert list(t["key"]) == list(LB_PROFILES)
    row = t.set_index("key")
    assert row.loc["aws-elb", "pod sees (Local)"] == "the load balancer's address"
    assert row.loc["aws-nlb-instance", "pod sees (Local)"] == "the client's IP"
    assert row.loc["aws-nlb-instance", "shares (Local, two zones)"] == "web-1 25% · web-2 12.5% · web-3 12.5% · web-4 50%"
    assert row.loc["gcp-nlb", "pods that dial it"].startswith("short-circuited")
    assert "hairpin" in row.loc["aws-nlb-instance", "pods that dial it"]
    assert row.loc["aws-elb-proxy-v1", "client address carried by"] == "PROXY v1 header"
    assert row.loc["aws-alb", "client address carried by"] == "X-Forwarded-For"
    assert row.loc["gcp-nlb", "source ranges enforced by"] == "the load balancer, and kube-proxy (KUBE-FW)"
    assert row.loc["metallb-l2", "source ranges enforced by"] == "kube-proxy only (KUBE-FW)"
    assert row.loc["aws-nlb-instance", "source ranges enforced by"] == "the load balancer only"
    assert row.loc["aws-alb", "source ranges enforced by"].startswith("nobody")


def test_the_committed_doc_equals_the_generated_one():
    from pathlib import Path

    committed = (Path(__file__).resolve().parent.parent / "docs" / "load-balancers.md").read_text(encoding="utf-8")
    assert committed == document(), "docs/load-balancers.md is stale: run python tools/make_lb_table.py"
