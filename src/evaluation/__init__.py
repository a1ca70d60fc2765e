"""Reproducible evaluation of VluchtelingenWerk Nederland's return projects.

Flow: load -> pseudonymise -> validate -> execute notebooks (papermill) -> render.
Import is deliberately light: heavy libraries load inside the functions that need them.
"""

__version__ = "0.1.0"
