# %% [markdown]
# # Exercises 04 · externalTrafficPolicy: Local
#
# Practice for [notebook 04](../notebooks/04-external-traffic-policy-local.ipynb) and, in exercise 4.5,
# [notebook 04b](../notebooks/04b-local-in-practice.ipynb). Replace each `...`,
# then run the check cell after it; `k8s.check.hint("4.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/04-external-traffic-policy-local.ipynb`
# (inside `exercises/`: `k8slearn check 04-external-traffic-policy-local.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 4.1 · predict: the source IP under Local
#
# The uneven cluster with `externalTrafficPolicy: Local`; the load balancer sends a connection from
# 198.51.100.7 to **node-a**. Which source IP does the pod see?

# %%
print(k8s.examples.uneven(external_traffic_policy="Local").service("web"))

# %%
### BEGIN SOLUTION
answer = "198.51.100.7"
### END SOLUTION

# %%
k8s.check.seen_ip_local_policy(answer)

# %% [markdown]
# ### Exercise 4.2 · predict: what share does each pod get?
#
# `one_two`: web-1 on node-a, web-2 and web-3 on node-b, `externalTrafficPolicy: Local`, and a cloud
# load balancer that follows the health checks. What share of new connections does each pod get?
# Answer as a dict `{pod: share}` with shares such as `0.1` (fractions and percentages work too).

# %%
print(k8s.examples.one_two())

# %%
### BEGIN SOLUTION
answer = {"web-1": 0.5, "web-2": 0.25, "web-3": 0.25}
### END SOLUTION

# %%
k8s.check.local_shares(answer)

# %% [markdown]
# ### Exercise 4.3 · predict: no health checks
#
# `empty_node`: web-1 on node-a, web-2 on node-b, nothing on node-c, Local. The clients find the nodes
# by DNS round robin (`lb="equal"`), so every node gets the same share and nobody looks at health checks.
# What fraction of connections is lost?

# %%
### BEGIN SOLUTION
answer = 1 / 3
### END SOLUTION

# %%
k8s.check.dropped_share(answer)

# %% [markdown]
# ### Exercise 4.4 · predict: which health checks fail?
#
# Same `empty_node` cluster. Its Service got a `healthCheckNodePort`. Which nodes answer **503** on it?
# Answer as a set of node names.

# %%
### BEGIN SOLUTION
answer = {"node-c"}
### END SOLUTION

# %%
k8s.check.failing_health_checks(answer)

# %% [markdown]
# ### Exercise 4.5 · predict: a rolling update under Local
#
# `one_two` (Local): web-1 is node-a's only pod. A rolling update deletes web-1, so it starts
# terminating; node-a's health check turns 503 at once, but the load balancer only notices after a few
# probes and still sends connections to node-a meanwhile. Predict the outcome of such a connection
# (`"delivered"`, `"dropped"` or `"refused"`) at two moments: while web-1 is terminating but still
# serving (passing its readiness probe in its grace period), and after it has stopped serving. Answer
# as a dict `{"serving": ..., "not serving": ...}`. You can check yourself with `k8s.send(c, "web",
# via="node-a")` after `c.set_pod("web-1", terminating=True)` (and then `ready=False`).

# %%
c = k8s.examples.one_two()
c.set_pod("web-1", terminating=True)
print([(e.pod, e.node, e.ready, e.serving, e.terminating) for e in c.endpoints("web")])

# %%
### BEGIN SOLUTION
answer = {"serving": "delivered", "not serving": "dropped"}
### END SOLUTION

# %%
k8s.check.rolling_update_local(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(4)

# %% [markdown]
# Next: [exercises 05](05-imbalance.ipynb).
