"""The explorer's page: Panel controls, the Bokeh figures of :mod:`.plots`, the data of :mod:`.model`/:mod:`.run`.

:func:`app` returns the page as a Panel layout; ``rsnn-brian explore`` serves it (one
:class:`Explorer` per browser tab), a notebook shows it after ``pn.extension()``. A change of
any control recomputes every view; settings that cannot be simulated (threshold 0, tau_s >=
tau_m, a negative rate, a folder that is not a run) put a message at the top of the page and
leave the last good plots as they were.
"""

from __future__ import annotations

import io
import time

import panel as pn

from . import model
from .params import ExploreInputError, ExploreParams, from_preset, preset_choices
from .plots import Figures
from .run import RunError, SampleSimulator, learning_curves, open_run, receptive_fields, weight_histograms

__all__ = ["app", "Explorer", "VIEWS"]

#: The views recomputed at every change: name -> function of ExploreParams.
#: what a change recomputes; the neuron's traces and its rate curve come from one Brian2 run
VIEWS = {"neuron and rate": model.neuron_and_rate, "psp": model.psp_kernel,
         "network": model.network_activity, "effect": model.effect_ratio_curves}

# name: (label, start, end, step, integer)
_SLIDERS = {
    "tau_m_ms": ("tau_m (ms)", 2.0, 256.0, 1.0, False), "tau_s_ms": ("tau_s (ms)", 0.5, 64.0, 0.5, False),
    "v_th": ("threshold v_th", 1.0, 60.0, 0.5, False), "refractory_ms": ("refractory period (ms)", 0, 20, 1, True),
    "rate_hz": ("input rate per input (Hz)", 0.0, 200.0, 1.0, False), "n_inputs": ("number of inputs", 1, 500, 1, True),
    "weight": ("weight scale", 0.0, 3.0, 0.05, False), "n_recurrent": ("recurrent layer size", 10, 400, 10, True),
    "density": ("connection density", 0.0, 1.0, 0.01, False),
    "inhibitory": ("inhibitory fraction", 0.0, 1.0, 0.05, False), "n_steps": ("T (steps of 1 ms)", 50, 1000, 10, True),
}
_GROUPS = (("Neuron", ("tau_m_ms", "tau_s_ms", "v_th", "refractory_ms")),
           ("Input", ("rate_hz", "n_inputs", "weight")),
           ("Network", ("n_recurrent", "density", "inhibitory", "n_steps")))


def _md(text: str = "", cls: str = "", **kw) -> pn.pane.Markdown:
    return pn.pane.Markdown(text, css_classes=[cls] if cls else [], margin=(2, 10), **kw)


class Explorer:
    """One page: its controls, figures and the last good settings (``self.params``)."""

    def __init__(self, run_dir=None):
        self.figs = Figures()
        self.params: ExploreParams | None = None
        self.timings: dict[str, float] = {}
        self.sim: SampleSimulator | None = None
        self._holding = False
        defaults = ExploreParams()
        self.preset = pn.widgets.Select(label="Preset (the paper's settings)", options=preset_choices(),
                                        value=defaults.preset, width=300)
        self.controls = {}
        for name, (label, lo, hi, step, integer) in _SLIDERS.items():
            cls = pn.widgets.EditableIntSlider if integer else pn.widgets.EditableFloatSlider
            val = getattr(defaults, name)
            kw = {} if integer else {"format": "0[.][000]"}        # 39.5, not 39.49999999999999
            self.controls[name] = cls(label=label, start=lo, end=hi, step=step, value=int(val) if integer else val,
                                      width=300, css_classes=[f"explore-{name}"], **kw)
        self.controls["seed"] = pn.widgets.IntInput(label="seed", value=defaults.seed, start=0, width=300,
                                                    css_classes=["explore-seed"])
        for name, w in self.controls.items():
            w.param.watch(self._changed, "value" if name == "seed" else "value_throttled")
        self.preset.param.watch(self._preset_changed, "value")
        self.message = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["explore-message"],
                                     sizing_mode="stretch_width")
        self.neuron_stats = _md(cls="explore-neuron-stats")
        self.network_stats = _md(cls="explore-network-stats")
        self.psp_stats = _md(cls="explore-psp-stats")
        self.timing_text = _md(cls="explore-timings", styles={"color": "#666"})
        self.equations = _md(cls="explore-equations")
        self.toml = _md(cls="explore-toml")
        self.download = pn.widgets.FileDownload(callback=self._toml_file, filename="explore.toml",
                                                label="Download explore.toml", color="primary", width=250)
        # a run directory
        self.run_path = pn.widgets.TextInput(label="Run directory", placeholder="runs/demo", width=420,
                                             css_classes=["explore-run-path"])
        self.load_button = pn.widgets.Button(label="Load run", color="primary", width=120,
                                             css_classes=["explore-load"], align="end")
        self.load_button.on_click(lambda _event: self.load_run())
        self.sample_index = pn.widgets.IntInput(label="Test sample", value=0, start=0, width=150,
                                                css_classes=["explore-sample-index"])
        self.sample_index.param.watch(lambda e: self.show_sample(e.new), "value")
        self.run_status = _md("No run loaded. Give the folder of a run (`rsnn-brian train --out DIR`).",
                              cls="explore-run-status")
        self.sample_stats = _md(cls="explore-sample-stats")
        self.layout = self._layout()
        self.refresh()
        if run_dir is not None:
            self.run_path.value = str(run_dir)
            self.load_run()

    # -- layout ---------------------------------------------------------------------
    def _layout(self):
        f = self.figs
        side = [pn.pane.Markdown("## Controls", margin=(0, 10)), self.preset]
        for title, names in _GROUPS:
            side.append(pn.pane.Markdown(f"**{title}**", margin=(8, 10, 0, 10)))
            side.extend(self.controls[n] for n in names)
        side.append(self.controls["seed"])
        stats = pn.Row(self.neuron_stats, self.network_stats, self.psp_stats)
        views = pn.GridBox(pn.Column(pn.pane.Bokeh(f.v), pn.pane.Bokeh(f.i)),
                           pn.Column(pn.pane.Bokeh(f.rate), pn.pane.Bokeh(f.psp)),
                           pn.pane.Bokeh(f.raster), pn.pane.Bokeh(f.identity), pn.pane.Bokeh(f.effect), ncols=2)
        model_tab = pn.Column(_md("### The model, as Brian2 builds every layer"), self.equations,
                              _md("### As a config for `rsnn-brian train --config explore.toml`"), self.toml,
                              self.download)
        run_tab = pn.Column(pn.Row(self.run_path, self.load_button), self.run_status,
                            pn.Row(pn.pane.Bokeh(f.curve), pn.pane.Bokeh(f.whist)),
                            pn.Row(pn.pane.Bokeh(f.rf), pn.Column(self.sample_index, self.sample_stats)),
                            pn.Row(pn.pane.Bokeh(f.sample_in), pn.pane.Bokeh(f.sample_raster),
                                   pn.pane.Bokeh(f.sample_out)))
        self.tabs = pn.Tabs(("Neuron & network", pn.Column(stats, views)), ("Model & config", model_tab),
                            ("Run", run_tab))
        head = pn.pane.Markdown("# rsnn_brian explorer\nThe trainer's Brian2 model and ST-RSBP engine, "
                                "recomputed at every change.", margin=(0, 10))
        return pn.Row(pn.Column(*side, width=330), pn.Column(head, self.message, self.timing_text, self.tabs))

    # -- messages -------------------------------------------------------------------
    def fail(self, text: str) -> None:
        """Show ``text`` at the top of the page; the plots keep their last good data."""
        self.message.object = text
        self.message.visible = True

    def clear(self) -> None:
        self.message.object = ""
        self.message.visible = False

    # -- the neuron and network views ------------------------------------------------
    def current(self) -> ExploreParams:
        """The settings the controls show now (unchecked)."""
        vals = {n: round(w.value, 9) if isinstance(w.value, float) else w.value for n, w in self.controls.items()}
        return ExploreParams(**vals, preset=self.preset.value)

    def _changed(self, *_events) -> None:
        if not self._holding:
            self.refresh()

    def _preset_changed(self, event) -> None:
        p = from_preset(event.new, self.params or self.current())
        self._holding = True
        try:
            for name, w in self.controls.items():
                w.value = getattr(p, name)
        finally:
            self._holding = False
        self.refresh()

    def refresh(self) -> bool:
        """Recompute every view from the controls; False (a message shown, plots kept) if impossible."""
        try:
            p = self.current().check()
        except (ExploreInputError, TypeError) as exc:
            self.fail(f"Not simulated: {exc}. The plots show the last good settings.")
            return False
        results, times = {}, {}
        try:
            for name, fn in VIEWS.items():
                t0 = time.perf_counter()
                results[name] = fn(p)
                times[name] = time.perf_counter() - t0
            equations, toml = p.equations(), p.toml()
        except Exception as exc:          # Brian2's and the engine's own errors: say so, keep the plots
            self.fail(f"Could not simulate these settings: {type(exc).__name__}: {exc}")
            return False
        t0 = time.perf_counter()
        self._show(p, results, equations, toml)
        times["page"] = time.perf_counter() - t0
        self.params, self.timings = p, times
        self.timing_text.object = "updated in " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items())
        self.clear()
        return True

    def _show(self, p: ExploreParams, r: dict, equations: str, toml: str) -> None:
        f = self.figs
        (tr, rate), act = r["neuron and rate"], r["network"]
        f.update_neuron(tr, p.v_th)
        f.update_rate(rate)
        f.update_psp(r["psp"])
        f.update_network(act, model.identity_line(act.identity))
        f.update_effect(r["effect"])
        self.neuron_stats.object = (f"**Neuron:** {tr.n_spikes} spikes in {tr.duration_ms:g} ms "
                                    f"({tr.rate_hz:.1f} Hz) from {tr.n_input_spikes} input spikes")
        rec = f"R{p.n_recurrent}"
        self.network_stats.object = (f"**Network:** {rec} {act.counts[rec]} spikes ({act.rates_hz[rec]:.1f} Hz), "
                                     f"output {act.counts['output']}; density {act.density:.3f}, "
                                     f"{act.n_inhibitory} inhibitory; identity error {act.identity_error:.1e}")
        k = r["psp"]
        peak = k.loc[k["v"].idxmax()]
        self.psp_stats.object = (f"**PSP peak:** {peak['v']:.3f} at {peak['t_ms']:g} ms "
                                 f"(continuous {model.psp_peak_ms(p.tau_m_ms, p.tau_s_ms):.1f} ms)")
        self.equations.object = f"```python\n{equations}\n```"
        self.toml.object = f"```toml\n{toml}```"

    def _toml_file(self):
        return io.StringIO((self.params or ExploreParams()).toml())

    # -- a run directory --------------------------------------------------------------
    def load_run(self, path=None) -> bool:
        """Open a run directory (the text box's if ``path`` is None) and show it; False and a message if not."""
        if path is None:          # what is typed, also before the box sends its value (on Enter or leaving it)
            path = self.run_path.value_input or self.run_path.value
        try:
            run = open_run(path)
            curves = learning_curves(run)
            hist = weight_histograms(run.weights)
            rf = receptive_fields(run.weights)
        except RunError as exc:
            self.fail(f"Not loaded: {exc}. The plots show the last run loaded.")
            return False
        self.figs.update_run(curves, hist, rf)
        mine = curves[curves["source"] == "this run"]
        rows = "\n".join(f"| {int(e)} | {g.loc[g['split'] == 'train', 'accuracy'].iloc[0]:.2f} | "
                         f"{g.loc[g['split'] == 'test', 'accuracy'].iloc[0]:.2f} |" for e, g in mine.groupby("epoch"))
        table = f"\n\n| epoch | train accuracy (%) | test accuracy (%) |\n|---|---|---|\n{rows}" if rows else ""
        cfg = run.cfg
        self.run_status.object = (f"**{run.path}**: {cfg.architecture} on {cfg.dataset}, {run.epochs_done} epoch(s) "
                                  f"done, checkpoint `{run.checkpoint.name}`" + table)
        if self.sim is not None:
            self.sim.close()
        self.sim = SampleSimulator(run)
        self.clear()
        self.tabs.active = 2
        self.show_sample(self.sample_index.value)
        return True

    def show_sample(self, index) -> bool:
        """Simulate test sample ``index`` of the loaded run; False and a message if impossible."""
        if self.sim is None:
            return False
        try:
            t0 = time.perf_counter()
            act = self.sim.simulate(index)
            seconds = time.perf_counter() - t0
        except RunError as exc:
            self.fail(f"Sample not shown: {exc}")
            return False
        self.figs.update_sample(act)
        verdict = "correct" if act.prediction == act.label else "wrong"
        self.sample_stats.object = (f"**Sample {act.index}:** label {act.label_name}, predicted "
                                    f"{act.prediction_name} ({verdict}); output counts "
                                    f"{', '.join(str(int(c)) for c in act.output['count'])} "
                                    f"(Brian2 runtime, {seconds:.2f} s)")
        self.clear()
        return True

    def close(self) -> None:
        if self.sim is not None:
            self.sim.close()
            self.sim = None


def app(run_dir=None):
    """The explorer page as a Panel layout; see :class:`Explorer`."""
    ex = Explorer(run_dir)
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        doc.on_session_destroyed(lambda _ctx: ex.close())
    ex.layout.explorer = ex           # reachable from the layout (notebooks, tests)
    return ex.layout
