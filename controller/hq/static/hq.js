// The head-office page: every site's now (read again every few seconds), a search over all
// sites' visits, and a booking at any site that waits for the site's reply. It stands on the
// concierge page's i18n.js (WORDS, I18N), base.js (api, el, toast, hhmm, state) and signin.js
// (login, logout, setLive, initPage).
"use strict";

const POLL_MS = 3000; // every site's now: summaries come every minute, events any time
const BOOKING_POLL_MS = 1000; // a sent request, until the site answers

Object.assign(WORDS.zh, {
  "hq.title": "总部 · 各案场", "hq.sites": "各案场现在", "hq.book": "为案场预约",
  "hq.site": "案场", "hq.start": "时间（案场当地）", "hq.search": "查找接待", "hq.all": "全部",
  "hq.date": "日期", "hq.find": "查找", "hq.none": "没有找到接待",
  "hq.current": "当前：{guest}", "hq.no_current": "当前无接待", "hq.next": "下一位：{guest} {at}",
  "hq.no_next": "暂无预约", "hq.trouble": "设备异常：{list}", "hq.heard": "最近消息 {at}",
  "hq.silent": "已 {n} 分钟没有消息", "hq.never": "尚未收到消息",
  "hq.link.up": "链路正常", "hq.link.down": "链路中断", "hq.link.unknown": "链路未知",
  "hq.waiting": "已发送，等待案场答复…",
  "hq.link_down": "链路中断：案场恢复连接后会答复",
  "hq.booked": "已预约：{guest} {at}（{site}）",
  "hq.refused": "案场拒绝：{reason}",
  "hq.collides": "与{guest}的接待（{from}–{to}）冲突；最早可约 {free}",
  "hq.take": "改约到 {at}",
});
Object.assign(WORDS.en, {
  "hq.title": "Head office · sites", "hq.sites": "Every site now", "hq.book": "Book at a site",
  "hq.site": "Site", "hq.start": "Start (site's local time)", "hq.search": "Find visits",
  "hq.all": "All", "hq.date": "Date", "hq.find": "Find", "hq.none": "No visits found",
  "hq.current": "Now: {guest}", "hq.no_current": "No visit now", "hq.next": "Next: {guest} {at}",
  "hq.no_next": "Nothing booked", "hq.trouble": "Devices in trouble: {list}",
  "hq.heard": "Last heard {at}", "hq.silent": "Not heard from for {n} min",
  "hq.never": "Not heard from yet",
  "hq.link.up": "Link up", "hq.link.down": "Link down", "hq.link.unknown": "Link unknown",
  "hq.waiting": "Sent, waiting for the site…",
  "hq.link_down": "The link is down: the site will answer when it returns",
  "hq.booked": "Booked: {guest} {at} ({site})",
  "hq.refused": "The site refused: {reason}",
  "hq.collides": "Collides with {guest} ({from}–{to}); next free start {free}",
  "hq.take": "Book at {at}",
});

const hq = { sites: [], booking: null, bookingTimer: null, pollTimer: null };

// --- signing in -------------------------------------------------------------------------------

function showLogin() {
  clearTimeout(hq.pollTimer);
  showSignIn();
}

async function start() {
  if (!await signedIn()) return;
  $("#book-card").hidden = !canAct();
  await poll();
}

// --- every site's now -------------------------------------------------------------------------

async function poll() {
  clearTimeout(hq.pollTimer);
  if (!state.me) return;
  try {
    hq.sites = await api("GET", "/sites");
    setLive("on");
    renderSites();
  } catch (err) {
    if (err.status === 401) return;
    setLive("off");
  }
  hq.pollTimer = setTimeout(poll, POLL_MS);
}

const guest = (visit) => (visit ? visit.salutation : "");
const when = (iso) => (iso ? `${iso.slice(5, 10)} ${hhmm(iso)}` : "");

function renderSites() {
  const list = $("#sites");
  list.replaceChildren();
  for (const site of hq.sites) {
    const li = el("li");
    li.dataset.site = site.site;
    const head = el("div", "head");
    head.append(el("span", "name", site.name));
    const link = site.link_up === true ? "up" : site.link_up === false ? "down" : "unknown";
    const badge = el("span", `badge linkstate ${link}`, t(`hq.link.${link}`));
    head.append(badge);
    li.append(head);
    li.append(el("div", "line current", site.current
      ? t("hq.current", { guest: guest(site.current) }) : t("hq.no_current")));
    const next = site.next && site.next[0];
    li.append(el("div", "line next", next
      ? t("hq.next", { guest: guest(next), at: when(next.start) }) : t("hq.no_next")));
    if (site.devices_in_trouble.length) {
      const names = site.devices_in_trouble.map((d) => `${d.device_id} (${d.problem})`).join(", ");
      li.append(el("div", "line trouble", t("hq.trouble", { list: names })));
    }
    const heard = !site.heard ? t("hq.never")
      : site.stale ? t("hq.silent", { n: site.silent_minutes }) : t("hq.heard", { at: hhmm(site.last_heard, true) });
    li.append(el("div", `line heard ${site.stale ? "stale" : ""}`, heard));
    list.append(li);
  }
  fillSiteChoices();
}

function fillSiteChoices() {
  for (const select of [$("#book-form [name=site]"), $("#search-form [name=site]")]) {
    const have = new Set([...select.options].map((o) => o.value));
    for (const site of hq.sites) {
      if (!have.has(site.site)) select.append(new Option(site.name, site.site));
    }
  }
}

// --- the search ---------------------------------------------------------------------------------

async function search(event) {
  if (event) event.preventDefault();
  const form = $("#search-form");
  const params = new URLSearchParams({ q: form.q.value.trim() });
  if (form.site.value) params.set("site", form.site.value);
  if (form.date.value) {
    const from = new Date(`${form.date.value}T00:00`);
    params.set("since", from.toISOString());
    params.set("until", new Date(from.getTime() + 24 * 3600 * 1000).toISOString());
  }
  const found = await api("GET", `/visits?${params}`);
  const list = $("#results");
  list.replaceChildren();
  if (!found.visits.length) list.append(el("li", "muted", t("hq.none")));
  for (const visit of found.visits) {
    const li = el("li");
    li.dataset.visit = visit.visit_id;
    const head = el("div", "head");
    head.append(el("strong", "", visit.salutation));
    head.append(el("span", `badge ${visit.status}`, visit.status));
    li.append(head);
    const site = hq.sites.find((s) => s.site === visit.site);
    li.append(el("div", "muted", `${site ? site.name : visit.site} · ${when(visit.start)}–${hhmm(visit.end)}`));
    list.append(li);
  }
}

// --- booking at a site --------------------------------------------------------------------------

async function book(event, start) {
  if (event) event.preventDefault();
  const form = $("#book-form");
  if (start) form.start.value = start;
  const body = { site: form.site.value, visit: {
    surname: form.surname.value.trim(), honorific: form.honorific.value.trim(),
    start: form.start.value, duration: Number(form.duration.value),
    party_size: Number(form.party_size.value) } };
  try {
    showBooking(await api("POST", "/bookings", body));
  } catch (err) {
    toast(err.message, "bad");
  }
}

function showBooking(booking) {
  hq.booking = booking;
  clearTimeout(hq.bookingTimer);
  const box = $("#booking");
  box.hidden = false;
  box.dataset.state = booking.state;
  const take = box.querySelector(".take");
  take.hidden = true;
  let text = t(`hq.${booking.state}`);
  if (booking.state === "booked" && booking.visit) {
    const site = hq.sites.find((s) => s.site === booking.site);
    text = t("hq.booked", { guest: booking.visit.salutation, at: when(booking.visit.start),
                            site: site ? site.name : booking.site });
  } else if (booking.state === "refused") {
    const c = booking.collision;
    text = c && booking.next_free
      ? t("hq.collides", { guest: c.salutation, from: hhmm(c.start), to: hhmm(c.end), free: when(booking.next_free) })
      : t("hq.refused", { reason: booking.error || "" });
    if (booking.next_free) {
      take.hidden = false;
      take.textContent = t("hq.take", { at: when(booking.next_free) });
      take.onclick = () => book(null, siteLocal(booking.next_free));
    }
  }
  box.querySelector(".what").textContent = text;
  if (booking.state === "waiting" || booking.state === "link_down") {
    hq.bookingTimer = setTimeout(async () => {
      try { showBooking(await api("GET", `/bookings/${encodeURIComponent(booking.request_id)}`)); }
      catch (err) { if (err.status !== 401) showBooking(booking); }
    }, BOOKING_POLL_MS);
  }
}

// The site's own wall-clock time of an ISO time with its offset: what the form's start means.
const siteLocal = (iso) => iso.slice(0, 16);

function init() {
  initPage(() => {
    renderSites();
    if (hq.booking) showBooking(hq.booking);
  });
  $("#book-form").addEventListener("submit", (event) => book(event));
  $("#search-form").addEventListener("submit", search);
  start().then(() => { if (!state.me) showLogin(); });
}

init();
