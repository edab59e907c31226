"""What the station keeps: the as-run record, blackouts, the audit trail, the compliance report."""
