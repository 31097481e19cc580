"""Open routes: health and ping."""

from __future__ import annotations

from litestar import Controller, Response, get
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
    )
    def healthz(self, state: State) -> Response[Health]:
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
        body = Health(status=status, qdrant="ok" if qdrant_ok else "down", broker=broker, tracks=tracks)
        return Response(body, status_code=200 if qdrant_ok else 503)

    @get("/ping", sync_to_thread=False, security=[{}], summary="Liveness (seed-compatible)")
    def ping(self) -> Pong:
        return Pong(message="pong")
