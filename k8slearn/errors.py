"""The package's exceptions and warnings: the API server's words first, then a teaching hint.

Every error k8slearn raises derives from :class:`K8sLearnError`, so a notebook can catch them all
with one ``except``. Errors about a spec quote the API server (``k8s.io/apimachinery`` field
errors: ``spec.field: Invalid value: ...``) on their first lines, then add a ``Hint:`` that explains
the rule in plain words.
"""

from __future__ import annotations

__all__ = [
    "K8sLearnError",
    "FieldError",
    "Invalid",
    "InvalidService",
    "InvalidNetworkPolicy",
    "NotFound",
    "InvalidChange",
    "K8sLearnWarning",
]


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
        self.value = value
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
        if len(self.errors) == 1:
            head = f'The {self.kind} "{name}" is invalid: {self.errors[0]}'
        else:
            items = "".join(f"\n* {e}" for e in self.errors)
            head = f'The {self.kind} "{name}" is invalid: {items}'
        hints = [e.hint for e in self.errors if e.hint]
        super().__init__(head, hint="\n      ".join(hints))


class InvalidService(Invalid):
    """A Service spec the API server would reject."""

    kind = "Service"


class InvalidNetworkPolicy(Invalid):
    """A NetworkPolicy spec the API server would reject."""

    kind = "NetworkPolicy"


class NotFound(K8sLearnError, KeyError):
    """A name (node, pod, service) that does not exist; the message lists the valid choices."""

    def __init__(self, kind: str, name: str, choices: list[str] | tuple[str, ...]) -> None:
        self.resource = kind
        self.name = name
        self.choices = tuple(choices)
        listed = ", ".join(repr(c) for c in self.choices) if self.choices else "none yet"
        super().__init__(
            f'{kind}s "{name}" not found',
            hint=f"the {kind}s in this cluster are: {listed}.",
        )

    # KeyError's __str__ would add quotes around the whole message.
    def __str__(self) -> str:
        return K8sLearnError.__str__(self)


class InvalidChange(K8sLearnError, ValueError):
    """A change to the cluster that cannot be made (the cluster is left exactly as it was)."""


class K8sLearnWarning(UserWarning):
    """Something kubectl would accept but warn about (e.g. a selector that matches no pods)."""
