"""Packet-flow cases ported from kube-proxy's own unit tests (data only, no upstream code).

Sources read (kubernetes/kubernetes):

* ``pkg/proxy/iptables/proxier_test.go``, v1.33/v1.34: the file still builds the sync runner from
  ``pkg/util/async`` and pins the LoadBalancerIPMode test to emulation version 1.31. Tests ported: ``TestTracePacket``, ``TestNoEndpointsReject``,
  ``TestClusterIPGeneral``, ``TestLoadBalancer``, ``TestNodePorts``, ``TestHealthCheckNodePort``,
  ``TestExternalTrafficPolicyLocal``, ``TestExternalTrafficPolicyCluster``,
  ``TestInternalTrafficPolicy``, ``TestTerminatingEndpointsTrafficPolicyLocal``,
  ``TestTerminatingEndpointsTrafficPolicyCluster``, ``TestInternalExternalMasquerade`` (all four
  variants: "base", "no LocalTrafficDetector", "masqueradeAll",
  "masqueradeAll, no LocalTrafficDetector").
  ``TestOverallIPTablesRules`` checks exact rule text and runs no packet-flow cases in this
  version. Its fixture is the same as ``TestTracePacket``'s, which does (ported below).
  ``TestEndpointSliceWithTerminatingEndpointsIptables`` no longer exists. Its packet-level content
  now lives in the two ``TestTerminatingEndpointsTrafficPolicy*`` tests.
* ``pkg/proxy/nftables/proxier_test.go`` at commit 81810de635aa13aa0a32992f6def3aa9d6025ebc
  (v1.35-era). Its ``TestInternalExternalMasquerade`` has the same cases and expectations as the
  iptables one, except that the three "localhost to NodePort" cases are missing (nftables mode does
  not support localhost NodePorts). Its ``TestClusterIPGeneral`` expects REJECT where iptables
  expects no match, and adds "packet to unallocated cluster ip" -> DROP. Its ``TestNodePorts`` has
  its own variants (NodePorts only on the primary address unless --nodeport-addresses say more),
  ported as ``TestNodePorts(nftables)``. The ``expect_nftables`` and ``dataplane`` fields below
  record this.
* Semantics cross-checked against ``pkg/proxy/iptables/proxier.go`` (``syncProxyRules``, same
  releases) and ``pkg/proxy/topology.go`` (``CategorizeEndpoints``). See
  ``docs/kube-proxy-semantics.md``.

Upstream fixture (``NewFakeProxier``). The node that runs kube-proxy is "test-node":

* pod CIDR / cluster CIDR used by the LocalTrafficDetector: 10.0.0.0/8 (IPv6: fd00:10::/64)
* node IPs (all LOCAL addresses): 192.168.0.2 (primary), 192.168.1.2 (secondary), 192.168.99.11
  (the externalIP used in several tests is *also* a node address), 2001:db8::1, 2001:db8:1::2;
  plus 127.0.0.1 / ::1
* service ClusterIPs 172.30.0.0/16; LB IPs 1.2.3.4, 5.6.7.8, 9.10.11.12; external clients
  203.0.113.2 (inside LB source range 203.0.113.0/25) and 203.0.113.130 (outside it)
* an endpoint is local iff its EndpointSlice ``nodeName`` == "test-node"; endpoints with no
  nodeName count as remote. Endpoint conditions left unset mean ready=serving=True,
  terminating=False.
* defaults: masqueradeAll=False, LocalTrafficDetector by CIDR, localhostNodePorts=True,
  nodePortAddresses=None (all local addresses).

Upstream sources a packet from a pod IP (10.0.0.2 or 10.180.0.2) and runs it through this node's
rules. That is a pod on this node ("pod-local"). A pod on another node would be DNAT'd by its own
node.

CASE FORMAT (as agreed) plus these documented additions:

case-level
  ``source_ip``, ``dest_ip``, ``dest_port``, ``protocol``  upstream literals, for traceability
      (``protocol`` defaults to "TCP").
  ``source``  also allows "lb-ip": a packet from this node whose source was SNATted to the LB
      IP (TestLoadBalancer "same node to LB..., SNATted to LB").
  ``source_endpoint``  name of the endpoint whose pod sends the packet (hairpin). Absent = the
      source is not an endpoint of the service.
  ``destination``  also allows "healthCheckNodePort" and "non-service" (an IP that is not a service).
  ``dest_node_address``  for NodePort destinations only: "primary" | "secondary" | "loopback".
      Default "primary".
  ``wrong_port``  True when the packet goes to a service IP on a port/protocol the service does not
      expose.
  ``dataplane``  "both" (default) | "iptables" | "nftables": where upstream tests the case.
  ``expect_nftables``  when present, the nftables expectation, which differs from ``expect``
      (the iptables one).
  ``note``  free text.
service
  ``node_port`` (bool, default True for NodePort/LoadBalancer), ``load_balancer_ips`` (int, default
  1 for LoadBalancer), ``load_balancer_source_ranges`` (list of CIDRs, default None),
  ``session_affinity`` ("None" | "ClientIP", default "None"), ``deleted`` (True: service removed
  before the packet is sent; default False).
endpoint
  ``ip``  upstream address (names are ep1, ep2, ...).
kube_proxy
  ``localhost_nodeports`` (default True), ``nodeport_addresses`` (list of CIDRs or None = all),
  ``ip_family`` ("IPv4" default | "IPv6").
expect.verdict
  also "ACCEPT" (filter ACCEPT, used for the health-check NodePort) and "NO_MATCH" (kube-proxy
  does not touch the packet: upstream output ""). ``masquerade`` is False for every non-DNAT
  verdict.

Faithful quirks kept as upstream has them (see each case's ``note``):

* TestInternalExternalMasquerade "node to NodePort with eTP:Local" sends to port 3001, which is
  svc1's NodePort (eTP Cluster), not svc2's 3002. The case below therefore uses svc1.
* TestNodePorts "ipv4, localhost-nodeports enabled, multiple nodeport-addresses" actually sets
  localhostNodePorts=False.

Cases that cannot be expressed: none. ``TestHealthCheckNodePort``'s second case (service deleted)
uses ``service.deleted``.
"""

from __future__ import annotations

import copy

__all__ = ["CASES", "FIXTURE"]

FIXTURE = dict(
    node_name="test-node",
    pod_cidr="10.0.0.0/8",
    pod_cidr_v6="fd00:10::/64",
    node_ip="192.168.0.2",
    node_ip_secondary="192.168.1.2",
    node_ip_v6="2001:db8::1",
    node_ip_v6_secondary="2001:db8:1::2",
    external_ip_on_node="192.168.99.11",
    external_client="203.0.113.2",
    external_client_blocked="203.0.113.130",
    external_client_v6="2600:5200::1",
    lb_source_range="203.0.113.0/25",
)

NODE = "192.168.0.2"
EXT = "203.0.113.2"
EXT_BLOCKED = "203.0.113.130"
POD = "10.0.0.2"

CASES: list[dict] = []


# ---------------------------------------------------------------- helpers (data builders only)
def svc(type_="ClusterIP", etp=None, itp="Cluster", external_ips=False, **extra):
    """Service description. etp defaults to "Cluster" for NodePort/LoadBalancer."""
    if etp is None and type_ in ("NodePort", "LoadBalancer"):
        etp = "Cluster"
    d = dict(type=type_, external_traffic_policy=etp, internal_traffic_policy=itp,
             external_ips=external_ips)
    d.update(extra)
    return d


def ep(name, ip, local, ready=True, serving=None, terminating=False):
    if serving is None:
        serving = ready
    return dict(name=name, ip=ip, local=local, ready=ready, serving=serving,
                terminating=terminating)


def kp(masquerade_all=False, detect_local=True, **extra):
    d = dict(masquerade_all=masquerade_all, detect_local=detect_local)
    d.update(extra)
    return d


def dnat(eps, masq):
    return dict(verdict="DNAT", endpoints=list(eps), masquerade=masq)


def verdict(v):
    return dict(verdict=v, endpoints=[], masquerade=False)


def add(upstream, service, endpoints, source, destination, expect, *, source_ip, dest_ip,
        dest_port, kube_proxy=None, **extra):
    case = dict(
        upstream=upstream,
        service=copy.deepcopy(service),
        endpoints=copy.deepcopy(endpoints),
        source=source,
        destination=destination,
        kube_proxy=kube_proxy if kube_proxy is not None else kp(),
        expect=expect,
        source_ip=source_ip,
        dest_ip=dest_ip,
        dest_port=dest_port,
        protocol=extra.pop("protocol", "TCP"),
    )
    case.update(extra)
    CASES.append(case)


# ---------------------------------------------------------------- TestTracePacket
# Static rules = the TestOverallIPTablesRules fixture: svc1 ClusterIP (1 remote ep 10.180.0.1);
# svc2 LB eTP:Local with externalIP 192.168.99.22 and LB 1.2.3.4, one endpoint 10.180.0.2 with no
# nodeName (=> remote, so no local endpoints); svc4 NodePort + externalIP, endpoints 10.180.0.4
# (remote) and 10.180.0.5 (local); svc6 ClusterIP with no endpoints; svc2's health-check NodePort
# 30000.
T = "TestTracePacket/"
add(T + "no match", svc("ClusterIP"), [ep("ep1", "10.180.0.1", False)], "pod-local",
    "non-service", verdict("NO_MATCH"), source_ip=POD, dest_ip="10.0.0.3", dest_port=80,
    dataplane="iptables")
add(T + "single endpoint", svc("ClusterIP"), [ep("ep1", "10.180.0.1", False)], "pod-local",
    "clusterIP", dnat(["ep1"], False), source_ip=POD, dest_ip="172.30.0.41", dest_port=80,
    dataplane="iptables")
add(T + "multiple endpoints", svc("NodePort", external_ips=True),
    [ep("ep1", "10.180.0.4", False), ep("ep2", "10.180.0.5", True)], "pod-local", "clusterIP",
    dnat(["ep1", "ep2"], False), source_ip=POD, dest_ip="172.30.0.44", dest_port=80,
    dataplane="iptables")
add(T + "LOCAL, KUBE-MARK-MASQ", svc("LoadBalancer", "Local", external_ips=True),
    [ep("ep1", "10.180.0.2", False)], "node", "externalIP", dnat(["ep1"], True),
    source_ip=NODE, dest_ip="192.168.99.22", dest_port=80, dataplane="iptables",
    note="node -> externalIP of an eTP:Local service is short-circuited to all endpoints and "
         "masqueraded, even though this node has no local endpoint")
add(T + "DROP", svc("LoadBalancer", "Local", external_ips=True),
    [ep("ep1", "10.180.0.2", False)], "external", "externalIP", verdict("DROP"),
    source_ip=EXT, dest_ip="192.168.99.22", dest_port=80, dataplane="iptables",
    note="filter KUBE-EXTERNAL-SERVICES 'has no local endpoints' DROP")
add(T + "ACCEPT (NodePortHealthCheck)", svc("LoadBalancer", "Local", external_ips=True),
    [ep("ep1", "10.180.0.2", False)], "node", "healthCheckNodePort", verdict("ACCEPT"),
    source_ip=NODE, dest_ip=NODE, dest_port=30000, dataplane="iptables")
add(T + "REJECT", svc("ClusterIP"), [], "pod-local", "clusterIP", verdict("REJECT"),
    source_ip=POD, dest_ip="172.30.0.46", dest_port=80, dataplane="iptables",
    note="filter KUBE-SERVICES 'has no endpoints' REJECT")

# ---------------------------------------------------------------- TestNoEndpointsReject
T = "TestNoEndpointsReject/"
s = svc("LoadBalancer", external_ips=True)
for name, src, sip, dst, dip, port in [
    ("pod to cluster IP with no endpoints", "pod-local", POD, "clusterIP", "172.30.0.41", 80),
    ("external to external IP with no endpoints", "external", EXT, "externalIP", "192.168.99.11", 80),
    ("pod to NodePort with no endpoints", "pod-local", POD, "nodePort", NODE, 3001),
    ("external to NodePort with no endpoints", "external", EXT, "nodePort", NODE, 3001),
    ("pod to LoadBalancer IP with no endpoints", "pod-local", POD, "loadBalancerIP", "1.2.3.4", 80),
    ("external to LoadBalancer IP with no endpoints", "external", EXT, "loadBalancerIP", "1.2.3.4", 80),
]:
    add(T + name, s, [], src, dst, verdict("REJECT"), source_ip=sip, dest_ip=dip, dest_port=port)

# ---------------------------------------------------------------- TestClusterIPGeneral
# svc1: one port http:80, endpoint 10.180.0.1 on test-node.
# svc2: ports http 80, https 443->8443, dns-udp 53, dns-tcp 53->5353, dns-sctp 53;
#       endpoints 10.180.0.1 (test-node) and 10.180.2.1 (node2).
T = "TestClusterIPGeneral/"
svc1_eps = [ep("ep1", "10.180.0.1", True)]
svc2_eps = [ep("ep1", "10.180.0.1", True), ep("ep2", "10.180.2.1", False)]
P2 = "10.180.0.2"
add(T + "simple clusterIP", svc("ClusterIP"), svc1_eps, "pod-local", "clusterIP",
    dnat(["ep1"], False), source_ip=P2, dest_ip="172.30.0.41", dest_port=80)
add(T + "hairpin to cluster IP", svc("ClusterIP"), svc1_eps, "pod-local", "clusterIP",
    dnat(["ep1"], True), source_ip="10.180.0.1", dest_ip="172.30.0.41", dest_port=80,
    source_endpoint="ep1", note="KUBE-SEP '-s <endpoint IP> -j KUBE-MARK-MASQ' (hairpin)")
add(T + "clusterIP with multiple endpoints", svc("ClusterIP"), svc2_eps, "pod-local",
    "clusterIP", dnat(["ep1", "ep2"], False), source_ip=P2, dest_ip="172.30.0.42", dest_port=80)
add(T + "clusterIP with TargetPort", svc("ClusterIP"), svc2_eps, "pod-local", "clusterIP",
    dnat(["ep1", "ep2"], False), source_ip=P2, dest_ip="172.30.0.42", dest_port=443,
    note="DNAT to targetPort 8443")
add(T + "clusterIP with TCP, UDP, and SCTP on same port (TCP)", svc("ClusterIP"), svc2_eps,
    "pod-local", "clusterIP", dnat(["ep1", "ep2"], False), source_ip=P2, dest_ip="172.30.0.42",
    dest_port=53, note="DNAT to targetPort 5353")
add(T + "clusterIP with TCP, UDP, and SCTP on same port (UDP)", svc("ClusterIP"), svc2_eps,
    "pod-local", "clusterIP", dnat(["ep1", "ep2"], False), source_ip=P2, dest_ip="172.30.0.42",
    dest_port=53, protocol="UDP")
add(T + "clusterIP with TCP, UDP, and SCTP on same port (SCTP)", svc("ClusterIP"), svc2_eps,
    "pod-local", "clusterIP", dnat(["ep1", "ep2"], False), source_ip=P2, dest_ip="172.30.0.42",
    dest_port=53, protocol="SCTP")
add(T + "TCP-only port does not match UDP traffic", svc("ClusterIP"), svc2_eps, "pod-local",
    "clusterIP", verdict("NO_MATCH"), source_ip=P2, dest_ip="172.30.0.42", dest_port=80,
    protocol="UDP", wrong_port=True, expect_nftables=verdict("REJECT"),
    note="nftables: cluster-ips-check rejects traffic to invalid ports of ClusterIPs")
add(T + "svc1 does not accept svc2's ports", svc("ClusterIP"), svc1_eps, "pod-local",
    "clusterIP", verdict("NO_MATCH"), source_ip=P2, dest_ip="172.30.0.41", dest_port=443,
    wrong_port=True, expect_nftables=verdict("REJECT"))
add("TestClusterIPGeneral(nftables)/packet to unallocated cluster ip", svc("ClusterIP"),
    svc1_eps, "pod-local", "non-service", verdict("DROP"), source_ip=P2, dest_ip="172.30.0.50",
    dest_port=80, dataplane="nftables",
    note="an IP inside the service CIDR that no Service owns; only nftables drops it "
         "('Drop traffic to unallocated ClusterIPs'); iptables mode has no such rule")

# ---------------------------------------------------------------- TestLoadBalancer
# LB (eTP default Cluster), NodePort 3001, LB IPs 1.2.3.4 and 5.6.7.8,
# loadBalancerSourceRanges 192.168.0.0/24 and 203.0.113.0/25; endpoint 10.180.0.1, no nodeName.
T = "TestLoadBalancer/"
s = svc("LoadBalancer", load_balancer_ips=2,
        load_balancer_source_ranges=["192.168.0.0/24", "203.0.113.0/25"])
eps = [ep("ep1", "10.180.0.1", False)]
for name, src, sip, dst, dip, port, exp in [
    ("pod to cluster IP", "pod-local", POD, "clusterIP", "172.30.0.41", 80, dnat(["ep1"], False)),
    ("external to nodePort", "external", EXT, "nodePort", NODE, 3001, dnat(["ep1"], True)),
    ("nodePort bypasses LoadBalancerSourceRanges", "external", EXT_BLOCKED, "nodePort", NODE, 3001,
     dnat(["ep1"], True)),
    ("accepted external to LB1", "external", EXT, "loadBalancerIP", "1.2.3.4", 80, dnat(["ep1"], True)),
    ("accepted external to LB2", "external", EXT, "loadBalancerIP", "5.6.7.8", 80, dnat(["ep1"], True)),
    ("blocked external to LB1", "external", EXT_BLOCKED, "loadBalancerIP", "1.2.3.4", 80, verdict("DROP")),
    ("blocked external to LB2", "external", EXT_BLOCKED, "loadBalancerIP", "5.6.7.8", 80, verdict("DROP")),
    ("pod to LB1 (blocked by LoadBalancerSourceRanges)", "pod-local", POD, "loadBalancerIP",
     "1.2.3.4", 80, verdict("DROP")),
    ("pod to LB2 (blocked by LoadBalancerSourceRanges)", "pod-local", POD, "loadBalancerIP",
     "5.6.7.8", 80, verdict("DROP")),
    ("node to LB1 (allowed by LoadBalancerSourceRanges)", "node", NODE, "loadBalancerIP",
     "1.2.3.4", 80, dnat(["ep1"], True)),
    ("node to LB2 (allowed by LoadBalancerSourceRanges)", "node", NODE, "loadBalancerIP",
     "5.6.7.8", 80, dnat(["ep1"], True)),
    ("same node to LB1, SNATted to LB1 (implicitly allowed)", "lb-ip", "1.2.3.4", "loadBalancerIP",
     "1.2.3.4", 80, dnat(["ep1"], True)),
    ("same node to LB2, SNATted to LB2 (implicitly allowed)", "lb-ip", "5.6.7.8", "loadBalancerIP",
     "5.6.7.8", 80, dnat(["ep1"], True)),
]:
    extra = {}
    if exp["verdict"] == "DROP":
        extra["note"] = ("KUBE-FW chain matches no allowed source, so the packet is not DNAT'd; "
                         "filter KUBE-PROXY-FIREWALL drops it")
    if src == "lb-ip":
        extra["note"] = ("allowed because a source range (192.168.0.0/24) contains the node IP, "
                         "so KUBE-FW also accepts the LB IPs as source")
    add(T + name, s, eps, src, dst, exp, source_ip=sip, dest_ip=dip, dest_port=port, **extra)

# ---------------------------------------------------------------- TestNodePorts
# NodePort svc 172.30.0.41:80, NodePort 3001; endpoints epIP1 (no nodeName => remote) and epIP2
# (test-node). The variants differ in family, localhostNodePorts and nodePortAddresses.
T = "TestNodePorts/"
nodeport_variants = [
    # name, family, localhost_nodeports, nodeport_addresses, allow_alt_node_ip
    ("ipv4, localhost-nodeports enabled", "IPv4", True, None, True),
    ("ipv4, localhost-nodeports disabled", "IPv4", False, None, True),
    ("ipv4, localhost-nodeports disabled, localhost in nodeport-addresses", "IPv4", False,
     ["192.168.0.0/24", "127.0.0.1/32"], False),
    ("ipv4, localhost-nodeports enabled, multiple nodeport-addresses", "IPv4", False,
     ["192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64"], True),
    ("ipv6, localhost-nodeports enabled", "IPv6", True, None, True),
    ("ipv6, localhost-nodeports disabled", "IPv6", False, None, True),
    ("ipv6, localhost-nodeports disabled, multiple nodeport-addresses", "IPv6", False,
     ["192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64"], False),
]
for vname, fam, lnp, npa, allow_alt in nodeport_variants:
    v4 = fam == "IPv4"
    svc_ip = "172.30.0.41" if v4 else "fd00:172:30::41"
    eps = [ep("ep1", "10.180.0.1" if v4 else "fd00:10:180::1", False),
           ep("ep2", "10.180.2.1" if v4 else "fd00:10:180::2:1", True)]
    pod_ip = POD if v4 else "fd00:10::2"
    ext_ip = EXT if v4 else "2600:5200::1"
    node_ip = NODE if v4 else "2001:db8::1"
    alt_ip = "192.168.1.2" if v4 else "2001:db8:1::2"
    lo_ip = "127.0.0.1" if v4 else "::1"
    kpx = kp(localhost_nodeports=lnp, nodeport_addresses=npa, ip_family=fam)
    s = svc("NodePort")
    quirk = ({"note": "upstream variant name says 'enabled' but sets localhostNodePorts=False"}
             if vname == "ipv4, localhost-nodeports enabled, multiple nodeport-addresses" else {})
    add(T + vname + "/pod to cluster IP", s, eps, "pod-local", "clusterIP",
        dnat(["ep1", "ep2"], False), source_ip=pod_ip, dest_ip=svc_ip, dest_port=80,
        kube_proxy=kpx, dataplane="iptables", **quirk)
    add(T + vname + "/external to nodePort", s, eps, "external", "nodePort",
        dnat(["ep1", "ep2"], True), source_ip=ext_ip, dest_ip=node_ip, dest_port=3001,
        kube_proxy=kpx, dataplane="iptables", **quirk)
    add(T + vname + "/node to nodePort", s, eps, "node", "nodePort",
        dnat(["ep1", "ep2"], True), source_ip=node_ip, dest_ip=node_ip, dest_port=3001,
        kube_proxy=kpx, dataplane="iptables", **quirk)
    if v4 and lnp:
        add(T + vname + "/localhost to nodePort gets masqueraded", s, eps, "localhost", "nodePort",
            dnat(["ep1", "ep2"], True), source_ip=lo_ip, dest_ip=lo_ip, dest_port=3001,
            kube_proxy=kpx, dest_node_address="loopback", dataplane="iptables", **quirk)
    else:
        add(T + vname + "/localhost to nodePort is ignored", s, eps, "localhost", "nodePort",
            verdict("NO_MATCH"), source_ip=lo_ip, dest_ip=lo_ip, dest_port=3001, kube_proxy=kpx,
            dest_node_address="loopback", dataplane="iptables", **quirk)
    if allow_alt:
        add(T + vname + "/external to nodePort on secondary IP", s, eps, "external", "nodePort",
            dnat(["ep1", "ep2"], True), source_ip=ext_ip, dest_ip=alt_ip, dest_port=3001,
            kube_proxy=kpx, dest_node_address="secondary", dataplane="iptables", **quirk)
    else:
        add(T + vname + "/secondary nodeIP ignores NodePorts", s, eps, "external", "nodePort",
            verdict("NO_MATCH"), source_ip=ext_ip, dest_ip=alt_ip, dest_port=3001, kube_proxy=kpx,
            dest_node_address="secondary", dataplane="iptables", **quirk)

# nftables mode's own TestNodePorts (pkg/proxy/nftables/proxier_test.go, 81810de6): its fake proxier
# runs with --nodeport-addresses <node IP>/32,<node IPv6>/128 unless a variant sets them, which is
# what nftables mode's default "primary" gives: NodePorts only on the primary address. No localhost
# flows (nftables mode never serves NodePorts on 127.0.0.1).
T = "TestNodePorts(nftables)/"
for vname, fam, npa, allow_alt in [
    ("ipv4", "IPv4", None, False),
    ("ipv4, multiple nodeport-addresses", "IPv4", ["192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64"], True),
    ("ipv6", "IPv6", None, False),
    ("ipv6, multiple nodeport-addresses", "IPv6",
     ["192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64", "2001:db8:1::2/128"], True),
]:
    v4 = fam == "IPv4"
    eps = [ep("ep1", "10.180.0.1" if v4 else "fd00:10:180::1", False),
           ep("ep2", "10.180.2.1" if v4 else "fd00:10:180::2:1", True)]
    kpx = kp(nodeport_addresses=npa, ip_family=fam)
    s = svc("NodePort")
    svc_ip, pod_ip = ("172.30.0.41", POD) if v4 else ("fd00:172:30::41", "fd00:10::2")
    ext_ip, node_ip, alt_ip = (EXT, NODE, "192.168.1.2") if v4 else ("2600:5200::1", "2001:db8::1", "2001:db8:1::2")
    add(T + vname + "/pod to cluster IP", s, eps, "pod-local", "clusterIP", dnat(["ep1", "ep2"], False),
        source_ip=pod_ip, dest_ip=svc_ip, dest_port=80, kube_proxy=kpx, dataplane="nftables")
    add(T + vname + "/external to nodePort", s, eps, "external", "nodePort", dnat(["ep1", "ep2"], True),
        source_ip=ext_ip, dest_ip=node_ip, dest_port=3001, kube_proxy=kpx, dataplane="nftables")
    add(T + vname + "/node to nodePort", s, eps, "node", "nodePort", dnat(["ep1", "ep2"], True),
        source_ip=node_ip, dest_ip=node_ip, dest_port=3001, kube_proxy=kpx, dataplane="nftables")
    if allow_alt:
        add(T + vname + "/external to nodePort on secondary IP", s, eps, "external", "nodePort",
            dnat(["ep1", "ep2"], True), source_ip=ext_ip, dest_ip=alt_ip, dest_port=3001, kube_proxy=kpx,
            dest_node_address="secondary", dataplane="nftables")
    else:
        add(T + vname + "/secondary nodeIP ignores NodePorts", s, eps, "external", "nodePort",
            verdict("NO_MATCH"), source_ip=ext_ip, dest_ip=alt_ip, dest_port=3001, kube_proxy=kpx,
            dest_node_address="secondary", dataplane="nftables")

# ---------------------------------------------------------------- TestHealthCheckNodePort
# LB eTP:Local, NodePort 3001, healthCheckNodePort 30000, no endpoints;
# nodePortAddresses=["127.0.0.0/8"].
T = "TestHealthCheckNodePort/"
s = svc("LoadBalancer", "Local", load_balancer_ips=0)
kpx = kp(nodeport_addresses=["127.0.0.0/8"])
add(T + "firewall accepts HealthCheckNodePort", s, [], "external", "healthCheckNodePort",
    verdict("ACCEPT"), source_ip="1.2.3.4", dest_ip=NODE, dest_port=30000, kube_proxy=kpx,
    dataplane="iptables",
    note="filter KUBE-NODEPORTS '<svc> health check node port' ACCEPT, whether or not there are "
         "local endpoints")
add(T + "HealthCheckNodePort no longer has any rule", dict(s, deleted=True), [], "external",
    "healthCheckNodePort", verdict("NO_MATCH"), source_ip="1.2.3.4", dest_ip=NODE,
    dest_port=30000, kube_proxy=kpx, dataplane="iptables")

# ---------------------------------------------------------------- TestExternalTrafficPolicyLocal
# LB eTP:Local, externalIP 192.168.99.11, LB 1.2.3.4, NodePort 3001;
# endpoints 10.180.0.1 (no nodeName => remote) and 10.180.2.1 (test-node).
T = "TestExternalTrafficPolicyLocal/"
s = svc("LoadBalancer", "Local", external_ips=True)
eps = [ep("ep1", "10.180.0.1", False), ep("ep2", "10.180.2.1", True)]
for name, src, sip, dst, dip, port, exp in [
    ("pod to cluster IP hits both endpoints, unmasqueraded", "pod-local", POD, "clusterIP",
     "172.30.0.41", 80, dnat(["ep1", "ep2"], False)),
    ("pod to external IP hits both endpoints, unmasqueraded", "pod-local", POD, "externalIP",
     "192.168.99.11", 80, dnat(["ep1", "ep2"], False)),
    ("external to external IP hits only local endpoint, unmasqueraded", "external", EXT,
     "externalIP", "192.168.99.11", 80, dnat(["ep2"], False)),
    ("pod to LB IP hits only both endpoints, unmasqueraded", "pod-local", POD, "loadBalancerIP",
     "1.2.3.4", 80, dnat(["ep1", "ep2"], False)),
    ("external to LB IP hits only local endpoint, unmasqueraded", "external", EXT,
     "loadBalancerIP", "1.2.3.4", 80, dnat(["ep2"], False)),
    ("pod to NodePort hits both endpoints, unmasqueraded", "pod-local", POD, "nodePort", NODE,
     3001, dnat(["ep1", "ep2"], False)),
    ("external to NodePort hits only local endpoint, unmasqueraded", "external", EXT, "nodePort",
     NODE, 3001, dnat(["ep2"], False)),
]:
    add(T + name, s, eps, src, dst, exp, source_ip=sip, dest_ip=dip, dest_port=port)

# ---------------------------------------------------------------- TestExternalTrafficPolicyCluster
T = "TestExternalTrafficPolicyCluster/"
s = svc("LoadBalancer", "Cluster", external_ips=True)
for name, src, sip, dst, dip, port, masq in [
    ("pod to cluster IP hits both endpoints, unmasqueraded", "pod-local", POD, "clusterIP",
     "172.30.0.41", 80, False),
    ("pod to external IP hits both endpoints, masqueraded", "pod-local", POD, "externalIP",
     "192.168.99.11", 80, True),
    ("external to external IP hits both endpoints, masqueraded", "external", EXT, "externalIP",
     "192.168.99.11", 80, True),
    ("pod to LB IP hits both endpoints, masqueraded", "pod-local", POD, "loadBalancerIP",
     "1.2.3.4", 80, True),
    ("external to LB IP hits both endpoints, masqueraded", "external", EXT, "loadBalancerIP",
     "1.2.3.4", 80, True),
    ("pod to NodePort hits both endpoints, masqueraded", "pod-local", POD, "nodePort", NODE, 3001,
     True),
    ("external to NodePort hits both endpoints, masqueraded", "external", EXT, "nodePort", NODE,
     3001, True),
]:
    add(T + name, s, eps, src, dst, dnat(["ep1", "ep2"], masq), source_ip=sip, dest_ip=dip,
        dest_port=port)

# ---------------------------------------------------------------- TestInternalTrafficPolicy
# Plain ClusterIP 172.30.1.1:80; each variant also re-runs after deleting the EndpointSlice.
T = "TestInternalTrafficPolicy/"
itp_variants = [
    ("internalTrafficPolicy is cluster", "Cluster",
     [ep("ep1", "10.0.1.1", True), ep("ep2", "10.0.1.2", False), ep("ep3", "10.0.1.3", False)],
     "pod to ClusterIP hits all endpoints", dnat(["ep1", "ep2", "ep3"], False)),
    ("internalTrafficPolicy is local and there is one local endpoint", "Local",
     [ep("ep1", "10.0.1.1", True), ep("ep2", "10.0.1.2", False), ep("ep3", "10.0.1.3", False)],
     "pod to ClusterIP hits only local endpoint", dnat(["ep1"], False)),
    ("internalTrafficPolicy is local and there are multiple local endpoints", "Local",
     [ep("ep1", "10.0.1.1", True), ep("ep2", "10.0.1.2", True), ep("ep3", "10.0.1.3", False)],
     "pod to ClusterIP hits all local endpoints", dnat(["ep1", "ep2"], False)),
    ("internalTrafficPolicy is local and there are no local endpoints", "Local",
     [ep("ep1", "10.0.1.1", False), ep("ep2", "10.0.1.2", False), ep("ep3", "10.0.1.3", False)],
     "no endpoints", verdict("DROP")),
]
for vname, itp, eps, cname, exp in itp_variants:
    s = svc("ClusterIP", itp=itp)
    extra = {}
    if exp["verdict"] == "DROP":
        extra["note"] = "filter KUBE-SERVICES '<svc> has no local endpoints' DROP (not REJECT)"
    add(T + vname + "/" + cname, s, eps, "pod-local", "clusterIP", exp, source_ip=POD,
        dest_ip="172.30.1.1", dest_port=80, **extra)
    add(T + vname + "/endpoints deleted", s, [], "pod-local", "clusterIP", verdict("REJECT"),
        source_ip=POD, dest_ip="172.30.1.1", dest_port=80)


# ---------------------------------------------------------------- TestTerminatingEndpoints*
def _terminating(test, etp, variants):
    s = svc("LoadBalancer", etp, node_port=False)
    for vname, eps, flows in variants:
        for cname, src, sip, dst, dip, exp in flows:
            add(f"{test}/{vname}/{cname}", s, eps, src, dst, exp, source_ip=sip, dest_ip=dip,
                dest_port=80)
        for cname, src, sip, dst, dip in [
            ("pod to clusterIP after endpoints deleted", "pod-local", POD, "clusterIP", "172.30.1.1"),
            ("external to LB after endpoints deleted", "external", EXT, "loadBalancerIP", "1.2.3.4"),
        ]:
            add(f"{test}/{vname}/{cname}", s, [], src, dst, verdict("REJECT"), source_ip=sip,
                dest_ip=dip, dest_port=80)


def _flows(pod_exp, ext_exp):
    return [("pod to clusterIP", "pod-local", POD, "clusterIP", "172.30.1.1", pod_exp),
            ("external to LB", "external", EXT, "loadBalancerIP", "1.2.3.4", ext_exp)]


_terminating("TestTerminatingEndpointsTrafficPolicyLocal", "Local", [
    ("ready endpoints exist",
     [ep("ep1", "10.0.1.1", True),
      ep("ep2", "10.0.1.2", True),
      ep("ep3", "10.0.1.3", True, ready=False, serving=True, terminating=True),
      ep("ep4", "10.0.1.4", True, ready=False, serving=False, terminating=True),
      ep("ep5", "10.0.1.5", False)],
     _flows(dnat(["ep1", "ep2", "ep5"], False), dnat(["ep1", "ep2"], False))),
    ("only terminating endpoints exist",
     [ep("ep2", "10.0.1.2", True, ready=False, serving=True, terminating=True),
      ep("ep3", "10.0.1.3", True, ready=False, serving=True, terminating=True),
      ep("ep4", "10.0.1.4", True, ready=False, serving=False, terminating=True),
      ep("ep5", "10.0.1.5", False)],
     _flows(dnat(["ep5"], False), dnat(["ep2", "ep3"], False))),
    ("terminating endpoints on remote node",
     [ep("ep5", "10.0.1.5", False, ready=False, serving=True, terminating=True)],
     [("pod to clusterIP", "pod-local", POD, "clusterIP", "172.30.1.1", dnat(["ep5"], False)),
      ("external to LB, no locally-usable endpoints", "external", EXT, "loadBalancerIP",
       "1.2.3.4", verdict("DROP"))]),
    ("no usable endpoints on any node",
     [ep("ep1", "10.0.1.5", True, ready=False, serving=False, terminating=True),
      ep("ep2", "10.0.1.5", False, ready=False, serving=False, terminating=True)],
     [("pod to clusterIP, no usable endpoints", "pod-local", POD, "clusterIP", "172.30.1.1",
       verdict("REJECT")),
      ("external to LB, no usable endpoints", "external", EXT, "loadBalancerIP", "1.2.3.4",
       verdict("REJECT"))]),
])

_terminating("TestTerminatingEndpointsTrafficPolicyCluster", "Cluster", [
    ("ready endpoints exist",
     [ep("ep1", "10.0.1.1", True),
      ep("ep2", "10.0.1.2", True),
      ep("ep3", "10.0.1.3", False, ready=False, serving=True, terminating=True),
      ep("ep4", "10.0.1.4", False, ready=False, serving=False, terminating=True),
      ep("ep5", "10.0.1.5", False)],
     _flows(dnat(["ep1", "ep2", "ep5"], False), dnat(["ep1", "ep2", "ep5"], True))),
    ("only terminating endpoints exist",
     [ep("ep2", "10.0.1.2", True, ready=False, serving=True, terminating=True),
      ep("ep3", "10.0.1.3", True, ready=False, serving=True, terminating=True),
      ep("ep4", "10.0.1.4", False, ready=False, serving=False, terminating=True),
      ep("ep5", "10.0.1.5", False, ready=False, serving=True, terminating=True)],
     _flows(dnat(["ep2", "ep3", "ep5"], False), dnat(["ep2", "ep3", "ep5"], True))),
    ("terminating endpoints on remote node",
     [ep("ep5", "10.0.1.5", False, ready=False, serving=True, terminating=True)],
     _flows(dnat(["ep5"], False), dnat(["ep5"], True))),
    ("no usable endpoints on any node",
     [ep("ep1", "10.0.1.5", True, ready=False, serving=False, terminating=True),
      ep("ep2", "10.0.1.5", False, ready=False, serving=False, terminating=True)],
     _flows(verdict("REJECT"), verdict("REJECT"))),
])

# ---------------------------------------------------------------- TestInternalExternalMasquerade
# svc1: LB 1.2.3.4, NodePort 3001, eTP Cluster, iTP Cluster; eps 10.180.0.1 (test-node), 10.180.1.1 (remote)
# svc2: LB 5.6.7.8, NodePort 3002, eTP Local;               eps 10.180.0.2 (test-node), 10.180.1.2 (remote)
# svc3: LB 9.10.11.12, NodePort 3003, iTP Local;            eps 10.180.0.3 (test-node), 10.180.1.3 (remote)
IEM_SVC = {
    1: svc("LoadBalancer", "Cluster", "Cluster"),
    2: svc("LoadBalancer", "Local", "Cluster"),
    3: svc("LoadBalancer", "Cluster", "Local"),
}
IEM_EPS = {n: [ep("local", f"10.180.0.{n}", True), ep("remote", f"10.180.1.{n}", False)]
           for n in (1, 2, 3)}
IEM_DEST = {  # (svc number, destination kind) -> (dest_ip, dest_port)
    (1, "clusterIP"): ("172.30.0.41", 80), (1, "nodePort"): (NODE, 3001),
    (1, "loadBalancerIP"): ("1.2.3.4", 80),
    (2, "clusterIP"): ("172.30.0.42", 80), (2, "nodePort"): (NODE, 3002),
    (2, "loadBalancerIP"): ("5.6.7.8", 80),
    (3, "clusterIP"): ("172.30.0.43", 80), (3, "nodePort"): (NODE, 3003),
    (3, "loadBalancerIP"): ("9.10.11.12", 80),
}
SRC = {"pod": ("pod-local", POD), "node": ("node", NODE), "external": ("external", EXT),
       "localhost": ("localhost", "127.0.0.1")}
BOTH, LOCAL = ["local", "remote"], ["local"]
# (upstream name, svc number, source key, destination kind, endpoints, masq) -- the "base" values
IEM_FLOWS = [
    ("pod to ClusterIP", 1, "pod", "clusterIP", BOTH, False),
    ("pod to NodePort", 1, "pod", "nodePort", BOTH, True),
    ("pod to LB", 1, "pod", "loadBalancerIP", BOTH, True),
    ("node to ClusterIP", 1, "node", "clusterIP", BOTH, True),
    ("node to NodePort", 1, "node", "nodePort", BOTH, True),
    ("localhost to NodePort", 1, "localhost", "nodePort", BOTH, True),
    ("node to LB", 1, "node", "loadBalancerIP", BOTH, True),
    ("external to ClusterIP", 1, "external", "clusterIP", BOTH, True),
    ("external to NodePort", 1, "external", "nodePort", BOTH, True),
    ("external to LB", 1, "external", "loadBalancerIP", BOTH, True),
    ("pod to ClusterIP with eTP:Local", 2, "pod", "clusterIP", BOTH, False),
    ("pod to NodePort with eTP:Local", 2, "pod", "nodePort", BOTH, False),
    ("pod to LB with eTP:Local", 2, "pod", "loadBalancerIP", BOTH, False),
    ("node to ClusterIP with eTP:Local", 2, "node", "clusterIP", BOTH, True),
    # upstream sends this one to port 3001 = svc1 (eTP Cluster); kept faithfully
    ("node to NodePort with eTP:Local", 1, "node", "nodePort", BOTH, True),
    ("localhost to NodePort with eTP:Local", 2, "localhost", "nodePort", BOTH, True),
    ("node to LB with eTP:Local", 2, "node", "loadBalancerIP", BOTH, True),
    ("external to ClusterIP with eTP:Local", 2, "external", "clusterIP", BOTH, True),
    ("external to NodePort with eTP:Local", 2, "external", "nodePort", LOCAL, False),
    ("external to LB with eTP:Local", 2, "external", "loadBalancerIP", LOCAL, False),
    ("pod to ClusterIP with iTP:Local", 3, "pod", "clusterIP", LOCAL, False),
    ("pod to NodePort with iTP:Local", 3, "pod", "nodePort", BOTH, True),
    ("pod to LB with iTP:Local", 3, "pod", "loadBalancerIP", BOTH, True),
    ("node to ClusterIP with iTP:Local", 3, "node", "clusterIP", LOCAL, True),
    ("node to NodePort with iTP:Local", 3, "node", "nodePort", BOTH, True),
    ("localhost to NodePort with iTP:Local", 3, "localhost", "nodePort", BOTH, True),
    ("node to LB with iTP:Local", 3, "node", "loadBalancerIP", BOTH, True),
    ("external to ClusterIP with iTP:Local", 3, "external", "clusterIP", LOCAL, True),
    ("external to NodePort with iTP:Local", 3, "external", "nodePort", BOTH, True),
    ("external to LB with iTP:Local", 3, "external", "loadBalancerIP", BOTH, True),
]
_NO_DETECTOR = {
    # no LocalTrafficDetector => no '! -s podCIDR' masquerade on ClusterIP traffic ...
    "node to ClusterIP": dict(masq=False),
    "node to ClusterIP with eTP:Local": dict(masq=False),
    "node to ClusterIP with iTP:Local": dict(masq=False),
    "external to ClusterIP": dict(masq=False),
    "external to ClusterIP with eTP:Local": dict(masq=False),
    "external to ClusterIP with iTP:Local": dict(masq=False),
    # ... and no pod short-circuit for eTP:Local, so pods get only the local endpoint
    "pod to NodePort with eTP:Local": dict(eps=LOCAL),
    "pod to LB with eTP:Local": dict(eps=LOCAL),
}
_MASQ_ALL = {
    "pod to ClusterIP": dict(masq=True),
    "pod to ClusterIP with eTP:Local": dict(masq=True),
    "pod to ClusterIP with iTP:Local": dict(masq=True),
}
IEM_VARIANTS = [
    ("base", False, True, {}),
    ("no LocalTrafficDetector", False, False, _NO_DETECTOR),
    ("masqueradeAll", True, True, _MASQ_ALL),
    ("masqueradeAll, no LocalTrafficDetector", True, False,
     {**_MASQ_ALL, "pod to NodePort with eTP:Local": dict(eps=LOCAL),
      "pod to LB with eTP:Local": dict(eps=LOCAL)}),
]
for vname, masq_all, detect, overrides in IEM_VARIANTS:
    for name, n, srck, dst, eps_, masq in IEM_FLOWS:
        o = overrides.get(name, {})
        eps_ = o.get("eps", eps_)
        masq = o.get("masq", masq)
        src, sip = SRC[srck]
        dip, port = IEM_DEST[(n, dst)]
        if srck == "localhost":
            dip = "127.0.0.1"
        extra = {}
        if srck == "localhost":
            extra["dest_node_address"] = "loopback"
            extra["dataplane"] = "iptables"  # nftables mode has no localhost NodePorts
        if name == "node to NodePort with eTP:Local":
            extra["note"] = ("upstream targets port 3001, svc1's NodePort (eTP Cluster), despite "
                             "the name; the result equals 'node to NodePort'")
        add(f"TestInternalExternalMasquerade/{vname}: {name}", IEM_SVC[n], IEM_EPS[n], src, dst,
            dnat(eps_, masq), source_ip=sip, dest_ip=dip, dest_port=port,
            kube_proxy=kp(masquerade_all=masq_all, detect_local=detect), **extra)

del s, eps, kpx
