"""The two small programs the kernel lab runs inside network namespaces (Python standard library only).

``ECHO_SERVER`` plays a pod: it accepts TCP connections and answers each with one JSON line naming
the pod and the peer address it saw (what an app would log as the client IP). ``CLIENT`` plays the
external client: it opens a bounded number of connections to one address, concurrently, with a
short timeout, and prints one JSON list of what happened to each.

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
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(1024)
print("ready", flush=True)
while True:
    conn, peer = s.accept()
    try:
        conn.sendall((json.dumps({"pod": name, "peer": peer[0], "peer_port": peer[1]}) + "\n").encode())
    except OSError:
        pass
    finally:
        conn.close()
"""

CLIENT = r"""
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
host, port, count, timeout, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
count = max(0, min(count, 2000))  # bounded, whatever the caller asks

def one(_):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
        answer = json.loads(data.decode())
        answer["outcome"] = "answered"
        return answer
    except socket.timeout:
        return {"outcome": "timeout"}
    except ConnectionRefusedError:
        return {"outcome": "refused"}
    except OSError as err:
        return {"outcome": "error", "error": str(err)}
    finally:
        s.close()

with ThreadPoolExecutor(max_workers=max(1, min(workers, 64))) as pool:
    print(json.dumps(list(pool.map(one, range(count)))))
"""
