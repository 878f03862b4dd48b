"""The explorer's Bokeh figures: made once, their data replaced in place at every change.

Each figure draws from named ``ColumnDataSource`` objects (:data:`SOURCE_NAMES`), so that a
browser (or a test, through ``Bokeh.documents[0].get_model_by_name(name)``) can read what is
plotted. ``update_*`` take the tidy results of :mod:`.model` and :mod:`.run`.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, LinearColorMapper, Span
from bokeh.palettes import Category10_10, Greys256, RdBu11
from bokeh.plotting import figure

__all__ = ["Figures", "SOURCE_NAMES"]

SOURCE_NAMES = ("neuron_trace", "neuron_spikes", "rate_curve", "rate_chosen", "psp_kernel", "psp_peak",
                "identity_points", "identity_line", "network_raster", "effect_ratio", "effect_q",
                "curve_run_train", "curve_run_test", "curve_authors_train", "curve_authors_test", "weight_hist",
                "receptive_fields", "sample_input", "sample_raster", "sample_output")
_COLUMNS = {"neuron_trace": ("t_ms", "v", "I"), "neuron_spikes": ("t_ms", "y"),
            "rate_curve": ("input_rate_hz", "output_rate_hz"), "rate_chosen": ("input_rate_hz", "output_rate_hz"),
            "psp_kernel": ("t_ms", "v", "I"), "psp_peak": ("t_ms", "v"),
            "identity_points": ("x", "y", "layer", "color"), "identity_line": ("x", "y"),
            "network_raster": ("t_ms", "row", "layer", "color"), "effect_ratio": ("xs", "ys", "label", "color"),
            "effect_q": ("xs", "ys", "label", "color"), "curve_run_train": ("epoch", "accuracy"),
            "curve_run_test": ("epoch", "accuracy"), "curve_authors_train": ("epoch", "accuracy"),
            "curve_authors_test": ("epoch", "accuracy"), "weight_hist": ("xs", "ys", "array", "color"),
            "receptive_fields": ("image", "dw", "dh"), "sample_input": ("image", "dw", "dh"),
            "sample_raster": ("t_ms", "row", "layer", "color"), "sample_output": ("name", "count", "color")}
_W, _H = 470, 250
_LABEL, _TRUE, _OTHER = "#d62728", "#2ca02c", "#aaaaaa"   # red: spikes, a wrong prediction; green: label


def _fig(title: str, x: str, y: str, **kw):
    f = figure(title=title, width=kw.pop("width", _W), height=kw.pop("height", _H), x_axis_label=x,
               y_axis_label=y, tools="pan,box_zoom,wheel_zoom,reset,save", toolbar_location="right", **kw)
    f.title.text_font_size = "11pt"
    return f


def _legend(f, location: str = "top_right") -> None:
    f.legend.location = location
    f.legend.background_fill_alpha = 0.6
    f.legend.label_text_font_size = "8pt"
    f.legend.spacing = 0
    f.legend.padding = 4


def _colors(labels, order) -> list[str]:
    """A colour per layer name, by the layer's place in ``order`` (the same whoever fired)."""
    index = {name: k for k, name in enumerate(order)}
    return [Category10_10[index[x] % 10] for x in labels]


class Figures:
    """Every figure of the page and the sources it draws from (``self.sources[name]``)."""

    def __init__(self):
        self.sources = {name: ColumnDataSource({c: [] for c in _COLUMNS[name]}, name=name) for name in SOURCE_NAMES}
        s = self.sources
        # -- one neuron
        self.v = _fig("Membrane potential v (one neuron, Brian2)", "t (ms)", "v", height=200)
        self.v.line("t_ms", "v", source=s["neuron_trace"], color="#1f77b4")
        self.v.scatter("t_ms", "y", source=s["neuron_spikes"], marker="triangle", size=8, color=_LABEL,
                       legend_label="spike")
        self.threshold = Span(location=20, dimension="width", line_dash="dashed", line_color=_LABEL)
        self.v.add_layout(self.threshold)
        _legend(self.v, "bottom_right")
        self.i = _fig("Synaptic current I", "t (ms)", "I", height=170, x_range=self.v.x_range)
        self.i.line("t_ms", "I", source=s["neuron_trace"], color="#2ca02c")
        # -- rate in, rate out
        self.rate = _fig("Rate in, rate out", "input rate per input (Hz)", "output rate (Hz)")
        self.rate.line("input_rate_hz", "output_rate_hz", source=s["rate_curve"])
        self.rate.scatter("input_rate_hz", "output_rate_hz", source=s["rate_curve"], size=5)
        self.rate.scatter("input_rate_hz", "output_rate_hz", source=s["rate_chosen"], size=11, color=_LABEL,
                          legend_label="chosen rate")
        _legend(self.rate, "top_left")
        # -- PSP kernel
        self.psp = _fig("PSP kernel: one input spike of weight 1 (engine)", "t after the spike (ms)", "v, I")
        self.psp.line("t_ms", "v", source=s["psp_kernel"], legend_label="v (PSP)", color="#1f77b4", line_width=2)
        self.psp.line("t_ms", "I", source=s["psp_kernel"], legend_label="I", color="#2ca02c", line_dash="dashed")
        self.psp.scatter("t_ms", "v", source=s["psp_peak"], size=9, color=_LABEL, legend_label="peak")
        _legend(self.psp)
        # -- counts against total PSP
        self.identity = _fig("Spike count against total PSP / threshold", "a_i / v_th (engine S-PSPs)",
                             "spike count o_i (Brian2)")
        self.identity.line("x", "y", source=s["identity_line"], color="black", line_dash="dashed",
                           legend_label="identity")
        self.identity.scatter("x", "y", source=s["identity_points"], color="color", legend_field="layer", size=6,
                              alpha=0.7)
        _legend(self.identity, "top_left")
        # -- network raster
        self.raster = _fig("Raster: recurrent network (Runner, runtime)", "t (ms)", "neuron (input, R, output)")
        self.raster.scatter("t_ms", "row", source=s["network_raster"], color="color", marker="square", size=2,
                            line_color=None, legend_field="layer")
        _legend(self.raster)
        # -- effect ratios
        self.effect = _fig("Effect ratios (engine table)", "post spikes n_post", "R = E/n_pre (solid), Q (dashed)")
        self.effect.multi_line("xs", "ys", source=s["effect_ratio"], color="color", legend_field="label",
                               line_width=2)
        self.effect.multi_line("xs", "ys", source=s["effect_q"], color="color", line_dash="dashed")
        _legend(self.effect, "center_right")
        # -- a run: learning curves, weights, receptive fields
        self.curve = _fig("Learning curves", "epochs trained", "accuracy (%)")
        for src, split, color, dash in (("run", "train", "#1f77b4", "solid"), ("run", "test", "#d62728", "solid"),
                                        ("authors", "train", "#1f77b4", "dashed"),
                                        ("authors", "test", "#d62728", "dashed")):
            name = f"curve_{src}_{split}"
            label = f"{'this run' if src == 'run' else 'authors'}, {split}"
            self.curve.line("epoch", "accuracy", source=s[name], color=color, line_dash=dash, legend_label=label)
            self.curve.scatter("epoch", "accuracy", source=s[name], color=color, size=6)
        _legend(self.curve, "bottom_right")
        self.whist = _fig("Weights per array (density)", "weight", "density")
        self.whist.multi_line("xs", "ys", source=s["weight_hist"], color="color", legend_field="array", line_width=2)
        _legend(self.whist)
        self.rf_mapper = LinearColorMapper(palette=list(reversed(RdBu11)), low=-1, high=1, nan_color="white")
        self.rf = _fig("First-layer receptive fields (weights)", "", "", width=360, height=360,
                       match_aspect=True)
        self.rf.image(image="image", x=0, y=0, dw="dw", dh="dh", source=s["receptive_fields"],
                      color_mapper=self.rf_mapper)
        self.rf.axis.visible = False
        # -- a run: one test sample
        self.sample_mapper = LinearColorMapper(palette=list(reversed(Greys256)), low=0, high=1)
        self.sample_in = _fig("Input: spikes per channel", "", "", width=300, height=300, match_aspect=True)
        self.sample_in.image(image="image", x=0, y=0, dw="dw", dh="dh", source=s["sample_input"],
                             color_mapper=self.sample_mapper)
        self.sample_in.axis.visible = False
        self.sample_raster = _fig("Raster of every layer (run's weights, Brian2)", "t (ms)", "neuron", width=520,
                                  height=300)
        self.sample_raster.scatter("t_ms", "row", source=s["sample_raster"], color="color", marker="square", size=2,
                                   line_color=None, legend_field="layer")
        _legend(self.sample_raster)
        self.sample_out = _fig("Output spike counts", "", "spikes", width=420, height=300,
                               x_range=FactorRange(factors=[]))
        self.sample_out.vbar(x="name", top="count", width=0.8, source=s["sample_output"], color="color")
        self.sample_out.xaxis.major_label_orientation = 0.8
        self.sample_out.add_tools(HoverTool(tooltips=[("class", "@name"), ("spikes", "@count")]))

    # -- the neuron and network views -------------------------------------------
    def update_neuron(self, tr, v_th: float) -> None:
        self.sources["neuron_trace"].data = {c: tr.trace[c].to_numpy() for c in ("t_ms", "v", "I")}
        self.sources["neuron_spikes"].data = {"t_ms": tr.spikes_ms, "y": np.full(tr.spikes_ms.size, v_th)}
        self.threshold.location = v_th

    def update_rate(self, curve) -> None:
        cols = ("input_rate_hz", "output_rate_hz")
        self.sources["rate_curve"].data = {c: curve[c].to_numpy() for c in cols}
        chosen = curve[curve["chosen"]]
        self.sources["rate_chosen"].data = {c: chosen[c].to_numpy() for c in cols}

    def update_psp(self, kernel) -> None:
        self.sources["psp_kernel"].data = {c: kernel[c].to_numpy() for c in ("t_ms", "v", "I")}
        k = int(kernel["v"].to_numpy().argmax())
        self.sources["psp_peak"].data = {"t_ms": [float(kernel["t_ms"].iloc[k])], "v": [float(kernel["v"].iloc[k])]}

    def update_network(self, act, line) -> None:
        r, ident = act.raster, act.identity
        order = list(act.layer_sizes)
        self.sources["network_raster"].data = {"t_ms": r["t_ms"].to_numpy(), "row": r["row"].to_numpy(),
                                               "layer": r["layer"].to_numpy(), "color": _colors(r["layer"], order)}
        colors = _colors(ident["layer"], order)          # as in the raster
        self.sources["identity_points"].data = {"x": ident["psp_per_threshold"].to_numpy(),
                                                "y": ident["count"].to_numpy(), "layer": ident["layer"].to_numpy(),
                                                "color": colors}
        self.sources["identity_line"].data = {"x": line["x"].to_numpy(), "y": line["y"].to_numpy()}

    def update_effect(self, curves) -> None:
        groups = list(curves.groupby("n_pre"))
        colors = [Category10_10[k % 10] for k in range(len(groups))]
        for name, col in (("effect_ratio", "ratio"), ("effect_q", "q")):
            self.sources[name].data = {"xs": [g["n_post"].to_numpy() for _, g in groups],
                                       "ys": [g[col].to_numpy() for _, g in groups],
                                       "label": [f"n_pre = {m}" for m, _ in groups], "color": colors}

    # -- a run ------------------------------------------------------------------------
    def update_run(self, curves, hist, rf) -> None:
        for src in ("run", "authors"):
            for split in ("train", "test"):
                sel = curves[(curves["split"] == split) & ((curves["source"] == "this run") == (src == "run"))]
                self.sources[f"curve_{src}_{split}"].data = {"epoch": sel["epoch"].to_numpy(),
                                                             "accuracy": sel["accuracy"].to_numpy()}
        groups = list(hist.groupby("array", sort=False))
        self.sources["weight_hist"].data = {"xs": [g["center"].to_numpy() for _, g in groups],
                                            "ys": [g["density"].to_numpy() for _, g in groups],
                                            "array": [name for name, _ in groups],
                                            "color": [Category10_10[k % 10] for k in range(len(groups))]}
        img, _ = rf
        lim = float(np.nanmax(np.abs(img))) if np.isfinite(img).any() else 1.0
        self.rf_mapper.update(low=-lim, high=lim)
        self.sources["receptive_fields"].data = {"image": [img], "dw": [img.shape[1]], "dh": [img.shape[0]]}

    def update_sample(self, act) -> None:
        img = act.input_image
        self.sample_mapper.update(low=0, high=max(float(img.max()), 1.0))
        self.sources["sample_input"].data = {"image": [img], "dw": [img.shape[1]], "dh": [img.shape[0]]}
        r = act.raster
        self.sources["sample_raster"].data = {"t_ms": r["t_ms"].to_numpy(), "row": r["row"].to_numpy(),
                                              "layer": r["layer"].to_numpy(),
                                              "color": _colors(r["layer"], list(act.layer_sizes))}
        out = act.output
        names = [f"{k}: {n}" for k, n in zip(out["neuron"], out["name"])]
        self.sample_out.x_range.factors = names
        colors = [_TRUE if lab else (_LABEL if p else _OTHER) for p, lab in zip(out["is_prediction"], out["is_label"])]
        self.sources["sample_output"].data = {"name": names, "count": out["count"].to_numpy(), "color": colors}
