"""What every generator draws the same way: creation and edit times, ids, tie blocks, custom
fields and references to the records of another collection.

Each generator holds its own ``random.Random``, so adding a collection or a field to one never
changes what another draws for a given seed.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect_right
from datetime import date

from .config import SimConfig

#: The median time since the last edit of a row older than it; 1 / this is each row's edit
#: rate near the anchor: 1 % of the rows per 6 hours, the business cadence the benchmark uses.
EDIT_MEDIAN_SECONDS = 6 * 3600 * 100

#: Ids of records that do not exist: a dangling reference carries one, and no generated or
#: inserted record ever takes one (the unknown suppliers of products use the same range).
DANGLING_IDS = (900_000, 999_999)
#: Share of the non-null references of the newer collections that dangle on purpose.
DANGLING_RATE = 0.03

PEOPLE_FIRST = (
    "Carolyn Howard Ellen Frank Grace Henk Ines Jacob Kim Lars Maria Nadia Omar Petra Quinn "
    "Rosa Sven Tara Uma Victor Wendy Xavier Yara Zeno"
).split()
PEOPLE_LAST = (
    "Goldrat Smith de Vries Jansen Miller Okafor Tanaka Novak Rossi Dubois Kowalski Berg Silva "
    "Nguyen Larsen Moreau Schmidt Patel"
).split()
ORG_UNIT = (
    "Finance|IT|Human Resources|Sales|Marketing|Legal|Facilities|Procurement|"
    "Data Center, External IT|Service Desk|Engineering|Research"
).split("|")
CURRENCIES = ("usd", "eur", "gbp", "chf", "aud")  # currency ids are lower case (DX-TYPES)
RAILS_ZONES = (
    "Central Time (US & Canada)",
    "Eastern Time (US & Canada)",
    "Amsterdam",
    "London",
    "UTC",
    "Sydney",
)
#: Calendars (work hours) that records point at; no collection serves them.
CALENDARS = (
    {"id": 5, "name": "Business Hours"},
    {"id": 6, "name": "24x7"},
    {"id": 7, "name": "Office Hours EU"},
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def yyyy_mm_dd(epoch: int) -> str:
    """A date field's text (DX-TYPES: yyyy-mm-dd): the UTC day of an epoch second."""
    return date.fromordinal(_EPOCH_ORDINAL + epoch // 86400).isoformat()


class RefPool:
    """The stored references to one collection's records, to draw random ones from.

    A target has one shared reference dict: the store renders a reference from the current
    target record at request time, so the stored display values only show once the target is
    gone (a dangling reference renders as stored).
    """

    def __init__(self, rows, display: str = "name", missing: str = "Removed Record"):
        self.refs = [{"id": row["id"], display: row.get(display)} for row in rows]
        self.display = display
        self.missing = missing

    def pick(self, rng: random.Random) -> dict:
        return self.refs[int(rng.random() * len(self.refs))]

    def dangling(self, rng: random.Random) -> dict:
        """A reference to a record that does not exist (deleted long ago, never imported)."""
        low, high = DANGLING_IDS
        ref_id = low + int(rng.random() * (high - low + 1))
        return {"id": ref_id, self.display: f"{self.missing} {ref_id}"}


class Draws:
    """Draw helpers over one random stream: ``self.rng``."""

    def __init__(self, config: SimConfig, anchor: int, rng: random.Random):
        self.config = config
        self.anchor = anchor
        self.rng = rng

    def _times(self, count: int) -> list[int]:
        """Sorted creation times over history_days before the anchor (ids follow creation)."""
        span = self.config.history_days * 86400
        return sorted(self.anchor - self.rng.randrange(span) for _ in range(count))

    def _updated(self, created: int) -> int:
        """updated_at skewed to recent at a tenant's pace; ~10 % never updated (== created_at).

        The time since the last edit follows ``P(x <= X) = X / (X + EDIT_MEDIAN_SECONDS)``,
        cut off at the row's age: half of the old rows were edited in the last 25 days, and
        near the anchor the edits arrive at a finite rate (1 % of the rows in 6 hours, a few
        rows in the last 5 minutes), as in a real tenant (see README, "Edit times").
        """
        rng = self.rng
        if rng.random() < 0.1:
            return created
        age = self.anchor - created
        share = rng.random() * age / (age + EDIT_MEDIAN_SECONDS)
        return self.anchor - int(EDIT_MEDIAN_SECONDS * share / (1.0 - share))

    def _ids(self, start: int, count: int) -> list[int]:
        ids, current = [], start
        for _ in range(count):
            current += 1 if self.rng.random() < 0.8 else self.rng.randint(2, 5)
            ids.append(current)
        return ids

    def _custom_fields(self):
        rng = self.rng
        if rng.random() < 0.6:
            return None
        return [
            {"id": "cost_center", "value": f"CC-{rng.randint(100, 999)}"},
            {"id": "tier", "value": rng.choice(("gold", "silver", None))},
        ]

    def _apply_tie_blocks(self, rows: list[dict]):
        """Give tie_block_size rows the same updated_at, like a bulk import would."""
        size = self.config.effective_tie_block_size()
        if size <= 0 or len(rows) < size * 2:
            return
        for _ in range(self.config.tie_blocks):
            moment = self.anchor - self.rng.randrange(1, self.config.history_days * 43200)
            eligible = [row for row in rows if row["created_at"] <= moment]
            for row in self.rng.sample(eligible, min(size, len(eligible))):
                row["updated_at"] = moment


class World:
    """The records generated so far, by collection, and reference pools over them."""

    def __init__(self):
        self.rows: dict[str, list[dict]] = {}
        self.pools: dict[str, RefPool] = {}

    def add(self, collection: str, rows: list[dict]):
        self.rows[collection] = rows

    def add_referenced(self, collection: str, rows: list[dict], display="name", missing=""):
        """Rows that other records point at, with a pool to draw references from; a dangling
        reference shows ``missing`` and its id as the display value."""
        self.add(collection, rows)
        self.pools[collection] = RefPool(rows, display, missing or "Removed Record")


class CollectionBuilder(Draws):
    """Generates some of the newer collections, one random stream per collection.

    Streams are seeded from the seed and the collection's name, so each collection's draws are
    its own; references come from the pools of the collections generated before it.
    """

    collections: tuple = ()  # the collections it generates, each with a stream of its name
    other_streams: tuple = ()  # streams for what no collection serves (project phases)

    def __init__(self, config: SimConfig, anchor: int, world: World):
        super().__init__(config, anchor, None)
        self.world = world
        names = self.collections + self.other_streams
        self.streams = {name: random.Random(f"{config.seed}/{name}") for name in names}

    def _use(self, stream: str) -> random.Random:
        """Switch to a stream (generation and inserts alike)."""
        self.rng = self.streams[stream]
        return self.rng

    # Draws from ``random()`` alone: ``choice``/``randint`` cost ten times as much, and the
    # seed scale draws some four million values (hot paths call ``rng.random`` directly).

    def _one_of(self, values):
        return values[int(self.rng.random() * len(values))]

    def _between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + int(self.rng.random() * (high - low + 1))

    def _weighted(self, values: tuple, cumulative_weights: tuple):
        draw = self.rng.random() * cumulative_weights[-1]
        return values[bisect_right(cumulative_weights, draw)]

    def _times(self, count: int) -> list[int]:
        """Sorted creation times over history_days before the anchor (ids follow creation)."""
        span, rand, anchor = self.config.history_days * 86400, self.rng.random, self.anchor
        return sorted(anchor - int(rand() * span) for _ in range(count))

    def _ids(self, start: int, count: int) -> list[int]:
        """Increasing ids with small gaps (records deleted before the data was captured)."""
        ids, current, rand = [], start, self.rng.random
        for _ in range(count):
            draw = rand()
            current += 1 if draw < 0.8 else 2 + int((draw - 0.8) * 20)
            ids.append(current)
        return ids

    def _first_release_first(self, legacy: list[dict], count: int):
        """(id, created_at, legacy record or None) of ``count`` records: the records the first
        three collections reference come first, then new ids after all of theirs."""
        kept = legacy[:count]
        last_id = max(record["id"] for record in legacy)
        ids = [record["id"] for record in kept] + self._ids(last_id, count - len(kept))
        return zip(ids, self._times(count), kept + [None] * (count - len(kept)))

    def _custom_fields(self):
        if self.rng.random() < 0.6:
            return None
        return [
            {"id": "cost_center", "value": f"CC-{self._between(100, 999)}"},
            {"id": "tier", "value": self._one_of(("gold", "silver", None))},
        ]

    def _decimal(self, low: int, high: int) -> str:
        """A decimal as the API writes it: a string with a dot and at least one decimal."""
        return f"{self._between(low, high)}.{self._one_of(('0', '5', '25', '99'))}"

    def _index(self, size: int) -> int:
        """An index into a sequence of ``size`` items."""
        return int(self.rng.random() * size)

    def _pick(self, source, null_rate: float = 0.0, dangling: bool = True):
        """A reference into a collection generated before (by name) or into a RefPool: null
        for ``null_rate`` of the draws, and for DANGLING_RATE of the rest one to a record that
        does not exist (unless ``dangling`` is off). One draw decides both and which record."""
        pool = source if isinstance(source, RefPool) else self.world.pools[source]
        draw = self.rng.random()
        if draw < null_rate:
            return None
        refs = pool.refs
        missing = null_rate + (1 - null_rate) * DANGLING_RATE if dangling else null_rate
        if not refs or draw < missing:
            return pool.dangling(self.rng)
        return refs[int((draw - missing) / (1 - missing) * len(refs))]


def cumulative(weights) -> tuple:
    """Running sums of weights, for ``CollectionBuilder._weighted``."""
    return tuple(itertools.accumulate(weights))
