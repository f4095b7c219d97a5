"""URL patterns of compromise research (users.research.views), added to users/urls.py's list."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:tenant>/<uuid:user_id>/research/", views.report, name="research"),
    path("<str:tenant>/<uuid:user_id>/research/run/", views.run, name="research-run"),
    path("<str:tenant>/<uuid:user_id>/research/progress/", views.progress, name="research-progress"),
    path("<str:tenant>/<uuid:user_id>/research/remediate/", views.remediate_view, name="research-remediate"),
    path("<str:tenant>/<uuid:user_id>/research/resume/", views.resume, name="research-resume"),
    path("<str:tenant>/<uuid:user_id>/research/<slug:section>.csv", views.export, name="research-export"),
]
