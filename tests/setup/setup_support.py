"""Constants shared by the setup-form tests (a uniquely named module, unlike conftest)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Long, distinctive secrets: a leak shows up as a plain substring in any message.
TOKEN = "setup-good-token-7d41c2a9e8"
WRONG_TOKEN = "setup-wrong-token-5b6f0e3d17"
LIMITED_TOKEN = "setup-limited-token-90ab4c1f"
CLIENT_ID = "setup-client"
CLIENT_SECRET = "setup-client-secret-c3e8a1f27b"
WRONG_CLIENT_SECRET = "setup-wrong-secret-4f2d9b6a01"
ACCOUNT = "widget"
ALL_SECRETS = (TOKEN, WRONG_TOKEN, LIMITED_TOKEN, CLIENT_SECRET, WRONG_CLIENT_SECRET)
