"""The paper's speech front end: Lyon's passive ear model and BSA spike encoding.

Pipeline (ALGORITHM.md section 6; Zhang & Li 2019, TI46 set-up):

1. :func:`resample_to` -- any input rate to 12.5 kHz with
   ``scipy.signal.resample_poly`` (8 kHz FSDD: up 25, down 16);
2. :func:`cochleagram` -- Lyon's passive ear model (the ``lyon`` PyPI package,
   a ctypes port of Slaney's AuditoryToolbox C/MATLAB code), decimation 200
   (one frame per 16 ms at 12.5 kHz), ear Q 8, step factor 0.25 (the model's
   default ear_q / 32). At 12.5 kHz this designs 80 filters; the model (as
   AuditoryToolbox's ``LyonPassiveEar``) returns channels 3..80, i.e. it
   drops the first two, leaving 78. Outputs are scaled by 2e3;
3. :func:`hold_frames` -- each frame is held for ``steps_per_frame`` = 10
   steps of dt = 1 ms ("each frame held for 10 steps"): the cochleagram
   becomes a step-resolution signal of ``10 * n_frames`` values per channel;
4. :func:`bsa_encode` -- Ben's Spiker Algorithm (Schrauwen & Van Campenhout
   2003) on every channel of that step signal, FIR kernel of 24 taps
   ``k_i ~ exp(-(i - 12)^2 / 25)``, i = 0..23, summing to 1, threshold 0.6,
   the signal zero-padded by one kernel length at its end; at most one spike
   per step and channel. This is the order of the authors' reader
   (``readSpeechData.cpp`` in their ST-RSBP code: hold, then BSA per step), so a
   channel's spike rate follows its held value (a value of 1 gives a spike
   on every step); a spike at index i stands for the kernel starting at i
   and is placed at step ``i + 1``, as theirs;
5. :func:`steps_to_spike_trains` -- samples last T = 700 steps (70 frames =
   1.12 s of audio): spikes at later steps are cut, shorter utterances are
   padded with silence (no spikes).

Pure NumPy/SciPy apart from ``lyon`` (imported on first use, with a clear
error if missing: ``pip install lyon`` or ``pip install rsnn_brian[speech]``).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from ..spikes import SpikeTrains

__all__ = ["SpeechEncoding", "resample_to", "cochleagram", "bsa_kernel", "hold_frames",
           "bsa_encode", "bsa_steps", "steps_to_spike_trains", "encode_waveform", "lyon_version"]


@dataclass(frozen=True)
class SpeechEncoding:
    """Every parameter of the speech encoder (defaults: ALGORITHM.md section 6)."""

    sample_rate_hz: int = 12_500      # ear model rate (TI46 is recorded at 12.5 kHz)
    decimation: int = 200             # samples per frame: 16 ms frames
    ear_q: float = 8.0                # Lyon filter quality (AuditoryToolbox default)
    step_factor: float = 0.25         # ear_q / 32 (default): 80 filters at 12.5 kHz
    scale: float = 2e3                # cochleagram gain before BSA
    bsa_taps: int = 24                # BSA FIR length
    bsa_center: float = 12.0          # k_i ~ exp(-(i - center)^2 / width)
    bsa_width: float = 25.0
    bsa_threshold: float = 0.6
    steps_per_frame: int = 10         # each frame held for 10 steps of dt = 1 ms
    n_steps: int = 700                # T

    def to_dict(self) -> dict:
        return asdict(self)


def lyon_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("lyon")
    except PackageNotFoundError:
        return "absent"


@functools.cache
def _lyon_calc():
    """One LyonCalc per process (made on first use)."""
    try:
        from lyon.calc import LyonCalc
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the speech front end needs the 'lyon' package (Lyon's passive ear "
                          "model): pip install lyon  (or pip install rsnn_brian[speech])") from e
    return LyonCalc()



def resample_to(x: np.ndarray, rate: int, target_rate: int = 12_500) -> np.ndarray:
    """Resample a 1-D signal from ``rate`` to ``target_rate`` (polyphase, exact ratio).

    8 kHz -> 12.5 kHz uses up = 25, down = 16. Equal rates return a copy.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"resample_to expects a 1-D signal, got shape {x.shape}")
    if rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {rate} and {target_rate}")
    ratio = Fraction(int(target_rate), int(rate))
    if ratio == 1:
        return x.copy()
    return resample_poly(x, ratio.numerator, ratio.denominator)


def cochleagram(wav: np.ndarray, rate: int, enc: SpeechEncoding = SpeechEncoding()) -> np.ndarray:
    """Scaled Lyon passive-ear output, shape (n_frames, 78) for the defaults.

    Parameters
    ----------
    wav : float array, shape (n_samples,)
        Mono waveform in [-1, 1) at ``rate`` samples per second.
    rate : int
        Sample rate of ``wav`` in Hz; resampled to ``enc.sample_rate_hz``.

    Returns
    -------
    float64 array, shape (n_frames, n_channels); ``n_frames =
    floor(n_resampled / decimation)`` (a trailing partial frame is dropped),
    channels ordered from high to low centre frequency, values times ``enc.scale``.
    """
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1 or wav.size == 0:
        raise ValueError(f"cochleagram expects a non-empty 1-D waveform, got shape {wav.shape}")
    if not np.all(np.isfinite(wav)):
        raise ValueError("cochleagram: waveform has NaN or inf samples")
    x = np.ascontiguousarray(resample_to(wav, rate, enc.sample_rate_hz))
    if x.size < enc.decimation:
        raise ValueError(f"cochleagram: {x.size} samples at {enc.sample_rate_hz} Hz is shorter "
                         f"than one frame ({enc.decimation} samples)")
    y = _lyon_calc().lyon_passive_ear(x, enc.sample_rate_hz, enc.decimation, ear_q=enc.ear_q,
                               step_factor=enc.step_factor)
    return np.asarray(y, dtype=np.float64) * enc.scale


def bsa_kernel(n_taps: int = 24, center: float = 12.0, width: float = 25.0) -> np.ndarray:
    """BSA FIR kernel ``k_i ~ exp(-(i - center)^2 / width)``, i = 0..n_taps-1, sum 1."""
    i = np.arange(n_taps, dtype=np.float64)
    k = np.exp(-((i - center) ** 2) / width)
    return k / k.sum()


def hold_frames(frames: np.ndarray, steps_per_frame: int = 10) -> np.ndarray:
    """Hold each frame for ``steps_per_frame`` steps: (n_frames, C) -> (n_frames * steps, C)."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2:
        raise ValueError(f"hold_frames expects (n_frames, n_channels), got shape {frames.shape}")
    if int(steps_per_frame) < 1:
        raise ValueError(f"steps_per_frame must be >= 1, got {steps_per_frame}")
    return np.repeat(frames, int(steps_per_frame), axis=0)


def bsa_encode(signal: np.ndarray, kernel: np.ndarray, threshold: float = 0.6) -> np.ndarray:
    """Ben's Spiker Algorithm on every channel at once; loop over time only.

    The signal is zero-padded by ``M = len(kernel)`` values at its end; for
    i = 0..n-1, with the residual signal s:

        err_spike   = sum_{j<M} |s[i+j] - k[j]|
        err_nospike = sum_{j<M} |s[i+j]|
        spike at i  iff  err_spike < err_nospike - threshold,
        and then s[i+j] -= k[j] for j < M.

    A spike at i therefore stands for the kernel starting at i: the decoded
    signal is ``sum_i spike[i] k[t - i]``.

    Parameters
    ----------
    signal : float array, shape (n, n_channels)
    kernel : float array, shape (M,)
    threshold : float

    Returns
    -------
    bool array, shape (n, n_channels)
    """
    sig = np.asarray(signal, dtype=np.float64)
    if sig.ndim != 2:
        raise ValueError(f"bsa_encode expects (n_frames, n_channels), got shape {sig.shape}")
    k = np.asarray(kernel, dtype=np.float64).ravel()
    n, m = sig.shape[0], k.size
    s = np.zeros((n + m, sig.shape[1]))
    s[:n] = sig
    out = np.zeros(sig.shape, dtype=bool)
    kk = k[:, None]
    for i in range(n):
        win = s[i:i + m]
        fire = np.abs(win - kk).sum(axis=0) < np.abs(win).sum(axis=0) - threshold
        if fire.any():
            win[:, fire] -= kk
            out[i] = fire
    return out


def steps_to_spike_trains(spikes: np.ndarray, n_steps: int = 700) -> SpikeTrains:
    """BSA output per step -> SpikeTrains: a spike at index i goes to step i + 1; cut at ``n_steps``.

    Parameters
    ----------
    spikes : bool array, shape (n, n_channels)

    Returns
    -------
    SpikeTrains with ``n_neurons = n_channels`` and ``n_steps``.
    """
    index, channel = np.nonzero(np.asarray(spikes))
    step = index.astype(np.int64) + 1
    keep = step < n_steps
    return SpikeTrains(channel[keep], step[keep], spikes.shape[1], n_steps)


def bsa_steps(coch: np.ndarray, enc: SpeechEncoding = SpeechEncoding()) -> np.ndarray:
    """Cochleagram (n_frames, C) -> BSA spikes per step (n, C): hold each frame, then BSA.

    Only the first ``T + M`` held steps are encoded: spikes at index >= T - 1
    are cut later, and BSA at index i reads the signal up to i + M - 1.
    """
    k = bsa_kernel(enc.bsa_taps, enc.bsa_center, enc.bsa_width)
    held = hold_frames(coch, enc.steps_per_frame)[:enc.n_steps + k.size]
    return bsa_encode(held, k, enc.bsa_threshold)


def encode_waveform(wav: np.ndarray, rate: int,
                    enc: SpeechEncoding = SpeechEncoding()) -> SpikeTrains:
    """Waveform -> cochleagram -> hold 10 steps per frame -> BSA -> SpikeTrains (78 x T)."""
    return steps_to_spike_trains(bsa_steps(cochleagram(wav, rate, enc), enc), enc.n_steps)
