"""The input event list and the capacity sizing of rsnn_brian.brian._encoding (no simulation)."""

import numpy as np
import pytest

pytest.importorskip("brian2")

from rsnn_brian.brian._encoding import _pow2, _rank_within, event_list, initial_capacity, pad_events  # noqa: E402
from rsnn_brian.spikes import SpikeTrains  # noqa: E402


def _replay(values, ptr, n_inputs, n_steps_total):
    """What the input group does: a literal loop over steps and neurons."""
    ptr = ptr.astype(np.int64).copy()
    spikes = []
    for t in range(n_steps_total):
        for n in range(n_inputs):
            if values[ptr[n]] == t:
                spikes.append((t, n))
                ptr[n] += 1
    return spikes


@pytest.mark.parametrize("offset", [0, 37])
def test_event_list_replays_the_chunk(offset):
    rng = np.random.default_rng(0)
    n_in, T = 7, 20
    chunk = [SpikeTrains.from_dense(rng.random((T, n_in)) < 0.3) for _ in range(3)]
    values, ptr = event_list(chunk, n_in, T, offset)
    assert values.dtype == np.float64 and ptr.dtype == np.int32
    assert values.size == sum(tr.n_spikes for tr in chunk) + n_in
    assert np.count_nonzero(values == -1) == n_in                   # one sentinel per neuron
    want = sorted((int(s) + b * T + offset, int(n)) for b, tr in enumerate(chunk)
                  for n, s in zip(tr.neuron, tr.step))
    assert _replay(values, ptr, n_in, 3 * T + offset) == want


def test_event_list_silent_neurons_and_padding():
    n_in, T = 4, 5
    chunk = [SpikeTrains(np.array([2]), np.array([3]), n_in, T)]
    values, ptr = event_list(chunk, n_in, T, 0)
    assert values.tolist() == [-1.0, -1.0, 3.0, -1.0, -1.0]
    assert ptr.tolist() == [0, 1, 2, 4]
    padded = pad_events(values, 8)
    assert padded.shape == (8,) and padded[:5].tolist() == values.tolist() and np.all(padded[5:] == -1)


def test_rank_within_and_pow2():
    keys = np.array([0, 0, 2, 2, 2, 3])
    assert _rank_within(keys, np.bincount(keys, minlength=4)).tolist() == [0, 1, 0, 1, 2, 0]
    assert _rank_within(np.zeros(0, np.int64), np.zeros(3, np.int64)).size == 0
    assert [_pow2(n) for n in (0, 1, 2, 3, 4, 5, 1024, 1025)] == [2, 2, 2, 4, 4, 8, 1024, 2048]


def test_initial_capacity():
    n_in, T, K = 10, 50, 4
    chunk = [SpikeTrains.from_dense(np.ones((T, n_in), bool))] * 2            # 1000 spikes in a half chunk
    cap = initial_capacity([chunk], K, T, n_in, runtime=False)
    assert cap == _pow2(int((1000 + n_in) * 2 * 1.25) + 1024)
    assert initial_capacity([chunk], K, T, n_in, runtime=True) >= max(cap, _pow2(K * T * n_in // 8))
