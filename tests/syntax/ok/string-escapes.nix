"a\$b\n\t\r\\\"c\q"
