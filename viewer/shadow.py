"""A soft contact shadow on the floor under the model, cheap enough for a software renderer.

Real shadow maps (``vtkShadowMapPass``) re-render the scene once per light every frame,
which would multiply the orbit frame time on llvmpipe. This shadow is computed once per
model instead: the surface is sampled, each sample darkens the floor cell under it the
more the closer it is to the floor (``exp(-height / reach)``), and the result is blurred
into an alpha texture on one quad. Orbiting then costs one textured quad.

The viewport builds it (off by default, ``ViewState.ground_shadow``) after a model's first
frame; product shots include it when the viewport shows it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkTexture

from viewer.geometry import PreparedScene

#: Texture cells across the shadow's square.
RESOLUTION = 256
#: Triangles sampled at most (every n-th one beyond): the shadow is a blur anyway.
TRIANGLE_BUDGET = 400_000
#: How dark the floor gets right under a model that sits on it.
DARKNESS = 0.55
#: How far up the model still casts, as a share of its footprint's size.
REACH = 0.25
#: The shadow's square is the footprint's size times this.
MARGIN = 1.6


def _sample_points(prepared: PreparedScene, up: int) -> tuple[npt.NDArray[np.float64], ...]:
    """Points on the surface and the projected area each one stands for."""
    a_axis, b_axis = (axis for axis in range(3) if axis != up)
    total = max(1, prepared.n_faces)
    step = max(1, math.ceil(total / TRIANGLE_BUDGET))
    points, weights = [], []
    for item in prepared.parts:
        tri = item.part.triangles()[::step].astype(np.float64)
        if tri.size == 0:
            continue
        a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
        cross = np.cross(b - a, c - a)
        area = np.abs(cross[:, up]) / 2 * step  # area seen from above
        # Large triangles get more samples (a box is 12 triangles); small ones one.
        x0, x1 = prepared.bounds[2 * a_axis], prepared.bounds[2 * a_axis + 1]
        y0, y1 = prepared.bounds[2 * b_axis], prepared.bounds[2 * b_axis + 1]
        cell = max((x1 - x0) * (y1 - y0), 1e-12) * MARGIN**2 / RESOLUTION**2
        count = np.clip(np.ceil(area / cell / 4), 1, 256).astype(np.int64)
        index = np.repeat(np.arange(len(tri)), count)
        rng = np.random.default_rng(7)
        u, v = rng.random(len(index)), rng.random(len(index))
        flip = u + v > 1
        u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
        p = a[index] + (b - a)[index] * u[:, None] + (c - a)[index] * v[:, None]
        points.append(p)
        weights.append(area[index] / count[index])
    if not points:
        return np.zeros((0, 3)), np.zeros(0)
    return np.concatenate(points), np.concatenate(weights)


def _blur(image: npt.NDArray[np.float64], radius: int) -> npt.NDArray[np.float64]:
    """Three box blurs in a row (close to a Gaussian), along both axes."""
    for axis in (0, 1):
        for _ in range(3):
            padded = np.pad(image, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)])
            summed = np.cumsum(padded, axis=axis)
            summed = np.concatenate(
                [np.zeros_like(np.take(summed, [0], axis=axis)), summed], axis=axis
            )
            width = 2 * radius + 1
            n = image.shape[axis]
            image = (
                np.take(summed, np.arange(width, width + n), axis=axis)
                - np.take(summed, np.arange(0, n), axis=axis)
            ) / width
    return image


def shadow_image(prepared: PreparedScene, *, y_up: bool) -> npt.NDArray[np.uint8]:
    """The shadow's alpha, ``(RESOLUTION, RESOLUTION)`` uint8, first row at low b."""
    up = 1 if y_up else 2
    a_axis, b_axis = (axis for axis in range(3) if axis != up)
    bounds = prepared.bounds
    floor = bounds[2 * up]
    height = max(bounds[2 * up + 1] - floor, 1e-9)
    centre = np.array([(bounds[2 * i] + bounds[2 * i + 1]) / 2 for i in range(3)])
    size = max(
        bounds[2 * a_axis + 1] - bounds[2 * a_axis],
        bounds[2 * b_axis + 1] - bounds[2 * b_axis],
        1e-9,
    )
    half = size * MARGIN / 2
    points, weights = _sample_points(prepared, up)
    reach = REACH * max(size, height * 0.5)
    weights = weights * np.exp(-(points[:, up] - floor) / reach)
    ia = ((points[:, a_axis] - (centre[a_axis] - half)) / (2 * half) * RESOLUTION).astype(int)
    ib = ((points[:, b_axis] - (centre[b_axis] - half)) / (2 * half) * RESOLUTION).astype(int)
    keep = (ia >= 0) & (ia < RESOLUTION) & (ib >= 0) & (ib < RESOLUTION)
    cell_area = (2 * half / RESOLUTION) ** 2
    cover = (
        np.bincount(
            ib[keep] * RESOLUTION + ia[keep], weights=weights[keep], minlength=RESOLUTION**2
        ).reshape(RESOLUTION, RESOLUTION)
        / cell_area
    )
    occlusion = 1.0 - np.exp(-cover)
    soft = _blur(occlusion, radius=max(1, RESOLUTION // 48))
    return np.clip(soft * DARKNESS * 255, 0, 255).astype(np.uint8)


def shadow_actor(prepared: PreparedScene, *, y_up: bool) -> vtkActor:
    """A quad on the floor under the model carrying :func:`shadow_image` as its alpha."""
    up = 1 if y_up else 2
    a_axis, b_axis = (axis for axis in range(3) if axis != up)
    bounds = prepared.bounds
    centre = np.array([(bounds[2 * i] + bounds[2 * i + 1]) / 2 for i in range(3)])
    size = max(
        bounds[2 * a_axis + 1] - bounds[2 * a_axis],
        bounds[2 * b_axis + 1] - bounds[2 * b_axis],
        1e-9,
    )
    half = size * MARGIN / 2
    # A hair below the model's lowest point, so the floor never cuts through its base.
    level = bounds[2 * up] - 1e-3 * max(size, bounds[2 * up + 1] - bounds[2 * up])
    corners = np.zeros((4, 3))
    for k, (da, db) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1))):
        corners[k, a_axis] = centre[a_axis] + da * half
        corners[k, b_axis] = centre[b_axis] + db * half
        corners[k, up] = level
    poly = vtkPolyData()
    points = vtkPoints()
    points.SetData(numpy_to_vtk(corners.astype(np.float32), deep=True))
    poly.SetPoints(points)
    cells = vtkCellArray()
    cells.SetData(3, numpy_to_vtk(np.array([0, 1, 2, 0, 2, 3], dtype=np.int32), deep=True))
    poly.SetPolys(cells)
    uv = numpy_to_vtk(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32), deep=True)
    uv.SetName("TCoords")
    poly.GetPointData().SetTCoords(uv)

    alpha = shadow_image(prepared, y_up=y_up)
    rgba = np.zeros((RESOLUTION, RESOLUTION, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    image = vtkImageData()
    image.SetDimensions(RESOLUTION, RESOLUTION, 1)
    scalars = numpy_to_vtk(rgba.reshape(-1, 4), deep=True)
    scalars.SetName("Shadow")
    image.GetPointData().SetScalars(scalars)
    texture = vtkTexture()
    texture.SetInputData(image)
    texture.InterpolateOn()
    texture.SetColorModeToDirectScalars()

    mapper = vtkPolyDataMapper()
    mapper.SetInputData(poly)
    mapper.ScalarVisibilityOff()
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.SetTexture(texture)
    prop = actor.GetProperty()
    prop.LightingOff()
    prop.SetColor(1.0, 1.0, 1.0)
    actor.PickableOff()
    actor.ForceTranslucentOn()
    return actor
