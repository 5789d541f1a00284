# %% [markdown]
# # Exercises 07 · Inside the cluster
#
# Practice for [notebook 7](../notebooks/07-inside-the-cluster.ipynb): two predictions about calls from
# pods that the notebook did not make, then a NetworkPolicy to debug. Replace each `...`, then run the
# check cell after it; `k8s.check.hint("7.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/07-inside-the-cluster.ipynb`
# (inside `exercises/`: `k8slearn check 07-inside-the-cluster.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 7.1 · predict: a pod next to web pods calls the load-balancer IP
#
# The uneven cluster with `externalTrafficPolicy: Local`, and a pod `client` on **node-a**, which runs
# web-1 and web-2. `client` connects to web's **load-balancer IP** (a GCP-style load balancer whose
# status publishes an IP). Which pods can receive its connection? Answer as a set of pod names.

# %%
print(k8s.check.cluster("7.1"))

# %%
### BEGIN SOLUTION
answer = {"web-1", "web-2", "web-3"}
### END SOLUTION

# %%
k8s.check.lb_ip_from_a_pod(answer)

# %% [markdown]
# ### Exercise 7.2 · predict: is the load balancer in the path?
#
# The in-cluster example: the pod `client` on node-c calls web's **load-balancer address**. Does its
# connection pass through the load balancer, with three different ones in front: the GCP passthrough
# NLB (`"gcp-nlb"`), an AWS NLB with instance targets (`"aws-nlb-instance"`) and cloud-provider-kind's
# Envoy (`"cloud-provider-kind"`)? Answer as a dict `{load balancer: "yes" or "no"}`.

# %%
for key in ["gcp-nlb", "aws-nlb-instance", "cloud-provider-kind"]:
    print(k8s.LB_PROFILES[key].summary())

# %%
### BEGIN SOLUTION
answer = {"gcp-nlb": "no", "aws-nlb-instance": "yes", "cloud-provider-kind": "yes"}
### END SOLUTION

# %%
k8s.check.lb_in_the_path(answer)

# %% [markdown]
# ### Exercise 7.3 · debug: the frontend times out
#
# Only the frontend (the pod `client`, label `app: client`) may call `web`, so someone added a
# NetworkPolicy. Since then `client` times out, while nothing else changed. Find out why and change
# `cluster` so that `client` reaches every web pod through the ClusterIP, and the pod `other` (label
# `app: other`) still cannot.

# %%
cluster = k8s.check.cluster("7.3")
print(cluster.network_policies)
print(k8s.send(cluster, "web", client="client", seed=1).summary())

# %%
### BEGIN SOLUTION
cluster.delete_network_policy("web-from-frontend")  # its ipBlock admitted node-a's pod range only
cluster.add_network_policy("web-from-frontend", pod_selector={"app": "web"},
                           ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}])
### END SOLUTION
answer = cluster

# %%
k8s.check.fix_network_policy(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(7)

# %% [markdown]
# Next: [exercises 08](08-proxies-and-headers.ipynb).
