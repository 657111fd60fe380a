"""Pure accounting: prices, costs, points, token counts and query ids."""
