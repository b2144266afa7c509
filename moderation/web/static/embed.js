/*
 * The comment form for a site's article pages. No dependencies, no inline code or styles (it runs
 * under a strict Content-Security-Policy); include it once per form:
 *
 *   <script src="https://MODERATION-HOST/embed.js" data-key="mk_pub_..." data-article="ARTICLE-ID"
 *           data-target="#comments" defer></script>
 *
 * data-key      the site's publishable key (required); works only from the site's allowed origins
 * data-article  the article's id, sent as `article_id` (required)
 * data-target   CSS selector of the element the form goes into (default: right after the script).
 *               If that element holds a <form> with a <textarea name="text">, that form is used
 *               (enhanced) instead of rendering one; a field named "name" is the author's name.
 * data-lang     "de" (default) or "en": the language of everything the reader is shown
 * data-author   the reader's id on the site, if they are logged in (default: a random id kept in
 *               the browser, so per-author limits work for anonymous readers)
 * data-api      the moderation service's base URL (default: where this script was loaded from)
 *
 * The reader is told "wird geprüft" / "veröffentlicht" / "nicht veröffentlicht" in a live region,
 * with the reason the service gives for a held or rejected comment (`reader_reason`). While the
 * comment is pending, its status is asked for again with growing pauses, for a few minutes at most.
 */
(function () {
  "use strict";

  var MAX_CHARS = 10000;
  var WAIT_MS = 2000;
  var POLL_FIRST_MS = 1500;
  var POLL_MAX_MS = 30000;
  var POLL_GIVE_UP_MS = 5 * 60 * 1000;
  var AUTHOR_KEY = "moderation-embed-author";

  var TEXT = {
    de: {
      name: "Name",
      comment: "Ihr Kommentar",
      hint: "Kommentare werden vor der Veröffentlichung automatisch geprüft.",
      submit: "Kommentar absenden",
      sending: "Ihr Kommentar wird gesendet …",
      pending: "Ihr Kommentar wird geprüft.",
      held: "Ihr Kommentar wird vor der Veröffentlichung von der Redaktion geprüft.",
      approved: "Ihr Kommentar wurde veröffentlicht.",
      rejected: "Ihr Kommentar wurde nicht veröffentlicht.",
      stillPending: "Die Prüfung dauert länger als üblich. Sie müssen nichts weiter tun.",
      empty: "Bitte schreiben Sie zuerst einen Kommentar.",
      tooLong: "Ihr Kommentar ist zu lang: höchstens {max} Zeichen, er hat {count}.",
      invalid: "Der Kommentar konnte nicht angenommen werden. Bitte prüfen Sie Ihre Eingaben.",
      tooMany: "Zu viele Kommentare in kurzer Zeit. Bitte versuchen Sie es in {seconds} Sekunden noch einmal.",
      notAllowed: "Das Kommentarformular ist auf dieser Seite nicht freigeschaltet.",
      unavailable: "Die Kommentarprüfung ist gerade nicht erreichbar. Bitte versuchen Sie es später noch einmal.",
      offline: "Keine Verbindung zum Kommentardienst. Bitte versuchen Sie es später noch einmal.",
      count: "{count} von {max} Zeichen"
    },
    en: {
      name: "Name",
      comment: "Your comment",
      hint: "Comments are checked automatically before they are published.",
      submit: "Post comment",
      sending: "Sending your comment …",
      pending: "Your comment is being reviewed.",
      held: "Your comment will be reviewed by our editors before it is published.",
      approved: "Your comment has been published.",
      rejected: "Your comment was not published.",
      stillPending: "The review is taking longer than usual. There is nothing more you need to do.",
      empty: "Please write a comment first.",
      tooLong: "Your comment is too long: at most {max} characters, it has {count}.",
      invalid: "The comment could not be accepted. Please check what you entered.",
      tooMany: "Too many comments in a short time. Please try again in {seconds} seconds.",
      notAllowed: "The comment form is not enabled on this page.",
      unavailable: "Comment review is unavailable right now. Please try again later.",
      offline: "No connection to the comment service. Please try again later.",
      count: "{count} of {max} characters"
    }
  };

  var counter = 0;

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return String(values[key]);
    });
  }

  function chars(text) {
    return Array.from(text).length; // the service counts code points, as Python does
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function randomId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function authorId(given) {
    if (given) return given;
    try {
      var kept = window.localStorage.getItem(AUTHOR_KEY);
      if (kept) return kept;
      kept = "reader-" + randomId();
      window.localStorage.setItem(AUTHOR_KEY, kept);
      return kept;
    } catch (e) {
      return "reader-" + randomId(); // storage blocked: a new id per page view
    }
  }

  function render(target, t) {
    var n = ++counter;
    var form = el("form", { "class": "moderation-embed__form", novalidate: "" });
    var nameRow = el("p", { "class": "moderation-embed__field" });
    nameRow.appendChild(el("label", { "for": "moderation-name-" + n }, t.name));
    nameRow.appendChild(el("input", {
      id: "moderation-name-" + n, name: "name", type: "text", autocomplete: "nickname", maxlength: "200"
    }));
    var textRow = el("p", { "class": "moderation-embed__field" });
    textRow.appendChild(el("label", { "for": "moderation-text-" + n }, t.comment));
    textRow.appendChild(el("textarea", {
      id: "moderation-text-" + n, name: "text", rows: "5", required: "",
      "aria-describedby": "moderation-hint-" + n + " moderation-count-" + n
    }));
    form.appendChild(nameRow);
    form.appendChild(textRow);
    form.appendChild(el("p", { id: "moderation-hint-" + n, "class": "moderation-embed__hint" }, t.hint));
    form.appendChild(el("p", { id: "moderation-count-" + n, "class": "moderation-embed__count" }));
    form.appendChild(el("button", { type: "submit", "class": "moderation-embed__submit" }, t.submit));
    target.appendChild(form);
    return form;
  }

  function Embed(script) {
    var data = script.dataset;
    this.lang = data.lang === "en" ? "en" : "de";
    this.t = TEXT[this.lang];
    this.key = data.key || "";
    this.article = data.article || "";
    this.author = authorId(data.author);
    this.api = (data.api || new URL(script.src, document.baseURI).origin).replace(/\/+$/, "");
    var target = data.target ? document.querySelector(data.target) : null;
    if (!target) {
      target = el("div");
      script.parentNode.insertBefore(target, script.nextSibling);
    }
    target.classList.add("moderation-embed");
    target.setAttribute("lang", this.lang);
    var existing = target.querySelector("form");
    this.form = existing && existing.querySelector("textarea[name=text]") ? existing : render(target, this.t);
    this.text = this.form.querySelector("[name=text]");
    this.name = this.form.querySelector("[name=name]");
    this.button = this.form.querySelector("[type=submit]");
    this.count = this.form.querySelector(".moderation-embed__count");
    this.status = el("div", { "class": "moderation-embed__status", role: "status", "aria-live": "polite" });
    this.form.parentNode.insertBefore(this.status, this.form.nextSibling);
    this.busy = false;
    this.poll = null;
    this.form.addEventListener("submit", this.submit.bind(this));
    this.text.addEventListener("input", this.showCount.bind(this));
  }

  Embed.prototype.showCount = function () {
    if (!this.count) return;
    var count = chars(this.text.value.trim());
    this.count.textContent = count > MAX_CHARS * 0.9 ? format(this.t.count, { count: count, max: MAX_CHARS }) : "";
  };

  Embed.prototype.say = function (state, message, reason) {
    this.status.replaceChildren();
    this.status.setAttribute("data-state", state);
    this.status.appendChild(el("p", { "class": "moderation-embed__state" }, message));
    if (reason) this.status.appendChild(el("p", { "class": "moderation-embed__reason" }, reason));
  };

  Embed.prototype.problem = function (message, field) {
    this.say("error", message);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  };

  Embed.prototype.headers = function () {
    return { "Authorization": "Bearer " + this.key, "Content-Type": "application/json" };
  };

  Embed.prototype.submit = function (event) {
    event.preventDefault();
    if (this.busy) return;
    var text = this.text.value.trim();
    this.text.removeAttribute("aria-invalid");
    if (!text) return this.problem(this.t.empty, this.text);
    if (chars(text) > MAX_CHARS) {
      return this.problem(format(this.t.tooLong, { max: MAX_CHARS, count: chars(text) }), this.text);
    }
    var author = { id: this.author };
    var name = this.name ? this.name.value.trim() : "";
    if (name) author.name = name;
    var body = { text: text, article_id: this.article, author: author, external_id: "embed-" + randomId() };
    this.setBusy(true);
    this.stopPolling();
    this.say("sending", this.t.sending);
    var self = this;
    fetch(this.api + "/api/v1/comments?wait=" + WAIT_MS, {
      method: "POST", mode: "cors", credentials: "omit", headers: this.headers(), body: JSON.stringify(body)
    }).then(function (response) {
      return self.answer(response).then(function (comment) {
        // A refused comment stays in the field, so its author can revise it.
        if (comment && comment.status !== "rejected") {
          self.text.value = "";
          self.showCount();
        }
      });
    }).catch(function () {
      self.problem(self.t.offline);
    }).then(function () {
      self.setBusy(false);
    });
  };

  Embed.prototype.setBusy = function (busy) {
    this.busy = busy;
    // aria-disabled rather than disabled: a disabled button would drop the keyboard focus.
    if (this.button) this.button.setAttribute("aria-disabled", busy ? "true" : "false");
  };

  /* Shows what an answer of the comment API means to the reader; resolves to the comment or null. */
  Embed.prototype.answer = function (response) {
    var self = this;
    return response.json().catch(function () { return {}; }).then(function (payload) {
      if (response.ok) {
        self.show(payload, Date.now());
        return payload;
      }
      var error = (payload && payload.error) || {};
      if (response.status === 429) {
        var details = error.details || {};
        var seconds = parseInt(response.headers.get("Retry-After") || details.retry_after || "60", 10);
        self.problem(format(self.t.tooMany, { seconds: seconds }));
      } else if (response.status === 422 || response.status === 413) {
        self.problem(self.t.invalid, self.text);
      } else if (response.status === 401 || response.status === 403) {
        self.problem(self.t.notAllowed);
      } else {
        self.problem(self.t.unavailable);
      }
      return null;
    });
  };

  /* The service's reason for the reader, less its first sentence when that is what the state says. */
  function readerReason(comment, lang, message) {
    var reason = comment.reader_reason || (comment.decision && comment.decision.reader_reason);
    var text = reason ? reason[lang] || reason.de || reason.en || "" : "";
    return text.indexOf(message) === 0 ? text.slice(message.length).trim() : text;
  }

  Embed.prototype.show = function (comment, started) {
    var status = comment.status;
    var message = this.t[status] || this.t.pending;
    this.say(status, message, readerReason(comment, this.lang, message));
    if (status === "pending") this.schedule(comment.id, started, POLL_FIRST_MS);
  };

  Embed.prototype.schedule = function (id, started, delay) {
    var self = this;
    if (Date.now() - started > POLL_GIVE_UP_MS) {
      this.say("pending", this.t.pending, this.t.stillPending);
      return;
    }
    this.poll = window.setTimeout(function () {
      fetch(self.api + "/api/v1/comments/" + encodeURIComponent(id), {
        method: "GET", mode: "cors", credentials: "omit", headers: { "Authorization": "Bearer " + self.key }
      }).then(function (response) {
        if (response.status === 429 || response.status >= 500) throw new Error("retry later");
        return response.ok ? response.json() : null;
      }).then(function (comment) {
        if (!comment) {
          self.problem(self.t.notAllowed);
        } else if (comment.status === "pending") {
          self.schedule(id, started, Math.min(delay * 2, POLL_MAX_MS));
        } else {
          self.show(comment, started);
        }
      }).catch(function () {
        self.schedule(id, started, Math.min(delay * 2, POLL_MAX_MS));
      });
    }, delay);
  };

  Embed.prototype.stopPolling = function () {
    if (this.poll !== null) window.clearTimeout(this.poll);
    this.poll = null;
  };

  var script = document.currentScript ||
    document.querySelector("script[data-key][src$='/embed.js']");
  if (script) new Embed(script);
})();
