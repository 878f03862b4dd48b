"""Tests of rsnn_brian.data.cochlea: resampling, Lyon ear model, BSA, frame holding."""

import numpy as np
import pytest

from rsnn_brian.data import cochlea as C
from rsnn_brian.spikes import SpikeTrains

lyon = pytest.importorskip("lyon")

RATE = 8000


def tone(f0, seconds=1.0, rate=RATE, amp=0.1):
    t = np.arange(int(seconds * rate)) / rate
    return amp * np.sin(2 * np.pi * f0 * t)


def bsa_literal(signal, kernel, threshold):
    """BSA as in the authors' reader (readSpeechData.cpp): one channel and one tap at a
    time, the signal zero-padded by the kernel length, strict comparison."""
    m = len(kernel)
    cols = [list(map(float, col)) + [0.0] * m for col in np.asarray(signal, float).T]
    n = np.asarray(signal).shape[0]
    out = np.zeros((n, len(cols)), dtype=bool)
    for c, x in enumerate(cols):
        for i in range(n):
            err1 = err2 = 0.0
            for j in range(m):
                err1 += abs(x[i + j] - kernel[j])
                err2 += abs(x[i + j])
            if err1 < err2 - threshold:
                out[i, c] = True
                for j in range(m):
                    x[i + j] -= kernel[j]
    return out


# ------------------------------------------------------------ resampling
def test_resample_8k_to_12k5():
    x = tone(440, 1.0)
    y = C.resample_to(x, 8000, 12500)
    assert y.size == 12500
    t = np.arange(12500) / 12500
    np.testing.assert_allclose(y[500:-500], 0.1 * np.sin(2 * np.pi * 440 * t)[500:-500], atol=2e-3)
    np.testing.assert_array_equal(C.resample_to(x, 12500, 12500), x)


def test_resample_errors():
    with pytest.raises(ValueError, match="1-D"):
        C.resample_to(np.zeros((4, 2)), 8000)
    with pytest.raises(ValueError, match="positive"):
        C.resample_to(np.zeros(4), 0)


# ------------------------------------------------------------ ear model
def test_lyon_gives_80_filters_and_78_channels_at_12k5():
    from lyon.utils import design_lyon_filters
    filters, _ = design_lyon_filters(12500, 8, 8 / 32)
    assert filters.shape[1] == 80
    c = C.cochleagram(tone(440, 1.0), RATE)
    assert c.shape == (12500 // 200, 78)     # one frame per 16 ms, 2 channels dropped
    assert np.all(c >= 0) and np.all(np.isfinite(c))


def test_cochleagram_is_tonotopic():
    """A pure tone peaks in the channel near its frequency; channels run high -> low."""
    from lyon.utils import design_lyon_filters
    _, cf = design_lyon_filters(12500, 8, 8 / 32)
    cf = cf[2:]
    peaks = []
    for f0 in (300, 1000, 3000):
        m = C.cochleagram(tone(f0), RATE)[10:].mean(axis=0)
        peaks.append(m.argmax())
        # the difference stage shifts the peak a few channels below the nearest centre frequency
        assert abs(m.argmax() - np.argmin(np.abs(cf - f0))) <= 4
    assert peaks[0] > peaks[1] > peaks[2]


def test_cochleagram_other_rate_is_resampled():
    c16 = C.cochleagram(tone(1000, 1.0, rate=16000), 16000)
    c8 = C.cochleagram(tone(1000, 1.0, rate=8000), 8000)
    assert c16.shape == c8.shape
    assert abs(c16[10:].mean(0).argmax() - c8[10:].mean(0).argmax()) <= 1


def test_cochleagram_scale_is_linear():
    x = tone(700, 0.5)
    a = C.cochleagram(x, RATE)
    b = C.cochleagram(x, RATE, C.SpeechEncoding(scale=1.0))
    np.testing.assert_allclose(a, 2e3 * b, rtol=1e-12)


@pytest.mark.parametrize("wav,match", [(np.zeros(0), "non-empty"), (np.zeros((10, 2)), "1-D"),
                                       (np.array([0.0, np.nan] * 200), "NaN"),
                                       (np.zeros(100), "shorter than one frame")])
def test_cochleagram_bad_input(wav, match):
    with pytest.raises(ValueError, match=match):
        C.cochleagram(wav, RATE)


# ------------------------------------------------------------ BSA
def test_bsa_kernel():
    k = C.bsa_kernel()
    assert k.shape == (24,) and k.argmax() == 12
    assert abs(k.sum() - 1) < 1e-12
    np.testing.assert_allclose(k[12 - 5: 12], k[12 + 5: 12: -1], rtol=1e-12)
    np.testing.assert_allclose(k[1] / k[12], np.exp(-121 / 25), rtol=1e-12)


def test_bsa_matches_literal_loop():
    rng = np.random.default_rng(1)
    sig = np.abs(rng.normal(0, 0.15, (60, 9))) * rng.uniform(0, 2, (60, 1))
    k = C.bsa_kernel()
    got = C.bsa_encode(sig, k, 0.6)
    want = bsa_literal(sig, k, 0.6)
    np.testing.assert_array_equal(got, want)
    assert 0 < got.sum() < got.size
    # also with a short signal (kernel truncated everywhere) and another threshold
    np.testing.assert_array_equal(C.bsa_encode(sig[:10], k, 0.2), bsa_literal(sig[:10], k, 0.2))


def test_bsa_silence_and_reconstruction():
    k = C.bsa_kernel()
    assert not C.bsa_encode(np.zeros((50, 3)), k).any()
    # a slow bump of area ~12 is coded by ~12 spikes whose kernel sum follows it
    t = np.arange(200)
    bump = 0.3 * np.exp(-((t - 100) / 25.0) ** 2)
    s = C.bsa_encode(bump[:, None], k, 0.6)[:, 0]
    recon = np.convolve(s.astype(float), k)[:200]
    assert abs(s.sum() - bump.sum()) <= 2
    assert np.abs(recon - bump).max() < 0.12
    with pytest.raises(ValueError, match="n_frames, n_channels"):
        C.bsa_encode(np.zeros(5), k)


# ------------------------------------------------------------ frames to steps
def test_frames_are_held_then_bsa_spikes_go_to_step_i_plus_1():
    f = np.arange(6, dtype=float).reshape(3, 2)
    h = C.hold_frames(f, 10)
    assert h.shape == (30, 2)
    np.testing.assert_array_equal(h[10:20], np.tile(f[1], (10, 1)))
    with pytest.raises(ValueError, match="steps_per_frame"):
        C.hold_frames(f, 0)
    s = np.zeros((705, 4), dtype=bool)
    s[0, 1] = s[3, 0] = s[3, 2] = s[698, 3] = s[699, 0] = s[704, 1] = True
    st = C.steps_to_spike_trains(s, 700)
    assert isinstance(st, SpikeTrains) and (st.n_neurons, st.n_steps) == (4, 700)
    assert list(zip(st.step, st.neuron)) == [(1, 1), (4, 0), (4, 2), (699, 3)]
    short = C.steps_to_spike_trains(s[:50], 700)              # padded: T stays 700
    assert short.n_steps == 700 and short.n_spikes == 3


def test_bsa_rate_follows_the_held_value():
    """Per step, BSA codes a held value v by about v spikes per step (a little more:
    the threshold delays the spike that would overshoot), nothing below the threshold."""
    k = C.bsa_kernel()
    rates = []
    for v in (0.02, 0.1, 0.3, 0.5, 0.7):
        s = C.bsa_encode(C.hold_frames(np.full((30, 1), v), 10), k, 0.6)[:, 0]
        rates.append(s[50:250].mean())
        assert v <= rates[-1] + 0.02 < v + 0.17 or (v < 0.05 and rates[-1] == 0)
    assert rates == sorted(rates) and rates[0] == 0
    assert C.bsa_encode(C.hold_frames(np.full((30, 1), 3.0), 10), k, 0.6)[:-30].all()


def test_encode_waveform_shape_and_activity():
    rng = np.random.default_rng(2)
    x = tone(500, 0.6) + tone(1800, 0.6, amp=0.05) + 0.01 * rng.normal(size=4800)
    st = C.encode_waveform(x, RATE)
    assert (st.n_neurons, st.n_steps) == (78, 700)
    assert st.n_spikes > 0 and st.step.min() >= 1
    assert st.step.max() < 0.6 * 1000 / 1.6 + 10      # 0.6 s of audio = 37.5 frames = 375 steps


def _burst(start_s, length_s, total_s=1.0, f0=800.0):
    x = tone(f0, total_s, amp=0.3)
    t = np.arange(x.size) / RATE
    return x * ((t >= start_s) & (t < start_s + length_s))


def test_spikes_follow_the_sound():
    x = _burst(0.5, 0.3)
    st = C.encode_waveform(x, RATE)
    # the sound is at 0.5-0.8 s of audio = frames 31.25-50 = steps 312-500; the ear
    # model keeps a low resting output, so compare densities inside and outside
    inside = (st.step >= 312) & (st.step < 500)
    before = st.step < 300
    assert inside.sum() / 188 > 3 * before.sum() / 300
    # and they are in the channels of the tone
    ch = np.bincount(st.neuron[inside], minlength=78)
    c = C.cochleagram(x, RATE)[35:45].mean(axis=0)
    assert abs(int(ch.argmax()) - int(c.argmax())) <= 3


def test_short_utterance_is_not_silent():
    x = _burst(0.0, 0.15, total_s=0.17)       # 10 frames only
    assert C.encode_waveform(x, RATE).n_spikes > 0
