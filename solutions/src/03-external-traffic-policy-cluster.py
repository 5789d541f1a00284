# %% [markdown]
# # Exercises 03 · externalTrafficPolicy: Cluster
#
# Practice for [notebook 3](../notebooks/03-external-traffic-policy-cluster.ipynb): a layout the
# notebook did not show, a function checked against the simulator on many clusters, then an access
# log to read backwards. Replace each `...`, then run the check cell after it;
# `k8s.check.hint("3.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/03-external-traffic-policy-cluster.ipynb`
# (inside `exercises/`: `k8slearn check 03-external-traffic-policy-cluster.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 3.1 · predict: a node without pods receives the connection
#
# Four nodes, pods 1 / 0 / 2 / 1, `externalTrafficPolicy: Cluster`. The load balancer sends a
# connection from 198.51.100.7 to **node-b**, which runs no web pod, and kube-proxy there picks
# **web-4**. Which source IP does web-4 see? Answer as a string such as `"10.0.0.1"`.

# %%
print(k8s.check.cluster("3.1"))

# %%
### BEGIN SOLUTION
answer = "192.168.0.12"  # node-b's IP: the receiving node SNATs
### END SOLUTION

# %%
k8s.check.seen_ip_empty_node(answer)

# %% [markdown]
# ### Exercise 3.2 · compute: the chance of an extra hop
#
# Under Cluster, kube-proxy on every node picks uniformly among all ready endpoints of the Service.
# Write `extra_hop_chance(pods_per_node)`: given `{node: number of pods}`, return
# `{node: probability that a connection entering there goes on to another node}`. The check runs
# your function on many generated clusters and compares it with the simulator; if it goes wrong, it
# shows the smallest cluster where it does.

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
# ### Exercise 3.3 · forensics: read an access log backwards
#
# The pods of the uneven cluster (`Cluster`, kube-proxy in iptables mode) log the source address of
# each connection. Here are six lines from their logs. For each line, which node did the load
# balancer send that connection to? Answer as a list of six node names, in the order of the lines.

# %%
print(k8s.check.cluster("3.3"))
k8s.check.data("3.3")

# %%
### BEGIN SOLUTION
answer = ["node-c", "node-a", "node-b", "node-b", "node-a", "node-c"]
### END SOLUTION

# %%
k8s.check.entry_nodes_from_log(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(3)

# %% [markdown]
# Next: [exercises 04](04-external-traffic-policy-local.ipynb).
