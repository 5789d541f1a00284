"""Pictures: they render, their sizes are sane, they draw what the model says, text is readable."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import k8slearn as k8s  # noqa: E402
from k8slearn import viz  # noqa: E402


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_text()]


def gids(fig: Figure, gid: str) -> list:
    return [a for a in fig.findobj(lambda a: a.get_gid() == gid)]


def sane(fig: Figure) -> None:
    w, h = fig.get_size_inches()
    assert 8 <= w <= 10 and 2.5 <= h <= 14, (w, h)
    small = [(t.get_text(), t.get_fontsize()) for t in texts(fig) if t.get_fontsize() < 9]
    assert not small, small
    alt = viz.summary(fig)
    assert alt and "\n" not in alt and fig.get_label() == alt
    png(fig)


def uneven_trace(**kw):
    return k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1, **kw)


CASES = {
    "uneven": lambda: viz.draw(k8s.examples.uneven()),
    "empty-node lb": lambda: viz.draw(k8s.examples.empty_node(), lb="equal"),
    "zones": lambda: viz.draw(k8s.examples.zones()),
    "balanced 12": lambda: viz.draw(k8s.examples.balanced(12)),
    "trace snat": lambda: viz.draw(uneven_trace()),
    "trace reply": lambda: viz.draw(uneven_trace(), reply=True),
    "trace no-snat": lambda: viz.draw(uneven_trace(dataplane="no-snat"), reply=True),
    "trace drop": lambda: viz.draw(k8s.send(k8s.examples.empty_node(), "web", via="node-c", lb="equal")),
    "trace in-cluster": lambda: viz.draw(k8s.send(k8s.examples.in_cluster(), "web", client="client", seed=2),
                                         reply=True),
    "trace nodePort": lambda: viz.draw(k8s.send(k8s.examples.uneven(), "web", address="nodePort", via="node-b",
                                                seed=1), reply=True),
    "trace pod-targeting": lambda: viz.draw(k8s.send(k8s.examples.uneven(), "web", lb="pod-targeting", seed=1),
                                            reply=True),
    "trace dsr": lambda: viz.draw(uneven_trace(dataplane="cilium-dsr"), reply=True),
    "traffic": lambda: viz.draw(k8s.traffic(k8s.examples.one_two(), "web")),
    "traffic metrics": lambda: viz.draw(k8s.traffic(k8s.examples.empty_node(), "web", lb="equal"),
                                        metrics=k8s.metrics(k8s.examples.empty_node(), "web", lb="equal")),
    "sample": lambda: viz.draw(k8s.sample(k8s.examples.uneven(), "web", 500, seed=3)),
    "compact 30": lambda: viz.draw(k8s.examples.large(30, 70)),
    "big trace": lambda: viz.draw(k8s.send(k8s.examples.large(40, 80), "web", seed=4), reply=True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_figures_render_with_sane_size_text_and_alt_text(name):
    fig = CASES[name]()
    assert isinstance(fig, Figure)
    sane(fig)


@pytest.mark.parametrize("dataplane", ["iptables", "no-snat", "cilium-snat", "cilium-dsr", "ipvs"])
@pytest.mark.parametrize("reply", [False, True])
def test_one_numbered_circle_per_hop_and_one_arrow_per_move(dataplane, reply):
    t = uneven_trace(dataplane=dataplane)
    fig = viz.draw_trace(t, reply=reply)
    hops = t.hops + (t.reply if reply else ())
    numbers = gids(fig, "k8slearn-hop-number")
    assert sorted(int(n.get_text()) for n in numbers) == [h.step for h in hops]
    moves = len(t.path) - 1 + (len(t.reply_path) - 1 if reply and t.reply else 0)
    assert len(gids(fig, "k8slearn-hop-arrow")) == moves
    assert fig._k8slearn_info["hops"] == len(hops)
    assert fig._k8slearn_info["arrows"] == moves


def test_nat_rewrites_are_written_where_they_happen():
    fig = viz.draw(uneven_trace())
    words = " ".join(t.get_text() for t in texts(fig))
    assert "SNAT 198.51.100.7 → 192.168.0.13" in words
    assert "DNAT 203.0.113.100:80 → 10.244.2.5:8080" in words
    assert "extra hop" in words


def test_a_dropped_packet_is_marked_with_its_reason():
    t = k8s.send(k8s.examples.empty_node(), "web", via="node-c", lb="equal")
    assert t.outcome == "dropped"
    fig = viz.draw(t)
    assert len(gids(fig, "k8slearn-drop")) == 1
    words = " ".join(x.get_text() for x in texts(fig))
    assert "DROP at node-c" in words and "no local endpoint" in words
    delivered = viz.draw(uneven_trace())
    assert not gids(delivered, "k8slearn-drop")


def test_a_discarded_reply_is_marked_at_the_client_only_when_the_reply_is_drawn():
    t = uneven_trace(dataplane="no-snat")
    assert t.outcome == "reply discarded"
    assert not gids(viz.draw(t), "k8slearn-drop")
    fig = viz.draw(t, reply=True)
    assert len(gids(fig, "k8slearn-drop")) == 1
    assert "discards the reply" in " ".join(x.get_text() for x in texts(fig))


def test_large_clusters_switch_to_the_compact_view():
    fig = viz.draw(k8s.examples.large(30, 70))
    assert fig._k8slearn_info["compact"] is True
    assert gids(fig, "k8slearn-compact") and not gids(fig, "k8slearn-pod")
    small = viz.draw(k8s.examples.uneven())
    assert small._k8slearn_info["compact"] is False
    assert len(gids(small, "k8slearn-pod")) == 3 and len(gids(small, "k8slearn-kube-proxy")) == 3
    assert "compact view" in viz.summary(fig)


def test_pod_states_look_different():
    c = k8s.examples.uneven()
    c.set_pod("web-1", ready=False)
    c.set_pod("web-3", terminating=True)
    fig = viz.draw(c)
    pods = {round(p.get_y(), 3): p for p in gids(fig, "k8slearn-pod")}
    styles = {(p.get_hatch(), p.get_linestyle(), p.get_edgecolor()) for p in gids(fig, "k8slearn-pod")}
    assert len(styles) == 3, pods
    words = " ".join(t.get_text() for t in texts(fig))
    assert "NotReady" in words and "Terminating" in words


def test_traffic_chart_bars_fair_share_lost_and_metrics():
    c = k8s.examples.empty_node()
    frame = k8s.traffic(c, "web", lb="equal")
    fig = viz.draw(frame, metrics=k8s.metrics(c, "web", lb="equal"))
    bars = gids(fig, "k8slearn-share-bar")
    assert [round(b.get_height(), 4) for b in bars] == [round(s, 4) for s in frame["share"]]
    assert len({tuple(b.get_facecolor()) for b in bars}) == 2  # one colour per node
    lost = gids(fig, "k8slearn-lost-dropped")
    assert len(lost) == 1 and lost[0].get_height() == pytest.approx(1 / 3)
    fair = gids(fig, "k8slearn-fair-share")
    assert fair and fair[0].get_ydata()[0] == pytest.approx(0.5)
    panel = gids(fig, "k8slearn-metrics")[0].get_text()
    for word in ("client IP preserved", "extra node hop", "dropped", "imbalance max/min", "33.3%"):
        assert word in panel
    assert "lost 33.3%" in viz.summary(fig)


def test_draw_into_an_existing_axes_and_summary_without_a_figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5))
    ax = fig.add_subplot()
    assert viz.draw(k8s.examples.uneven(), ax=ax) is fig
    assert viz.summary(k8s.examples.uneven()).startswith("Cluster diagram: 3 nodes")
    assert viz.summary(uneven_trace()).startswith("Trace diagram: 198.51.100.7")
    png(fig)
    fig2 = Figure(figsize=(9, 4))
    ax2 = fig2.add_subplot()
    assert viz.draw(k8s.traffic(k8s.examples.uneven(), "web"), ax=ax2) is fig2


def test_draw_rejects_what_it_cannot_draw_and_never_touches_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for make in CASES.values():
        make()
    assert plt.get_fignums() == before
    with pytest.raises(TypeError, match="cannot draw"):
        viz.draw(42)


def test_the_trace_picture_survives_later_changes_to_the_cluster():
    c = k8s.examples.uneven()
    t = k8s.send(c, "web", via="node-c", endpoint="web-3")
    c.move_pod("web-3", "node-c")
    c.remove_node("node-b")
    sane(viz.draw(t))


def test_highlight_and_lb_shares():
    fig = viz.draw(k8s.examples.one_two(), lb="health-checked", highlight="node-b")
    words = [t.get_text() for t in texts(fig)]
    assert words.count("50%") == 2
    thick = [p for p in gids(fig, "k8slearn-node") if p.get_linewidth() > 2]
    assert len(thick) == 1


def test_a_trace_to_a_pod_beyond_the_per_node_limit_still_draws():
    # A node with more pods than fit shows "+N more pods"; the pod the trace reaches is always drawn.
    c = k8s.examples.large(3, 30)
    c.patch_service("web", external_traffic_policy="Local")
    t = k8s.send(c, "web", via="node-a", endpoint="web-10", seed=1)
    fig = k8s.draw(t, reply=True)
    assert fig._k8slearn_info["hops"] == len(t.hops) + len(t.reply)
