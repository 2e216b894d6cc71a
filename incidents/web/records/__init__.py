"""What every page that creates or edits a record shares: a form made from the kind's
input fields in the record registry, and the one way such a form is shown and saved."""
