"""Imports inside k8slearn go only downwards, and the heavy plotting/widget libraries stay up top.

Every module is read with ``ast`` (nothing is imported), so imports inside functions and under
``if TYPE_CHECKING:`` count too. A new module must be given a layer in ``LAYERS`` below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "k8slearn"

# Lowest first. A name is a module (model.py) or a subpackage (dataplane/). A module may import
# only from lower layers; modules of one subpackage may import each other (but never in a cycle).
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("validation",),
    ("model",),
    ("examples",),
    ("dataplane",),
    ("placement", "proxies"),
    ("loadbalancer",),
    ("path",),  # the chain of elements a connection passes; trace.py and traffic.py run it
    ("trace", "proxychain"),
    ("traffic",),  # aggregates what trace.py defines for one connection
    ("lbtable", "manifests"),  # lbtable runs the simulator over the load-balancer catalogue
    ("viz",),
    ("widgets",),
    ("judging", "capstone"),  # exercises as data, and the capstone's grader
    ("checks", "lab", "browser", "predictions"),
    ("bench", "doctor", "grading"),  # grading runs notebooks against checks.py's registry
    ("cli",),
    ("__main__",),  # it imports cli, so it sits one layer above it
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}

# Slow to import; allowed anywhere in these parts of the package ...
HEAVY = {"matplotlib", "networkx", "ipywidgets", "resvg_py", "playwright"}
HEAVY_ANYWHERE = {"viz", "widgets"}
# ... and only inside functions (or under TYPE_CHECKING) in these.
HEAVY_LAZILY = {"bench", "doctor", "cli", "browser", "predictions"}


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (its own __init__ excluded)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if "__pycache__" in parts or parts == ("__init__",):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("k8slearn", *parts))] = path
    return found


MODULES = _modules()


class _Imports(ast.NodeVisitor):
    """Collects (line, dotted target, lazy) for each import; lazy = inside a def or TYPE_CHECKING."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[tuple[int, str, bool]] = []
        self.depth = 0

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self._nested(node)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((node.lineno, alias.name, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:  # relative: from . import x, from ..model import Pod
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            # "from k8slearn.dataplane import rules" imports the module k8slearn.dataplane.rules
            candidate = f"{source}.{alias.name}"
            target = candidate if candidate in MODULES else source
            self.found.append((node.lineno, target, self.depth > 0))


def _imports(module: str) -> list[tuple[int, str, bool]]:
    path = MODULES[module]
    visitor = _Imports(module, is_package=path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return visitor.found


def _part(module: str) -> str:
    """The top-level name that gives a module its layer: k8slearn.dataplane.rules -> dataplane."""
    return module.split(".")[1]


def _internal(target: str) -> str | None:
    """The k8slearn module an import refers to (longest existing prefix), or None if external."""
    parts = target.split(".")
    if parts[0] != "k8slearn":
        return None
    for end in range(len(parts), 1, -1):
        name = ".".join(parts[:end])
        if name in MODULES:
            return name
    return "k8slearn"


def _where(module: str, line: int) -> str:
    return f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}"


def test_every_module_has_a_layer():
    unknown = sorted({_part(m) for m in MODULES} - LAYER.keys())
    assert not unknown, (
        f"k8slearn/{unknown[0]} has no layer: add {unknown} to LAYERS in tests/test_layering.py, "
        "next to the modules it may import from (lowest layer first)."
    )


def test_imports_only_go_down():
    problems = []
    for module in MODULES:
        mine = LAYER.get(_part(module))
        if mine is None:
            continue  # reported by test_every_module_has_a_layer
        for line, target, _ in _imports(module):
            other = _internal(target)
            if other is None:
                continue
            where = _where(module, line)
            if other == "k8slearn":
                problems.append(
                    f"{where}: {module} imports from the package root {target!r}; "
                    "import from the module that defines the name instead"
                )
                continue
            if _part(other) == _part(module):
                continue  # inside one subpackage: allowed, test_no_import_cycles checks cycles
            theirs = LAYER.get(_part(other))
            if theirs is None:
                continue
            if theirs > mine:
                problems.append(f"{where}: {module} imports {other}, which is in a higher layer")
            elif theirs == mine:
                problems.append(
                    f"{where}: {module} imports {other}, which is in the same layer; "
                    "move the shared part down a layer"
                )
    assert not problems, "Upward or sideways imports:\n" + "\n".join(problems)


def test_no_import_cycles():
    graph = {m: set() for m in MODULES}
    for module in MODULES:
        for _, target, _ in _imports(module):
            other = _internal(target)
            if other in graph and other != module:
                graph[module].add(other)

    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "Import cycles:\n" + "\n".join(cycles)


def test_heavy_libraries_stay_in_viz_and_widgets():
    problems = []
    for module in MODULES:
        part = _part(module)
        if part in HEAVY_ANYWHERE:
            continue
        for line, target, lazy in _imports(module):
            library = target.split(".")[0]
            if library not in HEAVY or (lazy and part in HEAVY_LAZILY):
                continue
            rule = "inside a function" if part in HEAVY_LAZILY else "in viz/ or widgets/"
            problems.append(
                f"{_where(module, line)}: {module} imports {library}; allowed only {rule}"
            )
    assert not problems, "Heavy imports outside viz/ and widgets/:\n" + "\n".join(problems)


# --- the checker checks itself on small made-up sources --------------------------------------


@pytest.mark.parametrize(
    ("module", "is_package", "source", "expected"),
    [
        ("k8slearn.model", False, "from .errors import Invalid", "k8slearn.errors"),
        ("k8slearn.model", False, "from . import errors", "k8slearn.errors"),
        ("k8slearn.dataplane.rules", False, "from ..model import Pod", "k8slearn.model"),
        ("k8slearn.dataplane", True, "from .x import y", "k8slearn.dataplane.x"),
        ("k8slearn.model", False, "import k8slearn.errors as e", "k8slearn.errors"),
    ],
)
def test_resolves_relative_imports(module, is_package, source, expected):
    visitor = _Imports(module, is_package)
    visitor.visit(ast.parse(source))
    assert visitor.found[0][1] == expected


def test_sees_imports_inside_functions_and_type_checking():
    visitor = _Imports("k8slearn.cli", False)
    visitor.visit(
        ast.parse(
            "import os\n"
            "def f():\n    import matplotlib.pyplot\n"
            "if TYPE_CHECKING:\n    import networkx\n"
        )
    )
    assert visitor.found == [
        (1, "os", False),
        (3, "matplotlib.pyplot", True),
        (5, "networkx", True),
    ]
