"""A glTF 2.0 document: its JSON, its buffers, and typed numpy views of its accessors.

Everything here distrusts the file: every index is checked against its list, every
accessor against the bytes it claims, every count against the limits, so a hostile file
gets a plain "damaged" sentence instead of an ``IndexError`` or a gigabyte allocation.
"""

from __future__ import annotations

import binascii
import json
import struct
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

import numpy as np
import numpy.typing as npt

from studio.meshes.errors import MeshFormatError
from studio.meshes.references import is_data_uri, resolve_reference
from studio.meshes.request import ReadRequest
from studio.meshes.scene import MeshFormat

_JSON_CHUNK = 0x4E4F534A
_BIN_CHUNK = 0x004E4942

#: componentType → little-endian dtype.
COMPONENTS: dict[int, np.dtype[Any]] = {
    5120: np.dtype("<i1"),
    5121: np.dtype("<u1"),
    5122: np.dtype("<i2"),
    5123: np.dtype("<u2"),
    5125: np.dtype("<u4"),
    5126: np.dtype("<f4"),
}
#: Accessor type → components per element (matrices are not read as attributes).
WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def component_type(value: Any) -> np.dtype[Any] | None:
    """The dtype a ``componentType`` names, or ``None`` (also for lists and other junk)."""
    return COMPONENTS.get(value) if isinstance(value, int) else None


class Damaged(Exception):
    """The file breaks the format; the message is the plain reason, lower case, no stop."""


def count_of(value: Any, what: str) -> int:
    """A non-negative JSON integer, or :class:`Damaged`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Damaged(f"{what} is not a valid number")
    return value


def old_gltf_error(request: ReadRequest) -> MeshFormatError:
    return MeshFormatError(
        f"{request.label} is a glTF 1.0 file, an older version of the format that Kiln "
        "Studio does not open; export it again as glTF 2.0 (GLB), for example from Blender."
    )


class GltfDocument:
    """The parsed JSON of a .glb or .gltf, with lazy access to its binary data.

    Parameters
    ----------
    tree
        The top-level JSON object.
    binary
        A GLB's BIN chunk (``None`` for .gltf).
    request
        The load: its folder is the only place external buffers are read from.
    """

    def __init__(self, tree: dict[str, Any], binary: memoryview | None, request: ReadRequest):
        self.tree = tree
        self.binary = binary
        self.request = request
        self._buffers: dict[int, memoryview] = {}
        self._lists: dict[str, list[dict[str, Any]]] = {}

    @classmethod
    def read(cls, request: ReadRequest, fmt: MeshFormat) -> GltfDocument:
        """Parse the file's JSON (and a GLB's chunks), refusing glTF 1.0 by name."""
        data = memoryview(request.path.read_bytes())
        binary: memoryview | None = None
        if fmt is MeshFormat.GLB:
            text, binary = _glb_chunks(request, data)
        else:
            text = data
        try:
            tree = json.loads(bytes(text))
        except RecursionError:
            raise MeshFormatError(
                f"{request.label} is damaged: its JSON nests too deeply."
            ) from None
        except (ValueError, UnicodeDecodeError):
            raise MeshFormatError(
                f"{request.label} is damaged or not a valid glTF file: its JSON is unreadable."
            ) from None
        if not isinstance(tree, dict):
            raise MeshFormatError(f"{request.label} is a JSON file but not a glTF model.")
        asset = tree.get("asset")
        version = asset.get("version") if isinstance(asset, dict) else None
        if isinstance(version, str) and version.startswith("1"):
            raise old_gltf_error(request)
        if version is None:
            # glTF 1.0 kept its lists as objects keyed by id; 2.0 uses arrays.
            if any(isinstance(tree.get(key), dict) for key in ("meshes", "nodes", "accessors")):
                raise old_gltf_error(request)
            raise MeshFormatError(
                f"{request.label} is a JSON file but not a glTF model: it has no “asset” entry."
            )
        if not isinstance(version, str) or not version.startswith("2"):
            raise MeshFormatError(
                f"{request.label} is glTF version {str(version)[:20]}, which Kiln Studio "
                "does not know; export it as glTF 2.0."
            )
        return cls(tree, binary, request)

    # -- the JSON --------------------------------------------------------------------

    def items(self, key: str) -> list[dict[str, Any]]:
        """A top-level list such as ``"nodes"``; every entry must be an object."""
        if key not in self._lists:  # checked once: item() is called per node visit
            value = self.tree.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise Damaged(f"its “{key}” list is malformed")
            self._lists[key] = value
        return self._lists[key]

    def item(self, key: str, index: Any) -> dict[str, Any]:
        entries = self.items(key)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(entries):
            raise Damaged(f"it refers to {key} that do not exist")
        return entries[index]

    # -- bytes -----------------------------------------------------------------------

    def buffer(self, index: Any) -> memoryview:
        entry = self.item("buffers", index)
        if index in self._buffers:
            return self._buffers[index]
        length = count_of(entry.get("byteLength"), "a buffer's length")
        uri = entry.get("uri")
        if uri is None:
            if self.binary is None:
                raise Damaged("a buffer has no data")
            data = self.binary
        elif not isinstance(uri, str):
            raise Damaged("a buffer's address is malformed")
        elif is_data_uri(uri):
            data = memoryview(decode_data_uri(uri))
        else:
            data = memoryview(self._external(unquote(uri)))
        if len(data) < length:
            raise MeshFormatError(
                f"{self.request.label} is cut short: a buffer holds less data than the file "
                "says. It may not have finished downloading or copying."
            )
        self._buffers[index] = data[:length]
        return self._buffers[index]

    def _external(self, name: str) -> bytes:
        label = self.request.label
        target = resolve_reference(self.request.path.parent, name)
        if target is None:
            raise MeshFormatError(
                f"{label} keeps its geometry in “{name}”, outside the model's folder, "
                "which Kiln Studio does not read. Put that file beside the model."
            )
        if not target.is_file():
            raise MeshFormatError(
                f"{label} keeps its geometry in “{name}”, which is not in the model's folder."
            )
        return target.read_bytes()

    def view(self, index: Any) -> tuple[memoryview, int | None]:
        """A buffer view's bytes and its ``byteStride`` (``None`` when packed)."""
        entry = self.item("bufferViews", index)
        data = self.buffer(entry.get("buffer"))
        offset = count_of(entry.get("byteOffset", 0), "a buffer view's offset")
        length = count_of(entry.get("byteLength"), "a buffer view's length")
        if offset + length > len(data):
            raise Damaged("a buffer view reaches past the end of its buffer")
        stride = entry.get("byteStride")
        if stride is not None:
            stride = count_of(stride, "a buffer view's stride")
        return data[offset : offset + length], stride or None

    # -- accessors -------------------------------------------------------------------

    def accessor_entry(self, index: Any) -> dict[str, Any]:
        return self.item("accessors", index)

    def accessor_count(self, index: Any) -> int:
        return count_of(self.accessor_entry(index).get("count"), "an accessor's count")

    def accessor(self, index: Any, what: str, widths: tuple[int, ...]) -> npt.NDArray[Any]:
        """An accessor's elements as a ``(count, width)`` array of its component type.

        Parameters
        ----------
        index
            The accessor's index.
        what
            What it holds, for messages ("positions").
        widths
            The element widths this use allows (3 for positions, 2 for UVs, ...).
        """
        entry = self.accessor_entry(index)
        dtype = component_type(entry.get("componentType"))
        kind = entry.get("type")
        width = WIDTHS.get(kind) if isinstance(kind, str) else None
        if dtype is None or width is None:
            raise Damaged(f"its {what} have an unknown number format")
        if width not in widths:
            raise Damaged(f"its {what} have {width} numbers each instead of {widths[0]}")
        count = self.accessor_count(index)
        item_size = dtype.itemsize * width
        if "bufferView" in entry:
            data, stride = self.view(entry["bufferView"])
            stride = stride or item_size
            if stride < item_size:
                raise Damaged(f"its {what} overlap one another")
            start = count_of(entry.get("byteOffset", 0), "an accessor's offset")
            if count and start + stride * (count - 1) + item_size > len(data):
                raise Damaged(f"its {what} reach past the end of their data")
            array: npt.NDArray[Any] = np.ndarray(
                (count, width),
                dtype=dtype,
                buffer=data,
                offset=start,
                strides=(stride, dtype.itemsize),
            ) if count else np.zeros((0, width), dtype=dtype)  # fmt: skip
        else:
            # All zeros until a sparse substitution: bounded, since nothing backs it.
            if count > 3 * self.request.limits.max_triangles + 3:
                raise Damaged(f"its {what} claim more elements than any model has")
            array = np.zeros((count, width), dtype=dtype)
        sparse = entry.get("sparse")
        if sparse is not None:
            array = self._apply_sparse(np.array(array), sparse, dtype, width, what)
        return array

    def _apply_sparse(
        self,
        array: npt.NDArray[Any],
        sparse: Any,
        dtype: np.dtype[Any],
        width: int,
        what: str,
    ) -> npt.NDArray[Any]:
        if not isinstance(sparse, dict):
            raise Damaged(f"the sparse part of its {what} is malformed")
        n = count_of(sparse.get("count"), "a sparse accessor's count")
        indices = sparse.get("indices")
        values = sparse.get("values")
        if not isinstance(indices, dict) or not isinstance(values, dict):
            raise Damaged(f"the sparse part of its {what} is malformed")
        index_type = component_type(indices.get("componentType"))
        if index_type is None or index_type.kind != "u":
            raise Damaged(f"the sparse part of its {what} is malformed")
        where = self._packed(indices, index_type, 1, n, what).reshape(-1)
        replacement = self._packed(values, dtype, width, n, what)
        if where.size and int(where.max()) >= array.shape[0]:
            raise Damaged(f"the sparse part of its {what} points past their end")
        array[where.astype(np.int64)] = replacement
        return array

    def _packed(
        self, spec: dict[str, Any], dtype: np.dtype[Any], width: int, n: int, what: str
    ) -> npt.NDArray[Any]:
        data, _stride = self.view(spec.get("bufferView"))
        start = count_of(spec.get("byteOffset", 0), "a sparse accessor's offset")
        size = n * width * dtype.itemsize
        if start + size > len(data):
            raise Damaged(f"the sparse part of its {what} reaches past its data")
        return np.frombuffer(data, dtype=dtype, count=n * width, offset=start).reshape(n, width)

    def is_normalized(self, index: Any) -> bool:
        return bool(self.accessor_entry(index).get("normalized", False))


def as_float(array: npt.NDArray[Any], normalized: bool) -> npt.NDArray[np.float32]:
    """Accessor values as float32, integer ones scaled as glTF's ``normalized`` says."""
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    values = array.astype(np.float32)
    if normalized:
        top = float(np.iinfo(array.dtype).max)
        values /= top
        if array.dtype.kind == "i":
            np.maximum(values, -1.0, out=values)
    return values


def decode_data_uri(uri: str) -> bytes:
    """The bytes of a ``data:`` URI (base64 or percent-encoded)."""
    header, comma, payload = uri.partition(",")
    if not comma:
        raise Damaged("an embedded buffer is malformed")
    if header.lower().endswith(";base64"):
        try:
            return binascii.a2b_base64(payload)
        except (binascii.Error, ValueError):
            raise Damaged("an embedded buffer is not valid base64") from None
    return unquote_to_bytes(payload)


def _glb_chunks(request: ReadRequest, data: memoryview) -> tuple[memoryview, memoryview | None]:
    cut_short = MeshFormatError(
        f"{request.label} is cut short: it ends before the data its header promises. "
        "It may not have finished downloading or copying."
    )
    if len(data) < 12:
        raise cut_short
    _magic, version, length = struct.unpack_from("<4sII", data, 0)
    if version == 1:
        raise old_gltf_error(request)
    if version != 2:
        raise MeshFormatError(
            f"{request.label} is GLB version {version}, which Kiln Studio does not know; "
            "export it as glTF 2.0."
        )
    if length > len(data) or len(data) < 20:
        raise cut_short
    chunks: list[tuple[int, memoryview]] = []
    at = 12
    while at + 8 <= length:
        size, kind = struct.unpack_from("<II", data, at)
        if at + 8 + size > length:
            raise cut_short
        chunks.append((kind, data[at + 8 : at + 8 + size]))
        at += 8 + size
    if not chunks or chunks[0][0] != _JSON_CHUNK:
        raise MeshFormatError(f"{request.label} is damaged: its GLB data has no JSON part.")
    binary = next((chunk for kind, chunk in chunks[1:] if kind == _BIN_CHUNK), None)
    return chunks[0][1], binary
