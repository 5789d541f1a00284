"""The package's exceptions and warnings: the API server's words first, then a teaching hint.

Every error k8slearn raises derives from :class:`K8sLearnError`, so a notebook can catch them all
with one ``except``. Errors about a spec quote the API server (``k8s.io/apimachinery`` field
errors: ``spec.field: Invalid value: ...``) on their first lines, then add a ``Hint:`` that explains
the rule in plain words.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

__all__ = [
    "K8sLearnError",
    "FieldError",
    "Invalid",
    "InvalidService",
    "InvalidNode",
    "InvalidPod",
    "InvalidNetworkPolicy",
    "NotFound",
    "InvalidChange",
    "K8sLearnWarning",
    "show",
    "one_line",
]

#: How many characters of a bad value a message quotes; the rest is cut (a message stays readable,
#: and a huge or deeply nested value never gets written out in full).
SHOW_LIMIT = 60

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxtuple, _REPR.maxlist, _REPR.maxdict, _REPR.maxset = 3, 4, 4, 4, 4
_REPR.maxfrozenset, _REPR.maxdeque, _REPR.maxarray = 4, 4, 4
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = SHOW_LIMIT, 40, SHOW_LIMIT


def show(value: Any, limit: int = SHOW_LIMIT) -> str:
    """A bad value as an error message quotes it: short, and never expanded in full.

    Strings are double-quoted like the API server quotes them (Go's ``%q``), numbers and booleans
    are written plainly, ``None`` is ``null`` (what the API server calls a missing value), and
    anything else is a shortened ``repr``. Whatever the value, the result has at most about
    ``limit`` characters, so a huge or deeply nested value (a YAML alias bomb) costs nothing to show.

    >>> show("Local"), show(30123), show(None), show(True)
    ('"Local"', '30123', 'null', 'True')
    >>> show("x" * 100)
    '"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."'
    >>> show([[[[1]]]] * 50)
    '[[[[...]]], [[[...]]], [[[...]]], [[[...]]], ...]'
    """
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value[:limit].replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}{"..." if len(value) > limit else ""}"'
    if isinstance(value, bool):
        return str(value)
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value whose own repr fails still gets named
        text = f"<{type(value).__name__}>"
    text = _ADDRESS.sub(">", text)  # "<Foo object at 0x7f...>" -> "<Foo object>": nothing to learn from an address
    return text if len(text) <= limit + 2 else text[:limit] + "..."


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


class K8sLearnError(Exception):
    """Base class of every error raised by k8slearn.

    ``str(err)`` is the message a learner sees; ``err.hint`` (possibly empty) is the teaching part.
    In a notebook the traceback is short because the message carries the explanation.
    """

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message


class FieldError:
    """One problem with one field, worded like apimachinery's ``field.Error``.

    >>> FieldError("spec.externalTrafficPolicy", "Unsupported value", '"X"', 'supported values: "Cluster", "Local"')
    spec.externalTrafficPolicy: Unsupported value: "X": supported values: "Cluster", "Local"
    """

    __slots__ = ("field", "kind", "value", "detail", "hint")

    def __init__(self, field: str, kind: str, value: str, detail: str, hint: str = "") -> None:
        self.field = field
        self.kind = kind
        # A safety net: callers quote values with show(), which keeps them short already.
        self.value = value if len(value) <= 2 * SHOW_LIMIT else value[:2 * SHOW_LIMIT] + "..."
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.field}: {self.kind}"
        if self.value != "":
            text += f": {self.value}"
        if self.detail:
            text += f": {self.detail}"
        return text

    __repr__ = __str__


class Invalid(K8sLearnError):
    """An object the API server would reject: all its field errors, reported together.

    The first line reads like ``kubectl``'s: ``The Service "web" is invalid: <field error>``; with
    several problems they follow as a bulleted list, like the API server's aggregate.
    """

    kind = "Object"

    def __init__(self, name: str, errors: list[FieldError]) -> None:
        self.name = name
        self.errors = list(errors)
        quoted = show(name)
        if len(self.errors) == 1:
            head = f"The {self.kind} {quoted} is invalid: {self.errors[0]}"
        else:
            items = "".join(f"\n* {e}" for e in self.errors)
            head = f"The {self.kind} {quoted} is invalid: {items}"
        hints = list(dict.fromkeys(e.hint for e in self.errors if e.hint))
        super().__init__(head, hint="\n      ".join(hints))


class InvalidService(Invalid):
    """A Service spec the API server would reject."""

    kind = "Service"


class InvalidNetworkPolicy(Invalid):
    """A NetworkPolicy spec the API server would reject."""

    kind = "NetworkPolicy"


#: How many valid names a "not found" hint lists before it says how many more there are.
_MAX_CHOICES = 30


def _plural(kind: str) -> str:
    return kind + ("es" if kind.endswith(("s", "x")) else "s")


class NotFound(K8sLearnError, KeyError):
    """A name (node, pod, service) that does not exist; the message lists the valid choices."""

    def __init__(self, kind: str, name: str, choices: list[str] | tuple[str, ...]) -> None:
        self.resource = kind
        self.name = name
        self.choices = tuple(choices)
        shown = [repr(c) for c in self.choices[:_MAX_CHOICES]]
        if len(self.choices) > _MAX_CHOICES:
            shown.append(f"... ({len(self.choices) - _MAX_CHOICES} more)")
        listed = ", ".join(shown) if self.choices else "none yet"
        where = " in this cluster" if kind in ("node", "pod", "service") else ""
        super().__init__(
            f"{_plural(kind)} {show(name)} not found",
            hint=f"the {_plural(kind)}{where} are: {listed}.",
        )

    # KeyError's __str__ would add quotes around the whole message.
    def __str__(self) -> str:
        return K8sLearnError.__str__(self)


class InvalidNode(Invalid):
    """A Node the API server would reject (its name, or its zone label)."""

    kind = "Node"


class InvalidPod(Invalid):
    """A Pod the API server would reject (its name or labels)."""

    kind = "Pod"


class InvalidChange(K8sLearnError, ValueError):
    """A change to the cluster that cannot be made (the cluster is left exactly as it was)."""


class K8sLearnWarning(UserWarning):
    """Something kubectl would accept but warn about (e.g. a selector that matches no pods)."""


def one_line(err: Exception) -> str:
    """An error on one line: every field error of an API-server error (``The X "n" is invalid: <error>;
    <error>``), else its first line; then its hint's first line in brackets."""
    errors = getattr(err, "errors", None)
    if errors and len(errors) > 1:
        text = f"The {type(err).kind} \"{err.name}\" is invalid: " + "; ".join(str(e) for e in errors)
    else:
        text = str(err).splitlines()[0]
    hint = getattr(err, "hint", "")
    return text + (f" ({hint.splitlines()[0]})" if hint else "")
