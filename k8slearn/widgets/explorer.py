"""The explorer: one cluster, every control, every output, redrawn on each change.

See the package docstring (:mod:`k8slearn.widgets`) for the controls and their CSS classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import numpy as np

from .. import viz as _viz_module
from ..dataplane import DATAPLANES
from ..errors import InvalidChange, K8sLearnError
from ..loadbalancer import LB_MODELS
from ..model import CLIENT_IP, Cluster, ServiceRef
from ..trace import Trace, send
from ..traffic import by_node, metrics, sample, traffic
from . import _render

__all__ = ["DATAPLANE_LABELS", "LB_LABELS", "Explorer", "ExplorerResult", "explore"]

#: The dataplane choices as the explorer labels them (value: a key of k8slearn.DATAPLANES).
DATAPLANE_LABELS = {
    "iptables": "kube-proxy iptables",
    "nftables": "kube-proxy nftables",
    "ipvs": "kube-proxy IPVS",
    "cilium-snat": "Cilium eBPF (SNAT)",
    "cilium-dsr": "Cilium eBPF (DSR)",
    "no-snat": "no SNAT (hypothetical)",
}
#: The load-balancer models as the explorer labels them (value: a key of k8slearn.LB_MODELS).
LB_LABELS = {
    "equal": "equal per node",
    "health-checked": "health-checked",
    "weighted": "weighted by local pods",
    "single-node": "single node (MetalLB L2)",
    "pod-targeting": "pod-targeting (IP targets)",
}
POD_STATES = ("Running", "NotReady", "Terminating")
NODE_STATES = ("Ready", "NotReady")
ANY_NODE = ""  # the entry-node choice "the load balancer picks"
ADDRESS_LABELS = {"loadBalancerIP": "load-balancer IP", "nodePort": "NodePort", "clusterIP": "ClusterIP",
                  "externalIP": "externalIP"}


@dataclass(frozen=True)
class ExplorerResult:
    """What the explorer shows, as data: continue from here in code.

    ``trace`` (the last packet, a :class:`~k8slearn.trace.Trace`, or None if it could not be sent),
    ``traffic`` (per pod: exact shares, or a sample of ``sampled`` connections), ``metrics``
    (:func:`k8slearn.metrics`, exact), ``health`` (:func:`k8slearn.by_node`), ``error`` (the message in
    the error area, or None).
    """

    trace: Trace | None
    traffic: Any
    metrics: Any
    health: Any
    sampled: int | None = None
    error: str | None = None

    def __repr__(self) -> str:
        trace = self.trace.summary() if self.trace is not None else None
        return f"ExplorerResult(trace={trace!r}, sampled={self.sampled}, error={self.error!r})"


def _css(widget: W.Widget, name: str) -> W.Widget:
    widget.add_class(name)
    return widget


class Explorer:
    """An interactive view of ``cluster`` and its ``service``: change anything, see every effect.

    The explorer works on its own copy of ``cluster`` (``explorer.cluster``), so the cluster you
    pass stays as it is; after changing ``explorer.cluster`` in code, call :meth:`refresh`. Controls are in :attr:`controls` (by CSS class), outputs in :attr:`outputs`, and
    the latest results as DataFrames in :attr:`result`.
    """

    def __init__(self, cluster: Cluster, service: ServiceRef = "web", *, seed: int = 0) -> None:
        if not isinstance(cluster, Cluster):
            raise InvalidChange(f"explore() needs a Cluster, not {type(cluster).__name__}",
                                hint="for example k8s.explore(k8s.examples.uneven()).")
        self.cluster = cluster.copy()
        self.service = cluster.service(service).name
        self.seed = int(seed)
        self.last_error: BaseException | None = None  # the last rejected change (None after a good one)
        self.last_update_ms = 0.0
        self.result = ExplorerResult(None, None, None, None)
        self._packets = 0      # "Send one packet" clicks: each packet gets its own seeded randomness
        self._samples = 0      # "Send N requests" clicks
        self._sample_n: int | None = None
        self._syncing = False
        self._was_external = True
        self._keys: dict[str, Any] = {}  # what each picture shows now
        self._pictures = _render.Pictures()
        self._viz = _viz_module
        self.controls: dict[str, W.Widget] = {}
        self.outputs: dict[str, W.Widget] = {}
        self.widget = self._build()
        self.refresh()

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Explorer of service {self.service!r} on {self.cluster!r}>"

    # ------------------------------------------------------------------ building
    def _control(self, name: str, widget: W.Widget) -> W.Widget:
        self.controls[name] = _css(widget, name)
        return widget

    def _output(self, name: str, widget: W.Widget) -> W.Widget:
        self.outputs[name] = _css(widget, name)
        return widget

    def _build(self) -> W.VBox:
        c = self._control
        wide = W.Layout(width="auto")
        label = {"description_width": "initial"}
        # Service
        c("k8sl-etp", W.ToggleButtons(options=["Cluster", "Local"], value=None,
                                      description="externalTrafficPolicy", style=label))
        c("k8sl-itp", W.ToggleButtons(options=["Cluster", "Local"], description="internalTrafficPolicy",
                                      style=label))
        c("k8sl-type", W.ToggleButtons(options=["ClusterIP", "NodePort", "LoadBalancer"], description="type",
                                       style=label))
        # Path
        c("k8sl-lb", W.Dropdown(options=[(LB_LABELS[m], m) for m in LB_MODELS], value="health-checked",
                                description="load balancer", style=label))
        c("k8sl-dataplane", W.Dropdown(options=[(DATAPLANE_LABELS.get(k, k), k) for k in DATAPLANES],
                                       value="iptables", description="dataplane", style=label))
        # Client and sending
        c("k8sl-client", W.ToggleButtons(options=[("outside the cluster", "external"), ("a pod", "pod")],
                                         value="external", description="client", style=label))
        c("k8sl-entry", W.Dropdown(description="enters at", style=label))
        c("k8sl-client-pod", W.Dropdown(description="client pod", style=label))
        c("k8sl-address", W.Dropdown(description="dials", style=label))
        c("k8sl-send-one", W.Button(description="Send one packet", icon="paper-plane", button_style="primary"))
        c("k8sl-reply", W.Checkbox(value=False, description="draw the reply", indent=False, layout=wide))
        c("k8sl-n", W.BoundedIntText(value=1000, min=1, max=1_000_000, description="N", style=label,
                                     layout=W.Layout(width="140px")))
        c("k8sl-send-n", W.Button(description="Send N requests", icon="random"))
        c("k8sl-exact", W.Button(description="Exact shares", tooltip="show the exact shares again"))
        # Cluster changes
        c("k8sl-move-pod", W.Dropdown(description="move pod", style=label, layout=W.Layout(width="200px")))
        c("k8sl-move-node", W.Dropdown(description="to", style=label, layout=W.Layout(width="160px")))
        c("k8sl-move", W.Button(description="Move", icon="arrow-right", layout=W.Layout(width="90px")))
        c("k8sl-replicas", W.BoundedIntText(value=0, min=0, max=100_000, description="replicas", style=label,
                                            layout=W.Layout(width="160px")))
        c("k8sl-scale", W.Button(description="Scale", layout=W.Layout(width="90px")))
        c("k8sl-add-node", W.Button(description="Add a node", icon="plus"))
        c("k8sl-remove-node-choice", W.Dropdown(description="remove", style=label, layout=W.Layout(width="180px")))
        c("k8sl-remove-node", W.Button(description="Remove", icon="minus", layout=W.Layout(width="100px")))
        c("k8sl-pod-choice", W.Dropdown(description="pod", style=label, layout=W.Layout(width="170px")))
        c("k8sl-pod-state", W.ToggleButtons(options=POD_STATES, style={"button_width": "110px"}))
        c("k8sl-node-choice", W.Dropdown(description="node", style=label, layout=W.Layout(width="170px")))
        c("k8sl-node-state", W.ToggleButtons(options=NODE_STATES, style={"button_width": "95px"}))

        o = self._output
        o("k8sl-status", W.HTML())
        o("k8sl-error", W.HTML())
        o("k8sl-metrics", W.HTML())
        o("k8sl-diagram", W.Image(format="png", layout=W.Layout(max_width="100%", height="auto")))
        o("k8sl-diagram-caption", W.HTML())
        o("k8sl-chart", W.Image(format="png", layout=W.Layout(max_width="100%", height="auto")))
        o("k8sl-chart-caption", W.HTML())
        o("k8sl-hops", W.HTML())
        o("k8sl-health", W.HTML())

        self._wire()
        k = self.controls

        def group(title: str, *rows: W.Widget) -> W.VBox:
            return W.VBox([W.HTML(f"<b>{title}</b>"), *rows], layout=W.Layout(margin="0 16px 6px 0"))

        service = group("Service", k["k8sl-type"], k["k8sl-etp"], k["k8sl-itp"])
        path = group("Load balancer and dataplane", k["k8sl-lb"], k["k8sl-dataplane"])
        client = group("Client", k["k8sl-client"], W.HBox([k["k8sl-entry"], k["k8sl-client-pod"]]),
                       k["k8sl-address"],
                       W.HBox([k["k8sl-send-one"], k["k8sl-reply"]]),
                       W.HBox([k["k8sl-n"], k["k8sl-send-n"], k["k8sl-exact"]]))
        changes = W.VBox([
            W.HBox([k["k8sl-move-pod"], k["k8sl-move-node"], k["k8sl-move"]]),
            W.HBox([k["k8sl-replicas"], k["k8sl-scale"], k["k8sl-add-node"], k["k8sl-remove-node-choice"],
                    k["k8sl-remove-node"]]),
            W.HBox([k["k8sl-pod-choice"], k["k8sl-pod-state"]]),
            W.HBox([k["k8sl-node-choice"], k["k8sl-node-state"]]),
        ])
        cluster_box = W.Accordion(children=[changes], titles=("Change the cluster: pods and nodes",),
                                  selected_index=0)
        out = self.outputs
        pictures = W.HBox([W.VBox([out["k8sl-diagram"], out["k8sl-diagram-caption"]]),
                           W.VBox([out["k8sl-chart"], out["k8sl-chart-caption"]])],
                          layout=W.Layout(flex_flow="row wrap"))
        tables = W.HBox([W.VBox([W.HTML("<b>The packet, hop by hop</b>"), out["k8sl-hops"]],
                                layout=W.Layout(margin="0 16px 0 0")),
                         out["k8sl-health"]], layout=W.Layout(flex_flow="row wrap"))
        root = W.VBox([W.HBox([service, path, client], layout=W.Layout(flex_flow="row wrap")), cluster_box,
                       out["k8sl-error"], out["k8sl-metrics"], pictures, tables, out["k8sl-status"]])
        return _css(root, "k8sl-explorer")

    # ------------------------------------------------------------------ wiring
    def _wire(self) -> None:
        k = self.controls
        svc = self.service
        on_value: dict[str, Callable[[Any], Any]] = {
            "k8sl-etp": lambda v: self.cluster.patch_service(svc, external_traffic_policy=v),
            "k8sl-itp": lambda v: self.cluster.patch_service(svc, internal_traffic_policy=v),
            "k8sl-type": lambda v: self.cluster.patch_service(svc, type=v),
            "k8sl-pod-state": self._set_pod_state,
            "k8sl-node-state": self._set_node_state,
            # settings of the view (no cluster change): the redraw reads them from the controls
            "k8sl-lb": None, "k8sl-dataplane": None, "k8sl-client": None, "k8sl-entry": None,
            "k8sl-client-pod": None, "k8sl-address": None, "k8sl-reply": None,
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
            raise InvalidChange(f"no {what} chosen", hint=f"the cluster has no {what}s to choose from.")
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

    def _send_n(self) -> None:
        n = int(self.controls["k8sl-n"].value)
        if n < 1:
            raise InvalidChange(f"N = {n}: send at least one request", hint="type a whole number from 1 up.")
        self._sample_n = n
        self._samples += 1

    def _exact(self) -> None:
        self._sample_n = None

    # ------------------------------------------------------------------ model -> controls
    @staticmethod
    def _options(widget: W.Widget, options: list[Any], keep: Any = None) -> None:
        """Set a selection widget's options (only if they differ), keeping its value when it still exists."""
        if tuple(widget.options) != tuple(options):
            old = widget.value if keep is None else keep
            widget.options = options
            values = [o[1] if isinstance(o, tuple) else o for o in options]
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
            k["k8sl-type"].value = svc.type
            k["k8sl-etp"].value = svc.external_traffic_policy
            k["k8sl-itp"].value = svc.internal_traffic_policy
            k["k8sl-lb"].disabled = svc.type != "LoadBalancer"
            pods = [p.name for p in c.pods]
            nodes = [n.name for n in c.nodes]
            for name in ("k8sl-move-pod", "k8sl-pod-choice"):
                self._options(k[name], pods)
            client_pods = pods
            default_client = "client" if "client" in pods else None
            self._options(k["k8sl-client-pod"], client_pods, keep=k["k8sl-client-pod"].value or default_client)
            for name in ("k8sl-move-node", "k8sl-remove-node-choice", "k8sl-node-choice"):
                self._options(k[name], nodes)
            entry_label = "the load balancer picks" if svc.type == "LoadBalancer" else "a random node"
            self._options(k["k8sl-entry"], [(entry_label, ANY_NODE)] + [(n, n) for n in nodes])
            external = k["k8sl-client"].value == "external"
            k["k8sl-entry"].disabled = not external
            k["k8sl-client-pod"].disabled = external
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

    # ------------------------------------------------------------------ computing and drawing
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

    def _trace(self, s: dict[str, Any]) -> Trace:
        if s["external"]:
            client = CLIENT_IP
        elif s["client_pod"]:
            client = s["client_pod"]
        else:
            raise InvalidChange("there is no pod to send from", hint="add pods (Scale) or send from outside.")
        gen = np.random.default_rng([self.seed, self._packets])
        return send(self.cluster, self.service, client=client, via=s["via"], address=s["address"], lb=s["lb"],
                    dataplane=s["dataplane"], seed=gen)

    def _traffic(self, s: dict[str, Any]) -> tuple[Any, Any]:
        kw = {"lb": s["lb"], "clients": "external" if s["external"] else "pods", "address": s["address"],
                  "dataplane": s["dataplane"]}
        exact = metrics(self.cluster, self.service, **kw)
        if self._sample_n is None:
            frame = traffic(self.cluster, self.service, **kw)
        else:
            gen = np.random.default_rng([self.seed, 1, self._samples])
            frame = sample(self.cluster, self.service, self._sample_n, seed=gen, **kw)
        return frame, exact

    def refresh(self, *, clear_error: bool = True) -> None:
        """Bring every control and output up to date with the cluster (after changing it in code)."""
        start = time.perf_counter()
        if clear_error:
            self.last_error = None
        try:
            with _render.gc_paused():
                self._sync_controls()
                self._redraw()
        except Exception as err:  # noqa: BLE001  # a bug: keep it visible rather than losing it in a callback
            self.last_error = err
            self.outputs["k8sl-error"].value = _render.error_html(err)
        self.last_update_ms = (time.perf_counter() - start) * 1000
        self.outputs["k8sl-status"].value = (
            f"<small>cluster version {self.cluster.version} · packet {self._packets + 1} · "
            f"updated in {self.last_update_ms:.0f} ms</small>")

    def _redraw(self) -> None:
        out, viz = self.outputs, self._viz
        s = self._settings()
        problems: list[BaseException] = []
        trace = frame = exact = health = None
        try:
            trace = self._trace(s)
        except K8sLearnError as err:
            problems.append(err)
        try:
            frame, exact = self._traffic(s)
        except K8sLearnError as err:
            problems.append(err)
        try:
            health = by_node(self.cluster, self.service, lb=s["lb"])
        except K8sLearnError as err:
            problems.append(err)

        content = self._content()
        reply = bool(self.controls["k8sl-reply"].value)
        if trace is not None:
            key: Any = ("trace", content, _trace_key(trace), reply)
            draw, caption = (lambda: viz.draw_trace(trace, reply=reply)), (lambda: viz.summary(trace))
        else:
            key = ("cluster", content, s["lb"])
            draw = lambda: viz.draw_cluster(self.cluster, service=self.service, lb=s["lb"])
            caption = lambda: viz.summary(self.cluster)
        self._picture("diagram", key, draw, caption, problems)
        if frame is not None:
            key = ("traffic", _frame_key(frame), _frame_key(exact))
            self._picture("chart", key, lambda: viz.draw_traffic(frame, metrics=exact), lambda: viz.summary(frame),
                          problems)
        else:
            self._picture("chart", None, None, lambda: "no traffic in this set-up", problems)

        if frame is not None:
            ready = {e.pod for e in self.cluster.endpoints(self.service) if e.ready}
            numbers = _render.frame_metrics(frame, ready) if self._sample_n else exact.iloc[0].to_dict()
            who = "from outside" if s["external"] else "from a client pod on every node"
            note = (f"{self._sample_n:,} requests sampled (seed {self.seed}), {who}" if self._sample_n
                    else f"exact shares of new connections {who}")
            out["k8sl-metrics"].value = _render.metrics_html(_render.metrics_text(numbers), note=note)
        else:
            out["k8sl-metrics"].value = ""
        out["k8sl-hops"].value = _render.hops_html(trace)
        out["k8sl-health"].value = _render.health_html(health) if health is not None else ""
        shown = self.last_error or (problems[0] if problems else None)
        out["k8sl-error"].value = _render.error_html(shown)
        self.result = ExplorerResult(trace, frame, exact, health, self._sample_n,
                                     None if shown is None else str(shown))


    def _picture(self, name: str, key: Any, draw: Callable[[], Any] | None, caption: Callable[[], str],
                 problems: list[BaseException]) -> None:
        """Show one picture (from the cache when it was drawn before); a failure blanks only this one."""
        if self._keys.get(name) == key:
            return
        try:
            png, text = self._pictures.get(key, draw, caption) if draw is not None else (b"", caption())
        except Exception as err:  # noqa: BLE001  # a bug in drawing: keep the other outputs, say what happened
            problems.append(err)
            self.last_error = self.last_error or err
            png, text, key = b"", f"this picture could not be drawn ({type(err).__name__})", ("failed", key)
        image, label = self.outputs[f"k8sl-{name}"], self.outputs[f"k8sl-{name}-caption"]
        image.value = png
        label.value = f"<small>{_escape(text)}</small>"
        self._keys[name] = key

    def _content(self) -> _Content:
        """Everything about the cluster a picture can show (hashable; equal clusters, equal keys)."""
        c = self.cluster
        return c.cached(("k8sl-widgets", "content"), lambda: _Content((c.nodes, c.pods, c.services, self.service)))


class _Content:
    """A big hashable tuple whose hash is computed once (10,000 pods take milliseconds to hash)."""

    __slots__ = ("_hash", "items")

    def __init__(self, items: tuple[Any, ...]) -> None:
        self.items = items
        self._hash = hash(items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Content) and (self is other or (self._hash == other._hash
                                                                   and self.items == other.items))


def _trace_key(trace: Trace) -> tuple[Any, ...]:
    return (trace.service, trace.client, trace.entry_node, trace.hops, trace.reply, trace.outcome, trace.pod,
            trace.pod_node, trace.reason, trace.dataplane)


def _frame_key(frame: Any) -> tuple[Any, ...]:
    """A traffic or metrics frame's content: its text columns, its numbers, its attrs."""
    numbers = frame.select_dtypes("number")
    text = tuple(tuple(frame[col]) for col in frame.columns if col not in numbers.columns)
    return (tuple(frame.columns), text, numbers.to_numpy(dtype=float).tobytes(),
            tuple(sorted((k, repr(v)) for k, v in frame.attrs.items())))


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def explore(cluster: Cluster, service: ServiceRef = "web", *, seed: int = 0) -> Explorer:
    """Open the explorer on ``cluster``: toggle policies, move pods, send packets, watch it change.

    The explorer works on its own copy (``explorer.cluster``), so ``cluster`` stays as it is. Its
    latest results are in ``explorer.result`` (``trace``, ``traffic``, ``metrics``, ``health``).

    >>> from k8slearn import examples
    >>> ex = explore(examples.uneven(), seed=1)
    >>> ex.controls["k8sl-etp"].value = "Local"
    >>> ex.cluster.service("web").external_traffic_policy
    'Local'
    >>> ex.result.metrics.loc[0, "client_ip_kept"]
    np.float64(1.0)

    First met in notebooks/00-start-here.ipynb and used throughout the course.
    """
    return Explorer(cluster, service, seed=seed)
