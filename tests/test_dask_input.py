"""Input to the dask engine: Dask frames checked before anything runs; gradfit's own cluster says a bad
value in one line (no worker log on stderr)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask.dataframe", reason="the dask extra is installed by `make test`")
pytest.importorskip("distributed")

import gradfit.engines.dask  # noqa: E402
from gradfit.errors import DataError  # noqa: E402


def test_dask_frames_with_dates_text_or_twice_named_columns_are_refused_before_running():
    import dask.dataframe as dd
    import pandas as pd

    frame = pd.DataFrame({"t": pd.date_range("2020", periods=40), "x": np.arange(40.0), "s": ["a"] * 40,
                          "y": np.arange(40.0) * 2})
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(DataError, match="'t' holds dates or times"):
        gradfit.engines.dask.DaskData.from_dask(ddf[["t", "x"]], ddf["y"])
    with pytest.raises(DataError, match="'s' has dtype"):
        gradfit.engines.dask.DaskData.from_dask(ddf[["s"]], ddf["y"])
    twice = dd.from_pandas(pd.DataFrame(np.ones((40, 2)), columns=["a", "a"]), npartitions=2)
    with pytest.raises(DataError, match="'a' more than once"):
        gradfit.engines.dask.DaskData.from_dask(twice, ddf["y"])


def test_gradfits_own_cluster_reports_a_bad_value_as_one_line(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(50)))
    (tmp_path / "b.csv").write_text("x,y\n1,2\n\n3,four\n")
    proc = subprocess.run([sys.executable, "-m", "gradfit", "fit", str(tmp_path / "*.csv"), "--x", "x", "--y", "y",
                           "--engine", "dask", "-q"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: Column 'y'") and proc.stderr.count("\n") == 1, proc.stderr
    assert "b.csv" in proc.stderr and "line 4" in proc.stderr
