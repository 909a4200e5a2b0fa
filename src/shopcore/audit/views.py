"""`GET /api/audit/`: the audit log for admins, filtered; a thin view over `shopcore.audit.service`."""
from __future__ import annotations

from shopcore.audit.service import list_entries
from shopcore.pagination import DEFAULT_PAGE_SIZE


def list_audit_entries(request):
    query = request.openapi_validated.parameters.query
    return list_entries(request, page=query.get("page", 1), page_size=query.get("page_size", DEFAULT_PAGE_SIZE),
                        actor=query.get("actor"), action=query.get("action"), object_type=query.get("object_type"),
                        object_id=query.get("object_id"), since=query.get("since"), until=query.get("until"))
