"""Gradients: 'exact' against finite differences of the linearised model (spec 4.1),
'reference' against a literal loop implementation of its own formulas, bad inputs."""


import numpy as np
import pytest
from test_engine_helpers import literal_spsp, small_network
from tolerances import FD_ELEM_RTOL, FD_NOISE, FD_RTOL, FD_STEP, FLOAT32_RTOL, REFERENCE_LOOP_RTOL, SOLVER_RTOL

from rsnn_brian.connectivity import init_weights
from rsnn_brian.engine.effect_ratio import effect_ratio_table
from rsnn_brian.engine.gradients import EngineSettings, SilentLayerWarning, backward
from rsnn_brian.engine.linearised import LinearisedModel
from rsnn_brian.engine.loss import augment_label
from rsnn_brian.network import LayerParams
from rsnn_brian.reference.gradcheck import (
    elementwise_excess,
    fd_noise_floor,
    finite_difference_errors,
    main_gradcheck,
    reference_checkable,
    run_gradcheck,
)
from rsnn_brian.reference.simulate import simulate
from rsnn_brian.spikes import Recording, SpikeTrains


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return effect_ratio_table(LayerParams(), 100, cache_dir=tmp_path_factory.mktemp("tables"))


def _fd(case, table, settings=EngineSettings(), sample_weight=None):
    rec, w, p, labels = case
    res = backward(rec, w, p, labels, settings, sample_weight=sample_weight, tables=table)
    model = LinearisedModel(rec, w, p, labels, settings, sample_weight=sample_weight, tables=table)
    assert model.loss(w) == pytest.approx(res.loss.mean())
    return res, finite_difference_errors(model, w, res.grads, FD_STEP)


def _fd_atol(res):
    """Rounding floor of the central differences of the batch loss, times FD_NOISE."""
    return FD_NOISE * fd_noise_floor(float(res.loss.mean()), FD_STEP)


def _assert_fd_agree(res, errs, what=""):
    """Every array: worst error beside its largest entry, and every entry on its own."""
    atol = _fd_atol(res)
    for name, (err, fd) in errs.items():
        assert err < FD_RTOL, f"{what}: {name} rel. error {err:.2e}"
        excess = elementwise_excess(fd, res.grads[name], atol, FD_ELEM_RTOL)
        assert excess <= 1.0, f"{what}: {name} |fd - g| is {excess:.3g} x (atol {atol:.2g} + rtol |g|)"


# -- exact option against finite differences ------------------------------------------

@pytest.mark.parametrize("arch,recurrent,what", [
    ("12-10-4", "all", "feed-forward hidden layer and output layer with lateral inhibition"),
    ("12-R10-4", "all", "recurrent layer, all-to-all"),
    ("16-R14-4", "reservoir", "recurrent layer, sparse reservoir"),
    ("20-15-R12-5", "all", "whole deep network"),
])
def test_exact_matches_finite_differences(arch, recurrent, what, table):
    case = small_network(arch, recurrent=recurrent)
    res, errs = _fd(case, table)
    assert set(errs) == set(case[1].trainable())
    for name, (err, _) in errs.items():
        assert err < FD_RTOL, f"{what}: {name} rel. error {err:.2e}"
    _assert_fd_agree(res, errs, what)


def test_exact_matches_fd_with_sample_weights_and_zero_q_option(table):
    case = small_network("20-15-R12-5", seed=1)
    settings = EngineSettings(q_silent_pre="zero")
    res, errs = _fd(case, table, settings, sample_weight=np.array([0.5, 2.0, 1.3]))
    assert max(e for e, _ in errs.values()) < FD_RTOL
    _assert_fd_agree(res, errs, "sample weights, q_silent_pre='zero'")


def test_finite_difference_check_can_fail(table):
    case = small_network("20-15-R12-5")
    res, errs = _fd(case, table)
    model = LinearisedModel(*case, tables=table)
    for name in res.grads:
        bad = dict(res.grads)
        g = bad[name].copy()
        idx = np.unravel_index(np.argmax(np.abs(g)), g.shape)
        g[idx] *= 1 + 1e-3
        bad[name] = g
        err = finite_difference_errors(model, case[1], bad, FD_STEP, names=[name])[name][0]
        assert err > 10 * FD_RTOL, name


def test_elementwise_check_catches_errors_in_small_entries(table):
    """An error of 1e-6 x max|g| in an entry 1e-3 x smaller than the largest passed the old
    bound (max |fd - g| / max |g| < 1e-5); the elementwise check and FD_RTOL reject it."""
    case = small_network("20-15-R12-5")
    res, errs = _fd(case, table)
    atol = _fd_atol(res)
    for name, (_, fd) in errs.items():
        g = res.grads[name]
        big = np.abs(g).max()
        cand = np.flatnonzero((np.abs(g) > 1e-4 * big) & (np.abs(g) < 1e-2 * big))
        assert cand.size, name
        bad = g.copy()
        bad.flat[cand[0]] += max(1e-6 * big, 10 * atol)
        old = np.abs(fd - bad).max() / np.abs(bad).max()
        assert old < 1e-5, name                                   # the old bound let it through
        assert elementwise_excess(fd, bad, atol, FD_ELEM_RTOL) > 1.0, name
        assert elementwise_excess(fd, g, atol, FD_ELEM_RTOL) <= 1.0, name


def test_linearised_model_reproduces_counts_at_operating_point(table):
    rec, w, p, labels = small_network()
    model = LinearisedModel(rec, w, p, labels, tables=table)
    assert all(np.all(d == 0) for d in model.count_changes(w))
    w2 = w.copy()
    w2.layers[0].ff += 0.01
    assert np.abs(model.count_changes(w2)[-1]).max() > 0


# -- reference option ---------------------------------------------------------------

def test_reference_matches_fd_in_feed_forward_network_without_lateral_coupling(table):
    """What holds exactly for 'reference': in a network of feed-forward layers whose output
    layer has zero lateral weights (lambda = 1, A = diag(s)), every layer's gradient equals
    the finite differences (and 'exact'). With lateral inhibition the output's lambda and the
    ignored lateral coupling of the error sent down make it differ by design (next test)."""
    case = small_network("12-10-8-4", zero_lateral=True, ff_scale=3.5)
    res, errs = _fd(case, table, EngineSettings(option="reference"))
    for name, (err, _) in errs.items():
        assert err < FD_RTOL, name
    _assert_fd_agree(res, errs, "reference, no lateral coupling")
    assert all(why == "" for why in reference_checkable(case[1]).values())
    ex = backward(*case, option="exact", tables=table)
    for name in res.grads:
        np.testing.assert_allclose(res.grads[name], ex.grads[name], rtol=1e-12, atol=1e-12)


def test_reference_differs_from_exact_where_coupled(table):
    case = small_network("20-15-R12-5")
    ref = backward(*case, option="reference", tables=table).grads
    ex = backward(*case, option="exact", tables=table).grads
    for name in ("ff2", "rec2", "ff3"):
        assert np.abs(ref[name] - ex[name]).max() > 1e-3 * np.abs(ex[name]).max()


def literal_reference(rec, w, params, labels, table, s_min=1e-4, silent=0.0, below="spec"):
    """The 'reference' formulas, loop by loop: per sample, per neuron, per synapse.

    ``silent``: the pre ratio where the pre or the post neuron is silent (the
    authors' code: 0.5), in the error sent below and the recurrent system.
    ``below='authors'``: a recurrent layer's error below as ``Reservoir.cu``
    computes it: LHS (the system A) and RHS (``w_ij R_ij``) are row-major
    buffers that cuSOLVER reads column-major; its solution is written back and
    read row-major as the effect-ratio matrix."""
    K = len(w.layers)
    grads = {name: np.zeros_like(a) for name, a in w.trainable().items()}
    B = rec.batch_size
    N = table.coeffs.shape[0]

    def Q(n_pre, n_post):
        c = table.coeffs[min(max(n_pre, 1), N) - 1]
        x = float(n_post)
        return 4 * c[0] * x ** 3 + 3 * c[1] * x ** 2 + 2 * c[2] * x + c[3]

    for b in range(B):
        trains = [rec.layers[k][b] for k in range(K + 1)]
        trains[K] = augment_label([trains[K]], [labels[b]])[0]
        counts = [tr.counts() for tr in trains]
        real = rec.layers[K][b].counts()
        g = np.zeros(w.arch.n_classes)
        for c in range(w.arch.n_classes):
            y = 35.0 if c == labels[b] else 5.0
            if abs(real[c] - y) > 5:
                g[c] = real[c] - y
        for k in range(K, 0, -1):
            kind = w.arch.layers[k].kind
            lw = w.layers[k - 1]
            p = params
            nu = p.v_th
            n, n_pre = lw.ff.shape
            o, o_pre = counts[k], counts[k - 1]
            e = np.array([[literal_spsp(trains[k], trains[k - 1], i, j, p) for j in range(n_pre)]
                          for i in range(n)])
            er = None
            if lw.rec is not None:
                er = np.array([[literal_spsp(trains[k], trains[k], i, q, p) if lw.rec_mask[i, q] else 0.0
                                for q in range(n)] for i in range(n)])
            s = np.zeros(n)
            for i in range(n):
                acc = 0.0
                if o[i] > 0 or kind == "recurrent":
                    for j in range(n_pre):
                        acc += lw.ff[i, j] * Q(o_pre[j], o[i])
                    if lw.rec is not None:
                        for q in range(n):
                            if lw.rec_mask[i, q]:
                                acc += lw.rec[i, q] * Q(o[q], o[i])
                s[i] = 1.0 - acc / nu
                if kind == "recurrent" and abs(s[i]) < s_min:
                    s[i] = s_min if s[i] >= 0 else -s_min
            y_ref = np.array([g[i] / nu / s[i] for i in range(n)])
            y_down = y_ref
            if kind == "recurrent":
                A = np.zeros((n, n))
                for i in range(n):
                    A[i, i] = s[i]
                    for q in range(n):
                        if lw.rec_mask[i, q]:
                            r = er[i, q] / o[q] if (o[q] > 0 and o[i] > 0) else silent
                            A[i, q] -= lw.rec[i, q] * r / nu
                y_down = np.linalg.solve(A.T, g / nu)
                if below == "authors":
                    RHS = np.zeros((n, n_pre))
                    for i in range(n):
                        for j in range(n_pre):
                            r = e[i, j] / o_pre[j] if (o_pre[j] > 0 and o[i] > 0) else silent
                            RHS[i, j] = lw.ff[i, j] * r
                    M = A.ravel().reshape((n, n), order="F")          # what cusolverDnSgeqrf sees
                    C = RHS.ravel().reshape((n, n_pre), order="F")    # ormqr/trsm: n rows, ldb = n
                    X = np.linalg.solve(M, C)
                    effect_ratio = X.ravel(order="F").reshape((n, n_pre))
                    g = (g / nu) @ effect_ratio                       # matrixMul(curDelta, effectRatio)
                    y_down = None
            y_w = y_ref.copy()
            if kind == "output":
                for i in range(n):
                    acc = 0.0
                    for m in range(n):
                        if m != i and (o[m] > 0 or m == labels[b]) and o[i] > 0:
                            acc += (lw.rec[m, i] * er[m, i] / o[i] / nu) * (lw.rec[i, m] * er[i, m] / o[m] / nu)
                    y_w[i] *= 1.0 / (1.0 - acc)
            for i in range(n):
                for j in range(n_pre):
                    grads[f"ff{k}"][i, j] += y_w[i] * e[i, j] / B
                if kind == "recurrent":
                    for q in range(n):
                        grads[f"rec{k}"][i, q] += y_w[i] * er[i, q] / B
            if y_down is None:
                continue
            g_new = np.zeros(n_pre)
            for j in range(n_pre):
                for i in range(n):
                    r = e[i, j] / o_pre[j] if (o_pre[j] > 0 and o[i] > 0) else silent
                    g_new[j] += y_down[i] * lw.ff[i, j] * r
            g = g_new
    return grads


@pytest.mark.parametrize("arch,recurrent", [("20-15-R12-5", "all"), ("12-R10-4", "reservoir")])
def test_reference_matches_literal_loops(arch, recurrent, table):
    rec, w, p, labels = small_network(arch, recurrent=recurrent)
    got = backward(rec, w, p, labels, option="reference", tables=table).grads
    lit = literal_reference(rec, w, p, labels, table)
    for name in lit:
        scale = np.abs(lit[name]).max()
        assert scale > 0
        assert np.abs(got[name] - lit[name]).max() < REFERENCE_LOOP_RTOL * scale, name
    # the comparison can fail
    w2 = w.copy()
    w2.layers[-1].rec[w2.layers[-1].rec_mask] = -0.9
    got2 = backward(rec, w2, p, labels, option="reference", tables=table).grads
    assert np.abs(got2["ff3" if "ff3" in lit else "ff2"] - lit["ff3" if "ff3" in lit else "ff2"]).max() > 1e-6


def _with_silent_neurons(case, k, n_silent):
    """The case with the first ``n_silent`` neurons of layer k silenced in every sample."""
    rec, w, p, labels = case
    layers = [list(lay) for lay in rec.layers]
    for b, tr in enumerate(layers[k]):
        keep = tr.neuron >= n_silent
        layers[k][b] = SpikeTrains(tr.neuron[keep], tr.step[keep], tr.n_neurons, tr.n_steps)
    return Recording(layers), w, p, labels


@pytest.mark.parametrize("arch,recurrent", [("20-15-R12-5", "all"), ("12-R10-4", "reservoir")])
def test_authors_silent_ratio_matches_literal_loops(arch, recurrent, table):
    case = small_network(arch, recurrent=recurrent)
    case = _with_silent_neurons(_with_silent_neurons(case, 1, 3), 2, 2)    # silent pre and post neurons
    rec, w, p, labels = case
    settings = EngineSettings(option="reference", silent_ratio=0.5)
    got = backward(rec, w, p, labels, settings, tables=table).grads
    lit = literal_reference(rec, w, p, labels, table, silent=0.5)
    spec = backward(rec, w, p, labels, option="reference", tables=table).grads
    for name in lit:
        scale = np.abs(lit[name]).max()
        assert scale > 0
        assert np.abs(got[name] - lit[name]).max() < REFERENCE_LOOP_RTOL * scale, name
    # the silent ratio leaves the top layer's gradient alone; two layers further down
    # (the reference option weights the recurrent layer with g / (nu s)) it changes it
    top = f"ff{len(w.layers)}"
    assert np.abs(got[top] - spec[top]).max() <= REFERENCE_LOOP_RTOL * np.abs(spec[top]).max()
    if len(w.layers) > 2:
        assert np.abs(got["ff1"] - spec["ff1"]).max() > 1e-3 * np.abs(spec["ff1"]).max()


@pytest.mark.parametrize("silent", [0.0, 0.5])
def test_authors_recurrent_error_below_matches_literal_loops(silent, table):
    """recurrent_below='authors': the error below a recurrent layer as Reservoir.cu computes it."""
    case = small_network("14-10-R10-4", recurrent="reservoir")
    case = _with_silent_neurons(_with_silent_neurons(case, 1, 2), 2, 2)
    rec, w, p, labels = case
    settings = EngineSettings(option="reference", silent_ratio=silent, recurrent_below="authors")
    got = backward(rec, w, p, labels, settings, tables=table).grads
    lit = literal_reference(rec, w, p, labels, table, silent=silent, below="authors")
    spec = backward(rec, w, p, labels, EngineSettings(option="reference", silent_ratio=silent), tables=table).grads
    for name in lit:
        scale = np.abs(lit[name]).max()
        assert scale > 0
        assert np.abs(got[name] - lit[name]).max() < REFERENCE_LOOP_RTOL * scale, name
    # only the layer below the recurrent one changes
    for name in ("ff2", "rec2", "ff3"):
        np.testing.assert_allclose(got[name], spec[name], rtol=1e-12, atol=1e-12 * np.abs(spec[name]).max())
    assert np.abs(got["ff1"] - spec["ff1"]).max() > 1e-3 * np.abs(spec["ff1"]).max()


def test_authors_recurrent_error_below_is_checked(table):
    with pytest.raises(ValueError, match="reference"):
        EngineSettings(option="exact", recurrent_below="authors")
    with pytest.raises(ValueError, match="recurrent_below"):
        EngineSettings(option="reference", recurrent_below="transposed")
    rec, w, p, labels = small_network("20-15-R12-5", recurrent="reservoir")     # 15 below, 12 recurrent
    with pytest.raises(ValueError, match="as many neurons"):
        backward(rec, w, p, labels, EngineSettings(option="reference", recurrent_below="authors"), tables=table)


@pytest.mark.parametrize("solver", ["dense", "sparse", "reduced"])
def test_exact_with_silent_ratio_matches_finite_differences(solver, table):
    case = _with_silent_neurons(small_network("20-15-R12-5", recurrent="reservoir"), 2, 3)
    res, errs = _fd(case, table, EngineSettings(silent_ratio=0.5, solver=solver))
    assert max(e for e, _ in errs.values()) < FD_RTOL
    _assert_fd_agree(res, errs, f"silent ratio 0.5, solver {solver}")


@pytest.mark.parametrize("option", ["exact", "reference"])
def test_threads_over_samples_give_the_same_gradients(option, table):
    rec, w, p, labels = small_network("20-15-R12-5", recurrent="reservoir")
    sw = np.linspace(0.5, 2.0, rec.batch_size)
    one = backward(rec, w, p, labels, EngineSettings(option=option), sample_weight=sw, tables=table)
    two = backward(rec, w, p, labels, EngineSettings(option=option, threads=2), sample_weight=sw, tables=table)
    assert rec.batch_size >= 2 and one.active.sum() >= 2
    for name, g in one.grads.items():
        assert np.abs(g).max() > 0
        np.testing.assert_allclose(two.grads[name], g, rtol=1e-12, atol=1e-12 * np.abs(g).max())
    for k in range(1, len(w.layers) + 1):
        np.testing.assert_array_equal(two.s[k], one.s[k])
    np.testing.assert_array_equal(two.loss, one.loss)
    with pytest.raises(ValueError, match="threads"):
        EngineSettings(threads=0)


def test_silent_ratio_setting_is_checked():
    for bad in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="silent_ratio"):
            EngineSettings(silent_ratio=bad)


# -- settings, solvers, precision -------------------------------------------------------

@pytest.mark.parametrize("option", ["exact", "reference"])
def test_solvers_agree(option, table):
    case = small_network("20-15-R12-5", recurrent="reservoir")
    res = {sv: backward(*case, EngineSettings(option=option, solver=sv), tables=table).grads
           for sv in ("dense", "reduced", "sparse")}
    for sv in ("reduced", "sparse"):
        for name, g in res["dense"].items():
            assert np.abs(res[sv][name] - g).max() <= SOLVER_RTOL * np.abs(g).max(), (sv, name)


def test_float32_close_to_float64(table):
    case = small_network()
    g64 = backward(*case, tables=table).grads
    g32 = backward(*case, EngineSettings(dtype="float32"), tables=table).grads
    for name, g in g64.items():
        assert g32[name].dtype == np.float64
        assert np.abs(g32[name] - g).max() < FLOAT32_RTOL * np.abs(g).max()


def test_result_fields(table):
    rec, w, p, labels = small_network()
    res = backward(rec, w, p, labels, tables=table)
    assert list(res.grads) == list(w.trainable())
    for name, a in w.trainable().items():
        assert res.grads[name].shape == a.shape
    assert res.loss.shape == (3,) and res.out_counts.shape == (3, 5)
    np.testing.assert_array_equal(res.predictions, np.argmax(rec.counts(3), axis=1))
    assert np.all(res.grads["rec2"][~w.layers[1].rec_mask] == 0)
    double = backward(rec, w, p, labels, sample_weight=np.full(3, 2.0), tables=table)
    for name in res.grads:
        np.testing.assert_allclose(double.grads[name], 2 * res.grads[name], rtol=1e-12)


def test_settings_validation():
    with pytest.raises(ValueError, match="option"):
        EngineSettings(option="approx")
    with pytest.raises(ValueError, match="dtype"):
        EngineSettings(dtype="float16")
    with pytest.raises(ValueError, match="solver"):
        EngineSettings(solver="lu")


# -- bad inputs ---------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors(table):
    rec, w, p, labels = small_network()
    with pytest.raises(ValueError, match="layers"):
        backward(Recording(rec.layers[:-1]), w, p, labels, tables=table)
    bad = [list(lay) for lay in rec.layers]
    bad[2][1] = SpikeTrains.empty(11, 100)
    with pytest.raises(ValueError, match="has 11 neurons"):
        backward(Recording(bad), w, p, labels, tables=table)
    bad = [list(lay) for lay in rec.layers]
    bad[1][0] = SpikeTrains.empty(15, 99)
    with pytest.raises(ValueError, match="steps"):
        backward(Recording(bad), w, p, labels, tables=table)
    bad = [list(lay) for lay in rec.layers]
    bad[3] = bad[3][:2]
    with pytest.raises(ValueError, match="samples"):
        backward(Recording(bad), w, p, labels, tables=table)
    with pytest.raises(ValueError, match="labels"):
        backward(rec, w, p, np.array([0, 5, 1]), tables=table)
    with pytest.raises(ValueError, match="labels"):
        backward(rec, w, p, np.array([0, -1, 1]), tables=table)
    with pytest.raises(ValueError, match="labels"):
        backward(rec, w, p, np.array([0, 1]), tables=table)
    with pytest.raises(ValueError, match="sample_weight"):
        backward(rec, w, p, labels, sample_weight=np.array([1.0, np.nan, 1.0]), tables=table)
    w2 = w.copy()
    w2.layers[0].ff[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        backward(rec, w2, p, labels, tables=table)


@pytest.mark.filterwarnings("ignore::rsnn_brian.engine.gradients.SilentLayerWarning")
def test_silent_network_warns_and_gives_zero_not_nan(table):
    rng = np.random.default_rng(0)
    w = init_weights("20-15-R12-5", rng, recurrent="all")
    w.layers[0].ff[:] = -1.0                                  # layer 1 never fires
    p = LayerParams(v_th=5.0)
    x = (rng.random((2, 100, 20)) < 0.1).astype(float)
    rec = simulate(w, p, x)
    assert rec.counts(1).sum() == 0
    with pytest.warns(SilentLayerWarning, match="layer 1"):
        res = backward(rec, w, p, np.array([0, 1]), tables=table)
    for name, g in res.grads.items():
        assert np.all(np.isfinite(g)), name
    assert np.all(res.grads["ff1"] == 0) and np.all(res.grads["ff2"] == 0)
    assert np.abs(res.grads["ff3"]).max() == 0                # layer 2 silent too: nothing reaches ff3
    # an empty input layer too
    rec0 = simulate(w, p, np.zeros((1, 50, 20)))
    with pytest.warns(SilentLayerWarning, match="layer 0"):
        res = backward(rec0, w, p, np.array([2]), tables=table)
    assert all(np.all(np.isfinite(g)) for g in res.grads.values())


# -- gradcheck entry point ------------------------------------------------------------

def test_run_gradcheck_and_main(capsys):
    df = run_gradcheck("12-R8-4", seed=0, n_samples=2)
    assert set(df["array"]) == {"ff1", "rec1", "ff2"}
    assert df["passed"].all() and (df["rel_error"] < FD_RTOL).all()
    assert (df["elem_excess"] <= 1.0).all() and df["checked"].all()
    assert main_gradcheck({"arch": "12-R8-4", "n_samples": 2}) == 0
    out = capsys.readouterr().out
    assert "PASSED: 3 of 3 arrays checked" in out and "checked: ff1, rec1, ff2" in out
    assert main_gradcheck({"arch": "12-R8-4", "n_samples": 2, "tol": 1e-14}) == 1
    assert "FAILED" in capsys.readouterr().out
    # the elementwise check alone can fail it too
    assert main_gradcheck({"arch": "12-R8-4", "n_samples": 2, "noise": 1e-6, "rtol": 1e-16}) == 1


def test_gradcheck_reference_says_what_it_checked(capsys):
    """'reference' is an approximation wherever the output's lateral coupling or a recurrent
    layer matters: gradcheck reports those arrays, checks none of them, never says PASSED."""
    df = run_gradcheck("12-R8-4", seed=0, n_samples=2, option="reference")
    assert not df["checked"].any() and df["passed"].isna().all()
    assert df["note"].str.len().gt(0).all()
    assert main_gradcheck({"arch": "12-R8-4", "n_samples": 2, "option": "reference"}) == 2
    out = capsys.readouterr().out
    assert "PASSED" not in out and "NOTHING CHECKED" in out and "checked: none" in out
    assert "ff1: below an output layer with lateral coupling" in out


def test_reference_checkable_arrays_are_exact_and_the_others_are_not(table):
    """Without lateral coupling, 'reference' equals the finite differences in the hidden layer
    below a recurrent layer and in the output layer, not in the recurrent layer itself."""
    case = small_network("20-15-R12-5", zero_lateral=True)
    why = reference_checkable(case[1])
    assert [n for n, r in why.items() if not r] == ["ff1", "ff3"]
    assert why["ff2"].startswith("recurrent layer") and why["rec2"].startswith("recurrent layer")
    res, errs = _fd(case, table, EngineSettings(option="reference"))
    _assert_fd_agree(res, {n: errs[n] for n in ("ff1", "ff3")}, "reference, checkable arrays")
    for name in ("ff2", "rec2"):
        assert errs[name][0] > 1e-3, name
    with_lateral = reference_checkable(small_network("20-15-R12-5")[1])
    assert why != with_lateral and all(with_lateral.values())


def test_zero_self_factor_is_an_error_not_nan():
    from rsnn_brian.engine.effect_ratio import EffectRatioTable
    rec, w, p, labels = small_network()
    c = np.zeros((50, 5))
    c[:, 3] = 1.0                                          # Q = 1 everywhere
    i = int(np.argmax(rec.counts(1)[0]))                   # a firing hidden neuron
    w2 = w.copy()
    w2.layers[0].ff[i] = 0.25                              # sum_j w_ij Q_ij = 5 = v_th: s_i = 0
    with pytest.raises(FloatingPointError, match="layer 1"):
        backward(rec, w2, p, labels, tables=EffectRatioTable(c))


def test_samples_without_error_are_skipped_exactly(table):
    from rsnn_brian.engine.gradients import _backward
    rec, w, p, labels = small_network()
    sw = np.array([1.0, 0.0, 1.0])                      # sample 1 has no error
    res = backward(rec, w, p, labels, sample_weight=sw, tables=table)
    np.testing.assert_array_equal(res.active, [True, False, True])
    full, _ = _backward(rec, w, p, labels, EngineSettings(), sw, table, None)   # no skipping
    for name in full:
        np.testing.assert_allclose(res.grads[name], full[name], rtol=1e-12, atol=1e-15)
    none = backward(rec, w, p, labels, sample_weight=np.zeros(3), tables=table)
    assert not none.active.any() and all(np.all(g == 0) for g in none.grads.values())
    assert list(none.grads) == list(w.trainable())
