"""Console login and logout, `GET /api/me`, and the limit on failed logins."""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from controller.access.sessions import COOKIE, LIFETIME, SessionStore
from controller.access.users import PASSWORD_MAX, Principal, Role, User
from controller.api.auth import (
    CSRF_HEADER,
    CSRF_VALUE,
    MAY,
    AnyUser,
    session_store,
    source_address,
)
from controller.api.deps import ServicesDep
from controller.api.limits import LimitsDep
from controller.api.services import Services
from controller.core.clock import Clock

router = APIRouter()
WRONG = "用户名或密码错误 / wrong user name or password"
ANONYMOUS = "?"  # the audit's user for a caller not logged in: no user name contains "?"


class LoginLimiter:
    """Refuses logins for a source address or a user name once it has `limit` failed logins
    within `window_s` seconds, until the oldest of them is that old. Kept in memory: a
    restart forgets, which costs an attacker a restart of the station first."""

    def __init__(self, clock: Clock, limit: int = 5, window_s: float = 300.0) -> None:
        self._clock = clock
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def retry_after(self, keys: list[str]) -> int:
        """Seconds until a login for these keys is allowed again; 0: allowed now."""
        now = self._clock.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.limit:
                    wait = max(wait, times[0] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: list[str]) -> None:
        now = self._clock.monotonic()
        with self._lock:
            if len(self._failures) > 10_000:  # many names tried: drop the ones out of the window
                for key in list(self._failures):
                    self._recent(key, now)
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque(maxlen=self.limit))
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times


def limiter_keys(address: str, user: str | None) -> list[str]:
    return [f"address:{address}"] + ([f"user:{user}"] if user is not None else [])


async def _limiter(request: Request) -> LoginLimiter:
    found: LoginLimiter = request.state.login_limiter
    return found


async def _sessions(request: Request) -> SessionStore:
    found = session_store(request)
    if found is None:
        raise HTTPException(503, "会话不可用 / sessions unavailable")
    return found


LimiterDep = Annotated[LoginLimiter, Depends(_limiter)]
SessionsDep = Annotated[SessionStore, Depends(_sessions)]


class PasswordLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=64, description="User name.")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX, description="Its password.")


class TokenLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=256, description="An API token of the user.")


class Me(BaseModel):
    user: str = Field(description="User name.")
    role: Role = Field(description="admin, operator or police.")
    may: list[str] = Field(description="What the console may offer this role.")


def _me(user: str, role: Role) -> Me:
    return Me(user=user, role=role, may=list(MAY[role]))


@router.post("/api/login", response_model=Me)
async def login(
    body: PasswordLogin | TokenLogin,
    request: Request,
    response: Response,
    svc: ServicesDep,
    limiter: LimiterDep,
    sessions: SessionsDep,
    limits: LimitsDep,
) -> Me:
    """Log in to the web console with a user name and password, or an API token; sets the
    `bcsession` cookie (HttpOnly, SameSite=Strict, 12 h)."""
    address = source_address(request)
    name = body.user if isinstance(body, PasswordLogin) else None
    keys = limiter_keys(address, name)
    wait = limiter.retry_after(keys)
    if wait:
        raise HTTPException(
            429,
            f"登录失败次数过多，请 {wait} 秒后再试 / too many failed logins, retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    method = "password" if isinstance(body, PasswordLogin) else "token"
    # scrypt on a bounded pool of its own, with a bounded queue (503 beyond): 2,000 logins
    # at once took 955 MB and every thread of the shared pool (issue 9).
    if isinstance(body, PasswordLogin):
        user = await limits.check_password(_check, svc, body)
    else:
        user = await limits.run(limits.auth, _check, svc, body)
    if user is None:
        limiter.failed(keys)
        # Nobody is logged in: the row has no role, as command-line rows have none.
        who = Principal(user=ANONYMOUS, role=cast(Role, ""), source_address=address)
        await limits.run(
            limits.auth, svc.audit.record, who, "login_failed", name or "(token)",
            detail={"method": method},
        )  # fmt: skip
        raise HTTPException(401, WRONG)
    token, _ = await limits.run(limits.auth, sessions.open, user.name)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="Strict",  # type: ignore[arg-type]  # Starlette takes any case; browsers show this
    )
    who = Principal(user.name, user.role, address)
    record = svc.audit.record
    await limits.run(limits.auth, record, who, "login", user.name, detail={"method": method})
    return _me(user.name, user.role)


def _check(svc: Services, body: PasswordLogin | TokenLogin) -> User | None:
    if isinstance(body, PasswordLogin):
        return svc.users.check_password(body.user, body.password)
    return svc.users.authenticate(body.token)


@router.post("/api/logout")
def logout(request: Request, response: Response, svc: ServicesDep) -> dict[str, bool]:
    """End the console session and clear its cookie (bearer tokens are not affected)."""
    token = request.cookies.get(COOKIE)
    if token:
        if request.headers.get(CSRF_HEADER) != CSRF_VALUE:
            raise HTTPException(403, f"缺少请求头 / missing {CSRF_HEADER} header")
        sessions = session_store(request)
        ended = sessions.revoke(token) if sessions is not None else None
        user = svc.users.get(ended.user) if ended is not None else None
        if user is not None:
            who = Principal(user.name, user.role, source_address(request))
            svc.audit.record(who, "logout", user.name)
    response.delete_cookie(
        COOKIE,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="Strict",  # type: ignore[arg-type]
    )
    return {"ok": True}


@router.get("/api/me", response_model=Me)
def me(who: AnyUser) -> Me:
    """The caller (by token or session) and what the console may offer it."""
    return _me(who.user, who.role)
