"""`/api/status` gives every time in the station's offset, whatever the airing's source: an
override (stored in UTC) shows `+08:00` beside the slots, not `+00:00` (issue 10: station time
at the edges; the console reads these)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import ids
import pytest
from fastapi.testclient import TestClient
from test_cli_api import NightClock

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config

pytestmark = pytest.mark.usefixtures("host_in_utc")


@pytest.fixture
def client(shipped: Path) -> Iterator[TestClient]:
    users = UserStore(shipped.parent / "var" / "broadcastctl.sqlite3")
    token = users.add("zhao", "admin")
    users.close()
    app = create_app(load_config(shipped), NightClock())
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def test_an_override_in_the_status_is_in_station_time(client: TestClient) -> None:
    now = datetime.fromisoformat(client.get("/api/status").json()["now"])
    start = now + timedelta(hours=1)
    r = client.post(
        "/api/airings",
        json={"playlist": "anti-fraud", "reason": "测试", "start": start.isoformat(),
              "duration_s": 60},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    upcoming = client.get("/api/status").json()["next"]
    manual = [a for a in upcoming if ids.is_override(a["id"])]
    assert manual, upcoming
    for a in upcoming:
        assert a["start"].endswith("+08:00") and a["end"].endswith("+08:00"), a
    assert datetime.fromisoformat(manual[0]["start"]) == start
