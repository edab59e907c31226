"""Who is calling the HTTP API (bearer token or console session cookie) and what its role
allows, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from controller.access.sessions import COOKIE, SessionStore
from controller.access.users import ROLES, Principal, Role, User
from controller.api.deps import ServicesDep
from controller.api.forwarded import client_address, networks
from controller.api.limits import LimitsDep
from controller.api.services import Services

_bearer = HTTPBearer(auto_error=False, description="API token from `broadcastctl user add`")
_cookie = APIKeyCookie(
    name=COOKIE, auto_error=False, description="web console session from POST /api/login"
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# A page on another site can make a browser send the cookie but not a custom header; SameSite
# already stops the cookie, this stops it on a browser that ignores SameSite.
CSRF_HEADER, CSRF_VALUE = "X-Requested-With", "broadcastctl"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# What the web console may show each role; the routes' own checks are what count.
_OPERATOR_MAY = ("upload", "approve", "led_message", "airings", "stop", "emergency", "alerts")
MAY: dict[Role, tuple[str, ...]] = {
    "police": ("upload", "led_message"),
    "operator": _OPERATOR_MAY,
    "admin": (*_OPERATOR_MAY, "blackouts", "users", "audit", "alerts_test"),
}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers=_CHALLENGE)


def source_address(request: Request) -> str:
    """The caller's address: the peer's, or the one a trusted proxy forwarded (issue 9:
    believing X-Forwarded-For from anyone let a caller pick its address per request)."""
    peer = request.client.host if request.client else "unknown"
    svc: Services | None = getattr(request.state, "services", None)
    trusted = networks(tuple(svc.loaded.config.api.trusted_proxies)) if svc else ()
    return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)


def session_store(request: Request) -> SessionStore | None:
    """The app's session store (lifespan state), None in an app built without one."""
    found: SessionStore | None = getattr(request.state, "sessions", None)
    return found


def _caller(
    request: Request,
    svc: Services,
    credentials: HTTPAuthorizationCredentials | None,
    session_token: str | None,
) -> User:
    if credentials is not None:  # a bearer token wins over a cookie sent beside it
        user = svc.users.authenticate(credentials.credentials)
        if user is None:
            raise _unauthorized("令牌无效或已吊销 / invalid or revoked token")
        return user
    if not session_token:
        raise _unauthorized("需要登录令牌 / missing bearer token")
    sessions = session_store(request)
    session = sessions.lookup(session_token) if sessions is not None else None
    found = svc.users.get(session.user) if session is not None else None
    if found is None or not found.active:
        raise _unauthorized("登录已失效，请重新登录 / session expired or ended, log in again")
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise HTTPException(403, f"缺少请求头 / missing {CSRF_HEADER} header")
    return found


def require_role(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's Principal if its token or session is valid and its role
    allowed. No roles means any role; admin is allowed everywhere.
    """
    allowed = set(roles or ROLES) | {"admin"}

    async def principal(
        request: Request,
        svc: ServicesDep,
        limits: LimitsDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        session_token: Annotated[str | None, Depends(_cookie)],
    ) -> Principal:
        # Its own threads: a sync dependency would wait for the shared pool, as every
        # route that needs a login did behind 45 uploads (issue 9).
        user = await limits.run(limits.auth, _caller, request, svc, credentials, session_token)
        if user.role not in allowed:
            wanted = "、".join(sorted(allowed))
            raise HTTPException(
                403,
                f"角色 {user.role} 无权执行此操作 / role {user.role} may not do this ({wanted})",
            )
        return Principal(user=user.name, role=user.role, source_address=source_address(request))

    return principal


AnyUser = Annotated[Principal, Depends(require_role())]
Uploader = Annotated[Principal, Depends(require_role("police", "operator"))]
Operator = Annotated[Principal, Depends(require_role("operator"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
