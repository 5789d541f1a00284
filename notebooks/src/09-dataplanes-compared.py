# %% [markdown] slide="slide"
# # 09 · Dataplanes compared
#
# Everything so far was kube-proxy in its default iptables mode. The same Service can be carried by
# other dataplanes: kube-proxy's nftables and IPVS modes, or Cilium's eBPF kube-proxy replacement.
# Here we run one scenario through all of them and compare what the pods see.
#
# **Learning objectives**
# - Build a comparison table (client IP kept, extra hop, lost connections) for six dataplanes
#   from `k8s.metrics`.
# - Tell where iptables, nftables and IPVS agree and where IPVS differs (no in-cluster
#   short-circuit for Local services; a fallback to all endpoints on a node without local ones).
# - Read a DSR trace: the client IP survives `externalTrafficPolicy: Cluster` and the reply leaves
#   from the backend's node, not the node the packet entered.
# - Explain, with the hypothetical "no SNAT" dataplane, what masquerading buys in the other ones.
#
# **Prerequisites**: notebooks [3](03-external-traffic-policy-cluster.ipynb) (Cluster: SNAT and
# the extra hop), [4](04-external-traffic-policy-local.ipynb) (Local) and
# [7](07-inside-the-cluster.ipynb) (in-cluster traffic and the short-circuit).
# Terms: [glossary](../docs/glossary.md).
#
# **Time**: about 25 minutes (all of it going further)

# %%
import pandas as pd
import k8slearn as k8s

c = k8s.examples.uneven()
c

# %% [markdown]
# The scenario: the uneven cluster (pods 2 / 1 / 0), service `web` of type LoadBalancer with
# `externalTrafficPolicy: Cluster`, external clients arriving through a health-checked load balancer
# that spreads them equally over the three nodes. The dataplanes the simulator knows:

# %% tags=["nbval-check-output"]
for key, dp in k8s.DATAPLANES.items():
    print(f"{key:12} {dp.name}")

# %% [markdown]
# - **iptables**: kube-proxy's default mode, the one the earlier notebooks traced.
# - **nftables**: GA in Kubernetes 1.33, opt-in (`mode: nftables`). Same source-IP rules in nftables
#   syntax.
# - **IPVS**: the kernel's L4 load balancer, driven by kube-proxy. **Deprecated in 1.35**; plan to
#   move off it.[^modes]
# - **Cilium**, replacing kube-proxy with eBPF programs: SNAT mode (its default) and DSR (direct
#   server return). Cilium also has a hybrid mode (DSR for TCP, SNAT for UDP), not modelled here.[^cilium]
# - **no-snat**: a *hypothetical* kube-proxy that never masquerades external traffic. No real
#   cluster runs it; it shows why the others masquerade.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 1. One scenario, six dataplanes
# *Going further · 6 minutes*

# %% [markdown] tags=["predict"]
# ### Predict 9.1
#
# Under `externalTrafficPolicy: Cluster`, 2 of every 3 connections need a second node hop here (a
# node has at most 2 of the 3 pods). For each dataplane, think of the share of *delivered*
# connections whose pod sees the real client IP: 0 %, 33 % or 100 %? Then lock in the set of
# dataplanes at 100 %, such as `{"iptables"}` (or `"none"`).

# %% tags=["guess"]
k8s.predict("9.1", ...)

# %% tags=["reveal"]
rows = {dp: k8s.metrics(c, "web", dataplane=dp).loc[0] for dp in k8s.DATAPLANES}
table = pd.DataFrame(rows).T[["delivered", "client_ip_kept", "extra_hop", "dropped", "failed"]]
k8s.reveal("9.1", {dp for dp, row in rows.items() if row.client_ip_kept == 1})

# %% tags=["nbval-check-output"]
print((100 * table.astype(float)).round(0).astype(int).rename(columns=lambda s: s + " %"))

# %% [markdown]
# Reading it row by row (`client_ip_kept` and `extra_hop` are shares of the *delivered*
# connections; `dropped` and `failed` of all of them):
#
# - **iptables, nftables, IPVS**: identical. kube-proxy masquerades every external packet under
#   Cluster, even when the chosen pod is on the receiving node, so no pod sees the client: 0 %.
# - **Cilium SNAT**: 33 %. Cilium masquerades only when the backend is on another node; the 1 in 3
#   connections served on the receiving node keep the client IP.
# - **Cilium DSR**: 100 % kept with the same 67 % extra hops: the request still crosses to the
#   backend's node, but carries the client's address, and the reply goes straight out.
# - **no-snat**: only a third delivered; the other two thirds *fail* (the reply is discarded by
#   the client). The delivered third are the local ones, so 0 % extra hops among them.

# %% [markdown] tags=["article-correction"]
# **The source article says Cluster SNATs "as packets re-route to pods on another node". That is how
# Cilium's SNAT mode behaves, not kube-proxy:** kube-proxy (iptables, nftables, IPVS) masquerades
# every external Cluster packet, local endpoint or not (`KUBE-EXT-*` jumps to `KUBE-MARK-MASQ` before
# an endpoint is picked). Compare one connection that lands on a local pod:

# %% tags=["nbval-check-output"]
for dp in ["iptables", "cilium-snat"]:
    t = k8s.send(c, "web", via="node-a", endpoint="web-1", dataplane=dp, seed=1)
    print(f"{dp:12} SNAT {t.snat!s:5}  web-1 sees {t.source_seen_by_pod}")

# %% [markdown] slide="slide" tags=["going-further"]
# ## 2. SNAT and DSR, hop by hop
# *Going further · 5 minutes*
#
# The same connection, entering at node-c (no pods) and sent to web-1 on node-a, under kube-proxy
# and under Cilium DSR. Watch the reply.

# %%
snat = k8s.send(c, "web", via="node-c", endpoint="web-1", dataplane="iptables", seed=1)
snat

# %%
dsr = k8s.send(c, "web", via="node-c", endpoint="web-1", dataplane="cilium-dsr", seed=1)
dsr

# %% tags=["nbval-check-output"]
for name, t in [("iptables", snat), ("cilium-dsr", dsr)]:
    print(f"{name:11} request: {' -> '.join(t.path)}")
    print(f"{'':11} reply:   {' -> '.join(t.reply_path)}   (web-1 saw {t.source_seen_by_pod})")

# %% [markdown]
# Drawn with the reply (dashed): first kube-proxy, then Cilium DSR.

# %%
k8s.draw(snat, reply=True)

# %%
k8s.draw(dsr, reply=True)

# %% [markdown]
# With SNAT, web-1 answers node-c (the address it saw), node-c's conntrack reverses both NATs, and the
# reply retraces the request: a triangle becomes a round trip through node-c. With DSR, node-c
# forwards the packet *unchanged in its source* and passes the service address along with it (Cilium
# puts it in an IP option or extension header, or in the Geneve header); node-a's eBPF program
# rewrites the reply's source back to 203.0.113.100:80 and sends it straight to the client. The
# request still takes the extra hop; the reply, usually the bigger half of the traffic, does not.
#
# DSR needs a network that lets node-a send packets with the load balancer's address as source
# directly to the client, and Cilium's native routing (or Geneve) mode; check Cilium's
# documentation before turning it on.[^cilium]

# %% [markdown] slide="subslide" tags=["going-further"]
# ## 3. Why not just skip the SNAT?
# *Going further · 3 minutes*
#
# The hypothetical no-snat dataplane does what DSR does to the request, but nothing to the reply:

# %% tags=["nbval-check-output"]
broken = k8s.send(c, "web", via="node-c", endpoint="web-1", dataplane="no-snat", seed=1)
print(broken.outcome)
print(broken.reason)

# %% [markdown]
# web-1 answers the client directly from its own address, 10.244.1.5:8080. The client dialled
# 203.0.113.100:80, so the reply matches nothing it opened. kube-proxy's masquerade forces the reply
# back through the node that did the DNAT; DSR instead teaches the backend's node to undo the DNAT
# itself. Either works; doing neither does not.

# %% [markdown] tags=["self-check"]
# **Self-check.** Under Cilium in SNAT mode, a connection enters at node-b and is sent to web-3,
# which runs on node-b. Does web-3 see the client's IP? And under kube-proxy's nftables mode?
#
# <details><summary>Answer</summary>
#
# Cilium SNAT: yes, the backend is local, so no SNAT. nftables: no, kube-proxy masquerades all
# external Cluster traffic; web-3 sees node-b's bridge address, 10.244.2.1. Check:
# `k8s.send(c, "web", via="node-b", dataplane="nftables", seed=1).source_seen_by_pod`.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## 4. `externalTrafficPolicy: Local`: all agree, except IPVS inside the cluster and off the health-checked path
# *Going further · 7 minutes*
#
# Switch the service to Local. For external clients every dataplane now gives the same answer:
# local endpoints only, no SNAT, no extra hop, and the health-checked load balancer skips node-c.

# %% tags=["nbval-check-output"]
c.patch_service("web", external_traffic_policy="Local")
rows = {dp: k8s.metrics(c, "web", dataplane=dp).loc[0] for dp in k8s.DATAPLANES}
print((100 * pd.DataFrame(rows).T[["delivered", "client_ip_kept", "extra_hop", "dropped"]].astype(float)).round(0).astype(int))

# %% [markdown] tags=["predict"]
# ### Predict 9.2
#
# A client pod on every node dials web's **load-balancer IP** (not the ClusterIP). In
# [notebook 7](07-inside-the-cluster.ipynb) kube-proxy short-circuited such calls to all endpoints.
# Which dataplane spreads them differently (with fewer extra hops)? And does any drop them?

# %% tags=["guess"]
k8s.predict("9.2", ...)

# %% tags=["reveal"]
rows = {dp: k8s.metrics(c, "web", clients="pods", address="loadBalancerIP", dataplane=dp).loc[0] for dp in k8s.DATAPLANES}
inside = pd.DataFrame(rows).T[["delivered", "client_ip_kept", "extra_hop", "dropped"]].astype(float)
k8s.reveal("9.2", inside.extra_hop.idxmin())

# %% tags=["nbval-check-output"]
print((100 * inside).round(0).astype(int))

# %% [markdown]
# All deliver everything, but IPVS gets there differently: it has no short-circuit. Its virtual
# server for a `Local` service lists the node's own endpoints as real servers, for every source, so
# the pods on node-a and node-b reach only their local pods (no extra hop). node-c has no local
# endpoint, and there IPVS falls back to **all** endpoints, without SNAT
# (kubernetes/kubernetes#97081): the pod on node-c gets through, to a pod on another node. Hence
# 33 % extra hops instead of 67 %. With iptables, nftables and Cilium the in-cluster call reaches any
# endpoint from every node.

# %% tags=["nbval-check-output"]
ic = k8s.examples.in_cluster()
ic.patch_service("web", external_traffic_policy="Local")
print(k8s.send(ic, "web", client="client", address="loadBalancerIP", dataplane="ipvs", seed=1).summary())
print(k8s.send(ic, "web", client="node-c", address="loadBalancerIP", dataplane="ipvs", seed=1).summary())

# %% [markdown]
# The node itself is the exception: from node-c (a `curl` on the node, a `hostNetwork` pod) the
# connection is black-holed (kubernetes/kubernetes#93456). And the same fallback hurts external
# clients that reach node-c anyway (a load balancer without health checks, `lb="equal"`): the pod's
# reply leaves from its own address, not the one the client dialled, and the client discards it.
# Under iptables the client would time out on a DROP rule; under IPVS it fails differently, but it
# fails all the same:

# %% tags=["nbval-check-output"]
for dp in ["iptables", "ipvs"]:
    print(f"{dp:9}", k8s.send(ic, "web", via="node-c", lb="equal", dataplane=dp, seed=1).outcome)

# %% [markdown] tags=["self-check"]
# **Self-check.** A team on IPVS mode tests its new Local LoadBalancer service with `curl` from a pod
# on a node without a `web` pod, and it works; a second `curl`, run on that node itself over SSH,
# times out. Which of the two results tells them what external clients get?
#
# <details><summary>Answer</summary>
#
# Neither. The pod's call works because IPVS falls back to all endpoints on a node without local
# ones, without SNAT, which a pod survives but an external client does not (its reply comes from the
# wrong address). The node's own call is black-holed, an IPVS limitation that external clients never
# meet. Test from outside, through the load balancer.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## 5. Choosing a dataplane
# *Going further · 4 minutes*
#
# | dataplane | client IP with Cluster | with Local (external) | in-cluster to a Local LB IP | status |
# |---|---|---|---|---|
# | kube-proxy iptables | never | kept | short-circuit, all endpoints | default |
# | kube-proxy nftables | never | kept | short-circuit, all endpoints | GA 1.33 |
# | kube-proxy IPVS | never | kept | no short-circuit: local endpoints, or all of them if none (no SNAT); from the node itself, black-holed | deprecated 1.35 |
# | Cilium SNAT | kept when the backend is local | kept | socket LB, all endpoints | Cilium default |
# | Cilium DSR | kept | kept | socket LB, all endpoints | opt-in, network requirements |
#
# The table is the simulator's output above, in words. Whatever the dataplane, the load balancer's
# per-node spread (notebook [5](05-imbalance.ipynb)) and the health checks (notebook
# [4](04-external-traffic-policy-local.ipynb)) work the same way.

# %% [markdown] tags=["self-check"]
# **Self-check 9.s1 (in code).** Under Cilium SNAT with `externalTrafficPolicy: Cluster` on the uneven
# cluster, what fraction of delivered connections keep the client IP? Put your answer in `answer`
# (a fraction) and run.

# %% tags=["self-check", "nbval-check-output"]
answer = ...  # your answer, as a fraction
k8s.self_check("9.s1", answer)

# %% [markdown]
# [^modes]: kube-proxy modes: kubernetes/website `content/en/docs/reference/networking/virtual-ips.md`
#     (nftables GA in 1.33; IPVS deprecated in 1.35). Rules: kubernetes/kubernetes
#     `pkg/proxy/iptables/proxier.go` and `pkg/proxy/nftables/proxier.go` (`syncProxyRules`);
#     IPVS: `pkg/proxy/ipvs/proxier.go` (`syncEndpoint`: only local real servers for `Local`, all
#     endpoints when there is no local one, PR kubernetes/kubernetes#97081; the node-itself black
#     hole, issue kubernetes/kubernetes#93456).
#
# [^cilium]: Cilium documentation, "Kubernetes Without kube-proxy" (docs.cilium.io,
#     `network/kubernetes/kubeproxy-free`): SNAT, DSR and hybrid load-balancing modes, Maglev
#     hashing, and the requirements for DSR.

# %% [markdown] slide="slide"
# ## Key points
# - iptables and nftables modes treat the source IP identically; IPVS too, for external clients.
# - kube-proxy masquerades all external Cluster traffic; Cilium's SNAT mode only traffic to a remote
#   backend (the behaviour the source article described); Cilium DSR none, and the reply leaves from
#   the backend's node.
# - DSR keeps the client IP with Cluster, but not the extra request hop.
# - Without SNAT or DSR, connections to remote pods fail: the reply comes from an address the
#   client never dialled.
# - IPVS (deprecated in 1.35) has no in-cluster short-circuit for Local services: pods reach their
#   node's local endpoints, or all endpoints (without SNAT) on a node with none; calls from the node
#   itself are black-holed.
# - The full policy matrix for kube-proxy is on the [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("09")

# %% [markdown]
# ## What's next
# [Notebook 10](10-capstone.ipynb), the capstone: a set of real requirements, and you design (and
# defend) the configuration that meets them.
