"""Proxy chains (issue 6): what each hop sees, spoofing, PROXY protocol agreement, short-circuit."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

import k8slearn as k8s
from k8slearn.errors import InvalidChange
from k8slearn.loadbalancer import LB_ADDRESS
from k8slearn.proxychain import App, Proxy, cdn_chain, follow

TRUST = App(trusted=["203.0.113.0/24", "10.244.0.0/16"])
CLIENT = IPv4Address("198.51.100.7")


def test_cdn_chain_hop_by_hop() -> None:
    r = follow(cdn_chain(), app=TRUST)
    assert r.path == ["client", "CDN", "cloud LB", "ingress", "app"]
    assert [str(h.tcp_peer) for h in r.hops] == ["198.51.100.7", "203.0.113.50", "203.0.113.50", "10.244.2.9"]
    assert r.hops[-1].x_forwarded_for == "198.51.100.7, 203.0.113.50"
    assert r.client_seen_by_app == CLIENT and r.client_ip_kept


def test_spoofed_leftmost_entry_fools_only_the_naive_pick() -> None:
    r = follow(cdn_chain(), x_forwarded_for="1.2.3.4", app=TRUST)
    assert r.hops[-1].x_forwarded_for == "1.2.3.4, 198.51.100.7, 203.0.113.50"
    assert r.naive_client == IPv4Address("1.2.3.4")
    assert r.client_seen_by_app == CLIENT


def test_app_that_trusts_nobody_sees_the_ingress() -> None:
    r = follow(cdn_chain(), app=App())
    assert r.client_seen_by_app == IPv4Address("10.244.2.9")
    assert not r.client_ip_kept


def test_l4_proxy_protocol_both_ends_must_agree() -> None:
    nlb = [Proxy("NLB", LB_ADDRESS, "L4", send_proxy_protocol=True, load_balancer=True)]
    ok = follow(nlb, app=App(expect_proxy_protocol=True))
    assert ok.client_seen_by_app == CLIENT and "TCP4 198.51.100.7" in ok.hops[-1].proxy_header
    assert "does not expect a PROXY header" in follow(nlb, app=App()).broken
    plain = [Proxy("NLB", LB_ADDRESS, "L4", load_balancer=True)]
    assert "expects a PROXY header" in follow(plain, app=App(expect_proxy_protocol=True)).broken
    assert follow(plain, app=App()).client_seen_by_app == LB_ADDRESS  # an L4 proxy without it hides the client


def test_in_cluster_clients_skip_the_load_balancer_unless_ip_mode_proxy() -> None:
    nlb = [Proxy("NLB", LB_ADDRESS, "L4", send_proxy_protocol=True, load_balancer=True)]
    short = follow(nlb, app=App(expect_proxy_protocol=True), from_pod=True)
    assert short.broken and any("short-circuits" in s for s in short.skipped)
    via_lb = follow(nlb, app=App(expect_proxy_protocol=True), from_pod=True, ip_mode="Proxy")
    assert not via_lb.broken and via_lb.client_seen_by_app == IPv4Address("10.244.3.5")


def test_passthrough_cannot_carry_proxy_protocol() -> None:
    with pytest.raises(InvalidChange, match="pass-through"):
        Proxy("LB", LB_ADDRESS, "passthrough", send_proxy_protocol=True)


def test_ip_mode_proxy_in_the_simulator() -> None:
    c = k8s.examples.in_cluster()
    c.patch_service("web", external_traffic_policy="Local")
    vip = k8s.send(c, "web", client="client", address="loadBalancerIP", seed=1)
    assert "load balancer" not in vip.path and vip.client_ip_kept  # short-circuited, all endpoints
    c.patch_service("web", load_balancer_ip_mode="Proxy")
    proxied = k8s.send(c, "web", client="client", address="loadBalancerIP", via="node-a", seed=1)
    assert "load balancer" in proxied.path and proxied.outcome == "delivered"
    assert proxied.source_seen_by_pod == LB_ADDRESS and proxied.reply_path[-1] == "client"
    with pytest.raises(k8s.InvalidService, match='ipMode: Unsupported value: "Direct"'):
        c.patch_service("web", load_balancer_ip_mode="Direct")


def test_traffic_through_a_proxying_load_balancer():
    c = k8s.examples.one_two()  # Local: 50 / 25 / 25 with a health-checked LB
    c.patch_service("web", load_balancer_ip_mode="Proxy")
    f = k8s.traffic(c, "web")
    assert list(f["share"]) == [0.5, 0.25, 0.25]
    assert (f["client_ip_kept"] == 0.0).all()  # the load balancer's address, not the client's
    m = k8s.metrics(c, "web").iloc[0]
    assert (m.delivered, m.refused, m.client_ip_kept) == (1.0, 0.0, 0.0)
    # In-cluster clients are not short-circuited either: they go through the load balancer too.
    inside = k8s.traffic(c, "web", clients="pods", address="loadBalancerIP")
    assert list(inside["share"]) == [0.5, 0.25, 0.25] and (inside["client_ip_kept"] == 0.0).all()


def test_an_ingress_behind_a_cluster_service_sees_and_appends_a_node_ip() -> None:
    # FACTS.md §3b: the ingress controller's own Service decides what the ingress sees.
    r = follow(cdn_chain(ingress_policy="Cluster"), app=TRUST)
    assert r.path == ["client", "CDN", "cloud LB", "node (kube-proxy)", "ingress", "app"]
    ingress = r.hops[3]
    assert ingress.tcp_peer == IPv4Address("192.168.0.11")  # not the CDN
    assert r.hops[-1].x_forwarded_for == "198.51.100.7, 192.168.0.11"
    assert r.client_seen_by_app == IPv4Address("192.168.0.11") and not r.client_ip_kept
    assert follow(cdn_chain(ingress_policy="Local"), app=TRUST).client_ip_kept
    with pytest.raises(InvalidChange, match='ingress_policy: Unsupported value: "Both"'):
        cdn_chain(ingress_policy="Both")


def test_an_snat_hop_writes_no_header() -> None:
    with pytest.raises(InvalidChange, match="SNAT hop cannot add or read a PROXY header"):
        Proxy("node", "192.168.0.11", "SNAT", send_proxy_protocol=True)


def test_a_hostname_status_means_no_short_circuit() -> None:
    # FACTS.md §3b: kube-proxy writes no rule for a load balancer that publishes only a hostname.
    nlb = [Proxy("NLB", LB_ADDRESS, "L4", send_proxy_protocol=True, load_balancer=True)]
    via_lb = follow(nlb, app=App(expect_proxy_protocol=True), from_pod=True, status="hostname")
    assert not via_lb.broken and via_lb.path == ["client", "NLB", "app"]
    assert via_lb.client_seen_by_app == IPv4Address("10.244.3.5")
