"""API routes, one module per area. Thin: parse, call a service with the caller's unit of work, return XPublic."""
