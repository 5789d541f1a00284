"""Pictures: well-formed SVG, readable text, and they draw what the model says.

Every picture is checked as data (the SVG parsed with ElementTree): the addresses written on the
path before and after the SNAT hop, the shares on the load balancer's edges, the bars' parts, the
token of the packet tracer, node colours that stay put.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest

import k8slearn as k8s
from k8slearn import viz
from k8slearn.errors import K8sLearnError
from k8slearn.viz.bars import nice_max, split
from k8slearn.viz.scene import MAX_NODES
from k8slearn.viz.svg import NODE_COLOURS, NodeColours, Picture, text_width

NS = {"s": "http://www.w3.org/2000/svg"}
CLIENT = "198.51.100.7"


def tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def marked(svg: str, kind: str) -> list[ET.Element]:
    return [e for e in tree(svg).iter() if e.get("data-k8s") == kind]


def texts(svg: str) -> list[str]:
    return ["".join(e.itertext()) for e in tree(svg).iter(f"{{{NS['s']}}}text")]


def sane(pic: Picture) -> None:
    root = tree(pic.svg)
    assert root.get("role") == "img" and root.get("viewBox")
    title = root.find("s:title", NS)
    assert title is not None and title.text == pic.alt and "\n" not in pic.alt
    sizes = [float(e.get("font-size")) for e in root.iter(f"{{{NS['s']}}}text")]
    assert sizes and min(sizes) >= 12, f"text smaller than 12 px: {min(sizes)}"
    # every text inside the picture (a generous width estimate): nothing is cut off at an edge
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    for e in root.iter(f"{{{NS['s']}}}text"):
        words = "".join(e.itertext())
        size, x, y = float(e.get("font-size")), float(e.get("x")), float(e.get("y"))
        classes = (e.get("class") or "").split()
        w = text_width(words, size, mono="mono" in classes,
                       bold="b" in classes or 'font-weight="bold"' in ET.tostring(e, encoding="unicode"))
        left = {"start": x, "middle": x - w / 2, "end": x - w}[e.get("text-anchor") or "start"]
        assert left >= -0.5 and left + w <= width + 0.5, f"{words!r} runs past the picture's side ({left:.0f}..{left + w:.0f} of {width:.0f})"
        assert y - 0.75 * size >= -0.5 and y <= height + 0.5, f"{words!r} runs past the top or bottom"
    # themed: JupyterLab's variables with light fallbacks, so it reads on light and dark pages
    assert "var(--jp-ui-font-color0, #1a1a1a)" in pic.svg and "var(--jp-layout-color0, #ffffff)" in pic.svg


def uneven_trace(**kw):
    return k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-1", seed=1, **kw)


CASES = {
    "uneven": lambda: viz.draw(k8s.examples.uneven()),
    "empty-node lb": lambda: viz.draw(k8s.examples.empty_node(), lb="equal"),
    "zones": lambda: viz.draw(k8s.examples.zones()),
    "balanced 12": lambda: viz.draw(k8s.examples.balanced(12)),
    "trace snat": lambda: viz.draw(uneven_trace()),
    "trace reply": lambda: viz.draw(uneven_trace(), reply=True),
    "trace step": lambda: viz.draw(uneven_trace(), step=3),
    "trace no-snat": lambda: viz.draw(uneven_trace(dataplane="no-snat"), reply=True),
    "trace drop": lambda: viz.draw(k8s.send(k8s.examples.empty_node(), "web", via="node-c", lb="equal")),
    "trace in-cluster": lambda: viz.draw(k8s.send(k8s.examples.in_cluster(), "web", client="client", seed=2),
                                         reply=True),
    "trace nodePort": lambda: viz.draw(k8s.send(k8s.examples.uneven(), "web", address="nodePort", via="node-b",
                                                seed=3)),
    "trace large": lambda: viz.draw(k8s.send(k8s.examples.large(100, 1000), "web", seed=2)),
    "traffic": lambda: viz.draw(k8s.traffic(k8s.examples.uneven(), "web"),
                                metrics=k8s.metrics(k8s.examples.uneven(), "web")),
    "traffic sample": lambda: viz.draw(k8s.sample(k8s.examples.one_two(), "web", 500, seed=1)),
    "traffic 1000 pods": lambda: viz.draw(k8s.traffic(k8s.examples.large(100, 1000), "web")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_picture_is_well_formed_readable_and_has_alt_text(name):
    sane(CASES[name]())


def test_the_path_is_labelled_with_the_addresses_before_and_after_the_snat_hop():
    t = uneven_trace()  # Cluster, in at node-c, to web-1 on node-a: DNAT and SNAT at node-c
    svg = viz.draw(t).svg
    labels = marked(svg, "label")
    assert len(labels) == 2, "one label per run of segments that carries the same addresses"
    first, second = labels
    assert first.get("data-src") == CLIENT and first.get("data-dst") == "203.0.113.100"
    assert first.get("data-snat") == "false"
    assert second.get("data-src") == "192.168.0.13" and second.get("data-dst") == "10.244.1.5"
    assert second.get("data-snat") == "true"
    assert second.find("s:rect", NS).get("stroke-dasharray")  # SNAT'd: its label is dashed too
    assert "SNAT" in "".join(second.itertext()) and "192.168.0.13:" in "".join(second.itertext())
    words = " ".join(texts(svg))
    assert "src 192.168.0.13:" in words and "dst 10.244.1.5:8080" in words
    assert "src 198.51.100.7:51000" in words and "dst 203.0.113.100:80" in words
    assert "SNAT" in words and "DNAT" in words  # the rewrite said in words, not only by colour
    segments = marked(svg, "segment")
    snat = [s for s in segments if s.get("data-snat") == "true"]
    kept = [s for s in segments if s.get("data-snat") == "false"]
    assert snat and kept
    assert all(s.get("stroke-dasharray") for s in snat) and not any(s.get("stroke-dasharray") for s in kept)
    assert {s.get("stroke") for s in snat} != {s.get("stroke") for s in kept}
    assert "not the client's IP (SNAT)" in " ".join(texts(svg))


def test_local_keeps_the_client_source_on_every_segment():
    c = k8s.examples.uneven()
    c.patch_service("web", external_traffic_policy="Local")
    svg = viz.draw(k8s.send(c, "web", via="node-a", seed=1)).svg
    assert {lab.get("data-src") for lab in marked(svg, "label")} == {CLIENT}
    assert {s.get("data-snat") for s in marked(svg, "segment")} == {"false"}
    assert "the client's own IP" in " ".join(texts(svg))


def test_a_drop_is_marked_where_it_happens():
    svg = CASES["trace drop"]().svg
    drops = marked(svg, "drop")
    assert [d.get("data-at") for d in drops] == ["node-c"]
    headline = marked(svg, "headline")[0]
    assert "DROPPED at node-c" in "".join(headline.itertext())


def test_the_reply_is_drawn_and_its_outcome_said():
    ok = viz.draw(uneven_trace(), reply=True).svg
    assert "✓ reply accepted" in " ".join(texts(ok))
    assert any(s.get("stroke") == viz.PALETTE["reply"] for s in marked(ok, "segment"))
    bad = viz.draw(uneven_trace(dataplane="no-snat"), reply=True).svg
    assert "reply discarded" in " ".join(texts(bad))


def test_the_packet_tracer_draws_the_packet_at_each_step_with_no_spoiler():
    t = uneven_trace()
    hops = t.hops
    for k in range(1, len(hops) + 1):
        svg = viz.draw(t, step=k).svg
        token = marked(svg, "token")
        assert len(token) == 1
        assert token[0].get("data-step") == str(k)
        assert token[0].get("data-src") == str(hops[k - 1].after.src)
        assert token[0].get("data-dst") == str(hops[k - 1].after.dst)
        headline = "".join(marked(svg, "headline")[0].itertext())
        if k < len(hops):
            assert headline.startswith(f"step {k} of {len(hops)}") and "sees" not in headline
            assert len(marked(svg, "segment")) < len(marked(viz.draw(t).svg, "segment"))
        else:
            assert "web-1 on node-a sees source 192.168.0.13" in headline
    # the SNAT hop: its token carries the new source
    snat_step = next(h.step for h in hops if h.action == "SNAT")
    token = marked(viz.draw(t, step=snat_step).svg, "token")[0]
    assert token.get("data-action") == "SNAT" and token.get("data-src") == "192.168.0.13"
    # the reply's un-NAT: the source becomes the address the client dialled again
    t_reply = viz.draw(t, reply=True, step=len(hops) + len(t.reply) - 1)
    token = marked(t_reply.svg, "token")[0]
    assert token.get("data-src") == "203.0.113.100"


def test_a_step_out_of_range_is_clamped():
    t = uneven_trace()
    assert marked(viz.draw(t, step=99).svg, "token")[0].get("data-step") == str(len(t.hops))
    assert marked(viz.draw(t, step=0).svg, "token")[0].get("data-step") == "1"


def test_load_balancer_edges_carry_their_shares():
    c = k8s.examples.empty_node()  # Local, pods on node-a and node-b, none on node-c
    shares = {e.get("data-node"): "".join(e.itertext()) for e in marked(viz.draw(c, lb="health-checked").svg, "share")}
    assert shares == {"node-a": "50%", "node-b": "50%", "node-c": "0%"}
    equal = {e.get("data-node"): "".join(e.itertext()) for e in marked(viz.draw(c, lb="equal").svg, "share")}
    assert equal == {"node-a": "33.3%", "node-b": "33.3%", "node-c": "33.3%"}
    health = {e.get("data-node"): "".join(e.itertext()) for e in marked(viz.draw(c, lb="health-checked").svg,
                                                                        "health")}
    assert health == {"node-a": "health 200", "node-b": "health 200", "node-c": "health 503"}


def test_a_big_cluster_draws_a_few_nodes_and_always_the_ones_on_the_path():
    t = k8s.send(k8s.examples.large(100, 1000), "web", seed=2)
    svg = viz.draw(t).svg
    node_names = {"".join(e.itertext()) for e in tree(svg).iter(f"{{{NS['s']}}}text")}
    assert t.entry_node in node_names and t.pod_node in node_names
    assert any(w.startswith("+") and "more nodes" in w for w in node_names)
    drawn = {e.get("data-pod") for e in marked(svg, "pod")}
    assert t.pod in drawn and len(drawn) <= MAX_NODES * 4
    assert len(svg) < 60_000


def test_node_colours_stay_with_the_node_when_pods_move_or_nodes_come_and_go():
    c = k8s.examples.uneven()
    colours = NodeColours(n.name for n in c.nodes)
    before = {n.name: colours[n.name] for n in c.nodes}
    c.move_pod("web-3", "node-c")
    c.remove_node("node-b")
    again = c.add_node()  # takes the free name node-b: a name keeps its colour
    new = c.add_node()
    assert again.name == "node-b" and colours["node-b"] == before["node-b"]
    assert colours["node-a"] == before["node-a"] and colours["node-c"] == before["node-c"]
    assert colours[new.name] == NODE_COLOURS[3] and colours[new.name] not in before.values()
    svg = viz.draw(c, colours=colours).svg
    assert f'stroke="{before["node-c"]}"' in svg
    # the path's colours are never node colours
    assert not {viz.PALETTE["request"], viz.PALETTE["snat"], viz.PALETTE["reply"]} & set(NODE_COLOURS)


def test_bars_split_each_share_into_direct_extra_hop_and_snat():
    frame = k8s.traffic(k8s.examples.uneven(), "web")  # Cluster: all SNAT'd, 2/3 via an extra hop
    svg = viz.draw(frame).svg
    parts: dict[str, dict[str, float]] = {}
    for e in marked(svg, "bar-part"):
        parts.setdefault(e.get("data-pod"), {})[e.get("data-part")] = float(e.get("data-value"))
    for row in frame.itertuples():
        assert sum(parts[row.pod].values()) == pytest.approx(row.share)
        assert set(parts[row.pod]) <= {"snat_direct", "snat_extra"}  # nothing keeps the client IP
    assert parts["web-3"]["snat_extra"] == pytest.approx(1 / 3 * 2 / 3)
    local = k8s.examples.uneven()
    local.patch_service("web", external_traffic_policy="Local")
    svg = viz.draw(k8s.traffic(local, "web")).svg
    assert {e.get("data-part") for e in marked(svg, "bar-part")} == {"kept_direct"}
    dsr = k8s.traffic(k8s.examples.uneven(), "web", dataplane="cilium-dsr")
    svg = viz.draw(dsr).svg
    assert {e.get("data-part") for e in marked(svg, "bar-part")} == {"kept_direct", "kept_extra"}


def test_split_is_the_joint_every_dataplane_gives():
    for dp in ("iptables", "ipvs", "cilium-snat", "cilium-dsr", "no-snat"):
        for example in ("uneven", "one_two", "empty_node"):
            frame = k8s.traffic(getattr(k8s.examples, example)(), "web", dataplane=dp, lb="equal")
            for row in frame.itertuples():
                p = split(row)
                assert all(v >= -1e-12 for v in p.values())
                assert sum(p.values()) == pytest.approx(row.share)


def test_lost_traffic_has_its_own_bar_and_the_scale_can_be_fixed():
    frame = k8s.traffic(k8s.examples.empty_node(), "web", lb="equal")
    svg = viz.draw(frame).svg
    lost = marked(svg, "lost")
    assert [e.get("data-part") for e in lost] == ["dropped"]
    assert float(lost[0].get("data-value")) == pytest.approx(1 / 3)
    fixed = viz.draw(frame, y_max=0.8).svg
    assert "80%" in texts(fixed) and "80%" not in texts(svg)


def test_nice_max():
    assert [nice_max(x) for x in (0.001, 0.01, 0.019, 0.19, 0.2, 0.34, 0.51, 0.9, 3)] == [
        0.002, 0.01, 0.02, 0.2, 0.2, 0.4, 0.6, 1.0, 1.0]


def test_a_chart_of_a_thousand_pods_stays_small_and_honest():
    frame = k8s.traffic(k8s.examples.large(100, 1000), "web")
    svg = viz.draw(frame).svg
    assert len(svg) < 60_000
    groups = marked(svg, "bar-group")
    assert groups and not marked(svg, "bar-part")  # a few paths, not an element per pod
    assert "1,000 pods, in cluster order" in " ".join(texts(svg))
    assert "0.1%" in " ".join(texts(svg))  # the scale fits shares of a tenth of a percent


def test_a_picture_shows_itself_in_a_notebook_as_svg_png_and_text():
    pic = viz.draw(uneven_trace())
    bundle, metadata = pic._repr_mimebundle_()
    assert metadata["image/png"]["width"] == 780  # the PNG copy shows at the SVG's size
    assert bundle["text/plain"] == pic.alt and pic.alt.startswith("Trace diagram: 198.51.100.7 -> service web")
    assert bundle["image/svg+xml"] == pic.svg
    png = base64.b64decode(bundle["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width >= 780, "the PNG copy is at least as sharp as the SVG at 100 %"
    assert str(pic) == pic.alt and "Picture (trace)" in repr(pic)


def test_save(tmp_path):
    pic = viz.draw(k8s.examples.uneven())
    assert tree(pic.save(tmp_path / "a.svg").read_text()) is not None
    assert (pic.save(tmp_path / "a.png").read_bytes())[:4] == b"\x89PNG"
    assert "<svg" in pic.save(tmp_path / "a.html").read_text()
    with pytest.raises(K8sLearnError, match="cannot save a picture as .pdf"):
        pic.save(tmp_path / "a.pdf")


def test_draw_refuses_what_it_cannot_draw_with_a_teaching_message():
    with pytest.raises(K8sLearnError, match="cannot draw a dict") as err:
        viz.draw({"a": 1})
    assert "k8s.send" in str(err.value)


def test_text_is_escaped():
    c = k8s.examples.uneven()
    pic = viz.draw(c)
    assert "<script" not in pic.svg
    assert re.search(r"&lt;|&amp;|&quot;", viz.svg.esc('<a & "b">'))


@pytest.mark.parametrize("text, regular, bold", [
    # widths in em, measured in DejaVu Sans and DejaVu Sans Bold (the first font the pictures ask for)
    ("DROP at node-c", 7.902, 8.833),
    ("ABCDEFGHOPQRSTUVWXYZ", 14.058, 15.639),
    ("health 503", 5.392, 6.033),
    ("2/11 forward at load balancer", 14.841, 16.726),
])
def test_text_width_is_generous_enough_for_the_widest_font(text, regular, bold):
    # DejaVu Sans Mono advances 0.602 em; the estimate never falls short of it.
    assert text_width("192.168.0.13:40211", 12.5, mono=True) >= 18 * 12.5 * 0.602
    # nor of DejaVu Sans, regular or bold (a box sized by it holds its words, capitals too)
    assert text_width(text, 10) >= regular * 10 - 1e-9
    assert text_width(text, 10, bold=True) >= bold * 10 - 1e-9


def test_summary_of_each_kind():
    assert viz.summary(k8s.traffic(k8s.examples.one_two(), "web")).startswith("Traffic chart for web: web-1 50%")
    assert viz.summary(uneven_trace()).startswith("Trace diagram:")
    assert viz.summary(k8s.examples.uneven()).startswith("Cluster diagram:")
    with pytest.raises(K8sLearnError):
        viz.summary(3)


def test_imbalance_is_said_in_words():
    assert viz.metrics_line({"client_ip_kept": 1.0, "extra_hop": 0.0, "dropped": 0.0,
                             "imbalance": float("inf")}).endswith("a serving pod gets nothing")
    assert "inf" not in viz.metrics_line({"client_ip_kept": 1.0, "extra_hop": 0.0, "dropped": 0.0,
                                          "imbalance": float("inf")})


def _rect_before(svg: str, marker: str) -> list[tuple[float, float, float, float]]:
    """The box drawn just before each text containing ``marker`` (a share label's or a kube-proxy tag's)."""
    boxes = []
    for m in re.finditer(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"[^>]*/><text[^>]*>' + marker,
                         svg):
        boxes.append(tuple(float(v) for v in m.groups()))
    return boxes


def _overlap(a, b, slack: float = 2.0) -> bool:
    """Boxes (x, y, w, h) that cover each other by more than ``slack`` px both ways (a touching border is fine)."""
    wide = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    tall = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return wide > slack and tall > slack


@pytest.mark.parametrize("make, lb", [
    (lambda: k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-3", seed=1), "health-checked"),
    (lambda: k8s.send(k8s.examples.uneven(), "web", via="node-c", endpoint="web-1", seed=1), "health-checked"),
    (lambda: k8s.send(k8s.examples.uneven(), "web", via="node-b", seed=3), "equal"),
    (lambda: k8s.send(k8s.examples.balanced(4), "web", via="node-b", seed=2), "equal"),
    (lambda: k8s.send(k8s.examples.empty_node(), "web", via="node-c", lb="equal"), "equal"),
], ids=["uneven-c-web3", "uneven-c-web1", "uneven-b", "balanced4", "drop"])
def test_the_packet_covers_no_share_at_any_step(make, lb):
    t = make()
    for step in range(1, len(t.hops) + len(t.reply) + 1):
        svg = viz.draw(t, step=step, reply=True, lb=lb).svg
        tok = re.search(r'data-k8s="token".*?<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', svg, re.S)
        box = tuple(float(v) for v in tok.groups())
        others = _rect_before(svg, r'[\d.]+%</text>')
        assert others, "the picture has the load balancer's shares"
        hit = [o for o in others if _overlap(box, o)]
        assert not hit, f"step {step}: the packet's header box {box} covers {hit}"
