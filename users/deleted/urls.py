from django.urls import path

from . import views

urlpatterns = [
    path("deleted/", views.deleted_list, name="deleted"),
    path("deleted/restore/", views.deleted_restore, name="deleted-restore"),
    path("deleted/purge/", views.deleted_purge, name="deleted-purge"),
]
