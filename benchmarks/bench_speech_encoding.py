"""Throughput of the speech encoder (Lyon ear model + BSA) on FSDD, and a cache warm-up.

Question: how fast is the paper's speech front end here, can all 3,000 FSDD
recordings be encoded in under 5 minutes, and are the spike trains neither
silent nor saturated?

1. serial throughput on a sample of files (no cache), split into the stages
   (read + resample + Lyon, BSA) -> projected time for all files;
2. the whole data set through ``encode_files`` with a process pool into the
   cache (measured time; cold unless the cache already holds it);
3. the same again from the warm cache;
4. spike statistics (:func:`spike_statistics`, also returned by
   :func:`main`): spikes per utterance, per channel, fraction of (step,
   channel) cells that spike (1 = saturated), and the mean rate per input
   neuron per second of sound inside the T-step window (one step holds
   ``decimation / sample_rate_hz / steps_per_frame`` = 1.6 ms of audio, so
   T = 700 steps hold 1.12 s; later sound is cut, as its spikes are).

Usage::

    python benchmarks/bench_speech_encoding.py [--data-dir ../shared/data]
        [--cache-dir DIR | --fresh] [--n-jobs 2] [--sample 60]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from rsnn_brian.data import speech as S
from rsnn_brian.data.cochlea import SpeechEncoding, bsa_steps, cochleagram
from rsnn_brian.data.fsdd import FSDD_SAMPLE_RATE, fsdd_dir, read_manifest, read_wav

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("RSNN_BRIAN_DATA", REPO.parent / "shared" / "data"))
    ap.add_argument("--cache-dir", default=None,
                    help="encoded-spike cache (default $RSNN_BRIAN_CACHE or ~/.cache/rsnn_brian)")
    ap.add_argument("--fresh", action="store_true", help="use an empty temporary cache (cold run)")
    ap.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sample", type=int, default=60, help="files for the serial throughput step")
    a = ap.parse_args(argv)

    enc = SpeechEncoding()
    recs = read_manifest(fsdd_dir(a.data_dir, download=False))
    n = len(recs)
    print(f"FSDD: {n} recordings; encoder {enc}; key {S.encoding_key(enc)}; n_jobs {a.n_jobs}")

    # 1. serial throughput, by stage
    sample = recs[:: max(1, n // a.sample)][: a.sample]
    t_ear = t_bsa = 0.0
    for r in sample:
        t0 = time.perf_counter()
        c = cochleagram(*read_wav(r.path), enc)
        t1 = time.perf_counter()
        bsa_steps(c, enc)
        t_ear += t1 - t0
        t_bsa += time.perf_counter() - t1
    per = (t_ear + t_bsa) / len(sample)
    print(f"[1] serial, {len(sample)} files: {1 / per:.1f} utterances/s "
          f"({1e3 * t_ear / len(sample):.1f} ms read+resample+Lyon, {1e3 * t_bsa / len(sample):.1f} ms BSA per file)")
    print(f"    projected for {n} files: {n * per:.0f} s serial, {n * per / a.n_jobs:.0f} s on {a.n_jobs} processes")

    # 2. whole data set into the cache
    tmp = tempfile.TemporaryDirectory(prefix="speech-cache-") if a.fresh else None
    cache = tmp.name if tmp else a.cache_dir
    base = S.cache_root(cache) / "speech" / S.encoding_key(enc)
    digests = [r.sha256 for r in recs]
    misses = sum(not (base / f"{d}.npz").is_file() for d in digests)
    t0 = time.perf_counter()
    trains = S.encode_files([r.path for r in recs], enc, cache, digests, a.n_jobs,
                            expected_rate=FSDD_SAMPLE_RATE)
    t_full = time.perf_counter() - t0
    print(f"[2] all {n} files into {base} ({misses} to encode): {t_full:.1f} s "
          f"= {misses / t_full if misses else float('nan'):.1f} encoded utterances/s "
          f"({'under' if t_full < 300 else 'OVER'} the 5 min target)")

    # 3. warm cache
    t0 = time.perf_counter()
    again = S.encode_files([r.path for r in recs], enc, cache, digests, a.n_jobs)
    t_warm = time.perf_counter() - t0
    assert all(x == y for x, y in zip(trains, again))
    print(f"[3] warm cache: {t_warm:.2f} s for {n} files ({n / t_warm:.0f} utterances/s)")

    # 4. spike statistics
    st = spike_statistics(trains, [duration_s(r) for r in recs], enc)
    print(f"[4] spikes per utterance: mean {st['mean']:.1f}, median {st['median']:.0f}, "
          f"min {st['min']}, max {st['max']}, silent utterances {st['silent']}")
    print(f"    spikes per channel per utterance: mean {st['channel_mean']:.2f}, "
          f"min {st['channel_min']:.2f} (channel {st['channel_argmin']}), max {st['channel_max']:.2f} "
          f"(channel {st['channel_argmax']}), channels never spiking {st['channels_silent']}")
    print(f"    max spikes of one channel in one utterance: {st['channel_peak']} of {enc.n_steps} steps")
    print(f"    fraction of the {enc.n_steps} x {st['n_channels']} (step, channel) cells that spike: "
          f"mean {st['fill_mean']:.3f}, max {st['fill_max']:.3f}")
    print(f"    mean rate per input neuron over the sound (inside the window): {st['rate_mean']:.1f} Hz "
          f"(median {st['rate_median']:.1f}, max {st['rate_max']:.1f}); last spike step median "
          f"{st['last_step_median']:.0f}")
    if tmp:
        tmp.cleanup()
    return {"n_files": n, "misses": misses, "stats": st}


def duration_s(record) -> float:
    """Seconds of audio of one recording: from manifest.csv, else from the file."""
    if record.duration_s is not None:
        return record.duration_s
    x, rate = read_wav(record.path)
    return x.size / rate


def spike_statistics(trains, durations_s, enc: SpeechEncoding) -> dict:
    """Figures of step 4 for ``trains`` (one per utterance) of ``durations_s`` seconds of audio each."""
    counts = np.array([t.n_spikes for t in trains])
    per_ch = np.stack([t.counts() for t in trains])                    # (n, n_channels)
    n_ch = per_ch.shape[1]
    audio_per_step_s = enc.decimation / enc.sample_rate_hz / enc.steps_per_frame     # 1.6 ms
    sound_s = np.minimum(np.asarray(durations_s, dtype=np.float64), enc.n_steps * audio_per_step_s)
    rate = counts / n_ch / sound_s                                     # per second of sound in the window
    last = np.array([t.step.max() if t.n_spikes else 0 for t in trains])
    fill = counts / (enc.n_steps * n_ch)
    ch_mean = per_ch.mean(axis=0)
    return {"n_channels": n_ch, "mean": counts.mean(), "median": float(np.median(counts)),
            "min": int(counts.min()), "max": int(counts.max()), "silent": int((counts == 0).sum()),
            "channel_mean": ch_mean.mean(), "channel_min": ch_mean.min(), "channel_argmin": int(ch_mean.argmin()),
            "channel_max": ch_mean.max(), "channel_argmax": int(ch_mean.argmax()),
            "channels_silent": int((per_ch.sum(0) == 0).sum()), "channel_peak": int(per_ch.max()),
            "fill_mean": fill.mean(), "fill_max": fill.max(), "rate_mean": rate.mean(),
            "rate_median": float(np.median(rate)), "rate_max": rate.max(),
            "last_step_median": float(np.median(last))}


if __name__ == "__main__":
    main()
