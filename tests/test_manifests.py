"""Manifests: everything exported validates against Kubernetes 1.35's schema (strict) and our validation,
and Services survive a round trip through YAML."""

from __future__ import annotations

import warnings

import pytest

from k8slearn import examples, manifests
from k8slearn.errors import InvalidChange, InvalidService, K8sLearnWarning
from k8slearn.model import Cluster

kubernetes_validate = pytest.importorskip("kubernetes_validate")
yaml = pytest.importorskip("yaml")


def _valid(doc: dict) -> None:
    kubernetes_validate.validate(doc, "1.35", strict=True)


def _clusters():
    yield "uneven", examples.uneven()
    yield "uneven-local", examples.uneven(external_traffic_policy="Local")
    yield "one-two", examples.one_two()
    yield "zones", examples.zones()
    nodeport = Cluster.from_layout([1, 1], type="NodePort", external_traffic_policy="Local")
    yield "nodeport-local", nodeport
    itp = Cluster.from_layout([1, 1], type="ClusterIP", internal_traffic_policy="Local")
    yield "clusterip-itp-local", itp
    ext = Cluster.from_layout([1, 1], type="ClusterIP")
    ext.patch_service("web", external_ips=[ext.external_ip_for("web")], external_traffic_policy="Local",
                      traffic_distribution="PreferClose")
    yield "clusterip-externalip-local", ext


@pytest.mark.parametrize("spread", manifests.SPREAD)
@pytest.mark.parametrize("pin", [False, True])
@pytest.mark.parametrize(("name", "cluster"), list(_clusters()), ids=[n for n, _ in _clusters()])
def test_everything_exported_validates_strictly_against_1_35(name, cluster, spread, pin):
    docs = manifests.export(cluster, "web", spread=spread, client=True, pin_addresses=pin)
    for doc in docs:
        _valid(doc)
    # The YAML stream is the same objects.
    assert manifests.from_yaml(manifests.to_yaml(docs)) == docs


def test_pinned_layout_validates_and_follows_the_model():
    c = examples.uneven()
    docs = manifests.export(c, node_map={"node-a": "kind-worker", "node-b": "kind-worker2", "node-c": "kind-worker3"})
    for doc in docs:
        _valid(doc)
    pods = [d for d in docs if d["kind"] == "Pod"]
    assert [(p["metadata"]["name"], p["spec"]["nodeName"]) for p in pods] == [
        ("web-1", "kind-worker"), ("web-2", "kind-worker"), ("web-3", "kind-worker2")]
    assert all(p["metadata"]["labels"] == {"app": "web"} for p in pods)


def test_node_map_must_cover_the_pods():
    with pytest.raises(InvalidChange, match="node-b"):
        manifests.export(examples.uneven(), node_map={"node-a": "kind-worker"})


def test_yaml_uses_camel_case_api_names():
    text = manifests.to_yaml(manifests.export(examples.uneven(external_traffic_policy="Local"), spread="topology-spread"))
    for field in ("externalTrafficPolicy:", "internalTrafficPolicy:", "targetPort:", "nodePort:",
                  "topologySpreadConstraints:", "maxSkew:", "whenUnsatisfiable:", "matchLabels:"):
        assert field in text
    assert "_" not in "".join(line.split(":")[0] for line in text.splitlines() if ":" in line)


def test_spread_forms():
    c = examples.uneven()
    pref = manifests.deployment_manifest(c, "web", spread="anti-affinity")["spec"]["template"]["spec"]
    term = pref["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["weight"] == 100 and term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    req = manifests.deployment_manifest(c, "web", spread="anti-affinity-required")["spec"]["template"]["spec"]
    assert req["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
        "labelSelector"] == {"matchLabels": {"app": "web"}}
    tsc = manifests.deployment_manifest(c, "web", spread="topology-spread")["spec"]["template"]["spec"]
    assert tsc["topologySpreadConstraints"][0]["maxSkew"] == 1
    assert tsc["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"
    with pytest.raises(InvalidChange, match="anti-affinity"):
        manifests.deployment_manifest(c, "web", spread="spread-please")


@pytest.mark.parametrize(("name", "cluster"), list(_clusters()), ids=[n for n, _ in _clusters()])
def test_service_round_trip(name, cluster):
    svc = cluster.service("web")
    text = manifests.to_yaml(manifests.service_manifest(cluster, "web", namespace="default", pin_addresses=True))
    back = manifests.service_from_yaml(text)[0]
    for field in ("name", "type", "port", "target_port", "node_port", "external_ips", "external_traffic_policy",
                  "internal_traffic_policy", "health_check_node_port", "traffic_distribution", "cluster_ip",
                  "namespace"):
        assert getattr(back, field) == getattr(svc, field), field
    assert dict(back.selector) == dict(svc.selector)


def test_import_into_a_cluster_defaults_and_allocates():
    c = Cluster.from_layout([1, 2], type="ClusterIP", service="db")
    text = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: db}
  ports: [{port: 80, targetPort: 8080}]
"""
    svc = manifests.service_from_yaml(text, c)[0]
    assert c.service("web") == svc
    assert svc.node_port is not None and svc.health_check_node_port is not None  # allocated
    assert [e.pod for e in c.endpoints("web")] == ["db-1", "db-2", "db-3"]


def test_import_reports_every_api_server_error_at_once():
    doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "ClusterIP", "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Nearby",
                    "healthCheckNodePort": 32000, "ports": [{"port": 80}]}}
    # The schema alone accepts this (FACTS/NOTES: API-server rules need our own validation) ...
    kubernetes_validate.validate(doc, "1.35", strict=True)
    # ... our validation does not, and says everything that is wrong.
    with pytest.raises(InvalidService) as err:
        manifests.service_from_manifest(doc)
    text = str(err.value)
    assert 'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services' in text
    assert 'spec.internalTrafficPolicy: Unsupported value: "Nearby"' in text
    assert "spec.healthCheckNodePort: Invalid value: 32000" in text


def test_import_refuses_what_the_model_cannot_hold_and_warns_about_ignored_fields():
    two_ports = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                 "spec": {"ports": [{"port": 80, "name": "a"}, {"port": 443, "name": "b"}]}}
    with pytest.raises(InvalidService, match="one port"):
        manifests.service_from_manifest(two_ports)
    with pytest.raises(InvalidChange, match="kind Service"):
        manifests.service_from_manifest({"apiVersion": "apps/v1", "kind": "Deployment"})
    classed = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"type": "LoadBalancer", "loadBalancerClass": "example.com/lb", "ports": [{"port": 80}]}}
    with pytest.warns(K8sLearnWarning, match="loadBalancerClass"):
        svc = manifests.service_from_manifest(classed)
    assert svc.external_traffic_policy == "Cluster"  # defaulted as the API server does


def test_source_ranges_and_session_affinity_round_trip():
    c = examples.uneven()
    c.patch_service("web", load_balancer_source_ranges=[" 203.0.113.0/25"], session_affinity="ClientIP")
    doc = manifests.service_manifest(c, "web")
    assert doc["spec"]["loadBalancerSourceRanges"] == ["203.0.113.0/25"]
    assert doc["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svc = manifests.service_from_manifest(doc)
    assert [str(r) for r in svc.load_balancer_source_ranges] == ["203.0.113.0/25"]
    assert (svc.session_affinity, svc.session_affinity_timeout) == ("ClientIP", 10800)
    doc["spec"]["type"] = "NodePort"
    with pytest.raises(InvalidService, match="LoadBalancerSourceRanges: Forbidden"):
        manifests.service_from_manifest(doc)


def test_exported_service_keeps_the_chain_names_of_a_real_node():
    # Same namespace and name on a real cluster => the same KUBE-SVC-/KUBE-EXT- hashes in iptables-save.
    from k8slearn.dataplane import chains

    c = examples.uneven()
    doc = manifests.service_manifest(c, "web", namespace="default")
    assert "name" not in doc["spec"]["ports"][0]  # unnamed port: "default/web" is hashed, as in the model
    assert chains.service_chain(doc["metadata"]["namespace"], doc["metadata"]["name"]) == \
        chains.service_chain("default", "web")


def test_no_warnings_for_clean_round_trips():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        manifests.service_from_yaml(manifests.to_yaml(manifests.service_manifest(examples.uneven(), "web")))


def test_the_schema_check_is_not_vacuous():
    doc = manifests.service_manifest(examples.uneven(), "web")
    doc["spec"]["externalTrafficPolicyy"] = "Local"  # a typo strict mode must catch
    with pytest.raises(Exception, match="externalTrafficPolicyy"):
        _valid(doc)
