"""Independent float64 NumPy references, written from the papers ' equations."""
