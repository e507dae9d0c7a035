"""The reference central server: verify, de-duplicate, decide eligibility, grant, export."""
