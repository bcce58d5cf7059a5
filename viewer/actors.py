"""VTK actors for a prepared scene, and the building blocks overlays draw with.

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
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkPolyDataMapper,
    vtkTextActor,
    vtkTexture,
)

from studio.meshes.scene import Material, Texture
from viewer.geometry import PreparedPart, texture_image_data

MODEL_COLOR = (0.74, 0.76, 0.80)
EDGE_COLOR = (0.15, 0.17, 0.22)
BACKGROUND_TOP = (0.27, 0.29, 0.33)
BACKGROUND_BOTTOM = (0.12, 0.13, 0.15)
OUTLINE_COLOR = (0.98, 0.72, 0.35)
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
    if material.is_pbr:
        _apply_pbr(actor, material, textured=item.has_tcoords)
        return
    if item.has_uv and material.base_color_texture is not None:
        # Phong shading works on the texture's own (sRGB) values and writes them out as
        # they are; decoding them to linear first, as PBR needs, would darken every
        # texture by the display gamma.
        actor.SetTexture(make_texture(material.base_color_texture, srgb=False))
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


def _apply_pbr(actor: vtkActor, material: Material, *, textured: bool) -> None:
    """VTK's physically based shading; its shader decodes sRGB inputs and encodes the
    result, so colour textures are flagged sRGB and data textures (ORM) are not."""
    prop = actor.GetProperty()
    prop.SetInterpolationToPBR()
    prop.SetMetallic(material.metallic)
    prop.SetRoughness(material.roughness)
    if not textured:  # a metallic part without uv: its factors alone
        return
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


def lines_actor(points: np.ndarray) -> vtkActor:
    """Unlit line segments between consecutive pairs of ``points``."""
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


def outline_actor(bounds: tuple[float, ...]) -> vtkActor:
    """The bounding box as orange lines."""
    outline = vtkOutlineSource()
    outline.SetBounds(*bounds)
    outline.Update()
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(outline.GetOutput())
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*OUTLINE_COLOR)
    actor.GetProperty().LightingOff()
    actor.PickableOff()
    return actor


LABEL_BACKGROUND = (0.2, 0.22, 0.26)


def point_labels(
    anchors: np.ndarray, texts: list[str], *, font_size: int = 13
) -> list[vtkTextActor]:
    """Text boxes pinned to 3D points, drawn on top of everything (never hidden)."""
    labels = []
    for anchor, text in zip(anchors, texts, strict=True):
        actor = vtkTextActor()
        actor.SetInput(text)
        coordinate = actor.GetPositionCoordinate()
        coordinate.SetCoordinateSystemToWorld()
        coordinate.SetValue(*(float(v) for v in anchor))
        style = actor.GetTextProperty()
        style.SetFontSize(font_size)
        style.SetColor(1.0, 1.0, 1.0)
        style.SetBackgroundColor(*LABEL_BACKGROUND)
        style.SetBackgroundOpacity(0.8)
        style.SetJustificationToCentered()
        style.SetVerticalJustificationToCentered()
        style.BoldOn()
        actor.PickableOff()
        labels.append(actor)
    return labels
