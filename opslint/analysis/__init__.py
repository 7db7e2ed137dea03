"""Per-file analyses shared by the rules, each computed at most once per file (see ``opslint.analysis.base``)."""
