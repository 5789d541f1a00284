# %% [markdown]
# # Exercises 08 · Proxies and headers
#
# Practice for [notebook 8](../notebooks/08-proxies-and-headers.ipynb): a prediction, a function checked
# on many generated requests, a header to decode, a log to read backwards, and a chain to debug.
# Replace each `...`, then run the check cell after it; `k8s.check.hint("8.1")` gives a hint (`level=2`,
# `3` say more).
#
# The last cell counts what your checks said. For a strict grade, save the notebook (Ctrl+S), open a
# terminal (*File → New → Terminal*) and run `k8slearn check exercises/08-proxies-and-headers.ipynb`
# (inside `exercises/`: `k8slearn check 08-proxies-and-headers.ipynb`); `k8slearn progress` lists all your exercises.

# %%
import ipaddress

import k8slearn as k8s

# %% [markdown]
# ### Exercise 8.1 · predict: a pod calls the PROXY-protocol load balancer
#
# The `web` Service sits behind an L4 load balancer (`nlb` below) that sends a PROXY protocol v2
# header, and the app requires one (`App(expect_proxy_protocol=True)`). A pod in the cluster, 10.244.3.5,
# calls the Service's **load-balancer IP**. What does the app conclude about that call, first with the
# load balancer's status `ipMode: VIP` (the default), then with `ipMode: Proxy`? For each, answer
# `"broken"` (the app closes the connection) or the client address the app logs. Answer as a dict
# `{"VIP": ..., "Proxy": ...}`. Try it with `follow(nlb, app=..., from_pod=True, ip_mode=...)`.

# %%
from k8slearn.proxychain import App, Proxy, follow

nlb = [Proxy("NLB", "192.168.255.10", "L4", send_proxy_protocol=True, load_balancer=True)]
print(follow(nlb, app=App(expect_proxy_protocol=True)))  # an external client, for comparison

# %%
### BEGIN SOLUTION
answer = {"VIP": "broken", "Proxy": "10.244.3.5"}
### END SOLUTION

# %%
k8s.check.proxy_protocol_from_pod(answer)

# %% [markdown]
# ### Exercise 8.2 · compute: the rightmost untrusted X-Forwarded-For entry
#
# Write `pick_client(peer, xff, trusted)`: `peer` is the TCP peer's address, `xff` the
# `X-Forwarded-For` value (a comma-separated string), `trusted` a list of your proxies' networks such as
# `["10.0.0.0/8"]`. Return the client's address, the safe way. Write it yourself; the check compares it
# with `k8s.proxies.client_ip` on many generated requests and shows the smallest one it gets wrong.
# (`ipaddress.ip_address(a) in ipaddress.ip_network(n)` tests membership.)

# %%
def pick_client(peer, xff, trusted):
    ### BEGIN SOLUTION
    networks = [ipaddress.ip_network(n) for n in trusted]

    def is_trusted(address):
        return any(ipaddress.ip_address(address) in net for net in networks)

    if not is_trusted(peer):
        return peer
    client = peer
    for entry in reversed([e.strip() for e in xff.split(",") if e.strip()]):
        client = entry
        if not is_trusted(entry):
            break
    return client
    ### END SOLUTION


answer = pick_client

# %%
k8s.check.xff_picker(answer)

# %% [markdown]
# ### Exercise 8.3 · compute: decode a PROXY protocol header
#
# A load balancer configured for the PROXY protocol sent these bytes first on a connection. Decode them
# with `k8s.proxies.decode` and answer with the client's endpoint as `"address:port"`.

# %%
data = k8s.check.PROXY_BYTES
print(data)

# %%
### BEGIN SOLUTION
header, size = k8s.proxies.decode(data)
answer = f"{header.src_addr}:{header.src_port}"
### END SOLUTION

# %%
k8s.check.proxy_source(answer)

# %% [markdown]
# ### Exercise 8.4 · forensics: the ingress controller, from the app's log
#
# Browsers reach the app through a CDN (203.0.113.50, which appends to `X-Forwarded-For`), the cloud load
# balancer (pass-through), and an ingress controller running in a pod (10.244.2.9) behind its own
# Service; the ingress appends to `X-Forwarded-For` too. These are three lines of the app's log: the TCP
# peer and the header it received, from the browser 198.51.100.7. Which `externalTrafficPolicy` does the
# ingress controller's Service have, and which node did each request enter the cluster at (the nodes
# are those of the uneven cluster)? Answer as `{"policy": ..., "entry_nodes": [three node names]}`.

# %%
print(k8s.check.cluster("8.4"))
k8s.check.data("8.4")

# %%
### BEGIN SOLUTION
answer = {"policy": "Cluster", "entry_nodes": ["node-b", "node-a", "node-c"]}
### END SOLUTION

# %%
k8s.check.ingress_forensics(answer)

# %% [markdown]
# ### Exercise 8.5 · debug: the misconfigured hop
#
# A request went through three proxies to the app. Each row shows a hop, the TCP peer it saw and the
# `X-Forwarded-For` it received. The app logs the wrong client. Which hop is misconfigured? Answer with
# its name.

# %%
for row in k8s.check.proxy_chain():
    print(f"{row['hop']:9} peer={row['peer']:14} X-Forwarded-For: {row['x_forwarded_for']!r}")

# %%
### BEGIN SOLUTION
answer = "cloud-lb"  # it received "198.51.100.23" but sent only its own peer, not the list plus peer
### END SOLUTION

# %%
k8s.check.misconfigured_hop(answer)

# %% [markdown]
# ### Your exercises in this notebook
#
# What the checks above said in this session (*Run All* fills it in).

# %%
k8s.check.summary(8)

# %% [markdown]
# Next: [exercises 08b](08b-what-depends-on-the-client-ip.ipynb).
