# %% [markdown]
# # Exercises 01 · Pods, nodes and Services
#
# Practice for [notebook 1](../notebooks/01-pods-nodes-services.ipynb): predict on a cluster the notebook
# did not show, write a Service in YAML, then debug one. Each exercise has an answer cell (replace the
# `...`) and a check cell right after it. A check says *Not attempted yet.*, explains what is probably
# misunderstood, or says *Right*. Stuck? `k8s.check.hint("1.1")`, then `level=2`, `level=3`.
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/01-pods-nodes-services.ipynb`
# (inside `exercises/`: `k8slearn check 01-pods-nodes-services.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 1.1 · predict: ready endpoints
#
# A cluster you have not seen: four nodes, and two pods in trouble. `web-2` fails its readiness probe;
# `web-4` is being deleted (terminating, still inside its grace period). How many **ready** endpoints of
# `web` does each node hold, the ones kube-proxy sends new connections to? Answer as a dict
# `{node name: count}` (a node with none may be left out). Predict first, then look at
# `c.endpoints("web")`.

# %%
c = k8s.check.cluster("1.1")
print(c)
print([(p.name, p.node, p.status) for p in c.pods])

# %%
### BEGIN SOLUTION
answer = {"node-a": 1, "node-b": 1, "node-c": 0, "node-d": 0}
### END SOLUTION

# %%
k8s.check.ready_endpoints(answer)

# %% [markdown]
# ### Exercise 1.2 · YAML: a Service only pods can reach
#
# The cluster below runs two database pods (`db-1`, `db-2`) that listen on port 5432. Write, in YAML, a
# Service named `db` that sends to them on port 5432 and that **only clients inside the cluster** can
# reach. The check reads it the way the API server would (a misspelt field or a rule it breaks is
# refused in its words), adds it to the cluster and sends a connection from the pod `client`.

# %%
db_cluster = k8s.check.cluster("1.2")
print(db_cluster)
print({p.name: dict(p.labels) for p in db_cluster.pods})

# %%
### BEGIN SOLUTION
answer = """
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  selector:
    app: db
  ports:
  - port: 5432
    targetPort: 5432
"""
### END SOLUTION

# %%
k8s.check.db_service_yaml(answer)

# %% [markdown]
# ### Exercise 1.3 · debug: every connection refused
#
# After a refactoring of the team's manifests, every connection to `web` is refused, although all three
# pods run and are ready. Find out why (`k8s.send`, `cluster.endpoints("web")`, the pods' labels) and
# change `cluster` so that web-1, web-2 and web-3 serve again, without adding or deleting pods.

# %%
cluster = k8s.check.cluster("1.3")
print(k8s.send(cluster, "web", seed=1).summary())

# %%
### BEGIN SOLUTION
cluster.patch_service("web", selector={"app": "web"})  # the refactoring added a label no pod carries
### END SOLUTION
answer = cluster

# %%
k8s.check.fix_selector(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(1)

# %% [markdown]
# Next: [exercises 02](02-into-the-cluster.ipynb).
