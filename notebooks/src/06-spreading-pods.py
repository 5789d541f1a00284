# %% [markdown] slide="slide"
# # 06 · Spreading pods
#
# Under `externalTrafficPolicy: Local` a pod's share is 1 / (H · p_n)
# ([notebook 5](05-imbalance.ipynb)): where the pods run decides how even the load is. This notebook
# asks the scheduler to spread them, and follows a spread service through scaling, a node failure and
# a rolling update.
#
# **Learning objectives**
# - Write pod anti-affinity (preferred and required) and `topologySpreadConstraints` in their full
#   API form, and predict where the scheduler puts each replica.
# - Recognise a Pending replica's scheduler message and what causes it.
# - Describe what the scheduler does with no spreading rules at all (its default soft spread).
# - Follow a `Local` service through a node failure and a rolling update: endpoints, health checks,
#   replacement pods.
# - Explain why the per-node imbalance matters less as the app spreads over more nodes.
#
# **Prerequisites**: [notebook 4](04-external-traffic-policy-local.ipynb) and
# [notebook 5](05-imbalance.ipynb). Words you may want to look up: [glossary](../docs/glossary.md).
#
# **Time**: about 30 minutes (all of it going further)

# %%
import k8slearn as k8s
from k8slearn.placement import place, apply, anti_affinity_spec, topology_spread_spec, yaml_text

c = k8s.examples.uneven(external_traffic_policy="Local")
print(c)

# %% [markdown]
# `k8s.placement` is a small model of kube-scheduler: `place(cluster, service, replicas, ...)` works
# out where each replica of the service's Deployment would land, one pod at a time as the scheduler
# does (filter the nodes, score the rest, take the best), without changing the cluster. `apply(...)`
# then makes it so. Ties between equal nodes go to the first node, so the results here are
# repeatable; the real scheduler picks at random among ties (`seed=` does that too).

# %% [markdown] slide="slide" tags=["going-further"]
# ## 1. The scheduler places new pods; it never moves running ones
# *Going further · 7 minutes*
#
# Our cluster runs `web` 2 / 1 / 0. Asking for the same 3 replicas changes nothing: the scheduler only
# decides where **new** pods go.

# %% tags=["nbval-check-output"]
print(repr(place(c, "web", 3)))

# %% [markdown]
# Scaling to 4 creates one new pod. With no spreading rules at all, the scheduler still applies a
# **default soft spread** to pods that belong to a Service or ReplicaSet: `maxSkew` 3 per
# `kubernetes.io/hostname` and 5 per `topology.kubernetes.io/zone`, with `whenUnsatisfiable:
# ScheduleAnyway`, so it only scores nodes: those with fewer matching pods score higher.[1]

# %% [markdown] tags=["predict"]
# ### Predict 6.1
#
# Scaling `web` from 3 to 4 replicas, which node does the new pod, `web-4`, land on? Lock in a node's
# name, then reveal.

# %% tags=["guess"]
k8s.predict("6.1", ...)

# %% tags=["reveal"]
p4 = place(c, "web", 4)
k8s.reveal("6.1", p4.node_of("web-4"))

# %% tags=["nbval-check-output"]
print(p4)

# %% [markdown]
# Each line shows the new pod's node and every feasible node's score (the default spread and the
# resource score: a node with fewer pods has more room). node-c, with no `web` pod, wins. Apply it and
# look at the traffic:

# %% tags=["nbval-check-output"]
scaled = c.copy()
apply(scaled, "web", p4)
print(k8s.traffic(scaled, "web").round(3).to_string())

# %%
k8s.draw(k8s.traffic(scaled, "web"), metrics=k8s.metrics(scaled, "web"))

# %% [markdown]
# Better than before (node-c now takes a third), but the two pods on node-a still get half as much as
# the others. The default spread is soft and was never asked to undo the 2 / 1 / 0 layout. A fresh
# rollout (all pods replaced, `keep_existing=False`) starts from an empty slate and gives 1 / 1 / 1:

# %% tags=["nbval-check-output"]
print(repr(place(c, "web", 3, keep_existing=False)))

# %% [markdown] slide="slide" tags=["article-correction", "going-further"]
# ## 2. Pod anti-affinity, written out in full
# *Going further · 6 minutes*
#
# **The source article shows anti-affinity as a fragment**, which does not apply as written. The field
# lives in the Deployment's pod template (`spec.template.spec.affinity`), and the preferred form needs a
# `weight` and a `podAffinityTerm`:

# %% tags=["nbval-check-output"]
print(yaml_text(anti_affinity_spec("preferred", {"app": "web"})))

# %% [markdown]
# Read it as: "prefer (weight 100, on a scale of 1-100) not to run on a node (`topologyKey:
# kubernetes.io/hostname`) that already runs a pod labelled `app: web`". Preferred rules only score
# nodes, so a replica always lands somewhere. The required form drops the weight:

# %% tags=["nbval-check-output"]
print(yaml_text(anti_affinity_spec("required", {"app": "web"})))

# %% [markdown] tags=["predict"]
# ### Predict 6.2
#
# Three empty nodes and 4 replicas. With required anti-affinity, how many replicas stay Pending?
# (And with preferred anti-affinity, where does each replica go?)

# %% tags=["guess"]
k8s.predict("6.2", ...)

# %% tags=["reveal"]
empty = k8s.Cluster.from_layout([0, 0, 0], external_traffic_policy="Local")
required = place(empty, "web", 4, anti_affinity="required")
k8s.reveal("6.2", len(required.pending))

# %% tags=["nbval-check-output"]
print(place(empty, "web", 4, anti_affinity="preferred").counts)
print(required.counts, "Pending:", required.pending)
print(required.reason)

# %% [markdown]
# Required anti-affinity on the hostname allows at most one matching pod per node. The fourth replica
# stays **Pending**, and `kubectl describe pod` shows the scheduler's `FailedScheduling` event starting
# with the message above (a real cluster adds a `preemption: ...` sentence). Preferred anti-affinity
# packs the fourth onto node-a instead.

# %% [markdown] tags=["self-check"]
# **Self-check.** A Deployment with 5 replicas and required hostname anti-affinity runs on a 4-node
# cluster. How many replicas run, and what happens when you add a fifth node?
#
# <details><summary>Answer</summary>
#
# Four run, one per node; the fifth is Pending with "0/4 nodes are available: 4 node(s) didn't match
# pod anti-affinity rules." A new node passes the filter, so the scheduler places the Pending pod there.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## 3. topologySpreadConstraints
# *Going further · 4 minutes*
#
# Anti-affinity says "not together"; a topology spread constraint says "no domain more than `maxSkew`
# pods ahead of the emptiest". It is the better tool for more replicas than nodes:[2]

# %% tags=["nbval-check-output"]
print(yaml_text(topology_spread_spec({"app": "web"}, max_skew=1, topology_key="kubernetes.io/hostname",
                                     when_unsatisfiable="DoNotSchedule")))

# %% tags=["nbval-check-output"]
spread = {"max_skew": 1, "topology_key": "kubernetes.io/hostname", "when_unsatisfiable": "DoNotSchedule"}
for replicas in [3, 4, 5, 6, 7]:
    print(replicas, place(empty, "web", replicas, topology_spread=spread).counts)

# %% [markdown]
# Every replica is scheduled, and no node is ever more than one pod ahead. With `topologyKey:
# topology.kubernetes.io/zone` the domains are zones instead. The `zones()` cluster has two zones of two
# nodes each:

# %% tags=["nbval-check-output"]
z = k8s.examples.zones()
by_zone = {"max_skew": 1, "topology_key": "topology.kubernetes.io/zone"}
print({n.name: n.zone for n in z.nodes})
print(place(z, "web", 4, topology_spread=by_zone, keep_existing=False).counts)

# %% [markdown] tags=["self-check"]
# **Self-check.** With `whenUnsatisfiable: ScheduleAnyway` instead of `DoNotSchedule`, can a replica stay
# Pending because of the constraint?
#
# <details><summary>Answer</summary>
#
# No. `ScheduleAnyway` makes the constraint a score: the scheduler prefers nodes that keep the skew
# small but places the pod even when every node would exceed it. Only `DoNotSchedule` filters nodes.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## 4. A node fails
# *Going further · 6 minutes*
#
# Start from a spread service, one pod per node, and let node-c fail. Its kubelet stops reporting;
# after the node controller's grace period (`--node-monitor-grace-period`) its Ready condition
# becomes `Unknown`, the node shows as NotReady, and the node controller taints it
# `node.kubernetes.io/unreachable`:[4]

# %% tags=["nbval-check-output"]
f = k8s.examples.balanced(3, external_traffic_policy="Local")
f.set_node("node-c", ready=False)
print([(e.pod, e.node, e.ready) for e in f.endpoints("web")])
print(k8s.by_node(f, "web")[["node", "ready", "pods", "health_check", "lb_share"]].to_string())

# %% [markdown]
# web-3's endpoint is no longer ready, node-c answers no health check at all, and the load balancer
# stops sending there. The other two nodes take half each; nothing is dropped once the load balancer has
# noticed.

# %%
k8s.draw(k8s.traffic(f, "web"), metrics=k8s.metrics(f, "web"))

# %% [markdown]
# After 5 minutes (the default `tolerationSeconds: 300` every pod gets for the
# `node.kubernetes.io/unreachable` taint; `node.kubernetes.io/not-ready` is the taint for a node whose
# kubelet reports `Ready=False`, with the same default) web-3 is evicted, and its ReplicaSet creates a
# replacement. Where it lands depends
# on the rules:

# %% tags=["nbval-check-output"]
f.set_pod("web-3", terminating=True)
rules = {"no rules": {}, "required anti-affinity": {"anti_affinity": "required"},
         "maxSkew 1": {"topology_spread": {"max_skew": 1}},
         "maxSkew 1, Honor": {"topology_spread": {"max_skew": 1, "node_taints_policy": "Honor"}}}
for label, rule in rules.items():
    p = place(f, "web", 3, **rule)
    print(f"{label:23} {p.counts}  {p.reason or 'all scheduled'}")

# %% [markdown]
# - No rules, or a `ScheduleAnyway` spread: the replacement lands on node-a.
# - Required anti-affinity with as many replicas as nodes: nowhere to go, Pending until node-c is back
#   (or another node is added).
# - `maxSkew: 1` with `DoNotSchedule` is stuck too: by default (`nodeTaintsPolicy: Ignore`) the failed
#   node still counts as a domain with 0 pods, so any other node would be 2 ahead. With
#   `nodeTaintsPolicy: Honor` tainted nodes are left out and the replacement is scheduled.
#
# Strict spreading rules trade availability during failures for evenness.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 5. A rolling update and terminating endpoints
# *Going further · 4 minutes*
#
# A Deployment's rolling update (defaults `maxSurge: 25%`, `maxUnavailable: 25%`, which round to 1 and
# 0 for 3 replicas) first creates a new pod, then terminates an old one. Follow one step on `balanced(3)`:

# %% tags=["nbval-check-output"]
r = k8s.examples.balanced(3, external_traffic_policy="Local")
surge = place(r, "web", 4)
apply(r, "web", surge)
r.set_pod("web-1", terminating=True)
print(r)
print(k8s.by_node(r, "web")[["node", "pods", "health_check", "lb_share"]].to_string())

# %% [markdown]
# The surge pod web-4 went to node-a (all nodes tied; the first wins), so node-a keeps a ready endpoint
# while web-1 terminates: no node drops out of the load balancer. Had web-4 landed elsewhere, node-a
# would answer 503, and connections still arriving there would go to the terminating-but-serving web-1
# (on by default since 1.26, GA in 1.28) instead of being dropped ([notebook 04b](04b-local-in-practice.ipynb), section 3).
#
# With **required** anti-affinity the surge pod has nowhere to go, because every node already runs a
# `web` pod (and a terminating pod still counts until it is gone):

# %% tags=["nbval-check-output"]
strict = k8s.examples.balanced(3, external_traffic_policy="Local")
print(place(strict, "web", 4, anti_affinity="required").reason)

# %% [markdown]
# The rollout waits for that pod forever. Use `maxSurge: 0` with `maxUnavailable: 1` (one node briefly
# without a pod, so its health check says 503), preferred anti-affinity, or a topology spread constraint.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 6. It matters less as the app spreads over more nodes
# *Going further · 3 minutes*
#
# Even a perfect spread leaves some nodes with one pod more than others when the replicas do not divide
# evenly. Take N nodes and N + 1 replicas spread with `maxSkew: 1`: one node runs two pods.

# %% tags=["nbval-check-output"]
for n in [2, 3, 4, 6, 8, 12, 24]:
    grid = k8s.Cluster.from_layout([0] * n, external_traffic_policy="Local")
    apply(grid, "web", place(grid, "web", n + 1, topology_spread=spread))
    t, m = k8s.traffic(grid, "web"), k8s.metrics(grid, "web").loc[0]
    print(f"{n:2} nodes: busiest pod gets {t.share.max() / t.attrs['fair_share']:.3f} x its fair share; "
          f"max/min {m.imbalance:.1f}, cv {m.cv:.3f}")

# %% [markdown]
# The two pods on the crowded node always get half of what the others get (max/min stays 2.0), but the
# **busiest** pod's load approaches the fair share: 1.5 times it with 2 nodes, 1.04 times with 24. When
# capacity is planned for the busiest pod, that excess is what you pay for, and it shrinks as the app
# spreads over more nodes. It is the source article's point, now with numbers.

# %% [markdown] slide="slide"
# ## Key points
#
# - The scheduler places new pods only; it never moves running ones. Without rules it applies a soft
#   default spread (maxSkew 3 per hostname, 5 per zone, `ScheduleAnyway`).
# - Preferred pod anti-affinity (weight 1-100) only scores nodes; required anti-affinity on
#   `kubernetes.io/hostname` allows one matching pod per node and leaves extra replicas Pending with
#   "didn't match pod anti-affinity rules".
# - `topologySpreadConstraints` with `maxSkew: 1` keep domains (nodes or zones) within one pod of each
#   other, for any number of replicas; `DoNotSchedule` filters, `ScheduleAnyway` only scores.
# - A failed node stops answering health checks, and the load balancer stops sending to it. Strict rules
#   (required anti-affinity, `DoNotSchedule` with the default `nodeTaintsPolicy: Ignore`) can keep its
#   replacement Pending.
# - Rolling updates: a surge pod keeps a node in the load balancer; required anti-affinity blocks surge
#   pods when replicas equal nodes.
# - The busiest pod's excess over the fair share shrinks as the app spreads over more nodes.
#
# **Sources.** [1] kubernetes/kubernetes `pkg/scheduler/framework/plugins/podtopologyspread/plugin.go`
# (`systemDefaultConstraints`);
# kubernetes/website `content/en/docs/concepts/scheduling-eviction/topology-spread-constraints.md`
# ("Cluster-level default constraints"). [2] kubernetes/website
# `content/en/docs/concepts/scheduling-eviction/assign-pod-node.md` (inter-pod affinity and
# anti-affinity) and `topology-spread-constraints.md`; scheduler messages from
# `pkg/scheduler/framework/plugins/interpodaffinity/filtering.go`, `podtopologyspread/filtering.go`
# and `pkg/scheduler/framework/types.go` (`FitError`). [3] kubernetes/kubernetes
# `pkg/controller/controller_utils.go` (`ActivePodsWithRanks`: which pods a ReplicaSet deletes first when
# scaling down, as `place` models it). [4] kubernetes/website
# `content/en/docs/concepts/scheduling-eviction/taint-and-toleration.md` ("Taint based Evictions":
# `node.kubernetes.io/unreachable` for Ready `Unknown`, `node.kubernetes.io/not-ready` for Ready
# `False`, the default `tolerationSeconds: 300`).
# Terms: [glossary](../docs/glossary.md); the policy matrix: [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("06")

# %% [markdown]
# ## What's next
#
# [Notebook 07 · Inside the cluster](07-inside-the-cluster.ipynb): traffic between pods through a
# ClusterIP, which keeps the client pod's IP, `internalTrafficPolicy: Local`, and `trafficDistribution`.
