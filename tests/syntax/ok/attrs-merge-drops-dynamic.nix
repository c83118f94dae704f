let x = "k"; in { a.b = 1; a = { ${x} = 2; }; }
