import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cippusers.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402

if settings.SANDBOX_ENABLED:
    # The sandbox's timeout/drop switches need the server side of the connection (see
    # graph.sandbox.switches); requests for which no fault was decided pass through unchanged.
    from graph.sandbox.switches import wsgi_with_transport_faults

    application = wsgi_with_transport_faults(application)
