"""/users/bulk-add/...: included into the users namespace (users/urls.py)."""

from django.urls import path

from . import views, views_run

urlpatterns = [
    path("bulk-add/", views.start, name="bulk-add"),
    path("bulk-add/button/", views.button, name="bulk-add-button"),
    path("bulk-add/template.<str:fmt>", views.template_file, name="bulk-add-template"),
    path("bulk-add/upload/", views.upload, name="bulk-add-upload"),
    path("bulk-add/<int:pk>/", views.preview, name="bulk-add-preview"),
    path("bulk-add/<int:pk>/rows/<int:row_id>/", views.row, name="bulk-add-row"),
    path("bulk-add/<int:pk>/rows/<int:row_id>/edit/", views.row_edit, name="bulk-add-row-edit"),
    path(
        "bulk-add/<int:pk>/rows/<int:row_id>/leave-out/", views.row_leave_out, name="bulk-add-row-leave-out"
    ),
    path(
        "bulk-add/<int:pk>/leave-out-problems/", views.leave_out_problems, name="bulk-add-leave-out-problems"
    ),
    path("bulk-add/<int:pk>/defaults/", views.defaults, name="bulk-add-defaults"),
    path("bulk-add/<int:pk>/check/", views.check_again, name="bulk-add-check"),
    path("bulk-add/<int:pk>/reupload/", views.reupload, name="bulk-add-reupload"),
    path("bulk-add/<int:pk>/delete/", views.delete, name="bulk-add-delete"),
    path("bulk-add/<int:pk>/run/", views.run, name="bulk-add-run"),
    path("bulk-add/<int:pk>/progress/", views_run.progress, name="bulk-add-progress"),
    path("bulk-add/<int:pk>/cancel/", views_run.cancel, name="bulk-add-cancel"),
    path("bulk-add/<int:pk>/resume/", views_run.resume, name="bulk-add-resume"),
    path("bulk-add/<int:pk>/results/", views_run.results, name="bulk-add-results"),
    path("bulk-add/<int:pk>/results.csv", views_run.results_csv, name="bulk-add-results-csv"),
    path("bulk-add/<int:pk>/passwords.csv", views_run.passwords_csv, name="bulk-add-passwords"),
    path(
        "bulk-add/<int:pk>/passwords/discard/", views_run.passwords_discard, name="bulk-add-passwords-discard"
    ),
]
