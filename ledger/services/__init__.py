"""Services: one module per family of use cases. Each use case checks the roles table,
records its audit entry and does its action in one place; both front ends call these."""
