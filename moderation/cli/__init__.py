"""Entry points: the `moderation` command, `moderation up`'s supervisor, the gunicorn server and the
first-start bootstrap. Nothing below imports from here."""
