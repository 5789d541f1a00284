"""Who is the client? ``X-Forwarded-For``, RFC 7239 ``Forwarded`` and the PROXY protocol.

Once a proxy sits in front of a Pod, the TCP peer the Pod sees is the proxy, not the client. Two
families of fixes carry the client's address further:

* L7 proxies write it into an HTTP header. Each proxy *appends* the peer it saw, so the list grows
  to the right: ``X-Forwarded-For: client, proxy1, proxy2`` or RFC 7239's
  ``Forwarded: for=client, for=proxy1``. The leftmost entry is whatever the client wrote, so the
  only safe reading walks from the right (:func:`client_ip`).
* L4 proxies prepend a PROXY protocol header (haproxy's ``doc/proxy-protocol.txt``) to the byte
  stream: v1 is one text line, v2 a binary block (:func:`decode`, :func:`encode_v1`,
  :func:`encode_v2`). A receiver must be configured for it, never guess, and accept it only from
  trusted peers.

Everything here is pure and uses only the standard library. Header text (``str`` or ``bytes``) never
crashes the XFF parser; malformed ``Forwarded`` headers and PROXY headers raise a
:class:`ForwardedHeaderError` or :class:`ProxyProtocolError` that quotes the bad input and explains
the rule, and a value that is not header text at all raises a :class:`HeaderError`.

Taught in the course notebook on proxies and the client IP (X-Forwarded-For, PROXY protocol).
"""

from __future__ import annotations

import html
import ipaddress
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn, Union

from .errors import K8sLearnError, show

__all__ = [
    "AddressError",
    "HeaderError",
    "ForwardedHeaderError",
    "ProxyProtocolError",
    "parse_xff",
    "append_xff",
    "ForwardedElement",
    "parse_forwarded",
    "format_forwarded",
    "client_ip",
    "client_ip_by_hops",
    "naive_client_ip",
    "trusted_networks",
    "ProxyHeader",
    "SIGNATURE_V2",
    "encode_v1",
    "encode_v2",
    "decode",
]

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)


class AddressError(K8sLearnError, ValueError):
    """An address or network given to a function here does not parse."""


class HeaderError(K8sLearnError, ValueError):
    """A header value that is not header text: ``str`` or ``bytes``, or a list of them."""


class ForwardedHeaderError(HeaderError):
    """A ``Forwarded`` header (RFC 7239) that breaks the grammar; the message says where."""


class ProxyProtocolError(K8sLearnError, ValueError):
    """A PROXY protocol header that is malformed, truncated or cannot be encoded.

    A receiver must drop such a connection (haproxy ``doc/proxy-protocol.txt``, section 2.1).
    """


def _show(raw: bytes | str, limit: int = 60) -> str:
    """The bad input, quoted and cut short so that a message stays one readable line."""
    if not isinstance(raw, (bytes, str)):
        return "None" if raw is None else show(raw, limit)
    return repr(raw[:limit]) + ("..." if len(raw) > limit else "")


def _header_values(headers: object, what: str) -> list[str]:
    """One header value or several (repeated headers), as text; bytes are read as ISO-8859-1.

    HTTP header values are bytes on the wire, historically ISO-8859-1 (RFC 9110, section 5.5), so
    every byte string can be read.
    """
    if headers is None:
        return []
    items = [headers] if isinstance(headers, (str, bytes, bytearray)) else headers
    if not isinstance(items, Iterable) or isinstance(items, dict):
        raise HeaderError(f"{what}: {_show(headers)} is not header text",
                          hint="pass the header's value as a str (or bytes), or a list of values for a "
                          "header that appears several times.")
    values = []
    for item in items:
        if isinstance(item, (bytes, bytearray)):
            item = bytes(item).decode("latin-1")
        if not isinstance(item, str):
            raise HeaderError(f"{what}: {_show(item)} is not header text",
                              hint="each value is a str (or bytes), e.g. \"203.0.113.7, 10.0.0.4\".")
        values.append(item)
    return values


# --------------------------------------------------------------------------------------------
# Addresses and hops
# --------------------------------------------------------------------------------------------

_PORT_RE = re.compile(r"[0-9]{1,5}")


def _address(text: str) -> IPAddress | str:
    """One hop as written in a header: an IP (a port is dropped) or, if it is not one, the text."""
    host, port = text, None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return text
        port = rest[1:] if rest else None
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has two colons or more
        host, _, port = text.partition(":")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return text
    if (port is not None and not _PORT_RE.fullmatch(port)) or (
        text.startswith("[") and addr.version == 4
    ):
        return text
    return addr


def _ip(value: object, what: str) -> IPAddress:
    if isinstance(value, _IP_TYPES):
        return value
    addr = _address(value.strip()) if isinstance(value, str) else value
    if not isinstance(addr, _IP_TYPES):
        raise AddressError(
            f"{what}: {_show(value)} is not an IP address",
            hint="give an IPv4 or IPv6 address, e.g. '203.0.113.7' or '2001:db8::7'.",
        )
    return addr


def trusted_networks(trusted: object) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Your own proxies as networks: one CIDR or address, or a list of them.

    Host bits are allowed and dropped (``"10.0.0.1/8"`` is ``10.0.0.0/8``), as a proxy's configured
    address range is meant; anything that is not a network raises :class:`AddressError`.

    Examples
    --------
    >>> trusted_networks(["10.0.0.1/8", "192.0.2.7"])
    (IPv4Network('10.0.0.0/8'), IPv4Network('192.0.2.7/32'))
    >>> trusted_networks("bogus")
    Traceback (most recent call last):
      ...
    k8slearn.proxies.AddressError: trusted: 'bogus' is not an IP network
    Hint: list your proxies as CIDRs or addresses, e.g. ['10.0.0.0/8', '192.0.2.7'].
    """
    single = (str, ipaddress.IPv4Network, ipaddress.IPv6Network, *_IP_TYPES)
    if trusted is None:
        return ()
    items = [trusted] if isinstance(trusted, single) else trusted
    nets = []
    for item in items if isinstance(items, Iterable) and not isinstance(items, dict) else [items]:
        try:
            if not isinstance(item, single):
                raise TypeError
            nets.append(ipaddress.ip_network(item.strip() if isinstance(item, str) else item, strict=False))
        except (TypeError, ValueError):
            raise AddressError(
                f"trusted: {_show(item)} is not an IP network",
                hint="list your proxies as CIDRs or addresses, e.g. ['10.0.0.0/8', '192.0.2.7'].",
            ) from None
    return tuple(nets)




def _is_trusted(addr: IPAddress, nets: tuple) -> bool:
    plain = getattr(addr, "ipv4_mapped", None) or addr  # ::ffff:10.0.0.1 is 10.0.0.1
    return any(plain.version == net.version and plain in net for net in nets)


# --------------------------------------------------------------------------------------------
# X-Forwarded-For
# --------------------------------------------------------------------------------------------


def _xff_items(headers: str | Iterable[str] | None) -> list[str]:
    values = _header_values(headers, "X-Forwarded-For")
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def parse_xff(headers: str | Iterable[str] | None) -> tuple[IPAddress | str, ...]:
    """Read ``X-Forwarded-For`` into a tuple of hops, leftmost (claimed client) first.

    Parameters
    ----------
    headers : str, bytes, iterable of them, or None
        One header value, or several: repeated headers are one list joined in order. Bytes are
        read as ISO-8859-1, the historical charset of HTTP header values.

    Returns
    -------
    tuple
        One item per entry: an ``ipaddress`` object (ports such as ``:51000`` or
        ``[2001:db8::1]:443`` are dropped), or the raw text when the entry is not an address.
        Whitespace is stripped and empty entries are skipped. Header text never makes it raise;
        a value that is not text (a number, a dict) raises :class:`HeaderError`.

    Examples
    --------
    >>> parse_xff("203.0.113.7, 10.0.0.2")
    (IPv4Address('203.0.113.7'), IPv4Address('10.0.0.2'))
    >>> parse_xff(["2001:db8::7,, [2001:db8::8]:443", "198.51.100.1:51000, unknown"])
    (IPv6Address('2001:db8::7'), IPv6Address('2001:db8::8'), IPv4Address('198.51.100.1'), 'unknown')
    >>> parse_xff(b"1.2.3.4")
    (IPv4Address('1.2.3.4'),)
    """
    return tuple(_address(item) for item in _xff_items(headers))


def append_xff(headers: str | Iterable[str] | None, peer: str | IPAddress) -> str:
    """What a proxy does: keep the entries it received and append the peer it saw.

    Parameters
    ----------
    headers : str, iterable of str or None
        The ``X-Forwarded-For`` value(s) the proxy received (``None`` if there were none).
        Entries are kept verbatim, even the ones that are not addresses.
    peer : str or ipaddress object
        The TCP peer of the proxy's incoming connection.

    Returns
    -------
    str
        The single header value to send on.

    Examples
    --------
    >>> append_xff(None, "203.0.113.7")
    '203.0.113.7'
    >>> append_xff(["1.2.3.4", "203.0.113.7"], "2001:db8::10")
    '1.2.3.4, 203.0.113.7, 2001:db8::10'
    """
    return ", ".join([*_xff_items(headers), str(_ip(peer, "peer"))])


# --------------------------------------------------------------------------------------------
# RFC 7239 Forwarded
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 7230 tchar
_QUOTED = re.compile(r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"')
_BAD_VALUE_CHAR = re.compile(r"[^\t \x21-\x7e\x80-\xff]")  # cannot appear even when quoted
_OWS = re.compile(r"[ \t]*")
_OBF = r"_[A-Za-z0-9._-]+"
_NODE = re.compile(rf"(?P<name>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]{{1,5}}|{_OBF}))?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def _check_node(param: str, value: str) -> None:
    """RFC 7239 section 6: node = nodename [ ":" node-port ]."""
    match = _NODE.fullmatch(value)
    name = match and match["name"]
    ok = False
    if name == "unknown" or (name and re.fullmatch(_OBF, name)):
        ok = True
    elif name and name.startswith("["):
        ok = isinstance(_address(name), ipaddress.IPv6Address) and "%" not in name
    elif name:
        ok = isinstance(_address(name), ipaddress.IPv4Address)
    if match and match["port"] and match["port"][0] != "_" and int(match["port"]) > 65535:
        ok = False
    if not ok:
        raise ForwardedHeaderError(
            f"Forwarded: {param}={_show(value)} is not a node identifier",
            hint="a node is an IPv4 address, a bracketed IPv6 address, 'unknown' or an obfuscated "
            "'_name', optionally with ':port', e.g. for=\"[2001:db8:cafe::17]:4711\".",
        )


def _quote(value: str) -> str:
    if _TOKEN.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardedElement:
    """One ``forwarded-element`` of RFC 7239: what one proxy recorded about one hop.

    Parameters
    ----------
    for_ : str or ipaddress object, optional
        The node that sent the request to this proxy (``for=``): an IP, ``"[v6]"``, with an
        optional ``:port``, ``"unknown"`` or an obfuscated ``"_name"``. An ``IPv6Address`` is
        bracketed for you.
    by : str or ipaddress object, optional
        The proxy's own interface that received the request; same syntax as ``for_``.
    host : str, optional
        The ``Host`` the client asked for.
    proto : str, optional
        The scheme the client used (``"http"``, ``"https"``).
    extensions : tuple of (name, value), optional
        Any other parameters, names lower-case.

    Examples
    --------
    >>> e = ForwardedElement(for_=ipaddress.ip_address("2001:db8:cafe::17"), proto="https")
    >>> e
    ForwardedElement(for_='[2001:db8:cafe::17]', proto='https')
    >>> str(e)
    'for="[2001:db8:cafe::17]";proto=https'
    >>> e.for_address
    IPv6Address('2001:db8:cafe::17')
    """

    for_: str | None = None
    by: str | None = None
    host: str | None = None
    proto: str | None = None
    extensions: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for param in ("for_", "by"):
            value = getattr(self, param)
            if isinstance(value, ipaddress.IPv6Address):
                object.__setattr__(self, param, f"[{value}]")
            elif isinstance(value, ipaddress.IPv4Address):
                object.__setattr__(self, param, str(value))
        for param in ("for_", "by", "host", "proto"):
            value = getattr(self, param)
            if value is not None and not isinstance(value, str):
                raise ForwardedHeaderError(
                    f"Forwarded: {param.rstrip('_')}={_show(value)} is not text",
                    hint="each parameter is a str (for_ and by may also be ipaddress objects), or None.",
                )
        pairs = []
        extensions = self.extensions
        if isinstance(extensions, (str, bytes, dict)) or not isinstance(extensions, Iterable):
            extensions = [extensions]
        for pair in extensions:
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise ForwardedHeaderError(
                    f"Forwarded: extension {_show(pair)} is not a (name, value) pair of texts",
                    hint='give extensions as a tuple of pairs, e.g. extensions=(("secret", "x"),).',
                )
            pairs.append((pair[0].lower(), pair[1]))
        object.__setattr__(self, "extensions", tuple(pairs))
        names = [name for name, _ in self.extensions]
        for name in names:
            if not _TOKEN.fullmatch(name) or name in ("for", "by", "host", "proto"):
                raise ForwardedHeaderError(
                    f"Forwarded: extension name {_show(name)} is not allowed",
                    hint="extension names are tokens, and for/by/host/proto have their own fields.",
                )
        if len(set(names)) != len(names):
            raise ForwardedHeaderError(
                f"Forwarded: extension names repeat in {names}",
                hint="each parameter may occur only once per element (RFC 7239 section 4).",
            )
        for name, value in self.pairs():
            if not isinstance(value, str) or _BAD_VALUE_CHAR.search(value):
                raise ForwardedHeaderError(
                    f"Forwarded: {name}={_show(value)} holds a character a header cannot carry",
                    hint="values are text without control characters (tab is fine).",
                )
        if self.for_ is not None:
            _check_node("for", self.for_)
        if self.by is not None:
            _check_node("by", self.by)
        if self.proto is not None and not _SCHEME.fullmatch(self.proto):
            raise ForwardedHeaderError(
                f"Forwarded: proto={_show(self.proto)} is not a URI scheme",
                hint="use the scheme the client spoke, e.g. proto=http or proto=https.",
            )

    def pairs(self) -> list[tuple[str, str]]:
        """The parameters that are set, as ``(name, value)`` in the order they are written."""
        fixed = [("for", self.for_), ("by", self.by), ("host", self.host), ("proto", self.proto)]
        return [(k, v) for k, v in fixed if v is not None] + list(self.extensions)

    @property
    def for_address(self) -> IPAddress | str | None:
        """The ``for`` node as an ``ipaddress`` object (port dropped), else its text."""
        return None if self.for_ is None else _address(self.for_)

    def __repr__(self) -> str:
        shown = [f"{k}={getattr(self, k)!r}" for k in ("for_", "by", "host", "proto")]
        shown = [s for s in shown if not s.endswith("=None")]
        if self.extensions:
            shown.append(f"extensions={self.extensions!r}")
        return f"ForwardedElement({', '.join(shown)})"

    def __str__(self) -> str:
        return ";".join(f"{name}={_quote(value)}" for name, value in self.pairs())

    summary = __str__


def _parse_forwarded_value(header: str) -> list[ForwardedElement]:
    elements: list[ForwardedElement] = []
    pairs: dict[str, str] = {}
    pos, end = 0, len(header)

    def fail(problem: str, hint: str) -> NoReturn:
        raise ForwardedHeaderError(
            f"Forwarded: {problem} at position {pos} of {_show(header)}", hint=hint
        )

    def close() -> None:
        if pairs:
            known = {k: pairs.pop(k, None) for k in ("for", "by", "host", "proto")}
            elements.append(
                ForwardedElement(
                    for_=known["for"], by=known["by"], host=known["host"],
                    proto=known["proto"], extensions=tuple(pairs.items()),
                )
            )
            pairs.clear()

    while True:
        pos = _OWS.match(header, pos).end()
        if pos == end:
            close()
            return elements
        if header[pos] in ",;":
            if header[pos] == ",":
                close()
            pos += 1
            continue
        name = _TOKEN.match(header, pos)
        if not name:
            fail(f"expected a parameter name, found {header[pos]!r}",
                 "an element is name=value pairs joined by ';', e.g. for=192.0.2.60;proto=http.")
        pos = name.end()
        if pos == end or header[pos] != "=":
            fail(f"expected '=' after {name.group()!r}",
                 "write name=value with no spaces around '='.")
        pos += 1
        if pos < end and header[pos] == '"':
            quoted = _QUOTED.match(header, pos)
            if not quoted:
                fail("a quoted value is not closed (or holds a control character)",
                     'close it with ", and escape a quote or backslash inside it with \\.')
            value = re.sub(r"\\(.)", r"\1", quoted.group(1), flags=re.S)
            pos = quoted.end()
        else:
            token = _TOKEN.match(header, pos)
            if not token:
                fail("a value is empty or starts with a character that needs quotes",
                     'IPv6 nodes are quoted and bracketed: for="[2001:db8:cafe::17]".')
            value = token.group()
            pos = token.end()
        key = name.group().lower()
        if key in pairs:
            fail(f"parameter {key!r} occurs twice in one element",
                 "each parameter may occur once per element; start a new element with ','.")
        pairs[key] = value
        pos = _OWS.match(header, pos).end()
        if pos < end and header[pos] not in ",;":
            fail(f"unexpected {header[pos]!r} after {key}={value}",
                 "':' is not a token character, so a node with a port must be quoted: "
                 'for="192.0.2.43:47011".' if header[pos] in ":[]" else
                 "separate pairs with ';' and elements with ','; quote values with spaces.")


def parse_forwarded(headers: str | Iterable[str] | None) -> tuple[ForwardedElement, ...]:
    """Parse RFC 7239 ``Forwarded`` header value(s), strictly, into elements (client first).

    Parameter names are case-insensitive; values are tokens or quoted strings with backslash
    escapes; ``for``/``by`` must be node identifiers (section 6). Empty list elements are
    skipped. Repeated headers are one list joined in order.

    Parameters
    ----------
    headers : str, iterable of str or None

    Returns
    -------
    tuple of ForwardedElement

    Raises
    ------
    ForwardedHeaderError
        For anything the grammar does not allow, with the position and a hint.

    Examples
    --------
    >>> parse_forwarded("for=192.0.2.60;proto=http;by=203.0.113.43")
    (ForwardedElement(for_='192.0.2.60', by='203.0.113.43', proto='http'),)
    >>> [e.for_address for e in parse_forwarded('For="[2001:db8:cafe::17]:4711", for=_hidden')]
    [IPv6Address('2001:db8:cafe::17'), '_hidden']
    >>> parse_forwarded("for=192.0.2.43:47011")
    Traceback (most recent call last):
      ...
    k8slearn.proxies.ForwardedHeaderError: Forwarded: unexpected ':' after for=192.0.2.43 at position 14 of 'for=192.0.2.43:47011'
    Hint: ':' is not a token character, so a node with a port must be quoted: for="192.0.2.43:47011".
    """
    values = _header_values(headers, "Forwarded")
    return tuple(e for value in values for e in _parse_forwarded_value(value))


def format_forwarded(elements: Iterable[ForwardedElement]) -> str:
    """Write elements as one ``Forwarded`` header value, quoting values only where needed.

    Examples
    --------
    >>> format_forwarded([ForwardedElement(for_="192.0.2.43:47011"),
    ...                   ForwardedElement(for_="unknown", by="_proxy1", host="example.com")])
    'for="192.0.2.43:47011", for=unknown;by=_proxy1;host=example.com'
    """
    items = [elements] if isinstance(elements, ForwardedElement) else elements
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise HeaderError(f"format_forwarded: {_show(elements)} is not a list of ForwardedElement",
                          hint="pass the elements, e.g. parse_forwarded(...) or [ForwardedElement(for_=...)].")
    out = []
    for e in items:
        if not isinstance(e, ForwardedElement):
            raise HeaderError(f"format_forwarded: {_show(e)} is not a ForwardedElement",
                              hint="build elements with ForwardedElement(for_=..., proto=...).")
        out.append(str(e))
    return ", ".join(out)


# --------------------------------------------------------------------------------------------
# Picking the client
# --------------------------------------------------------------------------------------------


def _chain(chain: object) -> list[IPAddress | str]:
    if chain is None:
        return []
    single = (str, bytes, bytearray, ForwardedElement, *_IP_TYPES)
    items = [chain] if isinstance(chain, single) else chain
    if not isinstance(items, Iterable) or isinstance(items, dict):
        raise HeaderError(f"chain: {_show(chain)} is not a header value or a list of hops",
                          hint="pass X-Forwarded-For text, or elements from parse_forwarded().")
    hops: list[IPAddress | str] = []
    for item in items:
        if isinstance(item, ForwardedElement):
            hops.append("unknown" if item.for_address is None else item.for_address)
        elif isinstance(item, _IP_TYPES):
            hops.append(item)
        elif isinstance(item, (str, bytes, bytearray)):
            hops.extend(parse_xff(item))
        else:
            raise HeaderError(f"chain: {_show(item)} is not a hop",
                              hint="a hop is header text, an ipaddress object or a ForwardedElement.")
    return hops


def client_ip(
    peer: str | IPAddress,
    chain: object = (),
    *,
    trusted: object = (),
) -> IPAddress:
    """The safe client pick: trust the headers only as far as your own proxies wrote them.

    If the TCP ``peer`` is not a trusted proxy, the headers are whatever the client sent, so the
    answer is the peer. Otherwise walk the hops from the RIGHT, skipping trusted proxies; the
    first untrusted address is the client. If every hop is trusted, the leftmost is the answer.
    A hop that is not an address (``unknown``, ``_hidden``, garbage) stops the walk, and the
    answer is the last trusted hop, the nearest address a trusted proxy vouched for.

    Parameters
    ----------
    peer : str or ipaddress object
        The address of the TCP connection's other end.
    chain : str, iterable of str / ipaddress / ForwardedElement
        ``X-Forwarded-For`` value(s), or elements from :func:`parse_forwarded`.
    trusted : iterable of networks or addresses
        Your own proxies, e.g. ``["10.0.0.0/8"]``. IPv4-mapped IPv6 peers match IPv4 networks.

    Returns
    -------
    ipaddress.IPv4Address or ipaddress.IPv6Address

    Examples
    --------
    The client writes ``X-Forwarded-For: 1.2.3.4`` itself; the ingress (10.0.0.5, trusted)
    appends the peer it really saw, 203.0.113.7:

    >>> header = "1.2.3.4, 203.0.113.7"
    >>> naive_client_ip("10.0.0.5", header)   # leftmost: the client's lie
    IPv4Address('1.2.3.4')
    >>> client_ip("10.0.0.5", header, trusted=["10.0.0.0/8"])
    IPv4Address('203.0.113.7')

    Straight from the internet, the same header proves nothing:

    >>> client_ip("198.51.100.9", header, trusted=["10.0.0.0/8"])
    IPv4Address('198.51.100.9')
    >>> client_ip("10.0.0.5", parse_forwarded('for="[2001:db8::7]:4711", for=10.0.0.4'),
    ...           trusted=["10.0.0.0/8"])
    IPv6Address('2001:db8::7')
    """
    last = _ip(peer, "peer")
    nets = trusted_networks(trusted)
    hops = _chain(chain)  # checked even when the peer is not trusted, so a mistake shows at once
    if not _is_trusted(last, nets):
        return last
    for hop in reversed(hops):
        if not isinstance(hop, _IP_TYPES):
            return last
        if not _is_trusted(hop, nets):
            return hop
        last = hop
    return last


def client_ip_by_hops(peer: str | IPAddress, chain: object = (), *, hops: int) -> IPAddress:
    """The client when exactly ``hops`` trusted proxies stand in front of you.

    Each trusted proxy appends the address it received the request from, so with ``hops`` proxies
    the client is ``hops`` places in from the right, counting the TCP peer as place 0: ``hops=0``
    (no proxy) gives the peer itself, ``hops=1`` (the peer is your one proxy) the last header entry,
    ``hops=2`` the entry before it, and so on. A shorter chain than expected gives its leftmost
    entry; a hop that is not an address gives the last trusted one, as in :func:`client_ip`.

    Examples
    --------
    >>> chain = "1.2.3.4, 203.0.113.7, 10.0.0.4"     # spoofed, client, first proxy
    >>> client_ip_by_hops("10.0.0.5", chain, hops=2)  # proxies 10.0.0.5 (the peer) and 10.0.0.4
    IPv4Address('203.0.113.7')
    >>> client_ip_by_hops("10.0.0.5", chain, hops=1)  # one proxy: it wrote the last entry
    IPv4Address('10.0.0.4')
    >>> client_ip_by_hops("10.0.0.5", chain, hops=0)
    IPv4Address('10.0.0.5')
    """
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise AddressError(
            f"hops: {_show(hops)} is not a count of proxies",
            hint="give how many proxies you run in front of the app: 0, 1, 2, ...",
        )
    path = [_ip(peer, "peer"), *reversed(_chain(chain))]
    for i in range(1, min(hops, len(path) - 1) + 1):
        if not isinstance(path[i], _IP_TYPES):
            return path[i - 1]  # type: ignore[return-value]
    return path[min(hops, len(path) - 1)]  # type: ignore[return-value]


def naive_client_ip(peer: str | IPAddress, chain: object = ()) -> IPAddress:
    """The WRONG pick, kept to show why: the leftmost address in the headers, else the peer.

    The leftmost entry is whatever the client wrote, so any client can choose its own IP.

    Examples
    --------
    >>> naive_client_ip("203.0.113.7", "127.0.0.1")   # a client claiming to be localhost
    IPv4Address('127.0.0.1')
    """
    peer = _ip(peer, "peer")
    return next((hop for hop in _chain(chain) if isinstance(hop, _IP_TYPES)), peer)


# --------------------------------------------------------------------------------------------
# PROXY protocol (haproxy doc/proxy-protocol.txt)
# --------------------------------------------------------------------------------------------

SIGNATURE_V2 = b"\r\n\r\n\x00\r\nQUIT\n"
_V1_MAX = 107  # "PROXY UNKNOWN ffff:...:ffff ffff:...:ffff 65535 65535\r\n"
_COMMANDS = {0x0: "LOCAL", 0x1: "PROXY"}
_FAMILIES = {0x00: "UNSPEC", 0x11: "TCP4", 0x12: "UDP4", 0x21: "TCP6", 0x22: "UDP6",
             0x31: "UNIX_STREAM", 0x32: "UNIX_DGRAM"}  # fmt: skip
_FAMILY_CODES = {name: code for code, name in _FAMILIES.items()} | {"UNKNOWN": 0x00}
_ADDR_LEN = {0x0: 0, 0x1: 12, 0x2: 36, 0x3: 216}  # by address family (high nibble)
_IP_VERSION = {"TCP4": 4, "UDP4": 4, "TCP6": 6, "UDP6": 6}
_TLV_NAMES = {0x01: "ALPN", 0x02: "AUTHORITY", 0x03: "CRC32C", 0x04: "NOOP", 0x05: "UNIQUE_ID",
              0x20: "SSL", 0x30: "NETNS"}  # fmt: skip
_CRC32C = 0x03
_HINT_V2 = "a v2 header is 16 bytes (signature, ver/cmd, family, length) plus `length` more."


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def _crc32c(data: bytes) -> int:
    """CRC32c (Castagnoli, RFC 4960 appendix B), as PP2_TYPE_CRC32C uses it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fail(problem: str, data: bytes | str = b"", hint: str = "") -> NoReturn:
    shown = f": {_show(data)}" if data else ""
    raise ProxyProtocolError(f"PROXY header: {problem}{shown}", hint=hint)


def _endpoint(addr: object, port: object) -> str:
    if isinstance(addr, bytes):
        return repr(addr)
    if port is None:
        return "-"
    return f"[{addr}]:{port}" if getattr(addr, "version", 4) == 6 else f"{addr}:{port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyHeader:
    """One PROXY protocol header: who the proxy says the connection's endpoints are.

    Parameters
    ----------
    version : {2, 1}
        1 is the text line, 2 the binary block.
    command : {"PROXY", "LOCAL"}
        ``LOCAL`` (v2 only) is the proxy's own connection, e.g. a health check: use the real
        endpoints.
    family : str, optional
        ``"TCP4"``, ``"TCP6"``, ``"UDP4"``, ``"UDP6"``, ``"UNIX_STREAM"``, ``"UNIX_DGRAM"``, or
        ``"UNSPEC"`` (v2) / ``"UNKNOWN"`` (v1) when the addresses are not known. Left out, it
        follows from the addresses (TCP).
    src_addr, dst_addr : str, ipaddress object or bytes, optional
        IP addresses, or AF_UNIX paths as bytes (at most 108).
    src_port, dst_port : int, optional
        0-65535, for the IP families.
    tlvs : tuple of (int, bytes)
        v2 type-length-value extensions, e.g. ``(0x02, b"example.com")`` (AUTHORITY).

    Examples
    --------
    >>> h = ProxyHeader(src_addr="192.0.2.1", src_port=56324, dst_addr="198.51.100.1",
    ...                 dst_port=443)
    >>> h
    ProxyHeader(version=2, command='PROXY', family='TCP4', src=192.0.2.1:56324, dst=198.51.100.1:443)
    >>> print(h)
    PROXY v2 TCP4 192.0.2.1:56324 -> 198.51.100.1:443
    >>> h.relayed
    True
    """

    version: int = 2
    command: str = "PROXY"
    family: str | None = None
    src_addr: IPAddress | bytes | None = None
    src_port: int | None = None
    dst_addr: IPAddress | bytes | None = None
    dst_port: int | None = None
    tlvs: tuple[tuple[int, bytes], ...] = ()

    def __post_init__(self) -> None:
        def bad(problem: str, hint: str) -> NoReturn:
            raise ProxyProtocolError(f"ProxyHeader: {problem}", hint=hint)

        put = object.__setattr__
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version not in (1, 2):
            bad(f"version {_show(self.version)} does not exist", "the protocol has versions 1 and 2.")
        if not isinstance(self.command, str) or self.command not in ("PROXY", "LOCAL"):
            bad(f"command {_show(self.command)} does not exist", "commands are 'PROXY' and 'LOCAL'.")
        if self.family is not None and not isinstance(self.family, str):
            bad(f"family {_show(self.family)} does not exist", "families are names such as 'TCP4' or 'TCP6'.")
        if not isinstance(self.tlvs, (tuple, list)):
            bad(f"tlvs {_show(self.tlvs)} are not (type, bytes) pairs",
                "a TLV type is one byte (0-255) and its value is bytes: tlvs=((0x02, b'host'),).")
        for side in ("src_addr", "dst_addr"):
            value = getattr(self, side)
            if isinstance(value, str):
                try:
                    value = _ip(value, side) if self.family not in ("UNIX_STREAM", "UNIX_DGRAM") else (
                        value.encode("utf-8"))
                except UnicodeEncodeError:
                    bad(f"{side} {_show(value)} cannot be written as UTF-8", "give the path as bytes.")
            elif isinstance(value, (bytearray, memoryview)):
                value = bytes(value)
            put(self, side, value)
        if self.family is None:
            kind = type(self.src_addr)
            family = {ipaddress.IPv4Address: "TCP4", ipaddress.IPv6Address: "TCP6",
                      bytes: "UNIX_STREAM"}.get(kind, "UNKNOWN" if self.version == 1 else "UNSPEC")
            put(self, "family", family)
        known = ("TCP4", "TCP6", "UNKNOWN") if self.version == 1 else tuple(_FAMILIES.values())
        if self.family not in known:
            bad(f"family {_show(self.family)} does not exist in version {self.version}",
                f"choose one of {', '.join(known)}.")
        if self.version == 1 and (self.command != "PROXY" or self.tlvs):
            bad("version 1 has only the PROXY command and no TLVs",
                "for a health check send 'PROXY UNKNOWN', or use version 2 for LOCAL and TLVs.")
        sides = ((self.src_addr, self.src_port, "source"), (self.dst_addr, self.dst_port, "dest"))
        for addr, port, side in sides:
            if self.family in _IP_VERSION:
                want = _IP_VERSION[self.family]
                if not isinstance(addr, _IP_TYPES) or addr.version != want:
                    bad(f"{self.family} needs an IPv{want} {side} address, got {_show(addr)}",
                        "the family names the address version: TCP4/UDP4 IPv4, TCP6/UDP6 IPv6.")
                if getattr(addr, "scope_id", None):
                    bad(f"{side} address {addr} has a scope id", "the header cannot carry '%zone'.")
                if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                    bad(f"{side} port {_show(port)} is not in 0-65535", "TCP and UDP ports are 16 bits.")
            elif self.family.startswith("UNIX"):
                if not isinstance(addr, bytes) or len(addr) > 108 or addr.endswith(b"\0"):
                    bad(f"{side} {_show(addr)} is not an AF_UNIX path of at most 108 bytes",
                        "give the path as bytes without trailing NULs (they are the padding).")
                if port is not None:
                    bad(f"{self.family} has no ports", "leave src_port and dst_port out.")
            elif addr is not None or port is not None:
                bad(f"{self.family} carries no addresses",
                    "UNSPEC/UNKNOWN means 'use the real connection': leave addresses out.")
        def is_tlv(pair: object) -> bool:
            return (isinstance(pair, (tuple, list)) and len(pair) == 2
                    and type(pair[0]) is int and 0 <= pair[0] <= 255
                    and isinstance(pair[1], (bytes, bytearray, memoryview)))  # fmt: skip

        if not isinstance(self.tlvs, (tuple, list)) or not all(map(is_tlv, self.tlvs)):
            bad(f"tlvs {_show(self.tlvs)} are not (type, bytes) pairs",
                "a TLV type is one byte (0-255) and its value is bytes: tlvs=((0x02, b'host'),).")
        tlvs = tuple((t, bytes(v)) for t, v in self.tlvs)
        size = _ADDR_LEN[_FAMILY_CODES[self.family] >> 4] + sum(3 + len(v) for _, v in tlvs)
        if size > 0xFFFF:
            bad(f"addresses and TLVs take {size} bytes", "a v2 header carries at most 65535.")
        put(self, "tlvs", tlvs)

    @property
    def relayed(self) -> bool:
        """True if the header carries the original endpoints; else use the real connection's."""
        return self.command == "PROXY" and self.family not in ("UNSPEC", "UNKNOWN")

    def _tlv_names(self) -> str:
        return ", ".join(_TLV_NAMES.get(t, f"0x{t:02X}") for t, _ in self.tlvs)

    def __repr__(self) -> str:
        text = f"ProxyHeader(version={self.version}, command={self.command!r}, "
        text += f"family={self.family!r}"
        if self.src_addr is not None:
            text += f", src={_endpoint(self.src_addr, self.src_port)}"
            text += f", dst={_endpoint(self.dst_addr, self.dst_port)}"
        return text + (f", tlvs=[{self._tlv_names()}])" if self.tlvs else ")")

    def summary(self) -> str:
        """One line: ``PROXY v2 TCP4 192.0.2.1:56324 -> 198.51.100.1:443``."""
        text = f"{self.command} v{self.version} {self.family}"
        if self.src_addr is not None:
            text += f" {_endpoint(self.src_addr, self.src_port)}"
            text += f" -> {_endpoint(self.dst_addr, self.dst_port)}"
        if not self.relayed:
            text += " (use the real connection)"
        return text + (f" + TLVs {self._tlv_names()}" if self.tlvs else "")

    __str__ = summary

    def _repr_html_(self) -> str:
        rows = [("version", self.version), ("command", self.command), ("family", self.family),
                ("source", _endpoint(self.src_addr, self.src_port)),
                ("destination", _endpoint(self.dst_addr, self.dst_port))]
        rows += [(_TLV_NAMES.get(t, f"TLV 0x{t:02X}"), _show(v)) for t, v in self.tlvs]
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                        f"<td><code>{html.escape(str(v))}</code></td></tr>" for k, v in rows)
        return f"<table class='k8slearn-proxy-header'>{cells}</table>"


def encode_v1(header: ProxyHeader) -> bytes:
    """The v1 text line for ``header`` (TCP4, TCP6 or UNKNOWN; no TLVs, no LOCAL).

    Examples
    --------
    >>> encode_v1(ProxyHeader(version=1, src_addr="192.0.2.1", src_port=56324,
    ...                       dst_addr="198.51.100.1", dst_port=443))
    b'PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\\r\\n'
    >>> encode_v1(ProxyHeader(version=1))
    b'PROXY UNKNOWN\\r\\n'
    """
    h = header
    if h.command != "PROXY" or h.tlvs or h.family not in ("TCP4", "TCP6", "UNKNOWN", "UNSPEC"):
        _fail(f"{h.summary()} cannot be written as version 1",
              hint="v1 knows only PROXY with TCP4, TCP6 or UNKNOWN, and no TLVs: use encode_v2.")
    if h.family in ("UNKNOWN", "UNSPEC"):
        return b"PROXY UNKNOWN\r\n"
    return f"PROXY {h.family} {h.src_addr} {h.dst_addr} {h.src_port} {h.dst_port}\r\n".encode()


def encode_v2(header: ProxyHeader, *, checksum: bool = False) -> bytes:
    """The v2 binary header for ``header``; TLVs follow the addresses in the order given.

    Every CRC32C TLV (type 0x03, 4 bytes) is filled with the correct checksum, and
    ``checksum=True`` adds one if there is none.

    Examples
    --------
    >>> h = ProxyHeader(src_addr="192.0.2.1", src_port=56324, dst_addr="198.51.100.1",
    ...                 dst_port=443)
    >>> encode_v2(h).hex(" ").upper()
    '0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A 21 11 00 0C C0 00 02 01 C6 33 64 01 DC 04 01 BB'
    """
    h = header
    code = _FAMILY_CODES[h.family]
    if code >> 4 in (1, 2):
        body = h.src_addr.packed + h.dst_addr.packed + struct.pack("!HH", h.src_port, h.dst_port)
    elif code >> 4 == 3:
        body = h.src_addr.ljust(108, b"\0") + h.dst_addr.ljust(108, b"\0")
    else:
        body = b""
    tlvs = list(h.tlvs)
    if checksum and all(t != _CRC32C for t, _ in tlvs):
        tlvs.append((_CRC32C, bytes(4)))
    parts, crc_at = [body], []
    offset = 16 + len(body)
    for t, value in tlvs:
        if t == _CRC32C:
            if len(value) != 4:
                _fail(f"a CRC32C TLV holds 4 bytes, not {len(value)}", value)
            value = bytes(4)
            crc_at.append(offset + 3)
        parts.append(struct.pack("!BH", t, len(value)) + value)
        offset += 3 + len(value)
    payload = b"".join(parts)
    if len(payload) > 0xFFFF:
        _fail(f"{len(payload)} bytes of addresses and TLVs do not fit the 16-bit length")
    command = 0x20 | (1 if h.command == "PROXY" else 0)
    out = bytearray(SIGNATURE_V2 + struct.pack("!BBH", command, code, len(payload)) + payload)
    if crc_at:
        crc = struct.pack("!I", _crc32c(out))
        for at in crc_at:
            out[at : at + 4] = crc
    return bytes(out)


_V1_PORT = re.compile(rb"0|[1-9][0-9]{0,4}")
_V1_ADDR = re.compile(rb"[0-9A-Fa-f:.]+")


def _v1_address(raw: bytes, family: str, side: str) -> IPAddress:
    hint = "v1 addresses are canonical: IPv4 without leading zeros, IPv6 hex groups."
    if not _V1_ADDR.fullmatch(raw):
        _fail(f"{side} address is not an IP address", raw, hint)
    want = _IP_VERSION[family]
    try:
        return (ipaddress.IPv4Address if want == 4 else ipaddress.IPv6Address)(raw.decode())
    except ValueError as exc:
        if isinstance(_address(raw.decode()), _IP_TYPES):
            _fail(f"{side} address is not IPv{want} but the line says {family}", raw,
                  "TCP4 carries IPv4 addresses and TCP6 IPv6 addresses; both must match it.")
        _fail(f"{side} address is not valid IPv{want} ({exc})", raw, hint)


def _v1_port(raw: bytes, side: str) -> int:
    if not _V1_PORT.fullmatch(raw) or int(raw) > 65535:
        problem = "has a leading zero" if raw[:1] == b"0" and raw.isdigit() else "is not 0-65535"
        _fail(f"{side} port {problem}", raw,
              "ports are decimal 0-65535 without leading zeros (no octal confusion).")
    return int(raw)


def _decode_v1(data: bytes) -> tuple[ProxyHeader, int]:
    end = data.find(b"\r\n", 0, _V1_MAX)
    line = data[: end if end >= 0 else _V1_MAX]
    if b"\n" in line or b"\r" in line[:-1] or (end >= 0 and b"\r" in line):
        _fail("the line has a lone CR or LF", line,
              "a v1 line ends with exactly CRLF (\\r\\n); a single CR or LF is not accepted.")
    if end < 0:
        if len(data) >= _V1_MAX:
            _fail("no CRLF within the first 107 bytes", data,
                  "a v1 line is at most 107 bytes including CRLF; longer means it is not one.")
        _fail("truncated: the v1 line has no CRLF yet", data,
              "wait for the whole line (it is sent at once) or drop the connection.")
    parts = line.split(b" ")
    if parts[0] != b"PROXY":
        _fail("a v1 line starts with 'PROXY '", line, "exactly one space follows PROXY.")
    family = parts[1] if len(parts) > 1 else b""
    if family == b"UNKNOWN":  # the receiver must ignore the rest of the line
        return ProxyHeader(version=1, family="UNKNOWN"), end + 2
    if family not in (b"TCP4", b"TCP6"):
        _fail(f"unknown v1 protocol {family!r}", line, "v1 knows TCP4, TCP6 and UNKNOWN.")
    if len(parts) != 6:
        _fail(f"expected 6 fields separated by single spaces, found {len(parts)}", line,
              "PROXY TCP4 <src> <dst> <sport> <dport>, with exactly one space between fields.")
    fam = family.decode()
    header = ProxyHeader(
        version=1, family=fam,
        src_addr=_v1_address(parts[2], fam, "source"), src_port=_v1_port(parts[4], "source"),
        dst_addr=_v1_address(parts[3], fam, "destination"),
        dst_port=_v1_port(parts[5], "destination"),
    )  # fmt: skip
    return header, end + 2


def _split_tlvs(data: bytes, start: int, end: int) -> list[tuple[int, bytes, int]]:
    """(type, value, offset of value) for each TLV in data[start:end]; no byte is guessed."""
    found = []
    pos = start
    while pos < end:
        if end - pos < 3:
            _fail(f"a TLV at byte {pos} is cut off after {end - pos} byte(s)", data[pos:end],
                  "each TLV is type (1 byte), length (2 bytes), then `length` bytes of value.")
        kind, length = data[pos], int.from_bytes(data[pos + 1 : pos + 3], "big")
        if pos + 3 + length > end:
            _fail(f"TLV 0x{kind:02X} at byte {pos} says {length} bytes but only "
                  f"{end - pos - 3} remain in the header", data[pos:end],
                  "a TLV may not run past the header's length field.")
        found.append((kind, data[pos + 3 : pos + 3 + length], pos + 3))
        pos += 3 + length
    return found


def _decode_v2(data: bytes) -> tuple[ProxyHeader, int]:
    version, command = (data[12] >> 4, data[12] & 0x0F) if len(data) > 12 else (2, 1)
    if version != 2:
        _fail(f"version nibble is {version}, a v2 header must say 2", data[:16],
              "the 13th byte is 0x20 (LOCAL) or 0x21 (PROXY).")
    if command not in _COMMANDS:
        _fail(f"command 0x{command:X} is unassigned", data[:16],
              "the low nibble of the 13th byte is 0x0 LOCAL or 0x1 PROXY.")
    code = data[13] if len(data) > 13 else 0
    if code not in _FAMILIES:
        _fail(f"family/protocol byte 0x{code:02X} is not defined", data[:16],
              "valid bytes are " + ", ".join(f"0x{c:02X} {n}" for c, n in _FAMILIES.items()) + ".")
    if len(data) < 16:
        _fail(f"truncated: a v2 header has 16 fixed bytes, only {len(data)} arrived", data,
              _HINT_V2)
    end = 16 + int.from_bytes(data[14:16], "big")
    if len(data) < end:
        _fail(f"truncated: the length field promises {end - 16} bytes after the first 16, "
              f"only {len(data) - 16} arrived", data[:16], _HINT_V2)
    need = _ADDR_LEN[code >> 4]
    if end - 16 < need:
        _fail(f"length {end - 16} is too short for {_FAMILIES[code]} addresses ({need} bytes)",
              data[:16], "TCP4/UDP4 take 12 bytes, TCP6/UDP6 36, UNIX 216, UNSPEC 0.")
    family, body = _FAMILIES[code], data[16 : 16 + need]
    src = dst = sport = dport = None
    if code >> 4 in (1, 2):
        size = 4 if code >> 4 == 1 else 16
        src, dst = ipaddress.ip_address(body[:size]), ipaddress.ip_address(body[size : 2 * size])
        sport, dport = struct.unpack("!HH", body[2 * size :])
    elif code >> 4 == 3:
        src, dst = body[:108].rstrip(b"\0"), body[108:].rstrip(b"\0")
    tlvs = _split_tlvs(data, 16 + need, end)
    crcs = [(value, at) for kind, value, at in tlvs if kind == _CRC32C]
    if len(crcs) > 1 or (crcs and len(crcs[0][0]) != 4):
        _fail("the CRC32C TLV must appear once and hold 4 bytes", data[:end],
              "PP2_TYPE_CRC32C (0x03) carries one 32-bit checksum of the whole header.")
    if crcs:
        at = crcs[0][1]
        if _crc32c(data[:at] + bytes(4) + data[at + 4 : end]) != int.from_bytes(crcs[0][0], "big"):
            _fail("CRC32C checksum does not match the header", data[:end],
                  "the bytes changed on the way, or the sender computed the checksum wrongly; "
                  "the spec says to treat the connection as invalid.")
    header = ProxyHeader(version=2, command=_COMMANDS[command], family=family, src_addr=src,
                         src_port=sport, dst_addr=dst, dst_port=dport,
                         tlvs=tuple((kind, value) for kind, value, _ in tlvs))  # fmt: skip
    return header, end


def decode(data: bytes) -> tuple[ProxyHeader, int]:
    """Read a PROXY protocol header (v1 or v2, told apart by the signature) from ``data``.

    Only call this on a listener configured for the PROXY protocol, for connections from
    trusted proxies: the protocol forbids guessing whether a header is present.

    Parameters
    ----------
    data : bytes
        The first bytes of the connection. Bytes after the header are application data.

    Returns
    -------
    (ProxyHeader, int)
        The header and how many bytes it took; ``data[n:]`` is where the application starts.

    Raises
    ------
    ProxyProtocolError
        For every malformed, truncated or unknown input, naming the problem (and nothing else:
        no IndexError, struct.error or UnicodeDecodeError escapes).

    Examples
    --------
    >>> decode(b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\\r\\nGET / HTTP/1.1\\r\\n")
    (ProxyHeader(version=1, command='PROXY', family='TCP4', src=192.0.2.1:56324, dst=198.51.100.1:443), 45)
    >>> v2 = bytes.fromhex("0D0A0D0A000D0A515549540A 21 11 000C C0000201 C6336401 DC04 01BB")
    >>> header, n = decode(v2)
    >>> print(header, n)
    PROXY v2 TCP4 192.0.2.1:56324 -> 198.51.100.1:443 28
    >>> decode(b"PROXY TCP4 192.0.2.01 198.51.100.1 56324 443\\r\\n")
    Traceback (most recent call last):
      ...
    k8slearn.proxies.ProxyProtocolError: PROXY header: source address is not valid IPv4 (Leading zeros are not permitted in '01' in '192.0.2.01'): b'192.0.2.01'
    Hint: v1 addresses are canonical: IPv4 without leading zeros, IPv6 hex groups.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        _fail(f"decode() reads bytes, not {type(data).__name__}", hint="pass the raw bytes "
              "received on the connection, e.g. b'PROXY TCP4 ...\\r\\n'.")
    data = bytes(data)
    try:
        if data[:12] == SIGNATURE_V2:
            return _decode_v2(data)
        if data[:5] == b"PROXY":
            return _decode_v1(data)
        hint = "a listener set up for the PROXY protocol sees a header first on every connection."
        if not data:
            _fail("truncated: no bytes yet", hint=hint)
        if SIGNATURE_V2.startswith(data) or b"PROXY".startswith(data):
            _fail(f"truncated: {len(data)} byte(s) of a signature and nothing more", data, hint)
        seen = (" (it looks like a TLS handshake)" if data[:2] == b"\x16\x03" else
                " (it looks like plain HTTP)" if re.match(rb"[A-Z]+ \S+ HTTP/", data) else "")
        _fail(f"no PROXY protocol signature{seen}", data,
              hint + " Both ends must switch together: is the sender configured to send one?")
    except ProxyProtocolError:
        raise
    except (IndexError, ValueError, TypeError, struct.error, UnicodeDecodeError) as exc:
        # A safety net: the checks above should leave nothing for it. The fuzz tests count it.
        raise ProxyProtocolError(
            f"PROXY header: malformed ({type(exc).__name__}: {exc}): {_show(data)}",
            hint="the header does not follow haproxy's doc/proxy-protocol.txt.",
        ) from exc
