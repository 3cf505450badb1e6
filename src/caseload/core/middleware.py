"""Turn typed service errors into HTTP answers at the edge (docs/development.md)."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

from caseload.core.errors import CaseloadError


class CaseloadErrorMiddleware:
    """A CaseloadError raised by a view becomes its 4xx status: JSON ``{"code", "message"}`` for
    clients that ask for JSON, otherwise a page with the message."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, CaseloadError):
            return None
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse(exception.as_dict(), status=exception.http_status)
        return render(request, "web/error.html", {"error": exception}, status=exception.http_status)
