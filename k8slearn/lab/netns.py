"""Build and remove the lab's miniature cluster in Linux network namespaces.

::

    k8sl-client ──veth── k8sl-router ──bridge "lan" 192.168.0.0/24── k8sl-n-node-a ──bridge cni0── k8sl-p-web-1
    198.51.100.7         198.51.100.1 / 192.168.0.1                   192.168.0.11 / 10.244.1.1      10.244.1.5
                         (the load balancer: routes the LB IP        k8sl-n-node-b, k8sl-n-node-c ...
                          to one node, like a pass-through L4 LB)

Every namespace, interface, address, route and rule lives inside a namespace this module created,
named with the prefix ``k8sl-``; nothing is added to the host's own namespace (veth pairs are created
inside the router or node namespace with their peer placed directly in the other one). Processes
are started with ``ip netns exec`` and tracked by their process id. :func:`cleanup` removes it all,
and also whatever a crashed run left behind (it finds the namespaces by prefix and ends only the
processes running inside them).

One run at a time: a run holds :func:`lab_lock` (an ``flock`` on ``/run/k8slearn-lab.lock``) from its
checks to the end of its cleanup, and :func:`cleanup` takes the same lock, so a second run, or a
``--cleanup`` while a run is live, is refused instead of removing the live run's namespaces. The
kernel drops the lock when its holder exits, however it exits (even ``kill -9``).
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_interface

from ..errors import K8sLearnError
from ..model import CLIENT_IP, CLIENT_IP6, Cluster
from .programs import ECHO_SERVER, MARKER

__all__ = ["PREFIX", "LabError", "Topology", "build", "cleanup", "leftovers", "check_host", "run_in",
           "CLEANUP_COMMAND", "LOCK_PATH", "lab_lock", "lock_holder", "leftover_processes", "EXTRA_CLIENTS",
           "OFFICE", "OFFICE_NAT"]

PREFIX = "k8sl-"
CLEANUP_COMMAND = "sudo k8slearn lab --cleanup"
#: The lock a lab run holds for its whole life (root-only directory, so no other user can plant it).
LOCK_PATH = "/run/k8slearn-lab.lock"
ROUTER_CLIENT_SIDE = IPv4Address("198.51.100.1")
ROUTER_NODE_SIDE_OFFSET = 1  # 192.168.0.1
#: More clients on the client's network (the scenarios' second client, an address outside a
#: loadBalancerSourceRanges, and an office of four behind one NAT).
EXTRA_CLIENTS = tuple(IPv4Address(a) for a in ("198.51.100.8", "198.51.100.77", "198.51.100.20", "198.51.100.21",
                                                "198.51.100.22", "198.51.100.23"))
#: The office behind a NAT: the router rewrites their source to its own client-side address.
OFFICE = IPv4Network("198.51.100.20/30")
OFFICE_NAT = ROUTER_CLIENT_SIDE
#: The IPv6 side of a dual-stack lab (documentation and unique-local prefixes): the client's network
#: and the node network, each a /64 with the router at ::1.
CLIENT_NET6 = IPv6Network("2001:db8:100::/64")
NODE_NET6 = IPv6Network("fd00:192:168::/64")
ROUTER_CLIENT_SIDE6 = IPv6Address("2001:db8:100::1")
ROUTER_NODE_SIDE6 = IPv6Address("fd00:192:168::1")


class LabError(K8sLearnError):
    """The kernel lab cannot run here (not root, tools missing, leftovers, address clash)."""


_held = 0  # how deeply this process holds the lock (run() holds it, and calls cleanup() inside)


def _open_lock() -> int:
    try:
        return os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise LabError(f"cannot open the lab's lock file {LOCK_PATH}: {err.strerror}",
                       hint="the kernel lab needs root, e.g. `sudo k8slearn lab`.") from None


def lock_holder() -> str | None:
    """Who holds the lab lock now ("pid 1234, run, started 12:00:01"), or None if no one does.

    This process's own hold does not count.
    """
    if _held or not os.path.exists(LOCK_PATH):
        return None
    fd = _open_lock()
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextmanager
def lab_lock(purpose: str) -> Iterator[None]:
    """Hold the lab lock (``flock`` on :data:`LOCK_PATH`) for the ``with`` block, or refuse at once.

    Raises :class:`LabError` naming the holder if another process has it. Re-entrant within one
    process: a run holds it and calls :func:`cleanup`, which takes it too.
    """
    global _held
    if _held:
        _held += 1
        try:
            yield
        finally:
            _held -= 1
        return
    fd = _open_lock()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        what = ("it would remove the live run's namespaces" if purpose == "cleanup" else
                "two runs would share the namespaces and each one's cleanup would remove the other's")
        raise LabError(f"a kernel lab run is in progress ({holder}); {purpose} refused: {what}",
                       hint="wait for it to finish, or stop it (Ctrl-C, or kill its process id): it removes "
                       f"what it built; a run killed with -9 leaves namespaces that `{CLEANUP_COMMAND}` removes.")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, {purpose}, started {time.strftime('%H:%M:%S')}\n".encode(), 0)
    _held = 1
    try:
        yield
    finally:
        _held = 0
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _ip(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run(["ip", *args], input=input, text=True, capture_output=True, check=False)
    if check and run.returncode != 0:
        output = (run.stderr.strip() or run.stdout.strip())[:500] or f"exit status {run.returncode}, no message"
        raise LabError(f"ip {' '.join(args)[:200]} failed: {output}",
                       hint="the lab stops and removes what it built; see the message above.")
    return run


def _batch(ns: str, commands: list[str]) -> None:
    """Run ``ip`` commands inside one namespace, in one process."""
    if commands:
        _ip("-n", ns, "-batch", "-", input="\n".join(commands) + "\n")


def run_in(ns: str, argv: list[str], *, input: str | None = None, timeout: float = 30.0,
           check: bool = True) -> subprocess.CompletedProcess:
    """Run a command inside a lab namespace (``ip netns exec``) and wait for it."""
    if not ns.startswith(PREFIX):
        raise LabError(f"refusing to run in namespace {ns!r}: not one of the lab's ({PREFIX}*)")
    run = subprocess.run(["ip", "netns", "exec", ns, *argv], input=input, text=True, capture_output=True,
                         timeout=timeout, check=False)
    if check and run.returncode != 0:
        output = (run.stderr.strip() or run.stdout.strip())[:500] or f"exit status {run.returncode}, no message"
        raise LabError(f"{' '.join(argv[:2])} in {ns} failed: {output}",
                       hint="the lab stops and removes what it built; see the message above.")
    return run


def leftovers() -> list[str]:
    """The lab namespaces that exist now (a previous run that did not finish cleaning up)."""
    if not shutil.which("ip"):
        return []
    run = subprocess.run(["ip", "netns", "list"], text=True, capture_output=True, check=False)
    names = [line.split()[0] for line in run.stdout.splitlines() if line.strip()]
    return sorted(n for n in names if n.startswith(PREFIX))


def leftover_processes(namespaces: list[str] | None = None) -> list[int]:
    """The process ids running inside lab namespaces (``ip netns pids``)."""
    pids: list[int] = []
    for ns in leftovers() if namespaces is None else namespaces:
        out = subprocess.run(["ip", "netns", "pids", ns], text=True, capture_output=True, check=False).stdout.split()
        pids += [int(p) for p in out if p.isdigit()]
    return pids


def cleanup(processes: list[subprocess.Popen] | None = None) -> list[str]:
    """End the lab's processes and delete every ``k8sl-`` namespace. Returns what was removed.

    Processes are ended by their id: the ones this run started (``processes``), then any process
    still running inside a lab namespace (``ip netns pids``), which only a lab run can have started.
    Refused with :class:`LabError` while another process runs the lab (see :func:`lab_lock`).
    """
    with lab_lock("cleanup"):
        return _cleanup(processes)


def _cleanup(processes: list[subprocess.Popen] | None) -> list[str]:
    for proc in processes or []:
        if proc.poll() is None:
            proc.terminate()
    for proc in processes or []:
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=2)
    removed = []
    for ns in leftovers():
        pids = subprocess.run(["ip", "netns", "pids", ns], text=True, capture_output=True, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        deadline = time.monotonic() + 2
        while pids and time.monotonic() < deadline:
            pids = subprocess.run(["ip", "netns", "pids", ns], text=True, capture_output=True, check=False).stdout.split()
            if pids:
                time.sleep(0.02)
        subprocess.run(["ip", "netns", "del", ns], text=True, capture_output=True, check=False)
        removed.append(ns)
    return removed


def _lab_networks(cluster: Cluster) -> list[IPv4Network | IPv6Network]:
    nets = {IPv4Network(f"{CLIENT_IP}/24", strict=False), IPv4Network("192.168.0.0/24"), cluster.cluster_cidr}
    if cluster.dual_stack:
        nets |= {CLIENT_NET6, NODE_NET6, cluster.cluster_cidr6}
    for s in cluster.services:
        for a in (s.cluster_ip, s.load_balancer_ip, *s.external_ips, *s.cluster_ips, *s.load_balancer_ips):
            if a is not None:
                nets.add(ip_interface(a).network)
    return sorted(nets, key=lambda n: (n.version, n))


def check_host(cluster: Cluster) -> None:
    """Refuse to run if the host itself uses any of the lab's address ranges (``ip addr``).

    The lab's addresses live only in its own namespaces, so they could not break the host; but a
    clash would make the lab's output confusing to compare with the host, so it is refused.
    """
    run = _ip("-o", "addr", "show")
    host = []
    for line in run.stdout.splitlines():
        parts = line.split()
        for kind in ("inet", "inet6"):
            if kind in parts:
                host.append(ip_interface(parts[parts.index(kind) + 1]).network)
    clashes = [(h, n) for h in host for n in _lab_networks(cluster)
               if h.version == n.version and h.overlaps(n) and not h.is_loopback and not h.is_link_local]
    if clashes:
        h, n = clashes[0]
        raise LabError(f"the host uses {h}, which overlaps the lab's range {n}",
                       hint="the lab keeps its addresses inside its own namespaces; run it on a machine "
                       "(or VM/container) whose own addresses are outside 192.168.0.0/24, 10.244.0.0/16, "
                       "198.51.100.0/24 and 203.0.113.0/24 (and, dual-stack, 2001:db8::/32 and fd00::/8 "
                       "ranges the lab uses).")


@dataclass
class Topology:
    """What :func:`build` made: namespace names and the processes serving in the pods."""

    cluster: Cluster
    client: str = PREFIX + "client"
    router: str = PREFIX + "router"
    nodes: dict[str, str] = field(default_factory=dict)  # node name -> namespace
    pods: dict[str, str] = field(default_factory=dict)  # pod name -> namespace
    processes: list[subprocess.Popen] = field(default_factory=list)

    def namespaces(self) -> list[str]:
        return [self.client, self.router, *self.nodes.values(), *self.pods.values()]


def _sysctls(ns: str, *, forward: bool) -> None:
    settings = {"net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0",
                "net/ipv4/ip_forward": "1" if forward else "0",
                "net/ipv6/conf/all/forwarding": "1" if forward else "0",
                # addresses usable at once (no duplicate address detection wait), no router adverts
                "net/ipv6/conf/all/accept_dad": "0", "net/ipv6/conf/default/accept_dad": "0",
                "net/ipv6/conf/all/accept_ra": "0", "net/ipv6/conf/default/accept_ra": "0"}
    script = "; ".join(f"echo {v} > /proc/sys/{k}" for k, v in settings.items())
    # Bridged frames should not pass iptables twice (br_netfilter); per namespace, where the kernel has it.
    script += "; [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables; true"
    run_in(ns, ["sh", "-c", script])


def build(cluster: Cluster, *, service: str = "web") -> Topology:
    """Create the namespaces, links, addresses and routes for ``cluster``, and start an echo server per pod."""
    topo = Topology(cluster)
    for node in cluster.nodes:
        topo.nodes[node.name] = f"{PREFIX}n-{node.name}"
    svc = cluster.service(service)
    for pod in cluster.pods:
        topo.pods[pod.name] = f"{PREFIX}p-{pod.name}"
    for ns in topo.namespaces():
        _ip("netns", "add", ns)

    lan = IPv4Network("192.168.0.0/24")
    router_lan = lan.network_address + ROUTER_NODE_SIDE_OFFSET
    # Router: the client's side and a bridge for the node network. veth peers go straight into
    # the other namespace, so nothing ever exists in the host's namespace.
    cmds = ["link set lo up",
            f"link add to-client type veth peer name eth0 netns {topo.client}",
            f"addr add {ROUTER_CLIENT_SIDE}/24 dev to-client", "link set to-client up",
            "link add lan type bridge", f"addr add {router_lan}/24 dev lan", "link set lan up"]
    for i, node in enumerate(cluster.nodes):
        cmds += [f"link add n{i} type veth peer name eth0 netns {topo.nodes[node.name]}",
                 f"link set n{i} master lan", f"link set n{i} up"]
    for node in cluster.nodes:
        cmds.append(f"route add {node.pod_cidr} via {node.ip}")
    six = cluster.dual_stack  # the same again over IPv6 (nodad: usable at once)
    if six:
        cmds += [f"addr add {ROUTER_CLIENT_SIDE6}/64 dev to-client nodad", f"addr add {ROUTER_NODE_SIDE6}/64 dev lan nodad"]
        cmds += [f"route add {node.pod_cidr6} via {node.ip6}" for node in cluster.nodes]
    _batch(topo.router, cmds)
    _sysctls(topo.router, forward=True)
    # The office NAT (a home router, a corporate gateway): kube-proxy sees one source for all four.
    run_in(topo.router, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", str(OFFICE), "-o", "lan",
                         "-j", "SNAT", "--to-source", str(OFFICE_NAT)])

    _batch(topo.client, ["link set lo up", f"addr add {CLIENT_IP}/24 dev eth0", "link set eth0 up",
                         *(f"addr add {a}/24 dev eth0" for a in EXTRA_CLIENTS),
                         f"route add default via {ROUTER_CLIENT_SIDE}",
                         *([f"addr add {CLIENT_IP6}/64 dev eth0 nodad", f"route add default via {ROUTER_CLIENT_SIDE6}"]
                           if six else [])])

    for node in cluster.nodes:
        ns = topo.nodes[node.name]
        _sysctls(ns, forward=True)
        cmds = ["link set lo up", f"addr add {node.ip}/24 dev eth0", "link set eth0 up",
                f"route add default via {router_lan}",
                "link add cni0 type bridge", f"addr add {node.bridge_ip}/{node.pod_cidr.prefixlen} dev cni0",
                "link set cni0 up"]
        for other in cluster.nodes:
            if other.name != node.name:
                cmds.append(f"route add {other.pod_cidr} via {other.ip}")
        if six:
            cmds += [f"addr add {node.ip6}/64 dev eth0 nodad", f"route add default via {ROUTER_NODE_SIDE6}",
                     f"addr add {node.bridge_ip6}/64 dev cni0 nodad"]
            cmds += [f"route add {other.pod_cidr6} via {other.ip6}" for other in cluster.nodes if other.name != node.name]
        for j, pod in enumerate(cluster.pods_on(node)):
            cmds += [f"link add p{j} type veth peer name eth0 netns {topo.pods[pod.name]}",
                     f"link set p{j} master cni0", f"link set p{j} up"]
        _batch(ns, cmds)

    for pod in cluster.pods:
        node = cluster.node(pod.node)
        _batch(topo.pods[pod.name], ["link set lo up", f"addr add {pod.ip}/{node.pod_cidr.prefixlen} dev eth0",
                                     "link set eth0 up", f"route add default via {node.bridge_ip}",
                                     *([f"addr add {pod.ip6}/64 dev eth0 nodad", f"route add default via {node.bridge_ip6}"]
                                       if six and pod.ip6 is not None else [])])

    for pod in cluster.pods:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", topo.pods[pod.name], sys.executable, "-I", "-c", ECHO_SERVER,
             pod.name, str(svc.target_port), MARKER],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        topo.processes.append(proc)
    for proc, pod in zip(topo.processes, cluster.pods):
        ready, _, _ = select.select([proc.stdout], [], [], 5.0)
        line = proc.stdout.readline() if ready and proc.stdout else ""
        if line.strip() != "ready":
            err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
            raise LabError(f"the echo server in {pod.name} did not start: {err.strip()[:300]}")
    return topo
