"""The rules catalogue: each rule a code, a severity, two messages, and a small pure check.

* ``catalogue`` — every rule as data (code, severity, zh/en messages);
* ``facts`` — registry facts as plain values;
* ``fill`` — the fill pre-check; ``delivery`` — deliveries, customers and safety checks;
* ``valves`` — smart-valve rules; ``sweeps`` — absence-of-event rules; ``subsidies`` — who earns what.
"""
