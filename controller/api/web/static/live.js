// Showing the sign-in, the live feed (reconnecting by itself), and reading the state.
"use strict";

// --- signing in and out -----------------------------------------------------------------------

function showLogin() {
  closeStream();
  showSignIn();
  setLive("connecting");
}

async function start() {
  if (!await signedIn()) return;
  await refresh();
  resetBookingStart();
  openStream();
}

// --- the live feed ------------------------------------------------------------------------------

function closeStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}

function openStream() {
  closeStream();
  if (!state.me) return;
  // Reopened by the page itself (the browser's own retry sends Last-Event-ID): the events
  // missed since the last one seen come first, then the live feed (docs/api.md).
  const after = state.lastEventId ? `?after=${encodeURIComponent(state.lastEventId)}` : "";
  const stream = new EventSource(`/events/stream${after}`);
  state.stream = stream;
  state.lastBeat = Date.now();
  stream.onopen = () => {
    state.retry = 0;
    state.lastBeat = Date.now();
    setLive("on");
    scheduleRefresh(0); // whatever happened while we were away
  };
  stream.onmessage = () => { state.lastBeat = Date.now(); };
  for (const kind of EVENT_KINDS) {
    stream.addEventListener(kind, (message) => {
      state.lastBeat = Date.now();
      if (message.lastEventId) state.lastEventId = message.lastEventId;
      let event;
      try { event = JSON.parse(message.data); } catch (err) { return; }
      onEvent(event);
      scheduleRefresh(REFRESH_DEBOUNCE_MS);
    });
  }
  stream.onerror = () => {
    setLive("off");
    if (stream.readyState === EventSource.CLOSED) reconnectLater();
    // Otherwise the browser is already retrying (the server asked for retry: 3000).
  };
}

function reconnectLater() {
  closeStream();
  const wait = RECONNECT_MS[Math.min(state.retry, RECONNECT_MS.length - 1)];
  state.retry += 1;
  setTimeout(async () => {
    try {
      await api("GET", "/auth/me"); // a 401 shows the sign-in instead
      openStream();
    } catch (err) {
      if (err.status !== 401) reconnectLater();
    }
  }, wait);
}

function watchdog() {
  // The heartbeats are comments, which never reach a handler: a stream quiet for this long
  // may be a dead connection nobody noticed (a phone that slept), so it is opened afresh.
  if (state.stream && Date.now() - state.lastBeat > STREAM_SILENCE_MS) openStream();
}

function onEvent(event) {
  if (event.kind === "announcement") {
    // Only what was actually played counts as said; queued and failed ones are not.
    if (event.result !== "played") return;
    state.said = [event, ...state.said.filter((e) => e.id !== event.id)].slice(0, SAID_SHOWN);
    renderSaid();
  } else if (event.kind === "trigger" && event.result === "ignored") {
    const detail = event.detail || {};
    const what = t(`trigger.${TRIGGER_WORDS[detail.trigger] || detail.trigger}`);
    toast(t("ignored", { source: event.source || "", what, why: window.I18N.reason(detail.message) }));
  } else if (event.kind === "alert"
             || (event.kind === "failed" && !(event.detail || {}).problem)) {
    // A device's failed command comes with its alert, in the staff's words: one toast.
    toast(alertText(event), "bad");
    if (event.kind === "alert") attention();
  } else if (event.kind === "walk_in" && event.result === "recorded"
             && (event.source || "").startsWith("button:")) {
    toast(t("walkin.button.event", { source: event.source }));
  } else if (event.kind === "availability" && event.device_id) {
    state.offline[event.device_id] = event.at;
  }
}

function deviceName(id) {
  const device = state.devices.find((d) => d.id === id);
  return device ? device.name : id || "";
}

function alertText(event) {
  const detail = event.detail || {};
  const words = window.I18N.lang === "en" ? detail.text_en : detail.text;
  if (words) return t("alert", { what: words });
  const what = detail.message || detail.reason || detail.error || "";
  return t("alert", { what: `${deviceName(event.device_id)} ${what}`.trim() });
}

// --- a new failure: a beep and a buzz, so that a phone in a pocket is noticed --------------

const BEEP_HZ = 880;
const BEEP_S = 0.35;
const VIBRATE_MS = [200, 100, 200];
const ATTENTION_EVERY_MS = 3000; // a burst of alerts makes one beep, not ten

function audio() {
  // Browsers let a page make sound only after a tap: the context is made (or resumed) on
  // the first one, and used by every beep after.
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!state.audio) state.audio = new Context();
  if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
  return state.audio;
}

function beep() {
  const ctx = audio();
  if (!ctx) return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "square";
  osc.frequency.value = BEEP_HZ;
  gain.gain.setValueAtTime(0.0001, ctx.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.25, ctx.currentTime + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + BEEP_S);
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + BEEP_S + 0.05);
}

function attention() {
  const now = Date.now();
  if (now - (state.attentionAt || 0) < ATTENTION_EVERY_MS) return;
  state.attentionAt = now;
  try { beep(); } catch (err) { /* no sound on this browser */ }
  // Where the phone allows it (not iOS Safari; Chrome after a first tap on the page).
  if (typeof navigator.vibrate === "function") navigator.vibrate(VIBRATE_MS);
}

// --- reading the state --------------------------------------------------------------------------

function scheduleRefresh(delay) {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, delay);
}

async function refresh() {
  if (!state.me) return;
  try {
    const began = Date.now();
    const status = await api("GET", "/status");
    state.clockSkew = Date.parse(status.now) - (began + Date.now()) / 2;
    state.tz = status.timezone;
    state.status = status;
    // Today's visits, and the coming night's too: at 23:00 tomorrow morning's guest matters.
    const today = siteDate(serverNow());
    const until = localInput(serverNow() + LOOK_AHEAD_MS);
    const query = `since=${today}T00:00&until=${until}&limit=500`;
    const [visits, buttons, devices, said, availability, walkIns] = await Promise.all([
      api("GET", `/visits?${query}`),
      api("GET", "/triggers"),
      api("GET", "/devices"),
      api("GET", "/events?kind=announcement&limit=" + SAID_SHOWN),
      api("GET", "/events?kind=availability&limit=200"),
      api("GET", "/walk-ins?status=waiting&limit=50"),
    ]);
    Object.assign(state, { visits: visits.visits, buttons, devices, walkIns,
                           said: said.events.filter((e) => e.result === "played") });
    state.offline = {};
    for (const event of [...availability.events].reverse()) {
      if (event.device_id) state.offline[event.device_id] = event.at;
    }
    const focus = focusVisit();
    state.plan = focus ? await api("GET", `/visits/${encodeURIComponent(focus.id)}/plan`) : null;
    render();
  } catch (err) {
    if (err.status !== 401) setLive("off");
  }
}

function focusVisit() {
  if (state.status.current) return state.status.current;
  return state.status.next[0] || null;
}
