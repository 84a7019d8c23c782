"""Attachments: files people attach to a card, kept in the blobs port."""
