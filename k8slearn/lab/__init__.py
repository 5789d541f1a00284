"""The kernel lab: the simulator's predictions checked against the real Linux netfilter datapath.

``sudo k8slearn lab`` (or :func:`run`) builds a miniature cluster in network namespaces (a client, a
router playing the load balancer, a namespace per node with kube-proxy's rules from
:mod:`k8slearn.dataplane.rules` (iptables mode) or :mod:`k8slearn.dataplane.nft` (nftables mode),
a namespace per pod with an echo server), opens real TCP connections, and compares what the pods
saw with what :func:`k8slearn.trace.send` predicts, scenario by scenario and mode by mode.
Everything lives in namespaces named ``k8sl-*`` and is removed on every exit path;
``k8slearn lab --cleanup`` removes what a killed run left behind. One run at a time: a run holds a
lock for its whole life, and ``--cleanup`` is refused while it does.

Taught in notebooks/11-real-cluster-lab.ipynb.
"""

from .netns import (
    CLEANUP_COMMAND,
    LOCK_PATH,
    PREFIX,
    LabError,
    cleanup,
    leftover_processes,
    leftovers,
    lock_holder,
)
from .runner import (
    MODES,
    SCENARIOS,
    SIGMAS,
    Scenario,
    check_modes,
    check_system,
    dataplane_for,
    format_report,
    predict,
    preflight,
    rules_text,
    run,
)

__all__ = ["run", "predict", "preflight", "check_system", "check_modes", "format_report", "cleanup", "leftovers",
           "leftover_processes", "lock_holder", "Scenario", "SCENARIOS", "MODES", "SIGMAS", "LabError", "PREFIX",
           "CLEANUP_COMMAND", "LOCK_PATH", "dataplane_for", "rules_text"]
