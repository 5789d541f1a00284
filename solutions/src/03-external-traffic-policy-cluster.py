# %% [markdown]
# # Exercises 03 · externalTrafficPolicy: Cluster
#
# Practice for [notebook 3](../notebooks/03-external-traffic-policy-cluster.ipynb). Replace each `...`,
# then run the check cell after it; `k8s.check.hint("3.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/03-external-traffic-policy-cluster.ipynb`
# (inside `exercises/`: `k8slearn check 03-external-traffic-policy-cluster.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()
print(cluster)

# %% [markdown]
# ### Exercise 3.1 · predict: a local endpoint
#
# The load balancer sends a connection to **node-a**, and kube-proxy there picks **web-1**, which runs on
# node-a too. Which source IP does web-1 see? Answer as a string such as `"10.0.0.1"`.

# %%
### BEGIN SOLUTION
answer = "10.244.1.1"  # node-a's bridge address (a bridge CNI, as simulated): masqueraded although the pod is local
### END SOLUTION

# %%
k8s.check.seen_ip_local_endpoint(answer)

# %% [markdown]
# ### Exercise 3.2 · predict: a remote endpoint
#
# This time the connection enters at **node-c** and kube-proxy picks **web-3** on node-b.
# Which source IP does web-3 see?

# %%
### BEGIN SOLUTION
answer = "192.168.0.13"  # node-c's IP: the receiving node SNATs
### END SOLUTION

# %%
k8s.check.seen_ip_remote(answer)

# %% [markdown]
# ### Exercise 3.3 · compute: the chance of an extra hop
#
# Under Cluster, kube-proxy on every node picks uniformly among all ready endpoints of the Service.
# Write `extra_hop_chance(pods_per_node)`: given `{node: number of pods}`, return
# `{node: probability that a connection entering there goes on to another node}`.

# %%
def extra_hop_chance(pods_per_node):
    ### BEGIN SOLUTION
    total = sum(pods_per_node.values())
    return {node: 1 - count / total for node, count in pods_per_node.items()}
    ### END SOLUTION


answer = extra_hop_chance

# %%
k8s.check.extra_hop_chance(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(3)

# %% [markdown]
# Next: [exercises 04](04-external-traffic-policy-local.ipynb).
