"""Who may see and answer on the KSTTHC page. Airflow does not protect a plugin's endpoints by itself.

- **Login.** Every request needs the Airflow login: the JWT the Airflow UI keeps in its ``_token`` cookie
  (or an ``Authorization: Bearer`` header, as for the REST API), checked by the configured auth manager
  (``get_user_from_token``). Without it a page redirects to Airflow's login, a POST gets 401.
- **Reading:** any logged-in user.
- **Answering** uses Airflow's own permissions, so the roles are the auth manager's: the review queue
  needs the right to edit ``tthc_compare``'s runs, an approval the right to answer ``tthc_approve``'s
  Human-in-the-loop requests (``is_authorized_dag(PUT, RUN / HITL_DETAIL)``). With the simple auth
  manager that is the roles ``user``, ``op`` and ``admin`` (not ``viewer``); with the FAB auth manager
  ``User``, ``Op`` and ``Admin`` (not ``Viewer``).
- **Cross-site requests.** Every POST carries a CSRF token bound to the login session (an HMAC, keyed by
  ``[api] secret_key``, of the session's token) and must come from this site (``Origin``, else
  ``Referer``, equal to the site's own origin or that of ``[api] base_url``).
- Responses may be framed only by the same origin (the page is shown inside the Airflow UI), are not
  cached, and the HTML preview of a draft is served under a CSP that allows no script.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from tthc.core.links import airflow_base_url

TOKEN_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN
REVIEW_DAG, APPROVE_DAG = "tthc_compare", "tthc_approve"
FRAME_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PAGE_CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'none'; "
            "frame-ancestors 'self'; form-action 'self'; base-uri 'none'")
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"


class LoginRequired(Exception):
    """No valid Airflow login on the request."""


class Forbidden(Exception):
    """Logged in, but not allowed (a role that may only read, or a cross-site request)."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in user and what they may do here."""

    user: Any  # the auth manager's BaseUser
    name: str
    session_token: str
    can_review: bool
    can_approve: bool


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE) or None


async def current_viewer(request: Request) -> Viewer:
    """The logged-in user (:class:`LoginRequired` when there is none, or the token is expired or forged)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    token = _token(request)
    if not token:
        raise LoginRequired()
    manager = get_auth_manager()
    try:
        user = await manager.get_user_from_token(token)
    except Exception as exc:  # noqa: BLE001 - expired, forged, or a user who no longer exists
        raise LoginRequired() from exc
    if user is None:
        raise LoginRequired()

    def may(dag_id: str, entity: DagAccessEntity) -> bool:
        try:
            return bool(manager.is_authorized_dag(method="PUT", access_entity=entity,
                                                  details=DagDetails(id=dag_id), user=user))
        except Exception:  # noqa: BLE001 - an auth manager that cannot say: only reading
            return False

    return Viewer(user, str(user.get_name() or user.get_id()), token, may(REVIEW_DAG, DagAccessEntity.RUN),
                  may(APPROVE_DAG, DagAccessEntity.HITL_DETAIL))


def login_url(request: Request) -> str:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_url_login(next_url=str(request.url))


def csrf_key(secret: str) -> bytes:
    return hashlib.sha256(b"tthc-ui-csrf|" + (secret.encode() or secrets.token_bytes(32))).digest()


@lru_cache(maxsize=1)
def _server_key() -> bytes:
    """From ``[api] secret_key`` (else ``[api_auth] jwt_secret``): the same in every API server process."""
    secret = ""
    try:
        from airflow.configuration import conf

        secret = conf.get("api", "secret_key", fallback="") or conf.get("api_auth", "jwt_secret", fallback="")
    except Exception:  # noqa: BLE001 - no configuration: a key for this process only
        secret = ""
    return csrf_key(secret)


def csrf_token(viewer: Viewer, key: bytes | None = None) -> str:
    """The form token of this login session (the same for every form of the session)."""
    session = hashlib.sha256(viewer.session_token.encode()).digest()
    return hmac.new(key or _server_key(), session, hashlib.sha256).hexdigest()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def allowed_origins(request: Request) -> set[str]:
    out = {_origin(str(request.base_url))}
    if base := airflow_base_url():
        out.add(_origin(base))
    return out - {""}


def check_post(request: Request, viewer: Viewer, token: str | None, *, needs: str) -> None:
    """A POST must come from this site with the session's CSRF token, from a user who may answer
    (``needs``: ``review`` or ``approve``). Raises :class:`Forbidden` with the reason."""
    origin = request.headers.get("origin") or _origin(request.headers.get("referer", ""))
    if not origin or origin.lower() not in allowed_origins(request):
        raise Forbidden(f"yêu cầu không đến từ trang này (Origin: {origin or 'không có'})")
    if not token or not hmac.compare_digest(token, csrf_token(viewer)):
        raise Forbidden("mã chống giả mạo (CSRF) không đúng hoặc phiên đăng nhập đã đổi: tải lại trang rồi gửi lại")
    allowed = viewer.can_review if needs == "review" else viewer.can_approve
    if not allowed:
        raise Forbidden(f"tài khoản {viewer.name} chỉ có quyền xem, không có quyền trả lời")
