"""Brian2 runner against the NumPy reference simulator, device by device.

Identical spikes (every neuron, every step, float64) and v at spike to 1e-9,
for a network with a reservoir-recurrent layer (30-20-R15-5) and one with an
all-to-all recurrent layer (20-R12-10-4), both with lateral inhibition.
The runtime runners are module-scoped: a cython build on an empty cache takes
minutes, after that about a second.
"""

import os
import shutil

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")
from brian2 import ms, prefs  # noqa: E402
from tolerances import IDENTITY_RTOL, V_ATOL  # noqa: E402

from rsnn_brian.brian import NeuronConfig, Runner  # noqa: E402
from rsnn_brian.connectivity import init_weights  # noqa: E402
from rsnn_brian.network import parse_architecture  # noqa: E402
from rsnn_brian.reference.simulate import simulate  # noqa: E402
from rsnn_brian.spikes import SpikeTrains  # noqa: E402

T = 120
K = 3
CONFIGS = [NeuronConfig(v_th=5.0), NeuronConfig(v_th=4.0, tau_m=32 * ms), NeuronConfig(v_th=3.0)]
NETS = {"reservoir": ("30-20-R15-5", "reservoir"), "all_to_all": ("20-R12-10-4", "all")}


def make_weights(text, recurrent, seed, like=None):
    """Random weights scaled so that every layer spikes (on the masks of ``like`` if given)."""
    rng = np.random.default_rng(seed)
    w = init_weights(parse_architecture(text), rng, recurrent=recurrent) if like is None else like.copy()
    for lw in w.layers:
        lw.ff[:] = rng.uniform(-0.5, 1.0, lw.ff.shape) * 6.0
        if lw.rec_trainable:
            lw.rec[:] = np.where(lw.rec_mask, rng.uniform(-1, 1, lw.rec.shape), 0.0)
    return w


def make_inputs(n_in, n, seed, rate=0.08):
    rng = np.random.default_rng(seed)
    return [SpikeTrains.from_dense(rng.random((T, n_in)) < rate) for _ in range(n)]


def configs(text):
    return CONFIGS[: len(parse_architecture(text).layers) - 1]


def assert_same(rec, ref, check_v=True):
    assert len(rec.layers) == len(ref.layers)
    for k, (a_layer, b_layer) in enumerate(zip(rec.layers, ref.layers)):
        assert len(a_layer) == len(b_layer)
        for b, (a, r) in enumerate(zip(a_layer, b_layer)):
            assert a == r, f"layer {k}, sample {b}: spikes differ ({a.n_spikes} vs {r.n_spikes})"
            if check_v and k > 0:
                np.testing.assert_allclose(a.v, r.v, rtol=0, atol=V_ATOL)
    for k in range(len(rec.layers)):   # otherwise the comparison proves nothing
        assert sum(tr.n_spikes for tr in rec.layers[k]) > 0, f"layer {k} is silent"


@pytest.fixture(scope="module", params=list(NETS))
def runtime_case(request):
    text, recurrent = NETS[request.param]
    w = make_weights(text, recurrent, seed=1)
    with Runner(text, configs(text), device="runtime", n_steps=T, samples_per_run=K) as runner:
        yield text, recurrent, w, runner


# ---------------------------------------------------------------------------
# runtime

def test_runtime_matches_numpy(runtime_case):
    text, _, w, runner = runtime_case
    inputs = make_inputs(w.arch.n_inputs, 2 * K, seed=2)
    rec = runner.run(w, inputs)
    assert_same(rec, simulate(w, runner.params, inputs))
    assert all(tr.v is not None for tr in rec.layers[-1])


def test_runtime_batch_not_multiple_of_K_and_order(runtime_case):
    _, _, w, runner = runtime_case
    inputs = make_inputs(w.arch.n_inputs, 2 * K + 1, seed=3)
    rec = runner.run(w, inputs)
    assert rec.batch_size == 2 * K + 1
    ref = simulate(w, runner.params, inputs)
    assert_same(rec, ref)
    # state is reset between back-to-back samples: the order of samples does not matter
    rev = runner.run(w, inputs[::-1])
    for k in range(len(rec.layers)):
        assert rev.layers[k][::-1] == rec.layers[k]


def test_runtime_new_weights_and_round_trip(runtime_case):
    text, recurrent, w, runner = runtime_case
    w2 = make_weights(text, recurrent, seed=7, like=w)
    inputs = make_inputs(w2.arch.n_inputs, 2, seed=4)
    assert_same(runner.run(w2, inputs), simulate(w2, runner.params, inputs))
    back = runner.read_weights()
    for a, b in zip(back.layers, w2.layers):
        assert np.array_equal(a.ff, b.ff)
        if b.rec is not None:
            assert np.array_equal(a.rec, b.rec) and np.array_equal(a.rec_mask, b.rec_mask)


def test_runtime_restores_brian_globals(runtime_case):
    _, _, w, runner = runtime_case
    from brian2 import get_device
    prefs.codegen.target = "numpy"
    dev = get_device()
    try:
        runner.run(w, make_inputs(w.arch.n_inputs, 1, seed=5))
        assert prefs.codegen.target == "numpy"
        assert get_device() is dev
    finally:
        prefs.codegen.target = "auto"


# ---------------------------------------------------------------------------
# errors

@pytest.fixture(scope="module")
def err_runner():
    text = NETS["reservoir"][0]
    r = Runner(text, configs(text), device="runtime", n_steps=T, samples_per_run=K)
    yield r, make_weights(text, "reservoir", seed=1)
    r.close()


def test_error_wrong_weight_shape(err_runner):
    r, w = err_runner
    bad = w.copy()
    bad.layers[1].ff = np.zeros((20, 20))
    with pytest.raises(ValueError, match=r"layer 2 \(R15\).*\(15, 20\)"):
        r.run(bad, make_inputs(30, 1, seed=0))


def test_error_nan_weights(err_runner):
    r, w = err_runner
    bad = w.copy()
    bad.layers[0].ff[3, 4] = np.nan
    with pytest.raises(ValueError, match="layer 1.*NaN"):
        r.run(bad, make_inputs(30, 1, seed=0))


def test_error_wrong_inputs(err_runner):
    r, w = err_runner
    with pytest.raises(ValueError, match="has 31 neurons, the network has 30 inputs"):
        r.run(w, [SpikeTrains.empty(31, T)])
    with pytest.raises(ValueError, match=f"has {T + 1} steps.*n_steps={T}"):
        r.run(w, [SpikeTrains.empty(30, T + 1)])
    with pytest.raises(ValueError, match="empty batch"):
        r.run(w, [])
    with pytest.raises(TypeError, match="expected SpikeTrains"):
        r.run(w, [np.zeros((T, 30))])


def test_error_other_architecture_or_mask(err_runner):
    r, w = err_runner
    with pytest.raises(ValueError, match="architecture"):
        r.run(make_weights("30-20-R15-6", "reservoir", 0), make_inputs(30, 1, 0))
    other = make_weights("30-20-R15-5", "all", 0)
    r.run(w, make_inputs(30, 1, 0))          # builds with w's mask (no-op if built)
    with pytest.raises(ValueError, match="layer 2: the recurrent mask differs"):
        r.run(other, make_inputs(30, 1, 0))


def test_error_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'gpu'.*runtime, cpp_standalone, cuda_standalone"):
        Runner("4-2", device="gpu")


def test_error_cuda_missing(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "brian2cuda", None)     # import fails
    with pytest.raises(ImportError, match=r"pip install rsnn_brian\[cuda\]"):
        Runner("4-2", device="cuda_standalone")


def test_error_bad_configs():
    with pytest.raises(ValueError, match="one NeuronConfig per layer"):
        Runner("4-3-2", [NeuronConfig()] * 3)
    with pytest.raises(ValueError, match="n_steps"):
        Runner("4-2", n_steps=0)


# ---------------------------------------------------------------------------
# cpp_standalone

@pytest.fixture(scope="module")
def standalone_case():
    text, recurrent = NETS["reservoir"]
    w = make_weights(text, recurrent, seed=1)
    with Runner(text, configs(text), device="cpp_standalone", n_steps=T, samples_per_run=K) as runner:
        yield text, recurrent, w, runner


@pytest.mark.standalone
def test_standalone_matches_numpy_and_runtime(standalone_case, runtime_case):
    text, _, w, runner = standalone_case
    inputs = make_inputs(w.arch.n_inputs, 2 * K + 1, seed=2)     # last chunk padded
    rec = runner.run(w, inputs)
    assert rec.batch_size == 2 * K + 1
    assert_same(rec, simulate(w, runner.params, inputs))
    if runtime_case[0] == text:
        assert_same(rec, runtime_case[3].run(w, inputs))


@pytest.mark.standalone
def test_standalone_rerun_with_new_weights_and_inputs(standalone_case):
    text, recurrent, w, runner = standalone_case
    runner.run(w, make_inputs(w.arch.n_inputs, 1, seed=10))
    build_dir = runner._build_dir
    n_files = len(os.listdir(os.path.join(build_dir, "static_arrays")))
    for seed in (11, 12):
        w2 = make_weights(text, recurrent, seed=seed, like=w)
        inputs = make_inputs(w2.arch.n_inputs, K, seed=seed, rate=0.1)
        assert_same(runner.run(w2, inputs), simulate(w2, runner.params, inputs))
    back = runner.read_weights()      # read from the binary's results
    for a, b in zip(back.layers, w2.layers):
        assert np.array_equal(a.ff, b.ff)
        if b.rec is not None:
            assert np.array_equal(a.rec, b.rec)
    # run_args files are deleted after each run
    assert len(os.listdir(os.path.join(build_dir, "static_arrays"))) == n_files
    # sample order does not matter
    rec = runner.run(w, inputs)
    rev = runner.run(w, inputs[::-1])
    for k in range(len(rec.layers)):
        assert rev.layers[k][::-1] == rec.layers[k]


@pytest.mark.standalone
def test_standalone_parallel_runs_match_numpy(standalone_case):
    """Chunks run at once (one binary process each) give the same spikes as the reference."""
    text, recurrent, w, runner = standalone_case
    if runner._build_dir is None:         # run alone: build (and run once) first
        runner.run(w, make_inputs(w.arch.n_inputs, 1, seed=30))
    static = os.path.join(runner._build_dir, "static_arrays")
    n_files = len(os.listdir(static))
    runner.parallel_runs = 3
    try:
        inputs = make_inputs(w.arch.n_inputs, 3 * K - 1, seed=31)     # three chunks, the last padded
        runs = runner.timings["runs"]
        rec = runner.run(w, inputs)
        assert runner.timings["runs"] == runs + 3
        assert rec.batch_size == 3 * K - 1
        assert_same(rec, simulate(w, runner.params, inputs))
        w2 = make_weights(text, recurrent, seed=32, like=w)
        inputs = make_inputs(w.arch.n_inputs, 4 * K, seed=33)        # two groups of up to three chunks
        assert_same(runner.run(w2, inputs), simulate(w2, runner.params, inputs))
    finally:
        runner.parallel_runs = 1
    assert len(os.listdir(static)) == n_files                          # run_args files removed
    # and the sequential path still reads its own results folder
    inputs = make_inputs(w.arch.n_inputs, K, seed=34)
    assert_same(runner.run(w, inputs), simulate(w, runner.params, inputs))


def test_parallel_runs_checked():
    with pytest.raises(ValueError, match="parallel_runs"):
        Runner("4-2", device="runtime", parallel_runs=2)
    with pytest.raises(ValueError, match="parallel_runs"):
        Runner("4-2", device="cpp_standalone", parallel_runs=0)


@pytest.mark.standalone
@pytest.mark.slow
def test_standalone_input_capacity_grows(standalone_case):
    text, _, w, runner = standalone_case
    inputs = make_inputs(w.arch.n_inputs, K, seed=3, rate=0.9)
    need = sum(tr.n_spikes for tr in inputs)
    # whatever ran before (or nothing): build with a list too small for this batch
    if runner.input_capacity is None or need + w.arch.n_inputs <= runner.input_capacity:
        runner.build(w, input_capacity=1024)
    assert need + w.arch.n_inputs > runner.input_capacity
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        rec = runner.run(w, inputs)
    assert_same(rec, simulate(w, runner.params, inputs))


@pytest.mark.standalone
@pytest.mark.slow
def test_two_standalone_runners_in_sequence_and_cleanup(tmp_path, standalone_case):
    """A fresh build with weights w2 equals the rerun (run_args) result; globals restored."""
    from brian2 import get_device
    text, recurrent = NETS["all_to_all"]
    w1 = make_weights(text, recurrent, 21)
    w2 = make_weights(text, recurrent, 22, like=w1)
    inputs = make_inputs(w1.arch.n_inputs, 4, seed=23)
    # the module runner owns the standalone device; free it for this test
    standalone_case[3].close()
    before_dev, before_target = get_device(), prefs.codegen.target
    with Runner(text, configs(text), device="cpp_standalone", n_steps=T, samples_per_run=4) as r1:
        r1.run(w1, inputs)
        rerun = r1.run(w2, inputs)
        build_dir = r1._build_dir
    assert not os.path.exists(build_dir)
    assert get_device() is before_dev and prefs.codegen.target == before_target
    keep = tmp_path / "build"
    with Runner(text, configs(text), device="cpp_standalone", n_steps=T, samples_per_run=4,
                build_dir=str(keep), keep_build_dir=True) as r2:
        fresh = r2.run(w2, inputs)
    assert keep.exists()
    shutil.rmtree(keep)
    assert_same(rerun, fresh)
    assert_same(fresh, simulate(w2, r2.params, inputs))
    # and runtime still works after standalone
    with Runner(text, configs(text), device="runtime", n_steps=T, samples_per_run=4) as r3:
        assert_same(r3.run(w2, inputs), fresh)


# ---------------------------------------------------------------------------
# cuda_standalone: generate and compile with nvcc (no GPU needed)

@pytest.mark.cuda
@pytest.mark.slow
def test_cuda_codegen_compiles(tmp_path):
    pytest.importorskip("brian2cuda", reason="brian2cuda is not installed (pip install rsnn_brian[cuda])")
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc not found")
    from rsnn_brian.brian._cuda import find_curand
    if find_curand() is None:
        pytest.skip("curand headers not found (pip install nvidia-curand)")
    text, recurrent = NETS["all_to_all"]
    w = make_weights(text, recurrent, 1)
    r = Runner(text, configs(text), device="cuda_standalone", n_steps=50, samples_per_run=2,
               build_dir=str(tmp_path / "cuda"), keep_build_dir=True, input_capacity=4096,
               compile_only=not shutil.which("nvidia-smi"))
    try:
        r.build(w)
        assert (tmp_path / "cuda" / "main").exists()
    finally:
        r.close()


# ---------------------------------------------------------------------------
# the S-PSP identity (spec 2.3) on Brian2's own output

def test_identity_holds_on_brian2_output(runtime_case):
    """sum_j w_ij e_ij equals the sum of Brian2's v at i's spikes, every neuron of every layer."""
    from rsnn_brian.engine import check_identity
    _, _, w, runner = runtime_case
    rec = runner.run(w, make_inputs(w.arch.n_inputs, K, seed=5))
    for k in range(1, len(rec.layers)):
        assert sum(tr.n_spikes for tr in rec.layers[k]) > 0, f"layer {k} is silent"
    errors = check_identity(rec, w, runner.params)
    assert len(errors) == len(w.layers)
    assert max(errors) < IDENTITY_RTOL, errors
    # the check can fail: a perturbed weight breaks it
    bad = w.copy()
    bad.layers[0].ff[0, :] += 0.5
    assert max(check_identity(rec, bad, runner.params)) > 1e-6



@pytest.mark.parametrize("device", ["runtime", "cpp_standalone"])
def test_build_ahead_sizes_the_input_list_as_a_build_on_first_use(device, monkeypatch):
    """``build(weights, inputs=batch)`` (what the trainer does before its progress bar) gives the
    input list the capacity a build at the first ``run`` would give, so the first batch does not
    rebuild. The backend's build is replaced by a recorder: nothing is compiled here."""
    text, recurrent = NETS["reservoir"]
    w = make_weights(text, recurrent, 31)
    inputs = make_inputs(w.arch.n_inputs, 2 * K, seed=32, rate=0.3)
    sizes = {}
    for how in ("ahead", "first use"):
        r = Runner(text, configs(text), device=device, n_steps=T, samples_per_run=K)
        specs = []
        monkeypatch.setattr(r._backend, "build", specs.append)
        if how == "ahead":
            r.build(w, inputs=inputs)
        else:
            with pytest.raises((AttributeError, TypeError)):   # run() goes on to an unbuilt backend
                r.run(w, inputs)
        sizes[how] = specs[0].capacity
        r._closed = True                          # nothing was built: nothing to release
    need = max(sum(tr.n_spikes for tr in inputs[a:a + K]) for a in (0, K)) + w.arch.n_inputs
    assert sizes["ahead"] == sizes["first use"] >= need
