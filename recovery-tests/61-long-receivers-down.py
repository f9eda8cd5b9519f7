"""Every receiver down for 120 s under load (`beatctl stop` of receiver-1
and receiver-2: SIGTERM, held down, started again). Nobody hears a notice
or a bid log meanwhile, but the exchange keeps billing what it won: spend
and releases stop growing in the ledger, so every bid made meanwhile stays
committed at its price (docs/money.md) and a campaign stops once its
outstanding worst case reaches its budget. Budgets (recovery.Money): two
campaigns run out during the outage, two have an hour's flight. Checked:
charged <= budget x 1.01 for every campaign, nothing counted twice, the
rest kept working and everything heals; the notices lost meanwhile show in
the counted share (at most once)."""
import recovery


def test_long_receivers_down():
    recovery.run("long-receivers-down", ["receiver-1", "receiver-2"], how="restart",
                 down_s=120.0, money=recovery.Money())
