from django.contrib.admin.apps import AdminConfig


class PanAdminConfig(AdminConfig):
    """`django.contrib.admin` with Pan's site (project/admin_site.py)."""

    default_site = "project.admin_site.PanAdminSite"
