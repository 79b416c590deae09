"""The state stays small: cursors and walk positions only, whatever the volume.

The SDK's runner logs the whole state at every checkpoint and Fivetran stores it with every
sync, so it must not grow with the data. A seed-size sync (10,000 organizations, 50,000
products, 5,000 projects) runs here through the real walker and client against the simulator;
its operations go to a counting stand-in for the SDK's ``Operations`` (same signatures), which
measures every checkpoint as the SDK stores it (compact JSON).
"""

from __future__ import annotations

import json

from testkit import configuration_for, sized

from xurrent_connector.options import parse_settings
from xurrent_connector.sync import run_sync


class MeasuringOperations:
    """Counts rows and measures checkpoints; keeps nothing else (65,000 rows would)."""

    def __init__(self):
        self.upserts = self.checkpoints = 0
        self.largest_state = ""

    def upsert(self, table: str, data: dict) -> None:
        self.upserts += 1

    def update(self, table: str, modified: dict) -> None:
        pass

    def delete(self, table: str, keys: dict) -> None:
        pass

    def checkpoint(self, state: dict) -> None:
        self.checkpoints += 1
        text = json.dumps(state, separators=(",", ":"))
        if len(text) > len(self.largest_state):
            self.largest_state = text


def test_the_largest_checkpoint_of_a_seed_size_sync_is_under_1_kb(make_sim, make_client):
    sim = make_sim(scale="seed", **sized("seed"))
    settings = parse_settings(configuration_for(sim))
    op = MeasuringOperations()
    # The client paces on a fake clock: the burst pacing would otherwise take a minute.
    run_sync(settings, {}, make_client(settings), op=op)
    rows = sum(len(sim.ground_truth(table)) for table in ("organizations", "products", "projects"))
    assert op.upserts >= rows > 60_000  # every row, plus the sync_health rows
    assert op.checkpoints > 600  # one per page
    assert len(op.largest_state) < 1024, op.largest_state
    largest = json.loads(op.largest_state)
    walks = [walk for entry in largest["streams"].values() for walk in entry["walks"]]
    assert any("next_page" in walk for walk in walks)  # measured mid-walk, cursors included
