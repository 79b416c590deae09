"""Archive and trash: records of the archivable collections moving in and out of them.

An entry names its record's type and points at it (DOC-ARCH); the record is hidden from its
collection while it sits in either (switch ``hide_archived_and_trashed``), restoring bumps its
updated_at so an incremental reader meets it again, and erasing removes it for good.
"""

from __future__ import annotations

import random

from .query import ApiError, to_epoch
from .schema import BIN_TYPES, SPECS

SYSTEM_USER = {"id": 1, "name": "System"}
DAY = 86400
#: People can only be archived or trashed once disabled (SDK-NET-X PersonClient), so their
#: seeded shares apply to the disabled ones, multiplied by this (people who left are binned).
DISABLED_PEOPLE_FACTOR = 10
#: Entries of record types no collection here serves, per hundred served entries (at least 2).
FOREIGN_ENTRIES_PER_HUNDRED = 5
FOREIGN_SUBJECTS = ("Windows password reset required", "Replace broken monitor", "Patch SQL")


def _verb(target: str) -> str:
    return "archived" if target == "archive" else "trashed"


def _display_name(collection: str, row: dict) -> str:
    """What an entry's pointer shows: the record's subject or name (a time entry its day)."""
    if collection == "time_entries":
        return f"{row['date']} {row['time_spent']} min"
    return row.get("subject") or row.get("name") or str(row["id"])


class BinActions:
    """The archive and trash part of DataStore, which provides ``rows``, ``bins``, ``_touch``,
    ``next_ids``, ``render_single``, ``lock``, ``config``, ``anchor`` and ``generator``."""

    # --- seeding --------------------------------------------------------------------------

    def _seed_bins(self, generated: dict):
        """Projects exactly as the first release did (same stream, same entry ids), then the
        other archivable types from a stream of their own, in time order, and a few entries
        of types that no collection serves."""
        self._seed_project_bins(generated["projects"])
        rng = random.Random(f"{self.config.seed}/bins")
        placed = []
        for collection in BIN_TYPES.values():
            if collection != "projects":
                placed += self._seed_places(rng, collection, generated[collection])
        placed += self._foreign_places(rng, len(placed))
        placed.sort(key=lambda place: place[0])
        for moment, target, record_type, row_id in placed:
            actor = SYSTEM_USER if rng.random() < 0.5 else rng.choice(self.generator.people)
            if record_type in BIN_TYPES:
                self._put_in_bin(target, BIN_TYPES[record_type], row_id, moment, actor)
            else:  # a type no collection here serves
                subject = rng.choice(FOREIGN_SUBJECTS)
                pointer = {"id": row_id, "display_name": f"{row_id} {subject}"}
                self._add_entry(target, record_type, pointer, moment, actor)

    def _seed_project_bins(self, projects: list[dict]):
        """Put some completed projects in archive and trash, a few trashed over 28 days ago."""
        rng = random.Random(self.config.seed + 2)
        for row in projects:
            draw = rng.random()
            if draw < self.config.archived_fraction:
                target = "archive"
            elif draw < self.config.archived_fraction + self.config.trashed_fraction:
                target = "trash"
            else:
                continue
            moment = rng.randint(row["updated_at"], max(row["updated_at"], self.anchor))
            if target == "trash" and rng.random() < 0.5:
                moment = max(row["updated_at"], self.anchor - 40 * 86400)
            actor = SYSTEM_USER if rng.random() < 0.5 else self.generator.people[0]
            self._put_in_bin(target, "projects", row["id"], moment, actor)

    def _seed_places(self, rng, collection: str, rows: list[dict]) -> list[tuple]:
        """(moment, target, type, id) of the records of one collection to bin: the configured
        shares, and at least one record in each bin whenever there are records to put there."""
        config = self.config
        archived, trashed = config.archived_fraction, config.trashed_fraction
        if collection == "people":
            rows = [row for row in rows if row.get("disabled")]
            archived *= DISABLED_PEOPLE_FACTOR
            trashed *= DISABLED_PEOPLE_FACTOR
        chosen = {}
        for row in rows:
            draw = rng.random()
            if draw < archived:
                chosen[row["id"]] = ("archive", row)
            elif draw < archived + trashed:
                chosen[row["id"]] = ("trash", row)
        for target, share in (("archive", archived), ("trash", trashed)):
            free = [row for row in rows if row["id"] not in chosen]
            if share > 0 and free and target not in {where for where, _ in chosen.values()}:
                row = rng.choice(free)
                chosen[row["id"]] = (target, row)
        record_type = SPECS[collection].bin_type
        return [
            (self._bin_moment(rng, target, row), target, record_type, row_id)
            for row_id, (target, row) in sorted(chosen.items())
        ]

    def _bin_moment(self, rng, target: str, row: dict) -> int:
        """When a record was binned: after its last edit; half the trash over 40 days ago."""
        updated = row["updated_at"]
        if target == "trash" and rng.random() < 0.5:
            return max(updated, self.anchor - 40 * DAY)
        return rng.randint(updated, max(updated, self.anchor))

    def _foreign_places(self, rng, served: int) -> list[tuple]:
        """Entries of requests and workflow tasks, which a client must read past: alternately
        in the archive and the trash, so both hold some."""
        count = max(2, served * FOREIGN_ENTRIES_PER_HUNDRED // 100)
        span = self.config.history_days * DAY
        return [
            (
                self.anchor - rng.randrange(span),
                ("archive", "trash")[index % 2],
                ("request", "task")[index // 2 % 2],
                rng.randint(70000, 99999),
            )
            for index in range(count)
        ]

    # --- entries --------------------------------------------------------------------------

    def _add_entry(self, target: str, record_type: str, pointer: dict, moment: int, actor):
        verb = _verb(target)
        entry_id = self.next_ids[target]
        self.next_ids[target] += 1
        self.rows[target][entry_id] = {
            "id": entry_id,
            "created_at": moment,
            f"{verb}_by": dict(actor),
            verb: record_type,
            record_type: pointer,
        }
        self._touch(target, [entry_id])
        return entry_id

    def _put_in_bin(self, target: str, collection: str, row_id: int, moment: int, actor):
        row = self.rows[collection][row_id]
        pointer = {"id": row_id, "display_name": _display_name(collection, row)}
        entry_id = self._add_entry(target, SPECS[collection].bin_type, pointer, moment, actor)
        self.bins[collection][row_id] = (target, entry_id)
        self._touch(collection, [row_id])

    def _take_from_bin(self, collection: str, row_id: int) -> str:
        target, entry_id = self.bins[collection].pop(row_id)
        del self.rows[target][entry_id]
        self._touch(target, [entry_id])
        self._touch(collection, [row_id])
        return target

    def _binnable(self, collection: str, row_id: int) -> dict:
        """The record to archive, trash, restore or erase (404 when there is none)."""
        if collection not in self.bins:
            raise ValueError(f"{collection} records cannot be archived or trashed")
        row = self.rows[collection].get(row_id)
        if row is None:
            raise ApiError(404, "Not Found")
        return row

    def _require_disabled_person(self, collection: str, row: dict):
        if collection == "people" and not row.get("disabled"):
            raise ApiError(422, "Validation Failed")  # the person must be disabled first

    # --- actions --------------------------------------------------------------------------

    def archive_record(self, collection: str, row_id: int, at=None, actor=None) -> dict:
        """Archive a record (422 if it sits in the archive or trash already)."""
        with self.lock:
            row = self._binnable(collection, row_id)
            self._require_disabled_person(collection, row)
            if row_id in self.bins[collection]:
                raise ApiError(422, "Validation Failed")
            self._put_in_bin("archive", collection, row_id, to_epoch(at), actor or SYSTEM_USER)
            return self._action_result(collection, row, "archived")

    def trash_record(self, collection: str, row_id: int, at=None, actor=None) -> dict:
        """Trash a record, from the archive too (422 if it is in the trash already)."""
        with self.lock:
            row = self._binnable(collection, row_id)
            self._require_disabled_person(collection, row)
            where = self.bins[collection].get(row_id, ("",))[0]
            if where == "trash":
                raise ApiError(422, "Validation Failed")
            if where:
                self._take_from_bin(collection, row_id)
            self._put_in_bin("trash", collection, row_id, to_epoch(at), actor or SYSTEM_USER)
            return self._action_result(collection, row, "trashed")

    def restore_record(self, collection: str, row_id: int, at=None) -> dict:
        """Put a record back and bump its updated_at, so incremental readers see it again."""
        with self.lock:
            row = self._binnable(collection, row_id)
            if row_id not in self.bins[collection]:
                raise ApiError(422, "Validation Failed")
            self._take_from_bin(collection, row_id)
            row["updated_at"] = max(row["created_at"], to_epoch(at))
            self._touch(collection, [row_id])
            return self.render_single(collection, row)

    def erase_record(self, collection: str, row_id: int):
        """Erase a record from the trash: gone from every listing (references to it dangle)."""
        with self.lock:
            self._binnable(collection, row_id)
            if self.bins[collection].get(row_id, ("",))[0] != "trash":
                raise ApiError(422, "Validation Failed")
            self._take_from_bin(collection, row_id)
            del self.rows[collection][row_id]
            self._touch(collection, [row_id])

    def erase_expired_records(self, trash_days: int = 28, now=None) -> dict[str, list[int]]:
        """Erase every entry trashed more than ``trash_days`` ago (HELP-TRASH: 28 days), with
        its record; the erased ids by record type ("project", "person", "request", ...)."""
        limit = to_epoch(now) - trash_days * DAY
        erased: dict[str, list[int]] = {}
        with self.lock:
            for entry in list(self.rows["trash"].values()):
                if entry["created_at"] >= limit:
                    continue
                record_type = entry["trashed"]
                record_id = entry[record_type]["id"]
                if record_type in BIN_TYPES:
                    self.erase_record(BIN_TYPES[record_type], record_id)
                else:
                    del self.rows["trash"][entry["id"]]
                    self._touch("trash", [entry["id"]])
                erased.setdefault(record_type, []).append(record_id)
        return {record_type: sorted(ids) for record_type, ids in erased.items()}

    def bin_ids(self, target: str, collection: str = "projects") -> list[int]:
        """Ids of a collection's records in the archive or the trash."""
        with self.lock:
            bins = self.bins[collection].items()
            return sorted(row_id for row_id, (where, _) in bins if where == target)

    def _action_result(self, collection: str, row: dict, verb: str) -> dict:
        record = self.render_single(collection, row)
        record[verb] = "true"
        return record

    # --- the first release's project methods ------------------------------------------------

    def archive_project(self, project_id: int, at=None, actor=None) -> dict:
        return self.archive_record("projects", project_id, at, actor)

    def trash_project(self, project_id: int, at=None, actor=None) -> dict:
        return self.trash_record("projects", project_id, at, actor)

    def restore_project(self, project_id: int, at=None) -> dict:
        return self.restore_record("projects", project_id, at)

    def erase_project(self, project_id: int):
        self.erase_record("projects", project_id)

    def erase_expired(self, trash_days: int = 28, now=None) -> list[int]:
        """Erase everything expired; the ids of the projects among it (as before)."""
        return self.erase_expired_records(trash_days, now).get("project", [])
