"""figures/regulariser.py: the curves and the epoch-1 table are the files' numbers."""

import numpy as np
import pandas as pd
import pytest
from script_loader import ROOT, load_script

MEASURED = ROOT / "figures" / "measured"


def _first_epoch(path) -> float:
    m = pd.read_csv(path)
    return float(m["test_accuracy"].iloc[0])       # the first row is epoch 1 (0 in older files)


def test_regulariser_figure_from_the_committed_runs(tmp_path):
    mod = load_script("figures", "regulariser")
    data, table, epochs = mod.main(["--out", str(tmp_path)])
    t = table.set_index("setting")
    off = [_first_epoch(MEASURED / f) for f in mod.RUNS["off"]]
    assert t.loc["off", "seeds"] == 3 and t.loc["off", "mean"] == pytest.approx(np.mean(off))
    assert t.loc["off", "sd"] == pytest.approx(np.std(off, ddof=1)) and t.loc["off", "best"] == max(off)
    full = pd.read_csv(MEASURED / "regulariser_full" / "metrics.csv").set_index("condition")
    assert t.loc["ff1 only", "mean"] == full.loc["ff1 only", "test_accuracy"]
    assert t.loc["lambda 10 everywhere", "mean"] == _first_epoch(MEASURED / "fashion_mnist_b16_metrics.csv")
    ref = pd.read_csv(ROOT / "figures" / "reference" / "reference_learning_curves.csv")
    a1 = ref[(ref.run == mod.AUTHORS_RUN) & (ref.epoch == 0)].test_accuracy.iloc[0]
    np.testing.assert_allclose(t["minus_authors"], t["mean"] - a1)
    assert list(table["mean"]) == sorted(table["mean"], reverse=True)
    # every epoch of every committed run is drawn: the seeds of 'off' have three each
    assert sorted(data[data.setting == "off"].groupby("seed").epochs.max()) == [3, 3, 3]
    written = pd.read_csv(tmp_path / "regulariser_epoch1.csv")
    assert list(written.setting) == list(table.setting)
    assert (tmp_path / "regulariser.png").stat().st_size > 20_000 and (tmp_path / "regulariser.pdf").is_file()


def test_a_protocol_folder_adds_and_replaces_rows(tmp_path):
    mod = load_script("figures", "regulariser")
    folder = tmp_path / "p"
    folder.mkdir()
    rows = [dict(condition="lambda 10 everywhere", seed=0, epoch=e, test_accuracy=a)
            for e, a in ((1, 70.0), (2, 71.0), (3, 72.5))]
    rows += [dict(condition="ff1 lambda 0.03", seed=s, epoch=1, test_accuracy=a) for s, a in ((1, 83.0), (2, 84.0))]
    pd.DataFrame(rows).to_csv(folder / "metrics.csv", index=False)
    data, table, epochs = mod.main(["--protocol", str(mod.PROTOCOL), "--protocol", str(folder),
                                    "--out", str(tmp_path / "o")])
    lam10 = data[data.setting == "lambda 10 everywhere"].set_index("epochs").test_accuracy
    assert list(lam10.sort_index()) == [70.0, 71.0, 72.5]            # the later folder wins, epoch 3 added
    t = table.set_index("setting")
    seed0 = pd.read_csv(mod.PROTOCOL / "metrics.csv").set_index("condition").loc["ff1 lambda 0.03", "test_accuracy"]
    assert t.loc["ff1 lambda 0.03", "seeds"] == 3
    assert t.loc["ff1 lambda 0.03", "mean"] == pytest.approx(np.mean([seed0, 83.0, 84.0]))
    e = epochs.set_index(["setting", "epochs"])
    assert e.loc[("lambda 10 everywhere", 3), "mean"] == 72.5 and e.loc[("lambda 10 everywhere", 3), "seeds"] == 1
    assert e.loc[("lambda 10 everywhere", 2), "minus_authors"] == pytest.approx(71.0 - 86.07)


def test_the_chosen_setting_three_seeds_three_epochs(tmp_path):
    """The committed three-epoch runs of the chosen setting: the per-epoch table is their mean, s.d., best."""
    mod = load_script("figures", "regulariser")
    data, table, epochs = mod.main(["--out", str(tmp_path)])
    runs = pd.read_csv(mod.PROTOCOL_3EP / "metrics.csv")
    runs = runs[runs.condition == "ff1 lambda 0.03"]
    assert sorted(runs.seed.unique()) == [0, 1, 2] and sorted(runs.groupby("seed").epoch.max()) == [3, 3, 3]
    e = epochs.set_index(["setting", "epochs"])
    ref = pd.read_csv(ROOT / "figures" / "reference" / "reference_learning_curves.csv")
    ref = ref[ref.run == mod.AUTHORS_RUN].set_index("epoch").test_accuracy
    for k in (1, 2, 3):
        acc = runs[runs.epoch == k].test_accuracy
        row = e.loc[("ff1 lambda 0.03", k)]
        assert row["seeds"] == 3 and row["mean"] == pytest.approx(acc.mean())
        assert row["sd"] == pytest.approx(acc.std(ddof=1)) and row["best"] == acc.max()
        assert row["authors"] == pytest.approx(ref.loc[k - 1])
        assert row["minus_authors"] == pytest.approx(acc.mean() - ref.loc[k - 1])
    assert (tmp_path / "regulariser_epochs.csv").is_file()


def test_bad_folders_are_one_line(tmp_path):
    mod = load_script("figures", "regulariser")
    with pytest.raises(SystemExit, match="does not exist"):
        mod.main(["--protocol", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")])
    (tmp_path / "bad").mkdir()
    pd.DataFrame({"epoch": [1], "test_accuracy": [50.0]}).to_csv(tmp_path / "bad" / "metrics.csv", index=False)
    with pytest.raises(SystemExit, match=r"lacks the columns \['condition', 'seed'\]"):
        mod.main(["--protocol", str(tmp_path / "bad"), "--out", str(tmp_path / "o")])
