"""Small widgets for the first notebooks: one control, one chart, one line of numbers."""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from ..errors import InvalidChange
from ..model import Cluster, ServiceRef
from ..traffic import metrics, traffic
from ..viz import NodeColours, metrics_line
from ..viz.bars import bars, nice_max
from . import _render

__all__ = ["Focused", "pod_mover", "policy_toggle"]


class Focused:
    """A small widget over a copy of a cluster: ``.widget`` (the box), ``.controls``, ``.outputs``,
    ``.cluster``, ``.result`` (``traffic`` and ``metrics`` DataFrames) and ``.last_error``."""

    def __init__(self, cluster: Cluster, service: ServiceRef, css: str) -> None:
        if not isinstance(cluster, Cluster):
            raise InvalidChange(f"a Cluster is needed, not {type(cluster).__name__}",
                                hint="for example k8s.examples.uneven().")
        self.cluster = cluster.copy()
        self.service = self.cluster.service(service).name
        self.controls: dict[str, W.Widget] = {}
        self.outputs: dict[str, W.Widget] = {}
        self.result: dict[str, Any] = {}
        self.last_error: BaseException | None = None
        self.colours = NodeColours(n.name for n in self.cluster.nodes)  # a node keeps its colour
        self._y_max = 0.0  # the chart's scale only grows, so before and after compare
        self._css = css
        for name, widget in (("k8sl-style", W.HTML(_render.STYLE)), ("k8sl-error", W.HTML()),
                             ("k8sl-metrics", W.HTML()), ("k8sl-chart", W.HTML())):
            widget.add_class(name)
            self.outputs[name] = widget
        self.widget = W.VBox()
        self.widget.add_class(css)

    def _control(self, name: str, widget: W.Widget) -> W.Widget:
        widget.add_class(name)
        self.controls[name] = widget
        return widget

    def _layout(self, *rows: W.Widget) -> None:
        o = self.outputs
        self.widget.children = [o["k8sl-style"], *rows, o["k8sl-error"], o["k8sl-metrics"], o["k8sl-chart"]]

    def _apply(self, action: Any) -> None:
        try:
            action()
        except Exception as err:  # noqa: BLE001  # shown in the widget, never lost in a callback
            self.last_error = err
        else:
            self.last_error = None
        self.refresh(clear_error=False)

    def _sync(self) -> None:
        """Make the controls show the cluster as it is (subclasses fill this in)."""

    def refresh(self, *, clear_error: bool = True) -> None:
        if clear_error:
            self.last_error = None
        o = self.outputs
        problem: BaseException | None = None
        try:
            self._sync()
            frame = traffic(self.cluster, self.service)
            exact = metrics(self.cluster, self.service)
            self.result = {"traffic": frame, "metrics": exact}
            need = max([float(frame["share"].max()) if len(frame) else 0.0,
                        sum(float(frame.attrs.get(k, 0.0) or 0.0) for k in ("dropped", "refused", "failed"))])
            self._y_max = max(self._y_max, nice_max(need * 1.12 if need else 0.2))
            svg, _alt = bars(frame, colours=self.colours, y_max=self._y_max, width=520, height=240)
            o["k8sl-chart"].value = f"<div class='k8sl-chart-box k8sl-focused-chart'>{svg}</div>"
            o["k8sl-metrics"].value = _render.metrics_html(metrics_line(exact.iloc[0].to_dict()))
        except Exception as err:  # noqa: BLE001  # e.g. no outside traffic to a ClusterIP service: say why
            problem = err
            self.result = {"traffic": None, "metrics": None}
            o["k8sl-metrics"].value = ""
            o["k8sl-chart"].value = "<div class='k8sl-note'>No traffic to show (see the message above).</div>"
        o["k8sl-error"].value = _render.error_html(self.last_error or problem)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle = dict(bundle)
            bundle["text/plain"] = _render.NOT_RUN_TEXT.format(what="this widget")
        return bundle

    def __repr__(self) -> str:
        return f"<{self._css} widget of service {self.service!r} on {self.cluster!r}>"


class _PolicyToggle(Focused):
    def __init__(self, cluster: Cluster, service: ServiceRef) -> None:
        super().__init__(cluster, service, "k8sl-policy-toggle")
        self._syncing = False
        etp = self._control("k8sl-etp", W.ToggleButtons(options=["Cluster", "Local"], value=None,
                                                        description="externalTrafficPolicy",
                                                        style={"description_width": "initial"}))
        etp.observe(self._changed, names="value")
        self._layout(etp)
        self.refresh()

    def _changed(self, event: Any) -> None:
        if not self._syncing:
            self._apply(lambda: self.cluster.patch_service(self.service, external_traffic_policy=event["new"]))

    def _sync(self) -> None:
        self._syncing = True
        try:
            self.controls["k8sl-etp"].value = self.cluster.service(self.service).external_traffic_policy
        finally:
            self._syncing = False


class _PodMover(Focused):
    def __init__(self, cluster: Cluster, service: ServiceRef) -> None:
        super().__init__(cluster, service, "k8sl-pod-mover")
        label = {"description_width": "initial"}
        pod = self._control("k8sl-move-pod", W.Dropdown(description="move pod", style=label))
        node = self._control("k8sl-move-node", W.Dropdown(description="to", style=label))
        button = self._control("k8sl-move", W.Button(description="Move", icon="arrow-right"))
        button.on_click(lambda _: self._apply(self._move))
        self._layout(W.HBox([pod, node, button]))
        self.refresh()

    def _move(self) -> None:
        pod, node = self.controls["k8sl-move-pod"].value, self.controls["k8sl-move-node"].value
        if not pod or not node:
            raise InvalidChange("choose a pod and a node first", hint="pick them in the two lists, then Move.")
        self.cluster.move_pod(pod, node)

    def _sync(self) -> None:
        for n in self.cluster.nodes:
            self.colours[n.name]
        pods = [p.name for p in self.cluster.selected_pods(self.service)]
        nodes = [n.name for n in self.cluster.nodes]
        for name, options in (("k8sl-move-pod", pods), ("k8sl-move-node", nodes)):
            widget = self.controls[name]
            old = widget.value
            if tuple(widget.options) != tuple(options):
                widget.options = options
            # ipywidgets 8 leaves a dropdown empty when its options change: choose for the learner
            widget.value = old if old in options else (options[0] if options else None)


def policy_toggle(cluster: Cluster, service: ServiceRef = "web") -> Focused:
    """Just the externalTrafficPolicy toggle, the per-pod chart and the metrics line.

    Works on a copy of ``cluster`` (``widget.cluster``).

    >>> from k8slearn import examples
    >>> w = policy_toggle(examples.uneven())
    >>> w.controls["k8sl-etp"].value = "Local"
    >>> [round(x, 2) for x in w.result["traffic"].share]
    [0.25, 0.25, 0.5]
    """
    return _PolicyToggle(cluster, service)


def pod_mover(cluster: Cluster, service: ServiceRef = "web") -> Focused:
    """Just "move a pod to another node", the per-pod chart and the metrics line.

    Works on a copy of ``cluster`` (``widget.cluster``).

    >>> from k8slearn import examples
    >>> w = pod_mover(examples.one_two())
    >>> w.controls["k8sl-move-pod"].value, w.controls["k8sl-move-node"].value = "web-3", "node-a"
    >>> w.controls["k8sl-move"].click()
    >>> {r.pod: r.share for r in w.result["traffic"].itertuples()}   # node-b's half now goes to web-2 alone
    {'web-1': 0.25, 'web-2': 0.5, 'web-3': 0.25}
    """
    return _PodMover(cluster, service)
