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
- cpp_standalone: the run-time argument files (``_prepare_*_run_arg``,
  ``run_args_arrays``, ``brian2.utils.filelock``), the binary's environment
  (``run_environment_variables``) and reading results from another folder
  (``results_dir``, ``has_been_run``);
- Brian2's C++ compiler detection (``brian2.codegen.cpp_prefs``).

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
           "forget_run_args", "write_run_args", "run_environment", "results_dir_kept",
           "read_results_from", "compiler_and_args"]

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


def write_run_args(dev, build_dir: str, run_args: dict, written: set) -> list[str]:
    """Write the files of ``run_args`` exactly as ``device.run`` does; return the binary's arguments.

    Parameters
    ----------
    dev : Brian2's cpp_standalone device, built
    build_dir : the project folder
    run_args : {TimedArray or VariableView: array}
    written : names of the files written so far (updated); the caller deletes them

    Returns
    -------
    list of ``"name=value"`` command-line arguments.
    """
    from brian2 import TimedArray
    from brian2.utils.filelock import FileLock
    args = []
    for key, value in run_args.items():
        prepare = (dev._prepare_timed_array_run_arg if isinstance(key, TimedArray)
                   else dev._prepare_variableview_run_arg)
        name, string_value, value_name, value_ar = prepare(key, value)
        if value_name:
            fname = os.path.join(build_dir, "static_arrays", value_name)
            if value_name not in written:
                with FileLock(fname + ".lock"):
                    if not os.path.exists(fname):
                        value_ar.tofile(fname)
                if os.path.exists(fname + ".lock"):
                    os.remove(fname + ".lock")
                written.add(value_name)
        args.append(f"{name}={string_value}")
    return args


def run_environment(dev) -> dict:
    """The environment ``device.run`` gives the binary."""
    import brian2
    env = dict(os.environ)
    env.update(brian2.prefs["devices.cpp_standalone.run_environment_variables"])
    env.update(dev.run_environment_variables)
    return env


@contextmanager
def results_dir_kept(dev):
    """Restore the device's results folder on exit (see :func:`read_results_from`)."""
    saved = dev.results_dir
    try:
        yield
    finally:
        dev.results_dir = saved


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
