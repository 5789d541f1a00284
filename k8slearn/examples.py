"""Named example clusters, shared by the notebooks, exercises, tests and doctests.

Each function returns a new :class:`~k8slearn.model.Cluster`, so a learner can change it freely.
All use the same deterministic addresses: node *i* is 192.168.0.(11+i) with pods in
10.244.(i+1).0/24, the ``web`` service listens on 80 and its pods on 8080, and a LoadBalancer gets
203.0.113.100. The default external client is 198.51.100.7.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidChange, show
from .model import MAX_NODES, Cluster
from .validation import as_int

__all__ = ["uneven", "one_two", "empty_node", "balanced", "zones", "two_zones", "in_cluster", "large", "dual_stack",
           "NAMES"]


def uneven(*, external_traffic_policy: str = "Cluster") -> Cluster:
    """The source article's picture: three nodes, pods spread 2 / 1 / 0.

    ::

        client 198.51.100.7
              |
        [ load balancer 203.0.113.100:80 ]
          /            |              \\
        node-a        node-b         node-c
        .11           .12            .13
        web-1 web-2   web-3          (no pods)

    >>> print(uneven())
    node-a (192.168.0.11, zone-a): web-1, web-2
    node-b (192.168.0.12, zone-a): web-3
    node-c (192.168.0.13, zone-a): no pods
    Service 'web' LoadBalancer 203.0.113.100:80 -> targetPort 8080, externalTrafficPolicy=Cluster
    """
    return Cluster.from_layout([2, 1, 0], external_traffic_policy=external_traffic_policy, name="uneven")


def one_two(*, external_traffic_policy: str = "Local") -> Cluster:
    """One pod on node-a, two on node-b, behind a LoadBalancer with ``externalTrafficPolicy: Local``.

    With a per-node load balancer each node gets half, so web-1 gets 50 % and web-2, web-3 25 % each.
    ::

        node-a: web-1        node-b: web-2 web-3

    >>> print(one_two().service("web"))
    Service 'web' LoadBalancer 203.0.113.100:80 -> targetPort 8080, externalTrafficPolicy=Local
    """
    return Cluster.from_layout([1, 2], external_traffic_policy=external_traffic_policy, name="one-two")


def empty_node(*, external_traffic_policy: str = "Local") -> Cluster:
    """Two nodes with one pod each and a third with none, behind a Local LoadBalancer.

    The node without pods is where Local silently drops traffic if the load balancer sends it any.
    ::

        node-a: web-1        node-b: web-2        node-c: (no pods)
    """
    return Cluster.from_layout([1, 1, 0], external_traffic_policy=external_traffic_policy, name="empty-node")


def balanced(nodes: int = 3, *, external_traffic_policy: str = "Cluster") -> Cluster:
    """One pod per node: the layout every policy treats evenly.

    >>> [p.node for p in balanced(3).pods]
    ['node-a', 'node-b', 'node-c']
    """
    nodes = _count("nodes", nodes, 1, MAX_NODES)
    return Cluster.from_layout([1] * nodes, external_traffic_policy=external_traffic_policy, name="balanced")


def zones() -> Cluster:
    """Four nodes in two zones (a, b in zone-a; c, d in zone-b) with pods 1 / 1 / 1 / 0.

    For ``trafficDistribution`` and topology: zone-b has one endpoint, on node-c.
    ::

        zone-a: node-a web-1 | node-b web-2      zone-b: node-c web-3 | node-d (no pods)
    """
    return Cluster.from_layout([1, 1, 1, 0], zones=["zone-a", "zone-a", "zone-b", "zone-b"], name="zones")


def two_zones(*, external_traffic_policy: str = "Local") -> Cluster:
    """Three nodes in two zones, pods 1 / 2 / 1, behind a Local LoadBalancer: how load balancers differ.

    Each way of spreading gives each pod a different share here: per node (1/3 per node), per zone
    then per node (an AWS NLB with cross-zone load balancing off: zone-b's one node gets half),
    per pod (1/4 each).
    ::

        zone-a: node-a web-1 | node-b web-2 web-3        zone-b: node-c web-4

    >>> [(n.name, n.zone) for n in two_zones().nodes]
    [('node-a', 'zone-a'), ('node-b', 'zone-a'), ('node-c', 'zone-b')]
    """
    return Cluster.from_layout([1, 2, 1], zones=["zone-a", "zone-a", "zone-b"],
                               external_traffic_policy=external_traffic_policy, name="two-zones")


def in_cluster() -> Cluster:
    """The uneven cluster plus a client pod ``client`` on node-c, for traffic from inside.

    ::

        node-a: web-1 web-2     node-b: web-3     node-c: client (app=client)

    >>> in_cluster().pod("client").node
    'node-c'
    """
    cluster = Cluster.from_layout([2, 1, 0], name="in-cluster")
    cluster.add_pod("client", "node-c", labels={"app": "client"})
    return cluster


def large(nodes: int = 100, pods: int = 1000, *, external_traffic_policy: str = "Cluster") -> Cluster:
    """A big cluster for benchmarks: ``pods`` pods dealt round-robin over ``nodes`` nodes.

    >>> c = large(10, 25); len(c.nodes), len(c.pods)
    (10, 25)
    """
    nodes = _count("nodes", nodes, 1, MAX_NODES)
    pods = _count("pods", pods, 0, 250 * nodes)
    per_node = [pods // nodes + (1 if i < pods % nodes else 0) for i in range(nodes)]
    return Cluster.from_layout(per_node, external_traffic_policy=external_traffic_policy, name="large")


def dual_stack(*, external_traffic_policy: str = "Cluster", ip_family_policy: str = "PreferDualStack") -> Cluster:
    """The uneven cluster, dual-stack: every node and pod has an IPv4 and an IPv6 address, and ``web``
    has a ClusterIP and a load-balancer address of each family (``ipFamilyPolicy: PreferDualStack``).

    kube-proxy runs one proxier per family, so an IPv6 client's connection meets the same rules
    (in ``ip6tables`` or the ``ip6 kube-proxy`` table) as an IPv4 client's. IPv6 addresses mirror the
    IPv4 ones: node-a 192.168.0.11 is fd00:192:168::11, web-1 10.244.1.5 is fd00:10:244:1::5.
    ::

        client 198.51.100.7 / 2001:db8:100::7
              |
        [ load balancer 203.0.113.100 / 2001:db8:113::100 ]
          /                 |                  \
        node-a             node-b             node-c
        .11 / ::11         .12 / ::12         .13 / ::13
        web-1 web-2        web-3              (no pods)

    >>> print(dual_stack().service("web"))
    Service 'web' LoadBalancer 203.0.113.100:80 -> targetPort 8080, externalTrafficPolicy=Cluster, ipFamilies=IPv4/IPv6 (PreferDualStack), also [2001:db8:113::100]:80
    """
    return Cluster.from_layout([2, 1, 0], external_traffic_policy=external_traffic_policy, name="dual-stack",
                               ip_families=["IPv4", "IPv6"], ip_family_policy=ip_family_policy)


#: Every example by name, for widgets and the command line.
NAMES = {
    "uneven": uneven,
    "one_two": one_two,
    "empty_node": empty_node,
    "balanced": balanced,
    "zones": zones,
    "two_zones": two_zones,
    "in_cluster": in_cluster,
}


def _count(name: str, value: Any, low: int, high: int) -> int:
    number = as_int(value)
    if number is None or not low <= number <= high:
        raise InvalidChange(f"{name}: Invalid value: {show(value)}: must be a whole number from {low} to {high:,}",
                            hint="a node's /24 pod CIDR holds about 250 pods, and Kubernetes is designed for at "
                            f"most {MAX_NODES:,} nodes.")
    return number
