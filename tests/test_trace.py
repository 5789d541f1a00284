"""One connection, hop by hop (k8slearn.send): addresses before and after every rewrite, the reply's
way back, and the headline facts (FACTS.md §1, §2, §5, §6, §9)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

import k8slearn as k8s
from k8slearn.errors import InvalidChange, K8sLearnError, NotFound
from k8slearn.loadbalancer import LB_ADDRESS
from k8slearn.trace import Hop, Packet, Place

CLIENT = IPv4Address("198.51.100.7")
LB_IP = IPv4Address("203.0.113.100")
FRAME_COLUMNS = ["step", "direction", "at", "action", "before", "after", "changed", "rule", "note"]


def actions(trace, reply=False):
    return [h.action for h in (trace.reply if reply else trace.hops)]


def hop(trace, action):
    found = [h for h in trace.hops + trace.reply if h.action == action]
    assert len(found) == 1, (action, actions(trace), actions(trace, True))
    return found[0]


# ---------------------------------------------------------------------------- §1 Cluster
def test_cluster_remote_endpoint_sees_node_ip():
    t = k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1)
    assert t.outcome == "delivered"
    assert t.path == ["client", "load balancer", "node-c", "node-b", "web-3"]
    assert t.reply_path[0] == "web-3" and t.reply_path[-3:] == ["node-c", "load balancer", "client"]
    assert t.source_seen_by_pod == IPv4Address("192.168.0.13")  # node-c's IP
    assert (t.client_ip_kept, t.snat, t.extra_hop) == (False, True, True)
    assert (t.entry_node, t.pod, t.pod_node) == ("node-c", "web-3", "node-b")
    assert actions(t) == ["send", "forward", "DNAT", "SNAT", "route", "deliver"]


@pytest.mark.parametrize("dataplane", ["iptables", "cilium-snat"])
def test_snatted_reply_path_mirrors_the_request_path(dataplane):
    t = k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3", dataplane=dataplane, seed=1)
    assert t.reply_path == list(reversed(t.path))


def test_cluster_local_endpoint_is_still_snatted_to_the_bridge_ip():
    t = k8s.send(k8s.examples.uneven(), "web", via="node-a", endpoint="web-1", seed=1)
    assert t.path == ["client", "load balancer", "node-a", "web-1"]
    assert t.snat and not t.extra_hop
    assert t.source_seen_by_pod == IPv4Address("10.244.1.1")  # node-a's bridge address, not the client
    assert not t.client_ip_kept
    snat = hop(t, "SNAT")
    assert snat.at == Place.of_node("node-a") and snat.at.name == "node-a"
    assert snat.before.src == CLIENT and snat.after.src == IPv4Address("10.244.1.1")
    assert "MASQUERADE" in snat.rule


@pytest.mark.parametrize("seed", range(10))
def test_cluster_never_keeps_the_client_ip_from_outside(seed):
    t = k8s.send(k8s.examples.uneven(), "web", seed=seed)
    assert t.outcome == "delivered"
    assert t.snat and not t.client_ip_kept
    node = t.cluster.node(t.entry_node)
    assert t.source_seen_by_pod == (node.ip if t.extra_hop else node.bridge_ip)
    assert t.extra_hop == (t.pod_node != t.entry_node)


def test_cluster_dnat_rule_lists_kube_proxys_chains():
    t = k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1)
    dnat = hop(t, "DNAT")
    chain_names = dnat.rule.split(" → ")
    assert chain_names[0] == "KUBE-SERVICES"
    assert [c.split("-")[1] for c in chain_names[1:]] == ["EXT", "MARK", "SVC", "SEP"]
    assert dnat.before.dst == LB_IP and dnat.after.dst == IPv4Address("10.244.2.5")
    assert (dnat.before.dport, dnat.after.dport) == (80, 8080)


def test_nodeport_trace():
    t = k8s.send(k8s.examples.uneven(), "web", address="nodePort", via="node-b", endpoint="web-3", seed=1)
    first = t.hops[0]
    assert (first.before.dst, first.before.dport) == (IPv4Address("192.168.0.12"), 30080)
    assert t.path == ["client", "node-b", "web-3"]
    assert "KUBE-NODEPORTS" in hop(t, "DNAT").rule
    assert t.source_seen_by_pod == IPv4Address("10.244.2.1")


def test_external_ip_trace():
    c = k8s.examples.uneven()
    c.patch_service("web", external_ips=["203.0.113.200"])
    t = k8s.send(c, "web", address="externalIP", via="node-a", endpoint="web-3", seed=1)
    assert t.hops[0].before.dst == IPv4Address("203.0.113.200")
    assert t.path == ["client", "router", "node-a", "node-b", "web-3"]
    assert t.snat and t.outcome == "delivered"


# ---------------------------------------------------------------------------- §2 Local
@pytest.mark.parametrize("via, pods", [("node-a", {"web-1"}), ("node-b", {"web-2", "web-3"})])
def test_local_keeps_client_ip_and_has_no_extra_hop(via, pods):
    for seed in range(6):
        t = k8s.send(k8s.examples.one_two(), "web", via=via, seed=seed)
        assert t.outcome == "delivered"
        assert t.pod in pods and t.pod_node == via
        assert t.source_seen_by_pod == CLIENT and t.client_ip_kept
        assert not t.snat and not t.extra_hop
        assert "SNAT" not in actions(t)
        assert "KUBE-SVL-" in hop(t, "DNAT").rule


def test_local_drop_on_a_node_without_endpoints():
    t = k8s.send(k8s.examples.empty_node(), "web", via="node-c", seed=1)
    assert t.outcome == "dropped"
    assert t.path == ["client", "load balancer", "node-c"]
    assert t.reply == () and t.reply_path == []
    assert t.pod is None and t.source_seen_by_pod is None
    assert actions(t)[-1] == "DROP"
    assert "KUBE-EXTERNAL-SERVICES" in t.hops[-1].rule
    assert t.reason == ("node-c has no local endpoint for web, so kube-proxy drops the packet "
                        "(no reply at all: the client times out)")
    assert "DROPPED" in t.summary()


def test_no_endpoints_anywhere_is_refused():
    c = k8s.examples.empty_node()
    c.scale("web", 0)
    t = k8s.send(c, "web", via="node-a", seed=1)
    assert t.outcome == "refused"
    assert actions(t)[-1] == "REJECT"
    assert "refused" in t.reason


def test_pod_to_lb_ip_of_local_service_is_short_circuited_without_snat():
    c = k8s.examples.empty_node()
    c.add_pod("client", "node-c", labels={"app": "client"})
    seen = set()
    for seed in range(20):
        t = k8s.send(c, "web", client="client", address="loadBalancerIP", seed=seed)
        assert t.outcome == "delivered"
        assert "load balancer" not in t.path  # never leaves the cluster
        assert t.entry_node == "node-c"
        assert not t.snat and t.source_seen_by_pod == c.pod("client").ip
        seen.add(t.pod)
    assert seen == {"web-1", "web-2"}  # all endpoints, though node-c has none


def test_node_to_lb_ip_of_local_service_is_masqueraded():
    c = k8s.examples.empty_node()
    t = k8s.send(c, "web", client="node-c", address="loadBalancerIP", endpoint="web-1", seed=1)
    assert t.outcome == "delivered"
    assert t.snat
    assert "KUBE-MARK-MASQ" in hop(t, "DNAT").rule
    assert t.source_seen_by_pod == c.node("node-c").ip


def test_ipvs_local_without_local_endpoints():
    c = k8s.examples.empty_node()
    c.add_pod("client", "node-c", labels={"app": "client"})
    t = k8s.send(c, "web", client="client", address="loadBalancerIP", dataplane="ipvs", seed=1)
    assert t.outcome == "delivered" and not t.snat  # kubernetes/kubernetes#97081: all endpoints for pods
    assert "IPVS real server" in [h for h in t.hops if h.action == "DNAT"][0].rule
    t = k8s.send(c, "web", client="node-c", address="loadBalancerIP", dataplane="ipvs", seed=1)
    assert t.outcome == "dropped"  # black-holed from the node itself (kubernetes/kubernetes#93456)
    t = k8s.send(c, "web", via="node-c", dataplane="ipvs", seed=1)
    assert t.outcome == "reply discarded"  # external: sent to a remote pod without SNAT


# ---------------------------------------------------------------------------- §5 in-cluster
def test_pod_to_cluster_ip_keeps_the_pod_ip():
    c = k8s.examples.in_cluster()
    for endpoint in ("web-1", "web-3"):
        t = k8s.send(c, "web", client="client", endpoint=endpoint, seed=1)
        assert t.hops[0].before.dst == c.service("web").cluster_ip  # ClusterIP is the default from a pod
        assert not t.snat
        assert t.source_seen_by_pod == c.pod("client").ip
        assert t.client_ip_kept
        assert t.outcome == "delivered"
        assert t.path == ["client", "node-c", c.pod(endpoint).node, endpoint]


def test_hairpin_is_snatted_to_the_bridge_ip():
    c = k8s.examples.in_cluster()
    t = k8s.send(c, "web", client="web-1", address="clusterIP", endpoint="web-1", seed=1)
    assert t.snat
    assert t.source_seen_by_pod == IPv4Address("10.244.1.1")
    assert "hairpin" in hop(t, "DNAT").rule
    assert t.outcome == "delivered"


def test_hairpin_notes_do_not_claim_no_snat():
    c = k8s.examples.in_cluster()
    t = k8s.send(c, "web", client="web-1", address="clusterIP", endpoint="web-1", seed=1)
    assert not any("no SNAT" in h.note for h in t.hops)


def test_node_source_to_cluster_ip_is_snatted():
    c = k8s.examples.in_cluster()
    t = k8s.send(c, "web", client="node-c", address="clusterIP", endpoint="web-3", seed=1)
    assert t.snat and "KUBE-MARK-MASQ" in hop(t, "DNAT").rule


def test_masquerade_all_trace():
    c = k8s.examples.in_cluster()
    t = k8s.send(c, "web", client="client", endpoint="web-3", dataplane=k8s.KubeProxy(masquerade_all=True), seed=1)
    assert t.snat and t.source_seen_by_pod == c.node("node-c").ip


def test_internal_traffic_policy_local_drops_on_a_node_without_endpoints():
    c = k8s.examples.in_cluster()
    c.patch_service("web", internal_traffic_policy="Local")
    t = k8s.send(c, "web", client="client", seed=1)
    assert t.outcome == "dropped"
    assert "internalTrafficPolicy is Local" in t.reason


# ---------------------------------------------------------------------------- §6 Cilium, §9 no SNAT
def test_cilium_snat_mode_snats_only_remote():
    c = k8s.examples.uneven()
    local = k8s.send(c, "web", via="node-a", endpoint="web-1", dataplane="cilium-snat", seed=1)
    assert not local.snat and local.client_ip_kept
    remote = k8s.send(c, "web", via="node-a", endpoint="web-3", dataplane="cilium-snat", seed=1)
    assert remote.snat and remote.source_seen_by_pod == IPv4Address("192.168.0.11")
    assert remote.reply_path[-3:] == ["node-a", "load balancer", "client"]


def test_cilium_dsr_keeps_client_ip_and_replies_from_the_backend_node():
    c = k8s.examples.uneven()
    t = k8s.send(c, "web", via="node-c", endpoint="web-3", dataplane="cilium-dsr", seed=1)
    assert t.outcome == "delivered"
    assert t.client_ip_kept and not t.snat and t.extra_hop
    assert t.reply_path == ["web-3", "node-b", "client"]  # not back through node-c or the load balancer
    last = t.reply[-1]
    assert last.action == "accept"
    assert (last.before.src, last.before.sport) == (LB_IP, 80)


def test_no_snat_mode_reply_is_discarded():
    c = k8s.examples.uneven()
    t = k8s.send(c, "web", via="node-c", endpoint="web-3", dataplane="no-snat", seed=1)
    assert t.outcome == "reply discarded"
    assert t.source_seen_by_pod == CLIENT
    assert t.reply_path == ["web-3", "node-b", "client"]  # node-c, which holds the conntrack entry, never sees it
    discard = t.reply[-1]
    assert discard.action == "discard"
    assert discard.before.src == IPv4Address("10.244.2.5")  # the pod IP, not the address the client dialled
    assert "203.0.113.100:80" in t.reason and "discards" in t.reason
    assert "reply is discarded" in t.summary()


def test_no_snat_mode_with_a_local_endpoint_works():
    t = k8s.send(k8s.examples.uneven(), "web", via="node-a", endpoint="web-1", dataplane="no-snat", seed=1)
    assert t.outcome == "delivered" and t.client_ip_kept


# ---------------------------------------------------------------------------- pod-targeting LB
def test_pod_targeting_without_client_ip_preservation():
    t = k8s.send(k8s.examples.uneven(), "web", lb="pod-targeting", seed=3)
    assert t.outcome == "delivered"
    assert t.entry_node is None and not t.extra_hop
    assert not t.client_ip_kept
    assert t.source_seen_by_pod == LB_ADDRESS
    t2 = k8s.send(k8s.examples.uneven(), "web", lb=k8s.LoadBalancer("pod-targeting", preserve_client_ip=True), seed=3)
    assert t2.client_ip_kept and t2.pod == t.pod


# ---------------------------------------------------------------------------- data and display
def test_hop_changed_and_nat_labels():
    b = Packet(CLIENT, 51000, LB_IP, 80)
    a = Packet(CLIENT, 51000, IPv4Address("10.244.1.5"), 8080)
    h = Hop(1, Place.of_node("node-a"), "DNAT", b, a)
    assert h.changed == ("dst", "dport")
    assert h.nat == "DNAT 203.0.113.100:80 -> 10.244.1.5:8080"
    s = Hop(2, Place.of_node("node-a"), "SNAT", a, Packet(IPv4Address("10.244.1.1"), 40000, a.dst, a.dport))
    assert s.changed == ("src", "sport")
    assert s.nat == "SNAT 198.51.100.7 -> 10.244.1.1"
    r = Hop(3, Place.of_node("node-a"), "un-NAT", Packet(a.dst, 8080, IPv4Address("10.244.1.1"), 40000), b.swapped(), direction="reply")
    assert r.changed == ("src", "sport", "dst", "dport")
    assert r.nat == "un-SNAT 10.244.1.1:40000 -> 198.51.100.7:51000; un-DNAT 10.244.1.5 -> 203.0.113.100"
    assert Hop(4, Place.router("x"), "forward", b, b).changed == () and Hop(4, Place.router("x"), "forward", b, b).nat == ""
    with pytest.raises(Exception):
        h.at = Place.of_node("node-b")  # type: ignore[misc]


def test_places_are_typed_so_a_pod_named_client_is_a_pod():
    c = k8s.examples.in_cluster()  # has a pod named "client" on node-c
    t = k8s.send(c, "web", client="client", seed=1)
    first = t.hops[0].at
    assert first == Place.pod("client", node="node-c") and first.kind == "pod"
    assert t.path[0] == "client"  # names, for comparing with a plain list
    outside = k8s.send(c, "web", seed=1)
    assert outside.hops[0].at == Place.client() and outside.hops[0].at.kind == "client"
    assert outside.hops[1].at == Place.lb() and t.hops[-1].at.kind == "pod"
    with pytest.raises(ValueError):
        Place("pods", "web-1")


def test_packet_summary():
    p = Packet(CLIENT, 51000, LB_IP, 80)
    assert str(p) == "198.51.100.7:51000 -> 203.0.113.100:80 TCP"
    assert p.swapped() == Packet(LB_IP, 80, CLIENT, 51000)


def test_to_frame():
    t = k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1)
    f = t.to_frame()
    assert list(f.columns) == FRAME_COLUMNS
    assert len(f) == len(t.hops) + len(t.reply)
    assert list(f["step"]) == list(range(1, len(f) + 1))
    assert list(f["direction"]) == ["request"] * len(t.hops) + ["reply"] * len(t.reply)
    assert list(f["at"]) == [h.at.name for h in t.hops + t.reply]
    dnat = f[f.action == "DNAT"].iloc[0]
    assert dnat["changed"] == "dst,dport"
    assert dnat["before"] == "198.51.100.7:51000 -> 203.0.113.100:80 TCP"
    assert dnat["after"] == "198.51.100.7:51000 -> 10.244.2.5:8080 TCP"
    assert f[f.action == "SNAT"].iloc[0]["changed"] == "src,sport"
    assert len(t.to_frame(reply=False)) == len(t.hops)


def test_reply_reverses_every_rewrite():
    t = k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1)
    unnat = hop(t, "un-NAT")
    assert unnat.at.name == "node-c" and unnat.at.kind == "node"  # the node that holds the conntrack entry
    assert unnat.rule == "conntrack"
    sent = t.hops[0].before
    assert unnat.after == sent.swapped()
    assert t.reply[-1].action == "accept"
    steps = [h.step for h in t.hops + t.reply]
    assert steps == list(range(1, len(steps) + 1))


def test_trace_display():
    t = k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1)
    assert "object at 0x" not in repr(t)
    assert str(t) == ("198.51.100.7 -> service web via node-c: delivered to web-3 on node-b; "
                      "the pod sees 192.168.0.13 (not the client's IP: SNAT), extra node hop")
    out = t._repr_html_()
    assert out.startswith("<div>") and "KUBE-SERVICES" in out and "web-3" in out
    assert "object at 0x" not in str(t.hops[0]) and "object at 0x" not in repr(t.hops[0])


def test_trace_keeps_a_snapshot_of_the_cluster():
    c = k8s.examples.uneven()
    t = k8s.send(c, "web", via="node-c", endpoint="web-3", seed=1)
    c.move_pod("web-3", "node-c")
    assert t.cluster.pod("web-3").node == "node-b"


def test_same_seed_same_trace():
    c = k8s.examples.uneven()
    assert k8s.send(c, "web", seed=42) == k8s.send(c, "web", seed=42)
    picks = {(k8s.send(c, "web", seed=s).entry_node, k8s.send(c, "web", seed=s).pod) for s in range(40)}
    assert len(picks) > 3  # the seed really varies the pick


# ---------------------------------------------------------------------------- errors
def test_cluster_ip_from_outside_is_an_error():
    with pytest.raises(InvalidChange) as info:
        k8s.send(k8s.examples.uneven(), "web", address="clusterIP", seed=1)
    assert "cannot reach" in str(info.value) and "ClusterIP" in str(info.value)
    assert info.value.hint


def test_endpoint_not_among_candidates_is_an_error():
    c = k8s.examples.one_two()
    with pytest.raises(InvalidChange) as info:
        k8s.send(c, "web", via="node-a", endpoint="web-2", seed=1)  # Local: node-a only has web-1
    assert "would not send this packet to \"web-2\"" in str(info.value)
    assert "web-1" in info.value.hint


def test_unknown_names_are_errors():
    c = k8s.examples.uneven()
    with pytest.raises(NotFound):
        k8s.send(c, "db", seed=1)
    with pytest.raises(NotFound):
        k8s.send(c, "web", via="node-z", seed=1)
    with pytest.raises(NotFound):
        k8s.send(c, "web", address="podIP", seed=1)
    with pytest.raises(NotFound):
        k8s.send(c, "web", dataplane="iptabels", seed=1)
    with pytest.raises(K8sLearnError):
        k8s.send(c, "web", lb="round-robin", seed=1)


# ---------------------------------------------------------------------------- a NAT in front
def test_a_nat_in_front_is_the_source_the_node_sees():
    """An SNAT hop in front of the load balancer (an office NAT) is, to kube-proxy, the client: the
    loadBalancerSourceRanges judge its address, and sessionAffinity keys on it (issue 16)."""
    from k8slearn.proxychain import Proxy

    nat = [Proxy("office NAT", "198.51.100.1", layer="SNAT")]
    c = k8s.examples.uneven()
    c.patch_service("web", load_balancer_source_ranges=["198.51.100.7/32"])
    assert k8s.send(c, "web", via="node-a", seed=1).outcome == "delivered"
    blocked = k8s.send(c, "web", via="node-a", seed=1, proxies=nat)
    assert blocked.outcome == "dropped" and "198.51.100.1" in blocked.reason
    c.patch_service("web", load_balancer_source_ranges=[], session_affinity="ClientIP")
    memory: dict = {}
    pods = {k8s.send(c, "web", client=f"198.51.100.{20 + k}", via="node-c", seed=k, proxies=nat, affinity=memory).pod
            for k in range(12)}
    assert len(pods) == 1 and list(memory) == [("node-c", "web", IPv4Address("198.51.100.1"))]
