"""The 3D viewport (pyvistaqt) and off-screen renders (thumbnails, CLI renders).

May import :mod:`studio.meshes`; never imports :mod:`ui`. VTK render objects are only
touched on the GUI thread; :mod:`viewer.geometry` builds plain data objects and is safe
to call from a worker.
"""
