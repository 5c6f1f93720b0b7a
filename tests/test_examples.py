"""Every example in examples/ runs as it is and checks its own results (each ends in an
assert), so an example that stops working fails here."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NEEDS = {"joblib_sklearn.py": ("joblib", "sklearn")}  # optional extras an example imports

pytestmark = pytest.mark.timeout(240)


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path):
    for module in NEEDS.get(path.name, ()):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{path.name} needs {module} (pip install 'netpool[joblib]' scikit-learn)")
    env = dict(os.environ, NETPOOL_QUIET="1")
    proc = subprocess.run([sys.executable, str(path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=220)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.strip(), "an example should show what it did"
