# %% [markdown]
# # Exercises 02 · Into the cluster
#
# Practice for [notebook 2](../notebooks/02-into-the-cluster.ipynb), on a layout the notebook did not
# show (a NodePort service, no load balancer), then a function that reads any trace. Replace each `...` in an answer cell, then run the check
# cell after it; `k8s.check.hint("2.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/02-into-the-cluster.ipynb`
# (inside `exercises/`: `k8slearn check 02-into-the-cluster.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

cluster = k8s.check.cluster("2.1")
print(cluster)

# %% [markdown]
# ### Exercise 2.1 · predict: the path of a NodePort connection
#
# `web` is a **NodePort** service here. The client 198.51.100.7 finds node-d's address in the DNS and
# opens a connection to node-d's NodePort, and kube-proxy there picks **web-1**. Which places does the
# request pass, in order? Answer as a list of names, the way `Trace.path` writes them: `"client"`,
# `"load balancer"` if there is one, node names, the pod's name.

# %%
### BEGIN SOLUTION
answer = ["client", "node-d", "node-b", "web-1"]
### END SOLUTION

# %%
k8s.check.trace_path(answer)

# %% [markdown]
# ### Exercise 2.2 · predict: the reply the client receives
#
# web-1 answers. When the reply reaches the client, which source address and port does it carry?
# Answer as `"address:port"`.

# %%
### BEGIN SOLUTION
answer = "192.168.0.14:30080"  # node-d's address and the NodePort the client dialled
### END SOLUTION

# %%
k8s.check.reply_source(answer)

# %% [markdown]
# Now look at both (this cell works whatever you answered): the request's places, then the reply hop
# by hop.

# %%
t = k8s.send(cluster, "web", via="node-d", endpoint="web-1", seed=1)
print(t.path)
t.to_frame()[["step", "direction", "at", "action", "after"]]

# %% [markdown]
# ### Exercise 2.3 · compute: every rewrite, from a trace
#
# A trace is data. Write `rewrites(trace)`: given what `k8s.send(...)` returns, list every hop that
# rewrote the packet (its addresses or ports), request and reply, in order, as `(place, action)` pairs
# such as `("node-d", "DNAT")`. The check runs it on traces of many generated connections (NodePort or
# load balancer, Cluster or Local) and shows the smallest one it gets wrong.

# %%
def rewrites(trace):
    ### BEGIN SOLUTION
    return [(hop.at.name, hop.action) for hop in (*trace.hops, *trace.reply) if hop.before != hop.after]
    ### END SOLUTION


answer = rewrites

# %%
k8s.check.nat_rewrites(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(2)

# %% [markdown]
# Next: [exercises 03](03-external-traffic-policy-cluster.ipynb).
