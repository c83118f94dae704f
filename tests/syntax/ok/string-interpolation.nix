let x = "b"; in "a${x}c${x}"
