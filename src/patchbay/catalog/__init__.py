"""The model catalog held in memory: models, their routes and the providers behind them."""
