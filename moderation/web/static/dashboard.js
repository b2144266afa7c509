/* Moderator dashboard: keyboard shortcuts, in-place actions with undo, live held queue.
   Plain JavaScript, no build step. Every action is an ordinary form, so the page also works without it. */
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf;
  const queue = document.querySelector(".queue");
  const i18n = document.getElementById("i18n");
  const toast = document.querySelector(".toast");
  const help = document.querySelector("dialog.help");
  let lastUndo = null;
  let toastTimer = null;
  let rejecting = null;

  const cards = () => Array.from(document.querySelectorAll("#new-cards .card, #cards .card"));
  const active = () => document.querySelector(".card.active");

  function activate(card) {
    const current = active();
    if (current) current.classList.remove("active");
    if (!card) return;
    card.classList.add("active");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
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
    const seconds = Number(queue ? queue.dataset.undoSeconds : 10) || 10;
    toastTimer = setTimeout(function () { toast.hidden = true; lastUndo = null; }, seconds * 1000);
  }

  function updateCounts(counts) {
    if (!counts) return;
    document.querySelectorAll("[data-count]").forEach(function (el) {
      if (el.dataset.count in counts) el.textContent = counts[el.dataset.count];
    });
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

  async function decide(card, action, reason) {
    const form = card.querySelector("form.card-actions");
    const data = new FormData(form);
    data.set("action", action);
    if (reason) data.set("reason_code", reason);
    try {
      // getAttribute: `form.action` would be the button named "action"
      const result = await post(form.getAttribute("action"), data);
      const list = cards();
      const index = list.indexOf(card);
      card.remove();
      activate(cards()[Math.min(index, cards().length - 1)] || null);
      const counter = document.querySelector('[data-count="held"]');
      if (counter && queue && queue.dataset.queue === "held") {
        counter.textContent = Math.max(0, Number(counter.textContent) - result.decided);
      }
      showToast(result.message, result.undo_url);
    } catch (error) {
      showToast(error.message || i18n.dataset.failed, null);
    }
  }

  async function undo() {
    if (!lastUndo) return;
    const data = new FormData();
    data.set("csrf_token", csrf);
    try {
      const result = await post(lastUndo, data);
      showToast(result.message, null);
      window.location.reload();
    } catch (error) {
      showToast(error.message, null);
    }
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

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const typing = target.closest && target.closest("input, select, textarea, [contenteditable]");
    if (event.key === "Escape") { cancel(); if (typing) target.blur(); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey || !queue) return;
    if (rejecting) {
      if (/^[1-7]$/.test(event.key)) { event.preventDefault(); pickReason(Number(event.key)); }
      return;
    }
    const card = active();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": if (card) decide(card, "approve"); break;
      case "r": if (card) startReject(card); break;
      case "x":
        if (card) { const box = card.querySelector(".pick"); box.checked = !box.checked; updateSelection(); }
        break;
      case "u": undo(); break;
      case "o": if (card) window.location.href = card.querySelector(".card-title a").href; break;
      case "?": if (help) help.showModal(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.classList.contains("card-actions")) return;
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "approve";
    const card = form.closest(".card");
    activate(card);
    if (action === "reject") startReject(card); else decide(card, action);
  });

  document.addEventListener("click", function (event) {
    const card = event.target.closest(".card");
    if (card && !event.target.closest("a, button, input, select, label")) activate(card);
    if (event.target.closest(".toast .undo")) undo();
    if (event.target.closest(".help-open") && help) help.showModal();
  });

  document.addEventListener("change", function (event) {
    if (event.target.classList.contains("pick-page")) {
      document.querySelectorAll("#cards .pick").forEach(function (box) { box.checked = event.target.checked; });
    }
    updateSelection();
  });

  /* Live queue: new held comments are fetched every few seconds and shown above the page. */
  if (queue && queue.dataset.queue === "held" && !new URLSearchParams(location.search).get("cursor")) {
    let since = queue.dataset.since;
    const interval = Number(queue.dataset.poll) || 10000;
    const seen = new Set(cards().map(function (c) { return c.dataset.id; }));
    setInterval(async function () {
      if (document.hidden) return;
      const url = queue.dataset.updates + (queue.dataset.updates.includes("?") ? "&" : "?") +
        "since=" + encodeURIComponent(since);
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) return;
        const body = await response.json();
        since = body.now;
        updateCounts(body.counts);
        if (!body.count) return;
        const holder = document.createElement("div");
        holder.innerHTML = body.html;  // server-rendered and escaped by Jinja, same as the page itself
        const target = document.getElementById("new-cards");
        Array.from(holder.querySelectorAll(".card")).reverse().forEach(function (card) {
          if (seen.has(card.dataset.id)) return;
          seen.add(card.dataset.id);
          card.classList.add("new");
          target.prepend(card);
        });
        const empty = document.querySelector("#cards .empty");
        if (empty) empty.remove();
      } catch (error) { /* the next poll tries again */ }
    }, interval);
  }
})();
