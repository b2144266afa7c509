"""The process's `Resources`, reachable from any request of the app they were installed on."""

from __future__ import annotations

from flask import Flask, current_app

from moderation.resources import Resources


def init_app(app: Flask, resources: Resources) -> None:
    app.extensions["moderation"] = resources


def get_resources() -> Resources:
    resources: Resources = current_app.extensions["moderation"]
    return resources
