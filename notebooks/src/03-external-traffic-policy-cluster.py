# %% [markdown] slide="slide"
# # 03 · externalTrafficPolicy: Cluster
#
# `Cluster` is the default for NodePort and LoadBalancer Services. It spreads traffic evenly over
# every pod, and it hides the client's IP from all of them. This notebook shows both, measures the
# extra hop it costs, and shows what breaks without the address swap, and what breaks with it.
#
# **Learning objectives**
# - Show that `Cluster` spreads external traffic evenly over all ready endpoints, whatever node they run on.
# - Show that kube-proxy SNATs **every** external packet under `Cluster`, also when the pod is local,
#   and predict the source IP a pod sees (node IP or bridge IP).
# - Compute the extra-hop rate `1 - p_n/P` per node and check it against the simulator.
# - Explain why the SNAT is needed, and name what the lost client IP breaks (logs, rate limits,
#   geo rules, allow-lists, NetworkPolicy `ipBlock`).
#
# **Prerequisites**: [02 · Into the cluster](02-into-the-cluster.ipynb).
#
# **Time**: about 25 minutes (core path: 20 minutes)

# %% [markdown] slide="slide" tags=["core"]
# ## Even spread
# *Core · 5 minutes*
#
# Same cluster as before: pods 2 / 1 / 0 on `node-a`, `node-b`, `node-c`, LoadBalancer `web` with
# `externalTrafficPolicy: Cluster`. The load balancer sends a third of the connections to each node
# (with `Cluster`, every node passes the load balancer's health check).

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()

# %% [markdown] tags=["predict"]
# ### Predict 3.1
#
# What share of all connections does each pod get? Write a dict such as
# `{"web-1": 0.5, "web-2": 0.25, "web-3": 0.25}` in the next cell, then run the reveal.

# %% tags=["guess"]
k8s.predict("3.1", ...)

# %% tags=["reveal"]
shares = k8s.traffic(cluster, "web")
k8s.reveal("3.1", dict(zip(shares.pod, shares.share)))

# %% tags=["nbval-check-output"]
print(shares.round(3).to_string(index=False))

# %% [markdown]
# A third each. Every node's `KUBE-SVC-…` chain picks uniformly among **all** three endpoints, so
# where the pods run does not matter, and neither does where the traffic enters. But look at
# `client_ip_kept`: 0 for every pod. And two thirds of each pod's connections took an extra hop.

# %%
k8s.draw(shares, metrics=k8s.metrics(cluster, "web"))

# %% [markdown] tags=["misconception-7", "article-correction", "predict", "core"] slide="slide"
# ## SNAT on every external packet
# *Core · 6 minutes*
#
# A common belief, also in the 2021 article this course grew from: *"Cluster SNATs the packets that
# are re-routed to a pod on another node."* So a packet that lands on `node-a` and goes to `web-1`,
# which runs on `node-a`, should keep the client's IP?
#
# ### Predict 3.2
#
# Which source IP does `web-1` see? (And a pod on another node?) Lock in an address, then reveal.

# %% tags=["guess"]
k8s.predict("3.2", ...)

# %% tags=["reveal"]
local = k8s.send(cluster, "web", via="node-a", endpoint="web-1", seed=1)
k8s.reveal("3.2", local.source_seen_by_pod)

# %% tags=["nbval-check-output"]
for entry, pod in [("node-a", "web-1"), ("node-a", "web-3"), ("node-c", "web-3")]:
    t = k8s.send(cluster, "web", via=entry, endpoint=pod, seed=1)
    print(f"via {entry} to {pod} on {t.pod_node}: the pod sees {t.source_seen_by_pod}, SNAT: {t.snat}, extra hop: {t.extra_hop}")

# %% [markdown] tags=["article-correction"]
# **SNAT, also with no second hop.** kube-proxy (iptables and nftables modes) marks every packet
# that arrives for a NodePort, load-balancer IP or externalIP in `KUBE-EXT-…` **before** it picks an
# endpoint; the masquerade happens on the way out, whichever pod was chosen.[1] The article's
# description fits only Cilium's SNAT mode (end of this notebook).
#
# What the pod sees: a remote pod sees the IP of the node that **received** the packet
# (`192.168.0.11`, `192.168.0.13`); a local pod sees one of `node-a`'s own addresses. Which one
# depends on the CNI plugin: MASQUERADE takes an address of the interface the packet leaves by,[3]
# so with a bridge plugin (as simulated here) it is the bridge's gateway address, `10.244.1.1`; where
# the host side of the pod's link has no address of its own, the kernel borrows another one,
# typically the node's IP. Never `198.51.100.7`.

# %% [markdown] tags=["self-check"]
# **Self-check.** The load balancer sends a connection to `node-b`, and kube-proxy there picks
# `web-2`. What source IP does `web-2` see?
#
# <details><summary>Answer</summary>
# `192.168.0.12`, `node-b`'s IP: the receiving node masquerades, and the pod is on another node.
# </details>

# %% [markdown] tags=["predict", "core"] slide="slide"
# ## The extra hop: 1 - p_n / P
# *Core · 5 minutes*
#
# Each node picks uniformly among all `P` endpoints, and `p_n` of them are on node `n`. So a packet
# that node `n` receives takes a second node hop with probability `1 - p_n/P`.
#
# With `P = 3`: `node-a` (2 local) → 1/3, `node-b` (1 local) → 2/3, `node-c` (none) → 1.
#
# ### Predict 3.3
#
# With a third of the traffic on each node, what fraction of all connections takes the extra hop?

# %% tags=["guess"]
k8s.predict("3.3", ...)

# %% tags=["reveal"]
m = k8s.metrics(cluster, "web")
k8s.reveal("3.3", m.loc[0, "extra_hop"])

# %% tags=["nbval-check-output"]
print(m[["scope", "received", "client_ip_kept", "extra_hop"]].round(3).to_string(index=False))

# %% [markdown]
# Overall `(1/3 + 2/3 + 1) / 3 = 2/3`. With one pod on each of `N` nodes, `p_n/P = 1/N` and the
# rate is `1 - 1/N` on every node: the more nodes, the closer to *every* connection crossing two nodes.

# %% tags=["self-check"]
# Self-check 3.s1: four nodes with one pod each (k8s.examples.balanced(4)), Cluster. What fraction
# of connections takes the extra hop?
answer = ...  # a share, such as 0.5 or "1/2"
k8s.self_check("3.s1", answer)

# %% [markdown] slide="slide" tags=["core"]
# ## What if there were no SNAT?
# *Core · 4 minutes*
#
# Why does kube-proxy hide the client at all? The `no-snat` dataplane is a made-up kube-proxy that
# DNATs but never masquerades. Send through `node-c` to `web-3` on `node-b`:

# %% tags=["nbval-check-output"]
bare = k8s.send(cluster, "web", via="node-c", endpoint="web-3", dataplane="no-snat", seed=1)
print(bare.outcome, "|", bare.reply_path)
print(bare.reason)
print(k8s.metrics(cluster, "web", dataplane="no-snat")[["scope", "delivered", "failed"]].round(3).to_string(index=False))

# %%
k8s.draw(bare, reply=True)

# %% [markdown]
# `web-3` sees the real client and answers it directly, from `node-b`. But the DNAT happened on
# `node-c`, and only `node-c`'s conntrack can turn `10.244.2.5:8080` back into
# `203.0.113.100:80`. The client gets a reply from an address it never dialled and discards it.
# SNAT makes the reply come back to the node that did the DNAT. Without it, every connection that
# needs a second hop fails: two thirds of all traffic here (`failed` in the table above), and all of
# what `node-c` receives.

# %% [markdown] slide="slide" tags=["going-further"]
# ## Why the lost client IP matters
# *Going further · 5 minutes*
#
# With the SNAT, everything in the pod that looks at the peer address sees a node: **access logs**
# (every request from three nodes), **geo rules** (every visitor in your data centre), **allow-lists**,
# and **rate limits by client**. An allow-list for the partner network `198.51.100.0/24`:

# %% tags=["nbval-check-output"]
import ipaddress

partners = ipaddress.ip_network("198.51.100.0/24")
t = k8s.send(cluster, "web", client="198.51.100.7", via="node-c", seed=1)
print(f"client {t.client_ip} allowed: {t.client_ip in partners}; the pod sees {t.source_seen_by_pod}, allowed: {t.source_seen_by_pod in partners}")

# %% [markdown] tags=["predict"]
# ### Predict 3.4
#
# A rate limiter keyed by source IP counts requests per address. 100 different clients
# (`198.51.100.1` … `.100`) connect once each. How many different source addresses do the pods see?

# %% tags=["guess"]
k8s.predict("3.4", ...)

# %% tags=["reveal"]
seen = {k8s.send(cluster, "web", client=f"198.51.100.{i}", seed=i).source_seen_by_pod for i in range(1, 101)}
k8s.reveal("3.4", len(seen))

# %% tags=["nbval-check-output"]
print(len(seen), "addresses:", sorted(map(str, seen)))

# %% [markdown]
# Five: the three node IPs and the bridge addresses of the two nodes with pods. A limit of 10
# requests per client per minute would throttle all 100 clients together, after about 50 requests
# in total. A NetworkPolicy `ipBlock` that admits `198.51.100.0/24` has the same problem: whether
# it is checked before or after the SNAT is not defined by Kubernetes and depends on the network
# plugin,[2] so with `Cluster` it may well see only node addresses.
# [Notebook 08b](08b-what-depends-on-the-client-ip.ipynb) takes allow-lists, policies, affinity and
# logs in turn.
#
# ### Cilium does it differently
#
# Cilium's eBPF kube-proxy replacement, in its default SNAT mode, masquerades only when the backend is
# on another node; in DSR mode the backend answers the client directly and keeps the client IP even
# under `Cluster`. Same local and remote connections as above
# ([notebook 09](09-dataplanes-compared.ipynb) compares the dataplanes in depth):

# %% tags=["nbval-check-output"]
for dp in ["iptables", "cilium-snat", "cilium-dsr"]:
    seen_by = [str(k8s.send(cluster, "web", via="node-a", endpoint=p, dataplane=dp, seed=1).source_seen_by_pod) for p in ("web-1", "web-3")]
    print(f"{dp:12} local web-1 sees {seen_by[0]:14} remote web-3 sees {seen_by[1]}")

# %% [markdown] slide="slide"
# ## Key points
#
# - `Cluster` spreads external traffic evenly over all ready endpoints: each node picks uniformly.
# - kube-proxy SNATs **every** external packet under `Cluster`, local pod or not. A remote pod sees the
#   receiving node's IP, a local pod the node's address toward it (with a bridge CNI the bridge
#   address, e.g. `10.244.1.1`; with others often the node's IP).
# - Node `n` forwards to another node with probability `1 - p_n/P`; with one pod per node, `1 - 1/N`.
# - The SNAT is what brings the reply back to the node holding the conntrack entry; without it,
#   every two-node connection fails.
# - The price: logs, rate limits, geo rules, allow-lists and `ipBlock` rules see node addresses.
# - Cilium's SNAT mode masquerades only remote traffic; its DSR mode keeps the client IP.
#
# **Sources.** [1] kubernetes/kubernetes `pkg/proxy/iptables/proxier.go`, `syncProxyRules` (the
# `KUBE-EXT-…` rule "masquerade traffic for … external destinations"), and `proxier_test.go`,
# `TestInternalExternalMasquerade`; kubernetes/website `content/en/docs/tutorials/services/source-ip.md`.
# [2] kubernetes/website `content/en/docs/concepts/services-networking/network-policies.md` (ipBlock).
# [3] torvalds/linux `net/netfilter/nf_nat_masquerade.c` (`inet_select_addr` on the outgoing
# interface); containernetworking/plugins `plugins/main/bridge` (the bridge gets the gateway address).
# Terms: [glossary](../docs/glossary.md); the policy matrix: [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("03")

# %% [markdown]
# ## What's next
#
# [Notebook 04 · externalTrafficPolicy: Local](04-external-traffic-policy-local.ipynb) keeps the
# client IP and the single hop, and shows what it costs: nodes that silently drop traffic, and a
# health check that answers 503 on purpose.
