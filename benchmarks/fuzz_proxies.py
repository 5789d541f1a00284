"""A long, seeded fuzz of k8slearn.proxies' decoders; prints what it tried and what came of it.

    python benchmarks/fuzz_proxies.py               # 240,000 PROXY inputs + header texts, seed 0
    python benchmarks/fuzz_proxies.py -n 1000000 --seed 7

Inputs for the PROXY decoder are valid v1/v2 headers (random addresses, ports, TLVs, checksums)
mutated by byte flips, cuts, insertions and deletions, plus random bytes behind likely prefixes.
Each outcome is one of:

* decoded  - a header came out, and it re-encodes to exactly the bytes consumed (v2) or to a
             line that decodes to the same header (v1);
* rejected - ProxyProtocolError from one of the decoder's own checks;
* net      - ProxyProtocolError raised only by the decoder's safety net (a check is missing);
* crash    - any other exception, or a decoded header that does not re-encode.

``Forwarded`` and ``X-Forwarded-For`` texts get the same treatment. The exit status is 1 if any
input landed in "net" or "crash".
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from k8slearn.proxies import (  # noqa: E402
    SIGNATURE_V2,
    ForwardedHeaderError,
    ProxyHeader,
    ProxyProtocolError,
    decode,
    encode_v1,
    encode_v2,
    format_forwarded,
    parse_forwarded,
    parse_xff,
)

FAMILIES_V2 = ["TCP4", "UDP4", "TCP6", "UDP6", "UNIX_STREAM", "UNIX_DGRAM", "UNSPEC"]
PREFIXES = [b"", SIGNATURE_V2, SIGNATURE_V2 + b"\x21", SIGNATURE_V2 + b"\x21\x11",
            b"PROXY ", b"PROXY TCP4 ", b"PROXY TCP6 ", b"PROXY UNKNOWN"]  # fmt: skip
FORWARDED_ALPHABET = 'forbyhstpunk_=;,"\\[]:. 0123456789abcdef\t\x00é'


def _ip(rng: random.Random, version: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if version == 4:
        return ipaddress.IPv4Address(rng.getrandbits(32))
    if rng.random() < 0.3:  # many zero groups exercise '::' compression
        return ipaddress.IPv6Address(rng.getrandbits(16) << rng.choice([0, 16, 64, 112]))
    return ipaddress.IPv6Address(rng.getrandbits(128))


def random_header(rng: random.Random) -> ProxyHeader:
    if rng.random() < 0.4:
        family = rng.choice(["TCP4", "TCP6", "UNKNOWN"])
        if family == "UNKNOWN":
            return ProxyHeader(version=1, family=family)
        v = int(family[-1])
        return ProxyHeader(version=1, family=family, src_addr=_ip(rng, v),
                           src_port=rng.randrange(65536), dst_addr=_ip(rng, v),
                           dst_port=rng.randrange(65536))  # fmt: skip
    family = rng.choice(FAMILIES_V2)
    fields: dict = {}
    if family[-1] in "46":
        v = int(family[-1])
        fields = dict(src_addr=_ip(rng, v), src_port=rng.randrange(65536), dst_addr=_ip(rng, v),
                      dst_port=rng.randrange(65536))  # fmt: skip
    elif family.startswith("UNIX"):
        fields = {side: rng.randbytes(rng.randrange(109)).rstrip(b"\0")
                  for side in ("src_addr", "dst_addr")}  # fmt: skip
    tlvs = tuple((rng.choice([0x01, 0x02, 0x04, 0x05, 0x20, 0x30, 0xE0, 0xEA, rng.randrange(256)]),
                  rng.randbytes(rng.randrange(40))) for _ in range(rng.randrange(4)))  # fmt: skip
    tlvs = tuple((t, v) for t, v in tlvs if t != 0x03)
    command = rng.choice(["PROXY", "LOCAL"])
    return ProxyHeader(command=command, family=family, tlvs=tlvs, **fields)


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(["flip", "set", "cut", "insert", "delete", "length"])
        at = rng.randrange(len(buf)) if buf else 0
        if op == "flip" and buf:
            buf[at] ^= 1 << rng.randrange(8)
        elif op == "set" and buf:
            buf[at] = rng.choice([0, 0x0D, 0x0A, 0x20, 0x30, 0x3A, 0xFF, rng.randrange(256)])
        elif op == "cut":
            del buf[at:]
        elif op == "insert":
            buf[at:at] = rng.randbytes(rng.randint(1, 4))
        elif op == "delete":
            del buf[at : at + rng.randint(1, 3)]
        elif op == "length" and len(buf) >= 16 and buf[:12] == SIGNATURE_V2:
            buf[14:16] = rng.randrange(65536 if rng.random() < 0.2 else 300).to_bytes(2, "big")
    return bytes(buf)


def proxy_input(rng: random.Random) -> bytes:
    if rng.random() < 0.25:
        return rng.choice(PREFIXES) + rng.randbytes(rng.randrange(120))
    header = random_header(rng)
    checksum = rng.random() < 0.3
    data = encode_v1(header) if header.version == 1 else encode_v2(header, checksum=checksum)
    data += rng.randbytes(rng.randrange(8))
    return data if rng.random() < 0.1 else mutate(rng, data)


def check_proxy(data: bytes) -> str:
    try:
        header, n = decode(data)
    except ProxyProtocolError as err:
        return "net" if err.__cause__ is not None else "rejected"
    except Exception:  # noqa: BLE001 - that is the point of a fuzz
        return "crash"
    if not 0 < n <= len(data):
        return "crash"
    if header.version == 2:
        return "decoded" if encode_v2(header) == data[:n] else "crash"
    return "decoded" if decode(encode_v1(header))[0] == header else "crash"


def check_forwarded(text: str) -> str:
    try:
        elements = parse_forwarded(text)
    except ForwardedHeaderError:
        return "rejected"
    except Exception:  # noqa: BLE001
        return "crash"
    return "decoded" if parse_forwarded(format_forwarded(elements)) == elements else "crash"


def check_xff(text: str) -> str:
    try:
        parse_xff(text)
    except Exception:  # noqa: BLE001
        return "crash"
    return "decoded"


def forwarded_input(rng: random.Random) -> str:
    if rng.random() < 0.5:
        good = ['for=192.0.2.43', 'for="[2001:db8:cafe::17]:4711"', "proto=https", "by=_p1",
                'host="example.com:8443"', "for=unknown", 'for="_x:_y"']  # fmt: skip
        text = ", ".join(";".join(rng.sample(good, rng.randint(1, 3))) for _ in range(3))
        chars = list(text)
        for _ in range(rng.randint(0, 3)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(FORWARDED_ALPHABET))
        return "".join(chars)
    return "".join(rng.choice(FORWARDED_ALPHABET) for _ in range(rng.randrange(60)))


def xff_input(rng: random.Random) -> str:
    pieces = [str(_ip(rng, rng.choice([4, 6]))), "unknown", "[2001:db8::1]:443", "1.2.3.4:80",
              "", " ", "\x00", "é", "[", "]", ":", "garbage"]  # fmt: skip
    return ",".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randrange(6)))


def run(label: str, n: int, make, check, rng: random.Random) -> Counter:
    outcomes: Counter = Counter()
    started = time.perf_counter()
    for _ in range(n):
        data = make(rng)
        outcome = check(data)
        outcomes[outcome] += 1
        if outcome in ("net", "crash") and outcomes[outcome] <= 3:
            print(f"  {label} {outcome}: {data!r}", file=sys.stderr)
    seconds = time.perf_counter() - started
    shown = ", ".join(f"{key} {outcomes[key]:,}" for key in ("decoded", "rejected", "net", "crash"))
    print(f"{label:<16} tried {n:>9,}: {shown}  ({seconds:.1f} s)")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=240_000, help="PROXY decoder inputs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    print(f"seed {args.seed}")
    totals = run("PROXY decode", args.n, proxy_input, check_proxy, rng)
    totals += run("Forwarded", args.n // 4, forwarded_input, check_forwarded, rng)
    totals += run("X-Forwarded-For", args.n // 4, xff_input, check_xff, rng)
    bad = totals["net"] + totals["crash"]
    print(f"total tried {sum(totals.values()):,}; safety-net catches and crashes: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
