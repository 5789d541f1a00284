"""kube-proxy's decision for one packet at one node (FACTS.md §1, §2, §5, terminating endpoints, §6).

These are the rules stated in our own fact sheet, checked at the level of
:func:`k8slearn.dataplane.decide`; tests/test_kubeproxy_cases.py checks the same function against
kube-proxy's own packet-flow tests.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

import k8slearn as k8s
from k8slearn.dataplane import DATAPLANES, Cilium, KubeProxy, Source, chains, decide, get_dataplane, health_check
from k8slearn.errors import InvalidChange, K8sLearnError, NotFound
from k8slearn.model import CLIENT_IP, Cluster

EXT = Source("external", CLIENT_IP)
KUBE_PROXY_MODES = ["iptables", "nftables", "ipvs"]
SVC = chains.service_chain("default", "web")
SVL = chains.local_chain("default", "web")
EXT_CHAIN = chains.external_chain("default", "web")
# nftables mode names the same walk its own way (pkg/proxy/nftables/proxier.go).
NAMES = {
    "iptables": {"services": "KUBE-SERVICES", "mark": "KUBE-MARK-MASQ", "svc": SVC, "svl": SVL, "ext": EXT_CHAIN},
    "nftables": {"services": "services", "mark": "mark-for-masquerade", "svc": chains.nft_service_chain("default", "web"),
                 "svl": chains.nft_local_chain("default", "web"), "ext": chains.nft_external_chain("default", "web")},
}


def pods(decision) -> list[str]:
    return [e.pod for e in decision.endpoints]


def pod_source(c: Cluster, name: str) -> Source:
    p = c.pod(name)
    return Source("pod", p.ip, node=p.node, pod=p.name)


def node_source(c: Cluster, name: str) -> Source:
    return Source("node", c.node(name).ip, node=name)


def masq_for(decision, c: Cluster, pod: str, source: Source) -> bool:
    ep = next(e for e in c.endpoints("web") if e.pod == pod)
    return decision.masquerades(ep, source.ip)


# ---------------------------------------------------------------------------- §1 Cluster
@pytest.mark.parametrize("mode", ["iptables", "nftables", "ipvs"])
@pytest.mark.parametrize("destination", ["loadBalancerIP", "nodePort"])
@pytest.mark.parametrize("node", ["node-a", "node-b", "node-c"])
def test_cluster_policy_snats_every_external_packet(mode, destination, node):
    c = k8s.examples.uneven()
    d = decide(c, "web", node=node, source=EXT, destination=destination, dataplane=mode)
    assert d.verdict == "DNAT"
    assert pods(d) == ["web-1", "web-2", "web-3"]  # all ready endpoints, from every node
    assert d.snat == "always"
    for pod in ("web-1", "web-2", "web-3"):  # local endpoint or not
        assert masq_for(d, c, pod, EXT)


def test_cluster_policy_chain_path():
    c = k8s.examples.uneven()
    lb = decide(c, "web", node="node-a", source=EXT, destination="loadBalancerIP")
    assert lb.steps == ("KUBE-SERVICES", EXT_CHAIN, "KUBE-MARK-MASQ", SVC)
    np = decide(c, "web", node="node-a", source=EXT, destination="nodePort")
    assert np.steps == ("KUBE-SERVICES", "KUBE-NODEPORTS", EXT_CHAIN, "KUBE-MARK-MASQ", SVC)
    # The mark comes before the endpoint is picked.
    assert np.steps.index("KUBE-MARK-MASQ") < np.steps.index(SVC)


def test_cluster_policy_external_ip():
    c = k8s.examples.uneven()
    c.patch_service("web", external_ips=["203.0.113.200"])
    d = decide(c, "web", node="node-c", source=EXT, destination="externalIP")
    assert (d.verdict, d.snat, pods(d)) == ("DNAT", "always", ["web-1", "web-2", "web-3"])
    assert EXT_CHAIN in d.steps and "KUBE-MARK-MASQ" in d.steps


def test_chain_names_follow_kube_proxys_hash():
    # portProtoHash: base32(sha256("default/web" + "tcp"))[:16]
    import base64
    import hashlib

    suffix = base64.b32encode(hashlib.sha256(b"default/webtcp").digest()).decode()[:16]
    assert (SVC, SVL, EXT_CHAIN) == (f"KUBE-SVC-{suffix}", f"KUBE-SVL-{suffix}", f"KUBE-EXT-{suffix}")


# ---------------------------------------------------------------------------- §2 Local
@pytest.mark.parametrize("mode", KUBE_PROXY_MODES)
@pytest.mark.parametrize("destination", ["loadBalancerIP", "nodePort"])
def test_local_policy_keeps_client_ip_and_stays_on_the_node(mode, destination):
    c = k8s.examples.one_two()
    for node, expected in (("node-a", ["web-1"]), ("node-b", ["web-2", "web-3"])):
        d = decide(c, "web", node=node, source=EXT, destination=destination, dataplane=mode)
        assert d.verdict == "DNAT"
        assert pods(d) == expected
        assert all(e.node == node for e in d.endpoints)  # no second node hop
        assert d.snat == "never"
        assert not any(masq_for(d, c, p, EXT) for p in expected)
        assert "KUBE-MARK-MASQ" not in d.steps and "mark-for-masquerade" not in d.steps
        # IPVS mode has no KUBE-SVL chain: an IPVS virtual server picks among the local real servers.
        assert (d.steps[-1].startswith("IPVS virtual server") if mode == "ipvs" else NAMES[mode]["svl"] in d.steps)


@pytest.mark.parametrize("mode", ["iptables", "nftables"])  # IPVS: test_ipvs_has_no_short_circuit_for_local_services
def test_local_policy_drops_on_a_node_without_endpoints(mode):
    c = k8s.examples.empty_node()
    d = decide(c, "web", node="node-c", source=EXT, destination="loadBalancerIP", dataplane=mode)
    assert d.verdict == "DROP"
    assert d.endpoints == ()
    assert d.rule == {
        "iptables": 'filter KUBE-EXTERNAL-SERVICES "default/web has no local endpoints" -j DROP',
        "nftables": 'filter service-endpoints-check: vmap @no-endpoint-services → drop ("default/web has no local endpoints")',
    }[mode]
    assert "node-c has no local endpoint for web" in d.reason
    assert "times out" in d.reason


def test_local_policy_drops_when_local_pods_are_not_ready():
    c = k8s.examples.empty_node()
    c.set_pod("web-1", ready=False)
    d = decide(c, "web", node="node-a", source=EXT, destination="nodePort")
    assert d.verdict == "DROP"


@pytest.mark.parametrize("policy", ["Cluster", "Local"])
@pytest.mark.parametrize("destination", ["loadBalancerIP", "nodePort", "clusterIP"])
def test_no_endpoints_anywhere_rejects(policy, destination):
    c = k8s.examples.uneven(external_traffic_policy=policy)
    c.scale("web", 0)
    source = EXT if destination != "clusterIP" else node_source(c, "node-a")
    d = decide(c, "web", node="node-a", source=source, destination=destination)
    assert d.verdict == "REJECT"
    assert "has no endpoints" in d.rule and "-j REJECT" in d.rule
    assert "refused" in d.reason


def test_all_pods_not_ready_rejects():
    c = k8s.examples.one_two()
    for p in ("web-1", "web-2", "web-3"):
        c.set_pod(p, ready=False)
    assert decide(c, "web", node="node-a", source=EXT, destination="loadBalancerIP").verdict == "REJECT"


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
@pytest.mark.parametrize("destination", ["loadBalancerIP", "nodePort"])
def test_pod_to_local_service_external_address_is_short_circuited(mode, destination):
    c = k8s.examples.empty_node()
    c.add_pod("client", "node-c", labels={"app": "client"})
    src = pod_source(c, "client")
    d = decide(c, "web", node="node-c", source=src, destination=destination, dataplane=mode)
    assert d.verdict == "DNAT"
    assert pods(d) == ["web-1", "web-2"]  # ALL endpoints, though node-c has none
    assert d.snat == "never"
    assert not any(masq_for(d, c, p, src) for p in ("web-1", "web-2"))
    assert NAMES[mode]["svc"] in d.steps and NAMES[mode]["svl"] not in d.steps


def test_pod_short_circuit_even_on_a_node_with_local_endpoints():
    c = k8s.examples.one_two()
    c.add_pod("client", "node-a", labels={"app": "client"})
    d = decide(c, "web", node="node-a", source=pod_source(c, "client"), destination="loadBalancerIP")
    assert pods(d) == ["web-1", "web-2", "web-3"]
    assert d.snat == "never"


@pytest.mark.parametrize("destination", ["loadBalancerIP", "nodePort"])
def test_node_to_local_service_external_address_goes_everywhere_masqueraded(destination):
    c = k8s.examples.empty_node()
    src = node_source(c, "node-c")
    d = decide(c, "web", node="node-c", source=src, destination=destination)
    assert d.verdict == "DNAT"
    assert pods(d) == ["web-1", "web-2"]
    assert d.snat == "always"
    assert "KUBE-MARK-MASQ" in d.steps


def test_ipvs_has_no_short_circuit_for_local_services():
    # pkg/proxy/ipvs/proxier.go syncEndpoint: Local uses the local endpoints for every source; with none
    # it falls back to all endpoints (kubernetes/kubernetes#97081), without SNAT.
    c = k8s.examples.empty_node()
    c.add_pod("client", "node-c", labels={"app": "client"})
    d = decide(c, "web", node="node-c", source=pod_source(c, "client"), destination="loadBalancerIP",
               dataplane="ipvs")
    assert d.verdict == "DNAT" and pods(d) == ["web-1", "web-2"] and d.snat == "never"
    assert "97081" in d.reason
    # On a node with an endpoint the IPVS pod client only reaches the local one (no short-circuit).
    c.add_pod("client-a", "node-a", labels={"app": "client"})
    d = decide(c, "web", node="node-a", source=pod_source(c, "client-a"), destination="loadBalancerIP",
               dataplane="ipvs")
    assert pods(d) == ["web-1"]
    # From the node itself, with no local endpoint, the connection is black-holed (kubernetes/kubernetes#93456).
    d = decide(c, "web", node="node-c", source=Source("node", c.node("node-c").ip, node="node-c"),
               destination="loadBalancerIP", dataplane="ipvs")
    assert d.verdict == "DROP" and "93456" in d.reason
    # External clients at node-c are sent to a remote pod without SNAT: the reply is lost, not a DROP rule.
    d = decide(c, "web", node="node-c", source=EXT, destination="loadBalancerIP", dataplane="ipvs")
    assert d.verdict == "DNAT" and d.snat == "never" and "discards" in d.reason
    assert all(not s.startswith(("KUBE-SVC-", "KUBE-EXT-", "KUBE-SVL-")) for s in d.steps)


# ---------------------------------------------------------------------------- §5 in-cluster
@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_pod_to_cluster_ip_is_not_snatted(mode):
    c = k8s.examples.in_cluster()
    src = pod_source(c, "client")
    d = decide(c, "web", node="node-c", source=src, destination="clusterIP", dataplane=mode)
    assert d.verdict == "DNAT"
    assert pods(d) == ["web-1", "web-2", "web-3"]
    assert d.snat == "never"
    assert d.steps == (NAMES[mode]["services"], NAMES[mode]["svc"])
    for p in ("web-1", "web-2", "web-3"):  # same node or another
        assert not masq_for(d, c, p, src)


def test_pod_to_cluster_ip_same_node_endpoint_not_snatted():
    c = k8s.examples.uneven()
    c.add_pod("client", "node-a", labels={"app": "client"})
    src = pod_source(c, "client")
    d = decide(c, "web", node="node-a", source=src, destination="clusterIP")
    assert not masq_for(d, c, "web-1", src)


def test_hairpin_is_masqueraded():
    c = k8s.examples.uneven()
    src = pod_source(c, "web-1")
    d = decide(c, "web", node="node-a", source=src, destination="clusterIP")
    assert d.snat == "never"
    assert masq_for(d, c, "web-1", src)        # itself: hairpin, masqueraded
    assert not masq_for(d, c, "web-2", src)    # a neighbour: not


def test_node_source_to_cluster_ip_is_snatted():
    c = k8s.examples.uneven()
    src = node_source(c, "node-c")
    d = decide(c, "web", node="node-c", source=src, destination="clusterIP")
    assert d.snat == "always"
    assert "KUBE-MARK-MASQ" in d.steps
    assert "outside the cluster's pod CIDR" in d.reason


def test_masquerade_all_snats_pod_traffic():
    c = k8s.examples.in_cluster()
    d = decide(c, "web", node="node-c", source=pod_source(c, "client"), destination="clusterIP",
               dataplane=KubeProxy(masquerade_all=True))
    assert d.snat == "always"
    assert "masquerade-all" in d.reason


def test_without_local_detector_nothing_is_masqueraded_by_source():
    c = k8s.examples.uneven()
    d = decide(c, "web", node="node-c", source=node_source(c, "node-c"), destination="clusterIP",
               dataplane=KubeProxy(detect_local=False))
    assert d.snat == "never"


def test_internal_traffic_policy_local():
    c = k8s.examples.in_cluster()
    c.patch_service("web", internal_traffic_policy="Local")
    d = decide(c, "web", node="node-c", source=pod_source(c, "client"), destination="clusterIP")
    assert d.verdict == "DROP"
    assert "internalTrafficPolicy is Local" in d.reason
    assert "has no local endpoints" in d.rule
    c.add_pod("client-a", "node-a", labels={"app": "client"})
    d = decide(c, "web", node="node-a", source=pod_source(c, "client-a"), destination="clusterIP")
    assert pods(d) == ["web-1", "web-2"]
    assert d.snat == "never"  # it does not change masquerading
    assert SVL in d.steps


def test_internal_traffic_policy_local_does_not_apply_to_external_traffic():
    c = k8s.examples.uneven()
    c.patch_service("web", internal_traffic_policy="Local")
    d = decide(c, "web", node="node-c", source=EXT, destination="loadBalancerIP")
    assert (d.verdict, pods(d), d.snat) == ("DNAT", ["web-1", "web-2", "web-3"], "always")


def test_prefer_same_zone_with_fallback():
    c = k8s.examples.zones()  # zone-a: node-a web-1, node-b web-2; zone-b: node-c web-3, node-d none
    c.patch_service("web", traffic_distribution="PreferSameZone")
    for node, expected in (("node-a", ["web-1", "web-2"]), ("node-d", ["web-3"])):
        d = decide(c, "web", node=node, source=node_source(c, node), destination="clusterIP")
        assert pods(d) == expected
    c.set_pod("web-3", ready=False)  # zone-b has no ready endpoint left: fall back to all
    d = decide(c, "web", node="node-d", source=node_source(c, "node-d"), destination="clusterIP")
    assert pods(d) == ["web-1", "web-2"]


def test_prefer_same_node_with_fallback():
    c = k8s.examples.zones()
    c.patch_service("web", traffic_distribution="PreferSameNode")
    assert pods(decide(c, "web", node="node-a", source=node_source(c, "node-a"), destination="clusterIP")) == ["web-1"]
    # node-d has none: same zone next, then everything.
    assert pods(decide(c, "web", node="node-d", source=node_source(c, "node-d"), destination="clusterIP")) == ["web-3"]
    c.set_pod("web-3", ready=False)
    assert pods(decide(c, "web", node="node-d", source=node_source(c, "node-d"), destination="clusterIP")) == [
        "web-1", "web-2"]


def test_strict_internal_local_takes_precedence_over_traffic_distribution():
    c = k8s.examples.zones()
    c.patch_service("web", traffic_distribution="PreferSameZone", internal_traffic_policy="Local")
    d = decide(c, "web", node="node-d", source=node_source(c, "node-d"), destination="clusterIP")
    assert d.verdict == "DROP"  # no fallback under the strict policy


# ---------------------------------------------------------------------------- terminating endpoints
def test_local_uses_local_serving_terminating_when_no_ready_local():
    c = k8s.examples.one_two()
    c.set_pod("web-1", terminating=True)  # still serving, being deleted
    d = decide(c, "web", node="node-a", source=EXT, destination="loadBalancerIP")
    assert (d.verdict, pods(d)) == ("DNAT", ["web-1"])  # not dropped, though ready pods exist elsewhere


def test_local_prefers_ready_over_terminating_local():
    c = k8s.examples.one_two()
    c.set_pod("web-2", terminating=True)
    d = decide(c, "web", node="node-b", source=EXT, destination="loadBalancerIP")
    assert pods(d) == ["web-3"]


def test_local_drops_when_local_terminating_is_not_serving():
    c = k8s.examples.one_two()
    c.set_pod("web-1", terminating=True, ready=False)
    assert decide(c, "web", node="node-a", source=EXT, destination="loadBalancerIP").verdict == "DROP"


def test_cluster_uses_serving_terminating_only_when_no_ready_anywhere():
    c = k8s.examples.uneven()
    c.set_pod("web-1", terminating=True)
    d = decide(c, "web", node="node-a", source=EXT, destination="loadBalancerIP")
    assert pods(d) == ["web-2", "web-3"]  # ready ones win, even though web-1 is local
    c.set_pod("web-2", terminating=True)
    c.set_pod("web-3", terminating=True, ready=False)
    d = decide(c, "web", node="node-c", source=EXT, destination="loadBalancerIP")
    assert pods(d) == ["web-1", "web-2"]  # serving-terminating as the last resort; web-3 is not serving
    c.set_pod("web-1", ready=False)
    c.set_pod("web-2", ready=False)
    assert decide(c, "web", node="node-c", source=EXT, destination="loadBalancerIP").verdict == "REJECT"


def test_endpoints_on_a_not_ready_node_are_not_serving():
    c = k8s.examples.uneven()
    c.set_node("node-b", ready=False)
    d = decide(c, "web", node="node-a", source=EXT, destination="loadBalancerIP")
    assert pods(d) == ["web-1", "web-2"]
    down = decide(c, "web", node="node-b", source=EXT, destination="loadBalancerIP")
    assert down.verdict == "DROP" and "NotReady" in down.reason


# ---------------------------------------------------------------------------- §6 Cilium
def test_cilium_snat_mode_masquerades_only_remote_backends():
    c = k8s.examples.uneven()
    d = decide(c, "web", node="node-a", source=EXT, destination="loadBalancerIP", dataplane="cilium-snat")
    assert d.snat == "remote"
    assert pods(d) == ["web-1", "web-2", "web-3"]
    assert not masq_for(d, c, "web-1", EXT)  # on node-a: client IP kept
    assert masq_for(d, c, "web-3", EXT)      # on node-b: SNAT


def test_cilium_dsr_keeps_client_ip_under_cluster():
    c = k8s.examples.uneven()
    d = decide(c, "web", node="node-c", source=EXT, destination="loadBalancerIP", dataplane="cilium-dsr")
    assert d.dsr and d.snat == "never"
    assert not any(masq_for(d, c, p, EXT) for p in ("web-1", "web-2", "web-3"))


@pytest.mark.parametrize("dp", ["cilium-snat", "cilium-dsr"])
def test_cilium_local_policy(dp):
    c = k8s.examples.empty_node()
    assert decide(c, "web", node="node-c", source=EXT, destination="nodePort", dataplane=dp).verdict == "DROP"
    d = decide(c, "web", node="node-a", source=EXT, destination="nodePort", dataplane=dp)
    assert (pods(d), d.snat) == (["web-1"], "never")


def test_cilium_in_cluster_keeps_pod_ip():
    c = k8s.examples.in_cluster()
    d = decide(c, "web", node="node-c", source=pod_source(c, "client"), destination="clusterIP",
               dataplane="cilium-snat")
    assert d.snat == "never" and pods(d) == ["web-1", "web-2", "web-3"]


def test_no_snat_dataplane_never_masquerades_external():
    c = k8s.examples.uneven()
    d = decide(c, "web", node="node-c", source=EXT, destination="loadBalancerIP", dataplane="no-snat")
    assert d.snat == "never" and "KUBE-MARK-MASQ" not in d.steps


def test_dataplane_registry():
    assert set(DATAPLANES) == {"iptables", "nftables", "ipvs", "cilium-snat", "cilium-dsr", "no-snat"}
    assert get_dataplane("iptables") == KubeProxy()
    assert get_dataplane("cilium-dsr") == Cilium(mode="dsr")
    with pytest.raises(NotFound) as info:
        get_dataplane("iptabels")
    assert "iptables" in str(info.value)
    with pytest.raises(K8sLearnError):
        KubeProxy(mode="userspace")
    with pytest.raises(K8sLearnError):
        Cilium(mode="hybrid")


def test_iptables_and_nftables_agree():
    """Same source-IP semantics (FACTS §6) for every source and destination of interest."""
    for policy in ("Cluster", "Local"):
        c = k8s.examples.empty_node(external_traffic_policy=policy)
        c.add_pod("client", "node-c", labels={"app": "client"})
        sources = {"external": EXT, "pod": pod_source(c, "client"), "node": node_source(c, "node-c")}
        for kind, src in sources.items():
            for dst in ("loadBalancerIP", "nodePort", "clusterIP"):
                if kind == "external" and dst == "clusterIP":
                    continue
                for node in ("node-a", "node-c"):
                    if kind != "external" and node != "node-c":
                        continue
                    a = decide(c, "web", node=node, source=src, destination=dst, dataplane="iptables")
                    b = decide(c, "web", node=node, source=src, destination=dst, dataplane="nftables")
                    assert (a.verdict, pods(a), a.snat) == (b.verdict, pods(b), b.snat), (policy, kind, dst, node)


# ---------------------------------------------------------------------------- errors
def test_decide_errors():
    c = k8s.examples.uneven()
    with pytest.raises(NotFound):
        decide(c, "web", node="node-z", source=EXT, destination="loadBalancerIP")
    with pytest.raises(NotFound) as info:
        decide(c, "web", node="node-a", source=EXT, destination="podIP")
    assert "loadBalancerIP" in str(info.value)
    c.add_service("db", selector={"app": "web"})
    with pytest.raises(InvalidChange, match="no NodePort"):
        decide(c, "db", node="node-a", source=EXT, destination="nodePort")
    with pytest.raises(InvalidChange, match="no load-balancer IP"):
        decide(c, "db", node="node-a", source=EXT, destination="loadBalancerIP")
    with pytest.raises(InvalidChange, match="no externalIPs"):
        decide(c, "web", node="node-a", source=EXT, destination="externalIP")


# ---------------------------------------------------------------------------- health checks (§3)
def test_health_check_local_answers():
    c = k8s.examples.empty_node()
    port = c.service("web").health_check_node_port
    ok = health_check(c, "web", "node-a")
    assert (ok.status, ok.port, ok.path) == (200, port, "/healthz")
    assert dict(ok.body["service"]) == {"namespace": "default", "name": "web"}
    assert ok.body["localEndpoints"] == 1
    assert ok.body["serviceProxyHealthy"] is True
    assert ok.headers["X-Load-Balancing-Endpoint-Weight"] == "1"
    bad = health_check(c, "web", "node-c")
    assert (bad.status, bad.body["localEndpoints"], bad.headers["X-Load-Balancing-Endpoint-Weight"]) == (503, 0, "0")
    assert not bad.healthy


def test_health_check_counts_ready_local_endpoints_only():
    c = k8s.examples.one_two()
    assert health_check(c, "web", "node-b").body["localEndpoints"] == 2
    c.set_pod("web-2", terminating=True)  # serving but terminating: not counted
    hc = health_check(c, "web", "node-b")
    assert (hc.status, hc.body["localEndpoints"], hc.headers["X-Load-Balancing-Endpoint-Weight"]) == (200, 1, "1")
    c.set_pod("web-3", terminating=True)
    assert health_check(c, "web", "node-b").status == 503
    c.set_pod("web-1", ready=False)
    assert health_check(c, "web", "node-a").status == 503


def test_health_check_cluster_policy_uses_kube_proxy_healthz():
    c = k8s.examples.uneven()
    for n in ("node-a", "node-c"):
        hc = health_check(c, "web", n)
        assert (hc.port, hc.status) == (10256, 200)  # even node-c, which has no pods


def test_health_check_not_ready_node_does_not_answer():
    c = k8s.examples.one_two()
    c.set_node("node-a", ready=False)
    hc = health_check(c, "web", "node-a")
    assert hc.status is None and not hc.healthy
    assert "no answer" in str(hc)
    c2 = k8s.examples.uneven()
    c2.set_node("node-c", ready=False)
    assert health_check(c2, "web", "node-c").status is None


def test_decision_repr():
    c = k8s.examples.empty_node()
    assert repr(decide(c, "web", node="node-a", source=EXT, destination="nodePort")) == (
        "Decision(DNAT to one of [web-1] at node-a, snat=never)")
    assert repr(decide(c, "web", node="node-c", source=EXT, destination="nodePort")).startswith("Decision(DROP at node-c")
    assert "object at 0x" not in repr(EXT)
    assert IPv4Address("198.51.100.7") == CLIENT_IP


@pytest.mark.parametrize("dp", ["cilium-snat", "cilium-dsr"])
def test_cilium_not_ready_node_answers_nothing(dp):
    c = k8s.examples.uneven()
    c.set_node("node-b", ready=False)
    d = decide(c, "web", node="node-b", source=EXT, destination="nodePort", dataplane=dp)
    assert d.verdict == "DROP"
