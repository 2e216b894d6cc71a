"""The `incidents` command: a Flask CLI group, so `incidents run` and `incidents shell` work.

Commands call services only. Every failure ends with a one-line reason on stderr and a
non-zero exit status.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import OperationalError
from werkzeug.serving import run_simple

from incidents import create_app, migrate
from incidents.audit.log import Actor
from incidents.audit_commands import audit_group
from incidents.crypto.keys import generate_master_key, write_key_file
from incidents.crypto.vault import FieldVault
from incidents.errors import IncidentsError, ValidationError
from incidents.extensions import db, evidence_store, key_provider, use_key_provider
from incidents.models.organisation import Team
from incidents.models.user import User
from incidents.models.vocabularies import Role
from incidents.redaction import Profile
from incidents.services import accounts, demo, erasure, keys, people, two_factor
from incidents.services import evidence as evidence_service
from incidents.services.export import CLI_PROFILES, count_exported, export_records


def _app_factory() -> Any:
    return create_app()


class IncidentsGroup(FlaskGroup):
    """A FlaskGroup that lists and finds its commands without building the application.

    Flask's own group builds the app to look for commands on `app.cli`; this project
    registers none there, and building the app for `--help` generated development keys
    as a side effect and printed a traceback when the configuration was broken. Commands
    that need the app still build it, through `with_appcontext`.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_plugin_commands()
        return click.Group.get_command(self, ctx, name)


cli = IncidentsGroup(
    create_app=_app_factory,
    add_default_commands=True,
    load_dotenv=False,
    set_debug_flag=False,
    help="Incidents: a documentation database for human-rights incidents.",
)


cli.add_command(audit_group)  # incidents/audit_commands.py


# -- database ---------------------------------------------------------------------------


@cli.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    migrate.upgrade(db.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine)}")


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (default: one step back)."""
    migrate.downgrade(db.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine) or 'base (empty)'}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the schema revision of the database and the newest one available."""
    current = migrate.current_revision(db.engine)
    head = migrate.head_revision(db.engine)
    state = "up to date" if current == head else "needs `incidents db upgrade`"
    click.echo(f"current: {current or 'none (empty database)'}\nhead:    {head}\n{state}")


# -- users and teams --------------------------------------------------------------------
#
# The same services and rules as the administration pages (last administrator, password
# rules, sessions ended on role, password and two-factor changes), with the command line
# as the audited actor. Each command commits once.

ROLE_CHOICE = click.Choice([r.value for r in Role])


def _user(email: str) -> User:
    user = accounts.find_user_by_email(db.session, email)
    if user is None:
        raise ValidationError(f"no user with the e-mail {email!r} (see `incidents users list`)")
    return user


def _teams(slugs: tuple[str, ...]) -> list[Team]:
    found = []
    for slug in slugs:
        team = accounts.team_by_slug(db.session, slug)
        if team is None:
            raise ValidationError(f"no team with the slug {slug!r} (see `incidents teams list`)")
        found.append(team)
    return found


def _exactly(values: tuple[str, ...], none: bool, option: str) -> None:
    """Refuse an empty list given by accident: emptying one needs --none, said on purpose."""
    if values and none:
        raise click.UsageError(f"give {option} or --none, not both")
    if not values and not none:
        raise click.UsageError(f"give {option} at least once, or --none to remove every one")


def _joined(values: list[str]) -> str:
    return ",".join(sorted(values)) or "-"


@cli.group("users")
def users_group() -> None:
    """User accounts: create, list, roles, teams, disable, passwords, two-factor."""


@users_group.command("create")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", "display_name", required=True, help="Name shown in the interface.")
@click.option(
    "--role", "roles", multiple=True, type=ROLE_CHOICE, help="A role; repeat for several."
)
@click.option("--team", "teams", multiple=True, help="A team slug; repeat for several.")
@click.password_option(help="At least 12 characters; asked for when not given.")
@with_appcontext
def users_create(
    email: str, display_name: str, roles: tuple[str, ...], teams: tuple[str, ...], password: str
) -> None:
    """Create a user with roles and team memberships."""
    user = accounts.create_user(
        db.session,
        Actor.command_line(),
        email,
        display_name,
        password,
        roles=[Role(r) for r in roles],
        teams=_teams(teams),
    )
    db.session.commit()
    click.echo(f"created user {user.email}")


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users: e-mail, roles, teams, active or disabled, two-factor on or off."""
    for user in accounts.all_users(db.session):
        roles = _joined([r.value for r in user.role_set])
        teams = _joined([m.team.slug for m in user.memberships])
        state = "active" if user.is_active else "disabled"
        second = "on" if user.has_two_factor else "off"
        click.echo(f"{user.email}\troles={roles}\tteams={teams}\t{state}\t2fa={second}")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str) -> None:
    """Disable the account EMAIL: no more logins, and its sessions end now."""
    user = _user(email)
    accounts.disable_user(db.session, Actor.command_line(), user)
    db.session.commit()
    click.echo(f"disabled {user.email}; every session of theirs has ended")


@users_group.command("enable")
@click.argument("email")
@with_appcontext
def users_enable(email: str) -> None:
    """Enable the disabled account EMAIL again."""
    user = _user(email)
    accounts.enable_user(db.session, Actor.command_line(), user)
    db.session.commit()
    click.echo(f"enabled {user.email}")


@users_group.command("set-roles")
@click.argument("email")
@click.option(
    "--role", "roles", multiple=True, type=ROLE_CHOICE, help="A role; repeat for several."
)
@click.option("--none", "no_roles", is_flag=True, help="Remove every role.")
@with_appcontext
def users_set_roles(email: str, roles: tuple[str, ...], no_roles: bool) -> None:
    """Give EMAIL exactly the roles named (or none, with --none); their sessions end."""
    _exactly(roles, no_roles, "--role")
    user = _user(email)
    before = _joined([r.value for r in user.role_set])
    if not accounts.set_roles(db.session, Actor.command_line(), user, [Role(r) for r in roles]):
        click.echo(f"roles of {user.email} unchanged: {before}")
        return
    db.session.commit()
    after = _joined([r.value for r in user.role_set])
    click.echo(f"roles of {user.email}: {before} -> {after}; every session of theirs has ended")


@users_group.command("set-teams")
@click.argument("email")
@click.option("--team", "teams", multiple=True, help="A team slug; repeat for several.")
@click.option("--none", "no_teams", is_flag=True, help="Remove every team membership.")
@with_appcontext
def users_set_teams(email: str, teams: tuple[str, ...], no_teams: bool) -> None:
    """Make EMAIL a member of exactly the teams named (or none, with --none)."""
    _exactly(teams, no_teams, "--team")
    user, found = _user(email), _teams(teams)
    before = _joined([m.team.slug for m in user.memberships])
    if not accounts.set_teams(db.session, Actor.command_line(), user, found):
        click.echo(f"teams of {user.email} unchanged: {before}")
        return
    db.session.commit()
    click.echo(f"teams of {user.email}: {before} -> {_joined([t.slug for t in found])}")


@users_group.command("reset-two-factor")
@click.argument("email")
@with_appcontext
def users_reset_two_factor(email: str) -> None:
    """Remove the second factor of EMAIL (a lost phone); they enrol again at next login."""
    user = _user(email)
    if not two_factor.reset(db.session, Actor.command_line(), user):
        raise ValidationError(f"{user.email} has no second factor to reset")
    db.session.commit()
    click.echo(f"removed the second factor of {user.email}; every session of theirs has ended")


@users_group.command("set-password")
@click.argument("email")
@click.password_option(help="At least 12 characters; asked for (twice) when not given.")
@with_appcontext
def users_set_password(email: str, password: str) -> None:
    """Set a new password for EMAIL; every session of theirs ends."""
    user = _user(email)
    accounts.set_password(db.session, Actor.command_line(), user, password)
    db.session.commit()
    click.echo(f"set a new password for {user.email}; every session of theirs has ended")


@cli.group("teams")
def teams_group() -> None:
    """Teams (compartments of case records)."""


@teams_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Team name shown in the interface.")
@with_appcontext
def teams_create(slug: str, name: str) -> None:
    """Create a team with the short name SLUG."""
    team = accounts.create_team(db.session, Actor.command_line(), slug, name)
    db.session.commit()
    click.echo(f"created team {team.slug}")


@teams_group.command("list")
@with_appcontext
def teams_list() -> None:
    """List teams: slug, name, number of members."""
    counts = accounts.team_member_counts(db.session)
    for team in accounts.all_teams(db.session):
        click.echo(f"{team.slug}\t{team.name}\tmembers={counts.get(team.id, 0)}")


@teams_group.command("members")
@click.argument("slug")
@with_appcontext
def teams_members(slug: str) -> None:
    """List the members of the team SLUG with their roles."""
    team = _teams((slug,))[0]
    for user in accounts.team_members(db.session, team):
        roles = _joined([r.value for r in user.role_set])
        state = "active" if user.is_active else "disabled"
        click.echo(f"{user.email}\troles={roles}\t{state}")


# -- keys -------------------------------------------------------------------------------


@cli.group("keys")
def keys_group() -> None:
    """Master keys and data keys."""


@keys_group.command("generate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def keys_generate(path: Path) -> None:
    """Write a new key file with one production master key to PATH (mode 0600)."""
    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite a key file")
    key = generate_master_key()
    write_key_file(path, [key], key.key_id)
    click.echo(f"wrote master key {key.key_id} to {path}; set INCIDENTS_MASTER_KEY_FILE={path}")


@keys_group.command("status")
@with_appcontext
def keys_status() -> None:
    """Show the master keys held and how many data keys each wraps."""
    for row in keys.key_status(db.session, key_provider()):
        click.echo(
            f"{row.key_id}\t{row.state}\t{row.data_keys} data keys\t"
            f"{row.blind_index_entries} blind-index entries"
        )
    pending = keys.pending_rewraps(db.session, key_provider())
    if pending:
        click.echo(
            f"{pending} data keys are not wrapped by the primary: run `incidents keys rotate`"
        )


@keys_group.command("add")
@with_appcontext
def keys_add() -> None:
    """Add a new master key to the key file and make it the primary for new writes."""
    key_id = _add_primary_key()
    click.echo(f"added master key {key_id} as primary; now run `incidents keys rotate`")


def _add_primary_key() -> str:
    """Add a primary master key, commit, and use the updated provider from now on."""
    key, updated = keys.add_primary_key(db.session, key_provider(), Actor.command_line())
    db.session.commit()
    use_key_provider(updated)
    return key.key_id


@keys_group.command("rotate")
@click.option(
    "--new-key/--no-new-key",
    default=True,
    show_default=True,
    help="Add a new primary key first (--no-new-key resumes a rotation).",
)
@click.option(
    "--batch-size",
    default=keys.DEFAULT_BATCH,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Data keys re-wrapped per transaction.",
)
@with_appcontext
def keys_rotate(new_key: bool, batch_size: int) -> None:
    """Re-wrap every data key under the primary master key, in batches.

    Resumable and idempotent: if it stops half-way, run `incidents keys rotate
    --no-new-key` and it carries on; nothing is lost. Data is not re-encrypted.
    """
    if new_key and keys.pending_rewraps(db.session, key_provider()) == 0:
        click.echo(f"added master key {_add_primary_key()} as primary", err=True)
    provider = key_provider()
    total = keys.pending_rewraps(db.session, provider)
    with click.progressbar(length=total, label="Re-wrapping data keys", file=sys.stderr) as bar:

        def batch_done(count: int) -> None:
            db.session.commit()  # each batch is durable: a rotation killed here resumes
            bar.update(count)

        done = keys.rewrap_all(db.session, provider, Actor.command_line(), batch_size, batch_done)
    click.echo(f"re-wrapped {done} data keys under {provider.primary().key_id}")


@keys_group.command("retire")
@click.argument("key_id")
@with_appcontext
def keys_retire(key_id: str) -> None:
    """Remove master key KEY_ID from the key file; refused while anything still uses it."""
    updated = keys.retire_key(db.session, key_provider(), Actor.command_line(), key_id)
    db.session.commit()
    use_key_provider(updated)
    click.echo(f"retired master key {key_id}; it can no longer decrypt anything here")


@keys_group.command("reindex")
@click.option(
    "--batch-size",
    default=people.REINDEX_BATCH,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Records reindexed per transaction.",
)
@with_appcontext
def keys_reindex(batch_size: int) -> None:
    """Rebuild every blind-index entry under the primary master key, in batches.

    Run it after `incidents keys rotate` (so that the old key can be retired) and after
    changing blind_index_bytes. Each batch is committed; running it again is safe.
    """
    width = current_app.config["INCIDENTS_SETTINGS"].blind_index_bytes
    total = people.count_indexed_records(db.session)
    with click.progressbar(length=total, label="Reindexing", file=sys.stderr) as bar:

        def batch_done(records: int) -> None:
            db.session.commit()  # each batch is durable; a new run redoes everything safely
            bar.update(records)

        outcome = people.reindex_all(
            db.session,
            key_provider(),
            batch_done,
            width=width,
            actor=Actor.command_line(),
            batch_size=batch_size,
        )
    db.session.commit()
    tables = ", ".join(f"{count} {table}" for table, count in outcome.records.items())
    click.echo(
        f"reindexed {outcome.total} records ({tables}): {outcome.entries} blind-index "
        f"entries under {outcome.master_key_id}, {width} bytes each"
    )


# -- erasure ----------------------------------------------------------------------------


@cli.command("erase")
@click.argument("reference")
@click.option("--reason", required=True, help="Why (kept in the tombstone; identify no one).")
@with_appcontext
def erase_command(reference: str, reason: str) -> None:
    """Crypto-shred the record REFERENCE (INC-, RPT-, SRC-, PER-): its data key goes."""
    outcome = erasure.erase_record(
        db.session, Actor.command_line(), None, reference, reason, store=evidence_store()
    )
    db.session.commit()
    click.echo(
        f"erased {reference} ({outcome.records_shredded} records shredded); "
        "a tombstone and an audit event remain"
    )


# -- export -----------------------------------------------------------------------------


@cli.command("export")
@click.option(
    "--profile",
    type=click.Choice([p.value for p in CLI_PROFILES]),
    required=True,
    help="full: every field decrypted; internal: public and restricted fields only.",
)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@with_appcontext
def export_command(profile: str, fmt: str, output: Path | None) -> None:
    """Export case records with the fields a redaction profile allows."""
    chosen = Profile(profile)
    total = count_exported(db.session)
    # The bar goes to stderr, so a JSON export on stdout stays clean.
    with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
        if output is None:
            counts = export_records(
                db.session, key_provider(), Actor.command_line(), chosen, sys.stdout, bar.update
            )
        else:
            partial = output.with_name(f".{output.name}.partial")
            try:
                with partial.open("w", encoding="utf-8") as target:
                    counts = export_records(
                        db.session, key_provider(), Actor.command_line(), chosen, target, bar.update
                    )
            except BaseException:
                partial.unlink(missing_ok=True)  # a failed export leaves nothing half-written
                raise
            partial.replace(output)
    db.session.commit()
    click.echo(f"exported {sum(counts.values())} records ({profile})", err=True)


# -- evidence ---------------------------------------------------------------------------

PROGRESS_FROM_BYTES = 8 * 1024 * 1024  # smaller files are done before a bar would show


@contextlib.contextmanager
def _byte_progress(length: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for a large file at a terminal; None otherwise."""
    if length < PROGRESS_FROM_BYTES or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


@cli.group("evidence")
def evidence_group() -> None:
    """Evidence files: encrypted into the evidence store, checked on the way out."""


@evidence_group.command("add")
@click.argument("report_ref")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--description", default=None, help="What the file shows (stored encrypted).")
@with_appcontext
def evidence_add(report_ref: str, path: Path, description: str | None) -> None:
    """Add the file PATH as evidence to the report REPORT_REF (e.g. RPT-2017-0003)."""
    settings = current_app.config["INCIDENTS_SETTINGS"]
    report = evidence_service.find_report(db.session, None, report_ref)
    try:
        size = path.stat().st_size
        source = path.open("rb")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    if size > settings.evidence_max_bytes:
        source.close()
        raise ValidationError(
            f"the file is larger than {evidence_service.human_size(settings.evidence_max_bytes)}, "
            "the most this installation accepts as evidence (setting evidence_max_bytes)"
        )
    with source, _byte_progress(size, "Encrypting") as progress:
        evidence = evidence_service.add_evidence(
            db.session,
            FieldVault(db.session, key_provider()),
            evidence_store(),
            Actor.command_line(),
            None,
            report,
            source,
            path.name,
            description,
            max_bytes=settings.evidence_max_bytes,
            chunk_bytes=settings.evidence_chunk_bytes,
            progress=progress,
        )
    db.session.commit()
    click.echo(
        f"added evidence {evidence.id} to {report.reference}: {evidence.media_type}, "
        f"{evidence_service.human_size(evidence.size_bytes)}, sha256 {evidence.sha256}"
    )


@evidence_group.command("get")
@click.argument("evidence_id", type=click.UUID)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the decrypted file (mode 0600); it must not exist.",
)
@with_appcontext
def evidence_get(evidence_id: Any, output: Path) -> None:
    """Decrypt the evidence EVIDENCE_ID into OUTPUT once its SHA-256 matches the record."""
    if output.exists():
        raise click.ClickException(f"{output} exists; refusing to overwrite it")
    details, content = evidence_service.open_evidence(
        db.session,
        FieldVault(db.session, key_provider()),
        evidence_store(),
        Actor.command_line(),
        None,
        evidence_id,
    )
    db.session.commit()  # the custody and decryption events, whatever happens next
    partial = output.with_name(f".{output.name}.partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with (
            os.fdopen(descriptor, "wb") as target,
            contextlib.closing(content),
            _byte_progress(details.size_bytes, "Decrypting") as progress,
        ):
            for chunk in content:
                target.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        partial.replace(output)  # only a file whose hash matched gets its name
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)  # a failed check leaves no output file
        raise
    click.echo(
        f"wrote {output}: {details.media_type}, "
        f"{evidence_service.human_size(details.size_bytes)}, sha256 {details.sha256} verified"
    )


# -- demo -------------------------------------------------------------------------------


@cli.command("demo")
@click.option("--no-serve", is_flag=True, help="Seed only; do not start the web server.")
@click.option("--reset", is_flag=True, help="Empty the database first, then seed again.")
@click.option("--port", default=5000, show_default=True, help="Port to serve on.")
@with_appcontext
def demo_command(no_serve: bool, reset: bool, port: int) -> None:
    """Create the schema, seed the 2017 Chechnya case and demo users, and serve the app."""
    settings = current_app.config["INCIDENTS_SETTINGS"]
    if settings.is_production:
        raise click.ClickException("the demo refuses to run in production")
    if reset:
        migrate.downgrade(db.engine, "base")
    migrate.upgrade(db.engine)
    outcome = demo.seed(
        db.session, key_provider(), Actor.command_line(), settings.blind_index_bytes
    )
    db.session.commit()
    click.echo("Demo case: " + ("seeded." if outcome.seeded else "already present, kept as is."))
    click.echo("Demo users (passwords are new on every run):")
    for line in outcome.credentials:
        click.echo(f"  role={line.role}  login={line.email}  password={line.password}")
    if no_serve:
        return
    click.echo(f"Serving on http://127.0.0.1:{port}/ — press Ctrl+C to stop.")
    # Flask's app.run() declines to start inside its own CLI; serve with Werkzeug directly.
    run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]


def main() -> None:
    """Entry point: run the group; turn known errors into one line on stderr."""
    try:
        status = cli.main(prog_name="incidents", standalone_mode=False)
        sys.exit(status if isinstance(status, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.UsageError as exc:
        # One line, like every other failure; `--help` is where the usage lives.
        click.echo(f"error: {exc.format_message()} (see `incidents --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except IncidentsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown"
        click.echo(f"error: database: {reason}", err=True)
        sys.exit(1)
