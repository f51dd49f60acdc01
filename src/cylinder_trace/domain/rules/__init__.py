"""The rules catalogue: each rule a code, a severity, two messages, and a small pure check.

* ``catalogue`` — every rule as data (code, severity, zh/en messages);
* ``facts`` — registry facts as plain values;
* ``fill`` — the fill pre-check; ``delivery`` — deliveries, customers and safety checks;
* ``swaps`` — 产权置换 ownership; ``reports`` — public reports; ``public`` — the public page's verdict;
* ``valves`` — smart-valve rules; ``sweeps`` — absence-of-event rules; ``subsidies`` — who earns what.

Every rule code is decided here and nowhere else: the app layer gathers facts and records decisions.
"""
