# %% [markdown]
# # Exercises 06 · Spreading pods
#
# Practice for [notebook 6](../notebooks/06-spreading-pods.ipynb). Replace each `...`, then run the
# check cell after it; `k8s.check.hint("6.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/06-spreading-pods.ipynb`
# (inside `exercises/`: `k8slearn check 06-spreading-pods.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 6.1 · configure: even shares by placement
#
# The uneven cluster with `externalTrafficPolicy: Local` and the usual health-checked load balancer.
# Keep Local and the 3 pods, and change only where the pods run, so that every pod gets the same share.

# %%
cluster = k8s.examples.uneven(external_traffic_policy="Local")
### BEGIN SOLUTION
cluster.move_pod("web-2", "node-c")
### END SOLUTION
answer = cluster

# %%
k8s.check.even_by_placement(answer)

# %% [markdown]
# ### Exercise 6.2 · configure: scale out evenly
#
# Start again from the uneven Local cluster. Scale `web` to 6 replicas so that every pod gets the same
# share. `cluster.scale("web", n)` places new pods like the scheduler's default spreading;
# `node=` pins them.

# %%
cluster = k8s.examples.uneven(external_traffic_policy="Local")
### BEGIN SOLUTION
cluster.scale("web", 6)
### END SOLUTION
answer = cluster

# %%
k8s.check.scale_evenly(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(6)

# %% [markdown]
# Next: [exercises 07](07-inside-the-cluster.ipynb).
