"""rsnn_brian.export: a recorded network to NWB and neo and back, spike for spike; Elephant on the neo objects."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from rsnn_brian.connectivity import init_weights
from rsnn_brian.export import NetworkRecording, load_recording, model_strings, save_recording
from rsnn_brian.network import LayerParams
from rsnn_brian.reference.simulate import simulate
from rsnn_brian.spikes import Recording, SpikeTrains

ARCH = "20-15-R12-5"
B, T = 5, 120


@pytest.fixture(scope="module")
def data():
    """A real tiny network run: every layer fires, v recorded at each spike."""
    rng = np.random.default_rng(0)
    weights = init_weights(ARCH, rng)
    params = [LayerParams(v_th=2.0), LayerParams(v_th=2.5, tau_m=32.0), LayerParams(v_th=1.5)]
    inputs = [SpikeTrains.from_dense(rng.random((T, 20)) < 0.1) for _ in range(B)]
    rec = simulate(weights, params, inputs)
    assert all(rec.counts(k).sum() > 0 for k in range(4)), "the fixture network should fire in every layer"
    return NetworkRecording(rec, ARCH, dt=1e-3, params=params, labels=[0, 1, 2, 3, 4], weights=weights,
                            sample_index=[10, 11, 12, 13, 14], class_names=("a", "b", "c", "d", "e"),
                            config_toml='architecture = "20-15-R12-5"\n', device="numpy", description="fixture")


def assert_same(back: NetworkRecording, data: NetworkRecording, weights=True):
    assert back.recording == data.recording
    for la, lb in zip(back.recording.layers[1:], data.recording.layers[1:]):
        for x, y in zip(la, lb):
            np.testing.assert_array_equal(x.v, y.v)
    assert back.architecture == data.architecture and back.dt == data.dt
    assert back.params == data.params
    for name in ("labels", "predictions", "sample_index"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name), err_msg=name)
    assert back.class_names == data.class_names and back.config_toml == data.config_toml
    assert back.device == data.device and back.description == data.description
    if weights:
        a, b = back.weights.to_arrays(), data.weights.to_arrays()
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# -- NWB ----------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["neuron", "trial"])
def test_nwb_round_trip_is_equal_spike_for_spike(data, tmp_path, layout):
    pytest.importorskip("pynwb")
    from rsnn_brian.export import read_nwb, write_nwb
    path = write_nwb(data, tmp_path / "rec.nwb", layout=layout)
    assert_same(read_nwb(path), data)
    back = read_nwb(write_nwb(data, tmp_path / "now.nwb", weights=False, layout=layout))
    assert back.weights is None and back.recording == data.recording


def test_the_units_table_holds_one_row_per_neuron_on_one_timeline(data, tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from rsnn_brian.export import write_nwb
    path = write_nwb(data, tmp_path / "rec.nwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        units = f.units.to_dataframe()
        trials = f.trials.to_dataframe()
        assert f.units.resolution == data.dt
        assert f.electrodes is None and not f.devices             # no fake electrodes
        assert "v > v_th" in f.experiment_description and "dv/dt = -v/tau_m + I/tau_s" in f.experiment_description
        assert f.notes == data.config_toml
        model = f.processing["network"]["model"].to_dataframe().set_index("key")["value"]
        assert model["equations"] == model_strings()["equations"] and model["architecture"] == ARCH
        n_synapses = sum(lw.ff.size + (0 if lw.rec is None else int(lw.rec_mask.sum())) for lw in data.weights.layers)
        assert len(f.processing["network"]["synapses"]) == n_synapses
    assert len(units) == 20 + 15 + 12 + 5
    assert list(units["layer"].unique()) == ["input", "hidden1", "recurrent2", "output"]
    assert list(units["layer_kind"].unique()) == ["input", "hidden", "recurrent", "output"]
    hid = units[units["layer"] == "recurrent2"].iloc[3]
    assert hid["index_in_layer"] == 3 and hid["threshold"] == 2.5 and hid["tau_m"] == pytest.approx(0.032)
    assert hid["tau_s"] == pytest.approx(0.008) and hid["refractory"] == pytest.approx(0.002)
    assert np.isnan(units[units["layer"] == "input"]["tau_m"]).all()
    want = np.concatenate([(b * T + tr.step[tr.neuron == 3]) * data.dt
                           for b, tr in enumerate(data.recording.layers[2])])
    np.testing.assert_allclose(hid["spike_times"], want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(trials["start_time"], np.arange(B) * T * data.dt)
    np.testing.assert_allclose(trials["stop_time"], (np.arange(B) + 1) * T * data.dt)
    assert list(trials["label_name"]) == ["a", "b", "c", "d", "e"]
    assert list(trials["sample_index"]) == [10, 11, 12, 13, 14]


@pytest.mark.parametrize("layout", ["neuron", "trial"])
def test_the_files_pass_the_nwb_inspector(data, tmp_path, layout):
    nwbinspector = pytest.importorskip("nwbinspector")
    from rsnn_brian.export import write_nwb
    path = write_nwb(data, tmp_path / "rec.nwb", layout=layout)
    bad = {nwbinspector.Importance.CRITICAL, nwbinspector.Importance.ERROR, nwbinspector.Importance.PYNWB_VALIDATION}
    found = [f"{m.importance.name} {m.check_function_name}: {m.message}"
             for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path)) if m.importance in bad]
    assert not found, found


def test_the_export_needs_no_brian2(tmp_path):
    pytest.importorskip("pynwb")
    code = ("import sys, numpy as np\n"
            "from rsnn_brian.export import NetworkRecording, write_nwb\n"
            "from rsnn_brian.spikes import Recording, SpikeTrains\n"
            "rec = Recording([[SpikeTrains([0], [1], 2, 3)], [SpikeTrains([], [], 1, 3)]])\n"
            f"write_nwb(NetworkRecording(rec, '2-1'), {str(tmp_path / 'x.nwb')!r})\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'brian2'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_model_strings_are_the_brian2_models():
    pytest.importorskip("brian2")
    from rsnn_brian.brian import model
    got = model_strings()
    assert got["equations"] == model.EQUATIONS.strip()
    assert (got["threshold"], got["reset"], got["method"]) == (model.THRESHOLD, model.RESET, model.METHOD)


# -- neo and Elephant ---------------------------------------------------------------------

@pytest.mark.parametrize("align", [False, True])
def test_neo_block_has_a_segment_per_sample_and_a_group_per_layer(data, align):
    pytest.importorskip("neo")
    from rsnn_brian.export import recording_from_neo, to_neo
    block = to_neo(data, align=align)
    assert len(block.segments) == B and [g.name for g in block.groups] == data.layer_names
    assert all(len(seg.spiketrains) == 52 for seg in block.segments)
    assert [len(g.spiketrains) for g in block.groups] == [20 * B, 15 * B, 12 * B, 5 * B]
    seg = block.segments[2]
    assert seg.annotations["label"] == 2 and seg.annotations["sample_index"] == 12
    st = seg.spiketrains[20 + 15 + 4]
    assert st.name == "recurrent2[4]" and str(st.units.dimensionality) == "s"
    t0 = 0 if align else 2 * T * data.dt
    assert float(st.t_start) == pytest.approx(t0) and float(st.t_stop) == pytest.approx(t0 + T * data.dt)
    tr = data.recording.layers[2][2]
    np.testing.assert_allclose(st.magnitude, t0 + tr.step[tr.neuron == 4] * data.dt)
    np.testing.assert_array_equal(st.array_annotations["v"], tr.v[tr.neuron == 4])
    assert block.groups[2].annotations["threshold"] == 2.5
    assert recording_from_neo(block) == data.recording


@pytest.mark.filterwarnings("ignore::DeprecationWarning")     # elephant passes copy= to quantities
def test_elephant_computes_the_packages_firing_rates(data):
    pytest.importorskip("elephant")
    from elephant.statistics import cv, isi, mean_firing_rate

    from rsnn_brian.export import to_neo
    block = to_neo(data)
    for k, group in enumerate(block.groups):
        got = np.zeros((B, group.annotations["size"]))
        for st in group.spiketrains:
            got[st.segment.index, st.annotations["index_in_layer"]] = mean_firing_rate(st).rescale("Hz").magnitude
        want = data.recording.counts(k) / (T * data.dt)
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=group.name)
        np.testing.assert_allclose(data.rates(k), want)
    busy = max(block.segments[0].spiketrains, key=len)
    assert 0 <= float(cv(isi(busy))) < 3


def test_neo_reads_the_neo_file_back_by_itself(data, tmp_path):
    neo = pytest.importorskip("neo")
    pytest.importorskip("pynwb")
    from rsnn_brian.export import read_neo, recording_from_neo, write_neo
    path = write_neo(data, tmp_path / "rec_neo.nwb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # neo's reader warns about NWB details it ignores
        block = neo.io.NWBIO(str(path), mode="r").read_block()
    assert len(block.segments) == B
    seg = block.segments[1]
    assert len(seg.spiketrains) == 52 and seg.spiketrains[20].name == "hidden1[0]"
    tr = data.recording.layers[1][1]
    np.testing.assert_allclose(seg.spiketrains[20].magnitude, (T + tr.step[tr.neuron == 0]) * data.dt)
    assert recording_from_neo(read_neo(path)) == data.recording


# -- the saved recording -----------------------------------------------------------------

def test_a_saved_recording_loads_back_whole(data, tmp_path):
    path = save_recording(data, tmp_path / "rec.npz")
    assert_same(load_recording(path), data)
    assert load_recording(path).start_time == data.start_time
    with np.load(path, allow_pickle=False) as z:          # no pickle anywhere
        assert "meta" in z.files


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("layers", [[], [[], []]])
def test_an_empty_recording_is_refused(layers):
    with pytest.raises(ValueError, match="empty recording"):
        NetworkRecording(Recording(layers), "2-1")


def test_a_recording_that_does_not_fit_the_architecture_is_refused(data):
    with pytest.raises(ValueError, match="architecture 20-16-R12-5"):
        NetworkRecording(data.recording, "20-16-R12-5")
    with pytest.raises(ValueError, match="labels must be 5 integers"):
        NetworkRecording(data.recording, ARCH, labels=[1, 2])
    with pytest.raises(TypeError, match="NetworkRecording"):
        save_recording(data.recording, "x.npz")


@pytest.mark.parametrize("fmt", ["nwb", "neo", "npz"])
def test_missing_folders_and_existing_files_are_refused_and_nothing_is_overwritten(data, tmp_path, fmt):
    if fmt != "npz":
        pytest.importorskip("pynwb")
        pytest.importorskip("neo")
    from rsnn_brian.export import write_neo, write_nwb
    write = {"nwb": write_nwb, "neo": write_neo, "npz": save_recording}[fmt]
    with pytest.raises(FileNotFoundError, match="output folder .*missing does not exist"):
        write(data, tmp_path / "missing" / "x.out")
    assert not (tmp_path / "missing").exists()
    existing = tmp_path / "old.out"
    existing.write_text("keep me")
    with pytest.raises(FileExistsError, match="exists; pass --force"):
        write(data, existing)
    assert existing.read_text() == "keep me"
    with pytest.raises(IsADirectoryError):
        write(data, tmp_path)
    write(data, existing, force=True)
    assert existing.stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.out"]      # no temporary file left


def test_missing_extras_name_the_extra(data, tmp_path, monkeypatch):
    """Runs without pynwb or neo installed: the message names `pip install rsnn_brian[nwb]`."""
    from rsnn_brian.export import read_nwb, to_neo, write_neo, write_nwb
    monkeypatch.setitem(sys.modules, "pynwb", None)
    for call in (lambda: write_nwb(data, tmp_path / "x.nwb"), lambda: read_nwb(tmp_path / "x.nwb"),
                 lambda: write_neo(data, tmp_path / "x.nwb")):
        with pytest.raises(ImportError, match=r"needs the package 'pynwb'.*pip install rsnn_brian\[nwb\]$"):
            call()
    monkeypatch.setitem(sys.modules, "neo", None)
    with pytest.raises(ImportError, match=r"'neo'.*pip install rsnn_brian\[nwb\]"):
        to_neo(data)
    assert not list(tmp_path.iterdir())


def test_a_file_that_is_not_ours_is_refused(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    import datetime

    from rsnn_brian.export import read_nwb
    path = tmp_path / "other.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(pynwb.NWBFile(session_description="x", identifier="x",
                               session_start_time=datetime.datetime.now().astimezone()))
    with pytest.raises(ValueError, match="not an NWB file written by rsnn_brian"):
        read_nwb(path)
    with pytest.raises(FileNotFoundError):
        read_nwb(tmp_path / "none.nwb")
    (tmp_path / "junk.npz").write_text("no")
    with pytest.raises(ValueError, match="corrupt or not an rsnn_brian recording"):
        load_recording(tmp_path / "junk.npz")
