// The concierge page. Plain JavaScript, no build step: it talks only to the daemon that
// served it, through the HTTP API (docs/api.md), with the session cookie of POST /auth/login.
// Live: the event stream (/events/stream) triggers a fresh read of what changed; when the
// stream drops, it reconnects by itself and reads everything again, so nothing is missed.
"use strict";

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
  const free = body.next_free ? whenText(body.next_free) : "—";
  if (!other && body.collides_with) return t("book.overlap.other", { free });
  if (!other) return body.reason || body.message || "";
  return t("book.overlap", { guest: other.salutation, from: hhmm(other.start), to: hhmm(other.end),
    free });
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
    let result = await api("POST", `/triggers/${name}`, body);
    // An arrival long before the booked start: more likely meant for someone else. Ask.
    if (result.needs_confirmation
        && window.confirm(t("pressed.confirm", { guest: guestOf(result.visit_id) }))) {
      result = await api("POST", `/triggers/${name}`, { visit_id: result.visit_id, confirm: true });
    }
    const what = `${t(`trigger.${name}`)} ${result.message.split(": ").pop()}`;
    const undoable = ["arrival", "departure"].includes(name);
    if (result.accepted) {
      toast(t("pressed.ok", { what }), "ok", undoable
        ? { label: t("undo.button"), run: () => undo(name, result.visit_id), ms: UNDO_MS } : null);
    }
    else toast(t("pressed.no", { why: window.I18N.reason(result.message) }), "bad");
  } catch (err) {
    toast(t("pressed.no", { why: err.status === 409 ? err.body.reason || err.message : err.message }), "bad");
  }
  scheduleRefresh(0);
}

// Undo a press: ask the daemon what it means (what was already said cannot be unsaid),
// confirm, then undo; a refusal says why.
async function undo(name, visitId) {
  try {
    const asked = await api("POST", `/triggers/${name}/undo`, { visit_id: visitId });
    if (!asked.needs_confirmation) {
      toast(t("undo.no", { why: t(`undo.why.${asked.code}`) }), "bad");
      return;
    }
    let question = t("undo.confirm", { what: t(`trigger.${name}`), back: t(`status.${asked.back_to}`) });
    if (asked.said.length) question += `\n${t("undo.said", { said: asked.said.map((s) => `«${s}»`).join(" ") })}`;
    if (!window.confirm(question)) return;
    const done = await api("POST", `/triggers/${name}/undo`, { visit_id: visitId, confirm: true });
    if (done.undone) toast(t("undo.done", { what: t(`trigger.${name}`), back: t(`status.${done.back_to}`) }), "ok");
    else toast(t("undo.no", { why: t(`undo.why.${done.code}`) }), "bad");
  } catch (err) {
    toast(t("undo.no", { why: err.message }), "bad");
  }
  scheduleRefresh(0);
}

function guestOf(visitId) {
  const visit = state.visits.find((v) => v.id === visitId);
  return visit ? `${visit.salutation} ${hhmm(visit.start)}` : visitId;
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

function init() {
  initPage(() => { if (state.status) render(); });
  $("#book-form").addEventListener("submit", (event) => {
    event.preventDefault();
    book(bookingBody(event.target));
  });
  initWalkIns();
  // The first tap allows the page to beep on a failure later (browsers' autoplay rule).
  document.addEventListener("pointerdown", () => { try { audio(); } catch (err) { /* none */ } },
    { once: true, capture: true });
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
