"""What a user picking the package up relies on: the version, the licence, the changelog."""

import importlib.metadata
import re
import subprocess
import sys
import warnings
from pathlib import Path

import netpool

ROOT = Path(__file__).resolve().parent.parent


def test_netpool_version_is_the_packages():
    out = subprocess.run([sys.executable, "-m", "netpool", "--version"], capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == f"netpool {netpool.__version__}"
    assert importlib.metadata.version("netpool") == netpool.__version__


def test_the_license_file_is_the_one_pyproject_names():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'license = \{text = "MIT"\}', pyproject)
    assert "License :: OSI Approved :: MIT License" in pyproject
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_changelog_has_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[?{re.escape(netpool.__version__)}\]?", changelog, re.M)


def test_every_public_name_has_a_docstring():
    with warnings.catch_warnings():  # the deprecated "slave" aliases warn when looked up
        warnings.simplefilter("ignore", DeprecationWarning)
        missing = [n for n in netpool.__all__ if not (getattr(netpool, n).__doc__ or "").strip()]
    assert not missing
