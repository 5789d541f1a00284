"""kube-proxy's chain names, computed as kube-proxy computes them.

iptables mode (``pkg/proxy/iptables/proxier.go``, ``portProtoHash``): the suffix of ``KUBE-SVC-``,
``KUBE-SVL-``, ``KUBE-EXT-`` and ``KUBE-FW-`` is the first 16 characters of the base32 encoding of
``sha256("<namespace>/<name>[:<portName>]" + "tcp")``; ``KUBE-SEP-`` hashes the same string
followed by ``"<ip>:<port>"``. k8slearn's services have one unnamed port, so the port name is left
out, as ``ServicePortName.String()`` does for an unnamed port.

>>> service_chain("ns1", "svc1", port_name="p80")
'KUBE-SVC-XPGD46QRK7WJZT7O'
>>> endpoint_chain("ns1", "svc1", "10.180.0.1", 80, port_name="p80")
'KUBE-SEP-SXIVWICOYRO3J4NJ'
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

__all__ = ["port_hash", "service_chain", "local_chain", "external_chain", "firewall_chain", "endpoint_chain",
           "probability"]


def _service_port_name(namespace: str, name: str, port_name: str) -> str:
    return f"{namespace}/{name}" + (f":{port_name}" if port_name else "")


@lru_cache(maxsize=65536)
def port_hash(text: str) -> str:
    """The 16-character chain suffix kube-proxy derives from a string."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def _suffix(namespace: str, name: str, port_name: str, protocol: str) -> str:
    return port_hash(_service_port_name(namespace, name, port_name) + protocol.lower())


def service_chain(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """``KUBE-SVC-*``: the random choice over all (cluster-wide) endpoints."""
    return "KUBE-SVC-" + _suffix(namespace, name, port_name, protocol)


def local_chain(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """``KUBE-SVL-*``: the random choice over this node's endpoints only (Local policies)."""
    return "KUBE-SVL-" + _suffix(namespace, name, port_name, protocol)


def external_chain(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """``KUBE-EXT-*``: traffic to a NodePort, load-balancer IP or externalIP enters here."""
    return "KUBE-EXT-" + _suffix(namespace, name, port_name, protocol)


def firewall_chain(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """``KUBE-FW-*``: traffic to a load-balancer IP passes here when ``loadBalancerSourceRanges`` is set.

    >>> firewall_chain("ns5", "svc5", port_name="p80")
    'KUBE-FW-NUKIZ6OKUXPJNT4C'
    """
    return "KUBE-FW-" + _suffix(namespace, name, port_name, protocol)


def endpoint_chain(namespace: str, name: str, ip: object, port: int, *, port_name: str = "",
                   protocol: str = "TCP") -> str:
    """``KUBE-SEP-*``: the DNAT to one endpoint (and the hairpin masquerade rule)."""
    text = _service_port_name(namespace, name, port_name) + protocol.lower() + f"{ip}:{port}"
    return "KUBE-SEP-" + port_hash(text)


def probability(remaining: int) -> str:
    """The ``--probability`` kube-proxy writes when ``remaining`` endpoints are left to choose from.

    >>> [probability(n) for n in (3, 2)]
    ['0.3333333333', '0.5000000000']
    """
    return f"{1.0 / remaining:0.10f}"
