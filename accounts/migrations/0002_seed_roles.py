"""Seed the roles (groups) and the permissions they carry (SPEC §3).

Permissions are created here rather than left to post_migrate, so the roles
exist with their permissions as soon as this migration has run.
"""

from django.db import migrations

PERMISSIONS = {
    "upload": "Can upload files",
    "manage": "Can delete or revoke any file and see every file",
    "visit": "Can see the share list",
    "download": "Can download files",
}
SEEDED_ROLES = {"admin": ["upload", "manage"], "users": ["visit", "download"]}


def seed(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="user")
    permissions = {}
    for codename, name in PERMISSIONS.items():
        permissions[codename], _ = Permission.objects.get_or_create(
            codename=codename, content_type=content_type, defaults={"name": name}
        )
    for role, codenames in SEEDED_ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(permissions[c] for c in codenames))


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=SEEDED_ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
