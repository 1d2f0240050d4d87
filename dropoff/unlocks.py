"""What a browser session has unlocked on drop-off request pages: the
requests whose password it typed right (the request page, its API for the
page's drops, and the page's resumable uploads, `uploads`, read it)."""

SESSION_KEY = "pan_requests_unlocked"
KEEP = 20  # requests remembered per session


def request_unlocked(session, found) -> bool:
    return found.unique_name in session.get(SESSION_KEY, [])


def request_unlock(session, found) -> None:
    session[SESSION_KEY] = [*session.get(SESSION_KEY, []), found.unique_name][-KEEP:]
