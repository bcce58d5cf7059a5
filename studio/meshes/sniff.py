"""Tell a file's format from its bytes, never from its name.

Downloads and old archives lie about extensions (an OBJ saved as ``.stl``, a web page
saved as ``.glb``), so the bytes decide; the extension only shapes the messages.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from studio.meshes.errors import MeshFormatError, file_label
from studio.meshes.scene import MeshFormat

#: How much of the file sniffing looks at.
HEAD_SIZE = 64 * 1024

#: What a format's content is called in a "named .x but holds ..." note.
_CONTENT = {
    MeshFormat.STL_BINARY: "binary STL data",
    MeshFormat.STL_ASCII: "ASCII STL text",
    MeshFormat.OBJ: "OBJ text",
    MeshFormat.GLB: "GLB data",
    MeshFormat.GLTF: "glTF JSON",
    MeshFormat.PLY_ASCII: "PLY data",
    MeshFormat.PLY_BINARY: "PLY data",
    MeshFormat.OFF: "OFF text",
    MeshFormat.THREEMF: "a 3MF model",
}

#: Extensions people give model files, and the family each promises.
_EXTENSION_FAMILY = {
    ".stl": "STL",
    ".obj": "OBJ",
    ".glb": "GLB",
    ".gltf": "glTF",
    ".ply": "PLY",
    ".off": "OFF",
    ".3mf": "3MF",
}

#: Magic numbers of files people drop by mistake, so the message can say what they are.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"Kaydara FBX Binary", "an FBX model, which Kiln Studio cannot open yet"),
    (b"BLENDER", "a Blender file, which Kiln Studio cannot open (export it as GLB)"),
    (b"ISO-10303-21", "a STEP CAD file, which Kiln Studio cannot open"),
    (b"#usda", "a USD file, which Kiln Studio cannot open yet"),
    (b"PXR-USDC", "a USD file, which Kiln Studio cannot open yet"),
)

_OBJ_KEYWORDS = frozenset(
    b"v vt vn vp f l p o g s mtllib usemtl usemap maplib cstype deg curv curv2 surf parm "
    b"trim hole scrv sp end con bmat step call csh lod shadow_obj trace_obj ctech stech".split()
)
_OFF_HEADER = re.compile(rb"^(?:ST)?C?N?4?n?OFF(?:$|[0-9.+-])")
#: Byte-order marks of the UTF-16 text some Windows tools write, and their codecs.
_UTF16_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
#: Top-level keys of a glTF 2.0 (or 1.0) document.
_GLTF_KEYS = frozenset(
    {
        "asset", "scene", "scenes", "nodes", "meshes", "accessors", "bufferViews", "buffers",
        "materials", "textures", "images", "samplers", "animations", "skins", "cameras",
        "extensionsUsed", "extensionsRequired", "programs", "shaders", "techniques",
    }
)  # fmt: skip
#: JSON strings and structural characters, for reading top-level keys without parsing.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:]')
_SUPPORTED = "STL, OBJ, GLB/glTF, PLY, OFF and 3MF"


@dataclass(frozen=True)
class Sniffed:
    """A file's format as its bytes show it.

    Parameters
    ----------
    format
        The format to load the file as.
    note
        One plain sentence when the extension disagrees with the content, else ``None``.
    """

    format: MeshFormat
    note: str | None


def sniff(path: Path) -> Sniffed:
    """Detect a model file's format from its content.

    Parameters
    ----------
    path
        The file to look at.

    Returns
    -------
    Sniffed
        The format, and a note when the extension lies.

    Raises
    ------
    MeshFormatError
        The file is empty, unreadable, or not a model format we open; the message says
        what it is when that is recognisable.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(HEAD_SIZE)
    except FileNotFoundError:
        raise MeshFormatError(f"{file_label(path)} could not be found.") from None
    except IsADirectoryError:
        raise MeshFormatError(f"{file_label(path)} is a folder, not a 3D model.") from None
    except PermissionError:
        raise MeshFormatError(
            f"Kiln Studio is not allowed to read {file_label(path)}. Check its permissions."
        ) from None
    except OSError:
        raise MeshFormatError(f"{file_label(path)} could not be read.") from None
    fmt = _detect(path, head, size)
    return Sniffed(fmt, _extension_note(path, fmt))


def _extension_note(path: Path, fmt: MeshFormat) -> str | None:
    suffix = path.suffix.lower()
    promised = _EXTENSION_FAMILY.get(suffix)
    if promised is None or promised == fmt.family:
        return None
    return f"The file is named {suffix} but holds {_CONTENT[fmt]}; it was opened as {fmt.family}."


def _detect(path: Path, head: bytes, size: int) -> MeshFormat:
    label = file_label(path)
    if size == 0:
        raise MeshFormatError(f"{label} is empty.")
    if _is_binary_stl(head, size):
        return MeshFormat.STL_BINARY
    if head.startswith(b"glTF"):
        return MeshFormat.GLB
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _detect_zip(path)
    for magic, what in _FOREIGN_MAGIC:
        if head.startswith(magic):
            raise MeshFormatError(f"{label} is {what}, not a 3D model.")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise MeshFormatError(f"{label} is a WebP image, not a 3D model.")
    if head[4:8] == b"ftyp":
        raise MeshFormatError(f"{label} is a video or HEIC photo, not a 3D model.")
    if head.startswith((b"ply\n", b"ply\r\n")):
        return _detect_ply(label, head)
    for bom, codec in _UTF16_BOMS:
        if head.startswith(bom):
            body = head[2 : len(head) - len(head) % 2]
            return _detect_text(label, body.decode(codec, "replace"))
    text = _as_text(head)
    if text is None:
        return _detect_binary(path, head, size)
    return _detect_text(label, text)


def _is_binary_stl(head: bytes, size: int) -> bool:
    if size < 84:
        return False
    (count,) = struct.unpack_from("<I", head, 80)
    if 84 + 50 * count != size:
        return False
    # An ASCII STL whose size happens to fit the formula would read as text throughout.
    return count == 0 or _as_text(head[84:]) is None


def _as_text(data: bytes) -> str | None:
    """The bytes as text, or ``None`` when they are clearly binary."""
    if b"\x00" in data:
        return None
    text = data.decode("latin-1")
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return None if controls > 0 else text


def _detect_zip(path: Path) -> MeshFormat:
    label = file_label(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        # NotImplementedError: a "version needed to extract" zipfile doesn't know.
        raise MeshFormatError(f"{label} is a damaged ZIP archive, not a 3D model.") from None
    lowered = [name.lower() for name in names]
    if any(n.startswith("3d/") and n.endswith(".model") for n in lowered):
        return MeshFormat.THREEMF
    if any(n.endswith((".usdc", ".usda")) for n in lowered):
        raise MeshFormatError(f"{label} is a USDZ model, which Kiln Studio cannot open yet.")
    raise MeshFormatError(f"{label} is a ZIP archive but not a 3MF model.")


def _detect_ply(label: str, head: bytes) -> MeshFormat:
    for line in head.split(b"\n")[1:40]:
        words = line.split()
        if words[:1] == [b"format"] and len(words) >= 2:
            if words[1] == b"ascii":
                return MeshFormat.PLY_ASCII
            if words[1] in (b"binary_little_endian", b"binary_big_endian"):
                return MeshFormat.PLY_BINARY
            break
        if words[:1] == [b"end_header"]:
            break
    raise MeshFormatError(f"{label} starts like a PLY file but its header is damaged.")


def _detect_binary(path: Path, head: bytes, size: int) -> MeshFormat:
    label = file_label(path)
    if size >= 84 and path.suffix.lower() == ".stl":
        # Named STL and binary: most likely a binary STL cut short (or padded).
        (count,) = struct.unpack_from("<I", head, 80)
        expected = 84 + 50 * count
        if expected > size:
            raise MeshFormatError(
                f"{label} is cut short: its header promises {count:,} triangles but the "
                f"file holds only {max(size - 84, 0) // 50:,}. It may not have finished "
                "downloading or copying."
            )
        # Some exporters pad the file; the reader notes and ignores the extra bytes.
        return MeshFormat.STL_BINARY
    raise MeshFormatError(
        f"{label} is not a 3D model format Kiln Studio knows. It opens {_SUPPORTED} files."
    )


def _meaningful_lines(text: str, limit: int = 200) -> list[str]:
    lines = text.splitlines()
    if len(text) >= HEAD_SIZE and lines:
        lines = lines[:-1]  # the last line may be cut by the head's end
    out = []
    for raw in lines:
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(line)
            if len(out) >= limit:
                break
    return out


def _top_level_keys(text: str) -> list[str]:
    """The keys of the outermost JSON object that ``text`` (perhaps cut short) shows."""
    keys: list[str] = []
    depth = 0
    pending: str | None = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            depth += 1
        elif token in "}]":
            depth -= 1
            if depth <= 0:
                break
        elif token == ":" and depth == 1 and pending is not None:
            keys.append(pending)
        if token != ":":
            pending = token[1:-1] if depth == 1 and token.startswith('"') else None
    return keys


def text_bytes(data: bytes) -> bytes:
    """Text file bytes as UTF-8 without a byte-order mark (UTF-16 is decoded by its BOM)."""
    for bom, codec in _UTF16_BOMS:
        if data.startswith(bom):
            return data[2:].decode(codec, "replace").encode("utf-8")
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def _detect_text(label: str, text: str) -> MeshFormat:
    stripped = text.lstrip("\ufeff\xef\xbb\xbf \t\r\n")
    lowered = stripped[:4096].lower()
    if stripped.startswith("{"):
        # The keys decide, not a window: "asset" may come 100 KB in, after "nodes". Foreign
        # keys alone mean another kind of JSON; the reader's full parse settles the rest.
        keys = _top_level_keys(stripped)
        if keys and not any(key in _GLTF_KEYS for key in keys):
            raise MeshFormatError(f"{label} is a JSON file but not a glTF model.")
        return MeshFormat.GLTF
    if lowered.startswith("solid") and ("facet" in lowered or "endsolid" in lowered):
        return MeshFormat.STL_ASCII
    if lowered.startswith(("<!doctype html", "<html")):
        raise MeshFormatError(
            f"{label} is a web page, not a 3D model. The download may have failed."
        )
    if lowered.startswith(("<?xml", "<")):
        if "collada" in lowered:
            raise MeshFormatError(f"{label} is a COLLADA model, which Kiln Studio cannot open.")
        raise MeshFormatError(f"{label} is an XML document, not a 3D model.")
    lines = _meaningful_lines(text)
    if lines:
        first = lines[0].split()[0].encode("latin-1")
        if _OFF_HEADER.match(first):
            return MeshFormat.OFF
        keywords = [line.split()[0].encode("latin-1") for line in lines]
        known = sum(1 for word in keywords if word in _OBJ_KEYWORDS)
        if b"v" in keywords and known >= 0.8 * len(keywords):
            return MeshFormat.OBJ
    if lowered.startswith("solid"):
        return MeshFormat.STL_ASCII
    raise MeshFormatError(
        f"{label} is a text file, but not one of the 3D formats Kiln Studio opens ({_SUPPORTED})."
    )
