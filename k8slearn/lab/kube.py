"""Small ``kubectl`` helpers for the optional real-cluster lab (notebooks/11-real-cluster-lab.ipynb).

Everything goes through the ``kubectl`` on ``PATH`` and the current kubeconfig context, into one
dedicated namespace that :func:`delete_namespace` removes again. Nothing here is needed by the rest
of the course, and :func:`status` says in one sentence why the lab must be skipped when there is no
``kubectl`` or no reachable cluster.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import time
import urllib.request
from typing import Any

__all__ = ["status", "kubectl", "apply", "wait_ready", "nodes", "service", "load_balancer_ip", "get", "predicted_kinds",
           "classify", "delete_namespace", "HOW_TO_GET_A_CLUSTER"]

HOW_TO_GET_A_CLUSTER = """\
No Kubernetes cluster is reachable, so the real-cluster part is skipped (nothing else depends on it).
To run it, on a Linux machine with Docker:
  1. install kubectl  (https://kubernetes.io/docs/tasks/tools/)
  2. install kind     (go install sigs.k8s.io/kind@latest, or a release binary)
  3. kind create cluster --config - <<EOF
     kind: Cluster
     apiVersion: kind.x-k8s.io/v1alpha4
     nodes: [{role: control-plane}, {role: worker}, {role: worker}, {role: worker}]
     EOF
  4. for LoadBalancer services: run cloud-provider-kind (sigs.k8s.io/cloud-provider-kind) in another
     terminal, or install MetalLB with an address pool on the kind Docker network
then re-run this notebook."""


def kubectl(*args: str, input: str | None = None, timeout: float = 60, check: bool = True) -> str:
    """Run ``kubectl ARGS`` and return its stdout (raises ``RuntimeError`` with stderr if it fails)."""
    run = subprocess.run(["kubectl", *args], input=input, text=True, capture_output=True, timeout=timeout)
    if check and run.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {run.stderr.strip()}")
    return run.stdout


def status() -> str | None:
    """``None`` if kubectl reaches a cluster, else a one-line reason to skip."""
    if not shutil.which("kubectl"):
        return "kubectl is not installed"
    try:
        run = subprocess.run(["kubectl", "get", "nodes", "-o", "name", "--request-timeout=5s"], text=True,
                             capture_output=True, timeout=15)
    except subprocess.TimeoutExpired:
        return "kubectl did not answer within 15 s"
    if run.returncode != 0:
        first = (run.stderr.strip().splitlines() or ["no cluster"])[-1]
        return f"kubectl cannot reach a cluster ({first[:160]})"
    return None


def apply(yaml_text: str) -> str:
    """``kubectl apply -f -`` with the given manifests."""
    return kubectl("apply", "-f", "-", input=yaml_text)


def wait_ready(namespace: str, selector: str, *, timeout: int = 180) -> None:
    """Wait until the pods matching ``selector`` are Ready."""
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod", "-l", selector, f"--timeout={timeout}s",
            timeout=timeout + 10)


def nodes() -> list[dict[str, Any]]:
    """The cluster's nodes: name, InternalIP, pod CIDR, and whether they are schedulable workers."""
    data = json.loads(kubectl("get", "nodes", "-o", "json"))
    out = []
    for item in data["items"]:
        addresses = {a["type"]: a["address"] for a in item["status"].get("addresses", [])}
        taints = [t["key"] for t in item["spec"].get("taints", [])]
        out.append({"name": item["metadata"]["name"], "ip": addresses.get("InternalIP"),
                    "pod_cidr": item["spec"].get("podCIDR"),
                    "worker": "node-role.kubernetes.io/control-plane" not in taints})
    return out


def service(namespace: str, name: str) -> dict[str, Any]:
    return json.loads(kubectl("-n", namespace, "get", "service", name, "-o", "json"))


def load_balancer_ip(namespace: str, name: str, *, timeout: float = 90) -> str | None:
    """The Service's load-balancer address once the cloud (or cloud-provider-kind/MetalLB) assigns one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ingress = service(namespace, name)["status"].get("loadBalancer", {}).get("ingress") or []
        if ingress and ingress[0].get("ip"):
            return ingress[0]["ip"]
        time.sleep(2)
    return None


def get(url: str, *, timeout: float = 3) -> str | None:
    """One HTTP GET (a new TCP connection each time); ``None`` if it fails or times out."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode().strip()
    except OSError:
        return None


def classify(address: str, node_list: list[dict[str, Any]]) -> str:
    """What an address a pod saw is: ``"a node's IP"``, ``"a node's bridge address"`` or ``"the client's IP"``."""
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0].strip("[]"))
    for n in node_list:
        if n["ip"] and ip == ipaddress.ip_address(n["ip"]):
            return "a node's IP"
        if n["pod_cidr"] and ip in ipaddress.ip_network(n["pod_cidr"]):
            return "a node's bridge address"
    return "the client's IP"


def delete_namespace(namespace: str) -> None:
    """Remove the namespace and everything in it (waits until it is gone)."""
    kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=true", timeout=180)


def predicted_kinds(cluster: Any, node: str, *, service: str = "web") -> set[str]:
    """What the simulator says a pod sees for external connections to ``node``'s NodePort.

    The same words as :func:`classify`, plus ``"timeout"`` when kube-proxy drops the connection.

    >>> from k8slearn import examples
    >>> sorted(predicted_kinds(examples.uneven(), "node-a"))
    ["a node's IP", "a node's bridge address"]
    >>> predicted_kinds(examples.uneven(external_traffic_policy="Local"), "node-c")
    {'timeout'}
    """
    from ..dataplane import Source, decide
    from ..model import CLIENT_IP
    from ..trace import send

    here = cluster.node(node)
    d = decide(cluster, service, node=here.name, source=Source("external", CLIENT_IP), destination="nodePort")
    if d.verdict != "DNAT":
        return {"timeout"}
    kinds = set()
    for e in d.endpoints:
        t = send(cluster, service, via=here.name, address="nodePort", endpoint=e.pod, seed=0)
        if t.outcome != "delivered":
            kinds.add("timeout")
        elif t.source_seen_by_pod == CLIENT_IP:
            kinds.add("the client's IP")
        elif t.source_seen_by_pod == here.ip:
            kinds.add("a node's IP")
        else:
            kinds.add("a node's bridge address")
    return kinds
