"""Model files in and out: sniff, load, measure, repair and export.

Everything a file holds becomes one :class:`~studio.meshes.scene.Scene` of float32/int32
numpy arrays; every expected failure is a :class:`MeshFormatError` with a plain message.
"""

from studio.meshes.errors import MeshFormatError, MeshLimitError
from studio.meshes.export import SUPPORTED_EXTENSIONS, export, format_for_extension
from studio.meshes.limits import Limits
from studio.meshes.loading import load, warm_up
from studio.meshes.references import companion_files
from studio.meshes.repair import RepairReport, repair, repair_scene
from studio.meshes.scene import Material, MeshFormat, Part, Scene, Texture
from studio.meshes.sniff import Sniffed, sniff
from studio.meshes.stats import MeshStats, compute_stats

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "Limits",
    "Material",
    "MeshFormat",
    "MeshFormatError",
    "MeshLimitError",
    "MeshStats",
    "Part",
    "RepairReport",
    "Scene",
    "Sniffed",
    "Texture",
    "companion_files",
    "compute_stats",
    "export",
    "format_for_extension",
    "load",
    "repair",
    "repair_scene",
    "sniff",
    "warm_up",
]
