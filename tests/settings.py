"""Settings for the test suite: the product's settings in development mode (fixed development
keys, no two-factor sign-in), whatever the shell's environment says."""

import os

os.environ["CASELOAD_DEBUG"] = "1"
os.environ.pop("CASELOAD_MFA_ROLES", None)

from caseload.settings import *  # noqa: E402,F401,F403

# A fast hasher: the suite creates many users (Django's advice for test settings). The served
# app of the browser tests uses the product's settings and its real hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
