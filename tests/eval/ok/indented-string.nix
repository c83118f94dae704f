''
  line one
    indented ${"interp"}
  ''${not}
''
