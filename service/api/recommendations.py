"""/v1/recommendations: seeds and/or a user in, filtered and diversified recommendations out."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from service.api.responses import errors, to_recommendations, track_filter
from service.api.schemas.recommendations import RecommendRequest, RecommendResponse
from service.recommend.recommender import Recommender, RecommendOptions
from service.taste.users import UserService


def options_from(body: RecommendRequest) -> RecommendOptions:
    t = body.target
    target = {}
    if t is not None:
        for key, value in (
            ("tempo", t.tempo),
            ("energy", t.energy),
            ("brightness", t.brightness),
            ("loudnessDb", t.loudness_db),
        ):
            if value is not None:
                target[key] = value
    return RecommendOptions(
        limit=body.limit,
        filter=track_filter(body.filter),
        diversity=body.diversity,
        max_per_artist=body.max_per_artist,
        target=target,
    )


class RecommendationController(Controller):
    path = "/v1/recommendations"
    tags = ["recommendations"]

    @post(
        "/",
        status_code=200,
        sync_to_thread=True,
        responses=errors(400, 404),
        summary="Recommendations from seed tracks and/or a user's library, or the tracks closest to targets",
        description=(
            "Unknown seed or negative ids answer 404; an unknown or empty user gets a cold start. With only "
            "`target` (no seed, no user): the tracks whose descriptors are closest to it, filtered (strategy "
            "`target`)."
        ),
    )
    def recommend(
        self,
        recommender: NamedDependency[Recommender],
        users: NamedDependency[UserService],
        data: JSONBody[RecommendRequest],
    ) -> RecommendResponse:
        items, strategy = recommender.recommend(
            user_id=data.user_id,
            seed_ids=data.seed_track_ids,
            negative_ids=data.negative_track_ids,
            exclude_known=data.exclude_known,
            options=options_from(data),
        )
        if data.user_id:
            users.counters.incr(data.user_id, len(items))
        return RecommendResponse(items=to_recommendations(items), strategy=strategy)
