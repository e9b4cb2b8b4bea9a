"""The one C extension: gradfit's one-pass summary kernel (everything else is in pyproject.toml).

``optional=True``: where no C compiler is at hand the build still succeeds and
``gradfit.engines.stats`` falls back to NumPy (same results, a few times slower).
"""

import sys

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "gradfit.engines._summary",
    sources=["src/gradfit/engines/_summary.c"],
    depends=["src/gradfit/engines/_summary_kernel.h"],
    extra_compile_args=[] if sys.platform == "win32" else ["-O3"],
    optional=True,
)])
