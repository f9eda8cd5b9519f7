"""SIGKILL a datastream (datastream-1), keep it down a while, let it start
again; datastream-2 takes its partitions meanwhile and opens their stores
(one store directory per host). No counting slack, as everywhere: a notice
already counted is a store duplicate for the new owner, and a bill whose
auction's win the dead instance debited hits the store's debit marker, so
nothing is counted twice across the failover (what the dead instance
counted but the actuator had not pulled yet is lost: at most once)."""
import recovery


def test_kill_datastream():
    recovery.run("kill-datastream", "datastream-1", how="kill")
