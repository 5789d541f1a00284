"""What kube-proxy answers a load balancer's health check on each node.

For a LoadBalancer service with ``externalTrafficPolicy: Local`` the probe goes to the service's
``healthCheckNodePort`` (``pkg/proxy/healthcheck/service_health.go``): any path, JSON body
``{"service": {...}, "localEndpoints": N, "serviceProxyHealthy": true}``, header
``X-Load-Balancing-Endpoint-Weight: N`` (since 1.28), status 200 when N > 0 ready local endpoints
(terminating ones are not counted), else 503. For every other service kube-proxy's own
``:10256/healthz`` (``proxy_health.go``) is the node-level answer, which fails only when kube-proxy
is unhealthy or the node is being deleted. Whether a load balancer probes it depends on the
provider (FACTS.md §3): GCE and cloud-provider-kind do, cloud-provider-aws and Azure only in their
shared-probe modes; by default they, and the AWS Load Balancer Controller, probe the traffic port
or the NodePort instead (each profile in ``k8slearn.loadbalancer.LB_PROFILES`` says which, and
``k8slearn.loadbalancer.probe`` asks it). A NotReady node (down, in this model) does not answer.

Taught in notebooks/04-external-traffic-policy-local.ipynb.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..model import Cluster, NodeRef, ServiceRef
from ..validation import needs_health_check

__all__ = ["HealthCheck", "health_check", "health_checks", "KUBE_PROXY_HEALTHZ_PORT"]

KUBE_PROXY_HEALTHZ_PORT = 10256


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One health-check answer: ``status`` is None when nothing answers (the node is down)."""

    node: str
    port: int
    path: str
    status: int | None
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """Whether a load balancer keeps sending to this node."""
        return self.status == 200

    @property
    def local_endpoints(self) -> int | None:
        """``localEndpoints`` from the body of a healthCheckNodePort answer (None for /healthz)."""
        return None if self.body is None else self.body.get("localEndpoints")

    def summary(self) -> str:
        answer = "no answer (node down)" if self.status is None else f"{self.status}"
        if self.body is not None and "localEndpoints" in self.body:
            answer += f" localEndpoints={self.body['localEndpoints']}"
        return f"{self.node} :{self.port}{self.path} -> {answer}"

    __str__ = summary

    def __repr__(self) -> str:
        return f"HealthCheck({self.node!r}, port={self.port}, status={self.status})"

    def _repr_html_(self) -> str:
        body = "" if self.body is None else f"<pre>{json.dumps(self.body, indent=1, default=dict)}</pre>"
        return f"<div><b>GET {self.node}:{self.port}{self.path}</b> → {self.status or 'no answer'}{body}</div>"


def health_check(cluster: Cluster, service: ServiceRef, node: NodeRef) -> HealthCheck:
    """What ``node`` answers the load balancer's probe for ``service``.

    >>> from k8slearn import examples
    >>> c = examples.one_two()
    >>> print(health_check(c, "web", "node-a"))
    node-a :32000/healthz -> 200 localEndpoints=1
    >>> c.add_node("node-c").name
    'node-c'
    >>> hc = health_check(c, "web", "node-c"); hc.status, dict(hc.body)["localEndpoints"]
    (503, 0)
    """
    svc = cluster.service(service)
    n = cluster.node(node)
    local_check = needs_health_check(svc.type, svc.external_traffic_policy)
    port = svc.health_check_node_port if local_check and svc.health_check_node_port else KUBE_PROXY_HEALTHZ_PORT
    if not n.ready:
        return HealthCheck(n.name, port, "/healthz", None)
    if not local_check:
        body = MappingProxyType({"nodeEligible": True, "healthy": True})
        return HealthCheck(n.name, port, "/healthz", 200, body, MappingProxyType({"Content-Type": "application/json"}))
    count = sum(1 for e in cluster.endpoints_by_node(svc)[n.name] if e.ready)
    body = MappingProxyType({
        "service": MappingProxyType({"namespace": svc.namespace, "name": svc.name}),
        "localEndpoints": count,
        "serviceProxyHealthy": True,
    })
    headers = MappingProxyType({"Content-Type": "application/json", "X-Content-Type-Options": "nosniff",
                                "X-Load-Balancing-Endpoint-Weight": str(count)})
    return HealthCheck(n.name, port, "/healthz", 200 if count > 0 else 503, body, headers)


def health_checks(cluster: Cluster, service: ServiceRef) -> tuple[HealthCheck, ...]:
    """Every node's answer, in node order."""
    return tuple(health_check(cluster, service, n) for n in cluster.nodes)
