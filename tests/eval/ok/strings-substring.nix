let sub = builtins.substring; in [
  (sub 0 1 "abc") (sub 1 (-1) "abc") (sub 4294967296 1 "abc") (sub 3 1 "abc") (sub 10 1 "abc")
  (sub 1 100 "abc") (sub 0 0 "abc") (sub 0 2 "") (sub 1 2 "héllo")
  (builtins.stringLength "") (builtins.stringLength "abc") (builtins.stringLength "é") (builtins.stringLength "日本語")
  (builtins.stringLength "${toString 12}")
  (builtins.concatStringsSep ", " ["a" "b" "c"]) (builtins.concatStringsSep "" []) (builtins.concatStringsSep "-" ["x"])
  (builtins.concatStringsSep "/" ["a" "" "b"]) (builtins.concatStringsSep ", " [ "a" { outPath = "o"; } { __toString = s: "t"; } ])
]
