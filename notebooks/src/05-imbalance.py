# %% [markdown] slide="slide"
# # 05 · Imbalance: nodes, not pods
#
# `externalTrafficPolicy: Local` keeps the client IP ([notebook 4](04-external-traffic-policy-local.ipynb)).
# This notebook looks at how evenly it spreads the load, and at the load balancers that spread it
# better.
#
# **Learning objectives**
# - Predict each pod's share under `Local` with the formula 1 / (H · p_n), and explain why pods on
#   crowded nodes get less.
# - Move pods between nodes (with a widget and in code) and read the change on the chart.
# - Compare how load balancers spread: equal per healthy node (GCP, Azure), per zone first (AWS),
#   weighted by local endpoints (GKE), a single announcing node (MetalLB in L2 mode), and straight to
#   the pods.
# - Explain why `Local` keeps the real client IP only when every hop before the node keeps the
#   client's source address (a pass-through L4 forwarder, not a proxy).
#
# **Prerequisites**: [notebook 4](04-external-traffic-policy-local.ipynb) (`Local`, health checks).
# Words you may want to look up: [glossary](../docs/glossary.md).
#
# **Time**: about 27 minutes (core path: 13 minutes)

# %%
import k8slearn as k8s

c = k8s.examples.one_two()
print(c)

# %% [markdown] slide="slide" tags=["misconception-2", "core"]
# ## 1. Local balances across nodes, then across pods
# *Core · 8 minutes*
#
# Three pods, so each should get a third of the traffic? That is what `Cluster` does: every node picks
# uniformly among **all** endpoints. Under `Local` each node may only pick among its **own** endpoints,
# and a health-checked load balancer that splits connections equally per healthy node (GCP's and
# Azure's L4 load balancers do; AWS's split per zone first, section 3) gives each node the same
# share, not each pod.

# %% [markdown] tags=["predict"]
# ### Predict 5.1
#
# web-1 is alone on node-a; web-2 and web-3 share node-b. What share of the connections does each
# pod get? Lock in a dict such as `{"web-1": 0.2, "web-2": 0.4, "web-3": 0.4}`, then reveal.

# %% tags=["guess"]
k8s.predict("5.1", ...)

# %% tags=["reveal"]
shares = k8s.traffic(c, "web")
k8s.reveal("5.1", dict(zip(shares.pod, shares.share)))

# %% tags=["nbval-check-output"]
print(shares.to_string())

# %% [markdown]
# 50 % / 25 % / 25 %: web-1 does twice the work of each of the others. The load balancer gave each
# node half, node-b split its half over two pods. On the chart the dashed line is the fair share (a
# third each):

# %%
k8s.draw(shares, metrics=k8s.metrics(c, "web"))

# %% [markdown]
# The rule, for a load balancer that splits equally over the H nodes that pass the health check: a pod
# on node n, where p_n ready pods run, gets
#
# $$\text{share} = \frac{1}{H \cdot p_n}$$
#
# Here H = 2, p_a = 1, p_b = 2: 1/2 for web-1, 1/4 each for web-2 and web-3. The `imbalance` metric
# (busiest pod's share over the quietest's) is 2.0:

# %% tags=["nbval-check-output"]
print(k8s.metrics(c, "web")[["scope", "received", "imbalance", "cv"]].round(3).to_string())

# %% tags=["self-check"]
# Self-check 5.s1: the uneven cluster (pods 2 / 1 / 0) with Local. Use 1 / (H * p_n): what share
# does each pod get?
answer = ...  # a dict {pod: share}
k8s.self_check("5.s1", answer)

# %% [markdown] slide="slide" tags=["core"]
# ## 2. Move pods and watch the chart
# *Core · 5 minutes*
#
# The widget below works on its own copy of the cluster. Move web-3 to node-a: node-a now has two
# pods, node-b one, and the roles swap. Then try adding both to one node: H drops to 1, and the node
# that is left alone answers 503 to the health check. (Without a running kernel the widget shows
# nothing; the code cells after it do the same moves.)

# %%
k8s.widgets.pod_mover(c)

# %% [markdown]
# The same in code. `move_pod` gives the pod a new IP on its new node, as a rescheduled pod would get:

# %% tags=["nbval-check-output"]
moved = c.copy()
moved.move_pod("web-3", "node-a")
print(moved)
print(k8s.traffic(moved, "web").to_string())

# %% [markdown]
# Now add a third node and put one pod on each. With one pod per node, every pod gets 1/H, and `Local`
# is as even as `Cluster`:

# %% tags=["nbval-check-output"]
spread = c.copy()
spread.add_node("node-c")
spread.move_pod("web-3", "node-c")
print(k8s.traffic(spread, "web").round(3).to_string())
print("imbalance:", k8s.metrics(spread, "web").loc[0, "imbalance"])

# %%
k8s.draw(spread)

# %% [markdown] tags=["self-check"]
# **Self-check.** Four nodes, pods 3 / 1 / 0 / 0, `Local`, health-checked load balancer. What share does
# each pod on the first node get, and which nodes answer the health check with 503?
#
# <details><summary>Answer</summary>
#
# H = 2 nodes pass the health check, so the first node gets 1/2, split over 3 pods: 1/6 each. The pod on
# the second node gets 1/2. The two empty nodes answer 503 and get nothing.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## 3. Load balancers that know more
# *Going further · 14 minutes*
#
# The 50 / 25 / 25 split comes from the load balancer, not from kube-proxy. Different load balancers
# spread differently. k8slearn has four models of them (`k8s.LB_MODELS`), and real products in
# `k8s.LB_PROFILES`:

# %% tags=["nbval-check-output"]
for lb in ["health-checked", "weighted", "single-node", "pod-targeting"]:
    shares = [round(float(s), 3) for s in k8s.traffic(c, "web", lb=lb).share]
    m = k8s.metrics(c, "web", lb=lb).loc[0]
    print(f"{lb:15} shares {shares}  client IP kept {m.client_ip_kept:.0%}  {k8s.viz.imbalance_words(m.imbalance)}")

# %% [markdown] slide="subslide"
# ### Weighted by local endpoints
#
# Since 1.28 kube-proxy's health-check answer carries `X-Load-Balancing-Endpoint-Weight: N`, the number
# of ready local endpoints. A load balancer that weights nodes by it (GKE's weighted load balancing for
# `Local` services) sends node-b twice as much as node-a, and every pod gets a third:

# %% tags=["nbval-check-output"]
for node in ["node-a", "node-b"]:
    print(node, k8s.health_check(c, "web", node).headers["X-Load-Balancing-Endpoint-Weight"])
print(k8s.traffic(c, "web", lb="weighted").round(3).to_string())

# %% [markdown] slide="subslide"
# ### A single announcing node (MetalLB in L2 mode)
#
# On bare metal, MetalLB in L2 mode makes one node answer ARP for the service's address, so that node
# receives **all** of the service's traffic. With `Local`, MetalLB announces only from nodes that have a
# ready endpoint, but the pods on other nodes then get nothing:

# %% tags=["nbval-check-output"]
print(k8s.traffic(c, "web", lb="single-node").to_string())

# %% [markdown]
# web-1 gets everything, web-2 and web-3 idle. With `Cluster` instead, the announcing node would spread
# the traffic over all pods, at the cost of the SNAT and the extra hop of
# [notebook 3](03-external-traffic-policy-cluster.ipynb). (MetalLB's BGP mode spreads over several nodes
# through the routers' ECMP instead.)

# %% [markdown] slide="subslide"
# ### Per zone first (AWS)
#
# An AWS NLB (and the Classic ELB) has cross-zone load balancing **off** by default: each zone gets an
# equal share, then the healthy nodes of that zone split it.[4] In `two_zones()`, zone-a has node-a
# (web-1) and node-b (web-2, web-3); zone-b has only node-c (web-4):

# %% tags=["nbval-check-output"]
z = k8s.examples.two_zones()
for lb in ["gcp-nlb", "aws-nlb-instance"]:
    f = k8s.traffic(z, "web", lb=lb)
    print(f"{lb:17}", "  ".join(f"{pod} {share:.3f}" for pod, share in zip(f.pod, f.share)))

# %% [markdown]
# GCP gives each node a third; AWS gives zone-b's only node half of everything, so web-4 serves four
# times as much as web-2. Spread pods evenly across zones too, or turn cross-zone load balancing on.

# %% [markdown] slide="subslide" tags=["article-correction"]
# ### Load balancers that target pods directly
#
# **The source article hoped that load balancers would one day know where the pods are. They exist
# now.** At L4, the AWS Load Balancer Controller registers pod IPs as an NLB's targets
# (`service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip`). GKE's container-native load
# balancing also sends to pod IPs (through network endpoint groups, NEGs), set up through Ingress,
# Gateway or standalone NEGs; through Ingress or Gateway it is an Application Load Balancer, a proxy,
# so the pod's TCP peer is the proxy and the client IP arrives only in `X-Forwarded-For`
# ([notebook 8](08-proxies-and-headers.ipynb)).
# The simulator's `"pod-targeting"` model is the L4 kind. It spreads over pods, not nodes, so there is
# no per-node imbalance, no kube-proxy NAT and no extra hop:

# %% tags=["nbval-check-output"]
print(k8s.traffic(c, "web", lb="pod-targeting").round(3).to_string())

# %% [markdown]
# Look at `client_ip_kept` above: 0.0. kube-proxy is not even in this path, and an AWS NLB with IP
# targets over TCP does not preserve the client IP by default (the target-group attribute
# `preserve_client_ip.enabled` is off for IP targets, on for instance targets): over a TCP listener the
# NLB does not terminate the connection (a TLS listener does), but it replaces the source with its own
# address:

# %%
direct = k8s.send(c, "web", lb="pod-targeting", seed=1)
direct

# %% tags=["nbval-check-output"]
print("web-2 sees:", direct.source_seen_by_pod, "(the load balancer's address)")
on = k8s.LoadBalancer("pod-targeting", preserve_client_ip=True)
print("with preserve_client_ip on:", k8s.send(c, "web", lb=on, seed=1).source_seen_by_pod)

# %% [markdown]
# Turning on `preserve_client_ip.enabled` (or PROXY protocol v2 on the load balancer, with the
# application configured to read it) restores the client IP.

# %% [markdown] tags=["misconception-4"]
# ### Local does not guarantee the client IP
#
# Back to a node-targeting load balancer and `externalTrafficPolicy: Local`, so kube-proxy on the
# node does no SNAT. `Local` only decides what **kube-proxy** does; it cannot give back an address that
# an earlier hop already replaced. Put a load balancer in front that *proxies*, such as the AWS
# Classic ELB: it ends the client's connection and opens its own to the node's NodePort. web-1 is
# alone on node-a: which address does it see?

# %%
proxied = k8s.examples.one_two()
behind = k8s.send(proxied, "web", via="node-a", lb="aws-elb", seed=1)
behind

# %% tags=["nbval-check-output"]
print(behind.summary())
print("policy:", proxied.service("web").external_traffic_policy)
print("SNAT at:", [h.at.name for h in behind.hops if h.action == "SNAT"])

# %% [markdown]
# kube-proxy on node-a did what `Local` promises: a DNAT through `KUBE-SVL-…`, no SNAT. The source was
# already gone: the ELB replaced it with its own address, 192.168.255.10. Being a proxy is not the
# same as saying so: the ELB's status publishes a `hostname`, not `ipMode: Proxy`; that field
# ([notebook 8](08-proxies-and-headers.ipynb)) only tells kube-proxy to leave in-cluster traffic to
# the load balancer alone, and some proxies (cloud-provider-kind's Envoy) set it. The
# general rule: `Local` keeps the client IP only if **every hop before the node** keeps the client's
# source address (a pass-through L4 forwarder; it may rewrite the destination, as node-targeting
# load balancers do, but not the source). A proxying load balancer, an ingress proxy or a CDN in front
# replaces the source address, and the client IP must travel in a header or in PROXY protocol
# instead ([notebook 8](08-proxies-and-headers.ipynb)).

# %% [markdown] tags=["self-check"]
# **Self-check.** Your `Local` service sits behind an AWS NLB with IP targets and default settings. The
# logs show 192.168.x.x addresses, not clients. Is kube-proxy masquerading?
#
# <details><summary>Answer</summary>
#
# No. With IP targets the NLB sends straight to the pod IPs, so kube-proxy is not involved at all. The
# NLB itself replaced the source, because client-IP preservation is off by default for IP targets.
# Turn on `preserve_client_ip.enabled` or PROXY protocol v2.
# </details>

# %% [markdown] slide="slide"
# ## Key points
#
# - Under `Local` a per-node load balancer gives each of the H healthy nodes 1/H, shared by that node's
#   p_n pods: a pod's share is 1 / (H · p_n). Pods on crowded nodes get less.
# - Moving pods changes the shares at once; one pod per node makes `Local` even.
# - Weighted load balancers (GKE, using `X-Load-Balancing-Endpoint-Weight` since 1.28) weight nodes by
#   their ready local endpoints and restore an even share per pod.
# - AWS NLBs and Classic ELBs split per zone first (cross-zone load balancing off by default).
# - A single announcing node (MetalLB L2) concentrates everything on one node's pods under `Local`.
# - Load balancers that target pods remove the imbalance and the node hop, but may replace the client
#   IP: AWS NLB IP targets (L4) need `preserve_client_ip.enabled` or PROXY protocol v2; GKE's
#   container-native load balancing through Ingress or Gateway is a proxy, so the client IP is in
#   `X-Forwarded-For`.
# - `Local` guarantees the client IP only when every hop before the node keeps the client's source
#   address; a proxying load balancer (the AWS Classic ELB, any L7 one) replaces it whatever the policy.
#
# **Sources.** [1] kubernetes/kubernetes `pkg/proxy/healthcheck/service_health.go` (the
# `X-Load-Balancing-Endpoint-Weight` header). [2] kubernetes/website
# `content/en/docs/tutorials/services/source-ip.md` (cross-node traffic and `Local`). [3] GKE
# documentation, "Container-native load balancing" (`cloud.google.com/kubernetes-engine/docs/concepts/container-native-load-balancing`:
# Ingress, Gateway and standalone NEGs) and "weighted load balancing" for LoadBalancer Services; AWS
# Load Balancer Controller documentation, "Network Load Balancer" (`nlb-target-type`,
# `preserve_client_ip.enabled`); AWS documentation, "TLS listeners for your Network Load Balancer"
# (`docs.aws.amazon.com/elasticloadbalancing/latest/network/create-tls-listener.html`: the NLB
# terminates TLS); MetalLB documentation, "Layer 2 mode"; kubernetes/cloud-provider-aws
# `pkg/providers/v1/aws.go` (the Classic ELB proxies to the NodePort, status `hostname`).
# [4] kubernetes/cloud-provider-aws `pkg/providers/v1/aws_loadbalancer.go` (NLB
# `load_balancing.cross_zone.enabled` false unless the annotation
# `service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled` says true) and
# `aws.go` (ELB `CrossZoneLoadBalancing` false); AWS documentation
# `docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-cross-zone.html`.
# Terms: [glossary](../docs/glossary.md); the policy matrix: [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("05")

# %% [markdown]
# ## What's next
#
# [Notebook 06 · Spreading pods](06-spreading-pods.ipynb): instead of changing the load balancer, change
# where the pods run: pod anti-affinity, `topologySpreadConstraints`, and what the scheduler does by
# default.
