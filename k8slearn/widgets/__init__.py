"""Widgets: the explorer and two small widgets for the first notebooks (ipywidgets 8).

    import k8slearn as k8s
    ex = k8s.explore(k8s.examples.uneven())      # every control, every output
    ex                                           # shows it in the notebook
    ex.result.traffic, ex.result.trace           # what it shows, as data
    ex.step(); ex.back(); ex.play()              # the packet tracer, from code
    k8s.explore(k8s.examples.uneven(), compare="policy")   # Cluster | Local side by side
    k8s.widgets.policy_toggle(k8s.examples.uneven())   # Cluster | Local and the chart only
    k8s.widgets.pod_mover(k8s.examples.one_two())      # move pods and the chart only

Each widget works on its own copy of the cluster (``.cluster``), recomputes everything on every
change and shows it as HTML with SVG pictures the browser draws (the same renderer as
``k8s.draw``), exposes its latest results (``.result``), and shows a rejected change's teaching
message in its error area (the cluster stays as it was; ``.last_error`` holds the exception).
Controls are in ``.controls`` and outputs in ``.outputs``, both keyed by their CSS class. A node
keeps its colour for the life of a widget (``.colours``), and the chart's scale only grows, so
before and after compare.

Stable CSS classes (for browser tests)
--------------------------------------
Boxes: ``k8sl-explorer`` (the explorer's root; ``k8sl-wide`` is added in compare and projector
mode, ``k8sl-projector-on`` in projector mode), ``k8sl-controls``, ``k8sl-view``, ``k8sl-lower``,
``k8sl-more`` (the folded controls), ``k8sl-policy-toggle``, ``k8sl-pod-mover``.

Controls:

=========================  =====================================================================
``k8sl-etp``               externalTrafficPolicy: Cluster | Local (ToggleButtons; off for ClusterIP)
``k8sl-lb``                load-balancer model (Dropdown; disabled unless type is LoadBalancer)
``k8sl-dataplane``         iptables, nftables, ipvs, cilium-snat, cilium-dsr, no-snat (Dropdown)
``k8sl-client``            the client: outside the cluster | a pod (ToggleButtons)
``k8sl-entry``             the node an outside packet enters at, or the load balancer picks (Dropdown)
``k8sl-client-pod``        the pod that sends, for a client inside the cluster (Dropdown)
``k8sl-address``           what the client dials: loadBalancerIP, nodePort, clusterIP ... (Dropdown)
``k8sl-back``              the packet tracer: one hop back (Button)
``k8sl-play``              the packet tracer: play / pause / stop (Play; its value is the hop shown)
``k8sl-step``              the packet tracer: one hop forward (Button)
``k8sl-send-one``          "New packet" (Button): a new seeded packet, played from its first hop
``k8sl-reply``             the reply's hops too (Checkbox)
``k8sl-compare``           off | Cluster | Local | two dataplanes | two load balancers (Dropdown)
``k8sl-compare-with``      the other dataplane or load balancer to compare with (Dropdown)
``k8sl-projector``         big text for a room (ToggleButton)
``k8sl-type``              service type: ClusterIP | NodePort | LoadBalancer (ToggleButtons)
``k8sl-itp``               internalTrafficPolicy: Cluster | Local (ToggleButtons)
``k8sl-n``                 how many requests "Send N requests" sends (BoundedIntText)
``k8sl-send-n``            "Send N requests" (Button): a seeded sample instead of exact shares
``k8sl-exact``             "Exact shares" (Button): back to the exact shares
``k8sl-move-pod``          the pod to move (Dropdown)
``k8sl-move-node``         the node to move it to (Dropdown)
``k8sl-move``              "Move" (Button)
``k8sl-replicas``          replicas (BoundedIntText)
``k8sl-scale``             "Scale" (Button)
``k8sl-add-node``          "Add a node" (Button)
``k8sl-remove-node-choice`` the node to remove (Dropdown)
``k8sl-remove-node``       "Remove" (Button)
``k8sl-pod-choice``        the pod whose state to set (Dropdown)
``k8sl-pod-state``         Running | NotReady | Terminating (ToggleButtons; applies at once)
``k8sl-node-choice``       the node whose state to set (Dropdown)
``k8sl-node-state``        Ready | NotReady (ToggleButtons; applies at once)
=========================  =====================================================================

Outputs (HTML): ``k8sl-scene`` (the cluster and the traced packet, addresses on the path; in
compare mode the differences and both scenes), ``k8sl-metrics`` ("client IP kept 0% · extra hop
66.7% · dropped 0% · busiest pod 1.0× the quietest"), ``k8sl-chart`` (per-pod bars: direct, via an
extra hop, SNAT'd; lost), ``k8sl-hops`` (the hop table, the packet tracer's hop highlighted),
``k8sl-health`` (health-check answers per node), ``k8sl-error`` (empty, or the teaching message of
what went wrong), ``k8sl-status`` (the cluster version, the packet and how long the last update
took) and ``k8sl-style`` (the stylesheet). The small widgets use the same names for the controls
and outputs they have.
"""

from __future__ import annotations

from .explorer import DATAPLANE_LABELS, LB_LABELS, Explorer, ExplorerResult, explore
from .focused import Focused, pod_mover, policy_toggle

__all__ = ["DATAPLANE_LABELS", "LB_LABELS", "Explorer", "ExplorerResult", "Focused", "explore", "pod_mover",
           "policy_toggle"]
