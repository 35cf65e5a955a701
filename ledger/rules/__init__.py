"""Rules as data and pure functions: who may do what (roles), the disclosure guard, the
accounting of disclosures, and the state retention rules with their engine."""
