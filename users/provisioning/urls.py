"""Add user, Invite guest and the live checks, included into the users namespace (users/urls.py).

The reference product's path, /identity/administration/users/add, is routed in cippusers/urls.py to the
same view (name ``identity-users-add``) so existing LiveLinks keep working after changing only the host.
"""

from django.urls import path

from . import views_add, views_checks, views_invite

urlpatterns = [
    path("add/", views_add.add_user, name="add"),
    path("add/buttons/", views_add.add_buttons, name="add-buttons"),
    path("add/check/address/", views_checks.check_address, name="add-check-address"),
    path("add/check/field/", views_checks.check_field, name="add-check-field"),
    path("add/check/users/", views_checks.user_suggestions, name="add-check-users"),
    path("add/check/copy/", views_checks.copy_source, name="add-check-copy"),
    path("invite/", views_invite.invite_guest_view, name="invite"),
]
