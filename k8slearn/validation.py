"""Validation in the API server's own words (Kubernetes 1.35): Services, and the names and labels of
Nodes and Pods.

The rules and messages follow ``pkg/apis/core/validation/validation.go`` (``ValidateService``,
``validateServiceExternalTrafficPolicy``, ``ValidateObjectMeta``), the name and label formats of
``k8s.io/apimachinery`` (``pkg/api/validate/content``: ``IsDNS1123Subdomain``, ``IsDNS1035Label``,
``IsLabelKey``, ``IsLabelValue``; ``pkg/util/validation``: ``IsValidPortNum``, ``IsValidIP``) and the
NodePort and ClusterIP allocators in ``pkg/registry/core/service`` (``portallocator``,
``ipallocator``, ``storage/alloc.go``); the defaulting follows ``pkg/apis/core/v1/defaults.go`` and
the update strategy in ``pkg/registry/core/service/strategy.go``. Each error's first line is the API
server's text; the ``hint`` explains the rule for a learner.

A Python value the API could not even decode (a port given as ``True`` or ``30123.0``, a selector
that is not a mapping) gets the same ``field: Invalid value: ...`` form, saying what the field
takes. Bad values are quoted with :func:`k8slearn.errors.show`, so a message stays short whatever
was passed.

This module works on plain values (it imports nothing from the model), so the model can call it
before it commits a change.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from .errors import FieldError, InvalidChange, show

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
TRAFFIC_POLICIES = ("Cluster", "Local")
TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")
IP_MODES = ("Proxy", "VIP")
NODE_PORT_RANGE = range(30000, 32768)  # kube-apiserver --service-node-port-range default 30000-32767
SERVICE_CIDR = IPv4Network("10.96.0.0/12")  # kube-apiserver --service-cluster-ip-range (kubeadm's default)
#: The second --service-cluster-ip-range of a dual-stack cluster (the range upstream's tests use).
SERVICE_CIDR6 = IPv6Network("fd00:10:96::/112")
#: ``spec.ipFamilies`` values and ``spec.ipFamilyPolicy`` values (``core/v1/types.go``).
IP_FAMILIES = ("IPv4", "IPv6")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
#: At most this many externalIPs are read from one service (the API sets no limit; k8slearn keeps it small).
MAX_EXTERNAL_IPS = 64
#: At most this many loadBalancerSourceRanges are read from one service (likewise).
MAX_SOURCE_RANGES = 64
SESSION_AFFINITIES = ("ClientIP", "None")
#: ``sessionAffinityConfig.clientIP.timeoutSeconds``: defaults.go sets 10800 (3 hours); at most 86400.
DEFAULT_AFFINITY_TIMEOUT = 10800
MAX_AFFINITY_TIMEOUT = 86400
_CIDR_DETAIL = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

#: How the API server's message for Local on a non-external service read over time (FACTS.md §2).
ETP_MESSAGE_HISTORY = {
    "1.35": "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible services",
    "1.24-1.28": "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set when `type` is 'NodePort' or 'LoadBalancer'",
    "<=1.23": "spec.externalTrafficPolicy: Invalid value: \"Local\": ExternalTrafficPolicy can only be set on NodePort and LoadBalancer service",
}


def _quote(value: Any) -> str:
    return show(value)


def _supported(values: Iterable[str]) -> str:
    return "supported values: " + ", ".join(f'"{v}"' for v in values)


# --------------------------------------------------------------------------- plain values
def as_int(value: Any) -> int | None:
    """``value`` as a plain ``int`` if it is a whole number (``5``, ``numpy.int64(5)``), else None.

    Booleans are not numbers here (``port=True`` is a mistake), and neither are floats (``30123.0``
    would show as ``:30123.0`` in a trace).

    >>> as_int(80), as_int(True), as_int(80.0), as_int("80")
    (80, None, None, None)
    """
    if is_bool(value):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def is_bool(value: Any) -> bool:
    """Whether ``value`` is ``True`` or ``False`` (a Python or NumPy boolean)."""
    return isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool_", "bool"))


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a plain bool, or the error a learner needs when it is not one (``ready="false"``)."""
    if not is_bool(value):
        raise InvalidChange(f"{name}: Invalid value: {show(value)}: must be True or False",
                            hint=f"write {name}=True or {name}=False (a string such as \"false\" is not a boolean).")
    return bool(value)


def check_replicas(replicas: object) -> None:
    """Raise the API server's error for a replica count that is not a whole number >= 0."""
    count = as_int(replicas)
    if count is None or count < 0:
        raise InvalidChange(f"spec.replicas: Invalid value: {show(replicas)}: must be greater than or equal to 0",
                            hint="replicas is a whole number of pods, 0 or more.")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery's ``RegexError``: the rule, examples, and the regex itself."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = "".join(("" if i == 0 else " or ") + f"'{e}', " for i, e in enumerate(examples))
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _LABEL_KEY + ")?"
_RE = {fmt: re.compile(fmt) for fmt in (_DNS1123_SUBDOMAIN, _DNS1035_LABEL, _LABEL_KEY, _LABEL_VALUE)}


def _max_len(length: int) -> str:
    return f"must be no more than {length} bytes"


def dns1123_subdomain(value: str) -> list[str]:
    """``IsDNS1123Subdomain``: node and pod names, and label-key prefixes."""
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _RE[_DNS1123_SUBDOMAIN].fullmatch(value):
        errs.append(_regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                                 "'-' or '.', and must start and end with an alphanumeric character",
                                 _DNS1123_SUBDOMAIN, "example.com"))
    return errs


def dns1035_label(value: str) -> list[str]:
    """``IsDNS1035Label``: service names (they become DNS names: ``web.default.svc.cluster.local``)."""
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE[_DNS1035_LABEL].fullmatch(value):
        errs.append(_regex_error("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
                                 "with an alphabetic character, and end with an alphanumeric character",
                                 _DNS1035_LABEL, "my-name", "abc-123"))
    return errs


def label_key(value: str) -> list[str]:
    """``IsLabelKey``: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters."""
    rule = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character")
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) > 2:
        return ["a valid label key " + _regex_error(rule, _LABEL_KEY, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain(prefix)]
    else:
        name = parts[0]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _RE[_LABEL_KEY].fullmatch(name):
        errs.append("name part " + _regex_error(rule, _LABEL_KEY, "MyName", "my.name", "123-abc"))
    return errs


def label_value(value: str) -> list[str]:
    """``IsLabelValue``: empty, or at most 63 alphanumerics, '-', '_', '.' (alphanumeric at both ends)."""
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE[_LABEL_VALUE].fullmatch(value):
        errs.append(_regex_error("a valid label must be an empty string or consist of alphanumeric characters, '-', "
                                 "'_' or '.', and must start and end with an alphanumeric character",
                                 _LABEL_VALUE, "MyValue", "my_value", "12345"))
    return errs


_NAME_RULES = {
    "service": (dns1035_label, ('a Service\'s name becomes a DNS name (web.default.svc.cluster.local): lower-case '
                                'letters, digits and "-", starting with a letter, e.g. "web" or "my-api".')),
    "node": (dns1123_subdomain, ('node names are DNS subdomains: lower-case letters, digits, "-" and ".", '
                                 'starting and ending with a letter or digit, e.g. "node-d".')),
    "pod": (dns1123_subdomain, ('pod names are DNS subdomains: lower-case letters, digits, "-" and ".", '
                                'starting and ending with a letter or digit, e.g. "client" or "web-4".')),
    "networkpolicy": (dns1123_subdomain, ('NetworkPolicy names are DNS subdomains: lower-case letters, digits, "-" '
                                          'and ".", e.g. "office-only".')),
}


def name_errors(kind: str, name: Any) -> list[FieldError]:
    """``ValidateObjectMeta``'s checks of ``metadata.name`` for a ``"service"``, ``"node"`` or ``"pod"``.

    >>> [str(e) for e in name_errors("service", "Web_Service!")][0][:70]
    'metadata.name: Invalid value: "Web_Service!": a DNS-1035 label must co'
    """
    rule, hint = _NAME_RULES[kind]
    if name is None or (isinstance(name, str) and name == ""):
        return [FieldError("metadata.name", "Required value", "", "name or generateName is required", hint)]
    if not isinstance(name, str):
        return [FieldError("metadata.name", "Invalid value", show(name), "must be a string", hint)]
    return [FieldError("metadata.name", "Invalid value", show(name), msg, hint) for msg in rule(name)]


#: At most this many problems are listed for one map of labels (the count of the rest follows).
_MAX_LABEL_ERRORS = 5
_LABEL_HINT = ('labels are short text on both sides, e.g. {"app": "web"}: keys and values are letters, digits, '
               '"-", "_" and ".", at most 63 characters, starting and ending with a letter or digit.')


def label_errors(path: str, labels: Any) -> tuple[dict[str, str], list[FieldError]]:
    """``ValidateLabels``: a map of valid label keys to valid label values (a pod's labels, a selector).

    Returns the labels as a plain dict, and the problems (the first few, then how many more).
    """
    if labels is None:
        return {}, []
    if not isinstance(labels, Mapping):
        return {}, [FieldError(path, "Invalid value", show(labels), 'must be a map of label keys to values, e.g. {"app": "web"}',
                               _LABEL_HINT)]
    errors: list[FieldError] = []
    out: dict[str, str] = {}
    for key, value in labels.items():
        if isinstance(key, str):
            errors += [FieldError(path, "Invalid value", show(key), m, _LABEL_HINT) for m in label_key(key)]
        else:
            errors.append(FieldError(path, "Invalid value", show(key), "a label key must be a string", _LABEL_HINT))
        if isinstance(value, str):
            errors += [FieldError(path, "Invalid value", show(value), m, _LABEL_HINT) for m in label_value(value)]
        else:
            errors.append(FieldError(path, "Invalid value", show(value), "a label value must be a string", _LABEL_HINT))
        if not errors:
            out[str(key)] = str(value)  # plain str (a numpy.str_ would not write as YAML)
        elif len(errors) > _MAX_LABEL_ERRORS:
            break
    if len(errors) > _MAX_LABEL_ERRORS:
        errors = errors[:_MAX_LABEL_ERRORS] + [FieldError(path, "Invalid value", "", "more labels are invalid too (only the first are shown)")]
    return out, errors


def zone_errors(zone: Any) -> list[FieldError]:
    """A node's zone: the value of its ``topology.kubernetes.io/zone`` label (not empty)."""
    path = "metadata.labels[topology.kubernetes.io/zone]"
    hint = 'a zone is a label value such as "zone-a" or "eu-west-1a" (letters, digits, "-", "_", ".").'
    if not isinstance(zone, str):
        return [FieldError(path, "Invalid value", show(zone), "a label value must be a string", hint)]
    if zone == "":
        return [FieldError(path, "Required value", "", "", hint)]
    return [FieldError(path, "Invalid value", show(zone), m, hint) for m in label_value(zone)]


_IP_HINT = "give IPv4 addresses as text or ipaddress objects, e.g. [\"203.0.113.200\"]."


def ipv4_errors(path: str, value: Any) -> tuple[IPv4Address | None, list[FieldError]]:
    """``IsValidIP`` and ``ValidateNonSpecialIP`` for one address (k8slearn models IPv4 only)."""
    try:
        addr = ip_address(value.strip() if isinstance(value, str) else value) \
            if isinstance(value, (str, IPv4Address, IPv6Address)) else None
    except ValueError:
        addr = None
    if addr is None:
        return None, [FieldError(path, "Invalid value", show(value),
                                 "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)", _IP_HINT)]
    if not isinstance(addr, IPv4Address):
        return None, [FieldError(path, "Invalid value", show(str(addr)), "k8slearn models IPv4 addresses only",
                                 _IP_HINT)]
    special = ("may not be unspecified (0.0.0.0)" if addr.is_unspecified else
               "may not be in the loopback range (127.0.0.0/8, ::1/128)" if addr.is_loopback else
               "may not be in the link-local range (169.254.0.0/16, fe80::/10)" if addr.is_link_local else
               "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
               if addr in IPv4Network("224.0.0.0/24") else "")
    if special:
        return None, [FieldError(path, "Invalid value", show(str(addr)), special,
                                 "the node would answer such an address itself (or never route it), so kube-proxy "
                                 "cannot use it for a service.")]
    return addr, []


def ip_errors(path: str, value: Any) -> tuple[IPv4Address | IPv6Address | None, list[FieldError]]:
    """``IsValidIP`` and ``ValidateNonSpecialIP`` for one address of either family."""
    try:
        addr = ip_address(value.strip() if isinstance(value, str) else value) \
            if isinstance(value, (str, IPv4Address, IPv6Address)) else None
    except ValueError:
        addr = None
    if addr is None:
        return None, [FieldError(path, "Invalid value", show(value),
                                 "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                                 'give addresses as text or ipaddress objects, e.g. ["203.0.113.200"] or ["2001:db8::200"].')]
    if isinstance(addr, IPv4Address):
        return ipv4_errors(path, addr)
    special = ("may not be unspecified (0.0.0.0, ::)" if addr.is_unspecified else
               "may not be in the loopback range (127.0.0.0/8, ::1/128)" if addr.is_loopback else
               "may not be in the link-local range (169.254.0.0/16, fe80::/10)" if addr.is_link_local else
               "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
               if addr in IPv6Network("ff02::/16") else "")
    if special:
        return None, [FieldError(path, "Invalid value", show(str(addr)), special,
                                 "the node would answer such an address itself (or never route it), so kube-proxy "
                                 "cannot use it for a service.")]
    return addr, []


def external_ip_errors(value: Any) -> tuple[tuple[IPv4Address, ...], list[FieldError]]:
    """``spec.externalIPs``: a list of IP addresses (a single string is a mistake, not a list)."""
    if value is None:
        return (), []
    if isinstance(value, (str, bytes, IPv4Address, IPv6Address)) or not isinstance(value, Iterable) \
            or isinstance(value, Mapping):
        return (), [FieldError("spec.externalIPs", "Invalid value", show(value), "must be a list of IP addresses",
                               'write a list even for one address: external_ips=["203.0.113.200"].')]
    items = list(itertools.islice(value, MAX_EXTERNAL_IPS + 1))
    if len(items) > MAX_EXTERNAL_IPS:
        return (), [FieldError("spec.externalIPs", "Too many", f"{MAX_EXTERNAL_IPS + 1} or more",
                               f"must have at most {MAX_EXTERNAL_IPS} items", "k8slearn keeps services small.")]
    ips: list[IPv4Address] = []
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        addr, errs = ip_errors(f"spec.externalIPs[{i}]", item)  # IPv6 ones need a dual-stack cluster (model.py)
        errors += errs
        if addr is not None and addr not in ips:
            ips.append(addr)
    return tuple(ips), errors


def _port_type_error(path: str, value: Any, what: str) -> FieldError:
    return FieldError(path, "Invalid value", show(value), f"must be an integer ({what})",
                      "a port is a whole number such as 80 or 30080 (not a boolean, a float or text).")


def check_service_fields(fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Type and format checks of a service's fields, before its rules are checked.

    ``fields`` holds the model's field names (``name``, ``type``, ``selector``, ``port``,
    ``target_port``, ``node_port``, ``external_ips``, ``external_traffic_policy``,
    ``internal_traffic_policy``, ``health_check_node_port``, ``traffic_distribution``,
    ``load_balancer_ip_mode``, ``cluster_ip``, ``load_balancer_source_ranges``, ``session_affinity``,
    ``session_affinity_timeout``, ``ip_families``, ``ip_family_policy``; any subset). Returns the values in the model's types (plain ints
    and str, IPv4Address and network objects, a dict selector; a ``nodePort`` or
    ``healthCheckNodePort`` of 0 means unset, as in the API) and every problem found.
    """
    out: dict[str, Any] = {k: str(v) if isinstance(v, str) else v for k, v in fields.items()}  # plain str
    errors: list[FieldError] = []
    if "name" in fields:
        errors += name_errors("service", fields["name"])
    if "type" in fields and not isinstance(fields["type"], str):
        errors.append(FieldError("spec.type", "Unsupported value", show(fields["type"]),
                                 _supported(("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")),
                                 'the type is one of these strings, e.g. type="LoadBalancer".'))
    if "selector" in fields:
        out["selector"], errs = label_errors("spec.selector", fields["selector"])
        errors += errs
    for key, path, what in (("port", "spec.ports[0].port", "1-65535"),
                            ("target_port", "spec.ports[0].targetPort", "1-65535"),
                            ("node_port", "spec.ports[0].nodePort", "30000-32767"),
                            ("health_check_node_port", "spec.healthCheckNodePort", "30000-32767")):
        if key not in fields:
            continue
        value = fields[key]
        if value is None and key in ("node_port", "health_check_node_port"):
            continue
        number = as_int(value)
        if number is None:
            errors.append(_port_type_error(path, value, what))
        elif number == 0 and key in ("node_port", "health_check_node_port"):
            out[key] = None  # 0 means "not set" in the API: one is allocated if the service needs it
        else:
            out[key] = number
    if "external_ips" in fields:
        out["external_ips"], errs = external_ip_errors(fields["external_ips"])
        errors += errs
    for key, path, allowed in (("external_traffic_policy", "spec.externalTrafficPolicy", TRAFFIC_POLICIES),
                               ("internal_traffic_policy", "spec.internalTrafficPolicy", TRAFFIC_POLICIES),
                               ("traffic_distribution", "spec.trafficDistribution", TRAFFIC_DISTRIBUTIONS),
                               ("load_balancer_ip_mode", "status.loadBalancer.ingress[0].ipMode", IP_MODES)):
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(FieldError(path, "Unsupported value", show(value), _supported(allowed),
                                     "the value is one of these strings (or None for the default)."))
    if isinstance(fields.get("external_traffic_policy"), str) and fields["external_traffic_policy"] == "":
        out["external_traffic_policy"] = None  # "" is unset in the API
    if "cluster_ip" in fields:
        out["cluster_ip"], errs = cluster_ip_errors(fields["cluster_ip"])
        errors += errs
    if "load_balancer_source_ranges" in fields:
        out["load_balancer_source_ranges"], errs = source_range_errors(fields["load_balancer_source_ranges"])
        errors += errs
    if "session_affinity" in fields and not isinstance(fields["session_affinity"], str):
        errors.append(FieldError("spec.sessionAffinity", "Unsupported value", show(fields["session_affinity"]),
                                 _supported(SESSION_AFFINITIES), 'sessionAffinity is "None" (the default) or "ClientIP".'))
    if "ip_families" in fields:
        out["ip_families"], errs = ip_family_errors(fields["ip_families"])
        errors += errs
    policy = fields.get("ip_family_policy")
    if policy is not None and not (isinstance(policy, str) and policy in IP_FAMILY_POLICIES):
        errors.append(FieldError("spec.ipFamilyPolicy", "Unsupported value", show(policy), _supported(IP_FAMILY_POLICIES),
                                 '"SingleStack" (one address family, the default), "PreferDualStack" (both when the '
                                 'cluster has both) or "RequireDualStack" (both, or the service is refused).'))
    if fields.get("session_affinity_timeout") is not None:
        number = as_int(fields["session_affinity_timeout"])
        if number is None:
            errors.append(FieldError("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value",
                                     show(fields["session_affinity_timeout"]),
                                     f"must be an integer (1-{MAX_AFFINITY_TIMEOUT})",
                                     "a number of seconds, e.g. 10800 (three hours, the default)."))
        else:
            out["session_affinity_timeout"] = number
    return out, errors


def ip_family_errors(value: Any) -> tuple[tuple[str, ...], list[FieldError]]:
    """``spec.ipFamilies``: a list of "IPv4" / "IPv6", each at most once (``ValidateServiceClusterIPsRelatedFields``)."""
    if value is None:
        return (), []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        return (), [FieldError("spec.ipFamilies", "Invalid value", show(value), "must be a list of IP families",
                               'write a list even for one family: ip_families=["IPv6"].')]
    items = list(itertools.islice(value, 3))
    out: list[str] = []
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        if not (isinstance(item, str) and item in IP_FAMILIES):
            errors.append(FieldError(f"spec.ipFamilies[{i}]", "Unsupported value", show(item), _supported(IP_FAMILIES),
                                     'an IP family is "IPv4" or "IPv6" (with that capitalisation).'))
        elif item in out:
            errors.append(FieldError(f"spec.ipFamilies[{i}]", "Duplicate value", show(item), "",
                                     "each family appears at most once: a dual-stack service lists both, the "
                                     "primary first."))
        else:
            out.append(str(item))
    return tuple(out), errors


def ip_family_rules(families: tuple[str, ...], policy: str | None) -> list[FieldError]:
    """The family/policy combination (``pkg/registry/core/service/storage/alloc.go``, initIPFamilyFields)."""
    if policy == "SingleStack" and len(families) > 1:
        return [FieldError("spec.ipFamilyPolicy", "Invalid value", show(policy),
                           "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
                           "a SingleStack service has one address family; ask for PreferDualStack to get both.")]
    return []


def source_range_errors(value: Any) -> tuple[tuple[Any, ...], list[FieldError]]:
    """``spec.loadBalancerSourceRanges`` as networks: a list of CIDRs (each may be space-padded)."""
    path = "spec.LoadBalancerSourceRanges"
    if value is None:
        return (), []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        return (), [FieldError(path, "Invalid value", show(value), "must be a list of CIDRs",
                               'write a list even for one range: ["198.51.100.0/24"].')]
    items = list(itertools.islice(value, MAX_SOURCE_RANGES + 1))
    if len(items) > MAX_SOURCE_RANGES:
        return (), [FieldError(path, "Too many", f"{MAX_SOURCE_RANGES + 1} or more",
                               f"must have at most {MAX_SOURCE_RANGES} items", "k8slearn keeps services small.")]
    nets, errors = [], []
    for i, item in enumerate(items):
        net = parse_cidr(item)
        if net is None:
            shown = show(item.strip()) if isinstance(item, str) else show(item)
            errors.append(FieldError(f"{path}[{i}]", "Invalid value", shown, _CIDR_DETAIL,
                                     "write an address range with its prefix length, such as 198.51.100.0/24 "
                                     "(a single address is 198.51.100.7/32)."))
        elif net not in nets:
            nets.append(net)
    return tuple(nets), errors


def cluster_ip_errors(value: Any) -> tuple[IPv4Address | None, list[FieldError]]:
    """``spec.clusterIP`` as asked for: unset, or an address in the service CIDR (10.96.0.0/12)."""
    if value is None or (isinstance(value, str) and value == ""):
        return None, []
    if isinstance(value, str) and value == "None":
        return None, [FieldError("spec.clusterIP", "Unsupported value", '"None"',
                                 "headless services (clusterIP: None) are not modelled",
                                 "a headless service has no virtual IP and no kube-proxy rules: clients get the pod "
                                 "IPs from DNS. k8slearn models services that kube-proxy handles; leave clusterIP unset.")]
    addr, errors = ip_errors("spec.clusterIPs[0]", value)
    cidr = SERVICE_CIDR if addr is None or addr.version == 4 else SERVICE_CIDR6
    if addr is not None and addr not in cidr:
        return None, [FieldError("spec.clusterIPs", "Invalid value", show(str(addr)),
                                 f"failed to allocate IP {addr}: the provided IP ({addr}) is not in the valid range. "
                                 f"The range of valid IPs is {cidr}",
                                 "ClusterIPs come from the API server's --service-cluster-ip-range; leave clusterIP "
                                 "unset to get a free one.")]
    return addr, errors


def externally_accessible(type: str, external_ips: Iterable[Any]) -> bool:
    """Whether a service accepts traffic from outside the cluster (``apiservice.ExternallyAccessible``).

    >>> externally_accessible("ClusterIP", [])
    False
    >>> externally_accessible("ClusterIP", ["203.0.113.200"])
    True
    """
    return (isinstance(type, str) and type in ("NodePort", "LoadBalancer")) or bool(tuple(external_ips))


def needs_health_check(type: str, external_traffic_policy: str | None) -> bool:
    """Whether the API server allocates a ``healthCheckNodePort``: only LoadBalancer with Local."""
    return isinstance(type, str) and isinstance(external_traffic_policy, str) and \
        type == "LoadBalancer" and external_traffic_policy == "Local"


_UNSET: Any = object()


def validate_service_spec(
    *,
    type: str,
    external_ips: Iterable[Any] = (),
    external_traffic_policy: str | None,
    internal_traffic_policy: str | None,
    traffic_distribution: str | None = None,
    node_port: int | None = None,
    health_check_node_port: int | None = None,
    port: int = 80,
    target_port: int = 80,
    selector: Mapping[str, str] | None = None,
    taken_node_ports: Mapping[int, str] | None = None,
    load_balancer_source_ranges: Iterable[Any] = (),
    session_affinity: str = "None",
    session_affinity_timeout: int | None = None,
    name: Any = _UNSET,
) -> list[FieldError]:
    """Return every problem with a Service spec, each worded as the API server words it.

    Any Python values are accepted: a value of the wrong type is reported like any other problem
    (this function never raises). ``taken_node_ports`` maps NodePorts already allocated to the
    service holding them; ``name``, if given, is checked too.

    >>> for e in validate_service_spec(type="ClusterIP", external_traffic_policy="Local",
    ...                                internal_traffic_policy="Cluster"):
    ...     print(e)
    spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services
    >>> print(validate_service_spec(type="NodePort", external_traffic_policy="Cluster",
    ...                             internal_traffic_policy="Cluster", node_port=30123.0)[0])
    spec.ports[0].nodePort: Invalid value: 30123.0: must be an integer (30000-32767)
    """
    raw: dict[str, Any] = {
        "type": type, "external_ips": external_ips, "external_traffic_policy": external_traffic_policy,
        "internal_traffic_policy": internal_traffic_policy, "traffic_distribution": traffic_distribution,
        "node_port": node_port, "health_check_node_port": health_check_node_port, "port": port,
        "target_port": target_port, "selector": selector,
        "load_balancer_source_ranges": load_balancer_source_ranges, "session_affinity": session_affinity,
        "session_affinity_timeout": session_affinity_timeout,
    }
    if name is not _UNSET:
        raw["name"] = name
    fields, errors = check_service_fields(raw)
    if errors:
        return errors
    return _service_rules(fields, taken_node_ports or {})


def _service_rules(f: Mapping[str, Any], taken_node_ports: Mapping[int, str]) -> list[FieldError]:
    """The API server's rules for a service whose fields have the right types (see check_service_fields)."""
    errors: list[FieldError] = []
    type = f["type"]
    external_ips = f["external_ips"]
    if type not in SERVICE_TYPES:
        if type == "ExternalName":
            hint = "k8slearn models traffic to pods; an ExternalName service is only a DNS alias (CNAME)."
        else:
            hint = 'a Service is "ClusterIP" (inside the cluster only), "NodePort" (adds a port on every node) or "LoadBalancer" (adds an external load balancer).'
        errors.append(FieldError("spec.type", "Unsupported value", _quote(type),
                                 _supported(("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")), hint))
        return errors

    external = externally_accessible(type, external_ips)
    etp = f["external_traffic_policy"]
    if not external:
        if etp:
            errors.append(FieldError(
                "spec.externalTrafficPolicy", "Invalid value", _quote(etp),
                "may only be set for externally-accessible services",
                "a ClusterIP service without externalIPs is reachable only inside the cluster, so there "
                "is no external traffic to keep local. Make it a NodePort or LoadBalancer service (or give "
                "it externalIPs), or use internalTrafficPolicy for traffic from pods.",
            ))
    elif not etp:
        errors.append(FieldError("spec.externalTrafficPolicy", "Required value", "", "",
                                 'an externally accessible service needs "Cluster" or "Local" (the API server defaults it to "Cluster").'))
    elif etp not in TRAFFIC_POLICIES:
        errors.append(FieldError(
            "spec.externalTrafficPolicy", "Unsupported value", _quote(etp), _supported(TRAFFIC_POLICIES),
            '"Cluster" spreads external traffic over all ready endpoints (and SNATs it); "Local" keeps it '
            "on the node that received it (and keeps the client IP).",
        ))

    itp = f["internal_traffic_policy"]
    if itp is not None and itp not in TRAFFIC_POLICIES:
        errors.append(FieldError(
            "spec.internalTrafficPolicy", "Unsupported value", _quote(itp), _supported(TRAFFIC_POLICIES),
            '"Local" sends traffic from pods only to endpoints on the same node; "Cluster" to any endpoint.',
        ))

    td = f["traffic_distribution"]
    if td is not None and td not in TRAFFIC_DISTRIBUTIONS:
        errors.append(FieldError(
            "spec.trafficDistribution", "Unsupported value", _quote(td), _supported(TRAFFIC_DISTRIBUTIONS),
            "trafficDistribution is a preference (with fallback) for close endpoints; leave it unset for none.",
        ))

    hcnp = f["health_check_node_port"]
    node_port = f["node_port"]
    if hcnp is not None:
        if not needs_health_check(type, etp):
            errors.append(FieldError(
                "spec.healthCheckNodePort", "Invalid value", str(hcnp),
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
                "the health-check port exists so a cloud load balancer can ask each node whether it has "
                "local endpoints; only a LoadBalancer service with Local needs that question answered.",
            ))
        elif not 1 <= hcnp <= 65535:
            errors.append(FieldError("spec.healthCheckNodePort", "Invalid value", str(hcnp),
                                     "must be between 1 and 65535, inclusive",
                                     "a TCP port number is 16 bits, and 0 is not a usable port (0 means: "
                                     "allocate one for me)."))
        elif hcnp not in NODE_PORT_RANGE:
            # storage/alloc.go allocHealthCheckNodePort: the port allocator refuses it.
            errors.append(FieldError(
                "spec.healthCheckNodePort", "Invalid value", str(hcnp),
                "provided port is not in the valid range. The range of valid ports is 30000-32767",
                "the health-check port comes from the same range as NodePorts (--service-node-port-range), "
                "because every node listens on it; leave it unset to get a free one.",
            ))
        elif hcnp in taken_node_ports:
            errors.append(FieldError(
                "spec.healthCheckNodePort", "Invalid value", str(hcnp), "provided port is already allocated",
                f'service "{taken_node_ports[hcnp]}" already uses port {hcnp} (as its NodePort or health-check '
                "port); every node listens on both, so no two services can share one.",
            ))
        elif hcnp == node_port:
            errors.append(FieldError(
                "spec.healthCheckNodePort", "Invalid value", str(hcnp), "provided port is already allocated",
                f"{hcnp} is this service's own nodePort: the node would have to answer health checks and "
                "forward traffic on the same port. Leave healthCheckNodePort unset to get a free one.",
            ))

    for key, label in (("port", "port"), ("target_port", "targetPort")):
        value = f[key]
        if not 1 <= value <= 65535:
            errors.append(FieldError(f"spec.ports[0].{label}", "Invalid value", str(value),
                                     "must be between 1 and 65535, inclusive",
                                     "a TCP/UDP port number is 16 bits, and 0 is not a usable port."))

    errors += _source_ranges(type, f.get("load_balancer_source_ranges", ()))
    errors += _session_affinity(f.get("session_affinity", "None"), f.get("session_affinity_timeout"))

    if node_port is not None:
        if type == "ClusterIP":
            errors.append(FieldError("spec.ports[0].nodePort", "Forbidden", "",
                                     "may not be used when `type` is 'ClusterIP'",
                                     "only NodePort and LoadBalancer services open a port on every node."))
        elif node_port not in NODE_PORT_RANGE:
            errors.append(FieldError(
                "spec.ports[0].nodePort", "Invalid value", str(node_port),
                "provided port is not in the valid range. The range of valid ports is 30000-32767",
                "NodePorts come from the API server's --service-node-port-range, 30000-32767 unless the "
                "cluster admin changed it, so they never clash with ports the node itself uses.",
            ))
        elif node_port in taken_node_ports:
            errors.append(FieldError(
                "spec.ports[0].nodePort", "Invalid value", str(node_port),
                "provided port is already allocated",
                f'service "{taken_node_ports[node_port]}" already uses port {node_port} (as its NodePort or '
                "health-check port): such ports are opened on every node, so two services cannot share one. Leave nodePort unset to get a free one.",
            ))
    return errors


def parse_cidr(value: Any) -> Any:
    """A CIDR as the API server's legacy parsing reads it (``netutils.ParseCIDRSloppy``): spaces
    trimmed, host bits allowed (``10.0.0.1/8`` means ``10.0.0.0/8``). ``None`` if it is not one."""
    if isinstance(value, (IPv4Network, IPv6Network)):
        return value
    if not isinstance(value, str):
        return None  # only text is parsed (str() of an arbitrary value could be huge)
    text = value.strip()
    if "/" not in text:
        return None
    try:
        return ip_network(text, strict=False)
    except ValueError:
        return None


def _source_ranges(type: str, ranges: Iterable[Any]) -> list[FieldError]:
    """``spec.loadBalancerSourceRanges`` (``ValidateService`` in ``pkg/apis/core/validation/validation.go``).

    Only LoadBalancer services may set it, and each entry (space padding is tolerated, a historical
    accident) must be a CIDR. The field path really is ``spec.LoadBalancerSourceRanges``, capital L.
    """
    ranges = list(ranges)
    errors: list[FieldError] = []
    if not ranges:
        return errors
    path = "spec.LoadBalancerSourceRanges"
    if type != "LoadBalancer":
        errors.append(FieldError(path, "Forbidden", "", "may only be used when `type` is 'LoadBalancer'",
                                 "the ranges are enforced by the cloud load balancer (and by kube-proxy for "
                                 "packets to the load-balancer IP); without one there is nothing to filter. "
                                 "NodePorts ignore them."))
    for i, value in enumerate(ranges):
        if parse_cidr(value) is None:
            errors.append(FieldError(f"{path}[{i}]", "Invalid value", show(value), _CIDR_DETAIL,
                                     "write an address range with its prefix length, such as 198.51.100.0/24 "
                                     "(a single address is 198.51.100.7/32)."))
    return errors


def _session_affinity(affinity: str, timeout: int | None) -> list[FieldError]:
    """``spec.sessionAffinity`` and its timeout (``validateClientIPAffinityConfig``)."""
    if not isinstance(affinity, str) or affinity not in SESSION_AFFINITIES:
        return [FieldError("spec.sessionAffinity", "Unsupported value", _quote(affinity), _supported(SESSION_AFFINITIES),
                           '"ClientIP" sends a source address back to the pod it reached before (per node); '
                           '"None" picks at random each time.')]
    if affinity == "None":
        if timeout is not None:
            return [FieldError("spec.sessionAffinityConfig", "Forbidden", "",
                               "must not be set when session affinity is None",
                               "a timeout only makes sense with sessionAffinity: ClientIP.")]
        return []
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not 0 < timeout <= MAX_AFFINITY_TIMEOUT):
        return [FieldError("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value", show(timeout),
                           f"must be greater than 0 and less than {MAX_AFFINITY_TIMEOUT}",
                           f"the affinity lasts this many seconds after the last connection (default "
                           f"{DEFAULT_AFFINITY_TIMEOUT}, three hours).")]
    return []


def validate_network_policy(name: str, pod_selector: Any, ingress: Any) -> list[FieldError]:
    """Every problem with a NetworkPolicy's ingress rules, in the API server's words.

    Follows ``ValidateNetworkPolicySpec``, ``validateNetworkPolicyPeer`` and ``ValidateIPBlock`` in
    ``pkg/apis/networking/validation/validation.go``. ``ingress`` is the API's list of rules, each
    ``{"from": [peer, ...]}`` with peers ``{"ipBlock": {"cidr": ..., "except": [...]}}`` or
    ``{"podSelector": {"matchLabels": {...}}}``.

    >>> for e in validate_network_policy("allow", {}, [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8",
    ...                                                                    "except": ["192.168.0.0/16"]}}]}]):
    ...     print(e)
    spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`
    """
    errors: list[FieldError] = name_errors("networkpolicy", name)
    if pod_selector is not None:
        errors += label_errors("spec.podSelector", pod_selector)[1]
    if ingress is None:
        return errors
    if not isinstance(ingress, (list, tuple)):
        return errors + [FieldError("spec.ingress", "Invalid value", show(ingress), "must be a list of ingress rules",
                                    'write [{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}].')]
    rules = list(itertools.islice(ingress, _MAX_RULES + 1))
    if len(rules) > _MAX_RULES:
        return errors + [FieldError("spec.ingress", "Too many", f"{_MAX_RULES + 1} or more",
                                    f"must have at most {_MAX_RULES} items", "k8slearn keeps policies small.")]
    for i, rule in enumerate(rules):
        rule_path = f"spec.ingress[{i}]"
        if not isinstance(rule, Mapping):
            errors.append(FieldError(rule_path, "Invalid value", show(rule), "must be an ingress rule",
                                     'write {"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}.'))
            continue
        peers = rule.get("from")
        if peers is None:
            continue
        if not isinstance(peers, (list, tuple)):
            errors.append(FieldError(f"{rule_path}.from", "Invalid value", show(peers), "must be a list of peers",
                                     'write "from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}].'))
            continue
        peers = list(itertools.islice(peers, _MAX_RULES + 1))
        if len(peers) > _MAX_RULES:
            errors.append(FieldError(f"{rule_path}.from", "Too many", f"{_MAX_RULES + 1} or more",
                                     f"must have at most {_MAX_RULES} items", "k8slearn keeps policies small."))
            continue
        for j, peer in enumerate(peers):
            peer_path = f"{rule_path}.from[{j}]"
            if not isinstance(peer, Mapping):
                errors.append(FieldError(peer_path, "Invalid value", show(peer), "must be a peer",
                                         'a peer is {"ipBlock": {...}} or {"podSelector": {"matchLabels": {...}}}.'))
                continue
            kinds = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(k) is not None]
            if not kinds:
                errors.append(FieldError(peer_path, "Required value", "", "must specify a peer",
                                         "a peer is an ipBlock, a podSelector or a namespaceSelector."))
                continue
            if len(kinds) > 1 and "ipBlock" in kinds:
                errors.append(FieldError(peer_path, "Forbidden", "", "may not specify both ipBlock and another peer",
                                         "an ipBlock matches addresses, a selector matches pods: use two peers "
                                         "(two list items), which the policy ORs."))
            if "ipBlock" in kinds:
                errors += _ip_block(peer["ipBlock"], f"{peer_path}.ipBlock")
            for key in ("podSelector", "namespaceSelector"):
                if key in kinds:
                    selector = peer[key]
                    labels = selector.get("matchLabels", selector) if isinstance(selector, Mapping) else selector
                    errors += label_errors(f"{peer_path}.{key}", labels)[1]
    return errors


#: At most this many rules per policy, and peers per rule, are read.
_MAX_RULES = 100


def _ip_block(block: Any, path: str) -> list[FieldError]:
    """``ValidateIPBlock``: a CIDR, and ``except`` ranges strictly inside it."""
    if not isinstance(block, Mapping):
        return [FieldError(path, "Invalid value", show(block), "must be a mapping with cidr (and except)",
                           'write {"cidr": "198.51.100.0/24", "except": ["198.51.100.128/25"]}.')]
    cidr_text = block.get("cidr")
    if cidr_text is None or (isinstance(cidr_text, str) and not cidr_text):
        return [FieldError(f"{path}.cidr", "Required value", "", "",
                           "an ipBlock needs a cidr, such as 198.51.100.0/24.")]
    cidr = parse_cidr(cidr_text)
    if cidr is None:
        return [FieldError(f"{path}.cidr", "Invalid value", show(cidr_text), _CIDR_DETAIL,
                           "write an address range with its prefix length.")]
    excepts = block.get("except")
    if excepts is None:
        return []
    if not isinstance(excepts, (list, tuple)):
        return [FieldError(f"{path}.except", "Invalid value", show(excepts), "must be a list of CIDRs",
                           'write "except": ["198.51.100.128/25"].')]
    errors = []
    for k, value in enumerate(itertools.islice(excepts, _MAX_RULES)):
        net = parse_cidr(value)
        if net is None:
            errors.append(FieldError(f"{path}.except[{k}]", "Invalid value", show(value), _CIDR_DETAIL,
                                     "write an address range with its prefix length."))
        elif net.version != cidr.version or not net.subnet_of(cidr) or net.prefixlen <= cidr.prefixlen:
            errors.append(FieldError(f"{path}.except[{k}]", "Invalid value", show(value),
                                     "must be a strict subset of `cidr`",
                                     f"except carves holes out of {cidr}; a range outside it (or all of it) "
                                     "carves nothing."))
    return errors
