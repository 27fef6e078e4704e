"""The package's layering (keras_pfs/ARCHITECTURE.md): nothing reaches up.

Each part of `keras_pfs` may import only the parts of the layers before it
(or its own); the test reads every module's imports, so a new upward import
fails here with the module and the import named.
"""

import ast
import os

import keras_pfs

# Lowest first. Parts in one tuple are one layer: none imports another.
LAYERS = (
    ("atomic", "data"),
    ("run_directory", "models"),
    ("losses",),
    # config checks loss names and options against the losses' registry.
    ("config", "metrics", "distribute"),
    ("distiller", "interop", "visualization"),
    ("callbacks", "export"),
    ("training",),
    ("experiments",),
    ("cli",),
)
_RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
_ROOT = os.path.dirname(keras_pfs.__file__)


def _part(module):
    """`keras_pfs.<part>...` -> part (the package's own `__init__`: None)."""
    names = module.split(".")
    return names[1] if len(names) > 1 else None


def _imports(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "keras_pfs":
                yield from (f"keras_pfs.{alias.name}" for alias in node.names)
            elif node.module.startswith("keras_pfs."):
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("keras_pfs."))


def _modules():
    for folder, _, files in os.walk(_ROOT):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, os.path.dirname(_ROOT))
                yield relative[: -len(".py")].replace(os.sep, "."), path


def test_every_part_has_a_layer():
    parts = {_part(module) for module, _ in _modules()} - {None, "__init__"}
    assert parts == set(_RANK), (
        "add the new part to LAYERS (and keras_pfs/ARCHITECTURE.md)"
    )


def test_nothing_reaches_up():
    upward = []
    for module, path in _modules():
        part = _part(module)
        if part is None or part.endswith("__init__"):
            continue  # the package's own __init__ gathers the public API
        for imported in _imports(path):
            # A name of the package's __init__ (its public API) is the top.
            other = _part(imported)
            rank = _RANK.get(other, len(LAYERS))
            if other != part and rank >= _RANK[part]:
                upward.append(f"{module} imports {imported}")
    assert not upward, upward
