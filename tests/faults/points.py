"""Kill points chosen by a seed within the events an uninterrupted run counted."""

from __future__ import annotations

import random


def seeded_points(seed: int, total: int, k: int) -> list[int]:
    """`k` distinct event numbers in 1..`total` (all of them if there are fewer), sorted,
    the same for the same seed: a failing point can be run again by its seed."""
    if total < 1:
        raise ValueError("an uninterrupted run counted no events to kill at")
    return sorted(random.Random(seed).sample(range(1, total + 1), min(k, total)))
