"""k8slearn: see what Kubernetes does with a client's source IP, hop by hop.

    import k8slearn as k8s
    cluster = k8s.examples.uneven()                 # 3 nodes, pods 2 / 1 / 0, a LoadBalancer "web"
    k8s.send(cluster, "web", via="node-c")          # one connection, every NAT rewrite visible
    k8s.traffic(cluster, "web")                     # exact share per pod, client IP kept, extra hops
    cluster.patch_service("web", external_traffic_policy="Local")

Pictures (``k8s.draw``), the explorer (``k8s.explore``), exercise checks (``k8s.check``) and the
notebooks' predictions (``k8s.predict``, ``k8s.reveal``, ``k8s.self_check``) load on first use, so
``import k8slearn`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from . import examples
from .dataplane import DATAPLANES, Cilium, KubeProxy, Source, decide, health_check, health_checks
from .errors import InvalidChange, InvalidService, K8sLearnError, K8sLearnWarning, NotFound
from .loadbalancer import LB_MODELS, LB_PROFILES, LOAD_BALANCERS, LoadBalancer, LoadBalancerProfile
from .model import CLIENT_IP, Cluster, Endpoint, Node, Pod, Service
from .trace import Hop, Packet, Place, Trace, send
from .traffic import by_node, metrics, paths, sample, sessions, traffic

__version__ = "0.1.0"

__all__ = [
    "examples", "Cluster", "Node", "Pod", "Service", "Endpoint", "CLIENT_IP",
    "send", "Trace", "Hop", "Packet", "Place", "traffic", "metrics", "sample", "sessions", "by_node",
    "decide", "Source", "KubeProxy", "Cilium", "DATAPLANES", "health_check", "health_checks",
    "LoadBalancer", "LB_MODELS", "LoadBalancerProfile", "LB_PROFILES", "LOAD_BALANCERS",
    "K8sLearnError", "InvalidService", "InvalidChange", "NotFound", "K8sLearnWarning",
    "draw", "explore", "check", "proxies", "proxychain", "lbtable", "load_balancer_table", "paths",
    "placement", "manifests", "viz", "widgets", "predict", "reveal", "self_check", "predictions", "capstone",
]

# Loaded on first use: name -> (module, attribute or None for the module itself).
_LAZY = {
    "draw": ("k8slearn.viz", "draw"),
    "explore": ("k8slearn.widgets", "explore"),
    "check": ("k8slearn.checks", None),
    "capstone": ("k8slearn.capstone", None),
    "proxies": ("k8slearn.proxies", None),
    "proxychain": ("k8slearn.proxychain", None),
    "lbtable": ("k8slearn.lbtable", None),
    "load_balancer_table": ("k8slearn.lbtable", "load_balancer_table"),
    "placement": ("k8slearn.placement", None),
    "manifests": ("k8slearn.manifests", None),
    "viz": ("k8slearn.viz", None),
    "widgets": ("k8slearn.widgets", None),
    "predict": ("k8slearn.predictions", "predict"),
    "reveal": ("k8slearn.predictions", "reveal"),
    "self_check": ("k8slearn.predictions", "self_check"),
    "predictions": ("k8slearn.predictions", None),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = import_module(module_name)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'k8slearn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
