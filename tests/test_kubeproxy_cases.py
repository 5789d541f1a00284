"""The simulator's kube-proxy against kube-proxy's own packet-flow tests (tests/kubeproxy_cases.py).

Each upstream case becomes a two-node cluster: node-a is the node whose kube-proxy handles the
packet ("test-node" upstream), node-b holds the remote endpoints. Cases about features k8slearn
does not model are skipped with the reason, so the count of what is checked stays visible.
"""

from __future__ import annotations

import ipaddress

import pytest
from kubeproxy_cases import CASES

from k8slearn.dataplane import KubeProxy, Source, decide, decide_packet
from k8slearn.model import Cluster
from k8slearn.validation import SERVICE_CIDR

EXTERNAL_CLIENT = ipaddress.IPv4Address("203.0.113.2")


def _unsupported(case: dict) -> str | None:
    svc = case["service"]
    if case["destination"] == "nodePort" and svc.get("node_port") is False:
        return "allocateLoadBalancerNodePorts=false is not modelled"
    for e in case["endpoints"]:
        if e["ready"] and not (e["serving"] and not e["terminating"]):
            return "endpoint conditions that Kubernetes never publishes"
    return None


def _v6(case: dict) -> bool:
    return case["kube_proxy"].get("ip_family") == "IPv6"


def _build(case: dict) -> tuple[Cluster, dict[str, str]]:
    """The case's cluster: node-a is upstream's test-node; IPv6 cases get a dual-stack cluster and
    an IPv6 single-stack service (upstream runs them through the IPv6 proxier alone)."""
    families = ["IPv4", "IPv6"] if _v6(case) else ["IPv4"]
    cluster = Cluster.from_layout({"node-a": 0, "node-b": 0}, type="ClusterIP", ip_families=families)
    cluster.delete_service("web")
    names = {}
    for e in case["endpoints"]:
        pod = cluster.add_pod(f"pod-{e['name']}", "node-a" if e["local"] else "node-b",
                              labels={"app": "svc"}, ready=e["serving"], terminating=e["terminating"])
        names[pod.name] = e["name"]
    svc = case["service"]
    external_ips = [cluster.external_ip_for("svc")] if svc["external_ips"] or case["destination"] == "externalIP" else []
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster.add_service("svc", type=svc["type"], selector={"app": "svc"}, external_ips=external_ips,
                            external_traffic_policy=svc["external_traffic_policy"],
                            internal_traffic_policy=svc["internal_traffic_policy"],
                            load_balancer_source_ranges=svc.get("load_balancer_source_ranges") or (),
                            ip_families=["IPv6"] if _v6(case) else None)
    return cluster, names


# Upstream's node addresses (test-node: 192.168.0.2 primary, 192.168.1.2 secondary, 2001:db8::1,
# 2001:db8:1::2) and ours (node-a: its IP, and its bridge address as the second local address).
def nodeport_addresses(case: dict, cluster: Cluster) -> tuple[str, ...] | None:
    """The case's --nodeport-addresses, translated to node-a's addresses."""
    cidrs = case["kube_proxy"].get("nodeport_addresses")
    if cidrs is None:
        return None
    node = cluster.node("node-a")
    table = {"192.168.0.0/24": "192.168.0.0/24", "192.168.1.0/24": str(node.pod_cidr),
             "2001:db8::/64": "fd00:192:168::/64",
             "2001:db8:1::2/128": f"{node.bridge_ip6}/128" if node.bridge_ip6 is not None else "2001:db8:1::2/128",
             "127.0.0.1/32": "127.0.0.1/32", "127.0.0.0/8": "127.0.0.0/8"}
    return tuple(table[c] for c in cidrs)


def node_ip(case: dict, cluster: Cluster):
    """The node address a NodePort case dials (None: the usual one)."""
    if case["destination"] != "nodePort" or case.get("dest_node_address") != "secondary":
        return None
    return cluster.node("node-a").bridge("IPv6" if _v6(case) else "IPv4")


def kube_proxy(case: dict, cluster: Cluster, mode: str) -> KubeProxy:
    kp = case["kube_proxy"]
    return KubeProxy(mode=mode, masquerade_all=kp["masquerade_all"], detect_local=kp["detect_local"],
                     localhost_node_ports=kp.get("localhost_nodeports", True),
                     nodeport_addresses=nodeport_addresses(case, cluster))


def by_packet(case: dict) -> bool:
    """Whether the case sends a packet to something other than a service's own address and port
    (a health-check port, a wrong port, an address no service has): :func:`decide_packet` answers."""
    return case["destination"] in ("healthCheckNodePort", "non-service") or bool(case.get("wrong_port"))


def packet_target(case: dict, cluster: Cluster) -> tuple:
    """The case's (destination address, port, protocol) in our cluster; for a "deleted" case the
    service is deleted here, after its health-check port was read."""
    svc, node = cluster.service("svc"), cluster.node("node-a")
    protocol = case.get("protocol", "TCP")
    if case["destination"] == "healthCheckNodePort":
        target = (node.ip, svc.health_check_node_port, protocol)
    elif case["destination"] == "non-service":
        up = ipaddress.ip_address(case["dest_ip"])
        if up in ipaddress.ip_network("172.30.0.0/16"):  # upstream's service CIDR: an unallocated ClusterIP
            target = (SERVICE_CIDR.network_address + (int(up) & 0xFFFF), case["dest_port"], protocol)
        else:  # upstream's pod CIDR, an address no pod or service has
            target = (cluster.cluster_cidr.network_address + (int(up) & 0xFFFFFF), case["dest_port"], protocol)
    else:  # a service's ClusterIP, on a port or protocol it does not have
        target = (svc.cluster_ip, case["dest_port"], protocol)
    if case["service"].get("deleted"):
        cluster.delete_service("svc")
    return target


def _source(case: dict, cluster: Cluster) -> Source:
    kind = case["source"]
    family = "IPv6" if _v6(case) else "IPv4"
    if case.get("dest_node_address") == "loopback":
        kind = "localhost"
    if kind == "pod-local":
        if case.get("source_endpoint"):
            pod = cluster.pod(f"pod-{case['source_endpoint']}")
        else:
            pod = cluster.add_pod("client", "node-a")
        return Source("pod", pod.address(family), node="node-a", pod=pod.name)
    if kind == "pod-remote":
        pod = cluster.add_pod("client", "node-b")
        return Source("pod", pod.address(family), node="node-b", pod=pod.name)
    if kind == "node":
        return Source("node", cluster.node("node-a").address(family), node="node-a")
    if kind == "localhost":
        return Source("localhost", ipaddress.ip_address("127.0.0.1" if family == "IPv4" else "::1"), node="node-a")
    if kind == "lb-ip":
        # This node's own connection to a VIP it holds loops back with the VIP as its source
        # (TestLoadBalancer "same node to LB..., SNATted to LB"): not LOCAL for the rules, not a pod.
        return Source("external", cluster.service("svc").load_balancer_ip)
    # The upstream client address: inside or outside loadBalancerSourceRanges matters.
    return Source("external", ipaddress.ip_address(case["source_ip"]) if case["source_ip"] else EXTERNAL_CLIENT)


def _params():
    out = []
    for case in CASES:
        modes = {"both": ["iptables", "nftables"], "iptables": ["iptables"], "nftables": ["nftables"]}[
            case.get("dataplane", "both")]
        for mode in modes:
            reason = _unsupported(case)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            out.append(pytest.param(case, mode, id=f"{mode}: {case['upstream']}", marks=marks))
    return out


@pytest.mark.parametrize(("case", "mode"), _params())
def test_upstream_case(case: dict, mode: str) -> None:
    cluster, names = _build(case)
    source = _source(case, cluster)
    dp = kube_proxy(case, cluster, mode)
    expect = case["expect_nftables"] if mode == "nftables" and "expect_nftables" in case else case["expect"]
    if by_packet(case):
        dst, dport, protocol = packet_target(case, cluster)
        d = decide_packet(cluster, node="node-a", source=source, dst=dst, dport=dport, protocol=protocol, dataplane=dp)
    else:
        d = decide(cluster, "svc", node="node-a", source=source, destination=case["destination"], dataplane=dp,
                   node_ip=node_ip(case, cluster))
    verdict = expect["verdict"]
    assert d.verdict == verdict, d.reason
    if verdict == "DNAT":
        assert sorted(names[e.pod] for e in d.endpoints) == sorted(expect["endpoints"])
        for e in d.endpoints:
            assert d.masquerades(e, source.ip) == expect["masquerade"], (names[e.pod], d.reason)
