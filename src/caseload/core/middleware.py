"""Request middleware: typed service errors as HTTP answers (docs/development.md), two-factor sign-in."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect, render

from caseload.core.errors import CaseloadError


class CaseloadErrorMiddleware:
    """A CaseloadError raised by a view becomes its 4xx status: JSON ``{"code", "message"}`` for
    clients that ask for JSON, otherwise the app's error page (with navigation)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, CaseloadError):
            return None
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"error": exception.as_dict()}, status=exception.http_status)
        return render(request, "web/error.html", {"error": exception, "status": exception.http_status},
                      status=exception.http_status)


class RequireMFAMiddleware:
    """A signed-in user whose role is in ``MFA_ROLES`` must have proved a one-time code in this
    session (django-otp's ``is_verified``); otherwise the session ends and they sign in again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from caseload.core.users import mfa_required

        user = request.user
        if settings.MFA_ROLES and user.is_authenticated and mfa_required(user) and not user.is_verified():
            logout(request)
            return redirect(f"{settings.LOGIN_URL}?mfa=required")
        return self.get_response(request)


request_log = logging.getLogger("caseload.requests")


class RequestLogMiddleware:
    """One log line per request on stderr: method, path, status, milliseconds, user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        request_log.info("%s %s %s %.0fms %s", request.method, request.path, response.status_code,
                         (time.perf_counter() - started) * 1000,
                         user.get_username() if user is not None and user.is_authenticated else "-")
        return response
