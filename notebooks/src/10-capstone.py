# %% [markdown] slide="slide"
# # 10 · Capstone: design it, measure it, defend it
#
# A product team asks you to expose their API, `web`. You have the whole course behind you: policies,
# load balancers, placement, dataplanes, proxies. This notebook gives you the brief and shows how the
# simulator measures each requirement, on the team's set-up as it is today. The design is yours: you
# write it in [exercises/10-capstone.ipynb](../exercises/10-capstone.ipynb), where
# `k8s.check.capstone(design)` grades it requirement by requirement.
#
# **Learning objectives**
# - Turn a brief into measurable requirements, and read the simulator's evidence for each.
# - Design a layout, a Service, a load balancer from the catalogue and the app's trust settings that
#   meet them, twists included.
# - Defend a design by what it costs, and by what the simulator cannot see.
#
# **Prerequisites**: notebooks [3](03-external-traffic-policy-cluster.ipynb) to
# [9](09-dataplanes-compared.ipynb); the [cheat sheet](../docs/cheatsheet.md) and
# [which load balancer am I behind?](../docs/load-balancers.md) are handy.
#
# **Time**: about 40 minutes (all of it going further)

# %%
import k8slearn as k8s

# %% [markdown] slide="slide" tags=["going-further"]
# ## The brief
# *Going further · 6 minutes*
#
# The cluster runs on AWS with the legacy cloud provider: a Service of `type: LoadBalancer` gets a
# **Classic ELB** unless you ask for another load balancer (`load_balancer=` one of
# `k8s.LB_PROFILES`). You choose the nodes and their zones, the replicas and how they spread, the
# Service's fields, the dataplane, and what the app trusts. The team needs:
#
# 1. **Client IP kept.** The app rate-limits per client address: on every external connection it must
#    get the real client, from the packet or from a PROXY header it reads.
# 2. **Nothing lost**, in steady state and while a node's pods terminate in a rolling update or a
#    drain, both before the load balancer notices and after.
# 3. **Even load**: every replica scheduled, the busiest pod at most 1.25 times the quietest.
# 4. **In-cluster callers through the load balancer.** Other teams' pods call the API at its public
#    address, and compliance wants every call to pass the load balancer, which terminates TLS and
#    logs. Each call must pass it and be answered.
#
# And two twists:
#
# 5. **An allow-list.** Only partners (198.51.100.0/24) may call the API from outside; 192.0.2.10
#    must not get in.
# 6. **A CDN in front of an ingress.** Browsers come through the company's CDN (203.0.113.50, an HTTP
#    proxy that appends to `X-Forwarded-For`) and an ingress controller, a DaemonSet behind its own
#    Service. The app must log the browser's address, and neither a forged `X-Forwarded-For` nor a
#    client that skips the CDN may fool it.

# %% [markdown] slide="slide" tags=["going-further"]
# ## Today's set-up, measured
# *Going further · 8 minutes*
#
# A design is a dict. Here is the team's set-up as it runs today: three nodes in one zone, three
# replicas, `Local` (someone read that it keeps the client IP), the default load balancer, an app
# that trusts no proxy, and the ingress controller's Service left at the default, `Cluster`.

# %%
today = dict(
    nodes=["zone-a", "zone-a", "zone-a"],
    replicas=3,
    spread=None,
    pre_stop_sleep=False,
    service={"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
    load_balancer=None,                      # the cloud's default: a Classic ELB
    dataplane=None,                          # kube-proxy, iptables mode
    network_policy=None,
    app={"proxy_protocol": False, "trusted": []},
    ingress={"externalTrafficPolicy": "Cluster", "load_balancer": None, "proxy_protocol": False},
)

# %% [markdown]
# `k8s.capstone.evaluate` builds it in the simulator (nodes, pods placed by the scheduler model,
# Services, the load balancer's profile) and measures every requirement, with its evidence:

# %% tags=["nbval-check-output"]
report = k8s.capstone.evaluate(today)
print(report)

# %% [markdown]
# Two of six. Requirement 1 fails in a way `Local` cannot fix: the Classic ELB is a **proxy**, TCP
# listeners included. It ends the client's connection and opens its own to a NodePort, so under any
# `externalTrafficPolicy` the pod's peer is the ELB.[1] "Local keeps the client IP" holds only when every
# hop before the node is a pass-through L4 forwarder. One connection shows it:

# %% tags=["nbval-check-output"]
c = k8s.examples.uneven(external_traffic_policy="Local")
print(k8s.send(c, "web", lb="aws-elb", seed=1).summary())
print(k8s.send(c, "web", lb="aws-elb-proxy-v1", seed=1).proxy_protocol)

# %% [markdown]
# With the `service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: "*"` annotation the ELB sends a
# PROXY v1 header that carries the client, and the app must then read it (`"proxy_protocol": True`).
# Requirement 2 fails because `Local` never forwards external traffic to another node: while a node's
# pods shut down, what the load balancer still sends there is lost unless they keep serving
# (`pre_stop_sleep`, [notebook 04b](04b-local-in-practice.ipynb)).

# %% [markdown] slide="slide" tags=["going-further"]
# ## How each requirement is measured
# *Going further · 10 minutes*
#
# **1** follows every path a connection can take (`k8s.paths`) and asks what the app concludes on
# each. **2** marks each node's web pods terminating in turn (still serving only with
# `pre_stop_sleep`) and measures what is lost with the load balancer's old choice of backends, then
# with its new one. **3** is `k8s.metrics(...).imbalance` and the scheduler's Pending pods. **5**
# sends from a partner and from 192.0.2.10 along every path. **6** sends through the CDN, with and
# without a forged header, and from a client that skips the CDN, then lets the ingress controller
# append its peer and the app pick the client the safe way.
#
# **4** depends on what the load balancer's status publishes. kube-proxy catches a pod's packets to a
# load-balancer address on the pod's own node only when the Service's status publishes an `ip` (and
# `ipMode` is not `Proxy`). AWS load balancers publish a `hostname`, so kube-proxy has no rule to
# match and the pods' calls go out through the load balancer, TLS and PROXY header included.[2] Which
# calls from pods pass the load balancer, and which are answered:

# %% tags=["nbval-check-output"]
u = k8s.examples.uneven(external_traffic_policy="Local")
for lb in ["gcp-nlb", "aws-elb", "aws-nlb-instance"]:
    p = k8s.paths(u, "web", lb=lb, clients="pods", address="loadBalancerIP")
    through = p[p.path.apply(lambda names: "load balancer" in names)].probability.sum()
    answered = p[p.outcome == "delivered"].probability.sum()
    print(f"{lb:17} status {k8s.LB_PROFILES[lb].status:8} through the LB {through:4.0%}   answered {answered:4.0%}")

# %% [markdown]
# The GCP load balancer publishes an IP: pods never reach it. The ELB is reached and answers every
# call. The NLB with instance targets is reached too, but it keeps the caller's address, and when it
# picks the caller's own node the answer never matches the connection (NAT loopback): a hairpin
# timeout. The evidence names it:

# %% tags=["nbval-check-output"]
p = k8s.paths(u, "web", lb="aws-nlb-instance", clients="pods", address="loadBalancerIP")
print(p[p.outcome != "delivered"].reason.iloc[0])

# %% [markdown] tags=["predict"]
# ### Predict 10.1
#
# Requirement 3 depends on where the pods run. Without a spread rule, the scheduler's default soft
# spread places them. Where does it put six pods on the uneven cluster's three nodes (a fresh
# rollout)? Lock in the count per node, such as `{"node-a": 3, "node-b": 2, "node-c": 1}`, then reveal.

# %% tags=["guess"]
k8s.predict("10.1", ...)

# %% tags=["reveal"]
default_spread = k8s.placement.place(u, "web", 6, keep_existing=False)
k8s.reveal("10.1", default_spread.counts)

# %% [markdown]
# 2 / 2 / 2 today. But `ScheduleAnyway` never refuses: after a node failure, replacements pile up where
# there is room, and under `Local` a per-node load balancer gives pods on crowded nodes less each.
# A load balancer that splits per zone first (AWS, cross-zone off by default) cares about the zones
# too. The strict rule, `DoNotSchedule`, costs capacity instead: during a drain the replacements
# may stay Pending ([notebook 6](06-spreading-pods.ipynb), section 4).

# %% tags=["nbval-check-output"]
skewed = k8s.Cluster.from_layout([3, 2, 1], external_traffic_policy="Local")
print(round(float(k8s.metrics(skewed, "web").loc[0, "imbalance"]), 2))

# %% [markdown] slide="slide" tags=["going-further"]
# ## The twists
# *Going further · 6 minutes*
#
# **An allow-list** can be enforced in two places. `loadBalancerSourceRanges` is applied by the cloud
# (a security group) and by kube-proxy for packets to the load-balancer IP, before any masquerade, so
# it works under `Cluster` too. A NetworkPolicy `ipBlock` is applied at the pod, in common set-ups
# after the Service's NAT (the NetworkPolicy docs leave the order undefined): under `Cluster`, or
# behind a proxying load balancer, it sees node or load-balancer addresses
# ([notebook 3](03-external-traffic-policy-cluster.ipynb)).
#
# **A CDN in front of an ingress.** The ingress controller is itself behind a Service. Under that
# Service's default, `Cluster`, the node masquerades the CDN's connection, and the ingress appends
# the node's address to `X-Forwarded-For`:

# %% tags=["nbval-check-output"]
trust = k8s.proxychain.App(trusted=["203.0.113.0/24", "10.244.0.0/16"])
for policy in ["Cluster", "Local"]:
    print(policy, k8s.proxychain.follow(k8s.proxychain.cdn_chain(ingress_policy=policy), app=trust).summary())

# %% [markdown]
# Trusting the nodes' addresses as well would hide the problem but open another: a client that skips
# the CDN and writes its own `X-Forwarded-For` would be believed, since every node looks the same
# under `Cluster`. Requirement 6 tests exactly that client.

# %% [markdown] tags=["self-check"]
# **Self-check.** A design uses the Classic ELB with PROXY protocol, and the app reads the header. A
# team calls `web` at its **ClusterIP** instead of the public address. What happens to their calls?
#
# <details><summary>Answer</summary>
#
# They break. A ClusterIP call never passes the load balancer, so it carries no PROXY header, and an
# app that requires one closes the connection (haproxy's PROXY protocol spec: both ends must agree).
# Such a design needs a second port, or a second Service, without PROXY protocol for in-cluster
# callers, or requirement 4's rule that every caller uses the public address.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## Your turn
# *Going further · 10 minutes*
#
# Open [exercises/10-capstone.ipynb](../exercises/10-capstone.ipynb). Exercise 10.3 starts from
# `k8s.check.capstone_blank()`, a design whose fields are all `...`; `k8s.capstone.FIELDS` says what
# each one means. Fill in the fields one at a time: a requirement waits until the fields it needs are
# filled, so each run of `k8s.check.capstone(design)` shows what your latest choice did. Start with the
# requirement that rules out the most choices, and read the evidence of each failing one before you
# change anything. More than one design meets all six.
#
# Then defend it in a few sentences: what does each choice cost (extra hops, a load balancer feature,
# an app change, a strict rule that can leave pods Pending)? And what can the simulator not see? It
# takes pods to keep serving as long as `pre_stop_sleep` promises, health checks to react in time,
# the app to parse headers correctly, and in-cluster callers to reach the load balancer from their pod
# addresses, where a real VPC may translate them.

# %% [markdown] tags=["self-check"]
# **Self-check** (after your design passes: the answer names two that do). Name one cost of your
# design, and one of a design that meets all six with a different load balancer.
#
# <details><summary>Answer</summary>
#
# Two designs meet all six. One puts an NLB with IP targets and client-IP preservation in front; the
# other a Classic ELB with PROXY protocol under `Cluster`. The NLB with IP targets needs the AWS Load Balancer Controller and pods with VPC addresses, and it
# splits per zone first, so the zones must hold equal numbers of pods. The ELB design takes an extra
# node hop for two connections in three under `Cluster`, and every client of the API port must speak
# PROXY protocol, in-cluster callers included (previous self-check).
# </details>

# %% [markdown]
# **Sources** (the course's facts sheet, §3b "Which load balancer am I behind?", and
# [docs/load-balancers.md](../docs/load-balancers.md)). [1] kubernetes/cloud-provider-aws
# `pkg/providers/v1/aws.go`: Classic ELB listeners, TCP ones included, proxy to the NodePort; the
# status is the ELB's DNS name. [2] kubernetes/kubernetes `pkg/proxy/iptables/proxier.go`: the
# load-balancer rule is written from `status.loadBalancer.ingress[].ip`, and not for `ipMode: Proxy`
# (KEP-1860); kubernetes#66607 and #79783 on hostname-only statuses.

# %% [markdown] slide="slide"
# ## Key points
# - Write requirements as numbers the simulator can measure: the client address the app concludes,
#   what is lost in a drain and when, imbalance, which calls pass the load balancer.
# - Which load balancer sits in front decides before the policy does: behind a proxy such as the
#   Classic ELB, `Local` keeps nothing; only a PROXY header the app reads brings the client back.
# - kube-proxy short-circuits pods' calls to a load-balancer address only when its status publishes an
#   IP; with a hostname (AWS) they go out through it, with its TLS, its headers and hairpin risks.
# - Every design moves some risk outside the model: grace periods, health-check timing, header
#   parsing, load-balancer features.

# %%
k8s.predictions.score("10")

# %% [markdown]
# ## What's next
# You have finished the course. Keep the [cheat sheet](../docs/cheatsheet.md) and the
# [glossary](../docs/glossary.md) at hand, try your design on a real cluster with the commands on the
# cheat sheet, and go back to [notebook 0](00-start-here.ipynb) for the explorer (`k8s.explore`) to
# play with any cluster you like. The optional [notebook 11](11-real-cluster-lab.ipynb) checks the
# simulator against a real Linux kernel and a real cluster.
