# %% [markdown] slide="slide"
# # 07 · Inside the cluster
#
# So far every client came from outside. Most traffic in a real cluster does not: pods call other
# pods through a Service's ClusterIP. This notebook follows that traffic and checks what the
# server pod sees.
#
# **Learning objectives**
# - Show that a pod calling a ClusterIP keeps its own IP as the source (no SNAT), and find the
#   kube-proxy rule that decides it.
# - Name the three exceptions that are masqueraded: hairpin, node-sourced traffic and
#   `--masquerade-all`.
# - Predict where `internalTrafficPolicy: Local` drops traffic, and how `trafficDistribution`
#   differs (a preference with fallback, not a rule).
# - Explain why a test from inside the cluster says little about what external clients get
#   under `externalTrafficPolicy: Local`.
#
# **Prerequisites**: [notebook 2](02-into-the-cluster.ipynb) (DNAT, the `KUBE-*` chains) and
# [notebook 4](04-external-traffic-policy-local.ipynb) (`externalTrafficPolicy: Local`).
# Words you may want to look up: [glossary](../docs/glossary.md).
#
# **Time**: about 30 minutes (all of it going further)

# %%
import k8slearn as k8s

c = k8s.examples.in_cluster()
c

# %% [markdown]
# The `in_cluster()` example is the uneven cluster (pods 2 / 1 / 0) plus a pod named `client` on
# node-c, the node without `web` pods. Every call from `client` to `web` must cross the pod network
# to node-a or node-b.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 1. A pod calls a ClusterIP
# *Going further · 6 minutes*

# %% [markdown] tags=["predict"]
# ### Predict 7.1
#
# `client` (10.244.3.5, on node-c) opens a connection to web's ClusterIP, and kube-proxy on node-c
# sends it to web-3 on node-b. Which source IP will web-3 see: the client pod's IP, node-c's IP
# (192.168.0.13), or something else? Lock in an address, then reveal.

# %% tags=["guess"]
k8s.predict("7.1", ...)

# %% tags=["reveal"]
t = k8s.send(c, "web", client="client", endpoint="web-3", seed=1)
k8s.reveal("7.1", t.source_seen_by_pod)

# %%
t

# %%
k8s.draw(t)

# %% tags=["nbval-check-output"]
print("client pod IP:   ", c.pod("client").ip)
print("web-3 sees:      ", t.source_seen_by_pod)
print("SNAT on the way: ", t.snat)

# %% [markdown] tags=["article-correction"]
# **The source article says in-cluster traffic via the ClusterIP is always SNAT'd. That is not
# what the default kube-proxy does** (iptables mode, and nftables mode, GA in 1.33, behaves the
# same). The trace above has a DNAT (ClusterIP to pod IP) and no SNAT: web-3 sees the client pod's
# own address, on another node or the same one.
#
# Why? kube-proxy marks ClusterIP traffic for masquerade only when the source is *not* a pod. Here is
# the rule it writes in the service's `KUBE-SVC-*` chain on node-c (rendered from the same model
# the simulator uses[^rules]):

# %% tags=["nbval-check-output"]
from k8slearn.dataplane.rules import render

svc_chain = [r for r in render(c, "node-c").splitlines() if r.startswith("-A KUBE-SVC-")]
print(svc_chain[0])

# %% [markdown]
# `! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`: only packets whose source is **outside** the cluster's pod
# range get the masquerade mark. `client`'s address, 10.244.3.5, is inside it, so the packet is only
# DNAT'd. The pod range comes from kube-proxy's local-traffic detector (`--cluster-cidr`, or
# `--detect-local-mode` set to `NodeCIDR`, `BridgeInterface` or `InterfaceNamePrefix`).
#
# Across all connections from a client pod on every node, every pod sees the client's own IP:

# %% tags=["nbval-check-output"]
print(k8s.traffic(c, "web", clients="pods"))

# %% [markdown]
# With Cilium's kube-proxy replacement the result is the same for a different reason: it
# translates the ClusterIP when the client's socket connects, so the packet leaves the client pod
# already addressed to a pod, and nobody masquerades it.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 2. The exceptions that are masqueraded
# *Going further · 6 minutes*
#
# Three cases do get SNAT for ClusterIP traffic, in every kube-proxy mode. The second one needs
# kube-proxy to know the pod range (a local-traffic detector: `--cluster-cidr` or
# `--detect-local-mode`); kubeadm sets `clusterCIDR` only when given a pod subnet
# (`kubeadm init --pod-network-cidr`).[^kubeadm] Without one, kube-proxy cannot tell a node's packets
# from a pod's and masquerades neither.
#
# **Hairpin**: a pod that reaches *itself* through its own service. `KUBE-SEP-*` has
# `-s <endpoint IP> -j KUBE-MARK-MASQ`: without the SNAT the pod would get a packet from its own
# address, answer it locally, and the reply would never be un-DNAT'd.

# %% tags=["nbval-check-output"]
hairpin = k8s.send(c, "web", client="web-1", endpoint="web-1", seed=1)
print(hairpin.summary())
print(k8s.send(c, "web", client="web-1", endpoint="web-2", seed=1).summary())

# %% [markdown]
# The hairpin hop, with the rule that marked it:

# %%
hairpin.to_frame()[["step", "at", "action", "after", "rule"]]

# %% [markdown] slide="subslide"
# **Traffic from a node.** A process on the node itself (the kubelet, a `hostNetwork` pod, you with
# `curl` over SSH) sends from the node's address, which is outside the pod range, so `! -s
# 10.244.0.0/16` matches:

# %% tags=["nbval-check-output"]
for node, pod in [("node-c", "web-3"), ("node-a", "web-1")]:
    t = k8s.send(c, "web", client=node, endpoint=pod, seed=1)
    print(f"{node} -> {pod}: SNAT {t.snat}, {pod} sees {t.source_seen_by_pod}")

# %% [markdown]
# From node-c the masqueraded source is node-c's own address, so it looks unchanged, but the
# connection now goes through conntrack's SNAT (new source port) and the reply must return via
# node-c. From node-a to its own pod web-1 the source becomes node-a's address on the bridge toward
# its pods, 10.244.1.1, as for external traffic under `externalTrafficPolicy: Cluster`.

# %% [markdown] slide="subslide"
# **`--masquerade-all`.** kube-proxy can be told to masquerade every ClusterIP packet
# (`masqueradeAll: true` in its configuration). Some clusters turn it on; it hides every client
# pod's IP. The simulator takes it as a dataplane option:

# %% tags=["nbval-check-output"]
masq_all = k8s.KubeProxy(masquerade_all=True)
print(k8s.send(c, "web", client="client", endpoint="web-3", dataplane=masq_all, seed=1).summary())

# %% [markdown] tags=["self-check"]
# **Self-check.** Pod `web-2` calls web's ClusterIP and kube-proxy picks `web-1` (same node,
# another pod). Is the packet masqueraded?
#
# <details><summary>Answer</summary>
#
# No. The hairpin rule matches only when the chosen endpoint is the client itself
# (`-s <endpoint IP>`). web-1 sees web-2's IP, 10.244.1.6. Check it:
# `k8s.send(c, "web", client="web-2", endpoint="web-1").source_seen_by_pod`.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## 3. `internalTrafficPolicy: Local`
# *Going further · 6 minutes*

# %% [markdown] tags=["article-correction"]
# **The source article says there is no `Local` equivalent for internal traffic. There is:
# `internalTrafficPolicy` (alpha 1.21, beta 1.22, GA in Kubernetes 1.26).**[^itp] With `Local`,
# ClusterIP traffic goes only to endpoints on the client's own node. Like `externalTrafficPolicy:
# Local`, it is strict: no local endpoint, no delivery. It changes nothing about masquerading and
# does not apply to NodePort or load-balancer traffic.

# %%
c.patch_service("web", internal_traffic_policy="Local")

# %% [markdown] tags=["misconception-9"]
# **Misconception: "`internalTrafficPolicy: Local` is harmless, it only keeps traffic local."**
# Our `client` runs on node-c, which has no `web` pod. What happens to its call now?

# %% tags=["nbval-check-output"]
print(k8s.send(c, "web", client="client", seed=1).summary())

# %% [markdown]
# No error, no RST: kube-proxy drops the packet and the client waits for a timeout. Now imagine a
# client pod on every node (what `clients="pods"` models): the clients on node-c lose every call.

# %% tags=["nbval-check-output"]
m = k8s.metrics(c, "web", clients="pods")
print(m[["scope", "received", "delivered", "dropped"]])

# %% [markdown]
# One third of all calls vanish, and the pods that do get traffic are uneven (web-3 gets twice
# what web-1 and web-2 get). `internalTrafficPolicy: Local` is meant for node-local agents run as
# a DaemonSet (a pod on every node, e.g. a logging or metrics agent), where "my node's pod" always
# exists. For ordinary services it trades availability for locality.
#
# It also leaves the load-balancer IP alone: the same client going through the external address
# follows `externalTrafficPolicy` (here Cluster, so it is delivered and SNAT'd, see below).

# %% tags=["nbval-check-output"]
print(k8s.send(c, "web", client="client", address="loadBalancerIP", endpoint="web-3", seed=1).summary())

# %% [markdown] tags=["self-check"]
# **Self-check.** Which single change makes `client`'s ClusterIP calls work again while keeping
# `internalTrafficPolicy: Local`?
#
# <details><summary>Answer</summary>
#
# Put a `web` pod on node-c (for example `c.scale("web", 4, node="node-c")`), or move the client
# to a node that has one. Every node with clients needs a local endpoint, which is why the policy
# suits DaemonSets.
# </details>

# %% tags=["nbval-check-output"]
c.scale("web", 4, node="node-c")
print(k8s.send(c, "web", client="client", seed=1).summary())
c.patch_service("web", internal_traffic_policy="Cluster")

# %% [markdown] slide="slide" tags=["going-further"]
# ## 4. `trafficDistribution`: a preference, not a rule
# *Going further · 6 minutes*
#
# `trafficDistribution` (GA in 1.33 with `PreferClose`; `PreferSameZone` and `PreferSameNode` alpha in
# 1.33, GA in 1.35) asks kube-proxy to *prefer* close endpoints, and to fall back to all of them when
# there are none close by.[^td] `PreferClose` has been a deprecated alias of `PreferSameZone` since
# 1.33, when the new values appeared (same behaviour, clearer name; KEP-3015), so write
# `PreferSameZone` in new manifests. The `zones()` example has two zones; zone-b has one `web` pod (on node-c) and
# an empty node, node-d.

# %%
z = k8s.examples.zones()
z

# %% tags=["nbval-check-output"]
print(k8s.traffic(z, "web", clients="pods"))

# %% [markdown] tags=["predict"]
# ### Predict 7.2
#
# With `trafficDistribution: PreferSameZone` and a client pod on every node, which pod gets the most
# traffic? (And does the client on node-d, with no local pod, lose anything?)

# %% tags=["guess"]
k8s.predict("7.2", ...)

# %% tags=["reveal"]
z.patch_service("web", traffic_distribution="PreferSameZone")
zoned = k8s.traffic(z, "web", clients="pods")
k8s.reveal("7.2", zoned.pod[zoned.share.idxmax()])

# %% tags=["nbval-check-output"]
print(zoned)
print("dropped:", k8s.metrics(z, "web", clients="pods").loc[0, "dropped"])

# %% [markdown]
# web-3 is the only pod in zone-b, so it takes both zone-b nodes' calls (half of all traffic),
# while web-1 and web-2 share zone-a's half. Nothing is dropped: node-d has no pod, but its zone
# does. Fewer cross-zone hops (often billed, always slower) at the price of uneven load: put
# replicas in every zone in proportion to the clients there.
#
# Now web-3 fails its readiness probe. A strict policy would drop zone-b's calls; a preference falls
# back to the other zone:

# %% tags=["nbval-check-output"]
z.set_pod("web-3", ready=False)
print(k8s.traffic(z, "web", clients="pods"))
print("dropped:", k8s.metrics(z, "web", clients="pods").loc[0, "dropped"])

# %% [markdown]
# When a service has both, the strict `internalTrafficPolicy: Local` wins over
# `trafficDistribution`. `PreferSameNode` prefers the client's node; with no ready endpoint there it
# falls back to the client's zone, then to any endpoint.

# %% [markdown] tags=["self-check"]
# **Self-check.** Which of these can make a ClusterIP call time out even though ready pods exist:
# (a) `internalTrafficPolicy: Local`, (b) `trafficDistribution: PreferSameZone`,
# (c) `trafficDistribution: PreferSameNode`?
#
# <details><summary>Answer</summary>
#
# Only (a). The `trafficDistribution` values are preferences: with no close endpoint they use any
# ready endpoint. `internalTrafficPolicy: Local` drops.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## 5. Testing from inside the cluster misleads
# *Going further · 6 minutes*

# %% [markdown] tags=["misconception-5"]
# **Misconception: "If `curl` from a pod (or a node) to the load-balancer IP works and shows my IP,
# external clients get the same."** Take `externalTrafficPolicy: Local` on the in-cluster example.
# External clients that reach node-c are dropped there (notebook 04). What does `client`, a pod on
# that very node, get when it dials the load-balancer IP?

# %% tags=["nbval-check-output"]
c = k8s.examples.in_cluster()
c.patch_service("web", external_traffic_policy="Local")
print(k8s.send(c, "web", client="client", address="loadBalancerIP", endpoint="web-1", seed=1).summary())
print(k8s.send(c, "web", via="node-c", seed=1).summary())

# %% [markdown]
# The pod's call works: kube-proxy short-circuits traffic from pods to a Local service's external
# address and sends it to **all** endpoints, unmasqueraded, as if it had gone out to the load
# balancer and come back. When the load balancer's status publishes an `ip`, as here, the call never
# reaches the load balancer at all (so it never sees the LB's PROXY protocol or TLS either, see
# [notebook 8](08-proxies-and-headers.ipynb)). From a node (here node-a, sending to web-3 on node-b)
# it also works, to any endpoint, but masqueraded:

# %% tags=["nbval-check-output"]
t = k8s.send(c, "web", client="node-a", address="loadBalancerIP", endpoint="web-3", seed=1)
print(t.outcome, "| SNAT:", t.snat, "| web-3 sees", t.source_seen_by_pod)

# %% [markdown]
# Side by side: client pods on every node dialling the load-balancer IP, against external clients
# spread equally over the nodes (a load balancer without health checks):

# %% tags=["nbval-check-output"]
inside = k8s.metrics(c, "web", clients="pods", address="loadBalancerIP").loc[0]
outside = k8s.metrics(c, "web", lb="equal").loc[0]
print(f"from pods:       delivered {inside.delivered:.0%}, client IP kept {inside.client_ip_kept:.0%}, extra hop {inside.extra_hop:.0%}")
print(f"from outside:    delivered {outside.delivered:.0%}, client IP kept {outside.client_ip_kept:.0%}, extra hop {outside.extra_hop:.0%}")

# %% [markdown]
# Inside: everything delivered, but with an extra hop 2 times in 3 (Cluster-like spreading).
# Outside: a third dropped, no extra hops. To test what external clients get, test from outside
# the cluster, through the load balancer, and look at the pods' access logs. (IPVS mode has no
# short-circuit and misleads in its own way: [notebook 9](09-dataplanes-compared.ipynb).)
#
# kube-proxy can short-circuit only an address it knows. AWS's load balancers publish a DNS
# `hostname` in the status, not an `ip`, so kube-proxy writes no rule for them and the pods' calls
# really go out through the load balancer;[^hostname] some cloud controllers publish a hostname on
# purpose to keep their load balancer in the path (kubernetes/kubernetes#66607). Behind an AWS NLB
# that preserves client IPs, a call the NLB sends back to the caller's own node times out (a
# hairpin), here a third of them:

# %% tags=["nbval-check-output"]
via_nlb = k8s.send(c, "web", client="client", address="loadBalancerIP", lb="aws-nlb-instance", seed=1)
print(via_nlb.path)
aws = k8s.metrics(c, "web", clients="pods", address="loadBalancerIP", lb="aws-nlb-instance").loc[0]
print(f"from pods via the NLB: delivered {aws.delivered:.0%}, dropped {aws.dropped:.0%}")

# %% [markdown]
# For a load balancer with an `ip` that must stay in the path, its controller can set
# `status.loadBalancer.ingress[].ipMode: Proxy`, which tells kube-proxy not to short-circuit (you do
# not write it in the spec). Feature gate `LoadBalancerIPMode`: alpha in 1.29 (off by default), beta
# and on by default in 1.30, GA in 1.32.[^ipmode]

# %% [markdown] tags=["self-check"]
# **Self-check.** `client` on node-c dials the **NodePort** of node-c (`address="nodePort"`) under
# Local. Delivered or dropped? With SNAT or not? Predict, then run
# `k8s.send(c, "web", client="client", address="nodePort", seed=1).summary()`.
#
# <details><summary>Answer</summary>
#
# Delivered, without SNAT: the pod short-circuit covers NodePorts as well as load-balancer IPs and
# externalIPs, and picks among all endpoints.
# </details>

# %% [markdown] tags=["self-check"]
# **Self-check 7.s1 (in code).** Under `externalTrafficPolicy: Local`, what fraction of in-cluster
# calls to the load-balancer IP keep the client pod's IP? Put your answer in `answer` and run.

# %% tags=["self-check", "nbval-check-output"]
answer = ...  # your answer, as a fraction
k8s.self_check("7.s1", answer)

# %% [markdown]
# [^rules]: kubernetes/kubernetes `pkg/proxy/iptables/proxier.go`, `syncProxyRules`: the internal
#     traffic chain gets `-j KUBE-MARK-MASQ` under `masqueradeAll`, else `localDetector.IfNotLocal`
#     (`! -s <cluster CIDR>`); `KUBE-SEP-*` gets `-s <endpoint IP> -j KUBE-MARK-MASQ` (hairpin).
#     Tested in `proxier_test.go` (`TestOverallIPTablesRules`, `TestInternalExternalMasquerade`).
#     The same rules in nftables syntax: `pkg/proxy/nftables/proxier.go`. See also
#     kubernetes/website `content/en/docs/tutorials/services/source-ip.md`.
#
# [^itp]: kubernetes/website `content/en/docs/concepts/services-networking/service-traffic-policy.md`;
#     endpoint selection in kubernetes/kubernetes `pkg/proxy/topology.go` (`CategorizeEndpoints`).
#
# [^td]: kubernetes/website `content/en/docs/reference/networking/virtual-ips.md` (section
#     "Traffic distribution"); hints are written by the EndpointSlice controller and read by
#     `CategorizeEndpoints` in `pkg/proxy/topology.go`. The renaming of `PreferClose` to
#     `PreferSameZone` and the new `PreferSameNode`: KEP-3015 (kubernetes/enhancements
#     `keps/sig-network/3015-prefer-same-node`).
#
# [^ipmode]: kubernetes/website `content/en/docs/reference/command-line-tools-reference/feature-gates/LoadBalancerIPMode.md`
#     (the stages) and `content/en/docs/concepts/services-networking/service.md` (section "Specifying
#     IPMode of load balancer status"); KEP-1860.
#
# [^hostname]: kubernetes/kubernetes `pkg/proxy/service.go` (`newBaseServiceInfo` keeps only the
#     `ip` of each `status.loadBalancer.ingress[]` entry); kubernetes/cloud-provider-aws
#     `pkg/providers/v1/aws.go` (the status carries the load balancer's DNS name as `hostname`);
#     the catalogue's "pods that dial it" column in [load-balancers.md](../docs/load-balancers.md).
#
# [^kubeadm]: kubernetes/kubernetes `cmd/kubeadm/app/componentconfigs/kubeproxy.go` (`clusterCIDR`
#     from `networking.podSubnet`, only when it is set).

# %% [markdown] slide="slide"
# ## Key points
# - Pod to ClusterIP: DNAT only. The server sees the client pod's IP in the default iptables and
#   nftables modes; kube-proxy masquerades only sources outside the pod range (`! -s <cluster CIDR>`).
# - Masqueraded anyway: hairpin (a pod reaching itself), traffic from a node (when kube-proxy knows
#   the pod range), and `--masquerade-all`.
# - `internalTrafficPolicy: Local` (GA 1.26) is strict: clients on nodes without an endpoint time
#   out. Use it for DaemonSet-backed services.
# - `trafficDistribution` (GA 1.33; `PreferSameZone` / `PreferSameNode` GA 1.35, `PreferClose` a
#   deprecated alias of `PreferSameZone` since 1.33) prefers close endpoints and falls back to the
#   rest: nothing is dropped, but load follows the clients.
# - In-cluster calls to a Local service's NodePort, or to its LB IP when the status publishes an
#   `ip`, are short-circuited to all endpoints: a test from inside says nothing about drops, hops or
#   the client IP external clients get. With a `hostname` (AWS) they go through the load balancer.
# - Cheat sheet with the full source × destination × policy matrix: [cheatsheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("07")

# %% [markdown]
# ## What's next
# [Notebook 8](08-proxies-and-headers.ipynb) leaves L4 behind: when a proxy or L7 load balancer is
# in the path, the client IP travels in `X-Forwarded-For`, `Forwarded` or the PROXY protocol, and
# only some of what arrives can be trusted.
