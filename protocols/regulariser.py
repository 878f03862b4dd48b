"""Why does the paper's weight regulariser cost accuracy here? Per-array lambdas, and the first layer's weights.

Question (issue #19): with the paper's Fashion-MNIST settings (regulariser on,
lambda 10, beta 0.04, L 8; Zhang & Li 2019, sec. 4 and the supplement) the
package stays about 5 points below the authors' test curve; with the
regulariser off it reaches it. The authors' log shows the first layer held back
far less than here: weights from pixels that spike in 0.1-0.5 % of the training
samples keep sizes of 0.03-0.25 through ten epochs. Is the first layer's
regulariser the one that costs the points, and which first-layer lambda gives
the log's weight sizes?

Two modes:

* training grid (default): the ``fashion-mnist-b16`` preset (784-400-R400-10,
  batch 16, eta_0 0.004, T = 400) with the regulariser on and per-array lambdas
  (``TrainConfig.regulariser_lambdas``): first-layer lambda 0.03, 0.1, 0.3 with
  10 elsewhere; everywhere but the first layer; the first layer only; and the two
  ends, 10 everywhere and off. One epoch on 20,000 training / 2,000 test images,
  seeds 0-2. Writes metrics.csv and summary.csv (test accuracy), then the
  analysis below of every run's last checkpoint.
* ``--analyse RUN_DIR [RUN_DIR ...]``: the analysis only, from checkpoints, nothing trained.

The analysis: per trained array (ff1, ff2, rec2, ff3; rec2 over its existing
synapses), quantiles of |w| and the shares of |w| below, inside and above the
log's range 0.03-0.25 (weight_stats.csv, group ``all``); for ff1 the same per
pixel-activity band, the band ``rare`` being pixels that spike in 0.1-0.5 % of
the run's training samples. A pixel's activity is computed, not sampled: the
mean over the run's training images of the probability that the Bernoulli
encoder makes it spike at least once in a sample, 1 - (1 - v / (5.5 * 255))^(T - 1)
(the encoder draws steps 1 .. T-1); pixel_activity.csv holds it. The initial
weights U(-1, 1) of the first run's seed are analysed too (setting ``initial``).
Column ``reg_to_adam_rms_median``: the median over the group of |regulariser
gradient| / sqrt(Adam's v-hat) at the checkpoint (its optimiser state); near 1
the regulariser dominates those weights' recent gradients, and Adam, which
divides by sqrt(v-hat), moves them by about the learning rate per step at any lambda.
settings.csv: one row per run with its test accuracy and the ff1 figures;
authors_log.csv: the authors' figures it is compared with.

Runtime (2 cores, cpp_standalone, workers 2): full grid 7 settings x 3 seeds,
about 6-10 min per run, 2-3.5 h; ``--train-limit 4000 --test-limit 1000
--seeds 0`` measured 852 s (2 min per run); --analyse about a second per run;
--quick about 4 s (built-in subset, 784-20-R20-10, T 60, NumPy simulator).

    python protocols/regulariser.py --seeds 0 1 2 --out results/regulariser
    python protocols/regulariser.py --analyse runs/fm16 runs/fm16_noreg --out results/regulariser_runs
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from _protocol import QUICK_DATA, Results, parser, quick_config, slug, summarise, train_conditions

# -- parameters ---------------------------------------------------------------------------------
PRESET = "fashion-mnist-b16"     # batch 16, eta_0 0.004, 784-400-R400-10, T 400 steps of 1 ms
LAMBDA = 10.0                    # the paper's lambda (dimensionless); beta 0.04, L 8 (optim.RegularizerSettings)
SETTINGS = {                     # name: per-array lambdas (None: LAMBDA on every array; False: regulariser off)
    "lambda 10 everywhere": None,
    "ff1 lambda 0.3": "ff1=0.3",
    "ff1 lambda 0.1": "ff1=0.1",
    "ff1 lambda 0.03": "ff1=0.03",
    "all but ff1 (ff1=0)": "ff1=0",
    "ff1 only": "ff2=0,rec2=0,ff3=0",
    "off": False,
}
SEEDS = (0, 1, 2)
TRAIN_LIMIT, TEST_LIMIT, EPOCHS = 20000, 2000, 1      # images (class-balanced), epochs
RARE = (0.001, 0.005)            # pixel activity band of the authors' log: spikes in 0.1-0.5 % of samples
SIZE = (0.03, 0.25)              # |w| range the log's first-layer weights from those pixels keep
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUICK_RARE = (0.01, 0.05)        # --quick: 40 images cannot make a pixel active in 0.1-0.5 % of them
AUTHORS = {                      # the authors' figures (their paper and log, full Fashion-MNIST)
    "test accuracy after epoch 1 (%)": 84.71, "test accuracy after epoch 2 (%)": 86.07,
    "ours, lambda 10, epoch 1 (%)": 79.4, "ours, lambda 10, epoch 2 (%)": 79.1,
    "rare-pixel ff1 |w| low (10 epochs)": SIZE[0], "rare-pixel ff1 |w| high (10 epochs)": SIZE[1],
    "rare-pixel activity low": RARE[0], "rare-pixel activity high": RARE[1],
    "effective ff1 lambda low (small simulation)": 0.03, "effective ff1 lambda high (small simulation)": 0.1,
}


def conditions(args) -> dict:
    """{setting: TrainConfig} of the grid (full scale; --quick shrinks them)."""
    import rsnn_brian as rb
    base = rb.load_preset(PRESET).replace(train_limit=args.train_limit, test_limit=args.test_limit,
                                          epochs=args.epochs, data_dir=args.data_dir, regulariser=True,
                                          regulariser_lambda=LAMBDA)
    out = {}
    for name in args.settings:
        lam = SETTINGS[name]
        out[name] = base.replace(regulariser=False) if lam is False else base.replace(regulariser_lambdas=lam)
    return out


def describe(cfg) -> str:
    """The regulariser of a config in words: ``off``, ``lambda 10``, ``lambda 10; ff1=0.03``."""
    if not cfg.regulariser:
        return "off"
    return f"lambda {cfg.regulariser_lambda:g}" + (f"; {cfg.regulariser_lambdas}" if cfg.regulariser_lambdas else "")


# -- pixel activity -------------------------------------------------------------------------------
def pixel_activity(images, n_steps: int, chunk: int = 4096) -> np.ndarray:
    """Per pixel, the mean over ``images`` (n_samples, n_pixels) of P(at least one spike in a sample)."""
    from rsnn_brian.data.encoders import EncoderSettings
    enc = EncoderSettings(n_steps=n_steps)
    images = np.asarray(images).reshape(len(images), -1)
    total = np.zeros(images.shape[1])
    for s in range(0, len(images), chunk):
        p = images[s:s + chunk].astype(np.float64) / (enc.scale * enc.pixel_max)
        total += (1.0 - (1.0 - p) ** (n_steps - enc.first_step)).sum(axis=0)
    return total / len(images)


def run_images(cfg) -> np.ndarray:
    """The training images a run saw: its data set's train split, the class-balanced subset it trained on."""
    from rsnn_brian.data.registry import dataset_info, stratified_subset
    images, labels = dataset_info(cfg.dataset).read(cfg, "train")
    if not isinstance(images, np.ndarray):
        raise SystemExit(f"regulariser: data set {cfg.dataset} is not images; pixel activity needs images")
    return images[stratified_subset(np.asarray(labels), cfg.train_limit, cfg.seed)]


def bands(activity: np.ndarray, rare) -> np.ndarray:
    """Each pixel's band: silent, below, rare, above, active (10 x the rare band's top and more)."""
    lo, hi = rare
    out = np.full(activity.shape, "active", dtype=object)
    out[activity < 10 * hi] = "above"
    out[activity <= hi] = "rare"
    out[activity < lo] = "below"
    out[activity == 0] = "silent"
    return out


# -- weight statistics ----------------------------------------------------------------------------
def abs_stats(w: np.ndarray, size=SIZE) -> dict:
    """Quantiles, mean and the shares of |w| below / inside / above ``size`` (NaN when empty)."""
    a = np.abs(np.asarray(w, dtype=np.float64)).ravel()
    row = {"n_weights": int(a.size)}
    if a.size == 0:
        return row | {f"q{q:g}": np.nan for q in QUANTILES} | dict(mean_abs=np.nan, share_below=np.nan,
                                                                   share_in_range=np.nan, share_above=np.nan)
    row.update({f"q{q:g}": float(v) for q, v in zip(QUANTILES, np.quantile(a, QUANTILES))})
    row.update(mean_abs=float(a.mean()), share_below=float((a < size[0]).mean()),
               share_in_range=float(((a >= size[0]) & (a <= size[1])).mean()), share_above=float((a > size[1]).mean()))
    return row


def reg_ratio(weights, opt: dict | None, cfg) -> dict[str, np.ndarray]:
    """Per trained array, |regulariser gradient| / sqrt(Adam's bias-corrected v) at a checkpoint.

    About 1 where the regulariser dominates a weight's recent gradients: Adam then moves it at about
    the full learning rate per step, whatever lambda is. Empty without optimiser state or regulariser.
    """
    from rsnn_brian.optim import AdamSettings, RegularizerSettings, regularizer_gradients
    if not opt or not cfg.regulariser or int(np.asarray(opt["t"])) == 0:
        return {}
    c2 = 1.0 - AdamSettings().beta2 ** int(np.asarray(opt["t"]))
    reg = regularizer_gradients(weights, RegularizerSettings(lam=cfg.regulariser_lambda),
                                cfg.regulariser_lambdas_by_array())
    return {k: np.abs(g) / (np.sqrt(opt[f"v.{k}"] / c2) + AdamSettings().eps) for k, g in reg.items()}


def weight_rows(weights, band_of_pixel: np.ndarray, ratio: dict | None = None) -> list[dict]:
    """Rows of weight_stats.csv for one set of weights: every trained array, and ff1 per pixel band."""
    masks, ratio = weights.trainable_masks(), ratio or {}

    def med(name, sel):
        return float(np.median(ratio[name][sel])) if name in ratio and np.any(sel) else np.nan

    rows = []
    for name, w in weights.trainable().items():
        sel = masks.get(name, np.ones(w.shape, bool))
        rows.append({"array": name, "group": "all", **abs_stats(w[sel]), "reg_to_adam_rms_median": med(name, sel)})
    ff1 = weights.trainable()["ff1"]                                  # (n_post, n_pixels)
    for band in ("silent", "below", "rare", "above", "active"):
        sel = np.broadcast_to(band_of_pixel == band, ff1.shape)
        rows.append({"array": "ff1", "group": band, "n_pixels": int((band_of_pixel == band).sum()),
                     **abs_stats(ff1[:, band_of_pixel == band]), "reg_to_adam_rms_median": med("ff1", sel)})
    return rows


def analyse(run_dirs, setting_of=None, checkpoint=None, rare=RARE, include_initial=True):
    """(weight_stats, pixel_activity, settings) tables of these runs' checkpoints; nothing is trained."""
    from rsnn_brian.connectivity import init_weights
    from rsnn_brian.training.api import open_run
    from rsnn_brian.training.checkpoint import load_checkpoint
    from rsnn_brian.training.rundir import RunDir
    setting_of = setting_of or {}
    stats, activity_rows, per_run, cache = [], [], [], {}
    for i, run_dir in enumerate(map(Path, run_dirs)):
        if not RunDir(run_dir).has_run():
            raise SystemExit(f"regulariser: {run_dir} is not a run directory (no config.toml)")
        try:
            opened = open_run(run_dir, "test", checkpoint)
        except (FileNotFoundError, ValueError) as e:          # no such checkpoint, data missing, ...
            raise SystemExit(f"regulariser: {run_dir}: {e}") from None
        cfg, weights = opened.config, opened.weights
        opt = load_checkpoint(opened.checkpoint)[1]
        key = (cfg.dataset, cfg.data_dir, cfg.train_limit, cfg.seed, cfg.n_steps)
        if key not in cache:
            cache[key] = pixel_activity(run_images(cfg), cfg.n_steps)
            activity_rows.append(pd.DataFrame({"images": f"{cfg.dataset} train, limit {cfg.train_limit}, "
                                               f"seed {cfg.seed}", "n_steps": cfg.n_steps,
                                               "pixel": np.arange(cache[key].size), "activity": cache[key]}))
        band = bands(cache[key], rare)
        known = {slug(n): n for n in SETTINGS}                     # runs/<slug(setting)>-seed<N> of the grid
        setting = setting_of.get(str(run_dir)) or known.get(re.sub(r"-seed\d+$", "", run_dir.name), run_dir.name)
        ident = {"setting": setting, "run": run_dir.name, "seed": cfg.seed, "regulariser": describe(cfg),
                 "epoch": int(opened.state["epoch"]), "checkpoint": opened.checkpoint.name}
        if include_initial and i == 0:
            w0 = init_weights(cfg.architecture, np.random.default_rng(cfg.seed), recurrent=cfg.recurrent)
            stats += [{"setting": "initial", "run": run_dir.name, "seed": cfg.seed, "regulariser": "initial U(-1, 1)",
                       "epoch": 0, "checkpoint": "none", **r} for r in weight_rows(w0, band)]
        rows = [ident | r for r in weight_rows(weights, band, reg_ratio(weights, opt, cfg))]
        stats += rows
        metrics = opened.rundir.read_metrics()
        acc = float(metrics["test_accuracy"].iloc[-1]) if len(metrics) else np.nan
        ff1 = next(r for r in rows if r["array"] == "ff1" and r["group"] == "all")
        rare_row = next(r for r in rows if r["array"] == "ff1" and r["group"] == "rare")
        per_run.append(ident | {"test_accuracy": acc, "ff1_median_abs": ff1["q0.5"], "ff1_mean_abs": ff1["mean_abs"],
                                "ff1_share_in_range": ff1["share_in_range"], "rare_pixels": rare_row["n_pixels"],
                                "rare_median_abs": rare_row["q0.5"], "rare_share_below": rare_row["share_below"],
                                "rare_share_in_range": rare_row["share_in_range"],
                                "rare_share_above": rare_row["share_above"],
                                "rare_reg_to_adam_rms": rare_row["reg_to_adam_rms_median"]})
    return pd.DataFrame(stats), pd.concat(activity_rows, ignore_index=True), pd.DataFrame(per_run)


def write_analysis(res: Results, run_dirs, setting_of=None, checkpoint=None, rare=RARE) -> pd.DataFrame:
    stats, activity, per_run = analyse(run_dirs, setting_of, checkpoint, rare)
    res.csv("weight_stats", stats)
    res.csv("pixel_activity", activity)
    res.csv("settings", per_run)
    res.csv("authors_log", pd.DataFrame({"quantity": list(AUTHORS), "value": list(AUTHORS.values())}))
    cols = ["setting", "seed", "test_accuracy", "ff1_median_abs", "rare_pixels", "rare_median_abs",
            "rare_share_below", "rare_share_in_range", "rare_share_above", "rare_reg_to_adam_rms"]
    print(per_run[cols].round(3).to_string(index=False))
    return per_run


# -- command line ---------------------------------------------------------------------------------
def main(argv=None):
    ap = parser(__doc__, "results/regulariser", SEEDS)
    ap.add_argument("--analyse", nargs="+", type=Path, metavar="RUN_DIR",
                    help="analyse these run directories' checkpoints only (no training)")
    ap.add_argument("--checkpoint", help="with --analyse: a checkpoint file name or path (default latest.npz)")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS), metavar="SETTING",
                    help="train only these settings (default: all 7)")
    ap.add_argument("--train-limit", type=int, default=TRAIN_LIMIT, help="training images (default %(default)s)")
    ap.add_argument("--test-limit", type=int, default=TEST_LIMIT, help="test images (default %(default)s)")
    ap.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per run (default %(default)s)")
    ap.add_argument("--data-dir", help="data root (default $RSNN_BRIAN_DATA)")
    args = ap.parse_args(argv)
    for name in ("train_limit", "test_limit", "epochs"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    rare = QUICK_RARE if args.quick else RARE
    if args.analyse:
        params = {"mode": "analyse", "runs": [str(p) for p in args.analyse], "checkpoint": args.checkpoint,
                  "rare_activity": list(rare), "size_range": list(SIZE)}
        res = Results(args.out, "regulariser", params, args.seeds, args.quick, args.overwrite)
        write_analysis(res, args.analyse, checkpoint=args.checkpoint, rare=rare)
        return res.finish()
    conds = conditions(args)
    if args.quick:
        conds = {k: quick_config(c) for k, c in conds.items()}
        args.seeds = args.seeds[:1]
    params = {"mode": "train", "preset": PRESET, "conditions": list(conds), "rare_activity": list(rare),
              "size_range": list(SIZE), "quick_data": str(QUICK_DATA) if args.quick else "none"}
    for k, c in conds.items():
        params.update({f"{k}.{f}": v for f, v in c.to_dict().items() if v is not None})
    res = Results(args.out, "regulariser", params, args.seeds, args.quick, args.overwrite)
    metrics = train_conditions(res, conds, args.seeds)
    summary = summarise(metrics)
    res.csv("summary", summary)
    setting_of = {str(res.path / "runs" / f"{slug(n)}-seed{s}"): n for n in conds for s in args.seeds}
    write_analysis(res, list(setting_of), setting_of, rare=rare)
    return res.finish()


if __name__ == "__main__":
    main()
