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
# cluster needed: everything runs in `k8slearn`'s simulator of kube-proxy.
#
# **Time**: about 16 minutes (core path: 12 minutes)

# %% [markdown] slide="slide" tags=["core"]
# ## How the course works
# *Core · 3 minutes*
#
# - **Run the cells from top to bottom** (Shift-Enter, or *Run → Run All Cells*). If something looks
#   odd, *Kernel → Restart Kernel and Run All Cells*.
# - **Widgets react at once**: move a slider or click a toggle and the picture below it updates.
#   Everything a widget shows you can also get in code.
# - **Predict, then observe.** A *Predict* cell asks a question. Replace the `...` in the
#   `k8s.predict(...)` cell under it with your guess and run it to lock it in; then run the *reveal*
#   cell, which shows what happened next to your guess, and why. Reveal cells, and the cells right
#   after them, are saved empty, and the text about the answer is folded under *Answer*, so the
#   answer is not on the page until you run them. A wrong guess is where the learning happens.
#   The last cell of each notebook counts your right guesses. Guesses stay in the kernel's memory:
#   nothing is saved or sent.
# - **Self-checks** hide their answer behind *Answer*, or have an `answer = ...` to fill in that
#   says whether you are right.
# - **Exercises**: one notebook per course notebook (from 01 on) in `exercises/`, solutions in
#   `solutions/`. In JupyterLab's terminal (*File → New → Terminal*), `k8slearn check
#   exercises/<notebook>.ipynb` says which are done, which are wrong (with a hint) and which you have
#   not tried; `k8slearn progress` lists them all.
# - Words you do not know: the [glossary](../docs/glossary.md). Policies, commands for a real
#   cluster and numbers to remember: the [cheat sheet](../docs/cheatsheet.md).
# - Each section is marked **core** (the 90-minute path through the course) or **going further**.

# %% [markdown] slide="subslide" tags=["going-further"]
# ## The map
# *Going further · 4 minutes*
#
# | # | Notebook | The question it answers |
# |---|---|---|
# | 01 | [Pods, nodes and services](01-pods-nodes-services.ipynb) | What is in a cluster, and which address reaches what? |
# | 02 | [Into the cluster](02-into-the-cluster.ipynb) | What happens to one packet, hop by hop? |
# | 03 | [externalTrafficPolicy: Cluster](03-external-traffic-policy-cluster.ipynb) | Why does the pod see a node's IP? |
# | 04 | [externalTrafficPolicy: Local](04-external-traffic-policy-local.ipynb) | How do I keep the client IP, and what does it cost? |
# | 04b | [Local in practice](04b-local-in-practice.ipynb) | Which services may use Local, how to test it, and rolling updates? |
# | 05 | [Imbalance](05-imbalance.ipynb) | Why do some pods get twice the traffic? |
# | 06 | [Spreading pods](06-spreading-pods.ipynb) | How do I place pods so Local stays fair? |
# | 07 | [Inside the cluster](07-inside-the-cluster.ipynb) | What changes when the client is a pod? |
# | 08 | [Proxies and headers](08-proxies-and-headers.ipynb) | How do L7 proxies and the PROXY protocol carry the client IP? |
# | 08b | [What depends on the client IP](08b-what-depends-on-the-client-ip.ipynb) | Which load balancer am I behind, and what breaks without the IP? |
# | 09 | [Dataplanes compared](09-dataplanes-compared.ipynb) | iptables, nftables, IPVS, Cilium: what differs? |
# | 10 | [Capstone](10-capstone.ipynb) | Which configuration would you defend, and why? |
# | 11 | [Real-cluster lab](11-real-cluster-lab.ipynb) | Does a real kernel agree with the simulator? |
#
# The one-line story: **under the default policy Kubernetes swaps your client's IP for a node's IP
# so that replies find their way back; you can keep the client IP, but then where your pods run
# decides who gets traffic, and who gets none.**

# %% [markdown] slide="slide" tags=["core"]
# ## A first cluster
# *Core · 5 minutes*
#
# One import gives you the whole library. `k8s.examples` holds the named clusters the course uses;
# `uneven()` is three nodes with two pods, one pod and no pod, behind a LoadBalancer Service `web`.

# %%
import k8slearn as k8s

cluster = k8s.examples.uneven()
cluster

# %% [markdown] slide="subslide"
# The same cluster as plain text, as a terminal shows it:

# %% tags=["nbval-check-output"]
print(cluster)

# %% [markdown] tags=["predict"] slide="subslide"
# ### Predict 0.1
#
# The client `198.51.100.7` connects to the load balancer at `203.0.113.100`, which hands the
# connection to `node-c`, the node with no pods. Which source IP will the answering pod see:
# `198.51.100.7`, or something else? Lock in your guess (an address in quotes), then reveal.

# %% tags=["guess"]
k8s.predict("0.1", ...)

# %% tags=["reveal"]
t = k8s.send(cluster, "web", via="node-c", seed=1)
k8s.reveal("0.1", t.source_seen_by_pod)

# %% tags=["nbval-check-output"]
print(t)

# %% [markdown]
# Not the client's IP: the pod sees `192.168.0.13`, the address of `node-c`. That is the mystery
# of the access log above, and notebooks 02 and 03 take it apart rule by rule.

# %% [markdown] slide="slide" tags=["core"]
# ## The explorer
# *Core · 4 minutes*
#
# `k8s.explore` shows the cluster, one traced connection and where all the traffic goes. The
# addresses the packet carries are written on its path; a dashed orange segment means its source
# was replaced (SNAT). Try it:
#
# 1. Read the path: which node did the packet enter at, which pod got it, and what source address
#    does that pod see?
# 2. Press the back button (left of ▶) a few times, then ▶: the packet travels hop by hop, and the hop table shows where
#    each rewrite happens.
# 3. Switch `externalTrafficPolicy` from `Cluster` to `Local` and watch the path, the bars and the
#    numbers change. Then choose *compare: Cluster | Local* to see both at once.
# 4. Under *More*, move `web-2` to `node-c`; set *enters at* to each node in turn.
#
# The explorer works on its own copy of the cluster.

# %%
k8s.explore(k8s.examples.uneven())

# %% [markdown] slide="slide"
# ## Key points
#
# - Run cells top to bottom; widgets update by themselves; lock in a guess before each reveal.
# - `import k8slearn as k8s`, `k8s.examples.uneven()` and `k8s.send(...)` are all you need to start.
# - Under the default `externalTrafficPolicy: Cluster` the pod does not see the client's IP: with
#   this cluster and entry node, it sees `node-c`'s IP.
# - Exercises are in `exercises/`; `k8slearn check` tells you how you did.

# %%
k8s.predictions.score("00")

# %% [markdown]
# ## What's next
#
# [Notebook 01 · Pods, nodes and services](01-pods-nodes-services.ipynb) introduces the pieces of
# the cluster you just drew: nodes, pods, Services and their types, and the endpoints that tie a
# Service to its pods.
