"""Which load balancer am I behind? One row per load balancer, every answer found by the simulator.

:func:`load_balancer_table` runs each entry of :data:`k8slearn.LB_PROFILES` (and, if asked, the
abstract models) through the same chain :func:`k8slearn.send` and :func:`k8slearn.traffic` use,
on the two-zone example cluster (:func:`k8slearn.examples.two_zones`), and reports what it finds:
what the pod sees as the source under ``externalTrafficPolicy`` Cluster and Local, where the
client's address survives (PROXY header, ``X-Forwarded-For``), whether pods that dial the load
balancer are short-circuited by kube-proxy (or risk a hairpin timeout), what the load balancer
health-checks, how it spreads connections (with the shares it gives), who enforces
``loadBalancerSourceRanges``, and its PROXY protocol support. Nothing in the table is typed in by
hand, so it cannot drift from the simulator; ``docs/load-balancers.md`` is generated from it
(``python tools/make_lb_table.py``).

Taught in the load-balancer notebook.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from . import examples
from .loadbalancer import (
    LB_ADDRESS,
    LB_MODELS,
    LB_PROFILES,
    LoadBalancerProfile,
    get_load_balancer,
    probe,
    resolve,
)
from .model import Cluster
from .traffic import paths, traffic

__all__ = ["DOC_TABLES", "TABLE_COLUMNS", "document", "load_balancer_table", "table_markdown"]

TABLE_COLUMNS = ["load balancer", "key", "kind", "status", "pod sees (Cluster)", "pod sees (Local)",
                 "client address carried by", "pods that dial it", "health check (Cluster)",
                 "health check (Local)", "spread", "shares (Local, two zones)", "source ranges enforced by",
                 "PROXY protocol"]

#: A client outside the ``loadBalancerSourceRanges`` of the source-range test (198.51.100.7 is inside).
BLOCKED_CLIENT = IPv4Address("198.51.100.99")
ALLOWED_RANGE = "198.51.100.0/28"

def _seen(cluster: Cluster, value: Any, client: Any) -> str:
    if value == client:
        return "the client's IP"
    if value == LB_ADDRESS:
        return "the load balancer's address"
    owner = cluster.owner_of(value)
    if owner is not None and owner.__class__.__name__ == "Node":
        return "a node's address (SNAT)"
    return str(value)


def _pod_sees(cluster: Cluster, lb: LoadBalancerProfile) -> tuple[str, str]:
    """What delivered connections show the pod as their source, and which header carries the client."""
    p = paths(cluster, "web", lb=lb)
    delivered = p[p["outcome"] == "delivered"]
    if delivered.empty:
        return "nothing is delivered", ""
    client = IPv4Address(p.iloc[0]["client"])
    kinds = sorted({_seen(cluster, v, client) for v in delivered["source_seen_by_pod"]})
    carried = []
    if any(delivered["proxy_protocol"]):
        version = next(h for h in delivered["proxy_protocol"] if h).split()[1]
        carried.append(f"PROXY {version} header")
    if any(delivered["x_forwarded_for"]):
        carried.append("X-Forwarded-For")
    return " or ".join(kinds), ", ".join(carried)


def _carried(seen_c: str, seen_l: str, header: str) -> str:
    if header:
        return header
    if seen_c == seen_l == "the client's IP":
        return "the source address"
    if seen_l == "the client's IP":
        return "the source address, with Local"
    return "nothing: the client's address is lost"


def _dialled_from_pods(cluster: Cluster, lb: LoadBalancerProfile) -> str:
    p = paths(cluster, "web", lb=lb, clients="pods", address="loadBalancerIP")
    went_out = p["path"].map(lambda names: "load balancer" in names)
    if not went_out.any():
        return "short-circuited by kube-proxy (never reach it)"
    hairpin = p["reason"].fillna("").str.startswith("hairpin")
    text = "go out through it"
    if lb.status == "hostname":
        text += " (the status has a hostname)"
    elif lb.status == "elsewhere":
        text += " (its address is on an Ingress/Gateway)"
    else:
        text += " (ipMode: Proxy)"
    if hairpin.any():
        lost = p.loc[hairpin, "probability"].sum()
        text += f"; {lost:.0%} time out (hairpin: sent back to their own node)"
    return text


def _health(cluster: Cluster, lb: LoadBalancerProfile) -> str:
    svc = cluster.service("web")
    target = lb.health_target(svc)
    if target == "pod":
        return "each pod's own port (TCP)"
    if target == "none":
        return "none: every node that is up"
    if target == "serving-endpoint":
        return ("nodes with a serving endpoint are eligible" if svc.external_traffic_policy == "Local"
                else "every node is eligible while any endpoint serves")
    pr = probe(cluster, svc, cluster.nodes[0].name, lb)
    if target == "kube-proxy":
        return f"HTTP :{pr.port}{pr.path} (kube-proxy)"
    if target == "health-check-node-port":
        return f"HTTP :{pr.port}{pr.path} (healthCheckNodePort)"
    return f"TCP :{pr.port} (the NodePort itself)"


def _shares(cluster: Cluster, lb: LoadBalancerProfile) -> str:
    f = traffic(cluster, "web", lb=lb)
    parts = [f"{pod} {share:.1%}".replace(".0%", "%") for pod, share in zip(f["pod"], f["share"])]
    lost = f.attrs["dropped"] + f.attrs["refused"] + f.attrs["failed"]
    return " · ".join(parts) + (f" · lost {lost:.1%}".replace(".0%", "%") if lost > 1e-12 else "")


def _source_ranges(lb: LoadBalancerProfile) -> str:
    """Set loadBalancerSourceRanges, send from a client outside them, and see who stops it."""
    from .dataplane import Source, decide
    from .trace import send

    c = examples.two_zones(external_traffic_policy="Cluster")
    c.patch_service("web", load_balancer_source_ranges=[ALLOWED_RANGE])
    t = send(c, "web", client=str(BLOCKED_CLIENT), lb=lb, seed=1)
    by_lb = t.outcome == "dropped" and any(h.action == "DROP" and h.at.kind == "lb" for h in t.hops)
    by_node = False
    if lb.targets == "nodes":  # would kube-proxy drop it, if it got there?
        arrives_as = "loadBalancerIP" if lb.delivers == "lb-ip" and not lb.proxies else "nodePort"
        source = Source("external", LB_ADDRESS if lb.proxies or lb.kind == "source NAT" else BLOCKED_CLIENT)
        by_node = decide(c, "web", node=c.nodes[0].name, source=source, destination=arrives_as).verdict == "DROP"
    if by_lb and by_node:
        return "the load balancer, and kube-proxy (KUBE-FW)"
    if by_lb:
        return "the load balancer only"
    if by_node:
        return "kube-proxy only (KUBE-FW)"
    text = "nobody: this load balancer does not use the Service's field"
    return text + (" (its own allow-list is configured elsewhere), and NodePorts bypass kube-proxy's check"
                   if lb.targets == "nodes" else " (its own allow-list is configured elsewhere)")


def load_balancer_table(*, models: bool = False) -> Any:
    """The "which load balancer am I behind?" table, one row per load balancer (see the module docs).

    ``models=True`` adds the five abstract models before the catalogue.

    >>> t = load_balancer_table()
    >>> t.set_index("key").loc["aws-elb", ["pod sees (Local)", "pods that dial it"]].tolist()
    ["the load balancer's address", 'go out through it (the status has a hostname)']
    >>> t.set_index("key").loc["gcp-nlb", "pod sees (Local)"]
    "the client's IP"
    """
    import pandas as pd

    keys = [*(LB_MODELS if models else ()), *LB_PROFILES]
    rows = []
    for key in keys:
        spec = get_load_balancer(key)
        cluster_c = examples.two_zones(external_traffic_policy="Cluster")
        cluster_l = examples.two_zones(external_traffic_policy="Local")
        lb = resolve(spec, cluster_l.service("web"))
        seen_c, carried_c = _pod_sees(cluster_c, lb)
        seen_l, carried_l = _pod_sees(cluster_l, lb)
        status = {"ip": "ip", "hostname": "hostname", "elsewhere": "on the Ingress/Gateway"}[lb.status]
        if lb.status == "ip" and lb.ip_mode == "Proxy":
            status += " (ipMode: Proxy)"
        rows.append({
            "load balancer": lb.label, "key": key, "kind": lb.kind, "status": status,
            "pod sees (Cluster)": seen_c, "pod sees (Local)": seen_l,
            "client address carried by": _carried(seen_c, seen_l, carried_c or carried_l),
            "pods that dial it": _dialled_from_pods(cluster_l, lb),
            "health check (Cluster)": _health(cluster_c, lb), "health check (Local)": _health(cluster_l, lb),
            "spread": lb.description, "shares (Local, two zones)": _shares(cluster_l, lb),
            "source ranges enforced by": _source_ranges(lb),
            "PROXY protocol": lb.proxy_protocol_support,
        })
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    frame.attrs["caption"] = ("Which load balancer am I behind? Every cell is computed by k8slearn's simulator "
                              "on examples.two_zones().")
    return frame


#: The two halves of the table in docs/load-balancers.md (one wide table does not read well).
DOC_TABLES = (
    ("What the pod sees", ["load balancer", "kind", "status", "pod sees (Cluster)", "pod sees (Local)",
                           "client address carried by", "pods that dial it"]),
    ("What it checks and how it spreads", ["load balancer", "health check (Cluster)", "health check (Local)",
                                           "spread", "shares (Local, two zones)", "PROXY protocol"]),
    ("Who enforces loadBalancerSourceRanges", ["load balancer", "kind", "source ranges enforced by"]),
)


def table_markdown(frame: Any, columns: list[str] | None = None) -> str:
    """The table (or some of its columns) as Markdown."""
    cols = list(columns or frame.columns)

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame[cols].itertuples(index=False)]
    return "\n".join(lines) + "\n"


def document() -> str:
    """docs/load-balancers.md: the tables, then each load balancer's sources."""
    frame = load_balancer_table()
    parts = [
        "# Which load balancer am I behind?\n",
        ("Generated by `python tools/make_lb_table.py` from `k8slearn.lbtable.load_balancer_table()`: every cell "
         "below is what k8slearn's simulator finds when it runs the load balancer on `examples.two_zones()` "
         "(three nodes in two zones, pods 1 / 2 / 1). Do not edit this file by hand; a test checks that it "
         "equals the generated text.\n"),
        ("Columns: *pod sees* is the TCP source the pod gets under `externalTrafficPolicy` Cluster and Local; "
         "*client address carried by* is where the client's address survives when the source is not the client; "
         "*pods that dial it* says whether kube-proxy catches a pod's connection to the load-balancer address "
         "(only when the Service's status has an `ip` and `ipMode` is not `Proxy`); *shares* are the exact shares "
         "under Local; *source ranges enforced by* says who drops a client outside `loadBalancerSourceRanges` "
         "(kube-proxy checks only packets addressed to the load-balancer IP, before any SNAT; behind a proxy "
         "only the load balancer's own filter sees the client).\n"),
    ]
    for title, cols in DOC_TABLES:
        parts.append(f"## {title}\n")
        parts.append(table_markdown(frame, cols))
    parts.append("## Sources\n")
    for key in frame["key"]:
        p = LB_PROFILES[key]
        parts.append(f"### {p.label} (`{key}`)\n")
        parts.append(f"Created by: {p.provider}. {p.notes}".rstrip() + "\n")
        parts.append("".join(f"- {src}\n" for src in p.sources))
    return "\n".join(parts)
