# %% [markdown] slide="slide"
# # 08 · Beyond L4: proxies, X-Forwarded-For, Forwarded and the PROXY protocol
#
# `externalTrafficPolicy: Local` keeps the client's IP only while every hop before the node just
# forwards packets. As soon as something *terminates* the connection (a CDN, an L7 load balancer,
# an ingress controller or Gateway, an L4 proxy), the next hop's TCP source is that proxy. The
# client's address then survives only if the proxy writes it down, and only if the app reads it
# back safely.
#
# **Learning objectives**
# - Say, for each hop of a chain, what the TCP source is and what the headers say.
# - Pick the client from `X-Forwarded-For` safely (rightmost untrusted entry), and show why the
#   leftmost entry is a security hole.
# - Read and write PROXY protocol v1 and v2 headers, and explain why both ends must switch together.
# - Explain why in-cluster clients never see the load balancer's PROXY header, and what
#   `ipMode: Proxy` changes.
#
# **Prerequisites**: [notebook 4](04-external-traffic-policy-local.ipynb) (Local keeps the client IP).
#
# **Time**: about 25 minutes (all of it going further).

# %%
import k8slearn as k8s
from k8slearn.proxychain import App, Proxy, cdn_chain, follow

# %% [markdown] slide="slide" tags=["going-further"]
# ## Where the IP is lost: one chain, hop by hop
# *Going further · 5 minutes*
#
# A common chain: a CDN (L7) → the cloud load balancer (a pass-through L4 balancer) → an ingress
# controller running in a pod (L7) → the app. The ingress controller is itself behind a Service,
# here with `externalTrafficPolicy: Local`. The app trusts the CDN's range (203.0.113.0/24 in this
# example) and the pod network (10.244.0.0/16).

# %% tags=["nbval-check-output"]
trusted = App(trusted=["203.0.113.0/24", "10.244.0.0/16"])
path = follow(cdn_chain(), app=trusted)
print(path)
path.to_frame()

# %% [markdown]
# Read the `tcp_peer` column: after the CDN, nobody sees 198.51.100.7 as the TCP source any more.
# The pass-through load balancer changes nothing (its row shows the CDN, not itself). The
# ingress sees the CDN and the app sees the ingress pod. The client survives only in
# `X-Forwarded-For`, where each L7 proxy appended the peer it saw.
#
# The ingress sees the CDN only because its own Service is `Local`. Under the default `Cluster`, the
# node masquerades the connection first: the ingress sees a node IP and appends **that** to
# `X-Forwarded-For`, and the app, which does not trust the node, takes the node for the client:[1]

# %% tags=["nbval-check-output"]
behind_cluster = follow(cdn_chain(ingress_policy="Cluster"), app=trusted)
print(behind_cluster)
print("X-Forwarded-For at the app:", behind_cluster.hops[-1].x_forwarded_for)

# %% [markdown] tags=["predict"]
# ### Predict 8.1
#
# Now the app trusts *nobody* (it takes the TCP peer unless the peer is a trusted proxy). Which
# address will it log? Lock in an address, then reveal.

# %% tags=["guess"]
k8s.predict("8.1", ...)

# %% tags=["reveal"]
distrustful = follow(cdn_chain(), app=App())
k8s.reveal("8.1", distrustful.client_seen_by_app)

# %% tags=["nbval-check-output"]
print(distrustful)

# %% [markdown]
# The ingress pod's address: an app that ignores the headers logs its own ingress for every
# request. The client's address was carried all the way, but nobody read it.

# %% [markdown] slide="slide" tags=["misconception-10", "going-further"]
# ## "X-Forwarded-For is the client IP": a chain, and its left end is forgeable
# *Going further · 7 minutes*
#
# `X-Forwarded-For` is a comma list: whatever the *client* sent, followed by one entry per proxy.
# A client can send its own header, so the leftmost entry is whatever the client wants it to be.
# The only safe rule (MDN's X-Forwarded-For page, "Selecting an IP address"; RFC 7239 §8.1 warns that
# the header can be forged): if the TCP peer is a trusted proxy, walk the list from the **right**,
# skip trusted proxies, and take the first address you do not trust.

# %% tags=["nbval-check-output"]
spoofed = follow(cdn_chain(), x_forwarded_for="1.2.3.4", app=trusted)
print("header the app receives:", spoofed.hops[-1].x_forwarded_for)
print("safe pick (rightmost untrusted):", spoofed.client_seen_by_app)
print("naive pick (leftmost):          ", spoofed.naive_client)

# %% [markdown]
# Why it matters: a rate limiter keyed on the leftmost entry gives an attacker a fresh identity
# with every request. Here one client sends 100 requests, each with a made-up header:

# %% tags=["nbval-check-output"]
requests = [follow(cdn_chain(), x_forwarded_for=f"192.0.2.{i}", app=trusted) for i in range(100)]
print("distinct clients, naive key:", len({r.naive_client for r in requests}))
print("distinct clients, safe key: ", len({r.client_seen_by_app for r in requests}))

# %% [markdown]
# Several `X-Forwarded-For` headers are one list, joined in order. The library's parser does that
# and keeps anything that is not an address as text, so a hop such as `unknown` stays visible:

# %%
k8s.proxies.parse_xff(["1.2.3.4, 198.51.100.7", "203.0.113.50", "unknown"])

# %% [markdown]
# Another safe variant, when you know exactly how many proxies stand in front of the app: trust
# that many entries from the right.

# %% tags=["nbval-check-output"]
print(k8s.proxies.client_ip_by_hops("10.244.2.9", "1.2.3.4, 198.51.100.7, 203.0.113.50", hops=2))

# %% [markdown] slide="subslide"
# ### The standard header: `Forwarded` (RFC 7239)
#
# `Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43` says the same thing with named
# parameters. IPv6 addresses (with an optional port) must be quoted and bracketed, and a proxy may
# hide an address behind an obfuscated name such as `_hidden` or `unknown`.

# %% tags=["nbval-check-output"]
for element in k8s.proxies.parse_forwarded('for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"'):
    print(element)

# %%
try:
    k8s.proxies.parse_forwarded("for=2001:db8:cafe::17")
except k8s.K8sLearnError as err:
    print(err)

# %% [markdown] tags=["self-check"]
# **Self-check.** The app's TCP peer is 10.244.2.9 (the ingress, trusted) and it receives
# `X-Forwarded-For: 10.0.0.7, 198.51.100.7, 203.0.113.50`. It trusts 203.0.113.0/24 and
# 10.244.0.0/16. Which address is the client?
#
# <details><summary>Answer</summary>198.51.100.7: from the right, 203.0.113.50 is trusted (the
# CDN) and 198.51.100.7 is the first untrusted entry. 10.0.0.7 is whatever the client wrote.</details>

# %% [markdown] slide="slide" tags=["going-further"]
# ## L4: the PROXY protocol
# *Going further · 5 minutes*
#
# An L4 proxy copies bytes and has no headers to write into. Instead it sends one PROXY protocol
# header at the start of its connection (the haproxy specification): version 1 is one text line,
# version 2 is binary. Here is the same connection, TCP over IPv4 from 192.0.2.1:56324 to
# 198.51.100.1:443, in both versions:

# %% tags=["nbval-check-output"]
from ipaddress import ip_address

header = k8s.proxies.ProxyHeader(src_addr=ip_address("192.0.2.1"), src_port=56324,
                                 dst_addr=ip_address("198.51.100.1"), dst_port=443)
print(k8s.proxies.encode_v1(header))
print(k8s.proxies.encode_v2(header).hex(" "))

# %% [markdown]
# Version 2 starts with a 12-byte signature (`0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a`), then `21`
# (version 2, command PROXY), `11` (TCP over IPv4), the length `00 0c` (12 bytes follow), and the
# addresses and ports in network byte order. Decoding is strict: a truncated or malformed header
# is an error, never a guess.

# %% tags=["nbval-check-output"]
print(k8s.proxies.decode(k8s.proxies.encode_v2(header)))
try:
    k8s.proxies.decode(b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\n")
except k8s.K8sLearnError as err:
    print(err)

# %% [markdown] tags=["predict"]
# ### Predict 8.2
#
# An L4 load balancer starts sending PROXY headers, but the app was not told to expect them. Does
# the next request still get through ("yes" or "no")?

# %% tags=["guess"]
k8s.predict("8.2", ...)

# %% tags=["reveal"]
lb4 = [Proxy("L4 LB", "192.168.255.10", "L4", send_proxy_protocol=True, load_balancer=True)]
unprepared = follow(lb4, app=App())
k8s.reveal("8.2", not unprepared.broken)

# %% tags=["nbval-check-output"]
print(unprepared)
print(follow(lb4, app=App(expect_proxy_protocol=True)))

# %% [markdown]
# Every connection breaks until both ends agree, which is why switching PROXY protocol on is a
# coordinated change: the receiver must be configured for it (never guess from the bytes) and
# must accept it only from trusted peers, or anyone can claim any address.

# %% [markdown] slide="slide" tags=["misconception-6", "going-further"]
# ## "My PROXY-protocol load balancer is always in the path": not for pods
# *Going further · 5 minutes*
#
# A pod that dials the Service's load-balancer IP, when the load balancer's status publishes an `ip`,
# never reaches the load balancer: kube-proxy catches the LB IP on the node and sends the connection
# straight to an endpoint (notebook 04b showed this short-circuit). So in-cluster clients send no
# PROXY header, and an app that insists on one rejects them:

# %% tags=["nbval-check-output"]
print(follow(lb4, app=App(expect_proxy_protocol=True), from_pod=True))

# %% [markdown]
# With a `hostname` in the status, as AWS's load balancers publish, kube-proxy has no address to catch
# and writes no rule: the pod's connection goes out through the load balancer and arrives with its
# header.[2] (With an NLB that preserves client IPs, a connection sent back to the caller's own node
# can time out: [notebook 7](07-inside-the-cluster.ipynb).) Some cloud controllers publish a hostname
# on purpose, to keep their load balancer in the path (kubernetes/kubernetes#66607):

# %% tags=["nbval-check-output"]
print(follow(lb4, app=App(expect_proxy_protocol=True), from_pod=True, status="hostname"))

# %% [markdown]
# A load balancer with an `ip` that proxies can say so: its controller (the cloud provider's) sets
# `status.loadBalancer.ingress[].ipMode: Proxy` in the service's status. kube-proxy then writes no
# rule for the LB IP, so pods' connections really go out to the load balancer and come back with its
# header (and its TLS). The feature gate `LoadBalancerIPMode` was alpha in 1.29 (off by default),
# beta and on by default in 1.30, GA in 1.32:

# %% tags=["nbval-check-output"]
print(follow(lb4, app=App(expect_proxy_protocol=True), from_pod=True, ip_mode="Proxy"))

# %% [markdown]
# The cluster simulator knows the same rule. Take a `Local` service and the client pod on node-c.
# With `ipMode: VIP` the pod's connection is short-circuited on its own node; with `Proxy` it goes
# through the load balancer, which proxies it to a NodePort, so the pod sees the load balancer's
# address (a PROXY header could carry the client's):

# %% tags=["nbval-check-output"]
cluster = k8s.examples.in_cluster()
cluster.patch_service("web", external_traffic_policy="Local")
print(k8s.send(cluster, "web", client="client", address="loadBalancerIP", seed=1).path)
cluster.patch_service("web", load_balancer_ip_mode="Proxy")
t = k8s.send(cluster, "web", client="client", address="loadBalancerIP", via="node-a", seed=1)
print(t.path)
print(t)

# %% [markdown] tags=["misconception-4", "self-check"]
# **Self-check.** Your service is `externalTrafficPolicy: Local`, behind a load balancer that
# terminates TCP and does not send PROXY headers. What client address does the app see?
#
# <details><summary>Answer</summary>The load balancer's own address. Local preserves whatever
# source the packet has when it reaches the node; after a proxy, that is the proxy. Local
# guarantees the real client IP only if every hop before the node keeps the client's source
# address.</details>

# %% [markdown] slide="slide" tags=["article-correction", "going-further"]
# ## Which tool carries the client IP today
# *Going further · 3 minutes*
#
# The source article recommends `X-Forwarded-For` for L7 load balancers and the PROXY protocol for
# L4 ones; both still hold. What changed is where you configure them. ingress-nginx was retired in
# March 2026: its `use-forwarded-headers` and `use-proxy-protocol` settings are legacy. Current
# setups use a Gateway API implementation, which has its own settings for trusted proxies
# (trusted hop counts or CIDRs) and for PROXY protocol on listeners; the rules above are the same.
# Cloud load balancers that replace the source need PROXY protocol v2 (or an attribute that keeps
# the source). An AWS NLB with a TCP listener does not terminate connections (a TLS listener does),
# but with IP targets its client-IP preservation is off by default, so it replaces the source address
# with its own: turn on `preserve_client_ip.enabled` or PROXY protocol v2.
#
# Whether the client IP reaches the pod at all, behind each real load balancer, and what depends on
# it (allow-lists, NetworkPolicy, session affinity, logs): [notebook 08b](08b-what-depends-on-the-client-ip.ipynb).

# %% [markdown]
# ## Key points
# - Every hop that terminates TCP replaces the source with its own address; `Local` cannot keep
#   what an earlier proxy already replaced.
# - L7 proxies carry the client in `X-Forwarded-For` or `Forwarded`; pick it from the **right**,
#   skipping proxies you trust. The leftmost entry is whatever the client wrote.
# - L4 proxies carry it in a PROXY protocol header; sender and receiver must be switched on
#   together, and the receiver must accept it only from trusted peers.
# - An ingress controller is behind a Service too: under its default `Cluster` it sees (and appends)
#   a node IP; `Local` or PROXY protocol lets it see the hop before.
# - Pods that dial the LB IP skip the load balancer (and its PROXY header, TLS, WAF) when its status
#   publishes an `ip`, unless the provider reports `ipMode: Proxy`; with a `hostname` (AWS) they go
#   through it.

# %%
k8s.predictions.score("08")

# %% [markdown]
# ## What's next
# [Notebook 08b](08b-what-depends-on-the-client-ip.ipynb) asks which load balancer you are behind, and
# what depends on the client IP: allow-lists, NetworkPolicy, session affinity, logs and rate limits.
# Then [notebook 9](09-dataplanes-compared.ipynb) runs the same scenarios under kube-proxy's iptables,
# nftables and IPVS modes and under Cilium, where DSR keeps the client IP even with `Cluster`.
# Practise this notebook in `exercises/08-proxies-and-headers.ipynb`.
#
# Sources: haproxy `doc/proxy-protocol.txt`; RFC 7239; MDN's X-Forwarded-For page;
# kubernetes/kubernetes `pkg/proxy/iptables/proxier.go` (no LB-IP rule when ipMode is Proxy);
# kubernetes/website `content/en/docs/concepts/services-networking/service.md` (load balancer IP mode)
# and `content/en/docs/reference/command-line-tools-reference/feature-gates/LoadBalancerIPMode.md`
# (its stages). [1] kubernetes/website `content/en/docs/tutorials/services/source-ip.md` (Cluster
# masquerades external traffic, whatever pod it is for; the ingress controller's pod is one);
# `k8s.proxychain.cdn_chain`. [2] kubernetes/kubernetes `pkg/proxy/service.go` (`newBaseServiceInfo`
# keeps only the `ip` of each `status.loadBalancer.ingress[]` entry); kubernetes/cloud-provider-aws
# `pkg/providers/v1/aws.go` (the status is the load balancer's DNS name, a `hostname`).
# AWS documentation, "TLS listeners for your Network Load Balancer"
# (`docs.aws.amazon.com/elasticloadbalancing/latest/network/create-tls-listener.html`).
