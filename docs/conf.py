"""Sphinx configuration of mathdl's documentation site (``mathdl docs``, or ``sphinx-build -W docs docs/_build/html``).

Offline by construction: no intersphinx, MathJax from a local copy (Debian's libjs-mathjax, or the
folder in ``$MATHDL_MATHJAX``), notebooks from the executed copies the notebook tests keep
(``docs/tools/nbstore.py``). The generated pages come from ``docs/_ext/mathdl_docs.py``.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

from mathdl_docs import find_mathjax  # noqa: E402

import mathdl  # noqa: E402

project = "mathdl"
author = "the mathdl developers"
copyright = "2026, the mathdl developers"
release = version = mathdl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_nb",
    "mathdl_docs",
]

root_doc = "index"
exclude_patterns = ["_build", "_templates", "tools", "_ext", "**/.ipynb_checkpoints", "README.md"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
suppress_warnings = []
# Public names the build lets pass without documentation, each with its reason (empty is the goal).
mathdl_undocumented_ok: dict[str, str] = {}

# -- autodoc: one page per package, over its __all__ (generated/api/) -----------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autosummary_generate = False
add_module_names = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # "Attributes:" as fields, so NamedTuple fields are not described twice
napoleon_use_rtype = False

# A broken cross-reference to anything of mathdl, a page or a label fails the build (nitpicky, -W).
# Offline there are no intersphinx inventories, so a reference to another library's object (jax.Array,
# optax.GradientTransformation, numpy.ndarray, typing names) cannot resolve and is not checked.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!mathdl\b).*")]

# -- MyST and notebooks -----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True  # `$$...$$` inside a paragraph is display maths, as Jupyter renders it
myst_update_mathjax = False
# Notebooks are never executed here unless no executed copy matches (see mathdl_docs.write_notebooks).
nb_execution_mode = "off"
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")  # those executed here are cached
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_merge_streams = True

# -- HTML -------------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = f"mathdl {release}"
html_static_path = ["_static"]
html_css_files = ["mathdl.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
}
html_show_sourcelink = False
html_last_updated_fmt = None

# MathJax from a local copy, copied into the site (_static/mathjax), so maths renders offline.
mathdl_mathjax_dir = find_mathjax()
if mathdl_mathjax_dir is None:
    raise RuntimeError(
        "docs: no local MathJax found; install Debian's libjs-mathjax (apt-get install libjs-mathjax) "
        "or set MATHDL_MATHJAX to a MathJax 2 folder (the one holding MathJax.js)"
    )
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]], "processEscapes": True},
    "CommonHTML": {"linebreaks": {"automatic": False}},
    "menuSettings": {"zoom": "None"},
    "showMathMenu": False,
    "messageStyle": "none",
}
mathjax3_config = None
mathjax4_config = None
