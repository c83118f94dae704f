''
    a
      b
    c
  ''
