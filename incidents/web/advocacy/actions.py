"""Action and campaign pages (lists with filters, detail with history, forms)."""
