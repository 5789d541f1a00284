"""A small interpreter for the nftables rulesets k8slearn renders (tests only).

It parses ``nft -f`` text of the shape :mod:`k8slearn.dataplane.nft` writes (``add rule``,
``add element`` lines of the ``kube-proxy`` table) and walks one new connection through the base
chains in the order the kernel runs them: the pre-DNAT filter chains (``firewall-check``), the NAT
chains (``services``: DNAT, with every branch of a ``numgen`` choice), then the filter chains after
DNAT (``service-endpoints-check``, ``cluster-ips-check``, and ``nodeport-endpoints-check`` for a
packet that stays on the node). It knows only the rule shapes kube-proxy writes and fails on
anything else, so a new rule shape cannot slip through unexamined.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

_RULE = re.compile(r"^add rule (ip6?) kube-proxy (\S+) (.*)$")
_ELEMENT = re.compile(r'^add element (ip6?) kube-proxy (\S+) \{ (.*?)(?: comment "[^"]*")?(?: : (.*))? \}$')


@dataclass(frozen=True)
class Pkt:
    src: object
    dst: object
    dport: int
    proto: str = "tcp"
    src_local: bool = False  # fib saddr type local
    local_addresses: frozenset = frozenset()  # the node's own addresses (fib daddr type local)
    from_host: bool = False  # generated on the node itself (output hooks instead of prerouting)


class Table:
    def __init__(self, text: str) -> None:
        self.rules: dict[str, list[str]] = {}
        self.maps: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for line in text.splitlines():
            m = _RULE.match(line)
            if m:
                self.rules.setdefault(m.group(2), []).append(m.group(3))
                continue
            m = _ELEMENT.match(line)
            if m:
                key = tuple(part.strip() for part in m.group(3).split(" . "))
                self.maps.setdefault(m.group(2), []).append((key, (m.group(4) or "").strip()))
            elif line.startswith("add chain "):
                self.rules.setdefault(line.split()[4], [])

    def lookup(self, name: str, key: tuple[str, ...]) -> str | None:
        for k, v in self.maps.get(name, ()):
            if k == key:
                return v if v else "member"
        return None


def _addr_match(ip: object, text: str) -> bool:
    net = ipaddress.ip_network(text, strict=False)
    return getattr(ip, "version", 0) == net.version and ip in net


@dataclass(frozen=True)
class State:
    marked: bool = False
    dnat: tuple | None = None  # (ip, port)


class Walker:
    """Every way a new connection can go through one node's ruleset."""

    def __init__(self, table: Table, family: str = "ip") -> None:
        self.t = table
        self.ipx = family

    def chain(self, name: str, p: Pkt, st: State) -> list[tuple[str, State]]:
        """Outcomes of running ``name``: ("continue", state) for falling off the end or ``return``,
        ("accept"/"drop"/"reject"/"dnat", state) for a verdict."""
        if name not in self.t.rules:
            raise AssertionError(f"unknown chain {name}")
        live = [st]
        done: list[tuple[str, State]] = []
        for rule in self.t.rules[name]:
            nxt = []
            for s in live:
                for outcome, s2 in self.rule(rule, p, s):
                    if outcome == "return":  # the end of this chain
                        done.append(("continue", s2))
                    else:
                        (nxt if outcome == "next" else done).append((outcome, s2))
            live = [s for _, s in nxt]
            if not live:
                break
        return done + [("continue", s) for s in live]

    def rule(self, rule: str, p: Pkt, st: State) -> list[tuple[str, State]]:
        """``("next", state)`` when the rule does not match (or only changed the state), else the verdicts."""
        ipx = r"ip6?"
        text = re.sub(r' comment "[^"]*"$', "", rule).strip()
        dst = st.dnat[0] if st.dnat else p.dst
        dport = st.dnat[1] if st.dnat else p.dport
        while text:
            m = re.match(r"^ct state new\s*", text)
            if m:
                text = text[m.end():]
                continue
            m = re.match(rf"^{ipx} daddr \. meta l4proto \. th dport vmap @(\S+)$", text)
            if m:
                verdict = self.t.lookup(m.group(1), (str(dst), p.proto, str(dport)))
                return [("next", st)] if verdict is None else self.verdict(verdict, p, st)
            m = re.match(r"^meta l4proto \. th dport vmap @(\S+)$", text)
            if m:
                verdict = self.t.lookup(m.group(1), (p.proto, str(dport)))
                return [("next", st)] if verdict is None else self.verdict(verdict, p, st)
            m = re.match(rf"^{ipx} daddr @(\S+)\s*", text)
            if m:
                if self.t.lookup(m.group(1), (str(dst),)) is None:
                    return [("next", st)]
                text = text[m.end():]
                continue
            m = re.match(rf"^{ipx} (saddr|daddr) (!= )?\{{ ([^}}]*) \}}\s*", text)
            if m:
                ip = p.src if m.group(1) == "saddr" else dst
                inside = any(_addr_match(ip, a.strip()) for a in m.group(3).split(","))
                if inside == bool(m.group(2)):
                    return [("next", st)]
                text = text[m.end():]
                continue
            m = re.match(rf"^{ipx} saddr @(affinity-\S+)\s*", text)
            if m:  # a new client has no affinity entry yet (as upstream's tracer assumes)
                return [("next", st)]
            m = re.match(rf"^{ipx} (saddr|daddr) (!= )?([0-9a-fA-F:.]+(?:/\d+)?)\s+", text)
            if m:
                ip = p.src if m.group(1) == "saddr" else dst
                if _addr_match(ip, m.group(3)) == bool(m.group(2)):
                    return [("next", st)]
                text = text[m.end():]
                continue
            m = re.match(r"^fib (saddr|daddr) type local\s*", text)
            if m:
                local = p.src_local if m.group(1) == "saddr" else dst in p.local_addresses
                if not local:
                    return [("next", st)]
                text = text[m.end():]
                continue
            m = re.match(r"^numgen random mod (\d+) vmap \{ (.*) \}$", text)
            if m:
                out = []
                for entry in m.group(2).split(" , "):
                    verdict = entry.split(" : ", 1)[1]
                    out += self.verdict(verdict, p, st)
                return out
            m = re.match(rf"^update @\S+ \{{ {ipx} saddr \}}$", text)
            if m:
                return [("next", st)]
            m = re.match(r"^meta l4proto (tcp|udp|sctp) dnat to \[?([0-9a-fA-F:.]+?)\]?:(\d+)$", text)
            if m:
                if m.group(1) != p.proto:
                    return [("next", st)]
                return [("dnat", replace(st, dnat=(ipaddress.ip_address(m.group(2)), int(m.group(3)))))]
            return self.verdict(text, p, st)
        return [("next", st)]

    def verdict(self, verdict: str, p: Pkt, st: State) -> list[tuple[str, State]]:
        verdict = verdict.strip()
        if verdict == "jump mark-for-masquerade":
            return [("next", replace(st, marked=True))]
        m = re.match(r"^(jump|goto) (\S+)$", verdict)
        if m:
            results = self.chain(m.group(2), p, st)
            out = []
            for outcome, s in results:
                if outcome == "continue":
                    # jump: carry on after the rule; goto: the calling chain is over too
                    out.append(("next", s) if m.group(1) == "jump" else ("return", s))
                else:
                    out.append((outcome, s))
            return out
        if verdict in ("drop", "reject", "accept"):
            return [(verdict, st)]
        if verdict == "return":
            return [("return", st)]
        raise AssertionError(f"the walker does not know {verdict!r}")

    def base(self, name: str, p: Pkt, st: State) -> list[tuple[str, State]]:
        return self.chain(name, p, st)

    def connect(self, p: Pkt) -> tuple[str, set]:
        """("DNAT", {(endpoint ip, marked)}), or ("DROP"|"REJECT"|"NO_MATCH", set())."""
        pre, nat = ("filter-output-pre-dnat", "nat-output") if p.from_host else ("filter-prerouting-pre-dnat", "nat-prerouting")
        finals: list[tuple[str, State]] = []
        for outcome, st in self.base(pre, p, State()):
            if outcome != "continue":
                finals.append((outcome, st))
                continue
            for outcome2, st2 in self.base(nat, p, st):
                if outcome2 not in ("continue", "dnat"):
                    finals.append((outcome2, st2))
                    continue
                finals += self.after_nat(p, st2)
        verdicts = {o for o, _ in finals}
        if "dnat" in verdicts:
            assert verdicts == {"dnat"}, f"some branches DNAT, others end {verdicts}"
            return "DNAT", {(s.dnat[0], s.marked) for _, s in finals}
        verdicts -= {"continue", "accept"}
        assert len(verdicts) <= 1, verdicts
        return ({"drop": "DROP", "reject": "REJECT"}[verdicts.pop()] if verdicts else "NO_MATCH"), set()

    def after_nat(self, p: Pkt, st: State) -> list[tuple[str, State]]:
        dst = st.dnat[0] if st.dnat else p.dst
        local = dst in p.local_addresses
        hooks = ["filter-output"] if p.from_host else []
        if local:
            hooks.append("filter-input")
        elif not p.from_host:
            hooks.append("filter-forward")
        states = [("continue", st)]
        for hook in hooks:
            nxt = []
            for outcome, s in states:
                if outcome != "continue":
                    nxt.append((outcome, s))
                    continue
                nxt += self.base(hook, p, s)
            states = nxt
        return [("dnat" if o == "continue" and s.dnat else o, s) for o, s in states]
