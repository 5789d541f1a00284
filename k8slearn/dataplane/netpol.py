"""NetworkPolicy at the pod: may this source open a connection to this pod?

The rule (``NetworkPolicySpec.ingress`` in ``k8s.io/api/networking/v1``): traffic to a pod is
allowed if no NetworkPolicy selects the pod, or if the source is the pod's own node, or if it
matches at least one ingress rule of the policies that select it. A rule without peers matches
every source; an ``ipBlock`` matches its CIDR minus its ``except`` ranges; a ``podSelector``
matches the pods with those labels.

*Which* source the policy sees is where it bites. The NetworkPolicy docs say it is not defined
whether a Service's NAT happens before or after policy ("the behavior may be different for
different combinations of network plugin, cloud provider, Service implementation";
kubernetes/website ``content/en/docs/concepts/services-networking/network-policies.md``, ipBlock).
In common set-ups (kube-proxy with Calico and most CNIs) the policy is enforced at the pod, after
kube-proxy's SNAT: that is what k8slearn models. So under ``externalTrafficPolicy: Cluster`` an
allow-list of client addresses sees node addresses instead: connections SNATed by another node are
dropped, and connections SNATed by the pod's own node pass as "from the local node", whoever the
client was.

Taught in the client-IP notebook.
"""

from __future__ import annotations

from typing import Any

from ..model import Cluster, IPBlock, NetworkPolicy, Node, Pod

__all__ = ["ingress_verdict", "selecting"]


def selecting(cluster: Cluster, pod: Pod) -> tuple[NetworkPolicy, ...]:
    """The policies that select ``pod`` (those that make it isolated for ingress)."""
    return tuple(np for np in cluster.network_policies if np.namespace == "default" and np.selects(pod))


def _matches(cluster: Cluster, peer: Any, source: Any) -> bool:
    if isinstance(peer, IPBlock):
        return source in peer
    owner = cluster.owner_of(source) if getattr(source, "version", 4) == 4 else None
    return isinstance(owner, Pod) and all(owner.labels.get(k) == v for k, v in peer.items())


def ingress_verdict(cluster: Cluster, pod_name: str, source: Any) -> tuple[bool, str, str]:
    """(allowed, the rule that decided, why) for a connection from ``source`` to ``pod_name``.

    >>> from k8slearn import examples
    >>> c = examples.uneven()
    >>> _ = c.add_network_policy("clients", pod_selector={"app": "web"},
    ...                          ingress=[{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}])
    >>> ingress_verdict(c, "web-3", c.node("node-c").ip)[0], ingress_verdict(c, "web-3", c.node("node-b").ip)[0]
    (False, True)
    """
    if not cluster.network_policies:
        return True, "", ""
    pod = cluster.pod(pod_name)
    policies = selecting(cluster, pod)
    if not policies:
        return True, "", ""
    node: Node = cluster.node(pod.node)
    if source in (node.ip, node.bridge_ip):
        return True, "", ""  # traffic from the pod's own node is always allowed
    for np in policies:
        for rule in np.ingress:
            if not rule or any(_matches(cluster, peer, source) for peer in rule):
                return True, f"NetworkPolicy {np.name}", ""
    names = ", ".join(np.name for np in policies)
    why = f"NetworkPolicy {names} selects {pod.name}, and no ingress rule allows {source}"
    owner = cluster.owner_of(source) if getattr(source, "version", 4) == 4 else None
    if isinstance(owner, Node):
        why += (f": that is {owner.name}'s address after kube-proxy's SNAT, not the client's (in common set-ups "
                "the policy sees the packet after the Service's NAT)")
    return False, f"NetworkPolicy {names}", why + "; the packet is dropped (the client times out)"
