from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Installed only when settings.SANDBOX_ENABLED. The project's URLconf and WSGI module ask installed apps
    for ``url_prefix``/``urlconf`` and ``wrap_wsgi``, so without this app nothing of it is mounted, wrapped,
    imported or migrated."""

    name = "graph.sandbox"
    label = "sandbox"
    verbose_name = "Graph-compatible sandbox tenant"
    url_prefix = "sandbox/"
    urlconf = "graph.sandbox.urls"

    def ready(self) -> None:
        from cippusers.request_id import quiet_access_log

        quiet_access_log(f"/{self.url_prefix}")

    def wrap_wsgi(self, application):
        """Behind a real HTTP server (gunicorn) the timeout/drop switches need the server side of the
        connection (see switches); requests for which no fault was decided pass through unchanged."""
        from .switches import wsgi_with_transport_faults

        return wsgi_with_transport_faults(application)
