"""k8slearn: see what Kubernetes does with a client's source IP, hop by hop.

    import k8slearn as k8s
    cluster = k8s.examples.uneven()
    k8s.send(cluster, "web", client="198.51.100.7", via="node-c")
"""
from .errors import K8sLearnError
from .model import Cluster
from . import examples
