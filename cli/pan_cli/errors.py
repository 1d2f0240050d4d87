"""What can go wrong, as exit codes (docs/cli.md, "Exit codes")."""

OK = 0
USAGE = 1  # the command line is wrong, or something on this machine is in the way
REFUSED = 2  # the server said no (4xx), or a download did not match its SHA-256
NETWORK = 3  # the server could not be reached, timed out, or failed (5xx) after retries


class CliError(Exception):
    exit_code = USAGE

    def __init__(self, message: str, *, code: str = "", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def as_json(self) -> dict:
        body = {"code": self.code or type(self).__name__.lower(), "message": self.message, "exit": self.exit_code}
        if self.status is not None:
            body["status"] = self.status
        return {"error": body}


class UsageProblem(CliError):
    exit_code = USAGE


class Refused(CliError):
    exit_code = REFUSED


class NetworkProblem(CliError):
    exit_code = NETWORK
