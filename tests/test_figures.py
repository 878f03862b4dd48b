"""The figure scripts read saved run directories and draw (no simulation)."""

from pathlib import Path

import pandas as pd
import pytest
from script_loader import load_script


def _run_dir(root, name, accs, split_kind="speaker", speaker=None):
    d = root / name
    d.mkdir()
    lines = [f'split_kind = "{split_kind}"']
    if speaker:
        lines.append(f'held_out_speaker = "{speaker}"')
    (d / "config.toml").write_text("\n".join(lines) + "\n")
    pd.DataFrame({"epoch": range(len(accs)), "test_accuracy": accs}).to_csv(d / "metrics.csv", index=False)
    return d


def test_speaker_held_out_figure(tmp_path):
    mod = load_script("figures", "speaker_held_out")
    a = _run_dir(tmp_path, "a", [30.0, 60.0, 50.0], speaker="george")
    b = _run_dir(tmp_path, "b", [40.0, 45.0])                      # default speaker: theo
    off = _run_dir(tmp_path, "off", [90.0, 97.0], split_kind="official")
    data = mod.tidy([a, b])
    got = {(r.speaker, r.which): r.accuracy for r in data.itertuples()}
    assert got == {("george", "final"): 50.0, ("george", "best"): 60.0,
                   ("theo", "final"): 45.0, ("theo", "best"): 45.0}
    mod.main([str(a), str(b), "--official", str(off), "--out", str(tmp_path / "out")])
    assert (tmp_path / "out" / "fsdd_speaker_held_out.png").stat().st_size > 1000
    with pytest.raises(SystemExit, match="not a speaker-held-out run"):
        mod.tidy([off])


def test_learning_curves_figure(tmp_path):
    mod = load_script("figures", "learning_curves")
    run = _run_dir(tmp_path, "fsdd", [80.0, 90.0], split_kind="official")
    ref = tmp_path / "ref.csv"
    pd.DataFrame({"run": ["ti46-digits x"] * 3 + ["fashion-mnist y"], "epoch": [0, 1, 2, 0],
                  "test_accuracy": [85.0, 94.0, 96.0, 80.0]}).to_csv(ref, index=False)
    data = mod.tidy([run], ref, "ti46-digits")
    assert set(data["source"]) == {"rsnn_brian: fsdd", "authors: ti46-digits x"}
    assert len(data) == 2 + 3
    by = data.groupby("source")["epochs trained"].apply(list).to_dict()
    assert by == {"rsnn_brian: fsdd": [1, 2], "authors: ti46-digits x": [1, 2, 3]}   # both count from 1
    mod.main([str(run), "--reference", str(ref), "--reference-run", "ti46-digits", "--out", str(tmp_path / "o")])
    assert (tmp_path / "o" / "learning_curves.png").is_file()


SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "reference_learning_curves.csv"


def test_shipped_authors_curves_match_the_shared_reference():
    from rsnn_brian.plotting import AUTHORS_RUNS, authors_curve
    if not SHARED_REFERENCE.is_file():
        pytest.skip(f"{SHARED_REFERENCE} not here")
    shared = pd.read_csv(SHARED_REFERENCE)
    for (dataset, arch), (run, _) in AUTHORS_RUNS.items():
        ref, label = authors_curve(dataset, arch)
        want = shared[shared["run"] == run].reset_index(drop=True)
        assert len(ref) == len(want) > 10 and label.startswith("authors")
        pd.testing.assert_frame_equal(ref, want[["epoch", "train_accuracy", "test_accuracy"]])
    assert authors_curve("mnist", "784-400-R400-10") is None
    assert authors_curve("fashion-mnist", "784-200-R100-10") is None


def test_run_learning_curve_counts_epochs_trained_and_shows_the_authors(tmp_path):
    from rsnn_brian.plotting import authors_curve, plot_learning_curve
    metrics = pd.DataFrame({"epoch": [0, 1, 2], "train_accuracy": [80.0, 85.0, 88.0],
                            "test_accuracy": [82.0, 84.0, 86.0]})
    ref, label = authors_curve("fashion-mnist", "784-400-R400-10")
    ax = plot_learning_curve(metrics, reference=ref, reference_label=label)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    dashed = lines[f"{label} (test)"]
    assert list(dashed.get_xdata()) == [1, 2, 3]                     # cut to the run's three epochs, 1-based
    assert list(dashed.get_ydata()) == list(ref["test_accuracy"][:3])
    assert f"{label} (train)" in lines
    assert ax.get_xlabel() == "epochs trained"
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks == [1, 2, 3]                                        # whole epochs only
    out = tmp_path / "curve.png"
    plot_learning_curve(metrics, out, reference=ref, reference_label=label)
    assert out.stat().st_size > 5000


def test_source_label_is_relative_inside_the_current_directory(tmp_path, monkeypatch):
    from rsnn_brian.plotting import source_label
    (tmp_path / "measured").mkdir()
    monkeypatch.chdir(tmp_path)
    assert source_label(tmp_path / "measured" / "metrics.csv") == str(Path("measured") / "metrics.csv")
    assert source_label("measured/metrics.csv") == str(Path("measured") / "metrics.csv")
    outside = tmp_path.parent / "elsewhere" / "metrics.csv"
    assert source_label(outside) == str(outside)


def test_committed_tables_hold_no_absolute_paths():
    """Tables under figures/measured/ name their sources relative to the repository, never a machine's path."""
    import re
    root = Path(__file__).resolve().parents[1] / "figures" / "measured"
    pattern = re.compile(r"(^|[,\"'\s])/(home|work|tmp|Users|root)/")
    bad = [str(p.relative_to(root)) for p in sorted(root.rglob("*.csv")) if pattern.search(p.read_text())]
    assert not bad, f"absolute paths in {bad}"
