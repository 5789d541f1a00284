"""Service validation in the API server's own words (Kubernetes 1.35).

The rules and messages follow ``pkg/apis/core/validation/validation.go``
(``validateServiceExternalTrafficPolicy``, ``ValidateService``) and the NodePort allocator in
``pkg/registry/core/service/portallocator``; the defaulting follows ``pkg/apis/core/v1/defaults.go``
and the update strategy in ``pkg/registry/core/service/strategy.go``. Each error's first line is the
API server's text; the ``hint`` explains the rule for a learner.

This module works on plain values (it imports nothing from the model), so the model can call it
before it commits a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import ip_network
from typing import Any

from .errors import FieldError, InvalidChange

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
TRAFFIC_POLICIES = ("Cluster", "Local")
TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")
NODE_PORT_RANGE = range(30000, 32768)  # kube-apiserver --service-node-port-range default 30000-32767
SESSION_AFFINITIES = ("ClientIP", "None")
#: ``sessionAffinityConfig.clientIP.timeoutSeconds``: defaults.go sets 10800 (3 hours); at most 86400.
DEFAULT_AFFINITY_TIMEOUT = 10800
MAX_AFFINITY_TIMEOUT = 86400
_CIDR_DETAIL = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

#: How the API server's message for Local on a non-external service read over time (FACTS.md §2).
ETP_MESSAGE_HISTORY = {
    "1.35": "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible services",
    "1.24-1.28": "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set when `type` is 'NodePort' or 'LoadBalancer'",
    "<=1.23": "spec.externalTrafficPolicy: Invalid value: \"Local\": ExternalTrafficPolicy can only be set on NodePort and LoadBalancer service",
}


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def _supported(values: Iterable[str]) -> str:
    return "supported values: " + ", ".join(f'"{v}"' for v in values)


def check_replicas(replicas: object) -> None:
    """Raise the API server's error for a replica count that is not a whole number >= 0."""
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise InvalidChange(f"spec.replicas: Invalid value: {replicas!r}: must be greater than or equal to 0",
                            hint="replicas is a whole number of pods, 0 or more.")


def externally_accessible(type: str, external_ips: Iterable[Any]) -> bool:
    """Whether a service accepts traffic from outside the cluster (``apiservice.ExternallyAccessible``).

    >>> externally_accessible("ClusterIP", [])
    False
    >>> externally_accessible("ClusterIP", ["203.0.113.200"])
    True
    """
    return type in ("NodePort", "LoadBalancer") or bool(tuple(external_ips))


def needs_health_check(type: str, external_traffic_policy: str | None) -> bool:
    """Whether the API server allocates a ``healthCheckNodePort``: only LoadBalancer with Local."""
    return type == "LoadBalancer" and external_traffic_policy == "Local"


def validate_service_spec(
    *,
    type: str,
    external_ips: Iterable[Any] = (),
    external_traffic_policy: str | None,
    internal_traffic_policy: str | None,
    traffic_distribution: str | None = None,
    node_port: int | None = None,
    health_check_node_port: int | None = None,
    port: int = 80,
    target_port: int = 80,
    selector: Mapping[str, str] | None = None,
    taken_node_ports: Mapping[int, str] | None = None,
    load_balancer_source_ranges: Iterable[Any] = (),
    session_affinity: str = "None",
    session_affinity_timeout: int | None = None,
) -> list[FieldError]:
    """Return every problem with a Service spec, each worded as the API server words it.

    ``taken_node_ports`` maps NodePorts already allocated to the service holding them.

    >>> for e in validate_service_spec(type="ClusterIP", external_traffic_policy="Local",
    ...                                internal_traffic_policy="Cluster"):
    ...     print(e)
    spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services
    """
    errors: list[FieldError] = []
    external_ips = tuple(external_ips)
    if type not in SERVICE_TYPES:
        if type == "ExternalName":
            hint = "k8slearn models traffic to pods; an ExternalName service is only a DNS alias (CNAME)."
        else:
            hint = 'a Service is "ClusterIP" (inside the cluster only), "NodePort" (adds a port on every node) or "LoadBalancer" (adds an external load balancer).'
        errors.append(FieldError("spec.type", "Unsupported value", _quote(type),
                                 _supported(("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")), hint))
        return errors

    external = externally_accessible(type, external_ips)
    etp = external_traffic_policy
    if not external:
        if etp:
            errors.append(FieldError(
                "spec.externalTrafficPolicy", "Invalid value", _quote(etp),
                "may only be set for externally-accessible services",
                "a ClusterIP service without externalIPs is reachable only inside the cluster, so there "
                "is no external traffic to keep local. Make it a NodePort or LoadBalancer service (or give "
                "it externalIPs), or use internalTrafficPolicy for traffic from pods.",
            ))
    elif not etp:
        errors.append(FieldError("spec.externalTrafficPolicy", "Required value", "", "",
                                 'an externally accessible service needs "Cluster" or "Local" (the API server defaults it to "Cluster").'))
    elif etp not in TRAFFIC_POLICIES:
        errors.append(FieldError(
            "spec.externalTrafficPolicy", "Unsupported value", _quote(etp), _supported(TRAFFIC_POLICIES),
            '"Cluster" spreads external traffic over all ready endpoints (and SNATs it); "Local" keeps it '
            "on the node that received it (and keeps the client IP).",
        ))

    itp = internal_traffic_policy
    if itp is not None and itp not in TRAFFIC_POLICIES:
        errors.append(FieldError(
            "spec.internalTrafficPolicy", "Unsupported value", _quote(itp), _supported(TRAFFIC_POLICIES),
            '"Local" sends traffic from pods only to endpoints on the same node; "Cluster" to any endpoint.',
        ))

    if traffic_distribution is not None and traffic_distribution not in TRAFFIC_DISTRIBUTIONS:
        errors.append(FieldError(
            "spec.trafficDistribution", "Unsupported value", _quote(traffic_distribution),
            _supported(TRAFFIC_DISTRIBUTIONS),
            "trafficDistribution is a preference (with fallback) for close endpoints; leave it unset for none.",
        ))

    if health_check_node_port is not None and not needs_health_check(type, etp):
        errors.append(FieldError(
            "spec.healthCheckNodePort", "Invalid value", str(health_check_node_port),
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            "the health-check port exists so a cloud load balancer can ask each node whether it has "
            "local endpoints; only a LoadBalancer service with Local needs that question answered.",
        ))

    for name, value in (("port", port), ("targetPort", target_port)):
        if not isinstance(value, int) or not 1 <= value <= 65535:
            errors.append(FieldError(f"spec.ports[0].{name}", "Invalid value", str(value),
                                     "must be between 1 and 65535, inclusive",
                                     "a TCP/UDP port number is 16 bits, and 0 is not a usable port."))

    errors += _source_ranges(type, load_balancer_source_ranges)
    errors += _session_affinity(session_affinity, session_affinity_timeout)

    if node_port is not None:
        if type == "ClusterIP":
            errors.append(FieldError("spec.ports[0].nodePort", "Forbidden", "",
                                     "may not be used when `type` is 'ClusterIP'",
                                     "only NodePort and LoadBalancer services open a port on every node."))
        elif node_port not in NODE_PORT_RANGE:
            errors.append(FieldError(
                "spec.ports[0].nodePort", "Invalid value", str(node_port),
                "provided port is not in the valid range. The range of valid ports is 30000-32767",
                "NodePorts come from the API server's --service-node-port-range, 30000-32767 unless the "
                "cluster admin changed it, so they never clash with ports the node itself uses.",
            ))
        elif taken_node_ports and node_port in taken_node_ports:
            errors.append(FieldError(
                "spec.ports[0].nodePort", "Invalid value", str(node_port),
                "provided port is already allocated",
                f'service "{taken_node_ports[node_port]}" already uses port {node_port} (as its NodePort or '
                "health-check port): such ports are opened on every node, so two services cannot share one. Leave nodePort unset to get a free one.",
            ))
    return errors


def parse_cidr(value: Any) -> Any:
    """A CIDR as the API server's legacy parsing reads it (``netutils.ParseCIDRSloppy``): spaces
    trimmed, host bits allowed (``10.0.0.1/8`` means ``10.0.0.0/8``). ``None`` if it is not one."""
    text = str(value).strip()
    if "/" not in text:
        return None
    try:
        return ip_network(text, strict=False)
    except ValueError:
        return None


def _source_ranges(type: str, ranges: Iterable[Any]) -> list[FieldError]:
    """``spec.loadBalancerSourceRanges`` (``ValidateService`` in ``pkg/apis/core/validation/validation.go``).

    Only LoadBalancer services may set it, and each entry (space padding is tolerated, a historical
    accident) must be a CIDR. The field path really is ``spec.LoadBalancerSourceRanges``, capital L.
    """
    ranges = list(ranges)
    errors: list[FieldError] = []
    if not ranges:
        return errors
    path = "spec.LoadBalancerSourceRanges"
    if type != "LoadBalancer":
        errors.append(FieldError(path, "Forbidden", "", "may only be used when `type` is 'LoadBalancer'",
                                 "the ranges are enforced by the cloud load balancer (and by kube-proxy for "
                                 "packets to the load-balancer IP); without one there is nothing to filter. "
                                 "NodePorts ignore them."))
    for i, value in enumerate(ranges):
        if parse_cidr(value) is None:
            errors.append(FieldError(f"{path}[{i}]", "Invalid value", _quote(str(value).strip()), _CIDR_DETAIL,
                                     "write an address range with its prefix length, such as 198.51.100.0/24 "
                                     "(a single address is 198.51.100.7/32)."))
    return errors


def _session_affinity(affinity: str, timeout: int | None) -> list[FieldError]:
    """``spec.sessionAffinity`` and its timeout (``validateClientIPAffinityConfig``)."""
    if affinity not in SESSION_AFFINITIES:
        return [FieldError("spec.sessionAffinity", "Unsupported value", _quote(affinity), _supported(SESSION_AFFINITIES),
                           '"ClientIP" sends a source address back to the pod it reached before (per node); '
                           '"None" picks at random each time.')]
    if affinity == "None":
        if timeout is not None:
            return [FieldError("spec.sessionAffinityConfig", "Forbidden", "",
                               "must not be set when session affinity is None",
                               "a timeout only makes sense with sessionAffinity: ClientIP.")]
        return []
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not 0 < timeout <= MAX_AFFINITY_TIMEOUT):
        return [FieldError("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value", str(timeout),
                           f"must be greater than 0 and less than {MAX_AFFINITY_TIMEOUT}",
                           f"the affinity lasts this many seconds after the last connection (default "
                           f"{DEFAULT_AFFINITY_TIMEOUT}, three hours).")]
    return []


def validate_network_policy(name: str, pod_selector: Any, ingress: Any) -> list[FieldError]:
    """Every problem with a NetworkPolicy's ingress rules, in the API server's words.

    Follows ``ValidateNetworkPolicySpec``, ``validateNetworkPolicyPeer`` and ``ValidateIPBlock`` in
    ``pkg/apis/networking/validation/validation.go``. ``ingress`` is the API's list of rules, each
    ``{"from": [peer, ...]}`` with peers ``{"ipBlock": {"cidr": ..., "except": [...]}}`` or
    ``{"podSelector": {"matchLabels": {...}}}``.

    >>> for e in validate_network_policy("allow", {}, [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8",
    ...                                                                    "except": ["192.168.0.0/16"]}}]}]):
    ...     print(e)
    spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`
    """
    errors: list[FieldError] = []
    if pod_selector is not None and not isinstance(pod_selector, Mapping):
        errors.append(FieldError("spec.podSelector", "Invalid value", _quote(str(pod_selector)),
                                 "must be a label selector", 'for example {"app": "web"}; {} selects every pod.'))
    for i, rule in enumerate(ingress or ()):
        rule_path = f"spec.ingress[{i}]"
        if not isinstance(rule, Mapping):
            errors.append(FieldError(rule_path, "Invalid value", _quote(str(rule)), "must be an ingress rule",
                                     'write {"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}.'))
            continue
        for j, peer in enumerate(rule.get("from") or ()):
            peer_path = f"{rule_path}.from[{j}]"
            if not isinstance(peer, Mapping):
                peer = {}
            kinds = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(k) is not None]
            if not kinds:
                errors.append(FieldError(peer_path, "Required value", "", "must specify a peer",
                                         "a peer is an ipBlock, a podSelector or a namespaceSelector."))
                continue
            if len(kinds) > 1 and "ipBlock" in kinds:
                errors.append(FieldError(peer_path, "Forbidden", "", "may not specify both ipBlock and another peer",
                                         "an ipBlock matches addresses, a selector matches pods: use two peers "
                                         "(two list items), which the policy ORs."))
            if "ipBlock" in kinds:
                errors += _ip_block(peer["ipBlock"], f"{peer_path}.ipBlock")
    return errors


def _ip_block(block: Any, path: str) -> list[FieldError]:
    """``ValidateIPBlock``: a CIDR, and ``except`` ranges strictly inside it."""
    block = block if isinstance(block, Mapping) else {}
    cidr_text = block.get("cidr", "")
    if not cidr_text:
        return [FieldError(f"{path}.cidr", "Required value", "", "",
                           "an ipBlock needs a cidr, such as 198.51.100.0/24.")]
    cidr = parse_cidr(cidr_text)
    if cidr is None:
        return [FieldError(f"{path}.cidr", "Invalid value", _quote(str(cidr_text)), _CIDR_DETAIL,
                           "write an address range with its prefix length.")]
    errors = []
    for k, value in enumerate(block.get("except") or ()):
        net = parse_cidr(value)
        if net is None:
            errors.append(FieldError(f"{path}.except[{k}]", "Invalid value", _quote(str(value)), _CIDR_DETAIL,
                                     "write an address range with its prefix length."))
        elif net.version != cidr.version or not net.subnet_of(cidr) or net.prefixlen <= cidr.prefixlen:
            errors.append(FieldError(f"{path}.except[{k}]", "Invalid value", _quote(str(value)),
                                     "must be a strict subset of `cidr`",
                                     f"except carves holes out of {cidr}; a range outside it (or all of it) "
                                     "carves nothing."))
    return errors
