#!/usr/bin/env bash
# The package as a user gets it: the wheel and the sdist built and checked (twine --strict:
# metadata, and a README that renders), the wheel installed in a fresh virtual environment
# (its `netpool --version` and `netpool demo` run there, away from the source tree), and the
# API reference built from the docstrings with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

python3 -m venv "$out/build-env"
"$out/build-env/bin/pip" install -q build twine
"$out/build-env/bin/python" -m build -q --outdir "$out/dist" . >/dev/null
"$out/build-env/bin/twine" check --strict "$out"/dist/*
wheel=$(ls "$out"/dist/*.whl)
sdist=$(ls "$out"/dist/*.tar.gz)
listing=$(tar -tzf "$sdist")  # not piped into grep -q: pipefail would see tar's SIGPIPE
for f in LICENSE README.md CHANGELOG.md examples/pool_map.py docs/api/conf.py; do
    grep -q "/$f\$" <<<"$listing" || { echo "ci: the sdist has no $f" >&2; exit 1; }
done
"$out/build-env/bin/python" - "$wheel" <<'PY' || { echo "ci: the wheel has no LICENSE" >&2; exit 1; }
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
sys.exit(not any(".dist-info/" in n and "LICENSE" in n for n in names))
PY

python3 -m venv "$out/user-env"
"$out/user-env/bin/pip" install -q "$wheel[docs,joblib]"
version=$("$out/user-env/bin/netpool" --version)
echo "ci: installed from the wheel: $version"
(cd "$out" && NETPOOL_QUIET=1 "$out/user-env/bin/netpool" demo >/dev/null)
"$out/user-env/bin/python" -m sphinx -W -q -b html docs/api "$out/docs"
echo "ci: wheel, sdist and API reference are fine"
