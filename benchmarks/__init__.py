"""Performance benchmarks: Kiln Studio side by side with F3D. See ``benchmarks/README.md``."""
