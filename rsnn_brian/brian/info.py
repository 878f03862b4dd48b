"""What this machine can run: versions, devices, effective Brian2 preferences.

:func:`collect_info` returns a plain dict (JSON-serialisable);
:func:`format_info` turns it into the text of ``rsnn-brian info``.
"""

from __future__ import annotations

import importlib.util
import platform
import re
import shutil
import subprocess
import sys

__all__ = ["collect_info", "format_info"]


def _version(mod: str) -> str | None:
    try:
        from importlib.metadata import version
        return version(mod)
    except Exception:
        return None


def _run(cmd: list[str], timeout: float = 10.0) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _cpp_compiler() -> dict:
    """Brian2's own detection of the C++ compiler and its flags."""
    try:
        from ._brian_private import compiler_and_args
        compiler, args = compiler_and_args()
        found = _find_compiler_binary(compiler)
        return {"name": compiler, "path": found, "ok": found is not None, "flags": list(args)}
    except Exception as err:   # pragma: no cover - depends on the machine
        return {"name": None, "path": None, "ok": False, "error": str(err)}


def _find_compiler_binary(compiler: str | None) -> str | None:
    if compiler in (None, "unix"):
        import os
        import sysconfig
        cxx = os.environ.get("CXX") or (sysconfig.get_config_var("CXX") or "g++").split()[0]
        return shutil.which(cxx) or shutil.which("g++") or shutil.which("c++")
    if compiler == "msvc":
        return "msvc"
    return shutil.which(compiler)


def _nvcc() -> dict:
    path = shutil.which("nvcc")
    if path is None:
        import os
        for cand in ("/usr/local/cuda/bin/nvcc",):
            if os.path.exists(cand):
                path = cand
    if path is None:
        return {"path": None, "version": None}
    out = _run([path, "--version"]) or ""
    m = re.search(r"release ([0-9.]+)", out)
    return {"path": path, "version": m.group(1) if m else None}


def _gpus() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    out = _run(["nvidia-smi", "--query-gpu=name,memory.total,compute_cap", "--format=csv,noheader"])
    return [line.strip() for line in (out or "").splitlines() if line.strip()]


def _importable(mod: str) -> bool:
    try:
        return importlib.util.find_spec(mod) is not None
    except (ImportError, ValueError):
        return False


def collect_info() -> dict:
    """Versions, usable devices and effective Brian2 preferences, as a dict."""
    import brian2
    import numpy
    from brian2 import prefs

    from .. import __version__
    from ._cuda import find_curand

    cpp = _cpp_compiler()
    cython = _importable("Cython")
    nvcc = _nvcc()
    gpus = _gpus()
    b2cuda = _importable("brian2cuda")
    curand = find_curand()
    info = {
        "versions": {
            "rsnn_brian": __version__,
            "brian2": brian2.__version__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
            "cython": _version("Cython"),
            "brian2cuda": _version("brian2cuda"),
        },
        "platform": f"{platform.system()} {platform.machine()}, {_n_cpus()} CPUs",
        "tools": {
            "cpp_compiler": cpp,
            "cython_importable": cython,
            "nvcc": nvcc,
            "gpus": gpus,
            "brian2cuda_importable": b2cuda,
            "curand": None if curand is None else {"include": curand[0], "lib": curand[1]},
        },
        "devices": {
            "runtime": {"usable": cython and cpp["ok"],
                        "note": "cython target" if cython and cpp["ok"] else "needs Cython and a C++ compiler"},
            "cpp_standalone": {"usable": cpp["ok"], "note": "" if cpp["ok"] else "no C++ compiler found"},
            "cuda_standalone": {
                "usable": bool(b2cuda and nvcc["path"] and gpus and curand),
                "compile_only": bool(b2cuda and nvcc["path"] and curand and not gpus),
                "note": _cuda_note(b2cuda, nvcc, gpus, curand),
            },
        },
        "brian2_prefs": {
            "codegen.target": prefs["codegen.target"],
            "devices.cpp_standalone.openmp_threads": prefs["devices.cpp_standalone.openmp_threads"],
            "codegen.cpp.extra_compile_args": _as_list(prefs["codegen.cpp.extra_compile_args"]),
            "codegen.cpp.extra_compile_args_gcc": _as_list(prefs["codegen.cpp.extra_compile_args_gcc"]),
            "core.default_float_dtype": getattr(prefs["core.default_float_dtype"], "__name__",
                                                str(prefs["core.default_float_dtype"])),
        },
    }
    return info


def _as_list(val):
    return None if val is None else list(val)


def _n_cpus() -> int:
    import os
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # pragma: no cover
        return os.cpu_count() or 1


def _cuda_note(b2cuda, nvcc, gpus, curand) -> str:
    missing = []
    if not b2cuda:
        missing.append("brian2cuda (pip install rsnn_brian[cuda])")
    if not curand:
        missing.append("curand headers (pip install nvidia-curand)")
    if not nvcc["path"]:
        missing.append("nvcc (CUDA toolkit)")
    if not gpus:
        missing.append("a GPU (nvidia-smi found none)")
    if not missing:
        return "ready"
    if missing == ["a GPU (nvidia-smi found none)"]:
        return "can generate and compile code, but no GPU to run it"
    return "missing: " + ", ".join(missing)


def format_info(info: dict) -> str:
    """Human-readable text of :func:`collect_info`'s dict."""
    v, t, d, p = info["versions"], info["tools"], info["devices"], info["brian2_prefs"]
    lines = ["rsnn_brian " + str(v["rsnn_brian"]),
             f"  python {v['python']}, brian2 {v['brian2']}, numpy {v['numpy']}, cython {v['cython']}, "
             f"brian2cuda {v['brian2cuda'] or '-'}",
             f"  platform: {info['platform']}",
             "tools:"]
    cpp = t["cpp_compiler"]
    lines.append(f"  C++ compiler (brian2 detection): {cpp.get('name')} -> {cpp.get('path') or 'NOT FOUND'}")
    lines.append(f"  Cython importable: {'yes' if t['cython_importable'] else 'no'}")
    nv = t["nvcc"]
    lines.append(f"  nvcc: {nv['path'] + ' (CUDA ' + str(nv['version']) + ')' if nv['path'] else 'not found'}")
    lines.append(f"  GPUs: {', '.join(t['gpus']) if t['gpus'] else 'none'}")
    lines.append(f"  brian2cuda importable: {'yes' if t['brian2cuda_importable'] else 'no'}; "
                 f"curand: {t['curand']['include'] if t['curand'] else 'not found'}")
    lines.append("devices:")
    for name, dd in d.items():
        mark = "yes" if dd["usable"] else ("compile only" if dd.get("compile_only") else "no")
        note = f" ({dd['note']})" if dd.get("note") else ""
        lines.append(f"  {name:16s} {mark}{note}")
    lines.append("brian2 preferences:")
    for key, val in p.items():
        lines.append(f"  {key} = {val}")
    return "\n".join(lines)


if __name__ == "__main__":   # pragma: no cover
    print(format_info(collect_info()))
    sys.exit(0)
