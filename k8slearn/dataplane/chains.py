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

nftables mode (``pkg/proxy/nftables/proxier.go``, ``hashAndTruncate``,
``servicePortChainNameBase``, ``servicePortEndpointChainNameBase``) names its chains readably: a
prefix (``service-``, ``local-``, ``external-``, ``firewall-``, ``endpoint-``, ``affinity-``), the
first 8 characters of the base32 of ``sha256`` of the readable part, a dash, and the readable part
``<namespace>/<name>/<protocol>/<portName>`` (``__<ip>/<port>`` more for an endpoint, with an IPv6
address's colons written as dots).

>>> nft_service_chain("ns1", "svc1", port_name="p80")
'service-ULMVA6XW-ns1/svc1/tcp/p80'
>>> nft_endpoint_chain("ns1", "svc1", "10.180.0.1", 80, port_name="p80")
'endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80'
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

__all__ = ["port_hash", "service_chain", "local_chain", "external_chain", "firewall_chain", "endpoint_chain",
           "probability", "nft_base", "nft_endpoint_base", "nft_service_chain", "nft_local_chain",
           "nft_external_chain", "nft_firewall_chain", "nft_endpoint_chain", "nft_affinity_set"]


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


# --------------------------------------------------------------------------- nftables mode

#: knftables.NameLengthMax (256) minus the longest prefix kube-proxy allows for (16).
_NFT_BASE_MAX = 256 - 16


@lru_cache(maxsize=65536)
def _hash_and_truncate(name: str) -> str:
    # proxier.go hashAndTruncate: 8 base32 characters of sha256(name), "-", name; "..." if too long.
    digest = hashlib.sha256(name.encode()).digest()
    out = base64.b32encode(digest).decode()[:8] + "-" + name
    if len(out) > _NFT_BASE_MAX:
        out = out[:_NFT_BASE_MAX - 3] + "..."
    return out


def nft_base(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """The readable, hashed part of a service port's nftables chain names.

    >>> nft_base("testing", "service", port_name="http")
    'P4ZYZVCF-testing/service/tcp/http'
    """
    return _hash_and_truncate(f"{namespace}/{name}/{protocol.lower()}/{port_name}")


def nft_endpoint_base(namespace: str, name: str, ip: object, port: int, *, port_name: str = "",
                      protocol: str = "TCP") -> str:
    """The hashed part of an endpoint's chain (and affinity set) name.

    >>> nft_endpoint_base("testing", "service", "fd80:abcd:12::a1b2:c3d4:e5f6:9999", 80, port_name="http")
    'U7E2ET36-testing/service/tcp/http__fd80.abcd.12..a1b2.c3d4.e5f6.9999/80'
    """
    address = str(ip).replace(":", ".")
    return _hash_and_truncate(f"{namespace}/{name}/{protocol.lower()}/{port_name}__{address}/{port}")


def nft_service_chain(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """``service-*``: the random choice over all endpoints (nftables' ``KUBE-SVC-*``)."""
    return "service-" + nft_base(namespace, name, port_name=port_name, protocol=protocol)


def nft_local_chain(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """``local-*``: this node's endpoints only (nftables' ``KUBE-SVL-*``)."""
    return "local-" + nft_base(namespace, name, port_name=port_name, protocol=protocol)


def nft_external_chain(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """``external-*``: NodePort, load-balancer IP and externalIP traffic (nftables' ``KUBE-EXT-*``)."""
    return "external-" + nft_base(namespace, name, port_name=port_name, protocol=protocol)


def nft_firewall_chain(namespace: str, name: str, *, port_name: str = "", protocol: str = "TCP") -> str:
    """``firewall-*``: the ``loadBalancerSourceRanges`` check (nftables' ``KUBE-FW-*``)."""
    return "firewall-" + nft_base(namespace, name, port_name=port_name, protocol=protocol)


def nft_endpoint_chain(namespace: str, name: str, ip: object, port: int, *, port_name: str = "",
                       protocol: str = "TCP") -> str:
    """``endpoint-*``: the DNAT to one endpoint (nftables' ``KUBE-SEP-*``)."""
    return "endpoint-" + nft_endpoint_base(namespace, name, ip, port, port_name=port_name, protocol=protocol)


def nft_affinity_set(namespace: str, name: str, ip: object, port: int, *, port_name: str = "",
                     protocol: str = "TCP") -> str:
    """``affinity-*``: the set of client addresses stuck to one endpoint (``sessionAffinity: ClientIP``)."""
    return "affinity-" + nft_endpoint_base(namespace, name, ip, port, port_name=port_name, protocol=protocol)
