"""The sync pipeline's actors: thin, idempotent, each on its own queue.

spotify  sync_library   read the Spotify library (token by reference), write library points, fan out
youtube  match_track    find the YouTube video (quota-counted keys, yt-dlp search fallback)
cpu      analyse_track  fetch only the analysed windows, extract features, store the track
A track that cannot be done is recorded on the job with its reason; the job goes on.
"""

from __future__ import annotations

import logging

import dramatiq

from service.errors import AudioError, MusicrecError
from service.ids import spotify_track_id
from service.sync import steps
from service.sync.spotify import SpotifyError, SpotifyRateLimited, SpotifyReader, SpotifyTrack
from service.sync.youtube import NoMatch, YouTubeError
from workers import runtime
from workers.limits import run_limited

log = logging.getLogger("musicrec.workers")

NETWORK_RETRIES = 5


@dramatiq.actor(
    actor_name="sync_library",
    queue_name="spotify",
    max_retries=NETWORK_RETRIES,
    min_backoff=1000,
    on_retry_exhausted="retries_exhausted",
    time_limit=30 * 60_000,
)
def sync_library(job_id: str, user_id: str, token_ref: str) -> None:
    rt = runtime.get()
    run_limited(
        rt.limits.spotify,
        lambda: _sync_library(job_id, user_id, token_ref),
        lambda delay: sync_library.send_with_options(args=(job_id, user_id, token_ref), delay=delay),
    )


def _sync_library(job_id: str, user_id: str, token_ref: str) -> None:
    rt = runtime.get()
    token = rt.jobs.get_token(token_ref)
    if token is None:
        rt.jobs.fail(job_id, "the Spotify token expired or was already used before the library could be read")
        return
    try:
        lib = SpotifyReader(token, rt.settings.spotify_api_url).read_library()
    except SpotifyRateLimited as exc:
        raise dramatiq.Retry("Spotify rate limit", delay=int(exc.retry_after * 1000)) from None
    except SpotifyError as exc:
        if exc.retryable:  # one log line per attempt (a Retry is not logged with a trace); its reason is kept
            log.warning("job %s: %s; trying again later", job_id, exc.message)
            raise dramatiq.Retry(exc.message) from None
        rt.jobs.delete_token(token_ref)
        rt.jobs.fail(job_id, exc.message)
        return
    rt.jobs.delete_token(token_ref)  # read once; nothing later needs it
    todo = steps.plan_sync(rt.store, rt.jobs, job_id, user_id, lib, rt.vectors.query)
    for track, genres in todo:
        match_track.send(job_id, user_id, track.as_dict(), genres)
    _finish_job(job_id, user_id)
    log.info("job %s: %d tracks, %d to analyse, %d ignored", job_id, len(lib.entries), len(todo), lib.ignored)


def _fail_track(job_id: str, user_id: str, track: SpotifyTrack, reason: str) -> None:
    rt = runtime.get()
    rt.jobs.finish_track(job_id, track.spotify_id, steps.failure(track, reason))
    _finish_job(job_id, user_id)


def _fail_unless_retryable(job_id: str, user_id: str, track: SpotifyTrack, exc: MusicrecError) -> None:
    """Transient network errors go back to Dramatiq for a bounded retry; anything else fails this track."""
    if getattr(exc, "retryable", False):
        raise exc
    _fail_track(job_id, user_id, track, exc.message)


def _finish_job(job_id: str, user_id: str) -> None:
    """Mark the job done if every track has finished; a finished job may have grown the catalogue enough for its
    centre to be fitted again."""
    rt = runtime.get()
    if steps.finish_job(rt.store, rt.jobs, job_id, user_id):
        rt.centre.refresh()


def _already_analysed(job_id: str, user_id: str, track: SpotifyTrack) -> bool:
    """Another job (or an earlier delivery) analysed it: count it done, fetch nothing."""
    rt = runtime.get()
    found = rt.store.retrieve(steps.TRACKS, [spotify_track_id(track.spotify_id)], with_vector=rt.vectors.query)
    if not found:
        return False
    steps.give_to_waiting(rt.store, found[0], rt.vectors.query)
    rt.jobs.finish_track(job_id, track.spotify_id)
    _finish_job(job_id, user_id)
    return True


@dramatiq.actor(
    actor_name="match_track",
    queue_name="youtube",
    max_retries=NETWORK_RETRIES,
    min_backoff=2000,
    on_retry_exhausted="retries_exhausted",
)
def match_track(job_id: str, user_id: str, track_data: dict, genres: list[str]) -> None:
    run_limited(
        runtime.get().limits.youtube,
        lambda: _match_track(job_id, user_id, track_data, genres),
        lambda delay: match_track.send_with_options(args=(job_id, user_id, track_data, genres), delay=delay),
    )


def _match_track(job_id: str, user_id: str, track_data: dict, genres: list[str]) -> None:
    rt = runtime.get()
    track = SpotifyTrack.from_dict(track_data)
    if _already_analysed(job_id, user_id, track):
        return
    if track.duration_s > rt.settings.max_track_seconds:
        _fail_track(
            job_id, user_id, track, f"too long ({track.duration_s:.0f} s > {rt.settings.max_track_seconds:.0f} s)"
        )
        return
    try:
        match = rt.matcher().match(track.title, track.artists, track.duration_s)
    except (NoMatch, YouTubeError) as exc:
        _fail_unless_retryable(job_id, user_id, track, exc)
        return
    analyse_track.send(job_id, user_id, track_data, genres, match.video_id, match.confidence)


@dramatiq.actor(
    actor_name="analyse_track",
    queue_name="cpu",
    max_retries=3,
    min_backoff=2000,
    on_retry_exhausted="retries_exhausted",
    time_limit=10 * 60_000,
)
def analyse_track(
    job_id: str, user_id: str, track_data: dict, genres: list[str], video_id: str, confidence: float
) -> None:
    from service.analysis import features
    from service.analysis.track import analyse_track
    from service.sync.media import fetch_for_analysis

    rt = runtime.get()
    track = SpotifyTrack.from_dict(track_data)
    if _already_analysed(job_id, user_id, track):
        return
    try:
        fetched = fetch_for_analysis(
            video_id, rt.settings.media_url_template, max_seconds=rt.settings.max_track_seconds, tmp_dir=rt.tmp_dir
        )
        analysis = analyse_track(fetched.decoded.windows, embedding=rt.vectors.embedding)
    except (AudioError, YouTubeError) as exc:  # corrupt, silent, too long...: retrying will not help
        _fail_unless_retryable(job_id, user_id, track, exc)
        return
    payload = steps.spotify_track_payload(
        track,
        genres,
        video_id=video_id,
        confidence=confidence,
        duration_s=fetched.decoded.duration_s,
        tempo=analysis.tempo,
        extractor=features.EXTRACTOR,
        version=features.VERSION,
        descriptors=analysis.descriptors,
        styles=analysis.tags,
        vectors=sorted(analysis.vectors),
    )
    steps.store_analysed(rt.store, payload, rt.centre.derive(analysis.vectors), rt.vectors.query)
    log.info("job %s: analysed %s (%d audio bytes fetched)", job_id, track.spotify_id, fetched.bytes_fetched)
    rt.jobs.finish_track(job_id, track.spotify_id)
    _finish_job(job_id, user_id)


def last_reason(message: dict) -> str:
    """The last attempt's error, from the traceback Dramatiq keeps in the message: what the job's error should say
    (`connection refused for /me/tracks`), never a whole trace."""
    lines = [line for line in ((message.get("options") or {}).get("traceback") or "").splitlines() if line.strip()]
    if not lines or ": " not in lines[-1]:
        return ""
    return lines[-1].split(": ", 1)[1].strip()[:300]


@dramatiq.actor(actor_name="retries_exhausted", queue_name="spotify", max_retries=0)
def retries_exhausted(message: dict, retry_info: dict) -> None:
    """A step kept failing on transient errors: record it (on the track, or the job) and move on."""
    rt = runtime.get()
    args = message["args"]
    job_id, user_id = args[0], args[1]
    attempts = retry_info.get("retries", 0) + 1
    if message["actor_name"] == "sync_library":
        rt.jobs.delete_token(args[2])
        reason = last_reason(message)
        rt.jobs.fail(job_id, f"Spotify could not be read after {attempts} attempts" + (f": {reason}" if reason else ""))
        return
    track = SpotifyTrack.from_dict(args[2])
    step = "matching" if message["actor_name"] == "match_track" else "fetching the audio"
    _fail_track(job_id, user_id, track, f"{step} failed {attempts} times on transient errors")


ACTORS = (sync_library, match_track, analyse_track, retries_exhausted)
