"""Turn a :class:`studio.meshes.Scene` into VTK data without copying the big arrays.

Safe to call from a worker thread: it only builds data objects (``vtkPolyData``,
``vtkTexture`` inputs), never render-window state.

Why it looks the way it does (measured on a 5M-triangle STL, see benchmarks/):
- points stay float32 and are shared with numpy, and the mapper's coordinate
  shift/scale is off unless the model is far from the origin, so VTK uploads the array
  as-is instead of packing a second copy;
- triangle soups use a fixed-size cell array (no offsets array) with int32 indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkDataArray, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

from studio.meshes.scene import Material, Part, Scene, Texture
from viewer.normals import SMOOTH_LIMIT, smooth_polydata

#: Parts with more triangles than this render on a reduced proxy while the camera moves.
PROXY_THRESHOLD = 1_500_000


@dataclass(eq=False)
class PreparedPart:
    """A part ready for the mapper: its polydata, material and what it was built from."""

    part: Part
    polydata: vtkPolyData
    material: Material | None
    has_uv: bool
    has_colors: bool

    @property
    def has_tcoords(self) -> bool:
        """Texture coordinates reach the mapper (for textures other than the base colour)."""
        return self.polydata.GetPointData().GetTCoords() is not None

    @property
    def has_normals(self) -> bool:
        return self.polydata.GetPointData().GetNormals() is not None

    @property
    def needs_normals(self) -> bool:
        """Shown faceted until smooth normals are computed (after the first frame)."""
        return not self.has_normals and self.part.n_faces <= SMOOTH_LIMIT


@dataclass(eq=False)
class PreparedScene:
    scene: Scene
    parts: list[PreparedPart]
    #: ``(xmin, xmax, ymin, ymax, zmin, zmax)``, VTK's order.
    bounds: tuple[float, float, float, float, float, float]

    @property
    def n_faces(self) -> int:
        return self.scene.n_faces


def _shared(array: np.ndarray) -> vtkDataArray:
    # deep=False shares the buffer; numpy_to_vtk pins the numpy array on the VTK
    # array's buffer, so it lives as long as VTK uses it.
    result: vtkDataArray = numpy_to_vtk(array, deep=False)
    return result


def polydata_from_part(part: Part) -> vtkPolyData:
    """Build a ``vtkPolyData`` sharing ``part``'s arrays where VTK allows it."""
    vertices = np.ascontiguousarray(part.vertices, dtype=np.float32)
    points = vtkPoints()
    points.SetData(_shared(vertices))

    cells = vtkCellArray()
    if part.faces is None:
        connectivity = np.arange(part.n_faces * 3, dtype=np.int32)
    else:
        connectivity = np.ascontiguousarray(part.faces, dtype=np.int32).reshape(-1)
    cells.SetData(3, _shared(connectivity))

    poly = vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(cells)
    point_data = poly.GetPointData()
    if part.normals is not None and part.normals.shape == part.vertices.shape:
        normals = np.ascontiguousarray(part.normals, dtype=np.float32)
        array = _shared(normals)
        array.SetName("Normals")
        point_data.SetNormals(array)
    if part.uv is not None and part.uv.shape[0] == part.n_vertices:
        uv = np.ascontiguousarray(part.uv, dtype=np.float32)
        array = _shared(uv)
        array.SetName("TCoords")
        point_data.SetTCoords(array)
    if part.colors is not None and part.colors.shape[0] == part.n_vertices:
        colors = np.ascontiguousarray(part.colors, dtype=np.uint8)
        array = _shared(colors)
        array.SetName("Colors")
        point_data.SetScalars(array)
    return poly


#: Indexed parts up to this size get smooth normals computed when the file has none.
SMOOTH_NORMALS_LIMIT = 3_000_000


def with_smooth_normals(poly: vtkPolyData) -> vtkPolyData:
    """Point normals split at sharp edges, so smooth shading keeps creases crisp."""
    from vtkmodules.vtkFiltersCore import vtkPolyDataNormals

    normals = vtkPolyDataNormals()
    normals.SetInputData(poly)
    normals.ComputePointNormalsOn()
    normals.ComputeCellNormalsOff()
    normals.SplittingOn()
    normals.SetFeatureAngle(40.0)
    normals.ConsistencyOff()  # never reorder the file's faces
    normals.AutoOrientNormalsOff()
    normals.Update()
    result: vtkPolyData = normals.GetOutput()
    return result


def _polydata_for_display(part: Part, *, smooth: bool) -> vtkPolyData:
    poly = polydata_from_part(part)
    # Indexed parts without normals get them here. Soups (binary STL) start faceted:
    # smoothing them needs a vertex merge, too slow for the first frame, so the viewport
    # swaps in :func:`viewer.normals.smooth_polydata` once the first frame is up.
    if part.faces is not None and part.normals is None and part.n_faces <= SMOOTH_NORMALS_LIMIT:
        return with_smooth_normals(poly)
    if smooth and poly.GetPointData().GetNormals() is None:
        return smooth_polydata(part) or poly
    return poly


def prepare_scene(scene: Scene, *, smooth: bool = False) -> PreparedScene:
    """Convert every part for display. Safe on a worker thread.

    ``smooth`` computes smooth normals for soups now (off-screen renders, which have no
    first frame to hurry); the viewport leaves them for later.
    """
    prepared = [
        PreparedPart(
            part=part,
            polydata=_polydata_for_display(part, smooth=smooth),
            material=part.material,
            has_uv=part.uv is not None
            and part.material is not None
            and part.material.base_color_texture is not None,
            has_colors=part.colors is not None,
        )
        for part in scene.parts
        if part.n_faces > 0
    ]
    (x0, y0, z0), (x1, y1, z1) = scene.bounds()
    return PreparedScene(scene=scene, parts=prepared, bounds=(x0, x1, y0, y1, z0, z1))


def make_proxy(prepared: PreparedScene, *, divisions: int = 128) -> PreparedScene | None:
    """A reduced-detail copy to draw while the camera moves, or ``None`` when not needed.

    Orbiting a 5M-triangle model costs ~0.5 s a frame here; its quadric-clustered proxy
    (~170K triangles, ~1 s to build) keeps the camera fluid. Safe on a worker: it reads the
    part's arrays through a polydata of its own, never the one on screen.
    """
    if prepared.n_faces <= PROXY_THRESHOLD:
        return None
    from vtkmodules.vtkFiltersCore import vtkQuadricClustering

    parts = []
    for item in prepared.parts:
        clustering = vtkQuadricClustering()
        clustering.SetInputData(polydata_from_part(item.part))
        clustering.SetNumberOfDivisions(divisions, divisions, divisions)
        clustering.AutoAdjustNumberOfDivisionsOn()
        clustering.CopyCellDataOff()
        clustering.Update()
        parts.append(
            PreparedPart(
                part=item.part,
                # Smooth like the full-detail model, so orbiting doesn't turn it faceted.
                polydata=with_smooth_normals(clustering.GetOutput()),
                material=None if item.material is None else _plain(item.material),
                has_uv=False,
                has_colors=False,
            )
        )
    return PreparedScene(scene=prepared.scene, parts=parts, bounds=prepared.bounds)


def _plain(material: Material) -> Material:
    """The material's flat colour only: the proxy has no texture coordinates."""
    return Material(name=material.name, base_color=material.base_color)


def without_normals(poly: vtkPolyData) -> vtkPolyData:
    """The same surface without point normals, sharing every array: flat shading.

    With no normals VTK shades each triangle by its own plane, for Phong and PBR alike
    (PBR ignores the flat interpolation setting, so dropping the normals is the only way).
    """
    flat = vtkPolyData()
    flat.ShallowCopy(poly)
    point_data = flat.GetPointData()
    if point_data.GetNormals() is not None:
        point_data.RemoveArray(point_data.GetNormals().GetName() or "Normals")
        point_data.SetNormals(None)
    return flat


def release(plotter: object) -> None:
    """Close a plotter and free its render objects now, on this (the GUI) thread.

    pyvista plotters hold reference cycles. Left to the cyclic garbage collector, they
    may be freed on a worker thread, where destroying GL objects deadlocks against the
    GUI thread holding the GL context.
    """
    import gc

    plotter.close()  # type: ignore[attr-defined]
    del plotter
    gc.collect()


def texture_image_data(texture: Texture) -> object:
    """A ``vtkImageData`` holding ``texture``'s pixels (VTK wants the bottom row first)."""
    from vtkmodules.vtkCommonDataModel import vtkImageData

    image = texture.image
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    height, width, channels = image.shape
    flipped = np.ascontiguousarray(image[::-1].reshape(-1, channels), dtype=np.uint8)
    data = vtkImageData()
    data.SetDimensions(width, height, 1)
    array = _shared(flipped)
    array.SetName("Image")
    data.GetPointData().SetScalars(array)
    return data
