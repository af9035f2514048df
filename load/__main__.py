"""`python -m load SHAPE [options]`: see load/runner.py."""

# Locust needs gevent's monkey-patching before anything else imports socket, ssl or
# threading (https://docs.locust.io/en/stable/use-as-lib.html), hence the import order.
from gevent import monkey

monkey.patch_all()

from load.runner import main  # noqa: E402

raise SystemExit(main())
