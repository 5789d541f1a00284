"""Service validation and defaulting in the API server's own words (FACTS.md §2, §3).

The first line of each error is compared verbatim with the text kube-apiserver 1.35 returns
(``pkg/apis/core/validation/validation.go``, the NodePort allocator); the hint is checked only for
being there.
"""

from __future__ import annotations

import pytest

import k8slearn as k8s
from k8slearn.errors import FieldError, Invalid, InvalidService, K8sLearnError
from k8slearn.validation import ETP_MESSAGE_HISTORY, externally_accessible, needs_health_check, validate_service_spec

LOCAL_ON_CLUSTERIP = ('The Service "db" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": '
                      "may only be set for externally-accessible services")


def first_line(err: BaseException) -> str:
    return str(err).splitlines()[0]


def cluster():
    return k8s.examples.uneven()


# ---------------------------------------------------------------------------- externalTrafficPolicy
def test_local_on_plain_clusterip_uses_the_1_35_text():
    c = cluster()
    before = (c.services, c.version)
    with pytest.raises(InvalidService) as info:
        c.add_service("db", selector={"app": "web"}, external_traffic_policy="Local")
    assert first_line(info.value) == LOCAL_ON_CLUSTERIP
    assert str(info.value).splitlines()[1].startswith("Hint: ")
    assert info.value.hint
    assert [str(e) for e in info.value.errors] == [
        'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services']
    assert (c.services, c.version) == before


def test_local_on_clusterip_via_patch():
    c = cluster()
    c.add_service("db", selector={"app": "web"})
    with pytest.raises(InvalidService) as info:
        c.patch_service("db", external_traffic_policy="Local")
    assert first_line(info.value) == LOCAL_ON_CLUSTERIP


def test_cluster_value_on_plain_clusterip_is_also_invalid():
    # validateServiceExternalTrafficPolicy: any value on a non-external service is refused.
    with pytest.raises(InvalidService) as info:
        cluster().add_service("db", selector={"app": "web"}, external_traffic_policy="Cluster")
    assert first_line(info.value) == (
        'The Service "db" is invalid: spec.externalTrafficPolicy: Invalid value: "Cluster": '
        "may only be set for externally-accessible services")


def test_message_history_lists_the_older_texts():
    assert ETP_MESSAGE_HISTORY["1.35"] == (
        'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services')
    assert "ExternalTrafficPolicy can only be set on NodePort and LoadBalancer service" in ETP_MESSAGE_HISTORY["<=1.23"]
    assert "may only be set when `type` is 'NodePort' or 'LoadBalancer'" in ETP_MESSAGE_HISTORY["1.24-1.28"]


def test_clusterip_with_external_ips_accepts_local():
    c = cluster()
    svc = c.add_service("edge", selector={"app": "web"}, external_ips=["203.0.113.200"],
                        external_traffic_policy="Local")
    assert svc.type == "ClusterIP"
    assert svc.external_traffic_policy == "Local"
    assert svc.health_check_node_port is None  # only LoadBalancer + Local gets one
    assert svc.externally_accessible


@pytest.mark.parametrize("value", ["X", "local", "Locale", "cluster"])
def test_unsupported_policy_value(value):
    with pytest.raises(InvalidService) as info:
        cluster().patch_service("web", external_traffic_policy=value)
    assert first_line(info.value) == (
        f'The Service "web" is invalid: spec.externalTrafficPolicy: Unsupported value: "{value}": '
        'supported values: "Cluster", "Local"')


def test_unsupported_internal_policy_value():
    with pytest.raises(InvalidService) as info:
        cluster().patch_service("web", internal_traffic_policy="Node")
    assert first_line(info.value) == (
        'The Service "web" is invalid: spec.internalTrafficPolicy: Unsupported value: "Node": '
        'supported values: "Cluster", "Local"')


def test_unsupported_traffic_distribution():
    with pytest.raises(InvalidService) as info:
        cluster().patch_service("web", traffic_distribution="Nearest")
    assert first_line(info.value).startswith(
        'The Service "web" is invalid: spec.trafficDistribution: Unsupported value: "Nearest": supported values: ')
    for ok in ("PreferClose", "PreferSameZone", "PreferSameNode"):
        assert cluster().patch_service("web", traffic_distribution=ok).traffic_distribution == ok


def test_field_error_format():
    e = FieldError("spec.externalTrafficPolicy", "Unsupported value", '"X"', 'supported values: "Cluster", "Local"')
    assert str(e) == 'spec.externalTrafficPolicy: Unsupported value: "X": supported values: "Cluster", "Local"'


# ---------------------------------------------------------------------------- healthCheckNodePort
HCNP_DETAIL = "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"


@pytest.mark.parametrize("kwargs", [
    dict(type="NodePort", external_traffic_policy="Local"),
    dict(type="NodePort"),
    dict(type="LoadBalancer", external_traffic_policy="Cluster"),
    dict(type="LoadBalancer"),
    dict(type="ClusterIP", external_ips=["203.0.113.200"], external_traffic_policy="Local"),
])
def test_health_check_node_port_where_not_allowed(kwargs):
    c = cluster()
    before = (c.services, c.version)
    with pytest.raises(InvalidService) as info:
        c.add_service("np", selector={"app": "web"}, health_check_node_port=31000, **kwargs)
    assert first_line(info.value) == f'The Service "np" is invalid: spec.healthCheckNodePort: Invalid value: 31000: {HCNP_DETAIL}'
    assert (c.services, c.version) == before


def test_health_check_node_port_allowed_on_loadbalancer_local():
    svc = cluster().add_service("lb", type="LoadBalancer", selector={"app": "web"},
                                external_traffic_policy="Local", health_check_node_port=31555)
    assert svc.health_check_node_port == 31555


def test_health_check_node_port_is_immutable():
    c = k8s.examples.one_two()
    port = c.service("web").health_check_node_port
    before = (c.services, c.version)
    with pytest.raises(InvalidService) as info:
        c.patch_service("web", health_check_node_port=port + 1)
    # validation.go validateServiceExternalTrafficFieldsUpdate: field.Forbidden(path, "field is immutable")
    assert first_line(info.value) == 'The Service "web" is invalid: spec.healthCheckNodePort: Forbidden: field is immutable'
    assert [e.field for e in info.value.errors] == ["spec.healthCheckNodePort"]
    assert (c.services, c.version) == before
    # Setting the same value again is fine.
    assert c.patch_service("web", health_check_node_port=port).health_check_node_port == port


# ---------------------------------------------------------------------------- nodePort
@pytest.mark.parametrize("port", [80, 29999, 32768, 65535])
def test_node_port_out_of_range(port):
    c = cluster()
    before = (c.services, c.version)
    with pytest.raises(InvalidService) as info:
        c.add_service("np", type="NodePort", selector={"app": "web"}, node_port=port)
    assert first_line(info.value) == (
        f'The Service "np" is invalid: spec.ports[0].nodePort: Invalid value: {port}: '
        "provided port is not in the valid range. The range of valid ports is 30000-32767")
    assert (c.services, c.version) == before


@pytest.mark.parametrize("port", [30000, 32767])
def test_node_port_range_edges_are_valid(port):
    assert cluster().add_service("np", type="NodePort", selector={"app": "web"}, node_port=port).node_port == port


def test_node_port_already_taken():
    c = cluster()
    taken = c.service("web").node_port
    with pytest.raises(InvalidService) as info:
        c.add_service("np", type="NodePort", selector={"app": "web"}, node_port=taken)
    assert first_line(info.value) == (
        f'The Service "np" is invalid: spec.ports[0].nodePort: Invalid value: {taken}: provided port is already allocated')
    assert '"web"' in info.value.hint


def test_health_check_node_port_counts_as_taken():
    c = k8s.examples.one_two()
    hc = c.service("web").health_check_node_port
    with pytest.raises(InvalidService) as info:
        c.add_service("np", type="NodePort", selector={"app": "web"}, node_port=hc)
    assert "provided port is already allocated" in first_line(info.value)


def test_node_port_on_clusterip_is_forbidden():
    with pytest.raises(InvalidService) as info:
        cluster().add_service("db", selector={"app": "web"}, node_port=30500)
    assert first_line(info.value) == (
        "The Service \"db\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'")


def test_allocated_node_ports_are_unique():
    c = cluster()
    ports = {c.service("web").node_port}
    for i in range(5):
        svc = c.add_service(f"s{i}", type="NodePort", selector={"app": "web"})
        assert svc.node_port in range(30000, 32768)
        assert svc.node_port not in ports
        ports.add(svc.node_port)


# ---------------------------------------------------------------------------- all problems together
def test_multiple_errors_are_reported_together():
    c = cluster()
    before = (c.services, c.version)
    with pytest.raises(InvalidService) as info:
        c.add_service("m", type="LoadBalancer", selector={"app": "web"}, external_traffic_policy="X",
                      internal_traffic_policy="Y", node_port=5, health_check_node_port=31111)
    err = info.value
    assert [e.field for e in err.errors] == [
        "spec.externalTrafficPolicy", "spec.internalTrafficPolicy", "spec.healthCheckNodePort", "spec.ports[0].nodePort"]
    text = str(err)
    assert text.startswith('The Service "m" is invalid: ')
    for e in err.errors:
        assert str(e) in text
    assert 'spec.externalTrafficPolicy: Unsupported value: "X": supported values: "Cluster", "Local"' in text
    assert "spec.internalTrafficPolicy: Unsupported value: \"Y\"" in text
    assert f"spec.healthCheckNodePort: Invalid value: 31111: {HCNP_DETAIL}" in text
    assert "spec.ports[0].nodePort: Invalid value: 5: provided port is not in the valid range" in text
    assert text.count("Hint:") == 1 and len(err.hint.splitlines()) == 4  # one hint per problem
    assert (c.services, c.version) == before


def test_validate_service_spec_returns_every_problem():
    errors = validate_service_spec(type="NodePort", external_traffic_policy="Loc", internal_traffic_policy="Cluster",
                                   node_port=1, port=0, target_port=70000)
    fields = [e.field for e in errors]
    assert fields == ["spec.externalTrafficPolicy", "spec.ports[0].port", "spec.ports[0].targetPort",
                      "spec.ports[0].nodePort"]
    assert validate_service_spec(type="LoadBalancer", external_traffic_policy="Local",
                                 internal_traffic_policy="Local", health_check_node_port=31000) == []


def test_unknown_type():
    with pytest.raises(InvalidService) as info:
        cluster().add_service("x", type="Loadbalancer", selector={"app": "web"})
    assert first_line(info.value) == (
        'The Service "x" is invalid: spec.type: Unsupported value: "Loadbalancer": '
        'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')


def test_invalid_is_a_package_error():
    assert issubclass(InvalidService, Invalid) and issubclass(Invalid, K8sLearnError)


# ---------------------------------------------------------------------------- defaults
@pytest.mark.parametrize("type", ["NodePort", "LoadBalancer"])
def test_etp_defaults_to_cluster_on_external_services(type):
    svc = cluster().add_service("s", type=type, selector={"app": "web"})
    assert svc.external_traffic_policy == "Cluster"
    assert svc.internal_traffic_policy == "Cluster"


def test_etp_defaults_to_cluster_with_external_ips():
    svc = cluster().add_service("s", selector={"app": "web"}, external_ips=["203.0.113.200"])
    assert svc.external_traffic_policy == "Cluster"


def test_etp_stays_empty_on_plain_clusterip():
    svc = cluster().add_service("s", selector={"app": "web"})
    assert svc.external_traffic_policy is None
    assert svc.internal_traffic_policy == "Cluster"
    assert svc.node_port is None and svc.load_balancer_ip is None and svc.health_check_node_port is None


def test_hcnp_allocated_only_for_loadbalancer_local():
    c = cluster()
    assert c.service("web").health_check_node_port is None
    np = c.add_service("np", type="NodePort", selector={"app": "web"}, external_traffic_policy="Local")
    assert np.health_check_node_port is None
    lb = c.patch_service("web", external_traffic_policy="Local")
    assert lb.health_check_node_port in range(30000, 32768)
    assert lb.health_check_node_port != lb.node_port
    assert lb.health_check_node_port != np.node_port


def test_hcnp_dropped_when_switching_back_to_cluster():
    c = k8s.examples.one_two()
    assert c.service("web").health_check_node_port is not None
    svc = c.patch_service("web", external_traffic_policy="Cluster")
    assert svc.health_check_node_port is None
    # ... and a fresh one is allocated when switching to Local again.
    assert c.patch_service("web", external_traffic_policy="Local").health_check_node_port is not None


def test_hcnp_dropped_when_type_changes_to_nodeport():
    c = k8s.examples.one_two()
    svc = c.patch_service("web", type="NodePort")
    assert svc.external_traffic_policy == "Local"
    assert svc.health_check_node_port is None
    assert svc.load_balancer_ip is None
    assert svc.node_port is not None


def test_type_change_lb_to_clusterip_drops_etp_and_external_fields():
    c = k8s.examples.one_two()
    svc = c.patch_service("web", type="ClusterIP")
    assert svc.type == "ClusterIP"
    assert svc.external_traffic_policy is None
    assert svc.health_check_node_port is None
    assert svc.node_port is None
    assert svc.load_balancer_ip is None
    assert svc.cluster_ip == k8s.examples.one_two().service("web").cluster_ip  # the ClusterIP stays


def test_type_change_clusterip_to_lb_defaults_and_allocates():
    c = cluster()
    c.add_service("db", selector={"app": "web"})
    svc = c.patch_service("db", type="LoadBalancer", external_traffic_policy="Local")
    assert svc.external_traffic_policy == "Local"
    assert svc.node_port is not None and svc.load_balancer_ip is not None
    assert svc.health_check_node_port is not None


def test_helpers():
    assert externally_accessible("ClusterIP", []) is False
    assert externally_accessible("ClusterIP", ["203.0.113.200"]) is True
    assert externally_accessible("NodePort", []) and externally_accessible("LoadBalancer", [])
    assert needs_health_check("LoadBalancer", "Local")
    assert not needs_health_check("NodePort", "Local")
    assert not needs_health_check("LoadBalancer", "Cluster")
