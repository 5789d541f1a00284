# %% [markdown]
# # Exercises 06 · Spreading pods
#
# Practice for [notebook 6](../notebooks/06-spreading-pods.ipynb): a prediction with a node down, spread
# rules to write in YAML for a cluster with zones, then a layout to repair. Replace each `...`, then run
# the check cell after it; `k8s.check.hint("6.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/06-spreading-pods.ipynb`
# (inside `exercises/`: `k8slearn check 06-spreading-pods.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 6.1 · predict: required anti-affinity while a node is down
#
# Four nodes; node-d is down (its kubelet stopped reporting). A fresh rollout of `web` with **5**
# replicas and *required* pod anti-affinity on `kubernetes.io/hostname`. How many replicas run on each
# node? Answer as a dict `{node: replicas}` (a node with none may be left out; Pending replicas run
# nowhere).

# %%
print(k8s.check.cluster("6.1"))

# %%
### BEGIN SOLUTION
answer = {"node-a": 1, "node-b": 1, "node-c": 1, "node-d": 0}
### END SOLUTION

# %%
k8s.check.required_with_node_down(answer)

# %% [markdown]
# ### Exercise 6.2 · YAML: topologySpreadConstraints for nodes and zones
#
# Five nodes in three zones (zone-a: node-a, node-b; zone-b: node-c, node-d; zone-c: node-e), `Local`,
# behind an AWS NLB with instance targets, which splits **per zone first**, then per node. Write the
# `topologySpreadConstraints` block of web's pod template, in YAML, so that a fresh rollout of 6
# replicas puts the same number of pods in every zone and at least one on every node, and so that
# every pod gets the same share. The check validates it the way the API server would, runs the
# scheduler model (`k8s.placement`) and measures the shares.

# %%
print(k8s.check.cluster("6.2"))

# %%
### BEGIN SOLUTION
answer = """
topologySpreadConstraints:
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: DoNotSchedule
  labelSelector:
    matchLabels:
      app: web
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: DoNotSchedule
  labelSelector:
    matchLabels:
      app: web
"""
### END SOLUTION

# %%
k8s.check.spread_yaml(answer)

# %% [markdown]
# ### Exercise 6.3 · debug: still uneven after the node came back
#
# node-c was down during last week's rollout of `web` (6 replicas, `Local`); it is back now, and the team
# added a `topologySpreadConstraints` rule with `maxSkew: 1` right after. The pods on node-b are
# still overloaded. Measure, find out why the rule changed nothing, and change `cluster` so
# that no pod gets more than 1.25 times another's share, keeping 6 replicas and `Local`.

# %%
cluster = k8s.check.cluster("6.3")
print(cluster)

# %%
### BEGIN SOLUTION
plan = k8s.placement.place(cluster, "web", 6, keep_existing=False, topology_spread={"max_skew": 1})
k8s.placement.apply(cluster, "web", plan)  # a new rollout: the rule acts when pods are scheduled
### END SOLUTION
answer = cluster

# %%
k8s.check.rebalance_after_outage(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(6)

# %% [markdown]
# Next: [exercises 07](07-inside-the-cluster.ipynb).
