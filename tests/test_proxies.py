"""k8slearn.proxies: X-Forwarded-For, RFC 7239 Forwarded, the safe client pick, PROXY v1 and v2.

Vectors come from the specifications (haproxy doc/proxy-protocol.txt, RFC 7239, FACTS.md section 7)
and from another implementation's published tests (pires/go-proxyproto; cited where used). Only
the bytes and expected results are carried over; the test code is our own.
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from k8slearn.errors import K8sLearnError
from k8slearn.proxies import (
    SIGNATURE_V2,
    AddressError,
    ForwardedElement,
    ForwardedHeaderError,
    ProxyHeader,
    ProxyProtocolError,
    append_xff,
    client_ip,
    client_ip_by_hops,
    decode,
    encode_v1,
    encode_v2,
    format_forwarded,
    naive_client_ip,
    parse_forwarded,
    parse_xff,
)

V4, V6 = IPv4Address, IPv6Address
LB = ["10.0.0.0/8"]  # the cluster's own proxies in these tests


# ------------------------------------------------------------------------------------------
# X-Forwarded-For
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("203.0.113.7", (V4("203.0.113.7"),)),
        ("  203.0.113.7 ,10.0.0.2  ", (V4("203.0.113.7"), V4("10.0.0.2"))),
        ("203.0.113.7,,10.0.0.2,", (V4("203.0.113.7"), V4("10.0.0.2"))),  # empties skipped
        ("", ()),
        (None, ()),
        (" , ,", ()),
        ("203.0.113.7:51000", (V4("203.0.113.7"),)),  # a port is dropped
        ("2001:db8::7", (V6("2001:db8::7"),)),
        ("[2001:db8::7]:443, [2001:db8::8]", (V6("2001:db8::7"), V6("2001:db8::8"))),
        ("::ffff:192.0.2.1", (V6("::ffff:192.0.2.1"),)),
        # RFC 7239 section 7.4, the XFF side of the transition example
        ("192.0.2.43, 2001:db8:cafe::17", (V4("192.0.2.43"), V6("2001:db8:cafe::17"))),
        # several headers are one list, joined in order
        (["1.2.3.4, 10.0.0.1", "10.0.0.2"], (V4("1.2.3.4"), V4("10.0.0.1"), V4("10.0.0.2"))),
    ],
)
def test_parse_xff(headers, expected):
    assert parse_xff(headers) == expected


@pytest.mark.parametrize(
    "garbage",
    ["unknown", "_hidden", "not-an-ip", "1.2.3.4:port", "[1.2.3.4]", "[2001:db8::1",
     "1.2.3.04", "999.1.1.1", "2001:db8::1]:80", "for=1.2.3.4", "\x00\xff", "1.2.3.4:123456"],
)  # fmt: skip
def test_parse_xff_keeps_garbage_as_text(garbage):
    assert parse_xff(f"203.0.113.7, {garbage}, 10.0.0.2") == (
        V4("203.0.113.7"), garbage.strip(), V4("10.0.0.2"))  # fmt: skip


def test_append_xff_is_what_a_proxy_does():
    assert append_xff(None, "203.0.113.7") == "203.0.113.7"
    assert append_xff("", V4("203.0.113.7")) == "203.0.113.7"
    assert append_xff(" 1.2.3.4 ,, junk", "10.0.0.4") == "1.2.3.4, junk, 10.0.0.4"
    assert append_xff(["1.2.3.4", "10.0.0.4"], "2001:db8::1") == "1.2.3.4, 10.0.0.4, 2001:db8::1"
    with pytest.raises(AddressError, match="not an IP address"):
        append_xff(None, "not-an-ip")


# ------------------------------------------------------------------------------------------
# Picking the client
# ------------------------------------------------------------------------------------------


def test_spoofed_leftmost_entry_fools_only_the_naive_pick():
    # The client sends "X-Forwarded-For: 1.2.3.4"; the ingress (10.0.0.5) appends the peer it saw.
    sent_by_client = "1.2.3.4"
    at_the_pod = append_xff(sent_by_client, "203.0.113.7")
    assert naive_client_ip("10.0.0.5", at_the_pod) == V4("1.2.3.4")  # the lie
    assert client_ip("10.0.0.5", at_the_pod, trusted=LB) == V4("203.0.113.7")  # the truth


@pytest.mark.parametrize(
    ("peer", "chain", "expected"),
    [
        # peer untrusted: the headers are the client's own words, ignore them
        ("203.0.113.7", "1.2.3.4", "203.0.113.7"),
        ("203.0.113.7", "10.0.0.9", "203.0.113.7"),
        # peer trusted, no header: the peer is all we know
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", None, "10.0.0.5"),
        # walk from the right, skipping trusted proxies
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.0.0.4, 10.0.0.3", "203.0.113.7"),
        ("10.0.0.5", "203.0.113.7, 10.0.0.4, 1.2.3.4", "1.2.3.4"),  # untrusted rightmost wins
        # all trusted: the leftmost
        ("10.0.0.5", "10.0.0.1, 10.0.0.2", "10.0.0.1"),
        # IPv6 clients and proxies
        ("fd00::5", "2001:db8::bad, 2001:db8::7, fd00::4", "2001:db8::7"),
        ("10.0.0.5", "[2001:db8::7]:51000, 10.0.0.4:8080", "2001:db8::7"),
        # an IPv4-mapped IPv6 peer is the IPv4 proxy it maps to
        ("::ffff:10.0.0.5", "203.0.113.7", "203.0.113.7"),
        # several headers are one list
        ("10.0.0.5", ["1.2.3.4, 203.0.113.7", "10.0.0.4"], "203.0.113.7"),
        # a hop that is not an address stops the walk at the last trusted hop
        ("10.0.0.5", "203.0.113.7, unknown, 10.0.0.4", "10.0.0.4"),
        ("10.0.0.5", "garbage", "10.0.0.5"),
    ],
)
def test_client_ip_walks_from_the_right(peer, chain, expected):
    trusted = ["10.0.0.0/8", "fd00::/8"]
    got = client_ip(peer, chain, trusted=trusted)
    assert got == ip_address(expected)
    assert isinstance(got, (V4, V6))


def test_client_ip_accepts_forwarded_elements_and_single_networks():
    elements = parse_forwarded('for=1.2.3.4, for="[2001:db8:cafe::17]:4711", for=10.0.0.4')
    assert client_ip("10.0.0.5", elements, trusted="10.0.0.0/8") == V6("2001:db8:cafe::17")
    assert client_ip("10.0.0.5", elements, trusted=ip_address("10.0.0.5")) == V4("10.0.0.4")
    hidden = parse_forwarded("for=_hidden, for=10.0.0.4")
    assert client_ip("10.0.0.5", hidden, trusted=LB) == V4("10.0.0.4")
    assert client_ip("10.0.0.5", [ForwardedElement(proto="https")], trusted=LB) == V4("10.0.0.5")


def test_client_ip_rejects_bad_arguments_with_a_hint():
    with pytest.raises(AddressError, match="trusted: '10.0.0.0/33'") as err:
        client_ip("10.0.0.5", "", trusted=["10.0.0.0/33"])
    assert "CIDR" in err.value.hint
    with pytest.raises(AddressError, match="peer"):
        client_ip("nobody", "", trusted=LB)
    assert isinstance(err.value, K8sLearnError)


@pytest.mark.parametrize(
    ("hops", "expected"),
    [(0, "10.0.0.5"), (1, "10.0.0.4"), (2, "203.0.113.7"), (3, "1.2.3.4"), (9, "1.2.3.4")],
)
def test_client_ip_by_hops(hops, expected):
    chain = "1.2.3.4, 203.0.113.7, 10.0.0.4"
    assert client_ip_by_hops("10.0.0.5", chain, hops=hops) == ip_address(expected)


def test_client_ip_by_hops_edge_cases():
    assert client_ip_by_hops("10.0.0.5", "x, 10.0.0.4", hops=3) == V4("10.0.0.4")
    assert client_ip_by_hops("10.0.0.5", "", hops=2) == V4("10.0.0.5")
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(AddressError, match="hops"):
            client_ip_by_hops("10.0.0.5", "", hops=bad)


# ------------------------------------------------------------------------------------------
# RFC 7239 Forwarded
# ------------------------------------------------------------------------------------------

FE = ForwardedElement


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # RFC 7239 section 4 examples
        ('for="_gazonk"', [FE(for_="_gazonk")]),
        ('For="[2001:db8:cafe::17]:4711"', [FE(for_="[2001:db8:cafe::17]:4711")]),
        ("for=192.0.2.60;proto=http;by=203.0.113.43",
         [FE(for_="192.0.2.60", proto="http", by="203.0.113.43")]),
        ("for=192.0.2.43, for=198.51.100.17", [FE(for_="192.0.2.43"), FE(for_="198.51.100.17")]),
        # section 6: node names with ports, quoted because ':' is not a token character
        ('for="192.0.2.43:47011"', [FE(for_="192.0.2.43:47011")]),
        ('for="[2001:db8:cafe::17]:47011"', [FE(for_="[2001:db8:cafe::17]:47011")]),
        # section 6.3: obfuscated identifiers; section 6.2: unknown
        ("for=_hidden, for=_SEVKISEK", [FE(for_="_hidden"), FE(for_="_SEVKISEK")]),
        ('for=unknown;by="_proxy1:_8080"', [FE(for_="unknown", by="_proxy1:_8080")]),
        # section 7.1: both spellings of the same list
        ('for=192.0.2.43,for="[2001:db8:cafe::17]",for=unknown',
         [FE(for_="192.0.2.43"), FE(for_="[2001:db8:cafe::17]"), FE(for_="unknown")]),
        ('for=192.0.2.43, for="[2001:db8:cafe::17]", for=unknown',
         [FE(for_="192.0.2.43"), FE(for_="[2001:db8:cafe::17]"), FE(for_="unknown")]),
        # case-insensitive names, host, extensions, escapes, empty elements and pairs
        ("FOR=192.0.2.1;HOST=example.com;Proto=HTTPS;Secret=x",
         [FE(for_="192.0.2.1", host="example.com", proto="HTTPS", extensions=(("secret", "x"),))]),
        (r'for=_a;ext="say \"hi\" \\ bye"',
         [FE(for_="_a", extensions=(("ext", 'say "hi" \\ bye'),))]),
        (" , for=192.0.2.1 ;; proto=http ,, ", [FE(for_="192.0.2.1", proto="http")]),
        ("", []),
    ],
)  # fmt: skip
def test_parse_forwarded_rfc_examples(header, expected):
    assert list(parse_forwarded(header)) == expected


def test_parse_forwarded_joins_several_headers_and_feeds_the_client_pick():
    # RFC 7239 section 7.1: a list split over two header lines is the same list
    one = parse_forwarded('for=192.0.2.43, for="[2001:db8:cafe::17]", for=unknown')
    two = parse_forwarded(["for=192.0.2.43", 'for="[2001:db8:cafe::17]", for=unknown'])
    assert one == two
    assert [e.for_address for e in one] == [V4("192.0.2.43"), V6("2001:db8:cafe::17"), "unknown"]


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("for=192.0.2.43:47011", "unexpected ':'"),  # must be quoted (RFC 7239 section 6)
        ("for=[2001:db8:cafe::17]", "needs quotes"),
        ('for="2001:db8:cafe::17"', "not a node identifier"),  # IPv6 must be bracketed
        ('for="[2001:db8:cafe::17"', "not a node identifier"),
        ('for="192.0.2.43:99999"', "not a node identifier"),
        ('for="1.2.3.04"', "not a node identifier"),
        ("for=gazonk", "not a node identifier"),  # obfuscated names start with '_'
        ('for=""', "not a node identifier"),
        ('for="192.0.2.1', "not closed"),
        ("for=", "needs quotes"),
        ("for = 192.0.2.1", "expected '='"),
        ("=192.0.2.1", "expected a parameter name"),
        ("for=192.0.2.1;For=192.0.2.2", "occurs twice"),
        ("proto=ht~tp", "not a URI scheme"),
        ('for="192.0.2.1" x', "unexpected 'x'"),
        ('host="a\x01b"', "not closed"),
    ],
)
def test_parse_forwarded_is_strict_and_explains(header, says):
    with pytest.raises(ForwardedHeaderError) as err:
        parse_forwarded(header)
    assert says in str(err.value)
    assert err.value.hint
    assert isinstance(err.value, K8sLearnError)


def test_build_forwarded_quotes_only_when_needed():
    elements = [
        FE(for_=V6("2001:db8:cafe::17"), by=V4("203.0.113.43"), proto="https"),
        FE(for_="192.0.2.43:47011", host="example.com:8443"),
        FE(for_="_hidden", extensions=(("note", 'a "b"'),)),
    ]
    text = format_forwarded(elements)
    assert text == (
        'for="[2001:db8:cafe::17]";by=203.0.113.43;proto=https, '
        'for="192.0.2.43:47011";host="example.com:8443", for=_hidden;note="a \\"b\\""'
    )
    assert list(parse_forwarded(text)) == elements


@pytest.mark.parametrize(
    "kwargs",
    [{"for_": "2001:db8::1"}, {"by": "10.0.0.1:70000"}, {"host": "a\nb"}, {"proto": "1http"},
     {"extensions": (("for", "x"),)}, {"extensions": (("a", "1"), ("A", "2"))}, {"for_": 5}],
)  # fmt: skip
def test_forwarded_element_fails_at_construction(kwargs):
    with pytest.raises(ForwardedHeaderError):
        FE(**kwargs)


# ------------------------------------------------------------------------------------------
# PROXY protocol: the spec's and FACTS.md's own examples
# ------------------------------------------------------------------------------------------

FACTS_V1 = b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"
FACTS_V2 = bytes.fromhex("0D0A0D0A000D0A515549540A 21 11 000C C0000201 C6336401 DC04 01BB")
FACTS_HEADER = ProxyHeader(
    src_addr=V4("192.0.2.1"), src_port=56324, dst_addr=V4("198.51.100.1"), dst_port=443
)


def test_facts_example_v1_and_v2():
    assert encode_v2(FACTS_HEADER) == FACTS_V2
    assert encode_v1(FACTS_HEADER) == FACTS_V1
    assert decode(FACTS_V2) == (FACTS_HEADER, 28)
    assert decode(FACTS_V1) == (dataclasses.replace(FACTS_HEADER, version=1), len(FACTS_V1))
    assert SIGNATURE_V2 == bytes.fromhex("0D0A0D0A000D0A515549540A")


def test_spec_example_line_before_an_http_request():
    # haproxy doc/proxy-protocol.txt section 2.1
    stream = (b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
              b"GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n")  # fmt: skip
    header, n = decode(stream)
    assert (header.src_addr, header.src_port) == (V4("192.168.0.1"), 56324)
    assert (header.dst_addr, header.dst_port) == (V4("192.168.0.11"), 443)
    assert stream[n:].startswith(b"GET / HTTP/1.1\r\n")


@pytest.mark.parametrize(
    "line",
    [
        # haproxy doc/proxy-protocol.txt section 2.1: the longest lines a receiver must take
        b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",  # 56
        b"PROXY TCP6 " + b" ".join([b"ffff:" * 7 + b"ffff"] * 2) + b" 65535 65535\r\n",  # 104
        b"PROXY UNKNOWN\r\n",  # 15
        b"PROXY UNKNOWN " + b" ".join([b"ffff:" * 7 + b"ffff"] * 2) + b" 65535 65535\r\n",  # 107
    ],
)
def test_v1_maximum_lengths_from_the_spec(line):
    assert len(line) in (56, 104, 15, 107)
    assert decode(line + b"tail")[1] == len(line)


def test_v1_one_byte_over_107_is_rejected():
    line = b"PROXY UNKNOWN " + b" ".join([b"ffff:" * 7 + b"ffff"] * 2) + b" 65535 655351\r\n"
    assert len(line) == 108
    with pytest.raises(ProxyProtocolError, match="107"):
        decode(line)


# ------------------------------------------------------------------------------------------
# PROXY protocol v1: strictness
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\n", "lone CR or LF"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r", "truncated"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\rX\r\n", "lone CR or LF"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443", "truncated"),
        (b"PROXY TCP4 192.0.2.1  198.51.100.1 56324 443\r\n", "6 fields"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443 \r\n", "6 fields"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 56324\r\n", "6 fields"),
        (b"PROXY  TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", "unknown v1 protocol"),
        (b"PROXY tcp4 192.0.2.1 198.51.100.1 56324 443\r\n", "unknown v1 protocol"),
        (b"PROXY UDP4 192.0.2.1 198.51.100.1 56324 443\r\n", "unknown v1 protocol"),
        (b"PROXYTCP4 192.0.2.1 198.51.100.1 56324 443\r\n", "starts with 'PROXY '"),
        (b"proxy TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", "no PROXY protocol signature"),
        (b"PROXY TCP4 192.0.2.01 198.51.100.1 56324 443\r\n", "Leading zeros"),
        (b"PROXY TCP4 192.0.2.256 198.51.100.1 56324 443\r\n", "not valid IPv4"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 056324 443\r\n", "leading zero"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 00\r\n", "leading zero"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 65536 443\r\n", "not 0-65535"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 +1 443\r\n", "not 0-65535"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 -1 443\r\n", "not 0-65535"),
        (b"PROXY TCP4 2001:db8::1 198.51.100.1 1 443\r\n", "not IPv4 but the line says TCP4"),
        (b"PROXY TCP6 192.0.2.1 2001:db8::1 1 443\r\n", "not IPv6 but the line says TCP6"),
        (b"PROXY TCP6 fe80::1%eth0 2001:db8::1 1 443\r\n", "not an IP address"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.\xff 1 443\r\n", "not an IP address"),
        (b"PROXY TCP4 192.0.2.1 198.51.100.1 1 4\xd9\xa33\r\n", "not 0-65535"),
        (b"PROX", "truncated"),
        (b"PROXY", "truncated"),
        (b"", "truncated"),
        (b"GET / HTTP/1.1\r\n\r\n", "no PROXY protocol signature"),
    ],
)
def test_v1_rejects_with_a_reason(data, says):
    with pytest.raises(ProxyProtocolError) as err:
        decode(data)
    assert says in str(err.value)
    assert err.value.hint
    assert err.value.__cause__ is None  # rejected by a check, not by the safety net


def test_v1_unknown_ignores_the_rest_of_the_line():
    header, n = decode(b"PROXY UNKNOWN whatever \xff here\r\nDATA")
    assert header == ProxyHeader(version=1, family="UNKNOWN") and n == 31
    assert not header.relayed and "use the real connection" in header.summary()


# pires/go-proxyproto v1_test.go and header_test.go: fixtures (127.0.0.1 / ::1, port 65533) and
# the outcome they expect. go-proxyproto reports UNKNOWN as LOCAL; we keep v1's own word.
GO_V1_VALID = [
    (b"PROXY TCP4 127.0.0.1 127.0.0.1 65533 65533\r\nGET /", "TCP4", "127.0.0.1"),
    (b"PROXY TCP6 ::1 ::1 65533 65533\r\nGET /", "TCP6", "::1"),
    (b"PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 65533 65533\r\nGET /", "TCP6",
     "::ffff:127.0.0.1"),
    (b"PROXY UNKNOWN\r\n", "UNKNOWN", None),
    (b"PROXY UNKNOWN 127.0.0.1 127.0.0.1 99999 99999\r\n", "UNKNOWN", None),
]  # fmt: skip
GO_V1_INVALID = [
    b"There is no spoon",
    b"PROX",
    b"PROXY \n",
    b"PROXY \r\n",
    b"PROXY\r\n",
    b"PROXY SOMETHING\r\n",
    b"PROXY TCP4 127.0.0.1 127.0.0.1 65533 65533",
    b"PROXY TCP4 invalid invalid 65533 65533\r\n",
    b"PROXY TCP6 127.0.0.1 127.0.0.1 65533 65533\r\n",
    b"PROXY TCP4 ::1 ::1 65533 65533\r\n",
    b"PROXY TCP4 ::ffff:127.0.0.1 ::ffff:127.0.0.1 65533 65533\r\n",
    b"PROXY TCP4 127.0.0.1 127.0.0.1 99999 99999\r\n",
    b"PROXY UNKNOWN 1234:5678:9abc:def0:cafe:babe:dead:2bad "
    b"1234:5678:9abc:def0:cafe:babe:dead:2bad 65533 65533 \r\n",
    b"PROXY TCP6 1234:5678:9abc:def0:cafe:babe:dead:2bad 1234:5678:9abc:def0:cafe:babe:dead:2bad "
    b"65533 65533" + b" " * 10240 + b"\r\n",
    b" " * 4096,
]


@pytest.mark.parametrize(("data", "family", "addr"), GO_V1_VALID)
def test_go_proxyproto_v1_valid(data, family, addr):
    header, n = decode(data)
    assert header.family == family and data[n:] in (b"", b"GET /")
    if addr:
        assert header.src_addr == header.dst_addr == ip_address(addr)
        assert header.src_port == header.dst_port == 65533
        assert decode(encode_v1(header))[0] == header


@pytest.mark.parametrize("data", GO_V1_INVALID)
def test_go_proxyproto_v1_invalid(data):
    with pytest.raises(ProxyProtocolError):
        decode(data)


# ------------------------------------------------------------------------------------------
# PROXY protocol v2
# ------------------------------------------------------------------------------------------

SIG = SIGNATURE_V2
LO4 = bytes([127, 0, 0, 1])
LO6 = bytes(15) + b"\x01"
PORTS = (65533).to_bytes(2, "big") * 2
UNIX = b"socket".ljust(108, b"\0")


def _v2(ver_cmd: int, fam: int, body: bytes, *, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return SIG + bytes([ver_cmd, fam]) + size.to_bytes(2, "big") + body


# pires/go-proxyproto v2_test.go (validParseAndWriteV2Tests, validParseV2PaddedTests):
# family byte, address block and what it decodes to.
GO_V2_VALID = [
    ("local TCP4", 0x20, 0x11, LO4 * 2 + PORTS, "LOCAL", "TCP4", "127.0.0.1", ()),
    ("local unspec", 0x20, 0x00, b"", "LOCAL", "UNSPEC", None, ()),
    ("proxy TCP4", 0x21, 0x11, LO4 * 2 + PORTS, "PROXY", "TCP4", "127.0.0.1", ()),
    ("proxy TCP6", 0x21, 0x21, LO6 * 2 + PORTS, "PROXY", "TCP6", "::1", ()),
    ("proxy UDP4", 0x21, 0x12, LO4 * 2 + PORTS, "PROXY", "UDP4", "127.0.0.1", ()),
    ("proxy UDP6", 0x21, 0x22, LO6 * 2 + PORTS, "PROXY", "UDP6", "::1", ()),
    ("unix stream", 0x21, 0x31, UNIX * 2, "PROXY", "UNIX_STREAM", b"socket", ()),
    ("unix dgram", 0x21, 0x32, UNIX * 2, "PROXY", "UNIX_DGRAM", b"socket", ()),
    # padded to length 84 with zeros: zero-length TLVs of type 0x00
    ("TCP4 padded", 0x21, 0x11, LO4 * 2 + PORTS + bytes(72), "PROXY", "TCP4", "127.0.0.1",
     ((0, b""),) * 24),
    ("UDP6 padded", 0x21, 0x22, LO6 * 2 + PORTS + bytes(48), "PROXY", "UDP6", "::1",
     ((0, b""),) * 16),
]  # fmt: skip


@pytest.mark.parametrize(
    ("ver_cmd", "fam", "body", "command", "family", "addr", "tlvs"),
    [case[1:] for case in GO_V2_VALID],
    ids=[case[0] for case in GO_V2_VALID],
)
def test_go_proxyproto_v2_valid(ver_cmd, fam, body, command, family, addr, tlvs):
    data = _v2(ver_cmd, fam, body)
    tail = b"\x99\x97\x98"  # arbitrary bytes after the header stay for the application
    header, n = decode(data + tail)
    assert (header.command, header.family, header.tlvs) == (command, family, tlvs)
    assert n == len(data) and (data + tail)[n:] == tail
    if isinstance(addr, bytes):
        assert header.src_addr == header.dst_addr == addr and header.src_port is None
    elif addr:
        assert header.src_addr == header.dst_addr == ip_address(addr)
        assert header.src_port == header.dst_port == 65533
    assert encode_v2(header) == data


# pires/go-proxyproto v2_test.go invalidParseV2Tests and tlv_test.go invalidTLVTests.
GO_V2_INVALID = {
    "no signature": b"There is no spoon",
    "truncated signature": SIG[2:],
    "signature only": SIG,
    "invalid command byte": SIG + b"\x99",
    "command only": SIG + b"\x21",
    "proxy unspec, no length": SIG + b"\x21\x00",
    "invalid family": SIG + b"\x21\x99",
    "TCP4 no length": SIG + b"\x21\x11",
    "TCP4 half a length": SIG + b"\x21\x11\x99",
    "unspec no length": SIG + b"\x20\x00",
    "TCP4 length without addresses": SIG + b"\x21\x11\x00\x0c",
    "TCP6 length without addresses": SIG + b"\x21\x21\x00\x24",
    "TCP4 length 0 with addresses": SIG + b"\x21\x11\x00\x00" + LO6 * 2 + PORTS,
    "TCP6 length with IPv4 addresses": SIG + b"\x21\x21\x00\x24" + LO4 * 2 + PORTS,
    "unspec length without TLVs": SIG + b"\x20\x00\x00\x10\x00\x01",
    "one-byte TLV": _v2(0x21, 0x11, LO4 * 2 + PORTS + b"\xe1"),
    "two-byte TLV": _v2(0x21, 0x11, LO4 * 2 + PORTS + b"\xe2\x00"),
    "TLV value missing": _v2(0x21, 0x11, LO4 * 2 + PORTS + b"\xe3\x00\x01"),
    "TLV value short": _v2(0x21, 0x11, LO4 * 2 + PORTS + b"\xe3\x00\x02\x00"),
}


@pytest.mark.parametrize("data", GO_V2_INVALID.values(), ids=GO_V2_INVALID.keys())
def test_go_proxyproto_v2_invalid(data):
    with pytest.raises(ProxyProtocolError) as err:
        decode(data)
    assert err.value.__cause__ is None and err.value.hint


# pires/go-proxyproto tlvparse/aws_test.go, which takes them from
# aws/elastic-load-balancing-tools proprot/tst/.../Compatibility_AwsNetworkLoadBalancerTest.java:
# AWS NLB headers with a CRC32C TLV, an AWS VPC endpoint TLV (0xEA, subtype 0x01) and NOOP padding.
AWS_VPCE = [
    ("0D0A0D0A000D0A515549540A 21110054 AC1F0771 AC1F0A1F C8F20050 030004E8D6892D"
     "EA0017 01 7670 63652D30 38643262 66313566 61633530 303163 39 040024" + "00" * 36,
     "172.31.7.113", 51442, "172.31.10.31", 80, "vpce-08d2bf15fac5001c9"),
    ("0D0A0D0A000D0A515549540A 21110054 C0A82C0A C0A82C07 CC3E241B 030004B9286FA6"
     "EA0017 01 7670 63652D30 30656166 63343538 65633937 623833 33 040024" + "00" * 36,
     "192.168.44.10", 52286, "192.168.44.7", 9243, "vpce-00eafc458ec97b833"),
]  # fmt: skip


@pytest.mark.parametrize(("hexdata", "src", "sport", "dst", "dport", "vpce"), AWS_VPCE)
def test_aws_nlb_vectors_with_crc32c(hexdata, src, sport, dst, dport, vpce):
    data = bytes.fromhex(hexdata)
    header, n = decode(data)
    assert n == len(data) == 100
    assert (header.src_addr, header.src_port) == (V4(src), sport)
    assert (header.dst_addr, header.dst_port) == (V4(dst), dport)
    assert [t for t, _ in header.tlvs] == [0x03, 0xEA, 0x04]
    assert header.tlvs[1][1] == b"\x01" + vpce.encode()
    assert encode_v2(header) == data  # the checksum we compute is the one AWS sent
    broken = bytearray(data)
    broken[20] ^= 0x01  # one bit of the source address
    with pytest.raises(ProxyProtocolError, match="CRC32C checksum does not match"):
        decode(bytes(broken))


def test_encode_v2_checksum_and_tlvs():
    h = dataclasses.replace(FACTS_HEADER, tlvs=((0x01, b"h2"), (0x02, b"example.com")))
    plain, summed = encode_v2(h), encode_v2(h, checksum=True)
    assert decode(plain)[0] == h
    back = decode(summed)[0]
    assert back.tlvs[:2] == h.tlvs and back.tlvs[2][0] == 0x03
    assert encode_v2(back) == summed  # a present CRC32C TLV is recomputed, to the same value
    assert "ALPN, AUTHORITY" in h.summary() and "AUTHORITY" in repr(h)
    with pytest.raises(ProxyProtocolError, match="4 bytes"):
        encode_v2(dataclasses.replace(h, tlvs=((0x03, b"12"),)))
    twice = _v2(0x21, 0x00, b"\x03\x00\x04" + bytes(4) + b"\x03\x00\x04" + bytes(4))
    with pytest.raises(ProxyProtocolError, match="once"):
        decode(twice)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (SIG + b"\x11\x11\x00\x0c" + LO4 * 2 + PORTS, "version nibble is 1"),
        (SIG + b"\x31\x11\x00\x0c" + LO4 * 2 + PORTS, "version nibble is 3"),
        (SIG + b"\x22\x11\x00\x0c" + LO4 * 2 + PORTS, "command 0x2 is unassigned"),
        (SIG + b"\x21\x13\x00\x0c" + LO4 * 2 + PORTS, "0x13 is not defined"),
        (SIG + b"\x21\x10\x00\x0c" + LO4 * 2 + PORTS, "0x10 is not defined"),
        (SIG + b"\x21\x41\x00\x0c" + LO4 * 2 + PORTS, "0x41 is not defined"),
        (SIG + b"\x21\x11\x00\x0b" + LO4 * 2 + PORTS, "too short for TCP4"),
        (SIG + b"\x21\x31\x00\x0c" + LO4 * 2 + PORTS, "too short for UNIX_STREAM"),
        (SIG + b"\x21\x11\x00\x0d" + LO4 * 2 + PORTS, "truncated"),
        (SIG + b"\x21\x11\x00", "truncated"),
        (SIG[:7], "truncated"),
    ],
)
def test_v2_rejects_with_a_reason(data, says):
    with pytest.raises(ProxyProtocolError) as err:
        decode(data)
    assert says in str(err.value) and err.value.hint and err.value.__cause__ is None


def test_every_truncation_of_a_valid_header_is_an_error():
    for data in (FACTS_V1, FACTS_V2, bytes.fromhex(AWS_VPCE[0][0])):
        for cut in range(len(data)):
            with pytest.raises(ProxyProtocolError):
                decode(data[:cut])


def test_decode_wants_bytes():
    with pytest.raises(ProxyProtocolError, match="reads bytes, not str"):
        decode(FACTS_V1.decode())  # type: ignore[arg-type]
    assert decode(bytearray(FACTS_V2))[1] == decode(memoryview(FACTS_V2))[1] == 28


# ------------------------------------------------------------------------------------------
# ProxyHeader: construction, views, encoders' limits
# ------------------------------------------------------------------------------------------


def test_proxy_header_is_frozen_and_slotted():
    with pytest.raises(dataclasses.FrozenInstanceError):
        FACTS_HEADER.src_port = 1  # type: ignore[misc]
    assert not hasattr(FACTS_HEADER, "__dict__")


def test_proxy_header_views():
    assert repr(FACTS_HEADER) == (
        "ProxyHeader(version=2, command='PROXY', family='TCP4', "
        "src=192.0.2.1:56324, dst=198.51.100.1:443)"
    )
    assert str(FACTS_HEADER) == "PROXY v2 TCP4 192.0.2.1:56324 -> 198.51.100.1:443"
    six = ProxyHeader(src_addr="2001:db8::1", src_port=1, dst_addr="2001:db8::2", dst_port=2)
    assert six.family == "TCP6" and "[2001:db8::1]:1 -> [2001:db8::2]:2" in six.summary()
    local = ProxyHeader(command="LOCAL")
    assert repr(local) == "ProxyHeader(version=2, command='LOCAL', family='UNSPEC')"
    assert not local.relayed
    html = dataclasses.replace(FACTS_HEADER, tlvs=((2, b"<b>"),))._repr_html_()
    assert "192.0.2.1:56324" in html and "&lt;b&gt;" in html and "<b>" not in html
    unix = ProxyHeader(family="UNIX_DGRAM", src_addr="/run/a.sock", dst_addr=b"\0abstract")
    assert unix.src_addr == b"/run/a.sock" and decode(encode_v2(unix))[0] == unix


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"version": 3}, "version 3"),
        ({"command": "proxy"}, "command 'proxy'"),
        ({"family": "SCTP4"}, "family 'SCTP4'"),
        ({"version": 1, "family": "UDP4"}, "family 'UDP4'"),
        ({"version": 1, "command": "LOCAL"}, "only the PROXY command"),
        ({"version": 1, "tlvs": ((1, b"x"),)}, "no TLVs"),
        ({"family": "TCP4", "src_addr": "2001:db8::1", "src_port": 1, "dst_addr": "2001:db8::2",
          "dst_port": 2}, "needs an IPv4 source"),
        ({"src_addr": "192.0.2.1", "src_port": 65536, "dst_addr": "192.0.2.2", "dst_port": 1},
         "port 65536"),
        ({"src_addr": "192.0.2.1", "src_port": None, "dst_addr": "192.0.2.2", "dst_port": 1},
         "port None"),
        ({"src_addr": "fe80::1%eth0", "src_port": 1, "dst_addr": "fe80::2", "dst_port": 1},
         "scope id"),
        ({"family": "UNSPEC", "src_addr": "192.0.2.1"}, "carries no addresses"),
        ({"family": "UNIX_STREAM", "src_addr": b"a\0", "dst_addr": b"b"}, "AF_UNIX path"),
        ({"family": "UNIX_STREAM", "src_addr": b"a" * 109, "dst_addr": b"b"}, "AF_UNIX path"),
        ({"family": "UNIX_STREAM", "src_addr": b"a", "dst_addr": b"b", "src_port": 1}, "no ports"),
        ({"tlvs": ((256, b"x"),)}, "not (type, bytes) pairs"),
        ({"tlvs": ((1, "text"),)}, "not (type, bytes) pairs"),
        ({"tlvs": ((1, 5),)}, "not (type, bytes) pairs"),
        ({"tlvs": ((0xE0, bytes(65533)),)}, "at most 65535"),
        ({"src_addr": "not-an-ip"}, "not an IP address"),
    ],
)  # fmt: skip
def test_proxy_header_fails_at_construction(kwargs, says):
    with pytest.raises((ProxyProtocolError, AddressError)) as err:
        ProxyHeader(**kwargs)
    assert says in str(err.value) and err.value.hint


def test_encode_v1_refuses_what_v1_cannot_say():
    assert encode_v1(ProxyHeader(command="PROXY")) == b"PROXY UNKNOWN\r\n"  # UNSPEC -> UNKNOWN
    for header in (
        ProxyHeader(command="LOCAL"),
        dataclasses.replace(FACTS_HEADER, family="UDP4"),
        dataclasses.replace(FACTS_HEADER, tlvs=((4, b""),)),
    ):
        with pytest.raises(ProxyProtocolError, match="cannot be written as version 1"):
            encode_v1(header)
    assert encode_v2(ProxyHeader(version=1)) == SIG + b"\x21\x00\x00\x00"
