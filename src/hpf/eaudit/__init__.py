"""Electronic audit (电子稽核): monthly rule runs over the books and their suspicious items (疑点)."""
