"""Train one epoch on a Fashion-MNIST subset with variants taken from the authors' code.

Question: which of the ways the authors' code differs from the paper's
equations explains the accuracy gap to the paper (issue 4)?: each flag switches
one way in which the authors' CUDA code (``stonezwr/ST-RSBP``), or the earlier
version of it that wrote their Fashion-MNIST log, differs from this package's
spec. Every variant is an option of the package (nothing is patched):

  --euler            the authors' update (current decays, then takes the spikes;
                     v += I / tau_s) in the NumPy simulator, the S-PSPs (identity
                     still exact) and, with --effect-ratio brian2, the tables:
                     TrainConfig ``discretisation = "euler"`` (needs device
                     'numpy', which this flag sets); use with --refractory "3 ms"
                     (their 2 held steps: then it steps like
                     ``rsnn_brian.engine.neuron.AUTHORS``)
  --tables A B C     effect-ratio tables per layer from files of quartic rows
                     (e.g. the first commit's p_Tau_64_400.txt for the hidden and
                     output layers, p_Tau_64_600.txt for the reservoir):
                     TrainConfig ``effect_ratio_files``
  --autapses         reservoir self-connections (their grid loop includes a == b,
                     probability c): TrainConfig ``autapses = true``
  --dale             reservoir weights start +1 from excitatory and -1 from
                     inhibitory neurons (their first commit, which wrote the log),
                     not U(-1, 1): TrainConfig ``reservoir_weights = "dale"``
  --freeze NAMES     keep these weight arrays fixed (e.g. ff1), to see what each
                     layer's learning contributes: TrainConfig ``frozen``
  --recurrent-below, --silent-ratio, --refractory, --effect-ratio, --gradient,
  --no-regulariser:  package settings (TrainConfig fields)

Every flag is a TrainConfig field, so ``rsnn-brian train`` runs the same
variants (``--discretisation euler --device numpy``, ``--effect-ratio-files``).

Prints the running training accuracy every 2,000 samples and the test accuracy
at the end, and writes them to a results folder (config.toml, manifest.json,
running.csv: samples, running_accuracy; summary.csv: the variant, test
accuracy, spikes per sample per layer, seconds; weights.npz). Runtime: full
(5,000 samples of Fashion-MNIST, cpp_standalone) about 10 min on 2 cores;
--quick about 5 s (built-in subset, 784-20-R20-10, T 60, NumPy simulator).

    python protocols/authors_variants.py --train-limit 20000 --test-limit 2000 --dale --out results/dale
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _protocol import Results, parser, quick_config


def variant_config(cfg, a):
    """The preset with the flags' settings (every variant is a TrainConfig field)."""
    return cfg.replace(
        train_limit=a.train_limit, test_limit=a.test_limit, epochs=1, batch_size=a.batch_size, lr=a.lr,
        device=a.device, seed=a.seed, refractory=a.refractory, effect_ratio=a.effect_ratio,
        silent_ratio=a.silent_ratio, recurrent_below=a.recurrent_below, gradient=a.gradient,
        regulariser=not a.no_regulariser, autapses=a.autapses, reservoir_weights="dale" if a.dale else None,
        frozen=a.freeze or None, discretisation="euler" if a.euler else None,
        effect_ratio_files=",".join(map(str, a.tables)) if a.tables else None)


def main(argv=None):
    ap = parser(__doc__, "results/authors_variants")
    ap.add_argument("--train-limit", type=int, default=5000)
    ap.add_argument("--test-limit", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--device", default="cpp_standalone")
    ap.add_argument("--euler", action="store_true")
    ap.add_argument("--autapses", action="store_true")
    ap.add_argument("--dale", action="store_true")
    ap.add_argument("--tables", nargs="+", type=Path, help="one file per layer with incoming weights")
    ap.add_argument("--freeze", default="", help="comma-separated weight names, e.g. ff1,rec2")
    ap.add_argument("--recurrent-below", choices=["spec", "authors"], default="spec")
    ap.add_argument("--silent-ratio", type=float, default=0.0)
    ap.add_argument("--refractory", default="2 ms")
    ap.add_argument("--effect-ratio", choices=["brian2", "authors"], default="brian2")
    ap.add_argument("--gradient", choices=["reference", "exact"], default="reference")
    ap.add_argument("--no-regulariser", action="store_true", help="switch the weight regulariser off")
    a = ap.parse_args(argv)
    a.seed = a.seeds[0]

    if a.euler:
        a.device = "numpy"               # Brian2 integrates exactly; the NumPy simulator takes the discretisation

    import tempfile

    from rsnn_brian.config import load_preset
    from rsnn_brian.training import Trainer, _close, make_simulator

    try:
        cfg = variant_config(load_preset("fashion-mnist"), a)
        if a.quick:
            cfg = quick_config(cfg).replace(device="numpy")
        tr = Trainer(cfg, Path(tempfile.mkdtemp()), progress=False)     # reads the --tables files
    except (ValueError, FileNotFoundError) as err:      # a bad flag: one line, no traceback
        raise SystemExit(f"authors_variants.py: {err}") from None
    variant = {k: str(v) for k, v in vars(a).items()
               if v not in (None, False, "") and k not in ("out", "seeds", "quick", "overwrite")}
    params = variant | {"config." + k: v for k, v in cfg.to_dict().items() if v is not None}
    res = Results(a.out, "authors_variants", params, [a.seed], a.quick, a.overwrite)
    tr.sim = make_simulator(cfg, tr.arch, tr.params)
    order, B, t0 = tr.order(0), cfg.batch_size, time.perf_counter()
    labels = tr.train_set.labels
    running = []
    try:
        for start in range(0, len(order), B):
            tr.step(order[start:start + B], 0)
            n = min(start + B, len(order))
            if n % 2000 < B or n == len(order):
                done = tr.partial["pred"] >= 0
                running.append({"samples": n, "running_accuracy": round(100 * float(np.mean(
                    tr.partial["pred"][done] == labels[done])), 2)})
                print(json.dumps(running[-1]), flush=True)
        test = tr.evaluate(tr.test_set)["accuracy"]
    finally:
        _close(tr.sim)
    rates = tr.partial["rates"] / len(order)
    summary = {"variant": variant, "test_accuracy": test, "spikes_per_sample": [round(float(r), 1) for r in rates],
               "seconds": round(time.perf_counter() - t0)}
    print(json.dumps(summary), flush=True)
    res.csv("running", pd.DataFrame(running))
    res.csv("summary", pd.DataFrame([{"variant": " ".join(f"{k}={v}" for k, v in variant.items()),
                                      "test_accuracy": test, "seconds": summary["seconds"],
                                      **{f"spikes_per_sample_layer{k}": r for k, r in enumerate(rates)}}]))
    np.savez(res.path / "weights.npz", **tr.weights.to_arrays())
    res.finish(test_accuracy=test)
    return summary


if __name__ == "__main__":
    main()
