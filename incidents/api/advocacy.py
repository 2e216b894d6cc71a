"""An advocacy action's links to reports and its follow-ups, through the API.

The same services as the action's page (incidents/services/action_links.py,
follow_ups.py): a link is refused — and the refusal audited — exactly when the page
refuses it, with the same words; a follow-up goes only to a colleague of the action's
team who works on its advocacy. Reading needs advocacy:read in the action's team
(researchers, advocacy leads, auditors); adding, changing and removing need
advocacy:write (advocacy leads). An action's responses are a record kind like any other
(incidents/api/records.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field, create_model

from incidents.api.answers import created, page_of, record_id
from incidents.api.bodies import body_of
from incidents.api.operations import ApiResult, operation
from incidents.api.problems import ApiProblem, problem_response
from incidents.api.records import list_query_model
from incidents.api.schemas import (
    Page,
    Request,
    create_model_of,
    document_model,
    update_model_of,
)
from incidents.context import Context
from incidents.errors import EditConflict, NotFound, ValidationError
from incidents.records.kinds import ACTION_LINK, ADVOCACY_ACTION, FOLLOW_UP
from incidents.services import action_links, advocacy_work, api_records, follow_ups
from incidents.web.boundary import attempt

READ, WRITE = "advocacy:read", "advocacy:write"
LINKS, FOLLOW_UPS = "Action links", "Follow-ups"

# A link as a document, with what the action's page shows beside it: whether its report
# may still serve the action, now that consents may have been withdrawn.
LinkDocument = create_model(
    "LinkToReport",
    __base__=document_model(ACTION_LINK),
    __doc__="A link from an advocacy action to a report that supports it.",
    flagged=(
        bool | None,
        Field(None, description="The report may no longer serve this action (consent)."),
    ),
    flag_reason=(
        str | None,
        Field(None, description="Why, as a refusal says it: the use and how many people."),
    ),
)
FollowUpDocument = document_model(FOLLOW_UP)
LinkQuery = list_query_model(ACTION_LINK)
FollowUpQuery = list_query_model(FOLLOW_UP)
LinkCreate = create_model_of(ACTION_LINK)
FollowUpCreate = body_of(
    "FollowUpCreate",
    "A new follow-up of an action; the assignee is a user's e-mail or id.",
    create_model_of(FOLLOW_UP),
    ("action", "description", "due_on", "assignee"),
)
FollowUpChange = body_of(
    "FollowUpChange",
    "Changes to a follow-up: the fields sent change (null empties one), and `done` marks "
    "it done or not done.",
    update_model_of(FOLLOW_UP),
    ("description", "due_on", "assignee"),
    done=(bool | None, Field(None, description="true: done now; false: not done.")),
)


def _filters(query: Any, *names: str) -> dict[str, str]:
    return {name: value for name in names if (value := getattr(query, name)) is not None}


def _action_and_values(body: Request) -> tuple[str, dict[str, Any]]:
    """The action a new link or follow-up is for (a reference or an id), and the rest."""
    raw = body.model_dump(exclude_unset=True)
    return str(raw.pop("action")), raw


def _no_such_action(key: str) -> ValidationError:
    return ValidationError.on(
        "action", f"There is no {ADVOCACY_ACTION.label} {key} in this team; check the reference."
    )


# -- links to reports ----------------------------------------------------------------------


def _with_flags(ctx: Context, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The links' documents with what the action's page shows beside each: whether, and
    why, its report may no longer serve the action (judged for all of them at once)."""
    flags = advocacy_work.link_flags(ctx, [uuid.UUID(doc["id"]) for doc in documents])
    shown = []
    for doc in documents:
        reason = flags.get(uuid.UUID(doc["id"]))
        shown.append({**doc, "flagged": reason is not None, "flag_reason": reason})
    return shown


@operation(
    "GET",
    "/action_links",
    name="list_action_links",
    summary="Links from advocacy actions to reports",
    scope=READ,
    tag=LINKS,
    query=LinkQuery,
    response=Page[LinkDocument],  # type: ignore[valid-type]
)
def list_action_links(ctx: Context, query: Any) -> dict[str, Any]:
    """The links of your teams' actions, each flagged when consent withdrawn since means
    its report may no longer serve the action."""
    page = page_of(ctx, ACTION_LINK, _filters(query, "action", "report"), query)
    return {**page, "items": _with_flags(ctx, page["items"])}


@operation(
    "GET",
    "/action_links/<key>",
    name="get_action_link",
    summary="A link from an action to a report",
    scope=READ,
    tag=LINKS,
    response=LinkDocument,
    etag=True,
)
def get_action_link(ctx: Context, key: str) -> dict[str, Any]:
    """The link; its ETag is what a removal sends in If-Match."""
    return _with_flags(ctx, [api_records.get_document(ctx, ACTION_LINK, key)])[0]


@operation(
    "POST",
    "/action_links",
    name="create_action_link",
    summary="Link a report to an action",
    scope=WRITE,
    tag=LINKS,
    body=LinkCreate,
    response=LinkDocument,
    status=201,
    etag=True,
)
def create_action_link(ctx: Context, body: Request) -> Any:
    """Links the report to the action, if the report's source and everyone with an act in
    its incident consent to what the action does with it. A refusal is a 422 problem
    (`consent-missing`) naming the uses missing and how many people, never who; it is
    recorded in the audit log all the same."""
    action, raw = _action_and_values(body)
    try:
        with attempt():  # what the refusal rolls back; its audit event is kept apart
            link = action_links.link_report(ctx, action, raw, audit_refusal=False)
    except action_links.LinkRefused as refused:
        action_links.record_refusal(ctx, refused)
        # Answered, not raised: a raised error would roll back the request, and with it
        # the record of the refusal.
        return problem_response(
            ApiProblem(422, str(refused), slug="consent-missing", errors=refused.errors)
        )
    except NotFound:
        raise _no_such_action(action) from None
    document = api_records.document_of(ctx, ACTION_LINK, link)
    return created(_with_flags(ctx, [document])[0], "get_action_link", link.id)


@operation(
    "DELETE",
    "/action_links/<key>",
    name="delete_action_link",
    summary="Remove a link from an action to a report",
    scope=WRITE,
    tag=LINKS,
    status=204,
    etag=True,
)
def delete_action_link(ctx: Context, key: str, if_match: int) -> None:
    """Removes the link (recorded in the audit log on the action). To undo it, link the
    report again, if consent still allows it."""
    link_id = record_id(key, "link")
    removal = action_links.for_removal(ctx, link_id)
    if removal.lock_version != if_match:
        raise EditConflict(
            f"The link to {removal.report_reference}", if_match, removal.lock_version, {}
        )
    action_links.remove_link(ctx, link_id, if_match)


# -- follow-ups ------------------------------------------------------------------------------


@operation(
    "GET",
    "/follow_ups",
    name="list_follow_ups",
    summary="Follow-ups of advocacy actions",
    scope=READ,
    tag=FOLLOW_UPS,
    query=FollowUpQuery,
    response=Page[FollowUpDocument],  # type: ignore[valid-type]
)
def list_follow_ups(ctx: Context, query: Any) -> dict[str, Any]:
    """What is due next on your teams' actions, by whom; `done_at` is set once done."""
    return page_of(ctx, FOLLOW_UP, _filters(query, "action"), query)


@operation(
    "GET",
    "/follow_ups/<key>",
    name="get_follow_up",
    summary="A follow-up",
    scope=READ,
    tag=FOLLOW_UPS,
    response=FollowUpDocument,
    etag=True,
)
def get_follow_up(ctx: Context, key: str) -> dict[str, Any]:
    """The follow-up; its ETag is what a change sends in If-Match."""
    return api_records.get_document(ctx, FOLLOW_UP, key)


@operation(
    "POST",
    "/follow_ups",
    name="create_follow_up",
    summary="Add a follow-up to an action",
    scope=WRITE,
    tag=FOLLOW_UPS,
    body=FollowUpCreate,
    response=FollowUpDocument,
    status=201,
    etag=True,
)
def create_follow_up(ctx: Context, body: Request) -> ApiResult:
    """A new follow-up; the assignee must be a colleague of the action's team who works
    on its advocacy."""
    action, raw = _action_and_values(body)
    try:
        follow_up = follow_ups.create(ctx, action, raw)
    except NotFound:
        raise _no_such_action(action) from None
    return created(
        api_records.document_of(ctx, FOLLOW_UP, follow_up), "get_follow_up", follow_up.id
    )


@operation(
    "PATCH",
    "/follow_ups/<key>",
    name="update_follow_up",
    summary="Change a follow-up, or mark it done or not done",
    scope=WRITE,
    tag=FOLLOW_UPS,
    body=FollowUpChange,
    response=FollowUpDocument,
    etag=True,
)
def update_follow_up(ctx: Context, key: str, body: Request, if_match: int) -> dict[str, Any]:
    """Changes the fields sent, from the version named in If-Match (an older one is a
    409 and nothing is saved); `done` marks it done now, or not done."""
    follow_up_id = record_id(key, "follow-up")
    raw = body.model_dump(exclude_unset=True)
    done = raw.pop("done", None)
    # Always through the update, even with nothing to change: it checks If-Match.
    follow_up = follow_ups.update(ctx, follow_up_id, raw, lock_version=if_match).record
    if done is not None and done != (follow_up.done_at is not None):
        mark = follow_ups.mark_done if done else follow_ups.mark_undone
        follow_up = mark(ctx, follow_up_id, follow_up.lock_version)
    return api_records.document_of(ctx, FOLLOW_UP, follow_up)
