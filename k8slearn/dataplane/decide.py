"""What a node's service proxy does with the first packet of a connection.

:func:`decide` answers, for one packet arriving at one node: DNAT to which endpoints (chosen
uniformly at random among them), or DROP, or REJECT; whether it is masqueraded (SNAT); and which
chains it passes. It follows kube-proxy's ``syncProxyRules`` (``pkg/proxy/iptables/proxier.go``) and
``CategorizeEndpoints`` (``pkg/proxy/topology.go``) in Kubernetes 1.35, and agrees case for case
with the packet-flow tests of ``proxier_test.go`` ported in ``tests/kubeproxy_cases.py``. The
rules, with sources, are summarised in ``docs/kube-proxy-semantics.md``.

Taught in notebooks/02-into-the-cluster.ipynb and the notebooks after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from ..errors import InvalidChange, NotFound, show
from ..model import Cluster, Endpoint, Node, Service, ServiceRef, family_of, is_cluster_address
from ..validation import SERVICE_CIDR, is_bool
from . import chains

__all__ = [
    "Source", "Decision", "KubeProxy", "Cilium", "DATAPLANES", "get_dataplane", "dataplane_key", "decide",
    "categorize", "from_pod", "source_allowed", "nodeport_ips", "node_addresses", "nodeport_refusal", "decide_packet",
    "DESTINATIONS", "SOURCE_KINDS",
]

#: The addresses a client can dial a service on.
DESTINATIONS = ("clusterIP", "nodePort", "loadBalancerIP", "externalIP")
#: Where a packet can come from, as :class:`Source` names it.
SOURCE_KINDS = ("external", "pod", "node", "localhost")
LOCALHOST = IPv4Address("127.0.0.1")
LOCALHOST6 = IPv6Address("::1")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a packet comes from, as the node that handles it sees it.

    ``kind`` is ``"external"`` (outside the cluster), ``"pod"`` (a pod, on ``node`` or elsewhere),
    ``"node"`` (the handling node itself: ``--src-type LOCAL``) or ``"localhost"`` (127.0.0.1 on it).
    ``ip`` is the packet's source address (text is accepted and converted).

    Whether kube-proxy treats the packet as coming from a pod depends on ``ip`` alone (see
    :func:`from_pod`), as in a real node: the packet carries no ``kind``.
    """

    kind: str
    ip: IPv4Address
    node: str | None = None
    pod: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in SOURCE_KINDS:
            raise InvalidChange(f"Source: kind {show(self.kind)} is not one of {', '.join(SOURCE_KINDS)}",
                                hint='"external" is a client outside the cluster, "pod" a pod, "node" the node '
                                'itself and "localhost" 127.0.0.1 on it.')
        ip = self.ip
        try:
            ip = ip_address(ip.strip()) if isinstance(ip, str) else ip
        except ValueError:
            pass
        if not isinstance(ip, (IPv4Address, IPv6Address)):
            raise InvalidChange(f"Source: ip {show(self.ip)} is not an IP address",
                                hint='for example Source("external", IPv4Address("198.51.100.7")).')
        object.__setattr__(self, "ip", ip)
        for field in ("node", "pod"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, str):
                raise InvalidChange(f"Source: {field} {show(value)} is not a name",
                                    hint=f"{field} is the name of the {field} the packet comes from, or None.")

    def __repr__(self) -> str:
        where = f", on {self.node!r}" if self.node else ""
        who = f" {self.pod!r}" if self.pod else ""
        return f"Source({self.kind}{who} {self.ip}{where})"


@dataclass(frozen=True, slots=True)
class Decision:
    """A service proxy's verdict on one packet at one node.

    ``verdict`` is ``"DNAT"`` (to one of ``endpoints``, uniformly), ``"DROP"`` (silently: the client
    times out), ``"REJECT"`` (connection refused) or ``"NO_MATCH"`` (no rule applies; used for
    localhost NodePorts where they are not served, which also ends in a refused connection; and by
    :func:`decide_packet` for a packet no service rule is for), or ``"ACCEPT"`` (a filter rule lets
    it in: a health-check NodePort). ``snat`` is ``"always"``, ``"never"`` or
    ``"remote"`` (only when the chosen endpoint is on another node, as Cilium's SNAT mode does); a
    hairpin (a pod reaching itself through its service) is always masqueraded. ``steps`` are the
    chains the packet passes before the endpoint is chosen; ``rule`` is the rule that dropped or
    rejected it. ``reason`` says it in plain words.
    """

    verdict: str
    node: str
    endpoints: tuple[Endpoint, ...]
    snat: str
    steps: tuple[str, ...]
    reason: str
    rule: str = ""
    dsr: bool = False
    dataplane: str = "iptables"

    def masquerades(self, endpoint: Endpoint, source_ip: IPv4Address) -> bool:
        """Whether the packet is SNAT'd when ``endpoint`` is chosen."""
        if self.verdict != "DNAT":
            return False
        if endpoint.ip == source_ip:  # KUBE-SEP-*: -s <endpoint IP> -j KUBE-MARK-MASQ (hairpin)
            return True
        return self.masquerades_to(local=endpoint.node == self.node)

    def masquerades_to(self, *, local: bool) -> bool:
        """Whether a packet to an endpoint on this node (``local``) or another is SNAT'd (hairpin aside)."""
        if self.verdict != "DNAT":
            return False
        if self.snat == "remote":
            return not local
        return self.snat == "always"

    def __repr__(self) -> str:
        if self.verdict == "DNAT":
            eps = ", ".join(e.pod for e in self.endpoints)
            return f"Decision(DNAT to one of [{eps}] at {self.node}, snat={self.snat})"
        return f"Decision({self.verdict} at {self.node}: {self.reason})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class KubeProxy:
    """kube-proxy as a dataplane.

    ``mode`` is ``"iptables"`` (the default), ``"nftables"`` (same source-IP semantics, GA 1.33) or
    ``"ipvs"`` (deprecated in 1.35; no in-cluster short-circuit for Local services, see :func:`_ipvs_local`).
    ``masquerade_all`` is ``--masquerade-all``; ``detect_local=False`` means no local-traffic detector
    (no ``--cluster-cidr``). ``snat_external=False`` is a *hypothetical* kube-proxy that never
    masquerades external traffic, to show why the real one does.
    """

    mode: str = "iptables"
    masquerade_all: bool = False
    detect_local: bool = True
    localhost_node_ports: bool = True
    snat_external: bool = True
    #: ``--nodeport-addresses``: None is the mode's default (iptables: every local address;
    #: nftables: ``primary``, the node's own IP); else a tuple of CIDRs and/or ``"primary"``.
    nodeport_addresses: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        if not self.snat_external:
            return "kube-proxy without SNAT (hypothetical)"
        return f"kube-proxy ({self.mode})"

    def __post_init__(self) -> None:
        if not isinstance(self.mode, str) or self.mode not in ("iptables", "nftables", "ipvs"):
            raise InvalidChange(f"kube-proxy mode {show(self.mode)} is not supported",
                                hint='kube-proxy runs in "iptables" (default), "nftables" or "ipvs" mode.')
        for flag in ("masquerade_all", "detect_local", "localhost_node_ports", "snat_external"):
            if not is_bool(getattr(self, flag)):
                raise InvalidChange(f"KubeProxy: {flag}={show(getattr(self, flag))} must be True or False",
                                    hint=f"write {flag}=True or {flag}=False.")
        if self.nodeport_addresses is not None:
            object.__setattr__(self, "nodeport_addresses", _nodeport_addresses(self.nodeport_addresses))

    def nodeport_cidrs(self) -> tuple[str, ...] | None:
        """``--nodeport-addresses`` as kube-proxy reads it: None for "every local address", else the
        CIDRs and ``"primary"`` (``pkg/proxy/util/nodeport_addresses.go``; nftables mode defaults to
        ``primary``, ``pkg/proxy/nftables``'s backend ``Init``)."""
        if self.nodeport_addresses is None:
            return ("primary",) if self.mode == "nftables" else None
        return self.nodeport_addresses


def _nodeport_addresses(value: object) -> tuple[str, ...]:
    hint = 'for example nodeport_addresses=("primary",) or ("192.168.0.0/24",); None keeps the mode\'s default.'
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise InvalidChange(f"KubeProxy: nodeport_addresses={show(value)} must be a list of CIDRs or \"primary\"",
                            hint=hint)
    out = []
    for item in items:
        text = item.strip() if isinstance(item, str) else item
        if text == "primary":
            out.append(text)
            continue
        try:
            out.append(str(ip_network(text, strict=False)))
        except (TypeError, ValueError):
            raise InvalidChange(f"KubeProxy: nodeport_addresses: {show(item)} is not a CIDR or \"primary\"",
                                hint=hint) from None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Cilium:
    """Cilium's eBPF kube-proxy replacement.

    ``mode="snat"`` (its default) masquerades external traffic only when the backend is on another
    node; ``mode="dsr"`` (direct server return) never does: the backend's node answers the client
    directly, so the client IP survives even with ``externalTrafficPolicy: Cluster``.
    """

    mode: str = "snat"

    @property
    def name(self) -> str:
        return f"Cilium ({self.mode.upper()} mode)"

    def __post_init__(self) -> None:
        if not isinstance(self.mode, str) or self.mode not in ("snat", "dsr"):
            raise InvalidChange(f"Cilium load-balancing mode {show(self.mode)} is not modelled",
                                hint='choose "snat" (the default) or "dsr" (direct server return).')


Dataplane = KubeProxy | Cilium

DATAPLANES: dict[str, Dataplane] = {
    "iptables": KubeProxy(),
    "nftables": KubeProxy(mode="nftables"),
    "ipvs": KubeProxy(mode="ipvs"),
    "cilium-snat": Cilium(),
    "cilium-dsr": Cilium(mode="dsr"),
    "no-snat": KubeProxy(snat_external=False),
}


def get_dataplane(spec: str | Dataplane) -> Dataplane:
    """A dataplane from its name (see :data:`DATAPLANES`) or as given.

    >>> get_dataplane("cilium-dsr")
    Cilium(mode='dsr')
    """
    if isinstance(spec, (KubeProxy, Cilium)):
        return spec
    found = DATAPLANES.get(spec) if isinstance(spec, str) else None
    if found is None:
        raise NotFound("dataplane", spec, list(DATAPLANES))
    return found


def from_pod(dp: KubeProxy, cluster: Cluster, source: Source) -> bool | None:
    """kube-proxy's one answer to "does this packet come from a pod?": its local-traffic detector.

    With a detector (``--cluster-cidr``), the answer is whether the source IP is inside the cluster
    CIDR (``pkg/proxy/util/localdetector.go``, ``NewDetectLocalByCIDR``: ``-s <cluster CIDR>``), and
    ``syncProxyRules`` (``pkg/proxy/iptables/proxier.go``) uses that same test twice: ``IfNotLocal``
    to masquerade traffic to a ClusterIP from outside the cluster, and ``IfLocal`` to short-circuit
    pod traffic to a Local service's external addresses. Without one (``detect_local=False``) kube-proxy
    cannot tell, and neither rule is written: the answer is ``None``.

    >>> from k8slearn import examples
    >>> c = examples.uneven()
    >>> from_pod(KubeProxy(), c, Source("pod", IPv4Address("10.244.1.5"))), from_pod(KubeProxy(), c, Source("pod", IPv4Address("10.0.0.2")))
    (True, False)
    """
    if not dp.detect_local:
        return None
    return is_cluster_address(cluster, source.ip)


def node_addresses(node: Node, family: str = "IPv4") -> list[IPv4Address | IPv6Address]:
    """A node's local addresses of one family: its IP, its bridge address, and loopback (in that order)."""
    found = [node.address(family), node.bridge(family), LOCALHOST if family == "IPv4" else LOCALHOST6]
    return [a for a in found if a is not None]


def nodeport_ips(dp: KubeProxy, node: Node, family: str = "IPv4") -> list[IPv4Address | IPv6Address] | None:
    """The node addresses ``--nodeport-addresses`` selects (None: every local address).

    ``pkg/proxy/util/nodeport_addresses.go`` (``NewNodePortAddresses``, ``GetNodeIPs``): ``primary``
    is the node's own IP; a CIDR selects the node's addresses inside it; a ``/0`` of the family
    means every address (``MatchAll``). Loopback may be among them: iptables mode then serves
    NodePorts on 127.0.0.1 only with localhost NodePorts on, nftables mode never.
    """
    cidrs = dp.nodeport_cidrs()
    if cidrs is None:
        return None
    version = 4 if family == "IPv4" else 6
    nets = [ip_network(c) for c in cidrs if c != "primary"]
    if any(n.prefixlen == 0 and n.version == version for n in nets):
        return None
    mine = node_addresses(node, family)
    out = [mine[0]] if "primary" in cidrs and node.address(family) is not None else []
    out += [a for a in mine if a not in out and any(n.version == version and a in n for n in nets)]
    return out


def nodeport_refusal(dp: KubeProxy, node: Node, address: IPv4Address | IPv6Address, family: str) -> str:
    """Why kube-proxy on ``node`` writes no NodePort rule for ``address`` (empty: it does).

    ``pkg/proxy/iptables/proxier.go``: NodePorts on every local address (``-m addrtype --dst-type
    LOCAL``) unless ``--nodeport-addresses`` narrows them; localhost only for IPv4 with localhost
    NodePorts on (``! -d ::1/128`` for IPv6, ``! -d 127.0.0.0/8`` when off). nftables mode: the
    ``nodeport-ips`` set (``primary`` by default), never loopback.
    """
    selected = nodeport_ips(dp, node, family)
    if address.is_loopback:
        if dp.mode == "nftables":
            return "nftables mode"
        if family == "IPv6":
            return "kube-proxy on IPv6 (never: ::1 is excluded)"
        if not dp.localhost_node_ports:
            return "this kube-proxy (localhost NodePorts are off)"
        if selected is not None and address not in selected:
            return f"this kube-proxy (--nodeport-addresses {','.join(dp.nodeport_cidrs() or ())} leaves out {address})"
        return ""
    if selected is not None and address not in selected:
        which = ",".join(dp.nodeport_cidrs() or ())
        return f"kube-proxy ({'nftables mode, ' if dp.mode == 'nftables' else ''}--nodeport-addresses {which})"
    return ""


def dataplane_key(dp: Dataplane) -> str:
    """The short name of a dataplane (its key in :data:`DATAPLANES`, or its description)."""
    for key, value in DATAPLANES.items():
        if value == dp:
            return key
    return dp.name


def _topology_filter(ready: list[Endpoint], svc: Service, node: str, zone: str) -> list[Endpoint]:
    """trafficDistribution: prefer this node / zone when it has ready endpoints, else use all."""
    pref = svc.traffic_distribution
    if pref is None or not ready:
        return ready
    if pref == "PreferSameNode":
        same_node = [e for e in ready if e.node == node]
        if same_node:
            return same_node
    same_zone = [e for e in ready if e.zone == zone]
    return same_zone or ready


def categorize(endpoints: Sequence[Endpoint], svc: Service, node: str, zone: str,
               ) -> tuple[list[Endpoint], list[Endpoint], bool]:
    """``CategorizeEndpoints``: the cluster-wide set, this node's set, and whether any endpoint is usable.

    Each set is the ready endpoints, or, when there are none, the ones that are still serving while
    terminating. Not-serving endpoints are never used.
    """
    ready = [e for e in endpoints if e.ready]
    serving_terminating = [e for e in endpoints if e.serving and e.terminating]
    cluster = _topology_filter(ready, svc, node, zone) or serving_terminating
    local = [e for e in ready if e.node == node] or [e for e in serving_terminating if e.node == node]
    return cluster, local, bool(ready or serving_terminating)


def _categorize_cached(cluster: Cluster, svc: Service, node: str, zone: str, family: str = "IPv4",
                       ) -> tuple[tuple[Endpoint, ...], tuple[Endpoint, ...], bool]:
    """:func:`categorize` with the cluster-wide parts computed once per cluster version (large clusters).

    ``family`` picks the EndpointSlice: kube-proxy runs one proxier per IP family, each with the
    endpoints of its own family.
    """
    def split() -> tuple[list[Endpoint], list[Endpoint]]:
        eps = cluster.endpoints(svc, family=family)
        return [e for e in eps if e.ready], [e for e in eps if e.serving and e.terminating]

    ready, serving_terminating = cluster.cached(("categorize", svc.name, family), split)
    topo = svc.traffic_distribution
    scope = None if topo is None else (node if topo == "PreferSameNode" else zone)
    cluster_eps = cluster.cached(("cluster-eps", svc.name, topo, scope, zone, family),
                                 lambda: tuple(_topology_filter(ready, svc, node, zone) or serving_terminating))
    mine = cluster.endpoints_by_node(svc, family=family)[node]
    local = tuple(e for e in mine if e.ready) or tuple(e for e in mine if e.serving and e.terminating)
    return cluster_eps, local, bool(ready or serving_terminating)


def _chain(svc: Service, prefix: str) -> str:
    fn = {"SVC": chains.service_chain, "SVL": chains.local_chain, "EXT": chains.external_chain}[prefix]
    return fn(svc.namespace, svc.name)


def decide(
    cluster: Cluster,
    service: ServiceRef,
    *,
    node: str,
    source: Source,
    destination: str,
    dataplane: str | Dataplane = "iptables",
    node_ip: object = None,
) -> Decision:
    """What ``node``'s service proxy does with a new connection from ``source`` to ``destination``.

    The packet's IP family (that of ``source.ip``) picks kube-proxy's proxier for that family, and
    with it the service's address and endpoints of that family (dual-stack). For a ``nodePort``,
    ``node_ip`` is the node address dialled: its IP (the default; 127.0.0.1 from ``localhost``),
    its bridge address or loopback, which ``--nodeport-addresses`` may leave out.

    >>> from k8slearn import examples
    >>> c = examples.uneven()
    >>> d = decide(c, "web", node="node-c", source=Source("external", IPv4Address("198.51.100.7")),
    ...            destination="loadBalancerIP")
    >>> d.verdict, [e.pod for e in d.endpoints], d.snat
    ('DNAT', ['web-1', 'web-2', 'web-3'], 'always')
    >>> _ = c.patch_service("web", external_traffic_policy="Local")
    >>> print(decide(c, "web", node="node-c", source=Source("external", IPv4Address("198.51.100.7")),
    ...              destination="loadBalancerIP").reason)
    node-c has no local endpoint for web, so kube-proxy drops the packet (no reply at all: the client times out)
    """
    dp = get_dataplane(dataplane)
    svc = cluster.service(service)
    if not isinstance(destination, str) or destination not in DESTINATIONS:
        raise NotFound("destination", destination, list(DESTINATIONS))
    if not isinstance(source, Source):
        raise InvalidChange(f"source: {show(source)} is not a Source",
                            hint='for example source=Source("external", IPv4Address("198.51.100.7")).')
    here = cluster.node(node)
    family = family_of(source.ip)  # kube-proxy runs one proxier per IP family: the packet's decides
    _check_family(svc, family)
    _check_reachable(svc, destination, family)
    dialled = _dialled(here, source, destination, node_ip, family)
    cluster_eps, local_eps, has_any = _categorize_cached(cluster, svc, here.name, here.zone, family)
    name = dataplane_key(dp)
    from_host = source.kind in ("node", "localhost")

    def result(verdict: str, endpoints: Sequence[Endpoint], snat: str, steps: Sequence[str], reason: str,
               rule: str = "", dsr: bool = False) -> Decision:
        if isinstance(dp, KubeProxy) and dp.mode == "ipvs":
            steps = _ipvs_steps(steps)
        elif isinstance(dp, KubeProxy) and dp.mode == "nftables":
            steps, rule = _nft_steps(steps, svc), _nft_rule(rule, destination)
        return Decision(verdict, here.name, tuple(endpoints), snat, tuple(steps), reason, rule, dsr, name)


    if destination == "loadBalancerIP" and svc.load_balancer_ip_mode == "Proxy":
        # proxier.go writes no KUBE-SERVICES rule for an LB IP whose ipMode is Proxy.
        return result("NO_MATCH", (), "never", ("KUBE-SERVICES",),
                      "the load balancer's ipMode is Proxy, so kube-proxy leaves its IP alone: the packet goes out "
                      "to the load balancer, which proxies it back in to a NodePort")

    if not here.ready and source.kind == "external":
        return result("DROP", (), "never", (), f"{here.name} is NotReady (down): nothing on it answers")
    if isinstance(dp, Cilium):
        return _decide_cilium(dp, svc, here, source, destination, cluster_eps, local_eps, has_any, result)

    steps: list[str] = ["KUBE-SERVICES"]
    if destination == "nodePort":
        target = dialled
        why = nodeport_refusal(dp, here, target, family) if dp.mode in ("iptables", "nftables") else ""
        if why:
            return result("NO_MATCH", (), "never", steps,
                          f"{why} does not serve NodePorts on {target}: no rule matches, nothing listens on "
                          + (f"{target}:{svc.node_port}" if family == "IPv4" else f"[{target}]:{svc.node_port}")
                          + ", so the connection is refused")
        steps.append("KUBE-NODEPORTS")

    firewall = _firewall(svc, here, source, destination, dp, steps)
    if firewall is not None and (has_any or dp.mode == "nftables"):
        # iptables writes KUBE-FW-* only when the service has endpoints; nftables checks its
        # firewall-ips map before anything else.
        return result("DROP", (), "never", steps + [firewall[0]], firewall[1], firewall[2])
    if (destination == "loadBalancerIP" and any(family_of(r) == family for r in svc.load_balancer_source_ranges)
            and has_any and dp.mode != "ipvs"):
        steps.append(chains.firewall_chain(svc.namespace, svc.name))

    if not has_any:
        table = "KUBE-SERVICES" if destination == "clusterIP" else "KUBE-EXTERNAL-SERVICES"
        return result("REJECT", (), "never", steps,
                      f"{svc.name} has no ready endpoints anywhere, so kube-proxy rejects the connection "
                      "(the client sees 'connection refused' at once)",
                      f'filter {table} "{svc.namespace}/{svc.name} has no endpoints" -j REJECT')

    if destination == "clusterIP":
        internal_local = svc.internal_traffic_policy == "Local"
        targets = local_eps if internal_local else cluster_eps
        if not targets:
            return result("DROP", (), "never", steps,
                          f"{here.name} has no local endpoint for {svc.name} and internalTrafficPolicy is Local, "
                          "so kube-proxy drops the packet (the client times out)",
                          f'filter KUBE-SERVICES "{svc.namespace}/{svc.name} has no local endpoints" -j DROP')
        steps.append(_chain(svc, "SVL" if internal_local else "SVC"))
        # proxier.go: "-A KUBE-SVC-..." + localDetector.IfNotLocal() -> KUBE-MARK-MASQ (or all, with --masquerade-all)
        masq = dp.masquerade_all or from_pod(dp, cluster, source) is False
        if masq:
            steps.append("KUBE-MARK-MASQ")
        why = "masquerade-all" if dp.masquerade_all else "the source is outside the cluster's pod CIDR"
        reason = (f"DNAT to one of {len(targets)} endpoint(s)"
                  + (f"{' on this node' if internal_local else ''}; SNAT because {why}" if masq
                     else f"{' on this node' if internal_local else ''}; no SNAT: the pod keeps seeing the client's own IP"))
        return result("DNAT", targets, "always" if masq else "never", steps, reason)

    # NodePort, load-balancer IP, externalIP: the "external destinations" (KUBE-EXT-*).
    steps.append(_chain(svc, "EXT"))
    if svc.external_traffic_policy != "Local":
        snat = "always" if dp.snat_external else "never"
        if dp.snat_external:
            steps.append("KUBE-MARK-MASQ")
        steps.append(_chain(svc, "SVC"))
        reason = (f"externalTrafficPolicy Cluster: DNAT to any of {len(cluster_eps)} endpoint(s) in the cluster, "
                  + ("and SNAT to the node's address (always, even for an endpoint on this node)" if dp.snat_external
                     else "and (hypothetically) no SNAT"))
        return result("DNAT", cluster_eps, snat, steps, reason)

    # externalTrafficPolicy: Local
    if dp.mode == "ipvs":
        return _ipvs_local(svc, here.name, source, cluster_eps, local_eps, steps, result)
    if from_pod(dp, cluster, source):
        # proxier.go: "pod traffic for ... external destinations": localDetector.IfLocal() -> KUBE-SVC-...
        steps.append(_chain(svc, "SVC"))
        return result("DNAT", cluster_eps, "never", steps,
                      "traffic from a pod (kube-proxy knows it by its source address) to a Local service's "
                      "external address goes to all endpoints, as if it had gone out to the load balancer and "
                      "come back; no SNAT")
    if from_host:
        steps += ["KUBE-MARK-MASQ", _chain(svc, "SVC")]
        return result("DNAT", cluster_eps, "always", steps,
                      "traffic from the node itself to a Local service's external address goes to all "
                      "endpoints and is masqueraded")
    if local_eps:
        steps.append(_chain(svc, "SVL"))
        return result("DNAT", local_eps, "never", steps,
                      f"externalTrafficPolicy Local: DNAT only to the {len(local_eps)} endpoint(s) on {here.name}; "
                      "no SNAT, so the pod sees the client's IP")
    return result("DROP", (), "never", steps,
                  f"{here.name} has no local endpoint for {svc.name}, so kube-proxy drops the packet (no reply at all: "
                  "the client times out)",
                  f'filter KUBE-EXTERNAL-SERVICES "{svc.namespace}/{svc.name} has no local endpoints" -j DROP')


def _ipvs_local(svc: Service, node: str, source: Source, cluster_eps: Sequence[Endpoint],
                local_eps: Sequence[Endpoint], steps: list[str], result) -> Decision:
    """IPVS mode, externalTrafficPolicy Local (``pkg/proxy/ipvs/proxier.go``, ``syncEndpoint``).

    There is no short-circuit: the virtual server's real servers are this node's endpoints, for
    every source. With none, they are all endpoints (kubernetes/kubernetes#97081), still without SNAT:
    pods get through, an external client's reply comes back from the pod's own address and is
    discarded, and from the node itself the connection is black-holed (kubernetes/kubernetes#93456).
    """
    steps = steps[:-1] + ["IPVS virtual server (Local: KUBE-LOAD-BALANCER-LOCAL, no masquerade)"]
    if local_eps:
        return result("DNAT", local_eps, "never", steps,
                      f"IPVS, externalTrafficPolicy Local: DNAT only to the {len(local_eps)} endpoint(s) on {node}, "
                      "whoever the client is (IPVS has no in-cluster short-circuit); no SNAT")
    if source.kind in ("node", "localhost"):
        return result("DROP", (), "never", steps,
                      f"IPVS with no local endpoint on {node}: from the node itself the connection is black-holed "
                      "and times out (a known IPVS limitation, kubernetes/kubernetes#93456)",
                      "IPVS: no local real server")
    why = ("a pod's connection gets through" if source.kind == "pod" else
           "the pod's reply goes straight to the client from the pod's own address, so the client discards it")
    return result("DNAT", cluster_eps, "never", steps,
                  f"IPVS with no local endpoint on {node} falls back to all {len(cluster_eps)} endpoints "
                  f"(kubernetes/kubernetes#97081), without SNAT: {why}")


def _nft_steps(steps: Sequence[str], svc: Service) -> list[str]:
    """The same walk in nftables mode's own names (``pkg/proxy/nftables/proxier.go``).

    ``services`` looks the destination up in the ``service-ips`` verdict map (NodePorts in
    ``service-nodeports``) and jumps to ``service-*`` (``KUBE-SVC``), ``local-*`` (``KUBE-SVL``) or
    ``external-*`` (``KUBE-EXT``); the masquerade mark is set in ``mark-for-masquerade``. The
    ``loadBalancerSourceRanges`` check runs first, in the filter chain ``firewall-check``.
    """
    ns, name = svc.namespace, svc.name
    names = {"KUBE-SERVICES": "services", "KUBE-NODEPORTS": "@service-nodeports", "KUBE-MARK-MASQ": "mark-for-masquerade",
             chains.service_chain(ns, name): chains.nft_service_chain(ns, name),
             chains.local_chain(ns, name): chains.nft_local_chain(ns, name),
             chains.external_chain(ns, name): chains.nft_external_chain(ns, name),
             chains.firewall_chain(ns, name): chains.nft_firewall_chain(ns, name)}
    out = [names.get(step, step) for step in steps]
    firewall = chains.nft_firewall_chain(ns, name)
    if firewall in out:  # filter firewall-check (@firewall-ips) runs before the nat chains
        out.remove(firewall)
        out = ["firewall-check", firewall, *out]
    return out


def _nft_rule(rule: str, destination: str) -> str:
    """A filter DROP/REJECT in nftables mode: the ``no-endpoint-*`` verdict maps, not KUBE-*SERVICES rules."""
    if not rule.startswith("filter KUBE-") or "KUBE-PROXY-FIREWALL" in rule:
        return rule
    comment = rule[rule.index('"'):rule.rindex('"') + 1]
    verdict = "goto reject-chain" if rule.endswith("REJECT") else "drop"
    if destination == "nodePort":
        return f"filter nodeport-endpoints-check: vmap @no-endpoint-nodeports → {verdict} ({comment})"
    return f"filter service-endpoints-check: vmap @no-endpoint-services → {verdict} ({comment})"


def _ipvs_steps(steps: Sequence[str]) -> list[str]:
    """IPVS mode keeps KUBE-SERVICES, KUBE-NODEPORTS and KUBE-MARK-MASQ; an IPVS virtual server does the DNAT."""
    out: list[str] = []
    for step in steps:
        if step.startswith(("KUBE-EXT-", "KUBE-SVC-", "KUBE-SVL-")):
            step = "IPVS virtual server"
        if not out or out[-1] != step:
            out.append(step)
    if "IPVS virtual server" in out:  # masquerade marking happens before IPVS picks a real server
        out.remove("IPVS virtual server")
        out.append("IPVS virtual server")
    return out


def _decide_cilium(dp: Cilium, svc: Service, here: Node, source: Source, destination: str,
                   cluster_eps: list[Endpoint], local_eps: list[Endpoint], has_any: bool, result) -> Decision:
    node = here.name
    steps = ["eBPF service lookup"]
    if not has_any:
        return result("REJECT", (), "never", steps, f"{svc.name} has no ready endpoints: Cilium rejects the connection")
    firewall = _firewall(svc, here, source, destination, dp, steps)
    if firewall is not None:
        return result("DROP", (), "never", steps, firewall[1], firewall[2])
    in_cluster = source.kind != "external"
    if destination == "clusterIP" or in_cluster:
        # Socket-level load balancing: in-cluster clients are translated at connect(), no SNAT.
        local = svc.internal_traffic_policy == "Local"
        targets = local_eps if local else cluster_eps
        if not targets:
            return result("DROP", (), "never", steps,
                          f"{node} has no local endpoint for {svc.name} and internalTrafficPolicy is Local")
        return result("DNAT", targets, "never", ["eBPF socket LB (connect-time translation)"],
                      "in-cluster traffic is translated when the socket connects; the pod keeps its IP")
    if svc.external_traffic_policy == "Local":
        if not local_eps:
            return result("DROP", (), "never", steps,
                          f"{node} has no local endpoint for {svc.name}, so Cilium drops the packet (the client times out)")
        return result("DNAT", local_eps, "never", steps, "externalTrafficPolicy Local: a local backend, client IP kept")
    if dp.mode == "dsr":
        return result("DNAT", cluster_eps, "never", steps,
                      "DSR: any backend; a remote one gets the client's IP and answers the client directly", dsr=True)
    return result("DNAT", cluster_eps, "remote", steps,
                  "SNAT mode: any backend; SNAT only if it is on another node")


def source_allowed(svc: Service, node: Node, source_ip: object) -> bool:
    """Whether ``loadBalancerSourceRanges`` let ``source_ip`` reach the LB IP on ``node`` (kube-proxy's view).

    ``pkg/proxy/iptables/proxier.go``: ``KUBE-FW-*`` jumps on to ``KUBE-EXT-*`` for each range
    (``-s <cidr>``); when a range contains the node's own IP it also accepts the load-balancer IPs as
    sources (a node's connection to a VIP it holds loops back with the VIP as source). Anything
    else falls through and filter ``KUBE-PROXY-FIREWALL`` drops it. nftables does the same with one
    ``ip saddr != { ... } drop`` rule.
    """
    ranges = svc.load_balancer_source_ranges
    if not ranges:
        return True
    family = family_of(source_ip)
    mine = [r for r in ranges if family_of(r) == family]  # each family's proxier reads its own ranges
    if not mine:
        return True  # no range of this family: that proxier writes no firewall (proxier.go usesFWChain)
    inside = any(source_ip in r for r in mine)
    node_ip = node.address(family)
    node_allowed = node_ip is not None and any(node_ip in r for r in mine)
    return inside or (node_allowed and source_ip in svc.load_balancer_ips_of(family))


def _firewall(svc: Service, node: Node, source: Source, destination: str, dp: Dataplane,
              steps: list[str]) -> tuple[str, str, str] | None:
    """(chain, reason, rule) when ``loadBalancerSourceRanges`` stop this packet to the LB IP, else None."""
    if destination != "loadBalancerIP" or source_allowed(svc, node, source.ip):
        return None
    chain = chains.firewall_chain(svc.namespace, svc.name)
    ranges = ", ".join(str(r) for r in svc.load_balancer_source_ranges if family_of(r) == family_of(source.ip))
    who = {"pod": "the pod's own address", "node": "the node's address", "localhost": "127.0.0.1"}.get(
        source.kind, "the client's address")
    if isinstance(dp, Cilium):
        rule = "eBPF loadBalancerSourceRanges check"
        how = "Cilium's load-balancer source-range check drops it"
    elif dp.mode == "nftables":
        chain = chains.nft_firewall_chain(svc.namespace, svc.name)
        ipx = "ip" if family_of(source.ip) == "IPv4" else "ip6"
        rule = f"nft {chain}: {ipx} saddr != {{ {ranges} }} drop"
        how = "kube-proxy's firewall-check drops it"
    elif dp.mode == "ipvs":
        rule = "KUBE-LOAD-BALANCER-SOURCE-CIDR (ipset): no match -> KUBE-PROXY-FIREWALL DROP"
        how = "kube-proxy's ipset of allowed sources does not match, so it is dropped"
    else:
        rule = f'filter KUBE-PROXY-FIREWALL "{svc.namespace}/{svc.name} traffic not accepted by {chain}" -j DROP'
        how = f"{chain} does not send it on, so it is not DNATed and filter KUBE-PROXY-FIREWALL drops it"
    reason = (f"{source.ip} ({who}) is not in {svc.name}'s loadBalancerSourceRanges ({ranges}): {how} "
              "(no reply: the client times out)")
    return chain, reason, rule


def _dialled(node: Node, source: Source, destination: str, node_ip: object, family: str) -> IPv4Address | IPv6Address:
    """The node address a NodePort packet is sent to (``node_ip``, or the usual one)."""
    if node_ip is None:
        if source.kind == "localhost":
            return LOCALHOST if family == "IPv4" else LOCALHOST6
        address = node.address(family)
        return address if address is not None else LOCALHOST
    if destination != "nodePort":
        raise InvalidChange(f"node_ip={show(node_ip)}: only a nodePort is dialled on a node address",
                            hint="leave node_ip unset for a ClusterIP, load-balancer IP or externalIP.")
    try:
        address = ip_address(node_ip.strip()) if isinstance(node_ip, str) else node_ip
    except ValueError:
        address = None
    mine = node_addresses(node, family)
    if address not in mine:
        raise InvalidChange(f"node_ip={show(node_ip)} is not one of {node.name}'s {family} addresses",
                            hint=f"a NodePort is dialled on an address of the node: {', '.join(map(str, mine))}.")
    return address  # type: ignore[return-value]


def _check_family(svc: Service, family: str) -> None:
    if family not in svc.families:
        raise InvalidChange(
            f"{svc.name} has no {family} address: its ipFamilies are {', '.join(svc.families)}",
            hint=f"a client reaches a service over an IP family the service has: send from an "
            f"{svc.families[0]} address, or (on a dual-stack cluster) give the service both families with "
            "patch_service(..., ip_family_policy=\"PreferDualStack\").")


def _check_reachable(svc: Service, destination: str, family: str = "IPv4") -> None:
    lb_missing = not svc.load_balancer_ips_of(family)
    problems = {
        "nodePort": (svc.node_port is None, f"{svc.name} is a {svc.type} service: it has no NodePort",
                     "only NodePort and LoadBalancer services open a port on every node."),
        "loadBalancerIP": (lb_missing, f"{svc.name} is a {svc.type} service: it has no load-balancer IP"
                           if svc.type != "LoadBalancer" else f"{svc.name} has no {family} load-balancer IP",
                           "only a LoadBalancer service gets an external load balancer."),
        "externalIP": (not svc.external_ips_of(family), f"{svc.name} has no {family} externalIPs"
                       if svc.external_ips else f"{svc.name} has no externalIPs",
                       "set spec.externalIPs (patch_service(..., external_ips=[...])) to route an extra address to it."),
        "clusterIP": (svc.cluster_ip_of(family) is None, f"{svc.name} has no ClusterIP", "every non-headless service has one."),
    }
    missing, message, hint = problems[destination]
    if missing:
        raise InvalidChange(message, hint=hint)


def decide_packet(
    cluster: Cluster,
    *,
    node: str,
    source: Source,
    dst: object,
    dport: int,
    protocol: str = "TCP",
    dataplane: str | Dataplane = "iptables",
) -> Decision:
    """What ``node``'s kube-proxy rules do with any new packet: to a service's own address and
    port (then :func:`decide` answers), or to something else.

    The "something else" is where the modes differ (``pkg/proxy/iptables/proxier.go``,
    ``pkg/proxy/nftables/proxier.go``, 1.35):

    * a ``healthCheckNodePort`` on a node address: iptables mode ACCEPTs it in filter
      ``KUBE-NODEPORTS`` (so a node firewall with a default DROP still lets the load balancer's
      probes reach kube-proxy's health server); nftables mode writes no rule for it;
    * a ClusterIP on a port (or protocol) the service does not have: nftables mode REJECTs it
      (``cluster-ips-check``: connection refused at once); iptables mode does not touch it, so it
      is routed on like any packet and never answered;
    * an address of the service CIDR that no service has: nftables mode DROPs it, iptables mode
      does not touch it;
    * anything else: no rule (``NO_MATCH``).

    >>> from k8slearn import examples
    >>> c = examples.uneven()
    >>> pod = Source("pod", IPv4Address("10.244.1.5"), node="node-a", pod="web-1")
    >>> [decide_packet(c, node="node-a", source=pod, dst="10.96.0.10", dport=443, dataplane=m).verdict
    ...  for m in ("iptables", "nftables")]
    ['NO_MATCH', 'REJECT']
    """
    dp = get_dataplane(dataplane)
    if not isinstance(source, Source):
        raise InvalidChange(f"source: {show(source)} is not a Source",
                            hint='for example source=Source("external", IPv4Address("198.51.100.7")).')
    here = cluster.node(node)
    try:
        address = ip_address(dst.strip()) if isinstance(dst, str) else dst
    except ValueError:
        address = None
    if not isinstance(address, (IPv4Address, IPv6Address)) or address.version != source.ip.version:
        raise InvalidChange(f"dst={show(dst)} is not an IP address of the source's family",
                            hint="give the packet's destination address, e.g. dst=\"10.96.0.10\".")
    if not isinstance(protocol, str) or protocol not in ("TCP", "UDP", "SCTP"):
        raise NotFound("protocol", protocol, ["TCP", "UDP", "SCTP"])
    family = family_of(address)
    name = dataplane_key(dp)
    mode = dp.mode if isinstance(dp, KubeProxy) else "cilium"
    local = address in node_addresses(here, family)

    def verdict(v: str, reason: str, rule: str = "", steps: tuple[str, ...] = ()) -> Decision:
        return Decision(v, here.name, (), "never", steps, reason, rule, False, name)

    if protocol == "TCP":  # k8slearn's services have one TCP port
        for svc in cluster.services:
            if family not in svc.families or dport != svc.port:
                continue
            for destination, addresses in (("clusterIP", (svc.cluster_ip_of(family),)),
                                           ("loadBalancerIP", svc.load_balancer_ips_of(family)),
                                           ("externalIP", svc.external_ips_of(family))):
                if address in addresses:
                    return decide(cluster, svc, node=here.name, source=source, destination=destination, dataplane=dp)
        if local:
            for svc in cluster.services:
                if family in svc.families and svc.node_port == dport:
                    return decide(cluster, svc, node=here.name, source=source, destination="nodePort",
                                  dataplane=dp, node_ip=address)
            for svc in cluster.services:
                if svc.health_check_node_port == dport and mode == "iptables":
                    return verdict("ACCEPT",
                                   f"{dport} is {svc.name}'s healthCheckNodePort: filter KUBE-NODEPORTS accepts it, so "
                                   "the load balancer's probes reach kube-proxy's health server even behind a node "
                                   "firewall that drops by default",
                                   f'filter KUBE-NODEPORTS "{svc.namespace}/{svc.name} health check node port" -j ACCEPT',
                                   ("KUBE-NODEPORTS",))
    for svc in cluster.services:
        if svc.cluster_ip_of(family) == address:
            if mode == "nftables":
                return verdict("REJECT",
                               f"{address} is {svc.name}'s ClusterIP, but not on {protocol} port {dport}: nftables mode "
                               "rejects traffic to a ClusterIP's undefined ports (connection refused at once)",
                               "nft cluster-ips-check: daddr @cluster-ips reject", ("cluster-ips-check",))
            return verdict("NO_MATCH", f"{address} is {svc.name}'s ClusterIP, but not on {protocol} port {dport}: "
                           "iptables mode has no rule for it, so the packet is routed on like any other and "
                           "nothing answers")
    cidr = SERVICE_CIDR if family == "IPv4" else cluster.service_cidr6
    if cidr is not None and address in cidr and mode == "nftables":
        return verdict("DROP", f"{address} is in the service CIDR {cidr} but no service has it: nftables mode "
                       "drops traffic to unallocated ClusterIPs", f"nft cluster-ips-check: daddr {{ {cidr} }} drop",
                       ("cluster-ips-check",))
    return verdict("NO_MATCH", f"no kube-proxy rule is for {address}:{dport}/{protocol}: the packet goes on as "
                   "the node's routing and firewall say")
