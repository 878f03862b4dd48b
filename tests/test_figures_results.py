"""figures/results_table.py and figures/paper_learning_curves.py: the numbers are those of the files."""

import pandas as pd
import pytest
from script_loader import ROOT, load_script

MEASURED = ROOT / "figures" / "measured"
REFERENCE = ROOT / "figures" / "reference" / "reference_learning_curves.csv"


def test_results_table_numbers_are_the_metrics_files(tmp_path):
    mod = load_script("figures", "results_table")
    t = mod.main(["--out", str(tmp_path)]).set_index(["experiment", "source"])
    for name, (_, files, _, authors_run, _) in mod.EXPERIMENTS.items():
        runs = [pd.read_csv(MEASURED / f)["test_accuracy"] for f in files]
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
            ref = pd.read_csv(REFERENCE)
            ref = ref[ref.run == authors_run]
            assert t.loc[(name, "authors (log)"), "best_mean"] == ref.test_accuracy.max()
    # the README's Fashion-MNIST figures: 87.39 % after 3 epochs (mean of 3 seeds), authors 87.19 %
    assert round(t.loc[("fashion-mnist", "rsnn_brian"), "final_mean"], 2) == 87.39
    assert t.loc[("fashion-mnist", "authors (log)"), "final_mean"] == 87.19
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
    assert list(fsdd["test accuracy (%)"]) == list(pd.read_csv(MEASURED / "fsdd_official_metrics.csv").test_accuracy)
    assert (tmp_path / "paper_learning_curves.png").stat().st_size > 10_000


SHARED = ROOT.parent / "shared" / "reference"


@pytest.mark.parametrize("name", ["reference_learning_curves.csv", "effect_ratio_poly_taum64_T400.txt",
                                  "effect_ratio_poly_taum128_T700.txt"])
def test_copied_reference_files_equal_the_shared_ones(name):
    if not (SHARED / name).is_file():
        pytest.skip(f"{SHARED / name} not here")
    assert (ROOT / "figures" / "reference" / name).read_bytes() == (SHARED / name).read_bytes()
