let x = "b"; y = "c"; in ./${x}//a${y}
