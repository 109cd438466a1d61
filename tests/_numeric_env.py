"""The same floating-point kernels on every x86-64 machine, set before numpy loads (a
pytest plugin: ``-p tests._numeric_env`` in pyproject's addopts, loaded before any
conftest imports numpy).

numpy picks SIMD kernels and OpenBLAS picks a core type by the CPU it runs on, and
AVX-512 kernels sum in another order than AVX2 ones, so the last bits of some outputs
differ between machines. The bit-for-bit digests of tests/test_bitwise.py were recorded
with the AVX2 kernels (OpenBLAS's Haswell core): pin those here, for the test process and
every subprocess it starts, unless the environment already says otherwise.
docs/scoring.md ("Determinism") tells users how to do the same.
"""

from __future__ import annotations

import os


def pin_numeric_kernels(cpuinfo: str = "/proc/cpuinfo") -> dict[str, str]:
    """Set OPENBLAS_CORETYPE and NPY_DISABLE_CPU_FEATURES (when unset) for an x86-64 CPU
    with AVX2 (and AVX-512); returns what was set."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return {}
    wanted: dict[str, str] = {}
    if "avx2" in flags:
        wanted["OPENBLAS_CORETYPE"] = "Haswell"
        if "avx512f" in flags:
            wanted["NPY_DISABLE_CPU_FEATURES"] = "X86_V4 AVX512_ICL AVX512_SPR"
    done = {k: v for k, v in wanted.items() if k not in os.environ}
    os.environ.update(done)
    return done


pin_numeric_kernels()
