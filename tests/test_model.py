"""The model layer: deterministic construction, every change method, atomic failures, reprs.

A change that is invalid must raise a K8sLearnError and leave the cluster *exactly* as it was:
the same nodes, pods and services (compared by value) and the same ``version``.
"""

from __future__ import annotations

import warnings
from ipaddress import IPv4Address, IPv4Network

import pytest

import k8slearn as k8s
from k8slearn.errors import InvalidChange, InvalidService, K8sLearnError, K8sLearnWarning, NotFound
from k8slearn.model import Cluster, Endpoint, Node, Pod


def snapshot(c: Cluster):
    return (c.nodes, c.pods, c.services, c.version)


def layout(c: Cluster) -> dict[str, list[str]]:
    return {n.name: [p.name for p in c.pods_on(n)] for n in c.nodes}


# ---------------------------------------------------------------------------- construction
def test_from_layout_addresses_are_deterministic():
    c = Cluster.from_layout([2, 1, 0, 3])
    assert [n.name for n in c.nodes] == ["node-a", "node-b", "node-c", "node-d"]
    for i, n in enumerate(c.nodes):
        assert n.ip == IPv4Address(f"192.168.0.{11 + i}")
        assert n.pod_cidr == IPv4Network(f"10.244.{i + 1}.0/24")
        assert n.bridge_ip == IPv4Address(f"10.244.{i + 1}.1")
        assert n.ready and n.zone == "zone-a"
    assert [(p.name, p.node, str(p.ip)) for p in c.pods] == [
        ("web-1", "node-a", "10.244.1.5"), ("web-2", "node-a", "10.244.1.6"),
        ("web-3", "node-b", "10.244.2.5"),
        ("web-4", "node-d", "10.244.4.5"), ("web-5", "node-d", "10.244.4.6"), ("web-6", "node-d", "10.244.4.7"),
    ]
    assert all(dict(p.labels) == {"app": "web"} for p in c.pods)
    assert all(p.status == "Running" for p in c.pods)
    # Every pod IP sits inside its node's pod CIDR and the cluster CIDR.
    for p in c.pods:
        assert p.ip in c.node(p.node).pod_cidr
        assert p.ip in c.cluster_cidr


def test_from_layout_mapping_and_zones():
    c = Cluster.from_layout({"alpha": 1, "beta": 0}, zones={"beta": "zone-b"})
    assert [(n.name, n.zone) for n in c.nodes] == [("alpha", "zone-a"), ("beta", "zone-b")]
    assert c.pods_on("alpha")[0].ip == IPv4Address("10.244.1.5")
    c2 = Cluster.from_layout([1, 1, 1], zones=["z1", "z2"])
    assert [n.zone for n in c2.nodes] == ["z1", "z2", "z1"]


def test_from_layout_service_defaults():
    svc = Cluster.from_layout([1, 1]).service("web")
    assert svc.type == "LoadBalancer"
    assert svc.cluster_ip == IPv4Address("10.96.0.10")
    assert svc.load_balancer_ip == IPv4Address("203.0.113.100")
    assert svc.node_port == 30080
    assert (svc.port, svc.target_port) == (80, 8080)
    assert svc.external_traffic_policy == "Cluster"
    assert svc.internal_traffic_policy == "Cluster"
    assert svc.health_check_node_port is None
    assert dict(svc.selector) == {"app": "web"}


@pytest.mark.parametrize("bad", [-1, 1.5, "2"])
def test_from_layout_rejects_bad_counts(bad):
    with pytest.raises(InvalidChange, match="pod count"):
        Cluster.from_layout([1, bad])


def test_examples_match_their_pictures():
    assert layout(k8s.examples.uneven()) == {"node-a": ["web-1", "web-2"], "node-b": ["web-3"], "node-c": []}
    assert k8s.examples.uneven().service("web").external_traffic_policy == "Cluster"
    assert k8s.examples.uneven().service("web").load_balancer_ip == IPv4Address("203.0.113.100")
    one_two = k8s.examples.one_two()
    assert layout(one_two) == {"node-a": ["web-1"], "node-b": ["web-2", "web-3"]}
    assert one_two.service("web").external_traffic_policy == "Local"
    assert one_two.service("web").health_check_node_port is not None
    empty = k8s.examples.empty_node()
    assert layout(empty) == {"node-a": ["web-1"], "node-b": ["web-2"], "node-c": []}
    assert empty.service("web").external_traffic_policy == "Local"
    assert [len(v) for v in layout(k8s.examples.balanced(5)).values()] == [1] * 5
    z = k8s.examples.zones()
    assert [(n.name, n.zone) for n in z.nodes] == [
        ("node-a", "zone-a"), ("node-b", "zone-a"), ("node-c", "zone-b"), ("node-d", "zone-b")]
    assert [len(v) for v in layout(z).values()] == [1, 1, 1, 0]
    ic = k8s.examples.in_cluster()
    assert ic.pod("client").node == "node-c"
    assert dict(ic.pod("client").labels) == {"app": "client"}
    assert [p.name for p in ic.selected_pods("web")] == ["web-1", "web-2", "web-3"]
    big = k8s.examples.large(10, 25)
    assert (len(big.nodes), len(big.pods)) == (10, 25)
    counts = [len(big.pods_on(n)) for n in big.nodes]
    assert max(counts) - min(counts) <= 1
    # Every example is a fresh cluster: changing one never changes the next.
    a = k8s.examples.uneven()
    a.move_pod("web-1", "node-c")
    assert layout(k8s.examples.uneven())["node-c"] == []


def test_examples_registry_builds_every_example():
    for name, make in k8s.examples.NAMES.items():
        c = make()
        assert isinstance(c, Cluster), name
        assert "web" in [s.name for s in c.services]


# ---------------------------------------------------------------------------- changes
def test_move_pod_gets_a_new_ip_on_the_target_node():
    c = k8s.examples.uneven()
    v = c.version
    moved = c.move_pod("web-2", "node-c")
    assert moved == Pod("web-2", node="node-c", ip=IPv4Address("10.244.3.5"), labels={"app": "web"})
    assert c.pod("web-2") == moved
    assert layout(c) == {"node-a": ["web-1"], "node-b": ["web-3"], "node-c": ["web-2"]}
    assert c.version == v + 1
    # Moving onto a node with pods takes the first free address there.
    assert c.move_pod("web-1", "node-b").ip == IPv4Address("10.244.2.6")
    # Moving to where it already is changes nothing.
    v = c.version
    assert c.move_pod("web-1", "node-b").ip == IPv4Address("10.244.2.6")
    assert c.version == v


def test_scale_up_places_on_the_emptiest_ready_node():
    c = k8s.examples.uneven()
    pods = c.scale("web", 5)
    assert [p.name for p in pods] == ["web-1", "web-2", "web-3", "web-4", "web-5"]
    assert c.pod("web-4").node == "node-c"      # node-c had 0
    assert c.pod("web-5").node == "node-b"      # then b (1) before a (2)
    assert c.pod("web-4").ip == IPv4Address("10.244.3.5")
    assert all(dict(p.labels) == {"app": "web"} for p in pods)


def test_scale_up_skips_not_ready_nodes_and_honours_node():
    c = k8s.examples.uneven()
    c.set_node("node-c", ready=False)
    c.scale("web", 4)
    assert c.pod("web-4").node == "node-b"
    c.scale("web", 6, node="node-c")
    assert [p.node for p in c.pods][-2:] == ["node-c", "node-c"]


def test_scale_down_removes_newest_first():
    c = k8s.examples.uneven()
    c.scale("web", 5)
    pods = c.scale("web", 2)
    assert [p.name for p in pods] == ["web-1", "web-2"]
    assert [p.name for p in c.pods] == ["web-1", "web-2"]
    assert c.scale("web", 0) == ()
    assert c.endpoints("web") == ()


def test_scale_reuses_free_names():
    c = k8s.examples.uneven()
    c.delete_pod("web-2")
    c.scale("web", 3)
    assert sorted(p.name for p in c.pods) == ["web-1", "web-2", "web-3"]


def test_add_and_remove_node():
    c = k8s.examples.uneven()
    d = c.add_node()
    assert d == Node("node-d", IPv4Address("192.168.0.14"), IPv4Network("10.244.4.0/24"))
    e = c.add_node("edge", zone="zone-b")
    assert (e.ip, e.pod_cidr, e.zone) == (IPv4Address("192.168.0.15"), IPv4Network("10.244.5.0/24"), "zone-b")
    assert c.remove_node("node-d") == d
    assert [n.name for n in c.nodes] == ["node-a", "node-b", "node-c", "edge"]
    # Addresses are never shared, even after removals.
    again = c.add_node()
    ips = [n.ip for n in c.nodes]
    cidrs = [n.pod_cidr for n in c.nodes]
    assert len(set(ips)) == len(ips) and len(set(cidrs)) == len(cidrs)
    assert again.name not in ("node-a", "node-b", "node-c", "edge")


def test_set_pod_and_set_node():
    c = k8s.examples.uneven()
    p = c.set_pod("web-1", ready=False)
    assert (p.ready, p.terminating, p.status) == (False, False, "NotReady")
    p = c.set_pod("web-1", ready=True, terminating=True)
    assert p.status == "Terminating"
    ep = {e.pod: e for e in c.endpoints("web")}["web-1"]
    assert (ep.ready, ep.serving, ep.terminating) == (False, True, True)
    n = c.set_node("node-b", ready=False, zone="zone-z")
    assert (n.ready, n.zone) == (False, "zone-z")
    ep3 = {e.pod: e for e in c.endpoints("web")}["web-3"]
    assert (ep3.serving, ep3.ready, ep3.zone) == (False, False, "zone-z")  # pods on a NotReady node stop serving


def test_add_pod_and_delete_pod():
    c = k8s.examples.uneven()
    p = c.add_pod("client", "node-c", labels={"app": "client"})
    assert (p.node, p.ip) == ("node-c", IPv4Address("10.244.3.5"))
    assert "client" not in [x.name for x in c.selected_pods("web")]
    assert c.delete_pod("client") == p
    assert "client" not in [x.name for x in c.pods]


def test_add_patch_delete_service():
    c = k8s.examples.uneven()
    api = c.add_service("api", type="NodePort", selector={"app": "web"})
    assert api.cluster_ip == IPv4Address("10.96.0.11")
    assert api.node_port in range(30000, 32768)
    assert api.node_port != c.service("web").node_port
    assert api.external_traffic_policy == "Cluster"
    assert api.load_balancer_ip is None
    lb2 = c.add_service("lb2", type="LoadBalancer", selector={"app": "web"})
    assert lb2.load_balancer_ip == IPv4Address("203.0.113.101")
    patched = c.patch_service("api", external_traffic_policy="Local", internal_traffic_policy="Local")
    assert (patched.external_traffic_policy, patched.internal_traffic_policy) == ("Local", "Local")
    assert patched.health_check_node_port is None  # NodePort + Local gets none
    assert c.service("api") == patched
    assert c.delete_service("api") == patched
    assert [s.name for s in c.services] == ["web", "lb2"]
    # The freed ClusterIP and NodePort can be used again.
    again = c.add_service("api", type="NodePort", selector={"app": "web"})
    assert again.cluster_ip == IPv4Address("10.96.0.11")


def test_endpoints_and_owner_of():
    c = k8s.examples.uneven()
    eps = c.endpoints("web")
    assert [e.pod for e in eps] == ["web-1", "web-2", "web-3"]
    assert all(isinstance(e, Endpoint) and e.port == 8080 and e.ready for e in eps)
    by_node = c.endpoints_by_node("web")
    assert list(by_node) == ["node-a", "node-b", "node-c"]
    assert [len(v) for v in by_node.values()] == [2, 1, 0]
    assert c.owner_of("192.168.0.12").name == "node-b"
    assert c.owner_of("10.244.1.1").name == "node-a"  # bridge address
    assert c.owner_of("10.244.1.6").name == "web-2"
    assert c.owner_of("203.0.113.100").name == "web"
    assert c.owner_of("10.96.0.10").name == "web"
    assert c.owner_of("198.51.100.7") is None


def test_version_bumps_on_every_change_and_cache_is_invalidated():
    c = k8s.examples.uneven()
    calls = []

    def compute():
        calls.append(1)
        return len(c.pods)

    assert c.cached("n", compute) == 3
    assert c.cached("n", compute) == 3
    assert len(calls) == 1
    versions = [c.version]
    for change in (lambda: c.move_pod("web-1", "node-c"), lambda: c.scale("web", 4), lambda: c.add_node(),
                   lambda: c.set_pod("web-2", ready=False), lambda: c.set_node("node-b", ready=False),
                   lambda: c.patch_service("web", external_traffic_policy="Local"),
                   lambda: c.add_pod("x", "node-a"), lambda: c.delete_pod("x"),
                   lambda: c.add_service("s", selector={"app": "web"}), lambda: c.delete_service("s"),
                   lambda: c.remove_node("node-d")):
        change()
        versions.append(c.version)
    assert all(b == a + 1 for a, b in zip(versions, versions[1:]))
    assert c.cached("n", compute) == 4
    assert len(calls) == 2


def test_copy_is_independent():
    c = k8s.examples.uneven()
    d = c.copy()
    d.move_pod("web-1", "node-c")
    d.patch_service("web", external_traffic_policy="Local")
    assert c.pod("web-1").node == "node-a"
    assert c.service("web").external_traffic_policy == "Cluster"
    assert d.pod("web-1").node == "node-c"


# ---------------------------------------------------------------------------- invalid changes are atomic
INVALID_CHANGES = {
    "move unknown pod": (lambda c: c.move_pod("web-9", "node-a"), NotFound),
    "move to unknown node": (lambda c: c.move_pod("web-1", "node-z"), NotFound),
    "scale negative": (lambda c: c.scale("web", -1), InvalidChange),
    "scale bool": (lambda c: c.scale("web", True), InvalidChange),
    "scale to unknown node": (lambda c: c.scale("web", 5, node="node-z"), NotFound),
    "scale unknown service": (lambda c: c.scale("db", 5), NotFound),
    "scale past a full pod CIDR": (lambda c: c.scale("web", 300, node="node-c"), InvalidChange),
    "add existing node": (lambda c: c.add_node("node-a"), InvalidChange),
    "remove node with pods": (lambda c: c.remove_node("node-a"), InvalidChange),
    "remove unknown node": (lambda c: c.remove_node("node-z"), NotFound),
    "set unknown pod": (lambda c: c.set_pod("web-9", ready=False), NotFound),
    "set unknown node": (lambda c: c.set_node("node-z", ready=False), NotFound),
    "add existing pod": (lambda c: c.add_pod("web-1", "node-a"), InvalidChange),
    "add pod to unknown node": (lambda c: c.add_pod("extra", "node-z"), NotFound),
    "delete unknown pod": (lambda c: c.delete_pod("web-9"), NotFound),
    "add existing service": (lambda c: c.add_service("web", selector={"app": "web"}), InvalidChange),
    "add Local ClusterIP": (lambda c: c.add_service("db", selector={"app": "web"}, external_traffic_policy="Local"),
                            InvalidService),
    "patch unsupported policy": (lambda c: c.patch_service("web", external_traffic_policy="Locale"), InvalidService),
    "patch nodePort out of range": (lambda c: c.patch_service("web", node_port=80), InvalidService),
    "patch unknown type": (lambda c: c.patch_service("web", type="ExternalName"), InvalidService),
    "patch Local onto ClusterIP": (lambda c: c.patch_service("web", type="ClusterIP", external_traffic_policy="Local"),
                                   InvalidService),
    "patch unknown service": (lambda c: c.patch_service("db", external_traffic_policy="Local"), NotFound),
    "delete unknown service": (lambda c: c.delete_service("db"), NotFound),
}


@pytest.mark.parametrize("name", list(INVALID_CHANGES))
def test_invalid_change_raises_and_leaves_cluster_exactly_as_it_was(name):
    change, error = INVALID_CHANGES[name]
    c = k8s.examples.uneven()
    c.add_service("other", type="NodePort", selector={"app": "web"}, node_port=31000)
    before = snapshot(c)
    before_summary = c.summary()
    with pytest.raises(error) as info:
        change(c)
    assert isinstance(info.value, K8sLearnError)
    assert snapshot(c) == before
    assert c.summary() == before_summary
    # ... and the cluster still works afterwards.
    assert [e.pod for e in c.endpoints("web")] == ["web-1", "web-2", "web-3"]


def test_nodeport_taken_is_refused_atomically():
    c = k8s.examples.uneven()
    c.add_service("other", type="NodePort", selector={"app": "web"}, node_port=31000)
    before = snapshot(c)
    with pytest.raises(InvalidService):
        c.patch_service("web", node_port=31000)
    assert snapshot(c) == before


def test_remove_last_node_is_refused():
    c = Cluster.from_layout([0])
    before = snapshot(c)
    with pytest.raises(InvalidChange, match="last node"):
        c.remove_node("node-a")
    assert snapshot(c) == before


def test_remove_node_with_pods_names_them():
    c = k8s.examples.uneven()
    with pytest.raises(InvalidChange) as info:
        c.remove_node("node-a")
    assert "web-1" in str(info.value) and "web-2" in str(info.value)
    assert info.value.hint  # it says what to do


# ---------------------------------------------------------------------------- errors that teach
@pytest.mark.parametrize("kind, lookup, valid", [
    ("node", lambda c: c.node("node-x"), ["node-a", "node-b", "node-c"]),
    ("pod", lambda c: c.pod("web-9"), ["web-1", "web-2", "web-3"]),
    ("service", lambda c: c.service("db"), ["web"]),
])
def test_not_found_lists_valid_names(kind, lookup, valid):
    c = k8s.examples.uneven()
    with pytest.raises(NotFound) as info:
        lookup(c)
    err = info.value
    assert isinstance(err, K8sLearnError) and isinstance(err, KeyError)
    assert err.choices == tuple(valid)
    text = str(err)
    assert text.splitlines()[0].startswith(f'{kind}s "')
    assert "not found" in text.splitlines()[0]
    for name in valid:
        assert repr(name) in text


def test_all_errors_derive_from_one_exception():
    for cls in (InvalidChange, InvalidService, NotFound):
        assert issubclass(cls, K8sLearnError)
    assert issubclass(K8sLearnWarning, UserWarning)


@pytest.mark.parametrize("obj, field", [
    (lambda c: c.node("node-a"), "ip"),
    (lambda c: c.node("node-a"), "ready"),
    (lambda c: c.pod("web-1"), "node"),
    (lambda c: c.service("web"), "external_traffic_policy"),
    (lambda c: c.endpoints("web")[0], "serving"),
])
def test_frozen_objects_refuse_assignment_with_a_teaching_error(obj, field):
    c = k8s.examples.uneven()
    target = obj(c)
    before = snapshot(c)
    with pytest.raises(K8sLearnError) as info:
        setattr(target, field, "x")
    assert "read-only" in str(info.value)
    assert "cluster." in info.value.hint  # points to the change method
    assert snapshot(c) == before


def test_misspelled_attribute_fails():
    c = k8s.examples.uneven()
    with pytest.raises((AttributeError, K8sLearnError)):
        c.node("node-a").redy = False  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        c.pod("web-1").nodde  # type: ignore[attr-defined]


def test_labels_and_selectors_are_read_only():
    c = k8s.examples.uneven()
    with pytest.raises(TypeError):
        c.pod("web-1").labels["app"] = "db"  # type: ignore[index]
    with pytest.raises(TypeError):
        c.service("web").selector["app"] = "db"  # type: ignore[index]


def test_selector_matching_no_pods_warns_but_succeeds():
    c = k8s.examples.uneven()
    with pytest.warns(K8sLearnWarning, match="matches no pods") as record:
        svc = c.add_service("db", selector={"app": "db"})
    assert "app=web" in str(record[0].message)  # it shows the labels that do exist
    assert c.service("db") == svc
    assert c.endpoints("db") == ()
    with pytest.warns(K8sLearnWarning):
        c.patch_service("web", selector={"app": "nothing"})
    assert c.service("web").selector == {"app": "nothing"}
    # A selector that matches warns nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.add_service("ok", selector={"app": "web"})


# ---------------------------------------------------------------------------- display
def _objects():
    c = k8s.examples.uneven()
    c.set_pod("web-3", terminating=True)
    c.set_node("node-c", ready=False)
    return [c, c.node("node-a"), c.node("node-c"), c.pod("web-1"), c.pod("web-3"), c.service("web"),
            c.endpoints("web")[0]]


@pytest.mark.parametrize("i", range(7))
def test_reprs_are_readable(i):
    obj = _objects()[i]
    text = repr(obj)
    assert "object at 0x" not in text
    assert "<" not in text[:1]
    assert str(obj) and "object at 0x" not in str(obj)


def test_repr_examples():
    c = k8s.examples.uneven()
    assert repr(c) == "Cluster(nodes=3, pods=3, services=['web'])"
    assert repr(c.pod("web-1")) == "Pod('web-1', node='node-a', ip=10.244.1.5)"
    assert repr(c.node("node-a")) == "Node('node-a', ip=192.168.0.11, pod_cidr=10.244.1.0/24, zone='zone-a')"
    assert repr(c.service("web")) == "Service('web', type='LoadBalancer', external_traffic_policy='Cluster')"
    c.set_pod("web-1", ready=False)
    assert "ready=False" in repr(c.pod("web-1"))


@pytest.mark.parametrize("i", [0, 1, 3, 5])
def test_notebook_views(i):
    obj = _objects()[i]
    out = obj._repr_html_()
    assert out.startswith("<") and "</" in out
    assert "object at 0x" not in out


def test_cluster_html_shows_every_node_and_pod():
    c = k8s.examples.uneven()
    out = c._repr_html_()
    for name in ("node-a", "node-b", "node-c", "web-1", "web-2", "web-3", "no pods"):
        assert name in out


def test_summary_lines():
    c = k8s.examples.uneven()
    assert str(c).splitlines() == [
        "node-a (192.168.0.11, zone-a): web-1, web-2",
        "node-b (192.168.0.12, zone-a): web-3",
        "node-c (192.168.0.13, zone-a): no pods",
        "Service 'web' LoadBalancer 203.0.113.100:80 -> targetPort 8080, externalTrafficPolicy=Cluster",
    ]
