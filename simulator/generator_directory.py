"""Sites, people and teams: the directory the other collections point at.

The 200 people and 36 teams that organizations, products and projects have always referenced
are the first records here, with the same ids, names and disabled flags (and no sourceID, so
references to them render as before); more records follow them.
"""

from __future__ import annotations

import uuid

from .draws import (
    CALENDARS,
    CURRENCIES,
    ORG_UNIT,
    PEOPLE_FIRST,
    PEOPLE_LAST,
    RAILS_ZONES,
    CollectionBuilder,
    RefPool,
)

#: (city, state, country, Rails time zone) of the sites.
SITE_PLACES = (
    ("Chicago", "IL", "US", "Central Time (US & Canada)"),
    ("Houston", "TX", "US", "Central Time (US & Canada)"),
    ("New York", "NY", "US", "Eastern Time (US & Canada)"),
    ("Amsterdam", None, "NL", "Amsterdam"),
    ("London", None, "GB", "London"),
    ("Sydney", "NSW", "AU", "Sydney"),
)
SITE_KINDS = ("Headquarters", "Data Center", "Office", "Warehouse", "Branch")
STREETS = ("Main Street", "Market Street", "Keizersgracht", "King's Road", "George Street")
JOB_TITLES = (
    "Service Desk Analyst",
    "System Engineer",
    "Network Engineer",
    "Project Manager",
    "Account Manager",
    "Controller",
    "HR Advisor",
    "Developer",
    None,
)
LOCALES = ("en-US", "en-GB", "nl", "de", "fr")
EMAIL_NOTIFICATIONS = ("always", "when_offline", "never")
NOTIFICATION_POPUPS = ("always", "important_only", "never")


class DirectoryBuilder(CollectionBuilder):
    """Generates sites, people and teams (in that order: people work at sites, teams name
    people), each from its own random stream."""

    collections = ("sites", "people", "teams")

    def __init__(self, config, anchor, world, legacy_people: list, legacy_teams: list):
        super().__init__(config, anchor, world)
        self.legacy_people = legacy_people
        self.legacy_teams = legacy_teams

    def build(self, counts: dict):
        world = self.world
        world.add_referenced("sites", self.sites(counts["sites"]), missing="Closed Site")
        world.add_referenced("people", self.people(counts["people"]), missing="Former Employee")
        world.add_referenced("teams", self.teams(counts["teams"]), missing="Dissolved Team")

    def new_row(self, collection: str, row_id: int, moment: int) -> dict:
        """A record inserted at run time; people get a manager from the generated ones."""
        self._use(collection)
        if collection == "sites":
            return self.site(row_id, moment)
        if collection == "people":
            return self.person(row_id, moment, None, self._pick("people", null_rate=0.1))
        return self.team(row_id, moment, None)

    # --- sites ----------------------------------------------------------------------------

    def sites(self, count: int) -> list[dict]:
        self._use("sites")
        return [self.site(i, t) for i, t in zip(self._ids(200, count), self._times(count))]

    def site(self, site_id: int, created: int) -> dict:
        rand = self.rng.random
        city, state, country, zone = self._one_of(SITE_PLACES)
        imported = rand() < 0.3
        return {
            "id": site_id,
            "sourceID": f"SITE-{site_id}" if imported else None,
            "source": "import" if imported else None,
            "name": f"{city} {self._one_of(SITE_KINDS)} {site_id}",
            "disabled": rand() < 0.06,
            "address": f"{self._between(1, 999)} {self._one_of(STREETS)}",
            "city": city,
            "state": state,
            "zip": str(self._between(10000, 99999)),
            "country": country,
            "integration": rand() < 0.2,
            "time_zone": zone,
            "picture_uri": None,
            "remarks": self._one_of((None, None, "Badge access only", "Shared with a supplier")),
            "attachments": [],
            "custom_fields": self._custom_fields(),
            "ui_extension": None,
            "created_at": created,
            "updated_at": self._updated(created),
        }

    # --- people ---------------------------------------------------------------------------

    def people(self, count: int) -> list[dict]:
        """The legacy people first, then new ones; each manager is a person generated earlier,
        so the management tree has no cycles and grows several levels deep."""
        self._use("people")
        rows, earlier = [], RefPool([], missing="Former Employee")
        for person_id, created, known in self._first_release_first(self.legacy_people, count):
            manager = self._pick(earlier, null_rate=0.1) if earlier.refs else None
            row = self.person(person_id, created, known, manager)
            rows.append(row)
            earlier.refs.append({"id": person_id, "name": row["name"]})
        self._apply_tie_blocks(rows)
        return rows

    def person(self, person_id: int, created: int, known, manager) -> dict:
        rand = self.rng.random
        if known:
            name, disabled, source_id = known["name"], bool(known.get("disabled")), None
        else:
            name = f"{self._one_of(PEOPLE_FIRST)} {self._one_of(PEOPLE_LAST)}"
            disabled = rand() < 0.05
            source_id = None
            if rand() < 0.5:
                source_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        email = f"{name.lower().replace(' ', '.')}.{person_id}@widget.example"
        cost = self._decimal(40, 160) if rand() < 0.6 else None
        record = {
            "id": person_id,
            "sourceID": source_id,
            "source": "azure_ad" if source_id else None,
            "name": name,
            "primary_email": email,
            "employeeID": f"E{person_id:06d}" if rand() < 0.7 else None,
            "supportID": f"S{person_id}" if rand() < 0.1 else None,
            "authenticationID": email if rand() < 0.5 else None,
            "job_title": self._one_of(JOB_TITLES),
            "location": (
                f"Room {self._between(1, 9)}.{self._between(1, 40):02d}" if rand() < 0.4 else None
            ),
            "organization": self._pick("organizations"),
            "site": self._pick("sites", null_rate=0.2),
            "manager": manager,
            "work_hours": dict(self._one_of(CALENDARS)) if rand() < 0.5 else None,
            "disabled": disabled,
            "cost_per_hour": cost,
            "cost_per_hour_currency": self._one_of(CURRENCIES) if cost else None,
            "created_at": created,
            "updated_at": self._updated(created),
        }
        record.update(self._person_settings())
        record.update(self._person_contact(person_id))
        return record

    def _person_settings(self) -> dict:
        rand = self.rng.random
        return {
            "guest": rand() < 0.02,
            "vip": rand() < 0.03,
            "locale": self._one_of(LOCALES),
            "time_zone": self._one_of(RAILS_ZONES),
            "time_format_24h": rand() < 0.6,
            "auto_translation": rand() < 0.2,
            "do_not_translate_languages": self._one_of((None, None, "nl", "de,fr")),
            "exclude_team_notifications": rand() < 0.1,
            "oauth_person_enablement": rand() < 0.05,
            "send_email_notifications": self._one_of(EMAIL_NOTIFICATIONS),
            "show_notification_popup": self._one_of(NOTIFICATION_POPUPS),
            "ui_extension": None,
        }

    def _person_contact(self, person_id: int) -> dict:
        """Personal data: a home address for some, phone numbers for most."""
        rand = self.rng.random
        addresses, contacts = [], []
        if rand() < 0.3:
            city, state, country, _ = self._one_of(SITE_PLACES)
            addresses.append(
                {
                    "id": person_id * 10 + 1,
                    "label": "home",
                    "address": f"{self._between(1, 999)} {self._one_of(STREETS)}",
                    "city": city,
                    "state": state,
                    "zip": str(self._between(10000, 99999)),
                    "country": country,
                    "integration": False,
                }
            )
        if rand() < 0.7:
            phone = f"+1 555 {self._between(100, 999)} {self._between(1000, 9999)}"
            contacts.append({"id": person_id * 10 + 2, "label": "work", "telephone": phone})
        return {
            "picture_uri": None,
            "information": self._one_of((None, None, "Prefers e-mail", "Part-time")),
            "addresses": addresses,
            "contacts": contacts,
            "attachments": [],
            "custom_fields": self._custom_fields(),
        }

    # --- teams ----------------------------------------------------------------------------

    def teams(self, count: int) -> list[dict]:
        """The legacy teams first (never disabled, no sourceID), then new ones."""
        self._use("teams")
        return [
            self.team(team_id, created, known)
            for team_id, created, known in self._first_release_first(self.legacy_teams, count)
        ]

    def team(self, team_id: int, created: int, known) -> dict:
        rand = self.rng.random
        if known:
            name, disabled, source_id = known["name"], False, None
        else:
            name = f"{self._one_of(ORG_UNIT)} Team {team_id}"
            disabled = rand() < 0.1
            source_id = f"TEAM-{team_id}" if rand() < 0.3 else None
        return {
            "id": team_id,
            "sourceID": source_id,
            "source": "import" if source_id else None,
            "name": name,
            "disabled": disabled,
            "manager": self._pick("people", null_rate=0.2),
            "coordinator": self._pick("people", null_rate=0.5),
            "configuration_manager": self._pick("people", null_rate=0.7),
            "auto_assign": rand() < 0.3,
            "agile_board": None,
            "scrum_workspace": None,
            "inbound_email_local_part": f"team{team_id}" if rand() < 0.4 else None,
            "work_hours": dict(self._one_of(CALENDARS)) if rand() < 0.7 else None,
            "time_zone": self._one_of(RAILS_ZONES),
            "picture_uri": None,
            "remarks": self._one_of((None, None, "Second line", "Escalations only")),
            "attachments": [],
            "custom_fields": self._custom_fields(),
            "ui_extension": None,
            "created_at": created,
            "updated_at": self._updated(created),
        }
