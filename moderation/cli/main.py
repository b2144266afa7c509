"""The `moderation` command."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from moderation.cli.common import load_config, open_resources
from moderation.domain.enums import Role
from moderation.store.db import make_engine, migrate, transaction


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """Comment moderation: API, workers, models and accounts."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@cli.command()
@click.option("--workers", default=2, show_default=True, help="Worker processes to start.")
def up(workers: int) -> None:
    """Everything on one machine: API + dashboard, workers, and Redis if REDIS_URL is unset."""
    from classifiers.errors import CatalogueError
    from moderation.cli.supervisor import run_everything

    try:
        run_everything(load_config(), workers=workers)
    except CatalogueError as exc:  # training the first model reads the editors' extension files
        raise click.ClickException(f"narrative catalogue extension: {exc}") from exc


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: MODERATION_PORT or 8000.")
@click.option("--workers", "processes", default=2, show_default=True, help="gunicorn worker processes.")
@click.option(
    "--threads", default=8, show_default=True, help="Threads per process (requests that ?wait block one)."
)
def serve(host: str, port: int | None, processes: int, threads: int) -> None:
    """The API and dashboard under gunicorn (production; run `moderation migrate` once per release first)."""
    from moderation.cli.server import serve as run_server

    run_server(host, port or load_config().port, processes, threads)


@cli.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option(
    "--reconcile-every",
    default=15.0,
    show_default=True,
    envvar="MODERATION_RECONCILE_EVERY",
    help="Seconds between reconcile passes (env MODERATION_RECONCILE_EVERY).",
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Workers forked from one process that loads the model first (they share its memory).",
)
def worker(burst: bool, reconcile_every: float, processes: int) -> None:
    """An RQ worker that scores and decides comments (run as many as you like, on any host)."""
    if processes > 1 and not burst:
        from workers.pool import run_pool

        run_pool(load_config(), processes, reconcile_every_s=reconcile_every)
        return
    from workers.worker import run_worker

    run_worker(load_config(), burst=burst, reconcile_every_s=reconcile_every)


@cli.command()
def reconcile() -> None:
    """One pass: re-enqueue comments left pending (e.g. after Redis lost its data)."""
    from moderation.store.queue import PendingQueue
    from workers.reconcile import reconcile as run_reconcile

    resources = open_resources()
    if resources.redis is None:
        raise click.ClickException("REDIS_URL is not set")
    count = run_reconcile(
        resources.sessions, PendingQueue(resources.redis), resources.config.reconcile_after_s
    )
    click.echo(f"re-enqueued {count} comments")


@cli.command()
@click.option("--licences", default=None, help="Comma-separated licence tokens, e.g. cc-by-4.0,mit,cc0.")
@click.option(
    "--exclude",
    "excluded",
    multiple=True,
    help="Leave out this corpus (a directory name in classifiers/corpora, e.g. germs_at); repeatable.",
)
@click.option("--quick", is_flag=True, help="A small model in seconds (for trying things out).")
@click.option("--activate/--no-activate", default=None, help="Default: activate if no model is active.")
@click.option(
    "--encoder/--no-encoder",
    default=True,
    help="Train the full profile's sentence-encoder heads too (default), or the fast profile only.",
)
def train(
    licences: str | None, excluded: tuple[str, ...], quick: bool, activate: bool | None, encoder: bool
) -> None:
    """Train toxicity and propaganda models into the registry."""
    from classifiers.corpora import LICENCES
    from classifiers.encoder import E5Encoder, SentenceEncoder
    from classifiers.errors import CatalogueError
    from classifiers.training import train as run_training
    from moderation.store import model_versions
    from moderation.store.model_versions import register_and_activate

    unknown = sorted(set(excluded) - set(LICENCES))
    if unknown:
        raise click.BadParameter(
            f"unknown corpus {', '.join(unknown)}; known: {', '.join(LICENCES)}", param_hint="--exclude"
        )
    resources = open_resources()
    config, sessions, registry = resources.config, resources.sessions, resources.registry
    wanted = [token.strip() for token in licences.split(",") if token.strip()] if licences else None
    try:
        version = run_training(
            config.models_dir,
            licences=wanted,
            quick=quick,
            progress=click.echo,
            catalogue_dir=config.catalogue_dir,
            exclude=list(excluded) or None,
            encoder=SentenceEncoder(config.embeddings_dir, threads=os.cpu_count() or 1) if encoder else None,
            refiner_encoder=E5Encoder(config.embeddings_dir, threads=os.cpu_count() or 1)
            if encoder
            else None,
        )
    except CatalogueError as exc:
        raise click.ClickException(f"narrative catalogue extension: {exc}") from exc
    with sessions() as session:
        has_active = model_versions.active_version(session) is not None
    if activate or (activate is None and not has_active):
        register_and_activate(sessions, registry, version, actor="cli")
        click.echo(f"trained and activated {version}")
    else:
        with transaction(sessions) as session:
            model_versions.register(session, version, registry.card(version))
        click.echo(f"trained {version} (not active; `moderation models promote {version}`)")


@cli.command()
@click.argument("input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--site", default=None, help="Apply this site's policy and its own model (site_reject) if it has one."
)
def score(input_path: Path, output_path: Path | None, site: str | None) -> None:
    """Score a JSONL file offline with the active model; writes JSONL (stdout by default)."""
    from sqlalchemy import select

    from classifiers.errors import ClassifierError
    from classifiers.site import load_site_model
    from moderation.domain.policy import SitePolicy
    from moderation.store import model_versions, site_models
    from moderation.store.tables import Site
    from workers.errors import InputError
    from workers.offline import score_lines
    from workers.pipeline import LoadedSiteModel

    resources = open_resources()
    registry = resources.registry
    site_model: LoadedSiteModel | None = None
    with resources.sessions() as session:
        version = model_versions.active_version(session) or registry.latest()
        policy = SitePolicy()
        site_version = None
        if site is not None:
            row = session.scalars(select(Site).where(Site.name == site)).first()
            if row is None:
                raise click.ClickException(f"no site named {site!r}")
            policy = SitePolicy.from_dict(row.policy)
            site_id, site_version = row.id, site_models.active_version(session, row.id)
    if version is None:
        raise click.ClickException("no model yet: run `moderation train` first")
    try:
        scorer = registry.load(version)
        if site_version is not None:
            site_model = LoadedSiteModel(
                site_version, load_site_model(registry.site(site_id).path(site_version))
            )
    except ClassifierError as exc:
        raise click.ClickException(str(exc)) from exc
    total = sum(1 for line in input_path.open(encoding="utf-8") if line.strip())
    sink = output_path.open("w", encoding="utf-8") if output_path else sys.stdout
    try:
        with input_path.open(encoding="utf-8") as source:
            count = score_lines(scorer, policy, source, sink, total=total, site_model=site_model)
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if output_path:
            sink.close()
    with_site = f" and site model {site_model.version}" if site_model is not None else ""
    click.echo(f"scored {count} comments with model {version}{with_site}", err=True)
    click.echo(
        "offline there is no author history and no stream of recent comments: the rules on links from "
        "new authors and on coordinated posting were not applied (`unknown_facts` in each line)",
        err=True,
    )


@cli.group()
def sites() -> None:
    """Sites that send comments."""


@sites.command("create")
@click.argument("name")
@click.option("--origin", "origins", multiple=True, help="Allowed browser origin for the publishable key.")
def sites_create(name: str, origins: tuple[str, ...]) -> None:
    """Create a site; prints its secret API key and publishable key once."""
    from moderation.store.accounts import create_site
    from moderation.store.origins import normalise_origin

    try:
        with transaction(open_resources().sessions) as session:
            allowed = [normalise_origin(origin) for origin in origins]
            new = create_site(session, name, allowed_origins=allowed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"site:            {name}")
    click.echo(f"secret key:      {new.secret_key}   (shown once; send as 'Authorization: Bearer ...')")
    click.echo(f"publishable key: {new.publishable_key}")


@cli.group()
def users() -> None:
    """Dashboard accounts."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default=Role.MODERATOR.value, show_default=True
)
@click.password_option(help="At least 10 characters; asked for when not given.")
def users_create(email: str, role: str, password: str) -> None:
    """Create a moderator or admin account."""
    from moderation.store.accounts import create_user

    try:
        with transaction(open_resources().sessions) as session:
            create_user(session, email, password, Role(role))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {role} {email.strip().lower()}")


@users.command("password")
@click.argument("email")
@click.password_option(help="At least 10 characters; asked for when not given.")
def users_password(email: str, password: str) -> None:
    """Set a new password for an account; every session it has open is logged out."""
    from moderation.store.accounts import set_password

    try:
        with transaction(open_resources().sessions) as session:
            set_password(session, email, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"new password set for {email.strip().lower()}; its open sessions are logged out")


@cli.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""
    migrate(make_engine(load_config().database_url))
    click.echo("schema is up to date")


from moderation.cli.catalogue import catalogue  # noqa: E402
from moderation.cli.coral import sites_coral  # noqa: E402
from moderation.cli.evaluate import evaluate  # noqa: E402
from moderation.cli.learning import labels, retrain  # noqa: E402
from moderation.cli.model_versions import models  # noqa: E402
from moderation.cli.origins import sites_origins  # noqa: E402
from moderation.cli.privacy import authors, retention, sites_update  # noqa: E402
from moderation.cli.site_limits import sites_limits  # noqa: E402
from moderation.cli.webhooks import sites_webhook  # noqa: E402

cli.add_command(models)
cli.add_command(evaluate)
cli.add_command(catalogue)
cli.add_command(labels)
cli.add_command(retrain)
cli.add_command(authors)
cli.add_command(retention)
sites.add_command(sites_update)
sites.add_command(sites_origins)
sites.add_command(sites_webhook)
sites.add_command(sites_coral)
sites.add_command(sites_limits)


def main() -> None:
    # Everything the product writes under MODERATION_HOME (database, secrets, models, embedding cache,
    # embedded Redis) is readable by its own account only; child processes inherit this.
    os.umask(0o077)
    cli(prog_name="moderation")
