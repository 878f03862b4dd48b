"""figures/results_table.py and figures/paper_learning_curves.py: the numbers are those of the files."""

import pandas as pd
import pytest
from script_loader import ROOT, load_script

MEASURED = ROOT / "figures" / "measured"
REFERENCE = ROOT / "figures" / "reference" / "reference_learning_curves.csv"
HM2BP = ROOT / "figures" / "reference" / "hm2bp_mnist_784-800-10.csv"


def test_results_table_numbers_are_the_metrics_files(tmp_path):
    mod = load_script("figures", "results_table")
    t = mod.main(["--out", str(tmp_path)]).set_index(["experiment", "source"])
    for name, (_, files, _, authors_run, _) in mod.EXPERIMENTS.items():
        runs = [pd.read_csv(MEASURED / f)["test_accuracy"] for f in files]
        n = min((len(r) for r in runs), default=0)
        runs = [r.head(n) for r in runs]          # compared after the epochs every run reached
        row = t.loc[(name, "rsnn_brian")]
        assert row["runs"] == len(runs)
        if runs:
            finals = pd.Series([r.iloc[-1] for r in runs])
            bests = pd.Series([r.max() for r in runs])
            assert row["final_mean"] == pytest.approx(finals.mean())
            assert row["best_mean"] == pytest.approx(bests.mean())
            assert row["best_run"] == pytest.approx(bests.max())
            if len(runs) > 1:
                assert row["final_sd"] == pytest.approx(finals.std(ddof=1))
        if authors_run:
            ref = pd.concat([pd.read_csv(REFERENCE), pd.read_csv(HM2BP)])
            ref = ref[ref.run == authors_run]
            assert len(ref) and t.loc[(name, "authors (log)"), "best_mean"] == ref.test_accuracy.max()
            if runs:      # their figure after as many epochs as ours
                assert t.loc[(name, "authors (log)"), "final_mean"] == ref[ref.epoch == n - 1].test_accuracy.iloc[0]
    # the README's Fashion-MNIST figures: 87.39 % after 3 epochs (mean of 3 seeds), authors 87.19 %
    assert round(t.loc[("fashion-mnist", "rsnn_brian"), "final_mean"], 2) == 87.39
    assert t.loc[("fashion-mnist", "authors (log)"), "final_mean"] == 87.19
    assert t.loc[("mnist", "authors (log)"), "architecture"] == "784-800-10"      # HM2-BP, not ST-RSBP
    assert t.loc[("fashion-mnist", "authors (log)"), "architecture"] == "784-400-R400-10"
    md = (tmp_path / "results_table.md").read_text()
    assert "| fashion-mnist | 784-400-R400-10 | rsnn_brian | 3 (seeds 0, 1, 2) | 3 | 87.39 ± 0.27 |" in md
    assert pd.read_csv(tmp_path / "results_table.csv").shape[0] == len(t)


def test_results_table_from_a_protocol_folder(tmp_path):
    mod = load_script("figures", "results_table")
    folder = tmp_path / "p"
    folder.mkdir()
    pd.DataFrame({"condition": ["x"] * 4, "seed": [0, 0, 1, 1], "epoch": [1, 2, 1, 2],
                  "test_accuracy": [50.0, 60.0, 70.0, 65.0]}).to_csv(folder / "metrics.csv", index=False)
    t = mod.main(["--protocol", f"mnist={folder}", "--out", str(tmp_path / "o")]).set_index(["experiment", "source"])
    row = t.loc[("mnist", "rsnn_brian")]
    assert (row["runs"], row["final_mean"], row["best_mean"], row["best_run"]) == (2, 62.5, 65.0, 70.0)
    folder.joinpath("metrics.csv").write_text("condition,seed,epoch,test_accuracy\nx,0,1,50\nx,0,2,60\nx,1,1,70\n")
    row = mod.main(["--protocol", f"mnist={folder}", "--out", str(tmp_path / "o")]).set_index(
        ["experiment", "source"]).loc[("mnist", "rsnn_brian")]
    assert (row["epochs"], row["final_mean"], row["best_run"]) == (1, 60.0, 70.0)    # seed 0 cut after epoch 1
    with pytest.raises(SystemExit, match="EXPERIMENT=FOLDER"):
        mod.main(["--protocol", "cifar=x", "--out", str(tmp_path / "o")])


def test_paper_learning_curves_data(tmp_path):
    mod = load_script("figures", "paper_learning_curves")
    data = mod.main(["--out", str(tmp_path)])
    fm = data[data.panel.str.startswith("Fashion")]
    ours = fm[fm.source.str.startswith("rsnn")]
    assert sorted(ours.seed.unique()) == [0, 1, 2]
    means = ours.groupby("epochs trained")["test accuracy (%)"].mean().round(2)
    assert list(means) == [85.29, 86.33, 87.39]                       # the README's mean of 3 seeds
    theirs = fm[fm.source.str.startswith("authors")]
    assert list(theirs["epochs trained"]) == [1, 2, 3, 4, 5]          # 0-based logs shifted, cut at ours + 2
    assert list(theirs["test accuracy (%)"][:3]) == [84.71, 86.07, 87.19]
    fsdd = data[data.panel.str.startswith("spoken") & data.source.str.startswith("rsnn")]
    for seed, name in enumerate(mod.PANELS["spoken digits, 78-200-R200-200-10"][0]):
        assert list(fsdd[fsdd.seed == seed]["test accuracy (%)"]) == list(pd.read_csv(MEASURED / name).test_accuracy)
    assert sorted(fsdd.seed.unique()) == [0, 1, 2]
    mnist = data[data.panel.str.startswith("MNIST")]
    m = pd.read_csv(MEASURED / "mnist_b16_metrics.csv")
    ours = mnist[mnist.source.str.startswith("rsnn")]
    assert list(ours["test accuracy (%)"]) == list(m.test_accuracy)
    assert list(ours["epochs trained"]) == list(range(1, len(m) + 1))
    hm2bp = mnist[mnist.source.str.startswith("authors' HM2-BP")]            # no ST-RSBP log for MNIST
    assert list(hm2bp["epochs trained"]) == list(range(1, len(m) + 3))
    assert list(hm2bp["test accuracy (%)"][:3]) == [97.32, 97.79, 98.04]
    assert (tmp_path / "paper_learning_curves.png").stat().st_size > 10_000


def test_hm2bp_log_parsed_whole():
    """The HM2-BP MNIST log: 200 epochs, the running best is the maximum so far, 98.93 % after 101 epochs."""
    h = pd.read_csv(ROOT / "figures" / "reference" / "hm2bp_mnist_784-800-10.csv")
    assert list(h.epoch) == list(range(200))
    assert (h.best_test_accuracy == h.test_accuracy.cummax()).all()
    assert h.test_accuracy.max() == 98.93 and int(h.test_accuracy.idxmax()) == 100
    assert h.lr.iloc[0] == 0.001 and (h.lr.diff().dropna() <= 0).all()


SHARED = ROOT.parent / "shared" / "reference"


@pytest.mark.parametrize("name", ["reference_learning_curves.csv", "effect_ratio_poly_taum64_T400.txt",
                                  "effect_ratio_poly_taum128_T700.txt"])
def test_copied_reference_files_equal_the_shared_ones(name):
    if not (SHARED / name).is_file():
        pytest.skip(f"{SHARED / name} not here")
    assert (ROOT / "figures" / "reference" / name).read_bytes() == (SHARED / name).read_bytes()
