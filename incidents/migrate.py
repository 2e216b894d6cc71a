"""Alembic, configured in code: the migrations folder ships with the package, no alembic.ini.

Alembic is imported by the functions that use it: the commands that never migrate (most of
`incidents`, each a process of its own) start without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from incidents.paths import data_dir

if TYPE_CHECKING:
    from alembic.config import Config

FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(data_dir("migrations")))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("truncate_slug_length", "40")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "-1") -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def revision(engine: Engine, message: str, autogenerate: bool = True) -> None:
    from alembic import command

    command.revision(alembic_config(engine), message=message, autogenerate=autogenerate)
