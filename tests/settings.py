"""Settings for the test suite: the product's settings in development mode (fixed development
keys, no two-factor sign-in), whatever the shell's environment says."""

import os
from pathlib import Path

os.environ["CASELOAD_DEBUG"] = "1"
# Commands the tests start as processes inherit DJANGO_SETTINGS_MODULE=tests.settings: let
# them import it from any working directory.
_root = str(Path(__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_root, os.environ.get("PYTHONPATH", "")) if p)
os.environ.pop("CASELOAD_MFA_ROLES", None)

from caseload.settings import *  # noqa: E402,F401,F403

# A fast hasher: the suite creates many users (Django's advice for test settings). The served
# app of the browser tests uses the product's settings and its real hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
