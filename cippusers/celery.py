"""The Celery application. Tasks are thin: they load a row by id and call the same service a view would."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cippusers.settings")

app = Celery("cippusers")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
