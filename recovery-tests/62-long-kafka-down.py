"""The dev Kafka broker down for 120 s under load (SIGKILL, held down,
started again empty on the same ports). The receivers spool what they
accept (no message timeout) and answer 503 once the spool is full; the
datastreams count nothing meanwhile, so every bid stays committed at its
price and campaigns stop at their budget's worst case (docs/money.md).
Budgets (recovery.Money): two campaigns run out during the outage, two have
an hour's flight. Checked: charged <= budget x 1.01 for every campaign,
nothing counted twice, the rest kept working, everything heals. The
counted share says what the restarted broker's empty log cost (see
07-kill-kafka)."""
import recovery


def test_long_kafka_down():
    recovery.run("long-kafka-down", "kafka-dev", how="kill", down_s=120.0,
                 money=recovery.Money())
