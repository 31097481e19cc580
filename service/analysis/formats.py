"""Which files are audio to us: the suffixes a folder walk picks up (FFmpeg decodes them all)."""

AUDIO_SUFFIXES = frozenset(
    ".mp3 .flac .ogg .oga .opus .wav .wave .m4a .aac .mp4 .webm .mka .wma .aif .aiff .aifc .wv .ape".split()
)
