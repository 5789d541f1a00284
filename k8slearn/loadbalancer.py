"""The load balancer in front of a Service: abstract models and a catalogue of real ones.

Whether a pod ever sees the client's address depends first on *which* load balancer sits in
front. Every load balancer here is a :class:`LoadBalancerProfile`: what it is (pass-through,
source NAT, L4 proxy or L7 proxy), what its status publishes (an ``ip``, which lets kube-proxy
short-circuit pods that dial it, or a ``hostname``, which does not), what it health-checks under
``externalTrafficPolicy`` Cluster and Local, how it spreads connections (per node, per zone then
per node, weighted, per pod), and whether it can send a PROXY protocol header. The path model
(:mod:`k8slearn.path`) reads nothing else, so a new load balancer is one new entry.

Five abstract models are kept for teaching the idea before the products:

==================  ========================================================================
``equal``           every node gets the same share; no health checks (DNS round robin over
                    node IPs, or a load balancer that ignores the health-check port)
``health-checked``  equal per node that passes its health check (many cloud L4 LBs, but not
                    all: an AWS NLB or Classic ELB splits per zone first, see the catalogue)
``weighted``        like ``health-checked`` but weighted by ``X-Load-Balancing-Endpoint-Weight``
                    (GKE weighted load balancing; only Local services send a weight)
``single-node``     all traffic to one announcing node (MetalLB in L2 mode)
``pod-targeting``   straight to pod IPs, equally per ready pod (GKE NEGs, AWS Load Balancer
                    Controller IP targets); no kube-proxy on the way, and the pod sees the load
                    balancer's address unless client-IP preservation is on
==================  ========================================================================

The real ones are in :data:`LB_PROFILES` (``aws-elb``, ``aws-nlb-instance``, ``aws-nlb-ip``, ...),
each with the sources its facts come from. ``k8slearn.lbtable.load_balancer_table()`` runs the
simulator over the catalogue to answer "which load balancer am I behind?".

Taught in notebooks/05-imbalance.ipynb (models) and the load-balancer notebook (catalogue).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from .dataplane import Source, decide, health_check
from .dataplane.health import KUBE_PROXY_HEALTHZ_PORT
from .errors import InvalidChange, NotFound, show
from .model import Cluster, Node, Service, ServiceRef
from .validation import is_bool

__all__ = ["LoadBalancer", "LB_MODELS", "LoadBalancerProfile", "LB_PROFILES", "LOAD_BALANCERS",
           "get_load_balancer", "resolve", "Probe", "probe", "Spread", "spread", "LB_ADDRESS", "LB_ADDRESS6"]

LB_MODELS = ("equal", "health-checked", "weighted", "single-node", "pod-targeting")

#: The load balancer's own address inside the VPC, the source a pod sees from a proxying LB.
LB_ADDRESS = IPv4Address("192.168.255.10")
#: The load balancer's own address toward the nodes on the IPv6 side of a dual-stack cluster.
LB_ADDRESS6 = IPv6Address("2001:db8::10")

#: What a load balancer does to the connection, from keeping everything to ending it.
KINDS = ("pass-through", "source NAT", "L4 proxy", "L7 proxy")
#: What it probes on each node (or pod) to decide where to send connections.
HEALTH_TARGETS = ("kube-proxy", "health-check-node-port", "traffic-port", "serving-endpoint", "pod", "none")
#: How it spreads new connections.
SPREADS = ("all-nodes", "per-node", "per-zone", "weighted", "first-healthy", "l2-leader", "bgp",
           "per-pod", "per-pod-per-zone")


@dataclass(frozen=True, slots=True)
class LoadBalancerProfile:
    """One load balancer: what it does to a connection, what it probes, how it spreads.

    ``kind`` is ``"pass-through"`` (forwards packets; the source stays the client's),
    ``"source NAT"`` (forwards packets but replaces the source with its own address),
    ``"L4 proxy"`` (ends the client's TCP connection and opens its own) or ``"L7 proxy"`` (the
    same for HTTP, appending the peer to ``X-Forwarded-For``). ``targets`` is ``"nodes"`` or
    ``"pods"``; for nodes, ``delivers`` says whether the packet keeps the load-balancer IP as its
    destination (``"lb-ip"``: kube-proxy's ``KUBE-SERVICES`` rule for the LB IP, and so its
    ``loadBalancerSourceRanges`` firewall, applies) or is sent to the node's NodePort
    (``"node-port"``: NodePorts are not subject to the source ranges). ``status`` is ``"ip"``,
    ``"hostname"`` or ``"elsewhere"`` (an L7 load balancer whose address is on an Ingress or
    Gateway, never on the Service). ``health_cluster`` / ``health_local`` name what is probed
    under each ``externalTrafficPolicy`` (see :data:`HEALTH_TARGETS`). ``proxy_protocol`` is the
    PROXY protocol version it sends (0: none); ``proxy_protocol_support`` says what can be turned
    on. ``filters_source_ranges`` means the load balancer (its security group, firewall rule or
    proxy) enforces ``loadBalancerSourceRanges`` itself. ``sources`` cite where each fact comes
    from.
    """

    key: str
    label: str
    provider: str
    kind: str
    targets: str = "nodes"
    delivers: str = "lb-ip"
    status: str = "ip"
    ip_mode: str = "VIP"
    preserve_client_ip: bool = True
    proxy_protocol: int = 0
    proxy_protocol_support: str = "none"
    health_cluster: str = "kube-proxy"
    health_local: str = "health-check-node-port"
    spread: str = "per-node"
    fail_open: bool = False
    filters_source_ranges: bool = True
    returns_via_lb: bool = True
    announcing_node: str | None = None
    description: str = ""
    sources: tuple[str, ...] = ()
    notes: str = ""
    abstract: bool = False

    def __post_init__(self) -> None:
        for name, value, allowed in (("kind", self.kind, KINDS), ("targets", self.targets, ("nodes", "pods")),
                                     ("delivers", self.delivers, ("lb-ip", "node-port")),
                                     ("status", self.status, ("ip", "hostname", "elsewhere")),
                                     ("ip_mode", self.ip_mode, ("VIP", "Proxy")),
                                     ("health_cluster", self.health_cluster, HEALTH_TARGETS),
                                     ("health_local", self.health_local, HEALTH_TARGETS),
                                     ("spread", self.spread, SPREADS)):
            if value not in allowed:
                raise InvalidChange(f"load balancer {self.key!r}: {name}={value!r} is not one of {', '.join(allowed)}",
                                    hint="see the module docs of k8slearn.loadbalancer for what each value means.")
        if self.proxy_protocol not in (0, 1, 2):
            raise InvalidChange(f"load balancer {self.key!r}: proxy_protocol={self.proxy_protocol!r}",
                                hint="the PROXY protocol has versions 1 and 2; 0 means no header.")
        if self.proxy_protocol and self.kind == "pass-through":
            raise InvalidChange(f"load balancer {self.key!r}: a pass-through load balancer cannot add a PROXY header",
                                hint="only a load balancer that rewrites the connection (source NAT or a proxy) writes one.")

    # ---------------------------------------------------------------- derived answers
    @property
    def model(self) -> str:
        """The key (for code written against the abstract models' ``.model``)."""
        return self.key

    @property
    def proxies(self) -> bool:
        """Whether it ends the client's connection and opens its own."""
        return self.kind in ("L4 proxy", "L7 proxy")

    @property
    def keeps_source(self) -> bool:
        """Whether the packets it sends on still carry the client's address as their source."""
        return self.kind == "pass-through" and self.preserve_client_ip

    @property
    def xff(self) -> bool:
        """Whether it appends the client's address to ``X-Forwarded-For`` (an L7 proxy)."""
        return self.kind == "L7 proxy"

    def health_target(self, svc: Service) -> str:
        """What it probes for this service (its ``externalTrafficPolicy`` decides)."""
        return self.health_local if svc.external_traffic_policy == "Local" else self.health_cluster

    def short_circuits(self, svc: Service) -> bool:
        """Whether kube-proxy catches a pod's packets to this load balancer before they leave the node.

        Only when the Service's status publishes an ``ip`` and its ``ipMode`` is not ``Proxy``
        (``pkg/proxy/iptables/proxier.go`` writes its ``KUBE-SERVICES`` rule from
        ``status.loadBalancer.ingress[].ip``; a ``hostname`` gives it nothing to match).
        """
        return self.status == "ip" and self.ip_mode == "VIP" and svc.load_balancer_ip_mode == "VIP"

    def why_no_short_circuit(self, svc: Service) -> str:
        if self.status == "hostname":
            return "the load balancer's status publishes a hostname, not an IP, so kube-proxy has no rule for it"
        if self.status == "elsewhere":
            return "its address is on an Ingress or Gateway, not the Service, so kube-proxy knows nothing of it"
        return "the load balancer's ipMode is Proxy, so kube-proxy leaves its IP alone"

    @property
    def hairpin_risk(self) -> bool:
        """Pods reach it through the network, and it keeps their source: a target calling itself can time out."""
        return self.status != "ip" and self.keeps_source

    def summary(self) -> str:
        return f"{self.label}: {self.kind}, status {self.status}, spreads {self.spread}"

    __str__ = summary

    def __repr__(self) -> str:
        return f"LoadBalancerProfile({self.key!r})"

    def _repr_html_(self) -> str:
        rows = [("kind", self.kind), ("targets", self.targets), ("status", self.status),
                ("health check (Cluster)", self.health_cluster), ("health check (Local)", self.health_local),
                ("spread", self.spread), ("PROXY protocol", self.proxy_protocol_support),
                ("enforces loadBalancerSourceRanges", "yes" if self.filters_source_ranges else "no")]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(str(v))}</td></tr>" for k, v in rows)
        return f"<div><b>{html.escape(self.label)}</b><table>{body}</table></div>"


# --------------------------------------------------------------------------- the abstract models
_MODEL_DESCRIPTIONS = {
    "equal": "equal share to every node, no health checks",
    "health-checked": "equal share to every node that passes the health check",
    "weighted": "share per healthy node weighted by its local endpoints",
    "single-node": "everything to one announcing node (MetalLB L2)",
    "pod-targeting": "straight to the pods (IP targets / NEGs)",
}


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    """An abstract load-balancer model (see the module docs for the choices).

    >>> LoadBalancer("weighted")
    LoadBalancer('weighted')
    """

    model: str = "health-checked"
    preserve_client_ip: bool = False
    announcing_node: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or self.model not in LB_MODELS:
            raise NotFound("load-balancer model", self.model, [*LB_MODELS, *LB_PROFILES])
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
        return _MODEL_DESCRIPTIONS[self.model]

    @property
    def profile(self) -> LoadBalancerProfile:
        """This model as a profile (what the path model reads)."""
        m = self.model
        common = {"key": m, "label": f"{m} (abstract model)", "provider": "abstract model", "abstract": True,
                  "description": self.description, "filters_source_ranges": False}
        if m == "pod-targeting":
            return LoadBalancerProfile(**common, kind="pass-through" if self.preserve_client_ip else "source NAT",
                                       targets="pods", preserve_client_ip=self.preserve_client_ip,
                                       health_cluster="pod", health_local="pod", spread="per-pod")
        spread_kind, health = {"equal": ("all-nodes", "none"), "health-checked": ("per-node", None),
                               "weighted": ("weighted", None), "single-node": ("first-healthy", None)}[m]
        return LoadBalancerProfile(**common, kind="pass-through", spread=spread_kind,
                                   health_cluster=health or "kube-proxy", health_local=health or "health-check-node-port",
                                   announcing_node=self.announcing_node)


def _cite(*paths: str) -> tuple[str, ...]:
    return tuple(paths)


# Where the facts come from (repository + path, or the provider's documentation).
_CPA = "kubernetes/cloud-provider-aws pkg/providers/v1/aws.go"
_CPA_LB = "kubernetes/cloud-provider-aws pkg/providers/v1/aws_loadbalancer.go"
_LBC = "kubernetes-sigs/aws-load-balancer-controller pkg/service/model_build_target_group.go"
_LBC_DOC = "kubernetes-sigs/aws-load-balancer-controller docs/guide/service/annotations.md"
_NLB_XZ = "docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-cross-zone.html"
_NLB_HC = "docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html"
_NLB_IP = "docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-target-groups.html#client-ip-preservation"
_GCE = "kubernetes/cloud-provider-gcp providers/gce/gce_loadbalancer_external.go, gce_healthchecks.go"
_AZ = "kubernetes-sigs/cloud-provider-azure pkg/provider/azure_loadbalancer.go, azure_loadbalancer_healthprobe.go"
_MLB = "metallb/metallb speaker/layer2_controller.go, speaker/bgp_controller.go, website/content/usage/_index.md"
_KIND = "kubernetes-sigs/cloud-provider-kind pkg/loadbalancer/proxy.go, server.go"

_PROFILES = [
    LoadBalancerProfile(
        "aws-elb", "AWS Classic ELB", "cloud-provider-aws (the default for type LoadBalancer)", "L4 proxy",
        delivers="node-port", status="hostname", preserve_client_ip=False,
        proxy_protocol_support="v1 (annotation service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: \"*\")",
        health_cluster="traffic-port", health_local="health-check-node-port", spread="per-zone",
        description="equal share per zone, then per healthy instance in the zone (cross-zone load balancing off)",
        sources=_cite(f"{_CPA}: listeners proxy TCP to the NodePort; TCP health check on the first NodePort, HTTP "
                      "healthCheckNodePort/healthz for Local (:10256/healthz only in the Shared probe mode); "
                      "CrossZoneLoadBalancing Enabled: false; status hostname = the DNS name; proxy protocol '*'; "
                      "security group from loadBalancerSourceRanges", "FACTS.md §3b"),
        notes="TCP listeners proxy too: the pod never sees the client (the ELB's address under Local, "
              "a node's under Cluster)."),
    LoadBalancerProfile(
        "aws-elb-proxy-v1", "AWS Classic ELB, PROXY v1", "cloud-provider-aws with aws-load-balancer-proxy-protocol: \"*\"",
        "L4 proxy", delivers="node-port", status="hostname", preserve_client_ip=False, proxy_protocol=1,
        proxy_protocol_support="v1 (on)", health_cluster="traffic-port", health_local="health-check-node-port",
        spread="per-zone",
        description="equal share per zone, then per healthy instance in the zone (cross-zone load balancing off)",
        sources=_cite(f"{_CPA}: ServiceAnnotationLoadBalancerProxyProtocol ('*' enables it on every backend)"),
        notes="Only a backend that reads PROXY protocol v1 (and only from the ELB) learns the client."),
    LoadBalancerProfile(
        "aws-nlb-instance", "AWS NLB, instance targets", "cloud-provider-aws (type nlb) or the AWS Load Balancer "
        "Controller (nlb-target-type: instance)", "pass-through", delivers="node-port", status="hostname",
        preserve_client_ip=True, proxy_protocol_support="v2 (target group attribute proxy_protocol_v2.enabled)",
        health_cluster="traffic-port", health_local="health-check-node-port", spread="per-zone", fail_open=True,
        description="equal share per zone, then per healthy node in the zone (cross-zone load balancing off by default)",
        sources=_cite(f"{_CPA}: buildNLBHealthCheckConfiguration (TCP traffic-port; HTTP healthCheckNodePort for "
                      "Local)", f"{_CPA_LB}: load_balancing.cross_zone.enabled=false",
                      f"{_LBC}: preserve_client_ip defaults to true for instance targets", _NLB_XZ, _NLB_HC),
        notes="Client IP preservation is on for instance targets; pods that dial it can hit NAT-loopback timeouts."),
    LoadBalancerProfile(
        "aws-nlb-ip", "AWS NLB, IP targets", "AWS Load Balancer Controller (nlb-target-type: ip)", "source NAT",
        targets="pods", status="hostname", preserve_client_ip=False,
        proxy_protocol_support="v2 (annotation service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: \"*\")",
        health_cluster="pod", health_local="pod", spread="per-pod-per-zone", fail_open=True,
        description="equal share per zone, then per ready pod in the zone (cross-zone load balancing off by default)",
        sources=_cite(f"{_LBC}: preserve_client_ip defaults to false for IP targets; health check TCP traffic-port "
                      "(the pod's port)", _LBC_DOC, _NLB_XZ, _NLB_IP),
        notes="The source is the NLB's private address; externalTrafficPolicy does not matter (no kube-proxy)."),
    LoadBalancerProfile(
        "aws-nlb-ip-preserve", "AWS NLB, IP targets, client IP preserved", "AWS Load Balancer Controller "
        "(target group attribute preserve_client_ip.enabled=true)", "pass-through", targets="pods", status="hostname",
        preserve_client_ip=True, proxy_protocol_support="v2 (optional)", health_cluster="pod", health_local="pod",
        spread="per-pod-per-zone", fail_open=True,
        description="equal share per zone, then per ready pod in the zone (cross-zone load balancing off by default)",
        sources=_cite(f"{_LBC}: buildPreserveClientIPFlag reads preserve_client_ip.enabled", _NLB_IP),
        notes="The pod sees the client; a pod that dials it and is picked itself times out (NAT loopback)."),
    LoadBalancerProfile(
        "aws-nlb-ip-proxy-v2", "AWS NLB, IP targets, PROXY v2", "AWS Load Balancer Controller "
        "(aws-load-balancer-proxy-protocol: \"*\")", "source NAT", targets="pods", status="hostname",
        preserve_client_ip=False, proxy_protocol=2, proxy_protocol_support="v2 (on)", health_cluster="pod",
        health_local="pod", spread="per-pod-per-zone", fail_open=True,
        description="equal share per zone, then per ready pod in the zone (cross-zone load balancing off by default)",
        sources=_cite(_LBC_DOC, "FACTS.md §4 (PROXY protocol v2 or preserve_client_ip restores the client)")),
    LoadBalancerProfile(
        "aws-alb", "AWS ALB, instance targets", "AWS Load Balancer Controller (Ingress, target-type: instance)",
        "L7 proxy", delivers="node-port", status="elsewhere", preserve_client_ip=False,
        proxy_protocol_support="none", health_cluster="traffic-port", health_local="traffic-port", spread="per-node",
        fail_open=True, filters_source_ranges=False,
        description="equal share per healthy node (cross-zone load balancing always on)",
        sources=_cite("kubernetes-sigs/aws-load-balancer-controller docs/guide/ingress/annotations.md (target-type "
                      "instance by default; health check traffic-port; inbound-cidrs, not the Service's "
                      "loadBalancerSourceRanges)",
                      "docs.aws.amazon.com/elasticloadbalancing/latest/application/disable-cross-zone.html",
                      "docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html"),
        notes="X-Forwarded-For carries the client. Its address is on the Ingress, so kube-proxy never short-circuits it."),
    LoadBalancerProfile(
        "gcp-nlb", "GCP external passthrough NLB", "cloud-provider-gcp (target pool)", "pass-through",
        status="ip", preserve_client_ip=True, proxy_protocol_support="none", health_cluster="kube-proxy",
        health_local="health-check-node-port", spread="per-node", returns_via_lb=False,
        description="equal share per healthy node (5-tuple hash)",
        sources=_cite(f"{_GCE}: nodes health check HTTP :10256/healthz (lbNodesHealthCheckPort), Local services "
                      "HTTP healthCheckNodePort; status.loadBalancer.ingress[].ip; firewall from "
                      "loadBalancerSourceRanges",
                      "cloud.google.com/load-balancing/docs/network (direct server return)"),
        notes="Packets keep the load-balancer IP as destination, so kube-proxy's KUBE-FW chain applies too."),
    LoadBalancerProfile(
        "gke-neg-l7", "GKE container-native L7 (NEG)", "GKE Ingress or Gateway with network endpoint groups",
        "L7 proxy", targets="pods", status="elsewhere", preserve_client_ip=False, proxy_protocol_support="none",
        health_cluster="pod", health_local="pod", spread="per-pod", filters_source_ranges=False,
        description="equal share per ready pod",
        sources=_cite("cloud.google.com/kubernetes-engine/docs/concepts/container-native-load-balancing (Ingress, "
                      "Gateway, standalone NEGs)", "cloud.google.com/load-balancing/docs/https (X-Forwarded-For)"),
        notes="Google Front Ends proxy to pod IPs: the pod sees a proxy address; X-Forwarded-For carries the client."),
    LoadBalancerProfile(
        "azure-slb", "Azure Standard LB", "cloud-provider-azure", "pass-through", status="ip", preserve_client_ip=True,
        proxy_protocol_support="none", health_cluster="traffic-port", health_local="health-check-node-port",
        spread="per-node", returns_via_lb=False,
        description="equal share per healthy node (5-tuple hash)",
        sources=_cite(f"{_AZ}: EnableFloatingIP true (the frontend IP stays the destination); probe on the "
                      "NodePort unless clusterServiceLoadBalancerHealthProbeMode=shared (:10256/healthz); Local "
                      "probes healthCheckNodePort",
                      "kubernetes-sigs/cloud-provider-azure pkg/provider/loadbalancer/accesscontrol.go (NSG rules "
                      "from loadBalancerSourceRanges)"),
        notes="Floating IP (direct server return): the node receives the frontend IP as destination."),
    LoadBalancerProfile(
        "metallb-l2", "MetalLB, L2 mode", "MetalLB", "pass-through", status="ip", preserve_client_ip=True,
        proxy_protocol_support="none", health_cluster="serving-endpoint", health_local="serving-endpoint",
        spread="l2-leader",
        filters_source_ranges=False, returns_via_lb=False,
        description="everything to the one node elected to answer ARP for the address",
        sources=_cite(f"{_MLB}: the announcer is the candidate with the smallest sha256(node + '#' + ip); under Local "
                      "only nodes with a serving endpoint are candidates; with no serving endpoint at all nobody "
                      "announces (speaker/layer2_controller.go ShouldAnnounce, activeEndpointExists)"),
        notes="No health checks: eligibility follows endpoints (with none at all, the address goes unanswered). "
              "MetalLB does not filter source ranges; kube-proxy does."),
    LoadBalancerProfile(
        "metallb-bgp", "MetalLB, BGP mode", "MetalLB", "pass-through", status="ip", preserve_client_ip=True,
        proxy_protocol_support="none", health_cluster="serving-endpoint", health_local="serving-endpoint",
        spread="bgp", filters_source_ranges=False, returns_via_lb=False,
        description="equal share per announcing node (the routers' ECMP)",
        sources=_cite(f"{_MLB}: every node announces under Cluster (when any endpoint serves), only nodes with a "
                      "local ready endpoint under Local")),
    LoadBalancerProfile(
        "cloud-provider-kind", "cloud-provider-kind (Envoy)", "cloud-provider-kind", "L4 proxy", delivers="node-port",
        status="ip", ip_mode="Proxy", preserve_client_ip=False, proxy_protocol_support="none",
        health_cluster="kube-proxy", health_local="health-check-node-port", spread="per-node",
        description="a random healthy node per connection",
        sources=_cite(f"{_KIND}: Envoy tcp_proxy to every node's NodePort (lb_policy RANDOM), HTTP /healthz on 10256 "
                      "or the healthCheckNodePort, source_prefix_ranges from loadBalancerSourceRanges, status ip "
                      "with ipMode Proxy")),
]

#: The catalogue of real load balancers, by key (see the module docs).
LB_PROFILES: dict[str, LoadBalancerProfile] = {p.key: p for p in _PROFILES}

#: Every load balancer a ``lb=`` argument accepts: the abstract models, then the catalogue.
LOAD_BALANCERS: tuple[str, ...] = (*LB_MODELS, *LB_PROFILES)


def get_load_balancer(spec: str | LoadBalancer | LoadBalancerProfile) -> LoadBalancer | LoadBalancerProfile:
    """A load balancer from a model name, a catalogue key, or as given.

    >>> get_load_balancer("weighted")
    LoadBalancer('weighted')
    """
    if isinstance(spec, (LoadBalancer, LoadBalancerProfile)):
        return spec
    if isinstance(spec, str) and spec in LB_PROFILES:
        return LB_PROFILES[spec]
    if isinstance(spec, str) and spec in LB_MODELS:
        return LoadBalancer(spec)
    raise NotFound("load balancer", spec, list(LOAD_BALANCERS))


def resolve(spec: str | LoadBalancer | LoadBalancerProfile, svc: Service) -> LoadBalancerProfile:
    """The profile that acts for ``svc``: for an abstract model, the Service's ``ipMode`` decides.

    An abstract model in front of a Service whose status says ``ipMode: Proxy`` proxies every
    connection to a NodePort, as such a load balancer does (KEP-1860).
    """
    lb = get_load_balancer(spec)
    p = lb.profile if isinstance(lb, LoadBalancer) else lb
    if p.abstract and p.targets == "nodes" and svc.load_balancer_ip_mode == "Proxy":
        p = dataclasses.replace(p, kind="L4 proxy", delivers="node-port", ip_mode="Proxy", preserve_client_ip=False)
    return p


# --------------------------------------------------------------------------- health checks
@dataclass(frozen=True, slots=True)
class Probe:
    """What the load balancer's health check finds on one node (or pod)."""

    target: str
    protocol: str
    port: int | None
    path: str
    healthy: bool
    answer: str

    def summary(self) -> str:
        where = f":{self.port}{self.path}" if self.port is not None else ""
        return f"{self.protocol} {self.target}{where} -> {self.answer}"

    __str__ = summary


def probe(cluster: Cluster, service: ServiceRef, node: str | Node, lb: Any = "health-checked", *,
          dataplane: Any = "iptables") -> Probe:
    """What ``lb``'s health check finds on ``node`` for ``service``.

    ``kube-proxy`` is kube-proxy's own ``:10256/healthz`` (fails only when kube-proxy is unhealthy
    or the node is down or being deleted); ``health-check-node-port`` is the Service's
    ``healthCheckNodePort`` (200 only with a ready local endpoint, ``pkg/proxy/healthcheck``);
    ``traffic-port`` is a TCP connection to the NodePort itself, which succeeds when kube-proxy on
    that node would forward it (so under Local only with a local endpoint, under Cluster with any
    endpoint); ``serving-endpoint`` is MetalLB's rule (a node with a serving endpoint, or any node
    under Cluster); ``none`` means every node that is up.

    >>> from k8slearn import examples
    >>> print(probe(examples.empty_node(), "web", "node-c"))
    HTTP node-c:32000/healthz -> 503
    """
    svc = cluster.service(service)
    n = cluster.node(node)
    p = resolve(lb, svc)
    target = p.health_target(svc)
    if target == "health-check-node-port" and svc.health_check_node_port is None:
        target = "kube-proxy"  # Local on a NodePort service: there is no healthCheckNodePort to probe
    if target == "kube-proxy":
        if not n.ready:
            return Probe(n.name, "HTTP", KUBE_PROXY_HEALTHZ_PORT, "/healthz", False, "no answer (node down)")
        return Probe(n.name, "HTTP", KUBE_PROXY_HEALTHZ_PORT, "/healthz", True, "200")
    if target == "health-check-node-port":
        hc = health_check(cluster, svc, n)
        answer = "no answer (node down)" if hc.status is None else str(hc.status)
        return Probe(n.name, "HTTP", hc.port, hc.path, hc.healthy, answer)
    if target == "traffic-port":
        if not n.ready:
            return Probe(n.name, "TCP", svc.node_port, "", False, "no answer (node down)")
        d = decide(cluster, svc, node=n.name, source=Source("external", LB_ADDRESS), destination="nodePort",
                   dataplane=dataplane)
        answer = {"DNAT": "connected", "DROP": "timed out", "REJECT": "refused"}.get(d.verdict, "refused")
        return Probe(n.name, "TCP", svc.node_port, "", d.verdict == "DNAT", answer)
    if target == "serving-endpoint":
        eps = cluster.endpoints_by_node(svc)[n.name]
        if svc.external_traffic_policy == "Local":
            ok = n.ready and any(e.serving for e in eps)
        else:
            ok = n.ready and any(e.serving for e in cluster.endpoints(svc))
        return Probe(n.name, "announce", None, "", ok, "eligible" if ok else "not eligible")
    return Probe(n.name, "none", None, "", n.ready, "up" if n.ready else "down")


# --------------------------------------------------------------------------- spreading
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


def _by_zone(zone_of: dict[str, str], names: list[str]) -> dict[str, float]:
    """Equal per zone (with at least one target), then equal per target in the zone."""
    zones: dict[str, list[str]] = {}
    for name in names:
        zones.setdefault(zone_of[name], []).append(name)
    return {name: 1 / len(zones) / len(members) for members in zones.values() for name in members}


def _l2_leader(names: list[str], ip: IPv4Address | None) -> str:
    """MetalLB's layer-2 election: the candidate whose sha256(node + "#" + ip) sorts first.

    ``speaker/layer2_controller.go`` ``sortL2Candidates`` (metallb/metallb), without node preferences.
    """
    return min(names, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())


def spread(cluster: Cluster, service: ServiceRef, lb: Any = "health-checked", *,
           dataplane: Any = "iptables") -> Spread:
    """How ``lb`` spreads external connections for ``service``.

    >>> from k8slearn import examples
    >>> spread(examples.empty_node(), "web", "health-checked").weights
    {'node-a': 0.5, 'node-b': 0.5}
    >>> spread(examples.empty_node(), "web", "equal").weights
    {'node-a': 0.3333333333333333, 'node-b': 0.3333333333333333, 'node-c': 0.3333333333333333}
    """
    svc = cluster.service(service)
    p = resolve(lb, svc)
    if svc.type != "LoadBalancer" and p.key != "equal":
        raise InvalidChange(
            f"{svc.name} is a {svc.type} service, so no cloud load balancer is in front of it",
            hint='use lb="equal" for clients that spread over node IPs themselves (DNS round robin), '
            'or patch_service(..., type="LoadBalancer").',
        )
    if p.targets == "pods":
        ready = [e for e in cluster.endpoints(svc) if e.ready]
        if not ready:
            return Spread("pods", {}, 1.0, f"{svc.name} has no ready pods")
        if p.spread == "per-pod-per-zone":
            return Spread("pods", _by_zone({e.pod: e.zone for e in ready}, [e.pod for e in ready]))
        return Spread("pods", {e.pod: 1 / len(ready) for e in ready})
    nodes = [n.name for n in cluster.nodes]
    if p.spread == "all-nodes":
        return Spread("nodes", {n: 1 / len(nodes) for n in nodes})
    checks = {n: probe(cluster, svc, n, p, dataplane=dataplane) for n in nodes}
    healthy = [n for n in nodes if checks[n].healthy]
    if p.spread == "first-healthy":
        if p.announcing_node is not None:
            node = cluster.node(p.announcing_node).name
        elif not healthy:
            return Spread("nodes", {}, 1.0, "no node is eligible to announce the address")
        else:
            node = healthy[0]  # MetalLB picks one eligible node; the abstract model takes the first
        return Spread("nodes", {node: 1.0})
    if p.spread == "l2-leader":
        if not healthy:
            why = ("no speaker on a node with a serving endpoint" if svc.external_traffic_policy == "Local"
                   else "no serving endpoint anywhere, so no speaker announces")
            return Spread("nodes", {}, 1.0, f"no node is eligible to announce the address (MetalLB: {why}; "
                          "nothing answers ARP for it)")
        return Spread("nodes", {_l2_leader(healthy, svc.load_balancer_ip): 1.0})
    if not healthy:
        if p.fail_open:
            zone_of = {n.name: n.zone for n in cluster.nodes}
            weights = _by_zone(zone_of, nodes) if p.spread == "per-zone" else {n: 1 / len(nodes) for n in nodes}
            return Spread("nodes", weights, 0.0, "no target passes the health check, so the load balancer fails "
                          "open and sends to all of them")
        if p.spread == "bgp":
            return Spread("nodes", {}, 1.0, "no node announces the address, so the routers have no route to it")
        return Spread("nodes", {}, 1.0, "no node passes the health check, so the load balancer has no backend")
    if p.spread == "weighted":
        local = {n: health_check(cluster, svc, n).local_endpoints for n in healthy}
        weight = {n: 1 if local[n] is None else local[n] for n in healthy}  # Cluster sends no weight
        total = sum(weight.values())
        return Spread("nodes", {n: weight[n] / total for n in healthy})
    if p.spread == "per-zone":
        return Spread("nodes", _by_zone({n.name: n.zone for n in cluster.nodes}, healthy))
    return Spread("nodes", {n: 1 / len(healthy) for n in healthy})
