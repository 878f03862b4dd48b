"""Import a script of the repository's figures/ or benchmarks/ folders as a module, for tests."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(folder: str, name: str):
    """``load_script("figures", "learning_curves")`` -> the module of figures/learning_curves.py."""
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
