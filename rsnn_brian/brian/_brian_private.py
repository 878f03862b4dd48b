"""Every private or internal Brian2 API this package uses, behind one adapter.

The rest of :mod:`rsnn_brian.brian` uses Brian2's public API only (objects,
``prefs``, ``set_device``, ``device.build/run/delete/reinit``, ``group.var_``
views); whatever reaches into Brian2's internals lives here, so that a Brian2
upgrade breaks this module and its tests first, and nothing else:

- the device stack (``brian2.devices.device``: ``previous_devices``,
  ``_do_set_device``, ``all_devices``, ``reset_device``, ``runtime_device``)
  and the raw preference dict ``prefs.prefs``, for :func:`brian_globals`;
- which runner owns the process-wide standalone device: an attribute this
  module sets on Brian2's device object (:func:`claim_standalone`);
- runtime mode: clearing a SpikeMonitor (``resize``, ``variables["N"]``) and
  overwriting a TimedArray's values in place;
- cpp_standalone: the run-time argument files (the syntax of ``_prepare_*_run_arg``,
  ``run_args_arrays``), the binary's environment
  (``run_environment_variables``) and reading results from another folder
  (``results_dir``, ``has_been_run``);
- Brian2's C++ compiler detection (``brian2.codegen.cpp_prefs``);
- the equations' linear system (``brian2.stateupdaters.exact.get_linear_system``), the
  sympy conversions (``brian2.parsing.sympytools``), the equation types and the
  ``StateUpdateMethod`` base class, for :mod:`.linear`.

The Brian2 versions these were checked against are :data:`SUPPORTED_BRIAN2`;
:func:`check_brian2_version` refuses any other.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import weakref
from contextlib import contextmanager

__all__ = ["SUPPORTED_BRIAN2", "Brian2VersionError", "check_brian2_version", "brian_globals",
           "standalone_device", "use_runtime_device", "activate_standalone", "standalone_owner",
           "claim_standalone", "release_standalone", "clear_monitor", "overwrite_timed_array",
           "forget_run_args", "write_run_args", "remove_run_args", "run_environment",
           "read_results_from", "compiler_and_args", "linear_system", "sympy_tools", "is_differential",
           "state_update_method"]

#: (oldest, newest) Brian2 (major, minor) releases tested with this adapter, both included.
SUPPORTED_BRIAN2 = ((2, 8), (2, 11))
#: The attribute set on Brian2's standalone device object: a weak reference to its owner.
_OWNER_ATTR = "_rsnn_brian_owner"
_STANDALONE = ("cpp_standalone", "cuda_standalone")


class Brian2VersionError(RuntimeError):
    """The installed Brian2 is outside :data:`SUPPORTED_BRIAN2`."""


def _range_text() -> str:
    (a, b), (c, d) = SUPPORTED_BRIAN2
    return f"{a}.{b} .. {c}.{d}"


def check_brian2_version(version: str | None = None) -> str:
    """Raise :class:`Brian2VersionError` unless Brian2 is a supported release.

    Parameters
    ----------
    version : str, e.g. ``"2.10.1"``; ``brian2.__version__`` if None.

    Returns
    -------
    str, the version checked.
    """
    if version is None:
        import brian2
        version = str(brian2.__version__)
    m = re.match(r"\s*(\d+)\.(\d+)", version)
    lo, hi = SUPPORTED_BRIAN2
    if m is None or not lo <= (int(m.group(1)), int(m.group(2))) <= hi:
        raise Brian2VersionError(
            f"rsnn_brian supports Brian2 {_range_text()} (it uses Brian2 internals checked against "
            f"those releases, see rsnn_brian/brian/_brian_private.py); the installed Brian2 is "
            f"{version!r}. Install a supported one, e.g. pip install 'brian2>={lo[0]}.{lo[1]},"
            f"<{hi[0]}.{hi[1] + 1}'")
    return version


def _devices_module():
    return importlib.import_module("brian2.devices.device")


# ---------------------------------------------------------------------------
# device and preferences

@contextmanager
def brian_globals():
    """Snapshot the Brian2 device, the device stack and the preferences; restore them on exit."""
    import brian2
    devmod = _devices_module()
    saved_device = devmod.get_device()
    saved_stack = list(devmod.previous_devices)
    saved_prefs = copy.deepcopy(dict(brian2.prefs.prefs))
    try:
        yield
    finally:
        for key, val in saved_prefs.items():
            if brian2.prefs.prefs.get(key, object()) is not val:
                brian2.prefs.prefs[key] = val
        if devmod.get_device() is not saved_device:
            devmod._do_set_device(saved_device, getattr(saved_device, "build_on_run", True),
                                  **getattr(saved_device, "build_options", {}))
        devmod.previous_devices[:] = saved_stack


def standalone_device(name: str):
    """Brian2's (process-wide) device object called ``name``."""
    return _devices_module().all_devices[name]


def use_runtime_device() -> None:
    """Make Brian2's runtime device the active one (inside :func:`brian_globals`)."""
    devmod = _devices_module()
    devmod.reset_device(devmod.runtime_device)


def activate_standalone(dev, name: str) -> None:
    """Forget everything ``dev`` holds and make it the active device, ``build_on_run=False``."""
    import brian2
    dev.reinit()
    brian2.set_device(name, build_on_run=False)


# ---------------------------------------------------------------------------
# one standalone runner per process: the owner is recorded on Brian2's device object

def standalone_owner():
    """The object owning one of Brian2's standalone devices, or None."""
    devices = _devices_module().all_devices
    for name in _STANDALONE:
        ref = getattr(devices.get(name), _OWNER_ATTR, None)
        owner = ref() if ref is not None else None
        if owner is not None:
            return owner
    return None


def claim_standalone(dev, owner) -> None:
    """Record ``owner`` on ``dev``; RuntimeError if another object owns a standalone device."""
    current = standalone_owner()
    if current is not None and current is not owner:
        raise RuntimeError("another standalone Runner is open in this process; close it first "
                           "(Brian2's standalone device is one per process)")
    setattr(dev, _OWNER_ATTR, weakref.ref(owner))


def release_standalone(dev, owner) -> bool:
    """Forget ``owner`` on ``dev``; True if it was the owner."""
    ref = getattr(dev, _OWNER_ATTR, None)
    if ref is None or ref() is not owner:
        return False
    setattr(dev, _OWNER_ATTR, None)
    return True


# ---------------------------------------------------------------------------
# runtime mode

def clear_monitor(mon) -> None:
    """Empty a SpikeMonitor's recorded spikes before the next run."""
    mon.resize(0)
    mon.variables["N"].set_value(0)


def overwrite_timed_array(ta, values) -> None:
    """Write ``values`` into a TimedArray's own buffer (runtime mode reads it at every run).

    The buffer keeps its length (compiled into the code); the rest is filled with -1.
    """
    ta.values[:] = -1.0
    ta.values[:values.size] = values


# ---------------------------------------------------------------------------
# cpp_standalone: run-time arguments and results folders

def forget_run_args(dev, build_dir: str) -> None:
    """Delete the run_args files of the last ``dev.run`` and the lock files Brian2 leaves."""
    names = list(dev.run_args_arrays)
    dev.delete(code=False, data=False, run_args=True, directory=False)
    for name in names:
        lock = os.path.join(build_dir, "static_arrays", name + ".lock")
        if os.path.exists(lock):
            os.remove(lock)


def write_run_args(dev, build_dir: str, run_args: dict, written: dict) -> list[str]:
    """Write the files of ``run_args`` as ``device.run`` would; return the binary's arguments.

    The argument syntax (``group.var=static_arrays/<file>``, a single value inline) and the
    raw ``tofile`` format are Brian2's (``_prepare_*_run_arg``); the file names are not:
    Brian2 names a file after the md5 of its contents (20-40 ms for the weights of
    784-400-R400-10 at every run), this names it after a counter. One array given for
    several chunks (the same object) is written once.

    Parameters
    ----------
    dev : Brian2's cpp_standalone device, built
    build_dir : the project folder
    run_args : {TimedArray or VariableView: array}
    written : {(argument name, id(array)): (file name, array)}, updated; the caller deletes
        the files (the arrays are kept so that an id is not reused while the files exist)

    Returns
    -------
    list of ``"name=value"`` command-line arguments.
    """
    import numpy as np
    from brian2 import TimedArray
    args = []
    for key, value in run_args.items():
        if isinstance(key, TimedArray):
            name, label, dtype = f"{key.name}.values", f"{key.name}_values", key.values.dtype
            shape_ok = np.shape(value) == key.values.shape
        else:
            name, label, dtype = f"{key.group_name}.{key.name}", f"{key.group_name}_{key.name}", key.dtype
            shape_ok = np.ndim(value) == 1 and (key.variable.dynamic or np.size(value) == key.shape[0])
        if np.size(value) == 1:                       # Brian2 passes a single value inline
            args.append(f"{name}={np.asarray(value, dtype=dtype).item()!r}")
            continue
        if not shape_ok:
            raise TypeError(f"incorrect size {np.shape(value)} for the run-time argument {name}")
        ident = (name, id(value))
        if ident not in written:
            fname = f"init_{label}_rsnn{os.getpid()}_{len(written)}.dat"
            np.ascontiguousarray(value, dtype=dtype).tofile(os.path.join(build_dir, "static_arrays", fname))
            written[ident] = (fname, value)
        args.append(f"{name}={os.path.join('static_arrays', written[ident][0])}")
    return args


def remove_run_args(build_dir: str, written: dict) -> None:
    """Delete the files :func:`write_run_args` wrote."""
    for fname, _ in written.values():
        path = os.path.join(build_dir, "static_arrays", fname)
        if os.path.exists(path):
            os.remove(path)
    written.clear()


def run_environment(dev) -> dict:
    """The environment ``device.run`` gives the binary."""
    import brian2
    env = dict(os.environ)
    env.update(brian2.prefs["devices.cpp_standalone.run_environment_variables"])
    env.update(dev.run_environment_variables)
    return env


def read_results_from(dev, results_dir: str) -> None:
    """Make monitors and variables read from ``results_dir`` (a run of the built binary)."""
    dev.has_been_run = True
    dev.results_dir = results_dir


# ---------------------------------------------------------------------------
# the C++ tool chain

def compiler_and_args() -> tuple:
    """Brian2's own detection of the C++ compiler: (name, list of flags)."""
    from brian2.codegen.cpp_prefs import get_compiler_and_args
    compiler, args = get_compiler_and_args()
    return compiler, list(args)


# ---------------------------------------------------------------------------
# equations (rsnn_brian.brian.linear)

def linear_system(equations):
    """Brian2's ``get_linear_system(equations, {})``: (state names, M, b) as sympy matrices."""
    from brian2.stateupdaters.exact import get_linear_system
    return get_linear_system(equations, {})


def sympy_tools():
    """Brian2's ``(str_to_sympy, sympy_to_str)``."""
    from brian2.parsing.sympytools import str_to_sympy, sympy_to_str
    return str_to_sympy, sympy_to_str


def is_differential(eq) -> bool:
    """Whether one of an ``Equations``' entries is a differential equation."""
    from brian2.equations.equations import DIFFERENTIAL_EQUATION
    return eq.type == DIFFERENTIAL_EQUATION


def state_update_method():
    """Brian2's ``StateUpdateMethod`` base class (a custom integrator derives from it)."""
    from brian2.stateupdaters.base import StateUpdateMethod
    return StateUpdateMethod
