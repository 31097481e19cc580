"""Every error leaves the API in the shape of API.md: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

import httpx
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse
from redis import exceptions as redis_errors

from service.api.query import client_name
from service.errors import AudioError, BadRequest, Conflict, MusicrecError, NotFound, StoreLocked, Unavailable

log = logging.getLogger("musicrec.api")
RETRY_AFTER_S = 5

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


# The one place domain errors become HTTP statuses (first match along the class's MRO; others are 500).
STATUS_BY_ERROR: dict[type[MusicrecError], int] = {
    BadRequest: 400,
    AudioError: 400,
    NotFound: 404,
    Conflict: 409,
    Unavailable: 503,
    StoreLocked: 503,
}


def status_for(exc: MusicrecError) -> int:
    return next((STATUS_BY_ERROR[k] for k in type(exc).__mro__ if k in STATUS_BY_ERROR), 500)


def domain_error_handler(_: Request, exc: MusicrecError) -> Response:
    status = status_for(exc)
    headers = {"Retry-After": str(getattr(exc, "retry_after", RETRY_AFTER_S))} if status == 503 else None
    return error_response(status, exc.code, exc.message, exc.details, headers)


# Transport errors of the dependencies: a 503 with Retry-After; the clients reconnect by themselves.
DEPENDENCY_ERRORS: dict[type[Exception], str] = {
    redis_errors.ConnectionError: "redis",
    redis_errors.TimeoutError: "redis",
    ResponseHandlingException: "qdrant",
    httpx.TransportError: "qdrant",
}


def dependency_error_handler(request: Request, exc: Exception) -> Response:
    dependency = next((DEPENDENCY_ERRORS[k] for k in type(exc).__mro__ if k in DEPENDENCY_ERRORS), "dependency")
    log.warning("%s unreachable on %s %s: %s", dependency, request.method, request.url.path, exc)
    return error_response(
        503,
        "unavailable",
        f"{'Redis' if dependency == 'redis' else 'Qdrant'} is unreachable; try again shortly",
        {"dependency": dependency},
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def qdrant_response_handler(request: Request, exc: UnexpectedResponse) -> Response:
    if exc.status_code is not None and exc.status_code >= 500:
        return dependency_error_handler(request, exc)
    return internal_error_handler(request, exc)


def validation_error_handler(request: Request, exc: ValidationException) -> Response:
    problems = exc.extra if isinstance(exc.extra, list) else []
    problems = [client_name(request, p) if isinstance(p, dict) else p for p in problems]
    details: dict = {"problems": problems} if problems else {}
    fields = [p.get("key") for p in problems if isinstance(p, dict) and p.get("key")]
    if fields:
        details["fields"] = fields
    message = exc.detail or "invalid request"
    if problems and isinstance(problems[0], dict) and problems[0].get("message"):
        message = f"{message}: {problems[0]['message']}"
    return error_response(400, "bad_request", message, details)


def http_error_handler(_: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    return error_response(status, _CODES.get(status, "error"), exc.detail, None, exc.headers)


def too_deep_handler(_: Request, exc: RecursionError) -> Response:
    # msgspec gives up on absurdly nested JSON with a RecursionError while decoding the body
    return error_response(400, "bad_request", "the request body is nested too deeply", {})


def internal_error_handler(request: Request, exc: Exception) -> Response:
    # Logged here with its trace for operators; the client gets no internals.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "internal error", {})


EXCEPTION_HANDLERS = {
    MusicrecError: domain_error_handler,
    **{error: dependency_error_handler for error in DEPENDENCY_ERRORS},
    UnexpectedResponse: qdrant_response_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    RecursionError: too_deep_handler,
    Exception: internal_error_handler,
}
