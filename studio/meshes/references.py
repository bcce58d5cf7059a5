"""Files a model refers to (OBJ's MTL and textures, glTF's buffers and images).

A model may only pull in files from its own folder: a reference that is absolute or
climbs out with ``..`` is ignored, so opening a downloaded model can never read (or
copy into the library) some other file on the designer's disk.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from studio.meshes.scene import MeshFormat
from studio.meshes.sniff import text_bytes

log = logging.getLogger(__name__)

#: MTL statements whose last word is a texture file.
_MTL_MAPS = frozenset(
    [
        "map_kd",
        "map_ka",
        "map_ks",
        "map_ns",
        "map_d",
        "map_bump",
        "bump",
        "map_disp",
        "disp",
        "decal",
        "refl",
        "norm",
        "map_pr",
        "map_pm",
        "map_ps",
        "map_ke",
    ]
)


def resolve_reference(folder: Path, reference: str) -> Path | None:
    """The file ``reference`` names inside ``folder``, or ``None`` if it points outside.

    Parameters
    ----------
    folder
        The model's own folder.
    reference
        The name as the model writes it (forward or back slashes).

    Returns
    -------
    Path or None
        A path inside ``folder`` (it may not exist), or ``None`` for an absolute path or
        one that escapes the folder (also through a symbolic link).
    """
    cleaned = reference.strip().replace("\\", "/")
    if not cleaned or cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        return None
    relative = PurePosixPath(cleaned)
    if ".." in relative.parts:
        return None
    base = folder.resolve()
    target = (base / Path(*relative.parts)).resolve()
    if not target.is_relative_to(base):
        return None
    return target


def is_data_uri(uri: str) -> bool:
    """True for a glTF ``data:`` URI, which embeds its bytes rather than naming a file."""
    return uri.strip().lower().startswith("data:")


def escape_note(reference: str) -> str:
    """The note for a reference that points outside the model's folder."""
    return f"The model refers to “{reference}”, which is outside its folder, so it was ignored."


def missing_note(reference: str) -> str:
    """The note for a reference to a file that is not there."""
    return f"The model refers to “{reference}”, which is not in its folder, so it was ignored."


def obj_material_libraries(obj_path: Path) -> list[str]:
    """The ``mtllib`` names an OBJ file lists, in order."""
    names: list[str] = []
    with obj_path.open("rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        # UTF-16 needs decoding as a whole; other files are read line by line.
        lines = text_bytes(fh.read()).splitlines() if head in (b"\xff\xfe", b"\xfe\xff") else fh
        for raw in lines:
            line = raw.strip()
            if line[:6].lower() == b"mtllib":
                rest = line[6:].decode("utf-8", "replace").strip()
                if rest:
                    names.append(rest)
    return names


def mtl_textures(mtl_path: Path) -> list[str]:
    """The texture names an MTL file's ``map_*`` statements use."""
    names: list[str] = []
    for raw in mtl_path.read_text("utf-8", "replace").splitlines():
        words = raw.split()
        if len(words) >= 2 and words[0].lower() in _MTL_MAPS:
            names.append(words[-1])
    return names


def gltf_uris(gltf_path: Path) -> list[str]:
    """The external (non-``data:``) URIs of a .gltf's buffers and images, decoded."""
    try:
        tree = json.loads(gltf_path.read_bytes())
    except (ValueError, OSError):
        log.debug("unreadable glTF JSON in %s", gltf_path, exc_info=True)
        return []
    uris: list[str] = []
    if not isinstance(tree, dict):
        return uris
    for key in ("buffers", "images"):
        entries = tree.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            uri = entry.get("uri") if isinstance(entry, dict) else None
            if isinstance(uri, str) and not is_data_uri(uri):
                uris.append(unquote(uri))
    return uris


def companion_files(path: Path, fmt: MeshFormat) -> list[Path]:
    """The extra files a model uses that exist inside its folder.

    Parameters
    ----------
    path
        The model file.
    fmt
        Its format (from :func:`studio.meshes.sniff`).

    Returns
    -------
    list of Path
        For OBJ: its MTL files and their textures; for .gltf: external buffers and
        images. Empty for the self-contained formats. No duplicates, in order of use.
    """
    folder = path.parent
    found: list[Path] = []

    def add(reference: str) -> Path | None:
        target = resolve_reference(folder, reference)
        if target is None or not target.is_file():
            return None
        if target not in found:
            found.append(target)
        return target

    try:
        if fmt is MeshFormat.OBJ:
            for library in obj_material_libraries(path):
                # "mtllib a.mtl b.mtl" lists several; a single name may contain spaces.
                words = library.split()
                for name in [library, *(words if len(words) > 1 else [])]:
                    mtl = add(name)
                    if mtl is not None:
                        for texture in mtl_textures(mtl):
                            add(texture)
        elif fmt is MeshFormat.GLTF:
            for uri in gltf_uris(path):
                add(uri)
    except OSError:
        log.debug("could not list the files %s uses", path, exc_info=True)
    return found
