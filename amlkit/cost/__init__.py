"""Monthly cost estimates of a plan at retail list prices: a dated snapshot of Azure's
Retail Prices API (`prices.py`, `retail_prices.json`), its refresh (`refresh.py`), the
estimate per resource (`estimate.py`) and the difference between two plans (`diff.py`)."""
