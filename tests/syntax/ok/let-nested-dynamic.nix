let x = "k"; in let a.${x} = 1; in a
