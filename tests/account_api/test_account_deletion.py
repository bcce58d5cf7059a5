"""Deleting an account removes its rows and its files, and nothing of anyone else's."""

from __future__ import annotations

from sqlalchemy import func, select, text

from account_api.tables import USER_TABLES, RefreshTokenRow, SessionFamilyRow, UserRow
from tests.account_api.conftest import PASSWORD, Api
from tests.account_api.servers import ServiceThread
from tests.account_api.sync_helpers import new_model, new_version, upload


def _rows_of(service: ServiceThread, user_id: int) -> dict[str, int]:
    with service.db.read() as session:
        counts = {
            table: session.execute(
                text(f"SELECT count(*) FROM {table} WHERE user_id = :id"), {"id": user_id}
            ).scalar_one()
            for table in USER_TABLES
        }
        counts["users"] = session.scalar(
            select(func.count()).select_from(UserRow).where(UserRow.id == user_id)
        )
        counts["refresh_tokens"] = session.scalar(
            select(func.count())
            .select_from(RefreshTokenRow)
            .join(SessionFamilyRow)
            .where(SessionFamilyRow.user_id == user_id)
        )
        return counts


def _user_id(service: ServiceThread, email: str) -> int:
    with service.db.read() as session:
        user_id = session.scalar(select(UserRow.id).where(UserRow.email == email))
        assert user_id is not None
        return user_id


def test_account_deletion_removes_rows_and_blobs(api: Api, service: ServiceThread) -> None:
    doomed, bystander = api.signup(), api.signup()
    for user in (doomed, bystander):
        model = new_model(user)
        new_version(user, model["uid"], 1)
        upload(user, b"same file in both accounts")
        hold = user.hold(amount=10).json()
        user.http.post(f"/v1/holds/{hold['id']}/capture")
        user.hold(amount=5)
    doomed_id, bystander_id = _user_id(service, doomed.email), _user_id(service, bystander.email)
    assert all(_rows_of(service, doomed_id).values())
    assert service.app.state.services.blobs.count(doomed.id) == 2

    wrong = doomed.http.request("DELETE", "/v1/account", json={"password": "not my password"})
    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "The password is not correct."}
    assert doomed.http.request("DELETE", "/v1/account", json={}).status_code == 422

    deleted = doomed.http.request("DELETE", "/v1/account", json={"password": PASSWORD})
    assert deleted.status_code == 204
    assert set(_rows_of(service, doomed_id).values()) == {0}
    assert service.app.state.services.blobs.count(doomed.id) == 0
    # The session is gone with it.
    assert doomed.http.get("/v1/balance").status_code == 401
    refresh = api.http.post("/v1/auth/refresh", json={"refresh_token": doomed.refresh_token})
    assert refresh.status_code == 401
    signin = api.http.post("/v1/auth/signin", json={"email": doomed.email, "password": PASSWORD})
    assert signin.status_code == 401

    # The other account is untouched, its copy of the shared file included.
    assert all(_rows_of(service, bystander_id).values())
    assert service.app.state.services.blobs.count(bystander.id) == 2
    assert bystander.http.get("/v1/models").json() != []
    bystander.assert_ledger_matches_balance()

    # The email is free again: a new account, a new bonus, nothing of the old one.
    again = api.signup(email=doomed.email)
    assert again.id != doomed.id
    assert again.balance()["available"] == 100
    assert again.http.get("/v1/models").json() == []
