"""How an external load balancer spreads connections over nodes (or pods).

Most cloud L4 load balancers split connections equally per healthy node, not per pod, and learn
which nodes are healthy from the health checks answered by kube-proxy
(:func:`k8slearn.dataplane.health_check`). The models here:

==================  ========================================================================
``equal``           every node gets the same share; no health checks (DNS round robin over
                    node IPs, or a load balancer that ignores the health-check port)
``health-checked``  equal per node that passes its health check (the usual cloud L4 LB)
``weighted``        like ``health-checked`` but weighted by ``X-Load-Balancing-Endpoint-Weight``
                    (GKE weighted load balancing; only Local services send a weight)
``single-node``     all traffic to one announcing node (MetalLB in L2 mode)
``pod-targeting``   straight to pod IPs, equally per ready pod (GKE NEGs, AWS Load Balancer
                    Controller IP targets); no kube-proxy on the way, and the pod sees the load
                    balancer's address unless client-IP preservation is on
==================  ========================================================================

Taught in notebooks/05-imbalance.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from .dataplane import health_check
from .errors import InvalidChange, NotFound, show
from .model import Cluster, ServiceRef
from .validation import is_bool

__all__ = ["LoadBalancer", "LB_MODELS", "get_load_balancer", "Spread", "spread", "LB_ADDRESS"]

LB_MODELS = ("equal", "health-checked", "weighted", "single-node", "pod-targeting")

#: The load balancer's own address inside the VPC, the source a pod sees from a proxying LB.
LB_ADDRESS = IPv4Address("192.168.255.10")


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    """An external load balancer model (see the module docs for the choices).

    >>> LoadBalancer("weighted")
    LoadBalancer('weighted')
    """

    model: str = "health-checked"
    preserve_client_ip: bool = False
    announcing_node: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or self.model not in LB_MODELS:
            raise NotFound("load-balancer model", self.model, list(LB_MODELS))
        if not is_bool(self.preserve_client_ip):
            raise InvalidChange(f"LoadBalancer: preserve_client_ip={show(self.preserve_client_ip)} must be True or False",
                                hint="write preserve_client_ip=True or preserve_client_ip=False.")
        if self.announcing_node is not None and not isinstance(self.announcing_node, str):
            raise InvalidChange(f"LoadBalancer: announcing_node={show(self.announcing_node)} is not a node name",
                                hint='name the node that announces the address, e.g. announcing_node="node-a".')

    def __repr__(self) -> str:
        extra = ", preserve_client_ip=True" if self.preserve_client_ip else ""
        extra += f", announcing_node={self.announcing_node!r}" if self.announcing_node else ""
        return f"LoadBalancer({self.model!r}{extra})"

    @property
    def description(self) -> str:
        return {
            "equal": "equal share to every node, no health checks",
            "health-checked": "equal share to every node that passes the health check",
            "weighted": "share per healthy node weighted by its local endpoints",
            "single-node": "everything to one announcing node (MetalLB L2)",
            "pod-targeting": "straight to the pods (IP targets / NEGs)",
        }[self.model]


def get_load_balancer(spec: str | LoadBalancer) -> LoadBalancer:
    """A load balancer from a model name or as given."""
    return spec if isinstance(spec, LoadBalancer) else LoadBalancer(spec)


@dataclass(frozen=True, slots=True)
class Spread:
    """Where a load balancer sends new connections: ``weights`` (node or pod name -> fraction).

    ``targets`` is ``"nodes"`` or ``"pods"``; ``dropped`` is the fraction it cannot send anywhere
    (no healthy backend), with ``reason``.
    """

    targets: str
    weights: dict[str, float]
    dropped: float = 0.0
    reason: str = ""


def spread(cluster: Cluster, service: ServiceRef, lb: str | LoadBalancer = "health-checked") -> Spread:
    """How ``lb`` spreads external connections for ``service``.

    >>> from k8slearn import examples
    >>> spread(examples.empty_node(), "web", "health-checked").weights
    {'node-a': 0.5, 'node-b': 0.5}
    >>> spread(examples.empty_node(), "web", "equal").weights
    {'node-a': 0.3333333333333333, 'node-b': 0.3333333333333333, 'node-c': 0.3333333333333333}
    """
    lb = get_load_balancer(lb)
    svc = cluster.service(service)
    if svc.type != "LoadBalancer" and lb.model != "equal":
        raise InvalidChange(
            f"{svc.name} is a {svc.type} service, so no cloud load balancer is in front of it",
            hint='use lb="equal" for clients that spread over node IPs themselves (DNS round robin), '
            'or patch_service(..., type="LoadBalancer").',
        )
    nodes = [n.name for n in cluster.nodes]
    if lb.model == "equal":
        return Spread("nodes", {n: 1 / len(nodes) for n in nodes})
    if lb.model == "pod-targeting":
        ready = [e.pod for e in cluster.endpoints(svc) if e.ready]
        if not ready:
            return Spread("pods", {}, 1.0, f"{svc.name} has no ready pods to target")
        return Spread("pods", {p: 1 / len(ready) for p in ready})
    checks = {n: health_check(cluster, svc, n) for n in nodes}
    healthy = [n for n in nodes if checks[n].healthy]
    if lb.model == "single-node":
        if lb.announcing_node is not None:
            node = cluster.node(lb.announcing_node).name
        elif not healthy:
            return Spread("nodes", {}, 1.0, "no node is eligible to announce the address")
        else:
            node = healthy[0]  # MetalLB picks one eligible node; k8slearn takes the first
        return Spread("nodes", {node: 1.0})
    if not healthy:
        return Spread("nodes", {}, 1.0, "no node passes the health check, so the load balancer has no backend")
    if lb.model == "weighted":
        weight = {n: (checks[n].local_endpoints if checks[n].local_endpoints is not None else 1) for n in healthy}
        total = sum(weight.values())
        return Spread("nodes", {n: weight[n] / total for n in healthy})
    return Spread("nodes", {n: 1 / len(healthy) for n in healthy})
