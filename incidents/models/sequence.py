"""Counters behind human-readable references (INC-2017-0001, PER-0042)."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped

from incidents.db import Base, system


class ReferenceCounter(Base):
    __tablename__ = "reference_counters"

    prefix: Mapped[str] = system(String(20), primary_key=True, comment="e.g. INC-2017")
    last_value: Mapped[int] = system(Integer, default=0)
