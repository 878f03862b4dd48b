"""The one spike-train type of the package.

A :class:`SpikeTrains` holds the spikes of one population during one sample:
parallel integer arrays ``neuron`` and ``step`` sorted by (step, neuron), the
population size and the number of time steps. Times are integer steps of
``dt`` (1 ms in the paper). A dense (n_steps, n_neurons) view is built on
demand. Batches are plain lists of :class:`SpikeTrains`, one per sample, and
:func:`dense_batch` stacks them to a (batch, n_steps, n_neurons) array.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SpikeTrains", "Recording", "dense_batch", "counts_batch", "as_input_batch"]


_QUANTITY_HINT = "give steps as integers: divide times by dt, e.g. (t/ms).astype(int) for dt = 1 ms"


def _is_quantity(x) -> bool:
    """A Brian2 ``Quantity`` (or a list of them), recognised without importing Brian2."""
    def one(y):
        return type(y).__module__.startswith("brian2") or hasattr(y, "dim") and hasattr(y, "dimensions")
    if one(x):
        return True
    return isinstance(x, (list, tuple)) and any(one(y) for y in x)


def _as_size(n, what: str) -> int:
    """``n_neurons`` / ``n_steps`` as a Python int >= 0; refuses bools, fractions and quantities."""
    if _is_quantity(n):
        raise TypeError(f"SpikeTrains: {what} is a Brian2 quantity ({n!r}); {_QUANTITY_HINT}")
    if isinstance(n, np.ndarray) and n.ndim == 0:
        n = n[()]
    if isinstance(n, (bool, np.bool_)):
        raise TypeError(f"SpikeTrains: {what} must be an integer, got the boolean {n!r}")
    if isinstance(n, (int, np.integer)):
        value = int(n)
    elif isinstance(n, (float, np.floating)):
        if not (np.isfinite(n) and float(n).is_integer()):
            raise ValueError(f"SpikeTrains: {what} must be a whole number, got {float(n)!r}")
        value = int(n)
    else:
        raise TypeError(f"SpikeTrains: {what} must be a whole number, got {n!r} ({type(n).__name__})")
    if value < 0:
        raise ValueError(f"SpikeTrains: n_neurons and n_steps must be >= 0, got {what} = {value}")
    return value


def _as_indices(x, what: str) -> np.ndarray:
    """``neuron`` / ``step`` as a flat int64 array; whole-number floats pass, nothing is truncated."""
    label = "steps" if what == "step" else "neuron indices"
    if _is_quantity(x):
        hint = _QUANTITY_HINT if what == "step" else \
            "give neuron indices as a plain integer array, e.g. np.asarray(monitor.i[:])"
        raise TypeError(f"SpikeTrains: {what} is a Brian2 {type(x).__name__}, not plain integers; {hint}")
    arr = np.asarray(x)
    kind = arr.dtype.kind
    if kind == "b":
        raise TypeError(f"SpikeTrains: {what} is a boolean array; give {label} as integers "
                        f"(for a 0/1 raster use SpikeTrains.from_dense)")
    if kind in "iu":
        if kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(f"SpikeTrains: {what} values exceed the int64 range")
        return arr.astype(np.int64, copy=False).ravel()
    if kind == "f":
        flat = arr.ravel()
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(flat) | (flat != np.round(flat)) | (np.abs(flat) >= 2.0 ** 62)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(f"SpikeTrains: {label} must be whole numbers, got {float(flat[first])!r} at "
                             f"position {first} ({int(bad.sum())} such value(s)); round them "
                             f"explicitly if that is what you mean")
        return flat.astype(np.int64)
    raise TypeError(f"SpikeTrains: {label} must be integers, got an array of dtype {arr.dtype}")


@dataclass(frozen=True, eq=False)
class SpikeTrains:
    """Spikes of ``n_neurons`` neurons during ``n_steps`` steps.

    Attributes
    ----------
    neuron, step : int64 arrays, shape (n_spikes,)
        Neuron index and time step of every spike, sorted by (step, neuron).
    n_neurons, n_steps : int
        Population size and sample length in steps.
    v : float64 array, shape (n_spikes,), optional
        Membrane value at the step the neuron crossed threshold (before the
        reset), when the simulator recorded it.

    Inputs are checked where they enter, nothing is truncated: ``neuron`` and
    ``step`` must hold whole numbers (integer arrays, or float arrays such as
    ``3.0``; ``3.7`` or ``-0.5`` raise ValueError), booleans and Brian2
    quantities raise TypeError (steps are integers: ``(t/ms).astype(int)``
    for dt = 1 ms), and ``n_neurons`` / ``n_steps`` must be whole numbers >= 0.
    """

    neuron: np.ndarray
    step: np.ndarray
    n_neurons: int
    n_steps: int
    v: np.ndarray | None = field(default=None)

    def __post_init__(self):
        n_neurons = _as_size(self.n_neurons, "n_neurons")
        n_steps = _as_size(self.n_steps, "n_steps")
        neuron = _as_indices(self.neuron, "neuron")
        step = _as_indices(self.step, "step")
        if neuron.shape != step.shape:
            raise ValueError(
                f"SpikeTrains: neuron ({neuron.size}) and step ({step.size}) arrays differ in length")
        if neuron.size:
            if neuron.min() < 0 or neuron.max() >= n_neurons:
                raise ValueError(
                    f"SpikeTrains: neuron indices must lie in [0, {n_neurons}), "
                    f"got [{neuron.min()}, {neuron.max()}]")
            if step.min() < 0 or step.max() >= n_steps:
                raise ValueError(
                    f"SpikeTrains: steps must lie in [0, {n_steps}), "
                    f"got [{step.min()}, {step.max()}]")
        if self.v is not None and _is_quantity(self.v):
            raise TypeError("SpikeTrains: v must be plain numbers, got a Brian2 quantity; "
                            "divide by its unit first, e.g. v / mV")
        object.__setattr__(self, "n_neurons", n_neurons)
        object.__setattr__(self, "n_steps", n_steps)
        key = step * max(n_neurons, 1) + neuron
        if key.size > 1 and np.any(np.diff(key) <= 0):
            order = np.argsort(key, kind="stable")
            if np.any(np.diff(key[order]) == 0):
                raise ValueError("SpikeTrains: a neuron spikes twice in one step")
            neuron, step = neuron[order], step[order]
            v = None if self.v is None else np.asarray(self.v, dtype=np.float64).ravel()[order]
        else:
            v = None if self.v is None else np.asarray(self.v, dtype=np.float64).ravel()
        if v is not None and v.shape != neuron.shape:
            raise ValueError("SpikeTrains: v must have one value per spike")
        object.__setattr__(self, "neuron", neuron)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "v", v)

    # -- constructors -------------------------------------------------
    @classmethod
    def from_dense(cls, raster) -> SpikeTrains:
        """From a (n_steps, n_neurons) 0/1 array."""
        raster = np.asarray(raster)
        if raster.ndim != 2:
            raise ValueError(f"from_dense expects a 2-D (n_steps, n_neurons) array, got shape {raster.shape}")
        step, neuron = np.nonzero(raster)
        return cls(neuron, step, raster.shape[1], raster.shape[0])

    @classmethod
    def empty(cls, n_neurons: int, n_steps: int) -> SpikeTrains:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), n_neurons, n_steps)

    # -- views ---------------------------------------------------------
    @property
    def n_spikes(self) -> int:
        return int(self.neuron.size)

    def dense(self, dtype=np.float64) -> np.ndarray:
        """(n_steps, n_neurons) array with 1 where a neuron spiked."""
        out = np.zeros((self.n_steps, self.n_neurons), dtype=dtype)
        out[self.step, self.neuron] = 1
        return out

    def counts(self) -> np.ndarray:
        """Spike count per neuron, shape (n_neurons,)."""
        return np.bincount(self.neuron, minlength=self.n_neurons).astype(np.int64)

    def __eq__(self, other) -> bool:
        if not isinstance(other, SpikeTrains):
            return NotImplemented
        return (self.n_neurons == other.n_neurons and self.n_steps == other.n_steps
                and np.array_equal(self.neuron, other.neuron)
                and np.array_equal(self.step, other.step))

    def __repr__(self) -> str:
        return (f"SpikeTrains(n_neurons={self.n_neurons}, n_steps={self.n_steps}, "
                f"n_spikes={self.n_spikes})")


def dense_batch(trains: list[SpikeTrains], dtype=np.float64) -> np.ndarray:
    """Stack a batch to a (batch, n_steps, n_neurons) array."""
    if not trains:
        raise ValueError("dense_batch: empty batch")
    n_steps, n_neurons = trains[0].n_steps, trains[0].n_neurons
    out = np.zeros((len(trains), n_steps, n_neurons), dtype=dtype)
    for b, tr in enumerate(trains):
        if tr.n_steps != n_steps or tr.n_neurons != n_neurons:
            raise ValueError("dense_batch: all samples must have the same shape")
        out[b, tr.step, tr.neuron] = 1
    return out


def as_input_batch(inputs, n_inputs: int, n_steps: int | None = None) -> list[SpikeTrains]:
    """Validate a batch of input spike trains; the one check every simulator shares.

    Parameters
    ----------
    inputs : list of B :class:`SpikeTrains`, or a 0/1 array (B, n_steps, n_inputs)
    n_inputs : the network's number of input neurons
    n_steps : the steps every sample must have (None: those of the first sample)

    Returns
    -------
    list of B :class:`SpikeTrains`
    """
    if _is_quantity(inputs):
        raise TypeError("inputs must be a list of SpikeTrains or a 0/1 array, got a Brian2 "
                        f"{type(inputs).__name__}; {_QUANTITY_HINT}")
    if isinstance(inputs, np.ndarray):
        if inputs.ndim != 3:
            raise ValueError("inputs must be a list of SpikeTrains or a (batch, n_steps, n_inputs) array, "
                             f"got shape {inputs.shape}")
        if inputs.shape[0] == 0:
            raise ValueError("empty batch: no input samples were given")
        if inputs.shape[2] != n_inputs:
            raise ValueError(f"inputs have {inputs.shape[2]} channels, the network has {n_inputs} inputs")
        if not np.all((inputs == 0) | (inputs == 1)):
            raise ValueError("dense inputs must hold only 0 and 1 (one spike per neuron and step at most)")
        inputs = [SpikeTrains.from_dense(x) for x in inputs]
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a list of SpikeTrains, got {type(inputs).__name__}")
    if len(inputs) == 0:
        raise ValueError("empty batch: no input samples were given")
    for b, tr in enumerate(inputs):
        if not isinstance(tr, SpikeTrains):
            raise TypeError(f"input sample {b} is a {type(tr).__name__}, expected SpikeTrains")
    want = inputs[0].n_steps if n_steps is None else int(n_steps)
    for b, tr in enumerate(inputs):
        if tr.n_neurons != n_inputs:
            raise ValueError(f"input sample {b} has {tr.n_neurons} neurons, the network has {n_inputs} inputs")
        if tr.n_steps != want:
            why = f"the runner was built for n_steps={want}" if n_steps is not None else "as sample 0"
            raise ValueError(f"input sample {b} has {tr.n_steps} steps, expected {want} ({why})")
    return list(inputs)


def counts_batch(trains: list[SpikeTrains]) -> np.ndarray:
    """Spike counts, shape (batch, n_neurons)."""
    return np.stack([tr.counts() for tr in trains])


@dataclass
class Recording:
    """Spike trains of every layer for every sample of a batch.

    ``layers[0]`` is the input layer, ``layers[k]`` the k-th layer with
    incoming weights; each entry is a list of :class:`SpikeTrains`, one per
    sample.
    """

    layers: list[list[SpikeTrains]]

    @property
    def batch_size(self) -> int:
        return len(self.layers[0])

    @property
    def n_steps(self) -> int:
        return self.layers[0][0].n_steps

    def counts(self, layer: int) -> np.ndarray:
        """Spike counts of one layer, (batch, n_neurons)."""
        return counts_batch(self.layers[layer])

    def sample(self, b: int) -> list[SpikeTrains]:
        """Every layer's trains for sample b."""
        return [lay[b] for lay in self.layers]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Recording) or len(self.layers) != len(other.layers):
            return NotImplemented if not isinstance(other, Recording) else False
        return all(len(a) == len(b) and all(x == y for x, y in zip(a, b))
                   for a, b in zip(self.layers, other.layers))
