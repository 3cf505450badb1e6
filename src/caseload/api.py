"""The JSON API under ``/api/v1/`` (django-ninja): project wiring only (docs/api.md).

Routers live with their apps (``<app>/api.py``, schemas in ``<app>/schemas.py``). This module
mounts them, sets authentication (personal tokens, or the browser session with CSRF) and the
per-token rate limit for every route, and turns every refusal into
``{"error": {"code", "message"}}`` with its status: a typed service error keeps its own
(400 bad input, 403 role or permission, 404 missing or out of scope, 409 conflict or guard),
422 invalid parameters or body, 401 no valid credentials, 429 rate limit.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from caseload.core.api import AUTH, TokenRateThrottle
from caseload.core.errors import CaseloadError


def _docs_view(view):
    """The schema and the interactive docs are public (shapes, no data) and need no sign-in."""
    return login_not_required(view)


api = NinjaAPI(
    title="caseload API",
    version="1",
    description="Cases, people, check-ins, transitions, worklists, travel documents and reports of the "
                "supervision docket. Authenticate with `Authorization: Bearer <token>` (`caseload users token`).",
    urls_namespace="api",
    auth=AUTH,
    throttle=[TokenRateThrottle()],
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=_docs_view,
)


def _error(request, status: int, code: str, message: str, details: dict | None = None):
    body = {"code": code, "message": message, **({"details": details} if details else {})}
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(CaseloadError)
def _caseload_error(request, exc: CaseloadError):
    return _error(request, exc.http_status, exc.code, exc.message, exc.details or None)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                for e in exc.errors]
    first = problems[0] if problems else {"loc": [], "msg": "invalid input"}
    return _error(request, 422, "invalid_input", f"{'.'.join(first['loc'])}: {first['msg']}", {"errors": problems})


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = _error(request, 401, "unauthenticated",
                      "send a valid API token as `Authorization: Bearer <token>`, or sign in")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Throttled)
def _throttled(request, exc: Throttled):
    return _error(request, 429, "rate_limited", "too many requests for this token; retry after the Retry-After seconds")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", "no such object")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, exc.status_code, "http_error", str(exc))


def _mount() -> None:
    from caseload.core.api import router as core_router
    from caseload.countries.api import router as countries_router
    from caseload.docket.api import router as docket_router
    from caseload.staffing.api import router as staffing_router

    for router in (docket_router, countries_router, staffing_router, core_router):
        api.add_router("/", router)


_mount()


def _urlpatterns() -> list:
    """``api.urls`` with every route exempt from the sign-in redirect: the API authenticates
    each request itself and answers 401, never a redirect to the sign-in page."""
    patterns, _, _ = api.urls
    for pattern in patterns:
        login_not_required(pattern.callback)
    return patterns


# Included by caseload.urls as ``path("api/v1/", include("caseload.api"))``.
app_name = "api"
urlpatterns = _urlpatterns()
