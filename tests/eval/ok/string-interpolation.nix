let x = "world"; n = "1"; in [ "hello ${x}" "${x}${x}" "a${n}b" "${"nested ${x}"}" ]
