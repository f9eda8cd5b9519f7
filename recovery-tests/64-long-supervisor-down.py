"""The supervisor down for 180 s under load (SIGKILL, held down, started
again). No new allowance is granted and no new state reaches inference:
each node bids on the lease it holds (sized for --lease-horizon-s, 120 s,
of its recent bidding) with the last multipliers, then stops
(docs/money.md). Budgets (recovery.Money): two campaigns run out during the
outage, two have an hour's flight. Checked: charged <= budget x 1.01 for
every campaign, nothing counted twice, and the campaigns with minutes of
budget left keep bidding at >= 50% of their prior rate through the
outage's first 60 s; the rest kept working, the supervisor restores its
allowances and everything heals."""
import recovery


def test_long_supervisor_down():
    recovery.run("long-supervisor-down", "supervisor", how="kill", down_s=180.0,
                 money=recovery.Money(keep_bidding_s=60))
