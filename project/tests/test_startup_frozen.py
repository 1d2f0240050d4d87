"""What starting the site made is frozen out of the cyclic collector's way
(project/asgi.py): full collections walk only what requests make, so they
no longer pause a server for ~100 ms (docs/performance.md)."""

import gc


def test_the_objects_of_start_up_are_frozen():
    import project.asgi  # noqa: F401 - importing it is starting the site

    # Django's apps, models, URL patterns and translations: well over 50 000 objects.
    assert gc.get_freeze_count() > 50_000
