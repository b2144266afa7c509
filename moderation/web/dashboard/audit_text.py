"""The audit log in words: each stored event (`AuditEvent.event` and its JSON `data`) as sentences in the
reader's language, with numbers, dates and lists formatted for the locale.

Every value that came from a person or a site (names, words, e-mail addresses, notes, URLs) is escaped
and isolated in `<bdi>`; the sentences around them are the catalogue's. An event or key this version does
not know is shown as "key: value", never as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from babel.lists import format_list
from flask_babel import format_datetime, format_decimal, get_locale, lazy_gettext, ngettext
from flask_babel import gettext as _
from markupsafe import Markup, escape

from moderation.domain.attributes import NAMES
from moderation.web.dashboard import wording

ROLES = {"admin": lazy_gettext("administrator"), "moderator": lazy_gettext("moderator")}


def _say(template: str, **values: Any) -> Markup:
    """A translated sentence (`template`, from `_()` without values) filled with already formatted
    values: plain strings are escaped, Markup is kept."""
    return Markup(escape(template)) % {
        k: v if isinstance(v, Markup) else escape(v) for k, v in values.items()
    }


def _user(value: Any) -> Markup:
    """A value someone typed: escaped and isolated for bidi."""
    return Markup("<bdi>%s</bdi>") % str(value)


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return str(format_decimal(value))


def _words(values: Iterable[Any]) -> Markup:
    items = [str(_user(v)) for v in values]
    if not items:
        return Markup(escape(_("none")))
    # The items are escaped already; the list pattern (", " and " und ") is the locale's own text.
    return Markup(format_list(items, locale=get_locale()))


def _date(value: Any) -> str:
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return str(format_datetime(moment, "medium"))


def _switch(value: Any) -> str:
    return _("on") if value else _("off")


def _value(value: Any) -> Markup:
    """Any stored value, readable: numbers in the locale, lists in words, mappings as "key: value"."""
    if value is None:
        return Markup("–")
    if isinstance(value, bool):
        return Markup(escape(_("yes") if value else _("no")))
    if isinstance(value, int | float):
        return Markup(escape(_number(value)))
    if isinstance(value, list | tuple):
        return _words(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return Markup(", ").join(_pair(k, v) for k, v in value.items())
    return _user(value)


def _plain(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def _pair(key: Any, value: Any) -> Markup:
    return Markup("%s: %s") % (str(key).replace("_", " "), _value(value))


def fallback(data: Mapping[str, Any]) -> list[Markup]:
    """The data of an event this version does not word: "key: value" for every value that is set."""
    return [_pair(k, v) for k, v in data.items() if v not in (None, "", [], {})]


def _change(label: str, before: Markup | None, after: Markup) -> Markup:
    if before is None:
        return _say(_("%(setting)s: %(after)s"), setting=label, after=after)
    return _say(_("%(setting)s: %(before)s → %(after)s"), setting=label, before=before, after=after)


def _threshold(value: Any) -> Markup:
    return Markup(escape(_("off") if value is None else _number(value)))


def _policy_changes(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Markup]:
    """What a policy save changed ("Schwelle für Toxizität (ablehnen): 0,9 → 0,85"); without the previous
    policy (events written before it was recorded) the thresholds and lists that are set."""
    out: list[Markup] = []
    before = old or {}
    new_t, old_t = new.get("thresholds") or {}, before.get("thresholds") or {}
    for attribute in [*NAMES, *(k for k in new_t if k not in NAMES)]:
        for band in ("hold", "reject"):
            value = (new_t.get(attribute) or {}).get(band)
            label = (
                _("Threshold for %(attribute)s (hold)", attribute=wording.attribute_label(attribute))
                if band == "hold"
                else _("Threshold for %(attribute)s (reject)", attribute=wording.attribute_label(attribute))
            )
            if old is None:
                if value is not None:
                    out.append(_change(label, None, _threshold(value)))
                continue
            previous = (old_t.get(attribute) or {}).get(band)
            if previous != value:
                out.append(_change(label, _threshold(previous), _threshold(value)))
    for key, label in (("banned_words", _("Banned words")), ("suspect_words", _("Suspect words"))):
        words, earlier = list(new.get(key) or []), list(before.get(key) or [])
        if old is None:
            if words:
                out.append(_change(label, None, _words(words)))
            continue
        added = [w for w in words if w not in earlier]
        removed = [w for w in earlier if w not in words]
        if added:
            out.append(_say(_("%(setting)s: added %(words)s"), setting=label, words=_words(added)))
        if removed:
            out.append(_say(_("%(setting)s: removed %(words)s"), setting=label, words=_words(removed)))
    settings: list[tuple[str, str, Callable[[Any], str]]] = [
        ("hold_links_from_new_authors", _("Hold links in an author's first comment"), _switch),
        (
            "hold_copies_from_authors",
            _("Hold nearly identical comments from this many other authors"),
            lambda v: _("off") if not v else _number(v),
        ),
        ("fallback_action", _("When the model cannot score"), lambda v: wording.action_label(v)),
        ("score_languages", _("Languages decided by their scores"), _languages),
    ]
    for key, label, show in settings:
        if key not in new:
            continue
        if old is None or key not in before:
            continue
        if before[key] != new[key]:
            out.append(_change(label, Markup(escape(show(before[key]))), Markup(escape(show(new[key])))))
    return out


def _languages(codes: Any) -> str:
    names = [wording.language_label(str(c)) for c in codes or []]
    return ", ".join(names) if names else _("none")


def _policy_changed(data: Mapping[str, Any]) -> list[Markup]:
    policy = data.get("policy")
    out = _policy_changes(policy, data.get("previous")) if isinstance(policy, Mapping) else []
    url, previous_url = data.get("webhook_url"), data.get("previous_webhook_url")
    if "previous_webhook_url" in data:
        if url != previous_url:
            out.append(
                _change(
                    _("Webhook URL"),
                    _user(previous_url) if previous_url else Markup(escape(_("none"))),
                    _user(url) if url else Markup(escape(_("none"))),
                )
            )
    elif url:
        out.append(_change(_("Webhook URL"), None, _user(url)))
    return out or [Markup(escape(_("Policy saved without changes.")))]


def _webhook_changed(data: Mapping[str, Any]) -> list[Markup]:
    url, previous = data.get("webhook_url"), data.get("previous_webhook_url")
    none = Markup(escape(_("none")))
    out = [_change(_("Webhook URL"), _user(previous) if previous else none, _user(url) if url else none)]
    if data.get("new_secret"):
        out.append(Markup(escape(_("New webhook signing secret"))))
    return out


def _learning_changed(data: Mapping[str, Any]) -> list[Markup]:
    new, old = data.get("learning") or {}, data.get("previous") or {}
    labels: list[tuple[str, str, Callable[[Any], str]]] = [
        ("every_hours", _("Retrain every this many hours"), lambda v: _("off") if not v else _number(v)),
        (
            "after_labels",
            _("Retrain after this many new labels"),
            lambda v: _("off") if not v else _number(v),
        ),
        ("shadow", _("Run a candidate in shadow"), _switch),
    ]
    out = []
    for key, label, show in labels:
        if key in new and new.get(key) != old.get(key):
            before = Markup(escape(show(old[key]))) if key in old else None
            out.append(_change(label, before, Markup(escape(show(new[key])))))
    return out or [Markup(escape(_("Learning settings saved without changes.")))]


def _days(value: Any) -> str:
    if value is None:
        return _("off (kept)")
    days = int(value)
    return ngettext("%(days)s day", "%(days)s days", days, days=_number(days))


def _removal(data: Mapping[str, Any]) -> Markup:
    return _say(
        _(
            "%(anonymised)s comments anonymised, %(deleted)s comments deleted, "
            "%(labels)s training labels deleted"
        ),
        anonymised=_number(data.get("comments_anonymised", 0)),
        deleted=_number(data.get("comments_deleted", 0)),
        labels=_number(data.get("labels_deleted", 0)),
    )


def _decided(data: Mapping[str, Any]) -> list[Markup]:
    out = [
        _say(
            _("Decision: %(action)s (%(source)s); now %(status)s"),
            action=wording.action_label(data.get("action")),
            source=wording.source_label(data.get("source")),
            status=wording.status_label(data.get("status")),
        )
    ]
    if data.get("reason_code"):
        out.append(_say(_("reason: %(reason)s"), reason=wording.reason_code_label(data["reason_code"])))
    for reason in data.get("reasons") or ():
        if isinstance(reason, Mapping):
            out.append(Markup(escape(wording.explain_reason(reason))))
    if data.get("note"):
        out.append(_say(_("note: “%(note)s”"), note=_user(data["note"])))
    if data.get("undo_of"):
        out.append(_say(_("undoes decision no. %(id)s"), id=str(data["undo_of"])))
    if data.get("decision_id"):
        out.append(_say(_("decision no. %(id)s"), id=str(data["decision_id"])))
    versions = [str(v) for v in (data.get("model_version"), data.get("site_model_version")) if v]
    if versions:
        out.append(_say(_("model: %(versions)s"), versions=_words(versions)))
    return out


def _verdict(data: Mapping[str, Any]) -> list[Markup]:
    out = [
        _say(
            _("Retraining: %(verdict)s"),
            verdict=wording.verdict_label(str(data.get("verdict", ""))),
        )
    ]
    if data.get("candidate"):
        out.append(_say(_("candidate %(version)s"), version=_user(data["candidate"])))
    if data.get("active"):
        out.append(_say(_("active model %(version)s"), version=_user(data["active"])))
    out.extend(Markup(escape(wording.guard_reason(r))) for r in data.get("reasons") or ())
    return out


def _previous_version(data: Mapping[str, Any], template: str) -> list[Markup]:
    out = [_say(template, version=_user(data.get("version") or "–"))]
    if data.get("previous"):
        out.append(_say(_("before: %(version)s"), version=_user(data["previous"])))
    return out


def _milliseconds(value: Any) -> str:
    return _("default") if value is None else _("%(ms)s ms", ms=_number(value))


def _origins(value: Any) -> Markup:
    return _words(str(v) for v in value) if value else Markup(escape(_("none")))


LIMIT_LABELS = {
    "site_per_minute": lazy_gettext("comments per minute with the secret key"),
    "browser_per_minute": lazy_gettext("comments per minute with the publishable key"),
    "author_per_minute": lazy_gettext("comments per minute from one author"),
    "address_per_minute": lazy_gettext("comments per minute from one address"),
    "perspective_per_minute": lazy_gettext("Perspective calls per minute"),
    "wait_concurrent": lazy_gettext("waiting requests at once"),
    "wait_concurrent_per_site": lazy_gettext("waiting requests of this site at once"),
}


def _limit(value: Any) -> Markup:
    if value is None:
        return Markup(escape(_("default")))
    if value == 0:
        return Markup(escape(_("no limit")))
    return Markup(escape(_number(value)))


def _limits_changed(data: Mapping[str, Any]) -> list[Markup]:
    new = data.get("limits") or {}
    old = data.get("previous") or {}
    out = []
    for name in sorted(
        set(new) | set(old), key=lambda n: list(LIMIT_LABELS).index(n) if n in LIMIT_LABELS else 99
    ):
        if new.get(name) != old.get(name):
            label = str(LIMIT_LABELS.get(name, name.replace("_", " ")))
            out.append(_change(label, _limit(old.get(name)), _limit(new.get(name))))
    return out or [Markup(escape(_("Limits saved unchanged")))]


EVENTS: dict[str, Callable[[Mapping[str, Any]], list[Markup]]] = {
    "comment.received": lambda d: [
        _say(_("Received from the site, its id there: %(id)s"), id=_user(d["external_id"]))
        if d.get("external_id")
        else Markup(escape(_("Received from the site")))
    ],
    "comment.decided": _decided,
    "site.created": lambda d: [_say(_("Site %(name)s created"), name=_user(d.get("name", "")))],
    "site.key_rotated": lambda d: [
        _say(_("New API key; it starts with %(prefix)s"), prefix=_user(d.get("prefix", "")))
    ],
    "site.policy_changed": _policy_changed,
    "site.learning_changed": _learning_changed,
    "site.retention_changed": lambda d: [
        _change(
            _("Retention period"),
            Markup(escape(_days(d.get("previous")))) if "previous" in d else None,
            Markup(escape(_days(d.get("retention_days")))),
        )
    ],
    "site.retention_applied": lambda d: [
        _say(
            _("Retention period (%(days)s) applied to comments from before %(cutoff)s"),
            days=_days(d.get("retention_days")),
            cutoff=_date(d.get("cutoff", "")),
        ),
        _removal(d),
    ],
    "site.webhook_changed": _webhook_changed,
    "site.webhook_secret_rotated": lambda d: [
        _say(
            _("New webhook signing secret; the previous one also signs until %(until)s"),
            until=_date(d.get("previous_valid_until") or ""),
        )
        if d.get("previous_valid_until")
        else Markup(escape(_("New webhook signing secret")))
    ],
    "site.webhook_disabled": lambda d: [
        _say(
            _("Webhook switched off (%(reason)s); %(count)s waiting deliveries not sent"),
            reason=_user(d.get("reason", "")),
            count=_number(d.get("deliveries_stopped", 0)),
        )
    ],
    "site.webhook_enabled": lambda d: [Markup(escape(_("Webhook switched on again")))],
    "site.webhook_test_sent": lambda d: [Markup(escape(_("Webhook test event sent")))],
    "site.coral_secret_set": lambda d: [
        Markup(escape(_("New Coral signing secret generated")))
        if d.get("generated")
        else Markup(escape(_("Coral signing secret set")))
    ],
    "site.coral_budget_changed": lambda d: [
        _change(
            _("Coral answer time budget"),
            Markup(escape(_milliseconds(d.get("previous")))) if "previous" in d else None,
            Markup(escape(_milliseconds(d.get("coral_budget_ms")))),
        )
    ],
    "site.limits_changed": _limits_changed,
    "site.origins_changed": lambda d: [
        _change(
            _("Allowed origins"),
            _origins(d.get("previous")) if "previous" in d else None,
            _origins(d.get("allowed_origins")),
        )
    ],
    "label.suggested": lambda d: [
        _say(
            _("Training label suggested through the Perspective interface: %(action)s"),
            action=str(wording.ACTIONS.get(str(d.get("action")), d.get("action", ""))),
        )
    ],
    "author.erased": lambda d: [
        _say(_("An author's data erased (author key %(hash)s)"), hash=str(d.get("author_hash", ""))[:12]),
        _removal(d),
    ],
    "user.created": lambda d: [
        _say(
            _("Account %(email)s created, role: %(role)s"),
            email=_user(d.get("email", "")),
            role=str(ROLES.get(str(d.get("role")), d.get("role"))),
        )
    ],
    "user.password_changed": lambda d: [
        _say(_("Password of %(email)s changed"), email=_user(d.get("email", "")))
    ],
    "model.activated": lambda d: _previous_version(d, _("Model %(version)s activated")),
    "site_model.activated": lambda d: _previous_version(d, _("Site model %(version)s activated")),
    "site_model.shadow": lambda d: [
        _say(_("Site model %(version)s now runs in shadow"), version=_user(d["version"]))
        if d.get("version")
        else Markup(escape(_("No site model runs in shadow any more")))
    ],
    "site_model.verdict": _verdict,
    "login.failed": lambda d: [Markup(escape(_("Sign-in failed (wrong e-mail address or password)")))],
    "login.succeeded": lambda d: [Markup(escape(_("Signed in")))],
}


ACTORS = {
    "site": lazy_gettext("site %(name)s"),
    "model": lazy_gettext("model %(name)s"),
    "cli": lazy_gettext("command line (%(name)s)"),
}
SYSTEM_ACTORS = {
    "cli": lazy_gettext("command line"),
    "bootstrap": lazy_gettext("setup"),
    "scheduler": lazy_gettext("scheduled retraining"),
    "retention": lazy_gettext("retention job"),
}


def actor_label(actor: str | None) -> Markup:
    """Who did it, as a reader says it: a person's e-mail address, "Website Zeitung", "Kommandozeile"."""
    if not actor:
        return Markup("–")
    if actor in SYSTEM_ACTORS:
        return Markup(escape(str(SYSTEM_ACTORS[actor])))
    kind, _sep, name = actor.partition(":")
    if not name:
        return _user(actor)
    if kind in ("moderator", "login"):
        return _user(name)
    if kind in ACTORS:
        return _say(str(ACTORS[kind]), name=_user(name))
    return _user(actor)


def describe(event: str, data: Any) -> list[Markup]:
    """The event's details as a few short phrases (safe HTML); empty when there is nothing to say."""
    values: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    words = EVENTS.get(event)
    if words is not None:
        try:
            return words(values)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return fallback(values)
