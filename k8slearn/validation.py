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
from typing import Any

from .errors import FieldError, InvalidChange

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
TRAFFIC_POLICIES = ("Cluster", "Local")
TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")
NODE_PORT_RANGE = range(30000, 32768)  # kube-apiserver --service-node-port-range default 30000-32767

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
