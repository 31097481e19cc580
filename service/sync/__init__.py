"""The Spotify sync: library reader, YouTube matcher, ranged media fetch, job state, and the steps actors run."""
