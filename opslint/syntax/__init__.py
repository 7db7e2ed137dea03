"""LibCST helpers that know no rule, file or setting: walking, names, node shapes."""
