"""Sphinx configuration of netpool's API reference (built from the docstrings).

Build: ``pip install -e '.[docs,joblib]'`` then ``python -m sphinx -W -b html docs/api build/docs``.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src")))

import netpool  # noqa: E402

project = "netpool"
copyright = "2026, The netpool developers"
release = version = netpool.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Type hints name classes of the standard library and of netpool's private modules; not
# every one of them has a page to link to, and that is not an error in the docstrings.
nitpicky = False
intersphinx_mapping = {}
html_theme = "alabaster"
exclude_patterns = ["_build"]
