"""Bounded work for the API: operator routes, password checks, upload writes and ingests each
get their own capacity, so none of them waits behind the shared thread pool or the others
(issue 9: 45 uploads made 停播 wait 69 s for a thread)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, HTTPException, Request

from controller.config.models import MediaConfig

T = TypeVar("T")
OPERATOR_THREADS = 4  # 停播, 紧急插播, stopping one airing: nothing else
AUTH_THREADS = 8  # token and session lookups of every route; the login's own rows
UPLOAD_IO_THREADS = 4  # writing upload bodies to their temp files, the upload's audit row
PASSWORD_CHECKS = 2  # scrypt: about 16 MiB and tens of milliseconds each
PASSWORD_QUEUE = 8  # logins that may wait for a check; more get 503 at once
BUSY_RETRY_S = 5


class Busy(HTTPException):
    """503 with Retry-After: a bounded resource is taken; the message is bilingual."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(503, f"{zh} / {en}", headers={"Retry-After": str(BUSY_RETRY_S)})


class WorkLimits:
    """One per app, made in its lifespan; every limiter is separate from anyio's default."""

    def __init__(self, media: MediaConfig) -> None:
        self.operator = CapacityLimiter(OPERATOR_THREADS)
        self.auth = CapacityLimiter(AUTH_THREADS)
        self.upload_io = CapacityLimiter(UPLOAD_IO_THREADS)
        self.ingest = CapacityLimiter(media.max_concurrent_ingests)
        self.passwords = CapacityLimiter(PASSWORD_CHECKS)
        self.max_uploads = media.max_concurrent_ingests + media.max_queued_uploads
        self.uploads = 0
        self._password_waiting = 0

    async def run(
        self, limiter: CapacityLimiter, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=limiter)

    @asynccontextmanager
    async def upload_slot(self) -> AsyncIterator[None]:
        """Admission for one upload, before its body is read: a refused client has sent
        nothing yet, and what is admitted (temp files, decoders) stays bounded."""
        if self.uploads >= self.max_uploads:
            raise Busy(
                f"正在处理的上传已满（{self.max_uploads} 个），请稍后再试",
                f"{self.max_uploads} uploads already in progress, retry later",
            )
        self.uploads += 1
        try:
            yield
        finally:
            self.uploads -= 1

    async def check_password(self, fn: Callable[..., T], *args: Any) -> T:
        if self._password_waiting >= PASSWORD_CHECKS + PASSWORD_QUEUE:
            raise Busy("登录请求过多，请稍后再试", "too many logins at once, retry later")
        self._password_waiting += 1
        try:
            return await self.run(self.passwords, fn, *args)
        finally:
            self._password_waiting -= 1


async def work_limits(request: Request) -> WorkLimits:
    found: WorkLimits = request.state.limits
    return found


LimitsDep = Annotated[WorkLimits, Depends(work_limits)]
