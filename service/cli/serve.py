"""`musicrec serve` (the API, with the sync workers in-process) and `musicrec worker` (the scaled deployment's
Dramatiq processes)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys

from service.cli.common import SERVER_FILE, fail
from service.errors import ConfigError, StoreLocked, Unavailable
from service.settings import Settings
from service.sync.jobs import QUEUES


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.api.app import create_app
    from service.api.http import uvicorn_options
    from service.catalog.vector import live_vectors
    from service.store import open_store

    settings.check_auth()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:  # bound here, before anything is opened or announced; uvicorn serves on this very socket
        sock = _listen(args.host, args.port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return fail(f"cannot listen on {args.host} port {args.port}: {reason} (another server there? try --port)")
    try:
        store = open_store(settings)
    except StoreLocked as exc:
        return fail(f"{exc.message}; stop it first or use another MUSICREC_DATA_DIR")
    except Unavailable as exc:  # a Qdrant server that does not answer: say where, and exit
        return fail(f"{exc.message}; check QDRANT_URL and that the Qdrant server is running")
    try:  # a store this release cannot compare at all: one line saying to reindex, before anything is announced
        live_vectors(store, embedding=settings.embedding)
    except ConfigError as exc:
        store.close()
        return fail(exc.message)
    server_file = settings.data_dir / SERVER_FILE
    worker = None

    def cleanup() -> None:
        if worker is not None:
            worker.stop()
        if settings.embedded:
            server_file.unlink(missing_ok=True)
        store.close()

    try:
        queue, worker = _in_process_workers(settings, store, args.worker_threads)
        app = create_app(settings, store=store, queue=queue, on_shutdown=[cleanup])
    except BaseException:
        cleanup()
        raise
    where = settings.qdrant_url
    if settings.embedded:
        where = f"embedded Qdrant Edge store in {settings.data_dir.absolute()}"
    auth = "auth DISABLED" if settings.auth_disabled else f"{len(settings.api_keys)} API key(s)"
    print(f"musicrec: serving on http://{args.host}:{args.port} ({where}; {auth})", file=sys.stderr)
    if settings.embedded:
        server_file.write_text(json.dumps({"url": f"http://{args.host}:{args.port}", "pid": os.getpid()}))
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="info", access_log=args.access_log, **uvicorn_options()
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound the way uvicorn binds it (SO_REUSEADDR): a busy port fails here."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said outright: asyncio turns Nagle off (TCP_NODELAY) only on connections whose socket says
    # it is TCP, and with proto 0 every response written in two parts waited ~40 ms for the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _in_process_workers(settings: Settings, store, threads: int):
    """The sync pipeline's actors inside `serve`: always in the embedded mode (the store has one owner),
    and whenever there is no Redis to share work with `musicrec worker` processes."""
    import redis

    from service.sync.jobs import make_queue

    client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    queue = make_queue(settings, client, heartbeat_ms=settings.broker_heartbeat_ms)
    if not (settings.embedded or client is None) or threads == 0:
        return queue, None
    from workers.connectivity import BrokerOutageLog
    from workers.setup import setup, start_worker

    setup(settings, store=store, queue=queue, redis=client)
    if client is not None:
        BrokerOutageLog(client.ping).install()  # one log line per broker outage, not 16 every 3 s
    return queue, start_worker(queue, threads=threads)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    if not (settings.redis_url and settings.qdrant_url):
        return fail(
            "`musicrec worker` is for the scaled deployment and needs REDIS_URL and QDRANT_URL; "
            "with the embedded store, `musicrec serve` runs the workers itself",
            2,
        )
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if not queues or unknown:
        return fail(f"--queues takes some of {', '.join(QUEUES)} (unknown: {', '.join(unknown) or 'none given'})", 2)
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.main",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
        "--queues",
        *queues,
    ]
    os.execv(sys.executable, argv)
    return 0  # not reached
