let r = builtins.replaceStrings; in [
  (r ["" "a"] ["-" "b"] "xay") (r ["a" ""] ["b" "-"] "xay") (r [] [] "xay") (r ["oo" "o"] ["0" "1"] "foooo")
  (r ["a"] ["b"] "") (r [""] ["x"] "") (r ["ab" "a"] ["1" "2"] "aab") (r ["é"] ["e"] "café") (r ["&" "<"] ["&amp;" "&lt;"] "a<b&c")
  (r ["a" "b"] ["b" "a"] "abba") (r ["aaa"] ["b"] "aaaa")
]
