"""figures/regulariser_grid.py: its table is the protocol's numbers; bands and sizes as drawn."""

import numpy as np
import pandas as pd
import pytest
from script_loader import ROOT, load_script

MEASURED = ROOT / "figures" / "measured"


@pytest.mark.parametrize("folder", ["regulariser_grid", "regulariser"])
def test_grid_table_is_the_protocols_numbers(tmp_path, folder):
    mod = load_script("figures", "regulariser_grid")
    results = MEASURED / folder
    table = mod.main(["--results", str(results), "--out", str(tmp_path)]).set_index("setting")
    s = pd.read_csv(results / "settings.csv")
    w = pd.read_csv(results / "weight_stats.csv")
    off = s[s.setting == "off"].set_index("seed").test_accuracy
    for name, g in s.groupby("setting"):
        acc = g.set_index("seed").test_accuracy
        row = table.loc[name]
        assert row.seeds == len(acc) and row["mean"] == pytest.approx(acc.mean()) and row.best == acc.max()
        assert row.sd == pytest.approx(acc.std(ddof=1))
        paired = acc - off.reindex(acc.index)
        assert row.minus_off_mean == pytest.approx(paired.mean())
        assert row.minus_off_sd == pytest.approx(paired.std(ddof=1), nan_ok=True)
        assert row.rare_share_in_range == pytest.approx(g.rare_share_in_range.mean())
        ff2 = w[(w.setting == name) & (w.array == "ff2") & (w.group == "all")].mean_abs.mean()
        assert row.ff2_mean_abs == pytest.approx(ff2)
    assert table.loc["off", "minus_off_mean"] == 0
    assert list(table["mean"]) == sorted(table["mean"], reverse=True)
    assert len(pd.read_csv(tmp_path / "regulariser_grid.csv")) == s.setting.nunique()
    assert (tmp_path / "regulariser_grid.png").stat().st_size > 20_000 and (tmp_path / "regulariser_grid.pdf").is_file()


def test_committed_grid_is_the_issues_grid():
    """The committed grid: 7 settings x seeds 0-2, 20,000 / 2,000 images, one epoch."""
    mod = load_script("figures", "regulariser_grid")
    s = pd.read_csv(mod.DEFAULT / "settings.csv")
    assert s.setting.nunique() == 7 and set(s.groupby("setting").seed.apply(frozenset)) == {frozenset({0, 1, 2})}
    assert mod.scale(mod.DEFAULT) == "20,000 / 2,000 images, 1 epoch"


def test_weight_bands_draw_the_shares():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rsnn_brian.plotting import plot_weight_bands
    shares = pd.DataFrame({"share_below": [0.1, 0.6], "share_in_range": [0.3, 0.4], "share_above": [0.6, 0.0]},
                          index=["a", "b"])
    ax = plot_weight_bands(shares)
    widths = np.array([p.get_width() for p in ax.patches]).reshape(3, 2)      # below, in, above; rows a, b
    np.testing.assert_allclose(widths, 100 * shares.to_numpy().T)
    top = max(ax.get_yticklabels(), key=lambda t: t.get_position()[1])
    assert top.get_text() == "a"                                            # the first row at the top
    plt.close(ax.figure)


def test_bad_folders_are_one_line(tmp_path):
    mod = load_script("figures", "regulariser_grid")
    with pytest.raises(SystemExit, match="does not exist"):
        mod.main(["--results", str(tmp_path), "--out", str(tmp_path / "o")])
    pd.DataFrame({"setting": ["off"], "seed": [0]}).to_csv(tmp_path / "settings.csv", index=False)
    with pytest.raises(SystemExit, match="lacks the columns"):
        mod.main(["--results", str(tmp_path), "--out", str(tmp_path / "o")])
