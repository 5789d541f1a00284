"""What exists in a cluster: nodes, pods, services, their endpoints, and clients outside it.

Model objects (:class:`Node`, :class:`Pod`, :class:`Service`, :class:`Endpoint`) are frozen
snapshots, like the objects ``kubectl get -o yaml`` prints. A :class:`Cluster` plays the API server:
every change goes through one of its methods, is validated as the API server would, and is applied
all at once or not at all.

Taught in notebooks/01-pods-nodes-services.ipynb.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from types import MappingProxyType
from typing import Any, Union

from .errors import (
    FieldError,
    InvalidChange,
    InvalidNetworkPolicy,
    InvalidNode,
    InvalidPod,
    InvalidService,
    K8sLearnWarning,
    NotFound,
    show,
)
from .validation import (
    DEFAULT_AFFINITY_TIMEOUT,
    IP_FAMILIES,
    IP_MODES,
    NODE_PORT_RANGE,
    SERVICE_CIDR,
    SERVICE_CIDR6,
    _service_rules,
    as_int,
    check_bool,
    check_replicas,
    check_service_fields,
    externally_accessible,
    ip_family_rules,
    label_errors,
    name_errors,
    needs_health_check,
    validate_network_policy,
    zone_errors,
)

__all__ = ["Node", "Pod", "Service", "Endpoint", "NetworkPolicy", "IPBlock", "Cluster", "node_names", "CLIENT_IP",
           "CLIENT_IP6", "family_of"]

#: The default external client: 198.51.100.0/24 is TEST-NET-2, reserved for documentation (RFC 5737).
CLIENT_IP = IPv4Address("198.51.100.7")
#: The default IPv6 client, in the documentation prefix 2001:db8::/32 (RFC 3849).
CLIENT_IP6 = IPv6Address("2001:db8:100::7")

_NODE_NETWORK = IPv4Network("192.168.0.0/16")
_SERVICE_CIDR = SERVICE_CIDR
#: Load-balancer addresses: 203.0.113.100-199, inside TEST-NET-3 (documentation addresses, RFC 5737).
LB_POOL = (IPv4Address("203.0.113.100"), IPv4Address("203.0.113.199"))
#: Addresses external_ip_for hands out: 203.0.113.200-254 (TEST-NET-3 too).
EXTERNAL_IP_POOL = (IPv4Address("203.0.113.200"), IPv4Address("203.0.113.254"))
_LB_FIRST = LB_POOL[0]
_EXTERNAL_IP_FIRST = EXTERNAL_IP_POOL[0]
#: A dual-stack cluster's IPv6 side. Addresses mirror the IPv4 ones, so that they read alike: node-a
#: 192.168.0.11 is fd00:192:168::11, its pods 10.244.1.0/24 are fd00:10:244:1::/64, pod 10.244.1.5
#: is fd00:10:244:1::5 (the decimal digits are written as hex digits).
_NODE_NETWORK6 = IPv6Network("fd00:192:168::/64")
CLUSTER_CIDR6 = IPv6Network("fd00:10:244::/48")
#: IPv6 load-balancer addresses: 2001:db8:113::100-1ff (documentation prefix, RFC 3849).
LB_POOL6 = (IPv6Address("2001:db8:113::100"), IPv6Address("2001:db8:113::1ff"))
#: The most nodes a cluster may have: Kubernetes is designed for up to 5,000 nodes per cluster
#: (kubernetes.io/docs/setup/best-practices/cluster-large/).
MAX_NODES = 5000


def family_of(address: Any) -> str:
    """The IP family of an address or network, as the API writes it: ``"IPv4"`` or ``"IPv6"``.

    >>> family_of(IPv4Address("10.96.0.10")), family_of(IPv6Address("fd00:10:96::10"))
    ('IPv4', 'IPv6')
    """
    return "IPv6" if getattr(address, "version", 4) == 6 else "IPv4"


def _hostport(ip: Any, port: int) -> str:
    """``10.96.0.10:80``, or ``[fd00:10:96::10]:80`` for IPv6 (RFC 3986 brackets)."""
    return f"[{ip}]:{port}" if getattr(ip, "version", 4) == 6 else f"{ip}:{port}"


def _mirror(base: IPv6Address | IPv6Network, number: int, shift: int = 0) -> int:
    """``base`` plus ``number`` written with the same digits in hex (11 -> ::11), shifted left."""
    start = base.network_address if isinstance(base, IPv6Network) else base
    return int(start) + (int(str(number), 16) << shift)


def _frozen_message(self: Any, name: str, value: Any) -> None:
    kind = type(self).__name__
    raise InvalidChange(
        f"cannot assign to field {name!r}: a {kind} is a read-only snapshot of the cluster",
        hint=f"change the cluster instead, e.g. cluster.{_CHANGE_HINT.get(kind, 'patch_service')}; "
        "it validates the change like the API server and keeps everything consistent.",
    )


_CHANGE_HINT = {
    "Service": 'patch_service("web", external_traffic_policy="Local")',
    "Pod": 'move_pod("web-1", "node-b") or cluster.set_pod("web-1", ready=False)',
    "Node": 'set_node("node-a", ready=False)',
    "Endpoint": 'set_pod("web-1", ready=False)',
    "NetworkPolicy": 'delete_network_policy("...") then add_network_policy("...", ingress=[...])',
}


def _snapshot(cls: type) -> type:
    """Make a frozen dataclass's assignment error teach instead of just refusing."""
    cls.__setattr__ = _frozen_message  # type: ignore[assignment]
    return cls


def _row(label: str, value: Any) -> str:
    return f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(label)}</th><td style='text-align:left'>{html.escape(str(value))}</td></tr>"


def _table(title: str, rows: Iterable[tuple[str, Any]]) -> str:
    body = "".join(_row(k, v) for k, v in rows)
    return f"<div><b>{html.escape(title)}</b><table>{body}</table></div>"


@_snapshot
@dataclass(frozen=True, slots=True)
class Node:
    """A node: a machine that runs pods and kube-proxy.

    ``pod_cidr`` is the range its pods get addresses from; ``bridge_ip`` (the first address of it) is
    the node's own address on the interface toward its pods. ``ready=False`` models a failed node:
    after the node-lifecycle controller's grace period its pods' endpoints are not ready, and it
    answers no load-balancer health checks.

    >>> Node("node-a", IPv4Address("192.168.0.11"), IPv4Network("10.244.1.0/24"))
    Node('node-a', ip=192.168.0.11, pod_cidr=10.244.1.0/24, zone='zone-a')
    """

    name: str
    ip: IPv4Address
    pod_cidr: IPv4Network
    zone: str = "zone-a"
    ready: bool = True
    #: On a dual-stack cluster: the node's IPv6 address and its pods' IPv6 range (else None).
    ip6: IPv6Address | None = None
    pod_cidr6: IPv6Network | None = None

    @property
    def bridge_ip(self) -> IPv4Address:
        """The node's address toward its own pods (the CNI bridge/gateway, e.g. 10.244.1.1)."""
        return self.pod_cidr.network_address + 1

    @property
    def bridge_ip6(self) -> IPv6Address | None:
        """The bridge's IPv6 address on a dual-stack cluster (e.g. fd00:10:244:1::1), else None."""
        return None if self.pod_cidr6 is None else self.pod_cidr6.network_address + 1

    def address(self, family: str = "IPv4") -> IPv4Address | IPv6Address | None:
        """The node's own address of one IP family (None: it has none)."""
        return self.ip if family == "IPv4" else self.ip6

    def bridge(self, family: str = "IPv4") -> IPv4Address | IPv6Address | None:
        """The node's bridge address of one IP family (None: it has none)."""
        return self.bridge_ip if family == "IPv4" else self.bridge_ip6

    def __repr__(self) -> str:
        extra = "" if self.ready else ", ready=False"
        six = f", ip6={self.ip6}" if self.ip6 is not None else ""
        return f"Node({self.name!r}, ip={self.ip}{six}, pod_cidr={self.pod_cidr}, zone={self.zone!r}{extra})"

    def summary(self) -> str:
        state = "Ready" if self.ready else "NotReady"
        six = f" {self.ip6} pods {self.pod_cidr6}" if self.ip6 is not None else ""
        return f"{self.name} {self.ip} pods {self.pod_cidr}{six} {self.zone} {state}"

    __str__ = summary

    def _repr_html_(self) -> str:
        rows: list[tuple[str, Any]] = [("IP", self.ip), ("pod CIDR", self.pod_cidr)]
        if self.ip6 is not None:
            rows += [("IPv6", self.ip6), ("pod CIDR (IPv6)", self.pod_cidr6)]
        return _table(f"Node {self.name}", [*rows, ("zone", self.zone),
                                            ("status", "Ready" if self.ready else "NotReady")])


@_snapshot
@dataclass(frozen=True, slots=True)
class Pod:
    """A pod: one replica of an app, on one node, with one IP.

    ``ready`` is the pod's Ready condition (its readiness probe passes); ``terminating`` means it has
    been asked to stop (deletion timestamp set) and is draining.

    >>> Pod("web-1", node="node-a", ip=IPv4Address("10.244.1.5"), labels={"app": "web"})
    Pod('web-1', node='node-a', ip=10.244.1.5)
    """

    name: str
    node: str
    ip: IPv4Address
    labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)
    ready: bool = True
    terminating: bool = False
    #: The pod's IPv6 address on a dual-stack cluster (``status.podIPs[1]``), else None.
    ip6: IPv6Address | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.labels, Mapping):
            raise InvalidPod(self.name, label_errors("metadata.labels", self.labels)[1])
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    def address(self, family: str = "IPv4") -> IPv4Address | IPv6Address | None:
        """The pod's address of one IP family (None: it has none)."""
        return self.ip if family == "IPv4" else self.ip6

    def __repr__(self) -> str:
        extra = "" if self.ready else ", ready=False"
        extra += ", terminating=True" if self.terminating else ""
        six = f", ip6={self.ip6}" if self.ip6 is not None else ""
        return f"Pod({self.name!r}, node={self.node!r}, ip={self.ip}{six}{extra})"

    @property
    def status(self) -> str:
        """``Running``, ``NotReady`` or ``Terminating``, as ``kubectl get pods`` would summarise it."""
        if self.terminating:
            return "Terminating"
        return "Running" if self.ready else "NotReady"

    def summary(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in self.labels.items())
        six = f" {self.ip6}" if self.ip6 is not None else ""
        return f"{self.name} on {self.node} {self.ip}{six} {self.status} [{labels}]"

    __str__ = summary

    def _repr_html_(self) -> str:
        six = [("IPv6", self.ip6)] if self.ip6 is not None else []
        return _table(f"Pod {self.name}", [("node", self.node), ("IP", self.ip), *six, ("status", self.status),
                                          ("labels", dict(self.labels))])

    # Frozen + a mapping field: hash on the identity-defining fields only.
    def __hash__(self) -> int:
        return hash((self.name, self.node, self.ip, self.ready, self.terminating))


@_snapshot
@dataclass(frozen=True, slots=True)
class Service:
    """A Service: a stable address in front of the pods its selector matches.

    Field names mirror the API (``spec.externalTrafficPolicy`` is ``external_traffic_policy``) and
    values are the API's strings. Build services through :meth:`Cluster.add_service` so they are
    defaulted and validated; this class itself only holds the values.

    >>> web = Service("web", type="LoadBalancer", selector={"app": "web"}, cluster_ip=IPv4Address("10.96.0.10"),
    ...               node_port=30080, load_balancer_ip=IPv4Address("203.0.113.100"),
    ...               external_traffic_policy="Cluster")
    >>> print(web)
    Service 'web' LoadBalancer 203.0.113.100:80 -> targetPort 8080, externalTrafficPolicy=Cluster
    """

    name: str
    type: str = "ClusterIP"
    selector: Mapping[str, str] = field(default_factory=dict, hash=False)
    port: int = 80
    target_port: int = 8080
    cluster_ip: IPv4Address | None = None
    node_port: int | None = None
    load_balancer_ip: IPv4Address | None = None
    external_ips: tuple[IPv4Address, ...] = ()
    external_traffic_policy: str | None = None
    internal_traffic_policy: str = "Cluster"
    health_check_node_port: int | None = None
    traffic_distribution: str | None = None
    namespace: str = "default"
    #: ``status.loadBalancer.ingress[].ipMode`` (1.29+, GA 1.32): "VIP" (default) lets kube-proxy
    #: short-circuit in-cluster traffic to the LB IP; "Proxy" tells it not to, so that traffic goes
    #: through the load balancer (and gets its PROXY header or TLS). Set by the cloud provider.
    load_balancer_ip_mode: str = "VIP"
    #: ``spec.loadBalancerSourceRanges``: the client CIDRs allowed to reach the load balancer (empty: all).
    load_balancer_source_ranges: tuple[IPv4Network | IPv6Network, ...] = ()
    #: ``spec.sessionAffinity`` ("None" or "ClientIP") and ``sessionAffinityConfig.clientIP.timeoutSeconds``.
    session_affinity: str = "None"
    session_affinity_timeout: int | None = None
    #: ``spec.ipFamilies`` (the primary first) and ``spec.ipFamilyPolicy`` ("SingleStack",
    #: "PreferDualStack", "RequireDualStack"); ``spec.clusterIPs`` and the load balancer's ingress
    #: addresses, one per family (``cluster_ip`` / ``load_balancer_ip`` are the primary ones).
    #: Filled in by :meth:`Cluster.add_service`; empty means IPv4 single-stack.
    ip_families: tuple[str, ...] = ()
    ip_family_policy: str | None = None
    cluster_ips: tuple[IPv4Address | IPv6Address, ...] = ()
    load_balancer_ips: tuple[IPv4Address | IPv6Address, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.selector, Mapping):
            raise InvalidService(self.name, label_errors("spec.selector", self.selector)[1])
        if isinstance(self.external_ips, (str, bytes)) or not isinstance(self.external_ips, Iterable):
            raise InvalidService(self.name, [FieldError("spec.externalIPs", "Invalid value", show(self.external_ips),
                                                        "must be a list of IP addresses")])
        object.__setattr__(self, "selector", MappingProxyType(dict(self.selector)))
        object.__setattr__(self, "external_ips", tuple(self.external_ips))
        if isinstance(self.load_balancer_source_ranges, (str, bytes)) or not isinstance(
                self.load_balancer_source_ranges, Iterable):
            raise InvalidService(self.name, [FieldError("spec.LoadBalancerSourceRanges", "Invalid value",
                                                        show(self.load_balancer_source_ranges), "must be a list of CIDRs")])
        object.__setattr__(self, "load_balancer_source_ranges", tuple(self.load_balancer_source_ranges))
        for name in ("ip_families", "cluster_ips", "load_balancer_ips"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def __hash__(self) -> int:
        return hash((self.namespace, self.name, self.type, self.cluster_ip, self.node_port))

    @property
    def externally_accessible(self) -> bool:
        """True for NodePort and LoadBalancer services, and ClusterIP services with externalIPs."""
        return externally_accessible(self.type, self.external_ips)

    @property
    def families(self) -> tuple[str, ...]:
        """The service's IP families, the primary first (``spec.ipFamilies``, or that of its ClusterIP)."""
        if self.ip_families:
            return self.ip_families
        return (family_of(self.cluster_ip),) if self.cluster_ip is not None else ("IPv4",)

    @property
    def dual_stack(self) -> bool:
        return len(self.families) > 1

    def cluster_ip_of(self, family: str = "IPv4") -> IPv4Address | IPv6Address | None:
        """The ClusterIP of one IP family (None: the service has no address of that family)."""
        return next((a for a in (self.cluster_ips or (self.cluster_ip,)) if a is not None and family_of(a) == family),
                    None)

    def load_balancer_ips_of(self, family: str = "IPv4") -> tuple[IPv4Address | IPv6Address, ...]:
        """The load balancer's addresses of one IP family."""
        return tuple(a for a in (self.load_balancer_ips or (self.load_balancer_ip,))
                     if a is not None and family_of(a) == family)

    def external_ips_of(self, family: str = "IPv4") -> tuple[IPv4Address | IPv6Address, ...]:
        """The externalIPs of one IP family (kube-proxy's proxier for that family uses only these)."""
        return tuple(a for a in self.external_ips if family_of(a) == family)

    def _family_note(self) -> str:
        if self.families == ("IPv4",) and self.ip_family_policy in (None, "SingleStack"):
            return ""
        return f"ipFamilies={'/'.join(self.families)} ({self.ip_family_policy or 'SingleStack'})"

    def __repr__(self) -> str:
        parts = [repr(self.name), f"type={self.type!r}"]
        if self.external_traffic_policy:
            parts.append(f"external_traffic_policy={self.external_traffic_policy!r}")
        if self.internal_traffic_policy != "Cluster":
            parts.append(f"internal_traffic_policy={self.internal_traffic_policy!r}")
        if self.load_balancer_source_ranges:
            parts.append(f"load_balancer_source_ranges={[str(n) for n in self.load_balancer_source_ranges]!r}")
        if self.session_affinity != "None":
            parts.append(f"session_affinity={self.session_affinity!r}")
        if self._family_note():
            parts.append(f"ip_families={list(self.families)!r}")
            parts.append(f"ip_family_policy={self.ip_family_policy or 'SingleStack'!r}")
        return f"Service({', '.join(parts)})"

    def summary(self) -> str:
        if self.type == "LoadBalancer" and self.load_balancer_ip is not None:
            front = _hostport(self.load_balancer_ip, self.port)
        elif self.type == "NodePort":
            front = f"<node IP>:{self.node_port}"
        else:
            front = _hostport(self.cluster_ip, self.port)
        text = f"Service {self.name!r} {self.type} {front} -> targetPort {self.target_port}"
        if self.external_traffic_policy:
            text += f", externalTrafficPolicy={self.external_traffic_policy}"
        if self.internal_traffic_policy != "Cluster":
            text += f", internalTrafficPolicy={self.internal_traffic_policy}"
        if self.load_balancer_source_ranges:
            text += f", loadBalancerSourceRanges={','.join(map(str, self.load_balancer_source_ranges))}"
        if self.session_affinity != "None":
            text += f", sessionAffinity={self.session_affinity}"
        if self._family_note():
            second = [a for a in (self.load_balancer_ips if self.type == "LoadBalancer" else self.cluster_ips)[1:]]
            text += f", {self._family_note()}" + (f", also {_hostport(second[0], self.port)}" if second else "")
        return text

    __str__ = summary

    def _repr_html_(self) -> str:
        rows = [("type", self.type), ("selector", dict(self.selector)), ("clusterIP", self.cluster_ip),
                ("port → targetPort", f"{self.port} → {self.target_port}")]
        if self.node_port is not None:
            rows.append(("nodePort", self.node_port))
        if self.load_balancer_ip is not None:
            rows.append(("load balancer IP", self.load_balancer_ip))
        if self.external_ips:
            rows.append(("externalIPs", ", ".join(map(str, self.external_ips))))
        if self.external_traffic_policy:
            rows.append(("externalTrafficPolicy", self.external_traffic_policy))
        rows.append(("internalTrafficPolicy", self.internal_traffic_policy))
        if self.health_check_node_port is not None:
            rows.append(("healthCheckNodePort", self.health_check_node_port))
        if self.traffic_distribution:
            rows.append(("trafficDistribution", self.traffic_distribution))
        if self.type == "LoadBalancer" and self.load_balancer_ip_mode != "VIP":
            rows.append(("status ipMode", self.load_balancer_ip_mode))
        if self.load_balancer_source_ranges:
            rows.append(("loadBalancerSourceRanges", ", ".join(map(str, self.load_balancer_source_ranges))))
        if self.session_affinity != "None":
            rows.append(("sessionAffinity", f"{self.session_affinity} ({self.session_affinity_timeout} s)"))
        if self._family_note():
            rows.append(("ipFamilies", f"{', '.join(self.families)} ({self.ip_family_policy or 'SingleStack'})"))
            rows.append(("clusterIPs", ", ".join(map(str, self.cluster_ips))))
            if len(self.load_balancer_ips) > 1:
                rows.append(("load balancer IPs", ", ".join(map(str, self.load_balancer_ips))))
        return _table(f"Service {self.name}", rows)


@_snapshot
@dataclass(frozen=True, slots=True)
class Endpoint:
    """One entry of a service's EndpointSlice: a pod's address and its conditions.

    The conditions follow ``discovery.k8s.io/v1``: ``serving`` means the pod passes its readiness
    probe (on a ready node), ``terminating`` that it is shutting down, and ``ready`` is
    ``serving and not terminating``.
    """

    pod: str
    node: str
    zone: str
    ip: IPv4Address
    port: int
    serving: bool
    terminating: bool

    @property
    def ready(self) -> bool:
        return self.serving and not self.terminating

    def __repr__(self) -> str:
        return (f"Endpoint({self.pod!r}, {_hostport(self.ip, self.port)}, node={self.node!r}, ready={self.ready}, "
                f"serving={self.serving}, terminating={self.terminating})")

    def summary(self) -> str:
        return f"{_hostport(self.ip, self.port)} ({self.pod} on {self.node})"

    __str__ = summary


@dataclass(frozen=True, slots=True)
class IPBlock:
    """A NetworkPolicy peer by address: ``cidr`` minus the ``except`` ranges (``networking.k8s.io/v1``)."""

    cidr: IPv4Network | IPv6Network
    except_: tuple[IPv4Network | IPv6Network, ...] = ()

    def __contains__(self, address: object) -> bool:
        ip = address if not isinstance(address, str) else IPv4Address(address)
        if getattr(ip, "version", None) != self.cidr.version or ip not in self.cidr:
            return False
        return not any(ip in net for net in self.except_)

    def __repr__(self) -> str:
        extra = f", except={[str(n) for n in self.except_]!r}" if self.except_ else ""
        return f"IPBlock({str(self.cidr)!r}{extra})"


@_snapshot
@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """A NetworkPolicy's ingress part: which pods it selects, and where their traffic may come from.

    ``pod_selector`` selects the pods it applies to (``{}`` selects every pod); ``ingress`` is a tuple
    of rules, each a tuple of peers: an :class:`IPBlock` or a pod selector (a mapping of labels). A
    rule with no peers allows every source; a policy with no rules allows none. Traffic to a selected
    pod is allowed if some rule of some selecting policy matches its source, or if the source is the
    pod's own node (``NetworkPolicySpec.ingress`` in ``k8s.io/api/networking/v1``). Build policies
    with :meth:`Cluster.add_network_policy`.
    """

    name: str
    pod_selector: Mapping[str, str] = field(default_factory=dict, hash=False)
    ingress: tuple[tuple[Any, ...], ...] = ()
    namespace: str = "default"

    def __post_init__(self) -> None:
        object.__setattr__(self, "pod_selector", MappingProxyType(dict(self.pod_selector)))

    def __hash__(self) -> int:
        return hash((self.namespace, self.name, self.ingress))

    def selects(self, pod: Pod) -> bool:
        return all(pod.labels.get(k) == v for k, v in self.pod_selector.items())

    def __repr__(self) -> str:
        return f"NetworkPolicy({self.name!r}, pod_selector={dict(self.pod_selector)!r}, rules={len(self.ingress)})"

    def summary(self) -> str:
        rules = []
        for rule in self.ingress:
            peers = [str(p.cidr) + (f" except {','.join(map(str, p.except_))}" if p.except_ else "")
                     if isinstance(p, IPBlock) else f"pods {dict(p)}" for p in rule]
            rules.append(" or ".join(peers) if peers else "anyone")
        allowed = "; ".join(rules) if rules else "nobody"
        return f"NetworkPolicy {self.name!r}: pods {dict(self.pod_selector) or 'all'} accept from {allowed}"

    __str__ = summary

    def _repr_html_(self) -> str:
        return _table(f"NetworkPolicy {self.name}", [("pods", dict(self.pod_selector) or "all"),
                                                     ("ingress from", self.summary().split("accept from ", 1)[1])])


def node_names(count: int) -> list[str]:
    """Deterministic node names: node-a ... node-z, then node-27, node-28, ...

    >>> node_names(3)
    ['node-a', 'node-b', 'node-c']
    """
    return [f"node-{chr(ord('a') + i)}" if i < 26 else f"node-{i + 1}" for i in range(count)]


NodeRef = Union[str, Node]
PodRef = Union[str, Pod]
ServiceRef = Union[str, Service]


@dataclass(frozen=True, slots=True)
class _State:
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    services: tuple[Service, ...]
    network_policies: tuple[NetworkPolicy, ...] = ()


class Cluster:
    """A Kubernetes cluster you can look at and change, one validated change at a time.

    Build one with :meth:`from_layout` or take a named one from :mod:`k8slearn.examples`. Read it with
    :attr:`nodes`, :attr:`pods`, :attr:`services`, :meth:`node`, :meth:`pod`, :meth:`service` and
    :meth:`endpoints`. Change it with :meth:`move_pod`, :meth:`scale`, :meth:`add_node`,
    :meth:`remove_node`, :meth:`set_pod`, :meth:`set_node`, :meth:`add_service` and
    :meth:`patch_service`: each is checked first and, if it is invalid, raises and leaves the cluster
    exactly as it was (same objects, same :attr:`version`). Several changes made inside
    ``with cluster.atomic():`` happen together or not at all.

    >>> c = Cluster.from_layout({"node-a": 1, "node-b": 2}, type="LoadBalancer")
    >>> c
    Cluster(nodes=2, pods=3, services=['web'])
    >>> c.service("web").load_balancer_ip
    IPv4Address('203.0.113.100')
    """

    def __init__(self, *, name: str = "demo", cluster_cidr: str | IPv4Network = "10.244.0.0/16",
                 ip_families: Iterable[str] = ("IPv4",)) -> None:
        if not isinstance(name, str):
            raise InvalidChange(f"name: Invalid value: {show(name)}: must be a string",
                                hint='the cluster\'s name is only for display, e.g. name="demo".')
        self.name = name
        self.cluster_cidr = _cluster_cidr(cluster_cidr)
        #: ``("IPv4",)``, or ``("IPv4", "IPv6")`` for a dual-stack cluster (IPv4 primary): two
        #: --service-cluster-ip-range and --cluster-cidr values, and nodes and pods with both.
        self.ip_families = _cluster_families(ip_families)
        self.cluster_cidr6 = CLUSTER_CIDR6 if self.dual_stack else None
        self.service_cidr6 = SERVICE_CIDR6 if self.dual_stack else None
        self._state = _State((), (), ())
        self._cache: dict[Any, Any] = {}
        self.version = 0  # bumped on every change, so views can tell they are stale

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_layout(
        cls,
        layout: Mapping[str, int] | Iterable[int],
        *,
        service: str = "web",
        type: str = "LoadBalancer",
        external_traffic_policy: str | None = None,
        internal_traffic_policy: str = "Cluster",
        zones: Mapping[str, str] | Iterable[str] | None = None,
        port: int = 80,
        target_port: int = 8080,
        name: str = "demo",
        ip_families: Iterable[str] = ("IPv4",),
        ip_family_policy: str | None = None,
    ) -> Cluster:
        """A cluster from a compact layout: how many of the service's pods run on each node.

        ``layout`` is ``{"node-a": 2, "node-b": 1}`` or just ``[2, 1, 0]`` (nodes named node-a, node-b,
        ...). Addresses are deterministic: node *i* gets 192.168.0.(11+i) and pod CIDR 10.244.(i+1).0/24;
        pods are named ``web-1``, ``web-2``, ... in node order. ``zones`` gives each node's zone: a
        list (repeated over the nodes) or a mapping from node name to zone. ``ip_families=["IPv4",
        "IPv6"]`` makes a dual-stack cluster (nodes and pods get IPv6 addresses too); the service is
        then created with ``ip_family_policy`` (default SingleStack: IPv4 only).

        >>> c = Cluster.from_layout([2, 1, 0])
        >>> [(p.name, p.node, str(p.ip)) for p in c.pods]
        [('web-1', 'node-a', '10.244.1.5'), ('web-2', 'node-a', '10.244.1.6'), ('web-3', 'node-b', '10.244.2.5')]
        >>> d = Cluster.from_layout([1, 0], ip_families=["IPv4", "IPv6"], ip_family_policy="PreferDualStack")
        >>> d.pods[0].ip6, d.service("web").cluster_ips
        (IPv6Address('fd00:10:244:1::5'), (IPv4Address('10.96.0.10'), IPv6Address('fd00:10:96::10')))
        """
        counts_of = _layout(layout)
        service_errors = name_errors("service", service)
        if service_errors:
            raise InvalidService(service, service_errors)
        service = str(service)
        zone_of = _zones(zones, list(counts_of))
        big = len(counts_of) > 250
        cluster = cls(name=name, cluster_cidr="10.0.0.0/8" if big else "10.244.0.0/16", ip_families=ip_families)
        nodes = [cluster._new_node(n, zone_of[n], i) for i, n in enumerate(counts_of)]
        pods: list[Pod] = []
        labels = {"app": service}
        for node in nodes:
            for k in range(counts_of[node.name]):  # addresses .5, .6, ... as _free_pod_ip would hand them out
                ip = node.pod_cidr.network_address + 5 + k
                pods.append(Pod(f"{service}-{len(pods) + 1}", node.name, ip, labels, ip6=_pod_ip6(node, ip)))
        cluster._commit(_State(tuple(nodes), tuple(pods), ()))
        cluster.add_service(service, type=type, selector=labels, port=port, target_port=target_port,
                            external_traffic_policy=external_traffic_policy,
                            internal_traffic_policy=internal_traffic_policy, ip_family_policy=ip_family_policy,
                            _warn=False)
        return cluster

    @property
    def dual_stack(self) -> bool:
        """Whether the cluster has both IP families (nodes, pods and services can have IPv6 addresses)."""
        return len(self.ip_families) > 1

    def copy(self) -> Cluster:
        """An independent copy, for "what if" comparisons side by side."""
        other = Cluster(name=self.name, cluster_cidr=self.cluster_cidr, ip_families=self.ip_families)
        other._commit(self._state)
        return other

    @contextmanager
    def atomic(self) -> Iterator[Cluster]:
        """Make several changes as one: if anything inside the ``with`` block raises, none happen.

        The cluster is put back exactly as it was (same objects, same :attr:`version`) and the error
        goes on; warnings turned into errors (``-W error``) count as errors too.

        >>> c = Cluster.from_layout([1, 1])
        >>> try:
        ...     with c.atomic():
        ...         _ = c.move_pod("web-1", "node-b")
        ...         _ = c.scale("web", -1)
        ... except InvalidChange:
        ...     pass
        >>> c.pod("web-1").node, c.version
        ('node-a', 2)
        """
        saved = (self._state, self.version)
        try:
            yield self
        except BaseException:
            self._state, self.version = saved
            self._cache = {}
            raise

    # ------------------------------------------------------------------ reading
    @property
    def nodes(self) -> tuple[Node, ...]:
        return self._state.nodes

    @property
    def pods(self) -> tuple[Pod, ...]:
        return self._state.pods

    @property
    def services(self) -> tuple[Service, ...]:
        return self._state.services

    @property
    def network_policies(self) -> tuple[NetworkPolicy, ...]:
        return self._state.network_policies

    def cached(self, key: Any, compute: Any) -> Any:
        """``compute()``, remembered until the next change to the cluster (for derived views)."""
        try:
            hash(key)
        except TypeError:
            raise InvalidChange(f"cached: key {show(key)} cannot be hashed",
                                hint="use a tuple of strings and numbers as the key.") from None
        key = ("user", key)
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _index(self, kind: str) -> dict[str, Any]:
        key = ("index", kind)
        if key not in self._cache:
            items = {"node": self.nodes, "pod": self.pods, "service": self.services}[kind]
            self._cache[key] = {item.name: item for item in items}
        return self._cache[key]

    def _lookup(self, kind: str, ref: Any) -> Any:
        if isinstance(ref, (Node, Pod, Service)):
            ref = ref.name
        found = self._index(kind).get(ref) if isinstance(ref, str) else None
        if found is None:
            raise NotFound(kind, ref, list(self._index(kind)))
        return found

    def node(self, name: NodeRef) -> Node:
        """The node with this name (a wrong name lists the valid ones)."""
        return self._lookup("node", name)

    def pod(self, name: PodRef) -> Pod:
        """The pod with this name (a wrong name lists the valid ones)."""
        return self._lookup("pod", name)

    def service(self, name: ServiceRef) -> Service:
        """The service with this name (a wrong name lists the valid ones)."""
        return self._lookup("service", name)

    def pods_on(self, node: NodeRef) -> tuple[Pod, ...]:
        """The pods scheduled on a node, in cluster order."""
        name = self.node(node).name
        key = ("pods_on",)
        if key not in self._cache:
            by_node: dict[str, list[Pod]] = {n.name: [] for n in self.nodes}
            for p in self.pods:
                by_node[p.node].append(p)
            self._cache[key] = {n: tuple(ps) for n, ps in by_node.items()}
        return self._cache[key][name]

    def selected_pods(self, service: ServiceRef) -> tuple[Pod, ...]:
        """The pods whose labels match the service's selector, in cluster order."""
        svc = self.service(service)
        key = ("selected", svc.name)
        if key not in self._cache:
            self._cache[key] = self._matching(svc.selector)
        return self._cache[key]

    def _matching(self, selector: Mapping[str, str]) -> tuple[Pod, ...]:
        sel = selector.items()
        return tuple(p for p in self.pods if sel and all(p.labels.get(k) == v for k, v in sel))

    def endpoints(self, service: ServiceRef, *, family: str | None = None) -> tuple[Endpoint, ...]:
        """The service's endpoints with their conditions, as the EndpointSlice controller publishes them.

        A dual-stack service has one EndpointSlice per IP family: ``family`` ("IPv4" or "IPv6")
        picks one (default: the service's primary family).

        >>> c = Cluster.from_layout([1, 1]); _ = c.set_pod("web-2", terminating=True)
        >>> [(e.pod, e.ready, e.serving, e.terminating) for e in c.endpoints("web")]
        [('web-1', True, True, False), ('web-2', False, True, True)]
        """
        svc = self.service(service)
        family = _check_family(family) if family is not None else svc.families[0]
        key = ("endpoints", svc.name) if family == "IPv4" else ("endpoints", svc.name, family)
        if key not in self._cache:
            nodes = self._index("node")
            eps = []
            for p in self.selected_pods(svc):
                node = nodes[p.node]
                ip = p.address(family)
                if ip is None or family not in svc.families:
                    continue  # no address of this family, or a slice the service does not have
                eps.append(Endpoint(p.name, p.node, node.zone, ip, svc.target_port,
                                    serving=p.ready and node.ready, terminating=p.terminating))
            self._cache[key] = tuple(eps)
        return self._cache[key]

    def endpoints_by_node(self, service: ServiceRef, *, family: str | None = None) -> Mapping[str, tuple[Endpoint, ...]]:
        """The service's endpoints grouped by node (every node present, in node order)."""
        svc = self.service(service)
        family = _check_family(family) if family is not None else svc.families[0]
        key = ("endpoints_by_node", svc.name) if family == "IPv4" else ("endpoints_by_node", svc.name, family)
        if key not in self._cache:
            groups: dict[str, list[Endpoint]] = {n.name: [] for n in self.nodes}
            for e in self.endpoints(svc, family=family):
                groups[e.node].append(e)
            self._cache[key] = MappingProxyType({n: tuple(es) for n, es in groups.items()})
        return self._cache[key]

    def owner_of(self, address: IPv4Address | IPv6Address | str) -> Node | Pod | Service | None:
        """Which node, pod or service an address belongs to (None for an outside address)."""
        ip = _address("address", address, ipv6=True, expected="an IP address" if self.dual_stack else "an IPv4 address")
        key = ("owners",)
        if key not in self._cache:
            owners: dict[IPv4Address | IPv6Address, Any] = {}
            for n in self.nodes:
                for a in (n.ip, n.bridge_ip, n.ip6, n.bridge_ip6):
                    if a is not None:
                        owners[a] = n
            for p in self.pods:
                owners[p.ip] = p
                if p.ip6 is not None:
                    owners[p.ip6] = p
            for s in self.services:
                for a in (s.cluster_ip, s.load_balancer_ip, *s.external_ips, *s.cluster_ips, *s.load_balancer_ips):
                    if a is not None:
                        owners[a] = s
            self._cache[key] = owners
        return self._cache[key].get(ip)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return f"Cluster(nodes={len(self.nodes)}, pods={len(self.pods)}, services={[s.name for s in self.services]})"

    def summary(self) -> str:
        """One line per node with its pods, then one per service."""
        lines = []
        for n in self.nodes:
            pods = ", ".join(p.name + ("" if p.status == "Running" else f" ({p.status})") for p in self.pods_on(n))
            state = "" if n.ready else " NotReady"
            lines.append(f"{n.name} ({n.ip}, {n.zone}{state}): {pods or 'no pods'}")
        lines += [s.summary() for s in self.services]
        return "\n".join(lines)

    __str__ = summary

    def _repr_html_(self) -> str:
        cells = []
        for n in self.nodes:
            pods = "".join(
                f"<div style='margin:2px 0;padding:1px 4px;border-radius:3px;border:1px solid #0072B2'>"
                f"{html.escape(p.name)} <small>{p.ip}</small>"
                + ("" if p.status == "Running" else f" <i>{p.status}</i>") + "</div>"
                for p in self.pods_on(n)
            ) or "<div><i>no pods</i></div>"
            state = "" if n.ready else " <b>NotReady</b>"
            cells.append(
                f"<td style='vertical-align:top;text-align:left;border:1px solid #888;padding:4px;min-width:9em'>"
                f"<b>{html.escape(n.name)}</b>{state}<br><small>{n.ip} · {html.escape(n.zone)}</small>{pods}</td>"
            )
        services = "".join(f"<li>{html.escape(s.summary())}</li>" for s in self.services)
        return (f"<div><b>Cluster {html.escape(self.name)}</b>: {len(self.nodes)} nodes, {len(self.pods)} pods"
                f"<table><tr>{''.join(cells)}</tr></table><ul>{services}</ul></div>")

    # ------------------------------------------------------------------ changes
    def _commit(self, state: _State) -> None:
        self._state = state
        self._cache = {}
        self.version += 1

    def _new_node(self, name: str, zone: str, index: int) -> Node:
        ip = _NODE_NETWORK.network_address + 11 + index
        start = int(self.cluster_cidr.network_address) + (index + 1) * 256
        if start + 256 > int(self.cluster_cidr.broadcast_address) + 1 or index + 11 >= _NODE_NETWORK.num_addresses - 1:
            raise InvalidChange(f"no pod CIDR left in {self.cluster_cidr} for node {name!r}",
                                hint="the cluster CIDR is split into one /24 per node; use fewer nodes.")
        if not self.dual_stack:
            return Node(name, ip, IPv4Network((start, 24)), zone)
        return Node(name, ip, IPv4Network((start, 24)), zone, ip6=IPv6Address(_mirror(_NODE_NETWORK6, 11 + index)),
                    pod_cidr6=IPv6Network((_mirror(CLUSTER_CIDR6, index + 1, 64), 64)))

    def _free_pod_ip(self, node: Node, pods: Iterable[Pod]) -> IPv4Address:
        used = {p.ip for p in pods if p.node == node.name}
        for offset in range(5, node.pod_cidr.num_addresses - 1):
            ip = node.pod_cidr.network_address + offset
            if ip not in used:
                return ip
        raise InvalidChange(f"node {node.name!r} has no free pod IP left in {node.pod_cidr}",
                            hint="a /24 pod CIDR holds about 250 pods; spread pods over more nodes.")

    def _replace(self, *, nodes: Iterable[Node] | None = None, pods: Iterable[Pod] | None = None,
                 services: Iterable[Service] | None = None) -> _State:
        s = self._state
        return _State(tuple(s.nodes if nodes is None else nodes), tuple(s.pods if pods is None else pods),
                      tuple(s.services if services is None else services), s.network_policies)

    def move_pod(self, pod: PodRef, node: NodeRef) -> Pod:
        """Move a pod to another node (it gets a new IP there, as a rescheduled pod would).

        >>> c = Cluster.from_layout([2, 1, 0]); c.move_pod("web-2", "node-c")
        Pod('web-2', node='node-c', ip=10.244.3.5)
        """
        p, n = self.pod(pod), self.node(node)
        if p.node == n.name:
            return p
        others = [q for q in self.pods if q.name != p.name]
        ip = self._free_pod_ip(n, others)
        moved = dataclasses.replace(p, node=n.name, ip=ip, ip6=_pod_ip6(n, ip))
        self._commit(self._replace(pods=[moved if q.name == p.name else q for q in self.pods]))
        return moved

    def set_pod(self, pod: PodRef, *, ready: bool | None = None, terminating: bool | None = None) -> Pod:
        """Mark a pod ready / not ready (its readiness probe) or terminating (being deleted)."""
        p = self.pod(pod)
        changes = {k: check_bool(k, v) for k, v in (("ready", ready), ("terminating", terminating)) if v is not None}
        new = dataclasses.replace(p, **changes)
        self._commit(self._replace(pods=[new if q.name == p.name else q for q in self.pods]))
        return new

    def set_node(self, node: NodeRef, *, ready: bool | None = None, zone: str | None = None) -> Node:
        """Mark a node Ready / NotReady (a failed node), or move it to another zone."""
        n = self.node(node)
        changes: dict[str, Any] = {}
        if ready is not None:
            changes["ready"] = check_bool("ready", ready)
        if zone is not None:
            errors = zone_errors(zone)
            if errors:
                raise InvalidNode(n.name, errors)
            changes["zone"] = str(zone)
        new = dataclasses.replace(n, **changes)
        self._commit(self._replace(nodes=[new if m.name == n.name else m for m in self.nodes]))
        return new

    def add_node(self, name: str | None = None, *, zone: str = "zone-a") -> Node:
        """Add a node (named node-d, node-e, ... unless you name it) with the next free addresses."""
        taken = set(self._index("node"))
        if name is None:
            name = next(n for n in node_names(len(taken) + 27) if n not in taken)
            errors = zone_errors(zone)
        else:
            errors = name_errors("node", name) + zone_errors(zone)
        if errors:
            raise InvalidNode(name, errors)
        name, zone = str(name), str(zone)  # plain str, whatever str subclass came in
        if len(taken) >= MAX_NODES:
            raise InvalidChange(f"the cluster already has {len(taken)} nodes",
                                hint=f"Kubernetes is designed for at most {MAX_NODES:,} nodes per cluster.")
        if name in taken:
            raise InvalidChange(f'nodes "{name}" already exists',
                                hint=f"choose a new name; taken: {', '.join(sorted(taken)[:30])}.")
        used_ips = {n.ip for n in self.nodes}
        used_cidrs = {n.pod_cidr for n in self.nodes}
        index = 0
        while True:
            candidate = self._new_node(name, zone, index)
            if candidate.ip not in used_ips and candidate.pod_cidr not in used_cidrs:
                break
            index += 1
        self._commit(self._replace(nodes=[*self.nodes, candidate]))
        return candidate

    def remove_node(self, node: NodeRef) -> Node:
        """Remove a node. Its pods must go first (``move_pod``) or be dropped with ``scale``."""
        n = self.node(node)
        left = [p.name for p in self.pods_on(n)]
        if left:
            raise InvalidChange(
                f"node {n.name!r} still runs {len(left)} pod(s): {', '.join(left[:10])}"
                + (f" and {len(left) - 10} more" if len(left) > 10 else ""),
                hint=f"a node is drained before it is removed: move them first, e.g. "
                f"cluster.move_pod({left[0]!r}, ...), or mark the node not ready with set_node({n.name!r}, ready=False) "
                "to see what a failed node does.",
            )
        if len(self.nodes) == 1:
            raise InvalidChange("cannot remove the last node", hint="a cluster needs at least one node.")
        self._commit(self._replace(nodes=[m for m in self.nodes if m.name != n.name]))
        return n

    def scale(self, service: ServiceRef, replicas: int, *, node: NodeRef | None = None) -> tuple[Pod, ...]:
        """Set how many pods the service selects, like ``kubectl scale`` on its Deployment.

        New pods go to ``node`` if given, else to the ready node with the fewest of the service's pods
        (ties: the first node), a simple stand-in for the scheduler's default spreading. Scaling down
        removes the newest pods first. Returns the service's pods afterwards.
        """
        svc = self.service(service)
        check_replicas(replicas)
        replicas = as_int(replicas)
        if not svc.selector:
            raise InvalidChange(f"service {svc.name!r} has no selector, so it selects no pods to scale",
                                hint="give the service a selector with add_service(..., selector={...}).")
        target = self.node(node) if node is not None else None
        current = list(self.selected_pods(svc))
        pods = list(self.pods)
        if replicas < len(current):
            drop = {p.name for p in current[replicas:]}
            pods = [p for p in pods if p.name not in drop]
        else:
            counts = {n.name: 0 for n in self.nodes}
            for p in current:
                counts[p.node] += 1
            ready_nodes = [n for n in self.nodes if n.ready] or list(self.nodes)
            room = {n.name: _POD_SLOTS - len(self.pods_on(n)) for n in ([target] if target else ready_nodes)}
            if replicas - len(current) > sum(room.values()):
                where = f"node {target.name!r}" if target else f"the {len(room)} ready node(s)"
                raise InvalidChange(
                    f"spec.replicas: Invalid value: {replicas}: {where} can take only {sum(room.values())} more pod(s)",
                    hint="each node's /24 pod CIDR holds about 250 pod IPs; add nodes (add_node) or scale to fewer.")
            taken = {p.name for p in pods}
            serial = 1
            for _ in range(replicas - len(current)):
                where = target or min(ready_nodes, key=lambda n: counts[n.name])
                while f"{svc.name}-{serial}" in taken:
                    serial += 1
                name = f"{svc.name}-{serial}"
                taken.add(name)
                counts[where.name] += 1
                ip = self._free_pod_ip(where, pods)
                pods.append(Pod(name, where.name, ip, dict(svc.selector), ip6=_pod_ip6(where, ip)))
        self._commit(self._replace(pods=pods))
        return self.selected_pods(svc)

    def add_pod(self, name: str, node: NodeRef, *, labels: Mapping[str, str] | None = None,
                ready: bool = True, terminating: bool = False) -> Pod:
        """Add one pod (for clients inside the cluster, or hand-made layouts)."""
        clean, errors = label_errors("metadata.labels", labels)
        errors = name_errors("pod", name) + errors
        if errors:
            raise InvalidPod(name, errors)
        ready, terminating = check_bool("ready", ready), check_bool("terminating", terminating)
        name = str(name)
        if name in self._index("pod"):
            raise InvalidChange(f'pods "{name}" already exists', hint="pod names are unique in a namespace.")
        n = self.node(node)
        ip = self._free_pod_ip(n, self.pods)
        pod = Pod(name, n.name, ip, clean, ready, terminating, ip6=_pod_ip6(n, ip))
        self._commit(self._replace(pods=[*self.pods, pod]))
        return pod

    def delete_pod(self, pod: PodRef) -> Pod:
        """Remove a pod at once (no graceful termination; see ``set_pod(terminating=True)`` for that)."""
        p = self.pod(pod)
        self._commit(self._replace(pods=[q for q in self.pods if q.name != p.name]))
        return p

    # ------------------------------------------------------------------ services
    def _taken_node_ports(self, *, excluding: str | None = None) -> dict[int, str]:
        taken: dict[int, str] = {}
        for s in self.services:
            if s.name == excluding:
                continue
            for port in (s.node_port, s.health_check_node_port):
                if port is not None:
                    taken[port] = s.name
        return taken

    def _allocate_node_port(self, preferred: int, taken: Mapping[int, str], *, what: str = "a nodePort") -> int:
        """A deterministic stand-in for the API server's random NodePort allocator."""
        if preferred in NODE_PORT_RANGE and preferred not in taken:
            return preferred
        port = next((p for p in NODE_PORT_RANGE if p not in taken), None)
        if port is None:
            # storage/alloc.go: the allocator's ErrFull, returned as an internal error.
            raise InvalidChange(
                f"Internal error occurred: failed to allocate {what}: range is full",
                hint=f"all {len(NODE_PORT_RANGE):,} ports of the NodePort range 30000-32767 are in use (NodePorts "
                "and health-check ports of every NodePort and LoadBalancer service). Delete a service or make it "
                "a ClusterIP service to free its ports.")
        return port

    def _next_address(self, first: IPv4Address, used: set[IPv4Address], last: IPv4Address | None = None
                      ) -> IPv4Address | None:
        """The first address from ``first`` (up to ``last``) that is not in ``used``, or None."""
        ip = first
        while ip in used:
            if last is not None and ip >= last:
                return None
            ip += 1
        return ip

    def add_service(
        self,
        name: str,
        *,
        type: str = "ClusterIP",
        selector: Mapping[str, str] | None = None,
        port: int = 80,
        target_port: int = 8080,
        node_port: int | None = None,
        external_ips: Iterable[str | IPv4Address] = (),
        external_traffic_policy: str | None = None,
        internal_traffic_policy: str = "Cluster",
        health_check_node_port: int | None = None,
        traffic_distribution: str | None = None,
        load_balancer_source_ranges: Iterable[str] = (),
        session_affinity: str = "None",
        session_affinity_timeout: int | None = None,
        cluster_ip: str | IPv4Address | IPv6Address | None = None,
        ip_families: Iterable[str] | None = None,
        ip_family_policy: str | None = None,
        _warn: bool = True,
    ) -> Service:
        """Create a Service, defaulted and validated as the API server would.

        ``externalTrafficPolicy`` defaults to Cluster on externally accessible services; a NodePort is
        allocated for NodePort and LoadBalancer services (30000 + port when free); a LoadBalancer gets
        an address from 203.0.113.100-199 and, with Local, a ``healthCheckNodePort``; the ClusterIP
        comes from 10.96.0.0/12 unless ``cluster_ip`` asks for one. On a dual-stack cluster,
        ``ip_family_policy`` ("SingleStack", the default; "PreferDualStack"; "RequireDualStack") and
        ``ip_families`` (e.g. ``["IPv6"]`` or ``["IPv6", "IPv4"]``, the primary first) choose the
        service's families; it gets a ClusterIP (and a load-balancer address) of each. A selector that matches no pod is
        accepted with a :class:`~k8slearn.errors.K8sLearnWarning` (before anything changes, so a
        warning turned into an error leaves the cluster as it was).

        >>> c = Cluster.from_layout([1, 1])
        >>> c.add_service("db", selector={"app": "web"}, external_traffic_policy="Local")
        Traceback (most recent call last):
        ...
        k8slearn.errors.InvalidService: The Service "db" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services
        Hint: a ClusterIP service without externalIPs is reachable only inside the cluster, so there is no external traffic to keep local. Make it a NodePort or LoadBalancer service (or give it externalIPs), or use internalTrafficPolicy for traffic from pods.
        """
        raw = {"name": name, "type": type, "selector": {} if selector is None else selector, "port": port,
               "target_port": target_port, "node_port": node_port, "external_ips": external_ips,
               "external_traffic_policy": external_traffic_policy,
               "internal_traffic_policy": internal_traffic_policy,
               "health_check_node_port": health_check_node_port, "traffic_distribution": traffic_distribution,
               "cluster_ip": cluster_ip, "load_balancer_source_ranges": load_balancer_source_ranges,
               "session_affinity": session_affinity, "session_affinity_timeout": session_affinity_timeout,
               "ip_families": ip_families, "ip_family_policy": ip_family_policy}
        fields, errors = check_service_fields(raw)
        if errors:
            raise InvalidService(name, errors)
        if name in self._index("service"):
            raise InvalidChange(f'services "{name}" already exists',
                                hint=f"use patch_service({name!r}, ...) to change it.")
        svc = self._admit(Service(**fields), old=None)
        if _warn:
            self._warn_if_selects_nothing(svc)
        self._commit(self._replace(services=[*self.services, svc]))
        return svc

    def patch_service(
        self,
        service: ServiceRef,
        *,
        type: str | None = None,
        external_traffic_policy: str | None = None,
        internal_traffic_policy: str | None = None,
        node_port: int | None = None,
        health_check_node_port: int | None = None,
        external_ips: Iterable[str | IPv4Address] | None = None,
        traffic_distribution: str | None = None,
        selector: Mapping[str, str] | None = None,
        load_balancer_ip_mode: str | None = None,
        load_balancer_source_ranges: Iterable[str] | None = None,
        session_affinity: str | None = None,
        session_affinity_timeout: int | None = None,
        ip_families: Iterable[str] | None = None,
        ip_family_policy: str | None = None,
    ) -> Service:
        """Change a service like ``kubectl patch``: only the fields you pass change.

        As in the API server's update strategy, changing ``type`` drops the fields the new type cannot
        have (unless you set them in the same patch) and defaults the ones it needs. A
        ``node_port`` or ``health_check_node_port`` of 0 means "allocate one", as in the API.
        ``ip_family_policy="PreferDualStack"`` adds the second family on a dual-stack cluster;
        ``"SingleStack"`` releases it (the primary family never changes).

        >>> c = Cluster.from_layout([2, 1, 0])
        >>> c.patch_service("web", external_traffic_policy="Local").health_check_node_port
        32000
        """
        old = self.service(service)
        raw: dict[str, Any] = {}
        for key, value in (("type", type), ("external_traffic_policy", external_traffic_policy),
                           ("internal_traffic_policy", internal_traffic_policy), ("node_port", node_port),
                           ("health_check_node_port", health_check_node_port),
                           ("traffic_distribution", traffic_distribution),
                           ("load_balancer_ip_mode", load_balancer_ip_mode), ("external_ips", external_ips),
                           ("selector", selector), ("load_balancer_source_ranges", load_balancer_source_ranges),
                           ("session_affinity", session_affinity), ("session_affinity_timeout", session_affinity_timeout),
                           ("ip_families", ip_families), ("ip_family_policy", ip_family_policy)):
            if value is not None:
                raw[key] = value
        changes, errors = check_service_fields(raw)
        if errors:
            raise InvalidService(old.name, errors)
        new = dataclasses.replace(old, **changes)
        # strategy.go dropTypeDependentFields: fields the new type cannot have go, unless set in this patch.
        if not externally_accessible(new.type, new.external_ips) and "external_traffic_policy" not in changes:
            new = dataclasses.replace(new, external_traffic_policy=None)
        if new.type == "ClusterIP" and "node_port" not in changes:
            new = dataclasses.replace(new, node_port=None)
        if new.type != "LoadBalancer":
            new = dataclasses.replace(new, load_balancer_ip=None, load_balancer_ips=())
        if not needs_health_check(new.type, new.external_traffic_policy or ("Cluster" if externally_accessible(new.type, new.external_ips) else None)) \
                and "health_check_node_port" not in changes:
            new = dataclasses.replace(new, health_check_node_port=None)
        if changes.get("session_affinity") == "None" and "session_affinity_timeout" not in changes:
            new = dataclasses.replace(new, session_affinity_timeout=None)  # the config goes with the affinity
        if changes.get("ip_family_policy") == "SingleStack" and "ip_families" not in changes:
            # alloc.go initIPFamilyFields: with the families unchanged, SingleStack is clear intent: keep the primary.
            new = dataclasses.replace(new, ip_families=new.families[:1], cluster_ips=new.cluster_ips[:1],
                                      load_balancer_ips=new.load_balancer_ips[:1])
        elif "ip_family_policy" in changes or "ip_families" in changes:
            new = dataclasses.replace(new, cluster_ips=tuple(a for a in new.cluster_ips if family_of(a) in new.families))
        new = self._admit(new, old=old)
        if "selector" in changes:
            self._warn_if_selects_nothing(new)
        self._commit(self._replace(services=[new if s.name == old.name else s for s in self.services]))
        return new

    def delete_service(self, service: ServiceRef) -> Service:
        """Delete a service (its NodePorts and addresses are freed)."""
        svc = self.service(service)
        self._commit(self._replace(services=[s for s in self.services if s.name != svc.name]))
        return svc

    def _admit(self, svc: Service, *, old: Service | None) -> Service:
        """Default, validate and allocate, like the API server's create/update path.

        ``svc``'s fields have the right types already (:func:`~k8slearn.validation.check_service_fields`).
        """
        external = externally_accessible(svc.type, svc.external_ips)
        if external and svc.external_traffic_policy is None:
            svc = dataclasses.replace(svc, external_traffic_policy="Cluster")  # defaults.go
        if svc.session_affinity == "ClientIP" and svc.session_affinity_timeout is None:
            svc = dataclasses.replace(svc, session_affinity_timeout=DEFAULT_AFFINITY_TIMEOUT)  # defaults.go
        svc, family_errors = self._families(svc, old)
        taken = self._taken_node_ports(excluding=svc.name)
        fields = {f: getattr(svc, f) for f in ("type", "external_ips", "external_traffic_policy",
                                               "internal_traffic_policy", "traffic_distribution", "node_port",
                                               "health_check_node_port", "port", "target_port",
                                               "load_balancer_source_ranges", "session_affinity",
                                               "session_affinity_timeout")}
        errors: list[FieldError] = _service_rules(fields, taken) + family_errors
        if svc.load_balancer_ip_mode not in IP_MODES:
            errors.append(FieldError(
                "status.loadBalancer.ingress[0].ipMode", "Unsupported value", show(svc.load_balancer_ip_mode),
                'supported values: "Proxy", "VIP"',
                '"VIP": the load balancer passes packets on with the LB IP as destination; "Proxy": it '
                "proxies them (and kube-proxy must not short-circuit in-cluster traffic to the LB IP).",
            ))
        if (old is not None and old.health_check_node_port is not None and svc.health_check_node_port is not None
                and old.health_check_node_port != svc.health_check_node_port
                and needs_health_check(svc.type, svc.external_traffic_policy)):
            # validation.go validateServiceExternalTrafficFieldsUpdate: field.Forbidden(..., "field is immutable")
            errors = [e for e in errors if e.field != "spec.healthCheckNodePort"]
            errors.append(FieldError(
                "spec.healthCheckNodePort", "Forbidden", "",
                "field is immutable",
                "once allocated, the health-check port stays while the service is LoadBalancer + Local, "
                "because the cloud load balancer's probes are configured with it.",
            ))
        used = {a for s in self.services if s.name != svc.name for a in (s.cluster_ip, *s.cluster_ips) if a is not None}
        if svc.cluster_ip is not None and svc.cluster_ip in used and (old is None or old.cluster_ip != svc.cluster_ip):
            errors.append(FieldError("spec.clusterIPs", "Invalid value", show(str(svc.cluster_ip)),
                                     f"failed to allocate IP {svc.cluster_ip}: provided IP is already allocated",
                                     "another service has this ClusterIP; leave clusterIP unset to get a free one."))
        if errors:
            raise InvalidService(svc.name, errors)
        cluster_ips = []
        for family in svc.families:  # alloc.go allocClusterIPs: one per family, the primary first
            ip = svc.cluster_ip_of(family)
            if ip is None:
                cidr = _SERVICE_CIDR if family == "IPv4" else SERVICE_CIDR6
                ip = self._next_address(cidr.network_address + (10 if family == "IPv4" else 0x10), used,
                                        cidr.broadcast_address - 1)
                if ip is None:
                    raise InvalidChange("Internal error occurred: failed to allocate a serviceIP: range is full",
                                        hint=f"every address of the service CIDR {cidr} is in use.")
            cluster_ips.append(ip)
        svc = dataclasses.replace(svc, cluster_ip=cluster_ips[0], cluster_ips=tuple(cluster_ips))
        if svc.health_check_node_port is not None:
            taken = {**taken, svc.health_check_node_port: svc.name}  # not for its own nodePort either
        if svc.type in ("NodePort", "LoadBalancer") and svc.node_port is None:
            svc = dataclasses.replace(svc, node_port=self._allocate_node_port(30000 + svc.port, taken))
        if svc.node_port is not None:
            taken = {**taken, svc.node_port: svc.name}
        if svc.type == "LoadBalancer":
            used_lb = {a for s in self.services if s.name != svc.name for a in (s.load_balancer_ip, *s.load_balancer_ips)}
            used_lb |= {a for s in self.services for a in s.external_ips} | set(svc.external_ips)
            lb_ips = []
            for family in svc.families:  # the cloud gives the load balancer an address of each family
                have = svc.load_balancer_ips_of(family)
                if have:
                    lb_ips.append(have[0])
                    continue
                pool = LB_POOL if family == "IPv4" else LB_POOL6
                ip = self._next_address(pool[0], used_lb, pool[1])
                if ip is None:
                    raise InvalidChange(
                        f"no load-balancer address left: the pool {pool[0]}-{pool[1]} is used up",
                        hint="on a real cluster the service would be created and wait with EXTERNAL-IP <pending> "
                        "until an address is free. Delete a LoadBalancer service, or use type NodePort.")
                lb_ips.append(ip)
            svc = dataclasses.replace(svc, load_balancer_ip=lb_ips[0], load_balancer_ips=tuple(lb_ips))
        if needs_health_check(svc.type, svc.external_traffic_policy) and svc.health_check_node_port is None:
            svc = dataclasses.replace(svc, health_check_node_port=self._allocate_node_port(
                32000, taken, what="a HealthCheck NodePort 0"))
        return svc

    def _families(self, svc: Service, old: Service | None) -> tuple[Service, list[FieldError]]:
        """``spec.ipFamilyPolicy`` and ``spec.ipFamilies``, defaulted and checked against the cluster.

        ``pkg/registry/core/service/storage/alloc.go`` (``initIPFamilyFields``): the policy defaults to
        SingleStack; the families to the ClusterIP's, else the cluster's primary; a dual-stack policy
        on a dual-stack cluster adds the other family; RequireDualStack needs a dual-stack cluster and
        every family must be configured. ``validation.go`` (``validateUpgradeDowngradeIPFamilies``): the
        primary family never changes.
        """
        hint = ("this cluster is " + ("dual-stack (IPv4 first)" if self.dual_stack else "IPv4 only") + "; "
                "k8slearn models IPv6 on dual-stack clusters: Cluster.from_layout(..., ip_families=[\"IPv4\", \"IPv6\"]).")
        errors: list[FieldError] = []
        policy = svc.ip_family_policy or "SingleStack"
        families = svc.ip_families or ((family_of(svc.cluster_ip),) if svc.cluster_ip is not None else ())
        errors += ip_family_rules(families, policy)
        if policy == "RequireDualStack" and not self.dual_stack:
            errors.append(FieldError("spec.ipFamilyPolicy", "Invalid value", show(policy),
                                     "this cluster is not configured for dual-stack services", hint))
        for i, family in enumerate(families):
            if family not in self.ip_families:
                errors.append(FieldError(f"spec.ipFamilies[{i}]", "Invalid value", show(family),
                                         "not configured on this cluster", hint))
        if old is None and svc.cluster_ip is not None and families and family_of(svc.cluster_ip) != families[0]:
            errors.append(FieldError("spec.clusterIPs[0]", "Invalid value", show(str(svc.cluster_ip)),
                                     f"expected an {families[0]} value as indicated by `ipFamilies[0]`",
                                     "the first ClusterIP is of the primary family; leave clusterIP unset."))
        if old is not None and families and families[0] != old.families[0]:
            errors.append(FieldError("spec.ipFamilies[0]", "Invalid value", "[" + ", ".join(f'"{f}"' for f in families) + "]",
                                     "may not change once set",
                                     "a service's primary IP family is fixed when it is created; create a new "
                                     "service for the other family."))
        for i, address in enumerate(svc.external_ips):
            if family_of(address) not in self.ip_families:
                errors.append(FieldError(f"spec.externalIPs[{i}]", "Invalid value", show(str(address)),
                                         "this cluster has IPv4 addresses only (it is not dual-stack)", hint))
        if errors:
            return svc, errors
        families = families or self.ip_families[:1]
        if policy != "SingleStack" and len(families) == 1 and self.dual_stack:
            families = (*families, "IPv6" if families[0] == "IPv4" else "IPv4")
        return dataclasses.replace(svc, ip_families=families, ip_family_policy=policy), errors

    def _warn_if_selects_nothing(self, svc: Service) -> None:
        if not self._matching(svc.selector):
            labels = sorted({f"{k}={v}" for p in self.pods for k, v in p.labels.items()})
            shown = ", ".join(labels[:20]) + (f" ... ({len(labels) - 20} more)" if len(labels) > 20 else "")
            warnings.warn(
                f'Service "{svc.name}": selector {show(dict(svc.selector), 120)} matches no pods, so it has no '
                f"endpoints (kubectl accepts this). Pod labels in this cluster: {shown or 'none'}.",
                K8sLearnWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------------ network policies
    def network_policy(self, name: str | NetworkPolicy) -> NetworkPolicy:
        """The NetworkPolicy with this name (a wrong name lists the valid ones)."""
        if isinstance(name, NetworkPolicy):
            name = name.name
        for np in self.network_policies:
            if isinstance(name, str) and np.name == name:
                return np
        raise NotFound("networkpolicie", name, [np.name for np in self.network_policies])

    def add_network_policy(self, name: str, *, pod_selector: Mapping[str, str] | None = None,
                           ingress: Iterable[Mapping[str, Any]] = ()) -> NetworkPolicy:
        """Create a NetworkPolicy (ingress rules only), validated as the API server would.

        ``pod_selector`` is a label mapping (``{}``: every pod); ``ingress`` the API's list of rules,
        ``{"from": [...]}`` with peers ``{"ipBlock": {"cidr": ..., "except": [...]}}`` or
        ``{"podSelector": {"matchLabels": {...}}}``. A rule without ``from`` admits every source;
        ``ingress=[]`` admits none (the pods are isolated).

        >>> c = Cluster.from_layout([1, 1])
        >>> c.add_network_policy("office-only", pod_selector={"app": "web"},
        ...                      ingress=[{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}])
        NetworkPolicy('office-only', pod_selector={'app': 'web'}, rules=1)
        >>> c.add_network_policy("bad", ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}])
        Traceback (most recent call last):
        ...
        k8slearn.errors.InvalidNetworkPolicy: The NetworkPolicy "bad" is invalid: spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)
        Hint: write an address range with its prefix length.
        """
        errors = validate_network_policy(name, {} if pod_selector is None else pod_selector,
                                         [] if ingress is None else ingress)
        if errors:
            raise InvalidNetworkPolicy(name, errors)
        name = str(name)
        if any(np.name == name for np in self.network_policies):
            raise InvalidChange(f'networkpolicies.networking.k8s.io "{name}" already exists',
                                hint="delete it first (delete_network_policy) or choose another name.")
        ingress = list(ingress or ())  # validated: a list of rules
        rules = []
        for rule in ingress:
            peers: list[Any] = []
            for peer in rule.get("from") or ():
                if peer.get("namespaceSelector") is not None:
                    raise InvalidChange("namespaceSelector peers are not modelled",
                                        hint="k8slearn has one namespace; use a podSelector or an ipBlock.")
                if peer.get("ipBlock") is not None:
                    block = peer["ipBlock"]
                    peers.append(IPBlock(ip_network(str(block["cidr"]).strip(), strict=False),
                                         tuple(ip_network(str(x).strip(), strict=False) for x in block.get("except") or ())))
                else:
                    selector = peer["podSelector"]
                    peers.append(MappingProxyType(dict(selector.get("matchLabels", selector) or {})))
            rules.append(tuple(peers))
        np = NetworkPolicy(name, label_errors("spec.podSelector", pod_selector)[0], tuple(rules))
        state = dataclasses.replace(self._state, network_policies=(*self.network_policies, np))
        self._commit(state)
        return np

    def delete_network_policy(self, name: str | NetworkPolicy) -> NetworkPolicy:
        """Delete a NetworkPolicy (its pods accept everything again, unless another policy selects them)."""
        np = self.network_policy(name)
        self._commit(dataclasses.replace(self._state, network_policies=tuple(
            p for p in self.network_policies if p.name != np.name)))
        return np

    def external_ip_for(self, service: ServiceRef) -> IPv4Address:
        """The next free externalIP address (203.0.113.200-254), for examples that need one.

        ``service`` names the service it is meant for (it need not exist yet).
        """
        used = {a for s in self.services for a in s.external_ips} | {s.load_balancer_ip for s in self.services}
        ip = self._next_address(EXTERNAL_IP_POOL[0], used, EXTERNAL_IP_POOL[1])
        if ip is None:
            raise InvalidChange(f"no externalIP address left in {EXTERNAL_IP_POOL[0]}-{EXTERNAL_IP_POOL[1]}",
                                hint="choose an address yourself: patch_service(..., external_ips=[\"192.0.2.10\"]).")
        return ip


#: Pod IPs a node's /24 pod CIDR hands out (.5 to .254), as _free_pod_ip does.
_POD_SLOTS = 250


def _cluster_cidr(value: Any) -> IPv4Network:
    try:
        if isinstance(value, (str, IPv4Network)):
            return IPv4Network(value)
    except ValueError:
        pass
    raise InvalidChange(f"cluster_cidr: Invalid value: {show(value)}: must be an IPv4 network such as \"10.244.0.0/16\"",
                        hint="the cluster CIDR is the range pod IPs come from (kube-proxy's --cluster-cidr); "
                        "the host part must be zero.")


def _address(param: str, value: Any, *, ipv6: bool = False, expected: str = "") -> IPv4Address | IPv6Address:
    try:
        if isinstance(value, IPv4Address) or (ipv6 and isinstance(value, IPv6Address)):
            return value
        if isinstance(value, str):
            return ip_address(value.strip()) if ipv6 else IPv4Address(value.strip())
    except ValueError:
        pass
    what = expected or ("an IP address" if ipv6 else "an IPv4 address")
    raise InvalidChange(f"{param}: Invalid value: {show(value)}: must be {what}",
                        hint='for example "10.244.1.5" or ipaddress.IPv4Address("203.0.113.100").')


def _pod_ip6(node: Node, ip: IPv4Address) -> IPv6Address | None:
    """A pod's IPv6 address on a dual-stack node: the IPv4 host part's digits in its IPv6 range."""
    if node.pod_cidr6 is None:
        return None
    return IPv6Address(_mirror(node.pod_cidr6, int(ip) - int(node.pod_cidr.network_address)))


def _check_family(family: Any) -> str:
    if not (isinstance(family, str) and family in IP_FAMILIES):
        raise NotFound("IP family", family, list(IP_FAMILIES))
    return family


def _cluster_families(value: Any) -> tuple[str, ...]:
    hint = 'a cluster is IPv4 (ip_families=["IPv4"], the default) or dual-stack (ip_families=["IPv4", "IPv6"]).'
    families = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, Iterable) else ()
    if families not in (("IPv4",), ("IPv4", "IPv6")):
        raise InvalidChange(f"ip_families: Invalid value: {show(value)}: k8slearn models IPv4 clusters and dual-stack "
                            "clusters with IPv4 first", hint=hint)
    return families


def _layout(layout: Any) -> dict[str, int]:
    """A from_layout() layout as {node name: pod count}, or the error that says what it should be."""
    hint = 'for example {"node-a": 2, "node-b": 1, "node-c": 0} or [2, 1, 0]; a node\'s /24 pod CIDR holds about 250 pods.'
    if isinstance(layout, Mapping):
        items = list(itertools.islice(layout.items(), MAX_NODES + 1))
    elif isinstance(layout, (str, bytes)) or not isinstance(layout, Iterable):
        raise InvalidChange(f"layout: Invalid value: {show(layout)}: must be a list of pod counts or a mapping "
                            "from node name to pod count", hint=hint)
    else:
        counts = list(itertools.islice(layout, MAX_NODES + 1))
        items = list(zip(node_names(len(counts)), counts))
    if not items:
        raise InvalidChange("layout: Required value: a cluster needs at least one node", hint=hint)
    if len(items) > MAX_NODES:
        raise InvalidChange(f"layout: Too many: more than {MAX_NODES:,} nodes",
                            hint=f"Kubernetes is designed for at most {MAX_NODES:,} nodes per cluster.")
    out: dict[str, int] = {}
    for node, count in items:
        errors = name_errors("node", node)
        if errors:
            raise InvalidNode(node, errors)
        number = as_int(count)
        if number is None or not 0 <= number <= 250:
            raise InvalidChange(f"layout[{node!r}] = {show(count)}: a pod count must be a whole number from 0 to 250",
                                hint=hint)
        out[str(node)] = number
    return out


def _zones(zones: Any, nodes: list[str]) -> dict[str, str]:
    """from_layout()'s zones as {node name: zone}."""
    hint = 'for example zones=["zone-a", "zone-b"] (repeated over the nodes) or {"node-a": "zone-a"}.'
    if zones is None:
        return {n: "zone-a" for n in nodes}
    if isinstance(zones, Mapping):
        zone_of = {n: zones.get(n, "zone-a") for n in nodes}
    elif isinstance(zones, (str, bytes)) or not isinstance(zones, Iterable):
        raise InvalidChange(f"zones: Invalid value: {show(zones)}: must be a list of zones or a mapping from node "
                            "name to zone", hint=hint)
    else:
        zone_list = list(itertools.islice(zones, len(nodes)))
        if not zone_list:
            raise InvalidChange("zones: Required value: give at least one zone (or leave zones unset)", hint=hint)
        zone_of = {n: zone_list[i % len(zone_list)] for i, n in enumerate(nodes)}
    for node, zone in zone_of.items():
        errors = zone_errors(zone)
        if errors:
            raise InvalidNode(node, errors)
    return {node: str(zone) for node, zone in zone_of.items()}


def is_cluster_address(cluster: Cluster, address: IPv4Address | IPv6Address | str) -> bool:
    """Whether an address is inside the cluster's pod CIDR: kube-proxy's local-traffic detector.

    With ``--cluster-cidr`` (``detect-local-mode=ClusterCIDR``), kube-proxy decides "does this packet
    come from a pod?" by this test alone (``pkg/proxy/util/localdetector.go``, ``NewDetectLocalByCIDR``:
    ``-s <cluster CIDR>``), for both the ClusterIP masquerade rule and the short-circuit of pod traffic
    to a Local service's external addresses.

    >>> from k8slearn import examples
    >>> is_cluster_address(examples.uneven(), "10.244.1.5"), is_cluster_address(examples.uneven(), "10.0.0.2")
    (True, False)
    """
    ip = _address("address", address, ipv6=True)
    if ip.version == 6:  # the IPv6 detector, on a dual-stack cluster (--cluster-cidr has both)
        return cluster.cluster_cidr6 is not None and ip in cluster.cluster_cidr6
    return ip in cluster.cluster_cidr
