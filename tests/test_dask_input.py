"""Input to the dask engine: gradfit's own cluster says a bad value in one line (no worker log on stderr)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from patience import patience

pytest.importorskip("dask.dataframe", reason="the dask extra is installed by `make test`")
pytest.importorskip("distributed")

pytestmark = pytest.mark.slow          # a Dask cluster: left out of make test-fast


def test_gradfits_own_cluster_reports_a_bad_value_as_one_line(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(50)))
    (tmp_path / "b.csv").write_text("x,y\n1,2\n\n3,four\n")
    proc = subprocess.run([sys.executable, "-m", "gradfit", "fit", str(tmp_path / "*.csv"), "--x", "x", "--y", "y",
                           "--engine", "dask", "-q"], capture_output=True, text=True, timeout=patience(300))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: Column 'y'") and proc.stderr.count("\n") == 1, proc.stderr
    assert "b.csv" in proc.stderr and "line 4" in proc.stderr
