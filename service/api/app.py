"""The Litestar application: `create_app(settings)`; the lifespan owns the store and Redis clients."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import anyio.to_thread
import msgspec
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    Reference,
    RequestBody,
    SecurityScheme,
)

from service.api.auth import AudioLinks, api_key_middleware
from service.api.docs import docs_render_plugins
from service.api.errors import EXCEPTION_HANDLERS
from service.api.facets import FacetController
from service.api.http import BLOCKING_THREADS
from service.api.ingest import IngestController
from service.api.jobs import SyncController
from service.api.legacy import LegacyController, LegacySyncController
from service.api.map import MapController
from service.api.page import PageController, static_router
from service.api.paths import PathController
from service.api.playlists import PlaylistController
from service.api.query import check_query
from service.api.recommendations import RecommendationController
from service.api.schemas import api_structs
from service.api.schemas.legacy import LegacyRecommendRequest
from service.api.system import SystemController
from service.api.tracks import TrackController
from service.api.users import UserController, UserListController
from service.catalog.handoff import ReindexHandOff
from service.catalog.service import Catalog
from service.catalog.vector import check_definitions, degraded_message, live_vectors
from service.recommend.recommender import Recommender
from service.settings import Settings
from service.store import open_store
from service.store.base import VectorStore
from service.store.schema import TRACKS
from service.sync.jobs import Queue, make_queue
from service.taste.cache import TasteCache
from service.taste.users import RedisCounters, StoreCounters, UserService

log = logging.getLogger("musicrec.api")
LITESTAR_400 = "Bad request syntax or unsupported method"

COLLECTION_CHECK_S = 2.0  # how often the app looks whether a reindex swapped the collections

ROUTE_HANDLERS = [
    SystemController,
    TrackController,
    FacetController,
    RecommendationController,
    UserListController,
    UserController,
    MapController,
    PathController,
    PlaylistController,
    PageController,
    static_router,
    IngestController,
    SyncController,
    LegacyController,
    LegacySyncController,
]


def create_app(
    settings: Settings,
    *,
    store: VectorStore | None = None,
    queue: Queue | None = None,
    on_shutdown: Sequence[Callable[[], None]] = (),
) -> Litestar:
    """Build the app. `store` may be given (tests, the CLI); otherwise the lifespan opens one.
    `on_shutdown` hooks run when the server stops (uvicorn re-raises SIGTERM after shutdown, so
    code after `uvicorn.run` is not a reliable place for cleanup)."""
    settings.check_auth()
    audio_links = AudioLinks(settings.api_keys)
    app = Litestar(
        route_handlers=ROUTE_HANDLERS,
        lifespan=[_lifespan(settings, store, queue, on_shutdown)],
        state=State({"audio_links": audio_links, "auth_disabled": settings.auth_disabled}),
        dependencies=_dependencies(),
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_query,
        middleware=[
            api_key_middleware(
                settings.api_keys,
                disabled=settings.auth_disabled,
                audio_links=audio_links,
                cors=bool(settings.cors_origins),
            )
        ],
        cors_config=_cors_config(settings.cors_origins),
        openapi_config=_openapi_config(),
        debug=False,
    )
    _document_rules(app)
    return app


def _cors_config(origins: tuple[str, ...]) -> CORSConfig | None:
    """Off unless MUSICREC_CORS_ORIGINS names origins: any method and header (Authorization included);
    the headers a client reads (Retry-After on 429/503, Location on 201/202) exposed."""
    if not origins:
        return None
    return CORSConfig(allow_origins=list(origins), expose_headers=["Retry-After", "Location"], max_age=600)


def _document_rules(app: Litestar) -> None:
    """The document's body schemas are msgspec's own, so they say exactly what decoding accepts
    (constraints inside lists and optionals, unknown fields refused, each field's description), plus what
    the shapes cannot say: a recommendation request needs a user, a seed or a target, the seed-compatible
    /recommend body, and `security: []` on the open routes."""
    components = app.openapi_schema.components.schemas
    structs = [s for s in api_structs() if s.__name__ in components or s is LegacyRecommendRequest]
    _, definitions = msgspec.json.schema_components(structs, ref_template="#/components/schemas/{name}")
    components.update(definitions)
    components["RecommendRequest"]["anyOf"] = [
        {
            "description": "From a user's taste",
            "required": ["userId"],
            "properties": {"userId": {"type": "string", "description": "A user (not null)"}},
        },
        {
            "description": "From seed tracks",
            "required": ["seedTrackIds"],
            "properties": {"seedTrackIds": {"minItems": 1, "description": "At least one seed track"}},
        },
        {
            "description": "Only soft targets: the tracks whose descriptors are closest",
            "required": ["target"],
            "properties": {"target": {"type": "object", "minProperties": 1, "description": "At least one target"}},
        },
    ]
    legacy_body = RequestBody(
        required=True,
        content={"application/json": OpenAPIMediaType(schema=Reference("#/components/schemas/LegacyRecommendRequest"))},
    )
    for operation in (app.openapi_schema.paths["/recommend"].get, app.openapi_schema.paths["/recommend"].post):
        operation.request_body = legacy_body
    error_body = OpenAPIMediaType(schema=Reference("#/components/schemas/ErrorBody"))
    for item in app.openapi_schema.paths.values():
        for method in ("get", "head", "post", "put", "patch", "delete", "options", "trace"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            # Open routes are declared with `security=[{}]` (Litestar drops an empty list); the document says it
            # the standard way, `security: []`: no key at all.
            if operation.security == [{}]:
                operation.security = []
            # Litestar documents a 400 of its own shape on routes with parameters; ours is the error body
            bad = (operation.responses or {}).get("400")
            if isinstance(bad, OpenAPIResponse) and bad.description == LITESTAR_400:
                operation.responses["400"] = OpenAPIResponse(
                    description="Bad input: which field and why", content={"application/json": error_body}
                )


def _build_services(state: State, settings: Settings) -> None:
    """The services over the store's live collections (rebuilt when a reindex swaps them)."""
    state.vectors = vectors = live_vectors(state.store, embedding=settings.embedding)
    if message := degraded_message(state.store, vectors, embedding=settings.embedding):
        log.warning("%s", message)
    state.collections = state.store.collection_name(TRACKS)
    state.catalog = Catalog(state.store, vectors)
    state.recommender = Recommender(
        state.store, vectors.query, vectors.query_size, tastes=TasteCache(state.store, vectors.query)
    )
    state.users = UserService(state.store, vectors.query, state.counters)


def _add_derived_fields(state, stop: threading.Event) -> None:
    try:
        added = state.catalog.add_derived_fields(stop)
    except Exception as exc:  # the store going away at shutdown, or a store error: filters keep their fallback
        if not stop.is_set():
            log.warning("adding search tokens and genre/artist keys to stored tracks failed: %s", exc)
        return
    if added:
        log.info("search tokens and genre/artist keys added to %d stored tracks", added)


def _watch_collections(state: State, settings: Settings, stop: threading.Event) -> None:
    """Every few seconds, off the event loop: if `musicrec reindex` swapped the aliases (in this process or in
    another one, against the same Qdrant server), rebuild the services over the new collections."""
    while not stop.wait(COLLECTION_CHECK_S):
        try:
            if state.store.collection_name(TRACKS) != state.collections:
                _build_services(state, settings)
                log.info("the tracks alias now points to %s: services rebuilt", state.collections)
        except Exception as exc:  # a dependency down: the request path reports it; look again later
            log.debug("collection check failed: %s", exc)


def _lifespan(settings: Settings, store: VectorStore | None, queue: Queue | None, on_shutdown):
    """Owns the store (unless given) and the Redis client for the app's lifetime; builds the services."""
    check_definitions()  # the collection definitions against the extractors, before anything is opened

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_store = store is None
        state = app.state
        state.store = open_store(settings) if own_store else store
        state.redis = None
        state.counters = StoreCounters(state.store)
        if settings.redis_url:
            import redis

            state.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            state.counters = RedisCounters(state.redis, settings.redis_prefix)
        try:
            _build_services(state, settings)
        except BaseException:
            if state.redis is not None:
                state.redis.close()
            if own_store:
                state.store.close()
            raise
        state.reindex = ReindexHandOff(state.store, embedding=settings.embedding)
        state.queue = queue or make_queue(settings, state.redis, heartbeat_ms=settings.broker_heartbeat_ms)
        # bound the handlers blocked on Qdrant/Redis at once (anyio's default is 40 threads)
        anyio.to_thread.current_default_thread_limiter().total_tokens = BLOCKING_THREADS
        if settings.auth_disabled:
            log.warning("authentication is DISABLED (MUSICREC_AUTH=disabled): anyone reaching this port can use it")
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch_collections, args=(state, settings, stop), name="collection-watch", daemon=True
        )
        watcher.start()
        # tracks stored before search or case-insensitive filters get their derived fields in the background: a
        # 100k-track store took ~67 s once, and a server that does not answer that long is restarted by its
        # orchestrator before it ever serves
        backfill = threading.Thread(target=_add_derived_fields, args=(state, stop), name="derived-fields", daemon=True)
        backfill.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join(timeout=5)
            backfill.join(timeout=30)
            if state.redis is not None:
                state.redis.close()
            if own_store:
                state.store.close()
            for hook in on_shutdown:
                hook()

    return lifespan


def _dependencies() -> dict[str, Provide]:
    """The services controllers ask for by name; all live on app.state (built by the lifespan)."""

    def provide_catalog(state: State) -> Catalog:
        return state.catalog

    def provide_recommender(state: State) -> Recommender:
        return state.recommender

    def provide_users(state: State) -> UserService:
        return state.users

    def provide_reindex(state: State) -> ReindexHandOff:
        return state.reindex

    return {
        "catalog": Provide(provide_catalog, sync_to_thread=False),
        "recommender": Provide(provide_recommender, sync_to_thread=False),
        "users": Provide(provide_users, sync_to_thread=False),
        "reindex": Provide(provide_reindex, sync_to_thread=False),
    }


DESCRIPTION = """Music recommendations from the sound of the music itself: audio features in Qdrant, queried as
filtered nearest neighbours.

- `/v1/*` routes need `Authorization: Bearer <key>` (the keys of `MUSICREC_API_KEYS`); a missing or wrong key
  answers 401. `/healthz`, `/ping`, the web page `/` and these docs are open. The compatible routes of the previous
  service's API (tag `compatible`) take the key bare, and answer 403 `{"detail"}` without it.
- Every /v1 error is `{"error": {"code", "message", "details"}}` with the matching status.
- Ids are strings; track ids are UUIDs, accepted in any spelling and answered lower-case and hyphenated.

The full contract (auth, errors, shapes, rules, the command line) is `docs/api.md` in musicrec's source tree."""


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="musicrec",
        version="1.0.0",
        description=DESCRIPTION,
        path="/schema",
        render_plugins=docs_render_plugins(),
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(type="http", scheme="bearer", description="API key"),
                "legacyKey": SecurityScheme(
                    type="apiKey",
                    name="Authorization",
                    security_scheme_in="header",
                    description="The API key, bare or as Bearer (compatible routes of the previous service's API)",
                ),
            }
        ),
        security=[{"apiKey": []}],
    )
