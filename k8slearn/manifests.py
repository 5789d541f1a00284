"""From the simulator to ``kubectl apply``: export the model as Kubernetes YAML, and import Services back.

:func:`export` turns a service of a :class:`~k8slearn.model.Cluster` into the objects a real
cluster needs: a Namespace, the Service, a Deployment running an echo server that reports the
client address it saw (agnhost ``netexec``: ``/clientip`` and ``/hostname``), optionally spread over
nodes with pod anti-affinity or ``topologySpreadConstraints``, and optionally a client Pod.
:func:`to_yaml` writes them as one multi-document YAML stream. Field names are the API's camelCase;
everything exported validates against the Kubernetes 1.35 OpenAPI schema in strict mode (see
tests/test_manifests.py). :func:`service_from_yaml` reads a Service back into the model, checked by
the same API-server validation the simulator applies.

Taught in notebooks/11-real-cluster-lab.ipynb.

>>> from k8slearn import examples
>>> svc = service_manifest(examples.uneven(external_traffic_policy="Local"), "web")
>>> svc["spec"]["externalTrafficPolicy"], svc["spec"]["ports"]
('Local', [{'protocol': 'TCP', 'port': 80, 'targetPort': 8080, 'nodePort': 30080}])
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address
from typing import Any

from .errors import FieldError, InvalidChange, InvalidService, K8sLearnWarning
from .model import Cluster, Pod, Service, ServiceRef
from .validation import (
    DEFAULT_AFFINITY_TIMEOUT,
    externally_accessible,
    parse_cidr,
    validate_service_spec,
)

__all__ = [
    "ECHO_IMAGE", "CLIENT_IMAGE", "SPREAD", "namespace_manifest", "service_manifest", "deployment_manifest",
    "pod_manifest", "client_manifest", "export", "to_yaml", "from_yaml", "service_from_manifest",
    "service_from_yaml",
]

#: The echo server: Kubernetes' own e2e test image; ``netexec`` answers ``/clientip`` with the
#: ``ip:port`` it saw and ``/hostname`` with the pod's name.
ECHO_IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.53"
#: A client with ``wget``, for requests from inside the cluster.
CLIENT_IMAGE = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"
#: The ways :func:`deployment_manifest` can spread pods over nodes.
SPREAD = (None, "anti-affinity", "anti-affinity-required", "topology-spread", "topology-spread-required")

_HOSTNAME = "kubernetes.io/hostname"


def _labels(cluster: Cluster, svc: Service) -> dict[str, str]:
    return dict(svc.selector) or {"app": svc.name}


def namespace_manifest(name: str) -> dict[str, Any]:
    """A Namespace, labelled so everything the course created is easy to find and delete."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "k8slearn"}}}


def service_manifest(cluster: Cluster, service: ServiceRef, *, namespace: str | None = None,
                     pin_addresses: bool = False) -> dict[str, Any]:
    """The Service as ``kubectl apply`` takes it.

    ``nodePort`` is kept (so the simulator and the real cluster use the same port); the ClusterIP,
    ``healthCheckNodePort`` and load-balancer address are left for the real cluster to allocate
    unless ``pin_addresses=True``.
    """
    svc = cluster.service(service)
    port: dict[str, Any] = {"protocol": "TCP", "port": svc.port, "targetPort": svc.target_port}
    if svc.node_port is not None:
        port["nodePort"] = svc.node_port
    spec: dict[str, Any] = {"type": svc.type, "selector": dict(svc.selector), "ports": [port]}
    if svc.external_ips:
        spec["externalIPs"] = [str(a) for a in svc.external_ips]
    if svc.external_traffic_policy:
        spec["externalTrafficPolicy"] = svc.external_traffic_policy
    spec["internalTrafficPolicy"] = svc.internal_traffic_policy
    if svc.traffic_distribution:
        spec["trafficDistribution"] = svc.traffic_distribution
    if svc.load_balancer_source_ranges:
        spec["loadBalancerSourceRanges"] = [str(r) for r in svc.load_balancer_source_ranges]
    if svc.session_affinity != "None":
        spec["sessionAffinity"] = svc.session_affinity
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": svc.session_affinity_timeout}}
    if pin_addresses:
        if svc.cluster_ip is not None:
            spec["clusterIP"] = str(svc.cluster_ip)
        if svc.health_check_node_port is not None:
            spec["healthCheckNodePort"] = svc.health_check_node_port
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": svc.name, "namespace": namespace or svc.namespace,
                         "labels": {"app.kubernetes.io/part-of": "k8slearn"}},
            "spec": spec}


def _echo_container(svc: Service) -> dict[str, Any]:
    return {
        "name": "echo",
        "image": ECHO_IMAGE,
        "args": ["netexec", f"--http-port={svc.target_port}"],
        "ports": [{"containerPort": svc.target_port, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": svc.target_port}, "periodSeconds": 2},
    }


def _spread(spread: str | None, labels: Mapping[str, str]) -> dict[str, Any]:
    selector = {"matchLabels": dict(labels)}
    term = {"labelSelector": selector, "topologyKey": _HOSTNAME}
    if spread is None:
        return {}
    if spread == "anti-affinity":
        return {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": term}]}}}
    if spread == "anti-affinity-required":
        return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}
    if spread in ("topology-spread", "topology-spread-required"):
        return {"topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": _HOSTNAME,
            "whenUnsatisfiable": "DoNotSchedule" if spread.endswith("required") else "ScheduleAnyway",
            "labelSelector": selector, "matchLabelKeys": ["pod-template-hash"]}]}
    raise InvalidChange(f"spread={spread!r} is not one of {SPREAD}",
                        hint='"anti-affinity" prefers one pod per node (a soft rule: weight 100); '
                        '"anti-affinity-required" allows at most one per node (extra replicas stay Pending); '
                        '"topology-spread" keeps per-node counts within maxSkew 1 (ScheduleAnyway), '
                        '"topology-spread-required" enforces it (DoNotSchedule).')


def deployment_manifest(cluster: Cluster, service: ServiceRef, *, namespace: str | None = None,
                        replicas: int | None = None, spread: str | None = None) -> dict[str, Any]:
    """A Deployment of echo servers selected by the service, ``replicas`` = the model's pod count.

    ``spread`` is ``None`` (the scheduler's default soft spreading), ``"anti-affinity"``
    (preferred pod anti-affinity on ``kubernetes.io/hostname``), ``"anti-affinity-required"``,
    ``"topology-spread"`` (``maxSkew: 1``, ``ScheduleAnyway``) or ``"topology-spread-required"``.

    >>> from k8slearn import examples
    >>> d = deployment_manifest(examples.uneven(), "web", spread="anti-affinity")
    >>> d["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"]
    'kubernetes.io/hostname'
    """
    svc = cluster.service(service)
    labels = _labels(cluster, svc)
    count = len(cluster.selected_pods(svc)) if replicas is None else replicas
    pod_spec: dict[str, Any] = {"containers": [_echo_container(svc)], **_spread(spread, labels)}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": svc.name, "namespace": namespace or svc.namespace,
                         "labels": {"app.kubernetes.io/part-of": "k8slearn"}},
            "spec": {"replicas": count, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}


def pod_manifest(cluster: Cluster, pod: Pod | str, *, namespace: str = "default",
                 node_name: str | None = None, service: ServiceRef | None = None) -> dict[str, Any]:
    """One echo-server Pod, pinned to a real node with ``nodeName`` to reproduce the model's layout.

    Use this instead of a Deployment when the real cluster must place pods exactly as the model does
    (``node_name`` maps the model's node to a real one, e.g. ``kind-worker``).
    """
    p = cluster.pod(pod)
    svc = cluster.service(service) if service is not None else next(
        (s for s in cluster.services if p in cluster.selected_pods(s)), None)
    spec: dict[str, Any] = {"containers": [_echo_container(svc) if svc else
                                           {"name": "echo", "image": ECHO_IMAGE, "args": ["netexec"]}]}
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": p.name, "namespace": namespace, "labels": dict(p.labels)},
            "spec": spec}


def client_manifest(*, namespace: str = "default", name: str = "client", node_name: str | None = None,
                    labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A client Pod with ``wget``, to send requests from inside the cluster (``kubectl exec``)."""
    spec: dict[str, Any] = {"containers": [{"name": "client", "image": CLIENT_IMAGE,
                                            "command": ["sleep", "3600"]}],
                            "terminationGracePeriodSeconds": 1}
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {"app": "client"})},
            "spec": spec}


def export(cluster: Cluster, service: ServiceRef = "web", *, namespace: str = "k8slearn",
           spread: str | None = None, node_map: Mapping[str, str] | None = None,
           client: bool = False, pin_addresses: bool = False) -> list[dict[str, Any]]:
    """Everything a real cluster needs for ``service``: Namespace, Service, pods, optional client.

    With ``node_map`` (model node -> real node name) the service's pods become Pods pinned to those
    nodes, reproducing the model's layout exactly; otherwise they are one Deployment (with
    ``spread``).

    >>> from k8slearn import examples
    >>> [d["kind"] for d in export(examples.uneven(), client=True)]
    ['Namespace', 'Service', 'Deployment', 'Pod']
    >>> [d["spec"]["nodeName"] for d in export(examples.uneven(), node_map={"node-a": "kind-worker",
    ...   "node-b": "kind-worker2", "node-c": "kind-worker3"})[2:]]
    ['kind-worker', 'kind-worker', 'kind-worker2']
    """
    svc = cluster.service(service)
    docs = [namespace_manifest(namespace), service_manifest(cluster, svc, namespace=namespace,
                                                            pin_addresses=pin_addresses)]
    if node_map is not None:
        missing = sorted({p.node for p in cluster.selected_pods(svc)} - set(node_map))
        if missing:
            raise InvalidChange(f"node_map has no real node for {', '.join(missing)}",
                                hint=f"map every model node that runs a pod, e.g. {{'{missing[0]}': 'kind-worker'}}.")
        docs += [pod_manifest(cluster, p, namespace=namespace, node_name=node_map[p.node], service=svc)
                 for p in cluster.selected_pods(svc)]
    else:
        docs.append(deployment_manifest(cluster, svc, namespace=namespace, spread=spread))
    if client:
        docs.append(client_manifest(namespace=namespace))
    return docs


def to_yaml(docs: dict[str, Any] | Iterable[dict[str, Any]]) -> str:
    """One YAML stream (documents separated by ``---``), field order as written, for ``kubectl apply -f``."""
    import yaml

    items = [docs] if isinstance(docs, Mapping) else list(docs)
    return yaml.safe_dump_all(items, sort_keys=False, default_flow_style=False)


def from_yaml(text: str) -> list[dict[str, Any]]:
    """The documents of a YAML stream (empty documents skipped)."""
    import yaml

    return [d for d in yaml.safe_load_all(text) if d]


# Fields of a Service spec the model has; the others are reported, not silently dropped.
_MODELLED = {"type", "selector", "ports", "externalIPs", "externalTrafficPolicy", "internalTrafficPolicy",
             "trafficDistribution", "clusterIP", "clusterIPs", "healthCheckNodePort", "ipFamilies",
             "ipFamilyPolicy", "sessionAffinity", "sessionAffinityConfig", "loadBalancerSourceRanges"}


def service_from_manifest(doc: Mapping[str, Any], cluster: Cluster | None = None) -> Service:
    """A Service object from its manifest, validated like the API server would.

    With ``cluster`` the service is added to it (defaulted and allocated like ``kubectl apply``
    would); without, the validated :class:`~k8slearn.model.Service` is returned on its own. Every
    problem is reported at once, in the API server's words.

    >>> c = Cluster.from_layout([1, 1])
    >>> doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
    ...        "spec": {"selector": {"app": "web"}, "externalTrafficPolicy": "Local",
    ...                 "ports": [{"port": 5432}]}}
    >>> service_from_manifest(doc, c)
    Traceback (most recent call last):
    ...
    k8slearn.errors.InvalidService: The Service "db" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services
    Hint: a ClusterIP service without externalIPs is reachable only inside the cluster, so there is no external traffic to keep local. Make it a NodePort or LoadBalancer service (or give it externalIPs), or use internalTrafficPolicy for traffic from pods.
    """
    if doc.get("kind") != "Service" or doc.get("apiVersion") != "v1":
        raise InvalidChange(f"expected apiVersion v1, kind Service; got {doc.get('apiVersion')!r}, {doc.get('kind')!r}",
                            hint="only Services are read back into the model; pods come from the layout.")
    meta = doc.get("metadata") or {}
    spec = dict(doc.get("spec") or {})
    name = meta.get("name")
    if not name:
        raise InvalidChange("metadata.name: Required value", hint="every object needs a name.")
    ignored = sorted(set(spec) - _MODELLED)
    affinity = spec.get("sessionAffinity", "None")
    timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
    ranges = tuple(spec.get("loadBalancerSourceRanges") or ())
    if ignored:
        warnings.warn(f"Service {name!r}: k8slearn does not model {', '.join(ignored)}; ignored",
                      K8sLearnWarning, stacklevel=2)
    ports = spec.get("ports") or []
    errors: list[FieldError] = []
    if len(ports) != 1:
        errors.append(FieldError("spec.ports", "Required value" if not ports else "Too many", str(len(ports)),
                                 "" if not ports else "k8slearn models one port per service",
                                 "give the service exactly one port (split others into their own service)."))
        raise InvalidService(name, errors)
    port = ports[0]
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, str):
        errors.append(FieldError("spec.ports[0].targetPort", "Unsupported value", f'"{target}"',
                                 "named target ports are not modelled", "use the container's port number."))
    type_ = spec.get("type", "ClusterIP")
    etp = spec.get("externalTrafficPolicy")
    external_ips = tuple(spec.get("externalIPs") or ())
    if etp is None and externally_accessible(type_, external_ips):
        etp = "Cluster"  # defaults.go
    itp = spec.get("internalTrafficPolicy", "Cluster")
    if not errors:
        errors += validate_service_spec(
            type=type_, external_ips=external_ips, external_traffic_policy=etp, internal_traffic_policy=itp,
            traffic_distribution=spec.get("trafficDistribution"), node_port=port.get("nodePort"),
            health_check_node_port=spec.get("healthCheckNodePort"), port=port.get("port"), target_port=target,
            selector=spec.get("selector"),
            taken_node_ports=cluster._taken_node_ports() if cluster is not None else None,
            load_balancer_source_ranges=ranges, session_affinity=affinity, session_affinity_timeout=timeout)
    if errors:
        raise InvalidService(name, errors)
    if cluster is not None:
        return cluster.add_service(
            name, type=type_, selector=spec.get("selector"), port=port["port"], target_port=target,
            node_port=port.get("nodePort"), external_ips=external_ips,
            external_traffic_policy=spec.get("externalTrafficPolicy"), internal_traffic_policy=itp,
            health_check_node_port=spec.get("healthCheckNodePort"),
            traffic_distribution=spec.get("trafficDistribution"), load_balancer_source_ranges=ranges,
            session_affinity=affinity, session_affinity_timeout=timeout)
    svc = Service(name, type=type_, selector=dict(spec.get("selector") or {}), port=port["port"],
                  target_port=target, node_port=port.get("nodePort"),
                  cluster_ip=IPv4Address(spec["clusterIP"]) if spec.get("clusterIP") not in (None, "", "None") else None,
                  external_ips=tuple(IPv4Address(a) for a in external_ips), external_traffic_policy=etp,
                  internal_traffic_policy=itp, health_check_node_port=spec.get("healthCheckNodePort"),
                  traffic_distribution=spec.get("trafficDistribution"),
                  load_balancer_source_ranges=tuple(parse_cidr(r) for r in ranges), session_affinity=affinity,
                  session_affinity_timeout=(timeout if timeout is not None else
                                            DEFAULT_AFFINITY_TIMEOUT if affinity == "ClientIP" else None))
    if meta.get("namespace"):
        svc = dataclasses.replace(svc, namespace=meta["namespace"])
    return svc


def service_from_yaml(text: str, cluster: Cluster | None = None) -> list[Service]:
    """Every Service in a YAML stream, read with :func:`service_from_manifest` (other kinds skipped)."""
    return [service_from_manifest(d, cluster) for d in from_yaml(text) if d.get("kind") == "Service"]
