# %% [markdown]
# # Exercises 01 · Pods, nodes and Services
#
# Practice for [notebook 1](../notebooks/01-pods-nodes-services.ipynb). Each exercise has an answer
# cell (replace the `...`) and a check cell right after it. A check says *Not attempted yet.*, explains
# what is probably misunderstood, or says *Right*. Stuck? `k8s.check.hint("1.1")`, then `level=2`, `level=3`.
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/01-pods-nodes-services.ipynb`
# (inside `exercises/`: `k8slearn check 01-pods-nodes-services.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()
print(cluster)

# %% [markdown]
# ### Exercise 1.1 · predict: where are the endpoints?
#
# The Service `web` selects the pods `web-1`, `web-2` and `web-3`. How many endpoints of `web` does
# each node hold? Answer as a dict `{node name: count}` (a node with none may be left out).

# %%
### BEGIN SOLUTION
answer = {"node-a": 2, "node-b": 1, "node-c": 0}
### END SOLUTION

# %%
k8s.check.endpoints_per_node(answer)

# %% [markdown]
# ### Exercise 1.2 · configure: one pod on every node
#
# Change `cluster` so that every node runs exactly one `web` pod, without adding or deleting pods.
# Pods are moved with `cluster.move_pod(pod, node)`.

# %%
cluster = k8s.examples.uneven()
### BEGIN SOLUTION
cluster.move_pod("web-2", "node-c")
### END SOLUTION
answer = cluster

# %%
k8s.check.one_pod_per_node(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(1)

# %% [markdown]
# Next: [exercises 02](02-into-the-cluster.ipynb).
