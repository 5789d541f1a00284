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
#
# [Notebook 04b](04b-local-in-practice.ipynb) continues with which services may use `Local`, why
# testing from inside the cluster misleads, and rolling updates.
#
# **Prerequisites**: [notebook 2](02-into-the-cluster.ipynb) (DNAT and the `KUBE-*` chains) and
# [notebook 3](03-external-traffic-policy-cluster.ipynb) (`Cluster`, SNAT, the extra hop).
# Words you may want to look up: [glossary](../docs/glossary.md).
#
# **Time**: about 25 minutes (core path: all of it)

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

# %% [markdown] slide="slide" tags=["core"]
# ## 1. The client IP survives, and there is no extra hop
# *Core · 8 minutes*

# %% [markdown] tags=["predict"]
# ### Predict 4.1
#
# A client at 198.51.100.7 connects through the load balancer, which hands the connection to
# node-b. web-3 answers. Which source address does web-3 see: the client's, node-b's
# (192.168.0.12), or node-b's bridge address (10.244.2.1)? Lock in your guess, then reveal.

# %% tags=["guess"]
k8s.predict("4.1", ...)

# %% tags=["reveal"]
t = k8s.send(c, "web", via="node-b", seed=1)
k8s.reveal("4.1", t.source_seen_by_pod)

# %%
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
# Across all connections, with a load balancer that health-checks the nodes and splits equally per
# healthy node (as GCP's and Azure's do; an AWS NLB splits per zone first, see
# [notebook 5](05-imbalance.ipynb)):

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

# %% [markdown] slide="slide" tags=["misconception-1", "core"]
# ## 2. A node without endpoints drops the traffic, silently
# *Core · 9 minutes*
#
# A common belief: "`Local` only changes which IP the pod sees; the service still works on every
# node." It does not. On a node with no local endpoint, `KUBE-EXT-<hash>` has no `KUBE-SVL` chain to
# jump to for external traffic, so the packet falls through un-NATed and a filter rule drops it. To see it, use a load balancer that does **not** health-check
# the nodes (`lb="equal"`: think DNS round robin over all node IPs, or a load balancer that ignores the
# health-check port) on the `empty_node()` cluster: pods 1 / 1 / 0.

# %% [markdown] tags=["predict"]
# ### Predict 4.2
#
# The load balancer sends a connection to node-c, which runs no `web` pod. Under `Cluster`, node-c
# would forward it to web-1 or web-2. Under `Local`, what will the client experience: a reply
# (`"delivered"`), "connection refused" (`"refused"`), or nothing at all (`"dropped"`)?

# %% tags=["guess"]
k8s.predict("4.2", ...)

# %% tags=["reveal"]
e = k8s.examples.empty_node()
drop = k8s.send(e, "web", via="node-c", lb="equal", seed=1)
k8s.reveal("4.2", drop.outcome)

# %%
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

# %% [markdown] slide="slide" tags=["core"]
# ## 3. The health-check port
# *Core · 8 minutes*
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
#
# With `Cluster` there is no `healthCheckNodePort`, and what a load balancer probes depends on the
# provider:[3] GCP (and cloud-provider-kind) probe kube-proxy's own `:10256/healthz`, which fails only
# when kube-proxy is unhealthy or the node is being deleted; AWS (the cloud provider's ELB and NLB,
# and the AWS Load Balancer Controller) opens a TCP connection to the traffic port, the NodePort,
# unless configured otherwise; Azure probes the NodePort unless its shared-probe mode is on. Under
# `Cluster` every node passes, with pods or without:

# %% tags=["nbval-check-output"]
cluster_policy = k8s.examples.empty_node(external_traffic_policy="Cluster")
for lb in ["gcp-nlb", "aws-nlb-instance", "azure-slb"]:
    f = k8s.by_node(cluster_policy, "web", lb=lb)
    print(f"{lb:17}", ", ".join(f"{n} :{port} {answer}" for n, port, answer in zip(f.node, f.health_check_port, f.health_check)))

# %% [markdown] slide="subslide"
# ### NodePort + Local has no health-check port
#
# The port is allocated **only** for type LoadBalancer with `Local`. A NodePort service with `Local`
# gets none: whatever spreads clients over the nodes must find out by itself which nodes have pods.

# %% tags=["nbval-check-output"]
np_local = k8s.Cluster.from_layout([1, 1, 0], type="NodePort", external_traffic_policy="Local")
print(np_local.service("web"))
print("healthCheckNodePort:", np_local.service("web").health_check_node_port)

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
# - Under `Cluster` what a load balancer probes depends on the provider (kube-proxy's `:10256`, the
#   NodePort or the traffic port): see [load-balancers.md](../docs/load-balancers.md).
#
# **Sources.** [1] kubernetes/kubernetes `pkg/proxy/iptables/proxier.go`, `syncProxyRules` (the `KUBE-SVL-`
# chain, the `"has no local endpoints"` DROP and the `"has no endpoints"` REJECT in
# `KUBE-EXTERNAL-SERVICES`); tests `TestExternalTrafficPolicyLocal` in `proxier_test.go`.
# kubernetes/website `content/en/docs/reference/networking/virtual-ips.md`.
# [2] kubernetes/kubernetes `pkg/proxy/healthcheck/service_health.go` (the JSON body and the
# `X-Load-Balancing-Endpoint-Weight` header); `pkg/apis/core/validation/validation.go`
# (`healthCheckNodePort` only for LoadBalancer + Local).
# [3] kubernetes/cloud-provider-gcp `providers/gce/gce_healthchecks.go` (`lbNodesHealthCheckPort`,
# 10256); kubernetes/cloud-provider-aws `pkg/providers/v1/aws.go` (`buildNLBHealthCheckConfiguration`
# and the ELB's health check: the traffic port, `:10256/healthz` only when
# `ClusterServiceLoadBalancerHealthProbeMode` is `Shared`); kubernetes-sigs/aws-load-balancer-controller
# `docs/guide/service/annotations.md` (`healthcheck-port`: `traffic-port` under Cluster);
# kubernetes-sigs/cloud-provider-azure `pkg/provider/azure_loadbalancer_healthprobe.go`
# (`clusterServiceLoadBalancerHealthProbeMode`: `servicenodeport` by default, or `shared`).
#
# Terms: [glossary](../docs/glossary.md); the policy matrix: [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("04")

# %% [markdown]
# ## What's next
#
# [Notebook 04b · Local in practice](04b-local-in-practice.ipynb): which services may use `Local`,
# why a test from inside the cluster shows something external clients never get, and what happens
# to `Local` traffic during a rolling update.
