"""Developer tools: `musicrec bench`, `musicrec quality`, the replaced pipeline's reference, a music synthesiser."""
