#!/usr/bin/env bash
# Builds the album folders `musicrec quality` is run on (README "Recommendation quality"), from Debian's game
# soundtrack packages: one sub-folder per album. Tracker modules are rendered to FLAC with openmpt123.
#   sudo apt-get install wesnoth-1.16-music warzone2100-music freedroidrpg-data nexuiz-music hedgewars-data \
#     fb-music-high colobot-common-sounds tecnoballz-data fretsonfire-songs-muldjord fretsonfire-songs-sectoid \
#     openmpt123 unzip
#   scripts/quality_albums.sh /tmp/albums
set -euo pipefail
out=${1:?usage: quality_albums.sh OUT_DIR}
mkdir -p "$out"
link_all() {  # album folder, source files...
    local album=$out/$1; shift
    mkdir -p "$album"
    for f in "$@"; do ln -sf "$f" "$album/$(basename "$f")"; done
}
render_all() {  # album folder, module files...: rendered once (openmpt123, 16-bit WAV)
    local album=$out/$1; shift
    mkdir -p "$album"
    for f in "$@"; do
        local dst=$album/$(basename "${f%.*}").wav
        [ -s "$dst" ] && continue
        local tmp; tmp=$(mktemp -d)
        cp "$f" "$tmp/" && openmpt123 --quiet --no-float --render "$tmp/$(basename "$f")" >/dev/null
        mv "$tmp/$(basename "$f").wav" "$dst" && rm -rf "$tmp"
    done
}
link_all wesnoth /usr/share/games/wesnoth/1.16/data/core/music/*.ogg
for a in aftermath legacy original; do
    link_all "warzone2100-$a" /usr/share/games/warzone2100/music/albums/${a}_soundtrack/*.opus
done
link_all freedroidrpg /usr/share/freedroidrpg/data/sound/music/*.ogg
link_all hedgewars /usr/share/games/hedgewars/Data/Music/*.ogg
link_all colobot /usr/share/games/colobot/music/*.ogg
if [ ! -d "$out/nexuiz" ]; then
    tmp=$(mktemp -d) && unzip -q -o /usr/share/games/nexuiz/data/music.pk3 -d "$tmp"
    mkdir -p "$out/nexuiz" && find "$tmp" -name '*.ogg' -exec mv -t "$out/nexuiz" {} + && rm -rf "$tmp"
fi
for band in muldjord sectoid; do  # one folder per song (song.ogg; guitar.ogg is the guitar part alone)
    for d in /usr/share/games/fretsonfire/data/songs/$band/*/; do
        s=$(basename "$d"); mkdir -p "$out/fretsonfire-$band"
        ln -sf "$d/song.ogg" "$out/fretsonfire-$band/${s// /_}.ogg"
    done
done
render_all tecnoballz /usr/share/games/tecnoballz/musics/*
render_all fb-music-high /usr/share/games/frozen-bubble/snd/*.xm
for a in "$out"/*/; do echo "$(basename "$a"): $(find -L "$a" -type f | wc -l)"; done
