# %% [markdown] slide="slide"
# # 00 · Start here: where did my client IP go?
#
# A client at `198.51.100.7` opens a connection to your web service on Kubernetes. Your access log
# says the request came from `192.168.0.13`, an address you never saw before. This course follows
# that packet hop by hop until you can say exactly where the client's IP went, why Kubernetes took it
# away, and what it costs to get it back.
#
# **Learning objectives**
# - Run the course's notebooks and know what to expect from their cells and widgets.
# - Find your way around: the notebooks, the exercises, the glossary and the cheat sheet.
# - Load an example cluster, look at it, and send one connection through it.
#
# **Prerequisites**: some Python, and knowing what an IP address and a TCP port are. No Kubernetes
# cluster needed: everything runs in a simulator of kube-proxy that lives in the `k8slearn` package.
#
# **Time**: about 10 minutes

# %% [markdown] slide="slide"
# ## How the course works
#
# - **Run the cells from top to bottom** (Shift-Enter, or *Run → Run All Cells*). Later cells use
#   what earlier cells made. If something looks odd, *Kernel → Restart Kernel and Run All Cells*.
# - **Widgets react at once.** Move a slider or click a toggle and the picture and numbers below it
#   update; no need to re-run the cell. Everything a widget shows you can also get in code.
# - **Predict, then observe.** Cells marked *Before you run the next cell* ask you to commit to a
#   guess first. Guessing wrong is the point: that is where the learning happens.
# - **Self-checks** end with a hidden answer: click *Answer* only after you have one of your own.
# - **Exercises** live in the `exercises/` folder, one notebook per course notebook (from 01 on),
#   with solutions in `solutions/`. Check your work in JupyterLab's terminal (*File → New →
#   Terminal*) with `k8slearn check exercises/<notebook>.ipynb`: it tells you which exercises are
#   done, which are wrong (with a hint) and which you have not tried yet; `k8slearn progress` lists
#   them all.
# - Words you do not know are in the [glossary](../docs/glossary.md); the policies, the
#   commands to see all this on a real cluster and the numbers to remember are on the
#   [cheat sheet](../docs/cheatsheet.md).

# %% [markdown] slide="subslide"
# ## The map
#
# | # | Notebook | The question it answers |
# |---|---|---|
# | 01 | [Pods, nodes and services](01-pods-nodes-services.ipynb) | What is in a cluster, and which address reaches what? |
# | 02 | [Into the cluster](02-into-the-cluster.ipynb) | What happens to one packet, hop by hop? |
# | 03 | [externalTrafficPolicy: Cluster](03-external-traffic-policy-cluster.ipynb) | Why does the pod see a node's IP? |
# | 04 | [externalTrafficPolicy: Local](04-external-traffic-policy-local.ipynb) | How do I keep the client IP, and what does it cost? |
# | 05 | [Imbalance](05-imbalance.ipynb) | Why do some pods get twice the traffic? |
# | 06 | [Spreading pods](06-spreading-pods.ipynb) | How do I place pods so Local stays fair? |
# | 07 | [Inside the cluster](07-inside-the-cluster.ipynb) | What changes when the client is a pod? |
# | 08 | [Proxies and headers](08-proxies-and-headers.ipynb) | How do L7 proxies and the PROXY protocol carry the client IP? |
# | 09 | [Dataplanes compared](09-dataplanes-compared.ipynb) | iptables, nftables, IPVS, Cilium: what differs? |
# | 10 | [Capstone](10-capstone.ipynb) | Which configuration would you defend, and why? |
# | 11 | [Real-cluster lab](11-real-cluster-lab.ipynb) | Does a real kernel agree with the simulator? |
#
# The one-line story: **under the default policy Kubernetes swaps your client's IP for a node's IP
# so that replies find their way back; you can keep the client IP, but then where your pods run
# decides who gets traffic, and who gets none.**

# %% [markdown] slide="slide"
# ## A first cluster
#
# One import gives you the whole library. `k8s.examples` holds the named clusters the course uses;
# `uneven()` is three nodes with two pods, one pod and no pod, behind a LoadBalancer Service `web`.

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()
cluster

# %% [markdown] slide="subslide"
# The same cluster as plain text, which is what you will also see in a terminal:

# %% tags=["nbval-check-output"]
print(cluster)

# %% [markdown] tags=["predict"] slide="subslide"
# ### Predict
#
# The client `198.51.100.7` connects to the load balancer at `203.0.113.100`, and the load balancer
# hands the connection to `node-c`, the node with no pods. **Before you run the next cell**: which
# source IP will the pod that answers see: `198.51.100.7`, or something else?

# %% tags=["nbval-check-output"]
t = k8s.send(cluster, "web", via="node-c", seed=1)
print(t)

# %% [markdown]
# Not the client's IP: the pod sees `192.168.0.13`, the address of `node-c`. That is the mystery
# of the access log above, and notebooks 02 and 03 take it apart rule by rule.

# %% [markdown] slide="slide"
# ## The explorer
#
# `k8s.explore` puts the cluster, one traced connection and where all the traffic goes side by
# side. The addresses the packet carries are written on its path; a dashed orange segment means its
# source was replaced (SNAT). Try it:
#
# 1. Read the path: which node did the packet enter at, which pod got it, and what source address
#    does that pod see?
# 2. Press ⏮ a few times, then ▶: the packet travels hop by hop, and the hop table shows where
#    each rewrite happens.
# 3. Switch `externalTrafficPolicy` from `Cluster` to `Local` and watch the path, the bars and the
#    numbers change. Then choose *compare: Cluster | Local* to see both at once.
# 4. Under *More*, move `web-2` to `node-c`; set *enters at* to each node in turn.
#
# The explorer works on its own copy, so the `cluster` above stays as it is.

# %%
k8s.explore(k8s.examples.uneven())

# %% [markdown] slide="slide"
# ## Key points
#
# - Run cells top to bottom; widgets update by themselves; predict before you run a *Predict* cell.
# - `import k8slearn as k8s`, `k8s.examples.uneven()` and `k8s.send(...)` are all you need to start.
# - Under the default `externalTrafficPolicy: Cluster` the pod does not see the client's IP: with
#   this cluster and entry node, it sees `node-c`'s IP.
# - Exercises are in `exercises/`; `k8slearn check` tells you how you did.

# %% [markdown]
# ## What's next
#
# [Notebook 01 · Pods, nodes and services](01-pods-nodes-services.ipynb) introduces the pieces of
# the cluster you just drew: nodes, pods, Services and their types, and the endpoints that tie a
# Service to its pods.
