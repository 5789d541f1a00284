"""Issue 14's findings, one regression test (or a few) each: every bad input gets a clear error, and
nothing else happens.

The kernel lab's findings (item 8) are in tests/test_lab.py; the property test over the whole public
API is tests/test_fuzz_api.py.
"""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
import warnings
from ipaddress import IPv4Address, IPv4Network

import pytest

import k8slearn as k8s
from k8slearn import manifests, proxies, proxychain
from k8slearn.dataplane import KubeProxy, Source, decide, from_pod
from k8slearn.dataplane.rules import render
from k8slearn.errors import (
    InvalidChange,
    InvalidNode,
    InvalidPod,
    InvalidService,
    K8sLearnError,
    K8sLearnWarning,
    NotFound,
    show,
)
from k8slearn.model import LB_POOL, Cluster


def state(c: Cluster):
    return (c.nodes, c.pods, c.services, c.version)


def first_line(err: BaseException) -> str:
    return str(err).splitlines()[0]


def refused(change, error=K8sLearnError, cluster=None):
    """Run ``change(cluster)``; it must raise ``error`` and leave the cluster exactly as it was."""
    c = cluster or k8s.examples.uneven()
    before = state(c)
    with pytest.raises(error) as info:
        change(c)
    assert state(c) == before
    assert isinstance(info.value, K8sLearnError) and info.value.hint
    return info.value


# ------------------------------------------------------------------------------ 1. the YAML alias bomb
ANCHORS = "x:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 9))
BOMBS = {
    "spec.type": "spec:\n  type: *a8\n  ports: [{port: 80}]\n",
    "ports[].port": "spec:\n  ports: [{port: *a8}]\n",
    "selector": "spec:\n  selector: {app: *a8}\n  ports: [{port: 80}]\n",
}


@pytest.mark.parametrize("where", list(BOMBS))
def test_alias_bomb_is_refused_at_once_and_in_little_memory(where):
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n" + ANCHORS + BOMBS[where]
    assert len(text) < 1024  # about 1 KiB that would expand to 9**9 = 387 million values
    c = k8s.examples.uneven()
    before = state(c)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(manifests.ManifestError) as err:
            manifests.service_from_yaml(text, c)
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert seconds < 1.0 and peak < 50e6, (seconds, peak)
    assert "alias" in str(err.value) and err.value.hint
    assert len(str(err.value)) < 1000
    assert state(c) == before


def test_yaml_limits_size_nesting_and_self_reference():
    with pytest.raises(manifests.ManifestError, match="more than"):
        manifests.from_yaml("a: " + "b" * (manifests.MAX_YAML_BYTES + 1))
    with pytest.raises(manifests.ManifestError, match="nest|depth"):
        manifests.from_yaml("[" * 5000 + "]" * 5000)
    with pytest.raises(manifests.ManifestError, match="contains it"):
        manifests.from_yaml("a: &a [*a]\n")
    # Aliases within the bound are ordinary YAML and still read.
    docs = manifests.from_yaml("a: &x {app: web}\nb: *x\n")
    assert docs == [{"a": {"app": "web"}, "b": {"app": "web"}}]


def test_no_warning_or_error_writes_out_a_huge_value():
    huge = [[["x"] * 1000] * 1000]  # a million strings, shared: cheap to hold, dear to write out
    c = k8s.examples.uneven()
    for change in (lambda: c.add_service("db", selector={"app": huge}), lambda: c.add_node(huge),
                   lambda: c.patch_service("web", type=huge), lambda: c.node(huge)):
        with pytest.raises(K8sLearnError) as err:
            change()
        assert len(str(err.value)) < 2000
    assert len(show(huge)) < 80 and len(show("x" * 10**6)) < 80


# ------------------------------------------------------------------------------ 2. healthCheckNodePort
HCNP = "spec.healthCheckNodePort: Invalid value: "


@pytest.mark.parametrize("value, detail", [
    (99999, "99999: must be between 1 and 65535, inclusive"),
    (-5, "-5: must be between 1 and 65535, inclusive"),
    ("x", '"x": must be an integer (30000-32767)'),
    (True, "True: must be an integer (30000-32767)"),
    (31000.0, "31000.0: must be an integer (30000-32767)"),
    (80, "80: provided port is not in the valid range. The range of valid ports is 30000-32767"),
])
def test_health_check_node_port_is_validated(value, detail):
    err = refused(lambda c: c.patch_service("web", external_traffic_policy="Local", health_check_node_port=value),
                  InvalidService)
    assert first_line(err) == f'The Service "web" is invalid: {HCNP}{detail}'


def test_health_check_node_port_cannot_be_the_services_own_node_port():
    err = refused(lambda c: c.patch_service("web", external_traffic_policy="Local", health_check_node_port=30080),
                  InvalidService)
    assert first_line(err).endswith(f"{HCNP}30080: provided port is already allocated")
    assert "own nodePort" in err.hint
    # ... and an allocated nodePort never lands on the service's own health-check port either
    # (the allocator would pick 30000 + port = 30081 here).
    c = k8s.examples.uneven()
    svc = c.add_service("lb2", type="LoadBalancer", selector={"app": "web"}, external_traffic_policy="Local",
                        port=81, health_check_node_port=30081)
    assert svc.health_check_node_port == 30081 and svc.node_port not in (None, 30081)


def test_health_check_node_port_zero_means_allocate_one():
    c = k8s.examples.uneven()
    svc = c.patch_service("web", external_traffic_policy="Local", health_check_node_port=0)
    assert svc.health_check_node_port == 32000
    assert k8s.health_check(c, "web", "node-a").port == 32000  # what is stored is what is probed
    other = c.add_service("np", type="NodePort", selector={"app": "web"}, health_check_node_port=0)
    assert other.health_check_node_port is None  # 0 is "unset", not a port


# ------------------------------------------------------------------------------ 3. raw Python exceptions
@pytest.mark.parametrize("change, error, says", [
    (lambda c: c.patch_service("web", external_ips=["bogus"]), InvalidService,
     'spec.externalIPs[0]: Invalid value: "bogus": must be a valid IP address'),
    (lambda c: c.patch_service("web", external_ips="203.0.113.200"), InvalidService,
     'spec.externalIPs: Invalid value: "203.0.113.200": must be a list of IP addresses'),
    (lambda c: c.patch_service("web", external_ips=["127.0.0.1"]), InvalidService,
     "may not be in the loopback range"),
    (lambda c: c.patch_service("web", external_ips=["2001:db8::1"]), InvalidService, "IPv4 addresses only"),
    (lambda c: c.node(["a"]), NotFound, "nodes ['a'] not found"),
    (lambda c: c.patch_service("web", selector=5), InvalidService,
     "spec.selector: Invalid value: 5: must be a map of label keys to values"),
    (lambda c: c.owner_of("bogus"), InvalidChange, 'address: Invalid value: "bogus": must be an IPv4 address'),
    (lambda c: c.scale("web", 10**9), InvalidChange, "can take only"),
])
def test_former_raw_exceptions_are_package_errors(change, error, says):
    err = refused(change, error)
    assert says in str(err)


@pytest.mark.parametrize("kwargs, says", [
    ({"zones": []}, "zones: Required value"),
    ({"zones": "zone-a"}, "zones: Invalid value"),
    ({"zones": [None]}, "a label value must be a string"),
    ({"service": "Web"}, "a DNS-1035 label"),
])
def test_from_layout_arguments(kwargs, says):
    with pytest.raises(K8sLearnError, match=None) as err:
        Cluster.from_layout([1], **kwargs)
    assert says in str(err.value) and err.value.hint


@pytest.mark.parametrize("layout, says", [
    ("21", "must be a list of pod counts"), ([], "at least one node"), ({"Node A": 1}, "RFC 1123 subdomain"),
    ([1.0], "a pod count must be a whole number"), ([True], "a pod count"), (5, "must be a list"),
    ([0] * 5001, "more than 5,000 nodes"),
])
def test_from_layout_layouts(layout, says):
    with pytest.raises(K8sLearnError) as err:
        Cluster.from_layout(layout)
    assert says in str(err.value)


@pytest.mark.parametrize("make, says", [
    (lambda: k8s.examples.balanced("x"), 'nodes: Invalid value: "x": must be a whole number from 1 to 5,000'),
    (lambda: k8s.examples.large(0), "nodes: Invalid value: 0"),  # was ZeroDivisionError
    (lambda: k8s.examples.large(2, 1000), "pods: Invalid value: 1000: must be a whole number from 0 to 500"),
])
def test_example_clusters_check_their_sizes(make, says):
    with pytest.raises(InvalidChange) as err:
        make()
    assert says in str(err.value)


def test_node_port_range_exhausted_says_so():
    c = Cluster.from_layout([1], type="ClusterIP")
    for i in range(5):
        c.add_service(f"s{i}", type="NodePort", selector={"app": "web"})
    # Fill the rest of the range at once (adding 2,763 more services one by one takes seconds).
    template = c.service("s0")
    taken = {s.node_port for s in c.services}
    extra = [dataclasses.replace(template, name=f"f{p}", node_port=p, cluster_ip=IPv4Address("10.97.0.0") + i)
             for i, p in enumerate(p for p in range(30000, 32768) if p not in taken)]
    c._commit(c._replace(services=[*c.services, *extra]))
    err = refused(lambda c: c.add_service("one-more", type="NodePort", selector={"app": "web"}), InvalidChange, c)
    assert first_line(err) == "Internal error occurred: failed to allocate a nodePort: range is full"
    assert "30000-32767" in err.hint


# ------------------------------------------------------------------------------ 4. values the API server refuses
@pytest.mark.parametrize("change, error, line", [
    (lambda c: c.add_node(5), InvalidNode, "The Node 5 is invalid: metadata.name: Invalid value: 5: must be a string"),
    (lambda c: c.add_service(None), InvalidService,
     "The Service null is invalid: metadata.name: Required value: name or generateName is required"),
    (lambda c: c.add_service("Web_Service!"), InvalidService,
     ('The Service "Web_Service!" is invalid: metadata.name: Invalid value: "Web_Service!": a DNS-1035 label must '
      "consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an "
      "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
      "'[a-z]([-a-z0-9]*[a-z0-9])?')")),
    (lambda c: c.add_pod("x", "node-a", labels={"app": 1}), InvalidPod,
     'The Pod "x" is invalid: metadata.labels: Invalid value: 1: a label value must be a string'),
    (lambda c: c.add_service("db", selector={1: 2}), InvalidService,
     'The Service "db" is invalid: \n* spec.selector: Invalid value: 1: a label key must be a string'),
    (lambda c: c.add_service("db", port=True), InvalidService,
     'The Service "db" is invalid: spec.ports[0].port: Invalid value: True: must be an integer (1-65535)'),
    (lambda c: c.add_service("db", type="NodePort", node_port=30123.0), InvalidService,
     'The Service "db" is invalid: spec.ports[0].nodePort: Invalid value: 30123.0: must be an integer (30000-32767)'),
    (lambda c: c.add_node(zone=None), InvalidNode,
     ('The Node "node-d" is invalid: metadata.labels[topology.kubernetes.io/zone]: Invalid value: null: a label '
      "value must be a string")),
    (lambda c: c.set_pod("web-1", ready="false"), InvalidChange, 'ready: Invalid value: "false": must be True or False'),
    (lambda c: c.add_pod("Client", "node-a"), InvalidPod, "a lowercase RFC 1123 subdomain"),
    (lambda c: c.add_pod("x", "node-a", labels={"Bad Key": "v"}), InvalidPod, "name part must consist of"),
    (lambda c: c.set_node("node-a", zone="Zone A"), InvalidNode, "a valid label must be an empty string or"),
])
def test_values_the_api_server_refuses(change, error, line):
    err = refused(change, error)
    assert first_line(err) == line or line in str(err)


def test_accepted_values_are_stored_in_their_plain_types():
    import numpy as np

    c = k8s.examples.uneven()
    svc = c.add_service(np.str_("db"), type="NodePort", selector={"app": "web"}, port=np.int64(81), node_port=0)
    assert type(svc.name) is str and type(svc.port) is int and svc.node_port == 30081
    assert c.set_pod("web-1", ready=np.bool_(False)).ready is False
    assert manifests.to_yaml(manifests.export(c, "db"))  # everything writes as YAML


def test_no_service_named_none_reaches_the_rules():
    c = k8s.examples.uneven()
    with pytest.raises(InvalidService):
        c.add_service(None, selector={"app": "web"})
    assert "KUBE-SVC-" in render(c, "node-a")


# ------------------------------------------------------------------------------ 5. manifests
SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: db}\n"


@pytest.mark.parametrize("text, error, says", [
    ("- a\n- b\n", manifests.ManifestError, "YAML document 1: ['a', 'b'] is not a Kubernetes object"),
    ("a: [\n", manifests.ManifestError, "YAML: while parsing a flow"),
    (SERVICE + "spec: {ports: {port: 80}}\n", InvalidService, "spec.ports: Invalid value: {'port': 80}: must be a list"),
    (SERVICE + "spec: {ports: [{port: 80}], externalIPs: 1.2.3.4}\n", InvalidService,
     'spec.externalIPs: Invalid value: "1.2.3.4": must be a list of IP addresses'),
    ("a: " + "[" * 5000 + "]" * 5000, manifests.ManifestError, "YAML: "),
    (SERVICE + "spec: {ports: [{port: 80}], clusterIP: None}\n", InvalidService,
     'spec.clusterIP: Unsupported value: "None": headless services (clusterIP: None) are not modelled'),
    (SERVICE + "spec: {ports: [{port: 80}], clusterIP: bogus}\n", InvalidService,
     'spec.clusterIPs[0]: Invalid value: "bogus": must be a valid IP address'),
    (SERVICE + "spec: {ports: [{port: 80}], clusterIP: 1.2.3.4}\n", InvalidService,
     "The range of valid IPs is 10.96.0.0/12"),
    (SERVICE + "spec: [1]\n", manifests.ManifestError, "spec: Invalid value: [1]: must be a mapping"),
    (SERVICE + "spec: {ports: [{port: 80, protocol: UDP}]}\n", InvalidService, 'spec.ports[0].protocol: Unsupported value: "UDP"'),
    ("a: 2024-13-45\n", manifests.ManifestError, "a value cannot be read"),
    ("a: " + "9" * 5000 + "\n", manifests.ManifestError, "a value cannot be read"),
    (b"\xff\xfe\x00", manifests.ManifestError, "YAML: "),
    (5, manifests.ManifestError, "YAML: expected text, got int"),
])
def test_bad_manifests_get_clear_errors(text, error, says):
    err = refused(lambda c: manifests.service_from_yaml(text, c), error)
    assert says in str(err)


class _NoStr:
    """An address-shaped slot holding something whose text is huge (a fuzz find: str() of a list nested
    30 deep, each level twice, runs for minutes); the manifest reader must never ask for it."""

    def __str__(self) -> str:
        raise AssertionError("str() called on a value that is not an address")

    __repr__ = __str__


def test_cluster_ips_that_are_not_text_are_refused_without_writing_them_out():
    doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
           "spec": {"ports": [{"port": 80}], "clusterIPs": [[["x"]] * 2, [["x"]] * 2]}}
    err = refused(lambda c: manifests.service_from_manifest(doc, c), InvalidService)
    assert "clusterIPs[0]" in str(err) or "clusterIP" in str(err)
    for value in ([_NoStr(), _NoStr()], [_NoStr(), "fd00::1"]):
        doc["spec"]["clusterIPs"] = value
        with pytest.raises(InvalidService):
            manifests.service_from_manifest(doc, k8s.examples.uneven())


def test_a_valid_cluster_ip_is_kept():
    c = k8s.examples.uneven()
    svc = manifests.service_from_yaml(SERVICE + "spec: {selector: {app: web}, ports: [{port: 80}], clusterIP: 10.96.0.50}\n", c)[0]
    assert svc.cluster_ip == IPv4Address("10.96.0.50") and c.service("db").cluster_ip == svc.cluster_ip
    err = refused(lambda c: manifests.service_from_yaml(SERVICE.replace("db", "db2") + "spec: {ports: [{port: 80}], "
                                                        "clusterIP: 10.96.0.50}\n", c), InvalidService, c)
    assert "provided IP is already allocated" in str(err)


def test_a_multi_document_stream_is_imported_all_or_nothing():
    good = SERVICE + "spec: {selector: {app: web}, ports: [{port: 80}]}\n"
    bad = "---\n" + SERVICE.replace("db", "db2") + "spec: {ports: [{port: 0}]}\n"
    err = refused(lambda c: manifests.service_from_yaml(good + bad, c), InvalidService)
    assert "spec.ports[0].port: Invalid value: 0" in str(err)
    c = k8s.examples.uneven()
    assert [s.name for s in manifests.service_from_yaml(good + "---\n" + good.replace("db", "db2"), c)] == ["db", "db2"]
    assert [s.name for s in c.services] == ["web", "db", "db2"]


# ------------------------------------------------------------------------------ 6. proxies and proxychain
def test_parse_xff_reads_bytes_and_never_raises_on_header_text():
    assert proxies.parse_xff(b"1.2.3.4") == (IPv4Address("1.2.3.4"),)
    assert proxies.parse_xff([b"1.2.3.4, unknown", "10.0.0.1"]) == (IPv4Address("1.2.3.4"), "unknown",
                                                                       IPv4Address("10.0.0.1"))
    assert proxies.parse_xff(b"\xff\xfe") == ("\xff\xfe",)  # ISO-8859-1: every byte string reads
    for value in (5, {"a": 1}, [1], object()):
        with pytest.raises(proxies.HeaderError):
            proxies.parse_xff(value)


@pytest.mark.parametrize("make, error, says", [
    (lambda: proxies.ForwardedElement(extensions=(("a",),)), proxies.ForwardedHeaderError, "is not a (name, value) pair"),
    (lambda: proxies.ForwardedElement(for_=5), proxies.ForwardedHeaderError, "for=5 is not text"),
    (lambda: proxychain.Proxy("cdn", "bogus"), proxies.AddressError, 'proxy "cdn": ip: "bogus" is not an IP address'),
    (lambda: proxychain.follow([], client="bogus"), proxies.AddressError, 'client: "bogus" is not an IP address'),
    (lambda: proxychain.App(trusted=["bogus"]), proxies.AddressError, "trusted: 'bogus' is not an IP network"),
    (lambda: proxychain.follow("cdn"), InvalidChange, "is not a list of Proxy hops"),
    (lambda: proxychain.follow([], ip_mode="Direct"), InvalidChange, 'ip_mode="Direct" is not one of VIP, Proxy'),
    (lambda: proxies.client_ip("10.0.0.1", 5), proxies.HeaderError, "chain: 5 is not a header value"),
])
def test_proxy_arguments_raise_package_errors(make, error, says):
    with pytest.raises(error) as err:
        make()
    assert says in str(err.value) and err.value.hint


def test_app_trusts_networks_like_client_ip_does():
    app = proxychain.App(trusted=["10.0.0.1/8"])  # host bits dropped, as client_ip(trusted=...) does
    assert app.trusted == proxies.trusted_networks("10.0.0.1/8") == (IPv4Network("10.0.0.0/8"),)
    assert proxychain.App(trusted="10.0.0.0/8").trusted == app.trusted  # one string is one network


def test_client_ip_by_hops_counts_the_peer_as_hop_zero():
    chain = "1.2.3.4, 203.0.113.7, 10.0.0.4"
    assert proxies.client_ip_by_hops("10.0.0.5", chain, hops=0) == IPv4Address("10.0.0.5")
    assert proxies.client_ip_by_hops("10.0.0.5", chain, hops=1) == IPv4Address("10.0.0.4")
    assert proxies.client_ip_by_hops("10.0.0.5", chain, hops=2) == IPv4Address("203.0.113.7")
    doc = proxies.client_ip_by_hops.__doc__
    assert "hop 1 is the peer" not in doc and "``hops=1`` (the peer is your one proxy) the last header entry" in doc


# ------------------------------------------------------------------------------ 7. a warning turned into an error
def test_a_warning_escalated_to_an_error_leaves_the_service_out():
    c = k8s.examples.uneven()
    before = state(c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(K8sLearnWarning, match="matches no pods"):
            c.add_service("db", selector={"app": "none"})
        assert state(c) == before
        with pytest.raises(K8sLearnWarning):
            c.patch_service("web", selector={"app": "none"})
        assert state(c) == before
    # Without -W error it is a warning, and the change is made.
    with pytest.warns(K8sLearnWarning):
        c.add_service("db", selector={"app": "none"})
    assert c.service("db").selector == {"app": "none"}


def test_a_warning_escalated_during_an_import_undoes_the_whole_stream():
    text = (SERVICE + "spec: {selector: {app: web}, ports: [{port: 80}]}\n---\n"
            + SERVICE.replace("db", "db2") + "spec: {selector: {app: none}, ports: [{port: 80}]}\n")
    c = k8s.examples.uneven()
    before = state(c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(K8sLearnWarning):
            manifests.service_from_yaml(text, c)
    assert state(c) == before


def test_atomic_puts_everything_back():
    c = k8s.examples.uneven()
    before = state(c)
    with pytest.raises(InvalidChange), c.atomic():
        c.move_pod("web-1", "node-c")
        c.add_node("node-d")
        c.scale("web", -1)
    assert state(c) == before
    with c.atomic():
        c.move_pod("web-1", "node-c")
    assert c.pod("web-1").node == "node-c" and c.version == before[3] + 1


# ------------------------------------------------------------------------------ 9. the load-balancer pool
def test_load_balancer_addresses_stay_in_203_0_113_100_to_199():
    c = Cluster.from_layout([1], type="ClusterIP")
    got = [c.add_service(f"s{i}", type="LoadBalancer", selector={"app": "web"}).load_balancer_ip for i in range(100)]
    assert got[0] == LB_POOL[0] == IPv4Address("203.0.113.100") and got[-1] == LB_POOL[1] == IPv4Address("203.0.113.199")
    err = refused(lambda c: c.add_service("s100", type="LoadBalancer", selector={"app": "web"}), InvalidChange, c)
    assert first_line(err) == "no load-balancer address left: the pool 203.0.113.100-203.0.113.199 is used up"
    assert "<pending>" in err.hint
    c.delete_service("s7")
    assert c.add_service("s100", type="LoadBalancer", selector={"app": "web"}).load_balancer_ip == IPv4Address("203.0.113.107")


def test_external_ip_for_stays_in_its_range_too():
    c = k8s.examples.uneven()
    for _ in range(55):
        c.patch_service("web", external_ips=[*c.service("web").external_ips, c.external_ip_for("web")])
    assert max(c.service("web").external_ips) == IPv4Address("203.0.113.254")
    with pytest.raises(InvalidChange, match="no externalIP address left"):
        c.external_ip_for("web")


# ------------------------------------------------------------------------------ 10. one answer to "is it a pod?"
OUTSIDE_POD = Source("pod", IPv4Address("10.0.0.2"))  # says "pod", but outside the cluster CIDR 10.244.0.0/16
INSIDE = Source("external", IPv4Address("10.244.9.9"))  # says "external", but inside it


def test_a_source_outside_the_cluster_cidr_is_not_a_pod_for_either_rule():
    c = k8s.examples.uneven(external_traffic_policy="Local")
    assert from_pod(KubeProxy(), c, OUTSIDE_POD) is False
    # ClusterIP: IfNotLocal -> masquerade.
    d = decide(c, "web", node="node-a", source=OUTSIDE_POD, destination="clusterIP")
    assert d.snat == "always" and "KUBE-MARK-MASQ" in d.steps
    # Local LB IP: no IfLocal short-circuit either, so only node-a's own endpoints, like any outside client.
    d = decide(c, "web", node="node-a", source=OUTSIDE_POD, destination="loadBalancerIP")
    assert [e.pod for e in d.endpoints] == ["web-1", "web-2"] and d.snat == "never"
    d = decide(c, "web", node="node-c", source=OUTSIDE_POD, destination="loadBalancerIP")
    assert d.verdict == "DROP"


def test_a_source_inside_the_cluster_cidr_is_a_pod_for_both_rules():
    c = k8s.examples.uneven(external_traffic_policy="Local")
    assert from_pod(KubeProxy(), c, INSIDE) is True
    assert decide(c, "web", node="node-c", source=INSIDE, destination="clusterIP").snat == "never"
    d = decide(c, "web", node="node-c", source=INSIDE, destination="loadBalancerIP")
    assert d.verdict == "DNAT" and len(d.endpoints) == 3 and d.snat == "never"  # short-circuited to all endpoints


def test_without_a_local_detector_neither_rule_is_written():
    c = k8s.examples.uneven(external_traffic_policy="Local")
    dp = KubeProxy(detect_local=False)
    real_pod = Source("pod", IPv4Address("10.244.1.5"), node="node-a", pod="web-1")
    assert from_pod(dp, c, real_pod) is None
    assert decide(c, "web", node="node-c", source=real_pod, destination="clusterIP", dataplane=dp).snat == "never"
    assert decide(c, "web", node="node-c", source=real_pod, destination="loadBalancerIP", dataplane=dp).verdict == "DROP"


@pytest.mark.parametrize("make, says", [
    (lambda: Source("Pod", IPv4Address("10.244.1.5")), "kind \"Pod\" is not one of"),
    (lambda: Source("pod", "bogus"), 'ip "bogus" is not an IP address'),
    (lambda: decide(k8s.examples.uneven(), "web", node="node-a", source="external", destination="clusterIP"),
     'source: "external" is not a Source'),
    (lambda: KubeProxy(masquerade_all="no"), 'masquerade_all="no" must be True or False'),
])
def test_sources_and_dataplanes_check_their_fields(make, says):
    with pytest.raises(K8sLearnError) as err:
        make()
    assert says in str(err.value)


def test_source_accepts_text_addresses():
    assert Source("external", "198.51.100.7").ip == IPv4Address("198.51.100.7")


# ------------------------------------------------------------------------------ the fields issue 13 added
@pytest.mark.parametrize("change, error, says", [
    (lambda c: c.patch_service("web", load_balancer_source_ranges="198.51.100.0/24"), InvalidService,
     'spec.LoadBalancerSourceRanges: Invalid value: "198.51.100.0/24": must be a list of CIDRs'),
    (lambda c: c.patch_service("web", load_balancer_source_ranges=[5]), InvalidService,
     "spec.LoadBalancerSourceRanges[0]: Invalid value: 5: must be a valid CIDR value"),
    (lambda c: c.patch_service("web", session_affinity=["ClientIP"]), InvalidService,
     "spec.sessionAffinity: Unsupported value: ['ClientIP']"),
    (lambda c: c.patch_service("web", session_affinity="ClientIP", session_affinity_timeout=1.5), InvalidService,
     "timeoutSeconds: Invalid value: 1.5: must be an integer"),
    (lambda c: c.add_network_policy("np", ingress="bogus"), k8s.errors.InvalidNetworkPolicy,
     'spec.ingress: Invalid value: "bogus": must be a list of ingress rules'),
    (lambda c: c.add_network_policy("np", ingress=[{"from": [{"ipBlock": 5}]}]), k8s.errors.InvalidNetworkPolicy,
     "spec.ingress[0].from[0].ipBlock: Invalid value: 5: must be a mapping"),
    (lambda c: c.add_network_policy("Bad Name"), k8s.errors.InvalidNetworkPolicy, "a lowercase RFC 1123 subdomain"),
    (lambda c: c.add_network_policy("np", pod_selector={"app": 1}), k8s.errors.InvalidNetworkPolicy,
     "spec.podSelector: Invalid value: 1: a label value must be a string"),
    (lambda c: c.network_policy(["x"]), NotFound, "not found"),
])
def test_source_ranges_affinity_and_network_policies_check_their_types(change, error, says):
    err = refused(change, error)
    assert says in str(err)


def test_follow_accepts_an_ipv6_client():
    path = proxychain.follow(proxychain.cdn_chain(), client="2001:db8::7")
    assert str(path.client) == "2001:db8::7"


# ------------------------------------------------------------------------------ proxies in front, the app behind
@pytest.mark.parametrize("kwargs, says", [
    ({"proxies": [5]}, "proxies: 5 is not a Proxy"),
    ({"proxies": 5}, "proxies=5 is not a list of Proxy hops"),
    ({"proxies": "cdn"}, 'proxies="cdn" is not a list of Proxy hops'),
    ({"proxies": proxychain.Proxy("CDN", "203.0.113.50", "L7")}, "is not a list of Proxy hops"),
    ({"app": 5}, "app=5 is not an App"),
    ({"x_forwarded_for": 5}, "x_forwarded_for=5 is not header text"),
])
def test_send_and_sessions_refuse_what_is_not_a_proxy_or_an_app(kwargs, says):
    err = refused(lambda c: k8s.send(c, "web", **kwargs), InvalidChange)
    assert says in str(err)
    if "proxies" in kwargs:  # the same words from sessions and from proxychain.follow
        assert says in str(refused(lambda c: k8s.sessions(c, "web", seed=0, **kwargs), InvalidChange))
        assert says in str(refused(lambda c: proxychain.follow(kwargs["proxies"]), InvalidChange))
