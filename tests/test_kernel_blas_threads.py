"""The notebook kernels run one BLAS thread each (pipeline/jobs.kernel_environment): two
kernels share the two cores, and OpenBLAS's idle threads spin. Asked of OpenBLAS itself, in a
kernel forked from a template started as start_pool starts it; a number the environment sets is
kept (which also shows the probe can see another number than 1)."""

from __future__ import annotations

import os

import pytest

from evaluation.pipeline import kernel_template
from evaluation.pipeline.kernel_reuse import ReusedKernel
from evaluation.pipeline.schedule import kernel_environment
from evaluation.publish.view import ENV as VIEW_ENV

PROBE = """
import ctypes, numpy
_found = {}
for _line in open("/proc/self/maps"):
    _path = _line.split()[-1]
    if "openblas" in _path and _path.endswith(".so") and _path not in _found:
        _lib = ctypes.CDLL(_path)
        for _name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                      "openblas_get_num_threads"):
            if hasattr(_lib, _name):
                _found[_path] = getattr(_lib, _name)()
                break
open(OUT, "w").write(",".join(str(n) for n in _found.values()))
"""


def _blas_threads_in_kernel(tmp_path, base: dict[str, str]) -> str:
    tmp_path.mkdir()
    template = kernel_template.start(
        tmp_path / "kernels.log", "import numpy\n", kernel_environment(base)
    )
    kernel = ReusedKernel(template=template.address)
    try:
        kernel.warm(tmp_path, {VIEW_ENV: ""}, "import numpy\n")
        out = tmp_path / "threads.txt"
        kernel._run(PROBE.replace("OUT", repr(str(out))), "ask OpenBLAS", 60)
        return out.read_text()
    finally:
        kernel.close()
        template.close()


@pytest.mark.skipif(not kernel_template.available(), reason="kernels are forked on POSIX only")
def test_kernels_run_one_blas_thread_unless_the_environment_says_otherwise(tmp_path):
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert _blas_threads_in_kernel(tmp_path / "a", base) == "1"
    assert _blas_threads_in_kernel(tmp_path / "b", {**base, "OPENBLAS_NUM_THREADS": "2"}) == "2"


def test_the_kernel_environment_keeps_the_callers_settings():
    env = kernel_environment({"PATH": "/bin", "MPLBACKEND": "agg", VIEW_ENV: "x"})
    assert env == {
        "PATH": "/bin",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        VIEW_ENV: "",
    }
