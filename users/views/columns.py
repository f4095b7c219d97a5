"""The column chooser: saves the technician's columns (TechnicianPreference "users.columns") and answers
with the re-rendered table (htmx) or a redirect back to the same table URL (no JS)."""

from __future__ import annotations

from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from tenants.ui import htmx_partial, toast

from ..tables import reset_keys, save_keys
from .table import render_table


@require_POST
def choose_columns(request):
    if request.POST.get("action") == "reset":
        reset_keys(request.user)
        message = "Columns reset to the defaults."
    else:
        save_keys(request.user, request.POST.getlist("columns"))
        message = "Columns saved."
    # The table's own query string travels in the form, so the table comes back exactly as it was.
    query_string = request.POST.get("query", "")[:2000]
    if htmx_partial(request):
        return toast(render_table(request, QueryDict(query_string), partial=True), message)
    encoded = QueryDict(query_string).urlencode()  # re-encoded: nothing raw from the form reaches a header
    return redirect(reverse("users:list") + ("?" + encoded if encoded else ""))
