"""Packaging: `gradfit --version`, the version written in one place, a license setuptools reads without warning."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

import gradfit

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_version_flag_prints_the_version_and_exits(cli):
    res = cli("--version")
    assert res.code == 0
    assert res.out == f"gradfit {gradfit.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", gradfit.__version__)


def test_version_flag_is_in_the_help(cli):
    assert "--version" in cli("--help").out


def test_the_version_is_written_only_in_gradfit_init():
    project = tomllib.loads(PYPROJECT.read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gradfit.__version__"}


def test_the_installed_metadata_carries_the_same_version():
    try:
        installed = importlib.metadata.version("gradfit")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("gradfit is not installed here (run from a source tree)")
    assert installed == gradfit.__version__


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it():
    # A TOML table ({text = "MIT"}) is deprecated and warns on every install; the SPDX string form
    # needs setuptools 77 or later (PEP 639).
    project = tomllib.loads(PYPROJECT.read_text())
    assert project["project"]["license"] == "MIT"
    (requirement,) = [r for r in project["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", requirement)
    assert minimum and int(minimum[1]) >= 77
