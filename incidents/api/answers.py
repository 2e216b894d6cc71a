"""The steps the API's views share: a page of documents, a record named in the path,
and the answer to a creation — written once, so that every resource answers alike.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for

from incidents.api.operations import ApiResult
from incidents.context import Context
from incidents.errors import NotFound
from incidents.records.inputs import parse_id
from incidents.records.kind import RecordKind
from incidents.services import api_records


def page_of(ctx: Context, kind: RecordKind, filters: dict[str, str], query: Any) -> dict[str, Any]:
    """A page of `kind`'s documents at the query's cursor and limit, with the `next` one."""
    page = api_records.list_documents(ctx, kind, filters, query.cursor, query.limit)
    return {"items": page.items, "next": page.next}


def record_id(key: str, what: str) -> uuid.UUID:
    """The id in the path; anything else names no record, so it is a 404 like any other."""
    found = parse_id(key)
    if found is None:
        raise NotFound(f"no {what} {key}")
    return found


def created(document: dict[str, Any], endpoint: str, key: object) -> ApiResult:
    """The answer to a creation: the new record's document, and its URL in Location
    (`endpoint` is the operation that reads it, below the blueprint: get_consent)."""
    return ApiResult(document, headers={"Location": url_for(f"api.{endpoint}", key=key)})
