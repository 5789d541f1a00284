# %% [markdown]
# # Exercises 07 · Inside the cluster
#
# Practice for [notebook 7](../notebooks/07-inside-the-cluster.ipynb). Replace each `...`, then run the
# check cell after it; `k8s.check.hint("7.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/07-inside-the-cluster.ipynb`
# (inside `exercises/`: `k8slearn check 07-inside-the-cluster.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

cluster = k8s.examples.in_cluster()
print(cluster)
print(cluster.pod("client"))

# %% [markdown]
# ### Exercise 7.1 · predict: pod to ClusterIP
#
# The pod `client` on node-c connects to the ClusterIP of `web`, and kube-proxy picks web-1 on node-a.
# Which source IP does web-1 see?

# %%
### BEGIN SOLUTION
answer = "10.244.3.5"  # the client pod's own IP
### END SOLUTION

# %%
k8s.check.in_cluster_source(answer)

# %% [markdown]
# ### Exercise 7.2 · predict: testing a Local LoadBalancer from inside
#
# Now `web` gets `externalTrafficPolicy: Local`. The pod `client` on node-c, a node without web pods,
# connects to the **LoadBalancer IP**. Which pods can receive its connection? Answer as a set of pod names
# (an empty set if it is dropped).

# %%
### BEGIN SOLUTION
answer = {"web-1", "web-2", "web-3"}
### END SOLUTION

# %%
k8s.check.in_cluster_lb_local(answer)

# %% [markdown]
# ### Exercise 7.3 · debug: the client that cannot reach web
#
# Someone set `internalTrafficPolicy: Local` on `web`, and now `client` times out. Find out why, then
# change `cluster` so that `client` reaches `web` through the ClusterIP.

# %%
cluster = k8s.examples.in_cluster()
cluster.patch_service("web", internal_traffic_policy="Local")
print(k8s.send(cluster, "web", client="client", seed=1).summary())

# %%
### BEGIN SOLUTION
cluster.patch_service("web", internal_traffic_policy="Cluster")
### END SOLUTION
answer = cluster

# %%
k8s.check.fix_internal_policy(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(7)

# %% [markdown]
# Next: [exercises 08](08-proxies-and-headers.ipynb).
