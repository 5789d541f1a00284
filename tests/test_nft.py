"""kube-proxy's nftables-mode rules as k8slearn renders them (k8slearn/dataplane/nft.py).

As tests/test_rules.py does for iptables mode:
- names (upstream's hashing) and layout;
- the rendering of services equivalent to upstream fixtures equals upstream's expected output
  (``TestOverallNFTablesRules``, the first state of ``TestSyncProxyRulesRepeated``, ``TestBadIPs``
  in ``pkg/proxy/nftables/proxier_test.go``, Kubernetes 1.35), once upstream's names and addresses
  are translated to ours;
- a small interpreter (tests/nft_walk.py) walks the rendered ruleset for a packet, and what it finds
  equals what :func:`decide` says in nftables mode, for the named examples and for every upstream
  packet-flow case that nftables mode runs;
- as root, ``nft -f`` loads the renderings in a scratch network namespace.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
import warnings

import pytest
from kubeproxy_cases import CASES
from nft_walk import Pkt, Table, Walker

import k8slearn as k8s
from k8slearn import examples
from k8slearn.dataplane import KubeProxy, Source, chains, decide, decide_packet
from k8slearn.dataplane.decide import node_addresses
from k8slearn.dataplane.nft import render, ruleset
from k8slearn.dataplane.rules import render as render_any
from k8slearn.errors import InvalidChange, NotFound
from k8slearn.model import Cluster, family_of

# --------------------------------------------------------------------------- upstream's own output
# kubernetes/kubernetes pkg/proxy/nftables/proxier_test.go (commit 81810de6, the 1.35 line): the
# baseRules every expectation starts with (NewFakeProxier: --nodeport-addresses 192.168.0.2/32,
# service CIDR 172.30.0.0/16, pod CIDR 10.0.0.0/8), then what each test adds.
UPSTREAM_BASE = r"""
add table ip kube-proxy { comment "rules for kube-proxy" ; }

add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }

add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }

add chain ip kube-proxy cluster-ips-check
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy masquerading
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nodeport-endpoints-check
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
add chain ip kube-proxy services
add chain ip kube-proxy service-endpoints-check

add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { 172.30.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports

add element ip kube-proxy nodeport-ips { 192.168.0.2 }
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
"""

UPSTREAM_OVERALL = r"""
# svc1
add chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80
add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }

add chain ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80
add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 ip saddr 10.180.0.1 jump mark-for-masquerade
add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 meta l4proto tcp dnat to 10.180.0.1:80

add element ip kube-proxy cluster-ips { 172.30.0.41 }
add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }

# svc2
add chain ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80
add rule ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80 ip daddr 172.30.0.42 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 }
add chain ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80
add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 ip saddr 10.0.0.0/8 goto service-42NFTM6N-ns2/svc2/tcp/p80 comment "short-circuit pod traffic"
add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"
add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 fib saddr type local goto service-42NFTM6N-ns2/svc2/tcp/p80 comment "short-circuit local traffic"
add chain ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80
add rule ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 ip saddr 10.180.0.2 jump mark-for-masquerade
add rule ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 meta l4proto tcp dnat to 10.180.0.2:80

add element ip kube-proxy cluster-ips { 172.30.0.42 }
add element ip kube-proxy service-ips { 172.30.0.42 . tcp . 80 : goto service-42NFTM6N-ns2/svc2/tcp/p80 }
add element ip kube-proxy service-ips { 192.168.99.22 . tcp . 80 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }
add element ip kube-proxy service-ips { 1.2.3.4 . tcp . 80 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }
add element ip kube-proxy service-nodeports { tcp . 3001 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }

add element ip kube-proxy no-endpoint-nodeports { tcp . 3001 comment "ns2/svc2:p80" : drop }
add element ip kube-proxy no-endpoint-services { 1.2.3.4 . tcp . 80 comment "ns2/svc2:p80" : drop }
add element ip kube-proxy no-endpoint-services { 192.168.99.22 . tcp . 80 comment "ns2/svc2:p80" : drop }

# svc3
add chain ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80
add rule ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80 ip daddr 172.30.0.43 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 }
add chain ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80
add rule ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80 jump mark-for-masquerade
add rule ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80 goto service-4AT6LBPK-ns3/svc3/tcp/p80
add chain ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80
add rule ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 ip saddr 10.180.0.3 jump mark-for-masquerade
add rule ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 meta l4proto tcp dnat to 10.180.0.3:80

add element ip kube-proxy cluster-ips { 172.30.0.43 }
add element ip kube-proxy service-ips { 172.30.0.43 . tcp . 80 : goto service-4AT6LBPK-ns3/svc3/tcp/p80 }
add element ip kube-proxy service-nodeports { tcp . 3003 : goto external-4AT6LBPK-ns3/svc3/tcp/p80 }

# svc4
add chain ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80
add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 ip daddr 172.30.0.44 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 numgen random mod 2 vmap { 0 : goto endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 , 1 : goto endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 }
add chain ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80
add rule ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80 jump mark-for-masquerade
add rule ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80 goto service-LAUZTJTB-ns4/svc4/tcp/p80
add chain ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80
add rule ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 ip saddr 10.180.0.5 jump mark-for-masquerade
add rule ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 meta l4proto tcp dnat to 10.180.0.5:80
add chain ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80
add rule ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 ip saddr 10.180.0.4 jump mark-for-masquerade
add rule ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 meta l4proto tcp dnat to 10.180.0.4:80

add element ip kube-proxy cluster-ips { 172.30.0.44 }
add element ip kube-proxy service-ips { 172.30.0.44 . tcp . 80 : goto service-LAUZTJTB-ns4/svc4/tcp/p80 }
add element ip kube-proxy service-ips { 192.168.99.33 . tcp . 80 : goto external-LAUZTJTB-ns4/svc4/tcp/p80 }

# svc5
add set ip kube-proxy affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }
add chain ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80
add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 ip daddr 172.30.0.45 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80
add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 }
add chain ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80
add rule ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80 jump mark-for-masquerade
add rule ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80 goto service-HVFWP5L3-ns5/svc5/tcp/p80

add chain ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80
add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 ip saddr 10.180.0.3 jump mark-for-masquerade
add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 update @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { ip saddr }
add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 meta l4proto tcp dnat to 10.180.0.3:80

add chain ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80
add rule ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr != { 203.0.113.0/25 } drop

add element ip kube-proxy cluster-ips { 172.30.0.45 }
add element ip kube-proxy service-ips { 172.30.0.45 . tcp . 80 : goto service-HVFWP5L3-ns5/svc5/tcp/p80 }
add element ip kube-proxy service-ips { 5.6.7.8 . tcp . 80 : goto external-HVFWP5L3-ns5/svc5/tcp/p80 }
add element ip kube-proxy service-nodeports { tcp . 3002 : goto external-HVFWP5L3-ns5/svc5/tcp/p80 }
add element ip kube-proxy firewall-ips { 5.6.7.8 . tcp . 80 : goto firewall-HVFWP5L3-ns5/svc5/tcp/p80 }

# svc6
add element ip kube-proxy cluster-ips { 172.30.0.46 }
add element ip kube-proxy no-endpoint-services { 172.30.0.46 . tcp . 80 comment "ns6/svc6:p80" : goto reject-chain }
"""

# TestSyncProxyRulesRepeated, the first sync: two ClusterIP services, remote endpoints.
UPSTREAM_REPEATED = r"""
add element ip kube-proxy cluster-ips { 172.30.0.41 }
add element ip kube-proxy cluster-ips { 172.30.0.42 }
add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }
add element ip kube-proxy service-ips { 172.30.0.42 . tcp . 8080 : goto service-MHHHYRWA-ns2/svc2/tcp/p8080 }

add chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80
add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-5TPGNJF2-ns1/svc1/tcp/p80__10.0.1.1/80 }
add chain ip kube-proxy endpoint-5TPGNJF2-ns1/svc1/tcp/p80__10.0.1.1/80
add rule ip kube-proxy endpoint-5TPGNJF2-ns1/svc1/tcp/p80__10.0.1.1/80 ip saddr 10.0.1.1 jump mark-for-masquerade
add rule ip kube-proxy endpoint-5TPGNJF2-ns1/svc1/tcp/p80__10.0.1.1/80 meta l4proto tcp dnat to 10.0.1.1:80

add chain ip kube-proxy service-MHHHYRWA-ns2/svc2/tcp/p8080
add rule ip kube-proxy service-MHHHYRWA-ns2/svc2/tcp/p8080 ip daddr 172.30.0.42 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-MHHHYRWA-ns2/svc2/tcp/p8080 numgen random mod 1 vmap { 0 : goto endpoint-7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080 }
add chain ip kube-proxy endpoint-7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080
add rule ip kube-proxy endpoint-7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080 ip saddr 10.0.2.1 jump mark-for-masquerade
add rule ip kube-proxy endpoint-7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080 meta l4proto tcp dnat to 10.0.2.1:8080
"""

# TestBadIPs: a LoadBalancer service whose addresses were written with leading zeros (rendered clean).
UPSTREAM_BAD_IPS = r"""
# svc1
add chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80
add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }

add chain ip kube-proxy external-ULMVA6XW-ns1/svc1/tcp/p80
add rule ip kube-proxy external-ULMVA6XW-ns1/svc1/tcp/p80 jump mark-for-masquerade
add rule ip kube-proxy external-ULMVA6XW-ns1/svc1/tcp/p80 goto service-ULMVA6XW-ns1/svc1/tcp/p80

add chain ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80
add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 ip saddr 10.180.0.1 jump mark-for-masquerade
add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 meta l4proto tcp dnat to 10.180.0.1:80

add chain ip kube-proxy firewall-ULMVA6XW-ns1/svc1/tcp/p80
add rule ip kube-proxy firewall-ULMVA6XW-ns1/svc1/tcp/p80 ip saddr != { 203.0.113.0/25 } drop

add element ip kube-proxy cluster-ips { 172.30.0.41 }
add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }
add element ip kube-proxy service-ips { 192.168.99.22 . tcp . 80 : goto external-ULMVA6XW-ns1/svc1/tcp/p80 }
add element ip kube-proxy service-ips { 1.2.3.4 . tcp . 80 : goto external-ULMVA6XW-ns1/svc1/tcp/p80 }
add element ip kube-proxy service-nodeports { tcp . 3001 : goto external-ULMVA6XW-ns1/svc1/tcp/p80 }
add element ip kube-proxy firewall-ips { 1.2.3.4 . tcp . 80 : goto firewall-ULMVA6XW-ns1/svc1/tcp/p80 }
"""


def _objects(text: str) -> tuple[set[str], dict[str, list[str]]]:
    """Upstream's comparison (``sortNFTablesTransaction``): objects as a set, rules in order per chain."""
    objects, rules = set(), {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split(" ")
        if words[1] == "rule":
            rules.setdefault(words[4], []).append(line)
        else:
            objects.add(line)
    return objects, rules


def _translate(text: str, table: dict[str, str]) -> str:
    pattern = re.compile("|".join(r"(?<![\w.])" + re.escape(k) + r"(?![\d.])"
                                  for k in sorted(table, key=len, reverse=True)))
    return pattern.sub(lambda m: table[m.group(0)], text)


def _names(t: dict[str, str], up_ns: str, name: str, port: str) -> None:
    for fn in (chains.nft_service_chain, chains.nft_local_chain, chains.nft_external_chain,
               chains.nft_firewall_chain):
        t[fn(up_ns, name, port_name=port)] = fn("default", name, port_name=port)
    t[f"{up_ns}/{name}:{port}"] = f"default/{name}:{port}"


def _endpoint_names(t: dict[str, str], up_ns: str, name: str, port: str, up_ip: str, up_port: int, e) -> None:
    for fn in (chains.nft_endpoint_chain, chains.nft_affinity_set):
        t[fn(up_ns, name, up_ip, up_port, port_name=port)] = fn("default", name, e.ip, e.port, port_name=port)
    t[up_ip] = str(e.ip)


def _common(c: Cluster, node: str) -> dict[str, str]:
    return {"10.0.0.0/8": str(c.cluster_cidr), "172.30.0.0/16": "10.96.0.0/12", "192.168.0.2": str(c.node(node).ip)}


def _compare(ours: str, theirs: str) -> None:
    ours_objects, ours_rules = _objects(ours)
    their_objects, their_rules = _objects(theirs)
    assert sorted(ours_objects - their_objects) == [] and sorted(their_objects - ours_objects) == []
    assert ours_rules == their_rules


def _upstream_equivalent() -> Cluster:
    from test_rules import _upstream_equivalent as equivalent

    return equivalent()


def test_rendering_equals_upstream_overall_expected_output():
    c = _upstream_equivalent()
    t = _common(c, "node-b")
    eps = {"svc1": ["10.180.0.1"], "svc2": ["10.180.0.2"], "svc3": ["10.180.0.3"],
           "svc4": ["10.180.0.4", "10.180.0.5"], "svc5": ["10.180.0.3"], "svc6": []}
    for i, name in enumerate(eps, start=1):
        _names(t, f"ns{i}", name, "p80")
        t[f"172.30.0.4{i}"] = str(c.service(name).cluster_ip)
        for up, e in zip(eps[name], sorted(c.endpoints(name), key=lambda e: str(e.ip))):
            _endpoint_names(t, f"ns{i}", name, "p80", up, 80, e)
    t["1.2.3.4"] = str(c.service("svc2").load_balancer_ip)
    t["5.6.7.8"] = str(c.service("svc5").load_balancer_ip)
    for up, svc in (("3001", "svc2"), ("3002", "svc5"), ("3003", "svc3")):
        t[f"tcp . {up}"] = f"tcp . {c.service(svc).node_port}"
    theirs = _translate(UPSTREAM_BASE + UPSTREAM_OVERALL, t)
    _compare(render(c, "node-b", port_name="p80"), theirs)


def test_rendering_equals_upstream_repeated_sync_expected_output():
    c = Cluster.from_layout({"node-a": 0, "node-b": 0}, service="svc1", type="ClusterIP", target_port=80)
    c.add_pod("one", "node-a", labels={"app": "svc1"})
    c.add_pod("two", "node-a", labels={"app": "svc2"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c.add_service("svc2", selector={"app": "svc2"}, port=8080, target_port=8080)
    t = _common(c, "node-b")
    _names(t, "ns1", "svc1", "p80")
    _names(t, "ns2", "svc2", "p8080")
    _endpoint_names(t, "ns1", "svc1", "p80", "10.0.1.1", 80, c.endpoints("svc1")[0])
    _endpoint_names(t, "ns2", "svc2", "p8080", "10.0.2.1", 8080, c.endpoints("svc2")[0])
    t["172.30.0.41"], t["172.30.0.42"] = str(c.service("svc1").cluster_ip), str(c.service("svc2").cluster_ip)
    theirs = _translate(UPSTREAM_BASE + UPSTREAM_REPEATED, t)
    _compare(render(c, "node-b", port_name={"svc1": "p80", "svc2": "p8080"}), theirs)


def test_rendering_equals_upstream_bad_ips_expected_output():
    c = Cluster.from_layout({"node-a": 1, "node-b": 0}, service="svc1", type="LoadBalancer", target_port=80)
    c.patch_service("svc1", external_ips=["192.168.99.22"], load_balancer_source_ranges=["203.0.113.0/25"])
    t = _common(c, "node-b")
    _names(t, "ns1", "svc1", "p80")
    _endpoint_names(t, "ns1", "svc1", "p80", "10.180.0.1", 80, c.endpoints("svc1")[0])
    svc = c.service("svc1")
    t.update({"172.30.0.41": str(svc.cluster_ip), "1.2.3.4": str(svc.load_balancer_ip),
              "tcp . 3001": f"tcp . {svc.node_port}"})
    theirs = _translate(UPSTREAM_BASE + UPSTREAM_BAD_IPS, t)
    _compare(render(c, "node-b", port_name="p80"), theirs)


def test_upstream_fixture_names_are_reproduced():
    assert chains.nft_service_chain("ns2", "svc2", port_name="p80") == "service-42NFTM6N-ns2/svc2/tcp/p80"
    assert chains.nft_endpoint_chain("ns4", "svc4", "10.180.0.5", 80, port_name="p80") == \
        "endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80"
    assert chains.nft_affinity_set("ns5", "svc5", "10.180.0.3", 80, port_name="p80") == \
        "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"
    # Test_servicePortChainNameBase, Test_servicePortEndpointChainNameBase (upstream's own cases)
    assert chains.nft_base("testing", "service", port_name="https") == "LZBRENCP-testing/service/tcp/https"
    assert chains.nft_endpoint_base("testing", "service", "10.180.0.2", 80, port_name="http") == \
        "5S6H3H22-testing/service/tcp/http__10.180.0.2/80"
    long_ns = "very-long-namespace-name-abcdefghijklmnopqrstuvwxyz0123456789xx"
    long_svc = "very-long-service-name-why-would-you-even-do-this-i-mean-really"
    long_port = "port-443-providing-the-hypertext-transmission-protocol-with-tls"
    assert chains.nft_base(long_ns, long_svc, port_name=long_port, protocol="SCTP").startswith("KR6NACJP-")
    truncated = chains.nft_endpoint_base(long_ns, long_svc, "1234:5678:9abc:def0::abcd:1234:5678", 443,
                                         port_name=long_port, protocol="SCTP")
    assert truncated.startswith("CI6C53Q3-") and truncated.endswith("__1234.5678.9abc.def0..abcd.1234...")
    assert len(truncated) == 240


# --------------------------------------------------------------------------- layout and options


def test_nodeports_answer_on_the_primary_ip_only_by_default():
    rs = ruleset(examples.uneven(), "node-a")
    assert rs.elements("nodeport-ips") == [("192.168.0.11", "")]
    assert "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports" in rs.rules("services")
    every = ruleset(examples.uneven(), "node-a", dataplane=KubeProxy(mode="nftables", nodeport_addresses=("0.0.0.0/0",)))
    assert "nodeport-ips" not in every.sets
    assert ("fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports"
            in every.rules("services"))
    both = ruleset(examples.uneven(), "node-a",
                   dataplane=KubeProxy(mode="nftables", nodeport_addresses=("primary", "10.244.0.0/16")))
    assert both.elements("nodeport-ips") == [("192.168.0.11", ""), ("10.244.1.1", "")]


def test_local_policy_without_local_endpoints_drops_in_the_filter_maps():
    rs = ruleset(examples.uneven(external_traffic_policy="Local"), "node-c")
    svc = examples.uneven().service("web")
    assert (f"{svc.load_balancer_ip} . tcp . 80", "drop") in rs.elements("no-endpoint-services")
    assert (f"tcp . {svc.node_port}", "drop") in rs.elements("no-endpoint-nodeports")
    ext = chains.nft_external_chain("default", "web")
    assert [r for r in rs.rules(ext) if "goto local-" in r] == []  # no local endpoints: no last rule


def test_no_endpoints_anywhere_rejects():
    rs = ruleset(Cluster.from_layout([0, 0], type="NodePort"), "node-a")
    verdicts = {v for _, v in rs.elements("no-endpoint-services") + rs.elements("no-endpoint-nodeports")}
    assert verdicts == {"goto reject-chain"}
    assert not any("/" in name for name in rs.chains)  # no per-service chain at all


def test_render_dispatches_on_the_mode_and_refuses_other_dataplanes():
    c = examples.uneven()
    assert render_any(c, "node-a", dataplane="nftables") == render(c, "node-a")
    with pytest.raises(InvalidChange, match="nftables mode"):
        render(c, "node-a", dataplane="iptables")
    with pytest.raises(NotFound, match="IPv4"):
        render(c, "node-a", family="IPv5")


# --------------------------------------------------------------------------- walk the rules


def _packet(cluster: Cluster, source: Source, node_name: str, dst, port: int) -> Pkt:
    local = frozenset(node_addresses(cluster.node(node_name), family_of(source.ip)))
    return Pkt(source.ip, dst, port, src_local=source.ip in local or source.kind in ("node", "localhost"),
               local_addresses=local, from_host=source.kind in ("node", "localhost"))


def kernel_answer(cluster: Cluster, node_name: str, source: Source, dst, port: int, dp) -> tuple[str, set]:
    text = render(cluster, node_name, dataplane=dp, family=family_of(source.ip))
    return Walker(Table(text)).connect(_packet(cluster, source, node_name, dst, port))


def compare(cluster: Cluster, service: str, node_name: str, source: Source, destination: str, dp,
            node_ip=None) -> None:
    from test_rules import _destination_ip

    svc, node = cluster.service(service), cluster.node(node_name)
    dst = _destination_ip(cluster, svc, node, destination, family_of(source.ip), node_ip, source)
    port = svc.node_port if destination == "nodePort" else svc.port
    if dst is None or port is None:
        return
    d = decide(cluster, service, node=node_name, source=source, destination=destination, dataplane=dp,
               node_ip=node_ip)
    verdict, targets = kernel_answer(cluster, node_name, source, dst, port, dp)
    where = f"{cluster.name} {service} at {node_name} from {source} to {destination}: {d.reason}"
    expected = "NO_MATCH" if d.verdict == "NO_MATCH" else d.verdict
    assert verdict == expected, where
    if verdict == "DNAT":
        assert {t for t, _ in targets} == {e.ip for e in d.endpoints}, where
        for e in d.endpoints:
            assert {m for t, m in targets if t == e.ip} == {d.masquerades(e, source.ip)}, (where, e)


NFT = ["nftables", KubeProxy(mode="nftables", snat_external=False),
       KubeProxy(mode="nftables", masquerade_all=True), KubeProxy(mode="nftables", detect_local=False)]


@pytest.mark.parametrize("dp", NFT, ids=["nftables", "no-snat", "masquerade-all", "no-detect-local"])
@pytest.mark.parametrize("example", sorted(examples.NAMES))
@pytest.mark.parametrize("etp", ["Cluster", "Local"])
def test_rules_walk_agrees_with_decide_on_examples(example, etp, dp):
    from test_rules import _sources

    cluster = examples.NAMES[example]()
    if cluster.service("web").external_traffic_policy != etp:
        cluster.patch_service("web", external_traffic_policy=etp)
    for variant in ("as is", "iTP Local", "terminating", "source ranges", "affinity", "no endpoints"):
        c = cluster.copy()
        if variant == "iTP Local":
            c.patch_service("web", internal_traffic_policy="Local")
        elif variant == "terminating" and c.pods:
            c.set_pod(c.pods[0].name, terminating=True)
        elif variant == "source ranges":
            c.patch_service("web", load_balancer_source_ranges=["198.51.100.0/24", "192.168.0.0/28"])
        elif variant == "affinity":
            c.patch_service("web", session_affinity="ClientIP", load_balancer_source_ranges=["198.51.100.0/24"])
        elif variant == "no endpoints":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "selector matches no pods": on purpose here
                c.patch_service("web", selector={"app": "nothing"}, load_balancer_source_ranges=["198.51.100.0/24"])
        for node in c.nodes:
            for source in _sources(c, node.name):
                for destination in ("clusterIP", "nodePort", "loadBalancerIP"):
                    compare(c, "web", node.name, source, destination, dp)


def _upstream_params():
    from test_kubeproxy_cases import _unsupported

    out = []
    for i, case in enumerate(CASES):
        if case.get("dataplane", "both") == "iptables":
            continue  # upstream runs it against iptables mode only
        reason = _unsupported(case)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        out.append(pytest.param(case, id=f"{i}: {case['upstream']}", marks=marks))
    return out


@pytest.mark.parametrize("case", _upstream_params())
def test_rules_walk_agrees_with_decide_on_upstream_cases(case):
    from test_kubeproxy_cases import _build, _source, by_packet, kube_proxy, node_ip, packet_target

    cluster, _ = _build(case)
    source = _source(case, cluster)
    dp = kube_proxy(case, cluster, "nftables")
    if by_packet(case):
        dst, dport, protocol = packet_target(case, cluster)
        d = decide_packet(cluster, node="node-a", source=source, dst=dst, dport=dport, protocol=protocol, dataplane=dp)
        text = render(cluster, "node-a", dataplane=dp, family=family_of(source.ip))
        p = _packet(cluster, source, "node-a", dst, dport)
        verdict, _ = Walker(Table(text)).connect(Pkt(p.src, p.dst, p.dport, protocol.lower(), p.src_local,
                                                     p.local_addresses, p.from_host))
        assert verdict == d.verdict, d.reason
    else:
        compare(cluster, "svc", "node-a", source, case["destination"], dp, node_ip(case, cluster))


# --------------------------------------------------------------------------- the kernel accepts it

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"),
    reason="loading rules needs root, iproute2 and nft (CI runs as root)")


@needs_root
@pytest.mark.root
def test_nft_loads_the_rendering_in_a_scratch_namespace():
    ns = f"k8sl-nft-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        guarded = examples.uneven(external_traffic_policy="Local")
        guarded.patch_service("web", load_balancer_source_ranges=["198.51.100.0/24", "192.168.0.0/24"],
                              session_affinity="ClientIP")
        for cluster in (Cluster.from_layout([0, 1], type="NodePort"), examples.one_two(), examples.uneven(),
                        guarded, _upstream_equivalent()):
            for node in cluster.nodes:
                text = "add table ip kube-proxy\ndelete table ip kube-proxy\n" + render(cluster, node.name)
                run = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, text=True, check=False,
                                     capture_output=True)
                assert run.returncode == 0, run.stderr
        listed = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "kube-proxy"], text=True,
                                capture_output=True, check=True).stdout
        assert "numgen random mod" in listed and "firewall-" in listed and "flags dynamic,timeout" in listed
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


# ------------------------------------------------------------------ the names a learner reads in nftables mode
def _chains_and_maps(rules: str) -> set[str]:
    names = set()
    for line in rules.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0] == "add" and parts[1] in ("chain", "map", "set"):
            names.add(parts[4] if parts[1] == "chain" else "@" + parts[4])
    return names


@pytest.mark.parametrize("etp", ["Cluster", "Local"])
@pytest.mark.parametrize("via", ["node-a", "node-b", "node-c"])
@pytest.mark.parametrize("address", ["loadBalancerIP", "nodePort", "clusterIP"])
def test_traces_in_nftables_mode_name_the_chains_the_ruleset_has(etp, via, address):
    """A trace's rule column names nftables' own chains and maps, each present in that node's ruleset;
    no iptables name (KUBE-SERVICES, KUBE-SVC-..., KUBE-POSTROUTING) shows in nftables mode."""
    c = k8s.examples.empty_node(external_traffic_policy=etp)
    c.patch_service("web", load_balancer_source_ranges=["198.51.100.0/24"])
    known = _chains_and_maps(render(c, via))
    for endpoint in [None] + [p.name for p in c.pods if p.labels.get("app") == "web"]:
        try:
            t = k8s.send(c, "web", via=via, address=address, dataplane="nftables", endpoint=endpoint, seed=1)
        except k8s.errors.InvalidChange:
            continue  # kube-proxy on this node would not pick that endpoint
        rules = [h.rule for h in t.hops if h.rule and h.at.kind == "node"]
        assert rules, t
        for rule in rules:
            assert "KUBE-" not in rule, rule
            if rule.startswith(("filter ", "nft ")) or ":" in rule.split(" → ")[0]:
                continue  # a filter verdict map or the masquerade rule, checked below
            for name in rule.split(" → "):
                assert name.split(" ")[0] in known | {"services"}, (name, sorted(known))
        iptables = [h.rule for h in k8s.send(c, "web", via=via, address=address, seed=1).hops if h.rule]
        assert any("KUBE-" in r for r in iptables)


def test_nftables_mode_says_masquerading_and_the_verdict_maps():
    c = k8s.examples.empty_node(external_traffic_policy="Cluster")
    t = k8s.send(c, "web", via="node-c", dataplane="nftables", seed=0)
    assert [h.rule for h in t.hops if h.action == "SNAT"] == ["masquerading: masquerade fully-random"]
    assert "add chain ip kube-proxy masquerading" in render(c, "node-c")
    c.patch_service("web", external_traffic_policy="Local")
    t = k8s.send(c, "web", via="node-c", dataplane="nftables")
    assert t.hops[-1].rule == ('filter service-endpoints-check: vmap @no-endpoint-services → drop '
                               '("default/web has no local endpoints")')
    t = k8s.send(c, "web", via="node-c", address="nodePort", dataplane="nftables")
    assert t.hops[-1].rule.startswith("filter nodeport-endpoints-check: vmap @no-endpoint-nodeports → drop")
