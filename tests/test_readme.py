"""The README's Python snippets run as they are: every name they use is defined in them."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```python\n(.*?)```", README, re.S)

pytestmark = pytest.mark.timeout(240)


def test_the_readme_opens_with_the_demo_and_the_test_command():
    commands = re.findall(r"```bash\n(.*?)```", README, re.S)[:2]
    assert "netpool demo" in commands[0]
    assert "pip install -e '.[test]'" in commands[1] and "python -m pytest" in commands[1]


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs(index, tmp_path):
    code = SNIPPETS[index]
    if "import joblib" in code:
        pytest.importorskip("joblib", reason="the snippet needs netpool[joblib]")
    script = tmp_path / f"snippet{index}.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=220)
    assert proc.returncode == 0, f"README snippet {index}:\n{code}\n{proc.stderr[-3000:]}"
