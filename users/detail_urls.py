"""URL patterns of the View user page (users:detail and its sections), included from users/urls.py."""

from django.urls import path

from .provisioning import views_edit
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
    # Edit user (users/provisioning/views_edit.py)
    path("<str:tenant>/<uuid:user_id>/edit/", views_edit.edit_user, name="edit"),
    path("<str:tenant>/<uuid:user_id>/edit/check/", views_edit.edit_check, name="edit-check"),
    path("<str:tenant>/<uuid:user_id>/edit/people/", views_edit.edit_people, name="edit-people"),
]  # fmt: skip
