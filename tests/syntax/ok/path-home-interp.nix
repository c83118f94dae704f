let x = "b"; in ~/${x}
