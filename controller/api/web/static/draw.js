// Drawing the page from the state read: text only, never markup from data.
"use strict";

// --- drawing -------------------------------------------------------------------------------------

function render() {
  $("#site-name").textContent = state.status.site;
  renderCurrent();
  renderButtons();
  renderTimeline();
  renderVisits();
  renderSaid();
  renderDevices();
  renderCallbacks();
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
    } else if (info && info.guest) {
      // An arrival long before the booking: the press will ask first; say so beforehand.
      reason = info.confirm ? t("why.confirm", { guest: info.guest }) : info.guest;
    }
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
  // A move or cancel being typed survives a live refresh: the open editor is kept as it is
  // (what was typed, the refusal shown), not drawn afresh from the visit.
  const open = state.editing
    ? list.querySelector(`li[data-visit="${CSS.escape(state.editing.id)}"] .edit`) : null;
  const keep = open && open.dataset.what === state.editing.what ? open : null;
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
    if (canAct() && ["booked", "preparing"].includes(visit.status)) li.append(visitActions(visit, keep));
    list.append(li);
  }
}

function visitActions(visit, keep) {
  const box = el("div", "actions");
  if (state.editing && state.editing.id === visit.id) return keep || editor(visit, state.editing.what);
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
  box.dataset.what = what;
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
      // The staff's words (the device's name, what to do); the technical text as a fallback.
      const words = window.I18N.lang === "en" ? device.failure_text_en : device.failure_text;
      right.append(el("div", "failure", `${words || t("device.failed", { what: device.failure })} ${
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
