# %% [markdown]
# # Exercises 02 · Into the cluster
#
# Practice for [notebook 2](../notebooks/02-into-the-cluster.ipynb). Replace each `...` in an answer
# cell, then run the check cell after it; `k8s.check.hint("2.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/02-into-the-cluster.ipynb`
# (inside `exercises/`: `k8slearn check 02-into-the-cluster.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()

# %% [markdown]
# ### Exercise 2.1 · predict: the path of one connection
#
# The client 198.51.100.7 opens a connection to the LoadBalancer IP of `web`. The load balancer sends it
# to **node-c**, and kube-proxy there picks **web-1**. Which places does the request pass, in order?
# Answer as a list of names, the way `Trace.path` writes them: `"client"`, `"load balancer"`, node names,
# the pod's name.

# %%
### BEGIN SOLUTION
answer = ["client", "load balancer", "node-c", "node-a", "web-1"]
### END SOLUTION

# %%
k8s.check.trace_path(answer)

# %% [markdown]
# Now look at it (this cell works whatever you answered):

# %%
k8s.send(cluster, "web", via="node-c", endpoint="web-1", seed=1).path

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(2)

# %% [markdown]
# Next: [exercises 03](03-external-traffic-policy-cluster.ipynb).
