"""The neuron's discretisation as a value (spec 1, 2.2).

The model is the same everywhere (``tau_s dI/dt = -I``, ``dv/dt = -v/tau_m +
I/tau_s``, v reset to 0 at a spike and held during refractoriness); what
differs between simulators is how one step of it is taken. A
:class:`Discretisation` says that once, and the S-PSP engine, the reference
simulator and the effect-ratio tables all take it as a parameter, so that
the S-PSPs are computed with exactly the update that made the spikes
(the identity of spec 2.3 holds to rounding error in every discretisation).

Both built-ins use the schedule of Brian2's default network: in step n,
v integrates from the *old* current (``v' = a_v v + a_vI I``) unless
refractory, then ``I' = a_I I``, then threshold, then the spikes of step n
are added to the currents (so a spike at step m first moves v at m + 1),
then reset.

* :data:`BRIAN2` (the default): exact integration of the linear system;
  v is reset at the firing step and held ``refractory - 1`` more steps
  (``refractory`` in whole steps, counting the firing step, as Brian2 does).
* :data:`AUTHORS`: the authors' CUDA/MATLAB loop (``stonezwr/ST-RSBP``):
  forward Euler (the current decays, then takes the spikes; ``v += I /
  tau_s``), i.e. propagators ``(1 - 1/tau_m, 1/tau_s, 1 - 1/tau_s)``, and v
  held at 0 for their ``T_REF = 2`` steps after the firing step whatever
  ``LayerParams.refractory`` says. Its effect-ratio tables are drawn the way
  their MATLAB generator draws spike times (:mod:`.tables_authors`).

Other linear discretisations are values too, e.g. the authors' update with
Brian2's refractoriness: ``Discretisation("euler", integration="euler")``.

Other neuron models (``LayerParams.model``, spec 7) are stepped by
:meth:`Discretisation.state_propagator`: the whole state, ``P = expm(M)``
from the model's equations, with Brian2's schedule and refractoriness
(exact integration only; the closed form above stays today's model's path).
All times are in steps of dt; nothing here knows about units or Brian2.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..network import LayerParams

__all__ = ["Discretisation", "BRIAN2", "AUTHORS", "EULER", "DISCRETISATIONS", "AUTHORS_T_REF",
           "as_discretisation", "propagators", "psp_kernel"]

#: The authors' refractory counter: v is held at 0 for this many steps after a spike.
AUTHORS_T_REF = 2

_INTEGRATIONS = ("exact", "euler")
_PLACEMENTS = ("brian2", "authors")


@dataclass(frozen=True)
class Discretisation:
    """One way of stepping the neuron, as a value.

    name : a label (not part of equality: two values that step alike are equal).
    integration : 'exact' (exact propagators of the linear system, Brian2's
        ``exact`` method) or 'euler' (the authors' forward Euler update).
    held_steps : steps after the firing step during which v stays at 0 and the
        neuron cannot fire. None: Brian2's rule, ``refractory - 1`` (the
        refractory period counts the firing step); an int: that many,
        whatever ``LayerParams.refractory`` says (the authors: 2).
    placement : how the effect-ratio Monte Carlo places random spike trains:
        'brian2' (uniform over steps 0..T-1 with gaps of at least the
        refractory period; exact pre-spike marginal) or 'authors' (their
        MATLAB generator: ``round(U * T)`` in 0..T by rejection; an output at
        0 is never reached by their loop).
    """

    name: str = dataclasses.field(compare=False)
    integration: str = "exact"
    held_steps: int | None = None
    placement: str = "brian2"

    def __post_init__(self):
        if self.integration not in _INTEGRATIONS:
            raise ValueError(f"Discretisation.integration must be one of {_INTEGRATIONS}, got {self.integration!r}")
        if self.placement not in _PLACEMENTS:
            raise ValueError(f"Discretisation.placement must be one of {_PLACEMENTS}, got {self.placement!r}")
        if self.held_steps is not None:
            if int(self.held_steps) != self.held_steps or self.held_steps < 0:
                raise ValueError(f"Discretisation.held_steps must be None or a whole number >= 0, "
                                 f"got {self.held_steps!r}")
            object.__setattr__(self, "held_steps", int(self.held_steps))

    # -- one step ------------------------------------------------------------
    def propagators(self, p: LayerParams) -> tuple[float, float, float]:
        """One-step propagators ``(a_v, a_vI, a_I)``: ``v' = a_v v + a_vI I``, ``I' = a_I I``
        (today's model in closed form; a ``LayerParams.model`` has :meth:`state_propagator`)."""
        if p.model is not None:
            raise ValueError(f"the model {p.model.name!r} has no closed-form propagators; use "
                             "Discretisation.state_propagator")
        if self.integration == "euler":
            return 1.0 - 1.0 / p.tau_m, 1.0 / p.tau_s, 1.0 - 1.0 / p.tau_s
        a_v = math.exp(-1.0 / p.tau_m)
        a_I = math.exp(-1.0 / p.tau_s)
        a_vI = p.tau_m / (p.tau_m - p.tau_s) * (a_v - a_I)
        return a_v, a_vI, a_I

    def state_propagator(self, p: LayerParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(P, c, reset)`` of the whole state (v first, spec 7): ``X' = P X`` per step, ``c`` the jump
        per unit weight, ``reset`` the mask of the variables set to 0 at a spike.

        ``P = expm(M)`` from the model's equations (:class:`rsnn_brian.models.NeuronModel`); for
        ``model=None`` the closed form ``[[a_v, a_vI], [0, a_I]]`` of :meth:`propagators`.
        """
        if p.model is None:
            a_v, a_vI, a_I = self.propagators(p)
            return np.array([[a_v, a_vI], [0.0, a_I]]), np.array([0.0, 1.0]), np.array([True, False])
        if self.integration != "exact" or self.placement != "brian2":
            raise ValueError(f"the discretisation {self.name!r} is defined for the exponential model in closed "
                             f"form only, not for the model {p.model.name!r}")
        m = p.model
        return m.propagator(p.values()), np.array(m.jump), m.reset_mask

    def refractory_steps(self, p: LayerParams) -> int:
        """``R``: after a spike at step t the neuron integrates (and may fire) again from
        step ``t + R`` on (the simulators' ``n - lastspike >= R``); 0 and 1 act alike."""
        return p.refractory if self.held_steps is None else self.held_steps + 1

    def restart_offset(self, p: LayerParams) -> int:
        """Steps from a spike to the last step the membrane is held at 0.

        The membrane integrates again from step ``t + restart_offset + 1`` after a
        spike at t (spec 2.2: ``r_f = t_{f-1} + R - 1`` with Brian2's schedule).
        """
        return max(self.refractory_steps(p) - 1, 0)

    def min_gap(self, p: LayerParams) -> int:
        """Smallest distance between two spikes of one neuron (at least 1)."""
        return max(self.refractory_steps(p), 1)

    def psp_kernel(self, p: LayerParams, n_steps: int) -> np.ndarray:
        """Membrane response ``h[k]`` to a unit spike k steps earlier (no reset), (n_steps,).

        A spike at step m adds 1 to I at step m; v first moves at step m + 1, so
        ``h[0] = 0``. Computed by the same recursion the simulators use.
        """
        if p.model is not None:
            P, c, _ = self.state_propagator(p)
            h, x = np.zeros(n_steps, dtype=np.float64), c.astype(np.float64)
            for k in range(1, n_steps):
                x = P @ x
                h[k] = x[0]
            return h
        a_v, a_vI, a_I = self.propagators(p)
        h = np.zeros(n_steps, dtype=np.float64)
        v, i = 0.0, 1.0
        for k in range(1, n_steps):
            v, i = a_v * v + a_vI * i, a_I * i
            h[k] = v
        return h

    # -- identity ------------------------------------------------------------
    def cache_tag(self) -> str:
        """Part of a cache key: '' for Brian2's (keys of default tables unchanged), the
        built-in's name for the authors', else every field."""
        if self == BRIAN2:
            return ""
        if self == AUTHORS:
            return "_disc-authors"
        return f"_disc-{self.integration}-held{self.held_steps}-{self.placement}"


#: Brian2's exact integration and refractoriness (the default everywhere).
BRIAN2 = Discretisation("brian2")
#: The authors' CUDA/MATLAB loop: Euler steps, v held 2 steps, their spike placement.
AUTHORS = Discretisation("authors", integration="euler", held_steps=AUTHORS_T_REF, placement="authors")
#: The authors' update (the current decays, then takes the spikes; v += I / tau_s) with this
#: package's refractoriness and spike placement: with a refractory period of 3 steps it holds v
#: like ``AUTHORS`` (TrainConfig ``discretisation = "euler"``).
EULER = Discretisation("euler", integration="euler")
_BUILTIN = {"brian2": BRIAN2, "authors": AUTHORS, "euler": EULER}
#: Names of the built-in discretisations (accepted wherever a Discretisation is).
DISCRETISATIONS = tuple(_BUILTIN)


def as_discretisation(d: Discretisation | str | None) -> Discretisation:
    """A Discretisation from a value, a built-in's name or None (Brian2's)."""
    if d is None:
        return BRIAN2
    if isinstance(d, Discretisation):
        return d
    if isinstance(d, str) and d in _BUILTIN:
        return _BUILTIN[d]
    raise ValueError(f"discretisation must be a Discretisation or one of {DISCRETISATIONS}, got {d!r}")


def propagators(p: LayerParams) -> tuple[float, float, float]:
    """Brian2's exact one-step propagators ``(a_v, a_vI, a_I)`` (:meth:`Discretisation.propagators`)."""
    return BRIAN2.propagators(p)


def psp_kernel(p: LayerParams, n_steps: int) -> np.ndarray:
    """Brian2's PSP kernel ``h`` (:meth:`Discretisation.psp_kernel`)."""
    return BRIAN2.psp_kernel(p, n_steps)
