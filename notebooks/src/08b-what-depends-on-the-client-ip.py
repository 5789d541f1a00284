# %% [markdown] slide="slide"
# # 08b · What depends on the client IP
#
# People want the client's address for a reason: an allow-list, a network policy, sticky sessions, an
# access log, a rate limit. Whether any of them works depends first on *which* load balancer sits in
# front, then on the Service's policy. This notebook starts from a table of real load balancers and
# then takes each use of the client IP in turn.
#
# **Learning objectives**
# - Read the "Which load balancer am I behind?" table and say what a pod sees behind a given load
#   balancer, under `Cluster` and under `Local`.
# - Explain why `loadBalancerSourceRanges` works under `Cluster` (it is checked before any SNAT), and
#   what it does to pods and nodes that dial the load-balancer IP.
# - Predict what a NetworkPolicy `ipBlock` allow-list does under `Cluster` and under `Local`, and
#   state the NetworkPolicy documentation's caveat.
# - Explain why `sessionAffinity: ClientIP` is kept per node, and why it collapses behind a proxy.
# - Tell from access logs which load balancer and policy are in front, and what a per-IP rate
#   limit will count.
#
# **Prerequisites**: [notebook 4](04-external-traffic-policy-local.ipynb) (`Local`),
# [notebook 5](05-imbalance.ipynb) (load balancers) and [notebook 8](08-proxies-and-headers.ipynb)
# (proxies, `X-Forwarded-For`, PROXY protocol). Terms: [glossary](../docs/glossary.md).
#
# **Time**: about 32 minutes (all of it going further)

# %%
import k8slearn as k8s

# %% [markdown] slide="slide" tags=["misconception-4", "going-further"]
# ## 1. Which load balancer am I behind?
# *Going further · 8 minutes*
#
# `k8s.load_balancer_table()` runs every load balancer of the catalogue (`k8s.LB_PROFILES`) through
# the simulator, on `k8s.examples.two_zones()` (three nodes in two zones, pods 1 / 2 / 1), and
# reports what it finds. Nothing in it is typed in by hand. What the pod sees:

# %%
table = k8s.load_balancer_table()
table[["load balancer", "kind", "status", "pod sees (Cluster)", "pod sees (Local)", "client address carried by"]]

# %% [markdown]
# Read it by kind. A **pass-through** load balancer (GCP's passthrough NLB, Azure's Standard LB,
# MetalLB, an AWS NLB with instance targets) delivers the client's own packets, so `Local` keeps the
# client IP. A **proxy** (the AWS Classic ELB, every L7 load balancer) opens its own connection: the
# pod never sees the client (under `Local` it sees the proxy, under `Cluster` a node, which SNATs the
# proxy's connection), and the client survives only in a PROXY header or `X-Forwarded-For`. An AWS NLB with IP targets sends straight to the pods from its own address,
# unless client-IP preservation or PROXY v2 is on. Four rows, as text:

# %% tags=["nbval-check-output"]
rows = ["gcp-nlb", "aws-nlb-instance", "aws-elb", "aws-alb"]
print(table.set_index("key").loc[rows, ["pod sees (Local)", "client address carried by"]].to_string())

# %% [markdown] tags=["predict"]
# ### Predict 8b.1
#
# The legacy AWS cloud provider creates a Classic ELB for a LoadBalancer Service unless told
# otherwise. The Service is `Local`. Which source address does the pod see: the client's
# (198.51.100.7), a node's, or the load balancer's (192.168.255.10)?

# %% tags=["guess"]
k8s.predict("8b.1", ...)

# %% tags=["reveal"]
c = k8s.examples.two_zones()
behind_elb = k8s.send(c, "web", lb="aws-elb", seed=1)
k8s.reveal("8b.1", behind_elb.source_seen_by_pod)

# %% tags=["nbval-check-output"]
print(behind_elb.summary())

# %% [markdown]
# The rest of the table: whether pods that dial the load balancer are short-circuited (only with an
# `ip` in the status, [notebook 7](07-inside-the-cluster.ipynb)), what it health-checks, and how it
# spreads connections. Each entry's sources are in [load-balancers.md](../docs/load-balancers.md).

# %%
table[["load balancer", "pods that dial it", "health check (Cluster)", "spread"]]

# %% [markdown]
# On a real cluster, `kubectl get svc web -o yaml` tells you most of it: `status.loadBalancer.ingress`
# holds an `ip` or a `hostname` (AWS: a name ending in `elb.amazonaws.com`); with the legacy AWS
# provider the annotation `service.beta.kubernetes.io/aws-load-balancer-type: nlb` asks for an NLB,
# and no annotation means a Classic ELB; the AWS Load Balancer Controller uses `external` and
# `aws-load-balancer-nlb-target-type`.[1]

# %% [markdown] slide="slide" tags=["going-further"]
# ## 2. `loadBalancerSourceRanges`: an allow-list before the SNAT
# *Going further · 7 minutes*
#
# `spec.loadBalancerSourceRanges` lists the client ranges allowed to reach the load balancer. The
# cloud enforces it where it can (a security group, a firewall rule, an NSG), and so does kube-proxy,
# for every packet addressed to the load-balancer IP.[2] Take the in-cluster example under `Cluster`
# and admit only the partner network 198.51.100.0/24:

# %% tags=["nbval-check-output"]
ic = k8s.examples.in_cluster()
ic.patch_service("web", load_balancer_source_ranges=["198.51.100.0/24"])
for client in ["198.51.100.7", "203.0.113.9"]:
    t = k8s.send(ic, "web", client=client, via="node-c", seed=1)
    where = f"the pod sees {t.source_seen_by_pod}" if t.outcome == "delivered" else f"by {t.hops[-1].rule}"
    print(f"{client:13} {t.outcome:9} {where}")

# %% [markdown]
# The partner gets in, although under `Cluster` the pod then sees node-c's address; the stranger is
# dropped. It works under `Cluster` because kube-proxy checks the source in the `nat` table before
# the DNAT, and the masquerade happens last, on the way out. The rules on node-c:

# %% tags=["nbval-check-output"]
from k8slearn.dataplane.rules import render

print("\n".join(r for r in render(ic, "node-c").splitlines() if r.startswith("-A") and ("KUBE-FW-" in r or "KUBE-PROXY-FIREWALL" in r)))

# %% [markdown]
# `KUBE-FW-…` sends the listed sources on to `KUBE-EXT-…`; anything else falls through un-DNATed, and
# `KUBE-PROXY-FIREWALL` in the `filter` table drops it. Behind a proxying load balancer only the load
# balancer's own filter sees the client (kube-proxy sees the proxy). And a client that dials a
# NodePort directly is not checked at all: the field is about the load-balancer address.

# %% [markdown] tags=["predict"]
# ### Predict 8b.2
#
# `client`, a pod on node-c (10.244.3.5), dials the Service's **load-balancer IP**. The load
# balancer's status has an `ip`, so kube-proxy catches the packet on node-c. Is the connection
# `"delivered"`, `"refused"` or `"dropped"`?

# %% tags=["guess"]
k8s.predict("8b.2", ...)

# %% tags=["reveal"]
from_pod = k8s.send(ic, "web", client="client", address="loadBalancerIP", seed=1)
k8s.reveal("8b.2", from_pod.outcome)

# %% tags=["nbval-check-output"]
print(from_pod.reason)
print("to the ClusterIP instead:", k8s.send(ic, "web", client="client", address="clusterIP", seed=1).outcome)

# %% [markdown]
# The firewall applies to in-cluster sources too: a pod is let in only if a range contains its
# address, and a node only if a range contains the node's IP (upstream's `TestLoadBalancer` has both
# cases). Pods should call the ClusterIP, which the field does not touch, or the pod range must be
# listed.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 3. NetworkPolicy `ipBlock`: an allow-list after the SNAT
# *Going further · 7 minutes*
#
# The same partner allow-list, written as a NetworkPolicy that selects the `web` pods:

# %%
u = k8s.examples.uneven()
u.add_network_policy("partners-only", pod_selector={"app": "web"},
                     ingress=[{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}])

# %% [markdown]
# A NetworkPolicy is enforced at the pod. Whether a Service's NAT happens before or after it is left
# undefined by the NetworkPolicy documentation, which warns that the source a policy acts on may be
# a load balancer's or a node's address, depending on the network plugin, cloud and Service
# implementation.[3] In common set-ups (kube-proxy in front of the plugin's policy) it comes after
# the SNAT, and that is what k8slearn models.

# %% [markdown] tags=["predict"]
# ### Predict 8b.3
#
# Under `Cluster`, the partner 198.51.100.7 reaches node-c (no `web` pod), and kube-proxy picks web-3
# on node-b. Is the connection `"delivered"`, `"refused"` or `"dropped"`?

# %% tags=["guess"]
k8s.predict("8b.3", ...)

# %% tags=["reveal"]
partner = k8s.send(u, "web", via="node-c", endpoint="web-3", seed=1)
k8s.reveal("8b.3", partner.outcome)

# %% tags=["nbval-check-output"]
print(partner.reason)
stranger = k8s.send(u, "web", client="203.0.113.9", via="node-a", endpoint="web-1", seed=1)
print("a stranger via node-a to web-1:", stranger.outcome, "- web-1 sees", stranger.source_seen_by_pod)

# %% [markdown]
# Both ways wrong. The partner is dropped whenever the connection crosses to another node, because
# the policy sees that node's address. The stranger is let in whenever the connection is served on the
# node it entered: the pod sees its own node's address, and traffic from the pod's own node is always
# allowed.[3] The allow-list decides by where a connection lands, not by who sent it.

# %% tags=["self-check", "nbval-check-output"]
# Self-check 8b.s1: with a health-checked load balancer over the three nodes, what share of the
# partner's connections is delivered under Cluster? (k8s.metrics gives it; predict first.)
answer = ...  # a share, such as 0.5 or "1/2"
k8s.self_check("8b.s1", answer)

# %% [markdown]
# Under `Local` the pod sees the client itself, and the policy does what it says:

# %% tags=["nbval-check-output"]
u.patch_service("web", external_traffic_policy="Local")
print("partner delivered:", k8s.metrics(u, "web").loc[0, "delivered"])
print("stranger via node-a:", k8s.send(u, "web", client="203.0.113.9", via="node-a", seed=1).outcome)

# %% [markdown]
# So for an allow-list of external clients: `Local` behind a pass-through load balancer, so that
# `ipBlock` sees the client, or `loadBalancerSourceRanges` (section 2), which works under either
# policy. Under `Cluster` an `ipBlock` of client addresses silently fails.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 4. `sessionAffinity: ClientIP`
# *Going further · 5 minutes*
#
# With `sessionAffinity: ClientIP`, kube-proxy sends a source back to the endpoint it picked for it
# last time (for 10800 s by default). The memory is kube-proxy's, on each node, keyed on the source
# address **that node** sees.[4] `k8s.sessions` has 20 clients open 5 connections each:

# %%
b = k8s.examples.balanced(3)
b.patch_service("web", session_affinity="ClientIP")
print(b.service("web"))

# %% [markdown] tags=["predict"]
# ### Predict 8b.4
#
# Behind the AWS Classic ELB (a proxy), how many different source addresses do the three nodes key
# their affinity on, for the 20 clients?

# %% tags=["guess"]
k8s.predict("8b.4", ...)

# %% tags=["reveal"]
via_elb = k8s.sessions(b, "web", seed=1, lb="aws-elb", clients=20, connections=5)
k8s.reveal("8b.4", len({key for keys in via_elb.key_seen_by_nodes for key in keys.split(", ")}))

# %% tags=["nbval-check-output"]
for lb in ["gcp-nlb", "metallb-l2", "aws-elb"]:
    s = k8s.sessions(b, "web", seed=1, lb=lb, clients=20, connections=5)
    keys = {key for keys in s.key_seen_by_nodes for key in keys.split(", ")}
    print(f"{lb:11} keys {len(keys):2}   pods per client {s.pods.mean():.2f}   pods used {s.attrs['pods_used']}"
          f"   busiest pod {s.attrs['busiest']:.0%}")

# %% [markdown]
# Three lessons. GCP's NLB hashes each connection's 5-tuple, so one client's connections reach
# different nodes, and each node remembers its own pick: about two pods per client, not one.[4]
# MetalLB in L2 mode sends everything to one node, so each client sticks to one pod. Behind the ELB
# every client is the same key: each node sends **all** of them to one pod, two pods do all the work
# and one gets none. Stickiness belongs in the load balancer (source-IP affinity, or cookies at L7)
# when anything before the node spreads or rewrites the source.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 5. What access logs and rate limits see
# *Going further · 5 minutes*
#
# 50 clients connect once each. For five set-ups: how many different addresses the pods log as their
# peer, and how many clients an app can tell apart when it reads what the load balancer provides
# (the PROXY header; `X-Forwarded-For` from a trusted peer, read from the right as in notebook 8):

# %% tags=["nbval-check-output"]
from k8slearn.proxychain import App

setups = [("gcp-nlb", "Cluster", App()), ("gcp-nlb", "Local", App()), ("aws-elb", "Local", App()),
          ("aws-elb-proxy-v1", "Local", App(expect_proxy_protocol=True)),
          ("aws-alb", "Local", App(trusted=["192.168.0.0/16"]))]
for lb, policy, app in setups:
    cl = k8s.examples.uneven(external_traffic_policy=policy)
    traces = [k8s.send(cl, "web", client=f"198.51.100.{i}", lb=lb, app=app, seed=i) for i in range(1, 51)]
    peers = {t.source_seen_by_pod for t in traces}
    told = {t.client_seen_by_app for t in traces}
    print(f"{lb:17} {policy:8} peers logged {len(peers):2}   clients told apart {len(told):2}")

# %% [markdown]
# A rate limit of 10 requests per address and minute shares its budget among everyone behind one
# key: 50 clients become 5 keys under `Cluster`, and one key behind the ELB, where a single busy
# client throttles all the others. Reading the PROXY header or `X-Forwarded-For` gives the 50 back.
# A log line tells you where you are: client addresses mean pass-through and `Local`; node and bridge
# addresses mean `Cluster`; one address that is no node's means a proxy; a header says which.

# %% [markdown] tags=["self-check"]
# **Self-check.** Every line of your access log shows the peer 192.168.255.10 and no
# `X-Forwarded-For`; the Service is `Local`. Which is in front: GCP's passthrough NLB, an AWS Classic
# ELB, or an AWS ALB?
#
# <details><summary>Answer</summary>
#
# The Classic ELB (or anything else that proxies without a header, such as an NLB with IP targets).
# GCP's NLB with `Local` would show the clients' own addresses; an ALB would add `X-Forwarded-For`.
# </details>

# %% [markdown] slide="slide"
# ## Key points
#
# - Which load balancer is in front decides first: pass-through ones let `Local` keep the client IP,
#   proxies never do (the AWS Classic ELB is one); `k8s.load_balancer_table()` has the catalogue.
# - `loadBalancerSourceRanges` is checked before any SNAT (by the cloud and by kube-proxy's
#   `KUBE-FW-…`), so it works under `Cluster`; pods and nodes that dial the LB IP need a range too.
# - A NetworkPolicy `ipBlock` sees the source after the SNAT in common set-ups: under `Cluster` an
#   external allow-list keeps clients out and lets strangers in; `Local` makes it work.
# - `sessionAffinity: ClientIP` is per node and keyed on what the node sees: spread over nodes it is
#   loose, behind a proxy every client is one key.
# - Logs and rate limits see what the pod sees, unless the app reads a PROXY header or a trusted
#   `X-Forwarded-For`.
#
# **Sources.** [1] kubernetes/cloud-provider-aws `pkg/providers/v1/aws.go`
# (`ServiceAnnotationLoadBalancerType`; the status `hostname` is the load balancer's DNS name);
# kubernetes-sigs/aws-load-balancer-controller `docs/guide/service/nlb.md`. [2] kubernetes/kubernetes
# `pkg/proxy/iptables/proxier.go`, `syncProxyRules` (`KUBE-FW-…`, `KUBE-PROXY-FIREWALL`), tests
# `TestLoadBalancer` in `proxier_test.go` (pod and node to the LB IP; NodePorts bypass the ranges);
# kubernetes/website `content/en/docs/tasks/access-application-cluster/configure-cloud-provider-firewall.md`.
# [3] kubernetes/website `content/en/docs/concepts/services-networking/network-policies.md` (the
# `ipBlock` caveat on NAT; traffic from the pod's own node is always allowed). [4]
# kubernetes/kubernetes `pkg/proxy/iptables/proxier.go` (`-m recent` per endpoint chain);
# kubernetes/website `content/en/docs/reference/networking/virtual-ips.md` (session affinity); GCP
# documentation `cloud.google.com/load-balancing/docs/network/ext-netlb-traffic-distribution`
# (session affinity `NONE`: a 5-tuple hash). The catalogue's sources: [load-balancers.md](../docs/load-balancers.md).
#
# Terms: [glossary](../docs/glossary.md); the policy matrix: [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("08b")

# %% [markdown]
# ## What's next
#
# Practise in `exercises/08b-what-depends-on-the-client-ip.ipynb`: read access logs, fix an ingress
# that logs node IPs, and find why an allow-list lets nobody in. Then
# [notebook 9](09-dataplanes-compared.ipynb) runs the same scenarios under other dataplanes, where
# Cilium's DSR keeps the client IP even with `Cluster`.
