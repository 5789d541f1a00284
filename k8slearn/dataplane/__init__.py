"""What the service proxy on each node does: kube-proxy (iptables, nftables, IPVS) and Cilium.

:func:`decide` is the single source of truth for every trace and every traffic share.
"""

from .decide import (
    DATAPLANES,
    DESTINATIONS,
    Cilium,
    Decision,
    KubeProxy,
    Source,
    categorize,
    dataplane_key,
    decide,
    decide_packet,
    from_pod,
    get_dataplane,
)
from .health import HealthCheck, health_check, health_checks

__all__ = [
    "DATAPLANES", "DESTINATIONS", "Cilium", "Decision", "KubeProxy", "Source", "categorize",
    "dataplane_key", "decide", "decide_packet", "from_pod", "get_dataplane", "HealthCheck", "health_check", "health_checks",
]
