"""Invoices: the preview of the open period, period close, Stripe invoicing and its webhooks."""
