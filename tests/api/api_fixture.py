"""Constants the API tests share (a module of its own: `conftest` names clash between test folders)."""

SECRET = "test-secret-" + "0123456789abcdef" * 3
