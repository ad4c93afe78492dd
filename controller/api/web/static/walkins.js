// Walk-ins (P1, 一时一客): a customer without a booking. While a VIP guest is on site the
// concierge reads the polite words, hands over the brochure and keeps the customer for a
// callback; otherwise the 客户管家 is called to the front desk at once. Below: the callbacks
// waiting, each booked in one tap at the customer's preferred time.
"use strict";

const vipEngaged = () => Boolean(state.walkIns && state.walkIns.engaged);

async function walkIn() {
  if (vipEngaged()) {
    $("#walk-in").hidden = false;
    return;
  }
  try {
    await api("POST", "/walk-ins", {});
    toast(t("walkin.called"), "ok");
  } catch (err) {
    toast(t("walkin.refused", { why: walkInRefusal(err) }), "bad");
  }
  scheduleRefresh(0);
}

function walkInRefusal(err) {
  const problems = (err.body && err.body.errors) || [];
  if (problems.some((p) => p.where === "phone")) return t("walkin.badphone");
  return refusalText(err);
}

async function keepWalkIn(form) {
  const error = form.querySelector(".error");
  error.hidden = true;
  const body = { surname: form.surname.value.trim(), honorific: form.honorific.value.trim(),
    phone: form.phone.value.trim() };
  if (form.preferred.value) body.preferred = form.preferred.value;
  try {
    const kept = await api("POST", "/walk-ins", body);
    toast(t("walkin.kept", { who: kept.salutation }), "ok");
    form.reset();
    $("#walk-in").hidden = true;
    scheduleRefresh(0);
  } catch (err) {
    error.textContent = walkInRefusal(err);
    error.hidden = false;
  }
}

function renderCallbacks() {
  const list = $("#callbacks");
  list.replaceChildren();
  $("#walk-in-button").disabled = !canAct();
  const waiting = ((state.walkIns && state.walkIns.walk_ins) || [])
    .filter((w) => w.status === "waiting");
  if (!waiting.length) {
    list.append(el("li", "muted", t("callbacks.none")));
    return;
  }
  for (const walkIn of waiting) list.append(callback(walkIn));
}

function callback(walkIn) {
  const li = el("li");
  li.dataset.walkIn = walkIn.id;
  const who = walkIn.surname || walkIn.honorific ? walkIn.salutation : t("callbacks.nameless");
  li.append(el("strong", "", [who, walkIn.phone].filter(Boolean).join(" · ")));
  const facts = [t("callbacks.came", { at: hhmm(walkIn.at) })];
  if (walkIn.preferred) facts.push(t("callbacks.prefers", { at: dayTime(walkIn.preferred) }));
  li.append(el("div", "muted", facts.join(" · ")));
  if (!canAct()) return li;
  const box = el("div", "actions");
  const error = el("p", "error");
  const take = el("button", "primary take");
  take.type = "button";
  // A refusal survives the live refresh that redraws the list (kept per walk-in).
  const show = (refused) => {
    error.hidden = !refused;
    take.hidden = !(refused && refused.free);
    if (!refused) return;
    error.textContent = refused.text;
    if (refused.free) {
      take.textContent = t("book.take", { at: whenText(refused.free) });
      take.onclick = () => bookAt(refused.free);
    }
  };
  const bookAt = async (start) => {
    delete state.callbackRefusals[walkIn.id];
    show(null);
    try {
      const booked = await api("POST", `/walk-ins/${walkIn.id}/book`, start ? { start } : {});
      toast(t("callbacks.booked", { guest: booked.visit.salutation,
        at: dayTime(booked.visit.start) }), "ok");
    } catch (err) {
      const refused = { text: refusalText(err), free: err.status === 409 ? err.body.next_free : null };
      state.callbackRefusals[walkIn.id] = refused;
      show(refused);
    }
    scheduleRefresh(0);
  };
  show(state.callbackRefusals[walkIn.id]);
  const book = el("button", "primary book",
    walkIn.preferred ? t("callbacks.book", { at: dayTime(walkIn.preferred) }) : t("callbacks.book.at"));
  book.type = "button";
  if (walkIn.preferred) {
    book.onclick = () => bookAt(null);
    box.append(book);
  } else {
    const when = el("input");
    when.type = "datetime-local";
    when.name = "callback-start";
    book.onclick = () => bookAt(when.value || null);
    box.append(when, book);
  }
  li.append(box, error, take);
  return li;
}

function initWalkIns() {
  $("#walk-in-button").addEventListener("click", walkIn);
  $("#walk-in-close").addEventListener("click", () => { $("#walk-in").hidden = true; });
  $("#walk-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    keepWalkIn(event.target);
  });
}
