"""How the viewport and the off-screen renders light a model, and smooth its edges.

- **Anti-aliasing.** FXAA (one cheap full-screen pass) unless the OpenGL renderer is a
  real GPU; then MSAA 4× instead. On Mesa's llvmpipe (a software rasteriser: CI, virtual
  machines, this project's test machine) MSAA costs several times the frame, FXAA a small
  share of it. The two never run together: VTK's FXAA pass reads a multisampled frame
  as black.
- **Image-based lighting.** PBR materials (metals, glazes) are lit by a studio
  environment (``resources/environment/studio.hdr``, made by
  ``resources/make_environment.py``), so a glossy surface reflects soft boxes instead of
  five pin-point lights. VTK prefilters the map once per renderer; the sizes here keep
  that to about half a second on llvmpipe instead of several seconds. Plain (Phong)
  materials ignore the environment and keep the light kit.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from vtkmodules.vtkRenderingCore import vtkLight, vtkRenderer, vtkRenderWindow, vtkTexture

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
ENVIRONMENT_HDR = RESOURCES / "environment" / "studio.hdr"
#: Light-kit intensity kept while the environment lights PBR materials: enough for a
#: sparkle on a glaze, not so much that five white dots stand out.
LIGHTS_WITH_ENVIRONMENT = 0.3
#: MSAA samples on a GPU.
GPU_MULTI_SAMPLES = 4

# Renderer strings of rasterisers that run on the CPU.
_SOFTWARE = re.compile(
    r"llvmpipe|softpipe|swrast|software|swiftshader|lavapipe|gdi generic|"
    r"microsoft basic render|apple software",
    re.IGNORECASE,
)


def is_software_renderer(renderer: str) -> bool:
    """True for an OpenGL renderer string of a CPU rasteriser (or an unknown one)."""
    return not renderer.strip() or bool(_SOFTWARE.search(renderer))


def opengl_renderer(window: vtkRenderWindow) -> str:
    """The OpenGL renderer string of an initialised render window ("" if unknown)."""
    try:
        report = window.ReportCapabilities()
    except Exception:  # a window that can't report (no display id) counts as unknown
        return ""
    for line in report.splitlines():
        if line.lower().startswith("opengl renderer string:"):
            return line.split(":", 1)[1].strip()
    return ""


def use_fxaa(renderer: vtkRenderer) -> None:
    renderer.UseFXAAOn()


def use_msaa(window: vtkRenderWindow, renderer: vtkRenderer) -> None:
    """MSAA in place of FXAA (both together draw black)."""
    renderer.UseFXAAOff()
    window.SetMultiSamples(GPU_MULTI_SAMPLES)


def use_gpu_anti_aliasing(window: vtkRenderWindow, renderer: vtkRenderer) -> bool:
    """Switch from FXAA to MSAA when the window draws on a GPU; returns whether it did."""
    name = opengl_renderer(window)
    if is_software_renderer(name):
        log.debug("OpenGL renderer %r: FXAA", name)
        return False
    log.debug("OpenGL renderer %r: MSAA %d×", name, GPU_MULTI_SAMPLES)
    use_msaa(window, renderer)
    return True


def environment_texture(path: Path = ENVIRONMENT_HDR) -> vtkTexture:
    """The studio environment as an equirectangular, linear (HDR) texture."""
    from vtkmodules.vtkIOImage import vtkHDRReader

    reader = vtkHDRReader()
    reader.SetFileName(str(path))
    reader.Update()
    texture = vtkTexture()
    texture.SetInputData(reader.GetOutput())
    texture.SetColorModeToDirectScalars()
    texture.InterpolateOn()
    texture.MipmapOn()
    return texture


def _tune_prefiltering(renderer: vtkRenderer) -> None:
    """Smaller lookup tables and fewer samples than VTK's defaults (see the module doc)."""
    table = renderer.GetEnvMapLookupTable()
    table.SetLUTSize(128)
    table.SetLUTSamples(64)
    prefiltered = renderer.GetEnvMapPrefiltered()
    prefiltered.SetPrefilterMaxSamples(96)
    irradiance = renderer.GetEnvMapIrradiance()
    irradiance.SetIrradianceSize(32)


def set_environment(renderer: vtkRenderer, enabled: bool, *, y_up: bool) -> None:
    """Light PBR materials with the studio environment (or stop), turned to the up axis."""
    if enabled and renderer.GetEnvironmentTexture() is None:
        renderer.SetEnvironmentTexture(environment_texture(), False)
        _tune_prefiltering(renderer)
    if enabled:
        if y_up:
            renderer.SetEnvironmentUp(0.0, 1.0, 0.0)
            renderer.SetEnvironmentRight(1.0, 0.0, 0.0)
        else:
            renderer.SetEnvironmentUp(0.0, 0.0, 1.0)
            renderer.SetEnvironmentRight(1.0, 0.0, 0.0)
    renderer.SetUseImageBasedLighting(enabled)


class LightKit:
    """The renderer's lights at their own intensities, or dimmed for the environment."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self._renderer = renderer
        self._base = [(light, light.GetIntensity()) for light in _lights(renderer)]
        self._scale = 1.0

    def set_scale(self, scale: float) -> None:
        if scale == self._scale:
            return
        self._scale = scale
        for light, intensity in self._base:
            light.SetIntensity(intensity * scale)


def _lights(renderer: vtkRenderer) -> list[vtkLight]:
    lights = renderer.GetLights()
    lights.InitTraversal()
    found: list[vtkLight] = []
    for _ in range(lights.GetNumberOfItems()):
        found.append(lights.GetNextItem())
    return found
