# %% [markdown]
# # Exercises 04 · externalTrafficPolicy: Local
#
# Practice for [notebook 04](../notebooks/04-external-traffic-policy-local.ipynb) and, in exercise 4.4,
# [notebook 04b](../notebooks/04b-local-in-practice.ipynb): predictions on layouts the notebooks did not
# show, then a Service to write in YAML. Replace each `...`, then run the check cell after it;
# `k8s.check.hint("4.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/04-external-traffic-policy-local.ipynb`
# (inside `exercises/`: `k8slearn check 04-external-traffic-policy-local.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 4.1 · predict: NodePort + Local, no load balancer
#
# `web` is a **NodePort** service with `externalTrafficPolicy: Local` on four nodes, pods 2 / 0 / 1 / 0.
# There is no load balancer: clients find the nodes by DNS round robin, each name resolving to every
# node's address. What happens to a connection sent to each node's NodePort: `"delivered"`,
# `"dropped"` or `"refused"`? Answer as a dict `{node: outcome}`.

# %%
print(k8s.check.cluster("4.1"))

# %%
### BEGIN SOLUTION
answer = {"node-a": "delivered", "node-b": "dropped", "node-c": "delivered", "node-d": "dropped"}
### END SOLUTION

# %%
k8s.check.outcomes_per_node(answer)

# %% [markdown]
# ### Exercise 4.2 · predict: what share does each pod get?
#
# Four nodes, pods 3 / 1 / 0 / 2, `externalTrafficPolicy: Local`, and a cloud load balancer that follows
# the health checks. What share of new connections does each pod get? Answer as a dict `{pod: share}`
# with shares such as `0.1` (fractions and percentages work too).

# %%
print(k8s.check.cluster("4.2"))

# %%
### BEGIN SOLUTION
answer = {"web-1": 1 / 9, "web-2": 1 / 9, "web-3": 1 / 9, "web-4": 1 / 3, "web-5": 1 / 6, "web-6": 1 / 6}
### END SOLUTION

# %%
k8s.check.ready_shares(answer)

# %% [markdown]
# ### Exercise 4.3 · predict: which health checks answer 503?
#
# `Local`, type LoadBalancer, one pod on each of node-a, node-b and node-c, none on node-d. But web-2
# fails its readiness probe, and web-3 is terminating (a rolling update deleted it; it still serves
# in its grace period). Which nodes answer **503** on the Service's `healthCheckNodePort`? Answer as a
# set of node names.

# %%
c = k8s.check.cluster("4.3")
print([(p.name, p.node, p.status) for p in c.pods])

# %%
### BEGIN SOLUTION
answer = {"node-b", "node-c", "node-d"}
### END SOLUTION

# %%
k8s.check.failing_health_checks(answer)

# %% [markdown]
# ### Exercise 4.4 · predict: a rolling update under Local
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
# ### Exercise 4.5 · YAML: keep the client IP behind a load balancer
#
# The pods of the uneven cluster (2 / 1 / 0, label `app: web`, listening on 8080) have lost their
# Service. Write it in YAML: a Service named `web` on port 80 such that a cloud load balancer in
# front of the cluster lets every pod see the client's real address, and can tell which nodes have
# no pod. The check reads it the way the API server would, adds it to the cluster and measures what
# a health-checked load balancer gets.

# %%
print(k8s.check.cluster("4.5"))

# %%
### BEGIN SOLUTION
answer = """
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
"""
### END SOLUTION

# %%
k8s.check.local_service_yaml(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(4)

# %% [markdown]
# Next: [exercises 05](05-imbalance.ipynb).
