"""Open routes: health and ping."""

from __future__ import annotations

from litestar import Controller, Response, get, head
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from service.api.schemas.system import Health, Pong


class SystemController(Controller):
    tags = ["system"]

    @get(
        "/healthz",
        sync_to_thread=True,
        security=[{}],  # open: no key
        responses={503: ResponseSpec(data_container=Health, description="Qdrant is down")},
        summary="Health of the API and its dependencies",
        description="Open (no key). 200 unless Qdrant is down (503); a down broker answers 200 with `degraded`.",
    )
    def healthz(self, state: State) -> Response[Health]:
        body = _health(state)
        return Response(body, status_code=200 if body.qdrant == "ok" else 503)

    @head(
        "/healthz",
        sync_to_thread=True,
        security=[{}],
        summary="Health as a status code only (200, or 503 when Qdrant is down), no body",
        description="Open (no key). For load balancers and container healthchecks.",
    )
    def healthz_head(self, state: State) -> Response[None]:
        return Response(None, status_code=200 if _health(state).qdrant == "ok" else 503)

    @get(
        "/ping",
        sync_to_thread=False,
        security=[{}],
        summary="Liveness (a compatible route of the previous API)",
        description='Open (no key). Always 200 {"message": "pong"} while the process serves.',
    )
    def ping(self) -> Pong:
        return Pong(message="pong")


def _health(state: State) -> Health:
    store = state.store
    qdrant_ok = store.healthy()
    tracks = 0
    if qdrant_ok:
        try:
            tracks = state.catalog.count()
        except Exception:
            qdrant_ok = False
    broker = "inproc"
    if state.redis is not None:
        try:
            state.redis.ping()
            broker = "ok"
        except Exception:
            broker = "down"
    status = "ok" if qdrant_ok and broker != "down" else "degraded"
    return Health(
        status=status,
        qdrant="ok" if qdrant_ok else "down",
        broker=broker,
        tracks=tracks,
        vector=state.vectors.query,
        collection=state.collections,
    )
