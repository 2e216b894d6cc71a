"""An action's responses, follow-ups and links to reports."""
