import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cippusers.settings")
application = get_wsgi_application()

from django.apps import apps  # noqa: E402

# Apps installed only in some configurations wrap the application themselves (the sandbox, with
# SANDBOX_ENABLED, enacts its timeout/drop switches on the server side of the connection): an AppConfig
# with ``wrap_wsgi(application)``. Without them the application is Django's own.
for app_config in apps.get_app_configs():
    wrap_wsgi = getattr(app_config, "wrap_wsgi", None)
    if wrap_wsgi is not None:
        application = wrap_wsgi(application)
