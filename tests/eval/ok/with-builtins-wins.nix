with { true = 1; map = 2; }; [ true (map (x: x) [ 1 ]) ]
