//! Message templates: variables with fallbacks, conditionals and spintax, and the pre-send check.
