"""gradfit's two small C extensions (everything else is in pyproject.toml): the stats engine's one-pass
summary kernel; and the accelerated rule's update in one call, with coordinate descent's loop over α.

``optional=True``: where no C compiler is at hand the build still succeeds and ``gradfit.engines.stats``,
``gradfit.descent`` and ``gradfit.coordinate`` fall back to NumPy (same arithmetic, slower).
"""

import sys

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "gradfit.engines._summary",
    sources=["src/gradfit/engines/_summary.c"],
    depends=["src/gradfit/engines/_summary_kernel.h", "src/gradfit/_float64.h"],
    extra_compile_args=[] if sys.platform == "win32" else ["-O3"],
    optional=True,
), Extension(
    "gradfit._rules",
    sources=["src/gradfit/_rules.c"],
    depends=["src/gradfit/_float64.h"],
    # Products rounded before sums, as NumPy's operations round them: the same bits as descent.py's form.
    extra_compile_args=[] if sys.platform == "win32" else ["-O2", "-ffp-contract=off"],
    optional=True,
)])
