"""The domain: aggregates with their events nested inside them."""
