"""Hypothesis profiles for the property tests.

``HYPOTHESIS_PROFILE=ci`` (the default) runs a bounded number of examples so `make test` stays
fast; ``HYPOTHESIS_PROFILE=long`` searches for as long as you like. ``PROPERTY_EXAMPLES=N``
overrides the number of examples of either profile. Both keep failing examples in
``.hypothesis/`` at the repository root (git-ignored), so a plain ``pytest tests/property``
replays a failure first, and print a ``@reproduce_failure`` blob with every failure.
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_DEFAULT_EXAMPLES = {"ci": 16, "long": 1000}


def _examples(profile: str) -> int:
    return int(os.environ.get("PROPERTY_EXAMPLES") or _DEFAULT_EXAMPLES[profile])


_common = dict(
    deadline=None,  # one example is several SDK runs; their time varies with the machine
    print_blob=True,
    database=DirectoryBasedExampleDatabase(os.path.join(ROOT, ".hypothesis", "examples")),
    # capsys is function-scoped on purpose: each SDK run's output is read (and scanned for
    # secrets) per run, so sharing it across examples is correct.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
settings.register_profile("ci", max_examples=_examples("ci"), derandomize=False, **_common)
settings.register_profile("long", max_examples=_examples("long"), derandomize=False, **_common)
