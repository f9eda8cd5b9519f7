"""One receiver (receiver-1 of two) frozen with SIGSTOP for 120 s under
load, then SIGCONT. Its listening socket stays open, so the kernel still
hands it a share of the notice connections, which hang until the exchange
times out; what it had accepted waits in its spool. The bar here is money,
not completeness: charged <= budget x 1.01 for every campaign and nothing
counted twice (notices it answered late or never are lost at most once).
Budgets (recovery.Money): two campaigns run out during the freeze, two
have an hour's flight. The rest kept working, everything heals."""
import recovery


def test_long_receiver_frozen():
    recovery.run("long-receiver-frozen", "receiver-1", how="freeze", down_s=120.0,
                 money=recovery.Money())
