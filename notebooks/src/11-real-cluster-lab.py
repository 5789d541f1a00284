# %% [markdown] slide="slide"
# # 11 · Optional: from the simulator to a real cluster and the Linux kernel
#
# Everything so far came from k8slearn's simulator. This notebook shows two ways to check it against the
# real thing. Neither is needed for the rest of the course.
#
# 1. **The kernel lab** (`sudo k8slearn lab`): on one Linux machine, a miniature cluster built from
#    network namespaces, with the very rules kube-proxy would write (in iptables mode, then in
#    nftables mode), real TCP connections, and the simulator's prediction next to what the kernel did.
# 2. **A real cluster** (kind, or any cluster `kubectl` reaches): the same service exported as YAML,
#    applied in a dedicated namespace, requests sent, and the source IPs the pods saw compared with the
#    prediction. Without a cluster this part explains how to get one and skips itself.
#
# **Learning objectives**
# - Read the `iptables` rules kube-proxy writes for a service, generated from the model with
#   kube-proxy's own chain names, and find the SNAT mark, the random endpoint pick and the `Local` drop.
# - Say what the kernel lab builds and what it compares, and run it on a Linux machine as root.
# - Export a service of the model as manifests, apply them to a kind cluster (or any cluster), and
#   compare the source IPs the pods saw with the simulator's prediction.
#
# **Prerequisites**: [notebook 02](02-into-the-cluster.ipynb) (the `KUBE-*` chains),
# [notebook 03](03-external-traffic-policy-cluster.ipynb) and
# [notebook 04](04-external-traffic-policy-local.ipynb) (`Cluster` and `Local`). For the last part:
# Docker, [kind](https://kind.sigs.k8s.io) and `kubectl`, or any cluster `kubectl` reaches.
#
# **Time**: about 25 minutes without creating a cluster (all of it going further)
#
# We use the cluster of notebook 03: three nodes, pods 2 / 1 / 0.

# %%
import k8slearn as k8s
from k8slearn import examples, manifests
from k8slearn.dataplane.rules import render
from k8slearn.lab import kube

cluster = examples.uneven()
cluster

# %% [markdown] slide="slide" tags=["going-further"]
# ## 1. The rules kube-proxy writes, generated from the model
# *Going further · 7 minutes*
#
# `k8slearn.dataplane.rules.render(cluster, node)` writes what kube-proxy (iptables mode, the default)
# loads on one node, in `iptables-restore` format, with kube-proxy's own chain names: the hashed
# suffixes are computed exactly as kube-proxy computes them, so a service called `web` in namespace
# `default` gets the same `KUBE-SVC-…` name here and on a real node (`sudo iptables-save -t nat`).
# Here are node-c's NAT rules for `web` with `externalTrafficPolicy: Cluster`. Find the
# `masquerade traffic for default/web external destinations` rule: every external packet is marked
# for SNAT before an endpoint is chosen, and the three `KUBE-SVC` rules pick each pod with
# probability 1/3 (`0.3333`, then `0.5` of the rest, then the last one).

# %% tags=["nbval-check-output"]
rules = render(cluster, "node-c")
for line in rules.splitlines():
    if line.startswith(("-A KUBE-EXT", "-A KUBE-SVC", "-A KUBE-MARK", "-A KUBE-POSTROUTING")):
        print(line)

# %% [markdown] tags=["predict"]
# ### Predict 11.1
#
# With `Local`, node-c (no pod of `web`) gets no `KUBE-SVL` chain at all. Instead its filter table
# has rules with the comment `default/web has no local endpoints`. Which target do they jump to:
# `"ACCEPT"`, `"DROP"`, `"REJECT"` or `"MASQUERADE"`?

# %% tags=["guess"]
k8s.predict("11.1", ...)

# %% tags=["reveal"]
local = examples.uneven(external_traffic_policy="Local")
no_local = [line for line in render(local, "node-c").splitlines() if "has no local endpoints" in line]
k8s.reveal("11.1", no_local[0].rsplit("-j ", 1)[1])

# %% tags=["nbval-check-output"]
print("\n".join(no_local))

# %% [markdown]
# One rule for the load-balancer IP, one for the NodePort on any of the node's own addresses
# (`--dst-type LOCAL`): both `DROP`, so the client hears nothing and times out.

# %% [markdown] slide="slide" tags=["going-further"]
# ## 2. The kernel lab: `sudo k8slearn lab`
# *Going further · 6 minutes*
#
# The lab needs root (it creates network namespaces) and changes nothing outside the namespaces it
# creates, all named `k8sl-*`; it removes them on every exit, Ctrl-C included
# (`sudo k8slearn lab --cleanup` removes what a killed run left). It builds the dual-stack version of
# this cluster (every node and pod also has an IPv6 address, and `web` an IPv6 load-balancer address):
#
# ```
# k8sl-client ──── k8sl-router ──── bridge 192.168.0.0/24 ── k8sl-n-node-a ── cni0 ── k8sl-p-web-1, k8sl-p-web-2
# 198.51.100.7     (the load balancer:   + fd00:192:168::/64   k8sl-n-node-b ── cni0 ── k8sl-p-web-3
# 2001:db8:100::7   routes the LB IPs to                       k8sl-n-node-c
# + more clients    one node; an office NAT)
# ```
#
# Each pod namespace runs a tiny echo server that answers with the address it saw. Then every
# scenario runs in **both of kube-proxy's modes** (`--mode iptables` or `--mode nftables` runs one):
# first each node namespace gets what kube-proxy would write there, for both IP families:
# `iptables-restore` and `ip6tables-restore` of `render(...)` in iptables mode, or, in nftables mode,
# the `ip` and `ip6` `kube-proxy` tables of `k8slearn.dataplane.nft.render(...)` with `nft -f`.
# Then the client opens real TCP connections, and the report puts the simulator's prediction
# (`k8s.send` for every endpoint kube-proxy could pick) next to what the kernel did. These are the
# scenarios, read from the lab's own list (`k8slearn.lab.SCENARIOS`), with the node that receives
# the connections and the address the client dials there:

# %% tags=["nbval-check-output"]
from k8slearn import lab

for sc in lab.SCENARIOS:
    where = f"{sc.via} {sc.address}"
    print(f"{sc.name:32} {sc.family}  {sc.external_traffic_policy:7}  {where:21}  {sc.connections:3} connections")

# %% [markdown]
# `k8slearn lab --list` prints the same list with a sentence per scenario. Scenarios with several
# clients send from several of the client's addresses; the office's share the NAT's address on the
# way in. For each scenario and mode the report prints what the simulator predicts (the pods, the source
# address each would see, or a drop), what the kernel did (how many connections were answered by
# which pod and what it saw, or timed out) and the time the kernel and the simulator took (the
# JSON report adds which of kube-proxy's rules counted packets on the receiving node). The session affinity scenarios
# add what the kernel remembers (the `recent` lists in iptables mode, the `affinity-*` sets in
# nftables mode), the expiry scenario which connections that memory sent, and the distribution
# scenario the per-pod counts against 4 binomial standard deviations. At the end comes a table of
# scenarios × modes (`agree` or `DISAGREE`) and the times of the build, each mode and the cleanup;
# the exit code is 0 when every scenario agrees in every mode. `sudo k8slearn lab --json` gives the
# same report as JSON.
#
# `k8slearn lab --rules node-c` (no root needed) prints exactly what the lab loads on node-c, under
# one header per mode and IP family, each naming the command that loads it (`--mode` chooses a
# mode; `--scenario NAME` a scenario's service settings). The same text, in Python:

# %% tags=["nbval-check-output"]
loaded = lab.rules_text("node-c")
print("\n".join(line for line in loaded.splitlines() if line.startswith("# =====")))
print(len(loaded.splitlines()), "lines in all")

# %% [markdown] tags=["self-check"]
# **Self-check.** In the no-SNAT scenario the DNAT rules on node-c counted the client's packets, and
# the pod answered, yet the client timed out. Why?
#
# <details><summary>Answer</summary>
#
# Without the SNAT the pod answers the client directly, from its own node and its own address. The
# reply never passes node-c, whose conntrack would have turned the pod's address back into the
# load balancer's, so the client gets a reply from an address it never dialled and discards it.
# </details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## 3. A real cluster
# *Going further · 12 minutes*
#
# ### Getting one
# [kind](https://kind.sigs.k8s.io) runs a cluster in Docker containers. Create one with three workers
# (so the model's three nodes map onto real ones):
#
# ```bash
# cat <<EOF | kind create cluster --config -
# kind: Cluster
# apiVersion: kind.x-k8s.io/v1alpha4
# nodes: [{role: control-plane}, {role: worker}, {role: worker}, {role: worker}]
# EOF
# ```
#
# kind has no cloud, so a `LoadBalancer` service stays `<pending>` until something plays the cloud:
# [cloud-provider-kind](https://github.com/kubernetes-sigs/cloud-provider-kind) (run it in another
# terminal) or [MetalLB](https://metallb.io) with an address pool on the kind Docker network. Check
# what your load balancer does before reading source IPs: a pass-through L4 balancer such as MetalLB
# in L2 mode delivers the client's packets unchanged, while a balancer that proxies (opens its own
# connection to the node) replaces the client IP whatever `externalTrafficPolicy` says. That is why
# the measurement below dials the **NodePort** of one node directly, from the machine that runs kind:
# the same path as the kernel lab, with nothing in between.
#
# ### The manifests
# `manifests.export` writes the Namespace, the Service and the pods. With `node_map` each pod is pinned
# (`nodeName`) to the real node that plays its model node, so the real layout is exactly 2 / 1 / 0. The
# echo server is Kubernetes' own test image `agnhost netexec`: `/clientip` answers with the address the
# pod saw, `/hostname` with the pod's name. Everything validates against the Kubernetes 1.35 schema
# (tests/test_manifests.py checks it in strict mode).

# %% tags=["nbval-check-output"]
NAMESPACE = "k8slearn-lab"
example_map = {"node-a": "kind-worker", "node-b": "kind-worker2", "node-c": "kind-worker3"}
print(manifests.to_yaml(manifests.export(cluster, "web", namespace=NAMESPACE, node_map=example_map)[1:3]))

# %% [markdown]
# Without pinning, a Deployment lets the scheduler place the pods; `spread=` adds the spreading the
# course recommends with `Local` ([notebook 6](06-spreading-pods.ipynb), [notebook 10](10-capstone.ipynb)):
# `topologySpreadConstraints` with `maxSkew: 1` and `whenUnsatisfiable: DoNotSchedule`, so per-node pod
# counts never differ by more than one (`spread="topology-spread"` gives the soft `ScheduleAnyway`
# variant, which only scores nodes):

# %% tags=["nbval-check-output"]
deployment = manifests.deployment_manifest(cluster, "web", namespace=NAMESPACE, spread="topology-spread-required")
print(manifests.to_yaml(deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]))

# %% [markdown]
# ### Is there a cluster?
# The next cell asks `kubectl`. If it reaches no cluster, the rest of the notebook only prints that it
# was skipped.

# %%
# NBVAL_IGNORE_OUTPUT
problem = kube.status()
if problem:
    print(f"skipping the real-cluster part: {problem}\n")
    print(kube.HOW_TO_GET_A_CLUSTER)
else:
    print("kubectl reaches a cluster:", [n["name"] for n in kube.nodes()])

# %% [markdown]
# ### Apply, measure, compare
# For each policy the cell applies the manifests, waits for the pods, sends 30 requests for
# `/clientip` to the NodePort of the node that plays node-c (no pod there) and 30 to the one that plays
# node-a, classifies each address the pods saw (a node's IP, a node's bridge/gateway address, or the
# client's own IP) and puts that next to what `k8s.send` predicts for the same entry node. It deletes
# the namespace at the end, whatever happens.

# %%
# NBVAL_IGNORE_OUTPUT
from collections import Counter

if problem:
    print("skipped: no cluster")
else:
    real = kube.nodes()
    workers = [n for n in real if n["worker"]] or real
    node_map = {m.name: workers[i % len(workers)]["name"] for i, m in enumerate(cluster.nodes)}
    ip_of = {n["name"]: n["ip"] for n in real}
    try:
        for policy in ("Cluster", "Local"):
            model = examples.uneven(external_traffic_policy=policy)
            kube.apply(manifests.to_yaml(manifests.export(model, "web", namespace=NAMESPACE, node_map=node_map)))
            kube.wait_ready(NAMESPACE, "app=web")
            port = model.service("web").node_port
            for entry in ("node-c", "node-a"):
                url = f"http://{ip_of[node_map[entry]]}:{port}/clientip"
                answers = [kube.get(url, timeout=2) for _ in range(30)]
                seen = Counter("timeout" if a is None else kube.classify(a, real) for a in answers)
                expect = kube.predicted_kinds(model, entry)
                verdict = "agree" if set(seen) <= expect else "DIFFER"
                print(f"{policy:7} via {entry} ({node_map[entry]}): kernel {dict(seen)}; simulator {sorted(expect)} -> {verdict}")
    finally:
        kube.delete_namespace(NAMESPACE)
        print(f"namespace {NAMESPACE} deleted")

# %% [markdown]
# What to expect, if your cluster runs kube-proxy in iptables or nftables mode (kind's default):
# with `Cluster`, the pods see the entry node's address (or the gateway address of the pod network, for
# a pod on the entry node); with `Local`, they see your own address through the node that has pods and
# nothing at all through the node that has none. A cluster with Cilium's kube-proxy replacement will
# differ where notebook 09 says it does.
#
# **Cleaning up.** The cell above deletes the namespace `k8slearn-lab` it created. If it was interrupted:
# `kubectl delete namespace k8slearn-lab`; `kind delete cluster` removes the whole kind cluster.

# %% [markdown] slide="slide"
# ## Key points
#
# - `k8slearn.dataplane.rules.render(cluster, node)` writes the rules kube-proxy (iptables mode) would
#   load on that node, with its own chain names and hashes: hold them next to `iptables-save -t nat`.
# - Under `Cluster` every external packet is marked for masquerade before an endpoint is picked; under
#   `Local` a node without endpoints DROPs external traffic in `KUBE-EXTERNAL-SERVICES`.
# - `sudo k8slearn lab` loads those rules into a real Linux kernel (network namespaces, real TCP) and
#   puts the simulator's prediction next to what the kernel did: they agree.
# - `k8slearn.manifests.export` writes a service of the model as manifests for a real cluster;
#   measuring through a node's NodePort keeps any load balancer from replacing the client IP.
#
# Terms: [glossary](../docs/glossary.md); the commands to see this on a real node:
# [cheat sheet](../docs/cheatsheet.md).

# %%
k8s.predictions.score("11")

# %% [markdown]
# ## What's next
#
# This was the last notebook. Keep the [cheat sheet](../docs/cheatsheet.md) at hand, try your own
# clusters in the explorer of [notebook 00](00-start-here.ipynb), and practise with the exercises in
# `exercises/`.
