from django.urls import path

from .bulkadd.urls import urlpatterns as bulkadd_urlpatterns
from .deleted.urls import urlpatterns as deleted_urlpatterns
from .detail_urls import urlpatterns as detail_urlpatterns
from .provisioning.urls import urlpatterns as provisioning_urlpatterns
from .research.urls import urlpatterns as research_urlpatterns
from .views import actions, columns, details, export, sync, table

app_name = "users"

urlpatterns = [
    path("", table.user_table, name="list"),
    path("columns/", columns.choose_columns, name="columns"),
    path("export.csv", export.export_csv, name="export-csv"),
    path("export.xlsx", export.export_xlsx, name="export-xlsx"),
    path("export-selected.<str:fmt>", export.export_selected, name="export-selected"),
    path("<str:tenant>/<uuid:user_id>/panel/", details.user_panel, name="panel"),
    path("sync/<str:tenant>/", sync.refresh, name="sync"),
    path("sync/<str:tenant>/status/", sync.status, name="sync-status"),
    path("actions/menu/", actions.action_menu, name="action-menu"),
    path("actions/<slug:key>/", actions.action_modal, name="action"),
]

# View user (users/detail_urls.py)
urlpatterns += detail_urlpatterns

# Add user, Invite guest (users/provisioning/urls.py)
urlpatterns += provisioning_urlpatterns

# Research compromised account (users/research/urls.py)
urlpatterns += research_urlpatterns

# Bulk add users / invite guests from a file (users/bulkadd/urls.py)
urlpatterns += bulkadd_urlpatterns

# Deleted users: list, restore, delete permanently (users/deleted/urls.py)
urlpatterns += deleted_urlpatterns
