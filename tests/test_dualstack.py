"""Dual-stack: IPv6 in the model (validated like the API server), the simulator, both renderers and
the kernel (issue 16).

IPv4 stays exactly as it was (the rest of the suite and the notebooks check that); here:
- the model: a dual-stack cluster's nodes and pods, services with ``ipFamilies`` /
  ``ipFamilyPolicy`` defaulted, allocated and refused in the API server's words;
- the simulator: the packet's family picks the proxier, and IPv6 behaves as IPv4 does;
- the renderers (ip6tables text, the ``ip6 kube-proxy`` table): the rule walkers agree with
  :func:`decide` for IPv6 clients, and (as root) the kernel loads both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
import warnings
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from k8slearn import examples, send
from k8slearn.dataplane import KubeProxy, Source, decide, nft
from k8slearn.dataplane.rules import render, ruleset
from k8slearn.errors import InvalidChange, InvalidService
from k8slearn.manifests import service_from_manifest, service_manifest
from k8slearn.model import CLIENT_IP, CLIENT_IP6, Cluster

DUAL = ["IPv4", "IPv6"]


# --------------------------------------------------------------------------- the model


def test_a_dual_stack_cluster_gives_nodes_and_pods_both_families():
    c = examples.dual_stack()
    a = c.node("node-a")
    assert (a.ip, a.ip6, str(a.pod_cidr6), a.bridge_ip6) == (
        IPv4Address("192.168.0.11"), IPv6Address("fd00:192:168::11"), "fd00:10:244:1::/64",
        IPv6Address("fd00:10:244:1::1"))
    assert [(p.name, str(p.ip), str(p.ip6)) for p in c.pods] == [
        ("web-1", "10.244.1.5", "fd00:10:244:1::5"), ("web-2", "10.244.1.6", "fd00:10:244:1::6"),
        ("web-3", "10.244.2.5", "fd00:10:244:2::5")]
    moved = c.move_pod("web-2", "node-c")
    assert (str(moved.ip), str(moved.ip6)) == ("10.244.3.5", "fd00:10:244:3::5")
    added = c.add_pod("client", "node-b")
    assert added.ip6 is not None and c.owner_of(added.ip6) == added
    assert c.add_node().ip6 is not None
    assert c.copy().dual_stack


def test_an_ipv4_cluster_is_unchanged():
    c = examples.uneven()
    svc = c.service("web")
    assert (svc.families, svc.ip_family_policy, svc.cluster_ips) == (("IPv4",), "SingleStack", (svc.cluster_ip,))
    assert repr(svc) == "Service('web', type='LoadBalancer', external_traffic_policy='Cluster')"
    assert c.nodes[0].ip6 is None and c.pods[0].ip6 is None and not c.dual_stack
    assert c.endpoints("web") == c.endpoints("web", family="IPv4") and c.endpoints("web", family="IPv6") == ()


def test_service_families_are_defaulted_and_allocated_like_the_api_server():
    c = Cluster.from_layout([1, 1], ip_families=DUAL)
    web = c.service("web")  # SingleStack by default: the cluster's primary family only
    assert (web.families, web.ip_family_policy, len(web.cluster_ips)) == (("IPv4",), "SingleStack", 1)
    both = c.add_service("both", type="LoadBalancer", selector={"app": "web"}, ip_family_policy="PreferDualStack")
    assert both.families == ("IPv4", "IPv6")
    assert [str(a) for a in both.cluster_ips] == [str(both.cluster_ip), "fd00:10:96::10"]
    assert [str(a) for a in both.load_balancer_ips] == [str(both.load_balancer_ip), "2001:db8:113::100"]
    six = c.add_service("six", type="NodePort", selector={"app": "web"}, ip_families=["IPv6"])
    assert six.families == ("IPv6",) and six.cluster_ip == IPv6Address("fd00:10:96::11")
    assert [str(e.ip) for e in c.endpoints("six")] == ["fd00:10:244:1::5", "fd00:10:244:2::5"]
    v6_first = c.add_service("v6-first", selector={"app": "web"}, ip_families=["IPv6", "IPv4"],
                             ip_family_policy="RequireDualStack")
    assert v6_first.cluster_ip.version == 6 and v6_first.cluster_ips[1].version == 4
    # upgrade to dual-stack, and back (the primary stays; SingleStack releases the second family)
    up = c.patch_service("web", ip_family_policy="PreferDualStack")
    assert up.families == ("IPv4", "IPv6") and len(up.load_balancer_ips) == 2 and up.cluster_ip == web.cluster_ip
    down = c.patch_service("web", ip_family_policy="SingleStack")
    assert (down.families, down.cluster_ips, len(down.load_balancer_ips)) == (("IPv4",), (web.cluster_ip,), 1)


@pytest.mark.parametrize(("cluster_families", "kwargs", "says"), [
    (["IPv4"], dict(ip_family_policy="RequireDualStack"),
     'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services'),
    (["IPv4"], dict(ip_families=["IPv6"]), 'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster'),
    (DUAL, dict(ip_families=["IPv4", "IPv6"], ip_family_policy="SingleStack"),
     "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when "
     "multiple IP families are specified"),
    (DUAL, dict(ip_families=["IPv5"]), 'spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'),
    (DUAL, dict(ip_families=["IPv6", "IPv6"]), 'spec.ipFamilies[1]: Duplicate value: "IPv6"'),
    (DUAL, dict(ip_family_policy="DualStack"),
     'spec.ipFamilyPolicy: Unsupported value: "DualStack": supported values: "PreferDualStack", "RequireDualStack", '
     '"SingleStack"'),
    (DUAL, dict(ip_families="IPv6"), "spec.ipFamilies: Invalid value"),
    (DUAL, dict(cluster_ip="fd00:10:97::1"), "The range of valid IPs is fd00:10:96::/112"),
    (DUAL, dict(cluster_ip="fd00:10:96::99", ip_families=["IPv4"]),
     "expected an IPv4 value as indicated by `ipFamilies[0]`"),
    (["IPv4"], dict(external_ips=["2001:db8::200"]), "IPv4 addresses only"),
])
def test_family_mistakes_are_refused_in_the_api_servers_words(cluster_families, kwargs, says):
    c = Cluster.from_layout([1], ip_families=cluster_families)
    with pytest.raises(InvalidService) as err:
        c.add_service("x", selector={"app": "web"}, **kwargs)
    assert says in str(err.value) and err.value.hint
    assert [s.name for s in c.services] == ["web"]  # nothing changed


def test_the_primary_family_never_changes():
    c = examples.dual_stack()
    with pytest.raises(InvalidService, match=r'spec.ipFamilies\[0\]: Invalid value: \["IPv6", "IPv4"\]: may not change once set'):
        c.patch_service("web", ip_families=["IPv6", "IPv4"])


def test_a_cluster_is_ipv4_or_dual_stack():
    with pytest.raises(InvalidChange, match="IPv4 clusters and dual-stack clusters"):
        Cluster.from_layout([1], ip_families=["IPv6"])


def test_manifests_carry_the_families_both_ways():
    c = examples.dual_stack()
    doc = service_manifest(c, "web", pin_addresses=True)
    assert doc["spec"]["ipFamilyPolicy"] == "PreferDualStack" and doc["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert doc["spec"]["clusterIPs"] == ["10.96.0.10", "fd00:10:96::10"]
    assert "ipFamilies" not in service_manifest(examples.uneven(), "web")["spec"]  # IPv4: as before
    other = Cluster.from_layout([1, 1], ip_families=DUAL)
    other.delete_service("web")
    back = service_from_manifest(doc, other)
    assert back.families == ("IPv4", "IPv6") and back.cluster_ip == IPv4Address("10.96.0.10")


# --------------------------------------------------------------------------- the simulator


def _v6(source: Source) -> Source:
    """The same source over IPv6 (the cluster's mirrored address)."""
    mirror = {"external": CLIENT_IP6}
    return Source(source.kind, mirror.get(source.kind, source.ip), node=source.node, pod=source.pod)


@pytest.mark.parametrize("etp", ["Cluster", "Local"])
@pytest.mark.parametrize("mode", ["iptables", "nftables", "ipvs", "cilium-snat"])
def test_ipv6_decides_as_ipv4_does(etp, mode):
    c = examples.dual_stack(external_traffic_policy=etp)
    c.add_pod("client", "node-c")
    for node in c.nodes:
        for kind, v4, v6 in [("external", CLIENT_IP, CLIENT_IP6),
                             ("node", node.ip, node.ip6),
                             ("pod", c.pod("client").ip, c.pod("client").ip6)]:
            for destination in ("clusterIP", "nodePort", "loadBalancerIP"):
                where = dict(node=node.name, destination=destination, dataplane=mode)
                pod = "client" if kind == "pod" else None
                home = "node-c" if kind == "pod" else node.name if kind == "node" else None
                four = decide(c, "web", source=Source(kind, v4, node=home, pod=pod), **where)
                six = decide(c, "web", source=Source(kind, v6, node=home, pod=pod), **where)
                assert (six.verdict, six.snat, [e.pod for e in six.endpoints]) == \
                    (four.verdict, four.snat, [e.pod for e in four.endpoints]), (kind, destination, node.name)
                assert all(e.ip.version == 6 for e in six.endpoints)


def test_a_family_the_service_lacks_is_an_error():
    c = Cluster.from_layout([1, 1], ip_families=DUAL)  # web: IPv4 only
    with pytest.raises(InvalidChange, match="web has no IPv6 address: its ipFamilies are IPv4") as err:
        decide(c, "web", node="node-a", source=Source("external", CLIENT_IP6), destination="loadBalancerIP")
    assert "PreferDualStack" in err.value.hint
    with pytest.raises(InvalidChange, match="IPv6 client, and this cluster has IPv4 addresses only"):
        send(examples.uneven(), "web", client="2001:db8:100::7", seed=1)


def test_ipv6_source_ranges_are_judged_by_the_ipv6_proxier():
    c = examples.dual_stack()
    c.patch_service("web", load_balancer_source_ranges=["198.51.100.0/24", "2001:db8:100::/120"])
    ok = decide(c, "web", node="node-a", source=Source("external", CLIENT_IP6), destination="loadBalancerIP")
    blocked = decide(c, "web", node="node-a", source=Source("external", ip_address("2001:db8:200::7")),
                     destination="loadBalancerIP")
    assert ok.verdict == "DNAT" and blocked.verdict == "DROP" and "2001:db8:100::/120" in blocked.reason
    only_v4 = examples.dual_stack()
    only_v4.patch_service("web", load_balancer_source_ranges=["198.51.100.0/24"])  # nothing for IPv6 to check
    assert decide(only_v4, "web", node="node-a", source=Source("external", ip_address("2001:db8:200::7")),
                  destination="loadBalancerIP").verdict == "DNAT"


def test_localhost_nodeports_never_work_over_ipv6():
    c = examples.dual_stack()
    d = decide(c, "web", node="node-a", source=Source("localhost", ip_address("::1"), node="node-a"),
               destination="nodePort")
    assert d.verdict == "NO_MATCH" and "IPv6" in d.reason


def test_an_ipv6_client_is_traced_hop_by_hop():
    c = examples.dual_stack()
    t = send(c, "web", client=CLIENT_IP6, via="node-c", endpoint="web-3", seed=1)
    assert t.path == ["client", "load balancer", "node-c", "node-b", "web-3"]
    assert t.source_seen_by_pod == c.node("node-c").ip6 and t.outcome == "delivered"
    assert "[2001:db8:100::7]:51000" in t.hops[0].before.summary()
    local = examples.dual_stack(external_traffic_policy="Local")
    assert send(local, "web", client=CLIENT_IP6, via="node-a", seed=1).source_seen_by_pod == CLIENT_IP6
    on_node = send(c, "web", client=CLIENT_IP6, via="node-a", endpoint="web-1", seed=1)
    assert on_node.source_seen_by_pod == c.node("node-a").bridge_ip6  # masqueraded toward its own pods


# --------------------------------------------------------------------------- the renderers


def test_ip6tables_rules_have_no_localhost_nodeports():
    c = examples.dual_stack()
    text = render(c, "node-a", family="IPv6", jumps=True)
    assert "KUBE-FIREWALL" not in text and "127.0.0.0/8" not in text
    assert "--dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS" in text
    assert "-j DNAT --to-destination [fd00:10:244:1::5]:8080" in text
    assert "! -s fd00:10:244::/48 -j KUBE-MARK-MASQ" in text
    assert render(examples.dual_stack(ip_family_policy="SingleStack"), "node-a", family="IPv6").count("KUBE-SVC-") == 0
    v4 = ruleset(c, "node-a", family="IPv4")
    assert v4.text() == ruleset(examples.uneven(), "node-a").text().replace("uneven", "dual-stack")


def test_nftables_ip6_table():
    c = examples.dual_stack()
    rs = nft.ruleset(c, "node-a", family="IPv6")
    assert rs.family == "ip6"
    assert rs.elements("nodeport-ips") == [("fd00:192:168::11", "")]
    entries = dict(rs.elements("service-ips"))
    assert entries["fd00:10:96::10 . tcp . 80"].startswith("goto service-")
    assert entries["2001:db8:113::100 . tcp . 80"].startswith("goto external-")
    text = rs.text()
    assert "add table ip6 kube-proxy" in text and "type ipv6_addr" in text
    assert "ip6 daddr { fd00:10:96::/112 } drop" in text and "dnat to [fd00:10:244:2::5]:8080" in text


@pytest.mark.parametrize("etp", ["Cluster", "Local"])
@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_rule_walkers_agree_with_decide_for_ipv6_clients(etp, mode):
    from test_nft import compare as nft_compare
    from test_rules import _compare as ipt_compare

    compare = ipt_compare if mode == "iptables" else nft_compare
    base = examples.dual_stack(external_traffic_policy=etp)
    base.add_pod("client", "node-c")
    for variant in ("as is", "iTP Local", "source ranges", "affinity", "no endpoints"):
        c = base.copy()
        if variant == "iTP Local":
            c.patch_service("web", internal_traffic_policy="Local")
        elif variant == "source ranges":
            c.patch_service("web", load_balancer_source_ranges=["2001:db8:100::/64", "fd00:192:168::/120"])
        elif variant == "affinity":
            c.patch_service("web", session_affinity="ClientIP", load_balancer_source_ranges=["2001:db8:100::/64"])
        elif variant == "no endpoints":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                c.patch_service("web", selector={"app": "nothing"})
        for node in c.nodes:
            sources = [Source("external", CLIENT_IP6), Source("external", ip_address("2001:db8:200::9")),
                       Source("external", c.service("web").load_balancer_ips_of("IPv6")[0]),
                       Source("node", node.ip6, node=node.name),
                       *(Source("pod", p.ip6, node=p.node, pod=p.name) for p in c.pods)]
            for source in sources:
                for destination in ("clusterIP", "nodePort", "loadBalancerIP"):
                    compare(c, "web", node.name, source, destination, KubeProxy(mode=mode))


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip6tables-restore") or not shutil.which("nft"),
    reason="loading rules needs root, ip6tables and nft (CI runs as root)")


@needs_root
@pytest.mark.root
def test_the_kernel_loads_both_ipv6_renderings():
    ns = f"k8sl-v6-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        c = examples.dual_stack(external_traffic_policy="Local")
        c.patch_service("web", load_balancer_source_ranges=["2001:db8:100::/64"], session_affinity="ClientIP")
        for node in c.nodes:
            run = subprocess.run(["ip", "netns", "exec", ns, "ip6tables-restore"], text=True, check=False,
                                 input=render(c, node.name, family="IPv6", jumps=True), capture_output=True)
            assert run.returncode == 0, run.stderr
            text = "add table ip6 kube-proxy\ndelete table ip6 kube-proxy\n" + nft.render(c, node.name, family="IPv6")
            run = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], text=True, check=False, input=text,
                                 capture_output=True)
            assert run.returncode == 0, run.stderr
        saved = subprocess.run(["ip", "netns", "exec", ns, "ip6tables-save"], text=True, capture_output=True,
                               check=True).stdout
        assert "KUBE-FW-" in saved and "[fd00:10:244:" in saved
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
