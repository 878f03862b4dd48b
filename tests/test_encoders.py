"""Bernoulli rate code (spec section 6)."""

from __future__ import annotations

import numpy as np
import pytest

from rsnn_brian.data.encoders import EncoderSettings, RateEncoder, encode_bernoulli, spike_probabilities
from rsnn_brian.spikes import SpikeTrains


def images(n=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def test_matches_literal_loop():
    x = images(2)[:, :5, :6]              # 30 inputs
    T = 40
    out = encode_bernoulli(x, T, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    for b in range(2):
        u = rng.random((T - 1, 30))
        neuron, step = [], []
        for t in range(1, T):
            for i in range(30):
                if u[t - 1, i] < x[b].ravel()[i] / (5.5 * 255):
                    neuron.append(i)
                    step.append(t)
        assert out[b] == SpikeTrains(np.array(neuron, int), np.array(step, int), 30, T)


def test_shapes_steps_and_order():
    trains = encode_bernoulli(images(3), 400, np.random.default_rng(1))
    assert len(trains) == 3
    for tr in trains:
        assert isinstance(tr, SpikeTrains) and tr.n_neurons == 784 and tr.n_steps == 400
        assert tr.step.min() >= 1                         # never at step 0
        key = tr.step * 784 + tr.neuron
        assert np.all(np.diff(key) > 0)                   # sorted by (step, neuron)
    flat = encode_bernoulli(images(3).reshape(3, -1), 400, np.random.default_rng(1))
    assert flat == trains


def test_rates():
    x = np.array([[0, 255, 127.5, 51]], dtype=np.float64)
    T = 200_001
    tr = encode_bernoulli(x, T, np.random.default_rng(3))[0]
    rate = tr.counts() / (T - 1)
    p = x[0] / (5.5 * 255)
    assert rate[0] == 0
    np.testing.assert_allclose(rate, p, atol=4 * np.sqrt(p.max() / (T - 1)))


def test_probabilities():
    p = spike_probabilities(np.array([[0, 255, 5.5]]))
    np.testing.assert_allclose(p, [[0, 1 / 5.5, 1 / 255]])
    assert spike_probabilities(images(2)).shape == (2, 784)


@pytest.mark.parametrize("bad, msg", [
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([[1.0, np.inf]]), "NaN or inf"),
    (np.array([[1.0, -1.0]]), ">= 0"),
    (np.array([[1.0, 256.0]]), "<= pixel_max"),
    (np.zeros(784), "shape"),
    (np.zeros((0, 784)), "empty batch"),
    (np.zeros((3, 0)), "no pixels"),
    (np.array([["a"]]), "real numbers"),
])
def test_bad_pixels(bad, msg):
    with pytest.raises(ValueError, match=msg):
        encode_bernoulli(bad, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match=msg):
        RateEncoder(bad)


def test_probability_above_one():
    with pytest.raises(ValueError, match="probability .* > 1"):
        encode_bernoulli(np.array([[255]]), 10, np.random.default_rng(0), scale=0.5)


def test_bad_settings():
    with pytest.raises(TypeError, match="Generator"):
        encode_bernoulli(images(1), 10, 0)
    with pytest.raises(ValueError, match="n_steps"):
        EncoderSettings(n_steps=0)
    with pytest.raises(ValueError, match="scale"):
        EncoderSettings(scale=-1)
    with pytest.raises(ValueError, match="seed"):
        EncoderSettings(seed=-3)


def test_fixed_trains_depend_only_on_seed_and_index():
    x = images(6)
    enc = RateEncoder(x, EncoderSettings(n_steps=50, seed=11))
    a = enc.encode([0, 1, 2, 3, 4, 5])
    b = enc.encode([5, 3]) + enc.encode([1]) + enc.encode(np.array([4, 0, 2]))
    lookup = dict(zip([5, 3, 1, 4, 0, 2], b))
    assert all(a[k] == lookup[k] for k in range(6))
    assert enc.encode([2], epoch=7)[0] == a[2]            # fixed: epoch ignored
    # a subset of the images gives the same trains for the same global index
    assert RateEncoder(x[:3], EncoderSettings(n_steps=50, seed=11))[2] == a[2]
    assert RateEncoder(x, EncoderSettings(n_steps=50, seed=12))[2] != a[2]
    cached = RateEncoder(x, EncoderSettings(n_steps=50, seed=11), cache=True)
    assert cached[3] == a[3] and cached[3] is cached[3]


def test_redraw_per_epoch():
    x = np.full((2, 100), 200, np.uint8)
    s = EncoderSettings(n_steps=60, seed=4, redraw=True)
    enc = RateEncoder(x, s)
    e0, e1 = enc.encode([0, 1], epoch=0), enc.encode([0, 1], epoch=1)
    assert e0[0] != e1[0]
    assert e0[0] != e0[1]                                 # identical images, different trains
    assert RateEncoder(x, s).encode([1, 0], epoch=1) == [e1[1], e1[0]]


def test_encoder_index_errors():
    enc = RateEncoder(images(2))
    with pytest.raises(ValueError, match="empty batch"):
        enc.encode([])
    with pytest.raises(IndexError):
        enc.encode([2])
    with pytest.raises(ValueError, match="integers"):
        enc.encode([0.5])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_encoder_draws_from_the_pixels_what_the_probabilities_give(dtype):
    """The encoder keeps the pixels and computes a sample's probabilities when drawing it: the same
    float64 numbers as spike_probabilities, so the same trains as drawing from the whole array."""
    from rsnn_brian.data.encoders import _draw
    x = images(6, seed=3).astype(dtype)
    s = EncoderSettings(n_steps=60, seed=5)
    enc = RateEncoder(x, s)
    p = spike_probabilities(x)
    assert np.array_equal(enc.probabilities, p)
    for k in range(6):
        assert np.array_equal(enc.sample_probabilities(k), p[k])
        assert enc.train(k) == _draw(p[k], s.n_steps, s.first_step, enc.generator(k))
    before = enc.train(2)
    x[2] = 0                                   # the encoder holds a copy
    assert enc.train(2) == before


def test_encoder_holds_uint8_pixels_not_float64_probabilities():
    import tracemalloc
    x = images(4000)                            # 3.1 MB of uint8; float64 probabilities would be 25 MB
    tracemalloc.start()
    enc = RateEncoder(x)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(enc) == 4000 and enc.n_inputs == 784
    assert held < 2 * x.nbytes, f"the encoder holds {held / 1e6:.1f} MB"


def test_bad_pixels_far_into_the_set_name_their_sample():
    x = images(RateEncoder.CHECK_BLOCK + 10).astype(np.float64)
    x[RateEncoder.CHECK_BLOCK + 3, 4, 5] = np.nan
    with pytest.raises(ValueError, match=f"first at sample {RateEncoder.CHECK_BLOCK + 3}, input {4 * 28 + 5}"):
        RateEncoder(x)
