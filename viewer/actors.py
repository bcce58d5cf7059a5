"""VTK actors for a prepared scene and the viewport's overlays (grid floor, outline).

Shared by the interactive viewport and the off-screen renderer. Actors go straight onto a
``vtkPolyDataMapper``: pyvista's ``add_mesh`` routes polydata through a dataset mapper
that copies the mesh, which doubles memory on big STL files.
"""

from __future__ import annotations

import math

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkOutlineSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkTexture

from studio.meshes.scene import Material, Texture
from viewer.geometry import PreparedPart, texture_image_data

MODEL_COLOR = (0.74, 0.76, 0.80)
EDGE_COLOR = (0.15, 0.17, 0.22)
BACKGROUND_TOP = (0.27, 0.29, 0.33)
BACKGROUND_BOTTOM = (0.12, 0.13, 0.15)
VTK_PBR = 3


def make_actor(item: PreparedPart) -> vtkActor:
    """An actor for one part, with its material, textures and vertex colours."""
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(item.polydata)
    # Float32 points near the origin upload as-is; shift/scale (a packed copy) only when
    # the model sits far from the origin, where float32 precision would show.
    mapper.SetVBOShiftScaleMethod(
        vtkPolyDataMapper.AUTO_SHIFT_SCALE if _far_from_origin(item.polydata) else 0
    )
    mapper.SetScalarVisibility(item.has_colors)
    if item.has_colors:
        mapper.SetColorModeToDirectScalars()
    actor = vtkActor()
    actor.SetMapper(mapper)
    apply_material(actor, item)
    return actor


def _far_from_origin(poly: vtkPolyData) -> bool:
    x0, x1, y0, y1, z0, z1 = poly.GetBounds()
    size = max(x1 - x0, y1 - y0, z1 - z0, 1e-9)
    centre = max(abs(x0 + x1), abs(y0 + y1), abs(z0 + z1)) / 2
    return centre / size > 1e3


def apply_material(actor: vtkActor, item: PreparedPart) -> None:
    prop = actor.GetProperty()
    material = item.material
    if material is None:
        prop.SetColor(*MODEL_COLOR)
        prop.SetSpecular(0.25)
        prop.SetSpecularPower(30)
        return
    r, g, b, a = material.base_color
    prop.SetColor(r, g, b)
    prop.SetOpacity(a)
    if material.is_pbr and item.has_uv:
        _apply_pbr(actor, material)
        return
    if item.has_uv and material.base_color_texture is not None:
        actor.SetTexture(make_texture(material.base_color_texture, srgb=True))
    else:
        prop.SetSpecular(0.2)
        prop.SetSpecularPower(20)


def make_texture(source: Texture, *, srgb: bool) -> vtkTexture:
    texture = vtkTexture()
    texture.SetInputData(texture_image_data(source))
    texture.InterpolateOn()
    texture.MipmapOn()
    texture.RepeatOn()
    texture.SetUseSRGBColorSpace(srgb)
    return texture


def _apply_pbr(actor: vtkActor, material: Material) -> None:
    prop = actor.GetProperty()
    prop.SetInterpolationToPBR()
    prop.SetMetallic(material.metallic)
    prop.SetRoughness(material.roughness)
    if material.base_color_texture is not None:
        prop.SetBaseColorTexture(make_texture(material.base_color_texture, srgb=True))
    if material.metallic_roughness_texture is not None:
        prop.SetORMTexture(make_texture(orm_texture(material), srgb=False))
    if material.emissive_texture is not None:
        prop.SetEmissiveTexture(make_texture(material.emissive_texture, srgb=True))
        prop.SetEmissiveFactor(*material.emissive)


def orm_texture(material: Material) -> Texture:
    """glTF's metallic-roughness texture as VTK's occlusion-roughness-metallic one.

    Both keep roughness in G and metallic in B, but VTK reads R as ambient occlusion while
    glTF leaves it unused (often 0, which would render black). R becomes the occlusion
    texture when there is one of the same size, else fully lit.
    """
    source = material.metallic_roughness_texture
    assert source is not None
    image = np.array(source.image[..., :3], dtype=np.uint8, copy=True)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    occlusion = material.occlusion_texture
    if occlusion is not None and occlusion.image.shape[:2] == image.shape[:2]:
        image[..., 0] = occlusion.image[..., 0] if occlusion.image.ndim == 3 else occlusion.image
    else:
        image[..., 0] = 255
    return Texture(image=image, name=source.name)


def nice_step(span: float, target_lines: int = 12) -> float:
    """A 1-2-5 step that splits ``span`` into about ``target_lines`` cells."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target_lines
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def _lines_actor(points: np.ndarray) -> vtkActor:
    poly = vtkPolyData()
    vtk_points = vtkPoints()
    vtk_points.SetData(numpy_to_vtk(np.asarray(points, dtype=np.float32), deep=True))
    poly.SetPoints(vtk_points)
    lines = vtkCellArray()
    lines.SetData(2, numpy_to_vtk(np.arange(len(points), dtype=np.int32), deep=True))
    poly.SetLines(lines)
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(poly)
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().LightingOff()
    actor.PickableOff()
    return actor


def grid_actor(bounds: tuple[float, ...], *, y_up: bool) -> vtkActor:
    """A floor grid under the model, with a 1-2-5 spacing that suits its size."""
    x0, x1, y0, y1, z0, z1 = bounds
    lo = np.array([x0, y0, z0])
    hi = np.array([x1, y1, z1])
    up = 1 if y_up else 2
    a, b = (axis for axis in range(3) if axis != up)
    span = max(hi[a] - lo[a], hi[b] - lo[b], 1e-6) * 1.6
    step = nice_step(span)
    centre = (lo + hi) / 2
    half = math.ceil(span / 2 / step) * step
    segments = []
    for t in np.arange(-half, half + step / 2, step):
        for axis, other in ((a, b), (b, a)):
            p0 = centre.copy()
            p1 = centre.copy()
            p0[up] = p1[up] = lo[up]
            p0[axis] = p1[axis] = centre[axis] + t
            p0[other] = centre[other] - half
            p1[other] = centre[other] + half
            segments.extend([p0, p1])
    actor = _lines_actor(np.asarray(segments))
    actor.GetProperty().SetColor(0.45, 0.48, 0.55)
    actor.GetProperty().SetOpacity(0.55)
    return actor


def outline_actor(bounds: tuple[float, ...]) -> vtkActor:
    """The bounding box as orange lines."""
    outline = vtkOutlineSource()
    outline.SetBounds(*bounds)
    outline.Update()
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(outline.GetOutput())
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(0.98, 0.72, 0.35)
    actor.GetProperty().LightingOff()
    actor.PickableOff()
    return actor
