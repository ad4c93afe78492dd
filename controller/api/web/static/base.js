// The page's ground floor: its settings and state, talking to the daemon, the site's time,
// and DOM helpers. Plain scripts, no build step: index.html loads i18n.js, base.js, live.js,
// draw.js and app.js in that order, and they share these top-level names.
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
  "hold_reasserted", "announcement", "restore", "visit", "availability", "alert", "garbage",
  "preflight", "walk_in"];
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
