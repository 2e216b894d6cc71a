"""Fuzz targets: parsers fed arbitrary and mutated input must answer with the project's
own error, never another exception, and never accept what was altered.

Each target runs FUZZ_EXAMPLES examples (default 200, which keeps the whole folder well
under a minute); raise it locally for a longer run, e.g. FUZZ_EXAMPLES=5000.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))

# No example database: the suite leaves no .hypothesis folder in the checkout.
FUZZ = settings(
    database=None,
    deadline=None,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow],
)
