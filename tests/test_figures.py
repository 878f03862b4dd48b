"""The figure scripts read saved run directories and draw (no simulation)."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

FIGURES = Path(__file__).resolve().parents[1] / "figures"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, FIGURES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
    mod = _load("speaker_held_out")
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
    mod = _load("learning_curves")
    run = _run_dir(tmp_path, "fsdd", [80.0, 90.0], split_kind="official")
    ref = tmp_path / "ref.csv"
    pd.DataFrame({"run": ["ti46-digits x"] * 3 + ["fashion-mnist y"], "epoch": [0, 1, 2, 0],
                  "test_accuracy": [85.0, 94.0, 96.0, 80.0]}).to_csv(ref, index=False)
    data = mod.tidy([run], ref, "ti46-digits")
    assert set(data["source"]) == {"rsnn_brian: fsdd", "authors: ti46-digits x"}
    assert len(data) == 2 + 3
    mod.main([str(run), "--reference", str(ref), "--reference-run", "ti46-digits", "--out", str(tmp_path / "o")])
    assert (tmp_path / "o" / "learning_curves.png").is_file()
