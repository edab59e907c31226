"""The dependencies every router shares, written once: the API process's Services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from controller.api.services import Services


async def services(request: Request) -> Services:
    """Async, as every dependency of the operator routes: none may wait for a thread."""
    found: Services = request.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
