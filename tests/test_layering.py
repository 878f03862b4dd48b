"""The package's floors: imports point one way, the NumPy core never loads Brian2 or matplotlib.

Floors, from the ground up (a module may import its own floor and those below):

0. ground: spike trains, networks and connectivity, units and defaults, configs, files
1. the NumPy engine, the reference simulator, the optimisers
2. the Brian2 wing and the data sets
3. training and its plots
4. the command line
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "rsnn_brian"

FLOORS = [
    (0, ("rsnn_brian", "rsnn_brian._io", "rsnn_brian.units", "rsnn_brian.defaults", "rsnn_brian.spikes",
         "rsnn_brian.network", "rsnn_brian.models", "rsnn_brian.connectivity", "rsnn_brian.config",
         "rsnn_brian.presets")),
    (1, ("rsnn_brian.engine", "rsnn_brian.reference", "rsnn_brian.optim")),
    (2, ("rsnn_brian.brian", "rsnn_brian.data")),
    (3, ("rsnn_brian.training", "rsnn_brian.plotting", "rsnn_brian.export")),
    (4, ("rsnn_brian.cli", "rsnn_brian.__main__", "rsnn_brian.explore")),
]
NUMPY_CORE = ["rsnn_brian", "rsnn_brian.spikes", "rsnn_brian.network", "rsnn_brian.connectivity",
              "rsnn_brian.units", "rsnn_brian.defaults", "rsnn_brian.config", "rsnn_brian._io",
              "rsnn_brian.engine", "rsnn_brian.reference", "rsnn_brian.reference.gradcheck", "rsnn_brian.optim"]


def floor_of(module: str) -> int:
    best = None
    for floor, prefixes in FLOORS:
        for p in prefixes:
            inside = module == p or (p != "rsnn_brian" and module.startswith(p + "."))
            if inside and (best is None or len(p) > len(best[1])):
                best = (floor, p)
    if best is None:
        raise AssertionError(f"{module} is on no floor: add it to FLOORS in tests/test_layering.py")
    return best[0]


def modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        yield ".".join(parts), path, is_pkg


def imports_of(name: str, path: Path, is_pkg: bool):
    """Every module imported anywhere in the file (also inside functions), absolute names."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if is_pkg else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            yield mod, node.lineno
            for a in node.names:            # `from . import x` may name a submodule
                yield f"{mod}.{a.name}", node.lineno


def test_imports_point_one_way():
    bad = []
    for name, path, is_pkg in modules():
        f = floor_of(name)
        for mod, line in imports_of(name, path, is_pkg):
            if not mod.startswith("rsnn_brian"):
                continue
            try:
                g = floor_of(mod)
            except AssertionError:
                continue              # a name imported from a module, not a module
            if g > f:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} (floor {f}) imports {mod} (floor {g})")
    assert not bad, "imports that point up:\n" + "\n".join(bad)


def test_the_brian2_wing_does_not_import_the_reference_simulator():
    bad = [f"{path}:{line}" for name, path, is_pkg in modules() if name.startswith("rsnn_brian.brian")
           for mod, line in imports_of(name, path, is_pkg) if mod.startswith("rsnn_brian.reference")]
    assert not bad


def test_no_static_brian2_or_matplotlib_import_below_the_wing():
    bad = []
    for name, path, is_pkg in modules():
        if floor_of(name) <= 1:
            for mod, line in imports_of(name, path, is_pkg):
                if mod.split(".")[0] in ("brian2", "brian2cuda", "matplotlib", "seaborn"):
                    bad.append(f"{path}:{line} imports {mod}")
    assert not bad


def test_the_numpy_core_loads_neither_brian2_nor_matplotlib_in_a_fresh_interpreter():
    code = ("import sys, importlib\n"
            f"for m in {NUMPY_CORE!r}: importlib.import_module(m)\n"
            "import rsnn_brian as rb\n"
            "rb.SpikeTrains, rb.TrainConfig().layer_params(), rb.backward, rb.simulate, rb.init_weights\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('brian2', 'matplotlib', 'seaborn')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_public_face():
    import rsnn_brian as rb
    for name in rb.__all__:
        assert getattr(rb, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = rb.nope


@pytest.mark.parametrize("name, path, is_pkg", list(modules()), ids=lambda x: x if isinstance(x, str) else "")
def test_no_module_over_400_lines(name, path, is_pkg):
    n = len(path.read_text().splitlines())
    assert n <= 400, f"{path.relative_to(PKG.parent)} has {n} lines"


def test_no_module_level_mutable_state():
    """No ``global`` rebinding anywhere in the package (caches are functools.cache, state lives in objects)."""
    bad = [f"{path.relative_to(PKG.parent)}:{node.lineno}" for name, path, is_pkg in modules()
           for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Global)]
    assert not bad
