"""Property tests and a short fuzz of k8slearn.proxies (hypothesis; the whole file runs in seconds).

* encode-then-decode gives back the header (v1, and v2 with TLVs and checksums);
* the PROXY decoder, fed random and mutated bytes, either decodes something that re-encodes to the
  bytes it consumed, or raises ProxyProtocolError from one of its own checks (never the safety net,
  never another exception type);
* the XFF parser never raises; the Forwarded parser raises only ForwardedHeaderError, and what it
  accepts survives a format/parse round trip.

benchmarks/fuzz_proxies.py runs the same fuzz for much longer.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8slearn.proxies import (
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

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PORTS = st.integers(0, 65535)
ADDRESSES = {4: st.ip_addresses(v=4), 6: st.ip_addresses(v=6)}
UNIX_PATHS = st.binary(max_size=108).map(lambda b: b.rstrip(b"\0"))
TLVS = st.lists(
    st.tuples(st.integers(0, 255).filter(lambda t: t != 0x03), st.binary(max_size=48)), max_size=5
).map(tuple)


@st.composite
def v1_headers(draw) -> ProxyHeader:
    family = draw(st.sampled_from(["TCP4", "TCP6", "UNKNOWN"]))
    if family == "UNKNOWN":
        return ProxyHeader(version=1, family=family)
    ips = ADDRESSES[int(family[-1])]
    return ProxyHeader(version=1, family=family, src_addr=draw(ips), src_port=draw(PORTS),
                       dst_addr=draw(ips), dst_port=draw(PORTS))  # fmt: skip


@st.composite
def v2_headers(draw) -> ProxyHeader:
    command = draw(st.sampled_from(["PROXY", "LOCAL"]))
    family = draw(st.sampled_from(["TCP4", "UDP4", "TCP6", "UDP6", "UNIX_STREAM", "UNIX_DGRAM",
                                   "UNSPEC"]))  # fmt: skip
    fields: dict = {}
    if family[-1] in "46":
        ips = ADDRESSES[int(family[-1])]
        fields = dict(src_addr=draw(ips), src_port=draw(PORTS), dst_addr=draw(ips),
                      dst_port=draw(PORTS))  # fmt: skip
    elif family.startswith("UNIX"):
        fields = dict(src_addr=draw(UNIX_PATHS), dst_addr=draw(UNIX_PATHS))
    return ProxyHeader(command=command, family=family, tlvs=draw(TLVS), **fields)


TAILS = st.binary(max_size=16)


@FAST
@given(v1_headers(), TAILS)
def test_v1_round_trip(header, tail):
    data = encode_v1(header)
    assert len(data) <= 107 and data.endswith(b"\r\n")
    assert decode(data + tail) == (header, len(data))


@FAST
@given(v2_headers(), TAILS)
def test_v2_round_trip_with_tlvs(header, tail):
    data = encode_v2(header)
    assert decode(data + tail) == (header, len(data))


@FAST
@given(v2_headers())
def test_v2_round_trip_with_checksum(header):
    data = encode_v2(header, checksum=True)
    back, n = decode(data)
    assert n == len(data)
    assert back.tlvs[:-1] == header.tlvs and back.tlvs[-1][0] == 0x03
    assert encode_v2(back) == data


def _check_decode(data: bytes) -> str:
    """Decode or reject; whatever is decoded must re-encode to what was consumed."""
    try:
        header, n = decode(data)
    except ProxyProtocolError as err:
        assert err.__cause__ is None, f"only the safety net caught {data!r}: {err}"
        return "rejected"
    assert 0 < n <= len(data)
    if header.version == 2:
        assert encode_v2(header) == data[:n]
    else:
        assert decode(encode_v1(header))[0] == header
    return "decoded"


PREFIXES = st.sampled_from([b"", SIGNATURE_V2, SIGNATURE_V2 + b"\x21", b"PROXY ", b"PROXY TCP4 ",
                            b"PROXY TCP6 ", b"PROXY UNKNOWN"])  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(PREFIXES, st.binary(max_size=120))
def test_decode_random_bytes_only_raises_proxy_protocol_error(prefix, rest):
    _check_decode(prefix + rest)


@st.composite
def mutated(draw) -> bytes:
    header = draw(st.one_of(v1_headers(), v2_headers()))
    if header.version == 1:
        data = bytearray(encode_v1(header))
    else:
        data = bytearray(encode_v2(header, checksum=draw(st.booleans())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.sampled_from([0, 0x0D, 0x0A, 0x20, 0x30, 0x3A, 0xFF]))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 3))]
    return bytes(data)


@settings(max_examples=600, deadline=None)
@given(mutated())
def test_decode_mutated_headers_only_raises_proxy_protocol_error(data):
    _check_decode(data)


@FAST
@given(st.lists(st.text(max_size=40), max_size=4))
def test_parse_xff_never_raises(headers):
    hops = parse_xff(headers)
    assert all(isinstance(h, (IPv4Address, IPv6Address, str)) for h in hops)
    assert all(h and h == h.strip() for h in hops if isinstance(h, str))


FORWARDED_TEXT = st.text(alphabet='forbyhstpunk_=;,"\\[]:. 0123456789abcdef\t\x00é', max_size=60)


@settings(max_examples=500, deadline=None)
@given(st.one_of(FORWARDED_TEXT, st.text(max_size=30)))
def test_parse_forwarded_only_raises_its_own_error(header):
    try:
        elements = parse_forwarded(header)
    except ForwardedHeaderError:
        return
    assert parse_forwarded(format_forwarded(elements)) == elements
