from accounts import services
from accounts.management.role_command import RoleCommand


class Command(RoleCommand):
    help = "Grant a role (admin, users, or any other group) to a user."
    service = staticmethod(services.role_grant)
