"""The retention page of the administration: the rules that crypto-shred records by
themselves, and the legal holds that keep records whatever the rules say.

Administrators set both here (users:manage): a rule concerns a kind of record, never a
record, and a hold names a record by its reference alone, so neither needs sight of any
case record. Adding or removing either can make records be shredded, or kept, so each
asks for a recent password entry, like a change of roles.
"""

from __future__ import annotations

from flask import render_template, url_for
from werkzeug.wrappers import Response

from incidents.records.inputs import parse_id
from incidents.records.retention_dates import FROM_DATES, RETAINED_KINDS
from incidents.services import retention_rules
from incidents.services.retention_rules import NewRule
from incidents.web.admin.retention_forms import (
    LegalHoldForm,
    ReleaseHoldForm,
    RemoveRuleForm,
    RetentionRuleForm,
)
from incidents.web.admin.views import blueprint
from incidents.web.boundary import context
from incidents.web.forms import OK, REFUSED, ActionForm, done, submit
from incidents.web.security import recent_login_required


def _page(
    rule_form: RetentionRuleForm | None = None,
    hold_form: LegalHoldForm | None = None,
    status: int = OK,
) -> tuple[str, int]:
    ctx = context()
    rules = retention_rules.all_rules(ctx)
    return render_template(
        "admin/retention.html",
        rules=[(rule, retention_rules.describe(rule)) for rule in rules],
        holds=retention_rules.holds_in_force(ctx),
        rule_form=rule_form or RetentionRuleForm(formdata=None),
        hold_form=hold_form or LegalHoldForm(formdata=None),
        action_form=ActionForm(),
        kinds=RETAINED_KINDS,
        fields_of={k.name: retention_rules.secret_fields(k) for k in RETAINED_KINDS},
        from_dates=FROM_DATES,
        back=url_for("admin.retention"),
    ), status


@blueprint.route("/retention")
def retention() -> tuple[str, int]:
    return _page()


@blueprint.route("/retention/rules", methods=["POST"])
@recent_login_required  # a new rule may shred records at the next run
def add_retention_rule() -> Response | tuple[str, int]:
    form = RetentionRuleForm()
    outcome = submit(
        form,
        lambda: retention_rules.add_rule(
            context(),
            NewRule(
                form.kind.data or "",
                form.field.data or "",
                form.period_count.data or "",
                form.period_unit.data or "",
                form.from_date.data or "",
            ),
        ),
    )
    if not outcome.accepted:
        return _page(rule_form=form, status=REFUSED)
    rule = outcome.result()
    return done(f"Added the rule “{retention_rules.describe(rule)}”.", "admin.retention")


@blueprint.route("/retention/rules/remove", methods=["POST"])
@recent_login_required
def remove_retention_rule() -> Response:
    form = RemoveRuleForm()
    rule_id = parse_id(form.rule_id.data or "")
    outcome = submit(
        form, lambda: retention_rules.remove_rule(context(), rule_id) if rule_id else None
    )
    removed = outcome.result() if outcome.accepted else None
    if removed is None:
        return done("That rule was removed already; nothing changed.", "admin.retention")
    text = retention_rules.describe(removed)
    return done(f"Removed the rule “{text}”: it shreds nothing from now on.", "admin.retention")


@blueprint.route("/retention/holds", methods=["POST"])
@recent_login_required  # a hold keeps records that rules would shred
def place_legal_hold() -> Response | tuple[str, int]:
    form = LegalHoldForm()
    outcome = submit(
        form,
        lambda: retention_rules.place_hold(context(), form.reference.data, form.reason.data),
    )
    if not outcome.accepted:
        return _page(hold_form=form, status=REFUSED)
    hold = outcome.result()
    return done(
        f"{hold.reference} is under a legal hold: no retention run erases it until released.",
        "admin.retention",
    )


@blueprint.route("/retention/holds/release", methods=["POST"])
@recent_login_required
def release_legal_hold() -> Response:
    form = ReleaseHoldForm()
    hold_id = parse_id(form.hold_id.data or "")
    outcome = submit(
        form, lambda: retention_rules.release_hold(context(), hold_id) if hold_id else None
    )
    released = outcome.result() if outcome.accepted else None
    if released is None:
        return done("That hold was released already; nothing changed.", "admin.retention")
    return done(
        f"Released the legal hold on {released.reference}: retention rules apply to it again.",
        "admin.retention",
    )
