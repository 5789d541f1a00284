# %% [markdown]
# # Where did my client IP go? The k8slearn explorer
#
# Three nodes with pods spread 2 / 1 / 0 behind a `LoadBalancer` Service (`web`,
# `203.0.113.100:80`). Switch `externalTrafficPolicy` between **Cluster** and **Local**, move a
# pod, send a packet, and watch who gets the traffic, whether the pod sees the client's IP, and
# which node drops what. The packet's addresses are written on its path (dashed orange: its source
# was replaced, SNAT); the back, play and forward buttons walk it hop by hop; *compare* shows Cluster and Local side by side;
# *Projector* makes everything big enough for a room. Everything here is a simulation of
# kube-proxy (Kubernetes 1.35); no cluster is needed.

# %%
import k8slearn as k8s

k8s.explore(k8s.examples.uneven())
