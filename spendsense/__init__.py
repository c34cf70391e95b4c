"""SpendSense."""
