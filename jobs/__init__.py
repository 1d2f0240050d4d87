"""Background tasks: Pan's layer over the Django Tasks API (docs/operations.md, "Background tasks")."""
