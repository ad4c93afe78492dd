// What every vipctl page does the same way: signing in and out, the live indicator, and the
// language switch. Each page defines its own start() (after signing in) and showLogin().
"use strict";

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

function setLive(which) {
  const node = $("#live");
  node.dataset.state = which;
  node.dataset.i18n = `live.${which}`;
  node.textContent = t(`live.${which}`);
}

// The sign-in form in place of the app view (nobody signed in, or the session ended).
function showSignIn() {
  state.me = null;
  $("#app-view").hidden = true;
  $("#logout").hidden = true;
  $("#live").hidden = true;
  $("#who").textContent = "";
  $("#login-view").hidden = false;
}

// Whether a credential is signed in; if so, the page's app view shown in place of the form.
async function signedIn() {
  try {
    state.me = await api("GET", "/auth/me");
  } catch (err) {
    if (err.status !== 401) toast(err.message, "bad");
    return false;
  }
  $("#login-view").hidden = true;
  $("#app-view").hidden = false;
  $("#live").hidden = false;
  $("#logout").hidden = state.me.via !== "session";
  showWho();
  return true;
}

function showWho() {
  if (state.me) $("#who").textContent = `${state.me.name} · ${t(`role.${state.me.role}`)}`;
}

// The language saved on this browser, the sign-in form and buttons wired; `rerender` redraws
// what the page drew itself in the other language.
function initPage(rerender) {
  try { window.I18N.lang = localStorage.getItem("vipctl.lang") || "zh"; } catch (err) { /* default */ }
  window.I18N.apply();
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#lang").addEventListener("click", () => {
    window.I18N.lang = window.I18N.lang === "zh" ? "en" : "zh";
    try { localStorage.setItem("vipctl.lang", window.I18N.lang); } catch (err) { /* private mode */ }
    window.I18N.apply();
    showWho();
    if (state.me) rerender();
  });
}
