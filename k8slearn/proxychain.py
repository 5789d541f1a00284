"""Proxies in front of the pods: what each hop sees as the TCP source, and what the headers say.

A pass-through L4 load balancer forwards packets and keeps the client's address. Anything that
*terminates* the connection (an L4 proxy, a CDN, an L7 load balancer, an ingress controller or
Gateway) opens a new one, so the next hop's TCP source is the proxy. The client's address then
survives only if the proxy writes it down: in ``X-Forwarded-For`` / ``Forwarded`` (L7) or in a
PROXY protocol header (L4; both ends must agree to use it). :func:`follow` walks such a chain,
hop by hop, and shows what the app concludes: safely (rightmost untrusted entry, FACTS.md §7) and
naively (leftmost entry, which the client can forge).

An ingress controller or Gateway runs in pods behind its *own* Service, so kube-proxy stands
between the load balancer and it: under that Service's default ``externalTrafficPolicy: Cluster``
the node masquerades the connection, the ingress sees a node IP as its peer and appends *that* to
``X-Forwarded-For`` (FACTS.md §3b); only ``Local`` (or a PROXY header from the load balancer) lets
it see the hop before. :func:`cdn_chain` builds both.

In-cluster clients skip the cloud load balancer when they dial its IP (kube-proxy's short-circuit),
so they never get its PROXY header, but only when the load balancer's status publishes an ``ip``
and does not report ``ipMode: Proxy``; with a ``hostname`` in the status (AWS) kube-proxy writes no
rule for it and they go out through the load balancer (FACTS.md §3b, §7).

Taught in notebooks/08-proxies-and-headers.ipynb.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address
from typing import Any

from .dataplane import Source
from .errors import InvalidChange, show
from .loadbalancer import LB_ADDRESS
from .model import CLIENT_IP
from .path import (
    App,
    AppElement,
    ChainHop,
    Context,
    Flow,
    FrontProxy,
    Packet,
    Place,
    Segment,
    check_route,
    walk,
)
from .proxies import AddressError, naive_client_ip, trusted_networks
from .validation import is_bool

__all__ = ["Proxy", "App", "ChainHop", "ProxyPath", "follow", "cdn_chain"]

LAYERS = ("passthrough", "SNAT", "L4", "L7")
XFF_MODES = ("append", "replace", "keep")
IP_MODES = ("VIP", "Proxy")
STATUSES = ("ip", "hostname")
IN_CLUSTER_CLIENT = IPv4Address("10.244.3.5")
_PLAIN_APP = App()  # reads no PROXY header and trusts nobody


def _address(value: Any, what: str) -> IPv4Address | IPv6Address:
    """An IP address from text or an ipaddress object, or an AddressError naming ``what``."""
    try:
        if isinstance(value, (IPv4Address, IPv6Address)):
            return value
        if isinstance(value, str):
            return ip_address(value.strip())
    except ValueError:
        pass
    raise AddressError(f"{what}: {show(value)} is not an IP address",
                       hint="give an IPv4 or IPv6 address, e.g. \"203.0.113.50\" or ipaddress.ip_address(\"2001:db8::50\").")


@dataclass(frozen=True, slots=True)
class Proxy:
    """One hop in front of the pods.

    ``layer``: ``"passthrough"`` (forwards packets, e.g. a cloud network load balancer or MetalLB),
    ``"SNAT"`` (forwards packets but replaces their source with its own address and writes no
    header, e.g. a node's kube-proxy under ``externalTrafficPolicy: Cluster``), ``"L4"`` (a TCP
    proxy: new connection, bytes copied) or ``"L7"`` (an HTTP proxy: new connection, headers
    rewritten). ``xff`` (L7 only) is ``"append"`` (the usual), ``"replace"`` (overwrite with
    the peer, discarding what came in) or ``"keep"``. ``send_proxy_protocol`` prepends a PROXY v2
    header to its upstream connection; ``expect_proxy_protocol`` means it reads one on incoming
    connections. ``load_balancer`` marks the Service's cloud load balancer and ``in_cluster`` a hop
    running in pods (an ingress controller or Gateway).
    """

    name: str
    ip: IPv4Address | IPv6Address
    layer: str = "L7"
    xff: str = "append"
    send_proxy_protocol: bool = False
    expect_proxy_protocol: bool = False
    load_balancer: bool = False
    in_cluster: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidChange(f"proxy name {show(self.name)} is not a name",
                                hint='name each hop with a short text, e.g. Proxy("CDN", "203.0.113.50").')
        object.__setattr__(self, "ip", _address(self.ip, f"proxy {show(self.name)}: ip"))
        if not isinstance(self.layer, str) or self.layer not in LAYERS:
            raise InvalidChange(f"proxy {show(self.name)}: layer {show(self.layer)} is not one of {', '.join(LAYERS)}",
                                hint='"passthrough" forwards packets, "SNAT" forwards them from its own address, '
                                     '"L4" proxies TCP, "L7" proxies HTTP.')
        if not isinstance(self.xff, str) or self.xff not in XFF_MODES:
            raise InvalidChange(f"proxy {show(self.name)}: xff={show(self.xff)} is not one of {', '.join(XFF_MODES)}",
                                hint='an L7 proxy "append"s the peer to X-Forwarded-For, "replace"s it, or "keep"s it.')
        for flag in ("send_proxy_protocol", "expect_proxy_protocol", "load_balancer", "in_cluster"):
            if not is_bool(getattr(self, flag)):
                raise InvalidChange(f"proxy {show(self.name)}: {flag}={show(getattr(self, flag))} must be True or False",
                                    hint=f"write {flag}=True or {flag}=False.")
        if self.layer in ("passthrough", "SNAT") and (self.send_proxy_protocol or self.expect_proxy_protocol):
            raise InvalidChange(f"proxy {show(self.name)}: a {'pass-through' if self.layer == 'passthrough' else 'SNAT'} "
                                "hop cannot add or read a PROXY header",
                                hint="only a hop that terminates TCP (L4 or L7) can write one; make it layer=\"L4\".")


@dataclass(frozen=True, slots=True)
class ProxyPath:
    """The result of :func:`follow`: one :class:`ChainHop` per receiver, the last one being the app."""

    client: Any
    hops: tuple[ChainHop, ...]
    skipped: tuple[str, ...]
    client_seen_by_app: Any
    naive_client: Any
    broken: str

    @property
    def path(self) -> list[str]:
        return ["client", *(h.at for h in self.hops)]

    @property
    def client_ip_kept(self) -> bool:
        return not self.broken and self.client_seen_by_app == self.client

    def summary(self) -> str:
        if self.broken:
            return f"client {self.client}: connection broken — {self.broken}"
        tail = "" if self.naive_client == self.client_seen_by_app else f" (a naive leftmost pick would say {self.naive_client})"
        skipped = f"; skipped: {', '.join(self.skipped)}" if self.skipped else ""
        return f"client {self.client}: the app concludes {self.client_seen_by_app}{tail}{skipped}"

    __str__ = summary

    def __repr__(self) -> str:
        return f"<ProxyPath {self.summary()}>"

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{"at": h.at, "tcp_peer": str(h.tcp_peer), "x_forwarded_for": h.x_forwarded_for,
                              "proxy_header": h.proxy_header, "believes": str(h.believes), "problem": h.problem}
                             for h in self.hops],
                            columns=["at", "tcp_peer", "x_forwarded_for", "proxy_header", "believes", "problem"])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='text-align:left'>{html.escape(h.at)}</td><td style='text-align:left'>{h.tcp_peer}</td><td style='text-align:left'>{html.escape(h.x_forwarded_for)}</td>"
            f"<td style='text-align:left'>{html.escape(h.proxy_header)}</td><td style='text-align:left'><b>{h.believes}</b></td>"
            f"<td style='color:#D55E00;text-align:left'>{html.escape(h.problem)}</td></tr>" for h in self.hops)
        head = "<tr><th style='text-align:left'>hop</th><th style='text-align:left'>TCP peer</th><th style='text-align:left'>X-Forwarded-For</th><th style='text-align:left'>PROXY header</th><th style='text-align:left'>client it concludes</th><th style='text-align:left'></th></tr>"
        return f"<div><p><b>{html.escape(self.summary())}</b></p><table>{head}{rows}</table></div>"


def follow(
    proxies: Sequence[Proxy],
    *,
    client: str | IPv4Address | None = None,
    x_forwarded_for: str | None = None,
    app: App = _PLAIN_APP,
    from_pod: bool = False,
    ip_mode: str = "VIP",
    status: str = "ip",
) -> ProxyPath:
    """Walk a connection from ``client`` through ``proxies`` to the app in the pod.

    ``client`` defaults to 198.51.100.7 (outside) or, with ``from_pod``, the pod 10.244.3.5.
    ``x_forwarded_for`` is a header the client itself sends (a spoofing attempt, or a client behind
    its own proxy). ``from_pod=True`` starts the connection inside the cluster, dialling the
    Service's load-balancer address: hops before the load balancer are not on the way, and
    kube-proxy short-circuits the load balancer itself when its ``status`` publishes an ``"ip"`` and
    ``ip_mode`` is ``"VIP"``; with ``ip_mode="Proxy"`` or ``status="hostname"`` (AWS) the pod's
    connection goes out through the load balancer.

    >>> chain = cdn_chain()
    >>> print(follow(chain, app=App(trusted=["203.0.113.0/24", "10.244.0.0/16"])))
    client 198.51.100.7: the app concludes 198.51.100.7
    >>> spoof = follow(chain, x_forwarded_for="1.2.3.4", app=App(trusted=["203.0.113.0/24", "10.244.0.0/16"]))
    >>> spoof.client_seen_by_app, spoof.naive_client
    (IPv4Address('198.51.100.7'), IPv4Address('1.2.3.4'))
    """
    if not is_bool(from_pod):
        raise InvalidChange(f"from_pod={show(from_pod)} must be True or False", hint="write from_pod=True or from_pod=False.")
    if not isinstance(ip_mode, str) or ip_mode not in IP_MODES:
        raise InvalidChange(f"ip_mode={show(ip_mode)} is not one of {', '.join(IP_MODES)}",
                            hint='the load balancer\'s status ipMode: "VIP" (the default) or "Proxy".')
    if not isinstance(status, str) or status not in STATUSES:
        raise InvalidChange(f"status={show(status)} is not one of {', '.join(STATUSES)}",
                            hint='what the load balancer\'s status publishes: an "ip" (most) or a "hostname" (AWS).')
    if app is None:
        raise InvalidChange("app=None is not an App", hint='for example app=App(trusted=["10.0.0.0/8"]).')
    route = check_route(proxies, app, x_forwarded_for)
    origin = _address(client if client is not None else (IN_CLUSTER_CLIENT if from_pod else CLIENT_IP), "client")
    skipped: list[str] = []
    if from_pod:
        first_lb = next((i for i, p in enumerate(route) if p.load_balancer), None)
        if first_lb is not None:
            skipped += [p.name + " (not on the way from a pod)" for p in route[:first_lb]]
            route = route[first_lb:]
            if ip_mode == "VIP" and status == "ip":
                skipped.append(route[0].name + " (kube-proxy short-circuits the LB IP; ipMode: VIP)")
                route = route[1:]
    # The same elements a trace through a cluster runs (k8slearn.path), without a cluster.
    start = Place.client()
    packet = Packet(origin, 51000, route[0].ip if route else LB_ADDRESS, 443)  # type: ignore[arg-type]
    flow = Flow(packet, Source("external", origin), "loadBalancerIP", origin, (Segment(start, packet),),
                xff=x_forwarded_for or "")
    chain = [FrontProxy(p) for p in route] + [AppElement(app)]
    walked = walk(chain, flow, Context(None, None, dataplane=None, lb=None))  # type: ignore[arg-type]
    hops = walked.flow.receivers
    broken = next((h.problem for h in hops if h.problem), "")
    if broken:
        return ProxyPath(origin, hops, tuple(skipped), None, None, broken)
    last = hops[-1]
    naive = last.believes if app.expect_proxy_protocol else naive_client_ip(last.tcp_peer, last.x_forwarded_for)
    return ProxyPath(origin, hops, tuple(skipped), last.believes, naive, "")


def cdn_chain(*, ingress_ip: str = "10.244.2.9", ingress_policy: str = "Local",
              node_ip: str = "192.168.0.11") -> list[Proxy]:
    """CDN -> cloud load balancer (pass-through) -> ingress controller (in a pod) -> app.

    The CDN and the ingress are L7 proxies that append to X-Forwarded-For. ``ingress_policy`` is
    the ``externalTrafficPolicy`` of the ingress controller's own Service: with ``"Local"`` the
    ingress sees the CDN as its peer; with ``"Cluster"`` (the Kubernetes default) the node at
    ``node_ip`` masquerades the connection first, so the ingress sees the node and appends the
    node's IP to X-Forwarded-For, and an app that trusts only the CDN and the pod network concludes
    that the node is the client (FACTS.md §3b).

    >>> trust = App(trusted=["203.0.113.0/24", "10.244.0.0/16"])
    >>> print(follow(cdn_chain(ingress_policy="Cluster"), app=trust).client_seen_by_app)
    192.168.0.11
    """
    if not isinstance(ingress_policy, str) or ingress_policy not in ("Cluster", "Local"):
        raise InvalidChange(f'ingress_policy: Unsupported value: {show(ingress_policy)}: supported values: "Cluster", "Local"',
                            hint="the externalTrafficPolicy of the ingress controller's own Service.")
    node = ([Proxy("node (kube-proxy)", node_ip, "SNAT", in_cluster=True)]
            if ingress_policy == "Cluster" else [])
    return [
        Proxy("CDN", "203.0.113.50", "L7"),
        Proxy("cloud LB", LB_ADDRESS, "passthrough", load_balancer=True),
        *node,
        Proxy("ingress", ingress_ip, "L7", in_cluster=True),
    ]


def networks(items: Iterable[str]) -> tuple[IPv4Network, ...]:
    """Parse trusted networks (a convenience for notebooks): :func:`k8slearn.proxies.trusted_networks`."""
    return trusted_networks(items)
