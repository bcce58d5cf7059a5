"""Models, versions, the active version and the change feed (``/v1/models``, ``/v1/sync``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select

from account_api import sync
from account_api.context import CallerDep, ServicesDep, caller_row, locked_caller
from account_api.tables import ModelRow
from studio.account import schema

router = APIRouter(tags=["sync"])
ModelUid = Annotated[str, Path(pattern=schema.UID_PATTERN, max_length=64)]
VersionUid = Annotated[str, Path(pattern=schema.UID_PATTERN, max_length=64)]


@router.post(
    "/v1/models",
    status_code=201,
    responses={200: {"description": "A model with this uid existed.", "model": schema.Model}},
)
def create_model(
    body: schema.ModelCreate, caller: CallerDep, services: ServicesDep, response: Response
) -> schema.Model:
    """Create a model (the same uid again returns it unchanged, 200)."""
    with services.db.write() as session:
        user = locked_caller(session, caller)
        model, created = sync.create_model(session, user, body, services.clock.now())
        if not created:
            response.status_code = 200
        return sync.model_out(model)


@router.get("/v1/models")
def list_models(caller: CallerDep, services: ServicesDep) -> list[schema.Model]:
    with services.db.read() as session:
        rows = session.scalars(
            select(ModelRow)
            .where(ModelRow.user_id == caller.user_id, ModelRow.deleted_at.is_(None))
            .order_by(ModelRow.id)
        ).all()
        return [sync.model_out(m) for m in rows]


@router.get("/v1/models/{model_uid}")
def get_model(model_uid: ModelUid, caller: CallerDep, services: ServicesDep) -> schema.ModelDetail:
    with services.db.read() as session:
        user = caller_row(session, caller)
        model = sync.find_model(session, user, model_uid)
        return schema.ModelDetail(
            model=sync.model_out(model),
            versions=[sync.version_out(v, model.uid) for v in sync.live_versions(session, model)],
        )


@router.patch("/v1/models/{model_uid}")
def rename_model(
    model_uid: ModelUid, body: schema.ModelRename, caller: CallerDep, services: ServicesDep
) -> schema.Model:
    with services.db.write() as session:
        user = locked_caller(session, caller)
        return sync.model_out(sync.rename_model(session, user, model_uid, body.name))


@router.delete("/v1/models/{model_uid}", status_code=204)
def delete_model(model_uid: ModelUid, caller: CallerDep, services: ServicesDep) -> Response:
    """Delete the model and its versions (a tombstone in the feed; deleting twice is fine)."""
    with services.db.write() as session:
        user = locked_caller(session, caller)
        sync.delete_model(session, user, model_uid, services.clock.now())
    return Response(status_code=204)


@router.post(
    "/v1/models/{model_uid}/versions",
    status_code=201,
    responses={
        200: {"description": "A version with this uid existed.", "model": schema.Version},
        409: {
            "description": "A file is not uploaded (detail is MissingBlobs), "
            "or the number or uid is taken."
        },
    },
)
def create_version(
    model_uid: ModelUid,
    body: schema.VersionCreate,
    caller: CallerDep,
    services: ServicesDep,
    response: Response,
) -> schema.Version:
    """Add a version whose files are uploaded (the same uid again returns it, 200).

    A model's first version becomes its active version.
    """
    with services.db.write() as session:
        user = locked_caller(session, caller)
        version, created = sync.create_version(session, user, model_uid, body)
        if not created:
            response.status_code = 200
        return sync.version_out(version, model_uid)


@router.get("/v1/models/{model_uid}/versions/{version_uid}")
def get_version(
    model_uid: ModelUid, version_uid: VersionUid, caller: CallerDep, services: ServicesDep
) -> schema.Version:
    with services.db.read() as session:
        user = caller_row(session, caller)
        model = sync.find_model(session, user, model_uid)
        return sync.version_out(sync.find_version(session, user, model, version_uid), model.uid)


@router.delete("/v1/models/{model_uid}/versions/{version_uid}")
def delete_version(
    model_uid: ModelUid, version_uid: VersionUid, caller: CallerDep, services: ServicesDep
) -> schema.ActiveState:
    """Delete a version; if it was active, the newest remaining one becomes active."""
    with services.db.write() as session:
        user = locked_caller(session, caller)
        model = sync.delete_version(session, user, model_uid, version_uid, services.clock.now())
        return sync.active_out(model)


@router.put(
    "/v1/models/{model_uid}/active",
    responses={409: {"description": "base_revision is stale: detail is ActiveConflict."}},
)
def set_active(
    model_uid: ModelUid, body: schema.SetActiveRequest, caller: CallerDep, services: ServicesDep
) -> schema.ActiveState:
    """Set the active version if ``base_revision`` is the model's current one."""
    with services.db.write() as session:
        user = locked_caller(session, caller)
        return sync.active_out(sync.set_active(session, user, model_uid, body))


@router.get("/v1/sync")
def get_changes(
    caller: CallerDep,
    services: ServicesDep,
    since: Annotated[
        int,
        Query(ge=0, le=schema.INT64_MAX, description="The cursor of the last feed (0: all)."),
    ] = 0,
) -> schema.SyncFeed:
    with services.db.read() as session:
        user = caller_row(session, caller)
        return sync.feed(session, user, since)
