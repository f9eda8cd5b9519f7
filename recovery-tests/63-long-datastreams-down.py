"""Every datastream instance down for 120 s under load (SIGKILL of
datastream-1 and datastream-2, held down, started again). The supervisor
cannot read the spend ledger and the actuator gets no aggregates: the
ledger's last figures stand, so every new bid stays committed at its price
until the datastreams are back and catch up from their stores (docs/money.md).
Budgets (recovery.Money): two campaigns run out during the outage, two have
an hour's flight. Checked: charged <= budget x 1.01 for every campaign,
nothing counted twice across the restart, the rest kept working,
everything heals."""
import recovery


def test_long_datastreams_down():
    recovery.run("long-datastreams-down", ["datastream-1", "datastream-2"], how="kill",
                 down_s=120.0, money=recovery.Money())
