# %% [markdown] slide="slide"
# # 04b · externalTrafficPolicy: Local in practice
#
# [Notebook 04](04-external-traffic-policy-local.ipynb) showed what `Local` does: the client IP
# survives, nodes without endpoints drop, and the health-check port steers the load balancer around
# them. This notebook takes `Local` into practice: which services may use it, how (not) to test it,
# and what happens while pods are replaced.
#
# **Learning objectives**
# - Recognise the validation error for `Local` on a ClusterIP service, and know which services are
#   externally accessible since 1.29.
# - Explain why testing a `Local` service from inside the cluster does not show what external
#   clients get.
# - Explain what happens to `Local` traffic while pods terminate during a rolling update.
#
# **Prerequisites**: [notebook 04](04-external-traffic-policy-local.ipynb) (`Local`, the silent drop,
# the health-check port). Words you may want to look up: [glossary](../docs/glossary.md).
#
# **Time**: about 15 minutes (all of it going further)

# %%
import k8slearn as k8s

c = k8s.examples.uneven(external_traffic_policy="Local")
print(c)

# %% [markdown] slide="slide" tags=["article-correction", "going-further"]
# ## 1. Local is only for externally accessible services
# *Going further · 4 minutes*
#
# `externalTrafficPolicy` is about traffic from outside the cluster, so on a service that cannot
# receive any the API server refuses the field whatever its value: `Local`, and `Cluster` too (the
# error Helm charts that always set the field run into). Try both on a plain ClusterIP service:

# %% tags=["nbval-check-output"]
for policy in ["Local", "Cluster"]:
    try:
        c.add_service("db", selector={"app": "web"}, external_traffic_policy=policy)
    except k8s.K8sLearnError as err:
        print(str(err).splitlines()[0])

# %% [markdown]
# That is the message since 1.29; [notebook 1](01-pods-nodes-services.ipynb) told its history, and
# that since 1.29 a ClusterIP service with `externalIPs` accepts `Local` too.[1]

# %% tags=["nbval-check-output"]
db = c.add_service("db", selector={"app": "web"}, external_ips=[c.external_ip_for("db")],
                   external_traffic_policy="Local")
print(db)
print("externalIPs:", [str(a) for a in db.external_ips])

# %% [markdown] slide="slide" tags=["misconception-5", "going-further"]
# ## 2. Testing from inside the cluster misleads
# *Going further · 6 minutes*
#
# A natural test: start a pod, `curl` the load-balancer IP, look at the logs. For a `Local` service this
# test shows something external clients never get. kube-proxy treats in-cluster traffic to a service's
# external address as if it had gone out to the load balancer and come back, and sends it to **all**
# endpoints, not just local ones.[2] Take the uneven cluster with a client pod on node-c, the node with
# no `web` pods:

# %%
ic = k8s.examples.in_cluster()
ic.patch_service("web", external_traffic_policy="Local")
from_pod = k8s.send(ic, "web", client="client", address="loadBalancerIP", seed=1)
from_pod

# %% tags=["nbval-check-output"]
print(from_pod.outcome, "at", from_pod.pod, "on", from_pod.pod_node, "- sees", from_pod.source_seen_by_pod)
print(from_pod.reason)

# %% [markdown]
# The pod's connection to the load-balancer IP was delivered, to a pod on another node, from node-c,
# where an external client's connection would have been dropped. The node itself (a `curl` on the
# node, or a host-network pod) gets the same short-circuit **and** is masqueraded:

# %% tags=["nbval-check-output"]
from_node = k8s.send(ic, "web", client="node-c", address="loadBalancerIP", seed=1)
print(from_node.outcome, "at", from_node.pod, "- sees", from_node.source_seen_by_pod)
print(from_node.reason)

# %% [markdown]
# Neither is what an external client gets at node-c: a silent drop. (kube-proxy's IPVS mode misleads
# differently again: [notebook 9](09-dataplanes-compared.ipynb).) To learn what external clients get,
# test from outside the cluster, through the load balancer. [Notebook 7](07-inside-the-cluster.ipynb)
# has more on traffic from inside.

# %% [markdown] slide="slide" tags=["misconception-8", "going-further"]
# ## 3. Local during a rolling update
# *Going further · 5 minutes*
#
# "`Local` is safe for rolling updates" is only true since Kubernetes handled terminating endpoints,
# and only with care. When a pod is deleted it becomes **terminating**: its endpoint stays in the
# EndpointSlice with `serving` (still passing readiness) and `terminating` true, and `ready` false.
# Take `one_two()` (web-1 alone on node-a) and start deleting web-1:

# %%
r = k8s.examples.one_two()
r.set_pod("web-1", terminating=True)
print([(x.pod, x.ready, x.serving, x.terminating) for x in r.endpoints("web")])

# %% [markdown] tags=["predict"]
# ### Predict 4b.1
#
# node-a's only endpoint is terminating. What happens to a connection the load balancer still sends
# to node-a before it notices: `"delivered"`, `"refused"` or `"dropped"`? And what does node-a's health
# check answer now?

# %% tags=["guess"]
k8s.predict("4b.1", ...)

# %% tags=["reveal"]
late = k8s.send(r, "web", via="node-a", seed=1)
k8s.reveal("4b.1", late.outcome)

# %% tags=["nbval-check-output"]
print(k8s.health_check(r, "web", "node-a"))
print(late.outcome, "at", late.pod)

# %% [markdown]
# The health check says 503 at once (terminating endpoints are not counted), so the load balancer
# drains node-a after its next few probes. Connections that arrive in the meantime still reach web-1,
# because kube-proxy uses a node's **serving-terminating** endpoints when it has no ready ones, instead
# of dropping the traffic.[3] This arrived as the `ProxyTerminatingEndpoints` feature gate: alpha in
# 1.22 (off by default), beta and on by default in 1.26, GA in 1.28. On clusters before 1.26 (or
# 1.22-1.25 without the gate) those connections were dropped. Once web-1 stops serving, they are
# dropped again:

# %% tags=["nbval-check-output"]
r.set_pod("web-1", ready=False)
print(k8s.send(r, "web", via="node-a", seed=1).outcome)

# %% [markdown]
# The care this needs: the pod must keep serving while it terminates (a `preStop` delay, and a
# `terminationGracePeriodSeconds` longer than it), and that time must cover the load balancer's probe
# interval times its unhealthy threshold, so the load balancer has stopped sending before the pod
# stops answering. With `Cluster` the same endpoints are used only when no ready endpoint exists
# anywhere in the cluster.

# %% tags=["self-check"]
# Self-check 4b.s1: node-b still has two ready pods. What share does each pod get now, from a
# health-checked load balancer?
answer = ...  # a dict {pod: share}, such as {"web-1": 0.5, "web-2": 0.25, "web-3": 0.25}
k8s.self_check("4b.s1", answer)

# %% [markdown] slide="slide"
# ## Key points
#
# - `externalTrafficPolicy` (any value) needs an externally accessible service; since 1.29 that
#   includes ClusterIP with `externalIPs`.
# - In-cluster tests of a `Local` service's external address are short-circuited to all endpoints
#   (and masqueraded from a node): they do not show what external clients get.
# - Since 1.26 (on by default; GA 1.28) a node whose pods are all terminating keeps serving through
#   them instead of dropping;
#   rolling updates still need a graceful shutdown longer than the load balancer's detection time.
#
# **Sources.** [1] kubernetes/kubernetes `pkg/apis/core/validation/validation.go`,
# `validateServiceExternalTrafficPolicy`; `pkg/api/service/util.go` (`ExternallyAccessible`).
# [2] kubernetes/kubernetes `pkg/proxy/iptables/proxier.go`, `syncProxyRules` (the short-circuit for
# pod and node sources); tests `TestExternalTrafficPolicyLocal` in `proxier_test.go`.
# kubernetes/website `content/en/docs/reference/networking/virtual-ips.md`.
# [3] kubernetes/kubernetes `pkg/proxy/topology.go` (`CategorizeEndpoints`: serving-terminating
# fallback); KEP-1669 "Proxy terminating endpoints"; kubernetes/website
# `content/en/docs/tutorials/services/source-ip.md`; the feature-gate stages of
# `ProxyTerminatingEndpoints`: kubernetes/website `content/en/docs/reference/command-line-tools-reference/feature-gates/`.
#
# Terms: [glossary](../docs/glossary.md); the policy matrix: [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("04b")

# %% [markdown]
# ## What's next
#
# [Notebook 05 · Imbalance](05-imbalance.ipynb): under `Local` the load balancer splits traffic per
# node, not per pod. Move pods around and watch some get twice the load of others, then meet the load
# balancers that fix it.
