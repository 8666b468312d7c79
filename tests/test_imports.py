"""The package's import graph has no cycles, and its public modules say what they export.

The graph is read from the source (``ast``), not from an interpreter's ``sys.modules``: every
``import`` and ``from … import`` naming a module of the package is an edge, wherever it sits (a
lazy import inside a function still ties the two modules together), except under
``if TYPE_CHECKING:``, which never runs. Importing ``a.b`` runs ``a/__init__`` first, so a package's
``__init__`` is an edge too.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import generate_media

PACKAGE = "generate_media"
ROOT = Path(generate_media.__file__).parent


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module if _is_package(module) else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


def _running(name: str, importer: str) -> set[str]:
    """What importing ``name`` runs: it and every package above it inside ours (their ``__init__``
    first), less the packages ``importer`` sits in (they are running already)."""
    out = set()
    explicit = name
    while name.startswith(PACKAGE):
        if name in MODULES and (name == explicit or not importer.startswith(name + ".")):
            out.add(name)
        name = name.rpartition(".")[0]
    return out


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    targets: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                pending.extend(child.orelse)  # type: ignore[attr-defined]
                continue
            pending.append(child)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    targets |= _running(alias.name, module)
            elif isinstance(child, ast.ImportFrom):
                source = _absolute(module, child)
                targets |= _running(source, module)
                for alias in child.names:  # ``from pkg import submodule``
                    if f"{source}.{alias.name}" in MODULES:
                        targets |= _running(f"{source}.{alias.name}", module)
    targets.discard(module)
    return targets


def _graph() -> dict[str, set[str]]:
    return {module: _imports(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_reader_sees_lazy_relative_and_package_imports():
    graph = _graph()
    assert "generate_media.errors" in graph["generate_media.inputs"]  # from .errors import ...
    assert "generate_media.backends._download" in graph["generate_media.backends.grok.video"]  # from .._download
    assert "generate_media.backends" not in graph["generate_media.backends.grok.video"]  # already running
    assert "generate_media.stores" in graph["generate_media.jobs"]  # from .stores.jobs: its package runs first
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_package_import_graph_has_no_cycles():
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles (move the shared piece down into the module both use): " + "; ".join(
        " <-> ".join(cycle) for cycle in cycles
    )


# --- __all__ ---------------------------------------------------------------------------------------

#: The core's public modules: not private (``_x``), not an entry point, not a backend (a backend's
#: interface is the ``SPEC`` its package registers, see ``registry``).
CORE = sorted(
    name
    for name in MODULES
    if not any(part.startswith("_") for part in name.split(".")) and not name.startswith(f"{PACKAGE}.backends")
)


def _names(text: str) -> list[str]:
    return text.split()


#: What the interface modules export, pinned: a change here is a change to the package's interface
#: (backends build on ``spec``, ``errors`` and ``downloads``; embedders read ``results`` and ``config``).
PINNED: dict[str, list[str]] = {
    "generate_media": ["__version__"],
    "generate_media.config": _names("Limits Settings default_output_dir default_state_dir"),
    "generate_media.downloads": _names("BLOCK MAX_REDIRECTS UrlRules fetch fetch_to_file is_public open_url parse_url"),
    "generate_media.errors": _names(
        "DISK_ERRNOS ERROR_CODES AccessDenied AuthError BadProviderResponse BudgetExceeded DiskFull "
        "GenerateMediaError InvalidRequest LimitExceeded MissingKey ModelUnavailable NoBackendAvailable NotFound "
        "NotWritable ProviderError ProviderTimeout ProviderUnavailable QuotaExceeded RateLimited RedactingFilter "
        "Redactor SafetyBlocked StorageError redact_logs storage_error"
    ),
    "generate_media.registry": ["Registry", "load_registry"],
    "generate_media.results": _names(
        "CostEstimate ErrorInfo GenerationResult ItemResult Outcome failure result_schema"
    ),
    "generate_media.spec": _names(
        "ANIMATE AUDIO_ISOLATION DIALOGUE DUBBING LIFECYCLE_STATUSES MUSIC PICTURES SOUND_EFFECTS SPEECH VIDEO_CLIPS "
        "VIDEO_EDITS VOICE_CLONE VOICE_CONVERSION VOICE_DESIGN BackendSpec Board Call Endpoint JobState JobStatus "
        "MediaSupport MediaType Option ModelSpec Operation PixelSizes Produced Standing ask"
    ),
}


@pytest.mark.parametrize("module", CORE)
def test_each_core_module_declares_what_it_exports(module):
    imported = importlib.import_module(module)
    declared = getattr(imported, "__all__", None)
    assert isinstance(declared, list) and declared, f"{module} has no __all__"
    missing = [name for name in declared if not hasattr(imported, name)]
    assert missing == [], f"{module}.__all__ names what it does not define: {missing}"


def test_what_modules_take_from_each_other_is_exported():
    """A public name one module imports from another core module is in that module's ``__all__``."""
    unexported: set[str] = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _absolute(module, node)
            if source not in CORE:
                continue
            exported = importlib.import_module(source).__all__
            unexported |= {
                f"{source}.{alias.name} (in {module})"
                for alias in node.names
                if not alias.name.startswith("_")
                and f"{source}.{alias.name}" not in MODULES
                and alias.name not in exported
            }
    assert sorted(unexported) == []


@pytest.mark.parametrize("module", sorted(PINNED))
def test_the_interface_modules_export_exactly_what_is_pinned(module):
    declared = importlib.import_module(module).__all__
    assert sorted(declared) == sorted(PINNED[module]), f"{module}.__all__ changed: update PINNED if intended"
