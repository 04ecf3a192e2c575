"""Run the ``accord`` command as ``python -m app``, as ``accord dev`` starts its worker and API processes."""

from app.cli import main

main()
