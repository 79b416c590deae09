"""Refuse saved positions that lie in the future.

``state.load_state`` checks that every timestamp of a saved state parses and has an offset,
but a well-formed timestamp can still be impossible: every cursor and walk position is the
``updated_at`` of a row the API returned, and the API stamps rows with its own clock, so none
can be later than now (beyond clock skew). A hand-edited or corrupted state with such a
timestamp (a typo like 2062 for 2026) would make every incremental sync ask for
``updated_at>=<future>``, receive nothing, keep the cursor, and skip every change from then on
without a word. Found by the bad-state property test (tests/property).

Re-reading the initial window instead is not safe either (state.py explains why: rows changed
between the true cursor and the window start would be skipped), so the sync fails before any
request with the same recovery hint as every other unusable state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

from .state import RESET_HINT, StateError, TableState
from .tables import format_utc, parse_utc

#: How far a saved timestamp may be ahead of this machine's clock. Far beyond real clock skew
#: between the connector and Xurrent (seconds to minutes), far below a mistyped year.
MAX_CLOCK_SKEW = timedelta(days=1)


def refuse_future_positions(
    tables: Mapping[str, TableState], now: datetime, section: str = "tables"
) -> None:
    """Raise ``StateError`` naming the first saved timestamp later than ``now`` + skew.

    ``section`` is the state key the entries live under: the archive and trash walks keep
    the same entries under ``lifecycle`` (their positions are entry ``created_at`` values,
    just as impossible in the future).
    """
    limit = now + MAX_CLOCK_SKEW
    for name, table in tables.items():
        walk = table.walk
        candidates = [("cursor", table.cursor)]
        if walk is not None:
            candidates += [("walk.query.at", walk.query.at), ("walk.position", walk.position)]
        for field, value in candidates:
            if value is not None and parse_utc(value) > limit:
                raise StateError(
                    f"Saved state field '{section}.{name}.{field}' is {value}, later than now "
                    f"({format_utc(now.replace(microsecond=0))}); no row can have been "
                    "updated in the future, so the state was edited or corrupted, and syncing "
                    f"from it would skip every change. {RESET_HINT}"
                )
