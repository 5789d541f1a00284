"""Widgets: the explorer and two small widgets for the first notebooks (ipywidgets 8).

    import k8slearn as k8s
    ex = k8s.explore(k8s.examples.uneven())      # every control, every output
    ex                                           # shows it in the notebook
    ex.result.traffic, ex.result.trace           # what it shows, as data
    k8s.widgets.policy_toggle(k8s.examples.uneven())   # Cluster | Local and the chart only
    k8s.widgets.pod_mover(k8s.examples.one_two())      # move pods and the chart only

Each widget works on its own copy of the cluster (``.cluster``), recomputes everything on every
change (pictures are PNGs rendered with Agg into ``ipywidgets.Image``), exposes its latest results
(``.result``), and shows a rejected change's teaching message in its error area (the cluster stays
as it was; ``.last_error`` holds the exception). Controls are in ``.controls`` and outputs in
``.outputs``, both keyed by their CSS class.

Stable CSS classes (for browser tests)
--------------------------------------
Boxes: ``k8sl-explorer`` (the explorer's root), ``k8sl-policy-toggle``, ``k8sl-pod-mover``.

Controls:

=========================  =====================================================================
``k8sl-type``              service type: ClusterIP | NodePort | LoadBalancer (ToggleButtons)
``k8sl-etp``               externalTrafficPolicy: Cluster | Local (ToggleButtons; none for ClusterIP)
``k8sl-itp``               internalTrafficPolicy: Cluster | Local (ToggleButtons)
``k8sl-lb``                load-balancer model (Dropdown; disabled unless type is LoadBalancer)
``k8sl-dataplane``         iptables, nftables, ipvs, cilium-snat, cilium-dsr, no-snat (Dropdown)
``k8sl-client``            the client: outside the cluster | a pod (ToggleButtons)
``k8sl-entry``             the node an outside packet enters at, or the load balancer picks (Dropdown)
``k8sl-client-pod``        the pod that sends, for a client inside the cluster (Dropdown)
``k8sl-address``           what the client dials: loadBalancerIP, nodePort, clusterIP ... (Dropdown)
``k8sl-send-one``          "Send one packet" (Button): a new seeded packet, traced and drawn
``k8sl-reply``             draw the reply path too (Checkbox)
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

Outputs: ``k8sl-diagram`` (Image: the cluster and the traced packet), ``k8sl-diagram-caption``
(HTML: its one-line text summary), ``k8sl-chart`` (Image: per-pod shares), ``k8sl-chart-caption``,
``k8sl-metrics`` (HTML: "client IP preserved 0% · extra hop 67% · dropped 0% · imbalance 1.0"),
``k8sl-hops`` (HTML: the hop table), ``k8sl-health`` (HTML: health-check answers per node),
``k8sl-error`` (HTML: empty, or the teaching message of what went wrong) and ``k8sl-status`` (HTML:
the cluster version and how long the last update took). The small widgets use the same names for
the controls and outputs they have.
"""

from __future__ import annotations

from .explorer import DATAPLANE_LABELS, LB_LABELS, Explorer, ExplorerResult, explore
from .focused import Focused, pod_mover, policy_toggle

__all__ = ["DATAPLANE_LABELS", "LB_LABELS", "Explorer", "ExplorerResult", "Focused", "explore", "pod_mover",
           "policy_toggle"]
