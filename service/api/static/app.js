// musicrec explore page: plain JavaScript, no build step, talks only to this server's /v1 API.
// The API key lives in sessionStorage and travels only in the Authorization header, never in a URL.
"use strict";

const KEY_STORAGE = "musicrec.apiKey";
const $ = (id) => document.getElementById(id);

const state = {
  points: [], // map items, with sx/sy filled at draw time
  byId: new Map(),
  groups: new Map(), // group value -> colour
  colorBy: "album",
  userId: "",
  selected: null, // Track
  similar: [],
  recommendations: [],
  path: [],
  pathFrom: null,
  pathTo: null,
  library: new Set(),
  view: { scale: 1, dx: 0, dy: 0 },
  hover: null,
};

// --- the API -----------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = {};
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 401) {
    askForKey(key ? "That key was refused." : "This server needs an API key.");
    throw new ApiError(401, null);
  }
  if (!resp.ok) {
    let payload = null;
    try { payload = await resp.json(); } catch (e) { /* not JSON */ }
    throw new ApiError(resp.status, payload);
  }
  if (raw) return resp;
  return resp.status === 204 ? null : resp.json();
}

function status(text) { $("status").textContent = text || ""; }

function report(err) {
  if (err instanceof ApiError && err.status === 401) return;
  status(err.message || String(err));
}

// --- the key -----------------------------------------------------------------------------------
function askForKey(message) {
  $("key-form").hidden = false;
  $("key-message").textContent = message || "";
  $("api-key").focus();
}

function setupKey() {
  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("api-key").value = "";
    $("key-message").textContent = "";
    $("key-form").hidden = true;
    start();
  });
}

// --- colours and the legend --------------------------------------------------------------------
const GREY = "#b9c0c8";

function colourFor(index) {
  const hue = (index * 137.508) % 360; // golden angle: neighbours differ
  return `hsl(${hue.toFixed(1)}, 62%, ${index % 2 ? 42 : 52}%)`;
}

function buildGroups() {
  const counts = new Map();
  for (const p of state.points) if (p.group != null) counts.set(p.group, (counts.get(p.group) || 0) + 1);
  const ordered = [...counts.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
  state.groups = new Map();
  const special = { "in library": "#d9480f", "not in library": GREY };
  ordered.forEach(([value], i) => state.groups.set(value, special[value] || (i < 40 ? colourFor(i) : GREY)));
  const legend = $("legend");
  legend.replaceChildren();
  const shown = ordered.slice(0, 40);
  for (const [value, count] of shown) legend.append(legendRow(state.groups.get(value), `${value} (${count})`));
  if (ordered.length > shown.length) legend.append(legendRow(GREY, `${ordered.length - shown.length} more`));
  const none = state.points.length - ordered.reduce((n, [, c]) => n + c, 0);
  if (none) legend.append(legendRow(GREY, `none (${none})`));
}

function legendRow(colour, text) {
  const row = document.createElement("div");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = colour;
  row.append(swatch, document.createTextNode(text));
  return row;
}

// --- the map -----------------------------------------------------------------------------------
const canvas = () => $("map");

function resizeCanvas() {
  const c = canvas();
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = c.getBoundingClientRect();
  c.width = Math.max(1, Math.round(width * ratio));
  c.height = Math.max(1, Math.round(height * ratio));
  draw();
}

function transform() {
  // map coordinates ([-1, 1]) to CSS pixels: x' = ox + k·x, y' = oy − k·y (computed once per frame)
  const c = canvas();
  const ratio = window.devicePixelRatio || 1;
  const w = c.width / ratio, h = c.height / ratio;
  const k = (Math.min(w, h) / 2 - 24) * state.view.scale;
  return { k, ox: w / 2 + state.view.dx, oy: h / 2 + state.view.dy };
}

function draw() {
  const c = canvas();
  const ctx = c.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, c.width, c.height);
  const n = state.points.length;
  const radius = n > 5000 ? 2 : n > 1000 ? 3 : 6;
  const focus = state.userId && state.library.size > 0 && state.colorBy !== "user";
  // one path per colour (and dimming), not one per point: a 10,000-point frame stays a few milliseconds
  const batches = new Map();
  const { k, ox, oy } = transform();
  for (const p of state.points) {
    p.sx = ox + k * p.x;
    p.sy = oy - k * p.y;
    const dim = focus && !state.library.has(p.trackId);
    const colour = p.group == null ? GREY : state.groups.get(p.group) || GREY;
    const key = `${dim ? 1 : 0}|${colour}`;
    if (!batches.has(key)) batches.set(key, []);
    batches.get(key).push(p);
  }
  let drawn = 0;
  for (const [key, pts] of batches) {
    const [dim, colour] = key.split("|");
    ctx.globalAlpha = dim === "1" ? 0.25 : 0.9;
    ctx.fillStyle = colour;
    ctx.beginPath();
    for (const p of pts) {
      if (radius <= 2) {
        ctx.rect(p.sx - radius, p.sy - radius, radius * 2, radius * 2); // tiny: a square looks the same, draws faster
      } else {
        ctx.moveTo(p.sx + radius, p.sy);
        ctx.arc(p.sx, p.sy, radius, 0, Math.PI * 2);
      }
    }
    ctx.fill();
    drawn += pts.length;
  }
  ctx.globalAlpha = 1;
  if (focus) ring(state.points.filter((p) => state.library.has(p.trackId)), radius + 2, "#d9480f", 1.5);
  // the path: a line through its tracks, in order
  const pathPts = state.path.map((t) => state.byId.get(t.trackId)).filter(Boolean);
  if (pathPts.length > 1) {
    ctx.strokeStyle = "#7b2cbf";
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    pathPts.forEach((p, i) => (i ? ctx.lineTo(p.sx, p.sy) : ctx.moveTo(p.sx, p.sy)));
    ctx.stroke();
    ring(pathPts, radius + 3, "#7b2cbf", 2);
  }
  ring(state.similar.map((t) => state.byId.get(t.trackId)).filter(Boolean), radius + 3, "#495057", 1.2);
  if (state.selected && state.byId.get(state.selected.trackId)) {
    ring([state.byId.get(state.selected.trackId)], radius + 6, "#e03131", 3);
  }
  if (state.hover) ring([state.hover], radius + 4, "#1d232a", 1);
  c.dataset.points = String(drawn);
}

function ring(points, r, colour, width) {
  const ctx = canvas().getContext("2d");
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  for (const p of points) {
    ctx.beginPath();
    ctx.arc(p.sx, p.sy, r, 0, Math.PI * 2);
    ctx.stroke();
  }
}

function pointAt(mx, my) {
  let best = null, bestD = 12 * 12;
  for (const p of state.points) {
    const d = (p.sx - mx) ** 2 + (p.sy - my) ** 2;
    if (d < bestD) { bestD = d; best = p; }
  }
  return best;
}

function setupMap() {
  const c = canvas();
  let drag = null;
  c.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const rect = c.getBoundingClientRect();
    const mx = ev.clientX - rect.left, my = ev.clientY - rect.top;
    const factor = Math.exp(-ev.deltaY * 0.0015);
    const v = state.view;
    const newScale = Math.min(200, Math.max(0.5, v.scale * factor));
    const k = newScale / v.scale;
    // keep the point under the cursor where it is
    const cx = rect.width / 2, cy = rect.height / 2;
    v.dx = (mx - cx) - k * (mx - cx - v.dx);
    v.dy = (my - cy) - k * (my - cy - v.dy);
    v.scale = newScale;
    draw();
  }, { passive: false });
  c.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, moved: false }; });
  window.addEventListener("mouseup", (ev) => {
    if (!drag) return;
    const wasDrag = drag.moved;
    drag = null;
    c.classList.remove("dragging");
    if (!wasDrag && ev.target === c) {
      const rect = c.getBoundingClientRect();
      const p = pointAt(ev.clientX - rect.left, ev.clientY - rect.top);
      if (p) selectTrack(p.trackId);
    }
  });
  window.addEventListener("mousemove", (ev) => {
    const rect = c.getBoundingClientRect();
    if (drag) {
      const ddx = ev.clientX - drag.x, ddy = ev.clientY - drag.y;
      if (drag.moved || Math.abs(ddx) + Math.abs(ddy) > 3) {
        drag.moved = true;
        c.classList.add("dragging");
        state.view.dx += ddx;
        state.view.dy += ddy;
        drag.x = ev.clientX;
        drag.y = ev.clientY;
        draw();
      }
      return;
    }
    if (ev.target !== c) return;
    const p = pointAt(ev.clientX - rect.left, ev.clientY - rect.top);
    if (p !== state.hover) {
      state.hover = p;
      draw();
    }
    const tip = $("tooltip");
    if (!p) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.textContent = `${p.title} — ${p.artists.join(", ") || "unknown artist"}${p.album ? ` (${p.album})` : ""}`;
    tip.style.left = `${ev.clientX - rect.left + 12}px`;
    tip.style.top = `${ev.clientY - rect.top + 12}px`;
  });
  c.addEventListener("mouseleave", () => { $("tooltip").hidden = true; state.hover = null; draw(); });
  c.addEventListener("dblclick", () => { state.view = { scale: 1, dx: 0, dy: 0 }; draw(); });
  window.addEventListener("resize", resizeCanvas);
}

async function loadMap() {
  const params = new URLSearchParams({ colorBy: state.colorBy });
  if (state.userId) params.set("userId", state.userId);
  const body = await api(`/v1/map?${params}`);
  state.points = body.items;
  state.byId = new Map(body.items.map((p) => [p.trackId, p]));
  state.library = new Set(body.items.filter((p) => p.inLibrary).map((p) => p.trackId));
  $("map-method").textContent = `${body.items.length} tracks, layout: ${body.method}`;
  buildGroups();
  fillGenres();
  resizeCanvas();
}

function fillGenres() {
  const select = $("f-genre");
  const current = select.value;
  const genres = [...new Set(state.points.flatMap((p) => p.genres))].sort();
  select.replaceChildren(new Option("any", ""), ...genres.map((g) => new Option(g, g)));
  select.value = genres.includes(current) ? current : "";
}

// --- lists of tracks ---------------------------------------------------------------------------
function trackLabel(t) {
  return `${t.title} — ${(t.artists || []).join(", ") || "unknown artist"}`;
}

function trackItem(t, { withScore = true, buttons = [] } = {}) {
  const li = document.createElement("li");
  li.dataset.trackId = t.trackId;
  const name = document.createElement("span");
  name.textContent = trackLabel(t);
  li.append(name);
  if (withScore && typeof t.score === "number") {
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = t.score.toFixed(3);
    li.append(score);
  }
  for (const [label, testid, handler] of buttons) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.testid = testid;
    b.addEventListener("click", (ev) => { ev.stopPropagation(); handler(t, li); });
    li.append(b);
  }
  if (t.because) {
    const because = document.createElement("span");
    because.className = "because";
    because.textContent = t.because;
    li.append(because);
  }
  li.addEventListener("click", () => selectTrack(t.trackId));
  return li;
}

function filterBody() {
  const num = (id) => { const v = $(id).value; return v === "" ? null : Number(v); };
  const f = {};
  if ($("f-genre").value) f.genres = [$("f-genre").value];
  for (const [key, id] of [["tempoMin", "f-tempo-min"], ["tempoMax", "f-tempo-max"], ["yearMin", "f-year-min"], ["yearMax", "f-year-max"]]) {
    const v = num(id);
    if (v !== null && Number.isFinite(v)) f[key] = v;
  }
  return f;
}

function rankingOptions() {
  const cap = $("f-cap").value === "" ? null : Number($("f-cap").value);
  return { diversity: Number($("f-diversity").value), maxPerArtist: cap && cap > 0 ? cap : null };
}

// --- search ------------------------------------------------------------------------------------
let searchSeq = 0;

function setupSearch() {
  let timer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(runSearch, 150);
  });
  $("search").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { clearTimeout(timer); runSearch(); }
  });
}

async function runSearch() {
  const q = $("search").value.trim();
  const seq = ++searchSeq;
  const list = $("search-results");
  if (!q) { list.replaceChildren(); return; }
  try {
    const body = await api(`/v1/tracks?${new URLSearchParams({ q, limit: "30" })}`);
    if (seq !== searchSeq) return;
    list.replaceChildren(...body.items.map((t) => {
      const li = trackItem(t, { withScore: false });
      li.dataset.testid = "search-result";
      return li;
    }));
    if (!body.items.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "no match" }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) { list.replaceChildren(); return; }
    report(err);
  }
}

// --- the selected track ------------------------------------------------------------------------
async function selectTrack(trackId) {
  try {
    const track = await api(`/v1/tracks/${encodeURIComponent(trackId)}`);
    state.selected = track;
    $("track").hidden = false;
    $("track-title").textContent = track.title;
    const meta = [
      (track.artists || []).join(", ") || "unknown artist",
      track.album, track.year, (track.genres || []).join(", "),
      `${Math.round(track.tempo)} BPM`, `${Math.floor(track.durationS / 60)}:${String(Math.round(track.durationS % 60)).padStart(2, "0")}`,
    ].filter((x) => x !== null && x !== undefined && x !== "");
    $("track-meta").textContent = meta.join(" · ");
    $("track-like").hidden = !state.userId;
    showListening(track);
    await loadSimilar();
  } catch (err) { report(err); }
}

function showListening(track) {
  const box = $("track-listen");
  box.replaceChildren();
  const src = track.source || {};
  if (src.kind === "file") {
    const play = document.createElement("button");
    play.type = "button";
    play.textContent = "Play";
    play.dataset.testid = "play";
    play.addEventListener("click", async () => {
      try {
        // a short-lived signed link: the <audio> element cannot send the key, and the key stays out of URLs
        const link = await api(`/v1/tracks/${encodeURIComponent(track.trackId)}/audio-link`, { method: "POST" });
        const audio = document.createElement("audio");
        audio.controls = true;
        audio.src = link.url;
        audio.dataset.testid = "audio";
        box.replaceChildren(audio);
        audio.play().catch(() => { /* autoplay may be refused; the controls remain */ });
      } catch (err) { report(err); }
    });
    box.append(play);
  } else {
    const links = [];
    if (src.spotifyId) links.push(["Open in Spotify", `https://open.spotify.com/track/${encodeURIComponent(src.spotifyId)}`]);
    if (src.youtubeId) links.push(["Watch on YouTube", `https://www.youtube.com/watch?v=${encodeURIComponent(src.youtubeId)}`]);
    for (const [text, href] of links) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      box.append(a, document.createTextNode(" "));
    }
  }
}

let similarSeq = 0;

async function loadSimilar() {
  if (!state.selected) return;
  const seq = ++similarSeq;
  const f = filterBody();
  const r = rankingOptions();
  const params = new URLSearchParams({ limit: "15" });
  if (f.genres) params.set("genre", f.genres[0]);
  for (const key of ["tempoMin", "tempoMax", "yearMin", "yearMax"]) if (key in f) params.set(key, String(f[key]));
  if (r.diversity > 0) params.set("diversity", String(r.diversity));
  if (r.maxPerArtist) params.set("maxPerArtist", String(r.maxPerArtist));
  try {
    const body = await api(`/v1/tracks/${encodeURIComponent(state.selected.trackId)}/similar?${params}`);
    if (seq !== similarSeq) return;
    state.similar = body.items;
    $("similar-list").replaceChildren(...body.items.map((t) => trackItem(t)));
    status("");
  } catch (err) {
    if (seq === similarSeq) { state.similar = []; $("similar-list").replaceChildren(); }
    report(err);
  }
  draw();
}

// --- users -------------------------------------------------------------------------------------
async function loadUsers() {
  const select = $("user");
  const users = [];
  let cursor = null;
  do {
    const params = new URLSearchParams({ limit: "500" });
    if (cursor) params.set("cursor", cursor);
    const page = await api(`/v1/users?${params}`);
    users.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && users.length < 5000);
  users.sort((a, b) => a.userId.localeCompare(b.userId));
  const current = select.value;
  select.replaceChildren(new Option("—", ""), ...users.map((u) => new Option(`${u.userId} (${u.libraryTracks})`, u.userId)));
  select.value = users.some((u) => u.userId === current) ? current : "";
}

let recSeq = 0;

async function loadRecommendations() {
  if (!state.userId) return;
  const seq = ++recSeq;
  const body = { userId: state.userId, limit: 15, ...rankingOptions() };
  if (!body.maxPerArtist) delete body.maxPerArtist;
  const f = filterBody();
  if (Object.keys(f).length) body.filter = f;
  try {
    const [recs, stats] = await Promise.all([
      api("/v1/recommendations", { method: "POST", body }),
      api(`/v1/users/${encodeURIComponent(state.userId)}/stats`),
    ]);
    if (seq !== recSeq) return;
    state.recommendations = recs.items;
    $("recommendations").replaceChildren(...recs.items.map((t) => trackItem(t, {
      buttons: [["like", "like", (tr, li) => feedback(tr, "like", li)],
        ["dislike", "dislike", (tr, li) => feedback(tr, "dislike", li)],
        ["skip", "skip", (tr, li) => feedback(tr, "skip", li)]],
    })));
    $("user-stats").textContent = `${stats.likes} likes · ${stats.dislikes} dislikes · ${stats.recommendationsServed} recommended · `
      + `${stats.percentLiked}% liked · ${stats.tracksAnalyzed} tracks analysed`
      + (stats.lastSyncAt ? ` · synced ${new Date(stats.lastSyncAt * 1000).toLocaleString()}` : "");
    $("user-stats").dataset.likes = String(stats.likes);
    $("user-stats").dataset.dislikes = String(stats.dislikes);
  } catch (err) { report(err); }
}

async function feedback(track, kind, li) {
  if (kind === "dislike" && li) li.remove(); // gone at once; the refreshed list never brings it back
  try {
    await api(`/v1/users/${encodeURIComponent(state.userId)}/feedback`, { method: "POST", body: { trackId: track.trackId, kind } });
    status(`${kind}d “${track.title}”`);
    state.library.add(track.trackId);
    await loadRecommendations();
    draw();
  } catch (err) { report(err); }
}

async function chooseUser(userId) {
  state.userId = userId;
  $("user-pane").hidden = !userId;
  $("user-name").textContent = userId;
  $("track-like").hidden = !userId || !state.selected;
  if (!userId && state.colorBy === "user") { state.colorBy = "album"; $("color-by").value = "album"; }
  await loadMap();
  if (userId) await loadRecommendations();
}

// --- song paths --------------------------------------------------------------------------------
function updatePathLabels() {
  $("path-from-label").textContent = state.pathFrom ? state.pathFrom.title : "—";
  $("path-to-label").textContent = state.pathTo ? state.pathTo.title : "—";
  $("path-go").disabled = !(state.pathFrom && state.pathTo);
}

async function loadPath() {
  if (!(state.pathFrom && state.pathTo)) return;
  const steps = Math.min(50, Math.max(3, Number($("path-steps").value) || 10));
  const body = { fromTrackId: state.pathFrom.trackId, toTrackId: state.pathTo.trackId, steps };
  const f = filterBody();
  if (Object.keys(f).length) body.filter = f;
  try {
    const resp = await api("/v1/paths", { method: "POST", body });
    state.path = resp.items;
    $("path-list").replaceChildren(...resp.items.map((t) => trackItem(t)));
    status("");
  } catch (err) { report(err); }
  draw();
}

// --- playlists ---------------------------------------------------------------------------------
async function exportList(which) {
  const lists = { similar: state.similar, recommendations: state.recommendations, path: state.path };
  const tracks = lists[which] || [];
  if (!tracks.length) { status("nothing to export yet"); return; }
  const names = {
    similar: state.selected ? `similar to ${state.selected.title}` : "similar",
    recommendations: `for ${state.userId}`,
    path: state.pathFrom && state.pathTo ? `${state.pathFrom.title} to ${state.pathTo.title}` : "path",
  };
  try {
    const resp = await api("/v1/playlists/m3u", {
      method: "POST", body: { trackIds: tracks.map((t) => t.trackId), name: names[which] }, raw: true,
    });
    const blob = await resp.blob();
    const disposition = resp.headers.get("content-disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = match ? match[1] : "musicrec.m3u8";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (err) { report(err); }
}

// --- wiring ------------------------------------------------------------------------------------
function setupControls() {
  $("color-by").addEventListener("change", async () => {
    state.colorBy = $("color-by").value;
    if (state.colorBy === "user" && !state.userId) {
      status("pick a user to colour by their library");
      state.colorBy = "album";
      $("color-by").value = "album";
      return;
    }
    try { await loadMap(); } catch (err) { report(err); }
  });
  $("user").addEventListener("change", () => chooseUser($("user").value).catch(report));
  const live = () => { loadSimilar(); loadRecommendations(); };
  for (const id of ["f-genre", "f-cap", "f-tempo-min", "f-tempo-max", "f-year-min", "f-year-max", "f-diversity"]) {
    $(id).addEventListener(id === "f-genre" ? "change" : "input", () => {
      $("f-diversity-out").textContent = $("f-diversity").value;
      live();
    });
  }
  $("path-from").addEventListener("click", () => { state.pathFrom = state.selected; updatePathLabels(); loadPath(); });
  $("path-to").addEventListener("click", () => { state.pathTo = state.selected; updatePathLabels(); loadPath(); });
  $("path-go").addEventListener("click", loadPath);
  $("track-like").addEventListener("click", () => state.selected && feedback(state.selected, "like", null));
  for (const b of document.querySelectorAll("button.export")) b.addEventListener("click", () => exportList(b.dataset.export));
}

async function start() {
  const authRequired = document.querySelector('meta[name="musicrec-auth"]').content !== "disabled";
  if (authRequired && !sessionStorage.getItem(KEY_STORAGE)) {
    askForKey("This server needs an API key.");
    return;
  }
  status("loading…");
  try {
    await loadMap();
    await loadUsers();
    status("");
  } catch (err) { report(err); }
}

document.addEventListener("DOMContentLoaded", () => {
  setupKey();
  setupMap();
  setupSearch();
  setupControls();
  start();
});
