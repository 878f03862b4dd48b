"""brian2cuda's cuda_standalone device: the cpp_standalone backend with the CUDA tool chain.

Runs like cpp_standalone (compile once, rerun with run_args), one chunk at a
time. What differs is the tool chain (BRIAN2_NOTES, build): curand's headers
and library come from the ``nvidia-curand`` wheel (:func:`find_curand`), CUDA
13 needs ``-std=c++17`` in both the nvcc and the gcc flags, the wheel ships
only ``libcurand.so.<N>`` (a ``libcurand.so`` link is made in the build
folder), and brian2cuda's synapse templates hard-code ``defaultclock``.
``compile_only`` skips GPU detection so that code can be generated and
compiled on a machine without a GPU.

On GPU expect rare differences from the NumPy reference (``-use_fast_math``
by default, atomics for ``I_post += w``); see BRIAN2_NOTES section 5.
"""

from __future__ import annotations

import importlib.util
import os

from ._backend import BuildSpec
from ._standalone import StandaloneBackend

__all__ = ["CudaBackend", "find_curand", "import_cuda", "CUDA_INSTALL_HINT"]

CUDA_INSTALL_HINT = "pip install rsnn_brian[cuda]  (brian2cuda and nvidia-curand)"
#: Compute capability assumed by ``compile_only`` unless Brian2's prefs give one.
COMPILE_ONLY_CAPABILITY = 7.5


def find_curand() -> tuple[str, str] | None:
    """(include_dir, lib_dir) of the nvidia-curand wheel, if installed."""
    for modname in ("nvidia.cu13", "nvidia.curand", "nvidia"):
        try:
            spec = importlib.util.find_spec(modname)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            for dirpath, _dirs, files in os.walk(root):
                if "curand.h" in files:
                    inc = dirpath
                    base = os.path.dirname(inc)
                    for lib in ("lib", "lib64"):
                        libdir = os.path.join(base, lib)
                        if os.path.isdir(libdir) and any(f.startswith("libcurand") for f in os.listdir(libdir)):
                            return inc, libdir
    return None


def import_cuda() -> None:
    """Import brian2cuda (which registers the 'cuda_standalone' device); ImportError with the fix."""
    try:
        import brian2cuda  # noqa: F401
    except ImportError as err:
        raise ImportError(f"device='cuda_standalone' needs brian2cuda, which is not importable "
                          f"({err}). Install it with: {CUDA_INSTALL_HINT}") from None


class CudaBackend(StandaloneBackend):
    """cuda_standalone (brian2cuda); chunks run one at a time."""

    device_name = "cuda_standalone"
    parallel = False
    own_launch = False

    def set_prefs(self, spec: BuildSpec) -> None:
        """cpp_standalone's preferences, curand's folders, C++17 and the nvcc flags."""
        from brian2 import prefs
        super().set_prefs(spec)
        cur = find_curand()
        if cur is None:
            raise ImportError("cuda_standalone needs curand headers and library; install them with "
                              f"{CUDA_INSTALL_HINT}")
        inc, lib = cur
        cpp = prefs.codegen.cpp
        cpp.include_dirs = list(cpp.include_dirs) + [inc]
        cpp.library_dirs = list(cpp.library_dirs) + [lib]
        cpp.runtime_library_dirs = list(cpp.runtime_library_dirs) + [lib]
        cpp.extra_compile_args_gcc = [a for a in cpp.extra_compile_args_gcc
                                      if not a.startswith("-std=")] + ["-std=c++17"]
        backend = prefs.devices.cuda_standalone.cuda_backend
        nvcc = [a for a in backend.extra_compile_args_nvcc if not a.startswith("-std=")]
        backend.extra_compile_args_nvcc = nvcc + ["-std=c++17", f"-I{inc}"] + list(spec.cuda_extra_nvcc_args)
        if spec.compile_only:
            # no GPU needed to generate and compile
            backend.detect_gpus = False
            if backend.gpu_id is None:
                backend.gpu_id = 0
            if backend.compute_capability is None:
                backend.compute_capability = COMPILE_ONLY_CAPABILITY

    def make_clock(self, dt):
        """brian2cuda's synapse templates hard-code 'defaultclock'."""
        from brian2 import defaultclock
        defaultclock.dt = dt
        return defaultclock

    def before_compile(self) -> None:
        """The nvidia-curand wheel ships only libcurand.so.<N>; brian2cuda links with -lcurand.

        Put a libcurand.so symlink in the build folder and add it to the library dirs.
        """
        from brian2 import prefs
        _inc, lib = find_curand()
        if os.path.exists(os.path.join(lib, "libcurand.so")):
            return
        versioned = sorted(f for f in os.listdir(lib) if f.startswith("libcurand.so."))
        if not versioned:
            raise ImportError(f"no libcurand.so.* in {lib}; reinstall with {CUDA_INSTALL_HINT}")
        shim = os.path.join(self.build_dir, "curand_lib")
        os.makedirs(shim, exist_ok=True)
        link = os.path.join(shim, "libcurand.so")
        if not os.path.islink(link):
            os.symlink(os.path.join(lib, versioned[0]), link)
        prefs.codegen.cpp.library_dirs = list(prefs.codegen.cpp.library_dirs) + [shim]
