"""kube-proxy's nftables-mode ruleset for one node, as ``nft -f`` input.

:func:`render` writes what kube-proxy in nftables mode (GA in 1.33) would load on one node: one
table, ``kube-proxy``, in the ``ip`` family (or ``ip6`` for the IPv6 side of a dual-stack cluster).
Where iptables mode walks a long chain of rules per service, nftables mode looks each packet up in
a few **verdict maps**:

* ``service-ips`` (``<address> . <protocol> . <port> : goto <chain>``) for ClusterIPs, externalIPs
  and load-balancer IPs, and ``service-nodeports`` (``<protocol> . <port>``) for NodePorts, both
  consulted by the ``services`` chain (hooked into ``nat-prerouting`` and ``nat-output``);
* ``no-endpoint-services`` / ``no-endpoint-nodeports``: ``drop`` (no local endpoint under a Local
  policy) or ``goto reject-chain`` (no endpoint at all), checked by the ``filter`` base chains;
* ``firewall-ips``: the load-balancer IPs that have ``loadBalancerSourceRanges``, each sent to a
  ``firewall-*`` chain (``ip saddr != { ... } drop``) before any DNAT happens;
* the ``cluster-ips`` set, so that traffic to a ClusterIP on a port the service does not have is
  rejected, and traffic to an unallocated address of the service CIDR dropped.

Per service port there are chains named as iptables mode's, readably: ``service-*`` (``KUBE-SVC``),
``local-*`` (``KUBE-SVL``), ``external-*`` (``KUBE-EXT``), ``firewall-*`` (``KUBE-FW``) and
``endpoint-*`` (``KUBE-SEP``), and ``affinity-*`` sets for ``sessionAffinity: ClientIP``. The
random choice is one rule, ``numgen random mod N vmap { 0 : goto ..., 1 : goto ... }``. Masquerading
is the same mark as in iptables mode (``mark-for-masquerade``, then ``masquerading`` in
``nat-postrouting``).

Rules, names (with upstream's hashing, :mod:`k8slearn.dataplane.chains`) and layout follow
``syncProxyRules`` and ``setupNFTables`` in ``pkg/proxy/nftables/proxier.go`` (kubernetes/kubernetes)
and the expected output of ``TestOverallNFTablesRules`` in ``pkg/proxy/nftables/proxier_test.go``
(Kubernetes 1.35), which ``tests/test_nft.py`` compares line by line. The endpoint sets come from
:func:`~k8slearn.dataplane.decide.categorize`, as for :func:`~k8slearn.dataplane.rules.render` and
:func:`~k8slearn.dataplane.decide.decide`.

Two nftables-mode defaults differ from iptables mode and show here: NodePorts answer only on the
node's primary IP (``--nodeport-addresses primary``, the ``nodeport-ips`` set), and there are no
NodePorts on 127.0.0.1.

Taught in notebooks/11-real-cluster-lab.ipynb (and ``k8slearn lab --mode nftables``).

>>> from k8slearn import examples
>>> text = render(examples.uneven(), "node-c")
>>> print("\\n".join(l for l in text.splitlines() if "numgen" in l))
add rule ip kube-proxy service-PFISGYVC-default/web/tcp/ numgen random mod 3 vmap { 0 : goto endpoint-T6OEKE6Q-default/web/tcp/__10.244.1.5/8080 , 1 : goto endpoint-6RSU3NI6-default/web/tcp/__10.244.1.6/8080 , 2 : goto endpoint-W2BRTWSS-default/web/tcp/__10.244.2.5/8080 }
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidChange, NotFound
from ..model import Cluster, Endpoint, NodeRef, Service
from ..validation import SERVICE_CIDR
from . import chains
from .decide import KubeProxy, categorize, get_dataplane, nodeport_ips
from .ruleparts import (
    MASQUERADE_MARK,
    sorted_endpoints,
    uses_cluster_endpoints,
    uses_local_endpoints,
)

__all__ = ["render", "ruleset", "NftRuleSet", "FAMILIES", "BASE_CHAINS", "JUMPS"]

#: ``family=`` values: the API's IP family and the nftables family its table lives in.
FAMILIES = {"IPv4": "ip", "IPv6": "ip6"}

#: The base chains (``setupNFTables``): name, type, hook, priority. The filter chains that look at
#: the destination before DNAT run at dstnat-10 (-110), the others at the filter priority (0).
BASE_CHAINS: tuple[tuple[str, str, str, int], ...] = (
    ("filter-prerouting-pre-dnat", "filter", "prerouting", -110),
    ("filter-output-pre-dnat", "filter", "output", -110),
    ("filter-forward", "filter", "forward", 0),
    ("filter-input", "filter", "input", 0),
    ("filter-output", "filter", "output", 0),
    ("nat-output", "nat", "output", -100),
    ("nat-postrouting", "nat", "postrouting", 100),
    ("nat-prerouting", "nat", "prerouting", -100),
)

#: The jumps from base chains to kube-proxy's own chains (``nftablesJumpChains``), in rule order.
JUMPS: tuple[tuple[str, str, str], ...] = (
    ("filter-prerouting-pre-dnat", "ct state new", "firewall-check"),
    ("filter-forward", "ct state new", "service-endpoints-check"),
    ("filter-forward", "ct state new", "cluster-ips-check"),
    ("filter-input", "ct state new", "nodeport-endpoints-check"),
    ("filter-input", "ct state new", "service-endpoints-check"),
    ("filter-output", "ct state new", "service-endpoints-check"),
    ("filter-output-pre-dnat", "ct state new", "firewall-check"),
    ("filter-output", "ct state new", "cluster-ips-check"),
    ("nat-output", "", "services"),
    ("nat-postrouting", "", "masquerading"),
    ("nat-prerouting", "", "services"),
)

_FIXED_CHAINS = ("cluster-ips-check", "firewall-check", "mark-for-masquerade", "masquerading",
                 "nodeport-endpoints-check", "reject-chain", "services", "service-endpoints-check")


@dataclass
class NftRuleSet:
    """One node's nftables ruleset: the table's sets, maps, chains, rules and map elements.

    :meth:`text` lays it out as ``nft -f`` accepts it and as upstream's fake nftables dumps it:
    the table, its sets and maps, every chain, every rule (chain by chain, in order), then the
    set and map elements. :meth:`rules` gives one chain's rules, :meth:`elements` one map's entries.
    """

    node: str
    family: str = "ip"
    sets: dict[str, str] = field(default_factory=dict)
    maps: dict[str, str] = field(default_factory=dict)
    chains: dict[str, str] = field(default_factory=dict)
    chain_rules: dict[str, list[str]] = field(default_factory=dict)
    element_list: list[tuple[str, str, str, str]] = field(default_factory=list)

    def _prefix(self, kind: str) -> str:
        return f"add {kind} {self.family} kube-proxy"

    def add_set(self, name: str, spec: str) -> None:
        self.sets[name] = f"{self._prefix('set')} {name} {{ {spec} ; }}"

    def add_map(self, name: str, spec: str) -> None:
        self.maps[name] = f"{self._prefix('map')} {name} {{ {spec} ; }}"

    def chain(self, name: str, spec: str = "") -> None:
        if name not in self.chains:
            self.chains[name] = f"{self._prefix('chain')} {name}" + (f" {{ {spec} ; }}" if spec else "")
            self.chain_rules.setdefault(name, [])

    def rule(self, chain: str, *parts: Any, comment: str = "") -> None:
        self.chain(chain)
        text = " ".join(str(p) for p in parts if str(p))
        if comment:
            text += f' comment "{comment}"'
        self.chain_rules[chain].append(text)

    def element(self, container: str, key: str, value: str = "", comment: str = "") -> None:
        self.element_list.append((container, key, value, comment))

    def rules(self, chain: str) -> list[str]:
        """The rules of one chain, as written after ``add rule <family> kube-proxy <chain>``."""
        return list(self.chain_rules.get(chain, ()))

    def elements(self, container: str) -> list[tuple[str, str]]:
        """The ``(key, verdict)`` entries of one map (verdict empty for a set)."""
        return [(k, v) for c, k, v, _ in self.element_list if c == container]

    def lines(self) -> list[str]:
        out = [f'add table {self.family} kube-proxy {{ comment "rules for kube-proxy" ; }}']
        out += list(self.sets.values()) + list(self.maps.values()) + list(self.chains.values())
        for name, rules in self.chain_rules.items():
            out += [f"{self._prefix('rule')} {name} {r}" for r in rules]
        for container, key, value, comment in self.element_list:
            note = f' comment "{comment}"' if comment else ""
            out.append(f"{self._prefix('element')} {container} {{ {key}{note}" + (f" : {value}" if value else "") + " }")
        return out

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"


def _family(family: Any) -> str:
    if not isinstance(family, str) or family not in FAMILIES:
        raise NotFound("IP family", family, list(FAMILIES))
    return family


def _of_family(addresses: Iterable[Any], version: int) -> list[Any]:
    return [a for a in addresses if a is not None and a.version == version]


def ruleset(
    cluster: Cluster,
    node: NodeRef,
    *,
    dataplane: str | KubeProxy = "nftables",
    family: str = "IPv4",
    port_name: str | Mapping[str, str] = "",
    service_cidrs: Iterable[Any] | None = None,
) -> NftRuleSet:
    """The ruleset of :func:`render` as an :class:`NftRuleSet`, for tests and tools."""
    dp = get_dataplane(dataplane)
    if not isinstance(dp, KubeProxy) or dp.mode != "nftables":
        raise InvalidChange(
            f"nftables rendering is for kube-proxy's nftables mode, not {dp.name}",
            hint='use dataplane="nftables" (or KubeProxy(mode="nftables", ...)); '
            "render(..., dataplane=\"iptables\") gives iptables mode's rules.")
    family = _family(family)
    version = 4 if family == "IPv4" else 6
    here = cluster.node(node)
    ipx = FAMILIES[family]
    addr_type = "ipv4_addr" if version == 4 else "ipv6_addr"
    rs = NftRuleSet(here.name, ipx)
    cidr = _cluster_cidr(cluster, version)
    if service_cidrs is None:
        service_cidrs = _service_cidrs(cluster, version)
    service_cidrs = [str(c) for c in service_cidrs]

    # setupNFTables: the sets and maps, the base chains and the jumps into kube-proxy's chains.
    rs.add_set("cluster-ips", f'type {addr_type} ; comment "Active ClusterIPs"')
    addresses = nodeport_ips(dp, here, family)
    if addresses is not None:
        addresses = [a for a in addresses if not a.is_loopback]  # "localhost NodePorts are not supported"
        rs.add_set("nodeport-ips", f'type {addr_type} ; comment "IPs that accept NodePort traffic"')
    verdict = f"{addr_type} . inet_proto . inet_service : verdict"
    rs.add_map("firewall-ips", f'type {verdict} ; comment "destinations that are subject to LoadBalancerSourceRanges"')
    rs.add_map("no-endpoint-nodeports", 'type inet_proto . inet_service : verdict ; comment "vmap to drop or reject '
               'packets to service nodeports with no endpoints"')
    rs.add_map("no-endpoint-services", f'type {verdict} ; comment "vmap to drop or reject packets to services with no '
               'endpoints"')
    rs.add_map("service-ips", f'type {verdict} ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"')
    rs.add_map("service-nodeports", 'type inet_proto . inet_service : verdict ; comment "NodePort traffic"')
    for name, kind, hook, priority in BASE_CHAINS:
        rs.chain(name, f"type {kind} hook {hook} priority {priority}")
    for name in _FIXED_CHAINS:
        rs.chain(name, 'comment "helper for @no-endpoint-services / @no-endpoint-nodeports"'
                 if name == "reject-chain" else "")
    for base, match, target in JUMPS:
        rs.rule(base, match, "jump", target)
    rs.rule("cluster-ips-check", ipx, "daddr @cluster-ips reject", comment="Reject traffic to invalid ports of ClusterIPs")
    if service_cidrs:
        rs.rule("cluster-ips-check", ipx, "daddr {", " , ".join(service_cidrs), "} drop",
                comment="Drop traffic to unallocated ClusterIPs")
    rs.rule("firewall-check", ipx, "daddr . meta l4proto . th dport vmap @firewall-ips")
    rs.rule("mark-for-masquerade", "mark set mark or", MASQUERADE_MARK)
    rs.rule("masquerading", "mark and", MASQUERADE_MARK, "== 0 return")
    rs.rule("masquerading", "mark set mark xor", MASQUERADE_MARK)
    rs.rule("masquerading", "masquerade fully-random")
    no_localhost = f"{ipx} daddr != " + ("127.0.0.0/8" if version == 4 else "::1")
    if addresses is None:
        rs.rule("nodeport-endpoints-check", no_localhost, "meta l4proto . th dport vmap @no-endpoint-nodeports")
    else:
        rs.rule("nodeport-endpoints-check", ipx, "daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports")
        for a in addresses:
            rs.element("nodeport-ips", str(a))
    rs.rule("reject-chain", "reject")
    rs.rule("services", ipx, "daddr . meta l4proto . th dport vmap @service-ips")
    if addresses is None:
        rs.rule("services", "fib daddr type local", no_localhost, "meta l4proto . th dport vmap @service-nodeports")
    else:
        rs.rule("services", ipx, "daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports")
    rs.rule("service-endpoints-check", ipx, "daddr . meta l4proto . th dport vmap @no-endpoint-services")

    for svc in sorted(cluster.services, key=lambda s: (s.namespace, s.name)):
        name = port_name.get(svc.name, "") if isinstance(port_name, Mapping) else port_name
        _service(rs, cluster, svc, here, dp, family, cidr, name)
    return rs


def _cluster_cidr(cluster: Cluster, version: int) -> str | None:
    net = cluster.cluster_cidr if version == 4 else cluster.cluster_cidr6
    return None if net is None else str(net)


def _service_cidrs(cluster: Cluster, version: int) -> list[Any]:
    net = SERVICE_CIDR if version == 4 else cluster.service_cidr6
    return [] if net is None else [net]


def _service(rs: NftRuleSet, cluster: Cluster, svc: Service, here: Any, dp: KubeProxy, family: str,
             cidr: str | None, port_name: str) -> None:
    version = 4 if family == "IPv4" else 6
    cip = svc.cluster_ip_of(family)
    if cip is None:
        return  # a single-stack service of the other family: the other proxier's business
    ipx, ns, name, proto, port = rs.family, svc.namespace, svc.name, "tcp", svc.port
    spn = f"{ns}/{name}" + (f":{port_name}" if port_name else "")
    svc_chain = chains.nft_service_chain(ns, name, port_name=port_name)
    local_chain = chains.nft_local_chain(ns, name, port_name=port_name)
    ext_chain = chains.nft_external_chain(ns, name, port_name=port_name)
    fw_chain = chains.nft_firewall_chain(ns, name, port_name=port_name)

    eps = cluster.endpoints(svc, family=family)
    cluster_eps, local_eps, has_endpoints = categorize(eps, svc, here.name, here.zone)
    cluster_eps = sorted_endpoints(cluster_eps) if uses_cluster_endpoints(svc) else []
    local_eps = sorted_endpoints(local_eps) if uses_local_endpoints(svc) else []
    reachable = list({f"{e.ip}:{e.port}": e for e in [*cluster_eps, *local_eps]}.values())

    def ep_chain(e: Endpoint) -> str:
        return chains.nft_endpoint_chain(ns, name, e.ip, e.port, port_name=port_name)

    def affinity_set(e: Endpoint) -> str:
        return chains.nft_affinity_set(ns, name, e.ip, e.port, port_name=port_name)

    for e in reachable:
        rs.chain(ep_chain(e))
    if cluster_eps:
        rs.chain(svc_chain)
    if local_eps:
        rs.chain(local_chain)

    internal_chain, has_internal = svc_chain, has_endpoints
    if svc.internal_traffic_policy == "Local":
        internal_chain, has_internal = local_chain, has_endpoints and bool(local_eps)
    external_local = svc.external_traffic_policy == "Local"
    external_policy_chain = local_chain if external_local else svc_chain
    has_external = has_endpoints and (bool(local_eps) if external_local else True)
    uses_ext_chain = has_endpoints and svc.externally_accessible
    if uses_ext_chain:
        rs.chain(ext_chain)
    if not has_endpoints:
        int_verdict = ext_verdict = "goto reject-chain"
    else:
        int_verdict = "" if has_internal else "drop"
        ext_verdict = "" if has_external else "drop"

    def key(address: Any) -> str:
        return f"{address} . {proto} . {port}"

    rs.element("cluster-ips", str(cip))
    if has_internal:
        rs.element("service-ips", key(cip), f"goto {internal_chain}")
    else:
        rs.element("no-endpoint-services", key(cip), int_verdict, spn)
    for ip in svc.external_ips_of(family):
        if has_endpoints:
            rs.element("service-ips", key(ip), f"goto {ext_chain}")
        if not has_external:
            rs.element("no-endpoint-services", key(ip), ext_verdict, spn)
    # ServicePortInfo.LoadBalancerVIPs leaves out ingress IPs whose ipMode is Proxy.
    lb_ips = [] if svc.load_balancer_ip_mode == "Proxy" else list(svc.load_balancer_ips_of(family))
    ranges = _of_family(svc.load_balancer_source_ranges, version)
    uses_fw = bool(lb_ips) and bool(ranges)
    if uses_fw:
        rs.chain(fw_chain)
    for ip in lb_ips:
        if has_endpoints:
            rs.element("service-ips", key(ip), f"goto {ext_chain}")
        if uses_fw:
            rs.element("firewall-ips", key(ip), f"goto {fw_chain}")
    if not has_external:
        for ip in lb_ips:
            rs.element("no-endpoint-services", key(ip), ext_verdict, spn)
    if svc.node_port is not None:
        if has_endpoints:
            rs.element("service-nodeports", f"{proto} . {svc.node_port}", f"goto {ext_chain}")
        if not has_external:
            rs.element("no-endpoint-nodeports", f"{proto} . {svc.node_port}", ext_verdict, spn)

    if has_internal:
        if dp.masquerade_all:
            rs.rule(internal_chain, ipx, "daddr", cip, "jump mark-for-masquerade")
        elif dp.detect_local and cidr:
            rs.rule(internal_chain, ipx, "daddr", cip, ipx, "saddr !=", cidr, "jump mark-for-masquerade")

    if uses_ext_chain:
        if not external_local:
            if dp.snat_external:  # the hypothetical "no-snat" kube-proxy leaves this rule out
                rs.rule(ext_chain, "jump mark-for-masquerade")
        else:
            if dp.detect_local and cidr:
                rs.rule(ext_chain, ipx, "saddr", cidr, "goto", svc_chain, comment="short-circuit pod traffic")
            rs.rule(ext_chain, "fib saddr type local jump mark-for-masquerade", comment="masquerade local traffic")
            rs.rule(ext_chain, "fib saddr type local goto", svc_chain, comment="short-circuit local traffic")
        if has_external:
            rs.rule(ext_chain, "goto", external_policy_chain)

    if uses_fw:
        sources = [str(r) for r in ranges]
        node_ip = here.address(family)
        if node_ip is not None and any(node_ip in r for r in ranges):
            sources += [str(ip) for ip in lb_ips]  # a node's connection to a VIP it holds loops back from the VIP
        rs.rule(fw_chain, ipx, "saddr != {", " , ".join(sources), "} drop")

    affinity = svc.session_affinity == "ClientIP"
    if affinity:
        addr_type = "ipv4_addr" if version == 4 else "ipv6_addr"
        for e in reachable:
            rs.add_set(affinity_set(e), f"type {addr_type} ; flags dynamic,timeout ; "
                       f"timeout {svc.session_affinity_timeout}s")
    for chain_name, eps in ((svc_chain, cluster_eps), (local_chain, local_eps)):
        if not eps:
            continue
        if affinity:  # writeServiceToEndpointRules: the affinity lookups come first
            for e in eps:
                rs.rule(chain_name, ipx, "saddr", f"@{affinity_set(e)}", "goto", ep_chain(e))
        vmap = " , ".join(f"{i} : goto {ep_chain(e)}" for i, e in enumerate(eps))
        rs.rule(chain_name, f"numgen random mod {len(eps)} vmap {{ {vmap} }}")
    for e in reachable:
        chain = ep_chain(e)
        rs.rule(chain, ipx, "saddr", e.ip, "jump mark-for-masquerade")
        if affinity:
            rs.rule(chain, f"update @{affinity_set(e)} {{ {ipx} saddr }}")
        target = f"{e.ip}:{e.port}" if version == 4 else f"[{e.ip}]:{e.port}"
        rs.rule(chain, "meta l4proto", proto, "dnat to", target)


def render(
    cluster: Cluster,
    node: NodeRef,
    *,
    dataplane: str | KubeProxy = "nftables",
    family: str = "IPv4",
    port_name: str | Mapping[str, str] = "",
    service_cidrs: Iterable[Any] | None = None,
) -> str:
    """kube-proxy's nftables ruleset for ``node``, as ``nft -f`` input.

    Parameters
    ----------
    cluster, node
        The cluster and the node whose kube-proxy writes the rules.
    dataplane
        ``"nftables"`` (default) or a :class:`~k8slearn.dataplane.decide.KubeProxy` in nftables mode
        with ``masquerade_all`` / ``detect_local`` / ``snat_external`` / ``nodeport_addresses`` set.
    family
        ``"IPv4"`` (the ``ip kube-proxy`` table) or ``"IPv6"`` (``ip6 kube-proxy``): kube-proxy runs
        one proxier per family, and a dual-stack node has both tables.
    port_name
        A name for the service port (``"p80"`` reproduces upstream fixture hashes), or a mapping
        from service name to port name.
    service_cidrs
        The service CIDRs kube-proxy knows (default: the cluster's), for the rule that drops traffic
        to unallocated ClusterIPs.

    >>> from k8slearn import examples
    >>> rules = render(examples.uneven(external_traffic_policy="Local"), "node-c")
    >>> [l for l in rules.splitlines() if l.startswith("add element ip kube-proxy no-endpoint-services")][0]
    'add element ip kube-proxy no-endpoint-services { 203.0.113.100 . tcp . 80 comment "default/web" : drop }'
    """
    return ruleset(cluster, node, dataplane=dataplane, family=family, port_name=port_name,
                   service_cidrs=service_cidrs).text()
