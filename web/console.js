// liverec's web console: live streams, recordings, a WHIP publisher and health, over the service's own API.
// Plain browser JavaScript, no build step; dash.js and hls.js are served beside it.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const PAGE_SIZE = 20;
const TOKEN_KEY = "liverec.token";

const state = {
  token: localStorage.getItem(TOKEN_KEY) ?? "",
  asking: undefined,
  timer: undefined,
  bytes: new Map(),
  page: 0,
  player: undefined,
  publish: undefined,
};

// ---- API ----

/**
 * Fetches `path` with the token; a 401 asks for one (once) and tries again; other errors throw with the reason. A 401
 * for a token that has been replaced since the request went out (one sent while the dialog was open) only tries again.
 */
async function api(path, init = {}) {
  const token = state.token;
  const headers = new Headers(init.headers);
  if (token !== "") headers.set("authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) {
    if (state.token === token) await askToken();
    return api(path, init);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error?.message ?? `${init.method ?? "GET"} ${path} answered ${response.status}`);
  }
  return response;
}

function askToken() {
  state.asking ??= new Promise((resolve) => {
    const dialog = $("#token-dialog");
    const form = $("#token-form");
    form.token.value = "";
    dialog.showModal();
    form.addEventListener("submit", () => {
      state.token = form.token.value.trim();
      localStorage.setItem(TOKEN_KEY, state.token);
      state.asking = undefined;
      resolve();
    }, { once: true });
  });
  return state.asking;
}

/** The API path of a stream: `name`, or `app/name` as two segments. */
const streamPath = (id) => id.split("/").map(encodeURIComponent).join("/");

// ---- formatting ----

const duration = (seconds) => {
  const s = Math.max(0, Math.round(seconds));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  return hms.map((n, i) => (i === 0 ? String(n) : String(n).padStart(2, "0"))).join(":");
};
const bytes = (n) => {
  if (n == null) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) (n /= 1000), i++;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};
const when = (iso) => new Date(iso).toLocaleString();
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}
function badge(text, className = "") {
  const span = document.createElement("span");
  span.className = `badge ${className}`;
  span.textContent = text;
  return span;
}
function button(text, action, className = "quiet") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.className = className;
  b.dataset.action = text.toLowerCase();
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await action();
    } catch (error) {
      alert(error.message);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

// ---- tabs ----

const TABS = { live: refreshStreams, recordings: refreshRecordings, publish: async () => {}, health: refreshHealth };
const POLL_MS = { live: 1000, health: 3000 };

function showTab() {
  const name = Object.hasOwn(TABS, location.hash.slice(1)) ? location.hash.slice(1) : "live";
  for (const section of document.querySelectorAll("section.tab")) section.hidden = section.id !== name;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.tab === name);
  clearInterval(state.timer);
  const refresh = () => TABS[name]().catch((error) => console.error(error));
  refresh();
  if (POLL_MS[name] !== undefined) state.timer = setInterval(refresh, POLL_MS[name]);
}

// ---- live streams ----

async function refreshStreams() {
  const { streams } = await (await api("/api/streams")).json();
  const body = $("#streams tbody");
  const now = performance.now();
  body.replaceChildren(...streams.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.stream = s.id;
    const last = state.bytes.get(s.id);
    state.bytes.set(s.id, { bytes: s.bytes_received, at: now });
    const kbps = last === undefined || now <= last.at
      ? undefined
      : (s.bytes_received - last.bytes) * 8 / (now - last.at);
    const recording = document.createElement("td");
    if (s.recording) {
      recording.append(badge(s.recording_state, s.recording_state));
      recording.append(document.createTextNode(` ${s.rule}`));
    } else {
      recording.append(badge("not recorded"));
    }
    const actions = cell("", "actions");
    if (s.recording) {
      actions.append(button("Watch", () => play(s.record_id, `${s.id} (live)`, "dash")));
      actions.append(button("Stop", async () => {
        await api(`/api/record/${streamPath(s.id)}`, { method: "DELETE" });
        await refreshStreams();
      }));
    } else {
      actions.append(button("Record", async () => {
        await api(`/api/record/${streamPath(s.id)}`, { method: "POST" });
        await refreshStreams();
      }, ""));
    }
    tr.append(
      cell(s.id),
      cell(s.protocol.toUpperCase()),
      cell(s.codecs.join(", ")),
      cell(s.width == null ? "–" : `${s.width}×${s.height}`),
      cell(kbps === undefined ? "…" : `${Math.round(kbps)} kbit/s`),
      cell(`${s.packets_lost ?? 0} / ${s.retransmitted_packets}`),
      cell(String(s.keyframe_requests)),
      cell(duration(s.live_s)),
      recording,
      actions,
    );
    return tr;
  }));
  $("#streams-empty").hidden = streams.length > 0;
}

// ---- recordings ----

async function refreshRecordings() {
  const form = $("#search");
  const query = new URLSearchParams({ limit: String(PAGE_SIZE + 1), offset: String(state.page * PAGE_SIZE) });
  for (const key of ["stream", "state", "node_alias"]) {
    if (form[key].value.trim() !== "") query.set(key, form[key].value.trim());
  }
  if (form.day.value !== "") {
    query.set("from", `${form.day.value}T00:00:00Z`);
    query.set("to", `${form.day.value}T23:59:59.999Z`);
  }
  const { recordings } = await (await api(`/api/recordings?${query}`)).json();
  const shown = recordings.slice(0, PAGE_SIZE);
  $("#recording-list tbody").replaceChildren(...shown.map(recordingRow));
  $("#recordings-empty").hidden = shown.length > 0;
  $("#prev-page").disabled = state.page === 0;
  $("#next-page").disabled = recordings.length <= PAGE_SIZE;
  $("#page-label").textContent = `page ${state.page + 1}`;
}

function recordingRow(r) {
  const tr = document.createElement("tr");
  tr.dataset.record = r.record_id;
  tr.dataset.stream = r.stream;
  const formats = document.createElement("td");
  formats.append(badge("DASH"));
  if (r.hls_path) formats.append(badge("HLS"));
  if (r.ts_path) formats.append(badge("TS"));
  if (r.flv_path) formats.append(badge("FLV"));
  if (r.mp4_path) formats.append(badge("MP4"));
  const stateCell = document.createElement("td");
  stateCell.append(badge(r.state, r.state));
  const actions = cell("", "actions");
  actions.append(button("DASH", () => play(r.record_id, r.stream, "dash")));
  if (r.hls_path) actions.append(button("HLS", () => play(r.record_id, r.stream, "hls")));
  actions.append(button("MP4", () => downloadMp4(r)));
  actions.append(button("Export", () => openExport(r)));
  if (r.state === "finished" || r.state === "failed") {
    actions.append(button("Delete", async () => {
      if (!confirm(`Delete the recording of ${r.stream} started ${when(r.started_at)}?`)) return;
      await api(`/api/recordings/${encodeURIComponent(r.record_id)}`, { method: "DELETE" });
      await refreshRecordings();
    }, "danger"));
  }
  tr.append(
    cell(when(r.started_at)),
    cell(r.stream),
    cell(duration(r.duration_s)),
    cell(bytes(r.size_bytes)),
    cell(String(r.periods)),
    cell(r.codecs.join(", ")),
    formats,
    stateCell,
    actions,
  );
  return tr;
}

async function playbackUrls(recordId) {
  return await (await api(`/api/recordings/${encodeURIComponent(recordId)}/playback`)).json();
}

async function downloadMp4(r) {
  const { mp4_url } = await playbackUrls(r.record_id);
  const link = document.createElement("a");
  link.href = mp4_url;
  link.download = `${r.stream.replace("/", "_")}_${r.record_id}.mp4`;
  link.click();
}

function openExport(r) {
  const form = $("#export");
  form.hidden = false;
  form.dataset.stream = r.stream;
  $("#export-stream").textContent = r.stream;
  const start = new Date(r.started_at);
  form.start.value = new Date(start.getTime() - start.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  // The whole recording by default: its wall-clock span (pauses of a spliced one included), rounded up.
  const spanS = r.ended_at ? (Date.parse(r.ended_at) - start.getTime()) / 1000 : r.duration_s;
  form.duration.value = String(Math.max(1, Math.ceil(spanS) + 1));
}

async function exportRange(event) {
  event.preventDefault();
  const form = event.target;
  const start = new Date(form.start.value).toISOString();
  const query = new URLSearchParams({ start, duration: form.duration.value });
  const blob = await (await api(`/api/export/${streamPath(form.dataset.stream)}?${query}`)).blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${form.dataset.stream.replace("/", "_")}_${start.replace(/[:.]/g, "-")}.mp4`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

// ---- player ----

async function play(recordId, title, kind) {
  const urls = await playbackUrls(recordId);
  closePlayer();
  const video = $("#video");
  $("#player").hidden = false;
  $("#player-title").textContent = `${title} · ${kind === "hls" ? "HLS" : "DASH"}`;
  if (kind === "hls") {
    const hls = new Hls();
    hls.loadSource(urls.hls_url);
    hls.attachMedia(video);
    state.player = { destroy: () => hls.destroy() };
  } else {
    await mediaListed(urls.mpd_url);
    const player = dashjs.MediaPlayer().create();
    player.initialize(video, urls.mpd_url, true);
    state.player = { destroy: () => player.reset() };
  }
  video.muted = true;
  video.play().catch(() => {});
  $("#player").scrollIntoView({ behavior: "smooth" });
}

/**
 * Waits (up to 30 s) until a live MPD has media behind its live edge. Before a recording's first segment is stored
 * there is no MPD yet; and started with less media than the MPD's presentation delay and minimum buffer, dash.js
 * stalls for good. A finished recording's MPD passes at once.
 */
async function mediaListed(mpdUrl) {
  for (let tries = 0; tries < 60; tries++) {
    const response = await fetch(mpdUrl).catch(() => undefined);
    const mpd = response?.ok ? await response.text() : "";
    if (mpd.includes("<Period")) {
      if (!mpd.includes('type="dynamic"')) return;
      const waitS = durationS(mpd, "suggestedPresentationDelay") + durationS(mpd, "minBufferTime");
      const startMs = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd)?.[1] ?? "");
      const leftMs = startMs + waitS * 1000 - Date.now();
      if (leftMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(leftMs, 30_000)));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** An MPD attribute's xs:duration (PT…H…M…S) in seconds; 0 when absent. */
function durationS(mpd, attribute) {
  const match = new RegExp(`${attribute}="PT(?:([\\d.]+)H)?(?:([\\d.]+)M)?(?:([\\d.]+)S)?"`).exec(mpd);
  const [hours, minutes, seconds] = (match?.slice(1) ?? []).map((part) => Number(part ?? 0));
  return (hours ?? 0) * 3600 + (minutes ?? 0) * 60 + (seconds ?? 0);
}

function closePlayer() {
  state.player?.destroy();
  state.player = undefined;
  $("#video").removeAttribute("src");
  $("#player").hidden = true;
}

// ---- publish ----

const CODECS = { h264: "video/H264", vp8: "video/VP8", vp9: "video/VP9", av1: "video/AV1" };

function fillCodecs() {
  const offered = new Set((RTCRtpSender.getCapabilities("video")?.codecs ?? []).map((c) => c.mimeType.toLowerCase()));
  const select = $("#publisher").codec;
  for (const [name, mime] of Object.entries(CODECS)) {
    if (offered.has(mime.toLowerCase())) select.append(new Option(name.toUpperCase(), name));
  }
}

async function startPublishing(event) {
  event.preventDefault();
  const form = $("#publisher");
  const stream = form.stream.value.trim();
  const show = (text) => ($("#publish-state").textContent = text);
  try {
    const media = form.source.value === "screen"
      ? await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })
      : await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    $("#preview").srcObject = media;
    $("#preview").play().catch(() => {});
    const pc = new RTCPeerConnection();
    state.publish = { pc, media, location: undefined };
    for (const track of media.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
    const video = pc.getTransceivers().find((t) => t.sender.track?.kind === "video");
    const mime = CODECS[form.codec.value];
    const codecs = RTCRtpSender.getCapabilities("video").codecs;
    video?.setCodecPreferences([
      ...codecs.filter((c) => c.mimeType.toLowerCase() === mime.toLowerCase()),
      ...codecs.filter((c) => c.mimeType.toLowerCase() === "video/rtx"),
    ]);
    pc.addEventListener("connectionstatechange", () => show(`${stream}: ${pc.connectionState}`));
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
      setTimeout(resolve, 2000);
    });
    const response = await api(`/whip/${streamPath(stream)}`, {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: pc.localDescription.sdp,
    });
    state.publish.location = new URL(response.headers.get("location"), location.href).pathname;
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    form.querySelector("#publish-start").disabled = true;
    form.querySelector("#publish-stop").disabled = false;
    show(`${stream}: connecting…`);
  } catch (error) {
    show(`Could not publish: ${error.message}`);
    await stopPublishing();
  }
}

async function stopPublishing() {
  const publish = state.publish;
  state.publish = undefined;
  if (publish === undefined) return;
  for (const track of publish.media.getTracks()) track.stop();
  if (publish.location !== undefined) await api(publish.location, { method: "DELETE" }).catch(() => {});
  publish.pc.close();
  $("#publisher").querySelector("#publish-start").disabled = false;
  $("#publisher").querySelector("#publish-stop").disabled = true;
  $("#publish-state").textContent = "Not publishing.";
}

// ---- health ----

async function refreshHealth() {
  const h = await (await api("/api/health")).json();
  const card = (label, value, detail = "") => {
    const div = document.createElement("div");
    div.className = "card";
    div.innerHTML = '<div class="label"></div><div class="value"></div><div class="detail"></div>';
    div.children[0].textContent = label;
    div.children[1].textContent = value;
    div.children[2].textContent = detail;
    return div;
  };
  const { storage, disk, webhooks } = h;
  const cards = [
    card("Streams live", String(h.streams_live), `${h.recordings_running} being recorded`),
    card("Storage", storage.backend.split(":")[0], storage.backend.slice(storage.backend.indexOf(":") + 1)),
    card(
      "Free disk",
      disk === null ? "–" : bytes(disk.free_bytes),
      disk === null ? "" : `of ${bytes(disk.total_bytes)}`,
    ),
    card("New recordings", h.refusing_new === null ? "accepted" : "refused", h.refusing_new ?? ""),
    card("Uptime", duration(h.uptime_s)),
  ];
  if (storage.upload !== null) {
    cards.push(card(
      "Upload queue",
      `${storage.upload.pending_objects} objects`,
      `${bytes(storage.upload.pending_bytes)} in the spool of ${bytes(storage.spool_limit_bytes)}; ` +
        `${storage.upload.failed_attempts} failed attempts`,
    ));
  }
  if (webhooks !== null) {
    cards.push(card("Webhook backlog", String(webhooks.pending), `${webhooks.failed_attempts} failed attempts`));
  }
  $("#health-cards").replaceChildren(...cards);
  $("#problems").replaceChildren(...(h.recent_problems.length === 0 ? ["Nothing to report."] : h.recent_problems).map(
    (p) => {
      const li = document.createElement("li");
      if (typeof p === "string") {
        li.textContent = p;
        return li;
      }
      li.className = p.level;
      const fields = Object.entries(p.fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
      li.textContent = `${when(p.time)} ${p.level.toUpperCase()} ${p.message} ${fields.join(" ")}`;
      return li;
    },
  ));
}

// ---- start ----

globalThis.addEventListener("hashchange", showTab);
$("#search").addEventListener("submit", (event) => {
  event.preventDefault();
  state.page = 0;
  refreshRecordings().catch((error) => alert(error.message));
});
$("#prev-page").addEventListener("click", () => (state.page--, refreshRecordings()));
$("#next-page").addEventListener("click", () => (state.page++, refreshRecordings()));
$("#export").addEventListener("submit", (event) => exportRange(event).catch((error) => alert(error.message)));
$("#export-cancel").addEventListener("click", () => ($("#export").hidden = true));
$("#player-close").addEventListener("click", closePlayer);
$("#publisher").addEventListener("submit", startPublishing);
$("#publish-stop").addEventListener("click", stopPublishing);
$("#token-button").addEventListener("click", () => askToken().then(showTab));
fillCodecs();
showTab();
