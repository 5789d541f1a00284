# %% [markdown] slide="slide"
# # 02 · Into the cluster: one packet, hop by hop
#
# A client opens a connection to a LoadBalancer Service. We follow its first packet through the load
# balancer to a node, through kube-proxy's iptables chains to a pod, and the reply all the way back.
#
# **Learning objectives**
# - Follow a packet from client to pod and name every place it passes: load balancer, node, pod.
# - Name the kube-proxy chains it passes (`KUBE-SERVICES` → `KUBE-EXT-…` → `KUBE-MARK-MASQ` →
#   `KUBE-SVC-…` → `KUBE-SEP-…`) and say what each does.
# - Read a trace as data: `trace.path`, `trace.to_frame()`.
# - Explain how conntrack sends the reply back the way the request came.
#
# **Prerequisites**: [01 · Pods, nodes and services](01-pods-nodes-services.ipynb).
#
# **Time**: about 20 minutes (core path: 10 minutes)

# %% [markdown] slide="slide" tags=["core"]
# ## Sending one connection
# *Core · 6 minutes*
#
# The cluster from notebook 00: three nodes with pods 2 / 1 / 0 and a LoadBalancer Service `web` at
# `203.0.113.100:80`, `externalTrafficPolicy: Cluster` (the default). The load balancer picks
# `node-c`; `seed=1` makes kube-proxy's random pick repeatable.

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()
t = k8s.send(cluster, "web", client="198.51.100.7", via="node-c", seed=1)

# %% [markdown] tags=["predict"] slide="subslide"
# ### Predict 2.1
#
# `node-c` has no `web` pod, and kube-proxy there picks `web-2`. Which places does the request
# pass, in order, from `client` to `web-2`? Write them as a list, such as
# `["client", "load balancer", ...]`, in the next cell, then run the reveal.

# %% tags=["guess"]
k8s.predict("2.1", ...)

# %% tags=["reveal"]
k8s.reveal("2.1", t.path)

# %% tags=["nbval-check-output"]
print(t.path)

# %% [markdown]
# The trace itself, one row per hop:

# %%
t

# %% [markdown]
# The load balancer is a pass-through L4 forwarder: it picks a node and keeps the client's **source**
# address, which is what matters for the client IP. This one (like GCP's passthrough Network Load
# Balancer or MetalLB) leaves the destination alone too; others, such as an AWS NLB with instance
# targets, rewrite the destination to the node's IP and NodePort (kube-proxy then matches
# `KUBE-NODEPORTS`) and are still pass-through in that sense. Here all the rewriting happens on
# `node-c`, which then forwards the packet over the pod network to `node-a`, where the chosen pod
# `web-2` runs.
#
# Not every load balancer passes packets through. The AWS Classic ELB, which the legacy AWS cloud
# provider creates by default, is a **proxy**, TCP listeners included: it ends the client's connection
# and opens its own to a NodePort, so the pod never sees the client's address (under `Local` it sees
# the ELB's, under `Cluster` a node's), and the client arrives only in a PROXY protocol v1 header (annotation
# `service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: "*"`) or in `X-Forwarded-For`.[2]
# [Notebook 08b](08b-what-depends-on-the-client-ip.ipynb) compares the load balancers.

# %% tags=["nbval-check-output"]
print(k8s.LB_PROFILES["aws-elb"].summary())

# %%
k8s.draw(t)

# %% [markdown] slide="slide" tags=["going-further"]
# ## The chains, in order
# *Going further · 5 minutes*
#
# On `node-c` the packet meets kube-proxy's rules in the `nat` table. The DNAT hop records every
# chain it passed, with the real hashed names kube-proxy would create for `default/web`:

# %% tags=["nbval-check-output"]
dnat = next(h for h in t.hops if h.action == "DNAT")
print(dnat.rule.replace(" → ", "\n  → "))

# %% [markdown]
# 1. `KUBE-SERVICES` matches the destination `203.0.113.100:80` ("default/web loadbalancer IP").
# 2. `KUBE-EXT-…` handles external destinations of the Service: under `Cluster` its first rule
#    jumps to `KUBE-MARK-MASQ`, which only **marks** the packet (`0x4000`) for masquerading later.
# 3. `KUBE-SVC-…` picks one endpoint at random, each with equal chance.
# 4. `KUBE-SEP-…` (service endpoint) DNATs to that pod's `IP:port`.
# 5. On the way out, `KUBE-POSTROUTING` masquerades (SNATs) every marked packet.
#
# These are the rules kube-proxy writes on `node-c`, in `iptables-save` format, so you can hold them
# next to a real node.[1]

# %% tags=["nbval-check-output"]
from k8slearn.dataplane.rules import render

rules = render(cluster, "node-c").splitlines()
print("\n".join(r for r in rules if r.startswith("-A") and ("KUBE-EXT" in r or r.startswith(("-A KUBE-SVC", "-A KUBE-POSTROUTING")))))

# %% [markdown] tags=["self-check"]
# **Self-check.** `KUBE-SVC-…` jumps to the first endpoint with probability `0.333`, to the second
# with `0.5`, and to the last with no condition. Why do those add up to equal thirds?
#
# <details><summary>Answer</summary>
# The rules are tried in order. The first takes 1/3. Of the 2/3 left, the second takes half: 1/3.
# The last takes what remains: 1/3. With n endpoints the probabilities are 1/n, 1/(n-1), …, 1/2, then
# no condition.
# </details>

# %% [markdown] slide="slide" tags=["core"]
# ## The trace as data
# *Core · 4 minutes*
#
# `to_frame()` gives one row per hop: where it happened, what happened, the packet after it, and
# which fields changed. Here the request only:

# %% tags=["nbval-check-output"]
frame = t.to_frame(reply=False)
print(frame[["step", "at", "action", "after", "changed"]].to_string(index=False))

# %% [markdown]
# Two rewrites on `node-c`: **DNAT** changes the destination (the Service address becomes
# `web-2`'s `10.244.1.6:8080`), **SNAT** changes the source (the client becomes `node-c`'s
# `192.168.0.13`, with a new random source port from `MASQUERADE --random-fully`). Notebook 03 is
# about that second rewrite.

# %% [markdown] tags=["predict"] slide="subslide"
# ### Predict 2.2: a NodePort instead
#
# A client can skip the load balancer and dial a node's NodePort, here `node-b`'s `192.168.0.12:30080`.
# `node-b` runs `web-3`, and kube-proxy picks it. Does the packet still get SNAT ("yes" or "no")? And
# which chain comes right after `KUBE-SERVICES` this time?

# %% tags=["guess"]
k8s.predict("2.2", ...)

# %% tags=["reveal"]
t_np = k8s.send(cluster, "web", address="nodePort", via="node-b", endpoint="web-3", seed=3)
k8s.reveal("2.2", t_np.snat)

# %% tags=["nbval-check-output"]
for hop in t_np.hops:
    print(hop.summary(), "|", hop.rule)

# %% [markdown]
# The last rule of `KUBE-SERVICES` sends packets addressed to one of the node's own IPs to
# `KUBE-NODEPORTS`, which matches port `30080`; from there the path is the same `KUBE-EXT-…`. And yes,
# SNAT again, even though `web-3` runs on the very node that received the packet. Hold on to that
# surprise: notebook 03 explains it.

# %% [markdown] slide="slide" tags=["going-further"]
# ## The way back: conntrack
# *Going further · 5 minutes*
#
# The pod answers the address it saw, `192.168.0.13:47217`. When `node-c` rewrote the request, the
# kernel's connection tracker (conntrack) remembered both rewrites. The reply comes back to
# `node-c`, conntrack recognises it, and reverses both NATs at once:

# %% tags=["nbval-check-output"]
reply = t.to_frame().query("direction == 'reply'")
print(reply[["step", "at", "action", "after", "rule"]].to_string(index=False))

# %%
k8s.draw(t, reply=True)

# %% [markdown] tags=["self-check"]
# **Self-check.** The reply that reaches the client comes from `203.0.113.100:80`, not from
# `10.244.1.6:8080`. Why does that matter to the client?
#
# <details><summary>Answer</summary>
# The client opened a connection to `203.0.113.100:80`; its TCP stack accepts only replies from that
# address and port. A reply from the pod's own address would match no connection it opened, so it
# would be discarded. Notebook 03 shows that failure.
# </details>

# %% tags=["self-check"]
# Self-check 2.s1: which places does web-2's reply pass, in order, back to the client?
answer = ...  # a list, such as ["web-2", ...]
k8s.self_check("2.s1", answer)

# %% [markdown] slide="slide"
# ## Key points
#
# - A pass-through L4 load balancer picks a node and keeps the client's source address (some also
#   rewrite the destination to nodeIP:NodePort); kube-proxy's rules on that node do the rest. A
#   proxying one, such as the AWS Classic ELB, replaces the source with its own address.
# - Chains on the way: `KUBE-SERVICES` (or `KUBE-NODEPORTS` for a NodePort) → `KUBE-EXT-…` →
#   `KUBE-MARK-MASQ` (mark only) → `KUBE-SVC-…` (random endpoint) → `KUBE-SEP-…` (DNAT), then
#   `KUBE-POSTROUTING` masquerades marked packets.
# - `trace.path` and `trace.to_frame()` turn a connection into data you can compare and query.
# - The node that did the NAT holds the conntrack entry, so the reply must come back through it.
# - Cilium's kube-proxy replacement does the same job with eBPF programs and maps instead of these
#   chains, and differs in when it SNATs ([notebook 09](09-dataplanes-compared.ipynb)).
#
# **Sources.** [1] kubernetes/kubernetes `pkg/proxy/iptables/proxier.go`, `syncProxyRules`, and the expected
# rules in `proxier_test.go`, `TestOverallIPTablesRules`. kubernetes/website
# `content/en/docs/reference/networking/virtual-ips.md`. [2] kubernetes/cloud-provider-aws
# `pkg/providers/v1/aws.go` (the Classic ELB's listeners to the NodePort, its `hostname` status and
# `ServiceAnnotationLoadBalancerProxyProtocol`); the catalogue entry `k8s.LB_PROFILES["aws-elb"]` and
# [load-balancers.md](../docs/load-balancers.md). Terms: [glossary](../docs/glossary.md);
# commands to see these rules on a real node (`iptables-save -t nat`, `conntrack -L`):
# [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("02")

# %% [markdown]
# ## What's next
#
# [Notebook 03 · externalTrafficPolicy: Cluster](03-external-traffic-policy-cluster.ipynb) asks why
# `node-c` replaced the client's address, what the pod sees, and what that costs you.
