"""`moderation sites webhook NAME`: a site's webhook endpoint, its secret, switching it off and on, a test
event and the delivery log (the rules are in `moderation.store.webhooks`)."""

from __future__ import annotations

import click
from sqlalchemy import select

from moderation.cli.common import open_resources
from moderation.domain import webhooks as spec
from moderation.domain.timestamps import iso
from moderation.store import webhooks
from moderation.store.db import transaction
from moderation.store.tables import Site


@click.command("webhook")
@click.argument("name")
@click.option("--url", default=None, help="Send decisions to this http(s) address.")
@click.option("--remove", is_flag=True, help="Send no more webhooks (the secret and log are kept).")
@click.option("--rotate", is_flag=True, help="A new signing secret; the old one keeps signing for 24 hours.")
@click.option("--enable", is_flag=True, help="Switch the endpoint on again after it was switched off.")
@click.option("--disable", is_flag=True, help="Switch the endpoint off (pending deliveries are not sent).")
@click.option("--test", "send_test", is_flag=True, help="Send a `webhook.test` event.")
@click.option("--log", "show_log", is_flag=True, help="Print the latest deliveries and their attempts.")
def sites_webhook(
    name: str,
    url: str | None,
    remove: bool,
    rotate: bool,
    enable: bool,
    disable: bool,
    send_test: bool,
    show_log: bool,
) -> None:
    """Set up the site's webhook (Standard Webhooks). A new secret is printed once, as
    `webhook secret: whsec_...`: when the first URL is set, and with --rotate."""
    if url is not None and remove:
        raise click.UsageError("--url and --remove exclude each other")
    if enable and disable:
        raise click.UsageError("--enable and --disable exclude each other")
    resources = open_resources()
    checked = None
    if url is not None:
        try:
            checked = spec.check_url(url, allow_private=resources.config.webhook_allow_private)
        except spec.WebhookUrlError as exc:
            hint = " (MODERATION_WEBHOOK_ALLOW_PRIVATE=1 allows it)" if exc.code == "private" else ""
            raise click.BadParameter(f"{exc}{hint}", param_hint="--url") from exc
    secrets: list[str] = []
    with transaction(resources.sessions) as session:
        site = session.scalars(select(Site).where(Site.name == name)).first()
        if site is None:
            raise click.ClickException(f"no site named {name!r}")
        changed = checked != site.webhook_url or not site.webhook_secret
        if (url is not None and changed) or (remove and site.webhook_url):
            secret = webhooks.set_url(session, site, checked, actor="cli")
            secrets += [secret] if secret else []
        if rotate:
            secrets.append(webhooks.rotate_secret(session, site, actor="cli"))
        if enable:
            webhooks.enable(session, site, actor="cli")
        if disable and site.webhook_disabled_at is None:
            webhooks.disable(session, site, webhooks.DISABLED_BY_ADMIN, actor="cli")
        if send_test:
            if not webhooks.is_active(site):
                raise click.ClickException("the webhook has no URL or is switched off: no test event sent")
            webhooks.record_test_event(session, site, actor="cli")
        state = _state(site)
        log = webhooks.recent(session, site.id, 20) if show_log else []
    click.echo(f"site:            {name}")
    click.echo(f"webhook:         {state}")
    if secrets:
        click.echo(f"webhook secret: {secrets[-1]}   (shown once; verify signatures with it)")
    for item in log:
        d = item.delivery
        click.echo(
            f"{iso(d.created_at)}  {d.event_type:<16} {d.state:<9} attempts {d.attempts}  "
            f"last status {d.last_status or '-'}  {d.comment_id or ''}"
        )
        for attempt in item.attempts:
            took = f"{attempt.response_ms:.0f} ms" if attempt.response_ms is not None else "-"
            answer = attempt.status_code or "no answer"
            click.echo(f"    {iso(attempt.attempted_at)}  {answer}  {took}  {attempt.error or ''}")


def _state(site: Site) -> str:
    if not site.webhook_url:
        return "none"
    if site.webhook_disabled_at is not None:
        return f"{site.webhook_url} (switched off: {site.webhook_disabled_reason})"
    return f"{site.webhook_url} (on)"
