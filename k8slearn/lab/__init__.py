"""The kernel lab: the simulator's predictions checked against the real Linux netfilter datapath.

``sudo k8slearn lab`` (or :func:`run`) builds a miniature cluster in network namespaces (a client, a
router playing the load balancer, a namespace per node with kube-proxy's rules from
:mod:`k8slearn.dataplane.rules`, a namespace per pod with an echo server), opens real TCP
connections, and compares what the pods saw with what :func:`k8slearn.trace.send` predicts.
Everything lives in namespaces named ``k8sl-*`` and is removed on every exit path;
``k8slearn lab --cleanup`` removes what a killed run left behind.

Taught in notebooks/11-real-cluster-lab.ipynb.
"""

from .netns import CLEANUP_COMMAND, PREFIX, LabError, cleanup, leftovers
from .runner import SCENARIOS, SIGMAS, Scenario, format_report, predict, preflight, run

__all__ = ["run", "predict", "preflight", "format_report", "cleanup", "leftovers", "Scenario", "SCENARIOS",
           "SIGMAS", "LabError", "PREFIX", "CLEANUP_COMMAND"]
