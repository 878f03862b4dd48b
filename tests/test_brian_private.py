"""The Brian2 adapter: version check, one owner of the standalone device, and the
rule that only ``rsnn_brian/brian/_brian_private.py`` touches Brian2's internals.
"""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")

from rsnn_brian.brian import Runner  # noqa: E402
from rsnn_brian.brian import _brian_private as bp  # noqa: E402
from rsnn_brian.connectivity import init_weights  # noqa: E402
from rsnn_brian.network import parse_architecture  # noqa: E402

WING = Path(__file__).resolve().parents[1] / "rsnn_brian" / "brian"
ADAPTER = "_brian_private.py"


class _Owner:
    """Stands for a Runner's backend in the ownership tests."""

# ---------------------------------------------------------------------------
# the Brian2 version


def test_installed_brian2_is_supported():
    assert bp.check_brian2_version() == brian2.__version__
    lo, hi = bp.SUPPORTED_BRIAN2
    assert (2, 8) <= lo <= hi


@pytest.mark.parametrize("version", ["3.0.0", "2.5.0", "2.12.0", "not-a-version"])
def test_unsupported_brian2_is_refused(monkeypatch, version):
    monkeypatch.setattr(brian2, "__version__", version)
    lo, hi = bp.SUPPORTED_BRIAN2
    supported = rf"Brian2 {lo[0]}\.{lo[1]} \.\. {hi[0]}\.{hi[1]}"
    with pytest.raises(bp.Brian2VersionError, match=rf"supports {supported}.*'{version}'"):
        bp.check_brian2_version()
    with pytest.raises(bp.Brian2VersionError, match=supported):   # on construction
        Runner("4-2", device="runtime")


@pytest.mark.parametrize("version", ["2.8.0", "2.9.1rc1", "2.10.1", "2.11.0.post1"])
def test_supported_brian2_versions_pass(version):
    assert bp.check_brian2_version(version) == version


# ---------------------------------------------------------------------------
# one standalone runner per process, recorded on Brian2's device object

def test_standalone_device_has_one_owner():
    dev = bp.standalone_device("cpp_standalone")
    assert bp.standalone_owner() is None, "a standalone Runner from another test is still open"
    a, b = _Owner(), _Owner()
    bp.claim_standalone(dev, a)
    try:
        assert bp.standalone_owner() is a
        bp.claim_standalone(dev, a)                 # the owner may claim again (rebuild)
        with pytest.raises(RuntimeError, match="another standalone Runner is open"):
            bp.claim_standalone(dev, b)
        assert not bp.release_standalone(dev, b)    # b does not own it
        assert bp.standalone_owner() is a
    finally:
        assert bp.release_standalone(dev, a)
    assert bp.standalone_owner() is None
    bp.claim_standalone(dev, b)
    assert bp.release_standalone(dev, b)


def test_second_standalone_runner_is_refused_and_globals_restored():
    """Refused before anything is generated; the device and preferences are left as they were."""
    from brian2 import get_device, prefs
    dev = bp.standalone_device("cpp_standalone")
    holder = _Owner()
    arch = parse_architecture("4-2")
    w = init_weights(arch, np.random.default_rng(0))
    before_dev, before_target = get_device(), prefs.codegen.target
    bp.claim_standalone(dev, holder)
    try:
        r = Runner(arch, device="cpp_standalone", n_steps=10, samples_per_run=1)
        with pytest.raises(RuntimeError, match="another standalone Runner is open"):
            r.build(w)
        r.close()
        assert bp.standalone_owner() is holder        # closing r did not free holder's device
    finally:
        bp.release_standalone(dev, holder)
    assert get_device() is before_dev and prefs.codegen.target == before_target


# ---------------------------------------------------------------------------
# only the adapter touches Brian2's internals

#: Internal Brian2 names (attributes, imported names) the rest of the wing must not use.
FORBIDDEN = {"_do_set_device", "previous_devices", "_prepare_timed_array_run_arg",
             "_prepare_variableview_run_arg", "run_args_arrays", "results_dir", "has_been_run",
             "filelock", "all_devices", "reset_device", "runtime_device", "active_device",
             "run_environment_variables", "build_options", "build_on_run", "variables",
             "array_cache", "project_dir", "reinit_devices", "get_compiler_and_args", "resize"}
#: Brian2 submodules the rest of the wing may import from (public, re-exported by brian2).
PUBLIC_SUBMODULES = ("brian2.units",)


def _brian2_module_ok(name: str) -> bool:
    return name == "brian2" or name.startswith(PUBLIC_SUBMODULES) or not name.startswith("brian2.")


def private_uses(source: str) -> list[str]:
    """'line: what' for every use of a private or internal Brian2 API in ``source``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute):
            a = node.attr
            private = a.startswith("_") and not (a.startswith("__") and a.endswith("__"))
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if (private and not on_self) or a in FORBIDDEN:
                out.append(f"{line}: .{a}")
            if a == "prefs" and (isinstance(node.value, ast.Attribute) and node.value.attr == "prefs"
                                 or isinstance(node.value, ast.Name) and node.value.id == "prefs"):
                out.append(f"{line}: prefs.prefs")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN - {"variables"}:    # an attribute only
            out.append(f"{line}: {node.id}")
        elif isinstance(node, ast.Import):
            out += [f"{line}: import {al.name}" for al in node.names if not _brian2_module_ok(al.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] == "brian2":
            if not _brian2_module_ok(node.module):
                out.append(f"{line}: from {node.module}")
            out += [f"{line}: from {node.module} import {al.name}" for al in node.names
                    if al.name.startswith("_") or al.name in FORBIDDEN]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("brian2."):
            if not _brian2_module_ok(node.value.split()[0]):                     # import_module("brian2.x")
                out.append(f"{line}: {node.value!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) > 1 and \
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            v = node.args[1].value
            if v in FORBIDDEN or v.startswith("_") and not v.startswith("__"):
                out.append(f"{line}: {v!r}")
    return out


def test_private_check_finds_what_it_should():
    bad = '''
import importlib
from brian2.devices.device import all_devices, reset_device
from brian2.utils.filelock import FileLock
from brian2 import _private_thing
devmod = importlib.import_module("brian2.devices.device")
devmod._do_set_device(dev)
dev.run_args_arrays, dev.results_dir, dev.has_been_run
mon.variables["N"].set_value(0)
prefs.prefs["codegen.target"]
getattr(dev, "_prepare_timed_array_run_arg")
'''
    found = "\n".join(private_uses(bad))
    for what in ("from brian2.devices.device", "all_devices", "reset_device", "from brian2.utils.filelock",
                 "_private_thing", "'brian2.devices.device'", "._do_set_device", ".run_args_arrays",
                 ".results_dir", ".has_been_run", ".variables", "prefs.prefs",
                 "'_prepare_timed_array_run_arg'"):
        assert what in found, what
    ok = '''
from brian2 import NeuronGroup, prefs, ms
from brian2.units.fundamentalunits import get_dimensions
self._backend.build(spec)
g.v_[:] = 0; mon.t_[:]; hasattr(mon, "v_"); type(x).__name__
'''
    assert private_uses(ok) == []


def test_only_the_adapter_uses_brian2_internals():
    modules = sorted(p for p in WING.glob("*.py") if p.name != ADAPTER)
    assert len(modules) >= 8
    found = {p.name: private_uses(p.read_text()) for p in modules}
    assert {k: v for k, v in found.items() if v} == {}
    assert private_uses((WING / ADAPTER).read_text()), "the adapter is where these uses go"


def test_no_module_level_mutable_state():
    """No ``global`` statement in the wing: one standalone owner lives on Brian2's device."""
    for p in WING.glob("*.py"):
        tree = ast.parse(p.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Global)], p.name


# ---------------------------------------------------------------------------
# layering: the Brian2 wing needs neither the reference simulator nor matplotlib

def test_wing_imports_neither_reference_nor_matplotlib():
    for p in WING.glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [al.name for al in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            for n in names:
                assert "reference" not in n.split(".") and not n.startswith("matplotlib"), (p.name, n)
    # (Brian2 itself imports matplotlib, so only the reference simulator is checked at run time)
    code = ("import sys, rsnn_brian.brian.runner, rsnn_brian.brian.info; "
            "print(sorted(m for m in sys.modules if m.startswith('rsnn_brian.reference')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
