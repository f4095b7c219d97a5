"""URL patterns of the View user page (users:detail and its sections), included from users/urls.py."""

from django.urls import path

from .services.profile import SECTIONS
from .views import detail

urlpatterns = [
    path("<str:tenant>/<uuid:user_id>/", detail.user_detail, name="detail"),
    path("<str:tenant>/<uuid:user_id>/sections/directory/", detail.directory_sections, name="detail-directory"),
    *[
        path(f"<str:tenant>/<uuid:user_id>/sections/{name}/", detail.user_section, {"section": name},
             name=f"detail-{name}")
        for name in SECTIONS
    ],
]  # fmt: skip
