# %% [markdown] slide="slide"
# # 10 · Capstone: design it, measure it, defend it
#
# A product team asks you to expose their `web` service. You have the whole course behind you:
# policies, load balancers, placement, dataplanes. Now you choose, and the simulator grades.
#
# **Learning objectives**
# - Turn four operational requirements into measurable checks (client IP kept, traffic lost during a
#   node drain, extra node hops, pod load imbalance).
# - Write a design as a few settings (service policy, load-balancer model, dataplane, placement) and
#   evaluate it against the requirements with `k8s.metrics`.
# - Defend a design by naming what it costs: each alternative fails a different requirement, or
#   moves the risk somewhere the simulator cannot see.
#
# **Prerequisites**: notebooks [3](03-external-traffic-policy-cluster.ipynb) to
# [9](09-dataplanes-compared.ipynb); the [cheat sheet](../docs/cheatsheet.md) is handy.
#
# **Time**: about 40 minutes (all of it going further)

# %%
import pandas as pd
import k8slearn as k8s

# %% [markdown] slide="slide" tags=["going-further"]
# ## The brief
# *Going further · 5 minutes*
#
# `web` runs on a three-node cluster (today its pods sit 2 / 1 / 0, as in `k8s.examples.uneven()`)
# behind a cloud load balancer. The team needs:
#
# 1. **Rate limiting by client IP.** The app limits each client address; every pod must see the
#    real client IP. *Measure:* `client_ip_kept` = 100 %.
# 2. **No dropped traffic during node drains.** Nodes are drained for upgrades every week.
#    *Measure:* with one node's pods terminating (still serving, in their grace period), nothing
#    is lost, neither after the load balancer has reacted nor during its health-check lag, when it
#    still sends to the draining node.
# 3. **Lowest latency.** No avoidable node-to-node hop. *Measure:* `extra_hop` = 0 %.
# 4. **Even load.** No pod much busier than another. *Measure:* `imbalance` (busiest pod's share
#    over the quietest's) at most 1.25.

# %% [markdown] slide="slide" tags=["going-further"]
# ## The instructor's design
# *Going further · 12 minutes*
#
# `externalTrafficPolicy: Local` for the client IP and no extra hop; a health-checked load balancer
# so nodes without pods get nothing; six replicas spread with a `topologySpreadConstraints` rule
# (maxSkew 1 on `kubernetes.io/hostname`, `DoNotSchedule`) so every node has the same number of pods;
# kube-proxy in its default iptables mode.

# %%
design = dict(
    external_traffic_policy="Local",
    lb="health-checked",               # or "weighted", "equal", "single-node", k8s.LoadBalancer("pod-targeting", ...)
    dataplane="iptables",              # or "nftables", "ipvs", "cilium-snat", "cilium-dsr"
    replicas=6,
    topology_spread={"max_skew": 1, "topology_key": "kubernetes.io/hostname", "when_unsatisfiable": "DoNotSchedule"},
    anti_affinity=None,                # or "preferred" / "required" (on kubernetes.io/hostname)
)

# %% [markdown]
# Apply it to a fresh copy of today's cluster. `k8s.placement.place` runs the scheduler model of
# [notebook 6](06-spreading-pods.ipynb) for a fresh rollout; `apply` moves the pods there.

# %% tags=["nbval-check-output"]
c = k8s.examples.uneven()
c.patch_service("web", external_traffic_policy=design["external_traffic_policy"])
plan = k8s.placement.place(c, "web", design["replicas"], topology_spread=design["topology_spread"],
                           anti_affinity=design["anti_affinity"], keep_existing=False)
k8s.placement.apply(c, "web", plan)
print(plan.summary())

# %% [markdown] slide="subslide"
# ### Drains
#
# For each node with pods: mark its pods terminating (serving), then measure what is lost (a) with
# the design's load balancer as it is once its health checks have caught up, and (b) for the
# traffic that still reaches the draining node before they do (`lb="equal"` keeps sending there;
# we read that node's row).

# %% tags=["nbval-check-output"]
rows = []
for node in sorted({p.node for p in c.pods}):
    d = c.copy()
    for p in d.pods_on(node):
        d.set_pod(p.name, terminating=True)
    now = k8s.metrics(d, "web", lb=design["lb"], dataplane=design["dataplane"]).loc[0]
    lag = k8s.metrics(d, "web", lb="equal", dataplane=design["dataplane"]).set_index("scope").loc[node]
    rows.append({"draining": node, "lost after LB update": round(1 - now.delivered, 6),
                 "lost during LB lag": round(1 - lag.delivered / lag.received, 6)})
drains = pd.DataFrame(rows)
print(drains)

# %% [markdown] slide="subslide"
# ### The verdict

# %% tags=["nbval-check-output"]
m = k8s.metrics(c, "web", lb=design["lb"], dataplane=design["dataplane"]).loc[0]
worst_drain = max(1 - m.delivered, drains.iloc[:, 1:].to_numpy().max())
report = pd.DataFrame([
    ("1 rate limit by client IP", "client IP kept", m.client_ip_kept, m.client_ip_kept > 1 - 1e-9),
    ("2 no drops in drains", "worst share lost", worst_drain, worst_drain < 1e-9),
    ("3 lowest latency", "extra node hop", m.extra_hop, m.extra_hop < 1e-9),
    ("4 even load", "busiest / quietest pod", m.imbalance, m.imbalance <= 1.25),
], columns=["requirement", "measure", "value", "met"])
print(report.round(3).to_string(index=False))

# %% [markdown]
# All four met. Why drains are safe here: when node-a's pods start terminating, its health-check
# port stops counting them and answers 503, so the load balancer moves traffic to node-b and
# node-c; until it notices, kube-proxy on node-a keeps sending Local traffic to its terminating but
# still serving pods (on by default since 1.26, GA in 1.28) instead of dropping it. The health
# check of a draining node:

# %% tags=["nbval-check-output"]
d = c.copy()
for p in d.pods_on("node-a"):
    d.set_pod(p.name, terminating=True)
print(k8s.by_node(d, "web")[["node", "pods", "health_check", "local_endpoints", "lb_share"]])

# %% [markdown] tags=["predict"]
# ### Predict 10.1
#
# The instructor's design on a cluster where the team forgot the spread rule, so the scheduler's
# default soft spread places the six replicas (a fresh rollout). Which requirement, if any, fails?
# Start from where the default spread would put six pods on three nodes: lock in the count per
# node, such as `{"node-a": 3, "node-b": 2, "node-c": 1}`, then reveal.

# %% tags=["guess"]
k8s.predict("10.1", ...)

# %% tags=["reveal"]
default_spread = k8s.placement.place(c, "web", 6, keep_existing=False)
k8s.reveal("10.1", default_spread.counts)

# %% tags=["nbval-check-output"]
print(default_spread.counts)

# %% [markdown]
# Six on three nodes: the soft default spread gives 2 / 2 / 2 here too, so nothing fails *today*.
# But `ScheduleAnyway` never refuses: its maxSkew (3 per node in the default rule) only scores
# nodes and bounds nothing. After a node failure, or when a node is full, replacements pile up
# wherever there is room, 3 / 2 / 1 or worse. With a per-node load balancer that is 1/3 each for
# nodes whose pods differ threefold:

# %% tags=["nbval-check-output"]
skewed = k8s.Cluster.from_layout([3, 2, 1], external_traffic_policy="Local")
print(round(float(k8s.metrics(skewed, "web").loc[0, "imbalance"]), 2))

# %% [markdown]
# The strict rule has its own cost, in capacity rather than traffic. In a real drain the node is
# cordoned (tainted `node.kubernetes.io/unschedulable`) but, with the default `nodeTaintsPolicy:
# Ignore`, still counted in the skew: with `DoNotSchedule` and maxSkew 1, the evicted pods'
# replacements may have nowhere to go (every other node would get 2 more than the drained one) and
# stay Pending until the node is back or removed. Check the plan in `kubectl get pods` during a drain,
# and size maxSkew, `nodeTaintsPolicy: Honor` or spare nodes for it.

# %% [markdown] slide="slide" tags=["going-further"]
# ## Your turn
# *Going further · 10 minutes*
#
# Change the design below (it starts as the instructor's) and run the three cells after it. Try
# at least: `external_traffic_policy="Cluster"`; `lb="weighted"` with `topology_spread=None`;
# `dataplane="cilium-dsr"` with Cluster; `lb=k8s.LoadBalancer("pod-targeting", preserve_client_ip=True)`;
# `lb="single-node"`; `dataplane="ipvs"`. For each, say which requirement fails and why before
# you run it. With `topology_spread=None` and `anti_affinity=None` the pods stay where they are
# today (2 / 1 / 0).

# %%
my_design = dict(design)            # start from the instructor's design
my_design.update(
    external_traffic_policy="Local",  # change me
    lb="health-checked",              # change me
)

# %%
mine = k8s.examples.uneven()
mine.patch_service("web", external_traffic_policy=my_design["external_traffic_policy"])
if my_design["topology_spread"] or my_design["anti_affinity"]:  # else: keep today's 2 / 1 / 0 pods
    k8s.placement.apply(mine, "web", k8s.placement.place(mine, "web", my_design["replicas"], keep_existing=False,
                        topology_spread=my_design["topology_spread"], anti_affinity=my_design["anti_affinity"]))
print(mine)

# %%
rows = []
for node in sorted({p.node for p in mine.pods}):
    d = mine.copy()
    for p in d.pods_on(node):
        d.set_pod(p.name, terminating=True)
    now = k8s.metrics(d, "web", lb=my_design["lb"], dataplane=my_design["dataplane"]).loc[0]
    lag = k8s.metrics(d, "web", lb="equal", dataplane=my_design["dataplane"]).set_index("scope").loc[node]
    rows.append({"draining": node, "after": 1 - now.delivered, "lag": 1 - lag.delivered / lag.received})
my_drains = pd.DataFrame(rows)

# %%
mm = k8s.metrics(mine, "web", lb=my_design["lb"], dataplane=my_design["dataplane"]).loc[0]
worst = max(1 - mm.delivered, my_drains[["after", "lag"]].to_numpy().max())
pd.DataFrame([
    ("1 rate limit by client IP", mm.client_ip_kept, mm.client_ip_kept > 1 - 1e-9),
    ("2 no drops in drains", worst, worst < 1e-9),
    ("3 lowest latency (extra hop)", mm.extra_hop, mm.extra_hop < 1e-9),
    ("4 even load (imbalance)", mm.imbalance, mm.imbalance <= 1.25),
], columns=["requirement", "value", "met"]).round(3)

# %% [markdown] tags=["self-check"]
# **Self-check.** Predict the verdict for `external_traffic_policy="Cluster"` (everything else as
# the instructor's design), then run it.
#
# <details><summary>Answer</summary>
#
# Requirement 1 fails (client IP kept 0 %: kube-proxy masquerades all external Cluster traffic)
# and requirement 3 fails (extra hop 67 %: each node keeps a third of its connections). Drains and
# even load pass: Cluster is the forgiving policy, which is why it is the default.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## Trade-offs: four designs that meet the brief (or almost)
# *Going further · 13 minutes*
#
# **A. Local + spread + health-checked LB** (the instructor's). Meets all four, *if* three things
# hold outside the simulator: the spread rule is `DoNotSchedule` and kept in step with the node
# count; every hop before the node is a pass-through L4 forwarder (an L7 or proxying LB in front
# would replace the client IP, see [notebook 8](08-proxies-and-headers.ipynb)); and pods stay
# serving through their grace period for longer than the LB needs to mark the node unhealthy
# (probe interval × unhealthy threshold; a `preStop` sleep buys that time). In the simulator, if the
# drained pods stop serving while the LB still sends, the node drops:

# %% tags=["nbval-check-output"]
gone = c.copy()
for p in gone.pods_on("node-a"):
    gone.set_pod(p.name, terminating=True, ready=False)
print(k8s.metrics(gone, "web", lb="equal").set_index("scope").loc["node-a", ["received", "dropped"]])

# %% [markdown] slide="subslide"
# **B. Local + weighted LB**, no spreading needed. A load balancer that weights nodes by the
# `X-Load-Balancing-Endpoint-Weight` header (GKE weighted load balancing) evens out pods even on
# today's 2 / 1 / 0 layout. Limited to load balancers that support it.

# %% tags=["nbval-check-output"]
u = k8s.examples.uneven(external_traffic_policy="Local")
for lb in ["health-checked", "weighted"]:
    print(f"{lb:15}", k8s.traffic(u, "web", lb=lb).share.round(3).tolist())

# %% [markdown] slide="subslide"
# **C. An L4 load balancer that targets pods**, with the client IP preserved (an AWS NLB with IP
# targets through the AWS Load Balancer Controller, with `preserve_client_ip.enabled` or PROXY
# protocol v2). No node hop, even per pod, placement-independent. Costs: the LB must be in the pod
# network; without preservation the pod sees the LB's address (AWS NLB IP targets over TCP default to
# that); with PROXY protocol the app must parse it, and in-cluster clients, which skip the LB, send
# no header. (GKE's container-native load balancing also targets pods, but through Ingress: an
# Application Load Balancer, a proxy. The pod's TCP peer is the proxy, and the client IP arrives
# only in `X-Forwarded-For`, so requirement 1 needs the app to read that header, see
# [notebook 8](08-proxies-and-headers.ipynb).)

# %% tags=["nbval-check-output"]
for lb in [k8s.LoadBalancer("pod-targeting"), k8s.LoadBalancer("pod-targeting", preserve_client_ip=True)]:
    r = k8s.metrics(u, "web", lb=lb).loc[0]
    print(f"{lb!r:55} client IP kept {r.client_ip_kept:.0%}, extra hop {r.extra_hop:.0%}, imbalance {r.imbalance:.2f}")

# %% [markdown] slide="subslide"
# **D. Cilium DSR with Cluster.** Client IP kept without Local, drains are forgiving (any node
# forwards to any pod) and load is even, but the request still takes the extra hop 2 times in 3
# (the reply does not), so requirement 3 is only half met. It needs Cilium as kube-proxy
# replacement and a network that allows direct return.

# %% tags=["nbval-check-output"]
dsr = k8s.metrics(k8s.examples.uneven(), "web", dataplane="cilium-dsr").loc[0]
print(f"client IP kept {dsr.client_ip_kept:.0%}, extra hop {dsr.extra_hop:.0%}, imbalance {dsr.imbalance:.2f}, lost {1 - dsr.delivered:.0%}")

# %% [markdown] tags=["self-check"]
# **Self-check.** The team adds a fifth requirement: "other services in the cluster call `web`
# through its load-balancer IP, and their calls must be rate-limited per calling pod too". Does
# design A still work?
#
# <details><summary>Answer</summary>
#
# Yes for the client IP: kube-proxy short-circuits pod traffic to a Local service's LB IP to all
# endpoints, unmasqueraded, so `web` sees the calling pod's IP (notebook 7). But those calls skip
# the load balancer (no PROXY header, no LB TLS) and take extra hops. Under IPVS (no short-circuit)
# they keep the pod IP too, reaching the caller's node-local pods, or all pods from a node without
# one, but a call from a node itself (a `hostNetwork` client) is black-holed there. Better: let
# in-cluster clients call the ClusterIP, which also keeps the pod IP.
# </details>

# %% [markdown] slide="slide"
# ## Key points
# - Write requirements as numbers the simulator can measure: client IP kept, traffic lost in a
#   drain, extra hops, imbalance.
# - Local + spread pods + health-checked LB meets all four, provided the path in front is
#   pass-through L4 and pods keep serving longer than the LB's health-check lag.
# - Weighted or pod-targeting load balancers remove the dependence on placement; DSR keeps the
#   client IP under Cluster but keeps the extra request hop.
# - Every design moves some risk outside the model: LB features, network requirements, app changes
#   (PROXY protocol), or operational discipline (grace periods, spread rules).

# %%
k8s.predictions.score("10")

# %% [markdown]
# ## What's next
# You have finished the course. Keep the [cheat sheet](../docs/cheatsheet.md) and the
# [glossary](../docs/glossary.md) at hand, try your design on a real cluster with the commands on the
# cheat sheet, and go back to [notebook 0](00-start-here.ipynb) for the explorer (`k8s.explore`) to
# play with any cluster you like. The optional [notebook 11](11-real-cluster-lab.ipynb) checks the
# simulator against a real Linux kernel and a real cluster.
