"""The as-run record as CSV, for the API's export and `broadcastctl asrun --csv`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import tzinfo

from controller.records.asrun_store import COLUMNS, AsRunRow


def asrun_csv(rows: Sequence[AsRunRow], tz: tzinfo) -> str:
    """One line per row; every time column in ISO-8601 with the station's offset."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in rows:
        d = r.to_dict(tz)
        d["clips"] = json.dumps(d["clips"], ensure_ascii=False)
        writer.writerow([d[c] for c in COLUMNS])
    return out.getvalue()
