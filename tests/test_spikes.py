"""rsnn_brian.spikes: what SpikeTrains and as_input_batch accept, and what they refuse (and how)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rsnn_brian.spikes import Recording, SpikeTrains, as_input_batch, counts_batch, dense_batch


class FakeQuantity(np.ndarray):
    """Looks like a Brian2 Quantity (an ndarray with ``dim`` / ``dimensions``), without Brian2."""

    dim = dimensions = "second"


def fake_ms(values) -> FakeQuantity:
    return (np.asarray(values, dtype=np.float64) * 1e-3).view(FakeQuantity)


# -- accepted inputs -------------------------------------------------------------------

@pytest.mark.parametrize("neuron, step", [
    ([2, 0, 1], [5, 1, 1]),                                             # lists of ints
    (np.array([2, 0, 1], np.int32), np.array([5, 1, 1], np.uint16)),   # other integer dtypes
    (np.array([2.0, 0.0, 1.0]), np.array([5.0, 1.0, 1.0])),           # floats holding whole numbers
    (np.array([[2, 0, 1]]), np.array([[5], [1], [1]])),                # any shape: flattened
])
def test_whole_numbers_are_accepted_and_sorted(neuron, step):
    tr = SpikeTrains(neuron, step, 3, 6)
    assert tr.neuron.dtype == np.int64 and tr.step.dtype == np.int64
    np.testing.assert_array_equal(tr.step, [1, 1, 5])                   # sorted by (step, neuron)
    np.testing.assert_array_equal(tr.neuron, [0, 1, 2])
    np.testing.assert_array_equal(tr.counts(), [1, 1, 1])


@pytest.mark.parametrize("n", [5, np.int64(5), np.int32(5), 5.0, np.float32(5.0), np.array(5)])
def test_sizes_may_be_any_whole_number(n):
    tr = SpikeTrains([4], [4], n, n)
    assert type(tr.n_neurons) is int and type(tr.n_steps) is int
    assert (tr.n_neurons, tr.n_steps) == (5, 5)
    assert tr == SpikeTrains([4], [4], 5, 5)


def test_empty_and_zero_sizes():
    for tr in (SpikeTrains([], [], 0, 0), SpikeTrains.empty(3, 4), SpikeTrains(np.zeros(0), np.zeros(0), 3, 4)):
        assert tr.n_spikes == 0 and tr.neuron.dtype == np.int64
    assert SpikeTrains.empty(3, 4).dense().shape == (4, 3)


def test_v_follows_the_sort():
    tr = SpikeTrains([1, 0], [3, 2], 2, 4, v=[13.0, 12.0])
    np.testing.assert_array_equal(tr.step, [2, 3])
    np.testing.assert_array_equal(tr.v, [12.0, 13.0])


def test_from_dense_dense_counts_roundtrip():
    raster = np.zeros((5, 3))
    raster[[1, 1, 4], [0, 2, 2]] = 1
    tr = SpikeTrains.from_dense(raster)
    np.testing.assert_array_equal(tr.dense(), raster)
    np.testing.assert_array_equal(tr.counts(), [1, 0, 2])
    assert SpikeTrains.from_dense(raster.astype(bool)) == tr
    np.testing.assert_array_equal(dense_batch([tr, tr]), np.stack([raster, raster]))
    np.testing.assert_array_equal(counts_batch([tr, SpikeTrains.empty(3, 5)]), [[1, 0, 2], [0, 0, 0]])
    rec = Recording([[tr]])
    assert rec.batch_size == 1 and rec.n_steps == 5 and rec == Recording([[SpikeTrains.from_dense(raster)]])


def test_whole_float_arrays_give_the_same_trains_as_ints():
    a = SpikeTrains(np.array([0, 2]), np.array([1, 3]), 3, 4)
    b = SpikeTrains(np.array([0.0, 2.0]), np.array([1.0, 3.0]), 3.0, 4.0)
    assert a == b


def test_importing_spikes_does_not_import_brian2():
    code = "import sys, rsnn_brian.spikes; sys.exit('brian2' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# -- refused inputs: one clear message each --------------------------------------------

@pytest.mark.parametrize("step, shown", [([-0.5], "-0.5"), ([1.0, 2.5], "2.5"),
                                         ([np.nan], "nan"), ([np.inf], "inf")])
def test_fractional_steps_are_refused_not_truncated(step, shown):
    neuron = list(range(len(step)))
    with pytest.raises(ValueError, match=f"steps must be whole numbers, got {shown}") as err:
        SpikeTrains(neuron, step, 3, 10)
    assert "\n" not in str(err.value)


def test_fractional_neuron_indices_are_refused():
    with pytest.raises(ValueError, match="neuron indices must be whole numbers, got 3.7 at position 0"):
        SpikeTrains([3.7], [0], 5, 5)


def test_huge_float_is_refused():
    with pytest.raises(ValueError, match="whole numbers"):
        SpikeTrains([1e30], [0], 5, 5)


def test_quantity_steps_are_refused_without_brian2():
    with pytest.raises(TypeError, match=r"step is a Brian2 FakeQuantity.*\(t/ms\)\.astype\(int\) for dt = 1 ms"):
        SpikeTrains([0, 1], fake_ms([3, 10]), 3, 20)


def test_quantity_neurons_are_refused():
    with pytest.raises(TypeError, match="neuron is a Brian2 FakeQuantity.*plain integer array"):
        SpikeTrains(fake_ms([0, 1]), [3, 10], 3, 20)


def test_real_brian2_quantities_are_refused():
    b2 = pytest.importorskip("brian2")
    ms = b2.ms
    with pytest.raises(TypeError, match=r"divide times by dt, e\.g\. \(t/ms\)\.astype\(int\)"):
        SpikeTrains([0, 1], [3, 10] * ms, 3, 20)              # used to become steps 0 and 0
    with pytest.raises(TypeError, match="divide times by dt"):
        SpikeTrains([0, 1], [3 * ms, 10 * ms], 3, 20)        # a list of quantities
    with pytest.raises(TypeError, match="n_steps is a Brian2 quantity"):
        SpikeTrains([0], [3], 3, 700 * ms)
    with pytest.raises(TypeError, match="v must be plain numbers"):
        SpikeTrains([0], [3], 3, 20, v=[12.0] * b2.mV)
    t = [3, 10] * ms                                          # the fix the message gives works
    assert SpikeTrains([0, 1], (t / ms).astype(int), 3, 20) == SpikeTrains([0, 1], [3, 10], 3, 20)


def test_boolean_index_arrays_are_refused():
    with pytest.raises(TypeError, match="neuron is a boolean array.*from_dense"):
        SpikeTrains([True, False], [0, 1], 3, 3)
    with pytest.raises(TypeError, match="step is a boolean array"):
        SpikeTrains([0, 1], np.array([True, True]), 3, 3)


@pytest.mark.parametrize("what", ["n_neurons", "n_steps"])
@pytest.mark.parametrize("value, exc, msg", [
    (True, TypeError, "must be an integer, got the boolean True"),
    (np.bool_(True), TypeError, "must be an integer, got the boolean"),
    (2.5, ValueError, "must be a whole number, got 2.5"),
    (float("nan"), ValueError, "must be a whole number, got nan"),
    ("5", TypeError, r"must be a whole number, got '5' \(str\)"),
    (None, TypeError, "must be a whole number, got None"),
    (-1, ValueError, ">= 0"),
])
def test_bad_sizes_are_refused(what, value, exc, msg):
    kw = {"n_neurons": 5, "n_steps": 5, what: value}
    with pytest.raises(exc, match=f"SpikeTrains: {what} {msg}" if msg != ">= 0" else msg):
        SpikeTrains([], [], **kw)


@pytest.mark.parametrize("bad", [["a"], [1 + 2j], [object()]])
def test_non_numeric_indices_are_refused(bad):
    with pytest.raises(TypeError, match="must be integers, got an array of dtype"):
        SpikeTrains(bad, [0], 5, 5)


def test_range_length_duplicates_and_v():
    with pytest.raises(ValueError, match=r"neuron indices must lie in \[0, 3\), got \[0, 3\]"):
        SpikeTrains([0, 3], [0, 1], 3, 5)
    with pytest.raises(ValueError, match=r"steps must lie in \[0, 5\), got \[-1, 1\]"):
        SpikeTrains([0, 1], [-1, 1], 3, 5)
    with pytest.raises(ValueError, match="differ in length"):
        SpikeTrains([0, 1], [0], 3, 5)
    with pytest.raises(ValueError, match="spikes twice in one step"):
        SpikeTrains([1, 1], [2, 2], 3, 5)
    with pytest.raises(ValueError, match="one value per spike"):
        SpikeTrains([0, 1], [0, 1], 3, 5, v=[1.0])


# -- as_input_batch: the one batch check of every simulator -----------------------------

def test_input_batch_accepts_lists_and_dense_arrays():
    trains = [SpikeTrains([0, 2], [1, 3], 3, 4), SpikeTrains.empty(3, 4)]
    assert as_input_batch(trains, 3) == trains
    assert as_input_batch(tuple(trains), 3, n_steps=4) == trains
    assert as_input_batch(dense_batch(trains), 3) == trains
    assert as_input_batch(dense_batch(trains).astype(bool), 3) == trains


@pytest.mark.parametrize("inputs, exc, msg", [
    ([], ValueError, "empty batch"),
    (np.zeros((0, 4, 3)), ValueError, "empty batch"),
    (np.zeros((4, 3)), ValueError, r"\(batch, n_steps, n_inputs\) array, got shape \(4, 3\)"),
    (np.zeros((1, 4, 2)), ValueError, "inputs have 2 channels, the network has 3 inputs"),
    (np.full((1, 4, 3), 0.5), ValueError, "only 0 and 1"),
    ("spikes", TypeError, "must be a list of SpikeTrains, got str"),
    ([np.zeros((4, 3))], TypeError, "input sample 0 is a ndarray, expected SpikeTrains"),
    ([SpikeTrains.empty(2, 4)], ValueError, "input sample 0 has 2 neurons, the network has 3 inputs"),
    ([SpikeTrains.empty(3, 4), SpikeTrains.empty(3, 5)], ValueError, "input sample 1 has 5 steps, expected 4"),
    (np.zeros((1, 4, 3)).view(FakeQuantity), TypeError, "got a Brian2 FakeQuantity"),
])
def test_input_batch_refusals(inputs, exc, msg):
    with pytest.raises(exc, match=msg):
        as_input_batch(inputs, 3)


def test_input_batch_steps_of_the_runner():
    with pytest.raises(ValueError, match="expected 6 .*built for n_steps=6"):
        as_input_batch([SpikeTrains.empty(3, 4)], 3, n_steps=6)
