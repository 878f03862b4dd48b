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
    """Schrauwen & Van Campenhout (2003) BSA, one channel and one tap at a time."""
    s = [list(map(float, col)) for col in np.asarray(signal, float).T]
    n, m = len(s[0]) if s else 0, len(kernel)
    out = np.zeros((n, len(s)), dtype=bool)
    for c, x in enumerate(s):
        for i in range(n):
            err1 = err2 = 0.0
            for j in range(m):
                if i + j < n:
                    err1 += abs(x[i + j] - kernel[j])
                    err2 += abs(x[i + j])
            if err1 <= err2 - threshold:
                out[i, c] = True
                for j in range(m):
                    if i + j < n:
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
def test_frames_held_for_10_steps_spike_at_block_start():
    s = np.zeros((75, 4), dtype=bool)
    s[0, 1] = s[3, 0] = s[3, 2] = s[69, 3] = s[70, 0] = s[74, 1] = True
    st = C.frames_to_spike_trains(s, 10, 700)
    assert isinstance(st, SpikeTrains) and (st.n_neurons, st.n_steps) == (4, 700)
    assert list(zip(st.step, st.neuron)) == [(0, 1), (30, 0), (30, 2), (690, 3)]
    short = C.frames_to_spike_trains(s[:5], 10, 700)        # padded: T stays 700
    assert short.n_steps == 700 and short.n_spikes == 3


def test_encode_waveform_shape_and_activity():
    rng = np.random.default_rng(2)
    x = tone(500, 0.6) + tone(1800, 0.6, amp=0.05) + 0.01 * rng.normal(size=4800)
    st = C.encode_waveform(x, RATE)
    assert (st.n_neurons, st.n_steps) == (78, 700)
    assert st.n_spikes > 0 and np.all(st.step % 10 == 0)
    assert st.step.max() < 0.6 * 1000


def _burst(start_s, length_s, total_s=1.0, f0=800.0):
    x = tone(f0, total_s, amp=0.3)
    t = np.arange(x.size) / RATE
    return x * ((t >= start_s) & (t < start_s + length_s))


def test_lead_pad_aligns_spikes_with_the_sound():
    x = _burst(0.5, 0.3)
    aligned = C.encode_waveform(x, RATE)
    literal = C.encode_waveform(x, RATE, C.SpeechEncoding(bsa_lead_pad=0))
    # the sound starts at 0.5 s of audio = frame 31.25 = step 312.5
    assert 280 <= aligned.step.min() <= 360
    lead = np.median(aligned.step) - np.median(literal.step)
    assert 100 <= lead <= 140                 # literal BSA leads by the kernel centre, 12 frames


def test_short_utterance_is_not_silent():
    x = _burst(0.0, 0.15, total_s=0.17)       # 10 frames only
    assert C.encode_waveform(x, RATE).n_spikes > 0
    assert C.encode_waveform(x, RATE, C.SpeechEncoding(bsa_lead_pad=0)).n_spikes == 0
