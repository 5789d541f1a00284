"""What kube-proxy's iptables and nftables modes share when they write rules for one service port.

Both modes (``pkg/proxy/iptables/proxier.go`` and ``pkg/proxy/nftables/proxier.go``) take the
endpoint sets from ``CategorizeEndpoints`` and decide the same way which policy chains a service
needs (``pkg/proxy/serviceport.go``: ``UsesClusterEndpoints``, ``UsesLocalEndpoints``), list the
endpoints in the same order, and mark packets for masquerading with the same bit.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import Endpoint, Service

__all__ = ["MASQUERADE_MARK", "uses_cluster_endpoints", "uses_local_endpoints", "sorted_endpoints"]

#: kube-proxy's default masquerade bit (``--iptables-masquerade-bit=14``, used by nftables mode too).
MASQUERADE_MARK = "0x4000"


def uses_cluster_endpoints(svc: Service) -> bool:
    """Cluster endpoints are needed for iTP Cluster, or for any external access (the pod
    short-circuit of an eTP Local service uses them)."""
    return svc.internal_traffic_policy != "Local" or svc.externally_accessible


def uses_local_endpoints(svc: Service) -> bool:
    return svc.internal_traffic_policy == "Local" or (
        svc.externally_accessible and svc.external_traffic_policy == "Local")


def sorted_endpoints(endpoints: Iterable[Endpoint]) -> list[Endpoint]:
    """Endpoints in the order kube-proxy writes them: by their ``ip:port`` text."""
    return sorted(endpoints, key=lambda e: f"{e.ip}:{e.port}")
