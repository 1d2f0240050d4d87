from accounts import services
from accounts.management.role_command import RoleCommand


class Command(RoleCommand):
    help = "Revoke a role (admin, users, or any other group) from a user."
    service = staticmethod(services.role_revoke)
