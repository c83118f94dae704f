[ "a\nb" "tab\there" "quote\"" "back\\slash" "dollar $ sign" "\${not}" "cr\r" "é ü" ]
