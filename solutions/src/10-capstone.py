# %% [markdown]
# # Exercises 10 · Capstone
#
# Practice for [notebook 10](../notebooks/10-capstone.ipynb): a prediction, a debugging warm-up, then the
# capstone itself, your own design, graded requirement by requirement. Replace each `...`, then run the
# check cell after it; `k8s.check.hint("10.1")` gives a hint (`level=2`, `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/10-capstone.ipynb`
# (inside `exercises/`: `k8slearn check 10-capstone.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import k8slearn as k8s

# %% [markdown]
# ### Exercise 10.1 · predict: a pod-targeting load balancer without client-IP preservation
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
# ### Exercise 10.2 · debug: connections time out
#
# Users report that about one connection in three to `web` times out. The clients reach the nodes by DNS
# round robin (`lb="equal"`), which you cannot change, and the app must see client IPs. Measure, find the
# cause, and fix `cluster`.

# %%
cluster = k8s.check.cluster("10.2")
print(k8s.traffic(cluster, "web", lb="equal").attrs)

# %%
### BEGIN SOLUTION
cluster.scale("web", 3)  # the new pod goes to node-c, the node without one
### END SOLUTION
answer = cluster

# %%
k8s.check.fix_drops(answer)

# %% [markdown]
# ### Exercise 10.3 · design: the capstone
#
# The brief is in [notebook 10](../notebooks/10-capstone.ipynb): six measurable requirements, twists
# included. Write your design as data: start from the blank design below, fill in the fields (the
# next cell prints what each one means) and run the check. It builds your design in the simulator and
# grades every requirement on its own, with the evidence: a field still `...` leaves the requirements
# that need it waiting, so you can fill in one field at a time. There is more than one design that
# meets every requirement; each costs something different.

# %%
design = k8s.check.capstone_blank()
for name, meaning in k8s.capstone.FIELDS.items():
    print(f"{name:15} {meaning}")

# %%
### BEGIN SOLUTION
design.update(
    nodes=["zone-a", "zone-a", "zone-b", "zone-b"],
    replicas=4,
    spread={"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"},
    pre_stop_sleep=True,
    service={"type": "LoadBalancer", "externalTrafficPolicy": "Local",
             "loadBalancerSourceRanges": ["198.51.100.0/24", "10.244.0.0/16"]},
    load_balancer="aws-nlb-ip-preserve",
    dataplane="iptables",
    network_policy=None,
    app={"proxy_protocol": False, "trusted": ["203.0.113.0/24", "10.244.0.0/16"]},
    ingress={"externalTrafficPolicy": "Local", "load_balancer": "aws-nlb-instance", "proxy_protocol": False},
)
### END SOLUTION
answer = design

# %%
k8s.check.capstone(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(10)

# %% [markdown]
# That is the end of the exercises. Compare your answers with `solutions/`, and see
# all of them at once with `k8slearn progress`.
