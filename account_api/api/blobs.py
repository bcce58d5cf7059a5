"""``/v1/blobs/{sha256}``: upload (hash verified, size capped), download, existence check."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from account_api.blobs import SHA256
from account_api.context import Caller, CallerDep, Services, ServicesDep, locked_caller
from account_api.errors import ApiError, not_found
from account_api.tables import BlobRow
from studio.account import schema

router = APIRouter(tags=["blobs"])
Sha256 = Annotated[str, PathParam(pattern=schema.SHA256_PATTERN, description="The file's sha256.")]


def _check_address(sha256: str) -> None:
    if not SHA256.match(sha256):
        raise ApiError(422, "A blob's address is its sha256: 64 lower-case hex digits.")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"The file is larger than the {limit:,} bytes this service accepts.")


def _record(services: Services, caller: Caller, sha256: str, path: Path, size: int) -> bool:
    """Store the verified file, then its row; True if it is new."""
    with services.db.read() as session:
        known = session.get(BlobRow, (caller.user_id, sha256)) is not None
    if known:
        return False
    # File first, row second: a crash leaves an unreferenced file, never a dangling row.
    services.blobs.put(caller.public_id, sha256, path)
    with services.db.write() as session:
        locked_caller(session, caller)
        if session.get(BlobRow, (caller.user_id, sha256)) is not None:
            return False
        session.add(
            BlobRow(
                user_id=caller.user_id, sha256=sha256, size=size, created_at=services.clock.now()
            )
        )
    return True


@router.put(
    "/v1/blobs/{sha256}",
    status_code=201,
    openapi_extra={
        "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}
    },
    responses={
        200: {"description": "Already uploaded.", "model": schema.BlobInfo},
        413: {"description": "Over the size cap."},
        422: {"description": "The body's sha256 is not the address."},
    },
)
async def upload_blob(
    sha256: Sha256, request: Request, caller: CallerDep, services: ServicesDep, response: Response
) -> schema.BlobInfo:
    """Upload a file under its sha256 (raw body). The server checks the hash."""
    _check_address(sha256)
    limit = services.settings.max_blob_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    tmp_dir = services.settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    path = Path(name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ApiError(
                422, "The uploaded bytes do not match the sha256 in the address: upload again."
            )
        created = await run_in_threadpool(_record, services, caller, sha256, path, size)
    finally:
        path.unlink(missing_ok=True)
    if not created:
        response.status_code = 200
    return schema.BlobInfo(sha256=sha256, size=size)


def _find(services: Services, caller: Caller, sha256: str) -> BlobRow:
    _check_address(sha256)
    with services.db.read() as session:
        row = session.scalars(
            select(BlobRow).where(BlobRow.user_id == caller.user_id, BlobRow.sha256 == sha256)
        ).one_or_none()
    if row is None:
        raise not_found("file")
    return row


@router.get(
    "/v1/blobs/{sha256}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_blob(sha256: Sha256, caller: CallerDep, services: ServicesDep) -> StreamingResponse:
    """A file you uploaded (someone else's is not found, exactly like an unknown one)."""
    row = _find(services, caller, sha256)
    return StreamingResponse(
        services.blobs.read(caller.public_id, sha256),
        media_type="application/octet-stream",
        headers={"Content-Length": str(row.size), "ETag": f'"{sha256}"'},
    )


@router.head("/v1/blobs/{sha256}")
def blob_exists(sha256: Sha256, caller: CallerDep, services: ServicesDep) -> Response:
    """200 if you uploaded this file, 404 if not: skip uploads the server already has."""
    row = _find(services, caller, sha256)
    return Response(status_code=200, headers={"Content-Length": str(row.size)})
