"""kube-proxy's iptables rules for one node, in ``iptables-restore`` format.

:func:`render` writes what kube-proxy's iptables mode (the default) would load on one node of a
:class:`~k8slearn.model.Cluster`: the ``filter`` table (``KUBE-EXTERNAL-SERVICES`` DROP/REJECT
verdicts, ``KUBE-SERVICES`` REJECT, health-check ACCEPTs, ``KUBE-FORWARD``) and the ``nat`` table
(``KUBE-SERVICES``, ``KUBE-NODEPORTS``, ``KUBE-EXT-*``, ``KUBE-SVC-*``, ``KUBE-SVL-*``,
``KUBE-SEP-*``, ``KUBE-MARK-MASQ``, ``KUBE-POSTROUTING``). Rules, comments, chain names (hashed
suffixes included) and layout follow ``syncProxyRules`` in ``pkg/proxy/iptables/proxier.go`` and the
expected output of ``TestOverallIPTablesRules`` in ``proxier_test.go`` (kubernetes/kubernetes), so a
learner can hold the text next to ``iptables-save`` on a real node and compare line by line.

The endpoint sets come from :func:`~k8slearn.dataplane.decide.categorize`, the same function
:func:`~k8slearn.dataplane.decide.decide` uses, and the masquerade switches from the same
:class:`~k8slearn.dataplane.decide.KubeProxy` options; the kernel lab (``k8slearn lab``) loads this
text into network namespaces, so the simulator and the kernel cannot quietly disagree.

``loadBalancerSourceRanges`` give the ``KUBE-FW-*`` chain (one ``-s <range>`` rule per range, the
LB IPs as sources too when a range holds the node's IP) and a ``KUBE-PROXY-FIREWALL`` DROP for what
falls through; ``sessionAffinity: ClientIP`` gives the ``-m recent --rcheck`` rules in front of the
random choice and ``-m recent --set`` in each ``KUBE-SEP-*``.

Differences from a real node, on purpose: services have one unnamed TCP port (so the comment reads
``default/web`` where upstream's fixtures read ``ns1/svc1:p80``).

Taught in notebooks/11-real-cluster-lab.ipynb (and ``k8slearn lab``).

>>> from k8slearn import examples
>>> text = render(examples.uneven(), "node-c")
>>> print("\\n".join(l for l in text.splitlines() if l.startswith("-A KUBE-SVC-")))
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.5:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-XQWD6PXGZUTOOIVQ
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.6:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-XIQG3E4ATGAKTZVT
-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.5:8080" -j KUBE-SEP-CBTFKNOSRCMRXDOA
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidChange, NotFound
from ..model import Cluster, Endpoint, Node, NodeRef, Service, family_of
from . import chains
from .decide import KubeProxy, categorize, get_dataplane, nodeport_ips
from .ruleparts import (
    MASQUERADE_MARK,
    sorted_endpoints,
    uses_cluster_endpoints,
    uses_local_endpoints,
)

__all__ = ["render", "RuleSet", "ruleset", "chain_names", "JUMP_RULES", "MASQUERADE_MARK"]

#: The rules kube-proxy links into the built-in chains (``iptablesJumpChains``, plus kubelet's
#: ``KUBE-FIREWALL`` jumps): (table, built-in chain, kube chain, comment, extra match).
JUMP_RULES: tuple[tuple[str, str, str, str, str], ...] = (
    ("filter", "INPUT", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals", "-m conntrack --ctstate NEW"),
    ("filter", "FORWARD", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals", "-m conntrack --ctstate NEW"),
    ("filter", "INPUT", "KUBE-NODEPORTS", "kubernetes health check service ports", ""),
    ("filter", "FORWARD", "KUBE-SERVICES", "kubernetes service portals", "-m conntrack --ctstate NEW"),
    ("filter", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals", "-m conntrack --ctstate NEW"),
    ("filter", "FORWARD", "KUBE-FORWARD", "kubernetes forwarding rules", ""),
    ("filter", "INPUT", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall", "-m conntrack --ctstate NEW"),
    ("filter", "OUTPUT", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall", "-m conntrack --ctstate NEW"),
    ("filter", "FORWARD", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall", "-m conntrack --ctstate NEW"),
    ("nat", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals", ""),
    ("nat", "PREROUTING", "KUBE-SERVICES", "kubernetes service portals", ""),
    ("nat", "POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules", ""),
)

_BUILTIN = {"filter": ("INPUT", "FORWARD", "OUTPUT"), "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")}
_FILTER_FIXED = ("KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL",
                 "KUBE-FORWARD", "KUBE-PROXY-FIREWALL")


@dataclass
class RuleSet:
    """One node's rules: per table, the chains (in declaration order) and the ``-A`` lines per chain.

    :meth:`text` lays them out as kube-proxy's tests do: ``*filter`` then ``*nat``; in each, the
    chain lines (``KUBE-NODEPORTS`` and ``KUBE-SERVICES`` first, the rest sorted by name), then the
    rules grouped chain by chain in the same order.
    """

    node: str
    tables: dict[str, dict[str, list[str]]] = field(default_factory=lambda: {"filter": {}, "nat": {}})

    def chain(self, table: str, name: str) -> list[str]:
        return self.tables[table].setdefault(name, [])

    def add(self, table: str, chain: str, *parts: str) -> None:
        self.chain(table, chain).append(" ".join(p for p in ("-A", chain, *parts) if p))

    def order(self, table: str) -> list[str]:
        names = list(self.tables[table])
        builtin = [c for c in _BUILTIN[table] if c in names]
        if table == "filter":
            fixed = [c for c in _FILTER_FIXED if c in names]
        else:
            fixed = [c for c in ("KUBE-NODEPORTS", "KUBE-SERVICES") if c in names]
        rest = sorted(c for c in names if c not in fixed and c not in builtin)
        return builtin + fixed + rest

    def text(self) -> str:
        lines: list[str] = []
        for table in ("filter", "nat"):
            lines.append(f"*{table}")
            order = self.order(table)
            for name in order:
                policy = "ACCEPT" if name in _BUILTIN[table] else "-"
                lines.append(f":{name} {policy} [0:0]")
            for name in order:
                lines.extend(self.tables[table][name])
            lines.append("COMMIT")
        return "\n".join(lines) + "\n"

    def rules(self, table: str, chain: str) -> list[str]:
        """The ``-A`` lines of one chain (empty if the chain does not exist)."""
        return list(self.tables[table].get(chain, ()))


_uses_cluster_endpoints = uses_cluster_endpoints
_uses_local_endpoints = uses_local_endpoints
_sorted = sorted_endpoints


def _q(text: str) -> str:
    return f'"{text}"'


def ruleset(
    cluster: Cluster,
    node: NodeRef,
    *,
    dataplane: str | KubeProxy = "iptables",
    jumps: bool = False,
    random_fully: bool = True,
    nfacct: bool = False,
    port_name: str = "",
    family: str = "IPv4",
) -> RuleSet:
    """The rules of :func:`render`, as a :class:`RuleSet` (chains and lines), for tests and tools."""
    dp = get_dataplane(dataplane)
    if not isinstance(dp, KubeProxy) or dp.mode != "iptables":
        raise InvalidChange(
            f"this rule set is written for kube-proxy's iptables mode, not {dp.name}",
            hint='use dataplane="iptables" (or "no-snat", the hypothetical kube-proxy without SNAT); '
            "k8slearn.dataplane.nft renders nftables mode (render(..., dataplane=\"nftables\") does too); "
            "IPVS and Cilium use other mechanisms.")
    if family not in ("IPv4", "IPv6"):
        raise NotFound("IP family", family, ["IPv4", "IPv6"])
    here = cluster.node(node)
    rs = RuleSet(here.name)
    net = cluster.cluster_cidr if family == "IPv4" else cluster.cluster_cidr6
    cidr = str(net) if net is not None else ""
    mark = MASQUERADE_MARK
    # Localhost NodePorts exist only for IPv4 (route_localnet); the IPv6 proxier never has them.
    localhost = dp.localhost_node_ports and family == "IPv4"

    for name in _FILTER_FIXED:
        if name != "KUBE-FIREWALL" or localhost:
            rs.chain("filter", name)
    for name in ("KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-POSTROUTING"):
        rs.chain("nat", name)

    if jumps:
        for table, builtin in ((t, c) for t, cs in _BUILTIN.items() for c in cs):
            rs.chain(table, builtin)
            # kube-proxy prepends each jump rule, so the last one listed ends up first.
            for t, src, dst, comment, extra in reversed(JUMP_RULES):
                if (t, src) == (table, builtin):
                    rs.add(table, builtin, extra, "-m comment --comment", _q(comment), "-j", dst)
            if table == "filter" and builtin in ("INPUT", "OUTPUT") and localhost:
                rs.add("filter", builtin, "-j KUBE-FIREWALL")

    # KUBE-POSTROUTING and KUBE-MARK-MASQ (written before the services).
    rs.add("nat", "KUBE-POSTROUTING", f"-m mark ! --mark {mark}/{mark}", "-j RETURN")
    rs.add("nat", "KUBE-POSTROUTING", f"-j MARK --xor-mark {mark}")
    rs.add("nat", "KUBE-POSTROUTING", "-m comment --comment", _q("kubernetes service traffic requiring SNAT"),
           "-j MASQUERADE" + (" --random-fully" if random_fully else ""))
    rs.add("nat", "KUBE-MARK-MASQ", f"-j MARK --or-mark {mark}")
    if localhost:
        rs.add("filter", "KUBE-FIREWALL", "-m comment --comment", _q("block incoming localnet connections"),
               "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP")

    selected = nodeport_ips(dp, here, family)
    localhost_rule = localhost and nfacct and (selected is None or any(a.is_loopback for a in selected))
    for svc in sorted(cluster.services, key=lambda s: (s.namespace, s.name)):
        if svc.cluster_ip_of(family) is not None:  # a service of the other family only: the other proxier's
            _service_rules(rs, cluster, svc, here, dp, cidr, port_name, localhost_rule, family)

    last = _q("kubernetes service nodeports; NOTE: this must be the last rule in this chain")
    if selected is None:  # every local address (proxier.go: nodePortAddresses.MatchAll())
        rs.add("nat", "KUBE-SERVICES", "-m comment --comment", last,
               "-m addrtype --dst-type LOCAL" + (" ! -d ::1/128" if family == "IPv6" else "" if localhost
                                                 else " ! -d 127.0.0.0/8"),
               "-j KUBE-NODEPORTS")
    else:  # --nodeport-addresses: one rule per selected node address (loopback only with localhost NodePorts)
        for address in selected:
            if address.is_loopback and not localhost:
                continue
            rs.add("nat", "KUBE-SERVICES", "-m comment --comment", last, f"-d {address}", "-j KUBE-NODEPORTS")
    rs.add("filter", "KUBE-FORWARD", "-m conntrack --ctstate INVALID",
           "-m nfacct --nfacct-name ct_state_invalid_dropped_pkts" if nfacct else "", "-j DROP")
    rs.add("filter", "KUBE-FORWARD", "-m comment --comment", _q("kubernetes forwarding rules"),
           f"-m mark --mark {mark}/{mark}", "-j ACCEPT")
    rs.add("filter", "KUBE-FORWARD", "-m comment --comment", _q("kubernetes forwarding conntrack rule"),
           "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    return rs


def _service_rules(rs: RuleSet, cluster: Cluster, svc: Service, here: Node, dp: KubeProxy,
                   cidr: str, port_name: str, localhost_rule: bool, family: str = "IPv4") -> None:
    node, zone = here.name, here.zone
    ns, name = svc.namespace, svc.name
    spn = f"{ns}/{name}" + (f":{port_name}" if port_name else "")
    proto = "tcp"
    svc_chain = chains.service_chain(ns, name, port_name=port_name)
    svl_chain = chains.local_chain(ns, name, port_name=port_name)
    ext_chain = chains.external_chain(ns, name, port_name=port_name)

    cluster_eps, local_eps, has_endpoints = categorize(cluster.endpoints(svc, family=family), svc, node, zone)
    uses_cluster, uses_local = _uses_cluster_endpoints(svc), _uses_local_endpoints(svc)
    cluster_eps = _sorted(cluster_eps) if uses_cluster else []
    local_eps = _sorted(local_eps) if uses_local else []
    reachable = {f"{e.ip}:{e.port}": e for e in [*cluster_eps, *local_eps]}
    uses_cluster_chain = bool(cluster_eps)
    uses_local_chain = bool(local_eps)

    internal_chain, has_internal = svc_chain, has_endpoints
    if svc.internal_traffic_policy == "Local":
        internal_chain = svl_chain
        has_internal = has_endpoints and bool(local_eps)
    external_local = svc.external_traffic_policy == "Local"
    external_policy_chain = svl_chain if external_local else svc_chain
    has_external = has_endpoints and (bool(local_eps) if external_local else True)
    uses_ext_chain = has_endpoints and svc.externally_accessible

    if not has_endpoints:
        int_target = ext_target = "REJECT"
        int_comment = ext_comment = _q(f"{spn} has no endpoints")
    else:
        int_target = ext_target = ""
        int_comment = ext_comment = ""
        if not has_internal:
            int_target, int_comment = "DROP", _q(f"{spn} has no local endpoints")
        if not has_external:
            ext_target, ext_comment = "DROP", _q(f"{spn} has no local endpoints")

    match = f"-m {proto} -p {proto}"
    cip, port = svc.cluster_ip_of(family), svc.port
    if cip is not None:
        if has_internal:
            rs.add("nat", "KUBE-SERVICES", "-m comment --comment", _q(f"{spn} cluster IP"), match,
                   f"-d {cip} --dport {port}", "-j", internal_chain)
        else:
            rs.add("filter", "KUBE-SERVICES", "-m comment --comment", int_comment, match,
                   f"-d {cip} --dport {port}", "-j", int_target)

    for ip in svc.external_ips_of(family):
        if has_endpoints:
            rs.add("nat", "KUBE-SERVICES", "-m comment --comment", _q(f"{spn} external IP"), match,
                   f"-d {ip} --dport {port}", "-j", ext_chain)
        if not has_external:
            rs.add("filter", "KUBE-EXTERNAL-SERVICES", "-m comment --comment", ext_comment, match,
                   f"-d {ip} --dport {port}", "-j", ext_target)

    # ServicePortInfo.LoadBalancerVIPs leaves out ingress IPs whose ipMode is Proxy.
    lb_ips = [] if svc.load_balancer_ip_mode == "Proxy" else list(svc.load_balancer_ips_of(family))
    fw_chain = chains.firewall_chain(ns, name, port_name=port_name)
    ranges = [r for r in svc.load_balancer_source_ranges if family_of(r) == family]
    uses_fw = has_endpoints and bool(lb_ips) and bool(ranges)
    for ip in lb_ips:
        if has_endpoints:
            rs.add("nat", "KUBE-SERVICES", "-m comment --comment", _q(f"{spn} loadbalancer IP"), match,
                   f"-d {ip} --dport {port}", "-j", fw_chain if uses_fw else ext_chain)
        if uses_fw:
            rs.add("filter", "KUBE-PROXY-FIREWALL", "-m comment --comment",
                   _q(f"{spn} traffic not accepted by {fw_chain}"), match, f"-d {ip} --dport {port}", "-j DROP")
    if not has_external:
        for ip in lb_ips:
            rs.add("filter", "KUBE-EXTERNAL-SERVICES", "-m comment --comment", ext_comment, match,
                   f"-d {ip} --dport {port}", "-j", ext_target)

    if svc.node_port is not None:
        if has_endpoints:
            if localhost_rule:
                rs.add("nat", "KUBE-NODEPORTS", "-m comment --comment", spn, match,
                       f"-d 127.0.0.0/8 --dport {svc.node_port}",
                       "-m nfacct --nfacct-name localhost_nps_accepted_pkts", "-j", ext_chain)
            rs.add("nat", "KUBE-NODEPORTS", "-m comment --comment", spn, match, f"--dport {svc.node_port}",
                   "-j", ext_chain)
        if not has_external:
            rs.add("filter", "KUBE-EXTERNAL-SERVICES", "-m comment --comment", ext_comment,
                   "-m addrtype --dst-type LOCAL", match, f"--dport {svc.node_port}", "-j", ext_target)

    if svc.health_check_node_port is not None:
        rs.add("filter", "KUBE-NODEPORTS", "-m comment --comment", _q(f"{spn} health check node port"),
               "-m tcp -p tcp", f"--dport {svc.health_check_node_port}", "-j ACCEPT")

    if has_internal and cip is not None:
        args = ("-m comment --comment", _q(f"{spn} cluster IP"), match, f"-d {cip} --dport {port}")
        if dp.masquerade_all:
            rs.add("nat", internal_chain, *args, "-j KUBE-MARK-MASQ")
        elif dp.detect_local:
            rs.add("nat", internal_chain, *args, f"! -s {cidr}", "-j KUBE-MARK-MASQ")

    if uses_ext_chain:
        rs.chain("nat", ext_chain)
        if not external_local:
            if dp.snat_external:  # the hypothetical "no-snat" kube-proxy leaves this rule out
                rs.add("nat", ext_chain, "-m comment --comment",
                       _q(f"masquerade traffic for {spn} external destinations"), "-j KUBE-MARK-MASQ")
        else:
            if dp.detect_local:
                rs.add("nat", ext_chain, "-m comment --comment",
                       _q(f"pod traffic for {spn} external destinations"), f"-s {cidr}", "-j", svc_chain)
            rs.add("nat", ext_chain, "-m comment --comment",
                   _q(f"masquerade LOCAL traffic for {spn} external destinations"),
                   "-m addrtype --src-type LOCAL", "-j KUBE-MARK-MASQ")
            rs.add("nat", ext_chain, "-m comment --comment",
                   _q(f"route LOCAL traffic for {spn} external destinations"),
                   "-m addrtype --src-type LOCAL", "-j", svc_chain)
        if has_external:
            rs.add("nat", ext_chain, "-j", external_policy_chain)

    if uses_fw:  # syncProxyRules: "Set up firewall chain, if needed"
        rs.chain("nat", fw_chain)
        allow_from_node = False
        node_ip = here.address(family)
        for allowed in ranges:
            rs.add("nat", fw_chain, "-m comment --comment", _q(f"{spn} loadbalancer IP"), f"-s {allowed}", "-j",
                   ext_chain)
            allow_from_node = allow_from_node or (node_ip is not None and node_ip in allowed)
        if allow_from_node:
            for ip in lb_ips:
                rs.add("nat", fw_chain, "-m comment --comment", _q(f"{spn} loadbalancer IP"), f"-s {ip}", "-j", ext_chain)
        rs.add("nat", fw_chain, "-m comment --comment", _q(f"other traffic to {spn} will be dropped by KUBE-PROXY-FIREWALL"))

    def sep(e: Endpoint) -> str:
        return chains.endpoint_chain(ns, name, e.ip, e.port, port_name=port_name)

    affinity = svc.session_affinity == "ClientIP"
    for chain_name, used, eps in ((svc_chain, uses_cluster_chain, cluster_eps),
                                  (svl_chain, uses_local_chain, local_eps)):
        if not used:
            continue
        rs.chain("nat", chain_name)
        if affinity:  # writeServiceToEndpointRules: session affinity rules first
            for e in eps:
                rs.add("nat", chain_name, "-m comment --comment", _q(f"{spn} -> {e.ip}:{e.port}"),
                       f"-m recent --name {sep(e)} --rcheck --seconds {svc.session_affinity_timeout} --reap",
                       "-j", sep(e))
        for i, e in enumerate(eps):
            stat = (f"-m statistic --mode random --probability {chains.probability(len(eps) - i)}"
                    if i < len(eps) - 1 else "")
            rs.add("nat", chain_name, "-m comment --comment", _q(f"{spn} -> {e.ip}:{e.port}"), stat, "-j", sep(e))

    for e in reachable.values():
        chain = sep(e)
        rs.chain("nat", chain)
        rs.add("nat", chain, "-m comment --comment", spn, f"-s {e.ip}", "-j KUBE-MARK-MASQ")
        recent = f"-m recent --name {chain} --set" if affinity else ""
        target = f"{e.ip}:{e.port}" if family == "IPv4" else f"[{e.ip}]:{e.port}"
        rs.add("nat", chain, "-m comment --comment", spn, recent, match, f"-j DNAT --to-destination {target}")


def render(
    cluster: Cluster,
    node: NodeRef,
    *,
    dataplane: str | KubeProxy = "iptables",
    jumps: bool = False,
    random_fully: bool = True,
    nfacct: bool = False,
    port_name: str = "",
    family: str = "IPv4",
) -> str:
    """kube-proxy's rules for ``node``, as ``iptables-restore`` input (``ip6tables-restore`` for IPv6).

    Parameters
    ----------
    cluster, node
        The cluster and the node whose kube-proxy writes the rules.
    dataplane
        ``"iptables"`` (default), ``"no-snat"`` (the hypothetical kube-proxy that never masquerades
        external traffic) or a :class:`~k8slearn.dataplane.decide.KubeProxy` in iptables mode with
        ``masquerade_all`` / ``detect_local`` / ``localhost_node_ports`` set.
    jumps
        Also declare the built-in chains and the jump rules kube-proxy (and kubelet) link into them
        (``-A PREROUTING ... -j KUBE-SERVICES`` ...), as needed to load the text into an empty
        network namespace. kube-proxy itself inserts these with ``iptables -I``.
    random_fully
        ``MASQUERADE --random-fully``, as kube-proxy writes when iptables supports it.
    nfacct
        Write the ``-m nfacct`` counters (and the localhost NodePort rules that come with them), as
        kube-proxy does when the kernel has ``xt_nfacct``; upstream's test fixture has them.
    port_name
        A name for the service port (``"p80"`` reproduces upstream fixture hashes).
    family
        ``"IPv4"`` or ``"IPv6"``: kube-proxy runs one proxier per IP family; on a dual-stack node
        the IPv6 one writes the ``ip6tables`` rules for the services' IPv6 addresses.

    >>> from k8slearn import examples
    >>> rules = render(examples.uneven(external_traffic_policy="Local"), "node-c")
    >>> [l for l in rules.splitlines() if "has no local endpoints" in l][0]
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/web has no local endpoints" -m tcp -p tcp -d 203.0.113.100 --dport 80 -j DROP'

    With an nftables-mode dataplane (``"nftables"``, or a ``KubeProxy(mode="nftables", ...)``) this
    returns :func:`k8slearn.dataplane.nft.render`'s ``nft -f`` text instead (``jumps``,
    ``random_fully`` and ``nfacct`` are iptables notions and do not apply).
    """
    dp = get_dataplane(dataplane)
    if isinstance(dp, KubeProxy) and dp.mode == "nftables":
        from . import nft

        return nft.render(cluster, node, dataplane=dp, port_name=port_name, family=family)
    return ruleset(cluster, node, dataplane=dataplane, jumps=jumps, random_fully=random_fully,
                   nfacct=nfacct, port_name=port_name, family=family).text()


def chain_names(text: str) -> list[str]:
    """The chains a rendered (or ``iptables-save``) text declares, in order.

    >>> chain_names("*nat\\n:KUBE-SERVICES - [0:0]\\n:KUBE-MARK-MASQ - [0:0]\\nCOMMIT\\n")
    ['KUBE-SERVICES', 'KUBE-MARK-MASQ']
    """
    return [line[1:].split()[0] for line in text.splitlines() if line.startswith(":")]
