"""The actuator down for 180 s under load (SIGKILL, held down, started
again). Inference keeps pacing on the last state (no staleness stop before
--max-state-age-ms, 10 min) and leases do not involve the actuator, so the
supervisor keeps granting from the spend ledger and nobody overspends
whatever the multipliers say (docs/money.md). Budgets (recovery.Money): two
campaigns run out during the outage, two have an hour's flight. Checked:
charged <= budget x 1.01 for every campaign, nothing counted twice, the
campaigns with minutes of budget left keep bidding at >= 50% of their
prior rate through the outage's first 60 s, the actuator restores its
spend and state, everything heals."""
import recovery


def test_long_actuator_down():
    recovery.run("long-actuator-down", "actuator", how="kill", down_s=180.0,
                 money=recovery.Money(keep_bidding_s=60))
