/* Moderator dashboard: keyboard shortcuts, in-place actions with undo, folded texts, live held queue.
   Plain JavaScript, no build step. Every action is an ordinary form, so the page also works without it. */
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf;
  const queue = document.querySelector(".queue");
  const single = document.getElementById("card-area");  // the comment page (/comments/<id>)
  const i18n = document.getElementById("i18n");
  const toast = document.querySelector(".toast");
  const help = document.querySelector("dialog.help");
  const VIEW_KEY = "moderation.queue-view";
  const RESTORED_KEY = "moderation.restored";
  let lastUndo = null;
  let toastTimer = null;
  let rejecting = null;

  const cards = () => Array.from(document.querySelectorAll("#new-cards .card, #cards .card, #card-area .card"));
  const active = () => document.querySelector(".card.active");

  function activate(card, scroll) {
    const current = active();
    if (current) current.classList.remove("active");
    if (!card) return;
    card.classList.add("active");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: scroll || "nearest" });
  }

  function move(step) {
    const list = cards();
    if (!list.length) return;
    const index = list.indexOf(active());
    const next = index < 0 ? 0 : Math.min(list.length - 1, Math.max(0, index + step));
    activate(list[next]);
  }

  function showToast(text, undoUrl) {
    if (!toast) return;
    toast.querySelector(".toast-text").textContent = text;
    toast.querySelector(".undo").hidden = !undoUrl;
    toast.hidden = false;
    lastUndo = undoUrl;
    clearTimeout(toastTimer);
    const seconds = Number(document.body.dataset.undoSeconds) || 10;
    toastTimer = setTimeout(function () { toast.hidden = true; lastUndo = null; }, seconds * 1000);
  }

  function updateCounts(counts) {
    if (!counts) return;
    document.querySelectorAll("[data-count]").forEach(function (el) {
      if (el.dataset.count in counts) el.textContent = counts[el.dataset.count];
    });
  }

  let localChanges = 0;  // counts changed here since a poll began: its counts are older, so not shown

  function countDown(decided) {
    localChanges += 1;
    const counter = document.querySelector('[data-count="held"]');
    if (counter && queue && queue.dataset.queue === "held") {
      counter.textContent = Math.max(0, Number(counter.textContent) - decided);
    }
  }

  async function post(url, data) {
    const response = await fetch(url, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json", "X-Requested-With": "fetch", "X-CSRFToken": csrf },
      credentials: "same-origin",
    });
    const body = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
    return body;
  }

  /* The comment page after a decision or an undo: the card, its decisions and its audit trail are
     taken from a fresh copy of the page, so they show what is stored now. */
  async function refreshSingle() {
    const response = await fetch(location.pathname, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    ["card-area", "history"].forEach(function (id) {
      const now = document.getElementById(id);
      const then = fresh.getElementById(id);
      if (now && then) now.innerHTML = then.innerHTML;
    });
    const card = document.querySelector("#card-area .card");
    if (card) { card.classList.add("restored"); activate(card); }
  }

  async function decide(card, action, reason) {
    const form = card.querySelector("form.card-actions");
    const data = new FormData(form);
    data.set("action", action);
    if (reason) data.set("reason_code", reason);
    try {
      // getAttribute: `form.action` would be the button named "action"
      const result = await post(form.getAttribute("action"), data);
      if (single) {
        await refreshSingle();
      } else {
        const index = cards().indexOf(card);
        card.remove();
        activate(cards()[Math.min(index, cards().length - 1)] || null);
        countDown(result.decided);
      }
      showToast(result.message, result.undo_url);
    } catch (error) {
      showToast(error.message || i18n.dataset.failed, null);
    }
  }

  async function decideSelected(form, action) {
    const picked = Array.from(document.querySelectorAll(".pick:checked"));
    if (!picked.length) { showToast(i18n.dataset.selectFirst, null); return; }
    const data = new FormData(form);
    data.set("action", action);
    try {
      const result = await post(form.getAttribute("action"), data);
      const list = cards();
      const first = list.indexOf(picked[0].closest(".card"));
      picked.forEach(function (box) { const card = box.closest(".card"); if (card) card.remove(); });
      const pageBox = document.querySelector(".pick-page");
      if (pageBox) pageBox.checked = false;
      updateSelection();
      activate(cards()[Math.min(Math.max(first, 0), cards().length - 1)] || null);
      countDown(result.decided);
      showToast(result.message, result.undo_url);
    } catch (error) {
      showToast(error.message || i18n.dataset.failed, null);
    }
  }

  async function undo() {
    const url = lastUndo || flashUndoUrl();
    if (!url) return;
    lastUndo = null;
    const data = new FormData();
    data.set("csrf_token", csrf);
    try {
      const result = await post(url, data);
      const flashed = document.querySelector(".flash .undo-form");
      if (flashed) flashed.remove();
      showToast(result.message, null);
      if (single) { await refreshSingle(); return; }
      // The restored cards are rendered by the server again; they are shown once the page is back.
      sessionStorage.setItem(RESTORED_KEY, JSON.stringify({ ids: result.comment_ids || [], message: result.message }));
      window.location.reload();
    } catch (error) {
      showToast(error.message, null);
    }
  }

  function flashUndoUrl() {
    const form = document.querySelector(".flash .undo-form");
    return form ? form.getAttribute("action") : null;
  }

  function showRestored() {
    let restored = null;
    try { restored = JSON.parse(sessionStorage.getItem(RESTORED_KEY) || "null"); } catch (error) { restored = null; }
    sessionStorage.removeItem(RESTORED_KEY);
    if (!restored) return;
    const ids = new Set(restored.ids || []);
    const found = cards().filter(function (card) { return ids.has(card.dataset.id); });  // in page order
    found.forEach(function (card) { card.classList.add("restored"); });
    if (found.length) activate(found[0], "center");
    if (restored.message) showToast(restored.message, null);
  }

  function startReject(card) {
    const select = card.querySelector("select.reason");
    if (select && select.value) { decide(card, "reject", select.value); return; }
    rejecting = card;
    card.classList.add("rejecting");
    showToast(i18n.dataset.pickReason, null);
  }

  function pickReason(digit) {
    const card = rejecting;
    rejecting = null;
    card.classList.remove("rejecting");
    const option = card.querySelectorAll("select.reason option")[digit];
    if (option && option.value) decide(card, "reject", option.value);
  }

  function cancel() {
    if (rejecting) { rejecting.classList.remove("rejecting"); rejecting = null; }
    if (toast) toast.hidden = true;
  }

  function updateSelection() {
    const picked = document.querySelectorAll(".pick:checked").length;
    const label = document.querySelector(".selected-count");
    if (label) label.textContent = picked ? String(picked) + " ✓" : "";
  }

  /* "show more" and "all scores": a button with aria-expanded controlling the element it names. */
  function toggle(button, open) {
    if (!button) return;
    const target = document.getElementById(button.getAttribute("aria-controls"));
    if (!target) return;
    const expand = open === undefined ? button.getAttribute("aria-expanded") !== "true" : open;
    button.setAttribute("aria-expanded", String(expand));
    target.hidden = !expand;
    if (button.classList.contains("more")) {
      const short = document.getElementById(target.id + "-short");
      if (short) short.hidden = expand;
      button.textContent = expand ? button.dataset.less : button.dataset.more;
      const size = button.parentElement.querySelector(".more-size");
      if (size) size.hidden = expand;
    }
  }

  function setView(roomy) {
    document.body.classList.toggle("roomy", roomy);
    const button = document.querySelector(".view-toggle");
    if (button) button.setAttribute("aria-pressed", String(roomy));
    document.querySelectorAll(".card.dense .scores-toggle").forEach(function (b) { toggle(b, roomy); });
    try { localStorage.setItem(VIEW_KEY, roomy ? "roomy" : "dense"); } catch (error) { /* private mode */ }
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const typing = target.closest && target.closest("input, select, textarea, [contenteditable]");
    if (event.key === "Escape") { cancel(); if (typing) target.blur(); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey || !(queue || single)) return;
    if (target.closest && target.closest("dialog[open]")) return;
    if (rejecting) {
      if (/^[1-7]$/.test(event.key)) { event.preventDefault(); pickReason(Number(event.key)); }
      return;
    }
    const card = active() || (single && single.querySelector(".card"));
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": if (card) decide(card, "approve"); break;
      case "r": if (card) startReject(card); break;
      case "x":
        if (card) { const box = card.querySelector(".pick"); box.checked = !box.checked; updateSelection(); }
        break;
      case "m": if (card) toggle(card.querySelector("button.more")); break;
      case "s": if (card) toggle(card.querySelector("button.scores-toggle")); break;
      case "u": undo(); break;
      case "o": if (card && !single) window.location.href = card.querySelector(".card-title a").href; break;
      case "?": if (help) help.showModal(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const action = event.submitter ? event.submitter.value : "approve";
    if (form.classList.contains("undo-form")) { event.preventDefault(); undo(); return; }
    if (form.id === "bulk") { event.preventDefault(); decideSelected(form, action); return; }
    if (!form.classList.contains("card-actions")) return;
    event.preventDefault();
    const card = form.closest(".card");
    activate(card);
    if (action === "reject") startReject(card); else decide(card, action);
  });

  document.addEventListener("click", function (event) {
    const card = event.target.closest(".card");
    if (card && !event.target.closest("a, button, input, select, label, textarea, summary")) activate(card);
    const expander = event.target.closest("button.more, button.scores-toggle");
    if (expander) toggle(expander);
    if (event.target.closest(".toast .undo")) undo();
    if (event.target.closest(".help-open") && help) help.showModal();
    if (event.target.closest(".view-toggle")) setView(!document.body.classList.contains("roomy"));
  });

  document.addEventListener("change", function (event) {
    if (event.target.classList.contains("pick-page")) {
      document.querySelectorAll("#cards .pick").forEach(function (box) { box.checked = event.target.checked; });
    }
    updateSelection();
  });

  let roomy = false;
  try { roomy = localStorage.getItem(VIEW_KEY) === "roomy"; } catch (error) { roomy = false; }
  if (queue && roomy) setView(true);
  if (flashUndoUrl()) lastUndo = flashUndoUrl();
  showRestored();

  /* Live queue: new held comments are fetched every few seconds and shown above the page. */
  if (queue && queue.dataset.queue === "held" && !new URLSearchParams(location.search).get("cursor")) {
    let since = queue.dataset.since;
    const interval = Number(queue.dataset.poll) || 10000;
    const seen = new Set(cards().map(function (c) { return c.dataset.id; }));
    setInterval(async function () {
      if (document.hidden) return;
      const url = queue.dataset.updates + (queue.dataset.updates.includes("?") ? "&" : "?") +
        "since=" + encodeURIComponent(since);
      const changesBefore = localChanges;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) return;
        const body = await response.json();
        since = body.now;
        if (changesBefore === localChanges) updateCounts(body.counts);
        if (!body.count) return;
        const holder = document.createElement("div");
        holder.innerHTML = body.html;  // server-rendered and escaped by Jinja, same as the page itself
        const target = document.getElementById("new-cards");
        Array.from(holder.querySelectorAll(".card")).reverse().forEach(function (card) {
          if (seen.has(card.dataset.id)) return;
          seen.add(card.dataset.id);
          card.classList.add("new");
          target.prepend(card);
          if (document.body.classList.contains("roomy")) toggle(card.querySelector(".scores-toggle"), true);
        });
        const empty = document.querySelector("#cards .empty");
        if (empty) empty.remove();
      } catch (error) { /* the next poll tries again */ }
    }, interval);
  }
})();
