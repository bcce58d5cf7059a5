"""3MF components are counted before they are expanded (issue 7, finding 14).

A few hundred bytes of components can place one box a million times; the reader counts the
instanced triangles (and placements) from the component graph first, so such a file is
refused within a second and with little memory, and a cycle is a plain "damaged".
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from studio.meshes import Limits, MeshFormatError, MeshLimitError, load

BOX_TRIANGLES = [
    (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
    (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3),
]  # fmt: skip
CORE = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
BOX = (
    '<object id="1" type="model" name="box"><mesh><vertices>'
    + "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x in (0, 1) for y in (0, 1) for z in (0, 1))
    + "</vertices><triangles>"
    + "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in BOX_TRIANGLES)
    + "</triangles></mesh></object>"
)


def three_mf(path: Path, resources: str, build: str) -> Path:
    model = (
        f'<?xml version="1.0" encoding="UTF-8"?><model unit="millimeter" xmlns="{CORE}">'
        f"<resources>{resources}</resources><build>{build}</build></model>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("3D/3dmodel.model", model)
    path.write_bytes(buffer.getvalue())
    return path


def nested(path: Path, levels: int, children: int = 2) -> Path:
    """Object ``k`` holds ``children`` copies of object ``k - 1``; object 1 is the box."""
    objects = [BOX]
    for k in range(2, levels + 2):
        components = "".join(
            f'<component objectid="{k - 1}" transform="1 0 0 0 1 0 0 0 1 {i * 2} 0 0"/>'
            for i in range(children)
        )
        objects.append(
            f'<object id="{k}" type="model"><components>{components}</components></object>'
        )
    return three_mf(path, "".join(objects), f'<item objectid="{levels + 1}"/>')


def test_components_nesting_twenty_levels_are_refused_within_a_second(tmp_path: Path) -> None:
    path = nested(tmp_path / "doubling.3mf", 20)
    assert path.stat().st_size < 2000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(MeshLimitError) as caught:
            load(path)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20 * 1024**2
    message = str(caught.value)
    assert message.startswith("“doubling.3mf” places its objects 1,048,576 times")
    assert "Traceback" not in message
    assert message.endswith(".")


def test_instanced_triangles_past_the_limit_are_refused_before_expanding(tmp_path: Path) -> None:
    path = nested(tmp_path / "eight.3mf", 3)  # 8 boxes, 96 triangles
    started = time.perf_counter()
    with pytest.raises(MeshLimitError) as caught:
        load(path, limits=Limits(max_triangles=95))
    assert time.perf_counter() - started < 1.0
    assert str(caught.value) == (
        "“eight.3mf” has 96 triangles, more than the 95 limit. You can raise the limit in Settings."
    )
    assert len(load(path, limits=Limits(max_triangles=96)).parts) == 8


def test_a_wide_fan_out_is_counted_once_per_placement(tmp_path: Path) -> None:
    path = nested(tmp_path / "fan.3mf", 1, children=20_000)
    started = time.perf_counter()
    with pytest.raises(MeshLimitError, match="places its objects 20,000 times"):
        load(path)
    assert time.perf_counter() - started < 3.0


def test_moderate_instancing_still_opens(tmp_path: Path) -> None:
    path = nested(tmp_path / "grid.3mf", 9)  # 512 boxes
    scene = load(path)
    assert len(scene.parts) == 512
    assert scene.n_faces == 512 * 12


def test_components_that_refer_to_themselves_are_damaged(tmp_path: Path) -> None:
    loop = (
        '<object id="2" type="model"><components><component objectid="3"/></components></object>'
        '<object id="3" type="model"><components><component objectid="2"/></components></object>'
    )
    path = three_mf(tmp_path / "loop.3mf", BOX + loop, '<item objectid="2"/>')
    started = time.perf_counter()
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    assert time.perf_counter() - started < 1.0
    assert str(caught.value) == (
        "“loop.3mf” is damaged: its components contain themselves, so it has no end."
    )
