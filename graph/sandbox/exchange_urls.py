"""``/sandbox/exchange/adminapi/{beta|v1.0}/{tenant}/InvokeCommand`` (see ``exchange/views.py``)."""

from django.urls import re_path

from .exchange import views

urlpatterns = [
    re_path(
        r"^adminapi/(?P<version>beta|v1\.0)/(?P<tenant>[^/]+)/InvokeCommand$",
        views.invoke_command,
        name="exchange-invoke",
    ),
]
