// The concierge page. Plain JavaScript, no build step: it talks only to the daemon that
// served it, through the HTTP API (docs/api.md), with the session cookie of POST /auth/login.
// Live: the event stream (/events/stream) triggers a fresh read of what changed; when the
// stream drops, it reconnects by itself and reads everything again, so nothing is missed.
"use strict";

const t = (key, params) => window.I18N.t(key, params);
const $ = (selector) => document.querySelector(selector);

// How long to wait after an event before reading the state again (events come in bursts).
const REFRESH_DEBOUNCE_MS = 150;
// A full read this often even when nothing happens: the buttons' windows change with time.
const REFRESH_EVERY_MS = 10000;
// Without a message or heartbeat (every 15 s) for this long, the stream is taken as dead.
const STREAM_SILENCE_MS = 45000;
// Reconnection waits: doubled after each failure, up to the last.
const RECONNECT_MS = [1000, 2000, 4000, 8000, 15000];
const TOAST_MS = 6000;
const TOASTS_SHOWN = 3; // the newest; older ones give way rather than cover the buttons
const SAID_SHOWN = 12;
const LOOK_AHEAD_MS = 24 * 3600 * 1000; // the list: from today's midnight to a day ahead
const EVENT_KINDS = ["trigger", "cue", "command", "confirmed", "retry", "failed",
  "hold_reasserted", "announcement", "restore", "visit", "availability", "alert", "garbage"];
const TRIGGER_WORDS = { arrival: "arrival", show_flat: "show-flat", departure: "departure" };

const state = {
  me: null, status: null, visits: [], buttons: [], devices: [], plan: null, said: [],
  offline: {}, clockSkew: 0, tz: undefined, stream: null, retry: 0, lastBeat: 0,
  refreshTimer: null, editing: null, lastBooking: null,
};

// --- talking to the daemon ------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body) {
  const options = { method, headers: { "X-Vipctl-Source": "app" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiError(0, { message: t("error.network") });
  }
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch (err) { data = null; }
  }
  if (response.status === 401 && path !== "/auth/login") {
    showLogin();
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// --- time, in the site's timezone -------------------------------------------------------------

const serverNow = () => Date.now() + state.clockSkew;

function parts(ms) {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: state.tz, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const out = {};
  for (const p of format.formatToParts(new Date(ms))) out[p.type] = p.value;
  return out;
}

function hhmm(iso, seconds) {
  if (!iso) return "";
  const p = parts(Date.parse(iso));
  return seconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
}

function siteDate(ms) {
  const p = parts(ms);
  return `${p.year}-${p.month}-${p.day}`;
}

function localInput(ms) {
  const p = parts(ms);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

function duration(ms) {
  const total = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// --- small DOM helpers (text only: guest names are data, never markup) -------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function toast(message, kind) {
  const box = $("#toasts");
  const node = el("div", `toast ${kind || ""}`, message);
  box.append(node);
  while (box.children.length > TOASTS_SHOWN) box.firstChild.remove();
  setTimeout(() => node.remove(), TOAST_MS);
}

const onSite = (status) => ["arrived", "at_show_flat", "departing"].includes(status);
const isOver = (status) => ["done", "cancelled", "no_show"].includes(status);
const canAct = () => state.me && state.me.role !== "viewer";

// --- signing in and out -----------------------------------------------------------------------

function showLogin() {
  closeStream();
  state.me = null;
  $("#app-view").hidden = true;
  $("#logout").hidden = true;
  $("#who").textContent = "";
  $("#login-view").hidden = false;
  $("#live").hidden = true;
  setLive("connecting");
}

async function start() {
  try {
    state.me = await api("GET", "/auth/me");
  } catch (err) {
    if (err.status !== 401) toast(err.message, "bad");
    return;
  }
  $("#login-view").hidden = true;
  $("#app-view").hidden = false;
  $("#live").hidden = false;
  $("#logout").hidden = state.me.via !== "session";
  $("#who").textContent = `${state.me.name} · ${t(`role.${state.me.role}`)}`;
  await refresh();
  resetBookingStart();
  openStream();
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#login-error");
  error.hidden = true;
  try {
    await api("POST", "/auth/login", { user: form.user.value.trim(), password: form.password.value });
  } catch (err) {
    const wait = err.status === 429 ? (err.body.message || "").match(/(\d+) s/) : null;
    error.textContent = err.status === 401 ? t("login.wrong")
      : wait ? t("login.wait", { s: wait[1] }) : err.message;
    error.hidden = false;
    return;
  }
  form.password.value = "";
  await start();
}

async function logout() {
  try { await api("POST", "/auth/logout"); } catch (err) { /* signed out either way */ }
  showLogin();
}

// --- the live feed ------------------------------------------------------------------------------

function setLive(which) {
  const node = $("#live");
  node.dataset.state = which;
  node.dataset.i18n = `live.${which}`;
  node.textContent = t(`live.${which}`);
}

function closeStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}

function openStream() {
  closeStream();
  if (!state.me) return;
  const stream = new EventSource("/events/stream");
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
    state.said = [event, ...state.said.filter((e) => e.id !== event.id)].slice(0, SAID_SHOWN);
    renderSaid();
  } else if (event.kind === "trigger" && event.result === "ignored") {
    const detail = event.detail || {};
    const what = t(`trigger.${TRIGGER_WORDS[detail.trigger] || detail.trigger}`);
    toast(t("ignored", { source: event.source || "", what, why: window.I18N.reason(detail.message) }));
  } else if (event.kind === "alert" || event.kind === "failed") {
    const detail = event.detail || {};
    toast(t("alert", { what: `${event.device_id || ""} ${detail.message || detail.error || ""}`.trim() }), "bad");
  } else if (event.kind === "availability" && event.device_id) {
    state.offline[event.device_id] = event.at;
  }
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
    const query = `since=${today}T00:00&until=${until}`;
    const [visits, buttons, devices, said, availability] = await Promise.all([
      api("GET", `/visits?${query}`),
      api("GET", "/triggers"),
      api("GET", "/devices"),
      api("GET", "/events?kind=announcement&limit=" + SAID_SHOWN),
      api("GET", "/events?kind=availability&limit=200"),
    ]);
    Object.assign(state, { visits, buttons, devices, said: said.events });
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

// --- drawing -------------------------------------------------------------------------------------

function render() {
  $("#site-name").textContent = state.status.site;
  renderCurrent();
  renderButtons();
  renderTimeline();
  renderVisits();
  renderSaid();
  renderDevices();
  tick();
}

function guestLine(visit) {
  return visit.title ? `${visit.salutation}（${visit.title}）` : visit.salutation;
}

function renderCurrent() {
  const box = $("#current");
  box.replaceChildren();
  const visit = state.status.current;
  const next = state.status.next[0];
  if (!visit) {
    box.append(el("p", "muted", t("now.none")));
    if (next) {
      const line = el("p", "meta", `${t("now.next")}: ${guestLine(next)} ${hhmm(next.start)} `);
      line.append(el("span", "countdown", ""));
      line.lastChild.dataset.start = next.start;
      line.lastChild.dataset.status = next.status;
      box.append(line);
    }
    return;
  }
  box.append(el("div", "guest", guestLine(visit)));
  const meta = el("div", "meta");
  meta.append(el("span", `badge ${visit.status}`, t(`status.${visit.status}`)), " ");
  const count = el("span", "countdown", "");
  count.dataset.start = visit.start;
  count.dataset.status = visit.status;
  count.dataset.since = (visit.entered || {}).arrived || "";
  meta.append(count);
  const facts = [`${hhmm(visit.start)}–${hhmm(visit.end)}`, `${visit.party_size}人`];
  if (visit.car_plate) facts.push(visit.car_plate);
  meta.append(el("div", "muted", facts.join(" · ")));
  if (visit.notes) meta.append(el("div", "muted", visit.notes));
  box.append(meta);
}

function renderButtons() {
  for (const wrap of document.querySelectorAll("#buttons .press")) {
    const button = wrap.querySelector("button");
    const why = wrap.querySelector(".why");
    const info = state.buttons.find((b) => b.trigger === button.dataset.trigger);
    let reason = "";
    if (!canAct()) reason = t("why.role");
    else if (info && !info.available) {
      reason = t(`why.${info.code}`, { at: info.done_at || "", guest: info.guest || "" });
    } else if (info && info.guest) reason = info.guest;
    button.disabled = !canAct() || !info || !info.available;
    why.textContent = reason;
    button.title = reason;
  }
}

function stepLabel(step, due, waiting) {
  if (step) return t(`step.${step}`) || step;
  if (waiting) return t("timeline.waiting", { what: t(`trigger.${TRIGGER_WORDS[waiting] || waiting}`) });
  return due && Date.parse(due) <= serverNow() ? t("step.due") : "";
}

function renderTimeline() {
  const list = $("#timeline");
  list.replaceChildren();
  const plan = state.plan;
  $("#timeline-title").textContent = plan ? t("timeline.for", { guest: plan.visit.salutation })
    : t("timeline.title");
  if (!plan) {
    list.append(el("li", "muted", t("timeline.none")));
    return;
  }
  const items = plan.cues.map((cue) => ({
    when: cue.due, step: cue.step, waiting: cue.waiting_for, text: cue.description || cue.id,
    said: cue.announcements.filter((a) => a.kind === "announce").map((a) => a.text),
  }));
  items.push({ when: plan.restore.due, step: plan.restore.step, waiting: plan.restore.waiting_for,
    text: t("timeline.restore"), said: [] });
  const now = serverNow();
  let nowShown = false;
  let nextShown = false;
  for (const item of items) {
    const due = item.when ? Date.parse(item.when) : null;
    if (!nowShown && (due === null || due > now) && !item.step) {
      list.append(el("li", "now-line", t("timeline.now", { at: hhmm(new Date(now).toISOString(), true) })));
      nowShown = true;
    }
    const li = el("li", item.step || "");
    if (!item.step && !nextShown) {
      li.classList.add("next");
      nextShown = true;
    }
    li.append(el("span", "when", item.when ? hhmm(item.when, true) : "—"));
    const text = el("span", "what", item.text);
    for (const said of item.said) text.append(el("div", "muted", `«${said}»`));
    li.append(text);
    li.append(el("span", "step", stepLabel(item.step, item.when, item.waiting)));
    list.append(li);
  }
}

function renderVisits() {
  const list = $("#visits");
  list.replaceChildren();
  if (!state.visits.length) {
    list.append(el("li", "muted", t("visits.none")));
    return;
  }
  for (const visit of state.visits) {
    const li = el("li");
    li.dataset.visit = visit.id;
    const head = el("div", "head");
    head.append(el("strong", "", `${hhmm(visit.start)}–${hhmm(visit.end)} ${guestLine(visit)}`));
    head.append(el("span", `badge ${visit.status}`, t(`status.${visit.status}`)));
    li.append(head);
    const count = el("div", "countdown", "");
    count.dataset.start = visit.start;
    count.dataset.status = visit.status;
    count.dataset.since = (visit.entered || {}).arrived || "";
    li.append(count);
    if (canAct() && ["booked", "preparing"].includes(visit.status)) li.append(visitActions(visit));
    list.append(li);
  }
}

function visitActions(visit) {
  const box = el("div", "actions");
  if (state.editing && state.editing.id === visit.id) return editor(visit, state.editing.what);
  const move = el("button", "secondary move", t("visits.move"));
  move.type = "button";
  move.onclick = () => { state.editing = { id: visit.id, what: "move" }; renderVisits(); };
  const cancel = el("button", "danger cancel", t("visits.cancel"));
  cancel.type = "button";
  cancel.onclick = () => { state.editing = { id: visit.id, what: "cancel" }; renderVisits(); };
  box.append(move, cancel);
  return box;
}

function editor(visit, what) {
  const box = el("div", "edit");
  const input = el("input");
  const save = el("button", what === "move" ? "primary save" : "danger confirm",
    t(what === "move" ? "visits.save" : "visits.confirm.cancel"));
  const back = el("button", "secondary back", t("visits.back"));
  save.type = back.type = "button";
  const error = el("p", "error");
  error.hidden = true;
  if (what === "move") {
    input.type = "datetime-local";
    input.name = "move-start";
    input.value = localInput(Date.parse(visit.start));
  } else {
    input.name = "cancel-reason";
    input.maxLength = 200;
    input.value = t("visits.reason.default");
    input.placeholder = t("visits.reason");
  }
  back.onclick = () => { state.editing = null; renderVisits(); };
  save.onclick = async () => {
    try {
      if (what === "move") {
        const moved = await api("POST", `/visits/${encodeURIComponent(visit.id)}/move`, { start: input.value });
        toast(t("moved", { guest: moved.salutation, at: hhmm(moved.start) }), "ok");
      } else {
        const gone = await api("POST", `/visits/${encodeURIComponent(visit.id)}/cancel`, { reason: input.value.trim() || t("visits.reason.default") });
        toast(t("cancelled", { guest: gone.salutation }), "ok");
      }
      state.editing = null;
      scheduleRefresh(0);
    } catch (err) {
      error.textContent = refusalText(err);
      error.hidden = false;
      if (err.status === 409 && err.body.next_free) {
        // The field holds whole minutes: the next free start, rounded up to one.
        input.value = localInput(Math.ceil(Date.parse(err.body.next_free) / 60000) * 60000);
      }
    }
  };
  box.append(input, save, back, error);
  return box;
}

function renderSaid() {
  const list = $("#said");
  list.replaceChildren();
  if (!state.said.length) {
    list.append(el("li", "muted", t("said.none")));
    return;
  }
  for (const event of state.said) {
    const detail = event.detail || {};
    const li = el("li", detail.played === false ? "failed" : "");
    li.append(el("span", "when", hhmm(event.at, true)));
    li.append(el("span", "text", detail.text || ""));
    if (detail.played === false) li.append(el("span", "muted", ` (${t("said.failed")})`));
    list.append(li);
  }
}

function describeState(device) {
  const s = device.state || {};
  const bits = [];
  if ("power" in s) bits.push(s.power ? "ON" : "OFF");
  if ("brightness" in s) bits.push(`${s.brightness}%`);
  if ("mode" in s) bits.push(s.mode);
  if ("setpoint" in s) bits.push(`${s.setpoint}°C`);
  if ("playback" in s) bits.push(s.playback);
  if ("volume" in s) bits.push(`vol ${s.volume}`);
  if (device.assumed) bits.push(t("device.assumed"));
  return bits.join(" · ");
}

function renderDevices() {
  const list = $("#devices");
  list.replaceChildren();
  for (const device of state.devices) {
    const offline = device.available === false;
    const li = el("li", offline || device.failure ? "bad" : "");
    li.dataset.device = device.id;
    li.append(el("span", "name", device.name));
    const right = el("span", "state");
    const availability = offline ? t("device.offline")
      : device.available ? t("device.online") : t("device.unknown");
    let line = `${availability}`;
    if (offline && state.offline[device.id]) {
      line += ` ${t("device.since", { at: hhmm(state.offline[device.id], true) })}`;
    }
    right.append(el("div", "", line));
    if (device.failure) {
      right.append(el("div", "failure", `${t("device.failed", { what: device.failure })} ${
        device.failed_since ? t("device.since", { at: hhmm(device.failed_since, true) }) : ""}`));
    }
    const described = describeState(device);
    if (described) right.append(el("div", "", described));
    li.append(right);
    list.append(li);
  }
}

function tick() {
  const now = serverNow();
  for (const node of document.querySelectorAll(".countdown[data-start]")) {
    const status = node.dataset.status;
    if (isOver(status)) { node.textContent = ""; continue; }
    if (onSite(status) && node.dataset.since) {
      node.textContent = t("countdown.here", { t: duration(now - Date.parse(node.dataset.since)) });
      continue;
    }
    const left = Date.parse(node.dataset.start) - now;
    node.textContent = left >= 0 ? t("countdown.in", { t: duration(left) })
      : t("countdown.late", { t: duration(left) });
  }
}

// --- acting -------------------------------------------------------------------------------------

function refusalText(err) {
  if (err.status === 403) return t("error.forbidden", { why: err.message });
  if (err.status === 409) return t("book.refused", { reason: overlapText(err.body) });
  if (err.status === 422) return t("book.invalid", { reason: err.message });
  return err.message;
}

function overlapText(body) {
  // P1's refusal in the page's words when the visit in the way is on today's list.
  const other = state.visits.find((v) => v.id === body.collides_with);
  if (!other) return body.reason || body.message || "";
  return t("book.overlap", { guest: other.salutation, from: hhmm(other.start), to: hhmm(other.end),
    free: body.next_free ? hhmm(body.next_free) : "—" });
}

async function press(button) {
  const name = button.dataset.trigger;
  const body = {};
  if (name === "vip-now") {
    const surname = $("#vip-surname").value.trim();
    const honorific = $("#vip-honorific").value.trim();
    if (surname || honorific) body.guest = { surname, honorific: honorific || "先生" };
  }
  button.disabled = true; // one press; the answer re-enables it if it still applies
  try {
    const result = await api("POST", `/triggers/${name}`, body);
    if (result.accepted) toast(t("pressed.ok", { what: `${t(`trigger.${name}`)} ${result.message.split(": ").pop()}` }), "ok");
    else toast(t("pressed.no", { why: window.I18N.reason(result.message) }), "bad");
  } catch (err) {
    toast(t("pressed.no", { why: err.status === 409 ? err.body.reason || err.message : err.message }), "bad");
  }
  scheduleRefresh(0);
}

function bookingBody(form) {
  const body = {
    surname: form.surname.value.trim(), honorific: form.honorific.value.trim(),
    start: form.start.value, duration: Number(form.duration.value),
    party_size: Number(form.party_size.value),
  };
  for (const field of ["title", "car_plate", "notes"]) {
    const value = form[field].value.trim();
    if (value) body[field] = value;
  }
  return body;
}

async function book(body) {
  const refusal = $("#refusal");
  refusal.hidden = true;
  try {
    const visit = await api("POST", "/visits", body);
    toast(t("book.done", { guest: visit.salutation, at: hhmm(visit.start) }), "ok");
    $("#book-form").reset(); // back to the defaults: 先生, 60 minutes, one guest
    resetBookingStart();
    scheduleRefresh(0);
  } catch (err) {
    refusal.querySelector(".error").textContent = refusalText(err);
    const take = refusal.querySelector(".take");
    const free = err.status === 409 ? err.body.next_free : null;
    take.hidden = !free;
    if (free) {
      take.textContent = t("book.take", { at: hhmm(free) });
      // One tap books the offered slot with everything else as typed.
      take.onclick = () => book({ ...body, start: free });
    }
    refusal.hidden = false;
  }
}

function resetBookingStart() {
  const form = $("#book-form");
  if (state.tz === undefined || form.start.value) return;
  const halfHour = 30 * 60 * 1000;
  const fiveMinutes = 5 * 60 * 1000;
  form.start.value = localInput(Math.ceil((serverNow() + halfHour) / fiveMinutes) * fiveMinutes);
}

function switchLanguage() {
  window.I18N.lang = window.I18N.lang === "zh" ? "en" : "zh";
  try { localStorage.setItem("vipctl.lang", window.I18N.lang); } catch (err) { /* private mode */ }
  window.I18N.apply();
  if (state.me) {
    $("#who").textContent = `${state.me.name} · ${t(`role.${state.me.role}`)}`;
    if (state.status) render();
  }
}

function init() {
  try { window.I18N.lang = localStorage.getItem("vipctl.lang") || "zh"; } catch (err) { /* default */ }
  window.I18N.apply();
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#lang").addEventListener("click", switchLanguage);
  $("#book-form").addEventListener("submit", (event) => {
    event.preventDefault();
    book(bookingBody(event.target));
  });
  for (const button of document.querySelectorAll("#buttons button")) {
    button.addEventListener("click", () => press(button));
  }
  setInterval(tick, 1000);
  setInterval(() => { if (state.me) refresh(); }, REFRESH_EVERY_MS);
  setInterval(watchdog, 5000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.me) { scheduleRefresh(0); if (!state.stream) openStream(); }
  });
  start().then(() => { if (!state.me) showLogin(); });
}

init();
