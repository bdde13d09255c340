"""HTTP routes of the fake, one module per resource. Route names are operation names."""
