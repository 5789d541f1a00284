# %% [markdown]
# # Exercises 10 · Capstone
#
# Practice for [notebook 10](../notebooks/10-capstone.ipynb). Replace each `...`, then run the check cell
# after it; `k8s.check.hint("10.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/10-capstone.ipynb`
# (inside `exercises/`: `k8slearn check 10-capstone.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 10.1 · debug: connections time out
#
# Users report that about one connection in three to `web` times out. The clients reach the nodes by DNS
# round robin (`lb="equal"`), which you cannot change, and the app must see client IPs. Measure, find the
# cause, and fix `cluster`.

# %%
cluster = k8s.examples.empty_node()
print(k8s.traffic(cluster, "web", lb="equal").attrs)

# %%
### BEGIN SOLUTION
cluster.scale("web", 3)  # the new pod goes to node-c, the node without one
### END SOLUTION
answer = cluster

# %%
k8s.check.fix_drops(answer)

# %% [markdown]
# ### Exercise 10.2 · configure: an audit service
#
# An audit log must record every client's real IP. It runs 4 replicas of `web` on the uneven cluster's
# three nodes. Requirements: every pod sees the client IP, no connection is lost, and every pod gets within
# 10% of its fair share. Answer with a pair `(cluster, lb)`: the changed cluster and the load-balancer model.

# %%
cluster = k8s.examples.uneven()
### BEGIN SOLUTION
cluster.patch_service("web", external_traffic_policy="Local")
cluster.scale("web", 4)
answer = (cluster, "weighted")
### END SOLUTION

# %%
k8s.check.audit_service(answer)

# %% [markdown]
# ### Exercise 10.3 · predict: a pod-targeting load balancer without client-IP preservation
#
# `one_two` with `externalTrafficPolicy: Local`, but behind an L4 load balancer that targets the pods
# directly (`k8s.LoadBalancer("pod-targeting")`, like an AWS NLB with IP targets, client-IP preservation
# off). Which source IP does a pod see?

# %%
### BEGIN SOLUTION
answer = "192.168.255.10"  # the load balancer's own address
### END SOLUTION

# %%
k8s.check.proxy_lb_seen_ip(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(10)

# %% [markdown]
# That is the end of the exercises. Compare your answers with `solutions/`, and see
# all of them at once with `k8slearn progress`.
