// The preflight on the page: the focused visit's device problems in red, and a re-check
// button (POST /visits/{id}/preflight). Self-contained: it draws into a box of its own in
// the "now" card, after every render of the page, reading GET /visits/{id}/preflight when
// the focused visit changes, when a preflight event may have come, or at most every few
// seconds.
"use strict";

const PREFLIGHT_WORDS = {
  zh: { ok: "设备预检：全部正常（{at}）", recheck: "重新检查", checkNow: "现在检查",
        checking: "检查中…", problems: "设备预检发现 {n} 个问题（{at}）",
        notYet: "设备预检：尚未检查" },
  en: { ok: "Preflight: all devices fine ({at})", recheck: "Re-check", checkNow: "Check now",
        checking: "Checking…", problems: "Preflight: {n} problem(s) ({at})",
        notYet: "Preflight: not checked yet" },
};
const PREFLIGHT_EVERY_MS = 3000;
const preflight = { visitId: null, readAt: 0, report: null, busy: false };

function preflightWord(key, params) {
  const table = PREFLIGHT_WORDS[window.I18N.lang] || PREFLIGHT_WORDS.zh;
  let text = table[key];
  for (const [name, value] of Object.entries(params || {})) text = text.split(`{${name}}`).join(String(value));
  return text;
}

function preflightBox() {
  let box = document.getElementById("preflight");
  if (!box) {
    box = el("div", "preflight");
    box.id = "preflight";
    const card = document.getElementById("now-card");
    const buttons = document.getElementById("buttons");
    if (card && buttons) card.insertBefore(box, buttons); else if (card) card.append(box);
  }
  return box;
}

function drawPreflight() {
  const box = preflightBox();
  box.replaceChildren();
  const report = preflight.report;
  if (!preflight.visitId || !report) { box.hidden = true; return; }
  box.hidden = false;
  const problems = report.problems || [];
  const at = report.checked_at ? hhmm(report.checked_at, true) : "";
  box.classList.toggle("bad", problems.length > 0);
  box.classList.toggle("unchecked", !report.checked_at);
  const head = el("p", "preflight-head", !report.checked_at ? preflightWord("notYet")
    : problems.length ? preflightWord("problems", { n: problems.length, at })
      : preflightWord("ok", { at }));
  box.append(head);
  if (problems.length) {
    const list = el("ul", "preflight-problems");
    for (const p of problems) list.append(el("li", `problem ${p.problem}`, p.text));
    box.append(list);
  }
  const label = preflight.busy ? "checking" : report.checked_at ? "recheck" : "checkNow";
  const again = el("button", "recheck", preflightWord(label));
  again.type = "button";
  again.disabled = preflight.busy || !canAct();
  again.addEventListener("click", recheck);
  box.append(again);
}

async function readPreflight(visitId) {
  preflight.readAt = Date.now();
  try {
    const report = await api("GET", `/visits/${encodeURIComponent(visitId)}/preflight`);
    if (preflight.visitId === visitId) preflight.report = report;
  } catch (err) { /* the next render tries again */ }
  drawPreflight();
}

async function recheck() {
  const visitId = preflight.visitId;
  if (!visitId || preflight.busy) return;
  preflight.busy = true;
  drawPreflight();
  try {
    preflight.report = await api("POST", `/visits/${encodeURIComponent(visitId)}/preflight`);
  } catch (err) {
    toast(err.message, "bad");
  }
  preflight.busy = false;
  drawPreflight();
}

const renderWithoutPreflight = render;
// eslint-disable-next-line no-global-assign -- the page's render, followed by ours
render = function renderWithPreflight() {
  renderWithoutPreflight();
  const focus = state.status && focusVisit();
  const visitId = focus && !isOver(focus.status) ? focus.id : null;
  if (visitId !== preflight.visitId) {
    Object.assign(preflight, { visitId, report: null, readAt: 0 });
  }
  if (visitId && Date.now() - preflight.readAt > PREFLIGHT_EVERY_MS) readPreflight(visitId);
  else drawPreflight();
};
