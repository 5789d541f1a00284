"""The explorer and the small widgets, headless: set controls, click buttons, check what they show.

Without a frontend nothing is rendered, but every callback runs synchronously, so after setting a
value or clicking, the outputs (HTML with SVG pictures) and ``.result`` are already up to date.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import k8slearn as k8s
from k8slearn.errors import K8sLearnError
from k8slearn.widgets import __doc__ as WIDGETS_DOC
from k8slearn.widgets import explore, pod_mover, policy_toggle

ipywidgets = pytest.importorskip("ipywidgets")


def _svgs(html: str) -> list[ET.Element]:
    """The SVG pictures inside an output's HTML, parsed (so they must be well-formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)]


def _marked(html: str, kind: str) -> list[ET.Element]:
    return [e for svg in _svgs(html) for e in svg.iter() if e.get("data-k8s") == kind]


def _headline(ex) -> str:
    return " | ".join("".join(e.itertext()) for e in _marked(ex.outputs["k8sl-scene"].value, "headline"))


def _rows(html: str) -> int:
    """Rows of an HTML table, header excluded."""
    return len(re.findall(r"<tr[ >]", html)) - 1


def _metrics(ex) -> str:
    return re.sub(r"<[^>]+>", " ", ex.outputs["k8sl-metrics"].value)


# ------------------------------------------------------------------------------------ the shell
def test_explorer_is_displayable_and_has_every_documented_css_class():
    ex = explore(k8s.examples.uneven())
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert isinstance(ex.widget, ipywidgets.Box) and "k8sl-explorer" in ex.widget._dom_classes
    assert bundle["text/plain"].startswith("▶ Run this cell to open the explorer")
    # the same line shows after a run when JupyterLab lacks the widget extension: it says where to look,
    # and that page describes this very line
    assert "docs/setup.md, section 4" in bundle["text/plain"]
    setup = (Path(__file__).resolve().parent.parent / "docs" / "setup.md").read_text(encoding="utf-8")
    assert "## 4. If the widgets do not show" in setup and "**After** running the cell" in setup
    assert "still the \"▶ Run this cell…\" note" in setup
    documented = set(re.findall(r"``(k8sl-[a-z-]+)``", WIDGETS_DOC))
    boxes = {"k8sl-explorer", "k8sl-policy-toggle", "k8sl-pod-mover", "k8sl-controls", "k8sl-view", "k8sl-lower",
             "k8sl-more", "k8sl-wide", "k8sl-projector-on"}
    assert documented - boxes == set(ex.controls) | set(ex.outputs)
    for name, widget in {**ex.controls, **ex.outputs}.items():
        assert name in widget._dom_classes
    assert "Explorer" in repr(ex)


def test_explore_works_on_a_copy_and_validates_its_arguments():
    cluster = k8s.examples.uneven()
    ex = explore(cluster)
    ex.controls["k8sl-etp"].value = "Local"
    assert ex.cluster.service("web").external_traffic_policy == "Local"
    assert cluster.service("web").external_traffic_policy == "Cluster"
    with pytest.raises(k8s.NotFound, match="web"):
        explore(cluster, "nope")
    with pytest.raises(K8sLearnError, match="needs a Cluster"):
        explore("uneven")


def test_explore_is_the_lazy_top_level_name():
    assert k8s.explore is explore


# ------------------------------------------------------------------------------------ outputs follow the model
def test_etp_toggle_updates_metrics_chart_and_result_as_the_model_says():
    ex = explore(k8s.examples.uneven())
    assert "client IP kept 0% · extra hop 66.7% · dropped 0% · busiest pod 1.0× the quietest" in _metrics(ex)
    chart, scene = ex.outputs["k8sl-chart"].value, ex.outputs["k8sl-scene"].value
    ex.controls["k8sl-etp"].value = "Local"
    assert ex.last_error is None
    assert "client IP kept 100% · extra hop 0% · dropped 0% · busiest pod 2.0× the quietest" in _metrics(ex)
    assert ex.outputs["k8sl-chart"].value != chart
    assert ex.outputs["k8sl-scene"].value != scene
    assert "the client's own IP" in _headline(ex)
    expected = k8s.traffic(k8s.examples.uneven(external_traffic_policy="Local"), "web")
    assert list(ex.result.traffic.share) == pytest.approx(list(expected.share))
    assert ex.result.metrics.loc[0, "client_ip_kept"] == 1.0
    assert list(ex.result.health.node) == ["node-a", "node-b", "node-c"]


def test_result_trace_is_the_model_trace_and_the_hop_table_lists_every_hop():
    ex = explore(k8s.examples.uneven(), seed=3)
    ex.controls["k8sl-entry"].value = "node-c"
    t = ex.result.trace
    assert t.entry_node == "node-c" and t.extra_hop and not t.client_ip_kept
    same = k8s.send(k8s.examples.uneven(), "web", via="node-c", seed=np.random.default_rng([3, 0]))
    assert t.path == same.path and t.pod == same.pod
    assert _rows(ex.outputs["k8sl-hops"].value) == len(t.hops)
    assert "SNAT" in ex.outputs["k8sl-hops"].value
    ex.controls["k8sl-reply"].value = True
    assert _rows(ex.outputs["k8sl-hops"].value) == len(t.hops) + len(t.reply)
    ex.controls["k8sl-reply"].value = False
    assert f"{t.pod} on {t.pod_node} sees source 192.168.0.13" in _headline(ex)


def test_send_one_packet_draws_a_new_seeded_packet():
    ex = explore(k8s.examples.uneven(), seed=0)
    picks = set()
    for _ in range(12):
        ex.controls["k8sl-send-one"].click()
        picks.add((ex.result.trace.entry_node, ex.result.trace.pod))
        assert len(ex.result.trace.hops) == _rows(ex.outputs["k8sl-hops"].value)  # the reply is off
    assert len(picks) > 1  # different packets take different paths
    again = explore(k8s.examples.uneven(), seed=0)
    for _ in range(12):
        again.controls["k8sl-send-one"].click()
    assert again.result.trace.path == ex.result.trace.path  # same seed, same packets


def test_local_on_an_empty_node_shows_the_drop():
    ex = explore(k8s.examples.empty_node())
    ex.controls["k8sl-entry"].value = "node-b"
    delivered = ex.outputs["k8sl-scene"].value
    assert ex.result.trace.outcome == "delivered"
    ex.controls["k8sl-entry"].value = "node-c"
    t = ex.result.trace
    assert t.outcome == "dropped" and t.hops[-1].action == "DROP" and t.hops[-1].at.name == "node-c"
    assert "DROP" in ex.outputs["k8sl-hops"].value
    assert ex.outputs["k8sl-scene"].value != delivered
    assert "DROPPED at node-c" in _headline(ex)
    assert [d.get("data-at") for d in _marked(ex.outputs["k8sl-scene"].value, "drop")] == ["node-c"]
    health = ex.outputs["k8sl-health"].value
    assert _rows(health) == 3 and "503" in health
    # the numbers say "dropped 0%" under a dropped packet: the note says why (the load balancer's spread)
    assert "dropped 0%" in _metrics(ex)
    assert ("the load balancer, which itself sends node-c none of them, as its health check answers 503; "
            "the packet above entered at node-c because you chose it") in _metrics(ex)


def test_equal_load_balancer_sends_a_third_to_the_empty_node():
    ex = explore(k8s.examples.empty_node())
    assert "dropped 0%" in _metrics(ex)
    ex.controls["k8sl-lb"].value = "equal"
    assert "dropped 33.3%" in _metrics(ex)
    shares = {e.get("data-node"): "".join(e.itertext()) for e in _marked(ex.outputs["k8sl-scene"].value, "share")}
    assert shares == {"node-a": "33.3%", "node-b": "33.3%", "node-c": "33.3%"}
    assert ex.result.traffic.attrs["dropped"] == pytest.approx(1 / 3)


def test_dataplane_choices_and_their_effect():
    ex = explore(k8s.examples.uneven())
    labels = {v: label for label, v in ex.controls["k8sl-dataplane"].options}
    assert set(labels) == set(k8s.DATAPLANES) and "hypothetical" in labels["no-snat"]
    ex.controls["k8sl-entry"].value = "node-c"
    ex.controls["k8sl-dataplane"].value = "cilium-dsr"
    assert ex.result.trace.dataplane == "cilium-dsr"
    expected = k8s.metrics(ex.cluster, "web", dataplane="cilium-dsr")
    assert ex.result.metrics.equals(expected)


def test_move_scale_add_and_remove_keep_dropdowns_equal_to_the_cluster():
    ex = explore(k8s.examples.one_two())
    k = ex.controls
    k["k8sl-move-pod"].value, k["k8sl-move-node"].value = "web-3", "node-a"
    k["k8sl-move"].click()
    assert ex.cluster.pod("web-3").node == "node-a"
    assert dict(zip(ex.result.traffic.pod, ex.result.traffic.share)) == {"web-1": 0.25, "web-2": 0.5, "web-3": 0.25}
    k["k8sl-replicas"].value = 5
    k["k8sl-scale"].click()
    assert len(ex.cluster.selected_pods("web")) == 5
    assert list(k["k8sl-move-pod"].options) == [p.name for p in ex.cluster.pods]
    k["k8sl-add-node"].click()
    nodes = [n.name for n in ex.cluster.nodes]
    assert nodes[-1] == "node-c" and list(k["k8sl-move-node"].options) == nodes
    assert [v for _, v in k["k8sl-entry"].options][1:] == nodes
    k["k8sl-remove-node-choice"].value = "node-c"
    k["k8sl-remove-node"].click()
    assert ex.last_error is None and [n.name for n in ex.cluster.nodes] == ["node-a", "node-b"]
    assert list(k["k8sl-remove-node-choice"].options) == ["node-a", "node-b"]


def test_pod_and_node_states():
    ex = explore(k8s.examples.uneven())
    k = ex.controls
    k["k8sl-pod-choice"].value = "web-3"
    k["k8sl-pod-state"].value = "NotReady"
    assert ex.cluster.pod("web-3").status == "NotReady"
    assert ex.result.traffic.set_index("pod").loc["web-3", "share"] == 0
    k["k8sl-pod-choice"].value = "web-1"
    assert k["k8sl-pod-state"].value == "Running"  # the toggle follows the chosen pod
    k["k8sl-pod-state"].value = "Terminating"
    assert ex.cluster.pod("web-1").terminating
    k["k8sl-pod-choice"].value = "web-3"
    assert k["k8sl-pod-state"].value == "NotReady"
    k["k8sl-pod-state"].value = "Running"
    assert ex.cluster.pod("web-3").status == "Running"
    k["k8sl-node-choice"].value = "node-b"
    k["k8sl-node-state"].value = "NotReady"
    assert not ex.cluster.node("node-b").ready
    assert "no answer" in ex.outputs["k8sl-health"].value


def test_client_inside_the_cluster():
    ex = explore(k8s.examples.in_cluster())
    k = ex.controls
    k["k8sl-client"].value = "pod"
    assert k["k8sl-entry"].layout.display == "none" and k["k8sl-client-pod"].layout.display is None
    assert k["k8sl-client-pod"].value == "client"
    assert [v for _, v in k["k8sl-address"].options] == ["clusterIP", "loadBalancerIP", "nodePort"]
    t = ex.result.trace
    assert t.path[0] == "client" and t.entry_node == "node-c" and t.client_ip_kept
    assert "client pod" in _metrics(ex)
    k["k8sl-itp"].value = "Local"  # no web pod on node-c: traffic from pods there has nowhere to go
    assert ex.result.trace.outcome == "dropped"
    k["k8sl-address"].value = "loadBalancerIP"
    assert ex.result.trace.decision is not None
    k["k8sl-client"].value = "external"
    assert k["k8sl-entry"].layout.display is None and ex.result.trace.path[0] == "client"
    assert k["k8sl-lb"].layout.display is None, "hiding one control must not hide the others"


def test_send_n_requests_samples_with_the_seed_and_exact_goes_back():
    ex = explore(k8s.examples.uneven(), seed=5)
    k = ex.controls
    chart = ex.outputs["k8sl-chart"].value
    k["k8sl-n"].value = 2000
    k["k8sl-send-n"].click()
    assert ex.result.sampled == 2000 and ex.result.traffic.attrs["connections"] == 2000
    expected = k8s.sample(k8s.examples.uneven(), "web", 2000, seed=np.random.default_rng([5, 1, 1]))
    assert list(ex.result.traffic.share) == list(expected.share)
    assert "2,000 requests sampled" in _metrics(ex)
    assert ex.outputs["k8sl-chart"].value != chart
    k["k8sl-etp"].value = "Local"  # the sample follows the change
    assert ex.result.sampled == 2000 and ex.result.traffic.share.sum() == pytest.approx(1)
    k["k8sl-exact"].click()
    assert ex.result.sampled is None
    assert list(ex.result.traffic.share) == pytest.approx([0.25, 0.25, 0.5])


# ------------------------------------------------------------------------------------ errors teach, the cluster stays
def test_invalid_change_shows_the_teaching_message_and_changes_nothing():
    ex = explore(k8s.examples.uneven())
    k = ex.controls
    k["k8sl-client"].value = "pod"  # a ClusterIP service is only reachable from inside
    k["k8sl-type"].value = "ClusterIP"
    assert k["k8sl-etp"].value is None and k["k8sl-lb"].disabled
    version = ex.cluster.version
    k["k8sl-etp"].value = "Local"
    error = ex.outputs["k8sl-error"].value
    assert "may only be set for externally-accessible services" in error and "Hint" in error
    assert isinstance(ex.last_error, k8s.InvalidService)
    assert ex.cluster.version == version and ex.cluster.service("web").external_traffic_policy is None
    assert k["k8sl-etp"].value is None  # the control shows the model again
    assert ex.result.error is not None
    k["k8sl-type"].value = "LoadBalancer"  # a good change clears the message
    assert ex.last_error is None and ex.outputs["k8sl-error"].value == ""


def test_removing_a_node_with_pods_is_refused():
    ex = explore(k8s.examples.uneven())
    before = [p.node for p in ex.cluster.pods]
    ex.controls["k8sl-remove-node-choice"].value = "node-a"
    ex.controls["k8sl-remove-node"].click()
    assert "still runs 2 pod(s)" in ex.outputs["k8sl-error"].value
    assert [n.name for n in ex.cluster.nodes] == ["node-a", "node-b", "node-c"]
    assert [p.node for p in ex.cluster.pods] == before


def test_outside_client_to_a_clusterip_service_explains_itself():
    ex = explore(k8s.examples.uneven())
    ex.controls["k8sl-type"].value = "ClusterIP"
    assert ex.last_error is None  # the change itself is fine ...
    assert "cannot reach" in ex.outputs["k8sl-error"].value  # ... but an outside client cannot reach it
    assert ex.result.trace is None and _svgs(ex.outputs["k8sl-scene"].value)  # the cluster, without a path
    assert "No packet" in ex.outputs["k8sl-hops"].value
    # nothing stale: no chart of "from outside" shares, no load-balancer health table
    assert ex.result.traffic is None and "No traffic" in ex.outputs["k8sl-chart"].value
    assert ex.outputs["k8sl-metrics"].value == "" and ex.result.health is not None
    assert "No load balancer in front of a ClusterIP service" in ex.outputs["k8sl-health"].value
    ex.controls["k8sl-client"].value = "pod"
    assert ex.outputs["k8sl-error"].value == "" and ex.result.trace is not None


def test_refresh_after_changing_the_cluster_in_code():
    ex = explore(k8s.examples.uneven())
    ex.cluster.add_pod("extra", "node-c", labels={"app": "web"})
    ex.refresh()
    assert "extra" in ex.controls["k8sl-move-pod"].options
    assert "extra" in set(ex.result.traffic.pod)


def test_nodeport_service_and_its_addresses():
    ex = explore(k8s.examples.uneven())
    ex.controls["k8sl-type"].value = "NodePort"
    assert ex.controls["k8sl-lb"].disabled
    assert [v for _, v in ex.controls["k8sl-address"].options] == ["nodePort"]
    assert ex.result.trace.outcome == "delivered" and ex.last_error is None


# ------------------------------------------------------------------------------------ pictures
def test_every_load_balancer_of_the_catalogue_shows_in_the_explorer():
    ex = explore(k8s.examples.uneven(), seed=0)
    for key in list(k8s.LB_MODELS) + list(k8s.LB_PROFILES):
        ex.controls["k8sl-lb"].value = key
        assert ex.last_error is None, (key, ex.last_error)
        assert ex.result.trace is not None and ex.result.traffic is not None, key
        assert _svgs(ex.outputs["k8sl-scene"].value) and "<table" in ex.outputs["k8sl-health"].value


def test_pictures_are_svg_the_browser_draws_and_they_are_small():
    ex = explore(k8s.examples.zones())
    for name in ("k8sl-scene", "k8sl-chart"):
        svgs = _svgs(ex.outputs[name].value)
        assert len(svgs) == 1 and svgs[0].get("role") == "img"
        assert len(ex.outputs[name].value) < 40_000, (name, len(ex.outputs[name].value))


def test_large_cluster_opens_and_truncates_the_health_table():
    ex = explore(k8s.examples.large(40, 120))
    assert _rows(ex.outputs["k8sl-health"].value) == 30 and "10 more nodes" in ex.outputs["k8sl-health"].value
    assert len(ex.result.health) == 40
    assert len(ex.outputs["k8sl-scene"].value) < 60_000


def test_node_colours_stay_put_when_a_pod_moves():
    ex = explore(k8s.examples.uneven())
    before = {n: ex.colours[n] for n in ("node-a", "node-b", "node-c")}
    k = ex.controls
    k["k8sl-move-pod"].value, k["k8sl-move-node"].value = "web-1", "node-c"
    k["k8sl-move"].click()
    assert {n: ex.colours[n] for n in before} == before
    for pod in _marked(ex.outputs["k8sl-chart"].value, "bar-part"):
        node = ex.cluster.pod(pod.get("data-pod")).node
        assert pod.get("fill") == before[node]


def test_the_chart_scale_fits_both_policies_from_the_start_and_only_grows():
    ex = explore(k8s.examples.uneven())
    top = ex._y_max
    assert top >= 0.5  # Cluster gives 33% each, but Local gives web-3 50%: room for it from the start
    ex.controls["k8sl-etp"].value = "Local"  # the first Cluster -> Local click keeps the scale
    assert ex._y_max == top
    ex.controls["k8sl-etp"].value = "Cluster"
    assert ex._y_max == top
    ex.controls["k8sl-entry"].value = "node-a"  # no change of scale for a new entry node either
    assert ex._y_max == top
    c = k8s.examples.uneven(external_traffic_policy="Local")
    c.move_pod("web-1", "node-c")  # 1 / 1 / 1 pods: a third each
    ex2 = explore(c)
    small = ex2._y_max
    ex2.controls["k8sl-move-pod"].value, ex2.controls["k8sl-move-node"].value = "web-1", "node-b"
    ex2.controls["k8sl-move"].click()  # node-c empty under Local: web-2 and web-3 get 50%, or more
    assert ex2._y_max >= small  # it may grow, never shrink


# ------------------------------------------------------------------------------------ the packet tracer
def test_step_back_and_play_walk_the_packet_hop_by_hop():
    ex = explore(k8s.examples.uneven(), seed=0)
    ex.controls["k8sl-entry"].value = "node-c"
    t = ex.result.trace
    n = len(t.hops)
    assert ex.result.step is None  # a new path shows whole
    ex.back()
    assert ex.result.step == n - 1
    ex.controls["k8sl-back"].click()
    assert ex.result.step == n - 2
    token = _marked(ex.outputs["k8sl-scene"].value, "token")
    assert len(token) == 1 and token[0].get("data-step") == str(n - 2)
    assert token[0].get("data-src") == str(t.hops[n - 3].after.src)
    assert "class='request current'" in ex.outputs["k8sl-hops"].value
    assert ex.outputs["k8sl-hops"].value.count("future") == 2
    ex.controls["k8sl-step"].click()
    assert ex.result.step == n - 1
    # the SNAT hop: the addresses on the token before and after it
    snat = next(h.step for h in t.hops if h.action == "SNAT")
    ex.controls["k8sl-play"].value = snat - 1
    before = _marked(ex.outputs["k8sl-scene"].value, "token")[0]
    ex.controls["k8sl-play"].value = snat
    after = _marked(ex.outputs["k8sl-scene"].value, "token")[0]
    assert before.get("data-src") == "198.51.100.7" and after.get("data-src") == "192.168.0.13"
    for _ in range(n + 3):
        ex.step()
    assert ex.result.step == n
    ex.play()
    assert ex.result.step == 1 and ex.controls["k8sl-play"].playing
    ex.controls["k8sl-reply"].value = True  # the reply's hops join the walk
    assert ex.controls["k8sl-play"].max == n + len(t.reply)


def test_a_new_packet_on_the_same_path_still_shows_that_something_happened():
    ex = explore(k8s.examples.one_two(), seed=0)
    ex.controls["k8sl-entry"].value = "node-a"  # one pod there: every packet takes the same path
    ex.controls["k8sl-etp"].value = "Local"
    path = ex.result.trace.path
    ex.controls["k8sl-send-one"].click()
    assert ex.result.trace.path == path
    assert ex.result.step == 1 and ex.controls["k8sl-play"].playing  # it plays from its first hop
    assert "packet 2" in ex.outputs["k8sl-status"].value


# ------------------------------------------------------------------------------------ compare and projector
def test_compare_cluster_and_local_side_by_side_with_the_differences():
    ex = explore(k8s.examples.uneven(), compare="policy")
    html = ex.outputs["k8sl-scene"].value
    assert len(_svgs(html)) == 2 and "k8sl-wide" in ex.widget._dom_classes
    sides = ex.result.compare
    assert list(sides) == ["externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"]
    assert sides["externalTrafficPolicy: Local"].metrics.loc[0, "client_ip_kept"] == 1.0
    diffs = {e.get("data-key"): "".join(e.itertext()) for e in ET.fromstring(
        "<r>" + re.search(r"<div class='k8sl-diff'>.*?</div>", html).group(0) + "</r>").iter() if e.get("data-key")}
    assert diffs["client_ip_kept"] == "0% → 100%" and diffs["extra_hop"] == "66.7% → 0%"
    assert diffs["imbalance"] == "1.0× → 2.0×"
    # same scale on both sides: the pods' share bars are drawn against one top
    shares = {e.get("data-pod"): "".join(e.itertext()) for e in _marked(html, "pod-share")}
    assert shares["web-3"] == "50%"
    assert ex.cluster.service("web").external_traffic_policy == "Cluster"  # comparing changes nothing
    ex.controls["k8sl-compare"].value = "dataplane"
    assert ex.controls["k8sl-compare-with"].value == "cilium-dsr"
    assert list(ex.result.compare) == ["kube-proxy iptables", "Cilium eBPF (DSR)"]
    ex.controls["k8sl-compare"].value = "lb"
    assert list(ex.result.compare) == ["model: health-checked", "model: equal per node"]
    ex.controls["k8sl-compare"].value = "off"
    assert "k8sl-wide" not in ex.widget._dom_classes and len(_svgs(ex.outputs["k8sl-scene"].value)) == 1


def test_compare_policy_on_a_clusterip_service_teaches():
    ex = explore(k8s.Cluster.from_layout([1, 1], type="ClusterIP"), compare="policy")
    assert "needs outside traffic" in ex.outputs["k8sl-error"].value
    assert len(_svgs(ex.outputs["k8sl-scene"].value)) == 1  # the cluster is still shown
    with pytest.raises(K8sLearnError, match="not a compare mode"):
        explore(k8s.examples.uneven(), compare="sideways")


def test_projector_mode_sets_its_class():
    ex = explore(k8s.examples.uneven(), projector=True)
    assert {"k8sl-projector-on", "k8sl-wide"} <= set(ex.widget._dom_classes)
    ex.controls["k8sl-projector"].value = False
    assert "k8sl-projector-on" not in ex.widget._dom_classes
    assert "font-size: 18px" in ex.outputs["k8sl-style"].value


# ------------------------------------------------------------------------------------ the small widgets
def test_policy_toggle():
    w = policy_toggle(k8s.examples.uneven())
    assert "k8sl-policy-toggle" in w.widget._dom_classes
    assert "application/vnd.jupyter.widget-view+json" in w._repr_mimebundle_()
    chart = w.outputs["k8sl-chart"].value
    w.controls["k8sl-etp"].value = "Local"
    assert list(w.result["traffic"].share) == pytest.approx([0.25, 0.25, 0.5])
    assert "client IP kept 100%" in w.outputs["k8sl-metrics"].value
    assert w.outputs["k8sl-chart"].value != chart


def test_policy_toggle_on_a_clusterip_service_teaches():
    c = k8s.Cluster.from_layout([1, 1], type="ClusterIP")
    w = policy_toggle(c)
    w.controls["k8sl-etp"].value = "Local"
    assert "may only be set for externally-accessible services" in w.outputs["k8sl-error"].value
    assert w.controls["k8sl-etp"].value is None and w.cluster.service("web").external_traffic_policy is None


def test_pod_mover():
    w = pod_mover(k8s.examples.uneven())
    assert "k8sl-pod-mover" in w.widget._dom_classes
    k = w.controls
    k["k8sl-move-pod"].value, k["k8sl-move-node"].value = "web-2", "node-c"
    k["k8sl-move"].click()
    assert w.cluster.pod("web-2").node == "node-c" and w.last_error is None
    assert "node-c" in set(w.result["traffic"].node)


def test_pod_mover_opens_with_a_pod_and_a_node_chosen():
    w = pod_mover(k8s.examples.one_two())
    k = w.controls
    assert k["k8sl-move-pod"].value == "web-1" and k["k8sl-move-node"].value == "node-a"
    k["k8sl-move-node"].value = "node-b"
    k["k8sl-move"].click()
    assert w.last_error is None and w.cluster.pod("web-1").node == "node-b"
    assert "None" not in w.outputs["k8sl-error"].value
    assert w._repr_mimebundle_()["text/plain"].startswith("▶ Run this cell")


def test_widgets_leave_the_global_random_state_alone():
    np.random.seed(1)
    random.seed(1)
    before = (np.random.get_state()[1].copy(), random.getstate())
    ex = explore(k8s.examples.uneven())
    ex.controls["k8sl-send-one"].click()
    ex.controls["k8sl-send-n"].click()
    assert (np.random.get_state()[1] == before[0]).all() and random.getstate() == before[1]


# ------------------------------------------------------------------------------------ property: any sequence is safe
ACTIONS = st.one_of(
    st.tuples(st.just("k8sl-etp"), st.sampled_from(["Cluster", "Local"])),
    st.tuples(st.just("k8sl-itp"), st.sampled_from(["Cluster", "Local"])),
    st.tuples(st.just("k8sl-type"), st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer"])),
    st.tuples(st.just("k8sl-lb"), st.sampled_from(list(k8s.LB_MODELS) + list(k8s.LB_PROFILES))),
    st.tuples(st.just("k8sl-dataplane"), st.sampled_from(list(k8s.DATAPLANES))),
    st.tuples(st.just("k8sl-client"), st.sampled_from(["external", "pod"])),
    st.tuples(st.just("k8sl-entry"), st.integers(0, 5)),
    st.tuples(st.just("k8sl-client-pod"), st.integers(0, 20)),
    st.tuples(st.just("k8sl-address"), st.integers(0, 3)),
    st.tuples(st.just("move"), st.integers(0, 20), st.integers(0, 5)),
    st.tuples(st.just("scale"), st.integers(0, 7)),
    st.tuples(st.just("k8sl-add-node"),),
    st.tuples(st.just("remove"), st.integers(0, 5)),
    st.tuples(st.just("pod-state"), st.integers(0, 20), st.sampled_from(["Running", "NotReady", "Terminating"])),
    st.tuples(st.just("node-state"), st.integers(0, 5), st.sampled_from(["Ready", "NotReady"])),
    st.tuples(st.just("k8sl-send-one"),),
    st.tuples(st.just("k8sl-send-n"), st.integers(1, 500)),
    st.tuples(st.just("k8sl-exact"),),
    st.tuples(st.just("k8sl-reply"), st.booleans()),
    st.tuples(st.just("k8sl-step"),),
    st.tuples(st.just("k8sl-back"),),
    st.tuples(st.just("k8sl-compare"), st.sampled_from(["off", "policy", "dataplane", "lb"])),
    st.tuples(st.just("k8sl-projector"), st.booleans()),
)


def _pick(widget, i):
    values = [o[1] if isinstance(o, tuple) else o for o in widget.options]
    return values[i % len(values)] if values else None


def _do(ex, action):
    k = ex.controls
    name = action[0]
    if name in ("k8sl-etp", "k8sl-itp", "k8sl-type", "k8sl-lb", "k8sl-dataplane", "k8sl-client", "k8sl-reply",
                "k8sl-compare", "k8sl-projector"):
        k[name].value = action[1]
    elif name in ("k8sl-entry", "k8sl-client-pod", "k8sl-address"):
        value = _pick(k[name], action[1])
        if value is not None:
            k[name].value = value
    elif name == "move":
        pod, node = _pick(k["k8sl-move-pod"], action[1]), _pick(k["k8sl-move-node"], action[2])
        if pod is not None:
            k["k8sl-move-pod"].value, k["k8sl-move-node"].value = pod, node
        k["k8sl-move"].click()
    elif name == "scale":
        k["k8sl-replicas"].value = action[1]
        k["k8sl-scale"].click()
    elif name == "remove":
        k["k8sl-remove-node-choice"].value = _pick(k["k8sl-remove-node-choice"], action[1])
        k["k8sl-remove-node"].click()
    elif name == "pod-state":
        pod = _pick(k["k8sl-pod-choice"], action[1])
        if pod is not None:
            k["k8sl-pod-choice"].value = pod
            k["k8sl-pod-state"].value = action[2]
    elif name == "node-state":
        k["k8sl-node-choice"].value = _pick(k["k8sl-node-choice"], action[1])
        k["k8sl-node-state"].value = action[2]
    elif name == "k8sl-send-n":
        k["k8sl-n"].value = action[1]
        k[name].click()
    else:
        k[name].click()


def _consistent(ex):
    k, c = ex.controls, ex.cluster
    svc = c.service("web")
    pods, nodes = [p.name for p in c.pods], [n.name for n in c.nodes]
    assert list(k["k8sl-move-pod"].options) == pods and list(k["k8sl-pod-choice"].options) == pods
    assert list(k["k8sl-client-pod"].options) == pods
    for name in ("k8sl-move-node", "k8sl-remove-node-choice", "k8sl-node-choice"):
        assert list(k[name].options) == nodes
    assert [v for _, v in k["k8sl-entry"].options] == ["", *nodes]
    assert k["k8sl-type"].value == svc.type
    assert k["k8sl-etp"].value == svc.external_traffic_policy
    assert k["k8sl-itp"].value == svc.internal_traffic_policy
    assert k["k8sl-replicas"].value == len(c.selected_pods(svc))
    if k["k8sl-pod-choice"].value:
        assert k["k8sl-pod-state"].value == c.pod(k["k8sl-pod-choice"].value).status
    if k["k8sl-node-choice"].value:
        assert k["k8sl-node-state"].value == ("Ready" if c.node(k["k8sl-node-choice"].value).ready else "NotReady")
    # the error area shows a message exactly when something could not be done or shown
    assert (ex.outputs["k8sl-error"].value != "") == (ex.result.error is not None)
    compare = k["k8sl-compare"].value != "off"
    if ex.result.trace is not None and not compare:
        t = ex.result.trace
        shown = len(t.hops) + (len(t.reply) if k["k8sl-reply"].value else 0)
        assert _rows(ex.outputs["k8sl-hops"].value) == shown
        assert k["k8sl-play"].max == max(shown, 1)
        if ex.result.step is not None:
            assert 1 <= ex.result.step <= shown
            assert _marked(ex.outputs["k8sl-scene"].value, "token")[0].get("data-step") == str(ex.result.step)
    if ex.result.traffic is not None:
        assert list(ex.result.traffic.pod) == [e.pod for e in c.endpoints(svc)]
        lost = sum(ex.result.traffic.attrs[key] for key in ("dropped", "refused", "failed"))
        assert ex.result.traffic.share.sum() + lost == pytest.approx(1)
    assert 1 <= len(_svgs(ex.outputs["k8sl-scene"].value)) <= 2
    assert ("k8sl-wide" in ex.widget._dom_classes) == (compare or k["k8sl-projector"].value)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.sampled_from(["uneven", "one_two", "empty_node", "zones", "in_cluster"]),
       actions=st.lists(ACTIONS, min_size=1, max_size=12))
def test_any_sequence_of_actions_keeps_widgets_and_model_consistent(start, actions):
    ex = explore(k8s.examples.NAMES[start](), seed=0)
    _consistent(ex)
    for action in actions:
        _do(ex, action)  # never raises: rejected changes are shown in the error area
        assert ex.last_error is None or isinstance(ex.last_error, K8sLearnError), repr(ex.last_error)
        _consistent(ex)


def test_a_picture_that_fails_to_draw_blanks_only_itself_and_says_so(monkeypatch):
    from k8slearn.widgets import explorer as module

    ex = explore(k8s.examples.uneven())

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(module, "scene", broken)
    ex.controls["k8sl-etp"].value = "Local"
    assert ex.cluster.service("web").external_traffic_policy == "Local"  # the change itself happened
    assert isinstance(ex.last_error, ValueError)
    assert "Unexpected ValueError" in ex.outputs["k8sl-error"].value and "boom" in ex.outputs["k8sl-error"].value
    assert "could not be drawn" in ex.outputs["k8sl-scene"].value
    assert "client IP kept 100%" in _metrics(ex)  # the other outputs still follow the model
    assert _svgs(ex.outputs["k8sl-chart"].value)
