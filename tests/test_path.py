"""One chain, two ways (k8slearn.path): a seeded walk (send) and every branch multiplied out.

`k8s.traffic` sums the paths per pod with grouped, vectorised arithmetic; `paths()` enumerates them
with the very element code `send` runs. These tests hold the three together: the grouped shares
equal the enumerated ones, and every trace is one of the enumerated paths with the same facts.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_properties import SETTINGS, clusters

import k8slearn as k8s
from k8slearn.dataplane import DATAPLANES
from k8slearn.loadbalancer import LB_MODELS, LB_PROFILES, LoadBalancer
from k8slearn.path import Place
from k8slearn.traffic import PATHS_COLUMNS, paths

LOAD_BALANCERS = st.one_of(
    st.sampled_from([*LB_MODELS, *LB_PROFILES]),
    st.builds(LoadBalancer, model=st.sampled_from(LB_MODELS), preserve_client_ip=st.booleans()),
)


@st.composite
def guarded(draw):
    """The property-test clusters, sometimes with loadBalancerSourceRanges and a NetworkPolicy."""
    c = draw(clusters())
    ranges = draw(st.sampled_from([None, ["198.51.100.0/24"], ["203.0.113.0/24"], ["198.51.100.0/24", "192.168.0.0/24"]]))
    if ranges:
        c.patch_service("web", load_balancer_source_ranges=ranges)
    allow = draw(st.sampled_from([None, "198.51.100.0/24", "192.168.0.0/16", "10.0.0.0/8"]))
    if allow:
        c.add_network_policy("allow", pod_selector={"app": "web"}, ingress=[{"from": [{"ipBlock": {"cidr": allow}}]}])
    return c


def aggregate(frame) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Per pod: [share, kept, extra] summed from the paths; and the losses."""
    per_pod: dict[str, list[float]] = {}
    losses = {"dropped": 0.0, "refused": 0.0, "failed": 0.0}
    for row in frame.itertuples(index=False):
        if row.outcome == "delivered":
            acc = per_pod.setdefault(row.pod, [0.0, 0.0, 0.0])
            acc[0] += row.probability
            acc[1] += row.probability * row.client_ip_kept
            acc[2] += row.probability * row.extra_hop
        else:
            losses["failed" if row.outcome == "reply discarded" else row.outcome] += row.probability
    return per_pod, losses


def assert_same(t, p) -> None:
    per_pod, losses = aggregate(p)
    assert sum(p["probability"]) == pytest.approx(1.0, abs=1e-9)
    for row in t.itertuples(index=False):
        share, kept, extra = per_pod.get(row.pod, [0.0, 0.0, 0.0])
        assert row.share == pytest.approx(share, abs=1e-9), row.pod
        if share > 0:
            assert row.client_ip_kept == pytest.approx(kept / share, abs=1e-9), row.pod
            assert row.extra_hop == pytest.approx(extra / share, abs=1e-9), row.pod
        else:
            assert math.isnan(row.client_ip_kept)
    for key, value in losses.items():
        assert t.attrs[key] == pytest.approx(value, abs=1e-9), key


@SETTINGS
@given(c=guarded(), lb=LOAD_BALANCERS, dp=st.sampled_from(list(DATAPLANES)),
       clients=st.sampled_from(["external", "pods"]), address=st.sampled_from([None, "nodePort", "loadBalancerIP"]))
def test_grouped_shares_equal_the_enumerated_paths(c, lb, dp, clients, address):
    kw = {"lb": lb, "dataplane": dp, "clients": clients, "address": address}
    assert_same(k8s.traffic(c, "web", **kw), paths(c, "web", **kw))


@SETTINGS
@given(c=guarded(), lb=LOAD_BALANCERS, dp=st.sampled_from(list(DATAPLANES)), seed=st.integers(0, 2**32 - 1))
def test_every_trace_is_an_enumerated_path_with_the_same_facts(c, lb, dp, seed):
    t = k8s.send(c, "web", lb=lb, dataplane=dp, seed=seed)
    p = paths(c, "web", lb=lb, dataplane=dp)
    same = p[(p["outcome"] == t.outcome) & (p["probability"] > 0)]
    same = same[same["path"].map(lambda names: names == t.path)]
    assert len(same), (t.summary(), t.path)
    if t.outcome == "delivered":
        row = same[same["pod"] == t.pod].iloc[0]
        assert (row.source_seen_by_pod, row.client_ip_kept, row.extra_hop) == (
            t.source_seen_by_pod, t.client_ip_kept, t.extra_hop)


@SETTINGS
@given(c=guarded(), dp=st.sampled_from(list(DATAPLANES)), data=st.data())
def test_a_forced_trace_has_exactly_its_paths_facts(c, dp, data):
    node = data.draw(st.sampled_from([n.name for n in c.nodes]))
    p = paths(c, "web", lb="equal", dataplane=dp)
    at_node = p[p["entry_node"] == node]
    for row in at_node.itertuples(index=False):
        if row.pod is None or row.pod != row.pod:  # dropped or refused at the node
            continue
        t = k8s.send(c, "web", lb="equal", via=node, endpoint=row.pod, dataplane=dp, seed=1)
        assert t.outcome == row.outcome
        if t.outcome == "delivered":
            assert (t.source_seen_by_pod, t.client_ip_kept, t.extra_hop) == (
                row.source_seen_by_pod, row.client_ip_kept, row.extra_hop)


def test_paths_columns_and_the_one_two_example():
    p = paths(k8s.examples.one_two(), "web")
    assert list(p.columns) == PATHS_COLUMNS
    assert list(p["probability"]) == [0.5, 0.25, 0.25]
    assert list(p["path"][0]) == ["client", "load balancer", "node-a", "web-1"]


def test_send_and_paths_share_the_element_code_for_drops():
    c = k8s.examples.empty_node()
    p = paths(c, "web", lb="equal")
    dropped = p[p["outcome"] == "dropped"]
    assert list(dropped["probability"]) == pytest.approx([1 / 3])
    t = k8s.send(c, "web", lb="equal", via="node-c", seed=1)
    assert t.reason == dropped.iloc[0]["reason"]


def test_places_are_typed_along_the_whole_chain():
    c = k8s.examples.in_cluster()
    c.patch_service("web", load_balancer_ip_mode="Proxy")
    t = k8s.send(c, "web", client="client", address="loadBalancerIP", via="node-a", endpoint="web-3", seed=1)
    kinds = [h.at.kind for h in t.hops]
    assert kinds == ["pod", "node", "lb", "node", "node", "node", "pod"]  # egress, proxy, DNAT, SNAT, route
    assert t.hops[2].action == "SNAT" and t.hops[2].proxied and t.hops[2].at == Place.lb()
    assert t.reply[-1].at == Place.pod("client", node="node-c")
