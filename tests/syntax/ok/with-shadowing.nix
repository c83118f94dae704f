with { }; x: y
