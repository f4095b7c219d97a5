"""/jobs/: progress and results of action runs (users.views.jobs), included from cippusers/urls.py."""

from django.urls import path

from .views import jobs

app_name = "jobs"

urlpatterns = [
    path("", jobs.job_list, name="list"),
    path("<int:pk>/", jobs.job_detail, name="detail"),
    path("<int:pk>/cancel/", jobs.job_cancel, name="cancel"),
    path("<int:pk>/resume/", jobs.job_resume, name="resume"),
    path("<int:pk>/results.csv", jobs.job_results_csv, name="results-csv"),
]
