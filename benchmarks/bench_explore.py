"""How long does each view of ``rsnn-brian explore`` take to update?

Question: at the explorer's default sizes (one neuron with 100 Poisson inputs at 20 Hz, a
100-R100-10 network, T = 400 steps of 1 ms), what is the median time from a changed setting
to new data in each view's figure (the computation of :mod:`rsnn_brian.explore.model` plus
replacing the Bokeh sources of :mod:`rsnn_brian.explore.plots`)? Target: under 1 s each on a
2-core machine. The threshold changes between repeats, so every Brian2 view simulates anew;
the effect-ratio table depends only on tau_m, tau_s, the refractory period and T, so it is
timed twice: from the in-memory cache (what a threshold change costs) and made anew (a tau
change). With Panel installed, the whole page's update (``Explorer.refresh``, every view
and the text) is timed too; with ``--run RUN_DIR``, a run's views and one test sample.

    python benchmarks/bench_explore.py               # 7 repeats
    python benchmarks/bench_explore.py --repeats 3 --run runs/demo

The first call of each view (Brian2's imports, code generation, loading Cython modules) is a
warm-up and not counted; it is printed apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# ---- parameter block ---------------------------------------------------------
REPEATS = 7
THRESHOLDS = (20.0, 22.0, 18.0, 24.0, 16.0)     # cycled: a new simulation each repeat
# ------------------------------------------------------------------------------


def _neuron_and_rate(figs, p) -> None:
    from rsnn_brian.explore import model
    trace, curve = model.neuron_and_rate(p)
    figs.update_neuron(trace, p.v_th)
    figs.update_rate(curve)


def _time(fn, n: int) -> tuple[float, list[float]]:
    """(seconds of the first call, seconds of the next n calls); fn gets the repeat index."""
    t0 = time.perf_counter()
    fn(0)
    first = time.perf_counter() - t0
    out = []
    for k in range(1, n + 1):
        t0 = time.perf_counter()
        fn(k)
        out.append(time.perf_counter() - t0)
    return first, out


def view_updates(repeats: int) -> dict:
    """{view: (first call s, [s per repeat])} for compute + figure update at the default sizes."""
    from rsnn_brian.explore import model
    from rsnn_brian.explore.params import ExploreParams
    from rsnn_brian.explore.plots import Figures
    figs, base = Figures(), ExploreParams()

    def p(k):
        return base.replace(v_th=THRESHOLDS[k % len(THRESHOLDS)])

    def effect_new(k):
        model._table.cache_clear()
        figs.update_effect(model.effect_ratio_curves(p(k)))

    def network(k):
        act = model.network_activity(p(k))
        figs.update_network(act, model.identity_line(act.identity))

    views = {
        "neuron (Brian2 numpy target)": lambda k: figs.update_neuron(model.neuron_trace(p(k)), p(k).v_th),
        "rate in / rate out (Brian2)": lambda k: figs.update_rate(model.rate_curve(p(k))),
        "neuron and rate, one run (the page's)": lambda k: _neuron_and_rate(figs, p(k)),
        "PSP kernel (engine)": lambda k: figs.update_psp(model.psp_kernel(p(k))),
        "network raster + identity (Runner)": network,
        "effect ratios, cached table": lambda k: figs.update_effect(model.effect_ratio_curves(p(k))),
        "effect ratios, new table": effect_new,
    }
    return {name: _time(fn, repeats) for name, fn in views.items()}


def page_updates(repeats: int, run_dir=None) -> dict:
    """The whole page (Panel): a threshold change; with ``run_dir`` loading it and a test sample."""
    try:
        import panel  # noqa: F401
    except ImportError:
        return {}
    from rsnn_brian.explore.layout import Explorer
    ex = Explorer()
    out = {}

    def refresh(k):
        ex._holding = True                # set the slider without its own refresh: one refresh timed
        try:
            ex.controls["v_th"].value = THRESHOLDS[k % len(THRESHOLDS)]
        finally:
            ex._holding = False
        must(ex.refresh())

    def must(ok):
        if not ok:
            raise RuntimeError(ex.message.object)


    out["whole page (Explorer.refresh)"] = _time(refresh, repeats)
    if run_dir is not None:
        out["run: load (curves, weights, sample 0)"] = _time(lambda k: must(ex.load_run(run_dir)), 1)
        out["run: another test sample (Brian2 runtime)"] = _time(lambda k: must(ex.show_sample(k)), repeats)
    ex.close()
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=REPEATS, help="timed updates per view (after a warm-up)")
    ap.add_argument("--run", default=None, help="a run directory to time its views too")
    args = ap.parse_args(argv)
    print(f"rsnn-brian explore, default sizes, {args.repeats} timed updates per view (median; first call apart)")
    res = view_updates(args.repeats)
    res.update(page_updates(args.repeats, args.run))
    width = max(len(k) for k in res)
    for name, (first, times) in res.items():
        print(f"  {name:<{width}}  median {statistics.median(times):7.3f} s   max {max(times):7.3f} s   "
              f"first {first:7.3f} s")
    return {name: statistics.median(times) for name, (_, times) in res.items()}


if __name__ == "__main__":
    main()
