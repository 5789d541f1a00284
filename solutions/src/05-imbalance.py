# %% [markdown]
# # Exercises 05 · Imbalance
#
# Practice for [notebook 5](../notebooks/05-imbalance.ipynb): a real load balancer's split, a function
# checked against the simulator on many clusters, then picking a load balancer from the catalogue. Replace each
# `...`, then run the check cell after it; `k8s.check.hint("5.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/05-imbalance.ipynb`
# (inside `exercises/`: `k8slearn check 05-imbalance.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 5.1 · predict: behind an AWS NLB
#
# Four nodes in two zones: node-a, node-b and node-c in zone-a, node-d in zone-b; pods 1 / 1 / 2 / 1;
# `Local`. In front: an AWS NLB with instance targets (`k8s.LB_PROFILES["aws-nlb-instance"]`), cross-zone
# load balancing off as it is by default. What share does each pod get? Answer as `{pod: share}`.

# %%
c = k8s.check.cluster("5.1")
print(c)
print(k8s.LB_PROFILES["aws-nlb-instance"].description)

# %%
### BEGIN SOLUTION
answer = {"web-1": 1 / 6, "web-2": 1 / 6, "web-3": 1 / 12, "web-4": 1 / 12, "web-5": 1 / 2}
### END SOLUTION

# %%
k8s.check.zone_shares(answer)

# %% [markdown]
# ### Exercise 5.2 · compute: the per-pod share under Local
#
# Write `pod_share(pods_per_node)`: for `externalTrafficPolicy: Local` behind a health-checked load
# balancer that splits equally per healthy node, return `{node: share of ONE pod on that node}` for the
# nodes that have pods. Example input: `{"node-a": 1, "node-b": 2}`. The check tries it on many
# generated clusters against the simulator and shows the smallest one where it goes wrong.

# %%
def pod_share(pods_per_node):
    ### BEGIN SOLUTION
    healthy = sum(1 for count in pods_per_node.values() if count > 0)
    return {node: 1 / (healthy * count) for node, count in pods_per_node.items() if count > 0}
    ### END SOLUTION


answer = pod_share

# %%
k8s.check.pod_share(answer)

# %% [markdown]
# ### Exercise 5.3 · configure: a real load balancer that evens it out
#
# The uneven cluster (pods 2 / 1 / 0) with Local. Without moving pods, choose a load balancer so that
# every pod gets the same share, nothing is dropped and every pod still sees the client's IP. Answer
# with a key of the catalogue, `k8s.LB_PROFILES` (the abstract models of `k8s.LB_MODELS` count too).
# `k8s.load_balancer_table()` compares them.

# %%
k8s.load_balancer_table()[["key", "kind", "pod sees (Local)", "spread"]]

# %%
### BEGIN SOLUTION
answer = "aws-nlb-ip-preserve"
### END SOLUTION

# %%
k8s.check.lb_for_even_shares(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(5)

# %% [markdown]
# Next: [exercises 06](06-spreading-pods.ipynb).
