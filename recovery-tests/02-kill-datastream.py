"""SIGKILL a datastream (datastream-1), keep it down a while, let it start
again; datastream-2 takes its partitions meanwhile. Counting slack 5%: the
join state (which of an auction's win and bill was counted) does not move
with a partition, so the bill of an auction whose win the dead instance
counted is counted again by the new owner (bounded by the notices in flight
around the failover, about a second of those partitions' spend)."""
import recovery


def test_kill_datastream():
    recovery.run("kill-datastream", "datastream-1", how="kill", once_slack=0.05)
