"""Kiln Studio's core: meshes, the local library, providers, jobs, settings and the CLI.

Nothing in this package imports Qt, PyVista or VTK; it runs without a display.
"""

__version__ = "0.1.0"
