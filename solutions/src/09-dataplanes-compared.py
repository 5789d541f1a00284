# %% [markdown]
# # Exercises 09 · Dataplanes compared
#
# Practice for [notebook 9](../notebooks/09-dataplanes-compared.ipynb): two predictions, then an access
# log from which to work out the policy, the dataplane and where each connection entered. Replace each
# `...`, then run the check cell after it; `k8s.check.hint("9.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/09-dataplanes-compared.ipynb`
# (inside `exercises/`: `k8slearn check 09-dataplanes-compared.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()
print(k8s.DATAPLANES)

# %% [markdown]
# ### Exercise 9.1 · predict: Cilium's SNAT mode, local backend
#
# `externalTrafficPolicy: Cluster`. The connection enters at node-a and the backend is web-1, on node-a.
# The dataplane is Cilium's kube-proxy replacement in SNAT mode (`dataplane="cilium-snat"`).
# Which source IP does web-1 see?

# %%
### BEGIN SOLUTION
answer = "198.51.100.7"
### END SOLUTION

# %%
k8s.check.cilium_snat_local(answer)

# %% [markdown]
# ### Exercise 9.2 · predict: which dataplanes keep the client IP?
#
# Still Cluster; the connection enters at node-c and the backend is web-3 on node-b. With which of the
# dataplanes in `k8s.DATAPLANES` is the connection delivered **and** web-3 sees the client's IP?
# Answer as a set of names.

# %%
### BEGIN SOLUTION
answer = {"cilium-dsr"}
### END SOLUTION

# %%
k8s.check.dataplanes_keep_ip(answer)

# %% [markdown]
# ### Exercise 9.3 · forensics: policy, dataplane and entry nodes from a log
#
# A cluster laid out like the uneven one, one external client (198.51.100.7), one of the dataplanes of
# `k8s.DATAPLANES`, and a policy you do not know. Five lines of the pods' logs: which pod answered, and
# the source address it logged. Work out the Service's `externalTrafficPolicy`, the dataplane, and for
# each line the node the load balancer sent it to. Answer as
# `{"policy": ..., "dataplane": ..., "entry_nodes": [five node names]}`.

# %%
print(cluster)
k8s.check.data("9.3")

# %%
### BEGIN SOLUTION
answer = {"policy": "Cluster", "dataplane": "cilium-snat",
          "entry_nodes": ["node-a", "node-c", "node-b", "node-c", "node-b"]}
### END SOLUTION

# %%
k8s.check.dataplane_forensics(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(9)

# %% [markdown]
# Next: [exercises 10](10-capstone.ipynb).
