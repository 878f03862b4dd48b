"""Input spike trains in as a compact event list; spike monitors out as SpikeTrains.

Input: a NeuronGroup that replays a compact event list. ``spk`` is a 1-D
TimedArray of absolute spike steps (sample * T + step), neuron-major, each
neuron's block ended by the sentinel -1; ``ptr`` points every input neuron at
its next event and the integer ``next_t`` holds that event's step. Threshold
``next_t == t_in_timesteps``, reset ``ptr += 1`` then ``next_t =
int(spk(ptr*dt))``: the list is read only at a spike, not by every input at
every step (:func:`first_steps` gives ``next_t`` at the start of a run). Per run
this moves 8 B per input spike instead of the 8 B per (step x input) of a dense
0/1 TimedArray. The list has a fixed capacity (Brian2
compiles the TimedArray's length into the code); a batch that needs more
rebuilds with twice the capacity.

Output: one SpikeMonitor per trained layer (recording ``v`` at each spike),
read back and split at the sample boundaries (every ``T`` steps).

Plain NumPy here; the monitors are read through their public ``i``, ``t_``
and ``v_`` views.
"""

from __future__ import annotations

import numpy as np

from ..spikes import SpikeTrains

__all__ = ["DEFAULT_CAPACITY", "event_list", "first_steps", "initial_capacity", "pad_events", "split_monitors"]

#: Input capacity of a build when neither the caller nor a first batch gives one.
DEFAULT_CAPACITY = 1 << 16


def event_list(chunk: list[SpikeTrains], n_inputs: int, n_steps: int,
               offset: int) -> tuple[np.ndarray, np.ndarray]:
    """The flat event list of a chunk of samples run back to back.

    Parameters
    ----------
    chunk : list of K SpikeTrains, (n_inputs neurons, n_steps steps) each
    n_inputs, n_steps : int
    offset : int, the step at which the run starts (runtime mode continues the clock)

    Returns
    -------
    values : (n_spikes + n_inputs,) float64, absolute spike steps, neuron-major, each
        neuron's block ended by -1
    ptr : (n_inputs,) int32, index of each neuron's first event
    """
    n_in, T = n_inputs, n_steps
    neuron = np.concatenate([tr.neuron for tr in chunk]) if chunk else np.zeros(0, np.int64)
    step = np.concatenate([tr.step + b * T for b, tr in enumerate(chunk)]) + offset
    # neuron-major, then time: the samples come in order, each sorted by step, so a
    # stable sort on the neuron alone is enough (a radix sort for 16-bit keys)
    order = np.argsort(neuron.astype(np.int16 if n_in < 2 ** 15 else np.int32), kind="stable")
    neuron, step = neuron[order], step[order]
    counts = np.bincount(neuron, minlength=n_in)
    starts = np.zeros(n_in, np.int64)
    starts[1:] = np.cumsum(counts + 1)[:-1]                # +1: each block ends with a sentinel
    pos = starts[neuron] + _rank_within(neuron, counts)
    need = int(neuron.size + n_in)
    values = np.full(need, -1.0)
    values[pos] = step.astype(np.float64)
    return values, starts.astype(np.int32)


def first_steps(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """``next_t`` of every input neuron at the start of a run: the step of its first event (-1: none)."""
    return values[ptr].astype(np.int32)


def pad_events(values: np.ndarray, capacity: int) -> np.ndarray:
    """``values`` followed by -1 up to ``capacity``: (capacity,) float64."""
    padded = np.full(capacity, -1.0)
    padded[:values.size] = values
    return padded


def initial_capacity(chunks: list[list[SpikeTrains]], samples_per_run: int, n_steps: int,
                     n_inputs: int, runtime: bool) -> int:
    """The event-list capacity of a first build, sized from the first batch.

    Standalone writes the whole list to disk every run: sized from the data (the
    busiest chunk scaled to K samples, +25 %). Runtime keeps it in memory: a fixed,
    generous size (one cython build for every batch size, 12.5 % of all (sample,
    step, input) slots).

    Parameters
    ----------
    chunks : the batch cut into runs of at most K = samples_per_run samples
    samples_per_run, n_steps, n_inputs : int
    runtime : bool, the runtime device

    Returns
    -------
    int, a power of two.
    """
    need = max(sum(tr.n_spikes for tr in c) for c in chunks) + n_inputs
    scale = samples_per_run / len(chunks[0])
    cap = _pow2(int(need * scale * 1.25) + 1024)
    if runtime:
        cap = max(cap, _pow2(samples_per_run * n_steps * n_inputs // 8))
    return cap


def split_monitors(mons, sizes: list[int], n_steps: int, dt_s: float, n_samples: int,
                   offset: int) -> list[list[SpikeTrains]]:
    """Read every spike monitor; split its spikes into samples.

    Parameters
    ----------
    mons : one SpikeMonitor (recording ``v``) per trained layer
    sizes : the layers' numbers of neurons
    n_steps : int, steps per sample (T)
    dt_s : float, the time step in seconds
    n_samples : int, samples in the run
    offset : int, the step at which the run started

    Returns
    -------
    per layer, a list of n_samples SpikeTrains sorted by (step, neuron), with ``v``.
    """
    T, out = n_steps, []
    for mon, size in zip(mons, sizes):
        i = np.asarray(mon.i[:], dtype=np.int64)
        t = np.rint(np.asarray(mon.t_[:]) / dt_s).astype(np.int64) - offset
        # a copy: in runtime mode the monitor hands out views of its buffers, which the next run reuses
        v = np.array(mon.v_[:] if hasattr(mon, "v_") else mon.v[:], dtype=np.float64)
        sample = t // T
        key = t * size + i
        if key.size > 1 and np.any(key[1:] <= key[:-1]):     # Brian2 records by step, then index
            order = np.lexsort((i, t))
            i, t, v, sample = i[order], t[order], v[order], sample[order]
        bounds = np.searchsorted(sample, np.arange(n_samples + 1))
        out.append([SpikeTrains(i[a:b], t[a:b] - s * T, size, T, v=v[a:b])
                    for s, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))])
    return out


def _rank_within(sorted_keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal keys (keys sorted)."""
    if sorted_keys.size == 0:
        return np.zeros(0, np.int64)
    first = np.zeros(counts.size, np.int64)
    first[1:] = np.cumsum(counts)[:-1]
    return np.arange(sorted_keys.size) - first[sorted_keys]


def _pow2(n: int) -> int:
    """The smallest power of two >= n (at least 2)."""
    return 1 << max(int(n) - 1, 1).bit_length()
