"""The call log: every action and proxy call made with a connection (who, what, how it ended;
never a body or a secret), queryable, pruned after a retention, failures as webhook events."""
