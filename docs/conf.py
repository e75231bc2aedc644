"""Sphinx configuration of the airflow-iprod documentation.

Build: ``bash scripts/build_docs.sh`` (or ``sphinx-build -W --keep-going -b html docs OUT``). The algorithm
pages are generated from ``airflow_iprod.catalog`` by ``_ext/iprod_algorithm_pages.py`` at build time.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as _version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "airflow-iprod"
author = "airflow-iprod contributors"
copyright = "2026, airflow-iprod contributors"
release = _version("airflow-iprod")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "iprod_algorithm_pages",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", ".*"]

myst_heading_anchors = 3
# Quotes stay as typed: the pages are full of code, keys and figures copied from the README.
smartquotes = False
myst_enable_extensions = ["colon_fence"]

# API reference: documented as written in the docstrings (reST field lists), members in source order.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}
autoclass_content = "class"
# Our docstrings only: Airflow's base-class text (execute, on_kill ...) is not this provider's reference.
autodoc_inherit_docstrings = False
add_module_names = False

html_theme = "furo"
html_title = f"airflow-iprod {release}"
html_static_path: list[str] = []
