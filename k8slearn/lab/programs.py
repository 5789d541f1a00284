"""The two small programs the kernel lab runs inside network namespaces (Python standard library only).

``ECHO_SERVER`` plays a pod: it accepts TCP connections (IPv4 and IPv6) and answers each with one
JSON line naming the pod and the peer address it saw (what an app would log as the client IP).
``CLIENT`` plays the external clients: it opens a bounded number of connections to one address,
concurrently, with a short timeout, from one or more source addresses in turn, and prints one JSON
list of what happened to each (with the source it used).

They run as ``python -I -c <code> ...`` under ``ip netns exec``, so they do not import k8slearn and
start in a few tens of milliseconds.
"""

from __future__ import annotations

__all__ = ["ECHO_SERVER", "CLIENT", "MARKER"]

#: Every lab process carries this word in its command line, so a test can look for leftovers.
MARKER = "k8sl-lab-process"

ECHO_SERVER = r"""
import json, socket, sys
name, port = sys.argv[1], int(sys.argv[2])
try:  # one socket for both families where the kernel allows it (dual-stack pods)
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    address = ("::", port)
except OSError:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    address = ("0.0.0.0", port)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(address)
s.listen(1024)
print("ready", flush=True)
while True:
    conn, peer = s.accept()
    host = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
    try:
        conn.sendall((json.dumps({"pod": name, "peer": host, "peer_port": peer[1]}) + "\n").encode())
    except OSError:
        pass
    finally:
        conn.close()
"""

CLIENT = r"""
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
host, port, count, timeout, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
sources = [a for a in (sys.argv[7] if len(sys.argv) > 7 else "").split(",") if a]
warm_up = len(sys.argv) > 8 and sys.argv[8] == "warm-up"
count = max(0, min(count, 2000))  # bounded, whatever the caller asks
family = socket.AF_INET6 if ":" in host else socket.AF_INET

def one(k):
    source = sources[k % len(sources)] if sources else ""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
        answer = json.loads(data.decode())
        answer["outcome"] = "answered"
    except socket.timeout:
        answer = {"outcome": "timeout"}
    except ConnectionRefusedError:
        answer = {"outcome": "refused"}
    except OSError as err:
        answer = {"outcome": "error", "error": str(err)}
    finally:
        s.close()
    if source:
        answer["src"] = source
    return answer

# With "warm-up", each source's first connection goes alone, so that a sessionAffinity memory is in
# place before the rest arrive together (two first packets racing through netfilter could both miss it).
first = list(range(min(len(sources), count))) if warm_up else []
results = [one(k) for k in first]
with ThreadPoolExecutor(max_workers=max(1, min(workers, 64))) as pool:
    results += list(pool.map(one, range(len(first), count)))
print(json.dumps(results))
"""
