let s = builtins.split; in [
  (s "(a)|b" "xaybz") (s "(a|ab)" "xabc") (s "a*" "baaa") (s "" "ab") (s "(a)?" "xa")
  (s "^a" "aaa") (s "a$" "aaa") (s "," "a,b,,c,") (s "," "") (s "x" "abc")
  (s "[[:space:]]+" "  hello   world ") (s "(,)|(;)" "a,b;c") (s "(a)(x)?" "aaa")
  (s "\n" "line1\nline2\n") (s "([0-9]+)" "a1b22c333") (s "ö" "größe") (s "(|a)" "ba")
  (s "(a|ab)(c|bcd)(d*)" "abcd") (s "b*" "abc") (s "." "ab")
]
