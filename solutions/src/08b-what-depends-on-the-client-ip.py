# %% [markdown]
# # Exercises 08b · What depends on the client IP
#
# Practice for [notebook 08b](../notebooks/08b-what-depends-on-the-client-ip.ipynb). Replace each `...`,
# then run the check cell after it; `k8s.check.hint("8b.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/08b-what-depends-on-the-client-ip.ipynb`
# (inside `exercises/`: `k8slearn check 08b-what-depends-on-the-client-ip.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

print(k8s.examples.uneven())
print("bridge addresses:", [str(n.bridge_ip) for n in k8s.examples.uneven().nodes])

# %% [markdown]
# ### Exercise 8b.1 · debug: who wrote these logs?
#
# Four teams run the `uneven()` cluster above, each behind a different load balancer from the catalogue
# (`k8s.LB_PROFILES`) and with `externalTrafficPolicy` `Cluster` or `Local`. Here are six lines of each
# team's access log: the pod, its TCP peer, the PROXY protocol header it read (if any) and the
# `X-Forwarded-For` it received. For each excerpt, say which load balancer and policy are in front, as a
# dict `{"A": ("gcp-nlb", "Cluster"), ...}`. Where several set-ups write the same lines, any of them is
# right. `k8s.load_balancer_table()` and `k8s.send(..., lb=...)` let you test a guess.

# %%
for name, lines in k8s.check.access_logs().items():
    print(f"--- excerpt {name}")
    print("\n".join(lines))

# %%
### BEGIN SOLUTION
answer = {
    "A": ("aws-alb", "Cluster"),           # node and bridge peers (kube-proxy's SNAT), the client in X-Forwarded-For
    "B": ("aws-elb-proxy-v1", "Local"),    # one peer that is no node's (a proxy), the client in a PROXY v1 header
    "C": ("gcp-nlb", "Local"),             # the clients' own addresses: pass-through and Local
    "D": ("aws-elb", "Local"),             # one proxy address and no header: the client is lost
}
### END SOLUTION

# %%
k8s.check.log_forensics(answer)

# %% [markdown]
# ### Exercise 8b.2 · configure: an ingress that logs node IPs
#
# An ingress controller (pods `ingress-1`, `ingress-2`) runs behind its own NodePort Service, `ingress`,
# and forwards to the app `web`. Clients find it by DNS round robin over the three node IPs (no load
# balancer, no health checks: `lb="equal"`). The ingress logs node IPs, and appends them to the
# `X-Forwarded-For` the app reads. Change `cluster` so that the ingress sees every client's own address
# and no connection is lost. Keep the three nodes.

# %%
cluster = k8s.check.ingress_cluster()
print(cluster)
print(k8s.send(cluster, "ingress", via="node-c", seed=1).summary())

# %%
### BEGIN SOLUTION
cluster.patch_service("ingress", external_traffic_policy="Local")
cluster.scale("ingress", 3, node="node-c")  # an ingress pod on every node, as a DaemonSet would run it
### END SOLUTION
answer = cluster

# %%
k8s.check.fix_ingress_logs(answer)

# %% [markdown]
# ### Exercise 8b.3 · debug: the allow-list that lets nobody in
#
# On bare metal, `web` sits behind MetalLB in L2 mode (`lb="metallb-l2"`). To admit only the partner
# network 198.51.100.0/24, the team added a NetworkPolicy with an `ipBlock`. Since then no partner gets
# through. Find out why (send a partner's connection and read the trace), then change `cluster` so that
# partners get every connection through and clients outside 198.51.100.0/24 get none.

# %%
cluster = k8s.check.allow_list_cluster()
print(cluster.network_policies)
print(k8s.metrics(cluster, "web", lb="metallb-l2")[["scope", "received", "delivered", "dropped"]])

# %%
### BEGIN SOLUTION
# MetalLB announces from node-c, which runs no web pod: under Cluster every connection is SNATed by
# node-c, so the policy sees 192.168.0.13, never the partner. With Local, MetalLB announces from a node
# that has pods, there is no SNAT, and the ipBlock sees the partner.
cluster.patch_service("web", external_traffic_policy="Local")
### END SOLUTION
answer = cluster

# %%
k8s.check.fix_allow_list(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary("8b")

# %% [markdown]
# Next: [exercises 09](09-dataplanes-compared.ipynb).
