"""What depends on the client IP (FACTS.md §3b): loadBalancerSourceRanges, NetworkPolicy ipBlock,
sessionAffinity: ClientIP, in the model (validated like the API server) and in the simulator."""

from __future__ import annotations

from fractions import Fraction as F
from ipaddress import IPv4Address, ip_network

import pytest

import k8slearn as k8s
from k8slearn.dataplane import Source, decide
from k8slearn.errors import InvalidChange, InvalidNetworkPolicy, InvalidService
from k8slearn.loadbalancer import LB_ADDRESS
from k8slearn.traffic import SESSIONS_COLUMNS, sessions

CLIENT = IPv4Address("198.51.100.7")
BLOCKED = "203.0.113.9"
OFFICE = ["198.51.100.0/24"]


def first_line(err: BaseException) -> str:
    return str(err).splitlines()[0]


# ---------------------------------------------------------------------------- validation
def test_source_ranges_only_on_load_balancers_and_only_cidrs():
    c = k8s.examples.uneven()
    with pytest.raises(InvalidService) as info:
        c.add_service("np", type="NodePort", selector={"app": "web"}, load_balancer_source_ranges=["10.0.0.0/8"])
    assert first_line(info.value) == ('The Service "np" is invalid: spec.LoadBalancerSourceRanges: Forbidden: '
                                      "may only be used when `type` is 'LoadBalancer'")
    with pytest.raises(InvalidService) as info:
        c.patch_service("web", load_balancer_source_ranges=["198.51.100.7", "10.0.0.0/33"])
    assert [str(e) for e in info.value.errors] == [
        ('spec.LoadBalancerSourceRanges[0]: Invalid value: "198.51.100.7": must be a valid CIDR value, '
         "(e.g. 10.9.8.0/24 or 2001:db8::/64)"),
        ('spec.LoadBalancerSourceRanges[1]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, '
         "(e.g. 10.9.8.0/24 or 2001:db8::/64)")]
    assert c.service("web").load_balancer_source_ranges == ()  # nothing changed


def test_source_ranges_tolerate_spaces_and_host_bits_like_the_api_server():
    c = k8s.examples.uneven()
    svc = c.patch_service("web", load_balancer_source_ranges=[" 203.0.113.0/25", "10.1.2.3/8"])
    assert svc.load_balancer_source_ranges == (ip_network("203.0.113.0/25"), ip_network("10.0.0.0/8"))
    assert "loadBalancerSourceRanges=203.0.113.0/25,10.0.0.0/8" in str(svc)


def test_source_ranges_stay_when_the_type_changes_so_the_change_is_refused():
    # strategy.go dropTypeDependentFields does not drop loadBalancerSourceRanges.
    c = k8s.examples.uneven()
    c.patch_service("web", load_balancer_source_ranges=OFFICE)
    with pytest.raises(InvalidService, match="LoadBalancerSourceRanges: Forbidden"):
        c.patch_service("web", type="NodePort")
    c.patch_service("web", type="NodePort", load_balancer_source_ranges=[])
    assert c.service("web").load_balancer_source_ranges == ()


def test_session_affinity_values_and_timeout():
    c = k8s.examples.uneven()
    svc = c.patch_service("web", session_affinity="ClientIP")
    assert svc.session_affinity_timeout == 10800  # defaults.go
    with pytest.raises(InvalidService) as info:
        c.patch_service("web", session_affinity="Cookie")
    assert first_line(info.value).endswith('spec.sessionAffinity: Unsupported value: "Cookie": '
                                           'supported values: "ClientIP", "None"')
    with pytest.raises(InvalidService) as info:
        c.patch_service("web", session_affinity_timeout=86401)
    assert first_line(info.value).endswith("spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: "
                                           "86401: must be greater than 0 and less than 86400")
    assert c.patch_service("web", session_affinity="None").session_affinity_timeout is None
    with pytest.raises(InvalidService, match="must not be set when session affinity is None"):
        c.patch_service("web", session_affinity_timeout=60)


def test_network_policy_validation_in_the_api_servers_words():
    c = k8s.examples.uneven()
    with pytest.raises(InvalidNetworkPolicy) as info:
        c.add_network_policy("bad", ingress=[{"from": [
            {}, {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {"matchLabels": {"app": "x"}}},
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8", "192.168.0.0/16"]}},
            {"ipBlock": {}}]}])
    assert [str(e) for e in info.value.errors] == [
        "spec.ingress[0].from[0]: Required value: must specify a peer",
        "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
        'spec.ingress[0].from[2].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
        'spec.ingress[0].from[2].ipBlock.except[1]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`',
        "spec.ingress[0].from[3].ipBlock.cidr: Required value"]
    assert first_line(info.value).startswith('The NetworkPolicy "bad" is invalid:')
    assert c.network_policies == ()
    c.add_network_policy("ok", pod_selector={"app": "web"}, ingress=[{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}])
    with pytest.raises(InvalidChange, match="already exists"):
        c.add_network_policy("ok")
    with pytest.raises(k8s.NotFound, match='networkpolicies "nope" not found'):
        c.delete_network_policy("nope")
    assert c.delete_network_policy("ok").name == "ok" and c.network_policies == ()


# ---------------------------------------------------------------------------- loadBalancerSourceRanges
def test_kube_proxy_enforces_source_ranges_under_cluster_too():
    c = k8s.examples.uneven()  # Cluster
    c.patch_service("web", load_balancer_source_ranges=OFFICE)
    ok = decide(c, "web", node="node-a", source=Source("external", CLIENT), destination="loadBalancerIP")
    assert ok.verdict == "DNAT" and ok.steps[1].startswith("KUBE-FW-")
    no = decide(c, "web", node="node-a", source=Source("external", IPv4Address(BLOCKED)), destination="loadBalancerIP")
    assert no.verdict == "DROP" and "KUBE-PROXY-FIREWALL" in no.rule and "not in web's loadBalancerSourceRanges" in no.reason
    # NodePorts bypass the ranges (proxier.go: "nodeports are not subject to loadBalancerSourceRanges").
    assert decide(c, "web", node="node-a", source=Source("external", IPv4Address(BLOCKED)),
                  destination="nodePort").verdict == "DNAT"


def test_pods_dialling_the_lb_ip_are_checked_too_and_the_node_passes_when_a_range_holds_its_ip():
    c = k8s.examples.in_cluster()
    c.patch_service("web", external_traffic_policy="Local", load_balancer_source_ranges=OFFICE)
    t = k8s.send(c, "web", client="client", address="loadBalancerIP", seed=1)
    assert t.outcome == "dropped" and "the pod's own address" in t.reason  # short-circuited, then firewalled
    node = k8s.send(c, "web", client="node-c", address="loadBalancerIP", seed=1)
    assert node.outcome == "dropped"
    c.patch_service("web", load_balancer_source_ranges=[*OFFICE, "192.168.0.0/24"])  # the nodes' network
    assert k8s.send(c, "web", client="node-c", address="loadBalancerIP", seed=1).outcome == "delivered"
    svc = c.patch_service("web", external_traffic_policy="Cluster")  # (Local would send it to node-c's pods only)
    looped = decide(c, "web", node="node-c", source=Source("external", svc.load_balancer_ip), destination="loadBalancerIP")
    assert looped.verdict == "DNAT"  # the node's own connection, SNATed to the VIP it holds, is accepted
    c.patch_service("web", load_balancer_source_ranges=OFFICE)
    assert decide(c, "web", node="node-c", source=Source("external", svc.load_balancer_ip),
                  destination="loadBalancerIP").verdict == "DROP"


def test_nftables_drops_before_the_no_endpoint_reject():
    c = k8s.examples.uneven()
    c.patch_service("web", load_balancer_source_ranges=OFFICE)
    c.scale("web", 0)
    src = Source("external", IPv4Address(BLOCKED))
    assert decide(c, "web", node="node-a", source=src, destination="loadBalancerIP").verdict == "REJECT"
    assert decide(c, "web", node="node-a", source=src, destination="loadBalancerIP",
                  dataplane="nftables").verdict == "DROP"


@pytest.mark.parametrize("key, where", [("aws-nlb-instance", "lb"), ("aws-elb", "lb"), ("gcp-nlb", "lb"),
                                        ("metallb-l2", "node"), ("health-checked", "node"),
                                        ("cloud-provider-kind", "lb"), ("aws-alb", None)])
def test_who_drops_a_client_outside_the_ranges(key, where):
    c = k8s.examples.uneven()
    c.patch_service("web", load_balancer_source_ranges=OFFICE)
    t = k8s.send(c, "web", client=BLOCKED, lb=key, seed=1)
    if where is None:  # the ALB ignores the Service's field, and its NodePort traffic bypasses kube-proxy's
        assert t.outcome == "delivered"
    else:
        assert t.outcome == "dropped" and t.hops[-1].at.kind == where, t.path
    assert k8s.send(c, "web", lb=key, seed=1).outcome == "delivered"


def test_behind_a_proxy_only_the_clouds_filter_sees_the_client():
    c = k8s.examples.uneven()
    c.patch_service("web", load_balancer_source_ranges=OFFICE)
    cdn = k8s.proxychain.Proxy("CDN", "203.0.113.50", "L7")
    t = k8s.send(c, "web", lb="aws-nlb-instance", proxies=[cdn], seed=1)
    assert t.outcome == "dropped" and "203.0.113.50" in t.reason  # the allow-list sees the CDN, not the client


def test_traffic_counts_what_the_ranges_drop():
    c = k8s.examples.uneven()
    c.patch_service("web", load_balancer_source_ranges=["203.0.113.0/24"])  # not the default client's range
    f = k8s.traffic(c, "web")
    assert f["share"].sum() == 0 and f.attrs["dropped"] == pytest.approx(1.0)


# ---------------------------------------------------------------------------- NetworkPolicy ipBlock
def allow_office(c):
    c.add_network_policy("office", pod_selector={"app": "web"},
                         ingress=[{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}])


def test_an_ipblock_allow_list_works_under_local():
    c = k8s.examples.one_two()  # Local
    allow_office(c)
    f = k8s.traffic(c, "web")
    assert list(f["share"]) == [0.5, 0.25, 0.25] and f.attrs["dropped"] == 0
    assert k8s.send(c, "web", client=BLOCKED, seed=1).outcome == "dropped"


def test_an_ipblock_allow_list_silently_fails_under_cluster():
    c = k8s.examples.uneven()  # Cluster: pods see node addresses
    allow_office(c)
    f = k8s.traffic(c, "web")
    # Only connections that stay on the receiving node get in, as "traffic from the pod's own node":
    # node-a's 1/3 to web-1/web-2 (2/9), node-b's to web-3 (1/9). Everything SNATed by another node is dropped.
    assert dict(zip(f["pod"], f["share"])) == pytest.approx({"web-1": 1 / 9, "web-2": 1 / 9, "web-3": 1 / 9})
    assert f.attrs["dropped"] == pytest.approx(float(F(2, 3)))
    assert (f["client_ip_kept"] == 0).all()
    t = k8s.send(c, "web", via="node-c", endpoint="web-3", seed=1)
    assert t.outcome == "dropped" and t.hops[-1].at.kind == "pod" and "after kube-proxy's SNAT" in t.reason
    # ... and a client OUTSIDE the allow-list gets in the same way: the policy never saw it.
    inside = k8s.send(c, "web", client=BLOCKED, via="node-a", endpoint="web-1", seed=1)
    assert inside.outcome == "delivered"


def test_pod_selector_peers_and_empty_rules():
    c = k8s.examples.in_cluster()
    c.add_network_policy("from-client", pod_selector={"app": "web"},
                         ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}])
    assert k8s.send(c, "web", client="client", seed=1).outcome == "delivered"  # pod -> ClusterIP keeps its IP
    c.add_pod("other", "node-c", labels={"app": "other"})
    assert k8s.send(c, "web", client="other", endpoint="web-3", seed=1).outcome == "dropped"
    c.add_network_policy("everyone", pod_selector={"app": "web"}, ingress=[{}])  # a rule without peers: all
    assert k8s.send(c, "web", client="other", endpoint="web-3", seed=1).outcome == "delivered"


# ---------------------------------------------------------------------------- sessionAffinity: ClientIP
def test_affinity_is_per_node_state_keyed_on_the_source_the_node_sees():
    c = k8s.examples.balanced(3)
    c.scale("web", 6)
    c.patch_service("web", session_affinity="ClientIP")
    memory: dict = {}
    first = k8s.send(c, "web", via="node-a", affinity=memory, seed=1)
    again = [k8s.send(c, "web", via="node-a", affinity=memory, seed=s).pod for s in range(2, 12)]
    assert set(again) == {first.pod}
    assert "sessionAffinity ClientIP" in k8s.send(c, "web", via="node-a", affinity=memory, seed=99).hops[2].note
    elsewhere = {k8s.send(c, "web", via="node-b", affinity=memory, seed=s).pod for s in range(20, 30)}
    assert len(elsewhere) == 1  # node-b remembers on its own, maybe another pod
    assert memory[("node-a", "web", CLIENT)] == first.pod


def test_affinity_expires_after_timeout_seconds_without_a_connection():
    c = k8s.examples.uneven()
    c.patch_service("web", session_affinity="ClientIP", session_affinity_timeout=10)
    memory: dict = {}

    def note(at, seed):
        t = k8s.send(c, "web", via="node-c", affinity=memory, at=at, seed=seed)
        return t.pod, next(h.note for h in t.hops if h.action == "DNAT")

    first, _ = note(0, 1)
    # each connection refreshes the memory (the kernel's --set / update): 9 s apart, it never expires
    for at in (9, 18, 27):
        pod, why = note(at, at)
        assert pod == first and "again: sessionAffinity" in why
    pods = set()
    for k, at in enumerate(range(40, 400, 12)):  # 12 s > timeoutSeconds: a fresh pick every time
        pod, why = note(at, k)
        assert "again" not in why and "sessionAffinity had forgotten" in why and "timeoutSeconds is 10" in why
        pods.add(pod)
    assert pods == {"web-1", "web-2", "web-3"}  # fresh picks land anywhere
    assert memory[("node-c", "web", CLIENT)] == pod  # remembered afresh
    # without a clock, nothing expires (the series of a notebook widget)
    assert all("again" in k8s.send(c, "web", via="node-c", affinity=memory, seed=s).hops[2].note for s in range(5))
    with pytest.raises(InvalidChange, match="number of seconds"):
        k8s.send(c, "web", at="soon")


def test_affinity_collapses_behind_a_proxying_load_balancer():
    c = k8s.examples.balanced(3)
    c.scale("web", 6)
    c.patch_service("web", session_affinity="ClientIP")
    direct = sessions(c, "web", seed=7, lb="gcp-nlb", clients=30)
    proxied = sessions(c, "web", seed=7, lb="aws-elb", clients=30)
    assert list(direct.columns) == SESSIONS_COLUMNS
    assert set(proxied["key_seen_by_nodes"]) == {str(LB_ADDRESS)}  # every client looks alike
    assert proxied.attrs["pods_used"] <= 3 < direct.attrs["pods_used"]  # one pod per node, for everybody
    one_node = sessions(c, "web", seed=7, lb="metallb-l2")
    assert (one_node["pods"] == 1).all()  # one node, one memory: each client sticks to one pod


def test_without_affinity_connections_spread():
    c = k8s.examples.balanced(3)
    f = sessions(c, "web", seed=3, lb="metallb-l2", clients=5, connections=12)
    assert f.attrs["affinity"] == "None" and (f["pods"] > 1).all()
    with pytest.raises(InvalidChange):
        sessions(c, "web", seed=3, clients=0)
