"""Throughput of the speech encoder (Lyon ear model + BSA) on FSDD, and a cache warm-up.

Question: how fast is the paper's speech front end here, can all 3,000 FSDD
recordings be encoded in under 5 minutes, and are the spike trains neither
silent nor saturated?

1. serial throughput on a sample of files (no cache), split into the stages
   (read + resample + Lyon, BSA) -> projected time for all files;
2. the whole data set through ``encode_files`` with a process pool into the
   cache (measured time; cold unless the cache already holds it);
3. the same again from the warm cache;
4. spike statistics: spikes per utterance, per channel, fraction of
   (frame, channel) cells that spike (1 = saturated), mean rate per channel.

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
from rsnn_brian.data.fsdd import fsdd_dir, read_manifest, read_wav

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("RSNN_BRIAN_DATA", REPO.parent / "shared" / "data"))
    ap.add_argument("--cache-dir", default=None, help="encoded-spike cache (default $RSNN_BRIAN_CACHE or ~/.cache/rsnn_brian)")
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
    trains = S.encode_files([r.path for r in recs], enc, cache, digests, a.n_jobs)
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
    counts = np.array([t.n_spikes for t in trains])
    per_ch = np.stack([t.counts() for t in trains])                    # (n, 78)
    dur_s = np.array([min(r.path.stat().st_size - 44, 2 * 8000 * enc.n_steps / 1000) / 2 / 8000
                      for r in recs])                                  # 16-bit 8 kHz, capped at T
    last = np.array([t.step.max() if t.n_spikes else 0 for t in trains])
    fill = counts / (enc.n_steps * 78)
    print(f"[4] spikes per utterance: mean {counts.mean():.1f}, median {np.median(counts):.0f}, "
          f"min {counts.min()}, max {counts.max()}, silent utterances {(counts == 0).sum()}")
    ch_mean = per_ch.mean(axis=0)
    print(f"    spikes per channel per utterance: mean {ch_mean.mean():.2f}, "
          f"min {ch_mean.min():.2f} (channel {ch_mean.argmin()}), max {ch_mean.max():.2f} "
          f"(channel {ch_mean.argmax()}), channels never spiking {(per_ch.sum(0) == 0).sum()}")
    print(f"    max spikes of one channel in one utterance: {per_ch.max()} of {enc.n_steps} steps")
    print(f"    fraction of the {enc.n_steps} x 78 (step, channel) cells that spike: mean {fill.mean():.3f}, "
          f"max {fill.max():.3f}")
    rate = counts / 78 / dur_s
    print(f"    mean rate per input neuron over the utterance: {rate.mean():.1f} Hz "
          f"(median {np.median(rate):.1f}, max {rate.max():.1f}); last spike step median {np.median(last):.0f}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
