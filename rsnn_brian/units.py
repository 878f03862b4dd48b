"""Times with units, the one conversion to time steps (no Brian2 import).

Config files and the command line write times as text with a unit,
``"64 ms"``, ``"64*ms"`` or ``"0.064 s"``. :func:`parse_time` reads them
through a whitelist of time units and returns seconds; :func:`to_steps`
divides by ``dt``. The scale factors are Brian2's own (``ms`` is
``1e-3 * second``), so ``parse_time("64 ms") * brian2.second`` equals
``64 * brian2.ms`` to the last bit, and the Brian2 wing builds its
quantities from these same numbers (:func:`rsnn_brian.brian.model.from_config`).
"""

from __future__ import annotations

import math
import re

__all__ = ["TIME_UNITS", "parse_time", "format_time", "to_steps", "whole_steps"]

#: The accepted time units and their size in seconds (Brian2's names and scales).
TIME_UNITS = {"s": 1.0, "second": 1.0, "ms": 1e-3, "msecond": 1e-3,
              "us": 1e-6, "usecond": 1e-6, "µs": 1e-6}

_TIME = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-zµ]+)\s*$")


def parse_time(text, name: str = "value") -> float:
    """``"64 ms"`` -> 0.064 (seconds). Refuses unknown units, bare numbers and negative times.

    Parameters
    ----------
    text : str such as ``"64 ms"``, ``"64*ms"``, ``"0.5 s"``; or an object with a
        Brian2-like ``dim`` (a time Quantity), which is read as seconds.
    name : the setting's name, for the error message.
    """
    if hasattr(text, "dim") and type(text).__module__.startswith("brian2"):
        if str(text.dim) != "s":
            raise ValueError(f"{name} must be a time, got {text}")
        seconds = float(text)
    else:
        if not isinstance(text, str):
            raise ValueError(f"{name} must be a time with a unit, such as '64 ms', got {text!r}")
        m = _TIME.match(text)
        if not m:
            raise ValueError(f"{name}: cannot read {text!r} as a time; write e.g. '64 ms'")
        unit = m.group(2)
        if unit not in TIME_UNITS:
            raise ValueError(f"{name}: unknown time unit {unit!r} in {text!r}; use one of "
                             f"{', '.join(sorted(set(TIME_UNITS) - {'second', 'msecond', 'usecond'}))}")
        seconds = float(m.group(1)) * TIME_UNITS[unit]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name} must be a finite time >= 0, got {text!r}")
    return seconds


def format_time(seconds: float) -> str:
    """0.064 -> ``"64 ms"`` (the form config files use)."""
    ms = seconds / 1e-3
    if ms == round(ms, 9):
        return f"{ms:g} ms"
    return f"{seconds!r} s"


def to_steps(seconds: float, dt: float) -> float:
    """A time in seconds as a (float) number of steps of ``dt`` seconds."""
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt!r} s")
    return seconds / dt


def whole_steps(seconds: float, dt: float, name: str = "value") -> int:
    """A time that must be a whole number of steps (e.g. the refractory period)."""
    r = to_steps(seconds, dt)
    if abs(r - round(r)) > 1e-9:
        raise ValueError(f"{name} ({format_time(seconds)}) must be a whole number of time steps "
                         f"(dt = {format_time(dt)})")
    return int(round(r))
