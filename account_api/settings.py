"""The service's settings, read from ``KILN_ACCOUNT_*`` environment variables.

==================================== =====================================================
``KILN_ACCOUNT_DATA_DIR``            SQLite file, local blobs, generated JWT secret
                                     (default: the platform's user data dir "KilnAccount")
``KILN_ACCOUNT_DATABASE_URL``        e.g. ``postgresql+psycopg://user:pw@host/db``
``KILN_ACCOUNT_S3_BUCKET``           store blobs in this S3-compatible bucket
``KILN_ACCOUNT_S3_ENDPOINT_URL``     the S3 endpoint (MinIO, R2, ...); AWS keys from the
                                     standard ``AWS_*`` variables
``KILN_ACCOUNT_S3_PREFIX``           key prefix inside the bucket
``KILN_ACCOUNT_JWT_SECRET``          required with PostgreSQL; generated for SQLite
``KILN_ACCOUNT_WEBHOOK_SECRET``      the payment provider's webhook signing secret
``KILN_ACCOUNT_HOLD_TTL_SECONDS``    default 7200
``KILN_ACCOUNT_MAX_BLOB_BYTES``      default 512 MiB (a blob upload's streaming cap)
``KILN_ACCOUNT_MAX_JSON_BYTES``      default 1 MiB (every other request body)
``KILN_ACCOUNT_MAX_HASHES``          password hashes at once (default 4; 64 MiB each)
``KILN_ACCOUNT_CHECKOUT_URL``        the payment page of a paid plan, with ``{plan}`` and
                                     ``{account}`` filled in (unset: no plan is on sale)
``KILN_ACCOUNT_FORWARDED_ALLOW_IPS`` proxies trusted for X-Forwarded-For (serve; unset:
                                     the header is ignored)
``KILN_ACCOUNT_UPLOAD_GRACE_SECONDS`` age after which ``sweep`` removes an unfinished upload
                                     or an unreferenced blob (default 3600)
==================================== =====================================================
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from account_api.errors import ConfigError

JWT_SECRET_FILE = "jwt-secret"
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` attempts per ``window`` (a fixed window)."""

    limit: int
    window: timedelta


@dataclass(frozen=True)
class GuessPolicy:
    """How wrong passwords are slowed down (see the README's "Password guessing").

    * Per (account, client address): ``pair_free`` failures, then each try waits twice as
      long as the last (from 1 s, at most ``pair_max_wait``). Only that pair is slowed.
    * Per account, from every address: after ``account_free`` failures, clients the account
      has not signed in from (within ``trusted_for``) get one try per ``account_spacing``.
      Addresses it has signed in from are never slowed by other people's failures.
    * Counters forget after ``quiet`` without a failure; a correct password clears its pair.
    """

    pair_free: int = 5
    pair_max_wait: timedelta = timedelta(minutes=15)
    account_free: int = 20
    account_spacing: timedelta = timedelta(seconds=2)
    quiet: timedelta = timedelta(minutes=15)
    trusted_for: timedelta = timedelta(days=90)


@dataclass(frozen=True)
class Argon2Cost:
    """argon2id parameters; the defaults are RFC 9106's second recommendation."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    jwt_secret: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_prefix: str = ""
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    hold_ttl: timedelta = timedelta(hours=2)
    webhook_tolerance: timedelta = timedelta(minutes=5)
    max_blob_bytes: int = 512 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    signup_bonus: int = 100
    #: Every sign-in attempt from one address (spraying many accounts).
    signin_per_ip: RateLimit = RateLimit(100, timedelta(minutes=15))
    signup_per_email: RateLimit = RateLimit(5, timedelta(hours=1))
    signup_per_ip: RateLimit = RateLimit(20, timedelta(hours=1))
    guessing: GuessPolicy = GuessPolicy()
    argon2: Argon2Cost = Argon2Cost()
    #: argon2 hashes computed at once; a request waits ``hash_wait`` for a turn, then 503.
    max_concurrent_hashes: int = 4
    hash_wait: timedelta = timedelta(seconds=2)
    #: The payment page of a paid plan: ``{plan}`` and ``{account}`` (public id) filled in.
    checkout_url: str | None = None
    #: Proxies whose X-Forwarded-For is believed (``None``: nobody's).
    forwarded_allow_ips: str | None = None
    upload_grace: timedelta = timedelta(hours=1)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read the environment; generate the JWT secret for a local SQLite service.

        Raises
        ------
        ConfigError
            A required variable is missing or a value does not parse.
        """
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("KILN_ACCOUNT_DATA_DIR") or default_data_dir())
        database_url = env.get("KILN_ACCOUNT_DATABASE_URL", "").strip()
        local = not database_url
        if local:
            database_url = f"sqlite:///{data_dir / 'account.sqlite3'}"
        jwt_secret = env.get("KILN_ACCOUNT_JWT_SECRET", "").strip()
        if not jwt_secret:
            if not local:
                raise ConfigError(
                    "Set KILN_ACCOUNT_JWT_SECRET (at least 32 random characters): every "
                    "instance of a production service must sign tokens with the same secret."
                )
            jwt_secret = load_or_create_secret(data_dir / JWT_SECRET_FILE)
        if len(jwt_secret) < MIN_SECRET_LENGTH:
            raise ConfigError("KILN_ACCOUNT_JWT_SECRET must be at least 32 characters long.")
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            jwt_secret=jwt_secret,
            webhook_secret=env.get("KILN_ACCOUNT_WEBHOOK_SECRET") or None,
            s3_bucket=env.get("KILN_ACCOUNT_S3_BUCKET") or None,
            s3_endpoint_url=env.get("KILN_ACCOUNT_S3_ENDPOINT_URL") or None,
            s3_prefix=env.get("KILN_ACCOUNT_S3_PREFIX", ""),
            hold_ttl=timedelta(seconds=_positive_int(env, "KILN_ACCOUNT_HOLD_TTL_SECONDS", 7200)),
            max_blob_bytes=_positive_int(env, "KILN_ACCOUNT_MAX_BLOB_BYTES", 512 * 1024 * 1024),
            max_json_bytes=_positive_int(env, "KILN_ACCOUNT_MAX_JSON_BYTES", 1024 * 1024),
            max_concurrent_hashes=_positive_int(env, "KILN_ACCOUNT_MAX_HASHES", 4),
            checkout_url=_checkout_url(env.get("KILN_ACCOUNT_CHECKOUT_URL", "").strip()),
            forwarded_allow_ips=env.get("KILN_ACCOUNT_FORWARDED_ALLOW_IPS", "").strip() or None,
            upload_grace=timedelta(
                seconds=_positive_int(env, "KILN_ACCOUNT_UPLOAD_GRACE_SECONDS", 3600)
            ),
        )


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("KilnAccount", appauthor=False))


def load_or_create_secret(path: Path) -> str:
    """The secret stored at ``path`` (mode 0600, its folder 0700 when made here), created on
    first use."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        return path.read_text(encoding="ascii").strip()
    secret = secrets.token_urlsafe(48)
    # Written aside, then linked into place: a second process starting at the same moment
    # either sees no file or the complete one, and both end up with the same secret.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return secret


def _checkout_url(raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("https://", "http://")):
        raise ConfigError("KILN_ACCOUNT_CHECKOUT_URL must be an http(s) address.")
    try:
        raw.format(plan="pro", account="id")
    except (KeyError, IndexError, ValueError):
        raise ConfigError(
            "KILN_ACCOUNT_CHECKOUT_URL may use only {plan} and {account} as placeholders."
        ) from None
    return raw


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than zero.")
    return value
