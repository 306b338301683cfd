"""The audit log: one entry per mutation, who made it and how it ended."""
