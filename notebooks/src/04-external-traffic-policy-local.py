# %% [markdown] slide="slide"
# # 04 · externalTrafficPolicy: Local
#
# [Notebook 3](03-external-traffic-policy-cluster.ipynb) ended with a price: under `Cluster`, every
# external connection is masqueraded, so pods never see who called them. `externalTrafficPolicy:
# Local` removes that price, and charges a different one. This notebook shows both.
#
# **Learning objectives**
# - Show that under `Local` the pod sees the real client IP and no connection takes a second node hop.
# - Predict what happens to a connection that reaches a node without a local endpoint (a silent
#   drop), and how that differs from a service with no endpoints at all (connection refused).
# - Read the health check kube-proxy answers on `healthCheckNodePort`, and explain why a 503 there is
#   the designed signal, not an outage.
# - Recognise the validation error for `Local` on a ClusterIP service, and know why testing from
#   inside the cluster does not show what external clients get.
# - Explain what happens to `Local` traffic while pods terminate during a rolling update.
#
# **Prerequisites**: [notebook 2](02-into-the-cluster.ipynb) (DNAT and the `KUBE-*` chains) and
# [notebook 3](03-external-traffic-policy-cluster.ipynb) (`Cluster`, SNAT, the extra hop).
# Words you may want to look up: [glossary](../docs/glossary.md).
#
# **Time**: about 30 minutes

# %%
import k8slearn as k8s

c = k8s.examples.uneven(external_traffic_policy="Local")
print(c)

# %% [markdown]
# The same cluster as in notebook 3 (pods 2 / 1 / 0) with one field changed: the `web` service now
# has `externalTrafficPolicy: Local`. Because it is a LoadBalancer service, the API server also
# allocated a `healthCheckNodePort` for it (more on that in section 3).

# %% tags=["nbval-check-output"]
web = c.service("web")
print(web.external_traffic_policy, web.health_check_node_port)

# %% [markdown] slide="slide"
# ## 1. The client IP survives, and there is no extra hop

# %% [markdown] tags=["predict"]
# **Before you run the next cell:** a client at 198.51.100.7 connects through the load balancer,
# which hands the connection to node-b. web-3 answers. Which source address does web-3 see: the
# client's, node-b's (192.168.0.12), or node-b's bridge address (10.244.2.1)?

# %%
t = k8s.send(c, "web", via="node-b", seed=1)
t

# %% tags=["nbval-check-output"]
print("web-3 sees:     ", t.source_seen_by_pod)
print("client IP kept: ", t.client_ip_kept)
print("extra hop:      ", t.extra_hop)
print("path:           ", t.path)

# %% [markdown]
# Only a DNAT happened (load-balancer IP to web-3's pod IP); no SNAT. kube-proxy sends the packet from
# `KUBE-EXT-<hash>` to `KUBE-SVL-<hash>`, a chain that lists **only this node's endpoints**
# (`KUBE-XLB-<hash>` before 1.24).[1] The pod is on the node that received the packet, so the reply
# goes back through the same node, conntrack undoes the DNAT, and the client gets a well-formed reply
# without any masquerade. Notebook 3's reason for the SNAT is gone because the second hop is gone.

# %%
k8s.draw(t)

# %% [markdown]
# Across all connections, with a load balancer that health-checks the nodes (the usual cloud L4 load
# balancer):

# %% tags=["nbval-check-output"]
print(k8s.metrics(c, "web").round(3).to_string())

# %% [markdown]
# Every delivered connection keeps the client IP (`client_ip_kept` 1.0) and none takes an extra hop.
# Nothing is dropped, and node-c received nothing at all. Why node-c gets nothing is the subject of
# the next two sections. (Cilium's kube-proxy replacement behaves the same for `Local`: only local
# backends, no SNAT. [Notebook 9](09-dataplanes-compared.ipynb) compares the dataplanes.)

# %% [markdown] tags=["self-check"]
# **Self-check.** Under `Local`, why can kube-proxy skip the SNAT that `Cluster` needs?
#
# <details><summary>Answer</summary>
#
# The SNAT under `Cluster` exists so that a reply from a pod on *another* node comes back through the
# node that did the DNAT (and holds the conntrack entry). Under `Local` the pod is always on the node
# that did the DNAT, so the reply passes through it anyway.
# </details>

# %% [markdown] slide="slide" tags=["misconception-1"]
# ## 2. A node without endpoints drops the traffic, silently
#
# A common belief: "`Local` only changes which IP the pod sees; the service still works on every
# node." It does not. On a node with no local endpoint, `KUBE-EXT-<hash>` has no `KUBE-SVL` chain to
# jump to for external traffic, so the packet falls through un-NATed and a filter rule drops it. To see it, use a load balancer that does **not** health-check
# the nodes (`lb="equal"`: think DNS round robin over all node IPs, or a load balancer that ignores the
# health-check port) on the `empty_node()` cluster: pods 1 / 1 / 0.

# %% [markdown] tags=["predict"]
# **Before you run the next cell:** the load balancer sends a connection to node-c, which runs no
# `web` pod. Under `Cluster`, node-c would forward it to web-1 or web-2. Under `Local`, what will the
# client experience: a reply, "connection refused", or nothing at all?

# %%
e = k8s.examples.empty_node()
drop = k8s.send(e, "web", via="node-c", lb="equal", seed=1)
drop

# %% tags=["nbval-check-output"]
print(drop.outcome)
print(drop.reason)
print(drop.hops[-1].rule)

# %% [markdown]
# The rule sits in the filter table's `KUBE-EXTERNAL-SERVICES` chain, with the comment
# `"default/web has no local endpoints"`, and its target is `DROP`: no TCP reset, no ICMP error. The
# client retransmits its SYN a few times and then times out, which looks like a network problem, not
# like a Kubernetes setting.[1]

# %%
k8s.draw(drop)

# %% [markdown]
# With a load balancer that spreads equally over all three nodes, a third of all connections die this
# way:

# %% tags=["nbval-check-output"]
equal = k8s.traffic(e, "web", lb="equal")
print(equal.round(3).to_string())
print("dropped:", round(equal.attrs["dropped"], 3))

# %%
k8s.draw(equal, metrics=k8s.metrics(e, "web", lb="equal"))

# %% [markdown] slide="subslide"
# ### Dropped is not refused
#
# Compare a service with **no** ready endpoints anywhere. Scale `web` to zero and send the same
# connection to node-a:

# %% tags=["nbval-check-output"]
none = k8s.examples.empty_node()
none.scale("web", 0)
refused = k8s.send(none, "web", via="node-a", seed=1)
print(refused.outcome)
print(refused.hops[-1].rule)

# %% [markdown]
# With no endpoints at all kube-proxy writes a `REJECT` rule instead, so the client hears "connection
# refused" at once. The silent `DROP` is specific to `Local` on a node that has no endpoint while other
# nodes do: kube-proxy keeps it silent because the load balancer is expected to stop sending there.

# %% [markdown] tags=["self-check"]
# **Self-check.** A user reports "about a third of my requests hang until they time out, the rest are
# fine". The service is `Local`, the cluster has three nodes, and clients reach the nodes by DNS round
# robin. What is the most likely cause?
#
# <details><summary>Answer</summary>
#
# One of the three nodes runs no ready pod of the service, so its kube-proxy drops the external
# traffic it receives (no reply, hence the time-outs). DNS round robin does no health checks, so a
# third of the clients keep going to that node.
# </details>

# %% [markdown] slide="slide"
# ## 3. The health-check port
#
# A cloud load balancer avoids those drops by asking each node whether it has endpoints. For a
# LoadBalancer service with `Local`, the API server allocates a `healthCheckNodePort` (from the
# NodePort range, 30000-32767 by default), and kube-proxy on every node answers HTTP on it.[2]

# %% tags=["nbval-check-output"]
print(k8s.by_node(e, "web").to_string())

# %% [markdown]
# Node-a and node-b answer 200; node-c answers 503. A load balancer that probes this port sends
# nothing to node-c (`lb_share` 0.0): the drop of section 2 never happens. Here is the whole answer
# from node-c:

# %% tags=["nbval-check-output"]
hc = k8s.health_check(e, "web", "node-c")
print(hc.status)
print(dict(hc.body["service"]), {k: v for k, v in hc.body.items() if k != "service"})
print("X-Load-Balancing-Endpoint-Weight:", hc.headers["X-Load-Balancing-Endpoint-Weight"])

# %% [markdown]
# The JSON body names the service, counts `localEndpoints` (ready endpoints on this node; terminating
# ones are not counted) and says whether kube-proxy itself is healthy. Since 1.28 the header
# `X-Load-Balancing-Endpoint-Weight` repeats the count, so a load balancer can weight nodes by it
# ([notebook 5](05-imbalance.ipynb) uses that).

# %% [markdown] tags=["misconception-3"]
# ### A 503 here is by design
#
# Seeing 503 from a health check, people open an incident: "my app is down on node-c". It is not.
# Node-c runs no `web` pod, and the 503 is how kube-proxy tells the load balancer "do not send me
# traffic for this service". Status 200 means "at least one ready local endpoint (one that passes its
# readiness probe and is not terminating), and kube-proxy itself is healthy"; otherwise 503.[2] The
# readiness probe *is* the app's health signal here, so a 503 does say something: "no ready pod of this
# service on this node". That is the normal, healthy state for a `Local` service on a cluster with
# more nodes than pods. Take three nodes with one pod each and add a
# fourth node:

# %% tags=["nbval-check-output"]
grown = k8s.examples.balanced(3, external_traffic_policy="Local")
grown.add_node("node-d")
print(k8s.by_node(grown, "web")[["node", "pods", "health_check"]].to_string())

# %% [markdown]
# Adding node-d (no pods yet) changes nothing for the clients: it answers 503 and gets no traffic.
# With `Cluster`, load balancers probe kube-proxy's own `:10256/healthz` instead, which fails only when
# kube-proxy is unhealthy or the node is being deleted.

# %% [markdown] slide="subslide"
# ### NodePort + Local has no health-check port
#
# The port is allocated **only** for type LoadBalancer with `Local`. A NodePort service with `Local`
# gets none: whatever spreads clients over the nodes must find out by itself which nodes have pods.

# %% tags=["nbval-check-output"]
np_local = k8s.Cluster.from_layout([1, 1, 0], type="NodePort", external_traffic_policy="Local")
print(np_local.service("web"))
print("healthCheckNodePort:", np_local.service("web").health_check_node_port)

# %% [markdown] slide="slide" tags=["article-correction"]
# ## 4. Local is only for externally accessible services
#
# `externalTrafficPolicy` is about traffic from outside the cluster, so the API server rejects `Local`
# on a service that cannot receive any. Try it on a plain ClusterIP service:

# %% tags=["nbval-check-output"]
try:
    c.add_service("db", selector={"app": "web"}, external_traffic_policy="Local")
except k8s.K8sLearnError as err:
    print(err)

# %% [markdown]
# **The source article quotes an older message** ("ExternalTrafficPolicy can only be set on NodePort
# and LoadBalancer service", the text up to about 1.23). From 1.24 to 1.28 it read "may only be set when
# `type` is 'NodePort' or 'LoadBalancer'". Since 1.29 it is the message above, and the rule itself
# changed: a **ClusterIP service with `externalIPs`** is externally accessible and accepts `Local`.[3]

# %% tags=["nbval-check-output"]
db = c.add_service("db", selector={"app": "web"}, external_ips=[c.external_ip_for("db")],
                   external_traffic_policy="Local")
print(db)
print("externalIPs:", [str(a) for a in db.external_ips])

# %% [markdown] slide="slide" tags=["misconception-5"]
# ## 5. Testing from inside the cluster misleads
#
# A natural test: start a pod, `curl` the load-balancer IP, look at the logs. For a `Local` service this
# test shows something external clients never get. kube-proxy treats in-cluster traffic to a service's
# external address as if it had gone out to the load balancer and come back, and sends it to **all**
# endpoints, not just local ones.[1] Take the uneven cluster with a client pod on node-c, the node with
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
# IPVS mode has no short-circuit at all. Its virtual server for a `Local` service lists the node's own
# endpoints as real servers, for every source; a node with none (node-c) falls back to **all**
# endpoints, still without SNAT (kubernetes/kubernetes#97081).[5] So the pod's test gets through
# here too, while from the node itself the connection is black-holed (kubernetes/kubernetes#93456).
# Four set-ups, three different answers, and none of them is what an external client gets (dropped
# under iptables; under IPVS, a reply from the pod's own address that the client discards):

# %% tags=["nbval-check-output"]
for client in ["client", "node-c"]:
    for dp in ["iptables", "ipvs"]:
        r = k8s.send(ic, "web", client=client, address="loadBalancerIP", dataplane=dp, seed=1)
        print(f"{client:7} {dp:9} {r.outcome:10} pod sees {r.source_seen_by_pod}")

# %% [markdown]
# To learn what external clients get, test from outside the cluster, through the load balancer.
# [Notebook 7](07-inside-the-cluster.ipynb) has more on traffic from inside.

# %% [markdown] slide="slide" tags=["misconception-8"]
# ## 6. Local during a rolling update
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
# **Before you run the next cell:** node-a's only endpoint is terminating. What does node-a's health
# check answer now, and what happens to a connection the load balancer still sends to node-a before
# it notices?

# %% tags=["nbval-check-output"]
print(k8s.health_check(r, "web", "node-a"))
late = k8s.send(r, "web", via="node-a", seed=1)
print(late.outcome, "at", late.pod)

# %% [markdown]
# The health check says 503 at once (terminating endpoints are not counted), so the load balancer
# drains node-a after its next few probes. Connections that arrive in the meantime still reach web-1,
# because kube-proxy uses a node's **serving-terminating** endpoints when it has no ready ones, instead
# of dropping the traffic.[4] This arrived as the `ProxyTerminatingEndpoints` feature gate: alpha in
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
# Self-check: node-b still has two ready pods. Fill in the share each pod gets now (health-checked LB).
shares = {row.pod: float(row.share) for row in k8s.traffic(r, "web").itertuples()}
assert shares == {"web-1": 0.0, "web-2": 0.5, "web-3": 0.5}
print(shares)

# %% [markdown] slide="slide"
# ## Key points
#
# - `Local` sends external traffic only to endpoints on the receiving node (`KUBE-SVL-…`), without
#   SNAT: the pod sees the client IP and there is never a second node hop.
# - A node without a ready local endpoint **drops** external traffic for the service, silently;
#   a service with no endpoints anywhere is **rejected** (connection refused).
# - Load balancers avoid the drop through `healthCheckNodePort` (LoadBalancer + `Local` only): 200 iff
#   the node has at least one ready local endpoint (readiness probe passing, not terminating) and
#   kube-proxy is healthy, otherwise 503. A 503 is the designed signal, not an outage.
# - `Local` needs an externally accessible service; since 1.29 that includes ClusterIP with
#   `externalIPs`, and the error reads "may only be set for externally-accessible services".
# - In-cluster tests of a `Local` service's external address are short-circuited to all endpoints
#   (and masqueraded from a node); IPVS has no short-circuit but falls back to all endpoints on a node
#   without local ones. Either way they do not show what external clients get.
# - Since 1.26 (on by default; GA 1.28) a node whose pods are all terminating keeps serving through
#   them instead of dropping;
#   rolling updates still need a graceful shutdown longer than the load balancer's detection time.
#
# **Sources.** [1] kubernetes/kubernetes `pkg/proxy/iptables/proxier.go`, `syncProxyRules` (the `KUBE-SVL-`
# chain, the `"has no local endpoints"` DROP and the `"has no endpoints"` REJECT in
# `KUBE-EXTERNAL-SERVICES`, the short-circuit for pod and node sources); tests
# `TestExternalTrafficPolicyLocal` in `proxier_test.go`. kubernetes/website
# `content/en/docs/reference/networking/virtual-ips.md`.
# [2] kubernetes/kubernetes `pkg/proxy/healthcheck/service_health.go` (the JSON body and the
# `X-Load-Balancing-Endpoint-Weight` header); `pkg/apis/core/validation/validation.go`
# (`healthCheckNodePort` only for LoadBalancer + Local).
# [3] kubernetes/kubernetes `pkg/apis/core/validation/validation.go`,
# `validateServiceExternalTrafficPolicy`; `pkg/api/service/util.go` (`ExternallyAccessible`).
# [4] kubernetes/kubernetes `pkg/proxy/topology.go` (`CategorizeEndpoints`: serving-terminating
# fallback); KEP-1669 "Proxy terminating endpoints"; kubernetes/website
# `content/en/docs/tutorials/services/source-ip.md`; the feature-gate stages of
# `ProxyTerminatingEndpoints`: kubernetes/website `content/en/docs/reference/command-line-tools-reference/feature-gates/`.
# [5] kubernetes/kubernetes `pkg/proxy/ipvs/proxier.go`, `syncEndpoint` (local real servers only for
# `Local`, all endpoints when there is no local one: PR kubernetes/kubernetes#97081); the node-itself
# black hole: issue kubernetes/kubernetes#93456.
#
# Terms: [glossary](../docs/glossary.md); the policy matrix: [cheat sheet](../docs/cheatsheet.md).

# %% [markdown]
# ## What's next
#
# [Notebook 05 · Imbalance](05-imbalance.ipynb): under `Local` the load balancer splits traffic per
# node, not per pod. Move pods around and watch some get twice the load of others, then meet the load
# balancers that fix it.
