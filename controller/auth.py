"""Bearer-token authentication and role checks for the HTTP API, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from controller.api import ServicesDep
from controller.users import ROLES, Principal, Role

_bearer = HTTPBearer(auto_error=False, description="API token from `broadcastctl user add`")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers=_CHALLENGE)


def require_role(*roles: Role) -> Callable[..., Principal]:
    """A dependency: the caller's Principal if its token is valid and its role allowed.

    No roles means any role; admin is allowed everywhere.
    """
    allowed = set(roles or ROLES) | {"admin"}

    def principal(
        request: Request,
        svc: ServicesDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("需要登录令牌 / missing bearer token")
        user = svc.users.authenticate(credentials.credentials)
        if user is None:
            raise _unauthorized("令牌无效或已吊销 / invalid or revoked token")
        if user.role not in allowed:
            wanted = "、".join(sorted(allowed))
            raise HTTPException(
                403,
                f"角色 {user.role} 无权执行此操作 / role {user.role} may not do this ({wanted})",
            )
        address = request.client.host if request.client else "unknown"
        return Principal(user=user.name, role=user.role, source_address=address)

    return principal


AnyUser = Annotated[Principal, Depends(require_role())]
Uploader = Annotated[Principal, Depends(require_role("police", "operator"))]
Operator = Annotated[Principal, Depends(require_role("operator"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
