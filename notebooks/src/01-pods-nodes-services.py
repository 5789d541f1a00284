# %% [markdown] slide="slide"
# # 01 · Pods, nodes and services
#
# Before we follow a packet, we need the map it travels on: the nodes, the pods on them, and the
# Service that gives those pods one stable address.
#
# **Learning objectives**
# - Name the pieces of the cluster model (node, pod, Service, endpoint) and the addresses each has.
# - Tell the three Service types apart: `ClusterIP`, `NodePort`, `LoadBalancer`, and who can reach each.
# - Read an endpoint's `ready`, `serving` and `terminating` conditions.
# - Read the API server's validation errors, and know where to look up older wordings of them.
#
# **Prerequisites**: [00 · Start here](00-start-here.ipynb).
#
# **Time**: about 20 minutes (all of it going further: the 90-minute path skips this notebook)

# %% [markdown] slide="slide" tags=["going-further"]
# ## Nodes, pods, Services
# *Going further · 3 minutes*
#
# - A **node** is a machine with its own IP (here `192.168.0.11` and up) and a slice of the pod
#   network, its pod CIDR (`10.244.1.0/24` for `node-a`).
# - A **pod** gets an IP from its node's pod CIDR. Pods come and go, and so do their IPs.
# - A **Service** gives a set of pods (chosen by a label `selector`) one stable virtual address, the
#   ClusterIP. kube-proxy on every node turns that address into a real pod's address.
# - The **endpoints** of a Service (stored in EndpointSlices) are the pod addresses behind it.

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()
k8s.draw(cluster)

# %% [markdown] slide="subslide" tags=["going-further"]
# ## Objects explain themselves
# *Going further · 2 minutes*
#
# Every object has a short `repr` (what you would type to make it), a one-line `str`, and a card in
# the notebook. Ask the cluster for a node, a pod or a service by name:

# %% tags=["nbval-check-output"]
node = cluster.node("node-a")
print(repr(node), "| bridge address:", node.bridge_ip)
print(repr(cluster.pod("web-1")))
print(cluster.service("web"))

# %% [markdown]
# Note `node-a`'s **bridge address** `10.244.1.1`: the node's own address on the bridge to its pods.
# It will matter in notebook 03.

# %% [markdown] slide="slide" tags=["going-further"]
# ## Three Service types
# *Going further · 5 minutes*
#
# | `type` | Address | Who can reach it |
# |---|---|---|
# | `ClusterIP` | a virtual IP from the service range (kubeadm's default: `10.96.0.0/12`) | pods and nodes in the cluster |
# | `NodePort` | the ClusterIP, plus a port (30000-32767) opened on **every** node's IP | also anyone who can reach a node |
# | `LoadBalancer` | all of the above, plus an external load balancer's IP | anyone who can reach the load balancer's address (internet-facing or internal) |
#
# Each type builds on the one before: a LoadBalancer Service also has a ClusterIP and a NodePort,
# and the cloud load balancer forwards each connection to one of the nodes, where kube-proxy
# catches it.

# %% tags=["nbval-check-output"]
cluster.add_service("db", type="ClusterIP", selector={"app": "web"})
cluster.add_service("api", type="NodePort", selector={"app": "web"})
for svc in cluster.services:
    print(svc)

# %% [markdown] tags=["predict"] slide="subslide"
# ### Predict 1.1
#
# Can a client outside the cluster, `198.51.100.7`, send to the ClusterIP Service `db` ("yes" or
# "no")? If not, what would you change? Lock in your guess in the next cell, then run the reveal.

# %% tags=["guess"]
k8s.predict("1.1", ...)

# %% tags=["reveal"]
try:
    k8s.send(cluster, "db", client="198.51.100.7")
    reachable, refusal = True, None
except k8s.K8sLearnError as err:
    reachable, refusal = False, err
k8s.reveal("1.1", reachable)

# %% tags=["nbval-check-output"]
print(refusal)

# %% [markdown] slide="slide" tags=["going-further"]
# ## Endpoints and their conditions
# *Going further · 5 minutes*
#
# An endpoint carries three conditions (the `conditions` of each endpoint in an EndpointSlice):
#
# - `ready`: the pod passes its readiness probe and is not shutting down. Normal traffic goes only here.
# - `serving`: the pod passes its readiness probe, shutting down or not.
# - `terminating`: the pod is being deleted (it got its SIGTERM and is finishing its work).

# %% [markdown] tags=["predict"]
# ### Predict 1.2
#
# We delete `web-3` (it starts terminating but still answers its readiness probe) and make `web-2`
# fail its readiness probe. Which of the two endpoints will still be `serving`: write a set such as
# `{"web-2"}`, or `"none"`. And which conditions will each of them show?

# %% tags=["guess"]
k8s.predict("1.2", ...)

# %% tags=["reveal"]
cluster.set_pod("web-3", terminating=True)
cluster.set_pod("web-2", ready=False)
k8s.reveal("1.2", {ep.pod for ep in cluster.endpoints("web") if ep.pod != "web-1" and ep.serving})

# %% tags=["nbval-check-output"]
for ep in cluster.endpoints("web"):
    print(repr(ep))

# %% [markdown]
# `web-3` is **serving but not ready**: kube-proxy keeps it out of normal rotation and falls back to
# such endpoints only when nothing ready is left (notebooks 04 and 06 show when that rescues
# traffic during a rolling update). `web-2` is neither: it gets nothing.

# %% [markdown] tags=["self-check"]
# **Self-check.** A pod has `ready=False, serving=False, terminating=True`. What is it doing?
#
# <details><summary>Answer</summary>
# It is shutting down and already fails its readiness probe (for example the app closed its
# listener on SIGTERM). No traffic goes to it, not even as a last resort.
# </details>

# %% [markdown] tags=["article-correction", "going-further"] slide="slide"
# ## Errors that read like the API server
# *Going further · 5 minutes*
#
# `externalTrafficPolicy` (notebooks 03 and 04) decides what happens to traffic from **outside** the
# cluster, so on a Service that outsiders cannot reach the API server refuses the field, whatever its
# value (`Cluster` too). The simulator checks every change first and quotes the API server's text,
# then adds a hint:

# %% tags=["nbval-check-output"]
try:
    cluster.patch_service("db", external_traffic_policy="Local")
except k8s.K8sLearnError as err:
    print(err)

# %% [markdown] tags=["article-correction"]
# **What changed, and when.** The 2021 article this course grew from quotes the message of Kubernetes
# 1.23 and older; the wording changed in 1.24 and 1.29 (the [glossary](../docs/glossary.md#services-and-addresses)
# lists each), and since **1.29** a `ClusterIP` Service with `externalIPs` accepts `Local` too.[1]

# %% [markdown] slide="subslide"
# A wrong name does not just fail; it lists what you could have meant:

# %% tags=["nbval-check-output"]
try:
    cluster.move_pod("web-1", "node-d")
except k8s.K8sLearnError as err:
    print(err)

# %% [markdown] tags=["self-check"]
# **Self-check.** Your team's Service `metrics` is `type: ClusterIP` with
# `externalIPs: [203.0.113.200]`. On Kubernetes 1.35, may it set `externalTrafficPolicy: Local`?
# And on 1.27?
#
# <details><summary>Answer</summary>
# On 1.35, yes: externalIPs make it externally accessible (allowed since 1.29). On 1.27, no: the
# API server wanted `type` NodePort or LoadBalancer.
# </details>

# %% [markdown] slide="slide"
# ## Key points
#
# - Nodes have IPs, pods have IPs from their node's pod CIDR, and a Service gives pods one stable
#   virtual IP that kube-proxy translates on every node.
# - `ClusterIP` is reachable only inside the cluster; `NodePort` adds a port on every node;
#   `LoadBalancer` adds an external address in front of those nodes.
# - Endpoints are `ready` (normal traffic), `serving` (answers probes, maybe shutting down) and
#   `terminating`; kube-proxy uses serving-terminating endpoints only as a fallback.
# - `externalTrafficPolicy` (any value) needs an externally accessible Service; since 1.29 that
#   includes ClusterIP with externalIPs.
#
# **Sources.** [1] kubernetes/kubernetes `pkg/apis/core/validation/validation.go`,
# `validateServiceExternalTrafficPolicy`; `pkg/api/service/util.go`, `ExternallyAccessible`.
# Endpoint conditions: kubernetes/website
# `content/en/docs/concepts/services-networking/endpoint-slices.md`; how kube-proxy uses them:
# `content/en/docs/reference/networking/virtual-ips.md`. See also the [glossary](../docs/glossary.md).

# %%
k8s.predictions.score("01")

# %% [markdown]
# ## What's next
#
# [Notebook 02 · Into the cluster](02-into-the-cluster.ipynb) sends one packet from the client
# through the load balancer and kube-proxy's rules to a pod, and follows its reply back.
