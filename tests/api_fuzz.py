"""Random operations on k8slearn's public API, with arbitrary Python values (shared, not a test file).

Used by tests/test_fuzz_api.py (hypothesis chooses, a short run) and benchmarks/fuzz_api.py (a seeded
``random.Random`` chooses, >= 50,000 operations). Both drive the same table of operations, :data:`OPS`:
Cluster methods, ``send``/``traffic``/``metrics``/``sample``/``by_node``/``decide``, manifests (YAML in
and out), ``proxies`` and ``proxychain``. Each operation draws its arguments from a mix of valid
values (names that exist, the API's strings, usable ports and addresses), near misses (typos, 0,
65536, "bogus", "false") and arbitrary Python values (NaN, bytes, nested lists, NumPy scalars and
arrays, objects whose ``repr`` fails).

:func:`step` runs one operation and classifies what happened:

* ``ok``        - it returned (a change to the cluster must leave it consistent: :func:`invariants`);
* ``rejected``  - a :class:`~k8slearn.errors.K8sLearnError` (the cluster must be exactly as before, and
                  the message must be bounded, carry a hint, and name something the operation takes);
* ``foreign``   - any other exception: a bug.

A violation of the rules for ``ok`` or ``rejected`` raises :class:`Broken` with the details.
"""

from __future__ import annotations

import math
import random
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import numpy as np

import k8slearn as k8s
from k8slearn import manifests, proxies, proxychain
from k8slearn.dataplane import Source, decide, health_check
from k8slearn.errors import K8sLearnError, K8sLearnWarning
from k8slearn.loadbalancer import LoadBalancer
from k8slearn.model import Cluster
from k8slearn.validation import NODE_PORT_RANGE, validate_service_spec

#: The longest message a rejection may carry (a bad value is quoted short; lists of names are capped).
MAX_MESSAGE = 4000


class Broken(AssertionError):
    """A rule was broken: a half-applied change, an unbounded or hint-less message, a bad state."""


# ------------------------------------------------------------------------------ choosing
class Draw:
    """What an operation needs from a source of choices: pick one, or a whole number in a range."""

    def choice(self, options: Sequence[Any]) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def integer(self, lo: int, hi: int) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def chance(self, p: float) -> bool:
        return self.integer(0, 999) < p * 1000


class RandomDraw(Draw):
    """Choices from a seeded ``random.Random`` (the benchmark)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class _BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr fails on purpose")

    __str__ = __repr__


class _Named:
    """An object with a ``name`` attribute that is not a model object."""

    name = "node-a"


def _nested(depth: int) -> Any:
    value: Any = ["x"]
    for _ in range(depth):
        value = [value, value]
    return value


#: Arbitrary Python values: the kinds of thing a careless caller passes.
NASTY: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**64, -(2**63), 0.0, -0.0, 1.5, 80.0, 30123.0, math.nan, math.inf, -math.inf,
    complex(1, 2), Fraction(1, 3), "", " ", "\n", "\x00", "é", "\udcff", "a" * 300, "A" * 70, "-a-", "a.b",
    "node-a ", "Web_Service!", "None", "null", "false", "true", "0", "80", "8080", "30080", "-5", "1e3",
    b"", b"web", b"1.2.3.4", bytearray(b"x"), [], [1], ["a"], [None], (), ("a",), ("a", "b"), {}, {"a": 1},
    {1: 2}, {"app": 1}, {"app": None}, {"": ""}, {"app": "web"}, {"app": ["web"]}, set(), {1, 2}, frozenset(),
    range(3), iter([1, 2]), object(), _BadRepr(), _Named(), print, lambda: None, Ellipsis, NotImplemented, type,
    np.int64(80), np.int32(-1), np.float64(80.0), np.bool_(True), np.bool_(False), np.str_("web"),
    np.array([1, 2]), np.array([]), np.array(["web"]), _nested(30),
    IPv4Address("203.0.113.7"), IPv4Address("0.0.0.0"), IPv4Address("127.0.0.1"), IPv6Address("2001:db8::1"),
)

# Each kind of argument: (good values, near misses). pick() takes a good one most of the time, a near
# miss sometimes, and an arbitrary value from NASTY now and then.
SERVICE_TYPES = (("ClusterIP", "NodePort", "LoadBalancer"), ("ExternalName", "Loadbalancer", "nodeport"))
POLICIES = (("Cluster", "Local"), ("Locale", "cluster", ""))
DISTRIBUTIONS = (("PreferClose", "PreferSameZone", "PreferSameNode"), ("Close", ""))
IP_MODES = (("VIP", "Proxy"), ("Direct", "vip"))
ADDRESSES = (("clusterIP", "nodePort", "loadBalancerIP", "externalIP"), ("ClusterIP", "lb"))
DATAPLANES = (("iptables", "nftables", "ipvs", "cilium-snat", "cilium-dsr", "no-snat"), ("ebpf", "IPVS"))
LB_MODELS = (("equal", "health-checked", "weighted", "single-node", "pod-targeting", "aws-elb", "aws-nlb-instance",
              "aws-nlb-ip", "gcp-nlb", "metallb-l2", "cloud-provider-kind"), ("round-robin", "Equal", "aws"))
SOURCE_RANGES = ((["198.51.100.0/24"], ["203.0.113.0/25", " 10.1.2.3/8"], []),
                 (["198.51.100.7"], "198.51.100.0/24", ["10.0.0.0/33"], [None]))
IPS = (("203.0.113.200", "203.0.113.7", "198.51.100.9", "10.244.1.5", "10.0.0.2", "192.168.0.11", "10.96.0.10"),
       ("bogus", "0.0.0.0", "127.0.0.1", "169.254.1.1", "224.0.0.5", "2001:db8::1", "1.2.3", "256.1.1.1",
        " 203.0.113.9", "203.0.113.9/32"))
CIDRS = (("10.0.0.0/8", "10.0.0.1/8", "203.0.113.0/24", "192.0.2.7", "2001:db8::/32"), ("bogus", "10.0.0.0/33"))
ZONES = (("zone-a", "zone-b", "eu-west-1a"), ("", "Zone A", "z" * 64))
NAMES = ("web", "db", "api", "svc-2", "client", "node-a", "node-z", "web-1", "web-99", "a", "x1", "Web",
         "web_1", "1web", "web.", "-web", "we b", "a" * 64, "a" * 254, "pod-10.0.0.1")


def arbitrary(d: Draw) -> Any:
    return d.choice(NASTY)


def pick(d: Draw, good: Sequence[Any], near: Sequence[Any] = (), *, p_good: float = 0.8) -> Any:
    """A good value most of the time, a near miss sometimes, an arbitrary value now and then.

    ``good`` may also be a (good, near) pair, as the tables above are.
    """
    if len(good) == 2 and isinstance(good[0], tuple) and isinstance(good[1], tuple) and not near:
        good, near = good
    r = d.integer(0, 99)
    if good and r < p_good * 100:
        return d.choice(list(good))
    if near and r < 92:
        return d.choice(list(near))
    return arbitrary(d)


def name_of(d: Draw, existing: Sequence[str]) -> Any:
    return pick(d, list(existing), NAMES)


#: Text that is wrong but still text (for the arguments trace.py and traffic.py check themselves).
NASTY_TEXT = tuple(v for v in NASTY if isinstance(v, str))


def text_of(d: Draw, options: Sequence[str]) -> str:
    """One of ``options``, or a wrong value of any type (a wrong string, a number, a nested list ...).

    ``send``'s ``client``, ``via``, ``address``, ``endpoint``, ``seed`` and ``client_port``, and
    ``traffic``'s ``clients`` and ``address``, and ``sample``'s ``n`` and ``seed`` take anything: a
    wrong value gets a short package error, never a foreign exception or a huge message.
    """
    return d.choice(list(options)) if options and d.chance(0.8) else d.choice(NASTY + tuple(NAMES))


def port(d: Draw) -> Any:
    return pick(d, (80, 443, 8080, 1, 65535, d.integer(1, 65535)), (0, 65536, -1, 99999, 80.0, True, "80"))


def node_port(d: Draw) -> Any:
    return pick(d, (None, 0, 30080, 31000, 32000, 32767, 30000, d.integer(30000, 32767)),
                (80, 29999, 32768, 99999, -5, 30123.0, True, "30080"))


def labels(d: Draw) -> Any:
    return pick(d, ({"app": "web"}, {"app": "db"}, {"app": "none"}, {"tier": "x", "app": "web"}, {"example.com/app": "web"},
                    {"app": ""}), ({"a/b/c": "x"}, {"app": "a" * 64}, {"app": "web-"}, {"Bad Key": "x"},
                                   {f"k{i}": 1 for i in range(40)}, {"app": True}))


def ips(d: Draw) -> Any:
    if d.chance(0.9):
        return [pick(d, IPS) for _ in range(d.integer(0, 2))]
    return pick(d, ("203.0.113.200",), IPS[0])


def boolean(d: Draw) -> Any:
    return pick(d, (True, False, None, np.bool_(True)), ("false", "True", 1, 0))


def optional(d: Draw, value: Callable[[], Any], p: float = 0.5) -> dict[str, Any]:
    """``{}`` or ``{"x": value()}``-style: whether to pass an argument at all."""
    return value() if d.chance(p) else None


def kwargs(d: Draw, spec: dict[str, Callable[[], Any]], p: float = 0.4) -> dict[str, Any]:
    """A random subset of keyword arguments, each drawn with its own generator."""
    return {k: gen() for k, gen in spec.items() if d.chance(p)}


# ------------------------------------------------------------------------------ the cluster
def fresh(d: Draw) -> Cluster:
    return d.choice((k8s.examples.uneven, k8s.examples.one_two, k8s.examples.empty_node, k8s.examples.zones,
                     k8s.examples.in_cluster))()


def snapshot(c: Cluster) -> tuple:
    return (c.name, c.cluster_cidr, c._state, c.version)


def invariants(c: Cluster) -> None:
    """What must hold after any accepted change: unique names and addresses, services the API accepts."""
    node_names = [n.name for n in c.nodes]
    if len(set(node_names)) != len(node_names):
        raise Broken(f"duplicate node names: {node_names}")
    if len({n.ip for n in c.nodes}) != len(c.nodes) or len({n.pod_cidr for n in c.nodes}) != len(c.nodes):
        raise Broken("two nodes share an address or a pod CIDR")
    pod_names = [p.name for p in c.pods]
    if len(set(pod_names)) != len(pod_names):
        raise Broken(f"duplicate pod names: {pod_names}")
    if len({p.ip for p in c.pods}) != len(c.pods):
        raise Broken("two pods share an IP")
    for p in c.pods:
        if p.node not in node_names or p.ip not in c.node(p.node).pod_cidr:
            raise Broken(f"pod {p.name} is on a node that does not hold it")
        if not (isinstance(p.ready, bool) and isinstance(p.terminating, bool)):
            raise Broken(f"pod {p.name} has non-boolean conditions")
    for n in c.nodes:
        if not (isinstance(n.name, str) and isinstance(n.zone, str) and isinstance(n.ready, bool)):
            raise Broken(f"node {n!r} has a field of the wrong type")
    ports: list[int] = []
    addresses: list[IPv4Address] = []
    for s in c.services:
        errors = validate_service_spec(
            name=s.name, type=s.type, external_ips=s.external_ips, external_traffic_policy=s.external_traffic_policy,
            internal_traffic_policy=s.internal_traffic_policy, traffic_distribution=s.traffic_distribution,
            node_port=s.node_port, health_check_node_port=s.health_check_node_port, port=s.port,
            target_port=s.target_port, selector=s.selector)
        if errors:
            raise Broken(f"an accepted service is invalid: {s!r}: {errors}")
        for p in (s.node_port, s.health_check_node_port):
            if p is not None:
                if type(p) is not int or p not in NODE_PORT_RANGE:
                    raise Broken(f"service {s.name} holds port {p!r}")
                ports.append(p)
        addresses += [a for a in (s.cluster_ip, s.load_balancer_ip) if a is not None]
        if s.type == "LoadBalancer" and s.load_balancer_ip not in k8s.model.IPv4Network("203.0.113.0/24"):
            raise Broken(f"load-balancer address {s.load_balancer_ip} is outside 203.0.113.0/24")
    if len(set(ports)) != len(ports):
        raise Broken(f"two services share a node port: {sorted(ports)}")
    if len(set(addresses)) != len(addresses):
        raise Broken("two services share an address")


# ------------------------------------------------------------------------------ operations
@dataclass(frozen=True)
class Op:
    """One kind of call. ``words``: a rejection's message must contain one of them (what it is about)."""

    name: str
    run: Callable[[Cluster, Draw], Any]
    words: tuple[str, ...]
    changes: bool = False  # may change the cluster when it succeeds


def _nodes(c: Cluster) -> list[str]:
    return [n.name for n in c.nodes]


def _pods(c: Cluster) -> list[str]:
    return [p.name for p in c.pods]


def _services(c: Cluster) -> list[str]:
    return [s.name for s in c.services]


def _service_kwargs(d: Draw, c: Cluster) -> dict[str, Any]:
    return kwargs(d, {
        "type": lambda: pick(d, SERVICE_TYPES), "selector": lambda: labels(d), "port": lambda: port(d),
        "target_port": lambda: port(d), "node_port": lambda: node_port(d), "external_ips": lambda: ips(d),
        "external_traffic_policy": lambda: pick(d, POLICIES), "internal_traffic_policy": lambda: pick(d, POLICIES),
        "health_check_node_port": lambda: node_port(d), "traffic_distribution": lambda: pick(d, DISTRIBUTIONS),
        "load_balancer_source_ranges": lambda: pick(d, SOURCE_RANGES),
        "session_affinity": lambda: pick(d, ("None", "ClientIP"), ("clientip", "")),
        "session_affinity_timeout": lambda: pick(d, (None, 60, 10800, 86400), (0, 86401, -1, 1.5, "60")),
    }, p=0.3)


def _patch_kwargs(d: Draw, c: Cluster) -> dict[str, Any]:
    out = _service_kwargs(d, c)
    out.pop("port", None)
    out.pop("target_port", None)
    if d.chance(0.2):
        out["load_balancer_ip_mode"] = pick(d, IP_MODES)
    return out


def _sim_kwargs(d: Draw, c: Cluster) -> dict[str, Any]:
    return kwargs(d, {"lb": lambda: pick(d, LB_MODELS[0] + (LoadBalancer("equal"),), LB_MODELS[1]),
                      "address": lambda: text_of(d, ADDRESSES[0] + ADDRESSES[1]),
                      "dataplane": lambda: pick(d, DATAPLANES[0] + (k8s.KubeProxy(masquerade_all=True),), DATAPLANES[1])})


def _seed(d: Draw) -> Any:
    return d.choice((0, 1, 7, 2**32, None))


def _source(d: Draw, c: Cluster) -> Any:
    if d.chance(0.9):
        kind = pick(d, ("external", "pod", "node", "localhost"), ("Pod",))
        ip = pick(d, IPS[0] + tuple(str(p.ip) for p in c.pods), IPS[1])
        try:
            return Source(kind, ip, node=pick(d, _nodes(c) + [None]), pod=pick(d, _pods(c) + [None]))
        except K8sLearnError:
            return Source("external", "198.51.100.7")  # the Source op checks the constructor itself
    return arbitrary(d)


def _manifest_doc(d: Draw, c: Cluster) -> Any:
    if d.chance(0.1):
        return arbitrary(d)
    spec: dict[str, Any] = {}
    for key, gen in (("type", lambda: pick(d, SERVICE_TYPES)), ("selector", lambda: labels(d)),
                     ("externalIPs", lambda: ips(d)), ("externalTrafficPolicy", lambda: pick(d, POLICIES)),
                     ("internalTrafficPolicy", lambda: pick(d, POLICIES)),
                     ("healthCheckNodePort", lambda: node_port(d)), ("trafficDistribution", lambda: pick(d, DISTRIBUTIONS)),
                     ("clusterIP", lambda: pick(d, ("10.96.0.50", "", None), ("None", "bogus", "1.2.3.4"))),
                     ("clusterIPs", lambda: pick(d, (["10.96.0.50"],), (["10.96.0.50", "fd00::1"], "10.96.0.50"))),
                     ("sessionAffinity", lambda: pick(d, ("None", "ClientIP"), ("clientIP",))),
                     ("sessionAffinityConfig", lambda: pick(d, ({"clientIP": {"timeoutSeconds": 60}},),
                                                            ({"clientIP": 5}, {"clientIP": {"timeoutSeconds": 0}}))),
                     ("loadBalancerSourceRanges", lambda: pick(d, SOURCE_RANGES))):
        if d.chance(0.15):
            spec[key] = gen()
    port_entry: Any = {k: gen() for k, gen, p in (("port", lambda: port(d), 0.95),
                                                  ("targetPort", lambda: pick(d, (8080, 80), ("http", 0)), 0.5),
                                                  ("nodePort", lambda: node_port(d), 0.3),
                                                  ("protocol", lambda: pick(d, ("TCP",), ("UDP",)), 0.3))
                       if d.chance(p)}
    spec["ports"] = pick(d, ([port_entry],), ([port_entry, port_entry], [], port_entry, [port_entry.get("port")]), p_good=0.9)
    meta: Any = {"name": name_of(d, ("db", "api", "np", "lb3", "x1"))}
    if d.chance(0.2):
        meta["namespace"] = pick(d, ("default", "k8slearn"), ("Bad_NS",))
    doc: dict[str, Any] = {"apiVersion": pick(d, ("v1",), ("apps/v1",), p_good=0.9),
                           "kind": pick(d, ("Service",), ("Deployment",), p_good=0.9),
                           "metadata": pick(d, (meta,), p_good=0.95), "spec": pick(d, (spec,), p_good=0.95)}
    return doc


_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 8))


def _yaml_text(d: Draw, c: Cluster) -> Any:
    import yaml

    kind = d.integer(0, 9)
    if kind == 0:
        return arbitrary(d)
    if kind == 1:
        return _BOMB + "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: *a7, ports: [{port: 80}]}\n"
    if kind == 2:
        return "[" * d.integer(50, 3000) + "]" * d.integer(0, 3000)
    docs = [_manifest_doc(d, c) for _ in range(d.integer(1, 3))]
    try:
        text = yaml.safe_dump_all(docs, sort_keys=False)
    except yaml.YAMLError:
        text = "apiVersion: v1\nkind: Service\n"
    if kind >= 7 and text:  # a few typos: the kind of mistake a hand-written file has
        chars = list(text)
        for _ in range(d.integer(1, 4)):
            i = d.integer(0, len(chars) - 1)
            chars[i] = d.choice(("", ":", "[", "{", "-", "&a", "*a", "'", '"', "\t", " ", "\n", "#", "!!binary "))
        text = "".join(chars)
    return text


def _proxy(d: Draw) -> Any:
    if d.chance(0.85):
        return proxychain.Proxy(pick(d, ("CDN", "lb", "ingress")), pick(d, ("203.0.113.50", "10.244.2.9", "192.168.255.10")),
                                pick(d, ("L7", "L4", "passthrough")), pick(d, ("append", "replace", "keep")),
                                send_proxy_protocol=d.chance(0.2), expect_proxy_protocol=d.chance(0.2) and False,
                                load_balancer=d.chance(0.3))
    return arbitrary(d)


def _header(d: Draw) -> Any:
    return pick(d, ("203.0.113.7, 10.0.0.4", "1.2.3.4", "unknown, _hidden", "", "  ,  ", "[2001:db8::1]:443",
                    b"198.51.100.1", ["1.2.3.4", "10.0.0.5"], 'for="[2001:db8::7]:4711", for=10.0.0.4',
                    "for=192.0.2.43:47011", "for=192.0.2.60;proto=http;by=203.0.113.43", "for=1;for=2"))


OPS: tuple[Op, ...] = (
    # -------- reading the cluster
    Op("lookup", lambda c, d: getattr(c, d.choice(("node", "pod", "service", "pods_on", "selected_pods", "endpoints",
                                                   "endpoints_by_node")))(name_of(d, _nodes(c) + _pods(c) + _services(c))),
       ("node", "pod", "service")),
    Op("owner_of", lambda c, d: c.owner_of(pick(d, IPS)), ("address",)),
    Op("views", lambda c, d: (repr(c), str(c), c._repr_html_(), [x._repr_html_() for x in (*c.nodes, *c.pods, *c.services)]),
       ("",)),
    Op("cached", lambda c, d: c.cached(pick(d, ("key", ("a", 1))), lambda: 1), ("key",)),
    # -------- changing it
    Op("move_pod", lambda c, d: c.move_pod(name_of(d, _pods(c)), name_of(d, _nodes(c))), ("pod", "node"), True),
    Op("set_pod", lambda c, d: c.set_pod(name_of(d, _pods(c)), ready=boolean(d), terminating=boolean(d)),
       ("pod", "ready", "terminating"), True),
    Op("set_node", lambda c, d: c.set_node(name_of(d, _nodes(c)), ready=boolean(d), zone=pick(d, ZONES[0] + (None,), ZONES[1])),
       ("node", "ready", "zone"), True),
    Op("add_node", lambda c, d: c.add_node(pick(d, (None, "node-x", "edge", "node-a")), zone=pick(d, ZONES)),
       ("node", "metadata", "zone"), True),
    Op("remove_node", lambda c, d: c.remove_node(name_of(d, _nodes(c))), ("node",), True),
    Op("scale", lambda c, d: c.scale(name_of(d, _services(c)), pick(d, (0, 1, 2, 3, 5, -1, 300, 10**9)),
                                     **({"node": name_of(d, _nodes(c))} if d.chance(0.3) else {})),
       ("service", "replicas", "node", "selector"), True),
    Op("add_pod", lambda c, d: c.add_pod(name_of(d, ("client", "extra", "pod-1")), name_of(d, _nodes(c)),
                                         **kwargs(d, {"labels": lambda: labels(d), "ready": lambda: boolean(d),
                                                      "terminating": lambda: boolean(d)})),
       ("pod", "node", "metadata", "ready", "terminating"), True),
    Op("delete_pod", lambda c, d: c.delete_pod(name_of(d, _pods(c))), ("pod",), True),
    Op("add_service", lambda c, d: c.add_service(name_of(d, ("db", "api", "np", "lb2")), **_service_kwargs(d, c)),
       ("service", "spec.", "metadata.", "range", "address", "pool"), True),
    Op("patch_service", lambda c, d: c.patch_service(name_of(d, _services(c)), **_patch_kwargs(d, c)),
       ("service", "spec.", "status.", "range", "address", "pool"), True),
    Op("delete_service", lambda c, d: c.delete_service(name_of(d, _services(c))), ("service",), True),
    Op("add_network_policy", lambda c, d: c.add_network_policy(
        name_of(d, ("office-only", "deny-all", "np1")), **kwargs(d, {
            "pod_selector": lambda: labels(d),
            "ingress": lambda: pick(d, ([], [{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}],
                                        [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                                                   {"podSelector": {"matchLabels": {"app": "web"}}}]}], [{}]),
                                    ([{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}], [{"from": "x"}], [5],
                                     [{"from": [{"namespaceSelector": {}}]}], [{"from": [{}]}],
                                     [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}],
                                     {"from": []}, [{"from": [{"podSelector": {"matchLabels": {"app": 1}}}]}]))},
            p=0.6)),
       ("NetworkPolic", "networkpolic", "spec.", "metadata", "namespaceSelector"), True),
    Op("network_policy", lambda c, d: (c.delete_network_policy if d.chance(0.5) else c.network_policy)(
        name_of(d, [n.name for n in c.network_policies])), ("networkpolic",), True),
    Op("external_ip_for", lambda c, d: c.external_ip_for(name_of(d, _services(c))), ("externalIP",)),
    Op("atomic", lambda c, d: _atomic(c, d), ("pod", "node", "replicas", "service"), True),
    Op("from_layout", lambda c, d: Cluster.from_layout(
        pick(d, ([2, 1, 0], [0], {"node-a": 1}, {"Node A": 1}, [251], [-1], [1.0], "21", [], {}, [True])),
        **kwargs(d, {"service": lambda: name_of(d, ("web", "db")), "type": lambda: pick(d, SERVICE_TYPES),
                     "external_traffic_policy": lambda: pick(d, POLICIES),
                     "zones": lambda: pick(d, (["zone-a", "zone-b"], [], {"node-a": "zone-b"}, "zone-a", [None])),
                     "port": lambda: port(d), "target_port": lambda: port(d), "name": lambda: pick(d, ("demo",))})),
       ("layout", "zones", "service", "spec.", "metadata", "node", "name")),
    Op("examples", lambda c, d: d.choice((
        lambda: k8s.examples.balanced(pick(d, (1, 3, 12), (0, -1, 5001))),
        lambda: k8s.examples.large(pick(d, (3, 10), (0,)), pick(d, (5, 30), (-1, 10**6))),
        lambda: k8s.examples.uneven(external_traffic_policy=pick(d, POLICIES)),
        lambda: k8s.examples.one_two(external_traffic_policy=pick(d, POLICIES))))(),
       ("nodes", "pods", "spec.")),
    Op("Cluster", lambda c, d: Cluster(**kwargs(d, {"name": lambda: pick(d, ("demo",)),
                                                    "cluster_cidr": lambda: pick(d, CIDRS)})),
       ("name", "cluster_cidr")),
    # -------- simulating traffic
    Op("send", lambda c, d: k8s.send(c, name_of(d, _services(c)), seed=_seed(d), **_sim_kwargs(d, c), **kwargs(d, {
        "client": lambda: text_of(d, IPS[0] + IPS[1] + tuple(_pods(c)) + tuple(_nodes(c))), "via": lambda: text_of(d, _nodes(c)),
        "endpoint": lambda: text_of(d, _pods(c)),
        "proxies": lambda: pick(d, ([_proxy(d) for _ in range(d.integer(0, 2))], proxychain.cdn_chain())),
        "app": lambda: pick(d, (proxychain.App(trusted=["10.0.0.0/8"]), proxychain.App(expect_proxy_protocol=True))),
        "x_forwarded_for": lambda: pick(d, ("1.2.3.4", "", "1.2.3.4, 10.0.0.1")),
        "affinity": lambda: pick(d, ({},)), "at": lambda: d.choice((0, 1.5, 10800, -1, math.inf, math.nan, "5", None))},
        p=0.3)),
       ("service", "client", "address", "dataplane", "load-balancer", "node", "endpoint", "kube-proxy", "reach",
        "NodePort", "ClusterIP", "externalIP", "modelled", "load balancer", "proxies", "proxy", "app",
        "x_forwarded_for", "PROXY", "affinity", "at=")),
    Op("sessions", lambda c, d: k8s.sessions(c, name_of(d, _services(c)), seed=_seed(d), **kwargs(d, {
        "lb": lambda: pick(d, LB_MODELS[0], LB_MODELS[1]), "dataplane": lambda: pick(d, DATAPLANES[0], DATAPLANES[1]),
        "proxies": lambda: pick(d, ([_proxy(d)], proxychain.cdn_chain())),
        "clients": lambda: d.choice((1, 3, 0, -1, "3", None, 2.5)),
        "connections": lambda: d.choice((1, 2, 0, -1, "2", None))}, p=0.4)),
       ("service", "clients", "address", "dataplane", "load-balancer", "load balancer", "reach", "NodePort",
        "ClusterIP", "externalIP", "proxies", "proxy", "seed", "session", "client")),
    Op("traffic", lambda c, d: getattr(k8s, d.choice(("traffic", "metrics")))(
        c, name_of(d, _services(c)), **_sim_kwargs(d, c), **kwargs(d, {"clients": lambda: text_of(d, ("external", "pods", "proxied"))})),
       ("service", "clients", "address", "dataplane", "load-balancer", "load balancer", "reach", "NodePort",
        "ClusterIP", "externalIP")),
    Op("sample", lambda c, d: k8s.sample(c, name_of(d, _services(c)), d.choice((1, 10, 100, 0, -1, 1.5, "10", None)), seed=_seed(d),
                                         **_sim_kwargs(d, c)),
       ("service", "n =", "address", "dataplane", "load-balancer", "load balancer", "reach", "NodePort", "ClusterIP",
        "externalIP")),
    Op("by_node", lambda c, d: k8s.by_node(c, name_of(d, _services(c)), **kwargs(d, {"lb": lambda: pick(d, LB_MODELS)})),
       ("service", "load-balancer", "load balancer")),
    Op("decide", lambda c, d: decide(c, name_of(d, _services(c)), node=name_of(d, _nodes(c)), source=_source(d, c),
                                     destination=pick(d, ADDRESSES), **kwargs(d, {"dataplane": lambda: pick(d, DATAPLANES)})),
       ("service", "node", "source", "destination", "dataplane", "NodePort", "load-balancer IP", "externalIP", "ClusterIP")),
    Op("health_check", lambda c, d: health_check(c, name_of(d, _services(c)), name_of(d, _nodes(c))), ("service", "node")),
    Op("Source", lambda c, d: Source(pick(d, ("external", "pod", "node")), pick(d, IPS),
                                     **kwargs(d, {"node": lambda: name_of(d, _nodes(c)), "pod": lambda: name_of(d, _pods(c))})),
       ("Source",)),
    Op("dataplane", lambda c, d: d.choice((k8s.KubeProxy, k8s.Cilium))(**kwargs(d, {
        "mode": lambda: pick(d, ("iptables", "ipvs", "snat", "dsr", "userspace"))})), ("mode",)),
    Op("LoadBalancer", lambda c, d: LoadBalancer(pick(d, LB_MODELS), **kwargs(d, {
        "preserve_client_ip": lambda: boolean(d), "announcing_node": lambda: name_of(d, _nodes(c))})),
       ("load-balancer", "LoadBalancer")),
    # -------- manifests
    Op("export", lambda c, d: manifests.to_yaml(manifests.export(c, name_of(d, _services(c)), **kwargs(d, {
        "namespace": lambda: pick(d, ("k8slearn",)), "spread": lambda: pick(d, manifests.SPREAD + ("spread",)),
        "node_map": lambda: pick(d, ({n: "kind-worker" for n in _nodes(c)}, {})), "client": lambda: boolean(d)}))),
       ("service", "node_map", "spread", "namespace", "client")),
    Op("service_from_yaml", lambda c, d: manifests.service_from_yaml(_yaml_text(d, c), c if d.chance(0.6) else None),
       ("YAML", "Service", "spec", "metadata", "kind", "range", "address", "document", "pool"), True),
    Op("service_from_manifest", lambda c, d: manifests.service_from_manifest(_manifest_doc(d, c), c if d.chance(0.6) else None),
       ("Service", "spec", "metadata", "kind", "document", "range", "address", "pool"), True),
    Op("from_yaml", lambda c, d: manifests.from_yaml(pick(d, ("a: 1", "- x", "a: [1", _BOMB + "b: *a7\n", "a: 1e999",
                                                               "a: 2024-13-45", "a: !!python/object:os.system {}")) ),
       ("YAML",)),
    # -------- proxies and proxychain
    Op("xff", lambda c, d: d.choice((proxies.parse_xff, proxies.parse_forwarded))(pick(d, (_header(d),))),
       ("X-Forwarded-For", "Forwarded")),
    Op("append_xff", lambda c, d: proxies.append_xff(pick(d, (_header(d), None)), pick(d, IPS)), ("X-Forwarded-For", "peer")),
    Op("client_ip", lambda c, d: proxies.client_ip(
        pick(d, IPS), pick(d, (_header(d), None)), **({"trusted": pick(d, CIDRS[0] + (list(CIDRS[0][:3]),), CIDRS[1])} if d.chance(0.5) else {}))
       if d.chance(0.4) else proxies.naive_client_ip(pick(d, IPS), pick(d, (_header(d), None))) if d.chance(0.3)
       else proxies.client_ip_by_hops(pick(d, IPS), pick(d, (_header(d),)), hops=pick(d, (0, 1, 2, 5, -1))),
       ("peer", "trusted", "chain", "hops", "X-Forwarded-For", "Forwarded")),
    Op("ForwardedElement", lambda c, d: str(proxies.ForwardedElement(**kwargs(d, {
        "for_": lambda: pick(d, ("192.0.2.60", "[2001:db8::1]:80", "unknown", "_x", IPv6Address("2001:db8::1"), "bogus")),
        "by": lambda: pick(d, ("203.0.113.43",)), "host": lambda: pick(d, ("example.com", "a\x01b")),
        "proto": lambda: pick(d, ("https", "1http")),
        "extensions": lambda: pick(d, ((("secret", "x"),), (("a",),), (("for", "x"),), (("a", "1"), ("a", "2")))),
    }))), ("Forwarded",)),
    Op("format_forwarded", lambda c, d: proxies.format_forwarded(pick(d, ([proxies.ForwardedElement(for_="unknown")],))),
       ("Forwarded", "format_forwarded")),
    Op("ProxyHeader", lambda c, d: proxies.encode_v2(proxies.ProxyHeader(**kwargs(d, {
        "version": lambda: pick(d, (1, 2)), "command": lambda: pick(d, ("PROXY", "LOCAL")),
        "family": lambda: pick(d, ("TCP4", "TCP6", "UNIX_STREAM", "UNSPEC")),
        "src_addr": lambda: pick(d, IPS), "src_port": lambda: port(d), "dst_addr": lambda: pick(d, IPS),
        "dst_port": lambda: port(d), "tlvs": lambda: pick(d, (((1, b"h2"),), ((3, b"1234"),)))}))),
       ("ProxyHeader", "PROXY", "src_addr", "dst_addr")),
    Op("decode", lambda c, d: proxies.decode(pick(d, (b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", b"PROXY",
                                                      proxies.SIGNATURE_V2 + b"\x21\x11\x00\x0c"))), ("PROXY",)),
    Op("Proxy", lambda c, d: _proxy(d), ("proxy",)),
    Op("App", lambda c, d: proxychain.App(**kwargs(d, {"expect_proxy_protocol": lambda: boolean(d),
                                                       "trusted": lambda: pick(d, (list(CIDRS[0][:3]), "10.0.0.0/8"), (list(CIDRS[1]),))})),
       ("trusted", "App", "expect_proxy_protocol")),
    Op("follow", lambda c, d: str(proxychain.follow(pick(d, ([_proxy(d) for _ in range(d.integer(0, 3))], proxychain.cdn_chain())),
                                                    **kwargs(d, {"client": lambda: pick(d, IPS), "x_forwarded_for": lambda: pick(d, ("1.2.3.4",)),
                                                                 "app": lambda: pick(d, (proxychain.App(trusted=["10.0.0.0/8"]),)),
                                                                 "from_pod": lambda: boolean(d), "ip_mode": lambda: pick(d, IP_MODES),
                                                                 "status": lambda: pick(d, ("ip", "hostname"), ("IP",))}))),
       ("client", "proxies", "proxy", "app", "from_pod", "ip_mode", "x_forwarded_for", "status")),
    Op("cdn_chain", lambda c, d: proxychain.cdn_chain(**kwargs(d, {
        "ingress_ip": lambda: pick(d, IPS), "ingress_policy": lambda: pick(d, ("Cluster", "Local"), ("local",)),
        "node_ip": lambda: pick(d, IPS)})), ("ip", "ingress_policy")),
)


def _atomic(c: Cluster, d: Draw) -> None:
    """Several changes in one ``with cluster.atomic()`` block, the last one often invalid."""
    with c.atomic():
        c.move_pod(name_of(d, _pods(c)), name_of(d, _nodes(c)))
        c.scale(name_of(d, _services(c)), pick(d, (1, 2, -1)))


# ------------------------------------------------------------------------------ running
@dataclass
class Tally:
    operations: int = 0
    ok: int = 0
    rejected: int = 0
    foreign: int = 0
    signatures: Counter = None  # type: ignore[assignment]
    examples: dict = None  # type: ignore[assignment]
    by_op: dict = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.signatures = Counter()
        self.examples = {}
        self.by_op = {}

    def count(self, op: str, outcome: str) -> None:
        self.by_op.setdefault(op, Counter())[outcome] += 1


def step(c: Cluster, d: Draw, tally: Tally, *, op: Op | None = None) -> Cluster:
    """Run one random operation on ``c``; returns the cluster to use next (a fresh one now and then)."""
    op = op or d.choice(OPS)
    before = snapshot(c)
    tally.operations += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", K8sLearnWarning)
            op.run(c, d)
    except K8sLearnError as err:
        tally.rejected += 1
        tally.count(op.name, "rejected")
        if snapshot(c) != before:
            raise Broken(f"{op.name} was rejected but changed the cluster: {err}") from err
        text = str(err)
        if not text.strip() or len(text) > MAX_MESSAGE:
            raise Broken(f"{op.name}: a message of {len(text)} characters: {text[:300]!r}") from err
        if not err.hint:
            raise Broken(f"{op.name}: no hint in {text!r}") from err
        if not any(w.lower() in text.lower() for w in op.words):
            raise Broken(f"{op.name}: the message names none of {op.words}: {text!r}") from err
    except Broken:
        raise
    except Exception as err:  # noqa: BLE001 - any other exception is what we count
        tally.foreign += 1
        tally.count(op.name, "foreign")
        sig = f"{op.name}: {type(err).__name__}"
        tally.signatures[sig] += 1
        tally.examples.setdefault(sig, f"{type(err).__name__}: {str(err)[:200]}")
    else:
        tally.ok += 1
        tally.count(op.name, "ok")
        if not op.changes and snapshot(c) != before:
            raise Broken(f"{op.name} changed the cluster although it only reads it")
        invariants(c)
    if len(c.nodes) > 24 or len(c.pods) > 200 or len(c.services) > 30 or d.chance(0.02):
        return fresh(d)
    return c
