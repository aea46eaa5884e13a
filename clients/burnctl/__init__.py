"""burnctl: the thin command-line client of burnd (D-Bus), plus local image verbs."""
