# libstdc++ runs a loop whose body can match empty once more, and reports that iteration.
let m = builtins.match; s = builtins.split; in [
  (m "(x*)+" "x") (m "(a*)*" "aa") (m "(a|)*" "aa") (m "((a)|b)+" "ab") (m "(a|b)*c" "abc")
  (m "x([^a]*|b)*y" "xbxby") (m "(a*)+b" "aab") (m "(a+)*" "aa") (m "(a?)*" "aa") (m "(a*){2,}" "aaa")
  (s "(x*)+" "bbaxc") (s "(a|)+" "baac") (s "(ab|a)(bc|c)?" "abcx")
]
