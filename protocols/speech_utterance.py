"""What does one spoken digit look like at each stage of the speech front end?

Question: for one FSDD utterance, are the waveform, the Lyon cochleagram
(78 channels, 16 ms frames) and the BSA input spike raster (78 neurons,
T = 700 steps of 1 ms) consistent with each other -- spikes where the sound
is, in the channels that carry its energy, neither silent nor saturated?
This is the input stage of the paper's TI46 runs (Zhang & Li 2019, section
on speech data; ALGORITHM.md section 6), here with FSDD instead of TI46.

Output (``--out``, default ``results/speech_utterance``): ``utterance.png``
and ``utterance.pdf`` (waveform, cochleagram, raster), ``spikes.csv`` (tidy:
neuron, step), and ``run.json`` (resolved parameters, versions, statistics).
``--quick`` uses a shorter utterance and a lower resolution (for CI).

Usage::

    python protocols/speech_utterance.py [--file 3_theo_10.wav] [--data-dir ../shared/data] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from rsnn_brian.data.cochlea import SpeechEncoding, cochleagram, encode_waveform, lyon_version  # noqa: E402
from rsnn_brian.data.fsdd import fsdd_dir, read_wav  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- parameters
PARAMS = dict(
    file="5_jackson_32.wav",        # FSDD recording to show
    quick_file="0_george_0.wav",    # shorter one (0.30 s) for --quick
    sample_rate_hz=12_500,          # Hz, ear model rate (input resampled 8 kHz -> 12.5 kHz)
    decimation=200,                 # samples per frame -> 16 ms frames
    scale=2e3,                      # cochleagram gain
    bsa_threshold=0.6,              # BSA threshold (kernel of 24 taps, sum 1)
    steps_per_frame=10,             # steps of dt = 1 ms per frame
    n_steps=700,                    # T, steps (ms)
    dpi=150,                        # figure resolution (--quick: 80)
)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", default=None, help="recording name in fsdd/recordings")
    ap.add_argument("--data-dir", default=os.environ.get("RSNN_BRIAN_DATA", REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default=REPO / "results" / "speech_utterance", type=Path)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    p = dict(PARAMS)
    if a.quick:
        p["file"], p["dpi"] = p["quick_file"], 80
    if a.file:
        p["file"] = a.file

    enc = SpeechEncoding(sample_rate_hz=p["sample_rate_hz"], decimation=p["decimation"],
                         scale=p["scale"], bsa_threshold=p["bsa_threshold"],
                         steps_per_frame=p["steps_per_frame"], n_steps=p["n_steps"])
    path = fsdd_dir(a.data_dir, download=False) / "recordings" / p["file"]
    x, rate = read_wav(path)
    coch = cochleagram(x, rate, enc)                       # (n_frames, 78)
    spikes = encode_waveform(x, rate, enc)                 # SpikeTrains (78, 700)

    a.out.mkdir(parents=True, exist_ok=True)
    frame_ms = 1e3 * enc.decimation / enc.sample_rate_hz     # 16 ms of audio per frame
    ms_per_step = frame_ms / enc.steps_per_frame             # 1 step (1 ms) = 1.6 ms of audio
    audio_end_ms = max(len(x) / rate * 1e3, enc.n_steps * ms_per_step)
    sns.set_theme(style="ticks", context="paper")
    fig, axes = plt.subplots(3, 1, figsize=(7, 7.5), gridspec_kw=dict(height_ratios=[1, 2, 2]))
    ax = axes[0]
    ax.plot(np.arange(len(x)) / rate * 1e3, x, lw=0.5, color="k")
    ax.set_ylabel("amplitude")
    ax.set_xlim(0, audio_end_ms)
    ax.set_title(f"FSDD {p['file']} ({len(x) / rate:.2f} s at {rate} Hz)")
    ax = axes[1]
    im = ax.imshow(coch.T, aspect="auto", origin="upper", cmap="magma", interpolation="nearest",
                   extent=(0, coch.shape[0] * frame_ms, coch.shape[1] - 0.5, -0.5))
    ax.set_xlim(0, audio_end_ms)
    ax.set_ylabel("channel\n(high -> low freq.)")
    ax.set_xlabel("audio time (ms)")
    ax.set_title(f"Lyon cochleagram x {enc.scale:g}: {coch.shape[0]} frames of {frame_ms:g} ms, "
                 f"{coch.shape[1]} channels")
    fig.colorbar(im, cax=ax.inset_axes([1.01, 0.0, 0.015, 1.0]))
    ax = axes[2]
    df = pd.DataFrame({"neuron": spikes.neuron, "step": spikes.step})
    ax.scatter(df["step"], df["neuron"], s=6, marker="|", color="C0", linewidths=1)
    ax.set_ylim(spikes.n_neurons - 0.5, -0.5)
    ax.set_xlim(0, audio_end_ms / ms_per_step)               # aligned with the audio panels
    ax.set_ylabel("input neuron")
    ax.set_xlabel(f"simulation step (1 ms; {enc.steps_per_frame} steps per {frame_ms:g} ms frame)")
    ax.set_title(f"BSA input spikes: {spikes.n_spikes} spikes, T = {spikes.n_steps} steps")
    ax.axvline(enc.n_steps, color="0.5", ls="--", lw=0.8)
    sns.despine(fig)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(a.out / f"utterance.{ext}", dpi=p["dpi"])
    plt.close(fig)

    df.to_csv(a.out / "spikes.csv", index=False)
    counts = spikes.counts()
    stats = dict(n_samples=int(len(x)), rate_hz=rate, n_frames=int(coch.shape[0]),
                 n_channels=int(coch.shape[1]), cochleagram_max=float(coch.max()),
                 cochleagram_mean=float(coch.mean()), n_spikes=spikes.n_spikes,
                 channels_spiking=int((counts > 0).sum()), max_spikes_per_channel=int(counts.max()),
                 first_spike_step=int(spikes.step.min()) if spikes.n_spikes else None,
                 last_spike_step=int(spikes.step.max()) if spikes.n_spikes else None)
    run = dict(params=p, encoding=enc.to_dict(), stats=stats, seed=None,
               versions=dict(python=sys.version.split()[0], numpy=np.__version__,
                             matplotlib=matplotlib.__version__, lyon=lyon_version(),
                             platform=platform.platform()))
    (a.out / "run.json").write_text(json.dumps(run, indent=2))
    print(json.dumps(stats))
    print(f"wrote {a.out}/utterance.png, utterance.pdf, spikes.csv, run.json")


if __name__ == "__main__":
    main()
