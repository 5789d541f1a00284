"""kube-proxy's iptables rules as k8slearn renders them (k8slearn/dataplane/rules.py).

Three kinds of check:
- names, probabilities and layout;
- the rendering of services equivalent to upstream's ``TestOverallIPTablesRules`` fixture equals
  upstream's expected output, once upstream's names and addresses are translated to ours;
- a small interpreter walks the rendered rules for a packet, and what it finds (DNAT to which
  endpoints, masquerade mark, DROP/REJECT) equals what :func:`decide` says, for the named examples
  and for every upstream packet-flow case; so the kernel lab, which loads these rules, and the
  simulator cannot disagree without a test failing here first.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import uuid
import warnings
from dataclasses import dataclass

import pytest
from kubeproxy_cases import CASES

from k8slearn import examples
from k8slearn.dataplane import KubeProxy, Source, chains, decide, decide_packet
from k8slearn.dataplane.decide import node_addresses
from k8slearn.dataplane.rules import RuleSet, chain_names, render, ruleset
from k8slearn.errors import InvalidChange
from k8slearn.model import Cluster, family_of

# --------------------------------------------------------------------------- names and layout


def test_chain_names_are_kube_proxys():
    c = examples.uneven()
    names = chain_names(render(c, "node-a"))
    assert chains.service_chain("default", "web") in names
    assert chains.external_chain("default", "web") in names
    for e in c.endpoints("web"):
        assert chains.endpoint_chain("default", "web", e.ip, e.port) in names
    assert chains.local_chain("default", "web") not in names  # Cluster policy: no KUBE-SVL
    assert all(len(n) <= 28 for n in names)  # iptables' limit on chain names


def test_probabilities_give_each_endpoint_one_nth():
    c = Cluster.from_layout([2, 2, 1])
    rules = ruleset(c, "node-a").rules("nat", chains.service_chain("default", "web"))
    probs = [re.search(r"--probability (\S+)", r) for r in rules[1:]]
    assert [p.group(1) if p else None for p in probs] == ["0.2000000000", "0.2500000000", "0.3333333333",
                                                           "0.5000000000", None]
    chance, left = [], 1.0
    for p in probs:
        q = float(p.group(1)) if p else 1.0
        chance.append(left * q)
        left *= 1 - q
    assert chance == pytest.approx([0.2] * 5)


def test_layout_is_filter_then_nat_with_fixed_chain_order():
    text = render(examples.uneven(external_traffic_policy="Local"), "node-c")
    lines = text.splitlines()
    assert lines[0] == "*filter" and lines.count("COMMIT") == 2
    nat = lines[lines.index("*nat") + 1:]
    declared = [l[1:].split()[0] for l in nat if l.startswith(":")]
    assert declared[:2] == ["KUBE-NODEPORTS", "KUBE-SERVICES"]
    assert declared[2:] == sorted(declared[2:])
    # The NodePort catch-all is the last rule of KUBE-SERVICES.
    services = [l for l in nat if l.startswith("-A KUBE-SERVICES ")]
    assert "--dst-type LOCAL -j KUBE-NODEPORTS" in services[-1]
    # node-c has no endpoint, and the service is Local: DROP for LB IP and NodePort, no KUBE-SVL.
    drops = [l for l in lines if l.startswith("-A KUBE-EXTERNAL-SERVICES")]
    assert len(drops) == 2 and all(l.endswith("-j DROP") for l in drops)
    assert chains.local_chain("default", "web") not in declared


def test_local_policy_chain_only_holds_local_endpoints():
    c = examples.uneven(external_traffic_policy="Local")
    rs = ruleset(c, "node-a")
    svl = rs.rules("nat", chains.local_chain("default", "web"))
    assert [re.search(r"-> (\S+)\"", r).group(1) for r in svl] == ["10.244.1.5:8080", "10.244.1.6:8080"]
    ext = rs.rules("nat", chains.external_chain("default", "web"))
    assert ext[-1].endswith("-j " + chains.local_chain("default", "web"))
    assert not any("KUBE-MARK-MASQ" in r and "src-type" not in r for r in ext)  # external sources unmarked


def test_no_snat_dataplane_leaves_out_the_external_masquerade():
    c = examples.uneven()
    ext = chains.external_chain("default", "web")
    assert any("KUBE-MARK-MASQ" in r for r in ruleset(c, "node-c").rules("nat", ext))
    assert not any("KUBE-MARK-MASQ" in r for r in ruleset(c, "node-c", dataplane="no-snat").rules("nat", ext))


def test_no_endpoints_anywhere_rejects():
    c = Cluster.from_layout([0, 0], type="NodePort")
    text = render(c, "node-a")
    rejects = [l for l in text.splitlines() if l.endswith("-j REJECT")]
    assert len(rejects) == 2  # ClusterIP in filter KUBE-SERVICES, NodePort in KUBE-EXTERNAL-SERVICES
    assert all('"default/web has no endpoints"' in l for l in rejects)
    assert chains.service_chain("default", "web") not in chain_names(text)


def test_jumps_link_the_builtin_chains_like_kube_proxy():
    text = render(examples.uneven(), "node-a", jumps=True)
    assert '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' in text
    assert '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING' in text
    inputs = [l for l in text.splitlines() if l.startswith("-A INPUT")]
    assert [l.split()[-1] for l in inputs] == ["KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS",
                                                 "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL"]


def test_other_dataplanes_are_refused_with_a_hint():
    with pytest.raises(InvalidChange, match="iptables mode"):
        render(examples.uneven(), "node-a", dataplane="cilium-dsr")


# --------------------------------------------------------------------------- upstream's own output

# kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go, TestOverallIPTablesRules, expected
# output (svc5 has loadBalancerSourceRanges and sessionAffinity: ClientIP).
UPSTREAM_OVERALL = r"""
*filter
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT
-A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP
COMMIT
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXT-4SW47YFZTEDKD3PK - [0:0]
:KUBE-EXT-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-EXT-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-EXT-X27LE4BHSL4DOUIK - [0:0]
:KUBE-FW-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-C6EBXVWJJZMIWKLZ - [0:0]
:KUBE-SEP-I77PXRDZVX7PMWMN - [0:0]
:KUBE-SEP-OYPFS5VJICHGATKP - [0:0]
:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
:KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
:KUBE-SEP-UKSFD7AGPMPPLUHC - [0:0]
:KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]
:KUBE-SVC-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-SVC-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3003 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-X27LE4BHSL4DOUIK
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j KUBE-EXT-X27LE4BHSL4DOUIK
-A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3002 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3002 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 external IP" -m tcp -p tcp -d 192.168.99.33 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "masquerade traffic for ns4/svc4:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-4SW47YFZTEDKD3PK -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-EXT-NUKIZ6OKUXPJNT4C -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-NUKIZ6OKUXPJNT4C -j KUBE-SVC-NUKIZ6OKUXPJNT4C
-A KUBE-EXT-X27LE4BHSL4DOUIK -m comment --comment "masquerade traffic for ns3/svc3:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-X27LE4BHSL4DOUIK -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -s 10.180.0.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.5:80
-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:80
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN
-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.180.0.3:80" -j KUBE-SEP-OYPFS5VJICHGATKP
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ
COMMIT
"""


def _upstream_equivalent() -> Cluster:
    """svc1..svc6 of the upstream fixture. node-b is upstream's "test-node"."""
    c = Cluster.from_layout({"node-a": 0, "node-b": 0}, service="svc1", type="ClusterIP", target_port=80)
    for name, node in (("svc1-ep", "node-a"), ("svc2-ep", "node-a"), ("svc3-ep", "node-a"),
                       ("svc4-remote", "node-a"), ("svc4-local", "node-b")):
        c.add_pod(name, node, labels={"app": name.split("-")[0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c.add_service("svc2", type="LoadBalancer", selector={"app": "svc2"}, target_port=80,
                      external_traffic_policy="Local", external_ips=["192.168.99.22"])
        c.add_service("svc3", type="NodePort", selector={"app": "svc3"}, target_port=80)
        # Upstream's svc4 is a NodePort service without a nodePort, i.e. reachable on its clusterIP
        # and externalIP only: a ClusterIP service with an externalIP behaves the same.
        c.add_service("svc4", selector={"app": "svc4"}, target_port=80, external_ips=["192.168.99.33"])
        # Upstream's svc5 endpoint is 10.180.0.3, svc3's address: here it selects svc3's pod. (Its
        # fixture also sets healthCheckNodePort on this Cluster service, which the API would refuse and
        # kube-proxy ignores.)
        c.add_service("svc5", type="LoadBalancer", selector={"app": "svc3"}, target_port=80,
                      load_balancer_source_ranges=[" 203.0.113.0/25"], session_affinity="ClientIP")
        c.add_service("svc6", selector={"app": "nothing"}, target_port=80)
    return c


def _translation(c: Cluster) -> dict[str, str]:
    """Upstream name/address -> ours, for every token of the fixture that differs."""
    t: dict[str, str] = {}
    eps = {"svc1": ["10.180.0.1"], "svc2": ["10.180.0.2"], "svc3": ["10.180.0.3"],
           "svc4": ["10.180.0.4", "10.180.0.5"], "svc5": ["10.180.0.3"], "svc6": []}
    cluster_ips = {"svc1": "172.30.0.41", "svc2": "172.30.0.42", "svc3": "172.30.0.43",
                   "svc4": "172.30.0.44", "svc5": "172.30.0.45", "svc6": "172.30.0.46"}
    for name, ips in eps.items():
        i = name[-1]
        svc = c.service(name)
        t[f"ns{i}/{name}:p80"] = f"default/{name}"
        for fn in (chains.service_chain, chains.external_chain, chains.local_chain, chains.firewall_chain):
            t[fn(f"ns{i}", name, port_name="p80")] = fn("default", name)
        t[cluster_ips[name]] = str(svc.cluster_ip)
        ours = sorted(c.endpoints(name), key=lambda e: str(e.ip))
        for up, e in zip(ips, ours):
            t[chains.endpoint_chain(f"ns{i}", name, up, 80, port_name="p80")] = \
                chains.endpoint_chain("default", name, e.ip, e.port)
            t[up] = str(e.ip)
    t["1.2.3.4"] = str(c.service("svc2").load_balancer_ip)
    t["5.6.7.8"] = str(c.service("svc5").load_balancer_ip)
    t["--dport 3002"] = f"--dport {c.service('svc5').node_port}"
    t["--dport 3001"] = f"--dport {c.service('svc2').node_port}"
    t["--dport 3003"] = f"--dport {c.service('svc3').node_port}"
    t["--dport 30000"] = f"--dport {c.service('svc2').health_check_node_port}"
    t["10.0.0.0/8"] = str(c.cluster_cidr)
    return t


def _translate(text: str, table: dict[str, str]) -> str:
    pattern = re.compile("|".join(re.escape(k) + r"(?![\d.])" for k in sorted(table, key=len, reverse=True)))
    return pattern.sub(lambda m: table[m.group(0)], text)


def test_rendering_equals_upstream_overall_expected_output():
    c = _upstream_equivalent()
    ours = render(c, "node-b", random_fully=False, nfacct=True).strip().splitlines()
    theirs = _translate(UPSTREAM_OVERALL, _translation(c)).strip().splitlines()
    # Chain declarations: the chain names sort differently once translated, so compare as sets;
    # rules: the same lines in the same order within each chain.
    assert {l for l in ours if l.startswith(":")} == {l for l in theirs if l.startswith(":")}

    def by_chain(lines):
        out: dict[tuple[str, str], list[str]] = {}
        table = ""
        for l in lines:
            if l.startswith("*"):
                table = l
            elif l.startswith("-A "):
                out.setdefault((table, l.split()[1]), []).append(l)
        return out

    assert by_chain(ours) == by_chain(theirs)


def test_upstream_fixture_hashes_are_reproduced():
    assert chains.service_chain("ns2", "svc2", port_name="p80") == "KUBE-SVC-GNZBNJ2PO5MGZ6GT"
    assert chains.external_chain("ns4", "svc4", port_name="p80") == "KUBE-EXT-4SW47YFZTEDKD3PK"
    assert chains.endpoint_chain("ns4", "svc4", "10.180.0.5", 80, port_name="p80") == "KUBE-SEP-C6EBXVWJJZMIWKLZ"


# --------------------------------------------------------------------------- walk the rules


@dataclass(frozen=True)
class Packet:
    src: ipaddress.IPv4Address | ipaddress.IPv6Address
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address
    dport: int
    src_local: bool  # -m addrtype --src-type LOCAL on the handling node
    dst_local: bool  # -m addrtype --dst-type LOCAL
    proto: str = "tcp"


def _within(ip, text: str) -> bool:
    net = ipaddress.ip_network(text, strict=False)
    return ip.version == net.version and ip in net


def _matches(tokens: list[str], p: Packet, cidr_of) -> bool:
    i, neg = 0, False
    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            neg = True
            i += 1
            continue
        ok = True
        if tok == "-s":
            ok = _within(p.src, tokens[i + 1]); i += 2
        elif tok == "-d":
            ok = _within(p.dst, tokens[i + 1]); i += 2
        elif tok == "--dport":
            ok = p.dport == int(tokens[i + 1]); i += 2
        elif tok == "--src-type":
            ok = p.src_local; i += 2
        elif tok == "--dst-type":
            ok = p.dst_local; i += 2
        elif tok == "-p":
            ok = p.proto == tokens[i + 1]; i += 2
        elif tok in ("-m", "--comment", "--mode", "--probability", "--nfacct-name", "--ctstate", "--name",
                     "--seconds"):
            i += 2
            continue
        elif tok == "--rcheck":
            # -m recent --rcheck: this source was seen before. A new client has no history, so (as
            # upstream's tracer does) an affinity check never matches here.
            return False
        elif tok in ("--set", "--reap"):
            i += 1
            continue
        else:
            raise AssertionError(f"interpreter does not know {tok!r} in {tokens}")
        if ok == neg:
            return False
        neg = False
    return True


def _walk(rs: RuleSet, table: str, chain: str, p: Packet, marked: bool):
    """Every way through a chain: (outcome, target, marked); outcome DNAT/DROP/REJECT/RETURN."""
    paths = [(None, None, marked)]
    done = []
    for line in rs.rules(table, chain):
        tokens = shlex.split(line)[2:]
        if "-j" not in tokens:  # a comment-only rule, e.g. the end of KUBE-FW-* (upstream's tracer skips it too)
            continue
        j = tokens.index("-j")
        match, target, args = tokens[:j], tokens[j + 1], tokens[j + 2:]
        random_ = "statistic" in match
        nxt = []
        for _, _, m in paths:
            if not _matches(match, p, None):
                nxt.append((None, None, m))
                continue
            if random_:
                nxt.append((None, None, m))  # the branch where the random match fails
            if target == "KUBE-MARK-MASQ":
                nxt.append((None, None, True))
            elif target == "DNAT":
                done.append(("DNAT", args[1].rsplit(":", 1)[0].strip("[]"), m))
            elif target in ("DROP", "REJECT", "ACCEPT"):
                done.append((target, None, m))
            else:
                for outcome, tgt, m2 in _walk(rs, table, target, p, m):
                    if outcome == "RETURN":
                        nxt.append((None, None, m2))
                    else:
                        done.append((outcome, tgt, m2))
        paths = nxt
    return done + [("RETURN", None, m) for _, _, m in paths]


def _kernel_answer(rs: RuleSet, p: Packet):
    """What the rules do with a new connection: DNAT targets with their mark, or the filter verdict."""
    nat = _walk(rs, "nat", "KUBE-SERVICES", p, False)
    dnat = {(t, m) for o, t, m in nat if o == "DNAT"}
    if dnat:
        assert all(o == "DNAT" for o, _, _ in nat), "some random branch falls through the chains"
        return "DNAT", dnat
    verdicts = {o for o, _, _ in _walk(rs, "filter", "KUBE-SERVICES", p, False)} | \
        {o for o, _, _ in _walk(rs, "filter", "KUBE-EXTERNAL-SERVICES", p, False)} | \
        {o for o, _, _ in _walk(rs, "filter", "KUBE-PROXY-FIREWALL", p, False)}
    if p.dst_local:  # INPUT: the health-check NodePorts' ACCEPT
        verdicts |= {o for o, _, _ in _walk(rs, "filter", "KUBE-NODEPORTS", p, False)}
    verdicts -= {"RETURN"}
    assert len(verdicts) <= 1
    return (verdicts.pop() if verdicts else "NO_MATCH"), set()


def _destination_ip(cluster: Cluster, svc, node, destination: str, family: str = "IPv4", node_ip=None,
                    source: Source | None = None):
    """The address a packet to ``destination`` is sent to (for a NodePort: ``node_ip`` or the usual one)."""
    if destination == "nodePort":
        if node_ip is not None:
            return node_ip
        if source is not None and source.kind == "localhost":
            return source.ip
        return node.address(family)
    externals = svc.external_ips_of(family)
    lbs = svc.load_balancer_ips_of(family)
    return {"clusterIP": svc.cluster_ip_of(family), "loadBalancerIP": lbs[0] if lbs else None,
            "externalIP": externals[0] if externals else None}[destination]


def _compare(cluster: Cluster, service: str, node_name: str, source: Source, destination: str, dp,
             node_ip=None) -> None:
    svc, node = cluster.service(service), cluster.node(node_name)
    family = family_of(source.ip)
    dst = _destination_ip(cluster, svc, node, destination, family, node_ip, source)
    if dst is None:
        return
    port = svc.node_port if destination == "nodePort" else svc.port
    local_ips = set(node_addresses(node, family))
    p = Packet(source.ip, dst, port, src_local=source.ip in local_ips or source.kind in ("node", "localhost"),
               dst_local=dst in local_ips)
    d = decide(cluster, service, node=node_name, source=source, destination=destination, dataplane=dp,
               node_ip=node_ip)
    verdict, targets = _kernel_answer(ruleset(cluster, node_name, dataplane=dp, family=family), p)
    where = f"{cluster.name} {service} at {node_name} from {source} to {destination}: {d.reason}"
    assert verdict == d.verdict, where
    if verdict == "DNAT":
        assert {t for t, _ in targets} == {str(e.ip) for e in d.endpoints}, where
        for e in d.endpoints:
            marks = {m for t, m in targets if t == str(e.ip)}
            assert marks == {d.masquerades(e, source.ip)}, (where, e)


def _compare_packet(cluster: Cluster, node_name: str, source: Source, dst, dport: int, protocol: str, dp) -> None:
    """The rules walked for a packet to anything (decide_packet's question)."""
    node = cluster.node(node_name)
    family = family_of(source.ip)
    local_ips = set(node_addresses(node, family))
    p = Packet(source.ip, dst, dport, src_local=source.ip in local_ips or source.kind in ("node", "localhost"),
               dst_local=dst in local_ips, proto=protocol.lower())
    d = decide_packet(cluster, node=node_name, source=source, dst=dst, dport=dport, protocol=protocol, dataplane=dp)
    verdict, _ = _kernel_answer(ruleset(cluster, node_name, dataplane=dp, family=family), p)
    assert verdict == d.verdict, f"{source} -> {dst}:{dport}/{protocol}: {d.reason}"


def _sources(cluster: Cluster, node_name: str):
    node = cluster.node(node_name)
    yield Source("external", ipaddress.IPv4Address("198.51.100.7"))
    yield Source("external", ipaddress.IPv4Address("203.0.113.9"))  # outside the ranges set below
    if cluster.service("web").load_balancer_ip is not None:
        yield Source("external", cluster.service("web").load_balancer_ip)  # a VIP the node holds, looped back
    yield Source("node", node.ip, node=node_name)
    for p in cluster.pods:
        yield Source("pod", p.ip, node=p.node, pod=p.name)


DATAPLANES = ["iptables", "no-snat", KubeProxy(masquerade_all=True), KubeProxy(detect_local=False)]


@pytest.mark.parametrize("dp", DATAPLANES, ids=["iptables", "no-snat", "masquerade-all", "no-detect-local"])
@pytest.mark.parametrize("example", sorted(examples.NAMES))
@pytest.mark.parametrize("etp", ["Cluster", "Local"])
def test_rules_walk_agrees_with_decide_on_examples(example, etp, dp):
    cluster = examples.NAMES[example]()
    if cluster.service("web").external_traffic_policy != etp:
        cluster.patch_service("web", external_traffic_policy=etp)
    for variant in ("as is", "iTP Local", "terminating", "source ranges", "affinity"):
        c = cluster.copy()
        if variant == "iTP Local":
            c.patch_service("web", internal_traffic_policy="Local")
        elif variant == "terminating" and c.pods:
            c.set_pod(c.pods[0].name, terminating=True)
        elif variant == "source ranges":  # the client's /24 and the node network's first /28 (node IPs included)
            c.patch_service("web", load_balancer_source_ranges=["198.51.100.0/24", "192.168.0.0/28"])
        elif variant == "affinity":
            c.patch_service("web", session_affinity="ClientIP", load_balancer_source_ranges=["198.51.100.0/24"])
        for node in c.nodes:
            for source in _sources(c, node.name):
                for destination in ("clusterIP", "nodePort", "loadBalancerIP"):
                    _compare(c, "web", node.name, source, destination, dp)


def _upstream_params():
    from test_kubeproxy_cases import _unsupported

    out = []
    for i, case in enumerate(CASES):
        if case.get("dataplane", "both") == "nftables":
            continue
        reason = _unsupported(case)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        out.append(pytest.param(case, id=f"{i}: {case['upstream']}", marks=marks))
    return out


@pytest.mark.parametrize("case", _upstream_params())
def test_rules_walk_agrees_with_decide_on_upstream_cases(case):
    from test_kubeproxy_cases import _build, _source, by_packet, kube_proxy, node_ip, packet_target

    cluster, _ = _build(case)
    source = _source(case, cluster)
    dp = kube_proxy(case, cluster, "iptables")
    if by_packet(case):
        _compare_packet(cluster, "node-a", source, *packet_target(case, cluster), dp)
    else:
        _compare(cluster, "svc", "node-a", source, case["destination"], dp, node_ip(case, cluster))


# --------------------------------------------------------------------------- the kernel accepts it

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("iptables-restore") or not shutil.which("ip"),
    reason="loading rules needs root, iproute2 and iptables (CI runs as root)")


@needs_root
@pytest.mark.root
def test_iptables_restore_accepts_the_rendering_in_a_scratch_namespace():
    ns = f"k8sl-rt-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        guarded = examples.uneven()  # KUBE-FW-* and -m recent must load too
        guarded.patch_service("web", load_balancer_source_ranges=["198.51.100.0/24", "192.168.0.0/24"],
                              session_affinity="ClientIP")
        for cluster in (Cluster.from_layout([0, 1], type="NodePort"), examples.one_two(), examples.uneven(), guarded):
            for node in cluster.nodes:
                text = render(cluster, node.name, jumps=True)
                run = subprocess.run(["ip", "netns", "exec", ns, "iptables-restore"], input=text,
                                     text=True, capture_output=True)
                assert run.returncode == 0, run.stderr
        saved = subprocess.run(["ip", "netns", "exec", ns, "iptables-save"], text=True,
                               capture_output=True, check=True).stdout
        assert "KUBE-SVC-" in saved and "--probability 0.5" in saved
        assert "KUBE-FW-" in saved and "--rcheck --seconds 10800 --reap" in saved
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
