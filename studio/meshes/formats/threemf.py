"""3MF, read and written with zipfile and ElementTree (no lxml, no networkx).

A 3MF is a ZIP archive, so it is checked for "zip bombs" before any byte is inflated:
the declared sizes and compression ratios of the entries we read must be within
:class:`~studio.meshes.limits.Limits`, and reading stops at the declared size whatever
the archive claims later. XML with a DTD is refused (3MF never needs one, and entity
expansion is another way to blow up memory).

Components place objects inside objects, so a few hundred bytes can place one box a
million times. Before anything is expanded, the instanced triangles and placements are
counted from the component graph (each object once, memoised), and a file past the triangle
limit or :data:`MAX_PLACEMENTS` is refused at once.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import numpy.typing as npt

from studio.atomic import atomic_writer
from studio.meshes.errors import MeshFormatError, MeshLimitError
from studio.meshes.limits import check_triangles, human_size
from studio.meshes.request import ReadRequest
from studio.meshes.scene import Material, MeshFormat, Part, Scene
from studio.meshes.welding import weld_part

Float64Array = npt.NDArray[np.float64]

CORE_NS = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
_MODEL_REL = "http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"
_UNITS = ("micron", "millimeter", "centimeter", "inch", "foot", "meter")
_READ_CHUNK = 1 << 20
#: Components may nest; deeper than this is a cycle or an attack.
_MAX_DEPTH = 32
#: Placed objects (parts) a 3MF may expand to. A build plate holds dozens or hundreds; each
#: placement is a part of its own to measure and draw (about a millisecond each today).
MAX_PLACEMENTS = 1_000


@dataclass
class _Object:
    name: str
    vertices: Float64Array | None = None
    triangles: npt.NDArray[np.int64] | None = None
    #: (object id, model path or "", 4x4 row-vector transform)
    components: list[tuple[str, str, Float64Array]] = field(default_factory=list)
    color: tuple[float, float, float, float] | None = None
    material_name: str = ""


@dataclass
class _Model:
    unit: str
    objects: dict[str, _Object]
    #: (object id, model path or "", transform) per build item
    items: list[tuple[str, str, Float64Array]]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: ET.Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _matrix(text: str | None) -> Float64Array:
    """A 3MF transform ("m00 m01 m02 m10 ... m32") as a 4x4 row-vector matrix."""
    matrix = np.eye(4)
    if text:
        values = [float(v) for v in text.split()]
        if len(values) != 12:
            raise ValueError("a transform needs 12 numbers")
        matrix[:, :3] = np.array(values).reshape(4, 3)
    return matrix


def _color(text: str | None) -> tuple[float, float, float, float] | None:
    if not text or not re.fullmatch(r"#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?", text.strip()):
        return None
    digits = text.strip()[1:]
    if len(digits) == 6:
        digits += "ff"
    r, g, b, a = (int(digits[i : i + 2], 16) / 255.0 for i in range(0, 8, 2))
    return (r, g, b, a)


class _Archive:
    """Reads model parts from the ZIP within the unzipped-size and ratio budget."""

    def __init__(self, request: ReadRequest, archive: zipfile.ZipFile) -> None:
        self.request = request
        self.archive = archive
        self.budget = request.limits.max_unzipped_size
        self.models: dict[str, _Model] = {}

    def bomb(self) -> MeshLimitError:
        return MeshLimitError(
            f"{self.request.label} expands to far more data than a 3D model needs, so it was "
            "not opened (it may be a “zip bomb”). You can raise the limit in Settings."
        )

    def read(self, name: str) -> bytes:
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise MeshFormatError(
                f"{self.request.label} is damaged: it refers to “{name}”, which is missing."
            ) from None
        limits = self.request.limits
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > self.budget or (
            info.file_size > 1 << 20 and ratio > limits.max_zip_ratio
        ):
            raise self.bomb()
        chunks: list[bytes] = []
        total = 0
        with self.archive.open(info) as stream:
            while True:
                self.request.cancel.raise_if_cancelled()
                chunk = stream.read(_READ_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > info.file_size or total > self.budget:
                    raise self.bomb()
                chunks.append(chunk)
        self.budget -= total
        return b"".join(chunks)

    def model(self, name: str) -> _Model:
        key = name.lstrip("/")
        if key not in self.models:
            self.models[key] = _parse_model(self.request, self.read(key))
        return self.models[key]


def root_model_name(archive: zipfile.ZipFile) -> str:
    """The archive's main model part: as _rels/.rels says, else the first 3D/*.model."""
    names = archive.namelist()
    if "_rels/.rels" in names and archive.getinfo("_rels/.rels").file_size < 1 << 20:
        try:
            rels = ET.fromstring(archive.read("_rels/.rels"))
            for rel in rels.iter():
                target = rel.get("Target")
                if rel.get("Type") == _MODEL_REL and target and target.lstrip("/") in names:
                    return target.lstrip("/")
        except ET.ParseError:
            pass
    for candidate in names:
        if candidate.lower().startswith("3d/") and candidate.lower().endswith(".model"):
            return candidate
    raise ValueError("no model part")


def read(request: ReadRequest) -> Scene:
    """Read a 3MF archive: build items place objects (and their components) in the scene."""
    with zipfile.ZipFile(request.path) as zipped:
        declared = sum(info.file_size for info in zipped.infolist())
        if declared > request.limits.max_unzipped_size:
            raise MeshLimitError(
                f"{request.label} would expand to {human_size(declared)}, more than the "
                f"{human_size(request.limits.max_unzipped_size)} limit. You can raise the "
                "limit in Settings."
            )
        archive = _Archive(request, zipped)
        root_name = root_model_name(zipped)
        root = archive.model(root_name)
        request.progress(0.7, "Reading file")
        items = root.items or [(oid, "", np.eye(4)) for oid in _top_objects(root)]
        _check_expansion(archive, root, root_name, items)
        parts: list[Part] = []
        for object_id, model_path, transform in items:
            model, model_name = _item_model(archive, root, root_name, model_path)
            parts.extend(_place(archive, model, model_name, object_id, transform, 0))
    return Scene(parts, MeshFormat.THREEMF, unit=root.unit)


def _item_model(
    archive: _Archive, root: _Model, root_name: str, model_path: str
) -> tuple[_Model, str]:
    if model_path and model_path.lstrip("/") != root_name.lstrip("/"):
        return archive.model(model_path), model_path
    return root, root_name


def _check_expansion(
    archive: _Archive, root: _Model, root_name: str, items: list[tuple[str, str, Float64Array]]
) -> None:
    """Refuse a file whose components expand past the limits, before expanding any."""
    counter = _ExpansionCounter(archive)
    triangles = placements = 0
    for object_id, model_path, _transform in items:
        model, model_name = _item_model(archive, root, root_name, model_path)
        item_triangles, item_placements = counter.count(model, model_name, object_id, 0)
        triangles += item_triangles
        placements += item_placements
    request = archive.request
    check_triangles(request.path, triangles, request.limits)
    if placements > MAX_PLACEMENTS:
        raise MeshLimitError(
            f"{request.label} places its objects {placements:,} times, more than the "
            f"{MAX_PLACEMENTS:,} placements a model may have, so it was not opened."
        )


class _ExpansionCounter:
    """(triangles, placements) an object expands to, each object counted once."""

    def __init__(self, archive: _Archive) -> None:
        self.archive = archive
        self.counts: dict[tuple[str, str], tuple[int, int]] = {}
        self.open: set[tuple[str, str]] = set()

    def count(self, model: _Model, model_name: str, object_id: str, depth: int) -> tuple[int, int]:
        key = (model_name.lstrip("/"), object_id)
        if key in self.counts:
            return self.counts[key]
        label = self.archive.request.label
        if key in self.open:
            raise MeshFormatError(
                f"{label} is damaged: its components contain themselves, so it has no end."
            )
        if depth > _MAX_DEPTH:
            raise MeshFormatError(
                f"{label} is damaged: its components nest more than {_MAX_DEPTH} levels deep."
            )
        obj = model.objects.get(object_id)
        if obj is None:
            raise MeshFormatError(
                f"{label} is damaged: it places an object (“{object_id[:40]}”) it does not define."
            )
        self.open.add(key)
        own = 0 if obj.triangles is None or obj.vertices is None else len(obj.triangles)
        triangles, placements = own, int(own > 0)
        for child_id, child_path, _transform in obj.components:
            child_model, child_name = _item_model(self.archive, model, model_name, child_path)
            child = self.count(child_model, child_name, child_id, depth + 1)
            triangles += child[0]
            placements += child[1]
        self.open.discard(key)
        self.counts[key] = (triangles, placements)
        return triangles, placements


def _top_objects(model: _Model) -> list[str]:
    used = {component[0] for obj in model.objects.values() for component in obj.components}
    return [oid for oid in model.objects if oid not in used]


def _place(
    archive: _Archive,
    model: _Model,
    model_name: str,
    object_id: str,
    transform: Float64Array,
    depth: int,
) -> Iterator[Part]:
    if depth > _MAX_DEPTH:
        raise ValueError("components nest too deeply")
    obj = model.objects.get(object_id)
    if obj is None:
        raise ValueError(f"missing object {object_id}")
    if obj.vertices is not None and obj.triangles is not None and len(obj.triangles):
        vertices = obj.vertices @ transform[:3, :3] + transform[3, :3]
        triangles = obj.triangles
        if np.linalg.det(transform[:3, :3]) < 0:
            triangles = triangles[:, ::-1]
        material = None
        if obj.color is not None:
            name = obj.material_name or obj.name
            material = Material(name=name, base_color=obj.color, roughness=0.6)
        yield Part(
            np.ascontiguousarray(vertices, dtype=np.float32),
            np.ascontiguousarray(triangles, dtype=np.int32),
            name=obj.name,
            material=material,
        )
    for child_id, child_path, child_transform in obj.components:
        child_model, child_name = _item_model(archive, model, model_name, child_path)
        yield from _place(
            archive, child_model, child_name, child_id, child_transform @ transform, depth + 1
        )


def _parse_model(request: ReadRequest, data: bytes) -> _Model:
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data:
        raise MeshFormatError(
            f"{request.label} is not a valid 3MF file: its model declares a DTD, which 3MF "
            "does not allow."
        )
    unit = "millimeter"
    objects: dict[str, _Object] = {}
    items: list[tuple[str, str, Float64Array]] = []
    colors: dict[str, list[tuple[str, tuple[float, float, float, float] | None]]] = {}
    group: list[tuple[str, tuple[float, float, float, float] | None]] | None = None
    current: _Object | None = None
    object_pid: tuple[str, str] | None = None
    vertex_text: list[str] = []
    triangle_text: list[str] = []
    first_triangle_pid: tuple[str, str] | None = None
    container: ET.Element | None = None

    for event, element in ET.iterparse(io.BytesIO(data), events=("start", "end")):
        tag = _local(element.tag)
        if event == "start":
            if tag == "model":
                unit = element.get("unit", "millimeter")
            elif tag in ("basematerials", "colorgroup"):
                group = colors.setdefault(element.get("id", ""), [])
            elif tag == "object":
                current = _Object(name=element.get("name") or f"Object {element.get('id', '')}")
                pid = element.get("pid")
                object_pid = (pid, element.get("pindex", "0")) if pid else None
                first_triangle_pid = None
                vertex_text, triangle_text = [], []
            elif tag in ("vertices", "triangles"):
                container = element
            continue
        if tag == "vertex":
            vertex_text.append(f"{element.get('x')} {element.get('y')} {element.get('z')}")
        elif tag == "triangle":
            triangle_text.append(f"{element.get('v1')} {element.get('v2')} {element.get('v3')}")
            if first_triangle_pid is None and element.get("pid"):
                first_triangle_pid = (element.get("pid", ""), element.get("p1", "0"))
        elif tag in ("base", "color") and group is not None:
            color = _color(element.get("displaycolor") or element.get("color"))
            group.append((element.get("name", ""), color))
        elif tag in ("basematerials", "colorgroup"):
            group = None
        elif tag == "component" and current is not None:
            current.components.append(
                (element.get("objectid", ""), _attr(element, "path") or "",
                 _matrix(element.get("transform")))
            )  # fmt: skip
        elif tag == "object" and current is not None:
            if vertex_text:
                current.vertices = np.array(_words(vertex_text), dtype=np.float64).reshape(-1, 3)
                current.triangles = np.array(_words(triangle_text), dtype=np.int64).reshape(-1, 3)
                _check_indices(request, current)
            pid = object_pid or first_triangle_pid
            if pid is not None:
                palette = colors.get(pid[0], [])
                index = int(pid[1])
                if 0 <= index < len(palette):
                    current.material_name, current.color = palette[index]
            objects[element.get("id", "")] = current
            current = None
        elif tag == "item":
            items.append(
                (element.get("objectid", ""), _attr(element, "path") or "",
                 _matrix(element.get("transform")))
            )  # fmt: skip
        else:
            continue
        element.clear()
        if tag in ("vertex", "triangle") and container is not None:
            container.clear()  # drop the parsed children so memory stays flat on big meshes
    return _Model(unit if unit in _UNITS else "millimeter", objects, items)


def _words(rows: list[str]) -> list[str]:
    # One join and split instead of a float() per attribute: numpy parses the strings.
    return " ".join(rows).split()


def _check_indices(request: ReadRequest, obj: _Object) -> None:
    assert obj.vertices is not None
    assert obj.triangles is not None
    if obj.triangles.size and (obj.triangles.min() < 0 or obj.triangles.max() >= len(obj.vertices)):
        raise MeshFormatError(
            f"{request.label} is damaged: a triangle of “{obj.name}” uses a vertex that "
            "does not exist."
        )


def write(scene: Scene, path: Path) -> list[Path]:
    """Write the scene as a 3MF archive: one object and build item per part."""
    unit = scene.unit if scene.unit in _UNITS else "millimeter"
    model = io.StringIO()
    model.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    model.write(f'<model unit="{unit}" xml:lang="en-US" xmlns="{CORE_NS}">\n<resources>\n')
    colored = [p for p in scene.parts if p.material is not None]
    if colored:
        model.write('<basematerials id="1">\n')
        for part in colored:
            assert part.material is not None
            rgba = "".join(f"{round(c * 255):02X}" for c in part.material.base_color)
            model.write(f"<base name={quoteattr(part.material.name or part.name)} "
                        f'displaycolor="#{rgba}"/>\n')  # fmt: skip
        model.write("</basematerials>\n")
    for index, part in enumerate(scene.parts):
        vertices, faces = weld_part(part)
        object_id = index + 2
        color = f' pid="1" pindex="{colored.index(part)}"' if part in colored else ""
        name = quoteattr(part.name or f"Part {index + 1}")
        model.write(f'<object id="{object_id}" type="model" name={name}{color}>\n<mesh>\n')
        model.write("<vertices>\n")
        np.savetxt(model, vertices.astype(np.float64), fmt='<vertex x="%.9g" y="%.9g" z="%.9g"/>')
        model.write("</vertices>\n<triangles>\n")
        np.savetxt(model, faces, fmt='<triangle v1="%d" v2="%d" v3="%d"/>')
        model.write("</triangles>\n</mesh>\n</object>\n")
    model.write("</resources>\n<build>\n")
    for index in range(len(scene.parts)):
        model.write(f'<item objectid="{index + 2}"/>\n')
    model.write("</build>\n</model>\n")
    with atomic_writer(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zipped.writestr("_rels/.rels", _RELS)
        zipped.writestr("3D/3dmodel.model", model.getvalue().encode("utf-8"))
    return [path]


_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>
</Types>
"""
_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Target="/3D/3dmodel.model" Id="rel0" Type="{_MODEL_REL}"/>
</Relationships>
"""
