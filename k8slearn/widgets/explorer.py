"""The explorer: change anything, watch the packet and the traffic change, at once.

Everything a click changes is drawn by the browser: the scene, the chart and the tables are SVG and
HTML built in Python (a few milliseconds), so an update is as fast as the kernel can answer. See the
package docstring (:mod:`k8slearn.widgets`) for the controls and their CSS classes.
"""

from __future__ import annotations

import html
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import numpy as np

from ..dataplane import DATAPLANES
from ..errors import InvalidChange, K8sLearnError
from ..loadbalancer import LB_PROFILES, spread
from ..model import CLIENT_IP, Cluster, ServiceRef
from ..trace import Trace, send
from ..traffic import by_node, metrics, sample, traffic
from ..viz import NodeColours, metrics_line
from ..viz.bars import bars, nice_max
from ..viz.scene import scene
from . import _render

__all__ = ["DATAPLANE_LABELS", "LB_LABELS", "COMPARE_MODES", "Explorer", "ExplorerResult", "explore"]

#: The dataplane choices as the explorer labels them (value: a key of k8slearn.DATAPLANES).
DATAPLANE_LABELS = {
    "iptables": "kube-proxy iptables",
    "nftables": "kube-proxy nftables",
    "ipvs": "kube-proxy IPVS",
    "cilium-snat": "Cilium eBPF (SNAT)",
    "cilium-dsr": "Cilium eBPF (DSR)",
    "no-snat": "no SNAT (hypothetical)",
}
#: The load balancers as the explorer labels them: the five abstract models (keys of
#: k8slearn.LB_MODELS), then the real ones of the catalogue (keys of k8slearn.LB_PROFILES).
LB_LABELS = {
    "equal": "model: equal per node",
    "health-checked": "model: health-checked",
    "weighted": "model: weighted by local pods",
    "single-node": "model: single node",
    "pod-targeting": "model: pod-targeting",
    **{key: profile.label for key, profile in LB_PROFILES.items()},
}
#: What compare mode puts side by side.
COMPARE_MODES = {"off": "off", "policy": "Cluster | Local", "dataplane": "two dataplanes",
                 "lb": "two load balancers"}
POD_STATES = ("Running", "NotReady", "Terminating")
NODE_STATES = ("Ready", "NotReady")
ANY_NODE = ""  # the entry-node choice "the load balancer picks"
ADDRESS_LABELS = {"loadBalancerIP": "load-balancer IP", "nodePort": "NodePort", "clusterIP": "ClusterIP",
                  "externalIP": "externalIP"}
# Scene widths in SVG units: text is 12-14 units, so on a projector (the scene about 1,000 px wide)
# a 660-unit scene shows every word at 18 px or more.
SCENE_W, PROJECTOR_W, COMPARE_W, CHART_W = 780.0, 660.0, 520.0, 300.0


@dataclass(frozen=True)
class ExplorerResult:
    """What the explorer shows, as data: continue from here in code.

    ``trace`` (the last packet, a :class:`~k8slearn.trace.Trace`, or None if it could not be sent),
    ``traffic`` (per pod: exact shares, or a sample of ``sampled`` connections), ``metrics``
    (:func:`k8slearn.metrics`, exact), ``health`` (:func:`k8slearn.by_node`), ``error`` (the message in
    the error area, or None), ``step`` (the hop the packet tracer shows, None for the whole path) and
    ``compare`` (in compare mode: ``{label: ExplorerResult}`` for the two sides).
    """

    trace: Trace | None
    traffic: Any
    metrics: Any
    health: Any
    sampled: int | None = None
    error: str | None = None
    step: int | None = None
    compare: dict[str, Any] | None = None

    def __repr__(self) -> str:
        trace = self.trace.summary() if self.trace is not None else None
        return f"ExplorerResult(trace={trace!r}, sampled={self.sampled}, step={self.step}, error={self.error!r})"


def _css(widget: W.Widget, name: str) -> W.Widget:
    widget.add_class(name)
    return widget


class Explorer:
    """An interactive view of ``cluster`` and its ``service``: change anything, see every effect.

    The explorer works on its own copy of ``cluster`` (``explorer.cluster``), so the cluster you
    pass stays as it is; after changing ``explorer.cluster`` in code, call :meth:`refresh`. Controls
    are in :attr:`controls` (by CSS class), outputs in :attr:`outputs`, and the latest results as
    DataFrames in :attr:`result`. :meth:`step`, :meth:`back` and :meth:`play` drive the packet tracer
    from code; ``compare=`` and ``projector=`` choose those modes at the start.
    """

    def __init__(self, cluster: Cluster, service: ServiceRef = "web", *, seed: int = 0,
                 compare: str = "off", projector: bool = False) -> None:
        if not isinstance(cluster, Cluster):
            raise InvalidChange(f"explore() needs a Cluster, not {type(cluster).__name__}",
                                hint="for example k8s.explore(k8s.examples.uneven()).")
        if compare not in COMPARE_MODES:
            raise InvalidChange(f"compare={compare!r} is not a compare mode",
                                hint=f"choose one of: {', '.join(repr(k) for k in COMPARE_MODES)}.")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise InvalidChange(f"seed={seed!r}: the seed must be a whole number", hint="for example seed=1.")
        self.cluster = cluster.copy()
        self.service = cluster.service(service).name
        self.seed = int(seed)
        self.colours = NodeColours(n.name for n in self.cluster.nodes)  # one colour per node, for life
        self.last_error: BaseException | None = None  # the last rejected change (None after a good one)
        self.last_update_ms = 0.0
        self.result = ExplorerResult(None, None, None, None)
        self._packets = 0      # "New packet" clicks: each packet gets its own seeded randomness
        self._samples = 0      # "Send N requests" clicks
        self._sample_n: int | None = None
        self._step: int | None = None  # None: the whole path; k: the packet tracer at hop k
        self._hops = 0         # how many hops the current picture has (request + reply when shown)
        self._trace_key: Any = None
        self._y_max = 0.0      # the chart's scale only grows, so before and after compare
        self._other_key: tuple | None = None  # _other_policy's cache: the other policy's shares
        self._other_frame: Any = None
        self._syncing = False
        self._autoplay = False  # a new packet plays from its first hop
        self._was_external = True
        self.controls: dict[str, W.Widget] = {}
        self.outputs: dict[str, W.Widget] = {}
        self.widget = self._build(compare, projector)
        self.refresh()

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle = dict(bundle)
            bundle["text/plain"] = _render.NOT_RUN_TEXT.format(what="the explorer")
        return bundle

    def __repr__(self) -> str:
        return f"<Explorer of service {self.service!r} on {self.cluster!r}>"

    # ------------------------------------------------------------------ building
    def _control(self, name: str, widget: W.Widget) -> W.Widget:
        self.controls[name] = _css(widget, name)
        return widget

    def _output(self, name: str, widget: W.Widget) -> W.Widget:
        self.outputs[name] = _css(widget, name)
        return widget

    def _build(self, compare: str, projector: bool) -> W.Box:
        c = self._control
        label = {"description_width": "initial"}

        def full() -> W.Layout:  # one Layout per widget: hiding one must not hide the others
            return W.Layout(width="100%")
        c("k8sl-etp", W.ToggleButtons(options=["Cluster", "Local"], value=None, style={"button_width": "118px"},
                                      tooltips=["kube-proxy may send to any pod (and SNATs)",
                                                "only to pods on the node that received it (no SNAT)"]))
        c("k8sl-lb", W.Dropdown(options=[(label, key) for key, label in LB_LABELS.items()], value="health-checked",
                                description="load balancer", style=label, layout=full()))
        c("k8sl-dataplane", W.Dropdown(options=[(DATAPLANE_LABELS.get(k, k), k) for k in DATAPLANES],
                                       value="iptables", description="dataplane", style=label, layout=full()))
        c("k8sl-client", W.ToggleButtons(options=[("outside", "external"), ("a pod", "pod")], value="external",
                                         description="client", style={"description_width": "initial",
                                                                      "button_width": "90px"}))
        c("k8sl-entry", W.Dropdown(description="enters at", style=label, layout=full()))
        c("k8sl-client-pod", W.Dropdown(description="client pod", style=label, layout=full()))
        c("k8sl-address", W.Dropdown(description="dials", style=label, layout=full()))
        small = W.Layout(width="44px")
        c("k8sl-back", W.Button(icon="step-backward", tooltip="back one hop", layout=small))
        c("k8sl-play", W.Play(value=1, min=1, max=1, interval=900, show_repeat=False, tooltip="play the packet",
                              layout=W.Layout(width="auto")))
        c("k8sl-step", W.Button(icon="step-forward", tooltip="forward one hop", layout=small))
        c("k8sl-send-one", W.Button(description="New packet", icon="paper-plane", button_style="primary",
                                    tooltip="send another connection (a new random choice) and play it",
                                    layout=W.Layout(width="auto")))
        c("k8sl-reply", W.Checkbox(value=False, description="and the reply", indent=False,
                                   layout=W.Layout(width="auto")))
        c("k8sl-compare", W.Dropdown(options=[(v, k) for k, v in COMPARE_MODES.items()], value=compare,
                                     description="compare", style=label, layout=full()))
        c("k8sl-compare-with", W.Dropdown(description="with", style=label, layout=full()))
        c("k8sl-projector", W.ToggleButton(value=bool(projector), description="Projector", icon="expand",
                                           tooltip="big text for a room"))
        # folded away: the service itself, cluster changes, many requests
        c("k8sl-type", W.ToggleButtons(options=["ClusterIP", "NodePort", "LoadBalancer"], description="type",
                                       style={"description_width": "initial", "button_width": "95px"}))
        c("k8sl-itp", W.ToggleButtons(options=["Cluster", "Local"], description="internalTrafficPolicy",
                                      style={"description_width": "initial", "button_width": "70px"}))
        c("k8sl-move-pod", W.Dropdown(description="move", style=label, layout=W.Layout(width="140px")))
        c("k8sl-move-node", W.Dropdown(description="to", style=label, layout=W.Layout(width="120px")))
        c("k8sl-move", W.Button(description="Move", layout=W.Layout(width="64px")))
        c("k8sl-replicas", W.BoundedIntText(value=0, min=0, max=100_000, description="replicas", style=label,
                                            layout=W.Layout(width="140px")))
        c("k8sl-scale", W.Button(description="Scale", layout=W.Layout(width="64px")))
        c("k8sl-add-node", W.Button(description="Add a node", icon="plus", layout=W.Layout(width="auto")))
        c("k8sl-remove-node-choice", W.Dropdown(description="remove", style=label, layout=W.Layout(width="150px")))
        c("k8sl-remove-node", W.Button(description="Remove", layout=W.Layout(width="80px")))
        c("k8sl-pod-choice", W.Dropdown(description="pod", style=label, layout=W.Layout(width="140px")))
        c("k8sl-pod-state", W.ToggleButtons(options=POD_STATES, style={"button_width": "92px"}))
        c("k8sl-node-choice", W.Dropdown(description="node", style=label, layout=W.Layout(width="140px")))
        c("k8sl-node-state", W.ToggleButtons(options=NODE_STATES, style={"button_width": "92px"}))
        c("k8sl-n", W.BoundedIntText(value=1000, min=1, max=1_000_000, description="N", style=label,
                                     layout=W.Layout(width="120px")))
        c("k8sl-send-n", W.Button(description="Send N requests", icon="random", layout=W.Layout(width="auto")))
        c("k8sl-exact", W.Button(description="Exact shares", layout=W.Layout(width="auto")))

        o = self._output
        o("k8sl-style", W.HTML(_render.STYLE))
        o("k8sl-error", W.HTML())
        o("k8sl-scene", W.HTML())
        o("k8sl-hops", W.HTML())
        o("k8sl-chart", W.HTML())
        o("k8sl-metrics", W.HTML())
        o("k8sl-health", W.HTML())
        o("k8sl-status", W.HTML())
        self._wire()
        k, out = self.controls, self.outputs

        def title(text: str) -> W.HTML:
            return W.HTML(f"<div class='k8sl-title'>{html.escape(text)}</div>")

        packet = W.HBox([k["k8sl-back"], k["k8sl-play"], k["k8sl-step"], k["k8sl-send-one"]],
                        layout=W.Layout(flex_flow="row wrap", align_items="center"))
        main = W.VBox([
            title("externalTrafficPolicy"), k["k8sl-etp"],
            k["k8sl-lb"], k["k8sl-dataplane"],
            k["k8sl-client"], k["k8sl-entry"], k["k8sl-client-pod"], k["k8sl-address"],
            title("the packet"), packet,
            W.HBox([k["k8sl-reply"], k["k8sl-projector"]], layout=W.Layout(justify_content="space-between")),
            k["k8sl-compare"], k["k8sl-compare-with"],
        ], layout=W.Layout(width="100%"))
        more = W.Tab(children=[
            W.VBox([k["k8sl-type"], k["k8sl-itp"]]),
            W.VBox([W.HBox([k["k8sl-move-pod"], k["k8sl-move-node"], k["k8sl-move"]]),
                    W.HBox([k["k8sl-replicas"], k["k8sl-scale"], k["k8sl-add-node"]]),
                    W.HBox([k["k8sl-remove-node-choice"], k["k8sl-remove-node"]]),
                    k["k8sl-pod-choice"], k["k8sl-pod-state"], k["k8sl-node-choice"], k["k8sl-node-state"]]),
            W.VBox([W.HBox([k["k8sl-n"], k["k8sl-send-n"]]), k["k8sl-exact"]]),
            out["k8sl-health"],
        ], titles=("Service", "Pods, nodes", "Requests", "Health"))
        folded = _css(W.Accordion(children=[more], titles=("More controls",),
                                  selected_index=None), "k8sl-more")
        controls = _css(W.VBox([main, folded]), "k8sl-controls")
        lower = _css(W.HBox([out["k8sl-hops"], out["k8sl-chart"]]), "k8sl-lower")
        view = _css(W.VBox([out["k8sl-error"], out["k8sl-scene"], out["k8sl-metrics"], lower, out["k8sl-status"]]),
                    "k8sl-view")
        root = _css(W.Box([out["k8sl-style"], controls, view]), "k8sl-explorer")
        return root

    # ------------------------------------------------------------------ wiring
    def _wire(self) -> None:
        k = self.controls
        svc = self.service
        on_value: dict[str, Callable[[Any], Any] | None] = {
            "k8sl-etp": lambda v: self.cluster.patch_service(svc, external_traffic_policy=v),
            "k8sl-itp": lambda v: self.cluster.patch_service(svc, internal_traffic_policy=v),
            "k8sl-type": lambda v: self.cluster.patch_service(svc, type=v),
            "k8sl-pod-state": self._set_pod_state,
            "k8sl-node-state": self._set_node_state,
            # settings of the view (no cluster change): the redraw reads them from the controls
            "k8sl-lb": None, "k8sl-dataplane": None, "k8sl-client": None, "k8sl-entry": None,
            "k8sl-client-pod": None, "k8sl-address": None, "k8sl-reply": None, "k8sl-compare": None,
            "k8sl-compare-with": None, "k8sl-projector": None,
            # choosing which pod / node to act on: only the state toggles follow
            "k8sl-pod-choice": None, "k8sl-node-choice": None,
        }
        for name, action in on_value.items():
            k[name].observe(self._handler(action), names="value")
        buttons: dict[str, Callable[[], Any]] = {
            "k8sl-move": lambda: self.cluster.move_pod(self._need("k8sl-move-pod", "pod"),
                                                       self._need("k8sl-move-node", "node")),
            "k8sl-scale": lambda: self.cluster.scale(svc, int(k["k8sl-replicas"].value)),
            "k8sl-add-node": lambda: self.cluster.add_node(),
            "k8sl-remove-node": lambda: self.cluster.remove_node(self._need("k8sl-remove-node-choice", "node")),
            "k8sl-send-one": self._next_packet,
            "k8sl-send-n": self._send_n,
            "k8sl-exact": self._exact,
        }
        for name, action in buttons.items():
            k[name].on_click(self._handler(lambda action=action: action(), button=True))
        k["k8sl-step"].on_click(lambda _: self.step())
        k["k8sl-back"].on_click(lambda _: self.back())
        k["k8sl-play"].observe(self._played, names="value")

    def _handler(self, action: Callable[..., Any] | None, *, button: bool = False) -> Callable[[Any], None]:
        def handle(event: Any) -> None:
            if self._syncing:
                return
            if action is None:
                self.refresh(clear_error=False)
            elif button:
                self._apply(action)
            else:
                self._apply(lambda: action(event["new"]))
        return handle

    def _need(self, control: str, what: str) -> str:
        value = self.controls[control].value
        if not value:
            raise InvalidChange(f"no {what} chosen", hint=f"pick a {what} in the list first.")
        return value

    def _apply(self, action: Callable[[], Any]) -> None:
        """Run one change; a rejected change shows its message and leaves the cluster as it was."""
        try:
            action()
        except Exception as err:  # noqa: BLE001  # shown in the error area; never lost in a callback
            self.last_error = err
        else:
            self.last_error = None
        self.refresh(clear_error=False)

    def _set_pod_state(self, state: str | None) -> None:
        pod = self.controls["k8sl-pod-choice"].value
        if not pod or state is None:
            return
        if state == "Terminating":
            self.cluster.set_pod(pod, terminating=True)
        else:
            self.cluster.set_pod(pod, ready=state == "Running", terminating=False)

    def _set_node_state(self, state: str | None) -> None:
        node = self.controls["k8sl-node-choice"].value
        if node and state is not None:
            self.cluster.set_node(node, ready=state == "Ready")

    def _next_packet(self) -> None:
        self._packets += 1
        self._step = 1          # a new packet plays from its first hop: the learner sees it go
        self._autoplay = True

    def _send_n(self) -> None:
        n = self.controls["k8sl-n"].value
        if not isinstance(n, int) or n < 1:
            raise InvalidChange(f"N = {n!r}: send at least one request", hint="type a whole number from 1 up.")
        self._sample_n = n
        self._samples += 1

    def _exact(self) -> None:
        self._sample_n = None

    # ------------------------------------------------------------------ the packet tracer
    def step(self) -> None:
        """Show one hop more (the packet tracer's forward button)."""
        self._go((self._step or self._hops) + (1 if self._step is not None else 0))

    def back(self) -> None:
        """Show one hop less (the packet tracer's back button)."""
        self._go((self._step if self._step is not None else self._hops) - 1)

    def play(self) -> None:
        """Play the packet from its first hop: the Play control then moves it on every ``interval`` ms
        (in the browser; from code, call :meth:`step`)."""
        self._go(1)
        play = self.controls["k8sl-play"]
        self._syncing = True
        try:
            with play.hold_sync():
                play.value = play.max  # at its end, a starting Play goes back to its first value, then waits
                play.playing = True
        finally:
            self._syncing = False

    def _go(self, step: int) -> None:
        self._step = max(1, min(step, max(self._hops, 1)))
        self.refresh(clear_error=False, view_only=True)

    def _played(self, event: Any) -> None:
        if self._syncing or (self._step is not None and int(event["new"]) == self._step):
            return  # our own change coming back, or the hop already shown
        self._step = int(event["new"])
        self.refresh(clear_error=False, view_only=True)

    # ------------------------------------------------------------------ model -> controls
    @staticmethod
    def _options(widget: W.Widget, options: list[Any], keep: Any = None) -> None:
        """Set a selection widget's options (only if they differ), keeping its value when it still exists,
        else choosing the first (ipywidgets 8 would leave it empty)."""
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        old = widget.value if keep is None else keep
        if tuple(widget.options) != tuple(options):
            widget.options = options
        if old in values:
            widget.value = old
        elif values:
            widget.value = values[0]

    def _sync_controls(self) -> None:
        """Make every control show the cluster as it is now (after any change, good or rejected)."""
        k, c = self.controls, self.cluster
        svc = c.service(self.service)
        self._syncing = True
        try:
            for name in c.nodes:
                self.colours[name.name]
            k["k8sl-type"].value = svc.type
            k["k8sl-etp"].value = svc.external_traffic_policy
            k["k8sl-etp"].disabled = not svc.externally_accessible
            k["k8sl-itp"].value = svc.internal_traffic_policy
            k["k8sl-lb"].disabled = svc.type != "LoadBalancer"
            pods = [p.name for p in c.pods]
            nodes = [n.name for n in c.nodes]
            for name in ("k8sl-move-pod", "k8sl-pod-choice"):
                self._options(k[name], pods)
            default_client = "client" if "client" in pods else None
            self._options(k["k8sl-client-pod"], pods, keep=k["k8sl-client-pod"].value or default_client)
            for name in ("k8sl-move-node", "k8sl-remove-node-choice", "k8sl-node-choice"):
                self._options(k[name], nodes)
            entry_label = "the load balancer picks" if svc.type == "LoadBalancer" else "a random node"
            self._options(k["k8sl-entry"], [(entry_label, ANY_NODE)] + [(n, n) for n in nodes])
            external = k["k8sl-client"].value == "external"
            k["k8sl-entry"].layout.display = None if external else "none"
            k["k8sl-client-pod"].layout.display = "none" if external else None
            addresses = self._addresses(svc, external)
            self._options(k["k8sl-address"], [(ADDRESS_LABELS[a], a) for a in addresses])
            if external != self._was_external:  # a new kind of client dials its usual address first
                k["k8sl-address"].value = addresses[0]
                self._was_external = external
            k["k8sl-replicas"].value = len(c.selected_pods(svc))
            pod = k["k8sl-pod-choice"].value
            k["k8sl-pod-state"].value = c.pod(pod).status if pod else None
            k["k8sl-pod-state"].disabled = not pod
            node = k["k8sl-node-choice"].value
            k["k8sl-node-state"].value = ("Ready" if c.node(node).ready else "NotReady") if node else None
            mode = k["k8sl-compare"].value
            k["k8sl-compare-with"].layout.display = "none" if mode in ("off", "policy") else None
            if mode == "dataplane":
                self._options(k["k8sl-compare-with"], [(DATAPLANE_LABELS.get(d, d), d) for d in DATAPLANES
                                                       if d != k["k8sl-dataplane"].value],
                              keep=k["k8sl-compare-with"].value if k["k8sl-compare-with"].value in DATAPLANES
                              else ("cilium-dsr" if k["k8sl-dataplane"].value != "cilium-dsr" else "iptables"))
            elif mode == "lb":
                self._options(k["k8sl-compare-with"], [(label, key) for key, label in LB_LABELS.items()
                                                       if key != k["k8sl-lb"].value],
                              keep=k["k8sl-compare-with"].value if k["k8sl-compare-with"].value in LB_LABELS
                              else "equal")
            root = self.widget
            wide = mode != "off" or k["k8sl-projector"].value
            for cls, on in (("k8sl-wide", wide), ("k8sl-projector-on", k["k8sl-projector"].value)):
                if on and cls not in root._dom_classes:
                    root.add_class(cls)
                elif not on and cls in root._dom_classes:
                    root.remove_class(cls)
        finally:
            self._syncing = False

    @staticmethod
    def _addresses(svc: Any, external: bool) -> list[str]:
        if external:
            found = [a for a, ok in (("loadBalancerIP", svc.type == "LoadBalancer"),
                                     ("nodePort", svc.node_port is not None),
                                     ("externalIP", bool(svc.external_ips))) if ok]
            return found or ["clusterIP"]  # unreachable from outside: sending explains why
        found = ["clusterIP"]
        if svc.type == "LoadBalancer":
            found.append("loadBalancerIP")
        if svc.node_port is not None:
            found.append("nodePort")
        return found

    # ------------------------------------------------------------------ computing
    def _settings(self) -> dict[str, Any]:
        k = self.controls
        svc = self.cluster.service(self.service)
        external = k["k8sl-client"].value == "external"
        return {
            "lb": k["k8sl-lb"].value if svc.type == "LoadBalancer" else "equal",
            "dataplane": k["k8sl-dataplane"].value,
            "external": external,
            "via": (k["k8sl-entry"].value or None) if external else None,
            "client_pod": None if external else k["k8sl-client-pod"].value,
            "address": k["k8sl-address"].value,
        }

    def _trace(self, cluster: Cluster, s: dict[str, Any]) -> Trace:
        if s["external"]:
            client = CLIENT_IP
        elif s["client_pod"]:
            client = s["client_pod"]
        else:
            raise InvalidChange("there is no pod to send from", hint="add pods (Scale) or send from outside.")
        gen = np.random.default_rng([self.seed, self._packets])
        return send(cluster, self.service, client=client, via=s["via"], address=s["address"], lb=s["lb"],
                    dataplane=s["dataplane"], seed=gen)

    def _traffic(self, cluster: Cluster, s: dict[str, Any]) -> tuple[Any, Any]:
        kw = {"lb": s["lb"], "clients": "external" if s["external"] else "pods", "address": s["address"],
              "dataplane": s["dataplane"]}
        exact = metrics(cluster, self.service, **kw)
        if self._sample_n is None:
            frame = traffic(cluster, self.service, **kw)
        else:
            gen = np.random.default_rng([self.seed, 1, self._samples])
            frame = sample(cluster, self.service, self._sample_n, seed=gen, **kw)
        return frame, exact

    def _side(self, cluster: Cluster, s: dict[str, Any]) -> dict[str, Any]:
        """Everything one view shows for one setting; a failing part says why, the rest stays."""
        out: dict[str, Any] = {"trace": None, "frame": None, "exact": None, "health": None, "problems": [],
                               "cluster": cluster, "settings": s}
        for key, compute in (("trace", lambda: self._trace(cluster, s)),
                             ("traffic", lambda: self._traffic(cluster, s)),
                             ("health", lambda: by_node(cluster, self.service, lb=s["lb"]))):
            try:
                value = compute()
            except K8sLearnError as err:
                out["problems"].append(err)
                continue
            if key == "traffic":
                out["frame"], out["exact"] = value
            else:
                out[key] = value
        return out

    def _shares(self, cluster: Cluster, s: dict[str, Any]) -> dict[str, float] | None:
        svc = cluster.service(self.service)
        if not s["external"] or svc.type != "LoadBalancer" or s["address"] != "loadBalancerIP":
            return None
        try:
            sp = spread(cluster, svc, s["lb"])
        except K8sLearnError:
            return None
        return dict(sp.weights) if sp.targets == "nodes" else None

    # ------------------------------------------------------------------ drawing
    def refresh(self, *, clear_error: bool = True, view_only: bool = False) -> None:
        """Bring every control and output up to date with the cluster (after changing it in code)."""
        start = time.perf_counter()
        if clear_error:
            self.last_error = None
        try:
            with _render.gc_paused():
                if not view_only:
                    self._sync_controls()
                self._redraw()
        except Exception as err:  # noqa: BLE001  # a bug: keep it visible rather than losing it in a callback
            self.last_error = err
            self.outputs["k8sl-error"].value = _render.error_html(err)
        self.last_update_ms = (time.perf_counter() - start) * 1000
        self.outputs["k8sl-status"].value = (
            f"<div class='k8sl-status'>cluster version {self.cluster.version} · packet {self._packets + 1} · "
            f"seed {self.seed} · updated in {self.last_update_ms:.0f} ms</div>")

    def _compare_sides(self, s: dict[str, Any]) -> list[tuple[str, Cluster, dict[str, Any]]]:
        k = self.controls
        mode = k["k8sl-compare"].value
        if mode == "policy":
            svc = self.cluster.service(self.service)
            if not svc.externally_accessible:
                raise InvalidChange(
                    f"comparing Cluster | Local needs outside traffic, and {svc.name} is a {svc.type} service",
                    hint="make it a LoadBalancer or NodePort service (under 'Service type'), or compare dataplanes.")
            sides = []
            for policy in ("Cluster", "Local"):
                c = self.cluster.copy()
                c.patch_service(self.service, external_traffic_policy=policy)
                sides.append((f"externalTrafficPolicy: {policy}", c, s))
            return sides
        other = k["k8sl-compare-with"].value
        if mode == "dataplane":
            return [(DATAPLANE_LABELS.get(s["dataplane"], s["dataplane"]), self.cluster, s),
                    (DATAPLANE_LABELS.get(other, other), self.cluster, {**s, "dataplane": other})]
        if self.cluster.service(self.service).type != "LoadBalancer":
            raise InvalidChange("comparing load balancers needs a LoadBalancer service",
                                hint="make it one under 'Service type', or compare dataplanes.")
        return [(LB_LABELS[s["lb"]], self.cluster, s), (LB_LABELS.get(other, other), self.cluster, {**s, "lb": other})]

    def _redraw(self) -> None:
        out, k = self.outputs, self.controls
        s = self._settings()
        reply = bool(k["k8sl-reply"].value)
        mode = k["k8sl-compare"].value
        if mode != "off":
            self._redraw_compare(s, reply)
            return
        side = self._side(self.cluster, s)
        trace, frame, exact, health = side["trace"], side["frame"], side["exact"], side["health"]
        problems = side["problems"]
        hops = (len(trace.hops) + (len(trace.reply) if reply else 0)) if trace is not None else 0
        key = (_trace_key(trace), reply)
        if key != self._trace_key:  # a new path: show it whole, unless a new packet asked to play it
            self._trace_key = key
            if not self._autoplay:
                self._step = None
        self._hops = hops
        step = None if self._step is None or trace is None else min(self._step, hops)
        autoplay = self._autoplay
        self._autoplay = False

        width = PROJECTOR_W if self.controls["k8sl-projector"].value else SCENE_W

        def draw_scene() -> str:
            if trace is not None:
                svg, _alt = scene(trace, reply=reply, step=step, colours=self.colours,
                                  shares=self._shares(self.cluster, s), lb=s["lb"], width=width)
            else:
                svg, _alt = scene(self.cluster, self.service, colours=self.colours,
                                  lb=s["lb"] if self._shares(self.cluster, s) else None, width=width)
            return f"<div class='k8sl-scene-box'>{svg}</div>"

        out["k8sl-scene"].value = self._drawn(draw_scene, problems)
        out["k8sl-hops"].value = _render.hops_html(trace, reply=reply, current=step)
        self._chart(frame, exact, s, problems, health)
        svc_type = self.cluster.service(self.service).type
        if svc_type != "LoadBalancer":
            out["k8sl-health"].value = (f"<div class='k8sl-note'>No load balancer in front of a {svc_type} service, "
                                        "so nothing probes the nodes' health-check ports.</div>")
        elif health is not None:
            out["k8sl-health"].value = _render.health_html(health)
        else:
            out["k8sl-health"].value = ("<div class='k8sl-note'>No health checks to show: "
                                        + html.escape(str(problems[-1]).split("\n")[0] if problems else "") + "</div>")
        shown = self.last_error or (problems[0] if problems else None)
        out["k8sl-error"].value = _render.error_html(shown)
        self._sync_play(hops, step, autoplay)
        self.result = ExplorerResult(trace, frame, exact, health, self._sample_n,
                                     None if shown is None else str(shown), step)

    def _sync_play(self, hops: int, step: int | None, autoplay: bool) -> None:
        play = self.controls["k8sl-play"]
        self._syncing = True
        try:
            play.max = max(hops, 1)
            play.value = step if step is not None else max(hops, 1)
            play.disabled = hops == 0
            for name in ("k8sl-step", "k8sl-back"):
                self.controls[name].disabled = hops == 0
            if autoplay and hops > 1:
                # The browser's Play, started at its end, goes back to the first hop (shown now) and
                # moves on after one interval; started anywhere else it would jump a hop at once.
                with play.hold_sync():
                    play.value = play.max
                    play.playing = True
        finally:
            self._syncing = False

    def _scale(self, frames: list[Any]) -> float:
        """The chart's top: it grows when a bar would not fit and never shrinks."""
        need = 0.0
        for f in frames:
            if f is None:
                continue
            lost = sum(float(f.attrs.get(x, 0.0) or 0.0) for x in ("dropped", "refused", "failed"))
            fair = f.attrs.get("fair_share") or 0.0
            need = max(need, float(f["share"].max()) if len(f) else 0.0, lost,
                       0.0 if math.isnan(fair) else fair)
        self._y_max = max(self._y_max, nice_max(need * 1.12 if need else 0.2))
        return self._y_max

    def _other_policy(self, s: dict[str, Any]) -> Any:
        """The exact shares under the other externalTrafficPolicy (cached per cluster version and
        settings), so the chart's first scale already fits both and a Cluster/Local click keeps it."""
        svc = self.cluster.service(self.service)
        if svc.type == "ClusterIP":
            return None
        key = (self.cluster.version, s["lb"], s["dataplane"], s["external"], s["address"])
        if self._other_key != key:
            self._other_key, self._other_frame = key, None
            other = "Local" if svc.external_traffic_policy == "Cluster" else "Cluster"
            c = self.cluster.copy()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    c.patch_service(self.service, external_traffic_policy=other)
                    self._other_frame = traffic(c, self.service, lb=s["lb"], address=s["address"],
                                                clients="external" if s["external"] else "pods",
                                                dataplane=s["dataplane"])
            except K8sLearnError:
                self._other_frame = None  # that policy is refused here: nothing to make room for
        return self._other_frame

    def _note(self, s: dict[str, Any], health: Any = None) -> str:
        who = "from outside" if s["external"] else "from a client pod on every node"
        note = (f"{self._sample_n:,} requests sampled (seed {self.seed}), {who}" if self._sample_n
                else f"exact shares of new connections {who}")
        if s["external"] and s["via"] and health is not None and s["via"] in set(health["node"]):
            # the packet above entered where the learner chose; the numbers are the load balancer's
            row = health[health["node"] == s["via"]].iloc[0]
            share = float(row["lb_share"])
            note += (f", spread by the load balancer, which itself sends {s['via']} "
                     f"{'none' if share < 5e-7 else f'{share:.1%}'} of them"
                     + (f", as its health check answers {row['health_check']}" if share < 5e-7 and row["health_check"] else "")
                     + f"; the packet above entered at {s['via']} because you chose it")
        return note

    def _drawn(self, draw: Callable[[], str], problems: list[BaseException]) -> str:
        """One picture's HTML; if drawing it fails (a bug), a line saying so, and the others still show."""
        try:
            return draw()
        except Exception as err:  # noqa: BLE001  # a bug in drawing: keep the other outputs, say what happened
            problems.append(err)
            self.last_error = self.last_error or err
            return (f"<div class='k8sl-note'>This picture could not be drawn ({html.escape(type(err).__name__)}); "
                    "the message above says more.</div>")

    def _chart(self, frame: Any, exact: Any, s: dict[str, Any], problems: list[BaseException],
               health: Any = None) -> None:
        out = self.outputs
        if frame is None:
            out["k8sl-chart"].value = "<div class='k8sl-note'>No traffic to show in this set-up (see the message above).</div>"
            out["k8sl-metrics"].value = ""
            return
        top = self._scale([frame, self._other_policy(s)])

        def draw_chart() -> str:
            svg, _alt = bars(frame, colours=self.colours, y_max=top, width=CHART_W, height=180)
            return f"<div class='k8sl-chart-box'>{svg}</div>"

        out["k8sl-chart"].value = self._drawn(draw_chart, problems)
        numbers = _render.frame_metrics(frame, self._ready()) if self._sample_n else exact.iloc[0].to_dict()
        out["k8sl-metrics"].value = _render.metrics_html(metrics_line(numbers), note=self._note(s, health))

    def _ready(self) -> set[str]:
        return {e.pod for e in self.cluster.endpoints(self.service) if e.ready}

    def _redraw_compare(self, s: dict[str, Any], reply: bool) -> None:
        out = self.outputs
        self._step, self._hops = None, 0
        self._sync_play(0, None, False)
        try:
            sides = self._compare_sides(s)
        except K8sLearnError as err:  # nothing to compare: say why, and still show the cluster
            out["k8sl-error"].value = _render.error_html(self.last_error or err)
            svg, _alt = scene(self.cluster, self.service, colours=self.colours)
            out["k8sl-scene"].value = f"<div class='k8sl-scene-box'>{svg}</div>"
            out["k8sl-hops"].value = out["k8sl-chart"].value = out["k8sl-metrics"].value = ""
            self.result = ExplorerResult(None, None, None, None, self._sample_n, str(self.last_error or err))
            return
        computed = [(title, self._side(c, side_s)) for title, c, side_s in sides]
        top = self._scale([v["frame"] for _, v in computed])
        columns, charts, numbers, problems, results = [], [], [], [], {}
        for title, v in computed:
            problems += v["problems"]
            parts = [f"<div class='k8sl-side-title'>{html.escape(title)}</div>"]
            trace, frame = v["trace"], v["frame"]
            pods = _pod_shares(frame)
            if trace is not None:
                svg, _ = scene(trace, reply=reply, colours=self.colours, compact=True, width=COMPARE_W,
                               shares=self._shares(v["cluster"], v["settings"]), lb=v["settings"]["lb"],
                               pod_shares=pods, share_top=top)
            else:
                svg, _ = scene(v["cluster"], self.service, colours=self.colours, compact=True, width=COMPARE_W,
                               pod_shares=pods, share_top=top)
            parts.append(f"<div class='k8sl-scene-box'>{svg}</div>")
            if frame is not None:
                row = (_render.frame_metrics(frame, self._ready()) if self._sample_n
                       else v["exact"].iloc[0].to_dict())
                numbers.append(row)
                parts.append(f"<div class='k8sl-metrics-text'>{html.escape(metrics_line(row))}</div>")
                chart, _ = bars(frame, colours=self.colours, y_max=top, width=COMPARE_W, height=200)
                charts.append(f"<div class='k8sl-side'><div class='k8sl-side-title'>{html.escape(title)}</div>"
                              f"<div class='k8sl-chart-box'>{chart}</div></div>")
            else:
                numbers.append(None)
                parts.append("<div class='k8sl-note'>no traffic in this set-up</div>")
            columns.append(f"<div class='k8sl-side'>{''.join(parts)}</div>")
            results[title] = ExplorerResult(trace, v["frame"], v["exact"], v["health"], self._sample_n)
        titles = [t for t, _ in computed]
        diff = _render.differences_html(titles, numbers, note=self._note(s))
        out["k8sl-scene"].value = f"{diff}<div class='k8sl-compare'>{''.join(columns)}</div>"
        out["k8sl-metrics"].value = ""
        out["k8sl-hops"].value = ""
        out["k8sl-chart"].value = f"<div class='k8sl-compare'>{''.join(charts)}</div>"
        shown = self.last_error or (problems[0] if problems else None)
        out["k8sl-error"].value = _render.error_html(shown)
        first = computed[0][1]
        self.result = ExplorerResult(first["trace"], first["frame"], first["exact"], first["health"],
                                     self._sample_n, None if shown is None else str(shown), None, results)


def _pod_shares(frame: Any) -> dict[str, tuple[float, float]] | None:
    """Per pod: (share, the fraction of it whose source was replaced), for drawing inside the scene."""
    if frame is None:
        return None
    out = {}
    for r in frame.itertuples():
        kept = 0.0 if math.isnan(r.client_ip_kept) else float(r.client_ip_kept)
        out[r.pod] = (float(r.share), 1.0 - kept if r.share > 0 else 0.0)
    return out


def _trace_key(trace: Trace | None) -> tuple[Any, ...] | None:
    if trace is None:
        return None
    return (trace.service, trace.client, trace.entry_node, trace.hops, trace.reply, trace.outcome, trace.pod,
            trace.pod_node, trace.reason, trace.dataplane)


def explore(cluster: Cluster, service: ServiceRef = "web", *, seed: int = 0, compare: str = "off",
            projector: bool = False) -> Explorer:
    """Open the explorer on ``cluster``: toggle policies, move pods, send packets, watch them travel.

    The explorer works on its own copy (``explorer.cluster``), so ``cluster`` stays as it is. Its
    latest results are in ``explorer.result`` (``trace``, ``traffic``, ``metrics``, ``health``).
    ``compare="policy"`` puts Cluster and Local side by side (also ``"dataplane"``, ``"lb"``);
    ``projector=True`` makes everything big enough for a room.

    >>> from k8slearn import examples
    >>> ex = explore(examples.uneven(), seed=1)
    >>> ex.controls["k8sl-etp"].value = "Local"
    >>> ex.cluster.service("web").external_traffic_policy
    'Local'
    >>> ex.result.metrics.loc[0, "client_ip_kept"]
    np.float64(1.0)

    First met in notebooks/00-start-here.ipynb and used throughout the course.
    """
    return Explorer(cluster, service, seed=seed, compare=compare, projector=projector)
