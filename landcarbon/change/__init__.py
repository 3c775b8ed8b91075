"""Change: transitions between dates, carbon stocks, scenarios and monitoring."""
